//! Calibration of an inference server's iteration cost from a log of real
//! iterations (`stormcast calibrate ITERATIONS.csv`): the four
//! coefficients of `inference.iteration` — `base`, `per_prefill_token`,
//! `per_decode_seq`, `per_context_token` — fitted by least squares of the
//! iteration time on `[1, prefill tokens, decoding sequences, their
//! context tokens]`, with standard errors, goodness of fit and the
//! ready-to-paste YAML.
//!
//! [`csv`] reads the log, [`fit`] does the arithmetic, [`text`] prints the
//! result. A column that never varies cannot be identified and is left out
//! (its coefficient 0); a coefficient fitted negative — a negative cost —
//! is fixed at 0 by non-negative least squares. Each such decision is a
//! note in the result.
//!
//! This module reads no files and prints nothing: `cli::calibrate` does.

pub mod csv;
pub mod fit;
pub mod text;

use serde::Serialize;

/// The coefficients' names, as the YAML writes them.
pub const NAMES: [&str; 4] = ["base", "per_prefill_token", "per_decode_seq", "per_context_token"];

/// An R² below this gets a note: the linear model explains the log poorly.
pub const POOR_R2: f64 = 0.9;

/// How a coefficient was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Estimated by the fit.
    Fitted,
    /// Its column never varies, or is a combination of the others: no
    /// information about it; 0.
    NotIdentified,
    /// Fitted negative (a negative cost): fixed at 0 and the rest refitted.
    FixedAtZero,
}

/// One coefficient of the iteration cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coefficient {
    /// Nanoseconds (per token or per sequence for all but `base`), as fitted.
    pub ns: f64,
    /// Its standard error; `None` when not estimated or when there are no
    /// residual degrees of freedom.
    pub std_error_ns: Option<f64>,
    pub status: Status,
    /// The value as the YAML writes it (4 significant digits, a readable unit).
    pub yaml: String,
    /// What the format's duration reader makes of `yaml`, in nanoseconds.
    pub yaml_ns: f64,
}

/// The four coefficients, in the formula's order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coefficients {
    pub base: Coefficient,
    pub per_prefill_token: Coefficient,
    pub per_decode_seq: Coefficient,
    pub per_context_token: Coefficient,
}

impl Coefficients {
    /// In the order of [`NAMES`].
    pub fn all(&self) -> [&Coefficient; 4] {
        [&self.base, &self.per_prefill_token, &self.per_decode_seq, &self.per_context_token]
    }
}

/// The result of a calibration (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Iterations fitted.
    pub n: usize,
    /// The time column used (`time_ms`, `time_us` or `time_s`).
    pub time_column: String,
    pub coefficients: Coefficients,
    /// 1 − RSS/TSS; `None` when every time is the same.
    pub r2: Option<f64>,
    /// √(RSS / n), in milliseconds.
    pub rmse_ms: f64,
    /// Mean and max of |fitted − logged| / logged over rows with a
    /// positive time; `None` when there is none.
    pub mean_abs_rel_error: Option<f64>,
    pub max_abs_rel_error: Option<f64>,
    /// The line of the file where the largest relative error is.
    pub max_abs_rel_error_line: Option<usize>,
    /// `iteration: { base: …, … }`, ready to paste under `inference:`.
    pub iteration_yaml: String,
    /// What the fit decided and why (columns left out, coefficients fixed
    /// at 0, a poor fit).
    pub notes: Vec<String>,
}

/// The regressors' column names in the log, after the intercept.
const COLUMN_OF: [&str; 4] = ["(intercept)", "prefill_tokens", "decode_seqs", "context_tokens"];

/// Fits the iteration cost to a log (at least one row).
pub fn calibrate(log: &csv::Log) -> Calibration {
    let rows = &log.rows;
    let n = rows.len();
    let y: Vec<f64> = rows.iter().map(|r| r.time_ns).collect();
    let cols: [Vec<f64>; 4] = [
        vec![1.0; n],
        rows.iter().map(|r| r.prefill_tokens).collect(),
        rows.iter().map(|r| r.decode_seqs).collect(),
        rows.iter().map(|r| r.context_tokens).collect(),
    ];
    let mut notes = Vec::new();
    let mut status = [Status::Fitted; 4];
    let kept = identifiable(&cols, &y, &mut status, &mut notes);
    let sub: Vec<&[f64]> = kept.iter().map(|&j| cols[j].as_slice()).collect();
    let unconstrained = fit::least_squares(&sub, &y).expect("identifiable() keeps linearly independent columns");
    let (support, fitted) = if unconstrained.beta.iter().all(|&b| b >= 0.0) {
        (kept.clone(), Some(unconstrained.clone()))
    } else {
        let (on, f) = fit::non_negative(&sub, &y);
        (on.iter().map(|&i| kept[i]).collect::<Vec<_>>(), f)
    };
    let dof = n.saturating_sub(support.len());
    let sigma2 = fitted.as_ref().filter(|_| dof > 0).map(|f| f.rss / dof as f64);
    for (k, &j) in kept.iter().enumerate() {
        if !support.contains(&j) {
            status[j] = Status::FixedAtZero;
            let b = unconstrained.beta[k];
            let se =
                (unconstrained.rss / n.saturating_sub(kept.len()).max(1) as f64 * unconstrained.xtx_inv[k][k]).sqrt();
            let why = if b < 0.0 {
                format!(
                    "the unconstrained fit gives {} = {} (± {}): a negative cost is impossible",
                    NAMES[j],
                    ms(b),
                    ms(se)
                )
            } else {
                format!("{} ({} unconstrained) is 0 at the non-negative optimum", NAMES[j], ms(b))
            };
            notes.push(format!("{why}; refitted with it fixed at 0 (non-negative least squares)"));
        }
    }
    let mut beta = [0.0; 4];
    let mut se = [None; 4];
    if let Some(f) = &fitted {
        for (k, &j) in support.iter().enumerate() {
            beta[j] = f.beta[k];
            se[j] = sigma2.map(|s2| (s2 * f.xtx_inv[k][k]).max(0.0).sqrt());
        }
    }
    if dof == 0 {
        notes.push(format!(
            "{n} rows for {} fitted coefficients: the fit is exact and has no standard errors; log more iterations",
            support.len()
        ));
    }
    let coefficient = |j: usize| {
        let (yaml, yaml_ns) = duration_text(beta[j]);
        Coefficient { ns: beta[j], std_error_ns: se[j], status: status[j], yaml, yaml_ns }
    };
    let coefficients = Coefficients {
        base: coefficient(0),
        per_prefill_token: coefficient(1),
        per_decode_seq: coefficient(2),
        per_context_token: coefficient(3),
    };
    let iteration_yaml = format!(
        "iteration: {{ {} }}",
        NAMES.iter().zip(coefficients.all()).map(|(n, c)| format!("{n}: {}", c.yaml)).collect::<Vec<_>>().join(", ")
    );
    let fit_of = Goodness::of(rows, &beta);
    if let Some(r2) = fit_of.r2
        && r2 < POOR_R2
    {
        notes.push(format!(
            "R² is {r2:.3}: the formula explains these times poorly; check that the rows come from one model, GPU and \
             engine configuration, and that each row's counts are those of its iteration"
        ));
    }
    if fit_of.zero_times > 0 {
        notes.push(format!("{} rows with time 0 are left out of the relative errors", fit_of.zero_times));
    }
    Calibration {
        n,
        time_column: log.time_column.clone(),
        coefficients,
        r2: fit_of.r2,
        rmse_ms: fit_of.rmse_ns / 1e6,
        mean_abs_rel_error: fit_of.mean_rel,
        max_abs_rel_error: fit_of.max_rel.map(|m| m.0),
        max_abs_rel_error_line: fit_of.max_rel.map(|m| m.1),
        iteration_yaml,
        notes,
    }
}

/// The columns that can be identified (the intercept always), in order;
/// the others get [`Status::NotIdentified`] and a note.
fn identifiable(cols: &[Vec<f64>; 4], y: &[f64], status: &mut [Status; 4], notes: &mut Vec<String>) -> Vec<usize> {
    let mut kept = vec![0];
    for j in 1..4 {
        let (lo, hi) = cols[j].iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let why = if hi == 0.0 {
            Some(format!("{} is 0 in every row", COLUMN_OF[j]))
        } else if lo == hi {
            Some(format!("{} is {lo} in every row, so its cost cannot be told apart from base", COLUMN_OF[j]))
        } else {
            let trial: Vec<&[f64]> = kept.iter().chain([&j]).map(|&k| cols[k].as_slice()).collect();
            fit::least_squares(&trial, y).is_err().then(|| {
                let others: Vec<&str> = kept.iter().map(|&k| COLUMN_OF[k]).collect();
                format!("{} is a linear combination of {} in these rows", COLUMN_OF[j], others.join(", "))
            })
        };
        match why {
            Some(why) => {
                status[j] = Status::NotIdentified;
                notes.push(format!(
                    "{} not identified: {why}; fitted without it (0) — log iterations where it varies",
                    NAMES[j]
                ));
            }
            None => kept.push(j),
        }
    }
    kept
}

/// How well the fitted coefficients reproduce the logged times.
struct Goodness {
    r2: Option<f64>,
    rmse_ns: f64,
    mean_rel: Option<f64>,
    max_rel: Option<(f64, usize)>,
    zero_times: usize,
}

impl Goodness {
    fn of(rows: &[csv::Row], beta: &[f64; 4]) -> Goodness {
        let n = rows.len() as f64;
        let mean = rows.iter().map(|r| r.time_ns).sum::<f64>() / n;
        let (mut rss, mut tss, mut rel_sum, mut rel_n) = (0.0, 0.0, 0.0, 0usize);
        let mut max_rel: Option<(f64, usize)> = None;
        for r in rows {
            let fitted = beta[0] + beta[1] * r.prefill_tokens + beta[2] * r.decode_seqs + beta[3] * r.context_tokens;
            rss += (r.time_ns - fitted).powi(2);
            tss += (r.time_ns - mean).powi(2);
            if r.time_ns > 0.0 {
                let rel = (fitted - r.time_ns).abs() / r.time_ns;
                rel_sum += rel;
                rel_n += 1;
                if max_rel.is_none_or(|m| rel > m.0) {
                    max_rel = Some((rel, r.line));
                }
            }
        }
        Goodness {
            r2: (tss > 0.0).then(|| 1.0 - rss / tss),
            rmse_ns: (rss / n).sqrt(),
            mean_rel: (rel_n > 0).then(|| rel_sum / rel_n as f64),
            max_rel,
            zero_times: rows.len() - rel_n,
        }
    }
}

/// Nanoseconds as milliseconds with 4 significant digits, for notes.
fn ms(ns: f64) -> String {
    format!("{}ms", text::significant(ns / 1e6, 4))
}

/// Units a coefficient is written in: the largest whose value is ≥ 1.
const UNITS: [(&str, f64, i32); 3] = [("ms", 1e6, 6), ("us", 1e3, 3), ("ns", 1.0, 0)];

/// A duration of `ns` nanoseconds (≥ 0) as the YAML writes it: 4
/// significant digits, in ms, us or ns, whichever gives a number ≥ 1
/// (`8.102ms`, `52us`, `490ns`, `0.49ns`); and what the format's duration
/// reader makes of that text: the number times the unit's nanoseconds, in
/// f64, fractions kept.
pub fn duration_text(ns: f64) -> (String, f64) {
    if ns <= 0.0 || !ns.is_finite() {
        return ("0ms".into(), 0.0);
    }
    let sci = format!("{ns:.3e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} writes an exponent");
    let exp: i32 = exp.parse().expect("{:e} writes an integer exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let &(unit, scale, unit_exp) = UNITS.iter().find(|u| exp >= u.2).unwrap_or(&UNITS[2]);
    // The value is digits × 10^(exp − 3 − unit_exp) in that unit.
    let number = text::shift_decimal(&digits, exp - 3 - unit_exp);
    let value: f64 = number.parse().expect("shift_decimal writes a decimal number");
    (format!("{number}{unit}"), value * scale)
}

#[cfg(test)]
mod tests;
