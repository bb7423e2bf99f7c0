//! Every replica of the run, the executors their work runs on, the
//! balancer lists, and per service the counts of replicas over time.
//!
//! A leaf: the life-cycle moves that several mechanisms share (a replica
//! becomes ready, goes down and comes back, finishes draining) live here
//! once, each keeping the ready lists and the counts exact. *When* they
//! happen is decided elsewhere (`pods` for the HPA, `flow` for crashes).
//! Replicas are appended and never removed (a gone one stays as a
//! tombstone), so `ReplicaId`s are stable.

use super::admission::Admission;
use super::cpu::Cpu;
use super::ids::{CpuId, ReplicaId, ServiceId};
use super::replica::{Replica, ReplicaState, ServiceState};
use crate::engine::{RngStream, SimTime};
use crate::metrics::Integral;
use crate::model::Model;

/// Replica counts of one service over time.
pub(crate) struct Roster {
    /// Replicas of the service in creation order (gone ones included).
    pub members: Vec<ReplicaId>,
    /// Starting + ready + draining.
    pub total: Integral,
    /// Ready + draining: the replicas whose cores can be busy.
    pub serving: Integral,
    pub total_at_warmup: u128,
    pub serving_at_warmup: u128,
    /// Fewest and most replicas (total) since the warm-up.
    pub total_min: u32,
    pub total_max: u32,
}

pub(crate) struct Fleet {
    pub replicas: Vec<Replica>,
    pub cpus: Vec<Cpu>,
    pub services: Vec<ServiceState>,
    pub rosters: Vec<Roster>,
    seed: u64,
}

impl Fleet {
    pub fn new(m: &Model, seed: u64) -> Self {
        let mut f = Fleet { replicas: Vec::new(), cpus: Vec::new(), services: Vec::new(), rosters: Vec::new(), seed };
        for s in &m.services {
            f.services.push(ServiceState {
                ready: Vec::new(),
                rr: 0,
                balancer_rng: RngStream::derive(seed, "balancer", &s.name),
            });
            let mut total = Integral::default();
            total.add(0, i64::from(s.replicas));
            let mut serving = Integral::default();
            serving.add(0, i64::from(s.replicas));
            f.rosters.push(Roster {
                members: Vec::new(),
                total,
                serving,
                total_at_warmup: 0,
                serving_at_warmup: 0,
                total_min: s.replicas,
                total_max: s.replicas,
            });
        }
        for (i, s) in m.services.iter().enumerate() {
            for _ in 0..s.replicas {
                let r = f.add(m, ServiceId(i as u32), ReplicaState::Ready);
                f.services[i].add_ready(r);
            }
        }
        f
    }

    /// Creates a replica of `service` (and its executor). The caller counts it.
    pub fn add(&mut self, m: &Model, service: ServiceId, state: ReplicaState) -> ReplicaId {
        let svc = &m.services[service.ix()];
        let roster = &mut self.rosters[service.ix()];
        // Its own streams, named by service and ordinal: stable whatever else changes.
        let name = format!("{}/{}", svc.name, roster.members.len());
        let adm = Admission::new(svc, RngStream::derive(self.seed, "limiter", &name));
        let cpu = CpuId(self.cpus.len() as u32);
        self.cpus.push(Cpu::dedicated(svc.cpus));
        let id = ReplicaId(self.replicas.len() as u32);
        self.replicas.push(Replica::new(service, cpu, state, adm, svc.autoscale.is_some()));
        roster.members.push(id);
        id
    }

    #[inline]
    pub fn replica(&self, r: ReplicaId) -> &Replica {
        &self.replicas[r.ix()]
    }

    #[inline]
    pub fn replica_mut(&mut self, r: ReplicaId) -> &mut Replica {
        &mut self.replicas[r.ix()]
    }

    /// The executor of replica `r`.
    #[inline]
    pub fn cpu_of(&mut self, r: ReplicaId) -> &mut Cpu {
        let c = self.replicas[r.ix()].cpu;
        &mut self.cpus[c.ix()]
    }

    /// Brings a metered replica's time integrals up to `now`; call before
    /// any of its busy cores, admitted or queued attempts change. A no-op
    /// without `autoscale`.
    #[inline]
    pub fn meter(&mut self, r: ReplicaId, now: SimTime) {
        let rep = &mut self.replicas[r.ix()];
        if let Some(m) = &mut rep.meter {
            let busy = self.cpus[rep.cpu.ix()].busy();
            m.advance(now, busy, rep.adm.in_flight + rep.adm.queue_len);
        }
    }

    /// Changes a service's replica counts by the given deltas.
    pub fn count(&mut self, service: ServiceId, now: SimTime, counted: bool, total: i64, serving: i64) {
        let f = &mut self.rosters[service.ix()];
        if total != 0 {
            f.total.add(now.0, total);
            if counted {
                let level = f.total.level as u32;
                f.total_min = f.total_min.min(level);
                f.total_max = f.total_max.max(level);
            }
        }
        if serving != 0 {
            f.serving.add(now.0, serving);
        }
    }

    /// A starting replica passed its readiness probe.
    pub fn became_ready(&mut self, r: ReplicaId, now: SimTime, counted: bool) {
        let rep = &mut self.replicas[r.ix()];
        rep.state = ReplicaState::Ready;
        let service = rep.service;
        if rep.routable() {
            self.services[service.ix()].add_ready(r);
        }
        self.count(service, now, counted, 0, 1);
    }

    /// A replica crashed (`down`) or restarted: health checks take it out
    /// of, or put it back into, its balancer's list.
    pub fn set_down(&mut self, r: ReplicaId, down: bool) {
        let rep = &mut self.replicas[r.ix()];
        rep.down = down;
        let (service, routable) = (rep.service, rep.routable());
        let s = &mut self.services[service.ix()];
        if routable { s.add_ready(r) } else { s.remove_ready(r) }
    }

    /// A replica chosen for scale-down stops taking new attempts.
    pub fn start_draining(&mut self, r: ReplicaId, now: SimTime, counted: bool) {
        self.replicas[r.ix()].state = ReplicaState::Draining;
        let service = self.replicas[r.ix()].service;
        self.services[service.ix()].remove_ready(r);
        self.drained_if_idle(r, now, counted);
    }

    /// A draining replica that has nothing left to do is removed.
    pub fn drained_if_idle(&mut self, r: ReplicaId, now: SimTime, counted: bool) {
        let rep = &self.replicas[r.ix()];
        if rep.state != ReplicaState::Draining
            || rep.outstanding > 0
            || rep.in_system() > 0
            || self.cpus[rep.cpu.ix()].busy() > 0
        {
            return;
        }
        let (service, cpu) = (rep.service, rep.cpu);
        let rep = &mut self.replicas[r.ix()];
        rep.state = ReplicaState::Gone;
        rep.meter = None;
        rep.adm.clear();
        self.cpus[cpu.ix()].clear();
        self.count(service, now, counted, -1, -1);
    }

    /// A starting replica removed by a scale-down before it was ready.
    pub fn cancel_starting(&mut self, r: ReplicaId, now: SimTime, counted: bool) {
        let rep = &mut self.replicas[r.ix()];
        rep.state = ReplicaState::Gone;
        rep.meter = None;
        let service = rep.service;
        self.count(service, now, counted, -1, 0);
    }

    /// Where an attempt goes when the service has no routable replica: a
    /// starting one (it is refused there, as an ingress with no ready
    /// endpoint answers 503), else a crashed one (connection refused), else
    /// the newest.
    #[cold]
    pub fn fallback(&self, service: ServiceId) -> ReplicaId {
        debug_assert!(self.services[service.ix()].ready.is_empty(), "a fallback only when nothing is routable");
        let members = &self.rosters[service.ix()].members;
        let with =
            |pred: &dyn Fn(&Replica) -> bool| members.iter().rev().copied().find(|r| pred(&self.replicas[r.ix()]));
        with(&|r| r.state == ReplicaState::Starting)
            .or_else(|| with(&|r| r.down && r.state != ReplicaState::Gone))
            .or_else(|| members.last().copied())
            .expect("a service has at least one replica")
    }

    /// Replicas of `service` that exist now (not gone), oldest first.
    pub fn alive(&self, service: ServiceId) -> impl Iterator<Item = ReplicaId> + '_ {
        self.rosters[service.ix()].members.iter().copied().filter(|r| self.replicas[r.ix()].state != ReplicaState::Gone)
    }

    /// Attempts routed to `service` and not yet answered, over its routable replicas.
    pub fn outstanding(&self, service: ServiceId) -> u64 {
        self.services[service.ix()].ready.iter().map(|r| u64::from(self.replicas[r.ix()].outstanding)).sum()
    }

    /// The warm-up ended: replica statistics restart.
    pub fn warmup_ends(&mut self, now: SimTime) {
        for f in &mut self.rosters {
            f.total_at_warmup = f.total.area_at(now.0);
            f.serving_at_warmup = f.serving.area_at(now.0);
            f.total_min = f.total.level as u32;
            f.total_max = f.total.level as u32;
        }
    }
}
