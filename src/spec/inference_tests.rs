//! Tests of a service's `inference:`, the `generate` step and its token
//! counts, and the token SLO keys.

use crate::engine::SimDuration;
use crate::model::*;
use crate::spec::{Diagnostic, Diagnostics, FileSource, LoadOptions, load_str};
use std::path::Path;

/// Serves one trace, `t.csv`, with columns `TIMESTAMP`, `ContextTokens`,
/// `GeneratedTokens`.
struct Trace;

impl FileSource for Trace {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        if path.ends_with("t.csv") {
            return Ok("TIMESTAMP,ContextTokens,GeneratedTokens\n0.5,700,20\n1.5,1200,300\n".into());
        }
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string()))
    }
}

fn load(text: &str) -> Result<Model, Diagnostics> {
    load_str("i.yaml", text, &LoadOptions { base_dir: ".".into(), files: &Trace })
}

fn ok(text: &str) -> Model {
    load(text).unwrap_or_else(|d| panic!("{}", d.render(text)))
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(d) => d.0,
    }
}

/// The only problem of `text`, which must contain `needle`.
fn one_error(text: &str, needle: &str) -> Diagnostic {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one problem, got {errs:#?}");
    assert!(errs[0].message.contains(needle), "'{}' does not contain '{needle}'", errs[0].message);
    errs.into_iter().next().unwrap()
}

/// Line and column (1-based) of the first `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("'{needle}' not in:\n{text}"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// `d` is at the first `needle` of `text`, at `path`.
fn at(d: &Diagnostic, text: &str, needle: &str, path: &str) {
    assert_eq!((d.line, d.column), pos(text, needle), "{d:?}");
    assert_eq!(d.path, path, "{d:?}");
}

const ATTRS: &str = "trace: { file: t.csv, column: TIMESTAMP, attributes: [ ContextTokens, GeneratedTokens ] }";

/// Service `llm` with settings `inf` (lines indented 4) and the generate
/// endpoint's `steps` (indented 10), `gateway` calling it, and
/// `workloads` (list items, indented 2; the trace replay if empty).
fn topo(inf: &str, steps: &str, workloads: &str) -> String {
    let workloads = if workloads.is_empty() {
        format!("  - {{ name: replay, target: gateway.chat, {ATTRS} }}\n")
    } else {
        workloads.into()
    };
    format!(
        "services:\n  llm:\n{inf}    endpoints:\n      generate:\n        steps:\n{steps}  gateway:\n    endpoints:\n      \
         chat: {{ steps: [ {{ work: 1ms }}, {{ call: llm.generate }} ] }}\nworkload:\n{workloads}"
    )
}

const INF: &str = "    inference: { kv_cache_tokens: 100000, iteration: { base: 8ms } }\n";
const GEN: &str = "          - generate: { input: 200, output: 50 }\n";

fn llm(m: &Model) -> &Inference {
    m.services[0].inference.as_ref().expect("an inference server")
}

#[test]
fn a_full_block_is_read_into_the_model() {
    let inf = r#"    inference:
      max_batch: 64
      max_batch_tokens: 4096
      kv_cache_tokens: 200000
      block_size: 16
      chunked_prefill: true
      iteration: { base: 8ms, per_prefill_token: 0.05ms, per_decode_seq: 0.1ms, per_context_token: 0.0005ms }
      model_load: "lognormal(median=90s, p99=3m)"
"#;
    let m = ok(&topo(inf, GEN, ""));
    let i = llm(&m);
    assert_eq!(
        (i.max_batch, i.max_batch_tokens, i.kv_cache_tokens, i.block_size, i.chunked_prefill),
        (64, 4096, 200_000, 16, true)
    );
    let it = i.iteration;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.max(1.0);
    assert!(close(it.base_ns, 8e6) && close(it.per_prefill_token_ns, 5e4), "{it:?}");
    assert!(close(it.per_decode_seq_ns, 1e5) && close(it.per_context_token_ns, 500.0), "{it:?}");
    let d = &m.dists[i.model_load.expect("a model load time").ix()];
    assert!((d.mean_ns() / 1e9 - 100.0).abs() < 20.0, "{}", d.mean_ns());
    assert_eq!(i.kv_of(17), 32);
    assert!(m.services[1].inference.is_none(), "gateway is an ordinary service");
}

#[test]
fn defaults_and_fractional_nanoseconds() {
    let m = ok(&topo(INF, GEN, ""));
    assert_eq!(
        llm(&m),
        &Inference {
            max_batch: 256,
            max_batch_tokens: 8192,
            kv_cache_tokens: 100_000,
            block_size: 1,
            chunked_prefill: false,
            iteration: IterationCost {
                base_ns: 8e6,
                per_prefill_token_ns: 0.0,
                per_decode_seq_ns: 0.0,
                per_context_token_ns: 0.0
            },
            model_load: None,
        }
    );
    let inf = "    inference: { kv_cache_tokens: 1000, iteration: { base: 0s, per_context_token: 0.0005us } }\n";
    let m = ok(&topo(inf, GEN, ""));
    assert_eq!(llm(&m).iteration.per_context_token_ns, 0.5);
    assert_eq!(llm(&m).iteration.base_ns, 0.0);
}

#[test]
fn a_generate_step_compiles_with_each_token_form() {
    let steps = r#"          - work: 1ms
          - generate: { input: tokens(ContextTokens), output: 200 }
          - generate: { input: "uniform(10, 50)", output: tokens(GeneratedTokens) }
          - generate: { input: "lognormal(median=1000, p99=6000)", output: exp(200) }
          - generate: { input: "1_000", output: "empirical(file=t.csv, column=GeneratedTokens)" }
"#;
    let m = ok(&topo(INF, steps, ""));
    let ep = &m.endpoints[0];
    assert_eq!(ep.full_name, "llm.generate");
    let gens: Vec<&Instr> = ep.code.iter().filter(|i| matches!(i, Instr::Generate(_))).collect();
    assert_eq!(gens.len(), 4);
    assert!(matches!(ep.code[1], Instr::Generate(GenerateId(0))));
    assert_eq!(m.generates.len(), 4);
    assert!(m.generates.iter().all(|g| g.service == ServiceId(0)));
    let attr = |name: &str| Tokens::Attr {
        name: name.into(),
        slot: m.attributes.iter().position(|a| a == name).unwrap() as u16,
    };
    assert_eq!(m.generates[0].input, attr("ContextTokens"));
    assert_eq!(m.generates[0].output, Tokens::Fixed(200));
    assert_eq!(m.generates[1].output, attr("GeneratedTokens"));
    let mean = |t: &Tokens| match t {
        Tokens::Drawn(d) => m.dists[d.ix()].mean_ns(),
        other => panic!("not drawn: {other:?}"),
    };
    assert_eq!(mean(&m.generates[1].input), 30.0);
    // σ = ln(6) / z(0.99); the mean is the median × e^(σ²/2).
    assert!((mean(&m.generates[2].input) - 1345.3).abs() < 1.0, "{}", mean(&m.generates[2].input));
    assert_eq!(mean(&m.generates[2].output), 200.0);
    assert_eq!(m.generates[3].input, Tokens::Fixed(1000));
    assert_eq!(mean(&m.generates[3].output), 160.0);
}

#[test]
fn settings_out_of_range() {
    let cases: [(&str, &str, &str, &str); 6] = [
        ("max_batch: 0, ", "0,", "must be at least 1, found 0", "max_batch"),
        ("max_batch_tokens: 0, ", "0,", "must be at least 1, found 0", "max_batch_tokens"),
        ("block_size: 1.5, ", "1.5", "expected a whole number", "block_size"),
        ("chunked_prefill: yes, ", "yes", "true or false", "chunked_prefill"),
        ("block_size: 200000, ", "200000", "larger than the whole KV cache", "block_size"),
        ("model_load: 90, ", "90,", "has no unit", "model_load"),
    ];
    for (extra, needle, msg, key) in cases {
        let inf = format!("    inference: {{ {extra}kv_cache_tokens: 100000, iteration: {{ base: 8ms }} }}\n");
        let t = topo(&inf, GEN, "");
        let d = one_error(&t, msg);
        at(&d, &t, needle, &format!("services.llm.inference.{key}"));
        assert!(d.hint.is_some(), "{d:?}");
    }
    let t = topo("    inference: { kv_cache_tokens: 0, iteration: { base: 8ms } }\n", GEN, "");
    let d = one_error(&t, "must be at least 1, found 0");
    at(&d, &t, "0,", "services.llm.inference.kv_cache_tokens");
    assert!(d.hint.as_deref().unwrap().contains("kv_cache_tokens: 200000"), "{d:?}");
}

#[test]
fn required_keys_and_iteration_costs() {
    let t = topo("    inference: { iteration: { base: 8ms } }\n", GEN, "");
    let d = one_error(&t, "kv_cache_tokens");
    assert_eq!(d.path, "services.llm.inference");
    let t = topo("    inference: { kv_cache_tokens: 1000 }\n", GEN, "");
    one_error(&t, "iteration");
    let t = topo("    inference: { kv_cache_tokens: 1000, iteration: { per_decode_seq: 1ms } }\n", GEN, "");
    one_error(&t, "base");
    let t = topo("    inference: { kv_cache_tokens: 1000, iteration: { base: 8ms, per_decode_seq: -1ms } }\n", GEN, "");
    let d = one_error(&t, "negative");
    at(&d, &t, "-1ms", "services.llm.inference.iteration.per_decode_seq");
    assert!(d.hint.as_deref().unwrap().contains("0 or more"), "{d:?}");
    let t = topo("    inference: { kv_cache_tokens: 1000, iteration: { base: 8 } }\n", GEN, "");
    let d = one_error(&t, "has no unit");
    at(&d, &t, "8 }", "services.llm.inference.iteration.base");
    let t = topo("    inference: { kv_cache_tokens: 1000, iteration: { base: 8ms, per_token: 1ms } }\n", GEN, "");
    one_error(&t, "per_token");
}

#[test]
fn a_generate_step_needs_an_inference_server() {
    let t = topo("", GEN, "");
    let d = one_error(&t, "service 'llm' has no 'inference'");
    at(&d, &t, "generate: {", "services.llm.endpoints.generate.steps[0].generate");
    assert!(d.hint.as_deref().unwrap().contains("inference: { kv_cache_tokens"), "{d:?}");
    // A block with its own problem: no second complaint at the step.
    let t = topo("    inference: { kv_cache_tokens: 0, iteration: { base: 8ms } }\n", GEN, "");
    one_error(&t, "must be at least 1");
}

#[test]
fn counts_that_are_not_positive_integers() {
    for (v, msg) in [
        ("0", "at least 1, found 0"),
        ("1.5", "a whole number, found 1.5"),
        ("-3", "at least 1, found -3"),
        ("5ms", "'5ms' is a duration"),
        ("\"uniform(-5, 10)\"", "negative"),
        ("\"per(ContextTokens, 1us)\"", "tokens(ATTR)"),
        ("tokens()", "tokens() takes the name of one request attribute"),
        ("[ 1, 2 ]", "expected a token count, found a list"),
    ] {
        let steps = format!("          - generate: {{ input: {v}, output: 5 }}\n");
        let t = topo(INF, &steps, "");
        let d = one_error(&t, msg);
        assert_eq!(d.line, pos(&t, &format!("input: {v}")).0, "{d:?}");
        assert_eq!(d.path, "services.llm.endpoints.generate.steps[0].generate.input");
        assert!(d.hint.is_some(), "{v}: {d:?}");
    }
    let t = topo(INF, "          - generate: { input: 5 }\n", "");
    one_error(&t, "output");
}

#[test]
fn a_fixed_sequence_larger_than_the_kv_cache() {
    let inf = "    inference: { kv_cache_tokens: 1000, block_size: 16, iteration: { base: 8ms } }\n";
    let t = topo(inf, "          - generate: { input: 1001, output: 5 }\n", "");
    let d = one_error(&t, "a prompt of 1001 tokens (KV cache: 1008) never fits in kv_cache_tokens: 1000");
    at(&d, &t, "1001", "services.llm.endpoints.generate.steps[0].generate.input");
    let t = topo(inf, "          - generate: { input: 900, output: 100 }\n", "");
    let d = one_error(&t, "900 prompt + 100 generated tokens (KV cache: 1008) never fit");
    at(&d, &t, "100 }", "services.llm.endpoints.generate.steps[0].generate.output");
    // Drawn counts are the run's matter; 984 + 8 = 62 blocks of 16 fits.
    ok(&topo(inf, "          - generate: { input: \"uniform(500, 5000)\", output: 5000 }\n", ""));
    ok(&topo(inf, "          - generate: { input: 984, output: 8 }\n", ""));
}

#[test]
fn token_attributes_must_reach_the_step() {
    let steps = "          - generate: { input: tokens(Prompt), output: 20 }\n";
    let t = topo(INF, steps, "");
    let d = one_error(&t, "no workload carries an attribute 'Prompt' for tokens() (attributes: ContextTokens");
    at(&d, &t, "tokens(Prompt)", "services.llm.endpoints.generate.steps[0].generate.input");
    let steps = "          - generate: { input: tokens(ContextTokens), output: 20 }\n";
    let workloads = format!(
        "  - {{ name: replay, target: gateway.chat, {ATTRS} }}\n  - {{ name: synth, target: gateway.chat, rate: 1/s }}\n  \
         - {{ name: bare, target: llm.generate, trace: {{ file: t.csv, column: TIMESTAMP }} }}\n"
    );
    let t = topo(INF, steps, &workloads);
    let errs = errors(&t);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    for d in &errs {
        at(d, &t, "tokens(ContextTokens)", "services.llm.endpoints.generate.steps[0].generate.input");
        assert!(d.message.contains("generate step of llm.generate"), "{d:?}");
        assert!(d.message.contains("no attribute 'ContextTokens'"), "{d:?}");
    }
    assert!(errs[0].message.contains("workload 'synth'") || errs[1].message.contains("workload 'synth'"));
    let bare = errs.iter().find(|d| d.message.contains("workload 'bare'")).expect("bare named");
    assert!(bare.hint.as_deref().unwrap().contains("TIMESTAMP, ContextTokens, GeneratedTokens"), "{bare:?}");
}

#[test]
fn several_problems_at_once() {
    let inf = "    inference: { max_batch: 0, kv_cache_tokens: 1000, iteration: { base: -1ms } }\n";
    let steps = "          - generate: { input: 0, output: 2 }\n          - generate: { input: 1.5, output: 2 }\n          \
                 - generate: { input: tokens(Nope), output: 3 }\n";
    let t = topo(inf, steps, "");
    let errs = errors(&t);
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(errs.len(), 5, "{msgs:#?}");
    for needle in ["found 0", "negative", "at least 1, found 0", "found 1.5", "'Nope'"] {
        assert!(msgs.iter().any(|m| m.contains(needle)), "{needle} in {msgs:#?}");
    }
}

#[test]
fn token_slo_bounds() {
    let t = format!(
        "{}slo: [ {{ target: replay, ttft_p95: 2s, ttft_p50: 500ms, tpot_p99: 100ms }}, {{ target: replay, tpot_p90: 50ms }} ]\n",
        topo(INF, GEN, "")
    );
    let m = ok(&t);
    assert_eq!(m.slo[0].ttft, vec![(Stat::P50, SimDuration::from_millis(500)), (Stat::P95, SimDuration::from_secs(2))]);
    assert_eq!(m.slo[0].tpot, vec![(Stat::P99, SimDuration::from_millis(100))]);
    assert!(m.slo[0].latency.is_empty() && m.slo[0].success.is_none());
    assert_eq!(m.slo[1].tpot, vec![(Stat::P90, SimDuration::from_millis(50))]);
    assert_eq!(m.slo[0].describe(), "ttft_p50 ≤ 500ms, ttft_p95 ≤ 2s, tpot_p99 ≤ 100ms");
    let t = format!("{}slo: [ {{ target: replay, ttft_p95: 0s }} ]\n", topo(INF, GEN, ""));
    let d = one_error(&t, "longer than zero");
    assert_eq!(d.path, "slo[0].ttft_p95");
    let t = format!("{}slo: [ {{ target: replay, ttft_p999: 1s }} ]\n", topo(INF, GEN, ""));
    assert!(errors(&t).iter().any(|d| d.message.contains("ttft_p999")));
}
