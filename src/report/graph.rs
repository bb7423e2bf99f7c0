//! The topology as a diagram: Mermaid (for Markdown design docs) or
//! Graphviz DOT. Nodes are services with their endpoints; arrows are call
//! sites labelled with expected calls per visit and, where a call retries
//! or hedges, the most attempts one call makes.

use crate::model::Model;
use crate::model::analysis::Analysis;
use std::fmt::Write;

fn id(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

fn label(m: &Model, g: &crate::model::analysis::GraphEdge) -> String {
    let edge = &m.edges[g.edge as usize];
    let mut parts = vec![m.endpoints[g.callee as usize].name.clone()];
    if (g.calls_per_visit - 1.0).abs() > 1e-9 {
        parts.push(format!("×{:.2}", g.calls_per_visit));
    }
    if let Some(t) = edge.timeout {
        parts.push(format!("timeout {t}"));
    }
    if g.attempts_per_call > 1.0 {
        parts.push(format!("≤{} attempts", g.attempts_per_call));
    }
    if g.parallel {
        parts.push("parallel".into());
    }
    parts.join(", ")
}

pub fn mermaid(m: &Model, a: &Analysis) -> String {
    let mut o = String::from("flowchart LR\n");
    for w in &m.workloads {
        let _ = writeln!(
            o,
            "  wl_{}([{}]) --> svc_{}",
            id(&w.name),
            w.name,
            id(&m.services[m.service_of(w.target).ix()].name)
        );
    }
    for s in &m.services {
        let eps: Vec<&str> = s.endpoints.iter().map(|e| m.endpoints[e.ix()].name.as_str()).collect();
        let _ = writeln!(o, "  svc_{}[\"{} ×{}<br/>{}\"]", id(&s.name), s.name, s.replicas, eps.join(", "));
    }
    for g in &a.edges {
        let from = &m.services[m.endpoints[g.caller as usize].service.ix()].name;
        let to = &m.services[m.endpoints[g.callee as usize].service.ix()].name;
        let _ = writeln!(o, "  svc_{} -->|\"{}\"| svc_{}", id(from), label(m, g), id(to));
    }
    o
}

pub fn dot(m: &Model, a: &Analysis) -> String {
    let mut o = format!("digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n", m.name);
    for w in &m.workloads {
        let _ = writeln!(o, "  \"wl:{}\" [shape=oval, label=\"{}\"];", w.name, w.name);
        let _ = writeln!(o, "  \"wl:{}\" -> \"{}\";", w.name, m.services[m.service_of(w.target).ix()].name);
    }
    for s in &m.services {
        let eps: Vec<&str> = s.endpoints.iter().map(|e| m.endpoints[e.ix()].name.as_str()).collect();
        let _ = writeln!(o, "  \"{}\" [label=\"{} ×{}\\n{}\"];", s.name, s.name, s.replicas, eps.join(", "));
    }
    for g in &a.edges {
        let from = &m.services[m.endpoints[g.caller as usize].service.ix()].name;
        let to = &m.services[m.endpoints[g.callee as usize].service.ix()].name;
        let _ = writeln!(o, "  \"{}\" -> \"{}\" [label=\"{}\"];", from, to, label(m, g));
    }
    o.push_str("}\n");
    o
}
