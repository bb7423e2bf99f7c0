//! The sleep before each retry of one call, for every [`Jitter`] scheme of a
//! [`Backoff`].
//!
//! With `n` the retry number (1 for the first retry) and
//! `expo(n) = min(cap, base · multiplier^(n−1))`:
//! - `None`: `expo(n)`;
//! - `Full`: `U(0, expo(n))`;
//! - `Equal`: `expo(n)/2 + U(0, expo(n)/2)`;
//! - `Decorrelated`: `min(cap, U(base, 3·prev))`, `prev` starting at `base`.
//!   Its known quirk: once `prev` is `cap`, the draw `U(base, 3·cap)` is
//!   clipped to `cap` with probability `2·cap/(3·cap − base)` ≈ 2/3;
//! - `Grpc`: `expo(n) · U(0.8, 1.2)` (A6 since 2024-08);
//! - `Envoy` (current code): whole milliseconds `U{0 … interval−1}`, the
//!   interval starting at `base` and becoming `2·interval` while
//!   `interval < cap/2` (integer ms), else `cap`; with 25 ms / 250 ms the
//!   ranges are [0,25), [0,50), [0,100), [0,200), [0,250), [0,250) …;
//! - `EnvoyDocumented` (the docs, i.e. the old code): `min(U{0 … (2^k−1)·base − 1}, cap)`
//!   ms, `k` starting at 1 and growing only while `(2^k−1)·base ≤ cap`, so
//!   late retries mostly sleep exactly `cap`.
//!
//! State is per call (Envoy's strategy object is per request): the
//! simulation keeps one [`BackoffState`] per call and asks it for the next
//! sleep each time it retries. Nothing here decides whether to retry.

use super::nanos;
use crate::engine::{RngStream, SimDuration};
use crate::model::{Backoff, Jitter};
use rand::RngExt;

const MS: u64 = 1_000_000;

/// Where a call is in its backoff schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffState {
    /// Retries so far; the next is `retries + 1`.
    retries: u32,
    /// Decorrelated: the previous sleep.
    prev: SimDuration,
    /// Envoy: the next retry's interval, in ms.
    interval_ms: u64,
    /// Envoy documented: the old code's `current_retry_`.
    k: u32,
}

impl BackoffState {
    /// A call that has not retried yet.
    pub fn new(cfg: &Backoff) -> Self {
        BackoffState { retries: 0, prev: cfg.base, interval_ms: base_ms(cfg), k: 1 }
    }

    /// Starts the schedule over (gRPC does after a server pushback).
    pub fn reset(&mut self, cfg: &Backoff) {
        *self = BackoffState::new(cfg);
    }

    /// Retries asked for so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The sleep before the next retry; advances the schedule.
    pub fn next_delay(&mut self, cfg: &Backoff, rng: &mut RngStream) -> SimDuration {
        self.retries = self.retries.saturating_add(1);
        let n = self.retries;
        match cfg.jitter {
            Jitter::None => expo(cfg, n),
            Jitter::Full => {
                let e = expo(cfg, n).0;
                nanos(rng.unit() * e as f64).min(SimDuration(e))
            }
            Jitter::Equal => {
                let e = expo(cfg, n).0;
                let half = e / 2;
                SimDuration(half) + nanos(rng.unit() * (e - half) as f64).min(SimDuration(e - half))
            }
            Jitter::Decorrelated => {
                let lo = cfg.base.0 as f64;
                let hi = (3.0 * self.prev.0 as f64).max(lo);
                let mut sleep = nanos(lo + rng.unit() * (hi - lo));
                if let Some(cap) = cfg.cap {
                    sleep = sleep.min(cap);
                }
                self.prev = sleep;
                sleep
            }
            Jitter::Grpc => nanos(expo(cfg, n).0 as f64 * (0.8 + 0.4 * rng.unit())),
            Jitter::Envoy => self.envoy(cfg, rng),
            Jitter::EnvoyDocumented => self.envoy_documented(cfg, rng),
        }
    }

    fn envoy(&mut self, cfg: &Backoff, rng: &mut RngStream) -> SimDuration {
        let max = max_ms(cfg);
        let interval = self.interval_ms.max(1);
        self.interval_ms = if interval < max / 2 { interval * 2 } else { max };
        let v = rng.raw().random_range(0..interval).min(max);
        SimDuration(v * MS)
    }

    fn envoy_documented(&mut self, cfg: &Backoff, rng: &mut RngStream) -> SimDuration {
        let max = max_ms(cfg);
        let multiplier = 1u64.checked_shl(self.k).map_or(u64::MAX, |m| m - 1);
        let ceiling = multiplier.saturating_mul(base_ms(cfg)).max(1);
        if ceiling <= max {
            self.k += 1;
        }
        let v = rng.raw().random_range(0..ceiling).min(max);
        SimDuration(v * MS)
    }
}

/// `min(cap, base · multiplier^(n−1))` for retry `n ≥ 1`.
pub fn expo(cfg: &Backoff, n: u32) -> SimDuration {
    let steps = n.saturating_sub(1).min(i32::MAX as u32) as i32;
    let e = nanos(cfg.base.0 as f64 * cfg.multiplier.powi(steps));
    cfg.cap.map_or(e, |c| e.min(c))
}

/// Envoy works in whole milliseconds; a base below 1 ms counts as 1 ms.
fn base_ms(cfg: &Backoff) -> u64 {
    (cfg.base.0 / MS).max(1)
}

/// Envoy's max interval in ms (10 × base when there is no cap).
fn max_ms(cfg: &Backoff) -> u64 {
    cfg.cap.map_or(10 * base_ms(cfg), |c| (c.0 / MS).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> RngStream {
        RngStream::derive(11, "backoff", "test")
    }

    fn cfg(jitter: Jitter) -> Backoff {
        Backoff {
            base: SimDuration::from_millis(10),
            multiplier: 2.0,
            cap: Some(SimDuration::from_millis(1000)),
            jitter,
        }
    }

    /// `draws` sleeps for retry `n` (each from a fresh call), in ms.
    fn sleeps(c: &Backoff, n: u32, draws: usize, r: &mut RngStream) -> Vec<f64> {
        (0..draws)
            .map(|_| {
                let mut s = BackoffState::new(c);
                let mut d = SimDuration::ZERO;
                for _ in 0..n {
                    d = s.next_delay(c, r);
                }
                d.as_millis_f64()
            })
            .collect()
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    const DRAWS: usize = 20_000;

    /// Tolerance for the mean of `DRAWS` uniforms of width `w`: the sd of
    /// the mean is `w/sqrt(12·DRAWS)` ≈ 0.002·w; 5 sd is 0.01·w.
    fn tol(width: f64) -> f64 {
        0.01 * width
    }

    #[test]
    fn exponential_without_jitter_is_exact_and_capped() {
        let c = cfg(Jitter::None);
        let mut s = BackoffState::new(&c);
        let mut r = rng();
        let got: Vec<u64> = (0..9).map(|_| s.next_delay(&c, &mut r).0 / MS).collect();
        assert_eq!(got, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(s.retries(), 9);
        let uncapped = Backoff { cap: None, multiplier: 1.5, ..c };
        assert_eq!(expo(&uncapped, 3), SimDuration::from_micros(22_500));
        assert_eq!(expo(&Backoff::IMMEDIATE, 5), SimDuration::ZERO);
        let huge = Backoff { cap: None, ..c };
        assert_eq!(expo(&huge, 200), SimDuration(u64::MAX), "saturates, never overflows");
    }

    #[test]
    fn full_jitter_is_uniform_below_the_ceiling() {
        let c = cfg(Jitter::Full);
        let mut r = rng();
        for (n, e) in [(1, 10.0), (3, 40.0), (9, 1000.0)] {
            let v = sleeps(&c, n, DRAWS, &mut r);
            assert!(v.iter().all(|&x| (0.0..=e).contains(&x)), "retry {n}");
            assert!((mean(&v) - e / 2.0).abs() < tol(e), "retry {n}: mean {} vs {}", mean(&v), e / 2.0);
        }
    }

    #[test]
    fn equal_jitter_keeps_half() {
        let c = cfg(Jitter::Equal);
        let mut r = rng();
        for (n, e) in [(1, 10.0), (4, 80.0), (12, 1000.0)] {
            let v = sleeps(&c, n, DRAWS, &mut r);
            assert!(v.iter().all(|&x| (e / 2.0..=e).contains(&x)), "retry {n}");
            assert!((mean(&v) - 0.75 * e).abs() < tol(e / 2.0), "retry {n}: mean {}", mean(&v));
        }
    }

    #[test]
    fn grpc_jitter_is_twenty_percent_either_side() {
        let c = Backoff::GRPC;
        let mut r = rng();
        for (n, e) in [(1, 100.0), (2, 200.0), (3, 400.0), (6, 1000.0)] {
            let v = sleeps(&c, n, DRAWS, &mut r);
            assert!(v.iter().all(|&x| (0.8 * e..=1.2 * e).contains(&x)), "retry {n}");
            assert!((mean(&v) - e).abs() < tol(0.4 * e), "retry {n}: mean {}", mean(&v));
        }
    }

    #[test]
    fn decorrelated_jitter_and_its_quirk() {
        let c = Backoff {
            base: SimDuration::from_millis(1),
            multiplier: 2.0,
            cap: Some(SimDuration::from_millis(1000)),
            jitter: Jitter::Decorrelated,
        };
        let mut r = rng();
        // The first sleep is U(base, 3·base).
        let first = sleeps(&c, 1, DRAWS, &mut r);
        assert!(first.iter().all(|&x| (1.0..=3.0).contains(&x)));
        assert!((mean(&first) - 2.0).abs() < tol(2.0));
        // Long schedules: every sleep within [base, cap]; once the previous
        // sleep is the cap, the next is the cap with probability
        // 2·cap/(3·cap − base) = 2000/2999.
        let (mut after_cap, mut cap_again) = (0u32, 0u32);
        for _ in 0..800 {
            let mut s = BackoffState::new(&c);
            let mut prev = SimDuration::ZERO;
            for _ in 0..100 {
                let d = s.next_delay(&c, &mut r);
                assert!(d >= c.base && Some(d) <= c.cap);
                if Some(prev) == c.cap {
                    after_cap += 1;
                    cap_again += u32::from(Some(d) == c.cap);
                }
                prev = d;
            }
        }
        let p = f64::from(cap_again) / f64::from(after_cap);
        // Binomial sd sqrt(p(1−p)/N) with N > 10 000 is < 0.005; 5 sd. (It
        // takes long to reach the cap: the median growth per step is only
        // e^(ln 3 − 1) ≈ 1.1.)
        assert!(after_cap > 10_000, "{after_cap}");
        assert!((p - 2000.0 / 2999.0).abs() < 0.025, "{p}");
    }

    #[test]
    fn envoy_current_code_ranges() {
        let c = Backoff::ENVOY;
        let mut r = rng();
        let ceilings = [25u64, 50, 100, 200, 250, 250, 250];
        let mut seen_max = [0u64; 7];
        for _ in 0..DRAWS / 4 {
            let mut s = BackoffState::new(&c);
            for (i, &ceil) in ceilings.iter().enumerate() {
                let d = s.next_delay(&c, &mut r).0;
                assert_eq!(d % MS, 0, "whole milliseconds");
                assert!(d / MS < ceil, "retry {}: {} ms", i + 1, d / MS);
                seen_max[i] = seen_max[i].max(d / MS);
            }
        }
        assert_eq!(seen_max, ceilings.map(|c| c - 1), "the top of every range is reached");
        // Mean of U{0..24} is 12 ms.
        let v = sleeps(&c, 1, DRAWS, &mut r);
        assert!((mean(&v) - 12.0).abs() < tol(25.0), "{}", mean(&v));
    }

    #[test]
    fn envoy_documented_ranges() {
        let c = Backoff { jitter: Jitter::EnvoyDocumented, ..Backoff::ENVOY };
        let mut r = rng();
        // (2^k − 1)·25 = 25, 75, 175, then 375 > 250: k stops growing and
        // sleeps are min(U{0..374}, 250).
        let ceilings = [25u64, 75, 175, 375, 375];
        let mut at_cap = 0;
        for _ in 0..DRAWS / 4 {
            let mut s = BackoffState::new(&c);
            for (i, &ceil) in ceilings.iter().enumerate() {
                let d = s.next_delay(&c, &mut r).0 / MS;
                assert!(d < ceil.min(251), "retry {}: {d} ms", i + 1);
                at_cap += u32::from(i == 4 && d == 250);
            }
        }
        // P(U{0..374} ≥ 250) = 125/375 = 1/3; binomial sd over 5000 ≈ 0.0067.
        let p = f64::from(at_cap) / (DRAWS / 4) as f64;
        assert!((p - 1.0 / 3.0).abs() < 0.034, "{p}");
    }

    #[test]
    fn reset_starts_over() {
        let c = cfg(Jitter::None);
        let mut s = BackoffState::new(&c);
        let mut r = rng();
        s.next_delay(&c, &mut r);
        s.next_delay(&c, &mut r);
        s.reset(&c);
        assert_eq!(s.next_delay(&c, &mut r), SimDuration::from_millis(10));
    }
}
