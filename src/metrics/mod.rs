//! Recorders (histograms, counters, time integrals, series) and the
//! serialisable results they end in. Memory is bounded by what is in flight
//! and the number of series buckets, never by the number of requests.

mod recorder;
mod result;

pub use recorder::{HIST_MAX_NS, Hist, Integral};
pub use result::*;
