//! Service-level objectives: what a workload must achieve for a run (or an
//! experiment's point) to pass — latency percentiles of its successful
//! requests under a bound, a success ratio above one. Checked on a single
//! run (`slo:` in a topology: findings and exit status 1) and per
//! replication in experiments.

use super::WorkloadId;
use crate::engine::SimDuration;

/// A statistic of a workload's end-to-end latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stat {
    Mean,
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
}

impl Stat {
    pub const ALL: [Stat; 7] = [Stat::Mean, Stat::P50, Stat::P90, Stat::P95, Stat::P99, Stat::P999, Stat::Max];

    /// The key that names it in an SLO (`p99`) and in results (`p99_ms`).
    pub fn word(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::P999 => "p999",
            Stat::Max => "max",
        }
    }

    /// The quantile it is (`None` for the mean and the max).
    pub fn quantile(self) -> Option<f64> {
        match self {
            Stat::P50 => Some(0.5),
            Stat::P90 => Some(0.9),
            Stat::P95 => Some(0.95),
            Stat::P99 => Some(0.99),
            Stat::P999 => Some(0.999),
            Stat::Mean | Stat::Max => None,
        }
    }
}

/// The objectives of one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    pub workload: WorkloadId,
    /// Its name, for messages.
    pub name: String,
    /// Latency bounds of successful requests (`p99: 300ms`).
    pub latency: Vec<(Stat, SimDuration)>,
    /// Least share of requests that succeed (`success: 99.9%`).
    pub success: Option<f64>,
    /// Bounds on the time to first token of successful requests that
    /// generated tokens (`ttft_p95: 2s`), and on their time per output
    /// token after the first (`tpot_p95: 100ms`). Their tightest bounds
    /// are also each request's thresholds for the token goodput
    /// (DistServe's: requests meeting both).
    pub ttft: Vec<(Stat, SimDuration)>,
    pub tpot: Vec<(Stat, SimDuration)>,
}

impl Slo {
    /// "p99 ≤ 300ms, success ≥ 99.9%".
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.latency.iter().map(|(s, d)| format!("{} ≤ {d}", s.word())).collect();
        parts.extend(self.ttft.iter().map(|(s, d)| format!("ttft_{} ≤ {d}", s.word())));
        parts.extend(self.tpot.iter().map(|(s, d)| format!("tpot_{} ≤ {d}", s.word())));
        if let Some(s) = self.success {
            parts.push(format!("success ≥ {}%", trim(s * 100.0)));
        }
        parts.join(", ")
    }
}

/// A percentage without trailing zeros: 99.9, 95, 99.99.
fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_slo_describes_itself() {
        let s = Slo {
            workload: WorkloadId(0),
            name: "web".into(),
            latency: vec![(Stat::P99, SimDuration::from_millis(300))],
            success: Some(0.999),
            ttft: Vec::new(),
            tpot: Vec::new(),
        };
        assert_eq!(s.describe(), "p99 ≤ 300ms, success ≥ 99.9%");
    }
}
