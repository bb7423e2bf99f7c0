//! Typed reading of [`Node`]s: maps with known keys, whole numbers,
//! durations, ratios, rates, distributions, choices — each problem becomes a
//! [`Diagnostic`] pointing at the offending key or value, and reading goes
//! on so that every problem of a file is found in one pass.
//!
//! What the keys mean is `topology`'s and `compile`'s business; this module
//! only knows how to read a value and how to complain about it.

use super::dist::parse_dist;
use super::keys::{Block, Key as Key_, Tag, Union};
use super::units::{parse_cpu_milli, parse_duration, parse_memory, parse_rate, parse_ratio};
use super::yaml::{Key, Node, NodeKind};
use super::{Diagnostic, FileSource, diag::suggest};
use crate::engine::SimDuration;
use crate::model::{Dist, DistId};
use std::path::Path;

/// A 1-based position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub line: usize,
    pub col: usize,
}

impl Node {
    pub(super) fn loc(&self) -> Loc {
        Loc { line: self.line, col: self.col }
    }
}

impl Key {
    pub(super) fn loc(&self) -> Loc {
        Loc { line: self.line, col: self.col }
    }
}

/// A checked map: every key is known.
pub struct Fields<'n> {
    pub block: &'static Block,
    pub path: String,
    /// Where to point when a required key is missing.
    pub at: Loc,
    entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    /// The value of `key`, which must be a key of the block.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, v)| v)
    }
    pub fn key(&self, key: &str) -> Option<&'n Key> {
        self.entry(key).map(|(k, _)| k)
    }
    fn entry(&self, key: &str) -> Option<&'n (Key, Node)> {
        assert!(self.block.key(key).is_some(), "a reader asks for '{key}', which {} does not declare", self.block.id);
        self.entries.iter().find(|(k, _)| k.text == key)
    }
    /// Path of a key of this map.
    pub fn at(&self, key: &str) -> String {
        child(&self.path, key)
    }
}

/// `path.key`, or `key` at the top.
pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Longest message, hint or path a diagnostic keeps, in characters.
pub const MAX_MESSAGE_CHARS: usize = 400;

fn cut(s: String) -> String {
    match s.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// User text as shown inside a message: at most 60 characters.
pub fn shown(text: &str) -> String {
    let mut s: String = text.chars().take(60).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// Names for a hint: the first 20, then how many more.
pub fn listing<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let mut s = names.take(20).collect::<Vec<_>>().join(", ");
    if total > 20 {
        s.push_str(&format!(" and {} more", total - 20));
    }
    s
}

/// How a value is described in "found …".
pub fn found(n: &Node) -> String {
    match &n.kind {
        NodeKind::Map(_) => "a map".into(),
        NodeKind::Seq(_) => "a list".into(),
        NodeKind::Null => "nothing".into(),
        NodeKind::Scalar { text, .. } => {
            let short: String = text.chars().take(40).collect();
            let more = if short.len() < text.len() { "…" } else { "" };
            format!("'{short}{more}'")
        }
    }
}

/// " — did you mean 'x'?" or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(word, candidates).map_or(String::new(), |s| format!(" — did you mean '{s}'?"))
}

/// Reading state: the diagnostics so far and the distributions read.
pub struct Ctx<'a> {
    pub file: &'a str,
    pub files: &'a dyn FileSource,
    pub base_dir: &'a Path,
    pub diags: Vec<Diagnostic>,
    /// What the user should know though the file is fine (e.g. a value
    /// that was adjusted), shown on stderr.
    pub notes: Vec<Diagnostic>,
    pub dists: Vec<Dist>,
    /// Where each `per(ATTR, …)` distribution was written (checked once
    /// the workloads' attributes are known).
    pub pers: Vec<(DistId, Loc, String)>,
}

impl<'a> Ctx<'a> {
    /// Records a problem. Messages and hints quote the user's text, so
    /// each is cut at [`MAX_MESSAGE_CHARS`]: a hostile file cannot make a
    /// megabyte-long diagnostic.
    /// An error at `(line, column)`.
    pub fn error_at(&mut self, at: (usize, usize), path: &str, message: impl Into<String>, hint: Option<String>) {
        self.error(Loc { line: at.0, col: at.1 }, path, message, hint);
    }

    pub fn error(&mut self, at: Loc, path: &str, message: impl Into<String>, hint: Option<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: at.line,
            column: at.col,
            path: cut(path.to_string()),
            message: cut(message.into()),
            hint: hint.map(cut),
        });
    }

    /// Records a note: the file is fine, but the user should know this.
    pub fn note(&mut self, at: Loc, path: &str, message: impl Into<String>, hint: Option<String>) {
        self.error(at, path, message, hint);
        if let Some(d) = self.diags.pop() {
            self.notes.push(d);
        }
    }

    fn expected(&mut self, n: &Node, path: &str, what: &str, hint: Option<String>) {
        self.error(n.loc(), path, format!("expected {what}, found {}", found(n)), hint);
    }

    /// Checks that `n` is a map whose keys are all in `block`; planned
    /// keys are "not supported yet".
    pub fn fields<'n>(&mut self, n: &'n Node, path: &str, at: Loc, block: &'static Block) -> Option<Fields<'n>> {
        self.fields_planned(n, path, at, block, &[])
    }

    /// As [`fields`](Self::fields), with `planned` keys (a union's planned
    /// kinds, such as `publish` beside a step's kind) also "not supported
    /// yet".
    pub fn fields_planned<'n>(
        &mut self,
        n: &'n Node,
        path: &str,
        at: Loc,
        block: &'static Block,
        planned: &[Key_],
    ) -> Option<Fields<'n>> {
        let Some(entries) = n.as_map() else {
            let what = format!("{} (a map)", block.what);
            self.expected(n, path, &what, Some(block.hint.to_string()));
            return None;
        };
        for (k, _) in entries {
            match block.key(&k.text).or_else(|| planned.iter().find(|p| p.name == k.text)) {
                Some(Key_ { later: None, .. }) => {}
                Some(Key_ { later: Some(planned), .. }) => self.planned(k, path, planned),
                None => self.unknown_key(k, path, block),
            }
        }
        Some(Fields { block, path: path.to_string(), at, entries })
    }

    /// The variant of a union told apart by which key a map has (a step's
    /// `work:`, `call:` …), or a report of why there is none.
    pub fn variant_by_key(&mut self, n: &Node, path: &str, union: &Union) -> Option<usize> {
        let id = union.id;
        let Some(entries) = n.as_map() else {
            let msg = format!("expected {} (a map), found {}", union.what, found(n));
            self.error(n.loc(), path, msg, Some(union.hint.to_string()));
            return None;
        };
        let tags: Vec<(&Key, usize)> =
            entries.iter().filter_map(|(k, _)| union.variant(&k.text).map(|i| (k, i))).collect();
        match tags[..] {
            [(_, i)] => return Some(i),
            [(a, _), (b, _), ..] => {
                let msg = format!("{} has one kind, but this one has '{}' and '{}'", union.what, a.text, b.text);
                self.error(b.loc(), path, msg, Some("split it into two steps, each starting with '- '".into()));
                return None;
            }
            [] => {}
        }
        let words = union.words();
        if let Some((k, planned)) =
            entries.iter().find_map(|(k, _)| union.later.iter().find(|l| l.name == k.text).map(|l| (k, l.later)))
        {
            self.planned(k, path, planned.unwrap_or("later"));
            return None;
        }
        if let Some((k, _)) = entries.iter().find_map(|(k, _)| suggest(&k.text, words.iter().copied()).map(|s| (k, s)))
        {
            let msg = format!("unknown {id} kind '{}'{}", shown(&k.text), did_you_mean(&k.text, words.iter().copied()));
            self.error(k.loc(), &child(path, &k.text), msg, Some(format!("{id} kinds: {}", words.join(", "))));
        } else {
            let msg = format!("this {id} has no kind: {} is one of {}", union.what, words.join(", "));
            self.error(n.loc(), path, msg, Some(union.hint.to_string()));
        }
        None
    }

    /// The variant of a union told apart by a field (`kind: latency`), or
    /// a report of why there is none. `n` must be a map.
    pub fn variant_by_field(&mut self, n: &Node, path: &str, union: &Union) -> Option<usize> {
        let Tag::Field { name, default } = union.tag else {
            unreachable!("{} is told apart by a key, not a field", union.id)
        };
        let fpath = child(path, name);
        let Some(kn) = n.get(name) else {
            if default.is_none() {
                let msg = format!("missing '{name}' in {path}");
                self.error(n.loc(), path, msg, Some(format!("kinds: {}", union.words().join(", "))));
            }
            return default;
        };
        let word = self.text(kn, &fpath, &format!("a {name}"))?;
        if let Some(planned) = union.later.iter().find(|k| k.name == word).and_then(|k| k.later) {
            let msg = format!("'{word}' is not supported yet (planned: {planned})");
            self.error(kn.loc(), &fpath, msg, None);
            return None;
        }
        if let Some(i) = union.variant(word) {
            return Some(i);
        }
        let words = union.words();
        let what = format!("{} {name}", union.what.trim_start_matches("a ").trim_start_matches("an "));
        let msg = format!("unknown {what} '{}'{}", shown(word), did_you_mean(word, words.iter().copied()));
        self.error(kn.loc(), &fpath, msg, Some(format!("expected one of: {}", words.join(", "))));
        None
    }

    /// "'key' is not supported yet (planned: …)".
    pub fn planned(&mut self, k: &Key, path: &str, planned: &str) {
        let msg = format!("'{}' is not supported yet (planned: {planned})", shown(&k.text));
        self.error(k.loc(), &child(path, &k.text), msg, None);
    }

    fn unknown_key(&mut self, k: &Key, path: &str, block: &Block) {
        let place = if path.is_empty() { "at the top level".to_string() } else { format!("in {path}") };
        let candidates = block.all_keys().map(|k| k.name);
        let msg = format!("unknown key '{}' {place}{}", shown(&k.text), did_you_mean(&k.text, candidates));
        let hint = if k.text.contains(')') {
            "inside { }, a comma ends a value: quote a distribution that has commas, e.g. \"uniform(1ms, 3ms)\""
                .to_string()
        } else {
            format!("keys allowed in {}: {}", block.what, block.supported().join(", "))
        };
        self.error(k.loc(), &child(path, &k.text), msg, Some(hint));
    }

    /// The value of a required key, or an error at the map.
    /// Says nothing when an unknown key of the map is a misspelling of
    /// `key`: that error already says "did you mean".
    pub fn require<'n>(&mut self, f: &Fields<'n>, key: &str, hint: Option<&str>) -> Option<&'n Node> {
        let v = f.get(key);
        let misspelt = f.entries.iter().any(|(k, _)| {
            f.block.key(&k.text).is_none() && suggest(&k.text, f.block.all_keys().map(|k| k.name)) == Some(key)
        });
        if v.is_none() && !misspelt {
            let place = if f.path.is_empty() { "at the top level".into() } else { format!("in {}", f.path) };
            self.error(f.at, &f.path, format!("missing '{key}' {place}"), hint.map(str::to_string));
        }
        v
    }

    /// Reads a required key with `read`.
    pub fn req<T>(&mut self, f: &Fields, key: &str, read: fn(&mut Self, &Node, &str) -> Option<T>) -> Option<T> {
        let n = self.require(f, key, None)?;
        read(self, n, &f.at(key))
    }

    /// The text of a scalar.
    pub fn text<'n>(&mut self, n: &'n Node, path: &str, what: &str) -> Option<&'n str> {
        let t = n.as_str();
        if t.is_none() {
            self.expected(n, path, what, None);
        }
        t
    }

    /// A list.
    pub fn list<'n>(&mut self, n: &'n Node, path: &str, what: &str, hint: &str) -> Option<&'n [Node]> {
        let s = n.as_seq();
        if s.is_none() {
            self.expected(n, path, what, Some(hint.to_string()));
        }
        s
    }

    /// A whole number in `lo..=hi`.
    pub fn uint(&mut self, n: &Node, path: &str, lo: u64, hi: u64) -> Option<u64> {
        let t = self.text(n, path, "a whole number")?;
        let clean = t.trim().trim_start_matches('+').replace('_', "");
        let v = match clean.parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                let msg = match clean.parse::<f64>() {
                    Ok(f) if f < 0.0 => format!("must be at least {lo}, found {t}"),
                    // (u64::MAX as f64 rounds up to 2^64, above every u64.)
                    Ok(f) if f.is_infinite() || (f.fract() == 0.0 && (f > hi as f64 || f >= u64::MAX as f64)) => {
                        format!("must be at most {hi}, found {t}")
                    }
                    Ok(_) => format!("expected a whole number, found {t}"),
                    Err(_) => format!("expected a whole number, found {}", found(n)),
                };
                self.error(n.loc(), path, msg, None);
                return None;
            }
        };
        if v < lo || v > hi {
            let msg = if v < lo {
                format!("must be at least {lo}, found {v}")
            } else {
                format!("must be at most {hi}, found {v}")
            };
            self.error(n.loc(), path, msg, None);
            return None;
        }
        Some(v)
    }

    /// A `u32` in `lo..=hi`.
    pub fn u32(&mut self, n: &Node, path: &str, lo: u32, hi: u32) -> Option<u32> {
        self.uint(n, path, lo.into(), hi.into()).and_then(|v| u32::try_from(v).ok())
    }

    fn unit<T>(&mut self, n: &Node, path: &str, what: &str, parse: fn(&str) -> Result<T, String>) -> Option<T> {
        let t = self.text(n, path, what)?;
        match parse(t) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.error(n.loc(), path, msg, None);
                None
            }
        }
    }

    /// A duration with a unit (zero allowed).
    pub fn duration(&mut self, n: &Node, path: &str) -> Option<SimDuration> {
        self.unit(n, path, "a duration such as 250ms", parse_duration)
    }

    /// A duration of 0 or more in nanoseconds, fractions kept (`0.0005ms`
    /// is 500, `0.5ns` is 0.5).
    pub fn duration_ns(&mut self, n: &Node, path: &str) -> Option<f64> {
        self.unit(n, path, "a duration such as 0.05ms", super::units::parse_duration_ns)
    }

    /// A duration longer than zero.
    pub fn positive_duration(&mut self, n: &Node, path: &str) -> Option<SimDuration> {
        let d = self.duration(n, path)?;
        if d == SimDuration::ZERO {
            self.error(n.loc(), path, "must be longer than zero", None);
            return None;
        }
        Some(d)
    }

    /// A memory quantity in bytes (`512Mi`, `1Gi`, `0`).
    pub fn memory(&mut self, n: &Node, path: &str) -> Option<u64> {
        self.unit(n, path, "a memory amount such as 512Mi", parse_memory)
    }

    /// A CPU amount larger than zero (`500m`, `0.5`, `2`), in millicores.
    pub fn cpu_milli(&mut self, n: &Node, path: &str) -> Option<u64> {
        let m = self.unit(n, path, "a CPU amount such as 500m or 2", parse_cpu_milli)?;
        if m == 0 {
            self.error(
                n.loc(),
                path,
                "must be larger than zero",
                Some("write millicores (500m) or cores (0.5, 2)".into()),
            );
            return None;
        }
        Some(m)
    }

    /// Events per second, positive.
    pub fn rate(&mut self, n: &Node, path: &str) -> Option<f64> {
        self.unit(n, path, "a rate such as 200/s", parse_rate)
    }

    /// A fraction or percentage in [0, 1].
    pub fn probability(&mut self, n: &Node, path: &str) -> Option<f64> {
        let v = self.unit(n, path, "a ratio such as 10% or 0.1", parse_ratio)?;
        if !(0.0..=1.0).contains(&v) {
            let hint = Some("write a fraction between 0 and 1, such as 0.1, or a percentage such as 10%".to_string());
            self.error(n.loc(), path, format!("{} is outside [0, 1]", n.as_str().unwrap_or("")), hint);
            return None;
        }
        Some(v)
    }

    /// A non-negative number (a factor), written `3`, `0.5` or `50%`.
    pub fn factor(&mut self, n: &Node, path: &str) -> Option<f64> {
        let v = self.unit(n, path, "a number such as 2 or 0.5", parse_ratio)?;
        if v < 0.0 {
            self.error(n.loc(), path, format!("must not be negative, found {v}"), None);
            return None;
        }
        Some(v)
    }

    /// A number larger than zero, written `3`, `0.5` or `50%`.
    pub fn positive(&mut self, n: &Node, path: &str) -> Option<f64> {
        let v = self.factor(n, path)?;
        if v == 0.0 {
            self.error(n.loc(), path, "must be larger than zero", None);
            return None;
        }
        Some(v)
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, n: &Node, path: &str) -> Option<bool> {
        match n.as_str() {
            Some("true" | "True" | "TRUE") => Some(true),
            Some("false" | "False" | "FALSE") => Some(false),
            _ => {
                self.expected(n, path, "true or false", None);
                None
            }
        }
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(&mut self, n: &Node, path: &str, what: &str, options: &[(&'static str, T)]) -> Option<T> {
        let t = self.text(n, path, what)?;
        if let Some((_, v)) = options.iter().find(|(w, _)| *w == t) {
            return Some(*v);
        }
        let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
        let msg = format!("unknown {what} '{t}'{}", did_you_mean(t, words.iter().copied()));
        self.error(n.loc(), path, msg, Some(format!("expected one of: {}", words.join(", "))));
        None
    }

    /// A distribution string, stored in `dists`. A problem inside the string
    /// is reported at its own column.
    pub fn dist(&mut self, n: &Node, path: &str) -> Option<DistId> {
        self.dist_with(n, path, parse_dist)
    }

    /// A distribution of counts (`uniform(10, 50)`, `lognormal(median=1000,
    /// p99=6000)`), stored in `dists`: a sample's nanoseconds are the count.
    pub fn count_dist(&mut self, n: &Node, path: &str) -> Option<DistId> {
        self.dist_with(n, path, super::dist::parse_count_dist)
    }

    fn dist_with(
        &mut self,
        n: &Node,
        path: &str,
        parse: fn(&str, &dyn FileSource, &Path) -> Result<Dist, super::dist::DistError>,
    ) -> Option<DistId> {
        let (text, quoted) = match &n.kind {
            NodeKind::Scalar { text, quoted } => (text.as_str(), *quoted),
            _ => {
                let hint = Some("for example exp(5ms), uniform(1ms, 3ms) or a constant such as 5ms".into());
                self.expected(n, path, "a distribution", hint);
                return None;
            }
        };
        match parse(text, self.files, self.base_dir) {
            Ok(d) => {
                let per = matches!(d, Dist::Per(_));
                self.dists.push(d);
                let id = DistId((self.dists.len() - 1) as u32);
                if per {
                    self.pers.push((id, n.loc(), path.to_string()));
                }
                Some(id)
            }
            Err(e) => {
                let offset = text.get(..e.offset).map_or(0, |s| s.chars().count());
                let at = Loc { line: n.line, col: n.col + usize::from(quoted) + offset };
                let unbalanced = text.matches('(').count() > text.matches(')').count();
                let hint = if unbalanced && !quoted {
                    Some(
                        "inside { } or [ ], a comma ends a value: quote the distribution, e.g. \"uniform(1ms, 3ms)\""
                            .into(),
                    )
                } else {
                    e.hint
                };
                self.error(at, path, e.message, hint);
                None
            }
        }
    }
}
