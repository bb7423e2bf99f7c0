//! The state of replica life cycles and the HPAs: per replica its
//! creation and readiness, per autoscaled service its controller, the
//! metrics pipeline (scrapes waiting out `metrics_delay`) and what the
//! findings need. Data only; `pods` drives it.

use super::autoscale::{Hpa, HpaSpec};
use super::ids::ReplicaId;
use super::pods_report::{Episodes, MAX_SCALE_EVENTS, ScaleRecord};
use crate::engine::{RngStream, SimDuration, SimTime};
use crate::model::Model;
use std::collections::VecDeque;

/// One pod's metric values over a scrape window: CPU millicores, in-system
/// thousandths, arrivals per second in thousandths.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PodValues {
    pub replica: ReplicaId,
    pub values: [i64; 3],
}

/// What one scrape produced.
pub(crate) struct Scrape {
    pub at: SimTime,
    pub window: SimDuration,
    /// Pods with a sample (scraped twice at least).
    pub pods: Vec<PodValues>,
    /// The service's totals over the scrape period, every replica counted
    /// (new ones from zero): what an External metric (a rate at the
    /// ingress, KEDA) reports.
    pub totals: [i64; 3],
}

/// Life-cycle facts of one replica (parallel to `Fleet::replicas`).
#[derive(Clone, Copy)]
pub(crate) struct PodInfo {
    pub created: SimTime,
    pub ready_at: Option<SimTime>,
    /// Index of the scale event that created it in `Autoscaler::events`.
    pub event: Option<u32>,
    /// When a node took it (with `cluster:`; it was Pending before).
    pub placed_at: Option<SimTime>,
}

/// The HPA of one service and the pipeline feeding it.
pub(crate) struct Autoscaler {
    pub hpa: Hpa,
    pub startup_rng: RngStream,
    pub sync_period: SimDuration,
    pub metrics_delay: SimDuration,
    pub pending: VecDeque<Scrape>,
    pub latest: Option<Scrape>,
    pub events: Vec<ScaleRecord>,
    /// Saturated stretches and direction changes, judged sync by sync.
    pub episodes: Episodes,
    pub first_sync: SimTime,
    pub prev_busy: u128,
    pub prev_serving: u128,
}

/// Everything this module keeps.
pub(crate) struct Scaling {
    pub hpas: Vec<Option<Box<Autoscaler>>>,
    pub pods: Vec<PodInfo>,
    /// Some service is autoscaled.
    pub any: bool,
}

impl Scaling {
    pub(crate) fn new(m: &Model, seed: u64) -> Self {
        let hpas = m
            .services
            .iter()
            .map(|s| {
                let cfg = s.autoscale.as_ref()?;
                let mut phase_rng = RngStream::derive(seed, "hpa_phase", &s.name);
                let phase =
                    SimDuration((phase_rng.unit() * cfg.sync_period.0 as f64) as u64 % cfg.sync_period.0.max(1));
                Some(Box::new(Autoscaler {
                    hpa: Hpa::new(HpaSpec::from_model(cfg)),
                    startup_rng: RngStream::derive(seed, "startup", &s.name),
                    sync_period: cfg.sync_period,
                    metrics_delay: cfg.metrics_delay,
                    pending: VecDeque::new(),
                    latest: None,
                    events: Vec::new(),
                    episodes: Episodes::default(),
                    first_sync: SimTime(phase.0),
                    prev_busy: 0,
                    prev_serving: 0,
                }))
            })
            .collect::<Vec<_>>();
        let initial: u32 = m.services.iter().map(|s| s.replicas).sum();
        let pods = (0..initial)
            .map(|_| PodInfo { created: SimTime::ZERO, ready_at: Some(SimTime::ZERO), event: None, placed_at: None })
            .collect();
        let any = hpas.iter().any(Option::is_some);
        Scaling { hpas, pods, any }
    }
}

impl Autoscaler {
    /// Records a rescale (the first [`MAX_SCALE_EVENTS`] are kept) and,
    /// after the warm-up (`counted`), feeds the flapping detector.
    pub(crate) fn record(&mut self, r: ScaleRecord, counted: bool) {
        if counted {
            self.episodes.direction(r.at, if r.to > r.from { 1 } else { -1 });
        }
        if self.events.len() < MAX_SCALE_EVENTS {
            self.events.push(r);
        }
    }
}
