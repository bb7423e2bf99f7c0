//! A [`Page`] as one self-contained HTML file: inline CSS, inline SVG,
//! no script, no font, no image and no address outside the file, so it
//! opens offline, mails as one attachment and prints.

use super::{Block, Cell, Figure, Format, Page, Span, Table, Text};
use std::fmt::Write;

/// The stylesheet: system fonts, readable on a laptop and on paper.
const CSS: &str = r#"
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; --bad: #b42318; --good: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 22px 0 8px; }
p { margin: 8px 0; max-width: 72em; }
.subtitle { color: var(--muted); margin: 0 0 12px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
code { background: var(--soft); padding: 1px 4px; border-radius: 4px; }
pre { background: var(--soft); padding: 10px 12px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; }
nav.toc { font-size: 0.92em; margin: 8px 0 4px; }
nav.toc a { color: var(--muted); margin-right: 14px; white-space: nowrap; }
.alert { border: 3px solid var(--bad); background: #fff1f0; color: var(--bad); font-weight: 600;
  padding: 12px 16px; border-radius: 6px; margin: 14px 0; font-size: 1.05em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 10px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.scroll { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.note td { color: var(--muted); font-size: 0.95em; border-bottom: 1px solid var(--line); padding-left: 24px; }
tr.has-note td { border-bottom: none; }
.ci { color: var(--muted); font-size: 0.85em; margin-left: 4px; }
td.better { color: var(--good); font-weight: 600; }
td.worse { color: var(--bad); font-weight: 600; }
td.changed { font-weight: 600; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 14px 18px; margin: 10px 0; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; break-inside: avoid; }
figure.wide { grid-column: 1 / -1; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.88em; padding: 4px 4px 0; }
ul { margin: 6px 0; padding-left: 22px; }
li { margin: 4px 0; }
@media (max-width: 640px) { main { padding: 12px; } .figures { grid-template-columns: 1fr; } }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2 { break-after: avoid; }
  .figures { grid-template-columns: 1fr 1fr; }
  figure, table, .alert { break-inside: avoid; }
  .scroll { overflow: visible; }
}
"#;

/// `<`, `>`, `&` and quotes escaped for text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn text(t: &Text) -> String {
    t.0.iter()
        .map(|s| match s {
            Span::Text(s) => esc(s),
            Span::Code(s) => format!("<code>{}</code>", esc(s)),
            Span::Strong(s) => format!("<strong>{}</strong>", esc(s)),
        })
        .collect()
}

/// A heading's anchor: lowercase letters and digits, `-` between words;
/// made unique by a number.
fn anchor(s: &str, used: &mut Vec<String>) -> String {
    let mut a = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            a.push(c);
        } else if !a.ends_with('-') && !a.is_empty() {
            a.push('-');
        }
    }
    let base = a.trim_end_matches('-').to_string();
    let mut a = if base.is_empty() { "section".to_string() } else { base.clone() };
    let mut n = 1;
    while used.contains(&a) {
        n += 1;
        a = format!("{base}-{n}");
    }
    used.push(a.clone());
    a
}

/// The page as one HTML document.
pub fn to_html(p: &Page) -> String {
    let mut used = Vec::new();
    let mut body = String::new();
    let mut toc = Vec::new();
    for b in &p.blocks {
        block(&mut body, b, &mut used, &mut toc);
    }
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(&p.title),
        esc(&p.title)
    );
    if let Some(s) = &p.subtitle {
        let _ = writeln!(o, "<p class=\"subtitle\">{}</p>", text(s));
    }
    if toc.len() > 1 {
        o.push_str("<nav class=\"toc\">");
        for (id, title) in &toc {
            let _ = write!(o, "<a href=\"#{id}\">{}</a>", esc(title));
        }
        o.push_str("</nav>\n");
    }
    o.push_str(&body);
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

fn block(o: &mut String, b: &Block, used: &mut Vec<String>, toc: &mut Vec<(String, String)>) {
    match b {
        Block::Heading(level, t) => {
            let level = (*level).clamp(2, 4);
            let id = anchor(t, used);
            if level == 2 {
                toc.push((id.clone(), t.clone()));
            }
            let _ = writeln!(o, "<h{level} id=\"{id}\">{}</h{level}>", esc(t));
        }
        Block::Paragraph(t) => {
            let _ = writeln!(o, "<p>{}</p>", text(t));
        }
        Block::Alert(t) => {
            let _ = writeln!(o, "<div class=\"alert\" role=\"alert\">{}</div>", text(t));
        }
        Block::Facts(facts) => {
            o.push_str("<dl class=\"facts\">\n");
            for (k, v) in facts {
                let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), text(v));
            }
            o.push_str("</dl>\n");
        }
        Block::List(items) => {
            o.push_str("<ul>\n");
            for t in items {
                let _ = writeln!(o, "<li>{}</li>", text(t));
            }
            o.push_str("</ul>\n");
        }
        Block::Table(t) => table(o, t),
        Block::Figures(figs) => figures(o, figs),
        Block::Code { lang, text } => {
            let _ = writeln!(o, "<pre class=\"{}\">{}</pre>", esc(lang), esc(text));
        }
        Block::Only(Format::Html, b) => block(o, b, used, toc),
        Block::Only(Format::Markdown, _) => {}
    }
}

fn table(o: &mut String, t: &Table) {
    o.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for c in &t.columns {
        let class = if c.numeric { " class=\"num\"" } else { "" };
        let _ = write!(o, "<th{class}>{}</th>", esc(&c.header));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        o.push_str(if r.note.is_some() { "<tr class=\"has-note\">" } else { "<tr>" });
        for (c, col) in r.cells.iter().zip(&t.columns) {
            let num = if col.numeric { "num" } else { "" };
            match c {
                Cell::Text(s) => {
                    let _ = write!(o, "<td class=\"{num}\">{}</td>", esc(s));
                }
                Cell::Code(s) => {
                    let _ = write!(o, "<td class=\"{num}\"><code>{}</code></td>", esc(s));
                }
                Cell::Num(s) => {
                    let _ = write!(o, "<td class=\"num\">{}</td>", esc(s));
                }
                Cell::Missing => o.push_str("<td class=\"num\" title=\"no value: nothing succeeded\">—</td>"),
                Cell::Interval { value, low, high } => {
                    let _ = write!(
                        o,
                        "<td class=\"num\">{}<span class=\"ci\">[{}, {}]</span></td>",
                        esc(value),
                        esc(low),
                        esc(high)
                    );
                }
                Cell::Delta { value, low, high, verdict } => {
                    let _ = write!(
                        o,
                        "<td class=\"num {}\">{}<span class=\"ci\">[{}, {}]</span></td>",
                        verdict.class(),
                        esc(value),
                        esc(low),
                        esc(high)
                    );
                }
            }
        }
        o.push_str("</tr>\n");
        if let Some(n) = &r.note {
            let _ = writeln!(o, "<tr class=\"note\"><td colspan=\"{}\">{}</td></tr>", t.columns.len(), text(n));
        }
    }
    o.push_str("</tbody>\n</table></div>\n");
}

fn figures(o: &mut String, figs: &[Figure]) {
    o.push_str("<div class=\"figures\">\n");
    for f in figs {
        let class = if f.wide { " class=\"wide\"" } else { "" };
        let _ = writeln!(
            o,
            "<figure{class}>{}<figcaption>{}</figcaption></figure>",
            inline_svg(&f.svg, &f.caption),
            esc(&f.caption)
        );
    }
    o.push_str("</div>\n");
}

/// An SVG document made fit for inlining: no namespace attribute (HTML
/// needs none, and it is the one address in the file), sized by its
/// `viewBox` so it scales with the page, named for screen readers.
fn inline_svg(svg: &str, label: &str) -> String {
    let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let Some(start) = svg.find("<svg") else { return svg };
    let end = start + svg[start..].find('>').unwrap_or(4);
    let mut head = svg[start..end].to_string();
    for attr in ["width", "height"] {
        if let Some(i) = head.find(&format!(" {attr}=\"")) {
            let close = head[i + attr.len() + 3..].find('"').map_or(head.len(), |j| i + attr.len() + 4 + j);
            head.replace_range(i..close, "");
        }
    }
    format!("{}{head} role=\"img\" aria-label=\"{}\"{}", &svg[..start], esc(label), &svg[end..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::{Better, Table};

    #[test]
    fn names_are_escaped_and_svg_is_made_inline() {
        let svg = "<svg width=\"10\" height=\"20\" viewBox=\"0 0 10 20\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect/>\n</svg>\n";
        assert_eq!(
            inline_svg(svg, "a \"chart\""),
            "<svg viewBox=\"0 0 10 20\" role=\"img\" aria-label=\"a &quot;chart&quot;\">\n<rect/>\n</svg>\n"
        );
        let mut p = Page::new("<script>x</script>");
        let mut t = Table::new("name", &["n", "Δ"]);
        t.row(vec![
            Cell::Text("a&b".into()),
            Cell::Missing,
            Cell::delta(-2.0, -3.0, -1.0, Better::Lower, |x| x.to_string()),
        ]);
        p.push(Block::Table(t));
        let h = to_html(&p);
        assert!(!h.contains("<script>"), "{h}");
        assert!(h.contains("<title>&lt;script&gt;x&lt;/script&gt;</title>"), "{h}");
        assert!(h.contains("<td class=\"\">a&amp;b</td>"), "{h}");
        assert!(h.contains(">—</td>"), "{h}");
        assert!(h.contains("<td class=\"num better\">-2<span class=\"ci\">[-3, -1]</span></td>"), "{h}");
    }

    #[test]
    fn anchors_are_unique() {
        let mut used = Vec::new();
        assert_eq!(anchor("Where the time goes", &mut used), "where-the-time-goes");
        assert_eq!(anchor("Where the time goes?", &mut used), "where-the-time-goes-2");
        assert_eq!(anchor("—", &mut used), "section");
    }
}
