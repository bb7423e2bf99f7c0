//! Tests of `cluster:`, a service's `cpus` and `resources`, and the faults
//! on nodes (`evict`, `node_down`).

use crate::engine::SimDuration;
use crate::model::*;
use crate::spec::testing::NoFiles;
use crate::spec::{Diagnostic, Diagnostics, LoadOptions, load_str};

fn load(text: &str) -> Result<Model, Diagnostics> {
    load_str("c.yaml", text, &LoadOptions { base_dir: ".".into(), files: &NoFiles })
}

fn ok(text: &str) -> Model {
    load(text).unwrap_or_else(|d| panic!("{}", d.render(text)))
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(d) => d.0,
    }
}

/// The only problem of `text`, which must contain `needle`.
fn one_error(text: &str, needle: &str) -> Diagnostic {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one problem, got {errs:#?}");
    assert!(errs[0].message.contains(needle), "'{}' does not contain '{needle}'", errs[0].message);
    errs.into_iter().next().unwrap()
}

/// A topology: `cluster` (lines from 1, may be empty), then service
/// `cart` whose settings are `svc` (indented 4, from line 3 + lines of
/// `cluster`), then `faults`.
fn topo(cluster: &str, svc: &str, faults: &str) -> String {
    format!(
        "duration: 30m\n{cluster}services:\n  cart:\n{svc}    endpoints: {{ get: {{ work: 1ms }} }}\n\
         workload: [ {{ name: web, target: cart.get, rate: 10/s }} ]\n{faults}"
    )
}

const CLUSTER: &str = "cluster:\n  nodes:\n    - { name: general, cores: 8, memory: 32Gi, count: 3, max: 10 }\n";

fn cart(m: &Model) -> &Service {
    &m.services[0]
}

#[test]
fn a_full_cluster_block_is_read_into_the_model() {
    let cluster = r#"cluster:
  nodes:
    - { name: general, cores: 8, memory: 32Gi, count: 3, min: 2, max: 10,
        provision: "lognormal(median=90s, p99=4m)", cost_per_hour: 0.38 }
    - { name: big, cores: 32, memory: 500G, count: 0, max: 2, provision: 90s }
  cfs_period: 50ms
  scheduler: most_allocated
  scale_down: { after: 5m, utilization: 40% }
"#;
    let m = ok(&topo(cluster, "", ""));
    let c = m.cluster.as_ref().expect("a cluster");
    assert_eq!(c.pools.len(), 2);
    let g = &c.pools[0];
    assert_eq!(
        (g.name.as_str(), g.cpu_milli, g.memory, g.count, g.min, g.max, g.cost_per_hour),
        ("general", 8000, 32 << 30, 3, 2, 10, Some(0.38))
    );
    assert_eq!(g.cores(), 8);
    let d = &m.dists[g.provision.expect("a provision time").ix()];
    assert!((d.mean_ns() / 1e9 - 100.0).abs() < 20.0, "{}", d.mean_ns());
    let big = &c.pools[1];
    assert_eq!((big.cpu_milli, big.memory, big.count, big.min, big.max), (32_000, 500_000_000_000, 0, 0, 2));
    assert_eq!(m.dists[big.provision.unwrap().ix()].mean_ns(), 90e9);
    assert_eq!(big.cost_per_hour, None);
    assert_eq!(c.cfs_period, SimDuration::from_millis(50));
    assert_eq!(c.scheduler, Scoring::MostAllocated);
    assert_eq!(c.scale_down_after, SimDuration::from_secs(300));
    assert_eq!(c.scale_down_utilization, 0.4);
}

#[test]
fn defaults() {
    let m = ok(&topo("cluster:\n  nodes: [ { name: general, cores: 4, memory: 16Gi } ]\n", "", ""));
    let c = m.cluster.as_ref().unwrap();
    let p = &c.pools[0];
    assert_eq!((p.count, p.min, p.max, p.provision, p.cost_per_hour), (1, 1, 1, None, None));
    assert_eq!(c.cfs_period, SimDuration::from_millis(100));
    assert_eq!(c.scheduler, Scoring::LeastAllocated);
    assert_eq!((c.scale_down_after, c.scale_down_utilization), (SimDuration::from_secs(600), 0.5));
    let m = ok(&topo("cluster:\n  nodes: [ { name: g, cores: 4, memory: 16Gi, count: 3 } ]\n", "", ""));
    let p = &m.cluster.as_ref().unwrap().pools[0];
    assert_eq!((p.count, p.min, p.max), (3, 3, 3));
    // Service defaults, with or without a cluster.
    for m in [m.clone(), ok(&topo("", "", ""))] {
        let s = cart(&m);
        assert_eq!(s.cpus, 1);
        assert_eq!(s.resources, Resources { cpu_request_milli: 1000, ..Resources::default() });
        assert_eq!((s.memory_per_request, s.priority), (None, 0));
    }
}

#[test]
fn without_the_new_keys_nothing_changes() {
    let m = ok(&topo("", "    cpus: 3\n    replicas: 2\n", ""));
    assert!(m.cluster.is_none());
    let s = cart(&m);
    assert_eq!((s.cpus, s.replicas), (3, 2));
    assert_eq!(
        s.resources,
        Resources { cpu_request_milli: 3000, memory_request: 0, cpu_limit_milli: None, memory_limit: None }
    );
}

#[test]
fn cpus_as_a_quantity() {
    let read = |v: &str| {
        let m = ok(&topo("", &format!("    cpus: {v}\n"), ""));
        (cart(&m).cpus, cart(&m).resources.cpu_request_milli, cart(&m).resources.cpu_limit_milli)
    };
    assert_eq!(read("500m"), (1, 500, Some(500)));
    assert_eq!(read("0.5"), (1, 500, Some(500)));
    assert_eq!(read("1.5"), (2, 1500, Some(1500)));
    assert_eq!(read("1500m"), (2, 1500, Some(1500)));
    assert_eq!(read("2000m"), (2, 2000, None));
    assert_eq!(read("2"), (2, 2000, None));
    assert_eq!(read("2.0"), (2, 2000, None));
    one_error(&topo("", "    cpus: 0\n", ""), "must be at least 1, found 0");
    one_error(&topo("", "    cpus: -2\n", ""), "must be at least 1");
    one_error(&topo("", "    cpus: -0.5\n", ""), "must be at least 1");
    one_error(&topo("", "    cpus: 0m\n", ""), "must be larger than zero");
    one_error(&topo("", "    cpus: 0.0001\n", ""), "finer than a millicore");
    one_error(&topo("", "    cpus: 20000.5\n", ""), "at most 10000 cores");
}

#[test]
fn resources_requests_and_limits() {
    let res = |svc: &str| cart(&ok(&topo(CLUSTER, svc, ""))).resources;
    let r = res("    resources: { requests: { cpu: 500m, memory: 512Mi }, limits: { cpu: 1, memory: 1Gi } }\n");
    assert_eq!(
        r,
        Resources {
            cpu_request_milli: 500,
            memory_request: 512 << 20,
            cpu_limit_milli: Some(1000),
            memory_limit: Some(1 << 30)
        }
    );
    // A limit alone is the request too.
    let r = res("    resources: { limits: { cpu: 250m, memory: 256Mi } }\n");
    assert_eq!((r.cpu_request_milli, r.cpu_limit_milli), (250, Some(250)));
    assert_eq!((r.memory_request, r.memory_limit), (256 << 20, Some(256 << 20)));
    // `cpus` sets the threads; a written request or limit overrides what it implied.
    let m = ok(&topo(CLUSTER, "    cpus: 4\n    resources: { requests: { cpu: 0.25 } }\n", ""));
    assert_eq!(
        (cart(&m).cpus, cart(&m).resources.cpu_request_milli, cart(&m).resources.cpu_limit_milli),
        (4, 250, None)
    );
    let m = ok(&topo(CLUSTER, "    cpus: 500m\n    resources: { limits: { cpu: 2 } }\n", ""));
    assert_eq!(
        (cart(&m).cpus, cart(&m).resources.cpu_request_milli, cart(&m).resources.cpu_limit_milli),
        (1, 2000, Some(2000))
    );
    let m = ok(&topo(CLUSTER, "    cpus: 1.5\n    resources: { requests: { memory: 1Gi } }\n", ""));
    let r = cart(&m).resources;
    assert_eq!(
        (r.cpu_request_milli, r.cpu_limit_milli, r.memory_request, r.memory_limit),
        (1500, Some(1500), 1 << 30, None)
    );
    // Also without a cluster (the simulation ignores what it does not use).
    let m = ok(&topo("", "    memory_per_request: 2Mi\n    priority: -10\n", ""));
    assert_eq!((cart(&m).memory_per_request, cart(&m).priority), (Some(2 << 20), -10));
    let m = ok(&topo("", "    priority: 1000000\n", ""));
    assert_eq!(cart(&m).priority, 1_000_000);
}

#[test]
fn a_limit_below_its_request_is_an_error_at_the_limit() {
    let text = topo(CLUSTER, "    resources: { requests: { cpu: 500m }, limits: { cpu: 250m } }\n", "");
    let e = one_error(&text, "limits.cpu 250m is below requests.cpu 500m");
    assert_eq!(e.path, "services.cart.resources.limits.cpu");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("raise limits.cpu")), "{:?}", e.hint);
    let text = topo(CLUSTER, "    resources: { requests: { memory: 1Gi }, limits: { memory: 512Mi } }\n", "");
    let e = one_error(&text, "limits.memory 512Mi is below requests.memory 1Gi");
    assert_eq!(e.path, "services.cart.resources.limits.memory");
    let text = topo(CLUSTER, "    cpus: 500m\n    resources: { requests: { cpu: 1 } }\n", "");
    let e = one_error(&text, "cpus 500m is below requests.cpu 1");
    assert_eq!(e.path, "services.cart.cpus");
}

#[test]
fn memory_needs_a_unit_with_its_position() {
    let text = topo(CLUSTER, "    resources: { requests: { memory: 512 } }\n", "");
    let e = one_error(&text, "memory needs a unit: write 512Mi or 1Gi");
    assert_eq!(e.path, "services.cart.resources.requests.memory");
    assert_eq!((e.line, e.column), (7, 38));
    let e =
        one_error(&topo("cluster:\n  nodes: [ { name: g, cores: 4, memory: 16 } ]\n", "", ""), "memory needs a unit");
    assert_eq!((e.path.as_str(), e.line), ("cluster.nodes[0].memory", 3));
    one_error(&topo("", "    memory_per_request: -1Mi\n", ""), "negative");
    let m = ok(&topo("", "    memory_per_request: 0\n", ""));
    assert_eq!(cart(&m).memory_per_request, Some(0));
}

#[test]
fn a_request_larger_than_every_node_is_an_error() {
    let e = one_error(&topo(CLUSTER, "    cpus: 12\n", ""), "largest node (pool general) has 8");
    assert_eq!(
        e.message,
        "cpus requests 12 cores but the largest node (pool general) has 8: it would stay Pending forever"
    );
    assert_eq!(e.path, "services.cart.cpus");
    let text = topo(CLUSTER, "    resources: { requests: { cpu: 9 } }\n", "");
    let e = one_error(&text, "requests.cpu requests 9 cores but the largest node (pool general) has 8");
    assert_eq!(e.path, "services.cart.resources.requests.cpu");
    let text = topo(CLUSTER, "    resources: { limits: { memory: 40Gi } }\n", "");
    let e = one_error(&text, "requests 40Gi of memory but the largest node (pool general) has 32Gi");
    assert_eq!(e.path, "services.cart.resources.limits.memory");
    // Larger than one pool's node but fitting another's: fine.
    let two = "cluster:\n  nodes:\n    - { name: small, cores: 2, memory: 16Gi }\n    - { name: big, cores: 16, memory: 8Gi, count: 0, max: 3 }\n";
    ok(&topo(two, "    cpus: 12\n", ""));
    ok(&topo(two, "    resources: { requests: { memory: 12Gi } }\n", ""));
    let e =
        one_error(&topo(two, "    cpus: 12\n    resources: { requests: { memory: 12Gi } }\n", ""), "no node has both");
    assert!(e.message.contains("small has 2 cores and 16Gi; big has 16 cores and 8Gi"), "{}", e.message);
    // A pool that may never have a node (max 0) does not count.
    let none = "cluster:\n  nodes:\n    - { name: small, cores: 2, memory: 4Gi }\n    - { name: big, cores: 16, memory: 8Gi, count: 0, max: 0 }\n";
    one_error(&topo(none, "    cpus: 12\n", ""), "largest node (pool small) has 2");
    // Without a cluster, any request goes.
    ok(&topo("", "    cpus: 12\n", ""));
}

#[test]
fn cluster_mistakes() {
    let nodes = |pools: &str| topo(&format!("cluster:\n  nodes: [ {pools} ]\n"), "", "");
    one_error(&topo("cluster:\n  nodes: []\n", "", ""), "no node pools");
    one_error(&topo("cluster: { scheduler: least_allocated }\n", "", ""), "nodes");
    one_error(&nodes("{ name: g, cores: 4, memory: 1Gi, count: 3, max: 2 }"), "max (2) is below count (3)");
    one_error(&nodes("{ name: g, cores: 4, memory: 1Gi, min: 2 }"), "min (2) is above count (1)");
    one_error(&nodes("{ name: g, cores: 0, memory: 1Gi }"), "must be at least 1");
    one_error(&nodes("{ name: g, cores: 1.5, memory: 1Gi }"), "whole number");
    one_error(&nodes("{ name: g, memory: 1Gi }"), "cores");
    one_error(&nodes("{ cores: 2, memory: 1Gi }"), "name");
    one_error(&nodes("{ name: 'a b', cores: 2, memory: 1Gi }"), "is not a name");
    let e = one_error(
        &nodes("{ name: g, cores: 2, memory: 1Gi }, { name: g, cores: 4, memory: 2Gi }"),
        "two node pools named 'g'",
    );
    assert_eq!(e.path, "cluster.nodes[1].name");
    one_error(&nodes("{ name: g, cores: 2, memory: 1Gi, cost_per_hour: -1 }"), "negative");
    one_error(&nodes("{ name: g, cores: 2, memory: 1Gi, provision: soon }"), "");
    let c = |rest: &str| topo(&format!("cluster:\n  nodes: [ {{ name: g, cores: 2, memory: 1Gi }} ]\n{rest}"), "", "");
    one_error(&c("  cfs_period: 2s\n"), "cfs_period is at most 1s");
    one_error(&c("  cfs_period: 0s\n"), "longer than zero");
    one_error(&c("  scheduler: bin_packing\n"), "unknown scheduler scoring 'bin_packing'");
    one_error(&c("  scale_down: { utilization: 150% }\n"), "outside [0, 1]");
    one_error(&c("  scale_down: { after: 10 }\n"), "no unit");
    one_error(&c("  nodez: 1\n"), "nodez");
}

const FAULTS_CLUSTER: &str = "cluster:\n  nodes:\n    - { name: general, cores: 8, memory: 32Gi, count: 3, max: 10 }\n    - { name: gpu-2, cores: 8, memory: 32Gi }\n";

#[test]
fn evict_and_node_down() {
    let faults = "faults:\n  - { at: 5m, kind: evict, service: cart, replicas: 2 }\n  - { at: 6m, kind: evict, service: cart }\n  \
                  - { at: 10m, for: 5m, kind: node_down, node: general-1 }\n  - { at: 10m, kind: node_down, node: general }\n  \
                  - { at: 10m, kind: node_down, node: general-9 }\n  - { at: 10m, kind: node_down, node: gpu-2 }\n";
    let m = ok(&topo(FAULTS_CLUSTER, "", faults));
    let f = &m.faults;
    let svc = ServiceId(0);
    assert_eq!((f[0].duration, &f[0].kind), (None, &FaultKind::Evict { service: svc, replicas: 2 }));
    assert_eq!(f[1].kind, FaultKind::Evict { service: svc, replicas: 1 });
    assert_eq!(
        (f[2].duration, &f[2].kind),
        (Some(SimDuration::from_secs(300)), &FaultKind::NodeDown { pool: PoolId(0), index: Some(1) })
    );
    assert_eq!((f[3].duration, &f[3].kind), (None, &FaultKind::NodeDown { pool: PoolId(0), index: None }));
    assert_eq!(f[4].kind, FaultKind::NodeDown { pool: PoolId(0), index: Some(9) });
    assert_eq!(f[5].kind, FaultKind::NodeDown { pool: PoolId(1), index: None }, "a pool's own name wins");
    assert_eq!((f[0].kind.word(), f[2].kind.word()), ("evict", "node_down"));
}

#[test]
fn fault_mistakes() {
    let one =
        |item: &str, needle: &str| one_error(&topo(FAULTS_CLUSTER, "", &format!("faults:\n  - {item}\n")), needle);
    one("{ at: 5m, for: 1m, kind: evict, service: cart }", "an evict happens at one instant and has no 'for'");
    one("{ at: 5m, kind: evict, service: cart, replicas: 0 }", "must be at least 1");
    one("{ at: 5m, kind: evict, service: carts }", "no service 'carts'");
    one("{ at: 5m, kind: evict }", "service");
    let e = one(
        "{ at: 5m, kind: node_down, node: general-10 }",
        "pool general has at most 10 nodes, general-0 to general-9",
    );
    assert_eq!(e.path, "faults[0].node");
    one("{ at: 5m, kind: node_down, node: generl }", "no node pool 'generl' — did you mean 'general'?");
    one("{ at: 5m, kind: node_down, node: generl-1 }", "no node pool 'generl'");
    one("{ at: 5m, kind: node_down }", "node");
    one("{ at: 5m, for: 0s, kind: node_down, node: general }", "longer than zero");
    // Without a cluster.
    for item in ["{ at: 5m, kind: evict, service: cart }", "{ at: 5m, kind: node_down, node: general }"] {
        let e =
            one_error(&topo("", "", &format!("faults:\n  - {item}\n")), "needs nodes: this topology has no 'cluster:'");
        assert_eq!(e.path, "faults[0].kind");
    }
}

#[test]
fn every_problem_of_a_file_at_once() {
    let cluster =
        "cluster:\n  nodes:\n    - { name: general, cores: 8, memory: 32, count: 3, max: 2 }\n  cfs_period: 5s\n";
    let svc = "    cpus: 0m\n    resources: { requests: { cpu: 500m, memory: 1Gi }, limits: { cpu: 250m, memory: 1 } }\n    \
               memory_per_request: 2\n    priority: high\n";
    let faults = "faults:\n  - { at: 5m, for: 1m, kind: evict, service: cart }\n  - { at: 5m, kind: node_down, node: general-1 }\n";
    let errs = errors(&topo(cluster, svc, faults));
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "cluster.nodes[0].memory",
            "cluster.nodes[0].max",
            "cluster.cfs_period",
            "services.cart.cpus",
            "services.cart.resources.limits.cpu",
            "services.cart.resources.limits.memory",
            "services.cart.memory_per_request",
            "services.cart.priority",
            "faults[0].for",
        ],
        "{errs:#?}"
    );
}
