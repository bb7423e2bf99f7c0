//! The records the simulation keeps for what is in flight: calls, their
//! attempts, the strands of execution running an attempt's endpoint, and
//! the joins of parallel steps — plain data, no behaviour beyond small
//! accessors. Who changes them, and when, is [`super::flow`]'s business.
//!
//! Life of an attempt ([`AttemptState`]): `Transit` (on the network) →
//! `Queued` (waiting for an admission slot, optional) → `Running` (holding
//! a slot, its endpoint's strands run) → `Done`. Every move into `Done`
//! goes through one function, `flow::close`, which is what keeps the
//! per-replica counts (outstanding attempts, slots, queue) exact.

use super::chain::{Buf, NodeId};
use super::ids::{EdgeId, EndpointId, ReplicaId, ServiceId, WorkloadId};
use super::resilience::BackoffState;
use super::trace::Attrs;
use crate::engine::{Key, SimTime};
use crate::model::{FailureKind, MAX_CACHE_DEPTH, MAX_LOOP_DEPTH, PublishId, QueueId};
use std::num::NonZeroU32;

pub(crate) type CallKey = Key<Call>;
pub(crate) type AttemptKey = Key<Attempt>;
pub(crate) type StrandKey = Key<Strand>;
pub(crate) type JoinKey = Key<Join>;

// Messages (`queues`): what is stored and what waits.
pub(crate) type DeliveryKey = Key<Delivery>;
pub(crate) type ReplyKey = Key<ReplyWait>;
pub(crate) type BlockedKey = Key<Blocked>;

/// A message as stored in a partition: 16 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Msg {
    /// When the broker accepted it.
    pub accepted: SimTime,
    /// Attributes and reply, when it has either (index + 1 into the
    /// queues' shared side table).
    pub extra: Option<NonZeroU32>,
    /// Deliveries so far (to this group).
    pub deliveries: u16,
    /// Accepted after the warm-up: its fate is counted.
    pub counted: bool,
}

/// A message being processed by a consumer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delivery {
    pub group: u32,
    pub partition: u32,
    pub msg: Msg,
    /// The consumer's replica.
    pub replica: ReplicaId,
    /// The visibility timeout passed: the message was delivered again and
    /// this processing's outcome no longer counts.
    pub expired: bool,
    /// The consumer's replica died with the message: it waits for the
    /// visibility timeout.
    pub consumer_gone: bool,
}

/// A publisher waiting for the consumers' result (request-reply).
pub(crate) struct ReplyWait {
    pub strand: StrandKey,
    pub publish: PublishId,
}

/// A publisher waiting for room in a full queue (`when_full: block`).
pub(crate) struct Blocked {
    pub strand: StrandKey,
    pub publish: PublishId,
    pub since: SimTime,
}

/// How an attempt or call ended, as its caller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Error,
    Rejected,
    Timeout,
    /// Refused by the caller's circuit breaker without being sent.
    ShortCircuited,
}

impl Outcome {
    /// The kind of failure (`None` for `Ok`).
    pub fn failure(self) -> Option<FailureKind> {
        match self {
            Outcome::Ok => None,
            Outcome::Error => Some(FailureKind::Error),
            Outcome::Timeout => Some(FailureKind::Timeout),
            Outcome::Rejected => Some(FailureKind::Rejected),
            Outcome::ShortCircuited => Some(FailureKind::ShortCircuited),
        }
    }
}

/// Where a failure began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Origin {
    /// At a service: a `fail` step, an `errors` fault, a crash, a full
    /// queue, an expired deadline.
    Service(ServiceId),
    /// On a call edge, at the caller: its timeout, its circuit breaker, a
    /// partition.
    Edge(EdgeId),
    /// At a workload's edge client: the user's own timeout (`client:`).
    Client(WorkloadId),
    /// At a queue's broker: a full queue, a blocked publish or a reply
    /// that timed out, a message dead-lettered.
    Queue(QueueId),
}

/// The root cause of a failure: what went wrong first and where. It rides
/// along with error responses up the call chain, so a request that failed
/// because a call three hops down timed out is reported as that timeout,
/// wherever it is counted (`classify once`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cause {
    pub kind: FailureKind,
    pub origin: Origin,
}

/// Who waits for a call's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parent {
    /// A strand of the caller's endpoint.
    Strand(StrandKey),
    /// The edge client of a workload (`user` for closed loops).
    Request { wl: WorkloadId, user: Option<u32> },
    /// Nobody: fire-and-forget (an async side call). The call runs to its
    /// end and its outcome is only counted.
    Detached,
    /// A consumer processing a delivered message: its outcome acknowledges
    /// the message or sends it back (`flow::messages`).
    Message(DeliveryKey),
}

/// Most attempts of one call awaited at once (hedging); more are not sent.
pub(crate) const MAX_LIVE_ATTEMPTS: usize = 6;

/// A call: the caller's intent to get an answer from `callee`; it makes
/// one or more attempts (first try, retries, hedges).
pub(crate) struct Call {
    pub parent: Parent,
    /// The call site; `None` for a workload's request.
    pub edge: Option<EdgeId>,
    pub callee: EndpointId,
    pub start: SimTime,
    /// The most recent attempt (`None` before the first, or when it was
    /// short-circuited or refused before it was sent).
    pub last: Option<AttemptKey>,
    /// Attempts awaited now (more than one while hedging).
    live: [Option<AttemptKey>; MAX_LIVE_ATTEMPTS],
    live_len: u8,
    /// Attempts sent (or short-circuited) so far, hedges and retries included.
    pub attempts_made: u32,
    /// When the latest attempt was sent.
    pub last_sent: SimTime,
    /// Part of a request that arrived after the warm-up.
    pub counted: bool,
    /// Call-tree node of the callee (latency chains).
    pub node: Option<NodeId>,
    /// The caller's own deadline, when this call propagates deadlines
    /// (`SimTime::MAX` if none): retries go on only while it leaves time.
    pub deadline: SimTime,
    /// `timeout_total` expiry (`SimTime::MAX` if none).
    pub total_deadline: SimTime,
    /// Chain of its failed attempts and backoffs so far.
    pub chain: Option<Buf>,
    /// Where it is in its backoff schedule (set at its first retry).
    pub backoff: Option<BackoffState>,
    /// A retry is scheduled (backoff running).
    pub retry_pending: bool,
    pub backoff_from: SimTime,
    /// AWS quota: tokens the latest retry took (refunded on success).
    pub retry_cost: Option<u32>,
    /// Envoy budget: retries charged and not yet finished.
    pub envoy_retries: u32,
    /// The attempt whose endpoint made this call (`None` for a request or a
    /// detached call), and the neighbours in that attempt's list of
    /// outstanding calls.
    pub caller: Option<AttemptKey>,
    pub prev: Option<CallKey>,
    pub next: Option<CallKey>,
    /// The request's attributes (a trace's `attributes`), shared by every
    /// call and attempt it leads to; `None` for requests without any.
    pub attrs: Option<Attrs>,
}

impl Call {
    pub fn new(parent: Parent, edge: Option<EdgeId>, callee: EndpointId, now: SimTime, counted: bool) -> Call {
        Call {
            parent,
            edge,
            callee,
            start: now,
            last: None,
            live: [None; MAX_LIVE_ATTEMPTS],
            live_len: 0,
            attempts_made: 0,
            last_sent: now,
            counted,
            node: None,
            deadline: SimTime::MAX,
            total_deadline: SimTime::MAX,
            chain: None,
            backoff: None,
            retry_pending: false,
            backoff_from: now,
            retry_cost: None,
            envoy_retries: 0,
            caller: None,
            prev: None,
            next: None,
            attrs: None,
        }
    }

    /// Attempts awaited now.
    pub fn live(&self) -> impl Iterator<Item = AttemptKey> + '_ {
        self.live[..self.live_len as usize].iter().flatten().copied()
    }

    pub fn live_count(&self) -> usize {
        self.live_len as usize
    }

    pub fn has_room(&self) -> bool {
        (self.live_len as usize) < MAX_LIVE_ATTEMPTS
    }

    pub fn live_push(&mut self, a: AttemptKey) {
        if self.has_room() {
            self.live[self.live_len as usize] = Some(a);
            self.live_len += 1;
        }
    }

    pub fn live_remove(&mut self, a: AttemptKey) {
        let n = self.live_len as usize;
        if let Some(i) = self.live[..n].iter().position(|&x| x == Some(a)) {
            self.live[i] = self.live[n - 1];
            self.live[n - 1] = None;
            self.live_len -= 1;
        }
    }

    /// Empties the list of awaited attempts and returns what it held.
    pub fn take_live(&mut self) -> ([Option<AttemptKey>; MAX_LIVE_ATTEMPTS], usize) {
        let n = std::mem::take(&mut self.live_len) as usize;
        (std::mem::replace(&mut self.live, [None; MAX_LIVE_ATTEMPTS]), n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttemptState {
    /// On the network towards the replica.
    Transit,
    /// Waiting for an admission slot.
    Queued,
    /// Admitted; its strands run.
    Running,
    /// Closed: it responded, was refused, dropped or cancelled.
    Done,
}

/// One try at `service.endpoint` on one replica.
pub(crate) struct Attempt {
    pub call: CallKey,
    pub endpoint: EndpointId,
    pub service: ServiceId,
    pub replica: ReplicaId,
    pub sent: SimTime,
    pub arrived: SimTime,
    pub admitted: SimTime,
    pub responded: SimTime,
    /// Propagated deadline: the server drops it if it would start later.
    pub deadline: SimTime,
    pub state: AttemptState,
    pub outcome: Outcome,
    /// Why it failed, when it did.
    pub cause: Option<Cause>,
    /// Nobody waits for the response any more (it arrived, or the caller gave up).
    pub orphan: bool,
    /// When the caller gave up on it (timeout, abandonment); `SimTime::MAX` if it did not.
    pub abandoned_at: SimTime,
    /// Cancellation reached it while on the network: it is dropped on arrival.
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
    pub node: Option<NodeId>,
    /// Chain buffer of its critical path once it responded.
    pub chain: Option<Buf>,
    /// Head of the list of calls its endpoint has outstanding.
    pub calls: Option<CallKey>,
    /// Its request's attributes (see [`Call::attrs`]).
    pub attrs: Option<Attrs>,
    /// The token stream of the first `generate` step whose tokens reach
    /// this attempt's response (its own, or a successful call's, shifted
    /// by the network back), as this attempt's caller will see it.
    pub stream: Option<Stream>,
}

/// When a token stream's first and last tokens reach a point, and how many
/// tokens it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stream {
    pub first: SimTime,
    pub last: SimTime,
    pub tokens: u32,
}

/// A program counter over an endpoint's compiled code. A fork runs each
/// branch as a child strand; the parent waits on a [`Join`].
pub(crate) struct Strand {
    pub attempt: AttemptKey,
    /// The join this strand is a branch of (`None` for the root strand).
    pub join: Option<JoinKey>,
    pub pc: u32,
    pub counters: [u32; MAX_LOOP_DEPTH],
    /// The key drawn by each open keyed `cache` step (by nesting depth).
    pub keys: [u64; MAX_CACHE_DEPTH],
    pub chain: Option<Buf>,
    /// When the current delay began.
    pub t0: SimTime,
}

pub(crate) struct Join {
    pub parent: StrandKey,
    pub need: u32,
    pub total: u32,
    pub ok: u32,
    pub failed: u32,
    /// Branches not yet finished (successfully or not, or abandoned).
    pub outstanding: u32,
    pub resolved: bool,
    pub join_pc: u32,
}
