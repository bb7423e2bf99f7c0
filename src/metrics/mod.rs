//! Recorders (histograms, counters, time integrals, series) and the
//! serialisable results they end in. Memory is bounded by what is in flight
//! and the number of series buckets, never by the number of requests.

mod result;

pub use result::*;
