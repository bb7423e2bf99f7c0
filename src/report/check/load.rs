//! The "estimated load" section of `stormcast check` and its findings, in
//! words: the offered rate of each workload (base, at the peak of its
//! shape, or the upper bound of a closed loop) and how busy each service's
//! cores would be ([`crate::model::analysis::load`] computes the numbers).

use super::super::table::{Align, Table, amount};
use crate::engine::SimDuration;
use crate::model::analysis::{Load, Offered, ServiceLoad};
use crate::model::{Model, WorkloadKind};
use std::fmt::Write;

/// Utilization from which a service is "close to saturation".
const NEAR_SATURATION: f64 = 0.9;

/// A utilization as a percentage: one decimal below 10%.
fn pct(u: f64) -> String {
    let p = u * 100.0;
    if p < 10.0 { format!("{p:.1}%") } else { format!("{}%", amount(p.round())) }
}

/// `≤` before a figure that counts a closed loop at its upper bound.
fn bound(closed: bool) -> &'static str {
    if closed { "≤" } else { "" }
}

fn rate(r: Option<f64>, closed: bool) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{}{}", bound(closed), amount(r)))
}

/// What a closed loop's bound is made of: `10 users / 90ms mean think`.
fn closed_note(m: &Model, w: usize) -> String {
    match &m.workloads[w].kind {
        WorkloadKind::Closed { users, think, .. } => {
            let think = SimDuration::from_secs_f64(m.dist(*think).mean_ns() / 1e9);
            format!("{users} users / {think} mean think")
        }
        WorkloadKind::Trace(t) => format!("the mean of {} requests in the trace {}", t.window_count, t.file),
        WorkloadKind::Open { .. } => String::new(),
    }
}

/// Whether a closed-loop workload sends requests that use `s`'s cores.
fn closed_here(load: &Load, s: &ServiceLoad) -> bool {
    load.workloads.iter().zip(&s.cpu_s_per_request).any(|(w, c)| w.closed && *c > 0.0)
}

/// The section: a table of workloads' rates, then one of services'
/// utilization (peak and `autoscale.max` columns only when they say
/// something).
pub(super) fn load_section(o: &mut String, m: &Model, load: &Load) {
    let _ = writeln!(
        o,
        "\nestimated load (offered rate × visits × mean CPU work; first attempts only — retries and hedges add to it):"
    );
    let shaped = load.workloads.iter().any(Offered::shaped);
    let mut t = Table::new(2).col("workload", Align::Left).col("req/s", Align::Right);
    if shaped {
        t = t.col("at peak", Align::Right);
    }
    let mut t = t.col("", Align::Left);
    for (i, w) in load.workloads.iter().enumerate() {
        let mut cells = vec![m.workloads[i].name.clone(), rate(w.base_per_s, w.closed)];
        if shaped {
            cells.push(rate(w.peak_per_s, w.closed));
        }
        cells.push(match (w.closed, w.base_per_s) {
            (true, Some(_)) => format!("closed loop, upper bound: {}", closed_note(m, i)),
            (true, None) => "closed loop with no think time: no static bound, not counted".into(),
            (false, _) if w.shaped() => "peak of its shape over the run".into(),
            (false, _) => String::new(),
        });
        t.row(cells);
    }
    t.render(o);
    let _ = writeln!(o);
    let autoscaled = load.services.iter().any(|s| s.cores_max.is_some());
    let mut t = Table::new(2);
    for (h, align) in [("service", Align::Left), ("cores", Align::Right), ("busy cores", Align::Right)] {
        t = t.col(h, align);
    }
    t = t.col("util", Align::Right);
    if shaped {
        t = t.col("at peak", Align::Right);
    }
    if autoscaled {
        t = t.col("cores at max", Align::Right).col("peak at max", Align::Right);
    }
    for (svc, s) in m.services.iter().zip(&load.services) {
        let b = bound(closed_here(load, s));
        let mut cells =
            vec![svc.name.clone(), format!("{}×{}", svc.replicas, svc.cpus), format!("{b}{:.2}", s.busy_cores)];
        cells.push(format!("{b}{}", pct(s.busy_cores / s.cores)));
        if shaped {
            cells.push(format!("{b}{}", pct(s.busy_cores_peak / s.cores)));
        }
        if autoscaled {
            match (s.cores_max, svc.autoscale.as_ref()) {
                (Some(max), Some(a)) => {
                    cells.push(format!("{}×{}", a.max, svc.cpus));
                    cells.push(format!("{b}{}", pct(s.busy_cores_peak / max)));
                }
                _ => cells.extend(["—".to_string(), "—".to_string()]),
            }
        }
        t.row(cells);
    }
    t.render(o);
}

/// "db would be 180% busy at the peak of web's shape (1,200 req/s): it
/// needs at least 2 replicas of 1 core", for every service saturated or
/// close to it (an autoscaled one: beyond its starting replicas, or close
/// to saturation at `autoscale.max`), at the base rates or else at the peaks.
pub(super) fn load_findings(m: &Model, load: &Load) -> Vec<String> {
    let mut out = Vec::new();
    for (svc, s) in m.services.iter().zip(&load.services) {
        let most = s.cores_max.unwrap_or(s.cores);
        let alarming = |busy: f64| busy >= s.cores || busy >= NEAR_SATURATION * most;
        // The peak when it alarms more than the base (the base is then said too).
        let at_peak = s.busy_cores_peak > s.busy_cores && alarming(s.busy_cores_peak);
        let busy = if at_peak { s.busy_cores_peak } else { s.busy_cores };
        if !alarming(busy) {
            continue;
        }
        let cores = if svc.cpus == 1 { "1 core".to_string() } else { format!("{} cores", svc.cpus) };
        let replicas = |n: u64| format!("{n} {}", if n == 1 { "replica" } else { "replicas" });
        let needed = replicas(s.replicas_needed(busy));
        // The cores the percentage is of, and what it means.
        let (of, verdict) = match svc.autoscale.as_ref().map(|a| a.max as u64) {
            Some(max) if busy >= most => {
                (most, format!(" even at autoscale.max ({} of {cores}): it needs at least {needed}", replicas(max)))
            }
            Some(max) if busy >= s.cores => (
                s.cores,
                format!(
                    " on its {} at the start: the autoscaler must reach at least {needed} of {cores} (max {max})",
                    replicas(svc.replicas as u64)
                ),
            ),
            Some(max) => (most, format!(" at autoscale.max ({}): close to saturation", replicas(max))),
            None if busy >= most => (most, format!(": it needs at least {needed} of {cores}")),
            None => (most, ": close to saturation, where queues grow steeply".into()),
        };
        let mut when = when(m, load, s, at_peak);
        if at_peak && alarming(s.busy_cores) {
            let _ = write!(when, ", {} at the base rates,", pct(s.busy_cores / of));
        }
        let closed = closed_here(load, s);
        let up_to = if closed { "up to " } else { "" };
        let mut f = format!("{} would be {up_to}{} busy {when}{verdict}", svc.name, pct(busy / of));
        if closed {
            f.push_str(" — an upper bound: a closed loop slows down to what it is served instead");
        }
        out.push(f);
    }
    out
}

/// "at the peak of web's shape (1,200 req/s)", "at web's rate (400
/// req/s)", "at the peaks of a's and b's shapes (…, if they coincide)".
fn when(m: &Model, load: &Load, s: &ServiceLoad, at_peak: bool) -> String {
    let here: Vec<usize> = (0..load.workloads.len())
        .filter(|&w| s.cpu_s_per_request[w] > 0.0 && load.workloads[w].base_per_s.is_some())
        .collect();
    let name = |w: usize| possessive(&m.workloads[w].name);
    let rates = |ws: &[usize], f: fn(&Offered) -> Option<f64>| -> String {
        ws.iter().map(|&w| rate(f(&load.workloads[w]), load.workloads[w].closed)).collect::<Vec<_>>().join(" and ")
    };
    let shaped: Vec<usize> = here.iter().copied().filter(|&w| load.workloads[w].shaped()).collect();
    match (at_peak, shaped.as_slice(), here.as_slice()) {
        (true, [w], _) => format!("at the peak of {} shape ({} req/s)", name(*w), rates(&[*w], |o| o.peak_per_s)),
        (true, ws, _) => format!(
            "at the peaks of {} shapes ({} req/s, if they coincide)",
            ws.iter().map(|&w| name(w)).collect::<Vec<_>>().join(" and "),
            rates(ws, |o| o.peak_per_s)
        ),
        (false, _, [w]) if load.workloads[*w].closed => {
            format!("at {} bound ({} req/s: {})", name(*w), rates(&[*w], |o| o.base_per_s), closed_note(m, *w))
        }
        (false, _, [w]) => format!("at {} rate ({} req/s)", name(*w), rates(&[*w], |o| o.base_per_s)),
        (false, _, ws) => format!(
            "at the base rates of {} ({} req/s)",
            ws.iter().map(|&w| m.workloads[w].name.as_str()).collect::<Vec<_>>().join(" and "),
            rates(ws, |o| o.base_per_s)
        ),
    }
}

/// `web's`, `users'`.
fn possessive(name: &str) -> String {
    if name.ends_with('s') { format!("{name}'") } else { format!("{name}'s") }
}
