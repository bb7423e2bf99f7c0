//! The command line as a user meets it: `stormcast schema`, notes on
//! stderr (never stdout), and files that are not topologies.

use std::process::Command;

fn stormcast(args: &[&str]) -> (i32, String, String) {
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
    let (code, out, _) = stormcast(&["schema"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(v, stormcast::spec::keys::json::topology_schema());
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let (code, out, _) = stormcast(&["schema", "--markdown"]);
    assert_eq!(code, 0);
    assert!(out.contains("| `replicas` | integer 1–100000 | `1` |"), "{out}");
}

const AUTOSCALED: &str = "duration: 2s\nservices:\n  api:\n    replicas: 3\n    autoscale: { min: 1, max: 9 }\n    \
                          endpoints: { get: { work: 1ms } }\nworkload: [ { name: w, target: api.get, rate: 10/s } ]\n";

#[test]
fn raising_autoscale_min_with_set_works_and_notes_it_on_stderr() {
    let file = temp_file("autoscaled.yaml", AUTOSCALED.as_bytes());
    let f = file.to_str().unwrap();
    let (code, out, err) = stormcast(&["run", f, "--json", "-q", "--set", "services.api.autoscale.min=6"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: ") && err.contains("below autoscale.min (6): the service starts at 6"), "{err}");
    assert!(!out.contains("note"), "stdout is the result only");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON only on stdout");
    assert!(v["services"]["api"]["replicas"]["min"].as_u64().unwrap() >= 6, "{}", v["services"]["api"]);
    let (code, out, err) = stormcast(&["check", f]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("note") && !out.contains("note"), "nothing to say when replicas is within range");
}

#[test]
fn a_binary_file_is_not_a_text_file() {
    let file = temp_file("binary.yaml", b"services:\n  a: \x00\x01\x02\xff\xfe\n");
    let (code, out, err) = stormcast(&["check", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("binary.yaml:2:6: this is not a text file"), "{err}");
}
