//! [`World`]: all the mutable state of one run, grouped by what it serves.
//! Plain data and constructors; behaviour lives in the mechanisms (leaves)
//! and in `flow` (the attempt life cycle), `pods` (replica life cycles and
//! the HPA) and `observe` (intervals and the warm-up).

use super::arrivals::{self, WorkloadState};
use super::chain::Chains;
use super::detect::Detectors;
use super::event::Event;
use super::faults::FaultState;
use super::fleet::Fleet;
use super::ids::{EdgeId, EndpointId, ServiceId, WorkloadId};
use super::keyed::KeyedCaches;
use super::options::RunOptions;
use super::queues::Queues;
use super::retry::Resilience;
use super::scaling::Scaling;
use super::state::{Attempt, Call, Join, Strand};
use super::state::{AttemptKey, CallKey};
use super::stats::{Observer, Stats};
use crate::engine::{EventQueue, LaneId, RngStream, SimDuration, SimTime, Slab};
use crate::model::Model;
use std::collections::VecDeque;

/// Random streams of the model's elements, each named by its element.
pub(crate) struct Streams {
    /// Per endpoint: work and delay durations.
    pub work: Vec<RngStream>,
    /// Per endpoint: branch, fail and cache draws.
    pub choice: Vec<RngStream>,
    /// Per call site: probability draws and network latency.
    pub site: Vec<RngStream>,
    /// Per workload: network latency between the edge client and the target.
    pub client_net: Vec<RngStream>,
}

/// Constant-delay timer lanes (see `engine::EventQueue`).
pub(crate) struct Lanes {
    /// Per call site: per-attempt timeout, `hedge.after`, `timeout_total`.
    pub timeout: Vec<Option<LaneId>>,
    pub hedge: Vec<Option<LaneId>>,
    pub total: Vec<Option<LaneId>>,
    /// Per service: the admission queue's `max_wait`.
    pub max_wait: Vec<Option<LaneId>>,
    /// Per workload: its edge client's timeout.
    pub client_timeout: Vec<Option<LaneId>>,
    /// Per queue: the visibility timeout; per publish step: its block
    /// timeout and its reply timeout.
    pub visibility: Vec<Option<LaneId>>,
    pub block: Vec<Option<LaneId>>,
    pub reply: Vec<Option<LaneId>>,
}

/// Run-wide counters.
#[derive(Default)]
pub(crate) struct Counters {
    pub events: u64,
    /// FNV-style hash of (time, kind) of every event: equal for equal runs.
    pub digest: u64,
    pub requests_in_flight: u64,
    pub peak_requests_in_flight: u64,
    /// Attempts being handled inline inside one another now (`flow::send`).
    pub inline_depth: u32,
}

#[derive(Default)]
/// What the invariant checks found (`invariants`), and the last time seen.
pub(crate) struct Checker {
    pub violations: Vec<String>,
    pub last_time: SimTime,
}

/// The whole mutable simulation state.
pub(crate) struct World<'m> {
    pub m: &'m Model,
    pub q: EventQueue<Event>,
    /// Events due now, run after the current one (FIFO).
    pub ready: VecDeque<Event>,
    pub seed: u64,
    pub end: SimTime,
    pub warmup: SimTime,
    pub opts: RunOptions,
    pub fleet: Fleet,
    pub rng: Streams,
    pub lanes: Lanes,
    pub res: Resilience,
    pub faults: FaultState,
    /// Keyed caches: contents, key streams, counters.
    pub keyed: KeyedCaches,
    /// Queues, their groups, deliveries and waiting publishers.
    pub queues: Queues,
    pub wl: Vec<WorkloadState>,
    pub calls: Slab<Call>,
    pub attempts: Slab<Attempt>,
    pub strands: Slab<Strand>,
    pub joins: Slab<Join>,
    pub stats: Stats,
    pub chains: Chains,
    pub scaling: Scaling,
    pub detect: Detectors,
    pub obs: Observer,
    pub count: Counters,
    pub check: Checker,
    /// Nodes, placements, memory (`cluster:`, `memory_per_request`).
    pub cluster: super::cluster::ClusterState,
    /// A reusable buffer for what a node operation causes (`flow::serve`).
    pub fx: super::cpu::Effects,
    /// Inference servers and token figures (`inference:`).
    pub gpus: super::inference::Gpus,
    /// A reusable buffer for what an iteration's end causes (`flow::generate`).
    pub iter_out: super::inference::IterationOut,
}

/// A stable name per call site: its edge name and its ordinal among the
/// sites that share that name (`api->db.query#0`).
pub(crate) fn site_names(m: &Model) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(m.edges.len());
    for (i, e) in m.edges.iter().enumerate() {
        let ordinal = m.edges[..i].iter().filter(|o| o.name == e.name).count();
        names.push(format!("{}#{ordinal}", e.name));
    }
    names
}

impl<'m> World<'m> {
    pub(crate) fn new(m: &'m Model, opts: &RunOptions) -> Self {
        let seed = opts.seed.unwrap_or(m.seed);
        let duration = opts.duration.unwrap_or(m.duration);
        let end = SimTime(duration.0);
        let warmup = SimTime(m.warmup.0.min(duration.0));
        let mut q = EventQueue::new();
        let sites = site_names(m);
        let rng = Streams {
            work: m.endpoints.iter().map(|e| RngStream::derive(seed, "work", &e.full_name)).collect(),
            choice: m.endpoints.iter().map(|e| RngStream::derive(seed, "choice", &e.full_name)).collect(),
            site: sites.iter().map(|n| RngStream::derive(seed, "call", n)).collect(),
            client_net: m.workloads.iter().map(|wl| RngStream::derive(seed, "network", &wl.name)).collect(),
        };
        let lanes = Lanes {
            timeout: m.edges.iter().map(|e| e.timeout.map(|d| q.lane(d))).collect(),
            hedge: m.edges.iter().map(|e| e.hedge.map(|h| q.lane(h.after))).collect(),
            total: m.edges.iter().map(|e| e.timeout_total.map(|d| q.lane(d))).collect(),
            max_wait: m.services.iter().map(|s| s.queue.max_wait.map(|d| q.lane(d))).collect(),
            client_timeout: m.workloads.iter().map(|w| w.client.and_then(|c| c.timeout).map(|d| q.lane(d))).collect(),
            visibility: m.queues.iter().map(|x| Some(q.lane(x.visibility_timeout))).collect(),
            block: m
                .publishes
                .iter()
                .map(|p| match m.queues[p.queue.ix()].when_full {
                    crate::model::WhenFull::Block => p.timeout.map(|d| q.lane(d)),
                    _ => None,
                })
                .collect(),
            reply: m.publishes.iter().map(|p| p.reply.map(|d| q.lane(d))).collect(),
        };
        let fleet = Fleet::new(m, seed);
        let keyed = KeyedCaches::new(m, seed, &|s| fleet.alive(ServiceId(s as u32)).collect());
        let scaling = Scaling::new(m, seed);
        World {
            m,
            q,
            ready: VecDeque::new(),
            seed,
            end,
            warmup,
            opts: opts.clone(),
            fleet,
            rng,
            lanes,
            res: Resilience::new(m, seed, &sites),
            faults: FaultState::new(m, seed),
            keyed,
            queues: Queues::new(m, seed),
            wl: arrivals::init(m, seed),
            calls: Slab::new(),
            attempts: Slab::new(),
            strands: Slab::new(),
            joins: Slab::new(),
            stats: Stats::new(m, opts),
            chains: Chains::new(m),
            scaling,
            detect: Detectors::new(m, opts.interval, warmup),
            obs: Observer::new(m, opts),
            count: Counters { digest: 0xcbf2_9ce4_8422_2325, ..Counters::default() },
            check: Checker::default(),
            fx: Default::default(),
            cluster: super::cluster::ClusterState::new(m, seed),
            gpus: super::inference::Gpus::new(m, seed, &super::inference::reaching(m)),
            iter_out: Default::default(),
        }
    }

    #[inline]
    pub fn now(&self) -> SimTime {
        self.q.now()
    }

    /// Is this moment after the warm-up (does a request starting now count)?
    #[inline]
    pub fn counted_now(&self) -> bool {
        self.now() >= self.warmup
    }

    /// Schedules `ev` after `d`; zero delay goes to the ready list.
    #[inline]
    pub fn after(&mut self, d: SimDuration, ev: Event) {
        if d.0 == 0 {
            self.ready.push_back(ev);
        } else {
            self.q.schedule_after(d, ev);
        }
    }

    /// Arms a timer in a constant-delay lane. Timers whose call or attempt
    /// ended before they fire stay in the lane until then; when stale ones
    /// could outnumber the live ones, the lane is compacted, so memory is
    /// bounded by what is in flight, not by rate × timeout.
    #[inline]
    pub fn arm(&mut self, lane: LaneId, ev: Event) {
        self.q.schedule_in_lane(lane, ev);
        // Looked at every 1024 timers: cheap, and enough to stay bounded.
        let len = self.q.lane_len(lane);
        let live = self.attempts.len() + self.calls.len() + self.queues.deliveries.len() + self.queues.replies.len();
        if len.is_multiple_of(1024) && len > 2 * (live + self.queues.blocked.len()) + 4096 {
            let (attempts, calls, queues) = (&self.attempts, &self.calls, &self.queues);
            self.q.retain_lane(lane, |e| timer_live(attempts, calls, queues, e));
        }
    }

    #[inline]
    pub fn endpoint_service(&self, e: EndpointId) -> ServiceId {
        self.m.endpoints[e.ix()].service
    }

    /// The caller's service of a call site.
    #[inline]
    pub fn caller_service(&self, edge: EdgeId) -> ServiceId {
        self.m.service_of(self.m.edges[edge.ix()].caller)
    }

    /// The workload a request's root call belongs to.
    pub fn workload_of(&self, call: CallKey) -> Option<WorkloadId> {
        match self.calls.get(call).map(|c| c.parent) {
            Some(super::state::Parent::Request { wl, .. }) => Some(wl),
            _ => None,
        }
    }

    /// Is `key` an attempt still awaited by its caller?
    pub fn awaited(&self, key: AttemptKey) -> bool {
        self.attempts.get(key).is_some_and(|a| !a.orphan)
    }
}

/// Could this lane timer still do something when it fires?
fn timer_live(attempts: &Slab<Attempt>, calls: &Slab<Call>, queues: &Queues, ev: &Event) -> bool {
    use super::state::AttemptState;
    match *ev {
        Event::TimeoutFired { attempt } => attempts.get(attempt).is_some_and(|a| !a.orphan),
        Event::QueueWaitExpired { attempt } => attempts.get(attempt).is_some_and(|a| a.state == AttemptState::Queued),
        Event::CallTimedOut { call } => calls.contains(call),
        Event::HedgeDue { call, made } => calls.get(call).is_some_and(|c| c.attempts_made == made),
        Event::VisibilityExpired { delivery } => queues.deliveries.get(delivery).is_some_and(|d| !d.expired),
        Event::ReplyTimedOut { reply } => queues.replies.contains(reply),
        Event::BlockExpired { blocked } => queues.blocked.contains(blocked),
        _ => true,
    }
}
