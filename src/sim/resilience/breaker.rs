//! The resilience4j circuit breaker, as a pure state machine.
//!
//! - **Closed**: every call is permitted; every completed call is recorded
//!   (failed or not, slow or not: slow means duration > `slow_call_over`)
//!   in a sliding window — a ring of the last N outcomes, or N one-second
//!   buckets of the last N whole seconds (buckets are keyed by
//!   `floor(now / 1 s)` and evicted as time moves on). After each record,
//!   once the window holds at least `min_calls` calls (for a count window at
//!   most its size), the breaker opens if the failure rate ≥
//!   `failure_rate` or the slow-call rate ≥ `slow_call_rate`.
//! - **Open**: calls are refused ([`Breaker::try_acquire`] returns false and
//!   counts a short-circuit). The first call strictly after `open_for`
//!   (resilience4j's `isAfter`) moves it to half-open, lazily, and is
//!   handled there.
//! - **Half-open**: exactly `half_open_calls` calls are permitted, the rest
//!   refused. Their results go to a fresh count window of that size; once it
//!   is full the same thresholds decide: open again (the wait restarts) or
//!   close with an empty window.
//!
//! Like resilience4j, results are recorded into whatever state the breaker
//! is in when they arrive: a result arriving while open is dropped, and a
//! late result of a call permitted before the breaker opened counts in the
//! half-open evaluation. Not modelled: `maxWaitDurationInHalfOpenState`,
//! automatic open→half-open by timer, ignored exceptions, the special
//! states.

use crate::engine::{SimDuration, SimTime};
use crate::model::{BreakerCfg, BreakerWindow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// Totals of a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    calls: u32,
    failures: u32,
    slow: u32,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.calls += o.calls;
        self.failures += o.failures;
        self.slow += o.slow;
    }
    fn sub(&mut self, o: Counts) {
        self.calls -= o.calls;
        self.failures -= o.failures;
        self.slow -= o.slow;
    }
}

/// The last `ring.len()` outcomes.
#[derive(Clone, Debug)]
struct CountWindow {
    ring: Vec<Counts>,
    next: usize,
    total: Counts,
}

/// The last `buckets.len()` whole seconds.
#[derive(Clone, Debug)]
struct TimeWindow {
    buckets: Vec<Counts>,
    /// The second of the newest bucket.
    head_s: u64,
    total: Counts,
}

#[derive(Clone, Debug)]
enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    fn new(w: BreakerWindow) -> Self {
        match w {
            BreakerWindow::Count(n) => Window::Count(CountWindow {
                ring: vec![Counts::default(); n.max(1) as usize],
                next: 0,
                total: Counts::default(),
            }),
            BreakerWindow::Seconds(n) => Window::Time(TimeWindow {
                buckets: vec![Counts::default(); n.max(1) as usize],
                head_s: 0,
                total: Counts::default(),
            }),
        }
    }

    fn record(&mut self, now: SimTime, c: Counts) -> Counts {
        match self {
            Window::Count(w) => {
                let old = std::mem::replace(&mut w.ring[w.next], c);
                w.total.sub(old);
                w.total.add(c);
                w.next = (w.next + 1) % w.ring.len();
                w.total
            }
            Window::Time(w) => {
                let n = w.buckets.len() as u64;
                let s = now.0 / 1_000_000_000;
                // Evict the buckets of the seconds that left the window
                // (at most all of them).
                for sec in (w.head_s + 1..=s).take(n as usize) {
                    let b = std::mem::take(&mut w.buckets[(sec % n) as usize]);
                    w.total.sub(b);
                }
                w.head_s = w.head_s.max(s);
                w.buckets[(s % n) as usize].add(c);
                w.total.add(c);
                w.total
            }
        }
    }
}

/// One circuit breaker's state.
#[derive(Clone, Debug)]
pub struct Breaker {
    cfg: BreakerCfg,
    state: BreakerState,
    window: Window,
    /// Half-open trial results.
    trial: CountWindow,
    opened_at: SimTime,
    /// Half-open calls still to permit.
    permits: u32,
    short_circuited: u64,
    times_opened: u64,
}

impl Breaker {
    pub fn new(cfg: &BreakerCfg) -> Self {
        let trial = CountWindow {
            ring: vec![Counts::default(); cfg.half_open_calls.max(1) as usize],
            next: 0,
            total: Counts::default(),
        };
        Breaker {
            cfg: *cfg,
            state: BreakerState::Closed,
            window: Window::new(cfg.window),
            trial,
            opened_at: SimTime::ZERO,
            permits: 0,
            short_circuited: 0,
            times_opened: 0,
        }
    }

    /// The state as last changed (an open breaker whose wait is over stays
    /// `Open` until the next call).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Calls refused so far.
    pub fn short_circuited(&self) -> u64 {
        self.short_circuited
    }

    /// Transitions to open so far.
    pub fn times_opened(&self) -> u64 {
        self.times_opened
    }

    /// May a call go out now? A refusal is counted as short-circuited.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        if self.state == BreakerState::Open && now > self.opened_at + self.cfg.open_for {
            self.state = BreakerState::HalfOpen;
            self.permits = self.cfg.half_open_calls.max(1);
            let n = self.trial.ring.len();
            self.trial = CountWindow { ring: vec![Counts::default(); n], next: 0, total: Counts::default() };
        }
        let ok = match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen if self.permits > 0 => {
                self.permits -= 1;
                true
            }
            BreakerState::HalfOpen => false,
        };
        if !ok {
            self.short_circuited += 1;
        }
        ok
    }

    /// A permitted call completed at `now` after `duration`.
    pub fn on_result(&mut self, now: SimTime, ok: bool, duration: SimDuration) {
        let c = Counts { calls: 1, failures: u32::from(!ok), slow: u32::from(duration > self.cfg.slow_call_over) };
        match self.state {
            BreakerState::Open => {}
            BreakerState::Closed => {
                let total = self.window.record(now, c);
                let min = match self.cfg.window {
                    BreakerWindow::Count(n) => self.cfg.min_calls.min(n),
                    BreakerWindow::Seconds(_) => self.cfg.min_calls,
                };
                if total.calls >= min.max(1) && self.exceeded(total) {
                    self.open(now);
                }
            }
            BreakerState::HalfOpen => {
                let old = std::mem::replace(&mut self.trial.ring[self.trial.next], c);
                self.trial.total.sub(old);
                self.trial.total.add(c);
                self.trial.next = (self.trial.next + 1) % self.trial.ring.len();
                let total = self.trial.total;
                if total.calls as usize >= self.trial.ring.len() {
                    if self.exceeded(total) {
                        self.open(now);
                    } else {
                        self.state = BreakerState::Closed;
                        self.window = Window::new(self.cfg.window);
                    }
                }
            }
        }
    }

    /// Either rate at or over its threshold.
    fn exceeded(&self, t: Counts) -> bool {
        let calls = f64::from(t.calls);
        f64::from(t.failures) / calls >= self.cfg.failure_rate || f64::from(t.slow) / calls >= self.cfg.slow_call_rate
    }

    fn open(&mut self, now: SimTime) {
        self.state = BreakerState::Open;
        self.opened_at = now;
        self.times_opened += 1;
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
