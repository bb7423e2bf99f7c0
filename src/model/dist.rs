//! Distributions of durations, sampled from a [`RngStream`].
//! (Stub: the distributions helper fills this in.)

use crate::engine::{RngStream, SimDuration};

/// A distribution of non-negative durations, in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Const(SimDuration),
}

impl Dist {
    /// One draw, rounded to the nanosecond, never negative.
    pub fn sample(&self, _rng: &mut RngStream) -> SimDuration {
        match self {
            Dist::Const(d) => *d,
        }
    }
    /// The mean in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Const(d) => d.0 as f64,
        }
    }
}
