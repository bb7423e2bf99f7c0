//! Admission at one replica: `max_in_flight` slots (or an adaptive
//! concurrency limit), then the admission queue (`capacity`, FIFO or LIFO).
//! A leaf: it holds counts and the queue, answers [`Offer`]s and hands out
//! the next queued attempt when a slot frees up; the caller (`flow`) moves
//! attempts between states and keeps the clocks.
//!
//! The queue may hold stale entries (attempts that left it early: expired,
//! cancelled, failed by a crash); `queue_len` is the truth and the caller
//! says which entries are still queued. Stale entries are compacted away
//! when they outnumber the live ones, so memory stays bounded by the queue.

use super::resilience::AdaptiveLimit;
use super::state::AttemptKey;
use crate::engine::{RngStream, SimDuration};
use crate::model::{Discipline, Service};
use std::collections::VecDeque;

/// What admission does with an arriving attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// A slot is free: admit it now.
    Admit,
    /// No slot, room in the queue: it waits.
    Queue,
    /// No slot and the queue is full: refuse it (a 503).
    Reject,
}

#[derive(Default)]
pub(crate) struct Admission {
    /// Attempts holding a slot.
    pub in_flight: u32,
    queue: VecDeque<AttemptKey>,
    /// Attempts waiting in the queue.
    pub queue_len: u32,
    /// Its adaptive concurrency limit, if the service has one.
    limiter: Option<Box<Limiter>>,
}

/// An adaptive concurrency limit with the random stream of its replica.
pub(crate) struct Limiter {
    limit: AdaptiveLimit,
    rng: RngStream,
}

impl Admission {
    /// The admission state of a new replica; `rng` is the replica's own
    /// stream for its adaptive limit (drawn only if the service has one).
    pub fn new(svc: &Service, mut rng: RngStream) -> Self {
        let limiter = svc.adaptive.as_ref().map(|c| Box::new(Limiter { limit: AdaptiveLimit::new(c, &mut rng), rng }));
        Admission { limiter, ..Admission::default() }
    }

    /// A response left an admitted attempt: feed the adaptive limit, if any.
    #[inline]
    pub fn limiter_sample(&mut self, rtt: SimDuration, in_flight: u32, dropped: bool) {
        if let Some(l) = &mut self.limiter {
            l.limit.on_sample(rtt, in_flight, dropped, &mut l.rng);
        }
    }

    /// Is a slot free: under `max_in_flight`, or under the adaptive limit?
    #[inline]
    pub fn has_slot(&self, svc: &Service) -> bool {
        match &self.limiter {
            Some(l) => l.limit.admits(self.in_flight),
            None => svc.max_in_flight.is_none_or(|max| self.in_flight < max),
        }
    }

    /// Are all slots taken (for the `pool_exhausted` finding)?
    #[inline]
    pub fn full(&self, svc: &Service) -> bool {
        !self.has_slot(svc)
    }

    /// What to do with an attempt arriving now.
    #[inline]
    pub fn offer(&self, svc: &Service) -> Offer {
        if self.has_slot(svc) {
            Offer::Admit
        } else if svc.queue.capacity.is_none_or(|cap| self.queue_len < cap) {
            Offer::Queue
        } else {
            Offer::Reject
        }
    }

    /// Takes a slot; returns the number of attempts admitted now.
    #[inline]
    pub fn take_slot(&mut self) -> u32 {
        self.in_flight += 1;
        self.in_flight
    }

    #[inline]
    pub fn release_slot(&mut self) {
        debug_assert!(self.in_flight > 0, "a slot is released once");
        self.in_flight -= 1;
    }

    pub fn enqueue(&mut self, key: AttemptKey) {
        self.queue.push_back(key);
        self.queue_len += 1;
    }

    /// The next queued attempt to admit if a slot is free: pops entries
    /// (newest first under LIFO) until `queued` says one is still waiting.
    /// Its entry is gone; the caller admits or closes it and then calls
    /// [`Admission::left_queue`] (which is what counts it out).
    pub fn next_queued(&mut self, svc: &Service, mut queued: impl FnMut(AttemptKey) -> bool) -> Option<AttemptKey> {
        if !self.has_slot(svc) {
            return None; // an adaptive limit may have shrunk below what is admitted
        }
        let lifo = svc.queue.discipline == Discipline::Lifo;
        loop {
            let key = if lifo { self.queue.pop_back() } else { self.queue.pop_front() }?;
            if queued(key) {
                return Some(key);
            }
        }
    }

    /// An attempt left the queue without being admitted (its entry goes
    /// stale). Compacts stale entries when they outnumber the live ones.
    pub fn left_queue(&mut self, mut queued: impl FnMut(AttemptKey) -> bool) {
        debug_assert!(self.queue_len > 0, "only a queued attempt leaves the queue");
        self.queue_len -= 1;
        if self.queue.len() > 64 && self.queue.len() > 2 * self.queue_len as usize {
            self.queue.retain(|&k| queued(k));
        }
    }

    /// Entries in the queue, stale ones included (invariants).
    pub fn queue_entries(&self) -> usize {
        self.queue.len()
    }

    /// Frees the queue's memory (a replica that is gone).
    pub fn clear(&mut self) {
        self.queue = VecDeque::new();
    }
}
