//! The cluster underneath, against queueing theory and arithmetic: two
//! services sharing a node's cores are one M/M/1 (one core) or M/M/2 (two)
//! at the sum of their loads; a four-thread replica under a one-core CPU
//! limit takes the latency an independent step-through of the CFS periods
//! predicts, far above its work and its average CPU use; Pending replicas
//! wait exactly the provisioning time; evicted replicas restart cold; OOM
//! kills back off; a failed node's replicas move. Every run checks
//! invariants.

use crate::common::{load_yaml, options, run_checked, show};
use crate::formulas::{MM1, MMc};
use stormcast::metrics::RunResult;
use stormcast::sim::RunOptions;

fn run_with(text: &str, opts: &RunOptions) -> RunResult {
    let m = load_yaml("cluster.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    run_checked(&m, opts)
}

fn run(text: &str, seed: u64) -> RunResult {
    run_with(text, &options(seed, None))
}

fn mean_ms(r: &RunResult, wl: &str) -> f64 {
    r.workloads[wl].latency_ms.mean.expect("ok requests")
}

/// Two services on one node of `cores` cores, each replica with `cores`
/// threads and half the node's cores requested; exponential work of 1 ms.
fn shared_node(cores: u32, rate_a: f64, rate_b: f64, secs: u32) -> String {
    let half = cores * 500;
    format!(
        "duration: {secs}s
warmup: 10s
cluster:
  nodes: [ {{ name: n, cores: {cores}, memory: 8Gi }} ]
services:
  a: {{ cpus: {cores}, resources: {{ requests: {{ cpu: {half}m }} }}, endpoints: {{ e: {{ work: exp(1ms) }} }} }}
  b: {{ cpus: {cores}, resources: {{ requests: {{ cpu: {half}m }} }}, endpoints: {{ e: {{ work: exp(1ms) }} }} }}
workload:
  - {{ name: wa, target: a.e, rate: {rate_a}/s }}
  - {{ name: wb, target: b.e, rate: {rate_b}/s }}
"
    )
}

/// Over ≈ 280k requests per service at ρ = 0.7 the batch-means sd of a mean
/// sojourn is under 1 % of it; 5 % is beyond 5 sd.
const MEAN_TOL: f64 = 0.05;

#[test]
fn two_services_sharing_one_core_are_one_mm1_at_the_sum_of_their_loads() {
    // 300/s + 400/s of 1 ms on one core: M/M/1 at ρ = 0.7, 3.33 ms for both.
    let r = run(&shared_node(1, 300.0, 400.0, 410), 1);
    let want = MM1 { lam: 700.0, mu: 1000.0 }.mean_sojourn() * 1e3;
    for wl in ["wa", "wb"] {
        let got = mean_ms(&r, wl);
        assert!((got - want).abs() < MEAN_TOL * want, "{wl}: {got} ms vs M/M/1 at the sum {want} ms");
    }
    // Alone on the node, `a` would see M/M/1 at ρ = 0.3: 1.43 ms. The
    // neighbour more than doubles it although `a` did not change.
    assert!(mean_ms(&r, "wa") > 2.0 * MM1 { lam: 300.0, mu: 1000.0 }.mean_sojourn() * 1e3);
    let c = r.cluster.as_ref().expect("a cluster result");
    assert_eq!((c.nodes.min, c.nodes.max, c.pending), (1, 1, 0));
    let pool = &c.pools["n"];
    assert!((pool.cpu_requested_share - 1.0).abs() < 1e-9, "{}", pool.cpu_requested_share);
    assert!((pool.cpu_used_share - 0.7).abs() < 0.02, "used {}", pool.cpu_used_share);
}

#[test]
fn two_services_sharing_two_cores_are_one_mm2() {
    let r = run(&shared_node(2, 600.0, 800.0, 410), 2);
    let want = MMc { lam: 1400.0, mu: 1000.0, c: 2 }.mean_sojourn() * 1e3;
    for wl in ["wa", "wb"] {
        let got = mean_ms(&r, wl);
        assert!((got - want).abs() < MEAN_TOL * want, "{wl}: {got} ms vs M/M/2 at the sum {want} ms");
    }
}

/// One request alone on a replica with `k` threads each running `work_ms`
/// of CPU at once, under a quota of `quota_ms` per `period_ms`, starting
/// `x_ms` into a period with a fresh quota: its latency, by stepping
/// through the periods (written apart from the simulator's event logic).
fn throttled_latency(k: f64, work_ms: f64, quota_ms: f64, period_ms: f64, x_ms: f64) -> f64 {
    let (mut t, mut left, mut used, mut elapsed) = (x_ms, work_ms, 0.0, 0.0);
    loop {
        let to_end = period_ms - t;
        let to_out = (quota_ms - used) / k;
        if left <= to_out.min(to_end) {
            return elapsed + left;
        }
        if to_out < to_end {
            // Quota gone: wait for the next period.
            left -= to_out;
            elapsed += to_end;
        } else {
            left -= to_end;
            elapsed += to_end;
        }
        t = 0.0;
        used = 0.0;
    }
}

#[test]
fn a_multithreaded_pod_under_a_limit_gets_the_tail_the_periods_predict() {
    // Four threads, a 1-core limit, 100 ms periods. Each request runs four
    // 40 ms steps at once: 160 ms of CPU, so the quota is gone after 25 ms
    // and the request waits for the next period. One user thinking 5 s
    // between requests: requests never overlap and start at a uniform
    // offset into the period. Average CPU use is 0.03 cores of the 1 allowed.
    let text = "duration: 3000s
cluster:
  nodes: [ { name: n, cores: 8, memory: 8Gi } ]
services:
  api:
    cpus: 4
    resources: { limits: { cpu: 1 } }
    endpoints:
      e:
        steps:
          - parallel: [ { work: 40ms }, { work: 40ms }, { work: 40ms }, { work: 40ms } ]
workload:
  - { name: w, target: api.e, users: 1, think: exp(5s) }
";
    let r = run(text, 3);
    // The prediction over offsets uniform in [0, 100) ms.
    let n = 10_000;
    let mut lat: Vec<f64> =
        (0..n).map(|i| throttled_latency(4.0, 40.0, 100.0, 100.0, (i as f64 + 0.5) * 100.0 / n as f64)).collect();
    let want_mean = lat.iter().sum::<f64>() / n as f64;
    lat.sort_by(f64::total_cmp);
    let want_p90 = lat[n * 9 / 10];
    let w = &r.workloads["w"];
    let got_mean = w.latency_ms.mean.unwrap();
    // ≈ 580 requests; latencies spread over [40, 115] ms (sd ≈ 25 ms): the
    // sd of the mean is ≈ 1 ms; 4 ms is 4 sd.
    assert!((got_mean - want_mean).abs() < 4.0, "mean {got_mean} ms vs predicted {want_mean} ms");
    let got_p90 = w.latency_ms.p90.unwrap();
    assert!((got_p90 - want_p90).abs() < 6.0, "p90 {got_p90} ms vs predicted {want_p90} ms");
    // Far above the 40 ms of work although the replica averages a few
    // percent of its limit.
    assert!(got_mean > 1.8 * 40.0, "{got_mean}");
    let p = r.services["api"].platform.as_ref().expect("platform figures");
    assert!(p.cpu_used_mean < 0.05, "cpu used {}", p.cpu_used_mean);
    // A request spans two periods, throttled in the first: about half the
    // periods with work are throttled.
    assert!(p.throttled_share > 0.4, "{}", p.throttled_share);
    let hop = &r.chains["w"].mean[0];
    let throttled = hop.throttled_ms;
    assert!((hop.cpu_ms + throttled + hop.queue_ms - got_mean).abs() < 2.0, "{hop:?} vs {got_mean}");
    assert!(throttled > 30.0, "throttling shows in the chain: {throttled} ms");
}

#[test]
fn cpus_500m_is_half_a_core() {
    // One thread, a 500m limit: a 1 ms step every 4 ms on average (ρ = 0.25
    // of a core) is ρ = 0.5 of the quota — throttling appears, and CPU used
    // stays under half a core.
    let text = "duration: 300s
warmup: 10s
services:
  api: { cpus: 500m, endpoints: { e: { work: exp(1ms) } } }
workload: [ { name: w, target: api.e, rate: 250/s } ]
";
    let r = run(text, 4);
    let p = r.services["api"].platform.as_ref().expect("a CPU limit reports the platform");
    assert_eq!((p.cpu_request, p.cpu_limit), (0.5, Some(0.5)));
    assert!((p.cpu_used_mean - 0.25).abs() < 0.02, "{}", p.cpu_used_mean);
    assert!(p.throttled_s > 0.0 && r.cluster.is_none());
}

#[test]
fn pending_replicas_wait_exactly_the_provisioning_time() {
    // Nodes of 2 cores; three replicas requesting 2 cores each: one fits,
    // two are Pending; the autoscaler asks for two nodes at once, ready 90 s
    // later.
    let text = "duration: 200s
cluster:
  nodes: [ { name: n, cores: 2, memory: 8Gi, count: 1, max: 3, provision: 90s, cost_per_hour: 1 } ]
services:
  api: { replicas: 3, cpus: 2, endpoints: { e: { work: exp(1ms) } } }
workload: [ { name: w, target: api.e, rate: 100/s } ]
";
    let r = run(text, 5);
    let p = r.services["api"].platform.as_ref().unwrap();
    assert_eq!(p.pending, 2);
    assert_eq!((p.pending_s_mean, p.pending_s_max), (90.0, 90.0));
    let c = r.cluster.as_ref().unwrap();
    assert_eq!((c.nodes.min, c.nodes.max, c.nodes_added), (1, 3, 2));
    // Billed from the request: 1 node × 200 s + 2 × 200 s.
    assert!((c.node_hours - 3.0 * 200.0 / 3600.0).abs() < 1e-9, "{}", c.node_hours);
    assert_eq!(c.cost, Some(c.node_hours));
    // Ready replicas: 1 until 90 s, then 3.
    assert_eq!(r.services["api"].replicas.min, 3, "Pending replicas count as replicas");
}

#[test]
fn evicted_replicas_restart_elsewhere_cold() {
    // Two replicas with a replica-scoped cache; one is evicted at 60 s: its
    // replacement starts after 20 s with an empty cache.
    let text = "duration: 150s
cluster:
  nodes: [ { name: n, cores: 8, memory: 8Gi, count: 2 } ]
caches:
  local: { keys: 1000, zipf: 0.9, capacity: 1000, scope: replica }
services:
  api:
    replicas: 2
    autoscale: { min: 2, max: 2, metrics: [ { cpu: 60% } ], startup: 20s }
    endpoints:
      e:
        steps:
          - cache: { name: local, hit: [ { work: 0.1ms } ], miss: [ { work: 5ms } ] }
workload: [ { name: w, target: api.e, rate: 200/s } ]
faults:
  - { at: 60s, kind: evict, service: api, replicas: 1 }
";
    let opts = RunOptions { keep_series: true, ..options(6, None) };
    let r = run_with(text, &opts);
    let p = r.services["api"].platform.as_ref().unwrap();
    assert_eq!(p.evictions, 1);
    let s = &r.series;
    let api = s.service_names.iter().position(|n| n == "api").unwrap() as u32;
    let ready_at = |t: f64| s.services.iter().find(|row| row.service == api && row.t_s == t).unwrap().replicas_ready;
    assert_eq!((ready_at(59.0), ready_at(61.0), ready_at(79.0), ready_at(81.0)), (2, 1, 1, 2));
    // The replacement's cache is cold: the hit ratio dips after 80 s.
    let hits = |t: f64| s.caches.iter().find(|row| row.t_s == t).unwrap().hit_ratio.unwrap();
    assert!(hits(81.0) < hits(58.0) - 0.1, "{} vs {}", hits(81.0), hits(58.0));
    assert_eq!(s.replicas.iter().filter(|row| row.state == "gone").count(), 1);
}

#[test]
fn a_replica_past_its_memory_limit_is_oom_killed_and_backs_off() {
    // 100 MiB request, 110 MiB limit, 1 MiB per request: more than 10 at
    // once kills it. Bursts of 40 do.
    let text = "duration: 120s
services:
  api:
    replicas: 2
    resources: { requests: { memory: 100Mi }, limits: { memory: 110Mi } }
    memory_per_request: 1Mi
    endpoints: { e: { work: exp(10ms) } }
workload:
  - { name: w, target: api.e, rate: 60/s, shape: [ { bursts: { on: exp(2s), off: exp(20s), factor: 10 } } ] }
";
    let r = run(text, 7);
    let p = r.services["api"].platform.as_ref().unwrap();
    assert!(p.oom_kills > 0, "{p:?}");
    assert!(p.memory_mib_max.unwrap() > 110.0);
    assert!(r.workloads["w"].failed > 0);
}

#[test]
fn a_failed_node_moves_its_replicas() {
    let text = "duration: 100s
cluster:
  nodes: [ { name: n, cores: 4, memory: 8Gi, count: 2 } ]
services:
  api: { replicas: 4, cpus: 1, endpoints: { e: { work: exp(1ms) } } }
workload: [ { name: w, target: api.e, rate: 500/s } ]
faults:
  - { at: 30s, for: 30s, kind: node_down, node: n-0 }
";
    let r = run(text, 8);
    let c = r.cluster.as_ref().unwrap();
    assert_eq!(c.node_failures, 1);
    // least_allocated spread the four replicas two per node; the two on n-0
    // move to n-1 (4 cores: room for both).
    assert_eq!(r.services["api"].platform.as_ref().unwrap().evictions, 2);
    assert_eq!((c.nodes.min, c.nodes.max), (1, 2));
    assert_eq!(c.pending, 0);
}

#[test]
fn an_empty_node_above_the_pool_minimum_is_removed_after_the_scale_down_delay() {
    // Two nodes, one replica that takes a whole node: the other is empty
    // (below 50% requested) from the start and goes after 60 s.
    let text = "duration: 120s
cluster:
  nodes: [ { name: n, cores: 2, memory: 8Gi, count: 2, min: 1, cost_per_hour: 3600 } ]
  scale_down: { after: 60s, utilization: 50% }
services:
  api: { cpus: 2, endpoints: { e: { work: exp(1ms) } } }
workload: [ { name: w, target: api.e, rate: 100/s } ]
";
    let r = run(text, 9);
    let c = r.cluster.as_ref().unwrap();
    assert_eq!((c.nodes.min, c.nodes.max, c.nodes_removed), (1, 2, 1));
    // 120 s + 60 s of nodes at 1 per second.
    assert!((c.cost.unwrap() - 180.0).abs() < 1e-6, "{:?}", c.cost);
    assert!((c.nodes.mean - 1.5).abs() < 1e-9);
}

#[test]
fn the_scheduler_spreads_or_packs() {
    let text = |scheduler: &str| {
        format!(
            "duration: 5s
cluster:
  nodes: [ {{ name: n, cores: 4, memory: 8Gi, count: 2 }} ]
  scheduler: {scheduler}
services:
  api: {{ replicas: 2, cpus: 1, endpoints: {{ e: {{ work: exp(1ms) }} }} }}
workload: [ {{ name: w, target: api.e, rate: 10/s }} ]
"
        )
    };
    let nodes_used = |scheduler: &str| {
        let opts = RunOptions { keep_series: true, ..options(10, None) };
        let r = run_with(&text(scheduler), &opts);
        let mut used: Vec<Option<u32>> = r.series.replicas.iter().map(|row| row.node).collect();
        used.sort();
        used.dedup();
        used.len()
    };
    assert_eq!(nodes_used("least_allocated"), 2);
    assert_eq!(nodes_used("most_allocated"), 1);
}

#[test]
fn the_autoscaler_finding_names_the_time_spent_waiting_for_a_node() {
    // The HPA wants more replicas than the one 2-core node holds; the rest
    // wait 60 s for new nodes, then start in 10 s.
    let text = "duration: 400s
cluster:
  nodes: [ { name: n, cores: 2, memory: 8Gi, count: 1, max: 6, provision: 60s } ]
services:
  api:
    autoscale: { min: 1, max: 8, metrics: [ { cpu: 50% } ], startup: 10s }
    endpoints: { e: { work: exp(1ms) } }
workload:
  - { name: w, target: api.e, rate: 400/s, shape: [ { steps: [ [0s, 1.0], [60s, 5.0] ] } ] }
";
    let r = run(text, 11);
    let f = r
        .findings
        .iter()
        .find(|f| f.subject == "api" && f.kind == stormcast::metrics::FindingKind::AutoscalerSlow)
        .unwrap_or_else(|| panic!("an autoscaler_slow finding: {:?}", r.findings));
    let secs = |what: &str| -> f64 {
        let at = f.message.find(what).unwrap_or_else(|| panic!("'{what}' in {}", f.message)) + what.len();
        f.message[at..].split('s').next().unwrap().trim().parse().unwrap()
    };
    let (node_wait, startup) = (secs("waiting for a node "), secs("pod start-up "));
    assert!(node_wait > 20.0 && node_wait <= 60.0, "{}", f.message);
    assert!(startup <= 10.0, "start-up is what follows the wait, capped by the stretch: {}", f.message);
    let p = r.services["api"].platform.as_ref().unwrap();
    assert!(p.pending > 0 && p.pending_s_max == 60.0, "{p:?}");
}

#[test]
fn memory_pressure_evicts_pods_above_their_request_before_others() {
    // One node of 1 GiB. `batch` requests 300 MiB and uses 5 MiB more per
    // request in flight; `api` (lower priority) uses exactly its 600 MiB
    // request. Bursts push the node past its memory: the kubelet evicts the
    // pod above its request first — `batch`, its priority notwithstanding.
    let text = "duration: 120s
cluster:
  nodes: [ { name: n, cores: 8, memory: 1Gi, count: 1 } ]
services:
  batch:
    priority: 100
    resources: { requests: { memory: 300Mi } }
    memory_per_request: 5Mi
    endpoints: { e: { work: exp(20ms) } }
  api:
    priority: 0
    resources: { requests: { memory: 600Mi } }
    endpoints: { e: { work: exp(1ms) } }
workload:
  - { name: wb, target: batch.e, rate: 40/s, shape: [ { bursts: { on: exp(2s), off: exp(10s), factor: 8 } } ] }
  - { name: wa, target: api.e, rate: 100/s }
";
    let r = run(text, 12);
    let batch = r.services["batch"].platform.as_ref().unwrap();
    let api = r.services["api"].platform.as_ref().unwrap();
    assert!(batch.evictions > 0, "{batch:?}");
    assert_eq!(api.evictions, 0, "{api:?}");
    assert_eq!(r.workloads["wa"].failed, 0);
}

#[test]
fn an_oom_killed_replica_is_out_for_its_back_off() {
    // One replica, 10 MiB of headroom at 1 MiB per request: a burst of 40
    // requests at 10 s kills it; it takes no traffic for the 10 s back-off
    // (no start-up without autoscale), then serves again.
    let text = "duration: 40s
services:
  api:
    resources: { requests: { memory: 100Mi }, limits: { memory: 110Mi } }
    memory_per_request: 1Mi
    endpoints: { e: { work: 100ms } }
workload:
  - { name: w, target: api.e, rate: 5/s, arrivals: deterministic,
      shape: [ { spike: { at: 10s, for: 1s, factor: 40 } } ] }
";
    let opts = RunOptions { keep_series: true, ..options(13, None) };
    let r = run_with(text, &opts);
    let p = r.services["api"].platform.as_ref().unwrap();
    assert_eq!(p.oom_kills, 1, "{p:?}");
    let state = |t: f64| r.series.replicas.iter().find(|row| row.t_s == t).unwrap().state.clone();
    assert_eq!(
        (state(9.0), state(10.0), state(19.0), state(21.0)),
        ("ready".into(), "down".into(), "down".into(), "ready".into())
    );
}

#[test]
fn replicas_placed_at_the_start_are_ready_for_the_first_request() {
    let text = "duration: 2s
cluster:
  nodes: [ { name: n, cores: 2, memory: 8Gi } ]
services:
  a: { endpoints: { e: { work: 1ms } } }
workload:
  - { name: w, target: a.e, rate: 10/s, arrivals: deterministic }
";
    let r = run(text, 14);
    assert_eq!(r.workloads["w"].failed, 0, "{:?}", r.workloads["w"]);
}
