//! Workloads whose traffic is written as k6 does or read from what users
//! already have: `stages:` in the workload, `k6:` (an options JSON, read by
//! `k6`) and `prometheus:` (a `query_range` response, read by
//! `prometheus`). Each becomes an open-loop rate over time (a
//! [`Shape::Linear`] on a rate equal to its peak) or, for k6's
//! virtual-user executors, closed-loop users with a schedule.
//!
//! What the imported files mean lives in `k6` and `prometheus`; this module
//! reads the workload's keys, the files (through the [`FileSource`]) and
//! places every problem at the key that caused it. It does not handle
//! `rate:` or `users:` workloads (`workload` does).
//!
//! [`FileSource`]: super::FileSource

use super::decode::{Ctx, Fields, found};
use super::k6::{self, Builder, Load};
use super::keys::{K6, PROMETHEUS, STAGE};
use super::workload::{misplaced, open_parts};
use super::yaml::Node;
use super::{prometheus, resolve};
use crate::engine::{SimDuration, SimTime};
use crate::model::{Dist, DistId, Profile, Shape, WorkloadKind};

/// The keys that give a workload its traffic, one per workload.
pub(super) const SOURCES: [&str; 6] = ["rate", "users", "stages", "k6", "prometheus", "trace"];

/// The workload's kind if it has `stages`, `k6` or `prometheus`;
/// `None` when it has none of them (the caller reads `rate`/`users`).
/// A note says so when the traffic stops before `run` (the file's duration).
pub(super) fn kind(cx: &mut Ctx, f: &Fields, run: SimDuration) -> Option<Option<WorkloadKind>> {
    let present: Vec<&str> = SOURCES.iter().copied().filter(|k| f.get(k).is_some()).collect();
    let source = *present.iter().find(|k| !matches!(**k, "rate" | "users" | "trace"))?;
    if present.len() > 1 {
        let other = present.iter().find(|k| **k != source).expect("two sources");
        let msg = format!("a workload has one source of traffic; this one has '{source}' and '{other}'");
        let hint = format!("keep one of {}", SOURCES.join(", "));
        cx.error(f.key(source).expect("present").loc(), &f.at(source), msg, Some(hint));
        return Some(None);
    }
    if source != "stages" {
        misplaced(cx, f, &["start_rate"], "'stages'");
    }
    let n = f.get(source).expect("present");
    let kind = match source {
        "stages" => stages(cx, f, n).and_then(|p| open(cx, f, p)),
        "k6" => from_k6(cx, f, n),
        _ => from_prometheus(cx, f, n).and_then(|p| open(cx, f, p)),
    };
    let profile = match &kind {
        Some(WorkloadKind::Open { shape, .. }) => shape.first().and_then(|s| match s {
            Shape::Linear(p) => Some(p),
            _ => None,
        }),
        Some(WorkloadKind::Closed { schedule, .. }) => schedule.as_ref(),
        Some(WorkloadKind::Trace(_)) | None => None,
    };
    if let Some(end) = profile.map(traffic_end)
        && end.0 < run.0
    {
        let msg = format!(
            "the traffic of '{source}' stops at {}, before the run ends ({run}): nothing arrives after it",
            SimDuration(end.0)
        );
        let hint = "stages, k6 scenarios and Prometheus samples stop at their end; shorten 'duration' to match";
        cx.note(f.key(source).expect("present").loc(), &f.at(source), msg, Some(hint.into()));
    }
    Some(kind)
}

/// When a profile falls to 0 for good.
fn traffic_end(p: &Profile) -> SimTime {
    let pts = p.points();
    let zeros = pts.iter().rev().take_while(|q| q.1 == 0.0).count();
    if zeros == 0 { SimTime::MAX } else { pts[pts.len() - zeros].0 }
}

/// An open loop at `rate` requests per second over time, with the
/// workload's own `arrivals` and `shape` on top.
fn open(cx: &mut Ctx, f: &Fields, rate: Profile) -> Option<WorkloadKind> {
    misplaced(cx, f, &["think"], "closed-loop (users)");
    let (arrivals, shape) = open_parts(cx, f);
    let peak = rate.max();
    let linear = if peak > 0.0 { rate.scaled(1.0 / peak) } else { rate };
    let mut all = vec![Shape::Linear(linear)];
    all.extend(shape?);
    Some(WorkloadKind::Open { rate_per_s: peak, arrivals: arrivals?, shape: all })
}

/// `stages: [ { duration: 1m, target: 500/s } … ]` from `start_rate`.
fn stages(cx: &mut Ctx, f: &Fields, n: &Node) -> Option<Profile> {
    let path = f.at("stages");
    let hint = "write stages: [ { duration: 1m, target: 500/s }, { duration: 5m, target: 500/s } ]";
    let items = cx.list(n, &path, "a list of stages", hint)?;
    if items.is_empty() {
        cx.error(n.loc(), &path, "no stages: at least one is needed", Some(hint.into()));
        return None;
    }
    let start = match f.get("start_rate") {
        Some(r) => rate_or_zero(cx, r, &f.at("start_rate")),
        None => Some(0.0),
    };
    let read: Vec<Option<(SimDuration, f64)>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{path}[{i}]");
            let g = cx.fields(item, &at, item.loc(), &STAGE)?;
            let d = cx.req(&g, "duration", Ctx::duration);
            let target = cx.req(&g, "target", rate_or_zero);
            Some((d?, target?))
        })
        .collect();
    let mut p = Builder::starting(SimTime::ZERO, start?);
    for (d, target) in read.into_iter().collect::<Option<Vec<_>>>()? {
        p.to(d, target);
    }
    p.stop("stages").ok()
}

/// A rate, where `0/s` (no traffic) is allowed too.
fn rate_or_zero(cx: &mut Ctx, n: &Node, path: &str) -> Option<f64> {
    let zero = n.as_str().and_then(|s| s.split_once('/')).is_some_and(|(count, per)| {
        count.trim().parse::<f64>() == Ok(0.0) && super::units::parse_rate(&format!("1/{}", per.trim())).is_ok()
    });
    if zero { Some(0.0) } else { cx.rate(n, path) }
}

/// Reads the file a `file:` key names.
fn file(cx: &mut Ctx, g: &Fields, what: &str) -> Option<(String, String)> {
    let n = cx.require(g, "file", Some("the path is relative to the topology's folder"))?;
    let written = cx.text(n, &g.at("file"), "a file path")?;
    match cx.files.read_to_string(&resolve(cx.base_dir, written)) {
        Ok(text) => Some((written.to_string(), text)),
        Err(e) => {
            let msg = format!("cannot read the {what} '{written}': {e}");
            cx.error(n.loc(), &g.at("file"), msg, Some("the path is relative to the topology's folder".into()));
            None
        }
    }
}

fn from_k6(cx: &mut Ctx, f: &Fields, n: &Node) -> Option<WorkloadKind> {
    let g = cx.fields(n, &f.at("k6"), n.loc(), &K6)?;
    let scenario = match g.get("scenario") {
        Some(s) => Some(cx.text(s, &g.at("scenario"), "a scenario name")?),
        None => None,
    };
    let (name, text) = file(cx, &g, "k6 options")?;
    let load = match k6::read(&text, scenario) {
        Ok(load) => load,
        Err(e) => {
            let (at, path) = match g.get("scenario").filter(|_| e.about_scenario) {
                Some(s) => (s.loc(), g.at("scenario")),
                None => (g.get("file").map_or(g.at, |x| x.loc()), g.at("file")),
            };
            cx.error(at, &path, format!("{name}: {}", e.message), e.hint);
            return None;
        }
    };
    match load {
        Load::Rate(p) => open(cx, f, p),
        Load::Users(p) => {
            misplaced(cx, f, &["arrivals", "shape"], "open-loop (rate)");
            let most = p.max().floor();
            if most > f64::from(super::topology::MAX_USERS) {
                let msg = format!("{name}: {most} virtual users, more than {}", super::topology::MAX_USERS);
                cx.error(g.at, &g.at("file"), msg, None);
                return None;
            }
            let think = match f.get("think") {
                Some(t) => cx.dist(t, &f.at("think"))?,
                None => {
                    cx.dists.push(Dist::Const(SimDuration::ZERO));
                    DistId((cx.dists.len() - 1) as u32)
                }
            };
            Some(WorkloadKind::Closed { users: most as u32, think, schedule: Some(p) })
        }
    }
}

fn from_prometheus(cx: &mut Ctx, f: &Fields, n: &Node) -> Option<Profile> {
    let g = cx.fields(n, &f.at("prometheus"), n.loc(), &PROMETHEUS)?;
    let scale = match g.get("scale") {
        Some(s) => cx.factor(s, &g.at("scale")),
        None => Some(1.0),
    };
    let series = match g.get("series") {
        Some(s) => labels(cx, s, &g.at("series")),
        None => Some(Vec::new()),
    };
    let (name, text) = file(cx, &g, "Prometheus response")?;
    match prometheus::read(&text, &series?) {
        Ok(p) => Some(p.scaled(scale?)),
        Err(e) => {
            let hint = "save it with curl 'http://prometheus:9090/api/v1/query_range?query=…&start=…&end=…&step=…'";
            cx.error(g.get("file").map_or(g.at, |x| x.loc()), &g.at("file"), format!("{name}: {e}"), Some(hint.into()));
            None
        }
    }
}

/// `{ job: menu-api, instance: a }`.
fn labels(cx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<(String, String)>> {
    let Some(entries) = n.as_map() else {
        let msg = format!("expected labels such as {{ job: menu-api }}, found {}", found(n));
        cx.error(n.loc(), path, msg, None);
        return None;
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let value = cx.text(v, &format!("{path}.{}", k.text), "a label value")?;
        out.push((k.text.clone(), value.to_string()));
    }
    Some(out)
}
