//! Boundaries that only observe the run: the end of the warm-up (statistics
//! restart) and the end of each series interval (a row per workload and
//! service with `--out`, and one sample for the findings detectors).
//!
//! They are not events: before each event the main loop calls [`advance`],
//! which closes every boundary up to the event's time (the warm-up before
//! an interval end at the same instant). An event at a boundary's exact
//! time belongs to what follows it. Neither the event count nor the digest
//! sees them, so `--interval` changes no number but the series.

use super::detect::ServiceSample;
use super::ids::ServiceId;
use super::world::World;
use crate::engine::SimTime;
use crate::metrics::{CacheRow, QueueRow, ServiceRow, WorkloadRow};

/// Closes every boundary at or before `t` (and not after the run's end).
#[inline]
pub(crate) fn advance(w: &mut World, t: SimTime) {
    if t >= w.obs.due {
        close_boundaries(w, t);
    }
}

#[cold]
fn close_boundaries(w: &mut World, t: SimTime) {
    let t = t.min(w.end);
    loop {
        if w.obs.warmup_pending && w.warmup <= t && w.warmup <= w.obs.next {
            w.obs.warmup_pending = false;
            w.q.advance_to(w.warmup);
            warmup_ends(w);
        } else if w.obs.next <= t {
            let at = w.obs.next;
            w.q.advance_to(at);
            interval_ends(w);
            w.obs.next = at + w.obs.interval;
        } else {
            w.obs.due = if w.obs.warmup_pending { w.warmup.min(w.obs.next) } else { w.obs.next };
            return;
        }
    }
}

/// The warm-up is over: forget what was measured so far (levels stay).
fn warmup_ends(w: &mut World) {
    let now = w.now();
    w.stats.warmup_ends(now);
    w.keyed.warmup_ends();
    w.fleet.warmup_ends(now);
    w.queues.warmup_ends(now);
    super::platform_report::warmup_ends(w, now);
    super::inference_report::warmup_ends(w, now);
}

/// Closes the current series interval.
fn interval_ends(w: &mut World) {
    let now = w.now();
    let from = SimTime(now.0.saturating_sub(w.obs.interval.0));
    let offered: u64 = w.stats.wl_interval.iter().map(|i| i.offered).sum();
    let ok: u64 = w.stats.wl_interval.iter().map(|i| i.ok).sum();
    for i in 0..w.m.services.len() {
        let svc = &w.m.services[i];
        let serving_area = w.fleet.rosters[i].serving.area_at(now.0);
        let s = &mut w.stats.services[i];
        let (busy_area, slots_area) = (s.busy.area_at(now.0), s.slots.area_at(now.0));
        let iv = std::mem::take(&mut w.stats.svc_interval[i]);
        let serving = serving_area - iv.serving_area_start;
        w.obs.samples[i] = ServiceSample {
            busy_ns: busy_area - iv.busy_area_start,
            cores_ns: u128::from(svc.cpus) * serving,
            slots_ns: slots_area - iv.slots_area_start,
            slot_capacity_ns: svc.max_in_flight.map_or(0, |n| u128::from(n) * serving),
            pool_full: iv.pool_full,
            pool_rejected: iv.rejected,
            attempts: iv.attempts,
            first_attempts: iv.first_attempts,
        };
        if w.stats.keep_series {
            let sample = &w.obs.samples[i];
            let (slots, queue) = (s.slots.level as u64, s.queue.level as u64);
            w.obs.svc_rows.push(ServiceRow {
                t_s: from.as_secs_f64(),
                service: i as u32,
                arrivals: iv.arrivals,
                attempts: iv.attempts,
                rejected: iv.rejected,
                timeouts: iv.timeouts,
                in_flight: slots,
                queue_len: queue,
                utilization: if sample.cores_ns > 0 { sample.busy_ns as f64 / sample.cores_ns as f64 } else { 0.0 },
                replicas_ready: w.fleet.services[i].ready.len() as u32,
                replicas_total: w.fleet.rosters[i].total.level as u32,
                amplification: iv.attempts as f64 / offered.max(1) as f64,
                retries: iv.attempts.saturating_sub(iv.first_attempts),
                faults: if w.faults.any { w.faults.active_on(w.m, ServiceId(i as u32)) } else { String::new() },
            });
        }
        let iv = &mut w.stats.svc_interval[i];
        iv.busy_area_start = busy_area;
        iv.slots_area_start = slots_area;
        iv.serving_area_start = serving_area;
    }
    if w.keyed.any {
        let rows = w.keyed.take_interval();
        // Rows name keyed caches by their index among the keyed ones.
        for (ix, (n, entries)) in rows.into_iter().flatten().enumerate() {
            if w.stats.keep_series {
                w.obs.cache_rows.push(CacheRow {
                    t_s: from.as_secs_f64(),
                    cache: ix as u32,
                    lookups: n.lookups,
                    hits: n.hits,
                    hit_ratio: (n.lookups > 0).then(|| n.hits as f64 / n.lookups as f64),
                    entries,
                });
            }
        }
    }
    if !w.queues.is_empty() {
        queue_rows(w, from);
    }
    super::platform_report::interval_rows(w, from, now);
    super::inference_report::interval_rows(w, from, now);
    w.detect.interval(from, now, offered, ok, &w.obs.samples);
    if let Some(span) = w.detect.take_judged() {
        w.detect.judge_slo(&w.m.slo, span, &mut w.stats.slo_windows);
    }
    for i in 0..w.m.workloads.len() {
        let iv = std::mem::take(&mut w.stats.wl_interval[i]);
        if !w.stats.keep_series {
            continue;
        }
        let h = &mut w.stats.wl_interval_hist[i];
        let q = |h: &crate::metrics::Hist, p: f64| (h.count() > 0).then(|| h.quantile_ns(p) as f64 / 1e6);
        w.obs.wl_rows.push(WorkloadRow {
            t_s: from.as_secs_f64(),
            workload: i as u32,
            offered: iv.offered,
            ok: iv.ok,
            failed: iv.failed,
            p50_ms: q(h, 0.5),
            p95_ms: q(h, 0.95),
            p99_ms: q(h, 0.99),
            in_flight: w.stats.wl_live[i],
            client_retries: iv.client_retries,
            client_timeouts: iv.client_timeouts,
        });
        h.reset();
    }
}

/// One row per queue and consumer group; the levels the results keep
/// (deepest, longest lag, depth half-way through the measured run).
fn queue_rows(w: &mut World, from: SimTime) {
    let now = w.now();
    let counting = w.counted_now();
    let mid = SimTime(w.warmup.0 + (w.end.0 - w.warmup.0) / 2);
    for g in 0..w.queues.groups.len() {
        w.queues.expire(w.m, g as u32, now);
        let consumers = super::flow::messages::meter_consumers(w, g as u32, now);
        let grp = &mut w.queues.groups[g];
        let iv = std::mem::take(&mut grp.interval);
        let lag_s = grp.lag_s(now);
        if counting {
            grp.stats.lag_max_s = grp.stats.lag_max_s.max(lag_s);
        }
        if now >= mid && grp.stats.depth_mid.is_none() {
            grp.stats.depth_mid = Some(grp.waiting);
        }
        if w.stats.keep_series {
            w.obs.queue_rows.push(QueueRow {
                t_s: from.as_secs_f64(),
                queue: g as u32,
                published: iv.published,
                processed: iv.processed,
                redelivered: iv.redelivered,
                dead_lettered: iv.dead_lettered,
                rejected: iv.rejected,
                depth: grp.waiting,
                in_flight: grp.in_flight,
                lag_s,
                consumers,
            });
        }
    }
}
