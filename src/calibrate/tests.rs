//! The fit against known coefficients: exact recovery without noise,
//! estimates and standard errors against their sampling distribution with
//! Gaussian noise, unidentifiable columns, negative coefficients.

use super::csv::{Log, Row};
use super::*;
use crate::engine::RngStream;
use rand_distr::{Distribution, Normal};

/// Truth used throughout, in ns: base, per prefill token, per decoding
/// sequence, per context token.
const TRUTH: [f64; 4] = [8.1e6, 52_000.0, 110_000.0, 490.0];

/// Iterations of every kind a server runs: prefill only, decode only,
/// mixed (chunked prefill), over batch sizes and context lengths.
fn design(n: usize, rng: &mut RngStream) -> Vec<[f64; 3]> {
    (0..n)
        .map(|i| {
            let decode = if i % 5 == 0 { 0 } else { 1 + rng.below(128) };
            let prefill = if i % 3 == 0 { 16 + rng.below(4096) } else { 0 };
            let context = f64::from(decode) * f64::from(64 + rng.below(2048));
            [f64::from(prefill), f64::from(decode), context]
        })
        .collect()
}

fn time_of(beta: &[f64; 4], x: &[f64; 3]) -> f64 {
    beta[0] + beta[1] * x[0] + beta[2] * x[1] + beta[3] * x[2]
}

fn log_of(xs: &[[f64; 3]], times: impl Fn(usize, &[f64; 3]) -> f64) -> Log {
    let rows = xs
        .iter()
        .enumerate()
        .map(|(i, x)| Row {
            line: i + 2,
            prefill_tokens: x[0],
            decode_seqs: x[1],
            context_tokens: x[2],
            time_ns: times(i, x),
        })
        .collect();
    Log { rows, time_column: "time_ns".into(), notes: Vec::new() }
}

fn values(c: &Calibration) -> [f64; 4] {
    c.coefficients.all().map(|c| c.ns)
}

#[test]
fn noiseless_rows_give_the_coefficients_back_exactly() {
    let mut rng = RngStream::derive(7, "calibrate-test", "design");
    let xs = design(60, &mut rng);
    let c = calibrate(&log_of(&xs, |_, x| time_of(&TRUTH, x)));
    for (got, want) in values(&c).iter().zip(TRUTH) {
        assert!((got - want).abs() <= 1e-9 * want, "got {got}, want {want}: {c:?}");
    }
    assert!(c.coefficients.all().iter().all(|c| c.status == Status::Fitted));
    assert!(c.r2.expect("times vary") > 1.0 - 1e-12);
    assert!(c.max_abs_rel_error.expect("positive times") < 1e-9);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    assert_eq!(
        c.iteration_yaml,
        "iteration: { base: 8.1ms, per_prefill_token: 52us, per_decode_seq: 110us, per_context_token: 490ns }"
    );
}

/// (XᵀX)⁻¹ by Gauss–Jordan on the normal equations: a method independent
/// of the QR the fit uses.
fn xtx_inverse(xs: &[[f64; 3]]) -> [[f64; 4]; 4] {
    let mut m = [[0.0; 8]; 4];
    for x in xs {
        let row = [1.0, x[0], x[1], x[2]];
        for i in 0..4 {
            for j in 0..4 {
                m[i][j] += row[i] * row[j];
            }
        }
    }
    for (i, r) in m.iter_mut().enumerate() {
        r[4 + i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs())).expect("rows");
        m.swap(col, pivot);
        let p = m[col][col];
        m[col].iter_mut().for_each(|v| *v /= p);
        for r in 0..4 {
            if r != col {
                let f = m[r][col];
                let pivot_row = m[col];
                m[r].iter_mut().zip(pivot_row).for_each(|(v, pv)| *v -= f * pv);
            }
        }
    }
    let mut inv = [[0.0; 4]; 4];
    for i in 0..4 {
        inv[i].copy_from_slice(&m[i][4..]);
    }
    inv
}

/// With Gaussian noise of sd σ = 0.5 ms on 400 rows: every coefficient
/// within 4 of its standard errors of the truth (a 4-sigma band: a false
/// alarm about once in 16,000 per coefficient), and every standard error
/// within 20% of the analytic σ·√((XᵀX)⁻¹)ⱼⱼ (the estimated σ̂/σ has sd
/// ≈ 1/√(2·396) ≈ 3.6%, so 20% is more than 5 of its sds). Seeded: the
/// result is the same on every run.
#[test]
fn with_noise_estimates_are_within_four_standard_errors_and_errors_near_analytic() {
    let sigma = 0.5e6;
    let noise = Normal::new(0.0, sigma).expect("a valid sd");
    for seed in 1..=5 {
        let mut rng = RngStream::derive(seed, "calibrate-test", "design");
        let xs = design(400, &mut rng);
        let mut eps = RngStream::derive(seed, "calibrate-test", "noise");
        let draws: Vec<f64> = (0..xs.len()).map(|_| noise.sample(eps.raw())).collect();
        let c = calibrate(&log_of(&xs, |i, x| time_of(&TRUTH, x) + draws[i]));
        let inv = xtx_inverse(&xs);
        for (j, coef) in c.coefficients.all().iter().enumerate() {
            let se = coef.std_error_ns.expect("estimated");
            let analytic = sigma * inv[j][j].sqrt();
            assert!(
                (coef.ns - TRUTH[j]).abs() <= 4.0 * se,
                "seed {seed}: {} = {} is more than 4 × {se} from {}",
                NAMES[j],
                coef.ns,
                TRUTH[j]
            );
            assert!(
                (se / analytic - 1.0).abs() <= 0.2,
                "seed {seed}: {} standard error {se} vs analytic {analytic}",
                NAMES[j]
            );
        }
    }
}

#[test]
fn a_column_that_never_varies_is_not_identified() {
    let mut rng = RngStream::derive(3, "calibrate-test", "design");
    // Decode-only iterations: prefill is 0 in every row.
    let xs: Vec<[f64; 3]> = design(40, &mut rng).into_iter().map(|x| [0.0, x[1].max(1.0), x[2]]).collect();
    let c = calibrate(&log_of(&xs, |_, x| time_of(&TRUTH, x)));
    assert_eq!(c.coefficients.per_prefill_token.status, Status::NotIdentified);
    assert_eq!(c.coefficients.per_prefill_token.ns, 0.0);
    assert_eq!(c.coefficients.per_prefill_token.std_error_ns, None);
    assert!((c.coefficients.per_decode_seq.ns - TRUTH[2]).abs() < 1e-6 * TRUTH[2], "{c:?}");
    assert!(
        c.notes[0].starts_with("per_prefill_token not identified: prefill_tokens is 0 in every row"),
        "{:?}",
        c.notes
    );
    // A constant column is confounded with base.
    let xs: Vec<[f64; 3]> = xs.iter().map(|x| [x[0], 8.0, x[2]]).collect();
    let c = calibrate(&log_of(&xs, |_, x| time_of(&TRUTH, x)));
    assert_eq!(c.coefficients.per_decode_seq.status, Status::NotIdentified);
    assert!((c.coefficients.base.ns - (TRUTH[0] + 8.0 * TRUTH[2])).abs() < 1e-6 * TRUTH[0], "{c:?}");
    assert!(
        c.notes.iter().any(|n| n.contains("decode_seqs is 8 in every row, so its cost cannot be told apart from base"))
    );
    // Context exactly proportional to decodes: a combination of the others.
    let xs: Vec<[f64; 3]> = (0..20).map(|i| [f64::from(i % 3) * 100.0, f64::from(i), 500.0 * f64::from(i)]).collect();
    let c = calibrate(&log_of(&xs, |_, x| time_of(&TRUTH, x)));
    assert_eq!(c.coefficients.per_context_token.status, Status::NotIdentified);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("context_tokens is a linear combination of (intercept), prefill_tokens, decode_seqs"))
    );
}

#[test]
fn a_negative_coefficient_is_fixed_at_zero_and_the_rest_refitted() {
    let mut rng = RngStream::derive(5, "calibrate-test", "design");
    let xs = design(50, &mut rng);
    // Times that fall with context: the unconstrained fit is negative there.
    let truth = [8.1e6, 52_000.0, 110_000.0, -10.0];
    let c = calibrate(&log_of(&xs, |_, x| time_of(&truth, x)));
    let ctx = &c.coefficients.per_context_token;
    assert_eq!(ctx.status, Status::FixedAtZero);
    assert_eq!((ctx.ns, ctx.yaml.as_str(), ctx.std_error_ns), (0.0, "0ms", None));
    assert!(c.coefficients.all().iter().all(|c| c.ns >= 0.0));
    assert!(
        c.notes.iter().any(|n| n.contains("the unconstrained fit gives per_context_token = -0.00001")
            && n.contains("refitted with it fixed at 0")),
        "{:?}",
        c.notes
    );
    // The rest is the least-squares fit without that column.
    let without: Vec<[f64; 3]> = xs.iter().map(|x| [x[0], x[1], 0.0]).collect();
    let times: Vec<f64> = xs.iter().map(|x| time_of(&truth, x)).collect();
    let reduced = calibrate(&log_of(&without, |i, _| times[i]));
    for ((name, a), b) in NAMES.iter().zip(values(&c)).zip(values(&reduced)).take(3) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{name}: {a} vs {b}");
    }
}

#[test]
fn durations_are_written_readably_and_read_back() {
    assert_eq!(duration_text(8_102_345.0), ("8.102ms".to_string(), 8.102 * 1e6));
    assert_eq!(duration_text(52_004.0).0, "52us");
    assert_eq!(duration_text(490.3).0, "490.3ns");
    assert_eq!(duration_text(0.4903).0, "0.4903ns");
    assert_eq!(duration_text(2.5e9).0, "2500ms");
    assert_eq!(duration_text(0.0).0, "0ms");
    // Whole nanoseconds read back exactly through the format's reader.
    for ns in [8_100_000.0, 52_000.0, 110_000.0, 490.0, 1.0] {
        let (text, read) = duration_text(ns);
        assert_eq!(read, ns, "{text}");
        assert_eq!(crate::spec::units::parse_duration(&text).map(|d| d.0 as f64), Ok(ns), "{text}");
    }
}
