//! The fault events of the chaos schedule: a fault starts or ends (the
//! effects tables live in [`super::super::faults`]); a crash fails what its
//! replicas had queued and running and takes them out of their balancer
//! until they restart; pauses recur on each replica.

use super::super::event::Event;
use super::super::ids::{FaultId, ReplicaId, ServiceId};
use super::super::replica::ReplicaState;
use super::super::state::AttemptKey;
use super::super::state::{AttemptState, Cause, Origin, Outcome};
use super::super::world::World;
use super::{Close, close};
use crate::engine::SimDuration;
use crate::model::{FailureKind, FaultKind};

/// Schedules every fault's start.
pub(crate) fn schedule(w: &mut World) {
    for (i, f) in w.m.faults.iter().enumerate() {
        if f.at <= w.end {
            w.q.schedule_at(f.at, Event::FaultStarts { fault: FaultId(i as u32) });
        }
    }
}

pub(crate) fn on_fault_starts(w: &mut World, fault: FaultId) {
    let f = &w.m.faults[fault.ix()];
    w.faults.set_active(w.m, fault, true);
    if let Some(end) = f.end()
        && end <= w.end
    {
        w.q.schedule_at(end, Event::FaultEnds { fault });
    }
    match f.kind {
        FaultKind::Crash { service, replicas, .. } => crash(w, service, replicas),
        FaultKind::Evict { service, replicas } => super::platform::evict_some(w, service, replicas),
        FaultKind::NodeDown { pool, index } => {
            if let Some(n) = super::platform::node_down(w, pool, index) {
                w.cluster.downed.push((fault, n));
            }
        }
        FaultKind::CacheFlush { cache } if w.m.caches[cache.ix()].keyed.is_some() => w.keyed.flush(cache),
        FaultKind::Pauses { service, every, .. } => {
            let alive: Vec<ReplicaId> = w.fleet.alive(service).collect();
            for r in alive {
                let d = pause_draw(w, fault, r, every);
                w.q.schedule_after(d, Event::PauseStarts { fault, replica: r });
            }
        }
        _ => {}
    }
}

pub(crate) fn on_fault_ends(w: &mut World, fault: FaultId) {
    w.faults.set_active(w.m, fault, false);
    if let Some(i) = w.cluster.downed.iter().position(|&(f, _)| f == fault) {
        let (_, n) = w.cluster.downed.swap_remove(i);
        super::platform::node_back(w, n);
    }
    if let FaultKind::Crash { service, replicas, .. } = w.m.faults[fault.ix()].kind {
        // The crashed replicas restart (the first `replicas` that are down).
        let down: Vec<ReplicaId> =
            w.fleet.alive(service).filter(|r| w.fleet.replica(*r).down).take(replicas as usize).collect();
        for r in down {
            // An inference server loads its model again before it serves.
            let load = super::generate::model_load(w, service);
            if load.0 == 0 {
                w.fleet.set_down(r, false);
            } else {
                w.q.schedule_after(load, Event::ModelLoaded { replica: r });
            }
        }
    }
}

/// Kills the first `n` live replicas of `service` that are up: health
/// checks take them out of the balancer at once, and every attempt queued
/// or running there fails (connection reset).
fn crash(w: &mut World, service: ServiceId, n: u32) {
    let victims: Vec<ReplicaId> =
        w.fleet.alive(service).filter(|r| !w.fleet.replica(*r).down).take(n as usize).collect();
    for &r in &victims {
        w.fleet.set_down(r, true);
        w.keyed.replica_lost(r);
    }
    fail_work(w, &victims, service);
}

/// Every attempt queued or running on `victims` (replicas of `service`
/// that just went down) fails: connection reset.
pub(crate) fn fail_work(w: &mut World, victims: &[ReplicaId], service: ServiceId) {
    // Listed first, then closed one by one: closing one can close or free
    // another (a slot freed by a crash admits nothing, but its attempt's
    // calls are abandoned), so each is looked at again before it is closed.
    let doomed: Vec<AttemptKey> = w
        .attempts
        .iter()
        .filter(|(_, a)| {
            victims.contains(&a.replica) && matches!(a.state, AttemptState::Queued | AttemptState::Running)
        })
        .map(|(k, _)| k)
        .collect();
    let cause = Some(Cause { kind: FailureKind::Error, origin: Origin::Service(service) });
    for k in doomed {
        if w.attempts.get(k).is_some_and(|a| matches!(a.state, AttemptState::Queued | AttemptState::Running)) {
            close(w, k, Close::Respond(Outcome::Error, cause));
        }
    }
}

/// A draw of pause fault `fault`'s distribution `d` for replica `r`, from
/// the stream of that fault and replica (`service/ordinal`).
fn pause_draw(w: &mut World, fault: FaultId, r: ReplicaId, d: crate::model::DistId) -> SimDuration {
    let service = w.fleet.replica(r).service;
    let ordinal = w.fleet.rosters[service.ix()].members.iter().position(|&x| x == r).unwrap_or(0);
    let name = format!("{}/{ordinal}", w.m.services[service.ix()].name);
    w.faults.pause_draw(w.m, fault, name, d)
}

pub(crate) fn on_pause_starts(w: &mut World, fault: FaultId, replica: ReplicaId) {
    if !w.faults.is_active(fault) {
        return;
    }
    let FaultKind::Pauses { every, pause, .. } = w.m.faults[fault.ix()].kind else { return };
    if w.fleet.replica(replica).state == ReplicaState::Gone {
        return;
    }
    let now = w.now();
    let len = pause_draw(w, fault, replica, pause);
    match w.fleet.cpu_of(replica).cores_mut() {
        Some(c) => c.pause(now, len),
        None => super::serve::on_node(w, replica, |node, slot, live, fx| node.pause(now, slot, len, live, fx)),
    }
    let next = pause_draw(w, fault, replica, every);
    w.q.schedule_after(next.max(SimDuration(1)), Event::PauseStarts { fault, replica });
}

/// A replica restarted after a crash has loaded its model: it serves again.
pub(crate) fn on_model_loaded(w: &mut World, replica: ReplicaId) {
    if w.fleet.replica(replica).state == ReplicaState::Gone || !w.fleet.replica(replica).down {
        return;
    }
    w.fleet.set_down(replica, false);
    super::messages::consumers_changed(w, w.fleet.replica(replica).service);
}
