//! A [`Page`] as Markdown (GitHub-flavoured) to paste into a design doc:
//! the same headings, tables and text as the HTML; figures are left out
//! (the HTML file has them), a row's note becomes a line under its table.

use super::{Block, Format, Page, Span, Table, Text};
use std::fmt::Write;

/// Plain text with Markdown's active characters escaped. `_` only at the
/// edge of a word (GitHub ignores it inside one: `pool_exhausted`), `#`
/// and `>` only at the start, `]` only where a link could start.
fn esc(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut o = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| c.is_alphanumeric());
        let escape = match c {
            '\\' | '*' | '`' | '<' | '|' => true,
            // `[a, b]` is text; only `](` or `][` could make a link.
            ']' => matches!(chars.get(i + 1), Some('(' | '[')),
            '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
            '#' | '>' => i == 0,
            _ => false,
        };
        if escape {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// A code span that holds any text (a longer run of backticks around one
/// that is inside).
fn code(s: &str) -> String {
    let mut fence = String::from("`");
    while s.contains(&fence) {
        fence.push('`');
    }
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn text(t: &Text) -> String {
    t.0.iter()
        .map(|s| match s {
            Span::Text(s) => esc(s),
            Span::Code(s) => code(s),
            Span::Strong(s) => format!("**{}**", esc(s)),
        })
        .collect()
}

/// The page as Markdown.
pub fn to_markdown(p: &Page) -> String {
    let mut o = format!("# {}\n\n", esc(&p.title));
    if let Some(s) = &p.subtitle {
        let _ = writeln!(o, "{}\n", text(s));
    }
    for b in &p.blocks {
        block(&mut o, b);
    }
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Heading(level, t) => {
            let _ = writeln!(o, "{} {}\n", "#".repeat((*level).clamp(2, 6) as usize), esc(t));
        }
        Block::Paragraph(t) => {
            let _ = writeln!(o, "{}\n", text(t));
        }
        Block::Alert(t) => {
            let _ = writeln!(o, "> **⚠ {}**\n", text(t));
        }
        Block::Facts(facts) => {
            for (k, v) in facts {
                let _ = writeln!(o, "- {}: {}", esc(k), text(v));
            }
            o.push('\n');
        }
        Block::List(items) => {
            for t in items {
                let _ = writeln!(o, "- {}", text(t));
            }
            o.push('\n');
        }
        Block::Table(t) => table(o, t),
        Block::Figures(_) => {}
        Block::Code { lang, text } => {
            let fence = if text.contains("```") { "````" } else { "```" };
            let _ = writeln!(o, "{fence}{lang}\n{}\n{fence}\n", text.trim_end());
        }
        Block::Only(Format::Markdown, b) => block(o, b),
        Block::Only(Format::Html, _) => {}
    }
}

fn table(o: &mut String, t: &Table) {
    let cells = |v: Vec<String>| format!("| {} |", v.join(" | "));
    let _ = writeln!(o, "{}", cells(t.columns.iter().map(|c| esc(&c.header)).collect()));
    let _ = writeln!(o, "{}", cells(t.columns.iter().map(|c| if c.numeric { "---:" } else { "---" }.into()).collect()));
    for r in &t.rows {
        let row = r.cells.iter().map(|c| match c {
            // GitHub splits a table cell at `|` even inside code: `\|`.
            super::Cell::Code(s) => code(&s.replace('|', "\\|")),
            super::Cell::Delta { verdict, .. } if *verdict != super::Verdict::Unclear => {
                format!("**{}**", esc(&c.plain()))
            }
            c => esc(&c.plain()),
        });
        let _ = writeln!(o, "{}", cells(row.collect()));
    }
    o.push('\n');
    let notes: Vec<&Text> = t.rows.iter().filter_map(|r| r.note.as_ref()).collect();
    for n in &notes {
        let _ = writeln!(o, "- {}", text(n));
    }
    if !notes.is_empty() {
        o.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::{Better, Cell};

    #[test]
    fn markdown_escapes_what_it_must_and_nothing_else() {
        assert_eq!(esc("pool_exhausted at *db* | x"), "pool_exhausted at \\*db\\* \\| x");
        assert_eq!(esc("_lead and trail_"), "\\_lead and trail\\_");
        assert_eq!(esc("[a](b) [1, 2]"), "[a\\](b) [1, 2]");
        assert_eq!(code("a`b"), "``a`b``");
        let mut p = Page::new("run");
        let mut t = Table::new("workload", &["p99", "Δ p99"]);
        let ms = |x: f64| format!("{x:.1}");
        t.row(vec![Cell::Code("web|1".into()), Cell::Missing, Cell::delta(-2.0, -3.0, -1.0, Better::Lower, ms)]);
        t.row(vec![
            Cell::Code("v".into()),
            Cell::interval(5.0, 4.5, 5.5, ms),
            Cell::delta(1.0, -1.0, 3.0, Better::Lower, ms),
        ]);
        t.rows[0].note = Some(Text::plain("failed: 3 rejected at db"));
        p.push(Block::Table(t));
        p.only(Format::Html, Block::Paragraph(Text::plain("html only")));
        assert_eq!(
            to_markdown(&p),
            "# run\n\n| workload | p99 | Δ p99 |\n| --- | ---: | ---: |\n| `web\\|1` | — | **-2.0 [-3.0, -1.0]** |\n\
             | `v` | 5.0 [4.5, 5.5] | +1.0 [-1.0, +3.0] |\n\n- failed: 3 rejected at db\n"
        );
    }
}
