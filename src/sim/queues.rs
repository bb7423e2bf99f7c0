//! Queues and their consumer groups (`queues:`): the messages waiting per
//! partition, the deliveries in progress, the publishers blocked on a full
//! queue and those waiting for a reply — and the counts the results need.
//!
//! A leaf: it stores and decides (which partition, which consumer, is
//! there room, is a message dead-lettered), and never sends anything;
//! `flow::messages` turns its answers into calls, attempts and events.
//!
//! Memory follows the messages in the system: a waiting message is a
//! 16-byte [`Msg`] in its group's partition (one copy per consumer group);
//! request attributes or a reply it carries live once in a shared side
//! table, referenced by index and counted.

use super::ids::{ReplicaId, ServiceId};
use super::state::{Blocked, BlockedKey, Delivery, Msg, ReplyKey, ReplyWait};
use super::trace::Attrs;
use crate::engine::{RngStream, SimTime, Slab};
use crate::metrics::Hist;
use crate::model::{ConsumerMode, Delivery as DeliveryMode, Model, QueueId, WhenFull};
use std::collections::VecDeque;
use std::num::NonZeroU32;

/// What a few messages carry besides their time, shared by the groups.
struct Extra {
    attrs: Option<Attrs>,
    reply: Option<ReplyKey>,
    /// Groups still holding the message.
    refs: u32,
}

/// Counts of a consumer group (counted messages only) and its levels.
#[derive(Default)]
pub(crate) struct GroupStats {
    pub processed: u64,
    pub dead_lettered: u64,
    pub redelivered: u64,
    pub dropped: u64,
    pub depth_max: u64,
    pub lag_max_s: f64,
    pub ttp: Option<Hist>,
    /// Busy consumer time and consumer capacity (consumer·ns), since the warm-up.
    pub busy_ns: u128,
    pub capacity_ns: u128,
    /// When `busy`/`consumers` last changed.
    pub since: SimTime,
    /// Depth when the measured run was half over (backlog finding).
    pub depth_mid: Option<u64>,
    pub first_dlq: Option<SimTime>,
    pub last_dlq: SimTime,
}

/// Counts of one series interval, per group.
#[derive(Clone, Copy, Default)]
pub(crate) struct GroupInterval {
    pub published: u64,
    pub processed: u64,
    pub redelivered: u64,
    pub dead_lettered: u64,
    pub rejected: u64,
}

/// One consumer group's state.
pub(crate) struct Group {
    pub queue: QueueId,
    /// Index in the queue's `consumers`.
    pub index: u32,
    pub service: ServiceId,
    pub concurrency: u32,
    pub mode: ConsumerMode,
    /// Waiting messages per partition (one deque for a competing group).
    pub parts: Vec<VecDeque<Msg>>,
    /// Partitioned: a message of the partition is being processed.
    pub part_busy: Vec<bool>,
    pub waiting: u64,
    pub in_flight: u64,
    /// Deliveries in progress per replica (indexed by replica, grown on demand).
    pub busy: Vec<u32>,
    /// Round-robin start for competing consumers.
    pub rr: usize,
    pub stats: GroupStats,
    pub interval: GroupInterval,
}

impl Group {
    /// Messages waiting or being processed (the lag in messages).
    pub fn unfinished(&self) -> u64 {
        self.waiting + self.in_flight
    }

    pub fn busy_on(&self, r: ReplicaId) -> u32 {
        self.busy.get(r.ix()).copied().unwrap_or(0)
    }

    fn busy_mut(&mut self, r: ReplicaId) -> &mut u32 {
        if self.busy.len() <= r.ix() {
            self.busy.resize(r.ix() + 1, 0);
        }
        &mut self.busy[r.ix()]
    }

    /// The oldest waiting message's acceptance time.
    pub fn oldest(&self) -> Option<SimTime> {
        self.parts.iter().filter_map(|p| p.front().map(|m| m.accepted)).min()
    }

    /// Seconds the oldest waiting message has waited at `now` (0 if none).
    pub fn lag_s(&self, now: SimTime) -> f64 {
        self.oldest().map_or(0.0, |t| now.since(t).as_secs_f64())
    }

    fn part_of(&self, partition: u32) -> usize {
        if self.mode == ConsumerMode::Partitioned { partition as usize } else { 0 }
    }
}

/// Per queue: counts over all groups, and the publishers waiting.
#[derive(Default)]
pub(crate) struct QueueStats {
    pub published: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub blocked: u64,
    pub blocked_ns: u128,
    pub ttp: Option<Hist>,
}

/// Every queue's state.
pub(crate) struct Queues {
    pub groups: Vec<Group>,
    /// Per queue: its groups' indices into `groups`.
    pub of_queue: Vec<Vec<u32>>,
    /// Per service: the groups it consumes for.
    pub of_service: Vec<Vec<u32>>,
    pub stats: Vec<QueueStats>,
    /// Per queue: the partition draws, and the broker's latency draws.
    rng: Vec<RngStream>,
    pub broker_rng: Vec<RngStream>,
    extras: Vec<Extra>,
    free_extras: Vec<u32>,
    pub deliveries: Slab<Delivery>,
    pub replies: Slab<ReplyWait>,
    pub blocked: Slab<Blocked>,
    /// Per queue: blocked publishers in arrival order (stale keys skipped).
    pub waiting_publishers: Vec<VecDeque<BlockedKey>>,
}

/// What the broker does with a message offered to a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    Accepted,
    /// Full: refused (`reject`), to wait (`block`) or discarded (`drop`).
    Full(WhenFull),
}

/// What happens to a delivered message whose processing failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Back in its partition for another delivery.
    Redelivered,
    DeadLettered,
    /// Lost (`at_most_once`).
    Dropped,
}

impl Queues {
    pub fn new(m: &Model, seed: u64) -> Self {
        let mut groups = Vec::new();
        let mut of_queue = Vec::new();
        let mut of_service = vec![Vec::new(); m.services.len()];
        for (qi, q) in m.queues.iter().enumerate() {
            let mut mine = Vec::new();
            for (ci, c) in q.consumers.iter().enumerate() {
                let n = if c.mode == ConsumerMode::Partitioned { q.partitions as usize } else { 1 };
                let g = groups.len() as u32;
                mine.push(g);
                of_service[c.service.ix()].push(g);
                groups.push(Group {
                    queue: QueueId(qi as u32),
                    index: ci as u32,
                    service: c.service,
                    concurrency: c.concurrency,
                    mode: c.mode,
                    parts: vec![VecDeque::new(); n],
                    part_busy: vec![false; n],
                    waiting: 0,
                    in_flight: 0,
                    busy: Vec::new(),
                    rr: 0,
                    stats: GroupStats { ttp: Some(Hist::new(3)), ..GroupStats::default() },
                    interval: GroupInterval::default(),
                });
            }
            of_queue.push(mine);
        }
        Queues {
            groups,
            of_queue,
            of_service,
            stats: m.queues.iter().map(|_| QueueStats { ttp: Some(Hist::new(3)), ..QueueStats::default() }).collect(),
            rng: m.queues.iter().map(|q| RngStream::derive(seed, "partition", &q.name)).collect(),
            broker_rng: m.queues.iter().map(|q| RngStream::derive(seed, "broker", &q.name)).collect(),
            extras: Vec::new(),
            free_extras: Vec::new(),
            deliveries: Slab::new(),
            replies: Slab::new(),
            blocked: Slab::new(),
            waiting_publishers: m.queues.iter().map(|_| VecDeque::new()).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// Would the queue take one more message? Every group must have room.
    pub fn offer(&self, m: &Model, q: QueueId) -> Offer {
        let cfg = &m.queues[q.ix()];
        match cfg.capacity {
            Some(cap) if self.of_queue[q.ix()].iter().any(|&g| self.groups[g as usize].unfinished() >= cap) => {
                Offer::Full(cfg.when_full)
            }
            _ => Offer::Accepted,
        }
    }

    /// The partition of a new message: by the hash of its key attribute's
    /// value, else uniformly at random.
    pub fn partition(&mut self, m: &Model, q: QueueId, key_value: Option<f64>) -> u32 {
        let n = m.queues[q.ix()].partitions;
        match key_value {
            Some(v) => (fnv(v.to_bits()) % u64::from(n)) as u32,
            None if n == 1 => 0,
            None => (self.rng[q.ix()].unit() * f64::from(n)).min(f64::from(n - 1)) as u32,
        }
    }

    /// Stores an accepted message in every group of `q`; returns the
    /// groups it went to. `reply` is the publisher waiting for a result.
    pub fn enqueue(&mut self, q: QueueId, partition: u32, msg: Msg, attrs: Option<Attrs>, reply: Option<ReplyKey>) {
        let groups = &self.of_queue[q.ix()];
        let mut msg = msg;
        if (attrs.is_some() || reply.is_some()) && !groups.is_empty() {
            let e = Extra { attrs, reply, refs: groups.len() as u32 };
            let i = match self.free_extras.pop() {
                Some(i) => {
                    self.extras[i as usize] = e;
                    i
                }
                None => {
                    self.extras.push(e);
                    (self.extras.len() - 1) as u32
                }
            };
            msg.extra = NonZeroU32::new(i + 1);
        }
        for &g in groups {
            let g = &mut self.groups[g as usize];
            let p = g.part_of(partition);
            g.parts[p].push_back(msg);
            g.waiting += 1;
            g.stats.depth_max = g.stats.depth_max.max(g.waiting);
            g.interval.published += 1;
        }
    }

    pub fn attrs(&self, msg: &Msg) -> Option<Attrs> {
        msg.extra.and_then(|i| self.extras[i.get() as usize - 1].attrs.clone())
    }

    pub fn reply_of(&self, msg: &Msg) -> Option<ReplyKey> {
        msg.extra.and_then(|i| self.extras[i.get() as usize - 1].reply)
    }

    /// A group is done with a message (processed, dead-lettered, dropped):
    /// its share of the side table is released.
    pub fn release(&mut self, msg: &Msg) {
        if let Some(i) = msg.extra {
            let ix = i.get() as usize - 1;
            let e = &mut self.extras[ix];
            e.refs -= 1;
            if e.refs == 0 {
                e.attrs = None;
                e.reply = None;
                self.free_extras.push(ix as u32);
            }
        }
    }

    /// Takes the next message a consumer of group `g` may process now and
    /// the replica to run it on, among `ready` (the consumer service's
    /// routable replicas). `None` when nothing waits or no consumer is free.
    pub fn next_delivery(&mut self, g: u32, ready: &[ReplicaId]) -> Option<(u32, Msg, ReplicaId)> {
        let grp = &mut self.groups[g as usize];
        if grp.waiting == 0 || ready.is_empty() {
            return None;
        }
        let conc = grp.concurrency;
        let (p, replica) = match grp.mode {
            ConsumerMode::Competing => {
                let n = ready.len();
                let k = (0..n).map(|i| (grp.rr + i) % n).find(|&i| grp.busy_on(ready[i]) < conc)?;
                grp.rr = (k + 1) % n;
                (0, ready[k])
            }
            ConsumerMode::Partitioned => {
                // Partitions are dealt round-robin over the consumers
                // (replica-major: consumer j is slot j % conc of replica
                // j / conc); consumer j handles one message at a time.
                let consumers = ready.len() * conc as usize;
                let mut found = None;
                for (p, q) in grp.parts.iter().enumerate() {
                    if q.is_empty() || grp.part_busy[p] {
                        continue;
                    }
                    let j = p % consumers;
                    let replica = ready[j / conc as usize];
                    // The consumer is busy if one of its partitions is.
                    let busy = (j..grp.parts.len()).step_by(consumers).any(|o| grp.part_busy[o]);
                    if !busy {
                        found = Some((p, replica));
                        break;
                    }
                }
                found?
            }
        };
        let msg = grp.parts[p].pop_front().expect("a waiting message");
        grp.waiting -= 1;
        grp.in_flight += 1;
        grp.part_busy[p] = grp.mode == ConsumerMode::Partitioned;
        *grp.busy_mut(replica) += 1;
        Some((p as u32, msg, replica))
    }

    /// The consumer of `d` is free again (it finished, failed, or died).
    pub fn consumer_free(&mut self, d: &Delivery) {
        let b = self.groups[d.group as usize].busy_mut(d.replica);
        *b = b.saturating_sub(1);
    }

    /// The message of `d` is no longer being processed (it ended, or its
    /// visibility timeout passed): its partition may deliver again.
    pub fn settle(&mut self, d: &Delivery) {
        let g = &mut self.groups[d.group as usize];
        g.in_flight -= 1;
        let p = g.part_of(d.partition);
        g.part_busy[p] = false;
    }

    /// The message of `d` failed (or its visibility timeout passed): what
    /// becomes of it under the queue's delivery mode and `max_deliveries`.
    /// A redelivered message goes back to the front of its partition.
    pub fn after_failure(&mut self, m: &Model, d: &Delivery, now: SimTime) -> AfterFailure {
        let g = &mut self.groups[d.group as usize];
        let cfg = &m.queues[g.queue.ix()];
        let counted = d.msg.counted;
        let verdict = if cfg.delivery == DeliveryMode::AtMostOnce {
            AfterFailure::Dropped
        } else if u32::from(d.msg.deliveries) >= cfg.max_deliveries {
            AfterFailure::DeadLettered
        } else {
            AfterFailure::Redelivered
        };
        match verdict {
            AfterFailure::Redelivered => {
                let p = g.part_of(d.partition);
                g.parts[p].push_front(d.msg);
                g.waiting += 1;
                g.stats.depth_max = g.stats.depth_max.max(g.waiting);
                if counted {
                    g.stats.redelivered += 1;
                }
                g.interval.redelivered += 1;
            }
            AfterFailure::DeadLettered => {
                if counted {
                    g.stats.dead_lettered += 1;
                    g.stats.first_dlq.get_or_insert(now);
                    g.stats.last_dlq = now;
                }
                g.interval.dead_lettered += 1;
            }
            AfterFailure::Dropped => {
                if counted {
                    g.stats.dropped += 1;
                }
            }
        }
        if verdict != AfterFailure::Redelivered {
            let msg = d.msg;
            self.release(&msg);
        }
        verdict
    }

    /// The message of `d` was processed successfully at `now`.
    pub fn processed(&mut self, d: &Delivery, now: SimTime) {
        let g = &mut self.groups[d.group as usize];
        g.interval.processed += 1;
        if d.msg.counted {
            g.stats.processed += 1;
            let t = now.since(d.msg.accepted).0;
            if let Some(h) = &mut g.stats.ttp {
                h.record(t);
            }
            if let Some(h) = &mut self.stats[g.queue.ix()].ttp {
                h.record(t);
            }
        }
        let msg = d.msg;
        self.release(&msg);
    }

    /// Discards waiting messages of `g` older than the queue's `retention`.
    pub fn expire(&mut self, m: &Model, g: u32, now: SimTime) {
        let grp = &mut self.groups[g as usize];
        let Some(ret) = m.queues[grp.queue.ix()].retention else { return };
        let mut gone = Vec::new();
        for part in &mut grp.parts {
            while part.front().is_some_and(|msg| now.since(msg.accepted) > ret) {
                let msg = part.pop_front().expect("front");
                grp.waiting -= 1;
                if msg.counted {
                    grp.stats.dropped += 1;
                }
                gone.push(msg);
            }
        }
        for msg in gone {
            self.release(&msg);
        }
    }

    /// Messages waiting or being processed in the queues `service` consumes.
    pub fn lag_of(&self, service: ServiceId) -> u64 {
        self.of_service.get(service.ix()).map_or(0, |gs| gs.iter().map(|&g| self.groups[g as usize].unfinished()).sum())
    }

    /// Consumer-time accounting: `consumers` consumers of group `g` existed
    /// since the last change; call before the count or the busy total changes.
    pub fn meter(&mut self, g: u32, now: SimTime, consumers: u64, counting: bool) {
        let grp = &mut self.groups[g as usize];
        let dt = now.since(grp.stats.since).0 as u128;
        if counting {
            grp.stats.busy_ns += dt * u128::from(grp.in_flight.min(consumers));
            grp.stats.capacity_ns += dt * u128::from(consumers);
        }
        grp.stats.since = now;
    }

    /// The warm-up ends: counts restart (levels stay).
    pub fn warmup_ends(&mut self, now: SimTime) {
        for g in &mut self.groups {
            let ttp = g.stats.ttp.take().map(|mut h| {
                h.reset();
                h
            });
            g.stats = GroupStats { ttp, depth_max: g.waiting, since: now, ..GroupStats::default() };
        }
        for s in &mut self.stats {
            let ttp = s.ttp.take().map(|mut h| {
                h.reset();
                h
            });
            *s = QueueStats { ttp, ..QueueStats::default() };
        }
    }

    /// Mean wait of the publishers that blocked on `q`, for the results.
    pub fn blocked_ms_mean(&self, q: QueueId) -> Option<f64> {
        let s = &self.stats[q.ix()];
        (s.blocked > 0).then(|| s.blocked_ns as f64 / s.blocked as f64 / 1e6)
    }
}

/// FNV-1a over the 8 bytes of a key attribute's value: its partition.
fn fnv(x: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in x.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_stays_16_bytes() {
        assert_eq!(std::mem::size_of::<Msg>(), 16);
    }

    #[test]
    fn a_key_always_picks_the_same_partition() {
        let a = fnv(42f64.to_bits()) % 6;
        assert_eq!(a, fnv(42f64.to_bits()) % 6);
        let spread: std::collections::BTreeSet<u64> = (0..100).map(|k| fnv(f64::from(k).to_bits()) % 6).collect();
        assert_eq!(spread.len(), 6, "100 keys reach every one of 6 partitions");
    }
}
