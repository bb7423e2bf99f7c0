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
        resources: Resources { cpu_request_milli: u64::from(cpus) * 1000, ..Resources::default() },
        memory_per_request: None,
        priority: 0,
        inference: None,
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
        cluster: None,
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
            client: None,
        }],
        dists: vec![work],
        forks: vec![],
        branches: vec![],
        caches: vec![],
        cache_sites: vec![],
        breakers: vec![],
        budgets: vec![],
        throttles: vec![],
        faults: vec![],
        cost_per_replica_hour: None,
        slo: vec![],
        attributes: vec![],
        queues: vec![],
        publishes: vec![],
        generates: vec![],
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

/// Arrivals per replica of service 0 in a run of `m` (the service must be
/// autoscaled, so its replicas are metered), with invariants checked.
fn arrivals_per_replica(m: &Model) -> Vec<u64> {
    let mut w = super::World::new(m, &checked());
    let _ = super::main_loop(&mut w, &mut |_| {});
    assert!(w.check.violations.is_empty(), "{:?}", w.check.violations);
    let members = &w.fleet.rosters[0].members;
    members.iter().map(|r| w.fleet.replica(*r).meter.as_ref().map_or(0, |m| m.arrivals)).collect()
}

/// A crash must not misroute traffic: after one of four replicas crashes,
/// the balancer chooses among the three live ones only, so each survivor
/// takes a third — not the dead replica's neighbour half of it (round
/// robin, random, p2c) or nearly all of it (least_request, where the dead
/// replica always looked idle).
#[test]
fn after_a_crash_the_survivors_share_the_traffic_as_three_replicas() {
    for balancer in ["round_robin", "random", "p2c", "least_request"] {
        let m = yaml(&format!(
            "duration: 100s
services:
  s:
    replicas: 4
    balancer: {balancer}
    # min = max: metered replicas (to count arrivals), never rescaled
    autoscale: {{ min: 4, max: 4, metrics: [ {{ cpu: 50% }} ] }}
    endpoints: {{ e: {{ work: exp(2ms) }} }}
workload: [ {{ name: w, target: s.e, rate: 600/s }} ]
faults: [ {{ at: 0s, kind: crash, service: s, replicas: 1 }} ]
"
        ));
        let n = arrivals_per_replica(&m);
        assert_eq!(n[0], 0, "{balancer}: the crashed replica got traffic: {n:?}");
        let total: u64 = n.iter().sum();
        // Binomial spread of random routing over ~60,000 arrivals: sd of a
        // third is sqrt(60000·(1/3)·(2/3)) ≈ 115; 5 sd ≈ 580 (under 3%).
        // The misrouting bug gave one survivor 50% or more.
        for (i, &k) in n.iter().enumerate().skip(1) {
            let share = k as f64 / total as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.03, "{balancer}: replica {i} took {share:.3} of {total}: {n:?}");
        }
    }
}

/// A crash while propagated deadlines expire queued work must not panic:
/// closing the crashed replica's running attempt frees its slot, and the
/// queued attempts behind it (whose callers gave up long ago) must not be
/// admitted, dropped and freed under the crash handler's feet.
#[test]
fn a_crash_during_propagated_timeouts_with_a_queue_is_handled() {
    let m = yaml(
        "duration: 20s
services:
  front:
    endpoints:
      e: { steps: [ { call: db.q, timeout: 10ms, deadline: propagate, retry: { attempts: 3 } } ] }
  db:
    replicas: 2
    max_in_flight: 1
    queue: { capacity: 1000 }
    endpoints: { q: { work: exp(30ms) } }
workload: [ { name: w, target: front.e, rate: 200/s } ]
faults:
  - { at: 5s, kind: crash, service: db, replicas: 1, restart_after: 2s }
  - { at: 9s, kind: crash, service: db, replicas: 2, restart_after: 1s }
",
    );
    // Before the fix, seed 2 panicked ("listed" in the crash handler).
    for seed in 1..=4 {
        let r = run(&m, &RunOptions { seed: Some(seed), ..checked() });
        assert!(r.invariant_violations.is_empty(), "seed {seed}: {:?}", r.invariant_violations);
        assert!(r.services["db"].deadline_dropped > 0, "queued work expired: {:?}", r.services["db"]);
        assert!(r.workloads["w"].failures.error > 0, "the crash failed attempts");
    }
}

/// A propagated deadline is per attempt: retries go on while the caller's
/// own deadline leaves time.
#[test]
fn propagated_deadlines_leave_retries_on() {
    let m = yaml(
        "duration: 10s
services:
  front:
    endpoints:
      e: { steps: [ { call: mid.e, timeout: 100ms, deadline: propagate } ] }
  mid:
    endpoints:
      e: { steps: [ { call: db.q, timeout: 40ms, deadline: propagate, retry: { attempts: 5, on: [timeout] } } ] }
  db: { endpoints: { q: { steps: [ { delay: 1s } ] } } }
workload: [ { name: w, target: front.e, rate: 10/s, arrivals: deterministic } ]
",
    );
    let r = run_checked(&m);
    let e = &r.edges["mid->db.q"];
    // Attempts at 0, 40 and 80 ms; at 120 ms the caller's 100 ms deadline
    // has passed, so the fourth never goes out (before the fix: only the
    // first went out, its deadline being the call's own timeout). Calls
    // made near the end of the run may have sent fewer.
    assert!(e.calls >= 95, "{e:?}");
    assert!(e.attempts <= 3 * e.calls && e.attempts + 6 >= 3 * e.calls, "3 attempts per call: {e:?}");
    assert_eq!(e.retries, e.attempts - e.calls);
}

/// Same-instant rule: a timeout and a response due at the same nanosecond
/// — the timeout was armed first (when the attempt was sent), so it fires
/// first and the attempt counts as timed out.
#[test]
fn a_timeout_beats_a_response_due_at_the_same_instant() {
    let m = yaml(
        "duration: 1s
services:
  front: { endpoints: { e: { steps: [ { call: back.e, timeout: 10ms } ] } } }
  back: { endpoints: { e: { work: 10ms } } }
workload: [ { name: w, target: front.e, rate: 10/s, arrivals: deterministic } ]
",
    );
    let r = run_checked(&m);
    let e = &r.edges["front->back.e"];
    // Ten calls; the last, at 1 s, is still out when the run ends.
    assert_eq!((e.calls, e.timeouts), (10, 9), "{e:?}");
    assert_eq!(r.workloads["w"].ok, 0);
    // One nanosecond more time and every call succeeds.
    let m = yaml(
        "duration: 1s
services:
  front: { endpoints: { e: { steps: [ { call: back.e, timeout: 10000001ns } ] } } }
  back: { endpoints: { e: { work: 10ms } } }
workload: [ { name: w, target: front.e, rate: 10/s, arrivals: deterministic } ]
",
    );
    assert_eq!(run_checked(&m).workloads["w"].ok, 9);
}

/// A detached call (fire-and-forget) needs no parent: it runs to its end,
/// is counted on its edge, and nobody waits for it.
#[test]
fn a_detached_call_runs_without_a_caller() {
    let m = yaml(
        "duration: 1s
services:
  front: { endpoints: { e: { steps: [ { call: back.e } ] } } }
  back: { endpoints: { e: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 1/s, arrivals: deterministic } ]
",
    );
    let mut w = super::World::new(&m, &checked());
    let edge = crate::model::EdgeId(0);
    let call = super::flow::send::start_detached(&mut w, edge);
    assert!(w.calls.contains(call));
    let _ = super::main_loop(&mut w, &mut |_| {});
    assert!(w.check.violations.is_empty(), "{:?}", w.check.violations);
    assert!(!w.calls.contains(call), "the detached call ended");
    let e = &w.stats.edges[0];
    assert_eq!(e.attempts, e.calls + 1, "its attempt went out beside the requests' calls: {e:?}");
}

/// Timers of calls that ended long before their timeout do not pile up:
/// at 20,000 requests/s with a 60 s timeout, the lane is compacted and
/// stays bounded by what is in flight (not rate × timeout = 1.2 M).
#[test]
fn stale_timeouts_do_not_grow_with_rate_times_timeout() {
    let m = yaml(
        "duration: 10s
services:
  front: { endpoints: { e: { steps: [ { call: back.e, timeout: 60s } ] } } }
  back: { cpus: 4, endpoints: { e: { work: exp(0.1ms) } } }
workload: [ { name: w, target: front.e, rate: 20000/s } ]
",
    );
    let mut w = super::World::new(&m, &RunOptions::default());
    let lane = w.lanes.timeout[0].expect("a timeout lane");
    let mut most = 0;
    let _ = super::main_loop(&mut w, &mut |_| {});
    most = most.max(w.q.lane_len(lane));
    let live = w.attempts.peak() + w.calls.peak();
    assert!(most <= 2 * live + 4096, "{most} timers for a peak of {live} live");
}

/// Same-instant rule: events due at the same nanosecond run in the order
/// they were scheduled. A request arriving exactly when the one before it
/// finishes was scheduled first (when its predecessor arrived), so it finds
/// the single slot still taken and, with no queue, is refused: every other
/// request is rejected. (Zero-delay consequences of an event — the slot the
/// finished request frees — run before any later event at that instant,
/// but not before one that was already due.)
#[test]
fn equal_times_run_in_scheduling_order() {
    let m = yaml(
        "duration: 1s
services:
  s:
    max_in_flight: 1
    queue: { capacity: 0 }
    endpoints: { e: { work: 10ms } }
workload: [ { name: w, target: s.e, rate: 100/s, arrivals: deterministic } ]
",
    );
    let r = run_checked(&m);
    let w = &r.workloads["w"];
    // Arrivals at 10, 20, …, 1000 ms: the odd ones admitted, the even ones
    // (each arriving as its predecessor's work ends) refused.
    assert_eq!((w.offered, w.failures.rejected), (100, 50), "{w:?}");
    assert_eq!(w.ok + w.in_flight_at_end, 50);
}

/// Latencies beyond the histograms' range (one simulated day) are counted
/// and reported, not silently clamped; the maximum stays exact.
#[test]
fn latencies_beyond_a_day_are_reported() {
    let m = yaml(
        "duration: 4d
services: { s: { endpoints: { e: { steps: [ { delay: 30h } ] } } } }
workload: [ { name: w, target: s.e, rate: 1/h, arrivals: deterministic } ]
",
    );
    let r = run_checked(&m);
    let l = &r.workloads["w"].latency_ms;
    assert!(l.beyond_range > 0 && l.beyond_range == r.workloads["w"].ok, "{l:?}");
    assert_eq!(l.max, Some(30.0 * 3600.0 * 1000.0));
    assert!(crate::report::summary(&r).contains("beyond one simulated day"));
}

/// SLOs are judged over the run and window by window: a spike that breaks
/// the p99 bound for a minute of a 10-minute run names its windows; the
/// run's verdict is over the whole measured run.
#[test]
fn an_slo_names_the_windows_where_it_was_missed() {
    let mut m = yaml(
        "duration: 10m
services: { s: { endpoints: { e: { work: exp(10ms) } } } }
workload:
  - name: w
    target: s.e
    rate: 50/s
    shape: [ { spike: { at: 5m, for: 1m, factor: 1.9 } } ]
",
    );
    let slo = |p99_ms: u64| Slo {
        workload: WorkloadId(0),
        name: "w".into(),
        latency: vec![(Stat::P99, SimDuration::from_millis(p99_ms))],
        success: Some(0.99),
        ttft: Vec::new(),
        tpot: Vec::new(),
    };
    m.slo = vec![slo(150)];
    let r = run_checked(&m);
    assert_eq!(r.slo.len(), 1);
    let found: Vec<_> = r.findings.iter().filter(|f| f.kind == crate::metrics::FindingKind::SloViolation).collect();
    assert_eq!(found.len(), 1, "{:?}", r.findings);
    let f = found[0];
    // rho 0.5 outside the spike (p99 = ln(100)·20 ms ≈ 92 ms), 0.95 in it
    // (p99 ≈ 921 ms): the missed windows are around 300–360 s.
    assert!(f.from_s >= 240.0 && f.to_s <= 420.0, "{f:?}");
    assert!(f.message.contains("p99"), "{}", f.message);
    // The result reads back from its JSON (reports are rebuilt from it).
    let json = serde_json::to_string(&r).expect("serialises");
    let back: crate::metrics::RunResult = serde_json::from_str(&json).expect("reads back");
    assert_eq!(serde_json::to_string(&back).expect("serialises"), json);
    // A bound no window breaks: no finding, and a pass over the run.
    m.slo = vec![slo(60_000)];
    let r = run_checked(&m);
    assert!(r.slo[0].pass, "{:?}", r.slo);
    assert!(!r.findings.iter().any(|f| f.kind == crate::metrics::FindingKind::SloViolation));
}

/// A call chain deeper than the inline limit: arrivals past it go through
/// the ready list (no stack grows with the depth), at the same instant.
#[test]
fn a_very_deep_call_chain_runs_at_the_same_instants() {
    let n = 300;
    let mut y = String::from("duration: 1s\nservices:\n");
    for i in 0..n {
        if i + 1 < n {
            y += &format!("  s{i}: {{ endpoints: {{ e: {{ steps: [ {{ call: s{}.e }} ] }} }} }}\n", i + 1);
        } else {
            y += &format!("  s{i}: {{ endpoints: {{ e: {{ work: 1ms }} }} }}\n");
        }
    }
    y += "workload: [ { name: w, target: s0.e, rate: 10/s, arrivals: deterministic } ]\n";
    let r = run(&yaml(&y), &RunOptions::default());
    let w = &r.workloads["w"];
    assert_eq!((w.ok, w.in_flight_at_end), (9, 1), "{w:?}");
    // Only the last service works: every request takes exactly 1 ms.
    assert_eq!((w.latency_ms.mean, w.latency_ms.max), (Some(1.0), Some(1.0)));
}

/// A producer publishing to `queue` and a consumer service `c` whose
/// endpoint does `work`: the producer answers once the broker accepted.
fn pubsub(work: Dist, rate: f64, secs: u64, queue: Queue) -> Model {
    let mut m = single(Dist::Const(SimDuration::ZERO), rate, Arrivals::Poisson, secs);
    m.endpoints[0].code = vec![Instr::Publish(PublishId(0)), Instr::Respond];
    m.services.push(service("c", 1, vec![EndpointId(1)]));
    m.endpoints.push(Endpoint {
        service: ServiceId(1),
        name: "e".into(),
        full_name: "c.e".into(),
        code: vec![Instr::Work(DistId(1)), Instr::Respond],
    });
    m.dists.push(work);
    m.queues.push(queue);
    m.publishes.push(Publish { queue: QueueId(0), key: None, timeout: Some(SimDuration::from_secs(60)), reply: None });
    m
}

fn queue(consumers: Vec<ConsumerGroup>) -> Queue {
    Queue {
        name: "q".into(),
        partitions: 1,
        capacity: None,
        when_full: WhenFull::Reject,
        delivery: Delivery::AtLeastOnce,
        visibility_timeout: SimDuration::from_secs(30),
        max_deliveries: 10,
        retention: None,
        latency: None,
        consumers,
    }
}

fn group(concurrency: u32, mode: ConsumerMode) -> ConsumerGroup {
    ConsumerGroup { group: "g".into(), endpoint: EndpointId(1), service: ServiceId(1), concurrency, mode }
}

#[test]
fn one_partition_one_consumer_is_mm1_from_publish_to_processed() {
    // λ = 800/s, μ = 1000/s: time to processed ~ Exp(μ − λ), mean 5 ms.
    let q = queue(vec![group(1, ConsumerMode::Partitioned)]);
    let m = pubsub(Dist::Exp(SimDuration::from_millis(1)), 800.0, 500, q);
    let r = run(&m, &checked());
    assert!(r.invariant_violations.is_empty(), "{:?}", r.invariant_violations);
    let q = &r.queues["q"];
    let mean = q.time_to_processed_ms.mean.unwrap();
    // 400k messages; the sd of an M/M/1 mean sojourn at ρ = 0.8 over n
    // customers is ≈ (1/(μ−λ))·sqrt((1+ρ)... ) ≈ 5 ms · 10 / sqrt(n) ≈ 0.08 ms.
    assert!((mean - 5.0).abs() < 0.4, "mean time to processed {mean} ms vs 5");
    assert_eq!(q.published, q.processed + q.groups["g"].lag_end);
    assert!((r.services["c"].utilization - 0.8).abs() < 0.01);
    // The producer does not wait for the consumer.
    assert_eq!(r.workloads["w"].latency_ms.max.unwrap(), 0.0);
}
