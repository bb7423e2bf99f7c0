//! Replicas and the balancer that picks among them.
//!
//! A [`Replica`] is one instance of a service: its admission state, the
//! executor its work runs on, its life-cycle state and, for autoscaled
//! services, the [`Meter`] the HPA's metrics come from. [`ServiceState`]
//! lists the replicas a balancer may pick: ready ones that are up.
//!
//! **Invariant:** a replica is in its service's `ready` list exactly when it
//! is `Ready` and not down (crashed), and the list is sorted by id — so the
//! balancer chooses among live, ready replicas only, and a crash leaves the
//! survivors to share the traffic as if there were one replica fewer.

use super::admission::Admission;
use super::ids::{CpuId, ReplicaId, ServiceId};
use crate::engine::{RngStream, SimTime};
use crate::model::{Balancer, Service};

/// Where a replica is in its life (`pods`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplicaState {
    /// Created by a scale-up, not ready yet: takes no traffic.
    Starting,
    /// Takes new attempts.
    Ready,
    /// Chosen for scale-down: takes no new attempts, finishes what it has.
    Draining,
    /// Removed.
    Gone,
}

/// Mutable state of one replica.
pub(crate) struct Replica {
    pub service: ServiceId,
    pub adm: Admission,
    /// The executor its work steps run on, and its place there (on a
    /// shared node; 0 on its own cores).
    pub cpu: CpuId,
    pub slot: u32,
    /// CPU counters of the nodes it left (a replica on a node adds the
    /// node's live counters to these).
    pub usage: Usage,
    /// Attempts routed here and not yet closed (least_request, p2c, draining).
    pub outstanding: u32,
    /// Life-cycle; always `Ready` for a service without `autoscale`.
    pub state: ReplicaState,
    /// Crashed (a `crash` fault) and not restarted: takes no traffic.
    pub down: bool,
    /// Cumulative counters for the HPA's metrics (autoscaled services only).
    pub meter: Option<Box<Meter>>,
}

impl Replica {
    pub fn new(service: ServiceId, cpu: CpuId, state: ReplicaState, adm: Admission, metered: bool) -> Self {
        Replica {
            service,
            adm,
            cpu,
            slot: 0,
            usage: Usage::default(),
            outstanding: 0,
            state,
            down: false,
            meter: metered.then(|| Box::new(Meter::default())),
        }
    }

    /// May the balancer send it new attempts?
    #[inline]
    pub fn routable(&self) -> bool {
        self.state == ReplicaState::Ready && !self.down
    }

    /// Attempts admitted or queued here.
    #[inline]
    pub fn in_system(&self) -> u32 {
        self.adm.in_flight + self.adm.queue_len
    }
}

/// CPU counters of a replica on a shared node (nanoseconds; CFS periods).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub cpu_ns: u64,
    pub throttled_ns: u64,
    pub periods: u64,
    pub throttled_periods: u64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns + o.cpu_ns,
            throttled_ns: self.throttled_ns + o.throttled_ns,
            periods: self.periods + o.periods,
            throttled_periods: self.throttled_periods + o.throttled_periods,
        }
    }
}

/// Cumulative counters of one replica, for the HPA's samples (`pods`).
#[derive(Default)]
pub(crate) struct Meter {
    last_ns: u64,
    /// Core-nanoseconds busy.
    pub busy_area: u128,
    /// Attempt-nanoseconds admitted or queued.
    pub system_area: u128,
    /// Attempts that arrived.
    pub arrivals: u64,
    /// The counters at the previous scrape.
    pub prev: Option<Snapshot>,
}

/// A meter's counters at one scrape.
#[derive(Clone, Copy)]
pub(crate) struct Snapshot {
    pub at: SimTime,
    pub busy_area: u128,
    pub system_area: u128,
    pub arrivals: u64,
}

impl Meter {
    /// Accumulates the levels held since the last change.
    #[inline]
    pub(crate) fn advance(&mut self, now: SimTime, busy: u32, in_system: u32) {
        let dt = u128::from(now.0.saturating_sub(self.last_ns));
        self.busy_area += u128::from(busy) * dt;
        self.system_area += u128::from(in_system) * dt;
        self.last_ns = now.0;
    }
}

/// Per service: the replicas a balancer may pick, and the balancer's state.
pub(crate) struct ServiceState {
    /// Routable replicas (ready and up), sorted by id.
    pub ready: Vec<ReplicaId>,
    pub rr: u32,
    pub balancer_rng: RngStream,
}

impl ServiceState {
    /// Adds a replica that became routable (kept sorted).
    pub fn add_ready(&mut self, r: ReplicaId) {
        if let Err(i) = self.ready.binary_search(&r) {
            self.ready.insert(i, r);
        }
    }

    /// Removes a replica that is no longer routable.
    pub fn remove_ready(&mut self, r: ReplicaId) {
        if let Ok(i) = self.ready.binary_search(&r) {
            self.ready.remove(i);
        }
    }

    /// The replica a new attempt goes to, among the routable ones; `None`
    /// when there is none.
    pub fn pick(&mut self, svc: &Service, replicas: &[Replica]) -> Option<ReplicaId> {
        let n = self.ready.len() as u32;
        match n {
            0 => return None,
            1 => return Some(self.ready[0]),
            _ => {}
        }
        let load = |i: u32| replicas[self.ready[i as usize].ix()].outstanding;
        let local = match svc.balancer {
            Balancer::RoundRobin => {
                let r = self.rr % n;
                self.rr = self.rr.wrapping_add(1);
                r
            }
            Balancer::Random => self.balancer_rng.below(n),
            Balancer::LeastRequest => {
                // Fewest outstanding; ties go to the first after a rotating start.
                let start = self.rr % n;
                self.rr = self.rr.wrapping_add(1);
                let mut best = start;
                let mut best_load = u32::MAX;
                for k in 0..n {
                    let r = (start + k) % n;
                    if load(r) < best_load {
                        best = r;
                        best_load = load(r);
                    }
                }
                best
            }
            Balancer::P2c => {
                let a = self.balancer_rng.below(n);
                let mut b = self.balancer_rng.below(n - 1);
                if b >= a {
                    b += 1;
                }
                if load(b) < load(a) { b } else { a }
            }
        };
        Some(self.ready[local as usize])
    }
}
