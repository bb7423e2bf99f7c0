//! `stormcast experiment`, `capacity` and `run` with SLOs as a user (or a
//! pipeline) runs them: the exit status gates on SLOs, slices run as
//! separate processes merge into exactly the single-machine bytes, any
//! thread count gives the same bytes, a rerun resumes, and bad input exits
//! 2 with nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stormcast(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stormcast"));
    c.args(args).env_remove("JOB_COMPLETION_INDEX").env_remove("SLURM_ARRAY_TASK_ID");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh, empty folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stormcast-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A small experiment on the M/M/1 topology: two variants (a faster
/// server), a sweep of two rates, 3 replications of 20 s — 12 runs.
fn small_experiment(dir: &Path) -> PathBuf {
    let topo = crate::common::topologies_dir().join("mm1.yaml");
    let file = dir.join("exp.yaml");
    let yaml = format!(
        "experiment: small\ntopology: {}\nreplications: 3\nseed: 7\nduration: 20s\n\
         slo: [ {{ target: clients, p99: 30ms }} ]\n\
         variants:\n  baseline: {{}}\n  faster:\n    set: {{ \"services.server.endpoints.serve.work\": \"exp(0.9ms)\" }}\n\
         sweep:\n  \"workload[0].rate\": [500/s, 800/s]\n",
        topo.display()
    );
    std::fs::write(&file, yaml).expect("write experiment");
    file
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `--jobs 1` and `--jobs 2` write the same bytes; two slices run as
/// separate processes — K/N given, and N with K from a Kubernetes Indexed
/// Job's or a Slurm array's variable — merge into the same bytes too.
#[test]
fn slices_and_threads_give_the_single_machine_bytes() {
    let dir = scratch("slices");
    let exp = small_experiment(&dir);
    let one = dir.join("one");
    let two = dir.join("two");
    for (out, jobs) in [(&one, "1"), (&two, "2")] {
        let o = stormcast(&["experiment", &s(&exp), "--out", &s(out), "--jobs", jobs, "-q"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let single = read(&one.join("experiment.json"));
    assert_eq!(single, read(&two.join("experiment.json")), "--jobs 1 and --jobs 2 differ");

    // Kubernetes: JOB_COMPLETION_INDEX counts from 0.
    let (k0, k1) = (dir.join("k8s-0"), dir.join("k8s-1"));
    for (out, idx) in [(&k0, "0"), (&k1, "1")] {
        let o = stormcast(
            &["experiment", &s(&exp), "--shard", "2", "--out", &s(out), "-q"],
            &[("JOB_COMPLETION_INDEX", idx)],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(!out.join("experiment.json").exists(), "a slice writes its runs, not the result");
    }
    let o = stormcast(&["report", &s(&k0), &s(&k1)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(read(&k0.join("experiment.json")), single, "merged Kubernetes slices differ from one machine");

    // Slurm: SLURM_ARRAY_TASK_ID from SLURM_ARRAY_TASK_MIN; and K/N written out.
    let (s1, s2) = (dir.join("slurm-1"), dir.join("slurm-2"));
    let o = stormcast(
        &["experiment", &s(&exp), "--shard", "2", "--out", &s(&s1), "-q"],
        &[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "5")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = stormcast(&["experiment", &s(&exp), "--shard", "2/2", "--out", &s(&s2), "-q"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // Merging a folder with only one slice says what is missing.
    let o = stormcast(&["report", &s(&s1)], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("missing"), "{}", text(&o.stderr));
    let o = stormcast(&["report", &s(&s2), &s(&s1)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(read(&s2.join("experiment.json")), single, "merged Slurm slices differ from one machine");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rerun with the same inputs runs nothing again; a changed input runs
/// its runs again.
#[test]
fn a_rerun_resumes_and_a_change_reruns() {
    let dir = scratch("resume");
    let exp = small_experiment(&dir);
    let out = dir.join("out");
    let first = stormcast(&["experiment", &s(&exp), "--out", &s(&out)], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let bytes = read(&out.join("experiment.json"));
    let again = stormcast(&["experiment", &s(&exp), "--out", &s(&out)], &[]);
    assert!(text(&again.stderr).contains("12 of 12 runs (12 resumed)"), "{}", text(&again.stderr));
    assert_eq!(read(&out.join("experiment.json")), bytes);
    let changed = std::fs::read_to_string(&exp).expect("read").replace("exp(0.9ms)", "exp(0.8ms)");
    std::fs::write(&exp, changed).expect("write");
    let third = stormcast(&["experiment", &s(&exp), "--out", &s(&out)], &[]);
    assert!(text(&third.stderr).contains("12 of 12 runs (6 resumed)"), "{}", text(&third.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad input exits 2 with a clear message and writes nothing: an unknown
/// path (with a suggestion), a sweep value of the wrong type, an SLO
/// naming no workload, a shard out of range.
#[test]
fn bad_experiments_exit_2_and_write_nothing() {
    let dir = scratch("bad");
    let exp = small_experiment(&dir);
    let good = std::fs::read_to_string(&exp).expect("read");
    let cases: [(&str, String, &[&str]); 3] = [
        (
            "unknown path",
            good.replace("endpoints.serve.work", "endpoints.serve.wrok"),
            &["wrok", "did you mean 'work'"],
        ),
        ("wrong type", good.replace("[500/s, 800/s]", "[500/s, fast]"), &["sweep", "fast"]),
        ("no workload", good.replace("target: clients", "target: client"), &["no workload named 'client'", "clients"]),
    ];
    for (what, yaml, wanted) in cases {
        std::fs::write(&exp, yaml).expect("write");
        let out = dir.join(format!("out-{}", what.replace(' ', "-")));
        let o = stormcast(&["experiment", &s(&exp), "--out", &s(&out)], &[]);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o.stderr));
        for w in wanted {
            assert!(text(&o.stderr).contains(w), "{what}: wanted '{w}' in {}", text(&o.stderr));
        }
        assert!(text(&o.stderr).contains("exp.yaml:"), "{what}: file:line:col in {}", text(&o.stderr));
        assert!(!out.exists(), "{what}: nothing written");
        assert!(o.stdout.is_empty(), "{what}");
    }
    std::fs::write(&exp, &good).expect("write");
    for shard in ["3/2", "0/2", "a/2"] {
        let out = dir.join("out-shard");
        let o = stormcast(&["experiment", &s(&exp), "--shard", shard, "--out", &s(&out)], &[]);
        assert_eq!(o.status.code(), Some(2), "--shard {shard}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("--shard"), "{}", text(&o.stderr));
        assert!(!out.exists(), "--shard {shard}: nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `slo:` in a topology gates `run`: a violated SLO is an `slo_violation`
/// finding with its windows and exit status 1; a met one exits 0.
#[test]
fn a_run_exits_1_when_its_slo_is_violated() {
    let dir = scratch("slo");
    let topo = crate::common::topologies_dir().join("mm1.yaml");
    let base = std::fs::read_to_string(topo).expect("read mm1");
    // M/M/1 at ρ = 0.8: p99 = ln(100)/200 s = 23 ms.
    for (bound, code) in [("15ms", 1), ("40ms", 0)] {
        let file = dir.join(format!("mm1-{bound}.yaml"));
        std::fs::write(&file, format!("{base}\nslo: [ {{ target: clients, p99: {bound} }} ]\n")).expect("write");
        let o = stormcast(&["run", &s(&file), "--json", "-q", "--duration", "31s"], &[]);
        assert_eq!(o.status.code(), Some(code), "p99 ≤ {bound}: {}", text(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let violations: Vec<&serde_json::Value> =
            json["findings"].as_array().expect("findings").iter().filter(|f| f["kind"] == "slo_violation").collect();
        if code == 1 {
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert!(!violations[0]["windows"].as_array().expect("windows").is_empty(), "{:?}", violations[0]);
        } else {
            assert!(violations.is_empty(), "{violations:?}");
        }
        // The terminal summary says it too.
        let o = stormcast(&["run", &s(&file), "-q", "--duration", "31s"], &[]);
        assert_eq!(o.status.code(), Some(code));
        assert!(text(&o.stdout).contains("slo_violation") == (code == 1), "{}", text(&o.stdout));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `capacity` names its bad input: a workload that does not exist (with a
/// suggestion), a closed loop, an SLO key that does not exist.
#[test]
fn capacity_rejects_bad_input_with_exit_2() {
    let topo = s(&crate::common::topologies_dir().join("mm1.yaml"));
    let o = stormcast(&["capacity", &topo, "--workload", "client", "--slo", "p99=30ms"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("did you mean 'clients'"), "{}", text(&o.stderr));
    let o = stormcast(&["capacity", &topo, "--workload", "clients", "--slo", "p98=30ms"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no SLO key"), "{}", text(&o.stderr));
    let closed = s(&crate::common::topologies_dir().join("closed.yaml"));
    let wl = std::fs::read_to_string(crate::common::topologies_dir().join("closed.yaml")).expect("read");
    let name =
        wl.split("- name:").nth(1).and_then(|r| r.split_whitespace().next()).expect("a workload name").to_string();
    let o = stormcast(&["capacity", &closed, "--workload", &name, "--slo", "p99=30ms"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("closed loop"), "{}", text(&o.stderr));
}

/// Ctrl-C (SIGINT) stops an experiment cleanly: exit status 130, the runs
/// finished so far kept (and no half-written run file), and the same
/// command resumes them. 40 runs of 300 s of the M/M/1 station on one
/// thread take a few seconds; the signal comes once the first run is
/// stored.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_finished_runs_and_a_rerun_resumes() {
    let dir = scratch("interrupt");
    let topo = crate::common::topologies_dir().join("mm1.yaml");
    let exp = dir.join("exp.yaml");
    let yaml = format!(
        "experiment: long\ntopology: {}\nreplications: 20\nseed: 1\nduration: 300s\n\
         variants:\n  baseline: {{}}\n  other:\n    set: {{ \"workload[0].rate\": 700/s }}\n",
        topo.display()
    );
    std::fs::write(&exp, yaml).expect("write");
    let out = dir.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_stormcast"))
        .args(["experiment", &s(&exp), "--out", &s(&out), "--jobs", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stored = |d: &Path| {
        std::fs::read_dir(d.join("runs")).map_or(0, |rd| {
            rd.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count()
        })
    };
    // At most 60 s (3000 naps of 20 ms) for the first run to be stored.
    for _ in 0..3000 {
        if stored(&out) > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let o = child.wait_with_output().expect("wait");
    let kept = stored(&out);
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("rerun the same command to resume"), "{}", text(&o.stderr));
    assert!((1..40).contains(&kept), "{kept} runs kept");
    assert!(!out.join("experiment.json").exists(), "no result from a stopped experiment");
    let leftovers: Vec<String> = std::fs::read_dir(out.join("runs"))
        .expect("runs")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    assert!(leftovers.is_empty(), "half-written files: {leftovers:?}");
    let o = stormcast(&["experiment", &s(&exp), "--out", &s(&out), "--jobs", "2"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&format!("40 of 40 runs ({kept} resumed)")), "{}", text(&o.stderr));
    // And the resumed result is the one an uninterrupted run gives.
    let fresh = dir.join("fresh");
    let o = stormcast(&["experiment", &s(&exp), "--out", &s(&fresh), "-q"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(read(&out.join("experiment.json")), read(&fresh.join("experiment.json")));
    let _ = std::fs::remove_dir_all(&dir);
}
