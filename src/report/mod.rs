//! Results → text summary, CSV series, Mermaid/DOT graphs, the static
//! check report, the run report and the experiment report (HTML and
//! Markdown, with `points.csv`). Never runs a
//! simulation: a report can be rebuilt from saved results (graphs and
//! checks read only the validated model).
//!
//! The report's building blocks are shared by every report: [`page`] (a
//! format-neutral page of headings, tables with interval and difference
//! cells, figures; rendered to HTML or Markdown) and [`chart`] (line
//! charts with shaded windows, stacked bars and waterfalls, layered
//! diagrams, as SVG). [`stored`] reads the files of an `--out` folder back.

mod capacity;
pub mod chart;
mod check;
mod csv;
pub mod experiment_report;
mod experiment_text;
mod graph;
pub mod page;
pub mod run_report;
pub mod stored;
mod table;
mod text;

pub use capacity::{capacity_csv, capacity_svg, capacity_text};
pub use check::{Analysis, analyze, check_report};
pub use csv::{caches_csv, queues_csv, services_csv, workloads_csv};
pub use experiment_text::{experiment_text, point_label};
pub use graph::{dot, mermaid};
pub use stored::{RunInfo, Stored, TopologyInfo, topology_info};
pub use text::summary;

/// Test support shared by the report's tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::metrics::{LatencySummary, QueueGroupResult, QueueResult, QueueRow, RunResult};

    /// Gives `r` a queue `orders` with two consumer groups, `billing`
    /// (partitioned, falling behind) and `audit` (competing, keeping up),
    /// and their series over the run's first eight intervals.
    pub(crate) fn add_queues(r: &mut RunResult) {
        let lat = |p50: f64| LatencySummary {
            mean: Some(p50 * 1.5),
            p50: Some(p50),
            p99: Some(p50 * 9.0),
            ..LatencySummary::default()
        };
        let billing = QueueGroupResult {
            endpoint: "billing.charge".into(),
            mode: "partitioned".into(),
            processed: 1_200,
            dead_lettered: 7,
            redelivered: 31,
            dropped: 0,
            depth_max: 2_345,
            depth_end: 2_300,
            lag_end: 2_316,
            lag_max_s: 41.25,
            consumer_utilization: 0.998,
            time_to_processed_ms: lat(15_000.0),
        };
        let audit = QueueGroupResult {
            endpoint: "audit.record".into(),
            mode: "competing".into(),
            processed: 3_500,
            dead_lettered: 0,
            redelivered: 2,
            dropped: 0,
            depth_max: 12,
            depth_end: 0,
            lag_end: 1,
            lag_max_s: 0.5,
            consumer_utilization: 0.25,
            time_to_processed_ms: LatencySummary::default(),
        };
        let q = QueueResult {
            published: 3_510,
            processed: 4_700,
            dead_lettered: 7,
            redelivered: 33,
            rejected: 4,
            dropped: 0,
            blocked: 0,
            blocked_ms_mean: None,
            depth_max: 2_345,
            depth_end: 2_300,
            lag_max_s: 41.25,
            time_to_processed_ms: lat(900.0),
            groups: [("audit".to_string(), audit), ("billing".to_string(), billing)].into(),
        };
        r.queues.insert("orders".into(), q);
        let s = &mut r.series;
        s.queue_names = vec!["orders/audit".into(), "orders/billing".into()];
        s.queues.clear();
        for i in 0..8u64 {
            let t_s = i as f64 * s.interval_s;
            for g in 0..2u32 {
                let behind = g == 1;
                s.queues.push(QueueRow {
                    t_s,
                    queue: g,
                    published: 350,
                    processed: if behind { 120 } else { 350 },
                    redelivered: u64::from(behind),
                    dead_lettered: u64::from(behind && i % 3 == 0),
                    rejected: u64::from(i == 7),
                    depth: if behind { 230 * i } else { i % 2 },
                    in_flight: 4,
                    lag_s: if behind { 4.125 * i as f64 } else { 0.01 },
                    consumers: 4,
                });
            }
        }
    }
}
