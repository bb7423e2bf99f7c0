//! End-to-end speed through the full model with every metric on:
//! (b) M/M/1 at ρ = 0.8 — simulated customers/s;
//! (c) the online-shop topology — service visits (attempts arriving at a
//!     replica) per second;
//! plus the shop with a timeout on every call, to price timeouts, and the
//! shop with a cache in front of the catalogue's `get_product`: keyed
//! (`caches:`, LRU under Zipf) against a fixed hit ratio, to price keys;
//! and one hop as a call against the same hop through a queue (a publish
//! and a consumer), to price messaging: requests/s and events per request.
//! Figures are reported by criterion as elements/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;
use stormcast::engine::SimDuration;
use stormcast::model::{Backoff, RetryOn, RetryPolicy};
use stormcast::sim::{RunOptions, run};

fn load(file: &str) -> stormcast::model::Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies").join(file);
    match stormcast::cli::load_file(&path) {
        Ok(m) => m,
        Err(d) => panic!("{} does not load:\n{}", path.display(), d.render("")),
    }
}

/// The online shop with `top` added at the top level and `get_product`
/// made one `cache` step, warm-up off.
fn shop_with_cache(top: &str, cache: &str) -> stormcast::model::Model {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let text = std::fs::read_to_string(dir.join("online-boutique.yaml")).expect("the shop");
    let old = "      get_product:\n        work: gamma(shape=2, mean=0.12ms)\n";
    assert!(text.contains(old), "the shop's get_product changed");
    let new = format!("      get_product:\n        steps:\n          - cache: {cache}\n");
    let text = text.replacen("services:\n", &format!("{top}services:\n"), 1).replace(old, &new);
    let opts = stormcast::spec::LoadOptions { base_dir: dir, files: &stormcast::cli::FsFiles };
    let mut m =
        stormcast::spec::load_str("shop-cached.yaml", &text, &opts).unwrap_or_else(|d| panic!("{}", d.render("")));
    m.warmup = SimDuration::ZERO;
    m
}

fn opts(secs: u64) -> RunOptions {
    RunOptions { duration: Some(SimDuration::from_secs(secs)), ..RunOptions::default() }
}

fn visits(r: &stormcast::metrics::RunResult) -> u64 {
    r.services.values().map(|s| s.arrivals).sum()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);

    let mut mm1 = load("mm1.yaml");
    mm1.warmup = SimDuration::ZERO;
    let o = opts(500);
    let customers = run(&mm1, &o).workloads.values().map(|w| w.offered).sum::<u64>();
    g.throughput(Throughput::Elements(customers));
    g.bench_function("mm1_customers", |b| b.iter(|| run(&mm1, &o)));

    // Warm-up off, so every simulated visit is counted in the throughput.
    let mut shop = load("online-boutique.yaml");
    shop.warmup = SimDuration::ZERO;
    let o = opts(60);
    let n = visits(&run(&shop, &o));
    g.throughput(Throughput::Elements(n));
    g.bench_function("online_boutique_visits", |b| b.iter(|| run(&shop, &o)));

    // The same shop with a (rarely firing) 2 s timeout on every call site.
    let mut timeouts = shop.clone();
    for e in &mut timeouts.edges {
        e.timeout = Some(SimDuration::from_secs(2));
    }
    let n = visits(&run(&timeouts, &o));
    g.throughput(Throughput::Elements(n));
    g.bench_function("timeouts_on_every_call_visits", |b| b.iter(|| run(&timeouts, &o)));

    // And with 3 attempts on timeout/error/rejection on every call site (no
    // failures happen here: this prices the bookkeeping, not the retries).
    let mut retries = timeouts.clone();
    for e in &mut retries.edges {
        e.retry = Some(RetryPolicy { attempts: 3, on: RetryOn::DEFAULT, backoff: Backoff::IMMEDIATE, budget: None });
    }
    let n = visits(&run(&retries, &o));
    g.throughput(Throughput::Elements(n));
    g.bench_function("timeouts_and_retries_on_every_call_visits", |b| b.iter(|| run(&retries, &o)));

    // The shop with a cache on the catalogue: keyed, then a fixed hit ratio
    // set to the keyed one's, so both do the same work but for the keys.
    let keyed = shop_with_cache(
        "caches:\n  catalogue: { keys: 100000, zipf: 0.9, capacity: 10000 }\n",
        "{ name: catalogue, hit: [ { work: 0.02ms } ], miss: [ { work: \"gamma(shape=2, mean=0.12ms)\" } ] }",
    );
    let r = run(&keyed, &o);
    let ratio = r.caches["catalogue"].hit_ratio.expect("lookups");
    g.throughput(Throughput::Elements(visits(&r)));
    g.bench_function("keyed_cache_on_catalogue_visits", |b| b.iter(|| run(&keyed, &o)));
    let fixed = shop_with_cache(
        "",
        &format!(
            "{{ name: catalogue, hit_ratio: {ratio:.3}, hit: [ {{ work: 0.02ms }} ], miss: [ {{ work: \"gamma(shape=2, \
             mean=0.12ms)\" }} ] }}"
        ),
    );
    g.throughput(Throughput::Elements(visits(&run(&fixed, &o))));
    g.bench_function("fixed_cache_on_catalogue_visits", |b| b.iter(|| run(&fixed, &o)));

    // One hop, as a call and through a queue: the same work behind it.
    let hop = |step: &str, top: &str| {
        let text = format!(
            "duration: 60s\n{top}services:\n  front: {{ cpus: 4, endpoints: {{ e: {{ steps: [ {step} ] }} }} }}\n  \
             back: {{ cpus: 4, endpoints: {{ e: {{ work: exp(0.5ms) }} }} }}\nworkload: [ {{ name: w, target: front.e, \
             rate: 4000/s }} ]\n"
        );
        let opts = stormcast::spec::LoadOptions { base_dir: Path::new(".").into(), files: &stormcast::cli::FsFiles };
        stormcast::spec::load_str("hop.yaml", &text, &opts).unwrap_or_else(|d| panic!("{}", d.render("")))
    };
    let call = hop("{ call: back.e }", "");
    let queue = hop(
        "{ publish: q }",
        "queues:\n  q: { consumers: [ { endpoint: back.e, concurrency: 4, mode: competing } ] }\n",
    );
    // The call hop with both services on one shared 8-core node, and with
    // CPU limits on top (CFS quota accounting on every step).
    let on_node = hop("{ call: back.e }", "cluster: { nodes: [ { name: n, cores: 8, memory: 8Gi } ] }\n");
    let mut limited = on_node.clone();
    for s in &mut limited.services {
        s.resources.cpu_limit_milli = Some(3000);
    }
    for (name, m) in [
        ("call_hop_requests", &call),
        ("queue_hop_requests", &queue),
        ("shared_node_hop_requests", &on_node),
        ("cpu_limited_hop_requests", &limited),
    ] {
        let r = run(m, &o);
        let n: u64 = r.workloads.values().map(|w| w.offered).sum();
        eprintln!("{name}: {:.1} events per request", r.engine.events as f64 / n as f64);
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| b.iter(|| run(m, &o)));
    }

    // The retry-storm example: most attempts time out and are retried.
    let storm = load("retry-storm.yaml");
    let o = opts(120);
    let n = visits(&run(&storm, &o));
    g.throughput(Throughput::Elements(n));
    g.bench_function("retry_storm_visits", |b| b.iter(|| run(&storm, &o)));
    g.finish();
}

/// The inference quality bar: an hour of 20,000 chat requests (prompts
/// lognormal around 1,000 tokens, answers around 200) on 8 LLM replicas
/// with continuous batching. Throughput in simulated requests; the run
/// prints events per iteration (one iteration ≈ one event).
fn inference(c: &mut Criterion) {
    let text = "duration: 1h\nservices:\n  llm:\n    replicas: 8\n    inference:\n      max_batch: 64\n      \
                kv_cache_tokens: 200000\n      iteration: { base: 8ms, per_prefill_token: 0.05ms, per_decode_seq: 0.1ms, \
                per_context_token: 0.0005ms }\n    endpoints:\n      generate:\n        steps:\n          - generate: \
                { input: \"lognormal(median=1000, p99=6000)\", output: \"lognormal(median=200, p99=1000)\" }\n\
                workload: [ { name: chat, target: llm.generate, rate: 5.5556/s } ]\n";
    let opts = stormcast::spec::LoadOptions { base_dir: Path::new(".").into(), files: &stormcast::cli::FsFiles };
    let m = stormcast::spec::load_str("llm.yaml", text, &opts).unwrap_or_else(|d| panic!("{}", d.render("")));
    let o = RunOptions::default();
    let r = run(&m, &o);
    let n = r.workloads["chat"].offered;
    let inf = r.services["llm"].inference.as_ref().expect("an inference service");
    eprintln!(
        "inference_hour: {n} requests, {} iterations, {} events ({:.2} events per iteration), {} output tokens",
        inf.iterations,
        r.engine.events,
        r.engine.events as f64 / inf.iterations as f64,
        inf.output_tokens
    );
    let mut g = c.benchmark_group("inference");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("llm_hour_20k_requests", |b| b.iter(|| run(&m, &o)));
    g.finish();
}

criterion_group!(benches, bench, inference);
criterion_main!(benches);
