//! `hpa: path/to/hpa.yaml`: reads a Kubernetes `autoscaling/v2` (or
//! `v2beta2`) HorizontalPodAutoscaler manifest into [`Settings`]:
//! `minReplicas`, `maxReplicas`, `metrics`, `behavior` (stabilization
//! windows, `selectPolicy`, policies, `tolerance`).
//!
//! Metrics map to what stormcast models: `Resource`/`ContainerResource`
//! cpu with `Utilization` → cpu, with `AverageValue` → cpu_cores; `Pods`
//! metrics whose name says requests per second (`…per_second`, `rps`,
//! `qps`) → rps, in flight (`in_flight`, `concurrency`, `active_requests`)
//! → in_flight, both with the `Pods` semantics. Memory, other resources,
//! `Object` and `External` metrics are errors that say what to write
//! instead. Problems are reported in the manifest file, at their line and
//! column, with the manifest's YAML path (`spec.metrics[0].external`).

use super::{BehaviorSpec, RulesSpec, Settings, Site};
use crate::engine::SimDuration;
use crate::model::{DEFAULT_CPU_UTILIZATION_PCT, Metric, MetricSource, PolicyKind, ScalingPolicy, SelectPolicy};
use crate::spec::decode::{Ctx, Fields};
use crate::spec::keys::{Block, Key, Ty, key};
use crate::spec::topology::MAX_REPLICAS;
use crate::spec::yaml::{self, Node};
use crate::spec::{Diagnostic, resolve};

/// A block of a Kubernetes manifest: its keys are Kubernetes', so they
/// are listed for the unknown-key check only, never documented here.
const fn k8s(what: &'static str, hint: &'static str, keys: &'static [Key]) -> Block {
    Block { id: "hpa-manifest", what, hint, keys, also: None, one_of: &[] }
}

const fn any(name: &'static str) -> Key {
    key(name, Ty::Any, "", "")
}

static TOP: Block = k8s(
    "a HorizontalPodAutoscaler",
    "the file should hold one HorizontalPodAutoscaler, as `kubectl get hpa NAME -o yaml` prints it",
    &[any("apiVersion"), any("kind"), any("metadata"), any("spec"), any("status")],
);
static SPEC: Block = k8s(
    "spec",
    "spec has minReplicas, maxReplicas, metrics and behavior",
    &[any("scaleTargetRef"), any("minReplicas"), any("maxReplicas"), any("metrics"), any("behavior")],
);
static METRIC: Block = k8s(
    "a metric",
    "a metric is { type: Resource, resource: { name: cpu, target: { … } } }",
    &[any("type"), any("resource"), any("containerResource"), any("pods"), any("object"), any("external")],
);
static RESOURCE: Block = k8s(
    "a resource metric",
    "write { name: cpu, target: { type: Utilization, averageUtilization: 60 } }",
    &[any("name"), any("container"), any("target")],
);
static PODS: Block = k8s(
    "a pods metric",
    "write { metric: { name: http_requests_per_second }, target: { type: AverageValue, averageValue: 100 } }",
    &[any("metric"), any("target")],
);
static METRIC_ID: Block = k8s("a metric identifier", "write { name: … }", &[any("name"), any("selector")]);
static TARGET: Block = k8s(
    "a metric target",
    "write { type: Utilization, averageUtilization: 60 } or { type: AverageValue, averageValue: 100 }",
    &[any("type"), any("averageUtilization"), any("averageValue"), any("value")],
);
static BEHAVIOR: Block = k8s("behavior", "behavior has scaleUp and scaleDown", &[any("scaleUp"), any("scaleDown")]);
static RULES: Block = k8s(
    "scaling rules",
    "write { stabilizationWindowSeconds: 300, policies: [ { type: Percent, value: 100, periodSeconds: 15 } ] }",
    &[any("stabilizationWindowSeconds"), any("selectPolicy"), any("policies"), any("tolerance")],
);
static POLICY: Block = k8s(
    "a scaling policy",
    "write { type: Pods, value: 4, periodSeconds: 15 }",
    &[any("type"), any("value"), any("periodSeconds")],
);
const METRIC_TYPES: [(&str, &str); 5] = [
    ("Resource", "resource"),
    ("ContainerResource", "containerResource"),
    ("Pods", "pods"),
    ("Object", "object"),
    ("External", "external"),
];
const RESOURCE_TARGETS: [(&str, &str); 3] =
    [("Utilization", "averageUtilization"), ("AverageValue", "averageValue"), ("Value", "value")];
const PODS_TARGETS: [(&str, ()); 1] = [("AverageValue", ())];
const SELECT: [(&str, SelectPolicy); 3] =
    [("Max", SelectPolicy::Max), ("Min", SelectPolicy::Min), ("Disabled", SelectPolicy::Disabled)];
const POLICY_TYPES: [(&str, PolicyKind); 2] = [("Pods", PolicyKind::Pods), ("Percent", PolicyKind::Percent)];
const INSTEAD: &str = "write metrics: [ { rps: 100 } ] or [ { in_flight: 50 } ] next to hpa: in the topology's \
                       autoscale block; it replaces the manifest's metrics";

/// Reads the manifest `n` names into `s`. Metrics and behavior are skipped
/// when the topology writes its own.
pub(super) fn read(cx: &mut Ctx, n: &Node, path: &str, skip_metrics: bool, skip_behavior: bool, s: &mut Settings) {
    let Some(written) = cx.text(n, path, "the path of a HorizontalPodAutoscaler manifest") else {
        return;
    };
    let file = resolve(cx.base_dir, written);
    let text = match cx.files.read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("cannot read the HPA manifest '{written}': {e}");
            let hint = "the path is relative to the topology's folder";
            cx.error(n.loc(), path, msg, Some(hint.into()));
            return;
        }
    };
    let name = file.display().to_string();
    let parsed = yaml::parse(&text);
    let mut m = Ctx {
        file: &name,
        files: cx.files,
        base_dir: cx.base_dir,
        diags: Vec::new(),
        notes: Vec::new(),
        dists: Vec::new(),
        pers: Vec::new(),
    };
    for e in parsed.errors {
        m.diags.push(Diagnostic {
            file: name.clone(),
            line: e.line,
            column: e.col,
            path: e.path,
            message: e.message,
            hint: e.hint,
        });
    }
    if let Some(root) = &parsed.root {
        manifest(&mut m, root, skip_metrics, skip_behavior, s);
    }
    cx.diags.append(&mut m.diags);
    cx.notes.append(&mut m.notes);
}

fn manifest(cx: &mut Ctx, root: &Node, skip_metrics: bool, skip_behavior: bool, s: &mut Settings) {
    let Some(f) = cx.fields(root, "", root.loc(), &TOP) else { return };
    if let Some(v) = cx.require(&f, "apiVersion", Some("apiVersion: autoscaling/v2"))
        && let Some(t) = cx.text(v, "apiVersion", "an API version")
        && !matches!(t, "autoscaling/v2" | "autoscaling/v2beta2")
    {
        let hint = "`kubectl get hpa NAME -o yaml` prints autoscaling/v2 on current clusters";
        cx.error(v.loc(), "apiVersion", format!("stormcast reads autoscaling/v2 HPAs, found '{t}'"), Some(hint.into()));
    }
    if let Some(k) = cx.require(&f, "kind", Some("kind: HorizontalPodAutoscaler"))
        && let Some(t) = cx.text(k, "kind", "a kind")
        && t != "HorizontalPodAutoscaler"
    {
        cx.error(k.loc(), "kind", format!("expected kind HorizontalPodAutoscaler, found '{t}'"), None);
    }
    let Some(spec) = cx.require(&f, "spec", Some("an HPA's settings are under spec:")) else { return };
    let Some(sf) = cx.fields(spec, "spec", f.key("spec").map_or(spec.loc(), |k| k.loc()), &SPEC) else {
        return;
    };
    s.min = Some((1, Site::new(cx, sf.at, "spec")));
    if let Some(n) = sf.get("minReplicas") {
        s.min = cx.u32(n, "spec.minReplicas", 0, MAX_REPLICAS).map(|v| (v, Site::new(cx, n.loc(), "spec.minReplicas")));
    }
    s.max_written = true;
    if let Some(n) = cx.require(&sf, "maxReplicas", Some("maxReplicas is required")) {
        s.max = cx.u32(n, "spec.maxReplicas", 1, MAX_REPLICAS).map(|v| (v, Site::new(cx, n.loc(), "spec.maxReplicas")));
    }
    if !skip_metrics {
        let at = sf.key("metrics").map_or(sf.at, |k| k.loc());
        let list = match sf.get("metrics") {
            Some(n) => metrics(cx, n),
            None => Some(vec![Metric::Cpu { target_utilization_pct: DEFAULT_CPU_UTILIZATION_PCT }]),
        };
        s.metrics = list.map(|m| (m, Site::new(cx, at, "spec.metrics")));
    }
    if let Some(b) = sf.get("behavior") {
        behavior(cx, b, skip_behavior, s);
    }
}

fn metrics(cx: &mut Ctx, n: &Node) -> Option<Vec<Metric>> {
    let items = cx.list(n, "spec.metrics", "a list of metrics", METRIC.hint)?;
    if items.is_empty() {
        // Kubernetes' defaulting adds CPU at 80%.
        return Some(vec![Metric::Cpu { target_utilization_pct: DEFAULT_CPU_UTILIZATION_PCT }]);
    }
    let read: Vec<Option<Metric>> =
        items.iter().enumerate().map(|(i, m)| metric(cx, m, &format!("spec.metrics[{i}]"))).collect();
    read.into_iter().collect()
}

fn metric(cx: &mut Ctx, n: &Node, path: &str) -> Option<Metric> {
    let f = cx.fields(n, path, n.loc(), &METRIC)?;
    let t = cx.req(&f, "type", |cx, n, p| cx.choice(n, p, "metric type", &METRIC_TYPES))?;
    let hint = format!("a {t} metric is described under '{t}'");
    let body = cx.require(&f, t, Some(hint.as_str()))?;
    let bpath = f.at(t);
    match t {
        "resource" | "containerResource" => resource(cx, body, &bpath),
        "pods" => pods(cx, body, &bpath),
        _ => {
            let kind = if t == "object" { "Object" } else { "External" };
            let name = body.get("metric").and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("?");
            let msg = format!("stormcast cannot model {kind} metric '{name}' — use in_flight or rps");
            cx.error(f.key(t).map_or(body.loc(), |k| k.loc()), &bpath, msg, Some(INSTEAD.into()));
            None
        }
    }
}

fn resource(cx: &mut Ctx, n: &Node, path: &str) -> Option<Metric> {
    let f = cx.fields(n, path, n.loc(), &RESOURCE)?;
    let name_node = cx.require(&f, "name", Some("name: cpu"))?;
    let name = cx.text(name_node, &f.at("name"), "a resource name")?;
    if name != "cpu" {
        let msg = format!("stormcast models CPU only, not the '{name}' resource");
        let hint = "use a cpu target, or write metrics: next to hpa: in the topology's autoscale block";
        cx.error(name_node.loc(), &f.at("name"), msg, Some(hint.into()));
        return None;
    }
    let tn = cx.require(&f, "target", Some(TARGET.hint))?;
    let tf = cx.fields(tn, &f.at("target"), tn.loc(), &TARGET)?;
    match cx.req(&tf, "type", |cx, n, p| cx.choice(n, p, "target type", &RESOURCE_TARGETS))? {
        "averageUtilization" => {
            let v = cx.require(&tf, "averageUtilization", Some("averageUtilization: 60"))?;
            let pct = cx.u32(v, &tf.at("averageUtilization"), 1, i32::MAX as u32)?;
            Some(Metric::Cpu { target_utilization_pct: pct })
        }
        "averageValue" => quantity(cx, &tf, "averageValue").map(|m| Metric::CpuAverage { target_millicores: m }),
        _ => {
            let msg = "a resource metric's target is Utilization or AverageValue, not Value";
            cx.error(tn.loc(), &f.at("target"), msg, None);
            None
        }
    }
}

/// What a `Pods` metric measures, from its name.
fn pods_kind(name: &str) -> Option<&'static str> {
    let n = name.to_lowercase().replace('-', "_");
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if has(&["in_flight", "inflight", "concurren", "active_requests", "requests_active", "outstanding"]) {
        Some("in_flight")
    } else if has(&["per_second", "rps", "qps", "request_rate", "requests_rate"]) {
        Some("rps")
    } else {
        None
    }
}

fn pods(cx: &mut Ctx, n: &Node, path: &str) -> Option<Metric> {
    let f = cx.fields(n, path, n.loc(), &PODS)?;
    let mn = cx.require(&f, "metric", Some("metric: { name: http_requests_per_second }"))?;
    let mf = cx.fields(mn, &f.at("metric"), mn.loc(), &METRIC_ID)?;
    let name_node = cx.require(&mf, "name", None)?;
    let name = cx.text(name_node, &mf.at("name"), "a metric name")?;
    let Some(kind) = pods_kind(name) else {
        let msg = format!("cannot tell what the pods metric '{name}' measures: stormcast models rps and in_flight");
        let hint = "name it like http_requests_per_second or requests_in_flight, or ".to_string() + INSTEAD;
        cx.error(name_node.loc(), &mf.at("name"), msg, Some(hint));
        return None;
    };
    let tn = cx.require(&f, "target", Some(TARGET.hint))?;
    let tf = cx.fields(tn, &f.at("target"), tn.loc(), &TARGET)?;
    cx.req(&tf, "type", |cx, n, p| cx.choice(n, p, "target type (a pods metric has AverageValue)", &PODS_TARGETS))?;
    let milli = quantity(cx, &tf, "averageValue")?;
    let source = MetricSource::Pods;
    Some(match kind {
        "in_flight" => Metric::InFlight { target_avg_milli: milli, source },
        _ => Metric::Rps { target_avg_milli: milli, source },
    })
}

/// A positive Kubernetes quantity, in thousandths.
fn quantity(cx: &mut Ctx, f: &Fields, key: &str) -> Option<u64> {
    let n = cx.require(f, key, Some(format!("{key}: 100").as_str()))?;
    let text = cx.text(n, &f.at(key), "a quantity such as 100 or 500m")?;
    match quantity_milli(text) {
        Ok(m) if m >= 1 => Some(m as u64),
        Ok(_) => {
            cx.error(n.loc(), &f.at(key), format!("must be larger than zero, found {text}"), None);
            None
        }
        Err(msg) => {
            cx.error(n.loc(), &f.at(key), msg, Some("a Kubernetes quantity: 100, 2.5, 500m, 1k".into()));
            None
        }
    }
}

fn behavior(cx: &mut Ctx, n: &Node, skip: bool, s: &mut Settings) {
    let Some(f) = cx.fields(n, "spec.behavior", n.loc(), &BEHAVIOR) else { return };
    let mut b = BehaviorSpec::default();
    if let Some(u) = f.get("scaleUp") {
        b.up = rules(cx, u, "spec.behavior.scaleUp", &mut s.tolerance_up);
    }
    if let Some(d) = f.get("scaleDown") {
        b.down = rules(cx, d, "spec.behavior.scaleDown", &mut s.tolerance_down);
    }
    if !skip {
        s.behavior = Some(b);
    }
}

fn rules(cx: &mut Ctx, n: &Node, path: &str, tolerance: &mut Option<f64>) -> Option<RulesSpec> {
    let f = cx.fields(n, path, n.loc(), &RULES)?;
    let mut r = RulesSpec::default();
    if let Some(w) = f.get("stabilizationWindowSeconds") {
        r.stabilization =
            cx.u32(w, &f.at("stabilizationWindowSeconds"), 0, 3600).map(|s| SimDuration::from_secs(s.into()));
    }
    if let Some(p) = f.get("selectPolicy") {
        r.select = cx.choice(p, &f.at("selectPolicy"), "select policy", &SELECT);
    }
    if let Some(p) = f.get("policies") {
        r.policies = policies(cx, p, &f.at("policies"));
    }
    if let Some(t) = f.get("tolerance")
        && let Some(text) = cx.text(t, &f.at("tolerance"), "a quantity such as 0.05 or 50m")
    {
        match quantity_milli(text) {
            Ok(m) => *tolerance = Some(m as f64 / 1000.0),
            Err(msg) => cx.error(t.loc(), &f.at("tolerance"), msg, Some("a ratio such as 0.05 (5%)".into())),
        }
    }
    Some(r)
}

fn policies(cx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<ScalingPolicy>> {
    let items = cx.list(n, path, "a list of policies", POLICY.hint)?;
    if items.is_empty() {
        cx.error(n.loc(), path, "no policies: at least one is needed", Some(POLICY.hint.into()));
        return None;
    }
    let read: Vec<Option<ScalingPolicy>> =
        items.iter().enumerate().map(|(i, p)| policy(cx, p, &format!("{path}[{i}]"))).collect();
    read.into_iter().collect()
}

fn policy(cx: &mut Ctx, n: &Node, path: &str) -> Option<ScalingPolicy> {
    let f = cx.fields(n, path, n.loc(), &POLICY)?;
    let kind = cx.req(&f, "type", |cx, n, p| cx.choice(n, p, "policy type", &POLICY_TYPES));
    let value = cx.req(&f, "value", |cx, n, p| cx.u32(n, p, 1, i32::MAX as u32));
    let period = cx.req(&f, "periodSeconds", |cx, n, p| cx.u32(n, p, 1, 1800));
    Some(ScalingPolicy { kind: kind?, value: value?, period: SimDuration::from_secs(period?.into()) })
}

/// A Kubernetes quantity (`100`, `2.5`, `500m`, `1k`, `2Ki`, `1e3`) in
/// thousandths, rounded up as `Quantity.MilliValue` does. Negative
/// quantities are refused.
pub(super) fn quantity_milli(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let bad = || format!("'{t}' is not a quantity such as 100, 2.5 or 500m");
    let end = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+')).unwrap_or(t.len());
    let (num, suffix) = t.split_at(end);
    if t.starts_with('-') {
        return Err(format!("'{t}' must not be negative"));
    }
    let num = num.strip_prefix('+').unwrap_or(num);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return Err(format!("'{t}' is too large"));
    }
    let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| bad())? };
    let (exp10, mult): (i32, i128) = match suffix {
        "" => (0, 1),
        "n" => (-9, 1),
        "u" => (-6, 1),
        "m" => (-3, 1),
        "k" => (3, 1),
        "M" => (6, 1),
        "G" => (9, 1),
        "T" => (12, 1),
        "P" => (15, 1),
        "E" => (18, 1),
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let p = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|x| *x == suffix).unwrap_or(0) as u32;
            (0, 1024i128.pow(p + 1))
        }
        s if s.starts_with(['e', 'E']) => (s[1..].parse::<i32>().map_err(|_| bad())?, 1),
        _ => return Err(bad()),
    };
    let e = i64::from(exp10) + 3 - frac.len() as i64;
    let scaled = mantissa.checked_mul(mult).ok_or_else(|| format!("'{t}' is too large"))?;
    let milli = if scaled == 0 {
        Some(0)
    } else if e >= 0 {
        u32::try_from(e).ok().and_then(|e| 10i128.checked_pow(e)).and_then(|p| scaled.checked_mul(p))
    } else if e < -38 {
        Some(1) // a positive amount below one thousandth rounds up
    } else {
        let p = 10i128.pow((-e) as u32);
        Some(scaled / p + i128::from(scaled % p != 0))
    };
    milli.and_then(|m| i64::try_from(m).ok()).ok_or_else(|| format!("'{t}' is too large"))
}
