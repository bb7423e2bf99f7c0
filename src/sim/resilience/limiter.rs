//! Adaptive concurrency limits (Netflix `concurrency-limits`), per replica:
//! a request is admitted while `in_flight < limit()`, and every completed
//! request feeds `(rtt, in-flight when it started, did_drop)` back.
//!
//! **Gradient2 is the recommended algorithm** (and what `adaptive: gradient`
//! runs): it needs no probing and no randomness, its clamp `[min, max]` keeps
//! it from collapsing, and it reacts to the ratio of a long-term to the
//! current latency, which is what a simulated queue changes. Vegas is also
//! built because the format names it, and its probe for the no-load
//! latency makes it the one to use when the baseline latency itself shifts.
//!
//! Gradient2 (defaults initial 20, min 20, max 200): `long` is an
//! exponential average of rtt with factor 2/(600+1), seeded with the plain
//! mean of the first 10 samples; if `long/rtt > 2` then `long *= 0.95`. If
//! `in_flight < limit/2` the limit stays (app-limited). Otherwise
//! `gradient = clamp(1.5·long/rtt, 0.5, 1)`, `new = limit·gradient + 4`,
//! `limit = 0.8·limit + 0.2·new`, clamped to `[min, max]`. `did_drop` is
//! ignored, as in the library.
//!
//! Vegas (defaults initial 20, min 1, max 1000, smoothing 1): with
//! `L = max(1, floor(log10(limit)))`: every `jitter·30·limit` samples
//! (jitter ~ U(0.5, 1), redrawn after each probe) `rtt_noload` is reset to
//! the current rtt; it is also lowered whenever a smaller rtt is seen. Then
//! `queue = ceil(limit·(1 − rtt_noload/rtt))`; a drop decreases by `L`;
//! `in_flight·2 < limit` changes nothing; `queue ≤ L` adds `6L`;
//! `queue < 3L` adds `L`; `queue > 6L` subtracts `L`; else nothing. The
//! result is clamped to `[min, max]`.
//!
//! Not here: admission itself, rejecting, and measuring rtt.

use crate::engine::{RngStream, SimDuration};
use crate::model::{AdaptiveCfg, LimitAlgorithm};

/// Gradient2's constants.
const SMOOTHING: f64 = 0.2;
const QUEUE_SIZE: f64 = 4.0;
const TOLERANCE: f64 = 1.5;
const LONG_WINDOW: f64 = 600.0;
const WARMUP_SAMPLES: u32 = 10;
/// Vegas's probe multiplier.
const PROBE_MULTIPLIER: f64 = 30.0;

#[derive(Clone, Debug)]
enum Algo {
    Gradient {
        /// Long-term rtt in ns.
        long_rtt: f64,
        samples: u32,
        warmup_sum: f64,
    },
    Vegas {
        /// ns; 0: unset.
        rtt_noload: u64,
        probe_count: u64,
        probe_jitter: f64,
    },
}

/// One replica's adaptive limit.
#[derive(Clone, Debug)]
pub struct AdaptiveLimit {
    algo: Algo,
    limit: f64,
    min: f64,
    max: f64,
}

impl AdaptiveLimit {
    pub fn new(cfg: &AdaptiveCfg, rng: &mut RngStream) -> Self {
        let algo = match cfg.algorithm {
            LimitAlgorithm::Gradient => Algo::Gradient { long_rtt: 0.0, samples: 0, warmup_sum: 0.0 },
            LimitAlgorithm::Vegas => Algo::Vegas { rtt_noload: 0, probe_count: 0, probe_jitter: probe_jitter(rng) },
        };
        let (min, max) = (f64::from(cfg.min.max(1)), f64::from(cfg.max.max(cfg.min).max(1)));
        AdaptiveLimit { algo, limit: f64::from(cfg.initial).clamp(min, max), min, max }
    }

    /// Requests admitted at once now.
    pub fn limit(&self) -> u32 {
        self.limit as u32
    }

    /// May one more request start with `in_flight` already admitted?
    pub fn admits(&self, in_flight: u32) -> bool {
        in_flight < self.limit()
    }

    /// A request that started with `in_flight` admitted (itself included)
    /// finished after `rtt`; `did_drop`: it timed out or was dropped.
    pub fn on_sample(&mut self, rtt: SimDuration, in_flight: u32, did_drop: bool, rng: &mut RngStream) {
        let rtt = rtt.0.max(1);
        let inflight = f64::from(in_flight);
        let new = match &mut self.algo {
            Algo::Gradient { long_rtt, samples, warmup_sum } => {
                let short = rtt as f64;
                if *samples < WARMUP_SAMPLES {
                    *samples += 1;
                    *warmup_sum += short;
                    *long_rtt = *warmup_sum / f64::from(*samples);
                } else {
                    let f = 2.0 / (LONG_WINDOW + 1.0);
                    *long_rtt = *long_rtt * (1.0 - f) + short * f;
                }
                if *long_rtt / short > 2.0 {
                    *long_rtt *= 0.95;
                }
                if inflight < self.limit / 2.0 {
                    return;
                }
                let gradient = (TOLERANCE * *long_rtt / short).clamp(0.5, 1.0);
                let new = self.limit * gradient + QUEUE_SIZE;
                self.limit * (1.0 - SMOOTHING) + new * SMOOTHING
            }
            Algo::Vegas { rtt_noload, probe_count, probe_jitter: jitter } => {
                *probe_count += 1;
                if *jitter * PROBE_MULTIPLIER * self.limit <= *probe_count as f64 {
                    *jitter = probe_jitter(rng);
                    *probe_count = 0;
                    *rtt_noload = rtt;
                    return;
                }
                if *rtt_noload == 0 || rtt < *rtt_noload {
                    *rtt_noload = rtt;
                    return;
                }
                match vegas_step(self.limit, *rtt_noload as f64 / rtt as f64, inflight, did_drop) {
                    Some(new) => new,
                    None => return,
                }
            }
        };
        self.limit = new.clamp(self.min, self.max);
    }
}

/// Vegas's update of `limit` given `rtt_noload/rtt`; `None`: unchanged.
fn vegas_step(limit: f64, noload_over_rtt: f64, inflight: f64, did_drop: bool) -> Option<f64> {
    let l = f64::from(log10_root(limit as u32));
    if did_drop {
        return Some(limit - l);
    }
    if inflight * 2.0 < limit {
        return None;
    }
    let queue = (limit * (1.0 - noload_over_rtt)).ceil();
    let (alpha, beta, threshold) = (3.0 * l, 6.0 * l, l);
    if queue <= threshold {
        Some(limit + beta)
    } else if queue < alpha {
        Some(limit + l)
    } else if queue > beta {
        Some(limit - l)
    } else {
        None
    }
}

/// `max(1, floor(log10(x)))`.
fn log10_root(x: u32) -> u32 {
    if x == 0 { 1 } else { x.ilog10().max(1) }
}

fn probe_jitter(rng: &mut RngStream) -> f64 {
    0.5 + 0.5 * rng.unit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> RngStream {
        RngStream::derive(5, "limiter", "test")
    }

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }

    fn gradient() -> AdaptiveCfg {
        AdaptiveCfg::defaults(LimitAlgorithm::Gradient)
    }

    #[test]
    fn gradient_grows_when_busy_at_steady_latency_up_to_max() {
        let mut r = rng();
        let mut l = AdaptiveLimit::new(&gradient(), &mut r);
        assert_eq!(l.limit(), 20);
        // Steady rtt, the replica using its whole limit: gradient 1, so each
        // sample adds 0.2·4 = 0.8: 20.8, 21.6, … 24.8.
        for _ in 0..6 {
            let at = l.limit();
            l.on_sample(ms(10), at, false, &mut r);
        }
        assert_eq!(l.limit(), 24);
        for _ in 0..1000 {
            let at = l.limit();
            l.on_sample(ms(10), at, false, &mut r);
        }
        assert_eq!(l.limit(), 200, "clamped at max");
    }

    #[test]
    fn gradient_holds_when_app_limited() {
        let mut r = rng();
        let mut l = AdaptiveLimit::new(&gradient(), &mut r);
        for _ in 0..500 {
            l.on_sample(ms(10), 5, false, &mut r);
        }
        assert_eq!(l.limit(), 20, "5 in flight < 20/2: no growth");
    }

    #[test]
    fn gradient_shrinks_when_latency_grows_down_to_min() {
        let mut r = rng();
        let cfg = AdaptiveCfg { initial: 150, min: 20, ..gradient() };
        let mut l = AdaptiveLimit::new(&cfg, &mut r);
        for _ in 0..50 {
            l.on_sample(ms(10), 150, false, &mut r);
        }
        let before = l.limit();
        assert!(before > 150, "{before}");
        // Latency triples (a queue formed): gradient 1.5·10/30 = 0.5, so
        // limit → 0.9·limit + 0.8, towards 8, clamped at min.
        let mut last = before;
        for i in 0..60 {
            let at = l.limit();
            l.on_sample(ms(30), at, false, &mut r);
            assert!(l.limit() <= last, "sample {i}: {} > {last}", l.limit());
            last = l.limit();
        }
        assert_eq!(l.limit(), 20, "clamped at min");
        assert!(l.admits(19) && !l.admits(20));
    }

    #[test]
    fn gradient_tolerates_latency_up_to_one_and_a_half() {
        let mut r = rng();
        let mut l = AdaptiveLimit::new(&gradient(), &mut r);
        for _ in 0..20 {
            l.on_sample(ms(10), 20, false, &mut r);
        }
        let before = l.limit();
        // 14 ms against a long average of ~10 ms: 1.5·10/14 > 1, still growing.
        for _ in 0..10 {
            let at = l.limit();
            l.on_sample(ms(14), at, false, &mut r);
        }
        assert!(l.limit() > before);
    }

    fn vegas() -> AdaptiveCfg {
        AdaptiveCfg::defaults(LimitAlgorithm::Vegas)
    }

    #[test]
    fn vegas_step_rules() {
        // limit 20: L = 1, alpha 3, beta 6, threshold 1.
        assert_eq!(vegas_step(20.0, 1.0, 20.0, false), Some(26.0), "no queue: +beta");
        assert_eq!(vegas_step(20.0, 0.9, 20.0, false), Some(21.0), "queue ceil(2.0) = 2 < alpha: +L");
        assert_eq!(vegas_step(20.0, 0.8, 20.0, false), None, "queue 4: in the sweet spot");
        assert_eq!(vegas_step(20.0, 0.6, 20.0, false), Some(19.0), "queue 8 > beta: −L");
        assert_eq!(vegas_step(20.0, 1.0, 20.0, true), Some(19.0), "a drop: −L");
        assert_eq!(vegas_step(20.0, 1.0, 9.0, false), None, "app-limited");
        // limit 150: L = 2.
        assert_eq!(vegas_step(150.0, 1.0, 150.0, false), Some(162.0));
        assert_eq!(log10_root(5), 1);
        assert_eq!(log10_root(999), 2);
        assert_eq!(log10_root(1000), 3);
    }

    #[test]
    fn vegas_grows_without_queueing_and_shrinks_with_it() {
        let mut r = rng();
        let mut l = AdaptiveLimit::new(&vegas(), &mut r);
        // The first sample sets rtt_noload and changes nothing.
        l.on_sample(ms(10), 20, false, &mut r);
        assert_eq!(l.limit(), 20);
        for _ in 0..200 {
            let at = l.limit();
            l.on_sample(ms(10), at, false, &mut r);
        }
        let grown = l.limit();
        assert!(grown > 200, "{grown}");
        assert!(grown <= 1000);
        // Latency doubles: queue = ceil(limit/2) > 6L, so it shrinks, until
        // a probe takes the new latency as the baseline.
        for _ in 0..20 {
            let at = l.limit();
            l.on_sample(ms(20), at, false, &mut r);
        }
        assert!(l.limit() < grown, "{} vs {grown}", l.limit());
    }

    #[test]
    fn vegas_drops_decrease_and_respect_min() {
        let mut r = rng();
        let cfg = AdaptiveCfg { initial: 3, min: 2, max: 10, algorithm: LimitAlgorithm::Vegas };
        let mut l = AdaptiveLimit::new(&cfg, &mut r);
        l.on_sample(ms(10), 3, false, &mut r);
        for _ in 0..10 {
            l.on_sample(ms(10), 3, true, &mut r);
        }
        assert_eq!(l.limit(), 2);
        for _ in 0..100 {
            let at = l.limit();
            l.on_sample(ms(10), at, false, &mut r);
        }
        assert_eq!(l.limit(), 10, "clamped at max");
    }
}
