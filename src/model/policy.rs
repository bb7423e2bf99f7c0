//! Client- and server-side resilience settings, as validated configuration:
//! retry policies (attempts, what is retried, backoff, budgets), retry
//! throttles, hedging, circuit breakers, deadlines and adaptive concurrency
//! limits. Semantics follow `shared/spec/resilience.md`; the state machines
//! that run them are in `crate::sim::resilience`.
//!
//! Only configuration lives here: no state, no randomness, no serde. Where
//! libraries disagree the choice is a parameter and the default is said
//! beside it.
//!
//! Sharing. A circuit breaker, a retry budget and a retry throttle keep state
//! across calls; the model names that state once in [`super::Model`]
//! (`breakers`, `budgets`, `throttles`) and edges refer to it by id:
//! - a breaker is keyed by the edge name, `caller_service->service.endpoint`
//!   (one resilience4j instance per downstream operation);
//! - a budget and a throttle are keyed by `caller_service->callee_service`
//!   (Finagle's budget is per client, Envoy's per cluster, gRPC's throttle
//!   per server name "shared across all methods", AWS's quota per client).
//!
//! Call sites with the same key share the state and must agree on the
//! configuration (the reader checks). Whether the simulation keeps one state
//! per key or one per caller replica (as in-process libraries do) is the
//! simulation's choice.

use crate::engine::SimDuration;

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// No answer within the per-attempt timeout.
    Timeout = 0,
    /// The callee answered with an error.
    Error = 1,
    /// The callee refused the attempt (full queue, admission limit): a 503.
    Rejected = 2,
    /// The caller's own circuit breaker refused to send it.
    ShortCircuited = 3,
}

impl FailureKind {
    pub const ALL: [FailureKind; 4] =
        [FailureKind::Timeout, FailureKind::Error, FailureKind::Rejected, FailureKind::ShortCircuited];
    /// The word used in topologies (`on: [timeout, error]`).
    pub fn word(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Error => "error",
            FailureKind::Rejected => "rejected",
            FailureKind::ShortCircuited => "short_circuited",
        }
    }
}

/// The set of [`FailureKind`]s a retry policy retries (a bitset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryOn(u8);

impl RetryOn {
    pub const NONE: RetryOn = RetryOn(0);
    /// `[timeout, error, rejected]`: everything except short-circuits (an
    /// open breaker of the caller would refuse the retry too).
    pub const DEFAULT: RetryOn = RetryOn(0b0111);
    pub const fn with(self, k: FailureKind) -> RetryOn {
        RetryOn(self.0 | (1 << k as u8))
    }
    pub const fn contains(self, k: FailureKind) -> bool {
        self.0 & (1 << k as u8) != 0
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How the sleep before a retry is drawn. `n` counts retries from 1 and
/// `expo(n) = min(cap, base · multiplier^(n−1))`, so the first retry's
/// ceiling is `base` (as in gRPC, Envoy and the AWS SDKs; the AWS
/// architecture blog's simulator starts at `2·base`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// `expo(n)` exactly.
    None,
    /// `U(0, expo(n))`.
    Full,
    /// `expo(n)/2 + U(0, expo(n)/2)`.
    Equal,
    /// `min(cap, U(base, 3·prev))`, `prev` starting at `base` (the
    /// multiplier is not used: the growth factor is 3).
    Decorrelated,
    /// gRPC A6 since 2024-08: `expo(n) · U(0.8, 1.2)` (may exceed the cap by 20%).
    Grpc,
    /// Envoy's current code: whole milliseconds `U{0 … interval−1}` with
    /// `interval` starting at `base` and doubling while below `cap/2`, then
    /// `cap` (the multiplier is not used).
    Envoy,
    /// Envoy's documented ranges (its old code): `min(U{0 … (2^n−1)·base − 1}, cap)`
    /// in whole milliseconds.
    EnvoyDocumented,
}

/// The backoff schedule of a retry policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    pub base: SimDuration,
    /// Growth per retry (> 0); see [`Jitter`] for schemes that ignore it.
    pub multiplier: f64,
    /// `None`: no cap.
    pub cap: Option<SimDuration>,
    pub jitter: Jitter,
}

impl Backoff {
    /// No backoff: retries go out at once (the default when a retry policy
    /// names none, as in the metastability experiments).
    pub const IMMEDIATE: Backoff =
        Backoff { base: SimDuration::ZERO, multiplier: 1.0, cap: None, jitter: Jitter::None };

    /// `backoff: grpc`. A6 has no defaults (the fields are required); these
    /// are the values of A6's own example: initialBackoff 0.1 s,
    /// backoffMultiplier 2, maxBackoff 1 s, with the current U(0.8, 1.2) jitter.
    pub const GRPC: Backoff = Backoff {
        base: SimDuration::from_millis(100),
        multiplier: 2.0,
        cap: Some(SimDuration::from_secs(1)),
        jitter: Jitter::Grpc,
    };

    /// `backoff: envoy`: the router's default base interval 25 ms and
    /// max interval 10 × base, with the current code's schedule.
    pub const ENVOY: Backoff = Backoff {
        base: SimDuration::from_millis(25),
        multiplier: 2.0,
        cap: Some(SimDuration::from_millis(250)),
        jitter: Jitter::Envoy,
    };
}

/// A retry budget: how many retries a client may add on top of its requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// Finagle's `RetryBudget`: over a trailing `ttl`, retries ≤
    /// `ratio` × requests + `min_per_s` × ttl. Defaults 20%, 10/s, 10 s;
    /// `ratio` in [0, 10], `ttl` 1–60 s.
    Finagle { ratio: f64, min_per_s: u32, ttl: SimDuration },
    /// Envoy's `retry_budget`: retries in flight ≤
    /// max(`min_concurrent`, floor(`ratio` × active requests)). Defaults 20%, 3.
    Envoy { ratio: f64, min_concurrent: u32 },
}

impl Budget {
    pub const FINAGLE: Budget = Budget::Finagle { ratio: 0.2, min_per_s: 10, ttl: SimDuration::from_secs(10) };
    pub const ENVOY: Budget = Budget::Envoy { ratio: 0.2, min_concurrent: 3 };
}

/// A retry policy of a call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (≥ 1; 1 means no retries).
    pub attempts: u32,
    pub on: RetryOn,
    pub backoff: Backoff,
    pub budget: Option<super::BudgetId>,
}

/// AWS SDK retry quota settings (a token bucket per client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AwsQuota {
    /// Tokens at start and at most.
    pub capacity: u32,
    /// Tokens a retry after an error costs.
    pub error_cost: u32,
    /// Tokens a retry after a timeout costs.
    pub timeout_cost: u32,
    /// Tokens a retry after a rejection (a throttling error) costs.
    pub rejected_cost: u32,
    /// Tokens added by a success that needed no retry (a success after
    /// retries refunds what its last retry cost instead).
    pub success_reward: u32,
}

impl AwsQuota {
    /// "Standard" mode before 2026: 500 tokens, 5 per retry, 10 after a
    /// timeout, +1 per success without retry.
    pub const STANDARD: AwsQuota =
        AwsQuota { capacity: 500, error_cost: 5, timeout_cost: 10, rejected_cost: 5, success_reward: 1 };
    /// The 2026 update: 14 per retry, 5 after a throttling error (here: a
    /// rejection), timeouts no longer special. The +1 reward is kept
    /// [unverified for the new behaviour].
    pub const NEW_2026: AwsQuota =
        AwsQuota { capacity: 500, error_cost: 14, timeout_cost: 14, rejected_cost: 5, success_reward: 1 };
}

/// A client-side retry throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// gRPC A6 `retryThrottling`, in milli-tokens as C-core keeps them.
    Grpc {
        /// `maxTokens`, 1–1000.
        max_tokens: u32,
        /// `tokenRatio` × 1000, truncated to 3 decimals as A6 says (> 0).
        token_ratio_milli: u32,
    },
    Aws(AwsQuota),
}

/// Hedging (gRPC A6 `hedgingPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hedge {
    /// `hedgingDelay` between hedges; zero sends them all at once. Default 0.
    pub after: SimDuration,
    /// `maxAttempts`: attempts in all, the original included (≥ 2). Default 2.
    pub max: u32,
}

/// The sliding window of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerWindow {
    /// The last `n` calls.
    Count(u32),
    /// The calls of the last `n` whole seconds, in 1-second buckets.
    Seconds(u32),
}

/// A resilience4j circuit breaker's settings; defaults are resilience4j's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerCfg {
    /// Default: the last 100 calls.
    pub window: BreakerWindow,
    /// Calls the window must hold before rates are evaluated (for count
    /// windows, at most the window size). Default 100.
    pub min_calls: u32,
    /// Open when the failure rate is ≥ this (in (0, 1]). Default 50%.
    pub failure_rate: f64,
    /// A call slower than this (strictly) is slow. Default 60 s.
    pub slow_call_over: SimDuration,
    /// Open when the slow-call rate is ≥ this (in (0, 1]). Default 100%.
    pub slow_call_rate: f64,
    /// How long it stays open before the next call half-opens it. Default 60 s.
    pub open_for: SimDuration,
    /// Trial calls admitted when half-open. Default 10.
    pub half_open_calls: u32,
}

impl BreakerCfg {
    pub const DEFAULT: BreakerCfg = BreakerCfg {
        window: BreakerWindow::Count(100),
        min_calls: 100,
        failure_rate: 0.5,
        slow_call_over: SimDuration::from_secs(60),
        slow_call_rate: 1.0,
        open_for: SimDuration::from_secs(60),
        half_open_calls: 10,
    };
}

/// A piece of shared state's configuration and the key it is shared under.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared<C> {
    /// `caller->service.endpoint` for breakers, `caller->service` otherwise.
    pub name: String,
    pub cfg: C,
}

/// Which adaptive concurrency algorithm (Netflix concurrency-limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitAlgorithm {
    Gradient,
    Vegas,
}

/// `max_in_flight: { adaptive: …, initial, min, max }`: an admission limit
/// per replica that adapts to measured latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveCfg {
    pub algorithm: LimitAlgorithm,
    pub initial: u32,
    /// `min ≤ initial ≤ max`, `min ≥ 1`.
    pub min: u32,
    pub max: u32,
}

impl AdaptiveCfg {
    /// The library defaults: Gradient2 initial 20, min 20, max 200; Vegas
    /// initial 20, min 1, max 1000.
    pub const fn defaults(algorithm: LimitAlgorithm) -> AdaptiveCfg {
        match algorithm {
            LimitAlgorithm::Gradient => AdaptiveCfg { algorithm, initial: 20, min: 20, max: 200 },
            LimitAlgorithm::Vegas => AdaptiveCfg { algorithm, initial: 20, min: 1, max: 1000 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_on_is_a_set() {
        let s = RetryOn::NONE.with(FailureKind::Timeout).with(FailureKind::ShortCircuited);
        assert!(s.contains(FailureKind::Timeout) && s.contains(FailureKind::ShortCircuited));
        assert!(!s.contains(FailureKind::Error) && !s.contains(FailureKind::Rejected));
        assert!(RetryOn::NONE.is_empty());
        let d = RetryOn::DEFAULT;
        assert_eq!(FailureKind::ALL.map(|k| d.contains(k)), [true, true, true, false]);
    }
}
