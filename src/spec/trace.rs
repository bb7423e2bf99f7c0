//! `trace:` on a workload → [`WorkloadKind::Trace`]: reads the keys, opens
//! the file through the [`FileSource`](super::FileSource), finds the
//! columns in the header and checks the trace once, streaming
//! ([`crate::sim::trace::scan`]: up to the window's end when `end` is set,
//! else the whole file). A bad line is reported as `file:line` at the
//! `file` key.
//!
//! What it does not: replay (that is `sim::trace`).

use super::decode::{Ctx, Fields};
use super::keys::TRACE;
use super::yaml::Node;
use crate::engine::SimDuration;
use crate::model::{Dist, DistId, EndpointId, Instr, Layout, OnEnd, TimeUnit, Trace, TraceFormat, WorkloadKind};
use crate::sim::trace::{Lines, csv_fields, scan};
use std::io::BufRead;

/// Reads the `trace:` block `n` of a workload; `attributes` is the model's
/// table of attribute names, which this workload's are added to.
pub(super) fn trace(cx: &mut Ctx, n: &Node, path: &str, attributes: &mut Vec<String>) -> Option<WorkloadKind> {
    let f = cx.fields(n, path, n.loc(), &TRACE)?;
    let file_node = cx.require(&f, "file", Some("the trace file, e.g. file: traces/requests.csv"))?;
    let written = cx.text(file_node, &f.at("file"), "a file path")?.to_string();
    let format = match f.get("format") {
        Some(x) => cx.choice(x, &f.at("format"), "trace format", &FORMATS)?,
        None => TraceFormat::Timestamps,
    };
    let jsonl = match f.get("lines") {
        Some(x) => cx.choice(x, &f.at("lines"), "line format", &[("csv", false), ("jsonl", true)])?,
        None => written.ends_with(".jsonl") || written.ends_with(".ndjson"),
    };
    let column = match f.get("column") {
        Some(c) => Some(cx.text(c, &f.at("column"), "a column name")?.to_string()),
        None => None,
    };
    let names = attribute_names(cx, &f)?;
    let interval = match (format, f.get("interval")) {
        (TraceFormat::Counts, Some(i)) => cx.positive_duration(i, &f.at("interval"))?,
        (TraceFormat::Counts, None) => {
            cx.error(f.at, path, "format: counts needs an interval", Some("e.g. interval: 1m".into()));
            return None;
        }
        (TraceFormat::Timestamps, Some(i)) => {
            cx.error(i.loc(), &f.at("interval"), "'interval' applies to format: counts only", None);
            return None;
        }
        (TraceFormat::Timestamps, None) => SimDuration::ZERO,
    };
    if format == TraceFormat::Counts && !names.is_empty() {
        cx.error(f.at, &f.at("attributes"), "a counts trace has no per-request attributes", None);
        return None;
    }
    let speed = opt(cx, &f, "speed", Ctx::positive)?.unwrap_or(1.0);
    let scale = opt(cx, &f, "scale", Ctx::factor)?.unwrap_or(1.0);
    let start = opt(cx, &f, "start", Ctx::duration)?.unwrap_or(SimDuration::ZERO);
    let end = opt(cx, &f, "end", Ctx::positive_duration)?;
    if let (Some(e), Some(n)) = (end, f.get("end"))
        && e <= start
    {
        cx.error(n.loc(), &f.at("end"), format!("the window ends ({e}) before it starts ({start})"), None);
        return None;
    }
    let on_end = match f.get("on_end") {
        Some(x) => cx.choice(x, &f.at("on_end"), "end rule", &[("stop", OnEnd::Stop), ("loop", OnEnd::Loop)])?,
        None => OnEnd::Stop,
    };
    let unit = match f.get("unit") {
        Some(x) => Some(cx.choice(x, &f.at("unit"), "time unit", &UNITS)?),
        None => None,
    };
    let at = file_node.loc();
    let fpath = f.at("file");
    let open = match cx.files.opener(&super::resolve(cx.base_dir, &written)) {
        Ok(o) => o,
        Err(e) => {
            cx.error(at, &fpath, format!("cannot read the trace {written}: {e}"), None);
            return None;
        }
    };
    let mut t = Trace {
        file: written.clone(),
        open,
        format,
        layout: Layout::Csv { value: 0, attrs: Vec::new() },
        unit: unit.unwrap_or(TimeUnit::Seconds),
        interval,
        speed,
        scale,
        start,
        end,
        on_end,
        attr_slots: names.iter().map(|a| slot(attributes, a)).collect(),
        window_count: 0,
        period: SimDuration::ZERO,
    };
    t.layout = match layout(&t, jsonl, column, &names) {
        Ok(l) => l,
        Err(msg) => {
            cx.error(at, &fpath, msg, None);
            return None;
        }
    };
    if unit.is_none() && format == TraceFormat::Timestamps {
        // Seconds if the first value reads as a number, else date-times.
        let numeric = Lines::open(&t).and_then(|mut l| l.next(&mut Vec::new())).is_ok();
        t.unit = if numeric { TimeUnit::Seconds } else { TimeUnit::DateTime };
    }
    match scan(&t) {
        Ok(s) if s.count == 0 => {
            let msg = format!(
                "the trace {written} has no requests{}",
                if start > SimDuration::ZERO || end.is_some() { " in its window" } else { "" }
            );
            cx.error(at, &fpath, msg, None);
            None
        }
        Ok(s) => {
            (t.window_count, t.period) = (s.count, s.period);
            Some(WorkloadKind::Trace(Box::new(t)))
        }
        Err(e) => {
            cx.error(at, &fpath, format!("{written}:{}: {}", e.line, e.message), None);
            None
        }
    }
}

const FORMATS: [(&str, TraceFormat); 2] = [("timestamps", TraceFormat::Timestamps), ("counts", TraceFormat::Counts)];
const UNITS: [(&str, TimeUnit); 3] =
    [("datetime", TimeUnit::DateTime), ("s", TimeUnit::Seconds), ("ms", TimeUnit::Millis)];

fn opt<'a, T>(
    cx: &mut Ctx<'a>,
    f: &Fields,
    key: &str,
    read: fn(&mut Ctx<'a>, &Node, &str) -> Option<T>,
) -> Option<Option<T>> {
    match f.get(key) {
        Some(n) => read(cx, n, &f.at(key)).map(Some),
        None => Some(None),
    }
}

fn attribute_names(cx: &mut Ctx, f: &Fields) -> Option<Vec<String>> {
    let Some(n) = f.get("attributes") else { return Some(Vec::new()) };
    let path = f.at("attributes");
    let items = cx.list(n, &path, "a list of column names", "write attributes: [ ContextTokens, GeneratedTokens ]")?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        out.push(cx.text(item, &format!("{path}[{i}]"), "a column name")?.to_string());
    }
    Some(out)
}

/// The index of attribute `name` in the model's table, added if new.
fn slot(table: &mut Vec<String>, name: &str) -> u16 {
    let i = table.iter().position(|a| a == name).unwrap_or_else(|| {
        table.push(name.to_string());
        table.len() - 1
    });
    i as u16
}

/// Where the value and the attributes are on a line: for CSV, their
/// positions in the header (a missing one lists those there are).
fn layout(t: &Trace, jsonl: bool, column: Option<String>, names: &[String]) -> Result<Layout, String> {
    if jsonl {
        let value = column.ok_or("JSON lines need 'column': the field of the timestamp (or count)")?;
        return Ok(Layout::JsonLines { value, attrs: names.to_vec() });
    }
    let mut r = (t.open)().map_err(|e| format!("cannot read the trace {}: {e}", t.file))?;
    let mut header = String::new();
    r.read_line(&mut header).map_err(|e| format!("cannot read the trace {}: {e}", t.file))?;
    let header = header.trim_end_matches(['\n', '\r']).trim_start_matches('\u{feff}');
    if header.trim().is_empty() {
        return Err(format!("the trace {} is empty: its first line should name the columns", t.file));
    }
    let cols: Vec<&str> = csv_fields(header).collect();
    let find = |name: &str| {
        cols.iter().position(|c| *c == name).ok_or_else(|| {
            let listed = cols.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
            format!("{}:1: no column '{name}'; the columns are {listed}", t.file)
        })
    };
    let value = match &column {
        Some(c) => find(c)?,
        None => 0,
    };
    let attrs = names.iter().map(|n| find(n)).collect::<Result<Vec<_>, _>>()?;
    Ok(Layout::Csv { value, attrs })
}

/// Gives each `per(ATTR, …)` its slot in the model's attribute table, and
/// checks at load time what can be: `per` sizes a work or delay step of an
/// endpoint (nothing else has a request to read), and every workload that
/// can reach that endpoint (through any call) carries the attribute.
pub(super) fn resolve_per(b: &mut super::topology::Build) {
    if b.cx.pers.is_empty() {
        return;
    }
    let m = &b.model;
    let in_steps: Vec<(EndpointId, DistId)> = m
        .endpoints
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            e.code.iter().filter_map(move |c| match c {
                Instr::Work(d) | Instr::Delay(d) => Some((EndpointId(i as u32), *d)),
                _ => None,
            })
        })
        .collect();
    let reach: Vec<Vec<bool>> = m.workloads.iter().map(|w| reachable(m, w.target)).collect();
    let mut errors = Vec::new();
    for (id, at, path) in std::mem::take(&mut b.cx.pers) {
        let Dist::Per(p) = &mut b.cx.dists[id.ix()] else { continue };
        let slot = m.attributes.iter().position(|a| *a == p.name);
        let users: Vec<EndpointId> = in_steps.iter().filter(|(_, d)| *d == id).map(|(e, _)| *e).collect();
        if users.is_empty() {
            errors.push((at, path, format!("per({}, …) sizes work and delay steps only", p.name), None));
            continue;
        }
        let Some(slot) = slot else {
            let known = if m.attributes.is_empty() { "none".into() } else { m.attributes.join(", ") };
            let msg = format!("no workload carries an attribute '{}' (attributes: {known})", p.name);
            let hint = "list it in a trace's attributes, e.g. trace: { …, attributes: [ ContextTokens ] }";
            errors.push((at, path, msg, Some(hint.to_string())));
            continue;
        };
        p.slot = slot as u16;
        for (w, r) in m.workloads.iter().zip(&reach) {
            let carries = matches!(&w.kind, WorkloadKind::Trace(t) if t.attr_slots.contains(&(slot as u16)));
            if let Some(e) = users.iter().find(|e| r[e.ix()]).filter(|_| !carries) {
                let msg = format!(
                    "workload '{}' reaches {} but its requests carry no attribute '{}' for per()",
                    w.name,
                    m.endpoints[e.ix()].full_name,
                    p.name
                );
                errors.push((at, path.clone(), msg, None));
            }
        }
    }
    for (at, path, msg, hint) in errors {
        b.cx.error(at, &path, msg, hint);
    }
}

/// The endpoints a request to `from` can reach through calls.
pub(super) fn reachable(m: &crate::model::Model, from: EndpointId) -> Vec<bool> {
    let mut seen = vec![false; m.endpoints.len()];
    let mut todo = vec![from];
    while let Some(e) = todo.pop() {
        if std::mem::replace(&mut seen[e.ix()], true) {
            continue;
        }
        todo.extend(m.edges.iter().filter(|x| x.caller == e).map(|x| x.callee));
    }
    seen
}
