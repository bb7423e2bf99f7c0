//! The tables of `cluster:` (node pools, the scheduler, the cluster
//! autoscaler's scale-down) and of a service's `resources`.

use super::Ty::*;
use super::tables::block;
use super::{Block, Ty, key, required};
use crate::spec::cluster::{MAX_NODE_CORES, MAX_POOL_NODES};

pub static CLUSTER: Block = block(
    "cluster",
    "a cluster",
    "write cluster: { nodes: [ { name: general, cores: 8, memory: 32Gi, count: 3 } ] }",
    &[
        required("nodes", List(&NODE_POOL_TY), "the node pools, at least one"),
        key(
            "cfs_period",
            Duration,
            "100ms",
            "the CFS bandwidth period: a replica with a CPU limit gets at most `limit × cfs_period` of CPU per period \
             (at most 1s)",
        ),
        key(
            "scheduler",
            Words(&["least_allocated", "most_allocated"]),
            "least_allocated",
            "where a pod goes among the nodes it fits on: the emptiest (spreads pods) or the fullest (packs them)",
        ),
        key("scale_down", Map(&SCALE_DOWN), "", "when the cluster autoscaler removes an underused node"),
    ],
);

static NODE_POOL_TY: Ty = Map(&NODE_POOL);
pub static NODE_POOL: Block = block(
    "node-pool",
    "a node pool",
    "write nodes: [ { name: general, cores: 8, memory: 32Gi, count: 3, max: 10 } ]",
    &[
        required("name", Text, "the pool's name, unique; nodes are named `NAME-0`, `NAME-1`, …"),
        required("cores", Int(1, MAX_NODE_CORES as u64), "cores of one node (allocatable)"),
        required("memory", Memory, "memory of one node (allocatable)"),
        key("count", Int(0, MAX_POOL_NODES as u64), "1", "nodes at the start"),
        key("min", Int(0, MAX_POOL_NODES as u64), "`count`", "fewest nodes the cluster autoscaler keeps"),
        key(
            "max",
            Int(0, MAX_POOL_NODES as u64),
            "`count`",
            "most nodes the cluster autoscaler may have; above `count`, it adds nodes for pods that fit nowhere",
        ),
        key("provision", Dist, "at once", "time from the cluster autoscaler's decision to a node ready for pods"),
        key("cost_per_hour", Number, "", "the price of one node for an hour (any currency)"),
    ],
);

pub static SCALE_DOWN: Block = block(
    "scale-down",
    "scale_down",
    "write scale_down: { after: 10m, utilization: 50% }",
    &[
        key("after", Duration, "10m", "how long a node must stay underused before it is removed"),
        key(
            "utilization",
            Ratio,
            "50%",
            "a node is underused while its pods' requests are below this share of its cores and of its memory",
        ),
    ],
);

pub static RESOURCES: Block = block(
    "resources",
    "resources",
    "write resources: { requests: { cpu: 500m, memory: 512Mi }, limits: { cpu: 1, memory: 1Gi } }",
    &[
        key(
            "requests",
            Map(&RESOURCE_AMOUNTS),
            "",
            "what the scheduler reserves on a node for each replica (a missing request is its limit's value)",
        ),
        key("limits", Map(&RESOURCE_AMOUNTS), "", "the most a replica may use: CPU is throttled, memory OOM-kills"),
    ],
);

pub static RESOURCE_AMOUNTS: Block = block(
    "resource-amounts",
    "requests or limits",
    "write { cpu: 500m, memory: 512Mi }",
    &[
        key("cpu", Quantity, "", "cores (`1`, `0.25`) or millicores (`500m`); larger than zero"),
        key("memory", Memory, "", "bytes with a unit (`512Mi`, `1Gi`)"),
    ],
);
