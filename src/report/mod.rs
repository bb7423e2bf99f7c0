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
pub use csv::{
    caches_csv, inference_csv, nodes_csv, queues_csv, replicas_csv, services_csv, tokens_csv, workloads_csv,
};
pub use experiment_text::{experiment_text, point_label};
pub use graph::{dot, mermaid};
pub use stored::{RunInfo, Stored, TopologyInfo, topology_info};
pub use text::summary;

/// Test support shared by the report's tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::metrics::{
        ClusterResult, InferenceResult, InferenceRow, LatencySummary, PlatformResult, PoolResult, PoolRow,
        QueueGroupResult, QueueResult, QueueRow, ReplicaRow, ReplicaSummary, RunResult, SloCheck, SloResult,
        TokenGoodput, TokenRow,
    };

    /// Makes `service` (a service of `r`) an inference server and gives
    /// `workload` (a workload of `r`) token figures, a token goodput and a
    /// TTFT/TPOT SLO (the TPOT bound missed), with the inference and token
    /// series over the run's first eight intervals.
    pub(crate) fn add_inference(r: &mut RunResult, service: &str, workload: &str) {
        let lat = |p50: f64| LatencySummary {
            mean: Some(p50 * 1.25),
            p50: Some(p50),
            p90: Some(p50 * 2.0),
            p95: Some(p50 * 3.0),
            p99: Some(p50 * 4.0),
            p999: Some(p50 * 5.0),
            max: Some(p50 * 6.0),
            ..LatencySummary::default()
        };
        r.services.get_mut(service).expect("a service of the run").inference = Some(InferenceResult {
            iterations: 12_345,
            busy_share: 0.8771,
            batch_mean: 23.456,
            batch_max: 64,
            waiting_mean: 3.5,
            waiting_max: 41,
            kv_used_mean: 0.625,
            kv_used_max: 0.9999,
            preemptions: 17,
            sequences: 2_400,
            too_long: 2,
            prefill_tokens: 2_500_000,
            output_tokens: 480_000,
            output_tokens_per_s: 6_857.14,
            model_loads: 1,
            model_load_s_mean: 93.3,
        });
        let w = r.workloads.get_mut(workload).expect("a workload of the run");
        w.ttft_ms = Some(lat(250.0));
        w.tpot_ms = Some(lat(20.5));
        w.output_tokens_per_s = Some(6_857.14);
        w.token_goodput = Some(TokenGoodput {
            ttft_ms: Some(2000.0),
            tpot_ms: Some(50.0),
            met: 2_100,
            attainment: 0.875,
            goodput_per_s: 30.0,
        });
        r.slo.push(SloResult {
            workload: workload.into(),
            objective: "ttft_p95 ≤ 2s, tpot_p95 ≤ 50ms".into(),
            pass: false,
            checks: vec![
                SloCheck { stat: "ttft_p95".into(), limit: 2000.0, value: Some(750.0), pass: true },
                SloCheck { stat: "tpot_p95".into(), limit: 50.0, value: Some(61.5), pass: false },
            ],
            windows_missed: 2,
        });
        let s = &mut r.series;
        let sv = s.service_names.iter().position(|n| n == service).expect("a service of the series") as u32;
        let wl = s.workload_names.iter().position(|n| n == workload).expect("a workload of the series") as u32;
        s.inference.clear();
        s.tokens.clear();
        for i in 0..8u32 {
            let t_s = f64::from(i) * s.interval_s;
            let loading = i == 0;
            s.inference.push(InferenceRow {
                t_s,
                service: sv,
                iterations: if loading { 0 } else { 50 },
                batch_mean: (!loading).then_some(20.0 + f64::from(i)),
                busy_share: if loading { 0.0 } else { 0.9 },
                waiting: f64::from(i) * 1.5,
                kv_used: 0.1 * f64::from(i),
                preemptions: u64::from(i >= 6),
                output_tokens: if loading { 0 } else { 1_000 },
            });
            s.tokens.push(TokenRow {
                t_s,
                workload: wl,
                ttft_p50_ms: (!loading).then_some(200.0 + 10.0 * f64::from(i)),
                ttft_p95_ms: (!loading).then_some(600.0 + 50.0 * f64::from(i)),
                tpot_p50_ms: (!loading).then_some(20.0),
                tpot_p95_ms: (!loading).then_some(45.0 + f64::from(i)),
                output_tokens: if loading { 0 } else { 1_000 },
            });
        }
    }

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

    /// Gives `r` a cluster of two node pools, `general` (priced, scaled
    /// from 2 to 4 nodes) and `gpu` (no price), a CPU limit and its
    /// throttling on each service of `throttled` (which must be services of
    /// `r`), throttled time in their chain hops, and the nodes' and
    /// replicas' series over the run's first eight intervals.
    pub(crate) fn add_cluster(r: &mut RunResult, throttled: &[&str]) {
        let general = PoolResult {
            nodes: ReplicaSummary { min: 2, mean: 2.75, max: 4 },
            node_hours: 6.126,
            cost: Some(2.3275),
            cpu_requested_share: 0.625,
            cpu_used_share: 0.41,
            memory_requested_share: 0.5,
            nodes_added: 2,
            nodes_removed: 0,
        };
        let gpu = PoolResult {
            nodes: ReplicaSummary { min: 1, mean: 1.0, max: 1 },
            node_hours: 2.0,
            cost: None,
            cpu_requested_share: 0.125,
            cpu_used_share: 0.05,
            memory_requested_share: 0.25,
            nodes_added: 0,
            nodes_removed: 0,
        };
        r.cluster = Some(ClusterResult {
            nodes: ReplicaSummary { min: 3, mean: 3.75, max: 5 },
            node_hours: 8.126,
            cost: Some(2.3275),
            pending: 3,
            pending_s_mean: 2.5,
            pending_s_max: 4.0,
            evictions: 1,
            oom_kills: 2,
            nodes_added: 2,
            nodes_removed: 0,
            node_failures: 1,
            pools: [("general".to_string(), general), ("gpu".to_string(), gpu)].into(),
        });
        for (i, name) in throttled.iter().enumerate() {
            let s = r.services.get_mut(*name).expect("a service of the run");
            s.platform = Some(PlatformResult {
                cpu_request: 0.5,
                cpu_limit: Some(1.0),
                throttled_s: 12.5 + i as f64,
                throttled_periods: 125,
                throttled_share: 0.3121,
                cpu_used_mean: 0.8751,
                pending: 3,
                pending_s_mean: 2.5,
                pending_s_max: 4.0,
                oom_kills: 2,
                evictions: 1,
                memory_mib_max: Some(700.0),
            });
        }
        for c in r.chains.values_mut() {
            for h in c.mean.iter_mut().chain(c.p99.iter_mut()) {
                if throttled.contains(&h.service.as_str()) {
                    h.throttled_ms = 7.25;
                }
            }
        }
        let s = &mut r.series;
        s.pool_names = vec!["general".into(), "gpu".into()];
        s.node_names = vec!["general-0".into(), "general-1".into(), "gpu-0".into()];
        let services: Vec<u32> = throttled
            .iter()
            .map(|n| s.service_names.iter().position(|x| x == n).expect("a service of the series") as u32)
            .collect();
        s.pools.clear();
        s.replicas.clear();
        for i in 0..8u32 {
            let t_s = f64::from(i) * s.interval_s;
            for p in 0..2u32 {
                let general = p == 0;
                s.pools.push(PoolRow {
                    t_s,
                    pool: p,
                    nodes: if general { 2 + u64::from(i >= 3) + u64::from(i >= 5) } else { 1 },
                    provisioning: u64::from(general && (2..5).contains(&i)),
                    pending: u64::from((2..5).contains(&i)),
                    cpu_requested: if general { 5.0 } else { 1.0 },
                    cpu_used: if general { 3.0 + 0.25 * f64::from(i) } else { 0.4 },
                    memory_requested_gib: 8.0,
                    memory_used_gib: 5.5,
                    cost: if general { 0.0003 } else { 0.0 },
                });
            }
            for (k, &service) in services.iter().enumerate() {
                for ordinal in 0..2u32 {
                    let pending = ordinal == 1 && i < 3;
                    s.replicas.push(ReplicaRow {
                        t_s,
                        service,
                        replica: ordinal,
                        node: (!pending).then_some(ordinal),
                        state: if pending { "pending" } else { "ready" }.into(),
                        cpu_s: if pending { 0.0 } else { 0.75 },
                        throttled_s: if pending { 0.0 } else { 0.125 * (k + 1) as f64 },
                        memory_mib: 640.0,
                    });
                }
            }
        }
    }
}
