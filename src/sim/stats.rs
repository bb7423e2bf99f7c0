//! What the simulation records as it runs: counters, latency histograms and
//! time integrals per workload, service, edge and cache, and the counters
//! of the current series interval. A leaf: methods take the ids and times
//! they need; [`super::observe`] closes intervals and the warm-up.
//!
//! Everything before the warm-up ends is forgotten at the warm-up, except
//! workload counts, which follow the request's arrival time (a request
//! counts if it arrived after the warm-up).

use super::chain::Bands;
use super::detect::{ServiceSample, SloWindow};
use super::ids::{EdgeId, EndpointId, ServiceId, WorkloadId};
use super::options::RunOptions;
use super::state::{Cause, Origin, Outcome};
use crate::engine::{SimDuration, SimTime};
use crate::metrics::{CacheRow, ClientResult, Hist, Integral, PoolRow, QueueRow, ReplicaRow, ServiceRow, WorkloadRow};
use crate::model::{FailureKind, Model};
use std::collections::BTreeMap;

#[derive(Clone)]
pub(crate) struct WorkloadStats {
    pub offered: u64,
    pub ok: u64,
    /// Failed requests by the kind of their root cause.
    pub failed_by: [u64; 4],
    /// Failed requests by root cause (kind, origin).
    pub causes: BTreeMap<Cause, u64>,
    /// Counted requests not yet finished.
    pub in_flight: u64,
    pub latency: Hist,
    /// What the edge client did (all zero without `client:`;
    /// `amplification` is filled in at the end).
    pub client: ClientResult,
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

/// Counters of the current series interval, per workload.
#[derive(Clone, Default)]
pub(crate) struct WorkloadInterval {
    pub offered: u64,
    pub ok: u64,
    pub failed: u64,
    /// The edge client's retries and timeouts.
    pub client_retries: u64,
    pub client_timeouts: u64,
}

/// Counters of the current series interval, per service.
#[derive(Clone, Default)]
pub(crate) struct ServiceInterval {
    pub arrivals: u64,
    pub attempts: u64,
    /// First attempts of calls (not retries or hedges).
    pub first_attempts: u64,
    /// Attempts refused by admission (full queue, `max_wait`).
    pub rejected: u64,
    pub timeouts: u64,
    /// Some replica had every admission slot taken during the interval.
    pub pool_full: bool,
    pub busy_area_start: u128,
    pub slots_area_start: u128,
    /// Area of serving replicas at the start.
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
    pub keep_series: bool,
    /// Running p99 estimate per workload for the tail chain, ns.
    pub p99_estimate: Vec<u64>,
    /// Running p45 and p55 estimates per workload for the median chain, ns.
    pub median_band: Vec<(u64, u64)>,
    /// Requests in flight per workload, counted or not (series).
    pub wl_live: Vec<u64>,
    /// Per workload with an SLO: what it did in the judged window being filled.
    pub slo_windows: Vec<Option<SloWindow>>,
    /// Per endpoint of a service with several: completed attempts, of
    /// which errors, and their server-side latency (2 digits: 1%). A
    /// service's only endpoint has the service's own figures (not kept twice).
    pub endpoints: Vec<EndpointStats>,
    /// Per service: whether it has more than one endpoint.
    pub several_endpoints: Vec<bool>,
    /// Per call site: the latency of successful calls as the caller saw
    /// them, first attempt sent to answer, retries and backoff included.
    pub edge_latency: Vec<Hist>,
}

/// Per endpoint: what its service's figures are, split by endpoint.
#[derive(Clone)]
pub(crate) struct EndpointStats {
    pub completed: u64,
    pub errors: u64,
    pub latency: Hist,
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
            failed_by: [0; 4],
            causes: BTreeMap::new(),
            in_flight: 0,
            latency: Hist::new(3),
            client: ClientResult::default(),
        };
        Stats {
            workloads: vec![wl; m.workloads.len()],
            services: vec![svc; m.services.len()],
            edges: vec![EdgeStats::default(); m.edges.len()],
            caches: vec![(0, 0); m.caches.len()],
            wl_interval: vec![WorkloadInterval::default(); m.workloads.len()],
            wl_interval_hist: if keep { (0..m.workloads.len()).map(|_| Hist::new(2)).collect() } else { Vec::new() },
            svc_interval: vec![ServiceInterval::default(); m.services.len()],
            keep_series: keep,
            p99_estimate: vec![0; m.workloads.len()],
            median_band: vec![(0, 0); m.workloads.len()],
            wl_live: vec![0; m.workloads.len()],
            endpoints: vec![EndpointStats { completed: 0, errors: 0, latency: Hist::new(2) }; m.endpoints.len()],
            several_endpoints: {
                let mut n = vec![0u32; m.services.len()];
                for ep in &m.endpoints {
                    n[ep.service.ix()] += 1;
                }
                n.into_iter().map(|k| k > 1).collect()
            },
            edge_latency: vec![Hist::new(2); m.edges.len()],
            slo_windows: (0..m.workloads.len())
                .map(|i| m.slo.iter().any(|o| o.workload.ix() == i).then(SloWindow::new))
                .collect(),
        }
    }

    #[inline]
    pub fn edge(&mut self, e: EdgeId) -> &mut EdgeStats {
        &mut self.edges[e.ix()]
    }

    pub fn cache_lookup(&mut self, cache: usize, hit: bool) {
        if hit {
            self.caches[cache].0 += 1;
        } else {
            self.caches[cache].1 += 1;
        }
    }

    /// A request entered the system.
    pub fn request_started(&mut self, wl: WorkloadId, counted: bool) {
        let i = wl.ix();
        if counted {
            self.workloads[i].offered += 1;
            self.workloads[i].in_flight += 1;
        }
        self.wl_interval[i].offered += 1;
        self.wl_live[i] += 1;
    }

    /// The edge client of `wl` sent an attempt (a first try, or a `retry`).
    pub fn client_attempt(&mut self, wl: WorkloadId, counted: bool, retry: bool) {
        let i = wl.ix();
        self.wl_interval[i].client_retries += u64::from(retry);
        if counted {
            let c = &mut self.workloads[i].client;
            c.attempts += 1;
            c.retries += u64::from(retry);
        }
    }

    /// The edge client of `wl` stopped waiting for an attempt.
    pub fn client_timeout(&mut self, wl: WorkloadId, counted: bool) {
        let i = wl.ix();
        self.wl_interval[i].client_timeouts += 1;
        if counted {
            self.workloads[i].client.timeouts += 1;
        }
    }

    /// A request ended at the edge after `attempts` attempts. Returns
    /// whether it belongs to the tail chain (a counted success at or above
    /// the running p99).
    pub fn request_done(
        &mut self,
        wl: WorkloadId,
        counted: bool,
        cause: Option<Cause>,
        latency: SimDuration,
        attempts: u32,
    ) -> Bands {
        let i = wl.ix();
        self.wl_live[i] -= 1;
        let iv = &mut self.wl_interval[i];
        match cause {
            None => {
                iv.ok += 1;
                if self.keep_series {
                    self.wl_interval_hist[i].record(latency.0);
                }
            }
            Some(_) => iv.failed += 1,
        }
        if !counted {
            return Bands::default();
        }
        if let Some(w) = &mut self.slo_windows[i] {
            match cause {
                None => {
                    w.ok += 1;
                    w.latency.record(latency.0);
                }
                Some(_) => w.failed += 1,
            }
        }
        let s = &mut self.workloads[i];
        s.in_flight -= 1;
        let Some(cause) = cause else {
            if attempts <= 1 {
                s.client.first_try_ok += 1;
            } else {
                s.client.ok_after_retry += 1;
            }
            s.ok += 1;
            s.latency.record(latency.0);
            // Refresh the running p99 now and then: at each power of two from
            // 1024, then every 2^16 requests (a quantile walks the histogram).
            if (s.ok.is_power_of_two() && s.ok >= 1024) || s.ok.is_multiple_of(65_536) {
                self.p99_estimate[i] = s.latency.quantile_ns(0.99);
                self.median_band[i] = (s.latency.quantile_ns(0.45), s.latency.quantile_ns(0.55));
            }
            let est = self.p99_estimate[i];
            let (lo, hi) = self.median_band[i];
            return Bands { median: hi > 0 && (lo..=hi).contains(&latency.0), tail: est > 0 && latency.0 >= est };
        };
        s.failed_by[cause.kind as usize] += 1;
        s.client.gave_up += u64::from(cause.origin == Origin::Client(wl));
        *s.causes.entry(cause).or_insert(0) += 1;
        Bands::default()
    }

    /// A call on `edge` ended in failure (seen by a caller still waiting).
    pub fn call_failed(&mut self, edge: EdgeId, outcome: Outcome, cause: Cause) {
        let e = &mut self.edges[edge.ix()];
        e.failures += 1;
        if outcome == Outcome::Rejected {
            e.rejected += 1;
        }
        match cause.kind {
            FailureKind::Error => e.failed_by.error += 1,
            FailureKind::Timeout => e.failed_by.timeout += 1,
            FailureKind::Rejected => e.failed_by.rejected += 1,
            FailureKind::ShortCircuited => e.failed_by.short_circuited += 1,
        }
    }

    #[inline]
    pub fn attempt_sent(&mut self, service: ServiceId, first: bool) {
        let iv = &mut self.svc_interval[service.ix()];
        iv.attempts += 1;
        iv.first_attempts += u64::from(first);
    }

    #[inline]
    pub fn attempt_arrived(&mut self, service: ServiceId) {
        self.services[service.ix()].arrivals += 1;
        self.svc_interval[service.ix()].arrivals += 1;
    }

    /// Refused by admission: a full queue or `max_wait` (`pool` true), or
    /// an outage or no ready replica (`pool` false).
    #[inline]
    pub fn attempt_rejected(&mut self, service: ServiceId, pool: bool) {
        self.services[service.ix()].rejected += 1;
        if pool {
            self.svc_interval[service.ix()].rejected += 1;
        }
    }

    pub fn attempt_timed_out(&mut self, service: ServiceId) {
        self.services[service.ix()].timeouts += 1;
        self.svc_interval[service.ix()].timeouts += 1;
    }

    pub fn deadline_dropped(&mut self, service: ServiceId) {
        self.services[service.ix()].deadline_dropped += 1;
    }

    pub fn attempt_cancelled(&mut self, service: ServiceId) {
        self.services[service.ix()].cancelled += 1;
    }

    /// An admitted attempt responded after `server_latency` at the replica.
    #[inline]
    pub fn attempt_completed(
        &mut self,
        service: ServiceId,
        endpoint: EndpointId,
        outcome: Outcome,
        server_latency: SimDuration,
    ) {
        let s = &mut self.services[service.ix()];
        s.completed += 1;
        if outcome == Outcome::Error {
            s.errors += 1;
        }
        s.latency.record(server_latency.0);
        if !self.several_endpoints[service.ix()] {
            return;
        }
        let e = &mut self.endpoints[endpoint.ix()];
        e.completed += 1;
        if outcome == Outcome::Error {
            e.errors += 1;
        }
        e.latency.record(server_latency.0);
    }

    /// A call on `edge` succeeded `latency` after its first attempt was sent.
    #[inline]
    pub fn call_ok(&mut self, edge: EdgeId, latency: SimDuration) {
        self.edge_latency[edge.ix()].record(latency.0);
    }

    /// An attempt started its endpoint after waiting `wait` since it arrived.
    #[inline]
    pub fn admitted(&mut self, service: ServiceId, wait: SimDuration) {
        let s = &mut self.services[service.ix()];
        s.admitted += 1;
        s.queue_wait_ns += wait.0 as u128;
    }

    #[inline]
    pub fn queue_changed(&mut self, service: ServiceId, now: SimTime, delta: i64) {
        let s = &mut self.services[service.ix()];
        s.queue.add(now.0, delta);
        s.queue_len_max = s.queue_len_max.max(s.queue.level as u64);
    }

    #[inline]
    pub fn slots_changed(&mut self, service: ServiceId, now: SimTime, delta: i64, full: bool) {
        self.services[service.ix()].slots.add(now.0, delta);
        if full {
            self.svc_interval[service.ix()].pool_full = true;
        }
    }

    #[inline]
    pub fn core_taken(&mut self, service: ServiceId, now: SimTime) {
        self.services[service.ix()].busy.add(now.0, 1);
    }

    /// Steps left their cores without finishing (throttled, paused, or
    /// their replica left its node): `delta` is negative.
    pub fn busy_delta(&mut self, service: ServiceId, now: SimTime, delta: i64) {
        self.services[service.ix()].busy.add(now.0, delta);
    }

    #[inline]
    pub fn core_released(&mut self, service: ServiceId, now: SimTime, queued: SimDuration, wasted: SimDuration) {
        let s = &mut self.services[service.ix()];
        s.busy.add(now.0, -1);
        s.work_steps += 1;
        s.cpu_wait_ns += queued.0 as u128;
        s.wasted_cpu_ns += wasted.0 as u128;
    }

    /// The warm-up is over: forget what was measured so far (levels stay).
    pub fn warmup_ends(&mut self, now: SimTime) {
        for s in &mut self.services {
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
            s.busy_at_warmup = s.busy.area_at(now.0);
            s.slots_at_warmup = s.slots.area_at(now.0);
            s.queue_at_warmup = s.queue.area_at(now.0);
            s.latency.reset();
        }
        for e in &mut self.edges {
            *e = EdgeStats::default();
        }
        for e in &mut self.endpoints {
            (e.completed, e.errors) = (0, 0);
            e.latency.reset();
        }
        for h in &mut self.edge_latency {
            h.reset();
        }
        for c in &mut self.caches {
            *c = (0, 0);
        }
    }
}

/// Where a failure began, as results name it: `db` or `api->db.query`.
pub(crate) fn origin_name(m: &Model, o: Origin) -> String {
    match o {
        Origin::Service(s) => m.services[s.ix()].name.clone(),
        Origin::Edge(e) => m.edges[e.ix()].name.clone(),
        Origin::Client(w) => format!("{} client", m.workloads[w.ix()].name),
        Origin::Queue(q) => format!("queue {}", m.queues[q.ix()].name),
    }
}

/// Where the series and the observation boundaries stand (`observe`).
pub(crate) struct Observer {
    pub interval: SimDuration,
    /// The next interval end.
    pub next: SimTime,
    pub warmup_pending: bool,
    /// The earliest boundary not yet closed (the main loop's fast check).
    pub due: SimTime,
    pub wl_rows: Vec<WorkloadRow>,
    pub svc_rows: Vec<ServiceRow>,
    pub cache_rows: Vec<CacheRow>,
    pub queue_rows: Vec<QueueRow>,
    pub pool_rows: Vec<PoolRow>,
    pub replica_rows: Vec<ReplicaRow>,
    pub inference_rows: Vec<crate::metrics::InferenceRow>,
    pub token_rows: Vec<crate::metrics::TokenRow>,
    pub samples: Vec<ServiceSample>,
}

impl Observer {
    pub fn new(m: &Model, opts: &RunOptions) -> Self {
        let interval = SimDuration(opts.interval.0.max(1));
        Observer {
            interval,
            next: SimTime(interval.0),
            warmup_pending: m.warmup.0 > 0,
            due: if m.warmup.0 > 0 { SimTime(m.warmup.0.min(interval.0)) } else { SimTime(interval.0) },
            wl_rows: Vec::new(),
            svc_rows: Vec::new(),
            cache_rows: Vec::new(),
            queue_rows: Vec::new(),
            pool_rows: Vec::new(),
            replica_rows: Vec::new(),
            inference_rows: Vec::new(),
            token_rows: Vec::new(),
            samples: vec![ServiceSample::default(); m.services.len()],
        }
    }
}
