//! The command line as a user runs it: exit codes, what goes to stdout and
//! stderr, and problems reported before a run rather than after it.

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
