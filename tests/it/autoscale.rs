//! The HPA wired into the simulation: replicas that start, serve and drain
//! under a step load, checked against what the controller's policies allow.
//!
//! The load is deterministic (evenly spaced arrivals, constant work) and the
//! metric is requests per second per replica of the External (KEDA) kind,
//! `desired = ceil(total / target)`, so the expected replica counts are exact:
//! 200/s against a target of 51/s is 4 replicas (3.92), 400/s is 8 (7.84),
//! and a window counts 3000 ± 1 (6000 ± 1) arrivals, far from any rounding
//! edge and inside the 10% tolerance at the steady states.

use crate::common::{load_yaml, options, run_checked, secs, show};
use stormcast::metrics::{RunResult, ScaleEventResult};

/// One service `api` (1 core, 10 ms of CPU per request) under a
/// deterministic load of `steps` (rate factors over 200/s), autoscaled with
/// the given extra keys.
fn topology(duration: &str, steps: &str, autoscale: &str) -> String {
    format!(
        "name: step
duration: {duration}
seed: 3
services:
  api:
    cpus: 1
    balancer: round_robin
    autoscale:
      min: 4
      max: 20
      metrics: [ {{ rps: 51 }} ]
{autoscale}
    endpoints:
      get:
        work: 10ms
workload:
  - name: users
    target: api.get
    rate: 200/s
    arrivals: deterministic
    shape:
      - steps: {steps}
"
    )
}

fn run(text: &str) -> RunResult {
    let m = load_yaml("step.yaml", text).unwrap_or_else(|d| panic!("{}", show(&d)));
    run_checked(&m, &options(3, None))
}

fn events(r: &RunResult) -> &[ScaleEventResult] {
    &r.services["api"].scale_events
}

/// Replicas (spec) at time `t_s` from the scale events, starting at 4.
fn replicas_at(ev: &[ScaleEventResult], t_s: f64) -> u32 {
    ev.iter().rfind(|e| e.t_s <= t_s).map_or(4, |e| e.to)
}

#[test]
fn doubling_the_load_doubles_the_replicas_after_one_full_metric_window() {
    // Default behavior allows +100% per 15 s: 4 -> 8 in one sync. With no
    // metrics delay, the first sync whose 15 s window lies wholly after the
    // step (t >= 315 s) sees 400/s and must reach 8; an earlier sync sees a
    // partial window and may only go part of the way.
    let text = topology(
        "420s",
        "[ [0s, 1.0], [300s, 2.0] ]",
        "      metrics_delay: 0s\n      startup: 5s\n      behavior: {}",
    );
    let r = run(&text);
    let ev = events(&r);
    assert!(!ev.is_empty(), "no scale events");
    assert!(ev.iter().all(|e| e.t_s > 300.0 && e.to > e.from), "only scale-ups after the step: {ev:?}");
    let reached = ev.iter().find(|e| e.to == 8).unwrap_or_else(|| panic!("never reached 8: {ev:?}"));
    assert!(reached.t_s < 315.0 + 15.0, "8 replicas only at {} s: {ev:?}", reached.t_s);
    assert_eq!(replicas_at(ev, 420.0), 8, "{ev:?}");
    assert!(ev.iter().all(|e| e.to <= 8), "overshoot: {ev:?}");
}

#[test]
fn a_pods_policy_paces_the_scale_up_one_sync_at_a_time() {
    // scale_up: 1 pod per 15 s: 4 -> 8 takes four syncs, one replica each
    // (an event exactly 15 s old no longer counts, so every sync may add one).
    let text = topology(
        "480s",
        "[ [0s, 1.0], [300s, 2.0] ]",
        "      metrics_delay: 0s\n      startup: 5s\n      behavior:\n        \
         scale_up: { policies: [ { pods: 1, period: 15s } ] }",
    );
    let r = run(&text);
    let ev = events(&r);
    assert_eq!(ev.len(), 4, "{ev:?}");
    for (k, e) in ev.iter().enumerate() {
        assert_eq!((e.from, e.to), (4 + k as u32, 5 + k as u32), "{ev:?}");
        assert!((e.t_s - ev[0].t_s - 15.0 * k as f64).abs() < 1e-6, "one per sync: {ev:?}");
        assert!(e.reason.contains("ScaleUpLimit") || e.to == 8, "{}", e.reason);
    }
    // The first sync that sees more than 10% extra load (after ~301.8 s).
    assert!(ev[0].t_s > 300.0 && ev[0].t_s <= 316.8, "{ev:?}");
}

#[test]
fn metrics_delay_postpones_the_reaction_by_its_length() {
    // With a 30 s delay the sync at t sees the window ending at t - 30 s:
    // nothing can happen before 300 + 30 s, and 8 is reached by the first
    // sync whose delayed window lies after the step (t < 345 + 15).
    let text = topology(
        "420s",
        "[ [0s, 1.0], [300s, 2.0] ]",
        "      metrics_delay: 30s\n      startup: 5s\n      behavior: {}",
    );
    let r = run(&text);
    let ev = events(&r);
    assert!(ev.first().is_some_and(|e| e.t_s > 330.0), "{ev:?}");
    let reached = ev.iter().find(|e| e.to == 8).unwrap_or_else(|| panic!("never reached 8: {ev:?}"));
    assert!(reached.t_s < 360.0, "{ev:?}");
}

#[test]
fn the_scale_down_stabilization_window_holds_replicas_for_its_full_length() {
    // 400/s until 300 s, then 200/s. The default 5 min window keeps the
    // highest recommendation whose time is strictly after now - 300 s. The
    // last sync proposing 8 is the last one at or before the step (its
    // window lies wholly before it), at t_h; so the first scale-down comes
    // exactly at t_h + 300 s, not one sync earlier, and 4 is reached one
    // sync later at most (the partial-window recommendation after the step).
    let text = topology(
        "720s",
        "[ [0s, 2.0], [300s, 1.0] ]",
        "      metrics_delay: 0s\n      startup: 5s\n      behavior: {}",
    );
    let r = run(&text);
    let ev = events(&r);
    let up_to_8 = ev.iter().find(|e| e.to == 8).unwrap_or_else(|| panic!("never scaled up to 8: {ev:?}"));
    // Syncs run every 15 s from a phase: find the last one at or before 300 s.
    let phase = up_to_8.t_s % 15.0;
    let t_h = phase + 15.0 * ((300.0 - phase) / 15.0).floor();
    let downs: Vec<_> = ev.iter().filter(|e| e.to < e.from).collect();
    assert!(!downs.is_empty(), "never scaled down: {ev:?}");
    assert!(
        (downs[0].t_s - (t_h + 300.0)).abs() < 1e-6,
        "first scale-down at {} s, not {} s: {ev:?}",
        downs[0].t_s,
        t_h + 300.0
    );
    assert!(downs[0].reason.contains("ScaleDownStabilized") || downs[0].to == 4, "{}", downs[0].reason);
    assert_eq!(replicas_at(ev, t_h + 315.0), 4, "{ev:?}");
    assert_eq!(replicas_at(ev, 720.0), 4, "{ev:?}");
    let s = &r.services["api"];
    assert_eq!((s.replicas.min, s.replicas.max), (4, 8));
}

#[test]
fn starting_replicas_take_no_traffic_and_requests_are_conserved() {
    // A long start-up (60 s): the invariants (checked after every event)
    // include "a starting replica is sent nothing while a ready one exists"
    // and "no attempt is admitted at a starting or gone replica". The
    // series shows the replicas starting (total > ready) for about 60 s.
    let text = topology(
        "600s",
        "[ [0s, 1.0], [120s, 2.0], [360s, 1.0] ]",
        "      metrics_delay: 15s\n      startup: 60s\n      behavior: { scale_down: { stabilization: 60s } }",
    );
    let m = load_yaml("step.yaml", &text).unwrap_or_else(|d| panic!("{}", show(&d)));
    let opts = stormcast::sim::RunOptions { keep_series: true, interval: secs(5), ..options(5, None) };
    let r = run_checked(&m, &opts);
    let wl = &r.workloads["users"];
    assert_eq!(wl.ok + wl.failed + wl.in_flight_at_end, wl.offered);
    let starting: Vec<_> = r.series.services.iter().filter(|row| row.replicas_total > row.replicas_ready).collect();
    assert!(!starting.is_empty(), "no replica was ever seen starting");
    let starting_s = starting.len() as f64 * 5.0;
    assert!((50.0..=130.0).contains(&starting_s), "replicas were starting for {starting_s} s");
    // Traffic follows ready replicas: in every interval where pods were
    // starting, the ready ones alone carried the load (utilization is per
    // serving core and stays meaningful).
    assert!(starting.iter().all(|row| row.utilization <= 1.0 + 1e-9));
    let ev = events(&r);
    assert!(ev.iter().any(|e| e.to < e.from), "{ev:?}");
    assert!(r.services["api"].replica_hours > 4.0 * 600.0 / 3600.0);
}
