//! Tests of `faults:`.

use super::{load, ok, one_error};
use crate::engine::{SimDuration, SimTime};
use crate::model::*;

/// A 30 m run with services `api` (a cache step on `cart-cache`) and `db`,
/// then `faults:` followed by `items`; the first item is on line 15.
fn with_faults(items: &str) -> String {
    format!(
        "duration: 30m\nservices:\n  api:\n    endpoints:\n      get:\n        steps:\n          - cache: {{ name: \
         cart-cache, hit_ratio: 90%, miss: [ {{ call: db.query }} ] }}\n  db:\n    replicas: 3\n    endpoints:\n      \
         query: {{ work: 1ms }}\nworkload:\n  - {{ name: web, target: api.get, rate: 10/s }}\nfaults:\n{items}"
    )
}

fn one(item: &str) -> Fault {
    let m = ok(&with_faults(&format!("  - {item}\n")));
    assert_eq!(m.faults.len(), 1);
    m.faults[0].clone()
}

const MIN: fn(u64) -> SimDuration = |m| SimDuration::from_secs(60 * m);
const API: ServiceId = ServiceId(0);
const DB: ServiceId = ServiceId(1);

fn at(minutes: u64) -> SimTime {
    SimTime(MIN(minutes).0)
}

#[test]
fn every_kind() {
    let m = ok(&with_faults(
        r#"  - { at: 10m, for: 3m, kind: latency,  service: db, add: 200ms }
  - { at: 10m, for: 3m, kind: latency,  service: db, multiply: 3 }
  - { at: 10m, for: 3m, kind: errors,   service: api, rate: 30% }
  - { at: 12m,          kind: crash,    service: db, replicas: 2, restart_after: 45s }
  - { at: 12m,          kind: crash,    service: db }
  - { at: 12m, for: 1m, kind: outage,   service: db, mode: hang }
  - { at: 12m, for: 1m, kind: outage,   service: db, mode: refuse }
  - { at: 5m,  for: 1m, kind: partition, from: api, to: db }
  - { at: 0s,           kind: pauses,   service: api, every: exp(30s), pause: 200ms }
  - { at: 0s,  for: 5m, kind: pauses,   service: api, every: 1m, pause: "uniform(10ms, 20ms)" }
  - { at: 15m, for: 5m, kind: slowdown, service: api, factor: 2 }
"#,
    ));
    let f = &m.faults;
    assert_eq!(f.len(), 11);
    assert_eq!((f[0].at, f[0].duration, f[0].end()), (at(10), Some(MIN(3)), Some(at(13))));
    let FaultKind::LatencyAdd { service: DB, add } = f[0].kind else { panic!("{:?}", f[0]) };
    assert_eq!(m.dists[add.ix()].mean_ns(), 2e8);
    assert_eq!(f[1].kind, FaultKind::LatencyMultiply { service: DB, factor: 3.0 });
    assert_eq!(f[2].kind, FaultKind::Errors { service: API, rate: 0.3 });
    let restart = Some(SimDuration::from_secs(45));
    assert_eq!(
        (f[3].duration, &f[3].kind),
        (None, &FaultKind::Crash { service: DB, replicas: 2, restart_after: restart })
    );
    assert_eq!(f[4].kind, FaultKind::Crash { service: DB, replicas: 1, restart_after: None });
    assert_eq!(f[5].kind, FaultKind::Outage { service: DB, mode: OutageMode::Hang });
    assert_eq!(f[6].kind, FaultKind::Outage { service: DB, mode: OutageMode::Refuse });
    assert_eq!(f[7].kind, FaultKind::Partition { from: API, to: DB, mode: OutageMode::Hang });
    assert!(matches!(f[8].kind, FaultKind::Pauses { service: API, .. }) && f[8].duration.is_none());
    assert_eq!(f[9].duration, Some(MIN(5)));
    assert_eq!(f[10].kind, FaultKind::Slowdown { service: API, factor: 2.0 });
    assert_eq!(f.iter().map(|x| x.kind.word()).collect::<Vec<_>>()[..3], ["latency", "latency", "errors"]);
    assert_eq!(
        one("{ at: 1m, for: 1m, kind: partition, from: db, to: api, mode: refuse }").kind,
        FaultKind::Partition { from: DB, to: API, mode: OutageMode::Refuse }
    );
    assert!(ok(&with_faults("  []\n")).faults.is_empty());
}

#[test]
fn windows_may_run_past_the_end_but_must_start_before_it() {
    assert_eq!(
        one("{ at: 29m, for: 1h, kind: errors, service: db, rate: 1 }").duration,
        Some(SimDuration::from_secs(3600))
    );
    let d = one_error(
        &with_faults("  - { at: 30m, for: 1m, kind: errors, service: db, rate: 1 }\n"),
        "the fault starts at 30m, but the run ends at 30m",
    );
    assert_eq!((d.line, d.column, d.path.as_str()), (15, 11, "faults[0].at"));
    one_error(&with_faults("  - { at: 2h, kind: crash, service: db }\n"), "starts at 2h");
}

#[test]
fn for_where_the_kind_needs_it() {
    let d =
        one_error(&with_faults("  - { at: 1m, kind: latency, service: db, add: 1ms }\n"), "missing 'for' in faults[0]");
    assert_eq!(d.hint.as_deref(), Some("how long it lasts, e.g. for: 3m"));
    for item in [
        "{ at: 1m, kind: errors, service: db, rate: 1 }",
        "{ at: 1m, kind: outage, service: db }",
        "{ at: 1m, kind: partition, from: api, to: db }",
        "{ at: 1m, kind: slowdown, service: db, factor: 2 }",
    ] {
        one_error(&with_faults(&format!("  - {item}\n")), "missing 'for'");
    }
    let d = one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: crash, service: db }\n"),
        "a crash happens at one instant and has no 'for'",
    );
    assert!(d.hint.unwrap().contains("restart_after"));
    assert_eq!(d.path, "faults[0].for");
    one_error(&with_faults("  - { at: 1m, kind: cache_flush, cache: cart-cache }\n"), "no keyed cache 'cart-cache'");
    one_error(
        &with_faults("  - { at: 1m, for: 0s, kind: pauses, service: db, every: 1s, pause: 1ms }\n"),
        "longer than zero",
    );
}

#[test]
fn references_are_checked_with_suggestions() {
    let d = one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: errors, service: dbb, rate: 1 }\n"),
        "no service 'dbb' — did you mean 'db'?",
    );
    assert_eq!(d.hint.as_deref(), Some("services: api, db"));
    let d = one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: errors, service: db.query, rate: 1 }\n"),
        "no service 'db.query'",
    );
    assert!(d.hint.unwrap().contains("write the service name only"));
    one_error(&with_faults("  - { at: 1m, for: 1m, kind: partition, from: apu, to: db }\n"), "did you mean 'api'?");
    one_error(&with_faults("  - { at: 1m, for: 1m, kind: partition, from: db, to: db }\n"), "two different services");
}

#[test]
fn kinds_and_keys() {
    one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: latncy, service: db, add: 1ms }\n"),
        "unknown fault kind 'latncy' — did you mean 'latency'?",
    );
    let d = one_error(&with_faults("  - { at: 1m, for: 1m, service: db }\n"), "missing 'kind' in faults[0]");
    assert!(d.hint.unwrap().starts_with("kinds: latency, errors"));
    let d = one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: errors, service: db, rate: 1, factor: 2 }\n"),
        "unknown key 'factor' in faults[0]",
    );
    assert!(d.hint.unwrap().contains("keys allowed in an errors fault: at, for, kind, service, rate"));
    let errs = load(&with_faults("  - { at: 1m, for: 1m, kind: errors, service: db, rates: 1 }\n")).unwrap_err().0;
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(msgs, ["unknown key 'rates' in faults[0] — did you mean 'rate'?"]);
    one_error(&with_faults("  - { at: 1m, for: 1m, kind: errors, service: db, rate: 130% }\n"), "outside [0, 1]");
    one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: latency, service: db, add: 1ms, multiply: 2 }\n"),
        "either adds or multiplies",
    );
    one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: latency, service: db }\n"),
        "needs 'add' (e.g. add: 200ms) or 'multiply'",
    );
    one_error(&with_faults("  - { at: 1m, for: 1m, kind: latency, service: db, multiply: 0 }\n"), "larger than zero");
    one_error(
        &with_faults("  - { at: 1m, for: 1m, kind: outage, service: db, mode: hung }\n"),
        "unknown mode 'hung' — did you mean 'hang'?",
    );
    one_error(&with_faults("  - { at: 1m, kind: crash, service: db, replicas: 0 }\n"), "must be at least 1");
    one_error(&with_faults("  - { at: 1m, kind: pauses, service: db, pause: 1ms }\n"), "missing 'every'");
    one_error(&with_faults("  - { at: 1m, for: 1m, kind: slowdown, service: db }\n"), "missing 'factor'");
    one_error(&with_faults("  - { for: 1m, kind: slowdown, service: db, factor: 2 }\n"), "missing 'at'");
    one_error(&with_faults("  - 3\n"), "expected a latency fault (a map)");
    one_error(&with_faults("  { at: 1m }\n"), "expected a list of faults");
}

#[test]
fn every_problem_at_once() {
    let text = with_faults(
        "  - { at: 1m, for: 1m, kind: errors, service: dbb, rate: 2 }\n  - { at: 40m, kind: crash, service: api, for: 1m }\n",
    );
    let errs = load(&text).unwrap_err().0;
    let paths: Vec<&str> = errs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["faults[0].service", "faults[0].rate", "faults[1].at", "faults[1].for"], "{errs:#?}");
}
