//! The one closed set of things that can happen at an instant. Payloads
//! are small `Copy` ids (an event is at most 16 bytes besides its time key).
//! Boundaries that only observe the run (the end of a series interval, the
//! end of the warm-up) are not events: `observe` closes them between
//! events, so neither the event count nor the digest depends on
//! `--interval`.

use super::ids::{FaultId, ReplicaId, ServiceId, WorkloadId};
use super::state::{AttemptKey, BlockedKey, CallKey, DeliveryKey, ReplyKey, StrandKey};
use crate::model::{FailureKind, PublishId};

/// Something that happens at an instant. Named for what happened.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// The next open-loop request of a workload arrives at the edge.
    ArrivalDue { wl: WorkloadId },
    /// A closed-loop user finished thinking.
    UserWakes { wl: WorkloadId, user: u32 },
    /// An attempt reaches its replica (after the network).
    AttemptArrives { attempt: AttemptKey },
    /// An admitted attempt starts running its endpoint.
    AttemptStarts { attempt: AttemptKey },
    /// A strand of execution can continue.
    StrandReady { strand: StrandKey },
    /// A work step reached its end time on the executor of `replica`.
    WorkDone { strand: StrandKey, replica: ReplicaId },
    /// A delay step finished.
    DelayDone { strand: StrandKey },
    /// An attempt's response reaches its caller.
    ResponseArrives { attempt: AttemptKey },
    /// A per-attempt timeout fired.
    TimeoutFired { attempt: AttemptKey },
    /// An attempt waited `queue.max_wait` for admission.
    QueueWaitExpired { attempt: AttemptKey },
    /// A call's backoff ended: its next attempt goes out.
    RetryDue { call: CallKey },
    /// A call's hedge delay ended (`made` attempts had been sent when armed).
    HedgeDue { call: CallKey, made: u32 },
    /// A call's `timeout_total` ran out.
    CallTimedOut { call: CallKey },
    /// A fault of the chaos schedule begins.
    FaultStarts { fault: FaultId },
    /// A fault's window ends.
    FaultEnds { fault: FaultId },
    /// A GC-like pause begins on a replica (a `pauses` fault).
    PauseStarts { fault: FaultId, replica: ReplicaId },
    /// An attempt ended (or was cancelled) with calls still out: its endpoint
    /// abandons them (cancelling them where the call says `cancel: true`).
    CallsAbandoned { attempt: AttemptKey },
    /// A starting replica passed its readiness probe (`pods`).
    ReplicaReady { replica: ReplicaId },
    /// Metrics-server scrapes the replicas of an autoscaled service (`pods`).
    HpaScrape { service: ServiceId },
    /// The HPA of a service syncs (`pods`).
    HpaSync { service: ServiceId },
    /// A published message reaches its queue's broker.
    PublishArrives { strand: StrandKey, publish: PublishId },
    /// The publisher hears how its publish ended (`failure`: `None` if it succeeded).
    PublishAnswered { strand: StrandKey, publish: PublishId, failure: Option<FailureKind> },
    /// A delivered message's visibility timeout passed.
    VisibilityExpired { delivery: DeliveryKey },
    /// A request-reply publisher stops waiting for the reply.
    ReplyTimedOut { reply: ReplyKey },
    /// A publisher blocked on a full queue gives up.
    BlockExpired { blocked: BlockedKey },
    /// The CFS quota of a replica on a node runs out now (unless the
    /// prediction's generation is stale).
    QuotaOut { replica: ReplicaId, generation: u32 },
    /// A replica's throttle or pause on its node may end now.
    Unblocked { replica: ReplicaId },
    /// A node the cluster autoscaler asked for is ready (`platform`).
    NodeReady { node: u32 },
    /// A node has been underused for `scale_down.after` (episode `mark`).
    NodeUnderused { node: u32, mark: u32 },
    /// A replica may have passed its memory limit.
    OomCheck { replica: ReplicaId },
    /// A node's pods may use more memory than it has.
    MemoryPressure { node: u32 },
    /// An OOM-killed replica's container is back after its back-off.
    ContainerRestarts { replica: ReplicaId },
    /// A long work step on a node used up its time slice.
    SliceEnds { strand: StrandKey, replica: ReplicaId },
    /// The iteration of the inference server of `replica` ends (or an idle
    /// server wakes to plan one).
    IterationEnds { replica: ReplicaId },
    /// A replica that restarted after a crash finished loading its model.
    ModelLoaded { replica: ReplicaId },
}

impl Event {
    /// A stable number per kind, for the digest.
    pub fn code(&self) -> u64 {
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
            Event::PublishArrives { .. } => 23,
            Event::PublishAnswered { .. } => 24,
            Event::VisibilityExpired { .. } => 25,
            Event::ReplyTimedOut { .. } => 26,
            Event::BlockExpired { .. } => 27,
            Event::QuotaOut { .. } => 28,
            Event::Unblocked { .. } => 29,
            Event::NodeReady { .. } => 30,
            Event::NodeUnderused { .. } => 31,
            Event::OomCheck { .. } => 32,
            Event::MemoryPressure { .. } => 33,
            Event::ContainerRestarts { .. } => 34,
            Event::SliceEnds { .. } => 35,
            Event::IterationEnds { .. } => 36,
            Event::ModelLoaded { .. } => 37,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_event_stays_small() {
        assert!(std::mem::size_of::<super::Event>() <= 16);
    }
}
