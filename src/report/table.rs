//! Terminal tables whose columns never run together: each column is as wide
//! as its widest cell (header included), columns are at least two spaces
//! apart, numbers right-aligned, names left-aligned, and an optional `│`
//! separates groups of columns. Also the number formats the tables share.
//!
//! What it does not: wrap, truncate or colour anything; widths count
//! characters (`—`, `│`, `×` are one column wide in a terminal).

use std::fmt::Write;

/// Where a cell sits in its column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Clone, Debug)]
struct Column {
    header: String,
    align: Align,
    /// A `│` between this column and the one before.
    sep_before: bool,
}

#[derive(Clone, Debug)]
enum Line {
    Cells(Vec<String>),
    /// Free text under the table's indent (e.g. a detail under a row).
    Text(String),
}

/// A table built column by column, then row by row.
#[derive(Clone, Debug)]
pub struct Table {
    indent: usize,
    columns: Vec<Column>,
    /// Printed after the header row (e.g. the unit of a group of columns).
    note: Option<String>,
    lines: Vec<Line>,
    sep_next: bool,
}

/// Spaces between two columns.
const GAP: usize = 2;

impl Table {
    /// An empty table printed `indent` spaces in.
    pub fn new(indent: usize) -> Table {
        Table { indent, columns: Vec::new(), note: None, lines: Vec::new(), sep_next: false }
    }

    /// Adds a column.
    pub fn col(mut self, header: &str, align: Align) -> Table {
        self.columns.push(Column { header: header.into(), align, sep_before: self.sep_next });
        self.sep_next = false;
        self
    }

    /// Puts a `│` before the next column.
    pub fn sep(mut self) -> Table {
        self.sep_next = true;
        self
    }

    /// Text after the header row.
    pub fn note(mut self, text: &str) -> Table {
        self.note = Some(text.into());
        self
    }

    /// Adds a row: one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.columns.len(), "a table row has one cell per column");
        self.lines.push(Line::Cells(cells));
    }

    /// Adds a line of free text between rows.
    pub fn text(&mut self, line: String) {
        self.lines.push(Line::Text(line));
    }

    /// Appends the header and every line to `o`.
    pub fn render(&self, o: &mut String) {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| width(&c.header)).collect();
        for line in &self.lines {
            if let Line::Cells(cells) = line {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(width(c));
                }
            }
        }
        let headers: Vec<&str> = self.columns.iter().map(|c| c.header.as_str()).collect();
        let mut header = self.cells_line(&headers, &widths);
        if let Some(n) = &self.note {
            let _ = write!(header, "  {n}");
        }
        let _ = writeln!(o, "{header}");
        for line in &self.lines {
            match line {
                Line::Cells(cells) => {
                    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                    let _ = writeln!(o, "{}", self.cells_line(&cells, &widths));
                }
                Line::Text(t) => {
                    let _ = writeln!(o, "{}{t}", " ".repeat(self.indent));
                }
            }
        }
    }

    fn cells_line(&self, cells: &[&str], widths: &[usize]) -> String {
        let mut s = " ".repeat(self.indent);
        for (i, ((col, cell), &w)) in self.columns.iter().zip(cells).zip(widths).enumerate() {
            if i > 0 {
                s.push_str(if col.sep_before { " │" } else { "" });
                s.push_str(&" ".repeat(GAP));
            }
            let pad = " ".repeat(w - cell.chars().count());
            match col.align {
                Align::Left => {
                    s.push_str(cell);
                    s.push_str(&pad);
                }
                Align::Right => {
                    s.push_str(&pad);
                    s.push_str(cell);
                }
            }
        }
        s.truncate(s.trim_end().len());
        s
    }
}

/// An integer with thousands separators: `1,326,875`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency in milliseconds as the tables show it: `0`, three decimals
/// below 1 ms, two below 100 ms, none above (`0.568`, `13.16`, `2875`).
pub fn ms(v: f64) -> String {
    crate::metrics::format_ms(v)
}

/// A latency that may be absent (nothing succeeded): `—` then.
pub fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), ms)
}

/// A non-negative rate or count: thousands separators, decimals only below
/// 100 (`1,200`, `12.5`, `0.25`); `∞` for infinity.
pub fn amount(x: f64) -> String {
    if x.is_infinite() {
        "∞".into()
    } else if x >= 100.0 || (x - x.round()).abs() < 1e-9 {
        if x >= 1e18 { format!("{x:.3e}") } else { thousands(x.round() as u64) }
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Test support: checking a rendered table.
#[cfg(test)]
pub(crate) mod testing {
    /// `rows` (header first) each split on whitespace into `cells` cells,
    /// and every cell of a right-aligned column (all but the first) ends
    /// where its header does. A header cell may hold one space (`p99 ms`);
    /// cells are two spaces or a `│` apart.
    pub(crate) fn assert_aligned(rows: &[&str], cells: usize) {
        assert!(rows.len() >= 2, "no rows: {rows:?}");
        let ends = |l: &str| -> Vec<usize> {
            let c: Vec<char> = l.chars().collect();
            let gap =
                |i: usize| c.get(i).is_none_or(|&x| x == ' ') && c.get(i + 1).is_none_or(|&x| x == ' ' || x == '│');
            (0..c.len()).filter(|&i| c[i] != ' ' && (c[i] == '│' || gap(i + 1))).collect()
        };
        let header_ends = ends(rows[0]);
        for row in &rows[1..] {
            assert_eq!(row.split_whitespace().count(), cells, "{row:?} under {:?}", rows[0]);
            let e = ends(row);
            assert_eq!(e.len(), cells, "{row:?}");
            let tail = cells - 1;
            assert_eq!(
                e[e.len() - tail..],
                header_ends[header_ends.len() - tail..],
                "{row:?} not aligned with {:?}",
                rows[0]
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell_and_stay_apart() {
        let mut t = Table::new(2).col("name", Align::Left).col("n", Align::Right).sep().col("ms", Align::Right);
        t.row(vec!["a".into(), "1,326,875".into(), "12345678.9".into()]);
        t.text("detail".into());
        t.row(vec!["longer name".into(), "1".into(), "—".into()]);
        let mut o = String::new();
        t.render(&mut o);
        let want = "  name                 n │          ms\n\
                    \x20 a            1,326,875 │  12345678.9\n\
                    \x20 detail\n\
                    \x20 longer name          1 │           —\n";
        assert_eq!(o, want);
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_short_row_is_a_bug() {
        let mut t = Table::new(0).col("a", Align::Left).col("b", Align::Left);
        t.row(vec!["x".into()]);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(amount(1200.0), "1,200");
        assert_eq!(amount(45.0), "45");
        assert_eq!(amount(12.34), "12.3");
        assert_eq!(amount(0.25), "0.25");
        assert_eq!(amount(4.398e12), "4,398,000,000,000");
        assert_eq!(amount(f64::INFINITY), "∞");
    }
}

/// The endpoints worth a table of their own: those of services with more
/// than one endpoint that answered (a service's own row already is its
/// only endpoint's), as (`service.endpoint`, figures).
pub fn split_endpoints(r: &crate::metrics::RunResult) -> Vec<(String, &crate::metrics::EndpointResult)> {
    r.services
        .iter()
        .filter(|(_, s)| s.endpoints.values().filter(|e| e.completed > 0).count() > 1)
        .flat_map(|(name, s)| s.endpoints.iter().map(move |(ep, e)| (format!("{name}.{ep}"), e)))
        .collect()
}

/// The columns of a call-edge table, and one edge's counts in that order.
pub const EDGE_HEADERS: [&str; 9] =
    ["calls", "attempts", "retries", "hedges", "timeouts", "short-circ", "throttled", "failures", "skipped"];

pub fn edge_counts(e: &crate::metrics::EdgeResult) -> [u64; 9] {
    [e.calls, e.attempts, e.retries, e.hedges, e.timeouts, e.short_circuits, e.throttled, e.failures, e.skipped]
}
