//! Retries, hedges, breakers and faults, proved against arithmetic rather
//! than just run (issue 3, item 11). Every run checks invariants.

use crate::common::{load_yaml, options, run_checked, show};
use stormcast::metrics::RunResult;

fn run(text: &str, seed: u64) -> RunResult {
    let m = load_yaml("storm.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    run_checked(&m, &options(seed, None))
}

/// With a constant per-attempt failure probability f and `a` attempts, no
/// limits: attempts per call = Σ_{k<a} f^k and success = 1 − f^a.
#[test]
fn retries_follow_the_geometric_formulas() {
    let (f, a) = (0.3f64, 3u32);
    let text = format!(
        "duration: 200s
services:
  front: {{ endpoints: {{ e: {{ steps: [ {{ call: back.e, retry: {{ attempts: {a}, on: [error] }} }} ] }} }} }}
  back: {{ endpoints: {{ e: {{ steps: [ {{ work: 1us }}, {{ fail: {f} }} ] }} }} }}
workload: [ {{ name: w, target: front.e, rate: 500/s }} ]
"
    );
    let r = run(&text, 1);
    let e = &r.edges["front->back.e"];
    let calls = e.calls as f64;
    let per_call = e.attempts as f64 / calls;
    let expect: f64 = (0..a).map(|k| f.powi(k as i32)).sum(); // 1.39
    // Attempts per call: a bounded variable with variance < a²; over ~100k
    // calls the standard error is < 3/316 ≈ 0.0095 — 5 sd = 0.05. Tighter:
    // its variance is f(1-f)(1+…) ≈ 0.36, so 5 sd ≈ 0.01.
    assert!((per_call - expect).abs() < 0.01, "attempts per call {per_call} vs {expect}");
    let ok = r.workloads["w"].ok as f64 / (r.workloads["w"].ok + r.workloads["w"].failed) as f64;
    let success = 1.0 - f.powi(a as i32); // 0.973
    // Binomial sd sqrt(p(1-p)/n) ≈ 0.0005 at n = 100k: 5 sd = 0.0026.
    assert!((ok - success).abs() < 0.0026, "success {ok} vs {success}");
    assert_eq!(e.retries, e.attempts - e.calls);
}

/// Three layers each making four attempts against a bottom that always
/// fails: exactly 4³ = 64 attempts at the bottom per request.
#[test]
fn three_layers_of_four_attempts_make_64() {
    let text = "duration: 10s
services:
  a: { endpoints: { e: { steps: [ { call: b.e, retry: { attempts: 4, on: [error] } } ] } } }
  b: { endpoints: { e: { steps: [ { call: c.e, retry: { attempts: 4, on: [error] } } ] } } }
  c: { endpoints: { e: { steps: [ { call: db.e, retry: { attempts: 4, on: [error] } } ] } } }
  db: { endpoints: { e: { steps: [ { fail: 100% } ] } } }
workload: [ { name: w, target: a.e, rate: 10/s, arrivals: deterministic } ]
";
    let r = run(text, 1);
    let w = &r.workloads["w"];
    let done = w.ok + w.failed;
    assert!(done > 90);
    assert_eq!(w.failed, done, "every request fails");
    assert_eq!(w.in_flight_at_end, 0, "nothing takes time: every request ends at once");
    assert_eq!(r.services["db"].arrivals, 64 * done);
    assert_eq!(r.services["c"].arrivals, 16 * done);
    assert_eq!(r.services["b"].arrivals, 4 * done);
    assert_eq!(r.services["db"].amplification, 64.0);
}

/// Fan-out to N leaves, each slow (100 ms instead of ~0) with probability p:
/// the request is slow with probability 1 − (1 − p)^N (Dean & Barroso).
#[test]
fn fan_out_tail_matches_one_minus_q_to_the_n() {
    let n = 20;
    let leaves: String = (0..n).map(|_| "              - call: leaf.e\n").collect();
    let text = format!(
        "duration: 400s
services:
  root:
    endpoints:
      e:
        steps:
          - parallel:
{leaves}  leaf:
    cpus: 1000
    endpoints:
      e:
        steps:
          - branch:
              - {{ weight: 0.99, steps: [ {{ delay: 1ms }} ] }}
              - {{ weight: 0.01, steps: [ {{ delay: 100ms }} ] }}
workload: [ {{ name: w, target: root.e, rate: 100/s }} ]
"
    );
    let r = run(&text, 3);
    let w = &r.workloads["w"];
    // A request takes 100 ms if any leaf was slow, else 1 ms.
    let p_slow_theory = 1.0 - 0.99f64.powi(n); // 18.2%
    assert!(w.latency_ms.p50.unwrap() < 2.0 && w.latency_ms.p90.unwrap() >= 100.0, "{:?}", w.latency_ms);
    // So the mean is exactly 1 ms + P(slow)·99 ms.
    let measured = (w.latency_ms.mean.unwrap() - 1.0) / 99.0;
    // sd of the slow indicator over ~40k requests: sqrt(.18·.82/40000) = 0.0019; 5 sd.
    assert!((measured - p_slow_theory).abs() < 0.0096, "P(slow) {measured} vs {p_slow_theory}");
}

/// A breaker over a count window of 10 with min 10 calls and a 50% failure
/// threshold opens at the 10th failure, short-circuits for `open_for`, then
/// lets `half_open_calls` through and closes once they succeed.
#[test]
fn breaker_opens_half_opens_and_closes_on_time() {
    // back fails for the first 2 s (an errors fault at 100%), then is healthy.
    let text = "duration: 10s
services:
  front: { endpoints: { e: { steps: [ { call: back.e,
           circuit_breaker: { window: 10, min_calls: 10, failure_rate: 50%, open_for: 3s, half_open_calls: 2 } } ] } } }
  back: { endpoints: { e: { work: 1us } } }
workload: [ { name: w, target: front.e, rate: 100/s, arrivals: deterministic } ]
faults:
  - { at: 0s, for: 2s, kind: errors, service: back, rate: 100% }
";
    let m = load_yaml("b.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    let mut o = options(1, None);
    o.keep_series = true;
    let r = run_checked(&m, &o);
    let e = &r.edges["front->back.e"];
    // Requests at 10, 20, … ms. The first 10 fail → open at 100 ms; open for
    // 3 s → every call until 3.1 s is short-circuited (the lazy transition
    // half-opens on the first call after 3.1 s); the 2 trial calls succeed
    // (the fault ended at 2 s) → closed; everything after succeeds.
    assert_eq!(e.attempts, 10 + (1000 - 310), "attempts {e:?}");
    assert_eq!(e.short_circuits, 300, "short-circuited from 110 ms to 3.1 s: {e:?}");
    let w = &r.workloads["w"];
    assert_eq!(w.failed, 310, "{w:?}");
}

/// Hedging: a leaf that is slow (100 ms) 10% of the time, hedged after
/// 20 ms with up to 2 attempts: a request is slow only if both attempts are
/// (1%), and about 10% of calls send a hedge.
#[test]
fn hedging_cuts_the_tail_and_costs_few_extra_attempts() {
    let text = |hedge: &str| {
        format!(
            "duration: 200s
services:
  front: {{ endpoints: {{ e: {{ steps: [ {{ call: leaf.e{hedge} }} ] }} }} }}
  leaf:
    cpus: 1000
    endpoints:
      e:
        steps:
          - branch:
              - {{ weight: 0.9, steps: [ {{ delay: 1ms }} ] }}
              - {{ weight: 0.1, steps: [ {{ delay: 100ms }} ] }}
workload: [ {{ name: w, target: front.e, rate: 200/s }} ]
"
        )
    };
    let plain = run(&text(""), 5);
    let hedged = run(&text(", hedge: { after: 20ms, max: 2 }"), 5);
    assert!(plain.workloads["w"].latency_ms.p95.unwrap() >= 100.0);
    let e = &hedged.edges["front->leaf.e"];
    let ratio = e.hedges as f64 / e.calls as f64;
    // ~40k calls: sd of a 10% proportion is 0.0015; 5 sd = 0.0075.
    assert!((ratio - 0.1).abs() < 0.0075, "hedges per call {ratio}");
    let w = &hedged.workloads["w"];
    // Slow only if the first is slow and the hedge too: 21 ms + 100 ms
    // with probability 1%, else ≤ 21 ms.
    assert!(w.latency_ms.p95.unwrap() < 22.0, "{:?}", w.latency_ms);
    let slow = (w.latency_ms.mean.unwrap() - 0.9 * 1.0 - 0.09 * 21.0) / 100.0;
    assert!((slow - 0.01).abs() < 0.003, "share slow after hedging ≈ 1%: {slow}");
}

/// `deadline: propagate`: a deep queue at the bottom drops work whose
/// caller's deadline has passed, instead of doing it for nobody.
#[test]
fn propagated_deadlines_drop_expired_work_unstarted() {
    let text = |deadline: &str| {
        format!(
            "duration: 30s
services:
  front: {{ endpoints: {{ e: {{ steps: [ {{ call: db.q, timeout: 50ms{deadline} }} ] }} }} }}
  db: {{ max_in_flight: 1, endpoints: {{ q: {{ work: 10ms }} }} }}
workload: [ {{ name: w, target: front.e, rate: 150/s }} ]
"
        )
    };
    let plain = run(&text(""), 1);
    let dropped = run(&text(", deadline: propagate"), 1);
    // 150/s into a 100/s server: without deadlines it works on everything,
    // mostly for callers long gone.
    assert!(plain.services["db"].wasted_cpu_s > 5.0, "{}", plain.services["db"].wasted_cpu_s);
    assert_eq!(plain.services["db"].deadline_dropped, 0);
    let d = &dropped.services["db"];
    // About a third of the arrivals (the excess over capacity) expire queued.
    assert!(d.deadline_dropped > 1000, "{}", d.deadline_dropped);
    // What still runs is work started before its deadline; only the part past
    // the caller's 50 ms is wasted, so waste falls, goodput rises.
    let (pw, dw) = (plain.services["db"].wasted_cpu_s, d.wasted_cpu_s);
    assert!(dw < pw / 2.0, "wasted {dw} s with deadlines vs {pw} s without");
    assert!(dropped.workloads["w"].ok > plain.workloads["w"].ok, "goodput rises when orphans are dropped");
}

/// `timeout_total` bounds a call across all its attempts and backoffs.
#[test]
fn timeout_total_bounds_retries() {
    let text = "duration: 20s
services:
  front: { endpoints: { e: { steps: [ { call: db.q, timeout: 30ms, timeout_total: 100ms,
           retry: { attempts: 10, on: [timeout] } } ] } } }
  db: { endpoints: { q: { steps: [ { delay: 1s } ] } } }
workload: [ { name: w, target: front.e, rate: 10/s, arrivals: deterministic } ]
";
    let r = run(text, 1);
    let e = &r.edges["front->db.q"];
    // Attempts at 0, 30, 60, 90 ms; the total timeout fires at 100 ms. (The
    // call made as the run ends has sent only its first attempt.)
    assert_eq!(e.attempts, 4 * e.failures + (e.calls - e.failures), "{e:?}");
    assert_eq!(e.calls - e.failures, 1);
    assert_eq!(r.workloads["w"].latency_ms.max, None, "no request succeeds");
    // front answers its caller with an error when its call timed out; the
    // request's failure is classified by that root cause, the timeout.
    let w = &r.workloads["w"];
    assert_eq!(w.failures.timeout, w.failed);
    assert_eq!(w.causes.len(), 1);
    assert_eq!((w.causes[0].kind.as_str(), w.causes[0].at.as_str()), ("timeout", "front->db.q"));
}

/// gRPC retry throttling: above the break-even failure rate r/(1+r) ≈ 9.1%
/// (max_tokens 10, ratio 0.1) retries stop; far below it they all go out.
#[test]
fn grpc_throttle_stops_retries_above_break_even() {
    let text = |f: &str| {
        format!(
            "duration: 100s
services:
  front: {{ endpoints: {{ e: {{ steps: [ {{ call: db.q, retry: {{ attempts: 3, on: [error] }},
           throttle: {{ kind: grpc, max_tokens: 10, token_ratio: 0.1 }} }} ] }} }} }}
  db: {{ endpoints: {{ q: {{ steps: [ {{ work: 1us }}, {{ fail: {f} }} ] }} }} }}
workload: [ {{ name: w, target: front.e, rate: 200/s }} ]
"
        )
    };
    let low = run(&text("2%"), 1);
    let high = run(&text("30%"), 1);
    let per_call = |r: &RunResult| {
        let e = &r.edges["front->db.q"];
        e.attempts as f64 / e.calls as f64
    };
    // 2%: nearly every failure retried: 1 + 0.02 + 0.0004.
    assert!((per_call(&low) - 1.0204).abs() < 0.003, "{}", per_call(&low));
    // 30%: the bucket sits at or below half: ~no retries (1.43 unthrottled).
    assert!(per_call(&high) < 1.01, "{}", per_call(&high));
    assert!(high.edges["front->db.q"].throttled > 1000);
}

/// Faults act while they last: a refusing outage fails calls at once, a
/// slowdown multiplies work, a crash resets what was in flight.
#[test]
fn faults_act_in_their_windows() {
    let text = "duration: 30s
services:
  front: { endpoints: { e: { steps: [ { call: db.q, on_failure: continue } ] } } }
  db: { replicas: 2, endpoints: { q: { work: 10ms } } }
workload: [ { name: w, target: front.e, rate: 10/s, arrivals: deterministic } ]
faults:
  - { at: 5s, for: 5s, kind: outage, service: db, mode: refuse }
  - { at: 15s, for: 5s, kind: slowdown, service: db, factor: 3 }
";
    let m = load_yaml("f.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    let mut o = options(1, None);
    o.keep_series = true;
    let r = run_checked(&m, &o);
    // 5 s × 10/s refused.
    assert_eq!(r.services["db"].rejected, 50);
    assert_eq!(r.edges["front->db.q"].failures, 50);
    // Arrivals at 0.1 s … 30.0 s: 50 refused, 50 slowed (15.0–19.9 s) to
    // 30 ms, 199 at 10 ms (the one at 30.0 s starts as the run ends), over
    // 2 cores × 30 s.
    let expect = (199.0 * 0.010 + 50.0 * 0.030) / 60.0;
    assert!((r.services["db"].utilization - expect).abs() < 0.0005, "{} vs {expect}", r.services["db"].utilization);
}

/// Cancellation travels down the chain: when A's call to B times out and is
/// cancelled, B's own call to C is abandoned with it, and cancelled too
/// where that call says `cancel: true`.
#[test]
fn cancellation_propagates_down_the_call_chain() {
    let text = |inner_cancel: bool| {
        format!(
            "duration: 9990ms
services:
  a: {{ endpoints: {{ e: {{ steps: [ {{ call: b.e, timeout: 10ms, cancel: true, on_failure: continue }} ] }} }} }}
  b: {{ endpoints: {{ e: {{ steps: [ {{ call: c.e, cancel: {inner_cancel} }} ] }} }} }}
  c: {{ endpoints: {{ e: {{ steps: [ {{ work: 25ms }}, {{ work: 25ms }} ] }} }} }}
workload: [ {{ name: w, target: a.e, rate: 10/s, arrivals: deterministic }} ]
"
        )
    };
    let (secs, n) = (9.99, 99.0);
    let through = run(&text(true), 1);
    let stops = &through.services["c"];
    // The step in progress at 10 ms finishes; the second never starts.
    assert!((stops.utilization - n * 0.025 / secs).abs() < 1e-9, "{}", stops.utilization);
    let not_through = run(&text(false), 1);
    let runs = &not_through.services["c"];
    assert!((runs.utilization - n * 0.050 / secs).abs() < 1e-9, "{}", runs.utilization);
    // Abandoned with their caller, those calls are not counted as failures.
    assert_eq!(through.edges["b->c.e"].failures, 0);
}
