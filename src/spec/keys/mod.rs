//! The key tables: every block of the topology format, each key with its
//! value type, default and a one-line doc. This is the one place a key is
//! defined and documented; from it come the decoder's unknown-key errors
//! and "did you mean"s (`decode::Ctx::fields`), the "not supported yet"
//! errors for planned keys, the key tables of `docs/format.md`
//! ([`markdown`]) and the JSON Schema of `stormcast schema` ([`json`]).
//!
//! What a value means and how it is checked beyond its type stays with the
//! readers (`topology`, `compile`, `policy`, …): a table says a key is a
//! duration, the reader knows it must be shorter than the run.
//!
//! The tables are `static`s so that blocks can refer to each other, steps
//! to steps included.

mod autoscale;
mod cluster;
mod experiment;
mod inference;
pub mod json;
pub mod markdown;
mod resilience;
mod tables;
mod trace;

pub use autoscale::*;
pub use cluster::*;
pub use experiment::*;
pub use inference::*;
pub use resilience::*;
pub use tables::*;
pub use trace::TRACE;

/// What a value is.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    /// Not described (keys of Kubernetes manifests, which are not ours).
    Any,
    /// Free text.
    Text,
    /// The name of something declared elsewhere in the file.
    Name(&'static str),
    /// A path, relative to the topology's folder.
    File,
    /// `service.endpoint`.
    Target,
    /// `250us`, `5ms`, `2s`, `1.5m`, `1h`, `1d`.
    Duration,
    /// A distribution string: `5ms`, `exp(5ms)`, `lognormal(median=2ms, p99=20ms)`.
    Dist,
    /// `200/s`, `12000/min`.
    Rate,
    /// A probability: `0.1` or `10%`, in [0, 1].
    Ratio,
    /// A non-negative number: `2`, `0.5` or `50%`.
    Number,
    /// A whole percentage such as `60%` (or `0.6`), above 100% allowed.
    Percent,
    /// A Kubernetes-style quantity: `50`, `2.5`, `500m`.
    Quantity,
    /// A memory quantity: `512Mi`, `1Gi`, `500M` (a unit is required; `0` alone allowed).
    Memory,
    /// A whole number in `min..=max`.
    Int(u64, u64),
    /// A whole number in `min..=max` that may be negative.
    Signed(i64, i64),
    Bool,
    /// One of these words.
    Words(&'static [&'static str]),
    /// A map with the keys of a block.
    Map(&'static Block),
    /// A map from names the user chooses to blocks.
    MapOf(&'static Block),
    /// A list of values.
    List(&'static Ty),
    /// A two-item list.
    Pair(&'static Ty, &'static Ty),
    /// Any one of these forms.
    Either(&'static [Ty]),
    /// One of several blocks, told apart by a key or by a `kind` field.
    Kinds(&'static Union),
    /// Accepted by the decoder only to refuse it with a specific message
    /// (`for` on a crash); left out of the docs and the JSON Schema.
    Refused,
}

/// What leaving a key out means: its default, as documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Absent {
    /// The key must be written.
    Required,
    /// Absent means nothing (no timeout, no retries …).
    Nothing,
    /// Absent means this value, written as the user would.
    Is(&'static str),
}

/// One key of a block.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub name: &'static str,
    pub ty: Ty,
    pub absent: Absent,
    /// One line: what the key does (its unit is in the type).
    pub doc: &'static str,
    /// `Some(planned)`: a key of the format not built yet, refused with
    /// "not supported yet (planned: …)" rather than ignored.
    pub later: Option<&'static str>,
}

/// A key with a default (`""`: none).
pub const fn key(name: &'static str, ty: Ty, default: &'static str, doc: &'static str) -> Key {
    let absent = if default.is_empty() { Absent::Nothing } else { Absent::Is(default) };
    Key { name, ty, absent, doc, later: None }
}

/// A key that must be written.
pub const fn required(name: &'static str, ty: Ty, doc: &'static str) -> Key {
    Key { name, ty, absent: Absent::Required, doc, later: None }
}

/// A key of the format that later work will support.
pub const fn planned(name: &'static str, planned: &'static str) -> Key {
    Key { name, ty: Ty::Any, absent: Absent::Nothing, doc: "", later: Some(planned) }
}

/// A map with known keys.
#[derive(Debug)]
pub struct Block {
    /// Identifier: the anchor in `docs/format.md` and the `$defs` name.
    pub id: &'static str,
    /// What the map is, for messages: "a service".
    pub what: &'static str,
    /// Advice when the value is not a map, or has a wrong key.
    pub hint: &'static str,
    pub keys: &'static [Key],
    /// Another block whose keys this one has too (a call has a policy's).
    pub also: Option<&'static Block>,
    /// Exactly one of these keys must be present (empty: no such rule).
    pub one_of: &'static [&'static str],
}

impl Block {
    /// Every key, this block's then [`also`](Self::also)'s.
    pub fn all_keys(&self) -> impl Iterator<Item = &'static Key> + use<> {
        let own: &'static [Key] = self.keys;
        let also: &'static [Key] = self.also.map_or(&[], |b| b.keys);
        own.iter().chain(also.iter())
    }

    /// The key named `name`, supported or planned.
    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.all_keys().find(|k| k.name == name)
    }

    /// Names of the supported keys, in table order.
    pub fn supported(&self) -> Vec<&'static str> {
        self.all_keys().filter(|k| k.later.is_none()).map(|k| k.name).collect()
    }
}

/// How the blocks of a [`Union`] are told apart.
#[derive(Clone, Copy, Debug)]
pub enum Tag {
    /// By which of the variants' first keys is present (steps: `work:`,
    /// `call:` …).
    Key,
    /// By the value of this field; `default` is the variant taken when it
    /// is absent (its index), if any.
    Field { name: &'static str, default: Option<usize> },
}

/// One of several blocks.
#[derive(Debug)]
pub struct Union {
    pub id: &'static str,
    pub what: &'static str,
    pub hint: &'static str,
    pub tag: Tag,
    /// With [`Tag::Key`] each variant's first key is its tag; with
    /// [`Tag::Field`] the words of `tags` (same order) name the variants.
    pub variants: &'static [&'static Block],
    /// With [`Tag::Field`]: the values of the field per variant.
    pub tags: &'static [&'static [&'static str]],
    /// Tag keys of variants that later work will support.
    pub later: &'static [Key],
}

impl Union {
    /// The tag word of variant `i`.
    pub fn tag_of(&self, i: usize) -> &'static str {
        match self.tag {
            Tag::Key => self.variants[i].keys[0].name,
            Tag::Field { .. } => self.tags[i][0],
        }
    }

    /// The variant a tag word names.
    pub fn variant(&self, word: &str) -> Option<usize> {
        match self.tag {
            Tag::Key => self.variants.iter().position(|b| b.keys[0].name == word),
            Tag::Field { .. } => self.tags.iter().position(|t| t.contains(&word)),
        }
    }

    /// Every tag word, in table order.
    pub fn words(&self) -> Vec<&'static str> {
        match self.tag {
            Tag::Key => self.variants.iter().map(|b| b.keys[0].name).collect(),
            Tag::Field { .. } => self.tags.iter().flat_map(|t| t.iter().copied()).collect(),
        }
    }
}

/// Every block reachable from the top of a topology, then from the top of
/// an experiment file, each once, in the order a reader meets them (depth
/// first).
pub fn blocks() -> Vec<&'static Block> {
    let mut out: Vec<&'static Block> = Vec::new();
    visit_block(&TOPOLOGY, &mut out);
    visit_block(&EXPERIMENT, &mut out);
    out
}

fn visit_block(b: &'static Block, out: &mut Vec<&'static Block>) {
    if out.iter().any(|x| std::ptr::eq(*x, b)) {
        return;
    }
    out.push(b);
    for k in b.all_keys() {
        visit_ty(&k.ty, out);
    }
    if let Some(a) = b.also {
        visit_block(a, out);
    }
}

fn visit_ty(t: &Ty, out: &mut Vec<&'static Block>) {
    match *t {
        Ty::Map(b) | Ty::MapOf(b) => visit_block(b, out),
        Ty::List(t) => visit_ty(t, out),
        Ty::Pair(a, b) => {
            visit_ty(a, out);
            visit_ty(b, out);
        }
        Ty::Either(ts) => ts.iter().for_each(|t| visit_ty(t, out)),
        Ty::Kinds(u) => u.variants.iter().for_each(|b| visit_block(b, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
