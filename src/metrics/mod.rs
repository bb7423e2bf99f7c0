//! Recorders (histograms, counters, time integrals, series) and the
//! serialisable results they end in. Memory is bounded by what is in flight
//! and the number of series buckets, never by the number of requests.

mod recorder;
mod result;

pub use recorder::{HIST_MAX_NS, Hist, Integral};
pub use result::*;

/// A duration in milliseconds as results print it: `0`, three decimals
/// below 1 ms, two below 100 ms, none above.
pub fn format_ms(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 1.0 {
        format!("{v:.3}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}
