//! One replica: the balancer that picks it, admission (`max_in_flight`
//! slots, then the FIFO/LIFO admission queue with `capacity` and
//! `max_wait`), and its cores (FCFS over `cpus`).

use super::{AttemptState, Event, Outcome, Replica, ReplicaState, World, calls, chain, exec, faults, stats};
use crate::engine::{SimDuration, SimTime, SlabKey};
use crate::model::OutageMode;
use crate::model::{Balancer, Discipline};

/// The replica of `service` a new attempt goes to: one of its ready
/// replicas (see `pods` when none is ready).
pub(crate) fn pick(w: &mut World, service: u32) -> u32 {
    let s = &mut w.services[service as usize];
    let n = s.ready.len() as u32;
    if n == 1 {
        return s.ready[0];
    }
    if n == 0 {
        return super::pods::no_ready_replica(w, service);
    }
    let local = match w.m.services[service as usize].balancer {
        Balancer::RoundRobin => {
            let r = s.rr % n;
            s.rr = s.rr.wrapping_add(1);
            r
        }
        Balancer::Random => s.balancer_rng.below(n),
        Balancer::LeastRequest => {
            // Fewest outstanding; ties go to the first after a rotating start.
            let start = s.rr % n;
            s.rr = s.rr.wrapping_add(1);
            let mut best = start;
            let mut best_load = u32::MAX;
            for k in 0..n {
                let r = (start + k) % n;
                let load = w.replicas[s.ready[r as usize] as usize].outstanding;
                if load < best_load {
                    best = r;
                    best_load = load;
                }
            }
            best
        }
        Balancer::P2c => {
            let a = s.balancer_rng.below(n);
            let mut b = s.balancer_rng.below(n - 1);
            if b >= a {
                b += 1;
            }
            let la = w.replicas[s.ready[a as usize] as usize].outstanding;
            let lb = w.replicas[s.ready[b as usize] as usize].outstanding;
            if lb < la { b } else { a }
        }
    };
    let chosen = s.ready[local as usize];
    if w.replicas[chosen as usize].down {
        // Health checks took the crashed replica out: the next live one.
        if let Some(&r) = (1..n).map(|k| &s.ready[((local + k) % n) as usize]).find(|&&r| !w.replicas[r as usize].down)
        {
            return r;
        }
    }
    chosen
}

/// Brings a metered replica's time integrals up to now; call before any of
/// `busy`, `in_flight`, `queue_len` changes. A no-op without `autoscale`.
#[inline]
fn meter(r: &mut Replica, now: SimTime) {
    if let Some(m) = &mut r.meter {
        m.advance(now, r.busy, r.in_flight + r.queue_len);
    }
}

/// A draining replica that has nothing left is removed.
#[inline]
fn check_drained(w: &mut World, replica: u32) {
    if w.replicas[replica as usize].state == ReplicaState::Draining {
        super::pods::drained_if_idle(w, replica);
    }
}

pub(crate) fn on_attempt_arrives(w: &mut World, key: SlabKey) {
    let now = w.now();
    let Some(a) = w.attempts.get_mut(key) else {
        return;
    };
    if a.cancelled {
        a.state = AttemptState::Done;
        let replica = a.replica;
        w.replicas[replica as usize].outstanding -= 1;
        calls::release_attempt_if_idle(w, key);
        check_drained(w, replica);
        return;
    }
    a.arrived = now;
    let (replica, service, deadline) = (a.replica, a.service, a.deadline);
    stats::attempt_arrived(w, service);
    if let Some(m) = &mut w.replicas[replica as usize].meter {
        m.arrivals += 1;
    }
    if w.faults.any {
        if w.replicas[replica as usize].down {
            // A crashed replica: connection refused.
            return calls::respond(w, key, Outcome::Error);
        }
        match faults::outage(w, service) {
            Some(OutageMode::Refuse) => {
                stats::attempt_rejected(w, service);
                return calls::respond(w, key, Outcome::Rejected);
            }
            Some(OutageMode::Hang) => {
                // Swallowed: no answer ever comes; the caller's timeout decides.
                w.attempts.get_mut(key).expect("live").state = AttemptState::Done;
                w.replicas[replica as usize].outstanding -= 1;
                return calls::release_attempt_if_idle(w, key);
            }
            None => {}
        }
    }
    if now >= deadline {
        stats::deadline_dropped(w, service);
        return calls::respond(w, key, Outcome::Timeout);
    }
    let svc = &w.m.services[service as usize];
    let r = &w.replicas[replica as usize];
    if matches!(r.state, ReplicaState::Starting | ReplicaState::Gone) {
        // Sent when the service had no ready replica (`pods::no_ready_replica`).
        stats::attempt_rejected(w, service);
        calls::respond(w, key, Outcome::Rejected);
    } else if has_slot(svc, r) {
        admit(w, key, replica, true);
    } else if svc.queue.capacity.is_none_or(|cap| r.queue_len < cap) {
        let r = &mut w.replicas[replica as usize];
        meter(r, now);
        r.queue.push_back(key);
        r.queue_len += 1;
        let len = r.queue_len;
        w.attempts.get_mut(key).expect("live").state = AttemptState::Queued;
        stats::queue_changed(w, service, 1, len);
        if let Some(lane) = w.services[service as usize].max_wait_lane {
            w.q.schedule_in_lane(lane, Event::QueueWaitExpired { attempt: key });
        }
    } else {
        stats::attempt_rejected(w, service);
        calls::respond(w, key, Outcome::Rejected);
        check_drained(w, replica);
    }
}

/// Is an admission slot free: under `max_in_flight`, or under the adaptive
/// limit when the service has one?
#[inline]
fn has_slot(svc: &crate::model::Service, r: &Replica) -> bool {
    match &r.limiter {
        Some(l) => l.admits(r.in_flight),
        None => svc.max_in_flight.is_none_or(|max| r.in_flight < max),
    }
}

/// A response left an admitted attempt: feed the adaptive limit, if any.
pub(crate) fn limiter_sample(w: &mut World, replica: u32, rtt: SimDuration, in_flight: u32, dropped: bool) {
    if let Some(l) = &mut w.replicas[replica as usize].limiter {
        l.on_sample(rtt, in_flight, dropped, &mut w.limiter_rng);
    }
}

/// Gives `key` a slot on `replica` and starts its endpoint.
fn admit(w: &mut World, key: SlabKey, replica: u32, start_now: bool) {
    let now = w.now();
    let r = &mut w.replicas[replica as usize];
    meter(r, now);
    r.in_flight += 1;
    let (service, in_flight) = (r.service, r.in_flight);
    let a = w.attempts.get_mut(key).expect("admitted attempt is live");
    a.state = AttemptState::Running;
    a.admitted = now;
    a.in_flight_at_admission = in_flight;
    stats::slot_taken(w, service);
    if start_now {
        // From an arrival: start at once (no strand of this replica is on the stack).
        w.events += 1;
        exec::on_attempt_starts(w, key);
    } else {
        // From a released slot, inside another attempt's response: later.
        w.ready.push_back(Event::AttemptStarts { attempt: key });
    }
}

/// A slot on `replica` is free: admit the next queued attempt, if any.
pub(crate) fn release_slot(w: &mut World, replica: u32) {
    let now = w.now();
    let r = &mut w.replicas[replica as usize];
    meter(r, now);
    r.in_flight -= 1;
    let service = r.service;
    stats::slot_released(w, service);
    let lifo = w.m.services[service as usize].queue.discipline == Discipline::Lifo;
    loop {
        let r = &w.replicas[replica as usize];
        if !has_slot(&w.m.services[service as usize], r) {
            return; // an adaptive limit may have shrunk below what is admitted
        }
        let r = &mut w.replicas[replica as usize];
        let next = if lifo { r.queue.pop_back() } else { r.queue.pop_front() };
        let Some(key) = next else {
            return check_drained(w, replica);
        };
        let Some(a) = w.attempts.get(key).filter(|a| a.state == AttemptState::Queued) else {
            continue; // stale: cancelled or expired while queued
        };
        let deadline = a.deadline;
        let r = &mut w.replicas[replica as usize];
        meter(r, now);
        r.queue_len -= 1;
        let len = r.queue_len;
        stats::queue_changed(w, service, -1, len);
        if now >= deadline {
            // Its caller's deadline passed while it queued: drop it unstarted.
            stats::deadline_dropped(w, service);
            calls::respond(w, key, Outcome::Timeout);
            continue;
        }
        admit(w, key, replica, false);
        return;
    }
}

/// A queued attempt left the queue without being admitted (its entry in the
/// deque goes stale and is skipped later).
pub(crate) fn leave_queue(w: &mut World, replica: u32, service: u32) {
    let now = w.now();
    let r = &mut w.replicas[replica as usize];
    meter(r, now);
    r.queue_len -= 1;
    let len = r.queue_len;
    stats::queue_changed(w, service, -1, len);
    // Bound the stale entries: compact when they outnumber the live ones.
    let r = &mut w.replicas[replica as usize];
    if r.queue.len() > 64 && r.queue.len() > 2 * r.queue_len as usize {
        let attempts = &w.attempts;
        r.queue.retain(|k| attempts.get(*k).is_some_and(|a| a.state == AttemptState::Queued));
    }
    check_drained(w, replica);
}

pub(crate) fn on_queue_wait_expired(w: &mut World, key: SlabKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.state != AttemptState::Queued {
        return;
    }
    let (replica, service) = (a.replica, a.service);
    leave_queue(w, replica, service);
    stats::attempt_rejected(w, service);
    calls::respond(w, key, Outcome::Rejected);
    check_drained(w, replica);
}

/// A strand asks for a core of its replica for a work step.
pub(crate) fn request_core(w: &mut World, strand: SlabKey, replica: u32) {
    let now = w.now();
    w.strands.get_mut(strand).expect("live strand").t0 = now;
    let r = &w.replicas[replica as usize];
    if r.busy < w.m.services[r.service as usize].cpus {
        start_work(w, strand, replica);
    } else {
        w.replicas[replica as usize].cpu_queue.push_back(strand);
    }
}

fn start_work(w: &mut World, strand: SlabKey, replica: u32) {
    let now = w.now();
    let r = &mut w.replicas[replica as usize];
    meter(r, now);
    r.busy += 1;
    let service = r.service;
    // During a pause nothing runs: the work starts when the pause ends.
    let (start, mark) = (r.paused_until.max(now), r.pause_total);
    stats::core_taken(w, service);
    let s = w.strands.get_mut(strand).expect("live strand");
    s.t1 = now;
    s.pause_mark = mark;
    let a = w.attempts.get(s.attempt).expect("strand's attempt is live");
    let endpoint = a.endpoint as usize;
    let crate::model::Instr::Work(dist) = w.m.endpoints[endpoint].code[s.pc as usize] else {
        unreachable!("a strand waits for a core only at a work step")
    };
    let d = w.m.dist(dist).sample(&mut w.ep_rng[endpoint].time);
    let d = faults::scale(w, service, d, true) + start.since(now);
    let ev = Event::WorkDone { strand, replica };
    if d.0 == 0 { w.ready.push_back(ev) } else { w.q.schedule_after(d, ev) }
}

pub(crate) fn on_work_done(w: &mut World, strand: SlabKey, replica: u32) {
    let now = w.now();
    let total = w.replicas[replica as usize].pause_total;
    let s = w.strands.get_mut(strand).expect("a strand on a core stays live until its work is done");
    if total > s.pause_mark {
        // A pause that began while this work ran stretches it by its length.
        let extra = SimDuration(total - s.pause_mark);
        s.pause_mark = total;
        w.q.schedule_after(extra, Event::WorkDone { strand, replica });
        return;
    }
    let r = &mut w.replicas[replica as usize];
    meter(r, now);
    r.busy -= 1;
    let service = r.service;
    // The finished strand's accounting, before the core goes to the next.
    let (chain, node, wasted, cpu, queued) = {
        let s = w.strands.get(strand).expect("a strand on a core stays live until its work is done");
        let a = w.attempts.get(s.attempt).expect("live");
        // CPU used after the caller gave up is wasted.
        (s.chain, a.node, now.since(s.t1.max(a.abandoned_at)), now.since(s.t1), s.t1.since(s.t0))
    };
    stats::core_released(w, service, queued, wasted);
    w.chains.add(chain, node, chain::Part::Queue, queued);
    w.chains.add(chain, node, chain::Part::Cpu, cpu);
    // Next strand waiting for a core of this replica.
    while let Some(next) = w.replicas[replica as usize].cpu_queue.pop_front() {
        if exec::strand_live(w, next) {
            start_work(w, next, replica);
            break;
        }
        exec::drop_strand(w, next);
    }
    exec::advance(w, strand);
    check_drained(w, replica);
}
