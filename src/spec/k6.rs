//! k6 options JSON → a rate or a virtual-user count over time.
//!
//! Reads the options object as `k6 inspect script.js` prints it (or a k6
//! config JSON, or `{ "options": … }`): one scenario of `scenarios`, or the
//! top-level shortcuts (`stages` = ramping-vus, `vus` + `duration` =
//! constant-vus). Arrival-rate executors give requests per second,
//! virtual-user executors a user count; both linear between stage targets,
//! zero before the scenario's `startTime` and after its end (k6 stops a
//! scenario after its last stage). It does not run scripts: what a VU does
//! between requests (`sleep()`) is the workload's `think:`.
//!
//! Pure: text in, a [`Profile`] or an [`Error`] out; `import` places errors.

use super::decode::did_you_mean;
use super::diag::suggest;
use crate::engine::{SimDuration, SimTime};
use crate::model::Profile;
use serde_json::{Map, Value};

/// What a scenario asks for.
#[derive(Debug, PartialEq)]
pub(super) enum Load {
    /// Requests per second over time (arrival-rate executors).
    Rate(Profile),
    /// Active virtual users over time (VU executors).
    Users(Profile),
}

#[derive(Debug, PartialEq)]
pub(super) struct Error {
    pub message: String,
    pub hint: Option<String>,
    /// The error is about the `scenario:` the topology names.
    pub about_scenario: bool,
}

fn err(message: impl Into<String>, hint: Option<&str>) -> Error {
    Error { message: message.into(), hint: hint.map(str::to_string), about_scenario: false }
}

pub(super) const EXECUTORS: [&str; 4] =
    ["ramping-arrival-rate", "constant-arrival-rate", "ramping-vus", "constant-vus"];

/// Reads the scenario named `scenario` (or the only one) from `text`.
pub(super) fn read(text: &str, scenario: Option<&str>) -> Result<Load, Error> {
    let root: Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}"), None))?;
    let Some(mut opts) = root.as_object() else {
        return Err(err(format!("expected a JSON object of k6 options, found {}", kind(&root)), None));
    };
    if let Some(Value::Object(inner)) = opts.get("options")
        && present(opts, "scenarios").is_none()
    {
        opts = inner;
    }
    let empty = Map::new();
    let scenarios = match present(opts, "scenarios") {
        Some(Value::Object(s)) => s,
        Some(v) if is_empty(v) => &empty,
        Some(v) => return Err(err(format!("'scenarios' should be an object, found {}", kind(v)), None)),
        None => &empty,
    };
    if scenarios.is_empty() {
        if let Some(name) = scenario {
            let msg = format!("no scenario '{name}': the options have no 'scenarios'");
            return Err(Error {
                about_scenario: true,
                ..err(msg, Some("leave out 'scenario:' to use the top-level stages or vus and duration"))
            });
        }
        return shortcut(opts);
    }
    let names: Vec<&str> = scenarios.keys().map(String::as_str).collect();
    let name = match scenario {
        Some(name) => name,
        None if names.len() == 1 => names[0],
        None => {
            let msg = format!("the options have {} scenarios ({}): say which", names.len(), names.join(", "));
            return Err(Error { about_scenario: true, ..err(msg, Some(&format!("add scenario: {}", names[0]))) });
        }
    };
    let Some(s) = scenarios.get(name) else {
        let msg = format!(
            "no scenario '{name}'{} (the options have: {})",
            did_you_mean(name, names.iter().copied()),
            names.join(", ")
        );
        return Err(Error { about_scenario: true, ..err(msg, Some("scenario names the key under 'scenarios'")) });
    };
    let Some(s) = s.as_object() else {
        return Err(err(format!("scenarios.{name}: expected an object, found {}", kind(s)), None));
    };
    scenario_load(s, &format!("scenarios.{name}"))
}

/// The top-level shortcuts: `stages` (ramping-vus from `vus`, default 1),
/// `vus` + `duration` (constant-vus).
fn shortcut(opts: &Map<String, Value>) -> Result<Load, Error> {
    let vus = match present(opts, "vus") {
        Some(v) => number(v, "vus")?,
        None => 1.0,
    };
    if let Some(stages) = present(opts, "stages") {
        let mut p = Builder::starting(SimTime::ZERO, vus);
        ramp(&mut p, stages, "stages", 1.0)?;
        return users(p, "the options");
    }
    if let Some(d) = present(opts, "duration") {
        let mut p = Builder::starting(SimTime::ZERO, vus);
        p.to(duration(d, "duration")?, vus);
        return users(p, "the options");
    }
    let hint = "k6 inspect prints 'scenarios', or 'stages', or 'vus' and 'duration'";
    Err(err("no 'scenarios', 'stages' or 'duration' in the options: nothing to run", Some(hint)))
}

fn scenario_load(s: &Map<String, Value>, at: &str) -> Result<Load, Error> {
    let exec = match present(s, "executor") {
        Some(Value::String(e)) => e.as_str(),
        Some(v) => return Err(err(format!("{at}.executor: expected a string, found {}", kind(v)), None)),
        None => return Err(err(format!("{at}: no 'executor'"), Some(&format!("one of {}", EXECUTORS.join(", "))))),
    };
    let start = match present(s, "startTime") {
        Some(v) => SimTime(duration(v, &format!("{at}.startTime"))?.0),
        None => SimTime::ZERO,
    };
    let field = |k: &str| format!("{at}.{k}");
    let time_unit = || -> Result<f64, Error> {
        match present(s, "timeUnit") {
            Some(v) => {
                let d = duration(v, &field("timeUnit"))?;
                if d.0 == 0 {
                    return Err(err(format!("{}: must be longer than 0", field("timeUnit")), None));
                }
                Ok(d.as_secs_f64())
            }
            None => Ok(1.0),
        }
    };
    let need = |k: &str| present(s, k).ok_or_else(|| err(format!("{at}: '{exec}' needs '{k}'"), None));
    match exec {
        "constant-arrival-rate" => {
            let rate = number(need("rate")?, &field("rate"))? / time_unit()?;
            let mut p = Builder::starting(start, rate);
            p.to(duration(need("duration")?, &field("duration"))?, rate);
            Ok(Load::Rate(p.stop(at)?))
        }
        "ramping-arrival-rate" => {
            let unit = time_unit()?;
            let first = match present(s, "startRate") {
                Some(v) => number(v, &field("startRate"))?,
                None => 0.0,
            };
            let mut p = Builder::starting(start, first / unit);
            ramp(&mut p, need("stages")?, &field("stages"), unit)?;
            Ok(Load::Rate(p.stop(at)?))
        }
        "constant-vus" => {
            let vus = match present(s, "vus") {
                Some(v) => number(v, &field("vus"))?,
                None => 1.0,
            };
            let mut p = Builder::starting(start, vus);
            p.to(duration(need("duration")?, &field("duration"))?, vus);
            users(p, at)
        }
        "ramping-vus" => {
            let first = match present(s, "startVUs") {
                Some(v) => number(v, &field("startVUs"))?,
                None => 1.0,
            };
            let mut p = Builder::starting(start, first);
            ramp(&mut p, need("stages")?, &field("stages"), 1.0)?;
            users(p, at)
        }
        other => {
            let msg = format!(
                "{at}.executor: '{other}' is not supported{} (supported: {})",
                suggest(other, EXECUTORS).map_or(String::new(), |s| format!(" — did you mean '{s}'?")),
                EXECUTORS.join(", ")
            );
            Err(err(msg, Some("iteration-count executors have no rate or user count over time to simulate")))
        }
    }
}

fn users(p: Builder, at: &str) -> Result<Load, Error> {
    let p = p.stop(at)?;
    if p.max() < 1.0 {
        return Err(err(format!("{at}: never has a virtual user"), None));
    }
    Ok(Load::Users(p))
}

/// `[ { "duration": "30s", "target": 50 } … ]`, targets divided by `unit`.
fn ramp(p: &mut Builder, stages: &Value, at: &str, unit: f64) -> Result<(), Error> {
    let Some(list) = stages.as_array() else {
        return Err(err(format!("{at}: expected a list of stages, found {}", kind(stages)), None));
    };
    if list.is_empty() {
        return Err(err(format!("{at}: no stages"), None));
    }
    for (i, st) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let Some(st) = st.as_object() else {
            return Err(err(format!("{here}: expected {{ \"duration\", \"target\" }}, found {}", kind(st)), None));
        };
        let d = present(st, "duration").ok_or_else(|| err(format!("{here}: no 'duration'"), None))?;
        let t = present(st, "target").ok_or_else(|| err(format!("{here}: no 'target'"), None))?;
        let d = duration(d, &format!("{here}.duration"))?;
        p.to(d, number(t, &format!("{here}.target"))? / unit);
    }
    Ok(())
}

/// Points of a profile that starts at `at` and stops at its end.
pub(super) struct Builder {
    points: Vec<(SimTime, f64)>,
    t: SimTime,
}

impl Builder {
    /// 0 until `at`, then `v`.
    pub(super) fn starting(at: SimTime, v: f64) -> Builder {
        let mut points = Vec::new();
        if at > SimTime::ZERO {
            points.extend([(SimTime::ZERO, 0.0), (at, 0.0)]);
        }
        points.push((at, v));
        Builder { points, t: at }
    }

    /// Linear to `v` over `d`.
    pub(super) fn to(&mut self, d: SimDuration, v: f64) {
        self.t += d;
        self.points.push((self.t, v));
    }

    /// Ends with a drop to 0.
    pub(super) fn stop(mut self, at: &str) -> Result<Profile, Error> {
        self.points.push((self.t, 0.0));
        Profile::new(self.points).ok_or_else(|| err(format!("{at}: a rate or count is negative"), None))
    }
}

/// A value that is there and not `null` (`k6 inspect` prints unset
/// options as `null`).
fn present<'v>(m: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn is_empty(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty)
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{}\"", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn number(v: &Value, at: &str) -> Result<f64, Error> {
    match v.as_f64() {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(err(format!("{at}: expected a number ≥ 0, found {}", kind(v)), None)),
    }
}

/// A k6 duration: Go's `1m30s`, `500ms`, `2h45m`, `1.5s`, or a number of
/// milliseconds (as k6 reads numbers).
fn duration(v: &Value, at: &str) -> Result<SimDuration, Error> {
    let hint = Some("k6 durations look like \"30s\", \"1m30s\" or \"500ms\"");
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(SimDuration::from_secs_f64(ms / 1000.0)),
            _ => Err(err(format!("{at}: expected a duration, found {}", kind(v)), hint)),
        },
        Value::String(s) => go_duration(s).ok_or_else(|| err(format!("{at}: cannot read the duration \"{s}\""), hint)),
        _ => Err(err(format!("{at}: expected a duration, found {}", kind(v)), hint)),
    }
}

/// `1h2m3.5s`: number–unit pairs (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`, `d`).
pub(super) fn go_duration(s: &str) -> Option<SimDuration> {
    if s == "0" {
        return Some(SimDuration::ZERO);
    }
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut secs = 0.0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let x: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
        rest = &rest[u..];
        secs += x * scale;
    }
    (secs.is_finite() && secs < 1e9).then(|| SimDuration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> SimTime {
        SimTime((x * 1e9) as u64)
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("1m30s"), Some(SimDuration::from_secs(90)));
        assert_eq!(go_duration("500ms"), Some(SimDuration::from_millis(500)));
        assert_eq!(go_duration("2h45m"), Some(SimDuration::from_secs(2 * 3600 + 45 * 60)));
        assert_eq!(go_duration("1.5s"), Some(SimDuration::from_millis(1500)));
        assert_eq!(go_duration("0"), Some(SimDuration::ZERO));
        for bad in ["", "5", "1x", "s", "1m30"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn ramping_arrival_rate_is_linear_between_targets_and_stops() {
        let text = r#"{ "paused": null, "scenarios": { "peak": { "executor": "ramping-arrival-rate",
            "startRate": 60, "timeUnit": "1m", "startTime": "10s", "preAllocatedVUs": 5,
            "stages": [ { "duration": "20s", "target": 600 }, { "duration": "1m", "target": 600 } ] } } }"#;
        let Ok(Load::Rate(p)) = read(text, None) else { panic!("{:?}", read(text, None)) };
        assert_eq!(p.at(s(5.0)), 0.0);
        assert_eq!(p.at(s(10.0)), 1.0);
        assert!((p.at(s(20.0)) - 5.5).abs() < 1e-9);
        assert_eq!(p.at(s(60.0)), 10.0);
        assert_eq!(p.at(s(90.0)), 0.0);
    }

    #[test]
    fn vus_shortcuts_and_executors() {
        let Ok(Load::Users(p)) = read(r#"{ "vus": 10, "duration": "1m" }"#, None) else { panic!() };
        assert_eq!((p.at(s(30.0)), p.at(s(61.0))), (10.0, 0.0));
        let Ok(Load::Users(p)) = read(r#"{ "stages": [ { "duration": "10s", "target": 21 } ] }"#, None) else {
            panic!()
        };
        assert_eq!(p.at(s(5.0)), 11.0);
        let text = r#"{ "scenarios": { "a": { "executor": "constant-arrival-rate", "rate": 5, "duration": "1m" },
                                         "b": { "executor": "constant-vus", "vus": 3, "duration": "1m" } } }"#;
        assert!(matches!(read(text, Some("b")), Ok(Load::Users(_))));
        let e = read(text, None).unwrap_err();
        assert!(e.message.contains("2 scenarios (a, b)") && e.about_scenario, "{}", e.message);
        let e = read(text, Some("bb")).unwrap_err();
        assert!(e.message.contains("no scenario 'bb' — did you mean 'b'?"), "{}", e.message);
    }

    #[test]
    fn unsupported_and_broken_options_say_why() {
        let e = read(r#"{ "scenarios": { "a": { "executor": "per-vu-iterations", "iterations": 5 } } }"#, None);
        assert!(e.unwrap_err().message.contains("'per-vu-iterations' is not supported"));
        assert!(read("{ nope", None).unwrap_err().message.starts_with("not JSON"));
        assert!(read("[1]", None).unwrap_err().message.contains("found a list"));
        let e = read(r#"{ "stages": [ { "duration": "10q", "target": 2 } ] }"#, None).unwrap_err();
        assert!(e.message.contains("stages[0].duration: cannot read"), "{}", e.message);
        assert!(read("{}", None).unwrap_err().message.contains("nothing to run"));
    }
}
