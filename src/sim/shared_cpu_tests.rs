//! The node executor's arithmetic, driven by a tiny event loop of its own:
//! CFS throttling of one step against a known period phase, several threads
//! under one limit, FCFS across replicas, pauses.

use super::*;
use std::collections::BTreeMap;

const MS: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Done(u32, usize),
    Slice(u32, usize),
    Quota(u32, u32),
    Unblock(u32),
}

/// A node and its pending events, keyed `(time, seq)` like the engine.
struct Rig {
    node: Node,
    events: BTreeMap<(u64, u64), Ev>,
    seq: u64,
    strands: Vec<StrandKey>,
    finished: Vec<(usize, u64, Finished)>,
    slots: Vec<u32>,
}

impl Rig {
    fn new(cores: u32) -> Rig {
        Rig {
            node: Node::new(cores),
            events: BTreeMap::new(),
            seq: 0,
            strands: keys(16),
            finished: Vec::new(),
            slots: Vec::new(),
        }
    }

    fn add(&mut self, threads: u32, quota: Option<QuotaCfg>) -> u32 {
        let r = ReplicaId(self.slots.len() as u32);
        let s = self.node.join(SimTime::ZERO, r, threads, quota);
        self.slots.push(s);
        r.0
    }

    fn schedule(&mut self, fx: &Effects) {
        for s in &fx.starts {
            let i = self.strands.iter().position(|k| *k == s.strand).unwrap();
            self.seq += 1;
            self.events.insert((s.done_at.0, self.seq), Ev::Done(s.replica.0, i));
        }
        for q in &fx.quota {
            self.seq += 1;
            self.events.insert((q.at.0, self.seq), Ev::Quota(q.replica.0, q.generation));
        }
        for &(k, r, at) in &fx.slices {
            let i = self.strands.iter().position(|x| *x == k).unwrap();
            self.seq += 1;
            self.events.insert((at.0, self.seq), Ev::Slice(r.0, i));
        }
        for &(r, at) in &fx.unblock_at {
            self.seq += 1;
            self.events.insert((at.0, self.seq), Ev::Unblock(r.0));
        }
    }

    fn submit(&mut self, at: u64, replica: u32, job: usize, demand: u64) {
        let mut fx = Effects::default();
        self.node.submit(
            SimTime(at),
            self.slots[replica as usize],
            self.strands[job],
            SimDuration(demand),
            &|_| true,
            &mut fx,
        );
        self.schedule(&fx);
    }

    fn pause(&mut self, at: u64, replica: u32, len: u64) {
        let mut fx = Effects::default();
        self.node.pause(SimTime(at), self.slots[replica as usize], SimDuration(len), &|_| true, &mut fx);
        self.schedule(&fx);
    }

    /// Runs events up to `until` (inclusive).
    fn run(&mut self, until: u64) {
        while let Some((&(t, s), &ev)) = self.events.iter().next() {
            if t > until {
                break;
            }
            self.events.remove(&(t, s));
            let now = SimTime(t);
            let mut fx = Effects::default();
            match ev {
                Ev::Done(r, i) => {
                    if let Some(f) =
                        self.node.complete(now, self.slots[r as usize], self.strands[i], &|_| true, &mut fx)
                    {
                        self.finished.push((i, t, f));
                    }
                }
                Ev::Slice(r, i) => {
                    self.node.slice_ends(now, self.slots[r as usize], self.strands[i], &|_| true, &mut fx)
                }
                Ev::Quota(r, g) => self.node.quota_out(now, self.slots[r as usize], g, &|_| true, &mut fx),
                Ev::Unblock(r) => self.node.unblock(now, self.slots[r as usize], &|_| true, &mut fx),
            }
            self.schedule(&fx);
        }
    }

    fn done(&self, job: usize) -> (u64, Finished) {
        let (_, t, f) = self.finished.iter().find(|(i, _, _)| *i == job).copied().expect("finished");
        (t, f)
    }
}

fn keys(n: usize) -> Vec<StrandKey> {
    (0..n as u32).map(StrandKey::for_tests).collect()
}

fn quota(limit_ms: u64, period_ms: u64, phase_ms: u64) -> Option<QuotaCfg> {
    Some(QuotaCfg { per_period: limit_ms * MS, period: period_ms * MS, phase: phase_ms * MS })
}

#[test]
fn one_step_under_a_half_core_limit_waits_out_the_periods() {
    // 500m over 100 ms periods starting at 0: 50 ms of CPU per period.
    // 120 ms of work from t=0: 0-50 runs, 50-100 throttled, 100-150 runs,
    // 150-200 throttled, 200-220 runs.
    let mut rig = Rig::new(4);
    let r = rig.add(1, quota(50, 100, 0));
    rig.submit(0, r, 0, 120 * MS);
    rig.run(u64::MAX);
    let (t, f) = rig.done(0);
    assert_eq!(t, 220 * MS);
    assert_eq!(f.throttled.0, 100 * MS);
    assert_eq!(f.queued.0, 0);
    assert_eq!(f.started, SimTime::ZERO);
    let m = rig.node.member(0);
    assert_eq!((m.throttled_periods, m.periods), (2, 3));
    assert_eq!(m.cpu_ns, 120 * MS);
}

#[test]
fn the_period_phase_decides_where_the_throttle_falls() {
    // Periods start at 30 ms (mod 100): the first ends at 30 ms. 50 ms of
    // quota: 0-30 runs (30 used, period ends), 30-80 runs (50 used: out),
    // 80-130 throttled, 130-140 runs. 90 ms of work is done at 140 ms.
    let mut rig = Rig::new(1);
    let r = rig.add(1, quota(50, 100, 30));
    rig.submit(0, r, 0, 90 * MS);
    rig.run(u64::MAX);
    let (t, f) = rig.done(0);
    assert_eq!((t, f.throttled.0), (140 * MS, 50 * MS));
}

#[test]
fn four_threads_under_a_one_core_limit_burn_the_quota_four_times_as_fast() {
    // Four 50 ms steps at once on a 1-core limit (100 ms per 100 ms): the
    // quota is gone at 25 ms; throttled to 100 ms; the remaining 25 ms each
    // end at 125 ms — a 50 ms step takes 125 ms although the replica's
    // average use is under its limit.
    let mut rig = Rig::new(8);
    let r = rig.add(4, quota(100, 100, 0));
    for j in 0..4 {
        rig.submit(0, r, j, 50 * MS);
    }
    rig.run(u64::MAX);
    for j in 0..4 {
        let (t, f) = rig.done(j);
        assert_eq!((t, f.throttled.0, f.queued.0), (125 * MS, 75 * MS, 0), "step {j}");
    }
}

#[test]
fn replicas_share_the_node_first_come_first_served() {
    // One core, steps shorter than a slice: a (asks at 0, 2 ms), b (asks at
    // 0.5 ms, 2 ms), a again (asks at 1 ms, 2 ms): b runs 2-4, then a's
    // second 4-6.
    let us = MS / 1000;
    let mut rig = Rig::new(1);
    let a = rig.add(2, None);
    let b = rig.add(2, None);
    rig.submit(0, a, 0, 2 * MS);
    rig.submit(500 * us, b, 1, 2 * MS);
    rig.submit(MS, a, 2, 2 * MS);
    rig.run(u64::MAX);
    assert_eq!(rig.done(0).0, 2 * MS);
    assert_eq!((rig.done(1).0, rig.done(1).1.queued.0), (4 * MS, 1500 * us));
    assert_eq!((rig.done(2).0, rig.done(2).1.queued.0), (6 * MS, 3 * MS));
}

#[test]
fn a_long_step_yields_its_core_after_a_slice_to_a_waiting_neighbour() {
    // One core. a: a 10 ms step at 0. b: a 1 ms step at 1 ms. a runs 0-3,
    // yields to b (3-4), resumes at 4 and ends at 11.
    let mut rig = Rig::new(1);
    let a = rig.add(1, None);
    let b = rig.add(1, None);
    rig.submit(0, a, 0, 10 * MS);
    rig.submit(MS, b, 1, MS);
    rig.run(u64::MAX);
    assert_eq!((rig.done(1).0, rig.done(1).1.queued.0), (4 * MS, 2 * MS));
    assert_eq!((rig.done(0).0, rig.done(0).1.queued.0), (11 * MS, MS));
}

#[test]
fn a_long_step_alone_keeps_its_core() {
    let mut rig = Rig::new(1);
    let a = rig.add(1, None);
    rig.submit(0, a, 0, 100 * MS);
    rig.run(u64::MAX);
    assert_eq!(rig.done(0).0, 100 * MS);
    assert_eq!(rig.done(0).1.queued.0, 0);
}

#[test]
fn threads_cap_a_replica_even_on_an_idle_node() {
    let mut rig = Rig::new(8);
    let a = rig.add(1, None);
    rig.submit(0, a, 0, 10 * MS);
    rig.submit(0, a, 1, 10 * MS);
    rig.run(u64::MAX);
    assert_eq!((rig.done(0).0, rig.done(1).0), (10 * MS, 20 * MS));
}

#[test]
fn a_throttled_replica_gives_its_core_to_a_neighbour() {
    // One core. a: 500m limit, a 100 ms step at 0: runs 0-50, throttled
    // 50-100, runs 100-150. b: no limit, a 2 ms step at 55 ms finds the core
    // free (a is throttled) and ends at 57 ms.
    let mut rig = Rig::new(1);
    let a = rig.add(1, quota(50, 100, 0));
    let b = rig.add(1, None);
    rig.submit(0, a, 0, 100 * MS);
    rig.run(55 * MS);
    rig.submit(55 * MS, b, 1, 2 * MS);
    rig.run(u64::MAX);
    assert_eq!((rig.done(1).0, rig.done(1).1.queued.0), (57 * MS, 0));
    assert_eq!((rig.done(0).0, rig.done(0).1.throttled.0), (150 * MS, 50 * MS));
}

#[test]
fn a_pause_stretches_running_work_and_counts_as_cpu() {
    let mut rig = Rig::new(1);
    let a = rig.add(1, None);
    rig.submit(0, a, 0, 10 * MS);
    rig.run(4 * MS);
    rig.pause(4 * MS, a, 20 * MS);
    rig.run(u64::MAX);
    let (t, f) = rig.done(0);
    assert_eq!((t, f.queued.0, f.throttled.0), (30 * MS, 0, 0));
}

#[test]
fn leaving_drops_the_work_and_frees_the_cores() {
    let mut rig = Rig::new(1);
    let a = rig.add(1, None);
    let b = rig.add(1, None);
    rig.submit(0, a, 0, 10 * MS);
    rig.submit(0, b, 1, 10 * MS);
    let mut fx = Effects::default();
    let dropped = rig.node.leave(SimTime(2 * MS), rig.slots[a as usize], &|_| true, &mut fx);
    assert_eq!(dropped, vec![rig.strands[0]]);
    assert_eq!(fx.suspended, vec![(ReplicaId(a), 1)]);
    rig.schedule(&fx);
    rig.run(u64::MAX);
    assert_eq!(rig.done(1).0, 12 * MS);
    assert!(rig.finished.iter().all(|(i, _, _)| *i != 0));
}

#[test]
fn a_step_asking_during_a_throttle_waits_only_its_rest_of_it() {
    // 500m: a 60 ms step at 0 runs 0-50, throttled 50-100, ends at 110. A
    // second step asks at 70: throttled 70-100, then waits for the thread
    // 100-110 (queued), runs 110-130.
    let mut rig = Rig::new(4);
    let a = rig.add(1, quota(50, 100, 0));
    rig.submit(0, a, 0, 60 * MS);
    rig.run(70 * MS);
    rig.submit(70 * MS, a, 1, 20 * MS);
    rig.run(u64::MAX);
    assert_eq!((rig.done(0).0, rig.done(0).1.throttled.0), (110 * MS, 50 * MS));
    let (t, f) = rig.done(1);
    assert_eq!((t, f.throttled.0, f.queued.0), (130 * MS, 30 * MS, 10 * MS));
}
