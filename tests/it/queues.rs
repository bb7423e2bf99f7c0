//! Queues and consumer groups against queueing theory and conservation:
//! one partition and one exponential consumer is M/M/1 from publish to
//! processed; partitions cap a group's parallelism while competing
//! consumers make M/M/c; an outage builds lag at the publish rate and
//! drains at capacity − rate; at-least-once conserves messages; a full
//! queue pushes errors back; a crashed consumer's messages return after
//! the visibility timeout; request-reply waits for the consumer; lag
//! drives the autoscaler. Every run checks invariants.

use crate::common::{load_yaml, options, run_checked, show};
use crate::formulas::{MM1, MMc};
use stormcast::metrics::RunResult;
use stormcast::sim::RunOptions;

fn run_with(text: &str, opts: &RunOptions) -> RunResult {
    let m = load_yaml("queues.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    run_checked(&m, opts)
}

fn run(text: &str, seed: u64) -> RunResult {
    run_with(text, &options(seed, None))
}

/// A producer that publishes to `orders` at `rate`; consumers as given.
fn topology(rate: &str, arrivals: &str, queue: &str, consumer: &str, secs: u32) -> String {
    format!(
        "duration: {secs}s
warmup: 5s
services:
  shop: {{ cpus: 8, endpoints: {{ checkout: {{ steps: [ {{ publish: orders }} ] }} }} }}
  worker:
{consumer}
queues:
  orders: {queue}
workload: [ {{ name: w, target: shop.checkout, rate: {rate}, arrivals: {arrivals} }} ]
"
    )
}

/// Mean of the time to processed, ms, and the group's figures.
fn ttp_mean(r: &RunResult) -> f64 {
    r.queues["orders"].time_to_processed_ms.mean.expect("messages processed")
}

/// Over n ≈ 300k messages the sd of a mean sojourn at ρ = 0.8 is about
/// mean · sqrt((1+ρ)/(1−ρ)) / sqrt(n)·... — batch-means estimates for M/M/1
/// at ρ = 0.8 give ≈ 1.4 % of the mean at this n; 5 % is > 3 sd.
const MEAN_TOL: f64 = 0.05;

#[test]
fn one_partition_one_exponential_consumer_is_mm1() {
    let consumer = "    cpus: 1\n    endpoints: { ship: { work: exp(1ms) } }";
    let queue = "{ partitions: 1, consumers: [ { endpoint: worker.ship, group: ship, mode: partitioned } ] }";
    let r = run(&topology("800/s", "poisson", queue, consumer, 400), 1);
    let mm1 = MM1 { lam: 800.0, mu: 1000.0 };
    let want = mm1.mean_sojourn() * 1e3; // 5 ms
    let got = ttp_mean(&r);
    assert!((got - want).abs() < MEAN_TOL * want, "mean time to processed {got} ms vs M/M/1 {want} ms");
    let p99 = r.queues["orders"].time_to_processed_ms.p99.unwrap();
    let want99 = mm1.sojourn_quantile(0.99) * 1e3; // 23.0 ms
    assert!((p99 - want99).abs() < 0.08 * want99, "p99 {p99} ms vs {want99} ms");
    // The publisher answers once the broker accepted: no wait for the consumer.
    assert_eq!(r.workloads["w"].latency_ms.max, Some(0.0));
}

#[test]
fn partitions_cap_a_groups_parallelism() {
    // Two partitions, each an M/M/1 at λ/2 = 400/s, μ = 1000/s: 1.667 ms.
    // Four consumers (concurrency 4 on 4 cores) do no better: a partition
    // is handled by one consumer at a time, so two of them idle.
    let q =
        "{ partitions: 2, consumers: [ { endpoint: worker.ship, group: ship, mode: partitioned, concurrency: C } ] }";
    let consumer = "    cpus: 4\n    endpoints: { ship: { work: exp(1ms) } }";
    let two = run(&topology("800/s", "poisson", &q.replace('C', "2"), consumer, 300), 2);
    let four = run(&topology("800/s", "poisson", &q.replace('C', "4"), consumer, 300), 2);
    let want = MM1 { lam: 400.0, mu: 1000.0 }.mean_sojourn() * 1e3;
    for (name, r) in [("2 consumers", &two), ("4 consumers", &four)] {
        let got = ttp_mean(r);
        assert!((got - want).abs() < MEAN_TOL * want, "{name}: {got} ms vs two M/M/1 queues {want} ms");
    }
    assert_eq!(ttp_mean(&two), ttp_mean(&four), "idle consumers change nothing");
    let util = four.queues["orders"].groups["ship"].consumer_utilization;
    assert!((util - 0.2).abs() < 0.02, "4 consumers, 0.8 busy on average: {util}");
}

#[test]
fn competing_consumers_behave_as_mmc() {
    // Four competing consumers on four cores, λ = 3000/s, μ = 1000/s each.
    let q = "{ partitions: 2, consumers: [ { endpoint: worker.ship, group: ship, mode: competing, concurrency: 4 } ] }";
    let consumer = "    cpus: 4\n    endpoints: { ship: { work: exp(1ms) } }";
    let r = run(&topology("3000/s", "poisson", q, consumer, 200), 3);
    let want = MMc { lam: 3000.0, mu: 1000.0, c: 4 }.mean_sojourn() * 1e3; // 1.51 ms
    let got = ttp_mean(&r);
    assert!((got - want).abs() < MEAN_TOL * want, "{got} ms vs M/M/4 {want} ms");
}

#[test]
fn an_outage_builds_lag_at_the_publish_rate_and_drains_at_capacity_minus_rate() {
    // 500/s exactly; one consumer doing exactly 1 ms: capacity 1000/s.
    // Consumers stop for [20 s, 30 s): 5000 messages wait at 30 s, and
    // drain at 1000 − 500 = 500/s: empty again at 40 s.
    let mut text = topology(
        "500/s",
        "deterministic",
        "{ consumers: [ { endpoint: worker.ship } ] }",
        "    cpus: 1\n    endpoints: { ship: { work: 1ms } }",
        50,
    );
    text.push_str("faults: [ { at: 20s, for: 10s, kind: outage, service: worker } ]\n");
    let opts = RunOptions { keep_series: true, ..options(1, None) };
    let r = run_with(&text, &opts);
    let rows = &r.series.queues;
    let depth_at = |t: f64| rows.iter().find(|x| x.t_s == t).map(|x| x.depth).expect("a row");
    // Rows hold the depth at each interval's end: t_s = 29 ends at 30 s.
    assert!((4990..=5001).contains(&depth_at(29.0)), "depth at the outage's end {}", depth_at(29.0));
    assert!((2490..=2510).contains(&depth_at(34.0)), "half drained at 35 s: {}", depth_at(34.0));
    assert!(depth_at(39.0) <= 1, "drained by 40 s: {}", depth_at(39.0));
    let lag = r.queues["orders"].lag_max_s;
    assert!((lag - 10.0).abs() < 1.1, "the oldest message waited the outage: {lag} s");
}

#[test]
fn at_least_once_with_failures_conserves_messages() {
    // The consumer fails 30 % of the time; a message is dead-lettered after
    // 3 failed deliveries: probability 0.3³ = 0.027.
    let consumer = "    cpus: 4\n    endpoints: { ship: { steps: [ { work: exp(1ms) }, { fail: 30% } ] } }";
    let queue = "{ max_deliveries: 3, consumers: [ { endpoint: worker.ship, concurrency: 4 } ] }";
    let mut text = topology("1000/s", "poisson", queue, consumer, 105);
    text = text.replace("warmup: 5s", "warmup: 0s");
    let r = run(&text, 4);
    let q = &r.queues["orders"];
    let g = &q.groups["worker"];
    assert_eq!(q.published, q.processed + q.dead_lettered + g.lag_end, "{q:?}");
    let dlq = q.dead_lettered as f64 / q.published as f64;
    // Binomial over ≈ 105k messages: sd ≈ 0.0005; 5 sd = 0.0025.
    assert!((dlq - 0.027).abs() < 0.0025, "dead-lettered {dlq} vs 0.027");
    // Deliveries after the first: 0.3 + 0.09 per message.
    let redelivered = q.redelivered as f64 / q.published as f64;
    assert!((redelivered - 0.39).abs() < 0.01, "redelivered {redelivered} vs 0.39");
    assert!(r.findings.iter().any(|f| f.kind.word() == "dead_letters"));
}

#[test]
fn a_full_queue_rejects_back_to_the_producers_callers() {
    // A consumer at 500/s behind 1000/s of publishing and room for 100.
    let consumer = "    cpus: 1\n    endpoints: { ship: { work: 2ms } }";
    let queue = "{ capacity: 100, when_full: reject, consumers: [ { endpoint: worker.ship } ] }";
    let mut text = topology("1000/s", "deterministic", queue, consumer, 20);
    text = text.replace("warmup: 5s", "warmup: 0s");
    let r = run(&text, 1);
    let q = &r.queues["orders"];
    let w = &r.workloads["w"];
    assert_eq!(w.failures.rejected, q.rejected, "every refused publish fails its request");
    // Half of them, once the queue is full (after ≈ 0.2 s).
    let share = q.rejected as f64 / w.offered as f64;
    assert!((share - 0.5).abs() < 0.02, "rejected share {share}");
    assert_eq!(w.causes[0].at, "queue orders");
    assert!(q.depth_max <= 100);
}

#[test]
fn a_crashed_consumer_returns_its_messages_after_the_visibility_timeout() {
    // One consumer replica (of two) crashes while holding messages; they
    // come back after 5 s and are processed by the survivor.
    let consumer = "    replicas: 2\n    cpus: 4\n    endpoints: { ship: { work: 100ms } }";
    let queue = "{ visibility_timeout: 5s, consumers: [ { endpoint: worker.ship, concurrency: 4 } ] }";
    let mut text = topology("20/s", "deterministic", queue, consumer, 30);
    text.push_str("faults: [ { at: 10s, kind: crash, service: worker, replicas: 1, restart_after: 60s } ]\n");
    let r = run(&text, 1);
    let q = &r.queues["orders"];
    assert!(q.redelivered >= 1, "the crash held messages: {q:?}");
    assert_eq!(q.dead_lettered, 0);
    assert!(q.lag_max_s >= 4.9 || q.time_to_processed_ms.max.unwrap() >= 5000.0, "{q:?}");
    assert_eq!(q.published, q.processed + q.groups["worker"].lag_end);
}

#[test]
fn request_reply_waits_for_the_consumer_and_times_out() {
    let text = "duration: 20s
services:
  shop: { endpoints: { checkout: { steps: [ { publish: orders, reply: { timeout: 50ms } } ] } } }
  worker: { cpus: 8, endpoints: { ship: { work: WORK } } }
queues:
  orders: { consumers: [ { endpoint: worker.ship, concurrency: 8 } ] }
workload: [ { name: w, target: shop.checkout, rate: 20/s, arrivals: deterministic } ]
";
    let fast = run(&text.replace("WORK", "10ms"), 1);
    assert_eq!(fast.workloads["w"].latency_ms.max, Some(10.0), "the reply comes when the consumer finishes");
    let slow = run(&text.replace("WORK", "80ms"), 1);
    let w = &slow.workloads["w"];
    assert_eq!(w.ok, 0);
    assert_eq!(w.failures.timeout, w.failed, "no reply within 50 ms");
}

#[test]
fn lag_drives_the_autoscaler() {
    // 200/s of 50 ms messages: 10 consumers' worth. One replica with two
    // consumers falls behind; a lag target of 20 per replica scales it out.
    let text = "duration: 300s
services:
  shop: { cpus: 8, endpoints: { checkout: { steps: [ { publish: orders } ] } } }
  worker:
    cpus: 2
    endpoints: { ship: { steps: [ { delay: 50ms } ] } }
    autoscale: { min: 1, max: 20, metrics: [ { lag: 20 } ], startup: 5s }
queues:
  orders: { consumers: [ { endpoint: worker.ship, concurrency: 2 } ] }
workload: [ { name: w, target: shop.checkout, rate: 200/s } ]
";
    let r = run(text, 1);
    let s = &r.services["worker"];
    assert!(s.replicas.max >= 5, "scaled out on lag: {:?}", s.replicas);
    let q = &r.queues["orders"];
    assert!(q.groups["worker"].lag_end < 1000, "it caught up: {q:?}");
}

#[test]
fn consumers_slower_than_the_publish_rate_are_a_backlog() {
    // 1000/s published, one consumer doing 2 ms: it processes 500/s and
    // the rest piles up — 500 more every second, without bound.
    let text = topology(
        "1000/s",
        "deterministic",
        "{ consumers: [ { endpoint: worker.ship } ] }",
        "    cpus: 1\n    endpoints: { ship: { work: 2ms } }",
        65,
    );
    let r = run(&text, 1);
    let g = &r.queues["orders"].groups["worker"];
    // 65 s of piling up at 500/s: 32,500 waiting at the end (±1).
    assert!((32_499..=32_501).contains(&g.depth_end), "depth {}", g.depth_end);
    let f = r.findings.iter().find(|f| f.kind.word() == "backlog").expect("a backlog finding");
    assert_eq!(f.subject, "orders/worker");
    assert!(f.message.contains("growing by 500.0/s"), "{}", f.message);
    // A consumer that keeps up raises none.
    let fine = run(&text.replace("work: 2ms", "work: 0.5ms"), 1);
    assert!(fine.findings.iter().all(|f| f.kind.word() != "backlog"));
}
