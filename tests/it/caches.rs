//! Keyed caches (`caches:`) against their theory: LRU under Zipf against
//! Che's approximation, a TTL counted from the write against the renewal
//! formula, and what a flush, a restart, coalescing and a warm start do to
//! the series. Each tolerance is derived where it is used.

use crate::common::{load_yaml, options, run_checked, secs};
use stormcast::engine::SimDuration;
use stormcast::metrics::RunResult;
use stormcast::sim::RunOptions;

/// Zipf probabilities of `n` keys with exponent `s` (most popular first).
fn zipf(n: usize, s: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
    let t: f64 = w.iter().sum();
    w.iter().map(|x| x / t).collect()
}

/// Che's approximation of an LRU cache of `c` entries under independent
/// requests with probabilities `p`: the characteristic time `T` (in
/// requests) solves Σ (1 - e^(-p_i T)) = c; the hit ratio is
/// Σ p_i (1 - e^(-p_i T)).
fn che(p: &[f64], c: f64) -> f64 {
    let filled = |t: f64| p.iter().map(|q| 1.0 - (-q * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1.0);
    while filled(hi) < c {
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < c { lo = mid } else { hi = mid }
    }
    p.iter().map(|q| q * (1.0 - (-q * lo).exp())).sum()
}

/// Che's approximation for many keys: the first 100,000 exactly, the rest
/// (where p_i T < 0.1) by the series 1 - e^-x = x - x²/2 + x³/6 over their
/// power sums, whose next term changes the filled count by < 0.05 entries.
fn che_long_tail(n: usize, s: f64, c: f64) -> f64 {
    let head = 100_000.min(n);
    let norm: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
    let p: Vec<f64> = (1..=head).map(|k| (k as f64).powf(-s) / norm).collect();
    let mut m = [0.0f64; 5]; // Σ p^j over the tail, j = 1..4
    for k in head + 1..=n {
        let q = (k as f64).powf(-s) / norm;
        let (q2, q3) = (q * q, q * q * q);
        m[1] += q;
        m[2] += q2;
        m[3] += q3;
        m[4] += q2 * q2;
    }
    let filled = |t: f64| {
        p.iter().map(|q| 1.0 - (-q * t).exp()).sum::<f64>() + t * m[1] - t * t / 2.0 * m[2] + t.powi(3) / 6.0 * m[3]
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    while filled(hi) < c {
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < c { lo = mid } else { hi = mid }
    }
    let t = lo;
    assert!(p[head - 1] * t < 0.1, "the tail's series needs p_i T < 0.1");
    p.iter().map(|q| q * (1.0 - (-q * t).exp())).sum::<f64>() + t * m[2] - t * t / 2.0 * m[3] + t.powi(3) / 6.0 * m[4]
}

/// A front service `api` with a keyed cache `menu` in front of `db`, whose
/// reads take `db_work` without a core (no queueing at any load).
fn shop(cache: &str, rate: u32, db_work: &str, extra: &str) -> String {
    format!(
        "name: cached\nduration: 300s\nwarmup: 30s\ncaches:\n  menu: {cache}\nservices:\n  api:\n    cpus: 256\n    \
         endpoints:\n      get:\n        steps:\n          - cache: {{ name: menu, hit: [ {{ work: 0.1ms }} ], miss: [ \
         {{ call: db.read }} ] }}\n  db:\n    cpus: 256\n    endpoints:\n      read: {{ steps: [ {{ delay: {db_work} \
         }} ] }}\nworkload:\n  \
         - {{ name: web, target: api.get, rate: {rate}/s }}\n{extra}"
    )
}

/// Runs with series every `interval_ms` (0: no series).
fn run(text: &str, seed: u64, interval_ms: u64) -> RunResult {
    let m = load_yaml("cached.yaml", text).unwrap_or_else(|d| panic!("{}", crate::common::show(&d)));
    let mut opts = options(seed, None);
    if interval_ms > 0 {
        opts = RunOptions { keep_series: true, interval: SimDuration(interval_ms * 1_000_000), ..opts };
    }
    run_checked(&m, &opts)
}

fn hit_ratio(r: &RunResult) -> f64 {
    r.caches["menu"].hit_ratio.expect("lookups")
}

/// Backend arrivals and cache lookups/hits per interval, from `from_s` for `n` intervals.
fn window(r: &RunResult, from_s: f64, n: usize) -> (u64, u64, u64) {
    let db = r.series.service_names.iter().position(|s| s == "db").unwrap() as u32;
    let dt = r.series.interval_s;
    let inside = |t: f64| t >= from_s - 1e-9 && t < from_s + n as f64 * dt - 1e-9;
    let arrivals = r.series.services.iter().filter(|x| x.service == db && inside(x.t_s)).map(|x| x.arrivals).sum();
    let rows = r.series.caches.iter().filter(|x| inside(x.t_s));
    let (lookups, hits) = rows.fold((0, 0), |(l, h), x| (l + x.lookups, h + x.hits));
    (arrivals, lookups, hits)
}

#[test]
fn lru_under_zipf_matches_ches_approximation() {
    // 10,000 keys, s = 0.8, 1,000 entries: Che gives 0.4367. Che's
    // approximation is asymptotically exact for Zipf popularity and within
    // a few 1e-3 at this size (Fricker, Robert, Roberts 2012); the
    // simulated ratio over 540,000 lookups has a binomial sd of
    // sqrt(.44 · .56 / 540e3) ≈ 7e-4, say 2e-3 allowing for the
    // correlation of successive LRU states. Tolerance: 0.005 (Che) + 5 sd
    // (0.01) = 0.015.
    let want = che(&zipf(10_000, 0.8), 1000.0);
    for seed in [1, 2] {
        let r = run(&shop("{ keys: 10000, zipf: 0.8, capacity: 1000 }", 2000, "0.1ms", ""), seed, 0);
        let c = &r.caches["menu"];
        let got = hit_ratio(&r);
        assert!((got - want).abs() < 0.015, "seed {seed}: hit ratio {got:.4}, Che {want:.4}");
        assert_eq!(c.hits + c.misses, c.lookups.unwrap());
        assert_eq!(c.entries_end, Some(1000));
        // Every miss writes its key into a full cache: one eviction each
        // (but for a miss whose key another miss wrote during its 0.1 ms fetch).
        let ev = c.evictions.unwrap();
        assert!(ev <= c.misses && ev + 100 >= c.misses, "evictions {ev}, misses {}", c.misses);
        assert_eq!(r.services["db"].arrivals, c.misses, "every miss calls the backend once");
    }
}

#[test]
fn ten_million_keys_cost_only_their_entries() {
    // keys: 10 M with 1,000 entries: the sampler keeps no table and the
    // store holds 1,000 entries, so this runs like any small cache. Che for
    // 10 M keys at s = 0.9 is ≈ 0.30; 270,000 measured lookups give a
    // binomial sd ≈ 9e-4; tolerance as above, 0.015.
    let want = che_long_tail(10_000_000, 0.9, 1000.0);
    let text = shop("{ keys: 10000000, zipf: 0.9, capacity: 1000 }", 3000, "0.1ms", "").replace("300s", "120s");
    let r = run(&text, 9, 0);
    let got = hit_ratio(&r);
    assert!((got - want).abs() < 0.015, "hit ratio {got:.4}, Che {want:.4}");
    assert_eq!(r.caches["menu"].entries_end, Some(1000));
}

#[test]
fn ttl_from_the_write_matches_the_renewal_formula() {
    // Capacity ≥ keys: only the TTL removes entries. A key looked up at
    // rate λ p_i is written on a miss and then hit for T: per renewal cycle
    // 1 miss and λ p_i T hits, so hit = Σ p_i · λ p_i T / (1 + λ p_i T).
    // 1,000 keys, s = 0.8, λ = 500/s, T = 2 s: 135,000 measured lookups;
    // binomial sd ≈ 1.4e-3, bias from the 0.1 ms fetch (a second miss while
    // the first fetches) ≤ λ p_1 · 0.1 ms ≈ 5e-3 on the busiest key and far
    // less overall. Tolerance: 5 sd + bias ≈ 0.012.
    let (lambda, t) = (500.0, 2.0);
    let p = zipf(1000, 0.8);
    let want: f64 = p.iter().map(|q| q * (lambda * q * t) / (1.0 + lambda * q * t)).sum();
    let r = run(&shop("{ keys: 1000, zipf: 0.8, capacity: 1000, ttl: 2s }", 500, "0.1ms", ""), 3, 0);
    let got = hit_ratio(&r);
    assert!((got - want).abs() < 0.012, "hit ratio {got:.4}, renewal formula {want:.4}");
    let c = &r.caches["menu"];
    assert_eq!(c.evictions, Some(0), "capacity covers every key");
    // Each miss after the first lookup of a key follows an expiration.
    assert!(c.expirations.unwrap() + 1000 >= c.misses, "{c:?}");
}

#[test]
fn a_flush_sends_the_lookups_to_the_backend_then_decays() {
    // After a flush at rate λ, the lookups in the next τ that miss are the
    // first lookup of each key seen (the cache is far from full): expected
    // Σ (1 - e^(-λ p_i τ)). With λ = 2000/s, τ = 50 ms that is ≈ 85 of 100
    // lookups, against ≈ 56 in steady state. Four flushes: expected count
    // E ≈ 340, a sum of independent Bernoullis with sd ≤ sqrt(E) ≈ 18;
    // tolerance 5 sd.
    let faults = "faults:\n".to_string()
        + &[100, 150, 200, 250].map(|s| format!("  - {{ at: {s}s, kind: cache_flush, cache: menu }}\n")).concat();
    let r = run(&shop("{ keys: 10000, zipf: 0.8, capacity: 1000 }", 2000, "0.1ms", &faults), 4, 50);
    let p = zipf(10_000, 0.8);
    let per_flush: f64 = p.iter().map(|q| 1.0 - (-2000.0 * q * 0.05).exp()).sum();
    let steady = 1.0 - che(&p, 1000.0);
    let (mut first, mut first_lookups, mut later, mut later_lookups) = (0, 0, 0, 0);
    for at in [100.0, 150.0, 200.0, 250.0] {
        let (a, l, _) = window(&r, at, 1);
        first += a;
        first_lookups += l;
        // 10 s to 40 s after the flush: refilled (it takes ~1.5 s of lookups).
        let (a, l, _) = window(&r, at + 10.0, 600);
        later += a;
        later_lookups += l;
    }
    let want = 4.0 * per_flush;
    let sd = want.sqrt();
    assert!((first as f64 - want).abs() < 5.0 * sd, "backend calls in the first 50 ms: {first}, expected {want:.0}");
    let jump = first as f64 / first_lookups as f64;
    assert!(jump > steady + 0.15, "miss share right after the flush {jump:.3} vs steady {steady:.3}");
    // Decayed: 240,000 lookups, binomial sd 1e-3; Che's error 0.005: 0.015.
    let after = later as f64 / later_lookups as f64;
    assert!((after - steady).abs() < 0.015, "miss share 10-40 s after a flush {after:.3}, steady {steady:.3}");
}

#[test]
fn a_restarted_replica_starts_cold_with_replica_scope_only() {
    // One replica crashes at 100 s and restarts at 105 s. In-process
    // (`scope: replica`) its cache is lost: the first 50 ms after the
    // restart hit only what they fill themselves (≈ 15%, from the flush
    // formula above), far below the steady 44%. A shared cache
    // (`scope: service`) keeps its contents across the restart.
    let crash = "faults:\n  - { at: 100s, kind: crash, service: api, restart_after: 5s }\n";
    let first = |scope: &str| {
        let cache = format!("{{ keys: 10000, zipf: 0.8, capacity: 1000, scope: {scope} }}");
        let r = run(&shop(&cache, 2000, "0.1ms", crash), 5, 50);
        let (_, l, h) = window(&r, 105.0, 1);
        let (_, l0, h0) = window(&r, 90.0, 200);
        (h as f64 / l as f64, h0 as f64 / l0 as f64)
    };
    let (cold, before) = first("replica");
    assert!(cold < 0.3 && before > 0.4, "replica scope: {cold:.3} after the restart, {before:.3} before");
    let (kept, before) = first("service");
    assert!(kept > 0.35 && before > 0.4, "service scope: {kept:.3} after the restart, {before:.3} before");
}

#[test]
fn coalescing_cuts_the_herd_after_a_flush() {
    // A slow backend (200 ms) and a skewed popularity (1,000 keys, s = 1:
    // the top key is 13% of lookups): without coalescing, every lookup of
    // a key while its first miss is being fetched goes to the backend too,
    // λ p_i · 200 ms extra calls per fetch (53 for the top key at 2000/s).
    // With coalescing they wait and then hit. Same seed: the same lookups
    // at the same times in both runs (keys are drawn at arrival).
    let flush = "faults:\n  - { at: 100s, kind: cache_flush, cache: menu }\n";
    let calls = |coalesce: bool| {
        let cache = format!("{{ keys: 1000, zipf: 1.0, capacity: 500, coalesce: {coalesce} }}");
        let r = run(&shop(&cache, 2000, "200ms", flush), 6, 100);
        let (a, l, h) = window(&r, 100.0, 5);
        let c = &r.caches["menu"];
        assert_eq!(c.hits + c.misses, c.lookups.unwrap());
        (a, l, h, r.services["db"].arrivals)
    };
    let (herd, l1, h1, total_herd) = calls(false);
    let (calm, l2, h2, total_calm) = calls(true);
    assert_eq!(l1, l2, "the same lookups");
    // The expected saving in the 500 ms after the flush: each key fetched
    // in the window (probability 1 - e^(-λ p_i τ)) spares λ p_i d calls:
    // Σ (1 - e^(-λ p_i τ)) λ p_i d ≈ 316. It ignores fetches that straddle
    // the window's end and keys fetched twice; we ask for half.
    let p = zipf(1000, 1.0);
    let saving: f64 = p.iter().map(|q| (1.0 - (-2000.0 * q * 0.5).exp()) * 2000.0 * q * 0.2).sum();
    let saved = herd as f64 - calm as f64;
    assert!(saved > 0.5 * saving, "{herd} calls without coalescing, {calm} with (formula saving {saving:.0})");
    // What the backend was spared, the cache served: hits went up as much.
    assert!(h2 > h1, "hits {h2} with coalescing, {h1} without");
    assert!(total_calm < total_herd, "over the run: {total_calm} vs {total_herd}");
}

#[test]
fn a_warm_start_is_near_its_steady_state_at_once() {
    // Warm: the 1,000 most popular keys at start, whose mass (0.61 here)
    // is the best any 1,000 entries can do; LRU then settles at Che's
    // 0.437. Cold: in the first τ the misses are the first lookup of each
    // key seen, Σ (1 - e^(-λ p_i τ)) (the cache is far from full): a hit
    // ratio of 0.21 over τ = 250 ms. 500 lookups: binomial sd ≤ 0.023;
    // tolerance 5 sd.
    let p = zipf(10_000, 0.8);
    let (steady, head) = (che(&p, 1000.0), p[..1000].iter().sum::<f64>());
    let first = |initial: &str| {
        let cache = format!("{{ keys: 10000, zipf: 0.8, capacity: 1000, initial: {initial} }}");
        let text = shop(&cache, 2000, "0.1ms", "").replace("warmup: 30s", "warmup: 0s").replace("300s", "60s");
        let r = run(&text, 7, 250);
        let (_, l, h) = window(&r, 0.0, 1);
        h as f64 / l as f64
    };
    let tol = 5.0 * 0.023;
    let warm = first("warm");
    assert!(warm > steady - tol && warm < head + tol, "warm start: {warm:.3} (steady {steady:.3}, head {head:.3})");
    let cold = first("cold");
    let want = 1.0 - p.iter().map(|q| 1.0 - (-2000.0 * q * 0.25).exp()).sum::<f64>() / 500.0;
    assert!((cold - want).abs() < tol, "cold start: {cold:.3}, expected {want:.3}");
}

#[test]
fn a_keyed_cache_is_deterministic_and_leaves_other_draws_alone() {
    let text = shop("{ keys: 5000, zipf: 0.9, capacity: 500, ttl: 3s, coalesce: true }", 500, "5ms", "");
    let m = load_yaml("cached.yaml", &text).unwrap();
    let opts = options(8, Some(secs(60)));
    let (a, b) = (stormcast::sim::run(&m, &opts), stormcast::sim::run(&m, &opts));
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    // The workload's arrivals do not depend on the cache's draws.
    let fixed = load_yaml("f.yaml", &text.replace("name: menu, hit:", "name: other, hit_ratio: 50%, hit:")).unwrap();
    let c = stormcast::sim::run(&fixed, &opts);
    assert_eq!(a.workloads["web"].offered, c.workloads["web"].offered);
}

#[test]
fn coalescing_survives_timeouts_crashes_and_flushes() {
    // Waiting strands whose attempt timed out, whose fetcher failed or was
    // cut by a crash: every request still ends, and the simulator's
    // invariants hold after every event (run_checked).
    let text = "name: stress\nduration: 40s\nwarmup: 5s\ncaches:\n  menu: { keys: 200, zipf: 1.1, capacity: 50, ttl: \
                2s, coalesce: true, scope: replica }\nservices:\n  api:\n    replicas: 3\n    endpoints:\n      get:\n        \
                steps:\n          - cache: { name: menu, hit: [ { work: 0.2ms } ], miss: [ { call: db.read, timeout: \
                30ms, retry: { attempts: 2 } } ] }\n      put:\n        steps:\n          - cache: { name: menu, \
                invalidate: 50% }\n  db:\n    cpus: 2\n    endpoints:\n      read: { steps: [ { delay: exp(25ms) }, { \
                fail: 5% } ] }\nworkload:\n  - { name: web, target: api.get, rate: 800/s }\n  - { name: writes, target: \
                api.put, rate: 50/s }\nfaults:\n  - { at: 10s, kind: crash, service: api, replicas: 2, restart_after: \
                3s }\n  - { at: 20s, kind: cache_flush, cache: menu }\n  - { at: 25s, for: 5s, kind: outage, service: \
                db }\n";
    let m = load_yaml("stress.yaml", text).unwrap_or_else(|d| panic!("{}", crate::common::show(&d)));
    for seed in 1..=4 {
        let r = run_checked(&m, &options(seed, None));
        let w = &r.workloads["web"];
        assert_eq!(w.ok + w.failed + w.in_flight_at_end, w.offered, "seed {seed}");
        assert!(w.in_flight_at_end < 100, "seed {seed}: {} requests stuck", w.in_flight_at_end);
        let c = &r.caches["menu"];
        assert_eq!(c.hits + c.misses, c.lookups.unwrap());
        assert!(c.expirations.unwrap() > 0 && c.hits > 0, "{c:?}");
    }
}

#[test]
fn replicas_added_by_the_autoscaler_start_cold() {
    // One replica at 500/s, then 2,000/s from 60 s: the HPA adds a replica.
    // In-process caches (`scope: replica`, warm at start) give the new
    // replica an empty store: the entries go from 1,000 towards 2,000
    // over a couple of seconds instead of jumping, and the first interval
    // with two ready replicas holds fewer than 1,500 (the new store has only
    // what it was asked in that second). A shared cache (`scope: service`)
    // stays at 1,000 entries throughout. Entries are counted exactly: no
    // tolerance.
    let text = |scope: &str| {
        format!(
            "name: hpa\nduration: 150s\ncaches:\n  menu: {{ keys: 10000, zipf: 0.8, capacity: 1000, scope: {scope}, \
             initial: warm }}\nservices:\n  api:\n    cpus: 4\n    autoscale: {{ min: 1, max: 4, metrics: [ {{ rps: \
             1200 }} ] }}\n    endpoints:\n      get:\n        steps:\n          - cache: {{ name: menu, hit: [ {{ work: \
             0.1ms }} ], miss: [ {{ call: db.read }} ] }}\n  db:\n    cpus: 64\n    endpoints:\n      read: {{ work: \
             0.1ms }}\nworkload:\n  - {{ name: web, target: api.get, rate: 500/s, shape: {{ steps: [ [0s, 1.0], [60s, \
             4.0] ] }} }}\n"
        )
    };
    // (ready replicas, entries) per 1 s interval.
    let series = |scope: &str| {
        let m = load_yaml("hpa.yaml", &text(scope)).unwrap_or_else(|d| panic!("{}", crate::common::show(&d)));
        let r = run_checked(&m, &RunOptions { keep_series: true, interval: secs(1), ..options(10, None) });
        let api = r.series.service_names.iter().position(|s| s == "api").unwrap() as u32;
        let rows = r.series.services.iter().filter(|s| s.service == api);
        rows.zip(&r.series.caches).map(|(s, c)| (s.replicas_ready, c.entries)).collect::<Vec<(u32, u64)>>()
    };
    let replica = series("replica");
    assert_eq!(replica[0], (1, 1000), "warm at start");
    let joined = replica.iter().position(|x| x.0 == 2).expect("the HPA added a replica");
    assert!(replica[joined].1 < 1500, "the new replica's store starts empty: {:?}", &replica[joined - 1..joined + 3]);
    let (ready, entries) = *replica.last().unwrap();
    assert_eq!(entries, u64::from(ready) * 1000, "every replica's store fills to its capacity");
    let service = series("service");
    assert!(service.iter().any(|x| x.0 == 2));
    assert!(service.iter().all(|x| x.1 == 1000), "one shared store, full throughout");
}
