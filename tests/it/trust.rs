//! Answers stormcast once got wrong, pinned: findings judged per window
//! (a collapse in part of a run is named, repeated findings are grouped),
//! storm and pool findings that state what held, nothing made up when
//! nothing succeeded, a digest that does not depend on how results are
//! observed, and random streams that stay put when another part of the
//! model changes. Each test failed before its fix.

use crate::common::{load_topology, load_yaml, options, run_checked, secs, show};
use stormcast::metrics::{FindingKind, RunResult};
use stormcast::model::Model;
use stormcast::sim::RunOptions;

fn model(text: &str) -> Model {
    load_yaml("trust.yaml", text).unwrap_or_else(|d| panic!("{}\n{text}", show(&d)))
}

fn findings(r: &RunResult, kind: FindingKind, subject: &str) -> Vec<stormcast::metrics::Finding> {
    r.findings.iter().filter(|f| f.kind == kind && f.subject == subject).cloned().collect()
}

/// A ramp that takes the database past its capacity from about minute 3:
/// most requests fail from then on. Judged on whole-run averages the
/// database was "fine" and `findings` stayed empty; judged per window,
/// its saturation and exhausted pool are named from when they began.
#[test]
fn a_collapse_in_part_of_the_run_is_found_in_its_windows() {
    let m = model(
        "duration: 6m
services:
  api:
    endpoints:
      get: { steps: [ { call: db.q, timeout: 200ms } ] }
  db:
    max_in_flight: 8
    queue: { capacity: 20, max_wait: 50ms }
    endpoints: { q: { work: exp(10ms) } }
workload:
  - name: web
    target: api.get
    rate: 200/s
    shape: [ { ramp: { from: 0.05, to: 1.0, over: 6m } } ]
",
    );
    let r = run_checked(&m, &options(1, None));
    let w = &r.workloads["web"];
    assert!(w.failed as f64 > 0.1 * w.offered as f64, "the end of the ramp overloads db: {w:?}");
    // db's capacity is 100/s: the ramp crosses 90/s at 162 s and 100/s at
    // 180 s; the whole-run utilization is well under 90%.
    assert!(r.services["db"].utilization < 0.8, "{}", r.services["db"].utilization);
    let sat = findings(&r, FindingKind::Saturation, "db");
    assert_eq!(sat.len(), 1, "one grouped finding: {:?}", r.findings);
    let first = sat[0].windows[0];
    assert!((120.0..=240.0).contains(&first.from_s), "saturated from {:?}", sat[0]);
    assert_eq!(sat[0].windows.last().expect("windows").to_s, 360.0, "{:?}", sat[0]);
    let pool = findings(&r, FindingKind::PoolExhausted, "db");
    assert_eq!(pool.len(), 1, "{:?}", r.findings);
    assert!(pool[0].from_s >= 90.0, "{:?}", pool[0]);
}

/// The `pool_exhausted` message states the use of the slots in the windows
/// where they ran out (a burst), not a whole-run average of a few percent.
#[test]
fn an_exhausted_pool_is_reported_with_its_use_when_it_ran_out() {
    let m = model(
        "duration: 10m
services:
  db:
    max_in_flight: 4
    queue: { capacity: 10 }
    endpoints: { q: { work: exp(10ms) } }
workload:
  - name: w
    target: db.q
    rate: 20/s
    shape: [ { spike: { at: 5m, for: 30s, factor: 30 } } ]
",
    );
    let r = run_checked(&m, &options(3, None));
    let pool = findings(&r, FindingKind::PoolExhausted, "db");
    assert_eq!(pool.len(), 1, "{:?}", r.findings);
    let f = &pool[0];
    assert!(f.from_s >= 270.0 && f.to_s <= 360.0, "the burst, not the run: {f:?}");
    let used: f64 = f
        .message
        .split("% in use")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no use figure in {:?}", f.message));
    assert!(used > 80.0, "{f:?}");
}

/// A retry storm is amplification by retries: its headline ratio (attempts
/// over first tries) is never below the threshold, even at a service that
/// only a fifth of the requests reach (whose attempts per request entering
/// the system stay below 1).
#[test]
fn a_storm_is_never_reported_below_one() {
    let m = model(
        "duration: 60s
services:
  api:
    endpoints:
      get:
        steps:
          - call: db.q
            probability: 0.2
            timeout: 5ms
            retry: { attempts: 3, on: [timeout] }
  db: { endpoints: { q: { work: exp(20ms) } } }
workload: [ { name: w, target: api.get, rate: 100/s } ]
",
    );
    let r = run_checked(&m, &options(1, None));
    let storm = findings(&r, FindingKind::RetryStorm, "db");
    assert_eq!(storm.len(), 1, "{:?}", r.findings);
    let ratio: f64 = storm[0]
        .message
        .split("were ")
        .nth(1)
        .and_then(|s| s.split('x').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in {:?}", storm[0].message));
    assert!(ratio >= 2.0, "{:?}", storm[0]);
    assert!(r.services["db"].amplification < 1.0, "the service sees under one attempt per request");
}

/// The autoscaler finding of a service is one finding with its windows,
/// not one per saturated stretch (27 of them in one run before).
#[test]
fn repeated_findings_are_grouped_by_kind_and_subject() {
    let m = load_topology("hpa-diurnal-spike.yaml");
    let r = run_checked(&m, &options(7, None));
    let mut seen = std::collections::BTreeSet::new();
    for f in &r.findings {
        assert!(seen.insert((f.kind, f.subject.clone())), "two {} findings for {}", f.kind, f.subject);
        assert!(!f.windows.is_empty(), "{f:?}");
        assert_eq!((f.from_s, f.to_s), (f.windows[0].from_s, f.windows.last().expect("w").to_s), "{f:?}");
        assert!(f.windows.windows(2).all(|p| p[0].to_s <= p[1].from_s), "windows in order: {f:?}");
    }
    assert!(r.findings.iter().any(|f| f.kind == FindingKind::AutoscalerSlow), "{:?}", r.findings);
}

/// When nothing succeeds there is no latency: `null` in the JSON and `—`
/// on the terminal, never a `0` that reads as "fast".
#[test]
fn no_success_no_latency() {
    let m = model(
        "duration: 10s
services: { s: { endpoints: { e: { steps: [ { fail: 100% } ] } } } }
workload: [ { name: w, target: s.e, rate: 10/s } ]
",
    );
    let r = run_checked(&m, &options(1, None));
    let json = serde_json::to_value(&r.workloads["w"]).expect("json");
    assert!(json["latency_ms"]["p99"].is_null() && json["latency_ms"]["mean"].is_null(), "{json}");
    let text = stormcast::report::summary(&r);
    let row = text.lines().find(|l| l.starts_with("w ")).expect("the workload row");
    let latencies = row.split('│').nth(1).expect("latency cells");
    assert!(latencies.split_whitespace().all(|c| c == "—"), "{row}");
}

/// The digest and the event count describe the simulation, not how it was
/// observed: they do not change with the series interval.
#[test]
fn the_digest_does_not_depend_on_the_interval() {
    let m = load_topology("quickstart.yaml");
    let run = |ms: u64| {
        let opts =
            RunOptions { interval: stormcast::engine::SimDuration::from_millis(ms), ..options(1, Some(secs(30))) };
        run_checked(&m, &opts)
    };
    let (a, b) = (run(1000), run(100));
    assert_eq!((a.engine.digest.as_str(), a.engine.events), (b.engine.digest.as_str(), b.engine.events));
    assert_eq!(serde_json::to_string(&a.workloads).ok(), serde_json::to_string(&b.workloads).ok());
}

/// A stable name per random stream: a fault, a service, a workload or an
/// adaptive limiter added elsewhere — even written before the others in
/// the file — leaves every draw of the rest where it was.
#[test]
fn adding_faults_and_services_elsewhere_leaves_other_draws_unchanged() {
    let base = "duration: 60s
services:
  ELSEWHERE
  a:
    replicas: 2
    max_in_flight: { adaptive: gradient, initial: 10, max: 50 }
    endpoints:
      get:
        steps:
          - work: exp(2ms)
          - call: c.put
            timeout: 8ms
            retry: { attempts: 3, on: [timeout], backoff: { base: 2ms, jitter: full } }
  c:
    endpoints: { put: { work: exp(3ms) } }
workload:
  WORKLOAD
  - { name: wa, target: a.get, rate: 250/s }
faults:
  FAULTS
  - { at: 10s, for: 20s, kind: pauses, service: c, every: exp(2s), pause: 50ms }
  - { at: 30s, for: 10s, kind: latency, service: c, add: exp(2ms) }
  - { at: 40s, for: 10s, kind: errors, service: c, rate: 20% }
";
    let plain = base.replace("  ELSEWHERE\n", "").replace("  WORKLOAD\n", "").replace("  FAULTS\n", "");
    let more = base
        .replace(
            "  ELSEWHERE\n",
            "  b:\n    max_in_flight: { adaptive: vegas, initial: 5, max: 20 }\n    endpoints: { get: { work: exp(1ms) } }\n",
        )
        .replace("  WORKLOAD\n", "  - { name: wb, target: b.get, rate: 100/s }\n")
        .replace(
            "  FAULTS\n",
            "  - { at: 5s, for: 30s, kind: pauses, service: b, every: exp(1s), pause: 20ms }\n  - { at: 20s, for: 10s, kind: errors, service: b, rate: 50% }\n",
        );
    let (x, y) = (run_checked(&model(&plain), &options(4, None)), run_checked(&model(&more), &options(4, None)));
    assert!(y.workloads["wb"].ok > 0 && y.workloads["wb"].failed > 0, "the added parts ran");
    let json = |v: &dyn erased::Json| v.json();
    assert_eq!(json(&x.workloads["wa"]), json(&y.workloads["wa"]), "workload wa moved");
    for s in ["a", "c"] {
        let (p, q) = (&x.services[s], &y.services[s]);
        // Amplification counts requests entering the system, so it changes with wb.
        assert_eq!(
            (p.arrivals, p.completed, p.errors, p.rejected, p.timeouts, json(&p.latency_ms)),
            (q.arrivals, q.completed, q.errors, q.rejected, q.timeouts, json(&q.latency_ms)),
            "service {s} moved"
        );
    }
    assert_eq!(json(&x.edges["a->c.put"]), json(&y.edges["a->c.put"]));
}

mod erased {
    /// Serialises anything to JSON text (comparisons of result parts).
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("serialises")
        }
    }
}

/// The chains say where a request's time went, and their totals are the
/// latencies they stand for. On M/M/1 (μ = 1000/s, λ = 800/s) the sojourn
/// is Exp(200/s): the mean chain totals the mean latency (5 ms); the
/// median chain averages the requests between p45 and p55, whose mean is
/// E[X | q45 ≤ X ≤ q55] = 3.47 ms; the p99 chain averages those at or
/// above p99, E[X | X ≥ q99] = q99 + 1/200 s = 28.03 ms (the exponential
/// forgets).
///
/// One run's tail is noisy well beyond its ~1,600 requests (busy periods
/// make them come in clumps: 200 s runs gave 25.6 to 29.8 ms), so the test
/// takes 20 seeds and compares the mean over them with theory within
/// t(19, 0.9995) = 3.88 standard errors, plus 1% for the HDR histogram's
/// resolution and the running percentile estimates. It also rejects the
/// wrong answers: a tail chain of requests *near* p99 (23.03 ms), and a
/// median chain of all requests (5 ms).
#[test]
fn the_median_and_tail_chains_total_what_they_stand_for() {
    use crate::common::replicate;
    let m = load_topology("mm1.yaml");
    let seeds: Vec<u64> = (1..=20).collect();
    let total = |hops: &[stormcast::metrics::ChainHop]| -> f64 {
        hops.iter().map(|h| h.queue_ms + h.cpu_ms + h.network_ms + h.backoff_ms + h.wasted_ms + h.delay_ms).sum()
    };
    let runs: Vec<[f64; 3]> = replicate(&m, &seeds, Some(secs(201)), |r| {
        let c = &r.chains["clients"];
        [total(&c.mean), total(&c.p50), total(&c.p99)]
    });
    let rate = 200.0; // μ − λ, per second
    let q = |p: f64| -(1.0f64 - p).ln() / rate * 1000.0; // ms
    // E[X | a ≤ X ≤ b] for X ~ Exp(rate), in ms.
    let band = |a: f64, b: f64| {
        let (a, b) = (a / 1000.0, b / 1000.0);
        let mass = (-rate * a).exp() - (-rate * b).exp();
        let part = |x: f64| (x + 1.0 / rate) * (-rate * x).exp();
        (part(a) - part(b)) / mass * 1000.0
    };
    let theory = [1000.0 / rate, band(q(0.45), q(0.55)), q(0.99) + 1000.0 / rate];
    let wrong = [None, Some(1000.0 / rate), Some(q(0.99))];
    for (k, what) in ["mean chain", "median chain", "p99 chain"].iter().enumerate() {
        let xs: Vec<f64> = runs.iter().map(|r| r[k]).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let tol = 3.88 * sd / n.sqrt() + 0.01 * theory[k];
        assert!(
            (mean - theory[k]).abs() <= tol,
            "{what}: {mean:.3} ms over {n} seeds, theory {:.3} ms (±{tol:.3})",
            theory[k]
        );
        if let Some(w) = wrong[k] {
            assert!((mean - w).abs() > tol, "{what}: {mean:.3} ms cannot tell theory from {w:.3} ms (±{tol:.3})");
        }
    }
}

/// Latency per endpoint and per call edge, the detail users asked for when
/// several workloads hit one service. `api` serves two endpoints (2 ms and
/// 8 ms of deterministic work on 16 cores: no queueing at 40 and 10
/// requests/s); `fast` calls `db.q` (1 ms) over a network of 0.5 ms each
/// way. So the endpoints' server-side latencies are exactly 2+1+1 ms = 4 ms
/// (fast: its own 2 ms and the call's 1 ms of work and 1 ms of network) and
/// 8 ms, the edge's call latency is 2 ms, and the service's own figure
/// mixes them. The histograms for endpoints and edges keep 2 significant
/// digits: ±1%.
#[test]
fn endpoints_and_edges_have_their_own_latency() {
    let m = model(
        "duration: 60s
network: { latency: 0.5ms }
services:
  api:
    cpus: 16
    endpoints:
      fast: { steps: [ { work: 2ms }, { call: db.q } ] }
      slow: { work: 8ms }
  db:
    cpus: 16
    endpoints: { q: { work: 1ms } }
workload:
  - { name: a, target: api.fast, rate: 40/s }
  - { name: b, target: api.slow, rate: 10/s }
",
    );
    let r = run_checked(&m, &options(1, None));
    let api = &r.services["api"];
    let near = |got: Option<f64>, want: f64, what: &str| {
        let got = got.unwrap_or_else(|| panic!("{what}: no value"));
        assert!((got - want).abs() <= 0.01 * want, "{what}: {got} ms, expected {want} ms (±1%)");
    };
    near(api.endpoints["fast"].latency_ms.p50, 4.0, "api.fast p50");
    near(api.endpoints["fast"].latency_ms.p99, 4.0, "api.fast p99");
    near(api.endpoints["slow"].latency_ms.p99, 8.0, "api.slow p99");
    let (fast, slow) = (api.endpoints["fast"].completed, api.endpoints["slow"].completed);
    assert_eq!(fast + slow, api.completed, "the endpoints split the service's attempts");
    assert!(fast > 3 * slow, "{fast} vs {slow}: 40/s vs 10/s");
    // The service's own p50 is the fast endpoint's, its p99 the slow one's.
    near(api.latency_ms.p99, 8.0, "api p99");
    let edge = &r.edges["api->db.q"];
    near(edge.latency_ms.p50, 2.0, "api->db.q p50");
    near(edge.latency_ms.max, 2.0, "api->db.q max");
    assert_eq!(r.services["db"].endpoints["q"].completed, r.services["db"].completed);
}
