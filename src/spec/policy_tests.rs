//! Tests of the resilience keys (`policies`, the call keys, adaptive
//! `max_in_flight`) and of `faults`: what they build and every error.

use crate::engine::SimDuration;
use crate::model::*;
use crate::spec::{Diagnostic, Diagnostics};

fn load(text: &str) -> Result<Model, Diagnostics> {
    crate::spec::testing::load_named("shop.yaml", text)
}

fn ok(text: &str) -> Model {
    match load(text) {
        Ok(m) => m,
        Err(d) => panic!("unexpected problems:\n{d}\nin:\n{text}"),
    }
}

/// The only problem of `text`, which must contain `needle`.
fn one_error(text: &str, needle: &str) -> Diagnostic {
    let errs = match load(text) {
        Ok(_) => panic!("expected a problem containing '{needle}' in:\n{text}"),
        Err(d) => d.0,
    };
    assert_eq!(errs.len(), 1, "expected one problem, got {errs:#?}");
    assert!(errs[0].message.contains(needle), "'{}' does not contain '{needle}'", errs[0].message);
    errs.into_iter().next().unwrap()
}

/// `top` (top-level keys), then service `api` whose endpoint `get` has
/// `steps`, a `db` service with `query` and `read`, a 30 m run.
fn topo(top: &str, steps: &str) -> String {
    format!(
        "duration: 30m\n{top}services:\n  api:\n    endpoints:\n      get:\n        steps:\n{steps}  db:\n    \
         endpoints:\n      query: {{ work: 1ms }}\n      read: {{ work: 2ms }}\nworkload:\n  - {{ name: web, target: \
         api.get, rate: 10/s }}\n"
    )
}

/// One call to `db.query` with `keys` (a flow map's inside).
fn call(keys: &str) -> String {
    topo("", &format!("          - {{ call: db.query, {keys} }}\n"))
}

fn edge(m: &Model) -> &Edge {
    &m.edges[0]
}

const MS: fn(u64) -> SimDuration = SimDuration::from_millis;

#[test]
fn a_call_with_every_key() {
    let m = ok(&topo(
        "",
        r#"          - call: db.query
            timeout: 300ms
            timeout_total: 1s
            deadline: propagate
            retry:
              attempts: 3
              on: [timeout, rejected]
              backoff: { base: 25ms, multiplier: 3, cap: 1s, jitter: full }
              budget: { ratio: 10%, min_per_s: 5, ttl: 20s }
            throttle: { kind: grpc, max_tokens: 10, token_ratio: 0.1 }
            hedge: { after: 50ms, max: 3 }
            circuit_breaker: { window: 10s, min_calls: 20, failure_rate: 40%,
                               slow_call: { over: 1s, rate: 80% }, open_for: 30s, half_open_calls: 5 }
"#,
    ));
    let e = edge(&m);
    assert_eq!((e.timeout, e.timeout_total, e.deadline_propagate), (Some(MS(300)), Some(MS(1000)), true));
    let r = e.retry.unwrap();
    assert_eq!(r.attempts, 3);
    assert_eq!(r.on, RetryOn::NONE.with(FailureKind::Timeout).with(FailureKind::Rejected));
    assert_eq!(r.backoff, Backoff { base: MS(25), multiplier: 3.0, cap: Some(MS(1000)), jitter: Jitter::Full });
    assert_eq!(r.budget, Some(BudgetId(0)));
    assert_eq!(
        m.budgets,
        [Shared { name: "api->db".into(), cfg: Budget::Finagle { ratio: 0.1, min_per_s: 5, ttl: MS(20_000) } }]
    );
    assert_eq!(e.throttle, Some(ThrottleId(0)));
    assert_eq!(m.throttles[0].cfg, Throttle::Grpc { max_tokens: 10, token_ratio_milli: 100 });
    assert_eq!(e.hedge, Some(Hedge { after: MS(50), max: 3 }));
    assert_eq!(e.breaker, Some(BreakerId(0)));
    assert_eq!(m.breakers[0].name, "api->db.query");
    assert_eq!(
        m.breakers[0].cfg,
        BreakerCfg {
            window: BreakerWindow::Seconds(10),
            min_calls: 20,
            failure_rate: 0.4,
            slow_call_over: MS(1000),
            slow_call_rate: 0.8,
            open_for: MS(30_000),
            half_open_calls: 5,
        }
    );
}

#[test]
fn defaults() {
    let m = ok(&call("retry: { attempts: 3 }"));
    let r = edge(&m).retry.unwrap();
    assert_eq!((r.on, r.backoff, r.budget), (RetryOn::DEFAULT, Backoff::IMMEDIATE, None));
    let m = ok(&call("timeout: 1s"));
    let e = edge(&m);
    assert!(e.retry.is_none() && e.hedge.is_none() && e.breaker.is_none() && e.throttle.is_none());
    assert!(!e.deadline_propagate && e.timeout_total.is_none());
    assert!(m.budgets.is_empty() && m.throttles.is_empty() && m.breakers.is_empty() && m.faults.is_empty());
    let m = ok(&call("circuit_breaker: {}, hedge: {}"));
    assert_eq!(m.breakers[0].cfg, BreakerCfg::DEFAULT);
    assert_eq!(edge(&m).hedge, Some(Hedge { after: SimDuration::ZERO, max: 2 }));
    let m = ok(&call("retry: { attempts: 2, on: error }, deadline: none"));
    assert_eq!(edge(&m).retry.unwrap().on, RetryOn::NONE.with(FailureKind::Error));
}

fn backoff_of(text: &str) -> Backoff {
    edge(&ok(&call(&format!("retry: {{ attempts: 3, backoff: {text} }}")))).retry.unwrap().backoff
}

#[test]
fn backoff_presets_and_jitters() {
    assert_eq!(backoff_of("grpc"), Backoff::GRPC);
    assert_eq!(backoff_of("envoy"), Backoff::ENVOY);
    assert_eq!(backoff_of("none"), Backoff::IMMEDIATE);
    assert_eq!(backoff_of("{ jitter: grpc }"), Backoff::GRPC);
    assert_eq!(backoff_of("{ jitter: envoy }"), Backoff::ENVOY);
    let e = backoff_of("{ jitter: envoy, base: 50ms }");
    assert_eq!((e.base, e.cap, e.jitter), (MS(50), Some(MS(500)), Jitter::Envoy), "max interval 10 × base");
    let e = backoff_of("{ jitter: envoy_documented, base: 10ms, cap: 1s }");
    assert_eq!((e.base, e.cap, e.jitter), (MS(10), Some(MS(1000)), Jitter::EnvoyDocumented));
    let d = backoff_of("{ base: 10ms, cap: 2s, jitter: decorrelated }");
    assert_eq!(d, Backoff { base: MS(10), multiplier: 2.0, cap: Some(MS(2000)), jitter: Jitter::Decorrelated });
    let n = backoff_of("{ base: 10ms }");
    assert_eq!(n, Backoff { base: MS(10), multiplier: 2.0, cap: None, jitter: Jitter::None });
    assert_eq!(backoff_of("{ base: 1ms, jitter: equal }").jitter, Jitter::Equal);
    assert_eq!(backoff_of("{ jitter: grpc, base: 200ms, cap: 5s, multiplier: 1.6 }").multiplier, 1.6);
}

fn budget_of(text: &str) -> Budget {
    ok(&call(&format!("retry: {{ attempts: 3, budget: {text} }}"))).budgets[0].cfg
}

#[test]
fn budget_kinds() {
    assert_eq!(budget_of("{}"), Budget::FINAGLE);
    assert_eq!(budget_of("{ ratio: 10% }"), Budget::Finagle { ratio: 0.1, min_per_s: 10, ttl: MS(10_000) });
    assert_eq!(
        budget_of("{ kind: finagle, ratio: 0, min_per_s: 0 }"),
        Budget::Finagle { ratio: 0.0, min_per_s: 0, ttl: MS(10_000) }
    );
    assert_eq!(budget_of("{ ratio: 1000% }"), Budget::Finagle { ratio: 10.0, min_per_s: 10, ttl: MS(10_000) });
    assert_eq!(budget_of("{ kind: envoy }"), Budget::ENVOY);
    assert_eq!(
        budget_of("{ kind: envoy, ratio: 50%, min_concurrent: 1 }"),
        Budget::Envoy { ratio: 0.5, min_concurrent: 1 }
    );
}

fn throttle_of(text: &str) -> Throttle {
    ok(&call(&format!("throttle: {text}"))).throttles[0].cfg
}

#[test]
fn throttle_kinds() {
    let g = |milli| Throttle::Grpc { max_tokens: 10, token_ratio_milli: milli };
    assert_eq!(throttle_of("{ max_tokens: 10, token_ratio: 0.29 }"), g(290), "0.29·1000 is 289.99… in doubles");
    assert_eq!(throttle_of("{ kind: grpc, max_tokens: 10, token_ratio: 0.1234 }"), g(123), "3 decimals kept");
    assert_eq!(throttle_of("{ kind: grpc, max_tokens: 10, token_ratio: 2 }"), g(2000));
    assert_eq!(throttle_of("{ kind: aws }"), Throttle::Aws(AwsQuota::STANDARD));
    assert_eq!(throttle_of("{ kind: aws_2026 }"), Throttle::Aws(AwsQuota::NEW_2026));
    let custom = throttle_of("{ kind: aws, capacity: 100, cost: 2, timeout_cost: 4, rejected_cost: 1 }");
    assert_eq!(
        custom,
        Throttle::Aws(AwsQuota { capacity: 100, error_cost: 2, timeout_cost: 4, rejected_cost: 1, success_reward: 1 })
    );
}

const POLICIES: &str = r#"policies:
  standard:
    timeout: 300ms
    deadline: propagate
    retry: { attempts: 3, budget: { ratio: 20% } }
    circuit_breaker: { window: 50 }
    throttle: { kind: aws }
  quick: { timeout: 10ms }
"#;

#[test]
fn policies_apply_and_call_keys_win() {
    let steps = "          - { call: db.query, policy: standard, timeout: 1s }\n          - { call: db.read, policy: standard }\n          - { call: db.read, policy: quick, hedge: { after: 1ms } }\n";
    let m = ok(&topo(POLICIES, steps));
    let (a, b, c) = (&m.edges[0], &m.edges[1], &m.edges[2]);
    assert_eq!((a.timeout, b.timeout, c.timeout), (Some(MS(1000)), Some(MS(300)), Some(MS(10))));
    assert!(a.deadline_propagate && b.deadline_propagate && !c.deadline_propagate);
    assert_eq!(a.retry.unwrap().attempts, 3);
    assert!(c.retry.is_none() && c.hedge.is_some() && a.hedge.is_none());
    // One budget and one throttle for api->db, one breaker per endpoint.
    assert_eq!((a.retry.unwrap().budget, b.retry.unwrap().budget), (Some(BudgetId(0)), Some(BudgetId(0))));
    assert_eq!((m.budgets.len(), m.throttles.len()), (1, 1));
    assert_eq!((a.throttle, b.throttle, c.throttle), (Some(ThrottleId(0)), Some(ThrottleId(0)), None));
    assert_eq!((a.breaker, b.breaker), (Some(BreakerId(0)), Some(BreakerId(1))));
    let names: Vec<&str> = m.breakers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api->db.query", "api->db.read"]);
    // A call's key replaces the policy's key as a whole.
    let m = ok(&topo(POLICIES, "          - { call: db.query, policy: standard, retry: { attempts: 5 } }\n"));
    assert_eq!((edge(&m).retry.unwrap().attempts, edge(&m).retry.unwrap().budget), (5, None));
    assert!(m.budgets.is_empty());
}

#[test]
fn a_policy_takes_every_shared_client_key() {
    let top = "policies:\n  p: { cancel: true, on_failure: continue, latency: 2ms, timeout: 1s }\n";
    let m = ok(&topo(
        top,
        "          - { call: db.query, policy: p }\n          - { call: db.read, policy: p, cancel: false, latency: 5ms }\n",
    ));
    let (a, b) = (&m.edges[0], &m.edges[1]);
    assert!(a.cancel && a.continue_on_failure && a.timeout == Some(MS(1000)));
    assert_eq!(m.dist(a.latency.unwrap()).mean_ns(), 2e6);
    assert!(!b.cancel && b.continue_on_failure, "keys written on the call win");
    assert_eq!(m.dist(b.latency.unwrap()).mean_ns(), 5e6);
}

#[test]
fn the_same_edge_shares_one_breaker() {
    let steps = "          - { call: db.query, circuit_breaker: { window: 10 } }\n          - { call: db.query, circuit_breaker: { window: 10 } }\n";
    let m = ok(&topo("", steps));
    assert_eq!((m.edges[0].breaker, m.edges[1].breaker, m.breakers.len()), (Some(BreakerId(0)), Some(BreakerId(0)), 1));
}

#[test]
fn shared_state_must_agree() {
    let steps = "          - { call: db.query, retry: { attempts: 2, budget: { ratio: 10% } } }\n          - { call: db.read, retry: { attempts: 2, budget: { ratio: 20% } } }\n";
    let d = one_error(&topo("", steps), "calls from 'api' to 'db' share one retry budget");
    assert_eq!(d.path, "services.api.endpoints.get.steps[1].retry.budget");
    assert!(
        d.message.contains("differs from services.api.endpoints.get.steps[0].retry.budget (line 7, column"),
        "{}",
        d.message
    );
    let steps = "          - { call: db.query, throttle: { kind: aws } }\n          - { call: db.read, throttle: { kind: aws_2026 } }\n";
    one_error(&topo("", steps), "share one retry throttle");
    let steps = "          - { call: db.query, circuit_breaker: { window: 10 } }\n          - { call: db.query, circuit_breaker: { window: 20 } }\n";
    let d = one_error(&topo("", steps), "calls api->db.query share one circuit breaker");
    assert_eq!((d.line, d.column), (8, 31));
}

#[test]
fn errors_in_retry() {
    // A misspelt required key: one error, the unknown key with its
    // suggestion (not also "missing").
    let errs = load(&call("retry: { attempt: 3 }")).unwrap_err().0;
    let got: Vec<(usize, usize, &str)> = errs.iter().map(|d| (d.line, d.column, d.message.as_str())).collect();
    assert_eq!(
        got,
        [(7, 40, "unknown key 'attempt' in services.api.endpoints.get.steps[0].retry — did you mean 'attempts'?")]
    );
    one_error(&call("retry: {}"), "missing 'attempts' in services.api.endpoints.get.steps[0].retry");
    one_error(&call("retry: { attempts: 101 }"), "must be at most 100");
    let d = one_error(
        &call("retry: { attempts: 3, on: [timeout, eror] }"),
        "unknown failure kind 'eror' — did you mean 'error'?",
    );
    assert_eq!(d.path, "services.api.endpoints.get.steps[0].retry.on[1]");
    one_error(&call("retry: { attempts: 3, on: [] }"), "'on' lists no failure kind");
    one_error(&call("retry: 3"), "expected retry (a map), found '3'");
}

#[test]
fn errors_in_backoff() {
    let b = |t: &str| call(&format!("retry: {{ attempts: 3, backoff: {t} }}"));
    one_error(&b("gprc"), "unknown backoff preset 'gprc' — did you mean 'grpc'?");
    one_error(&b("{ jitter: full }"), "missing 'base'");
    one_error(&b("{ base: 5 }"), "has no unit");
    one_error(&b("{ base: 10ms, jitter: fulll }"), "unknown jitter 'fulll' — did you mean 'full'?");
    one_error(
        &b("{ base: 10ms, jitter: decorrelated, multiplier: 2 }"),
        "jitter decorrelated does not use a multiplier",
    );
    one_error(&b("{ base: 10ms, jitter: envoy, multiplier: 2 }"), "jitter envoy does not use a multiplier");
    let d = one_error(&b("{ base: 10ms, cap: 5ms }"), "cap (5ms) is shorter than base (10ms)");
    assert_eq!(d.path, "services.api.endpoints.get.steps[0].retry.backoff.cap");
    let d = one_error(&b("{ base: 2s, jitter: grpc }"), "cap (1s, the preset's) is shorter than base (2s)");
    assert_eq!(d.path, "services.api.endpoints.get.steps[0].retry.backoff.base");
    one_error(&b("{ base: 500us, jitter: envoy }"), "whole milliseconds");
    one_error(&b("{ base: 10ms, multiplier: 0 }"), "must be larger than zero");
}

#[test]
fn errors_in_budgets_and_throttles() {
    let b = |t: &str| call(&format!("retry: {{ attempts: 3, budget: {t} }}"));
    one_error(&b("{ kind: envoi }"), "unknown budget kind 'envoi' — did you mean 'envoy'?");
    one_error(&b("{ min_concurrent: 3 }"), "unknown key 'min_concurrent'");
    one_error(&b("{ kind: envoy, ttl: 10s }"), "unknown key 'ttl'");
    one_error(&b("{ ttl: 90s }"), "ttl 90s is outside 1s to 60s");
    one_error(&b("{ ratio: 1200% }"), "above 1000%");
    one_error(&b("{ kind: envoy, ratio: 150% }"), "outside [0, 1]");
    one_error(&b("20%"), "expected a budget of kind finagle (a map)");
    let t = |x: &str| call(&format!("throttle: {x}"));
    one_error(&t("{ token_ratio: 0.1 }"), "missing 'max_tokens'");
    one_error(&t("{ max_tokens: 2000, token_ratio: 0.1 }"), "must be at most 1000");
    one_error(&t("{ max_tokens: 10, token_ratio: 0.0001 }"), "keeps 3 decimals");
    one_error(&t("{ kind: aws, max_tokens: 10 }"), "unknown key 'max_tokens'");
    one_error(&t("{ kind: grcp }"), "did you mean 'grpc'?");
}

#[test]
fn errors_in_hedge_breaker_deadline_and_policy() {
    one_error(&call("hedge: { max: 1 }"), "must be at least 2");
    one_error(&call("hedge: { afer: 5ms }"), "did you mean 'after'?");
    one_error(&call("circuit_breaker: { window: 1.5s }"), "whole number of seconds");
    one_error(&call("circuit_breaker: { window: 0 }"), "must be at least 1");
    one_error(&call("circuit_breaker: { failure_rate: 0% }"), "would open on any call");
    one_error(&call("circuit_breaker: { failure_rate: 150% }"), "outside [0, 1]");
    one_error(&call("circuit_breaker: { slow_call: { ovr: 1s } }"), "did you mean 'over'?");
    one_error(&call("circuit_breaker: { open_for: 0s }"), "longer than zero");
    one_error(&call("deadline: propagat"), "unknown deadline mode 'propagat' — did you mean 'propagate'?");
    one_error(&call("timeout_total: 0s"), "longer than zero");
    let d = one_error(&call("policy: standard"), "no policy 'standard'");
    assert!(d.hint.unwrap().contains("define it at the top level"));
    let d = one_error(
        &topo(POLICIES, "          - { call: db.query, policy: standart }\n"),
        "no policy 'standart' — did you mean 'standard'?",
    );
    assert_eq!(d.hint.as_deref(), Some("policies: standard, quick"));
}

#[test]
fn errors_inside_policies_are_reported_once_where_written() {
    let top = "policies:\n  p:\n    retry: { attempts: 0 }\n    cache: 1\n";
    let steps = "          - { call: db.query, policy: p }\n          - { call: db.read, policy: p }\n";
    let errs = load(&topo(top, steps)).unwrap_err().0;
    let got: Vec<(usize, usize, &str)> = errs.iter().map(|d| (d.line, d.column, d.path.as_str())).collect();
    assert_eq!(got, [(4, 24, "policies.p.retry.attempts"), (5, 5, "policies.p.cache")], "{errs:#?}");
    one_error(&topo("policies: [a]\n", "          - work: 1ms\n"), "expected a map of policies");
    let d = one_error(
        &topo("policies:\n  p: 3\n", "          - { call: db.query, policy: p }\n"),
        "expected a policy (a map)",
    );
    assert_eq!(d.path, "policies.p");
}

fn service_of(top_service_keys: &str) -> String {
    format!(
        "services:\n  api:\n{top_service_keys}    endpoints:\n      get: {{ work: 1ms }}\nworkload:\n  - {{ name: w, target: api.get, rate: 1/s }}\n"
    )
}

#[test]
fn adaptive_max_in_flight() {
    let m = ok(&service_of("    max_in_flight: { adaptive: gradient }\n"));
    assert_eq!(
        (m.services[0].adaptive, m.services[0].max_in_flight),
        (Some(AdaptiveCfg::defaults(LimitAlgorithm::Gradient)), None)
    );
    let m = ok(&service_of("    max_in_flight: { adaptive: vegas, initial: 50, max: 100 }\n"));
    let v = AdaptiveCfg { algorithm: LimitAlgorithm::Vegas, initial: 50, min: 1, max: 100 };
    assert_eq!(m.services[0].adaptive, Some(v));
    let m = ok(&service_of("    max_in_flight: { adaptive: gradient, initial: 10, min: 5 }\n"));
    assert_eq!(m.services[0].adaptive.map(|a| (a.initial, a.min, a.max)), Some((10, 5, 200)));
    let m = ok(&service_of("    max_in_flight: { adaptive: gradient, initial: 500 }\n"));
    assert_eq!(m.services[0].adaptive.map(|a| (a.min, a.max)), Some((20, 500)), "defaults widened to include initial");
    let m = ok(&service_of("    max_in_flight: 7\n"));
    assert_eq!((m.services[0].adaptive, m.services[0].max_in_flight), (None, Some(7)));
    one_error(&service_of("    max_in_flight: { adaptive: gradiant }\n"), "did you mean 'gradient'?");
    one_error(&service_of("    max_in_flight: { initial: 5 }\n"), "missing 'adaptive' in services.api.max_in_flight");
    let d =
        one_error(&service_of("    max_in_flight: { adaptive: vegas, min: 50, initial: 10 }\n"), "min ≤ initial ≤ max");
    assert_eq!((d.line, d.column, d.path.as_str()), (3, 5, "services.api.max_in_flight"));
    one_error(&service_of("    max_in_flight: { adaptive: vegas, maxx: 5 }\n"), "did you mean 'max'?");
    one_error(&service_of("    max_in_flight: { adaptive: vegas, max: 0 }\n"), "must be at least 1");
}

#[path = "fault_tests.rs"]
mod faults;
