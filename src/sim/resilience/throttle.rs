//! Client-side retry throttles.
//!
//! [`GrpcThrottle`] is gRPC A6 `retryThrottling` as C-core implements it, in
//! integer milli-tokens: the bucket starts full at `max_tokens·1000`; a
//! failed attempt subtracts 1000, a successful one adds
//! `token_ratio_milli`, both clamped to `[0, max]`; retries and hedges are
//! allowed while `milli_tokens > max/2` (integer division), and after a
//! failure the decision uses the value *after* its decrement. A throttled
//! retry is not delayed: the call fails at once. Retries survive in steady
//! state only while the per-attempt failure probability `f < r/(1+r)`
//! ([`grpc_break_even`]).
//!
//! [`AwsRetryQuota`] is the AWS SDK "standard" retry quota: a bucket of
//! `capacity` tokens (500); a retry must take its cost (5, or 10 after a
//! timeout; the 2026 variant 14, 5 after a throttling error) or the error is
//! returned; a success without retries adds 1, a success after retries
//! refunds what its last retry took.
//!
//! [`RetryThrottle`] puts both behind one interface. Which failures count
//! (A6: statuses the policy retries) is the caller's choice.

use crate::model::{AwsQuota, FailureKind, Throttle};

/// gRPC retry throttling, per server name.
#[derive(Clone, Debug)]
pub struct GrpcThrottle {
    max_milli: u64,
    ratio_milli: u64,
    milli: u64,
}

/// The failure probability per attempt below which retries survive the
/// throttle in steady state: the token drift `(1−f)·r − f` is positive
/// iff `f < r/(1+r)` (≈ 9.1% for r = 0.1).
pub fn grpc_break_even(token_ratio: f64) -> f64 {
    token_ratio / (1.0 + token_ratio)
}

impl GrpcThrottle {
    pub fn new(max_tokens: u32, token_ratio_milli: u32) -> Self {
        let max_milli = u64::from(max_tokens) * 1000;
        GrpcThrottle { max_milli, ratio_milli: u64::from(token_ratio_milli), milli: max_milli }
    }

    /// An attempt failed with a status that counts; returns whether a retry
    /// may follow (decided after the decrement).
    pub fn on_failure(&mut self) -> bool {
        self.milli = self.milli.saturating_sub(1000);
        self.allows()
    }

    /// An attempt succeeded.
    pub fn on_success(&mut self) {
        self.milli = (self.milli + self.ratio_milli).min(self.max_milli);
    }

    /// Retries and hedges are allowed now.
    pub fn allows(&self) -> bool {
        self.milli > self.max_milli / 2
    }

    pub fn milli_tokens(&self) -> u64 {
        self.milli
    }
}

/// The AWS SDK retry quota, per client.
#[derive(Clone, Debug)]
pub struct AwsRetryQuota {
    cfg: AwsQuota,
    tokens: u32,
}

impl AwsRetryQuota {
    pub fn new(cfg: AwsQuota) -> Self {
        AwsRetryQuota { cfg, tokens: cfg.capacity }
    }

    /// What a retry after this failure costs.
    pub fn cost(&self, kind: FailureKind) -> u32 {
        match kind {
            FailureKind::Timeout => self.cfg.timeout_cost,
            FailureKind::Rejected => self.cfg.rejected_cost,
            FailureKind::Error | FailureKind::ShortCircuited => self.cfg.error_cost,
        }
    }

    /// Takes the cost of a retry after `kind`; `None` if there are not
    /// enough tokens (the error is returned without retrying).
    pub fn try_acquire(&mut self, kind: FailureKind) -> Option<u32> {
        let cost = self.cost(kind);
        if self.tokens < cost {
            return None;
        }
        self.tokens -= cost;
        Some(cost)
    }

    /// The call succeeded; `last_retry_cost` is what its last retry took
    /// (`None` if it needed none).
    pub fn on_success(&mut self, last_retry_cost: Option<u32>) {
        let add = last_retry_cost.unwrap_or(self.cfg.success_reward);
        self.tokens = self.tokens.saturating_add(add).min(self.cfg.capacity);
    }

    pub fn tokens(&self) -> u32 {
        self.tokens
    }
}

/// Either throttle, built from a [`Throttle`]. Protocol per attempt:
/// on failure call [`Self::on_failure`], then, if the policy wants a retry,
/// [`Self::try_retry`]; on success call [`Self::on_success`] with what the
/// call's last retry cost.
#[derive(Clone, Debug)]
pub enum RetryThrottle {
    Grpc(GrpcThrottle),
    Aws(AwsRetryQuota),
}

impl RetryThrottle {
    pub fn new(cfg: &Throttle) -> Self {
        match *cfg {
            Throttle::Grpc { max_tokens, token_ratio_milli } => {
                RetryThrottle::Grpc(GrpcThrottle::new(max_tokens, token_ratio_milli))
            }
            Throttle::Aws(q) => RetryThrottle::Aws(AwsRetryQuota::new(q)),
        }
    }

    /// An attempt failed (gRPC takes a token; AWS waits for the retry).
    pub fn on_failure(&mut self) {
        if let RetryThrottle::Grpc(t) = self {
            t.on_failure();
        }
    }

    /// May a retry after a `kind` failure go out? `Some(cost)` if so (AWS
    /// has taken `cost` tokens; gRPC costs 0 here).
    pub fn try_retry(&mut self, kind: FailureKind) -> Option<u32> {
        match self {
            RetryThrottle::Grpc(t) => t.allows().then_some(0),
            RetryThrottle::Aws(q) => q.try_acquire(kind),
        }
    }

    /// May a hedge go out? (gRPC: the same threshold; AWS has no hedging
    /// and never stops one.)
    pub fn allows_hedge(&self) -> bool {
        match self {
            RetryThrottle::Grpc(t) => t.allows(),
            RetryThrottle::Aws(_) => true,
        }
    }

    /// An attempt succeeded (gRPC adds its ratio; AWS refunds or rewards).
    pub fn on_success(&mut self, last_retry_cost: Option<u32>) {
        match self {
            RetryThrottle::Grpc(t) => t.on_success(),
            RetryThrottle::Aws(q) => q.on_success(last_retry_cost),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStream;

    #[test]
    fn grpc_arithmetic_in_milli_tokens() {
        let mut t = GrpcThrottle::new(10, 100);
        assert_eq!(t.milli_tokens(), 10_000);
        // 10 000 → 9000 … 6000 allowed; 5000 is not > 5000.
        let decisions: Vec<bool> = (0..6).map(|_| t.on_failure()).collect();
        assert_eq!(decisions, [true, true, true, true, false, false]);
        assert_eq!(t.milli_tokens(), 4000);
        for _ in 0..10 {
            t.on_success();
        }
        assert_eq!(t.milli_tokens(), 5000);
        assert!(!t.allows());
        t.on_success();
        assert!(t.allows());
        for _ in 0..100 {
            t.on_success();
        }
        assert_eq!(t.milli_tokens(), 10_000, "clamped at max");
        for _ in 0..20 {
            t.on_failure();
        }
        assert_eq!(t.milli_tokens(), 0, "clamped at 0");
        // An odd max: 3 tokens → threshold 1500.
        let mut odd = GrpcThrottle::new(3, 1);
        assert!(odd.on_failure());
        assert!(!odd.on_failure(), "1000 is not > 1500");
    }

    /// Calls with up to `attempts` attempts, each failing with probability
    /// `f`, against the throttle alone. Returns (failures retried ÷ failures
    /// that could have been retried, attempts per call).
    fn steady_state(f: f64, calls: u32, seed: u64) -> (f64, f64) {
        let mut t = GrpcThrottle::new(10, 100);
        let mut r = RngStream::derive(seed, "throttle", "steady");
        let (mut eligible, mut retried, mut attempts) = (0u64, 0u64, 0u64);
        for _ in 0..calls {
            for a in 1..=3 {
                attempts += 1;
                if !r.chance(f) {
                    t.on_success();
                    break;
                }
                let allowed = t.on_failure();
                if a == 3 {
                    break;
                }
                eligible += 1;
                if !allowed {
                    break;
                }
                retried += 1;
            }
        }
        (retried as f64 / eligible.max(1) as f64, attempts as f64 / f64::from(calls))
    }

    /// resilience.md's figures (maxTokens 10, ratio 0.1, 3 attempts). The
    /// bucket is a reflected random walk whose excursions are long, so the
    /// fraction varies between seeds much more than a binomial would:
    /// over 20 seeds of 200 000 calls its sd was 0.0023 (f = 5%), 0.014
    /// (10%) and 0.0032 (12%); the bounds are about 5 of those sd.
    #[test]
    fn grpc_steady_state_matches_the_published_figures() {
        let calls = 200_000;
        let (p5, _) = steady_state(0.05, calls, 1);
        assert!((0.978..=1.0).contains(&p5), "f=5%: {p5}");
        let (p10, _) = steady_state(0.10, calls, 2);
        assert!((0.13..=0.27).contains(&p10), "f=10%: {p10}");
        let (p12, _) = steady_state(0.12, calls, 3);
        assert!((0.010..=0.042).contains(&p12), "f=12%: {p12}");
        for f in [0.2, 0.3, 0.5] {
            // Only the first few failures (while the bucket drains from
            // full) are retried.
            let (p, per_call) = steady_state(f, calls, 4);
            assert!(p < 0.001, "f={f}: {p}");
            assert!(per_call < 1.001, "f={f}: {per_call} attempts per call (1.24 unthrottled at 20%)");
        }
    }

    #[test]
    fn grpc_break_even_separates_retrying_from_not() {
        let thr = grpc_break_even(0.1);
        assert!((thr - 1.0 / 11.0).abs() < 1e-12);
        // Below the break-even most failures are retried, above it few.
        let (below, _) = steady_state(0.8 * thr, 200_000, 5);
        let (above, _) = steady_state(1.3 * thr, 200_000, 6);
        assert!(below > 0.6, "{below}");
        assert!(above < 0.1, "{above}");
    }

    #[test]
    fn aws_quota_drains_by_cost_and_refills() {
        let mut q = AwsRetryQuota::new(AwsQuota::STANDARD);
        assert_eq!(q.tokens(), 500);
        // 100 retries after errors at 5 each, then none.
        assert_eq!((0..120).filter_map(|_| q.try_acquire(FailureKind::Error)).count(), 100);
        assert_eq!(q.tokens(), 0);
        // A success without retries adds 1; a success after a retry refunds it.
        q.on_success(None);
        assert_eq!(q.tokens(), 1);
        q.on_success(Some(10));
        assert_eq!(q.tokens(), 11);
        assert_eq!(q.try_acquire(FailureKind::Timeout), Some(10));
        assert_eq!(q.try_acquire(FailureKind::Timeout), None, "1 token left, a timeout retry costs 10");
        assert_eq!(q.try_acquire(FailureKind::Rejected), None);
        // Timeouts cost 10: 50 of them empty a full bucket.
        let mut q = AwsRetryQuota::new(AwsQuota::STANDARD);
        assert_eq!((0..60).filter_map(|_| q.try_acquire(FailureKind::Timeout)).count(), 50);
        // Refills are capped at capacity.
        let mut q = AwsRetryQuota::new(AwsQuota::STANDARD);
        q.on_success(None);
        assert_eq!(q.tokens(), 500);
    }

    #[test]
    fn aws_2026_costs() {
        let q = AwsRetryQuota::new(AwsQuota::NEW_2026);
        assert_eq!([FailureKind::Error, FailureKind::Timeout, FailureKind::Rejected].map(|k| q.cost(k)), [14, 14, 5]);
        let mut q = q;
        assert_eq!((0..100).filter_map(|_| q.try_acquire(FailureKind::Error)).count(), 35, "floor(500/14)");
    }

    #[test]
    fn one_interface_for_both() {
        let mut g = RetryThrottle::new(&Throttle::Grpc { max_tokens: 2, token_ratio_milli: 500 });
        g.on_failure();
        assert_eq!(g.try_retry(FailureKind::Error), None, "1000 is not > 1000");
        assert!(!g.allows_hedge());
        g.on_success(None);
        assert_eq!(g.try_retry(FailureKind::Error), Some(0));
        let mut a = RetryThrottle::new(&Throttle::Aws(AwsQuota::STANDARD));
        a.on_failure();
        assert_eq!(a.try_retry(FailureKind::Timeout), Some(10));
        a.on_success(Some(10));
        let RetryThrottle::Aws(q) = &a else { panic!() };
        assert_eq!(q.tokens(), 500);
        assert!(a.allows_hedge());
    }
}
