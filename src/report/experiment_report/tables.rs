//! The experiment report's words and tables: the question and the
//! variants, the summary per workload (estimates with their 95% intervals,
//! paired differences against the baseline coloured only when their
//! interval excludes zero, the SLO verdict, the objective's pick), the
//! findings and conclusions, and `points.csv`. Numbers are formatted as the
//! terminal summary formats them (`experiment_text`).

use super::super::csv::{field, opt};
use super::super::page::{Better, Block, Cell, Page, Table, Text, Verdict};
use super::label;
use crate::experiment::Design;
use crate::experiment::stats::{Difference, Estimate};
use crate::experiment::summary::{ExperimentResult, PointResult};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A sweep value as written (`50%`, `2`).
pub(super) fn value_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The sweep's axes: each path and its values, in grid order.
pub(super) fn axes(d: &Design) -> Vec<(String, Vec<serde_json::Value>)> {
    let mut out: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for p in d.points.iter().filter(|p| p.variant == d.baseline) {
        for (a, (k, v)) in p.sweep.iter().enumerate() {
            if out.len() <= a {
                out.push((k.clone(), Vec::new()));
            }
            let vals = &mut out[a].1;
            let at = p.grid.get(a).copied().unwrap_or(vals.len());
            if !vals.contains(v) {
                vals.insert(at.min(vals.len()), v.clone());
            }
        }
    }
    out
}

/// Seconds of a run that count (after the warm-up): offered/s from counts.
pub(super) fn measured_s(d: &Design) -> f64 {
    (d.duration_s - d.warmup_s).max(f64::MIN_POSITIVE)
}

/// `x` with `digits` decimals, never `-0.00`.
fn fixed(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') { s[1..].to_string() } else { s }
}

/// `12.3 [11.9, 12.7]`, `—` without a value.
fn est(e: Option<&Estimate>, scale: f64, digits: usize) -> Cell {
    match e {
        Some(e) if e.n > 0 => {
            Cell::interval(e.mean * scale, e.ci95[0] * scale, e.ci95[1] * scale, |x| fixed(x, digits))
        }
        _ => Cell::Missing,
    }
}

/// A paired difference; coloured only when its interval excludes zero
/// (never from fewer than two pairs).
fn delta(d: Option<&Difference>, scale: f64, digits: usize, better: Better) -> Cell {
    match d {
        Some(d) if d.n > 0 => {
            let fmt = |x: f64| fixed(x, digits);
            let mut c = Cell::delta(d.mean_diff * scale, d.ci95[0] * scale, d.ci95[1] * scale, better, fmt);
            if let Cell::Delta { verdict, .. } = &mut c
                && !d.significant
            {
                *verdict = Verdict::Unclear;
            }
            c
        }
        _ => Cell::Missing,
    }
}

/// The figures of the summary: key in the result, header, scale, digits,
/// which way is better.
const FIGURES: [(&str, &str, f64, usize, Better); 5] = [
    ("goodput_per_s", "goodput/s", 1.0, 1, Better::Higher),
    ("success", "success %", 100.0, 2, Better::Higher),
    ("p50_ms", "p50 ms", 1.0, 2, Better::Lower),
    ("p95_ms", "p95 ms", 1.0, 2, Better::Lower),
    ("p99_ms", "p99 ms", 1.0, 2, Better::Lower),
];

/// The token figures, after [`FIGURES`] when some point's workload
/// generates tokens (inference servers).
const TOKEN_FIGURES: [(&str, &str, f64, usize, Better); 3] = [
    ("ttft_p95_ms", "ttft p95 ms", 1.0, 2, Better::Lower),
    ("tpot_p95_ms", "tpot p95 ms", 1.0, 2, Better::Lower),
    ("output_tokens_per_s", "out tok/s", 1.0, 1, Better::Higher),
];

/// The figures the tables and `points.csv` show: [`FIGURES`], and
/// [`TOKEN_FIGURES`] when some point has them (else the same columns as
/// before inference servers).
fn figures_of(r: &ExperimentResult) -> Vec<(&'static str, &'static str, f64, usize, Better)> {
    let tokens = r
        .points
        .iter()
        .any(|x| x.summary.workloads.values().any(|w| TOKEN_FIGURES.iter().any(|f| w.contains_key(f.0))));
    let mut v = FIGURES.to_vec();
    if tokens {
        v.extend(TOKEN_FIGURES);
    }
    v
}

/// The point the objective picked.
fn is_best(r: &ExperimentResult, p: &PointResult) -> bool {
    r.best.as_ref().is_some_and(|b| b.variant == p.variant && b.sweep == p.sweep)
}

/// `✓ 10/10`: whether the point meets the SLOs, and in how many runs every
/// SLO held.
fn slo_cell(p: &PointResult) -> String {
    let passed = (p.slo_pass_fraction * p.runs.len() as f64).round() as u64;
    format!("{} {passed}/{}", if p.meets_slo { "✓" } else { "✗" }, p.runs.len())
}

pub(super) fn question(p: &mut Page, d: &Design, r: &ExperimentResult) {
    p.heading(2, "The question");
    match &d.question {
        Some(q) => p.paragraph(Text::new().strong(q)),
        None => p.paragraph(Text::plain("The experiment file states no question; its variants say what is compared.")),
    }
    let combos = d.points.len() / d.variants.len().max(1);
    p.push(Block::Facts(vec![
        ("experiment".into(), Text::new().code(&d.name)),
        ("topology".into(), Text::new().code(&d.topology)),
        (
            "points".into(),
            Text::plain(format!(
                "{} variant{} × {combos} sweep point{} = {}",
                d.variants.len(),
                if d.variants.len() == 1 { "" } else { "s" },
                if combos == 1 { "" } else { "s" },
                d.points.len()
            )),
        ),
        (
            "replications".into(),
            Text::plain(format!(
                "{} per point, seeds {}…{}: replication r of every point runs on seed {} + r (common random numbers)",
                r.replications,
                r.seed,
                r.seed + u64::from(r.replications.saturating_sub(1)),
                r.seed
            )),
        ),
        (
            "each run".into(),
            Text::plain(format!(
                "{} s simulated, the first {} s warm-up (not counted)",
                super::secs(d.duration_s),
                super::secs(d.warmup_s)
            )),
        ),
        ("baseline".into(), Text::new().code(&d.baseline).t(": every difference is against it")),
    ]));
    p.heading(3, "Variants");
    let mut t = Table::new("variant", &[]).text_col("what it is").text_col("what it changes (path = value)");
    for v in &d.variants {
        let changes = if v.set.is_empty() {
            Cell::Text("nothing: the topology as it is".into())
        } else {
            Cell::Code(v.set.iter().map(|(k, val)| format!("{k} = {val}")).collect::<Vec<_>>().join("; "))
        };
        let what =
            v.description.clone().unwrap_or_else(|| if v.name == d.baseline { "the baseline" } else { "—" }.into());
        t.row(vec![Cell::Code(v.name.clone()), Cell::Text(what), changes]);
    }
    p.push(Block::Table(t));
    let ax = axes(d);
    if !ax.is_empty() {
        p.heading(3, "Sweep");
        p.paragraph(Text::plain("Every combination of these values, for every variant:"));
        let items = ax
            .iter()
            .map(|(k, vs)| Text::new().code(k).t(": ").t(vs.iter().map(value_text).collect::<Vec<_>>().join(", ")))
            .collect();
        p.push(Block::List(items));
    }
    p.heading(3, "SLOs and objective");
    if d.slo.is_empty() {
        p.paragraph(Text::plain("No SLO: every point is reported, none is judged."));
    } else {
        let items = d.slo.iter().map(|s| Text::new().code(&s.workload).t(": ").t(&s.text)).collect();
        p.push(Block::List(items));
        p.paragraph(Text::plain(
            "A point meets the SLOs when every bound holds for the mean over its replications; the pass fraction \
             is the share of replications in which every SLO held over the run.",
        ));
    }
    match &r.objective {
        Some(o) => p.paragraph(Text::new().t("Objective: ").strong(o).t(".")),
        None => p.paragraph(Text::plain("No objective: no point is picked as best.")),
    }
}

pub(super) fn summary(p: &mut Page, d: &Design, r: &ExperimentResult) {
    p.heading(2, "Summary");
    p.paragraph(Text::plain(
        "Per point and workload: the mean over replications and its 95% interval [low, high] (Student t). \
         Latencies (ms) are of the requests that succeeded (— when none did); offered/s and goodput/s per second \
         after the warm-up; replica-hours over all services. Δ: the paired difference against the baseline at \
         the same sweep values, replication by replication on the same seed; coloured (green better, red worse; \
         bold in Markdown) only when its interval excludes zero.",
    ));
    let has_cost = r.points.iter().any(|x| x.summary.cost.is_some());
    let has_slo = !d.slo.is_empty();
    let per_s = 1.0 / measured_s(d);
    let figures = figures_of(r);
    // Every point's workloads (and queue groups: a variant may add a queue).
    let workloads: std::collections::BTreeSet<&String> =
        r.points.iter().flat_map(|x| x.summary.workloads.keys()).collect();
    for wl in workloads {
        p.heading(3, crate::report::experiment_text::figures_title(wl));
        let mut heads = vec!["offered/s"];
        heads.extend(figures.iter().map(|f| f.1));
        heads.push("replica-h");
        if has_cost {
            heads.push("cost");
        }
        let mut t = Table::new("point", &heads);
        if has_slo {
            t = t.text_col("SLO met (runs)");
        }
        for x in &r.points {
            let w = x.summary.workloads.get(wl);
            if w.is_none() {
                continue; // a point without this queue
            }
            let get = |k: &str| w.and_then(|w| w.get(k));
            let mut name = label(x);
            if is_best(r, x) {
                name.push_str(" — best");
            }
            let mut cells = vec![Cell::Text(name), est(get("offered"), per_s, 1)];
            cells.extend(figures.iter().map(|f| est(get(f.0), f.2, f.3)));
            cells.push(est(Some(&x.summary.replica_hours), 1.0, 2));
            if has_cost {
                cells.push(est(x.summary.cost.as_ref(), 1.0, 2));
            }
            if has_slo {
                cells.push(Cell::Text(slo_cell(x)));
            }
            t.row(cells);
            if is_best(r, x)
                && let Some(b) = &r.best
            {
                let mut note = Text::new().strong("best").t(format!(
                    " for the objective ({}): {:.3} [{:.3}, {:.3}]",
                    r.objective.as_deref().unwrap_or("?"),
                    b.value.mean,
                    b.value.ci95[0],
                    b.value.ci95[1]
                ));
                if !b.cliff.is_empty() {
                    note =
                        note.t(format!("; warning: on a cliff — {} grid neighbour(s) miss the SLOs: ", b.cliff.len()));
                    note = note.t(b.cliff.iter().map(sweep_short).collect::<Vec<_>>().join("; "));
                }
                t.note(note);
            }
        }
        p.push(Block::Table(t));
        if d.variants.len() < 2 {
            continue;
        }
        p.paragraph(Text::new().t("Against the baseline ").code(&d.baseline).t(" (Δ = point − baseline):"));
        let mut heads: Vec<String> = figures.iter().map(|f| format!("Δ {}", f.1)).collect();
        heads[1] = "Δ success pp".into();
        heads.push("Δ replica-h".into());
        if has_cost {
            heads.push("Δ cost".into());
        }
        let refs: Vec<&str> = heads.iter().map(String::as_str).collect();
        let mut t = Table::new("point", &refs);
        for x in r.points.iter().filter(|x| x.variant != d.baseline) {
            let v = x.vs_baseline.as_ref();
            let w = v.and_then(|v| v.workloads.get(wl));
            let get = |k: &str| w.and_then(|w| w.get(k));
            let mut cells = vec![Cell::Text(label(x))];
            cells.extend(figures.iter().map(|f| delta(get(f.0), f.2, f.3, f.4)));
            cells.push(delta(v.map(|v| &v.replica_hours), 1.0, 2, Better::Lower));
            if has_cost {
                cells.push(delta(v.and_then(|v| v.cost.as_ref()), 1.0, 2, Better::Lower));
            }
            t.row(cells);
        }
        p.push(Block::Table(t));
    }
}

/// `replicas=2, cpu=60%`.
pub(super) fn sweep_short(s: &BTreeMap<String, serde_json::Value>) -> String {
    s.iter()
        .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `123.4 [120.0, 126.8]` from a difference, for sentences.
fn diff_words(d: &Difference, scale: f64, digits: usize, unit: &str) -> String {
    format!(
        "{:+.digits$}{unit} [{:+.digits$}, {:+.digits$}]",
        d.mean_diff * scale,
        d.ci95[0] * scale,
        d.ci95[1] * scale
    )
}

pub(super) fn findings(p: &mut Page, d: &Design, r: &ExperimentResult) {
    p.heading(2, "Findings");
    p.paragraph(Text::plain(
        "What the detectors saw in each variant's runs (over all its sweep points): the kind, its subject, and in \
         how many runs it appeared.",
    ));
    for v in &d.variants {
        let points: Vec<&PointResult> = r.points.iter().filter(|x| x.variant == v.name).collect();
        let runs: usize = points.iter().map(|x| x.runs.len()).sum();
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        for x in &points {
            for run in &x.runs {
                let mut once: Vec<(String, String)> =
                    run.result.findings.iter().map(|f| (f.kind.word().to_string(), f.subject.clone())).collect();
                once.sort();
                once.dedup();
                for k in once {
                    *seen.entry(k).or_default() += 1;
                }
            }
        }
        p.heading(3, format!("Variant {}", v.name));
        if seen.is_empty() {
            p.paragraph(Text::plain(format!("No finding in any of its {runs} runs.")));
            continue;
        }
        let mut items: Vec<((String, String), usize)> = seen.into_iter().collect();
        items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let list = items
            .into_iter()
            .map(|((kind, subject), n)| {
                Text::new().strong(kind).t(" at ").code(subject).t(format!(" — in {n} of {runs} runs"))
            })
            .collect();
        p.push(Block::List(list));
    }
    p.heading(3, "Conclusions");
    let mut items = Vec::new();
    if !d.slo.is_empty() {
        let (meet, miss): (Vec<&PointResult>, Vec<&PointResult>) = r.points.iter().partition(|x| x.meets_slo);
        let names = |v: &[&PointResult]| {
            v.iter()
                .map(|x| format!("{} ({:.0}% of runs)", label(x), x.slo_pass_fraction * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if meet.is_empty() {
            items.push(Text::new().strong("No point meets the SLOs").t("."));
        } else {
            items.push(Text::new().strong("Meet the SLOs:").t(" ").t(names(&meet)));
        }
        if !miss.is_empty() {
            items.push(Text::new().strong("Miss the SLOs:").t(" ").t(names(&miss)));
        }
    }
    if let Some(o) = &r.objective {
        match &r.best {
            Some(b) => {
                let name = r.points.iter().find(|x| is_best(r, x)).map(label).unwrap_or_else(|| b.variant.clone());
                let mut t = Text::new().strong("Best:").t(" ").code(name).t(format!(
                    " ({o}: {:.3}, 95% interval {:.3} to {:.3}).",
                    b.value.mean, b.value.ci95[0], b.value.ci95[1]
                ));
                if !b.cliff.is_empty() {
                    t = t.t(" ").strong("Warning: the pick sits on a cliff").t(format!(
                        " — {} of its grid neighbours miss the SLOs ({}).",
                        b.cliff.len(),
                        b.cliff.iter().map(sweep_short).collect::<Vec<_>>().join("; ")
                    ));
                }
                items.push(t);
            }
            None => items.push(Text::new().strong("Best: none").t(format!(" — no point qualifies for {o}."))),
        }
    }
    // Clear changes against the baseline, point by point.
    for x in r.points.iter().filter(|x| x.variant != d.baseline) {
        let Some(v) = &x.vs_baseline else { continue };
        let mut parts = Vec::new();
        for (wl, figs) in &v.workloads {
            for (key, words, scale, digits, unit) in [
                ("p99_ms", "p99", 1.0, 2, " ms"),
                ("success", "success", 100.0, 2, " pp"),
                ("goodput_per_s", "goodput", 1.0, 1, "/s"),
            ] {
                if let Some(f) = figs.get(key).filter(|f| f.significant) {
                    parts.push(format!("{wl} {words} {}", diff_words(f, scale, digits, unit)));
                }
            }
        }
        if v.replica_hours.significant {
            parts.push(format!("replica-hours {}", diff_words(&v.replica_hours, 1.0, 2, "")));
        }
        let t = Text::new().code(label(x)).t(" against the baseline: ");
        items.push(if parts.is_empty() {
            t.t("no clear change in p99, success, goodput or replica-hours (every interval includes zero).")
        } else {
            t.t(parts.join("; ")).t(".")
        });
    }
    if items.is_empty() {
        items.push(Text::plain("One variant, no SLO, no objective: the summary above is the result."));
    }
    p.push(Block::List(items));
}

/// `points.csv`: one row per point and workload — the variant, the sweep
/// values, each figure's mean and 95% interval, replica-hours (and cost),
/// the SLO pass fraction and verdict. Missing values are empty.
pub fn points_csv(d: &Design, r: &ExperimentResult) -> String {
    let ax = axes(d);
    let has_cost = r.points.iter().any(|x| x.summary.cost.is_some());
    let mut figs: Vec<&str> = vec!["offered_per_s"];
    figs.extend(figures_of(r).iter().map(|f| f.0));
    figs.push("replica_hours");
    if has_cost {
        figs.push("cost");
    }
    let mut o = String::from("variant");
    for (k, _) in &ax {
        let _ = write!(o, ",{}", field(k));
    }
    o.push_str(",workload");
    for f in &figs {
        let _ = write!(o, ",{f},{f}_low,{f}_high");
    }
    o.push_str(",slo_pass_fraction,meets_slo\n");
    let per_s = 1.0 / measured_s(d);
    let three = |e: Option<&Estimate>, scale: f64| {
        let e = e.filter(|e| e.n > 0);
        let v = |i: usize| opt(e.map(|e| [e.mean, e.ci95[0], e.ci95[1]][i] * scale));
        format!("{},{},{}", v(0), v(1), v(2))
    };
    for x in &r.points {
        for (wl, w) in &x.summary.workloads {
            o.push_str(&field(&x.variant));
            for (k, _) in &ax {
                let _ = write!(o, ",{}", x.sweep.get(k).map(|v| field(&value_text(v))).unwrap_or_default());
            }
            let _ = write!(o, ",{}", field(wl));
            for f in &figs {
                let cell = match *f {
                    "offered_per_s" => three(w.get("offered"), per_s),
                    "replica_hours" => three(Some(&x.summary.replica_hours), 1.0),
                    "cost" => three(x.summary.cost.as_ref(), 1.0),
                    k => three(w.get(k), 1.0),
                };
                let _ = write!(o, ",{cell}");
            }
            let _ = writeln!(o, ",{},{}", x.slo_pass_fraction, x.meets_slo);
        }
    }
    o
}
