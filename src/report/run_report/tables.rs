//! The run report's tables: workloads (with failure causes), services,
//! call edges, caches, queues, the cluster's node pools and the services'
//! CPU limits and throttling, and where the time goes hop by hop. Every number is
//! formatted as the terminal summary formats it.

use super::super::page::{Block, Cell, Format, Page, Table, Text};
use super::super::table::{ms, opt_ms, thousands};
use super::super::text::{self as summary_text, causes, client_line, hop_total};
use super::charts;
use crate::metrics::{ChainHop, FindingKind, LatencySummary, RunResult};

fn lat_cells(l: &LatencySummary) -> impl Iterator<Item = Cell> {
    [l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max].into_iter().map(|v| Cell::opt(v.map(ms)))
}

pub(super) fn workloads(p: &mut Page, r: &RunResult) {
    p.heading(2, "Workloads");
    p.paragraph(Text::plain(
        "Requests that arrived after the warm-up; latencies (ms) are end to end, of the requests that succeeded \
         (— when none did). Failures are counted by their root cause: where the failure began.",
    ));
    let tokens = summary_text::any_tokens(r);
    if tokens {
        p.paragraph(Text::plain(
            "ttft: time to first token, from the request's start to the first token's arrival; tpot: time per \
             output token after the first (ms, of the requests that succeeded and generated tokens; — for a \
             workload without); out tok/s: output tokens of successful requests per second.",
        ));
    }
    let mut headers = vec!["offered", "ok", "failed", "goodput/s", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"];
    if tokens {
        headers.extend(summary_text::TOKEN_HEADERS);
    }
    let mut t = Table::new("workload", &headers);
    for (name, w) in &r.workloads {
        let mut cells = vec![
            Cell::Code(name.clone()),
            Cell::num(thousands(w.offered)),
            Cell::num(thousands(w.ok)),
            Cell::num(thousands(w.failed)),
            Cell::num(format!("{:.1}", w.goodput_per_s)),
        ];
        cells.extend(lat_cells(&w.latency_ms));
        if tokens {
            cells.extend(summary_text::token_cells(w).into_iter().map(Cell::opt));
        }
        t.row(cells);
        if w.failed > 0 {
            t.note(Text::new().code(name).t(format!(" failed: {}", causes(&w.causes))));
        }
        if let Some(c) = &w.client {
            t.note(Text::new().code(name).t(format!(" client: {}", client_line(c))));
        }
        if let Some(g) = &w.token_goodput {
            add_note(
                &mut t,
                Text::new().code(name).t(format!(" token goodput: {}", summary_text::token_goodput_line(g))),
            );
        }
        if let Some(l) = summary_text::token_slo_line(r, name) {
            add_note(&mut t, Text::new().code(name).t(format!(" token SLO: {l}")));
        }
    }
    p.push(Block::Table(t));
}

/// Adds `more` to the note under the table's last row, after the note
/// already there (a row has one note: [`Table::note`] replaces it).
fn add_note(t: &mut Table, more: Text) {
    let row = t.rows.last_mut().expect("a note goes under a row");
    match &mut row.note {
        Some(n) => {
            let mut spans = std::mem::replace(n, Text::new()).t("; ").0;
            spans.extend(more.0);
            *n = Text(spans);
        }
        None => row.note = Some(more),
    }
}

/// The "Inference servers" section (services with `inference:`): a row per
/// service as in the terminal summary, then the charts over time.
pub(super) fn inference(p: &mut Page, r: &RunResult) {
    if r.services.values().all(|s| s.inference.is_none()) {
        return;
    }
    p.heading(2, "Inference servers");
    p.paragraph(Text::plain(
        "Per inference service, all replicas, over the measured period: iterations run and busy, the share of \
         replica time an iteration was running (the GPU; replicas loading the model count as idle); batch: \
         sequences per iteration, mean and most; waiting: sequences waiting to be admitted to a batch, \
         time-average and most at once; kv: the share of the KV cache in use, time-average and the most on one \
         replica; preempted: sequences evicted from a full KV cache (recomputed later); too long: prompts refused \
         because they could never fit the KV cache; out tok/s: output tokens per second; loads: model loads \
         started (new replicas, restarts) and their mean time (s).",
    ));
    let mut t = Table::new("service", &summary_text::INFERENCE_HEADERS);
    for (name, s) in &r.services {
        if let Some(x) = &s.inference {
            let cells = summary_text::inference_cells(x).into_iter().map(Cell::opt);
            t.row(std::iter::once(Cell::Code(name.clone())).chain(cells).collect());
            t.note(Text::new().code(name).t(format!(
                ": {} sequences finished, {} prompt tokens computed (recomputation included), {} output tokens",
                thousands(x.sequences),
                thousands(x.prefill_tokens),
                thousands(x.output_tokens)
            )));
        }
    }
    p.push(Block::Table(t));
    let figs = charts::inference_figures(r);
    if !figs.is_empty() {
        p.only(Format::Html, Block::Figures(figs));
    }
}

pub(super) fn services(p: &mut Page, r: &RunResult) {
    p.heading(2, "Services");
    p.paragraph(Text::plain(
        "util: busy cores over serving cores; in-sys and queue: time-average attempts admitted or queued, and \
         queued; q-wait and cpu-wait: mean waits for a slot and for a core (ms); timeouts: attempts their caller \
         timed out on; ampl: attempts arriving per request entering the system; wasted: CPU seconds spent on \
         attempts whose caller had given up.",
    ));
    let headers = [
        "replicas",
        "util",
        "in-sys",
        "queue",
        "queue max",
        "q-wait ms",
        "cpu-wait ms",
        "arrivals",
        "rejected",
        "timeouts",
        "p50 ms",
        "p99 ms",
        "ampl",
        "wasted s",
    ];
    let mut t = Table::new("service", &headers);
    for (name, s) in &r.services {
        let replicas = if s.replicas.min == s.replicas.max {
            s.replicas.max.to_string()
        } else {
            format!("{}-{}", s.replicas.min, s.replicas.max)
        };
        t.row(vec![
            Cell::Code(name.clone()),
            Cell::num(replicas),
            Cell::num(format!("{:.1}%", s.utilization * 100.0)),
            Cell::num(format!("{:.2}", s.mean_in_system)),
            Cell::num(format!("{:.2}", s.mean_queue_len)),
            Cell::num(thousands(s.queue_len_max)),
            Cell::num(ms(s.queue_wait_ms_mean)),
            Cell::num(ms(s.cpu_wait_ms_mean)),
            Cell::num(thousands(s.arrivals)),
            Cell::num(thousands(s.rejected)),
            Cell::num(thousands(s.timeouts)),
            Cell::opt(s.latency_ms.p50.map(ms)),
            Cell::opt(s.latency_ms.p99.map(ms)),
            Cell::num(format!("{:.2}", s.amplification)),
            Cell::num(format!("{:.2}", s.wasted_cpu_s)),
        ]);
        if !s.scale_events.is_empty() {
            t.note(Text::new().code(name).t(format!(
                ": {} rescales, {:.2} replica-hours, mean {:.2} replicas",
                s.scale_events.len(),
                s.replica_hours,
                s.replicas.mean
            )));
        }
    }
    p.push(Block::Table(t));
}

pub(super) fn edges(p: &mut Page, r: &RunResult) {
    if r.edges.is_empty() {
        return;
    }
    p.heading(2, "Call edges");
    let headers: Vec<&str> = crate::report::table::EDGE_HEADERS.into_iter().chain(["p50 ms", "p99 ms"]).collect();
    let mut t = Table::new("call edge", &headers);
    for (name, e) in &r.edges {
        let counts = crate::report::table::edge_counts(e);
        let lat = [Cell::opt(e.latency_ms.p50.map(ms)), Cell::opt(e.latency_ms.p99.map(ms))];
        t.row(
            std::iter::once(Cell::Code(name.clone()))
                .chain(counts.map(|n| Cell::num(thousands(n))))
                .chain(lat)
                .collect(),
        );
    }
    t.note(Text::plain(
        "Latency of successful calls as the caller saw them: first attempt sent to the answer, retries and backoff included.",
    ));
    p.push(Block::Table(t));
}

/// Server-side latency per endpoint, for services with several.
pub(super) fn endpoints(p: &mut Page, r: &RunResult) {
    let rows = crate::report::table::split_endpoints(r);
    if rows.is_empty() {
        return;
    }
    p.heading(2, "Endpoints");
    let mut t = Table::new("endpoint", &["completed", "errors", "mean ms", "p50 ms", "p95 ms", "p99 ms"]);
    for (name, e) in rows {
        let l = &e.latency_ms;
        t.row(vec![
            Cell::Code(name),
            Cell::num(thousands(e.completed)),
            Cell::num(thousands(e.errors)),
            Cell::opt(l.mean.map(ms)),
            Cell::opt(l.p50.map(ms)),
            Cell::opt(l.p95.map(ms)),
            Cell::opt(l.p99.map(ms)),
        ]);
    }
    t.note(Text::plain("Server-side: arrival at the replica to response sent, for services with several endpoints."));
    p.push(Block::Table(t));
}

pub(super) fn caches(p: &mut Page, r: &RunResult) {
    if r.caches.is_empty() {
        return;
    }
    p.heading(2, "Caches");
    // Keyed caches (`caches:`) add what their store did.
    let keyed = r.caches.values().any(|c| c.entries_end.is_some());
    let cols: &[&str] = if keyed {
        &["hits", "misses", "hit ratio", "evictions", "expirations", "entries at end"]
    } else {
        &["hits", "misses", "hit ratio"]
    };
    let mut t = Table::new("cache", cols);
    let count = |v: Option<u64>| v.map_or(Cell::Missing, |n| Cell::num(thousands(n)));
    for (name, c) in &r.caches {
        let total = (c.hits + c.misses).max(1) as f64;
        let mut row = vec![
            Cell::Code(name.clone()),
            Cell::num(thousands(c.hits)),
            Cell::num(thousands(c.misses)),
            Cell::num(format!("{:.1}%", 100.0 * c.hits as f64 / total)),
        ];
        if keyed {
            row.extend([count(c.evictions), count(c.expirations), count(c.entries_end)]);
        }
        t.row(row);
    }
    p.push(Block::Table(t));
}

/// One row per queue and an indented row per consumer group, as in the
/// terminal summary; the findings about the queues after it.
pub(super) fn queues(p: &mut Page, r: &RunResult) {
    if r.queues.is_empty() {
        return;
    }
    p.heading(2, "Queues");
    p.paragraph(Text::plain(
        "Messages after the warm-up. Each consumer group receives every message: a queue's row covers all its \
         groups (processed, redelivered and DLQ — dead-lettered after their last delivery — over every group; \
         depth and lag the most of any group), a group's row is its own. \
         depth: messages waiting (most, and at the end); lag end: messages waiting or being processed at the end; \
         lag max: the age of the oldest waiting message, most over the run (s); util: busy consumers over \
         consumers; p50 and p99: time to processed (ms), from the broker accepting a message to a consumer \
         finishing it successfully (— when none did).",
    ));
    let mut t = Table::new("queue", &summary_text::QUEUE_HEADERS);
    let cells = |c: [Option<String>; 13]| c.into_iter().map(|v| Cell::num(v.unwrap_or_default()));
    let lat = |c: &mut Vec<Cell>, l: &LatencySummary| {
        // Latencies with nothing behind them are `—`, as everywhere.
        let n = c.len();
        c[n - 2] = Cell::opt(l.p50.map(ms));
        c[n - 1] = Cell::opt(l.p99.map(ms));
    };
    for (name, q) in &r.queues {
        let mut row: Vec<Cell> =
            std::iter::once(Cell::Code(name.clone())).chain(cells(summary_text::queue_cells(q))).collect();
        lat(&mut row, &q.time_to_processed_ms);
        t.row(row);
        if let Some(b) = summary_text::blocked_line(q) {
            t.note(Text::new().code(name).t(format!(" {b}")));
        }
        for (group, g) in &q.groups {
            let label = format!("\u{a0}\u{a0}{}", summary_text::group_label(group, g));
            let mut row: Vec<Cell> =
                std::iter::once(Cell::Code(label)).chain(cells(summary_text::group_cells(g))).collect();
            lat(&mut row, &g.time_to_processed_ms);
            t.row(row);
        }
    }
    p.push(Block::Table(t));
    let about: Vec<&crate::metrics::Finding> =
        r.findings.iter().filter(|f| matches!(f.kind, FindingKind::Backlog | FindingKind::DeadLetters)).collect();
    if !about.is_empty() {
        let items = about
            .iter()
            .map(|f| Text::new().strong(f.kind.word()).t(" at ").code(&f.subject).t(format!(": {}", f.message)))
            .collect();
        p.paragraph(Text::plain("Findings about the queues (see Findings for their windows):"));
        p.push(Block::List(items));
    }
}

/// The "Cluster" section (with `cluster:`): the nodes in words, a row per
/// node pool, the nodes and the CPU per pool over time; then, when some
/// service has them, its CPU limits and throttling (a subsection, or a
/// section of its own without a cluster).
pub(super) fn cluster(p: &mut Page, r: &RunResult) {
    if let Some(c) = &r.cluster {
        p.heading(2, "Cluster");
        p.paragraph(Text::plain(
            "The nodes under the services, over the measured period: replicas are placed on nodes by their \
             requests, wait Pending while none fits, and share their node's cores.",
        ));
        let [nodes, pending, lost] = summary_text::cluster_lines(c);
        p.push(Block::Facts(vec![
            ("nodes".into(), Text::plain(nodes)),
            ("pending".into(), Text::plain(pending)),
            ("disruptions".into(), Text::plain(lost)),
        ]));
        if !c.pools.is_empty() {
            let mut t = Table::new("pool", &summary_text::POOL_HEADERS);
            for (name, pool) in &c.pools {
                let cells = summary_text::pool_cells(pool).into_iter().map(Cell::opt);
                t.row(std::iter::once(Cell::Code(name.clone())).chain(cells).collect());
            }
            t.note(Text::plain(
                "nodes: up, least–most and time-average; added and removed by the cluster autoscaler; node-h: node \
                 hours; cost: node hours × the pool's price (— without one); cpu req, cpu used, mem req: \
                 time-average share of the pool's cores requested by pods and used, and of its memory requested.",
            ));
            p.push(Block::Table(t));
        }
        let figs = charts::cluster_figures(r);
        if !figs.is_empty() {
            p.only(Format::Html, Block::Figures(figs));
        }
    }
    if r.services.values().all(|s| s.platform.is_none()) {
        return;
    }
    p.heading(if r.cluster.is_some() { 3 } else { 2 }, "CPU limits and throttling");
    p.paragraph(Text::plain(
        "Per service, in cores: its replicas' CPU request and limit (— without one) and the mean CPU a replica \
         used; throttled: the share of CFS periods in which a replica used up its quota and waited for the next \
         period, and the replica-seconds spent waiting; OOM kills (memory limit passed) and evictions; replicas \
         that waited Pending for a node and their mean and longest wait (s); the most memory a replica used (MiB).",
    ));
    let mut t = Table::new("service", &summary_text::PLATFORM_HEADERS);
    for (name, s) in &r.services {
        if let Some(pl) = &s.platform {
            let cells = summary_text::platform_cells(pl).into_iter().map(Cell::opt);
            t.row(std::iter::once(Cell::Code(name.clone())).chain(cells).collect());
        }
    }
    p.push(Block::Table(t));
    if let Some(fig) = charts::throttled_figure(r) {
        p.only(Format::Html, Block::Figures(vec![fig]));
    }
}

pub(in crate::report) fn chain_table(hops: &[ChainHop]) -> Table {
    let throttled = summary_text::any_throttled(hops);
    let headers: &[&str] = if throttled {
        &["visits", "queue", "cpu", "throttled", "network", "backoff", "delay", "wasted", "share"]
    } else {
        &["visits", "queue", "cpu", "network", "backoff", "delay", "wasted", "share"]
    };
    let mut t = Table::new("hop", headers);
    let total: f64 = hops.iter().map(hop_total).sum();
    for h in hops {
        let share = if total > 0.0 { 100.0 * hop_total(h) / total } else { 0.0 };
        let mut row = vec![
            Cell::Code(format!("{}{}.{}", "\u{a0}\u{a0}".repeat(h.depth as usize), h.service, h.endpoint)),
            Cell::num(format!("{:.2}", h.visits)),
            Cell::num(ms(h.queue_ms)),
            Cell::num(ms(h.cpu_ms)),
        ];
        if throttled {
            row.push(Cell::num(ms(h.throttled_ms)));
        }
        row.extend([
            Cell::num(ms(h.network_ms)),
            Cell::num(ms(h.backoff_ms)),
            Cell::num(ms(h.delay_ms)),
            Cell::num(ms(h.wasted_ms)),
            Cell::num(format!("{share:.1}%")),
        ]);
        t.row(row);
    }
    t
}

pub(super) fn chains(p: &mut Page, r: &RunResult) {
    if r.chains.values().all(|c| c.mean.is_empty()) {
        return;
    }
    p.heading(2, "Where the time goes");
    p.paragraph(Text::plain(
        "The critical path of a successful request, hop by hop (ms per request): waiting for a slot or a core \
         (queue), on a core (cpu), on the wire (network), between retries (backoff), in delay steps (delay), and \
         on attempts the caller then gave up on (wasted). The median chain averages the requests between p45 and \
         p55, the p99 chain those at or above p99.",
    ));
    let throttled =
        r.chains.values().any(|c| [&c.mean, &c.p50, &c.p99].into_iter().any(|h| summary_text::any_throttled(h)));
    if throttled {
        p.paragraph(Text::plain(
            "Throttled: waiting for the next CFS period after the replica's CPU quota (its limit) ran out.",
        ));
    }
    for (name, c) in &r.chains {
        if c.mean.is_empty() {
            continue;
        }
        let end_to_end = r.workloads.get(name).map(|w| opt_ms(w.latency_ms.mean)).unwrap_or_else(|| "—".into());
        p.heading(3, format!("{name} (mean end to end {end_to_end} ms)"));
        chain_blocks(p, name, c);
    }
}

/// A workload's chains as waterfalls (HTML) and tables: the mean
/// successful request, the median one and the p99 one (those that exist).
pub(crate) fn chain_blocks(p: &mut Page, name: &str, c: &crate::metrics::Chains) {
    let kinds = [
        ("mean successful request", &c.mean),
        ("median request (p45–p55)", &c.p50),
        ("requests at or above p99", &c.p99),
    ];
    let present = || kinds.iter().filter(|(_, hops)| !hops.is_empty());
    let figs = present().map(|(what, hops)| charts::chain_figure(name, what, hops)).collect();
    p.only(Format::Html, Block::Figures(figs));
    for (what, hops) in present() {
        let mut what = what.to_string();
        if let Some(first) = what.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        p.paragraph(Text::plain(format!("{what}:")));
        p.push(Block::Table(chain_table(hops)));
    }
}
