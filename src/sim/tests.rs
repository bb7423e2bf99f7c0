//! Unit tests of the simulation on models built in code (the YAML reader
//! has its own tests; theory tests live in `tests/it`).

use super::{RunOptions, run};
use crate::engine::{SimDuration, SimTime};
use crate::model::*;

fn service(name: &str, cpus: u32, endpoints: Vec<EndpointId>) -> Service {
    Service {
        name: name.into(),
        replicas: 1,
        cpus,
        max_in_flight: None,
        queue: QueueCfg { capacity: None, discipline: Discipline::Fifo, max_wait: None },
        balancer: Balancer::RoundRobin,
        endpoints,
        autoscale: None,
    }
}

/// One service, one endpoint doing `work`, one open workload.
fn single(work: Dist, rate: f64, arrivals: Arrivals, secs: u64) -> Model {
    Model {
        name: "t".into(),
        duration: SimDuration::from_secs(secs),
        warmup: SimDuration::ZERO,
        seed: 1,
        network_latency: None,
        services: vec![service("s", 1, vec![EndpointId(0)])],
        endpoints: vec![Endpoint {
            service: ServiceId(0),
            name: "e".into(),
            full_name: "s.e".into(),
            code: vec![Instr::Work(DistId(0)), Instr::Respond],
        }],
        edges: vec![],
        workloads: vec![Workload {
            name: "w".into(),
            target: EndpointId(0),
            kind: WorkloadKind::Open { rate_per_s: rate, arrivals, shape: vec![] },
        }],
        dists: vec![work],
        forks: vec![],
        branches: vec![],
        caches: vec![],
    }
}

fn checked() -> RunOptions {
    RunOptions { check_invariants: true, ..RunOptions::default() }
}

#[test]
fn deterministic_arrivals_on_an_idle_server_take_exactly_the_work() {
    let m = single(Dist::Const(SimDuration::from_millis(5)), 100.0, Arrivals::Deterministic, 10);
    let r = run(&m, &checked());
    assert!(r.invariant_violations.is_empty(), "{:?}", r.invariant_violations);
    let w = &r.workloads["w"];
    assert_eq!(w.offered, 1000);
    assert_eq!(w.ok + w.in_flight_at_end, 1000);
    assert_eq!(w.latency_ms.max, 5.0);
    assert_eq!(w.latency_ms.mean, 5.0);
    let s = &r.services["s"];
    assert!((s.utilization - 0.5).abs() < 1e-3, "{}", s.utilization);
    assert_eq!(r.engine.stopped_by, "duration");
}

#[test]
fn md1_mean_matches_pollaczek_khinchine() {
    // λ = 800/s, D = 1 ms: ρ = 0.8, W = D + ρD / (2(1−ρ)) = 1 + 2 = 3 ms.
    let m = single(Dist::Const(SimDuration::from_millis(1)), 800.0, Arrivals::Poisson, 2000);
    let r = run(&m, &RunOptions::default());
    let w = &r.workloads["w"];
    // 1.6 M customers; the sd of the mean waiting time for M/D/1 at ρ = 0.8 over
    // this many customers is ≈ 0.01 ms (batch means); 0.06 ms is ≥ 5 sd.
    assert!((w.latency_ms.mean - 3.0).abs() < 0.06, "mean {}", w.latency_ms.mean);
    assert!((r.services["s"].utilization - 0.8).abs() < 0.005);
    assert_eq!(w.offered, w.ok + w.failed + w.in_flight_at_end);
}

#[test]
fn same_seed_same_bytes_and_other_seed_other_bytes() {
    let m = single(Dist::Const(SimDuration::from_millis(1)), 500.0, Arrivals::Poisson, 20);
    let a = serde_json::to_string(&run(&m, &RunOptions::default())).unwrap();
    let b = serde_json::to_string(&run(&m, &RunOptions::default())).unwrap();
    let c = serde_json::to_string(&run(&m, &RunOptions { seed: Some(2), ..RunOptions::default() })).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn bounded_queue_rejects_when_full() {
    let mut m = single(Dist::Const(SimDuration::from_millis(10)), 1000.0, Arrivals::Deterministic, 1);
    m.services[0].max_in_flight = Some(1);
    m.services[0].queue.capacity = Some(0);
    let r = run(&m, &checked());
    assert!(r.invariant_violations.is_empty(), "{:?}", r.invariant_violations);
    let w = &r.workloads["w"];
    // One admitted per 10 ms; 9 of every 10 arrive while it is busy.
    assert_eq!(w.failures.rejected, 900, "{w:?}");
    assert_eq!(r.services["s"].rejected, 900);
    let _ = SimTime::ZERO;
}
