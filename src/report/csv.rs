//! The per-interval series as CSV (`workloads.csv`, `services.csv`,
//! `caches.csv` when the model has keyed caches, `queues.csv` when it
//! has queues, `nodes.csv` and `replicas.csv` when it has a cluster,
//! `inference.csv` and `tokens.csv` when it has inference servers).

use crate::metrics::Series;
use std::fmt::Write;

/// An optional number: empty when absent.
pub(super) fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

/// Names are written as-is when they need no quoting, else quoted.
pub(super) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub fn workloads_csv(s: &Series) -> String {
    let mut o =
        String::from("t_s,workload,offered,ok,failed,p50_ms,p99_ms,in_flight,p95_ms,client_retries,client_timeouts\n");
    for r in &s.workloads {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.t_s,
            field(&s.workload_names[r.workload as usize]),
            r.offered,
            r.ok,
            r.failed,
            opt(r.p50_ms),
            opt(r.p99_ms),
            r.in_flight,
            opt(r.p95_ms),
            r.client_retries,
            r.client_timeouts
        );
    }
    o
}

pub fn services_csv(s: &Series) -> String {
    let mut o = String::from(
        "t_s,service,arrivals,attempts,rejected,timeouts,in_flight,queue_len,utilization,replicas_ready,replicas_total,amplification,retries,faults\n",
    );
    for r in &s.services {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.t_s,
            field(&s.service_names[r.service as usize]),
            r.arrivals,
            r.attempts,
            r.rejected,
            r.timeouts,
            r.in_flight,
            r.queue_len,
            r.utilization,
            r.replicas_ready,
            r.replicas_total,
            r.amplification,
            r.retries,
            field(&r.faults)
        );
    }
    o
}

/// `caches.csv`: per interval and keyed cache, its lookups, hits, hit ratio
/// (empty without lookups) and the entries held at the interval's end.
pub fn caches_csv(s: &Series) -> String {
    let mut o = String::from("t_s,cache,lookups,hits,hit_ratio,entries\n");
    for r in &s.caches {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{}",
            r.t_s,
            field(&s.cache_names[r.cache as usize]),
            r.lookups,
            r.hits,
            opt(r.hit_ratio),
            r.entries
        );
    }
    o
}

/// `queues.csv`: per interval and consumer group of a queue (`queue/group`),
/// what was published, processed, redelivered, dead-lettered and rejected in
/// the interval, and at its end the messages waiting (`depth`) and being
/// processed, their sum (the lag in messages), the age of the oldest waiting
/// one and the group's consumers.
pub fn queues_csv(s: &Series) -> String {
    let mut o = String::from(
        "t_s,queue,published,processed,redelivered,dead_lettered,rejected,depth,in_flight,lag,lag_s,consumers\n",
    );
    for r in &s.queues {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            r.t_s,
            field(&s.queue_names[r.queue as usize]),
            r.published,
            r.processed,
            r.redelivered,
            r.dead_lettered,
            r.rejected,
            r.depth,
            r.in_flight,
            r.depth + r.in_flight,
            r.lag_s,
            r.consumers
        );
    }
    o
}

/// `nodes.csv`: per interval and node pool, at the interval's end the nodes
/// up, being provisioned and the replicas Pending (cluster-wide, repeated on
/// each pool's row); over the interval the mean cores requested by pods and
/// used; at its end the memory requested and in use (GiB); the cost of the
/// interval's node time.
pub fn nodes_csv(s: &Series) -> String {
    let mut o = String::from(
        "t_s,pool,nodes,provisioning,pending,cpu_requested,cpu_used,memory_requested_gib,memory_used_gib,cost\n",
    );
    for r in &s.pools {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{}",
            r.t_s,
            field(&s.pool_names[r.pool as usize]),
            r.nodes,
            r.provisioning,
            r.pending,
            r.cpu_requested,
            r.cpu_used,
            r.memory_requested_gib,
            r.memory_used_gib,
            r.cost
        );
    }
    o
}

/// `replicas.csv`: per interval and replica (`service/ordinal`), the node it
/// is on (empty while Pending) and its state at the interval's end, the CPU
/// seconds it used and the seconds it was throttled in the interval, and the
/// memory in use at the end (MiB).
pub fn replicas_csv(s: &Series) -> String {
    let mut o = String::from("t_s,service,replica,node,state,cpu_s,throttled_s,memory_mib\n");
    for r in &s.replicas {
        let service = &s.service_names[r.service as usize];
        let node = r.node.map_or("", |n| s.node_names[n as usize].as_str());
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{}",
            r.t_s,
            field(service),
            field(&format!("{service}/{}", r.replica)),
            field(node),
            field(&r.state),
            r.cpu_s,
            r.throttled_s,
            r.memory_mib
        );
    }
    o
}

/// `inference.csv`: per interval and inference service, the iterations run
/// and their mean batch (empty without an iteration); time-averages over
/// the interval of the share of replica time an iteration ran (GPU busy),
/// the sequences waiting (all replicas) and the share of the KV cache
/// used; the sequences preempted and output tokens generated in it.
pub fn inference_csv(s: &Series) -> String {
    let mut o =
        String::from("t_s,service,iterations,batch_mean,busy_share,waiting,kv_used,preemptions,output_tokens\n");
    for r in &s.inference {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{}",
            r.t_s,
            field(&s.service_names[r.service as usize]),
            r.iterations,
            opt(r.batch_mean),
            r.busy_share,
            r.waiting,
            r.kv_used,
            r.preemptions,
            r.output_tokens
        );
    }
    o
}

/// `tokens.csv`: per interval and workload whose requests generate tokens,
/// the TTFT and TPOT p50/p95 of the requests that succeeded in it (empty
/// when none did) and their output tokens.
pub fn tokens_csv(s: &Series) -> String {
    let mut o = String::from("t_s,workload,ttft_p50_ms,ttft_p95_ms,tpot_p50_ms,tpot_p95_ms,output_tokens\n");
    for r in &s.tokens {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{}",
            r.t_s,
            field(&s.workload_names[r.workload as usize]),
            opt(r.ttft_p50_ms),
            opt(r.ttft_p95_ms),
            opt(r.tpot_p50_ms),
            opt(r.tpot_p95_ms),
            r.output_tokens
        );
    }
    o
}
