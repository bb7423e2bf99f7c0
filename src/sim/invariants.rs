//! Invariants checked after every event when `check_invariants` is on
//! (tests): capacities respected, time monotone, levels consistent. A
//! violation is recorded (the first 20) rather than panicking, so a test can
//! print all of them with the seed.

use super::{ReplicaState, World};

const MAX_RECORDED: usize = 20;

pub(crate) fn check(w: &mut World) {
    let now = w.now();
    let mut found = Vec::new();
    if now < w.last_time {
        found.push(format!("time went backwards: {} ns after {} ns", now.0, w.last_time.0));
    }
    w.last_time = now;
    for (i, r) in w.replicas.iter().enumerate() {
        let svc = &w.m.services[r.service as usize];
        if r.busy > svc.cpus {
            found.push(format!("replica {i} of {} uses {} cores of {}", svc.name, r.busy, svc.cpus));
        }
        if let Some(max) = svc.max_in_flight
            && r.in_flight > max
        {
            found.push(format!("replica {i} of {} admitted {} of max_in_flight {}", svc.name, r.in_flight, max));
        }
        if let Some(cap) = svc.queue.capacity
            && r.queue_len > cap
        {
            found.push(format!("replica {i} of {} queues {} of capacity {}", svc.name, r.queue_len, cap));
        }
        if (r.queue.len() as u32) < r.queue_len {
            found.push(format!("replica {i} of {}: queue_len {} > entries {}", svc.name, r.queue_len, r.queue.len()));
        }
        if r.busy < svc.cpus && r.cpu_queue.iter().any(|&s| super::exec::strand_live(w, s)) {
            found.push(format!("replica {i} of {} has an idle core while strands wait for one", svc.name));
        }
        // No attempt is admitted, queued or working at a replica that is
        // starting or gone.
        if matches!(r.state, ReplicaState::Starting | ReplicaState::Gone)
            && (r.in_flight > 0 || r.queue_len > 0 || r.busy > 0)
        {
            found.push(format!(
                "{:?} replica {i} of {} holds work: {} admitted, {} queued, {} cores busy",
                r.state, svc.name, r.in_flight, r.queue_len, r.busy
            ));
        }
        // A starting replica is sent nothing while its service has a ready one.
        if r.state == ReplicaState::Starting && r.outstanding > 0 && !w.services[r.service as usize].ready.is_empty() {
            found.push(format!("starting replica {i} of {} was sent {} attempts", svc.name, r.outstanding));
        }
        let listed = w.services[r.service as usize].ready.iter().filter(|&&x| x as usize == i).count();
        if listed != usize::from(r.state == ReplicaState::Ready) {
            found.push(format!("{:?} replica {i} of {} is {listed} times in the ready list", r.state, svc.name));
        }
    }
    for (s, f) in w.scaling.fleets.iter().enumerate() {
        let state = |st: ReplicaState| f.members.iter().filter(|&&r| w.replicas[r as usize].state == st).count() as i64;
        let (starting, ready, draining) =
            (state(ReplicaState::Starting), state(ReplicaState::Ready), state(ReplicaState::Draining));
        if f.total.level != starting + ready + draining || f.serving.level != ready + draining {
            found.push(format!(
                "service {s}: replica counts total {} serving {} but {starting} starting, {ready} ready, {draining} draining",
                f.total.level, f.serving.level
            ));
        }
    }
    let live_requests: u64 = w.stats.wl_live.iter().sum();
    if live_requests != w.requests_in_flight {
        found.push(format!("requests in flight {} != per-workload sum {}", w.requests_in_flight, live_requests));
    }
    if w.calls.len() < w.requests_in_flight as usize {
        found.push(format!("{} requests in flight but only {} calls live", w.requests_in_flight, w.calls.len()));
    }
    // Chain buffers are held by strands, attempts that responded and calls
    // that timed out: never more than those alive.
    let holders = w.strands.len() + w.attempts.len() + w.calls.len();
    if w.chains.buffers_in_use() > holders {
        found.push(format!("{} chain buffers in use for {holders} holders: a leak", w.chains.buffers_in_use()));
    }
    for f in found {
        if w.violations.len() < MAX_RECORDED {
            w.violations.push(format!("t={} ns: {f}", now.0));
        }
    }
}
