//! Trace replay and request attributes through the loader and a whole run:
//! counts and times of a replay, `per()` sizing work exactly, `on_end`,
//! and each bad trace refused at load with its file and line (exit 2 from
//! the command line). Traces are served from memory (or `tests/data/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use stormcast::metrics::RunResult;
use stormcast::model::Model;
use stormcast::sim::RunOptions;
use stormcast::spec::{self, Diagnostics, FileSource};

use super::common::{run_checked, show};

/// Files served from memory, by path relative to `/mem`.
struct Mem(BTreeMap<PathBuf, String>);

impl FileSource for Mem {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        self.0.get(path).cloned().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
}

fn load(yaml: &str, files: &[(&str, &str)]) -> Result<Model, Diagnostics> {
    let mem = Mem(files.iter().map(|(p, t)| (Path::new("/mem").join(p), t.to_string())).collect());
    spec::load_str("t.yaml", yaml, &spec::LoadOptions { base_dir: "/mem".into(), files: &mem })
}

fn topology(endpoint_work: &str, trace: &str) -> String {
    format!(
        "name: t\nduration: 60s\nservices:\n  s:\n    cpus: 1000\n    endpoints:\n      e: {{ work: \"{endpoint_work}\" }}\n\
         workload:\n  - name: replay\n    target: s.e\n    trace: {trace}\n"
    )
}

fn run(m: &Model, keep_series: bool) -> RunResult {
    run_checked(m, &RunOptions { keep_series, ..super::common::options(1, None) })
}

/// 20 requests a second apart (0.5 s after the second mark), tokens 1..=20.
fn seconds_trace() -> String {
    let mut s = String::from("TIMESTAMP,Tokens,Other\n");
    for i in 0..20 {
        s.push_str(&format!("2023-11-16 18:15:{:02}.5000000,{},0\n", 10 + i, i + 1));
    }
    s
}

#[test]
fn a_replay_sends_every_request_of_the_window_at_its_second() {
    let trace = seconds_trace();
    let yaml = topology("1ms", "{ file: t.csv, column: TIMESTAMP }");
    let m = load(&yaml, &[("t.csv", &trace)]).unwrap_or_else(|d| panic!("{}", show(&d)));
    let r = run(&m, true);
    let w = &r.workloads["replay"];
    assert_eq!((w.offered, w.ok), (20, 20));
    let per_second: Vec<u64> = r.series.workloads.iter().map(|row| row.offered).collect();
    assert_eq!(&per_second[..21], &[[1; 20].as_slice(), &[0]].concat()[..], "one request each second from t = 0");
    // Twice as fast: two a second for 10 s. A window of 5 s: 5 requests.
    let yaml = topology("1ms", "{ file: t.csv, column: TIMESTAMP, speed: 2, start: 3s, end: 8s }");
    let r = run(&load(&yaml, &[("t.csv", &trace)]).unwrap(), true);
    assert_eq!(r.workloads["replay"].offered, 5);
    let per_second: Vec<u64> = r.series.workloads.iter().take(4).map(|row| row.offered).collect();
    assert_eq!(per_second, [2, 2, 1, 0]);
}

/// Work `per(Tokens, 1ms)` on a server with room for all: each request's
/// latency is its tokens in ms, so the mean is 10.5 ms and the max 20 ms.
#[test]
fn per_sizes_work_by_the_requests_attribute_exactly() {
    let trace = seconds_trace();
    let yaml = topology("per(Tokens, 1ms)", "{ file: t.csv, column: TIMESTAMP, attributes: [ Tokens, Other ] }");
    let m = load(&yaml, &[("t.csv", &trace)]).unwrap_or_else(|d| panic!("{}", show(&d)));
    let w = &run(&m, false).workloads["replay"];
    assert_eq!(w.ok, 20);
    assert!((w.latency_ms.mean.unwrap() - 10.5).abs() < 1e-9, "{:?}", w.latency_ms);
    assert!((w.latency_ms.max.unwrap() - 20.0).abs() < 0.05, "{:?}", w.latency_ms);
}

#[test]
fn on_end_says_what_happened_when_the_window_ran_out() {
    let trace = seconds_trace();
    let stop = run(&load(&topology("1ms", "{ file: t.csv }"), &[("t.csv", &trace)]).unwrap(), false);
    let w = &stop.workloads["replay"];
    let t = w.trace.as_ref().expect("a trace workload says how it was replayed");
    assert_eq!((w.offered, t.window_requests, t.on_end.as_str(), t.window_s), (20, 20, "stop", 20.0));
    assert!(t.note.contains("no requests after it"), "{}", t.note);
    let looped = run(&load(&topology("1ms", "{ file: t.csv, on_end: loop }"), &[("t.csv", &trace)]).unwrap(), false);
    let w = &looped.workloads["replay"];
    // Three passes of 20 s, and the fourth's first request at 60 s: a run
    // includes its last instant, for every workload.
    assert_eq!(w.offered, 61);
    assert_eq!(w.trace.as_ref().unwrap().passes, 3.0);
}

#[test]
fn json_lines_and_counts_replay_too() {
    let jsonl = "{\"ts\": 0.0, \"n\": 3}\n{\"ts\": 0.25, \"n\": 4}\n{\"ts\": 1, \"n\": 5}\n";
    let yaml = topology("per(n, 1ms)", "{ file: t.jsonl, column: ts, attributes: [ n ] }");
    let m = load(&yaml, &[("t.jsonl", jsonl)]).unwrap_or_else(|d| panic!("{}", show(&d)));
    let w = &run(&m, false).workloads["replay"];
    assert_eq!(w.ok, 3);
    assert!((w.latency_ms.mean.unwrap() - 4.0).abs() < 1e-9);
    let counts = "minute,requests\n0,120\n1,0\n2,60\n";
    let yaml = topology("1ms", "{ file: c.csv, format: counts, column: requests, interval: 20s }");
    let r = run(&load(&yaml, &[("c.csv", counts)]).unwrap(), true);
    assert_eq!(r.workloads["replay"].offered, 180);
    let per_interval: Vec<u64> = r.series.workloads.chunks(20).map(|c| c.iter().map(|row| row.offered).sum()).collect();
    assert_eq!(per_interval, [120, 0, 60], "each interval gets exactly its count");
}

fn refused(yaml: &str, files: &[(&str, &str)]) -> String {
    match load(yaml, files) {
        Ok(_) => panic!("loaded, but should not have:\n{yaml}"),
        Err(d) => show(&d),
    }
}

#[test]
fn bad_traces_are_refused_naming_file_and_line() {
    let yaml = topology("1ms", "{ file: t.csv, column: TIMESTAMP }");
    let cases = [
        (
            "TIMESTAMP\n2023-11-16 18:15:46.1\n2023-11-16 18:15:4x.2\n",
            "t.csv:3: cannot read '2023-11-16 18:15:4x.2' as a date-time",
        ),
        (
            "TIMESTAMP\n2023-11-16 18:15:47\n2023-11-16 18:15:46\n",
            "t.csv:3: timestamps must not decrease: this one is before the one on line 2",
        ),
        ("time,tokens\n1,2\n", "t.csv:1: no column 'TIMESTAMP'; the columns are 'time', 'tokens'"),
        ("TIMESTAMP\n", "the trace t.csv has no requests"),
        ("", "the trace t.csv is empty"),
    ];
    for (text, want) in cases {
        let got = refused(&yaml, &[("t.csv", text)]);
        assert!(got.contains(want), "{text:?}: expected '{want}' in\n{got}");
        assert!(got.contains("t.yaml:11:"), "at the trace's line of the topology: {got}");
    }
    let got = refused(&yaml, &[]);
    assert!(got.contains("cannot read the trace t.csv"), "{got}");
    let yaml = topology("1ms", "{ file: t.csv, column: TIMESTAMP, attributes: [ Tokens, Colour ] }");
    let got = refused(&yaml, &[("t.csv", &seconds_trace())]);
    assert!(got.contains("no column 'Colour'; the columns are 'TIMESTAMP', 'Tokens', 'Other'"), "{got}");
    let yaml = topology("1ms", "{ file: t.csv }").replace("    trace:", "    stages: [ [10s, 5/s] ]\n    trace:");
    let got = refused(&yaml, &[("t.csv", &seconds_trace())]);
    assert!(got.contains("a workload has one source of traffic; this one has 'stages' and 'trace'"), "{got}");
    let yaml = topology("1ms", "{ file: t.csv, start: 1h }");
    assert!(refused(&yaml, &[("t.csv", &seconds_trace())]).contains("has no requests in its window"));
}

#[test]
fn per_without_the_attribute_is_refused_at_load() {
    let trace = seconds_trace();
    let yaml = topology("per(Tokens, 1ms)", "{ file: t.csv }");
    let got = refused(&yaml, &[("t.csv", &trace)]);
    assert!(got.contains("no workload carries an attribute 'Tokens' (attributes: none)"), "{got}");
    let yaml = format!(
        "{}  - name: web\n    target: s.e\n    rate: 1/s\n",
        topology("per(Tokens, 1ms)", "{ file: t.csv, attributes: [ Tokens ] }")
    );
    let got = refused(&yaml, &[("t.csv", &trace)]);
    assert!(got.contains("workload 'web' reaches s.e but its requests carry no attribute 'Tokens'"), "{got}");
    let yaml = topology("mix(0.5: 1ms, 0.5: per(Tokens, 1ms))", "{ file: t.csv, attributes: [ Tokens ] }");
    assert!(refused(&yaml, &[("t.csv", &trace)]).contains("cannot be a part of mix"));
}

#[test]
fn a_bad_trace_exits_2_from_the_command_line() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/unsorted-trace.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_stormcast")).arg("run").arg(&file).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unsorted-trace.csv:4: timestamps must not decrease"), "{stderr}");
}
