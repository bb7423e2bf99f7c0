//! What the platform did, as results: per service `platform` (throttling,
//! Pending, OOM kills, evictions, memory), the `cluster` block (nodes,
//! node-hours, cost, autoscaler), and the `nodes.csv` / `replicas.csv`
//! rows per interval. Reads `cluster` and the fleet; changes nothing but
//! its own marks.

use super::cluster::NodeState;
use super::ids::{ReplicaId, ServiceId};
use super::replica::{ReplicaState, Usage};
use super::world::World;
use crate::engine::SimTime;
use crate::metrics::{ClusterResult, PlatformResult, PoolResult, PoolRow, ReplicaRow, ReplicaSummary};
use std::collections::BTreeMap;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// Does the run report on the platform (a cluster, a CPU limit or memory per request)?
pub(crate) fn reported(w: &World) -> bool {
    w.m.cluster.is_some()
        || w.m.services.iter().any(|s| s.resources.cpu_limit_milli.is_some() || s.memory_per_request.is_some())
}

/// CPU counters of every replica of `service`, up to `now`.
fn usage_of_service(w: &mut World, service: ServiceId, now: SimTime) -> Usage {
    let members = w.fleet.rosters[service.ix()].members.clone();
    members.into_iter().fold(Usage::default(), |acc, r| acc + w.fleet.usage_of(r, now))
}

/// The warm-up ended: counters restart.
pub(crate) fn warmup_ends(w: &mut World, now: SimTime) {
    if !reported(w) {
        return;
    }
    w.cluster.warmup_ends(now);
    let at: Vec<Usage> = (0..w.m.services.len()).map(|s| usage_of_service(w, ServiceId(s as u32), now)).collect();
    w.cluster.usage_at_warmup = at;
    let per: Vec<u64> =
        (0..w.fleet.replicas.len()).map(|r| w.fleet.usage_of(ReplicaId(r as u32), now).cpu_ns).collect();
    w.cluster.replica_usage_at_warmup = per;
}

/// Per service `platform` results (`None` everywhere when not reported).
pub(crate) fn service_results(w: &mut World, end: SimTime, serving_ns: &[u128]) -> Vec<Option<PlatformResult>> {
    if !reported(w) {
        return vec![None; w.m.services.len()];
    }
    (0..w.m.services.len())
        .map(|s| {
            let svc = &w.m.services[s];
            let (limit, request, per) =
                (svc.resources.cpu_limit_milli, svc.resources.cpu_request_milli, svc.memory_per_request);
            if w.m.cluster.is_none() && limit.is_none() && per.is_none() {
                return None;
            }
            let u = usage_of_service(w, ServiceId(s as u32), end);
            let base = w.cluster.usage_at_warmup.get(s).copied().unwrap_or_default();
            let c = w.cluster.services[s];
            let cpu_ns = u.cpu_ns.saturating_sub(base.cpu_ns);
            let periods = u.periods.saturating_sub(base.periods);
            let throttled_periods = u.throttled_periods.saturating_sub(base.throttled_periods);
            Some(PlatformResult {
                cpu_request: request as f64 / 1000.0,
                cpu_limit: limit.map(|l| l as f64 / 1000.0),
                throttled_s: u.throttled_ns.saturating_sub(base.throttled_ns) as f64 / 1e9,
                throttled_periods,
                throttled_share: if periods > 0 { throttled_periods as f64 / periods as f64 } else { 0.0 },
                cpu_used_mean: if serving_ns[s] > 0 { cpu_ns as f64 / serving_ns[s] as f64 } else { 0.0 },
                pending: c.pending,
                pending_s_mean: if c.pending > 0 { c.pending_ns as f64 / c.pending as f64 / 1e9 } else { 0.0 },
                pending_s_max: c.pending_max_ns as f64 / 1e9,
                oom_kills: c.oom_kills,
                evictions: c.evictions,
                memory_mib_max: per.map(|_| c.mem_max as f64 / MIB),
            })
        })
        .collect()
}

/// The `cluster` block.
pub(crate) fn cluster_result(w: &mut World, end: SimTime) -> Option<ClusterResult> {
    let c = w.m.cluster.as_ref()?;
    let measured = end.0.saturating_sub(w.warmup.0.min(end.0)).max(1) as f64;
    let hours = |area: u128| area as f64 / 3.6e12;
    // CPU used per pool: each replica's use, on the node it was placed on.
    let mut used = vec![0u64; c.pools.len()];
    for r in 0..w.fleet.replicas.len() {
        let r = ReplicaId(r as u32);
        let Some(n) = w.cluster.placements.get(r.ix()).and_then(|p| p.node) else { continue };
        let pool = w.cluster.nodes[n.ix()].pool;
        let total = w.fleet.usage_of(r, end).cpu_ns;
        let base = w.cluster.replica_usage_at_warmup.get(r.ix()).copied().unwrap_or(0);
        used[pool.ix()] += total.saturating_sub(base);
    }
    let mut pools = BTreeMap::new();
    let (mut up_area, mut node_hours, mut cost, mut any_price) = (0u128, 0.0, 0.0, false);
    let (mut up_min, mut up_max, mut added, mut removed) = (0u32, 0u32, 0u64, 0u64);
    for (i, pool) in c.pools.iter().enumerate() {
        let p = &mut w.cluster.pools[i];
        let up = p.up.area_at(end.0) - p.up_at_warmup;
        let existing = p.existing.area_at(end.0) - p.existing_at_warmup;
        let cap_cpu = up as f64 * pool.cpu_milli as f64;
        let cap_mem = up as f64 * pool.memory as f64;
        let req_cpu = (p.req_cpu.area_at(end.0) - p.req_cpu_at_warmup) as f64;
        let req_mem = (p.req_mem.area_at(end.0) - p.req_mem_at_warmup) as f64;
        let pool_cost = pool.cost_per_hour.map(|h| h * hours(existing));
        if let Some(x) = pool_cost {
            cost += x;
            any_price = true;
        }
        up_area += up;
        node_hours += hours(existing);
        up_min += p.up_min;
        up_max += p.up_max;
        added += p.added;
        removed += p.removed;
        pools.insert(
            pool.name.clone(),
            PoolResult {
                nodes: ReplicaSummary { min: p.up_min, mean: up as f64 / measured, max: p.up_max },
                node_hours: hours(existing),
                cost: pool_cost,
                cpu_requested_share: if cap_cpu > 0.0 { req_cpu / cap_cpu } else { 0.0 },
                cpu_used_share: if cap_cpu > 0.0 { used[i] as f64 * 1000.0 / cap_cpu } else { 0.0 },
                memory_requested_share: if cap_mem > 0.0 { req_mem / cap_mem } else { 0.0 },
                nodes_added: p.added,
                nodes_removed: p.removed,
            },
        );
    }
    let s = &w.cluster.services;
    let pending: u64 = s.iter().map(|x| x.pending).sum();
    let pending_ns: u128 = s.iter().map(|x| x.pending_ns).sum();
    Some(ClusterResult {
        nodes: ReplicaSummary { min: up_min, mean: up_area as f64 / measured, max: up_max },
        node_hours,
        cost: any_price.then_some(cost),
        pending,
        pending_s_mean: if pending > 0 { pending_ns as f64 / pending as f64 / 1e9 } else { 0.0 },
        pending_s_max: s.iter().map(|x| x.pending_max_ns).max().unwrap_or(0) as f64 / 1e9,
        evictions: s.iter().map(|x| x.evictions).sum(),
        oom_kills: s.iter().map(|x| x.oom_kills).sum(),
        nodes_added: added,
        nodes_removed: removed,
        node_failures: w.cluster.node_failures,
        pools,
    })
}

/// Closes an interval: a `nodes.csv` row per pool, a `replicas.csv` row per
/// replica that lived in it.
pub(crate) fn interval_rows(w: &mut World, from: SimTime, now: SimTime) {
    if !reported(w) {
        return;
    }
    let t_s = from.as_secs_f64();
    let n_rep = w.fleet.replicas.len();
    if w.cluster.marks.len() < n_rep {
        w.cluster.marks.resize(n_rep, Usage::default());
    }
    let pools = w.m.cluster.as_ref().map_or(0, |c| c.pools.len());
    let mut pool_used = vec![0u64; pools];
    for i in 0..n_rep {
        let r = ReplicaId(i as u32);
        let rep = w.fleet.replica(r);
        let was_gone = w.cluster.gone_reported.get(i).copied().unwrap_or(false);
        if was_gone {
            continue;
        }
        let (service, state, down) = (rep.service, rep.state, rep.down);
        let u = w.fleet.usage_of(r, now);
        let prev = w.cluster.marks[i];
        w.cluster.marks[i] = u;
        let p = w.cluster.placements.get(i).copied().unwrap_or_default();
        let node = p.node.map(|n| w.cluster.nodes[n.ix()].pool);
        if let Some(pool) = node {
            pool_used[pool.ix()] += u.cpu_ns - prev.cpu_ns;
        }
        if state == ReplicaState::Gone {
            if w.cluster.gone_reported.len() <= i {
                w.cluster.gone_reported.resize(i + 1, false);
            }
            w.cluster.gone_reported[i] = true;
        }
        let state_word = match state {
            ReplicaState::Gone => "gone",
            _ if down => "down",
            ReplicaState::Starting if w.m.cluster.is_some() && !p.placed => "pending",
            ReplicaState::Starting => "starting",
            ReplicaState::Ready => "ready",
            ReplicaState::Draining => "draining",
        };
        if w.stats.keep_series {
            let ordinal = w.fleet.rosters[service.ix()].members.iter().position(|&x| x == r).unwrap_or(0);
            let node_ix = p.node.map(|n| w.cluster.node_index(n));
            w.obs.replica_rows.push(ReplicaRow {
                t_s,
                service: service.0,
                replica: ordinal as u32,
                node: node_ix,
                state: state_word.into(),
                cpu_s: (u.cpu_ns - prev.cpu_ns) as f64 / 1e9,
                throttled_s: (u.throttled_ns - prev.throttled_ns) as f64 / 1e9,
                memory_mib: p.mem_used as f64 / MIB,
            });
        }
    }
    let Some(c) = &w.m.cluster else { return };
    if !w.stats.keep_series {
        return;
    }
    let dt = now.since(from).0.max(1) as f64;
    let pending = w.cluster.pending.len() as u64;
    if w.cluster.pool_marks.len() < pools {
        w.cluster.pool_marks.resize(pools, (0, 0));
    }
    for (i, pool) in c.pools.iter().enumerate() {
        let p = &mut w.cluster.pools[i];
        let (req_area, existing_area) = (p.req_cpu.area_at(now.0), p.existing.area_at(now.0));
        let (prev_req, prev_existing) = w.cluster.pool_marks[i];
        w.cluster.pool_marks[i] = (req_area, existing_area);
        let (mut mem_req, mut mem_used) = (0u64, 0u64);
        for n in &w.cluster.nodes {
            if n.pool.ix() == i && n.state == NodeState::Up {
                mem_req += n.req_mem;
                mem_used += n.mem_used;
            }
        }
        let existing_h = (existing_area - prev_existing) as f64 / 3.6e12;
        w.obs.pool_rows.push(PoolRow {
            t_s,
            pool: i as u32,
            nodes: p.up.level as u64,
            provisioning: u64::from(p.provisioning),
            pending,
            cpu_requested: (req_area - prev_req) as f64 / 1000.0 / dt,
            cpu_used: pool_used[i] as f64 / dt,
            memory_requested_gib: mem_req as f64 / GIB,
            memory_used_gib: mem_used as f64 / GIB,
            cost: pool.cost_per_hour.map_or(0.0, |h| h * existing_h),
        });
    }
}

/// Node names for `replicas.csv` (`pool-ordinal`), in node order.
pub(crate) fn node_names(w: &World) -> Vec<String> {
    (0..w.cluster.nodes.len()).map(|n| w.cluster.node_name(w.m, super::cluster::NodeId(n as u32))).collect()
}
