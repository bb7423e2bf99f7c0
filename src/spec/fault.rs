//! Top-level `faults:`, the chaos schedule of `shared/spec/format.md`: a
//! list of maps with `at`, `for`, `kind` and the kind's own keys.
//!
//! The keys of each kind are in `keys::FAULT`. Checked here: that
//! services exist (with a "did you mean"), that `for` is given for the
//! kinds that are windows (latency, errors, outage, partition, slowdown),
//! optional for `pauses` and refused for a crash (an instant), ratios in
//! range, and that `at` is before the end of the run (a window may run past
//! it: it is cut). `cache_flush` empties a keyed cache of `caches:`.
//! `evict` (an instant) and `node_down` (`for` optional: without it the
//! node never comes back) need `cluster:`; a `node_down`'s `node` is read
//! in `cluster`.
//!
//! Read after the services. What a fault does is the simulation's.

use super::decode::{Ctx, Fields, did_you_mean, listing, shown};
use super::keys::FAULT;
use super::topology::{Build, MAX_REPLICAS};
use super::yaml::Node;
use crate::engine::SimTime;
use crate::model::{Fault, FaultKind, OutageMode, ServiceId};

const MODES: [(&str, OutageMode); 2] = [("hang", OutageMode::Hang), ("refuse", OutageMode::Refuse)];

/// Reads `faults:` into `b.model.faults`.
pub(super) fn faults(b: &mut Build, n: &Node) {
    let Some(items) = b.cx.list(n, "faults", "a list of faults", FAULT.hint) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        if let Some(f) = fault(b, item, &format!("faults[{i}]")) {
            b.model.faults.push(f);
        }
    }
}

fn fault(b: &mut Build, n: &Node, path: &str) -> Option<Fault> {
    if n.as_map().is_none() {
        b.cx.fields(n, path, n.loc(), FAULT.variants[0]);
        return None;
    }
    let k = b.cx.variant_by_field(n, path, &FAULT)?;
    let kind = FAULT.tag_of(k);
    let f = b.cx.fields(n, path, n.loc(), FAULT.variants[k])?;
    let at = start(b, &f);
    let duration = match (kind, f.get("for")) {
        ("crash" | "cache_flush" | "evict", Some(d)) => {
            let msg =
                format!("a{} {kind} happens at one instant and has no 'for'", if kind == "evict" { "n" } else { "" });
            let hint = match kind {
                "crash" => "to bring the replicas back, write restart_after: 45s",
                "evict" => "evicted replicas are rescheduled at once, cold, wherever they fit",
                _ => "a flush empties the cache at once; it refills as requests miss",
            };
            b.cx.error(f.key("for").map_or(d.loc(), |k| k.loc()), &f.at("for"), msg, Some(hint.into()));
            None
        }
        ("crash" | "cache_flush" | "evict", None) => Some(None),
        ("pauses" | "node_down", d) => d.map_or(Some(None), |d| b.cx.positive_duration(d, &f.at("for")).map(Some)),
        (_, _) => {
            let hint = Some("how long it lasts, e.g. for: 3m");
            b.cx.require(&f, "for", hint).and_then(|d| b.cx.positive_duration(d, &f.at("for"))).map(Some)
        }
    };
    let kind = kind_of(b, &f, kind);
    Some(Fault { at: at?, duration: duration?, kind: kind? })
}

/// `at`, which must be before the end of the run.
fn start(b: &mut Build, f: &Fields) -> Option<SimTime> {
    let hint = Some("when it starts, from the start of the run, e.g. at: 10m");
    let n = b.cx.require(f, "at", hint)?;
    let at = b.cx.duration(n, &f.at("at"))?;
    let end = b.model.duration;
    if at >= end {
        let msg = format!("the fault starts at {at}, but the run ends at {end}");
        let hint = Some("start it earlier, or make the run longer with 'duration'".into());
        b.cx.error(n.loc(), &f.at("at"), msg, hint);
        return None;
    }
    Some(SimTime(at.0))
}

fn kind_of(b: &mut Build, f: &Fields, kind: &str) -> Option<FaultKind> {
    if matches!(kind, "evict" | "node_down") && !super::cluster::fault_needs_cluster(b, f, kind) {
        return None;
    }
    if kind == "node_down" {
        let hint = Some("the node that fails: a pool's name or POOL-N, e.g. node: general-1");
        let n = b.cx.require(f, "node", hint)?;
        let (pool, index) = super::cluster::node(b, n, &f.at("node"))?;
        return Some(FaultKind::NodeDown { pool, index });
    }
    if kind == "cache_flush" {
        let n = b.cx.require(f, "cache", Some("the keyed cache it empties, e.g. cache: menu-cache"))?;
        let name = b.cx.text(n, &f.at("cache"), "a cache name")?;
        if let Some(&cache) = b.keyed_caches.get(name) {
            return Some(FaultKind::CacheFlush { cache });
        }
        let names = || b.keyed_caches.keys().map(String::as_str);
        let msg =
            format!("no keyed cache '{}'{}", super::decode::shown(name), super::decode::did_you_mean(name, names()));
        let hint = if b.keyed_caches.is_empty() {
            "declare it under 'caches' (a cache with a fixed hit_ratio has no contents to flush)".into()
        } else {
            format!("caches: {}", super::decode::listing(names()))
        };
        b.cx.error(n.loc(), &f.at("cache"), msg, Some(hint));
        return None;
    }
    if kind == "partition" {
        let from = b.cx.require(f, "from", Some("the calling service")).and_then(|n| service(b, n, &f.at("from")));
        let to = b.cx.require(f, "to", Some("the called service")).and_then(|n| service(b, n, &f.at("to")));
        let mode = mode(b, f);
        let (from, to) = (from?, to?);
        if from == to {
            let at = f.get("to").map_or(f.at, Node::loc);
            b.cx.error(at, &f.at("to"), "a partition is between two different services", None);
            return None;
        }
        return Some(FaultKind::Partition { from, to, mode: mode? });
    }
    let service = b.cx.require(f, "service", Some("the service it hits, e.g. service: db"));
    let service = service.and_then(|n| self::service(b, n, &f.at("service")));
    let cx = &mut b.cx;
    let kind = match kind {
        "latency" => latency(cx, f, service?)?,
        "errors" => {
            let rate = cx.req(f, "rate", Ctx::probability)?;
            FaultKind::Errors { service: service?, rate }
        }
        "crash" => {
            let replicas = f.get("replicas").map_or(Some(1), |r| cx.u32(r, &f.at("replicas"), 1, MAX_REPLICAS));
            let restart = f.get("restart_after").map(|r| cx.positive_duration(r, &f.at("restart_after")));
            let restart_after = match restart {
                Some(r) => Some(r?),
                None => None,
            };
            FaultKind::Crash { service: service?, replicas: replicas?, restart_after }
        }
        "evict" => {
            let replicas = f.get("replicas").map_or(Some(1), |r| cx.u32(r, &f.at("replicas"), 1, MAX_REPLICAS));
            FaultKind::Evict { service: service?, replicas: replicas? }
        }
        "outage" => FaultKind::Outage { service: service?, mode: mode(b, f)? },
        "pauses" => {
            let (every, pause) = (cx.req(f, "every", Ctx::dist), cx.req(f, "pause", Ctx::dist));
            FaultKind::Pauses { service: service?, every: every?, pause: pause? }
        }
        _ => {
            let factor = cx.req(f, "factor", Ctx::positive)?;
            FaultKind::Slowdown { service: service?, factor }
        }
    };
    Some(kind)
}

fn latency(cx: &mut Ctx, f: &Fields, service: ServiceId) -> Option<FaultKind> {
    match (f.get("add"), f.get("multiply")) {
        (Some(a), None) => cx.dist(a, &f.at("add")).map(|add| FaultKind::LatencyAdd { service, add }),
        (None, Some(m)) => {
            cx.positive(m, &f.at("multiply")).map(|factor| FaultKind::LatencyMultiply { service, factor })
        }
        (Some(_), Some(m)) => {
            let msg = "a latency fault either adds or multiplies, not both";
            let hint = Some("write two faults to do both".into());
            cx.error(f.key("multiply").map_or(m.loc(), |k| k.loc()), &f.at("multiply"), msg, hint);
            None
        }
        (None, None) => {
            let msg =
                format!("a latency fault needs 'add' (e.g. add: 200ms) or 'multiply' (e.g. multiply: 3) in {}", f.path);
            cx.error(f.at, &f.path, msg, None);
            None
        }
    }
}

fn mode(b: &mut Build, f: &Fields) -> Option<OutageMode> {
    f.get("mode").map_or(Some(OutageMode::Hang), |m| b.cx.choice(m, &f.at("mode"), "mode", &MODES))
}

fn service(b: &mut Build, n: &Node, path: &str) -> Option<ServiceId> {
    let name = b.cx.text(n, path, "a service name")?;
    if let Some(id) = b.service_named(name) {
        return Some(id);
    }
    let names = || b.model.services.iter().map(|s| s.name.as_str());
    let mut hint = format!("services: {}", listing(names()));
    if name.contains('.') {
        hint = format!("a fault hits a whole service: write the service name only; {hint}");
    }
    let msg = format!("no service '{}'{}", shown(name), did_you_mean(name, names()));
    b.cx.error(n.loc(), path, msg, Some(hint));
    None
}
