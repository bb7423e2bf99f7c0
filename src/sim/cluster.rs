//! The nodes under the services (`cluster:`): node records, where each
//! replica is placed, what the scheduler and the cluster autoscaler decide,
//! memory in use, and the counts the results need.
//!
//! A leaf: it decides and counts; `platform` carries the decisions out
//! (places replicas on executors, schedules events, evicts).
//!
//! **Placement** follows kube-scheduler's `NodeResourcesFit`: a node fits a
//! replica when its free allocatable CPU and memory (minus the requests of
//! the replicas already there) cover the replica's requests; among the
//! nodes that fit, `least_allocated` prefers the one with the most room
//! left after placing (the mean over CPU and memory of free / allocatable),
//! `most_allocated` the fullest. Ties go to the oldest node (kube-scheduler
//! breaks ties at random; the oldest keeps runs easy to read).
//!
//! **Cluster autoscaler.** A replica that fits nowhere is Pending. At once
//! (the autoscaler's 10 s scan is not modelled, so a Pending replica waits
//! exactly the provisioning time), the Pending replicas are packed in their
//! order into the nodes being provisioned and, beyond them, into new nodes
//! of the first pool (in file order) whose node can hold them and that is
//! below its `max`. A node whose replicas request less than
//! `scale_down.utilization` of its CPU and of its memory, in a pool above
//! its `min`, is removed after `scale_down.after` if every replica on it
//! fits on the other nodes; they are evicted and start again there, cold.

use super::cpu::Cpu;
use super::ids::{CpuId, ReplicaId};
use crate::engine::{RngStream, SimTime};
use crate::metrics::Integral;
use crate::model::{Cluster, Model, PoolId, Scoring};

/// Index into `ClusterState::nodes` (nodes are never removed: a removed one
/// stays as a tombstone, so ids are stable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NodeId(pub u32);

impl NodeId {
    #[inline]
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}

/// Where a node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeState {
    /// Asked for by the autoscaler, not ready yet.
    Provisioning,
    Up,
    /// Failed (a `node_down` fault); comes back empty when the fault ends.
    Down,
    /// Removed by the autoscaler.
    Removed,
}

/// One node.
pub(crate) struct NodeRec {
    pub pool: PoolId,
    /// Its ordinal in its pool (`general-2` is 2).
    pub ordinal: u32,
    pub state: NodeState,
    /// The executor of its cores.
    pub cpu: CpuId,
    /// Requests of the replicas placed here, and their memory in use.
    pub req_cpu: u64,
    pub req_mem: u64,
    pub mem_used: u64,
    pub pods: Vec<ReplicaId>,
    /// Underused since (for the scale-down), and the episode number.
    pub underused_since: Option<SimTime>,
    pub underuse_mark: u32,
}

/// Per replica: its place and its memory.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Placement {
    /// The node it is on (kept after it left, for the results).
    pub node: Option<NodeId>,
    pub placed: bool,
    /// Waiting for a node since.
    pub pending_since: Option<SimTime>,
    /// Its start-up time, applied once it is placed.
    pub startup: crate::engine::SimDuration,
    /// Memory in use (bytes).
    pub mem_used: u64,
    /// OOM kills so far (for the back-off) and when it last started.
    pub restarts: u32,
    pub last_start: SimTime,
    /// An OOM check is queued.
    pub oom_queued: bool,
}

/// Per pool: node counts over time, and the autoscaler's counts.
pub(crate) struct PoolState {
    /// Nodes up; nodes that exist (provisioning, up, down): what is billed.
    pub up: Integral,
    pub existing: Integral,
    pub req_cpu: Integral,
    pub req_mem: Integral,
    pub up_at_warmup: u128,
    pub existing_at_warmup: u128,
    pub req_cpu_at_warmup: u128,
    pub req_mem_at_warmup: u128,
    pub up_min: u32,
    pub up_max: u32,
    pub provisioning: u32,
    pub added: u64,
    pub removed: u64,
    pub next_ordinal: u32,
    pub provision_rng: RngStream,
}

/// Per service: what the platform did to it (after the warm-up).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ServiceCounts {
    pub pending: u64,
    pub pending_ns: u128,
    pub pending_max_ns: u64,
    pub oom_kills: u64,
    pub evictions: u64,
    pub mem_max: u64,
}

pub(crate) struct ClusterState {
    pub nodes: Vec<NodeRec>,
    pub pools: Vec<PoolState>,
    /// Replicas waiting for a node, in the order they started waiting.
    pub pending: Vec<ReplicaId>,
    /// Per replica (indexed like the fleet's replicas).
    pub placements: Vec<Placement>,
    pub services: Vec<ServiceCounts>,
    pub node_failures: u64,
    /// Memory is tracked (some service has `memory_per_request`).
    pub memory: bool,
    /// Results: per service CPU counters at the warm-up's end, per replica
    /// its CPU at the warm-up's end; per replica its counters at the last
    /// interval boundary and whether its last row (gone) was written; per
    /// pool (requested CPU area, existing nodes area) at the last boundary.
    pub usage_at_warmup: Vec<super::replica::Usage>,
    pub replica_usage_at_warmup: Vec<u64>,
    pub marks: Vec<super::replica::Usage>,
    pub gone_reported: Vec<bool>,
    pub pool_marks: Vec<(u128, u128)>,
    /// Which node each `node_down` fault took down.
    pub downed: Vec<(crate::model::FaultId, NodeId)>,
}

impl ClusterState {
    pub fn new(m: &Model, seed: u64) -> ClusterState {
        let pools = m
            .cluster
            .iter()
            .flat_map(|c| c.pools.iter())
            .map(|p| PoolState {
                up: Integral::default(),
                existing: Integral::default(),
                req_cpu: Integral::default(),
                req_mem: Integral::default(),
                up_at_warmup: 0,
                existing_at_warmup: 0,
                req_cpu_at_warmup: 0,
                req_mem_at_warmup: 0,
                up_min: 0,
                up_max: 0,
                provisioning: 0,
                added: 0,
                removed: 0,
                next_ordinal: 0,
                provision_rng: RngStream::derive(seed, "provision", &p.name),
            })
            .collect();
        ClusterState {
            nodes: Vec::new(),
            pools,
            pending: Vec::new(),
            placements: Vec::new(),
            services: vec![ServiceCounts::default(); m.services.len()],
            node_failures: 0,
            memory: m.services.iter().any(|s| s.memory_per_request.is_some()),
            usage_at_warmup: Vec::new(),
            replica_usage_at_warmup: Vec::new(),
            marks: Vec::new(),
            gone_reported: Vec::new(),
            pool_marks: Vec::new(),
            downed: Vec::new(),
        }
    }

    /// The placement record of `r` (created on first use).
    pub fn at(&mut self, r: ReplicaId) -> &mut Placement {
        if self.placements.len() <= r.ix() {
            self.placements.resize(r.ix() + 1, Placement::default());
        }
        &mut self.placements[r.ix()]
    }

    /// The index of node `n` among `Series::node_names`.
    pub fn node_index(&self, n: NodeId) -> u32 {
        n.0
    }

    /// Node name: `pool-ordinal`.
    pub fn node_name(&self, m: &Model, n: NodeId) -> String {
        let node = &self.nodes[n.ix()];
        let c = m.cluster.as_ref().expect("nodes need a cluster");
        format!("{}-{}", c.pools[node.pool.ix()].name, node.ordinal)
    }

    /// Adds a node record (its executor is `cpu`).
    pub fn add_node(&mut self, pool: PoolId, cpu: CpuId, state: NodeState, now: SimTime) -> NodeId {
        let p = &mut self.pools[pool.ix()];
        let ordinal = p.next_ordinal;
        p.next_ordinal += 1;
        p.existing.add(now.0, 1);
        match state {
            NodeState::Up => p.up.add(now.0, 1),
            NodeState::Provisioning => p.provisioning += 1,
            _ => {}
        }
        self.nodes.push(NodeRec {
            pool,
            ordinal,
            state,
            cpu,
            req_cpu: 0,
            req_mem: 0,
            mem_used: 0,
            pods: Vec::new(),
            underused_since: None,
            underuse_mark: 0,
        });
        NodeId(self.nodes.len() as u32 - 1)
    }

    /// Changes a node's state, keeping the pool's counts.
    pub fn set_state(&mut self, n: NodeId, to: NodeState, now: SimTime, counted: bool) {
        let node = &mut self.nodes[n.ix()];
        let from = node.state;
        node.state = to;
        let p = &mut self.pools[node.pool.ix()];
        if from == NodeState::Provisioning {
            p.provisioning -= 1;
        }
        if from == NodeState::Up {
            p.up.add(now.0, -1);
        }
        if to == NodeState::Up {
            p.up.add(now.0, 1);
        }
        if to == NodeState::Removed {
            p.existing.add(now.0, -1);
        }
        if counted {
            let level = p.up.level as u32;
            p.up_min = p.up_min.min(level);
            p.up_max = p.up_max.max(level);
        }
    }

    /// Does node `n` have room for these requests?
    pub fn fits(&self, m: &Model, n: NodeId, cpu: u64, mem: u64) -> bool {
        let node = &self.nodes[n.ix()];
        let pool = &cluster(m).pools[node.pool.ix()];
        node.state == NodeState::Up && node.req_cpu + cpu <= pool.cpu_milli && node.req_mem + mem <= pool.memory
    }

    /// The node the scheduler picks for these requests, if one fits
    /// (`except`: a node being emptied).
    pub fn choose(&self, m: &Model, cpu: u64, mem: u64, except: Option<NodeId>) -> Option<NodeId> {
        let c = cluster(m);
        let mut best: Option<(f64, NodeId)> = None;
        for i in 0..self.nodes.len() {
            let n = NodeId(i as u32);
            if Some(n) == except || !self.fits(m, n, cpu, mem) {
                continue;
            }
            let node = &self.nodes[i];
            let pool = &c.pools[node.pool.ix()];
            let share = |req: u64, cap: u64| if cap == 0 { 0.0 } else { req as f64 / cap as f64 };
            let used = (share(node.req_cpu + cpu, pool.cpu_milli) + share(node.req_mem + mem, pool.memory)) / 2.0;
            let score = match c.scheduler {
                Scoring::LeastAllocated => 1.0 - used,
                Scoring::MostAllocated => used,
            };
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, n));
            }
        }
        best.map(|(_, n)| n)
    }

    /// The pools to add a node to so that the Pending replicas (their
    /// requests, in order) fit: first into the room the nodes being
    /// provisioned will have, then into new nodes.
    pub fn scale_up_plan(&self, m: &Model, pending: &[(u64, u64)]) -> Vec<PoolId> {
        let c = cluster(m);
        // Bins: (pool, free cpu, free memory) of provisioning and planned nodes.
        let mut bins: Vec<(PoolId, u64, u64)> = self
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Provisioning)
            .map(|n| {
                let p = &c.pools[n.pool.ix()];
                (n.pool, p.cpu_milli - n.req_cpu, p.memory - n.req_mem)
            })
            .collect();
        let mut count: Vec<u32> = self.pools.iter().map(|p| p.up.level as u32 + p.provisioning).collect();
        // Down nodes come back: they count against max.
        for n in &self.nodes {
            if n.state == NodeState::Down {
                count[n.pool.ix()] += 1;
            }
        }
        let mut plan = Vec::new();
        for &(cpu, mem) in pending {
            if let Some(b) = bins.iter_mut().find(|b| b.1 >= cpu && b.2 >= mem) {
                b.1 -= cpu;
                b.2 -= mem;
                continue;
            }
            let pool = c
                .pools
                .iter()
                .enumerate()
                .find(|(i, p)| p.cpu_milli >= cpu && p.memory >= mem && count[*i] < p.max)
                .map(|(i, _)| PoolId(i as u32));
            if let Some(pool) = pool {
                let p = &c.pools[pool.ix()];
                count[pool.ix()] += 1;
                bins.push((pool, p.cpu_milli - cpu, p.memory - mem));
                plan.push(pool);
            }
        }
        plan
    }

    /// Is node `n` underused (a candidate for removal)?
    pub fn underused(&self, m: &Model, n: NodeId) -> bool {
        let c = cluster(m);
        let node = &self.nodes[n.ix()];
        let pool = &c.pools[node.pool.ix()];
        let u = c.scale_down_utilization;
        node.state == NodeState::Up
            && (node.req_cpu as f64) < u * pool.cpu_milli as f64
            && (node.req_mem as f64) < u * pool.memory as f64
            && self.pools[node.pool.ix()].up.level as u32 > pool.min
    }

    /// Would every replica of node `n` fit on the other nodes?
    pub fn pods_fit_elsewhere(&self, m: &Model, n: NodeId, reqs: &[(u64, u64)]) -> bool {
        // Placed one by one on a scratch copy of the other nodes' room.
        let c = cluster(m);
        let mut room: Vec<(u64, u64)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                if i == n.ix() || node.state != NodeState::Up {
                    (0, 0)
                } else {
                    let p = &c.pools[node.pool.ix()];
                    (p.cpu_milli - node.req_cpu, p.memory - node.req_mem)
                }
            })
            .collect();
        reqs.iter().all(|&(cpu, mem)| match room.iter_mut().find(|r| r.0 >= cpu && r.1 >= mem) {
            Some(r) => {
                r.0 -= cpu;
                r.1 -= mem;
                true
            }
            None => false,
        })
    }

    /// The warm-up ended: node statistics restart.
    pub fn warmup_ends(&mut self, now: SimTime) {
        for p in &mut self.pools {
            p.up_at_warmup = p.up.area_at(now.0);
            p.existing_at_warmup = p.existing.area_at(now.0);
            p.req_cpu_at_warmup = p.req_cpu.area_at(now.0);
            p.req_mem_at_warmup = p.req_mem.area_at(now.0);
            p.up_min = p.up.level as u32;
            p.up_max = p.up.level as u32;
            p.added = 0;
            p.removed = 0;
        }
        for s in &mut self.services {
            *s = ServiceCounts::default();
        }
        self.node_failures = 0;
    }

    /// Cores of a node of `pool` (its executor).
    pub fn executor(m: &Model, pool: PoolId) -> Cpu {
        Cpu::shared(cluster(m).pools[pool.ix()].cores())
    }
}

fn cluster(m: &Model) -> &Cluster {
    m.cluster.as_ref().expect("a cluster")
}
