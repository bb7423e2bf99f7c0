//! The report of `stormcast check`: the call tree of every workload with
//! expected calls per request, and static findings.

use crate::model::Model;
pub use crate::model::analysis::{Analysis, analyze};
use std::fmt::Write;

/// The text `stormcast check` prints for a valid model.
pub fn check_report(m: &Model, a: &Analysis) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} services, {} endpoints, {} call sites, {} workloads — valid",
        m.name,
        m.services.len(),
        m.endpoints.len(),
        m.edges.len(),
        m.workloads.len()
    );
    for (i, w) in m.workloads.iter().enumerate() {
        let _ = writeln!(
            o,
            "\nworkload {} → {} (max call depth {})",
            w.name,
            m.endpoints[w.target.ix()].full_name,
            a.max_depth[i]
        );
        tree(&mut o, m, a, w.target.0, 1, 1.0);
        let _ = writeln!(o, "  expected visits per request:");
        let mut by_service = vec![0.0; m.services.len()];
        for (ep, v) in a.visits[i].iter().enumerate() {
            by_service[m.endpoints[ep].service.ix()] += v;
        }
        for (s, v) in by_service.iter().enumerate() {
            if *v > 0.0 {
                let _ = writeln!(o, "    {:<24}{:>10.3}", m.services[s].name, v);
            }
        }
    }
    let mut findings = Vec::new();
    for &s in &a.unreachable {
        findings.push(format!("service {} is not reached by any workload", m.services[s as usize].name));
    }
    for (i, w) in m.workloads.iter().enumerate() {
        let total: f64 = a.visits[i].iter().sum::<f64>() - 1.0;
        if total >= 20.0 {
            findings.push(format!("one {} request makes {:.1} downstream calls on average (chatty)", w.name, total));
        }
    }
    for e in &a.edges {
        if e.calls_per_visit >= 10.0 {
            let edge = &m.edges[e.edge as usize];
            findings
                .push(format!("{} is called {:.1} times per visit of its caller (N+1?)", edge.name, e.calls_per_visit));
        }
    }
    let _ = writeln!(o, "\nfindings:");
    if findings.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for f in findings {
        let _ = writeln!(o, "  - {f}");
    }
    o
}

fn tree(o: &mut String, m: &Model, a: &Analysis, ep: u32, depth: usize, per_request: f64) {
    let e = &m.endpoints[ep as usize];
    if depth == 1 {
        let _ = writeln!(o, "  {}", e.full_name);
    }
    for g in a.edges.iter().filter(|g| g.caller == ep) {
        let edge = &m.edges[g.edge as usize];
        let mut notes = Vec::new();
        if g.parallel {
            notes.push("parallel".to_string());
        }
        if let Some(t) = edge.timeout {
            notes.push(format!("timeout {t}"));
        }
        if edge.continue_on_failure {
            notes.push("on_failure: continue".into());
        }
        let calls = per_request * g.calls_per_visit;
        let _ = writeln!(
            o,
            "  {}└─ {}  ×{:.3}/request{}",
            "   ".repeat(depth - 1),
            m.endpoints[g.callee as usize].full_name,
            calls,
            if notes.is_empty() { String::new() } else { format!("  [{}]", notes.join(", ")) }
        );
        tree(o, m, a, g.callee, depth + 1, calls);
    }
}
