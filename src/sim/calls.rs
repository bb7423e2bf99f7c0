//! Calls and attempts: sending an attempt over the network to a replica the
//! balancer picks, its response travelling back, per-attempt timeouts,
//! orphaned work and cancellation, and the outcome reaching the caller.
//!
//! A request from a workload is a call whose parent is the edge client
//! ([`Parent::Request`]). A call makes one or more attempts: retries after a
//! failure and hedges while one is slow are decided in [`super::retry`];
//! this file moves attempts and outcomes.

use super::{
    Attempt, AttemptState, Call, Event, Outcome, Parent, ROOT_EDGE, World, arrivals, chain, exec, faults, replica,
    retry, stats,
};
use crate::engine::{SimDuration, SimTime, SlabKey};

/// Most attempts of one call awaited at once (hedging); more are not sent.
pub(crate) const MAX_LIVE_ATTEMPTS: usize = 6;

/// Why an attempt is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptKind {
    First,
    Retry,
    Hedge,
}

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
    let call = w.calls.insert(Call::new(Parent::Request { wl, user }, ROOT_EDGE, target, now, counted, node));
    send_attempt(w, call, AttemptKind::First);
}

/// A strand executes a `call` step on `edge`: returns false if the call was
/// skipped by its probability (the strand goes on at once). `deadline` is the
/// caller attempt's deadline (`SimTime::MAX` if none).
pub(crate) fn start_call(
    w: &mut World,
    strand: SlabKey,
    edge: u32,
    caller_node: u32,
    counted: bool,
    deadline: SimTime,
) -> bool {
    let now = w.now();
    let e = &w.m.edges[edge as usize];
    if e.probability < 1.0 && !w.edge_rng[edge as usize].chance(e.probability) {
        w.stats.edges[edge as usize].skipped += 1;
        return false;
    }
    w.stats.edges[edge as usize].calls += 1;
    let node = w.chains.child_node(caller_node, edge);
    let mut call = Call::new(Parent::Strand(strand), edge, e.callee.0, now, counted, node);
    let caller = w.strands.get(strand).expect("a calling strand is live").attempt;
    call.caller = caller;
    if e.deadline_propagate {
        // The callee gets what is left of the caller's time, and no more
        // than this call will wait.
        let own = e.timeout_total.or(e.timeout).map_or(SimTime::MAX, |t| now + t);
        call.deadline = deadline.min(own);
    }
    if let Some(total) = e.timeout_total {
        call.total_deadline = now + total;
    }
    let has_total = e.timeout_total.is_some();
    let key = w.calls.insert(call);
    // Into the caller attempt's list of outstanding calls.
    let a = w.attempts.get_mut(caller).expect("a calling attempt is live");
    let head = std::mem::replace(&mut a.calls, key);
    w.calls.get_mut(key).expect("just inserted").next = head;
    if let Some(h) = w.calls.get_mut(head) {
        h.prev = key;
    }
    if has_total && let Some(lane) = w.edge_total_lane[edge as usize] {
        w.q.schedule_in_lane(lane, Event::CallTimedOut { call: key });
    }
    retry::on_call_started(w, edge);
    send_attempt(w, key, AttemptKind::First);
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

/// The service a call is made from (`None` for a workload's request).
fn caller_service(w: &World, edge: u32) -> Option<u32> {
    (edge != ROOT_EDGE).then(|| w.m.service_of(w.m.edges[edge as usize].caller).0)
}

/// Sends a new attempt of `call`: through the circuit breaker, routed by the
/// balancer, onto the network (unless a partition swallows or refuses it).
pub(crate) fn send_attempt(w: &mut World, call_key: SlabKey, kind: AttemptKind) {
    let now = w.now();
    let call = w.calls.get_mut(call_key).expect("live call");
    let (edge, callee, counted, node, deadline) = (call.edge, call.callee, call.counted, call.node, call.deadline);
    call.attempts_made += 1;
    call.last_sent = now;
    if edge != ROOT_EDGE && !retry::breaker_permits(w, edge, now) {
        w.stats.edges[edge as usize].short_circuits += 1;
        return attempt_failed(w, call_key, SlabKey::NONE, Outcome::ShortCircuited, now);
    }
    let service = w.m.endpoints[callee as usize].service.0;
    let blocked = caller_service(w, edge).and_then(|from| faults::partition(w, from, service));
    if blocked == Some(crate::model::OutageMode::Refuse) {
        // Connection refused: the caller learns at once.
        return attempt_failed(w, call_key, SlabKey::NONE, Outcome::Error, now);
    }
    let replica = replica::pick(w, service);
    w.replicas[replica as usize].outstanding += 1;
    let attempt = w.attempts.insert(Attempt {
        call: call_key,
        endpoint: callee,
        service,
        replica,
        sent: now,
        arrived: now,
        admitted: now,
        responded: now,
        deadline,
        state: AttemptState::Transit,
        outcome: Outcome::Ok,
        orphan: false,
        abandoned_at: SimTime::MAX,
        cancelled: false,
        lost: blocked.is_some(),
        retry: kind == AttemptKind::Retry,
        strands: 0,
        response_pending: false,
        counted,
        node,
        chain: chain::NO_CHAIN,
        in_flight_at_admission: 0,
        calls: SlabKey::NONE,
    });
    let call = w.calls.get_mut(call_key).expect("live call");
    call.attempt = attempt;
    call.live_push(attempt);
    w.stats.svc_interval[service as usize].attempts += 1;
    if kind == AttemptKind::First {
        w.stats.svc_interval[service as usize].first_attempts += 1;
    }
    if edge != ROOT_EDGE {
        // Counted as sent: a short-circuited or refused try is not an attempt.
        let es = &mut w.stats.edges[edge as usize];
        es.attempts += 1;
        match kind {
            AttemptKind::Retry => es.retries += 1,
            AttemptKind::Hedge => es.hedges += 1,
            AttemptKind::First => {}
        }
        if let Some(lane) = w.edge_timeout_lane[edge as usize] {
            w.q.schedule_in_lane(lane, Event::TimeoutFired { attempt });
        }
        retry::arm_hedge(w, call_key, edge);
    }
    if blocked.is_some() {
        return; // a partition that hangs: the attempt never arrives
    }
    let mut d = network_latency(w, edge, workload_of(w, call_key));
    d = d + faults::added_latency(w, service);
    if d.0 == 0 {
        // Arrives now. Handled inline: the caller is parked (or is the edge
        // client), so nothing re-enters it, and call depth bounds the nesting.
        w.events += 1;
        replica::on_attempt_arrives(w, attempt);
    } else {
        w.q.schedule_after(d, Event::AttemptArrives { attempt });
    }
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
    let (service, replica, orphan, arrived, call) = (a.service, a.replica, a.orphan, a.arrived, a.call);
    if !a.calls.is_none() {
        // Calls its endpoint left behind (wait: any, a failure): abandoned.
        w.ready.push_back(Event::CallsAbandoned { attempt: key });
    }
    let (admitted, in_flight_at_admission) = (a.admitted, a.in_flight_at_admission);
    w.replicas[replica as usize].outstanding -= 1;
    stats::attempt_responded(w, service, outcome, now.since(arrived), held_slot);
    if held_slot {
        replica::limiter_sample(w, replica, now.since(admitted), in_flight_at_admission, outcome != Outcome::Ok);
        replica::release_slot(w, replica);
    }
    if orphan {
        release_attempt_if_idle(w, key);
        return;
    }
    let edge = w.calls.get(call).map_or(ROOT_EDGE, |c| c.edge);
    w.attempts.get_mut(key).expect("live").response_pending = true;
    let d = network_latency(w, edge, workload_of(w, call));
    w.after(d, Event::ResponseArrives { attempt: key });
}

pub(crate) fn on_response_arrives(w: &mut World, key: SlabKey) {
    let Some(a) = w.attempts.get_mut(key) else { return };
    a.response_pending = false;
    if a.orphan {
        release_attempt_if_idle(w, key);
        return;
    }
    a.orphan = true; // the caller has its answer: nobody waits any more
    let (call, outcome, sent) = (a.call, a.outcome, a.sent);
    attempt_failed_or_ok(w, call, key, outcome, sent);
    release_attempt_if_idle(w, key);
}

pub(crate) fn on_timeout(w: &mut World, key: SlabKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.orphan {
        return; // answered already, or abandoned
    }
    let (call, service, sent) = (a.call, a.service, a.sent);
    let edge = w.calls.get(call).expect("awaited attempt has a call").edge;
    w.stats.edges[edge as usize].timeouts += 1;
    stats::attempt_timed_out(w, service);
    abandon_attempt(w, key, w.m.edges[edge as usize].cancel);
    attempt_failed_or_ok(w, call, key, Outcome::Timeout, sent);
}

/// True if nobody waits for `call` any more: its caller's attempt ended
/// (answered, failed or cancelled) or a join above it was decided.
pub(crate) fn caller_gone(w: &World, call: SlabKey) -> bool {
    match w.calls.get(call).map(|c| c.parent) {
        Some(Parent::Strand(s)) => !exec::strand_live(w, s),
        Some(Parent::Request { .. }) => false,
        None => true,
    }
}

/// Ends a call whose caller is gone: no retry or hedge goes out for it.
pub(crate) fn drop_call(w: &mut World, call: SlabKey) {
    let last = w.calls.get(call).map_or(SlabKey::NONE, |c| c.attempt);
    call_done(w, call, Outcome::Error, last);
}

/// `timeout_total` of a call ran out: every attempt is abandoned.
pub(crate) fn on_call_timed_out(w: &mut World, call_key: SlabKey) {
    let Some(call) = w.calls.get(call_key) else { return };
    let edge = call.edge;
    w.stats.edges[edge as usize].timeouts += 1;
    abandon_live_attempts(w, call_key, SlabKey::NONE);
    let last = w.calls.get(call_key).expect("live").attempt;
    call_done(w, call_key, Outcome::Timeout, last);
}

fn attempt_failed_or_ok(w: &mut World, call: SlabKey, attempt: SlabKey, outcome: Outcome, sent: SimTime) {
    if w.calls.get(call).is_none() {
        return; // the call ended another way (timeout_total, a hedge won)
    }
    if outcome == Outcome::Ok {
        retry::attempt_ended(w, call, attempt, true, sent, outcome);
        abandon_live_attempts(w, call, attempt);
        call_done(w, call, Outcome::Ok, attempt);
    } else {
        attempt_failed(w, call, attempt, outcome, sent);
    }
}

/// An attempt of `call` failed with `outcome`: hedge, retry or give up.
fn attempt_failed(w: &mut World, call: SlabKey, attempt: SlabKey, outcome: Outcome, sent: SimTime) {
    retry::attempt_ended(w, call, attempt, false, sent, outcome);
    if retry::after_failure(w, call, outcome) {
        return; // another attempt is on its way or still awaited
    }
    call_done(w, call, outcome, attempt);
}

/// The caller stops waiting for every live attempt of `call` but `keep`.
fn abandon_live_attempts(w: &mut World, call_key: SlabKey, keep: SlabKey) {
    let Some(call) = w.calls.get_mut(call_key).filter(|c| c.live_len > 0) else { return };
    let live = call.live;
    let n = std::mem::take(&mut call.live_len) as usize;
    let cancel = call.edge != ROOT_EDGE && w.m.edges[call.edge as usize].cancel;
    for &a in &live[..n] {
        if a != keep {
            abandon_attempt(w, a, cancel);
        }
    }
}

/// The caller stops waiting for `key`. With `cancel`, the server drops the
/// work: a queued attempt leaves the queue, a running one stops.
pub(crate) fn abandon_attempt(w: &mut World, key: SlabKey, cancel: bool) {
    let now = w.now();
    let Some(a) = w.attempts.get_mut(key) else { return };
    a.orphan = true;
    a.abandoned_at = a.abandoned_at.min(now);
    if let Some(call) = w.calls.get_mut(a.call) {
        call.live_remove(key);
    }
    if a.lost && a.state == AttemptState::Transit {
        // Swallowed by a partition: it will never arrive.
        a.state = AttemptState::Done;
        let replica = a.replica;
        w.replicas[replica as usize].outstanding -= 1;
        release_attempt_if_idle(w, key);
        return;
    }
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
            if !a.calls.is_none() {
                // Cancellation reaches the calls this work had made.
                w.ready.push_back(Event::CallsAbandoned { attempt: key });
            }
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

/// A call ended with `outcome`; `attempt` is its last attempt (maybe gone,
/// or NONE when it was short-circuited or refused).
/// The endpoint of `attempt` stopped (answered, failed or was cancelled):
/// every call it still has out ends; each abandons its attempts, cancelling
/// them where that call says `cancel: true` (recursively, down the chain).
pub(crate) fn on_calls_abandoned(w: &mut World, attempt: SlabKey) {
    loop {
        let Some(head) = w.attempts.get(attempt).map(|a| a.calls).filter(|c| !c.is_none()) else { return };
        drop_call(w, head);
    }
}

fn call_done(w: &mut World, call_key: SlabKey, outcome: Outcome, attempt: SlabKey) {
    let now = w.now();
    let mut call = w.calls.remove(call_key).expect("a call ends once");
    // Out of its caller attempt's list.
    if let Some(p) = w.calls.get_mut(call.prev) {
        p.next = call.next;
    } else if let Some(a) = w.attempts.get_mut(call.caller) {
        debug_assert_eq!(a.calls, call_key, "a call without a predecessor heads its caller's list");
        a.calls = call.next;
    }
    if let Some(n) = w.calls.get_mut(call.next) {
        n.prev = call.prev;
    }
    if call.live_len > 0 {
        let live = call.live;
        let cancel = call.edge != ROOT_EDGE && w.m.edges[call.edge as usize].cancel;
        for &a in &live[..call.live_len as usize] {
            abandon_attempt(w, a, cancel);
        }
    }
    // The call's critical path: its earlier failed attempts and backoffs,
    // then the last attempt (wasted if it timed out).
    let mut callee_chain = std::mem::replace(&mut call.chain, chain::NO_CHAIN);
    match w.attempts.get_mut(attempt) {
        Some(a) if outcome != Outcome::Timeout => {
            let net = a.arrived.since(a.sent) + now.since(a.responded);
            let c = std::mem::replace(&mut a.chain, chain::NO_CHAIN);
            let c = w.chains.add_network(c, call.node, net);
            callee_chain = w.chains.join(callee_chain, c);
        }
        Some(a) => {
            let waited = now.since(a.sent);
            let c = w.chains.wasted(call.node, waited, call.counted);
            callee_chain = w.chains.join(callee_chain, c);
        }
        None => {}
    }
    if call.retry_cost.is_some() || call.envoy_retries > 0 {
        retry::call_ended(w, &call);
    }
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
            // A call abandoned with its caller is not a failure anyone saw.
            if outcome != Outcome::Ok && exec::strand_live(w, strand) {
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
