//! Diagnostics: problems in an input file, each with where it is (file,
//! 1-based line and column, YAML path), what is wrong and a hint.
//!
//! [`Diagnostics::render`] prints them the way rustc does, in plain text
//! (no colours): a header `file:line:col: path: message`, the source line
//! with a caret under the column, then `= hint: …`. [`suggest`] finds the
//! closest known word for every "did you mean".
//!
//! Nothing here decides what is a problem; `topology` does.

use std::fmt;

/// One problem found in an input file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when the problem is about the whole file.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// YAML path of the key, e.g. `services.cart.endpoints.get.steps[1].call`.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Every problem found in a file, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostic {
    /// `file:line:col: path: message` (position and path left out when
    /// unknown).
    pub fn header(&self) -> String {
        let mut s = self.file.clone();
        if self.line > 0 {
            s.push_str(&format!(":{}:{}", self.line, self.column));
        }
        s.push_str(": ");
        if !self.path.is_empty() {
            s.push_str(&self.path);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }

    /// The header, the source line with a caret, and the hint.
    pub fn render(&self, source: &str) -> String {
        let line = (self.line > 0).then(|| source.lines().nth(self.line - 1)).flatten();
        self.render_line(line)
    }

    /// As [`render`](Self::render), given the diagnostic's source line.
    fn render_line(&self, line: Option<&str>) -> String {
        let mut out = self.header();
        out.push('\n');
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        if let Some(text) = line {
            let (shown, caret) = excerpt(text, self.column);
            out.push_str(&format!("{pad} |\n{} | {shown}\n{pad} | {}^\n", self.line, " ".repeat(caret)));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("{pad} = hint: {h}\n"));
        }
        out
    }
}

/// Characters of a line shown around the caret when the line is longer.
const EXCERPT_CHARS: usize = 120;

/// A source line as shown under a header, and how many terminal columns
/// precede the caret for 1-based character `column`. Tabs show as one
/// space and control characters as '�' (the terminal never interprets the
/// file); wide characters (CJK, emoji) take two columns and combining
/// marks none, so the caret sits under the right character; a long line is
/// cut to a window around the caret.
pub fn excerpt(text: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let at = column.saturating_sub(1).min(chars.len());
    let (from, to) = if chars.len() <= EXCERPT_CHARS {
        (0, chars.len())
    } else {
        let from = at.saturating_sub(EXCERPT_CHARS / 2).min(chars.len() - EXCERPT_CHARS);
        (from, from + EXCERPT_CHARS)
    };
    let mut shown = String::new();
    let mut caret = 0;
    if from > 0 {
        shown.push('…');
        caret += 1;
    }
    for (i, &c) in chars[from..to].iter().enumerate() {
        let (c, w) = display(c);
        shown.push(c);
        if from + i < at {
            caret += w;
        }
    }
    if to < chars.len() {
        shown.push('…');
    }
    (shown, caret)
}

/// How a character is shown and how many terminal columns it takes.
fn display(c: char) -> (char, usize) {
    let u = c as u32;
    match u {
        0x09 => (' ', 1),
        _ if c.is_control() => ('\u{FFFD}', 1),
        0x0300..=0x036F
        | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF
        | 0x200B..=0x200F
        | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F
        | 0xFE20..=0xFE2F => (c, 0),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F680..=0x1F6FF
        | 0x1F900..=0x1FAFF
        | 0x20000..=0x3FFFD => (c, 2),
        _ => (c, 1),
    }
}

impl fmt::Display for Diagnostic {
    /// The header and hint, without source text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.header())?;
        if let Some(h) = &self.hint {
            write!(f, "\n  = hint: {h}")?;
        }
        Ok(())
    }
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
    /// Orders by position (whole-file problems first); stable otherwise.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| (d.line, d.column));
    }
    /// Every diagnostic with its source line, separated by blank lines, and
    /// a count at the end.
    pub fn render(&self, source: &str) -> String {
        self.render_with(&|_| Some(source.to_string()))
    }

    /// As [`render`](Self::render), each diagnostic with the source of its
    /// own file (`source_of(file)`; `None`: no source line). Problems can
    /// lie in files the topology names, such as an HPA manifest.
    pub fn render_with(&self, source_of: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        let mut files: Vec<(&str, String, Vec<usize>)> = Vec::new();
        for d in self.0.iter().take(MAX_RENDERED) {
            if !files.iter().any(|(f, _, _)| *f == d.file) {
                let source = source_of(&d.file).unwrap_or_default();
                let starts = line_starts(&source);
                files.push((&d.file, source, starts));
            }
            let (_, source, starts) = files.iter().find(|(f, _, _)| *f == d.file).expect("just added");
            out.push_str(&d.render_line(line_of(source, starts, d.line)));
            out.push('\n');
        }
        let n = self.0.len();
        if n > MAX_RENDERED {
            out.push_str(&format!("… and {} more, not shown\n", n - MAX_RENDERED));
        }
        out.push_str(&format!("{n} problem{} found\n", if n == 1 { "" } else { "s" }));
        out
    }
}

/// Most diagnostics shown in full; the rest are counted.
pub const MAX_RENDERED: usize = 100;

/// Byte offset of the start of every line (lines as `str::lines` splits
/// them), so that finding a line is not a scan of the file.
fn line_starts(source: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(source.match_indices('\n').map(|(i, _)| i + 1).filter(|&i| i < source.len()));
    starts
}

/// 1-based line `line` of `source`, without its line break.
fn line_of<'s>(source: &'s str, starts: &[usize], line: usize) -> Option<&'s str> {
    let from = *starts.get(line.checked_sub(1)?)?;
    if from >= source.len() {
        return None;
    }
    let to = starts.get(line).map_or(source.len(), |&n| n - 1);
    let text = &source[from..to];
    let text = text.strip_suffix('\n').unwrap_or(text);
    Some(text.strip_suffix('\r').unwrap_or(text))
}

impl Diagnostics {
    /// Notes (things the user should know about a file that loaded): each
    /// as `note: ` and the header, with the hint; no count.
    pub fn render_notes(&self, source_of: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for d in &self.0 {
            let source = source_of(&d.file).unwrap_or_default();
            out.push_str("note: ");
            out.push_str(&d.render(&source));
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Candidates a suggestion looks at, at most.
pub const MAX_CANDIDATES: usize = 1_000;

/// The candidate closest to `word` (case-insensitive optimal string
/// alignment distance, i.e. Damerau–Levenshtein with adjacent
/// transpositions), if it is close enough: at most one edit for words up to
/// 5 characters, then one more per 3 characters. Ties go to the earlier
/// candidate; `word` itself is never suggested. Only the first
/// [`MAX_CANDIDATES`] are considered.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w: Vec<char> = word.to_lowercase().chars().collect();
    let limit = w.len().max(3) / 3;
    let mut best: Option<(usize, &'a str)> = None;
    // Bounded work however many names a file declares: the first
    // MAX_CANDIDATES, and no distance computed for a length too different.
    let (mut cand, mut rows) = (Vec::new(), Rows::default());
    for c in candidates.into_iter().take(MAX_CANDIDATES) {
        if c == word || c.chars().count().abs_diff(w.len()) > limit + 1 {
            continue;
        }
        cand.clear();
        cand.extend(c.chars().flat_map(char::to_lowercase));
        let d = rows.distance(&w, &cand);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance: rows i-2, i-1 and i of the dynamic
/// programming table, kept between
/// candidates so that a suggestion allocates nothing per candidate.
#[derive(Default)]
struct Rows([Vec<usize>; 3]);

impl Rows {
    fn distance(&mut self, a: &[char], b: &[char]) -> usize {
        let (n, m) = (a.len(), b.len());
        let [prev2, prev, cur] = &mut self.0;
        for r in [&mut *prev2, &mut *prev, &mut *cur] {
            r.clear();
            r.resize(m + 1, 0);
        }
        prev.iter_mut().enumerate().for_each(|(j, x)| *x = j);
        for i in 1..=n {
            cur[0] = i;
            for j in 1..=m {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(prev2[j - 2] + 1);
                }
                cur[j] = v;
            }
            std::mem::swap(prev2, prev);
            std::mem::swap(prev, cur);
        }
        prev[m]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        Rows::default().distance(&a, &b)
    }

    #[test]
    fn distances() {
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("replica", "replicas"), 1);
        assert_eq!(d("tiemout", "timeout"), 1, "a transposition is one edit");
        assert_eq!(d("ca", "abc"), 3, "OSA, not unrestricted Damerau");
    }

    #[test]
    fn suggestions() {
        let keys = ["replicas", "cpus", "max_in_flight", "queue", "balancer", "endpoints"];
        assert_eq!(suggest("replica", keys), Some("replicas"));
        assert_eq!(suggest("max_inflight", keys), Some("max_in_flight"));
        assert_eq!(suggest("Endpoints", keys), Some("endpoints"));
        assert_eq!(suggest("cpu", keys), Some("cpus"));
        assert_eq!(suggest("zebra", keys), None);
        assert_eq!(suggest("replicas", keys), None, "never the word itself");
        assert_eq!(suggest("carts", ["db", "cart", "frontend"]), Some("cart"));
        assert_eq!(suggest("gett", ["get", "add"]), Some("get"));
        assert_eq!(suggest("ab", ["xy"]), None);
        assert_eq!(suggest("x", Vec::<&str>::new()), None);
    }

    #[test]
    fn rendering_with_source_line_and_caret() {
        let src = "a: 1\nservices:\n  cart:\n    replica: 2\n";
        let diag = Diagnostic {
            file: "shop.yaml".into(),
            line: 4,
            column: 5,
            path: "services.cart.replica".into(),
            message: "unknown key 'replica' in services.cart — did you mean 'replicas'?".into(),
            hint: Some("allowed here: replicas, cpus".into()),
        };
        let r = diag.render(src);
        assert_eq!(
            r,
            "shop.yaml:4:5: services.cart.replica: unknown key 'replica' in services.cart — did you mean 'replicas'?\n  \
             |\n4 |     replica: 2\n  |     ^\n  = hint: allowed here: replicas, cpus\n"
        );
        let all = Diagnostics(vec![diag.clone(), diag.clone()]);
        assert!(all.render(src).ends_with("2 problems found\n"));
        assert_eq!(
            diag.to_string(),
            "shop.yaml:4:5: services.cart.replica: unknown key 'replica' in services.cart — did you mean 'replicas'?\n  = hint: allowed here: replicas, cpus"
        );
    }

    #[test]
    fn rendering_shows_each_file_its_own_source() {
        let d = |file: &str, line| Diagnostic {
            file: file.into(),
            line,
            column: 1,
            path: String::new(),
            message: "m".into(),
            hint: None,
        };
        let all = Diagnostics(vec![d("a.yaml", 2), d("b.yaml", 1), d("gone.yaml", 1)]);
        let r = all.render_with(&|f| match f {
            "a.yaml" => Some("a1\na2\n".into()),
            "b.yaml" => Some("b1\n".into()),
            _ => None,
        });
        assert!(r.contains("2 | a2\n") && r.contains("1 | b1\n"), "{r}");
        assert!(r.contains("gone.yaml:1:1: m\n\n"), "no source line for an unreadable file: {r}");
    }

    #[test]
    fn carets_sit_under_wide_and_combining_characters() {
        // Columns count characters; a CJK character takes two terminal
        // columns, a combining accent none, an emoji two.
        assert_eq!(excerpt("  café: { replica: 2 }", 11), ("  café: { replica: 2 }".into(), 10));
        assert_eq!(excerpt("  服务: { replica: 2 }", 9), ("  服务: { replica: 2 }".into(), 10));
        assert_eq!(excerpt("  cafe\u{301}: x", 10), ("  cafe\u{301}: x".into(), 8));
        assert_eq!(excerpt("a🚀b", 3), ("a🚀b".into(), 3));
        assert_eq!(excerpt("a\u{1b}[31mb", 2), ("a\u{FFFD}[31mb".into(), 1), "no escape reaches the terminal");
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}XY{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, caret) = excerpt(&line, 5001);
        assert!(shown.chars().count() <= EXCERPT_CHARS + 2, "{}", shown.len());
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(caret), Some('X'));
        let many = Diagnostics(vec![
            Diagnostic {
                file: "f".into(),
                line: 1,
                column: 1,
                path: String::new(),
                message: "m".into(),
                hint: None
            };
            100_000
        ]);
        let r = many.render(&line);
        assert!(
            r.len() < 100_000 && r.ends_with("… and 99900 more, not shown\n100000 problems found\n"),
            "{}",
            r.len()
        );
    }

    #[test]
    fn rendering_never_fails_on_odd_positions() {
        let mut diag = Diagnostic {
            file: "f.yaml".into(),
            line: 99,
            column: 500,
            path: String::new(),
            message: "m".into(),
            hint: None,
        };
        assert_eq!(diag.render("x\n"), "f.yaml:99:500: m\n");
        diag.line = 1;
        assert_eq!(diag.render("\tab"), "f.yaml:1:500: m\n  |\n1 |  ab\n  |    ^\n");
        diag.line = 0;
        assert_eq!(diag.render(""), "f.yaml: m\n");
    }
}
