//! Tests of `autoscale:` and of HPA manifests served from memory.

use super::manifest::quantity_milli;
use crate::engine::SimDuration;
use crate::model::*;
use crate::spec::{Diagnostic, FileSource, LoadOptions, load_str};
use std::path::{Path, PathBuf};

/// Files served from memory, by path.
struct Files(Vec<(&'static str, String)>);

impl FileSource for Files {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        self.0
            .iter()
            .find(|(p, _)| Path::new(p) == path)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
}

/// A topology whose service `cart` has the given `autoscale:` block lines
/// (indented by 6) and extra service lines (indented by 4). The block
/// starts on line 5.
fn topo(block: &str, service: &str) -> String {
    format!(
        "services:\n  cart:\n    cpus: 2\n    autoscale:\n{block}{service}    endpoints:\n      get: {{ work: 5ms }}\n\
         workload:\n  - {{ name: web, target: cart.get, rate: 10/s }}\n"
    )
}

fn load_with(text: &str, files: Vec<(&'static str, String)>) -> Result<Model, Vec<Diagnostic>> {
    let files = Files(files);
    let opts = LoadOptions { base_dir: PathBuf::from("topo"), files: &files };
    load_str("shop.yaml", text, &opts).map_err(|d| d.0)
}

fn cfg(block: &str) -> (AutoscaleCfg, Model) {
    let m = load_with(&topo(block, ""), vec![]).unwrap_or_else(|d| panic!("{d:#?}"));
    (m.services[0].autoscale.clone().expect("autoscaled"), m)
}

fn errors(text: &str, files: Vec<(&'static str, String)>) -> Vec<Diagnostic> {
    match load_with(text, files) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(d) => d,
    }
}

/// The only problem of the block, which must contain `needle`.
fn one_error(block: &str, needle: &str) -> Diagnostic {
    let errs = errors(&topo(block, ""), vec![]);
    assert_eq!(errs.len(), 1, "expected one problem, got {errs:#?}");
    assert!(errs[0].message.contains(needle), "'{}' does not contain '{needle}'", errs[0].message);
    errs.into_iter().next().unwrap()
}

fn s(n: u64) -> SimDuration {
    SimDuration::from_secs(n)
}

fn pol(kind: PolicyKind, value: u32, period: u64) -> ScalingPolicy {
    ScalingPolicy { kind, value, period: s(period) }
}

#[test]
fn the_format_example_reads_as_written() {
    let (a, m) = cfg("      min: 2\n      max: 20\n      metrics: [ { cpu: 60% } ]\n      sync_period: 15s\n      \
         tolerance: 10%\n      metrics_delay: 30s\n      startup: lognormal(median=20s, p99=60s)\n      behavior:\n        \
         scale_up:   { stabilization: 0s, select: max,\n                      policies: [ { pods: 4, period: 15s }, \
         { percent: 100, period: 15s } ] }\n        scale_down: { stabilization: 5m, select: max,\n                      \
         policies: [ { percent: 100, period: 15s } ] }\n");
    assert_eq!((a.min, a.max), (2, 20));
    assert_eq!(a.metrics, [Metric::Cpu { target_utilization_pct: 60 }]);
    assert_eq!((a.sync_period, a.metrics_delay), (s(15), s(30)));
    assert_eq!(a.tolerance, Tolerance { up: 0.1, down: 0.1 });
    assert_eq!(m.dist(a.startup), &Dist::lognormal_quantile(s(20), 99.0, s(60)).unwrap());
    assert_eq!(a.behavior, Some(Behavior::defaulted(s(300))), "the example spells out Kubernetes' defaults");
    assert_eq!(m.services[0].replicas, 2, "starts at min");
}

#[test]
fn defaults_follow_kubernetes() {
    let (a, m) = cfg("      max: 5\n");
    assert_eq!((a.min, a.max, m.services[0].replicas), (1, 5, 1));
    assert_eq!(a.metrics, [Metric::Cpu { target_utilization_pct: 80 }], "no metric: cpu at 80%");
    assert_eq!(a.behavior, None, "no behavior: the legacy path");
    assert_eq!(a.tolerance, Tolerance::default());
    assert_eq!((a.sync_period, a.metrics_delay), (DEFAULT_SYNC_PERIOD, DEFAULT_METRICS_DELAY));
    assert_eq!((a.cpu_initialization_period, a.initial_readiness_delay), (s(300), s(30)));
    assert_eq!(a.downscale_stabilization, s(300));
    assert_eq!(
        m.dist(a.startup),
        &Dist::lognormal_quantile(DEFAULT_STARTUP_MEDIAN, 99.0, DEFAULT_STARTUP_P99).unwrap()
    );
}

#[test]
fn behavior_fields_are_defaulted_one_by_one() {
    let (a, _) = cfg("      max: 5\n      behavior: {}\n");
    assert_eq!(a.behavior, Some(Behavior::defaulted(s(300))));
    let (a, _) = cfg("      max: 5\n      downscale_stabilization: 2m\n      behavior: {}\n");
    assert_eq!(a.behavior.unwrap().scale_down.stabilization, s(120), "the flag fills a missing window");
    let (a, _) =
        cfg("      max: 5\n      behavior: { scale_down: { stabilization: 1m }, scale_up: { select: min } }\n");
    let b = a.behavior.unwrap();
    assert_eq!(b.scale_down, ScalingRules { stabilization: s(60), ..ScalingRules::default_down(s(300)) });
    assert_eq!(b.scale_up, ScalingRules { select: SelectPolicy::Min, ..ScalingRules::default_up() });
    let (a, _) = cfg(
        "      max: 5\n      behavior:\n        scale_down: { select: disabled, policies: [ { pods: 2, period: 1m } ] }\n",
    );
    let down = a.behavior.unwrap().scale_down;
    assert_eq!((down.select, down.policies), (SelectPolicy::Disabled, vec![pol(PolicyKind::Pods, 2, 60)]));
}

#[test]
fn metric_and_tolerance_forms() {
    let (a, _) = cfg(
        "      max: 5\n      metrics: [ { cpu: 0.6 }, { cpu_cores: 500m }, { cpu_cores: 1.5 }, { in_flight: 2.5 },\n        \
         { rps: 100/s }, { rps: 6000/min }, { rps: 40, source: pods }, { in_flight: 8, source: external } ]\n",
    );
    let ext = MetricSource::External;
    assert_eq!(
        a.metrics,
        [
            Metric::Cpu { target_utilization_pct: 60 },
            Metric::CpuAverage { target_millicores: 500 },
            Metric::CpuAverage { target_millicores: 1500 },
            Metric::InFlight { target_avg_milli: 2500, source: ext },
            Metric::Rps { target_avg_milli: 100_000, source: ext },
            Metric::Rps { target_avg_milli: 100_000, source: ext },
            Metric::Rps { target_avg_milli: 40_000, source: MetricSource::Pods },
            Metric::InFlight { target_avg_milli: 8000, source: ext },
        ]
    );
    let (a, _) = cfg("      max: 5\n      tolerance: 5%\n");
    assert_eq!(a.tolerance, Tolerance { up: 0.05, down: 0.05 });
    let (a, _) = cfg("      max: 5\n      tolerance: { up: 1% }\n");
    assert_eq!(a.tolerance, Tolerance { up: 0.01, down: 0.1 });
}

#[test]
fn replicas_and_min_zero() {
    let m = load_with(&topo("      min: 3\n      max: 9\n", "    replicas: 4\n"), vec![]).unwrap();
    assert_eq!(m.services[0].replicas, 4);
    // Outside [min, max]: clamped as the HPA's first sync would, with a note.
    let opts = LoadOptions { base_dir: "topo".into(), files: &Files(vec![]) };
    let text = topo("      min: 3\n      max: 9\n", "    replicas: 12\n");
    let loaded = crate::spec::load("shop.yaml", &text, &[], &opts).unwrap();
    assert_eq!(loaded.model.services[0].replicas, 9);
    let d = &loaded.notes.0[0];
    assert!(d.message.contains("replicas (12) is above autoscale.max (9): the service starts at 9"), "{}", d.message);
    assert_eq!((d.line, d.column, d.path.as_str()), (7, 15, "services.cart.replicas"));
    // The --set that used to fail: raising min above the written replicas.
    let text = topo("      min: 1\n      max: 9\n", "    replicas: 3\n");
    let sets = ["services.cart.autoscale.min=6".to_string()];
    let loaded = crate::spec::load("shop.yaml", &text, &sets, &opts).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(loaded.model.services[0].replicas, 6);
    assert!(loaded.notes.0[0].message.contains("below autoscale.min (6): the service starts at 6"));
    let (a, m) = cfg("      min: 0\n      max: 9\n      metrics: [ { rps: 50 } ]\n");
    assert_eq!((a.min, m.services[0].replicas), (0, 1), "scale to zero with a KEDA-style metric; starts at 1");
    let d = one_error("      min: 0\n      max: 9\n", "min: 0 needs every metric to be in_flight, rps or lag");
    assert_eq!((d.line, d.column, d.path.as_str()), (5, 12, "services.cart.autoscale.min"));
    one_error("      min: 0\n      max: 9\n      metrics: [ { rps: 5, source: pods } ]\n", "min: 0 needs");
}

#[test]
fn problems_are_positioned_with_hints() {
    let d = one_error("      min: 8\n      max: 4\n", "min (8) is larger than max (4)");
    assert_eq!((d.line, d.column, d.path.as_str()), (5, 12, "services.cart.autoscale.min"));
    let d = one_error("      min: 2\n", "missing 'max' in services.cart.autoscale");
    assert_eq!((d.line, d.column), (4, 5));
    let d = one_error("      max: 5\n      max_replicas: 5\n", "unknown key 'max_replicas'");
    assert!(d.hint.unwrap().contains("keys allowed in autoscale"));
    one_error("      max: 5\n      behaviour: {}\n", "did you mean 'behavior'?");
    one_error("      max: 5\n      behavior: { scale_up: { stabilisation: 1m } }\n", "did you mean 'stabilization'?");
    one_error(
        "      max: 5\n      behavior: { scale_up: { select: mx } }\n",
        "unknown select policy 'mx' — did you mean 'max'?",
    );
    one_error("      max: 5\n      behavior: { scale_up: { policies: [] } }\n", "no policies");
    let d = one_error(
        "      max: 5\n      behavior: { scale_up: { policies: [ { pods: 4, percent: 10, period: 15s } ] } }\n",
        "either 'pods' or 'percent', not both",
    );
    assert_eq!(d.path, "services.cart.autoscale.behavior.scale_up.policies[0]");
    one_error("      max: 5\n      behavior: { scale_up: { policies: [ { pods: 4 } ] } }\n", "missing 'period'");
    one_error(
        "      max: 5\n      behavior: { scale_up: { policies: [ { pods: 4, period: 31m } ] } }\n",
        "at most 30m",
    );
    one_error("      max: 5\n      behavior: { scale_up: { policies: [ { pods: 0, period: 1m } ] } }\n", "at least 1");
    one_error("      max: 5\n      behavior: { scale_down: { stabilization: 2h } }\n", "at most 1h");
    one_error("      max: 5\n      metrics: [ { cpu: 62.5% } ]\n", "whole percentage");
    one_error("      max: 5\n      metrics: [ { cpu: 0% } ]\n", "whole percentage from 1%");
    one_error("      max: 5\n      metrics: []\n", "no metrics");
    one_error("      max: 5\n      metrics: [ { cpu: 50%, rps: 10 } ]\n", "one kind, found cpu and rps");
    one_error(
        "      max: 5\n      metrics: [ { lag: 1000 } ]\n",
        "service 'cart' consumes no queue: a lag metric needs a consumer group on it",
    );
    one_error("      max: 5\n      metrics: [ { cpu: 50%, source: pods } ]\n", "'source' applies to in_flight and rps");
    one_error("      max: 5\n      metrics: [ { rps: 0 } ]\n", "larger than zero");
    one_error("      max: 5\n      metrics: [ { in_flight: lots } ]\n", "not a quantity");
    one_error("      max: 5\n      sync_period: 0s\n", "longer than zero");
    one_error("      max: 5\n      metrics_delay: 30\n", "no unit");
    one_error("      max: 5\n      startup: lognormal(median=20s)\n", "lognormal");
    one_error("      max: 5\n      tolerance: -5%\n", "negative");
    // Every problem at once.
    let errs = errors(&topo("      min: 9\n      max: 4\n      sync_period: 0s\n      metrics: []\n", ""), vec![]);
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

/// The Kubernetes docs' php-apache HPA, with behavior and a Pods metric.
const PHP_APACHE: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: php-apache
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: php-apache
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
  - type: Pods
    pods:
      metric:
        name: packets-per-second
      target:
        type: AverageValue
        averageValue: 1k
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - type: Percent
        value: 10
        periodSeconds: 60
      - type: Pods
        value: 4
        periodSeconds: 60
      selectPolicy: Min
    scaleUp:
      tolerance: 0.05
      policies:
      - type: Percent
        value: 100
        periodSeconds: 15
";

fn with_hpa(block: &str, manifest: &str) -> Result<Model, Vec<Diagnostic>> {
    let block = format!("      hpa: k8s/hpa.yaml\n{block}");
    load_with(&topo(&block, ""), vec![("topo/k8s/hpa.yaml", manifest.to_string())])
}

#[test]
fn hpa_manifest_php_apache() {
    let m = with_hpa("", PHP_APACHE).unwrap_or_else(|d| panic!("{d:#?}"));
    let a = m.services[0].autoscale.clone().unwrap();
    assert_eq!((a.min, a.max), (1, 10));
    assert_eq!(
        a.metrics,
        [
            Metric::Cpu { target_utilization_pct: 50 },
            Metric::Rps { target_avg_milli: 1_000_000, source: MetricSource::Pods },
        ]
    );
    assert_eq!(a.tolerance, Tolerance { up: 0.05, down: 0.1 });
    let b = a.behavior.unwrap();
    assert_eq!(
        b.scale_down,
        ScalingRules {
            stabilization: s(300),
            select: SelectPolicy::Min,
            policies: vec![pol(PolicyKind::Percent, 10, 60), pol(PolicyKind::Pods, 4, 60)],
        }
    );
    assert_eq!(
        b.scale_up,
        ScalingRules { policies: vec![pol(PolicyKind::Percent, 100, 15)], ..ScalingRules::default_up() },
        "window and select defaulted"
    );
}

#[test]
fn keys_next_to_hpa_still_apply() {
    let block = "      max: 20\n      startup: 5s\n      metrics_delay: 10s\n      tolerance: 2%\n";
    let m = with_hpa(block, PHP_APACHE).unwrap_or_else(|d| panic!("{d:#?}"));
    let a = m.services[0].autoscale.clone().unwrap();
    assert_eq!((a.min, a.max, a.metrics_delay), (1, 20, s(10)));
    assert_eq!(m.dist(a.startup), &Dist::Const(s(5)));
    assert_eq!(a.tolerance, Tolerance { up: 0.02, down: 0.02 });
    assert_eq!(a.behavior.unwrap().scale_down.select, SelectPolicy::Min, "the manifest's behavior");
    let m = with_hpa("      behavior: {}\n      metrics: [ { in_flight: 30 } ]\n", PHP_APACHE).unwrap();
    let a = m.services[0].autoscale.clone().unwrap();
    assert_eq!(a.behavior, Some(Behavior::defaulted(s(300))), "the block's behavior replaces the manifest's");
    assert_eq!(a.metrics.len(), 1);
    // Without behavior, the legacy path; minReplicas defaults to 1; metrics to cpu 80%.
    let bare = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 4\n";
    let a = with_hpa("", bare).unwrap().services[0].autoscale.clone().unwrap();
    assert_eq!((a.min, a.max, a.behavior, a.metrics), (1, 4, None, vec![Metric::Cpu { target_utilization_pct: 80 }]));
}

fn manifest_errors(block: &str, manifest: &str) -> Vec<Diagnostic> {
    with_hpa(block, manifest).err().unwrap_or_else(|| panic!("expected problems in:\n{manifest}"))
}

/// Line and column (1-based) of the first occurrence of `needle`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let (i, line) = text.lines().enumerate().find(|(_, l)| l.contains(needle)).expect("needle");
    (i + 1, line.find(needle).unwrap() + 1)
}

#[test]
fn unmodelled_manifest_metrics_are_errors_in_the_manifest() {
    let external = PHP_APACHE.replace(
        "  behavior:\n",
        "  - type: External\n    external:\n      metric:\n        name: queue_messages_ready\n      target:\n        \
         type: AverageValue\n        averageValue: 30\n  behavior:\n",
    );
    let errs = manifest_errors("", &external);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let d = &errs[0];
    assert_eq!(d.message, "stormcast cannot model External metric 'queue_messages_ready' — use in_flight or rps");
    assert_eq!(d.file, "topo/k8s/hpa.yaml");
    assert_eq!(d.path, "spec.metrics[2].external");
    assert_eq!((d.line, d.column), pos(&external, "external:"), "at the 'external' key");
    assert!(d.hint.as_deref().unwrap().contains("next to hpa:"));
    // Metrics written next to hpa: replace the manifest's, so no error.
    assert!(with_hpa("      metrics: [ { rps: 30 } ]\n", &external).is_ok());

    let memory = PHP_APACHE.replace("      name: cpu", "      name: memory");
    let errs = manifest_errors("", &memory);
    assert!(errs[0].message.contains("CPU only, not the 'memory' resource"), "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].path.as_str()), (pos(&memory, "memory").0, "spec.metrics[0].resource.name"));
    let object = PHP_APACHE.replace("  - type: Pods\n    pods:", "  - type: Object\n    object:");
    assert!(manifest_errors("", &object)[0].message.contains("cannot model Object metric 'packets-per-second'"));
    let opaque = PHP_APACHE.replace("packets-per-second", "queue-depth");
    assert!(
        manifest_errors("", &opaque)[0].message.contains("cannot tell what the pods metric 'queue-depth' measures")
    );
}

#[test]
fn manifest_problems_are_positioned() {
    let typo = PHP_APACHE.replace("  maxReplicas: 10", "  maxReplica: 10");
    let errs = manifest_errors("", &typo);
    assert_eq!(errs.len(), 1, "one error, not also 'missing': {errs:#?}");
    assert!(errs.iter().any(|d| d.message.contains("unknown key 'maxReplica' in spec — did you mean 'maxReplicas'?")));
    let v1 = PHP_APACHE.replace("autoscaling/v2", "autoscaling/v1");
    let d = &manifest_errors("", &v1)[0];
    assert_eq!((d.file.as_str(), d.line, d.column, d.path.as_str()), ("topo/k8s/hpa.yaml", 1, 13, "apiVersion"));
    let policy = PHP_APACHE.replace("periodSeconds: 15", "periodSeconds: 3600");
    let d = &manifest_errors("", &policy)[0];
    assert_eq!((d.line, d.path.as_str()), (pos(&policy, "3600").0, "spec.behavior.scaleUp.policies[0].periodSeconds"));
    let select = PHP_APACHE.replace("selectPolicy: Min", "selectPolicy: Minimum");
    assert!(manifest_errors("", &select)[0].message.contains("unknown select policy 'Minimum'"));
    let broken = manifest_errors("", "spec: [\n");
    assert!(broken[0].message.starts_with("invalid YAML"), "{broken:#?}");
    assert_eq!(broken[0].file, "topo/k8s/hpa.yaml");
    // The manifest's min against the topology's max.
    let d = &manifest_errors("      max: 0\n", PHP_APACHE)[0];
    assert_eq!((d.file.as_str(), d.path.as_str()), ("shop.yaml", "services.cart.autoscale.max"));
    let errs = manifest_errors("      max: 3\n", &PHP_APACHE.replace("minReplicas: 1", "minReplicas: 5"));
    assert_eq!((errs[0].file.as_str(), errs[0].path.as_str()), ("topo/k8s/hpa.yaml", "spec.minReplicas"));
    assert!(errs[0].message.contains("min (5) is larger than max (3)"));
}

#[test]
fn a_missing_manifest_is_reported_at_hpa() {
    let errs = errors(&topo("      hpa: k8s/nope.yaml\n", ""), vec![]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let d = &errs[0];
    assert!(d.message.contains("cannot read the HPA manifest 'k8s/nope.yaml'"), "{}", d.message);
    assert_eq!(
        (d.file.as_str(), d.line, d.column, d.path.as_str()),
        ("shop.yaml", 5, 12, "services.cart.autoscale.hpa")
    );
}

#[test]
fn kubernetes_quantities() {
    let ok = [
        ("100", 100_000),
        ("2.5", 2500),
        ("500m", 500),
        ("1k", 1_000_000),
        ("2Ki", 2_048_000),
        ("1e3", 1_000_000),
        ("1E", 1_000_000_000_000_000_000_000),
        ("0.0001", 1),
        ("1n", 1),
        ("+7", 7000),
        (" 0 ", 0),
    ];
    for (q, milli) in ok.iter().filter(|(_, m)| *m <= i64::MAX as i128) {
        assert_eq!(quantity_milli(q), Ok(*milli as i64), "{q}");
    }
    assert!(quantity_milli("1E").unwrap_err().contains("too large"));
    assert_eq!(quantity_milli("1.000000000000000000000000000000000000000"), Ok(1000), "trailing zeros");
    assert_eq!(quantity_milli("0.0000000000000000000000000000000000000000001"), Ok(1), "rounds up");
    assert_eq!(quantity_milli("1e-2147483648"), Ok(1));
    for bad in ["-1", "abc", "1.5.2", "", "5 parsecs", "1x", "m", "1e2147483647", "99999999999999999999999999999Ei"] {
        assert!(quantity_milli(bad).is_err(), "{bad}");
    }
}
