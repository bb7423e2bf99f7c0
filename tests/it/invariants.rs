//! Swarm testing (as in TigerBeetle's VOPR): small random topologies from a
//! seed — 2 to 5 services with random replicas, cores, admission limits,
//! bounded queues (fifo/lifo, max_wait), balancers, network latency, and
//! endpoints mixing work and delay (most distribution forms), calls
//! (timeouts, probability, on_failure, cancel, latency), parallel fan-outs
//! with every join rule, weighted branches, sequences, repeats, caches and
//! failures, under open (shaped) and closed workloads (some with edge
//! clients that time out and retry) — written as YAML,
//! loaded through the real reader and run briefly, twice (the bytes must
//! match), with invariants checked. Only invariants are judged, never
//! numbers. A failure prints the seed and the YAML to rerun it.

use crate::common::{invariant_violations, load_yaml, options, run_unasserted};
use std::fmt::Write;

/// How many random topologies one test run tries (each runs a few
/// simulated seconds: all of them take well under a second in release).
/// `STORMCAST_SWARM_CASES=N` tries N instead (a longer hunt, by hand).
const CASES: u64 = 300;

fn cases() -> u64 {
    std::env::var("STORMCAST_SWARM_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CASES)
}

/// SplitMix64: a tiny, fixed generator so a seed means the same topology on
/// every machine and release.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.range(0, xs.len() as u64 - 1) as usize]
    }
}

struct Topo {
    /// Endpoints per service (`s{i}.e{j}`).
    endpoints: Vec<u64>,
    /// Hostile mix: faults always, crashes among them, bounded queues and a
    /// balancer on every service, deadlines propagated on most timed calls.
    hostile: bool,
}

impl Topo {
    /// A random endpoint of a service after `i` (calls only go "down", so
    /// the call graph is acyclic); `None` for the last service.
    fn callee(&self, g: &mut Gen, i: usize) -> Option<String> {
        if i + 1 >= self.endpoints.len() {
            return None;
        }
        let s = g.range(i as u64 + 1, self.endpoints.len() as u64 - 1) as usize;
        let e = g.range(0, self.endpoints[s] - 1);
        Some(format!("s{s}.e{e}"))
    }
}

/// A random distribution, quoted when it holds `,` or `: ` (as YAML needs).
fn dist(g: &mut Gen) -> String {
    let d = dist_text(g);
    if d.contains(',') || d.contains(": ") { format!("\"{d}\"") } else { d }
}

fn dist_text(g: &mut Gen) -> String {
    let ms = g.range(1, 8);
    match g.range(0, 8) {
        0 | 1 => format!("exp({ms}ms)"),
        2 => format!("{ms}ms"),
        3 => format!("{}us", g.range(50, 3000)),
        4 => format!("uniform({}us, {}us)", g.range(0, 500), g.range(600, 4000)),
        5 => format!("lognormal(median={ms}ms, p99={}ms)", ms * g.range(2, 10)),
        6 => format!("erlang(k={}, mean={ms}ms)", g.range(1, 4)),
        7 => format!("mix(0.9: exp({ms}ms), 0.1: exp({}ms))", ms * 5),
        _ => format!("pareto(min=100us, alpha={}, max={}ms)", 1.0 + g.range(1, 9) as f64 / 10.0, g.range(10, 50)),
    }
}

/// Writes one step as a YAML list item at `indent` spaces; `depth` limits
/// nesting.
fn step(g: &mut Gen, t: &Topo, svc: usize, depth: u32, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let nested = depth < 2;
    let kind = g.range(0, 11);
    match kind {
        0..=2 => {
            let _ = writeln!(out, "{pad}- work: {}", dist(g));
        }
        3 => {
            let _ = writeln!(out, "{pad}- delay: {}", dist(g));
        }
        4 | 5 => match t.callee(g, svc) {
            Some(callee) => {
                let _ = writeln!(out, "{pad}- call: {callee}");
                let timed = g.chance(if t.hostile { 0.6 } else { 0.35 });
                if timed {
                    let _ = writeln!(out, "{pad}  timeout: {}ms", g.range(2, 60));
                }
                if g.chance(0.2) {
                    let _ = writeln!(out, "{pad}  probability: {}", g.range(1, 9) as f64 / 10.0);
                }
                if g.chance(0.25) {
                    let _ = writeln!(out, "{pad}  on_failure: continue");
                }
                if g.chance(0.15) {
                    let _ = writeln!(out, "{pad}  cancel: true");
                }
                if g.chance(0.1) {
                    let _ = writeln!(out, "{pad}  latency: {}", dist(g));
                }
                // Resilience keys. Shared state (breaker, budget, throttle)
                // always has the same settings, so call sites sharing a key agree.
                if g.chance(0.3) {
                    let on = g.pick(&["[timeout, error, rejected]", "[timeout]", "[error, short_circuited]"]);
                    let backoff = g.pick(&[
                        "",
                        ", backoff: { base: 2ms, jitter: full }",
                        ", backoff: { base: 1ms, cap: 8ms, jitter: decorrelated }",
                        ", backoff: grpc",
                        ", backoff: envoy",
                    ]);
                    let budget = if g.chance(0.3) { ", budget: { ratio: 20%, min_per_s: 5, ttl: 2s }" } else { "" };
                    let _ = writeln!(out, "{pad}  retry: {{ attempts: {}, on: {on}{backoff}{budget} }}", g.range(2, 4));
                }
                if g.chance(0.1) {
                    let _ = writeln!(out, "{pad}  hedge: {{ after: {}ms, max: {} }}", g.range(1, 20), g.range(2, 3));
                }
                if g.chance(0.1) {
                    let _ = writeln!(
                        out,
                        "{pad}  circuit_breaker: {{ window: 20, min_calls: 5, failure_rate: 50%, open_for: 200ms, half_open_calls: 2 }}"
                    );
                }
                if g.chance(0.1) {
                    let _ = writeln!(out, "{pad}  throttle: {{ kind: grpc, max_tokens: 10, token_ratio: 0.1 }}");
                }
                if g.chance(if t.hostile && timed { 0.7 } else { 0.15 }) {
                    let _ = writeln!(out, "{pad}  deadline: propagate");
                }
                if g.chance(0.1) {
                    let _ = writeln!(out, "{pad}  timeout_total: {}ms", g.range(5, 100));
                }
            }
            None => {
                let _ = writeln!(out, "{pad}- work: {}", dist(g));
            }
        },
        6 if nested => {
            let n = g.range(2, 3);
            let _ = writeln!(out, "{pad}- parallel:");
            for _ in 0..n {
                step(g, t, svc, depth + 1, indent + 4, out);
            }
            match g.range(0, 3) {
                0 => {}
                1 => {
                    let _ = writeln!(out, "{pad}  wait: all");
                }
                2 => {
                    let _ = writeln!(out, "{pad}  wait: any");
                }
                _ => {
                    let _ = writeln!(out, "{pad}  wait: {}", g.range(1, n));
                }
            }
        }
        7 if nested => {
            let _ = writeln!(out, "{pad}- branch:");
            // Weights in tenths summing to 1.
            let first = g.range(1, 8);
            let weights = if g.chance(0.5) {
                vec![first, 10 - first]
            } else {
                let second = g.range(1, 9 - first);
                vec![first, second, 10 - first - second]
            };
            for w in weights {
                let _ = writeln!(out, "{pad}    - weight: {}", w as f64 / 10.0);
                let _ = writeln!(out, "{pad}      steps:");
                for _ in 0..g.range(1, 2) {
                    step(g, t, svc, depth + 1, indent + 8, out);
                }
            }
        }
        8 if nested => {
            let _ = writeln!(out, "{pad}- repeat:");
            let _ = writeln!(out, "{pad}    count: {}", g.range(0, 3));
            let _ = writeln!(out, "{pad}    steps:");
            for _ in 0..g.range(1, 2) {
                step(g, t, svc, depth + 1, indent + 6, out);
            }
        }
        9 => {
            let _ = writeln!(out, "{pad}- fail: {}%", g.range(1, 20));
        }
        10 if nested => {
            let _ = writeln!(out, "{pad}- sequence:");
            for _ in 0..g.range(1, 2) {
                step(g, t, svc, depth + 1, indent + 4, out);
            }
        }
        11 if nested => {
            // The name carries the ratio: one name, one hit ratio.
            let pct = g.range(0, 10) * 10;
            let _ = writeln!(out, "{pad}- cache:");
            let _ = writeln!(out, "{pad}    name: hit{pct}");
            let _ = writeln!(out, "{pad}    hit_ratio: {pct}%");
            for part in ["hit", "miss"] {
                if g.chance(0.8) {
                    let _ = writeln!(out, "{pad}    {part}:");
                    step(g, t, svc, depth + 1, indent + 6, out);
                }
            }
        }
        _ => {
            let _ = writeln!(out, "{pad}- work: {}", dist(g));
        }
    }
}

/// The YAML of random topology number `seed`.
pub fn random_topology(seed: u64) -> String {
    random_topology_with(seed, false)
}

/// The YAML of random topology number `seed` of the hostile mix.
pub fn hostile_topology(seed: u64) -> String {
    random_topology_with(seed, true)
}

fn random_topology_with(seed: u64, hostile: bool) -> String {
    let mut g = Gen(seed);
    let n = g.range(2, 5) as usize;
    let t = Topo { endpoints: (0..n).map(|_| g.range(1, 2)).collect(), hostile };
    let mut y = String::new();
    let _ = writeln!(y, "name: swarm-{seed}");
    let _ = writeln!(y, "duration: {}ms", g.range(1500, 4000));
    let _ = writeln!(y, "warmup: {}ms", g.range(0, 500));
    let _ = writeln!(y, "seed: {seed}");
    if g.chance(0.3) {
        let _ = writeln!(y, "network: {{ latency: {} }}", dist(&mut g));
    }
    let _ = writeln!(y, "services:");
    for i in 0..n {
        let _ = writeln!(y, "  s{i}:");
        let _ = writeln!(y, "    replicas: {}", g.range(if hostile { 2 } else { 1 }, 3));
        let _ = writeln!(y, "    cpus: {}", g.range(1, 4));
        if g.chance(0.4) {
            let _ = writeln!(y, "    max_in_flight: {}", g.range(1, 8));
        } else if g.chance(0.15) {
            let a = g.pick(&["gradient", "vegas"]);
            let _ = writeln!(y, "    max_in_flight: {{ adaptive: {a}, initial: 4, min: 1, max: 16 }}");
        }
        if g.chance(if hostile { 1.0 } else { 0.5 }) {
            let mut q = vec![format!("capacity: {}", g.range(1, 10))];
            if g.chance(0.3) {
                q.push("discipline: lifo".into());
            }
            if g.chance(0.3) {
                q.push(format!("max_wait: {}ms", g.range(1, 50)));
            }
            let _ = writeln!(y, "    queue: {{ {} }}", q.join(", "));
        }
        if hostile {
            // Every balancer, in turn over the services and seeds.
            let b = ["round_robin", "random", "least_request", "p2c"][(seed as usize + i) % 4];
            let _ = writeln!(y, "    balancer: {b}");
        } else if g.chance(0.5) {
            let b = g.pick(&["round_robin", "random", "least_request", "p2c"]);
            let _ = writeln!(y, "    balancer: {b}");
        }
        if g.chance(0.2) {
            // Replicas come and go within the short run (replicas is 1..3 above).
            let metric = g.pick(&["{ cpu: 50% }", "{ in_flight: 2 }", "{ rps: 20 }"]);
            let behavior = g.pick(&["", ", behavior: {}"]);
            let _ = writeln!(
                y,
                "    autoscale: {{ min: 1, max: 5, metrics: [ {metric} ], sync_period: 300ms, metrics_delay: 100ms, startup: {}ms{behavior} }}",
                g.range(1, 400)
            );
        }
        let _ = writeln!(y, "    endpoints:");
        for e in 0..t.endpoints[i] {
            let _ = writeln!(y, "      e{e}:");
            let _ = writeln!(y, "        steps:");
            for _ in 0..g.range(1, 4) {
                step(&mut g, &t, i, 0, 10, &mut y);
            }
        }
    }
    if g.chance(if hostile { 1.0 } else { 0.4 }) {
        let _ = writeln!(y, "faults:");
        for k in 0..g.range(1, 3) + u64::from(hostile) {
            let s = g.range(0, n as u64 - 1);
            let at = g.range(0, 1200);
            // The hostile mix always crashes something first.
            let kind = if hostile && k == 0 { 3 } else { g.range(0, 7) };
            let f = match kind {
                0 => format!("{{ at: {at}ms, for: 300ms, kind: latency, service: s{s}, add: 5ms }}"),
                1 => format!("{{ at: {at}ms, for: 300ms, kind: latency, service: s{s}, multiply: 3 }}"),
                2 => format!("{{ at: {at}ms, for: 400ms, kind: errors, service: s{s}, rate: 50% }}"),
                3 => format!("{{ at: {at}ms, kind: crash, service: s{s}, replicas: 1, restart_after: 300ms }}"),
                4 => format!(
                    "{{ at: {at}ms, for: 200ms, kind: outage, service: s{s}, mode: {} }}",
                    g.pick(&["hang", "refuse"])
                ),
                5 => format!("{{ at: {at}ms, kind: pauses, service: s{s}, every: exp(100ms), pause: 10ms }}"),
                6 => format!("{{ at: {at}ms, for: 500ms, kind: slowdown, service: s{s}, factor: 4 }}"),
                _ => {
                    let to = (s + 1) % n as u64;
                    format!("{{ at: {at}ms, for: 200ms, kind: partition, from: s{s}, to: s{to}, mode: refuse }}")
                }
            };
            let _ = writeln!(y, "  - {f}");
        }
    }
    let _ = writeln!(y, "workload:");
    for w in 0..g.range(1, 2) {
        let target = format!("s0.e{}", g.range(0, t.endpoints[0] - 1));
        let _ = writeln!(y, "  - name: w{w}");
        let _ = writeln!(y, "    target: {target}");
        if g.chance(0.7) {
            let _ = writeln!(y, "    rate: {}/s", g.range(10, 400));
            let a = g.pick(&["poisson", "uniform", "deterministic"]);
            let _ = writeln!(y, "    arrivals: {a}");
            if g.chance(0.4) {
                let shape = match g.range(0, 4) {
                    0 => format!("spike: {{ at: {}ms, for: 500ms, factor: {} }}", g.range(0, 1500), g.range(2, 5)),
                    1 => format!("ramp: {{ from: 0.1, to: 1.0, over: {}ms }}", g.range(100, 2000)),
                    2 => "bursts: { on: exp(200ms), off: exp(300ms), factor: 3 }".to_string(),
                    3 => "steps: [ [0s, 1.0], [1s, 2.0] ]".to_string(),
                    _ => "diurnal: { period: 2s, min: 0.2, max: 1.0, peak_at: 1s }".to_string(),
                };
                let _ = writeln!(y, "    shape:\n      - {shape}");
            }
        } else {
            let _ = writeln!(y, "    users: {}", g.range(1, 30));
            let _ = writeln!(y, "    think: exp({}ms)", g.range(1, 200));
        }
        if g.chance(0.3) {
            let (timeout, attempts) = (g.range(5, 200), g.range(1, 3));
            let cancel = g.chance(0.5);
            let _ = writeln!(
                y,
                "    client: {{ timeout: {timeout}ms, retry: {{ attempts: {attempts}, backoff: {{ base: 5ms, jitter: full }} }}, cancel: {cancel} }}"
            );
        }
    }
    y
}

#[test]
fn random_topologies_keep_invariants() {
    swarm("random", random_topology);
}

/// Faults together with deadlines, queues and every balancer: the mix
/// where a crash meets expiring queued work and propagated timeouts.
#[test]
fn hostile_topologies_keep_invariants() {
    swarm("hostile", hostile_topology);
}

/// Runs `CASES` topologies of one mix, checking invariants and determinism;
/// a failure names the seed (`<mix>_topology(seed)` rebuilds its YAML).
fn swarm(mix: &str, topology: fn(u64) -> String) {
    let mut failures = Vec::new();
    // What the swarm exercised, so a generator that stops producing
    // failures, timeouts or rejections is noticed.
    let (mut ok, mut errors, mut timeouts, mut rejected) = (0, 0, 0, 0);
    let (mut retries, mut hedges, mut short_circuits) = (0, 0, 0);
    let n = cases();
    for seed in 1..=n {
        let text = topology(seed);
        let model = match load_yaml(&format!("swarm-{seed}.yaml"), &text) {
            Ok(m) => m,
            Err(d) => {
                failures.push(format!(
                    "seed {seed}: the generated topology does not load:\n{}\n{text}",
                    crate::common::show(&d)
                ));
                continue;
            }
        };
        let run = std::panic::catch_unwind(|| run_unasserted(&model, &options(seed, None)));
        match run {
            Err(_) => failures.push(format!("seed {seed}: the simulator panicked on\n{text}")),
            Ok(r) => {
                for w in r.workloads.values() {
                    ok += w.ok;
                    errors += w.failures.error;
                    rejected += w.failures.rejected;
                }
                timeouts += r.edges.values().map(|e| e.timeouts).sum::<u64>();
                retries += r.edges.values().map(|e| e.retries).sum::<u64>();
                hedges += r.edges.values().map(|e| e.hedges).sum::<u64>();
                short_circuits += r.edges.values().map(|e| e.short_circuits).sum::<u64>();
                let mut v = invariant_violations(&model, &r);
                // Determinism on every feature the swarm uses: a second run
                // gives the same bytes.
                let again = run_unasserted(&model, &options(seed, None));
                let json = |x: &stormcast::metrics::RunResult| serde_json::to_string(x).unwrap_or_default();
                if json(&r) != json(&again) {
                    v.push("a second run with the same seed gave different JSON".into());
                }
                if !v.is_empty() {
                    failures.push(format!("seed {seed}: invariants broken:\n  {}\n{text}", v.join("\n  ")));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} {mix} topologies failed (rerun one with {mix}_topology(seed)):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    println!("{mix} swarm: {ok} ok, {errors} errors, {rejected} rejected requests; {timeouts} call timeouts");
    println!("{mix} swarm: {retries} retries, {hedges} hedges, {short_circuits} short-circuits");
    for (what, n) in [("ok", ok), ("error", errors), ("timeout", timeouts), ("rejected", rejected)] {
        assert!(n > 0, "nothing in the {mix} swarm ended {what}");
    }
    for (what, n) in [("retries", retries), ("hedges", hedges), ("short-circuits", short_circuits)] {
        assert!(n > 0, "the {mix} swarm made no {what}");
    }
}

#[test]
fn generator_is_deterministic_and_varied() {
    assert_eq!(random_topology(7), random_topology(7));
    let all: Vec<String> = (1..=CASES).map(random_topology).collect();
    for needle in [
        "parallel:",
        "branch:",
        "repeat:",
        "timeout:",
        "capacity:",
        "max_in_flight:",
        "wait: any",
        "fail:",
        "users:",
        "probability:",
        "lifo",
        "max_wait",
        "sequence:",
        "cache:",
        "network:",
        "latency:",
        "shape:",
        "uniform(",
        "lognormal(",
        "pareto(",
        "mix(",
        "erlang(",
    ] {
        assert!(all.iter().any(|t| t.contains(needle)), "no generated topology uses {needle:?}");
    }
}
