//! Experiments: variants × sweep points × replications of one topology,
//! compared under common random numbers.
//!
//! A [`Plan`] is what `spec` makes of an experiment file: one checked
//! [`Model`] per point (a variant's `set` overrides and one combination of
//! the sweep's values applied to the topology), the replications and
//! their seeds, the SLOs and the objective. [`runner`] runs its jobs on all
//! cores, deterministically; [`summary`] turns the runs into the result:
//! per point, means with 95% intervals across replications, paired
//! differences against the baseline (replication r of every point ran on
//! seed `seed + r`, with every random stream named by the element it
//! serves, so where the model did not change the draws are the same and
//! a difference is the change, not noise), SLO verdicts, and the best
//! point for the objective. [`stats`] has the arithmetic.
//!
//! Not here: reading files (`spec`, `cli`), writing reports (`report`).

pub mod capacity;
pub mod runner;
pub mod stats;
pub mod summary;

use crate::engine::SimDuration;
use crate::model::{Model, Slo, Stat};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A point of an experiment: a variant at one combination of sweep values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointInfo {
    pub variant: String,
    /// The sweep's path → value at this point (empty without a sweep).
    pub sweep: BTreeMap<String, serde_json::Value>,
    /// Its place in the sweep's grid: per axis, the index of its value.
    pub grid: Vec<usize>,
}

/// A variant as the report presents it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its overrides: path and value, as written.
    pub set: Vec<(String, String)>,
}

/// An SLO in the shape results can be judged by without the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloSpec {
    pub workload: String,
    /// Latency bounds: the statistic's word (`p99`; `ttft_p95`, `tpot_p95`
    /// for the token stream) and the bound in ms.
    pub latency: Vec<(String, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<f64>,
    /// In words: `p99 ≤ 300ms, success ≥ 99.9%`.
    pub text: String,
}

impl SloSpec {
    pub fn of(s: &Slo) -> Self {
        SloSpec {
            workload: s.name.clone(),
            latency: s
                .latency
                .iter()
                .map(|(st, d)| (st.word().to_string(), d.as_millis_f64()))
                .chain(s.ttft.iter().map(|(st, d)| (format!("ttft_{}", st.word()), d.as_millis_f64())))
                .chain(s.tpot.iter().map(|(st, d)| (format!("tpot_{}", st.word()), d.as_millis_f64())))
                .collect(),
            success: s.success,
            text: s.describe(),
        }
    }
}

/// What the objective looks at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Replica-hours over all services, measured period.
    ReplicaHours,
    /// `cost.total` (needs `cost:` in the topology).
    Cost,
    /// A workload's latency statistic (`stat` is its word: `p99`), in ms.
    Latency { workload: String, stat: String },
    /// A workload's success ratio.
    Success { workload: String },
    /// A workload's goodput (requests/s).
    Goodput { workload: String },
}

impl Metric {
    pub fn latency(workload: &str, stat: Stat) -> Metric {
        Metric::Latency { workload: workload.to_string(), stat: stat.word().to_string() }
    }

    /// How results name it: `replica_hours`, `web.p99_ms`.
    pub fn name(&self) -> String {
        match self {
            Metric::ReplicaHours => "replica_hours".into(),
            Metric::Cost => "cost".into(),
            Metric::Latency { workload, stat } => format!("{workload}.{stat}_ms"),
            Metric::Success { workload } => format!("{workload}.success"),
            Metric::Goodput { workload } => format!("{workload}.goodput_per_s"),
        }
    }
}

/// `objective: { minimize: replica_hours, subject_to: slo }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub metric: Metric,
    /// Minimize (else maximize).
    pub minimize: bool,
    /// Only points that meet the SLOs qualify.
    pub subject_to_slo: bool,
}

/// Everything about an experiment but its models: what the results are
/// judged and presented by. Stored beside the runs (`design.json`), so
/// results and reports can be rebuilt, and shards merged, without
/// reloading any file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Design {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Replication r runs on `seed + r`.
    pub seed: u64,
    pub replications: u32,
    /// Simulated seconds of every run.
    pub duration_s: f64,
    pub warmup_s: f64,
    /// The baseline variant's name (the first variant).
    pub baseline: String,
    pub variants: Vec<VariantInfo>,
    /// Variant by variant, each over the sweep's grid in order.
    pub points: Vec<PointInfo>,
    /// The SLOs every run is judged by.
    pub slo: Vec<SloSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<Objective>,
    /// The topology file, as the experiment names it.
    pub topology: String,
    /// How it was run, for "how to rerun it" (set by the CLI; empty when
    /// unknown).
    #[serde(default, skip_serializing_if = "Provenance::is_empty")]
    pub provenance: Provenance,
}

/// Where an experiment's results come from: the stormcast version, the
/// experiment file as named on the command line, and a hash of the inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub stormcast_version: String,
    /// The experiment file as named on the command line.
    pub file: String,
    /// SHA-256 (hex) of the version, the experiment file's text and the
    /// topology file's text: what every stored run's key starts from.
    pub inputs_sha256: String,
}

impl Provenance {
    pub fn is_empty(&self) -> bool {
        self == &Provenance::default()
    }
}

impl Design {
    /// The point of `variant` at the same sweep values as point `i`.
    pub fn sibling(&self, i: usize, variant: &str) -> Option<usize> {
        let sweep = &self.points[i].sweep;
        self.points.iter().position(|p| p.variant == variant && &p.sweep == sweep)
    }
}

/// An experiment ready to run: its design and one checked model per point.
#[derive(Clone, Debug)]
pub struct Plan {
    pub design: Design,
    pub models: Vec<Model>,
    /// Overrides the topology's duration, if the experiment sets one.
    pub duration: Option<SimDuration>,
}
