//! The terminal summary of an experiment: per workload, a row per point
//! with the mean and the half-width of its 95% interval across
//! replications, the paired difference against the baseline (marked `*`
//! when its interval excludes zero), the share of replications that met
//! the SLOs; then the objective's pick.

use super::table::{Align, Table, thousands};
use crate::experiment::stats::{Difference, Estimate};
use crate::experiment::summary::{ExperimentResult, PointResult};
use std::fmt::Write;

/// `12.3 ± 0.4`, or `—` without a value.
pub(super) fn est(e: Option<&Estimate>, scale: f64, digits: usize) -> String {
    match e {
        Some(e) if e.n > 0 => {
            let half = (e.ci95[1] - e.ci95[0]) / 2.0 * scale;
            format!("{:.digits$} ± {:.digits$}", e.mean * scale, half)
        }
        _ => "—".into(),
    }
}

/// `+12.3 (±0.4)*`: a paired difference, `*` when significant.
fn diff(d: Option<&Difference>, scale: f64, digits: usize) -> String {
    match d {
        Some(d) if d.n > 0 => {
            let half = (d.ci95[1] - d.ci95[0]) / 2.0 * scale;
            let mark = if d.significant { "*" } else { "" };
            format!("{:+.digits$} (±{:.digits$}){mark}", d.mean_diff * scale, half)
        }
        _ => String::new(),
    }
}

/// "variant budgeted, min = 2".
pub fn point_label(p: &PointResult) -> String {
    let mut s = p.variant.clone();
    for (k, v) in &p.sweep {
        let short = k.rsplit('.').next().unwrap_or(k);
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        let _ = write!(s, ", {short}={v}");
    }
    s
}

/// The summary `stormcast experiment` prints.
pub fn experiment_text(r: &ExperimentResult) -> String {
    let mut o = String::new();
    let points = r.points.len();
    let _ = writeln!(
        o,
        "{} — {points} point{} × {} replications (seeds {}…{}), baseline {}",
        r.experiment,
        if points == 1 { "" } else { "s" },
        r.replications,
        r.seed,
        r.seed + u64::from(r.replications.saturating_sub(1)),
        r.baseline
    );
    for s in &r.slo {
        let _ = writeln!(o, "SLO {s}");
    }
    // Every point's workloads (and queue groups: a variant may add a queue).
    let workloads: std::collections::BTreeSet<&String> =
        r.points.iter().flat_map(|p| p.summary.workloads.keys()).collect();
    for wl in workloads {
        let _ = writeln!(
            o,
            "\n{} (mean ± 95% interval over replications; Δ vs baseline, paired, * = significant)",
            figures_title(wl).to_lowercase()
        );
        let mut t = Table::new(0)
            .col("point", Align::Left)
            .sep()
            .col("p50 ms", Align::Right)
            .col("p95 ms", Align::Right)
            .col("p99 ms", Align::Right)
            .col("success %", Align::Right)
            .col("goodput/s", Align::Right)
            .col("replica-h", Align::Right)
            .sep()
            .col("Δ p95 ms", Align::Right)
            .col("Δ p99 ms", Align::Right)
            .col("Δ success %", Align::Right)
            .sep()
            .col("SLOs met", Align::Right);
        for p in &r.points {
            let Some(w) = p.summary.workloads.get(wl) else { continue };
            let d = p.vs_baseline.as_ref().and_then(|v| v.workloads.get(wl));
            t.row(vec![
                point_label(p),
                est(w.get("p50_ms"), 1.0, 2),
                est(w.get("p95_ms"), 1.0, 2),
                est(w.get("p99_ms"), 1.0, 2),
                est(w.get("success"), 100.0, 2),
                est(w.get("goodput_per_s"), 1.0, 1),
                est(Some(&p.summary.replica_hours), 1.0, 2),
                diff(d.and_then(|d| d.get("p95_ms")), 1.0, 2),
                diff(d.and_then(|d| d.get("p99_ms")), 1.0, 2),
                diff(d.and_then(|d| d.get("success")), 100.0, 2),
                format!(
                    "{}/{}{}",
                    (p.slo_pass_fraction * p.runs.len() as f64).round() as u64,
                    thousands(p.runs.len() as u64),
                    if p.meets_slo { "" } else { " ✗" }
                ),
            ]);
        }
        t.render(&mut o);
    }
    if let Some(obj) = &r.objective {
        let _ = writeln!(o, "\nobjective: {obj}");
        match &r.best {
            Some(b) => {
                let label = r
                    .points
                    .iter()
                    .find(|p| p.variant == b.variant && p.sweep == b.sweep)
                    .map(point_label)
                    .unwrap_or_else(|| b.variant.clone());
                let _ = writeln!(
                    o,
                    "best: {label} ({:.3}, 95% interval {:.3} to {:.3})",
                    b.value.mean, b.value.ci95[0], b.value.ci95[1]
                );
                if !b.cliff.is_empty() {
                    let _ = writeln!(
                        o,
                        "warning: the pick sits on a cliff — {} of its grid neighbours miss the SLOs",
                        b.cliff.len()
                    );
                }
            }
            None => {
                let _ = writeln!(o, "best: none — no point meets the SLOs");
            }
        }
    }
    o
}

/// The heading of one set of figures: a workload's, or a queue consumer
/// group's (`QUEUE/GROUP`: published as offered, processed as ok,
/// dead-lettered or lost as failed, latency from publish to processed).
pub(crate) fn figures_title(name: &str) -> String {
    match name.split_once('/') {
        Some((q, g)) => format!("Queue {q}, consumer group {g}: messages, and time from publish to processed"),
        None => format!("Workload {name}"),
    }
}
