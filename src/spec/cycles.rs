//! Finding call cycles between endpoints (`a.x` calls `b.y` which calls
//! `a.x`): each group of endpoints that call each other in a circle is
//! reported once, with its shortest cycle. Calls are edges of the model, so
//! this runs after every endpoint is compiled.

use super::topology::Build;

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
    let mut done = vec![false; n];
    for v in 0..n {
        if done[v] {
            continue;
        }
        let Some(cycle) = shortest_cycle(&succ, v) else {
            continue;
        };
        let fwd = reach(n, v, |u| succ[u].iter().map(|&(w, _)| w).collect());
        let bwd = reach(n, v, |u| pred[u].clone());
        for u in 0..n {
            done[u] |= fwd[u] && bwd[u];
        }
        let m = &b.model;
        let mut names = vec![m.endpoints[v].full_name.as_str()];
        names.extend(cycle.iter().map(|&e| m.endpoints[m.edges[e].callee.ix()].full_name.as_str()));
        let msg = format!("call cycle: {}", names.join(" -> "));
        let hint = Some("a request would call itself without end; remove or redirect one of these calls".into());
        let site = b.edge_sites[cycle[0]].clone();
        b.cx.error(site.loc, &site.path, msg, hint);
    }
}

/// Edges of a shortest cycle through `v`, by breadth-first search.
fn shortest_cycle(succ: &[Vec<(usize, usize)>], v: usize) -> Option<Vec<usize>> {
    let mut parent: Vec<Option<(usize, usize)>> = vec![None; succ.len()];
    let mut queue = std::collections::VecDeque::from([v]);
    while let Some(u) = queue.pop_front() {
        for &(w, e) in &succ[u] {
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
                queue.push_back(w);
            }
        }
    }
    None
}

fn reach(n: usize, from: usize, next: impl Fn(usize) -> Vec<usize>) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut stack = vec![from];
    seen[from] = true;
    while let Some(u) = stack.pop() {
        for w in next(u) {
            if !seen[w] {
                seen[w] = true;
                stack.push(w);
            }
        }
    }
    seen
}
