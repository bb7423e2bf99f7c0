//! Kubernetes' Horizontal Pod Autoscaler (`autoscaling/v2`, controller of
//! v1.33–v1.35) as a pure, deterministic state machine, following
//! `shared/spec/hpa.md` §2–§5 to the rounding.
//!
//! One call of [`Hpa::reconcile`] is one sync of one HPA: it takes what the
//! controller would read from the API server at that instant (an
//! [`Observation`]: `spec.replicas`, `status.replicas`, the pods with their
//! phase, readiness and CPU request, and per-pod metric samples in integer
//! milli-units) and returns a [`Decision`] (the new `spec.replicas` and
//! why), updating the in-memory [`History`] (recommendations, scale events)
//! exactly as upstream does.
//!
//! Inside: `replica_calc` proposes a replica count per metric (pod
//! classification, utilization and plain averages, missing and unready
//! pods); `normalize` applies stabilization windows, rate limits and
//! clamping on the legacy and the `behavior` paths and stores scale events;
//! `controller` ties them together (`reconcileAutoscaler`,
//! `computeReplicasForMetrics`).
//!
//! Not here: when syncs happen, how samples are produced (metrics lag),
//! how pods start or drain — the simulation does that and calls
//! [`Hpa::reconcile`]. Time is [`SimTime`]; arithmetic on metric values is
//! integer (`i64` milli-units, sums in `i128`); ratios are `f64` computed in
//! upstream's order; Go's float→int conversions are truncations.

// The simulation drives this controller once it is wired in; until then
// only the tests call it.
#![allow(dead_code, unused_imports)]

mod controller;
mod normalize;
mod replica_calc;

#[cfg(test)]
mod tests_controller;
#[cfg(test)]
mod tests_normalize;
#[cfg(test)]
mod tests_replica_calc;

pub use controller::{Decision, Hpa, HpaSpec, Observation, Outcome};
pub use normalize::{Limit, LimitedBy, Stabilization};
pub use replica_calc::{CalcParams, MetricError, MetricResult, Proposal};

use crate::engine::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Identifies a pod (the pod's name upstream). Samples are keyed by it.
pub type PodKey = u64;

/// `pod.status.phase` as far as the HPA cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// The pod's `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyCondition {
    pub ready: bool,
    pub last_transition: SimTime,
}

/// One pod matching the HPA's selector (surge, starting and terminating
/// pods included: the list is not `spec.replicas` long).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pod {
    pub key: PodKey,
    pub phase: PodPhase,
    /// `deletionTimestamp` is set (draining).
    pub deleted: bool,
    /// `None`: no Ready condition yet.
    pub ready: Option<ReadyCondition>,
    /// `status.startTime` (set when the kubelet accepts the pod).
    pub start_time: Option<SimTime>,
    /// The pod's CPU request in millicores; `None`: a container has none,
    /// which makes a CPU utilization metric invalid.
    pub cpu_request_milli: Option<i64>,
}

/// One metric sample of one pod, as metrics-server (or a custom metrics
/// adapter) serves it: the mean over `[timestamp - window, timestamp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub value_milli: i64,
    pub timestamp: SimTime,
    pub window: SimDuration,
}

/// Samples by pod. May name pods that are not in the pod list (upstream
/// keeps such "superfluous" samples in plain averages).
pub type Samples = BTreeMap<PodKey, Sample>;

/// What one metric source returned this sync, parallel to
/// [`HpaSpec::metrics`].
#[derive(Clone, Debug, PartialEq)]
pub enum MetricInput {
    /// Per-pod samples (CPU, `Pods` metrics; summed for External/Object).
    PerPod(Samples),
    /// One number: an Object metric's value or the sum of an External
    /// metric's series, in milli-units.
    Total(i64),
    /// The metrics API failed: the metric is invalid this sync.
    Unavailable,
}

/// A metric as the controller sees it: the `autoscaling/v2` metric kinds
/// with their target types. Targets are milli-units except `target_pct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricSpec {
    /// `Resource` cpu, `Utilization` (hpa.md §3.2).
    CpuUtilization { target_pct: i32 },
    /// `Resource` cpu, `AverageValue` (§3.3 with the CPU readiness rules).
    CpuAverageValue { target_milli: i64 },
    /// `Pods` metric, `AverageValue` (§3.3, readiness ignored).
    PodsAverageValue { target_milli: i64 },
    /// `Object` metric, `Value` (§3.4).
    ObjectValue { target_milli: i64 },
    /// `Object` metric, `AverageValue` (§3.4).
    ObjectAverageValue { target_milli: i64 },
    /// `External` metric, `Value` (§3.4).
    ExternalValue { target_milli: i64 },
    /// `External` metric, `AverageValue`: what KEDA creates (§3.4).
    ExternalAverageValue { target_milli: i64 },
}

/// Per-direction tolerance around a usage ratio of 1 (v1.33+ `isWithin`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    pub up: f64,
    pub down: f64,
}

impl Tolerances {
    /// `1 - down <= r <= 1 + up`, inclusive, in `f64` as upstream.
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.down) <= ratio && ratio <= (1.0 + self.up)
    }
}

/// An unstabilized recommendation (the raw max over metrics) and when it
/// was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub replicas: i32,
    pub at: SimTime,
}

/// One rescale, as a positive change, kept for the rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    pub change: i32,
    pub at: SimTime,
    /// Older than the direction's longest policy period when last checked;
    /// the slot may be reused. Flags persist.
    pub outdated: bool,
}

/// The controller's in-memory state for one HPA. Lost on a controller
/// restart ([`History::reset`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// `None` until the first sync stores `(current, now)` (upstream's nil
    /// list); `Some(vec![])` is an empty but initialised list.
    pub recommendations: Option<Vec<Recommendation>>,
    pub scale_up_events: Vec<ScaleEvent>,
    pub scale_down_events: Vec<ScaleEvent>,
}

impl History {
    /// A controller-manager restart or leader fail-over: everything is
    /// forgotten.
    pub fn reset(&mut self) {
        *self = History::default();
    }
}

/// `ts > now - window` (Go's `After`), without underflow.
pub(crate) fn after_cutoff(ts: SimTime, now: SimTime, window: SimDuration) -> bool {
    u128::from(ts.0) + u128::from(window.0) > u128::from(now.0)
}

/// `ts < now - window` (Go's `Before`), without underflow.
pub(crate) fn before_cutoff(ts: SimTime, now: SimTime, window: SimDuration) -> bool {
    u128::from(ts.0) + u128::from(window.0) < u128::from(now.0)
}
