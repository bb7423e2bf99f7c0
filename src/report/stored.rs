//! The files `stormcast run --out DIR` leaves in DIR, read back: everything
//! a report is built from. `run` writes them and builds its report *from
//! their text*, exactly as `stormcast report DIR` does later, so the two
//! give the same bytes.
//!
//! What it does not: touch the file system (the CLI reads and writes the
//! files and hands their text here), load a topology or run anything.

use crate::metrics::{
    CacheRow, InferenceRow, PoolRow, QueueRow, ReplicaRow, RunResult, Series, ServiceRow, TokenRow, WorkloadRow,
};
use crate::model::Model;
use crate::model::analysis::Analysis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The result (`--json`).
pub const SUMMARY_JSON: &str = "summary.json";
/// Per-interval rows per workload.
pub const WORKLOADS_CSV: &str = "workloads.csv";
/// Per-interval rows per service.
pub const SERVICES_CSV: &str = "services.csv";
/// Per-interval rows per keyed cache; written only when the model has
/// keyed caches, and read when present (not one of [`INPUTS`]).
pub const CACHES_CSV: &str = "caches.csv";
/// Per-interval rows per queue consumer group; written only when the model
/// has queues, and read when present (not one of [`INPUTS`]).
pub const QUEUES_CSV: &str = "queues.csv";
/// Per-interval rows per node pool; written only when the run has a
/// cluster (`cluster:`), and read when present (not one of [`INPUTS`]).
pub const NODES_CSV: &str = "nodes.csv";
/// Per-interval rows per replica (node, state, CPU, throttling, memory);
/// written only when the run has them, and read when present.
pub const REPLICAS_CSV: &str = "replicas.csv";
/// Per-interval rows per inference service (iterations, batch, waiting
/// sequences, KV cache, preemptions); written only when the run has
/// inference servers, and read when present.
pub const INFERENCE_CSV: &str = "inference.csv";
/// Per-interval rows per workload that generates tokens (TTFT, TPOT,
/// output tokens); written only when it has rows, and read when present.
pub const TOKENS_CSV: &str = "tokens.csv";
/// The optional series files, read when present.
pub const OPTIONAL: [&str; 6] = [CACHES_CSV, QUEUES_CSV, NODES_CSV, REPLICAS_CSV, INFERENCE_CSV, TOKENS_CSV];
/// How the run was made: [`RunInfo`].
pub const RUN_JSON: &str = "run.json";
/// What was run, for drawing it: [`TopologyInfo`].
pub const TOPOLOGY_JSON: &str = "topology.json";
/// The files a report needs, in the order they are read.
pub const INPUTS: [&str; 5] = [SUMMARY_JSON, WORKLOADS_CSV, SERVICES_CSV, RUN_JSON, TOPOLOGY_JSON];

/// How a run was made, for "how to rerun it" (`run.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// The stormcast version that ran it (`CARGO_PKG_VERSION`).
    pub stormcast_version: String,
    /// The command line as typed, program name first.
    pub command: Vec<String>,
    /// The topology file as named on the command line.
    pub input_file: String,
    /// SHA-256 of the topology file's bytes, lowercase hex (`sha256sum`).
    pub input_sha256: String,
    /// Width of a series interval, seconds.
    pub interval_s: f64,
}

/// A service as the diagram draws it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceInfo {
    pub name: String,
    /// Replicas at the start (the autoscaler may change them).
    pub replicas: u32,
    pub cpus: u32,
    pub endpoints: Vec<String>,
    /// Admission slots per replica, when fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// `[min, max]` of an autoscaled service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<[u32; 2]>,
}

/// A workload and the service it sends to.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WorkloadInfo {
    pub name: String,
    /// `service.endpoint`.
    pub target: String,
    pub service: String,
}

/// Every call from one service to another, as one arrow.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CallInfo {
    pub from: String,
    pub to: String,
    /// One line per endpoint-to-endpoint call (as in `stormcast graph`).
    pub label: Vec<String>,
}

/// What was run, as the report draws it (`topology.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TopologyInfo {
    pub services: Vec<ServiceInfo>,
    pub workloads: Vec<WorkloadInfo>,
    pub calls: Vec<CallInfo>,
    /// The `stormcast graph` Mermaid text.
    pub mermaid: String,
}

/// The topology's shape for the report, from the validated model.
pub fn topology_info(m: &Model, a: &Analysis) -> TopologyInfo {
    let services = m
        .services
        .iter()
        .map(|s| ServiceInfo {
            name: s.name.clone(),
            replicas: s.replicas,
            cpus: s.cpus,
            endpoints: s.endpoints.iter().map(|e| m.endpoints[e.ix()].name.clone()).collect(),
            max_in_flight: s.max_in_flight,
            autoscale: s.autoscale.as_ref().map(|a| [a.min, a.max]),
        })
        .collect();
    let workloads = m
        .workloads
        .iter()
        .map(|w| WorkloadInfo {
            name: w.name.clone(),
            target: m.endpoints[w.target.ix()].full_name.clone(),
            service: m.services[m.service_of(w.target).ix()].name.clone(),
        })
        .collect();
    let mut calls: Vec<CallInfo> =
        super::graph::service_calls(m, a).into_iter().map(|(from, to, label)| CallInfo { from, to, label }).collect();
    // Messages drawn as arrows too, from each publisher to each consumer
    // group's service, one `via queue …` line per group.
    for (from, to, line) in super::graph::message_flows(m) {
        match calls.iter_mut().find(|c| c.from == from && c.to == to) {
            Some(c) => c.label.push(line),
            None => calls.push(CallInfo { from, to, label: vec![line] }),
        }
    }
    TopologyInfo { services, workloads, calls, mermaid: super::mermaid(m, a) }
}

/// Everything a run's report is built from.
#[derive(Clone, Debug)]
pub struct Stored {
    /// `summary.json`, its series filled from the CSV files.
    pub result: RunResult,
    pub run: RunInfo,
    pub topology: TopologyInfo,
}

impl Stored {
    /// Reads the files' text, given as `(file name, text)` for each name of
    /// [`INPUTS`]. A missing or unreadable file is an error naming it.
    pub fn parse(files: &BTreeMap<&str, String>) -> Result<Stored, String> {
        let text = |name: &str| files.get(name).ok_or_else(|| format!("{name} is missing"));
        fn json_err(name: &'static str) -> impl Fn(serde_json::Error) -> String {
            move |e| format!("{name}: {e}")
        }
        let mut result: RunResult = serde_json::from_str(text(SUMMARY_JSON)?).map_err(json_err(SUMMARY_JSON))?;
        let run: RunInfo = serde_json::from_str(text(RUN_JSON)?).map_err(json_err(RUN_JSON))?;
        let topology: TopologyInfo = serde_json::from_str(text(TOPOLOGY_JSON)?).map_err(json_err(TOPOLOGY_JSON))?;
        let mut series = Series { interval_s: run.interval_s, ..Series::default() };
        read_workloads(text(WORKLOADS_CSV)?, &mut series).map_err(|e| format!("{WORKLOADS_CSV}: {e}"))?;
        read_services(text(SERVICES_CSV)?, &mut series).map_err(|e| format!("{SERVICES_CSV}: {e}"))?;
        if let Some(t) = files.get(CACHES_CSV) {
            read_caches(t, &mut series).map_err(|e| format!("{CACHES_CSV}: {e}"))?;
        }
        if let Some(t) = files.get(QUEUES_CSV) {
            read_queues(t, &mut series).map_err(|e| format!("{QUEUES_CSV}: {e}"))?;
        }
        if let Some(t) = files.get(NODES_CSV) {
            read_nodes(t, &mut series).map_err(|e| format!("{NODES_CSV}: {e}"))?;
        }
        if let Some(t) = files.get(REPLICAS_CSV) {
            read_replicas(t, &mut series).map_err(|e| format!("{REPLICAS_CSV}: {e}"))?;
        }
        if let Some(t) = files.get(INFERENCE_CSV) {
            read_inference(t, &mut series).map_err(|e| format!("{INFERENCE_CSV}: {e}"))?;
        }
        if let Some(t) = files.get(TOKENS_CSV) {
            read_tokens(t, &mut series).map_err(|e| format!("{TOKENS_CSV}: {e}"))?;
        }
        result.series = series;
        Ok(Stored { result, run, topology })
    }
}

/// One CSV file: its header, then rows of fields, by column name.
struct Csv<'a> {
    header: Vec<String>,
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
}

impl<'a> Csv<'a> {
    fn new(text: &'a str) -> Result<Csv<'a>, String> {
        let mut lines = text.lines().enumerate();
        let (_, head) = lines.next().ok_or("empty file, no header")?;
        Ok(Csv { header: fields(head, 1)?, lines })
    }

    /// The index of a column, which must be there.
    fn col(&self, name: &str) -> Result<usize, String> {
        self.header.iter().position(|h| h == name).ok_or_else(|| format!("no column {name}"))
    }

    /// The next row (line number, fields), or `None` at the end.
    fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>, String> {
        for (i, line) in self.lines.by_ref() {
            if line.is_empty() {
                continue;
            }
            let f = fields(line, i + 1)?;
            if f.len() != self.header.len() {
                return Err(format!("line {}: {} fields, the header has {}", i + 1, f.len(), self.header.len()));
            }
            return Ok(Some((i + 1, f)));
        }
        Ok(None)
    }
}

/// The fields of one line; `"…"` quotes with `""` for a quote, as
/// [`super::csv`] writes them.
fn fields(line: &str, n: usize) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, ',') => out.push(String::new()),
            (false, '"') if out.last().is_some_and(String::is_empty) => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().expect("one field at least").push('"');
            }
            (true, '"') => quoted = false,
            (_, c) => out.last_mut().expect("one field at least").push(c),
        }
    }
    if quoted {
        return Err(format!("line {n}: a quote is not closed"));
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(f: &[String], col: usize, line: usize) -> Result<T, String> {
    f[col].parse().map_err(|_| format!("line {line}: '{}' is not a number", f[col]))
}

fn opt_num(f: &[String], col: usize, line: usize) -> Result<Option<f64>, String> {
    if f[col].is_empty() { Ok(None) } else { num(f, col, line).map(Some) }
}

/// The index of `name` in `names`, added at the end if new.
fn index_of(names: &mut Vec<String>, name: &str) -> u32 {
    let i = names.iter().position(|n| n == name).unwrap_or_else(|| {
        names.push(name.to_string());
        names.len() - 1
    });
    i as u32
}

fn read_workloads(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let c: Vec<usize> = ["t_s", "workload", "offered", "ok", "failed", "p50_ms", "p95_ms", "p99_ms", "in_flight"]
        .iter()
        .map(|n| csv.col(n))
        .collect::<Result<_, _>>()?;
    // Columns added later: 0 when a stored run predates them.
    let (retries, timeouts) = (csv.col("client_retries").ok(), csv.col("client_timeouts").ok());
    let count = |f: &[String], c: Option<usize>, l| c.map_or(Ok(0), |c| num(f, c, l));
    while let Some((l, f)) = csv.next_row()? {
        s.workloads.push(WorkloadRow {
            t_s: num(&f, c[0], l)?,
            workload: index_of(&mut s.workload_names, &f[c[1]]),
            offered: num(&f, c[2], l)?,
            ok: num(&f, c[3], l)?,
            failed: num(&f, c[4], l)?,
            p50_ms: opt_num(&f, c[5], l)?,
            p95_ms: opt_num(&f, c[6], l)?,
            p99_ms: opt_num(&f, c[7], l)?,
            in_flight: num(&f, c[8], l)?,
            client_retries: count(&f, retries, l)?,
            client_timeouts: count(&f, timeouts, l)?,
        });
    }
    Ok(())
}

fn read_services(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = [
        "t_s",
        "service",
        "arrivals",
        "attempts",
        "rejected",
        "timeouts",
        "in_flight",
        "queue_len",
        "utilization",
        "replicas_ready",
        "replicas_total",
        "amplification",
        "retries",
        "faults",
    ];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        s.services.push(ServiceRow {
            t_s: num(&f, c[0], l)?,
            service: index_of(&mut s.service_names, &f[c[1]]),
            arrivals: num(&f, c[2], l)?,
            attempts: num(&f, c[3], l)?,
            rejected: num(&f, c[4], l)?,
            timeouts: num(&f, c[5], l)?,
            in_flight: num(&f, c[6], l)?,
            queue_len: num(&f, c[7], l)?,
            utilization: num(&f, c[8], l)?,
            replicas_ready: num(&f, c[9], l)?,
            replicas_total: num(&f, c[10], l)?,
            amplification: num(&f, c[11], l)?,
            retries: num(&f, c[12], l)?,
            faults: f[c[13]].clone(),
        });
    }
    Ok(())
}

fn read_caches(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = ["t_s", "cache", "lookups", "hits", "hit_ratio", "entries"];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        s.caches.push(CacheRow {
            t_s: num(&f, c[0], l)?,
            cache: index_of(&mut s.cache_names, &f[c[1]]),
            lookups: num(&f, c[2], l)?,
            hits: num(&f, c[3], l)?,
            hit_ratio: opt_num(&f, c[4], l)?,
            entries: num(&f, c[5], l)?,
        });
    }
    Ok(())
}

fn read_queues(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = [
        "t_s",
        "queue",
        "published",
        "processed",
        "redelivered",
        "dead_lettered",
        "rejected",
        "depth",
        "in_flight",
        "lag_s",
        "consumers",
    ];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        s.queues.push(QueueRow {
            t_s: num(&f, c[0], l)?,
            queue: index_of(&mut s.queue_names, &f[c[1]]),
            published: num(&f, c[2], l)?,
            processed: num(&f, c[3], l)?,
            redelivered: num(&f, c[4], l)?,
            dead_lettered: num(&f, c[5], l)?,
            rejected: num(&f, c[6], l)?,
            depth: num(&f, c[7], l)?,
            in_flight: num(&f, c[8], l)?,
            lag_s: num(&f, c[9], l)?,
            consumers: num(&f, c[10], l)?,
        });
    }
    Ok(())
}

fn read_nodes(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = [
        "t_s",
        "pool",
        "nodes",
        "provisioning",
        "pending",
        "cpu_requested",
        "cpu_used",
        "memory_requested_gib",
        "memory_used_gib",
        "cost",
    ];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        s.pools.push(PoolRow {
            t_s: num(&f, c[0], l)?,
            pool: index_of(&mut s.pool_names, &f[c[1]]),
            nodes: num(&f, c[2], l)?,
            provisioning: num(&f, c[3], l)?,
            pending: num(&f, c[4], l)?,
            cpu_requested: num(&f, c[5], l)?,
            cpu_used: num(&f, c[6], l)?,
            memory_requested_gib: num(&f, c[7], l)?,
            memory_used_gib: num(&f, c[8], l)?,
            cost: num(&f, c[9], l)?,
        });
    }
    Ok(())
}

fn read_replicas(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = ["t_s", "service", "replica", "node", "state", "cpu_s", "throttled_s", "memory_mib"];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        // `service/ordinal`: the ordinal after the last slash.
        let replica = &f[c[2]];
        let ordinal = replica.rsplit_once('/').map_or(replica.as_str(), |(_, n)| n);
        let replica =
            ordinal.parse().map_err(|_| format!("line {l}: '{replica}' is not a replica (service/ordinal)"))?;
        s.replicas.push(ReplicaRow {
            t_s: num(&f, c[0], l)?,
            service: index_of(&mut s.service_names, &f[c[1]]),
            replica,
            node: (!f[c[3]].is_empty()).then(|| index_of(&mut s.node_names, &f[c[3]])),
            state: f[c[4]].clone(),
            cpu_s: num(&f, c[5], l)?,
            throttled_s: num(&f, c[6], l)?,
            memory_mib: num(&f, c[7], l)?,
        });
    }
    Ok(())
}

fn read_inference(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = [
        "t_s",
        "service",
        "iterations",
        "batch_mean",
        "busy_share",
        "waiting",
        "kv_used",
        "preemptions",
        "output_tokens",
    ];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        s.inference.push(InferenceRow {
            t_s: num(&f, c[0], l)?,
            service: index_of(&mut s.service_names, &f[c[1]]),
            iterations: num(&f, c[2], l)?,
            batch_mean: opt_num(&f, c[3], l)?,
            busy_share: num(&f, c[4], l)?,
            waiting: num(&f, c[5], l)?,
            kv_used: num(&f, c[6], l)?,
            preemptions: num(&f, c[7], l)?,
            output_tokens: num(&f, c[8], l)?,
        });
    }
    Ok(())
}

fn read_tokens(text: &str, s: &mut Series) -> Result<(), String> {
    let mut csv = Csv::new(text)?;
    let names = ["t_s", "workload", "ttft_p50_ms", "ttft_p95_ms", "tpot_p50_ms", "tpot_p95_ms", "output_tokens"];
    let c: Vec<usize> = names.iter().map(|n| csv.col(n)).collect::<Result<_, _>>()?;
    while let Some((l, f)) = csv.next_row()? {
        s.tokens.push(TokenRow {
            t_s: num(&f, c[0], l)?,
            workload: index_of(&mut s.workload_names, &f[c[1]]),
            ttft_p50_ms: opt_num(&f, c[2], l)?,
            ttft_p95_ms: opt_num(&f, c[3], l)?,
            tpot_p50_ms: opt_num(&f, c[4], l)?,
            tpot_p95_ms: opt_num(&f, c[5], l)?,
            output_tokens: num(&f, c[6], l)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_what_the_csv_writer_quotes() {
        assert_eq!(fields("a,,\"b,c\",\"say \"\"hi\"\"\"", 1).unwrap(), ["a", "", "b,c", "say \"hi\""]);
        assert!(fields("\"open", 3).unwrap_err().contains("line 3"));
    }

    #[test]
    fn series_round_trip_through_the_csv_text() {
        let mut s = Series {
            interval_s: 0.5,
            workload_names: vec!["w,1".into(), "v".into()],
            service_names: vec!["db".into()],
            cache_names: vec!["menu,1".into()],
            queue_names: vec!["orders/billing".into(), "orders/\"audit\",2".into()],
            ..Series::default()
        };
        for i in 0..3 {
            let t_s = i as f64 * 0.5;
            for w in 0..2 {
                let p = (i > 0).then_some(1.0 / 3.0 + i as f64);
                s.workloads.push(WorkloadRow {
                    t_s,
                    workload: w,
                    offered: 7,
                    ok: 5,
                    failed: 2,
                    p50_ms: p,
                    p95_ms: p.map(|x| x * 2.0),
                    p99_ms: p.map(|x| x * 3.0),
                    in_flight: 1,
                    client_retries: i,
                    client_timeouts: 3 - i,
                });
            }
            s.caches.push(CacheRow {
                t_s,
                cache: 0,
                lookups: 3,
                hits: 1,
                hit_ratio: (i > 0).then_some(1.0 / 3.0),
                entries: 9,
            });
            for q in 0..2 {
                s.queues.push(QueueRow {
                    t_s,
                    queue: q,
                    published: 10 + i,
                    processed: 9 - q as u64,
                    redelivered: i,
                    dead_lettered: q as u64,
                    rejected: 2,
                    depth: 5 * i,
                    in_flight: 3,
                    lag_s: 0.1 + 0.2 * i as f64,
                    consumers: 4,
                });
            }
            s.services.push(ServiceRow {
                t_s,
                utilization: 0.1 + 0.2,
                amplification: 1e-7,
                faults: "slowdown;errors".into(),
                replicas_ready: 1,
                replicas_total: 2,
                ..ServiceRow::default()
            });
        }
        let mut back = Series { interval_s: 0.5, ..Series::default() };
        read_workloads(&super::super::workloads_csv(&s), &mut back).unwrap();
        read_services(&super::super::services_csv(&s), &mut back).unwrap();
        read_caches(&super::super::caches_csv(&s), &mut back).unwrap();
        read_queues(&super::super::queues_csv(&s), &mut back).unwrap();
        assert_eq!(back, s);
    }

    /// `nodes.csv` and `replicas.csv`: names for indexes, `service/ordinal`
    /// for a replica, an empty node while Pending, and back.
    #[test]
    fn cluster_series_round_trip_through_the_csv_text() {
        let mut s = Series {
            interval_s: 1.0,
            service_names: vec!["cart".into(), "db,2".into()],
            pool_names: vec!["general".into(), "high\"mem\"".into()],
            node_names: vec!["general-0".into(), "high-mem-1".into()],
            ..Series::default()
        };
        for i in 0..3u64 {
            let t_s = i as f64;
            for p in 0..2u32 {
                s.pools.push(PoolRow {
                    t_s,
                    pool: p,
                    nodes: 3 + i,
                    provisioning: u64::from(i == 1),
                    pending: 2 - i,
                    cpu_requested: 1.5 + 0.1 * i as f64,
                    cpu_used: 1.0 / 3.0,
                    memory_requested_gib: 0.5 * f64::from(p),
                    memory_used_gib: 1e-7,
                    cost: 0.38 / 3600.0,
                });
            }
            for (service, replica, node) in [(0, 0, Some(0)), (0, 1, (i > 0).then_some(1)), (1, 12, Some(1))] {
                s.replicas.push(ReplicaRow {
                    t_s,
                    service,
                    replica,
                    node,
                    state: if node.is_some() { "ready" } else { "pending" }.into(),
                    cpu_s: 0.25 * i as f64,
                    throttled_s: 0.1 + 0.2,
                    memory_mib: 512.5,
                });
            }
        }
        let nodes = super::super::nodes_csv(&s);
        assert!(nodes.starts_with(
            "t_s,pool,nodes,provisioning,pending,cpu_requested,cpu_used,memory_requested_gib,memory_used_gib,cost\n\
             0,general,3,0,2,1.5,"
        ));
        let replicas = super::super::replicas_csv(&s);
        assert!(replicas.starts_with("t_s,service,replica,node,state,cpu_s,throttled_s,memory_mib\n"));
        assert!(replicas.contains("\n0,cart,cart/1,,pending,0,"), "{replicas}");
        assert!(replicas.contains("\n0,\"db,2\",\"db,2/12\",high-mem-1,ready,"), "{replicas}");
        let mut back = Series { interval_s: 1.0, service_names: s.service_names.clone(), ..Series::default() };
        read_nodes(&nodes, &mut back).unwrap();
        read_replicas(&replicas, &mut back).unwrap();
        assert_eq!(back, s);
        let err = read_replicas(&replicas.replace("cart/1", "cart/x"), &mut back).unwrap_err();
        assert!(err.contains("'cart/x' is not a replica"), "{err}");
    }

    /// `inference.csv` and `tokens.csv`: names for indexes, empty cells for
    /// absent batches and percentiles, and back.
    #[test]
    fn inference_series_round_trip_through_the_csv_text() {
        let mut s = Series {
            interval_s: 0.5,
            workload_names: vec!["chat".into(), "batch,2".into()],
            service_names: vec!["web".into(), "llm \"a\"".into()],
            ..Series::default()
        };
        for i in 0..3u64 {
            let t_s = i as f64 * 0.5;
            s.inference.push(InferenceRow {
                t_s,
                service: 1,
                iterations: 40 * i,
                batch_mean: (i > 0).then_some(12.0 + 1.0 / 3.0),
                busy_share: 0.1 + 0.2,
                waiting: 2.5 * i as f64,
                kv_used: 1.0 / 7.0,
                preemptions: i,
                output_tokens: 480 * i,
            });
            for w in 0..2u32 {
                let p = (i > 0 && w == 0).then_some(123.456 + i as f64);
                s.tokens.push(TokenRow {
                    t_s,
                    workload: w,
                    ttft_p50_ms: p,
                    ttft_p95_ms: p.map(|x| x * 3.0),
                    tpot_p50_ms: p.map(|x| x / 10.0),
                    tpot_p95_ms: p.map(|x| x / 5.0),
                    output_tokens: 200 * i,
                });
            }
        }
        let inference = super::super::inference_csv(&s);
        assert!(
            inference.starts_with(
                "t_s,service,iterations,batch_mean,busy_share,waiting,kv_used,preemptions,output_tokens\n\
             0,\"llm \"\"a\"\"\",0,,0.30000000000000004,0,"
            ),
            "{inference}"
        );
        let tokens = super::super::tokens_csv(&s);
        assert!(tokens.starts_with(
            "t_s,workload,ttft_p50_ms,ttft_p95_ms,tpot_p50_ms,tpot_p95_ms,output_tokens\n0,chat,,,,,0\n0,\"batch,2\",,,,,0\n"
        ), "{tokens}");
        let mut back = Series {
            interval_s: 0.5,
            workload_names: s.workload_names.clone(),
            service_names: s.service_names.clone(),
            ..Series::default()
        };
        read_inference(&inference, &mut back).unwrap();
        read_tokens(&tokens, &mut back).unwrap();
        assert_eq!(back, s);
        let err = read_tokens("t_s,workload\n", &mut back).unwrap_err();
        assert_eq!(err, "no column ttft_p50_ms");
    }

    #[test]
    fn a_missing_file_or_column_is_named() {
        let files = BTreeMap::new();
        assert_eq!(Stored::parse(&files).unwrap_err(), "summary.json is missing");
        let mut s = Series::default();
        assert_eq!(read_workloads("t_s,workload\n", &mut s).unwrap_err(), "no column offered");
        let err = read_services(&super::super::services_csv(&s).replace('\n', "\n1,x\n"), &mut s).unwrap_err();
        assert!(err.contains("line 2: 2 fields"), "{err}");
    }
}
