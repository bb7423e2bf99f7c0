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
//! Not here: the HPA arithmetic (`autoscale`), the life-cycle moves shared
//! with crashes (`fleet`), results and findings (`pods_report`).

use super::autoscale::{Decision, MetricInput, Observation, Outcome, Pod, PodPhase, ReadyCondition, Sample, Samples};
use super::event::Event;
use super::ids::{ReplicaId, ServiceId};
use super::pods_report::{ScaleRecord, Tick};
use super::replica::{ReplicaState, Snapshot};
use super::scaling::{PodInfo, PodValues, Scrape};
use super::world::World;
use crate::engine::{SimDuration, SimTime};
use crate::model::{Metric, MetricSource};

/// Schedules each HPA's first scrape and sync.
pub(crate) fn start(w: &mut World) {
    if !w.scaling.any {
        return;
    }
    for s in 0..w.m.services.len() {
        let Some(a) = &w.scaling.hpas[s] else { continue };
        let (first_sync, period, delay) = (a.first_sync, a.sync_period.0.max(1), a.metrics_delay.0);
        // Scrapes on the grid of sync times minus the delay, from the first
        // such time at or after 0 (earlier syncs' samples included).
        let scrape = (i128::from(first_sync.0) - i128::from(delay)).rem_euclid(i128::from(period)) as u64;
        let service = ServiceId(s as u32);
        w.q.schedule_at(SimTime(scrape), Event::HpaScrape { service });
        w.q.schedule_at(first_sync, Event::HpaSync { service });
    }
}

pub(crate) fn on_replica_ready(w: &mut World, replica: ReplicaId) {
    let now = w.now();
    if w.fleet.replica(replica).state != ReplicaState::Starting {
        return; // removed while starting
    }
    let counted = w.counted_now();
    w.fleet.became_ready(replica, now, counted);
    let service = w.fleet.replica(replica).service;
    let info = &mut w.scaling.pods[replica.ix()];
    info.ready_at = Some(now);
    if let (Some(e), Some(a)) = (info.event, w.scaling.hpas[service.ix()].as_mut()) {
        let rec = &mut a.events[e as usize];
        rec.starting -= 1;
        if rec.starting == 0 {
            rec.ready_at = Some(now);
        }
    }
}

pub(crate) fn on_scrape(w: &mut World, service: ServiceId) {
    let now = w.now();
    let Some(a) = w.scaling.hpas[service.ix()].as_mut() else { return };
    let period = a.sync_period;
    let mut pods = Vec::new();
    let mut window = SimDuration::ZERO;
    let mut sums = [0u128; 3];
    let fleet = &mut w.fleet;
    for k in 0..fleet.rosters[service.ix()].members.len() {
        let ix = fleet.rosters[service.ix()].members[k];
        // On a node, the CPU used comes from the node's counters.
        let on_node = fleet.on_node(ix) && fleet.replica(ix).meter.is_some();
        let node_busy = if on_node { Some(u128::from(fleet.usage_of(ix, now).cpu_ns)) } else { None };
        let busy = fleet.busy_of(ix);
        let r = &mut fleet.replicas[ix.ix()];
        let in_system = r.in_system();
        let Some(m) = r.meter.as_deref_mut() else { continue }; // gone
        m.advance(now, busy, in_system);
        let busy_area = node_busy.unwrap_or(m.busy_area);
        let snap = Snapshot { at: now, busy_area, system_area: m.system_area, arrivals: m.arrivals };
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

pub(crate) fn on_sync(w: &mut World, service: ServiceId) {
    let now = w.now();
    let s = service.ix();
    let svc = &w.m.services[s];
    let Some(cfg) = svc.autoscale.as_ref() else { return };
    let Some(a) = w.scaling.hpas[s].as_mut() else { return };
    // The newest scrape at least `metrics_delay` old.
    while a.pending.front().is_some_and(|p| p.at.0 + a.metrics_delay.0 <= now.0) {
        a.latest = a.pending.pop_front();
    }
    let members = w.fleet.rosters[s].members.clone();
    let mut pods = Vec::with_capacity(members.len());
    let mut current = 0i32;
    for &r in &members {
        let info = w.scaling.pods[r.ix()];
        let (phase, deleted, ready) = match w.fleet.replica(r).state {
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
            key: u64::from(r.0),
            phase,
            deleted,
            ready: Some(ready),
            start_time: Some(info.created),
            cpu_request_milli: Some(svc.resources.cpu_request_milli as i64),
        });
    }
    // KEDA reads a queue's length when it polls: the lag now, in thousandths.
    let lag_milli = i64::try_from(w.queues.lag_of(service).saturating_mul(1000)).unwrap_or(i64::MAX);
    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
    let fleet = &w.fleet;
    let inputs: Vec<MetricInput> = cfg
        .metrics
        .iter()
        .map(|m| {
            let (which, source) = match *m {
                Metric::Cpu { .. } | Metric::CpuAverage { .. } => (0, MetricSource::Pods),
                Metric::InFlight { source, .. } => (1, source),
                Metric::Rps { source, .. } => (2, source),
                Metric::Lag { .. } => return MetricInput::Total(lag_milli),
            };
            let Some(scrape) = &a.latest else {
                return MetricInput::PerPod(Samples::new());
            };
            let live = |v: &&PodValues| fleet.replica(v.replica).state != ReplicaState::Gone;
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
                            (u64::from(v.replica.0), sample)
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
    let serving = w.fleet.rosters[s].serving.area_at(now.0);
    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
    let cap = (serving - a.prev_serving) as f64 * f64::from(svc.cpus);
    let utilization = if cap > 0.0 { (busy - a.prev_busy) as f64 / cap } else { 0.0 };
    (a.prev_busy, a.prev_serving) = (busy, serving);
    let tick = tick(&d, now, utilization);
    if now > w.warmup {
        let max = cfg.max as i32;
        let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
        a.episodes.tick(&tick, max, a.sync_period, a.metrics_delay, &a.events);
    }
    let period = w.scaling.hpas[s].as_ref().expect("autoscaled").sync_period;
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
fn apply(w: &mut World, service: ServiceId, d: &Decision) {
    let now = w.now();
    let counted = w.counted_now();
    let s = service.ix();
    let (from, to) = (d.current.max(0) as u32, d.desired.max(0) as u32);
    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
    let event = a.events.len() as u32;
    a.record(
        ScaleRecord {
            at: now,
            from,
            to,
            reason: d.to_string(),
            ready_at: None,
            starting: to.saturating_sub(from),
            placed_at: None,
        },
        counted,
    );
    if to > from {
        let startup = w.m.services[s].autoscale.as_ref().expect("autoscaled").startup;
        for _ in from..to {
            let ix = w.fleet.add(w.m, service, ReplicaState::Starting);
            w.scaling.pods.push(PodInfo { created: now, ready_at: None, event: Some(event), placed_at: None });
            w.fleet.count(service, now, counted, 1, 0);
            let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
            let delay = w.m.dist(startup).sample(&mut a.startup_rng);
            let delay = delay + super::flow::generate::model_load(w, service);
            if w.m.cluster.is_some() {
                // Placed first (or Pending), then starting.
                super::flow::platform::created(w, ix, delay);
            } else {
                w.after(delay, Event::ReplicaReady { replica: ix });
            }
        }
        return;
    }
    for _ in to..from {
        let Some(victim) = scale_down_victim(w, service) else { return };
        match w.fleet.replica(victim).state {
            ReplicaState::Starting => {
                w.fleet.cancel_starting(victim, now, counted);
                if let Some(e) = w.scaling.pods[victim.ix()].event {
                    let a = w.scaling.hpas[s].as_mut().expect("autoscaled");
                    if let Some(rec) = a.events.get_mut(e as usize) {
                        rec.starting = rec.starting.saturating_sub(1);
                    }
                }
            }
            _ => w.fleet.start_draining(victim, now, counted),
        }
    }
}

/// The replica a scale-down removes next: the newest starting one, else
/// the most recently ready one.
fn scale_down_victim(w: &World, service: ServiceId) -> Option<ReplicaId> {
    let members = &w.fleet.rosters[service.ix()].members;
    let state = |r: ReplicaId| w.fleet.replica(r).state;
    if let Some(&r) = members.iter().rev().find(|&&r| state(r) == ReplicaState::Starting) {
        return Some(r);
    }
    members
        .iter()
        .copied()
        .filter(|&r| state(r) == ReplicaState::Ready)
        .max_by_key(|&r| (w.scaling.pods[r.ix()].ready_at.unwrap_or(SimTime::ZERO), r))
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
