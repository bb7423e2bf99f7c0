//! The resilience keys of a call or a named policy (`POLICY`, which a
//! call's block includes) and the blocks inside them: retry, backoff,
//! budgets, throttles, hedge, circuit breaker.

use super::Ty::*;
use super::tables::{U32, block};
use super::{Block, Tag, Ty, Union, key, required};
use crate::spec::policy::MAX_ATTEMPTS;

pub static POLICY: Block = block(
    "policy",
    "a policy",
    "write policies: { standard: { timeout: 300ms, retry: { attempts: 3 } } }",
    &[
        key("timeout", Duration, "", "the caller stops waiting for an attempt after this long (a timeout)"),
        key("timeout_total", Duration, "", "bound on the whole call: all attempts, backoffs and hedges"),
        key(
            "deadline",
            Words(&["propagate", "none"]),
            "none",
            "`propagate`: the callee's work carries the caller's remaining time and is dropped unstarted past it",
        ),
        key("retry", Map(&RETRY), "", "retries of failed attempts"),
        key("hedge", Map(&HEDGE), "", "hedged requests: more attempts while no answer came"),
        key("circuit_breaker", Map(&BREAKER), "", "a resilience4j-style breaker, one per call site"),
        key("throttle", Kinds(&THROTTLE), "", "a retry throttle (gRPC or AWS SDK), one per caller and callee service"),
        key(
            "cancel",
            Bool,
            "false",
            "when the caller stops waiting, `true` makes the server drop the attempt (and cancel its calls in turn); \
             `false` leaves it running: orphaned work",
        ),
        key("latency", Dist, "`network.latency`", "one-way network latency of this call"),
        key(
            "on_failure",
            Words(&["fail", "continue"]),
            "fail",
            "what a failed call does to the caller: `fail` ends its endpoint with an error, `continue` goes on",
        ),
    ],
);

pub static CLIENT: Block = block(
    "client",
    "a workload's client",
    "write client: { timeout: 5s, retry: { attempts: 2, backoff: { base: 1s, jitter: full } } }",
    &[
        key("timeout", Duration, "", "the user stops waiting for an attempt after this long"),
        key("retry", Map(&RETRY), "", "the user tries again after a failed attempt (`budget` does not apply)"),
        key(
            "cancel",
            Bool,
            "false",
            "when the user stops waiting, `true` makes the entry service drop the attempt; `false` leaves it running",
        ),
    ],
);

pub static RETRY: Block = block(
    "retry",
    "retry",
    "write retry: { attempts: 3, on: [timeout, error], backoff: { base: 25ms, jitter: full } }",
    &[
        required("attempts", Int(1, MAX_ATTEMPTS as u64), "attempts in all, the first included (hedges count)"),
        key(
            "on",
            Either(&[List(&FAILURE_KIND), FAILURE_KIND]),
            "[timeout, error, rejected]",
            "the failures that are retried",
        ),
        key(
            "backoff",
            Either(&[Words(&["grpc", "envoy", "none"]), Map(&BACKOFF)]),
            "none",
            "the sleep before each retry, or a preset with a library's schedule",
        ),
        key("budget", Kinds(&BUDGET), "", "a retry budget (Finagle's or Envoy's), one per caller and callee service"),
    ],
);
static FAILURE_KIND: Ty = Words(&["timeout", "error", "rejected", "short_circuited"]);

pub static BACKOFF: Block = block(
    "backoff",
    "backoff",
    "write backoff: { base: 25ms, multiplier: 2, cap: 1s, jitter: full }, or a preset: grpc, envoy, none",
    &[
        key("base", Duration, "required, except with the grpc and envoy jitters", "the sleep before the first retry"),
        key("multiplier", Number, "2", "growth per retry (not with the envoy and decorrelated jitters)"),
        key("cap", Duration, "", "the longest sleep"),
        key(
            "jitter",
            Words(&["none", "full", "equal", "decorrelated", "grpc", "envoy", "envoy_documented"]),
            "none",
            "how the sleep is drawn from x = base · multiplier^(n−1), capped",
        ),
    ],
);

pub static BUDGET: Union = Union {
    id: "budget",
    what: "a budget",
    hint: "write budget: { ratio: 20%, min_per_s: 10, ttl: 10s } or budget: { kind: envoy, ratio: 20%, min_concurrent: 3 }",
    tag: Tag::Field { name: "kind", default: Some(0) },
    variants: &[&FINAGLE_BUDGET, &ENVOY_BUDGET],
    tags: &[&["finagle"], &["envoy"]],
    later: &[],
};
pub static FINAGLE_BUDGET: Block = block(
    "budget-finagle",
    "a budget of kind finagle",
    BUDGET.hint,
    &[
        key("kind", Any, "finagle", "Finagle's budget"),
        key("ratio", Number, "20%", "retries allowed per request, over the ttl window (at most 1000%)"),
        key("min_per_s", Int(0, 1_000_000), "10", "retries per second allowed whatever the ratio"),
        key("ttl", Duration, "10s", "how long a request's deposit lasts (1s to 60s)"),
    ],
);
pub static ENVOY_BUDGET: Block = block(
    "budget-envoy",
    "a budget of kind envoy",
    BUDGET.hint,
    &[
        required("kind", Any, "Envoy's budget"),
        key("ratio", Ratio, "20%", "retries in flight allowed per active request"),
        key("min_concurrent", Int(0, U32), "3", "retries in flight allowed whatever the ratio"),
    ],
);

pub static THROTTLE: Union = Union {
    id: "throttle",
    what: "a throttle",
    hint: "write throttle: { kind: grpc, max_tokens: 10, token_ratio: 0.1 } or throttle: { kind: aws }",
    tag: Tag::Field { name: "kind", default: Some(0) },
    variants: &[&GRPC_THROTTLE, &AWS_THROTTLE],
    tags: &[&["grpc"], &["aws", "aws_2026"]],
    later: &[],
};
pub static GRPC_THROTTLE: Block = block(
    "throttle-grpc",
    "a throttle of kind grpc",
    THROTTLE.hint,
    &[
        key("kind", Any, "grpc", "gRPC's retry throttling (A6)"),
        required("max_tokens", Int(1, 1000), "the token bucket's size; retries stop below half of it"),
        required("token_ratio", Number, "tokens a success gives back (3 decimals kept)"),
    ],
);
pub static AWS_THROTTLE: Block = block(
    "throttle-aws",
    "a throttle of kind aws",
    THROTTLE.hint,
    &[
        required("kind", Any, "`aws`: the AWS SDKs' retry quota; `aws_2026`: its 2026 costs"),
        key("capacity", Int(1, 1_000_000), "500", "the quota's size"),
        key("cost", Int(0, 1_000_000), "`5` (aws), `14` (aws_2026)", "tokens a retry after an error takes"),
        key("timeout_cost", Int(0, 1_000_000), "`10` (aws), `14` (aws_2026)", "tokens a retry after a timeout takes"),
        key("rejected_cost", Int(0, 1_000_000), "5", "tokens a retry after a rejection takes"),
    ],
);

pub static HEDGE: Block = block(
    "hedge",
    "hedge",
    "write hedge: { after: 50ms, max: 2 }",
    &[
        key("after", Duration, "0s", "while no answer came, one more attempt every `after`"),
        key("max", Int(2, MAX_ATTEMPTS as u64), "2", "attempts in all, the first included"),
    ],
);

pub static BREAKER: Block = block(
    "circuit_breaker",
    "a circuit breaker",
    "write circuit_breaker: { window: 100, min_calls: 20, failure_rate: 50%, open_for: 30s, half_open_calls: 5 }",
    &[
        key(
            "window",
            Either(&[Int(1, 1_000_000), Duration]),
            "100",
            "the last N calls, or the last whole seconds (1s to 1d)",
        ),
        key("min_calls", Int(1, U32), "100", "calls in the window before the breaker may open"),
        key("failure_rate", Ratio, "50%", "opens when this share of the window failed (above 0)"),
        key("slow_call", Map(&SLOW_CALL), "", "also opens when this share of calls was slow"),
        key("open_for", Duration, "60s", "how long it stays open before half-opening"),
        key("half_open_calls", Int(1, 1_000_000), "10", "trial calls that decide: close or open again"),
    ],
);
pub static SLOW_CALL: Block = block(
    "slow_call",
    "slow_call",
    "write slow_call: { over: 1s, rate: 80% }",
    &[
        key("over", Duration, "60s", "a call longer than this is slow"),
        key("rate", Ratio, "100%", "opens when this share of the window was slow (above 0)"),
    ],
);
