//! `autoscale:` of a service (the Autoscaling section of
//! `shared/spec/format.md`) into a checked [`AutoscaleCfg`], optionally
//! starting from a Kubernetes `autoscaling/v2` HorizontalPodAutoscaler
//! manifest named by `hpa:` (read by `manifest`).
//!
//! Keys: `min` (default 1), `max` (required), `metrics` (default
//! `[ { cpu: 80% } ]`, as Kubernetes), `sync_period` (15s), `tolerance`
//! (10%, or `{ up, down }`), `metrics_delay` (30s), `startup`
//! (`lognormal(median=20s, p99=60s)`), `cpu_initialization_period` (5m),
//! `initial_readiness_delay` (30s), `downscale_stabilization` (5m: the
//! legacy window and the default `behavior.scale_down.stabilization`),
//! `behavior` (absent: the legacy controller path; present: every missing
//! field defaulted as Kubernetes does), `hpa`. Metrics: `{ cpu: 60% }`,
//! `{ cpu_cores: 500m }`, `{ in_flight: 50 }`, `{ rps: 100 }` (also
//! `100/s`), the last two per replica and KEDA-style (External
//! `AverageValue`) unless `source: pods`; `{ lag: 1000 }`, messages of the
//! queues the service consumes per replica, always External (checked
//! against the queues' consumer groups in `queues`).
//!
//! With `hpa:`, the manifest's settings come first and keys written next to
//! `hpa:` replace them (`min`, `max`, `metrics`, `behavior`, `tolerance`);
//! the other keys only exist here. Manifest metrics stormcast cannot model
//! are errors unless `metrics:` is written next to `hpa:`.
//!
//! Choices: `replicas` written on an autoscaled service outside
//! `[min, max]` is clamped into it, as the HPA does on its first sync, with
//! a note (so `--set …autoscale.min=6` works without raising `replicas`);
//! unwritten, the service starts at `min` (at least 1). `min: 0` needs every metric to be in_flight, rps
//! or lag of the External kind, as Kubernetes needs an Object or External metric
//! to scale to zero.

mod manifest;
#[cfg(test)]
mod tests;

use super::Diagnostic;
use super::decode::{Ctx, Fields, Loc, found};
use super::keys::{AUTOSCALE, BEHAVIOR, METRIC, RULES, SCALING_POLICY as POLICY, TOLERANCE};
use super::topology::MAX_REPLICAS;
use super::units::parse_rate;
use super::yaml::Node;
use crate::engine::SimDuration;
use crate::model::*;

const SELECT: [(&str, SelectPolicy); 3] =
    [("max", SelectPolicy::Max), ("min", SelectPolicy::Min), ("disabled", SelectPolicy::Disabled)];
const SOURCE: [(&str, MetricSource); 2] = [("external", MetricSource::External), ("pods", MetricSource::Pods)];
/// Largest utilization target accepted, in percent.
const MAX_TARGET_PCT: u64 = 100_000;
/// Largest policy value (Kubernetes' int32).
const MAX_POLICY_VALUE: u32 = i32::MAX as u32;

/// Where a setting was written (topology or manifest), for problems found
/// once everything is merged.
#[derive(Clone, Debug)]
pub(super) struct Site {
    file: String,
    loc: Loc,
    path: String,
}

impl Site {
    fn new(cx: &Ctx, loc: Loc, path: &str) -> Self {
        Site { file: cx.file.to_string(), loc, path: path.to_string() }
    }
}

/// Scaling rules as written: missing fields are defaulted later.
#[derive(Clone, Debug, Default)]
pub(super) struct RulesSpec {
    stabilization: Option<SimDuration>,
    select: Option<SelectPolicy>,
    policies: Option<Vec<ScalingPolicy>>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct BehaviorSpec {
    up: Option<RulesSpec>,
    down: Option<RulesSpec>,
}

impl BehaviorSpec {
    /// Kubernetes' defaulting: each missing field from the defaults.
    fn resolve(&self, downscale: SimDuration) -> Behavior {
        let fill = |r: &Option<RulesSpec>, d: ScalingRules| match r {
            None => d,
            Some(r) => ScalingRules {
                stabilization: r.stabilization.unwrap_or(d.stabilization),
                select: r.select.unwrap_or(d.select),
                policies: r.policies.clone().unwrap_or(d.policies),
            },
        };
        Behavior {
            scale_up: fill(&self.up, ScalingRules::default_up()),
            scale_down: fill(&self.down, ScalingRules::default_down(downscale)),
        }
    }
}

/// The settings a manifest can give and the block can replace.
#[derive(Debug, Default)]
pub(super) struct Settings {
    min: Option<(u32, Site)>,
    max: Option<(u32, Site)>,
    /// `max` was written (possibly wrongly), in the block or the manifest.
    max_written: bool,
    metrics: Option<(Vec<Metric>, Site)>,
    /// `None`: the legacy path.
    behavior: Option<BehaviorSpec>,
    tolerance_up: Option<f64>,
    tolerance_down: Option<f64>,
}

/// Reads a service's `autoscale:` if it has one, and sets the starting
/// `replicas` when they are not written.
/// `replicas_read`: the service's `replicas`, if written, was read without
/// a problem.
pub(super) fn service_autoscale(
    cx: &mut Ctx,
    svc: &Fields,
    replicas: &mut u32,
    replicas_read: bool,
) -> Option<AutoscaleCfg> {
    let n = svc.get("autoscale")?;
    let path = svc.at("autoscale");
    let at = svc.key("autoscale").map_or(n.loc(), |k| k.loc());
    let errors_before = cx.diags.len();
    let f = cx.fields(n, &path, at, &AUTOSCALE)?;
    let mut s = Settings::default();
    if let Some(h) = f.get("hpa") {
        // The manifest has 'maxReplicas', or says why it cannot be read.
        s.max_written = true;
        let skip_metrics = f.get("metrics").is_some();
        let skip_behavior = f.get("behavior").is_some();
        manifest::read(cx, h, &f.at("hpa"), skip_metrics, skip_behavior, &mut s);
    }
    block(cx, &f, &mut s);
    let cfg = finish(cx, &f, s)?;
    if cx.diags.len() > errors_before {
        return None;
    }
    match svc.get("replicas") {
        None => *replicas = cfg.min.max(1),
        Some(r) if replicas_read => {
            let clamped = (*replicas).clamp(cfg.min.max(1), cfg.max);
            if clamped != *replicas {
                let (side, bound) = if *replicas < cfg.min { ("below", "min") } else { ("above", "max") };
                let msg = format!(
                    "replicas ({replicas}) is {side} autoscale.{bound} ({}): the service starts at {clamped}, \
                     as Kubernetes' HPA scales it on its first sync",
                    if bound == "min" { cfg.min } else { cfg.max }
                );
                let hint = "write replicas within [min, max], or leave it out to start at 'min'".to_string();
                cx.note(r.loc(), &svc.at("replicas"), msg, Some(hint));
                *replicas = clamped;
            }
        }
        Some(_) => {}
    }
    Some(cfg)
}

/// The keys written in the topology's block, over the manifest's.
fn block(cx: &mut Ctx, f: &Fields, s: &mut Settings) {
    if let Some(n) = f.get("min") {
        let v = cx.u32(n, &f.at("min"), 0, MAX_REPLICAS);
        s.min = v.map(|v| (v, Site::new(cx, n.loc(), &f.at("min"))));
    }
    if let Some(n) = f.get("max") {
        s.max_written = true;
        let v = cx.u32(n, &f.at("max"), 1, MAX_REPLICAS);
        s.max = v.map(|v| (v, Site::new(cx, n.loc(), &f.at("max"))));
    }
    if let Some(n) = f.get("metrics") {
        let site = Site::new(cx, f.key("metrics").map_or(n.loc(), |k| k.loc()), &f.at("metrics"));
        s.metrics = metrics(cx, n, &f.at("metrics")).map(|m| (m, site));
    }
    if let Some(n) = f.get("tolerance") {
        tolerance(cx, n, &f.at("tolerance"), s);
    }
    if let Some(n) = f.get("behavior") {
        s.behavior = behavior(cx, n, &f.at("behavior"), f.key("behavior").map_or(n.loc(), |k| k.loc()));
    }
}

/// Merges, defaults and checks the settings.
fn finish(cx: &mut Ctx, f: &Fields, s: Settings) -> Option<AutoscaleCfg> {
    let dur = |cx: &mut Ctx, key: &str, default: SimDuration| match f.get(key) {
        Some(n) => cx.duration(n, &f.at(key)).unwrap_or(default),
        None => default,
    };
    let sync_period = match f.get("sync_period") {
        Some(n) => cx.positive_duration(n, &f.at("sync_period")).unwrap_or(DEFAULT_SYNC_PERIOD),
        None => DEFAULT_SYNC_PERIOD,
    };
    let metrics_delay = dur(cx, "metrics_delay", DEFAULT_METRICS_DELAY);
    let cpu_initialization_period = dur(cx, "cpu_initialization_period", DEFAULT_CPU_INITIALIZATION_PERIOD);
    let initial_readiness_delay = dur(cx, "initial_readiness_delay", DEFAULT_INITIAL_READINESS_DELAY);
    let downscale_stabilization = match f.get("downscale_stabilization") {
        Some(n) => window(cx, n, &f.at("downscale_stabilization")).unwrap_or(DEFAULT_DOWNSCALE_STABILIZATION),
        None => DEFAULT_DOWNSCALE_STABILIZATION,
    };
    let startup = match f.get("startup") {
        Some(n) => cx.dist(n, &f.at("startup")),
        None => default_startup(cx),
    };
    let Some((max, max_site)) = s.max else {
        if s.max_written {
            return None;
        }
        let hint = "write the most replicas the autoscaler may run, e.g. max: 20";
        cx.error(f.at, &f.path, format!("missing 'max' in {}", f.path), Some(hint.into()));
        return None;
    };
    let (min, min_site) = s.min.unwrap_or((1, Site::new(cx, f.at, &f.path)));
    let metrics = s.metrics.map_or(vec![Metric::Cpu { target_utilization_pct: DEFAULT_CPU_UTILIZATION_PCT }], |m| m.0);
    if min > max {
        let msg = format!("min ({min}) is larger than max ({max})");
        error_at(cx, &min_site, msg, Some(format!("{} sets max", max_site.path)));
    }
    let zero_ok = metrics.iter().all(|m| {
        matches!(
            m,
            Metric::InFlight { source: MetricSource::External, .. }
                | Metric::Rps { source: MetricSource::External, .. }
                | Metric::Lag { .. }
        )
    });
    if min == 0 && !zero_ok {
        let msg = "min: 0 needs every metric to be in_flight, rps or lag (External, as KEDA)";
        let hint = "Kubernetes scales to zero only on Object or External metrics; a cpu metric has no pods to measure";
        error_at(cx, &min_site, msg, Some(hint.into()));
    }
    let tolerance = Tolerance {
        up: s.tolerance_up.unwrap_or(DEFAULT_TOLERANCE),
        down: s.tolerance_down.unwrap_or(DEFAULT_TOLERANCE),
    };
    Some(AutoscaleCfg {
        min,
        max,
        metrics,
        sync_period,
        tolerance,
        metrics_delay,
        startup: startup?,
        cpu_initialization_period,
        initial_readiness_delay,
        downscale_stabilization,
        behavior: s.behavior.map(|b| b.resolve(downscale_stabilization)),
    })
}

fn error_at(cx: &mut Ctx, site: &Site, message: impl Into<String>, hint: Option<String>) {
    cx.diags.push(Diagnostic {
        file: site.file.clone(),
        line: site.loc.line,
        column: site.loc.col,
        path: site.path.clone(),
        message: message.into(),
        hint,
    });
}

fn default_startup(cx: &mut Ctx) -> Option<DistId> {
    let d = Dist::lognormal_quantile(DEFAULT_STARTUP_MEDIAN, 99.0, DEFAULT_STARTUP_P99).ok()?;
    cx.dists.push(d);
    Some(DistId((cx.dists.len() - 1) as u32))
}

/// A stabilization window: a duration of at most an hour.
fn window(cx: &mut Ctx, n: &Node, path: &str) -> Option<SimDuration> {
    let d = cx.duration(n, path)?;
    if d > MAX_STABILIZATION {
        cx.error(n.loc(), path, format!("must be at most {MAX_STABILIZATION}, found {d}"), None);
        return None;
    }
    Some(d)
}

fn tolerance(cx: &mut Ctx, n: &Node, path: &str, s: &mut Settings) {
    if n.as_map().is_none() {
        let v = cx.factor(n, path);
        (s.tolerance_up, s.tolerance_down) = (v, v);
        return;
    }
    let Some(f) = cx.fields(n, path, n.loc(), &TOLERANCE) else { return };
    if let Some(u) = f.get("up") {
        s.tolerance_up = cx.factor(u, &f.at("up"));
    }
    if let Some(d) = f.get("down") {
        s.tolerance_down = cx.factor(d, &f.at("down"));
    }
}

fn metrics(cx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<Metric>> {
    let items = cx.list(n, path, "a list of metrics", "write metrics: [ { cpu: 60% } ]")?;
    if items.is_empty() {
        cx.error(n.loc(), path, "no metrics: the autoscaler needs at least one", Some(METRIC.hint.into()));
        return None;
    }
    let read: Vec<Option<Metric>> =
        items.iter().enumerate().map(|(i, m)| metric(cx, m, &format!("{path}[{i}]"))).collect();
    read.into_iter().collect()
}

fn metric(cx: &mut Ctx, n: &Node, path: &str) -> Option<Metric> {
    let f = cx.fields(n, path, n.loc(), &METRIC)?;
    let kinds: Vec<&str> = METRIC.one_of.iter().copied().filter(|k| f.get(k).is_some()).collect();
    let [kind] = kinds[..] else {
        let msg = if kinds.is_empty() {
            format!("a metric needs one of {}", METRIC.one_of.join(", "))
        } else {
            format!("a metric has one kind, found {}", kinds.join(" and "))
        };
        cx.error(n.loc(), path, msg, Some("write one metric per list item".into()));
        return None;
    };
    let (v, vpath) = (f.get(kind)?, f.at(kind));
    let source = match f.get("source") {
        Some(s) if matches!(kind, "in_flight" | "rps") => cx.choice(s, &f.at("source"), "metric source", &SOURCE)?,
        Some(s) => {
            let msg = format!("'source' applies to in_flight and rps, not {kind}");
            cx.error(s.loc(), &f.at("source"), msg, None);
            return None;
        }
        None => MetricSource::External,
    };
    match kind {
        "cpu" => cpu_target(cx, v, &vpath).map(|target_utilization_pct| Metric::Cpu { target_utilization_pct }),
        "cpu_cores" => amount(cx, v, &vpath, false).map(|target_millicores| Metric::CpuAverage { target_millicores }),
        "in_flight" => {
            amount(cx, v, &vpath, false).map(|target_avg_milli| Metric::InFlight { target_avg_milli, source })
        }
        "lag" => amount(cx, v, &vpath, false).map(|target_avg_milli| Metric::Lag { target_avg_milli }),
        _ => amount(cx, v, &vpath, true).map(|target_avg_milli| Metric::Rps { target_avg_milli, source }),
    }
}

/// A whole percentage: `60%` or `0.6`.
fn cpu_target(cx: &mut Ctx, n: &Node, path: &str) -> Option<u32> {
    let text = cx.text(n, path, "a percentage such as 60%")?;
    let pct = match text.trim().strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok(),
        None => text.trim().parse::<f64>().ok().map(|r| r * 100.0),
    };
    let Some(pct) = pct.filter(|p| p.is_finite()) else {
        let msg = format!("expected a utilization target such as 60%, found {}", found(n));
        cx.error(n.loc(), path, msg, Some("a percentage of the replica's cpus: 60% or 0.6".into()));
        return None;
    };
    let whole = pct.round();
    if (pct - whole).abs() > 1e-6 || whole < 1.0 || whole > MAX_TARGET_PCT as f64 {
        let msg = format!("the cpu target must be a whole percentage from 1% to {MAX_TARGET_PCT}%, found {text}");
        cx.error(n.loc(), path, msg, Some("Kubernetes' averageUtilization is a whole number".into()));
        return None;
    }
    Some(whole as u32)
}

/// A positive per-replica amount in thousandths: `50`, `2.5`, `500m`,
/// and for rates also `100/s`.
fn amount(cx: &mut Ctx, n: &Node, path: &str, rate: bool) -> Option<u64> {
    let text = cx.text(n, path, "a number such as 50")?;
    let milli = if rate && text.contains('/') {
        parse_rate(text).map(|r| (r * 1000.0).round()).and_then(|m| {
            if m >= 1.0 && m < i64::MAX as f64 { Ok(m as i64) } else { Err(format!("rate '{text}' is out of range")) }
        })
    } else {
        manifest::quantity_milli(text)
    };
    match milli {
        Ok(m) if m >= 1 => Some(m as u64),
        Ok(_) => {
            cx.error(n.loc(), path, format!("must be larger than zero, found {text}"), None);
            None
        }
        Err(msg) => {
            let hint = if rate {
                "write requests per second per replica: 100, 2.5 or 6000/min"
            } else {
                "write a number such as 50 or 2.5"
            };
            cx.error(n.loc(), path, msg, Some(hint.into()));
            None
        }
    }
}

fn behavior(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<BehaviorSpec> {
    let f = cx.fields(n, path, at, &BEHAVIOR)?;
    let mut b = BehaviorSpec::default();
    if let Some(u) = f.get("scale_up") {
        b.up = rules(cx, u, &f.at("scale_up"));
    }
    if let Some(d) = f.get("scale_down") {
        b.down = rules(cx, d, &f.at("scale_down"));
    }
    Some(b)
}

fn rules(cx: &mut Ctx, n: &Node, path: &str) -> Option<RulesSpec> {
    let f = cx.fields(n, path, n.loc(), &RULES)?;
    let mut r = RulesSpec::default();
    if let Some(w) = f.get("stabilization") {
        r.stabilization = window(cx, w, &f.at("stabilization"));
    }
    if let Some(s) = f.get("select") {
        r.select = cx.choice(s, &f.at("select"), "select policy", &SELECT);
    }
    if let Some(p) = f.get("policies") {
        r.policies = policies(cx, p, &f.at("policies"));
    }
    Some(r)
}

fn policies(cx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<ScalingPolicy>> {
    let items = cx.list(n, path, "a list of policies", POLICY.hint)?;
    if items.is_empty() {
        let hint = "leave 'policies' out for Kubernetes' defaults, or write select: disabled to stop scaling";
        cx.error(n.loc(), path, "no policies: at least one is needed", Some(hint.into()));
        return None;
    }
    let read: Vec<Option<ScalingPolicy>> =
        items.iter().enumerate().map(|(i, p)| policy(cx, p, &format!("{path}[{i}]"))).collect();
    read.into_iter().collect()
}

fn policy(cx: &mut Ctx, n: &Node, path: &str) -> Option<ScalingPolicy> {
    let f = cx.fields(n, path, n.loc(), &POLICY)?;
    let (kind, key) = match (f.get("pods"), f.get("percent")) {
        (Some(_), None) => (PolicyKind::Pods, "pods"),
        (None, Some(_)) => (PolicyKind::Percent, "percent"),
        (p, _) => {
            let msg = if p.is_some() {
                "a policy has either 'pods' or 'percent', not both"
            } else {
                "a policy needs 'pods' or 'percent'"
            };
            cx.error(n.loc(), path, msg, Some(POLICY.hint.into()));
            return None;
        }
    };
    let value = cx.u32(f.get(key)?, &f.at(key), 1, MAX_POLICY_VALUE);
    let period = period(cx, &f);
    Some(ScalingPolicy { kind, value: value?, period: period? })
}

fn period(cx: &mut Ctx, f: &Fields) -> Option<SimDuration> {
    let n = cx.require(f, "period", Some("write how long the limit spans, e.g. period: 15s"))?;
    let d = cx.positive_duration(n, &f.at("period"))?;
    if d > MAX_POLICY_PERIOD {
        cx.error(n.loc(), &f.at("period"), format!("must be at most {MAX_POLICY_PERIOD}, found {d}"), None);
        return None;
    }
    Some(d)
}
