//! Outcomes travelling back: responses over the network, per-attempt
//! timeouts, `timeout_total`, the caller abandoning attempts (cancelling
//! them with `cancel: true`), and a call's outcome reaching whoever waits
//! for it — a strand, the edge client, or nobody (a detached call).

use super::super::chain::Buf;
use super::super::event::Event;
use super::super::state::{AttemptKey, CallKey};
use super::super::state::{AttemptState, Cause, Origin, Outcome, Parent};
use super::super::world::World;
use super::{Close, close, send, strand};
use crate::engine::SimTime;
use crate::model::FailureKind;

/// The response of a closed attempt leaves for its caller. With no network
/// latency, a response to the edge client is taken at once (nothing runs
/// at the client that it could re-enter); others go through the ready list.
pub(crate) fn send_response(w: &mut World, key: AttemptKey) {
    let call = w.attempts.get(key).expect("live").call;
    let edge = w.calls.get(call).and_then(|c| c.edge);
    let wl = if edge.is_none() { w.workload_of(call) } else { None };
    let d = send::network_latency(w, edge, wl);
    if d.0 == 0 && wl.is_some() {
        on_response_arrives(w, key);
    } else {
        w.after(d, Event::ResponseArrives { attempt: key });
    }
}

pub(crate) fn on_response_arrives(w: &mut World, key: AttemptKey) {
    let Some(a) = w.attempts.get_mut(key) else { return };
    a.response_pending = false;
    if a.orphan {
        return release_if_idle(w, key);
    }
    a.orphan = true; // the caller has its answer: nobody waits any more
    let (call, outcome, cause, sent) = (a.call, a.outcome, a.cause, a.sent);
    attempt_ended(w, call, key, outcome, cause, sent);
    release_if_idle(w, key);
}

pub(crate) fn on_timeout(w: &mut World, key: AttemptKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.orphan {
        return; // answered already, or abandoned
    }
    let (call, service, sent, counted) = (a.call, a.service, a.sent, a.counted);
    w.stats.attempt_timed_out(service);
    let origin = match w.calls.get(call).map(|c| (c.edge, c.parent)) {
        Some((Some(edge), _)) => {
            w.stats.edge(edge).timeouts += 1;
            Origin::Edge(edge)
        }
        Some((None, Parent::Request { wl, .. })) => {
            w.stats.client_timeout(wl, counted);
            Origin::Client(wl)
        }
        _ => unreachable!("only calls on an edge and requests with a client time out"),
    };
    abandon_attempt(w, key, cancels(w, call));
    let cause = Cause { kind: FailureKind::Timeout, origin };
    attempt_ended(w, call, key, Outcome::Timeout, Some(cause), sent);
}

/// Whether the server drops an attempt of `call` its caller stopped
/// waiting for: `cancel: true` on the call, or on the workload's client.
pub(crate) fn cancels(w: &World, call: CallKey) -> bool {
    match w.calls.get(call).map(|c| (c.edge, c.parent)) {
        Some((Some(e), _)) => w.m.edges[e.ix()].cancel,
        Some((None, Parent::Request { wl, .. })) => w.m.workloads[wl.ix()].client.is_some_and(|c| c.cancel),
        _ => false,
    }
}

/// True if nobody waits for `call` any more: its caller's attempt ended
/// (answered, failed or cancelled) or a join above it was decided.
pub(crate) fn caller_gone(w: &World, call: CallKey) -> bool {
    match w.calls.get(call).map(|c| c.parent) {
        Some(Parent::Strand(s)) => !strand::strand_live(w, s),
        Some(Parent::Request { .. } | Parent::Detached | Parent::Message(_)) => false,
        None => true,
    }
}

/// Ends a call whose caller is gone: no retry or hedge goes out for it.
pub(crate) fn drop_call(w: &mut World, call: CallKey) {
    let last = w.calls.get(call).and_then(|c| c.last);
    let edge = w.calls.get(call).and_then(|c| c.edge);
    // Nobody sees this outcome; it is recorded as the caller leaving.
    let cause = edge.map(|e| Cause { kind: FailureKind::Error, origin: Origin::Edge(e) });
    call_done(w, call, Outcome::Error, cause, last);
}

/// `timeout_total` of a call ran out: every attempt is abandoned.
pub(crate) fn on_call_timed_out(w: &mut World, call: CallKey) {
    let Some(c) = w.calls.get(call) else { return };
    let edge = c.edge.expect("only calls on an edge have timeout_total");
    w.stats.edge(edge).timeouts += 1;
    abandon_live_attempts(w, call, None);
    let last = w.calls.get(call).expect("live").last;
    let cause = Cause { kind: FailureKind::Timeout, origin: Origin::Edge(edge) };
    call_done(w, call, Outcome::Timeout, Some(cause), last);
}

/// An attempt of `call` ended, seen by the caller: success ends the call;
/// a failure is retried, hedged or ends it.
fn attempt_ended(
    w: &mut World,
    call: CallKey,
    attempt: AttemptKey,
    outcome: Outcome,
    cause: Option<Cause>,
    sent: SimTime,
) {
    if !w.calls.contains(call) {
        return; // the call ended another way (timeout_total, a hedge won)
    }
    match cause {
        None => {
            bookkeeping(w, call, Some(attempt), outcome, sent);
            abandon_live_attempts(w, call, Some(attempt));
            call_done(w, call, Outcome::Ok, None, Some(attempt));
        }
        Some(cause) => attempt_failed(w, call, Some(attempt), outcome, cause, sent),
    }
}

/// Breaker, throttle and budget bookkeeping for an attempt that ended
/// (`attempt` is `None` for a short-circuit or refusal: never sent).
fn bookkeeping(w: &mut World, call: CallKey, attempt: Option<AttemptKey>, o: Outcome, sent: SimTime) {
    let now = w.now();
    let was_retry = attempt.and_then(|a| w.attempts.get(a)).is_some_and(|a| a.retry);
    let c = w.calls.get_mut(call).expect("live call");
    if let Some(a) = attempt {
        c.live_remove(a);
    }
    if let Some(edge) = c.edge {
        w.res.attempt_ended(w.m, edge, c, was_retry, o, sent, now);
    }
}

/// An attempt of `call` failed with `outcome` (root cause `cause`): hedge,
/// retry or give up.
pub(crate) fn attempt_failed(
    w: &mut World,
    call: CallKey,
    attempt: Option<AttemptKey>,
    outcome: Outcome,
    cause: Cause,
    sent: SimTime,
) {
    bookkeeping(w, call, attempt, outcome, sent);
    if send::retry_or_not(w, call, outcome) {
        return; // another attempt is on its way or still awaited
    }
    call_done(w, call, outcome, Some(cause), attempt);
}

/// The caller stops waiting for every live attempt of `call` but `keep`.
fn abandon_live_attempts(w: &mut World, call: CallKey, keep: Option<AttemptKey>) {
    if w.calls.get(call).is_none_or(|c| c.live_count() == 0) {
        return;
    }
    let cancel = cancels(w, call);
    let (live, n) = w.calls.get_mut(call).expect("live").take_live();
    for a in live[..n].iter().flatten().copied() {
        if Some(a) != keep {
            abandon_attempt(w, a, cancel);
        }
    }
}

/// The caller stops waiting for `key`. With `cancel`, the server drops the
/// work: a queued attempt leaves the queue, a running one stops, one on the
/// network is dropped on arrival.
pub(crate) fn abandon_attempt(w: &mut World, key: AttemptKey, cancel: bool) {
    let now = w.now();
    let Some(a) = w.attempts.get_mut(key) else { return };
    a.orphan = true;
    a.abandoned_at = a.abandoned_at.min(now);
    let (call, state, lost) = (a.call, a.state, a.lost);
    if let Some(c) = w.calls.get_mut(call) {
        c.live_remove(key);
    }
    if lost && state == AttemptState::Transit {
        // Swallowed by a partition: it will never arrive.
        return close(w, key, Close::Drop { cancelled: false });
    }
    if !cancel || state == AttemptState::Done {
        return;
    }
    match state {
        AttemptState::Transit => w.attempts.get_mut(key).expect("live").cancelled = true, // dropped on arrival
        AttemptState::Queued | AttemptState::Running => close(w, key, Close::Drop { cancelled: true }),
        AttemptState::Done => {}
    }
}

/// Frees the attempt once nothing refers to it any more.
pub(crate) fn release_if_idle(w: &mut World, key: AttemptKey) {
    let Some(a) = w.attempts.get(key) else { return };
    if a.state == AttemptState::Done && a.strands == 0 && !a.response_pending && a.orphan {
        let chain = a.chain;
        w.attempts.remove(key);
        w.chains.recycle(chain);
    }
}

/// The endpoint of `attempt` stopped (answered, failed or was cancelled):
/// every call it still has out ends; each abandons its attempts, cancelling
/// them where that call says `cancel: true` (recursively, down the chain).
pub(crate) fn on_calls_abandoned(w: &mut World, attempt: AttemptKey) {
    while let Some(head) = w.attempts.get(attempt).and_then(|a| a.calls) {
        drop_call(w, head);
    }
}

/// A call ended with `outcome` (root cause `cause` for a failure);
/// `attempt` is its last attempt (maybe gone, or `None` when it was
/// short-circuited or refused).
fn call_done(w: &mut World, call_key: CallKey, outcome: Outcome, cause: Option<Cause>, attempt: Option<AttemptKey>) {
    let now = w.now();
    let cancel = cancels(w, call_key);
    let mut call = w.calls.remove(call_key).expect("a call ends once");
    // Out of its caller attempt's list.
    if let Some(p) = call.prev.and_then(|p| w.calls.get_mut(p)) {
        p.next = call.next;
    } else if let Some(a) = call.caller.and_then(|c| w.attempts.get_mut(c)) {
        debug_assert_eq!(a.calls, Some(call_key), "a call without a predecessor heads its caller's list");
        a.calls = call.next;
    }
    if let Some(n) = call.next.and_then(|n| w.calls.get_mut(n)) {
        n.prev = call.prev;
    }
    if call.live_count() > 0 {
        let (live, n) = call.take_live();
        for a in live[..n].iter().flatten().copied() {
            abandon_attempt(w, a, cancel);
        }
    }
    // The call's critical path: its earlier failed attempts and backoffs,
    // then the last attempt (wasted if it timed out).
    let mut callee_chain: Option<Buf> = call.chain.take();
    let mut stream = None;
    match attempt.and_then(|a| w.attempts.get_mut(a)) {
        Some(a) if outcome != Outcome::Timeout => {
            if cause.is_none() {
                // Its tokens reach the caller after the network back.
                stream = a.stream.map(|s| super::generate::shifted(s, now.since(a.responded)));
            }
            let net = a.arrived.since(a.sent) + now.since(a.responded);
            let c = a.chain.take();
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
        w.res.call_ended(w.m, &call);
    }
    match call.parent {
        Parent::Request { wl, user } => {
            w.count.requests_in_flight -= 1;
            let bands = w.stats.request_done(wl, call.counted, cause, now.since(call.start), call.attempts_made);
            if cause.is_none() && call.counted {
                if let Some(s) = stream {
                    w.gpus.request_streamed(wl.ix(), call.start, s.first, s.last, s.tokens);
                }
                w.chains.finish_request(wl, callee_chain, bands);
            } else {
                w.chains.recycle(callee_chain);
            }
            if let Some(user) = user
                && let Some(think) = super::super::arrivals::think(w.m, &mut w.wl[wl.ix()], wl)
            {
                w.q.schedule_after(think, Event::UserWakes { wl, user });
            }
        }
        Parent::Strand(s) => {
            let edge = call.edge.expect("a strand's call is on an edge");
            let live = strand::strand_live(w, s);
            if let Some(st) = stream
                && live
                && let Some(a) = w.strands.get(s).and_then(|x| w.attempts.get_mut(x.attempt))
                && a.stream.is_none()
            {
                a.stream = Some(st);
            }
            let result = match cause {
                None => {
                    if live {
                        w.stats.call_ok(edge, now.since(call.start));
                    }
                    Ok(())
                }
                Some(cause) => {
                    // A call abandoned with its caller is not a failure anyone saw.
                    if live {
                        w.stats.call_failed(edge, outcome, cause);
                    }
                    if w.m.edges[edge.ix()].continue_on_failure { Ok(()) } else { Err(cause) }
                }
            };
            strand::call_returned(w, s, result, callee_chain);
        }
        Parent::Detached => w.chains.recycle(callee_chain),
        Parent::Message(d) => {
            w.chains.recycle(callee_chain);
            super::messages::on_consumed(w, d, cause.is_none());
        }
    }
}
