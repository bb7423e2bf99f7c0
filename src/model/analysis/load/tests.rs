//! The static load estimate against queueing theory's utilizations and
//! hand-computed expectations.

use super::*;
use crate::engine::SimTime;
use crate::model::analysis::analyze;

fn model(text: &str) -> Model {
    crate::spec::testing::model(text)
}

/// Busy cores and utilization of service `name` at the base rates.
fn busy(m: &Model, name: &str) -> (f64, f64) {
    let l = &analyze(m).load;
    let s = m.services.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("no service {name}"));
    (l.services[s].busy_cores, l.services[s].busy_cores / l.services[s].cores)
}

fn close(x: f64, want: f64) -> bool {
    (x - want).abs() <= 1e-12 * want.abs().max(1.0)
}

#[test]
fn queueing_theory_utilizations_come_out_exactly() {
    // M/M/1: rho = lambda / mu = 800/s × 1 ms.
    let m = model(include_str!("../../../../topologies/mm1.yaml"));
    assert!(close(busy(&m, "server").1, 0.8), "{:?}", busy(&m, "server"));
    // M/M/c: 750/s × 4 ms over 4 cores.
    let m = model(include_str!("../../../../topologies/mmc.yaml"));
    let (b, u) = busy(&m, "server");
    assert!(close(b, 3.0) && close(u, 0.75), "{b} {u}");
    // M/D/1: 800/s × 1 ms.
    let m = model(include_str!("../../../../topologies/md1.yaml"));
    assert!(close(busy(&m, "server").1, 0.8));
    // Jackson network (branch 60/40, probability 0.5): 0.4, 0.6, 0.2, 0.6.
    let m = model(include_str!("../../../../topologies/jackson.yaml"));
    for (s, rho) in [("gateway", 0.4), ("catalog", 0.6), ("orders", 0.2), ("db", 0.6)] {
        assert!(close(busy(&m, s).1, rho), "{s}: {:?} vs {rho}", busy(&m, s));
    }
}

#[test]
fn a_closed_loop_counts_at_users_over_think_time() {
    // 10 users thinking 90 ms: at most 111.1/s, so at most 1.11 busy cores
    // (exact MVA gives 0.832: the bound is not an estimate).
    let m = model(include_str!("../../../../topologies/closed.yaml"));
    let l = &analyze(&m).load;
    assert!(l.workloads[0].closed);
    assert!(close(l.workloads[0].base_per_s.unwrap_or(0.0), 10.0 / 0.09));
    assert!(close(l.services[0].busy_cores, 10.0 / 0.09 * 0.01), "{:?}", l.services[0]);
    let m = model(
        "duration: 10s
services: { s: { endpoints: { e: { work: 1ms } } } }
workload: [ { name: w, target: s.e, users: 5, think: 0s } ]
",
    );
    let l = &analyze(&m).load;
    assert_eq!((l.workloads[0].base_per_s, l.services[0].busy_cores), (None, 0.0), "no bound, not counted");
}

#[test]
fn repeat_branch_probability_parallel_cache_and_fail_weigh_the_work() {
    let m = model(
        "duration: 10s
services:
  front:
    endpoints:
      e:
        steps:
          - work: 2ms
          - repeat: { count: 3, steps: [ { call: db.q } ] }
          - branch:
              - { weight: 0.25, steps: [ { call: db.q } ] }
              - { weight: 0.75, steps: [ { work: exp(4ms) } ] }
          - { call: db.q, probability: 0.5, retry: { attempts: 3 }, hedge: { max: 2 } }
          - parallel: [ { call: db.q }, { call: db.r } ]
          - cache:
              name: c
              hit_ratio: 80%
              hit: [ { work: 1ms } ]
              miss: [ { call: db.r }, { work: 5ms } ]
          - fail: 50%
          - work: uniform(1ms, 3ms)
  db:
    endpoints:
      q: { work: 1ms }
      r: { work: 'mix(0.5: 5ms, 0.5: exp(15ms))' }
workload: [ { name: w, target: front.e, rate: 40/s } ]
",
    );
    // front: 2 + 0.75·4 + 0.8·1 + 0.2·5 + 0.5·2 = 7.8 ms per request;
    // db: q visited 3 + 0.25 + 0.5 + 1 = 4.75 times (first attempts only:
    // the retries and hedges do not count), r 1 + 0.2 = 1.2 times at 10 ms.
    let l = &analyze(&m).load;
    assert!(close(l.services[0].cpu_s_per_request[0], 7.8e-3), "{:?}", l.services[0]);
    assert!(close(l.services[1].cpu_s_per_request[0], 4.75e-3 + 12e-3), "{:?}", l.services[1]);
    assert!(close(busy(&m, "front").0, 40.0 * 7.8e-3));
    assert!(close(busy(&m, "db").0, 40.0 * 16.75e-3));
}

#[test]
fn a_shape_peaks_where_the_run_reaches() {
    let d = |s: u64| SimDuration::from_secs(s);
    let t = |s: u64| SimTime(d(s).0);
    let diurnal = Shape::Diurnal { period: d(100), min: 0.5, max: 2.0, peak_at: d(50) };
    assert_eq!(shape_peak(&diurnal, d(200)), 2.0);
    // Over [0, 25] the cosine only rises towards its peak at 50: f(25).
    assert!(close(shape_peak(&diurnal, d(25)), 0.5 + 1.5 * 0.5));
    // A peak at 150 recurs at 50 (period 100).
    let late = Shape::Diurnal { period: d(100), min: 0.5, max: 2.0, peak_at: d(150) };
    assert_eq!(shape_peak(&late, d(60)), 2.0);
    let ramp = Shape::Ramp { from: 1.0, to: 3.0, over: d(100), at: SimTime::ZERO };
    assert!(close(shape_peak(&ramp, d(50)), 2.0));
    assert_eq!(shape_peak(&ramp, d(500)), 3.0);
    assert_eq!(shape_peak(&Shape::Ramp { from: 2.0, to: 0.5, over: d(10), at: SimTime::ZERO }, d(50)), 2.0);
    let spike = Shape::Spike { at: t(60), duration: d(10), factor: 4.0 };
    assert_eq!((shape_peak(&spike, d(100)), shape_peak(&spike, d(60))), (4.0, 1.0));
    let steps = Shape::Steps(vec![(t(0), 0.5), (t(10), 0.8), (t(20), 5.0)]);
    assert_eq!((shape_peak(&steps, d(15)), shape_peak(&steps, d(30))), (0.8, 5.0));
    assert_eq!(shape_peak(&Shape::Steps(vec![(t(10), 0.5)]), d(30)), 1.0, "1 before the first step");
}

#[test]
fn autoscaled_services_count_their_max_too() {
    let m = model(
        "duration: 10m
services:
  api:
    replicas: 2
    cpus: 2
    autoscale: { min: 1, max: 8 }
    endpoints: { e: { work: 10ms } }
workload:
  - name: w
    target: api.e
    rate: 100/s
    shape: [ { spike: { at: 1m, for: 1m, factor: 5 } }, { ramp: { from: 1, to: 2, over: 20m } } ]
",
    );
    let l = &analyze(&m).load;
    // Peak: 100 × 5 × 1.5 (the ramp is halfway at the end of the run).
    assert!(close(l.workloads[0].peak_per_s.unwrap_or(0.0), 750.0));
    let s = &l.services[0];
    assert!(close(s.busy_cores, 1.0) && close(s.busy_cores_peak, 7.5), "{s:?}");
    assert_eq!((s.cores, s.cores_max), (4.0, Some(16.0)));
    assert_eq!(s.replicas_needed(s.busy_cores_peak), 4, "7.5 cores on replicas of 2");
    assert_eq!(s.replicas_needed(8.0), 5, "exactly full is not enough");
}
