//! Durations (`250us`, `5ms`, `2s`, `1.5m`, `1h`, `1d`), rates (`200/s`,
//! `12000/min`, `3/ms`) and ratios (`60%`, `0.6`).
//!
//! Units are never guessed: a bare number where a duration belongs is an
//! error whose message says what to write instead.

use crate::engine::SimDuration;

/// Nanoseconds per unit, for every duration unit accepted.
const DURATION_UNITS: [(&str, f64); 10] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("min", 60e9),
    ("h", 3600e9),
    ("d", 86400e9),
    ("sec", 1e9),
];

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '_'
                || ((c == '-' || c == '+') && i == 0)
                || ((c == 'e' || c == 'E') && s[i + 1..].starts_with(|d: char| d.is_ascii_digit() || d == '-')))
        })
        .map_or(s.len(), |(i, _)| i);
    (&s[..end], s[end..].trim())
}

/// Why a number could not be read.
enum NumberError {
    NotANumber,
    TooLarge,
}

fn parse_number(n: &str) -> Result<f64, NumberError> {
    let cleaned: String = n.chars().filter(|&c| c != '_').collect();
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_infinite() => Err(NumberError::TooLarge),
        _ => Err(NumberError::NotANumber),
    }
}

/// Rates above one event per nanosecond are refused: arrivals are whole
/// nanoseconds apart.
pub const MAX_RATE_PER_S: f64 = 1e9;

/// Parses a duration with a unit (`ns us ms s m h d`); a bare number is an
/// error. Negative durations are errors.
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("expected a duration such as 250ms, found nothing".into());
    }
    let (num, unit) = split_number(s);
    let v = match parse_number(num) {
        Ok(v) => v,
        Err(NumberError::TooLarge) => return Err(format!("duration '{s}' is too long")),
        Err(NumberError::NotANumber) => return Err(format!("'{s}' does not start with a number")),
    };
    if unit.is_empty() {
        return Err(format!("'{s}' has no unit: write {s}ms, {s}s or another unit (ns, us, ms, s, m, h, d)"));
    }
    let Some(&(_, scale)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("unknown duration unit '{unit}' in '{s}': use ns, us, ms, s, m, h or d"));
    };
    if v < 0.0 {
        return Err(format!("duration '{s}' is negative"));
    }
    let ns = v * scale;
    if ns > u64::MAX as f64 / 2.0 {
        return Err(format!("duration '{s}' is too long"));
    }
    Ok(SimDuration(ns.round() as u64))
}

/// Parses a rate (`200/s`, `12000/min`, `3/ms`, `1/2s`); returns events per
/// second. Zero and negative rates are errors.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let Some((count, per)) = s.split_once('/') else {
        return Err(not_a_rate(s));
    };
    let count = match parse_number(count.trim()) {
        Ok(c) => c,
        Err(NumberError::TooLarge) => return Err(format!("rate '{s}' is too high")),
        Err(NumberError::NotANumber) => {
            let c = count.trim();
            return Err(format!("'{c}' is not a number: a rate is a count, '/', then a unit of time, such as 200/s"));
        }
    };
    let per = per.trim();
    let per_s = if per.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        parse_duration(per)?.as_secs_f64()
    } else {
        parse_duration(&format!("1{per}"))
            .map_err(|_| format!("unknown time unit '{per}' in rate '{s}': use /s, /min, /ms, /h"))?
            .as_secs_f64()
    };
    if per_s <= 0.0 {
        return Err(format!("rate '{s}' divides by zero time"));
    }
    let rate = count / per_s;
    if rate <= 0.0 {
        return Err(format!("rate '{s}' must be positive"));
    }
    if rate > MAX_RATE_PER_S {
        return Err(format!("rate '{s}' is above one per nanosecond ({MAX_RATE_PER_S}/s), the finest the clock has"));
    }
    Ok(rate)
}

/// What to write instead of `s`, which has no '/': `500rps` → `500/s`,
/// `5ms` (a duration) → `1/5ms`.
fn not_a_rate(s: &str) -> String {
    let (num, rest) = split_number(s);
    if num.is_empty() || parse_number(num).is_err() {
        return format!("'{s}' is not a rate: write a count per unit of time, such as 200/s");
    }
    if !rest.is_empty() && parse_duration(s).is_ok() {
        return format!(
            "'{s}' is a duration, not a rate: write a count per unit of time, such as 200/s, or 1/{s} for one every {s}"
        );
    }
    format!("'{s}' is not a rate: write a count per unit of time, such as {num}/s")
}

/// Parses a ratio written as `60%` or `0.6`; returns the fraction. Range
/// checks are the caller's (a probability must be in [0, 1], a factor need not).
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if let Some(p) = s.strip_suffix('%') {
        let v: f64 = p.trim().parse().map_err(|_| format!("'{s}' is not a percentage"))?;
        if !v.is_finite() {
            return Err(format!("'{s}' is not a finite percentage"));
        }
        return Ok(v / 100.0);
    }
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a ratio: write 60% or 0.6"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite ratio"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_every_unit() {
        assert_eq!(parse_duration("250us").unwrap(), SimDuration::from_micros(250));
        assert_eq!(parse_duration("5ms").unwrap(), SimDuration::from_millis(5));
        assert_eq!(parse_duration("2s").unwrap(), SimDuration::from_secs(2));
        assert_eq!(parse_duration("1.5m").unwrap(), SimDuration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), SimDuration::from_secs(3600));
        assert_eq!(parse_duration("1d").unwrap(), SimDuration::from_secs(86400));
        assert_eq!(parse_duration("0.4ms").unwrap(), SimDuration::from_micros(400));
        assert_eq!(parse_duration("10ns").unwrap(), SimDuration::from_nanos(10));
        assert_eq!(parse_duration(" 3 ms ").unwrap(), SimDuration::from_millis(3));
    }

    #[test]
    fn bare_numbers_and_bad_units_are_errors_with_advice() {
        let e = parse_duration("5").unwrap_err();
        assert!(e.contains("no unit") && e.contains("5ms"), "{e}");
        let e = parse_duration("5 parsecs").unwrap_err();
        assert!(e.contains("unknown duration unit 'parsecs'"), "{e}");
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200/s").unwrap(), 200.0);
        assert_eq!(parse_rate("12000/min").unwrap(), 200.0);
        assert_eq!(parse_rate("3/ms").unwrap(), 3000.0);
        assert_eq!(parse_rate("1/2s").unwrap(), 0.5);
        assert!(parse_rate("0/s").unwrap_err().contains("positive"));
        assert!(parse_rate("-5/s").is_err());
        assert!(parse_rate("200").unwrap_err().contains("200/s"));
        assert!(parse_rate("5/fortnight").is_err());
        assert!(parse_rate("1e9/s").is_ok());
        assert!(parse_rate("1e300/s").unwrap_err().contains("above one per nanosecond"));
        assert!(parse_rate("1e400/s").unwrap_err().contains("too high"));
        assert!(parse_rate(".5/s").is_ok());
    }

    #[test]
    fn unit_hints_suggest_something_that_parses() {
        // Every suggestion in a message ("such as X", "write X") must itself parse.
        for (bad, want) in [
            ("500rps", "such as 500/s"),
            ("500 rps", "such as 500/s"),
            ("500qps", "such as 500/s"),
            ("5ms", "1/5ms"),
            ("fast", "such as 200/s"),
            ("100 req/s", "'100 req' is not a number"),
        ] {
            let e = parse_rate(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
            let suggested = e.split("such as ").nth(1).or_else(|| e.split("or ").nth(1)).unwrap_or("");
            let first = suggested.split([',', ' ']).next().unwrap_or("");
            assert!(parse_rate(first).is_ok(), "{bad}: the hint's '{first}' is not a rate: {e}");
            assert!(!e.contains("rps/s") && !e.contains("ms/s"), "{e}");
        }
        let e = parse_duration("5").unwrap_err();
        for unit in ["5ms", "5s"] {
            assert!(e.contains(unit) && parse_duration(unit).is_ok(), "{e}");
        }
        assert!(parse_duration("1e400s").unwrap_err().contains("too long"), "not 'does not start with a number'");
        assert!(parse_duration("99999999999d").unwrap_err().contains("too long"));
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("60%").unwrap(), 0.6);
        assert_eq!(parse_ratio("0.6").unwrap(), 0.6);
        assert_eq!(parse_ratio("0.1%").unwrap(), 0.001);
        assert!(parse_ratio("lots").is_err());
    }
}
