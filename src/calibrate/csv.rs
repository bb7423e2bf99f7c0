//! Reading an iteration log: a CSV with a header naming the columns
//! (case-insensitive) `prefill_tokens`, `decode_seqs`, `context_tokens`,
//! one of `time_ms`, `time_us`, `time_s`, and optionally `batch_size`.
//! Other columns are ignored (a note says which); blank lines and lines
//! starting with `#` are skipped, so a file can say where its rows came
//! from.
//!
//! Every problem is a [`Diagnostic`] with line and column (at most
//! [`MAX_ERRORS`], then one saying how many more); reading goes on after
//! a bad cell. Nothing here fits anything.

use crate::spec::{Diagnostic, Diagnostics, suggest};

/// Problems reported at most, before one line saying how many more.
pub const MAX_ERRORS: usize = 50;

/// Warnings about rows (batch smaller than its decodes) listed at most.
const MAX_ROW_NOTES: usize = 10;

/// The columns the fit needs, in the order of the coefficients after `base`.
pub const COUNT_COLUMNS: [&str; 3] = ["prefill_tokens", "decode_seqs", "context_tokens"];
/// The time columns accepted and nanoseconds per unit.
pub const TIME_COLUMNS: [(&str, f64); 3] = [("time_ms", 1e6), ("time_us", 1e3), ("time_s", 1e9)];
/// The optional column checked against `decode_seqs`.
pub const BATCH_COLUMN: &str = "batch_size";

/// One logged iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    pub prefill_tokens: f64,
    pub decode_seqs: f64,
    pub context_tokens: f64,
    pub time_ns: f64,
}

/// What the file held: its rows and notes for stderr (ignored columns,
/// rows whose batch is smaller than their decodes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Log {
    pub rows: Vec<Row>,
    /// The time column's name as the header wrote it.
    pub time_column: String,
    pub notes: Vec<String>,
}

/// A header cell: its name and 1-based column in characters.
struct Cell<'a> {
    text: &'a str,
    column: usize,
}

/// Splits a line at commas; each cell trimmed, with the column where it
/// starts. Surrounding double quotes are removed.
fn cells(line: &str) -> Vec<Cell<'_>> {
    let mut out = Vec::new();
    let mut start_byte = 0;
    for part in line.split(',') {
        let lead = part.len() - part.trim_start().len();
        let column = line[..start_byte + lead].chars().count() + 1;
        let text = part.trim();
        let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        out.push(Cell { text, column });
        start_byte += part.len() + 1;
    }
    out
}

/// Where each needed column is in the header.
struct Layout {
    counts: [usize; 3],
    time: (usize, f64),
    batch: Option<usize>,
}

struct Errors<'f> {
    file: &'f str,
    list: Vec<Diagnostic>,
    more: usize,
}

impl Errors<'_> {
    fn push(&mut self, line: usize, column: usize, path: &str, message: String, hint: Option<String>) {
        if self.list.len() < MAX_ERRORS {
            let (file, path) = (self.file.to_string(), path.to_string());
            self.list.push(Diagnostic { file, line, column, path, message, hint });
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Diagnostics {
        if self.more > 0 {
            let message = format!("… and {} more problems like these", self.more);
            self.list.push(Diagnostic {
                file: self.file.to_string(),
                line: 0,
                column: 0,
                path: String::new(),
                message,
                hint: None,
            });
        }
        Diagnostics(self.list)
    }
}

const EXAMPLE_HEADER: &str = "prefill_tokens,decode_seqs,context_tokens,time_ms";

/// Reads an iteration log. `file` names it in messages.
pub fn read(file: &str, text: &str) -> Result<Log, Diagnostics> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut errors = Errors { file, list: Vec::new(), more: 0 };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    let Some((header_line, header)) = lines.next() else {
        errors.push(
            0,
            0,
            "",
            "the file is empty: expected a header line, then one row per iteration".into(),
            Some(format!("start with a header such as {EXAMPLE_HEADER}")),
        );
        return Err(errors.finish());
    };
    let header_cells = cells(header);
    let mut notes = Vec::new();
    let Some(layout) = layout(&header_cells, header_line, &mut errors, &mut notes) else {
        return Err(errors.finish());
    };
    let time_column = header_cells[layout.time.0].text.to_string();
    let mut rows = Vec::new();
    let mut small_batches = Vec::new();
    for (line, l) in lines {
        if let Some(row) = read_row(&cells(l), line, &layout, &header_cells, &mut errors, &mut small_batches) {
            rows.push(row);
        }
    }
    if errors.list.is_empty() && rows.len() < 4 {
        errors.push(
            0,
            0,
            "",
            format!(
                "{} data row{}: fitting the 4 coefficients needs at least 4",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            ),
            Some("log many iterations, with varied batch sizes and prompt lengths".into()),
        );
    }
    if !errors.list.is_empty() {
        return Err(errors.finish());
    }
    if !small_batches.is_empty() {
        let shown: Vec<String> = small_batches.iter().take(MAX_ROW_NOTES).cloned().collect();
        let more = small_batches.len().saturating_sub(MAX_ROW_NOTES);
        notes.push(format!(
            "warning: {} row{} where batch_size is less than decode_seqs (a batch holds its decoding sequences): {}{}",
            small_batches.len(),
            if small_batches.len() == 1 { "" } else { "s" },
            shown.join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        ));
    }
    Ok(Log { rows, time_column, notes })
}

/// Finds the columns; reports missing, doubled and ambiguous ones.
fn layout(header: &[Cell<'_>], line: usize, errors: &mut Errors<'_>, notes: &mut Vec<String>) -> Option<Layout> {
    let names: Vec<String> = header.iter().map(|c| c.text.to_lowercase()).collect();
    let found = header.iter().map(|c| c.text).collect::<Vec<_>>().join(", ");
    let find = |want: &str, errors: &mut Errors<'_>| -> Option<usize> {
        let at: Vec<usize> = (0..names.len()).filter(|&i| names[i] == want).collect();
        if at.len() > 1 {
            let c = header[at[1]].column;
            errors.push(line, c, want, format!("column {want} appears twice in the header"), None);
        }
        at.first().copied()
    };
    let mut counts = [0usize; 3];
    let mut ok = true;
    for (k, want) in COUNT_COLUMNS.iter().enumerate() {
        match find(want, errors) {
            Some(i) => counts[k] = i,
            None => {
                ok = false;
                let near = suggest(want, names.iter().map(String::as_str));
                let hint = match near {
                    Some(n) => format!("did you mean {n}? rename that column to {want}"),
                    None => format!("add a column {want}: the header needs {EXAMPLE_HEADER} (any order)"),
                };
                errors.push(line, 1, want, format!("missing column {want}; the header has: {found}"), Some(hint));
            }
        }
    }
    let times: Vec<(usize, f64)> =
        TIME_COLUMNS.iter().filter_map(|(n, scale)| find(n, errors).map(|i| (i, *scale))).collect();
    let time = match times.as_slice() {
        [one] => Some(*one),
        [] => {
            ok = false;
            let candidates = TIME_COLUMNS.iter().map(|(n, _)| *n);
            let near = names.iter().find_map(|h| suggest(h, candidates.clone()).map(|t| (h.as_str(), t)));
            let hint = match near {
                Some((h, t)) => format!("did you mean {t}? rename {h} to {t}"),
                None => "name the iteration time time_ms, time_us or time_s, by its unit".into(),
            };
            errors.push(
                line,
                1,
                "time",
                format!("missing the time column (time_ms, time_us or time_s); the header has: {found}"),
                Some(hint),
            );
            None
        }
        [_, second, ..] => {
            ok = false;
            let named: Vec<&str> = times.iter().map(|(i, _)| header[*i].text).collect();
            errors.push(
                line,
                header[second.0].column,
                "time",
                format!("several time columns ({}): which one is the iteration time?", named.join(", ")),
                Some("keep one of time_ms, time_us, time_s".into()),
            );
            None
        }
    };
    let batch = find(BATCH_COLUMN, errors);
    let used: Vec<usize> = counts.iter().copied().chain(times.iter().map(|t| t.0)).chain(batch).collect();
    let ignored: Vec<&str> = (0..header.len()).filter(|i| !used.contains(i)).map(|i| header[i].text).collect();
    if ok && !ignored.is_empty() {
        notes.push(format!(
            "note: ignored column{}: {}",
            if ignored.len() == 1 { "" } else { "s" },
            ignored.join(", ")
        ));
    }
    if !ok || !errors.list.is_empty() {
        return None;
    }
    Some(Layout { counts, time: time?, batch })
}

/// One data row, or `None` with its problems reported.
fn read_row(
    cells: &[Cell<'_>],
    line: usize,
    layout: &Layout,
    header: &[Cell<'_>],
    errors: &mut Errors<'_>,
    small_batches: &mut Vec<String>,
) -> Option<Row> {
    if cells.len() != header.len() {
        let column = cells.last().map_or(1, |c| c.column);
        errors.push(
            line,
            column,
            "",
            format!("{} cells, but the header has {} columns", cells.len(), header.len()),
            Some("every row has one value per header column, separated by commas".into()),
        );
        return None;
    }
    let mut number = |i: usize| -> Option<f64> {
        let c = &cells[i];
        let name = header[i].text;
        let v = c.text.parse::<f64>().ok().filter(|v| v.is_finite());
        match v {
            None => {
                let shown = if c.text.is_empty() { "nothing".to_string() } else { format!("'{}'", c.text) };
                errors.push(line, c.column, name, format!("expected a number, found {shown}"), None);
                None
            }
            Some(v) if v < 0.0 => {
                errors.push(line, c.column, name, format!("{} is negative: counts and times are ≥ 0", c.text), None);
                None
            }
            Some(v) => Some(v),
        }
    };
    let prefill = number(layout.counts[0]);
    let decode = number(layout.counts[1]);
    let context = number(layout.counts[2]);
    let time = number(layout.time.0);
    let batch = layout.batch.map(&mut number);
    let (prefill_tokens, decode_seqs, context_tokens, time) = (prefill?, decode?, context?, time?);
    if let Some(Some(b)) = batch
        && b < decode_seqs
    {
        small_batches.push(format!("line {line}: batch_size {b} < decode_seqs {decode_seqs}"));
    }
    Some(Row { line, prefill_tokens, decode_seqs, context_tokens, time_ns: time * layout.time.1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        read("log.csv", text).expect_err("refused").0.iter().map(|d| d.header()).collect()
    }

    const ROWS: &str = "0,1,100,5\n0,2,300,6\n512,0,0,30\n0,4,900,8\n";

    #[test]
    fn columns_in_any_order_and_case_with_comments_and_extra_columns() {
        let text = "# from a test\nTime_US, context_tokens,Decode_Seqs,prefill_tokens,gpu\n\n1500,100,1,0,a\n2500,300,2,0,b\n\
                    9000,0,0,512,c\n3000,900,4,0,d\n";
        let log = read("log.csv", text).expect("read");
        assert_eq!(log.rows.len(), 4);
        assert_eq!(
            log.rows[0],
            Row { line: 4, prefill_tokens: 0.0, decode_seqs: 1.0, context_tokens: 100.0, time_ns: 1.5e6 }
        );
        assert_eq!(log.time_column, "Time_US");
        assert_eq!(log.notes, vec!["note: ignored column: gpu".to_string()]);
    }

    #[test]
    fn a_missing_column_names_what_was_found_and_the_nearest() {
        let e = errors(&format!("prefill_tokens,decode_seq,context_tokens,time_ms\n{ROWS}"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(
                "log.csv:1:1: decode_seqs: missing column decode_seqs; the header has: prefill_tokens, decode_seq,"
            ),
            "{e:?}"
        );
        let d =
            read("log.csv", &format!("prefill_tokens,decode_seq,context_tokens,time_ms\n{ROWS}")).expect_err("refused");
        assert_eq!(d.0[0].hint.as_deref(), Some("did you mean decode_seq? rename that column to decode_seqs"));
        let e = errors(&format!("prefill_tokens,decode_seqs,context_tokens,latency_ms\n{ROWS}"));
        assert!(e[0].contains("missing the time column"), "{e:?}");
        let e = errors(&format!("prefill_tokens,decode_seqs,context_tokens,time_ms,time_s\n{ROWS}"));
        assert!(e[0].starts_with("log.csv:1:51: time: several time columns (time_ms, time_s)"), "{e:?}");
    }

    #[test]
    fn bad_cells_are_all_reported_with_their_positions() {
        let text = "prefill_tokens,decode_seqs,context_tokens,time_ms\n0,1,100,5\n0,two,300,6\n512,0,-1,30\n0,4,900\n0,4,900,\n";
        let e = errors(text);
        assert_eq!(
            e,
            vec![
                "log.csv:3:3: decode_seqs: expected a number, found 'two'",
                "log.csv:4:7: context_tokens: -1 is negative: counts and times are ≥ 0",
                "log.csv:5:5: 3 cells, but the header has 4 columns",
                "log.csv:6:9: time_ms: expected a number, found nothing",
            ]
        );
    }

    #[test]
    fn an_empty_file_and_too_few_rows_are_refused() {
        assert!(errors("")[0].contains("the file is empty"));
        assert!(errors("# only a comment\n\n")[0].contains("the file is empty"));
        let e = errors("prefill_tokens,decode_seqs,context_tokens,time_ms\n0,1,100,5\n0,2,300,6\n");
        assert_eq!(e, vec!["log.csv: 2 data rows: fitting the 4 coefficients needs at least 4"]);
    }

    #[test]
    fn errors_stop_at_the_cap() {
        let mut text = String::from("prefill_tokens,decode_seqs,context_tokens,time_ms\n");
        for _ in 0..80 {
            text.push_str("x,1,1,1\n");
        }
        let e = errors(&text);
        assert_eq!(e.len(), MAX_ERRORS + 1);
        assert_eq!(e[MAX_ERRORS], "log.csv: … and 30 more problems like these");
    }

    #[test]
    fn a_batch_smaller_than_its_decodes_is_a_warning() {
        let text = "prefill_tokens,decode_seqs,context_tokens,time_ms,batch_size\n0,1,100,5,1\n0,2,300,6,1\n512,0,0,30,1\n0,4,900,8,4\n";
        let log = read("log.csv", text).expect("read");
        assert_eq!(log.notes.len(), 1);
        assert!(
            log.notes[0].contains("1 row where batch_size is less than decode_seqs") && log.notes[0].contains("line 3"),
            "{:?}",
            log.notes
        );
    }
}
