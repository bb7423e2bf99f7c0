//! Capacity search: the highest rate of one workload at which its SLOs
//! still hold — the stress test users otherwise run for real.
//!
//! The workload's rate is scaled (its shape, if any, multiplies on top).
//! Each rate tried runs `replications` seeds (the same seeds at every
//! rate: common random numbers) and meets the SLOs when the mean over
//! replications does (as an experiment's points). The search brackets
//! from the workload's own rate — doubling while it holds, halving while
//! it does not — then bisects until the bracket is within `precision` of
//! its upper end. Then the latency–throughput curve is sampled on a grid
//! from a tenth of the capacity to a tenth above it, and its **knee** is
//! the point of the (rate, p99) curve up to the capacity farthest below the
//! chord from its first to its last point, both axes scaled to [0, 1] (the
//! Kneedle criterion for a convex, rising curve): where latency starts to
//! climb steeply.

use super::runner::{self, Job};
use super::stats::{Estimate, estimate};
use crate::metrics::RunResult;
use crate::model::{Model, Slo, WorkloadId, WorkloadKind};
use crate::sim::{self, RunOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

/// One rate tried.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RatePoint {
    pub rate_per_s: f64,
    pub meets_slo: bool,
    pub slo_pass_fraction: f64,
    pub p50_ms: Estimate,
    pub p99_ms: Estimate,
    pub success: Estimate,
    pub goodput_per_s: Estimate,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Capacity {
    pub workload: String,
    /// The SLOs, in words.
    pub slo: String,
    /// The latency bounds of the SLOs, by statistic (`p99` → ms).
    pub bounds_ms: BTreeMap<String, f64>,
    /// The highest rate found to meet them (`null` when even a tiny rate misses).
    pub capacity_per_s: Option<f64>,
    /// The knee of the latency–throughput curve.
    pub knee_per_s: Option<f64>,
    /// Every rate tried, by rate.
    pub points: Vec<RatePoint>,
}

/// How to search.
#[derive(Clone, Debug)]
pub struct Search {
    pub replications: u32,
    pub seed: u64,
    pub threads: usize,
    /// Stop bisecting when the bracket is this fraction of its upper end.
    pub precision: f64,
    /// Points of the curve's grid.
    pub curve_points: usize,
}

impl Default for Search {
    fn default() -> Self {
        Search { replications: 5, seed: 1, threads: 1, precision: 0.01, curve_points: 10 }
    }
}

/// The model with workload `wl`'s base rate set to `rate`.
fn at_rate(m: &Model, wl: WorkloadId, rate: f64) -> Model {
    let mut m = m.clone();
    if let WorkloadKind::Open { rate_per_s, .. } = &mut m.workloads[wl.ix()].kind {
        *rate_per_s = rate;
    }
    m
}

/// Runs `rate` (replications in parallel) and judges it.
fn evaluate(m: &Model, wl: WorkloadId, slo: &Slo, rate: f64, s: &Search) -> RatePoint {
    let mut model = at_rate(m, wl, rate);
    model.slo = vec![slo.clone()];
    let jobs: Vec<Job> = runner::jobs(1, s.replications, s.seed, (1, 1));
    let stop = AtomicBool::new(false);
    let runs: Vec<RunResult> =
        runner::run(std::slice::from_ref(&model), &RunOptions::default(), &jobs, s.threads, &stop, &|_, _| {})
            .into_iter()
            .flatten()
            .collect();
    let name = &m.workloads[wl.ix()].name;
    let fig = |f: &dyn Fn(&crate::metrics::WorkloadResult) -> Option<f64>| -> Estimate {
        let xs: Vec<Option<f64>> = runs.iter().map(|r| f(&r.workloads[name])).collect();
        estimate(&xs)
    };
    let p50 = fig(&|w| w.latency_ms.p50);
    let p99 = fig(&|w| w.latency_ms.p99);
    let success = fig(&|w| {
        let ended = w.ok + w.failed;
        (ended > 0).then(|| w.ok as f64 / ended as f64)
    });
    let goodput = fig(&|w| Some(w.goodput_per_s));
    // The mean over replications of a statistic of the latency (`pick`
    // 0), the TTFT (1) or the TPOT (2).
    let mean_of = |pick: usize, st: crate::model::Stat| -> Option<f64> {
        let xs: Vec<Option<f64>> = runs
            .iter()
            .map(|r| {
                let w = &r.workloads[name];
                let l = [Some(&w.latency_ms), w.ttft_ms.as_ref(), w.tpot_ms.as_ref()][pick]?;
                sim::stat_ms(l, st)
            })
            .collect();
        let e = estimate(&xs);
        (e.n > 0).then_some(e.mean)
    };
    let lat_ok = [&slo.latency, &slo.ttft, &slo.tpot].iter().enumerate().all(|(pick, bounds)| {
        bounds.iter().all(|(st, bound)| mean_of(pick, *st).is_some_and(|v| v <= bound.as_millis_f64()))
    });
    let ok_ok = slo.success.is_none_or(|least| success.n > 0 && success.mean >= least);
    let passed = runs.iter().filter(|r| r.slo.iter().all(|o| o.pass)).count();
    RatePoint {
        rate_per_s: rate,
        meets_slo: lat_ok && ok_ok,
        slo_pass_fraction: passed as f64 / runs.len().max(1) as f64,
        p50_ms: p50,
        p99_ms: p99,
        success,
        goodput_per_s: goodput,
    }
}

/// The capacity of workload `wl` of `m` under `slo` (its base rate is
/// where the search starts).
/// `tried` is told of each rate as it is judged (for a progress display).
pub fn search(m: &Model, wl: WorkloadId, slo: &Slo, s: &Search, tried_one: &dyn Fn(&RatePoint)) -> Capacity {
    let base = match m.workloads[wl.ix()].kind {
        WorkloadKind::Open { rate_per_s, .. } if rate_per_s > 0.0 => rate_per_s,
        _ => 1.0,
    };
    let mut tried: Vec<RatePoint> = Vec::new();
    let eval = |rate: f64, tried: &mut Vec<RatePoint>| -> bool {
        let p = evaluate(m, wl, slo, rate, s);
        tried_one(&p);
        let ok = p.meets_slo;
        tried.push(p);
        ok
    };
    // Bracket [lo meets, hi misses].
    let (mut lo, mut hi): (Option<f64>, Option<f64>) = (None, None);
    let mut r = base;
    if eval(r, &mut tried) {
        lo = Some(r);
        for _ in 0..40 {
            r *= 2.0;
            if eval(r, &mut tried) {
                lo = Some(r);
            } else {
                hi = Some(r);
                break;
            }
        }
    } else {
        hi = Some(r);
        for _ in 0..40 {
            r /= 2.0;
            if eval(r, &mut tried) {
                lo = Some(r);
                break;
            }
            hi = Some(r);
        }
    }
    if let (Some(mut a), Some(mut b)) = (lo, hi) {
        while (b - a) > s.precision * b {
            let mid = (a + b) / 2.0;
            if eval(mid, &mut tried) { a = mid } else { b = mid }
        }
        lo = Some(a);
    }
    // The curve: a grid around the capacity (or the rates tried).
    let top = lo.unwrap_or(base);
    let n = s.curve_points.max(3);
    for k in 0..n {
        let rate = top * (0.1 + 1.1 * k as f64 / (n - 1) as f64);
        if !tried.iter().any(|p| (p.rate_per_s - rate).abs() < 1e-9 * rate) {
            eval(rate, &mut tried);
        }
    }
    tried.sort_by(|a, b| a.rate_per_s.total_cmp(&b.rate_per_s));
    // The knee of the curve where the SLOs hold (beyond, latency is that of
    // an overloaded system and would swamp the scale).
    let within: Vec<RatePoint> = tried.iter().filter(|p| lo.is_none_or(|c| p.rate_per_s <= c)).cloned().collect();
    Capacity {
        workload: m.workloads[wl.ix()].name.clone(),
        slo: slo.describe(),
        bounds_ms: slo
            .latency
            .iter()
            .map(|(st, d)| (st.word().to_string(), d.as_millis_f64()))
            .chain(slo.ttft.iter().map(|(st, d)| (format!("ttft_{}", st.word()), d.as_millis_f64())))
            .chain(slo.tpot.iter().map(|(st, d)| (format!("tpot_{}", st.word()), d.as_millis_f64())))
            .collect(),
        capacity_per_s: lo,
        knee_per_s: knee(&within),
        points: tried,
    }
}

/// The knee of the (rate, p99) curve (see the module doc); points whose
/// p99 is unknown are left out.
pub fn knee(points: &[RatePoint]) -> Option<f64> {
    let pts: Vec<(f64, f64)> =
        points.iter().filter(|p| p.p99_ms.n > 0).map(|p| (p.rate_per_s, p.p99_ms.mean)).collect();
    if pts.len() < 3 {
        return None;
    }
    let (x0, x1) = (pts[0].0, pts[pts.len() - 1].0);
    let (y0, y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let norm = |p: &(f64, f64)| ((p.0 - x0) / (x1 - x0), (p.1 - y0) / (y1 - y0));
    let (a, b) = (norm(&pts[0]), norm(&pts[pts.len() - 1]));
    // Distance below the chord from the first to the last point.
    let below = |p: (f64, f64)| {
        let chord = a.1 + (b.1 - a.1) * (p.0 - a.0) / (b.0 - a.0).max(1e-12);
        chord - p.1
    };
    pts.iter()
        .map(|p| (p.0, below(norm(p))))
        .filter(|(_, d)| *d > 0.0)
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(x, _)| x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(rate: f64, p99: f64) -> RatePoint {
        let e = |m: f64| Estimate { mean: m, ci95: [m, m], sd: 0.0, n: 1 };
        RatePoint {
            rate_per_s: rate,
            meets_slo: true,
            slo_pass_fraction: 1.0,
            p50_ms: e(p99 / 4.0),
            p99_ms: e(p99),
            success: e(1.0),
            goodput_per_s: e(rate),
        }
    }

    #[test]
    fn the_knee_of_a_hockey_stick_is_its_bend() {
        // Flat to 800/s, then steep: the knee is at the bend.
        let pts: Vec<RatePoint> =
            [(100.0, 10.0), (400.0, 11.0), (700.0, 13.0), (800.0, 15.0), (900.0, 40.0), (1000.0, 200.0)]
                .iter()
                .map(|&(r, p)| point(r, p))
                .collect();
        assert_eq!(knee(&pts), Some(800.0));
        assert_eq!(knee(&pts[..2]), None);
    }
}
