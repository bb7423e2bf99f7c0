//! Unit tests of replica life-cycles and the HPA wiring: the meter's
//! integrals, the scrape grid, the scale-down order, and starting replicas
//! left alone by the balancer.

use super::*;
use crate::model::Model;
use crate::sim::replica::Meter;
use crate::sim::{RunOptions, main_loop};
use crate::spec;

fn model(autoscale: &str, duration: &str) -> Model {
    let text = format!(
        "name: t
duration: {duration}
services:
  api:
    cpus: 1
    autoscale:
{autoscale}
    endpoints:
      get:
        work: 10ms
  plain:
    replicas: 2
    endpoints:
      get:
        work: 1ms
workload:
  - name: w
    target: api.get
    rate: 200/s
    arrivals: deterministic
    shape:
      - steps: [ [0s, 1.0], [30s, 3.0] ]
"
    );
    spec::testing::model(&text)
}

const SCALING: &str = "      min: 2\n      max: 10\n      metrics: [ { rps: 51 } ]\n      metrics_delay: 0s\n      \
                       startup: 10m\n      behavior: {}";

#[test]
fn the_meter_integrates_levels_between_changes() {
    let mut m = Meter::default();
    m.advance(SimTime(10), 0, 0);
    m.advance(SimTime(30), 2, 5); // levels 2 and 5 held for 20 ns
    m.advance(SimTime(35), 1, 0);
    assert_eq!((m.busy_area, m.system_area), (45, 100));
}

#[test]
fn only_autoscaled_services_are_metered() {
    let m = model(SCALING, "1s");
    let w = World::new(&m, &RunOptions::default());
    let metered: Vec<bool> = w.fleet.replicas.iter().map(|r| r.meter.is_some()).collect();
    assert_eq!(metered, vec![true, true, false, false]);
    assert!(w.scaling.hpas[0].is_some() && w.scaling.hpas[1].is_none());
}

#[test]
fn starting_replicas_get_no_traffic_and_go_first_on_scale_down() {
    // The load triples at 30 s; new replicas take 10 minutes to start, so
    // when the run stops at 90 s they are all still starting.
    let m = model(SCALING, "90s");
    let mut w = World::new(&m, &RunOptions { check_invariants: true, ..RunOptions::default() });
    let _ = main_loop(&mut w, &mut |_| {});
    assert!(w.check.violations.is_empty(), "{:?}", w.check.violations);
    let starting: Vec<ReplicaId> = (0..w.fleet.replicas.len() as u32)
        .map(ReplicaId)
        .filter(|&r| w.fleet.replica(r).state == ReplicaState::Starting)
        .collect();
    assert!(!starting.is_empty(), "the HPA did not scale up");
    for &r in &starting {
        let rep = w.fleet.replica(r);
        assert_eq!(rep.service, ServiceId(0));
        assert_eq!(rep.meter.as_ref().map(|m| m.arrivals), Some(0), "starting replica {r:?} got attempts");
    }
    assert_eq!(w.fleet.services[0].ready, vec![ReplicaId(0), ReplicaId(1)]);
    // Scale-down takes the newest starting replica first.
    assert_eq!(scale_down_victim(&w, ServiceId(0)), starting.last().copied());
    for &r in &starting {
        w.fleet.replica_mut(r).state = ReplicaState::Gone;
    }
    // Then the most recently ready one (both ready at 0: the higher index).
    assert_eq!(scale_down_victim(&w, ServiceId(0)), Some(ReplicaId(1)));
}

#[test]
fn scrapes_run_on_the_sync_grid_shifted_by_the_delay() {
    let m = model("      min: 2\n      max: 10\n      metrics: [ { rps: 51 } ]\n      metrics_delay: 40s", "1s");
    let mut w = World::new(&m, &RunOptions::default());
    let phase = w.scaling.hpas[0].as_ref().expect("autoscaled").first_sync;
    assert!(phase.0 < 15_000_000_000);
    start(&mut w);
    let mut times = Vec::new();
    while let Some((t, ev)) = w.q.pop() {
        match ev {
            Event::HpaScrape { .. } => times.push(("scrape", t)),
            Event::HpaSync { .. } => times.push(("sync", t)),
            _ => {}
        }
    }
    let scrape = times.iter().find(|x| x.0 == "scrape").expect("a scrape").1;
    let sync = times.iter().find(|x| x.0 == "sync").expect("a sync").1;
    assert_eq!(sync, phase);
    assert!(scrape.0 < 15_000_000_000);
    // A scrape time plus the delay lands on the sync grid.
    assert_eq!((scrape.0 + 40_000_000_000) % 15_000_000_000, phase.0 % 15_000_000_000);
}
