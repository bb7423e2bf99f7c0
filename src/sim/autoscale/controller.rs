//! One HPA and its sync (`reconcileAutoscaler`, `computeReplicasForMetrics`;
//! hpa.md §2 and §4): early clamps, the max over metrics with the
//! no-scale-down-on-partial-data rule, then the legacy or `behavior`
//! normalization, and the scale event when the count changes.

use super::normalize::{self, Limit, LimitedBy, Stabilization};
use super::replica_calc::{self, CalcParams, MetricError, MetricResult, Proposal};
use super::{History, MetricInput, MetricSpec, Pod, Recommendation, Tolerances};
use crate::engine::{SimDuration, SimTime};
use crate::model::{AutoscaleCfg, Behavior, Metric, MetricSource};
use std::fmt;

/// Everything the controller needs to know about one HPA.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    pub min: i32,
    pub max: i32,
    pub metrics: Vec<MetricSpec>,
    pub tolerances: Tolerances,
    pub cpu_initialization_period: SimDuration,
    pub initial_readiness_delay: SimDuration,
    /// The legacy scale-down window (the controller flag).
    pub downscale_stabilization: SimDuration,
    /// `None`: the legacy path.
    pub behavior: Option<Behavior>,
    /// Legacy per-sync scale-up cap `max(factor·current, minimum)`:
    /// upstream 2 and 4 (its test harness patches the factor to 8).
    pub scale_up_limit_factor: f64,
    pub scale_up_limit_minimum: f64,
}

impl HpaSpec {
    /// The controller's view of a service's autoscale settings. In_flight
    /// and rps targets of the External kind become External `AverageValue`
    /// metrics (KEDA), of the Pods kind `Pods` `AverageValue` metrics.
    pub fn from_model(cfg: &AutoscaleCfg) -> Self {
        let milli = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let per_replica = |target: u64, source: MetricSource| match source {
            MetricSource::External => MetricSpec::ExternalAverageValue { target_milli: milli(target) },
            MetricSource::Pods => MetricSpec::PodsAverageValue { target_milli: milli(target) },
        };
        let metrics = cfg
            .metrics
            .iter()
            .map(|m| match *m {
                Metric::Cpu { target_utilization_pct } => {
                    MetricSpec::CpuUtilization { target_pct: i32::try_from(target_utilization_pct).unwrap_or(i32::MAX) }
                }
                Metric::CpuAverage { target_millicores } => {
                    MetricSpec::CpuAverageValue { target_milli: milli(target_millicores) }
                }
                Metric::InFlight { target_avg_milli, source } => per_replica(target_avg_milli, source),
                Metric::Rps { target_avg_milli, source } => per_replica(target_avg_milli, source),
                Metric::Lag { target_avg_milli } => per_replica(target_avg_milli, MetricSource::External),
            })
            .collect();
        HpaSpec {
            min: i32::try_from(cfg.min).unwrap_or(i32::MAX),
            max: i32::try_from(cfg.max).unwrap_or(i32::MAX),
            metrics,
            tolerances: Tolerances { up: cfg.tolerance.up, down: cfg.tolerance.down },
            cpu_initialization_period: cfg.cpu_initialization_period,
            initial_readiness_delay: cfg.initial_readiness_delay,
            downscale_stabilization: cfg.downscale_stabilization,
            behavior: cfg.behavior.clone(),
            scale_up_limit_factor: 2.0,
            scale_up_limit_minimum: 4.0,
        }
    }

    fn calc_params(&self) -> CalcParams {
        CalcParams {
            tolerances: self.tolerances,
            cpu_initialization_period: self.cpu_initialization_period,
            initial_readiness_delay: self.initial_readiness_delay,
        }
    }
}

/// What the controller reads at one sync.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    pub now: SimTime,
    /// `scale.spec.replicas`: the workload's desired count ("current").
    pub spec_replicas: i32,
    /// `scale.status.replicas`: pods created (used by `AverageValue`
    /// Object/External metrics only).
    pub status_replicas: i32,
    /// Pods matching the selector.
    pub pods: &'a [Pod],
    /// One input per [`HpaSpec::metrics`]; a missing one is unavailable.
    pub metrics: &'a [MetricInput],
}

/// How the sync went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `spec.replicas` is 0 and `min` is not: autoscaling is paused.
    ScalingDisabled,
    /// Above `max`: set to `max`, no metrics, no stabilization.
    AboveMax,
    /// Below `min`: set to `min`, likewise.
    BelowMin,
    /// Every metric invalid, or some invalid and the rest would scale
    /// down: no change this sync.
    InvalidMetrics,
    /// Metrics proposed `proposed` (metric `metric` gave it), stabilization
    /// made it `stabilized`, the rate limits and bounds the final count.
    Computed { proposed: i32, metric: usize, stabilized: i32, stabilization: Stabilization, limit: Limit },
}

/// The result of one sync.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub now: SimTime,
    /// `spec.replicas` before the sync.
    pub current: i32,
    /// `spec.replicas` after it (equal to `current` when nothing changes).
    pub desired: i32,
    pub outcome: Outcome,
    /// Each metric's proposal or why it had none, parallel to the spec.
    pub metrics: Vec<MetricResult>,
}

impl Decision {
    /// The workload's replica count changes.
    pub fn rescaled(&self) -> bool {
        self.desired != self.current
    }
}

impl fmt::Display for Decision {
    /// `5 → 3: all metrics below target (metric 0 proposed 2); stabilized
    /// at 3 (ScaleDownStabilized); ScaleDownLimit by policy 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}: ", self.current, self.desired)?;
        match self.outcome {
            Outcome::ScalingDisabled => write!(f, "scaling disabled (replicas are 0)"),
            Outcome::AboveMax => write!(f, "current number of replicas above max"),
            Outcome::BelowMin => write!(f, "current number of replicas below min"),
            Outcome::InvalidMetrics => write!(f, "no change: metrics invalid"),
            Outcome::Computed { proposed, metric, stabilized, stabilization, limit } => {
                let dir = if proposed > self.current {
                    format!("metric {metric} above target")
                } else if proposed < self.current {
                    "all metrics below target".to_string()
                } else {
                    "metrics on target".to_string()
                };
                write!(f, "{dir} (metric {metric} proposed {proposed})")?;
                if stabilization != Stabilization::None {
                    write!(f, "; stabilized at {stabilized} ({stabilization:?})")?;
                }
                match limit {
                    Limit::DesiredWithinRange => Ok(()),
                    Limit::ScaleUpLimit(by) | Limit::ScaleDownLimit(by) => match by {
                        LimitedBy::Policy(i) => write!(f, "; {} by policy {i}", limit.reason()),
                        LimitedBy::Disabled => write!(f, "; {} (scaling disabled)", limit.reason()),
                        LimitedBy::LegacyCap => write!(f, "; {} (legacy cap)", limit.reason()),
                    },
                    _ => write!(f, "; {}", limit.reason()),
                }
            }
        }
    }
}

/// One HPA: its spec and the controller's memory of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Hpa {
    pub spec: HpaSpec,
    pub history: History,
}

impl Hpa {
    pub fn new(spec: HpaSpec) -> Self {
        Hpa { spec, history: History::default() }
    }

    /// One sync (`reconcileAutoscaler`).
    pub fn reconcile(&mut self, obs: &Observation) -> Decision {
        let (now, current) = (obs.now, obs.spec_replicas);
        let (min, max) = (self.spec.min, self.spec.max);
        // recordInitialRecommendation
        self.history.recommendations.get_or_insert_with(|| vec![Recommendation { replicas: current, at: now }]);
        let mut d = Decision { now, current, desired: current, outcome: Outcome::ScalingDisabled, metrics: Vec::new() };
        if current == 0 && min != 0 {
            return d;
        }
        if current > max {
            d.desired = max;
            d.outcome = Outcome::AboveMax;
        } else if current < min {
            d.desired = min;
            d.outcome = Outcome::BelowMin;
        } else {
            let (proposal, results) = self.replicas_for_metrics(obs);
            d.metrics = results;
            let Some((proposed, metric)) = proposal else {
                d.outcome = Outcome::InvalidMetrics;
                return d;
            };
            let proposed = proposed.max(0);
            let recs = self.history.recommendations.get_or_insert_with(Vec::new);
            let (stabilized, stabilization, desired, limit) = match &self.spec.behavior {
                None => {
                    let stab = normalize::stabilize_legacy(recs, now, self.spec.downscale_stabilization, proposed);
                    let how = if stab != proposed { Stabilization::ScaleDownStabilized } else { Stabilization::None };
                    let (f, m) = (self.spec.scale_up_limit_factor, self.spec.scale_up_limit_minimum);
                    let (desired, limit) = normalize::convert_with_rules(current, stab, min, max, f, m);
                    (stab, how, desired, limit)
                }
                Some(b) => {
                    let (stab, how) = normalize::stabilize_with_behavior(recs, now, b, current, proposed);
                    let h = &self.history;
                    let (desired, limit) = normalize::convert_with_behavior_rate(
                        now,
                        current,
                        stab,
                        min,
                        max,
                        &h.scale_up_events,
                        &h.scale_down_events,
                        b,
                    );
                    (stab, how, desired, limit)
                }
            };
            d.desired = desired;
            d.outcome = Outcome::Computed { proposed, metric, stabilized, stabilization, limit };
        }
        if d.rescaled() {
            let h = &mut self.history;
            let b = self.spec.behavior.as_ref();
            normalize::store_scale_event(&mut h.scale_up_events, &mut h.scale_down_events, b, now, current, d.desired);
        }
        d
    }

    /// `computeReplicasForMetrics`: the largest valid proposal and the
    /// metric that made it, or `None` when the controller must not act.
    fn replicas_for_metrics(&self, obs: &Observation) -> (Option<(i32, usize)>, Vec<MetricResult>) {
        let mut best: Option<(i32, usize)> = None;
        let mut invalid = 0;
        let mut results = Vec::with_capacity(self.spec.metrics.len());
        for (i, spec) in self.spec.metrics.iter().enumerate() {
            let input = obs.metrics.get(i).unwrap_or(&MetricInput::Unavailable);
            let r = self.replicas_for_metric(spec, input, obs);
            match r {
                Err(_) => invalid += 1,
                Ok(p) => {
                    let replicas = best.map_or(0, |(r, _)| r);
                    if replicas == 0 || p.replicas > replicas {
                        best = Some((p.replicas, i));
                    }
                }
            }
            results.push(r);
        }
        let replicas = best.map_or(0, |(r, _)| r);
        if invalid >= self.spec.metrics.len() || (invalid > 0 && replicas < obs.spec_replicas) {
            return (None, results);
        }
        (best, results)
    }

    /// `computeReplicasForMetric`: one metric's proposal.
    fn replicas_for_metric(&self, spec: &MetricSpec, input: &MetricInput, obs: &Observation) -> MetricResult {
        let p = self.spec.calc_params();
        let (now, current, pods) = (obs.now, obs.spec_replicas, obs.pods);
        let usage = || match input {
            MetricInput::PerPod(s) => Ok(replica_calc::total(s)),
            MetricInput::Total(t) => Ok(*t),
            MetricInput::Unavailable => Err(MetricError::Unavailable),
        };
        let samples = || match input {
            MetricInput::PerPod(s) => Ok(s),
            MetricInput::Total(_) => Err(MetricError::WrongInput),
            MetricInput::Unavailable => Err(MetricError::Unavailable),
        };
        match *spec {
            MetricSpec::CpuUtilization { target_pct } => {
                replica_calc::resource_utilization(now, current, target_pct, pods, samples()?, &p)
            }
            MetricSpec::CpuAverageValue { target_milli } => {
                replica_calc::plain_average(now, current, target_milli, pods, samples()?, true, &p)
            }
            MetricSpec::PodsAverageValue { target_milli } => {
                replica_calc::plain_average(now, current, target_milli, pods, samples()?, false, &p)
            }
            MetricSpec::ObjectValue { target_milli } | MetricSpec::ExternalValue { target_milli } => {
                replica_calc::value_target(current, usage()?, target_milli, pods, p.tolerances)
            }
            MetricSpec::ObjectAverageValue { target_milli } | MetricSpec::ExternalAverageValue { target_milli } => {
                Ok(replica_calc::average_value_target(obs.status_replicas, usage()?, target_milli, p.tolerances))
            }
        }
    }
}
