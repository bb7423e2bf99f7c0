//! Retries, hedges, circuit breakers, retry budgets and throttles: per
//! call, whether another attempt goes out and when. A leaf: it keeps the
//! shared resilience state ([`Resilience`]) and answers with a
//! [`Decision`]; sending is `flow`'s job. The arithmetic lives in
//! [`super::resilience`].
//!
//! Rules (after gRPC A6, Envoy and resilience4j; see `docs/format.md`):
//! - A failed attempt is retried if the call's `retry.on` names its kind,
//!   fewer than `retry.attempts` attempts were made (hedges count), no other
//!   attempt of the call is still awaited, the budget and the throttle allow
//!   it, and the backoff would end before `timeout_total` and before the
//!   caller's own deadline (when the call propagates deadlines). The retry
//!   goes out after the backoff, to a replica the balancer picks then.
//! - Hedging: while no answer came, one more attempt every `hedge.after`, up
//!   to `hedge.max` attempts in all; a failure sends the next hedge at once;
//!   the first success wins and the others are abandoned (cancelled with
//!   `cancel: true`). A throttle that forbids retries also stops hedges.
//! - A circuit breaker is consulted before every attempt; a refusal fails
//!   the attempt at once as `short_circuited` (retried only if `on` says so).
//!   Its results are every permitted attempt's (ok, duration).
//! - One breaker, budget and throttle state per configured key (shared by
//!   every replica of the caller), as if the clients shared a sidecar.
//! - A workload's edge client (`client:`) retries by the first rule alone:
//!   its users share no budget, throttle or breaker, and never hedge.

use super::ids::{EdgeId, WorkloadId};
use super::resilience::{self, BackoffState};
use super::state::{Call, Outcome};
use crate::engine::{RngStream, SimDuration, SimTime};
use crate::model::{Budget, BudgetId, FailureKind, Model, RetryPolicy};

/// The shared resilience state of a run, and each call site's backoff stream.
pub(crate) struct Resilience {
    pub breakers: Vec<resilience::Breaker>,
    pub budgets: Vec<resilience::RetryBudget>,
    pub throttles: Vec<resilience::RetryThrottle>,
    /// Per call site: backoff jitter draws.
    backoff_rng: Vec<RngStream>,
    /// Per workload: its edge client's backoff jitter draws.
    client_backoff_rng: Vec<RngStream>,
}

/// What happens after an attempt of a call failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Decision {
    /// The call fails with this attempt's outcome.
    GiveUp,
    /// A budget or throttle refused the retry: the call fails (counted as throttled).
    Throttled,
    /// Other attempts (hedges) are still awaited; `hedge` asks for the next
    /// hedge to go out now.
    Wait { hedge: bool },
    /// Retry after `delay`.
    Retry { delay: SimDuration, backoff: BackoffState, cost: Option<u32>, charged: bool },
}

impl Resilience {
    /// `site_names[e]` names call site `e` stably (its edge name and ordinal).
    pub fn new(m: &Model, seed: u64, site_names: &[String]) -> Self {
        Resilience {
            breakers: m.breakers.iter().map(|b| resilience::Breaker::new(&b.cfg)).collect(),
            budgets: m.budgets.iter().map(|b| resilience::RetryBudget::new(&b.cfg, SimTime::ZERO)).collect(),
            throttles: m.throttles.iter().map(|t| resilience::RetryThrottle::new(&t.cfg)).collect(),
            backoff_rng: site_names.iter().map(|n| RngStream::derive(seed, "backoff", n)).collect(),
            client_backoff_rng: m
                .workloads
                .iter()
                .map(|w| RngStream::derive(seed, "client-backoff", &w.name))
                .collect(),
        }
    }

    /// Envoy's budget caps retries in flight (charged, then released when they
    /// end); Finagle's is a token bucket (withdrawn once, nothing to release).
    fn counts_in_flight(m: &Model, b: BudgetId) -> bool {
        matches!(m.budgets[b.ix()].cfg, Budget::Envoy { .. })
    }

    /// A call was made on `edge`: Finagle budgets take their deposit.
    pub fn on_call_started(&mut self, m: &Model, edge: EdgeId, now: SimTime) {
        if let Some(b) = m.edges[edge.ix()].retry.and_then(|r| r.budget) {
            self.budgets[b.ix()].on_request(now);
        }
    }

    pub fn breaker_permits(&mut self, m: &Model, edge: EdgeId, now: SimTime) -> bool {
        match m.edges[edge.ix()].breaker {
            Some(b) => self.breakers[b.ix()].try_acquire(now),
            None => true,
        }
    }

    /// May a hedge go out now? A throttle that forbids retries forbids
    /// hedges; a Finagle budget pays for them like retries (Envoy's counts
    /// retries in flight only).
    pub fn hedge_permitted(&mut self, m: &Model, edge: EdgeId, now: SimTime) -> bool {
        let e = &m.edges[edge.ix()];
        if let Some(t) = e.throttle
            && !self.throttles[t.ix()].allows_hedge()
        {
            return false;
        }
        if let Some(b) = e.retry.and_then(|r| r.budget)
            && !Self::counts_in_flight(m, b)
            && !self.budgets[b.ix()].try_retry(now, 0)
        {
            return false;
        }
        true
    }

    /// Bookkeeping when an attempt of `call` on `edge` ended (`was_retry`:
    /// it was sent as a retry; `sent`: when): breaker, throttle, Envoy budget.
    #[allow(clippy::too_many_arguments)]
    pub fn attempt_ended(
        &mut self,
        m: &Model,
        edge: EdgeId,
        call: &mut Call,
        was_retry: bool,
        o: Outcome,
        sent: SimTime,
        now: SimTime,
    ) {
        let e = &m.edges[edge.ix()];
        let ok = o == Outcome::Ok;
        if o != Outcome::ShortCircuited
            && let Some(b) = e.breaker
        {
            self.breakers[b.ix()].on_result(now, ok, now.since(sent));
        }
        if let Some(t) = e.throttle {
            let retryable = e.retry.is_some_and(|r| o.failure().is_some_and(|k| r.on.contains(k)));
            if ok {
                self.throttles[t.ix()].on_success(call.retry_cost.take());
            } else if retryable || e.hedge.is_some() {
                self.throttles[t.ix()].on_failure();
            }
        }
        if was_retry
            && let Some(b) = e.retry.and_then(|r| r.budget)
            && Self::counts_in_flight(m, b)
        {
            self.budgets[b.ix()].on_retry_done();
            call.envoy_retries = call.envoy_retries.saturating_sub(1);
        }
    }

    /// An attempt of `call` on `edge` failed with `o`: what next?
    /// `active` counts the requests outstanding at the callee (Envoy budgets).
    pub fn after_failure(
        &mut self,
        m: &Model,
        edge: EdgeId,
        call: &Call,
        o: Outcome,
        now: SimTime,
        active: impl FnOnce() -> u64,
    ) -> Decision {
        let e = &m.edges[edge.ix()];
        if call.live_count() > 0 {
            // Hedges still out: a failure sends the next hedge at once.
            let hedge = e.hedge.is_some_and(|h| call.attempts_made < h.max);
            return Decision::Wait { hedge };
        }
        let Some(policy) = e.retry else { return Decision::GiveUp };
        let Some((kind, delay, backoff)) = next_retry(&policy, call, o, now, &mut self.backoff_rng[edge.ix()]) else {
            return Decision::GiveUp;
        };
        if let Some(b) = policy.budget
            && !self.budgets[b.ix()].try_retry(now, active())
        {
            return Decision::Throttled;
        }
        let mut cost = None;
        if let Some(t) = e.throttle {
            match self.throttles[t.ix()].try_retry(kind) {
                Some(x) => cost = Some(x),
                None => return Decision::Throttled,
            }
        }
        let charged = policy.budget.is_some_and(|b| Self::counts_in_flight(m, b));
        Decision::Retry { delay, backoff, cost, charged }
    }

    /// An attempt of workload `wl`'s request `call` failed with `o`: does
    /// the user try again, and when?
    pub fn after_client_failure(
        &mut self,
        m: &Model,
        wl: WorkloadId,
        call: &Call,
        o: Outcome,
        now: SimTime,
    ) -> Decision {
        let Some(policy) = m.workloads[wl.ix()].client.and_then(|c| c.retry) else {
            return Decision::GiveUp;
        };
        match next_retry(&policy, call, o, now, &mut self.client_backoff_rng[wl.ix()]) {
            Some((_, delay, backoff)) => Decision::Retry { delay, backoff, cost: None, charged: false },
            None => Decision::GiveUp,
        }
    }

    /// A call that charged an Envoy budget for retries still in flight ended.
    pub fn call_ended(&mut self, m: &Model, call: &Call) {
        if let Some(edge) = call.edge
            && call.envoy_retries > 0
            && let Some(b) = m.edges[edge.ix()].retry.and_then(|r| r.budget)
        {
            for _ in 0..call.envoy_retries {
                self.budgets[b.ix()].on_retry_done();
            }
        }
    }
}

/// What every retrying client decides alike: is the failure one `policy`
/// retries, are attempts left, and does the backoff end before the call's
/// deadlines? Then the kind, the backoff and the backoff's new state.
fn next_retry(
    policy: &RetryPolicy,
    call: &Call,
    o: Outcome,
    now: SimTime,
    rng: &mut RngStream,
) -> Option<(FailureKind, SimDuration, BackoffState)> {
    let kind = o.failure()?;
    if !policy.on.contains(kind) || call.attempts_made >= policy.attempts {
        return None;
    }
    let mut backoff = call.backoff.unwrap_or_else(|| BackoffState::new(&policy.backoff));
    let delay = backoff.next_delay(&policy.backoff, rng);
    if now + delay >= call.deadline.min(call.total_deadline) {
        return None; // no time left for another attempt
    }
    Some((kind, delay, backoff))
}
