//! Distributions of durations: what a work step, delay or network latency is
//! drawn from, its exact mean, and how it prints back as topology syntax.
//!
//! What this module does: holds *validated* distributions with everything a
//! draw needs precomputed at construction (lognormal μ/σ, bounded-Pareto
//! constants, percentile segment slopes, cumulative mix weights), so
//! [`Dist::sample`] never allocates; computes analytic means
//! ([`Dist::mean_ns`]); renders a distribution in the syntax it was written
//! in (`Display`). Constructors (`Dist::uniform`, `Dist::gamma`, …) check
//! every parameter and say which argument is wrong ([`ParamError`]).
//!
//! What it does not: parse text or read files (`crate::spec::dist` does),
//! or own randomness (draws come from the caller's [`RngStream`]).
//!
//! Conventions: internally durations are `f64` nanoseconds; every draw is
//! rounded to the nearest nanosecond and is never negative.
//! `normal(mean, sd)` is truncated at 0 by *resampling* (rejection), which
//! keeps the shape of the normal above 0, and [`Dist::mean_ns`] is the mean
//! of that truncated normal. A mean is a duration and so never negative,
//! hence at least half the draws are accepted (two normal samples per draw
//! at worst on average); after 64 rejections in a row (probability
//! ≤ 2⁻⁶⁴) the draw is 0.

use crate::engine::{RngStream, SimDuration};
use rand_distr::{Distribution, Gamma, LogNormal, Normal, Weibull};
use std::fmt;

/// A distribution of non-negative durations, in nanoseconds.
///
/// `Const` and `Exp` may be built directly; the other forms only through
/// their checked constructors, so every value of this type can be sampled.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// A fixed duration: `5ms`.
    Const(SimDuration),
    /// Exponential with this mean: `exp(5ms)`.
    Exp(SimDuration),
    /// `uniform(lo, hi)`.
    Uniform(Uniform),
    /// `normal(mean, sd)`, truncated at 0 by resampling.
    Normal(TruncNormal),
    /// `lognormal(median=…, p99=…)` or `lognormal(mean=…, sd=…)`.
    LogNormal(LogNormalDist),
    /// `gamma(shape=…, mean=…)` or `erlang(k=…, mean=…)`.
    Gamma(GammaDist),
    /// `weibull(shape=…, scale=…)`.
    Weibull(WeibullDist),
    /// `pareto(min=…, alpha=…, max=…)`: Pareto truncated to `[min, max]`.
    Pareto(BoundedPareto),
    /// `percentiles(p50=…, …, max=…)`: piecewise-linear inverse CDF.
    Percentiles(Percentiles),
    /// `empirical(file=…)`: resampled observations.
    Empirical(Empirical),
    /// `mix(w: dist, …)`: a weighted mixture.
    Mix(Mix),
    /// `per(ATTR, 20us)`: a request attribute times a duration; draws
    /// nothing. Only [`Dist::per_attribute`] gives its value;
    /// [`Dist::sample`] and [`Dist::mean_ns`] know no request and say 0.
    Per(PerAttr),
}

/// `per(ATTR, unit)`: the attribute named `name` (slot `slot` of a
/// request's attribute vector) times `unit`.
#[derive(Clone, Debug, PartialEq)]
pub struct PerAttr {
    pub name: String,
    /// Set when the model's attribute table is known (`u16::MAX` before).
    pub slot: u16,
    pub unit: SimDuration,
}

/// A parameter a constructor refused.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    /// The argument at fault: an index into the constructor's arguments (for
    /// `percentiles` and `mix`, into its list); `None`: the call as a whole.
    pub arg: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

fn bad(arg: Option<usize>, message: String) -> ParamError {
    ParamError { arg, message, hint: None }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Uniform {
    lo: SimDuration,
    hi: SimDuration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TruncNormal {
    mean: SimDuration,
    sd: SimDuration,
    sampler: Normal<f64>,
    mean_ns: f64,
}

#[derive(Clone, Debug, PartialEq)]
enum LogNormalForm {
    /// The median and one upper percentile (`pct` in percent, e.g. 99).
    Quantile {
        median: SimDuration,
        pct: f64,
        value: SimDuration,
    },
    MeanSd {
        mean: SimDuration,
        sd: SimDuration,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogNormalDist {
    form: LogNormalForm,
    sampler: LogNormal<f64>,
    mean_ns: f64,
}

#[derive(Clone, Debug, PartialEq)]
enum GammaForm {
    Shape(f64),
    Erlang(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct GammaDist {
    form: GammaForm,
    mean: SimDuration,
    sampler: Gamma<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WeibullDist {
    shape: f64,
    scale: SimDuration,
    sampler: Weibull<f64>,
    mean_ns: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BoundedPareto {
    min: SimDuration,
    alpha: f64,
    max: SimDuration,
    /// `1 - (min/max)^alpha`: the mass of the untruncated Pareto below max.
    mass: f64,
    mean_ns: f64,
}

/// One knot of a piecewise-linear inverse CDF.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Knot {
    /// Cumulative probability in [0, 1].
    q: f64,
    /// Value in ns at `q`.
    v: f64,
    /// ns per unit of probability up to the next knot.
    slope: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Percentiles {
    /// As given, sorted by percentile: (percent, value).
    points: Vec<(f64, SimDuration)>,
    /// Knots from q = 0 (min, or 0) to q = 1 (max).
    knots: Box<[Knot]>,
    mean_ns: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Empirical {
    file: String,
    column: Option<String>,
    values: Box<[SimDuration]>,
    mean_ns: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// (weight as written, part).
    parts: Box<[(f64, Dist)]>,
    /// Cumulative normalised weights; the last is 1.
    cum: Box<[f64]>,
    mean_ns: f64,
}

#[inline]
fn ns(d: SimDuration) -> f64 {
    d.0 as f64
}

/// Rounds to the nanosecond; negative and NaN give 0, huge saturates
/// (float-to-int `as` casts saturate).
#[inline]
fn round_ns(x: f64) -> SimDuration {
    // `as` saturates (NaN → 0, negative → 0); adding 0.5 rounds half up
    // without a libm call on the hot path.
    SimDuration((x + 0.5) as u64)
}

/// Standard normal quantiles of the percentiles a lognormal accepts next to
/// its median.
const LOGNORMAL_Z: [(f64, f64); 5] = [
    (75.0, 0.674_489_750_196_081_7),
    (90.0, 1.281_551_565_544_600_4),
    (95.0, 1.644_853_626_951_472_2),
    (99.0, 2.326_347_874_040_840_8),
    (99.9, 3.090_232_306_167_813_5),
];

/// Percentiles a lognormal accepts next to its median, as keys.
const LOGNORMAL_KEYS: [&str; 5] = ["p75", "p90", "p95", "p99", "p99.9"];

/// Erf for x ≥ 0 by the series erf x = 2/√π·e^(−x²)·Σ (2x²)ⁿ·x / (2n+1)!!,
/// whose terms are all positive (relative error ~1e-14 up to x = 6).
fn erf_nonneg(x: f64) -> f64 {
    if x > 6.0 {
        return 1.0; // erfc(6) ≈ 2e-17
    }
    let x2 = x * x;
    let (mut term, mut sum) = (x, x);
    let mut n = 0.0;
    while term > sum * 1e-17 && n < 1000.0 {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
    }
    (2.0 / std::f64::consts::PI.sqrt() * (-x2).exp() * sum).min(1.0)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms; ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Renders a percent as a key: `min`, `max`, `p50`, `p99.9`.
fn pct_key(pct: f64) -> String {
    if pct == 0.0 {
        "min".into()
    } else if pct == 100.0 {
        "max".into()
    } else {
        format!("p{pct}")
    }
}

impl Dist {
    /// `uniform(lo, hi)`; `lo` may equal `hi`.
    pub fn uniform(lo: SimDuration, hi: SimDuration) -> Result<Dist, ParamError> {
        if lo > hi {
            return Err(ParamError {
                arg: Some(1),
                message: format!("uniform's upper bound {hi} is below its lower bound {lo}"),
                hint: Some(format!("write the smaller bound first: uniform({hi}, {lo})")),
            });
        }
        Ok(Dist::Uniform(Uniform { lo, hi }))
    }

    /// `normal(mean, sd)` truncated at 0 (see the module doc).
    pub fn normal(mean: SimDuration, sd: SimDuration) -> Result<Dist, ParamError> {
        let (m, s) = (ns(mean), ns(sd));
        let sampler = Normal::new(m, s).map_err(|e| bad(Some(1), format!("normal: {e}")))?;
        let mean_ns = if s == 0.0 {
            m
        } else {
            // E[X | X ≥ 0] = μ + σ·φ(μ/σ)/Φ(μ/σ).
            let z = m / s;
            let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let cdf = 0.5 + 0.5 * erf_nonneg(z / std::f64::consts::SQRT_2);
            m + s * pdf / cdf
        };
        Ok(Dist::Normal(TruncNormal { mean, sd, sampler, mean_ns }))
    }

    /// `lognormal(median=…, pXX=…)`, `pct` one of 75, 90, 95, 99, 99.9.
    /// Arguments: 0 the median, 1 the percentile value.
    pub fn lognormal_quantile(median: SimDuration, pct: f64, value: SimDuration) -> Result<Dist, ParamError> {
        let Some(&(_, z)) = LOGNORMAL_Z.iter().find(|(p, _)| *p == pct) else {
            return Err(ParamError {
                arg: Some(1),
                message: format!("lognormal cannot be fitted to {}", pct_key(pct)),
                hint: Some(format!("give the median with one of {}", LOGNORMAL_KEYS.join(", "))),
            });
        };
        if median.0 == 0 {
            return Err(bad(Some(0), "lognormal's median must be above 0".into()));
        }
        if value <= median {
            return Err(ParamError {
                arg: Some(1),
                message: format!("{} ({value}) must be above the median ({median})", pct_key(pct)),
                hint: Some(format!("for a fixed duration write just {median}")),
            });
        }
        let mu = ns(median).ln();
        let sigma = (ns(value) / ns(median)).ln() / z;
        let sampler = LogNormal::new(mu, sigma).map_err(|e| bad(Some(1), format!("lognormal: {e}")))?;
        Ok(Dist::LogNormal(LogNormalDist {
            form: LogNormalForm::Quantile { median, pct, value },
            sampler,
            mean_ns: (mu + 0.5 * sigma * sigma).exp(),
        }))
    }

    /// `lognormal(mean=…, sd=…)`. Arguments: 0 the mean, 1 the sd.
    pub fn lognormal_mean_sd(mean: SimDuration, sd: SimDuration) -> Result<Dist, ParamError> {
        if mean.0 == 0 {
            return Err(bad(Some(0), "lognormal's mean must be above 0".into()));
        }
        let cv = ns(sd) / ns(mean);
        let sigma2 = (cv * cv).ln_1p();
        let mu = ns(mean).ln() - 0.5 * sigma2;
        let sampler = LogNormal::new(mu, sigma2.sqrt()).map_err(|e| bad(Some(1), format!("lognormal: {e}")))?;
        Ok(Dist::LogNormal(LogNormalDist { form: LogNormalForm::MeanSd { mean, sd }, sampler, mean_ns: ns(mean) }))
    }

    /// `gamma(shape=…, mean=…)`. Arguments: 0 shape, 1 mean.
    pub fn gamma(shape: f64, mean: SimDuration) -> Result<Dist, ParamError> {
        if !(shape.is_finite() && shape > 0.0) {
            return Err(bad(Some(0), format!("gamma's shape must be a positive number, found {shape}")));
        }
        Self::gamma_form(GammaForm::Shape(shape), shape, mean, "gamma")
    }

    /// `erlang(k=…, mean=…)`: the sum of `k` exponentials. Arguments: 0 k,
    /// 1 mean. `k` must be a whole number ≥ 1.
    pub fn erlang(k: f64, mean: SimDuration) -> Result<Dist, ParamError> {
        if !(k.fract() == 0.0 && (1.0..=1e6).contains(&k)) {
            return Err(ParamError {
                arg: Some(0),
                message: format!("erlang's k must be a whole number from 1 up, found {k}"),
                hint: Some("for a non-integer shape use gamma(shape=…, mean=…)".into()),
            });
        }
        Self::gamma_form(GammaForm::Erlang(k as u32), k, mean, "erlang")
    }

    fn gamma_form(form: GammaForm, shape: f64, mean: SimDuration, name: &str) -> Result<Dist, ParamError> {
        if mean.0 == 0 {
            return Err(ParamError {
                arg: Some(1),
                message: format!("{name}'s mean must be above 0"),
                hint: Some("for no delay write 0ms".into()),
            });
        }
        let sampler = Gamma::new(shape, ns(mean) / shape).map_err(|e| bad(Some(0), format!("{name}: {e}")))?;
        Ok(Dist::Gamma(GammaDist { form, mean, sampler }))
    }

    /// `weibull(shape=…, scale=…)`. Arguments: 0 shape, 1 scale.
    pub fn weibull(shape: f64, scale: SimDuration) -> Result<Dist, ParamError> {
        if !(shape.is_finite() && shape > 0.0) {
            return Err(bad(Some(0), format!("weibull's shape must be a positive number, found {shape}")));
        }
        if scale.0 == 0 {
            return Err(bad(Some(1), "weibull's scale must be above 0".into()));
        }
        let mean_ns = ns(scale) * ln_gamma(1.0 + 1.0 / shape).exp();
        if !mean_ns.is_finite() {
            return Err(bad(Some(0), format!("weibull's shape {shape} is so small that its mean is unbounded")));
        }
        let sampler = Weibull::new(ns(scale), shape).map_err(|e| bad(Some(0), format!("weibull: {e}")))?;
        Ok(Dist::Weibull(WeibullDist { shape, scale, sampler, mean_ns }))
    }

    /// `pareto(min=…, alpha=…, max=…)`: the Pareto with tail index `alpha`
    /// truncated to `[min, max]`. Arguments: 0 min, 1 alpha, 2 max.
    pub fn pareto(min: SimDuration, alpha: f64, max: SimDuration) -> Result<Dist, ParamError> {
        if min.0 == 0 {
            return Err(bad(Some(0), "pareto's min must be above 0".into()));
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(bad(Some(1), format!("pareto's alpha must be a positive number, found {alpha}")));
        }
        if max <= min {
            return Err(bad(Some(2), format!("pareto's max ({max}) must be above its min ({min})")));
        }
        // l = ln(min/max) < 0; with x^a meaning e^{a·l}:
        // mass = 1 − (min/max)^α; the mean is
        // α·min·(1 − (min/max)^(α−1)) / ((α−1)·mass), whose ratio at α = 1
        // tends to −l; expm1 keeps it accurate near there.
        let l = (ns(min) / ns(max)).ln();
        let mass = -(alpha * l).exp_m1();
        let t = alpha - 1.0;
        let ratio = if t.abs() < 1e-12 { -l } else { -(t * l).exp_m1() / t };
        let mean_ns = alpha * ns(min) * ratio / mass;
        Ok(Dist::Pareto(BoundedPareto { min, alpha, max, mass, mean_ns }))
    }

    /// `percentiles(…)` from `(percent, value)` points in any order;
    /// percent 0 is `min`, 100 is `max` (required). Without `min` the lower
    /// anchor is 0. Arguments: indices into `points`.
    pub fn percentiles(points: Vec<(f64, SimDuration)>) -> Result<Dist, ParamError> {
        for (i, &(pct, _)) in points.iter().enumerate() {
            if !(0.0..=100.0).contains(&pct) {
                return Err(bad(Some(i), format!("percentile {pct} is outside 0..100")));
            }
            if points[..i].iter().any(|&(p, _)| p == pct) {
                return Err(bad(Some(i), format!("{} is given twice", pct_key(pct))));
            }
        }
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
        if !order.last().is_some_and(|&i| points[i].0 == 100.0) {
            let highest = order.last().map_or(SimDuration::ZERO, |&i| points[i].1);
            let example = SimDuration(highest.0.saturating_mul(2).max(1_000_000));
            return Err(ParamError {
                arg: None,
                message: "percentiles needs max=: the longest a draw can take".into(),
                hint: Some(format!(
                    "add max= above your highest percentile, e.g. max={example}; \
                     draws above it are spread linearly up to max"
                )),
            });
        }
        for w in order.windows(2) {
            let (a, b) = (points[w[0]], points[w[1]]);
            if b.1 < a.1 {
                return Err(ParamError {
                    arg: Some(w[1]),
                    message: format!("{} ({}) is below {} ({})", pct_key(b.0), b.1, pct_key(a.0), a.1),
                    hint: Some("percentiles must not decrease as the percentile grows".into()),
                });
            }
        }
        let sorted: Vec<(f64, SimDuration)> = order.iter().map(|&i| points[i]).collect();
        let mut qv: Vec<(f64, f64)> = Vec::with_capacity(sorted.len() + 1);
        if sorted[0].0 > 0.0 {
            qv.push((0.0, 0.0));
        }
        qv.extend(sorted.iter().map(|&(p, v)| (p / 100.0, ns(v))));
        let mut knots: Vec<Knot> = Vec::with_capacity(qv.len());
        let mut mean_ns = 0.0;
        for (i, &(q, v)) in qv.iter().enumerate() {
            let slope = match qv.get(i + 1) {
                Some(&(q1, v1)) => {
                    mean_ns += (q1 - q) * (v + v1) / 2.0;
                    (v1 - v) / (q1 - q)
                }
                None => 0.0,
            };
            knots.push(Knot { q, v, slope });
        }
        // max is at q = 1 and an anchor at q = 0 exists, so there are at
        // least two knots: `sample` relies on it.
        debug_assert!(knots.len() >= 2, "percentiles: fewer than two knots");
        Ok(Dist::Percentiles(Percentiles { points: sorted, knots: knots.into_boxed_slice(), mean_ns }))
    }

    /// `empirical(file=…[, column=…])` over observed `values`; `file` and
    /// `column` are kept as written, for display.
    pub fn empirical(file: String, column: Option<String>, values: Vec<SimDuration>) -> Result<Dist, ParamError> {
        if values.is_empty() {
            return Err(bad(None, format!("empirical file '{file}' has no values")));
        }
        if values.len() > u32::MAX as usize {
            return Err(bad(None, format!("empirical file '{file}' has more than 2^32 values")));
        }
        let sum: u128 = values.iter().map(|d| d.0 as u128).sum();
        let mean_ns = sum as f64 / values.len() as f64;
        Ok(Dist::Empirical(Empirical { file, column, values: values.into_boxed_slice(), mean_ns }))
    }

    /// `mix(w: dist, …)`: weights must be positive; they are normalised.
    /// Arguments: indices into `parts`.
    pub fn mix(parts: Vec<(f64, Dist)>) -> Result<Dist, ParamError> {
        if parts.is_empty() {
            return Err(ParamError {
                arg: None,
                message: "mix needs at least one weighted part".into(),
                hint: Some("e.g. mix(0.9: exp(2ms), 0.1: exp(50ms))".into()),
            });
        }
        for (i, (w, _)) in parts.iter().enumerate() {
            if !(w.is_finite() && *w > 0.0) {
                return Err(bad(Some(i), format!("mix weights must be positive, found {w}")));
            }
        }
        let total: f64 = parts.iter().map(|(w, _)| w).sum();
        let mut acc = 0.0;
        let mut cum: Vec<f64> = parts
            .iter()
            .map(|(w, _)| {
                acc += w;
                acc / total
            })
            .collect();
        if let Some(last) = cum.last_mut() {
            *last = 1.0;
        }
        let mean_ns = parts.iter().map(|(w, d)| w / total * d.mean_ns()).sum();
        Ok(Dist::Mix(Mix { parts: parts.into_boxed_slice(), cum: cum.into_boxed_slice(), mean_ns }))
    }

    /// One draw, rounded to the nanosecond, never negative.
    pub fn sample(&self, rng: &mut RngStream) -> SimDuration {
        match self {
            Dist::Const(d) => *d,
            Dist::Exp(m) => round_ns(rng.exp(ns(*m))),
            Dist::Uniform(u) => round_ns(ns(u.lo) + (ns(u.hi) - ns(u.lo)) * rng.unit()),
            Dist::Normal(n) => {
                for _ in 0..64 {
                    let x = n.sampler.sample(rng.raw());
                    if x >= 0.0 {
                        return round_ns(x);
                    }
                }
                SimDuration::ZERO
            }
            Dist::LogNormal(l) => round_ns(l.sampler.sample(rng.raw())),
            Dist::Gamma(g) => round_ns(g.sampler.sample(rng.raw())),
            Dist::Weibull(w) => round_ns(w.sampler.sample(rng.raw())),
            Dist::Pareto(p) => {
                // Inverse CDF: F(x) = (1 − (min/x)^α) / mass on [min, max].
                let u = rng.unit();
                let x = ns(p.min) * (1.0 - u * p.mass).powf(-1.0 / p.alpha);
                round_ns(x.min(ns(p.max)))
            }
            Dist::Percentiles(p) => {
                let u = rng.unit();
                let i = p.knots.partition_point(|k| k.q <= u);
                let k = &p.knots[i.clamp(1, p.knots.len() - 1) - 1];
                round_ns(k.v + (u - k.q) * k.slope)
            }
            Dist::Empirical(e) => e.values[rng.below(e.values.len() as u32) as usize],
            Dist::Mix(m) => {
                let u = rng.unit();
                let i = m.cum.partition_point(|&c| c <= u).min(m.parts.len() - 1);
                m.parts[i].1.sample(rng)
            }
            Dist::Per(_) => SimDuration::ZERO,
        }
    }

    /// For `per(ATTR, unit)`: the attribute in `attrs` times the unit, or
    /// `Err(name)` when the request does not carry it. `None`: not a `per`.
    pub fn per_attribute(&self, attrs: Option<&[f64]>) -> Option<Result<SimDuration, &str>> {
        let Dist::Per(p) = self else { return None };
        let x = attrs.and_then(|a| a.get(p.slot as usize)).copied().filter(|x| x.is_finite() && *x >= 0.0);
        Some(x.map(|x| round_ns(x * ns(p.unit))).ok_or(p.name.as_str()))
    }

    /// The mean in nanoseconds: analytic where one exists (the truncated
    /// mean for `normal`, the mean of the piecewise-linear inverse CDF for
    /// `percentiles`), the sample mean for `empirical`.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Const(d) | Dist::Exp(d) => ns(*d),
            Dist::Uniform(u) => (ns(u.lo) + ns(u.hi)) / 2.0,
            Dist::Normal(n) => n.mean_ns,
            Dist::LogNormal(l) => l.mean_ns,
            Dist::Gamma(g) => ns(g.mean),
            Dist::Weibull(w) => w.mean_ns,
            Dist::Pareto(p) => p.mean_ns,
            Dist::Percentiles(p) => p.mean_ns,
            Dist::Empirical(e) => e.mean_ns,
            Dist::Mix(m) => m.mean_ns,
            Dist::Per(_) => 0.0,
        }
    }

    /// True when every draw is 0 (`0ms`, `exp(0ms)`, `uniform(0ms, 0ms)`,
    /// `percentiles(max=0ms)`, …), so a caller can skip the draw entirely.
    pub fn is_zero(&self) -> bool {
        match self {
            Dist::Const(d) | Dist::Exp(d) => d.0 == 0,
            Dist::Uniform(u) => u.hi.0 == 0,
            Dist::Normal(n) => n.mean.0 == 0 && n.sd.0 == 0,
            Dist::LogNormal(_) | Dist::Gamma(_) | Dist::Weibull(_) | Dist::Pareto(_) => false,
            Dist::Percentiles(p) => p.points.last().is_some_and(|(_, v)| v.0 == 0),
            Dist::Empirical(e) => e.values.iter().all(|v| v.0 == 0),
            Dist::Mix(m) => m.parts.iter().all(|(_, d)| d.is_zero()),
            Dist::Per(p) => p.unit.0 == 0,
        }
    }
}

/// Writes a file name, quoted when it would not read back bare.
fn write_path(f: &mut fmt::Formatter<'_>, p: &str) -> fmt::Result {
    let plain = !p.is_empty() && !p.chars().any(|c| c.is_whitespace() || ",()=:\"'".contains(c));
    if plain {
        f.write_str(p)
    } else if p.contains('"') {
        write!(f, "'{p}'")
    } else {
        write!(f, "\"{p}\"")
    }
}

impl fmt::Display for Dist {
    /// The topology syntax: `exp(5ms)`, `lognormal(median=2ms, p99=20ms)`…
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dist::Const(d) => write!(f, "{d}"),
            Dist::Exp(m) => write!(f, "exp({m})"),
            Dist::Uniform(u) => write!(f, "uniform({}, {})", u.lo, u.hi),
            Dist::Normal(n) => write!(f, "normal({}, {})", n.mean, n.sd),
            Dist::LogNormal(l) => match &l.form {
                LogNormalForm::Quantile { median, pct, value } => {
                    write!(f, "lognormal(median={median}, {}={value})", pct_key(*pct))
                }
                LogNormalForm::MeanSd { mean, sd } => write!(f, "lognormal(mean={mean}, sd={sd})"),
            },
            Dist::Gamma(g) => match g.form {
                GammaForm::Shape(s) => write!(f, "gamma(shape={s}, mean={})", g.mean),
                GammaForm::Erlang(k) => write!(f, "erlang(k={k}, mean={})", g.mean),
            },
            Dist::Weibull(w) => write!(f, "weibull(shape={}, scale={})", w.shape, w.scale),
            Dist::Pareto(p) => write!(f, "pareto(min={}, alpha={}, max={})", p.min, p.alpha, p.max),
            Dist::Percentiles(p) => {
                f.write_str("percentiles(")?;
                for (i, (pct, v)) in p.points.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}={v}", pct_key(*pct))?;
                }
                f.write_str(")")
            }
            Dist::Empirical(e) => {
                f.write_str("empirical(file=")?;
                write_path(f, &e.file)?;
                if let Some(c) = &e.column {
                    f.write_str(", column=")?;
                    write_path(f, c)?;
                }
                f.write_str(")")
            }
            Dist::Mix(m) => {
                f.write_str("mix(")?;
                for (i, (w, d)) in m.parts.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{w}: {d}")?;
                }
                f.write_str(")")
            }
            Dist::Per(p) => write!(f, "per({}, {})", p.name, p.unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn us(n: u64) -> SimDuration {
        SimDuration::from_micros(n)
    }

    fn draws(d: &Dist, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = RngStream::derive(seed, "dist-test", "d");
        (0..n).map(|_| d.sample(&mut rng).0 as f64).collect()
    }

    /// Sample mean of 200k draws against `mean_ns`, within 5 standard
    /// errors (sd estimated from the same draws; a false alarm at 5 SE has
    /// probability ~6e-7 for a normal mean, and 200k draws make the CLT hold
    /// even for the bounded Pareto) plus 0.5 ns for rounding every draw to
    /// the nanosecond.
    fn assert_mean(d: &Dist) {
        let n = 200_000;
        let xs = draws(d, n, 11);
        let m = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        let tol = 5.0 * (var / n as f64).sqrt() + 0.5;
        let want = d.mean_ns();
        assert!((m - want).abs() <= tol, "{d}: sample mean {m} vs mean_ns {want}, tolerance {tol}");
    }

    /// Fraction of `xs` at or below `v`.
    fn cdf(xs: &[f64], v: SimDuration) -> f64 {
        xs.iter().filter(|&&x| x <= v.0 as f64).count() as f64 / xs.len() as f64
    }

    /// The empirical CDF at `v` is `q` within 5 binomial standard errors.
    fn assert_cdf(xs: &[f64], v: SimDuration, q: f64) {
        let got = cdf(xs, v);
        let tol = 5.0 * (q * (1.0 - q) / xs.len() as f64).sqrt() + 1e-9;
        assert!((got - q).abs() <= tol, "P(X <= {v}) = {got}, want {q} ± {tol}");
    }

    fn every_form() -> Vec<Dist> {
        vec![
            Dist::Const(ms(3)),
            Dist::Exp(ms(5)),
            Dist::uniform(ms(1), ms(3)).unwrap(),
            Dist::normal(ms(10), ms(2)).unwrap(),
            Dist::normal(ms(2), ms(4)).unwrap(),
            Dist::lognormal_quantile(ms(2), 99.0, ms(20)).unwrap(),
            Dist::lognormal_mean_sd(ms(4), ms(3)).unwrap(),
            Dist::gamma(2.0, ms(5)).unwrap(),
            Dist::gamma(0.5, ms(5)).unwrap(),
            Dist::erlang(3.0, ms(6)).unwrap(),
            Dist::weibull(1.5, ms(4)).unwrap(),
            Dist::weibull(0.7, ms(4)).unwrap(),
            Dist::pareto(ms(1), 1.5, ms(10_000)).unwrap(),
            Dist::pareto(ms(1), 1.0, ms(100)).unwrap(),
            Dist::percentiles(vec![(50.0, ms(3)), (90.0, ms(8)), (99.0, ms(40)), (100.0, ms(200))]).unwrap(),
            Dist::percentiles(vec![(100.0, ms(9)), (0.0, ms(1)), (50.0, ms(2))]).unwrap(),
            Dist::empirical("x".into(), None, vec![ms(1), ms(2), ms(7)]).unwrap(),
            Dist::mix(vec![(0.9, Dist::Exp(ms(2))), (0.1, Dist::Exp(ms(50)))]).unwrap(),
            Dist::mix(vec![
                (1.0, Dist::Const(us(10))),
                (3.0, Dist::mix(vec![(1.0, Dist::uniform(ms(1), ms(2)).unwrap())]).unwrap()),
            ])
            .unwrap(),
        ]
    }

    #[test]
    fn sample_means_match_mean_ns_for_every_form() {
        for d in every_form() {
            assert_mean(&d);
        }
    }

    #[test]
    fn analytic_means() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        // Truncated normal, z = 0.5: 2 + 4·φ(0.5)/Φ(0.5).
        let n = Dist::normal(ms(2), ms(4)).unwrap();
        assert!(close(n.mean_ns(), 2e6 + 4e6 * 0.352_065_326_764_299_5 / 0.691_462_461_274_013_1));
        // Weibull: scale·Γ(1 + 1/k); Γ(5/3) = 0.902745292950934.
        let w = Dist::weibull(1.5, ms(4)).unwrap();
        assert!(close(w.mean_ns(), 4e6 * 0.902_745_292_950_934));
        // Bounded Pareto at α = 1: min·ln(max/min)/(1 − min/max).
        let p = Dist::pareto(ms(1), 1.0, ms(100)).unwrap();
        assert!(close(p.mean_ns(), 1e6 * 100f64.ln() / 0.99));
        // ...and continuous around α = 1.
        let near = Dist::pareto(ms(1), 1.0 + 1e-7, ms(100)).unwrap();
        assert!((near.mean_ns() - p.mean_ns()).abs() < 1.0);
        // Percentiles: area under the inverse CDF, anchor 0.
        let q = Dist::percentiles(vec![(50.0, ms(2)), (100.0, ms(4))]).unwrap();
        assert!(close(q.mean_ns(), 0.5 * 1e6 + 0.5 * 3e6));
        let lmed = Dist::lognormal_quantile(ms(2), 99.0, ms(20)).unwrap();
        let sigma = 10f64.ln() / 2.326_347_874_040_840_8;
        assert!(close(lmed.mean_ns(), 2e6 * (sigma * sigma / 2.0).exp()));
    }

    #[test]
    fn special_functions() {
        assert!((erf_nonneg(0.5) - 0.520_499_877_813_046_5).abs() < 1e-14);
        assert!((erf_nonneg(1.0) - 0.842_700_792_949_714_9).abs() < 1e-14);
        assert!((erf_nonneg(3.0) - 0.999_977_909_503_001_4).abs() < 1e-14);
        assert_eq!(erf_nonneg(0.0), 0.0);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(1.5) - (std::f64::consts::PI.sqrt() / 2.0).ln()).abs() < 1e-13);
        assert!((ln_gamma(0.25) - 3.625_609_908_221_908_f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn percentiles_hit_the_given_points() {
        // Empirical CDF at each given point within 5 binomial SEs
        // (sqrt(q(1-q)/n): 0.0011 at p50, 0.0016 at p99... times 5).
        let d = Dist::percentiles(vec![(50.0, ms(3)), (90.0, ms(8)), (99.0, ms(40)), (100.0, ms(200))]).unwrap();
        let xs = draws(&d, 200_000, 5);
        assert_cdf(&xs, ms(3), 0.5);
        assert_cdf(&xs, ms(8), 0.9);
        assert_cdf(&xs, ms(40), 0.99);
        // Linear between knots: halfway from p50 to p90 in value is p70.
        assert_cdf(&xs, SimDuration::from_micros(5_500), 0.7);
        assert!(xs.iter().all(|&x| x <= 200e6));
        // With min=, nothing falls below it.
        let d = Dist::percentiles(vec![(0.0, ms(1)), (50.0, ms(2)), (100.0, ms(9))]).unwrap();
        let xs = draws(&d, 100_000, 6);
        assert!(xs.iter().all(|&x| (1e6..=9e6).contains(&x)));
        assert_cdf(&xs, ms(2), 0.5);
    }

    #[test]
    fn lognormal_fits_its_quantiles() {
        let d = Dist::lognormal_quantile(ms(2), 99.0, ms(20)).unwrap();
        let xs = draws(&d, 200_000, 7);
        assert_cdf(&xs, ms(2), 0.5);
        assert_cdf(&xs, ms(20), 0.99);
        let d = Dist::lognormal_quantile(ms(2), 90.0, ms(5)).unwrap();
        let xs = draws(&d, 200_000, 7);
        assert_cdf(&xs, ms(5), 0.9);
    }

    #[test]
    fn pareto_stays_in_bounds_and_fits_its_cdf() {
        let d = Dist::pareto(ms(1), 1.5, ms(100)).unwrap();
        let xs = draws(&d, 200_000, 8);
        assert!(xs.iter().all(|&x| (1e6..=100e6).contains(&x)));
        // F(x) = (1 − (1/x)^1.5) / (1 − 0.01^1.5) at x = 4 (ms).
        let f4 = (1.0 - 0.25f64.powf(1.5)) / (1.0 - 0.01f64.powf(1.5));
        assert_cdf(&xs, ms(4), f4);
    }

    #[test]
    fn empirical_resamples_observed_values_uniformly() {
        let d = Dist::empirical("f".into(), None, vec![ms(1), ms(2), ms(7), ms(2)]).unwrap();
        let xs = draws(&d, 120_000, 9);
        assert!(xs.iter().all(|&x| x == 1e6 || x == 2e6 || x == 7e6));
        // Frequencies 1/4, 1/2, 1/4 within 5 binomial SEs.
        assert_cdf(&xs, ms(1), 0.25);
        assert_cdf(&xs, ms(2), 0.75);
        assert_eq!(d.mean_ns(), 3e6);
    }

    #[test]
    fn mix_weights_are_normalised() {
        // 1 : 3 is 25% / 75%; constants make the part drawn visible.
        let d = Dist::mix(vec![(1.0, Dist::Const(ms(1))), (3.0, Dist::Const(ms(5)))]).unwrap();
        let xs = draws(&d, 100_000, 10);
        assert!(xs.iter().all(|&x| x == 1e6 || x == 5e6));
        assert_cdf(&xs, ms(1), 0.25);
        assert_eq!(d.mean_ns(), 4e6);
        let e = Dist::mix(vec![(0.5, Dist::Const(ms(1))), (0.0, Dist::Const(ms(5)))]).unwrap_err();
        assert_eq!(e.arg, Some(1));
        assert!(e.message.contains("positive"), "{}", e.message);
        assert!(Dist::mix(vec![]).is_err());
    }

    #[test]
    fn same_stream_same_draws() {
        for d in every_form() {
            assert_eq!(draws(&d, 200, 3), draws(&d, 200, 3), "{d}");
        }
        let d = Dist::Exp(ms(5));
        assert_ne!(draws(&d, 20, 3), draws(&d, 20, 4));
    }

    #[test]
    fn constructors_name_the_bad_argument() {
        let e = Dist::uniform(ms(3), ms(1)).unwrap_err();
        assert_eq!(e.arg, Some(1));
        assert_eq!(e.message, "uniform's upper bound 1ms is below its lower bound 3ms");
        let e = Dist::percentiles(vec![(50.0, ms(10)), (99.0, ms(5)), (100.0, ms(20))]).unwrap_err();
        assert_eq!((e.arg, e.message.as_str()), (Some(1), "p99 (5ms) is below p50 (10ms)"));
        let e = Dist::percentiles(vec![(50.0, ms(3)), (99.0, ms(40))]).unwrap_err();
        assert_eq!(e.arg, None);
        assert!(e.message.contains("max="), "{}", e.message);
        assert!(e.hint.unwrap().contains("max=80ms"));
        let e = Dist::percentiles(vec![(50.0, ms(3)), (50.0, ms(4)), (100.0, ms(9))]).unwrap_err();
        assert_eq!((e.arg, e.message.as_str()), (Some(1), "p50 is given twice"));
        assert_eq!(Dist::erlang(2.5, ms(1)).unwrap_err().arg, Some(0));
        assert_eq!(Dist::gamma(0.0, ms(1)).unwrap_err().arg, Some(0));
        assert_eq!(Dist::gamma(2.0, ms(0)).unwrap_err().arg, Some(1));
        assert_eq!(Dist::weibull(1.0, ms(0)).unwrap_err().arg, Some(1));
        assert_eq!(Dist::weibull(1e-4, ms(1)).unwrap_err().arg, Some(0));
        assert_eq!(Dist::pareto(ms(2), 1.5, ms(1)).unwrap_err().arg, Some(2));
        assert_eq!(Dist::pareto(ms(1), -1.0, ms(9)).unwrap_err().arg, Some(1));
        let e = Dist::lognormal_quantile(ms(2), 99.0, ms(1)).unwrap_err();
        assert_eq!((e.arg, e.message.as_str()), (Some(1), "p99 (1ms) must be above the median (2ms)"));
        assert_eq!(Dist::lognormal_quantile(ms(2), 80.0, ms(3)).unwrap_err().arg, Some(1));
        assert_eq!(Dist::lognormal_mean_sd(ms(0), ms(1)).unwrap_err().arg, Some(0));
        assert!(Dist::empirical("e.txt".into(), None, vec![]).is_err());
    }

    #[test]
    fn zero_and_display() {
        assert!(Dist::Const(SimDuration::ZERO).is_zero());
        assert!(Dist::Exp(SimDuration::ZERO).is_zero());
        assert!(!Dist::Exp(ms(1)).is_zero());
        assert!(Dist::uniform(ms(0), ms(0)).unwrap().is_zero());
        let shown: Vec<String> = every_form().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            [
                "3ms",
                "exp(5ms)",
                "uniform(1ms, 3ms)",
                "normal(10ms, 2ms)",
                "normal(2ms, 4ms)",
                "lognormal(median=2ms, p99=20ms)",
                "lognormal(mean=4ms, sd=3ms)",
                "gamma(shape=2, mean=5ms)",
                "gamma(shape=0.5, mean=5ms)",
                "erlang(k=3, mean=6ms)",
                "weibull(shape=1.5, scale=4ms)",
                "weibull(shape=0.7, scale=4ms)",
                "pareto(min=1ms, alpha=1.5, max=10s)",
                "pareto(min=1ms, alpha=1, max=100ms)",
                "percentiles(p50=3ms, p90=8ms, p99=40ms, max=200ms)",
                "percentiles(min=1ms, p50=2ms, max=9ms)",
                "empirical(file=x)",
                "mix(0.9: exp(2ms), 0.1: exp(50ms))",
                "mix(1: 10us, 3: mix(1: uniform(1ms, 2ms)))",
            ]
        );
        let e = Dist::empirical("my file.csv".into(), Some("lat_ms".into()), vec![ms(1)]).unwrap();
        assert_eq!(e.to_string(), "empirical(file=\"my file.csv\", column=lat_ms)");
    }
}
