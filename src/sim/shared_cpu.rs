//! A node's cores shared by the replicas placed on it, each running at
//! most its `cpus` work steps at once (its threads), each optionally under
//! a CFS quota (a CPU limit). The executor behind [`super::cpu::Cpu::Shared`].
//!
//! **Discipline: first come, first served in slices of [`SLICE`] (3 ms,
//! the base slice of Linux's EEVDF scheduler, CFS's minimum granularity).**
//! A free core goes to the waiting work step that asked first, among the
//! replicas that may run one more (fewer running than their threads, not
//! throttled, not paused). A step that has run a whole slice while another
//! replica's step waits for a core goes to the back of the line (round
//! robin). Why: a request's work step is a CPU burst of a few
//! milliseconds, mostly shorter than a slice, so a core runs it to its end
//! as FCFS does (two events per step; processor sharing would move every
//! running step's end at every arrival); but a batch job's step of a
//! second must not hold a core for a second while a neighbour's 1 ms step
//! waits — the kernel would not let it, and a noisy neighbour would look
//! far noisier than it is. Slices make long steps share the cores as the
//! kernel does, at one event per slice of a long step, and only while
//! someone waits. For exponential work every such discipline gives M/M/c's
//! mean; they differ in the spread of long steps.
//!
//! **CFS quota.** A replica with a CPU limit may use `limit × period` of CPU
//! per period over all its threads; periods start at a phase of its own.
//! When a replica's running steps use up the quota, they leave their cores
//! (which go to other replicas' waiting steps) and wait, with the rest of
//! its work, for the next period; then they compete for cores again, ahead
//! of later work (they asked first). The moment the quota runs out is
//! predicted from the number of its steps running and re-predicted at every
//! change; the prediction carries a generation, so stale ones are ignored.
//! A pause (GC) blocks a replica the same way, for its length.
//!
//! Every time a step spends waiting is split three ways: waiting for a core
//! (`queued`), blocked by the quota (`throttled`), blocked by a pause
//! (counted as CPU time, as a pause stretches a step on dedicated cores).
//!
//! A leaf: it answers what starts, what was suspended and what to schedule;
//! the caller (`flow::serve`) schedules and counts.

use super::ids::ReplicaId;
use super::state::StrandKey;
use crate::engine::{SimDuration, SimTime};
use std::collections::VecDeque;

/// The time slice after which a running step yields its core to a waiting one.
pub(crate) const SLICE: u64 = 3_000_000;

/// A replica's CFS bandwidth: `per_period` ns of CPU per `period` ns, its
/// periods starting at `phase` (mod `period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QuotaCfg {
    pub per_period: u64,
    pub period: u64,
    pub phase: u64,
}

impl QuotaCfg {
    /// Index of the period holding `t`.
    #[inline]
    fn ix(&self, t: u64) -> u64 {
        (t + self.period - self.phase) / self.period
    }

    /// End of period `ix` (the start of the next).
    #[inline]
    fn end(&self, ix: u64) -> u64 {
        ix * self.period + self.phase
    }
}

#[derive(Clone, Copy, Debug)]
struct Quota {
    cfg: QuotaCfg,
    /// CPU used in period `ix`.
    used: u64,
    ix: u64,
    /// Generation of the exhaustion prediction in force.
    generation: u32,
    /// Last period in which the replica ran something (cgroup `nr_periods`).
    last_active: Option<u64>,
}

/// A work step, waiting or running.
#[derive(Clone, Copy, Debug)]
struct Task {
    strand: StrandKey,
    queued_at: SimTime,
    /// CPU time still needed (at `since` when waiting; at `seg` when running).
    remaining: u64,
    /// Order of asking, node-wide.
    seq: u64,
    /// When it first got a core.
    first: Option<SimTime>,
    /// Waiting: since when, and the member's blocked counters then.
    since: SimTime,
    thr_mark: u64,
    pause_mark: u64,
    /// Running: when this run began and when it ends.
    seg: SimTime,
    done_at: SimTime,
    /// Running: when its slice ends (a check is scheduled then), if before `done_at`.
    slice_end: SimTime,
    /// Time so far waiting for a core, and blocked by the quota.
    queued: u64,
    throttled: u64,
}

/// A block on a replica: nothing of it runs before `until`; the part before
/// `throttle_end` is throttling, the rest a pause.
#[derive(Clone, Copy, Debug)]
struct Block {
    from: SimTime,
    throttle_end: SimTime,
    until: SimTime,
}

/// One replica placed on the node.
pub(crate) struct Member {
    pub replica: ReplicaId,
    threads: u32,
    running: Vec<Task>,
    waiting: VecDeque<Task>,
    quota: Option<Quota>,
    block: Option<Block>,
    last: SimTime,
    /// Core-nanoseconds used, nanoseconds throttled and paused (blocks that
    /// ended), CFS periods with work and periods throttled.
    pub cpu_ns: u64,
    pub throttled_ns: u64,
    pause_ns: u64,
    pub periods: u64,
    pub throttled_periods: u64,
    live: bool,
}

impl Member {
    /// Steps running now.
    pub fn running(&self) -> u32 {
        self.running.len() as u32
    }

    /// Throttled nanoseconds including the block in progress up to `now`.
    pub fn throttled_until(&self, now: SimTime) -> u64 {
        match self.block {
            Some(b) => self.throttled_ns + now.min(b.throttle_end).since(b.from).0,
            None => self.throttled_ns,
        }
    }

    /// Paused nanoseconds including the block in progress up to `now`.
    fn paused_until(&self, now: SimTime) -> u64 {
        match self.block {
            Some(b) => self.pause_ns + now.since(b.throttle_end.max(b.from)).0,
            None => self.pause_ns,
        }
    }

    fn account(&mut self, now: SimTime) {
        let k = self.running.len() as u64;
        let dt = now.since(self.last).0;
        self.cpu_ns += k * dt;
        if let Some(q) = &mut self.quota {
            let ix = q.cfg.ix(now.0);
            if k > 0 {
                let from = q.cfg.ix(self.last.0);
                let fresh = u64::from(q.last_active != Some(from));
                self.periods += fresh + (ix - from);
                q.last_active = Some(ix);
            }
            if ix == q.ix {
                q.used += k * dt;
            } else {
                q.ix = ix;
                q.used = k * (now.0 - (q.cfg.end(ix) - q.cfg.period)).min(dt);
            }
        }
        self.last = now;
    }

    /// When the quota runs out if nothing changes (a new generation).
    fn predict(&mut self, now: SimTime) -> Option<QuotaOut> {
        let k = self.running.len() as u64;
        let blocked = self.block.is_some();
        let q = self.quota.as_mut()?;
        q.generation = q.generation.wrapping_add(1);
        if k == 0 || blocked {
            return None;
        }
        let rem = q.cfg.per_period.saturating_sub(q.used);
        let end = q.cfg.end(q.ix);
        let t1 = now.0 + rem.div_ceil(k);
        let at = if t1 < end {
            t1
        } else if k * q.cfg.period > q.cfg.per_period {
            end + q.cfg.per_period.div_ceil(k)
        } else {
            return None;
        };
        Some(QuotaOut { replica: self.replica, generation: q.generation, at: SimTime(at) })
    }

    /// Takes every running step off its core, back to the front of the
    /// waiting line (in the order they asked). Returns how many.
    fn suspend(&mut self, now: SimTime) -> u32 {
        self.running.sort_unstable_by_key(|t| t.seq);
        let n = self.running.len() as u32;
        while let Some(mut t) = self.running.pop() {
            t.remaining = t.done_at.since(now).0;
            t.since = now;
            t.thr_mark = self.throttled_ns;
            t.pause_mark = self.pause_ns;
            self.waiting.push_front(t);
        }
        n
    }
}

/// Does this strand still want its step? (A strand of an attempt that
/// ended, or of a resolved join, does not.)
pub(crate) type Live<'a> = &'a dyn Fn(StrandKey) -> bool;

/// A step that got a core: schedule its end at `done_at`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeStart {
    pub strand: StrandKey,
    pub replica: ReplicaId,
    pub done_at: SimTime,
}

/// Schedule a check at `at`: the replica's quota runs out then, unless the
/// generation moved on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QuotaOut {
    pub replica: ReplicaId,
    pub generation: u32,
    pub at: SimTime,
}

/// What an operation on the node caused, for the caller to schedule and count.
#[derive(Default, Debug)]
pub(crate) struct Effects {
    pub starts: Vec<NodeStart>,
    pub quota: Vec<QuotaOut>,
    /// Replicas whose steps left their cores (how many), blocked until a time
    /// (schedule the unblocking then).
    pub suspended: Vec<(ReplicaId, u32)>,
    pub unblock_at: Vec<(ReplicaId, SimTime)>,
    /// Slices that end before their step is done: check then.
    pub slices: Vec<(StrandKey, ReplicaId, SimTime)>,
    /// Waiting steps whose strand no longer wants them (dropped unstarted).
    pub dropped: Vec<StrandKey>,
}

impl Effects {
    pub fn clear(&mut self) {
        self.starts.clear();
        self.quota.clear();
        self.suspended.clear();
        self.unblock_at.clear();
        self.slices.clear();
        self.dropped.clear();
    }
}

/// How a finished step spent its time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Finished {
    pub queued_at: SimTime,
    /// When it first got a core.
    pub started: SimTime,
    /// Waiting for a core, and blocked by the quota.
    pub queued: SimDuration,
    pub throttled: SimDuration,
}

/// A node's cores and the replicas on it.
pub(crate) struct Node {
    cores: u32,
    busy: u32,
    seq: u64,
    members: Vec<Member>,
    free: Vec<u32>,
}

impl Node {
    pub fn new(cores: u32) -> Node {
        Node { cores, busy: 0, seq: 0, members: Vec::new(), free: Vec::new() }
    }

    pub fn cores(&self) -> u32 {
        self.cores
    }

    /// Cores in use.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    pub fn member(&self, slot: u32) -> &Member {
        &self.members[slot as usize]
    }

    /// A free core while a replica that may run a step has one waiting
    /// (never true after an operation: the invariants check it).
    pub fn idle_with_work(&self) -> bool {
        self.busy < self.cores
            && self
                .members
                .iter()
                .any(|m| m.live && m.block.is_none() && (m.running.len() as u32) < m.threads && !m.waiting.is_empty())
    }

    /// Steps on cores over the members (equals `busy`; invariants).
    pub fn running_total(&self) -> u32 {
        self.members.iter().filter(|m| m.live).map(|m| m.running.len() as u32).sum()
    }

    /// Members running more steps than their threads (invariants).
    pub fn over_threads(&self) -> Option<ReplicaId> {
        self.members.iter().find(|m| m.live && m.running.len() as u32 > m.threads).map(|m| m.replica)
    }

    /// Places a replica on the node: its slot.
    pub fn join(&mut self, now: SimTime, replica: ReplicaId, threads: u32, quota: Option<QuotaCfg>) -> u32 {
        let m = Member {
            replica,
            threads: threads.max(1),
            running: Vec::new(),
            waiting: VecDeque::new(),
            quota: quota.map(|cfg| Quota { cfg, used: 0, ix: cfg.ix(now.0), generation: 0, last_active: None }),
            block: None,
            last: now,
            cpu_ns: 0,
            throttled_ns: 0,
            pause_ns: 0,
            periods: 0,
            throttled_periods: 0,
            live: true,
        };
        match self.free.pop() {
            Some(s) => {
                self.members[s as usize] = m;
                s
            }
            None => {
                self.members.push(m);
                (self.members.len() - 1) as u32
            }
        }
    }

    /// The replica leaves (evicted, gone, its node down): its steps are
    /// dropped (the strands returned), its cores go to others. Read its
    /// counters before.
    pub fn leave(&mut self, now: SimTime, slot: u32, live: Live, fx: &mut Effects) -> Vec<StrandKey> {
        let m = &mut self.members[slot as usize];
        m.account(now);
        let running = m.running.len() as u32;
        let mut strands: Vec<StrandKey> = m.running.drain(..).map(|t| t.strand).collect();
        strands.extend(m.waiting.drain(..).map(|t| t.strand));
        if let Some(q) = &mut m.quota {
            q.generation = q.generation.wrapping_add(1);
        }
        m.block = None;
        m.live = false;
        self.busy -= running;
        if running > 0 {
            fx.suspended.push((m.replica, running));
        }
        self.free.push(slot);
        self.dispatch(now, live, fx);
        strands
    }

    /// Member counters brought up to `now` (CPU used, throttled incl. a block in progress).
    pub fn counters(&mut self, now: SimTime, slot: u32) -> (u64, u64, u64, u64) {
        let m = &mut self.members[slot as usize];
        m.account(now);
        (m.cpu_ns, m.throttled_until(now), m.periods, m.throttled_periods)
    }

    /// A step asks for a core.
    pub fn submit(
        &mut self,
        now: SimTime,
        slot: u32,
        strand: StrandKey,
        demand: SimDuration,
        live: Live,
        fx: &mut Effects,
    ) {
        self.seq += 1;
        let m = &mut self.members[slot as usize];
        m.waiting.push_back(Task {
            strand,
            queued_at: now,
            remaining: demand.0,
            seq: self.seq,
            first: None,
            since: now,
            // A step that asks during a block waits only its rest.
            thr_mark: m.throttled_until(now),
            pause_mark: m.paused_until(now),
            seg: now,
            done_at: now,
            slice_end: now,
            queued: 0,
            throttled: 0,
        });
        self.dispatch(now, live, fx);
    }

    /// A `WorkDone` for `strand` fired: `None` when it is stale (the step was
    /// suspended or moved since; a newer event stands for it).
    pub fn complete(
        &mut self,
        now: SimTime,
        slot: u32,
        strand: StrandKey,
        live: Live,
        fx: &mut Effects,
    ) -> Option<Finished> {
        let m = &mut self.members[slot as usize];
        if !m.live {
            return None;
        }
        let i = m.running.iter().position(|t| t.strand == strand && t.done_at == now)?;
        m.account(now);
        let t = m.running.swap_remove(i);
        self.busy -= 1;
        if let Some(q) = m.predict(now) {
            fx.quota.push(q);
        }
        self.dispatch(now, live, fx);
        Some(Finished {
            queued_at: t.queued_at,
            started: t.first.unwrap_or(now),
            queued: SimDuration(t.queued),
            throttled: SimDuration(t.throttled),
        })
    }

    /// Is a step of some replica waiting for a core it may take?
    fn someone_waits(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.live && m.block.is_none() && (m.running.len() as u32) < m.threads && !m.waiting.is_empty())
    }

    /// The slice of `strand`'s step on member `slot` ends: if the node's
    /// cores are all taken and a step waits, it goes to the back of the
    /// line; else it runs another slice.
    pub fn slice_ends(&mut self, now: SimTime, slot: u32, strand: StrandKey, live: Live, fx: &mut Effects) {
        let m = &self.members[slot as usize];
        if !m.live {
            return;
        }
        let Some(i) = m.running.iter().position(|t| t.strand == strand && t.slice_end == now && t.done_at > now) else {
            return;
        };
        if self.busy < self.cores || !self.someone_waits() {
            let m = &mut self.members[slot as usize];
            let t = &mut m.running[i];
            t.slice_end = t.done_at;
            if t.done_at.since(now).0 > SLICE {
                t.slice_end = now + SimDuration(SLICE);
                fx.slices.push((strand, m.replica, t.slice_end));
            }
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let m = &mut self.members[slot as usize];
        m.account(now);
        let mut t = m.running.swap_remove(i);
        t.remaining = t.done_at.since(now).0;
        t.since = now;
        t.thr_mark = m.throttled_ns;
        t.pause_mark = m.pause_ns;
        t.seq = seq;
        m.waiting.push_back(t);
        self.busy -= 1;
        fx.suspended.push((m.replica, 1));
        if let Some(q) = m.predict(now) {
            fx.quota.push(q);
        }
        self.dispatch(now, live, fx);
    }

    /// The quota check of `replica` at `slot` fired.
    pub fn quota_out(&mut self, now: SimTime, slot: u32, generation: u32, live: Live, fx: &mut Effects) {
        let m = &mut self.members[slot as usize];
        if !m.live || m.quota.is_none_or(|q| q.generation != generation) || m.block.is_some() {
            return;
        }
        m.account(now);
        let q = m.quota.as_ref().expect("checked");
        let until = SimTime(q.cfg.end(q.ix));
        m.throttled_periods += 1;
        self.block(now, slot, Block { from: now, throttle_end: until, until }, live, fx);
    }

    /// Blocks member `slot` (accounted up to `now`): its running steps leave
    /// their cores until `block.until`, its quota prediction is void.
    fn block(&mut self, now: SimTime, slot: u32, block: Block, live: Live, fx: &mut Effects) {
        let m = &mut self.members[slot as usize];
        m.block = Some(block);
        if let Some(q) = &mut m.quota {
            q.generation = q.generation.wrapping_add(1);
        }
        let n = m.suspend(now);
        self.busy -= n;
        if n > 0 {
            fx.suspended.push((m.replica, n));
        }
        fx.unblock_at.push((m.replica, block.until));
        self.dispatch(now, live, fx);
    }

    /// A pause of `len` begins on member `slot`: nothing of it runs meanwhile.
    pub fn pause(&mut self, now: SimTime, slot: u32, len: SimDuration, live: Live, fx: &mut Effects) {
        let m = &mut self.members[slot as usize];
        if !m.live || len.0 == 0 {
            return;
        }
        m.account(now);
        let until = now + len;
        match &mut m.block {
            Some(b) => {
                if until > b.until {
                    b.until = until;
                    fx.unblock_at.push((m.replica, until));
                }
            }
            None => self.block(now, slot, Block { from: now, throttle_end: now, until }, live, fx),
        }
    }

    /// The block on member `slot` may end now (stale unless it ends now).
    pub fn unblock(&mut self, now: SimTime, slot: u32, live: Live, fx: &mut Effects) {
        let m = &mut self.members[slot as usize];
        let Some(b) = m.block else { return };
        if !m.live || b.until != now {
            return;
        }
        m.account(now);
        m.throttled_ns += b.throttle_end.min(now).since(b.from).0;
        m.pause_ns += now.since(b.throttle_end.min(now)).0;
        m.block = None;
        self.dispatch(now, live, fx);
    }

    /// Gives free cores to the waiting steps that asked first, among the
    /// replicas that may run one more; then re-predicts the quotas of the
    /// replicas whose running set changed.
    fn dispatch(&mut self, now: SimTime, live: Live, fx: &mut Effects) {
        while self.busy < self.cores {
            let mut best: Option<(u64, usize)> = None;
            for (i, m) in self.members.iter().enumerate() {
                if !m.live || m.block.is_some() || m.running.len() as u32 >= m.threads {
                    continue;
                }
                if let Some(t) = m.waiting.front()
                    && best.is_none_or(|(s, _)| t.seq < s)
                {
                    best = Some((t.seq, i));
                }
            }
            let Some((_, i)) = best else { break };
            let m = &mut self.members[i];
            if !live(m.waiting.front().expect("a head").strand) {
                let t = m.waiting.pop_front().expect("a head");
                fx.dropped.push(t.strand);
                continue;
            }
            m.account(now);
            let mut t = m.waiting.pop_front().expect("a head");
            let thr = m.throttled_ns - t.thr_mark;
            let paused = m.pause_ns - t.pause_mark;
            t.throttled += thr;
            t.queued += now.since(t.since).0.saturating_sub(thr + paused);
            t.first.get_or_insert(now);
            t.seg = now;
            t.done_at = now + SimDuration(t.remaining);
            t.slice_end = t.done_at;
            if t.remaining > SLICE {
                t.slice_end = now + SimDuration(SLICE);
                fx.slices.push((t.strand, m.replica, t.slice_end));
            }
            m.running.push(t);
            self.busy += 1;
            fx.starts.push(NodeStart { strand: t.strand, replica: m.replica, done_at: t.done_at });
            // Its running count changed: a new quota prediction replaces any
            // earlier one of this operation.
            if m.quota.is_some() {
                let r = m.replica;
                fx.quota.retain(|o| o.replica != r);
                if let Some(q) = m.predict(now) {
                    fx.quota.push(q);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "shared_cpu_tests.rs"]
mod tests;
