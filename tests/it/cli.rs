//! The command line as a user runs it: exit codes, what goes to stdout and
//! stderr (notes never on stdout), problems reported before a run rather
//! than after it, `stormcast schema`, and files that are not topologies.

use std::path::PathBuf;
use std::process::{Command, Output};

fn stormcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stormcast")).args(args).output().expect("the binary runs")
}

fn topology(name: &str) -> String {
    crate::common::topologies_dir().join(name).display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A run stopped by a safety limit is partial: marked in the summary and
/// the JSON, explained on stderr, and the exit status is 3 (not 0).
#[test]
fn a_partial_run_says_so_and_exits_3() {
    let out = stormcast(&["run", &topology("quickstart.yaml"), "-q", "--max-events", "2000"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("PARTIAL"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("partial"), "{}", text(&out.stderr));
    let out = stormcast(&["run", &topology("quickstart.yaml"), "-q", "--json", "--max-events", "2000"]);
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["complete"], false);
    assert_eq!(json["engine"]["stopped_by"], "max_events");
    assert!(json["findings"].as_array().expect("findings").iter().any(|f| f["kind"] == "stopped_early"));
}

/// `-q` leaves stderr empty (no progress bar, no speed line).
#[test]
fn quiet_is_quiet() {
    let out = stormcast(&["run", &topology("mm1.yaml"), "-q", "--duration", "5s"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");
    let out = stormcast(&["run", &topology("mm1.yaml"), "--duration", "5s"]);
    assert!(text(&out.stderr).contains("events/s"), "without -q the speed line is there");
}

/// An `--out` folder that cannot be written is reported before the run
/// (exit 2, nothing simulated), not after minutes of simulation.
#[test]
fn an_unwritable_out_is_reported_before_the_run() {
    let file = std::env::temp_dir().join(format!("stormcast-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, "a file, not a folder").expect("temp file");
    let out_dir: PathBuf = file.join("out");
    let out = stormcast(&["run", &topology("mm1.yaml"), "--out", &out_dir.display().to_string()]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot write"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("events/s"), "it must not have run: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

/// `--interval` has a floor, and with `--out` the series cannot outgrow memory.
#[test]
fn the_interval_is_bounded() {
    let out = stormcast(&["run", &topology("mm1.yaml"), "--interval", "1us"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("too short"), "{}", text(&out.stderr));
    let dir = std::env::temp_dir().join(format!("stormcast-rows-{}", std::process::id()));
    let out = stormcast(&[
        "run",
        &topology("mm1.yaml"),
        "--interval",
        "1ms",
        "--duration",
        "30d",
        "--out",
        &dir.display().to_string(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("or longer"), "{}", text(&out.stderr));
}

/// Exit code, stdout and stderr of a run of the binary.
fn stormcast_text(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stormcast")).args(args).output().expect("the binary runs");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8 output");
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stormcast-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn schema_prints_the_json_schema_and_the_markdown_tables() {
    let (code, out, _) = stormcast_text(&["schema"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(v, stormcast::spec::keys::json::topology_schema());
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let (code, out, _) = stormcast_text(&["schema", "--markdown"]);
    assert_eq!(code, 0);
    assert!(out.contains("| `replicas` | integer 1–100000 | `1` |"), "{out}");
}

const AUTOSCALED: &str = "duration: 2s\nservices:\n  api:\n    replicas: 3\n    autoscale: { min: 1, max: 9 }\n    \
                          endpoints: { get: { work: 1ms } }\nworkload: [ { name: w, target: api.get, rate: 10/s } ]\n";

#[test]
fn raising_autoscale_min_with_set_works_and_notes_it_on_stderr() {
    let file = temp_file("autoscaled.yaml", AUTOSCALED.as_bytes());
    let f = file.to_str().unwrap();
    let (code, out, err) = stormcast_text(&["run", f, "--json", "-q", "--set", "services.api.autoscale.min=6"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: ") && err.contains("below autoscale.min (6): the service starts at 6"), "{err}");
    assert!(!out.contains("note"), "stdout is the result only");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON only on stdout");
    assert!(v["services"]["api"]["replicas"]["min"].as_u64().unwrap() >= 6, "{}", v["services"]["api"]);
    let (code, out, err) = stormcast_text(&["check", f]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("note") && !out.contains("note"), "nothing to say when replicas is within range");
}

#[test]
fn a_binary_file_is_not_a_text_file() {
    let file = temp_file("binary.yaml", b"services:\n  a: \x00\x01\x02\xff\xfe\n");
    let (code, out, err) = stormcast_text(&["check", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("binary.yaml:2:6: this is not a text file"), "{err}");
}
