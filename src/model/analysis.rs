//! Static analysis of a validated model, without simulating: the call graph,
//! call depth, expected visits per request, reachability, the
//! worst-case retry amplification of every workload, and the estimated
//! CPU load of every service ([`load`]). `stormcast check`
//! prints it; the graphs draw it. Nothing here draws random numbers or
//! looks at simulated results.
//!
//! # Worst-case attempts (retry amplification)
//!
//! "In a system with many layers, retrying at all layers multiplies the
//! number of retries" (resilience.md §1.5): three layers making 4 attempts
//! each against a failing bottom send it 4³ = 64 attempts per request.
//! [`Analysis::worst_attempts`] gives, per workload and service, the most
//! attempts one request can cause there, by these rules:
//! - one call site makes at most `attempts × hedge.max` attempts at its
//!   callee ([`attempts_per_call`]): `retry.attempts` (1 without a retry,
//!   or when `on` lists only `short_circuited`, which never reaches the
//!   callee) times `hedge.max` (1 without hedging). The product is a bound
//!   for a call with both: every retry may be hedged;
//! - every attempt runs the callee's endpoint once, so a call site adds its
//!   attempts at the callee's service plus that many times what one visit
//!   of the callee causes downstream;
//! - within an endpoint, calls add up along a sequence and across the
//!   branches of a `parallel` (all of them run), `repeat` multiplies by its
//!   count, a `branch` and a `cache` take, per service, the alternative
//!   (hit or miss path) that causes the most, a call with `probability > 0`
//!   counts as made, and `fail` steps are ignored (the worst case goes on);
//! - `on_failure: continue` and circuit breakers are ignored: a callee can
//!   fail (or be slow) for reasons of its own, and a breaker only helps
//!   once it has opened.
//!
//! [`Analysis::capped_attempts`] is the same sum with each call site's
//! factor replaced by its long-run ceiling under a retry budget or throttle
//! ([`capped_per_call`]); it is an approximate steady-state figure, not a
//! bound on bursts (budgets start with a reserve, throttles with a full
//! bucket).

use super::{Budget, Edge, FailureKind, Instr, Model, Throttle};

pub mod load;
pub use load::{Load, Offered, ServiceLoad, estimate_load};

/// One call site seen from the graph: caller endpoint → callee endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphEdge {
    pub caller: u32,
    pub callee: u32,
    pub edge: u32,
    /// Expected calls per visit of the caller (repeat counts, branch
    /// weights, cache misses, `probability` and `fail` steps included).
    pub calls_per_visit: f64,
    /// Most calls per visit of the caller ([`instruction_max`]; 0 when the
    /// call has probability 0).
    pub max_calls_per_visit: f64,
    /// Most attempts one call makes at the callee ([`attempts_per_call`]).
    pub attempts_per_call: f64,
    /// Long-run attempts per call under its budget or throttle
    /// ([`capped_per_call`]); equal to `attempts_per_call` without either.
    pub capped_per_call: f64,
    /// Inside a `parallel` block.
    pub parallel: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// Every call site, grouped by caller endpoint in endpoint order, each
    /// caller's in code order ([`Analysis::calls_from`]).
    pub edges: Vec<GraphEdge>,
    /// `edges[out[ep]..out[ep + 1]]` are the call sites of endpoint `ep`.
    out: Vec<usize>,
    /// Per workload: expected visits of each endpoint per request.
    pub visits: Vec<Vec<f64>>,
    /// Per workload: longest chain of calls from its target (0 = no calls).
    pub max_depth: Vec<u32>,
    /// Services no workload reaches.
    pub unreachable: Vec<u32>,
    /// Endpoints in an order where every caller comes before its callees.
    pub topo_order: Vec<u32>,
    /// Per workload, per service: the most calls one request can cause
    /// there with no retries or hedges (the worst case of branches, caches
    /// and repeats; the request itself counts at the target's service).
    pub worst_calls: Vec<Vec<f64>>,
    /// Per workload, per service: the most attempts one request can cause
    /// there, retries and hedges included (see the module docs).
    pub worst_attempts: Vec<Vec<f64>>,
    /// Per workload, per service: `worst_attempts` with each call site's
    /// retries and hedges limited to their long-run budget or throttle cap.
    pub capped_attempts: Vec<Vec<f64>>,
    /// Per workload, per service: the attempt factors above 1, outermost
    /// first, along the single call path that causes the most attempts at
    /// the service (e.g. `[4, 4, 4]`); empty when no call on it retries or
    /// hedges, or the service is not reached.
    pub worst_path: Vec<Vec<Vec<f64>>>,
    /// How busy each service would be at the offered rates ([`load`]).
    pub load: Load,
}

impl Analysis {
    /// The call sites of endpoint `ep`, in code order.
    pub fn calls_from(&self, ep: u32) -> &[GraphEdge] {
        &self.edges[self.out[ep as usize]..self.out[ep as usize + 1]]
    }
}

/// Expected executions of every instruction of `code` per visit (entry = 1).
pub fn instruction_mass(m: &Model, code: &[Instr]) -> Vec<f64> {
    let mut mass = vec![0.0; code.len() + 1];
    mass[0] = 1.0;
    for pc in 0..code.len() {
        let x = mass[pc];
        let next = pc + 1;
        match code[pc] {
            Instr::Work(_)
            | Instr::Delay(_)
            | Instr::Call(_)
            | Instr::Publish(_)
            | Instr::Generate(_)
            | Instr::CacheFill { .. }
            | Instr::CacheInvalidate { .. } => mass[next] += x,
            Instr::Fail { p } => mass[next] += x * (1.0 - p),
            Instr::Jump(to) => mass[to as usize] += x,
            Instr::Branch(b) => {
                let t = &m.branches[b.ix()];
                let mut prev = 0.0;
                for (c, &start) in t.cumulative.iter().zip(&t.starts) {
                    mass[start as usize] += x * (c - prev);
                    prev = *c;
                }
            }
            Instr::CacheLookup { site, miss, .. } => {
                let h = m.caches[m.cache_sites[site.ix()].cache.ix()].hit_ratio;
                mass[next] += x * h;
                mass[miss as usize] += x * (1.0 - h);
            }
            Instr::Cache { cache, miss } => {
                let h = m.caches[cache.ix()].hit_ratio;
                mass[next] += x * h;
                mass[miss as usize] += x * (1.0 - h);
            }
            Instr::Fork(f) => {
                let fk = &m.forks[f.ix()];
                for &s in &fk.starts {
                    mass[s as usize] += x;
                }
                mass[fk.join_pc as usize] += x;
            }
            Instr::EndBranch | Instr::Respond => {}
            Instr::RepeatInit { count, exit, .. } => {
                if count == 0 {
                    mass[exit as usize] += x;
                } else {
                    mass[next] += x * count as f64;
                }
            }
            Instr::RepeatNext { body, .. } => {
                if let Some(count) = loop_count(code, body) {
                    mass[next] += x / count as f64;
                }
            }
        }
    }
    mass
}

/// The count of the loop whose body starts at `body`: its `RepeatInit` is
/// the instruction before. (Slots are reused by loops inside `parallel`
/// branches, so a slot does not identify the loop.) `None` for a zero count.
fn loop_count(code: &[Instr], body: u32) -> Option<u32> {
    match code.get((body as usize).checked_sub(1)?) {
        Some(Instr::RepeatInit { count, .. }) if *count > 0 => Some(*count),
        _ => None,
    }
}

/// The most executions of every instruction of `code` in one visit (entry
/// = 1): the worst case of [`instruction_mass`]. Every alternative of a
/// `branch` and both paths of a `cache` may be taken, `fail` steps do not
/// stop the flow, `repeat` multiplies by its count and every `parallel`
/// branch runs. Where alternatives meet again the maximum is kept.
pub fn instruction_max(m: &Model, code: &[Instr]) -> Vec<f64> {
    let mut most = vec![0.0f64; code.len() + 1];
    most[0] = 1.0;
    let reach = |most: &mut Vec<f64>, to: usize, x: f64| {
        if let Some(y) = most.get_mut(to) {
            *y = y.max(x);
        }
    };
    for pc in 0..code.len() {
        let x = most[pc];
        let next = pc + 1;
        match code[pc] {
            Instr::Work(_)
            | Instr::Delay(_)
            | Instr::Call(_)
            | Instr::Publish(_)
            | Instr::Generate(_)
            | Instr::Fail { .. }
            | Instr::CacheFill { .. }
            | Instr::CacheInvalidate { .. } => reach(&mut most, next, x),
            Instr::Jump(to) => reach(&mut most, to as usize, x),
            Instr::Branch(b) => {
                for &start in &m.branches[b.ix()].starts {
                    reach(&mut most, start as usize, x);
                }
            }
            Instr::Cache { miss, .. } | Instr::CacheLookup { miss, .. } => {
                reach(&mut most, next, x);
                reach(&mut most, miss as usize, x);
            }
            Instr::Fork(f) => {
                let fk = &m.forks[f.ix()];
                for &s in &fk.starts {
                    reach(&mut most, s as usize, x);
                }
                reach(&mut most, fk.join_pc as usize, x);
            }
            Instr::EndBranch | Instr::Respond => {}
            Instr::RepeatInit { count, exit, .. } => {
                if count == 0 {
                    reach(&mut most, exit as usize, x);
                } else {
                    reach(&mut most, next, x * count as f64);
                }
            }
            Instr::RepeatNext { body, .. } => {
                if let Some(count) = loop_count(code, body) {
                    reach(&mut most, next, x / count as f64);
                }
            }
        }
    }
    most
}

/// Whether a retry policy retries failures that reached the callee.
fn retries_reach_callee(e: &Edge) -> Option<u32> {
    let r = e.retry?;
    let reaching = [FailureKind::Timeout, FailureKind::Error, FailureKind::Rejected];
    reaching.iter().any(|&k| r.on.contains(k)).then_some(r.attempts.max(1))
}

/// The most attempts one call of `e` makes at its callee: `retry.attempts`
/// (1 without retries, or when `on` lists only `short_circuited`) times
/// `hedge.max` (1 without hedging).
pub fn attempts_per_call(e: &Edge) -> f64 {
    let retry = retries_reach_callee(e).unwrap_or(1);
    let hedge = e.hedge.map_or(1, |h| h.max.max(1));
    retry as f64 * hedge as f64
}

/// The long-run attempts per call of `e` under its retry budget and
/// throttle: [`attempts_per_call`] with the retry factor `a` and the hedge
/// factor `h` each capped, then multiplied. The caps, per call:
/// - Finagle budget of ratio `r`: retries ≤ `r` × requests over the window,
///   so `a ≤ 1 + r` (the reserve of `min_per_s × ttl` retries is a fixed
///   number per window, ignored in the long run at load);
/// - Envoy budget of ratio `r`: retries in flight ≤ `r` × requests in flight,
///   retries included, so retries ≤ `r/(1 − r)` per request and
///   `a ≤ 1/(1 − r)` (no cap for `r ≥ 1`; `min_concurrent` ignored as above);
/// - gRPC throttle of token ratio `r`: retries and hedges are sent only
///   while the failure rate stays below `r/(1 + r)`, where a call makes
///   fewer than `1/(1 − r/(1 + r)) = 1 + r` attempts, so `a ≤ 1 + r` and
///   `h ≤ 1 + r`. Under a sustained failure above that rate (a failing
///   bottom) the throttle stops them altogether: the factor is then 1;
/// - AWS retry quota: under sustained failure retries are paid for by
///   first-try successes (`success_reward` tokens each) at the cheapest
///   cost among the retried failure kinds, so `a ≤ 1 + reward/cost` (no
///   cap for a zero cost); it caps hedges the same way.
///
/// A budget limits retries only; a throttle limits both. With both on a
/// call the smaller cap wins; a cap never raises the factor.
pub fn capped_per_call(m: &Model, e: &Edge) -> f64 {
    let mut retry = retries_reach_callee(e).unwrap_or(1) as f64;
    let mut hedge = e.hedge.map_or(1, |h| h.max.max(1)) as f64;
    if let Some(b) = e.retry.and_then(|r| r.budget).and_then(|b| m.budgets.get(b.ix())) {
        let cap = match b.cfg {
            Budget::Finagle { ratio, .. } => 1.0 + ratio,
            Budget::Envoy { ratio, .. } if ratio < 1.0 => 1.0 / (1.0 - ratio),
            Budget::Envoy { .. } => f64::INFINITY,
        };
        retry = retry.min(cap);
    }
    if let Some(t) = e.throttle.and_then(|t| m.throttles.get(t.ix())) {
        let cap = match t.cfg {
            Throttle::Grpc { token_ratio_milli, .. } => 1.0 + token_ratio_milli as f64 / 1000.0,
            Throttle::Aws(q) => {
                let on = e.retry.map(|r| r.on);
                let costs = [
                    (FailureKind::Timeout, q.timeout_cost),
                    (FailureKind::Error, q.error_cost),
                    (FailureKind::Rejected, q.rejected_cost),
                ];
                let cost = costs.iter().filter(|(k, _)| on.is_none_or(|on| on.contains(*k))).map(|c| c.1).min();
                match cost {
                    Some(c) if c > 0 => 1.0 + q.success_reward as f64 / c as f64,
                    _ => f64::INFINITY,
                }
            }
        };
        retry = retry.min(cap);
        hedge = hedge.min(cap);
    }
    retry * hedge
}

/// Worst-case totals of one endpoint's code, structurally: `leaf` gives
/// what one call site contributes (a vector of `dim` numbers), sequences
/// and `parallel` branches add, `repeat` multiplies, `branch` and `cache`
/// keep the element-wise maximum of their alternatives.
struct Worst<'a, F> {
    m: &'a Model,
    code: &'a [Instr],
    dim: usize,
    leaf: F,
}

impl<F: Fn(super::EdgeId) -> Vec<f64>> Worst<'_, F> {
    /// Totals of the block starting at `pc`, up to `stop` or the block's
    /// end marker (`EndBranch`, `Jump`, `RepeatNext`, `Respond`); also the
    /// pc where it stopped.
    fn block(&self, mut pc: usize, stop: usize) -> (Vec<f64>, usize) {
        let mut acc = vec![0.0; self.dim];
        let add = |acc: &mut Vec<f64>, v: &[f64], k: f64| acc.iter_mut().zip(v).for_each(|(a, b)| *a += k * b);
        let stop = stop.min(self.code.len());
        while pc < stop {
            let next = match self.code[pc] {
                Instr::Work(_)
                | Instr::Delay(_)
                | Instr::Publish(_)
                | Instr::Generate(_)
                | Instr::Fail { .. }
                | Instr::CacheFill { .. }
                | Instr::CacheInvalidate { .. } => pc + 1,
                Instr::Call(e) => {
                    add(&mut acc, &(self.leaf)(e), 1.0);
                    pc + 1
                }
                Instr::Fork(f) => {
                    let fk = &self.m.forks[f.ix()];
                    for &s in &fk.starts {
                        add(&mut acc, &self.block(s as usize, fk.join_pc as usize).0, 1.0);
                    }
                    fk.join_pc as usize
                }
                Instr::Branch(b) => {
                    let mut most = vec![0.0f64; self.dim];
                    let mut end = pc + 1;
                    for &s in &self.m.branches[b.ix()].starts {
                        let (v, at) = self.block(s as usize, stop);
                        most.iter_mut().zip(&v).for_each(|(a, b)| *a = a.max(*b));
                        end = self.jump_target(at).unwrap_or(at).max(end);
                    }
                    add(&mut acc, &most, 1.0);
                    end
                }
                Instr::Cache { miss, .. } | Instr::CacheLookup { miss, .. } => {
                    let (mut most, at) = self.block(pc + 1, miss as usize);
                    let end = self.jump_target(at).unwrap_or(miss as usize);
                    let (v, _) = self.block(miss as usize, end);
                    most.iter_mut().zip(&v).for_each(|(a, b)| *a = a.max(*b));
                    add(&mut acc, &most, 1.0);
                    end
                }
                Instr::RepeatInit { count, exit, .. } => {
                    if count > 0 {
                        add(&mut acc, &self.block(pc + 1, exit as usize).0, count as f64);
                    }
                    exit as usize
                }
                Instr::EndBranch | Instr::Jump(_) | Instr::RepeatNext { .. } | Instr::Respond => return (acc, pc),
            };
            if next <= pc {
                break; // not compiled code; never loop
            }
            pc = next;
        }
        (acc, pc)
    }

    fn jump_target(&self, pc: usize) -> Option<usize> {
        match self.code.get(pc) {
            Some(Instr::Jump(to)) => Some(*to as usize),
            _ => None,
        }
    }
}

/// Per instruction: whether it lies inside a `parallel` block.
fn inside_fork(m: &Model, code: &[Instr]) -> Vec<bool> {
    let mut inside = vec![false; code.len()];
    for (i, ins) in code.iter().enumerate() {
        if let Instr::Fork(f) = ins {
            let join = (m.forks[f.ix()].join_pc as usize).min(code.len());
            inside[i + 1..join.max(i + 1)].iter_mut().for_each(|x| *x = true);
        }
    }
    inside
}

/// The whole analysis. Every part is a pass over the endpoints in
/// topological order with one look at each call site (memoized over the
/// DAG of endpoints, never an enumeration of paths, which can be
/// exponentially many): O(workloads × call sites + endpoints × services ×
/// code length).
pub fn analyze(m: &Model) -> Analysis {
    let mut edges = Vec::new();
    let mut out = Vec::with_capacity(m.endpoints.len() + 1);
    for (ep_ix, ep) in m.endpoints.iter().enumerate() {
        out.push(edges.len());
        let mass = instruction_mass(m, &ep.code);
        let most = instruction_max(m, &ep.code);
        let in_fork = inside_fork(m, &ep.code);
        for (pc, ins) in ep.code.iter().enumerate() {
            if let Instr::Call(e) = ins {
                let edge = &m.edges[e.ix()];
                edges.push(GraphEdge {
                    caller: ep_ix as u32,
                    callee: edge.callee.0,
                    edge: e.0,
                    calls_per_visit: mass[pc] * edge.probability,
                    max_calls_per_visit: if edge.probability > 0.0 { most[pc] } else { 0.0 },
                    attempts_per_call: attempts_per_call(edge),
                    capped_per_call: capped_per_call(m, edge),
                    parallel: in_fork[pc],
                });
            }
        }
    }
    out.push(edges.len());
    let calls_from = |ep: usize| &edges[out[ep]..out[ep + 1]];
    let topo_order = topo(m.endpoints.len(), calls_from);
    let mut visits = Vec::new();
    let mut max_depth = Vec::new();
    let mut reached = vec![false; m.services.len()];
    let mut reached_ep = vec![false; m.endpoints.len()];
    for w in &m.workloads {
        let mut v = vec![0.0; m.endpoints.len()];
        let mut depth = vec![None::<u32>; m.endpoints.len()];
        v[w.target.ix()] = 1.0;
        depth[w.target.ix()] = Some(0);
        for &ep in &topo_order {
            if let Some(d) = depth[ep as usize] {
                reached[m.endpoints[ep as usize].service.ix()] = true;
                reached_ep[ep as usize] = true;
                for e in calls_from(ep as usize) {
                    v[e.callee as usize] += v[ep as usize] * e.calls_per_visit;
                    let c = &mut depth[e.callee as usize];
                    *c = Some(c.map_or(d + 1, |x| x.max(d + 1)));
                }
            }
        }
        max_depth.push(depth.iter().flatten().copied().max().unwrap_or(0));
        messages(m, &topo_order, calls_from, &mut v, &mut reached);
        visits.push(v);
    }
    reach_through_queues(m, calls_from, reached_ep, &mut reached);
    let unreachable = (0..m.services.len() as u32).filter(|&s| !reached[s as usize]).collect();
    let amp = amplification(m, calls_from, &topo_order);
    let load = estimate_load(m, &visits);
    Analysis {
        edges,
        out,
        visits,
        max_depth,
        unreachable,
        topo_order,
        worst_calls: amp.worst_calls,
        worst_attempts: amp.worst_attempts,
        capped_attempts: amp.capped_attempts,
        worst_path: amp.worst_path,
        load,
    }
}

/// Adds to `v` (visits per request) what messages cause: each `publish`
/// step visits every consumer group's endpoint once per message, and what
/// that endpoint calls (or publishes) in turn, for a few generations of
/// messages. Consumers' services count as reached.
fn messages<'e>(
    m: &Model,
    topo_order: &[u32],
    calls_from: impl Fn(usize) -> &'e [GraphEdge],
    v: &mut [f64],
    reached: &mut [bool],
) {
    if m.queues.is_empty() {
        return;
    }
    let published = |visits: &[f64]| {
        let mut next = vec![0.0; m.endpoints.len()];
        for (ep, e) in m.endpoints.iter().enumerate() {
            if visits[ep] == 0.0 || !e.code.iter().any(|i| matches!(i, Instr::Publish(_))) {
                continue;
            }
            let mass = instruction_mass(m, &e.code);
            for (pc, ins) in e.code.iter().enumerate() {
                if let Instr::Publish(p) = ins {
                    for c in &m.queues[m.publishes[p.ix()].queue.ix()].consumers {
                        next[c.endpoint.ix()] += visits[ep] * mass[pc];
                    }
                }
            }
        }
        next
    };
    let mut seed = published(v);
    for _ in 0..8 {
        if seed.iter().all(|x| *x == 0.0) {
            return;
        }
        for &ep in topo_order {
            let x = seed[ep as usize];
            if x > 0.0 {
                reached[m.endpoints[ep as usize].service.ix()] = true;
                for e in calls_from(ep as usize) {
                    seed[e.callee as usize] += x * e.calls_per_visit;
                }
            }
        }
        v.iter_mut().zip(&seed).for_each(|(a, b)| *a += b);
        seed = published(&seed);
    }
}

/// Marks the services that messages reach: the consumers of every queue
/// a reached endpoint publishes to, and on through what those call and
/// publish. A worklist over endpoints: each is looked at once.
fn reach_through_queues<'e>(
    m: &Model,
    calls_from: impl Fn(usize) -> &'e [GraphEdge],
    mut seen: Vec<bool>,
    reached: &mut [bool],
) {
    if m.queues.is_empty() {
        return;
    }
    let mut todo: Vec<usize> = (0..seen.len()).filter(|&i| seen[i]).collect();
    while let Some(ep) = todo.pop() {
        reached[m.endpoints[ep].service.ix()] = true;
        let consumers = m.endpoints[ep].code.iter().filter_map(|c| match c {
            Instr::Publish(p) => Some(&m.queues[m.publishes[p.ix()].queue.ix()].consumers),
            _ => None,
        });
        let next: Vec<usize> = consumers
            .flat_map(|cs| cs.iter().map(|c| c.endpoint.ix()))
            .chain(calls_from(ep).iter().map(|e| e.callee as usize))
            .collect();
        for n in next {
            if !std::mem::replace(&mut seen[n], true) {
                todo.push(n);
            }
        }
    }
}

struct Amplification {
    worst_calls: Vec<Vec<f64>>,
    worst_attempts: Vec<Vec<f64>>,
    capped_attempts: Vec<Vec<f64>>,
    worst_path: Vec<Vec<Vec<f64>>>,
}

/// The heaviest single call path from an endpoint to a service: the
/// product of calls and attempts along it, and its attempt factors above 1.
type Path = Option<(f64, Vec<f64>)>;

/// Worst-case calls, attempts and capped attempts per workload and service
/// (the rules are in the module docs).
fn amplification<'e>(m: &Model, calls_from: impl Fn(usize) -> &'e [GraphEdge], topo_order: &[u32]) -> Amplification {
    let ns = m.services.len();
    // Per endpoint, what one visit causes downstream, per service:
    // [calls without retries | attempts | capped attempts].
    let mut down = vec![vec![0.0; 3 * ns]; m.endpoints.len()];
    let mut heaviest: Vec<Vec<Path>> = vec![vec![None; ns]; m.endpoints.len()];
    for &ep in topo_order.iter().rev() {
        let ep = ep as usize;
        let code = &m.endpoints[ep].code;
        let leaf = |e: super::EdgeId| {
            let edge = &m.edges[e.ix()];
            let mut v = vec![0.0; 3 * ns];
            if edge.probability > 0.0 {
                let s = m.service_of(edge.callee).ix();
                let (u, c) = (attempts_per_call(edge), capped_per_call(m, edge));
                for (part, k) in [1.0, u, c].into_iter().enumerate() {
                    for i in 0..ns {
                        v[part * ns + i] = k * down[edge.callee.ix()][part * ns + i];
                    }
                    v[part * ns + s] += k;
                }
            }
            v
        };
        let totals = Worst { m, code, dim: 3 * ns, leaf }.block(0, code.len()).0;
        down[ep] = totals;
        let mut best: Vec<Path> = vec![None; ns];
        for g in calls_from(ep).iter().filter(|g| g.max_calls_per_visit > 0.0) {
            let k = g.max_calls_per_visit * g.attempts_per_call;
            let own: Vec<f64> = [g.attempts_per_call].into_iter().filter(|&u| u > 1.0).collect();
            let callee_service = m.service_of(super::EndpointId(g.callee)).ix();
            let below = heaviest[g.callee as usize].iter().enumerate().filter_map(|(s, p)| Some((s, p.as_ref()?)));
            let candidates = std::iter::once((callee_service, k, own.clone()))
                .chain(below.map(|(s, (x, f))| (s, k * x, own.iter().chain(f).copied().collect())));
            for (s, x, factors) in candidates {
                if best[s].as_ref().is_none_or(|b| x > b.0) {
                    best[s] = Some((x, factors));
                }
            }
        }
        heaviest[ep] = best;
    }
    let mut amp = Amplification {
        worst_calls: Vec::new(),
        worst_attempts: Vec::new(),
        capped_attempts: Vec::new(),
        worst_path: Vec::new(),
    };
    for w in &m.workloads {
        let t = w.target.ix();
        let own = m.service_of(w.target).ix();
        let part = |p: usize| {
            let mut v = down[t][p * ns..(p + 1) * ns].to_vec();
            v[own] += 1.0;
            v
        };
        amp.worst_calls.push(part(0));
        amp.worst_attempts.push(part(1));
        amp.capped_attempts.push(part(2));
        amp.worst_path.push(heaviest[t].iter().map(|p| p.as_ref().map(|p| p.1.clone()).unwrap_or_default()).collect());
    }
    amp
}

/// Kahn's algorithm over `n` endpoints; the model is acyclic (the loader
/// rejects cycles).
fn topo<'e>(n: usize, calls_from: impl Fn(usize) -> &'e [GraphEdge]) -> Vec<u32> {
    let mut indeg = vec![0usize; n];
    for ep in 0..n {
        for e in calls_from(ep) {
            indeg[e.callee as usize] += 1;
        }
    }
    let mut ready: Vec<u32> = (0..n as u32).filter(|&i| indeg[i as usize] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(x) = ready.pop() {
        order.push(x);
        for e in calls_from(x as usize) {
            indeg[e.callee as usize] -= 1;
            if indeg[e.callee as usize] == 0 {
                ready.push(e.callee);
            }
        }
    }
    debug_assert_eq!(order.len(), n, "the call graph is acyclic");
    order
}

#[cfg(test)]
mod tests;
