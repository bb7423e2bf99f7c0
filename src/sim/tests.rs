//! Unit tests of the simulation on models built in code (the YAML reader
//! has its own tests; theory tests live in `tests/it`).

use super::{RunOptions, run};
use crate::engine::SimDuration;
use crate::model::*;

fn service(name: &str, cpus: u32, endpoints: Vec<EndpointId>) -> Service {
    Service {
        name: name.into(),
        replicas: 1,
        cpus,
        max_in_flight: None,
        adaptive: None,
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
        breakers: vec![],
        budgets: vec![],
        throttles: vec![],
        faults: vec![],
        cost_per_replica_hour: None,
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
    assert_eq!(w.latency_ms.max.unwrap(), 5.0);
    assert_eq!(w.latency_ms.mean.unwrap(), 5.0);
    let s = &r.services["s"];
    assert!((s.utilization - 0.5).abs() < 1e-3, "{}", s.utilization);
    assert_eq!(r.engine.stopped_by, crate::metrics::StopReason::Duration);
}

#[test]
fn md1_mean_matches_pollaczek_khinchine() {
    // λ = 800/s, D = 1 ms: ρ = 0.8, W = D + ρD / (2(1−ρ)) = 1 + 2 = 3 ms.
    let m = single(Dist::Const(SimDuration::from_millis(1)), 800.0, Arrivals::Poisson, 2000);
    let r = run(&m, &RunOptions::default());
    let w = &r.workloads["w"];
    // 1.6 M customers; the sd of the mean waiting time for M/D/1 at ρ = 0.8 over
    // this many customers is ≈ 0.01 ms (batch means); 0.06 ms is ≥ 5 sd.
    assert!((w.latency_ms.mean.unwrap() - 3.0).abs() < 0.06, "mean {}", w.latency_ms.mean.unwrap());
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
}

/// Loads a topology from YAML text (files, if any, from memory).
fn yaml(text: &str) -> Model {
    crate::spec::testing::model(text)
}

fn run_checked(m: &Model) -> crate::metrics::RunResult {
    let r = run(m, &checked());
    assert!(r.invariant_violations.is_empty(), "{:?}", r.invariant_violations);
    for (name, w) in &r.workloads {
        assert_eq!(w.offered, w.ok + w.failed + w.in_flight_at_end, "conservation for {name}");
    }
    r
}

#[test]
fn a_timed_out_attempt_keeps_running_unless_cancelled() {
    // One request every 100 ms for 9.99 s (99 requests, all finished); the
    // backend does two 25 ms work steps; the caller gives up after 10 ms.
    // Without cancel, all 50 ms still run (orphaned work, 40 ms of it wasted);
    // with cancel, the step in progress finishes and the second never starts.
    let base = |cancel: bool| {
        format!(
            "duration: 9990ms
services:
  front: {{ endpoints: {{ e: {{ steps: [ {{ call: back.e, timeout: 10ms, cancel: {cancel}, on_failure: continue }} ] }} }} }}
  back: {{ endpoints: {{ e: {{ steps: [ {{ work: 25ms }}, {{ work: 25ms }} ] }} }} }}
workload: [ {{ name: w, target: front.e, rate: 10/s, arrivals: deterministic }} ]
"
        )
    };
    let orphaned = run_checked(&yaml(&base(false)));
    let cancelled = run_checked(&yaml(&base(true)));
    let (o, c) = (&orphaned.services["back"], &cancelled.services["back"]);
    assert_eq!(orphaned.edges["front->back.e"].timeouts, 99);
    assert_eq!(cancelled.edges["front->back.e"].timeouts, 99);
    let secs = 9.99;
    assert!((o.utilization - 99.0 * 0.050 / secs).abs() < 1e-9, "orphaned work runs: {}", o.utilization);
    // Work that ran after the caller left: 15 ms of the first step, all of the second.
    assert!((o.wasted_cpu_s - 99.0 * 0.040).abs() < 1e-9, "wasted: {}", o.wasted_cpu_s);
    assert!((c.utilization - 99.0 * 0.025 / secs).abs() < 1e-9, "cancel stops the rest: {}", c.utilization);
    assert_eq!(orphaned.workloads["w"].ok, 99, "on_failure: continue");
    assert_eq!(orphaned.workloads["w"].latency_ms.max.unwrap(), 10.0, "the caller waited exactly the timeout");
}

#[test]
fn parallel_waits_for_all_any_or_k() {
    let topo = |wait: &str| {
        yaml(&format!(
            "duration: 10s
services:
  front:
    cpus: 4
    endpoints:
      e:
        steps:
          - parallel:
              - delay: 10ms
              - delay: 20ms
              - delay: 30ms
            wait: {wait}
workload: [ {{ name: w, target: front.e, rate: 10/s, arrivals: deterministic }} ]
"
        ))
    };
    for (wait, expect_ms) in [("all", 30.0), ("any", 10.0), ("2", 20.0)] {
        let r = run_checked(&topo(wait));
        let l = &r.workloads["w"].latency_ms;
        assert_eq!((l.mean, l.max), (Some(expect_ms), Some(expect_ms)), "wait: {wait}");
    }
}

#[test]
fn a_failing_branch_fails_the_request_unless_continued() {
    let topo = |on_failure: &str| {
        yaml(&format!(
            "duration: 9990ms
services:
  front: {{ endpoints: {{ e: {{ steps: [ {{ call: back.e, on_failure: {on_failure} }}, {{ work: 1ms }} ] }} }} }}
  back: {{ endpoints: {{ e: {{ steps: [ {{ work: 1ms }}, {{ fail: 100% }} ] }} }} }}
workload: [ {{ name: w, target: front.e, rate: 10/s, arrivals: deterministic }} ]
"
        ))
    };
    let failing = run_checked(&topo("fail"));
    assert_eq!(failing.workloads["w"].failures.error, 99);
    assert_eq!(failing.workloads["w"].ok, 0);
    assert_eq!(failing.services["front"].errors, 99);
    let continuing = run_checked(&topo("continue"));
    assert_eq!(continuing.workloads["w"].ok, 99);
    assert_eq!(continuing.edges["front->back.e"].failures, 99);
}

#[test]
fn repeat_branch_and_probability_make_the_expected_number_of_calls() {
    let m = yaml(
        "duration: 100s
services:
  front:
    endpoints:
      e:
        steps:
          - repeat: { count: 3, steps: [ { call: db.q } ] }
          - branch:
              - { weight: 0.25, steps: [ { call: db.q } ] }
              - { weight: 0.75, steps: [] }
          - call: db.q
            probability: 0.5
  db: { endpoints: { q: { work: 1us } } }
workload: [ { name: w, target: front.e, rate: 100/s, arrivals: deterministic } ]
",
    );
    let r = run_checked(&m);
    let calls = r.edges["front->db.q"].calls as f64;
    let requests = r.workloads["w"].ok as f64;
    // 3 + 0.25 + 0.5 per request; binomial sd of the 0.75 random part over
    // 10,000 requests is sqrt(10000·(0.25·0.75 + 0.25)) ≈ 66 calls: 5 sd = 330.
    assert!((calls - 3.75 * requests).abs() < 330.0, "{calls} calls for {requests} requests");
    let a = crate::model::analysis::analyze(&m);
    assert!((a.visits[0][1] - 3.75).abs() < 1e-12, "static expectation {}", a.visits[0][1]);
}

#[test]
fn round_robin_spreads_evenly_and_least_request_avoids_the_busy_replica() {
    let topo = |balancer: &str| {
        yaml(&format!(
            "duration: 20s
services:
  s:
    replicas: 4
    balancer: {balancer}
    endpoints: {{ e: {{ work: exp(2ms) }} }}
workload: [ {{ name: w, target: s.e, rate: 1600/s }} ]
"
        ))
    };
    // rho = 1600 * 2ms / 4 = 0.8. Random routing makes 4 M/M/1 queues (mean
    // 10 ms); least_request joins the shortest queue and is far better; p2c
    // in between; round robin between random and JSQ.
    let mean = |b: &str| run_checked(&topo(b)).workloads["w"].latency_ms.mean.unwrap();
    let (random, rr, p2c, lr) = (mean("random"), mean("round_robin"), mean("p2c"), mean("least_request"));
    assert!((random - 10.0).abs() < 1.0, "random = 4 independent M/M/1: {random}");
    assert!(lr < p2c && p2c < random && rr < random, "lr {lr} p2c {p2c} rr {rr} random {random}");
}

#[test]
fn lifo_and_max_wait_shed_load_at_the_queue() {
    let m = yaml(
        "duration: 20s
services:
  s:
    max_in_flight: 1
    queue: { capacity: 50, discipline: lifo, max_wait: 20ms }
    endpoints: { e: { work: exp(1ms) } }
workload: [ { name: w, target: s.e, rate: 1500/s } ]
",
    );
    let r = run_checked(&m);
    let w = &r.workloads["w"];
    assert!(w.failures.rejected > 0, "overloaded (rho 1.5): some are dropped");
    // Admitted requests waited at most max_wait, then 1 ms-ish of work.
    assert!(r.services["s"].queue_wait_ms_mean <= 20.0);
    // Goodput cannot exceed capacity (1000/s) and is close to it.
    assert!(w.goodput_per_s <= 1000.0 * 1.05 && w.goodput_per_s > 900.0, "{}", w.goodput_per_s);
}

#[test]
fn closed_loop_users_obey_the_response_time_law() {
    let m = yaml(
        "duration: 200s
warmup: 10s
services: { s: { endpoints: { e: { work: exp(10ms) } } } }
workload: [ { name: app, target: s.e, users: 20, think: exp(200ms) } ]
",
    );
    let r = run_checked(&m);
    let w = &r.workloads["app"];
    let x = w.ok as f64 / 190.0;
    let rt = w.latency_ms.mean.unwrap() / 1e3;
    // N = X (R + Z) holds exactly up to the requests in flight at the ends.
    let n = x * (rt + 0.2);
    assert!((n - 20.0).abs() < 0.2, "N = {n}");
}
