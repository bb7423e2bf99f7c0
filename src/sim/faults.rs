//! The chaos schedule's effects: which faults are in force and what they
//! do to the services they hit. A leaf: the fault events themselves (a
//! crash failing the attempts it kills, pauses recurring) are handled in
//! `flow::chaos`; this module answers the hot path's questions ("is there
//! extra latency to `db` now?") and owns the faults' random streams.
//!
//! What each kind does:
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
//!   (connection reset), health checks take them out of the balancer, and
//!   they take no traffic until `restart_after`.
//! - `partition`: attempts from one service to another are refused or hang.
//! - `pauses`: each replica stops every so often for a drawn pause (a GC):
//!   work in progress is stretched by the pause, new work waits for its end.
//! - `cache_flush` has no effect on caches with a fixed `hit_ratio`.
//!
//! A fault without `for` lasts until the end (crash: until `restart_after`).
//!
//! Randomness: each fault draws from its own stream, named by the fault
//! itself (kind, time and subject), and a pause fault from one stream per
//! replica it pauses — so adding a fault, or a service elsewhere, leaves
//! every other draw where it was.

use super::ids::{FaultId, ServiceId};
use crate::engine::{RngStream, SimDuration};
use crate::model::{FaultKind, Model, OutageMode};
use std::collections::BTreeMap;

pub(crate) struct FaultState {
    active: Vec<bool>,
    /// Per service, the product of active `latency multiply` and `slowdown` factors.
    work_factor: Vec<f64>,
    delay_factor: Vec<f64>,
    /// Per service, the active faults adding latency and errors.
    latency_add: Vec<Vec<FaultId>>,
    errors: Vec<Vec<FaultId>>,
    outage: Vec<Option<OutageMode>>,
    partitions: Vec<(ServiceId, ServiceId, OutageMode)>,
    /// Per fault: its stable name and its stream.
    names: Vec<String>,
    rng: Vec<RngStream>,
    /// Per pause fault and replica (named `service/ordinal`): its stream.
    pause_rng: BTreeMap<(FaultId, String), RngStream>,
    seed: u64,
    /// True when the schedule has any fault: the hot path asks nothing otherwise.
    pub any: bool,
}

/// A stable name for fault `f`: what it is, when, and what it hits (with
/// an ordinal when two faults are alike in all of that).
fn fault_names(m: &Model) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(m.faults.len());
    for f in &m.faults {
        let subject: Vec<String> = match &f.kind {
            FaultKind::CacheFlush { cache } => vec![m.caches[cache.ix()].name.clone()],
            k => k.services().iter().flatten().map(|s| m.services[s.ix()].name.clone()).collect(),
        };
        let base = format!("{}@{}ns:{}", f.kind.word(), f.at.0, subject.join("->"));
        let ordinal = names.iter().filter(|n| n.split('#').next() == Some(base.as_str())).count();
        names.push(format!("{base}#{ordinal}"));
    }
    names
}

impl FaultState {
    pub fn new(m: &Model, seed: u64) -> Self {
        let n = m.services.len();
        let names = fault_names(m);
        FaultState {
            active: vec![false; m.faults.len()],
            work_factor: vec![1.0; n],
            delay_factor: vec![1.0; n],
            latency_add: vec![Vec::new(); n],
            errors: vec![Vec::new(); n],
            outage: vec![None; n],
            partitions: Vec::new(),
            rng: names.iter().map(|name| RngStream::derive(seed, "fault", name)).collect(),
            names,
            pause_rng: BTreeMap::new(),
            seed,
            any: !m.faults.is_empty(),
        }
    }

    pub fn is_active(&self, f: FaultId) -> bool {
        self.active[f.ix()]
    }

    /// Starts or ends fault `f` and rebuilds the per-service effects.
    pub fn set_active(&mut self, m: &Model, f: FaultId, on: bool) {
        self.active[f.ix()] = on;
        self.work_factor.iter_mut().for_each(|x| *x = 1.0);
        self.delay_factor.iter_mut().for_each(|x| *x = 1.0);
        self.latency_add.iter_mut().for_each(Vec::clear);
        self.errors.iter_mut().for_each(Vec::clear);
        self.outage.iter_mut().for_each(|x| *x = None);
        self.partitions.clear();
        for (i, fault) in m.faults.iter().enumerate() {
            if !self.active[i] {
                continue;
            }
            let id = FaultId(i as u32);
            match &fault.kind {
                FaultKind::LatencyAdd { service, .. } => self.latency_add[service.ix()].push(id),
                FaultKind::LatencyMultiply { service, factor } => {
                    self.work_factor[service.ix()] *= factor;
                    self.delay_factor[service.ix()] *= factor;
                }
                FaultKind::Slowdown { service, factor } => self.work_factor[service.ix()] *= factor,
                FaultKind::Errors { service, .. } => self.errors[service.ix()].push(id),
                FaultKind::Outage { service, mode } => self.outage[service.ix()] = Some(*mode),
                FaultKind::Partition { from, to, mode } => self.partitions.push((*from, *to, *mode)),
                FaultKind::Crash { .. }
                | FaultKind::Pauses { .. }
                | FaultKind::CacheFlush { .. }
                | FaultKind::Evict { .. }
                | FaultKind::NodeDown { .. } => {}
            }
        }
    }

    /// A draw of pause fault `f`'s distribution `d` for the replica named
    /// `replica` (`service/ordinal`).
    pub fn pause_draw(&mut self, m: &Model, f: FaultId, replica: String, d: crate::model::DistId) -> SimDuration {
        let seed = self.seed;
        let name = &self.names[f.ix()];
        let rng = self
            .pause_rng
            .entry((f, replica))
            .or_insert_with_key(|(_, r)| RngStream::derive(seed, "pauses", &format!("{name}/{r}")));
        m.dist(d).sample(rng)
    }

    /// The kinds of the faults acting on `service` now, `;`-separated (series).
    pub fn active_on(&self, m: &Model, service: ServiceId) -> String {
        let mut kinds: Vec<&str> = Vec::new();
        for (i, f) in m.faults.iter().enumerate() {
            let hits = f.kind.services().iter().flatten().any(|&s| s == service);
            if hits && self.active[i] && !kinds.contains(&f.kind.word()) {
                kinds.push(f.kind.word());
            }
        }
        kinds.join(";")
    }

    /// How attempts from service `from` to `to` fare across a partition.
    #[inline]
    pub fn partition(&self, from: ServiceId, to: ServiceId) -> Option<OutageMode> {
        if self.partitions.is_empty() {
            return None;
        }
        self.partitions.iter().find(|p| p.0 == from && p.1 == to).map(|p| p.2)
    }

    /// Extra latency injected before an attempt reaches `service`.
    #[inline]
    pub fn added_latency(&mut self, m: &Model, service: ServiceId) -> SimDuration {
        if !self.any || self.latency_add[service.ix()].is_empty() {
            return SimDuration::ZERO;
        }
        let mut d = SimDuration::ZERO;
        for &f in &self.latency_add[service.ix()] {
            if let FaultKind::LatencyAdd { add, .. } = m.faults[f.ix()].kind {
                d = d + m.dist(add).sample(&mut self.rng[f.ix()]);
            }
        }
        d
    }

    /// Does an attempt admitted at `service` now fail at once (`errors`)?
    /// Each active `errors` fault draws on its own: it fails if any says so.
    #[inline]
    pub fn fails_now(&mut self, m: &Model, service: ServiceId) -> bool {
        if !self.any || self.errors[service.ix()].is_empty() {
            return false;
        }
        let mut failed = false;
        for &f in &self.errors[service.ix()] {
            if let FaultKind::Errors { rate, .. } = m.faults[f.ix()].kind {
                failed |= self.rng[f.ix()].chance(rate);
            }
        }
        failed
    }

    /// What an outage does to an attempt arriving at `service`.
    #[inline]
    pub fn outage(&self, service: ServiceId) -> Option<OutageMode> {
        if self.any { self.outage[service.ix()] } else { None }
    }

    /// Scales a work or delay duration by the faults in force at `service`.
    #[inline]
    pub fn scale(&self, service: ServiceId, d: SimDuration, work: bool) -> SimDuration {
        if !self.any {
            return d;
        }
        let f = if work { self.work_factor[service.ix()] } else { self.delay_factor[service.ix()] };
        if f == 1.0 { d } else { SimDuration::from_secs_f64(d.as_secs_f64() * f) }
    }
}
