//! Messages through queues: a `publish` step reaching the broker (accepted,
//! refused, dropped or blocked on a full queue), deliveries to the consumer
//! groups as consumers free up, a consumer's outcome (processed,
//! redelivered, dead-lettered, lost), visibility timeouts, and the reply a
//! request-reply publisher waits for. The state and the decisions are
//! [`super::super::queues`]'s; this file acts on them.
//!
//! A delivery runs the consumer endpoint as a call with no caller
//! ([`Parent::Message`]) on the replica the group picked, so a consumer's
//! work shares its replica's admission, cores and calls with everything
//! else the replica does.

use super::super::chain::Part;
use super::super::event::Event;
use super::super::ids::{ReplicaId, ServiceId};
use super::super::queues::{AfterFailure, Offer};
use super::super::replica::ReplicaState;
use super::super::state::{Blocked, BlockedKey, Delivery, DeliveryKey, Msg, ReplyKey, ReplyWait};
use super::super::state::{Call, Cause, Origin, Parent, StrandKey};
use super::super::world::World;
use super::{send, strand};
use crate::engine::SimDuration;
use crate::model::{Delivery as Mode, FailureKind, PublishId, QueueId, WhenFull};

/// One-way network latency between a service and the broker.
fn network(w: &mut World, q: QueueId) -> SimDuration {
    match w.m.network_latency {
        Some(d) => w.m.dist(d).sample(&mut w.queues.broker_rng[q.ix()]),
        None => SimDuration::ZERO,
    }
}

/// A strand reached a `publish` step: the message leaves for the broker.
pub(crate) fn start_publish(w: &mut World, key: StrandKey, p: PublishId) {
    let now = w.now();
    let q = w.m.publishes[p.ix()].queue;
    w.strands.get_mut(key).expect("a publishing strand is live").t0 = now;
    let mut d = network(w, q);
    if let Some(l) = w.m.queues[q.ix()].latency {
        d = d + w.m.dist(l).sample(&mut w.queues.broker_rng[q.ix()]);
    }
    w.after(d, Event::PublishArrives { strand: key, publish: p });
}

/// The message reaches the broker.
pub(crate) fn on_publish_arrives(w: &mut World, key: StrandKey, p: PublishId) {
    let q = w.m.publishes[p.ix()].queue;
    match w.queues.offer(w.m, q) {
        Offer::Accepted => accept(w, key, p),
        Offer::Full(WhenFull::Reject) => {
            w.queues.stats[q.ix()].rejected += u64::from(w.counted_now());
            for &g in &w.queues.of_queue[q.ix()] {
                w.queues.groups[g as usize].interval.rejected += 1;
            }
            answer(w, key, p, Some(FailureKind::Rejected));
        }
        Offer::Full(WhenFull::Drop) => {
            let counted = w.counted_now();
            let s = &mut w.queues.stats[q.ix()];
            s.published += u64::from(counted);
            s.dropped += u64::from(counted);
            answer(w, key, p, None);
        }
        Offer::Full(WhenFull::Block) => {
            let now = w.now();
            let b = w.queues.blocked.insert(Blocked { strand: key, publish: p, since: now });
            w.queues.waiting_publishers[q.ix()].push_back(b);
            if let Some(lane) = w.lanes.block[p.ix()] {
                w.arm(lane, Event::BlockExpired { blocked: b });
            }
        }
    }
}

/// The broker accepts the message of `key`'s publish `p`: into every
/// group of the queue; the publisher hears back (or waits for the reply).
fn accept(w: &mut World, key: StrandKey, p: PublishId) {
    let now = w.now();
    let publish = w.m.publishes[p.ix()];
    let q = publish.queue;
    let counted = w.counted_now();
    let attrs = w.strands.get(key).and_then(|s| w.attempts.get(s.attempt)).and_then(|a| a.attrs.clone());
    let key_value = publish.key.and_then(|k| attrs.as_deref().and_then(|v| v.get(k as usize)).copied());
    let partition = w.queues.partition(w.m, q, key_value);
    let reply: Option<ReplyKey> = match publish.reply {
        Some(_) if strand::strand_live(w, key) => {
            let r = w.queues.replies.insert(ReplyWait { strand: key, publish: p });
            if let Some(lane) = w.lanes.reply[p.ix()] {
                w.arm(lane, Event::ReplyTimedOut { reply: r });
            }
            Some(r)
        }
        _ => None,
    };
    w.queues.stats[q.ix()].published += u64::from(counted);
    let msg = Msg { accepted: now, extra: None, deliveries: 0, counted };
    w.queues.enqueue(q, partition, msg, attrs, reply);
    if publish.reply.is_none() {
        answer(w, key, p, None);
    }
    pump_queue(w, q);
}

/// The broker's answer travels back to the publisher of `p`: `None` when
/// the publish succeeded, else the kind of its failure.
fn answer(w: &mut World, key: StrandKey, p: PublishId, failure: Option<FailureKind>) {
    let d = network(w, w.m.publishes[p.ix()].queue);
    w.after(d, Event::PublishAnswered { strand: key, publish: p, failure });
}

/// The publisher hears how its publish ended and goes on (or fails).
pub(crate) fn on_publish_answered(w: &mut World, key: StrandKey, p: PublishId, failure: Option<FailureKind>) {
    if !w.strands.contains(key) {
        return; // freed already: its attempt ended
    }
    let publish = &w.m.publishes[p.ix()];
    let result = match failure {
        None => Ok(()),
        Some(kind) => Err(Cause { kind, origin: Origin::Queue(publish.queue) }),
    };
    let part = if publish.reply.is_some() { Part::Delay } else { Part::Network };
    strand::publish_returned(w, key, result, part);
}

/// A blocked publisher's timeout ran out: its publish fails as a timeout.
pub(crate) fn on_block_expired(w: &mut World, b: BlockedKey) {
    let Some(blocked) = w.queues.blocked.remove(b) else { return };
    let q = w.m.publishes[blocked.publish.ix()].queue;
    count_block(w, q, &blocked);
    answer(w, blocked.strand, blocked.publish, Some(FailureKind::Timeout));
}

fn count_block(w: &mut World, q: QueueId, b: &Blocked) {
    if w.counted_now() {
        let now = w.now();
        let s = &mut w.queues.stats[q.ix()];
        s.blocked += 1;
        s.blocked_ns += u128::from(now.since(b.since).0);
    }
}

/// Room was made in `q`: blocked publishers go in, in arrival order.
fn admit_blocked(w: &mut World, q: QueueId) {
    while w.queues.offer(w.m, q) == Offer::Accepted {
        let Some(b) = w.queues.waiting_publishers[q.ix()].pop_front() else { return };
        let Some(blocked) = w.queues.blocked.remove(b) else { continue }; // timed out already
        count_block(w, q, &blocked);
        accept(w, blocked.strand, blocked.publish);
    }
}

/// Delivers what the groups of `q` can take now.
fn pump_queue(w: &mut World, q: QueueId) {
    for i in 0..w.queues.of_queue[q.ix()].len() {
        let g = w.queues.of_queue[q.ix()][i];
        pump_group(w, g);
    }
}

/// The consumers of group `g`: the routable replicas of its service, none
/// while the service has an outage.
pub(crate) fn consumers(w: &World, g: u32) -> u64 {
    let grp = &w.queues.groups[g as usize];
    if w.faults.outage(grp.service).is_some() {
        return 0;
    }
    w.fleet.services[grp.service.ix()].ready.len() as u64 * u64::from(grp.concurrency)
}

/// Counts the consumer time of group `g` up to `at` (the busy share in the
/// results); returns its consumers now.
pub(crate) fn meter_consumers(w: &mut World, g: u32, at: crate::engine::SimTime) -> u64 {
    let n = consumers(w, g);
    let counting = at >= w.warmup;
    w.queues.meter(g, at, n, counting);
    n
}

/// Hands waiting messages of group `g` to its free consumers.
fn pump_group(w: &mut World, g: u32) {
    let now = w.now();
    w.queues.expire(w.m, g, now);
    if meter_consumers(w, g, now) == 0 {
        return;
    }
    let service = w.queues.groups[g as usize].service;
    loop {
        let ready = &w.fleet.services[service.ix()].ready;
        let Some((partition, mut msg, replica)) = w.queues.next_delivery(g, ready) else { return };
        msg.deliveries = msg.deliveries.saturating_add(1);
        deliver(w, g, partition, msg, replica);
    }
}

/// Runs the consumer endpoint of group `g` for `msg` on `replica`.
fn deliver(w: &mut World, g: u32, partition: u32, msg: Msg, replica: ReplicaId) {
    let now = w.now();
    let grp = &w.queues.groups[g as usize];
    let (q, index) = (grp.queue, grp.index as usize);
    let cfg = &w.m.queues[q.ix()];
    let endpoint = cfg.consumers[index].endpoint;
    let at_least_once = cfg.delivery == Mode::AtLeastOnce;
    let attrs = w.queues.attrs(&msg);
    let d = w.queues.deliveries.insert(Delivery {
        group: g,
        partition,
        msg,
        replica,
        expired: false,
        consumer_gone: false,
    });
    if at_least_once && let Some(lane) = w.lanes.visibility[q.ix()] {
        w.arm(lane, Event::VisibilityExpired { delivery: d });
    }
    let mut call = Call::new(Parent::Message(d), None, endpoint, now, msg.counted);
    call.attrs = attrs;
    let key = w.calls.insert(call);
    send::send_attempt(w, key, send::AttemptKind::First);
}

/// The replica a delivery's consumer runs on (its call's only attempt goes there).
pub(crate) fn delivery_replica(w: &World, d: DeliveryKey) -> ReplicaId {
    w.queues.deliveries.get(d).expect("a live delivery").replica
}

/// A consumer finished delivery `d`: `ok`, or failed.
pub(crate) fn on_consumed(w: &mut World, d: DeliveryKey, ok: bool) {
    let now = w.now();
    let Some(del) = w.queues.deliveries.get(d) else { return };
    let (g, replica) = (del.group, del.replica);
    let q = w.queues.groups[g as usize].queue;
    meter_consumers(w, g, now);
    let rep = w.fleet.replica(replica);
    let died = rep.down || rep.state == ReplicaState::Gone;
    let del = *w.queues.deliveries.get(d).expect("live");
    w.queues.consumer_free(&del);
    if del.expired {
        // Delivered again already; this outcome does not count.
        w.queues.deliveries.remove(d);
    } else if died && !ok && w.m.queues[q.ix()].delivery == Mode::AtLeastOnce {
        // Its consumer died with it: back after the visibility timeout.
        w.queues.deliveries.get_mut(d).expect("live").consumer_gone = true;
    } else {
        let del = w.queues.deliveries.remove(d).expect("live");
        w.queues.settle(&del);
        if ok {
            let reply = w.queues.reply_of(&del.msg);
            w.queues.processed(&del, now);
            send_reply(w, reply, None);
        } else {
            failed(w, &del);
        }
    }
    admit_blocked(w, q);
    pump_queue(w, q);
}

/// The message of `del` failed: redelivered, dead-lettered or lost.
fn failed(w: &mut World, del: &Delivery) {
    let now = w.now();
    let reply = w.queues.reply_of(&del.msg);
    match w.queues.after_failure(w.m, del, now) {
        AfterFailure::Redelivered => {}
        AfterFailure::DeadLettered | AfterFailure::Dropped => send_reply(w, reply, Some(FailureKind::Error)),
    }
}

/// A request-reply publisher hears the outcome of its message (once).
fn send_reply(w: &mut World, reply: Option<ReplyKey>, failure: Option<FailureKind>) {
    if let Some(r) = reply
        && let Some(wait) = w.queues.replies.remove(r)
    {
        answer(w, wait.strand, wait.publish, failure);
    }
}

/// A request-reply publisher's timeout ran out.
pub(crate) fn on_reply_timed_out(w: &mut World, r: ReplyKey) {
    if let Some(wait) = w.queues.replies.remove(r) {
        let (strand, publish) = (wait.strand, wait.publish);
        w.ready.push_back(Event::PublishAnswered { strand, publish, failure: Some(FailureKind::Timeout) });
    }
}

/// A delivery's visibility timeout passed before its consumer finished:
/// the message is delivered again (or dead-lettered after `max_deliveries`).
pub(crate) fn on_visibility_expired(w: &mut World, d: DeliveryKey) {
    let Some(del) = w.queues.deliveries.get_mut(d) else { return };
    if del.expired {
        return;
    }
    del.expired = true;
    let gone = del.consumer_gone;
    let g = del.group;
    let q = w.queues.groups[g as usize].queue;
    let now = w.now();
    meter_consumers(w, g, now);
    let del = if gone {
        w.queues.deliveries.remove(d).expect("live")
    } else {
        // The consumer goes on; its outcome will not count.
        let x = w.queues.deliveries.get(d).expect("live");
        Delivery { expired: false, consumer_gone: false, ..*x }
    };
    w.queues.settle(&del);
    failed(w, &del);
    admit_blocked(w, q);
    pump_queue(w, q);
}

/// Consumers may have appeared on `service` (a replica became ready or
/// came back, an outage ended): deliver what waits.
pub(crate) fn consumers_changed(w: &mut World, service: ServiceId) {
    if w.queues.is_empty() {
        return;
    }
    for i in 0..w.queues.of_service[service.ix()].len() {
        let g = w.queues.of_service[service.ix()][i];
        pump_group(w, g);
    }
}

/// Every group: after a fault ended (an outage, a crash's restart).
pub(crate) fn all_consumers_changed(w: &mut World) {
    for g in 0..w.queues.groups.len() as u32 {
        pump_group(w, g);
    }
}
