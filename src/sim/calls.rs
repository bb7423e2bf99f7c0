//! Calls and attempts: sending an attempt over the network to a replica the
//! balancer picks, its response travelling back, per-attempt timeouts,
//! orphaned work and cancellation, and the outcome reaching the caller.
//!
//! A request from a workload is a call whose parent is the edge client
//! ([`Parent::Request`]). A call makes one attempt (retries and hedges, which
//! make more, build on this).

use super::{
    Attempt, AttemptState, Call, Event, Outcome, Parent, ROOT_EDGE, World, arrivals, chain, exec, replica, stats,
};
use crate::engine::{SimDuration, SimTime, SlabKey};

/// A workload's client sends a new request (`user` is `u32::MAX` for open loops).
pub(crate) fn start_request(w: &mut World, wl: u32, user: u32) {
    let now = w.now();
    let counted = now >= w.warmup;
    let target = w.m.workloads[wl as usize].target.0;
    if counted {
        w.stats.workloads[wl as usize].offered += 1;
        w.stats.workloads[wl as usize].in_flight += 1;
    }
    w.stats.wl_interval[wl as usize].offered += 1;
    w.stats.wl_live[wl as usize] += 1;
    w.requests_in_flight += 1;
    w.peak_requests_in_flight = w.peak_requests_in_flight.max(w.requests_in_flight);
    let node = w.chains.root_node(wl);
    let call = w.calls.insert(Call {
        parent: Parent::Request { wl, user },
        edge: ROOT_EDGE,
        callee: target,
        start: now,
        attempt: SlabKey::NONE,
        counted,
        node,
    });
    send_attempt(w, call);
}

/// A strand executes a `call` step on `edge`: returns false if the call was
/// skipped by its probability (the strand goes on at once).
pub(crate) fn start_call(w: &mut World, strand: SlabKey, edge: u32, caller_node: u32, counted: bool) -> bool {
    let e = &w.m.edges[edge as usize];
    if e.probability < 1.0 && !w.edge_rng[edge as usize].chance(e.probability) {
        w.stats.edges[edge as usize].skipped += 1;
        return false;
    }
    w.stats.edges[edge as usize].calls += 1;
    let node = w.chains.child_node(caller_node, edge);
    let call = w.calls.insert(Call {
        parent: Parent::Strand(strand),
        edge,
        callee: e.callee.0,
        start: w.now(),
        attempt: SlabKey::NONE,
        counted,
        node,
    });
    send_attempt(w, call);
    true
}

/// One-way network latency for a call on `edge` (for a workload's request,
/// `edge` is `ROOT_EDGE` and `wl` names the workload).
fn network_latency(w: &mut World, edge: u32, wl: u32) -> SimDuration {
    let m = w.m;
    if edge == ROOT_EDGE {
        return match m.network_latency {
            Some(d) => m.dist(d).sample(&mut w.client_net_rng[wl as usize]),
            None => SimDuration::ZERO,
        };
    }
    match m.edges[edge as usize].latency.or(m.network_latency) {
        Some(d) => m.dist(d).sample(&mut w.edge_rng[edge as usize]),
        None => SimDuration::ZERO,
    }
}

/// The workload of a request's root call (0 for other calls: unused there).
fn workload_of(w: &World, call: SlabKey) -> u32 {
    match w.calls.get(call).map(|c| c.parent) {
        Some(Parent::Request { wl, .. }) => wl,
        _ => 0,
    }
}

/// Routes a new attempt of `call` to a replica and puts it on the network.
fn send_attempt(w: &mut World, call_key: SlabKey) {
    let now = w.now();
    let call = &w.calls.get(call_key).expect("live call");
    let (edge, callee, counted, node) = (call.edge, call.callee, call.counted, call.node);
    let service = w.m.endpoints[callee as usize].service.0;
    let replica = replica::pick(w, service);
    w.replicas[replica as usize].outstanding += 1;
    let attempt = w.attempts.insert(Attempt {
        call: call_key,
        endpoint: callee,
        service,
        replica,
        sent: now,
        arrived: now,
        responded: now,
        state: AttemptState::Transit,
        outcome: Outcome::Ok,
        orphan: false,
        abandoned_at: SimTime::MAX,
        cancelled: false,
        strands: 0,
        response_pending: false,
        counted,
        node,
        chain: chain::NO_CHAIN,
    });
    w.calls.get_mut(call_key).expect("live call").attempt = attempt;
    w.stats.svc_interval[service as usize].attempts += 1;
    if edge != ROOT_EDGE {
        w.stats.edges[edge as usize].attempts += 1;
        if let Some(lane) = w.edge_timeout_lane[edge as usize] {
            w.q.schedule_in_lane(lane, Event::TimeoutFired { attempt });
        }
    }
    let d = network_latency(w, edge, workload_of(w, call_key));
    w.after(d, Event::AttemptArrives { attempt });
}

/// The attempt's endpoint finished (or it was refused): send the response.
/// Releases its slot if it held one.
pub(crate) fn respond(w: &mut World, key: SlabKey, outcome: Outcome) {
    let now = w.now();
    let a = w.attempts.get_mut(key).expect("responding attempt is live");
    debug_assert!(a.state != AttemptState::Done, "an attempt responds once");
    let held_slot = a.state == AttemptState::Running;
    a.state = AttemptState::Done;
    a.outcome = outcome;
    a.responded = now;
    let (service, replica, orphan, arrived, edge_call) = (a.service, a.replica, a.orphan, a.arrived, a.call);
    w.replicas[replica as usize].outstanding -= 1;
    stats::attempt_responded(w, service, outcome, now.since(arrived), held_slot);
    if held_slot {
        replica::release_slot(w, replica);
    }
    if orphan {
        release_attempt_if_idle(w, key);
        return;
    }
    let edge = w.calls.get(edge_call).map_or(ROOT_EDGE, |c| c.edge);
    w.attempts.get_mut(key).expect("live").response_pending = true;
    let d = network_latency(w, edge, workload_of(w, edge_call));
    w.after(d, Event::ResponseArrives { attempt: key });
}

pub(crate) fn on_response_arrives(w: &mut World, key: SlabKey) {
    let Some(a) = w.attempts.get_mut(key) else {
        return;
    };
    a.response_pending = false;
    if a.orphan {
        release_attempt_if_idle(w, key);
        return;
    }
    a.orphan = true; // the caller has its answer: nobody waits any more
    let (call, outcome) = (a.call, a.outcome);
    call_done(w, call, outcome, key);
    release_attempt_if_idle(w, key);
}

pub(crate) fn on_timeout(w: &mut World, key: SlabKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.orphan {
        return; // answered already, or abandoned
    }
    let (call, service) = (a.call, a.service);
    let edge = w.calls.get(call).expect("awaited attempt has a call").edge;
    w.stats.edges[edge as usize].timeouts += 1;
    stats::attempt_timed_out(w, service);
    abandon_attempt(w, key, w.m.edges[edge as usize].cancel);
    call_done(w, call, Outcome::Timeout, key);
}

/// The caller stops waiting for `key`. With `cancel`, the server drops the
/// work: a queued attempt leaves the queue, a running one stops.
pub(crate) fn abandon_attempt(w: &mut World, key: SlabKey, cancel: bool) {
    let now = w.now();
    let Some(a) = w.attempts.get_mut(key) else {
        return;
    };
    a.orphan = true;
    a.abandoned_at = a.abandoned_at.min(now);
    if !cancel || a.state == AttemptState::Done {
        return;
    }
    a.cancelled = true;
    match a.state {
        AttemptState::Transit => {} // dropped on arrival
        AttemptState::Queued => {
            let (replica, service) = (a.replica, a.service);
            a.state = AttemptState::Done;
            w.replicas[replica as usize].outstanding -= 1;
            replica::leave_queue(w, replica, service);
            release_attempt_if_idle(w, key);
        }
        AttemptState::Running => {
            let (replica, service) = (a.replica, a.service);
            a.state = AttemptState::Done;
            w.replicas[replica as usize].outstanding -= 1;
            stats::attempt_cancelled(w, service);
            replica::release_slot(w, replica);
            release_attempt_if_idle(w, key);
        }
        AttemptState::Done => unreachable!(),
    }
}

/// Frees the attempt once nothing refers to it any more.
pub(crate) fn release_attempt_if_idle(w: &mut World, key: SlabKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.state == AttemptState::Done && a.strands == 0 && !a.response_pending && a.orphan {
        let chain = a.chain;
        w.attempts.remove(key);
        w.chains.recycle(chain);
    }
}

/// A call ended with `outcome` (its attempt `attempt` answered or timed out).
fn call_done(w: &mut World, call_key: SlabKey, outcome: Outcome, attempt: SlabKey) {
    let now = w.now();
    let call = w.calls.remove(call_key).expect("a call ends once");
    // Hand the callee's critical path to whoever waits.
    let callee_chain = match w.attempts.get_mut(attempt) {
        Some(a) if outcome != Outcome::Timeout => {
            let net = a.arrived.since(a.sent) + now.since(a.responded);
            let c = std::mem::replace(&mut a.chain, chain::NO_CHAIN);
            w.chains.add_network(c, call.node, net)
        }
        _ => w.chains.wasted(call.node, now.since(call.start), call.counted),
    };
    match call.parent {
        Parent::Request { wl, user } => {
            w.requests_in_flight -= 1;
            stats::request_done(w, wl, call.counted, outcome, now.since(call.start), callee_chain);
            if user != u32::MAX {
                arrivals::user_done(w, wl, user);
            }
        }
        Parent::Strand(strand) => {
            let edge = call.edge as usize;
            if outcome != Outcome::Ok {
                w.stats.edges[edge].failures += 1;
                if outcome == Outcome::Rejected {
                    w.stats.edges[edge].rejected += 1;
                }
            }
            let cont = outcome == Outcome::Ok || w.m.edges[edge].continue_on_failure;
            exec::call_returned(w, strand, cont, callee_chain);
        }
    }
}
