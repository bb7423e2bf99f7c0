//! From the raw proposal to the new replica count (hpa.md §5): the legacy
//! path (`stabilizeRecommendation`, `convertDesiredReplicasWithRules`) and
//! the `behavior` path (`stabilizeRecommendationWithBehaviors`,
//! `convertDesiredReplicasWithBehaviorRate` and the limit functions), plus
//! scale-event storage (`storeScaleEvent`, §5.3).
//!
//! Time comparisons follow upstream exactly: behavior windows and policy
//! periods count entries strictly after `now - window`; the legacy window
//! keeps entries not before `now - window`; a recommendation is stale when
//! strictly before both cutoffs.

use super::{Recommendation, ScaleEvent, after_cutoff, before_cutoff};
use crate::engine::{SimDuration, SimTime};
use crate::model::{Behavior, PolicyKind, ScalingRules, SelectPolicy};

/// Whether a stabilization window changed the proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stabilization {
    /// `ReadyForNewScale`: the proposal passed unchanged.
    None,
    /// Held below the proposal by the lowest recent recommendation.
    ScaleUpStabilized,
    /// Held above the proposal by the highest recent recommendation.
    ScaleDownStabilized,
}

/// What set a rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedBy {
    /// Index into the direction's `policies` (the one `select` picked).
    Policy(usize),
    /// `select: disabled`: no scaling in this direction.
    Disabled,
    /// Legacy path: `max(factor·current, minimum)` per sync.
    LegacyCap,
}

/// The `ScalingLimited` condition: whether and how the stabilized count was
/// limited. Variants are named after upstream's condition reasons.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    DesiredWithinRange,
    /// Increasing faster than the scale-up rate allows.
    ScaleUpLimit(LimitedBy),
    /// Decreasing faster than the scale-down rate allows.
    ScaleDownLimit(LimitedBy),
    /// Clamped to `max`.
    TooManyReplicas,
    /// Clamped to `min`.
    TooFewReplicas,
}

impl Limit {
    /// Upstream's condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Limit::DesiredWithinRange => "DesiredWithinRange",
            Limit::ScaleUpLimit(_) => "ScaleUpLimit",
            Limit::ScaleDownLimit(_) => "ScaleDownLimit",
            Limit::TooManyReplicas => "TooManyReplicas",
            Limit::TooFewReplicas => "TooFewReplicas",
        }
    }
}

fn to_i32(x: i64) -> i32 {
    x.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Stores `(desired, now)` in the slot of the last stale entry, else
/// appends.
fn record(recs: &mut Vec<Recommendation>, stale: Option<usize>, desired: i32, now: SimTime) {
    let rec = Recommendation { replicas: desired, at: now };
    match stale {
        Some(i) => recs[i] = rec,
        None => recs.push(rec),
    }
}

/// `stabilizeRecommendation`: the highest recommendation not older than
/// `window` (inclusive), the proposal included; records the proposal.
pub(crate) fn stabilize_legacy(recs: &mut Vec<Recommendation>, now: SimTime, window: SimDuration, desired: i32) -> i32 {
    let mut max = desired;
    let mut stale = None;
    for (i, r) in recs.iter().enumerate() {
        if before_cutoff(r.at, now, window) {
            stale = Some(i);
        } else if r.replicas > max {
            max = r.replicas;
        }
    }
    record(recs, stale, desired, now);
    max
}

/// `convertDesiredReplicasWithRules`: clamps to `[min, max]` with the
/// legacy per-sync scale-up cap `max(factor·current, minimum)`.
pub(crate) fn convert_with_rules(
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    factor: f64,
    minimum: f64,
) -> (i32, Limit) {
    let cap = (factor * f64::from(current)).max(minimum) as i32;
    let (max_allowed, limit) =
        if max > cap { (cap, Limit::ScaleUpLimit(LimitedBy::LegacyCap)) } else { (max, Limit::TooManyReplicas) };
    if desired < min {
        (min, Limit::TooFewReplicas)
    } else if desired > max_allowed {
        (max_allowed, limit)
    } else {
        (desired, Limit::DesiredWithinRange)
    }
}

/// `stabilizeRecommendationWithBehaviors`: scale up at most to the lowest
/// recommendation of the up window, down at most to the highest of the
/// down window (both include the proposal); records the raw proposal.
pub(crate) fn stabilize_with_behavior(
    recs: &mut Vec<Recommendation>,
    now: SimTime,
    b: &Behavior,
    current: i32,
    desired: i32,
) -> (i32, Stabilization) {
    let (up_w, down_w) = (b.scale_up.stabilization, b.scale_down.stabilization);
    let (mut up, mut down) = (desired, desired);
    let mut stale = None;
    for (i, r) in recs.iter().enumerate() {
        if after_cutoff(r.at, now, up_w) {
            up = up.min(r.replicas);
        }
        if after_cutoff(r.at, now, down_w) {
            down = down.max(r.replicas);
        }
        if before_cutoff(r.at, now, up_w) && before_cutoff(r.at, now, down_w) {
            stale = Some(i);
        }
    }
    let mut stab = current;
    if stab < up {
        stab = up;
    }
    if stab > down {
        stab = down;
    }
    record(recs, stale, desired, now);
    let how = if stab == desired {
        Stabilization::None
    } else if desired >= current {
        Stabilization::ScaleUpStabilized
    } else {
        Stabilization::ScaleDownStabilized
    };
    (stab, how)
}

/// `getReplicasChangePerPeriod`: the changes of events strictly within the
/// last `period`.
pub(crate) fn change_in(events: &[ScaleEvent], now: SimTime, period: SimDuration) -> i64 {
    events.iter().filter(|e| after_cutoff(e.at, now, period)).map(|e| i64::from(e.change)).sum()
}

/// The replicas at the start of `period`, rebuilt from both directions'
/// events.
fn period_start(current: i32, up: &[ScaleEvent], down: &[ScaleEvent], now: SimTime, period: SimDuration) -> i64 {
    i64::from(current) - change_in(up, now, period) + change_in(down, now, period)
}

/// Picks among per-policy proposals: `want_max` keeps the largest.
fn select(proposals: impl Iterator<Item = i32>, want_max: bool) -> Option<(i32, usize)> {
    let mut best: Option<(i32, usize)> = None;
    for (i, v) in proposals.enumerate() {
        let better = match best {
            None => true,
            Some((b, _)) => (want_max && v > b) || (!want_max && v < b),
        };
        if better {
            best = Some((v, i));
        }
    }
    best
}

/// `calculateScaleUpLimitWithScalingRules`.
pub(crate) fn scale_up_limit(
    now: SimTime,
    current: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ScalingRules,
) -> (i32, LimitedBy) {
    let want_max = match rules.select {
        SelectPolicy::Disabled => return (current, LimitedBy::Disabled),
        SelectPolicy::Min => false,
        SelectPolicy::Max => true,
    };
    let proposals = rules.policies.iter().map(|p| {
        let start = period_start(current, up, down, now, p.period);
        match p.kind {
            PolicyKind::Pods => to_i32(start + i64::from(p.value)),
            PolicyKind::Percent => (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32,
        }
    });
    match select(proposals, want_max) {
        Some((v, i)) => (v, LimitedBy::Policy(i)),
        // No policy: upstream's initial value, floored at current later.
        None => (if want_max { i32::MIN } else { i32::MAX }, LimitedBy::Disabled),
    }
}

/// `calculateScaleDownLimitWithBehaviors`.
pub(crate) fn scale_down_limit(
    now: SimTime,
    current: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ScalingRules,
) -> (i32, LimitedBy) {
    // "Max" is the policy allowing the biggest change: the lowest count.
    let want_max = match rules.select {
        SelectPolicy::Disabled => return (current, LimitedBy::Disabled),
        SelectPolicy::Min => true,
        SelectPolicy::Max => false,
    };
    let proposals = rules.policies.iter().map(|p| {
        let start = period_start(current, up, down, now, p.period);
        match p.kind {
            PolicyKind::Pods => to_i32(start - i64::from(p.value)),
            // Truncation toward zero, as Go's int32(float64).
            PolicyKind::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i32,
        }
    });
    match select(proposals, want_max) {
        Some((v, i)) => (v, LimitedBy::Policy(i)),
        None => (if want_max { i32::MIN } else { i32::MAX }, LimitedBy::Disabled),
    }
}

/// `convertDesiredReplicasWithBehaviorRate`: rate limits from the event
/// history, then `[min, max]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn convert_with_behavior_rate(
    now: SimTime,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    b: &Behavior,
) -> (i32, Limit) {
    if desired > current {
        let (mut lim, by) = scale_up_limit(now, current, up, down, &b.scale_up);
        if lim < current {
            lim = current;
        }
        let (allowed, limit) = if max > lim { (lim, Limit::ScaleUpLimit(by)) } else { (max, Limit::TooManyReplicas) };
        if desired > allowed {
            return (allowed, limit);
        }
    } else if desired < current {
        let (mut lim, by) = scale_down_limit(now, current, up, down, &b.scale_down);
        if lim > current {
            lim = current;
        }
        let (allowed, limit) = if min < lim { (lim, Limit::ScaleDownLimit(by)) } else { (min, Limit::TooFewReplicas) };
        if desired < allowed {
            return (allowed, limit);
        }
    }
    (desired, Limit::DesiredWithinRange)
}

/// `storeScaleEvent`: after a rescale from `prev` to `new`, flags events of
/// that direction older than its longest policy period as outdated and
/// overwrites the last outdated one, else appends. Nothing is stored
/// without `behavior`.
pub(crate) fn store_scale_event(
    up: &mut Vec<ScaleEvent>,
    down: &mut Vec<ScaleEvent>,
    behavior: Option<&Behavior>,
    now: SimTime,
    prev: i32,
    new: i32,
) {
    let Some(b) = behavior else { return };
    let (events, longest, change) = if new > prev {
        (up, b.scale_up.longest_period(), new - prev)
    } else {
        (down, b.scale_down.longest_period(), prev - new)
    };
    let mut slot = None;
    for (i, e) in events.iter_mut().enumerate() {
        if before_cutoff(e.at, now, longest) {
            e.outdated = true;
        }
        if e.outdated {
            slot = Some(i);
        }
    }
    let ev = ScaleEvent { change, at: now, outdated: false };
    match slot {
        Some(i) => events[i] = ev,
        None => events.push(ev),
    }
}
