//! The chaos schedule: faults injected at given times (`faults:` in
//! `shared/spec/format.md`), as validated configuration.
//!
//! Only what and when; how a fault acts is the simulation's. The meaning
//! intended for each kind is written beside it. Times are from the start of
//! the run; a fault whose window runs past the end is cut by the end.

use super::{CacheId, DistId, PoolId, ServiceId};
use crate::engine::{SimDuration, SimTime};

/// One scheduled fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub at: SimTime,
    /// `for`: how long it lasts. Always set for the kinds that are windows
    /// (latency, errors, outage, partition, slowdown); optional for pauses
    /// (`None`: until the end); never set for instantaneous kinds (crash,
    /// cache_flush).
    pub duration: Option<SimDuration>,
    pub kind: FaultKind,
}

/// How an unavailable service or link behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageMode {
    /// Attempts get no answer: callers wait for their timeout.
    Hang,
    /// Attempts are refused at once (connection refused, a 503).
    Refuse,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Every request the service serves takes this much longer (drawn per
    /// request), as a network-delay fault in front of it would.
    LatencyAdd { service: ServiceId, add: DistId },
    /// Every request the service serves takes `factor` times as long.
    LatencyMultiply { service: ServiceId, factor: f64 },
    /// Each request the service serves fails with probability `rate`.
    Errors { service: ServiceId, rate: f64 },
    /// `replicas` replicas (at most those running) stop at once, losing
    /// their work; they come back after `restart_after` (`None`: never).
    Crash { service: ServiceId, replicas: u32, restart_after: Option<SimDuration> },
    /// The whole service is unavailable.
    Outage { service: ServiceId, mode: OutageMode },
    /// Calls from `from` to `to` are cut (default [`OutageMode::Hang`]:
    /// packets are dropped).
    Partition { from: ServiceId, to: ServiceId, mode: OutageMode },
    /// Stop-the-world pauses (GC) on each replica: the gap between pauses
    /// is drawn from `every`, the pause from `pause`; nothing runs meanwhile.
    Pauses { service: ServiceId, every: DistId, pause: DistId },
    /// CPU work at the service takes `factor` times as long (> 0; below 1
    /// it speeds up).
    Slowdown { service: ServiceId, factor: f64 },
    /// The cache loses its contents. Only keyed caches have contents; the
    /// hit-ratio caches of today are not changed by it.
    CacheFlush { cache: CacheId },
    /// `replicas` replicas of the service are evicted (needs `cluster:`):
    /// their work fails, and replacements are scheduled anew, cold.
    Evict { service: ServiceId, replicas: u32 },
    /// A node fails (needs `cluster:`): its pods' work fails and they are
    /// rescheduled elsewhere; the node comes back, empty, after `for`
    /// (`None`: never). `index`: the node's ordinal in its pool; `None`:
    /// the pool's first node that is up.
    NodeDown { pool: PoolId, index: Option<u32> },
}

impl FaultKind {
    /// The services it acts on: one, or both ends of a partition (none for a cache flush).
    pub fn services(&self) -> [Option<ServiceId>; 2] {
        match self {
            FaultKind::LatencyAdd { service, .. }
            | FaultKind::LatencyMultiply { service, .. }
            | FaultKind::Errors { service, .. }
            | FaultKind::Crash { service, .. }
            | FaultKind::Outage { service, .. }
            | FaultKind::Pauses { service, .. }
            | FaultKind::Slowdown { service, .. }
            | FaultKind::Evict { service, .. } => [Some(*service), None],
            FaultKind::Partition { from, to, .. } => [Some(*from), Some(*to)],
            FaultKind::CacheFlush { .. } | FaultKind::NodeDown { .. } => [None, None],
        }
    }

    /// The `kind:` word.
    pub fn word(&self) -> &'static str {
        match self {
            FaultKind::LatencyAdd { .. } | FaultKind::LatencyMultiply { .. } => "latency",
            FaultKind::Errors { .. } => "errors",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Outage { .. } => "outage",
            FaultKind::Partition { .. } => "partition",
            FaultKind::Pauses { .. } => "pauses",
            FaultKind::Slowdown { .. } => "slowdown",
            FaultKind::CacheFlush { .. } => "cache_flush",
            FaultKind::Evict { .. } => "evict",
            FaultKind::NodeDown { .. } => "node_down",
        }
    }
}

impl Fault {
    /// When it stops acting (`None`: instantaneous or until the end). A
    /// crash has no `for`: it stops acting when its replicas restart.
    pub fn end(&self) -> Option<SimTime> {
        match self.kind {
            FaultKind::Crash { restart_after, .. } => self.duration.or(restart_after).map(|d| self.at + d),
            _ => self.duration.map(|d| self.at + d),
        }
    }
}
