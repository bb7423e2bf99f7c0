//! What autoscaling leaves for the results: the list of rescales, and two
//! findings, both judged sync by sync as the run goes (memory does not grow
//! with simulated time):
//!
//! **`autoscaler_slow`**: a run of consecutive syncs (after the warm-up)
//! whose preceding sync period had the service's serving cores at least
//! [`SATURATED`] busy — the truth, not what the controller saw — lasting at
//! least two sync periods, during which the controller scaled up or could
//! have (below `max`). Its length is decomposed from the timeline of
//! decisions; the method is approximate and the parts need not add up (the
//! rest is reported as "other"):
//! - *metric lag*: `metrics_delay` (capped by the time to the first
//!   scale-up), the time before the controller can see the load at all;
//! - *stabilization*: syncs up to the last scale-up where a wanted
//!   scale-up was held by the scale-up stabilization window, × sync period;
//! - *sync period wait*: the rest of the time from the start to the first
//!   scale-up (waiting for the sample window to fill and the next sync);
//! - *policy limit*: syncs where a rate policy (or the legacy cap) cut a
//!   scale-up, × sync period, capped by first-to-last scale-up;
//! - *waiting for a node* (with `cluster:`): from the last scale-up until
//!   its replicas were all placed — Pending while the cluster autoscaler
//!   provisioned nodes (named only when some replica waited);
//! - *pod start-up*: from then until its replicas were ready (capped by
//!   the episode's end).
//!
//! Several such stretches of one service are one finding: its windows list
//! them and its parts add up over all of them.
//!
//! **`flapping`**: at least [`FLAP_CHANGES`] changes of scale direction
//! within [`FLAP_WINDOW`].
//!
//! A leaf: `pods` feeds it every sync and rescale, `finish` asks for the
//! findings. Not here: how replicas come and go (`pods`).

use crate::engine::{SimDuration, SimTime};
use crate::metrics::{Finding, FindingKind, Window};
use std::collections::VecDeque;

/// Utilization over a sync period from which the service counts as saturated.
pub(crate) const SATURATED: f64 = 0.9;
/// Direction changes that make flapping …
pub(crate) const FLAP_CHANGES: usize = 3;
/// … within this window.
pub(crate) const FLAP_WINDOW: SimDuration = SimDuration::from_secs(600);
/// Rescales kept for the result per service; later ones are counted only.
pub(crate) const MAX_SCALE_EVENTS: usize = 10_000;

/// One rescale, as the results show it.
#[derive(Clone, Debug)]
pub(crate) struct ScaleRecord {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
    pub reason: String,
    /// When the last replica it added became ready.
    pub ready_at: Option<SimTime>,
    /// Replicas it added still starting.
    pub starting: u32,
    /// When the last replica it added got a node (with `cluster:`; it was
    /// Pending until then).
    pub placed_at: Option<SimTime>,
}

/// One sync, as the findings need it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tick {
    pub at: SimTime,
    /// Busy cores / serving cores over the last sync period (the truth,
    /// not what the controller saw).
    pub utilization: f64,
    pub current: i32,
    pub desired: i32,
    /// The metrics asked for more than `current`.
    pub wants_up: bool,
    /// A scale-up was held back by the stabilization window.
    pub stabilized_up: bool,
    /// A scale-up was cut by a rate policy (or the legacy cap).
    pub rate_limited_up: bool,
    /// A scale-up was cut by `max`.
    pub at_max: bool,
}

/// One saturated stretch being accumulated.
#[derive(Clone, Copy, Debug)]
struct Stretch {
    from: SimTime,
    to: SimTime,
    ups: u32,
    first_up: Option<SimTime>,
    last_up: SimTime,
    capped: bool,
    at_max: bool,
    lo: i32,
    hi: i32,
    stabilized: u64,
    rate_limited: u64,
    stabilized_at_first_up: u64,
    stabilized_at_last_up: u64,
    rate_limited_at_last_up: u64,
}

/// The parts of the slow stretches of one service, summed.
#[derive(Clone, Copy, Debug, Default)]
struct Parts {
    length: u64,
    lag: u64,
    sync_wait: u64,
    stabilization: u64,
    policy: u64,
    /// Waiting for a node (Pending), then starting.
    node_wait: u64,
    startup: u64,
    other: u64,
}

/// The findings' state of one autoscaled service.
#[derive(Default)]
pub(crate) struct Episodes {
    open: Option<Stretch>,
    windows: Vec<Window>,
    parts: Parts,
    lo: Option<i32>,
    hi: i32,
    at_max: Option<i32>,
    /// Flapping: the latest direction, recent changes, the worst window.
    last_dir: i8,
    recent: VecDeque<SimTime>,
    changes: usize,
    worst: Option<(usize, SimTime, SimTime)>,
}

impl Episodes {
    /// One sync after the warm-up; `max` is the autoscaler's `max`.
    pub(crate) fn tick(
        &mut self,
        t: &Tick,
        max: i32,
        period: SimDuration,
        metrics_delay: SimDuration,
        events: &[ScaleRecord],
    ) {
        if t.utilization < SATURATED {
            if let Some(s) = self.open.take() {
                self.close(s, max, period, metrics_delay, events);
            }
            return;
        }
        let s = self.open.get_or_insert(Stretch {
            from: SimTime(t.at.0.saturating_sub(period.0)),
            to: t.at,
            ups: 0,
            first_up: None,
            last_up: t.at,
            capped: true,
            at_max: false,
            lo: t.current,
            hi: t.desired,
            stabilized: 0,
            rate_limited: 0,
            stabilized_at_first_up: 0,
            stabilized_at_last_up: 0,
            rate_limited_at_last_up: 0,
        });
        s.to = t.at;
        s.capped &= t.current >= max;
        s.at_max |= t.at_max;
        s.lo = s.lo.min(t.current);
        s.hi = s.hi.max(t.desired);
        s.stabilized += u64::from(t.stabilized_up);
        s.rate_limited += u64::from(t.rate_limited_up);
        if t.desired > t.current {
            s.ups += 1;
            if s.first_up.is_none() {
                s.first_up = Some(t.at);
                s.stabilized_at_first_up = s.stabilized;
            }
            s.last_up = t.at;
            s.stabilized_at_last_up = s.stabilized;
            s.rate_limited_at_last_up = s.rate_limited;
        }
    }

    fn close(&mut self, s: Stretch, max: i32, period: SimDuration, metrics_delay: SimDuration, events: &[ScaleRecord]) {
        let (from, to) = (s.from, s.to);
        let length = to.since(from);
        if length.0 < 2 * period.0 || (s.ups == 0 && s.capped) {
            return;
        }
        let (first_up, last_up) = match s.first_up {
            Some(f) => (f, s.last_up),
            None => (to, to),
        };
        let (stab_first, stab_last, rate_last) = if s.ups == 0 {
            (s.stabilized, s.stabilized, s.rate_limited)
        } else {
            (s.stabilized_at_first_up, s.stabilized_at_last_up, s.rate_limited_at_last_up)
        };
        let reaction = first_up.since(from);
        let lag = metrics_delay.min(reaction);
        let stab_before = (stab_first * period.0).min(reaction.0 - lag.0);
        let stab = stab_before + stab_last.saturating_sub(stab_first) * period.0;
        let sync_wait = reaction.0 - lag.0 - stab_before;
        let policy = (rate_last * period.0).min(last_up.since(first_up).0);
        let last = events.iter().rfind(|e| e.at == last_up && e.to > e.from);
        let until_ready = last.map_or(0, |e| e.ready_at.unwrap_or(to).min(to).since(last_up).0);
        // With a cluster, the first part of that is Pending: waiting for a node.
        let node_wait = last.and_then(|e| e.placed_at).map_or(0, |p| p.min(to).since(last_up).0).min(until_ready);
        let startup = until_ready - node_wait;
        let explained = lag.0 + stab + sync_wait + policy + node_wait + startup;
        let p = &mut self.parts;
        p.length += length.0;
        p.lag += lag.0;
        p.sync_wait += sync_wait;
        p.stabilization += stab;
        p.policy += policy;
        p.node_wait += node_wait;
        p.startup += startup;
        p.other += length.0.saturating_sub(explained);
        self.lo = Some(self.lo.map_or(s.lo, |l| l.min(s.lo)));
        self.hi = self.hi.max(s.hi);
        if s.at_max {
            self.at_max = Some(max);
        }
        self.windows.push(Window { from_s: from.as_secs_f64(), to_s: to.as_secs_f64() });
    }

    /// A rescale in direction `dir` (+1 up, −1 down) at `at`.
    pub(crate) fn direction(&mut self, at: SimTime, dir: i8) {
        if self.last_dir != 0 && dir != self.last_dir {
            self.changes += 1;
            self.recent.push_back(at);
            while self.recent.front().is_some_and(|&f| at.since(f) > FLAP_WINDOW) {
                self.recent.pop_front();
            }
            let n = self.recent.len();
            if n >= FLAP_CHANGES && self.worst.is_none_or(|(w, _, _)| n > w) {
                self.worst = Some((n, *self.recent.front().expect("not empty"), at));
            }
        }
        self.last_dir = dir;
    }

    /// The findings of service `name`; an open stretch ends with the run.
    pub(crate) fn findings(
        &mut self,
        name: &str,
        max: i32,
        period: SimDuration,
        delay: SimDuration,
        events: &[ScaleRecord],
    ) -> Vec<Finding> {
        if let Some(s) = self.open.take() {
            self.close(s, max, period, delay, events);
        }
        let mut out = Vec::new();
        if let (Some(first), Some(last)) = (self.windows.first(), self.windows.last()) {
            let p = &self.parts;
            let s = |ns: u64| format!("{:.0}s", ns as f64 / 1e9);
            let stretches = match self.windows.len() {
                1 => String::new(),
                n => format!(" in {n} stretches"),
            };
            // Waiting for a node is named only when a replica waited for one.
            let node_wait =
                if p.node_wait > 0 { format!("waiting for a node {}, ", s(p.node_wait)) } else { String::new() };
            let mut message = format!(
                "{name} was saturated (≥{:.0}% busy) for {}{stretches} while its autoscaler went {} → {} replicas: \
                 metric lag {}, sync period wait {}, stabilization {}, policy limit {}, {node_wait}pod start-up {}, other {} (syncs that saw no need yet: new pods without samples count as idle, or the load kept growing)",
                SATURATED * 100.0,
                s(p.length),
                self.lo.unwrap_or(0),
                self.hi,
                s(p.lag),
                s(p.sync_wait),
                s(p.stabilization),
                s(p.policy),
                s(p.startup),
                s(p.other),
            );
            if let Some(max) = self.at_max {
                message.push_str(&format!("; it reached max ({max})"));
            }
            out.push(Finding {
                kind: FindingKind::AutoscalerSlow,
                subject: name.to_string(),
                from_s: first.from_s,
                to_s: last.to_s,
                windows: self.windows.clone(),
                message,
            });
        }
        if let Some((n, from, to)) = self.worst {
            out.push(Finding {
                kind: FindingKind::Flapping,
                subject: name.to_string(),
                from_s: from.as_secs_f64(),
                to_s: to.as_secs_f64(),
                windows: vec![Window { from_s: from.as_secs_f64(), to_s: to.as_secs_f64() }],
                message: format!(
                    "{name}'s autoscaler changed direction {n} times within {:.0} min ({} direction changes in the run): \
                     consider a longer scale-down stabilization or a wider tolerance",
                    FLAP_WINDOW.as_secs_f64() / 60.0,
                    self.changes
                ),
            });
        }
        out
    }
}
