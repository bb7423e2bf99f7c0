//! The top-level `cluster:` block (node pools, the scheduler's scoring,
//! the CFS period, the cluster autoscaler's scale-down), a service's
//! `cpus`, `resources`, `memory_per_request` and `priority`, and the
//! `node` of a `node_down` fault.
//!
//! Order of reading: [`cluster`] reads the block before the services, so
//! that [`service_resources`] can check each service's requests against
//! the nodes as it reads them (a request no node can hold would leave the
//! replica Pending forever: an error pointing at the request).
//!
//! Defaults: per pool `count` 1, `min` and `max` = `count` (no cluster
//! autoscaling), `provision` at once, no `cost_per_hour`; `cfs_period`
//! 100 ms (the kernel's), `scheduler: least_allocated`, `scale_down`
//! after 10 min below 50 % (the cluster autoscaler's
//! `scale-down-unneeded-time` and `scale-down-utilization-threshold`).
//! Per service: the CPU request is `cpus` in millicores (1 core without
//! `cpus`); a fractional `cpus` (`500m`, `1.5`) is also the CPU limit; a
//! limit written without its request is the request too (Kubernetes'
//! defaulting); no memory request (0), no memory limit,
//! `memory_per_request` 0, `priority` 0.

use super::decode::{Fields, Loc, did_you_mean, found, listing, shown};
use super::keys::{CLUSTER, NODE_POOL, RESOURCE_AMOUNTS, RESOURCES, SCALE_DOWN};
use super::topology::{Build, MAX_CPUS, check_name_text};
use super::units::{cores_text, memory_text};
use super::yaml::Node;
use crate::engine::SimDuration;
use crate::model::{Cluster, NodePool, PoolId, Resources, Scoring, Service};

/// Most cores of one node.
pub const MAX_NODE_CORES: u32 = 10_000;
/// Most nodes of one pool.
pub const MAX_POOL_NODES: u32 = 10_000;
/// The kernel's default CFS period (`cpu.cfs_period_us` = 100000).
pub const DEFAULT_CFS_PERIOD: SimDuration = SimDuration::from_millis(100);
/// The longest CFS period the kernel accepts.
pub const MAX_CFS_PERIOD: SimDuration = SimDuration::from_secs(1);
/// The cluster autoscaler's `scale-down-unneeded-time`.
pub const DEFAULT_SCALE_DOWN_AFTER: SimDuration = SimDuration::from_secs(600);
/// The cluster autoscaler's `scale-down-utilization-threshold`.
pub const DEFAULT_SCALE_DOWN_UTILIZATION: f64 = 0.5;

const SCORING: [(&str, Scoring); 2] =
    [("least_allocated", Scoring::LeastAllocated), ("most_allocated", Scoring::MostAllocated)];

/// Reads `cluster:` into `b.model.cluster`. Pools with a problem (reported)
/// are left out and the cluster marked incomplete, so that nothing later
/// complains about a missing pool or a request that fits nowhere.
pub(super) fn cluster(b: &mut Build, n: &Node, at: Loc) {
    b.cluster_written = true;
    let Some(f) = b.cx.fields(n, "cluster", at, &CLUSTER) else {
        return;
    };
    let mut complete = true;
    let mut c = Cluster {
        pools: Vec::new(),
        cfs_period: DEFAULT_CFS_PERIOD,
        scheduler: Scoring::LeastAllocated,
        scale_down_after: DEFAULT_SCALE_DOWN_AFTER,
        scale_down_utilization: DEFAULT_SCALE_DOWN_UTILIZATION,
    };
    let hint = Some("add nodes: [ { name: general, cores: 8, memory: 32Gi, count: 3 } ]");
    match b.cx.require(&f, "nodes", hint) {
        Some(list) => {
            complete &= pools(b, list, &f.at("nodes"), f.key("nodes").map_or(list.loc(), |k| k.loc()), &mut c)
        }
        None => complete = false,
    }
    if let Some(p) = f.get("cfs_period") {
        match b.cx.positive_duration(p, &f.at("cfs_period")) {
            Some(d) if d > MAX_CFS_PERIOD => {
                let msg = format!("cfs_period is at most {MAX_CFS_PERIOD} (the kernel's limit), found {d}");
                let hint = Some("the default, 100ms, is what Kubernetes nodes use".into());
                b.cx.error(p.loc(), &f.at("cfs_period"), msg, hint);
            }
            Some(d) => c.cfs_period = d,
            None => {}
        }
    }
    if let Some(s) = f.get("scheduler")
        && let Some(v) = b.cx.choice(s, &f.at("scheduler"), "scheduler scoring", &SCORING)
    {
        c.scheduler = v;
    }
    if let Some(s) = f.get("scale_down") {
        let at = f.key("scale_down").map_or(s.loc(), |k| k.loc());
        if let Some(sf) = b.cx.fields(s, &f.at("scale_down"), at, &SCALE_DOWN) {
            if let Some(a) = sf.get("after")
                && let Some(d) = b.cx.duration(a, &sf.at("after"))
            {
                c.scale_down_after = d;
            }
            if let Some(u) = sf.get("utilization")
                && let Some(v) = b.cx.probability(u, &sf.at("utilization"))
            {
                c.scale_down_utilization = v;
            }
        }
    }
    b.cluster_complete = complete;
    b.model.cluster = Some(c);
}

/// Reads `nodes:`; returns whether every pool was read.
fn pools(b: &mut Build, n: &Node, path: &str, at: Loc, c: &mut Cluster) -> bool {
    let hint = "write nodes: [ { name: general, cores: 8, memory: 32Gi } ]";
    let Some(items) = b.cx.list(n, path, "a list of node pools", hint) else {
        return false;
    };
    if items.is_empty() {
        b.cx.error(at, path, "no node pools: a cluster needs at least one", Some(hint.into()));
        return false;
    }
    let mut complete = true;
    let mut names: Vec<(String, String, Loc)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        match pool(b, item, &ipath) {
            Some((p, at)) => {
                if let Some((_, first, fat)) = names.iter().find(|(name, _, _)| *name == p.name) {
                    let msg = format!(
                        "two node pools named '{}': {first} (line {}, column {}) and {ipath}",
                        p.name, fat.line, fat.col
                    );
                    let hint = Some("give each pool a name of its own".into());
                    b.cx.error(at, &child(&ipath, "name"), msg, hint);
                    complete = false;
                    continue;
                }
                names.push((p.name.clone(), ipath, at));
                c.pools.push(p);
            }
            None => complete = false,
        }
    }
    complete
}

fn child(path: &str, key: &str) -> String {
    super::decode::child(path, key)
}

/// One pool, and where its name is written.
fn pool(b: &mut Build, n: &Node, path: &str) -> Option<(NodePool, Loc)> {
    let f = b.cx.fields(n, path, n.loc(), &NODE_POOL)?;
    let name = b.cx.require(&f, "name", Some("a name for its nodes, e.g. name: general")).and_then(|v| {
        let t = b.cx.text(v, &f.at("name"), "a pool name")?;
        let errors = b.cx.diags.len();
        check_name_text(b, t, v.loc(), &f.at("name"), "node pool");
        (b.cx.diags.len() == errors).then(|| (t.to_string(), v.loc()))
    });
    let cores = b.cx.req(&f, "cores", |cx, v, p| cx.u32(v, p, 1, MAX_NODE_CORES));
    let memory = b.cx.req(&f, "memory", |cx, v, p| cx.memory(v, p));
    let mut count_ok = true;
    let count = match f.get("count") {
        Some(v) => b.cx.u32(v, &f.at("count"), 0, MAX_POOL_NODES),
        None => Some(1),
    };
    let min = f.get("min").map(|v| (v, b.cx.u32(v, &f.at("min"), 0, MAX_POOL_NODES)));
    let max = f.get("max").map(|v| (v, b.cx.u32(v, &f.at("max"), 0, MAX_POOL_NODES)));
    let provision = f.get("provision").map(|v| b.cx.dist(v, &f.at("provision")));
    let cost = f.get("cost_per_hour").map(|v| b.cx.factor(v, &f.at("cost_per_hour")));
    let count = count?;
    // `min ≤ count ≤ max`; an unreadable bound makes the pool unusable.
    let mut bound = |v: Option<(&Node, Option<u32>)>, key: &str, wrong: bool, msg: String, hint: &str| match v {
        Some((n, Some(m))) => {
            if wrong {
                b.cx.error(n.loc(), &f.at(key), msg, Some(hint.into()));
                count_ok = false;
            }
            m
        }
        Some((_, None)) => {
            count_ok = false;
            count
        }
        None => count,
    };
    let min_v = bound(
        min,
        "min",
        min.is_some_and(|(_, m)| m.is_some_and(|m| m > count)),
        format!("min ({}) is above count ({count})", min.and_then(|x| x.1).unwrap_or(0)),
        "count is the nodes at the start, between min and max: raise count or lower min",
    );
    let max_v = bound(
        max,
        "max",
        max.is_some_and(|(_, m)| m.is_some_and(|m| m < count)),
        format!("max ({}) is below count ({count})", max.and_then(|x| x.1).unwrap_or(0)),
        "count is the nodes at the start, between min and max: raise max or lower count",
    );
    let provision = match provision {
        Some(d) => Some(d?),
        None => None,
    };
    let cost_per_hour = match cost {
        Some(c) => Some(c?),
        None => None,
    };
    let (name, at) = name?;
    if !count_ok {
        return None;
    }
    let pool = NodePool {
        name,
        cpu_milli: u64::from(cores?) * 1000,
        memory: memory?,
        count,
        min: min_v,
        max: max_v,
        provision,
        cost_per_hour,
    };
    Some((pool, at))
}

/// An amount as written: its value, where, its path and its text.
#[derive(Clone)]
struct Amount {
    value: u64,
    at: Loc,
    path: String,
    text: String,
}

impl Amount {
    fn of(value: u64, n: &Node, path: String) -> Amount {
        Amount { value, at: n.loc(), path, text: n.as_str().unwrap_or("").trim().to_string() }
    }
}

/// `cpu` and `memory` of `requests` or `limits`.
#[derive(Default)]
struct Amounts {
    cpu: Option<Amount>,
    memory: Option<Amount>,
}

/// Reads a service's `cpus` (threads), `resources`, `memory_per_request`
/// and `priority` into `s`, and checks its requests against the nodes of
/// `cluster:` (read before the services).
pub(super) fn service_resources(b: &mut Build, f: &Fields, at: Loc, s: &mut Service) {
    // What `cpus` implies: the request, and the limit when it is a fraction.
    let mut cpus: Option<Amount> = None;
    let mut read_ok = true;
    if let Some(n) = f.get("cpus") {
        match cpus_milli(b, n, &f.at("cpus")) {
            Some(m) => {
                s.cpus = m.div_ceil(1000) as u32;
                cpus = Some(Amount::of(m, n, f.at("cpus")));
            }
            None => {
                s.cpus = 1;
                read_ok = false;
            }
        }
    }
    let (mut requests, mut limits) = (Amounts::default(), Amounts::default());
    if let Some(n) = f.get("resources") {
        let rat = f.key("resources").map_or(n.loc(), |k| k.loc());
        match b.cx.fields(n, &f.at("resources"), rat, &RESOURCES) {
            Some(rf) => {
                read_ok &= amounts(b, &rf, "requests", &mut requests);
                read_ok &= amounts(b, &rf, "limits", &mut limits);
            }
            None => read_ok = false,
        }
    }
    let implied_limit = cpus.as_ref().filter(|c| !c.value.is_multiple_of(1000)).cloned();
    let cpu_request = requests.cpu.clone().or_else(|| limits.cpu.clone()).or_else(|| cpus.clone());
    let cpu_limit = limits.cpu.clone().or(implied_limit);
    let memory_request = requests.memory.clone().or_else(|| limits.memory.clone());
    s.resources = Resources {
        cpu_request_milli: cpu_request.as_ref().map_or(1000, |a| a.value),
        memory_request: memory_request.as_ref().map_or(0, |a| a.value),
        cpu_limit_milli: cpu_limit.as_ref().map(|a| a.value),
        memory_limit: limits.memory.as_ref().map(|a| a.value),
    };
    if let (Some(req), Some(lim)) = (&cpu_request, &cpu_limit) {
        read_ok &= limit_at_least_request(b, req, lim, "cpu");
    }
    if let (Some(req), Some(lim)) = (&memory_request, &limits.memory) {
        read_ok &= limit_at_least_request(b, req, lim, "memory");
    }
    if let Some(n) = f.get("memory_per_request")
        && let Some(m) = b.cx.memory(n, &f.at("memory_per_request"))
    {
        s.memory_per_request = Some(m);
    }
    if let Some(n) = f.get("priority")
        && let Some(p) = priority(b, n, &f.at("priority"))
    {
        s.priority = p;
    }
    if read_ok && b.cluster_complete {
        let fallback = || Amount { value: 0, at, path: f.path.clone(), text: String::new() };
        let cpu = cpu_request.unwrap_or_else(fallback);
        let memory = memory_request.unwrap_or_else(fallback);
        check_fit(b, s.resources, &cpu, &memory);
    }
}

/// `cpus`: a whole number of cores as before, or a CPU amount (`500m`,
/// `1.5`); millicores.
fn cpus_milli(b: &mut Build, n: &Node, path: &str) -> Option<u64> {
    let t = n.as_str().map(str::trim).unwrap_or("");
    let fraction = !t.starts_with('-')
        && t.replace('_', "").parse::<u64>().is_err()
        && (t.ends_with('m') || t.parse::<f64>().is_ok_and(f64::is_finite));
    if !fraction {
        return b.cx.u32(n, path, 1, MAX_CPUS).map(|c| u64::from(c) * 1000);
    }
    let m = b.cx.cpu_milli(n, path)?;
    if m > u64::from(MAX_CPUS) * 1000 {
        b.cx.error(n.loc(), path, format!("must be at most {MAX_CPUS} cores, found {t}"), None);
        return None;
    }
    Some(m)
}

/// `requests` or `limits`; returns whether it was read without problems.
fn amounts(b: &mut Build, rf: &Fields, key: &str, out: &mut Amounts) -> bool {
    let Some(n) = rf.get(key) else { return true };
    let Some(af) = b.cx.fields(n, &rf.at(key), rf.key(key).map_or(n.loc(), |k| k.loc()), &RESOURCE_AMOUNTS) else {
        return false;
    };
    let mut ok = true;
    if let Some(c) = af.get("cpu") {
        match b.cx.cpu_milli(c, &af.at("cpu")) {
            Some(m) => out.cpu = Some(Amount::of(m, c, af.at("cpu"))),
            None => ok = false,
        }
    }
    if let Some(m) = af.get("memory") {
        match b.cx.memory(m, &af.at("memory")) {
            Some(v) => out.memory = Some(Amount::of(v, m, af.at("memory"))),
            None => ok = false,
        }
    }
    ok
}

/// Short name of where an amount comes from, for messages: `cpus`,
/// `requests.cpu`, `limits.memory`.
fn short(a: &Amount) -> String {
    let mut parts = a.path.rsplit('.');
    let last = parts.next().unwrap_or("");
    match parts.next() {
        Some(p @ ("requests" | "limits")) => format!("{p}.{last}"),
        _ => last.to_string(),
    }
}

/// A limit below its request is an error at the limit.
fn limit_at_least_request(b: &mut Build, req: &Amount, lim: &Amount, what: &str) -> bool {
    if lim.value >= req.value {
        return true;
    }
    let (l, r) = (short(lim), short(req));
    let msg = format!("{l} {} is below {r} {}", lim.text, req.text);
    let hint = if l == "cpus" {
        format!("a fractional cpus is also the CPU limit: write limits.cpu at least {}, or lower {r}", req.text)
    } else {
        format!(
            "a limit is at least its request: raise {l} or lower {r} (a {what} limit written alone is also the request)"
        )
    };
    b.cx.error(lim.at, &lim.path, msg, Some(hint));
    false
}

/// A PriorityClass value: a whole number, negative allowed.
fn priority(b: &mut Build, n: &Node, path: &str) -> Option<i32> {
    let t = b.cx.text(n, path, "a whole number")?;
    let clean = t.trim().trim_start_matches('+').replace('_', "");
    match clean.parse::<i64>() {
        Ok(v) if i32::try_from(v).is_ok() => Some(v as i32),
        Ok(_) => {
            let msg = format!("must be between {} and {}, found {t}", i32::MIN, i32::MAX);
            b.cx.error(n.loc(), path, msg, None);
            None
        }
        Err(_) => {
            b.cx.error(n.loc(), path, format!("expected a whole number, found {}", found(n)), None);
            None
        }
    }
}

/// A replica must fit on some pool's node (one that may exist: `max` ≥ 1),
/// else it would stay Pending forever.
fn check_fit(b: &mut Build, r: Resources, cpu: &Amount, memory: &Amount) {
    let Some(c) = &b.model.cluster else { return };
    let pools: Vec<&NodePool> = c.pools.iter().filter(|p| p.max > 0).collect();
    if pools.is_empty() || pools.iter().any(|p| p.cpu_milli >= r.cpu_request_milli && p.memory >= r.memory_request) {
        return;
    }
    let hint = Some("add a pool with larger nodes under cluster.nodes, or lower the request".to_string());
    let by_cpu = pools.iter().max_by_key(|p| p.cpu_milli).copied();
    let by_memory = pools.iter().max_by_key(|p| p.memory).copied();
    let (Some(by_cpu), Some(by_memory)) = (by_cpu, by_memory) else { return };
    let (at, path, msg) = if by_cpu.cpu_milli < r.cpu_request_milli {
        let msg = format!(
            "{} requests {} but the largest node (pool {}) has {}: it would stay Pending forever",
            short(cpu),
            cores_text(r.cpu_request_milli),
            by_cpu.name,
            by_cpu.cpu_milli / 1000
        );
        (cpu.at, cpu.path.clone(), msg)
    } else if by_memory.memory < r.memory_request {
        let msg = format!(
            "{} requests {} of memory but the largest node (pool {}) has {}: it would stay Pending forever",
            short(memory),
            memory_text(r.memory_request),
            by_memory.name,
            memory_text(by_memory.memory)
        );
        (memory.at, memory.path.clone(), msg)
    } else {
        let each: Vec<String> = pools
            .iter()
            .take(20)
            .map(|p| format!("{} has {} and {}", p.name, cores_text(p.cpu_milli), memory_text(p.memory)))
            .collect();
        let msg = format!(
            "requests {} and {} of memory, but no node has both ({}): it would stay Pending forever",
            cores_text(r.cpu_request_milli),
            memory_text(r.memory_request),
            each.join("; ")
        );
        (cpu.at, cpu.path.clone(), msg)
    };
    b.cx.error(at, &path, msg, hint);
}

/// Whether a fault of `kind` may be read: `evict` and `node_down` act on
/// the nodes of `cluster:`, so without it they are an error at `kind`.
pub(super) fn fault_needs_cluster(b: &mut Build, f: &Fields, kind: &str) -> bool {
    if b.cluster_written {
        return true;
    }
    let at = f.get("kind").map_or(f.at, Node::loc);
    let msg = format!("a {kind} fault needs nodes: this topology has no 'cluster:'");
    let hint = Some("add cluster: { nodes: [ { name: general, cores: 8, memory: 32Gi, count: 3 } ] }".into());
    b.cx.error(at, &f.at("kind"), msg, hint);
    false
}

/// The `node` of a `node_down` fault: a pool's name (its first node that is
/// up: `index` `None`) or `POOL-N` (`N` below the pool's `max`). A pool
/// whose name looks like `POOL-N` is taken by its name.
pub(super) fn node(b: &mut Build, n: &Node, path: &str) -> Option<(PoolId, Option<u32>)> {
    let t = b.cx.text(n, path, "a node: a pool's name or POOL-N")?;
    let c = b.model.cluster.as_ref()?;
    let find = |name: &str| c.pools.iter().position(|p| p.name == name).map(|i| PoolId(i as u32));
    if let Some(p) = find(t) {
        return Some((p, None));
    }
    if let Some((pool, ix)) = t.rsplit_once('-')
        && !ix.is_empty()
        && ix.bytes().all(|d| d.is_ascii_digit())
        && let Some(p) = find(pool)
    {
        let max = c.pools[p.ix()].max;
        match ix.parse::<u32>() {
            Ok(i) if i < max => return Some((p, Some(i))),
            _ => {
                let msg = if max == 0 {
                    format!("no node '{t}': pool {pool} has max 0, so it never has a node")
                } else {
                    format!("no node '{t}': pool {pool} has at most {max} nodes, {pool}-0 to {pool}-{}", max - 1)
                };
                let hint = Some(format!("nodes are numbered from 0; write {pool} for its first node that is up"));
                b.cx.error(n.loc(), path, msg, hint);
                return None;
            }
        }
    }
    if !b.cluster_complete {
        return None; // the pool may be the one with a problem, reported there
    }
    let names = || c.pools.iter().map(|p| p.name.as_str());
    let guess = t.rsplit_once('-').filter(|(_, i)| i.bytes().all(|d| d.is_ascii_digit())).map_or(t, |(p, _)| p);
    let msg = format!("no node pool '{}'{}", shown(guess), did_you_mean(guess, names()));
    let hint = format!(
        "write a pool's name (its first node that is up) or POOL-N (its node N, from 0); pools: {}",
        listing(names())
    );
    b.cx.error(n.loc(), path, msg, Some(hint));
    None
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
