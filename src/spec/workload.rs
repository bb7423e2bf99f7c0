//! Workloads: open loop (`rate`, `arrivals`, `shape`) and closed loop
//! (`users`, `think`), as in the Workload section of
//! `shared/spec/format.md`. `stages`, `k6` and `prometheus` are read by
//! `import`; trace replay (`trace:`) by `trace`; the edge `client` by
//! `policy`, beside the call policies it resembles.

use super::decode::{Ctx, Fields, Loc, found};
use super::keys::{BURSTS, DIURNAL, RAMP, SHAPE, SPIKE, WORKLOAD};
use super::topology::Build;
use super::yaml::{Node, NodeKind};
use crate::engine::SimTime;
use crate::model::{Arrivals, Shape, Workload, WorkloadKind};
use std::collections::BTreeMap;

const ARRIVALS: [(&str, Arrivals); 3] =
    [("poisson", Arrivals::Poisson), ("uniform", Arrivals::Uniform), ("deterministic", Arrivals::Deterministic)];

/// Reads `workload:` (a list, or a single map) into `b.model.workloads`.
pub(super) fn workloads(b: &mut Build, n: &Node) {
    let items: Vec<(&Node, String)> = match &n.kind {
        NodeKind::Seq(s) => s.iter().enumerate().map(|(i, w)| (w, format!("workload[{i}]"))).collect(),
        NodeKind::Map(_) => vec![(n, "workload".to_string())],
        _ => {
            let msg = format!("expected a list of workloads, found {}", found(n));
            b.cx.error(n.loc(), "workload", msg, Some(WORKLOAD.hint.into()));
            return;
        }
    };
    if items.is_empty() {
        b.cx.error(n.loc(), "workload", "no workload: at least one is needed", Some(WORKLOAD.hint.into()));
    }
    let mut names: BTreeMap<&str, Loc> = BTreeMap::new();
    for (w, path) in items {
        if let Some(wl) = workload(b, w, &path) {
            b.model.workloads.push(wl);
        }
        let Some((k, name)) = w.as_map().and_then(|m| m.iter().find(|(k, _)| k.text == "name")) else {
            continue;
        };
        let Some(name) = name.as_str() else { continue };
        if let Some(first) = names.get(name) {
            let msg = format!("duplicate workload name '{name}' (first at line {}, column {})", first.line, first.col);
            b.cx.error(k.loc(), &format!("{path}.name"), msg, Some("workload names must be unique".into()));
        }
        names.entry(name).or_insert(k.loc());
    }
}

fn workload(b: &mut Build, n: &Node, path: &str) -> Option<Workload> {
    let f = b.cx.fields(n, path, n.loc(), &WORKLOAD)?;
    let name = b.cx.require(&f, "name", Some("give each workload a unique name, e.g. name: web"));
    let name = name.and_then(|nn| b.cx.text(nn, &f.at("name"), "a name"));
    let hint = Some("the endpoint requests are sent to, e.g. target: frontend.home");
    let target = b.cx.require(&f, "target", hint).and_then(|t| b.target(t, &f.at("target")));
    let client = match f.get("client") {
        Some(c) => super::policy::client(&mut b.cx, c, &f.at("client")).map(Some),
        None => Some(None),
    };
    if let Some(kind) = super::import::kind(&mut b.cx, &f, b.model.duration) {
        return Some(Workload { name: name?.to_string(), target: target?, kind: kind?, client: client? });
    }
    let kind = match (f.get("rate"), f.get("users")) {
        (Some(_), Some(u)) => {
            let msg = "a workload has either 'rate' (open loop) or 'users' (closed loop), not both";
            b.cx.error(u.loc(), &f.at("users"), msg, None);
            None
        }
        (Some(r), None) => open(&mut b.cx, &f, r),
        (None, Some(u)) => closed(&mut b.cx, &f, u),
        (None, None) => match f.get("trace") {
            Some(t) => {
                misplaced(&mut b.cx, &f, &["arrivals", "shape"], "open-loop (rate)");
                misplaced(&mut b.cx, &f, &["think"], "closed-loop (users)");
                super::trace::trace(&mut b.cx, t, &f.at("trace"), &mut b.model.attributes)
            }
            None => {
                let msg = format!("missing 'rate' (open loop), 'users' (closed loop) or 'trace' (replay) in {path}");
                let hint = Some("e.g. rate: 100/s, or users: 50 with think: exp(5s)".into());
                b.cx.error(f.at, path, msg, hint);
                None
            }
        },
    };
    if let (Some(t), Some(_)) = (f.key("trace"), f.get("rate").or(f.get("users"))) {
        let msg = "a workload replays a 'trace' or has a 'rate' or 'users', not both";
        b.cx.error(t.loc(), &f.at("trace"), msg, None);
        return None;
    }
    Some(Workload { name: name?.to_string(), target: target?, kind: kind?, client: client? })
}

pub(super) fn misplaced(cx: &mut Ctx, f: &Fields, keys: &[&str], mode: &str) {
    for key in keys {
        if let Some(k) = f.key(key) {
            let msg = format!("'{key}' applies to {mode} workloads only");
            cx.error(k.loc(), &f.at(key), msg, None);
        }
    }
}

fn open(cx: &mut Ctx, f: &Fields, r: &Node) -> Option<WorkloadKind> {
    misplaced(cx, f, &["think"], "closed-loop (users)");
    misplaced(cx, f, &["start_rate"], "'stages'");
    let rate = cx.rate(r, &f.at("rate"));
    let (arrivals, shape) = open_parts(cx, f);
    Some(WorkloadKind::Open { rate_per_s: rate?, arrivals: arrivals?, shape: shape? })
}

/// An open loop's `arrivals` and `shape`.
pub(super) fn open_parts(cx: &mut Ctx, f: &Fields) -> (Option<Arrivals>, Option<Vec<Shape>>) {
    let arrivals = match f.get("arrivals") {
        Some(a) => cx.choice(a, &f.at("arrivals"), "arrival process", &ARRIVALS),
        None => Some(Arrivals::Poisson),
    };
    let shape = match f.get("shape") {
        Some(s) => shapes(cx, s, &f.at("shape")),
        None => Some(Vec::new()),
    };
    (arrivals, shape)
}

fn closed(cx: &mut Ctx, f: &Fields, u: &Node) -> Option<WorkloadKind> {
    misplaced(cx, f, &["arrivals", "shape"], "open-loop (rate)");
    misplaced(cx, f, &["start_rate"], "'stages'");
    let users = cx.u32(u, &f.at("users"), 1, super::topology::MAX_USERS);
    let hint = Some("the pause between an answer and the user's next request, e.g. think: exp(5s) (or 0s)");
    let think = cx.require(f, "think", hint).and_then(|t| cx.dist(t, &f.at("think")));
    Some(WorkloadKind::Closed { users: users?, think: think?, schedule: None })
}

/// Every shape, or `None` if any is wrong (all are checked).
fn shapes(cx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<Shape>> {
    let items: Vec<(&Node, String)> = match &n.kind {
        NodeKind::Seq(s) => s.iter().enumerate().map(|(i, x)| (x, format!("{path}[{i}]"))).collect(),
        _ => vec![(n, path.to_string())],
    };
    let all: Vec<Option<Shape>> = items.into_iter().map(|(x, p)| shape(cx, x, &p)).collect();
    all.into_iter().collect()
}

fn shape(cx: &mut Ctx, n: &Node, path: &str) -> Option<Shape> {
    let f = cx.fields(n, path, n.loc(), &SHAPE)?;
    let kinds: Vec<&str> = SHAPE.one_of.iter().copied().filter(|k| f.get(k).is_some()).collect();
    let [kind] = kinds[..] else {
        if kinds.is_empty() && n.as_map().is_some_and(|m| !m.is_empty()) {
            return None; // its keys were reported as unknown
        }
        let msg = if kinds.is_empty() {
            format!("a shape needs one of: {}", SHAPE.one_of.join(", "))
        } else {
            format!("one shape per list item; this one has '{}' and '{}'", kinds[0], kinds[1])
        };
        cx.error(n.loc(), path, msg, Some("write each shape as its own list item starting with '- '".into()));
        return None;
    };
    let v = f.get(kind)?;
    let at = f.key(kind).map_or(n.loc(), |k| k.loc());
    let vpath = f.at(kind);
    match kind {
        "diurnal" => {
            let g = cx.fields(v, &vpath, at, &DIURNAL)?;
            diurnal(cx, &g)
        }
        "ramp" => {
            let g = cx.fields(v, &vpath, at, &RAMP)?;
            let (from, to) = (cx.req(&g, "from", Ctx::factor), cx.req(&g, "to", Ctx::factor));
            let over = cx.req(&g, "over", Ctx::positive_duration);
            let start = match g.get("at") {
                Some(a) => cx.duration(a, &g.at("at")),
                None => Some(crate::engine::SimDuration::ZERO),
            };
            Some(Shape::Ramp { from: from?, to: to?, over: over?, at: SimTime(start?.0) })
        }
        "spike" => {
            let g = cx.fields(v, &vpath, at, &SPIKE)?;
            let start = cx.req(&g, "at", Ctx::duration);
            let (dur, factor) = (cx.req(&g, "for", Ctx::positive_duration), cx.req(&g, "factor", Ctx::factor));
            Some(Shape::Spike { at: SimTime(start?.0), duration: dur?, factor: factor? })
        }
        "steps" => steps(cx, v, &vpath),
        _ => {
            let g = cx.fields(v, &vpath, at, &BURSTS)?;
            let (on, off) = (cx.req(&g, "on", Ctx::dist), cx.req(&g, "off", Ctx::dist));
            let factor = cx.req(&g, "factor", Ctx::factor);
            Some(Shape::Bursts { on: on?, off: off?, factor: factor? })
        }
    }
}

fn diurnal(cx: &mut Ctx, g: &Fields) -> Option<Shape> {
    let period = cx.req(g, "period", Ctx::positive_duration);
    let (min, max) = (cx.req(g, "min", Ctx::factor), cx.req(g, "max", Ctx::factor));
    let peak_at = match g.get("peak_at") {
        Some(p) => cx.duration(p, &g.at("peak_at")),
        None => Some(crate::engine::SimDuration::ZERO),
    };
    if let (Some(lo), Some(hi), Some(n)) = (min, max, g.get("min"))
        && lo > hi
    {
        cx.error(n.loc(), &g.at("min"), format!("min ({lo}) is larger than max ({hi})"), None);
        return None;
    }
    Some(Shape::Diurnal { period: period?, min: min?, max: max?, peak_at: peak_at? })
}

/// `[[0s, 1.0], [10m, 2.0]]`: times strictly increasing.
fn steps(cx: &mut Ctx, n: &Node, path: &str) -> Option<Shape> {
    let hint = "write steps: [ [0s, 1.0], [10m, 2.0] ] (from when, factor)";
    let items = cx.list(n, path, "a list of [time, factor] pairs", hint)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let pair = match item.as_seq() {
            Some([t, x]) => (cx.duration(t, &ipath), cx.factor(x, &ipath)),
            _ => {
                cx.error(
                    item.loc(),
                    &ipath,
                    format!("expected a [time, factor] pair, found {}", found(item)),
                    Some(hint.into()),
                );
                (None, None)
            }
        };
        let (Some(t), Some(x)) = pair else {
            ok = false;
            continue;
        };
        let t = SimTime(t.0);
        if out.last().is_some_and(|&(prev, _)| prev >= t) {
            cx.error(item.loc(), &ipath, "step times must increase", None);
            ok = false;
        }
        out.push((t, x));
    }
    ok.then_some(Shape::Steps(out))
}
