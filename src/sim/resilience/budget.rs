//! Retry budgets: how many retries a client may add to its requests.
//!
//! [`FinagleBudget`] reproduces Finagle's `RetryBudget` integer arithmetic:
//! every request deposits 1000 tokens (0 if the ratio is 0), every retry
//! withdraws `floor(1000 / ratio)` (1 if the ratio is 0), and a fixed
//! reserve of `min_per_s × ttl_seconds × withdraw` is always added to the
//! balance. Deposits and withdrawals go into a windowed adder (twitter-util's
//! `WindowedAdder` as used by `TokenBucket.newLeakyBucket`): `ttl` in
//! milliseconds split into 10 slices, the current slice plus the 9 before
//! it; slices start when the first operation after the previous slice's end
//! happens, as there, so the window is approximate at slice boundaries. A
//! retry is allowed iff `window sum + reserve ≥ withdraw`. Over any trailing
//! `ttl`: retries ≤ ratio × requests + min_per_s × ttl. A budget with ratio 0
//! and min 0 is Finagle's empty budget: no retries ever.
//!
//! [`EnvoyBudget`] is Envoy's cluster `retry_budget`: retries in flight ≤
//! max(min_concurrent, floor(ratio × active requests)), where active
//! requests (and pending ones) include the retries in flight.
//!
//! Not here: which requests deposit (the simulation calls
//! [`RetryBudget::on_request`] once per call, not per attempt) and counting
//! active requests (the simulation passes the count).

use crate::engine::{SimDuration, SimTime};
use crate::model::Budget;

/// Finagle's token scale: a request is worth 1000 tokens.
const SCALE: i64 = 1000;
/// Slices of the windowed adder.
const SLICES: usize = 10;

/// twitter-util's `WindowedAdder`: a sum over roughly the last `range` ms.
#[derive(Clone, Debug)]
struct WindowedAdder {
    window_ms: u64,
    /// The current slice.
    head: i64,
    /// The `SLICES − 1` slices before it.
    buf: [i64; SLICES - 1],
    i: usize,
    /// When the current slice started.
    old_ms: u64,
}

impl WindowedAdder {
    fn new(range_ms: u64, now_ms: u64) -> Self {
        WindowedAdder {
            window_ms: (range_ms / SLICES as u64).max(1),
            head: 0,
            buf: [0; SLICES - 1],
            i: 0,
            old_ms: now_ms,
        }
    }

    fn roll(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.old_ms);
        if elapsed < self.window_ms {
            return;
        }
        let n = SLICES - 1;
        self.buf[self.i] = std::mem::take(&mut self.head);
        self.i = (self.i + 1) % n;
        let skip = ((elapsed / self.window_ms - 1) as usize).min(n);
        if skip > 0 {
            let r = skip.min(n - self.i);
            self.buf[self.i..self.i + r].fill(0);
            self.buf[..skip - r].fill(0);
            self.i = (self.i + skip) % n;
        }
        self.old_ms = now_ms;
    }

    fn add(&mut self, now_ms: u64, x: i64) {
        self.roll(now_ms);
        self.head = self.head.saturating_add(x);
    }

    fn sum(&mut self, now_ms: u64) -> i64 {
        self.roll(now_ms);
        self.buf.iter().fold(self.head, |a, &b| a.saturating_add(b))
    }
}

fn ms(t: SimTime) -> u64 {
    t.0 / 1_000_000
}

/// Finagle's `RetryBudget` (a leaky token bucket).
#[derive(Clone, Debug)]
pub struct FinagleBudget {
    deposit: i64,
    withdraw: i64,
    reserve: i64,
    /// `None`: the empty budget.
    window: Option<WindowedAdder>,
}

impl FinagleBudget {
    /// `ratio` is Finagle's `percentCanRetry` as a fraction (0.2 = 20%).
    pub fn new(ratio: f64, min_per_s: u32, ttl: SimDuration, now: SimTime) -> Self {
        let empty = ratio <= 0.0 && min_per_s == 0;
        let (deposit, withdraw) = if ratio <= 0.0 { (0, 1) } else { (SCALE, (SCALE as f64 / ratio) as i64) };
        let ttl_s = (ttl.0 / 1_000_000_000) as i64;
        let reserve = i64::from(min_per_s).saturating_mul(ttl_s).saturating_mul(withdraw);
        let window = (!empty).then(|| WindowedAdder::new(ttl.0 / 1_000_000, ms(now)));
        FinagleBudget { deposit, withdraw, reserve, window }
    }

    /// A request was made.
    pub fn deposit(&mut self, now: SimTime) {
        let d = self.deposit;
        if let Some(w) = &mut self.window {
            w.add(ms(now), d);
        }
    }

    /// Takes the tokens of one retry if the balance allows it.
    pub fn try_withdraw(&mut self, now: SimTime) -> bool {
        let (withdraw, reserve) = (self.withdraw, self.reserve);
        let Some(w) = &mut self.window else { return false };
        let ok = w.sum(ms(now)).saturating_add(reserve) >= withdraw;
        if ok {
            w.add(ms(now), -withdraw);
        }
        ok
    }

    /// Retries currently affordable (`balance` in Finagle).
    pub fn balance(&mut self, now: SimTime) -> i64 {
        let reserve = self.reserve;
        match &mut self.window {
            Some(w) => w.sum(ms(now)).saturating_add(reserve) / self.withdraw,
            None => 0,
        }
    }

    /// Tokens per request and per retry, and the reserve: (1000, 5000,
    /// 500 000) for the defaults.
    pub fn amounts(&self) -> (i64, i64, i64) {
        (self.deposit, self.withdraw, self.reserve)
    }
}

/// Envoy's retry budget: a cap on concurrent retries.
#[derive(Clone, Debug)]
pub struct EnvoyBudget {
    ratio: f64,
    min_concurrent: u32,
    active_retries: u64,
}

/// `max(min_concurrent, floor(ratio × active_requests))`, as Envoy's
/// `RetryBudgetImpl::max` computes it.
pub fn envoy_max_retries(ratio: f64, min_concurrent: u32, active_requests: u64) -> u64 {
    ((ratio * active_requests as f64) as u64).max(u64::from(min_concurrent))
}

impl EnvoyBudget {
    pub fn new(ratio: f64, min_concurrent: u32) -> Self {
        EnvoyBudget { ratio, min_concurrent, active_retries: 0 }
    }

    /// The cap for this many active (plus pending) requests, retries included.
    pub fn max_retries(&self, active_requests: u64) -> u64 {
        envoy_max_retries(self.ratio, self.min_concurrent, active_requests)
    }

    /// Starts a retry if fewer than the cap are in flight.
    pub fn try_start(&mut self, active_requests: u64) -> bool {
        let ok = self.active_retries < self.max_retries(active_requests);
        if ok {
            self.active_retries += 1;
        }
        ok
    }

    /// A retry started by [`Self::try_start`] finished (in any way).
    pub fn finish(&mut self) {
        debug_assert!(self.active_retries > 0, "a retry finished that never started");
        self.active_retries = self.active_retries.saturating_sub(1);
    }

    pub fn active_retries(&self) -> u64 {
        self.active_retries
    }
}

/// Either budget behind one interface, built from a [`Budget`].
#[derive(Clone, Debug)]
pub enum RetryBudget {
    Finagle(FinagleBudget),
    Envoy(EnvoyBudget),
}

impl RetryBudget {
    pub fn new(cfg: &Budget, now: SimTime) -> Self {
        match *cfg {
            Budget::Finagle { ratio, min_per_s, ttl } => {
                RetryBudget::Finagle(FinagleBudget::new(ratio, min_per_s, ttl, now))
            }
            Budget::Envoy { ratio, min_concurrent } => RetryBudget::Envoy(EnvoyBudget::new(ratio, min_concurrent)),
        }
    }

    /// A call was made (Finagle deposits; Envoy counts nothing here).
    pub fn on_request(&mut self, now: SimTime) {
        if let RetryBudget::Finagle(b) = self {
            b.deposit(now);
        }
    }

    /// May a retry go out now? `active_requests` (Envoy only) counts the
    /// requests and retries in flight to the callee. On `true` the retry is
    /// charged; with Envoy the caller must call [`Self::on_retry_done`] when
    /// it ends.
    pub fn try_retry(&mut self, now: SimTime, active_requests: u64) -> bool {
        match self {
            RetryBudget::Finagle(b) => b.try_withdraw(now),
            RetryBudget::Envoy(b) => b.try_start(active_requests),
        }
    }

    /// A retry allowed by [`Self::try_retry`] ended.
    pub fn on_retry_done(&mut self) {
        if let RetryBudget::Envoy(b) = self {
            b.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(m: u64) -> SimTime {
        SimTime(m * 1_000_000)
    }

    #[test]
    fn finagle_amounts_match_the_scala_arithmetic() {
        let b = FinagleBudget::new(0.2, 10, SimDuration::from_secs(10), SimTime::ZERO);
        assert_eq!(b.amounts(), (1000, 5000, 500_000));
        let b = FinagleBudget::new(0.0, 10, SimDuration::from_secs(10), SimTime::ZERO);
        assert_eq!(b.amounts(), (0, 1, 100));
        let b = FinagleBudget::new(0.3, 0, SimDuration::from_millis(2500), SimTime::ZERO);
        assert_eq!(b.amounts(), (1000, 3333, 0), "floor(1000/0.3); ttl in whole seconds");
    }

    #[test]
    fn finagle_reserve_alone_allows_min_per_s_times_ttl() {
        // No requests: exactly 10/s × 10 s = 100 retries, then none until
        // the withdrawals expire a ttl later.
        let mut b = FinagleBudget::new(0.2, 10, SimDuration::from_secs(10), SimTime::ZERO);
        assert_eq!(b.balance(SimTime::ZERO), 100);
        let granted = (0..150).filter(|_| b.try_withdraw(at_ms(1))).count();
        assert_eq!(granted, 100);
        assert!(!b.try_withdraw(at_ms(9_000)), "still inside the window");
        assert!(b.try_withdraw(at_ms(11_500)), "expired after the ttl");
    }

    #[test]
    fn finagle_requests_earn_a_fifth_of_a_retry_each() {
        let mut b = FinagleBudget::new(0.2, 0, SimDuration::from_secs(10), SimTime::ZERO);
        assert!(!b.try_withdraw(SimTime::ZERO), "no reserve, no deposits");
        for _ in 0..10 {
            b.deposit(at_ms(5));
        }
        assert_eq!(b.balance(at_ms(5)), 2);
        assert!(b.try_withdraw(at_ms(6)) && b.try_withdraw(at_ms(6)) && !b.try_withdraw(at_ms(6)));
    }

    #[test]
    fn the_empty_budget_never_allows() {
        let mut b = RetryBudget::new(
            &Budget::Finagle { ratio: 0.0, min_per_s: 0, ttl: SimDuration::from_secs(10) },
            SimTime::ZERO,
        );
        b.on_request(SimTime::ZERO);
        assert!(!b.try_retry(SimTime::ZERO, 0));
    }

    /// 100 requests/s for 200 s, each wanting a retry: every trailing 9 s
    /// window holds at most 0.2 × (requests in the 11 s around it) + 100
    /// retries (the live slices always cover the last 9 s and never more
    /// than the last 11 s), and the long run is close to
    /// 0.2·requests + 10/s·T.
    #[test]
    fn finagle_long_run_retries_stay_within_the_budget() {
        let mut b = RetryBudget::new(&Budget::FINAGLE, SimTime::ZERO);
        let (mut requests, mut retries) = (Vec::new(), Vec::new());
        for k in 0..20_000u64 {
            let t = at_ms(k * 10);
            b.on_request(t);
            requests.push(t.0 / 1_000_000);
            if b.try_retry(t, 0) {
                retries.push(t.0 / 1_000_000);
            }
        }
        let count = |v: &[u64], from: u64, to: u64| v.iter().filter(|&&x| x >= from && x < to).count() as f64;
        for end in (9_000..=200_000).step_by(500) {
            let r = count(&retries, end - 9_000, end);
            let d = count(&requests, end.saturating_sub(11_000), end);
            assert!(r <= 0.2 * d + 100.0, "window ending {end} ms: {r} retries, {d} requests");
        }
        let bound = 0.2 * 20_000.0 + 10.0 * 200.0;
        let total = retries.len() as f64;
        assert!(total <= bound, "{total} > {bound}");
        // The budget is used, not only respected: within one window's
        // worth (300 retries) of the bound.
        assert!(total >= bound - 300.0, "{total} far below {bound}");
    }

    #[test]
    fn envoy_cap_arithmetic() {
        assert_eq!(envoy_max_retries(0.2, 3, 100), 20);
        assert_eq!(envoy_max_retries(0.2, 3, 19), 3, "floor(3.8) = 3");
        assert_eq!(envoy_max_retries(0.2, 3, 14), 3, "floor(2.8) = 2 < min");
        assert_eq!(envoy_max_retries(0.2, 3, 20), 4);
        assert_eq!(envoy_max_retries(0.2, 3, 0), 3);
        assert_eq!(envoy_max_retries(0.29, 0, 100), 28, "29/100·100 is 28.999… in doubles, as in Envoy");
        assert_eq!(envoy_max_retries(0.0, 0, 1000), 0);
    }

    #[test]
    fn envoy_budget_counts_retries_in_flight() {
        let mut b = RetryBudget::new(&Budget::ENVOY, SimTime::ZERO);
        // 10 active requests: cap max(3, 2) = 3.
        assert!((0..3).all(|_| b.try_retry(SimTime::ZERO, 10)));
        assert!(!b.try_retry(SimTime::ZERO, 10));
        // More traffic raises the cap: 25 active → 5.
        assert!(b.try_retry(SimTime::ZERO, 25) && b.try_retry(SimTime::ZERO, 25));
        assert!(!b.try_retry(SimTime::ZERO, 25));
        b.on_retry_done();
        assert!(b.try_retry(SimTime::ZERO, 25));
        let RetryBudget::Envoy(e) = &b else { panic!() };
        assert_eq!(e.active_retries(), 5);
    }

    #[test]
    fn the_window_skips_idle_slices() {
        let mut w = WindowedAdder::new(10_000, 0);
        w.add(0, 5);
        w.add(1_500, 7);
        assert_eq!(w.sum(1_500), 12);
        assert_eq!(w.sum(8_000), 12);
        // Slices start lazily, so the first one (holding 5) is still live
        // at 10.6 s and goes at the next roll, a slice later.
        assert_eq!(w.sum(10_600), 12);
        assert_eq!(w.sum(11_600), 7);
        w.add(12_000, 4);
        assert_eq!(w.sum(12_000), 11);
        assert_eq!(w.sum(40_000), 0, "a long idle gap clears everything");
        w.add(40_000, 3);
        assert_eq!(w.sum(40_999), 3);
    }
}
