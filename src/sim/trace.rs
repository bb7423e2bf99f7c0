//! Trace replay: reads a trace line by line and turns it into arrival times
//! (and request attributes), holding one line at a time — a trace of any
//! size replays in bounded memory. The same line reader checks the trace at
//! load time ([`scan`]), so what the check accepts is what the replay reads.
//!
//! Timestamps: each line is one request at `(timestamp − first timestamp −
//! start) / speed` of simulated time. Counts: line *i* holds the number of
//! requests in `[i·interval, (i+1)·interval)`; that many arrivals are
//! spread uniformly at random over the interval (a Poisson process given
//! its count), drawn in order one at a time. `scale` copies each arrival
//! ⌊scale⌋ times, and once more with probability scale − ⌊scale⌋, from the
//! workload's own stream.
//!
//! A leaf: it returns times; `arrivals` asks it, `flow` sends the requests.

use crate::engine::{RngStream, SimDuration, SimTime};
use crate::model::{Layout, OnEnd, TimeUnit, Trace, TraceFormat};
use std::io::BufRead;
use std::rc::Rc;

/// A request's attribute values, shared by every call and attempt it leads
/// to; behind one thin pointer, so a request without any pays 8 bytes.
pub(crate) type Attrs = Rc<Vec<f64>>;

/// A line the trace reader refused (1-based line number in the file).
#[derive(Clone, Debug, PartialEq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

/// The fields of a comma-separated line, trimmed and unquoted.
pub fn csv_fields(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|f| {
        let f = f.trim();
        f.strip_prefix('"').and_then(|g| g.strip_suffix('"')).unwrap_or(f)
    })
}

/// Reads the data lines of a trace, one at a time.
pub struct Lines {
    r: Box<dyn BufRead + Send>,
    buf: String,
    /// The number of the line read last.
    pub line: u64,
    layout: Layout,
    unit: TimeUnit,
    format: TraceFormat,
}

impl Lines {
    /// Opens the trace and skips a CSV header.
    pub fn open(t: &Trace) -> Result<Lines, LineError> {
        let r = (t.open)().map_err(|e| LineError { line: 0, message: format!("cannot read {}: {e}", t.file) })?;
        let mut l = Lines { r, buf: String::new(), line: 0, layout: t.layout.clone(), unit: t.unit, format: t.format };
        if matches!(l.layout, Layout::Csv { .. }) {
            l.read_line()?;
        }
        Ok(l)
    }

    /// The next line, without its line break; `None` at the end.
    fn read_line(&mut self) -> Result<Option<&str>, LineError> {
        self.buf.clear();
        self.line += 1;
        match self.r.read_line(&mut self.buf) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(self.buf.trim_end_matches(['\n', '\r']))),
            Err(e) => Err(LineError { line: self.line, message: format!("cannot read the line: {e}") }),
        }
    }

    /// The next data line's value — a timestamp in nanoseconds, or a count —
    /// with its attributes written into `attrs` (in layout order); blank
    /// lines are skipped. `None` at the end of the file.
    pub fn next(&mut self, attrs: &mut Vec<f64>) -> Result<Option<i64>, LineError> {
        let (unit, format, layout) = (self.unit, self.format, self.layout.clone());
        loop {
            let line_no = self.line + 1;
            let Some(text) = self.read_line()? else { return Ok(None) };
            if text.trim().is_empty() {
                continue;
            }
            let err = |message: String| LineError { line: line_no, message };
            attrs.clear();
            let value = match &layout {
                Layout::Csv { value, attrs: cols } => {
                    let fields: Vec<&str> = csv_fields(text).collect();
                    let get = |i: usize| {
                        fields.get(i).copied().ok_or_else(|| err(format!("no field {} on this line", i + 1)))
                    };
                    for &c in cols {
                        attrs.push(number(get(c)?).map_err(err)?);
                    }
                    parse_value(get(*value)?, unit, format).map_err(err)?
                }
                Layout::JsonLines { value, attrs: keys } => {
                    let obj: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(text).map_err(|e| err(format!("not a JSON object: {e}")))?;
                    let field = |k: &str| obj.get(k).ok_or_else(|| err(format!("no field '{k}' on this line")));
                    for k in keys {
                        let v = field(k)?;
                        attrs.push(v.as_f64().ok_or_else(|| err(format!("'{k}' is {v}, not a number")))?);
                    }
                    let v = field(value)?;
                    let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    parse_value(&s, unit, format).map_err(err)?
                }
            };
            return Ok(Some(value));
        }
    }
}

fn number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("cannot read '{}' as a number", cut(s))),
    }
}

fn cut(s: &str) -> String {
    s.chars().take(60).collect()
}

fn parse_value(s: &str, unit: TimeUnit, format: TraceFormat) -> Result<i64, String> {
    if format == TraceFormat::Counts {
        return s.parse::<u32>().map(i64::from).map_err(|_| format!("cannot read '{}' as a count", cut(s)));
    }
    match unit {
        TimeUnit::DateTime => date_time_ns(s)
            .ok_or_else(|| format!("cannot read '{}' as a date-time such as 2023-11-16 18:15:46.6805900", cut(s))),
        TimeUnit::Seconds | TimeUnit::Millis => {
            let x = number(s).map_err(|_| format!("cannot read '{}' as a timestamp in {}", cut(s), unit_name(unit)))?;
            let ns = if unit == TimeUnit::Seconds { x * 1e9 } else { x * 1e6 };
            if ns.abs() < 9e18 { Ok(ns.round() as i64) } else { Err(format!("'{}' is out of range", cut(s))) }
        }
    }
}

fn unit_name(u: TimeUnit) -> &'static str {
    match u {
        TimeUnit::DateTime => "date-times",
        TimeUnit::Seconds => "seconds",
        TimeUnit::Millis => "milliseconds",
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fraction]` (or `T` between, an optional `Z`) as
/// nanoseconds since 1970 (UTC; no time zones).
pub fn date_time_ns(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b' ' | b'T') || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut frac_ns = 0i64;
    if b.len() > 19 {
        let f = s.get(20..)?;
        if b[19] != b'.' || f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        frac_ns = f.parse::<i64>().ok()? * 10i64.pow(9 - f.len() as u32);
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi) * 60_000_000_000 + sec * 1_000_000_000 + frac_ns)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What one pass over the trace at load time found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scan {
    /// Arrivals in the window (at scale 1).
    pub count: u64,
    /// One pass of the window, in trace time.
    pub period: SimDuration,
}

/// Reads the trace once (streaming, storing nothing): every line up to the
/// window's end must parse and timestamps must not decrease.
pub fn scan(t: &Trace) -> Result<Scan, LineError> {
    let mut lines = Lines::open(t)?;
    let mut attrs = Vec::new();
    let (start, end) = (t.start.0 as i64, t.end.map(|e| e.0 as i64));
    let mut count = 0u64;
    if t.format == TraceFormat::Counts {
        let step = t.interval.0 as i64;
        let mut row = 0i64;
        while let Some(n) = lines.next(&mut attrs)? {
            let at = row * step;
            if end.is_some_and(|e| at >= e) {
                break;
            }
            if at >= start {
                count += n as u64;
            }
            row += 1;
        }
        let rows = (row * step - start).max(0);
        return Ok(Scan { count, period: SimDuration(end.map_or(rows, |e| e - start) as u64) });
    }
    let (mut origin, mut prev, mut first_in, mut last_in) = (None, (0i64, 0u64), None, 0i64);
    while let Some(ts) = lines.next(&mut attrs)? {
        if origin.is_some() && ts < prev.0 {
            let message = format!("timestamps must not decrease: this one is before the one on line {}", prev.1);
            return Err(LineError { line: lines.line, message });
        }
        prev = (ts, lines.line);
        let rel = ts - *origin.get_or_insert(ts);
        if end.is_some_and(|e| rel >= e) {
            break;
        }
        if rel >= start {
            count += 1;
            first_in.get_or_insert(rel);
            last_in = rel;
        }
    }
    let period = match (end, first_in) {
        (Some(e), _) => e - start,
        (None, Some(first)) if count > 1 => last_in - start + (last_in - first) / (count as i64 - 1),
        (None, _) => last_in - start + 1_000_000_000,
    };
    Ok(Scan { count, period: SimDuration(period.max(1) as u64) })
}

/// A trace being replayed.
pub(crate) struct TraceState {
    lines: Option<Lines>,
    /// The first timestamp of the file.
    origin: Option<i64>,
    /// Loops done: the current pass is shifted by `pass · period`.
    pass: u64,
    scale_rng: RngStream,
    spread_rng: RngStream,
    /// Counts: the current line's interval (trace ns from the window start)
    /// and the arrivals still to place in it, with the last one's place in
    /// [0, 1).
    row: i64,
    left: u64,
    placed: f64,
    /// The arrival read last: its time, attributes and copies still to send.
    pending: (SimTime, Option<Attrs>),
    copies: u64,
    /// The attributes of the arrival due now.
    due: Option<Attrs>,
    buf: Vec<f64>,
    /// Length of a request's attribute vector.
    n_attrs: usize,
}

impl TraceState {
    pub(crate) fn new(t: &Trace, seed: u64, name: &str, n_attrs: usize) -> TraceState {
        TraceState {
            lines: Lines::open(t).ok(),
            origin: None,
            pass: 0,
            scale_rng: RngStream::derive(seed, "trace-scale", name),
            spread_rng: RngStream::derive(seed, "trace-spread", name),
            row: -1,
            left: 0,
            placed: 0.0,
            pending: (SimTime::ZERO, None),
            copies: 0,
            due: None,
            buf: Vec::new(),
            n_attrs,
        }
    }

    /// The attributes of the arrival that is due (taken once).
    pub(crate) fn take_due(&mut self) -> Option<Attrs> {
        self.due.take()
    }

    fn copies(&mut self, scale: f64) -> u64 {
        let whole = scale.floor();
        whole as u64 + u64::from(self.scale_rng.chance(scale - whole))
    }

    /// Simulated time of trace time `rel` (from the window start) in this pass.
    fn at(&self, t: &Trace, rel: f64) -> SimTime {
        let secs = (self.pass as f64 * t.period.0 as f64 + rel) / t.speed / 1e9;
        SimTime(SimDuration::from_secs_f64(secs).0)
    }

    /// The window is over: loop or stop. False when it stops.
    fn rewind(&mut self, t: &Trace) -> bool {
        if t.on_end == OnEnd::Stop || t.window_count == 0 {
            self.lines = None;
            return false;
        }
        self.pass += 1;
        self.row = -1;
        self.left = 0;
        self.lines = Lines::open(t).ok();
        self.lines.is_some()
    }
}

/// The time of the trace's next arrival at or after `now`, if before `end`
/// (its attributes are then [`TraceState::take_due`]'s).
pub(crate) fn next(t: &Trace, st: &mut TraceState, now: SimTime, end: SimTime) -> Option<SimTime> {
    loop {
        if st.copies > 0 {
            st.copies -= 1;
            let at = st.pending.0.max(now);
            if at > end {
                st.lines = None;
                return None;
            }
            st.due = st.pending.1.clone();
            return Some(at);
        }
        st.lines.as_ref()?;
        let more = match t.format {
            TraceFormat::Timestamps => next_stamp(t, st),
            TraceFormat::Counts => next_counted(t, st),
        };
        if !more && !st.rewind(t) {
            return None;
        }
    }
}

/// Reads the next timestamp of the window into `pending`; false at the
/// window's end (or a line that no longer reads: the trace changed since
/// it was checked, and the replay stops there).
fn next_stamp(t: &Trace, st: &mut TraceState) -> bool {
    let (start, end) = (t.start.0 as i64, t.end.map(|e| e.0 as i64));
    loop {
        let Some(lines) = st.lines.as_mut() else { return false };
        let Ok(Some(ts)) = lines.next(&mut st.buf) else { return false };
        let rel = ts - *st.origin.get_or_insert(ts);
        if end.is_some_and(|e| rel >= e) {
            return false;
        }
        if rel < start {
            continue;
        }
        st.pending = (st.at(t, (rel - start) as f64), attributes(t, &st.buf, st.n_attrs));
        st.copies = st.copies(t.scale);
        return true;
    }
}

/// Places the next arrival of the current interval (reading lines until
/// one has arrivals); false at the window's end.
fn next_counted(t: &Trace, st: &mut TraceState) -> bool {
    let step = t.interval.0 as i64;
    let (start, end) = (t.start.0 as i64, t.end.map(|e| e.0 as i64));
    while st.left == 0 {
        let Some(lines) = st.lines.as_mut() else { return false };
        let Ok(Some(n)) = lines.next(&mut st.buf) else { return false };
        st.row += 1;
        let at = st.row * step;
        if end.is_some_and(|e| at >= e) {
            return false;
        }
        if at < start {
            continue;
        }
        st.left = (0..n).map(|_| st.copies(t.scale)).sum();
        st.placed = 0.0;
    }
    // The next of `left` sorted uniforms on [placed, 1): the minimum of
    // `left` uniforms is 1 − U^(1/left) of the way there.
    let u = st.spread_rng.unit_open0();
    st.placed += (1.0 - st.placed) * (1.0 - u.powf(1.0 / st.left as f64));
    st.left -= 1;
    let rel = (st.row * step - start) as f64 + st.placed * step as f64;
    st.pending = (st.at(t, rel), None);
    st.copies = 1;
    true
}

/// A request's attribute vector: the line's attributes in their slots,
/// NaN where this workload carries none. `None` without attributes.
fn attributes(t: &Trace, vals: &[f64], n: usize) -> Option<Attrs> {
    if t.attr_slots.is_empty() {
        return None;
    }
    let mut v = vec![f64::NAN; n];
    for (slot, x) in t.attr_slots.iter().zip(vals) {
        v[*slot as usize] = *x;
    }
    Some(Rc::new(v))
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
