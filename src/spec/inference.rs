//! A service's `inference:` block → [`Inference`], the token counts of a
//! `generate` step → [`Tokens`], and the resolution of `tokens(ATTR)` to an
//! attribute slot once the workloads are known ([`resolve_tokens`]).
//!
//! Defaults: `max_batch` 256 (vLLM's `max_num_seqs`), `max_batch_tokens`
//! 8192, `block_size` 1 (counted in tokens), `chunked_prefill: false`
//! (prefill first), the iteration's per-token and per-sequence costs 0, no
//! `model_load`. `kv_cache_tokens` and `iteration.base` must be written.
//!
//! What it does not: batch, admit or preempt (that is the simulation). A
//! fixed prompt, or fixed prompt and output, larger than the KV cache is
//! refused here; a drawn or attribute count too large is the run's matter.

use super::decode::{Fields, Loc, found};
use super::keys::{INFERENCE, ITERATION};
use super::topology::Build;
use super::yaml::{Node, NodeKind};
use crate::model::{EndpointId, GenerateId, Inference, IterationCost, Layout, ServiceId, Tokens, WorkloadKind};

/// Most KV-cache tokens of a replica (a typo guard).
pub const MAX_KV_CACHE_TOKENS: u64 = 1 << 40;
pub const DEFAULT_MAX_BATCH: u32 = 256;
pub const DEFAULT_MAX_BATCH_TOKENS: u32 = 8192;

const COUNT_HINT: &str = "a token count is a whole number of 1 or more (200), a request attribute (tokens(ContextTokens)) \
                          or a distribution of counts (\"uniform(10, 50)\", \"lognormal(median=1000, p99=6000)\")";

/// A `tokens(ATTR)` of a `generate` step, resolved after the workloads.
pub(super) struct TokenAttr {
    pub generate: GenerateId,
    /// The endpoint whose step it is.
    pub endpoint: EndpointId,
    /// `output` (else `input`).
    pub output: bool,
    pub at: Loc,
    pub path: String,
}

/// Reads the service's `inference:` (if written) into `s.inference`.
pub(super) fn service_inference(b: &mut Build, sid: ServiceId, f: &Fields, at: Loc) -> Option<Inference> {
    let n = f.get("inference")?;
    b.inference_written.insert(sid);
    let path = f.at("inference");
    let at = f.key("inference").map_or(at, |k| k.loc());
    let f = b.cx.fields(n, &path, at, &INFERENCE)?;
    let mut ok = true;
    let mut count = |b: &mut Build, key: &str, lo: u64, hi: u64, default: u64, hint: &str| -> u64 {
        let Some(n) = f.get(key) else { return default };
        let v = with_hint(b, hint, |b| b.cx.uint(n, &f.at(key), lo, hi));
        ok &= v.is_some();
        v.unwrap_or(default)
    };
    let u32_max = u64::from(u32::MAX);
    let max_batch = count(b, "max_batch", 1, u32_max, DEFAULT_MAX_BATCH.into(), "sequences per iteration, e.g. 256");
    let max_batch_tokens = count(
        b,
        "max_batch_tokens",
        1,
        u32_max,
        DEFAULT_MAX_BATCH_TOKENS.into(),
        "prompt tokens per iteration, e.g. 8192",
    );
    let block_size = count(b, "block_size", 1, u32_max, 1, "tokens per KV-cache block: 1 (count tokens) or 16 (vLLM)");
    let kv_hint = "the KV-cache capacity of a replica in tokens, e.g. kv_cache_tokens: 200000";
    let kv = match b.cx.require(&f, "kv_cache_tokens", Some(kv_hint)) {
        Some(n) => with_hint(b, kv_hint, |b| b.cx.uint(n, &f.at("kv_cache_tokens"), 1, MAX_KV_CACHE_TOKENS)),
        None => None,
    };
    if let (Some(kv), Some(n)) = (kv, f.get("block_size"))
        && block_size > kv
    {
        let msg = format!("block_size {block_size} is larger than the whole KV cache (kv_cache_tokens: {kv})");
        let hint = Some("a block is a slice of the KV cache: vLLM uses 16 tokens; 1 counts in tokens".into());
        b.cx.error(n.loc(), &f.at("block_size"), msg, hint);
        ok = false;
    }
    let chunked_prefill = match f.get("chunked_prefill") {
        Some(n) => {
            let hint = "true: iterations mix decodes with prompt chunks; false: prefill first";
            with_hint(b, hint, |b| b.cx.boolean(n, &f.at("chunked_prefill")))
        }
        None => Some(false),
    };
    let iteration = match (b.cx.require(&f, "iteration", Some(ITERATION.hint)), f.key("iteration")) {
        (Some(n), Some(k)) => iteration(b, n, &f.at("iteration"), k.loc()),
        _ => None,
    };
    let model_load = match f.get("model_load") {
        Some(n) => {
            let hint = "a duration or a distribution of durations, e.g. model_load: \"lognormal(median=90s, p99=3m)\"";
            Some(with_hint(b, hint, |b| b.cx.dist(n, &f.at("model_load")))?)
        }
        None => None,
    };
    let (Some(kv_cache_tokens), Some(chunked_prefill), Some(iteration), true) = (kv, chunked_prefill, iteration, ok)
    else {
        return None;
    };
    Some(Inference {
        max_batch: max_batch as u32,
        max_batch_tokens: max_batch_tokens as u32,
        kv_cache_tokens,
        block_size: block_size as u32,
        chunked_prefill,
        iteration,
        model_load,
    })
}

fn iteration(b: &mut Build, n: &Node, path: &str, at: Loc) -> Option<IterationCost> {
    let f = b.cx.fields(n, path, at, &ITERATION)?;
    let hint = "an iteration's costs are durations of 0 or more; fractions of a nanosecond are kept (0.0005ms)";
    let read = |b: &mut Build, key: &str| -> Option<f64> {
        match f.get(key) {
            Some(n) => with_hint(b, hint, |b| b.cx.duration_ns(n, &f.at(key))),
            None => Some(0.0),
        }
    };
    let base = match b.cx.require(&f, "base", Some(ITERATION.hint)) {
        Some(_) => read(b, "base"),
        None => None,
    };
    let prefill = read(b, "per_prefill_token");
    let decode = read(b, "per_decode_seq");
    let context = read(b, "per_context_token");
    Some(IterationCost {
        base_ns: base?,
        per_prefill_token_ns: prefill?,
        per_decode_seq_ns: decode?,
        per_context_token_ns: context?,
    })
}

/// Runs `read`; a problem it reported without a hint gets `hint`.
fn with_hint<T>(b: &mut Build, hint: &str, read: impl FnOnce(&mut Build) -> Option<T>) -> Option<T> {
    let before = b.cx.diags.len();
    let v = read(b);
    if v.is_none()
        && b.cx.diags.len() > before
        && let Some(d) = b.cx.diags.last_mut()
        && d.hint.is_none()
    {
        d.hint = Some(hint.to_string());
    }
    v
}

/// A token count of a `generate` step: `200`, `tokens(ATTR)` (its slot is
/// set by [`resolve_tokens`]) or a distribution of counts.
pub(super) fn tokens(b: &mut Build, n: &Node, path: &str) -> Option<Tokens> {
    let NodeKind::Scalar { text, .. } = &n.kind else {
        b.cx.error(n.loc(), path, format!("expected a token count, found {}", found(n)), Some(COUNT_HINT.into()));
        return None;
    };
    let t = text.trim();
    if let Ok(v) = t.replace('_', "").parse::<f64>() {
        if v.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&v) {
            return Some(Tokens::Fixed(v as u32));
        }
        let msg = if v.fract() != 0.0 {
            format!("a token count is a whole number, found {t}")
        } else if v < 1.0 {
            format!("a token count is at least 1, found {t}")
        } else {
            format!("a token count is at most {}, found {t}", u32::MAX)
        };
        b.cx.error(n.loc(), path, msg, Some(COUNT_HINT.into()));
        return None;
    }
    if let Some(inner) = t.strip_prefix("tokens(").and_then(|r| r.strip_suffix(')')) {
        let name = inner.trim();
        if name.is_empty() || name.contains([',', '(', ')', ' ']) {
            let msg = format!("tokens() takes the name of one request attribute, found '{inner}'");
            b.cx.error(n.loc(), path, msg, Some("e.g. tokens(ContextTokens)".into()));
            return None;
        }
        return Some(Tokens::Attr { name: name.to_string(), slot: u16::MAX });
    }
    with_hint(b, COUNT_HINT, |b| b.cx.count_dist(n, path)).map(Tokens::Drawn)
}

/// The problems a `generate` step of a service can have against its
/// `inference:` block: none written, or a fixed sequence that can never
/// fit in the KV cache. `sites` are the step's `input` and `output`.
pub(super) fn check_generate(
    b: &mut Build,
    sid: ServiceId,
    (input, output): (&Tokens, &Tokens),
    at: Loc,
    path: &str,
    sites: [(Loc, String); 2],
) {
    let s = &b.model.services[sid.ix()];
    let Some(inf) = &s.inference else {
        if !b.inference_written.contains(&sid) {
            let msg = format!("a generate step needs an inference server, but service '{}' has no 'inference'", s.name);
            let hint = format!(
                "add to service '{}': inference: {{ kv_cache_tokens: 200000, iteration: {{ base: 8ms, \
                 per_prefill_token: 0.05ms, per_decode_seq: 0.1ms }} }}",
                s.name
            );
            b.cx.error(at, path, msg, Some(hint));
        }
        return;
    };
    let kv = inf.kv_cache_tokens;
    let hint =
        || Some("a sequence holds its prompt and its generated tokens in the KV cache: raise kv_cache_tokens".into());
    if let Tokens::Fixed(i) = input {
        let need = inf.kv_of(u64::from(*i));
        if need > kv {
            let msg = format!("a prompt of {i} tokens (KV cache: {need}) never fits in kv_cache_tokens: {kv}");
            b.cx.error(sites[0].0, &sites[0].1, msg, hint());
            return;
        }
        if let Tokens::Fixed(o) = output {
            let need = inf.kv_of(u64::from(*i) + u64::from(*o));
            if need > kv {
                let msg =
                    format!("{i} prompt + {o} generated tokens (KV cache: {need}) never fit in kv_cache_tokens: {kv}");
                b.cx.error(sites[1].0, &sites[1].1, msg, hint());
            }
        }
    }
}

/// Gives each `tokens(ATTR)` its slot in the model's attribute table and
/// checks that every workload reaching its step carries the attribute.
pub(super) fn resolve_tokens(b: &mut Build) {
    if b.token_attrs.is_empty() {
        return;
    }
    let m = &b.model;
    let mut errors: Vec<(Loc, String, String, Option<String>)> = Vec::new();
    let mut slots: Vec<(GenerateId, bool, u16)> = Vec::new();
    let reach: Vec<Vec<bool>> = m.workloads.iter().map(|w| super::trace::reachable(m, w.target)).collect();
    for ta in std::mem::take(&mut b.token_attrs) {
        let g = &m.generates[ta.generate.ix()];
        let Tokens::Attr { name, .. } = (if ta.output { &g.output } else { &g.input }) else { continue };
        let Some(slot) = m.attributes.iter().position(|a| a == name) else {
            let known = if m.attributes.is_empty() { "none".into() } else { m.attributes.join(", ") };
            let msg = format!("no workload carries an attribute '{name}' for tokens() (attributes: {known})");
            let hint = format!("list it in a trace's attributes, e.g. trace: {{ …, attributes: [ {name} ] }}");
            errors.push((ta.at, ta.path, msg, Some(hint)));
            continue;
        };
        slots.push((ta.generate, ta.output, slot as u16));
        let ep = ta.endpoint;
        for (w, r) in m.workloads.iter().zip(&reach) {
            let carries = matches!(&w.kind, WorkloadKind::Trace(t) if t.attr_slots.contains(&(slot as u16)));
            if carries || !r[ep.ix()] {
                continue;
            }
            let msg = format!(
                "workload '{}' reaches the generate step of {} but its requests carry no attribute '{name}' for tokens()",
                w.name,
                m.endpoints[ep.ix()].full_name,
            );
            let hint = match &w.kind {
                WorkloadKind::Trace(t) => match columns(t) {
                    Some(c) => {
                        format!("add it to the trace's attributes; the columns of {} are: {}", t.file, c.join(", "))
                    }
                    None => format!("add it to the trace's attributes: [ …, {name} ]"),
                },
                _ => "only a trace's requests carry attributes: replay a trace with attributes: [ … ], \
                      or write a count or a distribution of counts"
                    .to_string(),
            };
            errors.push((ta.at, ta.path.clone(), msg, Some(hint)));
        }
    }
    for (g, output, slot) in slots {
        let step = &mut b.model.generates[g.ix()];
        if let Tokens::Attr { slot: s, .. } = if output { &mut step.output } else { &mut step.input } {
            *s = slot;
        }
    }
    for (at, path, msg, hint) in errors {
        b.cx.error(at, &path, msg, hint);
    }
}

/// The header's columns of a CSV trace (`None` for JSON lines or when it
/// cannot be read).
fn columns(t: &crate::model::Trace) -> Option<Vec<String>> {
    if !matches!(t.layout, Layout::Csv { .. }) {
        return None;
    }
    let mut r = (t.open)().ok()?;
    let mut header = String::new();
    std::io::BufRead::read_line(&mut r, &mut header).ok()?;
    let header = header.trim_end_matches(['\n', '\r']).trim_start_matches('\u{feff}');
    Some(crate::sim::trace::csv_fields(header).map(str::to_string).collect())
}

#[cfg(test)]
#[path = "inference_tests.rs"]
mod tests;
