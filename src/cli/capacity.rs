//! `stormcast capacity FILE --workload W --slo p99=300ms,success=99.9%`:
//! the highest rate of a workload that still meets its SLOs, the knee of
//! its latency curve, and the curve (see `experiment::capacity`); with
//! `--out DIR`, `capacity.json`, the curve as `capacity.csv` and as a
//! chart, `capacity.svg`.

use super::{EXIT_CHECK_FAILED, EXIT_OK, check_writable, load_or_report_with, pretty, usage_error, write_atomic};
use crate::engine::SimDuration;
use crate::experiment::capacity::{self, RatePoint, Search};
use crate::model::{Slo, Stat, WorkloadId, WorkloadKind};
use crate::report;
use crate::spec::{did_you_mean, units};
use std::path::PathBuf;

pub(super) struct CapArgs {
    pub file: PathBuf,
    pub workload: String,
    pub slo: String,
    pub replications: u32,
    pub seed: u64,
    pub duration: Option<String>,
    pub jobs: Option<usize>,
    pub json: bool,
    pub out: Option<PathBuf>,
    pub quiet: bool,
    pub sets: Vec<String>,
}

/// `p99=300ms,success=99.9%` for workload `wl`.
pub fn parse_slo(text: &str, wl: WorkloadId, name: &str) -> Result<Slo, String> {
    let mut slo = Slo {
        workload: wl,
        name: name.to_string(),
        latency: Vec::new(),
        success: None,
        ttft: Vec::new(),
        tpot: Vec::new(),
    };
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
        // `p99`, or `ttft_p95` / `tpot_p95` for a token stream's.
        let (list, word) = match k.split_once('_') {
            Some(("ttft", w)) => (&mut slo.ttft, w),
            Some(("tpot", w)) => (&mut slo.tpot, w),
            _ => (&mut slo.latency, k),
        };
        let Some(stat) = Stat::ALL.iter().copied().find(|s| s.word() == word) else {
            let words: Vec<String> = Stat::ALL
                .iter()
                .flat_map(|s| [s.word().to_string(), format!("ttft_{}", s.word()), format!("tpot_{}", s.word())])
                .chain(["success".to_string()])
                .collect();
            return Err(format!("--slo: '{k}' is no SLO key{}", did_you_mean(k, words.iter().map(String::as_str))));
        };
        let d = units::parse_duration(v).map_err(|e| format!("--slo {k}: {e}"))?;
        if d == SimDuration::ZERO {
            return Err(format!("--slo {k}: the bound must be longer than zero"));
        }
        list.push((stat, d));
    }
    if slo.latency.is_empty() && slo.ttft.is_empty() && slo.tpot.is_empty() && slo.success.is_none() {
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
            did_you_mean(&a.workload, names.iter().copied()),
            names.join(", ")
        ));
    };
    if !matches!(model.workloads[i].kind, WorkloadKind::Open { .. }) {
        let what = match model.workloads[i].kind {
            WorkloadKind::Trace(_) => "a trace replay has no rate to raise (its `scale` multiplies it)",
            _ => "a closed loop (users) has no rate to raise",
        };
        return usage_error(&format!("--workload {}: {what}; capacity searches open-loop workloads", a.workload));
    }
    let wl = WorkloadId(i as u32);
    let slo = match parse_slo(&a.slo, wl, &a.workload) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let threads = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let s = Search { replications: a.replications.max(1), seed: a.seed, threads, ..Search::default() };
    if let Some(dir) = &a.out
        && let Err(e) = check_writable(dir)
    {
        return usage_error(&format!("cannot write to {}: {e}", dir.display()));
    }
    let tried = |p: &RatePoint| {
        if !a.quiet && !a.json {
            let p99 = if p.p99_ms.n > 0 { format!("{:.2} ms", p.p99_ms.mean) } else { "—".into() };
            eprintln!(
                "  {:>10.1}/s  p99 {p99:>12}  success {:>7.3}%  {}",
                p.rate_per_s,
                p.success.mean * 100.0,
                if p.meets_slo { "met" } else { "missed" }
            );
        }
    };
    if !a.quiet && !a.json {
        eprintln!(
            "stormcast: {} replications of {} per rate tried, on {threads} threads",
            s.replications, model.duration
        );
    }
    let c = capacity::search(&model, wl, &slo, &s, &tried);
    if let Some(dir) = &a.out {
        let written = pretty(&c)
            .and_then(|t| write_atomic(dir, "capacity.json", &t))
            .and_then(|()| write_atomic(dir, "capacity.csv", &report::capacity_csv(&c)))
            .and_then(|()| write_atomic(dir, "capacity.svg", &report::capacity_svg(&c)));
        if let Err(e) = written {
            return usage_error(&format!("cannot write {}: {e}", dir.display()));
        }
    }
    if a.json {
        match serde_json::to_string_pretty(&c) {
            Ok(t) => println!("{t}"),
            Err(e) => return usage_error(&format!("cannot write the result: {e}")),
        }
    } else {
        print!("{}", report::capacity_text(&c));
    }
    if c.capacity_per_s.is_none() { EXIT_CHECK_FAILED } else { EXIT_OK }
}
