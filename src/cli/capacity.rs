//! `stormcast capacity FILE --workload W --slo p99=300ms,success=99.9%`:
//! the highest rate of a workload that still meets its SLOs, the knee of
//! its latency curve, and the curve (see `experiment::capacity`).

use super::{EXIT_CHECK_FAILED, EXIT_OK, load_or_report_with, usage_error};
use crate::engine::SimDuration;
use crate::experiment::capacity::{self, Capacity, Search};
use crate::model::{Slo, Stat, WorkloadId, WorkloadKind};
use crate::spec::units;
use std::fmt::Write;
use std::path::PathBuf;

/// " — did you mean 'x'?" or nothing.
fn did_you_mean_text(word: &str, candidates: &[&str]) -> String {
    crate::spec::suggest(word, candidates.iter().copied()).map_or(String::new(), |s| format!(" — did you mean '{s}'?"))
}

pub(super) struct CapArgs {
    pub file: PathBuf,
    pub workload: String,
    pub slo: String,
    pub replications: u32,
    pub seed: u64,
    pub duration: Option<String>,
    pub jobs: Option<usize>,
    pub json: bool,
    pub sets: Vec<String>,
}

/// `p99=300ms,success=99.9%` for workload `wl`.
pub fn parse_slo(text: &str, wl: WorkloadId, name: &str) -> Result<Slo, String> {
    let mut slo = Slo { workload: wl, name: name.to_string(), latency: Vec::new(), success: None };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| format!("--slo: '{part}' is not KEY=VALUE (p99=300ms)"))?;
        let (k, v) = (k.trim(), v.trim());
        if k == "success" {
            let r = units::parse_ratio(v).map_err(|e| format!("--slo success: {e}"))?;
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("--slo success={v}: a share between 0 and 1 (99.9% or 0.999)"));
            }
            slo.success = Some(r);
            continue;
        }
        let Some(stat) = Stat::ALL.iter().copied().find(|s| s.word() == k) else {
            let words: Vec<&str> = Stat::ALL.iter().map(|s| s.word()).chain(["success"]).collect();
            return Err(format!("--slo: '{k}' is no SLO key{}", did_you_mean_text(k, &words)));
        };
        let d = units::parse_duration(v).map_err(|e| format!("--slo {k}: {e}"))?;
        if d == SimDuration::ZERO {
            return Err(format!("--slo {k}: the bound must be longer than zero"));
        }
        slo.latency.push((stat, d));
    }
    if slo.latency.is_empty() && slo.success.is_none() {
        return Err("--slo needs a bound, such as p99=300ms or success=99.9%".into());
    }
    Ok(slo)
}

pub(super) fn cmd_capacity(a: &CapArgs) -> i32 {
    let mut model = match load_or_report_with(&a.file, &a.sets) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let Some(d) = &a.duration {
        match units::parse_duration(d) {
            Ok(d) if d > model.warmup => model.duration = d,
            Ok(d) => return usage_error(&format!("--duration {d} is not longer than the warm-up ({})", model.warmup)),
            Err(e) => return usage_error(&format!("--duration: {e}")),
        }
    }
    let names: Vec<&str> = model.workloads.iter().map(|w| w.name.as_str()).collect();
    let Some(i) = model.workloads.iter().position(|w| w.name == a.workload) else {
        return usage_error(&format!(
            "--workload: no workload '{}'{} (the workloads are: {})",
            a.workload,
            did_you_mean_text(&a.workload, &names),
            names.join(", ")
        ));
    };
    if !matches!(model.workloads[i].kind, WorkloadKind::Open { .. }) {
        return usage_error(&format!(
            "--workload {}: a closed loop (users) has no rate to raise; capacity searches open-loop workloads",
            a.workload
        ));
    }
    let wl = WorkloadId(i as u32);
    let slo = match parse_slo(&a.slo, wl, &a.workload) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let threads = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let s = Search { replications: a.replications.max(1), seed: a.seed, threads, ..Search::default() };
    let c = capacity::search(&model, wl, &slo, &s);
    if a.json {
        match serde_json::to_string_pretty(&c) {
            Ok(t) => println!("{t}"),
            Err(e) => return usage_error(&format!("cannot write the result: {e}")),
        }
    } else {
        print!("{}", text(&c));
    }
    if c.capacity_per_s.is_none() { EXIT_CHECK_FAILED } else { EXIT_OK }
}

/// The capacity in words and the curve as a table.
pub fn text(c: &Capacity) -> String {
    let mut o = String::new();
    let rate = |x: Option<f64>| x.map_or_else(|| "none".into(), |r| format!("{r:.1}/s"));
    let _ = writeln!(o, "{} under {}:", c.workload, c.slo);
    let _ = writeln!(
        o,
        "  capacity {} (highest rate meeting the SLOs), knee {}",
        rate(c.capacity_per_s),
        rate(c.knee_per_s)
    );
    let _ = writeln!(
        o,
        "\n  {:>10}  {:>16}  {:>16}  {:>14}  {:>10}  SLO",
        "rate/s", "p50 ms", "p99 ms", "success %", "goodput/s"
    );
    for p in &c.points {
        let e = |x: &crate::experiment::stats::Estimate, scale: f64| {
            if x.n == 0 {
                "—".to_string()
            } else {
                format!("{:.2} ± {:.2}", x.mean * scale, (x.ci95[1] - x.ci95[0]) / 2.0 * scale)
            }
        };
        let _ = writeln!(
            o,
            "  {:>10.1}  {:>16}  {:>16}  {:>14}  {:>10.1}  {}",
            p.rate_per_s,
            e(&p.p50_ms, 1.0),
            e(&p.p99_ms, 1.0),
            e(&p.success, 100.0),
            p.goodput_per_s.mean,
            if p.meets_slo { "met" } else { "missed" }
        );
    }
    o
}
