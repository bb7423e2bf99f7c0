//! Tests of the whole reader: YAML text → `Model` or every problem.

use super::*;
use crate::engine::{RngStream, SimDuration, SimTime};
use crate::model::*;
use crate::spec::testing::NoFiles;

fn load(text: &str) -> Result<Model, Diagnostics> {
    crate::spec::testing::load_named("shop.yaml", text)
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(d) => d.0,
    }
}

/// The only problem of `text`, which must contain `needle`.
fn one_error(text: &str, needle: &str) -> Diagnostic {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one problem, got {errs:#?}");
    assert!(errs[0].message.contains(needle), "'{}' does not contain '{needle}'", errs[0].message);
    errs.into_iter().next().unwrap()
}

/// A topology with one service `api` whose endpoint `get` has `steps`,
/// plus a `db` service, and a workload on `api.get`.
fn with_steps(steps: &str) -> String {
    format!(
        "services:\n  api:\n    endpoints:\n      get:\n        steps:\n{steps}  db:\n    endpoints:\n      \
         query: {{ work: 1ms }}\n      read: {{ work: 2ms }}\nworkload:\n  - {{ name: web, target: api.get, rate: 10/s }}\n"
    )
}

/// Lines 1-5 of `with_steps` precede the steps: the first step is line 6.
const FIRST_STEP_LINE: usize = 6;

const SHOP: &str = r#"name: shop
duration: 30m
warmup: 2m
seed: 7
network: { latency: 0.4ms }

services:
  frontend:
    replicas: 3
    cpus: 2
    max_in_flight: 200
    queue: { capacity: 100, discipline: fifo, max_wait: 500ms }
    balancer: round_robin
    endpoints:
      home:
        work: 3ms
      checkout:
        steps:
          - work: 2ms
          - call: cart.get
            timeout: 300ms
          - parallel:
              - call: pricing.quote
              - call: recommend.list
                on_failure: continue
          - repeat: { count: 3, steps: [ { call: db.query } ] }
          - branch:
              - { weight: 0.7, steps: [ { call: db.read } ] }
              - { weight: 0.3, steps: [ { call: db.write } ] }
          - fail: 0.1%
      nested:
        steps:
          - repeat:
              count: 2
              steps:
                - repeat:
                    count: 3
                    steps:
                      - parallel:
                          - repeat: { count: 4, steps: [ { work: 1ms } ] }
                          - sequence: [ { delay: 5ms }, { call: db.query, probability: 50%, latency: 1ms, cancel: true } ]
                        wait: any
  cart:
    balancer: p2c
    endpoints:
      get:
        steps:
          - cache:
              name: cart-cache
              hit_ratio: 90%
              hit: [ { work: 100us } ]
              miss: [ { call: db.read }, { work: 1ms } ]
      add:
        steps:
          - cache: { name: cart-cache, hit_ratio: 0.9 }
  pricing:
    balancer: least_request
    endpoints:
      quote: { work: 1ms }
  recommend:
    balancer: random
    endpoints:
      list: { work: 4ms }
  db:
    replicas: 2
    max_in_flight: 10
    queue: { capacity: 0, discipline: lifo }
    endpoints:
      query: { work: 1ms }
      read: { work: 2ms }
      write: { work: 5ms }
  unused:
    endpoints:
      ping: { steps: [] }

workload:
  - name: web
    target: frontend.home
    rate: 500/s
    arrivals: uniform
    shape:
      - diurnal: { period: 24h, min: 0.3, max: 1.0, peak_at: 14h }
      - ramp:    { from: 0.1, to: 1.0, over: 5m }
      - spike:   { at: 10m, for: 2m, factor: 3 }
      - steps:   [ [0s, 1.0], [10m, 2.0] ]
      - bursts:  { on: 10s, off: 50s, factor: 4 }
  - name: app
    target: frontend.checkout
    users: 500
    think: 5s
"#;

fn endpoint<'m>(m: &'m Model, full_name: &str) -> &'m Endpoint {
    m.endpoints.iter().find(|e| e.full_name == full_name).expect("endpoint exists")
}

fn ms(n: u64) -> Dist {
    Dist::Const(SimDuration::from_millis(n))
}

#[test]
fn the_shop_loads_with_its_settings() {
    let m = load(SHOP).unwrap_or_else(|d| panic!("{}", d.render(SHOP)));
    assert_eq!(m.name, "shop");
    assert_eq!((m.duration, m.warmup, m.seed), (SimDuration::from_secs(1800), SimDuration::from_secs(120), 7));
    assert_eq!(m.dist(m.network_latency.unwrap()), &Dist::Const(SimDuration::from_micros(400)));
    let names: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["frontend", "cart", "pricing", "recommend", "db", "unused"]);
    let fe = &m.services[0];
    assert_eq!((fe.replicas, fe.cpus, fe.max_in_flight, fe.balancer), (3, 2, Some(200), Balancer::RoundRobin));
    let q =
        QueueCfg { capacity: Some(100), discipline: Discipline::Fifo, max_wait: Some(SimDuration::from_millis(500)) };
    assert_eq!(fe.queue, q);
    let db = &m.services[4];
    assert_eq!((db.replicas, db.cpus, db.max_in_flight), (2, 1, Some(10)));
    assert_eq!((db.queue.capacity, db.queue.discipline, db.queue.max_wait), (Some(0), Discipline::Lifo, None));
    let balancers: Vec<Balancer> = m.services.iter().map(|s| s.balancer).collect();
    use Balancer::*;
    assert_eq!(balancers, [RoundRobin, P2c, LeastRequest, Random, RoundRobin, RoundRobin]);
    let unused = &m.services[5];
    assert_eq!((unused.replicas, unused.max_in_flight, unused.queue.capacity), (1, None, None));
    assert_eq!(endpoint(&m, "unused.ping").code, [Instr::Respond]);
    for (i, e) in m.endpoints.iter().enumerate() {
        assert!(m.services[e.service.ix()].endpoints.contains(&EndpointId(i as u32)));
        assert_eq!(e.code.last(), Some(&Instr::Respond));
    }
}

#[test]
fn the_shop_compiles_to_the_expected_instructions() {
    let m = load(SHOP).unwrap_or_else(|d| panic!("{}", d.render(SHOP)));
    use Instr::*;
    assert_eq!(endpoint(&m, "frontend.home").code, [Work(DistId(1)), Respond]);
    assert_eq!(m.dist(DistId(1)), &ms(3));
    let checkout = [
        Work(DistId(2)),
        Call(EdgeId(0)),
        Fork(ForkId(0)),
        Call(EdgeId(1)),
        EndBranch,
        Call(EdgeId(2)),
        EndBranch,
        RepeatInit { slot: 0, count: 3, exit: 10 },
        Call(EdgeId(3)),
        RepeatNext { slot: 0, body: 8 },
        Branch(BranchId(0)),
        Call(EdgeId(4)),
        Jump(15),
        Call(EdgeId(5)),
        Jump(15),
        Fail { p: 0.001 },
        Respond,
    ];
    assert_eq!(endpoint(&m, "frontend.checkout").code, checkout);
    assert_eq!(m.dist(DistId(2)), &ms(2));
    assert_eq!((m.forks[0].starts.as_slice(), m.forks[0].wait, m.forks[0].join_pc), (&[3, 5][..], Wait::All, 7));
    assert_eq!(m.branches[0].starts, [11, 13]);
    assert!((m.branches[0].cumulative[0] - 0.7).abs() < 1e-12);
    assert_eq!(m.branches[0].cumulative[1], 1.0);

    // Slots count repeat depth, and restart inside a parallel branch.
    let nested = [
        RepeatInit { slot: 0, count: 2, exit: 12 },
        RepeatInit { slot: 1, count: 3, exit: 11 },
        Fork(ForkId(1)),
        RepeatInit { slot: 0, count: 4, exit: 6 },
        Work(DistId(3)),
        RepeatNext { slot: 0, body: 4 },
        EndBranch,
        Delay(DistId(4)),
        Call(EdgeId(6)),
        EndBranch,
        RepeatNext { slot: 1, body: 2 },
        RepeatNext { slot: 0, body: 1 },
        Respond,
    ];
    assert_eq!(endpoint(&m, "frontend.nested").code, nested);
    assert_eq!((m.forks[1].starts.as_slice(), m.forks[1].wait, m.forks[1].join_pc), (&[3, 7][..], Wait::Any, 10));

    let cache =
        [Cache { cache: CacheId(0), miss: 3 }, Work(DistId(6)), Jump(5), Call(EdgeId(7)), Work(DistId(7)), Respond];
    assert_eq!(endpoint(&m, "cart.get").code, cache);
    assert_eq!(m.dist(DistId(6)), &Dist::Const(SimDuration::from_micros(100)));
    assert_eq!(
        endpoint(&m, "cart.add").code,
        [Cache { cache: CacheId(0), miss: 2 }, Jump(2), Respond],
        "same name and ratio: same cache; hit and miss default to nothing"
    );
    assert_eq!(m.caches.len(), 1);
    assert_eq!((m.caches[0].name.as_str(), m.caches[0].hit_ratio), ("cart-cache", 0.9));
}

#[test]
fn the_shop_has_one_edge_per_call_site() {
    let m = load(SHOP).unwrap();
    let names: Vec<&str> = m.edges.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "frontend->cart.get",
            "frontend->pricing.quote",
            "frontend->recommend.list",
            "frontend->db.query",
            "frontend->db.read",
            "frontend->db.write",
            "frontend->db.query",
            "cart->db.read",
        ]
    );
    let e = &m.edges[0];
    assert_eq!(e.caller, endpoint_id(&m, "frontend.checkout"));
    assert_eq!(e.callee, endpoint_id(&m, "cart.get"));
    assert_eq!(
        (e.timeout, e.probability, e.continue_on_failure, e.latency, e.cancel),
        (Some(SimDuration::from_millis(300)), 1.0, false, None, false)
    );
    assert!(m.edges[2].continue_on_failure);
    let e = &m.edges[6];
    assert_eq!((e.timeout, e.probability, e.cancel), (None, 0.5, true));
    assert_eq!(m.dist(e.latency.unwrap()), &ms(1));
}

fn endpoint_id(m: &Model, full: &str) -> EndpointId {
    EndpointId(m.endpoints.iter().position(|e| e.full_name == full).unwrap() as u32)
}

#[test]
fn the_shop_workloads() {
    let m = load(SHOP).unwrap();
    assert_eq!(m.workloads.len(), 2);
    let web = &m.workloads[0];
    assert_eq!((web.name.as_str(), web.target), ("web", endpoint_id(&m, "frontend.home")));
    let WorkloadKind::Open { rate_per_s, arrivals, shape } = &web.kind else { panic!("open loop") };
    assert_eq!((*rate_per_s, *arrivals), (500.0, Arrivals::Uniform));
    let h = SimDuration::from_secs(3600);
    let expected_head = [
        Shape::Diurnal { period: SimDuration(24 * h.0), min: 0.3, max: 1.0, peak_at: SimDuration(14 * h.0) },
        Shape::Ramp { from: 0.1, to: 1.0, over: SimDuration::from_secs(300), at: SimTime::ZERO },
        Shape::Spike { at: SimTime(600_000_000_000), duration: SimDuration::from_secs(120), factor: 3.0 },
        Shape::Steps(vec![(SimTime(0), 1.0), (SimTime(600_000_000_000), 2.0)]),
    ];
    assert_eq!(shape[..4], expected_head);
    let Shape::Bursts { on, off, factor } = &shape[4] else { panic!("bursts") };
    assert_eq!(
        (m.dist(*on), m.dist(*off), *factor),
        (&Dist::Const(SimDuration::from_secs(10)), &Dist::Const(SimDuration::from_secs(50)), 4.0)
    );
    let app = &m.workloads[1];
    let WorkloadKind::Closed { users, think, .. } = &app.kind else { panic!("closed loop") };
    assert_eq!((*users, m.dist(*think)), (500, &Dist::Const(SimDuration::from_secs(5))));
}

#[test]
fn defaults_and_a_single_workload_map() {
    let text =
        "services:\n  a:\n    endpoints:\n      x: { work: 1ms }\nworkload: { name: w, target: a.x, rate: 1/s }\n";
    let m = load(text).unwrap();
    assert_eq!(m.name, "shop", "the file name without extension");
    assert_eq!((m.duration, m.warmup, m.seed, m.network_latency), (DEFAULT_DURATION, SimDuration::ZERO, 1, None));
    let s = &m.services[0];
    assert_eq!((s.replicas, s.cpus, s.max_in_flight, s.balancer), (1, 1, None, Balancer::RoundRobin));
    assert_eq!(s.queue, QueueCfg { capacity: None, discipline: Discipline::Fifo, max_wait: None });
    let WorkloadKind::Open { arrivals, shape, .. } = &m.workloads[0].kind else { panic!() };
    assert_eq!((*arrivals, shape.len()), (Arrivals::Poisson, 0));
}

#[test]
fn six_mistakes_are_reported_at_once() {
    let text = r#"name: shop
duration: 10s
warmup: 20s
services:
  cart:
    replica: 2
    cpus: 0
    endpoints:
      get:
        steps:
          - work: 5
          - call: carts.get
            timeout: 300ms
            retry: { attempts: 0 }
          - fail: 150%
  db:
    balancer: round-robin
    endpoints:
      q: { work: 1ms }
workload:
  - name: web
    target: cart.gett
    rate: 0/s
"#;
    let errs = errors(text);
    let got: Vec<(usize, usize, &str)> = errs.iter().map(|d| (d.line, d.column, d.path.as_str())).collect();
    assert_eq!(
        got,
        [
            (3, 9, "warmup"),
            (6, 5, "services.cart.replica"),
            (7, 11, "services.cart.cpus"),
            (11, 19, "services.cart.endpoints.get.steps[0].work"),
            (12, 19, "services.cart.endpoints.get.steps[1].call"),
            (14, 32, "services.cart.endpoints.get.steps[1].retry.attempts"),
            (15, 19, "services.cart.endpoints.get.steps[2].fail"),
            (17, 15, "services.db.balancer"),
            (22, 18, "workload[0].target"),
            (23, 11, "workload[0].rate"),
        ],
        "{errs:#?}"
    );
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert!(msgs[0].contains("warmup (20s) must be shorter than duration (10s)"));
    assert_eq!(msgs[1], "unknown key 'replica' in services.cart — did you mean 'replicas'?");
    assert!(msgs[2].contains("at least 1"));
    assert!(msgs[3].contains("no unit"), "{}", msgs[3]);
    assert_eq!(msgs[4], "no service 'carts' — did you mean 'cart'?");
    assert_eq!(msgs[5], "must be at least 1, found 0");
    assert!(msgs[6].contains("outside [0, 1]"));
    assert_eq!(msgs[7], "unknown balancer 'round-robin' — did you mean 'round_robin'?");
    assert_eq!(msgs[8], "service 'cart' has no endpoint 'gett'; it has: get");
    assert_eq!(errs[8].hint.as_deref(), Some("did you mean 'cart.get'?"));
    assert!(msgs[9].contains("positive"));
    assert!(errs.iter().all(|d| d.file == "shop.yaml"));

    let shown = Diagnostics(errs).render(text);
    assert!(
        shown.contains(
            "shop.yaml:12:19: services.cart.endpoints.get.steps[1].call: no service 'carts' — did you mean 'cart'?\n   \
             |\n12 |           - call: carts.get\n   |                   ^\n   = hint: services: cart, db\n"
        ),
        "{shown}"
    );
    assert!(shown.ends_with("10 problems found\n"));
}

#[test]
fn unknown_keys_suggest_the_closest() {
    let text = SHOP.replace("workload:", "workloads:");
    let errs = errors(&text);
    assert!(
        errs.iter().any(|d| d.message == "unknown key 'workloads' at the top level — did you mean 'workload'?"),
        "{errs:#?}"
    );
    assert!(!errs.iter().any(|d| d.message.starts_with("missing 'workload'")), "one error, not two: {errs:#?}");
    let d = one_error(&with_steps("          - call: db.query\n            timout: 5ms\n"), "did you mean 'timeout'?");
    assert_eq!((d.line, d.column), (FIRST_STEP_LINE + 1, 13));
    assert!(d.hint.unwrap().contains("keys allowed in a call step: call, probability, policy, timeout,"));
    let d = one_error(&with_steps("          - work: 1ms\n            timeout: 5ms\n"), "unknown key 'timeout'");
    assert_eq!(d.path, "services.api.endpoints.get.steps[0].timeout");
    let d = one_error(&with_steps("          - wrk: 1ms\n"), "unknown step kind 'wrk' — did you mean 'work'?");
    assert_eq!((d.line, d.column), (FIRST_STEP_LINE, 13));
    one_error(&with_steps("          - zzz: 1ms\n"), "this step has no kind");
    one_error(&with_steps("          - { work: 1ms, delay: 2ms }\n"), "has 'work' and 'delay'");
    one_error(
        &with_steps("          - parallel: [ { call: db.query } ]\n            whait: any\n"),
        "did you mean 'wait'?",
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_found() {
    let errs = errors("services: [a, b]\nworkload: []\n");
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].message, "expected a map of services, found a list");
    assert_eq!((errs[0].line, errs[0].column, errs[0].path.as_str()), (1, 11, "services"));
    assert!(errs[1].message.contains("no workload"));
}

#[test]
fn wrong_types_in_services_and_steps() {
    let text =
        "services:\n  a:\n    replicas: two\n    endpoints: 5\nworkload:\n  - { name: w, target: a.x, rate: 1/s }\n";
    let errs = errors(text);
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert!(msgs[0].contains("expected a whole number, found 'two'"), "{msgs:?}");
    assert!(msgs[1].contains("expected a map of endpoints, found '5'"), "{msgs:?}");
    assert!(msgs[2].contains("no endpoint 'x'"), "{msgs:?}");
    let d = one_error(&with_steps("          work: 1ms\n"), "expected a list of steps, found a map");
    assert_eq!(d.path, "services.api.endpoints.get.steps");
    one_error(&with_steps("          - call\n"), "expected a step (a map), found 'call'");
    one_error(&with_steps("          - repeat: 3\n"), "expected repeat (a map), found '3'");
    one_error(
        &with_steps("          - call: db.query\n            cancel: yes\n"),
        "expected true or false, found 'yes'",
    );
    one_error(&with_steps("          - call: [db, query]\n"), "expected service.endpoint, found a list");
    one_error(&with_steps("          - work: { mean: 5ms }\n"), "expected a distribution, found a map");
    let errs = errors("- a\n- b\n");
    assert!(errs[0].message.contains("expected a topology (a map), found a list"), "{errs:#?}");
}

#[test]
fn both_work_and_steps_or_neither() {
    let text = "services:\n  a:\n    endpoints:\n      x: { work: 1ms, steps: [] }\n      y: {}\n      z: 5ms\nworkload: { name: w, target: a.x, rate: 1/s }\n";
    let errs = errors(text);
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(msgs[0].contains("either 'work' (a shorthand) or 'steps'"));
    assert!(msgs[1].contains("needs 'work' or 'steps'"));
    assert!(msgs[2].contains("expected an endpoint (a map), found '5ms'"));
    assert!(errs[2].hint.as_deref().unwrap().contains("work: exp(5ms)"));
}

#[test]
fn bad_units_come_from_the_unit_parser() {
    let errs = errors(&SHOP.replace("duration: 30m", "duration: 30").replace("rate: 500/s", "rate: 500"));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column, errs[0].path.as_str()), (2, 11, "duration"));
    assert!(errs[0].message.contains("'30' has no unit"));
    assert!(errs[1].message.contains("500/s"));
    one_error(&with_steps("          - call: db.query\n            timeout: 0ms\n"), "longer than zero");
    one_error(&SHOP.replace("max_wait: 500ms", "max_wait: 5 parsecs"), "unknown duration unit");
}

#[test]
fn a_bad_distribution_is_reported_at_its_own_column() {
    let (text, offset) =
        ("5 parsecs", super::dist::parse_dist("5 parsecs", &NoFiles, Path::new(".")).unwrap_err().offset);
    let d = one_error(&with_steps(&format!("          - work: {text}\n")), "");
    assert_eq!((d.line, d.column), (FIRST_STEP_LINE, 19 + offset));
    let d = one_error(&with_steps(&format!("          - delay: \"{text}\"\n")), "");
    assert_eq!((d.line, d.column), (FIRST_STEP_LINE, 21 + offset), "after the quote");
    let all = errors(&with_steps("          - { work: uniform(1ms, 3ms) }\n"));
    let quote = |d: &Diagnostic| d.hint.as_deref().is_some_and(|h| h.contains("quote"));
    assert!(all.len() == 2 && all.iter().all(quote), "a comma in a flow map splits the value: {all:#?}");
}

#[test]
fn unknown_services_and_endpoints() {
    let d = one_error(&with_steps("          - call: dbb.query\n"), "no service 'dbb' — did you mean 'db'?");
    assert_eq!(d.hint.as_deref(), Some("services: api, db"));
    let d = one_error(
        &with_steps("          - call: db.qeury\n"),
        "service 'db' has no endpoint 'qeury'; it has: query, read",
    );
    assert_eq!((d.column, d.hint.as_deref()), (22, Some("did you mean 'db.query'?")), "points at the endpoint");
    let d = one_error(&with_steps("          - call: db\n"), "'db' is not service.endpoint");
    assert_eq!(d.hint.as_deref(), Some("'db' has: query, read"));
    one_error(&with_steps("          - call: zzz.query\n"), "no service 'zzz'");
    let d = one_error(&SHOP.replace("target: frontend.home", "target: frontend.hom"), "no endpoint 'hom'");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'frontend.home'?"));
}

#[test]
fn call_cycles_are_reported_once_with_their_path() {
    let text = "services:\n  a:\n    endpoints:\n      x: { steps: [ { call: b.y } ] }\n  b:\n    endpoints:\n      y: { steps: [ { work: 1ms }, { call: c.z } ] }\n  c:\n    endpoints:\n      z: { steps: [ { call: a.x }, { call: c.w } ] }\n      w: { steps: [ { call: c.w } ] }\nworkload: { name: w, target: a.x, rate: 1/s }\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].message, "call cycle: a.x -> b.y -> c.z -> a.x");
    assert_eq!((errs[0].line, errs[0].column, errs[0].path.as_str()), (4, 29, "services.a.endpoints.x.steps[0].call"));
    assert_eq!(errs[1].message, "call cycle: c.w -> c.w");
    // Calling another endpoint of the same service is fine.
    load(
        &with_steps("          - call: db.query\n")
            .replace("query: { work: 1ms }", "query: { steps: [ { call: db.read } ] }"),
    )
    .unwrap();
}

#[test]
fn probabilities_must_be_in_zero_to_one() {
    let d =
        one_error(&with_steps("          - call: db.query\n            probability: 1.5\n"), "1.5 is outside [0, 1]");
    assert!(d.hint.unwrap().contains("10%"));
    one_error(&with_steps("          - fail: -1%\n"), "outside [0, 1]");
    one_error(&with_steps("          - cache: { name: c, hit_ratio: 2 }\n"), "outside [0, 1]");
    one_error(&with_steps("          - fail: lots\n"), "not a ratio");
    load(&with_steps("          - fail: 0\n          - fail: 100%\n")).unwrap();
}

#[test]
fn counts_and_rates_must_be_positive() {
    let text = "services:\n  a:\n    replicas: 0\n    cpus: -1\n    max_in_flight: 0\n    queue: { capacity: -1 }\n    endpoints:\n      x: { work: 1ms }\nworkload:\n  - { name: w, target: a.x, rate: -5/s }\n  - { name: u, target: a.x, users: 0, think: 1s }\n";
    let errs = errors(text);
    let paths: Vec<&str> = errs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "services.a.replicas",
            "services.a.cpus",
            "services.a.max_in_flight",
            "services.a.queue.capacity",
            "workload[0].rate",
            "workload[1].users"
        ]
    );
    assert!(errs[0].message.contains("at least 1"));
    assert!(errs[3].message.contains("at least 0"));
    one_error(&SHOP.replace("replicas: 3", "replicas: 2.5"), "expected a whole number, found 2.5");
    one_error(&SHOP.replace("replicas: 3", "replicas: 10000000"), "at most 100000");
    one_error(&SHOP.replace("count: 3,", "count: -3,"), "at least 0");
    load(&SHOP.replace("count: 3,", "count: 0,")).unwrap();
}

#[test]
fn wait_must_fit_the_branches() {
    let par = "          - parallel: [ { call: db.query }, { call: db.read } ]\n";
    let d =
        one_error(&with_steps(&format!("{par}            wait: 3\n")), "wait: 3, but 'parallel' has only 2 branches");
    assert_eq!((d.line, d.column), (FIRST_STEP_LINE + 1, 19));
    one_error(&with_steps(&format!("{par}            wait: 0\n")), "at least 1");
    one_error(&with_steps(&format!("{par}            wait: anny\n")), "did you mean 'any'?");
    let m = load(&with_steps(&format!("{par}            wait: 2\n"))).unwrap();
    assert_eq!(m.forks[0].wait, Wait::K(2));
}

#[test]
fn empty_parallel_and_branch_and_bad_weights() {
    one_error(&with_steps("          - parallel: []\n"), "'parallel' needs at least one branch");
    one_error(&with_steps("          - branch: []\n"), "'branch' needs at least one alternative");
    one_error(&with_steps("          - branch: [ { weight: 0, steps: [] } ]\n"), "larger than zero");
    one_error(&with_steps("          - branch: [ { weight: -1 } ]\n"), "negative");
    one_error(&with_steps("          - branch: [ { steps: [] } ]\n"), "missing 'weight'");
    let m =
        load(&with_steps("          - branch: [ { weight: 1 }, { weight: 3, steps: [ { work: 1ms } ] } ]\n")).unwrap();
    assert_eq!(m.branches[0].cumulative, [0.25, 1.0]);
    assert_eq!(
        m.endpoints[0].code[..4],
        [Instr::Branch(BranchId(0)), Instr::Jump(4), Instr::Work(DistId(0)), Instr::Jump(4)]
    );
}

#[test]
fn repeat_nesting_is_bounded_per_branch() {
    let nest = |depth: usize, inner: &str| {
        let mut s = inner.to_string();
        for _ in 0..depth {
            s = format!("{{ repeat: {{ count: 2, steps: [ {s} ] }} }}");
        }
        with_steps(&format!("          - {s}\n"))
    };
    load(&nest(MAX_LOOP_DEPTH, "{ work: 1ms }")).unwrap();
    let d = one_error(&nest(MAX_LOOP_DEPTH + 1, "{ work: 1ms }"), "nested more than 4 deep");
    assert!(d.path.ends_with(".repeat.steps[0].repeat.steps[0].repeat.steps[0].repeat.steps[0].repeat"), "{}", d.path);
    let par = nest(MAX_LOOP_DEPTH, "{ parallel: [ { repeat: { count: 1, steps: [ { work: 1ms } ] } } ] }");
    load(&par).unwrap_or_else(|d| panic!("a parallel branch has its own counters: {d}"));
    one_error(&with_steps("          - repeat: { count: 2 }\n"), "missing 'steps'");
}

#[test]
fn duplicate_names() {
    let d = one_error(
        &SHOP.replace("name: app", "name: web"),
        "duplicate workload name 'web' (first at line 77, column 5)",
    );
    assert_eq!((d.line, d.column, d.path.as_str()), (87, 5, "workload[1].name"));
    let dup = SHOP.replace("  unused:\n", "  db:\n");
    let d = one_error(&dup, "duplicate key 'db' (first at line 64, column 3)");
    assert_eq!((d.line, d.column, d.path.as_str()), (72, 3, "services.db"));
    one_error(
        &with_steps("          - cache: { name: c, hit_ratio: 50% }\n          - cache: { name: c, hit_ratio: 60% }\n"),
        "cache 'c' has hit_ratio 0.6 here but 0.5 at line 6",
    );
    one_error(
        &SHOP.replace("  pricing:", "  pri.cing:").replace("pricing.quote", "cart.get"),
        "service name 'pri.cing' is not a name: it has '.'",
    );
}

#[test]
fn warmup_must_end_before_the_run() {
    let d = one_error(&SHOP.replace("duration: 30m", "duration: 2m"), "warmup (2m) must be shorter than duration (2m)");
    assert_eq!(d.path, "warmup");
    let d = one_error(&SHOP.replace("duration: 30m\n", ""), "warmup (2m) must be shorter than duration (1m)");
    assert!(d.hint.unwrap().contains("defaults to 1m"));
    one_error(&SHOP.replace("duration: 30m", "duration: 0s"), "longer than zero");
}

#[test]
fn later_features_are_errors_not_ignored() {
    let cases = [
        ("          - publish: orders\n", "no queue 'orders': the topology declares no queues"),
        (
            "          - { call: db.query, publish: orders }\n",
            "a step has one kind, but this one has 'call' and 'publish'",
        ),
        (
            "          - cache: { name: c, hit: [] }\n",
            "cache 'c' has no 'hit_ratio' and is not declared under 'caches'",
        ),
    ];
    for (steps, needle) in cases {
        one_error(&with_steps(steps), needle);
    }
    // Queues are supported now: an empty map is fine, a list is not.
    assert!(load(&format!("queues: {{}}\n{SHOP}")).is_ok());
    let top = [("queues: []\n", "expected a map of queues, found a list")];
    for (line, needle) in top {
        one_error(&format!("{line}{SHOP}"), needle);
    }
    one_error(
        &SHOP.replace("    balancer: p2c\n", "    autoscale: { min: 2 }\n"),
        "missing 'max' in services.cart.autoscale",
    );
    one_error(&SHOP.replace("    arrivals: uniform\n", "    client: { timeout: 0s }\n"), "must be longer than zero");
    let trace = SHOP.replace("    rate: 500/s\n    arrivals: uniform\n", "    trace: { file: t.csv }\n");
    // A trace replaces the rate: no complaint of a missing 'rate', but its
    // shape does not apply to a replay.
    let errs = errors(&trace);
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("cannot read the trace t.csv"), "{messages:?}");
    assert!(messages[1].contains("'shape' applies to open-loop (rate) workloads only"));
}

#[test]
fn workload_modes() {
    let base = "services:\n  a:\n    endpoints:\n      x: { work: 1ms }\nworkload:\n";
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, rate: 1/s, users: 3, think: 1s }}\n"),
        "either 'rate' (open loop) or 'users'",
    );
    one_error(
        &format!("{base}  - {{ name: w, target: a.x }}\n"),
        "missing 'rate' (open loop), 'users' (closed loop) or 'trace' (replay) in workload[0]",
    );
    one_error(&format!("{base}  - {{ name: w, target: a.x, users: 3 }}\n"), "missing 'think'");
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, rate: 1/s, think: 1s }}\n"),
        "'think' applies to closed-loop (users) workloads only",
    );
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, users: 2, think: 1s, arrivals: poisson }}\n"),
        "'arrivals' applies to open-loop",
    );
    one_error(&format!("{base}  - {{ target: a.x, rate: 1/s }}\n"), "missing 'name'");
    one_error(&format!("{base}  - {{ name: w, rate: 1/s }}\n"), "missing 'target'");
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, rate: 1/s, arrivals: poison }}\n"),
        "did you mean 'poisson'?",
    );
    one_error(&format!("{base}  []\n").replace("workload:\n  []", "workload: []"), "no workload");
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, rate: 1/s, shape: [ {{ spike: {{ at: 1s, factor: 2 }} }} ] }}\n"),
        "missing 'for'",
    );
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, rate: 1/s, shape: [ {{ steps: [[1s, 1], [1s, 2]] }} ] }}\n"),
        "step times must increase",
    );
    one_error(
        &format!(
            "{base}  - {{ name: w, target: a.x, rate: 1/s, shape: [ {{ diurnal: {{ period: 1h, min: 2, max: 1 }} }} ] }}\n"
        ),
        "min (2) is larger than max (1)",
    );
    one_error(
        &format!("{base}  - {{ name: w, target: a.x, rate: 1/s, shape: [ {{ wave: {{}} }} ] }}\n"),
        "unknown key 'wave'",
    );
    one_error(&format!("{base}  - {{ name: w, target: a.x, rate: 1/s, shape: [ {{ }} ] }}\n"), "a shape needs one of");
}

#[test]
fn missing_sections_and_empty_files() {
    let errs = errors("");
    assert!(errs[0].message.contains("expected a topology (a map), found nothing"), "{errs:#?}");
    let errs = errors("name: x\n");
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(msgs, ["missing 'services' at the top level", "missing 'workload' at the top level"]);
    let errs = errors("services: {}\nworkload: []\n");
    assert!(errs[0].message.contains("no services") && errs[1].message.contains("no workload"), "{errs:#?}");
    let errs = errors("services:\n  a: { endpoints: {} }\nworkload: { name: w, target: a.x, rate: 1/s }\n");
    assert!(errs[0].message.contains("at least one endpoint"), "{errs:#?}");
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    let d = one_error("services:\n  a:\n    endpoints: { x: { work: 1ms }\nworkload: []\n", "invalid YAML");
    assert!(d.line >= 3, "{d:?}");
    let d = one_error(&with_steps("          - work: mix(0.9: exp(2ms), 0.1: exp(50ms))\n"), "invalid YAML");
    assert!(d.hint.unwrap().contains("quoted"));
    let errs = errors("a: 1\na: 2\nservices: {}\n");
    assert!(errs.iter().any(|d| d.message.contains("duplicate key 'a'")));
    assert!(errs.iter().any(|d| d.message.contains("unknown key 'a'")), "the decoder still runs: {errs:#?}");
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<String> = Vec::new();
    for (i, _) in SHOP.char_indices() {
        inputs.push(SHOP[..i].to_string());
    }
    let lines: Vec<&str> = SHOP.lines().collect();
    for i in 0..lines.len() {
        let mut l = lines.clone();
        l.remove(i);
        inputs.push(l.join("\n"));
        let mut l = lines.clone();
        l[i] = l[i].trim_start();
        inputs.push(l.join("\n"));
    }
    let alphabet: Vec<char> = "ab:-[]{},&*!|>'\"\n #.0123%/()=ms\t".chars().collect();
    let mut rng = RngStream::derive(1, "garbage", "spec");
    for k in 0..3000 {
        let mut s: String = (0..(k % 80)).map(|_| alphabet[rng.below(alphabet.len() as u32) as usize]).collect();
        if k % 3 == 0 {
            let at = rng.below(SHOP.len() as u32) as usize;
            let at = (0..=at).rev().find(|&i| SHOP.is_char_boundary(i)).unwrap_or(0);
            s = format!("{}{s}{}", &SHOP[..at], &SHOP[at..]);
        }
        inputs.push(s);
    }
    // Deep nesting, up to and past the YAML depth limit.
    for depth in [10, 40, 70] {
        let inner = "{ sequence: [ ".repeat(depth) + "{ work: 1ms }" + &" ] }".repeat(depth);
        inputs.push(with_steps(&format!("          - {inner}\n")));
    }
    inputs.push(SHOP.replace("replicas: 3", "replicas: 99999999999999999999999"));
    for text in &inputs {
        if let Err(d) = load(text) {
            assert!(!d.is_empty(), "an error without a diagnostic for {text:?}");
            let _ = d.render(text);
        }
    }
}

#[test]
fn a_misspelt_or_malformed_services_gives_one_error() {
    let workload = "workload: [ { name: w, target: api.get, rate: 1/s } ]\n";
    let text = format!("service:\n  api: {{ endpoints: {{ get: {{ work: 1ms }} }} }}\n{workload}");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("did you mean 'services'?"), "{errs:#?}");
    let errs = errors(&format!("services: [ api ]\n{workload}"));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("expected a map of services"), "{errs:#?}");
    // A service's key directly under `services` (the service name forgotten).
    let errs = errors(&format!("services:\n  endpoints:\n    get: {{ work: 1ms }}\n{workload}"));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].message, "'endpoints' is a key of a service, not a service name");
    assert_eq!((errs[0].line, errs[0].column), (2, 3));
    let text = format!("services:\n  api: {{ endpoints: {{ get: {{ work: 1ms }} }} }}\n  replicas: 3\n{workload}");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("'replicas' is a key of a service"), "{errs:#?}");
    // A service may still be called like a key, if it is a service.
    let text = format!(
        "services:\n  api: {{ endpoints: {{ get: {{ steps: [ {{ call: queue.put }} ] }} }} }}\n  queue: {{ endpoints: {{ put: {{ work: 1ms }} }} }}\n{workload}"
    );
    load(&text).unwrap_or_else(|d| panic!("{d}"));
    // A step written where the endpoint is: one error, not also "needs work or steps".
    let text = format!("services:\n  api: {{ endpoints: {{ get: {{ call: api.x }} }} }}\n{workload}");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("unknown key 'call'"), "{errs:#?}");
}

#[test]
fn unicode_names_are_accepted_and_positions_count_characters() {
    let text = "services:\n  café:\n    endpoints: { 取得: { steps: [ { call: 注文.作成 } ] } }\n  注文:\n    \
                endpoints: { 作成: { work: 1ms } }\nworkload: [ { name: w, target: café.取得, rate: 1/s } ]\n";
    let m = load(text).unwrap_or_else(|d| panic!("{}", d.render(text)));
    assert_eq!(m.edges[0].name, "café->注文.作成");
    // A mistake after multi-byte text is reported at its character column.
    let bad = text.replace("注文.作成 }", "注文.作 }");
    let d = one_error(&bad, "service '注文' has no endpoint '作'");
    assert_eq!((d.line, d.column), (3, 44), "the column of '作', counted in characters");
    let rendered = Diagnostics(vec![d]).render(&bad);
    let caret_line = rendered.lines().nth(3).unwrap();
    let src_line = rendered.lines().nth(2).unwrap();
    // '取得', '注文' are wide: the caret is under '作' on a terminal.
    let width = |s: &str| s.chars().map(|c| if (c as u32) >= 0x3000 { 2 } else { 1 }).sum::<usize>();
    let at = src_line.find("作 }").unwrap();
    assert_eq!(width(&src_line[..at]), caret_line.find('^').unwrap(), "{rendered}");
    for name in ["my service", "a🚀", "x,y", ""] {
        let t = text.replace("  注文:\n", &format!("  \"{name}\":\n")).replace("注文.作成", "café.取得");
        let errs = errors(&t);
        assert!(errs.iter().any(|e| e.message.contains("is not a name")), "{name}: {errs:#?}");
    }
}

#[test]
fn huge_numbers_get_clear_errors() {
    let svc = |v: &str| SHOP.replace("replicas: 3", &format!("replicas: {v}"));
    for v in ["1e400", "99999999999999999999", "100001", "inf"] {
        let d = one_error(&svc(v), "must be at most 100000");
        assert_eq!(d.path, "services.frontend.replicas");
    }
    one_error(&SHOP.replace("rate: 500/s", "rate: 1e300/s"), "above one per nanosecond");
    one_error(&SHOP.replace("rate: 500/s", "rate: 1e400/s"), "is too high");
    one_error(&SHOP.replace("duration: 30m", "duration: 1e400s"), "duration '1e400s' is too long");
    one_error(&SHOP.replace("duration: 30m", "duration: 300000d"), "duration '300000d' is too long");
    let d = one_error(
        &with_steps("          - repeat: { count: 4000000000, steps: [ { work: 1ms } ] }\n"),
        "must be at most 1000000",
    );
    assert_eq!(d.path, "services.api.endpoints.get.steps[0].repeat.count");
    one_error(&SHOP.replace("seed: 7", "seed: 18446744073709551616"), "must be at most 18446744073709551615");
    one_error(&with_steps("          - work: exp(1e300s)\n"), "too long");
}

#[test]
fn very_long_lines_and_values_give_short_diagnostics() {
    // A megabyte-long key and value on one line: one error, quickly, and
    // the rendering shows a window of the line, not all of it.
    let long = "k".repeat(1 << 20);
    let text = SHOP.replace("    cpus: 2\n", &format!("    {long}: {long}\n"));
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{}", errs.len());
    assert!(errs[0].message.len() < 1000 && errs[0].hint.as_ref().is_none_or(|h| h.len() < 1000));
    let rendered = Diagnostics(errs).render(&text);
    assert!(rendered.len() < 2000, "{}", rendered.len());
    let text = SHOP.replace("rate: 500/s", &format!("rate: {}/s", "9".repeat(100_000)));
    let errs = errors(&text);
    assert!(errs.len() == 1 && errs[0].message.len() < 1000, "{errs:?}");
}

#[test]
fn large_files_load_without_quadratic_work() {
    // Each of these took minutes when a lookup or a duplicate check was a
    // scan: 100k keys in one map, 20k services in a call chain, 20k
    // workloads, policies and faults. Now each takes about a second.
    let flat: String = (0..100_000).map(|i| format!("k{i}: 1\n")).collect();
    let errs = errors(&flat);
    assert_eq!(errs.len(), 100_002, "every unknown key, then services and workload missing");
    let n = 20_000;
    let mut t = String::from("policies:\n");
    t.extend((0..n).map(|i| format!("  p{i}: {{ timeout: 1s, circuit_breaker: {{ window: 10 }} }}\n")));
    t.push_str("services:\n");
    t.extend((0..n).map(|i| {
        format!("  s{i}: {{ endpoints: {{ e: {{ steps: [ {{ call: s{}.e, policy: p{i} }} ] }} }} }}\n", i + 1)
    }));
    t.push_str(&format!("  s{n}: {{ endpoints: {{ e: {{ work: 1ms }} }} }}\nworkload:\n"));
    t.extend((0..n).map(|i| format!("  - {{ name: w{i}, target: s{i}.e, rate: 1/s }}\n")));
    t.push_str("faults:\n");
    t.extend((0..n).map(|i| format!("  - {{ at: 1s, for: 1s, kind: slowdown, service: s{i}, factor: 2 }}\n")));
    let m = load(&t).unwrap_or_else(|d| panic!("{}", d.0[0]));
    assert_eq!((m.services.len(), m.edges.len(), m.breakers.len()), (n + 1, n, n));
    // The same calls to services that do not exist: one error each, with
    // a short hint.
    let bad = t.replace("call: s", "call: x");
    let errs = errors(&bad);
    assert_eq!(errs.len(), n);
    assert!(errs[0].hint.as_ref().unwrap().len() < 400, "{:?}", errs[0].hint);
}
