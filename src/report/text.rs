//! The human-readable summary `stormcast run` prints.

use super::table::{Align, Table, ms, opt_ms, thousands};
use crate::metrics::{
    ChainHop, ClusterResult, InferenceResult, LatencySummary, PlatformResult, PoolResult, RunResult, TokenGoodput,
    WorkloadResult,
};
use std::fmt::Write;

fn lat_cells(l: &LatencySummary) -> impl Iterator<Item = String> {
    [l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max].into_iter().map(opt_ms)
}

/// `Table` columns: a left-aligned name, then right-aligned numbers.
fn columns(indent: usize, name: &str, numbers: &[&str]) -> Table {
    numbers.iter().fold(Table::new(indent).col(name, Align::Left), |t, h| t.col(h, Align::Right))
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
    workloads_table(&mut o, r);
    let _ = writeln!(o);
    services_table(&mut o, r);
    endpoints_table(&mut o, r);
    if r.services.values().any(|s| s.platform.is_some()) {
        let _ = writeln!(o);
        platform_table(&mut o, r);
    }
    if let Some(c) = &r.cluster {
        let _ = writeln!(o);
        cluster_block(&mut o, c);
    }
    if r.services.values().any(|s| s.inference.is_some()) {
        let _ = writeln!(o);
        inference_table(&mut o, r);
    }
    if !r.edges.is_empty() {
        let _ = writeln!(o);
        edges_table(&mut o, r);
    }
    if !r.caches.is_empty() {
        let _ = writeln!(o);
        for (name, c) in &r.caches {
            let total = (c.hits + c.misses).max(1) as f64;
            let keyed = match (c.evictions, c.expirations, c.entries_end) {
                (Some(ev), Some(ex), Some(n)) => format!(
                    "; {} evictions, {} expirations, {} entries at the end",
                    thousands(ev),
                    thousands(ex),
                    thousands(n)
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "cache {name}: {} hits, {} misses ({:.1}% hit){keyed}",
                thousands(c.hits),
                thousands(c.misses),
                100.0 * c.hits as f64 / total
            );
        }
    }
    if !r.queues.is_empty() {
        let _ = writeln!(o);
        queues_table(&mut o, r);
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
    let beyond: u64 = r.workloads.values().map(|w| w.latency_ms.beyond_range).sum();
    if beyond > 0 {
        let _ = writeln!(
            o,
            "\nnote: {} request latencies were beyond one simulated day: the percentiles count them as one day (max and mean are exact)",
            thousands(beyond)
        );
    }

    if !r.findings.is_empty() {
        let _ = writeln!(o, "\nfindings:");
        for f in &r.findings {
            let _ = writeln!(o, "  - [{}] {}", f.kind, f.message);
        }
    }
    o
}

/// "127,780 rejected at db, 15,775 timeout at api->db.query": the root
/// causes of failed requests, most frequent first (the first four).
pub(super) fn causes(c: &[crate::metrics::FailureCause]) -> String {
    let mut parts: Vec<String> =
        c.iter().take(4).map(|c| format!("{} {} at {}", thousands(c.count), c.kind, c.at)).collect();
    if c.len() > 4 {
        let rest: u64 = c[4..].iter().map(|c| c.count).sum();
        parts.push(format!("{} other", thousands(rest)));
    }
    parts.join(", ")
}

fn workloads_table(o: &mut String, r: &RunResult) {
    let mut t = columns(0, "workload", &["offered", "ok", "failed", "goodput/s"]).sep();
    for h in ["mean", "p50", "p90", "p95", "p99", "p99.9", "max"] {
        t = t.col(h, Align::Right);
    }
    // Token columns only when some workload generates tokens.
    let tokens = any_tokens(r);
    if tokens {
        t = t.sep();
        for h in TOKEN_HEADERS {
            t = t.col(h, Align::Right);
        }
    }
    let mut t = t.note(if tokens { "latency, ttft, tpot ms" } else { "latency ms" });
    for (name, w) in &r.workloads {
        let mut cells = vec![
            name.clone(),
            thousands(w.offered),
            thousands(w.ok),
            thousands(w.failed),
            format!("{:.1}", w.goodput_per_s),
        ];
        cells.extend(lat_cells(&w.latency_ms));
        if tokens {
            cells.extend(token_cells(w).into_iter().map(|c| c.unwrap_or_else(|| "—".into())));
        }
        t.row(cells);
        if w.failed > 0 {
            t.text(format!("  failed: {}", causes(&w.causes)));
        }
        if let Some(c) = &w.client {
            t.text(format!("  client: {}", client_line(c)));
        }
        if let Some(g) = &w.token_goodput {
            t.text(format!("  token goodput: {}", token_goodput_line(g)));
        }
        if let Some(l) = token_slo_line(r, name) {
            t.text(format!("  token SLO: {l}"));
        }
    }
    t.render(o);
}

/// Whether some workload has token figures (TTFT, TPOT, output tokens):
/// the summary's and the report's token columns appear only then.
pub(super) fn any_tokens(r: &RunResult) -> bool {
    r.workloads.values().any(|w| w.ttft_ms.is_some() || w.tpot_ms.is_some() || w.output_tokens_per_s.is_some())
}

/// The token columns of the workloads table: time to first token and
/// time per output token (ms), output tokens per second.
pub(super) const TOKEN_HEADERS: [&str; 5] = ["ttft p50", "ttft p95", "tpot p50", "tpot p95", "out tok/s"];

/// A workload's token cells ([`TOKEN_HEADERS`]); `None` where it has no
/// such figure (or nothing behind a percentile).
pub(super) fn token_cells(w: &WorkloadResult) -> [Option<String>; 5] {
    let p = |l: &Option<LatencySummary>, v: fn(&LatencySummary) -> Option<f64>| l.as_ref().and_then(v).map(ms);
    [
        p(&w.ttft_ms, |l| l.p50),
        p(&w.ttft_ms, |l| l.p95),
        p(&w.tpot_ms, |l| l.p50),
        p(&w.tpot_ms, |l| l.p95),
        w.output_tokens_per_s.map(|x| format!("{x:.1}")),
    ]
}

/// A workload's token goodput in words: "1,234 requests met TTFT ≤ 2000 ms
/// and TPOT ≤ 50.00 ms (97.5% of those that ended), 12.3/s".
pub(super) fn token_goodput_line(g: &TokenGoodput) -> String {
    let bounds: Vec<String> = [("TTFT", g.ttft_ms), ("TPOT", g.tpot_ms)]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} ≤ {} ms", ms(v))))
        .collect();
    let bounds = if bounds.is_empty() { "the token SLO".to_string() } else { bounds.join(" and ") };
    format!(
        "{} {} met {bounds} ({:.1}% of those that ended), {:.1}/s",
        thousands(g.met),
        if g.met == 1 { "request" } else { "requests" },
        100.0 * g.attainment,
        g.goodput_per_s
    )
}

/// Whether an SLO check bounds a token latency (`ttft_p95`, `tpot_mean`, …).
pub(super) fn is_token_stat(stat: &str) -> bool {
    stat.starts_with("ttft_") || stat.starts_with("tpot_")
}

/// The token checks of the workload's SLOs in words: "ttft_p95 1234 ms ≤
/// 2000 ms ✓, tpot_p95 61.20 ms ≤ 50.00 ms ✗" (`None`: no such check).
pub(super) fn token_slo_line(r: &RunResult, workload: &str) -> Option<String> {
    let parts: Vec<String> = r
        .slo
        .iter()
        .filter(|s| s.workload == workload)
        .flat_map(|s| &s.checks)
        .filter(|c| is_token_stat(&c.stat))
        .map(|c| format!("{} {} ms ≤ {} ms {}", c.stat, opt_ms(c.value), ms(c.limit), if c.pass { "✓" } else { "✗" }))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The columns of the inference servers table after the service.
pub(super) const INFERENCE_HEADERS: [&str; 13] = [
    "iterations",
    "busy",
    "batch mean",
    "batch max",
    "waiting mean",
    "waiting max",
    "kv mean",
    "kv max",
    "preempted",
    "too long",
    "out tok/s",
    "loads",
    "load s mean",
];

/// One inference service's cells ([`INFERENCE_HEADERS`]); the mean load
/// time `None` when no model load started.
pub(super) fn inference_cells(x: &InferenceResult) -> [Option<String>; 13] {
    [
        Some(thousands(x.iterations)),
        Some(share(x.busy_share)),
        Some(format!("{:.2}", x.batch_mean)),
        Some(thousands(x.batch_max)),
        Some(format!("{:.2}", x.waiting_mean)),
        Some(thousands(x.waiting_max)),
        Some(share(x.kv_used_mean)),
        Some(share(x.kv_used_max)),
        Some(thousands(x.preemptions)),
        Some(thousands(x.too_long)),
        Some(format!("{:.1}", x.output_tokens_per_s)),
        Some(thousands(x.model_loads)),
        (x.model_loads > 0).then(|| format!("{:.1}", x.model_load_s_mean)),
    ]
}

/// A row per inference service.
fn inference_table(o: &mut String, r: &RunResult) {
    let mut t = columns(0, "inference server", &INFERENCE_HEADERS).note("busy: GPU; kv: KV cache used");
    for (name, s) in &r.services {
        if let Some(x) = &s.inference {
            let cells = inference_cells(x).into_iter().map(|c| c.unwrap_or_else(|| "—".into()));
            t.row(std::iter::once(name.clone()).chain(cells).collect());
        }
    }
    t.render(o);
}

/// What a workload's edge client did, in one line.
pub(super) fn client_line(c: &crate::metrics::ClientResult) -> String {
    format!(
        "{} attempts ({} retries, x{:.2} per request), {} timed out; ok at first try {}, after retrying {}; \
         gave up waiting {}",
        thousands(c.attempts),
        thousands(c.retries),
        c.amplification,
        thousands(c.timeouts),
        thousands(c.first_try_ok),
        thousands(c.ok_after_retry),
        thousands(c.gave_up)
    )
}

fn services_table(o: &mut String, r: &RunResult) {
    let headers = [
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
        "wasted s",
    ];
    let mut t = columns(0, "service", &headers);
    for (name, s) in &r.services {
        let replicas = if s.replicas.min == s.replicas.max {
            s.replicas.max.to_string()
        } else {
            format!("{}-{}", s.replicas.min, s.replicas.max)
        };
        t.row(vec![
            name.clone(),
            replicas,
            format!("{:.1}%", s.utilization * 100.0),
            format!("{:.2}", s.mean_in_system),
            format!("{:.2}", s.mean_queue_len),
            ms(s.queue_wait_ms_mean),
            ms(s.cpu_wait_ms_mean),
            thousands(s.arrivals),
            thousands(s.rejected),
            thousands(s.timeouts),
            opt_ms(s.latency_ms.p50),
            opt_ms(s.latency_ms.p99),
            format!("{:.2}", s.amplification),
            format!("{:.2}", s.wasted_cpu_s),
        ]);
    }
    t.render(o);
}

fn edges_table(o: &mut String, r: &RunResult) {
    let headers: Vec<&str> = super::table::EDGE_HEADERS.into_iter().chain(["p50 ms", "p99 ms"]).collect();
    let mut t = columns(0, "call edge", &headers);
    for (name, e) in &r.edges {
        let lat = [opt_ms(e.latency_ms.p50), opt_ms(e.latency_ms.p99)];
        t.row(std::iter::once(name.clone()).chain(super::table::edge_counts(e).map(thousands)).chain(lat).collect());
    }
    t.render(o);
}

/// The columns of the queues table after the name: counts, depth and lag,
/// then the time to processed (the same in the run report).
pub(super) const QUEUE_HEADERS: [&str; 13] = [
    "published",
    "processed",
    "redelivered",
    "DLQ",
    "rejected",
    "dropped",
    "depth max",
    "depth end",
    "lag end",
    "lag max s",
    "util",
    "p50 ms",
    "p99 ms",
];

/// A queue consumer group's name as a row of the queues table shows it:
/// `group → service.endpoint (mode)`.
pub(super) fn group_label(group: &str, g: &crate::metrics::QueueGroupResult) -> String {
    format!("{group} → {} ({})", g.endpoint, g.mode)
}

/// The cells after the name of a queue's row ([`QUEUE_HEADERS`]); `None`
/// where the figure is per group (lag end, utilization), a latency `None`
/// as `—`.
pub(super) fn queue_cells(q: &crate::metrics::QueueResult) -> [Option<String>; 13] {
    let l = &q.time_to_processed_ms;
    [
        Some(thousands(q.published)),
        Some(thousands(q.processed)),
        Some(thousands(q.redelivered)),
        Some(thousands(q.dead_lettered)),
        Some(thousands(q.rejected)),
        Some(thousands(q.dropped)),
        Some(thousands(q.depth_max)),
        Some(thousands(q.depth_end)),
        None,
        Some(format!("{:.2}", q.lag_max_s)),
        None,
        Some(opt_ms(l.p50)),
        Some(opt_ms(l.p99)),
    ]
}

/// The cells after the name of a consumer group's row: `None` where the
/// figure is the queue's (published, rejected).
pub(super) fn group_cells(g: &crate::metrics::QueueGroupResult) -> [Option<String>; 13] {
    let l = &g.time_to_processed_ms;
    [
        None,
        Some(thousands(g.processed)),
        Some(thousands(g.redelivered)),
        Some(thousands(g.dead_lettered)),
        None,
        Some(thousands(g.dropped)),
        Some(thousands(g.depth_max)),
        Some(thousands(g.depth_end)),
        Some(thousands(g.lag_end)),
        Some(format!("{:.2}", g.lag_max_s)),
        Some(format!("{:.1}%", g.consumer_utilization * 100.0)),
        Some(opt_ms(l.p50)),
        Some(opt_ms(l.p99)),
    ]
}

/// Publishers that waited for room in a full queue, in words (`None`: none did).
pub(super) fn blocked_line(q: &crate::metrics::QueueResult) -> Option<String> {
    (q.blocked > 0).then(|| {
        format!("blocked: {} publishes waited for room, mean {} ms", thousands(q.blocked), opt_ms(q.blocked_ms_mean))
    })
}

/// One row per queue, one indented row per consumer group under it.
fn queues_table(o: &mut String, r: &RunResult) {
    let (counts, lat) = QUEUE_HEADERS.split_at(QUEUE_HEADERS.len() - 2);
    let mut t = columns(0, "queue", counts).sep();
    for h in lat {
        t = t.col(h, Align::Right);
    }
    let mut t = t.note("time to processed");
    let row = |name: String, cells: [Option<String>; 13]| {
        std::iter::once(name).chain(cells.into_iter().map(Option::unwrap_or_default)).collect()
    };
    for (name, q) in &r.queues {
        t.row(row(name.clone(), queue_cells(q)));
        for (group, g) in &q.groups {
            t.row(row(format!("  {}", group_label(group, g)), group_cells(g)));
        }
        if let Some(b) = blocked_line(q) {
            t.text(format!("  {name} {b}"));
        }
    }
    t.render(o);
}

/// Server-side latency per endpoint, for services with several.
fn endpoints_table(o: &mut String, r: &RunResult) {
    let rows = super::table::split_endpoints(r);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o);
    let mut t = columns(0, "endpoint", &["completed", "errors", "mean ms", "p50 ms", "p95 ms", "p99 ms"]);
    for (name, e) in rows {
        let l = &e.latency_ms;
        t.row(vec![
            name,
            thousands(e.completed),
            thousands(e.errors),
            opt_ms(l.mean),
            opt_ms(l.p50),
            opt_ms(l.p95),
            opt_ms(l.p99),
        ]);
    }
    t.render(o);
}

fn chain_table(o: &mut String, hops: &[ChainHop]) {
    let throttled = any_throttled(hops);
    let headers: &[&str] = if throttled {
        &["visits", "queue", "cpu", "throttled", "network", "delay", "wasted", "share"]
    } else {
        &["visits", "queue", "cpu", "network", "delay", "wasted", "share"]
    };
    let mut t = columns(2, "hop", headers);
    let total: f64 = hops.iter().map(hop_total).sum();
    for h in hops {
        let share = if total > 0.0 { 100.0 * hop_total(h) / total } else { 0.0 };
        let mut cells = vec![
            format!("{}{}.{}", "  ".repeat(h.depth as usize), h.service, h.endpoint),
            format!("{:.2}", h.visits),
            ms(h.queue_ms),
            ms(h.cpu_ms),
        ];
        if throttled {
            cells.push(ms(h.throttled_ms));
        }
        cells.extend([ms(h.network_ms), ms(h.delay_ms), ms(h.wasted_ms), format!("{share:.1}%")]);
        t.row(cells);
    }
    t.render(o);
}

pub(super) fn hop_total(h: &ChainHop) -> f64 {
    h.queue_ms + h.cpu_ms + h.network_ms + h.delay_ms + h.wasted_ms + h.backoff_ms + h.throttled_ms
}

/// Whether some hop of a chain waited out a CFS period (the chain's tables
/// and waterfalls show a throttled part only then).
pub(super) fn any_throttled(hops: &[ChainHop]) -> bool {
    hops.iter().any(|h| h.throttled_ms > 0.0)
}

/// `3` or `3-7`: the least and most of a count over the run.
fn min_max(s: &crate::metrics::ReplicaSummary) -> String {
    if s.min == s.max { s.max.to_string() } else { format!("{}-{}", s.min, s.max) }
}

/// A share as a percentage with one decimal.
fn share(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The cluster in words: nodes and their cost, replicas that waited for a
/// node, what the platform took away, what the cluster autoscaler and the
/// failures did (the terminal summary's and the run report's lines).
pub(super) fn cluster_lines(c: &ClusterResult) -> [String; 3] {
    let cost = c.cost.map_or_else(String::new, |x| format!(", cost {x:.2}"));
    let pending = if c.pending == 0 {
        "no replica waited Pending for a node".to_string()
    } else {
        format!(
            "{} {} waited Pending for a node: mean {:.1} s, max {:.1} s",
            thousands(c.pending),
            if c.pending == 1 { "replica" } else { "replicas" },
            c.pending_s_mean,
            c.pending_s_max
        )
    };
    [
        format!("{} nodes (mean {:.2}), {:.2} node-hours{cost}", min_max(&c.nodes), c.nodes.mean, c.node_hours),
        pending,
        format!(
            "evictions: {}, OOM kills: {}; nodes added: {}, removed: {}, failed: {}",
            thousands(c.evictions),
            thousands(c.oom_kills),
            thousands(c.nodes_added),
            thousands(c.nodes_removed),
            thousands(c.node_failures)
        ),
    ]
}

/// The columns of the node pools table after the pool's name.
pub(super) const POOL_HEADERS: [&str; 9] =
    ["nodes", "mean", "added", "removed", "node-h", "cost", "cpu req", "cpu used", "mem req"];

/// One pool's cells ([`POOL_HEADERS`]); the cost `None` when the pool has no price.
pub(super) fn pool_cells(p: &PoolResult) -> [Option<String>; 9] {
    [
        Some(min_max(&p.nodes)),
        Some(format!("{:.2}", p.nodes.mean)),
        Some(thousands(p.nodes_added)),
        Some(thousands(p.nodes_removed)),
        Some(format!("{:.2}", p.node_hours)),
        p.cost.map(|x| format!("{x:.2}")),
        Some(share(p.cpu_requested_share)),
        Some(share(p.cpu_used_share)),
        Some(share(p.memory_requested_share)),
    ]
}

/// The columns of the CPU limits and throttling table after the service.
pub(super) const PLATFORM_HEADERS: [&str; 11] = [
    "cpu req",
    "limit",
    "cpu used",
    "throttled",
    "throttled s",
    "OOM kills",
    "evictions",
    "pending",
    "wait mean s",
    "wait max s",
    "mem max MiB",
];

/// One service's cells ([`PLATFORM_HEADERS`]): `None` for no CPU limit and
/// no memory figure; the pending waits `None` when nothing waited.
pub(super) fn platform_cells(p: &PlatformResult) -> [Option<String>; 11] {
    let waited = p.pending > 0;
    [
        Some(format!("{:.2}", p.cpu_request)),
        p.cpu_limit.map(|x| format!("{x:.2}")),
        Some(format!("{:.2}", p.cpu_used_mean)),
        Some(share(p.throttled_share)),
        Some(format!("{:.2}", p.throttled_s)),
        Some(thousands(p.oom_kills)),
        Some(thousands(p.evictions)),
        Some(thousands(p.pending)),
        waited.then(|| format!("{:.1}", p.pending_s_mean)),
        waited.then(|| format!("{:.1}", p.pending_s_max)),
        p.memory_mib_max.map(|x| format!("{x:.0}")),
    ]
}

/// The platform's figures per service that has them.
fn platform_table(o: &mut String, r: &RunResult) {
    let mut t = columns(0, "service", &PLATFORM_HEADERS).note("cpu in cores");
    for (name, s) in &r.services {
        if let Some(p) = &s.platform {
            let cells = platform_cells(p).into_iter().map(|c| c.unwrap_or_else(|| "—".into()));
            t.row(std::iter::once(name.clone()).chain(cells).collect());
        }
    }
    t.render(o);
}

/// The cluster in three lines, then a row per node pool.
fn cluster_block(o: &mut String, c: &ClusterResult) {
    let [nodes, pending, lost] = cluster_lines(c);
    let _ = writeln!(o, "cluster: {nodes}\n  {pending}\n  {lost}");
    if c.pools.is_empty() {
        return;
    }
    let mut t = columns(2, "pool", &POOL_HEADERS);
    for (name, p) in &c.pools {
        let cells = pool_cells(p).into_iter().map(|c| c.unwrap_or_else(|| "—".into()));
        t.row(std::iter::once(name.clone()).chain(cells).collect());
    }
    t.render(o);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{RunOptions, run};

    /// A real result of a two-service run, its numbers then blown up to
    /// sizes that overflowed the old fixed-width columns.
    fn huge_result() -> RunResult {
        let m = crate::spec::testing::model(
            "duration: 2s
services:
  front: { endpoints: { e: { steps: [ { work: 1ms }, { call: db.q, retry: { attempts: 2 } }, { call: db.r } ] } } }
  db: { endpoints: { q: { work: 1ms }, r: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 50/s } ]
",
        );
        let mut r = run(&m, &RunOptions::default());
        let big = |l: &mut LatencySummary| {
            for v in [&mut l.mean, &mut l.p50, &mut l.p90, &mut l.p95, &mut l.p99, &mut l.p999, &mut l.max] {
                *v = Some(12345678.9);
            }
        };
        for w in r.workloads.values_mut() {
            (w.offered, w.ok, w.failed) = (12_345_678_901, 11_326_875_000, 1_018_803_901);
            w.failures.error = 1_018_803_901;
            w.causes =
                vec![crate::metrics::FailureCause { kind: "error".into(), at: "db".into(), count: 1_018_803_901 }];
            w.goodput_per_s = 12345678.9;
            big(&mut w.latency_ms);
        }
        for s in r.services.values_mut() {
            (s.arrivals, s.rejected, s.timeouts) = (1_326_875_123, 987_654_321, 123_456_789);
            (s.utilization, s.mean_in_system, s.mean_queue_len) = (1.0, 12345678.9, 1234567.89);
            (s.queue_wait_ms_mean, s.cpu_wait_ms_mean, s.amplification, s.wasted_cpu_s) =
                (12345678.9, 9876543.2, 12345.67, 12345678.9);
            (s.replicas.min, s.replicas.max) = (1000, 12000);
            big(&mut s.latency_ms);
        }
        for e in r.edges.values_mut() {
            let n = 1_326_875_123_456;
            (e.calls, e.attempts, e.retries, e.hedges, e.timeouts) = (n, n, n, n, n);
            (e.short_circuits, e.throttled, e.failures, e.skipped) = (n, n, n, n);
        }
        for c in r.chains.values_mut() {
            for h in c.mean.iter_mut().chain(c.p50.iter_mut()).chain(c.p99.iter_mut()) {
                (h.visits, h.queue_ms, h.cpu_ms, h.network_ms) = (12345.0, 12345678.9, 12345678.9, 12345678.9);
                (h.delay_ms, h.wasted_ms) = (12345678.9, 12345678.9);
            }
        }
        r
    }

    /// The rows of the table whose header starts with `header`: lines up
    /// to the next blank line, free-text lines (`failed:`) left out.
    fn table<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
        let mut lines = text.lines().skip_while(|l| !l.trim_start().starts_with(header));
        let head = lines.next().unwrap_or_else(|| panic!("no table {header} in\n{text}"));
        let rows = lines.take_while(|l| !l.trim().is_empty() && !l.contains(" above p99"));
        std::iter::once(head).chain(rows.filter(|l| !l.contains("failed:"))).collect()
    }

    fn assert_aligned(text: &str, header: &str, cells: usize) {
        crate::report::table::testing::assert_aligned(&table(text, header), cells);
    }

    #[test]
    fn huge_numbers_keep_every_column_apart_and_aligned() {
        let r = huge_result();
        assert!(!r.edges.is_empty() && !r.chains.is_empty());
        let text = summary(&r);
        // name, 4 counts, │, 7 latencies (the header adds a note after them)
        let wl = table(&text, "workload");
        assert_eq!(wl[1].split_whitespace().count(), 13, "{text}");
        assert!(wl[1].contains("12,345,678,901"), "{text}");
        assert_eq!(table(&text, "workload")[0].split_whitespace().count(), 15, "latency ms: {text}");
        assert_aligned(&text.replace("latency ms", ""), "workload", 13);
        assert_aligned(&text, "service", 14);
        assert_aligned(&text.replace("call edge", "call_edge"), "call_edge", 12);
        assert_aligned(&text, "hop", 8);
        assert!(text.contains("failed: 1,018,803,901 error at db"), "{text}");
    }

    #[test]
    fn queues_have_a_row_and_a_row_per_consumer_group() {
        let mut r = huge_result();
        assert!(!summary(&r).contains("\nqueue "), "no queues, no table");
        crate::report::testing::add_queues(&mut r);
        r.queues.get_mut("orders").unwrap().blocked = 1_234;
        r.queues.get_mut("orders").unwrap().blocked_ms_mean = Some(12.5);
        let text = summary(&r);
        let rows = table(&text, "queue");
        assert_eq!(rows.len(), 5, "header, the queue, two groups, the blocked line: {text}");
        assert!(rows[0].ends_with("p50 ms  p99 ms  time to processed"), "{text}");
        let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            cells(rows[1]),
            ["orders", "3,510", "4,700", "33", "7", "4", "0", "2,345", "2,300", "41.25", "│", "900", "8100"],
            "{text}"
        );
        assert!(rows[2].starts_with("  audit → audit.record (competing) "), "{text}");
        assert!(rows[2].ends_with("│       —       —"), "a latency with nothing behind it: {text}");
        assert!(rows[3].starts_with("  billing → billing.charge (partitioned) "), "{text}");
        assert_eq!(
            cells(rows[3])[4..],
            ["1,200", "31", "7", "0", "2,345", "2,300", "2,316", "41.25", "99.8%", "│", "15000", "135000"],
            "{text}"
        );
        // Every row's cells end under their headers.
        let header_end = |h: &str| rows[0].find(h).unwrap() + h.len();
        for h in ["published", "DLQ", "lag end", "lag max s", "util", "p99 ms"] {
            let col = rows[0][..header_end(h)].chars().count();
            for row in &rows[1..4] {
                let c: Vec<char> = row.chars().collect();
                assert!(c.get(col).is_none_or(|&x| x == ' '), "{h} in {row:?}");
            }
        }
        assert!(text.contains("  orders blocked: 1,234 publishes waited for room, mean 12.50 ms"), "{text}");
        let caches_or_edges = text.find("call edge").unwrap();
        assert!(text.find("\nqueue ").unwrap() > caches_or_edges, "after the edges: {text}");
    }

    /// A cluster: three lines and a row per pool; the services with a
    /// platform get a row each; the chains a throttled column. Without:
    /// none of it.
    #[test]
    fn a_cluster_has_a_block_a_platform_table_and_throttled_chains() {
        let mut r = huge_result();
        let before = summary(&r);
        assert!(!before.contains("cluster:") && !before.contains("throttled s"), "{before}");
        assert!(!table(&before, "hop")[0].contains("throttled"), "{before}");
        crate::report::testing::add_cluster(&mut r, &["db"]);
        let text = summary(&r);
        assert!(
            text.contains(
                "\ncluster: 3-5 nodes (mean 3.75), 8.13 node-hours, cost 2.33\n\
                 \x20 3 replicas waited Pending for a node: mean 2.5 s, max 4.0 s\n\
                 \x20 evictions: 1, OOM kills: 2; nodes added: 2, removed: 0, failed: 1\n"
            ),
            "{text}"
        );
        let pools = table(&text, "pool");
        assert_eq!(pools.len(), 3, "{text}");
        let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            cells(pools[1]),
            ["general", "2-4", "2.75", "2", "0", "6.13", "2.33", "62.5%", "41.0%", "50.0%"],
            "{text}"
        );
        assert_eq!(cells(pools[2])[6], "—", "no price: {text}");
        assert_aligned(&text, "pool", 10);
        let platform = table(&text, "service  cpu req");
        assert_eq!(platform.len(), 2, "db only: {text}");
        assert_eq!(
            cells(platform[1]),
            ["db", "0.50", "1.00", "0.88", "31.2%", "12.50", "2", "1", "3", "2.5", "4.0", "700"],
            "{text}"
        );
        assert_aligned(&text.replace("cpu in cores", ""), "service  cpu req", 12);
        let hop = table(&text, "hop");
        assert!(hop[0].contains(" cpu  throttled "), "{text}");
        assert_aligned(&text, "hop", 9);
        let db = hop.iter().find(|l| l.contains("db.")).unwrap();
        assert_eq!(cells(db)[4], "7.25", "{text}");
        // Without throttled time, no column; the cluster block stays.
        for c in r.chains.values_mut() {
            for h in c.mean.iter_mut().chain(c.p99.iter_mut()) {
                h.throttled_ms = 0.0;
            }
        }
        let text = summary(&r);
        assert!(!table(&text, "hop")[0].contains("throttled") && text.contains("\ncluster: "), "{text}");
    }

    /// Inference servers: token columns in the workloads table (a dash for a
    /// workload without), the token goodput and SLO checks under the row, a
    /// row per inference service. Without: none of it, the same text.
    #[test]
    fn inference_servers_have_token_columns_a_table_and_goodput() {
        let mut r = huge_result();
        let before = summary(&r);
        for absent in ["ttft", "tpot", "tok/s", "inference server", "token"] {
            assert!(!before.contains(absent), "{absent}: {before}");
        }
        // Token fields left empty change nothing.
        for w in r.workloads.values_mut() {
            (w.ttft_ms, w.tpot_ms, w.output_tokens_per_s, w.token_goodput) = (None, None, None, None);
        }
        assert_eq!(summary(&r), before);
        crate::report::testing::add_inference(&mut r, "db", "w");
        let text = summary(&r);
        let wl = table(&text, "workload");
        assert!(
            wl[0].ends_with("│  ttft p50  ttft p95  tpot p50  tpot p95  out tok/s  latency, ttft, tpot ms"),
            "{text}"
        );
        let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        let row = cells(wl[1]);
        assert_eq!(row.len(), 19, "{text}");
        assert_eq!(row[13..], ["│", "250", "750", "20.50", "61.50", "6857.1"], "{text}");
        assert!(
            text.contains(
                "\n  token goodput: 2,100 requests met TTFT ≤ 2000 ms and TPOT ≤ 50.00 ms (87.5% of those that ended), 30.0/s\n\
                 \x20 token SLO: ttft_p95 750 ms ≤ 2000 ms ✓, tpot_p95 61.50 ms ≤ 50.00 ms ✗\n"
            ),
            "{text}"
        );
        let without_notes: String =
            text.lines().filter(|l| !l.starts_with("  token ")).map(|l| format!("{l}\n")).collect();
        let spaced = without_notes
            .replace("latency, ttft, tpot ms", "")
            .replace("ttft p", "ttft_p")
            .replace("tpot p", "tpot_p")
            .replace("out tok", "out_tok");
        assert_aligned(&spaced, "workload", 19);
        let inf = table(&text, "inference server");
        assert_eq!(inf.len(), 2, "db only: {text}");
        assert_eq!(
            cells(inf[1]),
            ["db", "12,345", "87.7%", "23.46", "64", "3.50", "41", "62.5%", "100.0%", "17", "2", "6857.1", "1", "93.3"],
            "{text}"
        );
        assert!(text.find("\ninference server").unwrap() < text.find("call edge").unwrap(), "before the edges: {text}");
        // A workload that generates no tokens gets dashes.
        let w = r.workloads.get_mut("w").unwrap();
        (w.ttft_ms, w.tpot_ms, w.output_tokens_per_s) = (None, None, Some(0.0));
        let text = summary(&r);
        assert!(
            table(&text, "workload")[1].ends_with("│         —         —         —         —        0.0"),
            "{text}"
        );
        // No model load: no mean load time.
        r.services.get_mut("db").unwrap().inference.as_mut().unwrap().model_loads = 0;
        let text = summary(&r);
        assert!(table(&text, "inference server")[1].ends_with("  0            —"), "{text}");
    }

    #[test]
    fn a_latency_with_nothing_behind_it_is_a_dash() {
        let mut r = huge_result();
        for w in r.workloads.values_mut() {
            w.latency_ms = LatencySummary::default();
        }
        for s in r.services.values_mut() {
            s.latency_ms = LatencySummary::default();
        }
        let text = summary(&r);
        let row = table(&text, "workload")[1];
        assert_eq!(row.matches('—').count(), 7, "{text}");
        assert_eq!(table(&text, "service")[1].matches('—').count(), 2, "{text}");
        assert_aligned(&text.replace("latency ms", ""), "workload", 13);
    }
}
