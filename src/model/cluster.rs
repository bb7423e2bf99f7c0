//! The platform under the services (`cluster:`): node pools, how pods are
//! placed on them, CPU quotas, memory, and the cluster autoscaler; and per
//! service the Kubernetes `resources` of its replicas. What it means is in
//! `docs/format.md` (The cluster underneath); the simulation is
//! `sim::cluster` (placement, nodes, memory) and `sim::cpu` (shared cores,
//! CFS quota).

use super::DistId;
use crate::engine::SimDuration;

/// Index into [`Cluster::pools`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId(pub u32);

impl PoolId {
    #[inline]
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}

/// How the scheduler scores the nodes a pod fits on (kube-scheduler's
/// `NodeResourcesFit` strategies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scoring {
    /// Prefer the node with the most room left: spreads pods.
    LeastAllocated,
    /// Prefer the fullest node that fits: packs pods, frees whole nodes.
    MostAllocated,
}

/// `cluster:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Node pools, in file order.
    pub pools: Vec<NodePool>,
    /// `cfs_period`: the CFS bandwidth period a CPU limit is enforced over.
    pub cfs_period: SimDuration,
    pub scheduler: Scoring,
    /// `scale_down.after`: how long a node must stay underused before the
    /// cluster autoscaler removes it (its `scale-down-unneeded-time`).
    pub scale_down_after: SimDuration,
    /// `scale_down.utilization`: a node is underused when the requests of
    /// its pods are below this share of its cores and of its memory.
    pub scale_down_utilization: f64,
}

/// One node pool (`cluster.nodes[i]`): `count` identical nodes at the start,
/// between `min` and `max` with the cluster autoscaler.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePool {
    pub name: String,
    /// Cores of one node (allocatable), in millicores.
    pub cpu_milli: u64,
    /// Allocatable memory of one node, in bytes.
    pub memory: u64,
    /// Nodes at the start.
    pub count: u32,
    /// Fewest nodes the autoscaler keeps (default `count`).
    pub min: u32,
    /// Most nodes the autoscaler may have (default `count`: no autoscaling).
    pub max: u32,
    /// Time from the autoscaler's decision to a node ready for pods;
    /// `None`: at once.
    pub provision: Option<DistId>,
    /// Price of one node for an hour.
    pub cost_per_hour: Option<f64>,
}

impl NodePool {
    /// Whole cores of one node (the executor's cores).
    pub fn cores(&self) -> u32 {
        self.cpu_milli.div_ceil(1000) as u32
    }
}

/// A service's `resources` (and `cpus`), resolved: what the scheduler
/// reserves for a replica, and the limits it runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Resources {
    /// CPU request in millicores (placement, and the HPA's `cpu` target).
    pub cpu_request_milli: u64,
    /// Memory request in bytes (placement; also the replica's idle memory use).
    pub memory_request: u64,
    /// CPU limit in millicores: a CFS quota of `limit × cfs_period` per period.
    pub cpu_limit_milli: Option<u64>,
    /// Memory limit in bytes: above it the replica is OOM-killed.
    pub memory_limit: Option<u64>,
}
