//! Determinism: the same model and seed give byte-identical JSON, another
//! seed gives different numbers, and random streams are per entity, so
//! changing one service leaves an unrelated workload's arrivals and
//! latencies bit-for-bit unchanged (common random numbers).

use crate::common::{load_topology, load_yaml, options, run_checked, secs, show};
use stormcast::model::Model;

/// The JSON bytes of any part of a result.
fn bytes<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_string(x).expect("the result serialises")
}

fn json(model: &Model, seed: u64, duration_s: u64) -> String {
    bytes(&run_checked(model, &options(seed, Some(secs(duration_s)))))
}

#[test]
fn same_seed_same_bytes() {
    for file in ["jackson.yaml", "mmck.yaml", "closed.yaml"] {
        let model = load_topology(file);
        let a = json(&model, 42, 30);
        let b = json(&model, 42, 30);
        assert!(a == b, "{file}: two runs with seed 42 differ:\n{a}\n{b}");
        // A fresh load of the same file too (no state kept in the model).
        let c = json(&load_topology(file), 42, 30);
        assert!(a == c, "{file}: a reloaded model gives other bytes");
    }
}

#[test]
fn different_seed_different_numbers() {
    let model = load_topology("jackson.yaml");
    let a = json(&model, 1, 30);
    let b = json(&model, 2, 30);
    assert_ne!(a, b, "seeds 1 and 2 gave the same result");
    let ra = run_checked(&model, &options(1, Some(secs(30))));
    let rb = run_checked(&model, &options(2, Some(secs(30))));
    assert_ne!(
        ra.workloads["clients"].offered, rb.workloads["clients"].offered,
        "arrival counts equal across seeds (possible, but with ~2000 Poisson arrivals very unlikely: P < 1%)"
    );
    assert_ne!(ra.engine.digest, rb.engine.digest);
}

/// Two independent workloads on two independent services; `b_work` is the
/// work distribution of service `b` only.
fn two_systems(b_work: &str) -> String {
    format!(
        "name: crn
duration: 40s
warmup: 2s
seed: 5
services:
  a:
    replicas: 2
    cpus: 1
    endpoints:
      get:
        steps:
          - work: exp(3ms)
          - call: c.put
  c:
    replicas: 1
    cpus: 2
    endpoints:
      put:
        work: exp(4ms)
  b:
    replicas: 1
    cpus: 1
    max_in_flight: 4
    queue:
      capacity: 10
    endpoints:
      get:
        work: {b_work}
workload:
  - name: wa
    target: a.get
    rate: 300/s
    arrivals: poisson
  - name: wb
    target: b.get
    rate: 150/s
    arrivals: poisson
"
    )
}

#[test]
fn changing_one_service_leaves_an_unrelated_workload_unchanged() {
    let load = |work: &str| {
        let text = two_systems(work);
        load_yaml("crn.yaml", &text).unwrap_or_else(|d| panic!("{}\n{text}", show(&d)))
    };
    let base = run_checked(&load("exp(5ms)"), &options(9, None));
    let changed = run_checked(&load("exp(6ms)"), &options(9, None));
    // The unrelated workload and the services it uses: identical bytes.
    assert_eq!(
        bytes(&base.workloads["wa"]),
        bytes(&changed.workloads["wa"]),
        "workload wa changed when only service b's work changed"
    );
    for s in ["a", "c"] {
        assert_eq!(
            bytes(&base.services[s]),
            bytes(&changed.services[s]),
            "service {s} changed when only service b's work changed"
        );
    }
    // The changed part really changed (else this test proves nothing), and
    // its own arrivals did not: they come from the workload's stream.
    assert_ne!(bytes(&base.workloads["wb"].latency_ms), bytes(&changed.workloads["wb"].latency_ms));
    assert_eq!(base.workloads["wb"].offered, changed.workloads["wb"].offered);
    assert_eq!(base.services["b"].arrivals, changed.services["b"].arrivals);
}
