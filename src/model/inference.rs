//! Inference servers (`inference:` on a service): an LLM served with
//! iteration-level (continuous) batching, as vLLM and Orca do, and the
//! `generate` step that sends a sequence to it.
//!
//! The model only states the server's shape and cost; how sequences are
//! batched, admitted against the KV cache and preempted is `sim::inference`.

use super::{DistId, ServiceId};
use crate::engine::SimDuration;

/// What one iteration costs (`iteration:`): `base + per_prefill_token ×
/// prefill tokens + per_decode_seq × decoding sequences +
/// per_context_token × their context tokens`. Coefficients in nanoseconds
/// (fractions allowed: `0.5us` per context token is 500 ns, `0.0004ms` 400).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IterationCost {
    pub base_ns: f64,
    pub per_prefill_token_ns: f64,
    pub per_decode_seq_ns: f64,
    pub per_context_token_ns: f64,
}

impl IterationCost {
    /// The time of an iteration with `prefill` prompt tokens computed,
    /// `decode` sequences each emitting a token, and `context` tokens of
    /// context over those decoding sequences; rounded to the nanosecond,
    /// at least 1 ns (an iteration always takes time).
    pub fn time(&self, prefill: u64, decode: u64, context: u64) -> SimDuration {
        let ns = self.base_ns
            + self.per_prefill_token_ns * prefill as f64
            + self.per_decode_seq_ns * decode as f64
            + self.per_context_token_ns * context as f64;
        SimDuration(ns.round().max(1.0) as u64)
    }
}

/// A service's inference server: every replica runs one iteration at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Inference {
    /// Sequences in one iteration at most (`max_batch`, vLLM's `max_num_seqs`).
    pub max_batch: u32,
    /// Prompt tokens computed in one iteration at most (`max_batch_tokens`,
    /// vLLM's `max_num_batched_tokens`); with chunked prefill, decode
    /// tokens count against it too.
    pub max_batch_tokens: u32,
    /// KV-cache capacity of a replica, in tokens (`kv_cache_tokens`).
    pub kv_cache_tokens: u64,
    /// Tokens per KV-cache block (`block_size`): a sequence holds whole
    /// blocks. 1: counted in tokens.
    pub block_size: u32,
    /// `chunked_prefill: true`: Sarathi-style iterations mixing decodes with
    /// prompt chunks under `max_batch_tokens`; false: prefill first (vLLM's
    /// default without chunking): an iteration that admits prompts runs
    /// only prefills.
    pub chunked_prefill: bool,
    pub iteration: IterationCost,
    /// `model_load`: time a new replica loads weights before it takes
    /// traffic (scale-out, restart, eviction); `None`: none.
    pub model_load: Option<DistId>,
}

impl Inference {
    /// KV-cache tokens a sequence of `tokens` tokens holds (whole blocks).
    #[inline]
    pub fn kv_of(&self, tokens: u64) -> u64 {
        let b = u64::from(self.block_size.max(1));
        tokens.div_ceil(b) * b
    }
}

/// A token count of a `generate` step.
#[derive(Clone, Debug, PartialEq)]
pub enum Tokens {
    /// `200`.
    Fixed(u32),
    /// A distribution of counts (`lognormal(median=1000, p99=6000)`): a
    /// sample's nanoseconds are the count, rounded, at least 1.
    Drawn(DistId),
    /// `tokens(ATTR)`: the request attribute in slot `slot` (set when the
    /// attribute table is known; `u16::MAX` before), rounded, at least 1.
    Attr { name: String, slot: u16 },
}

/// One `generate` step: a sequence of `input` prompt tokens generating
/// `output` tokens on the inference server of `service`.
#[derive(Clone, Debug, PartialEq)]
pub struct Generate {
    pub service: ServiceId,
    pub input: Tokens,
    pub output: Tokens,
}
