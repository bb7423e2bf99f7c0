//! A YAML tree whose nodes remember their line and column.
//!
//! Built from `saphyr_parser` events: maps keep their keys in file order,
//! scalars keep their text exactly as written (no typing: `5` and `"5"` are
//! both text, the decoder decides what a value means) plus whether they were
//! quoted. Anchors and aliases are supported (an alias is a copy of the
//! anchored node, positions included), within a node budget so that a
//! "billion laughs" file cannot exhaust memory.
//!
//! Problems are [`YamlError`]s with a 1-based position and the YAML path
//! where they happened. A syntax error ends the parse (no tree); duplicate
//! keys and merge keys (`<<`) are reported but the tree is still built,
//! keeping the first occurrence, so the decoder can report more.
//!
//! This module does not know what a topology is.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use std::collections::BTreeMap;

/// A key of a map, with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub text: String,
    pub line: usize,
    pub col: usize,
}

/// A value with its position (1-based line and column, in characters).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub line: usize,
    pub col: usize,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// Entries in file order; keys are unique.
    Map(Vec<(Key, Node)>),
    Seq(Vec<Node>),
    /// Text as written; `quoted` for single, double-quoted and block scalars.
    Scalar {
        text: String,
        quoted: bool,
    },
    /// `~`, `null`, or nothing at all (`key:` with no value).
    Null,
}

/// One problem in the YAML text itself.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    /// YAML path where it happened (`services.cart`), empty at the top.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// What [`parse`] found: the tree (absent after a syntax error) and every
/// problem.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub root: Option<Node>,
    pub errors: Vec<YamlError>,
}

/// Deepest nesting of maps and lists accepted.
pub const MAX_DEPTH: usize = 128;
/// Most nodes a file may expand to (aliases included).
pub const MAX_NODES: usize = 1_000_000;
/// Most bytes of scalar text a file may expand to (aliases included).
pub const MAX_TEXT_BYTES: usize = 64 << 20;

/// Parses one YAML document. An empty file is a [`NodeKind::Null`] root.
pub fn parse(text: &str) -> Parsed {
    let mut b = Builder {
        events: Parser::new_from_str(text),
        anchors: BTreeMap::new(),
        nodes: 0,
        text_bytes: 0,
        errors: Vec::new(),
    };
    let root = b.document();
    if let Err(e) = &root {
        b.errors.push(clamp(e.clone(), text));
    }
    let mut errors = b.errors;
    errors.sort_by_key(|e| (e.line, e.col));
    Parsed { root: root.ok(), errors }
}

impl Node {
    /// Text of a scalar (not of null).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }
    /// The value of `key` if this is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.text == key).map(|(_, v)| v)
    }
    /// Nodes and bytes of text in this subtree (a map's keys included).
    fn size(&self) -> (usize, usize) {
        match &self.kind {
            NodeKind::Map(m) => m.iter().fold((1, 0), |(n, b), (k, v)| {
                let (vn, vb) = v.size();
                (n + 1 + vn, b + k.text.len() + vb)
            }),
            NodeKind::Seq(s) => s.iter().fold((1, 0), |(n, b), v| {
                let (vn, vb) = v.size();
                (n + vn, b + vb)
            }),
            NodeKind::Scalar { text, .. } => (1, text.len()),
            NodeKind::Null => (1, 0),
        }
    }
}

struct Builder<'i> {
    events: Parser<'i, saphyr_parser::StrInput<'i>>,
    anchors: BTreeMap<usize, Node>,
    nodes: usize,
    text_bytes: usize,
    errors: Vec<YamlError>,
}

fn pos(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

fn scan_error(e: &ScanError, path: &str) -> YamlError {
    let info = e.info();
    if info.contains("recursion limit") {
        return YamlError {
            line: e.marker().line().max(1),
            col: e.marker().col() + 1,
            path: path.to_string(),
            message: format!("maps and lists are nested more than {MAX_DEPTH} deep"),
            hint: Some("a topology needs a few levels of nesting; check the brackets".into()),
        };
    }
    let hint = if info.contains("mapping values are not allowed") {
        Some("a value containing ': ' must be quoted; a nested map starts on a new, more indented line".into())
    } else if info.contains("cannot start any token") || info.contains("tab") {
        Some("YAML is indented with spaces, not tabs; a value starting with @, ` or % must be quoted".into())
    } else if info.contains("expected ',' or") || info.contains("did not find expected") {
        Some("check the indentation and the brackets around this line".into())
    } else {
        None
    };
    YamlError {
        line: e.marker().line().max(1),
        col: e.marker().col() + 1,
        path: path.to_string(),
        message: format!("invalid YAML: {info}"),
        hint,
    }
}

/// Moves a position past the last line (errors at the end of the text) to
/// the end of the last line, so that it can be shown.
fn clamp(mut e: YamlError, text: &str) -> YamlError {
    let lines = text.lines().count();
    if e.line > lines {
        let last = text.lines().last().unwrap_or("");
        e.line = lines.max(1);
        e.col = last.chars().count() + 1;
    }
    e
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

impl<'i> Builder<'i> {
    fn next(&mut self, path: &str) -> Result<(Event<'i>, Span), YamlError> {
        match self.events.next() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(scan_error(&e, path)),
            None => Err(YamlError {
                line: 1,
                col: 1,
                path: path.to_string(),
                message: "invalid YAML: the text ended unexpectedly".into(),
                hint: None,
            }),
        }
    }

    fn document(&mut self) -> Result<Node, YamlError> {
        let null = Node { line: 1, col: 1, kind: NodeKind::Null };
        loop {
            let (ev, span) = self.next("")?;
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => return Ok(null),
                Event::DocumentStart(_) => break,
                _ => return Err(self.error(&span, "", "invalid YAML: expected a document")),
            }
        }
        let (ev, span) = self.next("")?;
        let root = if matches!(ev, Event::DocumentEnd) {
            null
        } else {
            let root = self.node(ev, span, "", 0)?;
            let _ = self.next("")?; // DocumentEnd
            root
        };
        if let Ok((Event::DocumentStart(_), span)) = self.next("") {
            let e = self.error(&span, "", "a topology file holds one YAML document; found a second one");
            self.errors.push(YamlError {
                hint: Some("remove the '---' and what follows, or put it in another file".into()),
                ..e
            });
        }
        Ok(root)
    }

    fn error(&self, span: &Span, path: &str, message: &str) -> YamlError {
        let (line, col) = pos(span);
        YamlError { line, col, path: path.to_string(), message: message.to_string(), hint: None }
    }

    /// Counts `nodes` more nodes and `bytes` more bytes of text; an alias
    /// counts its whole copy, so that no file expands without bound.
    fn bump(&mut self, nodes: usize, bytes: usize, span: &Span, path: &str) -> Result<(), YamlError> {
        self.nodes += nodes;
        self.text_bytes += bytes;
        let over = if self.nodes > MAX_NODES {
            format!("the file expands to more than {MAX_NODES} YAML nodes (aliases included)")
        } else if self.text_bytes > MAX_TEXT_BYTES {
            format!("the file expands to more than {MAX_TEXT_BYTES} bytes of text (aliases included)")
        } else {
            return Ok(());
        };
        let mut e = self.error(span, path, &over);
        e.hint = Some("an alias (*name) copies its anchor: write the values out, or use fewer aliases".into());
        Err(e)
    }

    fn node(&mut self, ev: Event<'i>, span: Span, path: &str, depth: usize) -> Result<Node, YamlError> {
        let (line, col) = pos(&span);
        let bytes = if let Event::Scalar(text, ..) = &ev { text.len() } else { 0 };
        self.bump(1, bytes, &span, path)?;
        let (kind, anchor) = match ev {
            Event::Scalar(text, style, anchor, _) => {
                let kind = if style == ScalarStyle::Plain && is_null(&text) {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar { text: text.into_owned(), quoted: style != ScalarStyle::Plain }
                };
                (kind, anchor)
            }
            Event::Alias(id) => return self.alias(id, &span, path),
            Event::SequenceStart(anchor, _) => {
                self.check_depth(depth, &span, path)?;
                (NodeKind::Seq(self.seq(path, depth)?), anchor)
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(depth, &span, path)?;
                (NodeKind::Map(self.map(path, depth)?), anchor)
            }
            _ => return Err(self.error(&span, path, "invalid YAML: expected a value")),
        };
        let node = Node { line, col, kind };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn check_depth(&self, depth: usize, span: &Span, path: &str) -> Result<(), YamlError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(span, path, &format!("maps and lists are nested more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    fn alias(&mut self, id: usize, span: &Span, path: &str) -> Result<Node, YamlError> {
        let Some((nodes, bytes)) = self.anchors.get(&id).map(Node::size) else {
            return Err(self.error(span, path, "alias to an unknown anchor"));
        };
        // Counted before the copy is made.
        self.bump(nodes, bytes, span, path)?;
        Ok(self.anchors[&id].clone())
    }

    fn seq(&mut self, path: &str, depth: usize) -> Result<Vec<Node>, YamlError> {
        let mut items = Vec::new();
        loop {
            let item_path = format!("{path}[{}]", items.len());
            let (ev, span) = self.next(&item_path)?;
            if matches!(ev, Event::SequenceEnd) {
                return Ok(items);
            }
            items.push(self.node(ev, span, &item_path, depth + 1)?);
        }
    }

    fn map(&mut self, path: &str, depth: usize) -> Result<Vec<(Key, Node)>, YamlError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        // Key text → index in `entries`: finding a duplicate is not a scan
        // (a map may have hundreds of thousands of keys).
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        loop {
            let (ev, span) = self.next(path)?;
            if matches!(ev, Event::MappingEnd) {
                return Ok(entries);
            }
            let (line, col) = pos(&span);
            let key_node = self.node(ev, span, path, depth + 1)?;
            let text = match key_node.kind {
                NodeKind::Scalar { text, .. } => Some(text),
                NodeKind::Null => Some(String::new()),
                _ => None,
            };
            let value_path = child(path, text.as_deref().unwrap_or("?"));
            let (ev, span) = self.next(&value_path)?;
            let value = self.node(ev, span, &value_path, depth + 1)?;
            let key = Key { text: text.clone().unwrap_or_default(), line, col };
            let first = seen.get(&key.text).map(|&i| &entries[i].0);
            if let Some(e) = self.check_key(first, &key, text.is_some(), path) {
                self.errors.push(e);
            } else {
                seen.insert(key.text.clone(), entries.len());
                entries.push((key, value));
            }
        }
    }

    /// A problem that makes `key` unusable, if any.
    fn check_key(&self, first: Option<&Key>, key: &Key, scalar: bool, path: &str) -> Option<YamlError> {
        let at = |message: String, hint: &str| YamlError {
            line: key.line,
            col: key.col,
            path: child(path, &key.text),
            message,
            hint: Some(hint.to_string()),
        };
        if !scalar {
            return Some(at("a key must be a plain string, not a map or a list".into(), "write the key as text"));
        }
        if key.text == "<<" {
            return Some(at(
                "merge keys ('<<') are not supported".into(),
                "write the keys out, or use an alias (*name) for the whole value",
            ));
        }
        let first = first?;
        Some(at(
            format!("duplicate key '{}' (first at line {}, column {})", key.text, first.line, first.col),
            "a key may appear once per map; the first one is used",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Node {
        let p = parse(text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        p.root.expect("a tree")
    }

    fn scalar(n: &Node) -> (&str, bool) {
        match &n.kind {
            NodeKind::Scalar { text, quoted } => (text, *quoted),
            k => panic!("not a scalar: {k:?}"),
        }
    }

    #[test]
    fn positions_are_one_based_and_order_is_kept() {
        let root = ok("name: shop\nservices:\n  cart:\n    replicas: 2\n    b: \"x\"\n");
        let m = root.as_map().unwrap();
        assert_eq!(m[0].0.text, "name");
        assert_eq!((m[0].0.line, m[0].0.col), (1, 1));
        assert_eq!((m[0].1.line, m[0].1.col), (1, 7));
        assert_eq!(m[1].0.text, "services");
        let cart = m[1].1.get("cart").unwrap();
        let keys: Vec<&str> = cart.as_map().unwrap().iter().map(|(k, _)| k.text.as_str()).collect();
        assert_eq!(keys, ["replicas", "b"]);
        let (k, v) = &cart.as_map().unwrap()[0];
        assert_eq!((k.line, k.col, v.line, v.col), (4, 5, 4, 15));
        assert_eq!(scalar(v), ("2", false));
        assert_eq!(scalar(cart.get("b").unwrap()), ("x", true));
    }

    #[test]
    fn nulls_lists_and_flow_style() {
        let root = ok("a:\nb: ~\nc: [1, {d: e}]\nf: ''\n");
        assert_eq!(root.get("a").unwrap().kind, NodeKind::Null);
        assert_eq!(root.get("b").unwrap().kind, NodeKind::Null);
        let c = root.get("c").unwrap().as_seq().unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[1].line, c[1].col), (3, 8));
        assert_eq!(scalar(c[1].get("d").unwrap()), ("e", false));
        assert_eq!(scalar(root.get("f").unwrap()), ("", true));
        assert_eq!(ok("").kind, NodeKind::Null);
        assert_eq!(ok("# only a comment\n").kind, NodeKind::Null);
    }

    #[test]
    fn duplicate_keys_report_both_positions_and_keep_the_first() {
        let p = parse("a: 1\nb:\n  c: 2\n  c: 3\n");
        assert_eq!(p.errors.len(), 1);
        let e = &p.errors[0];
        assert_eq!((e.line, e.col, e.path.as_str()), (4, 3, "b.c"));
        assert!(e.message.contains("duplicate key 'c' (first at line 3, column 3)"), "{}", e.message);
        let root = p.root.unwrap();
        assert_eq!(scalar(root.get("b").unwrap().get("c").unwrap()).0, "2");
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let root = ok("x: &d {work: 5ms}\ny: *d\n");
        assert_eq!(root.get("x").unwrap().kind, root.get("y").unwrap().kind);
        let p = parse("x: {<<: {a: 1}}\n");
        assert!(p.errors[0].message.contains("merge keys"));
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let p = parse(&text);
        assert!(p.root.is_none());
        assert!(p.errors[0].message.contains("more than"), "{:?}", p.errors);
    }

    #[test]
    fn syntax_errors_have_a_position_and_path() {
        let p = parse("services:\n  cart:\n    replicas: 2\n    work: a: b\n");
        assert!(p.root.is_none());
        let e = &p.errors[0];
        assert_eq!(e.line, 4);
        assert!(e.path.starts_with("services.cart"), "{}", e.path);
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
        assert!(e.hint.is_some());
        let p = parse("a: [1, 2\n");
        assert!(p.root.is_none() && p.errors.len() == 1);
        assert_eq!((p.errors[0].line, p.errors[0].col), (1, 9), "clamped to the end of the text");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let root = ok("café: { réplica: 2, 服务: 3 }\n");
        let m = root.get("café").unwrap().as_map().unwrap();
        assert_eq!((m[0].0.line, m[0].0.col), (1, 9));
        assert_eq!((m[1].0.text.as_str(), m[1].0.col), ("服务", 21));
    }

    #[test]
    fn aliases_of_long_text_are_bounded_too() {
        // Few nodes, but each alias copies 100 kB: a billion laughs in bytes.
        let mut text = format!("a: &a \"{}\"\nb: [", "x".repeat(100_000));
        text.push_str(&["*a"; 2000].join(", "));
        text.push_str("]\n");
        let p = parse(&text);
        assert!(p.root.is_none());
        assert!(p.errors[0].message.contains("bytes of text"), "{:?}", p.errors[0]);
    }

    #[test]
    fn very_deep_nesting_is_an_error_not_a_stack_overflow() {
        for open in ["[", "{a: ", "- "] {
            let deep = if open == "- " {
                (0..5000).map(|i| format!("{}- \n", "  ".repeat(i))).collect::<String>()
            } else {
                open.repeat(200_000)
            };
            let p = parse(&deep);
            assert!(p.root.is_none(), "{open}");
            assert!(p.errors.iter().any(|e| e.message.contains("nested more than")), "{open}: {:?}", p.errors);
        }
    }

    #[test]
    fn one_document_only_and_nesting_is_bounded() {
        let p = parse("a: 1\n---\nb: 2\n");
        assert!(p.root.is_some());
        assert!(p.errors[0].message.contains("one YAML document"));
        let deep = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        let p = parse(&deep);
        assert!(p.root.is_none());
        assert!(p.errors[0].message.contains("nested"));
    }
}
