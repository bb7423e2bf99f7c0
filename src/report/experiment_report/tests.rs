//! The experiment report on hand-made results: odd input (a workload with
//! no success, a point without runs, a single replication) gives `—` and
//! empty CSV fields, never a panic; a difference from one pair is never
//! coloured; series fold into means per interval.

use super::*;
use crate::experiment::stats::{Difference, Estimate};
use crate::experiment::summary::Figures;
use crate::experiment::{PointInfo, SloSpec, VariantInfo};
use crate::metrics::WorkloadRow;
use crate::report::page::{Block, Cell, Verdict};
use std::collections::BTreeMap;

fn est(mean: f64, half: f64, n: u32) -> Estimate {
    Estimate { mean, ci95: [mean - half, mean + half], sd: half, n }
}

fn design() -> Design {
    let point = |v: &str, k: i64, g: usize| PointInfo {
        variant: v.into(),
        sweep: BTreeMap::from([("services.db.replicas".to_string(), serde_json::json!(k))]),
        grid: vec![g],
    };
    Design {
        name: "odd".into(),
        question: None,
        seed: 1,
        replications: 1,
        duration_s: 60.0,
        warmup_s: 10.0,
        baseline: "base".into(),
        variants: vec![
            VariantInfo { name: "base".into(), description: None, set: vec![] },
            VariantInfo {
                name: "b,2".into(),
                description: Some("a comma".into()),
                set: vec![("x.y".into(), "1".into())],
            },
        ],
        points: vec![point("base", 1, 0), point("base", 2, 1), point("b,2", 1, 0), point("b,2", 2, 1)],
        slo: vec![SloSpec {
            workload: "web".into(),
            latency: vec![("p99".into(), 300.0)],
            success: None,
            text: "p99 ≤ 300ms".into(),
        }],
        objective: None,
        topology: "t.yaml".into(),
        provenance: Default::default(),
    }
}

/// Points without runs; workload `web` had no success (latencies with n = 0).
fn result(d: &Design) -> ExperimentResult {
    let figures = || {
        let mut w = BTreeMap::new();
        w.insert("offered".to_string(), est(100.0, 0.0, 1));
        w.insert("goodput_per_s".to_string(), est(0.0, 0.0, 1));
        w.insert("success".to_string(), est(0.0, 0.0, 1));
        for k in ["p50_ms", "p95_ms", "p99_ms", "mean_ms"] {
            w.insert(k.to_string(), Estimate::default());
        }
        Figures { workloads: BTreeMap::from([("web".to_string(), w)]), replica_hours: est(1.0, 0.0, 1), cost: None }
    };
    // One pair: its interval [2, 2] excludes zero, but one pair proves nothing.
    let one_pair = Difference { mean_diff: 2.0, ci95: [2.0, 2.0], relative: None, significant: false, n: 1 };
    let points = d
        .points
        .iter()
        .map(|p| PointResult {
            variant: p.variant.clone(),
            sweep: p.sweep.clone(),
            runs: vec![],
            summary: figures(),
            vs_baseline: (p.variant != d.baseline).then(|| {
                let w = BTreeMap::from([("goodput_per_s".to_string(), one_pair)]);
                Figures { workloads: BTreeMap::from([("web".to_string(), w)]), replica_hours: one_pair, cost: None }
            }),
            slo_pass_fraction: 0.0,
            meets_slo: false,
            objective: None,
        })
        .collect();
    ExperimentResult {
        experiment: d.name.clone(),
        seed: 1,
        replications: 1,
        baseline: d.baseline.clone(),
        slo: vec!["web: p99 ≤ 300ms".into()],
        objective: None,
        points,
        best: None,
    }
}

fn tables(p: &Page) -> Vec<&crate::report::page::Table> {
    p.blocks.iter().filter_map(|b| if let Block::Table(t) = b { Some(t) } else { None }).collect()
}

#[test]
fn odd_results_give_dashes_and_uncoloured_deltas_not_panics() {
    let d = design();
    let r = result(&d);
    let report = Report::new(Inputs { design: d, result: r, topology: None });
    let page = report.page();
    let ts = tables(&page);
    // Variants, then the summary of `web` and its Δ table.
    let summary = ts[1];
    assert_eq!(summary.rows.len(), 4);
    assert!(summary.rows.iter().all(|r| r.cells[4..7].iter().all(|c| *c == Cell::Missing)), "no latency: —");
    let deltas = ts[2];
    for row in &deltas.rows {
        for c in &row.cells[1..] {
            if let Cell::Delta { verdict, .. } = c {
                assert_eq!(*verdict, Verdict::Unclear, "one pair is never coloured");
            }
        }
    }
    let md = report.markdown();
    assert!(md.contains("| ✗ 0/0 |"), "{md}");
    assert!(md.contains("No series were stored"), "no runs, no series");
    assert!(!md.contains("**+2.0"), "not bold: {md}");
    let html = report.html();
    assert!(html.contains("<h1>odd — stormcast experiment report</h1>"));
    // points.csv: the comma in a variant's name is quoted, no latency is empty.
    let csv = report.points_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[3].starts_with("\"b,2\",1,web,"), "{}", lines[3]);
    assert!(lines[1].contains(",0,0,0,,,,,,,,,,1,1,1,0,false"), "{}", lines[1]);
    assert!(lines[1].starts_with("base,1,web,2,2,2,"), "offered 100 in 50 s measured: {}", lines[1]);
}

#[test]
fn series_fold_into_means_per_interval_and_only_charted_points_are_read() {
    let mut d = design();
    // Four sweep values: only the first sweep point is charted over time.
    for (i, k) in [3, 4].into_iter().enumerate() {
        for v in ["base", "b,2"] {
            let mut p = d.points[0].clone();
            p.variant = v.into();
            p.sweep.insert("services.db.replicas".into(), serde_json::json!(k));
            p.grid = vec![i + 2];
            d.points.push(p);
        }
    }
    let r = {
        let mut r = result(&design());
        let extra = r.points[..4].to_vec();
        r.points.extend(extra);
        r
    };
    let mut report = Report::new(Inputs { design: d, result: r, topology: None });
    assert!(report.wants_series(0) && report.wants_series(2));
    assert!(!report.wants_series(1) && !report.wants_series(3));
    for ok in [10, 30] {
        let s = Series {
            interval_s: 1.0,
            workload_names: vec!["web".into()],
            workloads: (0..60)
                .map(|t| WorkloadRow {
                    t_s: f64::from(t),
                    ok,
                    p99_ms: (t != 5).then_some(ok as f64),
                    ..WorkloadRow::default()
                })
                .collect(),
            ..Series::default()
        };
        report.fold(0, &s);
    }
    let ps = &report.time.series[&0];
    assert_eq!(ps.runs, 2);
    let c = &ps.workloads["web"][7];
    assert_eq!((c.ok.sum / f64::from(c.ok.n), c.ok.lo, c.ok.hi), (20.0, 10.0, 30.0));
    assert_eq!(ps.workloads["web"][5].p99.n, 0, "no success in that interval: a gap");
    let html = report.html();
    assert!(html.contains("web — goodput"), "a time chart");
    assert!(html.contains("3 more are not charted over time"), "says what is left out");
}

/// Token figures (inference servers) add columns to the summary tables and
/// `points.csv` when some point has them; none otherwise.
#[test]
fn token_figures_add_columns_only_when_present() {
    let d = design();
    let plain = Report::new(Inputs { design: d.clone(), result: result(&d), topology: None });
    assert!(!plain.markdown().contains("ttft") && !plain.points_csv().contains("ttft"));
    let mut r = result(&d);
    for p in &mut r.points {
        let w = p.summary.workloads.get_mut("web").unwrap();
        w.insert("ttft_p95_ms".into(), est(812.5, 10.0, 3));
        w.insert("tpot_p95_ms".into(), est(41.25, 1.0, 3));
        w.insert("output_tokens_per_s".into(), est(2_500.0, 50.0, 3));
    }
    let report = Report::new(Inputs { design: d, result: r, topology: None });
    let md = report.markdown();
    assert!(md.contains("| ttft p95 ms | tpot p95 ms | out tok/s |"), "{md}");
    assert!(md.contains("Δ ttft p95 ms"), "{md}");
    let csv = report.points_csv();
    let head = csv.lines().next().unwrap();
    assert!(
        head.contains(
            ",p99_ms,p99_ms_low,p99_ms_high,ttft_p95_ms,ttft_p95_ms_low,ttft_p95_ms_high,tpot_p95_ms,\
             tpot_p95_ms_low,tpot_p95_ms_high,output_tokens_per_s,output_tokens_per_s_low,output_tokens_per_s_high,\
             replica_hours,"
        ),
        "{head}"
    );
    assert!(csv.lines().nth(1).unwrap().contains(",812.5,802.5,822.5,41.25,40.25,42.25,2500,2450,2550,"), "{csv}");
}
