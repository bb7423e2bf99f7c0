//! Where work steps run: the execution seam.
//!
//! A work step of a strand becomes a [`Job`] with a CPU demand, submitted to
//! the executor its replica runs on ([`Cpu`], addressed by a `CpuId`). The
//! executor decides when the job starts and when it is done; the caller
//! (`flow`) schedules the `WorkDone` event at the time it is told, and on
//! that event calls [`Cpu::complete`], then starts the next waiting job the
//! executor hands out. Everything about *how* CPU is shared lives behind
//! this seam, so other executors slot in beside [`Cores`] without touching
//! the attempt life cycle:
//! - a node whose cores many replicas share (each replica still runs at
//!   most `cpus` jobs at once);
//! - a CFS quota (a job's end moves past throttled periods);
//! - a batching inference server (jobs advance one iteration at a time).
//!
//! Two kinds: [`Cores`], a replica's own `cpus` cores, FCFS (every replica
//! without `cluster:` or a CPU limit: the fast path, unchanged), and
//! [`Node`] (`shared_cpu`), a node's cores shared FCFS by the replicas
//! placed on it, each at most its threads at once and under its CFS quota
//! (also a lone replica with a CPU limit and no cluster, on a node of its
//! own). Pauses (a `pauses` fault, like a GC) stop a replica: on its own
//! cores a job in progress is stretched by the pause, a job that starts
//! during one waits for its end; on a node its jobs leave their cores.

pub(crate) use super::shared_cpu::{Effects, Node, QuotaCfg};
use super::state::StrandKey;
use crate::engine::{SimDuration, SimTime};
use std::collections::VecDeque;

/// A work step waiting for, or holding, a core.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job {
    pub strand: StrandKey,
    /// CPU time it needs (already scaled by slowdown faults).
    pub demand: SimDuration,
    /// When it asked for a core.
    pub queued_at: SimTime,
}

/// A job that got a core: it is done at `done_at` (unless a pause stretches it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Start {
    pub strand: StrandKey,
    pub done_at: SimTime,
}

/// What `complete` found.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Completion {
    /// The job is done and its core is free.
    Done {
        /// When it asked for a core, and when it got one.
        queued_at: SimTime,
        started: SimTime,
    },
    /// A pause began while it ran: it is done at this later time instead.
    Stretched(SimTime),
}

#[derive(Clone, Copy, Debug)]
struct Running {
    strand: StrandKey,
    queued_at: SimTime,
    started: SimTime,
    /// Pause time of its cores when it started.
    pause_mark: u64,
}

/// An executor of work steps.
pub(crate) enum Cpu {
    /// A replica's own cores.
    Dedicated(Cores),
    /// A node's cores, shared by the replicas placed on it.
    Shared(Box<Node>),
}

/// `cores` cores serving jobs first come, first served.
pub(crate) struct Cores {
    cores: u32,
    running: Vec<Running>,
    waiting: VecDeque<Job>,
    /// End of the pause in progress, and all pause time so far.
    paused_until: SimTime,
    pause_total: u64,
}

impl Cpu {
    pub fn dedicated(cores: u32) -> Cpu {
        Cpu::Dedicated(Cores::new(cores))
    }

    pub fn shared(cores: u32) -> Cpu {
        Cpu::Shared(Box::new(Node::new(cores)))
    }

    /// A replica's own cores.
    #[inline]
    pub fn cores_mut(&mut self) -> Option<&mut Cores> {
        match self {
            Cpu::Dedicated(c) => Some(c),
            Cpu::Shared(_) => None,
        }
    }

    /// Cores in use.
    #[inline]
    pub fn busy(&self) -> u32 {
        match self {
            Cpu::Dedicated(c) => c.running.len() as u32,
            Cpu::Shared(n) => n.busy(),
        }
    }

    /// Cores it has.
    pub fn cores(&self) -> u32 {
        match self {
            Cpu::Dedicated(c) => c.cores,
            Cpu::Shared(n) => n.cores(),
        }
    }

    /// The node behind a shared executor.
    #[inline]
    pub fn node(&mut self) -> Option<&mut Node> {
        match self {
            Cpu::Shared(n) => Some(n),
            Cpu::Dedicated(_) => None,
        }
    }
}

impl Cores {
    pub fn new(cores: u32) -> Cores {
        Cores {
            cores,
            running: Vec::with_capacity(cores.min(16) as usize),
            waiting: VecDeque::new(),
            paused_until: SimTime::ZERO,
            pause_total: 0,
        }
    }

    /// Cores in use.
    #[inline]
    pub fn busy(&self) -> u32 {
        self.running.len() as u32
    }

    /// Asks for a core: the job starts now if one is free, else waits.
    #[inline]
    pub fn submit(&mut self, now: SimTime, job: Job) -> Option<Start> {
        if (self.running.len() as u32) < self.cores {
            Some(self.start(now, job))
        } else {
            self.waiting.push_back(job);
            None
        }
    }

    /// The job of `strand` reached its end time.
    #[inline]
    pub fn complete(&mut self, now: SimTime, strand: StrandKey) -> Completion {
        let i = self.running.iter().position(|r| r.strand == strand).expect("a completed job was running");
        let r = &mut self.running[i];
        if self.pause_total > r.pause_mark {
            // A pause that began while it ran stretches it by its length.
            let extra = self.pause_total - r.pause_mark;
            r.pause_mark = self.pause_total;
            return Completion::Stretched(now + SimDuration(extra));
        }
        let r = self.running.swap_remove(i);
        Completion::Done { queued_at: r.queued_at, started: r.started }
    }

    /// The next waiting job, if a core is free for it (the caller checks
    /// that its strand still wants it, then calls [`Cores::start`]).
    #[inline]
    pub fn next_waiting(&mut self) -> Option<Job> {
        if (self.running.len() as u32) < self.cores { self.waiting.pop_front() } else { None }
    }

    /// Strands waiting for a core (invariants).
    pub fn waiting(&self) -> impl Iterator<Item = StrandKey> + '_ {
        self.waiting.iter().map(|j| j.strand)
    }

    /// A pause of `len` begins now; overlapping pauses merge.
    pub fn pause(&mut self, now: SimTime, len: SimDuration) {
        let until = self.paused_until.max(now);
        let new_until = until.max(now + len);
        self.pause_total += new_until.since(until).0;
        self.paused_until = new_until;
    }

    /// Frees the memory of a replica that is gone.
    pub fn clear(&mut self) {
        self.waiting = VecDeque::new();
    }

    /// Starts a job handed out by [`Cores::next_waiting`].
    #[inline]
    pub fn start(&mut self, now: SimTime, job: Job) -> Start {
        // During a pause nothing runs: the work starts when the pause ends.
        let begins = self.paused_until.max(now);
        self.running.push(Running {
            strand: job.strand,
            queued_at: job.queued_at,
            started: now,
            pause_mark: self.pause_total,
        });
        Start { strand: job.strand, done_at: begins + job.demand }
    }
}
