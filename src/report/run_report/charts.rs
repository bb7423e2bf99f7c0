//! The run report's figures: time charts from the series (per workload
//! latency, goodput against offered load, errors; the busiest services'
//! utilization and queues, replicas, amplification; keyed caches' hit
//! ratio; each queue consumer group's depth and lag; the nodes and CPU per
//! node pool, throttled time per service) with the warm-up, faults and
//! findings on them; the latency chain waterfalls; the topology diagram.

use super::super::chart::{Bars, Diagram, Line, LineChart, Mark, Node, NodeKind, Shade, ShadeKind};
use super::super::page::{Block, Figure, Format, Page, Text};
use super::super::stored::{Stored, TopologyInfo};
use super::super::table::ms;
use crate::metrics::{
    ChainHop, Finding, FindingKind, InferenceRow, PoolRow, QueueRow, RunResult, Series, ServiceRow, TokenRow,
    WorkloadRow,
};

/// Most points a line gets: longer series are merged into buckets of
/// whole intervals.
const MAX_POINTS: usize = 600;
/// Most services on one chart.
const MAX_SERVICES: usize = 6;

/// Intervals per plotted point.
fn bucket(s: &Series) -> usize {
    let n = s.workloads.len().checked_div(s.workload_names.len()).unwrap_or(0);
    let n = n.max(s.services.len().checked_div(s.service_names.len()).unwrap_or(0));
    n.div_ceil(MAX_POINTS).max(1)
}

/// One point per bucket of `k` rows: x at the bucket's middle, y from `f`.
fn points<R>(
    rows: &[&R],
    t_s: fn(&R) -> f64,
    k: usize,
    width_s: f64,
    f: impl Fn(&[&R]) -> Option<f64>,
) -> Vec<(f64, Option<f64>)> {
    rows.chunks(k).map(|c| (t_s(c[0]) + c.len() as f64 * width_s / 2.0, f(c))).collect()
}

/// The sum of `v` over a bucket, per second.
fn rate<R>(c: &[&R], width_s: f64, v: fn(&R) -> u64) -> Option<f64> {
    Some(c.iter().map(|r| v(r) as f64).sum::<f64>() / (c.len() as f64 * width_s))
}

/// The largest value in a bucket (a latency percentile: the worst interval).
fn worst<R>(c: &[&R], v: fn(&R) -> Option<f64>) -> Option<f64> {
    c.iter().filter_map(|r| v(r)).reduce(f64::max)
}

/// The mean of `v` over a bucket.
fn mean<R>(c: &[&R], v: impl Fn(&R) -> f64) -> Option<f64> {
    Some(c.iter().map(|r| v(r)).sum::<f64>() / c.len() as f64)
}

fn mark_color(k: FindingKind) -> usize {
    match k {
        FindingKind::Saturation | FindingKind::Metastable => 1,
        FindingKind::PoolExhausted => 4,
        FindingKind::RetryStorm => 3,
        FindingKind::Recovered => 2,
        FindingKind::AutoscalerSlow | FindingKind::SloViolation => 5,
        FindingKind::Flapping | FindingKind::StoppedEarly => 6,
        FindingKind::Backlog | FindingKind::DeadLetters => 3,
    }
}

fn mark(f: &Finding) -> Mark {
    let mut windows: Vec<(f64, f64)> = f.windows.iter().map(|w| (w.from_s, w.to_s)).collect();
    if windows.is_empty() {
        windows.push((f.from_s, f.to_s));
    }
    Mark { label: format!("{} {}", f.kind, f.subject), windows, color: mark_color(f.kind) }
}

/// The time axis every chart shares: warm-up, faults, the part not
/// simulated; the findings about `subjects` (all when `None`).
struct Frame<'a> {
    r: &'a RunResult,
    k: usize,
    shades: Vec<Shade>,
}

impl Frame<'_> {
    fn new(r: &RunResult) -> Frame<'_> {
        let mut shades = Vec::new();
        if r.warmup_s > 0.0 {
            shades.push(Shade { from: 0.0, to: r.warmup_s, label: "warm-up".into(), kind: ShadeKind::Quiet });
        }
        for f in &r.faults {
            let to = f.end_s.unwrap_or(r.engine.sim_time_s);
            shades.push(Shade { from: f.at_s, to, label: format!("{} {}", f.kind, f.subject), kind: ShadeKind::Fault });
        }
        if !r.complete {
            let label = "not simulated (partial run)".to_string();
            shades.push(Shade { from: r.engine.sim_time_s, to: r.duration_s, label, kind: ShadeKind::Missing });
        }
        Frame { r, k: bucket(&r.series), shades }
    }

    fn chart(&self, title: String, y_label: &str, subjects: Option<&[&str]>) -> LineChart {
        let mut c = LineChart::new(title, "time (s)", y_label);
        c.x_range = (0.0, self.r.duration_s);
        c.shades = self.shades.clone();
        let about = |f: &&Finding| subjects.is_none_or(|s| s.contains(&f.subject.as_str()));
        c.marks =
            self.r.findings.iter().filter(about).filter(|f| f.kind != FindingKind::StoppedEarly).map(mark).collect();
        c
    }

    fn width_s(&self) -> f64 {
        self.r.series.interval_s
    }

    fn workload_rows(&self, w: usize) -> Vec<&WorkloadRow> {
        self.r.series.workloads.iter().filter(|r| r.workload as usize == w).collect()
    }

    fn service_rows(&self, name: &str) -> Vec<&ServiceRow> {
        let s = &self.r.series;
        match s.service_names.iter().position(|n| n == name) {
            Some(i) => s.services.iter().filter(|r| r.service as usize == i).collect(),
            None => Vec::new(),
        }
    }
}

fn pct(v: f64) -> String {
    format!("{v:.0}%")
}

/// How a chart says its points are merged.
fn per_point(f: &Frame) -> String {
    let s = f.width_s() * f.k as f64;
    if f.k == 1 { format!("per {s} s interval") } else { format!("per {s} s ({} intervals merged)", f.k) }
}

/// One latency percentile of a workload's row.
type Percentile = fn(&WorkloadRow) -> Option<f64>;

fn workload_figures(f: &Frame, w: usize, name: &str) -> Vec<Figure> {
    let rows = f.workload_rows(w);
    let (k, ws) = (f.k, f.width_s());
    let t = |r: &WorkloadRow| r.t_s;
    let mut lat = f.chart(format!("{name} — latency of successful requests"), "ms", None);
    lat.y_fmt = super::super::chart::plain;
    let pcts: [(&str, Percentile); 3] = [("p50", |r| r.p50_ms), ("p95", |r| r.p95_ms), ("p99", |r| r.p99_ms)];
    for (i, (label, v)) in pcts.into_iter().enumerate() {
        lat.lines.push(Line::new(label, [2, 0, 1][i], points(&rows, t, k, ws, |c| worst(c, v))));
    }
    let ys: Vec<f64> =
        lat.lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).filter(|y| *y > 0.0).collect();
    let (lo, hi) = (ys.iter().copied().fold(f64::MAX, f64::min), ys.iter().copied().fold(0.0, f64::max));
    lat.log_y = hi > 30.0 * lo;
    let mut good = f.chart(format!("{name} — offered load and goodput"), "requests/s", None);
    good.lines.push(Line::new("offered/s", 6, points(&rows, t, k, ws, |c| rate(c, ws, |r| r.offered))));
    good.lines.push(Line::new("ok/s (goodput)", 0, points(&rows, t, k, ws, |c| rate(c, ws, |r| r.ok))));
    let mut err = f.chart(format!("{name} — failed requests"), "requests/s", None);
    err.lines.push(Line::new("failed/s", 1, points(&rows, t, k, ws, |c| rate(c, ws, |r| r.failed))));
    let scale = if lat.log_y { "log scale, " } else { "" };
    let every = per_point(f);
    vec![
        Figure {
            svg: lat.to_svg(),
            caption: format!(
                "p50, p95 and p99 of the requests that succeeded, {every} ({scale}the worst interval where merged); \
                 gaps: none succeeded. Shaded: warm-up (grey), faults (red); lanes above: findings."
            ),
            wide: false,
        },
        Figure {
            svg: good.to_svg(),
            caption: format!("Requests arriving (grey) and succeeding, {every}."),
            wide: false,
        },
        Figure {
            svg: err.to_svg(),
            caption: format!("Requests that failed, {every}, by when they ended."),
            wide: false,
        },
    ]
}

/// Services sorted by `key` (largest first, then by name), the first few.
fn top(r: &RunResult, key: impl Fn(&crate::metrics::ServiceResult) -> f64) -> Vec<&str> {
    let mut v: Vec<(&str, f64)> = r.services.iter().map(|(n, s)| (n.as_str(), key(s))).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter().take(MAX_SERVICES).map(|x| x.0).collect()
}

/// A chart with one line per service in `names`, the value from `v`.
fn per_service(
    f: &Frame,
    title: &str,
    y: &str,
    names: &[&str],
    v: impl Fn(&[&ServiceRow]) -> Option<f64>,
) -> LineChart {
    let mut c = f.chart(title.to_string(), y, Some(names));
    for (i, n) in names.iter().enumerate() {
        let rows = f.service_rows(n);
        c.lines.push(Line::new(*n, i, points(&rows, |r| r.t_s, f.k, f.width_s(), &v)));
    }
    c
}

fn service_figures(f: &Frame) -> (Vec<Figure>, Option<String>) {
    let r = f.r;
    let every = per_point(f);
    let busiest = top(r, |s| s.utilization);
    let mut util = per_service(f, "Utilization of the busiest services", "% of cores", &busiest, |c| {
        mean(c, |r| r.utilization * 100.0)
    });
    util.y_max = Some(105.0);
    util.y_fmt = pct;
    let queued = top(r, |s| s.mean_queue_len + s.utilization * 1e-9);
    let queue =
        per_service(f, "Admission queue length", "attempts waiting", &queued, |c| mean(c, |r| r.queue_len as f64));
    let ampl_names = top(r, |s| s.amplification);
    let ampl = per_service(f, "Amplification", "attempts per request", &ampl_names, |c| mean(c, |r| r.amplification));
    let mut figs = vec![
        Figure { svg: util.to_svg(), caption: format!("Busy cores over serving cores, {every}."), wide: false },
        Figure {
            svg: queue.to_svg(),
            caption: format!(
                "Attempts waiting for an admission slot at the interval's end, {every} (mean where merged)."
            ),
            wide: false,
        },
        Figure {
            svg: ampl.to_svg(),
            caption: format!(
                "Attempts arriving at the service per request entering the system, {every}: above 1, retries or \
                 fan-out multiply the load."
            ),
            wide: false,
        },
    ];
    let changing: Vec<&str> = r
        .services
        .keys()
        .map(String::as_str)
        .filter(|n| {
            let rows = f.service_rows(n);
            rows.first().is_some_and(|a| {
                rows.iter().any(|b| b.replicas_ready != a.replicas_ready || b.replicas_total != a.replicas_total)
            })
        })
        .take(MAX_SERVICES)
        .collect();
    if changing.is_empty() {
        return (figs, Some("Replicas did not change during the run.".into()));
    }
    let mut reps = f.chart("Replicas".into(), "replicas", Some(&changing));
    for (i, n) in changing.iter().enumerate() {
        let rows = f.service_rows(n);
        let ready = points(&rows, |r| r.t_s, f.k, f.width_s(), |c| c.last().map(|r| r.replicas_ready as f64));
        let total = points(&rows, |r| r.t_s, f.k, f.width_s(), |c| c.last().map(|r| r.replicas_total as f64));
        reps.lines.push(Line::new(format!("{n} ready"), i, ready));
        let mut t = Line::new(format!("{n} total"), i, total);
        t.dashed = true;
        reps.lines.push(t);
    }
    figs.insert(
        0,
        Figure {
            svg: reps.to_svg(),
            caption: format!("Ready replicas (solid) and all replicas — starting, ready, draining (dashed), {every}."),
            wide: false,
        },
    );
    (figs, None)
}

/// The "Over time" section (HTML only: Markdown has no images).
pub(super) fn over_time(p: &mut Page, r: &RunResult) {
    p.heading(2, "Over time");
    if r.series.workloads.is_empty() && r.series.services.is_empty() {
        p.paragraph(Text::plain("No series were stored for this run."));
        return;
    }
    p.only(Format::Markdown, Block::Paragraph(Text::plain("The charts are in report.html, next to this file.")));
    let f = Frame::new(r);
    for (w, name) in r.series.workload_names.iter().enumerate() {
        p.only(Format::Html, Block::Heading(3, format!("Workload {name}")));
        p.only(Format::Html, Block::Figures(workload_figures(&f, w, name)));
    }
    p.only(Format::Html, Block::Heading(3, "Services".into()));
    let (figs, note) = service_figures(&f);
    if let Some(n) = note {
        p.only(Format::Html, Block::Paragraph(Text::plain(n)));
    }
    p.only(Format::Html, Block::Figures(figs));
    if !r.series.cache_names.is_empty() {
        p.only(Format::Html, Block::Heading(3, "Caches".into()));
        p.only(Format::Html, Block::Figures(vec![cache_figure(&f)]));
    }
    if !r.series.queue_names.is_empty() {
        p.only(Format::Html, Block::Heading(3, "Queues".into()));
        let (figs, note) = queue_figures(&f);
        if let Some(n) = note {
            p.only(Format::Html, Block::Paragraph(Text::plain(n)));
        }
        p.only(Format::Html, Block::Figures(figs));
    }
}

/// Most queue consumer groups charted (two charts each).
const MAX_QUEUE_GROUPS: usize = 12;

/// The charts of each queue consumer group (`queue/group` in the series):
/// messages waiting and being processed, and the age of the oldest
/// waiting one, over time; the findings about the group or its queue on
/// both. The sentence to say when some groups are left out.
fn queue_figures(f: &Frame) -> (Vec<Figure>, Option<String>) {
    let s = &f.r.series;
    let every = per_point(f);
    let mut figs = Vec::new();
    for (i, name) in s.queue_names.iter().enumerate().take(MAX_QUEUE_GROUPS) {
        let rows: Vec<&QueueRow> = s.queues.iter().filter(|r| r.queue as usize == i).collect();
        let queue = name.split('/').next().unwrap_or(name);
        let subjects = [name.as_str(), queue];
        let t = |r: &QueueRow| r.t_s;
        let mut depth = f.chart(format!("{name} — messages"), "messages", Some(&subjects));
        depth.lines.push(Line::new(
            "waiting (depth)",
            1,
            points(&rows, t, f.k, f.width_s(), |c| mean(c, |r| r.depth as f64)),
        ));
        let mut busy =
            Line::new("being processed", 0, points(&rows, t, f.k, f.width_s(), |c| mean(c, |r| r.in_flight as f64)));
        busy.dashed = true;
        depth.lines.push(busy);
        let mut lag = f.chart(format!("{name} — lag"), "s", Some(&subjects));
        lag.lines.push(Line::new(
            "oldest waiting message",
            3,
            points(&rows, t, f.k, f.width_s(), |c| worst(c, |r| Some(r.lag_s))),
        ));
        figs.push(Figure {
            svg: depth.to_svg(),
            caption: format!(
                "Messages waiting for a consumer of the group (depth) and being processed (dashed) at the interval's \
                 end, {every} (mean where merged): a depth that keeps climbing is a backlog."
            ),
            wide: false,
        });
        figs.push(Figure {
            svg: lag.to_svg(),
            caption: format!(
                "Age of the oldest message waiting for the group at the interval's end (0 when none waits), {every} \
                 (the worst interval where merged)."
            ),
            wide: false,
        });
    }
    let more = s.queue_names.len().saturating_sub(MAX_QUEUE_GROUPS);
    (
        figs,
        (more > 0).then(|| {
            format!("The first {MAX_QUEUE_GROUPS} consumer groups are charted; {more} more are in queues.csv.")
        }),
    )
}

/// The node pools over time (`nodes.csv`): nodes up and being provisioned
/// per pool with the replicas Pending; CPU requested and used per pool.
/// None without rows.
pub(super) fn cluster_figures(r: &RunResult) -> Vec<Figure> {
    let s = &r.series;
    if s.pools.is_empty() {
        return Vec::new();
    }
    let f = Frame::new(r);
    let every = per_point(&f);
    let names: Vec<&str> = s.pool_names.iter().map(String::as_str).take(MAX_SERVICES).collect();
    let rows = |i: usize| -> Vec<&PoolRow> { s.pools.iter().filter(|r| r.pool as usize == i).collect() };
    let t = |r: &PoolRow| r.t_s;
    let (k, ws) = (f.k, f.width_s());
    let mut nodes = f.chart("Nodes per pool".into(), "nodes", Some(&names));
    let mut cpu = f.chart("CPU requested and used per pool".into(), "cores", Some(&names));
    for (i, name) in names.iter().enumerate() {
        let rows = rows(i);
        let last = |v: fn(&PoolRow) -> u64| move |c: &[&PoolRow]| c.last().map(|r| v(r) as f64);
        nodes.lines.push(Line::new(format!("{name} nodes"), i, points(&rows, t, k, ws, last(|r| r.nodes))));
        if rows.iter().any(|r| r.provisioning > 0) {
            let mut l = Line::new(format!("{name} provisioning"), i, points(&rows, t, k, ws, last(|r| r.provisioning)));
            l.dashed = true;
            nodes.lines.push(l);
        }
        let mut req =
            Line::new(format!("{name} requested"), i, points(&rows, t, k, ws, |c| mean(c, |r| r.cpu_requested)));
        req.dashed = true;
        cpu.lines.push(req);
        cpu.lines.push(Line::new(format!("{name} used"), i, points(&rows, t, k, ws, |c| mean(c, |r| r.cpu_used))));
    }
    // Pending replicas are cluster-wide, the same on every pool's row.
    let first = rows(0);
    if first.iter().any(|r| r.pending > 0) {
        let pending = points(&first, t, k, ws, |c| c.last().map(|r| r.pending as f64));
        nodes.lines.push(Line::new("replicas Pending", 7, pending));
    }
    vec![
        Figure {
            svg: nodes.to_svg(),
            caption: format!(
                "Nodes up per pool (solid) and being provisioned (dashed) at the interval's end, and the replicas \
                 waiting Pending for a node (black), {every} (the last interval where merged)."
            ),
            wide: false,
        },
        Figure {
            svg: cpu.to_svg(),
            caption: format!(
                "Cores requested by the pods on each pool (dashed) and used (solid), time-average {every} (mean \
                 where merged): used far below requested is capacity paid for and idle."
            ),
            wide: false,
        },
    ]
}

/// One figure of a token row (a TTFT or TPOT percentile).
type TokenStat = fn(&TokenRow) -> Option<f64>;
/// A token chart: what it shows, its short name, its two percentiles.
type TokenChart<'a> = (&'a str, &'a str, [(&'a str, TokenStat); 2]);

/// The inference servers over time: per workload that generates tokens,
/// TTFT and TPOT p50/p95 (`tokens.csv`); per inference service (the first
/// few), batch size and waiting sequences, KV-cache use, GPU busy share and
/// preemptions (`inference.csv`). None without rows.
pub(super) fn inference_figures(r: &RunResult) -> Vec<Figure> {
    let s = &r.series;
    let f = Frame::new(r);
    let every = per_point(&f);
    let (k, ws) = (f.k, f.width_s());
    let mut figs = Vec::new();
    for (w, name) in s.workload_names.iter().enumerate() {
        let rows: Vec<&TokenRow> = s.tokens.iter().filter(|r| r.workload as usize == w).collect();
        if rows.is_empty() {
            continue;
        }
        let t = |r: &TokenRow| r.t_s;
        let subjects = [name.as_str()];
        let stats: [TokenChart; 2] = [
            ("time to first token", "TTFT", [("p50", |r| r.ttft_p50_ms), ("p95", |r| r.ttft_p95_ms)]),
            ("time per output token", "TPOT", [("p50", |r| r.tpot_p50_ms), ("p95", |r| r.tpot_p95_ms)]),
        ];
        for (what, short, pcts) in stats {
            let mut c = f.chart(format!("{name} — {what}"), "ms", Some(&subjects));
            c.y_fmt = super::super::chart::plain;
            for (i, (label, v)) in pcts.into_iter().enumerate() {
                c.lines.push(Line::new(
                    format!("{short} {label}"),
                    [2, 0][i],
                    points(&rows, t, k, ws, |c| worst(c, v)),
                ));
            }
            figs.push(Figure {
                svg: c.to_svg(),
                caption: format!(
                    "{short} p50 and p95 of the requests that succeeded, {every} (the worst interval where merged); \
                     gaps: none succeeded. Shaded: warm-up (grey), faults (red)."
                ),
                wide: false,
            });
        }
    }
    let names: Vec<&str> = s
        .service_names
        .iter()
        .enumerate()
        .filter(|(i, _)| s.inference.iter().any(|r| r.service as usize == *i))
        .map(|(_, n)| n.as_str())
        .take(MAX_SERVICES)
        .collect();
    if names.is_empty() {
        return figs;
    }
    let rows = |name: &str| -> Vec<&InferenceRow> {
        let ix = s.service_names.iter().position(|n| n == name).map(|i| i as u32);
        s.inference.iter().filter(|r| Some(r.service) == ix).collect()
    };
    let t = |r: &InferenceRow| r.t_s;
    let mut batch = f.chart("Batch size and waiting sequences".into(), "sequences", Some(&names));
    let mut kv = f.chart("KV-cache use".into(), "% of capacity", Some(&names));
    kv.y_max = Some(105.0);
    kv.y_fmt = pct;
    let mut busy = f.chart("GPU busy".into(), "% of replica time", Some(&names));
    busy.y_max = Some(105.0);
    busy.y_fmt = pct;
    let mut pre = f.chart("Preemptions".into(), "sequences/s", Some(&names));
    for (i, name) in names.iter().enumerate() {
        let rows = rows(name);
        // Iteration-weighted mean batch over the bucket; a gap without iterations.
        let batch_mean = |c: &[&InferenceRow]| {
            let (n, sum) = c.iter().fold((0u64, 0.0), |(n, sum), r| match r.batch_mean {
                Some(b) => (n + r.iterations, sum + b * r.iterations as f64),
                None => (n, sum),
            });
            (n > 0).then(|| sum / n as f64)
        };
        batch.lines.push(Line::new(format!("{name} batch"), i, points(&rows, t, k, ws, batch_mean)));
        let mut waiting = Line::new(format!("{name} waiting"), i, points(&rows, t, k, ws, |c| mean(c, |r| r.waiting)));
        waiting.dashed = true;
        batch.lines.push(waiting);
        kv.lines.push(Line::new(*name, i, points(&rows, t, k, ws, |c| mean(c, |r| r.kv_used * 100.0))));
        busy.lines.push(Line::new(*name, i, points(&rows, t, k, ws, |c| mean(c, |r| r.busy_share * 100.0))));
        pre.lines.push(Line::new(*name, i, points(&rows, t, k, ws, |c| rate(c, ws, |r| r.preemptions))));
    }
    figs.extend([
        Figure {
            svg: batch.to_svg(),
            caption: format!(
                "Sequences per iteration (solid, mean over the iterations) and sequences waiting to be admitted to a \
                 batch (dashed, time-average, all replicas), {every} (mean where merged); gaps: no iteration ran."
            ),
            wide: false,
        },
        Figure {
            svg: kv.to_svg(),
            caption: format!(
                "Share of the KV cache held by sequences (input and tokens generated so far), time-average over the \
                 replicas' capacity, {every}: near 100% the newest sequences are preempted."
            ),
            wide: false,
        },
        Figure {
            svg: busy.to_svg(),
            caption: format!(
                "Share of replica time an iteration was running (replicas loading the model count as idle), {every}."
            ),
            wide: false,
        },
        Figure {
            svg: pre.to_svg(),
            caption: format!(
                "Sequences preempted per second (the KV cache was full; they are recomputed later), {every}."
            ),
            wide: false,
        },
    ]);
    figs
}

/// Throttled seconds per interval of the services with a CPU limit (the
/// sum over their replicas of `replicas.csv`), the most throttled first.
/// None without rows.
pub(super) fn throttled_figure(r: &RunResult) -> Option<Figure> {
    let s = &r.series;
    let ws = s.interval_s;
    if s.replicas.is_empty() || ws <= 0.0 {
        return None;
    }
    let mut ranked: Vec<(&str, f64)> = r
        .services
        .iter()
        .filter_map(|(n, x)| x.platform.as_ref().map(|p| (n.as_str(), p.throttled_s)))
        .filter(|(n, _)| s.service_names.iter().any(|x| x == n))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let names: Vec<&str> = ranked.into_iter().take(MAX_SERVICES).map(|x| x.0).collect();
    if names.is_empty() {
        return None;
    }
    let f = Frame::new(r);
    let intervals = s.replicas.iter().map(|r| (r.t_s / ws).round() as usize + 1).max().unwrap_or(0);
    let mut c = f.chart("Throttled time per service".into(), "replica-seconds", Some(&names));
    for (i, name) in names.iter().enumerate() {
        let ix = s.service_names.iter().position(|x| x == name).map(|p| p as u32);
        let mut sums = vec![0.0; intervals];
        for row in s.replicas.iter().filter(|r| Some(r.service) == ix) {
            sums[(row.t_s / ws).round() as usize] += row.throttled_s;
        }
        let rows: Vec<(f64, f64)> = sums.into_iter().enumerate().map(|(j, v)| (j as f64 * ws, v)).collect();
        let refs: Vec<&(f64, f64)> = rows.iter().collect();
        c.lines.push(Line::new(*name, i, points(&refs, |r| r.0, f.k, ws, |c| mean(c, |r| r.1))));
    }
    Some(Figure {
        svg: c.to_svg(),
        caption: format!(
            "Seconds the service's replicas spent throttled (waiting for the next CFS period after using up their \
             CPU quota), summed over its replicas, {} (mean per interval where merged).",
            per_point(&f)
        ),
        wide: false,
    })
}

/// The hit ratio of each keyed cache over time.
fn cache_figure(f: &Frame) -> Figure {
    let s = &f.r.series;
    let names: Vec<&str> = s.cache_names.iter().map(String::as_str).take(MAX_SERVICES).collect();
    let mut c = f.chart("Hit ratio of the keyed caches".into(), "% of lookups", Some(&names));
    c.y_max = Some(105.0);
    c.y_fmt = pct;
    for (i, n) in names.iter().enumerate() {
        let rows: Vec<&crate::metrics::CacheRow> = s.caches.iter().filter(|r| r.cache as usize == i).collect();
        let ratio = |c: &[&crate::metrics::CacheRow]| {
            let (l, h) = c.iter().fold((0u64, 0u64), |(l, h), r| (l + r.lookups, h + r.hits));
            (l > 0).then(|| 100.0 * h as f64 / l as f64)
        };
        c.lines.push(Line::new(*n, i, points(&rows, |r| r.t_s, f.k, f.width_s(), ratio)));
    }
    Figure {
        svg: c.to_svg(),
        caption: format!(
            "Hits over lookups, {}; gaps: no lookup. A flush or a cold replica shows as a drop, refilling as a climb.",
            per_point(f)
        ),
        wide: false,
    }
}

/// A waterfall of one chain: each hop's time by part, after the hops before;
/// a throttled part (after cpu, black) only when some hop was throttled.
pub(in crate::report) fn chain_figure(workload: &str, which: &str, hops: &[ChainHop]) -> Figure {
    let throttled = super::super::text::any_throttled(hops);
    let mut parts = vec!["queue", "cpu", "network", "backoff", "delay", "wasted"];
    if throttled {
        parts.insert(2, "throttled");
    }
    let mut b = Bars::waterfall(
        format!("{workload} — {which}"),
        "ms along the critical path",
        parts.into_iter().map(String::from).collect(),
    );
    if throttled {
        b.colors = vec![0, 1, 7, 2, 3, 4, 5];
    }
    b.fmt = |v| format!("{} ms", ms(v));
    for h in hops {
        let label = format!("{}{}.{}", "\u{a0}\u{a0}".repeat(h.depth as usize), h.service, h.endpoint);
        let mut values = vec![h.queue_ms, h.cpu_ms, h.network_ms, h.backoff_ms, h.delay_ms, h.wasted_ms];
        if throttled {
            values.insert(2, h.throttled_ms);
        }
        b.push_next(label, values);
    }
    Figure {
        svg: b.to_svg(),
        caption: format!(
            "Where the time of the {which} goes: each hop's own time (ms) after the hops before it; the last bar ends \
             at the sum along the critical path."
        ),
        wide: false,
    }
}

/// The topology as boxes and arrows, services coloured by utilization.
pub(super) fn diagram(s: &Stored) -> Diagram {
    diagram_of(&s.topology, &s.result)
}

/// The topology `t` as boxes and arrows, with the figures of the run `r`.
pub(in crate::report) fn diagram_of(t: &TopologyInfo, r: &RunResult) -> Diagram {
    let mut d = Diagram { title: format!("{} — topology", r.name), ..Diagram::default() };
    for w in &t.workloads {
        let offered = r.workloads.get(&w.name).map(|r| r.offered);
        let mut lines = vec![w.name.clone(), format!("→ {}", w.target)];
        if let Some(n) = offered {
            lines.push(format!("{} requests", super::super::table::thousands(n)));
        }
        d.nodes.push(Node { kind: NodeKind::Client, lines, heat: None });
    }
    let base = d.nodes.len();
    for sv in &t.services {
        let res = r.services.get(&sv.name);
        let replicas = match sv.autoscale {
            Some([lo, hi]) => format!("{lo}–{hi} replicas (HPA)"),
            None => format!("{} × {} cpu", sv.replicas, sv.cpus),
        };
        let mut lines = vec![sv.name.clone(), replicas];
        if let Some(x) = res {
            lines.push(format!("{:.1}% busy, ampl {:.2}", x.utilization * 100.0, x.amplification));
        }
        d.nodes.push(Node { kind: NodeKind::Service, lines, heat: res.map(|x| x.utilization) });
    }
    let index = |name: &str| t.services.iter().position(|x| x.name == name).map(|i| base + i);
    for (i, w) in t.workloads.iter().enumerate() {
        if let Some(to) = index(&w.service) {
            d.edges.push((i, to, String::new()));
        }
    }
    for c in &t.calls {
        if let (Some(a), Some(b)) = (index(&c.from), index(&c.to)) {
            let mut label = c.label.first().cloned().unwrap_or_default();
            if c.label.len() > 1 {
                label.push_str(&format!(" (+{})", c.label.len() - 1));
            }
            d.edges.push((a, b, label));
        }
    }
    d
}
