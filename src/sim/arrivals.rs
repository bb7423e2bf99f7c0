//! Workloads: open-loop arrivals shaped over time, and closed-loop users.
//!
//! Open loop, Poisson: a non-homogeneous Poisson process by thinning —
//! candidates at the peak rate `rate · max(shape)`, each kept with
//! probability `shape(t) / max(shape)`; exact for any shape. Uniform and
//! deterministic arrivals draw a unit-rate gap (U(0, 2) or 1) and divide it by
//! the rate at the gap's start: exact for constant rates, and close when the
//! shape changes slowly relative to a gap. Each workload has its own streams,
//! so changing one service never moves another workload's arrivals.
//!
//! A leaf: it draws times; the event handling is `flow`'s.

use super::ids::WorkloadId;
use super::trace::{self, TraceState};
use crate::engine::{RngStream, SimDuration, SimTime};
use crate::model::{Arrivals, Model, Shape, WorkloadKind};

pub(crate) struct WorkloadState {
    arrivals: RngStream,
    /// Thinning acceptance draws.
    thinning: RngStream,
    /// Think times (closed loop).
    think: RngStream,
    /// On/off state of each `bursts` shape: (currently on, state ends at).
    bursts: Vec<(bool, SimTime)>,
    bursts_rng: RngStream,
    /// Upper bound of the product of shape factors.
    shape_max: f64,
    /// A replayed trace's reader.
    pub(crate) trace: Option<Box<TraceState>>,
}

pub(crate) fn init(m: &Model, seed: u64) -> Vec<WorkloadState> {
    m.workloads
        .iter()
        .map(|w| {
            let shape: &[Shape] = match &w.kind {
                WorkloadKind::Open { shape, .. } => shape,
                WorkloadKind::Closed { .. } | WorkloadKind::Trace(_) => &[],
            };
            let n_bursts = shape.iter().filter(|s| matches!(s, Shape::Bursts { .. })).count();
            WorkloadState {
                arrivals: RngStream::derive(seed, "arrivals", &w.name),
                thinning: RngStream::derive(seed, "thinning", &w.name),
                think: RngStream::derive(seed, "think", &w.name),
                bursts: vec![(true, SimTime::ZERO); n_bursts], // flips to off at once
                bursts_rng: RngStream::derive(seed, "bursts", &w.name),
                shape_max: shape.iter().map(factor_max).product(),
                trace: match &w.kind {
                    WorkloadKind::Trace(t) => Some(Box::new(TraceState::new(t, seed, &w.name, m.attributes.len()))),
                    _ => None,
                },
            }
        })
        .collect()
}

fn factor_max(s: &Shape) -> f64 {
    match s {
        Shape::Diurnal { min, max, .. } => min.max(*max),
        Shape::Ramp { from, to, .. } => from.max(*to),
        Shape::Linear(p) => p.max(),
        Shape::Spike { factor, .. } => factor.max(1.0),
        Shape::Steps(steps) => steps.iter().map(|s| s.1).fold(1.0, f64::max),
        Shape::Bursts { factor, .. } => factor.max(1.0),
    }
}

/// The initial think time of a closed-loop user (users start mid-think,
/// so they do not all fire at t = 0), or the next one after an answer.
pub(crate) fn think(m: &Model, st: &mut WorkloadState, wl: WorkloadId) -> Option<SimDuration> {
    match &m.workloads[wl.ix()].kind {
        WorkloadKind::Closed { think, .. } => Some(m.dist(*think).sample(&mut st.think)),
        WorkloadKind::Open { .. } | WorkloadKind::Trace(_) => None,
    }
}

/// When closed-loop user `user` (from 0) may next send a request: `now`
/// unless the workload's k6-style schedule has fewer users active now, then
/// the first time it has enough (`None`: never again). User `i` is active
/// while the schedule is at least `i + 1`.
pub(crate) fn user_active_from(m: &Model, wl: WorkloadId, user: u32, now: SimTime) -> Option<SimTime> {
    match &m.workloads[wl.ix()].kind {
        WorkloadKind::Closed { schedule: Some(p), .. } => p.first_at_least(f64::from(user) + 1.0, now),
        _ => Some(now),
    }
}

/// The time of the next open-loop arrival after `now`, if any before the end.
pub(crate) fn next_arrival(
    m: &Model,
    st: &mut WorkloadState,
    wl: WorkloadId,
    now: SimTime,
    end: SimTime,
) -> Option<SimTime> {
    let (rate_per_s, arrivals, shape) = match &m.workloads[wl.ix()].kind {
        WorkloadKind::Open { rate_per_s, arrivals, shape } => (rate_per_s, arrivals, shape),
        WorkloadKind::Trace(t) => return trace::next(t, st.trace.as_mut()?, now, end),
        WorkloadKind::Closed { .. } => return None,
    };
    let peak = rate_per_s * st.shape_max;
    if peak <= 0.0 || !peak.is_finite() {
        return None;
    }
    let mut t = now;
    match arrivals {
        Arrivals::Poisson => loop {
            t += SimDuration::from_secs_f64(st.arrivals.exp(1.0 / peak)).max(SimDuration(1));
            if t > end {
                return None;
            }
            if shape.is_empty() {
                return Some(t);
            }
            let f = factor(m, shape, st, t);
            if st.thinning.unit() * st.shape_max < f {
                return Some(t);
            }
        },
        Arrivals::Uniform | Arrivals::Deterministic => loop {
            let unit_gap = if *arrivals == Arrivals::Uniform { 2.0 * st.arrivals.unit() } else { 1.0 };
            let f = if shape.is_empty() { 1.0 } else { factor(m, shape, st, t) };
            if f <= 1e-12 {
                // No traffic now: look again a second later.
                t += SimDuration::from_secs(1);
            } else {
                t += SimDuration::from_secs_f64(unit_gap / (rate_per_s * f)).max(SimDuration(1));
                return (t <= end).then_some(t);
            }
            if t > end {
                return None;
            }
        },
    }
}

/// The product of the shape factors at `t`. `t` never decreases between
/// calls for one workload, which lets bursts advance their on/off state.
fn factor(m: &Model, shape: &[Shape], st: &mut WorkloadState, t: SimTime) -> f64 {
    let mut f = 1.0;
    let mut burst_ix = 0;
    let secs = t.as_secs_f64();
    for s in shape {
        f *= match s {
            Shape::Diurnal { period, min, max, peak_at } => {
                let phase = (secs - peak_at.as_secs_f64()) / period.as_secs_f64();
                min + (max - min) * (1.0 + (2.0 * std::f64::consts::PI * phase).cos()) / 2.0
            }
            Shape::Ramp { from, to, over, at } => {
                let into = t.0.saturating_sub(at.0);
                let x = if over.0 == 0 { 1.0 } else { (into as f64 / over.0 as f64).min(1.0) };
                from + (to - from) * x
            }
            Shape::Linear(p) => p.at(t),
            Shape::Spike { at, duration, factor } => {
                if t >= *at && t < *at + *duration {
                    *factor
                } else {
                    1.0
                }
            }
            Shape::Steps(steps) => steps.iter().take_while(|(from, _)| *from <= t).last().map_or(1.0, |s| s.1),
            Shape::Bursts { on, off, factor } => {
                let (is_on, until) = &mut st.bursts[burst_ix];
                burst_ix += 1;
                while *until <= t {
                    *is_on = !*is_on;
                    let d = if *is_on { m.dist(*on) } else { m.dist(*off) };
                    *until += d.sample(&mut st.bursts_rng).max(SimDuration(1));
                }
                if *is_on { *factor } else { 1.0 }
            }
        };
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_max_bounds_each_shape() {
        assert_eq!(factor_max(&Shape::Spike { at: SimTime(0), duration: SimDuration(1), factor: 3.0 }), 3.0);
        assert_eq!(factor_max(&Shape::Spike { at: SimTime(0), duration: SimDuration(1), factor: 0.5 }), 1.0);
        assert_eq!(factor_max(&Shape::Ramp { from: 0.1, to: 2.0, over: SimDuration(1), at: SimTime(0) }), 2.0);
        assert_eq!(factor_max(&Shape::Steps(vec![(SimTime(0), 0.5), (SimTime(9), 4.0)])), 4.0);
    }
}
