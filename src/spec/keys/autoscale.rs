//! The keys of a service's `autoscale` block and the blocks inside it
//! (metrics, tolerance, behavior, scaling rules and policies).

use super::Ty::*;
use super::tables::block;
use super::{Block, Ty, key, required};
use crate::spec::topology::MAX_REPLICAS;

pub static AUTOSCALE: Block = block(
    "autoscale",
    "autoscale",
    "write autoscale: { min: 2, max: 20, metrics: [ { cpu: 60% } ] }",
    &[
        key(
            "min",
            Int(0, MAX_REPLICAS as u64),
            "1",
            "the fewest replicas (0 only with External in_flight, rps or lag metrics)",
        ),
        key("max", Int(1, MAX_REPLICAS as u64), "required (or from `hpa`)", "the most replicas"),
        key("metrics", List(&METRIC_TY), "[ { cpu: 80% } ]", "scale to the largest proposal of these"),
        key("sync_period", Duration, "15s", "one decision per period, at a random phase per service"),
        key(
            "tolerance",
            Either(&[Number, Map(&TOLERANCE)]),
            "10%",
            "no change while the usage ratio is within 1 ± tolerance",
        ),
        key(
            "metrics_delay",
            Duration,
            "30s",
            "the decision at t sees the metric window (one sync period) ending at t − metrics_delay",
        ),
        key(
            "startup",
            Dist,
            "lognormal(median=20s, p99=60s)",
            "from the scale-up decision to the new replica being ready",
        ),
        key("behavior", Map(&BEHAVIOR), "absent: the legacy path", "scaling rules; `{}` means Kubernetes' defaults"),
        key("hpa", File, "", "an autoscaling/v2 HorizontalPodAutoscaler manifest to start from; keys written here win"),
        key("cpu_initialization_period", Duration, "5m", "the controller-manager flag of that name"),
        key("initial_readiness_delay", Duration, "30s", "the controller-manager flag of that name"),
        key(
            "downscale_stabilization",
            Duration,
            "5m",
            "the legacy window and the default `behavior.scale_down.stabilization` (at most 1h)",
        ),
    ],
);

static METRIC_TY: Ty = Map(&METRIC);
pub static METRIC: Block = Block {
    one_of: &["cpu", "cpu_cores", "in_flight", "rps", "lag"],
    ..block(
        "metric",
        "a metric",
        "a metric is one of { cpu: 60% }, { cpu_cores: 500m }, { in_flight: 50 }, { rps: 100 }, { lag: 1000 }",
        &[
            key("cpu", Percent, "", "target utilization of the replica's `cpus`, a whole percentage"),
            key("cpu_cores", Quantity, "", "target cores used per replica"),
            key("in_flight", Quantity, "", "target time-average requests admitted or queued per replica"),
            key("rps", Either(&[Quantity, Rate]), "", "target arrivals per second per replica"),
            key(
                "lag",
                Quantity,
                "",
                "target messages waiting or being processed in the queues the service consumes, per replica \
                 (KEDA-style, External)",
            ),
            key(
                "source",
                Words(&["external", "pods"]),
                "external",
                "in_flight and rps: a KEDA-style total over the service, or per-pod averages",
            ),
        ],
    )
};

pub static TOLERANCE: Block = block(
    "tolerance",
    "tolerance",
    "write tolerance: 10% or { up: 5%, down: 10% }",
    &[key("up", Number, "10%", "tolerance when scaling up"), key("down", Number, "10%", "tolerance when scaling down")],
);

pub static BEHAVIOR: Block = block(
    "behavior",
    "behavior",
    "write behavior: { scale_up: { … }, scale_down: { … } }, or behavior: {} for Kubernetes' defaults",
    &[
        key("scale_up", Map(&RULES), "Kubernetes' defaults", "rules for scaling up"),
        key("scale_down", Map(&RULES), "Kubernetes' defaults", "rules for scaling down"),
    ],
);

pub static RULES: Block = block(
    "rules",
    "scaling rules",
    "write { stabilization: 5m, select: max, policies: [ { percent: 100, period: 15s } ] }",
    &[
        key(
            "stabilization",
            Duration,
            "0s up, `downscale_stabilization` down",
            "window of past proposals (at most 1h)",
        ),
        key(
            "select",
            Words(&["max", "min", "disabled"]),
            "max",
            "which policy's limit applies; `disabled` stops scaling this way",
        ),
        key("policies", List(&SCALING_POLICY_TY), "Kubernetes' defaults", "rate limits"),
    ],
);

static SCALING_POLICY_TY: Ty = Map(&SCALING_POLICY);
pub static SCALING_POLICY: Block = Block {
    one_of: &["pods", "percent"],
    ..block(
        "scaling-policy",
        "a scaling policy",
        "a policy is { pods: 4, period: 15s } or { percent: 100, period: 15s }",
        &[
            key("pods", Int(1, i32::MAX as u64), "", "at most this many replicas per period"),
            key("percent", Int(1, i32::MAX as u64), "", "at most this percentage of the replicas per period"),
            required("period", Duration, "the period the limit spans (at most 30m)"),
        ],
    )
};
