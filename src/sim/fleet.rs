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
use super::cpu::{Cpu, Effects, Node, QuotaCfg};
use super::ids::{CpuId, ReplicaId, ServiceId};
use super::replica::Usage;
use super::replica::{Replica, ReplicaState, ServiceState};
use super::shared_cpu::Live;
use super::state::StrandKey;
use crate::engine::{RngStream, SimTime};
use crate::metrics::Integral;
use crate::model::Model;

/// Linux's default CFS period (`cpu.cfs_period_us` = 100,000).
const DEFAULT_CFS_PERIOD: u64 = 100_000_000;

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
    /// With `cluster:`: the executor of replicas on no node (no cores).
    pub nowhere: Option<CpuId>,
    /// The CFS period of CPU limits.
    pub cfs_period: u64,
    /// With `cluster:`: replicas that became gone since `platform` last
    /// looked (they leave their nodes there).
    pub just_gone: Vec<ReplicaId>,
}

impl Fleet {
    pub fn new(m: &Model, seed: u64) -> Self {
        let mut f = Fleet {
            replicas: Vec::new(),
            cpus: Vec::new(),
            services: Vec::new(),
            rosters: Vec::new(),
            seed,
            nowhere: None,
            just_gone: Vec::new(),
            cfs_period: m.cluster.as_ref().map_or(DEFAULT_CFS_PERIOD, |c| c.cfs_period.0.max(1)),
        };
        if m.cluster.is_some() {
            f.nowhere = Some(CpuId(0));
            f.cpus.push(Cpu::dedicated(0));
        }
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
                if f.nowhere.is_some() {
                    // Ready once placed (`platform::start`), at time 0 if it fits.
                    f.add(m, ServiceId(i as u32), ReplicaState::Starting);
                } else {
                    let r = f.add(m, ServiceId(i as u32), ReplicaState::Ready);
                    f.services[i].add_ready(r);
                }
            }
        }
        if f.nowhere.is_some() {
            for r in &mut f.rosters {
                r.serving = Integral::default();
            }
        }
        f
    }

    /// A replica's CFS quota, its period at a phase of its own (stream
    /// `cfs_phase`/`service/ordinal`); `None` without a CPU limit.
    fn quota(&self, svc: &crate::model::Service, name: &str) -> Option<QuotaCfg> {
        let limit = svc.resources.cpu_limit_milli?;
        let period = self.cfs_period;
        let mut rng = RngStream::derive(self.seed, "cfs_phase", name);
        let phase = (rng.unit() * period as f64) as u64 % period;
        Some(QuotaCfg { per_period: (u128::from(limit) * u128::from(period) / 1000) as u64, period, phase })
    }

    /// Places replica `r` on the node behind executor `cpu`.
    pub fn join(&mut self, r: ReplicaId, cpu: CpuId, m: &Model, now: SimTime) {
        let svc = &m.services[self.replicas[r.ix()].service.ix()];
        let name = self.name_of(m, r);
        let quota = self.quota(svc, &name);
        let node = self.cpus[cpu.ix()].node().expect("a node's executor");
        let slot = node.join(now, r, svc.cpus, quota);
        let rep = &mut self.replicas[r.ix()];
        rep.cpu = cpu;
        rep.slot = slot;
    }

    /// Takes replica `r` off its node (if on one): its work steps are
    /// dropped (returned), its counters kept.
    pub fn leave(&mut self, r: ReplicaId, now: SimTime, live: Live, fx: &mut Effects) -> Vec<StrandKey> {
        let Some(nowhere) = self.nowhere else { return Vec::new() };
        let rep = &self.replicas[r.ix()];
        let (cpu, slot) = (rep.cpu, rep.slot);
        if cpu == nowhere {
            return Vec::new();
        }
        let usage = self.usage_of(r, now);
        let node = self.cpus[cpu.ix()].node().expect("a node's executor");
        let strands = node.leave(now, slot, live, fx);
        let rep = &mut self.replicas[r.ix()];
        rep.usage = usage;
        rep.cpu = nowhere;
        rep.slot = 0;
        strands
    }

    /// Is replica `r` on a shared node (or a node of its own)?
    #[inline]
    pub fn on_node(&self, r: ReplicaId) -> bool {
        matches!(self.cpus[self.replicas[r.ix()].cpu.ix()], Cpu::Shared(_))
    }

    /// CPU counters of replica `r` up to `now`.
    pub fn usage_of(&mut self, r: ReplicaId, now: SimTime) -> Usage {
        let rep = &self.replicas[r.ix()];
        let (closed, cpu, slot) = (rep.usage, rep.cpu, rep.slot);
        match &mut self.cpus[cpu.ix()] {
            Cpu::Shared(node) => {
                let (cpu_ns, throttled_ns, periods, throttled_periods) = node.counters(now, slot);
                closed + Usage { cpu_ns, throttled_ns, periods, throttled_periods }
            }
            Cpu::Dedicated(_) => closed,
        }
    }

    /// Steps of replica `r` on a core now.
    #[inline]
    pub fn busy_of(&self, r: ReplicaId) -> u32 {
        let rep = &self.replicas[r.ix()];
        match &self.cpus[rep.cpu.ix()] {
            Cpu::Dedicated(c) => c.busy(),
            Cpu::Shared(node) => node.member(rep.slot).running(),
        }
    }

    /// `service/ordinal`, the name of a replica's own streams.
    pub fn name_of(&self, m: &Model, r: ReplicaId) -> String {
        let service = self.replicas[r.ix()].service;
        let ordinal = self.rosters[service.ix()].members.iter().position(|&x| x == r).unwrap_or(0);
        format!("{}/{ordinal}", m.services[service.ix()].name)
    }

    /// Creates a replica of `service` (and its executor). The caller counts it.
    pub fn add(&mut self, m: &Model, service: ServiceId, state: ReplicaState) -> ReplicaId {
        let svc = &m.services[service.ix()];
        // Its own streams, named by service and ordinal: stable whatever else changes.
        let name = format!("{}/{}", svc.name, self.rosters[service.ix()].members.len());
        let adm = Admission::new(svc, RngStream::derive(self.seed, "limiter", &name));
        let id = ReplicaId(self.replicas.len() as u32);
        let quota = self.quota(svc, &name);
        let cpu = match (self.nowhere, quota) {
            // With a cluster: on no node until placed.
            (Some(nowhere), _) => nowhere,
            (None, None) => {
                self.cpus.push(Cpu::dedicated(svc.cpus));
                CpuId(self.cpus.len() as u32 - 1)
            }
            // A CPU limit without a cluster: a node of its own, a core per thread.
            (None, Some(q)) => {
                let mut node = Node::new(svc.cpus);
                node.join(SimTime::ZERO, id, svc.cpus, Some(q));
                self.cpus.push(Cpu::Shared(Box::new(node)));
                CpuId(self.cpus.len() as u32 - 1)
            }
        };
        self.replicas.push(Replica::new(service, cpu, state, adm, svc.autoscale.is_some()));
        self.rosters[service.ix()].members.push(id);
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
            // On a node, CPU comes from the node's counters at the scrape.
            let busy = match &self.cpus[rep.cpu.ix()] {
                Cpu::Dedicated(c) => c.busy(),
                Cpu::Shared(_) => 0,
            };
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
        if rep.state != ReplicaState::Draining || rep.outstanding > 0 || rep.in_system() > 0 || self.busy_of(r) > 0 {
            return;
        }
        let (service, cpu) = (rep.service, rep.cpu);
        let rep = &mut self.replicas[r.ix()];
        rep.state = ReplicaState::Gone;
        rep.meter = None;
        rep.adm.clear();
        if let Some(c) = self.cpus[cpu.ix()].cores_mut() {
            c.clear();
        }
        self.count(service, now, counted, -1, -1);
        if self.nowhere.is_some() {
            self.just_gone.push(r);
        }
    }

    /// Adds an executor (a node's cores).
    pub fn add_executor(&mut self, cpu: Cpu) -> CpuId {
        self.cpus.push(cpu);
        CpuId(self.cpus.len() as u32 - 1)
    }

    /// Replica `r` is gone at once (evicted): out of its balancer, counted.
    pub fn remove(&mut self, r: ReplicaId, now: SimTime, counted: bool, serving: bool) {
        let rep = &mut self.replicas[r.ix()];
        rep.state = ReplicaState::Gone;
        rep.meter = None;
        rep.adm.clear();
        let service = rep.service;
        self.services[service.ix()].remove_ready(r);
        self.count(service, now, counted, -1, if serving { -1 } else { 0 });
    }

    /// A starting replica removed by a scale-down before it was ready.
    pub fn cancel_starting(&mut self, r: ReplicaId, now: SimTime, counted: bool) {
        let rep = &mut self.replicas[r.ix()];
        rep.state = ReplicaState::Gone;
        rep.meter = None;
        let service = rep.service;
        self.count(service, now, counted, -1, 0);
        if self.nowhere.is_some() {
            self.just_gone.push(r);
        }
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
