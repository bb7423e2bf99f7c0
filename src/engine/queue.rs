//! The pending-event set: a 4-ary min-heap keyed by `(time, seq)` plus FIFO
//! lanes for timers of one constant delay.
//!
//! `seq` is a global insertion counter, so events at equal times pop in the
//! order they were scheduled, whichever structure holds them. A lane holds
//! events scheduled with the same delay; since `now` never decreases, their
//! due times are non-decreasing in insertion order and a `VecDeque` keeps them
//! sorted for free. A cancelled timer is not removed: its payload carries a
//! generation the handler checks (see [`super::Slab`]), so cancelling costs
//! nothing and nothing dead sits in the heap (it pops in FIFO order instead).

use super::time::{SimDuration, SimTime};
use std::collections::VecDeque;

#[derive(Clone, Copy)]
struct Entry<E> {
    time: u64,
    seq: u64,
    ev: E,
}

impl<E> Entry<E> {
    #[inline(always)]
    fn before(&self, other: &Self) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

/// Identifies a constant-delay lane created by [`EventQueue::lane`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneId(u32);

/// Pending events ordered by `(time, seq)`.
pub struct EventQueue<E: Copy> {
    heap: Vec<Entry<E>>,
    lanes: Vec<(SimDuration, VecDeque<Entry<E>>)>,
    seq: u64,
    now: SimTime,
    popped: u64,
}

const ARITY: usize = 4;

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue { heap: Vec::with_capacity(1024), lanes: Vec::new(), seq: 0, now: SimTime::ZERO, popped: 0 }
    }

    /// The time of the event popped last (the simulation clock).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of events popped so far.
    pub fn popped(&self) -> u64 {
        self.popped
    }

    /// Number of pending events, stale timers included.
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|l| l.1.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the lane for timers of exactly `delay`, creating it once.
    pub fn lane(&mut self, delay: SimDuration) -> LaneId {
        if let Some(i) = self.lanes.iter().position(|l| l.0 == delay) {
            return LaneId(i as u32);
        }
        self.lanes.push((delay, VecDeque::new()));
        LaneId((self.lanes.len() - 1) as u32)
    }

    /// Schedules `ev` at absolute time `at` (clamped to now: never in the past).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, ev: E) {
        let time = at.0.max(self.now.0);
        let seq = self.seq;
        self.seq += 1;
        self.push_heap(Entry { time, seq, ev });
    }

    #[inline]
    pub fn schedule_after(&mut self, d: SimDuration, ev: E) {
        self.schedule_at(self.now + d, ev)
    }

    /// Schedules `ev` after the lane's constant delay.
    #[inline]
    pub fn schedule_in_lane(&mut self, lane: LaneId, ev: E) {
        let seq = self.seq;
        self.seq += 1;
        let (delay, q) = &mut self.lanes[lane.0 as usize];
        let time = self.now.0.saturating_add(delay.0);
        q.push_back(Entry { time, seq, ev });
    }

    /// Moves the clock forward to `t` without an event (boundaries that are
    /// observed between events, such as the end of a series interval).
    #[inline]
    pub fn advance_to(&mut self, t: SimTime) {
        debug_assert!(t >= self.now, "time must be monotone");
        self.now = self.now.max(t);
    }

    /// Timers waiting in `lane`, stale ones included.
    #[inline]
    pub fn lane_len(&self, lane: LaneId) -> usize {
        self.lanes[lane.0 as usize].1.len()
    }

    /// Keeps only the timers of `lane` for which `keep` is true (their order
    /// is unchanged): drops stale timers so they cannot pile up.
    pub fn retain_lane(&mut self, lane: LaneId, keep: impl FnMut(&E) -> bool) {
        let mut keep = keep;
        self.lanes[lane.0 as usize].1.retain(|e| keep(&e.ev));
    }

    /// Time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.next_source().map(|(t, _)| SimTime(t))
    }

    /// Index of the source holding the earliest event: `usize::MAX` for the heap.
    #[inline]
    fn next_source(&self) -> Option<(u64, usize)> {
        let mut best: Option<(u64, u64, usize)> = self.heap.first().map(|e| (e.time, e.seq, usize::MAX));
        for (i, (_, q)) in self.lanes.iter().enumerate() {
            if let Some(e) = q.front()
                && best.is_none_or(|(t, s, _)| (e.time, e.seq) < (t, s))
            {
                best = Some((e.time, e.seq, i));
            }
        }
        best.map(|(t, _, i)| (t, i))
    }

    /// Removes and returns the earliest event, advancing the clock to it.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let (_, src) = self.next_source()?;
        let entry = if src == usize::MAX {
            self.pop_heap()
        } else {
            self.lanes[src].1.pop_front().expect("the lane next_source chose has a front")
        };
        debug_assert!(entry.time >= self.now.0, "time must be monotone");
        self.now = SimTime(entry.time);
        self.popped += 1;
        Some((self.now, entry.ev))
    }

    #[inline]
    fn push_heap(&mut self, e: Entry<E>) {
        let h = &mut self.heap;
        h.push(e);
        let mut i = h.len() - 1;
        while i > 0 {
            let p = (i - 1) / ARITY;
            if h[i].before(&h[p]) {
                h.swap(i, p);
                i = p;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn pop_heap(&mut self) -> Entry<E> {
        let h = &mut self.heap;
        let last = h.pop().expect("pop_heap on an empty heap");
        if h.is_empty() {
            return last;
        }
        let top = h[0];
        // Sift the former last element down from the root.
        let n = h.len();
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut m = first;
            for c in first + 1..end {
                if h[c].before(&h[m]) {
                    m = c;
                }
            }
            if h[m].before(&last) {
                h[i] = h[m];
                i = m;
            } else {
                break;
            }
        }
        h[i] = last;
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime(5), 'a');
        q.schedule_at(SimTime(1), 'b');
        q.schedule_at(SimTime(5), 'c');
        q.schedule_at(SimTime(3), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn lanes_interleave_with_the_heap_by_time_then_seq() {
        let mut q = EventQueue::new();
        let lane = q.lane(SimDuration(10));
        assert_eq!(q.lane(SimDuration(10)), lane, "one lane per delay");
        q.schedule_in_lane(lane, 1); // t=10, seq 0
        q.schedule_at(SimTime(10), 2); // t=10, seq 1
        q.schedule_at(SimTime(4), 3);
        assert_eq!(q.pop(), Some((SimTime(4), 3)));
        q.schedule_in_lane(lane, 4); // t=14
        assert_eq!(q.pop(), Some((SimTime(10), 1)));
        assert_eq!(q.pop(), Some((SimTime(10), 2)));
        assert_eq!(q.pop(), Some((SimTime(14), 4)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn retaining_a_lane_keeps_order_and_drops_the_rest() {
        let mut q = EventQueue::new();
        let lane = q.lane(SimDuration(10));
        for i in 0..10u32 {
            q.schedule_in_lane(lane, i);
        }
        q.retain_lane(lane, |e| e % 3 == 0);
        assert_eq!(q.lane_len(lane), 4);
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![0, 3, 6, 9]);
    }

    #[test]
    fn heap_matches_a_sorted_reference_on_random_input() {
        let mut x: u64 = 88172645463325252;
        let mut q = EventQueue::new();
        let mut reference = Vec::new();
        for i in 0..5000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = x % 1000;
            q.schedule_at(SimTime(t), i);
            reference.push((t, i));
        }
        reference.sort();
        let got: Vec<(u64, u64)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        assert_eq!(got, reference);
    }
}
