//! The key tables as Markdown, for `docs/format.md` and
//! `stormcast schema --markdown`.
//!
//! `docs/format.md` holds generated regions between `<!-- keys:ID -->`
//! and `<!-- /keys -->` (ID a block's or a union's id, or `planned`);
//! [`update_docs`] regenerates them and a test fails when the file differs
//! from what the tables give, so the docs cannot drift from the code.

use super::{Absent, Block, Key, Tag, Ty, Union, blocks};

/// A value type as the docs write it.
pub fn ty(t: &Ty) -> String {
    match *t {
        Ty::Any | Ty::Refused => "—".into(),
        Ty::Text => "text".into(),
        Ty::Name(what) => format!("a {what}'s name"),
        Ty::File => "path".into(),
        Ty::Target => "`service.endpoint`".into(),
        Ty::Duration => "duration".into(),
        Ty::Dist => "distribution".into(),
        Ty::Rate => "rate".into(),
        Ty::Ratio => "ratio in [0, 1]".into(),
        Ty::Number => "number ≥ 0".into(),
        Ty::Percent => "percentage".into(),
        Ty::Quantity => "quantity (`50`, `2.5`, `500m`)".into(),
        Ty::Memory => "memory (`512Mi`, `1Gi`, `500M`)".into(),
        Ty::Int(lo, hi) if hi >= u64::from(u32::MAX) => format!("integer ≥ {lo}"),
        Ty::Int(lo, hi) => format!("integer {lo}–{hi}"),
        Ty::Signed(..) => "integer (may be negative)".into(),
        Ty::Bool => "`true` \\| `false`".into(),
        Ty::Words(w) => w.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(" \\| "),
        Ty::Map(b) => format!("map: [{}](#keys-{})", b.id, b.id),
        Ty::MapOf(b) => format!("map of name → [{}](#keys-{})", b.id, b.id),
        Ty::List(t) => format!("list of {}", ty(t)),
        Ty::Pair(a, b) => format!("[{}, {}]", ty(a), ty(b)),
        Ty::Either(ts) => ts.iter().map(ty).collect::<Vec<_>>().join(", or "),
        Ty::Kinds(u) => format!("[{}](#keys-{})", u.id, u.id),
    }
}

/// A default as the docs write it: values in backticks, prose as is.
fn absent(k: &Key) -> String {
    match k.absent {
        Absent::Required => "required".into(),
        Absent::Nothing => "—".into(),
        Absent::Is(v) => {
            let value = !v.contains('`')
                && (v.contains(|c: char| c.is_ascii_digit())
                    || v.starts_with('[')
                    || is_call(v)
                    || matches!(v, "true" | "false")
                    || is_word_of(&k.ty, v)
                    || k.name == "kind");
            if value { format!("`{v}`") } else { v.to_string() }
        }
    }
}

/// Whether `v` is one of the words a value of `t` may be.
fn is_word_of(t: &Ty, v: &str) -> bool {
    match t {
        Ty::Words(w) => w.contains(&v),
        Ty::Either(ts) => ts.iter().any(|t| is_word_of(t, v)),
        _ => false,
    }
}

/// `name(…)`: a distribution written as a default.
fn is_call(v: &str) -> bool {
    v.find('(').is_some_and(|i| i > 0 && v[..i].bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn row(out: &mut String, k: &Key, name: String, type_text: Option<String>) {
    if k.later.is_some() || matches!(k.ty, Ty::Refused) {
        return;
    }
    let t = type_text.unwrap_or_else(|| ty(&k.ty));
    out.push_str(&format!("| {name} | {t} | {} | {} |\n", absent(k), k.doc));
}

const HEAD: &str = "| key | type | default | meaning |\n|---|---|---|---|\n";

/// One block's table; `tag` shows a union's tag field with its words.
pub fn block_table(b: &Block, tag: Option<(&str, &'static [&'static str])>) -> String {
    let mut out = format!("<a id=\"keys-{}\"></a>\n\n{HEAD}", b.id);
    for k in b.keys {
        let words = tag.filter(|(name, _)| *name == k.name).map(|(_, w)| ty(&Ty::Words(w)));
        row(&mut out, k, format!("`{}`", k.name), words);
    }
    if let Some(a) = b.also {
        out.push_str(&format!("| … | | | and every key of a [{}](#keys-{}) |\n", a.id, a.id));
    }
    out
}

/// A union: one table of every kind's keys (told apart by a key), or
/// one table per kind (told apart by a field).
pub fn union_table(u: &Union) -> String {
    match u.tag {
        Tag::Key => {
            let mut out = format!("<a id=\"keys-{}\"></a>\n\n{HEAD}", u.id);
            for b in u.variants {
                for (i, k) in b.keys.iter().enumerate() {
                    let name = if i == 0 { format!("**`{}`**", k.name) } else { format!("`{}`", k.name) };
                    row(&mut out, k, name, None);
                }
                if let Some(a) = b.also {
                    out.push_str(&format!("| … | | | and every key of a [{}](#keys-{}) |\n", a.id, a.id));
                }
            }
            out
        }
        Tag::Field { name, .. } => {
            let mut out = format!("<a id=\"keys-{}\"></a>\n", u.id);
            for (b, words) in u.variants.iter().zip(u.tags) {
                let kinds = words.iter().map(|w| format!("`{name}: {w}`")).collect::<Vec<_>>().join(", ");
                out.push_str(&format!("\n{} ({kinds}):\n\n", b.what));
                out.push_str(&block_table(b, Some((name, words))));
            }
            out
        }
    }
}

/// Every union reachable from the top, each once.
pub fn unions() -> Vec<&'static Union> {
    let mut out: Vec<&'static Union> = Vec::new();
    for b in blocks() {
        for k in b.keys {
            collect_unions(&k.ty, &mut out);
        }
    }
    out
}

fn collect_unions(t: &Ty, out: &mut Vec<&'static Union>) {
    match *t {
        Ty::Kinds(u) if !out.iter().any(|x| std::ptr::eq(*x, u)) => out.push(u),
        Ty::List(t) => collect_unions(t, out),
        Ty::Either(ts) => ts.iter().for_each(|t| collect_unions(t, out)),
        _ => {}
    }
}

/// The table of keys that are planned, not built.
pub fn planned_table() -> String {
    let mut out = String::from("| in | key | planned |\n|---|---|---|\n");
    for b in blocks() {
        for k in b.keys {
            if let Some(p) = k.later {
                out.push_str(&format!("| {} | `{}` | {p} |\n", b.what, k.name));
            }
        }
    }
    for u in unions() {
        for k in u.later {
            out.push_str(&format!("| {} | `{}` | {} |\n", u.what, k.name, k.later.unwrap_or("")));
        }
    }
    if out.lines().count() == 2 {
        return "None today: every key of the format is built.\n".to_string();
    }
    out
}

/// The generated text of region `id`, if there is such a block or union.
pub fn region(id: &str) -> Option<String> {
    if id == "planned" {
        return Some(planned_table());
    }
    if let Some(u) = unions().into_iter().find(|u| u.id == id) {
        return Some(union_table(u));
    }
    let in_union = |b: &Block| unions().iter().any(|u| u.variants.iter().any(|v| std::ptr::eq(*v, b)));
    blocks().into_iter().find(|b| b.id == id && !in_union(b)).map(|b| block_table(b, None))
}

/// Ids of every region the docs must have: blocks outside unions, unions,
/// and `planned`.
pub fn region_ids() -> Vec<&'static str> {
    let variants: Vec<&Block> = unions().iter().flat_map(|u| u.variants.iter().copied()).collect();
    let mut ids: Vec<&str> =
        blocks().into_iter().filter(|b| !variants.iter().any(|v| std::ptr::eq(*v, *b))).map(|b| b.id).collect();
    ids.extend(unions().iter().map(|u| u.id));
    ids.push("planned");
    ids
}

const OPEN: &str = "<!-- keys:";
const CLOSE: &str = "<!-- /keys -->";

/// `docs` with every generated region rewritten from the tables, and the
/// ids of the regions it lacks.
pub fn update_docs(docs: &str) -> (String, Vec<&'static str>) {
    let mut out = String::with_capacity(docs.len());
    let mut rest = docs;
    let mut seen: Vec<String> = Vec::new();
    while let Some(i) = rest.find(OPEN) {
        let Some(end_id) = rest[i..].find(" -->") else { break };
        let id = rest[i + OPEN.len()..i + end_id].to_string();
        let Some(close) = rest[i..].find(CLOSE) else { break };
        out.push_str(&rest[..i + end_id + 4]);
        out.push('\n');
        out.push_str(&region(&id).unwrap_or_else(|| format!("(no block or union '{id}')\n")));
        out.push_str(CLOSE);
        rest = &rest[i + close + CLOSE.len()..];
        seen.push(id);
    }
    out.push_str(rest);
    let missing = region_ids().into_iter().filter(|id| !seen.iter().any(|s| s == id)).collect();
    (out, missing)
}

/// Every table, with a heading each: `stormcast schema --markdown`.
pub fn all() -> String {
    let mut out = String::from("# stormcast topology keys\n");
    for id in region_ids() {
        out.push_str(&format!("\n## {id}\n\n"));
        out.push_str(&region(id).unwrap_or_default());
    }
    out
}
