//! End-to-end speed through the full model with every metric on:
//! (b) M/M/1 at ρ = 0.8 — simulated customers/s;
//! (c) the online-shop topology — service visits (attempts arriving at a
//!     replica) per second;
//! plus the shop with a timeout on every call, to price timeouts.
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

    // The retry-storm example: most attempts time out and are retried.
    let storm = load("retry-storm.yaml");
    let o = opts(120);
    let n = visits(&run(&storm, &o));
    g.throughput(Throughput::Elements(n));
    g.bench_function("retry_storm_visits", |b| b.iter(|| run(&storm, &o)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
