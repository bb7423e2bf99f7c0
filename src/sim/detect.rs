//! Findings judged window by window, as the run goes: saturation, pool
//! exhaustion, retry storms, and after each fault whether goodput came back
//! (`recovered`) or not (`metastable`). A leaf fed one series interval at a
//! time by `observe`; it keeps only open episodes and a short history, so
//! its memory does not grow with simulated time.
//!
//! **Windows.** Storms are judged per series interval (retries over first
//! tries is a ratio of counts, steady even over short intervals).
//! Saturation and pool exhaustion are judged over windows of consecutive
//! intervals spanning at least [`JUDGED_SPAN`] (or one interval when
//! intervals are longer): utilization over one second swings widely even in
//! a healthy system (a single busy period of a 100 ms service is a second
//! long), while a service that cannot keep up stays busy window after
//! window. A finding names the windows where its condition held; repeated
//! windows of one kind and subject are one finding.
//!
//! **Thresholds.** Saturation: busy cores ≥ [`SATURATION`] of the serving
//! cores. Pool exhaustion: admission slots in use ≥ [`POOL_FULL`] of the
//! slots on average, or attempts refused by admission (full queue,
//! `max_wait`) while every slot of a replica was taken. Retry storm:
//! attempts ≥ [`STORM_RATIO`] × first tries (and at least
//! [`STORM_MIN_EXTRA`] extra) — a storm is amplification by retries, so
//! its ratio is always above the threshold. Recovery: the success ratio
//! over [`RECOVERY_INTERVALS`] intervals back within 5% of its level over
//! the [`BASELINE_INTERVALS`] intervals before the fault.

use crate::engine::{SimDuration, SimTime};
use crate::metrics::{Finding, FindingKind, Hist, Window};
use crate::model::{FaultKind, Model, Slo, Stat};
use std::collections::VecDeque;

/// Saturation and pool exhaustion are judged over windows at least this long.
pub(crate) const JUDGED_SPAN: SimDuration = SimDuration::from_secs(30);
/// Busy share of the serving cores from which a window is saturated.
pub(crate) const SATURATION: f64 = 0.9;
/// Share of admission slots in use from which a window's pool is exhausted.
pub(crate) const POOL_FULL: f64 = 0.95;
/// Retries and hedges at least this many times the first tries make an
/// interval part of a retry storm.
pub(crate) const STORM_RATIO: f64 = 2.0;
/// Fewer retries than this in an interval never make a storm (noise).
pub(crate) const STORM_MIN_EXTRA: u64 = 20;
/// Goodput within this fraction of its level before a fault counts as recovered.
const RECOVERY_TOLERANCE: f64 = 0.05;
/// Intervals averaged before a fault (baseline) and after (recovery check).
pub(crate) const BASELINE_INTERVALS: usize = 30;
pub(crate) const RECOVERY_INTERVALS: usize = 5;
/// Windows listed per finding; more are counted, not listed.
const MAX_WINDOWS: usize = 200;

/// One service over one interval (or one judged window: the sum of its intervals).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ServiceSample {
    /// Core-nanoseconds busy, and available (serving replicas × cpus).
    pub busy_ns: u128,
    pub cores_ns: u128,
    /// Slot-nanoseconds in use, and available (0: unlimited).
    pub slots_ns: u128,
    pub slot_capacity_ns: u128,
    /// Every slot of some replica was taken at some point.
    pub pool_full: bool,
    /// Attempts refused by admission (full queue, `max_wait`).
    pub pool_rejected: u64,
    /// Attempts sent to the service, and how many were first tries.
    pub attempts: u64,
    pub first_attempts: u64,
}

impl ServiceSample {
    fn add(&mut self, o: &ServiceSample) {
        self.busy_ns += o.busy_ns;
        self.cores_ns += o.cores_ns;
        self.slots_ns += o.slots_ns;
        self.slot_capacity_ns += o.slot_capacity_ns;
        self.pool_full |= o.pool_full;
        self.pool_rejected += o.pool_rejected;
        self.attempts += o.attempts;
        self.first_attempts += o.first_attempts;
    }
}

/// Episodes of one condition at one subject: consecutive windows merge.
#[derive(Default)]
struct Track {
    windows: Vec<Window>,
    /// Windows beyond `MAX_WINDOWS`.
    more: u64,
    /// Time the condition held, ns.
    held_ns: u64,
    /// Sums over the windows where it held (meaning per kind).
    num: f64,
    den: f64,
    count: u64,
    peak: f64,
    /// End of the last window where it held (to merge the next one).
    last_to: Option<SimTime>,
}

impl Track {
    fn held(&mut self, from: SimTime, to: SimTime) {
        self.held_ns += to.since(from).0;
        let secs = |t: SimTime| t.as_secs_f64();
        if self.last_to == Some(from)
            && let Some(w) = self.windows.last_mut()
            && self.more == 0
        {
            w.to_s = secs(to);
        } else if self.windows.len() < MAX_WINDOWS {
            self.windows.push(Window { from_s: secs(from), to_s: secs(to) });
        } else {
            self.more += 1;
        }
        self.last_to = Some(to);
    }

    fn finding(&self, kind: FindingKind, subject: &str, message: String) -> Option<Finding> {
        let (first, last) = (self.windows.first()?, self.windows.last()?);
        Some(Finding {
            kind,
            subject: subject.to_string(),
            from_s: first.from_s,
            to_s: last.to_s,
            windows: self.windows.clone(),
            message,
        })
    }

    /// "in 3 windows from 60 s to 240 s, 150 s in all"
    fn when(&self) -> String {
        let n = self.windows.len() as u64 + self.more;
        let (Some(first), Some(last)) = (self.windows.first(), self.windows.last()) else {
            return String::new();
        };
        let held = self.held_ns as f64 / 1e9;
        if n == 1 {
            format!("from {:.0} s to {:.0} s", first.from_s, last.to_s)
        } else {
            format!("in {n} stretches from {:.0} s to {:.0} s, {held:.0} s in all", first.from_s, last.to_s)
        }
    }
}

/// What one workload with an SLO did over the judged window being filled.
pub(crate) struct SloWindow {
    pub latency: Hist,
    pub ok: u64,
    pub failed: u64,
}

impl SloWindow {
    pub fn new() -> Self {
        SloWindow { latency: Hist::new(2), ok: 0, failed: 0 }
    }
}

/// The windows where one SLO was missed, and the worst of them.
#[derive(Default)]
struct SloTrack {
    track: Track,
    /// Per latency bound, the worst value seen in a missed window (ms);
    /// the lowest success ratio.
    worst_ms: Vec<f64>,
    worst_success: Option<f64>,
}

/// Goodput around one fault.
struct Recovery {
    /// Interval indices: the fault starts in `at_i`, ends before `end_i`.
    at_i: u64,
    end_i: u64,
    baseline: Option<f64>,
    /// Totals since `end_i` (for the metastable verdict).
    after: (u64, u64),
    recovered_at: Option<u64>,
    judged: bool,
}

/// The findings detectors of a run.
pub(crate) struct Detectors {
    width: SimDuration,
    /// The first interval after the warm-up (storms), and the first wholly
    /// after it (recovery baselines).
    first_counted: u64,
    baseline_from: u64,
    /// Intervals closed so far.
    closed: u64,
    /// The judged window being filled: its start and per-service sums.
    span_from: SimTime,
    span: Vec<ServiceSample>,
    saturation: Vec<Track>,
    pool: Vec<Track>,
    storm: Vec<Track>,
    /// Storm details: entering requests over the storm intervals.
    storm_entering: Vec<u64>,
    recoveries: Vec<Option<Recovery>>,
    /// Per SLO of the model.
    slo: Vec<SloTrack>,
    /// The span of the last judged window (SLOs are judged with it).
    judged: Option<(SimTime, SimTime)>,
    /// (offered, ok) of the last intervals, newest last.
    history: VecDeque<(u64, u64)>,
}

impl Detectors {
    pub fn new(m: &Model, width: SimDuration, warmup: SimTime) -> Self {
        let n = m.services.len();
        let w = width.0.max(1);
        let recoveries = m
            .faults
            .iter()
            .map(|f| {
                // Pauses recur for as long as they last: no single trigger to recover from.
                let end = if matches!(f.kind, FaultKind::Pauses { .. }) { None } else { f.end() };
                end.map(|end| Recovery {
                    at_i: f.at.0 / w,
                    end_i: end.0.div_ceil(w),
                    baseline: None,
                    after: (0, 0),
                    recovered_at: None,
                    judged: false,
                })
            })
            .collect();
        Detectors {
            width,
            first_counted: warmup.0 / w,
            baseline_from: warmup.0.div_ceil(w),
            closed: 0,
            span_from: warmup,
            span: vec![ServiceSample::default(); n],
            saturation: (0..n).map(|_| Track::default()).collect(),
            pool: (0..n).map(|_| Track::default()).collect(),
            storm: (0..n).map(|_| Track::default()).collect(),
            storm_entering: vec![0; n],
            recoveries,
            slo: m
                .slo
                .iter()
                .map(|o| SloTrack { worst_ms: vec![0.0; o.latency.len()], ..SloTrack::default() })
                .collect(),
            judged: None,
            history: VecDeque::with_capacity(BASELINE_INTERVALS + 1),
        }
    }

    /// One series interval `[from, to)` closed: requests offered and ok over
    /// all workloads, and per service its sample.
    pub fn interval(&mut self, from: SimTime, to: SimTime, offered: u64, ok: u64, services: &[ServiceSample]) {
        let i = self.closed;
        self.closed += 1;
        self.recovery(i, offered, ok);
        if i < self.first_counted {
            return;
        }
        for (s, x) in services.iter().enumerate() {
            let stormy = x.attempts >= x.first_attempts + STORM_MIN_EXTRA
                && x.attempts as f64 >= STORM_RATIO * x.first_attempts.max(1) as f64;
            if stormy {
                let t = &mut self.storm[s];
                t.held(from, to);
                t.num += x.attempts as f64;
                t.den += x.first_attempts as f64;
                t.peak = t.peak.max(x.attempts as f64 / offered.max(1) as f64);
                self.storm_entering[s] += offered;
            }
            self.span[s].add(x);
        }
        if to.since(self.span_from) >= JUDGED_SPAN.max(self.width) {
            self.judge_span(to);
        }
    }

    /// The end of the run: a partly filled last window is judged too.
    pub fn finish(&mut self, end: SimTime) {
        if end > self.span_from {
            self.judge_span(end);
        }
    }

    /// The window judged at the last interval or at the end, if one was:
    /// the caller then judges the SLOs over it ([`Detectors::judge_slo`]).
    pub fn take_judged(&mut self) -> Option<(SimTime, SimTime)> {
        self.judged.take()
    }

    /// Judges each SLO over the window `[from, to)` just closed, from what
    /// its workload did then (`windows[workload]`), and empties those.
    pub fn judge_slo(&mut self, slos: &[Slo], (from, to): (SimTime, SimTime), windows: &mut [Option<SloWindow>]) {
        for (o, t) in slos.iter().zip(&mut self.slo) {
            let Some(w) = windows[o.workload.ix()].as_mut() else { continue };
            let mut missed = false;
            for (k, (stat, bound)) in o.latency.iter().enumerate() {
                if let Some(v) = window_stat(&w.latency, *stat)
                    && v > bound.0 as f64
                {
                    missed = true;
                    t.worst_ms[k] = t.worst_ms[k].max(v / 1e6);
                }
            }
            let done = w.ok + w.failed;
            if let (Some(least), true) = (o.success, done > 0) {
                let ratio = w.ok as f64 / done as f64;
                if ratio < least {
                    missed = true;
                    t.worst_success = Some(t.worst_success.map_or(ratio, |x: f64| x.min(ratio)));
                }
            }
            if missed {
                t.track.held(from, to);
            }
            *w = SloWindow::new();
        }
    }

    /// The findings of the SLOs: one per SLO missed over the run or in
    /// some window. `over_run[i]` is SLO i's verdict over the whole
    /// measured run and what was measured, in words.
    pub fn slo_findings(&self, slos: &[Slo], over_run: &[(bool, String)], out: &mut Vec<Finding>) {
        for ((o, t), (passed, measured)) in slos.iter().zip(&self.slo).zip(over_run) {
            let windows = !t.track.windows.is_empty();
            if *passed && !windows {
                continue;
            }
            let verdict = if *passed { "met over the run" } else { "missed over the run" };
            let mut message = format!("{} {verdict} its SLO ({}): {measured}", o.name, o.describe());
            if windows {
                let mut worst: Vec<String> = o
                    .latency
                    .iter()
                    .zip(&t.worst_ms)
                    .filter(|(_, w)| **w > 0.0)
                    .map(|((s, _), w)| format!("{} {}", s.word(), crate::metrics::format_ms(*w)))
                    .collect();
                if let Some(r) = t.worst_success {
                    worst.push(format!("success {:.2}%", 100.0 * r));
                }
                message.push_str(&format!(
                    "; missed in windows {} (each at least {:.0} s; worst {})",
                    t.track.when(),
                    JUDGED_SPAN.max(self.width).as_secs_f64(),
                    worst.join(", ")
                ));
            }
            let (from_s, to_s) = match (t.track.windows.first(), t.track.windows.last()) {
                (Some(a), Some(b)) => (a.from_s, b.to_s),
                _ => (0.0, 0.0),
            };
            out.push(Finding {
                kind: FindingKind::SloViolation,
                subject: o.name.clone(),
                from_s,
                to_s,
                windows: t.track.windows.clone(),
                message,
            });
        }
    }

    fn judge_span(&mut self, to: SimTime) {
        let from = std::mem::replace(&mut self.span_from, to);
        self.judged = Some((from, to));
        for (s, x) in self.span.iter_mut().enumerate() {
            let x = std::mem::take(x);
            if x.cores_ns > 0 {
                let util = x.busy_ns as f64 / x.cores_ns as f64;
                if util >= SATURATION {
                    let t = &mut self.saturation[s];
                    t.held(from, to);
                    t.num += x.busy_ns as f64;
                    t.den += x.cores_ns as f64;
                    t.peak = t.peak.max(util);
                }
            }
            if x.slot_capacity_ns > 0 {
                let used = x.slots_ns as f64 / x.slot_capacity_ns as f64;
                if used >= POOL_FULL || (x.pool_rejected > 0 && x.pool_full) {
                    let t = &mut self.pool[s];
                    t.held(from, to);
                    t.num += x.slots_ns as f64;
                    t.den += x.slot_capacity_ns as f64;
                    t.count += x.pool_rejected;
                    t.peak = t.peak.max(used);
                }
            }
        }
    }

    fn recovery(&mut self, i: u64, offered: u64, ok: u64) {
        let baseline_from = self.baseline_from;
        let history = &self.history;
        for r in self.recoveries.iter_mut().flatten() {
            if i == r.at_i {
                // Baseline: the intervals before the fault, after the warm-up.
                let from = baseline_from.max(r.at_i.saturating_sub(BASELINE_INTERVALS as u64));
                let n = (r.at_i - from.min(r.at_i)) as usize;
                let (o, k) = history.iter().rev().take(n).fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
                r.baseline = (o > 0).then(|| k as f64 / o as f64);
            }
            if i >= r.end_i {
                r.judged = true;
                r.after.0 += offered;
                r.after.1 += ok;
            }
        }
        self.history.push_back((offered, ok));
        if self.history.len() > BASELINE_INTERVALS.max(RECOVERY_INTERVALS) {
            self.history.pop_front();
        }
        // Recovered at k when the RECOVERY_INTERVALS from k (all after the
        // fault's end) are back near the baseline.
        let k = (i + 1).checked_sub(RECOVERY_INTERVALS as u64);
        let recent = self.history.iter().rev().take(RECOVERY_INTERVALS).fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
        for r in self.recoveries.iter_mut().flatten() {
            if r.recovered_at.is_some() {
                continue;
            }
            if let (Some(k), Some(before)) = (k, r.baseline)
                && k >= r.end_i
                && recent.0 > 0
                && recent.1 as f64 / recent.0 as f64 >= before * (1.0 - RECOVERY_TOLERANCE)
            {
                r.recovered_at = Some(k);
            }
        }
    }

    /// The findings, grouped: one per kind and subject.
    pub fn findings(&self, m: &Model, out: &mut Vec<Finding>) {
        for (s, svc) in m.services.iter().enumerate() {
            let name = &svc.name;
            let t = &self.saturation[s];
            out.extend(t.finding(
                FindingKind::Saturation,
                name,
                format!(
                    "{name} was saturated {}: its cores were {:.1}% busy on average then (at least {:.0}% over each {:.0} s window), peak {:.1}%",
                    t.when(),
                    100.0 * t.num / t.den.max(1.0),
                    100.0 * SATURATION,
                    JUDGED_SPAN.max(self.width).as_secs_f64(),
                    100.0 * t.peak
                ),
            ));
            let t = &self.pool[s];
            let limit = svc.max_in_flight.map_or_else(|| "adaptive".to_string(), |n| n.to_string());
            out.extend(t.finding(
                FindingKind::PoolExhausted,
                name,
                format!(
                    "{name}'s admission slots ({limit} per replica) ran out {}: {:.1}% in use on average then, all taken at times; {} attempts refused (full queue or max_wait)",
                    t.when(),
                    100.0 * t.num / t.den.max(1.0),
                    t.count
                ),
            ));
            let t = &self.storm[s];
            out.extend(t.finding(
                FindingKind::RetryStorm,
                name,
                format!(
                    "attempts at {name} were {:.1}x its first tries {}: {:.1} attempts per request entering the system (peak {:.1} in one interval)",
                    t.num / t.den.max(1.0),
                    t.when(),
                    t.num / self.storm_entering[s].max(1) as f64,
                    t.peak
                ),
            ));
        }
        self.recovery_findings(m, out);
    }

    fn recovery_findings(&self, m: &Model, out: &mut Vec<Finding>) {
        let secs = |i: u64| (i * self.width.0.max(1)) as f64 / 1e9;
        let mut found: Vec<Finding> = Vec::new();
        for (f, r) in m.faults.iter().zip(&self.recoveries) {
            let Some(r) = r else { continue };
            let (Some(before), true) = (r.baseline, r.judged) else { continue };
            let end = f.end().expect("a judged fault has an end");
            let subject = fault_subject(m, &f.kind);
            let (kind, to_s, message) = match r.recovered_at {
                Some(k) => (
                    FindingKind::Recovered,
                    secs(k),
                    format!(
                        "after the {} fault ({:.0} s to {:.0} s) goodput came back to within 5% of before ({:.1}% ok) {:.0} s after it ended",
                        f.kind.word(),
                        f.at.as_secs_f64(),
                        end.as_secs_f64(),
                        before * 100.0,
                        (secs(k) - end.as_secs_f64()).max(0.0)
                    ),
                ),
                None => (
                    FindingKind::Metastable,
                    secs(self.closed),
                    format!(
                        "the {} fault ended at {:.0} s but goodput did not recover by the end of the run: {:.1}% of requests ok after it, {:.1}% before",
                        f.kind.word(),
                        end.as_secs_f64(),
                        100.0 * r.after.1 as f64 / r.after.0.max(1) as f64,
                        before * 100.0
                    ),
                ),
            };
            let window = Window { from_s: end.as_secs_f64(), to_s };
            match found.iter_mut().find(|x| x.kind == kind && x.subject == subject) {
                Some(x) => {
                    x.windows.push(window);
                    x.to_s = x.to_s.max(to_s);
                    x.message = format!("{}; {message}", x.message);
                }
                None => {
                    found.push(Finding { kind, subject, from_s: window.from_s, to_s, windows: vec![window], message })
                }
            }
        }
        out.extend(found);
    }
}

/// A statistic of the latencies in `h`, in ns (`None` when it is empty).
fn window_stat(h: &Hist, stat: Stat) -> Option<f64> {
    if h.count() == 0 {
        return None;
    }
    Some(match stat.quantile() {
        Some(q) => h.quantile_ns(q).min(h.max_ns()) as f64,
        None if stat == Stat::Mean => h.mean_ns(),
        None => h.max_ns() as f64,
    })
}

/// What a fault hits, as findings name it: `db`, `api->db`, a cache.
pub(crate) fn fault_subject(m: &Model, k: &FaultKind) -> String {
    if let FaultKind::CacheFlush { cache } = k {
        return m.caches[cache.ix()].name.clone();
    }
    let names: Vec<&str> = k.services().iter().flatten().map(|s| m.services[s.ix()].name.as_str()).collect();
    names.join("->")
}
