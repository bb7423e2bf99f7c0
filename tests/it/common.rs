//! Shared helpers: loading topologies, running the simulator with invariants
//! checked, the invariants every run must satisfy, and running independent
//! replications in parallel. Holds no test of its own.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use stormcast::cli;
use stormcast::engine::SimDuration;
use stormcast::metrics::{LatencySummary, RunResult};
use stormcast::model::Model;
use stormcast::sim::{self, RunOptions};
use stormcast::spec::{self, Diagnostics};

/// The repository's `topologies/` folder.
pub fn topologies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies")
}

/// Renders diagnostics one per line (file:line:column: path: message).
pub fn show(d: &Diagnostics) -> String {
    if d.0.is_empty() {
        return "(no diagnostics: the loader returned an error without saying why)".into();
    }
    d.0.iter()
        .map(|x| {
            let hint = x.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
            format!("{}:{}:{}: {}: {}{hint}", x.file, x.line, x.column, x.path, x.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads `topologies/<file>`, panicking with the diagnostics if it does not load.
pub fn load_topology(file: &str) -> Model {
    let path = topologies_dir().join(file);
    match cli::load_file(&path) {
        Ok(m) => m,
        Err(d) => panic!("{} does not load:\n{}", path.display(), show(&d)),
    }
}

/// Loads a topology from a string (relative paths resolve in `topologies/`).
pub fn load_yaml(name: &str, text: &str) -> Result<Model, Diagnostics> {
    spec::load_str(name, text, &spec::LoadOptions { base_dir: topologies_dir(), files: &cli::FsFiles })
}

pub fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// Options every test run uses: the given seed and duration (`None`: the
/// file's), with the simulator's internal invariant checks on.
pub fn options(seed: u64, duration: Option<SimDuration>) -> RunOptions {
    RunOptions { seed: Some(seed), duration, check_invariants: true, ..RunOptions::default() }
}

/// Runs `model` and asserts [`invariant_violations`] finds nothing.
pub fn run_checked(model: &Model, opts: &RunOptions) -> RunResult {
    let r = run_unasserted(model, opts);
    let v = invariant_violations(model, &r);
    assert!(v.is_empty(), "{} (seed {}): invariants broken:\n  {}", model.name, r.seed, v.join("\n  "));
    r
}

/// Runs `model` with invariant checks forced on, without judging the result.
pub fn run_unasserted(model: &Model, opts: &RunOptions) -> RunResult {
    let opts = RunOptions { check_invariants: true, ..opts.clone() };
    sim::run(model, &opts)
}

/// Measured (post-warm-up) seconds of a run.
pub fn measured_secs(r: &RunResult) -> f64 {
    r.duration_s - r.warmup_s
}

fn latency_problems(what: &str, l: &LatencySummary, count: u64, out: &mut Vec<String>) {
    let all = [l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max];
    // Nothing succeeded: no latency at all (null), never a made-up 0.
    if all.iter().any(|x| x.is_some() != (count > 0)) {
        out.push(format!("{what}: {count} successes but latency {l:?}"));
        return;
    }
    let Some(all) = all.into_iter().collect::<Option<Vec<f64>>>() else { return };
    let [mean, p50, p90, p95, p99, p999, max] = all[..] else { unreachable!() };
    if all.iter().any(|x| !x.is_finite() || *x < 0.0) {
        out.push(format!("{what}: latency has a negative or non-finite value: {l:?}"));
        return;
    }
    let q = [p50, p90, p95, p99, p999];
    if q.windows(2).any(|w| w[0] > w[1]) {
        out.push(format!("{what}: percentiles not ordered: {l:?}"));
    }
    // Percentiles are clamped to the exact max.
    if p999 > max {
        out.push(format!("{what}: p999 above max: {l:?}"));
    }
    // The mean is exact (a sum over requests), so it cannot exceed max but
    // for the float division.
    if mean > max * (1.0 + 1e-12) {
        out.push(format!("{what}: mean above max: {l:?}"));
    }
}

/// Every invariant a finished run must satisfy, as one message each: the
/// simulator's own checks (capacities, monotone time) reported in
/// `invariant_violations`, plus what is visible in the result —
/// conservation `offered = ok + failed + in_flight_at_end` per workload,
/// failures adding up, the run reaching its end (`stopped_by`), utilizations in [0, 1],
/// admission queues within capacity, ordered latency percentiles.
pub fn invariant_violations(model: &Model, r: &RunResult) -> Vec<String> {
    let mut v: Vec<String> = r.invariant_violations.iter().map(|s| format!("sim: {s}")).collect();
    // The run must reach its end time.
    if r.engine.stopped_by != stormcast::metrics::StopReason::Duration {
        v.push(format!("stopped_by = {:?}, not \"duration\"", r.engine.stopped_by));
    }
    if !r.complete {
        v.push("complete = false".into());
    }
    if (r.engine.sim_time_s - r.duration_s).abs() > 1e-6 * r.duration_s.max(1.0) {
        v.push(format!("simulated time {} s differs from duration {} s", r.engine.sim_time_s, r.duration_s));
    }
    if r.workloads.len() != model.workloads.len() {
        v.push(format!("{} workloads in the model, {} in the result", model.workloads.len(), r.workloads.len()));
    }
    for (name, w) in &r.workloads {
        if w.offered != w.ok + w.failed + w.in_flight_at_end {
            v.push(format!(
                "workload {name}: offered {} != ok {} + failed {} + in flight {}",
                w.offered, w.ok, w.failed, w.in_flight_at_end
            ));
        }
        let f = &w.failures;
        if w.failed != f.error + f.timeout + f.rejected + f.short_circuited {
            v.push(format!("workload {name}: failed {} != the sum of its kinds {f:?}", w.failed));
        }
        let by_cause: u64 = w.causes.iter().map(|c| c.count).sum();
        if w.failed != by_cause {
            v.push(format!("workload {name}: failed {} != the sum of its causes {:?}", w.failed, w.causes));
        }
        if !(w.goodput_per_s.is_finite() && w.goodput_per_s >= 0.0) {
            v.push(format!("workload {name}: goodput {}", w.goodput_per_s));
        }
        latency_problems(&format!("workload {name}"), &w.latency_ms, w.ok, &mut v);
    }
    if r.services.len() != model.services.len() {
        v.push(format!("{} services in the model, {} in the result", model.services.len(), r.services.len()));
    }
    for svc in &model.services {
        let Some(s) = r.services.get(&svc.name) else {
            v.push(format!("service {} missing from the result", svc.name));
            continue;
        };
        let name = &svc.name;
        if !(0.0..=1.0 + 1e-9).contains(&s.utilization) {
            v.push(format!("service {name}: utilization {}", s.utilization));
        }
        for (what, x) in [
            ("mean_in_system", s.mean_in_system),
            ("mean_queue_len", s.mean_queue_len),
            ("queue_wait_ms_mean", s.queue_wait_ms_mean),
            ("cpu_wait_ms_mean", s.cpu_wait_ms_mean),
            ("wasted_cpu_s", s.wasted_cpu_s),
        ] {
            if !(x.is_finite() && x >= 0.0) {
                v.push(format!("service {name}: {what} = {x}"));
            }
        }
        if s.mean_queue_len > s.mean_in_system * (1.0 + 1e-9) + 1e-9 {
            v.push(format!("service {name}: mean queue {} > mean in system {}", s.mean_queue_len, s.mean_in_system));
        }
        if let Some(cap) = svc.queue.capacity {
            let bound = cap as u64 * s.replicas.max.max(svc.replicas) as u64;
            if s.queue_len_max > bound {
                v.push(format!("service {name}: queue_len_max {} > capacity {cap} x replicas", s.queue_len_max));
            }
        }
        if s.errors > s.completed {
            v.push(format!("service {name}: errors {} > completed {}", s.errors, s.completed));
        }
        if s.replicas.min > s.replicas.max {
            v.push(format!("service {name}: replicas {:?}", s.replicas));
        }
        latency_problems(&format!("service {name}"), &s.latency_ms, s.completed, &mut v);
    }
    for (name, e) in &r.edges {
        if e.retries > e.attempts {
            v.push(format!("edge {name}: retries {} > attempts {}", e.retries, e.attempts));
        }
    }
    v
}

/// Runs `model` once per seed, in parallel on up to two threads (the test
/// machine has two cores), each with invariants asserted, and maps each
/// result through `f`. The output is in seed order whatever the scheduling.
pub fn replicate<T: Send>(
    model: &Model,
    seeds: &[u64],
    duration: Option<SimDuration>,
    f: impl Fn(&RunResult) -> T + Sync,
) -> Vec<T> {
    let threads =
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 2).min(seeds.len().max(1));
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..seeds.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= seeds.len() {
                        break;
                    }
                    let r = run_checked(model, &options(seeds[i], duration));
                    let x = f(&r);
                    out.lock().expect("a replication panicked")[i] = Some(x);
                }
            });
        }
    });
    out.into_inner().expect("a replication panicked").into_iter().map(|x| x.expect("every seed ran")).collect()
}
