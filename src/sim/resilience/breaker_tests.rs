//! Tests of the circuit breaker's state machine.

use super::*;

const MS: SimDuration = SimDuration::from_millis(1);

fn t(ms: u64) -> SimTime {
    SimTime(ms * 1_000_000)
}

fn cfg() -> BreakerCfg {
    BreakerCfg {
        window: BreakerWindow::Count(10),
        min_calls: 5,
        failure_rate: 0.5,
        slow_call_over: SimDuration::from_millis(100),
        slow_call_rate: 1.0,
        open_for: SimDuration::from_secs(30),
        half_open_calls: 3,
    }
}

/// Records `n` calls at `at` (permitted first).
fn calls(b: &mut Breaker, at: SimTime, ok: bool, n: u32) {
    for _ in 0..n {
        assert!(b.try_acquire(at));
        b.on_result(at, ok, MS);
    }
}

#[test]
fn opens_exactly_when_the_window_reaches_min_calls_at_the_threshold() {
    let mut b = Breaker::new(&cfg());
    // 2 failures, 2 successes: 4 calls < min 5, 50% but not evaluated.
    calls(&mut b, t(0), false, 2);
    calls(&mut b, t(0), true, 2);
    assert_eq!(b.state(), BreakerState::Closed);
    // 5th call a success: 2/5 = 40% < 50%.
    calls(&mut b, t(1), true, 1);
    assert_eq!(b.state(), BreakerState::Closed);
    // 6th a failure: 3/6 = 50% ≥ 50% → open, at exactly this call.
    assert!(b.try_acquire(t(2)));
    b.on_result(t(2), false, MS);
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.times_opened(), 1);
}

#[test]
fn stays_open_for_open_for_then_half_opens_on_the_next_call() {
    let mut b = Breaker::new(&cfg());
    calls(&mut b, t(0), false, 5);
    assert_eq!(b.state(), BreakerState::Open);
    assert!(!b.try_acquire(t(1)));
    assert!(!b.try_acquire(t(30_000)), "exactly open_for later: still open (strictly after)");
    assert_eq!(b.short_circuited(), 2);
    // Nothing changes without a call.
    assert_eq!(b.state(), BreakerState::Open);
    assert!(b.try_acquire(t(30_001)));
    assert_eq!(b.state(), BreakerState::HalfOpen);
}

#[test]
fn half_open_permits_its_calls_then_closes_when_they_succeed() {
    let mut b = Breaker::new(&cfg());
    calls(&mut b, t(0), false, 5);
    let at = t(40_000);
    assert!(b.try_acquire(at) && b.try_acquire(at) && b.try_acquire(at));
    assert!(!b.try_acquire(at), "only 3 trial calls");
    assert_eq!(b.short_circuited(), 1);
    b.on_result(at, true, MS);
    b.on_result(at, true, MS);
    assert_eq!(b.state(), BreakerState::HalfOpen, "evaluated when all trial calls are done");
    b.on_result(at, true, MS);
    assert_eq!(b.state(), BreakerState::Closed);
    // The window was reset: 4 failures are below min_calls again.
    calls(&mut b, at, false, 4);
    assert_eq!(b.state(), BreakerState::Closed);
    calls(&mut b, at, false, 1);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn half_open_reopens_when_the_trial_fails_and_the_wait_restarts() {
    let mut b = Breaker::new(&cfg());
    calls(&mut b, t(0), false, 5);
    let at = t(31_000);
    assert!(b.try_acquire(at) && b.try_acquire(at) && b.try_acquire(at));
    b.on_result(at, true, MS);
    b.on_result(at, false, MS);
    b.on_result(at, false, MS);
    // 2/3 failed ≥ 50%.
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.times_opened(), 2);
    assert!(!b.try_acquire(t(31_000 + 30_000)));
    assert!(b.try_acquire(t(31_000 + 30_001)));
}

#[test]
fn a_trial_at_exactly_the_threshold_reopens() {
    let c = BreakerCfg { half_open_calls: 2, ..cfg() };
    let mut b = Breaker::new(&c);
    calls(&mut b, t(0), false, 5);
    let at = t(31_000);
    assert!(b.try_acquire(at) && b.try_acquire(at));
    b.on_result(at, true, MS);
    b.on_result(at, false, MS);
    assert_eq!(b.state(), BreakerState::Open, "1/2 = 50% ≥ 50%");
}

#[test]
fn slow_calls_open_it_too() {
    let c = BreakerCfg { slow_call_rate: 0.6, ..cfg() };
    let mut b = Breaker::new(&c);
    let slow = SimDuration::from_millis(101);
    let at_limit = SimDuration::from_millis(100);
    for d in [slow, slow, at_limit, at_limit, slow] {
        assert!(b.try_acquire(t(0)));
        b.on_result(t(0), true, d);
    }
    // 3 of 5 strictly over 100 ms: 60% ≥ 60%, though all succeeded.
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn count_window_min_calls_is_at_most_its_size() {
    let c = BreakerCfg { window: BreakerWindow::Count(4), min_calls: 100, ..cfg() };
    let mut b = Breaker::new(&c);
    calls(&mut b, t(0), true, 2);
    calls(&mut b, t(0), false, 1);
    assert_eq!(b.state(), BreakerState::Closed);
    calls(&mut b, t(0), false, 1);
    assert_eq!(b.state(), BreakerState::Open, "4 calls fill the window: 2/4");
}

#[test]
fn count_window_forgets_old_outcomes() {
    let c = BreakerCfg { window: BreakerWindow::Count(5), min_calls: 5, ..cfg() };
    let mut b = Breaker::new(&c);
    calls(&mut b, t(0), false, 2);
    calls(&mut b, t(0), true, 3);
    calls(&mut b, t(0), true, 2);
    // The two failures left the window: 0/5.
    calls(&mut b, t(0), false, 2);
    assert_eq!(b.state(), BreakerState::Closed, "2/5 = 40%");
    calls(&mut b, t(0), false, 1);
    assert_eq!(b.state(), BreakerState::Open, "3/5");
}

#[test]
fn time_window_uses_one_second_buckets() {
    let c = BreakerCfg { window: BreakerWindow::Seconds(3), min_calls: 4, ..cfg() };
    let mut b = Breaker::new(&c);
    // Second 10: 3 failures (3 calls < 4).
    calls(&mut b, t(10_000), false, 3);
    assert_eq!(b.state(), BreakerState::Closed);
    // Second 13: second 10 has left the 3-second window [11, 13].
    calls(&mut b, t(13_999), true, 3);
    assert_eq!(b.state(), BreakerState::Closed);
    calls(&mut b, t(14_000), false, 1);
    assert_eq!(b.state(), BreakerState::Closed, "1/4");
    // Second 15: window [13, 15] holds 3 ok + 1 failed + these.
    calls(&mut b, t(15_500), false, 2);
    assert_eq!(b.state(), BreakerState::Open, "3/6 = 50%");
}

#[test]
fn time_window_keeps_calls_within_its_seconds() {
    let c = BreakerCfg { window: BreakerWindow::Seconds(3), min_calls: 4, ..cfg() };
    let mut b = Breaker::new(&c);
    calls(&mut b, t(10_000), false, 2);
    calls(&mut b, t(12_999), false, 2);
    assert_eq!(b.state(), BreakerState::Open, "seconds 10 and 12 are both in [10, 12]");
    // A long gap empties the window entirely.
    let mut b = Breaker::new(&c);
    calls(&mut b, t(1_000), false, 3);
    calls(&mut b, t(100_000), false, 3);
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn results_while_open_are_dropped() {
    let mut b = Breaker::new(&cfg());
    // Six calls in flight; five fail and open it.
    for _ in 0..6 {
        assert!(b.try_acquire(t(0)));
    }
    for _ in 0..5 {
        b.on_result(t(1), false, MS);
    }
    assert_eq!(b.state(), BreakerState::Open);
    b.on_result(t(2), true, MS);
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.short_circuited(), 0);
}

#[test]
fn the_library_defaults_need_a_hundred_calls() {
    let mut b = Breaker::new(&BreakerCfg::DEFAULT);
    calls(&mut b, t(0), false, 99);
    assert_eq!(b.state(), BreakerState::Closed);
    calls(&mut b, t(0), false, 1);
    assert_eq!(b.state(), BreakerState::Open);
    assert!(!b.try_acquire(t(60_000)));
    assert!(b.try_acquire(t(60_001)));
    // Ten trial calls.
    assert_eq!((0..20).filter(|_| b.try_acquire(t(60_001))).count(), 9);
}
