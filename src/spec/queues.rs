//! The top-level `queues:` map (asynchronous messaging), the `lag`
//! autoscaling metric's check and the `key` of `publish` steps.
//!
//! Order of reading: [`declare`] registers the queue names before the
//! services, so that `publish` steps (compiled with the services) can name
//! them; [`queues`] reads the queues' settings after the services, so that
//! consumers can name any endpoint; [`check_lag`] then checks that every
//! service scaled on `lag` consumes a queue; [`resolve_keys`] resolves the
//! publishes' `key` attributes once the workloads' attributes are known.
//!
//! Defaults: `partitions` 1, `capacity` unbounded, `when_full: reject`,
//! `delivery: at_least_once`, `visibility_timeout` 30 s (SQS's default),
//! `max_deliveries` 10, no `retention`, no broker `latency`, no consumers
//! (messages are accepted and discarded); per consumer `group` the
//! endpoint's service name, `concurrency` 1, `mode: competing`; per
//! publish `timeout` 60 s (Kafka's `max.block.ms`).

use super::decode::{Loc, did_you_mean, found, listing, shown};
use super::keys::{CONSUMER, MESSAGE_QUEUE};
use super::topology::{Build, check_name_text};
use super::yaml::Node;
use crate::engine::SimDuration;
use crate::model::{ConsumerGroup, ConsumerMode, Delivery, Queue, ServiceId, WhenFull};

/// Most partitions of a queue.
pub const MAX_PARTITIONS: u32 = 10_000;
/// Most deliveries of a message before the dead-letter queue.
pub const MAX_DELIVERIES: u32 = 1000;
/// Most consumers per replica of a consumer group.
pub const MAX_CONCURRENCY: u32 = 100_000;
/// SQS's default visibility timeout.
pub const DEFAULT_VISIBILITY_TIMEOUT: SimDuration = SimDuration::from_secs(30);
pub const DEFAULT_MAX_DELIVERIES: u32 = 10;
/// How long a publisher waits for room in a full `block` queue when its
/// step says nothing (Kafka's `max.block.ms`).
pub const DEFAULT_PUBLISH_TIMEOUT: SimDuration = SimDuration::from_secs(60);

const WHEN_FULL: [(&str, WhenFull); 3] =
    [("reject", WhenFull::Reject), ("block", WhenFull::Block), ("drop", WhenFull::Drop)];
const DELIVERY: [(&str, Delivery); 2] =
    [("at_least_once", Delivery::AtLeastOnce), ("at_most_once", Delivery::AtMostOnce)];
const MODE: [(&str, ConsumerMode); 2] =
    [("partitioned", ConsumerMode::Partitioned), ("competing", ConsumerMode::Competing)];

/// A queue with every default.
fn blank(name: &str) -> Queue {
    Queue {
        name: name.to_string(),
        partitions: 1,
        capacity: None,
        when_full: WhenFull::Reject,
        delivery: Delivery::AtLeastOnce,
        visibility_timeout: DEFAULT_VISIBILITY_TIMEOUT,
        max_deliveries: DEFAULT_MAX_DELIVERIES,
        retention: None,
        latency: None,
        consumers: Vec::new(),
    }
}

/// Registers the queue names (`QueueId` = position in the file).
pub(super) fn declare(b: &mut Build, n: &Node) {
    let Some(entries) = n.as_map() else {
        let msg = format!("expected a map of queues, found {}", found(n));
        b.cx.error(n.loc(), "queues", msg, Some(MESSAGE_QUEUE.hint.into()));
        b.queues_unreadable = true;
        return;
    };
    for (k, _) in entries {
        check_name_text(b, &k.text, k.loc(), &format!("queues.{}", k.text), "queue");
        let id = crate::model::QueueId(b.model.queues.len() as u32);
        b.queues_by_name.entry(k.text.clone()).or_insert(id);
        b.model.queues.push(blank(&k.text));
    }
}

/// Reads every queue's settings (after the services). Returns whether
/// every consumer group was read, so that [`check_lag`] says nothing
/// about a service whose consumer has a problem already reported.
pub(super) fn queues(b: &mut Build, n: &Node) -> bool {
    let Some(entries) = n.as_map() else { return false };
    let mut complete = true;
    for (i, (k, v)) in entries.iter().enumerate() {
        let path = format!("queues.{}", k.text);
        let mut q = blank(&k.text);
        complete &= queue(b, v, &path, k.loc(), &mut q);
        b.model.queues[i] = q;
    }
    complete
}

fn queue(b: &mut Build, v: &Node, path: &str, at: Loc, q: &mut Queue) -> bool {
    let Some(f) = b.cx.fields(v, path, at, &MESSAGE_QUEUE) else {
        return false;
    };
    if let Some(n) = f.get("partitions")
        && let Some(p) = b.cx.u32(n, &f.at("partitions"), 1, MAX_PARTITIONS)
    {
        q.partitions = p;
    }
    if let Some(n) = f.get("capacity") {
        q.capacity = b.cx.uint(n, &f.at("capacity"), 1, u64::MAX);
    }
    if let Some(n) = f.get("when_full")
        && let Some(w) = b.cx.choice(n, &f.at("when_full"), "when_full rule", &WHEN_FULL)
    {
        q.when_full = w;
    }
    if let Some(n) = f.get("delivery")
        && let Some(d) = b.cx.choice(n, &f.at("delivery"), "delivery guarantee", &DELIVERY)
    {
        q.delivery = d;
    }
    if let Some(n) = f.get("visibility_timeout")
        && let Some(d) = b.cx.positive_duration(n, &f.at("visibility_timeout"))
    {
        q.visibility_timeout = d;
    }
    if let Some(n) = f.get("max_deliveries")
        && let Some(d) = b.cx.u32(n, &f.at("max_deliveries"), 1, MAX_DELIVERIES)
    {
        q.max_deliveries = d;
    }
    if let Some(n) = f.get("retention") {
        q.retention = b.cx.positive_duration(n, &f.at("retention"));
    }
    if let Some(n) = f.get("latency") {
        q.latency = b.cx.dist(n, &f.at("latency"));
    }
    match f.get("consumers") {
        Some(n) => consumers(b, n, &f.at("consumers"), q),
        None => true,
    }
}

/// A consumer group as read, with where its name comes from.
struct Named {
    group: String,
    at: Loc,
    path: String,
    written: bool,
}

fn consumers(b: &mut Build, n: &Node, path: &str, q: &mut Queue) -> bool {
    let hint = "write consumers: [ { endpoint: shipping.ship, concurrency: 4 } ]";
    let Some(items) = b.cx.list(n, path, "a list of consumer groups", hint) else {
        return false;
    };
    let mut complete = true;
    let mut seen: Vec<Named> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let Some(f) = b.cx.fields(item, &ipath, item.loc(), &CONSUMER) else {
            complete = false;
            continue;
        };
        let hint = Some("the endpoint that handles the messages, e.g. endpoint: shipping.ship");
        let endpoint = b.cx.require(&f, "endpoint", hint).and_then(|e| b.target(e, &f.at("endpoint")));
        let written = match f.get("group") {
            Some(g) => match b.cx.text(g, &f.at("group"), "a group name") {
                Some(t) => {
                    check_name_text(b, t, g.loc(), &f.at("group"), "group");
                    Some((t.to_string(), g.loc()))
                }
                None => {
                    complete = false;
                    continue;
                }
            },
            None => None,
        };
        let concurrency = match f.get("concurrency") {
            Some(c) => b.cx.u32(c, &f.at("concurrency"), 1, MAX_CONCURRENCY).unwrap_or(1),
            None => 1,
        };
        let mode = match f.get("mode") {
            Some(m) => b.cx.choice(m, &f.at("mode"), "consumer mode", &MODE).unwrap_or(ConsumerMode::Competing),
            None => ConsumerMode::Competing,
        };
        let Some(endpoint) = endpoint else {
            complete = false;
            continue;
        };
        let service = b.model.service_of(endpoint);
        let this = match written {
            Some((group, at)) => Named { group, at, path: f.at("group"), written: true },
            None => {
                let group = b.model.services[service.ix()].name.clone();
                Named { group, at: item.loc(), path: ipath.clone(), written: false }
            }
        };
        if let Some(first) = seen.iter().find(|s| s.group == this.group) {
            let msg = format!(
                "queue '{}' has two consumer groups named '{}': {} (line {}, column {}) and {}",
                q.name, this.group, first.path, first.at.line, first.at.col, this.path
            );
            let hint = if first.written && this.written {
                "each group receives every message: give each group a name of its own"
            } else {
                "a group's name defaults to its endpoint's service: give one of them a 'group' of its own"
            };
            b.cx.error(this.at, &this.path, msg, Some(hint.into()));
        }
        q.consumers.push(ConsumerGroup { group: this.group.clone(), endpoint, service, concurrency, mode });
        seen.push(this);
    }
    complete
}

/// Every service scaled on `lag` must consume a queue. `complete`: every
/// consumer group was read (else a consumer with a problem may be the one
/// the metric counts on, and nothing more is said).
pub(super) fn check_lag(b: &mut Build, complete: bool) {
    let sites = std::mem::take(&mut b.lag_sites);
    if !complete {
        return;
    }
    let consumes = |s: ServiceId| b.model.queues.iter().any(|q| q.consumers.iter().any(|c| c.service == s));
    let mut errors = Vec::new();
    for (sid, at, path) in sites {
        if consumes(sid) {
            continue;
        }
        let svc = &b.model.services[sid.ix()];
        let ep = svc.endpoints.first().map_or("ENDPOINT", |e| b.model.endpoints[e.ix()].name.as_str());
        let msg = format!("service '{}' consumes no queue: a lag metric needs a consumer group on it", svc.name);
        let hint = format!(
            "add it to a queue's consumers (queues: {{ NAME: {{ consumers: [ {{ endpoint: {}.{ep} }} ] }} }}), \
             or scale on in_flight or rps",
            svc.name
        );
        errors.push((at, path, msg, hint));
    }
    for (at, path, msg, hint) in errors {
        b.cx.error(at, &path, msg, Some(hint));
    }
}

/// The `key` of each publish: an attribute the workloads' requests carry.
pub(super) fn resolve_keys(b: &mut Build) {
    for (id, at, path, name) in std::mem::take(&mut b.publish_keys) {
        let attributes = &b.model.attributes;
        if let Some(slot) = attributes.iter().position(|a| *a == name) {
            b.model.publishes[id.ix()].key = Some(slot as u16);
            continue;
        }
        let known = if attributes.is_empty() { "none".into() } else { listing(attributes.iter().map(String::as_str)) };
        let msg = format!(
            "no workload carries an attribute '{}' (attributes: {known}){}",
            shown(&name),
            did_you_mean(&name, attributes.iter().map(String::as_str))
        );
        let hint = format!(
            "the key picks the partition by the value of a request attribute: list it in a trace's attributes, \
             e.g. trace: {{ …, attributes: [ {} ] }}",
            shown(&name)
        );
        b.cx.error(at, &path, msg, Some(hint));
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
