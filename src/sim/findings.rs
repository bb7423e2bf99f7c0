//! Findings stated in words, computed at the end of a run from the
//! per-interval timeline: retry storms, and after each fault whether
//! goodput came back (`recovered`, with the time it took) or not
//! (`metastable`). Saturation and pool exhaustion are judged in `finish`.

use super::World;
use crate::metrics::{Finding, FindingKind};
use crate::model::FaultKind;

/// Retries and hedges at least this many times the first tries make an
/// interval part of a retry storm.
pub(crate) const STORM_RATIO: f64 = 2.0;
/// Fewer retries than this in an interval never make a storm (noise).
const STORM_MIN_EXTRA: u64 = 20;
/// Goodput within this fraction of its level before a fault counts as recovered.
const RECOVERY_TOLERANCE: f64 = 0.05;
/// Intervals averaged before a fault (baseline) and after (recovery check).
const BASELINE_INTERVALS: usize = 30;
const RECOVERY_INTERVALS: usize = 5;

pub(crate) fn storms(w: &World, out: &mut Vec<Finding>) {
    let tl = &w.stats.timeline;
    let width = w.stats.interval.as_secs_f64();
    let first_counted = (w.warmup.0 / w.stats.interval.0.max(1)) as usize;
    for (s, svc) in w.m.services.iter().enumerate() {
        let (att, first) = (&tl.attempts[s], &tl.first_attempts[s]);
        let mut i = first_counted;
        while i < att.len() {
            let stormy = |k: usize| {
                att[k] >= first[k] + STORM_MIN_EXTRA && att[k] as f64 >= STORM_RATIO * first[k].max(1) as f64
            };
            if !stormy(i) {
                i += 1;
                continue;
            }
            let from = i;
            while i < att.len() && stormy(i) {
                i += 1;
            }
            let (a, f): (u64, u64) = (att[from..i].iter().sum(), first[from..i].iter().sum());
            let entering: u64 = tl.offered[from..i].iter().sum();
            let peak = (from..i).map(|k| att[k] as f64 / tl.offered[k].max(1) as f64).fold(0.0f64, f64::max);
            out.push(Finding {
                windows: Vec::new(),
                kind: FindingKind::RetryStorm,
                subject: svc.name.clone(),
                from_s: from as f64 * width,
                to_s: i as f64 * width,
                message: format!(
                    "attempts at {} reached {:.1}x the requests entering the system (peak {:.1}x), {:.1}x its first tries, from {:.0} s to {:.0} s",
                    svc.name,
                    a as f64 / entering.max(1) as f64,
                    peak,
                    a as f64 / f.max(1) as f64,
                    from as f64 * width,
                    i as f64 * width
                ),
            });
        }
    }
}

/// Success ratio (ok / offered) over intervals `range`.
fn ratio(w: &World, range: std::ops::Range<usize>) -> Option<f64> {
    let tl = &w.stats.timeline;
    let n = tl.offered.len();
    let range = range.start.min(n)..range.end.min(n);
    let off: u64 = tl.offered[range.clone()].iter().sum();
    let ok: u64 = tl.ok[range].iter().sum();
    (off > 0).then(|| ok as f64 / off as f64)
}

pub(crate) fn recovery(w: &World, out: &mut Vec<Finding>) {
    let tl = &w.stats.timeline;
    let width = w.stats.interval.0.max(1);
    let n = tl.offered.len();
    for f in &w.m.faults {
        // Pauses recur for as long as they last: no single trigger to recover from.
        let end = if matches!(f.kind, FaultKind::Pauses { .. }) { None } else { f.end() };
        let Some(end) = end else { continue };
        let at_i = (f.at.0 / width) as usize;
        let end_i = end.0.div_ceil(width) as usize;
        let first = (w.warmup.0.div_ceil(width) as usize).max(at_i.saturating_sub(BASELINE_INTERVALS));
        let Some(before) = (first < at_i).then(|| ratio(w, first..at_i)).flatten() else { continue };
        if end_i >= n {
            continue; // the fault lasts to the end: nothing to judge
        }
        let subject = fault_subject(w, &f.kind);
        let recovered_at = (end_i..n.saturating_sub(RECOVERY_INTERVALS - 1))
            .find(|&k| ratio(w, k..k + RECOVERY_INTERVALS).is_some_and(|r| r >= before * (1.0 - RECOVERY_TOLERANCE)));
        let secs = |i: usize| (i as u64 * width) as f64 / 1e9;
        out.push(match recovered_at {
            Some(k) => Finding {
                windows: Vec::new(),
                kind: FindingKind::Recovered,
                subject,
                from_s: end.as_secs_f64(),
                to_s: secs(k),
                message: format!(
                    "after the {} fault ({:.0} s to {:.0} s) goodput came back to within 5% of before ({:.1}% ok) {:.0} s after it ended",
                    f.kind.word(),
                    f.at.as_secs_f64(),
                    end.as_secs_f64(),
                    before * 100.0,
                    (secs(k) - end.as_secs_f64()).max(0.0)
                ),
            },
            None => {
                let after = ratio(w, end_i..n).unwrap_or(0.0);
                Finding {
                    windows: Vec::new(),
                    kind: FindingKind::Metastable,
                    subject,
                    from_s: end.as_secs_f64(),
                    to_s: secs(n),
                    message: format!(
                        "the {} fault ended at {:.0} s but goodput did not recover by the end of the run: {:.1}% of requests ok after it, {:.1}% before",
                        f.kind.word(),
                        end.as_secs_f64(),
                        after * 100.0,
                        before * 100.0
                    ),
                }
            }
        });
    }
}

/// The schedule as it ran, for the result.
pub(crate) fn fault_results(w: &World) -> Vec<crate::metrics::FaultResult> {
    w.m.faults
        .iter()
        .filter(|f| f.at <= w.end)
        .map(|f| {
            let end = f.end();
            crate::metrics::FaultResult {
                kind: f.kind.word().into(),
                subject: fault_subject(w, &f.kind),
                at_s: f.at.as_secs_f64(),
                end_s: end.filter(|&e| e <= w.end).map(|e| e.as_secs_f64()),
            }
        })
        .collect()
}

fn fault_subject(w: &World, k: &FaultKind) -> String {
    if let FaultKind::CacheFlush { cache } = k {
        return w.m.caches[cache.ix()].name.clone();
    }
    let names: Vec<&str> = k.services().iter().flatten().map(|s| w.m.services[s.ix()].name.as_str()).collect();
    names.join("->")
}
