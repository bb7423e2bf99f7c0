//! The key tables as a JSON Schema (draft 2020-12) of the topology format,
//! for `stormcast schema` and editors (yaml-language-server).
//!
//! Every block is a `$defs` entry with `additionalProperties: false`;
//! steps are a `oneOf` by their kind key, faults, budgets and throttles a
//! `oneOf` by their `kind` field; durations, rates and ratios are strings
//! with a `pattern`, words an `enum`. The schema is as strict as a schema
//! can be about types; what needs the whole file (a call's target exists,
//! `warmup < duration`) only `stormcast check` knows.

use super::{Absent, Block, TOPOLOGY, Tag, Ty, Union, blocks, markdown};
use serde_json::{Map, Value, json};

/// A number then a duration unit.
pub const DURATION_PATTERN: &str =
    r"^\s*\+?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9_]+)([eE][-+]?[0-9]+)?\s*(ns|us|µs|ms|s|sec|m|min|h|d)\s*$";
/// A count, `/`, then a duration or a unit.
pub const RATE_PATTERN: &str =
    r"^\s*\+?[0-9._]+([eE][-+]?[0-9]+)?\s*/\s*([0-9._]*\s*)?(ns|us|µs|ms|s|sec|m|min|h|d)\s*$";
/// A percentage.
pub const PERCENT_PATTERN: &str = r"^\s*\+?[0-9._]+([eE][-+]?[0-9]+)?\s*%\s*$";
/// A distribution: a constant duration or `name(…)`.
pub const DIST_PATTERN: &str = r"^\s*(\+?[0-9.]|[A-Za-z_][A-Za-z0-9_]*\s*\()";
/// Names of services and endpoints (see `topology::check_name`).
/// A memory quantity: a number and a unit (`0` alone is the number 0, or the string "0").
pub const MEMORY_PATTERN: &str = r"^\s*(0|\+?[0-9._]+([eE][-+]?[0-9]+)?\s*(Ki|Mi|Gi|Ti|k|M|G|T))\s*$";
pub const NAME_PATTERN: &str = r"^[\p{L}\p{N}_-]+$";

fn number_or_percent(min: Value) -> Value {
    json!({ "anyOf": [
        { "type": "number", "minimum": min },
        { "type": "string", "pattern": PERCENT_PATTERN }
    ] })
}

/// The schema of a value type.
pub fn ty(t: &Ty) -> Value {
    match *t {
        Ty::Any | Ty::Refused => json!({}),
        Ty::Text | Ty::Name(_) | Ty::File => json!({ "type": "string" }),
        Ty::Target => json!({ "type": "string", "pattern": r"^[^.\s]+\.[^.\s]+$" }),
        Ty::Duration => {
            json!({ "type": "string", "pattern": DURATION_PATTERN, "examples": ["250us", "5ms", "2s", "1.5m", "1h"] })
        }
        Ty::Dist => json!({
            "type": "string",
            "pattern": DIST_PATTERN,
            "examples": ["5ms", "exp(5ms)", "uniform(1ms, 3ms)", "lognormal(median=2ms, p99=20ms)",
                         "percentiles(p50=3ms, p90=8ms, p99=40ms, max=200ms)", "mix(0.9: exp(2ms), 0.1: exp(50ms))"]
        }),
        Ty::Rate => json!({ "type": "string", "pattern": RATE_PATTERN, "examples": ["200/s", "12000/min"] }),
        Ty::Ratio => json!({ "anyOf": [
            { "type": "number", "minimum": 0, "maximum": 1 },
            { "type": "string", "pattern": PERCENT_PATTERN }
        ] }),
        Ty::Number | Ty::Percent => number_or_percent(json!(0)),
        Ty::Quantity => json!({ "anyOf": [
            { "type": "number", "exclusiveMinimum": 0 },
            { "type": "string", "pattern": r"^\s*[0-9.]+m?\s*$" }
        ] }),
        Ty::Memory => json!({ "anyOf": [
            { "const": 0 },
            { "type": "string", "pattern": MEMORY_PATTERN, "examples": ["512Mi", "1Gi", "500M"] }
        ] }),
        Ty::Int(lo, hi) => json!({ "type": "integer", "minimum": lo, "maximum": hi }),
        Ty::Signed(lo, hi) => json!({ "type": "integer", "minimum": lo, "maximum": hi }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Words(w) => json!({ "enum": w }),
        Ty::Map(b) => reference(b.id),
        Ty::MapOf(b) => json!({
            "type": "object",
            "propertyNames": { "pattern": NAME_PATTERN },
            "additionalProperties": reference(b.id)
        }),
        Ty::List(t) => json!({ "type": "array", "items": ty(t) }),
        Ty::Pair(a, b) => json!({ "type": "array", "prefixItems": [ty(a), ty(b)], "items": false, "minItems": 2 }),
        Ty::Either(ts) => json!({ "anyOf": ts.iter().map(ty).collect::<Vec<_>>() }),
        Ty::Kinds(u) => reference(u.id),
    }
}

/// Markdown as plain text: no backticks, escapes or link targets.
fn plain(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(i) = rest.find("](#") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find(')').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out.replace(['`', '['], "").replace("\\|", "|")
}

fn reference(id: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{id}") })
}

/// A block's schema; `tag` gives a union's tag field its words.
fn block(b: &Block, tag: Option<(&str, &[&str])>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for k in b.all_keys() {
        if k.later.is_some() || matches!(k.ty, Ty::Refused) {
            continue;
        }
        let mut s = match tag {
            Some((name, words)) if name == k.name => json!({ "enum": words }),
            _ => ty(&k.ty),
        };
        let default = match k.absent {
            Absent::Is(v) => format!(" Default: {}.", plain(v)),
            Absent::Required => " Required.".into(),
            Absent::Nothing => String::new(),
        };
        let doc = format!("{} ({}).{default}", k.doc, plain(&markdown::ty(&k.ty)));
        if let Some(o) = s.as_object_mut() {
            o.insert("description".into(), Value::String(doc));
        }
        props.insert(k.name.into(), s);
        if k.absent == Absent::Required {
            required.push(k.name);
        }
    }
    let mut s = json!({
        "type": "object",
        "description": b.what,
        "properties": props,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    if !b.one_of.is_empty() {
        s["oneOf"] = json!(b.one_of.iter().map(|k| json!({ "required": [k] })).collect::<Vec<_>>());
    }
    s
}

fn union(u: &Union, defs: &mut Map<String, Value>) -> Value {
    let tag = match u.tag {
        Tag::Key => None,
        Tag::Field { name, .. } => Some(name),
    };
    for (i, b) in u.variants.iter().enumerate() {
        let words = tag.map(|n| (n, u.tags[i]));
        defs.insert(b.id.into(), block(b, words));
    }
    json!({
        "description": format!("{}: {}", u.what, u.words().join(", ")),
        "oneOf": u.variants.iter().map(|b| reference(b.id)).collect::<Vec<_>>()
    })
}

/// The JSON Schema of a topology file.
pub fn topology_schema() -> Value {
    let mut defs = Map::new();
    let unions = markdown::unions();
    for u in &unions {
        let s = union(u, &mut defs);
        defs.insert(u.id.into(), s);
    }
    for b in blocks() {
        if !defs.contains_key(b.id) {
            defs.insert(b.id.into(), block(b, None));
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:stormcast:topology",
        "title": "stormcast topology",
        "description": "A stormcast topology: services, endpoints, calls, workloads and faults (see docs/format.md).",
        "$ref": format!("#/$defs/{}", TOPOLOGY.id),
        "$defs": defs,
    })
}
