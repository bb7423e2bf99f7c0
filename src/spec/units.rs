//! Durations (`250us`, `5ms`, `2s`, `1.5m`, `1h`, `1d`), rates (`200/s`,
//! `12000/min`, `3/ms`) and ratios (`60%`, `0.6`). (Stub.)

use crate::engine::SimDuration;

/// Parses a duration with a unit; a bare number is an error.
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let _ = s;
    Err("not implemented".into())
}

/// Parses a rate; returns events per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let _ = s;
    Err("not implemented".into())
}

/// Parses a ratio written as `60%` or `0.6`; returns the fraction.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let _ = s;
    Err("not implemented".into())
}
