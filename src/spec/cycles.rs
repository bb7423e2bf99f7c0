//! Finding call cycles between endpoints (`a.x` calls `b.y` which calls
//! `a.x`): each group of endpoints that call each other in a circle (a
//! strongly connected component) is reported once, with its shortest
//! cycle. Calls are edges of the model, so this runs after every endpoint
//! is compiled. Linear in the calls: components by Kosaraju's two passes,
//! then one breadth-first search inside each component that has a cycle.

use super::topology::Build;
use std::collections::VecDeque;

/// Reports each group of endpoints that call each other in a circle once,
/// with its shortest cycle, at the first call of that cycle.
pub(super) fn report_cycles(b: &mut Build) {
    let n = b.model.endpoints.len();
    let mut succ: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, e) in b.model.edges.iter().enumerate() {
        succ[e.caller.ix()].push((e.callee.ix(), i));
        pred[e.callee.ix()].push(e.caller.ix());
    }
    let comp = components(&succ, &pred);
    let mut size = vec![0usize; n];
    comp.iter().for_each(|&c| size[c] += 1);
    let mut reported = vec![false; n];
    let mut parent: Vec<Option<(usize, usize)>> = vec![None; n];
    for v in 0..n {
        let c = comp[v];
        let self_call = succ[v].iter().any(|&(w, _)| w == v);
        if reported[c] || (size[c] == 1 && !self_call) {
            continue;
        }
        let Some(cycle) = shortest_cycle(&succ, &comp, v, &mut parent) else {
            continue;
        };
        reported[c] = true;
        let m = &b.model;
        let mut names = vec![m.endpoints[v].full_name.as_str()];
        names.extend(cycle.iter().map(|&e| m.endpoints[m.edges[e].callee.ix()].full_name.as_str()));
        let msg = format!("call cycle: {}", names.join(" -> "));
        let hint = Some("a request would call itself without end; remove or redirect one of these calls".into());
        let site = b.edge_sites[cycle[0]].clone();
        b.cx.error(site.loc, &site.path, msg, hint);
    }
}

/// The strongly connected component of every vertex (Kosaraju, iterative:
/// no recursion however long the call chains).
fn components(succ: &[Vec<(usize, usize)>], pred: &[Vec<usize>]) -> Vec<usize> {
    let n = succ.len();
    // Pass 1: vertices in order of finishing a depth-first search.
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    for s in 0..n {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        let mut stack = vec![(s, 0usize)];
        while let Some((u, i)) = stack.pop() {
            if let Some(&(w, _)) = succ[u].get(i) {
                stack.push((u, i + 1));
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            } else {
                order.push(u);
            }
        }
    }
    // Pass 2: on the reversed graph, in reverse finishing order.
    let mut comp = vec![usize::MAX; n];
    let mut count = 0;
    for &s in order.iter().rev() {
        if comp[s] != usize::MAX {
            continue;
        }
        comp[s] = count;
        let mut stack = vec![s];
        while let Some(u) = stack.pop() {
            for &w in &pred[u] {
                if comp[w] == usize::MAX {
                    comp[w] = count;
                    stack.push(w);
                }
            }
        }
        count += 1;
    }
    comp
}

/// Edges of a shortest cycle through `v`, by breadth-first search within
/// `v`'s component (every cycle through `v` stays in it). `parent` is all
/// `None` on entry and on return.
fn shortest_cycle(
    succ: &[Vec<(usize, usize)>],
    comp: &[usize],
    v: usize,
    parent: &mut [Option<(usize, usize)>],
) -> Option<Vec<usize>> {
    let mut touched = Vec::new();
    let found = bfs(succ, comp, v, parent, &mut touched);
    touched.into_iter().for_each(|x| parent[x] = None);
    found
}

fn bfs(
    succ: &[Vec<(usize, usize)>],
    comp: &[usize],
    v: usize,
    parent: &mut [Option<(usize, usize)>],
    touched: &mut Vec<usize>,
) -> Option<Vec<usize>> {
    let mut queue = VecDeque::from([v]);
    while let Some(u) = queue.pop_front() {
        for &(w, e) in &succ[u] {
            if comp[w] != comp[v] {
                continue;
            }
            if w == v {
                let mut edges = vec![e];
                let mut x = u;
                while x != v {
                    let (p, pe) = parent[x]?;
                    edges.push(pe);
                    x = p;
                }
                edges.reverse();
                return Some(edges);
            }
            if parent[w].is_none() {
                parent[w] = Some((u, e));
                touched.push(w);
                queue.push_back(w);
            }
        }
    }
    None
}
