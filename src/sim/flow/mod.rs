//! The attempt life cycle: the orchestrator of a run's requests, calls,
//! attempts and strands. Every other mechanism is a leaf it asks
//! (admission, the executor, the balancer, retry decisions, faults,
//! statistics, chains); none of them calls back in here.
//!
//! One state machine, in files by where things happen:
//! - [`send`]: requests and calls go out, attempts are routed and sent,
//!   retries and hedges leave;
//! - [`serve`]: at the replica — arrival, admission, the admission queue,
//!   starting, work on the executor;
//! - [`strand`]: running an endpoint's compiled code (strands and joins);
//! - [`answer`]: responses, timeouts, cancellation and abandonment, a
//!   call's outcome reaching its caller;
//! - [`chaos`]: the fault events that act on attempts (crashes, pauses);
//! - [`generate`]: `generate` steps on a replica's inference server
//!   (continuous batching; `super::inference` decides each iteration);
//! - [`messages`]: publishes, deliveries to consumers, acknowledgements,
//!   redeliveries and replies (queues).
//!
//! Their handlers recurse by nature (a call inside an attempt inside a
//! call), so they import each other; from outside, `flow` is one module.
//!
//! **Invariant:** an attempt moves into `Done` only in [`close`], exactly
//! once; `close` is what decrements its replica's outstanding count, takes
//! it out of the admission queue or releases its slot. Hence, at every
//! event: a replica's `outstanding` equals its attempts not yet closed, its
//! `queue_len` its queued attempts, its `in_flight` its running ones.

pub(crate) mod answer;
pub(crate) mod chaos;
pub(crate) mod generate;
pub(crate) mod messages;
pub(crate) mod platform;
pub(crate) mod send;
pub(crate) mod serve;
pub(crate) mod strand;

use super::event::Event;
use super::replica::ReplicaState;
use super::state::AttemptKey;
use super::state::{AttemptState, Cause, Outcome};
use super::world::World;

/// How an attempt closes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Close {
    /// It answers its caller: its endpoint finished or failed, or the
    /// replica refused or dropped it. `cause` is set for failures.
    Respond(Outcome, Option<Cause>),
    /// It ends without an answer: swallowed (a hang, a partition) or
    /// cancelled by its caller (`cancelled`).
    Drop { cancelled: bool },
}

/// Moves attempt `key` into `Done`: the one place that does.
pub(crate) fn close(w: &mut World, key: AttemptKey, how: Close) {
    let now = w.now();
    let a = w.attempts.get_mut(key).expect("a closing attempt is live");
    debug_assert!(a.state != AttemptState::Done, "an attempt closes once");
    let prev = std::mem::replace(&mut a.state, AttemptState::Done);
    let (replica, service, endpoint) = (a.replica, a.service, a.endpoint);
    if a.calls.is_some() {
        // Calls its endpoint left behind (wait: any, a failure, cancellation): abandoned.
        w.ready.push_back(Event::CallsAbandoned { attempt: key });
    }
    let respond = match how {
        Close::Respond(outcome, cause) => {
            debug_assert_eq!(outcome == Outcome::Ok, cause.is_none(), "a failure has a cause, a success none");
            a.outcome = outcome;
            a.cause = cause;
            a.responded = now;
            let (arrived, admitted, at_admission) = (a.arrived, a.admitted, a.in_flight_at_admission);
            if prev == AttemptState::Running {
                w.stats.attempt_completed(service, endpoint, outcome, now.since(arrived));
                w.fleet.replica_mut(replica).adm.limiter_sample(
                    now.since(admitted),
                    at_admission,
                    outcome != Outcome::Ok,
                );
            }
            true
        }
        Close::Drop { cancelled } => {
            if cancelled && prev == AttemptState::Running {
                w.stats.attempt_cancelled(service);
            }
            false
        }
    };
    w.fleet.replica_mut(replica).outstanding -= 1;
    match prev {
        AttemptState::Queued => serve::leave_queue(w, replica, service),
        AttemptState::Running => serve::release_slot(w, replica, service),
        AttemptState::Transit | AttemptState::Done => {}
    }
    if w.fleet.replica(replica).state == ReplicaState::Draining {
        let counted = w.counted_now();
        w.fleet.drained_if_idle(replica, now, counted);
    }
    let a = w.attempts.get_mut(key).expect("live");
    if respond && !a.orphan {
        a.response_pending = true;
        answer::send_response(w, key);
    } else {
        answer::release_if_idle(w, key);
    }
}
