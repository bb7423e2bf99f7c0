//! Recorders the simulation writes into on its hot path: latency
//! histograms, time integrals and plain counters. All integer, so a run's
//! numbers do not depend on floating-point evaluation order.

use super::LatencySummary;
use hdrhistogram::Histogram;

/// Largest latency a histogram records exactly: one simulated day. Larger
/// values are clamped to it (and counted in [`Hist::clamped`]).
pub const HIST_MAX_NS: u64 = 86_400 * 1_000_000_000;

/// A latency histogram in nanoseconds (HDR, fixed relative precision).
///
/// Its buckets are allocated at the first value recorded (a service no
/// request reaches costs nothing) and count in `u32` (a bucket saturates
/// after 4.29 billion values of one 0.1%-wide bucket, far beyond any run):
/// at 3 digits over one nanosecond to one day that is about 150 KiB.
#[derive(Clone, Debug)]
pub struct Hist {
    h: Option<Box<Histogram<u32>>>,
    digits: u8,
    sum_ns: u128,
    max_ns: u64,
    clamped: u64,
}

impl Hist {
    /// `digits` significant decimal digits: 3 for results (0.1% error), 2 for
    /// per-interval series (1%, 8x less memory to clear each interval).
    pub fn new(digits: u8) -> Self {
        Hist { h: None, digits, sum_ns: 0, max_ns: 0, clamped: 0 }
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = if ns > HIST_MAX_NS {
            self.clamped += 1;
            HIST_MAX_NS
        } else {
            ns.max(1)
        };
        match &mut self.h {
            Some(h) => h.saturating_record(v),
            None => self.first(v),
        }
        self.sum_ns += ns as u128;
        self.max_ns = self.max_ns.max(ns);
    }

    /// The first value: the buckets are allocated now.
    #[cold]
    fn first(&mut self, v: u64) {
        let mut h = Histogram::new_with_bounds(1, HIST_MAX_NS, self.digits).expect("valid histogram bounds");
        h.saturating_record(v);
        self.h = Some(Box::new(h));
    }

    pub fn count(&self) -> u64 {
        self.h.as_ref().map_or(0, |h| h.len())
    }

    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Exact mean (from the sum, not the buckets), in ns.
    pub fn mean_ns(&self) -> f64 {
        if self.count() == 0 { 0.0 } else { self.sum_ns as f64 / self.count() as f64 }
    }

    /// Quantile `q` in [0, 1], in ns (the bucket's representative value).
    pub fn quantile_ns(&self, q: f64) -> u64 {
        match &self.h {
            Some(h) if !h.is_empty() => h.value_at_quantile(q),
            _ => 0,
        }
    }

    /// Exact largest value recorded.
    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// Adds every value of `o` (call sites that share a name are one edge).
    pub fn merge(&mut self, o: &Hist) {
        if let Some(oh) = &o.h {
            let h = self.h.get_or_insert_with(|| {
                Box::new(Histogram::new_with_bounds(1, HIST_MAX_NS, self.digits).expect("valid histogram bounds"))
            });
            // Same bounds; a coarser `o` adds at its buckets' values.
            for v in oh.iter_recorded() {
                h.saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.sum_ns += o.sum_ns;
        self.max_ns = self.max_ns.max(o.max_ns);
        self.clamped += o.clamped;
    }

    pub fn reset(&mut self) {
        if let Some(h) = &mut self.h
            && !h.is_empty()
        {
            h.reset();
        }
        self.sum_ns = 0;
        self.max_ns = 0;
        self.clamped = 0;
    }

    /// Mean, p50 … p99.9 and max in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        // A bucket's representative value can exceed the exact maximum by
        // the histogram's precision: never report a percentile above max.
        if self.count() == 0 {
            return LatencySummary::default();
        }
        let ms = |ns: u64| Some(ns.min(self.max_ns) as f64 / 1e6);
        LatencySummary {
            mean: Some(self.mean_ns() / 1e6),
            p50: ms(self.quantile_ns(0.50)),
            p90: ms(self.quantile_ns(0.90)),
            p95: ms(self.quantile_ns(0.95)),
            p99: ms(self.quantile_ns(0.99)),
            p999: ms(self.quantile_ns(0.999)),
            max: ms(self.max_ns()),
            beyond_range: self.clamped,
        }
    }
}

/// The time integral of an integer level (busy cores, queue length…), in
/// level·nanoseconds, exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Integral {
    pub level: i64,
    last_ns: u64,
    area: u128,
}

impl Integral {
    /// Changes the level by `delta` at time `now_ns`.
    #[inline]
    pub fn add(&mut self, now_ns: u64, delta: i64) {
        self.advance(now_ns);
        self.level += delta;
        debug_assert!(self.level >= 0, "a level went negative");
    }

    #[inline]
    fn advance(&mut self, now_ns: u64) {
        let dt = now_ns.saturating_sub(self.last_ns);
        self.area += self.level.max(0) as u128 * dt as u128;
        self.last_ns = now_ns;
    }

    /// The area up to `now_ns`.
    pub fn area_at(&mut self, now_ns: u64) -> u128 {
        self.advance(now_ns);
        self.area
    }

    /// Forgets the area accumulated so far (end of warm-up), keeping the level.
    pub fn restart(&mut self, now_ns: u64) {
        self.advance(now_ns);
        self.area = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_of_a_step_function() {
        let mut i = Integral::default();
        i.add(10, 2); // level 2 from t=10
        i.add(20, -1); // level 1 from t=20
        assert_eq!(i.area_at(30), 2 * 10 + 10);
        i.restart(30);
        assert_eq!(i.area_at(35), 5);
    }

    #[test]
    fn hist_quantiles_within_precision() {
        let mut h = Hist::new(3);
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let p99 = h.quantile_ns(0.99) as f64;
        assert!((p99 / 99_000_000.0 - 1.0).abs() < 1e-3, "{p99}");
        assert!((h.mean_ns() - 50_000_500.0).abs() < 1e-6);
        h.record(HIST_MAX_NS * 2);
        assert_eq!(h.clamped(), 1);
    }
}
