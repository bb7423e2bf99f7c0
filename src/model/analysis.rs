//! Static analysis of a validated model, without simulating: the call graph,
//! call depth, expected visits per request and reachability. `stormcast
//! check` prints it; the graphs draw it.

use super::{Instr, Model};

/// One call site seen from the graph: caller endpoint → callee endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphEdge {
    pub caller: u32,
    pub callee: u32,
    pub edge: u32,
    /// Expected calls per visit of the caller (repeat counts, branch
    /// weights, cache misses, `probability` and `fail` steps included).
    pub calls_per_visit: f64,
    /// Inside a `parallel` block.
    pub parallel: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub edges: Vec<GraphEdge>,
    /// Per workload: expected visits of each endpoint per request.
    pub visits: Vec<Vec<f64>>,
    /// Per workload: longest chain of calls from its target (0 = no calls).
    pub max_depth: Vec<u32>,
    /// Services no workload reaches.
    pub unreachable: Vec<u32>,
    /// Endpoints in an order where every caller comes before its callees.
    pub topo_order: Vec<u32>,
}

/// Expected executions of every instruction of `code` per visit (entry = 1).
pub fn instruction_mass(m: &Model, code: &[Instr]) -> Vec<f64> {
    let mut mass = vec![0.0; code.len() + 1];
    let mut loop_counts = [1u32; super::MAX_LOOP_DEPTH];
    mass[0] = 1.0;
    for pc in 0..code.len() {
        let x = mass[pc];
        let next = pc + 1;
        match code[pc] {
            Instr::Work(_) | Instr::Delay(_) | Instr::Call(_) => mass[next] += x,
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
            Instr::RepeatInit { slot, count, exit } => {
                if count == 0 {
                    mass[exit as usize] += x;
                } else {
                    loop_counts[slot as usize] = count;
                    mass[next] += x * count as f64;
                }
            }
            Instr::RepeatNext { slot, .. } => mass[next] += x / loop_counts[slot as usize] as f64,
        }
    }
    mass
}

fn inside_fork(m: &Model, code: &[Instr], pc: usize) -> bool {
    code.iter().enumerate().any(|(i, ins)| match ins {
        Instr::Fork(f) => i < pc && pc < m.forks[f.ix()].join_pc as usize,
        _ => false,
    })
}

pub fn analyze(m: &Model) -> Analysis {
    let mut edges = Vec::new();
    for (ep_ix, ep) in m.endpoints.iter().enumerate() {
        let mass = instruction_mass(m, &ep.code);
        for (pc, ins) in ep.code.iter().enumerate() {
            if let Instr::Call(e) = ins {
                let edge = &m.edges[e.ix()];
                edges.push(GraphEdge {
                    caller: ep_ix as u32,
                    callee: edge.callee.0,
                    edge: e.0,
                    calls_per_visit: mass[pc] * edge.probability,
                    parallel: inside_fork(m, &ep.code, pc),
                });
            }
        }
    }
    let topo_order = topo(m, &edges);
    let mut visits = Vec::new();
    let mut max_depth = Vec::new();
    let mut reached = vec![false; m.services.len()];
    for w in &m.workloads {
        let mut v = vec![0.0; m.endpoints.len()];
        let mut depth = vec![None::<u32>; m.endpoints.len()];
        v[w.target.ix()] = 1.0;
        depth[w.target.ix()] = Some(0);
        for &ep in &topo_order {
            if let Some(d) = depth[ep as usize] {
                reached[m.endpoints[ep as usize].service.ix()] = true;
                for e in edges.iter().filter(|e| e.caller == ep) {
                    v[e.callee as usize] += v[ep as usize] * e.calls_per_visit;
                    let c = &mut depth[e.callee as usize];
                    *c = Some(c.map_or(d + 1, |x| x.max(d + 1)));
                }
            }
        }
        max_depth.push(depth.iter().flatten().copied().max().unwrap_or(0));
        visits.push(v);
    }
    let unreachable = (0..m.services.len() as u32).filter(|&s| !reached[s as usize]).collect();
    Analysis { edges, visits, max_depth, unreachable, topo_order }
}

/// Kahn's algorithm; the model is acyclic (the loader rejects cycles).
fn topo(m: &Model, edges: &[GraphEdge]) -> Vec<u32> {
    let n = m.endpoints.len();
    let mut indeg = vec![0usize; n];
    for e in edges {
        indeg[e.callee as usize] += 1;
    }
    let mut ready: Vec<u32> = (0..n as u32).filter(|&i| indeg[i as usize] == 0).rev().collect();
    let mut out = Vec::with_capacity(n);
    while let Some(x) = ready.pop() {
        out.push(x);
        for e in edges.iter().filter(|e| e.caller == x) {
            indeg[e.callee as usize] -= 1;
            if indeg[e.callee as usize] == 0 {
                ready.push(e.callee);
            }
        }
    }
    debug_assert_eq!(out.len(), n, "the call graph is acyclic");
    out
}
