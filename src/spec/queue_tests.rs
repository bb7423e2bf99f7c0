//! Tests of `queues:`, the `publish` step and the `lag` metric.

use crate::engine::SimDuration;
use crate::model::*;
use crate::spec::{Diagnostic, Diagnostics, FileSource, LoadOptions, load_str};
use std::path::Path;

/// Serves one trace, `t.csv`, whose requests carry `CustomerId`, `Region`.
struct Trace;

impl FileSource for Trace {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        if path.ends_with("t.csv") {
            return Ok("TIMESTAMP,CustomerId,Region\n2023-11-16 18:15:10.5,7,1\n2023-11-16 18:15:11.5,9,2\n".into());
        }
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string()))
    }
}

fn load(text: &str) -> Result<Model, Diagnostics> {
    load_str("q.yaml", text, &LoadOptions { base_dir: ".".into(), files: &Trace })
}

fn ok(text: &str) -> Model {
    load(text).unwrap_or_else(|d| panic!("{}", d.render(text)))
}

/// The only problem of `text`, which must contain `needle`.
fn one_error(text: &str, needle: &str) -> Diagnostic {
    let errs = match load(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(d) => d.0,
    };
    assert_eq!(errs.len(), 1, "expected one problem, got {errs:#?}");
    assert!(errs[0].message.contains(needle), "'{}' does not contain '{needle}'", errs[0].message);
    errs.into_iter().next().unwrap()
}

/// `queues:` (from line 1), then `checkout` (whose `place` endpoint has
/// `steps`), `shipping` (scaled by `metrics`) and `audit`, and a trace
/// workload on `checkout.place`.
fn topology(queues: &str, steps: &str, metrics: &str) -> String {
    format!(
        "queues:\n{queues}services:\n  checkout:\n    endpoints:\n      place:\n        steps:\n{steps}  shipping:\n    \
         autoscale: {{ max: 8, metrics: {metrics} }}\n    endpoints:\n      ship: {{ work: 5ms }}\n      \
         track: {{ work: 1ms }}\n  audit:\n    endpoints:\n      log: {{ work: 1ms }}\nworkload:\n  - name: orders\n    \
         target: checkout.place\n    trace: {{ file: t.csv, column: TIMESTAMP, attributes: [ CustomerId, Region ] }}\n"
    )
}

const ORDERS: &str = "  orders:
    partitions: 6
    capacity: 100000
    when_full: block
    delivery: at_most_once
    visibility_timeout: 45s
    max_deliveries: 5
    retention: 7d
    latency: exp(2ms)
    consumers:
      - { endpoint: shipping.ship, concurrency: 4, mode: partitioned }
      - { endpoint: audit.log, group: auditors }
  events: {}
";

const PUBLISH: &str = "          - work: 1ms
          - publish: orders
            key: CustomerId
            timeout: 2s
            reply: { timeout: 3s }
          - publish: events
";

#[test]
fn a_queue_and_its_publishes_read_into_the_model() {
    let m = ok(&topology(ORDERS, PUBLISH, "[ { lag: 1000 } ]"));
    assert_eq!(m.queues.len(), 2);
    let q = &m.queues[0];
    assert_eq!(q.name, "orders");
    assert_eq!(
        (q.partitions, q.capacity, q.when_full, q.delivery),
        (6, Some(100_000), WhenFull::Block, Delivery::AtMostOnce)
    );
    assert_eq!((q.visibility_timeout, q.max_deliveries), (SimDuration::from_secs(45), 5));
    assert_eq!(q.retention, Some(SimDuration::from_secs(7 * 24 * 3600)));
    let lat = q.latency.expect("a broker latency");
    assert!((m.dist(lat).mean_ns() - 2e6).abs() < 1e-3, "{:?}", m.dist(lat));
    let (ship, log) = (&q.consumers[0], &q.consumers[1]);
    assert_eq!((ship.group.as_str(), ship.concurrency, ship.mode), ("shipping", 4, ConsumerMode::Partitioned));
    assert_eq!(m.endpoints[ship.endpoint.ix()].full_name, "shipping.ship");
    assert_eq!(m.services[ship.service.ix()].name, "shipping");
    assert_eq!((log.group.as_str(), log.concurrency, log.mode), ("auditors", 1, ConsumerMode::Competing));
    assert_eq!(m.services[log.service.ix()].name, "audit");
    // Every default.
    let e = &m.queues[1];
    assert_eq!((e.name.as_str(), e.partitions, e.capacity, e.when_full), ("events", 1, None, WhenFull::Reject));
    assert_eq!(
        (e.delivery, e.visibility_timeout, e.max_deliveries),
        (Delivery::AtLeastOnce, SimDuration::from_secs(30), 10)
    );
    assert!(e.retention.is_none() && e.latency.is_none() && e.consumers.is_empty());
    // The steps: work, publish (keyed, request-reply), publish, respond.
    let code = &m.endpoints[0].code;
    assert!(matches!(
        code[..],
        [Instr::Work(_), Instr::Publish(PublishId(0)), Instr::Publish(PublishId(1)), Instr::Respond]
    ));
    let keyed = Publish {
        queue: QueueId(0),
        key: Some(0),
        timeout: Some(SimDuration::from_secs(2)),
        reply: Some(SimDuration::from_secs(3)),
    };
    let plain = Publish { queue: QueueId(1), key: None, timeout: Some(SimDuration::from_secs(60)), reply: None };
    assert_eq!(m.publishes, [keyed, plain]);
    assert_eq!(m.attributes, ["CustomerId", "Region"]);
    let metrics = &m.services[1].autoscale.as_ref().expect("autoscaled").metrics;
    assert_eq!(metrics[..], [Metric::Lag { target_avg_milli: 1_000_000 }]);
}

#[test]
fn a_lag_metric_may_scale_a_consumer_to_zero() {
    let text = topology(ORDERS, PUBLISH, "[ { lag: 2.5 } ]").replace("{ max: 8,", "{ min: 0, max: 8,");
    let m = ok(&text);
    let a = m.services[1].autoscale.as_ref().expect("autoscaled");
    assert_eq!((a.min, &a.metrics[..]), (0, &[Metric::Lag { target_avg_milli: 2500 }][..]));
}

/// Where the problem is: line, column, YAML path.
fn at(d: &Diagnostic) -> (usize, usize, &str) {
    (d.line, d.column, d.path.as_str())
}

#[test]
fn a_consumer_names_an_endpoint_that_exists() {
    let q = "  orders:\n    consumers: [ { endpoint: shipping.shp } ]\n";
    let d =
        one_error(&topology(q, PUBLISH.replace("events", "orders").as_str(), "[ { cpu: 50% } ]"), "no endpoint 'shp'");
    assert_eq!(at(&d), (3, 39, "queues.orders.consumers[0].endpoint"));
    assert_eq!(d.hint.as_deref(), Some("did you mean 'shipping.ship'?"));
    let q = "  orders:\n    consumers: [ { endpoint: shiping.ship } ]\n";
    let d = one_error(&topology(q, "          - publish: orders\n", "[ { cpu: 50% } ]"), "no service 'shiping'");
    assert!(d.message.contains("did you mean 'shipping'?"), "{}", d.message);
    assert_eq!(at(&d), (3, 30, "queues.orders.consumers[0].endpoint"));
    // The lag metric says nothing more: the consumer's problem is the one.
    let d = one_error(&topology(q, "          - publish: orders\n", "[ { lag: 10 } ]"), "no service 'shiping'");
    assert_eq!(d.path, "queues.orders.consumers[0].endpoint");
}

#[test]
fn a_publish_names_a_declared_queue() {
    let d = one_error(&topology(ORDERS, "          - publish: ordres\n", "[ { lag: 5 } ]"), "no queue 'ordres'");
    assert!(d.message.contains("did you mean 'orders'?"), "{}", d.message);
    assert_eq!(d.hint.as_deref(), Some("queues: orders, events"));
    // queues: is line 1, ORDERS lines 2-14, the first step line 20.
    assert_eq!(at(&d), (20, 22, "services.checkout.endpoints.place.steps[0].publish"));
}

#[test]
fn partitions_start_at_one() {
    let q = "  orders:\n    partitions: 0\n";
    let d = one_error(&topology(q, "          - publish: orders\n", "[ { cpu: 50% } ]"), "must be at least 1, found 0");
    assert_eq!(at(&d), (3, 17, "queues.orders.partitions"));
    let q = "  orders:\n    partitions: 10001\n";
    one_error(&topology(q, "          - publish: orders\n", "[ { cpu: 50% } ]"), "must be at most 10000");
}

#[test]
fn a_reply_needs_its_timeout() {
    let steps = "          - publish: events\n            reply: {}\n";
    let d = one_error(&topology(ORDERS, steps, "[ { lag: 5 } ]"), "missing 'timeout'");
    assert_eq!(at(&d), (21, 13, "services.checkout.endpoints.place.steps[0].reply"));
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("reply: { timeout: 2s }")), "{:?}", d.hint);
    let steps = "          - { publish: events, reply: { timeout: 0s } }\n";
    let d = one_error(&topology(ORDERS, steps, "[ { lag: 5 } ]"), "must be longer than zero");
    assert_eq!(d.path, "services.checkout.endpoints.place.steps[0].reply.timeout");
    let steps = "          - { publish: events, on_failure: continue }\n";
    let d = one_error(&topology(ORDERS, steps, "[ { lag: 5 } ]"), "unknown key 'on_failure'");
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("publish, key, timeout, reply")), "{:?}", d.hint);
}

#[test]
fn a_key_is_an_attribute_of_the_requests() {
    let steps = "          - { publish: orders, key: CustomerID }\n";
    let d = one_error(&topology(ORDERS, steps, "[ { lag: 5 } ]"), "no workload carries an attribute 'CustomerID'");
    assert!(d.message.contains("(attributes: CustomerId, Region) — did you mean 'CustomerId'?"), "{}", d.message);
    assert_eq!(at(&d), (20, 37, "services.checkout.endpoints.place.steps[0].key"));
}

#[test]
fn group_names_are_unique_within_a_queue() {
    let q = "  orders:\n    consumers:\n      - { endpoint: shipping.ship }\n      - { endpoint: shipping.track }\n";
    let d = one_error(
        &topology(q, "          - publish: orders\n", "[ { lag: 5 } ]"),
        "two consumer groups named 'shipping'",
    );
    assert_eq!(
        d.message,
        "queue 'orders' has two consumer groups named 'shipping': queues.orders.consumers[0] (line 4, column 9) \
         and queues.orders.consumers[1]"
    );
    assert_eq!(at(&d), (5, 9, "queues.orders.consumers[1]"));
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("defaults to its endpoint's service")));
    let q = "  orders:\n    consumers:\n      - { endpoint: shipping.ship, group: g }\n      - { endpoint: audit.log, group: g }\n";
    let d = one_error(&topology(q, "          - publish: orders\n", "[ { lag: 5 } ]"), "two consumer groups named 'g'");
    assert_eq!(at(&d), (5, 39, "queues.orders.consumers[1].group"));
    assert!(d.message.contains("queues.orders.consumers[0].group (line 4, column 43)"), "{}", d.message);
    // Two queues may each have a group of the same name.
    let q =
        "  a:\n    consumers: [ { endpoint: shipping.ship } ]\n  b:\n    consumers: [ { endpoint: shipping.track } ]\n";
    ok(&topology(q, "          - publish: a\n", "[ { lag: 5 } ]"));
}

#[test]
fn a_lag_metric_needs_a_consumer_group_on_its_service() {
    let q = "  orders:\n    consumers: [ { endpoint: audit.log } ]\n";
    let d = one_error(
        &topology(q, "          - publish: orders\n", "[ { cpu: 50% }, { lag: 100 } ]"),
        "service 'shipping' consumes no queue: a lag metric needs a consumer group on it",
    );
    assert_eq!(at(&d), (11, 53, "services.shipping.autoscale.metrics[1].lag"));
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("endpoint: shipping.ship")), "{:?}", d.hint);
    let d = one_error(&topology(q, "          - publish: orders\n", "[ { lag: 0 } ]"), "larger than zero");
    assert_eq!(d.path, "services.shipping.autoscale.metrics[0].lag");
    let d =
        one_error(&topology(q, "          - publish: orders\n", "[ { lag: 5, source: pods } ]"), "'source' applies");
    assert_eq!(d.message, "'source' applies to in_flight and rps, not lag");
}

#[test]
fn other_problems_are_reported_with_their_keys() {
    let publish = "          - publish: orders\n";
    let cases = [
        ("  orders: { when_full: wait }\n", "unknown when_full rule 'wait'"),
        ("  orders: { delivery: exactly_once }\n", "unknown delivery guarantee 'exactly_once'"),
        ("  orders: { visibility_timeout: 0s }\n", "must be longer than zero"),
        ("  orders: { max_deliveries: 0 }\n", "must be at least 1"),
        ("  orders: { capacity: 0 }\n", "must be at least 1"),
        ("  orders: { retention: 0s }\n", "must be longer than zero"),
        ("  orders: { partitons: 3 }\n", "did you mean 'partitions'?"),
        ("  orders: { consumers: [ { endpoint: audit.log, mode: fanout } ] }\n", "unknown consumer mode 'fanout'"),
        ("  orders: { consumers: [ { endpoint: audit.log, concurrency: 0 } ] }\n", "must be at least 1"),
        ("  orders: { consumers: [ { group: g } ] }\n", "missing 'endpoint'"),
        ("  orders: { consumers: [ { endpoint: audit.log, group: 'a b' } ] }\n", "group name 'a b' is not a name"),
        ("  or.ders: {}\n", "queue name 'or.ders' is not a name"),
    ];
    for (queues, needle) in cases {
        let steps = if queues.contains("or.ders") { "          - work: 1ms\n" } else { publish };
        one_error(&topology(queues, steps, "[ { cpu: 50% } ]"), needle);
    }
    let d = one_error(&topology("  orders: 3\n", publish, "[ { cpu: 50% } ]"), "expected a queue (a map), found '3'");
    assert_eq!(d.path, "queues.orders");
    // `queues` not a map: one error, publishes naming queues say nothing more.
    let text = topology("", publish, "[ { cpu: 50% } ]").replace("queues:\n", "queues: [ orders ]\n");
    one_error(&text, "expected a map of queues, found a list");
}
