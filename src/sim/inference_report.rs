//! The inference servers' figures: per service `inference` (batching, KV
//! cache, waiting, preemptions, busy share, model loads), per workload
//! `ttft_ms`, `tpot_ms`, `output_tokens_per_s` and the token goodput, and
//! the `inference.csv` / `tokens.csv` rows at each interval's end.

use super::world::World;
use crate::engine::SimTime;
use crate::metrics::{InferenceResult, InferenceRow, TokenGoodput, TokenRow, WorkloadResult};

/// Per service: its `inference` block (`None` for ordinary services).
pub(crate) fn service_results(
    w: &mut World,
    end: SimTime,
    serving: &[u128],
    measured_s: f64,
) -> Vec<Option<InferenceResult>> {
    let m = w.m;
    (0..m.services.len())
        .map(|i| {
            let cfg = m.services[i].inference.as_ref()?;
            let st = w.gpus.services[i].as_mut()?;
            let serving = serving[i].max(1) as f64;
            let busy = st.busy.area_at(end.0) as f64;
            let waiting = st.waiting.area_at(end.0) as f64;
            let kv = st.kv.area_at(end.0) as f64;
            let measured_ns = measured_s * 1e9;
            Some(InferenceResult {
                iterations: st.iterations,
                busy_share: (busy / serving).min(1.0),
                batch_mean: if st.iterations > 0 { st.batch_sum as f64 / st.iterations as f64 } else { 0.0 },
                batch_max: st.batch_max,
                waiting_mean: waiting / measured_ns,
                waiting_max: st.waiting_max,
                kv_used_mean: (kv / (serving * cfg.kv_cache_tokens as f64)).min(1.0),
                kv_used_max: st.kv_share_max,
                preemptions: st.preemptions,
                sequences: st.sequences,
                too_long: st.too_long,
                prefill_tokens: st.prefill_tokens,
                output_tokens: st.output_tokens,
                output_tokens_per_s: st.output_tokens as f64 / measured_s,
                model_loads: st.model_loads,
                model_load_s_mean: if st.model_loads > 0 {
                    st.model_load_ns as f64 / st.model_loads as f64 / 1e9
                } else {
                    0.0
                },
            })
        })
        .collect()
}

/// Adds a workload's token figures to its result (when its requests can
/// reach a `generate` step).
pub(crate) fn workload_fields(w: &World, wl: usize, r: &mut WorkloadResult, measured_s: f64) {
    let t = &w.gpus.workloads[wl];
    if !t.reaches {
        return;
    }
    r.ttft_ms = Some(t.ttft.summary());
    r.tpot_ms = Some(t.tpot.summary());
    r.output_tokens_per_s = Some(t.tokens as f64 / measured_s);
    if t.ttft_bound.is_some() || t.tpot_bound.is_some() {
        let ended = r.ok + r.failed;
        r.token_goodput = Some(TokenGoodput {
            ttft_ms: t.ttft_bound.map(|d| d.as_millis_f64()),
            tpot_ms: t.tpot_bound.map(|d| d.as_millis_f64()),
            met: t.met,
            attainment: if ended > 0 { t.met as f64 / ended as f64 } else { 0.0 },
            goodput_per_s: t.met as f64 / measured_s,
        });
    }
}

/// The warm-up ended: counts restart (levels stay).
pub(crate) fn warmup_ends(w: &mut World, now: SimTime) {
    if !w.gpus.any {
        return;
    }
    w.gpus.warmup_ends(now);
    for t in &mut w.gpus.workloads {
        t.ttft.reset();
        t.tpot.reset();
        t.tokens = 0;
        t.met = 0;
    }
    for i in 0..w.m.services.len() {
        let serving = w.fleet.rosters[i].serving.area_at(now.0);
        if let Some(st) = w.gpus.services[i].as_mut() {
            st.iv.serving_start = serving;
        }
    }
}

/// Closes the interval `[from, now)`: a row per inference service and per
/// workload that generates tokens (with `--out`).
pub(crate) fn interval_rows(w: &mut World, from: SimTime, now: SimTime) {
    if !w.gpus.any {
        return;
    }
    let keep = w.stats.keep_series;
    let t_s = from.as_secs_f64();
    for i in 0..w.m.services.len() {
        let Some(cap) = w.m.services[i].inference.as_ref().map(|c| c.kv_cache_tokens) else { continue };
        let serving = w.fleet.rosters[i].serving.area_at(now.0);
        let st = w.gpus.services[i].as_mut().expect("an inference service");
        let (busy, waiting, kv) = (st.busy.area_at(now.0), st.waiting.area_at(now.0), st.kv.area_at(now.0));
        let iv = std::mem::take(&mut st.iv);
        st.iv.busy_start = busy;
        st.iv.waiting_start = waiting;
        st.iv.kv_start = kv;
        st.iv.serving_start = serving;
        if !keep {
            continue;
        }
        let span = now.since(from).0.max(1) as f64;
        let serving = serving.saturating_sub(iv.serving_start) as f64;
        let share = |a: u128, start: u128, per: f64| {
            if per > 0.0 { (a.saturating_sub(start) as f64 / per).min(1.0) } else { 0.0 }
        };
        w.obs.inference_rows.push(InferenceRow {
            t_s,
            service: i as u32,
            iterations: iv.iterations,
            batch_mean: (iv.iterations > 0).then(|| iv.batch_sum as f64 / iv.iterations as f64),
            busy_share: share(busy, iv.busy_start, serving),
            waiting: waiting.saturating_sub(iv.waiting_start) as f64 / span,
            kv_used: share(kv, iv.kv_start, serving * cap as f64),
            preemptions: iv.preemptions,
            output_tokens: iv.output_tokens,
        });
    }
    for (i, t) in w.gpus.workloads.iter_mut().enumerate() {
        if !t.reaches {
            continue;
        }
        let q = |h: &crate::metrics::Hist, p: f64| (h.count() > 0).then(|| h.quantile_ns(p) as f64 / 1e6);
        if keep {
            w.obs.token_rows.push(TokenRow {
                t_s,
                workload: i as u32,
                ttft_p50_ms: q(&t.iv_ttft, 0.5),
                ttft_p95_ms: q(&t.iv_ttft, 0.95),
                tpot_p50_ms: q(&t.iv_tpot, 0.5),
                tpot_p95_ms: q(&t.iv_tpot, 0.95),
                output_tokens: t.iv_tokens,
            });
        }
        t.iv_ttft.reset();
        t.iv_tpot.reset();
        t.iv_tokens = 0;
    }
}
