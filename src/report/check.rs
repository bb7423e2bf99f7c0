//! The report of `stormcast check`: the call tree of every workload with
//! expected calls per request, the worst-case attempts one request can
//! cause at each service (retry amplification, rules in
//! [`crate::model::analysis`]), the estimated load of every service
//! ([`crate::model::analysis::load`]), and static findings.

use super::table::{Align, Table, amount, thousands};
use crate::model::Model;
use crate::model::analysis::GraphEdge;
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
        tree(&mut o, m, a, i);
        visits_table(&mut o, m, a, i);
        worst_table(&mut o, m, a, i);
    }
    load::load_section(&mut o, m, &a.load);
    let mut findings = load::load_findings(m, &a.load);
    for &s in &a.unreachable {
        findings.push(format!("service {} is not reached by any workload", m.services[s as usize].name));
    }
    for (i, w) in m.workloads.iter().enumerate() {
        let total: f64 = a.visits[i].iter().sum::<f64>() - 1.0;
        if total >= 20.0 {
            findings.push(format!(
                "one {} request makes {} downstream calls on average (chatty)",
                w.name,
                amount(total)
            ));
        }
    }
    findings.extend((0..m.workloads.len()).filter_map(|i| amplification_finding(m, a, i)));
    for e in &a.edges {
        if e.calls_per_visit >= 10.0 {
            let edge = &m.edges[e.edge as usize];
            let n = amount(e.calls_per_visit);
            findings.push(format!("{} is called {n} times per visit of its caller (N+1?)", edge.name));
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

/// Expected visits per request of each service workload `i` reaches.
fn visits_table(o: &mut String, m: &Model, a: &Analysis, i: usize) {
    let _ = writeln!(o, "  expected visits per request:");
    let mut by_service = vec![0.0; m.services.len()];
    for (ep, v) in a.visits[i].iter().enumerate() {
        by_service[m.endpoints[ep].service.ix()] += v;
    }
    let mut t = Table::new(4).col("service", Align::Left).col("visits", Align::Right);
    for (s, v) in by_service.iter().enumerate() {
        if *v > 0.0 {
            t.row(vec![m.services[s].name.clone(), if *v < 1e6 { format!("{v:.3}") } else { amount(*v) }]);
        }
    }
    t.render(o);
}

/// The "worst-case attempts per request" section of workload `i`: one line
/// when no call it makes retries or hedges, else a table per service.
fn worst_table(o: &mut String, m: &Model, a: &Analysis, i: usize) {
    let (calls, att, cap) = (&a.worst_calls[i], &a.worst_attempts[i], &a.capped_attempts[i]);
    if att.iter().zip(calls).all(|(x, c)| x <= c) {
        let _ = writeln!(o, "  worst-case attempts per request: one per call (no call on the way retries or hedges)");
        return;
    }
    let _ =
        writeln!(o, "  worst-case attempts per request (all retries and hedges used; capped: long run under budgets):");
    let mut t = Table::new(4).col("service", Align::Left);
    for h in ["calls", "attempts", "capped"] {
        t = t.col(h, Align::Right);
    }
    for (s, svc) in m.services.iter().enumerate() {
        if att[s] > 0.0 {
            t.row(vec![svc.name.clone(), count(calls[s]), count(att[s]), count(cap[s])]);
        }
    }
    t.render(o);
}

/// Worst-case attempts at which a workload's retry amplification is a finding.
const AMPLIFICATION_FINDING: f64 = 10.0;

/// "1 request to a.e can become 64 attempts at db (3 layers retrying: 4 × 4
/// × 4); …" for the service with the most worst-case attempts, when they
/// reach [`AMPLIFICATION_FINDING`] and retries or hedges add to them.
fn amplification_finding(m: &Model, a: &Analysis, i: usize) -> Option<String> {
    let att = &a.worst_attempts[i];
    let s = (0..att.len()).reduce(|w, s| if att[s] > att[w] { s } else { w })?;
    if att[s] < AMPLIFICATION_FINDING || att[s] <= a.worst_calls[i][s] {
        return None;
    }
    let factors = &a.worst_path[i][s];
    let product: f64 = factors.iter().product();
    let mut why = match factors.len() {
        0 => "retries and hedges on several call paths".to_string(),
        n if n > 6 && factors.iter().all(|f| f == &factors[0]) => {
            format!("{n} layers retrying, {} attempts each", count(factors[0]))
        }
        n => format!(
            "{n} layer{} retrying: {}",
            if n == 1 { "" } else { "s" },
            factors.iter().map(|f| count(*f)).collect::<Vec<_>>().join(" × ")
        ),
    };
    if !factors.is_empty() && product < att[s] * (1.0 - 1e-9) {
        why.push_str(", times repeated or parallel calls");
    }
    let cap = a.capped_attempts[i][s];
    let capped = if cap < att[s] * (1.0 - 1e-9) {
        format!("retry budgets and throttles cap it at {} in the long run", count(cap))
    } else {
        "no retry budget or throttle caps it".to_string()
    };
    let target = &m.endpoints[m.workloads[i].target.ix()].full_name;
    Some(format!(
        "1 request to {target} can become {} attempts at {} ({why}); {capped}",
        count(att[s]),
        m.services[s].name
    ))
}

/// A count: whole numbers without decimals (`4,096`), others with two,
/// huge ones in scientific notation.
fn count(x: f64) -> String {
    if x.is_nan() || x.abs() >= 1e12 {
        format!("{x:.3e}")
    } else if (x - x.round()).abs() < 1e-9 {
        thousands(x.abs().round() as u64)
    } else {
        format!("{x:.2}")
    }
}

/// One endpoint whose call sites are being printed.
struct Frame<'a> {
    calls: &'a [GraphEdge],
    next: usize,
    /// What goes before the `├─` of its call sites.
    prefix: String,
    /// Visits of the endpoint per request along the printed path.
    per_request: f64,
}

/// The call tree of workload `w`, depth first. Each endpoint's subtree is
/// printed once; later call sites of an endpoint that makes calls point
/// back to it (`(see above)`), so the output has one line per call site at
/// most, however many paths lead to an endpoint (a chain of diamonds has
/// exponentially many).
fn tree(o: &mut String, m: &Model, a: &Analysis, w: usize) {
    let root = m.workloads[w].target;
    let _ = writeln!(o, "  {}", m.endpoints[root.ix()].full_name);
    let mut expanded = vec![false; m.endpoints.len()];
    expanded[root.ix()] = true;
    let mut stack = vec![Frame { calls: a.calls_from(root.0), next: 0, prefix: "  ".into(), per_request: 1.0 }];
    while let Some(f) = stack.last_mut() {
        let Some(g) = f.calls.get(f.next) else {
            stack.pop();
            continue;
        };
        f.next += 1;
        let last = f.next == f.calls.len();
        let calls = f.per_request * g.calls_per_visit;
        let callee = g.callee as usize;
        let has_calls = !a.calls_from(g.callee).is_empty();
        let mut notes = call_notes(m, g);
        let total = a.visits[w][callee];
        if has_calls && !expanded[callee] && (total - calls).abs() > 1e-9 * total.max(1.0) {
            notes.push(format!("×{total:.3}/request over all paths"));
        }
        let _ = writeln!(
            o,
            "{}{}{}  ×{calls:.3}/request{}{}",
            f.prefix,
            if last { "└─ " } else { "├─ " },
            m.endpoints[callee].full_name,
            if notes.is_empty() { String::new() } else { format!("  [{}]", notes.join(", ")) },
            if has_calls && expanded[callee] { "  (see above)" } else { "" }
        );
        if has_calls && !expanded[callee] {
            expanded[callee] = true;
            let prefix = format!("{}{}", f.prefix, if last { "   " } else { "│  " });
            stack.push(Frame { calls: a.calls_from(g.callee), next: 0, prefix, per_request: calls });
        }
    }
}

/// What the tree says about one call site besides its rate.
fn call_notes(m: &Model, g: &GraphEdge) -> Vec<String> {
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
    if g.attempts_per_call > 1.0 {
        notes.push(format!("≤{} attempts", count(g.attempts_per_call)));
    }
    if g.capped_per_call < g.attempts_per_call {
        notes.push(format!("capped ~{}", count(g.capped_per_call)));
    }
    notes
}

mod load;

#[cfg(test)]
mod tests;
