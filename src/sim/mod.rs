//! The simulated world: requests, calls, attempts, replicas and strands of
//! execution, driven by the engine's event queue.
//!
//! All mutable state lives in [`World`]: `Vec`s indexed by model ids and
//! generational slabs for what comes and goes (calls, attempts, strands,
//! joins). One closed [`Event`] enum of small `Copy` payloads. Events at the
//! current instant (zero network latency, a strand made runnable) go to a
//! FIFO `ready` list instead of the heap; handlers never call each other
//! re-entrantly through it, so recursion depth stays bounded.
//!
//! One file per mechanism: [`arrivals`] (workloads), [`replica`] (routing,
//! admission, cores), [`exec`] (running compiled endpoint code: strands and
//! joins), [`calls`] (calls, attempts, responses, timeouts, cancellation),
//! [`chain`] (critical-path latency attribution), [`stats`] (recorders and
//! series), [`finish`] (the [`RunResult`]), [`invariants`].
//!
//! Not here: parsing (`spec`), I/O (`cli`), formatting (`report`).

mod arrivals;
mod autoscale;
mod calls;
mod chain;
mod exec;
mod faults;
mod findings;
mod finish;
mod invariants;
mod pods;
mod pods_report;
mod replica;
pub mod resilience;
mod retry;
mod stats;

use crate::engine::{EventQueue, LaneId, RngStream, SimDuration, SimTime, Slab, SlabKey};
use crate::metrics::{RunResult, StopReason};
use crate::model::Model;
use std::collections::VecDeque;

/// How to run a model once.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Overrides the model's seed.
    pub seed: Option<u64>,
    /// Overrides the model's duration.
    pub duration: Option<SimDuration>,
    /// Width of a time-series bucket.
    pub interval: SimDuration,
    /// Keep per-interval rows in [`RunResult::series`] (memory grows with
    /// simulated time / interval).
    pub keep_series: bool,
    /// Stop after this many events (`stopped_by: max_events`).
    pub max_events: u64,
    /// Stop when this many requests are in flight at the edge at once
    /// (`stopped_by: max_in_flight`).
    pub max_in_flight: u64,
    /// Check invariants after every event (slow; for tests). Violations are
    /// listed in [`RunResult::invariant_violations`].
    pub check_invariants: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: None,
            duration: None,
            interval: SimDuration::from_secs(1),
            keep_series: false,
            max_events: 2_000_000_000,
            max_in_flight: 1_000_000,
            check_invariants: false,
        }
    }
}

/// Runs `model` once and returns its result.
pub fn run(model: &Model, opts: &RunOptions) -> RunResult {
    run_with_progress(model, opts, &mut |_| {})
}

/// Like [`run`], calling `progress` with the fraction of simulated time done
/// every so often (the CLI draws a bar with it).
pub fn run_with_progress(model: &Model, opts: &RunOptions, progress: &mut dyn FnMut(f64)) -> RunResult {
    let mut w = World::new(model, opts);
    let stopped_by = w.run(progress);
    w.finish(stopped_by)
}

/// Something that happens at an instant. Named for what happened.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// The next open-loop request of a workload arrives at the edge.
    ArrivalDue { wl: u32 },
    /// A closed-loop user finished thinking.
    UserWakes { wl: u32, user: u32 },
    /// An attempt reaches its replica (after the network).
    AttemptArrives { attempt: SlabKey },
    /// An admitted attempt starts running its endpoint.
    AttemptStarts { attempt: SlabKey },
    /// A strand of execution can continue.
    StrandReady { strand: SlabKey },
    /// A work step finished on a core of `replica`.
    WorkDone { strand: SlabKey, replica: u32 },
    /// A delay step finished.
    DelayDone { strand: SlabKey },
    /// An attempt's response reaches its caller.
    ResponseArrives { attempt: SlabKey },
    /// A per-attempt timeout fired.
    TimeoutFired { attempt: SlabKey },
    /// An attempt waited `queue.max_wait` for admission.
    QueueWaitExpired { attempt: SlabKey },
    /// A call's backoff ended: its next attempt goes out.
    RetryDue { call: SlabKey },
    /// A call's hedge delay ended (`made` attempts had been sent when armed).
    HedgeDue { call: SlabKey, made: u32 },
    /// A call's `timeout_total` ran out.
    CallTimedOut { call: SlabKey },
    /// A fault of the chaos schedule begins.
    FaultStarts { fault: u32 },
    /// A fault's window ends.
    FaultEnds { fault: u32 },
    /// A GC-like pause begins on a replica (a `pauses` fault).
    PauseStarts { fault: u32, replica: u32 },
    /// An attempt ended (or was cancelled) with calls still out: its endpoint
    /// abandons them (cancelling them where the call says `cancel: true`).
    CallsAbandoned { attempt: SlabKey },
    /// A time-series interval ends.
    IntervalEnds,
    /// The warm-up ends: statistics restart.
    WarmupEnds,
    /// A starting replica passed its readiness probe (`pods`).
    ReplicaReady { replica: u32 },
    /// Metrics-server scrapes the replicas of an autoscaled service (`pods`).
    HpaScrape { service: u32 },
    /// The HPA of a service syncs (`pods`).
    HpaSync { service: u32 },
}

impl Event {
    fn code(&self) -> u64 {
        match self {
            Event::ArrivalDue { .. } => 1,
            Event::UserWakes { .. } => 2,
            Event::AttemptArrives { .. } => 3,
            Event::AttemptStarts { .. } => 4,
            Event::StrandReady { .. } => 5,
            Event::WorkDone { .. } => 6,
            Event::DelayDone { .. } => 7,
            Event::ResponseArrives { .. } => 8,
            Event::TimeoutFired { .. } => 9,
            Event::QueueWaitExpired { .. } => 10,
            Event::IntervalEnds => 11,
            Event::WarmupEnds => 12,
            Event::ReplicaReady { .. } => 13,
            Event::HpaScrape { .. } => 14,
            Event::HpaSync { .. } => 15,
            Event::RetryDue { .. } => 16,
            Event::HedgeDue { .. } => 17,
            Event::CallTimedOut { .. } => 18,
            Event::FaultStarts { .. } => 19,
            Event::FaultEnds { .. } => 20,
            Event::PauseStarts { .. } => 21,
            Event::CallsAbandoned { .. } => 22,
        }
    }
}

/// How an attempt or call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Error,
    Rejected,
    Timeout,
    /// Refused by the caller's circuit breaker without being sent.
    ShortCircuited,
}

/// Who waits for a call's outcome.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Parent {
    /// A strand of the caller's endpoint.
    Strand(SlabKey),
    /// The edge client of a workload (`user` for closed loops).
    Request { wl: u32, user: u32 },
}

/// A call: the caller's intent to get an answer from `callee`; it makes
/// one or more attempts (first try, retries, hedges).
pub(crate) struct Call {
    pub parent: Parent,
    /// Model edge id, or `ROOT_EDGE` for a workload's request.
    pub edge: u32,
    pub callee: u32,
    pub start: SimTime,
    /// The most recent attempt (NONE before the first, or if it was short-circuited).
    pub attempt: SlabKey,
    /// Attempts awaited now (more than one while hedging).
    pub live: [SlabKey; calls::MAX_LIVE_ATTEMPTS],
    pub live_len: u8,
    /// Attempts sent (or short-circuited) so far, hedges and retries included.
    pub attempts_made: u32,
    /// When the latest attempt was sent.
    pub last_sent: SimTime,
    /// Part of a request that arrived after the warm-up.
    pub counted: bool,
    /// Call-tree node of the callee (latency chains), or `chain::NO_NODE`.
    pub node: u32,
    /// Deadline its attempts carry downstream (`deadline: propagate`).
    pub deadline: SimTime,
    /// `timeout_total` expiry.
    pub total_deadline: SimTime,
    /// Chain of its failed attempts and backoffs so far.
    pub chain: u32,
    /// Where it is in its backoff schedule (set at its first retry).
    pub backoff: Option<resilience::BackoffState>,
    /// A retry is scheduled (backoff running).
    pub retry_pending: bool,
    pub backoff_from: SimTime,
    /// AWS quota: tokens the latest retry took (refunded on success).
    pub retry_cost: Option<u32>,
    /// Envoy budget: retries charged and not yet finished.
    pub envoy_retries: u32,
    /// The attempt whose endpoint made this call (NONE for a request), and
    /// the neighbours in that attempt's list of outstanding calls.
    pub caller: SlabKey,
    pub prev: SlabKey,
    pub next: SlabKey,
}

impl Call {
    pub fn new(parent: Parent, edge: u32, callee: u32, now: SimTime, counted: bool, node: u32) -> Call {
        Call {
            parent,
            edge,
            callee,
            start: now,
            attempt: SlabKey::NONE,
            live: [SlabKey::NONE; calls::MAX_LIVE_ATTEMPTS],
            live_len: 0,
            attempts_made: 0,
            last_sent: now,
            counted,
            node,
            deadline: SimTime::MAX,
            total_deadline: SimTime::MAX,
            chain: chain::NO_CHAIN,
            backoff: None,
            retry_pending: false,
            backoff_from: now,
            retry_cost: None,
            envoy_retries: 0,
            caller: SlabKey::NONE,
            prev: SlabKey::NONE,
            next: SlabKey::NONE,
        }
    }

    pub fn live_push(&mut self, a: SlabKey) {
        if (self.live_len as usize) < calls::MAX_LIVE_ATTEMPTS {
            self.live[self.live_len as usize] = a;
            self.live_len += 1;
        }
    }

    pub fn live_remove(&mut self, a: SlabKey) {
        let n = self.live_len as usize;
        if let Some(i) = self.live[..n].iter().position(|&x| x == a) {
            self.live[i] = self.live[n - 1];
            self.live_len -= 1;
        }
    }
}

pub(crate) const ROOT_EDGE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptState {
    /// On the network towards the replica.
    Transit,
    /// Waiting for an admission slot.
    Queued,
    /// Admitted; its strands run.
    Running,
    /// The response was sent (or the attempt was rejected/cancelled).
    Done,
}

/// One try at `service.endpoint` on one replica.
pub(crate) struct Attempt {
    pub call: SlabKey,
    pub endpoint: u32,
    pub service: u32,
    pub replica: u32,
    pub sent: SimTime,
    pub arrived: SimTime,
    pub admitted: SimTime,
    pub responded: SimTime,
    /// Propagated deadline: the server drops it if it would start later.
    pub deadline: SimTime,
    pub state: AttemptState,
    pub outcome: Outcome,
    /// Nobody waits for the response any more (it arrived, or the caller gave up).
    pub orphan: bool,
    /// When the caller gave up on it (timeout, abandonment); `SimTime::MAX` if it did not.
    pub abandoned_at: SimTime,
    /// Cancellation reached it: it does no further work.
    pub cancelled: bool,
    /// Swallowed by a partition: it never arrives.
    pub lost: bool,
    /// Sent as a retry.
    pub retry: bool,
    /// Attempts admitted at its replica when it was admitted (limiter sample).
    pub in_flight_at_admission: u32,
    /// Live strands of its endpoint's execution.
    pub strands: u32,
    /// The response is on its way back to the caller.
    pub response_pending: bool,
    pub counted: bool,
    pub node: u32,
    /// Chain buffer of its critical path once it responded.
    pub chain: u32,
    /// Head of the list of calls its endpoint has outstanding.
    pub calls: SlabKey,
}

/// A program counter over an endpoint's compiled code. A fork runs each
/// branch as a child strand; the parent waits on a [`Join`].
pub(crate) struct Strand {
    pub attempt: SlabKey,
    /// The join this strand is a branch of, or NONE for the root strand.
    pub join: SlabKey,
    pub pc: u32,
    pub counters: [u32; crate::model::MAX_LOOP_DEPTH],
    /// Chain buffer, or `chain::NO_CHAIN`.
    pub chain: u32,
    /// When the current wait began (core queue, delay).
    pub t0: SimTime,
    /// When the current work step got its core.
    pub t1: SimTime,
    /// Its replica's total pause time when its work step started (pauses stretch work).
    pub pause_mark: u64,
}

pub(crate) struct Join {
    pub parent: SlabKey,
    pub need: u32,
    pub total: u32,
    pub ok: u32,
    pub failed: u32,
    /// Branches not yet finished (successfully or not, or abandoned).
    pub outstanding: u32,
    pub resolved: bool,
    pub join_pc: u32,
}

/// Mutable state of one replica.
pub(crate) struct Replica {
    pub service: u32,
    /// Admitted attempts (holding a slot).
    pub in_flight: u32,
    /// Admission queue (may hold stale entries; `queue_len` is the truth).
    pub queue: VecDeque<SlabKey>,
    pub queue_len: u32,
    /// Cores in use.
    pub busy: u32,
    /// Strands waiting for a core.
    pub cpu_queue: VecDeque<SlabKey>,
    /// Attempts routed here and not yet answered (least_request, p2c).
    pub outstanding: u32,
    /// Life-cycle; always `Ready` for a service without `autoscale`.
    pub state: ReplicaState,
    /// Cumulative counters for the HPA's metrics (autoscaled services only).
    pub meter: Option<Box<pods::Meter>>,
    /// Its adaptive concurrency limit, if the service has one.
    pub limiter: Option<Box<resilience::AdaptiveLimit>>,
    /// Crashed (a `crash` fault) and not restarted: takes no traffic.
    pub down: bool,
    /// End of the pause in progress (a `pauses` fault), and all pause time so far.
    pub paused_until: SimTime,
    pub pause_total: u64,
}

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

pub(crate) struct ServiceState {
    /// Ready replicas (indices into `World::replicas`): the balancer picks
    /// among these only.
    pub ready: Vec<u32>,
    pub rr: u32,
    pub balancer_rng: RngStream,
    pub max_wait_lane: Option<LaneId>,
}

pub(crate) struct EndpointRng {
    /// Work and delay durations.
    pub time: RngStream,
    /// Branch, fail and cache draws.
    pub choice: RngStream,
}

/// A new replica's adaptive concurrency limit, if its service has one.
pub(crate) fn new_limiter(m: &Model, service: u32, rng: &mut RngStream) -> Option<Box<resilience::AdaptiveLimit>> {
    m.services[service as usize].adaptive.as_ref().map(|c| Box::new(resilience::AdaptiveLimit::new(c, rng)))
}

/// The whole mutable simulation state.
pub(crate) struct World<'m> {
    pub m: &'m Model,
    pub q: EventQueue<Event>,
    pub ready: VecDeque<Event>,
    pub seed: u64,
    pub end: SimTime,
    pub warmup: SimTime,
    pub opts: RunOptions,
    pub replicas: Vec<Replica>,
    pub services: Vec<ServiceState>,
    pub ep_rng: Vec<EndpointRng>,
    /// Per edge: probability draws and network latency.
    pub edge_rng: Vec<RngStream>,
    pub edge_timeout_lane: Vec<Option<LaneId>>,
    /// Per edge: lanes for `hedge.after` and `timeout_total` timers.
    pub edge_hedge_lane: Vec<Option<LaneId>>,
    pub edge_total_lane: Vec<Option<LaneId>>,
    /// Per edge: backoff jitter draws.
    pub backoff_rng: Vec<RngStream>,
    /// Shared resilience state, per configured key.
    pub breakers: Vec<resilience::Breaker>,
    pub budgets: Vec<resilience::RetryBudget>,
    pub throttles: Vec<resilience::RetryThrottle>,
    pub limiter_rng: RngStream,
    /// The chaos schedule's effects now in force.
    pub faults: faults::FaultState,
    /// Per workload: network latency between the edge client and the target.
    pub client_net_rng: Vec<RngStream>,
    pub wl: Vec<arrivals::WorkloadState>,
    pub calls: Slab<Call>,
    pub attempts: Slab<Attempt>,
    pub strands: Slab<Strand>,
    pub joins: Slab<Join>,
    pub stats: stats::Stats,
    pub chains: chain::Chains,
    pub requests_in_flight: u64,
    pub peak_requests_in_flight: u64,
    pub events: u64,
    pub digest: u64,
    pub violations: Vec<String>,
    pub last_time: SimTime,
    /// Replica life-cycles and the HPAs of autoscaled services.
    pub scaling: pods::Scaling,
}

impl<'m> World<'m> {
    fn new(m: &'m Model, opts: &RunOptions) -> Self {
        let seed = opts.seed.unwrap_or(m.seed);
        let duration = opts.duration.unwrap_or(m.duration);
        let end = SimTime(duration.0);
        let warmup = SimTime(m.warmup.0.min(duration.0));
        let mut q = EventQueue::new();
        let mut replicas = Vec::new();
        let mut services = Vec::new();
        for (i, s) in m.services.iter().enumerate() {
            let first = replicas.len() as u32;
            for _ in 0..s.replicas {
                replicas.push(Replica::new(i as u32, ReplicaState::Ready, s.autoscale.is_some()));
            }
            services.push(ServiceState {
                ready: (first..first + s.replicas).collect(),
                rr: 0,
                balancer_rng: RngStream::derive(seed, "balancer", &s.name),
                max_wait_lane: s.queue.max_wait.map(|d| q.lane(d)),
            });
        }
        let ep_rng = m
            .endpoints
            .iter()
            .map(|e| EndpointRng {
                time: RngStream::derive(seed, "work", &e.full_name),
                choice: RngStream::derive(seed, "choice", &e.full_name),
            })
            .collect();
        // Several call sites may share a name: the site's ordinal keeps their streams apart.
        let mut edge_rng = Vec::with_capacity(m.edges.len());
        for (i, e) in m.edges.iter().enumerate() {
            let ordinal = m.edges[..i].iter().filter(|o| o.name == e.name).count();
            edge_rng.push(RngStream::derive(seed, "call", &format!("{}#{ordinal}", e.name)));
        }
        let edge_timeout_lane = m.edges.iter().map(|e| e.timeout.map(|d| q.lane(d))).collect();
        let edge_hedge_lane = m.edges.iter().map(|e| e.hedge.map(|h| q.lane(h.after))).collect();
        let edge_total_lane = m.edges.iter().map(|e| e.timeout_total.map(|d| q.lane(d))).collect();
        let backoff_rng = m
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| RngStream::derive(seed, "backoff", &format!("{}#{i}", e.name)))
            .collect();
        let mut limiter_rng = RngStream::derive(seed, "limiter", "");
        for r in &mut replicas {
            r.limiter = new_limiter(m, r.service, &mut limiter_rng);
        }
        let wl = arrivals::init(m, seed);
        let stats = stats::Stats::new(m, opts);
        let chains = chain::Chains::new(m);
        let scaling = pods::Scaling::new(m, seed, &replicas);
        World {
            m,
            q,
            ready: VecDeque::new(),
            seed,
            end,
            warmup,
            opts: opts.clone(),
            replicas,
            services,
            ep_rng,
            edge_rng,
            edge_timeout_lane,
            edge_hedge_lane,
            edge_total_lane,
            backoff_rng,
            breakers: m.breakers.iter().map(|b| resilience::Breaker::new(&b.cfg)).collect(),
            budgets: m.budgets.iter().map(|b| resilience::RetryBudget::new(&b.cfg, SimTime::ZERO)).collect(),
            throttles: m.throttles.iter().map(|t| resilience::RetryThrottle::new(&t.cfg)).collect(),
            limiter_rng,
            faults: faults::FaultState::new(m),
            client_net_rng: m.workloads.iter().map(|wl| RngStream::derive(seed, "network", &wl.name)).collect(),
            wl,
            calls: Slab::new(),
            attempts: Slab::new(),
            strands: Slab::new(),
            joins: Slab::new(),
            stats,
            chains,
            requests_in_flight: 0,
            peak_requests_in_flight: 0,
            events: 0,
            digest: 0xcbf2_9ce4_8422_2325,
            violations: Vec::new(),
            last_time: SimTime::ZERO,
            scaling,
        }
    }

    #[inline]
    pub fn now(&self) -> SimTime {
        self.q.now()
    }

    /// Attempts routed to `service` and not yet answered, over its replicas.
    pub fn replicas_outstanding(&self, service: u32) -> u64 {
        self.services[service as usize].ready.iter().map(|&r| self.replicas[r as usize].outstanding as u64).sum()
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

    /// The main loop; returns what stopped it.
    fn run(&mut self, progress: &mut dyn FnMut(f64)) -> StopReason {
        self.start();
        let end = self.end;
        let mut next_progress: u64 = 1 << 20;

        loop {
            let Some(t) = self.q.peek_time() else {
                break StopReason::Duration; // nothing left to happen: the whole duration is covered
            };
            if t > end {
                break StopReason::Duration;
            }
            if self.events >= self.opts.max_events {
                break StopReason::MaxEvents;
            }
            if self.requests_in_flight >= self.opts.max_in_flight {
                break StopReason::MaxInFlight;
            }
            let (_, ev) = self.q.pop().expect("peeked an event");
            self.dispatch(ev);
            while let Some(ev) = self.ready.pop_front() {
                self.dispatch(ev);
            }
            if self.events >= next_progress {
                next_progress = self.events + (1 << 20);
                progress(self.now().0 as f64 / end.0.max(1) as f64);
            }
        }
    }

    fn start(&mut self) {
        if self.warmup.0 > 0 {
            self.q.schedule_at(self.warmup, Event::WarmupEnds);
        }
        // Interval ends drive the series and the per-interval timeline the
        // findings (storms, recovery after faults) are computed from.
        {
            self.q.schedule_at(SimTime(self.opts.interval.0.max(1)), Event::IntervalEnds);
        }
        arrivals::start(self);
        faults::start(self);
        pods::start(self);
    }

    #[inline]
    fn dispatch(&mut self, ev: Event) {
        self.events += 1;
        let now = self.now();
        self.digest = (self.digest ^ now.0 ^ (ev.code() << 56)).wrapping_mul(0x0000_0100_0000_01B3);
        match ev {
            Event::ArrivalDue { wl } => arrivals::on_arrival(self, wl),
            Event::UserWakes { wl, user } => arrivals::on_user_wakes(self, wl, user),
            Event::AttemptArrives { attempt } => replica::on_attempt_arrives(self, attempt),
            Event::AttemptStarts { attempt } => exec::on_attempt_starts(self, attempt),
            Event::StrandReady { strand } => exec::run_strand(self, strand),
            Event::WorkDone { strand, replica } => replica::on_work_done(self, strand, replica),
            Event::DelayDone { strand } => exec::on_delay_done(self, strand),
            Event::ResponseArrives { attempt } => calls::on_response_arrives(self, attempt),
            Event::TimeoutFired { attempt } => calls::on_timeout(self, attempt),
            Event::QueueWaitExpired { attempt } => replica::on_queue_wait_expired(self, attempt),
            Event::RetryDue { call } => retry::on_retry_due(self, call),
            Event::HedgeDue { call, made } => retry::on_hedge_due(self, call, made),
            Event::CallTimedOut { call } => calls::on_call_timed_out(self, call),
            Event::FaultStarts { fault } => faults::on_fault_starts(self, fault),
            Event::FaultEnds { fault } => faults::on_fault_ends(self, fault),
            Event::PauseStarts { fault, replica } => faults::on_pause_starts(self, fault, replica),
            Event::CallsAbandoned { attempt } => calls::on_calls_abandoned(self, attempt),
            Event::IntervalEnds => stats::on_interval_ends(self),
            Event::WarmupEnds => stats::on_warmup_ends(self),
            Event::ReplicaReady { replica } => pods::on_replica_ready(self, replica),
            Event::HpaScrape { service } => pods::on_scrape(self, service),
            Event::HpaSync { service } => pods::on_sync(self, service),
        }
        if self.opts.check_invariants {
            invariants::check(self);
        }
    }
}

#[cfg(test)]
mod tests;
