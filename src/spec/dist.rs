//! Parsing distribution strings (`exp(5ms)`, `percentiles(p50=3ms, …)`,
//! `mix(0.9: exp(2ms), 0.1: exp(50ms))`, …) into [`Dist`].
//!
//! A small hand-written recursive-descent parser in two steps: the syntax
//! step turns the text into calls and atoms that remember their byte
//! offsets; the build step binds each call's arguments, converts units,
//! reads `empirical` files and calls the checked constructors of [`Dist`].
//! Every problem becomes a [`DistError`] at the byte offset where it is,
//! with a hint (a "did you mean" for typos, the accepted forms otherwise).
//!
//! What it does not: know where the string sits in the YAML (the caller
//! turns the offset into a line and column), or touch the disk (files come
//! through a [`FileSource`]). CSV support is minimal: comma-separated
//! fields without quoted commas.

use super::FileSource;
use super::units::{parse_duration, parse_ratio};
use crate::engine::SimDuration;
use crate::model::Dist;
use std::fmt;
use std::path::Path;

/// A problem in a distribution string, at a byte offset into it.
#[derive(Clone, Debug, PartialEq)]
pub struct DistError {
    pub offset: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl DistError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        DistError { offset, message: message.into(), hint: None }
    }
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DistError {}

/// Parses `text`; files named by `empirical(file=…)` are resolved against
/// `base_dir` and read through `files`.
pub fn parse_dist(text: &str, files: &dyn FileSource, base_dir: &Path) -> Result<Dist, DistError> {
    parse_in(text, files, base_dir, Unit::Time)
}

/// Parses a distribution of counts (token counts): the same forms with
/// plain numbers instead of durations (`200`, `uniform(10, 50)`,
/// `lognormal(median=1000, p99=6000)`, an `empirical` file of counts); a
/// sample's nanoseconds are the count. `per()` is refused: a request
/// attribute as a count is `tokens(ATTR)`, read by the caller.
pub fn parse_count_dist(text: &str, files: &dyn FileSource, base_dir: &Path) -> Result<Dist, DistError> {
    parse_in(text, files, base_dir, Unit::Count)
}

fn parse_in(text: &str, files: &dyn FileSource, base_dir: &Path, unit: Unit) -> Result<Dist, DistError> {
    let mut lx = Lexer { text, pos: 0, depth: 0 };
    lx.skip_ws();
    if lx.pos == text.len() {
        return Err(DistError::new(0, "expected a distribution, found nothing")
            .hint("write a duration such as 5ms or a distribution such as exp(5ms)"));
    }
    let expr = lx.value()?;
    lx.skip_ws();
    if let Some(c) = text[lx.pos..].chars().next() {
        let e = match c {
            ')' => DistError::new(lx.pos, "unmatched ')'"),
            ',' => DistError::new(lx.pos, "unexpected ',': a distribution is one value")
                .hint("to combine distributions use mix(0.9: exp(2ms), 0.1: exp(50ms))"),
            _ => DistError::new(lx.pos, format!("unexpected '{}' after the distribution", text[lx.pos..].trim_end())),
        };
        return Err(e);
    }
    Builder { files, base_dir, unit }.build(&expr)
}

// ---------------------------------------------------------------- syntax

/// Nesting deeper than this is refused (it bounds the recursion).
const MAX_DEPTH: usize = 16;

#[derive(Debug)]
enum Expr<'a> {
    /// A duration, number or file name; `at` is where it starts.
    Atom {
        text: &'a str,
        at: usize,
        quoted: bool,
    },
    Call(Call<'a>),
}

#[derive(Debug)]
struct Call<'a> {
    name: &'a str,
    at: usize,
    args: Vec<Arg<'a>>,
    /// Offset of the closing parenthesis.
    close: usize,
}

#[derive(Debug)]
struct Arg<'a> {
    /// `name=` / `weight:` and where it starts.
    key: Option<(&'a str, usize)>,
    value: Expr<'a>,
}

impl Expr<'_> {
    fn at(&self) -> usize {
        match self {
            Expr::Atom { at, .. } => *at,
            Expr::Call(c) => c.at,
        }
    }
}

impl Arg<'_> {
    /// Where the argument starts: its key if it has one.
    fn at(&self) -> usize {
        self.key.map_or(self.value.at(), |(_, at)| at)
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// A call `name(args)`, a quoted atom, or an atom running up to the
    /// next `,`, `(` or `)`.
    fn value(&mut self) -> Result<Expr<'a>, DistError> {
        self.skip_ws();
        let start = self.pos;
        let bytes = self.text.as_bytes();
        if let Some(q @ (b'"' | b'\'')) = self.peek() {
            let Some(len) = bytes[start + 1..].iter().position(|&b| b == q) else {
                return Err(
                    DistError::new(start, "unclosed quote").hint(format!("end the quoted text with {}", q as char))
                );
            };
            self.pos = start + 1 + len + 1;
            return Ok(Expr::Atom { text: &self.text[start + 1..start + 1 + len], at: start + 1, quoted: true });
        }
        let end =
            bytes[start..].iter().position(|b| matches!(b, b',' | b'(' | b')')).map_or(bytes.len(), |n| start + n);
        let raw = self.text[start..end].trim_end();
        self.pos = end;
        if self.peek() != Some(b'(') {
            return Ok(Expr::Atom { text: raw, at: start, quoted: false });
        }
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let found = if raw.is_empty() { "nothing".to_string() } else { format!("'{raw}'") };
            return Err(DistError::new(
                if raw.is_empty() { end } else { start },
                format!("expected a distribution name before '(', found {found}"),
            )
            .hint(FORMS_HINT));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DistError::new(start, format!("distributions nested more than {MAX_DEPTH} deep")));
        }
        self.pos = end + 1;
        let (args, close) = self.args(raw)?;
        self.depth -= 1;
        Ok(Expr::Call(Call { name: raw, at: start, args, close }))
    }

    /// The arguments after `name(` up to and including `)`; returns the
    /// offset of `)`. Trailing commas are accepted.
    fn args(&mut self, name: &str) -> Result<(Vec<Arg<'a>>, usize), DistError> {
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok((args, self.pos - 1));
                }
                None => {
                    return Err(DistError::new(self.text.len(), format!("missing ')' to close {name}("))
                        .hint("every '(' needs a matching ')'"));
                }
                _ => {}
            }
            args.push(self.arg()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') | None => {}
                Some(_) => {
                    let c = self.text[self.pos..].chars().next().unwrap_or(' ');
                    return Err(DistError::new(self.pos, format!("expected ',' or ')' here, found '{c}'")));
                }
            }
        }
    }

    /// `[key (=|:)] value`.
    fn arg(&mut self) -> Result<Arg<'a>, DistError> {
        self.skip_ws();
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let kend = bytes[start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b",()=:\"'".contains(&b))
            .map_or(bytes.len(), |n| start + n);
        let mut after = kend;
        while bytes.get(after).is_some_and(|b| b.is_ascii_whitespace()) {
            after += 1;
        }
        let mut key = None;
        if kend > start && matches!(bytes.get(after), Some(b'=' | b':')) {
            key = Some((&self.text[start..kend], start));
            self.pos = after + 1;
        }
        let value = self.value()?;
        // A quoted empty string is caught where a value is converted.
        if let Expr::Atom { text: "", at, quoted: false } = value {
            let msg = match key {
                Some((k, _)) => format!("missing value after '{k}='"),
                None => "missing argument".to_string(),
            };
            return Err(DistError::new(at, msg));
        }
        Ok(Arg { key, value })
    }
}

// ---------------------------------------------------------------- build

/// Every distribution function and an example of it.
const FUNCTIONS: [(&str, &str); 12] = [
    ("exp", "exp(5ms)"),
    ("uniform", "uniform(1ms, 3ms)"),
    ("normal", "normal(10ms, 2ms)"),
    ("lognormal", "lognormal(median=2ms, p99=20ms) or lognormal(mean=4ms, sd=3ms)"),
    ("gamma", "gamma(shape=2, mean=5ms)"),
    ("erlang", "erlang(k=3, mean=6ms)"),
    ("weibull", "weibull(shape=1.5, scale=4ms)"),
    ("pareto", "pareto(min=1ms, alpha=1.5, max=10s)"),
    ("percentiles", "percentiles(p50=3ms, p90=8ms, p99=40ms, max=200ms)"),
    ("empirical", "empirical(file=latencies.csv)"),
    ("mix", "mix(0.9: exp(2ms), 0.1: exp(50ms))"),
    ("per", "per(ContextTokens, 20us)"),
];

/// Names people write for a distribution, and what it is called here.
const ALIASES: [(&str, &str); 11] = [
    ("exponential", "exp"),
    ("poisson", "exp"),
    ("gaussian", "normal"),
    ("log_normal", "lognormal"),
    ("lognorm", "lognormal"),
    ("percentile", "percentiles"),
    ("quantiles", "percentiles"),
    ("mixture", "mix"),
    ("trace", "empirical"),
    ("file", "empirical"),
    ("erlangk", "erlang"),
];

/// Names people write for a constant.
const CONSTANT_WORDS: [&str; 5] = ["const", "constant", "fixed", "det", "deterministic"];

const FORMS_HINT: &str = "distributions: 5ms (constant), exp, uniform, normal, lognormal, \
                          gamma, erlang, weibull, pareto, percentiles, empirical, mix";

const LOGNORMAL_FORMS: &str = "lognormal(median=2ms, p99=20ms) (p75, p90, p95 or p99.9 \
                               instead of p99) or lognormal(mean=4ms, sd=3ms)";

fn example(name: &str) -> &'static str {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map_or("", |(_, e)| e)
}

/// Optimal-string-alignment edit distance (insertions, deletions,
/// substitutions and adjacent transpositions), over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows suffice.
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word` if it is close enough to be a typo
/// (at most one edit per three characters, at least one), else the first
/// candidate that `word` (three characters or more) begins; case is ignored.
fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let w = word.to_lowercase();
    let limit = (w.chars().count() / 3).max(1);
    let cands: Vec<&str> = candidates.into_iter().collect();
    cands
        .iter()
        .map(|c| (edit_distance(&w, c), *c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
        .or_else(|| {
            let prefix = w.chars().count() >= 3;
            cands.into_iter().find(|c| prefix && c.starts_with(&w))
        })
}

/// Places a constructor's complaint: `$offs[arg]`, or `$whole` for the
/// call as a whole. (A macro because the model's `ParamError` is not
/// re-exported, so a function could not name it.)
macro_rules! placed {
    ($result:expr, $offs:expr, $whole:expr) => {
        $result.map_err(|e| DistError {
            offset: e.arg.and_then(|i| $offs.get(i).copied()).unwrap_or($whole),
            message: e.message,
            hint: e.hint,
        })
    };
}

/// How a function takes its arguments.
struct Sig {
    name: &'static str,
    params: &'static [&'static str],
    /// How many leading params may be given without their name.
    positional: usize,
}

struct Builder<'a> {
    files: &'a dyn FileSource,
    base_dir: &'a Path,
    unit: Unit,
}

/// What the numbers of a distribution are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// Durations with a unit (`5ms`).
    Time,
    /// Counts without a unit (`200`), held as nanoseconds.
    Count,
}

impl Builder<'_> {
    fn build(&self, e: &Expr) -> Result<Dist, DistError> {
        match e {
            Expr::Atom { text, at, .. } => constant(text, *at, self.unit),
            Expr::Call(c) => self.call(c),
        }
    }

    fn call(&self, c: &Call) -> Result<Dist, DistError> {
        let u = self.unit;
        match c.name {
            "exp" => {
                let [mean] = bind(c, &Sig::new("exp", &["mean"], 1))?;
                Ok(Dist::Exp(duration(need(c, mean, "mean")?, u)?))
            }
            "uniform" => {
                let [lo, hi] = bind(c, &Sig::new("uniform", &["min", "max"], 2))?;
                let (lo, hi) = (need(c, lo, "min")?, need(c, hi, "max")?);
                let offs = [lo.value.at(), hi.value.at()];
                placed!(Dist::uniform(duration(lo, u)?, duration(hi, u)?), offs, c.close)
            }
            "normal" => {
                let [mean, sd] = bind(c, &Sig::new("normal", &["mean", "sd"], 2))?;
                let (mean, sd) = (need(c, mean, "mean")?, need(c, sd, "sd")?);
                let offs = [mean.value.at(), sd.value.at()];
                placed!(Dist::normal(duration(mean, u)?, duration(sd, u)?), offs, c.close)
            }
            "lognormal" => lognormal(c, u),
            "gamma" | "erlang" | "weibull" => shaped(c, u),
            "pareto" => {
                let sig = Sig::new("pareto", &["min", "alpha", "max"], 0);
                let [min, alpha, max] = bind(c, &sig)?;
                let (min, alpha) = (need(c, min, "min")?, need(c, alpha, "alpha")?);
                let Some(max) = max else {
                    return Err(DistError::new(c.close, "pareto needs max=").hint(
                        "an unbounded Pareto draws absurdly long durations now and then; \
                               e.g. pareto(min=1ms, alpha=1.5, max=10s)",
                    ));
                };
                let offs = [min.value.at(), alpha.value.at(), max.value.at()];
                let d = Dist::pareto(duration(min, u)?, number(alpha, "pareto's alpha")?, duration(max, u)?);
                placed!(d, offs, c.close)
            }
            "percentiles" => percentiles(c, u),
            "empirical" => self.empirical(c),
            "mix" => self.mix(c),
            "per" if u == Unit::Count => Err(DistError::new(c.at, "per() sizes durations; a count is tokens(ATTR)")
                .hint("write tokens(ContextTokens) for a request attribute as a token count")),
            "per" => {
                let [attr, unit] = bind(c, &Sig::new("per", &["attribute", "unit"], 2))?;
                let name = text_value(need(c, attr, "attribute")?, "attribute")?;
                let unit = duration(need(c, unit, "unit")?, u)?;
                Ok(Dist::Per(crate::model::PerAttr { name: name.to_string(), slot: u16::MAX, unit }))
            }
            other => Err(unknown_function(other, c.at)),
        }
    }

    fn empirical(&self, c: &Call) -> Result<Dist, DistError> {
        let [file, column] = bind(c, &Sig::new("empirical", &["file", "column"], 1))?;
        let file_arg = need(c, file, "file")?;
        let file = text_value(file_arg, "file")?;
        let column = column.map(|a| text_value(a, "column")).transpose()?;
        let at = file_arg.value.at();
        let path = super::resolve(self.base_dir, file);
        let content = self.files.read_to_string(&path).map_err(|e| {
            DistError::new(at, format!("cannot read empirical file '{file}': {e}"))
                .hint(format!("looked for {}; relative paths start from the topology's folder", path.display()))
        })?;
        let values = read_values(&content, column, self.unit).map_err(|(msg, hint)| DistError {
            offset: at,
            message: format!("empirical file '{file}', {msg}"),
            hint,
        })?;
        let offs: [usize; 0] = [];
        placed!(Dist::empirical(file.to_string(), column.map(str::to_string), values), offs, at)
    }

    fn mix(&self, c: &Call) -> Result<Dist, DistError> {
        let mut parts = Vec::with_capacity(c.args.len());
        let mut offs = Vec::with_capacity(c.args.len());
        for a in &c.args {
            let Some((w, at)) = a.key else {
                return Err(
                    DistError::new(a.at(), "each part of mix needs a weight").hint(format!("e.g. {}", example("mix")))
                );
            };
            let weight = parse_ratio(w).map_err(|_| {
                DistError::new(at, format!("mix weight '{w}' is not a number")).hint(format!("e.g. {}", example("mix")))
            })?;
            let part = self.build(&a.value)?;
            if matches!(part, Dist::Per(_)) {
                return Err(DistError::new(a.value.at(), "per() is a whole distribution: it cannot be a part of mix"));
            }
            parts.push((weight, part));
            offs.push(at);
        }
        placed!(Dist::mix(parts), offs, c.close)
    }
}

impl Sig {
    const fn new(name: &'static str, params: &'static [&'static str], positional: usize) -> Self {
        Sig { name, params, positional }
    }
}

/// Matches `c`'s arguments to `sig`'s params, by position then by name.
fn bind<'c, 'a, const N: usize>(c: &'c Call<'a>, sig: &Sig) -> Result<[Option<&'c Arg<'a>>; N], DistError> {
    debug_assert_eq!(sig.params.len(), N, "{}: signature length", sig.name);
    let mut slots: [Option<&Arg>; N] = [None; N];
    let mut next = 0;
    let mut named = false;
    let ex = example(sig.name);
    for a in &c.args {
        let Some((k, kat)) = a.key else {
            let msg = if sig.positional == 0 {
                format!("{} takes named arguments", sig.name)
            } else if named {
                "an unnamed argument cannot follow a named one".to_string()
            } else if next >= sig.positional {
                format!(
                    "{} takes {} argument{} ({}); this one is extra",
                    sig.name,
                    sig.positional,
                    if sig.positional == 1 { "" } else { "s" },
                    sig.params[..sig.positional].join(", ")
                )
            } else {
                slots[next] = Some(a);
                next += 1;
                continue;
            };
            return Err(DistError::new(a.at(), msg).hint(format!("e.g. {ex}")));
        };
        named = true;
        let Some(i) = sig.params.iter().position(|p| *p == k) else {
            let takes = format!("{} takes {}: {ex}", sig.name, sig.params.join(", "));
            let hint = match suggest(k, sig.params.iter().copied()) {
                Some(s) => format!("did you mean '{s}'? {takes}"),
                None => takes,
            };
            return Err(DistError::new(kat, format!("{} has no argument '{k}'", sig.name)).hint(hint));
        };
        if slots[i].is_some() {
            return Err(DistError::new(kat, format!("'{k}' is given twice")));
        }
        slots[i] = Some(a);
    }
    Ok(slots)
}

fn need<'c, 'a>(c: &Call, slot: Option<&'c Arg<'a>>, param: &str) -> Result<&'c Arg<'a>, DistError> {
    slot.ok_or_else(|| {
        DistError::new(c.close, format!("{} needs {param}=", c.name)).hint(format!("e.g. {}", example(c.name)))
    })
}

fn unknown_function(name: &str, at: usize) -> DistError {
    let e = DistError::new(at, format!("unknown distribution '{name}'"));
    let lower = name.to_lowercase();
    if CONSTANT_WORDS.contains(&lower.as_str()) {
        return e.hint("a constant is written as just the duration, e.g. 5ms");
    }
    let alias = ALIASES.iter().find(|(a, _)| *a == lower).map(|(_, f)| *f);
    match alias.or_else(|| suggest(name, FUNCTIONS.iter().map(|(n, _)| *n))) {
        Some(f) => e.hint(format!("did you mean '{f}'? e.g. {}", example(f))),
        None => e.hint(FORMS_HINT),
    }
}

/// A bare atom as a whole distribution: a constant duration (or count).
fn constant(text: &str, at: usize, u: Unit) -> Result<Dist, DistError> {
    if text.starts_with(|c: char| c.is_alphabetic()) {
        if FUNCTIONS.iter().any(|(n, _)| *n == text) {
            return Err(DistError::new(at, format!("{text} needs its arguments in parentheses"))
                .hint(format!("e.g. {}", example(text))));
        }
        let e = DistError::new(at, format!("expected a duration or a distribution, found '{text}'"));
        return Err(match suggest(text, FUNCTIONS.iter().map(|(n, _)| *n)) {
            Some(f) => e.hint(format!("did you mean '{f}'? e.g. {}", example(f))),
            None => e.hint(FORMS_HINT),
        });
    }
    value(text, u).map(Dist::Const).map_err(|m| DistError::new(at, m))
}

fn duration(a: &Arg, u: Unit) -> Result<SimDuration, DistError> {
    match &a.value {
        Expr::Atom { text, at, .. } => value(text, u).map_err(|m| DistError::new(*at, m)),
        Expr::Call(c) => Err(DistError::new(c.at, "expected a duration here, found a distribution")
            .hint("only mix(…) takes distributions as parts")),
    }
}

/// A duration, or in a distribution of counts a count (its nanoseconds).
fn value(text: &str, u: Unit) -> Result<SimDuration, String> {
    match u {
        Unit::Time => parse_duration(text),
        Unit::Count => parse_count(text),
    }
}

/// A count of a distribution of counts: a number of 0 or more without a
/// unit, as a `SimDuration` of that many nanoseconds.
pub fn parse_count(text: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    let cleaned: String = t.chars().filter(|&c| c != '_').collect();
    match cleaned.parse::<f64>() {
        Ok(v) if (0.0..1e15).contains(&v) => Ok(SimDuration(v.round() as u64)),
        Ok(v) if v < 0.0 => Err(format!("a count cannot be negative, found '{t}'")),
        Ok(_) => Err(format!("count '{t}' is too large")),
        Err(_) if parse_duration(t).is_ok() => {
            Err(format!("'{t}' is a duration: a count is a plain number without a unit"))
        }
        Err(_) => Err(format!("expected a count (a plain number), found '{t}'")),
    }
}

/// A plain number (shape parameters, erlang k).
fn number(a: &Arg, what: &str) -> Result<f64, DistError> {
    let Expr::Atom { text, at, .. } = &a.value else {
        return Err(DistError::new(a.value.at(), format!("{what} must be a number")));
    };
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(v) = cleaned.parse::<f64>().ok().filter(|v| v.is_finite()) {
        return Ok(v);
    }
    let e = DistError::new(*at, format!("{what} must be a number, found '{text}'"));
    Err(if parse_duration(text).is_ok() { e.hint(format!("{what} is a plain number without a unit")) } else { e })
}

fn text_value<'a>(a: &Arg<'a>, what: &str) -> Result<&'a str, DistError> {
    match a.value {
        Expr::Atom { text: "", at, .. } => Err(DistError::new(at, format!("{what} is empty"))),
        Expr::Atom { text, .. } => Ok(text),
        Expr::Call(ref c) => Err(DistError::new(c.at, format!("expected a {what} name, found a distribution"))),
    }
}

/// Percentile keys: `min`/`p0`, `median`, `p50`, `p99.9`/`p999`, `max`/`p100`.
fn percent_of_key(key: &str) -> Option<f64> {
    match key {
        "min" => return Some(0.0),
        "median" => return Some(50.0),
        "max" => return Some(100.0),
        _ => {}
    }
    let digits = key.strip_prefix('p')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v: f64 = digits.parse().ok()?;
    if v <= 100.0 {
        return Some(v);
    }
    // p999 is p99.9, p9999 is p99.99.
    match digits.strip_prefix("99") {
        Some(rest) if !rest.contains('.') => format!("99.{rest}").parse().ok(),
        _ => None,
    }
}

fn lognormal(c: &Call, u: Unit) -> Result<Dist, DistError> {
    const PCTS: [(&str, f64); 6] =
        [("p75", 75.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9), ("p999", 99.9)];
    let sig = Sig::new("lognormal", &["median", "p50", "mean", "sd", "p75", "p90", "p95", "p99", "p99.9", "p999"], 0);
    let [median, p50, mean, sd, rest @ ..] = bind::<10>(c, &sig)?;
    let median = median.or(p50);
    let pcts: Vec<(&Arg, f64)> = rest.iter().zip(PCTS).filter_map(|(a, (_, p))| a.map(|a| (a, p))).collect();
    let forms = || format!("write {LOGNORMAL_FORMS}");
    let at = |a: &Arg| a.at();
    match (median, mean) {
        (Some(_), Some(m)) => Err(DistError::new(at(m), "lognormal takes median= or mean=, not both").hint(forms())),
        (Some(med), None) => {
            if let Some(s) = sd {
                return Err(DistError::new(at(s), "sd= goes with mean=, not median=").hint(forms()));
            }
            let Some(&(p, pct)) = pcts.first() else {
                return Err(DistError::new(c.close, "lognormal(median=…) also needs an upper percentile such as p99=")
                    .hint(forms()));
            };
            if let Some(&(extra, _)) = pcts.get(1) {
                return Err(DistError::new(
                    at(extra),
                    "lognormal is fitted to the median and one percentile; give only one",
                )
                .hint(forms()));
            }
            let offs = [med.value.at(), p.value.at()];
            placed!(Dist::lognormal_quantile(duration(med, u)?, pct, duration(p, u)?), offs, c.close)
        }
        (None, Some(m)) => {
            if let Some(&(p, _)) = pcts.first() {
                return Err(DistError::new(at(p), "percentiles go with median=, not mean=").hint(forms()));
            }
            let Some(s) = sd else {
                return Err(DistError::new(c.close, "lognormal(mean=…) also needs sd=").hint(forms()));
            };
            let offs = [m.value.at(), s.value.at()];
            placed!(Dist::lognormal_mean_sd(duration(m, u)?, duration(s, u)?), offs, c.close)
        }
        (None, None) => {
            Err(DistError::new(c.close, "lognormal needs median= with a percentile, or mean= with sd=").hint(forms()))
        }
    }
}

/// gamma, erlang and weibull: a plain-number shape and a duration.
fn shaped(c: &Call, u: Unit) -> Result<Dist, DistError> {
    let (name, params): (&'static str, &'static [&'static str]) = match c.name {
        "gamma" => ("gamma", &["shape", "mean"]),
        "erlang" => ("erlang", &["k", "mean"]),
        _ => ("weibull", &["shape", "scale"]),
    };
    let [shape, size] = bind(c, &Sig::new(name, params, 0))?;
    let (shape, size) = (need(c, shape, params[0])?, need(c, size, params[1])?);
    let offs = [shape.value.at(), size.value.at()];
    let s = number(shape, &format!("{name}'s {}", params[0]))?;
    let d = duration(size, u)?;
    let made = match name {
        "gamma" => Dist::gamma(s, d),
        "erlang" => Dist::erlang(s, d),
        _ => Dist::weibull(s, d),
    };
    placed!(made, offs, c.close)
}

fn percentiles(c: &Call, u: Unit) -> Result<Dist, DistError> {
    const KEYS: [&str; 9] = ["min", "p25", "p50", "p75", "p90", "p95", "p99", "p99.9", "max"];
    let mut points = Vec::with_capacity(c.args.len());
    let mut offs = Vec::with_capacity(c.args.len());
    for a in &c.args {
        let Some((k, at)) = a.key else {
            return Err(DistError::new(a.at(), "percentiles takes named points such as p50=3ms")
                .hint(format!("e.g. {}", example("percentiles"))));
        };
        let Some(pct) = percent_of_key(k) else {
            let known = "keys are min (or p0), p50, p90, p99, p99.9 (or p999), max (or p100) \
                         and any other pN";
            let hint = match suggest(k, KEYS) {
                Some(s) => format!("did you mean '{s}'? {known}"),
                None => known.to_string(),
            };
            return Err(DistError::new(at, format!("unknown percentile '{k}'")).hint(hint));
        };
        points.push((pct, duration(a, u)?));
        offs.push(at);
    }
    placed!(Dist::percentiles(points), offs, c.close)
}

/// The values of an empirical file: one per line, or the named CSV
/// column. Errors are `(message, hint)` naming the line.
fn read_values(content: &str, column: Option<&str>, u: Unit) -> Result<Vec<SimDuration>, (String, Option<String>)> {
    let mut lines = content
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some(column) = column else {
        return lines.map(|(n, l)| one_value(n, l, None, None, u)).collect();
    };
    let Some((hn, header)) = lines.next() else {
        return Err(("has no header line".into(), None));
    };
    let names: Vec<&str> = header.split(',').map(unquote).collect();
    let Some(ix) = names.iter().position(|n| *n == column) else {
        let columns = format!("its columns are {}", names.join(", "));
        let hint = match suggest(column, names.iter().copied()) {
            Some(s) => format!("did you mean '{s}'? {columns}"),
            None => columns,
        };
        return Err((format!("line {hn}: the header has no column '{column}'"), Some(hint)));
    };
    let scale = [("_ns", 1.0), ("_us", 1e3), ("_ms", 1e6), ("_s", 1e9)]
        .iter()
        .find(|(s, _)| column.ends_with(s))
        .map(|&(_, f)| f);
    lines
        .map(|(n, l)| {
            let field = l
                .split(',')
                .nth(ix)
                .map(unquote)
                .ok_or_else(|| (format!("line {n}: no field {} for column '{column}'", ix + 1), None))?;
            one_value(n, field, Some(column), scale, u)
        })
        .collect()
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(s)
}

/// One observation: a duration with a unit, or a bare number in the
/// column's unit (seconds in a one-value-per-line file).
fn one_value(
    n: usize,
    v: &str,
    column: Option<&str>,
    scale: Option<f64>,
    u: Unit,
) -> Result<SimDuration, (String, Option<String>)> {
    if u == Unit::Count {
        return parse_count(v).map_err(|m| (format!("line {n}: {m}"), None));
    }
    if let Ok(x) = v.parse::<f64>() {
        let ns = match (column, scale) {
            (None, _) => x * 1e9,
            (Some(_), Some(s)) => x * s,
            (Some(c), None) => {
                return Err((
                    format!("line {n}: '{v}' has no unit and column '{c}' does not name one"),
                    Some(format!("end the column name in _ms, _us or _s, or write {v}ms in the file")),
                ));
            }
        };
        if !(ns.is_finite() && ns >= 0.0) {
            return Err((format!("line {n}: '{v}' is not a duration of 0 or more"), None));
        }
        return Ok(SimDuration(ns.round() as u64));
    }
    parse_duration(v).map_err(|m| {
        let hint = (column.is_none() && v.contains(','))
            .then(|| "for a CSV file name the column: empirical(file=x.csv, column=latency_ms)".to_string());
        (format!("line {n}: {m}"), hint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStream;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// Files served from memory.
    struct MemFiles(BTreeMap<PathBuf, String>);

    impl FileSource for MemFiles {
        fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
            self.0.get(path).cloned().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
        }
    }

    fn files() -> MemFiles {
        let mut m = BTreeMap::new();
        let mut put = |p: &str, s: &str| m.insert(PathBuf::from(p), s.to_string());
        put("/topo/lat.txt", "# observed\n12ms\n\n0.003\n  250us \n");
        put("/topo/data/lat.csv", "id,latency_ms,note\n1,2.5,a\n# skipped\n2,4,b\n3,1.5,c\n");
        put("/topo/units.csv", "id,latency\n1,3ms\n2,5ms\n");
        put("/topo/bare.csv", "id,latency\n1,3\n");
        put("/topo/empty.txt", "# nothing here\n\n");
        put("/topo/bad.txt", "1ms\n2ms\nfast\n");
        put("/topo/csvish.txt", "a,b\n1,2\n");
        put("/abs/x.txt", "7ms\n");
        MemFiles(m)
    }

    fn parse(s: &str) -> Result<Dist, DistError> {
        parse_dist(s, &files(), Path::new("/topo"))
    }

    fn ok(s: &str) -> Dist {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    /// The error for `s`; checks that the message contains `msg` and that
    /// the offset points at `at` (a substring of `s`, its last occurrence;
    /// "" means the end of `s`).
    fn err(s: &str, msg: &str, at: &str) -> DistError {
        let want = if at.is_empty() { s.len() } else { s.rfind(at).expect(at) };
        err_at(s, msg, want)
    }

    /// As [`err`] with the offset given as a number.
    fn err_at(s: &str, msg: &str, want: usize) -> DistError {
        let e = parse(s).expect_err(s);
        assert!(e.message.contains(msg), "{s}: message {:?} lacks {msg:?}", e.message);
        assert_eq!(e.offset, want, "{s}: offset of {e:?}");
        e
    }

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    #[test]
    fn every_form_parses_to_its_dist() {
        let us = SimDuration::from_micros;
        let cases: Vec<(&str, Dist)> = vec![
            ("5ms", Dist::Const(ms(5))),
            ("  250us ", Dist::Const(us(250))),
            ("exp(5ms)", Dist::Exp(ms(5))),
            ("exp(mean = 5ms)", Dist::Exp(ms(5))),
            ("uniform(1ms, 3ms)", Dist::uniform(ms(1), ms(3)).unwrap()),
            ("uniform(max=3ms, min=1ms)", Dist::uniform(ms(1), ms(3)).unwrap()),
            ("normal(10ms, 2ms)", Dist::normal(ms(10), ms(2)).unwrap()),
            ("lognormal(median=2ms, p99=20ms)", Dist::lognormal_quantile(ms(2), 99.0, ms(20)).unwrap()),
            ("lognormal(p999=20ms, median=2ms)", Dist::lognormal_quantile(ms(2), 99.9, ms(20)).unwrap()),
            ("lognormal(mean=4ms, sd=3ms)", Dist::lognormal_mean_sd(ms(4), ms(3)).unwrap()),
            ("gamma(shape=2, mean=5ms)", Dist::gamma(2.0, ms(5)).unwrap()),
            ("erlang(k=3, mean=6ms)", Dist::erlang(3.0, ms(6)).unwrap()),
            ("weibull(shape=1.5, scale=4ms)", Dist::weibull(1.5, ms(4)).unwrap()),
            ("pareto(min=1ms, alpha=1.5, max=10s)", Dist::pareto(ms(1), 1.5, ms(10_000)).unwrap()),
            (
                "percentiles(p50=3ms, p90=8ms, p99=40ms, max=200ms)",
                Dist::percentiles(vec![(50.0, ms(3)), (90.0, ms(8)), (99.0, ms(40)), (100.0, ms(200))]).unwrap(),
            ),
            (
                "percentiles(p0=1ms, median=2ms, p999=5ms, p100=9ms,)",
                Dist::percentiles(vec![(0.0, ms(1)), (50.0, ms(2)), (99.9, ms(5)), (100.0, ms(9))]).unwrap(),
            ),
            ("empirical(file=lat.txt)", Dist::empirical("lat.txt".into(), None, vec![ms(12), ms(3), us(250)]).unwrap()),
            ("empirical(/abs/x.txt)", Dist::empirical("/abs/x.txt".into(), None, vec![ms(7)]).unwrap()),
            (
                "empirical(file=data/lat.csv, column=latency_ms)",
                Dist::empirical("data/lat.csv".into(), Some("latency_ms".into()), vec![us(2500), ms(4), us(1500)])
                    .unwrap(),
            ),
            (
                "empirical(file='units.csv', column=\"latency\")",
                Dist::empirical("units.csv".into(), Some("latency".into()), vec![ms(3), ms(5)]).unwrap(),
            ),
            (
                "mix(0.9: exp(2ms), 0.1: exp(50ms))",
                Dist::mix(vec![(0.9, Dist::Exp(ms(2))), (0.1, Dist::Exp(ms(50)))]).unwrap(),
            ),
            (
                "mix(90%: 1ms, 10%: mix(1: uniform(1ms, 2ms), 1: 0ms))",
                Dist::mix(vec![
                    (0.9, Dist::Const(ms(1))),
                    (
                        0.1,
                        Dist::mix(vec![
                            (1.0, Dist::uniform(ms(1), ms(2)).unwrap()),
                            (1.0, Dist::Const(SimDuration::ZERO)),
                        ])
                        .unwrap(),
                    ),
                ])
                .unwrap(),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(ok(s), want, "{s}");
        }
    }

    #[test]
    fn display_reads_back_to_the_same_dist() {
        for s in [
            "5ms",
            "exp(5ms)",
            "uniform(1ms, 3ms)",
            "normal(10ms, 2ms)",
            "lognormal(median=2ms, p99.9=20ms)",
            "lognormal(mean=4ms, sd=3ms)",
            "gamma(shape=2.5, mean=1.5s)",
            "erlang(k=3, mean=6ms)",
            "weibull(shape=1.5, scale=4ms)",
            "pareto(min=1ms, alpha=1.5, max=10s)",
            "percentiles(min=1ms, p50=3ms, p99.9=40ms, max=200ms)",
            "empirical(file=data/lat.csv, column=latency_ms)",
            "mix(0.9: exp(2ms), 0.1: mix(1: 3ms, 2: normal(1ms, 1ms)))",
        ] {
            let d = ok(s);
            assert_eq!(d.to_string(), s);
            assert_eq!(ok(&d.to_string()), d, "{s}");
        }
    }

    #[test]
    fn unknown_functions_get_suggestions() {
        let e = err("expo(5ms)", "unknown distribution 'expo'", "expo");
        assert!(e.hint.unwrap().contains("did you mean 'exp'?"));
        let e = err("mix(1: 1ms, 1: lognorml(mean=1ms, sd=1ms))", "'lognorml'", "lognorml");
        assert!(e.hint.unwrap().contains("'lognormal'"));
        let e = err("exponential(5ms)", "unknown distribution", "exponential");
        assert!(e.hint.unwrap().contains("'exp'"));
        let e = err("constant(5ms)", "unknown distribution", "constant");
        assert!(e.hint.unwrap().contains("just the duration"));
        let e = err("zipf(5ms)", "unknown distribution 'zipf'", "zipf");
        assert!(e.hint.unwrap().contains("percentiles"));
        let e = err("exp", "exp needs its arguments in parentheses", "exp");
        assert!(e.hint.unwrap().contains("exp(5ms)"));
        let e = err("nromal", "found 'nromal'", "nromal");
        assert!(e.hint.unwrap().contains("'normal'"));
    }

    #[test]
    fn argument_errors() {
        let e = err("gamma(shape=2, mena=5ms)", "gamma has no argument 'mena'", "mena");
        assert!(e.hint.unwrap().contains("did you mean 'mean'?"));
        let e = err("lognormal(median=2ms)", "needs an upper percentile such as p99=", ")");
        let h = e.hint.unwrap();
        assert!(h.contains("lognormal(median=2ms, p99=20ms)") && h.contains("mean=4ms, sd=3ms"));
        err("lognormal(mean=2ms)", "also needs sd=", ")");
        err("lognormal(median=2ms, sd=1ms)", "sd= goes with mean=", "sd");
        err("lognormal(mean=2ms, p99=9ms)", "go with median=", "p99");
        err("lognormal(median=2ms, mean=2ms)", "not both", "mean");
        err("lognormal(median=2ms, p90=5ms, p99=9ms)", "give only one", "p99");
        err("lognormal(2ms, 20ms)", "lognormal takes named arguments", "2ms");
        err("lognormal()", "needs median=", ")");
        err("gamma(2, 5ms)", "gamma takes named arguments", "2");
        err("exp(1ms, 2ms)", "exp takes 1 argument (mean); this one is extra", "2ms");
        err("normal(mean=1ms, 2ms)", "cannot follow a named one", "2ms");
        err("normal(mean=1ms, mean=2ms)", "'mean' is given twice", "mean=2ms");
        err("exp()", "exp needs mean=", ")");
        err("uniform(1ms)", "uniform needs max=", ")");
        let e = err("pareto(min=1ms, alpha=1.5)", "pareto needs max=", ")");
        assert!(e.hint.unwrap().contains("max=10s"));
        err("erlang(k=2.5, mean=1ms)", "whole number", "2.5");
        err("gamma(shape=0, mean=1ms)", "must be a positive number", "0,");
        err("weibull(shape=1, scale=0ms)", "scale must be above 0", "0ms");
        err("pareto(min=2ms, alpha=1, max=1ms)", "must be above its min", "1ms)");
        err("exp(exp(1ms))", "found a distribution", "exp(1ms)");
        err("exp(mean=)", "missing value after 'mean='", ")");
        err("uniform(1ms,,2ms)", "missing argument", ",2ms");
    }

    #[test]
    fn value_errors() {
        let e = err("exp(5)", "'5' has no unit: write 5ms", "5");
        assert_eq!(e.offset, 4);
        err("12", "'12' has no unit", "12");
        err("exp(-5ms)", "negative", "-5ms");
        err("uniform(3ms, 1ms)", "upper bound 1ms is below its lower bound 3ms", "1ms");
        let e = err("weibull(shape=1.5ms, scale=4ms)", "must be a number, found '1.5ms'", "1.5ms");
        assert!(e.hint.unwrap().contains("plain number"));
        err("exp(5 parsecs)", "unknown duration unit 'parsecs'", "5 parsecs");
    }

    #[test]
    fn mix_errors() {
        err("mix(0: 1ms, 1: 2ms)", "mix weights must be positive, found 0", "0:");
        err("mix(1: 1ms, -0.5: 2ms)", "must be positive, found -0.5", "-0.5");
        err("mix(lots: 1ms)", "mix weight 'lots' is not a number", "lots");
        err("mix(exp(1ms), 0.5: 2ms)", "each part of mix needs a weight", "exp");
        err("mix()", "at least one", ")");
        err("mix(1: 1ms, 1: exp(5))", "'5' has no unit", "5)");
    }

    #[test]
    fn percentile_errors() {
        let e = err("percentiles(p50=1ms, q90=2ms, max=3ms)", "unknown percentile 'q90'", "q90");
        assert!(e.hint.unwrap().contains("did you mean 'p90'?"));
        err("percentiles(p150=1ms, max=3ms)", "unknown percentile 'p150'", "p150");
        err("percentiles(p50=10ms, p99=5ms, max=20ms)", "p99 (5ms) is below p50 (10ms)", "p99");
        err("percentiles(max=20ms, p99=30ms)", "max (20ms) is below p99 (30ms)", "max");
        let e = err("percentiles(p50=3ms, p90=8ms, p99=40ms)", "needs max=", ")");
        assert!(e.hint.unwrap().contains("max=80ms"));
        err("percentiles(p50=3ms, median=4ms, max=9ms)", "p50 is given twice", "median");
        err("percentiles(3ms, max=9ms)", "named points", "3ms");
    }

    #[test]
    fn empirical_errors() {
        let e = err("empirical(file=nope.csv)", "cannot read empirical file 'nope.csv'", "nope");
        assert!(e.hint.unwrap().contains("/topo/nope.csv"));
        err("empirical(file=empty.txt)", "'empty.txt' has no values", "empty.txt");
        err("empirical(file=bad.txt)", "line 3: 'fast' does not start with a number", "bad.txt");
        let e = err("empirical(file=csvish.txt)", "line 1", "csvish");
        assert!(e.hint.unwrap().contains("column="));
        let e = err("empirical(file=data/lat.csv, column=latency)", "no column 'latency'", "data");
        assert!(e.hint.unwrap().contains("'latency_ms'"));
        let e = err("empirical(file=bare.csv, column=latency)", "line 2: '3' has no unit", "bare");
        assert!(e.hint.unwrap().contains("_ms"));
        err("empirical(column=x)", "empirical needs file=", ")");
        err("empirical(file=\"\")", "file is empty", "\")");
    }

    #[test]
    fn syntax_errors() {
        err("exp(5ms", "missing ')' to close exp(", "");
        err("exp(5ms) x", "unexpected 'x' after the distribution", "x");
        err("exp(5ms))", "unmatched ')'", ")");
        err("5ms, 6ms", "a distribution is one value", ",");
        err("", "found nothing", "");
        err_at("   ", "found nothing", 0);
        err("(5ms)", "expected a distribution name before '('", "(");
        err("5ms exp(1ms)", "found '5ms exp'", "5ms");
        err("exp(1ms) (", "unexpected '('", "(");
        err("empirical(file=\"x.csv)", "unclosed quote", "\"");
        err("mix(1: exp(1ms) 2ms)", "expected ',' or ')' here, found '2'", "2ms");
        let deep = format!("{}1ms{}", "mix(1: ".repeat(40), ")".repeat(40));
        err_at(&deep, "nested more than 16 deep", 16 * "mix(1: ".len());
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("exp", "exp"), 0);
        assert_eq!(edit_distance("expo", "exp"), 1);
        assert_eq!(edit_distance("unifrom", "uniform"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "mix"), 3);
        let fns = || FUNCTIONS.iter().map(|(n, _)| *n);
        assert_eq!(suggest("percentile", fns()), Some("percentiles"));
        assert_eq!(suggest("Exp", fns()), Some("exp"));
        assert_eq!(suggest("emprical", fns()), Some("empirical"));
        assert_eq!(suggest("x", fns()), None);
        assert_eq!(suggest("banana", fns()), None);
    }

    #[test]
    fn arbitrary_text_never_panics() {
        // Random strings over the characters the grammar cares about.
        let alphabet: Vec<char> = "exmpiln(),=:\"' 0123456789.-%smuµ#pa".chars().collect();
        let mut rng = RngStream::derive(1, "fuzz", "parse_dist");
        let fs = files();
        for _ in 0..20_000 {
            let len = rng.below(24) as usize;
            let s: String = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u32) as usize]).collect();
            if let Err(e) = parse_dist(&s, &fs, Path::new("/topo")) {
                assert!(e.offset <= s.len(), "{s:?}: {e:?}");
            }
        }
    }
}
