//! `slo:` — service-level objectives, in a topology (checked after a run)
//! and in an experiment (judged per replication). Read after the
//! workloads, whose names they refer to.

use super::decode::{Ctx, did_you_mean};
use super::keys;
use super::yaml::Node;
use crate::model::{Slo, Stat, Workload, WorkloadId};

/// The percentiles a `ttft_` or `tpot_` bound may name.
const TOKEN_STATS: [Stat; 4] = [Stat::P50, Stat::P90, Stat::P95, Stat::P99];

/// Reads a list of SLOs at `path`, judging the `workloads`.
pub(super) fn slos(cx: &mut Ctx, workloads: &[Workload], n: &Node, path: &str) -> Vec<Slo> {
    let Some(items) = cx.list(n, path, "a list of SLOs", keys::SLO.hint) else { return Vec::new() };
    let mut out: Vec<Slo> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(f) = cx.fields(item, &p, item.loc(), &keys::SLO) else { continue };
        let Some(t) = cx.require(&f, "target", Some(keys::SLO.hint)) else { continue };
        let Some(name) = cx.text(t, &f.at("target"), "a workload's name") else { continue };
        let Some(w) = workloads.iter().position(|w| w.name == name) else {
            let names = workloads.iter().map(|w| w.name.as_str());
            let msg = format!("no workload named '{name}'{}", did_you_mean(name, names));
            let all: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
            cx.error(t.loc(), &f.at("target"), msg, Some(format!("the workloads are: {}", all.join(", "))));
            continue;
        };
        let mut slo = Slo {
            workload: WorkloadId(w as u32),
            name: name.to_string(),
            latency: Vec::new(),
            success: None,
            ttft: Vec::new(),
            tpot: Vec::new(),
        };
        for s in Stat::ALL {
            if let Some(v) = f.get(s.word())
                && let Some(d) = cx.positive_duration(v, &f.at(s.word()))
            {
                slo.latency.push((s, d));
            }
        }
        for s in TOKEN_STATS {
            for (prefix, bounds) in [("ttft", &mut slo.ttft), ("tpot", &mut slo.tpot)] {
                let k = format!("{prefix}_{}", s.word());
                if let Some(v) = f.get(&k)
                    && let Some(d) = cx.positive_duration(v, &f.at(&k))
                {
                    bounds.push((s, d));
                }
            }
        }
        if let Some(v) = f.get("success") {
            slo.success = cx.probability(v, &f.at("success"));
        }
        let token_keys = TOKEN_STATS.iter().any(|s| f.get(&format!("ttft_{}", s.word())).is_some())
            || TOKEN_STATS.iter().any(|s| f.get(&format!("tpot_{}", s.word())).is_some());
        if slo.latency.is_empty() && slo.success.is_none() && f.get("success").is_none() && !token_keys {
            let keys: Vec<&str> =
                Stat::ALL.iter().map(|s| s.word()).chain(["success", "ttft_p95", "tpot_p95"]).collect();
            let msg = format!("an SLO needs a bound: one of {}", keys.join(", "));
            cx.error(item.loc(), &p, msg, Some(keys::SLO.hint.into()));
            continue;
        }
        out.push(slo);
    }
    out
}
