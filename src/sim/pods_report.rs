//! Results of replica life-cycles and autoscaling: replica counts over the
//! measured period, replica-hours, the list of rescales, and two findings.
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
//! - *pod start-up*: from the last scale-up of the episode until its
//!   replicas were ready (capped by the episode's end).
//!
//! **`flapping`**: at least [`FLAP_CHANGES`] changes of scale direction
//! within [`FLAP_WINDOW`].
//!
//! Not here: how replicas come and go (`pods`).

use super::World;
use super::pods::{Autoscaler, Tick};
use crate::engine::{SimDuration, SimTime};
use crate::metrics::{Finding, FindingKind, ReplicaSummary, ScaleEventResult};

/// Utilization over a sync period from which the service counts as saturated.
pub(crate) const SATURATED: f64 = 0.9;
/// Direction changes that make flapping …
pub(crate) const FLAP_CHANGES: usize = 3;
/// … within this window.
pub(crate) const FLAP_WINDOW: SimDuration = SimDuration::from_secs(600);

/// Replica counts of service `s` over the measured period `[warmup, end]`:
/// the summary, replica-hours, and the serving replica-nanoseconds (the
/// denominator of utilization, with `cpus`).
pub(crate) fn replica_figures(w: &mut World, s: usize, end: SimTime) -> (ReplicaSummary, f64, u128) {
    let measured_ns = end.0.saturating_sub(w.warmup.0).max(1);
    let f = &mut w.scaling.fleets[s];
    let total = f.total.area_at(end.0) - f.total_at_warmup;
    let serving = f.serving.area_at(end.0) - f.serving_at_warmup;
    let summary = ReplicaSummary { min: f.total_min, mean: total as f64 / measured_ns as f64, max: f.total_max };
    (summary, total as f64 / 3.6e12, serving)
}

/// Rescales of service `s` after the warm-up.
pub(crate) fn scale_events(w: &World, s: usize) -> Vec<ScaleEventResult> {
    let Some(a) = &w.scaling.hpas[s] else { return Vec::new() };
    a.events
        .iter()
        .filter(|e| e.at >= w.warmup)
        .map(|e| ScaleEventResult { t_s: e.at.as_secs_f64(), from: e.from, to: e.to, reason: e.reason.clone() })
        .collect()
}

/// The autoscaling findings of service `s`.
pub(crate) fn findings(w: &World, s: usize, end: SimTime) -> Vec<Finding> {
    let Some(a) = &w.scaling.hpas[s] else { return Vec::new() };
    let name = &w.m.services[s].name;
    let max = w.m.services[s].autoscale.as_ref().map_or(0, |c| c.max as i32);
    let mut out = Vec::new();
    let ticks: Vec<&Tick> = a.ticks.iter().filter(|t| t.at > w.warmup && t.at <= end).collect();
    let mut i = 0;
    while i < ticks.len() {
        if ticks[i].utilization < SATURATED {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < ticks.len() && ticks[j + 1].utilization >= SATURATED {
            j += 1;
        }
        if let Some(f) = slow_episode(a, name, max, &ticks[i..=j]) {
            out.push(f);
        }
        i = j + 1;
    }
    out.extend(flapping(a, name, w.warmup));
    out
}

fn slow_episode(a: &Autoscaler, name: &str, max: i32, ep: &[&Tick]) -> Option<Finding> {
    let period = a.sync_period;
    let from = SimTime(ep[0].at.0.saturating_sub(period.0));
    let to = ep[ep.len() - 1].at;
    let length = to.since(from);
    let ups: Vec<&&Tick> = ep.iter().filter(|t| t.desired > t.current).collect();
    let capped = ep.iter().all(|t| t.current >= max);
    if length.0 < 2 * period.0 || (ups.is_empty() && capped) {
        return None;
    }
    let first_up = ups.first().map_or(to, |t| t.at);
    let last_up = ups.last().map_or(to, |t| t.at);
    let reaction = first_up.since(from);
    let lag = a.metrics_delay.min(reaction);
    let ticks = |pred: fn(&Tick) -> bool, until: SimTime| ep.iter().filter(|t| t.at <= until && pred(t)).count() as u64;
    let stab_before = SimDuration(ticks(|t| t.stabilized_up, first_up) * period.0).min(SimDuration(reaction.0 - lag.0));
    let stab = SimDuration(
        stab_before.0
            + ticks(|t| t.stabilized_up, last_up).saturating_sub(ticks(|t| t.stabilized_up, first_up)) * period.0,
    );
    let sync_wait = SimDuration(reaction.0 - lag.0 - stab_before.0);
    let policy = SimDuration(ticks(|t| t.rate_limited_up, last_up) * period.0).min(last_up.since(first_up));
    let startup = a
        .events
        .iter()
        .rfind(|e| e.at == last_up && e.to > e.from)
        .map_or(SimDuration::ZERO, |e| e.ready_at.unwrap_or(to).min(to).since(last_up));
    let explained = lag.0 + stab.0 + sync_wait.0 + policy.0 + startup.0;
    let other = SimDuration(length.0.saturating_sub(explained));
    let at_max = ep.iter().any(|t| t.at_max);
    let (lo, hi) = (ep.iter().map(|t| t.current).min().unwrap_or(0), ep.iter().map(|t| t.desired).max().unwrap_or(0));
    let s = |d: SimDuration| format!("{:.0}s", d.as_secs_f64());
    let mut message = format!(
        "{name} was saturated (≥{:.0}% busy) for {} while its autoscaler went {lo} → {hi} replicas: \
         metric lag {}, sync period wait {}, stabilization {}, policy limit {}, pod start-up {}, other {} (syncs that saw no need yet: new pods without samples count as idle, or the load kept growing)",
        SATURATED * 100.0,
        s(length),
        s(lag),
        s(sync_wait),
        s(stab),
        s(policy),
        s(startup),
        s(other),
    );
    if at_max {
        message.push_str(&format!("; it reached max ({max})"));
    }
    Some(Finding {
        windows: Vec::new(),
        kind: FindingKind::AutoscalerSlow,
        subject: name.to_string(),
        from_s: from.as_secs_f64(),
        to_s: to.as_secs_f64(),
        message,
    })
}

/// Direction changes of the rescales; one finding per window with too many.
fn flapping(a: &Autoscaler, name: &str, warmup: SimTime) -> Option<Finding> {
    let mut changes: Vec<SimTime> = Vec::new();
    let mut last_dir = 0i8;
    for e in a.events.iter().filter(|e| e.at >= warmup) {
        let dir = if e.to > e.from { 1 } else { -1 };
        if last_dir != 0 && dir != last_dir {
            changes.push(e.at);
        }
        last_dir = dir;
    }
    let n = FLAP_CHANGES;
    let mut worst: Option<(usize, usize)> = None;
    let mut start = 0;
    for end in 0..changes.len() {
        while changes[end].since(changes[start]) > FLAP_WINDOW {
            start += 1;
        }
        let count = end + 1 - start;
        if count >= n && worst.is_none_or(|(s, e)| count > e + 1 - s) {
            worst = Some((start, end));
        }
    }
    let (s, e) = worst?;
    Some(Finding {
        windows: Vec::new(),
        kind: FindingKind::Flapping,
        subject: name.to_string(),
        from_s: changes[s].as_secs_f64(),
        to_s: changes[e].as_secs_f64(),
        message: format!(
            "{name}'s autoscaler changed direction {} times within {:.0} min ({} direction changes in the run): \
             consider a longer scale-down stabilization or a wider tolerance",
            e + 1 - s,
            FLAP_WINDOW.as_secs_f64() / 60.0,
            changes.len()
        ),
    })
}
