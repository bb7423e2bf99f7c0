//! Replicas that come and go, and the Kubernetes HPA driving them: the
//! wiring between the simulated world and the pure controller in
//! [`super::autoscale`].
//!
//! **Life-cycle.** A replica is `Starting` → `Ready` → `Draining` → `Gone`.
//! A service without `autoscale` has only `Ready` replicas and never pays
//! for any of this beyond one `Option` test per level change. New replicas
//! are appended to `World::replicas` (a gone one stays as a tombstone, so
//! indices are stable); `ServiceState::ready` lists the ready ones and the
//! balancer picks only among them. A new replica is ready after a draw of
//! the service's `startup` (stream `startup`/service name). A replica picked
//! for scale-down leaves the ready list at once, finishes its in-flight and
//! queued attempts (and work still on its cores), then is gone. Attempts
//! already on the network to it are still admitted.
//!
//! **Scale-down choice** (like a ReplicaSet's deletion order): starting
//! replicas first (newest first: they go at once), then ready ones, the
//! most recently ready first.
//!
//! **No ready replica** (a `min: 0` service, or everything draining):
//! attempts are sent to a starting (else any) replica of the service and
//! rejected on arrival, as an ingress with no endpoints answers 503.
//!
//! **Metrics pipeline** (hpa.md §6). Each metered replica keeps cumulative
//! counters: busy core-time, in-system attempt-time (admitted + queued,
//! so `in_flight` is a time average over the window, not an instantaneous
//! count) and arrivals. A scrape (`HpaScrape`) every `sync_period`, at
//! each sync time minus `metrics_delay`, turns the difference with the
//! previous scrape into one sample per pod: window = the sync period
//! (metrics-server's 15 s resolution by default), timestamp = the scrape.
//! A pod's first sample needs two scrapes (a rate needs two points).
//! Samples wait in a queue until the sync (`HpaSync`) at scrape time +
//! `metrics_delay` reads them, so memory is `metrics_delay / sync_period`
//! scrapes × replicas, whatever the run length. CPU is in millicores
//! against a request of `cpus × 1000m`; in_flight and rps in thousandths.
//! External (KEDA) metrics get the service's total over the scrape period,
//! new replicas included (counted from zero: the rate an ingress or
//! Prometheus would report); a replica that went away between two scrapes
//! drops its last partial counts.
//!
//! **What the controller sees.** `spec.replicas` = starting + ready;
//! `status.replicas` likewise. Pods: every replica not gone. A starting
//! replica is `Pending` and not ready (so unready for every metric); its
//! `startTime` is its creation. A ready one is `Running`, `Ready` since it
//! became ready. A draining one has its deletion timestamp set (ignored).
//! Sync times are `phase + k·sync_period`, the phase uniform in
//! `[0, sync_period)` (stream `hpa_phase`/service name).
//!
//! Not here: the HPA arithmetic (`autoscale`), results and findings
//! (`pods_report`).

use super::autoscale::{
    Decision, Hpa, HpaSpec, MetricInput, Observation, Outcome, Pod, PodPhase, ReadyCondition, Sample, Samples,
};
use super::{Event, Replica, ReplicaState, World};
use crate::engine::{RngStream, SimDuration, SimTime};
use crate::metrics::Integral;
use crate::model::{Metric, MetricSource, Model};
use std::collections::VecDeque;

impl Replica {
    pub(crate) fn new(service: u32, state: ReplicaState, metered: bool) -> Self {
        Replica {
            service,
            in_flight: 0,
            queue: VecDeque::new(),
            queue_len: 0,
            busy: 0,
            cpu_queue: VecDeque::new(),
            outstanding: 0,
            state,
            meter: metered.then(|| Box::new(Meter::default())),
            limiter: None,
            down: false,
            paused_until: SimTime::ZERO,
            pause_total: 0,
        }
    }
}

/// Cumulative counters of one replica, for the HPA's samples.
#[derive(Default)]
pub(crate) struct Meter {
    last_ns: u64,
    /// Core-nanoseconds busy.
    busy_area: u128,
    /// Attempt-nanoseconds admitted or queued.
    system_area: u128,
    /// Attempts that arrived.
    pub arrivals: u64,
    /// The counters at the previous scrape.
    prev: Option<Snapshot>,
}

#[derive(Clone, Copy)]
struct Snapshot {
    at: SimTime,
    busy_area: u128,
    system_area: u128,
    arrivals: u64,
}

impl Meter {
    /// Accumulates the levels held since the last change.
    #[inline]
    pub(crate) fn advance(&mut self, now: SimTime, busy: u32, in_system: u32) {
        let dt = u128::from(now.0.saturating_sub(self.last_ns));
        self.busy_area += u128::from(busy) * dt;
        self.system_area += u128::from(in_system) * dt;
        self.last_ns = now.0;
    }
}

/// One pod's metric values over a scrape window: CPU millicores, in-system
/// thousandths, arrivals per second in thousandths.
#[derive(Clone, Copy, Debug)]
struct PodValues {
    replica: u32,
    values: [i64; 3],
}

/// What one scrape produced.
struct Scrape {
    at: SimTime,
    window: SimDuration,
    /// Pods with a sample (scraped twice at least).
    pods: Vec<PodValues>,
    /// The service's totals over the scrape period, every replica counted
    /// (new ones from zero): what an External metric (a rate at the
    /// ingress, KEDA) reports.
    totals: [i64; 3],
}

/// Life-cycle facts of one replica (parallel to `World::replicas`).
#[derive(Clone, Copy)]
pub(crate) struct PodInfo {
    pub created: SimTime,
    pub ready_at: Option<SimTime>,
    /// Index of the scale event that created it in `Autoscaler::events`.
    pub event: Option<u32>,
}

/// Replica counts of one service over time.
pub(crate) struct Fleet {
    /// Replicas of the service in creation order (gone ones included).
    pub members: Vec<u32>,
    /// Starting + ready + draining.
    pub total: Integral,
    /// Ready + draining: the replicas whose cores can be busy.
    pub serving: Integral,
    pub total_at_warmup: u128,
    pub serving_at_warmup: u128,
    /// Fewest and most replicas (total) since the warm-up.
    pub total_min: u32,
    pub total_max: u32,
}

/// One rescale, as the results show it.
#[derive(Clone, Debug)]
pub(crate) struct ScaleRecord {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
    pub reason: String,
    /// When the last replica it added became ready.
    pub ready_at: Option<SimTime>,
    /// Replicas it added still starting.
    pub starting: u32,
}

/// One sync, as the findings need it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tick {
    pub at: SimTime,
    /// Busy cores / serving cores over the last sync period (the truth,
    /// not what the controller saw).
    pub utilization: f64,
    pub current: i32,
    pub desired: i32,
    /// The metrics asked for more than `current`.
    pub wants_up: bool,
    /// A scale-up was held back by the stabilization window.
    pub stabilized_up: bool,
    /// A scale-up was cut by a rate policy (or the legacy cap).
    pub rate_limited_up: bool,
    /// A scale-up was cut by `max`.
    pub at_max: bool,
}

/// The HPA of one service and the pipeline feeding it.
pub(crate) struct Autoscaler {
    pub hpa: Hpa,
    pub startup_rng: RngStream,
    pub sync_period: SimDuration,
    pub metrics_delay: SimDuration,
    pending: VecDeque<Scrape>,
    latest: Option<Scrape>,
    pub events: Vec<ScaleRecord>,
    pub ticks: Vec<Tick>,
    first_sync: SimTime,
    prev_busy: u128,
    prev_serving: u128,
}

/// Everything this module keeps.
pub(crate) struct Scaling {
    pub fleets: Vec<Fleet>,
    pub hpas: Vec<Option<Box<Autoscaler>>>,
    pub pods: Vec<PodInfo>,
    /// Some service is autoscaled.
    pub any: bool,
}

impl Scaling {
    pub(crate) fn new(m: &Model, seed: u64, replicas: &[Replica]) -> Self {
        let mut fleets: Vec<Fleet> = m
            .services
            .iter()
            .map(|s| {
                let mut total = Integral::default();
                total.add(0, i64::from(s.replicas));
                let mut serving = Integral::default();
                serving.add(0, i64::from(s.replicas));
                Fleet {
                    members: Vec::new(),
                    total,
                    serving,
                    total_at_warmup: 0,
                    serving_at_warmup: 0,
                    total_min: s.replicas,
                    total_max: s.replicas,
                }
            })
            .collect();
        for (i, r) in replicas.iter().enumerate() {
            fleets[r.service as usize].members.push(i as u32);
        }
        let hpas = m
            .services
            .iter()
            .map(|s| {
                let cfg = s.autoscale.as_ref()?;
                let mut phase_rng = RngStream::derive(seed, "hpa_phase", &s.name);
                let phase =
                    SimDuration((phase_rng.unit() * cfg.sync_period.0 as f64) as u64 % cfg.sync_period.0.max(1));
                Some(Box::new(Autoscaler {
                    hpa: Hpa::new(HpaSpec::from_model(cfg)),
                    startup_rng: RngStream::derive(seed, "startup", &s.name),
                    sync_period: cfg.sync_period,
                    metrics_delay: cfg.metrics_delay,
                    pending: VecDeque::new(),
                    latest: None,
                    events: Vec::new(),
                    ticks: Vec::new(),
                    first_sync: SimTime(phase.0),
                    prev_busy: 0,
                    prev_serving: 0,
                }))
            })
            .collect::<Vec<_>>();
        let pods = replicas
            .iter()
            .map(|_| PodInfo { created: SimTime::ZERO, ready_at: Some(SimTime::ZERO), event: None })
            .collect();
        let any = hpas.iter().any(Option::is_some);
        Scaling { fleets, hpas, pods, any }
    }
}

/// Schedules each HPA's first scrape and sync.
pub(crate) fn start(w: &mut World) {
    if !w.scaling.any {
        return;
    }
    for s in 0..w.services.len() {
        let Some(a) = &w.scaling.hpas[s] else { continue };
        let (first_sync, period, delay) = (a.first_sync, a.sync_period.0.max(1), a.metrics_delay.0);
        // Scrapes on the grid of sync times minus the delay, from the first
        // such time at or after 0 (earlier syncs' samples included).
        let scrape = (i128::from(first_sync.0) - i128::from(delay)).rem_euclid(i128::from(period)) as u64;
        w.q.schedule_at(SimTime(scrape), Event::HpaScrape { service: s as u32 });
        w.q.schedule_at(first_sync, Event::HpaSync { service: s as u32 });
    }
}

/// The warm-up ended: replica statistics restart.
pub(crate) fn on_warmup_ends(w: &mut World) {
    let now = w.now().0;
    for f in &mut w.scaling.fleets {
        f.total_at_warmup = f.total.area_at(now);
        f.serving_at_warmup = f.serving.area_at(now);
        f.total_min = f.total.level as u32;
        f.total_max = f.total.level as u32;
    }
}

/// Changes a service's replica counts by the given deltas.
fn count(w: &mut World, service: u32, total: i64, serving: i64) {
    let now = w.now();
    let counted = now >= w.warmup;
    let f = &mut w.scaling.fleets[service as usize];
    if total != 0 {
        f.total.add(now.0, total);
        if counted {
            let level = f.total.level as u32;
            f.total_min = f.total_min.min(level);
            f.total_max = f.total_max.max(level);
        }
    }
    if serving != 0 {
        f.serving.add(now.0, serving);
    }
}

/// The balancer found no ready replica: send to a starting one (else the
/// newest) and let it reject the attempt on arrival.
#[cold]
pub(crate) fn no_ready_replica(w: &mut World, service: u32) -> u32 {
    let members = &w.scaling.fleets[service as usize].members;
    let starting = members.iter().rev().find(|&&r| w.replicas[r as usize].state == ReplicaState::Starting);
    let gone = members.iter().rev().find(|&&r| w.replicas[r as usize].state == ReplicaState::Gone);
    *starting.or(gone).or(members.last()).expect("a service has at least one replica")
}

/// Removes a draining replica once it has nothing left to do.
pub(crate) fn drained_if_idle(w: &mut World, replica: u32) {
    let r = &mut w.replicas[replica as usize];
    if r.state != ReplicaState::Draining || r.outstanding > 0 || r.in_flight > 0 || r.queue_len > 0 || r.busy > 0 {
        return;
    }
    r.state = ReplicaState::Gone;
    r.meter = None;
    r.queue = VecDeque::new();
    r.cpu_queue = VecDeque::new();
    let service = r.service;
    count(w, service, -1, -1);
}

pub(crate) fn on_replica_ready(w: &mut World, replica: u32) {
    let now = w.now();
    let r = &mut w.replicas[replica as usize];
    if r.state != ReplicaState::Starting {
        return; // removed while starting
    }
    r.state = ReplicaState::Ready;
    let service = r.service;
    w.services[service as usize].ready.push(replica);
    count(w, service, 0, 1);
    let info = &mut w.scaling.pods[replica as usize];
    info.ready_at = Some(now);
    if let (Some(e), Some(a)) = (info.event, w.scaling.hpas[service as usize].as_mut()) {
        let rec = &mut a.events[e as usize];
        rec.starting -= 1;
        if rec.starting == 0 {
            rec.ready_at = Some(now);
        }
    }
}

pub(crate) fn on_scrape(w: &mut World, service: u32) {
    let now = w.now();
    let Some(a) = w.scaling.hpas[service as usize].as_mut() else { return };
    let period = a.sync_period;
    let mut pods = Vec::new();
    let mut window = SimDuration::ZERO;
    let mut sums = [0u128; 3];
    for &ix in &w.scaling.fleets[service as usize].members {
        let r = &mut w.replicas[ix as usize];
        let (busy, in_system) = (r.busy, r.in_flight + r.queue_len);
        let Some(m) = r.meter.as_deref_mut() else { continue }; // gone
        m.advance(now, busy, in_system);
        let snap = Snapshot { at: now, busy_area: m.busy_area, system_area: m.system_area, arrivals: m.arrivals };
        let base = m.prev.unwrap_or(Snapshot { at: now, busy_area: 0, system_area: 0, arrivals: 0 });
        sums[0] += snap.busy_area - base.busy_area;
        sums[1] += snap.system_area - base.system_area;
        sums[2] += u128::from(snap.arrivals - base.arrivals);
        if let Some(p) = m.prev.replace(snap) {
            let dt = u128::from(now.0 - p.at.0).max(1);
            window = SimDuration(dt as u64);
            let per = |v: u128| i64::try_from(v * 1000 / dt).unwrap_or(i64::MAX);
            let rps = u128::from(snap.arrivals - p.arrivals) * 1000 * 1_000_000_000 / dt;
            pods.push(PodValues {
                replica: ix,
                values: [
                    per(snap.busy_area - p.busy_area),
                    per(snap.system_area - p.system_area),
                    i64::try_from(rps).unwrap_or(i64::MAX),
                ],
            });
        }
    }
    let dt = u128::from(period.0.max(1));
    let total = |v: u128| i64::try_from(v).unwrap_or(i64::MAX);
    let totals = [total(sums[0] * 1000 / dt), total(sums[1] * 1000 / dt), total(sums[2] * 1000 * 1_000_000_000 / dt)];
    a.pending.push_back(Scrape { at: now, window, pods, totals });
    w.q.schedule_at(now + period, Event::HpaScrape { service });
}

pub(crate) fn on_sync(w: &mut World, service: u32) {
    let now = w.now();
    let s = service as usize;
    let svc = &w.m.services[s];
    let Some(cfg) = svc.autoscale.as_ref() else { return };
    let Some(a) = w.scaling.hpas[s].as_mut() else { return };
    // The newest scrape at least `metrics_delay` old.
    while a.pending.front().is_some_and(|p| p.at.0 + a.metrics_delay.0 <= now.0) {
        a.latest = a.pending.pop_front();
    }
    // Drains a new code path may have missed: a backstop, normally a no-op.
    let members = w.scaling.fleets[s].members.clone();
    for &r in &members {
        if w.replicas[r as usize].state == ReplicaState::Draining {
            drained_if_idle(w, r);
        }
    }
    let mut pods = Vec::with_capacity(members.len());
    let mut current = 0i32;
    for &r in &members {
        let info = w.scaling.pods[r as usize];
        let (phase, deleted, ready) = match w.replicas[r as usize].state {
            ReplicaState::Gone => continue,
            ReplicaState::Starting => {
                current += 1;
                (PodPhase::Pending, false, ReadyCondition { ready: false, last_transition: info.created })
            }
            ReplicaState::Ready => {
                current += 1;
                let at = info.ready_at.unwrap_or(info.created);
                (PodPhase::Running, false, ReadyCondition { ready: true, last_transition: at })
            }
            ReplicaState::Draining => {
                let at = info.ready_at.unwrap_or(info.created);
                (PodPhase::Running, true, ReadyCondition { ready: true, last_transition: at })
            }
        };
        pods.push(Pod {
            key: u64::from(r),
            phase,
            deleted,
            ready: Some(ready),
            start_time: Some(info.created),
            cpu_request_milli: Some(i64::from(svc.cpus) * 1000),
        });
    }
    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
    let inputs: Vec<MetricInput> = cfg
        .metrics
        .iter()
        .map(|m| {
            let (which, source) = match *m {
                Metric::Cpu { .. } | Metric::CpuAverage { .. } => (0, MetricSource::Pods),
                Metric::InFlight { source, .. } => (1, source),
                Metric::Rps { source, .. } => (2, source),
            };
            let Some(scrape) = &a.latest else {
                return MetricInput::PerPod(Samples::new());
            };
            let live = |v: &&PodValues| w.replicas[v.replica as usize].state != ReplicaState::Gone;
            match source {
                MetricSource::External => MetricInput::Total(scrape.totals[which]),
                MetricSource::Pods => MetricInput::PerPod(
                    scrape
                        .pods
                        .iter()
                        .filter(live)
                        .map(|v| {
                            let sample =
                                Sample { value_milli: v.values[which], timestamp: scrape.at, window: scrape.window };
                            (u64::from(v.replica), sample)
                        })
                        .collect(),
                ),
            }
        })
        .collect();
    let obs = Observation { now, spec_replicas: current, status_replicas: current, pods: &pods, metrics: &inputs };
    let d = a.hpa.reconcile(&obs);
    // The truth over the last period, for the findings.
    let busy = w.stats.services[s].busy.area_at(now.0);
    let serving = w.scaling.fleets[s].serving.area_at(now.0);
    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
    let cap = (serving - a.prev_serving) as f64 * f64::from(svc.cpus);
    let utilization = if cap > 0.0 { (busy - a.prev_busy) as f64 / cap } else { 0.0 };
    (a.prev_busy, a.prev_serving) = (busy, serving);
    a.ticks.push(tick(&d, now, utilization));
    let period = a.sync_period;
    w.q.schedule_at(now + period, Event::HpaSync { service });
    if d.rescaled() {
        apply(w, service, &d);
    }
}

fn tick(d: &Decision, at: SimTime, utilization: f64) -> Tick {
    use super::autoscale::{Limit, Stabilization};
    let mut t = Tick {
        at,
        utilization,
        current: d.current,
        desired: d.desired,
        wants_up: false,
        stabilized_up: false,
        rate_limited_up: false,
        at_max: false,
    };
    if let Outcome::Computed { proposed, stabilization, limit, .. } = d.outcome {
        t.wants_up = proposed > d.current;
        t.stabilized_up = t.wants_up && stabilization == Stabilization::ScaleUpStabilized;
        t.rate_limited_up = t.wants_up && matches!(limit, Limit::ScaleUpLimit(_));
        t.at_max = t.wants_up && matches!(limit, Limit::TooManyReplicas);
    }
    t
}

/// Carries out a rescale: starts or drains replicas.
fn apply(w: &mut World, service: u32, d: &Decision) {
    let now = w.now();
    let s = service as usize;
    let (from, to) = (d.current.max(0) as u32, d.desired.max(0) as u32);
    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
    let event = a.events.len() as u32;
    a.events.push(ScaleRecord {
        at: now,
        from,
        to,
        reason: d.to_string(),
        ready_at: None,
        starting: to.saturating_sub(from),
    });
    if to > from {
        let startup = w.m.services[s].autoscale.as_ref().expect("autoscaled").startup;
        for _ in from..to {
            let ix = w.replicas.len() as u32;
            let mut r = Replica::new(service, ReplicaState::Starting, true);
            r.limiter = super::new_limiter(w.m, service, &mut w.limiter_rng);
            w.replicas.push(r);
            w.scaling.pods.push(PodInfo { created: now, ready_at: None, event: Some(event) });
            w.scaling.fleets[s].members.push(ix);
            count(w, service, 1, 0);
            let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
            let delay = w.m.dist(startup).sample(&mut a.startup_rng);
            w.after(delay, Event::ReplicaReady { replica: ix });
        }
        return;
    }
    for _ in to..from {
        let Some(victim) = scale_down_victim(w, service) else { return };
        match w.replicas[victim as usize].state {
            ReplicaState::Starting => {
                let r = &mut w.replicas[victim as usize];
                r.state = ReplicaState::Gone;
                r.meter = None;
                count(w, service, -1, 0);
                if let Some(e) = w.scaling.pods[victim as usize].event {
                    let rec = &mut w.scaling.hpas[s].as_mut().expect("autoscaled").events[e as usize];
                    rec.starting = rec.starting.saturating_sub(1);
                }
            }
            _ => {
                w.replicas[victim as usize].state = ReplicaState::Draining;
                w.services[s].ready.retain(|&r| r != victim);
                drained_if_idle(w, victim);
            }
        }
    }
}

/// The replica a scale-down removes next: the newest starting one, else
/// the most recently ready one.
fn scale_down_victim(w: &World, service: u32) -> Option<u32> {
    let members = &w.scaling.fleets[service as usize].members;
    let state = |r: u32| w.replicas[r as usize].state;
    if let Some(&r) = members.iter().rev().find(|&&r| state(r) == ReplicaState::Starting) {
        return Some(r);
    }
    members
        .iter()
        .copied()
        .filter(|&r| state(r) == ReplicaState::Ready)
        .max_by_key(|&r| (w.scaling.pods[r as usize].ready_at.unwrap_or(SimTime::ZERO), r))
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
