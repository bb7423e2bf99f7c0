//! A calibration as text for a terminal: the coefficients with their
//! standard errors, the goodness of fit, the notes and the YAML to paste.
//! Also the decimal helpers the YAML is written with.

use super::{Calibration, Coefficient, NAMES, Status};

/// `digits` (a decimal integer) × 10^`shift`, written in plain decimal
/// without trailing zeros after the point: ("8102", −3) → "8.102",
/// ("49", −4) → "0.0049", ("52", 2) → "5200".
pub fn shift_decimal(digits: &str, shift: i32) -> String {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return "0".into();
    }
    let s = if shift >= 0 {
        format!("{digits}{}", "0".repeat(shift as usize))
    } else {
        let k = shift.unsigned_abs() as usize;
        if k < digits.len() {
            format!("{}.{}", &digits[..digits.len() - k], &digits[digits.len() - k..])
        } else {
            format!("0.{}{digits}", "0".repeat(k - digits.len()))
        }
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// `x` with `sig` significant digits, in plain decimal (`0.0004903`,
/// `8.102`, `1234`).
pub fn significant(x: f64, sig: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x.is_finite() { "0".into() } else { x.to_string() };
    }
    let sci = format!("{:.*e}", sig.saturating_sub(1), x.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else { return x.to_string() };
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let s = shift_decimal(&digits, exp - (digits.len() as i32 - 1));
    if x < 0.0 { format!("-{s}") } else { s }
}

/// The unit and nanoseconds per unit a YAML value was written in.
fn unit_of(yaml: &str) -> (&str, f64) {
    for (u, scale) in [("ms", 1e6), ("us", 1e3), ("ns", 1.0)] {
        if yaml.ends_with(u) {
            return (u, scale);
        }
    }
    ("ms", 1e6)
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{}%", significant(v * 100.0, 3)))
}

fn row(name: &str, c: &Coefficient) -> String {
    let (unit, scale) = unit_of(&c.yaml);
    let value = c.yaml.trim_end_matches(unit);
    let per = match name {
        "base" => "",
        "per_decode_seq" => " per sequence",
        _ => " per token",
    };
    let error = match (c.status, c.std_error_ns) {
        (Status::Fitted, Some(se)) => format!("± {} {unit}", significant(se / scale, 2)),
        (Status::Fitted, None) => "(no standard error)".into(),
        (Status::NotIdentified, _) => "not identified".into(),
        (Status::FixedAtZero, _) => "fixed at 0 (fitted negative)".into(),
    };
    format!("  {name:<18} {:>10} {unit:<2}{per:<13} {error}\n", value)
}

/// The calibration as a terminal shows it.
pub fn render(c: &Calibration, file: &str) -> String {
    let mut out = format!("{} iterations from {file} (time from {}), least squares:\n\n", c.n, c.time_column);
    out.push_str(&format!("  {:<18} {:>10} {:<15} {}\n", "coefficient", "value", "", "std. error"));
    for (name, coef) in NAMES.iter().zip(c.coefficients.all()) {
        out.push_str(&row(name, coef));
    }
    let r2 = c.r2.map_or("-".into(), |r| format!("{r:.4}"));
    let line = c.max_abs_rel_error_line.map_or(String::new(), |l| format!(" (line {l})"));
    out.push_str(&format!(
        "\n  R² {r2}   RMSE {} ms   |relative error| mean {}, max {}{line}   n {}\n",
        significant(c.rmse_ms, 3),
        percent(c.mean_abs_rel_error),
        percent(c.max_abs_rel_error),
        c.n
    ));
    if !c.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &c.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out.push_str(&format!("\nUnder the service's `inference:`:\n  {}\n", c.iteration_yaml));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_shift_and_round() {
        assert_eq!(shift_decimal("8102", -3), "8.102");
        assert_eq!(shift_decimal("4900", -7), "0.00049");
        assert_eq!(shift_decimal("5200", -2), "52");
        assert_eq!(shift_decimal("52", 2), "5200");
        assert_eq!(shift_decimal("000", 2), "0");
        assert_eq!(significant(0.000490312, 4), "0.0004903");
        assert_eq!(significant(8.10249, 4), "8.102");
        assert_eq!(significant(-1234.5, 2), "-1200");
        assert_eq!(significant(0.0, 3), "0");
    }
}
