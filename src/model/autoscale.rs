//! Autoscaling settings of a service: what `autoscale:` in a topology (or
//! an `autoscaling/v2` HorizontalPodAutoscaler manifest named by `hpa:`)
//! becomes once read and checked.
//!
//! Everything is resolved: defaults are filled in, and when `behavior` is
//! present both directions are complete (Kubernetes' defaulting, hpa.md
//! §5.2). `behavior: None` means the legacy controller path (hpa.md §5.1),
//! which is *not* the same as the default behavior.
//!
//! This module holds data only. The controller that acts on it is
//! `crate::sim::autoscale`; the reader is `crate::spec`.

use super::DistId;
use crate::engine::SimDuration;

/// `--horizontal-pod-autoscaler-sync-period`.
pub const DEFAULT_SYNC_PERIOD: SimDuration = SimDuration::from_secs(15);
/// `--horizontal-pod-autoscaler-tolerance`, both directions.
pub const DEFAULT_TOLERANCE: f64 = 0.1;
/// Time from a load change to the controller seeing it in full: a 15 s
/// metrics-server resolution window plus up to 15 s until the sample is
/// scraped (hpa.md §6; the figure `format.md` shows).
pub const DEFAULT_METRICS_DELAY: SimDuration = SimDuration::from_secs(30);
/// `--horizontal-pod-autoscaler-cpu-initialization-period`.
pub const DEFAULT_CPU_INITIALIZATION_PERIOD: SimDuration = SimDuration::from_secs(300);
/// `--horizontal-pod-autoscaler-initial-readiness-delay`.
pub const DEFAULT_INITIAL_READINESS_DELAY: SimDuration = SimDuration::from_secs(30);
/// `--horizontal-pod-autoscaler-downscale-stabilization`: the legacy
/// scale-down window, and the scale-down window of a `behavior` that does
/// not set one.
pub const DEFAULT_DOWNSCALE_STABILIZATION: SimDuration = SimDuration::from_secs(300);
/// The CPU utilization target Kubernetes adds when an HPA lists no metric.
pub const DEFAULT_CPU_UTILIZATION_PCT: u32 = 80;
/// Default `startup` when none is written: `lognormal(median=20s, p99=60s)`
/// (scheduling, image pull from cache, app start and first readiness probe;
/// hpa.md §7).
pub const DEFAULT_STARTUP_MEDIAN: SimDuration = SimDuration::from_secs(20);
pub const DEFAULT_STARTUP_P99: SimDuration = SimDuration::from_secs(60);
/// API limits (hpa.md §5.2).
pub const MAX_POLICY_PERIOD: SimDuration = SimDuration::from_secs(1800);
pub const MAX_STABILIZATION: SimDuration = SimDuration::from_secs(3600);

/// A service's horizontal autoscaler.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleCfg {
    /// Fewest replicas; 0 only with in_flight/rps metrics of the External
    /// (KEDA) kind, as Kubernetes requires an Object or External metric.
    pub min: u32,
    pub max: u32,
    /// At least one; the controller scales to the largest proposal.
    pub metrics: Vec<Metric>,
    /// One controller decision per period.
    pub sync_period: SimDuration,
    pub tolerance: Tolerance,
    /// How long a load change takes to reach the controller in full.
    pub metrics_delay: SimDuration,
    /// From the scale-up decision to a new replica being ready to serve.
    pub startup: DistId,
    /// CPU samples of a pod this young are used only if taken wholly after
    /// it became ready (hpa.md §3.1).
    pub cpu_initialization_period: SimDuration,
    /// A pod not ready within this time of starting counts as never ready.
    pub initial_readiness_delay: SimDuration,
    /// The legacy scale-down stabilization window (also the default
    /// `behavior.scale_down.stabilization`, already filled in here).
    pub downscale_stabilization: SimDuration,
    /// `None`: the legacy path (scale-up capped at `max(2·current, 4)` per
    /// sync, scale-down stabilized over `downscale_stabilization`).
    pub behavior: Option<Behavior>,
}

/// One metric the autoscaler follows, with its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// CPU use as a percentage of the replica's request (its `cpus`):
    /// `Resource` metric, `Utilization` target.
    Cpu { target_utilization_pct: u32 },
    /// CPU use per replica in millicores: `Resource` metric, `AverageValue`.
    CpuAverage { target_millicores: u64 },
    /// Requests in flight per replica, in thousandths.
    InFlight { target_avg_milli: u64, source: MetricSource },
    /// Requests per second per replica, in thousandths.
    Rps { target_avg_milli: u64, source: MetricSource },
    /// Messages waiting or being processed (lag) in the queues the service
    /// consumes, per replica, in thousandths: KEDA's queue scalers, an
    /// `External` `AverageValue` metric (`ceil(total / target)`).
    Lag { target_avg_milli: u64 },
}

/// How a per-replica metric reaches the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricSource {
    /// The service's total over the `AverageValue` target, as KEDA sets it
    /// up: `ceil(total / target)`, readiness ignored (hpa.md §3.4).
    External,
    /// A per-pod `Pods` metric: the average over pods with metrics, with
    /// the missing- and unready-pod rules of hpa.md §3.3.
    Pods,
}

/// Ratio band around 1.0 inside which the controller does not scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub up: f64,
    pub down: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { up: DEFAULT_TOLERANCE, down: DEFAULT_TOLERANCE }
    }
}

/// `spec.behavior`, both directions filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    /// Scale up to the lowest (down to the highest) recommendation of this
    /// long ago.
    pub stabilization: SimDuration,
    pub select: SelectPolicy,
    /// Never empty.
    pub policies: Vec<ScalingPolicy>,
}

/// Which policy wins when several allow different changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the biggest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// At most `value` pods (or percent of the replicas at the start of the
/// period) added or removed per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub kind: PolicyKind,
    pub value: u32,
    pub period: SimDuration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl ScalingRules {
    /// Kubernetes' default scale-up: no window, the larger of 4 pods or
    /// 100% per 15 s.
    pub fn default_up() -> Self {
        ScalingRules {
            stabilization: SimDuration::ZERO,
            select: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy { kind: PolicyKind::Pods, value: 4, period: SimDuration::from_secs(15) },
                ScalingPolicy { kind: PolicyKind::Percent, value: 100, period: SimDuration::from_secs(15) },
            ],
        }
    }

    /// Kubernetes' default scale-down: the given window, 100% per 15 s.
    pub fn default_down(stabilization: SimDuration) -> Self {
        ScalingRules {
            stabilization,
            select: SelectPolicy::Max,
            policies: vec![ScalingPolicy { kind: PolicyKind::Percent, value: 100, period: SimDuration::from_secs(15) }],
        }
    }

    /// The longest policy period (how long scale events matter).
    pub fn longest_period(&self) -> SimDuration {
        self.policies.iter().map(|p| p.period).max().unwrap_or(SimDuration::ZERO)
    }
}

impl Behavior {
    /// `behavior: {}`: both directions at their defaults.
    pub fn defaulted(downscale_stabilization: SimDuration) -> Self {
        Behavior {
            scale_up: ScalingRules::default_up(),
            scale_down: ScalingRules::default_down(downscale_stabilization),
        }
    }
}

impl std::fmt::Display for ScalingPolicy {
    /// `4 pods per 15s`, `100% per 1m`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            PolicyKind::Pods => write!(f, "{} pods per {}", self.value, self.period),
            PolicyKind::Percent => write!(f, "{}% per {}", self.value, self.period),
        }
    }
}
