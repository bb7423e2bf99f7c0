//! What the key tables generate: the JSON Schema of `stormcast schema`
//! (valid draft 2020-12, every example topology validates, a file with an
//! unknown key or a wrong type does not) and the key tables of
//! `docs/format.md`, which must be what the tables give.
//!
//! `STORMCAST_UPDATE_DOCS=1 cargo test --release schema` rewrites the
//! generated regions of `docs/format.md` after a table changed.

use crate::common::topologies_dir;
use serde_json::Value;
use std::path::Path;
use stormcast::spec::keys::{json, markdown};
use stormcast::spec::yaml::{self, Node, NodeKind};

/// A YAML tree as JSON, typing plain scalars as YAML 1.2's core schema
/// does (what an editor's language server sees).
fn to_json(n: &Node) -> Value {
    match &n.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Seq(s) => Value::Array(s.iter().map(to_json).collect()),
        NodeKind::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.text.clone(), to_json(v))).collect()),
        NodeKind::Scalar { text, quoted: true } => Value::String(text.clone()),
        NodeKind::Scalar { text, quoted: false } => {
            if let Ok(i) = text.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Value::from(u)
            } else if text.contains(|c: char| c.is_ascii_digit())
                && let Ok(f) = text.parse::<f64>()
                && f.is_finite()
            {
                Value::from(f)
            } else {
                match text.as_str() {
                    "true" | "True" | "TRUE" => Value::Bool(true),
                    "false" | "False" | "FALSE" => Value::Bool(false),
                    _ => Value::String(text.clone()),
                }
            }
        }
    }
}

fn yaml_json(text: &str) -> Value {
    let parsed = yaml::parse(text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    to_json(&parsed.root.expect("a tree"))
}

fn validator() -> jsonschema::Validator {
    let schema = json::topology_schema();
    jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("not a valid JSON Schema: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

fn problems(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn every_example_topology_validates_against_the_schema() {
    let v = validator();
    let mut files: Vec<_> =
        std::fs::read_dir(topologies_dir()).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 6);
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
        let instance = yaml_json(&std::fs::read_to_string(path).unwrap());
        let errs = problems(&v, &instance);
        assert!(errs.is_empty(), "{} does not validate:\n{}", path.display(), errs.join("\n"));
    }
}

const GOOD: &str = "services:\n  api:\n    endpoints:\n      get:\n        steps:\n          - work: exp(1ms)\n          \
                    - call: db.read\n            timeout: 50ms\n            retry: { attempts: 3, budget: { kind: envoy } }\n  \
                    db: { endpoints: { read: { work: 2ms } } }\nworkload: [ { name: w, target: api.get, rate: 100/s } ]\n\
                    faults: [ { at: 1s, for: 1s, kind: latency, service: db, add: 5ms } ]\n";

#[test]
fn wrong_files_do_not_validate() {
    let v = validator();
    assert_eq!(problems(&v, &yaml_json(GOOD)), Vec::<String>::new());
    let bad = [
        ("an unknown key", GOOD.replace("timeout: 50ms", "timout: 50ms")),
        ("an unknown top-level key", format!("{GOOD}servces: {{}}\n")),
        ("a misspelt step kind", GOOD.replace("- work: exp", "- wrk: exp")),
        ("a bare number as a duration", GOOD.replace("timeout: 50ms", "timeout: 50")),
        ("a rate without a time unit", GOOD.replace("rate: 100/s", "rate: 100")),
        ("an unknown word", GOOD.replace("{ kind: envoy }", "{ kind: envy }")),
        ("a key of another fault kind", GOOD.replace("add: 5ms", "add: 5ms, factor: 2")),
        ("two step kinds", GOOD.replace("- work: exp(1ms)", "- { work: 1ms, delay: 1ms }")),
        ("a planned key", GOOD.replace("db: {", "db: { queues: 1,")),
    ];
    for (what, text) in bad {
        assert!(!problems(&v, &yaml_json(&text)).is_empty(), "{what} validates:\n{text}");
    }
}

#[test]
fn clusters_resources_and_node_faults_validate_and_their_mistakes_do_not() {
    let v = validator();
    let good = "cluster:\n  nodes:\n    - { name: general, cores: 8, memory: 32Gi, count: 3, max: 10, \
                provision: 90s, cost_per_hour: 0.38 }\n  cfs_period: 100ms\n  scheduler: most_allocated\n  \
                scale_down: { after: 10m, utilization: 50% }\nservices:\n  cart:\n    cpus: 500m\n    \
                resources: { requests: { cpu: 500m, memory: 512Mi }, limits: { cpu: 1, memory: 1Gi } }\n    \
                memory_per_request: 2Mi\n    priority: -5\n    endpoints: { get: { work: 1ms } }\n\
                workload:\n  - { name: web, target: cart.get, rate: 10/s }\nfaults:\n  \
                - { at: 5m, kind: evict, service: cart, replicas: 2 }\n  \
                - { at: 10m, for: 5m, kind: node_down, node: general-1 }\n";
    assert_eq!(problems(&v, &yaml_json(good)), Vec::<String>::new());
    let bad = [
        ("a misspelt pool key", good.replace("count: 3", "cnt: 3")),
        ("memory without a unit", good.replace("memory: 512Mi", "memory: 512")),
        ("an unknown scheduler", good.replace("most_allocated", "bin_pack")),
        ("a node pool without cores", good.replace("cores: 8, ", "")),
        ("a misspelt resources key", good.replace("requests:", "request:")),
        ("a node_down without its node", good.replace(", node: general-1", "")),
    ];
    for (what, text) in bad {
        assert!(!problems(&v, &yaml_json(&text)).is_empty(), "{what} validates:\n{text}");
    }
}

#[test]
fn inference_servers_validate_and_their_mistakes_do_not() {
    let v = validator();
    let good = "services:\n  llm:\n    inference:\n      max_batch: 64\n      kv_cache_tokens: 200000\n      \
                block_size: 16\n      chunked_prefill: true\n      iteration: { base: 8ms, per_prefill_token: 0.05ms, \
                per_decode_seq: 0.1ms, per_context_token: 0.0005ms }\n      model_load: 90s\n    endpoints:\n      \
                generate:\n        steps:\n          - generate: { input: 200, output: \"uniform(10, 50)\" }\n          \
                - generate: { input: tokens(ContextTokens), output: exp(200) }\n\
                workload: [ { name: chat, target: llm.generate, rate: 1/s } ]\n\
                slo: [ { target: chat, ttft_p95: 2s, tpot_p99: 100ms } ]\n";
    assert_eq!(problems(&v, &yaml_json(good)), Vec::<String>::new());
    let bad = [
        ("max_batch 0", good.replace("max_batch: 64", "max_batch: 0")),
        ("no kv_cache_tokens", good.replace("kv_cache_tokens: 200000\n      ", "")),
        ("a misspelt iteration key", good.replace("per_decode_seq", "per_decode_sequence")),
        ("a generate without output", good.replace(", output: exp(200)", "")),
        ("a token count of 0", good.replace("input: 200", "input: 0")),
        ("an unknown SLO key", good.replace("ttft_p95", "ttft_p999")),
    ];
    for (what, text) in bad {
        assert!(!problems(&v, &yaml_json(&text)).is_empty(), "{what} validates:\n{text}");
    }
}

#[test]
fn queues_publishes_and_lag_validate_and_their_mistakes_do_not() {
    let v = validator();
    let good = "queues:\n  orders:\n    partitions: 6\n    when_full: block\n    latency: exp(2ms)\n    consumers:\n      \
                - { endpoint: shipping.ship, group: shipping, concurrency: 4, mode: partitioned }\nservices:\n  \
                checkout:\n    endpoints:\n      place:\n        steps:\n          - publish: orders\n          \
                - { publish: orders, key: CustomerId, timeout: 2s, reply: { timeout: 2s } }\n  shipping:\n    \
                autoscale: { min: 0, max: 20, metrics: [ { lag: 1000 } ] }\n    endpoints:\n      \
                ship: { work: exp(20ms) }\nworkload:\n  - { name: web, target: checkout.place, rate: 10/s }\n";
    assert_eq!(problems(&v, &yaml_json(good)), Vec::<String>::new());
    let bad = [
        ("a misspelt queue key", good.replace("partitions: 6", "partitons: 6")),
        ("an unknown when_full", good.replace("when_full: block", "when_full: wait")),
        ("no partitions", good.replace("partitions: 6", "partitions: 0")),
        ("an unknown consumer mode", good.replace("mode: partitioned", "mode: fanout")),
        ("a reply without its timeout", good.replace("reply: { timeout: 2s }", "reply: {}")),
        ("a publish with a call's key", good.replace("key: CustomerId", "on_failure: continue")),
    ];
    for (what, text) in bad {
        assert!(!problems(&v, &yaml_json(&text)).is_empty(), "{what} validates:\n{text}");
    }
}

#[test]
fn docs_key_tables_are_what_the_tables_generate() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/format.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let (generated, missing) = markdown::update_docs(&docs);
    if std::env::var_os("STORMCAST_UPDATE_DOCS").is_some() && generated != docs {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(missing.is_empty(), "docs/format.md has no <!-- keys:ID --> region for {missing:?}");
    if generated != docs {
        let first = docs.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "docs/format.md's key tables differ from spec::keys (first at line {}):\n  docs: {:?}\n  keys: {:?}\n\
             run STORMCAST_UPDATE_DOCS=1 cargo test --release schema to regenerate them",
            first + 1,
            docs.lines().nth(first),
            generated.lines().nth(first)
        );
    }
}
