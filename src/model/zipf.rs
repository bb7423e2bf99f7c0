//! Key popularity: ranks `1..=n` drawn with probability proportional to
//! `k^-s` (Zipf), in O(1) time and O(1) memory whatever `n` — no table of
//! `n` weights, so a cache of 10 million keys costs nothing until its
//! entries do.
//!
//! The method is rejection-inversion (W. Hörmann and G. Derflinger,
//! "Rejection-inversion to generate variates from monotone discrete
//! distributions", ACM TOMACS 6(3), 1996), written here from the paper's
//! idea: the decreasing weights `h(k) = k^-s` are dominated by the area
//! under `h(x)` over `[k - 1/2, k + 1/2]`; a point drawn uniformly from
//! that area by inverting its integral `H` lands in the cell of rank `k`
//! and is accepted when it falls under the bar of height `h(k)`. Almost
//! every draw is accepted at the first try (the bars fill their cells
//! except near rank 1, which is handled exactly by starting the area at
//! `3/2` with the mass `h(1)` added in front).

use crate::engine::RngStream;

/// A Zipf distribution over ranks `1..=n` with exponent `s ≥ 0`.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: u64,
    s: f64,
    /// `H(3/2) - h(1)`: the top of the area (rank 1's bar sits under it).
    top: f64,
    /// `H(n + 1/2)`: the bottom of the area.
    bottom: f64,
    /// A rank `k` is accepted at once when `k - x ≤ shortcut` (the bar of
    /// rank 2 and above covers at least this much of its cell).
    shortcut: f64,
}

/// `ln(1 + x) / x`, exact near 0.
fn log1p_over(x: f64) -> f64 {
    if x.abs() > 1e-8 { x.ln_1p() / x } else { 1.0 - x / 2.0 + x * x / 3.0 }
}

/// `(e^x - 1) / x`, exact near 0.
fn expm1_over(x: f64) -> f64 {
    if x.abs() > 1e-8 { x.exp_m1() / x } else { 1.0 + x / 2.0 + x * x / 6.0 }
}

impl Zipf {
    /// Ranks `1..=n` (`n ≥ 1`), exponent `s ≥ 0` (`0`: uniform).
    pub fn new(n: u64, s: f64) -> Zipf {
        assert!(n >= 1 && s >= 0.0 && s.is_finite(), "a Zipf distribution needs n >= 1 and a finite s >= 0");
        let mut z = Zipf { n, s, top: 0.0, bottom: 0.0, shortcut: 0.0 };
        z.top = z.big_h(1.5) - 1.0;
        z.bottom = z.big_h(n as f64 + 0.5);
        z.shortcut = 2.0 - z.big_h_inv(z.big_h(2.5) - z.h(2.0));
        z
    }

    /// `h(x) = x^-s`.
    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    /// `H(x) = ∫₁ˣ t^-s dt = (x^(1-s) - 1) / (1 - s)` (`ln x` at `s = 1`),
    /// written so that it stays exact as `s` nears 1.
    fn big_h(&self, x: f64) -> f64 {
        let l = x.ln();
        expm1_over((1.0 - self.s) * l) * l
    }

    /// The inverse of [`big_h`](Self::big_h).
    fn big_h_inv(&self, y: f64) -> f64 {
        let t = (y * (1.0 - self.s)).max(-1.0);
        (log1p_over(t) * y).exp()
    }

    /// The number of ranks.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// One rank in `1..=n`.
    pub fn sample(&self, rng: &mut RngStream) -> u64 {
        if self.s == 0.0 {
            return 1 + ((rng.unit() * self.n as f64) as u64).min(self.n - 1);
        }
        loop {
            let u = self.bottom + rng.unit() * (self.top - self.bottom);
            let x = self.big_h_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n as f64);
            if k - x <= self.shortcut || u >= self.big_h(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    /// The approximate probability mass of the `c` most popular ranks, from
    /// the integral of `h` (for estimates, such as a static hit ratio).
    pub fn head_mass(&self, c: u64) -> f64 {
        if c >= self.n {
            return 1.0;
        }
        let total = 1.0 + self.big_h(self.n as f64 + 0.5) - self.big_h(1.5);
        let head = 1.0 + self.big_h(c as f64 + 0.5) - self.big_h(1.5);
        (head / total).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact pmf of ranks `1..=n`.
    fn pmf(n: u64, s: f64) -> Vec<f64> {
        let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    }

    /// Pearson's chi-square of `draws` samples over ranks `1..=n` against the pmf.
    fn chi_square(n: u64, s: f64, draws: u64, seed: u64) -> f64 {
        let z = Zipf::new(n, s);
        let mut rng = RngStream::derive(seed, "zipf-test", "keys");
        let mut counts = vec![0u64; n as usize];
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=n).contains(&k), "rank {k} outside 1..={n}");
            counts[(k - 1) as usize] += 1;
        }
        let p = pmf(n, s);
        counts.iter().zip(&p).map(|(&c, &p)| (c as f64 - p * draws as f64).powi(2) / (p * draws as f64)).sum()
    }

    // With 1000 ranks the statistic has 999 degrees of freedom: mean 999,
    // standard deviation sqrt(2 · 999) ≈ 44.7. Every expected count is at
    // least 2e6 · p_1000 ≈ 2e6 · 1.3e-4 ≈ 250 (s = 0.9), so the chi-square
    // law holds. Bound: mean + 5 sd ≈ 1223 (a correct sampler passes with
    // probability 1 - 3e-7 per seed); a sampler off by 1% at the head alone
    // adds about (0.01 · 0.15 · 2e6)² / (0.15 · 2e6) = 30, by 5% about 750.
    const CHI2_BOUND: f64 = 999.0 + 5.0 * 44.7;

    #[test]
    fn ranks_follow_the_zipf_pmf_by_chi_square() {
        for s in [0.9, 0.0, 0.5, 1.0, 1.3] {
            for seed in [1, 2, 3] {
                let x = chi_square(1000, s, 2_000_000, seed);
                assert!(x < CHI2_BOUND, "s = {s}, seed {seed}: chi-square {x:.0} >= {CHI2_BOUND:.0}");
            }
        }
    }

    #[test]
    fn rank_one_has_its_exact_share() {
        // p_1 for 1000 ranks at s = 0.9 is 1 / H(1000, 0.9) ≈ 0.1385; with
        // 2e6 draws its count's sd is sqrt(2e6 · p(1-p)) ≈ 488, i.e. 2.4e-4
        // of the share: 5 sd is 1.2e-3.
        let z = Zipf::new(1000, 0.9);
        let mut rng = RngStream::derive(9, "zipf-test", "head");
        let n = 2_000_000;
        let ones = (0..n).filter(|_| z.sample(&mut rng) == 1).count() as f64 / n as f64;
        let p1 = pmf(1000, 0.9)[0];
        assert!((ones - p1).abs() < 1.2e-3, "share of rank 1 {ones:.5}, pmf {p1:.5}");
    }

    #[test]
    fn ten_million_keys_need_no_table() {
        // The sampler is four floats: its size does not grow with n.
        assert!(std::mem::size_of::<Zipf>() <= 40);
        let z = Zipf::new(10_000_000, 0.9);
        let mut rng = RngStream::derive(1, "zipf-test", "big");
        let draws = 1_000_000u64;
        let mut head = 0u64;
        let mut max = 0u64;
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=10_000_000).contains(&k));
            head += u64::from(k <= 1000);
            max = max.max(k);
        }
        // The share of the first 1000 ranks, exactly: H(1000, .9) / H(1e7, .9)
        // where the partial sums follow from the head's sum plus the
        // Euler–Maclaurin tail (integral + half the end terms), accurate to
        // 1e-9 relative here. sd of the share: sqrt(p(1-p)/1e6) ≤ 5e-4; 5 sd.
        let head_sum: f64 = (1..=1000u64).map(|k| (k as f64).powf(-0.9)).sum();
        let tail = |a: f64, b: f64| (b.powf(0.1) - a.powf(0.1)) / 0.1 + (b.powf(-0.9) - a.powf(-0.9)) / 2.0;
        let p = head_sum / (head_sum + tail(1000.0, 1e7));
        let got = head as f64 / draws as f64;
        assert!((got - p).abs() < 2.5e-3, "share of the top 1000 ranks {got:.4}, expected {p:.4}");
        assert!(max > 5_000_000, "the tail is reached (largest rank {max})");
        assert!((z.head_mass(1000) - p).abs() < 0.01, "head_mass {} vs {p}", z.head_mass(1000));
    }

    #[test]
    fn one_key_and_uniform_edges() {
        let mut rng = RngStream::derive(1, "zipf-test", "edge");
        let one = Zipf::new(1, 0.9);
        assert!((0..1000).all(|_| one.sample(&mut rng) == 1));
        let u = Zipf::new(3, 0.0);
        assert!((0..1000).all(|_| (1..=3).contains(&u.sample(&mut rng))));
    }
}
