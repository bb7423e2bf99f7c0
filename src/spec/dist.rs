//! Parsing distribution strings (`exp(5ms)`, `percentiles(p50=3ms, …)`,
//! `mix(0.9: exp(2ms), 0.1: exp(50ms))`, …) into [`Dist`]. (Stub.)

use super::FileSource;
use crate::model::Dist;
use std::path::Path;

/// A problem in a distribution string, at a byte offset into it.
#[derive(Clone, Debug, PartialEq)]
pub struct DistError {
    pub offset: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Parses `text`; files named by `empirical(file=…)` are resolved against
/// `base_dir` and read through `files`.
pub fn parse_dist(text: &str, files: &dyn FileSource, base_dir: &Path) -> Result<Dist, DistError> {
    let _ = (files, base_dir);
    match super::units::parse_duration(text.trim()) {
        Ok(d) => Ok(Dist::Const(d)),
        Err(m) => Err(DistError { offset: 0, message: m, hint: None }),
    }
}
