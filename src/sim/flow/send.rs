//! Requests and calls going out: a workload's request, a `call` step, an
//! attempt routed by the balancer and sent over the network (through the
//! circuit breaker and any partition), and the retries and hedges that
//! follow failures and slow answers.

use super::super::event::Event;
use super::super::ids::{EdgeId, ServiceId, WorkloadId};
use super::super::retry::Decision;
use super::super::state::{Attempt, AttemptState, Call, Cause, Origin, Outcome, Parent};
use super::super::state::{CallKey, StrandKey};
use super::super::trace::Attrs;
use super::super::world::World;
use super::{answer, serve};
use crate::engine::{SimDuration, SimTime};
use crate::model::{FailureKind, OutageMode};

/// Most attempts handled inline inside one another (a chain of calls with
/// no network latency): beyond it they go through the ready list, so a call
/// chain thousands of services deep cannot exhaust the stack.
const MAX_INLINE_DEPTH: u32 = 64;

/// Why an attempt is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptKind {
    First,
    Retry,
    Hedge,
}

/// A workload's client sends a new request (`user` for closed loops).
pub(crate) fn start_request(w: &mut World, wl: WorkloadId, user: Option<u32>) {
    start_request_with(w, wl, user, None);
}

/// [`start_request`] for a request that carries attributes (a trace's).
pub(crate) fn start_request_with(w: &mut World, wl: WorkloadId, user: Option<u32>, attrs: Option<Attrs>) {
    let now = w.now();
    let counted = w.counted_now();
    let target = w.m.workloads[wl.ix()].target;
    w.stats.request_started(wl, counted);
    w.count.requests_in_flight += 1;
    w.count.peak_requests_in_flight = w.count.peak_requests_in_flight.max(w.count.requests_in_flight);
    let mut call = Call::new(Parent::Request { wl, user }, None, target, now, counted);
    call.node = w.chains.root_node(wl);
    call.attrs = attrs;
    let key = w.calls.insert(call);
    send_attempt(w, key, AttemptKind::First);
}

/// A strand executes a `call` step on `edge`: returns false if the call was
/// skipped by its probability (the strand goes on at once).
pub(crate) fn start_call(w: &mut World, strand: StrandKey, edge: EdgeId) -> bool {
    let now = w.now();
    let e = &w.m.edges[edge.ix()];
    if e.probability < 1.0 && !w.rng.site[edge.ix()].chance(e.probability) {
        w.stats.edge(edge).skipped += 1;
        return false;
    }
    w.stats.edge(edge).calls += 1;
    let caller = w.strands.get(strand).expect("a calling strand is live").attempt;
    let a = w.attempts.get(caller).expect("a calling attempt is live");
    let mut call = Call::new(Parent::Strand(strand), Some(edge), e.callee, now, a.counted);
    call.node = w.chains.child_node(a.node, edge);
    call.caller = Some(caller);
    call.attrs = a.attrs.clone();
    // The caller's own deadline bounds its retries; it travels downstream
    // only where the call propagates deadlines (see `send_attempt`).
    call.deadline = a.deadline;
    call.total_deadline = e.timeout_total.map_or(SimTime::MAX, |t| now + t);
    let has_total = e.timeout_total.is_some();
    let key = w.calls.insert(call);
    // Into the caller attempt's list of outstanding calls.
    let a = w.attempts.get_mut(caller).expect("a calling attempt is live");
    let head = a.calls.replace(key);
    w.calls.get_mut(key).expect("just inserted").next = head;
    if let Some(h) = head.and_then(|h| w.calls.get_mut(h)) {
        h.prev = Some(key);
    }
    if has_total && let Some(lane) = w.lanes.total[edge.ix()] {
        w.arm(lane, Event::CallTimedOut { call: key });
    }
    w.res.on_call_started(w.m, edge, now);
    send_attempt(w, key, AttemptKind::First);
    true
}

/// A call nobody waits for (fire-and-forget) from the attempt of `strand`
/// — or from nowhere — to `callee` on `edge`. Its outcome is only counted.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn start_detached(w: &mut World, edge: EdgeId) -> CallKey {
    let now = w.now();
    let e = &w.m.edges[edge.ix()];
    let call = Call::new(Parent::Detached, Some(edge), e.callee, now, w.counted_now());
    let key = w.calls.insert(call);
    send_attempt(w, key, AttemptKind::First);
    key
}

/// One-way network latency for a call on `edge` (for a workload's request,
/// `edge` is `None` and `wl` names the workload).
pub(crate) fn network_latency(w: &mut World, edge: Option<EdgeId>, wl: Option<WorkloadId>) -> SimDuration {
    let m = w.m;
    match edge {
        None => match (m.network_latency, wl) {
            (Some(d), Some(wl)) => m.dist(d).sample(&mut w.rng.client_net[wl.ix()]),
            _ => SimDuration::ZERO,
        },
        Some(e) => match m.edges[e.ix()].latency.or(m.network_latency) {
            Some(d) => m.dist(d).sample(&mut w.rng.site[e.ix()]),
            None => SimDuration::ZERO,
        },
    }
}

/// Sends a new attempt of `call`: through the circuit breaker, routed by the
/// balancer, onto the network (unless a partition swallows or refuses it).
pub(crate) fn send_attempt(w: &mut World, call_key: CallKey, kind: AttemptKind) {
    let now = w.now();
    let call = w.calls.get_mut(call_key).expect("live call");
    let (edge, callee, counted, node, parent) = (call.edge, call.callee, call.counted, call.node, call.parent);
    call.attempts_made += 1;
    call.last_sent = now;
    let (call_deadline, total) = (call.deadline, call.total_deadline);
    let attrs = call.attrs.clone();
    if let Some(e) = edge
        && !w.res.breaker_permits(w.m, e, now)
    {
        w.stats.edge(e).short_circuits += 1;
        let cause = Cause { kind: FailureKind::ShortCircuited, origin: Origin::Edge(e) };
        return answer::attempt_failed(w, call_key, None, Outcome::ShortCircuited, cause, now);
    }
    let service = w.endpoint_service(callee);
    let blocked = edge.and_then(|e| w.faults.partition(w.caller_service(e), service));
    if let (Some(OutageMode::Refuse), Some(e)) = (blocked, edge) {
        // Connection refused: the caller learns at once.
        let cause = Cause { kind: FailureKind::Error, origin: Origin::Edge(e) };
        return answer::attempt_failed(w, call_key, None, Outcome::Error, cause, now);
    }
    let replica = match parent {
        Parent::Message(d) => super::messages::delivery_replica(w, d),
        _ => route(w, service),
    };
    w.fleet.replica_mut(replica).outstanding += 1;
    // A propagated deadline is per attempt: what the caller has left, and
    // no later than this attempt's own timeout or the call's total.
    let deadline = match edge.map(|e| &w.m.edges[e.ix()]) {
        Some(e) if e.deadline_propagate => call_deadline.min(total).min(e.timeout.map_or(SimTime::MAX, |t| now + t)),
        _ => SimTime::MAX,
    };
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
        cause: None,
        orphan: false,
        abandoned_at: SimTime::MAX,
        cancelled: false,
        lost: blocked.is_some(),
        retry: kind == AttemptKind::Retry,
        in_flight_at_admission: 0,
        strands: 0,
        response_pending: false,
        counted,
        node,
        chain: None,
        calls: None,
        attrs,
        stream: None,
    });
    let call = w.calls.get_mut(call_key).expect("live call");
    call.last = Some(attempt);
    call.live_push(attempt);
    w.stats.attempt_sent(service, kind == AttemptKind::First);
    if let Some(e) = edge {
        // Counted as sent: a short-circuited or refused try is not an attempt.
        let es = w.stats.edge(e);
        es.attempts += 1;
        match kind {
            AttemptKind::Retry => es.retries += 1,
            AttemptKind::Hedge => es.hedges += 1,
            AttemptKind::First => {}
        }
        if let Some(lane) = w.lanes.timeout[e.ix()] {
            w.arm(lane, Event::TimeoutFired { attempt });
        }
        arm_hedge(w, call_key, e);
    }
    let wl = if edge.is_none() { w.workload_of(call_key) } else { None };
    if let Some(wl) = wl {
        w.stats.client_attempt(wl, counted, kind == AttemptKind::Retry);
        if let Some(lane) = w.lanes.client_timeout[wl.ix()] {
            w.arm(lane, Event::TimeoutFired { attempt });
        }
    }
    if blocked.is_some() {
        return; // a partition that hangs: the attempt never arrives
    }
    let d = network_latency(w, edge, wl) + w.faults.added_latency(w.m, service);
    if d.0 == 0 && w.count.inline_depth < MAX_INLINE_DEPTH {
        // Arrives now. Handled inline: the caller is parked (or is the edge
        // client), so nothing re-enters it. Call depth is the nesting, so it
        // is bounded: deeper arrivals go through the ready list instead.
        w.count.inline_depth += 1;
        serve::on_attempt_arrives(w, attempt);
        w.count.inline_depth -= 1;
    } else if d.0 == 0 {
        w.ready.push_back(Event::AttemptArrives { attempt });
    } else {
        w.q.schedule_after(d, Event::AttemptArrives { attempt });
    }
}

/// The replica a new attempt to `service` goes to: the balancer's pick
/// among routable replicas, else a fallback that refuses it on arrival.
fn route(w: &mut World, service: ServiceId) -> super::super::ids::ReplicaId {
    let svc = &w.m.services[service.ix()];
    let fleet = &mut w.fleet;
    match fleet.services[service.ix()].pick(svc, &fleet.replicas) {
        Some(r) => r,
        None => fleet.fallback(service),
    }
}

/// After sending a first attempt or a hedge: schedule the next hedge.
fn arm_hedge(w: &mut World, call: CallKey, edge: EdgeId) {
    if let (Some(h), Some(lane)) = (w.m.edges[edge.ix()].hedge, w.lanes.hedge[edge.ix()]) {
        let c = w.calls.get(call).expect("live call");
        if c.attempts_made < h.max && c.has_room() {
            let made = c.attempts_made;
            w.arm(lane, Event::HedgeDue { call, made });
        }
    }
}

pub(crate) fn on_hedge_due(w: &mut World, call: CallKey, made: u32) {
    let Some(c) = w.calls.get(call) else { return };
    // Stale if another attempt went out since, or nothing is awaited.
    if c.attempts_made != made || c.live_count() == 0 || c.retry_pending {
        return;
    }
    if answer::caller_gone(w, call) {
        return; // no more hedges for a caller that stopped waiting
    }
    send_hedge(w, call);
}

/// Sends a hedge of `call` if its throttle and budget allow.
pub(crate) fn send_hedge(w: &mut World, call: CallKey) {
    let now = w.now();
    let edge = w.calls.get(call).and_then(|c| c.edge).expect("only calls on an edge hedge");
    if !w.res.hedge_permitted(w.m, edge, now) {
        w.stats.edge(edge).throttled += 1;
        return;
    }
    send_attempt(w, call, AttemptKind::Hedge);
}

/// Carries out a retry decision for `call` (its last attempt failed).
/// Returns true if the call goes on.
pub(crate) fn retry_or_not(w: &mut World, call: CallKey, o: Outcome) -> bool {
    let now = w.now();
    let c = w.calls.get(call).expect("live call");
    let d = match (c.edge, c.parent) {
        (Some(edge), _) => {
            let callee_service = w.endpoint_service(c.callee);
            let fleet = &w.fleet;
            w.res.after_failure(w.m, edge, c, o, now, || fleet.outstanding(callee_service))
        }
        (None, Parent::Request { wl, .. }) => w.res.after_client_failure(w.m, wl, c, o, now),
        (None, _) => Decision::GiveUp,
    };
    match d {
        Decision::GiveUp => false,
        Decision::Throttled => {
            let edge = w.calls.get(call).and_then(|c| c.edge).expect("only calls on an edge are throttled");
            w.stats.edge(edge).throttled += 1;
            false
        }
        Decision::Wait { hedge } => {
            if hedge {
                send_hedge(w, call);
            }
            true
        }
        Decision::Retry { delay, backoff, cost, charged } => {
            // The failed attempt's time was spent on the critical path.
            let c = w.calls.get(call).expect("live");
            let (sent, node, counted) = (c.last_sent, c.node, c.counted);
            let wasted = w.chains.wasted(node, now.since(sent), counted);
            let c = w.calls.get_mut(call).expect("live");
            c.chain = w.chains.join(c.chain, wasted);
            c.backoff = Some(backoff);
            c.retry_pending = true;
            c.backoff_from = now;
            if cost.is_some() {
                c.retry_cost = cost;
            }
            if charged {
                c.envoy_retries += 1;
            }
            w.after(delay, Event::RetryDue { call });
            true
        }
    }
}

pub(crate) fn on_retry_due(w: &mut World, call: CallKey) {
    let now = w.now();
    let Some(c) = w.calls.get_mut(call) else { return };
    c.retry_pending = false;
    if answer::caller_gone(w, call) {
        return answer::drop_call(w, call);
    }
    let c = w.calls.get(call).expect("live");
    let (node, counted, from) = (c.node, c.counted, c.backoff_from);
    let b = w.chains.new_buffer(counted, node);
    w.chains.add(b, node, super::super::chain::Part::Backoff, now.since(from));
    let c = w.calls.get_mut(call).expect("live");
    c.chain = w.chains.join(c.chain, b);
    send_attempt(w, call, AttemptKind::Retry);
}
