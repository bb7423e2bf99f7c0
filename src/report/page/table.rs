//! A table of a report page: columns (names left, numbers right), rows of
//! cells, and an optional note under a row (a failed workload's causes).
//! Cells are text already formatted, `—` for a missing value, or for an
//! experiment an estimate with its 95% interval, or a difference against a
//! baseline whose colour says better or worse only when its interval
//! excludes zero.

use super::Text;

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub header: String,
    /// Right-aligned, tabular figures.
    pub numeric: bool,
}

/// Whether a difference is good news when it is an increase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Goodput, ok requests.
    Higher,
    /// Latency, errors, cost.
    Lower,
    /// Neither (replicas, arrivals): a clear change is only marked.
    Neither,
}

/// What a difference's interval says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The interval includes zero: no clear change (not coloured).
    Unclear,
    Better,
    Worse,
    /// A clear change with no good direction.
    Changed,
}

impl Verdict {
    /// The verdict on a difference `value` with interval `[low, high]`:
    /// clear only when the interval excludes zero.
    pub fn of(low: f64, high: f64, better: Better) -> Verdict {
        let up = low > 0.0;
        if !(up || high < 0.0) {
            return Verdict::Unclear;
        }
        match better {
            Better::Higher if up => Verdict::Better,
            Better::Lower if !up => Verdict::Better,
            Better::Neither => Verdict::Changed,
            _ => Verdict::Worse,
        }
    }

    /// The CSS class of a difference cell.
    pub(super) fn class(self) -> &'static str {
        match self {
            Verdict::Unclear => "unclear",
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Changed => "changed",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    /// An identifier (monospace).
    Code(String),
    /// A formatted number.
    Num(String),
    /// No value (nothing succeeded): `—`.
    Missing,
    /// An estimate with its 95% interval: `12.3 [11.9, 12.7]`.
    Interval {
        value: String,
        low: String,
        high: String,
    },
    /// A difference against a baseline with its 95% interval.
    Delta {
        value: String,
        low: String,
        high: String,
        verdict: Verdict,
    },
}

impl Cell {
    pub fn num(s: impl Into<String>) -> Cell {
        Cell::Num(s.into())
    }

    /// A number that may be absent.
    pub fn opt(v: Option<String>) -> Cell {
        v.map_or(Cell::Missing, Cell::Num)
    }

    /// An estimate `value` with interval `[low, high]`, each through `fmt`.
    pub fn interval(value: f64, low: f64, high: f64, fmt: impl Fn(f64) -> String) -> Cell {
        Cell::Interval { value: fmt(value), low: fmt(low), high: fmt(high) }
    }

    /// A difference `value` (variant − baseline) with interval `[low,
    /// high]`, each through `fmt` with a sign; coloured only when the
    /// interval excludes zero.
    pub fn delta(value: f64, low: f64, high: f64, better: Better, fmt: impl Fn(f64) -> String) -> Cell {
        let signed = |x: f64| if x > 0.0 { format!("+{}", fmt(x)) } else { fmt(x) };
        Cell::Delta {
            value: signed(value),
            low: signed(low),
            high: signed(high),
            verdict: Verdict::of(low, high, better),
        }
    }

    /// The cell as plain text (Markdown; tests).
    pub fn plain(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Code(s) | Cell::Num(s) => s.clone(),
            Cell::Missing => "—".into(),
            Cell::Interval { value, low, high } => format!("{value} [{low}, {high}]"),
            Cell::Delta { value, low, high, .. } => format!("{value} [{low}, {high}]"),
        }
    }
}

/// A row and, optionally, a line of text under it across the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub note: Option<Text>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Table {
    /// A table with a name column (left) and number columns (right).
    pub fn new(name: &str, numbers: &[&str]) -> Table {
        let mut columns = vec![Column { header: name.into(), numeric: false }];
        columns.extend(numbers.iter().map(|h| Column { header: (*h).into(), numeric: true }));
        Table { columns, rows: Vec::new() }
    }

    /// Adds a text column at the end.
    pub fn text_col(mut self, header: &str) -> Table {
        self.columns.push(Column { header: header.into(), numeric: false });
        self
    }

    /// Adds a row: one cell per column.
    pub fn row(&mut self, cells: Vec<Cell>) {
        assert_eq!(cells.len(), self.columns.len(), "a table row has one cell per column");
        self.rows.push(Row { cells, note: None });
    }

    /// Puts a note under the last row.
    pub fn note(&mut self, t: Text) {
        self.rows.last_mut().expect("a note goes under a row").note = Some(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_is_coloured_only_when_its_interval_excludes_zero() {
        let f = |x: f64| format!("{x:.1}");
        let c = Cell::delta(3.0, -0.5, 6.5, Better::Lower, f);
        assert_eq!(c.plain(), "+3.0 [-0.5, +6.5]");
        assert!(matches!(c, Cell::Delta { verdict: Verdict::Unclear, .. }));
        let verdicts = [
            Verdict::of(1.0, 2.0, Better::Lower),
            Verdict::of(-2.0, -1.0, Better::Lower),
            Verdict::of(1.0, 2.0, Better::Higher),
            Verdict::of(-2.0, -1.0, Better::Higher),
            Verdict::of(-2.0, -1.0, Better::Neither),
            Verdict::of(0.0, 1.0, Better::Higher),
        ];
        let want =
            [Verdict::Worse, Verdict::Better, Verdict::Better, Verdict::Worse, Verdict::Changed, Verdict::Unclear];
        assert_eq!(verdicts, want);
        assert_eq!(Cell::interval(12.34, 11.9, 12.75, f).plain(), "12.3 [11.9, 12.8]");
        assert_eq!(Cell::opt(None).plain(), "—");
    }
}
