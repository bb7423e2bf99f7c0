//! Queueing-theory formulas the theory tests compare the simulator against,
//! plus the small statistics they need (Student-t quantiles, replication
//! estimates), each with unit tests of its own.
//!
//! Pure functions of the parameters, in seconds and per-second rates. Each
//! distribution's survival function is checked here by integrating it and
//! comparing with the model's known mean, which is an independent check of
//! the formula and of its numerical stability. Nothing here runs the
//! simulator.

// ---------------------------------------------------------------- helpers

/// `x^n / n!` without overflow for the small `n` used here.
fn pow_over_fact(x: f64, n: u32) -> f64 {
    (1..=n).fold(1.0, |acc, k| acc * x / k as f64)
}

/// P(Erlang(k, rate) > t) = Σ_{i<k} e^{-rate·t} (rate·t)^i / i!.
pub fn erlang_survival(k: u32, rate: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return 1.0;
    }
    let x = rate * t;
    let mut term = (-x).exp();
    let mut sum = 0.0;
    for i in 0..k {
        if i > 0 {
            term *= x / i as f64;
        }
        sum += term;
    }
    sum.min(1.0)
}

/// The `p`-quantile of a distribution given by its survival function `sf`
/// (non-increasing, sf(0) ≥ 1 − p), by bisection to a relative 1e-12.
pub fn quantile_from_survival(sf: impl Fn(f64) -> f64, p: f64) -> f64 {
    let target = 1.0 - p;
    let mut hi = 1e-6;
    while sf(hi) > target {
        hi *= 2.0;
        assert!(hi < 1e9, "survival function does not fall below {target}");
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if sf(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// ∫_0^upper sf(t) dt by composite Simpson with `n` (even) panels: the mean
/// of a non-negative variable when `upper` is far in the tail.
#[cfg(test)]
fn integrate(sf: impl Fn(f64) -> f64, upper: f64, n: usize) -> f64 {
    let h = upper / n as f64;
    let mut s = sf(0.0) + sf(upper);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        s += w * sf(i as f64 * h);
    }
    s * h / 3.0
}

// ---------------------------------------------------------------- M/M/1

/// M/M/1 FCFS with arrival rate `lam` and service rate `mu`.
#[derive(Clone, Copy, Debug)]
pub struct MM1 {
    pub lam: f64,
    pub mu: f64,
}

impl MM1 {
    pub fn utilization(&self) -> f64 {
        self.lam / self.mu
    }
    /// Mean sojourn (response) time 1/(μ−λ).
    pub fn mean_sojourn(&self) -> f64 {
        1.0 / (self.mu - self.lam)
    }
    /// The sojourn time is Exp(μ−λ): P(T > t) = e^{−(μ−λ)t}.
    pub fn sojourn_survival(&self, t: f64) -> f64 {
        (-(self.mu - self.lam) * t.max(0.0)).exp()
    }
    pub fn sojourn_quantile(&self, p: f64) -> f64 {
        -(1.0 - p).ln() / (self.mu - self.lam)
    }
    /// Mean number in system ρ/(1−ρ).
    pub fn mean_in_system(&self) -> f64 {
        let r = self.utilization();
        r / (1.0 - r)
    }
}

// ---------------------------------------------------------------- M/M/c

/// Erlang's C formula: the probability that an arrival waits in an M/M/c
/// queue with offered load `a` = λ/μ (requires a < c). Computed through the
/// Erlang B recursion, which is stable for any `c`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < c as f64, "unstable M/M/c: a = {a} >= c = {c}");
    let mut b = 1.0; // Erlang B with 0 servers
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    b / (1.0 - rho * (1.0 - b))
}

/// M/M/c FCFS: `c` servers of rate `mu`, Poisson arrivals `lam`.
#[derive(Clone, Copy, Debug)]
pub struct MMc {
    pub lam: f64,
    pub mu: f64,
    pub c: u32,
}

impl MMc {
    pub fn utilization(&self) -> f64 {
        self.lam / (self.c as f64 * self.mu)
    }
    pub fn wait_probability(&self) -> f64 {
        erlang_c(self.c, self.lam / self.mu)
    }
    /// Mean sojourn C/(cμ−λ) + 1/μ.
    pub fn mean_sojourn(&self) -> f64 {
        self.wait_probability() / (self.c as f64 * self.mu - self.lam) + 1.0 / self.mu
    }
    /// Sojourn T = W + S with W and the own service S ~ Exp(μ) independent;
    /// W = 0 w.p. 1−C, else Exp(θ) with θ = cμ−λ. So
    /// P(T>t) = (1−C)e^{−μt} + C·P(Exp(θ)+Exp(μ) > t), where the
    /// hypoexponential survival is (θe^{−μt} − μe^{−θt})/(θ−μ), and
    /// e^{−μt}(1+μt) in the limit θ = μ (which is the case at c = 4, ρ = 0.75).
    pub fn sojourn_survival(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        let c = self.wait_probability();
        let mu = self.mu;
        let theta = self.c as f64 * mu - self.lam;
        let hypo = if ((theta - mu) / mu).abs() < 1e-6 {
            (-mu * t).exp() * (1.0 + mu * t)
        } else {
            (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
        };
        (1.0 - c) * (-mu * t).exp() + c * hypo
    }
    pub fn sojourn_quantile(&self, p: f64) -> f64 {
        quantile_from_survival(|t| self.sojourn_survival(t), p)
    }
}

// ---------------------------------------------------------------- M/D/1

/// M/D/1 FCFS: Poisson arrivals `lam`, constant service time `d` seconds.
#[derive(Clone, Copy, Debug)]
pub struct MD1 {
    pub lam: f64,
    pub d: f64,
}

impl MD1 {
    pub fn utilization(&self) -> f64 {
        self.lam * self.d
    }
    /// Pollaczek–Khinchine: E[W] = ρD / (2(1−ρ)); E[T] = E[W] + D.
    pub fn mean_sojourn(&self) -> f64 {
        let r = self.utilization();
        r * self.d / (2.0 * (1.0 - r)) + self.d
    }
    /// Erlang's formula for the FCFS waiting time:
    /// P(W ≤ t) = (1−ρ) Σ_{k=0}^{⌊t/D⌋} (λ(kD−t))^k / k! · e^{−λ(kD−t)}.
    ///
    /// Exact, but the series alternates and its terms grow like e^{λt}: in
    /// f64 it is useless beyond λt ≈ 10 (at ρ = 0.8 it returns 0.59 for
    /// P(W ≤ 35 ms)). Kept only to cross-check [`MD1::wait_cdf`] near 0.
    pub fn wait_cdf_erlang(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        let r = self.utilization();
        let kmax = (t / self.d).floor() as u32;
        let mut sum = 0.0;
        for k in 0..=kmax {
            let x = self.lam * (k as f64 * self.d - t); // ≤ 0
            sum += pow_over_fact(x, k) * (-x).exp();
        }
        (1.0 - r) * sum
    }

    /// Grid steps per service time D in [`MD1::wait_table`].
    const STEPS_PER_D: usize = 2000;

    /// P(W ≤ i·h) for h = D/2000 and i up to `upto`/h, by integrating the
    /// delay-differential equation that Lindley's equation gives for the
    /// waiting-time CDF F:
    ///   F(x) = (1−ρ)e^{λx} on [0, D),   F'(x) = λ(F(x) − F(x−D)) for x ≥ D
    /// (differentiate F(x) = λe^{λ(x−D)} ∫_{max(0,x−D)}^∞ F(u)e^{−λu} du).
    ///
    /// Stable, unlike Erlang's series: every root σ ≠ 0 of the characteristic
    /// equation σ = λ(1 − e^{−σD}) has Re σ < 0 when ρ < 1 (for σ = a+ib with
    /// a ≥ 0, |b| = λe^{−aD}|sin bD| ≤ ρ|b| forces b = 0, and there is no real
    /// positive root), so errors are not amplified. The implicit trapezoid
    /// rule is A-stable and second order; with λh ≤ 4·10⁻⁴ the global error is
    /// ~10⁻⁷, which the unit tests confirm against Erlang's formula near 0
    /// and the P–K mean.
    pub fn wait_table(&self, upto: f64) -> (f64, Vec<f64>) {
        let m = Self::STEPS_PER_D;
        let h = self.d / m as f64;
        let n = (upto / h).ceil() as usize + 1;
        let r = self.utilization();
        let mut f = Vec::with_capacity(n.max(m + 1));
        for i in 0..m {
            f.push((1.0 - r) * (self.lam * i as f64 * h).exp());
        }
        // Continuous at D: the left limit of the first segment.
        f.push((1.0 - r) * (self.lam * self.d).exp());
        let g = 0.5 * h * self.lam;
        while f.len() < n {
            let i = f.len() - 1; // x_i = i·h ≥ D; step to x_{i+1}
            let delayed_i = f[i - m];
            let delayed_next = f[i + 1 - m];
            let next = (f[i] * (1.0 + g) - g * (delayed_i + delayed_next)) / (1.0 - g);
            f.push(next);
        }
        (h, f)
    }
    /// P(W ≤ t), linear between grid points of [`MD1::wait_table`].
    pub fn wait_cdf(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        let (h, f) = self.wait_table(t + self.d);
        let x = t / h;
        let i = x.floor() as usize;
        let w = x - i as f64;
        f[i] * (1.0 - w) + f[i + 1] * w
    }
    /// The `p`-quantile of the sojourn T = W + D.
    pub fn sojourn_quantile(&self, p: f64) -> f64 {
        let mut upto = 20.0 * self.d;
        loop {
            let (h, f) = self.wait_table(upto);
            if let Some(i) = f.iter().position(|&v| v >= p) {
                // Atom at 0: W = 0 with probability 1−ρ ≥ p.
                if i == 0 {
                    return self.d;
                }
                let w = (p - f[i - 1]) / (f[i] - f[i - 1]);
                return (i as f64 - 1.0 + w) * h + self.d;
            }
            upto *= 2.0;
            assert!(upto < 1e6 * self.d, "M/D/1 quantile diverged");
        }
    }
}

// ---------------------------------------------------------------- M/M/c/K

/// M/M/c/K: `c` servers of rate `mu`, at most `k` in the system (in service
/// plus waiting); arrivals finding `k` present are blocked (lost).
#[derive(Clone, Debug)]
pub struct MMcK {
    pub lam: f64,
    pub mu: f64,
    pub c: u32,
    pub k: u32,
}

impl MMcK {
    /// Stationary distribution p_0..p_K of the number in system:
    /// p_n ∝ a^n/n! for n ≤ c, a^c/c! · (a/c)^{n−c} above, a = λ/μ.
    pub fn distribution(&self) -> Vec<f64> {
        let a = self.lam / self.mu;
        let c = self.c;
        let un: Vec<f64> =
            (0..=self.k)
                .map(|n| {
                    if n <= c { pow_over_fact(a, n) } else { pow_over_fact(a, c) * (a / c as f64).powi((n - c) as i32) }
                })
                .collect();
        let s: f64 = un.iter().sum();
        un.into_iter().map(|x| x / s).collect()
    }
    /// Blocking probability p_K (PASTA: what an arrival sees).
    pub fn blocking(&self) -> f64 {
        *self.distribution().last().unwrap_or(&0.0)
    }
    /// Throughput of admitted requests λ(1 − p_K).
    pub fn throughput(&self) -> f64 {
        self.lam * (1.0 - self.blocking())
    }
    /// Mean number of busy servers / c.
    pub fn utilization(&self) -> f64 {
        let p = self.distribution();
        let busy: f64 = p.iter().enumerate().map(|(n, pn)| (n as u32).min(self.c) as f64 * pn).sum();
        busy / self.c as f64
    }
    pub fn mean_in_system(&self) -> f64 {
        self.distribution().iter().enumerate().map(|(n, pn)| n as f64 * pn).sum()
    }
    /// Mean response of admitted requests, by Little's law on the truncated
    /// chain: L / (λ(1 − p_K)).
    pub fn mean_sojourn(&self) -> f64 {
        self.mean_in_system() / self.throughput()
    }
    /// Sojourn survival of admitted requests. An arrival that finds n < K
    /// present (probability p_n/(1−p_K)) is served at once if n < c
    /// (T ~ Exp(μ)); otherwise it waits for n−c+1 departures at rate cμ,
    /// T ~ Erlang(n−c+1, cμ) + Exp(μ), whose survival is
    /// P(E>t) + e^{−μt}(cμ/(cμ−μ))^m P(Erlang(m, cμ−μ) ≤ t).
    pub fn sojourn_survival(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        let p = self.distribution();
        let pk = p[self.k as usize];
        let mu = self.mu;
        let a = self.c as f64 * mu;
        assert!(self.c >= 2, "formula needs cμ > μ");
        let mut s = 0.0;
        for n in 0..self.k {
            let w = p[n as usize] / (1.0 - pk);
            let sf = if n < self.c {
                (-mu * t).exp()
            } else {
                let m = n - self.c + 1;
                erlang_survival(m, a, t)
                    + (-mu * t).exp() * (a / (a - mu)).powi(m as i32) * (1.0 - erlang_survival(m, a - mu, t))
            };
            s += w * sf;
        }
        s
    }
    pub fn sojourn_quantile(&self, p: f64) -> f64 {
        quantile_from_survival(|t| self.sojourn_survival(t), p)
    }
}

// ---------------------------------------------------------------- closed loop

/// A closed loop of `n` users thinking Exp(`z`) between requests to one
/// exponential server of mean `s` (the finite-source / machine-repairman
/// model, M/M/1//N).
#[derive(Clone, Copy, Debug)]
pub struct Closed {
    pub n: u32,
    pub s: f64,
    pub z: f64,
}

impl Closed {
    /// Exact mean value analysis: Q(0) = 0; for m = 1..N:
    /// R(m) = S(1 + Q(m−1)), X(m) = m/(Z + R(m)), Q(m) = X(m)R(m).
    /// Returns (X, R) at N.
    pub fn mva(&self) -> (f64, f64) {
        let mut q = 0.0;
        let (mut x, mut r) = (0.0, 0.0);
        for m in 1..=self.n {
            r = self.s * (1.0 + q);
            x = m as f64 / (self.z + r);
            q = x * r;
        }
        (x, r)
    }
    pub fn throughput(&self) -> f64 {
        self.mva().0
    }
    pub fn mean_response(&self) -> f64 {
        self.mva().1
    }
    pub fn utilization(&self) -> f64 {
        self.throughput() * self.s
    }
    /// Arrival theorem: an arriving request sees the stationary distribution
    /// of the same system with N−1 users, p_k ∝ (N−1)!/(N−1−k)! (S/Z)^k;
    /// with k present its response is Erlang(k+1, 1/S).
    pub fn response_survival(&self, t: f64) -> f64 {
        let m = self.n - 1;
        let ratio = self.s / self.z;
        let mut w = Vec::with_capacity(m as usize + 1);
        let mut acc = 1.0;
        for k in 0..=m {
            if k > 0 {
                acc *= (m - k + 1) as f64 * ratio;
            }
            w.push(acc);
        }
        let total: f64 = w.iter().sum();
        w.iter().enumerate().map(|(k, wk)| wk / total * erlang_survival(k as u32 + 1, 1.0 / self.s, t)).sum()
    }
    pub fn response_quantile(&self, p: f64) -> f64 {
        quantile_from_survival(|t| self.response_survival(t), p)
    }
}

// ---------------------------------------------------------------- Jackson

/// P(Σ_i X_i > t) for independent X_i ~ Exp(rates[i]), rates distinct:
/// Σ_i [Π_{j≠i} r_j/(r_j − r_i)] e^{−r_i t}.
pub fn hypoexp_survival(rates: &[f64], t: f64) -> f64 {
    let t = t.max(0.0);
    let mut s = 0.0;
    for (i, ri) in rates.iter().enumerate() {
        let mut coef = 1.0;
        for (j, rj) in rates.iter().enumerate() {
            if i != j {
                assert!((rj - ri).abs() > 1e-6 * ri, "rates must be distinct");
                coef *= rj / (rj - ri);
            }
        }
        s += coef * (-ri * t).exp();
    }
    s.clamp(0.0, 1.0)
}

/// End-to-end response of a feed-forward network of M/M/1 stations in which
/// a request takes route `i` with probability `routes[i].0` through stations
/// whose sojourn rates (μ − λ at each station) are `routes[i].1`. On an
/// overtake-free route of a Jackson network the station sojourn times are
/// independent (Walrand & Varaiya 1980), so each route's response is
/// hypoexponential and the whole is their mixture.
#[derive(Clone, Debug)]
pub struct Routes(pub Vec<(f64, Vec<f64>)>);

impl Routes {
    pub fn mean(&self) -> f64 {
        self.0.iter().map(|(p, rates)| p * rates.iter().map(|r| 1.0 / r).sum::<f64>()).sum()
    }
    pub fn survival(&self, t: f64) -> f64 {
        self.0.iter().map(|(p, rates)| p * hypoexp_survival(rates, t)).sum()
    }
    pub fn quantile(&self, p: f64) -> f64 {
        quantile_from_survival(|t| self.survival(t), p)
    }
}

// ---------------------------------------------------------------- statistics

/// P(|T| < t) for Student's t with `df` degrees of freedom, exactly, by
/// Abramowitz & Stegun 26.7.3 (odd df) and 26.7.4 (even df), θ = atan(t/√df).
pub fn student_t_two_sided(t: f64, df: u32) -> f64 {
    assert!(df >= 1);
    let theta = (t.abs() / (df as f64).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    if df % 2 == 1 {
        if df == 1 {
            return 2.0 * theta / std::f64::consts::PI;
        }
        let mut coef = 1.0;
        let mut sum = c;
        let mut cpow = c;
        for j in 1..=(df - 3) / 2 {
            coef *= (2 * j) as f64 / (2 * j + 1) as f64;
            cpow *= c * c;
            sum += coef * cpow;
        }
        2.0 / std::f64::consts::PI * (theta + s * sum)
    } else {
        let mut coef = 1.0;
        let mut sum = 1.0;
        let mut cpow = 1.0;
        for j in 1..=(df - 2) / 2 {
            coef *= (2 * j - 1) as f64 / (2 * j) as f64;
            cpow *= c * c;
            sum += coef * cpow;
        }
        s * sum
    }
}

/// The two-sided critical value t with P(|T_df| ≥ t) = alpha.
pub fn student_t_critical(alpha: f64, df: u32) -> f64 {
    let target = 1.0 - alpha;
    let (mut lo, mut hi) = (0.0, 1.0);
    while student_t_two_sided(hi, df) < target {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_two_sided(mid, df) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Sample mean and standard error of the mean of independent replications.
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    assert!(xs.len() >= 2, "need at least two replications");
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn student_t_matches_tables() {
        // Values from standard t tables (3 decimals).
        for (alpha, df, want) in [
            (0.05, 10, 2.228),
            (0.01, 9, 3.250),
            (0.001, 9, 4.781),
            (0.001, 7, 5.408),
            (0.05, 1, 12.706),
            (0.05, 2, 4.303),
            (0.001, 30, 3.646),
        ] {
            let got = student_t_critical(alpha, df);
            assert!((got - want).abs() < 1.5e-3, "t({alpha}, {df}) = {got}, table {want}");
        }
        // Large df approaches the normal 3.291.
        assert!((student_t_critical(0.001, 10_000) - 3.291).abs() < 2e-3);
    }

    #[test]
    fn mean_se_of_known_sample() {
        let (m, se) = mean_se(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // s² = 5/3, se = sqrt(5/12)
        assert!(close(se, (5.0f64 / 12.0).sqrt(), 1e-12));
    }

    #[test]
    fn erlang_c_known_values() {
        // c = 1: C = ρ.
        assert!(close(erlang_c(1, 0.8), 0.8, 1e-12));
        // c = 2, a = 1: C = a²/(2!(1-ρ)) / (1 + a + a²/(2!(1-ρ))) = 1/(2+1) = 1/3.
        assert!(close(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12));
        // Textbook value: c = 4, a = 3 gives C ≈ 0.5094.
        assert!((erlang_c(4, 3.0) - 0.509_43).abs() < 1e-4);
    }

    #[test]
    fn mm1_values() {
        let q = MM1 { lam: 800.0, mu: 1000.0 };
        assert!(close(q.mean_sojourn(), 0.005, 1e-12));
        assert!(close(q.sojourn_quantile(0.99), 100f64.ln() / 200.0, 1e-12));
        let by_bisection = quantile_from_survival(|t| q.sojourn_survival(t), 0.99);
        assert!(close(by_bisection, q.sojourn_quantile(0.99), 1e-9));
        // ∫ survival = mean
        assert!(close(integrate(|t| q.sojourn_survival(t), 0.2, 20_000), 0.005, 1e-7));
        // M/M/c with c = 1 is M/M/1.
        let c1 = MMc { lam: 800.0, mu: 1000.0, c: 1 };
        assert!(close(c1.mean_sojourn(), 0.005, 1e-12));
        assert!(close(c1.sojourn_quantile(0.99), q.sojourn_quantile(0.99), 1e-9));
    }

    #[test]
    fn mmc_survival_integrates_to_mean() {
        // The θ = μ limit (c = 4, μ = 250, λ = 750) and a regular case.
        for q in [
            MMc { lam: 750.0, mu: 250.0, c: 4 },
            MMc { lam: 700.0, mu: 250.0, c: 4 },
            MMc { lam: 15.0, mu: 1.0, c: 20 },
        ] {
            let upper = 80.0 * q.mean_sojourn();
            let m = integrate(|t| q.sojourn_survival(t), upper, 200_000);
            assert!(close(m, q.mean_sojourn(), 1e-6), "{q:?}: {m} vs {}", q.mean_sojourn());
            assert!(close(q.sojourn_survival(0.0), 1.0, 1e-12));
        }
        // Continuity across the θ = μ switch.
        let a = MMc { lam: 750.0, mu: 250.0, c: 4 };
        let b = MMc { lam: 750.0 * (1.0 + 1e-5), mu: 250.0, c: 4 };
        assert!(close(a.sojourn_quantile(0.99), b.sojourn_quantile(0.99), 1e-4));
    }

    #[test]
    fn md1_waiting_time_is_stable_and_matches_pk() {
        let q = MD1 { lam: 800.0, d: 0.001 };
        assert!(close(q.mean_sojourn(), 0.003, 1e-12));
        // Atom at zero and the first segment (1−ρ)e^{λt}.
        assert!(close(q.wait_cdf(0.0), 0.2, 1e-12));
        assert!(close(q.wait_cdf(0.0005), 0.2 * (0.4f64).exp(), 1e-6));
        // Agrees with Erlang's exact series where that is still accurate.
        for i in 0..=50 {
            let t = i as f64 * 1e-4;
            let (a, b) = (q.wait_cdf(t), q.wait_cdf_erlang(t));
            assert!((a - b).abs() < 1e-6, "t = {t}: table {a}, Erlang {b}");
        }
        // …and Erlang's series really is unusable in the tail.
        assert!((q.wait_cdf_erlang(0.035) - 1.0).abs() > 1e-3);
        // The table tends to 1 and is monotone.
        let (h, f) = q.wait_table(0.06);
        assert!((f[f.len() - 1] - 1.0).abs() < 1e-7, "F(60ms) = {}", f[f.len() - 1]);
        assert!(f.windows(2).all(|w| w[1] >= w[0] - 1e-12));
        // ∫ (1 − F) = P–K mean wait ρD/(2(1−ρ)) = 2 ms (trapezoid on the grid).
        let w: f64 = f.windows(2).map(|p| h * (2.0 - p[0] - p[1]) / 2.0).sum();
        assert!(close(w, 0.002, 1e-5), "mean wait {w}");
        // Same at a lighter load.
        let l = MD1 { lam: 500.0, d: 0.001 };
        let (h, f) = l.wait_table(0.04);
        let w: f64 = f.windows(2).map(|p| h * (2.0 - p[0] - p[1]) / 2.0).sum();
        assert!(close(w, 0.0005, 1e-5), "mean wait {w}");
        // The quantile inverts the CDF.
        let p99 = q.sojourn_quantile(0.99);
        assert!((q.wait_cdf(p99 - 0.001) - 0.99).abs() < 1e-9);
        // Below the atom the quantile is D.
        assert_eq!(q.sojourn_quantile(0.1), 0.001);
    }

    #[test]
    fn mmck_values() {
        // K = c: Erlang B loss system, blocking = B(c, a).
        let loss = MMcK { lam: 100.0, mu: 100.0, c: 2, k: 2 };
        // B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2
        assert!(close(loss.blocking(), 0.2, 1e-12));
        // c = 1, K large approaches M/M/1.
        let big = MMcK { lam: 80.0, mu: 100.0, c: 2, k: 400 };
        let mmc = MMc { lam: 80.0, mu: 100.0, c: 2 };
        assert!(close(big.mean_sojourn(), mmc.mean_sojourn(), 1e-9));
        assert!(close(big.utilization(), 0.4, 1e-9));
        // The chosen case: c = 2, K = 6, λ = 160/s, μ = 100/s.
        let q = MMcK { lam: 160.0, mu: 100.0, c: 2, k: 6 };
        let p = q.distribution();
        assert!(close(p.iter().sum::<f64>(), 1.0, 1e-12));
        assert!((0.05..=0.10).contains(&q.blocking()), "{}", q.blocking());
        // Flow balance: utilization·c·μ = throughput.
        assert!(close(q.utilization() * 2.0 * 100.0, q.throughput(), 1e-12));
        // ∫ survival of admitted requests = Little's mean.
        let m = integrate(|t| q.sojourn_survival(t), 0.6, 200_000);
        assert!(close(m, q.mean_sojourn(), 1e-6), "{m} vs {}", q.mean_sojourn());
    }

    #[test]
    fn closed_mva_and_distribution_agree() {
        // One user: no queueing, R = S, X = 1/(S+Z).
        let one = Closed { n: 1, s: 0.01, z: 0.09 };
        assert!(close(one.mean_response(), 0.01, 1e-12));
        assert!(close(one.throughput(), 10.0, 1e-12));
        let q = Closed { n: 10, s: 0.01, z: 0.09 };
        let (x, r) = q.mva();
        // Response-time law holds for the exact solution.
        assert!(close(r, 10.0 / x - 0.09, 1e-12));
        // Asymptotic bounds: N/(Z + N·S) ≤ X ≤ min(N/(S+Z), 1/S) = 100/s.
        assert!((10.0 / (0.09 + 10.0 * 0.01)..=100.0).contains(&x), "{x}");
        // Arrival-theorem distribution integrates to the MVA mean.
        let m = integrate(|t| q.response_survival(t), 1.0, 200_000);
        assert!(close(m, r, 1e-6), "{m} vs {r}");
        // Utilization equals 1 − p0 of the machine-repairman chain.
        let ratio: f64 = 0.01 / 0.09;
        let mut w = vec![1.0f64];
        for k in 1..=10u32 {
            let last = *w.last().unwrap_or(&1.0);
            w.push(last * (10 - k + 1) as f64 * ratio);
        }
        let p0 = 1.0 / w.iter().sum::<f64>();
        assert!(close(q.utilization(), 1.0 - p0, 1e-9));
    }

    #[test]
    fn routes_mixture() {
        // One route of one station is M/M/1.
        let one = Routes(vec![(1.0, vec![200.0])]);
        let q = MM1 { lam: 800.0, mu: 1000.0 };
        assert!(close(one.quantile(0.99), q.sojourn_quantile(0.99), 1e-9));
        // Two stations: matches the closed form of Exp(a) + Exp(b).
        let (a, b) = (150.0f64, 40.0f64);
        let t = 0.03f64;
        let want = (b * (-a * t).exp() - a * (-b * t).exp()) / (b - a);
        assert!(close(hypoexp_survival(&[a, b], t), want, 1e-12));
        // The Jackson case: ∫ survival = mean = 39.17 ms.
        let j =
            Routes(vec![(0.6, vec![150.0, 40.0]), (0.2, vec![150.0, 160.0]), (0.2, vec![150.0, 160.0, 40.0 / 3.0])]);
        assert!(close(j.mean(), 1.0 / 150.0 + 0.015 + 0.4 * (0.00625 + 0.0375), 1e-12));
        let m = integrate(|t| j.survival(t), 3.0, 300_000);
        assert!(close(m, j.mean(), 1e-6), "{m}");
    }

    #[test]
    fn erlang_survival_values() {
        assert!(close(erlang_survival(1, 2.0, 0.5), (-1.0f64).exp(), 1e-12));
        assert!(close(erlang_survival(2, 1.0, 1.0), 2.0 * (-1.0f64).exp(), 1e-12));
        assert_eq!(erlang_survival(3, 1.0, 0.0), 1.0);
    }
}
