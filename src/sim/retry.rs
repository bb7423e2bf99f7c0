//! Retries, hedges, circuit breakers, retry budgets and throttles, wired
//! into calls. The arithmetic lives in [`super::resilience`]; this file
//! decides, per call, whether another attempt goes out and when.
//!
//! Rules (after gRPC A6, Envoy and resilience4j; see `docs/format.md`):
//! - A failed attempt is retried if the call's `retry.on` names its kind,
//!   fewer than `retry.attempts` attempts were made (hedges count), no other
//!   attempt of the call is still awaited, the budget and the throttle allow
//!   it, and the backoff would end before `timeout_total` and the propagated
//!   deadline. The retry goes out after the backoff, to a replica the
//!   balancer picks then.
//! - Hedging: while no answer came, one more attempt every `hedge.after`, up
//!   to `hedge.max` attempts in all; a failure sends the next hedge at once;
//!   the first success wins and the others are abandoned (cancelled with
//!   `cancel: true`). A throttle that forbids retries also stops hedges.
//! - A circuit breaker is consulted before every attempt; a refusal fails
//!   the attempt at once as `short_circuited` (retried only if `on` says so).
//!   Its results are every permitted attempt's (ok, duration).
//! - One breaker, budget and throttle state per configured key (shared by
//!   every replica of the caller), as if the clients shared a sidecar.

use super::calls::{self, AttemptKind, MAX_LIVE_ATTEMPTS};
use super::{Call, Event, Outcome, World, chain, resilience};
use crate::engine::{SimTime, SlabKey};
use crate::model::FailureKind;

pub(crate) fn failure_kind(o: Outcome) -> Option<FailureKind> {
    match o {
        Outcome::Ok => None,
        Outcome::Error => Some(FailureKind::Error),
        Outcome::Timeout => Some(FailureKind::Timeout),
        Outcome::Rejected => Some(FailureKind::Rejected),
        Outcome::ShortCircuited => Some(FailureKind::ShortCircuited),
    }
}

/// Envoy's budget caps retries in flight (charged, then released when they
/// end); Finagle's is a token bucket (withdrawn once, nothing to release).
fn counts_in_flight(w: &World, b: crate::model::BudgetId) -> bool {
    matches!(w.m.budgets[b.ix()].cfg, crate::model::Budget::Envoy { .. })
}

/// A call was made on `edge`: Finagle budgets take their deposit.
pub(crate) fn on_call_started(w: &mut World, edge: u32) {
    let now = w.now();
    if let Some(b) = w.m.edges[edge as usize].retry.and_then(|r| r.budget) {
        w.budgets[b.ix()].on_request(now);
    }
}

pub(crate) fn breaker_permits(w: &mut World, edge: u32, now: SimTime) -> bool {
    match w.m.edges[edge as usize].breaker {
        Some(b) => w.breakers[b.ix()].try_acquire(now),
        None => true,
    }
}

/// After sending a first attempt or a hedge: schedule the next hedge.
pub(crate) fn arm_hedge(w: &mut World, call: SlabKey, edge: u32) {
    if let (Some(h), Some(lane)) = (w.m.edges[edge as usize].hedge, w.edge_hedge_lane[edge as usize]) {
        let c = w.calls.get(call).expect("live call");
        if c.attempts_made < h.max && (c.live_len as usize) < MAX_LIVE_ATTEMPTS {
            w.q.schedule_in_lane(lane, Event::HedgeDue { call, made: c.attempts_made });
        }
    }
}

pub(crate) fn on_hedge_due(w: &mut World, call: SlabKey, made: u32) {
    let Some(c) = w.calls.get(call) else { return };
    // Stale if another attempt went out since, or nothing is awaited.
    if c.attempts_made != made || c.live_len == 0 || c.retry_pending {
        return;
    }
    if calls::caller_gone(w, call) {
        return; // no more hedges for a caller that stopped waiting
    }
    send_hedge(w, call);
}

fn send_hedge(w: &mut World, call: SlabKey) {
    let now = w.now();
    let edge = w.calls.get(call).expect("live").edge;
    let e = &w.m.edges[edge as usize];
    if let Some(t) = e.throttle
        && !w.throttles[t.ix()].allows_hedge()
    {
        w.stats.edges[edge as usize].throttled += 1;
        return;
    }
    // A hedge is extra load like a retry: a Finagle budget pays for it too
    // (Envoy's budget counts retries in flight only, and does not).
    if let Some(b) = e.retry.and_then(|r| r.budget)
        && !counts_in_flight(w, b)
        && !w.budgets[b.ix()].try_retry(now, 0)
    {
        w.stats.edges[edge as usize].throttled += 1;
        return;
    }
    calls::send_attempt(w, call, AttemptKind::Hedge);
}

/// Bookkeeping when an attempt of `call` ended (`attempt` NONE for a
/// short-circuit or refusal): breaker, throttle, Envoy budget.
pub(crate) fn attempt_ended(w: &mut World, call: SlabKey, attempt: SlabKey, ok: bool, sent: SimTime, o: Outcome) {
    let now = w.now();
    let c = w.calls.get_mut(call).expect("live call");
    c.live_remove(attempt);
    let edge = c.edge;
    if edge == crate::sim::ROOT_EDGE {
        return;
    }
    let was_retry = w.attempts.get(attempt).is_some_and(|a| a.retry);
    let e = &w.m.edges[edge as usize];
    if o != Outcome::ShortCircuited
        && let Some(b) = e.breaker
    {
        w.breakers[b.ix()].on_result(now, ok, now.since(sent));
    }
    if let Some(t) = e.throttle {
        let retryable = e.retry.is_some_and(|r| failure_kind(o).is_some_and(|k| r.on.contains(k)));
        if ok {
            let cost = w.calls.get_mut(call).expect("live").retry_cost.take();
            w.throttles[t.ix()].on_success(cost);
        } else if retryable || e.hedge.is_some() {
            w.throttles[t.ix()].on_failure();
        }
    }
    if was_retry
        && let Some(b) = e.retry.and_then(|r| r.budget)
        && counts_in_flight(w, b)
    {
        w.budgets[b.ix()].on_retry_done();
        let c = w.calls.get_mut(call).expect("live");
        c.envoy_retries = c.envoy_retries.saturating_sub(1);
    }
}

/// An attempt of `call` failed with `o`. Returns true if the call goes on
/// (another attempt awaited, a hedge sent, or a retry scheduled).
pub(crate) fn after_failure(w: &mut World, call: SlabKey, o: Outcome) -> bool {
    let now = w.now();
    let c = w.calls.get(call).expect("live call");
    let edge = c.edge;
    if edge == crate::sim::ROOT_EDGE {
        return false;
    }
    let e = &w.m.edges[edge as usize];
    if c.live_len > 0 {
        // Hedges still out: a failure sends the next hedge at once.
        if let Some(h) = e.hedge
            && c.attempts_made < h.max
        {
            send_hedge(w, call);
        }
        return true;
    }
    let Some(policy) = e.retry else { return false };
    let Some(kind) = failure_kind(o) else { return false };
    if !policy.on.contains(kind) || c.attempts_made >= policy.attempts {
        return false;
    }
    // The failed attempt's time was spent on the critical path.
    let (sent, node, counted, deadline, total) = (c.last_sent, c.node, c.counted, c.deadline, c.total_deadline);
    let mut backoff = c.backoff.unwrap_or_else(|| resilience::BackoffState::new(&policy.backoff));
    let delay = backoff.next_delay(&policy.backoff, &mut w.backoff_rng[edge as usize]);
    if now + delay >= deadline.min(total) {
        return false; // no time left for another attempt
    }
    if let Some(b) = policy.budget {
        let active = w.replicas_outstanding(w.m.endpoints[e.callee.ix()].service.0);
        if !w.budgets[b.ix()].try_retry(now, active) {
            w.stats.edges[edge as usize].throttled += 1;
            return false;
        }
    }
    let mut cost = None;
    if let Some(t) = e.throttle {
        match w.throttles[t.ix()].try_retry(kind) {
            Some(x) => cost = Some(x),
            None => {
                w.stats.edges[edge as usize].throttled += 1;
                return false;
            }
        }
    }
    let charged_in_flight = policy.budget.is_some_and(|b| counts_in_flight(w, b));
    let wasted = w.chains.wasted(node, now.since(sent), counted);
    let c = w.calls.get_mut(call).expect("live");
    c.chain = w.chains.join(c.chain, wasted);
    c.backoff = Some(backoff);
    c.retry_pending = true;
    c.backoff_from = now;
    if cost.is_some() {
        c.retry_cost = cost;
    }
    if charged_in_flight {
        c.envoy_retries += 1;
    }
    w.after(delay, Event::RetryDue { call });
    true
}

pub(crate) fn on_retry_due(w: &mut World, call: SlabKey) {
    let now = w.now();
    let Some(c) = w.calls.get_mut(call) else { return };
    c.retry_pending = false;
    if calls::caller_gone(w, call) {
        return calls::drop_call(w, call);
    }
    let c = w.calls.get_mut(call).expect("live");
    let (node, counted, from) = (c.node, c.counted, c.backoff_from);
    let b = w.chains.new_buffer(counted, node);
    w.chains.add(b, node, chain::Part::Backoff, now.since(from));
    let c = w.calls.get_mut(call).expect("live");
    c.chain = w.chains.join(c.chain, b);
    calls::send_attempt(w, call, AttemptKind::Retry);
}

/// A call that charged an Envoy budget for retries still in flight ended.
pub(crate) fn call_ended(w: &mut World, call: &Call) {
    if call.envoy_retries > 0
        && let Some(b) = w.m.edges[call.edge as usize].retry.and_then(|r| r.budget)
    {
        for _ in 0..call.envoy_retries {
            w.budgets[b.ix()].on_retry_done();
        }
    }
}
