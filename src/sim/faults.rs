//! The chaos schedule: faults start and end at their times and change how
//! services behave while they last.
//!
//! What each kind does here:
//! - `latency` `add`: every attempt to the service takes that much longer to
//!   arrive (injected before the server, like a proxy's fault filter: it
//!   holds no server resource); `multiply`: the service's `work` and `delay`
//!   steps take that many times longer.
//! - `slowdown`: `work` steps take `factor` times longer (a slower CPU).
//! - `errors`: an admitted attempt fails at once with probability `rate`.
//! - `outage`: `refuse` rejects every arriving attempt; `hang` swallows it
//!   (its caller learns only by its own timeout). Attempts already admitted
//!   finish normally.
//! - `crash`: `replicas` replicas die: their queued and running attempts fail
//!   (connection reset), they take no traffic until `restart_after`.
//! - `partition`: attempts from one service to another are refused or hang.
//! - `pauses`: each replica stops every so often for a drawn pause (a GC):
//!   work in progress is stretched by the pause, new work waits for its end.
//! - `cache_flush` has no effect on caches with a fixed `hit_ratio`.
//!
//! A fault without `for` lasts until the end (crash: until `restart_after`).

use super::{AttemptState, Event, Outcome, World, calls, replica};
use crate::engine::{RngStream, SimDuration, SlabKey};
use crate::model::{DistId, FaultKind, Model, OutageMode};

pub(crate) struct FaultState {
    active: Vec<bool>,
    /// Per service, the product of active `latency multiply` and `slowdown` factors.
    pub work_factor: Vec<f64>,
    pub delay_factor: Vec<f64>,
    latency_add: Vec<Vec<DistId>>,
    error_rate: Vec<f64>,
    outage: Vec<Option<OutageMode>>,
    partitions: Vec<(u32, u32, OutageMode)>,
    rng: RngStream,
    /// True once any fault that changes per-attempt behaviour was scheduled.
    pub any: bool,
}

impl FaultState {
    pub fn new(m: &Model) -> Self {
        let n = m.services.len();
        FaultState {
            active: vec![false; m.faults.len()],
            work_factor: vec![1.0; n],
            delay_factor: vec![1.0; n],
            latency_add: vec![Vec::new(); n],
            error_rate: vec![0.0; n],
            outage: vec![None; n],
            partitions: Vec::new(),
            rng: RngStream::derive(m.seed, "faults", &m.name),
            any: !m.faults.is_empty(),
        }
    }
}

pub(crate) fn start(w: &mut World) {
    w.faults.rng = RngStream::derive(w.seed, "faults", &w.m.name);
    for (i, f) in w.m.faults.iter().enumerate() {
        if f.at <= w.end {
            w.q.schedule_at(f.at, Event::FaultStarts { fault: i as u32 });
        }
    }
}

pub(crate) fn on_fault_starts(w: &mut World, fault: u32) {
    let i = fault as usize;
    w.faults.active[i] = true;
    if let Some(end) = w.m.faults[i].end()
        && end <= w.end
    {
        w.q.schedule_at(end, Event::FaultEnds { fault });
    }
    match &w.m.faults[i].kind {
        FaultKind::Crash { service, replicas, .. } => crash(w, service.0, *replicas, true),
        FaultKind::Pauses { service, every, .. } => {
            for r in replicas_of(w, service.0) {
                let d = w.m.dist(*every).sample(&mut w.faults.rng);
                w.q.schedule_after(d, Event::PauseStarts { fault, replica: r });
            }
        }
        _ => {}
    }
    recompute(w);
}

pub(crate) fn on_fault_ends(w: &mut World, fault: u32) {
    let i = fault as usize;
    w.faults.active[i] = false;
    if let FaultKind::Crash { service, replicas, .. } = &w.m.faults[i].kind {
        crash(w, service.0, *replicas, false);
    }
    recompute(w);
}

/// Rebuilds the per-service effects from the active faults.
fn recompute(w: &mut World) {
    let f = &mut w.faults;
    f.work_factor.iter_mut().for_each(|x| *x = 1.0);
    f.delay_factor.iter_mut().for_each(|x| *x = 1.0);
    f.latency_add.iter_mut().for_each(Vec::clear);
    f.error_rate.iter_mut().for_each(|x| *x = 0.0);
    f.outage.iter_mut().for_each(|x| *x = None);
    f.partitions.clear();
    for (i, fault) in w.m.faults.iter().enumerate() {
        if !f.active[i] {
            continue;
        }
        match &fault.kind {
            FaultKind::LatencyAdd { service, add } => f.latency_add[service.ix()].push(*add),
            FaultKind::LatencyMultiply { service, factor } => {
                f.work_factor[service.ix()] *= factor;
                f.delay_factor[service.ix()] *= factor;
            }
            FaultKind::Slowdown { service, factor } => f.work_factor[service.ix()] *= factor,
            FaultKind::Errors { service, rate } => {
                let e = &mut f.error_rate[service.ix()];
                *e = 1.0 - (1.0 - *e) * (1.0 - rate);
            }
            FaultKind::Outage { service, mode } => f.outage[service.ix()] = Some(*mode),
            FaultKind::Partition { from, to, mode } => f.partitions.push((from.0, to.0, *mode)),
            FaultKind::Crash { .. } | FaultKind::Pauses { .. } | FaultKind::CacheFlush { .. } => {}
        }
    }
}

/// The replicas of `service` that exist now (not gone), oldest first.
fn replicas_of(w: &World, service: u32) -> Vec<u32> {
    (0..w.replicas.len() as u32)
        .filter(|&r| {
            let rep = &w.replicas[r as usize];
            rep.service == service && rep.state != super::ReplicaState::Gone
        })
        .collect()
}

/// Kills the first `n` live replicas of `service`, or restarts the crashed ones.
fn crash(w: &mut World, service: u32, n: u32, kill: bool) {
    let victims: Vec<u32> = if kill {
        replicas_of(w, service).into_iter().filter(|&r| !w.replicas[r as usize].down).take(n as usize).collect()
    } else {
        replicas_of(w, service).into_iter().filter(|&r| w.replicas[r as usize].down).take(n as usize).collect()
    };
    for &r in &victims {
        w.replicas[r as usize].down = kill;
    }
    if !kill {
        return;
    }
    // Connections reset: everything queued or running there fails now.
    let doomed: Vec<SlabKey> = w
        .attempts
        .iter()
        .filter(|(_, a)| {
            victims.contains(&a.replica) && matches!(a.state, AttemptState::Queued | AttemptState::Running)
        })
        .map(|(k, _)| k)
        .collect();
    for k in doomed {
        let a = w.attempts.get(k).expect("listed");
        if a.state == AttemptState::Queued {
            let (replica, svc) = (a.replica, a.service);
            replica::leave_queue(w, replica, svc);
        }
        calls::respond(w, k, Outcome::Error);
    }
}

pub(crate) fn on_pause_starts(w: &mut World, fault: u32, replica: u32) {
    let i = fault as usize;
    if !w.faults.active[i] {
        return;
    }
    let FaultKind::Pauses { every, pause, .. } = w.m.faults[i].kind else { return };
    let now = w.now();
    let len = w.m.dist(pause).sample(&mut w.faults.rng);
    let r = &mut w.replicas[replica as usize];
    if r.state == super::ReplicaState::Gone {
        return;
    }
    // Overlapping pauses merge; only the extension stretches work.
    let until = r.paused_until.max(now);
    let new_until = until.max(now + len);
    r.pause_total += new_until.since(until).0;
    r.paused_until = new_until;
    let next = w.m.dist(every).sample(&mut w.faults.rng);
    w.q.schedule_after(next.max(SimDuration(1)), Event::PauseStarts { fault, replica });
}

/// The kinds of the faults acting on `service` now, `;`-separated (series).
pub(crate) fn active_on(w: &World, service: u32) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for (i, f) in w.m.faults.iter().enumerate() {
        let hits = f.kind.services().iter().flatten().any(|s| s.0 == service);
        if hits && w.faults.active[i] && !kinds.contains(&f.kind.word()) {
            kinds.push(f.kind.word());
        }
    }
    kinds.join(";")
}

/// How attempts from service `from` to `to` fare across a partition.
#[inline]
pub(crate) fn partition(w: &World, from: u32, to: u32) -> Option<OutageMode> {
    if w.faults.partitions.is_empty() {
        return None;
    }
    w.faults.partitions.iter().find(|p| p.0 == from && p.1 == to).map(|p| p.2)
}

/// Extra latency injected before an attempt reaches `service`.
#[inline]
pub(crate) fn added_latency(w: &mut World, service: u32) -> SimDuration {
    if !w.faults.any || w.faults.latency_add[service as usize].is_empty() {
        return SimDuration::ZERO;
    }
    let mut d = SimDuration::ZERO;
    for k in 0..w.faults.latency_add[service as usize].len() {
        let dist = w.faults.latency_add[service as usize][k];
        d = d + w.m.dist(dist).sample(&mut w.faults.rng);
    }
    d
}

/// Does an attempt admitted at `service` now fail at once (`errors`)?
#[inline]
pub(crate) fn fails_now(w: &mut World, service: u32) -> bool {
    w.faults.any && {
        let p = w.faults.error_rate[service as usize];
        p > 0.0 && w.faults.rng.chance(p)
    }
}

/// What an outage does to an attempt arriving at `service`.
#[inline]
pub(crate) fn outage(w: &World, service: u32) -> Option<OutageMode> {
    if w.faults.any { w.faults.outage[service as usize] } else { None }
}

/// Scales a work or delay duration by the faults in force at `service`.
#[inline]
pub(crate) fn scale(w: &World, service: u32, d: SimDuration, work: bool) -> SimDuration {
    if !w.faults.any {
        return d;
    }
    let f = if work { w.faults.work_factor[service as usize] } else { w.faults.delay_factor[service as usize] };
    if f == 1.0 { d } else { SimDuration::from_secs_f64(d.as_secs_f64() * f) }
}
