//! One metric's replica proposal (`replica_calculator.go`; hpa.md §3):
//! pod classification, CPU utilization against requests, plain per-pod
//! averages, Object and External metrics, with the missing- and
//! unready-pod rules and the direction-flip guards.
//!
//! Sums are `i128` (upstream falls back to big integers on overflow);
//! percentages and averages truncate like Go's integer division; ratios
//! are `f64` in upstream's order, so vectors that land exactly on an
//! integer (4/3·3 = 4.0) round the same way.

use super::{Pod, PodKey, PodPhase, Samples, Tolerances};
use crate::engine::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// The controller flags the calculation depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalcParams {
    pub tolerances: Tolerances,
    pub cpu_initialization_period: SimDuration,
    pub initial_readiness_delay: SimDuration,
}

/// What one metric proposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub replicas: i32,
    /// CPU utilization in percent of request, as reported in the HPA's
    /// status (before missing and unready pods were added); `None` for
    /// other metrics.
    pub utilization: Option<i32>,
    /// The raw value reported in status, in milli-units: the average per
    /// pod (utilization and plain metrics), the Object/External value, or
    /// the value per replica for `AverageValue` Object/External metrics.
    pub usage_milli: i64,
}

/// One metric's outcome in a sync.
pub type MetricResult = Result<Proposal, MetricError>;

/// Why a metric gave no proposal this sync (it counts as invalid, §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricError {
    /// The selector matched no pod.
    NoPods,
    /// No usable sample once ignored and unready pods were removed.
    NoMetricsForPods,
    /// A pod without a CPU request (utilization cannot be computed).
    MissingRequest(PodKey),
    /// No sample belongs to a pod with a request.
    NoMetricsMatchedPods,
    /// The metrics API failed.
    Unavailable,
    /// The input does not fit the metric (e.g. one total for a per-pod
    /// metric).
    WrongInput,
}

impl std::fmt::Display for MetricError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricError::NoPods => write!(f, "no pods returned by selector"),
            MetricError::NoMetricsForPods => {
                write!(f, "did not receive metrics for targeted pods (pods might be unready)")
            }
            MetricError::MissingRequest(p) => write!(f, "missing cpu request of pod {p}"),
            MetricError::NoMetricsMatchedPods => write!(f, "no metrics returned matched known pods"),
            MetricError::Unavailable => write!(f, "unable to get metrics"),
            MetricError::WrongInput => write!(f, "metric input does not fit the metric type"),
        }
    }
}

/// `groupPods`: how each pod of the list takes part.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub ready: usize,
    pub unready: BTreeSet<PodKey>,
    pub missing: BTreeSet<PodKey>,
    pub ignored: BTreeSet<PodKey>,
}

/// Classifies pods in upstream's order (hpa.md §3.1). `cpu` selects the
/// CPU readiness rules (Resource metrics on cpu only).
pub(crate) fn group_pods(pods: &[Pod], samples: &Samples, cpu: bool, now: SimTime, p: &CalcParams) -> Groups {
    let mut g = Groups::default();
    for pod in pods {
        if pod.deleted || pod.phase == PodPhase::Failed {
            g.ignored.insert(pod.key);
            continue;
        }
        if pod.phase == PodPhase::Pending {
            g.unready.insert(pod.key);
            continue;
        }
        let Some(sample) = samples.get(&pod.key) else {
            g.missing.insert(pod.key);
            continue;
        };
        if cpu {
            let unready = match (pod.ready, pod.start_time) {
                (Some(cond), Some(start)) => {
                    if start + p.cpu_initialization_period > now {
                        // Still initialising: use the sample only if its whole
                        // window follows the moment the pod became ready.
                        !cond.ready || sample.timestamp < cond.last_transition + sample.window
                    } else {
                        // Unready and never been ready.
                        !cond.ready && start + p.initial_readiness_delay > cond.last_transition
                    }
                }
                _ => true,
            };
            if unready {
                g.unready.insert(pod.key);
                continue;
            }
        }
        g.ready += 1;
    }
    g
}

/// The samples left once ignored and unready pods are removed.
fn usable(samples: &Samples, g: &Groups) -> BTreeMap<PodKey, i64> {
    samples
        .iter()
        .filter(|(k, _)| !g.ignored.contains(k) && !g.unready.contains(k))
        .map(|(k, s)| (*k, s.value_milli))
        .collect()
}

/// `calculateRequests`: every listed pod's CPU request.
fn requests(pods: &[Pod]) -> Result<BTreeMap<PodKey, i64>, MetricError> {
    pods.iter().map(|p| p.cpu_request_milli.map(|r| (p.key, r)).ok_or(MetricError::MissingRequest(p.key))).collect()
}

/// `GetResourceUtilizationRatio`: (ratio, utilization %, raw average).
/// Only samples of pods with a request count.
fn utilization_ratio(
    metrics: &BTreeMap<PodKey, i64>,
    requests: &BTreeMap<PodKey, i64>,
    target_pct: i32,
) -> Result<(f64, i32, i64), MetricError> {
    let (mut used, mut requested, mut n) = (0i128, 0i128, 0i128);
    for (k, v) in metrics {
        if let Some(r) = requests.get(k) {
            used += i128::from(*v);
            requested += i128::from(*r);
            n += 1;
        }
    }
    if requested == 0 {
        return Err(MetricError::NoMetricsMatchedPods);
    }
    // Newer releases clamp an out-of-range percentage to the int32 rails.
    let pct = ((used * 100) / requested).clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
    let raw = (used / n).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    Ok((f64::from(pct) / f64::from(target_pct), pct, raw))
}

/// `GetMetricUsageRatio`: (ratio, average) over every remaining sample.
fn usage_ratio(metrics: &BTreeMap<PodKey, i64>, target_milli: i64) -> (f64, i64) {
    let total: i128 = metrics.values().map(|v| i128::from(*v)).sum();
    let avg = (total / metrics.len().max(1) as i128).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (avg as f64 / target_milli as f64, avg)
}

/// `int32(math.Ceil(x))`, saturating (upstream caps at MaxInt32 where it
/// checks; elsewhere the values never get near).
fn ceil_i32(x: f64) -> i32 {
    x.ceil() as i32
}

/// The part shared by utilization and plain metrics once the first ratio
/// is known: (early answer, or the direction-flip-guarded recomputation).
struct Recount<'a> {
    current: i32,
    ratio: f64,
    groups: &'a Groups,
    tol: Tolerances,
}

impl Recount<'_> {
    /// `Some(replicas)` when no pod needs filling in.
    fn early(&self) -> Option<i32> {
        let g = self.groups;
        let scale_up_with_unready = !g.unready.is_empty() && self.ratio > 1.0;
        if scale_up_with_unready || !g.missing.is_empty() {
            return None;
        }
        if self.tol.is_within(self.ratio) {
            return Some(self.current);
        }
        Some(ceil_i32(self.ratio * g.ready as f64))
    }

    /// Fills missing pods (`fill_down` on a scale-down, 0 on a scale-up)
    /// and unready pods (0, on a scale-up only).
    fn fill(&self, metrics: &mut BTreeMap<PodKey, i64>, fill_down: impl Fn(PodKey) -> i64) {
        let g = self.groups;
        if self.ratio < 1.0 {
            for &k in &g.missing {
                metrics.insert(k, fill_down(k));
            }
        } else if self.ratio > 1.0 {
            for &k in &g.missing {
                metrics.insert(k, 0);
            }
        }
        if !g.unready.is_empty() && self.ratio > 1.0 {
            for &k in &g.unready {
                metrics.insert(k, 0);
            }
        }
    }

    /// The proposal from the recomputed ratio over `count` pods.
    fn finish(&self, new_ratio: f64, count: usize) -> i32 {
        let r = self.ratio;
        if self.tol.is_within(new_ratio) || (r < 1.0 && new_ratio > 1.0) || (r > 1.0 && new_ratio < 1.0) {
            return self.current;
        }
        let n = ceil_i32(new_ratio * count as f64);
        if (new_ratio < 1.0 && n > self.current) || (new_ratio > 1.0 && n < self.current) {
            return self.current;
        }
        n
    }
}

/// `GetResourceReplicas`: a CPU `Utilization` target (hpa.md §3.2).
pub fn resource_utilization(
    now: SimTime,
    current: i32,
    target_pct: i32,
    pods: &[Pod],
    samples: &Samples,
    p: &CalcParams,
) -> MetricResult {
    if pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let groups = group_pods(pods, samples, true, now, p);
    let mut metrics = usable(samples, &groups);
    if metrics.is_empty() {
        return Err(MetricError::NoMetricsForPods);
    }
    let requests = requests(pods)?;
    let (ratio, utilization, raw) = utilization_ratio(&metrics, &requests, target_pct)?;
    let done = |replicas| Ok(Proposal { replicas, utilization: Some(utilization), usage_milli: raw });
    let rc = Recount { current, ratio, groups: &groups, tol: p.tolerances };
    if let Some(n) = rc.early() {
        return done(n);
    }
    // On a scale-down a missing pod counts as using max(100%, target).
    let fallback = i64::from(target_pct.max(100));
    rc.fill(&mut metrics, |k| requests.get(&k).map_or(0, |r| r.saturating_mul(fallback) / 100));
    let (new_ratio, _, _) = utilization_ratio(&metrics, &requests, target_pct)?;
    done(rc.finish(new_ratio, metrics.len()))
}

/// `calcPlainMetricReplicas`: an `AverageValue` target over per-pod samples
/// (hpa.md §3.3). `cpu` applies the CPU readiness rules (Resource cpu
/// `AverageValue`); `Pods` metrics pass `false`.
pub fn plain_average(
    now: SimTime,
    current: i32,
    target_milli: i64,
    pods: &[Pod],
    samples: &Samples,
    cpu: bool,
    p: &CalcParams,
) -> MetricResult {
    if pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let groups = group_pods(pods, samples, cpu, now, p);
    let mut metrics = usable(samples, &groups);
    if metrics.is_empty() {
        return Err(MetricError::NoMetricsForPods);
    }
    let (ratio, usage) = usage_ratio(&metrics, target_milli);
    let done = |replicas| Ok(Proposal { replicas, utilization: None, usage_milli: usage });
    let rc = Recount { current, ratio, groups: &groups, tol: p.tolerances };
    if let Some(n) = rc.early() {
        return done(n);
    }
    // On a scale-down a missing pod counts as exactly on target.
    rc.fill(&mut metrics, |_| target_milli);
    let (new_ratio, _) = usage_ratio(&metrics, target_milli);
    done(rc.finish(new_ratio, metrics.len()))
}

/// `getUsageRatioReplicaCount`: Object and External `Value` targets. From
/// zero replicas tolerance is skipped, which allows scaling up from 0.
fn usage_ratio_replica_count(current: i32, ratio: f64, pods: &[Pod], tol: Tolerances) -> Result<i32, MetricError> {
    if current == 0 {
        return Ok(ceil_i32(ratio));
    }
    if tol.is_within(ratio) {
        return Ok(current);
    }
    if pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let ready = pods.iter().filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|c| c.ready)).count();
    let x = ratio * ready as f64;
    Ok(if x > f64::from(i32::MAX) { i32::MAX } else { ceil_i32(x) })
}

/// `GetObjectMetricReplicas` / `GetExternalMetricReplicas`: a `Value`
/// target; `usage` is the object's value or the sum of the series.
pub fn value_target(current: i32, usage: i64, target_milli: i64, pods: &[Pod], tol: Tolerances) -> MetricResult {
    let ratio = usage as f64 / target_milli as f64;
    let replicas = usage_ratio_replica_count(current, ratio, pods, tol)?;
    Ok(Proposal { replicas, utilization: None, usage_milli: usage })
}

/// `GetObjectPerPodMetricReplicas` / `GetExternalPerPodMetricReplicas`: an
/// `AverageValue` target, divided by `status.replicas`, readiness ignored.
pub fn average_value_target(status_replicas: i32, usage: i64, target_milli: i64, tol: Tolerances) -> Proposal {
    let mut replicas = status_replicas;
    let ratio = usage as f64 / (target_milli as f64 * f64::from(status_replicas));
    if !tol.is_within(ratio) {
        let x = (usage as f64 / target_milli as f64).ceil();
        replicas = if x > f64::from(i32::MAX) { i32::MAX } else { x as i32 };
    }
    let per_replica = (usage as f64 / f64::from(status_replicas)).ceil() as i64;
    Proposal { replicas, utilization: None, usage_milli: per_replica }
}

/// The sum of per-pod samples (an External metric's series), saturating.
pub fn total(samples: &Samples) -> i64 {
    let t: i128 = samples.values().map(|s| i128::from(s.value_milli)).sum();
    t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}
