//! Tests of the static analysis on topologies read from YAML: expected and
//! worst-case calls, retry amplification and its caps under budgets and
//! throttles.

use super::*;
use crate::model::EndpointId;

fn yaml(text: &str) -> Model {
    crate::spec::testing::model(text)
}

fn service(m: &Model, name: &str) -> usize {
    m.services.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("no service {name}"))
}

/// Worst-case attempts, capped attempts and calls of workload 0 at `name`.
fn at(a: &Analysis, m: &Model, name: &str) -> (f64, f64, f64) {
    let s = service(m, name);
    (a.worst_attempts[0][s], a.capped_attempts[0][s], a.worst_calls[0][s])
}

fn close(x: f64, want: f64) -> bool {
    (x - want).abs() < 1e-9 * want.abs().max(1.0)
}

/// a → b → c → db, every call with `call_keys` (e.g. a retry), workload on a.e.
fn chain(call_keys: &str) -> Model {
    yaml(&format!(
        "duration: 10s
services:
  a: {{ endpoints: {{ e: {{ steps: [ {{ call: b.e, {call_keys} }} ] }} }} }}
  b: {{ endpoints: {{ e: {{ steps: [ {{ call: c.e, {call_keys} }} ] }} }} }}
  c: {{ endpoints: {{ e: {{ steps: [ {{ call: db.q, {call_keys} }} ] }} }} }}
  db: {{ endpoints: {{ q: {{ work: 1ms }} }} }}
workload: [ {{ name: w, target: a.e, rate: 10/s }} ]
"
    ))
}

#[test]
fn three_layers_of_four_attempts_make_64_at_the_bottom() {
    let m = chain("retry: { attempts: 4, on: [error, timeout] }");
    let a = analyze(&m);
    assert_eq!(at(&a, &m, "a"), (1.0, 1.0, 1.0), "the request itself");
    assert_eq!(at(&a, &m, "b"), (4.0, 4.0, 1.0));
    assert_eq!(at(&a, &m, "c"), (16.0, 16.0, 1.0));
    assert_eq!(at(&a, &m, "db"), (64.0, 64.0, 1.0));
    assert_eq!(a.worst_path[0][service(&m, "db")], [4.0, 4.0, 4.0]);
    assert!(a.edges.iter().all(|g| g.attempts_per_call == 4.0 && g.max_calls_per_visit == 1.0));
    let report = crate::report::check_report(&m, &a);
    assert!(
        report.contains(
            "1 request to a.e can become 64 attempts at db (3 layers retrying: 4 × 4 × 4); \
             no retry budget or throttle caps it"
        ),
        "{report}"
    );
    assert!(report.contains("worst-case attempts per request"), "{report}");
}

#[test]
fn without_retries_every_visit_is_one_attempt() {
    let m = chain("timeout: 1s");
    let a = analyze(&m);
    for s in ["a", "b", "c", "db"] {
        assert_eq!(at(&a, &m, s), (1.0, 1.0, 1.0), "{s}");
        assert!(a.worst_path[0][service(&m, s)].is_empty(), "{s}");
    }
    let report = crate::report::check_report(&m, &a);
    assert!(!report.contains("can become"), "{report}");
    assert!(report.contains("worst-case attempts per request: one per call"), "{report}");
}

#[test]
fn a_repeat_multiplies_the_attempts_of_the_call_inside() {
    let m = yaml(
        "duration: 10s
services:
  front:
    endpoints:
      e:
        steps:
          - repeat: { count: 3, steps: [ { call: db.q, retry: { attempts: 2 } } ] }
  db: { endpoints: { q: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 10/s } ]
",
    );
    let a = analyze(&m);
    assert_eq!(at(&a, &m, "db"), (6.0, 6.0, 3.0));
    assert_eq!(a.edges[0].max_calls_per_visit, 3.0);
    let report = crate::report::check_report(&m, &a);
    assert!(!report.contains("can become"), "6 < 10 is no finding: {report}");
}

#[test]
fn a_branch_takes_the_worse_alternative_and_a_cache_the_worse_path() {
    // Summing the call sites would give 4 + 3 = 7 at db and 2 + 5 at cache
    // misses; only one alternative runs per visit.
    let m = yaml(
        "duration: 10s
services:
  front:
    endpoints:
      e:
        steps:
          - branch:
              - { weight: 0.9, steps: [ { repeat: { count: 2, steps: [ { call: db.q, retry: { attempts: 2 } } ] } } ] }
              - { weight: 0.1, steps: [ { call: db.q, retry: { attempts: 3 } }, { fail: 50% } ] }
          - cache:
              name: c
              hit_ratio: 99%
              hit: [ { call: db.q } ]
              miss: [ { call: db.q, retry: { attempts: 5 } }, { call: db.q, probability: 0.01 } ]
  db: { endpoints: { q: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 10/s } ]
",
    );
    let a = analyze(&m);
    let (att, cap, calls) = at(&a, &m, "db");
    assert_eq!((att, cap), (4.0 + 6.0, 10.0));
    assert_eq!(calls, 2.0 + 2.0, "worst calls: 2 in the first alternative, 2 on a miss");
    let most: Vec<f64> = a.edges.iter().map(|g| g.max_calls_per_visit).collect();
    assert_eq!(most, [2.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn parallel_branches_all_count_and_hedges_multiply_retries() {
    let m = yaml(
        "duration: 10s
services:
  front:
    endpoints:
      e:
        steps:
          - parallel:
              - call: db.q
                retry: { attempts: 3 }
                hedge: { after: 10ms, max: 2 }
              - call: db.q
                hedge: { max: 3 }
              - { call: db.q, retry: { attempts: 4, on: short_circuited } }
  db: { endpoints: { q: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 10/s } ]
",
    );
    let a = analyze(&m);
    let factors: Vec<f64> = a.edges.iter().map(|g| g.attempts_per_call).collect();
    assert_eq!(factors, [6.0, 3.0, 1.0], "attempts × hedge.max; short-circuit retries never reach db");
    assert_eq!(at(&a, &m, "db"), (10.0, 10.0, 3.0));
    assert!(a.edges.iter().all(|g| g.parallel));
    let report = crate::report::check_report(&m, &a);
    assert!(
        report.contains("1 request to front.e can become 10 attempts at db (1 layer retrying: 6, times repeated"),
        "{report}"
    );
}

#[test]
fn budgets_and_throttles_cap_the_long_run_figure() {
    // Finagle 20%: 1 + 0.2 per hop.
    let m = chain("retry: { attempts: 4, budget: { ratio: 20% } }");
    let a = analyze(&m);
    let (att, cap, _) = at(&a, &m, "db");
    assert_eq!(att, 64.0);
    assert!(close(cap, 1.2f64.powi(3)), "{cap}");
    let report = crate::report::check_report(&m, &a);
    assert!(
        report.contains(
            "can become 64 attempts at db (3 layers retrying: 4 × 4 × 4); retry budgets and throttles cap it at 1.73"
        ),
        "{report}"
    );
    // Envoy 20%: retries count among active requests, 1/(1 − 0.2) = 1.25.
    let m = chain("retry: { attempts: 4, budget: { kind: envoy, ratio: 20% } }");
    assert!(close(at(&analyze(&m), &m, "db").1, 1.25f64.powi(3)));
    // gRPC throttle, token ratio 0.1: 1.1 per hop, on retries and hedges.
    let m =
        chain("retry: { attempts: 4 }, hedge: { max: 2 }, throttle: { kind: grpc, max_tokens: 10, token_ratio: 0.1 }");
    let (att, cap, _) = at(&analyze(&m), &m, "db");
    assert_eq!(att, 512.0);
    assert!(close(cap, 1.21f64.powi(3)), "{cap}");
    // AWS standard quota: 1 token per first-try success, 5 per retried error
    // (10 per timeout): 1 + 1/5 when errors are retried.
    let m = chain("retry: { attempts: 3, on: [error, timeout] }, throttle: { kind: aws }");
    assert!(close(at(&analyze(&m), &m, "db").1, 1.2f64.powi(3)));
    let m = chain("retry: { attempts: 3, on: timeout }, throttle: { kind: aws }");
    assert!(close(at(&analyze(&m), &m, "db").1, 1.1f64.powi(3)));
    // A cap never raises the factor: 2 attempts under a 150% budget stay 2.
    let m = chain("retry: { attempts: 2, budget: { ratio: 150% } }");
    assert_eq!(at(&analyze(&m), &m, "db"), (8.0, 8.0, 1.0));
}

#[test]
fn sums_run_over_all_paths_and_the_heaviest_path_is_named() {
    // front calls mid twice (mid retries db 3×) and db directly with 5
    // attempts: 2·3 + 5 = 11 at db; the heaviest single path is the direct one.
    let m = yaml(
        "duration: 10s
services:
  front:
    endpoints:
      e:
        steps:
          - { call: mid.e }
          - { call: mid.e }
          - { call: db.q, retry: { attempts: 5 } }
  mid: { endpoints: { e: { steps: [ { call: db.q, retry: { attempts: 3 } } ] } } }
  db: { endpoints: { q: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 10/s } ]
",
    );
    let a = analyze(&m);
    assert_eq!(at(&a, &m, "db"), (11.0, 11.0, 3.0));
    assert_eq!(at(&a, &m, "mid"), (2.0, 2.0, 2.0));
    assert_eq!(a.worst_path[0][service(&m, "db")], [5.0]);
}

#[test]
fn nested_repeats_inside_parallel_reuse_slots_without_confusing_counts() {
    // The inner loop of the parallel branch reuses slot 0 of the outer loop:
    // the outer count must still be found (2 × 3 × 1 call, and the call
    // after the loops runs once).
    let m = yaml(
        "duration: 10s
services:
  front:
    endpoints:
      e:
        steps:
          - repeat:
              count: 2
              steps:
                - repeat:
                    count: 3
                    steps:
                      - parallel:
                          - repeat: { count: 4, steps: [ { work: 1ms } ] }
                          - call: db.q
          - call: db.r
  db: { endpoints: { q: { work: 1ms }, r: { work: 1ms } } }
workload: [ { name: w, target: front.e, rate: 10/s } ]
",
    );
    let a = analyze(&m);
    let expected: Vec<f64> = a.edges.iter().map(|g| g.calls_per_visit).collect();
    let most: Vec<f64> = a.edges.iter().map(|g| g.max_calls_per_visit).collect();
    assert_eq!(expected, [6.0, 1.0]);
    assert_eq!(most, [6.0, 1.0]);
    let r = m.endpoints.iter().position(|e| e.full_name == "db.r").map(|i| EndpointId(i as u32));
    assert_eq!(r.map(|r| a.visits[0][r.ix()]), Some(1.0));
}
