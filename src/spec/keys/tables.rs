//! The tables of the topology's blocks, top of the file first: topology,
//! services, endpoints and steps, workloads, faults. The resilience keys of
//! a call or a policy are in `resilience`, a service's autoscaler in
//! `autoscale`. Defaults are written as a user would write the value; each
//! must match what its reader does.

use super::Ty::*;
use super::{
    AUTOSCALE, Block, CLUSTER, GENERATE_STEP, INFERENCE, Key, POLICY, RESOURCES, Tag, Ty, Union, key, required,
};
use crate::spec::queues::{MAX_CONCURRENCY, MAX_DELIVERIES, MAX_PARTITIONS};
use crate::spec::topology::{MAX_CPUS, MAX_REPEAT, MAX_REPLICAS, MAX_USERS};

pub(super) const U32: u64 = u32::MAX as u64;

pub(super) const fn block(id: &'static str, what: &'static str, hint: &'static str, keys: &'static [Key]) -> Block {
    Block { id, what, hint, keys, also: None, one_of: &[] }
}

// ------------------------------------------------------------ top level

pub static TOPOLOGY: Block = block(
    "topology",
    "a topology",
    "a topology file is a map with 'services' and 'workload'",
    &[
        key("name", Text, "the file name", "a label, copied into the result"),
        key("duration", Duration, "60s", "simulated time, warm-up included (the CLI's `--duration` overrides it)"),
        key(
            "warmup",
            Duration,
            "0s",
            "requests that *arrive* before this are left out of every statistic: it skips the empty-system start",
        ),
        key(
            "seed",
            Int(0, u64::MAX),
            "1",
            "the random seed (the CLI's `--seed` overrides it); the same file and seed give byte-identical results",
        ),
        key("network", Map(&NETWORK), "", "network settings of every call"),
        required("services", MapOf(&SERVICE), "the services, by name"),
        required(
            "workload",
            Either(&[List(&WORKLOAD_TY), Map(&WORKLOAD)]),
            "the traffic: a list of workloads (or one)",
        ),
        key("policies", MapOf(&POLICY), "", "named sets of a call's client-side keys, used with `policy: NAME`"),
        key("faults", List(&FAULT_TY), "", "the chaos schedule"),
        key("cost", Map(&COST), "", "prices; the result then has `cost`"),
        key(
            "slo",
            List(&SLO_TY),
            "",
            "service-level objectives checked after the run: each miss is an `slo_violation` finding, exit status 1",
        ),
        key(
            "caches",
            MapOf(&KEYED_CACHE),
            "",
            "keyed caches, by name: their hit ratio emerges from keys, capacity and TTL",
        ),
        key(
            "queues",
            MapOf(&MESSAGE_QUEUE),
            "",
            "queues and topics, by name: asynchronous messaging between services (see *Queues*)",
        ),
        key(
            "cluster",
            Map(&CLUSTER),
            "",
            "the nodes under the services: replicas are placed on them and share their cores and memory \
             (see *The cluster underneath*)",
        ),
    ],
);

static SLO_TY: Ty = Map(&SLO);
pub static SLO: Block = block(
    "slo",
    "an SLO",
    "write slo: [ { target: web, p99: 300ms, success: 99.9% } ]",
    &[
        required("target", Name("workload"), "the workload it judges"),
        key("mean", Duration, "", "bound on the mean latency of successful requests"),
        key("p50", Duration, "", "bound on their median latency"),
        key("p90", Duration, "", "bound on their 90th percentile"),
        key("p95", Duration, "", "bound on their 95th percentile"),
        key("p99", Duration, "", "bound on their 99th percentile"),
        key("p999", Duration, "", "bound on their 99.9th percentile"),
        key("max", Duration, "", "bound on their slowest"),
        key("success", Ratio, "", "least share of requests that end ok (of those that ended)"),
        key("ttft_p50", Duration, "", "bound on the median time to first token (requests with a `generate` step)"),
        key("ttft_p90", Duration, "", "bound on the 90th percentile of the time to first token"),
        key("ttft_p95", Duration, "", "bound on the 95th percentile of the time to first token"),
        key("ttft_p99", Duration, "", "bound on the 99th percentile of the time to first token"),
        key("tpot_p50", Duration, "", "bound on the median time per output token after the first"),
        key("tpot_p90", Duration, "", "bound on the 90th percentile of the time per output token"),
        key("tpot_p95", Duration, "", "bound on the 95th percentile of the time per output token"),
        key("tpot_p99", Duration, "", "bound on the 99th percentile of the time per output token"),
    ],
);

pub static NETWORK: Block = block(
    "network",
    "network",
    "write network: { latency: 0.4ms }",
    &[key("latency", Dist, "0s", "one-way latency of every call, on the way to the callee and again on the way back")],
);

pub static COST: Block = block(
    "cost",
    "cost",
    "write cost: { per_replica_hour: 0.05 }",
    &[required("per_replica_hour", Number, "the price of one replica for an hour (any currency)")],
);

// ------------------------------------------------------------- services

pub static SERVICE: Block = block(
    "service",
    "a service",
    "a service is a map with 'endpoints' and settings such as 'replicas'",
    &[
        key(
            "replicas",
            Int(1, MAX_REPLICAS as u64),
            "1",
            "identical copies of the service, each with its own cores, slots and queue; \
             with `autoscale`, the replicas at start (clamped into [min, max]; default `min`)",
        ),
        key(
            "cpus",
            Either(&[Int(1, MAX_CPUS as u64), Quantity]),
            "1",
            "cores per replica; `work` steps are served on them first come, first served; \
             a fraction (`500m`, `1.5`) is also the CPU limit, rounded up for the threads",
        ),
        key(
            "max_in_flight",
            Either(&[Int(1, U32), Map(&ADAPTIVE)]),
            "unlimited",
            "admission slots per replica: requests being worked on at once (a thread pool, a concurrency limit), \
             held until the response is sent; or an adaptive limit",
        ),
        key("queue", Map(&QUEUE), "unbounded FIFO", "where requests wait for a slot"),
        key(
            "balancer",
            Words(&["round_robin", "random", "least_request", "p2c"]),
            "round_robin",
            "how callers pick one of this service's ready replicas",
        ),
        required("endpoints", MapOf(&ENDPOINT), "what the service does, by endpoint name"),
        key("autoscale", Map(&AUTOSCALE), "", "a Kubernetes HPA scales the replicas"),
        key(
            "resources",
            Map(&RESOURCES),
            "requests: `cpus`",
            "Kubernetes requests and limits of each replica (placement on `cluster` nodes, CPU quota, OOM kills)",
        ),
        key("memory_per_request", Memory, "0", "memory each attempt admitted or queued uses, on top of the request"),
        key(
            "priority",
            Signed(i32::MIN as i64, i32::MAX as i64),
            "0",
            "the PriorityClass value: under memory pressure a node evicts the lowest first",
        ),
        key(
            "inference",
            Map(&INFERENCE),
            "",
            "an LLM inference server with continuous batching: its endpoints' `generate` steps run on it \
             (see *Inference servers*)",
        ),
    ],
);

pub static QUEUE: Block = block(
    "queue",
    "a queue",
    "write queue: { capacity: 100, discipline: fifo, max_wait: 500ms }",
    &[
        key(
            "capacity",
            Int(0, U32),
            "unbounded",
            "waiting requests allowed; when full, an arrival is rejected at once (like an HTTP 503); \
             `0`: reject whenever every slot is busy",
        ),
        key(
            "discipline",
            Words(&["fifo", "lifo"]),
            "fifo",
            "which waiting request gets the next free slot; `lifo` serves the newest first",
        ),
        key("max_wait", Duration, "", "a request that waited this long is dropped and counted as rejected"),
    ],
);

pub static ADAPTIVE: Block = block(
    "adaptive",
    "an adaptive max_in_flight",
    "write max_in_flight: { adaptive: gradient, initial: 20, max: 200 } or a fixed number",
    &[
        required(
            "adaptive",
            Words(&["gradient", "vegas"]),
            "the algorithm: Netflix's Gradient2 (recommended) or Vegas, per replica",
        ),
        key("initial", Int(1, 1_000_000), "20", "the limit at start"),
        key("min", Int(1, 1_000_000), "`20` (gradient), `1` (vegas)", "the lowest limit"),
        key("max", Int(1, 1_000_000), "`200` (gradient), `1000` (vegas)", "the highest limit"),
    ],
);

// ------------------------------------------------------------ endpoints

pub static ENDPOINT: Block = Block {
    one_of: &["work", "steps"],
    ..block(
        "endpoint",
        "an endpoint",
        "write get: { work: exp(5ms) } or get: { steps: [ … ] }",
        &[
            key("work", Dist, "", "shorthand for `steps: [ { work: DIST } ]`"),
            key("steps", List(&STEP_TY), "", "what a request does, in order; the endpoint responds after the last"),
        ],
    )
};

pub(super) const STEP_HINT: &str = "a step is a map with one kind, e.g. - work: exp(5ms) or - call: cart.get";
pub static STEP_TY: Ty = Kinds(&STEP);

pub static STEP: Union = Union {
    id: "step",
    what: "a step",
    hint: STEP_HINT,
    tag: Tag::Key,
    variants: &[
        &WORK_STEP,
        &DELAY_STEP,
        &CALL_STEP,
        &PARALLEL_STEP,
        &SEQUENCE_STEP,
        &BRANCH_STEP,
        &REPEAT_STEP,
        &FAIL_STEP,
        &CACHE_STEP,
        &PUBLISH_STEP,
        &GENERATE_STEP,
    ],
    tags: &[],
    later: &[],
};

pub static WORK_STEP: Block = block(
    "step-work",
    "a work step",
    STEP_HINT,
    &[required("work", Dist, "CPU demand: waits for a core of the replica (FCFS), holds it for a draw")],
);
pub static DELAY_STEP: Block = block(
    "step-delay",
    "a delay step",
    STEP_HINT,
    &[required("delay", Dist, "waiting that uses no CPU (a disk, an API not modelled); the request keeps its slot")],
);
pub static CALL_STEP: Block = Block {
    also: Some(&POLICY),
    ..block(
        "step-call",
        "a call step",
        STEP_HINT,
        &[
            required("call", Target, "the endpoint called; the caller waits for the answer, keeping its slot"),
            key(
                "probability",
                Ratio,
                "1",
                "the call is made with this probability, else skipped (counted as `skipped`)",
            ),
            key(
                "policy",
                Name("policy"),
                "",
                "take the keys below from `policies.NAME`; a key written on the call replaces the policy's as a whole",
            ),
        ],
    )
};
pub static PARALLEL_STEP: Block = block(
    "step-parallel",
    "a parallel step",
    STEP_HINT,
    &[
        required("parallel", List(&STEP_TY), "branches started at once, each one step (`sequence` for several)"),
        key(
            "wait",
            Either(&[Words(&["all", "any"]), Int(1, U32)]),
            "all",
            "continue when every branch finished, when one succeeded, or when k succeeded",
        ),
    ],
);
pub static SEQUENCE_STEP: Block = block(
    "step-sequence",
    "a sequence step",
    STEP_HINT,
    &[required("sequence", List(&STEP_TY), "steps in order (a branch of `parallel`)")],
);
pub static BRANCH_STEP: Block = block(
    "step-branch",
    "a branch step",
    STEP_HINT,
    &[required("branch", List(&ALTERNATIVE_TY), "one alternative picked at random in proportion to the weights")],
);
pub static REPEAT_STEP: Block = block(
    "step-repeat",
    "a repeat step",
    STEP_HINT,
    &[required("repeat", Map(&REPEAT), "run steps several times in a row (the N+1 query); nested up to 4 deep")],
);
pub static FAIL_STEP: Block = block(
    "step-fail",
    "a fail step",
    STEP_HINT,
    &[required("fail", Ratio, "with this probability the endpoint stops here and responds with an error")],
);
pub static CACHE_STEP: Block = block(
    "step-cache",
    "a cache step",
    STEP_HINT,
    &[required(
        "cache",
        Map(&CACHE),
        "a cache decision: `hit` steps on a hit, else `miss` steps (then, on a keyed cache, the key is written)",
    )],
);

pub static PUBLISH_STEP: Block = block(
    "step-publish",
    "a publish step",
    STEP_HINT,
    &[
        required(
            "publish",
            Name("queue"),
            "send a message to this queue (see *Queues*); the step ends once the broker accepted it \
             (with `reply`, once a consumer finished it)",
        ),
        key(
            "key",
            Name("request attribute"),
            "",
            "the request attribute whose value picks the partition (by hash); absent: a partition at random",
        ),
        key(
            "timeout",
            Duration,
            "60s",
            "with `when_full: block`: how long the publisher waits for room, then fails as a timeout",
        ),
        key("reply", Map(&REPLY), "", "request-reply: wait for the first consumer to finish the message"),
    ],
);

pub static REPLY: Block = block(
    "reply",
    "a reply",
    "write reply: { timeout: 2s }",
    &[required(
        "timeout",
        Duration,
        "how long the publisher waits for a consumer's result; then the step fails as a timeout",
    )],
);

static ALTERNATIVE_TY: Ty = Map(&ALTERNATIVE);
pub static ALTERNATIVE: Block = block(
    "alternative",
    "a branch alternative",
    "write - { weight: 0.7, steps: [ … ] }",
    &[
        required("weight", Number, "relative weight (the weights need not sum to 1)"),
        key("steps", List(&STEP_TY), "", "what this alternative does"),
    ],
);

pub static REPEAT: Block = block(
    "repeat",
    "repeat",
    "write repeat: { count: 3, steps: [ … ] }",
    &[
        required("count", Int(0, MAX_REPEAT as u64), "how many times"),
        required("steps", List(&STEP_TY), "the steps repeated"),
    ],
);

pub static CACHE: Block = block(
    "cache",
    "a cache",
    "write cache: { name: cart-cache, hit_ratio: 90%, hit: [ … ], miss: [ … ] }",
    &[
        required(
            "name",
            Text,
            "a cache declared under `caches` (keyed), or any name with `hit_ratio`; counted under it in the result",
        ),
        key(
            "hit_ratio",
            Ratio,
            "",
            "a fixed probability of a hit (a cache not declared under `caches`); one name, one hit ratio",
        ),
        key("hit", List(&STEP_TY), "", "steps run on a hit"),
        key(
            "miss",
            List(&STEP_TY),
            "",
            "steps run on a miss; on a keyed cache, the key is written when they succeed (cache-aside)",
        ),
        key(
            "invalidate",
            Ratio,
            "",
            "keyed caches: instead of a lookup, draw a key and evict it with this probability (a write path)",
        ),
    ],
);

pub static KEYED_CACHE: Block = block(
    "keyed-cache",
    "a keyed cache",
    "write caches: { menu-cache: { keys: 100000, zipf: 0.9, capacity: 20000 } }",
    &[
        required("keys", Int(1, 1 << 40), "distinct keys requested (ranks of a Zipf law: key 1 the most popular)"),
        key(
            "zipf",
            Number,
            "0",
            "the Zipf exponent of key popularity: key k is asked with weight k^-zipf (0: uniform)",
        ),
        required(
            "capacity",
            Int(1, crate::spec::caches::MAX_CAPACITY as u64),
            "entries held; beyond it the least recently used is evicted",
        ),
        key(
            "ttl",
            Duration,
            "",
            "an entry expires this long after it was *written* (like `SET EX`): a hit does not extend it",
        ),
        key(
            "scope",
            Words(&["service", "replica"]),
            "service",
            "`service`: one cache shared by every replica (like Valkey); `replica`: one per replica (in-process), \
             a new or restarted replica starts cold",
        ),
        key(
            "initial",
            Words(&["cold", "warm"]),
            "cold",
            "`warm`: filled at start with the `capacity` most popular keys",
        ),
        key(
            "coalesce",
            Bool,
            "false",
            "concurrent misses of one key wait for the first one's fetch and then hit (else each goes to the backend: \
             the thundering herd)",
        ),
    ],
);

// --------------------------------------------------------------- queues

pub static MESSAGE_QUEUE: Block = block(
    "message-queue",
    "a queue",
    "write queues: { orders: { partitions: 6, consumers: [ { endpoint: shipping.ship } ] } }",
    &[
        key(
            "partitions",
            Int(1, MAX_PARTITIONS as u64),
            "1",
            "a message goes to one partition: at random, or by the hash of the publish's `key`",
        ),
        key(
            "capacity",
            Int(1, u64::MAX),
            "unbounded",
            "messages a consumer group may hold unfinished (waiting and being processed); beyond it `when_full` applies",
        ),
        key(
            "when_full",
            Words(&["reject", "block", "drop"]),
            "reject",
            "a publish to a full queue fails at once, waits for room up to its `timeout`, or is accepted and discarded",
        ),
        key(
            "delivery",
            Words(&["at_least_once", "at_most_once"]),
            "at_least_once",
            "a message stays until a consumer finished it, or leaves the queue when delivered",
        ),
        key(
            "visibility_timeout",
            Duration,
            "30s",
            "at_least_once: a delivered message not finished within this is delivered again",
        ),
        key(
            "max_deliveries",
            Int(1, MAX_DELIVERIES as u64),
            "10",
            "at_least_once: deliveries of a failing message before it goes to the dead-letter queue",
        ),
        key("retention", Duration, "", "messages waiting longer than this are discarded"),
        key("latency", Dist, "0s", "the broker's accept latency (network latency is added both ways)"),
        key(
            "consumers",
            List(&CONSUMER_TY),
            "[]",
            "the consumer groups; each receives every message (none: messages are accepted and discarded)",
        ),
    ],
);

static CONSUMER_TY: Ty = Map(&CONSUMER);
pub static CONSUMER: Block = block(
    "consumer",
    "a consumer group",
    "write consumers: [ { endpoint: shipping.ship, concurrency: 4, mode: partitioned } ]",
    &[
        required("endpoint", Target, "the endpoint that handles each message"),
        key("group", Text, "the endpoint's service", "the group's name, unique within the queue"),
        key("concurrency", Int(1, MAX_CONCURRENCY as u64), "1", "consumers per replica of the endpoint's service"),
        key(
            "mode",
            Words(&["partitioned", "competing"]),
            "competing",
            "`partitioned` (Kafka): a partition is handled by one consumer at a time, in order; \
             `competing` (SQS): any free consumer takes the oldest waiting message",
        ),
    ],
);

// ------------------------------------------------------------ workloads

static WORKLOAD_TY: Ty = Map(&WORKLOAD);
pub static WORKLOAD: Block = Block {
    one_of: &["rate", "users", "stages", "k6", "prometheus", "trace"],
    ..block(
        "workload",
        "a workload",
        "a workload is a map such as { name: web, target: frontend.home, rate: 100/s }",
        &[
            required("name", Text, "the workload's name in the results (unique)"),
            required("target", Target, "where requests enter"),
            key("rate", Rate, "", "open loop: the base arrival rate"),
            key(
                "stages",
                List(&STAGE_TY),
                "",
                "open loop, k6-style: the rate moves linearly from the previous target (or `start_rate`) to each \
                 `target` over its `duration`, and stops (0) after the last stage, as k6 does",
            ),
            key("start_rate", Rate, "0/s", "with `stages`: the rate at t = 0"),
            key("k6", Map(&K6), "", "the rate or users of a k6 scenario (see *Stages, k6 and Prometheus*)"),
            key("prometheus", Map(&PROMETHEUS), "", "open loop: a request rate recorded by Prometheus"),
            key(
                "arrivals",
                Words(&["poisson", "uniform", "deterministic"]),
                "poisson",
                "open loop: exponential gaps, gaps uniform on [0, 2/rate], or exactly 1/rate apart",
            ),
            key(
                "shape",
                Either(&[List(&SHAPE_TY), Map(&SHAPE)]),
                "",
                "open loop: factors that multiply the rate over time",
            ),
            key(
                "users",
                Int(1, MAX_USERS as u64),
                "",
                "closed loop: users who each wait for their answer, think, ask again",
            ),
            key(
                "think",
                Dist,
                "",
                "closed loop: the pause between an answer and the user's next request (required with `users`; \
                 `0s` for a k6 virtual-user scenario, whose script's `sleep()` stormcast cannot see)",
            ),
            key("trace", Map(&super::TRACE), "", "replay: requests at the times of a file's lines"),
            key(
                "client",
                Map(&super::CLIENT),
                "",
                "what the users do at the edge: their own timeout and retries (see *Edge clients*)",
            ),
        ],
    )
};

static STAGE_TY: Ty = Map(&STAGE);
pub static STAGE: Block = block(
    "stage",
    "a stage",
    "a stage is a map such as { duration: 1m, target: 500/s }",
    &[
        required("duration", Duration, "how long the rate takes to move to `target`"),
        required("target", Rate, "the rate at the end of the stage"),
    ],
);
pub static K6: Block = block(
    "k6",
    "k6",
    "write k6: { file: load/options.json, scenario: lunch_peak }",
    &[
        required("file", File, "k6 options JSON, as `k6 inspect script.js` prints it, or a k6 config file"),
        key("scenario", Text, "the only one", "the scenario under `scenarios` to take"),
    ],
);
pub static PROMETHEUS: Block = block(
    "prometheus",
    "prometheus",
    "write prometheus: { file: metrics/rate.json, series: { job: menu-api }, scale: 1.0 }",
    &[
        required("file", File, "a `query_range` JSON response (resultType matrix) of a request rate, per second"),
        key("series", Any, "every series", "labels `{ name: value }` a series must have to be summed"),
        key("scale", Number, "1.0", "multiplies the rate"),
    ],
);

static SHAPE_TY: Ty = Map(&SHAPE);
pub static SHAPE: Block = Block {
    one_of: &["diurnal", "ramp", "spike", "steps", "bursts"],
    ..block(
        "shape",
        "a shape",
        "a shape is one of diurnal, ramp, spike, steps, bursts, e.g. - spike: { at: 10m, for: 2m, factor: 3 }",
        &[
            key("diurnal", Map(&DIURNAL), "", "a smooth daily cycle"),
            key("ramp", Map(&RAMP), "", "a linear rise (or fall), then flat"),
            key("spike", Map(&SPIKE), "", "a factor during a window"),
            key(
                "steps",
                List(&STEP_PAIR),
                "",
                "`[ [0s, 1.0], [10m, 2.0] ]`: from each time the factor is the second value (1.0 before the first)",
            ),
            key("bursts", Map(&BURSTS), "", "alternating on and off periods of random lengths"),
        ],
    )
};
static STEP_PAIR: Ty = Pair(&Duration, &Number);

pub static DIURNAL: Block = block(
    "diurnal",
    "diurnal",
    "write diurnal: { period: 24h, min: 0.3, max: 1.0, peak_at: 14h }",
    &[
        required("period", Duration, "the length of a cycle"),
        required("min", Number, "the factor half a period from the peak"),
        required("max", Number, "the factor at the peak"),
        key("peak_at", Duration, "0s", "when the factor is `max`"),
    ],
);
pub static RAMP: Block = block(
    "ramp",
    "ramp",
    "write ramp: { from: 0.1, to: 1.0, over: 5m } (and at: 2m to start later)",
    &[
        required("from", Number, "the factor until `at`"),
        required("to", Number, "the factor from `at` + `over` on"),
        required("over", Duration, "how long the change takes"),
        key("at", Duration, "0s", "when the change starts"),
    ],
);
pub static SPIKE: Block = block(
    "spike",
    "spike",
    "write spike: { at: 10m, for: 2m, factor: 3 }",
    &[
        required("at", Duration, "when it starts"),
        required("for", Duration, "how long it lasts"),
        required("factor", Number, "the factor during [at, at + for)"),
    ],
);
pub static BURSTS: Block = block(
    "bursts",
    "bursts",
    "write bursts: { on: exp(10s), off: exp(50s), factor: 4 }",
    &[
        required("on", Dist, "length of an on period"),
        required("off", Dist, "length of an off period"),
        required("factor", Number, "the factor during on periods (1 during off periods)"),
    ],
);

// --------------------------------------------------------------- faults

const FAULT_HINT: &str = "a fault is a map such as { at: 10m, for: 3m, kind: latency, service: db, add: 200ms }";
static FAULT_TY: Ty = Kinds(&FAULT);

pub static FAULT: Union = Union {
    id: "fault",
    what: "a fault",
    hint: FAULT_HINT,
    tag: Tag::Field { name: "kind", default: None },
    variants: &[
        &LATENCY_FAULT,
        &ERRORS_FAULT,
        &CRASH_FAULT,
        &OUTAGE_FAULT,
        &PARTITION_FAULT,
        &PAUSES_FAULT,
        &SLOWDOWN_FAULT,
        &CACHE_FLUSH_FAULT,
        &EVICT_FAULT,
        &NODE_DOWN_FAULT,
    ],
    tags: &[
        &["latency"],
        &["errors"],
        &["crash"],
        &["outage"],
        &["partition"],
        &["pauses"],
        &["slowdown"],
        &["cache_flush"],
        &["evict"],
        &["node_down"],
    ],
    later: &[],
};

const AT: Key = required("at", Duration, "when it starts, from the start of the run (before its end)");
const FOR: Key = required("for", Duration, "how long it lasts");
const KIND: Key = required("kind", Any, "the kind of fault");
const HIT: Key = required("service", Name("service"), "the service it hits");
const INSTANT: Key = Key { ty: Refused, ..FOR };
const MODE: Key = key(
    "mode",
    Words(&["hang", "refuse"]),
    "hang",
    "`refuse`: attempts are rejected at once; `hang`: they are swallowed (callers learn by their timeout)",
);

const fn fault(id: &'static str, what: &'static str, keys: &'static [Key]) -> Block {
    block(id, what, FAULT_HINT, keys)
}

pub static LATENCY_FAULT: Block = Block {
    one_of: &["add", "multiply"],
    ..fault(
        "fault-latency",
        "a latency fault",
        &[
            AT,
            FOR,
            KIND,
            HIT,
            key("add", Dist, "", "every attempt to the service takes this much longer to arrive"),
            key("multiply", Number, "", "the service's `work` and `delay` steps take this many times longer"),
        ],
    )
};
pub static ERRORS_FAULT: Block = fault(
    "fault-errors",
    "an errors fault",
    &[AT, FOR, KIND, HIT, required("rate", Ratio, "an admitted attempt fails at once with this probability")],
);
pub static CRASH_FAULT: Block = fault(
    "fault-crash",
    "a crash fault",
    &[
        AT,
        INSTANT,
        KIND,
        HIT,
        key("replicas", Int(1, MAX_REPLICAS as u64), "1", "how many replicas die; their attempts fail at once"),
        key("restart_after", Duration, "", "when they come back (never if absent)"),
    ],
);
pub static OUTAGE_FAULT: Block = fault("fault-outage", "an outage fault", &[AT, FOR, KIND, HIT, MODE]);
pub static PARTITION_FAULT: Block = fault(
    "fault-partition",
    "a partition fault",
    &[
        AT,
        FOR,
        KIND,
        required("from", Name("service"), "the calling service"),
        required("to", Name("service"), "the called service"),
        MODE,
    ],
);
pub static PAUSES_FAULT: Block = fault(
    "fault-pauses",
    "a pauses fault",
    &[
        AT,
        key("for", Duration, "to the end of the run", "how long the pauses go on"),
        KIND,
        HIT,
        required("every", Dist, "time between a replica's pauses"),
        required("pause", Dist, "length of a pause (a GC): work in progress stretches, new work waits"),
    ],
);
pub static SLOWDOWN_FAULT: Block = fault(
    "fault-slowdown",
    "a slowdown fault",
    &[AT, FOR, KIND, HIT, required("factor", Number, "`work` steps take this many times longer (a slower CPU)")],
);
pub static CACHE_FLUSH_FAULT: Block = fault(
    "fault-cache-flush",
    "a cache_flush fault",
    &[
        AT,
        INSTANT,
        KIND,
        required("cache", Name("cache"), "the keyed cache emptied at once (every replica's, for `scope: replica`)"),
    ],
);
pub static EVICT_FAULT: Block = fault(
    "fault-evict",
    "an evict fault",
    &[
        AT,
        INSTANT,
        KIND,
        HIT,
        key(
            "replicas",
            Int(1, MAX_REPLICAS as u64),
            "1",
            "how many replicas are evicted (needs `cluster`): their work fails, replacements are scheduled cold",
        ),
    ],
);
pub static NODE_DOWN_FAULT: Block = fault(
    "fault-node-down",
    "a node_down fault",
    &[
        AT,
        key("for", Duration, "to the end of the run", "when the node comes back, empty (never if absent)"),
        KIND,
        required(
            "node",
            Text,
            "`POOL-N` (the pool's node N, from 0) or a pool's name (its first node that is up); needs `cluster`",
        ),
    ],
);
