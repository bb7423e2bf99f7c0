//! At the replica: an attempt arrives, is admitted, queued or refused,
//! starts its endpoint; work steps run on the replica's executor; a freed
//! slot admits the next queued attempt.

use super::super::admission::Offer;
use super::super::chain::Part;
use super::super::cpu::{Completion, Cpu, Effects, Job, Node};
use super::super::event::Event;
use super::super::ids::{ReplicaId, ServiceId};
use super::super::replica::ReplicaState;
use super::super::shared_cpu::Live;
use super::super::state::{AttemptKey, StrandKey};
use super::super::state::{AttemptState, Cause, Origin, Outcome};
use super::super::world::World;
use super::platform;
use super::{Close, close, strand};
use crate::engine::{SimDuration, SimTime};
use crate::model::{FailureKind, OutageMode};

fn at_service(kind: FailureKind, service: ServiceId) -> Option<Cause> {
    Some(Cause { kind, origin: Origin::Service(service) })
}

pub(crate) fn on_attempt_arrives(w: &mut World, key: AttemptKey) {
    let now = w.now();
    let Some(a) = w.attempts.get_mut(key) else { return };
    if a.cancelled {
        return close(w, key, Close::Drop { cancelled: true });
    }
    a.arrived = now;
    let (replica, service, deadline) = (a.replica, a.service, a.deadline);
    w.stats.attempt_arrived(service);
    if let Some(m) = &mut w.fleet.replica_mut(replica).meter {
        m.arrivals += 1;
    }
    if w.fleet.replica(replica).down {
        // A crashed or OOM-killed replica: connection refused.
        return close(w, key, Close::Respond(Outcome::Error, at_service(FailureKind::Error, service)));
    }
    if w.faults.any {
        match w.faults.outage(service) {
            Some(OutageMode::Refuse) => {
                w.stats.attempt_rejected(service, false);
                return close(w, key, Close::Respond(Outcome::Rejected, at_service(FailureKind::Rejected, service)));
            }
            // Swallowed: no answer ever comes; the caller's timeout decides.
            Some(OutageMode::Hang) => return close(w, key, Close::Drop { cancelled: false }),
            None => {}
        }
    }
    if now >= deadline {
        w.stats.deadline_dropped(service);
        return close(w, key, Close::Respond(Outcome::Timeout, at_service(FailureKind::Timeout, service)));
    }
    let r = w.fleet.replica(replica);
    if matches!(r.state, ReplicaState::Starting | ReplicaState::Gone) {
        // Sent when the service had no ready replica (`Fleet::fallback`).
        w.stats.attempt_rejected(service, false);
        return close(w, key, Close::Respond(Outcome::Rejected, at_service(FailureKind::Rejected, service)));
    }
    match r.adm.offer(&w.m.services[service.ix()]) {
        Offer::Admit => admit(w, key, replica, service, true),
        Offer::Queue => {
            w.fleet.meter(replica, now);
            w.fleet.replica_mut(replica).adm.enqueue(key);
            if w.cluster.memory {
                platform::memory_changed(w, replica);
            }
            w.attempts.get_mut(key).expect("live").state = AttemptState::Queued;
            w.stats.queue_changed(service, now, 1);
            if let Some(lane) = w.lanes.max_wait[service.ix()] {
                w.arm(lane, Event::QueueWaitExpired { attempt: key });
            }
        }
        Offer::Reject => {
            w.stats.attempt_rejected(service, true);
            close(w, key, Close::Respond(Outcome::Rejected, at_service(FailureKind::Rejected, service)));
        }
    }
}

/// Gives `key` a slot on `replica` and starts its endpoint (at once when it
/// came from an arrival, else through the ready list).
fn admit(w: &mut World, key: AttemptKey, replica: ReplicaId, service: ServiceId, start_now: bool) {
    let now = w.now();
    w.fleet.meter(replica, now);
    let svc = &w.m.services[service.ix()];
    let adm = &mut w.fleet.replica_mut(replica).adm;
    let in_flight = adm.take_slot();
    let full = adm.full(svc);
    w.stats.slots_changed(service, now, 1, full);
    if w.cluster.memory {
        platform::memory_changed(w, replica);
    }
    let a = w.attempts.get_mut(key).expect("admitted attempt is live");
    a.state = AttemptState::Running;
    a.admitted = now;
    a.in_flight_at_admission = in_flight;
    if start_now {
        // From an arrival: start at once (no strand of this replica is on the stack).
        on_attempt_starts(w, key);
    } else {
        // From a released slot, inside another attempt's close: later.
        w.ready.push_back(Event::AttemptStarts { attempt: key });
    }
}

/// A running attempt closed on `replica`: its slot goes to the next queued
/// attempt (queued ones whose propagated deadline passed are dropped).
/// A crashed replica admits nothing: its queue is failing.
pub(crate) fn release_slot(w: &mut World, replica: ReplicaId, service: ServiceId) {
    let now = w.now();
    w.fleet.meter(replica, now);
    w.fleet.replica_mut(replica).adm.release_slot();
    w.stats.slots_changed(service, now, -1, false);
    if w.cluster.memory {
        platform::memory_changed(w, replica);
    }
    if w.fleet.replica(replica).down {
        return;
    }
    let svc = &w.m.services[service.ix()];
    loop {
        let attempts = &w.attempts;
        let queued = |k: AttemptKey| attempts.get(k).is_some_and(|a| a.state == AttemptState::Queued);
        let Some(key) = w.fleet.replica_mut(replica).adm.next_queued(svc, queued) else { return };
        let deadline = w.attempts.get(key).expect("queued").deadline;
        if now >= deadline {
            // Its caller's deadline passed while it queued: drop it unstarted.
            w.stats.deadline_dropped(service);
            close(w, key, Close::Respond(Outcome::Timeout, at_service(FailureKind::Timeout, service)));
            continue;
        }
        leave_queue(w, replica, service);
        admit(w, key, replica, service, false);
        return;
    }
}

/// A queued attempt leaves the admission queue (admitted or closed).
pub(crate) fn leave_queue(w: &mut World, replica: ReplicaId, service: ServiceId) {
    let now = w.now();
    w.fleet.meter(replica, now);
    let attempts = &w.attempts;
    let queued = |k: AttemptKey| attempts.get(k).is_some_and(|a| a.state == AttemptState::Queued);
    w.fleet.replica_mut(replica).adm.left_queue(queued);
    w.stats.queue_changed(service, now, -1);
    if w.cluster.memory {
        platform::memory_changed(w, replica);
    }
}

pub(crate) fn on_queue_wait_expired(w: &mut World, key: AttemptKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.state != AttemptState::Queued {
        return;
    }
    let service = a.service;
    w.stats.attempt_rejected(service, true);
    close(w, key, Close::Respond(Outcome::Rejected, at_service(FailureKind::Rejected, service)));
}

pub(crate) fn on_attempt_starts(w: &mut World, attempt: AttemptKey) {
    let now = w.now();
    let Some(a) = w.attempts.get(attempt) else { return };
    if a.state != AttemptState::Running {
        return;
    }
    let (counted, node, arrived, service) = (a.counted, a.node, a.arrived, a.service);
    let wait = now.since(arrived);
    w.stats.admitted(service, wait);
    if w.faults.fails_now(w.m, service) {
        return close(w, attempt, Close::Respond(Outcome::Error, at_service(FailureKind::Error, service)));
    }
    let chain = w.chains.new_buffer(counted, node);
    w.chains.begin_visit(chain, node, wait);
    strand::start_root(w, attempt, chain);
}

/// A strand asks its replica's executor for a core for a work step of
/// `demand` (drawn already).
pub(crate) fn request_core(w: &mut World, strand: StrandKey, replica: ReplicaId, demand: SimDuration) {
    let now = w.now();
    w.fleet.meter(replica, now); // the meter sees the level before a change
    let rep = w.fleet.replica(replica);
    let (cpu, slot) = (rep.cpu, rep.slot);
    match &mut w.fleet.cpus[cpu.ix()] {
        Cpu::Dedicated(c) => {
            if let Some(start) = c.submit(now, Job { strand, demand, queued_at: now }) {
                core_taken(w, replica, start.strand, start.done_at);
            }
        }
        Cpu::Shared(node) => {
            let mut fx = std::mem::take(&mut w.fx);
            node.submit(now, slot, strand, demand, &|k| strand::live_in(&w.strands, &w.attempts, &w.joins, k), &mut fx);
            apply_effects(w, fx);
        }
    }
}

/// Runs `op` on the node of replica `replica` (if it is on one) with the
/// strands' liveness at hand, then carries out what it caused.
pub(crate) fn on_node(w: &mut World, replica: ReplicaId, op: impl FnOnce(&mut Node, u32, Live, &mut Effects)) {
    let rep = w.fleet.replica(replica);
    let (cpu, slot) = (rep.cpu, rep.slot);
    let mut fx = std::mem::take(&mut w.fx);
    let World { fleet, strands, attempts, joins, .. } = w;
    let Cpu::Shared(node) = &mut fleet.cpus[cpu.ix()] else {
        w.fx = fx;
        return;
    };
    op(node, slot, &|k| strand::live_in(strands, attempts, joins, k), &mut fx);
    apply_effects(w, fx);
}

/// Carries out what a node operation caused: cores taken and released,
/// quota checks and unblocking scheduled, dead strands dropped.
pub(crate) fn apply_effects(w: &mut World, mut fx: Effects) {
    let now = w.now();
    for &(r, n) in &fx.suspended {
        let service = w.fleet.replica(r).service;
        w.stats.busy_delta(service, now, -i64::from(n));
    }
    for s in &fx.starts {
        core_taken(w, s.replica, s.strand, s.done_at);
    }
    for q in &fx.quota {
        let ev = Event::QuotaOut { replica: q.replica, generation: q.generation };
        if q.at <= now { w.ready.push_back(ev) } else { w.q.schedule_at(q.at, ev) }
    }
    for &(replica, at) in &fx.unblock_at {
        w.q.schedule_at(at, Event::Unblocked { replica });
    }
    for &(strand, replica, at) in &fx.slices {
        w.q.schedule_at(at, Event::SliceEnds { strand, replica });
    }
    let dropped = std::mem::take(&mut fx.dropped);
    fx.clear();
    w.fx = fx;
    for k in dropped {
        strand::drop_strand(w, k);
    }
}

/// The CFS quota of `replica` may have run out (unless `generation` is stale).
pub(crate) fn on_quota_out(w: &mut World, replica: ReplicaId, generation: u32) {
    let now = w.now();
    on_node(w, replica, |node, slot, live, fx| node.quota_out(now, slot, generation, live, fx));
}

/// The slice of a long step on a node ends (it may yield its core).
pub(crate) fn on_slice_ends(w: &mut World, strand: StrandKey, replica: ReplicaId) {
    let now = w.now();
    on_node(w, replica, |node, slot, live, fx| node.slice_ends(now, slot, strand, live, fx));
}

/// A throttle or pause on `replica` may end now.
pub(crate) fn on_unblocked(w: &mut World, replica: ReplicaId) {
    let now = w.now();
    on_node(w, replica, |node, slot, live, fx| node.unblock(now, slot, live, fx));
}

/// A job got a core: count it and schedule its end.
fn core_taken(w: &mut World, replica: ReplicaId, strand: StrandKey, done_at: SimTime) {
    let now = w.now();
    let service = w.fleet.replica(replica).service;
    w.stats.core_taken(service, now);
    let ev = Event::WorkDone { strand, replica };
    if done_at == now { w.ready.push_back(ev) } else { w.q.schedule_at(done_at, ev) }
}

pub(crate) fn on_work_done(w: &mut World, strand_key: StrandKey, replica: ReplicaId) {
    let now = w.now();
    w.fleet.meter(replica, now);
    let rep = w.fleet.replica(replica);
    let (cpu, slot) = (rep.cpu, rep.slot);
    let mut fx = None;
    let (queued_at, started, queued, throttled) = match &mut w.fleet.cpus[cpu.ix()] {
        Cpu::Dedicated(c) => {
            if w.fleet.nowhere == Some(cpu) {
                return; // its replica left its node; the step was dropped then
            }
            match c.complete(now, strand_key) {
                Completion::Stretched(at) => {
                    w.q.schedule_at(at, Event::WorkDone { strand: strand_key, replica });
                    return;
                }
                Completion::Done { queued_at, started } => {
                    (queued_at, started, started.since(queued_at), SimDuration::ZERO)
                }
            }
        }
        Cpu::Shared(node) => {
            let mut effects = std::mem::take(&mut w.fx);
            let done = node.complete(
                now,
                slot,
                strand_key,
                &|k| strand::live_in(&w.strands, &w.attempts, &w.joins, k),
                &mut effects,
            );
            let Some(f) = done else {
                apply_effects(w, effects);
                return; // stale: the step was suspended or dropped since
            };
            fx = Some(effects);
            (f.queued_at, f.started, f.queued, f.throttled)
        }
    };
    let service = w.fleet.replica(replica).service;
    // The finished strand's accounting, before the core goes to the next.
    let s = w.strands.get(strand_key).expect("a strand on a core stays live until its work is done");
    let a = w.attempts.get(s.attempt).expect("live");
    let (chain, node) = (s.chain, a.node);
    // CPU used after the caller gave up is wasted.
    let wasted = now.since(started.max(a.abandoned_at));
    w.stats.core_released(service, now, queued, wasted);
    w.chains.add(chain, node, Part::Queue, queued);
    if throttled.0 > 0 {
        w.chains.add(chain, node, Part::Throttled, throttled);
    }
    w.chains.add(chain, node, Part::Cpu, SimDuration(now.since(queued_at).0 - queued.0 - throttled.0));
    match fx {
        // Next strand waiting for a core of this replica.
        None => {
            while let Some(job) = w.fleet.cpus[cpu.ix()].cores_mut().expect("own cores").next_waiting() {
                if strand::strand_live(w, job.strand) {
                    w.fleet.meter(replica, now);
                    let start = w.fleet.cpus[cpu.ix()].cores_mut().expect("own cores").start(now, job);
                    core_taken(w, replica, start.strand, start.done_at);
                    break;
                }
                strand::drop_strand(w, job.strand);
            }
        }
        // The node handed its free core out already.
        Some(effects) => apply_effects(w, effects),
    }
    strand::advance(w, strand_key);
    if w.fleet.replica(replica).state == ReplicaState::Draining {
        let counted = w.counted_now();
        w.fleet.drained_if_idle(replica, now, counted);
    }
}
