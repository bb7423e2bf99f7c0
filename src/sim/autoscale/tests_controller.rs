//! Whole-controller tests: upstream's `horizontal_test.go` reconcile cases
//! (hpa.md §9 V8, named after their upstream tests), then the controller
//! driven alone over many syncs with synthetic metrics (step load,
//! scale-down stabilization window).
//!
//! Harness as upstream's: tolerance 0.1, CPU initialization period 2 min,
//! readiness delay 10 s, downscale stabilization 5 min, legacy scale-up
//! factor patched to 8; pods started at the epoch, Ready; samples taken
//! now over 60 s; each pod's request and usage as listed.

use super::*;
use crate::model::{Behavior, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy};

const NOW: SimTime = SimTime(86_400 * 1_000_000_000);

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn spec(min: i32, max: i32, metrics: Vec<MetricSpec>, behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min,
        max,
        metrics,
        tolerances: Tolerances { up: 0.1, down: 0.1 },
        cpu_initialization_period: secs(120),
        initial_readiness_delay: secs(10),
        downscale_stabilization: secs(300),
        behavior,
        scale_up_limit_factor: 8.0,
        scale_up_limit_minimum: 4.0,
    }
}

fn pods(requests: &[i64]) -> Vec<Pod> {
    (0..requests.len())
        .map(|i| Pod {
            key: i as PodKey,
            phase: PodPhase::Running,
            deleted: false,
            ready: Some(ReadyCondition { ready: true, last_transition: SimTime::ZERO }),
            start_time: Some(SimTime::ZERO),
            cpu_request_milli: Some(requests[i]),
        })
        .collect()
}

fn levels(values: &[i64]) -> MetricInput {
    let s: Samples = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as PodKey, Sample { value_milli: *v, timestamp: NOW, window: secs(60) }))
        .collect();
    MetricInput::PerPod(s)
}

/// `recommendations: []` (an initialised, empty history).
fn empty_history(hpa: &mut Hpa) {
    hpa.history.recommendations = Some(Vec::new());
}

fn sync(hpa: &mut Hpa, current: i32, pods: &[Pod], metrics: &[MetricInput]) -> Decision {
    hpa.reconcile(&Observation { now: NOW, spec_replicas: current, status_replicas: current, pods, metrics })
}

fn up_rules(percent: u32, period: u64, window: u64) -> ScalingRules {
    ScalingRules {
        stabilization: secs(window),
        select: SelectPolicy::Max,
        policies: vec![ScalingPolicy { kind: PolicyKind::Percent, value: percent, period: secs(period) }],
    }
}

fn with_up(rules: ScalingRules) -> Option<Behavior> {
    Some(Behavior { scale_up: rules, scale_down: ScalingRules::default_down(secs(300)) })
}

const CPU50: MetricSpec = MetricSpec::CpuUtilization { target_pct: 50 };
const DOWN: [i64; 5] = [100, 300, 500, 250, 250];

#[test]
fn test_scale_down() {
    let mut hpa = Hpa::new(spec(2, 6, vec![CPU50], None));
    empty_history(&mut hpa);
    let d = sync(&mut hpa, 5, &pods(&[1000; 5]), &[levels(&DOWN)]);
    assert_eq!(d.desired, 3);
    assert_eq!(d.metrics[0], Ok(Proposal { replicas: 3, utilization: Some(28), usage_milli: 280 }));
    assert!(hpa.history.scale_down_events.is_empty(), "no events without behavior");
}

#[test]
fn test_scale_down_stabilize_initial_size() {
    let mut hpa = Hpa::new(spec(2, 6, vec![CPU50], None));
    let d = sync(&mut hpa, 5, &pods(&[1000; 5]), &[levels(&DOWN)]);
    assert_eq!(d.desired, 5);
    let Outcome::Computed { proposed, stabilization, .. } = d.outcome else { panic!("{d:?}") };
    assert_eq!((proposed, stabilization), (3, Stabilization::ScaleDownStabilized));
    assert!(!d.rescaled());
    // The same after a controller restart.
    hpa.history.reset();
    assert_eq!(sync(&mut hpa, 5, &pods(&[1000; 5]), &[levels(&DOWN)]).desired, 5);
}

#[test]
fn test_scale_down_with_scaling_rules() {
    let mut hpa = Hpa::new(spec(2, 6, vec![CPU50], with_up(up_rules(100, 15, 30))));
    empty_history(&mut hpa);
    let d = sync(&mut hpa, 5, &pods(&[1000; 5]), &[levels(&DOWN)]);
    assert_eq!(d.desired, 3);
    let ev = &hpa.history.scale_down_events;
    assert_eq!(ev.as_slice(), &[ScaleEvent { change: 2, at: NOW, outdated: false }], "behavior stores the event");
}

#[test]
fn test_upscale_cap() {
    let cpu10 = MetricSpec::CpuUtilization { target_pct: 10 };
    let mut hpa = Hpa::new(spec(1, 100, vec![cpu10], with_up(up_rules(700, 60, 0))));
    let d = sync(&mut hpa, 3, &pods(&[100; 3]), &[levels(&[100, 200, 300])]);
    assert_eq!(d.desired, 24);
    let Outcome::Computed { proposed, limit, .. } = d.outcome else { panic!("{d:?}") };
    assert_eq!((proposed, limit), (60, Limit::ScaleUpLimit(LimitedBy::Policy(0))));
    assert_eq!(d.metrics[0].map(|p| p.utilization), Ok(Some(200)));
}

#[test]
fn test_upscale_cap_greater_than_max_replicas() {
    let cpu10 = MetricSpec::CpuUtilization { target_pct: 10 };
    let mut hpa = Hpa::new(spec(1, 20, vec![cpu10], with_up(up_rules(700, 60, 0))));
    let d = sync(&mut hpa, 3, &pods(&[100; 3]), &[levels(&[100, 200, 300])]);
    assert_eq!(d.desired, 20);
    assert!(matches!(d.outcome, Outcome::Computed { limit: Limit::TooManyReplicas, .. }), "{d:?}");
}

#[test]
fn test_scale_up_one_metric_invalid() {
    let cpu30 = MetricSpec::CpuUtilization { target_pct: 30 };
    let other = MetricSpec::PodsAverageValue { target_milli: 1000 };
    let mut hpa = Hpa::new(spec(2, 6, vec![cpu30, other], None));
    let d = sync(&mut hpa, 3, &pods(&[1000; 3]), &[levels(&[300, 400, 500]), MetricInput::Unavailable]);
    assert_eq!(d.desired, 4);
    assert_eq!(d.metrics[1], Err(MetricError::Unavailable));
}

#[test]
fn test_no_scale_down_one_metric_invalid() {
    let other = MetricSpec::PodsAverageValue { target_milli: 1000 };
    let mut hpa = Hpa::new(spec(2, 6, vec![CPU50, other], None));
    empty_history(&mut hpa);
    let d = sync(&mut hpa, 5, &pods(&[1000; 5]), &[levels(&DOWN), MetricInput::Unavailable]);
    assert_eq!((d.desired, d.outcome), (5, Outcome::InvalidMetrics));
    assert_eq!(d.metrics[0].map(|p| p.replicas), Ok(3), "the valid metric did propose 3");
    // With every metric invalid there is no action either.
    let d = sync(&mut hpa, 5, &pods(&[1000; 5]), &[MetricInput::Unavailable]);
    assert_eq!((d.desired, d.outcome), (5, Outcome::InvalidMetrics));
}

#[test]
fn test_scale_up_from_zero_ignores_tolerance_cm_object() {
    let obj = MetricSpec::ObjectValue { target_milli: 1000 };
    let mut hpa = Hpa::new(spec(0, 6, vec![obj], None));
    let d = sync(&mut hpa, 0, &[], &[MetricInput::Total(1000)]);
    assert_eq!(d.desired, 1);
    // With min > 0, zero replicas means "paused".
    let mut hpa = Hpa::new(spec(1, 6, vec![obj], None));
    let d = sync(&mut hpa, 0, &[], &[MetricInput::Total(5000)]);
    assert_eq!((d.desired, d.outcome), (0, Outcome::ScalingDisabled));
}

#[test]
fn test_scale_up_rc_immediately_and_scale_down_rc_immediately() {
    let mut hpa = Hpa::new(spec(2, 6, vec![CPU50], None));
    let d = sync(&mut hpa, 1, &pods(&[1000; 4]), &[levels(&[0, 0, 0, 0])]);
    assert_eq!((d.desired, d.outcome), (2, Outcome::BelowMin));
    let mut hpa = Hpa::new(spec(2, 5, vec![CPU50], with_up(up_rules(100, 15, 0))));
    let d = sync(&mut hpa, 6, &pods(&[900, 1000, 1100]), &[levels(&[8000, 9500, 1000])]);
    assert_eq!((d.desired, d.outcome), (5, Outcome::AboveMax));
    assert_eq!(hpa.history.scale_down_events.len(), 1, "early clamps store events too");
}

#[test]
fn test_stabilize_downscale() {
    let cpu100 = MetricSpec::CpuUtilization { target_pct: 100 };
    let mut hpa = Hpa::new(spec(1, 5, vec![cpu100], None));
    hpa.history.recommendations = Some(vec![
        Recommendation { replicas: 10, at: SimTime(NOW.0 - 600_000_000_000) },
        Recommendation { replicas: 4, at: SimTime(NOW.0 - 60_000_000_000) },
    ]);
    let d = sync(&mut hpa, 4, &pods(&[100; 3]), &[levels(&[50, 50, 50])]);
    assert_eq!(d.desired, 4);
    assert!(matches!(
        d.outcome,
        Outcome::Computed { proposed: 2, stabilization: Stabilization::ScaleDownStabilized, .. }
    ));
}

#[test]
fn test_no_backoff_upscale_cm() {
    let qps = MetricSpec::PodsAverageValue { target_milli: 15000 };
    let mut hpa = Hpa::new(spec(1, 5, vec![qps], None));
    assert_eq!(sync(&mut hpa, 3, &pods(&[1000; 3]), &[levels(&[20000, 10000, 30000])]).desired, 4);
    // NoBackoffCpu: the same levels as CPU usage propose far more; max wins.
    let cpu10 = MetricSpec::CpuUtilization { target_pct: 10 };
    let mut hpa = Hpa::new(spec(1, 5, vec![cpu10, qps], None));
    let m = [levels(&[20000, 10000, 30000]), levels(&[20000, 10000, 30000])];
    let d = sync(&mut hpa, 3, &pods(&[1000; 3]), &m);
    assert_eq!(d.desired, 5);
    assert!(matches!(d.outcome, Outcome::Computed { metric: 0, limit: Limit::TooManyReplicas, .. }), "{d:?}");
}

#[test]
fn decision_reads_as_a_scale_event() {
    let cpu10 = MetricSpec::CpuUtilization { target_pct: 10 };
    let mut hpa = Hpa::new(spec(1, 100, vec![cpu10], with_up(up_rules(700, 60, 0))));
    let d = sync(&mut hpa, 3, &pods(&[100; 3]), &[levels(&[100, 200, 300])]);
    assert_eq!(d.to_string(), "3 → 24: metric 0 above target (metric 0 proposed 60); ScaleUpLimit by policy 0");
}

/// A service whose replicas become ready at once, followed by an External
/// `AverageValue` metric (KEDA): `total` per sync, target 100 per replica.
struct Loop {
    hpa: Hpa,
    replicas: i32,
    t: SimTime,
}

impl Loop {
    fn new(behavior: Option<Behavior>, factor: f64, replicas: i32) -> Self {
        let mut s = spec(1, 1000, vec![MetricSpec::ExternalAverageValue { target_milli: 100_000 }], behavior);
        s.scale_up_limit_factor = factor;
        Loop { hpa: Hpa::new(s), replicas, t: NOW }
    }
    /// One sync with this total (milli), then 15 s pass.
    fn sync(&mut self, total: i64) -> Decision {
        let metrics = [MetricInput::Total(total)];
        let obs = Observation {
            now: self.t,
            spec_replicas: self.replicas,
            status_replicas: self.replicas,
            pods: &[],
            metrics: &metrics,
        };
        let d = self.hpa.reconcile(&obs);
        self.replicas = d.desired;
        self.t += secs(15);
        d
    }
    /// Replicas after each of `n` syncs at `total`.
    fn run(&mut self, n: usize, total: i64) -> Vec<i32> {
        (0..n).map(|_| self.sync(total).desired).collect()
    }
}

/// A step from 2 to 40 replicas' worth of load, with syncs every 15 s.
#[test]
fn step_load_reaches_the_needed_replicas_after_the_expected_syncs() {
    let step = 4_000_000; // 4000/s at 100/s per replica: 40 replicas
    // Default behavior: max(start + 4, 2·start) per 15 s, and an event
    // exactly 15 s old no longer counts: 2 → 6 → 12 → 24 → 40.
    let mut l = Loop::new(Some(Behavior::defaulted(secs(300))), 2.0, 2);
    assert_eq!(l.run(6, step), [6, 12, 24, 40, 40, 40]);
    // Legacy: max(2·current, 4) per sync: one more sync.
    let mut l = Loop::new(None, 2.0, 2);
    assert_eq!(l.run(6, step), [4, 8, 16, 32, 40, 40]);
    // 4 pods per 60 s, 42 needed: +4 at syncs 0, 4, 8, … (t = 0, 60 s, …);
    // an event exactly 60 s old no longer counts. 42 at sync 36.
    let pods4 = ScalingRules {
        stabilization: SimDuration::ZERO,
        select: SelectPolicy::Max,
        policies: vec![ScalingPolicy { kind: PolicyKind::Pods, value: 4, period: secs(60) }],
    };
    let mut l = Loop::new(with_up(pods4.clone()), 2.0, 2);
    let got = l.run(40, 4_200_000);
    let expected: Vec<i32> = (0..40).map(|i: i32| 2 + 4 * (i / 4 + 1)).collect();
    assert_eq!(got, expected);
    assert_eq!(got.iter().position(|&r| r == 42), Some(36));
    // With 40 needed the climb stops at 38: 4000 / (38 · 100) = 1.053 is
    // within the 10% tolerance.
    let mut l = Loop::new(with_up(pods4), 2.0, 2);
    assert_eq!(l.run(60, step).last(), Some(&38));
}

/// Load drops from 20 replicas' worth to 5 after many syncs at 20.
#[test]
fn scale_down_stabilization_holds_for_its_full_window() {
    let (high, low) = (2_000_000, 500_000);
    let mut l = Loop::new(Some(Behavior::defaulted(secs(300))), 2.0, 20);
    assert!(l.run(30, high).iter().all(|&r| r == 20));
    let last_high = SimTime(l.t.0 - secs(15).0);
    let mut held = 0;
    loop {
        let t = l.t;
        let d = l.sync(low);
        if d.desired != 20 {
            // Behavior windows are strict: the last high recommendation stops
            // counting exactly 300 s after it was made.
            assert_eq!(t, last_high + secs(300));
            assert_eq!(d.desired, 5);
            break;
        }
        assert!(matches!(d.outcome, Outcome::Computed { stabilization: Stabilization::ScaleDownStabilized, .. }));
        held += 1;
        assert!(held < 100, "never scaled down");
    }
    assert_eq!(held, 19, "19 syncs held at 20, the 20th (300 s after the last high one) scales down");
    // The legacy window is inclusive: one more sync.
    let mut l = Loop::new(None, 2.0, 20);
    l.run(30, high);
    let last_high = SimTime(l.t.0 - secs(15).0);
    let got = l.run(25, low);
    let first_low = got.iter().position(|&r| r == 5).expect("scales down");
    assert_eq!(NOW + secs(15 * (30 + first_low as u64)), last_high + secs(315));
}
