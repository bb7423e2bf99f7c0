//! The platform's life cycles (`cluster:` and memory limits): nodes come
//! up, fail and go; replicas are placed on them or wait Pending; the
//! cluster autoscaler adds and removes nodes; replicas are OOM-killed and
//! restart after CrashLoopBackOff's back-off; nodes under memory pressure
//! evict replicas, which start again elsewhere, cold. The decisions are
//! `cluster`'s; this carries them out over the world.
//!
//! Without `cluster:` and without `memory_per_request` nothing here runs.
//!
//! **Replica start.** A replica created at time 0 that fits is ready at
//! once (as without a cluster); one created later (scale-up, replacement)
//! is placed, then ready after its start-up time (`autoscale.startup`, or
//! none without an autoscaler). A Pending replica counts as starting for
//! the HPA (a Pending pod), takes no traffic, and starts its start-up
//! time when a node takes it.
//!
//! **OOM kill.** A replica whose memory use (its memory request plus
//! `memory_per_request` × attempts admitted or queued) passes its memory
//! limit is killed: its work fails, its caches are lost, it takes no
//! traffic and restarts in place after 10 s, doubling per restart to 5 min
//! (reset after 10 min without one), plus its start-up time.
//!
//! **Eviction** (memory pressure on a node, a `node_down` or `evict` fault,
//! or the autoscaler emptying a node): the replica's work fails, it is gone,
//! and a replacement (a new replica: new streams, cold caches) is placed
//! like any new one. Under memory pressure the kubelet evicts first the
//! replicas using more than their request, then the lowest `priority`,
//! then the largest use above the request.

use super::super::cluster::{ClusterState, NodeId, NodeState};
use super::super::event::Event;
use super::super::ids::{ReplicaId, ServiceId};
use super::super::replica::ReplicaState;
use super::super::scaling::PodInfo;
use super::super::world::World;
use super::{chaos, messages, serve, strand};
use crate::engine::{SimDuration, SimTime};
use crate::model::PoolId;

/// CrashLoopBackOff: the first back-off, its cap, and how long a container
/// must run for the back-off to reset (kubelet's values).
const BACKOFF_BASE: u64 = 10_000_000_000;
const BACKOFF_CAP: u64 = 300_000_000_000;
const BACKOFF_RESET: u64 = 600_000_000_000;

/// Creates the nodes and places the first replicas (ready at once if they fit).
pub(crate) fn start(w: &mut World) {
    let Some(c) = &w.m.cluster else { return };
    for (p, pool) in c.pools.iter().enumerate() {
        for _ in 0..pool.count {
            let cpu = w.fleet.add_executor(ClusterState::executor(w.m, PoolId(p as u32)));
            w.cluster.add_node(PoolId(p as u32), cpu, NodeState::Up, SimTime::ZERO);
        }
    }
    for p in &mut w.cluster.pools {
        (p.up_min, p.up_max) = (p.up.level as u32, p.up.level as u32);
    }
    let initial: Vec<ReplicaId> = (0..w.fleet.replicas.len() as u32).map(ReplicaId).collect();
    for r in initial {
        created(w, r, SimDuration::ZERO);
    }
    for n in 0..w.cluster.nodes.len() {
        check_underuse(w, NodeId(n as u32));
    }
}

/// Requests of replica `r`.
fn requests(w: &World, r: ReplicaId) -> (u64, u64) {
    let res = &w.m.services[w.fleet.replica(r).service.ix()].resources;
    (res.cpu_request_milli, res.memory_request)
}

/// A new replica (starting) wants a node: placed now, or Pending. It is
/// ready `startup` after it is placed.
pub(crate) fn created(w: &mut World, r: ReplicaId, startup: SimDuration) {
    let now = w.now();
    let p = w.cluster.at(r);
    p.startup = startup;
    p.last_start = now;
    if w.m.cluster.is_none() {
        w.after(startup, Event::ReplicaReady { replica: r });
        return;
    }
    let (cpu, mem) = requests(w, r);
    match w.cluster.choose(w.m, cpu, mem, None) {
        Some(n) => place(w, r, n),
        None => {
            w.cluster.at(r).pending_since = Some(now);
            w.cluster.pending.push(r);
            scale_up(w);
        }
    }
}

/// Puts replica `r` on node `n` and starts its start-up.
fn place(w: &mut World, r: ReplicaId, n: NodeId) {
    let now = w.now();
    let counted = w.counted_now();
    let (cpu, mem) = requests(w, r);
    let service = w.fleet.replica(r).service;
    let exec = w.cluster.nodes[n.ix()].cpu;
    w.fleet.join(r, exec, w.m, now);
    let node = &mut w.cluster.nodes[n.ix()];
    node.req_cpu += cpu;
    node.req_mem += mem;
    node.pods.push(r);
    let pool = node.pool;
    let ps = &mut w.cluster.pools[pool.ix()];
    ps.req_cpu.add(now.0, cpu as i64);
    ps.req_mem.add(now.0, mem as i64);
    let p = w.cluster.at(r);
    p.node = Some(n);
    p.placed = true;
    let startup = p.startup;
    if let Some(since) = p.pending_since.take() {
        let waited = now.since(since).0;
        if counted {
            let s = &mut w.cluster.services[service.ix()];
            s.pending += 1;
            s.pending_ns += u128::from(waited);
            s.pending_max_ns = s.pending_max_ns.max(waited);
        }
    }
    if let Some(info) = w.scaling.pods.get_mut(r.ix()) {
        info.placed_at = Some(now);
        if let (Some(e), Some(a)) = (info.event, w.scaling.hpas[service.ix()].as_mut())
            && let Some(rec) = a.events.get_mut(e as usize)
        {
            rec.placed_at = Some(now);
        }
    }
    memory_changed(w, r);
    check_underuse(w, n);
    w.after(startup, Event::ReplicaReady { replica: r });
}

/// Places the Pending replicas that fit now, in order; asks for nodes for the rest.
fn try_pending(w: &mut World) {
    if w.cluster.pending.is_empty() {
        return;
    }
    let pending = std::mem::take(&mut w.cluster.pending);
    let mut still = Vec::new();
    for r in pending {
        if w.fleet.replica(r).state != ReplicaState::Starting {
            continue; // removed while it waited
        }
        let (cpu, mem) = requests(w, r);
        match w.cluster.choose(w.m, cpu, mem, None) {
            Some(n) => place(w, r, n),
            None => still.push(r),
        }
    }
    still.append(&mut w.cluster.pending);
    w.cluster.pending = still;
    scale_up(w);
}

/// The cluster autoscaler adds the nodes the Pending replicas need.
fn scale_up(w: &mut World) {
    if w.cluster.pending.is_empty() {
        return;
    }
    let reqs: Vec<(u64, u64)> = w.cluster.pending.iter().map(|&r| requests(w, r)).collect();
    let plan = w.cluster.scale_up_plan(w.m, &reqs);
    let now = w.now();
    let counted = w.counted_now();
    for pool in plan {
        let cpu = w.fleet.add_executor(ClusterState::executor(w.m, pool));
        let n = w.cluster.add_node(pool, cpu, NodeState::Provisioning, now);
        let ps = &mut w.cluster.pools[pool.ix()];
        if counted {
            ps.added += 1;
        }
        let provision = w.m.cluster.as_ref().expect("cluster").pools[pool.ix()].provision;
        let delay = match provision {
            Some(d) => w.m.dist(d).sample(&mut w.cluster.pools[pool.ix()].provision_rng),
            None => SimDuration::ZERO,
        };
        w.after(delay, Event::NodeReady { node: n.0 });
    }
}

pub(crate) fn on_node_ready(w: &mut World, node: u32) {
    let n = NodeId(node);
    if w.cluster.nodes[n.ix()].state != NodeState::Provisioning {
        return;
    }
    let (now, counted) = (w.now(), w.counted_now());
    w.cluster.set_state(n, NodeState::Up, now, counted);
    try_pending(w);
    check_underuse(w, n);
}

/// Starts or stops the scale-down clock of node `n`.
fn check_underuse(w: &mut World, n: NodeId) {
    if w.m.cluster.is_none() {
        return;
    }
    let now = w.now();
    let under = w.cluster.underused(w.m, n);
    let node = &mut w.cluster.nodes[n.ix()];
    match (under, node.underused_since) {
        (true, None) => {
            node.underused_since = Some(now);
            node.underuse_mark += 1;
            let mark = node.underuse_mark;
            let after = w.m.cluster.as_ref().expect("cluster").scale_down_after;
            w.q.schedule_after(after.max(SimDuration(1)), Event::NodeUnderused { node: n.0, mark });
        }
        (false, Some(_)) => node.underused_since = None,
        _ => {}
    }
}

/// A node stayed underused for `scale_down.after`: removed if its replicas fit elsewhere.
pub(crate) fn on_node_underused(w: &mut World, node: u32, mark: u32) {
    let n = NodeId(node);
    let rec = &w.cluster.nodes[n.ix()];
    if rec.underuse_mark != mark || rec.underused_since.is_none() || !w.cluster.underused(w.m, n) {
        return;
    }
    let pods: Vec<ReplicaId> = rec.pods.clone();
    let reqs: Vec<(u64, u64)> = pods.iter().map(|&r| requests(w, r)).collect();
    if !w.cluster.pods_fit_elsewhere(w.m, n, &reqs) {
        // Try again after another period.
        w.cluster.nodes[n.ix()].underused_since = None;
        check_underuse(w, n);
        return;
    }
    let (now, counted) = (w.now(), w.counted_now());
    // Cordoned first, so the replacements go elsewhere.
    w.cluster.set_state(n, NodeState::Removed, now, counted);
    if counted {
        w.cluster.pools[w.cluster.nodes[n.ix()].pool.ix()].removed += 1;
    }
    for r in pods {
        evict(w, r);
    }
}

/// A `node_down` fault: the node fails, its replicas are evicted.
pub(crate) fn node_down(w: &mut World, pool: PoolId, index: Option<u32>) -> Option<NodeId> {
    let n =
        w.cluster.nodes.iter().position(|node| {
            node.pool == pool && node.state == NodeState::Up && index.is_none_or(|i| node.ordinal == i)
        })?;
    let n = NodeId(n as u32);
    let (now, counted) = (w.now(), w.counted_now());
    w.cluster.set_state(n, NodeState::Down, now, counted);
    if counted {
        w.cluster.node_failures += 1;
    }
    let pods = w.cluster.nodes[n.ix()].pods.clone();
    for r in pods {
        evict(w, r);
    }
    Some(n)
}

/// The node of a `node_down` fault comes back, empty.
pub(crate) fn node_back(w: &mut World, n: NodeId) {
    if w.cluster.nodes[n.ix()].state != NodeState::Down {
        return;
    }
    let (now, counted) = (w.now(), w.counted_now());
    w.cluster.set_state(n, NodeState::Up, now, counted);
    try_pending(w);
    check_underuse(w, n);
}

/// An `evict` fault: the first `count` placed replicas of `service`.
pub(crate) fn evict_some(w: &mut World, service: ServiceId, count: u32) {
    let victims: Vec<ReplicaId> =
        w.fleet.alive(service).filter(|&r| w.cluster.at(r).placed).take(count as usize).collect::<Vec<_>>();
    for r in victims {
        evict(w, r);
    }
}

/// Evicts replica `r`: its work fails, it is gone, a replacement is placed
/// (unless it was draining away anyway).
pub(crate) fn evict(w: &mut World, r: ReplicaId) {
    let state = w.fleet.replica(r).state;
    if state == ReplicaState::Gone {
        return;
    }
    let (now, counted) = (w.now(), w.counted_now());
    let service = w.fleet.replica(r).service;
    if counted {
        w.cluster.services[service.ix()].evictions += 1;
    }
    w.fleet.set_down(r, true);
    w.keyed.replica_lost(r);
    chaos::fail_work(w, &[r], service);
    let serving = matches!(state, ReplicaState::Ready | ReplicaState::Draining);
    w.fleet.remove(r, now, counted, serving);
    gone(w, r);
    if state != ReplicaState::Draining {
        let startup = startup_draw(w, service);
        let new = w.fleet.add(w.m, service, ReplicaState::Starting);
        w.scaling.pods.push(PodInfo { created: now, ready_at: None, event: None, placed_at: None });
        w.fleet.count(service, now, counted, 1, 0);
        created(w, new, startup);
    }
    messages::consumers_changed(w, service);
}

/// A start-up time for a replacement: `autoscale.startup` (else none),
/// then its model's load time (`inference.model_load`).
fn startup_draw(w: &mut World, service: ServiceId) -> SimDuration {
    let load = super::generate::model_load(w, service);
    let Some(cfg) = &w.m.services[service.ix()].autoscale else { return load };
    let startup = cfg.startup;
    match w.scaling.hpas[service.ix()].as_mut() {
        Some(a) => w.m.dist(startup).sample(&mut a.startup_rng) + load,
        None => load,
    }
}

/// Replica `r` is gone (drained, cancelled while starting, evicted): it
/// leaves its node, whose room may take a Pending replica.
pub(crate) fn gone(w: &mut World, r: ReplicaId) {
    let now = w.now();
    w.cluster.pending.retain(|&x| x != r);
    let p = *w.cluster.at(r);
    if !p.placed {
        return;
    }
    let (cpu, mem) = requests(w, r);
    let n = p.node.expect("placed on a node");
    let mut fx = std::mem::take(&mut w.fx);
    let World { fleet, strands, attempts, joins, .. } = &mut *w;
    let dropped = fleet.leave(r, now, &|k| strand::live_in(strands, attempts, joins, k), &mut fx);
    serve::apply_effects(w, fx);
    for k in dropped {
        strand::drop_strand(w, k);
    }
    let node = &mut w.cluster.nodes[n.ix()];
    node.req_cpu -= cpu;
    node.req_mem -= mem;
    node.mem_used -= p.mem_used;
    node.pods.retain(|&x| x != r);
    let pool = node.pool;
    let ps = &mut w.cluster.pools[pool.ix()];
    ps.req_cpu.add(now.0, -(cpu as i64));
    ps.req_mem.add(now.0, -(mem as i64));
    let p = w.cluster.at(r);
    p.placed = false;
    p.mem_used = 0;
    try_pending(w);
    check_underuse(w, n);
}

/// Replicas the fleet removed since the last look (drained, cancelled).
pub(crate) fn reap(w: &mut World) {
    while let Some(r) = w.fleet.just_gone.pop() {
        gone(w, r);
    }
}

/// The memory of replica `r` follows its attempts: checks its limit and its node.
pub(crate) fn memory_changed(w: &mut World, r: ReplicaId) {
    let rep = w.fleet.replica(r);
    let svc = &w.m.services[rep.service.ix()];
    // Without `memory_per_request` a replica uses its request (placement sets it).
    let per = svc.memory_per_request.unwrap_or(0);
    let use_now = svc.resources.memory_request + per * u64::from(rep.in_system());
    let service = rep.service;
    let limit = svc.resources.memory_limit;
    let counted = w.counted_now();
    let p = w.cluster.at(r);
    let before = p.mem_used;
    p.mem_used = use_now;
    let (placed, node, oom_queued) = (p.placed, p.node, p.oom_queued);
    if counted {
        let s = &mut w.cluster.services[service.ix()];
        s.mem_max = s.mem_max.max(use_now);
    }
    if let Some(limit) = limit
        && use_now > limit
        && !oom_queued
    {
        w.cluster.at(r).oom_queued = true;
        w.ready.push_back(Event::OomCheck { replica: r });
    }
    if let (true, Some(n)) = (placed, node) {
        let cap = w.m.cluster.as_ref().expect("cluster").pools[w.cluster.nodes[n.ix()].pool.ix()].memory;
        let node = &mut w.cluster.nodes[n.ix()];
        node.mem_used = node.mem_used + use_now - before;
        if node.mem_used > cap && use_now > before {
            w.ready.push_back(Event::MemoryPressure { node: n.0 });
        }
    }
}

/// A replica passed its memory limit: killed, unless it went back below.
pub(crate) fn on_oom_check(w: &mut World, r: ReplicaId) {
    w.cluster.at(r).oom_queued = false;
    let rep = w.fleet.replica(r);
    let svc = &w.m.services[rep.service.ix()];
    let (Some(limit), Some(_)) = (svc.resources.memory_limit, svc.memory_per_request) else { return };
    if rep.down || rep.state == ReplicaState::Gone || w.cluster.at(r).mem_used <= limit {
        return;
    }
    let (now, counted) = (w.now(), w.counted_now());
    let service = rep.service;
    if counted {
        w.cluster.services[service.ix()].oom_kills += 1;
    }
    w.fleet.set_down(r, true);
    w.keyed.replica_lost(r);
    chaos::fail_work(w, &[r], service);
    // CrashLoopBackOff: 10 s doubling to 5 min; reset after 10 min running.
    let p = w.cluster.at(r);
    if now.since(p.last_start).0 >= BACKOFF_RESET {
        p.restarts = 0;
    }
    p.restarts += 1;
    let backoff = BACKOFF_BASE.saturating_mul(1 << (p.restarts - 1).min(10)).min(BACKOFF_CAP);
    let startup = startup_draw(w, service);
    w.q.schedule_after(SimDuration(backoff) + startup, Event::ContainerRestarts { replica: r });
    messages::consumers_changed(w, service);
}

/// An OOM-killed replica's container is back.
pub(crate) fn on_container_restarts(w: &mut World, r: ReplicaId) {
    let rep = w.fleet.replica(r);
    if rep.state == ReplicaState::Gone || !rep.down {
        return;
    }
    let now = w.now();
    w.cluster.at(r).last_start = now;
    w.fleet.set_down(r, false);
    let service = w.fleet.replica(r).service;
    messages::consumers_changed(w, service);
}

/// A node's pods use more memory than it has: the kubelet evicts until
/// they fit (those above their request first, then by priority, then by
/// use above the request).
pub(crate) fn on_memory_pressure(w: &mut World, node: u32) {
    let n = NodeId(node);
    loop {
        let rec = &w.cluster.nodes[n.ix()];
        let cap = w.m.cluster.as_ref().expect("cluster").pools[rec.pool.ix()].memory;
        if rec.mem_used <= cap || rec.state != NodeState::Up {
            return;
        }
        let victim = rec
            .pods
            .iter()
            .copied()
            .min_by_key(|&r| {
                let svc = &w.m.services[w.fleet.replica(r).service.ix()];
                let used = w.cluster.placements.get(r.ix()).map_or(0, |p| p.mem_used);
                let over = used.saturating_sub(svc.resources.memory_request);
                (over == 0, svc.priority, std::cmp::Reverse(over), r)
            })
            .expect("a node over its memory has pods");
        evict(w, victim);
    }
}
