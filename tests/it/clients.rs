//! Edge clients (`client:` on a workload): users who stop waiting and try
//! again, against arithmetic. Every run checks invariants.

use crate::common::{load_yaml, options, run_checked, show};
use stormcast::metrics::{ClientResult, RunResult};

fn run(text: &str, seed: u64) -> RunResult {
    let m = load_yaml("client.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    run_checked(&m, &options(seed, None))
}

fn client(r: &RunResult) -> ClientResult {
    r.workloads["w"].client.expect("a workload with client: reports it")
}

/// A service that always takes 50 ms behind a client that waits 20 ms
/// three times: every attempt times out, every request fails after exactly
/// three attempts, and the service sees all of them (nothing cancels them).
#[test]
fn a_service_slower_than_the_timeout_fails_every_attempt() {
    let text = "duration: 20s
warmup: 0s
services:
  s: { cpus: 64, endpoints: { e: { work: 50ms } } }
workload:
  - { name: w, target: s.e, rate: 10/s, arrivals: deterministic,
      client: { timeout: 20ms, retry: { attempts: 3 } } }
";
    let r = run(text, 1);
    let w = &r.workloads["w"];
    let c = client(&r);
    let done = w.ok + w.failed;
    assert!(done >= 199, "{done} requests ended");
    assert_eq!(w.ok, 0);
    assert_eq!(w.failures.timeout, w.failed, "every failure is a timeout");
    assert_eq!(c.gave_up, w.failed, "each failed request's last attempt timed out at the client");
    // Requests arrive every 100 ms and end 60 ms later: at most the last
    // one is still trying when the run ends, with up to 3 attempts sent.
    let open = w.in_flight_at_end;
    assert!(open <= 1);
    let extra = c.attempts - 3 * done;
    assert!(extra <= 3 * open, "{c:?}");
    assert_eq!(c.retries, 2 * done + extra.saturating_sub(open), "{c:?}");
    assert!(c.timeouts >= 3 * done && c.timeouts <= c.attempts, "{c:?}");
    assert_eq!((c.first_try_ok, c.ok_after_retry), (0, 0));
    assert_eq!(r.services["s"].arrivals, c.attempts, "the service sees every client attempt");
    assert_eq!(r.services["s"].timeouts, c.timeouts);
    assert_eq!(w.causes[0].at, "w client", "the root cause is the client's timeout");
}

/// Exponential work with mean 1/μ = 10 ms and no queueing (64 cores at
/// ρ ≈ 1): an attempt outlasts a T = 20 ms timeout with probability
/// p = e^{−μT} = e^{−2}. With two attempts on timeouts: a request fails
/// with p², succeeds at once with 1 − p, after a retry with p(1 − p).
#[test]
fn exponential_work_times_out_with_probability_e_to_the_minus_mu_t() {
    let text = "duration: 400s
warmup: 1s
services:
  s: { cpus: 64, endpoints: { e: { work: exp(10ms) } } }
workload:
  - { name: w, target: s.e, rate: 100/s,
      client: { timeout: 20ms, retry: { attempts: 2, on: [timeout] } } }
";
    let r = run(text, 3);
    let w = &r.workloads["w"];
    let c = client(&r);
    let n = (w.ok + w.failed) as f64;
    let p = (-2.0f64).exp(); // 0.1353
    // Proportions over n ≈ 40,000 requests (attempts ≈ 45,000): the
    // binomial sd sqrt(q(1−q)/n) is at most 0.0025; tolerances are 5 sd
    // of each proportion.
    let tol = |q: f64, k: f64| 5.0 * (q * (1.0 - q) / k).sqrt();
    let attempts = c.attempts as f64;
    let per_attempt = c.timeouts as f64 / attempts;
    assert!((per_attempt - p).abs() < tol(p, attempts), "P(timeout) {per_attempt} vs {p}");
    let first = c.first_try_ok as f64 / n;
    assert!((first - (1.0 - p)).abs() < tol(1.0 - p, n), "first try ok {first} vs {}", 1.0 - p);
    let after = c.ok_after_retry as f64 / n;
    let q = p * (1.0 - p);
    assert!((after - q).abs() < tol(q, n), "ok after a retry {after} vs {q}");
    let failed = w.failed as f64 / n;
    assert!((failed - p * p).abs() < tol(p * p, n), "failed {failed} vs {}", p * p);
    assert_eq!(c.gave_up, w.failed);
    assert_eq!(c.attempts - c.retries, w.offered, "one first try per request");
    assert!((c.amplification - (1.0 + p)).abs() < 0.01, "attempts per request {} vs {}", c.amplification, 1.0 + p);
    // A success after a retry took the 20 ms the first attempt was given.
    let p99 = w.latency_ms.p99.expect("successes");
    assert!(p99 > 20.0, "the slowest successes waited out a timeout first: p99 {p99} ms");
}

/// `cancel: true` drops the attempts the users gave up on (the step in
/// progress ends, the next never starts); without it, the service keeps
/// working for nobody. Two 25 ms steps behind a 20 ms timeout: 30 ms of
/// each attempt are wasted without cancel, 5 ms with it.
#[test]
fn cancel_drops_abandoned_attempts_at_the_entry_service() {
    let yaml = |cancel: bool| {
        format!(
            "duration: 60s
services:
  s: {{ cpus: 64, endpoints: {{ e: {{ steps: [ {{ work: 25ms }}, {{ work: 25ms }} ] }} }} }}
workload:
  - {{ name: w, target: s.e, rate: 20/s, arrivals: deterministic,
      client: {{ timeout: 20ms, cancel: {cancel} }} }}
"
        )
    };
    let kept = run(&yaml(false), 1);
    let dropped = run(&yaml(true), 1);
    let (k, d) = (&kept.services["s"], &dropped.services["s"]);
    // Up to one attempt straddles the warm-up's end or the run's end.
    let near = |x: f64, per: f64, n: u64| (x - per * n as f64).abs() <= 2.0 * 0.05;
    assert!(near(k.wasted_cpu_s, 0.030, k.arrivals), "kept: wasted {} s of {} attempts", k.wasted_cpu_s, k.arrivals);
    assert!(near(d.wasted_cpu_s, 0.005, d.arrivals), "cancelled: wasted {} s", d.wasted_cpu_s);
    let (c, w) = (client(&dropped), &dropped.workloads["w"]);
    assert!(c.timeouts >= w.failed && c.timeouts <= w.failed + w.in_flight_at_end, "{c:?}");
}

/// A workload without `client:` reports none, and a client's retry cannot
/// take a budget (it is one client's, and users share none).
#[test]
fn client_is_reported_only_when_written_and_refuses_a_budget() {
    let plain = "duration: 5s
services: { s: { endpoints: { e: { work: 1ms } } } }
workload: [ { name: w, target: s.e, rate: 10/s } ]
";
    assert!(run(plain, 1).workloads["w"].client.is_none());
    let bad = "duration: 5s
services: { s: { endpoints: { e: { work: 1ms } } } }
workload:
  - name: w
    target: s.e
    rate: 10/s
    client: { timeout: 1s, retry: { attempts: 2, budget: { ratio: 10% } }, cancle: true }
";
    let d = load_yaml("client.yaml", bad).expect_err("refused");
    let text = show(&d);
    assert!(text.contains("workload[0].client.retry.budget"), "{text}");
    assert!(text.contains("users share none"), "{text}");
    assert!(text.contains("cancle") && text.contains("cancel"), "a misspelt key gets a suggestion: {text}");
}
