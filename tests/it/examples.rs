//! Every topology in `topologies/` loads and runs (with a short duration
//! override) with all invariants holding.

use crate::common::{load_topology, options, run_checked, secs, topologies_dir};

/// Simulated seconds per example: enough for every workload to send
/// something, short enough for the whole folder to run in seconds.
const DURATION_S: u64 = 20;

#[test]
fn every_topology_loads_and_runs() {
    let mut files: Vec<String> = std::fs::read_dir(topologies_dir())
        .expect("topologies/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "expected the theory topologies at least: {files:?}");
    for file in &files {
        let model = load_topology(file);
        // Keep the warm-up inside the run: at least 1 s measured.
        let duration = secs(DURATION_S).max(model.warmup + secs(1));
        let r = run_checked(&model, &options(model.seed, Some(duration)));
        let offered: u64 = r.workloads.values().map(|w| w.offered).sum();
        assert!(offered > 0, "{file}: no request arrived in {duration:?}");
    }
}
