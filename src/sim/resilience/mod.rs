//! Resilience mechanisms as pure state machines, one file each, with the
//! exact arithmetic of `shared/spec/resilience.md`:
//! - [`backoff`]: the sleep before each retry (none, exponential, full,
//!   equal and decorrelated jitter, gRPC, Envoy);
//! - [`budget`]: retry budgets (Finagle's windowed token bucket, Envoy's
//!   concurrent-retry cap);
//! - [`throttle`]: retry throttles (gRPC milli-tokens, the AWS SDK quota);
//! - [`breaker`]: the resilience4j circuit breaker;
//! - [`limiter`]: adaptive concurrency limits (Netflix Gradient2, Vegas).
//!
//! They take the current time as a [`SimTime`](crate::engine::SimTime)
//! argument and draw randomness from a [`RngStream`](crate::engine::RngStream)
//! the caller passes; none of them knows the `World`, schedules events or
//! reads the model beyond its configuration types. Wiring them into calls,
//! attempts and admission is the simulation's job.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod limiter;
pub mod throttle;

pub use backoff::BackoffState;
pub use breaker::{Breaker, BreakerState};
pub use budget::{EnvoyBudget, FinagleBudget, RetryBudget};
pub use limiter::AdaptiveLimit;
pub use throttle::{AwsRetryQuota, GrpcThrottle, RetryThrottle};

use crate::engine::SimDuration;

/// A non-negative number of nanoseconds as a duration, rounded, saturating.
fn nanos(x: f64) -> SimDuration {
    if x.is_nan() || x <= 0.0 {
        SimDuration::ZERO
    } else if x >= u64::MAX as f64 {
        SimDuration(u64::MAX)
    } else {
        SimDuration(x.round() as u64)
    }
}
