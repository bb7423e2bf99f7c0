//! How to run a model once: overrides, the series interval, safety limits.

use crate::engine::SimDuration;

/// How to run a model once.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Overrides the model's seed.
    pub seed: Option<u64>,
    /// Overrides the model's duration.
    pub duration: Option<SimDuration>,
    /// Width of a time-series bucket.
    pub interval: SimDuration,
    /// Keep per-interval rows in [`RunResult::series`] (memory grows with
    /// simulated time / interval).
    pub keep_series: bool,
    /// Stop after this many events (`stopped_by: max_events`).
    pub max_events: u64,
    /// Stop when this many requests are in flight at the edge at once
    /// (`stopped_by: max_in_flight`).
    pub max_in_flight: u64,
    /// Check invariants after every event (slow; for tests). Violations are
    /// listed in [`RunResult::invariant_violations`].
    pub check_invariants: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: None,
            duration: None,
            interval: SimDuration::from_secs(1),
            keep_series: false,
            max_events: 2_000_000_000,
            max_in_flight: 1_000_000,
            check_invariants: false,
        }
    }
}
