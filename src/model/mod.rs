//! The validated, immutable model of a topology: what [`crate::spec`]
//! produces and [`crate::sim`] runs.
//!
//! Everything is resolved: references are typed ids (indices into the
//! `Vec`s of [`Model`]), durations are [`SimDuration`]s, endpoint steps are
//! compiled into a flat instruction list ([`Instr`]). No serde here: the YAML
//! shape lives in `spec`, this is the shape the simulator wants.

pub mod analysis;
mod autoscale;
mod cluster;
mod dist;
mod fault;
mod inference;
mod policy;
mod profile;
mod queue;
mod slo;
mod trace;
mod zipf;

pub use autoscale::*;
pub use cluster::{Cluster, NodePool, PoolId, Resources, Scoring};
pub use dist::{Dist, PerAttr};
pub use fault::{Fault, FaultKind, OutageMode};
pub use inference::{Generate, Inference, IterationCost, Tokens};
pub use policy::{
    AdaptiveCfg, AwsQuota, Backoff, BreakerCfg, BreakerWindow, Budget, FailureKind, Hedge, Jitter, LimitAlgorithm,
    RetryOn, RetryPolicy, Shared, Throttle,
};
pub use profile::Profile;
pub use queue::{ConsumerGroup, ConsumerMode, Delivery, Publish, Queue, WhenFull};
pub use slo::{Slo, Stat};
pub use trace::{Layout, OnEnd, OpenTrace, TimeUnit, Trace, TraceFormat};
pub use zipf::Zipf;

use crate::engine::{SimDuration, SimTime};

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            #[inline]
            pub fn ix(self) -> usize { self.0 as usize }
        }
    )*};
}

id_type!(
    /// Index into [`Model::services`].
    ServiceId,
    /// Index into [`Model::endpoints`].
    EndpointId,
    /// Index into [`Model::edges`]: one `call` step (a call site).
    EdgeId,
    /// Index into [`Model::workloads`].
    WorkloadId,
    /// Index into [`Model::dists`].
    DistId,
    /// Index into [`Model::forks`].
    ForkId,
    /// Index into [`Model::branches`].
    BranchId,
    /// Index into [`Model::caches`].
    CacheId,
    /// Index into [`Model::cache_sites`]: one `cache` step on a keyed cache.
    CacheSiteId,
    /// Index into [`Model::breakers`].
    BreakerId,
    /// Index into [`Model::budgets`].
    BudgetId,
    /// Index into [`Model::throttles`].
    ThrottleId,
    /// Index into [`Model::faults`].
    FaultId,
    /// Index into [`Model::queues`].
    QueueId,
    /// Index into [`Model::publishes`]: one `publish` step.
    PublishId,
    /// Index into [`Model::generates`]: one `generate` step.
    GenerateId
);

/// A whole validated topology.
#[derive(Clone, Debug)]
pub struct Model {
    pub name: String,
    /// Simulated time to run, warm-up included.
    pub duration: SimDuration,
    /// Statistics ignore what happens before this.
    pub warmup: SimDuration,
    pub seed: u64,
    /// Default one-way latency of every call (`network.latency`); `None`: zero.
    pub network_latency: Option<DistId>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub edges: Vec<Edge>,
    pub workloads: Vec<Workload>,
    pub dists: Vec<Dist>,
    pub forks: Vec<Fork>,
    pub branches: Vec<BranchTable>,
    pub caches: Vec<Cache>,
    /// The `cache` steps on keyed caches (lookups and invalidations).
    pub cache_sites: Vec<CacheSite>,
    /// Circuit breakers, one per `caller->service.endpoint` that has one.
    pub breakers: Vec<Shared<BreakerCfg>>,
    /// Retry budgets, one per `caller->service` that has one.
    pub budgets: Vec<Shared<Budget>>,
    /// Retry throttles, one per `caller->service` that has one.
    pub throttles: Vec<Shared<Throttle>>,
    /// The chaos schedule, in file order.
    pub faults: Vec<Fault>,
    /// `cost.per_replica_hour`: price of one replica for an hour.
    pub cost_per_replica_hour: Option<f64>,
    /// Objectives checked after a run (`slo:`).
    pub slo: Vec<Slo>,
    /// Names of the request attributes that trace workloads carry; a
    /// request's attribute vector is indexed like this.
    pub attributes: Vec<String>,
    /// Queues and topics (`queues:`), in file order.
    pub queues: Vec<Queue>,
    /// The `publish` steps.
    pub publishes: Vec<Publish>,
    /// The `generate` steps.
    pub generates: Vec<Generate>,
    /// The nodes under the services (`cluster:`); `None`: every replica has
    /// its own `cpus` cores.
    pub cluster: Option<Cluster>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discipline {
    Fifo,
    Lifo,
}

/// Where requests wait for an admission slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueCfg {
    /// `None`: unbounded.
    pub capacity: Option<u32>,
    pub discipline: Discipline,
    /// Requests that waited longer are dropped (rejected).
    pub max_wait: Option<SimDuration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balancer {
    RoundRobin,
    Random,
    LeastRequest,
    P2c,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub replicas: u32,
    /// Threads: work steps a replica runs at once (`cpus`, rounded up).
    pub cpus: u32,
    /// `resources` (requests and limits), with `cpus` as the default request
    /// (and, when `cpus` is a fraction such as `500m`, the limit too).
    pub resources: Resources,
    /// `memory_per_request`: bytes each attempt admitted or queued uses.
    pub memory_per_request: Option<u64>,
    /// `priority` (a PriorityClass value): lower is evicted first.
    pub priority: i32,
    /// Admission slots per replica; `None`: unlimited (or adaptive).
    pub max_in_flight: Option<u32>,
    /// An adaptive admission limit per replica instead of a fixed one
    /// (`max_in_flight` is then `None`).
    pub adaptive: Option<AdaptiveCfg>,
    pub queue: QueueCfg,
    pub balancer: Balancer,
    pub endpoints: Vec<EndpointId>,
    /// `None`: a fixed number of replicas.
    pub autoscale: Option<AutoscaleCfg>,
    /// `inference:`: its replicas serve `generate` steps by continuous
    /// batching; `None`: an ordinary service.
    pub inference: Option<Inference>,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub service: ServiceId,
    pub name: String,
    /// `service.endpoint`.
    pub full_name: String,
    /// Compiled steps; the last instruction is [`Instr::Respond`].
    pub code: Vec<Instr>,
}

/// One compiled instruction of an endpoint. Control flow is by absolute
/// index (`pc`) into [`Endpoint::code`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    /// Use a core for a duration drawn from the distribution.
    Work(DistId),
    /// Wait without a core.
    Delay(DistId),
    /// Make a downstream call and wait for its outcome.
    Call(EdgeId),
    /// Start every branch of the fork, wait per its join rule, then continue
    /// at the fork's `join_pc`.
    Fork(ForkId),
    /// End of one parallel branch.
    EndBranch,
    /// Pick one alternative by weight and jump to it.
    Branch(BranchId),
    Jump(u32),
    /// Set loop counter `slot` to `count`; if zero jump to `exit`.
    RepeatInit {
        slot: u8,
        count: u32,
        exit: u32,
    },
    /// Decrement counter `slot`; if it is still positive jump to `body`.
    RepeatNext {
        slot: u8,
        body: u32,
    },
    /// Fail the endpoint with probability `p`.
    Fail {
        p: f64,
    },
    /// Hit with the cache's ratio (continue), miss (jump to `miss`).
    Cache {
        cache: CacheId,
        miss: u32,
    },
    /// A keyed cache: draw a key into the strand's key `slot`; a hit
    /// continues, a miss jumps to `miss` (whose steps end with `CacheFill`).
    CacheLookup {
        site: CacheSiteId,
        slot: u8,
        miss: u32,
    },
    /// The miss steps succeeded: write the key of `slot` (cache-aside).
    CacheFill {
        site: CacheSiteId,
        slot: u8,
    },
    /// Draw a key and evict it with the site's `invalidate` probability.
    CacheInvalidate {
        site: CacheSiteId,
    },
    /// Publish a message to a queue (and maybe wait for its reply).
    Publish(PublishId),
    /// Generate tokens on the replica's inference server.
    Generate(GenerateId),
    /// Send the response: end of the endpoint.
    Respond,
}

/// Deepest nesting of `repeat` within one branch of an endpoint.
pub const MAX_LOOP_DEPTH: usize = 4;

/// How many branches of a fork must succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    All,
    Any,
    K(u32),
}

#[derive(Clone, Debug)]
pub struct Fork {
    /// First instruction of each branch; each branch ends with `EndBranch`.
    pub starts: Vec<u32>,
    pub wait: Wait,
    pub join_pc: u32,
}

#[derive(Clone, Debug)]
pub struct BranchTable {
    /// Cumulative weights, normalised so the last is 1.0.
    pub cumulative: Vec<f64>,
    pub starts: Vec<u32>,
}

/// Deepest nesting of keyed `cache` steps (one key slot each per strand).
pub const MAX_CACHE_DEPTH: usize = 4;

#[derive(Clone, Debug)]
pub struct Cache {
    pub name: String,
    /// The fixed hit ratio; for a keyed cache, a static estimate (the
    /// popularity mass of its `capacity` most popular keys) for analyses.
    pub hit_ratio: f64,
    /// Declared under `caches:`: the hit ratio emerges from keys and LRU.
    pub keyed: Option<Keyed>,
}

/// A keyed cache of `caches:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyed {
    /// Distinct keys requested (ranks of the Zipf law).
    pub keys: u64,
    /// Zipf exponent of key popularity (0: uniform).
    pub zipf: f64,
    /// Entries held; LRU eviction beyond.
    pub capacity: u32,
    /// An entry expires this long after it was written.
    pub ttl: Option<SimDuration>,
    pub scope: CacheScope,
    /// Filled with the `capacity` most popular keys at start.
    pub warm: bool,
    /// Concurrent misses of one key wait for the first fetch.
    pub coalesce: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheScope {
    /// One cache shared by every replica (like Valkey).
    Service,
    /// One cache per replica (in-process); a new replica starts cold.
    Replica,
}

/// A `cache` step on a keyed cache.
#[derive(Clone, Debug)]
pub struct CacheSite {
    pub cache: CacheId,
    pub endpoint: EndpointId,
    /// Its stable name for its key stream: `cache@service.endpoint#ordinal`.
    pub name: String,
    /// `Some(p)`: an invalidation with probability `p`; `None`: a lookup.
    pub invalidate: Option<f64>,
}

/// A call site: `caller` endpoint's step that calls `callee`.
#[derive(Clone, Debug)]
pub struct Edge {
    pub caller: EndpointId,
    pub callee: EndpointId,
    /// `caller_service->callee_service.endpoint`, the key in results.
    pub name: String,
    /// Per-attempt timeout.
    pub timeout: Option<SimDuration>,
    /// The call is made with this probability (else skipped).
    pub probability: f64,
    /// `on_failure: continue`: a failed call does not fail the caller.
    pub continue_on_failure: bool,
    /// One-way network latency override for this call.
    pub latency: Option<DistId>,
    /// The server drops work the caller abandoned.
    pub cancel: bool,
    /// Retries of failed attempts; `None`: none.
    pub retry: Option<RetryPolicy>,
    /// Hedged attempts.
    pub hedge: Option<Hedge>,
    /// The caller's circuit breaker for this call.
    pub breaker: Option<BreakerId>,
    /// The caller's retry throttle towards the callee's service.
    pub throttle: Option<ThrottleId>,
    /// `deadline: propagate`: the callee's work carries the caller's
    /// remaining time and is dropped when dequeued past it.
    pub deadline_propagate: bool,
    /// Bound on the whole call, all attempts and backoff included.
    pub timeout_total: Option<SimDuration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrivals {
    Poisson,
    Uniform,
    Deterministic,
}

/// A factor multiplying a workload's rate over time.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Diurnal {
        period: SimDuration,
        min: f64,
        max: f64,
        peak_at: SimDuration,
    },
    /// `from` until `at`, linear to `to` over `over`, then `to`.
    Ramp {
        from: f64,
        to: f64,
        over: SimDuration,
        at: SimTime,
    },
    Spike {
        at: SimTime,
        duration: SimDuration,
        factor: f64,
    },
    /// `(from, factor)` sorted by time; before the first step the factor is 1.
    Steps(Vec<(SimTime, f64)>),
    Bursts {
        on: DistId,
        off: DistId,
        factor: f64,
    },
    /// A piecewise-linear factor (k6 stages and scenarios, Prometheus
    /// samples), as fractions of the workload's rate.
    Linear(Profile),
}

#[derive(Clone, Debug)]
pub enum WorkloadKind {
    Open {
        rate_per_s: f64,
        arrivals: Arrivals,
        shape: Vec<Shape>,
    },
    /// `schedule`: how many of the `users` are active over time (k6's
    /// virtual-user executors); absent, all of them always are.
    Closed {
        users: u32,
        think: DistId,
        schedule: Option<Profile>,
    },
    /// `trace:` arrivals replayed from a file.
    Trace(Box<Trace>),
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub target: EndpointId,
    pub kind: WorkloadKind,
    /// What the users do at the edge (`client:`): none waits forever and never retries.
    pub client: Option<EdgeClient>,
}

/// A workload's edge client (`client:`): the users' own per-attempt timeout
/// and retries, before any service sees the request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgeClient {
    /// The user stops waiting for an attempt after this long.
    pub timeout: Option<SimDuration>,
    /// Retries of failed attempts (no budget: users do not share one).
    pub retry: Option<RetryPolicy>,
    /// When the user stops waiting, the entry service drops the attempt.
    pub cancel: bool,
}

impl Model {
    pub fn service_of(&self, e: EndpointId) -> ServiceId {
        self.endpoints[e.ix()].service
    }
    pub fn dist(&self, d: DistId) -> &Dist {
        &self.dists[d.ix()]
    }
}
