//! The experiment report's figures: time charts per sweep point with one
//! line per variant (the mean over replications per interval, min–max
//! bands when few variants share a chart, the fault schedule shaded),
//! results against each swept value (a line per variant with its 95%
//! band), and the cost–latency frontier.
//!
//! The time charts come from sums per interval: each run's series is
//! folded into its point's [`OverTime`] accumulator and dropped, so memory
//! follows the charted points' length, not the number of runs.

use super::super::chart::{Line, LineChart, Shade, ShadeKind, plain};
use super::super::page::{Block, Figure, Format, Page, Text};
use super::label;
use super::tables::{axes, value_text};
use crate::experiment::Design;
use crate::experiment::Metric;
use crate::experiment::stats::Estimate;
use crate::experiment::summary::{ExperimentResult, PointResult};
use crate::metrics::{RunResult, Series};
use std::collections::BTreeMap;

/// Most points a time line gets: longer series are merged into buckets.
const MAX_POINTS: usize = 600;
/// Sweep points charted over time: all when there are at most this many,
/// else the first.
const MAX_SLICES: usize = 3;
/// Intervals a series may have; rows beyond are odd input and skipped.
const MAX_INTERVALS: usize = 1 << 20;
/// Lines on one chart (the palette's size).
const MAX_LINES: usize = 8;
/// Bands only when at most this many variants share a chart.
const BAND_VARIANTS: usize = 2;
/// Workloads charted against swept values.
const MAX_WORKLOADS: usize = 3;

/// Values of one figure in one interval across replications.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Acc {
    pub(super) n: u32,
    pub(super) sum: f64,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl Acc {
    fn add(&mut self, v: Option<f64>) {
        let Some(v) = v.filter(|v| v.is_finite()) else { return };
        if self.n == 0 {
            (self.lo, self.hi) = (v, v);
        } else {
            (self.lo, self.hi) = (self.lo.min(v), self.hi.max(v));
        }
        self.sum += v;
        self.n += 1;
    }
}

#[derive(Clone, Debug, Default)]
pub(super) struct WorkloadCell {
    offered: Acc,
    pub(super) ok: Acc,
    failed: Acc,
    p50: Acc,
    pub(super) p99: Acc,
}

#[derive(Clone, Debug, Default)]
struct ServiceCell {
    utilization: Acc,
    queue: Acc,
    replicas: Acc,
    amplification: Acc,
}

/// One point's series folded across its replications, by interval.
#[derive(Clone, Debug, Default)]
pub(super) struct PointSeries {
    pub(super) runs: u32,
    interval_s: f64,
    pub(super) workloads: BTreeMap<String, Vec<WorkloadCell>>,
    services: BTreeMap<String, Vec<ServiceCell>>,
}

/// The interval a row starts, if it is a sane one.
fn slot(t_s: f64, interval_s: f64) -> Option<usize> {
    let i = (t_s / interval_s).round();
    (i.is_finite() && i >= 0.0 && i < MAX_INTERVALS as f64).then_some(i as usize)
}

fn cell<T: Default + Clone>(v: &mut Vec<T>, i: usize) -> &mut T {
    if v.len() <= i {
        v.resize(i + 1, T::default());
    }
    &mut v[i]
}

impl PointSeries {
    fn fold(&mut self, s: &Series) {
        if !(s.interval_s > 0.0 && s.interval_s.is_finite()) {
            return;
        }
        self.runs += 1;
        self.interval_s = s.interval_s;
        let w = s.interval_s;
        for r in &s.workloads {
            let (Some(name), Some(i)) = (s.workload_names.get(r.workload as usize), slot(r.t_s, w)) else {
                continue;
            };
            let c = cell(self.workloads.entry(name.clone()).or_default(), i);
            c.offered.add(Some(r.offered as f64 / w));
            c.ok.add(Some(r.ok as f64 / w));
            c.failed.add(Some(r.failed as f64 / w));
            c.p50.add(r.p50_ms);
            c.p99.add(r.p99_ms);
        }
        for r in &s.services {
            let (Some(name), Some(i)) = (s.service_names.get(r.service as usize), slot(r.t_s, w)) else {
                continue;
            };
            let c = cell(self.services.entry(name.clone()).or_default(), i);
            c.utilization.add(Some(r.utilization * 100.0));
            c.queue.add(Some(r.queue_len as f64));
            c.replicas.add(Some(f64::from(r.replicas_ready)));
            c.amplification.add(Some(r.amplification));
        }
    }
}

/// A line's points (`None`: a gap) and its band `(x, low, high)`.
type Traced = (Vec<(f64, Option<f64>)>, Vec<(f64, f64, f64)>);

/// A charted sweep point: its sweep values and each variant's point index.
type Slice = (BTreeMap<String, serde_json::Value>, Vec<(String, usize)>);

/// A line against a swept value: its name, colour, and points.
type Group<'a> = (String, usize, Vec<(f64, &'a PointResult)>);

/// A line over time from per-interval cells: the mean per bucket of `k`
/// intervals, and the min–max band.
fn over_time<T>(cells: &[T], interval_s: f64, f: impl Fn(&T) -> Acc) -> Traced {
    let k = cells.len().div_ceil(MAX_POINTS).max(1);
    let (mut pts, mut band) = (Vec::new(), Vec::new());
    for (b, chunk) in cells.chunks(k).enumerate() {
        let x = (b * k) as f64 * interval_s + chunk.len() as f64 * interval_s / 2.0;
        let accs: Vec<Acc> = chunk.iter().map(&f).filter(|a| a.n > 0).collect();
        if accs.is_empty() {
            pts.push((x, None));
            continue;
        }
        let mean = accs.iter().map(|a| a.sum / f64::from(a.n)).sum::<f64>() / accs.len() as f64;
        let lo = accs.iter().map(|a| a.lo).fold(f64::INFINITY, f64::min);
        let hi = accs.iter().map(|a| a.hi).fold(f64::NEG_INFINITY, f64::max);
        pts.push((x, Some(mean)));
        band.push((x, lo, hi));
    }
    (pts, band)
}

/// The series of the points charted over time.
pub(super) struct OverTime {
    /// Per charted sweep point: the sweep values and each variant's point
    /// index (variant order).
    slices: Vec<Slice>,
    /// Sweep points left out.
    skipped: usize,
    pub(super) series: BTreeMap<usize, PointSeries>,
}

impl OverTime {
    pub(super) fn new(d: &Design) -> OverTime {
        let combos: Vec<&BTreeMap<String, serde_json::Value>> =
            d.points.iter().filter(|p| p.variant == d.baseline).map(|p| &p.sweep).collect();
        let keep = if combos.len() <= MAX_SLICES { combos.len() } else { 1 };
        let mut slices = Vec::new();
        let mut series = BTreeMap::new();
        for sweep in combos.iter().take(keep) {
            let mut members = Vec::new();
            for v in &d.variants {
                if let Some(i) = d.points.iter().position(|p| p.variant == v.name && &p.sweep == *sweep) {
                    members.push((v.name.clone(), i));
                    series.insert(i, PointSeries::default());
                }
            }
            slices.push(((*sweep).clone(), members));
        }
        OverTime { slices, skipped: combos.len() - keep, series }
    }

    pub(super) fn wants(&self, point: usize) -> bool {
        self.series.contains_key(&point)
    }

    pub(super) fn fold(&mut self, point: usize, s: &Series) {
        if let Some(ps) = self.series.get_mut(&point) {
            ps.fold(s);
        }
    }

    /// The "Over time" section (figures in the HTML only).
    pub(super) fn section(&self, p: &mut Page, d: &Design, first: Option<&RunResult>) {
        p.heading(2, "Over time");
        if self.series.values().all(|s| s.runs == 0) {
            p.paragraph(Text::plain("No series were stored for these runs."));
            return;
        }
        p.only(Format::Markdown, Block::Paragraph(Text::plain("The charts are in report.html, next to this file.")));
        let bands = d.variants.len() <= BAND_VARIANTS;
        p.paragraph(Text::plain(format!(
            "One line per variant: the mean over its replications in each interval{}. Shaded: the warm-up (grey) \
             and the faults (red) — the same schedule in every run.{}",
            if bands { ", with the band from the lowest to the highest replication" } else { "" },
            if self.skipped > 0 {
                format!(
                    " The first sweep point only ({} more are not charted over time; see the charts against the \
                     swept values).",
                    self.skipped
                )
            } else {
                String::new()
            }
        )));
        let mut shades = Vec::new();
        if d.warmup_s > 0.0 {
            shades.push(Shade { from: 0.0, to: d.warmup_s, label: "warm-up".into(), kind: ShadeKind::Quiet });
        }
        for f in first.map(|r| r.faults.as_slice()).unwrap_or_default() {
            let to = f.end_s.unwrap_or(d.duration_s);
            shades.push(Shade { from: f.at_s, to, label: format!("{} {}", f.kind, f.subject), kind: ShadeKind::Fault });
        }
        let frame = Frame { d, shades, bands };
        for (sweep, members) in &self.slices {
            if !sweep.is_empty() {
                p.only(Format::Html, Block::Heading(3, format!("At {}", sweep_words(sweep))));
            }
            let rows: Vec<(&str, usize, &PointSeries)> = members
                .iter()
                .enumerate()
                .filter_map(|(c, (v, i))| self.series.get(i).map(|s| (v.as_str(), c, s)))
                .collect();
            let workloads: Vec<&String> = rows.iter().flat_map(|r| r.2.workloads.keys()).collect();
            let mut workloads: Vec<&String> = workloads.into_iter().collect();
            workloads.sort();
            workloads.dedup();
            let mut figs = Vec::new();
            for w in workloads {
                figs.extend(frame.workload(&rows, w));
            }
            figs.extend(frame.services(&rows, first));
            p.only(Format::Html, Block::Figures(figs));
        }
    }
}

/// `min = 2, cpu = 60%`.
fn sweep_words(s: &BTreeMap<String, serde_json::Value>) -> String {
    s.iter().map(|(k, v)| format!("{k} = {}", value_text(v))).collect::<Vec<_>>().join(", ")
}

/// What every time chart shares.
struct Frame<'a> {
    d: &'a Design,
    shades: Vec<Shade>,
    bands: bool,
}

/// A variant's folded series: its name, its colour, the series.
type Member<'a> = (&'a str, usize, &'a PointSeries);

impl Frame<'_> {
    fn chart(&self, title: String, y: &str) -> LineChart {
        let mut c = LineChart::new(title, "time (s)", y);
        c.x_range = (0.0, self.d.duration_s);
        c.shades = self.shades.clone();
        c
    }

    fn line(&self, name: String, color: usize, (pts, band): Traced) -> Line {
        let mut l = Line::new(name, color, pts);
        if self.bands {
            l.band = band;
        }
        l
    }

    fn workload(&self, rows: &[Member], w: &str) -> Vec<Figure> {
        let cells = |s: &PointSeries| s.workloads.get(w).map(Vec::as_slice).unwrap_or_default().to_vec();
        let mut lat = self.chart(format!("{w} — latency of successful requests"), "ms");
        let mut good = self.chart(format!("{w} — goodput"), "requests/s");
        let mut err = self.chart(format!("{w} — failed requests"), "requests/s");
        for (i, &(v, c, s)) in rows.iter().enumerate() {
            let cs = cells(s);
            let at = s.interval_s;
            lat.lines.push(self.line(format!("{v} p99"), c, over_time(&cs, at, |x| x.p99)));
            let mut p50 = Line::new(format!("{v} p50"), c, over_time(&cs, at, |x| x.p50).0);
            p50.dashed = true;
            lat.lines.push(p50);
            if i == 0 {
                let mut offered = Line::new("offered/s (every variant)", 6, over_time(&cs, at, |x| x.offered).0);
                offered.dashed = true;
                good.lines.push(offered);
            }
            good.lines.push(self.line(v.to_string(), c, over_time(&cs, at, |x| x.ok)));
            err.lines.push(self.line(v.to_string(), c, over_time(&cs, at, |x| x.failed)));
        }
        let ys: Vec<f64> =
            lat.lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).filter(|y| *y > 0.0).collect();
        let (lo, hi) = (ys.iter().copied().fold(f64::MAX, f64::min), ys.iter().copied().fold(0.0, f64::max));
        lat.log_y = hi > 30.0 * lo;
        let scale = if lat.log_y { " (log scale)" } else { "" };
        vec![
            Figure {
                svg: lat.to_svg(),
                caption: format!(
                    "p99 (solid) and p50 (dashed) of the requests that succeeded{scale}, mean over replications per \
                     interval; gaps: none succeeded."
                ),
                wide: false,
            },
            Figure {
                svg: good.to_svg(),
                caption: "Requests succeeding per second per variant; offered load (grey, dashed) is the same in \
                          every variant (common random numbers)."
                    .into(),
                wide: false,
            },
            Figure {
                svg: err.to_svg(),
                caption: "Requests that failed per second, by when they ended.".into(),
                wide: false,
            },
        ]
    }

    fn services(&self, rows: &[Member], first: Option<&RunResult>) -> Vec<Figure> {
        let Some(r) = first else { return Vec::new() };
        let top = |key: &dyn Fn(&crate::metrics::ServiceResult) -> f64| {
            r.services
                .iter()
                .map(|(n, s)| (n.as_str(), key(s)))
                .reduce(|a, b| if b.1 > a.1 { b } else { a })
                .map(|x| x.0)
        };
        let mut figs = Vec::new();
        let mut per_service = |name: Option<&str>, title: &str, y: &str, caption: &str, f: fn(&ServiceCell) -> Acc| {
            let Some(name) = name else { return };
            let mut c = self.chart(format!("{title} — {name}"), y);
            for &(v, col, s) in rows {
                let cells = s.services.get(name).map(Vec::as_slice).unwrap_or_default();
                c.lines.push(self.line(v.to_string(), col, over_time(cells, s.interval_s, f)));
            }
            figs.push(Figure { svg: c.to_svg(), caption: caption.to_string(), wide: false });
        };
        // Services whose replicas change over time in some variant.
        let changing: Vec<&str> = r
            .services
            .keys()
            .map(String::as_str)
            .filter(|n| {
                rows.iter().any(|(_, _, s)| {
                    let vals: Vec<f64> = s
                        .services
                        .get(*n)
                        .into_iter()
                        .flatten()
                        .filter(|c| c.replicas.n > 0)
                        .map(|c| c.replicas.sum / f64::from(c.replicas.n))
                        .collect();
                    vals.iter().any(|v| (v - vals[0]).abs() > 1e-9)
                })
            })
            .take(2)
            .collect();
        for n in changing {
            per_service(Some(n), "Ready replicas", "replicas", "Ready replicas, mean over replications.", |c| {
                c.replicas
            });
        }
        per_service(
            top(&|s| s.utilization),
            "Utilization",
            "% of cores",
            "Busy cores over serving cores of the busiest service (in the baseline's first run).",
            |c| c.utilization,
        );
        per_service(
            top(&|s| s.mean_queue_len + s.utilization * 1e-9),
            "Admission queue",
            "attempts waiting",
            "Attempts waiting for an admission slot at each interval's end, at the service with the longest \
             queue in the baseline's first run.",
            |c| c.queue,
        );
        per_service(
            top(&|s| s.amplification),
            "Amplification",
            "attempts per request",
            "Attempts arriving per request entering the system, at the most amplified service: above 1, retries \
             or fan-out multiply the load.",
            |c| c.amplification,
        );
        figs
    }
}

/// A swept value as a number on the x axis (`50%` → 50, `2` → 2).
fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => {
            let end = s.find(|c: char| !(c.is_ascii_digit() || ".-+eE".contains(c))).unwrap_or(s.len());
            s[..end].parse().ok()
        }
        _ => None,
    }
}

/// Each value's place on the x axis: the numbers when every value is a
/// distinct number, else 0, 1, 2… (then `false`).
fn positions(vals: &[serde_json::Value]) -> (Vec<f64>, bool) {
    let nums: Option<Vec<f64>> = vals.iter().map(number).collect();
    match nums {
        Some(n) if n.windows(2).all(|w| w[0] != w[1]) && n.iter().all(|x| x.is_finite()) => (n, true),
        _ => ((0..vals.len()).map(|i| i as f64).collect(), false),
    }
}

/// The x range around `xs`, with room for the end markers.
fn padded(xs: &[f64]) -> (f64, f64) {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    (lo - pad, hi + pad)
}

/// The estimate of one figure of a point: a workload's or the system's.
fn figure<'a>(p: &'a PointResult, workload: Option<&str>, key: &str) -> Option<&'a Estimate> {
    match (workload, key) {
        (None, "replica_hours") => Some(&p.summary.replica_hours),
        (None, "cost") => p.summary.cost.as_ref(),
        (Some(w), k) => p.summary.workloads.get(w).and_then(|f| f.get(k)),
        _ => None,
    }
    .filter(|e| e.n > 0)
}

/// A latency SLO's bound in ms on `workload`'s statistic `stat`.
fn slo_bound(d: &Design, workload: &str, stat: &str) -> Option<f64> {
    d.slo.iter().filter(|s| s.workload == workload).flat_map(|s| &s.latency).find(|l| l.0 == stat).map(|l| l.1)
}

/// A dashed grey horizontal line at `y` across `x` (an SLO's bound).
fn bound_line(name: String, x: (f64, f64), y: f64) -> Line {
    let mut l = Line::new(name, 6, vec![(x.0, Some(y)), (x.1, Some(y))]);
    l.dashed = true;
    l
}

/// "Against the swept values" and the frontier.
pub(super) fn sweep(p: &mut Page, d: &Design, r: &ExperimentResult) {
    let ax = axes(d);
    if !ax.is_empty() {
        p.heading(2, "Against the swept values");
        p.only(
            Format::Markdown,
            Block::Paragraph(Text::plain("The charts are in report.html; points.csv has the numbers.")),
        );
        p.paragraph(Text::plain(
            "Each result against each swept value: one line per variant (and per value of the other swept keys), \
             the mean over replications with its 95% interval as a band.",
        ));
        let workloads: Vec<&String> =
            r.points.first().map(|x| x.summary.workloads.keys().take(MAX_WORKLOADS).collect()).unwrap_or_default();
        for (a, (key, vals)) in ax.iter().enumerate() {
            let (xs, numeric) = positions(vals);
            let short = key.rsplit('.').next().unwrap_or(key);
            let x_label = if numeric {
                short.to_string()
            } else {
                format!("{short}: {}", vals.iter().map(value_text).collect::<Vec<_>>().join(", "))
            };
            // Lines: a variant at the other keys' values.
            let mut groups: Vec<Group> = Vec::new();
            let mut keys: Vec<(String, BTreeMap<String, serde_json::Value>)> = Vec::new();
            for x in &r.points {
                let Some(pos) = x.sweep.get(key).and_then(|v| vals.iter().position(|w| w == v)) else { continue };
                let mut others = x.sweep.clone();
                others.remove(key);
                let gk = (x.variant.clone(), others.clone());
                let g = match keys.iter().position(|k| *k == gk) {
                    Some(g) => g,
                    None => {
                        keys.push(gk);
                        let name = if others.is_empty() {
                            x.variant.clone()
                        } else {
                            format!("{}, {}", x.variant, super::tables::sweep_short(&others))
                        };
                        let color = d.variants.iter().position(|v| v.name == x.variant).unwrap_or(0);
                        groups.push((name, color, Vec::new()));
                        groups.len() - 1
                    }
                };
                groups[g].2.push((xs[pos], x));
            }
            if groups.len() > MAX_LINES {
                // The other keys at their first values only.
                let first = r.points.first().map(|x| {
                    let mut o = x.sweep.clone();
                    o.remove(key);
                    o
                });
                let keep: Vec<bool> = keys.iter().map(|k| Some(&k.1) == first.as_ref()).collect();
                groups = groups.into_iter().zip(keep).filter(|(_, k)| *k).map(|(g, _)| g).take(MAX_LINES).collect();
            }
            if ax.len() > 1 || a > 0 {
                p.only(Format::Html, Block::Heading(3, format!("Against {key}")));
            }
            let mut charts: Vec<(Option<&str>, &str, String, &str)> = Vec::new();
            for w in &workloads {
                charts.push((Some(w.as_str()), "goodput_per_s", format!("{w} — goodput"), "requests/s"));
                charts.push((Some(w.as_str()), "p99_ms", format!("{w} — p99"), "ms"));
            }
            charts.push((None, "replica_hours", "Replica-hours".into(), "replica-hours"));
            if r.points.iter().any(|x| x.summary.cost.is_some()) {
                charts.push((None, "cost", "Cost".into(), "cost"));
            }
            let range = padded(&xs);
            let mut figs = Vec::new();
            for (w, k, title, y) in charts {
                let mut c = LineChart::new(title, x_label.clone(), y);
                c.x_range = range;
                for (name, color, pts) in &groups {
                    let est: Vec<(f64, Option<&Estimate>)> = pts.iter().map(|(x, pt)| (*x, figure(pt, w, k))).collect();
                    let mut l =
                        Line::new(name.clone(), *color, est.iter().map(|(x, e)| (*x, e.map(|e| e.mean))).collect());
                    l.markers = true;
                    l.band = est.iter().filter_map(|(x, e)| e.map(|e| (*x, e.ci95[0], e.ci95[1]))).collect();
                    c.lines.push(l);
                }
                if let (Some(w), "p99_ms") = (w, k)
                    && let Some(b) = slo_bound(d, w, "p99")
                {
                    c.lines.push(bound_line(format!("SLO p99 ≤ {} ms", plain(b)), range, b));
                }
                figs.push(Figure {
                    svg: c.to_svg(),
                    caption: format!("{} against {key}: mean over replications, 95% interval shaded.", c.title),
                    wide: false,
                });
            }
            p.only(Format::Html, Block::Figures(figs));
        }
    }
    frontier(p, d, r);
}

/// Cost (or replica-hours) against p99 for every point, the Pareto-optimal
/// ones joined, the objective's pick marked, the SLO bound drawn.
fn frontier(p: &mut Page, d: &Design, r: &ExperimentResult) {
    let Some(obj) = &d.objective else { return };
    if r.points.len() < 2 {
        return;
    }
    let (xk, x_label) = if obj.metric == Metric::Cost && r.points.iter().any(|x| x.summary.cost.is_some()) {
        ("cost", "cost")
    } else {
        ("replica_hours", "replica-hours")
    };
    let first_workload = r.points.first().and_then(|x| x.summary.workloads.keys().next().cloned());
    let wl = d
        .slo
        .iter()
        .find(|s| s.latency.iter().any(|l| l.0 == "p99"))
        .map(|s| s.workload.clone())
        .or_else(|| match &obj.metric {
            Metric::Latency { workload, .. } => Some(workload.clone()),
            _ => None,
        })
        .or(first_workload);
    let Some(wl) = wl else { return };
    let xy = |x: &PointResult| -> Option<(f64, f64)> {
        Some((figure(x, None, xk)?.mean, figure(x, Some(&wl), "p99_ms")?.mean))
    };
    let pts: Vec<(usize, f64, f64)> =
        r.points.iter().enumerate().filter_map(|(i, x)| xy(x).map(|(a, b)| (i, a, b))).collect();
    if pts.is_empty() {
        return;
    }
    let dominated = |a: &(usize, f64, f64)| pts.iter().any(|b| b.1 <= a.1 && b.2 <= a.2 && (b.1 < a.1 || b.2 < a.2));
    let mut pareto: Vec<(f64, f64)> = pts.iter().filter(|a| !dominated(a)).map(|a| (a.1, a.2)).collect();
    pareto.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.heading(2, "Cost against p99");
    p.paragraph(Text::plain(format!(
        "Every point's mean {x_label} against the mean p99 of {wl}: the Pareto-optimal points (no other point is \
         both cheaper and faster) are joined; the objective's pick is ringed; the dashed line is the SLO bound. \
         {} of {} points are on the frontier.",
        pareto.len(),
        pts.len()
    )));
    let xs: Vec<f64> = pts.iter().map(|a| a.1).collect();
    let range = padded(&xs);
    let mut c = LineChart::new(format!("{x_label} against {wl} p99"), x_label, "p99 ms");
    c.x_range = range;
    if let Some(b) = &r.best
        && let Some(i) = r.points.iter().position(|x| x.variant == b.variant && x.sweep == b.sweep)
        && let Some((bx, by)) = xy(&r.points[i])
    {
        let mut l = Line::new(format!("best: {}", label(&r.points[i])), 7, vec![(bx, Some(by))]);
        l.scatter = true;
        l.marker_px = 8;
        c.lines.push(l);
    }
    for (vi, v) in d.variants.iter().enumerate() {
        let mine: Vec<(f64, Option<f64>)> =
            pts.iter().filter(|a| r.points[a.0].variant == v.name).map(|a| (a.1, Some(a.2))).collect();
        if mine.is_empty() {
            continue;
        }
        let mut l = Line::new(v.name.clone(), vi, mine);
        l.scatter = true;
        l.marker_px = 4;
        c.lines.push(l);
    }
    let mut front = Line::new("Pareto frontier", 7, pareto.iter().map(|a| (a.0, Some(a.1))).collect());
    front.markers = true;
    front.marker_px = 2;
    c.lines.push(front);
    if let Some(b) = slo_bound(d, &wl, "p99") {
        c.lines.push(bound_line(format!("SLO p99 ≤ {} ms", plain(b)), range, b));
    }
    p.only(
        Format::Html,
        Block::Figures(vec![Figure {
            svg: c.to_svg(),
            caption: format!("Each dot a point (colour: its variant); {x_label} and p99 are means over replications."),
            wide: false,
        }]),
    );
    p.only(Format::Markdown, Block::Paragraph(Text::plain("The frontier chart is in report.html.")));
}
