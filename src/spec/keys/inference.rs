//! The tables of a service's `inference:` (an LLM server with continuous
//! batching), its `iteration:` cost, and the `generate` step.

use super::Ty::*;
use super::tables::{STEP_HINT, U32, block};
use super::{Block, Ty, key, required};
use crate::spec::inference::MAX_KV_CACHE_TOKENS;

pub static INFERENCE: Block = block(
    "inference",
    "inference",
    "write inference: { kv_cache_tokens: 200000, iteration: { base: 8ms, per_prefill_token: 0.05ms } }",
    &[
        key("max_batch", Int(1, U32), "256", "sequences in one iteration at most (vLLM's `max_num_seqs`), per replica"),
        key(
            "max_batch_tokens",
            Int(1, U32),
            "8192",
            "prompt tokens computed in one iteration at most (vLLM's `max_num_batched_tokens`); \
             with `chunked_prefill`, decode tokens count against it too",
        ),
        required(
            "kv_cache_tokens",
            Int(1, MAX_KV_CACHE_TOKENS),
            "KV-cache capacity of a replica, in tokens: a sequence holds its prompt and the tokens generated so far",
        ),
        key(
            "block_size",
            Int(1, U32),
            "1",
            "tokens per KV-cache block: a sequence holds whole blocks (vLLM: 16); 1 counts in tokens",
        ),
        key(
            "chunked_prefill",
            Bool,
            "false",
            "`true`: iterations mix decodes with chunks of prompts under `max_batch_tokens` (Sarathi); \
             `false`: prefill first, an iteration that admits prompts runs only prefills (vLLM without chunking)",
        ),
        required("iteration", Map(&ITERATION), "what one iteration of the batch costs"),
        key(
            "model_load",
            Dist,
            "",
            "a new replica (scale-out, restart, eviction) loads the model this long before it takes traffic",
        ),
    ],
);

pub static ITERATION: Block = block(
    "iteration",
    "iteration",
    "write iteration: { base: 8ms, per_prefill_token: 0.05ms, per_decode_seq: 0.1ms, per_context_token: 0.0005ms }",
    &[
        required("base", Duration, "the fixed cost of an iteration (reading the weights)"),
        key("per_prefill_token", Duration, "0s", "added per prompt token computed in the iteration"),
        key("per_decode_seq", Duration, "0s", "added per sequence emitting a token in the iteration"),
        key(
            "per_context_token",
            Duration,
            "0s",
            "added per token of context of those decoding sequences (attention reads the KV cache)",
        ),
    ],
);

/// A token count: `200`, `tokens(ATTR)` or a distribution of counts.
static TOKENS: Ty = Either(&[Int(1, U32), Text]);

pub static GENERATE_STEP: Block = block(
    "step-generate",
    "a generate step",
    STEP_HINT,
    &[required(
        "generate",
        Map(&GENERATE),
        "run a sequence on this service's inference server (`inference:`); the step ends with its last token",
    )],
);

pub static GENERATE: Block = block(
    "generate",
    "generate",
    "write generate: { input: tokens(ContextTokens), output: 200 }",
    &[
        required(
            "input",
            TOKENS,
            "prompt tokens: a count (`1000`), a request attribute (`tokens(ContextTokens)`) or a distribution of counts \
             (`\"lognormal(median=1000, p99=6000)\"`)",
        ),
        required("output", TOKENS, "tokens generated, the first at the end of the prefill; written as `input`"),
    ],
);
