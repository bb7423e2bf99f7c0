//! An experiment's runs on one and on two threads: 8 replications × 2
//! points of the online shop, 60 s simulated each. Throughput counts the
//! requests measured (those after the 30 s warm-up), so it reads as
//! simulated requests per second of wall time; the speed-up of
//! `stormcast experiment` on the cores at hand is `threads/2` over
//! `threads/1` (goal ≥ 1.8× on 2 cores). Runs are independent; what keeps
//! the speed-up below the number of cores is the last runs leaving cores
//! idle, and memory bandwidth.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use stormcast::engine::SimDuration;
use stormcast::experiment::runner;
use stormcast::sim::RunOptions;

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/online-boutique.yaml");
    let shop = match stormcast::cli::load_file(&path) {
        Ok(m) => m,
        Err(d) => panic!("{} does not load:\n{}", path.display(), d.render("")),
    };
    let mut bigger = shop.clone();
    bigger.services[0].replicas += 1;
    let models = vec![shop, bigger];
    let base = RunOptions { duration: Some(SimDuration::from_secs(60)), ..RunOptions::default() };
    let jobs = runner::jobs(models.len(), 8, 1, (1, 1));
    let stop = AtomicBool::new(false);
    let requests: u64 = runner::run(&models, &base, &jobs, 2, &stop, &|_, _| {})
        .iter()
        .flatten()
        .map(|r| r.workloads.values().map(|w| w.offered).sum::<u64>())
        .sum();
    let mut g = c.benchmark_group("experiment_online_shop_16_runs");
    g.throughput(Throughput::Elements(requests));
    g.sample_size(10);
    for threads in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &t| {
            b.iter(|| runner::run(&models, &base, &jobs, t, &stop, &|_, _| {}).len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
