//! From runs to the experiment's result: per point, the mean and 95%
//! interval of each workload's figures across replications, paired
//! differences against the baseline variant at the same sweep values, the
//! share of replications that met the SLOs, and the best point for the
//! objective (with a warning when a grid neighbour of it misses the SLOs:
//! the pick sits on a cliff). The shapes are `experiment.json`'s, as in
//! `docs/format.md`.

use super::stats::{Difference, Estimate, estimate, paired};
use super::{Design, Metric};
use crate::metrics::RunResult;
use crate::model::Stat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One run of a point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub seed: u64,
    pub result: RunResult,
}

/// A point's figures: per workload (name → figure → estimate), and the
/// replica-hours and cost of the whole system.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Figures<T> {
    #[serde(flatten)]
    pub workloads: BTreeMap<String, BTreeMap<String, T>>,
    pub replica_hours: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<T>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointResult {
    pub variant: String,
    pub sweep: BTreeMap<String, serde_json::Value>,
    pub runs: Vec<RunRecord>,
    pub summary: Figures<Estimate>,
    /// Against the baseline variant at the same sweep values (absent for
    /// the baseline itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_baseline: Option<Figures<Difference>>,
    /// Share of replications in which every SLO held over the run.
    pub slo_pass_fraction: f64,
    /// Every SLO holds for the mean over replications.
    pub meets_slo: bool,
    /// The objective's metric at this point, if there is an objective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<Estimate>,
}

/// The point the objective picks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Best {
    pub variant: String,
    pub sweep: BTreeMap<String, serde_json::Value>,
    /// The objective's metric there.
    pub value: Estimate,
    /// Grid neighbours (one step along one swept key) that miss the SLOs:
    /// the pick sits on a cliff when there are any.
    pub cliff: Vec<BTreeMap<String, serde_json::Value>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentResult {
    pub experiment: String,
    pub seed: u64,
    pub replications: u32,
    pub baseline: String,
    /// The SLOs, in words.
    pub slo: Vec<String>,
    /// `minimize replica_hours subject to slo`, if there is an objective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    pub points: Vec<PointResult>,
    /// `null` without an objective, or when no point meets the SLOs.
    pub best: Option<Best>,
}

/// The figures of one run, per workload and overall.
fn figures(r: &RunResult) -> Figures<Option<f64>> {
    let mut workloads = BTreeMap::new();
    for (name, w) in &r.workloads {
        let mut f: BTreeMap<String, Option<f64>> = BTreeMap::new();
        let ended = w.ok + w.failed;
        f.insert("offered".into(), Some(w.offered as f64));
        f.insert("ok".into(), Some(w.ok as f64));
        f.insert("failed".into(), Some(w.failed as f64));
        f.insert("success".into(), (ended > 0).then(|| w.ok as f64 / ended as f64));
        f.insert("goodput_per_s".into(), Some(w.goodput_per_s));
        for s in Stat::ALL {
            f.insert(format!("{}_ms", s.word()), crate::sim::stat_ms(&w.latency_ms, s));
        }
        // Token figures only for workloads that generate tokens, named as
        // the SLO checks name them (`ttft_p95` → `ttft_p95_ms`).
        for (what, l) in [("ttft", &w.ttft_ms), ("tpot", &w.tpot_ms)] {
            if let Some(l) = l {
                for s in Stat::ALL {
                    f.insert(format!("{what}_{}_ms", s.word()), crate::sim::stat_ms(l, s));
                }
            }
        }
        if let Some(x) = w.output_tokens_per_s {
            f.insert("output_tokens_per_s".into(), Some(x));
        }
        if let Some(g) = &w.token_goodput {
            f.insert("token_goodput_per_s".into(), Some(g.goodput_per_s));
        }
        workloads.insert(name.clone(), f);
    }
    // Each queue's consumer groups, as `QUEUE/GROUP` (a name no workload
    // can have): messages published, processed and lost, and the time from
    // publish to processed in place of a request's latency.
    let measured_s = (r.duration_s - r.warmup_s).max(1e-9);
    for (q, qr) in &r.queues {
        for (g, gr) in &qr.groups {
            let mut f: BTreeMap<String, Option<f64>> = BTreeMap::new();
            let lost = gr.dead_lettered + gr.dropped;
            f.insert("offered".into(), Some(qr.published as f64));
            f.insert("ok".into(), Some(gr.processed as f64));
            f.insert("failed".into(), Some(lost as f64));
            let ended = gr.processed + lost;
            f.insert("success".into(), (ended > 0).then(|| gr.processed as f64 / ended as f64));
            f.insert("goodput_per_s".into(), Some(gr.processed as f64 / measured_s));
            for s in Stat::ALL {
                f.insert(format!("{}_ms", s.word()), crate::sim::stat_ms(&gr.time_to_processed_ms, s));
            }
            f.insert("lag_max_s".into(), Some(gr.lag_max_s));
            workloads.insert(format!("{q}/{g}"), f);
        }
    }
    let replica_hours = r.services.values().map(|s| s.replica_hours).sum();
    Figures { workloads, replica_hours: Some(replica_hours), cost: r.cost.as_ref().map(|c| Some(c.total)) }
}

/// Applies `f` figure by figure across several runs' figures.
fn across<T>(runs: &[Figures<Option<f64>>], f: impl Fn(&[Option<f64>]) -> T) -> Figures<T> {
    let Some(first) = runs.first() else {
        return Figures { workloads: BTreeMap::new(), replica_hours: f(&[]), cost: None };
    };
    let mut workloads = BTreeMap::new();
    for (name, figs) in &first.workloads {
        let mut out = BTreeMap::new();
        for key in figs.keys() {
            let xs: Vec<Option<f64>> =
                runs.iter().map(|r| r.workloads.get(name).and_then(|w| w.get(key)).copied().flatten()).collect();
            out.insert(key.clone(), f(&xs));
        }
        workloads.insert(name.clone(), out);
    }
    let rh: Vec<Option<f64>> = runs.iter().map(|r| r.replica_hours).collect();
    let cost = first.cost.map(|_| {
        let xs: Vec<Option<f64>> = runs.iter().map(|r| r.cost.flatten()).collect();
        f(&xs)
    });
    Figures { workloads, replica_hours: f(&rh), cost }
}

/// The objective's metric in one run's figures.
fn metric_of(m: &Metric, f: &Figures<Option<f64>>) -> Option<f64> {
    let w = |name: &str, key: &str| f.workloads.get(name).and_then(|x| x.get(key)).copied().flatten();
    match m {
        Metric::ReplicaHours => f.replica_hours,
        Metric::Cost => f.cost.flatten(),
        Metric::Latency { workload, stat } => w(workload, &format!("{stat}_ms")),
        Metric::Success { workload } => w(workload, "success"),
        Metric::Goodput { workload } => w(workload, "goodput_per_s"),
    }
}

/// Does the mean over replications meet every SLO?
fn meets(design: &Design, s: &Figures<Estimate>) -> bool {
    design.slo.iter().all(|o| {
        let Some(w) = s.workloads.get(&o.workload) else { return false };
        let lat = o
            .latency
            .iter()
            .all(|(stat, bound)| w.get(&format!("{stat}_ms")).is_some_and(|e| e.n > 0 && e.mean <= *bound));
        let ok = o.success.is_none_or(|least| w.get("success").is_some_and(|e| e.n > 0 && e.mean >= least));
        lat && ok
    })
}

/// The result of `design` from its runs: `runs[point]` holds each point's
/// runs in replication order (a missing replication leaves a gap).
pub fn assemble(design: &Design, runs: Vec<Vec<RunRecord>>) -> ExperimentResult {
    let plan = design;
    let figs: Vec<Vec<Figures<Option<f64>>>> =
        runs.iter().map(|rs| rs.iter().map(|r| figures(&r.result)).collect()).collect();
    let by_seed = |i: usize| -> BTreeMap<u64, &Figures<Option<f64>>> {
        runs[i].iter().zip(&figs[i]).map(|(r, f)| (r.seed, f)).collect()
    };
    let mut points: Vec<PointResult> = Vec::with_capacity(plan.points.len());
    for (i, (p, rs)) in plan.points.iter().zip(runs.iter()).enumerate() {
        let summary = across(&figs[i], estimate);
        let vs_baseline = plan.sibling(i, &plan.baseline).filter(|&b| b != i).map(|b| {
            // Pair replication by replication: the same seed on both sides.
            let (mine, base) = (by_seed(i), by_seed(b));
            let seeds: Vec<u64> = mine.keys().filter(|s| base.contains_key(s)).copied().collect();
            let a: Vec<Figures<Option<f64>>> = seeds.iter().map(|s| mine[s].clone()).collect();
            let z: Vec<Figures<Option<f64>>> = seeds.iter().map(|s| base[s].clone()).collect();
            let pairs: Vec<Figures<Option<f64>>> = a.iter().chain(&z).cloned().collect();
            let n = seeds.len();
            across(&pairs, |xs| paired(&xs[..n.min(xs.len())], &xs[n.min(xs.len())..]))
        });
        let passed = rs.iter().filter(|r| r.result.slo.iter().all(|o| o.pass)).count();
        let slo_pass_fraction = if rs.is_empty() { 0.0 } else { passed as f64 / rs.len() as f64 };
        let meets_slo = meets(design, &summary);
        let objective = plan.objective.as_ref().map(|o| {
            let xs: Vec<Option<f64>> = figs[i].iter().map(|f| metric_of(&o.metric, f)).collect();
            estimate(&xs)
        });
        points.push(PointResult {
            variant: p.variant.clone(),
            sweep: p.sweep.clone(),
            runs: rs.clone(),
            summary,
            vs_baseline,
            slo_pass_fraction,
            meets_slo,
            objective,
        });
    }
    let best = plan.objective.as_ref().and_then(|o| {
        let qualifies = |p: &PointResult| (!o.subject_to_slo || p.meets_slo) && p.objective.is_some_and(|e| e.n > 0);
        let better = |a: f64, b: f64| if o.minimize { a < b } else { a > b };
        let mut pick: Option<usize> = None;
        for (i, p) in points.iter().enumerate() {
            if !qualifies(p) {
                continue;
            }
            let v = p.objective.expect("qualifies").mean;
            if pick.is_none_or(|j| better(v, points[j].objective.expect("picked").mean)) {
                pick = Some(i);
            }
        }
        let i = pick?;
        let cliff = plan
            .points
            .iter()
            .enumerate()
            .filter(|(j, q)| {
                q.variant == plan.points[i].variant
                    && neighbours(&q.grid, &plan.points[i].grid)
                    && !points[*j].meets_slo
            })
            .map(|(_, q)| q.sweep.clone())
            .collect();
        Some(Best {
            variant: points[i].variant.clone(),
            sweep: points[i].sweep.clone(),
            value: points[i].objective.expect("picked"),
            cliff,
        })
    });
    ExperimentResult {
        experiment: plan.name.clone(),
        seed: plan.seed,
        replications: plan.replications,
        baseline: plan.baseline.clone(),
        slo: plan.slo.iter().map(|o| format!("{}: {}", o.workload, o.text)).collect(),
        objective: plan.objective.as_ref().map(|o| {
            format!(
                "{} {}{}",
                if o.minimize { "minimize" } else { "maximize" },
                o.metric.name(),
                if o.subject_to_slo { " subject to slo" } else { "" }
            )
        }),
        points,
        best,
    }
}

/// One step apart along exactly one axis of the grid.
fn neighbours(a: &[usize], b: &[usize]) -> bool {
    let diffs: Vec<usize> = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).filter(|&d| d > 0).collect();
    diffs == [1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LatencySummary, TokenGoodput};

    /// A workload that generates tokens gets its TTFT, TPOT and token
    /// figures (named as the SLO checks name them); one that does not gets
    /// none of them.
    #[test]
    fn token_figures_only_for_workloads_that_generate_tokens() {
        let m = crate::spec::testing::model(
            "duration: 2s
services:
  s: { endpoints: { e: { work: 1ms } } }
workload: [ { name: web, target: s.e, rate: 20/s }, { name: chat, target: s.e, rate: 20/s } ]
",
        );
        let mut r = crate::sim::run(&m, &crate::sim::RunOptions::default());
        let lat = |p95: f64| LatencySummary { p95: Some(p95), ..LatencySummary::default() };
        let chat = r.workloads.get_mut("chat").unwrap();
        chat.ttft_ms = Some(lat(800.0));
        chat.tpot_ms = Some(lat(40.0));
        chat.output_tokens_per_s = Some(2_500.0);
        chat.token_goodput = Some(TokenGoodput { goodput_per_s: 9.5, ..TokenGoodput::default() });
        let f = figures(&r);
        assert!(!f.workloads["web"].keys().any(|k| k.starts_with("ttft") || k.contains("token")));
        let c = &f.workloads["chat"];
        assert_eq!(c["ttft_p95_ms"], Some(800.0));
        assert_eq!(c["tpot_p95_ms"], Some(40.0));
        assert_eq!(c["ttft_p99_ms"], None);
        assert_eq!(c["output_tokens_per_s"], Some(2_500.0));
        assert_eq!(c["token_goodput_per_s"], Some(9.5));
    }
}
