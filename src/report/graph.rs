//! The topology as a diagram: Mermaid (for Markdown design docs) or
//! Graphviz DOT. Nodes are services with their endpoints; one arrow per
//! (caller service, callee service) pair, labelled with a line per (caller
//! endpoint, callee endpoint): expected calls per visit of the caller (all
//! its call sites of that endpoint together), timeouts and, where a call
//! retries or hedges, the most attempts one call makes. Queues are nodes of
//! their own: a dashed arrow from each service that publishes to one, and
//! from the queue to each consumer group's service.

use crate::model::analysis::Analysis;
use crate::model::{ConsumerMode, Instr, Model};
use std::collections::BTreeMap;
use std::fmt::Write;

fn id(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// One arrow: every call site from service `from` to service `to`.
struct Arrow {
    from: usize,
    to: usize,
    /// One entry per (caller endpoint, callee endpoint), in the order their
    /// first call site appears.
    entries: Vec<Entry>,
}

/// The call sites from one caller endpoint to one callee endpoint, merged.
struct Entry {
    caller: u32,
    callee: u32,
    /// Expected calls per visit of the caller, over all these call sites.
    calls_per_visit: f64,
    /// Timeouts, attempt bounds and `parallel`, each once.
    notes: Vec<String>,
}

/// The call sites of the model grouped into one arrow per (caller service,
/// callee service) pair, in the order the pairs first appear.
fn arrows(m: &Model, a: &Analysis) -> Vec<Arrow> {
    let mut out: Vec<Arrow> = Vec::new();
    let mut index: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for g in &a.edges {
        let from = m.endpoints[g.caller as usize].service.ix();
        let to = m.endpoints[g.callee as usize].service.ix();
        let i = *index.entry((from, to)).or_insert_with(|| {
            out.push(Arrow { from, to, entries: Vec::new() });
            out.len() - 1
        });
        let entries = &mut out[i].entries;
        let e = match entries.iter().position(|e| e.caller == g.caller && e.callee == g.callee) {
            Some(k) => &mut entries[k],
            None => {
                entries.push(Entry { caller: g.caller, callee: g.callee, calls_per_visit: 0.0, notes: Vec::new() });
                entries.last_mut().expect("just pushed")
            }
        };
        e.calls_per_visit += g.calls_per_visit;
        let edge = &m.edges[g.edge as usize];
        let notes = [
            edge.timeout.map(|t| format!("timeout {t}")),
            (g.attempts_per_call > 1.0).then(|| format!("≤{} attempts", g.attempts_per_call)),
            g.parallel.then(|| "parallel".to_string()),
        ];
        for n in notes.into_iter().flatten() {
            if !e.notes.contains(&n) {
                e.notes.push(n);
            }
        }
    }
    out
}

/// An arrow's label: one line per entry, `caller → callee ×calls, notes`
/// (the caller's name only when its service has several endpoints; the
/// multiplicity only when it is not 1), lines joined by `newline`.
fn label(m: &Model, arrow: &Arrow, newline: &str) -> String {
    let several = m.services[arrow.from].endpoints.len() > 1;
    let lines: Vec<String> = arrow
        .entries
        .iter()
        .map(|e| {
            let callee = &m.endpoints[e.callee as usize].name;
            let mut parts = vec![if several {
                format!("{} → {callee}", m.endpoints[e.caller as usize].name)
            } else {
                callee.clone()
            }];
            if (e.calls_per_visit - 1.0).abs() > 1e-9 {
                parts[0].push_str(&format!(" ×{:.2}", e.calls_per_visit));
            }
            parts.extend(e.notes.iter().cloned());
            parts.join(", ")
        })
        .collect();
    lines.join(newline)
}

/// One `(caller service, callee service, label lines)` per arrow, as
/// [`mermaid`] draws them: what the HTML report's diagram needs.
pub(super) fn service_calls(m: &Model, a: &Analysis) -> Vec<(String, String, Vec<String>)> {
    arrows(m, a)
        .iter()
        .map(|arrow| {
            let label = label(m, arrow, "\n").lines().map(str::to_string).collect();
            (m.services[arrow.from].name.clone(), m.services[arrow.to].name.clone(), label)
        })
        .collect()
}

/// `(publishing service, queue)` pairs, each once, in model order.
fn publishers(m: &Model) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for e in &m.endpoints {
        for ins in &e.code {
            if let Instr::Publish(p) = ins {
                let pair = (e.service.ix(), m.publishes[p.ix()].queue.ix());
                if !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
    }
    out
}

/// A consumer group's arrow label: `group: endpoint, mode ×concurrency`.
fn group_label(m: &Model, c: &crate::model::ConsumerGroup) -> String {
    let mode = match c.mode {
        ConsumerMode::Partitioned => "partitioned",
        ConsumerMode::Competing => "competing",
    };
    format!("{}: {}, {mode} ×{}", c.group, m.endpoints[c.endpoint.ix()].name, c.concurrency)
}

/// `(publishing service, consumer service, label)` per publisher and
/// consumer group: the report's diagram draws messages as arrows.
pub(super) fn message_flows(m: &Model) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (s, q) in publishers(m) {
        let queue = &m.queues[q];
        for c in &queue.consumers {
            let to = m.services[c.service.ix()].name.clone();
            out.push((m.services[s].name.clone(), to, format!("via queue {} → {}", queue.name, group_label(m, c))));
        }
    }
    out
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
    for arrow in arrows(m, a) {
        let (from, to) = (&m.services[arrow.from].name, &m.services[arrow.to].name);
        let _ = writeln!(o, "  svc_{} -->|\"{}\"| svc_{}", id(from), label(m, &arrow, "<br/>"), id(to));
    }
    for q in &m.queues {
        let _ = writeln!(o, "  q_{}[(\"{}<br/>{} partitions\")]", id(&q.name), q.name, q.partitions);
    }
    for (s, q) in publishers(m) {
        let _ = writeln!(o, "  svc_{} -.->|publish| q_{}", id(&m.services[s].name), id(&m.queues[q].name));
    }
    for q in &m.queues {
        for c in &q.consumers {
            let svc = &m.services[c.service.ix()].name;
            let _ = writeln!(o, "  q_{} -.->|\"{}\"| svc_{}", id(&q.name), group_label(m, c), id(svc));
        }
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
    for arrow in arrows(m, a) {
        let (from, to) = (&m.services[arrow.from].name, &m.services[arrow.to].name);
        let _ = writeln!(o, "  \"{}\" -> \"{}\" [label=\"{}\"];", from, to, label(m, &arrow, "\\n"));
    }
    for q in &m.queues {
        let _ = writeln!(o, "  \"q:{}\" [shape=cylinder, label=\"{}\\n{} partitions\"];", q.name, q.name, q.partitions);
    }
    for (s, q) in publishers(m) {
        let _ = writeln!(
            o,
            "  \"{}\" -> \"q:{}\" [style=dashed, label=\"publish\"];",
            m.services[s].name, m.queues[q].name
        );
    }
    for q in &m.queues {
        for c in &q.consumers {
            let svc = &m.services[c.service.ix()].name;
            let _ = writeln!(o, "  \"q:{}\" -> \"{}\" [style=dashed, label=\"{}\"];", q.name, svc, group_label(m, c));
        }
    }
    o.push_str("}\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::analysis::analyze;

    /// `front.page` calls `db.q` from two call sites and `db.r` once;
    /// `front.admin` calls `db.q` too; `db` calls nothing.
    fn model() -> Model {
        crate::spec::testing::model(
            "duration: 10s
services:
  front:
    endpoints:
      page: { steps: [ { call: db.q, timeout: 50ms }, { work: 1ms }, { repeat: { count: 3, steps: [ { call: db.q } ] } }, { call: db.r, retry: { attempts: 3 } } ] }
      admin: { steps: [ { call: db.q } ] }
  api: { endpoints: { e: { steps: [ { call: db.q }, { call: db.q } ] } } }
  db: { endpoints: { q: { work: 1ms }, r: { work: 1ms } } }
workload: [ { name: w, target: front.page, rate: 10/s }, { name: v, target: api.e, rate: 1/s } ]
",
        )
    }

    #[test]
    fn mermaid_draws_one_arrow_per_service_pair() {
        let m = model();
        let g = mermaid(&m, &analyze(&m));
        let arrows: Vec<&str> = g.lines().filter(|l| l.contains("-->|")).collect();
        assert_eq!(
            arrows,
            [
                "  svc_front -->|\"page → q ×4.00, timeout 50ms<br/>page → r, ≤3 attempts<br/>admin → q\"| svc_db",
                "  svc_api -->|\"q ×2.00\"| svc_db",
            ],
            "{g}"
        );
    }

    #[test]
    fn dot_draws_one_arrow_per_service_pair() {
        let m = model();
        let g = dot(&m, &analyze(&m));
        let arrows: Vec<&str> = g.lines().filter(|l| l.contains("\" -> \"") && !l.contains("wl:")).collect();
        assert_eq!(
            arrows,
            [
                "  \"front\" -> \"db\" [label=\"page → q ×4.00, timeout 50ms\\npage → r, ≤3 attempts\\nadmin → q\"];",
                "  \"api\" -> \"db\" [label=\"q ×2.00\"];",
            ],
            "{g}"
        );
    }

    #[test]
    fn queues_are_nodes_with_publish_and_consumer_arrows() {
        let m = crate::spec::testing::model(
            "duration: 10s
services:
  shop: { endpoints: { checkout: { steps: [ { publish: orders }, { publish: orders } ] } } }
  ship: { endpoints: { e: { work: 1ms } } }
queues:
  orders: { partitions: 3, consumers: [ { endpoint: ship.e, group: shipping, concurrency: 2, mode: partitioned } ] }
workload: [ { name: w, target: shop.checkout, rate: 10/s } ]
",
        );
        let g = mermaid(&m, &analyze(&m));
        assert!(g.contains("  q_orders[(\"orders<br/>3 partitions\")]"), "{g}");
        assert_eq!(g.matches("svc_shop -.->|publish| q_orders").count(), 1, "one arrow per service and queue: {g}");
        assert!(g.contains("  q_orders -.->|\"shipping: e, partitioned ×2\"| svc_ship"), "{g}");
        let d = dot(&m, &analyze(&m));
        assert!(d.contains("\"shop\" -> \"q:orders\" [style=dashed, label=\"publish\"];"), "{d}");
        assert!(d.contains("\"q:orders\" -> \"ship\" [style=dashed"), "{d}");
        let flows = message_flows(&m);
        assert_eq!(flows, [("shop".into(), "ship".into(), "via queue orders → shipping: e, partitioned ×2".into())]);
    }
}
