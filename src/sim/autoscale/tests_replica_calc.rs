//! Upstream's `replica_calculator_test.go` vectors (hpa.md §9 V1–V7 and
//! more of the same file), each named after its upstream test.
//!
//! Harness as upstream's: tolerance 0.1, CPU initialization period 2 min,
//! initial readiness delay 10 s; every pod has two containers, each with
//! the listed request and usage (so pod values are doubled); pods start at
//! the epoch unless "hot" (now) or "cool" (now − 3 min); Ready transitions
//! at the epoch; samples are stamped at the epoch with a 60 s window.

use super::replica_calc::{average_value_target, group_pods, plain_average, resource_utilization, value_target};
use super::*;
use crate::engine::{SimDuration, SimTime};

const NOW: SimTime = SimTime(86_400 * 1_000_000_000);
const CONTAINERS: i64 = 2;

fn params() -> CalcParams {
    CalcParams {
        tolerances: Tolerances { up: 0.1, down: 0.1 },
        cpu_initialization_period: SimDuration::from_secs(120),
        initial_readiness_delay: SimDuration::from_secs(10),
    }
}

#[derive(Clone, Copy)]
enum Start {
    Epoch,
    Hot,
    Cool,
}

/// Upstream's `replicaCalcTestCase`: `current` pods unless `phase` lists
/// more; requests beyond `requests` are missing.
struct Rc {
    current: i32,
    ready: Vec<bool>,
    phase: Vec<PodPhase>,
    deleted: Vec<bool>,
    start: Vec<Start>,
    /// Per container, in millicores.
    requests: Vec<i64>,
}

impl Rc {
    fn new(current: i32, requests: &[i64]) -> Self {
        Rc { current, ready: vec![], phase: vec![], deleted: vec![], start: vec![], requests: requests.to_vec() }
    }
    fn ready(mut self, r: &[bool]) -> Self {
        self.ready = r.to_vec();
        self
    }
    fn phase(mut self, p: &[PodPhase]) -> Self {
        self.phase = p.to_vec();
        self
    }
    fn deleted(mut self, d: &[bool]) -> Self {
        self.deleted = d.to_vec();
        self
    }
    fn start(mut self, s: &[Start]) -> Self {
        self.start = s.to_vec();
        self
    }
    fn pods(&self) -> Vec<Pod> {
        let n = (self.current as usize).max(self.phase.len());
        (0..n)
            .map(|i| {
                let start = match self.start.get(i).copied().unwrap_or(Start::Epoch) {
                    Start::Epoch => SimTime::ZERO,
                    Start::Hot => NOW,
                    Start::Cool => SimTime(NOW.0 - 180 * 1_000_000_000),
                };
                Pod {
                    key: i as PodKey,
                    phase: self.phase.get(i).copied().unwrap_or(PodPhase::Running),
                    deleted: self.deleted.get(i).copied().unwrap_or(false),
                    ready: Some(ReadyCondition {
                        ready: self.ready.get(i).copied().unwrap_or(true),
                        last_transition: SimTime::ZERO,
                    }),
                    start_time: Some(start),
                    cpu_request_milli: self.requests.get(i).map(|r| r * CONTAINERS),
                }
            })
            .collect()
    }
    fn cpu(&self, target_pct: i32, levels: &[i64]) -> MetricResult {
        resource_utilization(NOW, self.current, target_pct, &self.pods(), &container_levels(levels), &params())
    }
    fn pods_metric(&self, target: i64, levels: &[i64]) -> MetricResult {
        plain_average(NOW, self.current, target, &self.pods(), &pod_levels(levels), false, &params())
    }
    fn object(&self, target: i64, value: i64) -> MetricResult {
        value_target(self.current, value, target, &self.pods(), params().tolerances)
    }
}

fn sample(value_milli: i64) -> Sample {
    Sample { value_milli, timestamp: SimTime::ZERO, window: SimDuration::from_secs(60) }
}

/// `makePodMetricLevels`: the same level in both containers of pod i.
fn container_levels(levels: &[i64]) -> Samples {
    levels.iter().enumerate().map(|(i, l)| (i as PodKey, sample(l * CONTAINERS))).collect()
}

/// Custom (Pods) metric levels: one value per pod.
fn pod_levels(levels: &[i64]) -> Samples {
    levels.iter().enumerate().map(|(i, l)| (i as PodKey, sample(*l))).collect()
}

fn util(replicas: i32, utilization: i32, raw: i64) -> MetricResult {
    Ok(Proposal { replicas, utilization: Some(utilization), usage_milli: raw })
}

fn plain(replicas: i32, usage: i64) -> MetricResult {
    Ok(Proposal { replicas, utilization: None, usage_milli: usage })
}

const R3: [i64; 3] = [1000; 3];
const R4: [i64; 4] = [1000; 4];
const R5: [i64; 5] = [1000; 5];
const R7: [i64; 7] = [1000; 7];
const T: bool = true;
const F: bool = false;
use PodPhase::{Failed, Pending, Running};

// V1
#[test]
fn test_replica_calc_scale_up() {
    assert_eq!(Rc::new(3, &R3).cpu(30, &[300, 500, 700]), util(5, 50, CONTAINERS * 500));
}

// V2
#[test]
fn test_replica_calc_scale_up_unready_less_scale() {
    let rc = Rc::new(3, &R3).ready(&[F, T, T]);
    assert_eq!(rc.cpu(30, &[300, 500, 700]), util(4, 60, CONTAINERS * 600));
}

#[test]
fn test_replica_calc_scale_up_hot_cpu_less_scale() {
    let rc = Rc::new(3, &R3).start(&[Start::Hot, Start::Cool, Start::Cool]);
    assert_eq!(rc.cpu(30, &[300, 500, 700]), util(4, 60, CONTAINERS * 600));
}

// V3
#[test]
fn test_replica_calc_scale_up_unready_no_scale() {
    let rc = Rc::new(3, &R3).ready(&[T, F, F]);
    assert_eq!(rc.cpu(30, &[400, 500, 700]), util(3, 40, CONTAINERS * 400));
}

#[test]
fn test_replica_calc_scale_hot_cpu_no_scale() {
    let rc = Rc::new(3, &R3).ready(&[T, F, F]).start(&[Start::Cool, Start::Hot, Start::Hot]);
    assert_eq!(rc.cpu(30, &[400, 500, 700]), util(3, 40, CONTAINERS * 400));
}

#[test]
fn test_replica_calc_scale_up_ignores_failed_pods() {
    let rc = Rc::new(2, &R4).ready(&[T, T, F, F]).phase(&[Running, Running, Failed, Failed]);
    assert_eq!(rc.cpu(30, &[500, 700]), util(4, 60, CONTAINERS * 600));
}

#[test]
fn test_replica_calc_scale_up_ignores_deletion_pods() {
    let rc = Rc::new(2, &R4).ready(&[T, T, F, F]).phase(&[Running; 4]).deleted(&[F, F, T, T]);
    assert_eq!(rc.cpu(30, &[500, 700]), util(4, 60, CONTAINERS * 600));
}

// V4a
#[test]
fn test_replica_calc_scale_down() {
    assert_eq!(Rc::new(5, &R5).cpu(50, &[100, 300, 500, 250, 250]), util(3, 28, CONTAINERS * 280));
}

// V4b
#[test]
fn test_replica_calc_scale_down_exclude_unready_pods() {
    let rc = Rc::new(5, &R5).ready(&[T, T, T, F, F]);
    assert_eq!(rc.cpu(50, &[100, 300, 500, 250, 250]), util(2, 30, CONTAINERS * 300));
}

// V4c
#[test]
fn test_replica_calc_scale_down_exclude_unscheduled_pods() {
    let rc = Rc::new(5, &R5).ready(&[T, F, F, F, F]).phase(&[Running, Pending, Pending, Pending, Pending]);
    assert_eq!(rc.cpu(50, &[100]), util(1, 10, CONTAINERS * 100));
}

#[test]
fn test_replica_calc_scale_down_ignore_hot_cpu_pods() {
    let s = [Start::Cool, Start::Cool, Start::Cool, Start::Hot, Start::Hot];
    let rc = Rc::new(5, &R5).start(&s);
    assert_eq!(rc.cpu(50, &[100, 300, 500, 250, 250]), util(2, 30, CONTAINERS * 300));
}

#[test]
fn test_replica_calc_scale_down_ignores_failed_pods() {
    let rc = Rc::new(5, &R7)
        .ready(&[T, T, T, T, T, F, F])
        .phase(&[Running, Running, Running, Running, Running, Failed, Failed]);
    assert_eq!(rc.cpu(50, &[100, 300, 500, 250, 250]), util(3, 28, CONTAINERS * 280));
}

#[test]
fn test_replica_calc_scale_down_ignores_deletion_pods() {
    let rc = Rc::new(5, &R7).ready(&[T, T, T, T, T, F, F]).phase(&[Running; 7]).deleted(&[F, F, F, F, F, T, T]);
    assert_eq!(rc.cpu(50, &[100, 300, 500, 250, 250]), util(3, 28, CONTAINERS * 280));
}

// V5
#[test]
fn test_replica_calc_tolerance() {
    let rc = Rc::new(3, &[900, 1000, 1100]);
    assert_eq!(rc.cpu(100, &[1010, 1030, 1020]), util(3, 102, CONTAINERS * 1020));
}

// V6a
#[test]
fn test_replica_calc_missing_metrics() {
    assert_eq!(Rc::new(4, &R4).cpu(100, &[400, 95]), util(3, 24, 495));
}

// V6b
#[test]
fn test_replica_calc_missing_metrics_unready_scale_up() {
    let rc = Rc::new(3, &R3).ready(&[F, T, T]);
    assert_eq!(rc.cpu(50, &[100, 2000]), util(4, 200, CONTAINERS * 2000));
}

#[test]
fn test_replica_calc_missing_metrics_hot_cpu_scale_up() {
    let rc = Rc::new(3, &R3).ready(&[F, T, T]).start(&[Start::Hot, Start::Cool, Start::Cool]);
    assert_eq!(rc.cpu(50, &[100, 2000]), util(4, 200, CONTAINERS * 2000));
}

#[test]
fn test_replica_calc_missing_metrics_unready_scale_down() {
    let rc = Rc::new(4, &R4).ready(&[F, T, T, T]);
    assert_eq!(rc.cpu(50, &[100, 100, 100]), util(3, 10, CONTAINERS * 100));
}

// V6c: needs the max(100, target) fill (older releases gave 1).
#[test]
fn test_replica_calc_missing_metrics_scale_down_target_over100() {
    let rc = Rc::new(4, &[1000, 1000, 2000, 2000]).ready(&[F, T, T, T]);
    assert_eq!(rc.cpu(300, &[200, 100, 100]), util(2, 6, CONTAINERS * 100));
}

// V6d
#[test]
fn test_replica_calc_during_rolling_update_with_max_surge() {
    let rc = Rc::new(2, &R3).phase(&[Running; 3]);
    assert_eq!(rc.cpu(50, &[100, 100]), util(2, 10, CONTAINERS * 100));
}

#[test]
fn test_replica_calc_during_rolling_update_with_max_surge_cm() {
    let rc = Rc::new(2, &R3).phase(&[Running; 3]);
    assert_eq!(rc.pods_metric(17000, &[10000, 10000]), plain(2, 10000));
}

#[test]
fn test_replica_calc_missing_metrics_no_change() {
    // Eq, Gt, Lt: a missing pod that would flip the direction keeps 2.
    assert_eq!(Rc::new(2, &[1000; 2]).cpu(100, &[1000]), util(2, 100, CONTAINERS * 1000));
    assert_eq!(Rc::new(2, &[1000; 2]).cpu(100, &[1900]), util(2, 190, CONTAINERS * 1900));
    assert_eq!(Rc::new(2, &[1000; 2]).cpu(100, &[600]), util(2, 60, CONTAINERS * 600));
    let rc = Rc::new(3, &R3).ready(&[F, T, T]);
    assert_eq!(rc.cpu(50, &[100, 450]), util(3, 45, CONTAINERS * 450), "MissingMetricsUnreadyChange");
}

// V7
#[test]
fn test_replica_calc_scale_up_cm_unready_hot_cpu_no_less_scale() {
    let rc = Rc::new(3, &R3).ready(&[T, T, F]).start(&[Start::Cool, Start::Cool, Start::Hot]);
    assert_eq!(rc.pods_metric(15000, &[50000, 10000, 30000]), plain(6, 30000));
}

#[test]
fn test_replica_calc_scale_up_cm_unready_hot_cpu_scale_would_scale_down() {
    let rc = Rc::new(3, &R3).ready(&[F, T, F]).start(&[Start::Hot, Start::Cool, Start::Hot]);
    assert_eq!(rc.pods_metric(15000, &[50000, 15000, 30000]), plain(7, 31666));
}

#[test]
fn test_replica_calc_scale_up_cm() {
    assert_eq!(Rc::new(3, &R3).pods_metric(15000, &[20000, 10000, 30000]), plain(4, 20000));
    assert_eq!(Rc::new(1, &R3).pods_metric(4400, &[8600]), plain(2, 8600), "ScaleUpCMExternal (pods)");
    assert_eq!(Rc::new(5, &R5).pods_metric(20000, &[12000; 5]), plain(3, 12000), "ScaleDownCM");
    assert_eq!(Rc::new(3, &R3).pods_metric(20000, &[20000, 21000, 21000]), plain(3, 20666), "ToleranceCM");
    assert_eq!(Rc::new(5, &R5).pods_metric(20000, &[20000, 19000, 21000]), plain(5, 20000), "MissingNoChangeEq");
}

#[test]
fn test_replica_calc_scale_up_cm_object_ignores_unready_pods() {
    let rc = Rc::new(3, &R3).ready(&[F, T, F]);
    assert_eq!(rc.object(10000, 50000), plain(5, 50000));
    assert_eq!(Rc::new(3, &R3).object(15000, 20000), plain(4, 20000), "ScaleUpCMObject");
    assert_eq!(Rc::new(5, &R5).object(20000, 12000), plain(3, 12000), "ScaleDownCMObject");
    assert_eq!(Rc::new(3, &R3).object(20000, 20666), plain(3, 20666), "ToleranceCMObject");
}

#[test]
fn test_replica_calc_scale_up_cm_external_ignores_unready_pods() {
    let rc = Rc::new(3, &R3).ready(&[F, T, F]);
    assert_eq!(rc.object(4400, 8600), plain(2, 8600));
    assert_eq!(Rc::new(5, &R5).object(14334, 8600), plain(3, 8600), "ScaleDownCMExternal");
    assert_eq!(Rc::new(3, &R3).object(8888, 8600), plain(3, 8600), "ToleranceCMExternal");
}

#[test]
fn test_replica_calc_scale_up_per_pod_cm_external() {
    let tol = params().tolerances;
    assert_eq!(Ok(average_value_target(3, 8600, 2150, tol)), plain(4, 2867));
    assert_eq!(Ok(average_value_target(5, 8600, 2867, tol)), plain(3, 1720), "ScaleDownPerPodCMExternal");
    assert_eq!(Ok(average_value_target(3, 8600, 2900, tol)), plain(3, 2867), "TolerancePerPodCMExternal");
    assert_eq!(Ok(average_value_target(3, 20000, 5000, tol)), plain(4, 6667), "ScaleUpCMPerPodObject");
    assert_eq!(Ok(average_value_target(5, 6000, 2000, tol)), plain(3, 1200), "ScaleDownPerPodCMObject");
    assert_eq!(Ok(average_value_target(4, 20166, 5000, tol)), plain(4, 5042), "TolerancePerPodCMObject");
}

#[test]
fn test_replica_calc_superfluous_metrics() {
    // Samples for pods 4 and 5, which are not in the pod list.
    let rc = Rc::new(4, &R4);
    assert_eq!(rc.cpu(100, &[4000, 9500, 3000, 7000, 3200, 2000]), util(24, 587, CONTAINERS * 5875));
}

#[test]
fn test_replica_calc_errors() {
    // DisjointResourcesMetrics: the only sample names another pod.
    let rc = Rc::new(1, &[1000]);
    let other: Samples = [(99, sample(200))].into_iter().collect();
    let r = resource_utilization(NOW, 1, 100, &rc.pods(), &other, &params());
    assert_eq!(r, Err(MetricError::NoMetricsMatchedPods));
    // EmptyMetrics, EmptyCPURequest.
    assert_eq!(Rc::new(4, &R3).cpu(100, &[]), Err(MetricError::NoMetricsForPods));
    assert_eq!(Rc::new(1, &[]).cpu(100, &[200]), Err(MetricError::MissingRequest(0)));
    assert_eq!(Rc::new(0, &[]).cpu(100, &[200]), Err(MetricError::NoPods));
}

#[test]
fn test_replica_calc_computed_tolerance_alg_implementation() {
    // 10 pods at 150m of 300m requests (jittered); the target is set just
    // outside, then just inside, the tolerance band.
    let per_pod = 300i64;
    let requests = [per_pod + 100, per_pod - 100, per_pod + 10, per_pod - 10, per_pod + 2, per_pod - 2, per_pod + 1]
        .into_iter()
        .chain([per_pod - 1, per_pod, per_pod])
        .collect::<Vec<_>>();
    let rc = Rc::new(10, &requests);
    let requested_to_used = 2.0f64;
    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.01;
    let pct = (target * 100.0) as i32;
    let used_ratio = 1500.0 / (3000.0 * target);
    let expected = (used_ratio * 10.0).ceil() as i32;
    assert_eq!(rc.cpu(pct, &[150; 10]), util(expected, 50, CONTAINERS * 150));
    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.004;
    assert_eq!(rc.cpu((target * 100.0) as i32, &[150; 10]), util(10, 50, CONTAINERS * 150));
}

/// `TestGroupPods` (timing cases), with upstream's 2 min / 10 s flags.
#[test]
fn test_group_pods() {
    let secs = |s: u64| SimDuration::from_secs(s);
    let ago = |s: u64| SimTime(NOW.0 - s * 1_000_000_000);
    let pod = |start: Option<SimTime>, ready: Option<(bool, SimTime)>| Pod {
        key: 1,
        phase: PodPhase::Succeeded,
        deleted: false,
        ready: ready.map(|(ready, last_transition)| ReadyCondition { ready, last_transition }),
        start_time: start,
        cpu_request_milli: Some(1000),
    };
    let at = |ts: SimTime, window: SimDuration| -> Samples {
        [(1, Sample { value_milli: 1, timestamp: ts, window })].into_iter().collect()
    };
    // (name, pod, samples, cpu, ready count, unready, missing)
    let cases = [
        ("ready pod, memory", pod(None, None), at(NOW, secs(60)), false, 1, 0, 0),
        ("no ready condition, CPU", pod(Some(NOW), None), at(SimTime::ZERO, SimDuration::ZERO), true, 0, 1, 0),
        ("fresh metrics in init period", pod(Some(ago(60)), Some((T, ago(30)))), at(NOW, secs(30)), true, 1, 0, 0),
        ("stale metrics in init period", pod(Some(ago(60)), Some((T, ago(30)))), at(NOW, secs(60)), true, 0, 1, 0),
        ("never ready", pod(Some(ago(600)), Some((F, ago(594)))), at(SimTime::ZERO, secs(0)), true, 0, 1, 0),
        ("ready after init period", pod(Some(ago(180)), Some((T, ago(180)))), at(ago(120), secs(60)), true, 1, 0, 0),
        ("was ready, now not", pod(Some(ago(600)), Some((F, ago(540)))), at(SimTime::ZERO, secs(0)), true, 1, 0, 0),
        (
            "not ready exactly at delay",
            pod(Some(ago(600)), Some((F, ago(590)))),
            at(SimTime::ZERO, secs(0)),
            true,
            1,
            0,
            0,
        ),
        ("missing", pod(Some(ago(180)), None), Samples::new(), true, 0, 0, 1),
    ];
    for (name, p, samples, cpu, ready, unready, missing) in cases {
        let g = group_pods(&[p], &samples, cpu, NOW, &params());
        assert_eq!((g.ready, g.unready.len(), g.missing.len()), (ready, unready, missing), "{name}");
    }
}

/// v1.33+ `isWithin` is inclusive: 110% against 100% stays (v1.32 and
/// earlier, with `abs(1 - r) <= tol`, scaled up), and each direction has
/// its own band (the API doc's 1% up / 5% down example).
#[test]
fn tolerance_is_inclusive_and_per_direction() {
    assert_eq!(Rc::new(3, &R3).cpu(100, &[1100, 1100, 1100]), util(3, 110, CONTAINERS * 1100));
    assert_eq!(Rc::new(3, &R3).cpu(100, &[1110, 1110, 1110]), util(4, 111, CONTAINERS * 1110));
    let p = CalcParams { tolerances: Tolerances { up: 0.01, down: 0.05 }, ..params() };
    let run = |avg: i64| {
        plain_average(NOW, 10, 100_000, &Rc::new(10, &[1000; 10]).pods(), &pod_levels(&[avg; 10]), false, &p)
    };
    assert_eq!(run(101_000).map(|x| x.replicas), Ok(10), "1.01 is inside the 1% up band");
    assert_eq!(run(102_000).map(|x| x.replicas), Ok(11));
    assert_eq!(run(95_000).map(|x| x.replicas), Ok(10), "0.95 is inside the 5% down band");
    assert_eq!(run(94_000).map(|x| x.replicas), Ok(10), "ceil(9.4) = 10: the count cannot go lower");
    assert_eq!(run(89_000).map(|x| x.replicas), Ok(9));
}
