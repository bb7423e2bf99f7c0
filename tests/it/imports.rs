//! Traffic from k6 and Prometheus, and k6-style `stages`: the arrivals of a
//! rate over time match its integral, a k6 constant-arrival-rate scenario
//! is `rate:`, ramping-vus gives its user counts, a delayed ramp starts at
//! its time, and every bad file is refused (exit 2) with what is wrong.
//!
//! Tolerance for counts: arrivals in a window of a Poisson process with
//! mean N = ∫ rate dt are Poisson(N), sd √N; ±4√N fails a correct
//! simulator with probability about 6e-5 per window.

use std::path::{Path, PathBuf};
use std::process::Command;

use stormcast::metrics::RunResult;
use stormcast::model::Model;
use stormcast::sim::RunOptions;
use stormcast::spec::{self, FileSource, LoadOptions};

use crate::common::{run_checked, show};

/// Files served from memory.
struct Mem(Vec<(&'static str, String)>);

impl FileSource for Mem {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        let found = self.0.iter().find(|(name, _)| Path::new("mem").join(name) == path);
        found.map(|(_, t)| t.clone()).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

/// A fast service and `workload` (YAML lines for one workload).
fn topology(duration: &str, workload: &str) -> String {
    format!(
        "duration: {duration}\nservices:\n  api:\n    replicas: 4\n    cpus: 4\n    endpoints:\n      \
         get: {{ work: 1ms }}\n      slow: {{ steps: [ {{ delay: 1s }} ] }}\nworkload:\n  - name: w\n{workload}"
    )
}

fn load(text: &str, files: Vec<(&'static str, String)>) -> Model {
    let files = Mem(files);
    match spec::load_str("t.yaml", text, &LoadOptions { base_dir: PathBuf::from("mem"), files: &files }) {
        Ok(m) => m,
        Err(d) => panic!("does not load:\n{}\n{text}", show(&d)),
    }
}

fn run(m: &Model, seed: u64) -> RunResult {
    let opts = RunOptions { seed: Some(seed), keep_series: true, check_invariants: true, ..RunOptions::default() };
    run_checked(m, &opts)
}

/// Requests offered in the 1 s intervals starting in [from, to).
fn offered(r: &RunResult, from: u64, to: u64) -> u64 {
    let rows = r.series.workloads.iter().filter(|w| w.t_s >= from as f64 && w.t_s < to as f64);
    rows.map(|w| w.offered).sum()
}

/// `count` is within ±4√n of `n` (exactly 0 when n is).
fn near(what: &str, count: u64, n: f64) {
    let tol = 4.0 * n.sqrt();
    assert!((count as f64 - n).abs() <= tol, "{what}: {count} arrivals, ∫rate dt = {n} ± {tol:.1}");
}

/// Rate (per second) 0 until 10 s, 0 → 200 over 20 s, 200 for 20 s, 200 → 50
/// over 20 s, then 0: ∫ over [10,30) = 2000, [30,50) = 4000, [50,70) = 2500.
fn check_windows(r: &RunResult) {
    assert_eq!(offered(r, 0, 10), 0, "nothing before the start");
    near("[10,30)", offered(r, 10, 30), 2000.0);
    near("[30,50)", offered(r, 30, 50), 4000.0);
    near("[50,70)", offered(r, 50, 70), 2500.0);
    assert_eq!(offered(r, 70, 80), 0, "nothing after the last stage: k6 stops");
}

#[test]
fn k6_ramping_arrival_rate_gives_the_arrivals_of_its_integral() {
    let options = r#"{ "paused": null, "scenarios": { "lunch": { "executor": "ramping-arrival-rate",
        "startTime": "10s", "startRate": 0, "timeUnit": "1m", "preAllocatedVUs": 50,
        "stages": [ { "duration": "20s", "target": 12000 }, { "duration": "20s", "target": 12000 },
                    { "duration": "20s", "target": 3000 } ] } } }"#;
    let m =
        load(&topology("80s", "    target: api.get\n    k6: { file: k6.json }\n"), vec![("k6.json", options.into())]);
    for seed in [1, 2] {
        check_windows(&run(&m, seed));
    }
}

#[test]
fn stages_in_the_workload_give_the_arrivals_of_their_integral() {
    let w = "    target: api.get\n    stages:\n      - { duration: 10s, target: 0/s }\n      - { duration: 20s, \
             target: 200/s }\n      - { duration: 20s, target: 200/s }\n      - { duration: 20s, target: 50/s }\n";
    let m = load(&topology("80s", w), vec![]);
    check_windows(&run(&m, 3));
}

/// `ramp: { at: 20s }`: the factor is `from` (0) until 20 s, then rises to 1
/// over 10 s: ∫ over [20,30) = 100/s · 10 s / 2 = 500, [30,40) = 1000.
#[test]
fn a_delayed_ramp_starts_at_its_time() {
    let w = "    target: api.get\n    rate: 100/s\n    shape: [ { ramp: { from: 0, to: 1, over: 10s, at: 20s } } ]\n";
    let r = run(&load(&topology("40s", w), vec![]), 4);
    assert_eq!(offered(&r, 0, 20), 0);
    near("[20,30)", offered(&r, 20, 30), 500.0);
    near("[30,40)", offered(&r, 30, 40), 1000.0);
}

/// A constant-arrival-rate scenario is `rate:` exactly: the same arrival
/// stream (the thinning draws of its flat profile accept everything), so
/// the same requests and latencies, byte for byte.
#[test]
fn a_constant_arrival_rate_scenario_is_rate() {
    let options = r#"{ "scenarios": { "steady": { "executor": "constant-arrival-rate", "rate": 30,
        "timeUnit": "100ms", "duration": "20s", "preAllocatedVUs": 10 } } }"#;
    let k6 =
        load(&topology("20s", "    target: api.get\n    k6: { file: k6.json }\n"), vec![("k6.json", options.into())]);
    let plain = load(&topology("20s", "    target: api.get\n    rate: 300/s\n"), vec![]);
    let (a, b) = (run(&k6, 5), run(&plain, 5));
    assert!(a.workloads["w"].offered > 5000);
    assert_eq!(serde_json::to_value(&a.workloads).unwrap(), serde_json::to_value(&b.workloads).unwrap());
}

/// ramping-vus 0 → 10 over 10 s, 10 for 20 s, 10 → 0 over 10 s; each user
/// sends back-to-back requests (think 0s) that take exactly 1 s, so a user
/// is in flight whenever it is active. User i starts when the count reaches
/// i + 1 and stops after the request under way when it falls below: the
/// users in flight at t are between ⌊v(t)⌋ - 1 (the boundary instant) and
/// ⌊v(t - 1 s)⌋ + 1 (a stopping user finishes its request).
#[test]
fn ramping_vus_gives_the_user_counts_over_time() {
    let options = r#"{ "scenarios": { "vus": { "executor": "ramping-vus", "startVUs": 0,
        "stages": [ { "duration": "10s", "target": 10 }, { "duration": "20s", "target": 10 },
                    { "duration": "10s", "target": 0 } ] } } }"#;
    let w = "    target: api.slow\n    k6: { file: k6.json, scenario: vus }\n    think: 0s\n";
    let r = run(&load(&topology("45s", w), vec![("k6.json", options.into())]), 6);
    let v = |t: f64| -> f64 {
        if t <= 10.0 {
            t
        } else if t <= 30.0 {
            10.0
        } else {
            (40.0 - t).max(0.0)
        }
    };
    for row in &r.series.workloads {
        let t = row.t_s + 1.0; // in_flight is sampled at the interval's end
        let (lo, hi) = (v(t).floor() - 1.0, v(t - 1.0).floor() + 1.0);
        let n = row.in_flight as f64;
        assert!(n >= lo && n <= hi, "t = {t}: {n} users in flight, expected {lo}..={hi}");
        if (12.0..=30.0).contains(&t) {
            assert_eq!(n, 10.0, "t = {t}: all ten users");
        }
        if t >= 41.5 {
            assert_eq!(n, 0.0, "t = {t}: the scenario is over");
        }
    }
    // 10 users × 1 request/s for the 18 s of [12, 30).
    assert_eq!(offered(&r, 12, 30), 180);
}

/// Two `job="menu"` series on misaligned 10 s grids plus another job, summed
/// and scaled by 2. menu/a: 100 at 0 s, 300 at 20 s, 300 at 40 s;
/// menu/b: 50 at 10 s, 50 at 30 s (0 outside [10, 30]). On the union grid
/// (0, 10, 20, 30, 40) the sum is 100, 250, 350, 350, 300 and it is linear
/// between: ∫ over [0,20) = (100+250)/2·10 + (250+350)/2·10 = 4750,
/// [20,40) = 3500 + 3250 = 6750; × 2 = 9500 and 13500; then 0.
#[test]
fn prometheus_rates_give_the_arrivals_of_their_integral() {
    let response = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"x","job":"menu","instance":"a"},"values":[[1700000000,"100"],[1700000020,"300"],[1700000040,"300"]]},
        {"metric":{"job":"menu","instance":"b"},"values":[[1700000010,"50"],[1700000030,"50"]]},
        {"metric":{"job":"other"},"values":[[1700000000,"9999"]]}]}}"#;
    let w = "    target: api.get\n    prometheus: { file: rate.json, series: { job: menu }, scale: 2 }\n";
    let m = load(&topology("50s", w), vec![("rate.json", response.into())]);
    for seed in [7, 8] {
        let r = run(&m, seed);
        near("[0,20)", offered(&r, 0, 20), 9500.0);
        near("[20,40)", offered(&r, 20, 40), 13500.0);
        assert_eq!(offered(&r, 40, 50), 0, "no samples after 40 s: the rate stops");
    }
}

// ---------------------------------------------------------------- bad input

/// Writes `files` into a fresh folder and runs `stormcast check` on the
/// first; returns (exit code, stderr).
fn check_cli(tag: &str, files: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("stormcast-imports-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("temp file");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_stormcast"))
        .args(["check", &dir.join(files[0].0).display().to_string()])
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn refused(tag: &str, workload: &str, file: (&str, &str), expected: &[&str]) {
    let yaml = topology("60s", &format!("    target: api.get\n{workload}"));
    let (code, err) = check_cli(tag, &[("t.yaml", &yaml), file]);
    assert_eq!(code, Some(2), "{tag}: {err}");
    for e in expected {
        assert!(err.contains(e), "{tag}: expected '{e}' in:\n{err}");
    }
}

#[test]
fn bad_k6_options_exit_2_with_what_is_wrong() {
    let two = r#"{ "scenarios": {
        "lunch_peak": { "executor": "ramping-arrival-rate", "stages": [ { "duration": "1m", "target": 5 } ] },
        "night": { "executor": "constant-vus", "vus": 2, "duration": "1m" } } }"#;
    refused(
        "k6-missing",
        "    k6: { file: o.json, scenario: lunch_peek }\n",
        ("o.json", two),
        &["no scenario 'lunch_peek' — did you mean 'lunch_peak'?", "lunch_peak, night", "k6.scenario"],
    );
    refused(
        "k6-several",
        "    k6: { file: o.json }\n",
        ("o.json", two),
        &["2 scenarios (lunch_peak, night): say which"],
    );
    refused("k6-json", "    k6: { file: o.json }\n", ("o.json", "{ \"scenarios\": "), &["o.json: not JSON"]);
    let iters = r#"{ "scenarios": { "a": { "executor": "shared-iterations", "iterations": 100 } } }"#;
    refused("k6-exec", "    k6: { file: o.json }\n", ("o.json", iters), &["'shared-iterations' is not supported"]);
    refused(
        "k6-nofile",
        "    k6: { file: nowhere.json }\n",
        ("o.json", two),
        &["cannot read the k6 options 'nowhere.json'"],
    );
}

#[test]
fn bad_prometheus_responses_exit_2_with_what_is_wrong() {
    let p = "    prometheus: { file: r.json, series: { job: menu } }\n";
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    refused("prom-vector", p, ("r.json", vector), &["found 'vector' (an instant query"]);
    let other = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"job":"cart","instance":"x"},"values":[[1,"1"]]}]}}"#;
    refused(
        "prom-nomatch",
        p,
        ("r.json", other),
        &[r#"no series matches {job="menu"}"#, r#"{instance="x", job="cart"}"#],
    );
    let bad = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"job":"menu"},"values":[[1,"1"],[2,"fast"]]}]}}"#;
    refused("prom-value", p, ("r.json", bad), &["values[1]: cannot read the value 'fast'"]);
    let error = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\""}"#;
    refused("prom-error", p, ("r.json", error), &["the response is an error (bad_data)"]);
}

#[test]
fn stages_and_sources_are_checked() {
    let m = topology("60s", "    target: api.get\n    rate: 5/s\n    stages: [ { duration: 1m, target: 5/s } ]\n");
    let (code, err) = check_cli("two-sources", &[("t.yaml", &m)]);
    assert_eq!(code, Some(2));
    assert!(err.contains("one source of traffic; this one has 'stages' and 'rate'"), "{err}");
    let m = topology("60s", "    target: api.get\n    stages: [ { duration: 1m, target: 5 } ]\n");
    let (code, err) = check_cli("stage-rate", &[("t.yaml", &m)]);
    assert_eq!(code, Some(2));
    assert!(err.contains("stages[0].target"), "{err}");
}

/// Traffic that stops before the run ends is fine, with a note on stderr.
#[test]
fn traffic_that_stops_early_is_noted() {
    let m = topology("80s", "    target: api.get\n    stages: [ { duration: 70s, target: 5/s } ]\n");
    let (code, err) = check_cli("early-end", &[("t.yaml", &m)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("the traffic of 'stages' stops at 70s, before the run ends (80s)"), "{err}");
}
