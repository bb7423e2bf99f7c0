//! (a) The bare engine: the classic *hold* model on stormcast's event queue —
//! N pending events; pop the earliest, push one at now + Exp(1 ms). Reports
//! events/s (one pop + one push per event) at several queue sizes, plus a
//! variant where every event also arms a constant timeout in a lane that is
//! almost never the earliest (the cost of a per-attempt timeout).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stormcast::engine::{EventQueue, RngStream, SimDuration};

const EVENTS: u64 = 1_000_000;

fn hold(pending: usize, with_lane: bool) -> u64 {
    let mut q: EventQueue<u64> = EventQueue::new();
    let mut rng = RngStream::derive(1, "bench", "hold");
    let lane = q.lane(SimDuration::from_secs(10));
    for i in 0..pending as u64 {
        q.schedule_after(SimDuration::from_secs_f64(rng.exp(1e-3)), i);
    }
    let mut acc = 0u64;
    for _ in 0..EVENTS {
        let (t, ev) = q.pop().expect("never empty");
        acc = acc.wrapping_add(t.0 ^ ev);
        if ev == u64::MAX {
            continue; // a lane timer: stale, ignored
        }
        q.schedule_after(SimDuration::from_secs_f64(rng.exp(1e-3)), ev);
        if with_lane {
            q.schedule_in_lane(lane, u64::MAX);
        }
    }
    acc
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_hold");
    g.throughput(Throughput::Elements(EVENTS));
    g.sample_size(10);
    for pending in [1_000usize, 100_000] {
        g.bench_with_input(BenchmarkId::new("heap", pending), &pending, |b, &n| b.iter(|| hold(n, false)));
        g.bench_with_input(BenchmarkId::new("heap+timeout_lane", pending), &pending, |b, &n| b.iter(|| hold(n, true)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
