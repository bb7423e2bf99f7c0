//! A Prometheus `query_range` response → a request rate over time.
//!
//! The response (`{"status":"success","data":{"resultType":"matrix",
//! "result":[{"metric":{…},"values":[[unix_s,"rate"],…]}]}}`) holds series
//! of samples. The series whose labels include every `series` pair (all of
//! them when none is given) are summed. Misaligned samples: each series is
//! linear between its own samples and counts 0 outside its first..last
//! sample; the sum is taken at every timestamp of any series and is linear
//! between those. The earliest sample is t = 0; after the last one the rate
//! stops (0). It does not query a server.
//!
//! Pure: text in, a [`Profile`] (requests per second) or a message out.

use crate::engine::SimTime;
use crate::model::Profile;
use serde_json::Value;

/// At most this many label sets are listed when none matches.
const LISTED: usize = 20;

/// A series: its labels and samples `(unix seconds, value)`.
struct Series {
    labels: Vec<(String, String)>,
    samples: Vec<(f64, f64)>,
}

/// The summed rate of the series of `text` that match `wanted`.
pub(super) fn read(text: &str, wanted: &[(String, String)]) -> Result<Profile, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let status = root.get("status").and_then(Value::as_str);
    if status == Some("error") {
        let text = |k: &str| root.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
        return Err(format!("the response is an error ({}): {}", text("errorType"), text("error")));
    }
    if status != Some("success") {
        return Err("not a Prometheus API response: no \"status\": \"success\"".into());
    }
    let data = root.get("data").ok_or("the response has no 'data'")?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("matrix") => {}
        Some(other) => {
            let what = match other {
                "vector" => " (an instant query: use /api/v1/query_range)",
                "scalar" | "string" => " (a single value, not series over time)",
                _ => "",
            };
            return Err(format!("expected resultType 'matrix' (a range query), found '{other}'{what}"));
        }
        None => return Err("the response's data has no resultType".into()),
    }
    let result = data.get("result").and_then(Value::as_array).ok_or("data.result is not a list")?;
    let all: Vec<Series> = result.iter().enumerate().map(|(i, s)| series(s, i)).collect::<Result<_, _>>()?;
    if all.is_empty() {
        return Err("the response has no series (data.result is empty)".into());
    }
    let chosen: Vec<&Series> = all.iter().filter(|s| wanted.iter().all(|w| s.labels.iter().any(|l| l == w))).collect();
    if chosen.is_empty() {
        let seen: Vec<String> = all.iter().take(LISTED).map(|s| labels(&s.labels)).collect();
        let more = if all.len() > LISTED { format!(" and {} more", all.len() - LISTED) } else { String::new() };
        return Err(format!("no series matches {}; the response has {}{more}", labels(wanted), seen.join(", ")));
    }
    sum(&chosen)
}

fn series(s: &Value, i: usize) -> Result<Series, String> {
    let at = format!("data.result[{i}]");
    let metric = s.get("metric").and_then(Value::as_object).ok_or(format!("{at} has no 'metric' labels"))?;
    let labels: Vec<(String, String)> =
        metric.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect();
    let values = s.get("values").and_then(Value::as_array).ok_or(format!("{at} has no 'values' list"))?;
    let mut samples = Vec::with_capacity(values.len());
    for (j, v) in values.iter().enumerate() {
        let here = format!("{at}.values[{j}]");
        let pair = v.as_array().filter(|p| p.len() == 2).ok_or(format!("{here}: expected [unix_time, \"value\"]"))?;
        let t = pair[0].as_f64().filter(|t| t.is_finite()).ok_or(format!("{here}: the time is not a number"))?;
        let raw = pair[1].as_str().map_or_else(|| pair[1].to_string(), str::to_string);
        let x: f64 = raw.parse().map_err(|_| format!("{here}: cannot read the value '{raw}' as a number"))?;
        if !x.is_finite() || x < 0.0 {
            return Err(format!("{here}: the value '{raw}' is not a rate (finite, ≥ 0)"));
        }
        if samples.last().is_some_and(|&(prev, _)| prev >= t) {
            return Err(format!("{here}: times must increase"));
        }
        samples.push((t, x));
    }
    Ok(Series { labels, samples })
}

fn labels(l: &[(String, String)]) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// The value of one series at `t`: linear between its samples, 0 outside.
fn value_at(s: &[(f64, f64)], t: f64) -> f64 {
    let i = s.partition_point(|p| p.0 <= t);
    if i == 0 {
        return 0.0;
    }
    let (t0, v0) = s[i - 1];
    if t0 == t {
        return v0;
    }
    match s.get(i) {
        Some(&(t1, v1)) => v0 + (v1 - v0) * (t - t0) / (t1 - t0),
        None => 0.0,
    }
}

fn sum(chosen: &[&Series]) -> Result<Profile, String> {
    let mut times: Vec<f64> = chosen.iter().flat_map(|s| s.samples.iter().map(|p| p.0)).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let Some(&t0) = times.first() else {
        return Err("the matching series have no samples".into());
    };
    let points: Vec<(SimTime, f64)> = times
        .iter()
        .map(|&t| {
            let at = SimTime(((t - t0) * 1e9).round() as u64);
            (at, chosen.iter().map(|s| value_at(&s.samples, t)).sum())
        })
        .chain(std::iter::once((SimTime((((times[times.len() - 1]) - t0) * 1e9).round() as u64), 0.0)))
        .collect();
    Profile::new(points).ok_or_else(|| "the samples do not make a rate".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(result: &str) -> String {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}"#)
    }

    fn s(x: f64) -> SimTime {
        SimTime((x * 1e9) as u64)
    }

    #[test]
    fn matching_series_are_summed_on_their_timestamps() {
        let text = matrix(
            r#"{"metric":{"job":"menu","instance":"a"},"values":[[1000,"10"],[1010,"20"]]},
               {"metric":{"job":"menu","instance":"b"},"values":[[1005,"4"],[1015,"4"]]},
               {"metric":{"job":"other"},"values":[[1000,"99"]]}"#,
        );
        let p = read(&text, &[("job".into(), "menu".into())]).unwrap();
        assert_eq!(p.at(s(0.0)), 10.0); // b has not started
        assert_eq!(p.at(s(5.0)), 19.0); // 15 + 4
        assert_eq!(p.at(s(10.0)), 24.0);
        assert_eq!(p.at(s(12.5)), 14.0); // a ended at 10: linear from 24 at 10 to b's 4 at 15
        assert_eq!(p.at(s(16.0)), 0.0);
        let all = read(&text, &[]).unwrap();
        assert_eq!(all.at(s(0.0)), 109.0);
    }

    #[test]
    fn bad_responses_say_what_they_are() {
        let e = read(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#, &[]).unwrap_err();
        assert!(e.contains("error (bad_data): parse error"), "{e}");
        let e = read(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#, &[]).unwrap_err();
        assert!(e.contains("found 'vector' (an instant query"), "{e}");
        let e = read(&matrix(r#"{"metric":{"job":"a"},"values":[[1,"x"]]}"#), &[]).unwrap_err();
        assert!(e.contains("cannot read the value 'x'"), "{e}");
        let e = read(&matrix(r#"{"metric":{"job":"a"},"values":[[1,"NaN"]]}"#), &[]).unwrap_err();
        assert!(e.contains("is not a rate"), "{e}");
        let e = read(&matrix(r#"{"metric":{"job":"a"},"values":[[1,"1"]]}"#), &[("job".into(), "b".into())]);
        assert!(e.unwrap_err().contains(r#"no series matches {job="b"}; the response has {job="a"}"#));
    }
}
