//! Resilience keys: top-level `policies:`, the client-side keys of a `call`
//! step (`timeout`, `timeout_total`, `deadline`, `retry`, `throttle`,
//! `hedge`, `circuit_breaker`, `policy`) and the server-side
//! `max_in_flight: { adaptive: … }`, as in the Policies section of
//! `shared/spec/format.md`; semantics in `shared/spec/resilience.md`.
//!
//! A call names a policy with `policy: NAME`; a key written on the call
//! replaces the policy's key of that name as a whole (a call's `retry`
//! replaces the policy's whole `retry`). Defaults, beside each reader:
//! no retries, no timeout, no budget, no throttle, no hedge, no breaker; in
//! `retry`: `on: [timeout, error, rejected]`, no backoff (retry at once).
//! `deadline` is `propagate` or `none` (the default; lets a call undo a
//! policy's `propagate`).
//!
//! Shared state is registered here, with the key described in
//! `crate::model::policy`: a breaker per edge name, a budget and a throttle
//! per `caller->callee service`. Call sites sharing a key must agree.
//!
//! Not here: the step compiler (`compile`) and what the settings do (`sim`).

use super::decode::{Ctx, Fields, Loc, did_you_mean, found, listing, shown};
use super::keys::{ADAPTIVE, BACKOFF, BREAKER, BUDGET, CLIENT, HEDGE, POLICY, RETRY, SLOW_CALL, THROTTLE};
use super::topology::Build;
use super::yaml::{Node, NodeKind};
use crate::engine::SimDuration;
use crate::model::{
    AdaptiveCfg, AwsQuota, Backoff, BreakerCfg, BreakerId, BreakerWindow, Budget, BudgetId, DistId, Edge, EdgeClient,
    FailureKind, Hedge, Jitter, LimitAlgorithm, Model, RetryOn, RetryPolicy, Shared, Throttle, ThrottleId,
};
use std::collections::BTreeMap;

/// Attempts (and hedges) at most per call.
pub const MAX_ATTEMPTS: u32 = 100;

/// What a policy or a call says; `None`: not said.
#[derive(Clone, Debug, Default)]
pub(super) struct CallPolicy {
    timeout: Option<SimDuration>,
    timeout_total: Option<SimDuration>,
    deadline: Option<bool>,
    retry: Option<Retry>,
    throttle: Option<(Throttle, Site)>,
    hedge: Option<Hedge>,
    breaker: Option<(BreakerCfg, Site)>,
    cancel: Option<bool>,
    latency: Option<DistId>,
    continue_on_failure: Option<bool>,
}

/// A retry policy whose budget is not registered yet.
#[derive(Clone, Debug)]
struct Retry {
    policy: RetryPolicy,
    budget: Option<(Budget, Site)>,
}

/// Where a setting is written.
#[derive(Clone, Debug)]
struct Site {
    loc: Loc,
    path: String,
}

/// What the reader remembers between policies, calls and shared state.
#[derive(Default)]
pub(super) struct State {
    /// In file order, and their index by name.
    policies: Vec<(String, CallPolicy)>,
    policy_index: BTreeMap<String, usize>,
    breaker_sites: Vec<Site>,
    budget_sites: Vec<Site>,
    throttle_sites: Vec<Site>,
    /// Shared state's index by kind and name (lookups are never scans).
    shared: BTreeMap<(u8, String), u32>,
}

/// Reads top-level `policies:`.
pub(super) fn policies(b: &mut Build, n: &Node) {
    let Some(entries) = n.as_map() else {
        let msg = format!("expected a map of policies, found {}", found(n));
        b.cx.error(n.loc(), "policies", msg, Some(POLICY.hint.into()));
        return;
    };
    for (k, v) in entries {
        let path = format!("policies.{}", k.text);
        // A policy with problems is still registered, so that calls naming
        // it get no second complaint.
        let p = b.cx.fields(v, &path, k.loc(), &POLICY).map(|f| read_keys(&mut b.cx, &f)).unwrap_or_default();
        b.resil.policy_index.entry(k.text.clone()).or_insert(b.resil.policies.len());
        b.resil.policies.push((k.text.clone(), p));
    }
}

/// Reads the resilience keys of a call step, merged over its `policy`.
pub(super) fn call_policy(b: &mut Build, f: &Fields) -> CallPolicy {
    let own = read_keys(&mut b.cx, f);
    let Some(n) = f.get("policy") else { return own };
    let Some(name) = b.cx.text(n, &f.at("policy"), "a policy name") else { return own };
    let Some((_, base)) = b.resil.policy_index.get(name).map(|&i| &b.resil.policies[i]) else {
        let names = || b.resil.policies.iter().map(|(p, _)| p.as_str());
        let msg = format!("no policy '{}'{}", shown(name), did_you_mean(name, names()));
        let hint = if b.resil.policies.is_empty() {
            "define it at the top level: policies: { NAME: { timeout: 300ms, retry: { attempts: 3 } } }".into()
        } else {
            format!("policies: {}", listing(names()))
        };
        b.cx.error(n.loc(), &f.at("policy"), msg, Some(hint));
        return own;
    };
    let base = base.clone();
    CallPolicy {
        timeout: own.timeout.or(base.timeout),
        timeout_total: own.timeout_total.or(base.timeout_total),
        deadline: own.deadline.or(base.deadline),
        retry: own.retry.or(base.retry),
        throttle: own.throttle.or(base.throttle),
        hedge: own.hedge.or(base.hedge),
        breaker: own.breaker.or(base.breaker),
        cancel: own.cancel.or(base.cancel),
        latency: own.latency.or(base.latency),
        continue_on_failure: own.continue_on_failure.or(base.continue_on_failure),
    }
}

/// Sets `edge`'s resilience fields, registering its shared state.
pub(super) fn apply(b: &mut Build, edge: &mut Edge, p: CallPolicy) {
    edge.timeout = p.timeout;
    edge.timeout_total = p.timeout_total;
    edge.deadline_propagate = p.deadline.unwrap_or(false);
    edge.hedge = p.hedge;
    edge.cancel = p.cancel.unwrap_or(false);
    edge.latency = p.latency;
    edge.continue_on_failure = p.continue_on_failure.unwrap_or(false);
    let m = &b.model;
    let callee_service = &m.services[m.service_of(edge.callee).ix()].name;
    let caller_service = &m.services[m.service_of(edge.caller).ix()].name;
    let pair = format!("{caller_service}->{callee_service}");
    let what = format!("calls from '{caller_service}' to '{callee_service}'");
    if let Some(mut r) = p.retry {
        if let Some((cfg, site)) = r.budget {
            let why = format!("{what} share one retry budget (as Finagle's is per client)");
            r.policy.budget = share(b, Kind::Budget, &pair, cfg, site, &why).map(BudgetId);
        }
        edge.retry = Some(r.policy);
    }
    if let Some((cfg, site)) = p.throttle {
        let why = format!("{what} share one retry throttle (as gRPC's is per server)");
        edge.throttle = share(b, Kind::Throttle, &pair, cfg, site, &why).map(ThrottleId);
    }
    if let Some((cfg, site)) = p.breaker {
        let why = format!("calls {} share one circuit breaker", edge.name);
        let name = edge.name.clone();
        edge.breaker = share(b, Kind::Breaker, &name, cfg, site, &why).map(BreakerId);
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Budget,
    Throttle,
    Breaker,
}

/// A configuration that can be shared under a name.
trait Sharable: Clone + PartialEq {
    fn list(m: &mut Model) -> &mut Vec<Shared<Self>>;
}
impl Sharable for Budget {
    fn list(m: &mut Model) -> &mut Vec<Shared<Self>> {
        &mut m.budgets
    }
}
impl Sharable for Throttle {
    fn list(m: &mut Model) -> &mut Vec<Shared<Self>> {
        &mut m.throttles
    }
}
impl Sharable for BreakerCfg {
    fn list(m: &mut Model) -> &mut Vec<Shared<Self>> {
        &mut m.breakers
    }
}

/// The index of `name`'s state, added if new; an error if it exists with
/// another configuration.
fn share<C: Sharable>(b: &mut Build, kind: Kind, name: &str, cfg: C, site: Site, why: &str) -> Option<u32> {
    let key = (kind as u8, name.to_string());
    let list = C::list(&mut b.model);
    if let Some(&i) = b.resil.shared.get(&key) {
        let i = i as usize;
        if list[i].cfg == cfg {
            return Some(i as u32);
        }
        let first = match kind {
            Kind::Budget => &b.resil.budget_sites[i],
            Kind::Throttle => &b.resil.throttle_sites[i],
            Kind::Breaker => &b.resil.breaker_sites[i],
        };
        let msg = format!(
            "{why}, but this one differs from {} (line {}, column {})",
            first.path, first.loc.line, first.loc.col
        );
        let hint = Some("write the same settings on each of these calls, or put them in one policy".into());
        b.cx.error(site.loc, &site.path, msg, hint);
        return None;
    }
    list.push(Shared { name: name.to_string(), cfg });
    let i = list.len() - 1;
    b.resil.shared.insert(key, i as u32);
    match kind {
        Kind::Budget => b.resil.budget_sites.push(site),
        Kind::Throttle => b.resil.throttle_sites.push(site),
        Kind::Breaker => b.resil.breaker_sites.push(site),
    }
    Some(i as u32)
}

fn site(f: &Fields, key: &str, n: &Node) -> Site {
    Site { loc: f.key(key).map_or(n.loc(), |k| k.loc()), path: f.at(key) }
}

/// Reads the keys of [`POLICY`] present in `f` (a policy or a call).
fn read_keys(cx: &mut Ctx, f: &Fields) -> CallPolicy {
    let mut p = CallPolicy::default();
    if let Some(n) = f.get("cancel") {
        p.cancel = cx.boolean(n, &f.at("cancel"));
    }
    if let Some(n) = f.get("latency") {
        p.latency = cx.dist(n, &f.at("latency"));
    }
    if let Some(n) = f.get("on_failure") {
        let words = [("fail", false), ("continue", true)];
        p.continue_on_failure = cx.choice(n, &f.at("on_failure"), "on_failure", &words);
    }
    if let Some(n) = f.get("timeout") {
        p.timeout = cx.positive_duration(n, &f.at("timeout"));
    }
    if let Some(n) = f.get("timeout_total") {
        p.timeout_total = cx.positive_duration(n, &f.at("timeout_total"));
    }
    if let Some(n) = f.get("deadline") {
        p.deadline = cx.choice(n, &f.at("deadline"), "deadline mode", &[("propagate", true), ("none", false)]);
    }
    if let Some(n) = f.get("retry") {
        p.retry = retry(cx, n, &f.at("retry"), site(f, "retry", n).loc);
    }
    if let Some(n) = f.get("throttle") {
        let s = site(f, "throttle", n);
        p.throttle = throttle(cx, n, &s.path, s.loc).map(|t| (t, s));
    }
    if let Some(n) = f.get("hedge") {
        p.hedge = hedge(cx, n, &f.at("hedge"), site(f, "hedge", n).loc);
    }
    if let Some(n) = f.get("circuit_breaker") {
        let s = site(f, "circuit_breaker", n);
        p.breaker = breaker(cx, n, &s.path, s.loc).map(|c| (c, s));
    }
    p
}

/// A workload's `client:` — a timeout and retries as on a call, without a
/// budget (the users of a workload share none).
pub(super) fn client(cx: &mut Ctx, n: &Node, path: &str) -> Option<EdgeClient> {
    let f = cx.fields(n, path, n.loc(), &CLIENT)?;
    let timeout = match f.get("timeout") {
        Some(t) => Some(cx.positive_duration(t, &f.at("timeout"))?),
        None => None,
    };
    let retry = match f.get("retry") {
        Some(r) => {
            let Retry { policy, budget } = retry(cx, r, &f.at("retry"), site(&f, "retry", r).loc)?;
            if let Some((_, s)) = budget {
                let msg = "a retry budget is shared by one service's clients; a workload's users share none";
                let hint = Some("leave 'budget' out of the client's retry; it applies to calls".into());
                cx.error(s.loc, &s.path, msg, hint);
                return None;
            }
            Some(policy)
        }
        None => None,
    };
    let cancel = match f.get("cancel") {
        Some(c) => cx.boolean(c, &f.at("cancel"))?,
        None => false,
    };
    Some(EdgeClient { timeout, retry, cancel })
}

fn retry(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<Retry> {
    let f = cx.fields(n, path, at, &RETRY)?;
    let hint = Some("attempts counts the first try: attempts: 3 is one try and up to two retries");
    let attempts = cx.require(&f, "attempts", hint).and_then(|a| cx.u32(a, &f.at("attempts"), 1, MAX_ATTEMPTS));
    let on = match f.get("on") {
        Some(o) => retry_on(cx, o, &f.at("on")),
        None => Some(RetryOn::DEFAULT),
    };
    let backoff = match f.get("backoff") {
        Some(x) => backoff(cx, x, &f.at("backoff"), site(&f, "backoff", x).loc),
        None => Some(Backoff::IMMEDIATE),
    };
    let budget = match f.get("budget") {
        Some(x) => {
            let s = site(&f, "budget", x);
            Some((budget(cx, x, &s.path, s.loc)?, s))
        }
        None => None,
    };
    let policy = RetryPolicy { attempts: attempts?, on: on?, backoff: backoff?, budget: None };
    Some(Retry { policy, budget })
}

fn retry_on(cx: &mut Ctx, n: &Node, path: &str) -> Option<RetryOn> {
    let words = FailureKind::ALL.map(|k| (k.word(), k));
    let items: Vec<(&Node, String)> = match &n.kind {
        NodeKind::Seq(s) => s.iter().enumerate().map(|(i, x)| (x, format!("{path}[{i}]"))).collect(),
        _ => vec![(n, path.to_string())],
    };
    if items.is_empty() {
        let hint = Some("e.g. on: [timeout, error, rejected]; to never retry, leave 'retry' out".into());
        cx.error(n.loc(), path, "'on' lists no failure kind", hint);
        return None;
    }
    let mut set = Some(RetryOn::NONE);
    for (x, p) in items {
        let k = cx.choice(x, &p, "failure kind", &words);
        set = set.zip(k).map(|(s, k)| s.with(k));
    }
    set
}

fn backoff(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<Backoff> {
    if n.as_str().is_some() {
        let presets = [("grpc", Backoff::GRPC), ("envoy", Backoff::ENVOY), ("none", Backoff::IMMEDIATE)];
        return cx.choice(n, path, "backoff preset", &presets);
    }
    let f = cx.fields(n, path, at, &BACKOFF)?;
    let jitters = [
        ("none", Jitter::None),
        ("full", Jitter::Full),
        ("equal", Jitter::Equal),
        ("decorrelated", Jitter::Decorrelated),
        ("grpc", Jitter::Grpc),
        ("envoy", Jitter::Envoy),
        ("envoy_documented", Jitter::EnvoyDocumented),
    ];
    let jitter = match f.get("jitter") {
        Some(j) => cx.choice(j, &f.at("jitter"), "jitter", &jitters)?,
        None => Jitter::None,
    };
    let envoy = matches!(jitter, Jitter::Envoy | Jitter::EnvoyDocumented);
    let preset = match jitter {
        Jitter::Grpc => Some(Backoff::GRPC),
        _ if envoy => Some(Backoff::ENVOY),
        _ => None,
    };
    let base = match (f.get("base"), preset) {
        (Some(x), _) => cx.duration(x, &f.at("base"))?,
        (None, Some(p)) => p.base,
        (None, None) => {
            cx.require(&f, "base", Some("the sleep before the first retry, e.g. base: 25ms"));
            return None;
        }
    };
    let mut b = Backoff { base, multiplier: 2.0, cap: preset.and_then(|p| p.cap), jitter };
    if envoy {
        b.cap = Some(SimDuration(base.0.saturating_mul(10)));
    }
    if let Some(m) = f.get("multiplier") {
        if envoy || jitter == Jitter::Decorrelated {
            let msg = format!("jitter {} does not use a multiplier", jitter_word(&jitters, jitter));
            let hint = "Envoy's schedule doubles; decorrelated jitter grows by up to 3× per retry";
            cx.error(m.loc(), &f.at("multiplier"), msg, Some(hint.into()));
            return None;
        }
        b.multiplier = cx.positive(m, &f.at("multiplier"))?;
    }
    if let Some(c) = f.get("cap") {
        b.cap = Some(cx.duration(c, &f.at("cap"))?);
    }
    if let Some(cap) = b.cap
        && cap < base
    {
        let (at, key, default) = match f.get("cap") {
            Some(c) => (c.loc(), "cap", ""),
            None => (f.get("base").map_or(at, Node::loc), "base", ", the preset's"),
        };
        let msg = format!("cap ({cap}{default}) is shorter than base ({base})");
        cx.error(at, &f.at(key), msg, Some("the cap bounds the sleeps from above; set cap: at least base".into()));
        return None;
    }
    if envoy && base < SimDuration::from_millis(1) {
        let msg = format!("Envoy backoff works in whole milliseconds; base {base} is below 1ms");
        cx.error(f.get("base").map_or(at, Node::loc), &f.at("base"), msg, None);
        return None;
    }
    Some(b)
}

fn jitter_word(words: &[(&'static str, Jitter)], j: Jitter) -> &'static str {
    words.iter().find(|(_, x)| *x == j).map_or("?", |(w, _)| w)
}

fn budget(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<Budget> {
    if n.as_map().is_none() {
        cx.fields(n, path, at, BUDGET.variants[0]);
        return None;
    }
    let v = cx.variant_by_field(n, path, &BUDGET)?;
    let f = cx.fields(n, path, at, BUDGET.variants[v])?;
    if BUDGET.tag_of(v) == "envoy" {
        let Budget::Envoy { ratio, min_concurrent } = Budget::ENVOY else { return None };
        let ratio = f.get("ratio").map_or(Some(ratio), |r| cx.probability(r, &f.at("ratio")));
        let min =
            f.get("min_concurrent").map_or(Some(min_concurrent), |m| cx.u32(m, &f.at("min_concurrent"), 0, u32::MAX));
        return Some(Budget::Envoy { ratio: ratio?, min_concurrent: min? });
    }
    let Budget::Finagle { ratio, min_per_s, ttl } = Budget::FINAGLE else { return None };
    let ratio = match f.get("ratio") {
        Some(r) => cx.factor(r, &f.at("ratio")).and_then(|v| {
            (v <= 10.0).then_some(v).or_else(|| {
                let msg = format!("ratio {} is above 1000%, Finagle's largest", r.as_str().unwrap_or(""));
                cx.error(r.loc(), &f.at("ratio"), msg, None);
                None
            })
        }),
        None => Some(ratio),
    };
    let min = f.get("min_per_s").map_or(Some(min_per_s), |m| cx.u32(m, &f.at("min_per_s"), 0, 1_000_000));
    let ttl = match f.get("ttl") {
        Some(t) => cx.duration(t, &f.at("ttl")).and_then(|d| {
            let ok = (SimDuration::from_secs(1)..=SimDuration::from_secs(60)).contains(&d);
            if !ok {
                cx.error(t.loc(), &f.at("ttl"), format!("ttl {d} is outside 1s to 60s, Finagle's range"), None);
            }
            ok.then_some(d)
        }),
        None => Some(ttl),
    };
    Some(Budget::Finagle { ratio: ratio?, min_per_s: min?, ttl: ttl? })
}

fn throttle(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<Throttle> {
    if n.as_map().is_none() {
        cx.fields(n, path, at, THROTTLE.variants[0]);
        return None;
    }
    let v = cx.variant_by_field(n, path, &THROTTLE)?;
    let f = cx.fields(n, path, at, THROTTLE.variants[v])?;
    let aws = match n.get("kind").and_then(Node::as_str) {
        Some("aws") => AwsQuota::STANDARD,
        Some("aws_2026") => AwsQuota::NEW_2026,
        _ => {
            let hint = Some("A6 has no defaults: e.g. max_tokens: 10, token_ratio: 0.1");
            let max = cx.require(&f, "max_tokens", hint).and_then(|m| cx.u32(m, &f.at("max_tokens"), 1, 1000));
            let ratio = cx.require(&f, "token_ratio", hint).and_then(|r| token_ratio(cx, r, &f.at("token_ratio")));
            return Some(Throttle::Grpc { max_tokens: max?, token_ratio_milli: ratio? });
        }
    };
    let mut read =
        |key: &str, default: u32, lo: u32| f.get(key).map_or(Some(default), |x| cx.u32(x, &f.at(key), lo, 1_000_000));
    let capacity = read("capacity", aws.capacity, 1);
    let error_cost = read("cost", aws.error_cost, 0);
    let timeout_cost = read("timeout_cost", aws.timeout_cost, 0);
    let rejected_cost = read("rejected_cost", aws.rejected_cost, 0);
    Some(Throttle::Aws(AwsQuota {
        capacity: capacity?,
        error_cost: error_cost?,
        timeout_cost: timeout_cost?,
        rejected_cost: rejected_cost?,
        success_reward: aws.success_reward,
    }))
}

/// `tokenRatio` in thousandths, truncated to 3 decimals as A6 says.
fn token_ratio(cx: &mut Ctx, n: &Node, path: &str) -> Option<u32> {
    let v = cx.positive(n, path)?;
    let milli = (v * 1000.0 + 1e-9).floor();
    if !(1.0..=1e9).contains(&milli) {
        let msg = format!(
            "token_ratio {} keeps 3 decimals, so it must be between 0.001 and 1000000",
            n.as_str().unwrap_or("")
        );
        cx.error(n.loc(), path, msg, None);
        return None;
    }
    Some(milli as u32)
}

fn hedge(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<Hedge> {
    let f = cx.fields(n, path, at, &HEDGE)?;
    let after = f.get("after").map_or(Some(SimDuration::ZERO), |a| cx.duration(a, &f.at("after")));
    let max = f.get("max").map_or(Some(2), |m| cx.u32(m, &f.at("max"), 2, MAX_ATTEMPTS));
    Some(Hedge { after: after?, max: max? })
}

fn breaker(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<BreakerCfg> {
    let f = cx.fields(n, path, at, &BREAKER)?;
    let d = BreakerCfg::DEFAULT;
    let window = f.get("window").map_or(Some(d.window), |w| window(cx, w, &f.at("window")));
    let min_calls = f.get("min_calls").map_or(Some(d.min_calls), |m| cx.u32(m, &f.at("min_calls"), 1, u32::MAX));
    let failure_rate = f.get("failure_rate").map_or(Some(d.failure_rate), |r| rate(cx, r, &f.at("failure_rate")));
    let (mut over, mut slow_rate) = (Some(d.slow_call_over), Some(d.slow_call_rate));
    if let Some(s) = f.get("slow_call") {
        let g = cx.fields(s, &f.at("slow_call"), site(&f, "slow_call", s).loc, &SLOW_CALL)?;
        over = g.get("over").map_or(over, |o| cx.duration(o, &g.at("over")));
        slow_rate = g.get("rate").map_or(slow_rate, |r| rate(cx, r, &g.at("rate")));
    }
    let open_for = f.get("open_for").map_or(Some(d.open_for), |o| cx.positive_duration(o, &f.at("open_for")));
    let half =
        f.get("half_open_calls").map_or(Some(d.half_open_calls), |h| cx.u32(h, &f.at("half_open_calls"), 1, 1_000_000));
    Some(BreakerCfg {
        window: window?,
        min_calls: min_calls?,
        failure_rate: failure_rate?,
        slow_call_over: over?,
        slow_call_rate: slow_rate?,
        open_for: open_for?,
        half_open_calls: half?,
    })
}

/// A threshold rate in (0, 1].
fn rate(cx: &mut Ctx, n: &Node, path: &str) -> Option<f64> {
    let v = cx.probability(n, path)?;
    if v == 0.0 {
        cx.error(
            n.loc(),
            path,
            "a threshold of 0% would open on any call",
            Some("use a rate above 0, such as 50%".into()),
        );
        return None;
    }
    Some(v)
}

/// `window: 100` (calls) or `window: 10s` (whole seconds).
fn window(cx: &mut Ctx, n: &Node, path: &str) -> Option<BreakerWindow> {
    let t = cx.text(n, path, "a number of calls or a duration")?;
    if t.trim().parse::<f64>().is_ok() {
        return cx.u32(n, path, 1, 1_000_000).map(BreakerWindow::Count);
    }
    let d = cx.duration(n, path)?;
    let ok = d.0.is_multiple_of(1_000_000_000) && (1..=86_400).contains(&(d.0 / 1_000_000_000));
    if !ok {
        let msg = format!("a time window is a whole number of seconds from 1s to 1d, found {d}");
        let hint = Some("resilience4j keeps one bucket per second; or give a number of calls, e.g. window: 100".into());
        cx.error(n.loc(), path, msg, hint);
        return None;
    }
    Some(BreakerWindow::Seconds((d.0 / 1_000_000_000) as u32))
}

/// `max_in_flight: { adaptive: gradient|vegas, initial, min, max }`.
/// Unset bounds take the algorithm's defaults, widened to include
/// `initial` when only it is given.
pub(super) fn adaptive(cx: &mut Ctx, n: &Node, path: &str, at: Loc) -> Option<AdaptiveCfg> {
    let f = cx.fields(n, path, at, &ADAPTIVE)?;
    let algos = [("gradient", LimitAlgorithm::Gradient), ("vegas", LimitAlgorithm::Vegas)];
    let hint = Some("adaptive: gradient (Netflix Gradient2) or adaptive: vegas");
    let algo =
        cx.require(&f, "adaptive", hint).and_then(|a| cx.choice(a, &f.at("adaptive"), "adaptive algorithm", &algos))?;
    let d = AdaptiveCfg::defaults(algo);
    let mut read = |key: &str| f.get(key).map(|x| cx.u32(x, &f.at(key), 1, 1_000_000));
    let (initial, min, max) = (read("initial"), read("min"), read("max"));
    let initial = initial.unwrap_or(Some(d.initial))?;
    let min = min.unwrap_or(Some(d.min.min(initial)))?;
    let max = max.unwrap_or(Some(d.max.max(initial)))?;
    if !(min <= initial && initial <= max) {
        let msg = format!("the limits must satisfy min ≤ initial ≤ max, found min {min}, initial {initial}, max {max}");
        cx.error(at, path, msg, None);
        return None;
    }
    Some(AdaptiveCfg { algorithm: algo, initial, min, max })
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
