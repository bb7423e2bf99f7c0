//! Static load estimate: how busy each service's cores would be, before
//! anything runs. Per service, the offered rate of every workload × its
//! expected visits per request × the mean CPU work of a visit, summed over
//! workloads, against the service's cores (replicas × cpus, and
//! `autoscale.max` × cpus for an autoscaled one). This is the utilization
//! law (U = X · D) with X the offered rate: exact for the long-run
//! utilization of a stable open network, whatever the distributions.
//!
//! What it counts: first attempts only — retries and hedges add to it;
//! `repeat` counts, `branch` weights, `probability`, cache hit ratios and
//! `fail` steps through the expected visits ([`super::instruction_mass`]);
//! every branch of a `parallel` in full (also under `wait: any`, where the
//! losers may be cut short); callers that fail stop calling only through
//! `fail` steps (a failing callee is assumed to succeed). Delays and the
//! network take no core.
//!
//! Rates: an open workload's `rate` as written (the base) and at the peak
//! of its `shape` over the run ([`shape_peak`]: the product of each
//! shape's peak, exact for one shape and a bound for several). A closed
//! loop of `users` thinking `think` sends at most `users / mean think`
//! requests per second (its response time only lowers it): an upper bound,
//! not an estimate; none with zero think time.

#[cfg(doc)]
use super::Analysis;
use super::instruction_mass;
use crate::engine::{SimDuration, SimTime};
use crate::model::{Instr, Model, Shape, WorkloadKind};

/// What one workload offers, in requests per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Offered {
    /// Open: `rate` as written. Closed: the bound `users / mean think`;
    /// `None` with a zero mean think time (no static bound).
    pub base_per_s: Option<f64>,
    /// At the peak of the shape over the run; the base without a shape and
    /// for a closed loop.
    pub peak_per_s: Option<f64>,
    /// A closed loop: both rates are upper bounds.
    pub closed: bool,
}

impl Offered {
    /// Whether the peak differs from the base (a shape that changes it).
    pub fn shaped(&self) -> bool {
        self.base_per_s != self.peak_per_s
    }
}

/// The estimated CPU load of one service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceLoad {
    /// Per workload: mean CPU seconds one of its requests costs here.
    pub cpu_s_per_request: Vec<f64>,
    /// Cores busy on average with every workload at its base rate.
    pub busy_cores: f64,
    /// Cores busy with every workload at its peak at once (a bound when
    /// several shaped workloads do not peak together).
    pub busy_cores_peak: f64,
    /// `replicas × cpus` (an autoscaled service's starting replicas).
    pub cores: f64,
    /// `autoscale.max × cpus` for an autoscaled service.
    pub cores_max: Option<f64>,
    /// Cores of one replica.
    pub cpus: u32,
}

impl ServiceLoad {
    /// The fewest replicas that keep `busy` cores below 100% busy.
    pub fn replicas_needed(&self, busy: f64) -> u64 {
        (busy / self.cpus.max(1) as f64).floor() as u64 + 1
    }
}

/// The load estimate of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    /// Per workload.
    pub workloads: Vec<Offered>,
    /// Per service.
    pub services: Vec<ServiceLoad>,
}

/// Mean CPU seconds one visit of an endpoint with this code uses: every
/// `work` step's mean times its expected executions per visit.
pub fn cpu_s_per_visit(m: &Model, code: &[Instr]) -> f64 {
    let mass = instruction_mass(m, code);
    let ns: f64 = code
        .iter()
        .zip(&mass)
        .filter_map(|(ins, x)| match ins {
            Instr::Work(d) => Some(x * m.dist(*d).mean_ns()),
            _ => None,
        })
        .sum();
    ns / 1e9
}

/// The largest factor `shape` reaches during the first `run` of simulated
/// time (a `bursts` shape: its factor, or 1, as an on period may come any
/// time).
pub fn shape_peak(shape: &Shape, run: SimDuration) -> f64 {
    let run_s = run.as_secs_f64();
    match shape {
        Shape::Diurnal { period, min, max, peak_at } => {
            let p = period.as_secs_f64();
            if p <= 0.0 {
                return min.max(*max);
            }
            let f = |t: f64| {
                min + (max - min) * (1.0 + (2.0 * std::f64::consts::PI * (t - peak_at.as_secs_f64()) / p).cos()) / 2.0
            };
            // The extremes of the cosine in [0, run], and the ends.
            let first_peak = peak_at.as_secs_f64().rem_euclid(p);
            let first_trough = (peak_at.as_secs_f64() + p / 2.0).rem_euclid(p);
            [0.0, run_s, first_peak, first_trough]
                .into_iter()
                .filter(|&t| t <= run_s)
                .map(f)
                .fold(f64::NEG_INFINITY, f64::max)
        }
        Shape::Ramp { from, to, over, at } => {
            let into = run.0.saturating_sub(at.0);
            let x = if over.0 == 0 { 1.0 } else { (into as f64 / over.0 as f64).min(1.0) };
            from.max(from + (to - from) * x)
        }
        Shape::Linear(p) => {
            let end = SimTime(run.0);
            p.points().iter().filter(|q| q.0 < end).map(|q| q.1).fold(p.at(SimTime::ZERO).max(p.at(end)), f64::max)
        }
        Shape::Spike { at, duration, factor } => {
            if at.0 < run.0 && duration.0 > 0 {
                factor.max(1.0)
            } else {
                1.0
            }
        }
        Shape::Steps(steps) => {
            let before = if steps.first().is_none_or(|s| s.0.0 > 0) { 1.0 } else { f64::NEG_INFINITY };
            steps.iter().filter(|s| s.0.0 < run.0).map(|s| s.1).fold(before, f64::max)
        }
        Shape::Bursts { factor, .. } => factor.max(1.0),
    }
}

/// The base and peak offered rates of every workload over a run of `run`.
fn offered(m: &Model, run: SimDuration) -> Vec<Offered> {
    m.workloads
        .iter()
        .map(|w| match &w.kind {
            WorkloadKind::Open { rate_per_s, shape, .. } => {
                let peak = shape.iter().map(|s| shape_peak(s, run)).product::<f64>();
                Offered { base_per_s: Some(*rate_per_s), peak_per_s: Some(rate_per_s * peak), closed: false }
            }
            WorkloadKind::Closed { users, think, .. } => {
                let think_s = m.dist(*think).mean_ns() / 1e9;
                let bound = (think_s > 0.0).then(|| *users as f64 / think_s);
                Offered { base_per_s: bound, peak_per_s: bound, closed: true }
            }
            WorkloadKind::Trace(t) => {
                // The window's mean rate; the trace's own peaks are not known here.
                let mean = Some(t.mean_rate_per_s());
                Offered { base_per_s: mean, peak_per_s: mean, closed: false }
            }
        })
        .collect()
}

/// The load estimate (see the module docs) from the expected visits of
/// every endpoint per request of each workload ([`Analysis::visits`]).
pub fn estimate_load(m: &Model, visits: &[Vec<f64>]) -> Load {
    let workloads = offered(m, m.duration);
    let per_visit: Vec<f64> = m.endpoints.iter().map(|e| cpu_s_per_visit(m, &e.code)).collect();
    let services = m
        .services
        .iter()
        .map(|s| {
            let cpu_s_per_request: Vec<f64> =
                visits.iter().map(|v| s.endpoints.iter().map(|e| v[e.ix()] * per_visit[e.ix()]).sum()).collect();
            let busy = |rate: fn(&Offered) -> Option<f64>| -> f64 {
                workloads
                    .iter()
                    .zip(&cpu_s_per_request)
                    .filter(|(_, c)| **c > 0.0)
                    .filter_map(|(w, c)| Some(rate(w)? * c))
                    .sum()
            };
            ServiceLoad {
                busy_cores: busy(|w| w.base_per_s),
                busy_cores_peak: busy(|w| w.peak_per_s),
                cpu_s_per_request,
                cores: (s.replicas * s.cpus) as f64,
                cores_max: s.autoscale.as_ref().map(|x| (x.max * s.cpus) as f64),
                cpus: s.cpus,
            }
        })
        .collect();
    Load { workloads, services }
}

#[cfg(test)]
mod tests;
