//! The serialisable result of a run: the `--json` contract of
//! `shared/spec/format.md` (keys as written there; more may be added).
//!
//! Maps are `BTreeMap`s so the JSON is byte-identical for a seed. Times are
//! milliseconds as floats, counts integers. Every type reads back from its
//! JSON too (`Deserialize`), so `stormcast report DIR` can rebuild a report
//! from a saved `summary.json` without running anything; the series, which
//! the JSON leaves out, come back from the CSV files.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Latency of the requests (or attempts) that succeeded, in milliseconds.
/// Every field is `None` (JSON `null`, `—` on the terminal) when nothing
/// succeeded: there is no latency to report, and `0` would read as "fast".
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
    /// Values beyond the histogram's range (one simulated day): counted in
    /// the percentiles as one day; `max` and `mean` stay exact. Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub beyond_range: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WorkloadResult {
    /// `service.endpoint` the workload sends to.
    pub target: String,
    /// Requests that arrived after the warm-up.
    pub offered: u64,
    pub ok: u64,
    pub failed: u64,
    /// Counted requests still in flight when the run ended.
    pub in_flight_at_end: u64,
    /// Completed requests per second of measured time (ok only).
    pub goodput_per_s: f64,
    /// End-to-end latency of successful requests, as the edge client sees it.
    pub latency_ms: LatencySummary,
    /// Why failed requests failed, by the kind of their root cause.
    pub failures: FailureCounts,
    /// Failed requests by root cause, most frequent first.
    pub causes: Vec<FailureCause>,
    /// A replayed trace: its window and what happened when it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceReplay>,
    /// What the edge client did, for a workload with `client:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientResult>,
    /// Time to first token of the successful requests that generated
    /// tokens (a `generate` step on their path), as the edge client sees
    /// the stream: from the request's start to the first token's arrival.
    /// Absent when no request of the workload reaches a `generate` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<LatencySummary>,
    /// Time per output token after the first: (last token − first token) /
    /// (output tokens − 1), over those requests with at least two tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<LatencySummary>,
    /// Output tokens of successful requests per second of measured time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_s: Option<f64>,
    /// Goodput under the workload's TTFT/TPOT SLO bounds (DistServe's
    /// definition: requests meeting both); absent without such an SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_goodput: Option<TokenGoodput>,
}

/// Requests that met a workload's token SLO thresholds: TTFT at most
/// `ttft_ms` and TPOT at most `tpot_ms` (each only when the SLO bounds it).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TokenGoodput {
    #[serde(default)]
    pub ttft_ms: Option<f64>,
    #[serde(default)]
    pub tpot_ms: Option<f64>,
    /// Successful requests that met both thresholds.
    pub met: u64,
    /// `met` over the requests that ended (ok or failed).
    pub attainment: f64,
    /// `met` per second of measured time.
    pub goodput_per_s: f64,
}

/// A workload's edge client (`client:`): first tries apart from the
/// users' own retries. Counts cover requests that arrived after the warm-up.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ClientResult {
    /// Attempts the users sent: first tries and retries.
    pub attempts: u64,
    /// Of them, retries.
    pub retries: u64,
    /// Attempts the users stopped waiting for (their `timeout`).
    pub timeouts: u64,
    /// Requests that succeeded on their first attempt.
    pub first_try_ok: u64,
    /// Requests that succeeded only after retrying.
    pub ok_after_retry: u64,
    /// Failed requests whose last attempt timed out at the client: the
    /// user gave up waiting (the others failed with an answer).
    pub gave_up: u64,
    /// Attempts per request (1 without retries).
    pub amplification: f64,
}

/// How a `trace:` workload was replayed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TraceReplay {
    pub file: String,
    /// Requests in the window at scale 1.
    pub window_requests: u64,
    /// One pass of the window in simulated seconds (after `speed`).
    pub window_s: f64,
    /// `stop` or `loop`.
    pub on_end: String,
    /// Passes over the window the run covered (1 or less: it never ended).
    pub passes: f64,
    /// In words, when the window ended before the run.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Failed requests (or calls) by the kind of their root cause: the failure
/// where it began, wherever in the call graph that was (a request that
/// failed because a call two hops down timed out counts as a timeout).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FailureCounts {
    pub error: u64,
    pub timeout: u64,
    pub rejected: u64,
    pub short_circuited: u64,
}

impl FailureCounts {
    pub fn add(&mut self, o: &FailureCounts) {
        self.error += o.error;
        self.timeout += o.timeout;
        self.rejected += o.rejected;
        self.short_circuited += o.short_circuited;
    }

    pub fn total(&self) -> u64 {
        self.error + self.timeout + self.rejected + self.short_circuited
    }
}

/// How many requests failed for one root cause.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FailureCause {
    /// `error`, `timeout`, `rejected` or `short_circuited`.
    pub kind: String,
    /// Where it began: a service (`db`) or a call edge (`api->db.query`).
    pub at: String,
    pub count: u64,
}

/// Replicas (starting, ready and draining) over the measured period.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ReplicaSummary {
    pub min: u32,
    /// Time-weighted.
    pub mean: f64,
    pub max: u32,
}

/// One rescale by a service's autoscaler.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ScaleEventResult {
    pub t_s: f64,
    pub from: u32,
    pub to: u32,
    /// The controller's decision: the metric, stabilization and which
    /// policy or bound limited it.
    pub reason: String,
}

/// What the replicas cost, when the topology gives a price.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CostResult {
    pub per_replica_hour: f64,
    /// Over all services, measured period only.
    pub replica_hours: f64,
    pub total: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ServiceResult {
    /// Attempts that arrived at a replica after the warm-up.
    pub arrivals: u64,
    /// Attempts whose response was sent (ok or error).
    pub completed: u64,
    /// Of those, responses that were errors.
    pub errors: u64,
    /// Attempts refused at admission: full queue, or dropped after `max_wait`.
    pub rejected: u64,
    /// Attempts to this service that their caller timed out on.
    pub timeouts: u64,
    /// Busy core time / (cores x measured time).
    pub utilization: f64,
    /// Time-average number of attempts admitted or queued.
    pub mean_in_system: f64,
    /// Time-average number of attempts waiting for admission.
    pub mean_queue_len: f64,
    /// Largest admission queue length seen.
    pub queue_len_max: u64,
    /// Mean wait for admission of admitted attempts.
    pub queue_wait_ms_mean: f64,
    /// Mean wait for a core per work step.
    pub cpu_wait_ms_mean: f64,
    /// CPU time spent on attempts whose caller had already given up.
    pub wasted_cpu_s: f64,
    /// Attempts dropped unstarted because their propagated deadline had passed.
    pub deadline_dropped: u64,
    /// Attempts arriving here per request entering the system (all workloads).
    pub amplification: f64,
    pub replicas: ReplicaSummary,
    /// Replicas (starting, ready, draining) integrated over the measured
    /// period, in hours.
    pub replica_hours: f64,
    /// Rescales by the autoscaler (after the warm-up); absent without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_events: Vec<ScaleEventResult>,
    /// Server-side latency: arrival at the replica to response sent.
    pub latency_ms: LatencySummary,
    /// The same, per endpoint of the service (when several workloads or
    /// callers reach different endpoints, each has its own figures).
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointResult>,
    /// What the platform did to it: CPU throttling, Pending, OOM kills and
    /// evictions. Present with `cluster:` or a CPU limit; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformResult>,
    /// Its inference server (`inference:`): batching, KV cache, waiting
    /// sequences, preemptions; absent for an ordinary service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceResult>,
}

/// An inference service's servers over the measured period, all replicas.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct InferenceResult {
    /// Iterations run, and the share of replica time one was running (the
    /// GPU busy share; replicas loading the model count as idle time).
    pub iterations: u64,
    pub busy_share: f64,
    /// Sequences per iteration: mean over iterations, and the largest.
    pub batch_mean: f64,
    pub batch_max: u64,
    /// Sequences waiting to be admitted to a batch (all replicas):
    /// time-average, and the most at once.
    pub waiting_mean: f64,
    pub waiting_max: u64,
    /// KV-cache use as a share of capacity: time-average over the
    /// replicas' capacity, and the highest on one replica.
    pub kv_used_mean: f64,
    pub kv_used_max: f64,
    /// Sequences preempted (KV cache full; recomputed later).
    pub preemptions: u64,
    /// Sequences that finished generating, and prompts refused because
    /// they could never fit the KV cache.
    pub sequences: u64,
    pub too_long: u64,
    /// Prompt tokens computed (recomputation after preemption included),
    /// and output tokens generated.
    pub prefill_tokens: u64,
    pub output_tokens: u64,
    /// Output tokens per second of measured time (all replicas).
    pub output_tokens_per_s: f64,
    /// Model loads started (new replicas, restarts) and their mean time.
    pub model_loads: u64,
    pub model_load_s_mean: f64,
}

/// What the platform did to one service's replicas (measured period).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PlatformResult {
    /// Its replicas' CPU request and limit, in cores (`None`: no limit).
    pub cpu_request: f64,
    #[serde(default)]
    pub cpu_limit: Option<f64>,
    /// Replica-seconds spent throttled (CFS quota used up), summed over replicas.
    pub throttled_s: f64,
    /// CFS periods in which a replica was throttled, and their share of the
    /// periods its replicas ran (the `nr_throttled / nr_periods` of cgroups).
    pub throttled_periods: u64,
    pub throttled_share: f64,
    /// Mean CPU a replica used, in cores (busy core time / replica time).
    pub cpu_used_mean: f64,
    /// Replicas that waited for a node (Pending), and how long.
    pub pending: u64,
    pub pending_s_mean: f64,
    pub pending_s_max: f64,
    /// Containers killed for passing their memory limit, replicas evicted
    /// (memory pressure, node failure, `evict` faults, node scale-down).
    pub oom_kills: u64,
    pub evictions: u64,
    /// Highest memory a replica used, in MiB (with `memory_per_request`).
    #[serde(default)]
    pub memory_mib_max: Option<f64>,
}

/// The nodes under the services (`cluster:`), measured period.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterResult {
    /// Nodes up (ready for pods) over time, all pools.
    pub nodes: ReplicaSummary,
    pub node_hours: f64,
    /// Node hours × `cost_per_hour`, over the pools that give a price.
    #[serde(default)]
    pub cost: Option<f64>,
    /// Replica placements that had to wait for a node, and for how long.
    pub pending: u64,
    pub pending_s_mean: f64,
    pub pending_s_max: f64,
    pub evictions: u64,
    pub oom_kills: u64,
    /// Nodes the cluster autoscaler added and removed, and nodes that failed.
    pub nodes_added: u64,
    pub nodes_removed: u64,
    pub node_failures: u64,
    pub pools: BTreeMap<String, PoolResult>,
}

/// One node pool.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PoolResult {
    pub nodes: ReplicaSummary,
    pub node_hours: f64,
    #[serde(default)]
    pub cost: Option<f64>,
    /// Time-average share of the pool's cores requested by pods, and used.
    pub cpu_requested_share: f64,
    pub cpu_used_share: f64,
    /// Time-average share of the pool's memory requested.
    pub memory_requested_share: f64,
    pub nodes_added: u64,
    pub nodes_removed: u64,
}

/// One endpoint of a service: its attempts that responded, and their
/// server-side latency (arrival at the replica to response sent; 1%
/// histogram resolution).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EndpointResult {
    pub completed: u64,
    pub errors: u64,
    pub latency_ms: LatencySummary,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EdgeResult {
    /// Calls made (first attempts intended).
    pub calls: u64,
    /// Attempts sent: first tries, retries and hedges.
    pub attempts: u64,
    pub retries: u64,
    pub hedges: u64,
    /// Attempts the caller's circuit breaker refused.
    pub short_circuits: u64,
    /// Retries or hedges a retry budget or throttle refused.
    pub throttled: u64,
    pub timeouts: u64,
    /// Calls that failed after all their attempts.
    pub failures: u64,
    pub rejected: u64,
    /// Calls skipped by `probability`.
    pub skipped: u64,
    /// Failed calls by the kind of their root cause (a call that failed
    /// because its callee's own call timed out counts as a timeout).
    pub failed_by: FailureCounts,
    /// Latency of the successful calls as the caller saw them: first
    /// attempt sent to the answer received, network, retries and backoff
    /// included (1% histogram resolution).
    #[serde(default)]
    pub latency_ms: LatencySummary,
}

impl EdgeResult {
    /// Adds another call site's counts (sites sharing a name are one edge).
    pub fn add(&mut self, o: &EdgeResult) {
        self.calls += o.calls;
        self.attempts += o.attempts;
        self.retries += o.retries;
        self.hedges += o.hedges;
        self.short_circuits += o.short_circuits;
        self.throttled += o.throttled;
        self.timeouts += o.timeouts;
        self.failures += o.failures;
        self.rejected += o.rejected;
        self.skipped += o.skipped;
        self.failed_by.add(&o.failed_by);
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ChainHop {
    pub service: String,
    pub endpoint: String,
    /// How deep in the call tree (the entry endpoint is 0).
    pub depth: u32,
    /// Mean number of times per request the critical path visited this hop
    /// (above 1 in a `repeat`, below 1 behind a `branch` or `probability`).
    pub visits: f64,
    pub queue_ms: f64,
    pub cpu_ms: f64,
    pub network_ms: f64,
    pub backoff_ms: f64,
    pub wasted_ms: f64,
    pub delay_ms: f64,
    /// Waiting for the next CFS period after the replica's CPU quota ran
    /// out (only with a CPU limit; absent when zero).
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub throttled_ms: f64,
}

fn is_zero_f(x: &f64) -> bool {
    *x == 0.0
}

/// A workload's latency chains: the critical path hop by hop, averaged over
/// its successful requests (`mean`), over those near the median (`p50`:
/// between the running p45 and p55) and over the tail (`p99`: at or above
/// the running p99).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Chains {
    pub mean: Vec<ChainHop>,
    #[serde(default)]
    pub p50: Vec<ChainHop>,
    pub p99: Vec<ChainHop>,
}

/// What a finding is about (`findings[].kind` in the JSON, snake_case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Saturation,
    PoolExhausted,
    RetryStorm,
    Metastable,
    Recovered,
    AutoscalerSlow,
    Flapping,
    SloViolation,
    StoppedEarly,
    /// A consumer group's lag grew without bound.
    Backlog,
    /// Messages reached a dead-letter queue.
    DeadLetters,
}

impl FindingKind {
    /// The word used in the JSON and on the terminal.
    pub fn word(self) -> &'static str {
        match self {
            FindingKind::Saturation => "saturation",
            FindingKind::PoolExhausted => "pool_exhausted",
            FindingKind::RetryStorm => "retry_storm",
            FindingKind::Metastable => "metastable",
            FindingKind::Recovered => "recovered",
            FindingKind::AutoscalerSlow => "autoscaler_slow",
            FindingKind::Flapping => "flapping",
            FindingKind::SloViolation => "slo_violation",
            FindingKind::StoppedEarly => "stopped_early",
            FindingKind::Backlog => "backlog",
            FindingKind::DeadLetters => "dead_letters",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// A span of simulated time, in seconds.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub from_s: f64,
    pub to_s: f64,
}

/// A finding stated in words. One finding per kind and subject: when the
/// condition held several times, `windows` lists each stretch and
/// `from_s`/`to_s` span them all.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub subject: String,
    pub from_s: f64,
    pub to_s: f64,
    /// The stretches of time where the condition held, in order.
    pub windows: Vec<Window>,
    pub message: String,
}

/// What ended a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The whole duration was simulated.
    Duration,
    /// The `--max-events` safety limit: the result is partial.
    MaxEvents,
    /// The `--max-in-flight` safety limit: the result is partial.
    MaxInFlight,
}

impl StopReason {
    pub fn word(self) -> &'static str {
        match self {
            StopReason::Duration => "duration",
            StopReason::MaxEvents => "max_events",
            StopReason::MaxInFlight => "max_in_flight",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// One SLO of the topology, judged over the measured run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SloResult {
    pub workload: String,
    /// The objective in words: `p99 ≤ 300ms, success ≥ 99.9%`.
    pub objective: String,
    /// Every check held over the measured run.
    pub pass: bool,
    pub checks: Vec<SloCheck>,
    /// Judged windows in which it was missed (see the `slo_violation` finding).
    pub windows_missed: usize,
}

/// One bound of an SLO.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SloCheck {
    /// `p99`, `mean`, … or `success`.
    pub stat: String,
    /// The bound: milliseconds for latencies, a ratio for `success`.
    pub limit: f64,
    /// What the run measured (`null`: no request succeeded, or none ended).
    pub value: Option<f64>,
    pub pass: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineResult {
    pub events: u64,
    /// `duration` (the whole run was simulated), `max_events` or `max_in_flight`.
    pub stopped_by: StopReason,
    /// Hash of the event trace; equal for equal inputs and seeds.
    pub digest: String,
    /// Simulated time reached, seconds.
    pub sim_time_s: f64,
    /// Most requests (at the edge) in flight at once.
    pub peak_in_flight: u64,
}

/// A cache's counts after the warm-up. A fixed-ratio cache has `hits` and
/// `misses` only; a keyed cache (`caches:`) has the rest too.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CacheResult {
    pub hits: u64,
    pub misses: u64,
    /// Keyed: lookups (hits + misses; a coalesced miss that waited for
    /// another's fetch counts as a hit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookups: Option<u64>,
    /// Keyed: hits / lookups (`None` without lookups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_ratio: Option<f64>,
    /// Keyed: entries evicted by LRU to make room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evictions: Option<u64>,
    /// Keyed: entries found expired (TTL) by a lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expirations: Option<u64>,
    /// Keyed: entries held at the end (every replica's, for `scope: replica`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries_end: Option<u64>,
}

/// A queue after the warm-up (`queues:`), over all its consumer groups
/// (each group receives every message).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct QueueResult {
    /// Messages the broker accepted (a dropped one included).
    pub published: u64,
    /// Messages consumers finished successfully, over all groups.
    pub processed: u64,
    /// Messages moved to the dead-letter queue after `max_deliveries`.
    pub dead_lettered: u64,
    /// Deliveries after the first (a failure, a crash, a visibility timeout).
    pub redelivered: u64,
    /// Publishes refused by a full queue (`when_full: reject`, or `block`
    /// past its timeout).
    pub rejected: u64,
    /// Messages discarded: a full queue with `when_full: drop`, a consumer
    /// failure under `at_most_once`, or `retention` run out.
    pub dropped: u64,
    /// Publishers that waited for room (`when_full: block`) and their mean wait.
    pub blocked: u64,
    pub blocked_ms_mean: Option<f64>,
    /// Messages waiting (not being processed), most over any group.
    pub depth_max: u64,
    pub depth_end: u64,
    /// Age of the oldest waiting message, most over the run and groups.
    pub lag_max_s: f64,
    /// From the broker accepting a message to a consumer finishing it.
    pub time_to_processed_ms: LatencySummary,
    /// Per consumer group.
    pub groups: BTreeMap<String, QueueGroupResult>,
}

/// One consumer group of a queue.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct QueueGroupResult {
    /// `service.endpoint` of the consumers.
    pub endpoint: String,
    /// `partitioned` or `competing`.
    pub mode: String,
    pub processed: u64,
    pub dead_lettered: u64,
    pub redelivered: u64,
    pub dropped: u64,
    pub depth_max: u64,
    pub depth_end: u64,
    /// Messages waiting or being processed at the end.
    pub lag_end: u64,
    pub lag_max_s: f64,
    /// Mean busy consumers over consumers (replicas × concurrency).
    pub consumer_utilization: f64,
    pub time_to_processed_ms: LatencySummary,
}

/// One fault of the chaos schedule, as it ran.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultResult {
    pub kind: String,
    /// The service it hits (`from->to` for a partition).
    pub subject: String,
    pub at_s: f64,
    /// When it ended, if it did (a crash: its restart).
    pub end_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub name: String,
    pub seed: u64,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// False when a safety limit ended the run early: the numbers are partial.
    pub complete: bool,
    pub workloads: BTreeMap<String, WorkloadResult>,
    pub services: BTreeMap<String, ServiceResult>,
    pub edges: BTreeMap<String, EdgeResult>,
    pub caches: BTreeMap<String, CacheResult>,
    /// Queues and topics (`queues:`); absent without.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: BTreeMap<String, QueueResult>,
    pub chains: BTreeMap<String, Chains>,
    pub findings: Vec<Finding>,
    /// The chaos schedule as it ran.
    pub faults: Vec<FaultResult>,
    /// The topology's SLOs (`slo:`), judged over the measured run; absent without.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<SloResult>,
    /// The nodes under the services; absent without `cluster:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterResult>,
    /// Present when the topology has `cost: { per_replica_hour }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostResult>,
    pub engine: EngineResult,
    /// Per-interval series; written to CSV by `--out`, not part of the JSON.
    #[serde(skip)]
    pub series: Series,
    /// Broken invariants found when the run checked them (tests); empty otherwise.
    #[serde(skip)]
    pub invariant_violations: Vec<String>,
}

/// One row of `workloads.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRow {
    pub t_s: f64,
    pub workload: u32,
    pub offered: u64,
    pub ok: u64,
    pub failed: u64,
    /// Latency percentiles of the requests that succeeded in the interval
    /// (`None`: none did).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub in_flight: u64,
    /// The edge client's retries and timeouts in the interval.
    #[serde(default)]
    pub client_retries: u64,
    #[serde(default)]
    pub client_timeouts: u64,
}

/// One row of `services.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub t_s: f64,
    pub service: u32,
    pub arrivals: u64,
    pub attempts: u64,
    pub rejected: u64,
    pub timeouts: u64,
    pub in_flight: u64,
    pub queue_len: u64,
    pub utilization: f64,
    pub replicas_ready: u32,
    pub replicas_total: u32,
    /// Attempts sent to the service per request entering the system in the interval.
    pub amplification: f64,
    /// Attempts that were retries or hedges.
    pub retries: u64,
    /// Kinds of the faults acting on the service at the interval's end (`;`-separated).
    pub faults: String,
}

/// One row of `caches.csv` (keyed caches only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheRow {
    pub t_s: f64,
    pub cache: u32,
    pub lookups: u64,
    pub hits: u64,
    /// `None`: no lookup in the interval.
    pub hit_ratio: Option<f64>,
    /// Entries held at the interval's end.
    pub entries: u64,
}

/// One row of `queues.csv`: one consumer group of a queue in one interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub t_s: f64,
    /// Index into `Series::queue_names` (`queue` or `queue/group`).
    pub queue: u32,
    pub published: u64,
    pub processed: u64,
    pub redelivered: u64,
    pub dead_lettered: u64,
    pub rejected: u64,
    /// At the interval's end: messages waiting, being processed, and the
    /// age of the oldest waiting one (0 when none waits).
    pub depth: u64,
    pub in_flight: u64,
    pub lag_s: f64,
    /// Consumers of the group at the interval's end (replicas × concurrency).
    pub consumers: u64,
}

/// One row of `replicas.csv` (with `cluster:` or a CPU limit): one replica
/// alive in one interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaRow {
    pub t_s: f64,
    pub service: u32,
    /// Ordinal of the replica within its service (`cart/3` is 3).
    pub replica: u32,
    /// Index into `Series::node_names`; `None` while Pending.
    pub node: Option<u32>,
    /// At the interval's end: `pending`, `starting`, `ready`, `draining`,
    /// `down` (crashed, OOM-killed, backing off) or `gone`.
    pub state: String,
    /// CPU seconds used and seconds throttled during the interval.
    pub cpu_s: f64,
    pub throttled_s: f64,
    /// Memory in use at the interval's end, in MiB.
    pub memory_mib: f64,
}

/// One row of `nodes.csv` (with `cluster:`): one pool in one interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolRow {
    pub t_s: f64,
    /// Index into `Series::pool_names`.
    pub pool: u32,
    /// At the interval's end: nodes up, nodes being provisioned, and the
    /// replicas Pending (cluster-wide, repeated on each pool's row).
    pub nodes: u64,
    pub provisioning: u64,
    pub pending: u64,
    /// Time-average over the interval, in cores: requested by pods, used.
    pub cpu_requested: f64,
    pub cpu_used: f64,
    /// At the interval's end, in GiB: requested by pods, in use.
    pub memory_requested_gib: f64,
    pub memory_used_gib: f64,
    /// Cost of the interval's node time.
    pub cost: f64,
}

/// One row of `inference.csv`: one inference service in one interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InferenceRow {
    pub t_s: f64,
    /// Index into `Series::service_names`.
    pub service: u32,
    pub iterations: u64,
    /// Mean sequences per iteration (`None`: no iteration).
    pub batch_mean: Option<f64>,
    /// Time-averages over the interval: share of replica time an iteration
    /// ran, sequences waiting (all replicas), share of the KV cache used.
    pub busy_share: f64,
    pub waiting: f64,
    pub kv_used: f64,
    pub preemptions: u64,
    pub output_tokens: u64,
}

/// One row of `tokens.csv`: one workload that generates tokens, one interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub t_s: f64,
    /// Index into `Series::workload_names`.
    pub workload: u32,
    /// TTFT and TPOT percentiles of the requests that succeeded in the
    /// interval (`None`: none did).
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub tpot_p50_ms: Option<f64>,
    pub tpot_p95_ms: Option<f64>,
    pub output_tokens: u64,
}

/// Per-interval series. Rows reference workloads, services and caches by
/// index into `workload_names` / `service_names` / `cache_names`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub interval_s: f64,
    pub workload_names: Vec<String>,
    pub service_names: Vec<String>,
    pub workloads: Vec<WorkloadRow>,
    pub services: Vec<ServiceRow>,
    /// Keyed caches only (empty without).
    #[serde(default)]
    pub cache_names: Vec<String>,
    #[serde(default)]
    pub caches: Vec<CacheRow>,
    /// Queues only (empty without): one name per queue and consumer group,
    /// `queue/group`.
    #[serde(default)]
    pub queue_names: Vec<String>,
    #[serde(default)]
    pub queues: Vec<QueueRow>,
    /// With `cluster:` (pools) or a CPU limit (replicas); empty otherwise
    /// (and then left out of a stored experiment run, whose bytes stay as
    /// they were without a cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolRow>,
    /// Node names (`pool-ordinal`) referenced by `replicas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaRow>,
    /// Inference services only (empty without).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inference: Vec<InferenceRow>,
    /// Workloads whose requests generate tokens only (empty without).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenRow>,
}
