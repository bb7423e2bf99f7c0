//! The simulated world: requests, calls, attempts, replicas and strands of
//! execution, driven by the engine's event queue.
//!
//! All mutable state lives in [`world::World`]. The modules form a DAG:
//! - leaves, which know nothing of the world and return outcomes:
//!   [`ids`], [`state`] (the records), [`event`], [`admission`] (slots and
//!   the admission queue), [`cpu`] (the execution seam), [`replica`] (a
//!   replica, the balancer), [`fleet`] (every replica and its life-cycle
//!   moves), [`retry`] (retry, hedge, breaker, budget and throttle
//!   decisions), [`faults`] (the chaos schedule's effects), [`arrivals`],
//!   [`chain`] (latency attribution), [`stats`], [`detect`] (findings judged
//!   per window), [`queues`] (messages, consumer groups, deliveries), the
//!   pure state machines [`resilience`] and [`autoscale`];
//! - [`world`]: the `World` struct of those parts;
//! - orchestrators over the world: [`flow`] (the attempt life cycle, the
//!   one owner of attempt state), [`pods`] (replica life cycles and the
//!   HPA), [`observe`] (intervals and the warm-up), [`finish`] (the
//!   [`RunResult`]), [`invariants`];
//! - this file: options, the main loop and the dispatch of events.
//!
//! Events at the current instant (a strand made runnable, a zero-latency
//! response) go to a FIFO `ready` list drained after each event, so
//! handlers never call each other re-entrantly through the queue.
//!
//! Not here: parsing (`spec`), I/O (`cli`), formatting (`report`).

mod admission;
mod arrivals;
mod autoscale;
mod chain;
mod cluster;
mod cpu;
mod detect;
mod event;
mod faults;
mod finish;
mod fleet;
mod flow;
mod ids;
mod inference;
mod inference_report;
mod invariants;
mod keyed;
mod observe;
mod options;
mod platform_report;
mod pods;
mod pods_report;
mod queues;
mod replica;
pub mod resilience;
mod retry;
mod scaling;
mod shared_cpu;
mod state;
mod stats;
pub mod trace;
mod world;

use crate::metrics::{RunResult, StopReason};
use crate::model::Model;
use event::Event;
pub(crate) use finish::stat_ms;
use flow::{answer, chaos, messages, platform, send, serve, strand};
use ids::WorkloadId;
pub use options::RunOptions;
use world::World;

/// Runs `model` once and returns its result.
pub fn run(model: &Model, opts: &RunOptions) -> RunResult {
    run_with_progress(model, opts, &mut |_| {})
}

/// Like [`run`], calling `progress` with the fraction of simulated time done
/// every so often (the CLI draws a bar with it).
pub fn run_with_progress(model: &Model, opts: &RunOptions, progress: &mut dyn FnMut(f64)) -> RunResult {
    let mut w = World::new(model, opts);
    let stopped_by = main_loop(&mut w, progress);
    w.finish(stopped_by)
}

/// Schedules what starts the run: first arrivals, closed-loop users, the
/// chaos schedule, the autoscalers.
fn start(w: &mut World) {
    for i in 0..w.m.workloads.len() {
        let wl = WorkloadId(i as u32);
        let st = &mut w.wl[i];
        if let Some(t) = arrivals::next_arrival(w.m, st, wl, crate::engine::SimTime::ZERO, w.end) {
            w.q.schedule_at(t, Event::ArrivalDue { wl });
        }
        if let crate::model::WorkloadKind::Closed { users, schedule: Some(_), .. } = w.m.workloads[i].kind {
            // A k6-style schedule: each user starts when the schedule reaches it.
            for user in 0..users {
                if let Some(t) = arrivals::user_active_from(w.m, wl, user, crate::engine::SimTime::ZERO) {
                    w.q.schedule_at(t, Event::UserWakes { wl, user });
                }
            }
        } else if let crate::model::WorkloadKind::Closed { users, .. } = w.m.workloads[i].kind {
            for user in 0..users {
                // Users start mid-think, so they do not all fire at t = 0.
                let d = arrivals::think(w.m, &mut w.wl[i], wl).expect("a closed loop thinks");
                w.q.schedule_after(d, Event::UserWakes { wl, user });
            }
        }
    }
    chaos::schedule(w);
    platform::start(w);
    // Replicas placed at time 0 are ready before anything arrives.
    while let Some(ev) = w.ready.pop_front() {
        dispatch(w, ev);
    }
    pods::start(w);
}

/// The main loop; returns what stopped it.
pub(crate) fn main_loop(w: &mut World, progress: &mut dyn FnMut(f64)) -> StopReason {
    start(w);
    let end = w.end;
    let mut next_progress: u64 = 1 << 20;
    let stop = loop {
        let Some(t) = w.q.peek_time() else {
            break StopReason::Duration; // nothing left to happen: the whole duration is covered
        };
        if t > end {
            break StopReason::Duration;
        }
        if w.count.events >= w.opts.max_events {
            break StopReason::MaxEvents;
        }
        if w.count.requests_in_flight >= w.opts.max_in_flight {
            break StopReason::MaxInFlight;
        }
        observe::advance(w, t);
        let (_, ev) = w.q.pop().expect("peeked an event");
        dispatch(w, ev);
        while let Some(ev) = w.ready.pop_front() {
            dispatch(w, ev);
        }
        if w.count.events >= next_progress {
            next_progress = w.count.events + (1 << 20);
            progress(w.now().0 as f64 / end.0.max(1) as f64);
        }
    };
    // Boundaries up to the end (or up to where a safety limit stopped it).
    let last = if stop == StopReason::Duration { end } else { w.now() };
    observe::advance(w, last);
    stop
}

#[inline]
fn dispatch(w: &mut World, ev: Event) {
    w.count.events += 1;
    let now = w.now();
    w.count.digest = (w.count.digest ^ now.0 ^ (ev.code() << 56)).wrapping_mul(0x0000_0100_0000_01B3);
    match ev {
        Event::ArrivalDue { wl } => {
            let st = &mut w.wl[wl.ix()];
            let attrs = st.trace.as_mut().and_then(|t| t.take_due());
            if let Some(t) = arrivals::next_arrival(w.m, st, wl, now, w.end) {
                w.q.schedule_at(t, Event::ArrivalDue { wl });
            }
            send::start_request_with(w, wl, None, attrs);
        }
        Event::UserWakes { wl, user } => match arrivals::user_active_from(w.m, wl, user, now) {
            Some(t) if t == now => send::start_request(w, wl, Some(user)),
            Some(t) => w.q.schedule_at(t, Event::UserWakes { wl, user }),
            None => {}
        },
        Event::AttemptArrives { attempt } => serve::on_attempt_arrives(w, attempt),
        Event::AttemptStarts { attempt } => serve::on_attempt_starts(w, attempt),
        Event::StrandReady { strand } => strand::run_strand(w, strand),
        Event::WorkDone { strand, replica } => serve::on_work_done(w, strand, replica),
        Event::DelayDone { strand } => strand::on_delay_done(w, strand),
        Event::ResponseArrives { attempt } => answer::on_response_arrives(w, attempt),
        Event::TimeoutFired { attempt } => answer::on_timeout(w, attempt),
        Event::QueueWaitExpired { attempt } => serve::on_queue_wait_expired(w, attempt),
        Event::RetryDue { call } => send::on_retry_due(w, call),
        Event::HedgeDue { call, made } => send::on_hedge_due(w, call, made),
        Event::CallTimedOut { call } => answer::on_call_timed_out(w, call),
        Event::FaultStarts { fault } => chaos::on_fault_starts(w, fault),
        Event::FaultEnds { fault } => {
            chaos::on_fault_ends(w, fault);
            if !w.queues.is_empty() {
                messages::all_consumers_changed(w);
            }
        }
        Event::PauseStarts { fault, replica } => chaos::on_pause_starts(w, fault, replica),
        Event::CallsAbandoned { attempt } => answer::on_calls_abandoned(w, attempt),
        Event::ReplicaReady { replica } => {
            pods::on_replica_ready(w, replica);
            messages::consumers_changed(w, w.fleet.replica(replica).service);
        }
        Event::HpaScrape { service } => pods::on_scrape(w, service),
        Event::HpaSync { service } => pods::on_sync(w, service),
        Event::PublishArrives { strand, publish } => messages::on_publish_arrives(w, strand, publish),
        Event::PublishAnswered { strand, publish, failure } => {
            messages::on_publish_answered(w, strand, publish, failure)
        }
        Event::VisibilityExpired { delivery } => messages::on_visibility_expired(w, delivery),
        Event::ReplyTimedOut { reply } => messages::on_reply_timed_out(w, reply),
        Event::BlockExpired { blocked } => messages::on_block_expired(w, blocked),
        Event::QuotaOut { replica, generation } => serve::on_quota_out(w, replica, generation),
        Event::Unblocked { replica } => serve::on_unblocked(w, replica),
        Event::NodeReady { node } => platform::on_node_ready(w, node),
        Event::NodeUnderused { node, mark } => platform::on_node_underused(w, node, mark),
        Event::OomCheck { replica } => platform::on_oom_check(w, replica),
        Event::MemoryPressure { node } => platform::on_memory_pressure(w, node),
        Event::ContainerRestarts { replica } => platform::on_container_restarts(w, replica),
        Event::SliceEnds { strand, replica } => serve::on_slice_ends(w, strand, replica),
        Event::IterationEnds { replica } => flow::generate::on_iteration_ends(w, replica),
        Event::ModelLoaded { replica } => flow::chaos::on_model_loaded(w, replica),
    }
    if !w.fleet.just_gone.is_empty() {
        platform::reap(w);
    }
    if w.opts.check_invariants {
        invariants::check(w);
    }
}

#[cfg(test)]
mod tests;
