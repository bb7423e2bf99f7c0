//! What the simulation records as it runs: counters, latency histograms and
//! time integrals per workload, service, edge and cache, plus the
//! per-interval series. Everything before the warm-up ends is forgotten at
//! [`on_warmup_ends`], except workload counts, which follow the request's
//! arrival time (a request counts if it arrived after the warm-up).

use super::{Outcome, RunOptions, World};
use crate::engine::SimDuration;
use crate::metrics::{Hist, Integral, ServiceRow, WorkloadRow};
use crate::model::Model;

#[derive(Clone)]
pub(crate) struct WorkloadStats {
    pub offered: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub rejected: u64,
    /// Counted requests not yet finished.
    pub in_flight: u64,
    pub latency: Hist,
}

#[derive(Clone)]
pub(crate) struct ServiceStats {
    pub arrivals: u64,
    pub completed: u64,
    pub errors: u64,
    pub rejected: u64,
    pub timeouts: u64,
    pub cancelled: u64,
    /// Dropped unstarted: their propagated deadline had passed.
    pub deadline_dropped: u64,
    pub admitted: u64,
    pub queue_wait_ns: u128,
    pub work_steps: u64,
    pub cpu_wait_ns: u128,
    pub wasted_cpu_ns: u128,
    pub queue_len_max: u64,
    /// Time integrals over the whole run; `*_at_warmup` are their areas when
    /// the warm-up ended (results use the difference).
    pub busy: Integral,
    pub slots: Integral,
    pub queue: Integral,
    pub busy_at_warmup: u128,
    pub slots_at_warmup: u128,
    pub queue_at_warmup: u128,
    pub latency: Hist,
}

/// Per call site: the counters of the result, filled in place.
pub(crate) type EdgeStats = crate::metrics::EdgeResult;

/// Counters of the current series interval.
#[derive(Clone, Default)]
pub(crate) struct WorkloadInterval {
    pub offered: u64,
    pub ok: u64,
    pub failed: u64,
}

#[derive(Clone, Default)]
pub(crate) struct ServiceInterval {
    pub arrivals: u64,
    pub attempts: u64,
    /// First attempts of calls (not retries or hedges).
    pub first_attempts: u64,
    pub rejected: u64,
    pub timeouts: u64,
    pub busy_area_start: u128,
    /// Area of serving replicas (`pods::Fleet::serving`) at the start.
    pub serving_area_start: u128,
}

pub(crate) struct Stats {
    pub workloads: Vec<WorkloadStats>,
    pub services: Vec<ServiceStats>,
    pub edges: Vec<EdgeStats>,
    pub caches: Vec<(u64, u64)>,
    pub wl_interval: Vec<WorkloadInterval>,
    pub wl_interval_hist: Vec<Hist>,
    pub svc_interval: Vec<ServiceInterval>,
    pub wl_rows: Vec<WorkloadRow>,
    pub svc_rows: Vec<ServiceRow>,
    pub keep_series: bool,
    pub interval: SimDuration,
    /// Running p99 estimate per workload for the tail chain, ns.
    pub p99_estimate: Vec<u64>,
    /// Requests in flight per workload, counted or not (series).
    pub wl_live: Vec<u64>,
    /// Compact per-interval record kept for findings, with or without `--out`.
    pub timeline: Timeline,
}

/// Per interval: requests offered and ok (all workloads), and per service
/// the attempts sent to it and how many were first tries. Memory grows with
/// the number of intervals only.
#[derive(Clone, Default)]
pub(crate) struct Timeline {
    pub offered: Vec<u64>,
    pub ok: Vec<u64>,
    pub attempts: Vec<Vec<u64>>,
    pub first_attempts: Vec<Vec<u64>>,
}

impl Stats {
    pub fn new(m: &Model, opts: &RunOptions) -> Self {
        let keep = opts.keep_series;
        let svc = ServiceStats {
            arrivals: 0,
            completed: 0,
            errors: 0,
            rejected: 0,
            timeouts: 0,
            cancelled: 0,
            deadline_dropped: 0,
            admitted: 0,
            queue_wait_ns: 0,
            work_steps: 0,
            cpu_wait_ns: 0,
            wasted_cpu_ns: 0,
            queue_len_max: 0,
            busy: Integral::default(),
            slots: Integral::default(),
            queue: Integral::default(),
            busy_at_warmup: 0,
            slots_at_warmup: 0,
            queue_at_warmup: 0,
            latency: Hist::new(3),
        };
        let wl = WorkloadStats {
            offered: 0,
            ok: 0,
            errors: 0,
            timeouts: 0,
            rejected: 0,
            in_flight: 0,
            latency: Hist::new(3),
        };
        Stats {
            workloads: vec![wl; m.workloads.len()],
            services: vec![svc; m.services.len()],
            edges: vec![EdgeStats::default(); m.edges.len()],
            caches: vec![(0, 0); m.caches.len()],
            wl_interval: vec![WorkloadInterval::default(); m.workloads.len()],
            wl_interval_hist: if keep { (0..m.workloads.len()).map(|_| Hist::new(2)).collect() } else { Vec::new() },
            svc_interval: vec![ServiceInterval::default(); m.services.len()],
            wl_rows: Vec::new(),
            svc_rows: Vec::new(),
            keep_series: keep,
            interval: opts.interval,
            p99_estimate: vec![0; m.workloads.len()],
            wl_live: vec![0; m.workloads.len()],
            timeline: Timeline {
                attempts: vec![Vec::new(); m.services.len()],
                first_attempts: vec![Vec::new(); m.services.len()],
                ..Timeline::default()
            },
        }
    }

    pub fn cache_lookup(&mut self, cache: usize, hit: bool) {
        if hit {
            self.caches[cache].0 += 1;
        } else {
            self.caches[cache].1 += 1;
        }
    }
}

pub(crate) fn request_done(w: &mut World, wl: u32, counted: bool, outcome: Outcome, latency: SimDuration, chain: u32) {
    w.stats.wl_live[wl as usize] -= 1;
    let iv = &mut w.stats.wl_interval[wl as usize];
    if outcome == Outcome::Ok {
        iv.ok += 1;
        if w.stats.keep_series {
            w.stats.wl_interval_hist[wl as usize].record(latency.0);
        }
    } else {
        iv.failed += 1;
    }
    if !counted {
        w.chains.recycle(chain);
        return;
    }
    let s = &mut w.stats.workloads[wl as usize];
    s.in_flight -= 1;
    match outcome {
        Outcome::Ok => {
            s.ok += 1;
            s.latency.record(latency.0);
            // Refresh the running p99 now and then: at each power of two from
            // 1024, then every 2^16 requests (a quantile walks the histogram).
            if (s.ok.is_power_of_two() && s.ok >= 1024) || s.ok.is_multiple_of(65_536) {
                w.stats.p99_estimate[wl as usize] = s.latency.quantile_ns(0.99);
            }
            let est = w.stats.p99_estimate[wl as usize];
            let in_tail = est > 0 && latency.0 >= est;
            w.chains.finish_request(wl, chain, in_tail);
        }
        Outcome::Error | Outcome::ShortCircuited => s.errors += 1,
        Outcome::Timeout => s.timeouts += 1,
        Outcome::Rejected => s.rejected += 1,
    }
    if outcome != Outcome::Ok {
        w.chains.recycle(chain);
    }
}

#[inline]
pub(crate) fn attempt_arrived(w: &mut World, service: u32) {
    w.stats.services[service as usize].arrivals += 1;
    w.stats.svc_interval[service as usize].arrivals += 1;
}

#[inline]
pub(crate) fn attempt_rejected(w: &mut World, service: u32) {
    w.stats.services[service as usize].rejected += 1;
    w.stats.svc_interval[service as usize].rejected += 1;
}

pub(crate) fn attempt_timed_out(w: &mut World, service: u32) {
    w.stats.services[service as usize].timeouts += 1;
    w.stats.svc_interval[service as usize].timeouts += 1;
}

pub(crate) fn deadline_dropped(w: &mut World, service: u32) {
    w.stats.services[service as usize].deadline_dropped += 1;
}

pub(crate) fn attempt_cancelled(w: &mut World, service: u32) {
    w.stats.services[service as usize].cancelled += 1;
}

#[inline]
pub(crate) fn attempt_responded(
    w: &mut World,
    service: u32,
    outcome: Outcome,
    server_latency: SimDuration,
    held_slot: bool,
) {
    if !held_slot {
        return;
    }
    let s = &mut w.stats.services[service as usize];
    s.completed += 1;
    if outcome == Outcome::Error {
        s.errors += 1;
    }
    s.latency.record(server_latency.0);
}

#[inline]
pub(crate) fn admitted(w: &mut World, service: u32, wait: SimDuration) {
    let s = &mut w.stats.services[service as usize];
    s.admitted += 1;
    s.queue_wait_ns += wait.0 as u128;
}

#[inline]
pub(crate) fn queue_changed(w: &mut World, service: u32, delta: i64, _replica_len: u32) {
    let now = w.now().0;
    let s = &mut w.stats.services[service as usize];
    s.queue.add(now, delta);
    s.queue_len_max = s.queue_len_max.max(s.queue.level as u64);
}

#[inline]
pub(crate) fn slot_taken(w: &mut World, service: u32) {
    let now = w.now().0;
    w.stats.services[service as usize].slots.add(now, 1);
}

#[inline]
pub(crate) fn slot_released(w: &mut World, service: u32) {
    let now = w.now().0;
    w.stats.services[service as usize].slots.add(now, -1);
}

#[inline]
pub(crate) fn core_taken(w: &mut World, service: u32) {
    let now = w.now().0;
    w.stats.services[service as usize].busy.add(now, 1);
}

#[inline]
pub(crate) fn core_released(w: &mut World, service: u32, queued: SimDuration, wasted: SimDuration) {
    let now = w.now().0;
    let s = &mut w.stats.services[service as usize];
    s.busy.add(now, -1);
    s.work_steps += 1;
    s.cpu_wait_ns += queued.0 as u128;
    s.wasted_cpu_ns += wasted.0 as u128;
}

/// The warm-up is over: forget what was measured so far (levels stay).
pub(crate) fn on_warmup_ends(w: &mut World) {
    let now = w.now().0;
    for s in &mut w.stats.services {
        s.arrivals = 0;
        s.completed = 0;
        s.errors = 0;
        s.rejected = 0;
        s.timeouts = 0;
        s.cancelled = 0;
        s.deadline_dropped = 0;
        s.admitted = 0;
        s.queue_wait_ns = 0;
        s.work_steps = 0;
        s.cpu_wait_ns = 0;
        s.wasted_cpu_ns = 0;
        s.queue_len_max = s.queue.level as u64;
        s.busy_at_warmup = s.busy.area_at(now);
        s.slots_at_warmup = s.slots.area_at(now);
        s.queue_at_warmup = s.queue.area_at(now);
        s.latency.reset();
    }
    for e in &mut w.stats.edges {
        *e = EdgeStats::default();
    }
    for c in &mut w.stats.caches {
        *c = (0, 0);
    }
    super::pods::on_warmup_ends(w);
}

/// Closes the current series interval: one row per workload and service.
pub(crate) fn on_interval_ends(w: &mut World) {
    let now = w.now();
    let width = w.stats.interval;
    let t_s = now.0.saturating_sub(width.0) as f64 / 1e9;
    let tl = &mut w.stats.timeline;
    tl.offered.push(w.stats.wl_interval.iter().map(|i| i.offered).sum());
    tl.ok.push(w.stats.wl_interval.iter().map(|i| i.ok).sum());
    for (i, iv) in w.stats.svc_interval.iter().enumerate() {
        tl.attempts[i].push(iv.attempts);
        tl.first_attempts[i].push(iv.first_attempts);
    }
    if !w.stats.keep_series {
        for iv in &mut w.stats.wl_interval {
            *iv = WorkloadInterval::default();
        }
        for (i, iv) in w.stats.svc_interval.iter_mut().enumerate() {
            let start = w.stats.services[i].busy.area_at(now.0);
            *iv = ServiceInterval { busy_area_start: start, ..ServiceInterval::default() };
        }
        return schedule_next_interval(w);
    }
    for i in 0..w.m.workloads.len() {
        let iv = std::mem::take(&mut w.stats.wl_interval[i]);
        let h = &mut w.stats.wl_interval_hist[i];
        w.stats.wl_rows.push(WorkloadRow {
            t_s,
            workload: i as u32,
            offered: iv.offered,
            ok: iv.ok,
            failed: iv.failed,
            p50_ms: h.quantile_ns(0.5) as f64 / 1e6,
            p99_ms: h.quantile_ns(0.99) as f64 / 1e6,
            in_flight: w.stats.wl_live[i],
        });
        h.reset();
    }
    let entering = *w.stats.timeline.offered.last().unwrap_or(&0);
    for i in 0..w.m.services.len() {
        let fleet = &mut w.scaling.fleets[i];
        let serving_area = fleet.serving.area_at(now.0);
        let replicas_total = fleet.total.level as u32;
        let core_ns = u128::from(w.m.services[i].cpus) * (serving_area - w.stats.svc_interval[i].serving_area_start);
        let s = &mut w.stats.services[i];
        let busy_area = s.busy.area_at(now.0);
        let (slots, queue) = (s.slots.level as u64, s.queue.level as u64);
        let iv = std::mem::take(&mut w.stats.svc_interval[i]);
        let used = busy_area - iv.busy_area_start;
        w.stats.svc_rows.push(ServiceRow {
            t_s,
            service: i as u32,
            arrivals: iv.arrivals,
            attempts: iv.attempts,
            rejected: iv.rejected,
            timeouts: iv.timeouts,
            in_flight: slots,
            queue_len: queue,
            utilization: if core_ns > 0 { used as f64 / core_ns as f64 } else { 0.0 },
            replicas_ready: w.services[i].ready.len() as u32,
            replicas_total,
            amplification: iv.attempts as f64 / entering.max(1) as f64,
            retries: iv.attempts.saturating_sub(iv.first_attempts),
            faults: if w.faults.any { super::faults::active_on(w, i as u32) } else { String::new() },
        });
        w.stats.svc_interval[i].busy_area_start = busy_area;
        w.stats.svc_interval[i].serving_area_start = serving_area;
    }
    schedule_next_interval(w);
}

fn schedule_next_interval(w: &mut World) {
    let next = w.now() + w.stats.interval;
    if next <= w.end {
        w.q.schedule_at(next, super::Event::IntervalEnds);
    }
}
