//! Durations (`250us`, `5ms`, `2s`, `1.5m`, `1h`, `1d`), rates (`200/s`,
//! `12000/min`, `3/ms`), ratios (`60%`, `0.6`), memory (`512Mi`, `1Gi`,
//! `500M`) and CPU amounts (`500m`, `1.5`, `2`).
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
    parse_duration_ns(s).map(|ns| SimDuration(ns.round() as u64))
}

/// A duration in nanoseconds, fractions kept (`0.0005us` is 0.5): for
/// per-token costs, which are summed over many tokens before rounding.
pub fn parse_duration_ns(s: &str) -> Result<f64, String> {
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
    Ok(ns)
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

/// Bytes per unit of a memory quantity (Kubernetes' suffixes).
const MEMORY_UNITS: [(&str, u64); 8] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
];

/// Parses a memory quantity the Kubernetes way (`512Mi`, `1Gi`, `1.5Gi`,
/// `500M`, `64k`); returns bytes, rounded up to a whole byte. `0` alone
/// is allowed; any other number without a unit is an error (bytes are
/// never guessed), and so is a negative amount.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("expected a memory amount such as 512Mi, found nothing".into());
    }
    let (num, unit) = split_number(s);
    let v = match parse_number(num) {
        Ok(v) => v,
        Err(NumberError::TooLarge) => return Err(format!("memory '{s}' is too large")),
        Err(NumberError::NotANumber) => {
            return Err(format!("'{s}' is not a memory amount: write a number and a unit, such as 512Mi or 1Gi"));
        }
    };
    if v < 0.0 {
        return Err(format!("memory '{s}' is negative"));
    }
    if unit.is_empty() {
        if v == 0.0 {
            return Ok(0);
        }
        return Err(format!("memory needs a unit: write 512Mi or 1Gi, not '{s}'"));
    }
    let Some(&(_, scale)) = MEMORY_UNITS.iter().find(|(u, _)| *u == unit) else {
        let hint = match unit {
            "KiB" | "MiB" | "GiB" | "TiB" => format!(": write {num}{}", &unit[..2]),
            "K" | "KB" | "kB" => format!(": write {num}k or {num}Ki"),
            "MB" | "GB" | "TB" => format!(": write {num}{} or {num}{}i", &unit[..1], &unit[..1]),
            _ => String::new(),
        };
        return Err(format!(
            "unknown memory unit '{unit}' in '{s}': use Ki, Mi, Gi, Ti (1024) or k, M, G, T (1000){hint}"
        ));
    };
    let bytes = (v * scale as f64).ceil();
    if bytes >= u64::MAX as f64 / 2.0 {
        return Err(format!("memory '{s}' is too large"));
    }
    Ok(bytes as u64)
}

/// Parses a CPU amount: whole or fractional cores (`2`, `0.5`, `1.5`) or
/// millicores (`500m`); returns millicores. Negative amounts and precision
/// finer than `1m` are errors (as in Kubernetes); zero is the caller's to
/// refuse.
pub fn parse_cpu_milli(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = split_number(s);
    let v = match parse_number(num) {
        Ok(v) => v,
        Err(NumberError::TooLarge) => return Err(format!("CPU amount '{s}' is too large")),
        Err(NumberError::NotANumber) => {
            return Err(format!("'{s}' is not a CPU amount: write cores (2, 0.5) or millicores (500m)"));
        }
    };
    let scale = match unit {
        "" => 1000.0,
        "m" => 1.0,
        _ => return Err(format!("unknown CPU unit '{unit}' in '{s}': write cores (2, 0.5) or millicores (500m)")),
    };
    if v < 0.0 {
        return Err(format!("CPU amount '{s}' is negative"));
    }
    let milli = v * scale;
    if milli > 1e15 {
        return Err(format!("CPU amount '{s}' is too large"));
    }
    if (milli - milli.round()).abs() > 1e-6 {
        return Err(format!("CPU amount '{s}' is finer than a millicore (1m = 0.001)"));
    }
    Ok(milli.round() as u64)
}

/// Millicores as a user reads them: `2 cores`, `1 core`, `1.5 cores`.
pub fn cores_text(milli: u64) -> String {
    let n = if milli.is_multiple_of(1000) { (milli / 1000).to_string() } else { format!("{}", milli as f64 / 1000.0) };
    if milli == 1000 { "1 core".into() } else { format!("{n} cores") }
}

/// Bytes in the largest unit that writes them exactly (`512Mi`, `1Gi`,
/// `500M`), else bytes.
pub fn memory_text(bytes: u64) -> String {
    if bytes == 0 {
        return "0".into();
    }
    let mut units = MEMORY_UNITS;
    units.sort_by_key(|&(_, s)| std::cmp::Reverse(s));
    units
        .iter()
        .find(|&&(_, s)| bytes.is_multiple_of(s))
        .map_or_else(|| format!("{bytes} bytes"), |(u, s)| format!("{}{u}", bytes / s))
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

    #[test]
    fn memory_quantities() {
        assert_eq!(parse_memory("512Mi").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1Gi").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1.5Gi").unwrap(), 3 << 29);
        assert_eq!(parse_memory("64Ki").unwrap(), 65_536);
        assert_eq!(parse_memory("2Ti").unwrap(), 2 << 40);
        assert_eq!(parse_memory("500M").unwrap(), 500_000_000);
        assert_eq!(parse_memory("1k").unwrap(), 1000);
        assert_eq!(parse_memory("3G").unwrap(), 3_000_000_000);
        assert_eq!(parse_memory("1T").unwrap(), 1_000_000_000_000);
        assert_eq!(parse_memory("0").unwrap(), 0);
        assert_eq!(parse_memory("0Mi").unwrap(), 0);
        let e = parse_memory("512").unwrap_err();
        assert!(e.contains("memory needs a unit: write 512Mi or 1Gi"), "{e}");
        assert!(parse_memory("-1Gi").unwrap_err().contains("negative"));
        let e = parse_memory("1GB").unwrap_err();
        assert!(e.contains("unknown memory unit 'GB'") && e.contains("1G or 1Gi"), "{e}");
        assert!(parse_memory("2MiB").unwrap_err().contains("write 2Mi"));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("").is_err());
        assert!(parse_memory("1e30Ti").unwrap_err().contains("too large"));
    }

    #[test]
    fn cpu_amounts() {
        assert_eq!(parse_cpu_milli("500m").unwrap(), 500);
        assert_eq!(parse_cpu_milli("1500m").unwrap(), 1500);
        assert_eq!(parse_cpu_milli("0.5").unwrap(), 500);
        assert_eq!(parse_cpu_milli("1.5").unwrap(), 1500);
        assert_eq!(parse_cpu_milli("2").unwrap(), 2000);
        assert_eq!(parse_cpu_milli("0.25").unwrap(), 250);
        assert_eq!(parse_cpu_milli("0").unwrap(), 0);
        assert!(parse_cpu_milli("-1").unwrap_err().contains("negative"));
        assert!(parse_cpu_milli("0.0005").unwrap_err().contains("finer than a millicore"));
        assert!(parse_cpu_milli("2 cores").unwrap_err().contains("unknown CPU unit"));
        assert!(parse_cpu_milli("many").is_err());
    }

    #[test]
    fn amounts_as_text() {
        assert_eq!(cores_text(8000), "8 cores");
        assert_eq!(cores_text(1000), "1 core");
        assert_eq!(cores_text(1500), "1.5 cores");
        assert_eq!(cores_text(500), "0.5 cores");
        assert_eq!(memory_text(512 << 20), "512Mi");
        assert_eq!(memory_text(32 << 30), "32Gi");
        assert_eq!(memory_text(500_000_000), "500M");
        assert_eq!(memory_text(1001), "1001 bytes");
        for t in ["512Mi", "1Gi", "500M", "3k"] {
            assert_eq!(memory_text(parse_memory(t).unwrap()), t);
        }
    }
}
