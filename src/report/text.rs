//! The human-readable summary `stormcast run` prints.

use crate::metrics::{ChainHop, LatencySummary, RunResult};
use std::fmt::Write;

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency for the tables: `—` when there is none (nothing succeeded).
fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), ms)
}

fn ms(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 1.0 {
        format!("{v:.3}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn lat_cells(l: &LatencySummary) -> String {
    [l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max].iter().map(|&v| format!("{:>8}", opt_ms(v))).collect()
}

/// The summary of one run, as printed on the terminal.
pub fn summary(r: &RunResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} — {} s simulated (warm-up {} s), seed {}, stopped by {}{}",
        r.name,
        r.duration_s,
        r.warmup_s,
        r.seed,
        r.engine.stopped_by,
        if r.complete { "" } else { " — PARTIAL RESULT" }
    );
    let _ = writeln!(o, "{} events, digest {}\n", thousands(r.engine.events), r.engine.digest);

    let nw = name_width(r.workloads.keys(), "workload");
    let _ = writeln!(
        o,
        "{:<nw$}{:>11}{:>11}{:>9}{:>10} │{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}  latency ms",
        "workload", "offered", "ok", "failed", "goodput/s", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    for (name, w) in &r.workloads {
        let _ = writeln!(
            o,
            "{:<nw$}{:>11}{:>11}{:>9}{:>10.1} │{}",
            name,
            thousands(w.offered),
            thousands(w.ok),
            thousands(w.failed),
            w.goodput_per_s,
            lat_cells(&w.latency_ms)
        );
        if w.failed > 0 {
            let f = &w.failures;
            let _ =
                writeln!(o, "{:<18}  failed: {} errors, {} timeouts, {} rejected", "", f.error, f.timeout, f.rejected);
        }
    }

    let ns = name_width(r.services.keys(), "service");
    let _ = writeln!(
        o,
        "\n{:<ns$}{:>9}{:>7}{:>10}{:>9}{:>10}{:>10}{:>10}{:>10}{:>9}{:>9}{:>9}{:>7}{:>9}",
        "service",
        "replicas",
        "util",
        "in-sys",
        "queue",
        "q-wait ms",
        "cpu-wait",
        "arrivals",
        "rejected",
        "timeouts",
        "p50 ms",
        "p99 ms",
        "ampl",
        "wasted s"
    );
    for (name, s) in &r.services {
        let _ = writeln!(
            o,
            "{:<ns$}{:>9}{:>6.1}%{:>10.2}{:>9.2}{:>10}{:>10}{:>10}{:>10}{:>9}{:>9}{:>9}{:>7.2}{:>9.2}",
            name,
            if s.replicas.min == s.replicas.max {
                s.replicas.max.to_string()
            } else {
                format!("{}-{}", s.replicas.min, s.replicas.max)
            },
            s.utilization * 100.0,
            s.mean_in_system,
            s.mean_queue_len,
            ms(s.queue_wait_ms_mean),
            ms(s.cpu_wait_ms_mean),
            thousands(s.arrivals),
            thousands(s.rejected),
            thousands(s.timeouts),
            opt_ms(s.latency_ms.p50),
            opt_ms(s.latency_ms.p99),
            s.amplification,
            s.wasted_cpu_s
        );
    }

    if !r.edges.is_empty() {
        let ne = name_width(r.edges.keys(), "call edge");
        let _ = writeln!(
            o,
            "\n{:<ne$}{:>11}{:>11}{:>10}{:>9}{:>10}{:>12}{:>10}{:>10}{:>9}",
            "call edge",
            "calls",
            "attempts",
            "retries",
            "hedges",
            "timeouts",
            "short-circ",
            "throttled",
            "failures",
            "skipped"
        );
        for (name, e) in &r.edges {
            let _ = writeln!(
                o,
                "{:<ne$}{:>11}{:>11}{:>10}{:>9}{:>10}{:>12}{:>10}{:>10}{:>9}",
                name,
                thousands(e.calls),
                thousands(e.attempts),
                thousands(e.retries),
                thousands(e.hedges),
                thousands(e.timeouts),
                thousands(e.short_circuits),
                thousands(e.throttled),
                thousands(e.failures),
                thousands(e.skipped)
            );
        }
    }

    if !r.caches.is_empty() {
        let _ = writeln!(o);
        for (name, c) in &r.caches {
            let total = (c.hits + c.misses).max(1) as f64;
            let _ = writeln!(
                o,
                "cache {name}: {} hits, {} misses ({:.1}% hit)",
                c.hits,
                c.misses,
                100.0 * c.hits as f64 / total
            );
        }
    }

    for (name, c) in &r.chains {
        if c.mean.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\nwhere the time goes — {name}, mean successful request, critical path (ms):");
        chain_table(&mut o, &c.mean);
        if !c.p99.is_empty() {
            let _ = writeln!(o, "  requests at or above p99:");
            chain_table(&mut o, &c.p99);
        }
    }

    if !r.findings.is_empty() {
        let _ = writeln!(o, "\nfindings:");
        for f in &r.findings {
            let _ = writeln!(o, "  - [{}] {}", f.kind, f.message);
        }
    }
    o
}

/// Width of a name column: the longest name (or the header) plus a gap.
fn name_width<'a>(names: impl Iterator<Item = &'a String>, header: &str) -> usize {
    names.map(|n| n.chars().count()).max().unwrap_or(0).max(header.len()) + 2
}

fn chain_table(o: &mut String, hops: &[ChainHop]) {
    let labels: Vec<String> =
        hops.iter().map(|h| format!("{}{}.{}", "  ".repeat(h.depth as usize), h.service, h.endpoint)).collect();
    let nh = name_width(labels.iter(), "hop");
    let _ = writeln!(
        o,
        "  {:<nh$}{:>7}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "hop", "visits", "queue", "cpu", "network", "delay", "wasted", "share"
    );
    let total: f64 = hops.iter().map(hop_total).sum();
    for (h, name) in hops.iter().zip(&labels) {
        let share = if total > 0.0 { 100.0 * hop_total(h) / total } else { 0.0 };
        let _ = writeln!(
            o,
            "  {:<nh$}{:>7.2}{:>9}{:>9}{:>9}{:>9}{:>9}{:>8.1}%",
            name,
            h.visits,
            ms(h.queue_ms),
            ms(h.cpu_ms),
            ms(h.network_ms),
            ms(h.delay_ms),
            ms(h.wasted_ms),
            share
        );
    }
}

fn hop_total(h: &ChainHop) -> f64 {
    h.queue_ms + h.cpu_ms + h.network_ms + h.delay_ms + h.wasted_ms + h.backoff_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
