//! Swarm testing (as in TigerBeetle's VOPR): small random topologies from a
//! seed — 2 to 5 services with random replicas, cores, admission limits,
//! bounded queues (fifo/lifo, max_wait), balancers, and endpoints mixing
//! work, delay, calls (timeouts, probability, on_failure, cancel), parallel
//! fan-outs with every join rule, weighted branches, repeats and failures —
//! written as YAML, loaded through the real reader and run briefly with
//! invariants checked. Only invariants are judged, never numbers. A failure
//! prints the seed and the YAML to rerun it.

use crate::common::{invariant_violations, load_yaml, options, run_unasserted};
use std::fmt::Write;

/// How many random topologies one test run tries.
const CASES: u64 = 30;

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

fn dist(g: &mut Gen) -> String {
    let ms = g.range(1, 8);
    match g.range(0, 2) {
        0 => format!("exp({ms}ms)"),
        1 => format!("{ms}ms"),
        _ => format!("{}us", g.range(50, 3000)),
    }
}

/// Writes one step as a YAML list item at `indent` spaces; `depth` limits
/// nesting.
fn step(g: &mut Gen, t: &Topo, svc: usize, depth: u32, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let nested = depth < 2;
    let kind = g.range(0, 9);
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
                if g.chance(0.35) {
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
        _ => {
            let _ = writeln!(out, "{pad}- work: {}", dist(g));
        }
    }
}

/// The YAML of random topology number `seed`.
pub fn random_topology(seed: u64) -> String {
    let mut g = Gen(seed);
    let n = g.range(2, 5) as usize;
    let t = Topo { endpoints: (0..n).map(|_| g.range(1, 2)).collect() };
    let mut y = String::new();
    let _ = writeln!(y, "name: swarm-{seed}");
    let _ = writeln!(y, "duration: {}ms", g.range(1500, 4000));
    let _ = writeln!(y, "warmup: {}ms", g.range(0, 500));
    let _ = writeln!(y, "seed: {seed}");
    let _ = writeln!(y, "services:");
    for i in 0..n {
        let _ = writeln!(y, "  s{i}:");
        let _ = writeln!(y, "    replicas: {}", g.range(1, 3));
        let _ = writeln!(y, "    cpus: {}", g.range(1, 4));
        if g.chance(0.5) {
            let _ = writeln!(y, "    max_in_flight: {}", g.range(1, 8));
        }
        if g.chance(0.5) {
            let mut q = vec![format!("capacity: {}", g.range(1, 10))];
            if g.chance(0.3) {
                q.push("discipline: lifo".into());
            }
            if g.chance(0.3) {
                q.push(format!("max_wait: {}ms", g.range(1, 50)));
            }
            let _ = writeln!(y, "    queue: {{ {} }}", q.join(", "));
        }
        if g.chance(0.5) {
            let b = g.pick(&["round_robin", "random", "least_request", "p2c"]);
            let _ = writeln!(y, "    balancer: {b}");
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
    let _ = writeln!(y, "workload:");
    for w in 0..g.range(1, 2) {
        let target = format!("s0.e{}", g.range(0, t.endpoints[0] - 1));
        let _ = writeln!(y, "  - name: w{w}");
        let _ = writeln!(y, "    target: {target}");
        if g.chance(0.7) {
            let _ = writeln!(y, "    rate: {}/s", g.range(10, 400));
            let a = g.pick(&["poisson", "uniform", "deterministic"]);
            let _ = writeln!(y, "    arrivals: {a}");
        } else {
            let _ = writeln!(y, "    users: {}", g.range(1, 30));
            let _ = writeln!(y, "    think: exp({}ms)", g.range(1, 200));
        }
    }
    y
}

#[test]
fn random_topologies_keep_invariants() {
    let mut failures = Vec::new();
    for seed in 1..=CASES {
        let text = random_topology(seed);
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
                let v = invariant_violations(&model, &r);
                if !v.is_empty() {
                    failures.push(format!("seed {seed}: invariants broken:\n  {}\n{text}", v.join("\n  ")));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CASES} random topologies failed (rerun one with random_topology(seed)):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
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
    ] {
        assert!(all.iter().any(|t| t.contains(needle)), "no generated topology uses {needle:?}");
    }
}
