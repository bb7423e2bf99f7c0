//! The design-review report of one run, built from the files of an `--out`
//! folder ([`Stored`]) as one [`Page`]: the run and whether it is complete,
//! the topology, findings and faults, tables per workload, service and call
//! edge (and the cluster and the inference servers, when there are), charts over time, where the time goes hop by hop, and how to rerun
//! it. [`html`] and [`markdown`] render the same page, so their numbers are
//! the same text — formatted as the terminal summary formats them.
//!
//! What it does not: run or load anything (a report is rebuilt from stored
//! files), or read files (the CLI does).

pub(super) mod charts;
pub(super) mod tables;

use super::page::{self, Block, Figure, Format, Page, Text};
use super::stored::Stored;
use super::table::thousands;
use crate::metrics::{Finding, RunResult};

/// The report as one self-contained HTML file.
pub fn html(s: &Stored) -> String {
    page::to_html(&run_page(s))
}

/// The report as Markdown, for a design doc.
pub fn markdown(s: &Stored) -> String {
    page::to_markdown(&run_page(s))
}

/// The whole report as a page.
pub fn run_page(s: &Stored) -> Page {
    let r = &s.result;
    let mut p = Page::new(format!("{} — stormcast run report", r.name));
    p.subtitle = Some(Text::plain(format!(
        "{} s simulated (warm-up {} s), seed {}, stormcast {}{}",
        r.duration_s,
        r.warmup_s,
        r.seed,
        s.run.stormcast_version,
        if r.complete { "" } else { " — PARTIAL RESULT" }
    )));
    the_run(&mut p, s);
    topology(&mut p, s);
    findings(&mut p, r);
    tables::workloads(&mut p, r);
    tables::services(&mut p, r);
    tables::endpoints(&mut p, r);
    tables::edges(&mut p, r);
    tables::caches(&mut p, r);
    tables::queues(&mut p, r);
    tables::cluster(&mut p, r);
    tables::inference(&mut p, r);
    charts::over_time(&mut p, r);
    tables::chains(&mut p, r);
    rerun(&mut p, s);
    p
}

/// Simulated seconds as a reader wants them: at most three decimals
/// (milliseconds), no trailing zeros (`240`, `112.065`).
pub(super) fn secs(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Why the numbers are partial, when they are.
fn partial_alert(r: &RunResult) -> Text {
    Text::plain(format!(
        "PARTIAL RESULT — the run stopped at its {} safety limit after {} s of the {} s to simulate. \
         Every number in this report covers only the simulated part; rerun with a higher limit for the whole run.",
        r.engine.stopped_by,
        secs(r.engine.sim_time_s),
        secs(r.duration_s)
    ))
}

fn the_run(p: &mut Page, s: &Stored) {
    let r = &s.result;
    p.heading(2, "The run");
    if !r.complete {
        p.push(Block::Alert(partial_alert(r)));
    }
    let stopped = if r.complete {
        Text::plain(format!("{} (complete)", r.engine.stopped_by))
    } else {
        Text::new().strong(format!(
            "{} — PARTIAL: {} s of {} s simulated",
            r.engine.stopped_by, r.engine.sim_time_s, r.duration_s
        ))
    };
    let mut facts = vec![
        ("topology".to_string(), Text::new().code(&r.name).t(" from ").code(&s.run.input_file)),
        ("seed".into(), Text::plain(r.seed.to_string())),
        (
            "duration".into(),
            Text::plain(format!(
                "{} s simulated, warm-up {} s (statistics count requests arriving after it)",
                r.duration_s, r.warmup_s
            )),
        ),
        ("stopped by".into(), stopped),
        ("events".into(), Text::new().t(thousands(r.engine.events)).t(", digest ").code(&r.engine.digest)),
        ("series interval".into(), Text::plain(format!("{} s", s.run.interval_s))),
    ];
    if let Some(c) = &r.cost {
        facts.push((
            "cost".into(),
            Text::plain(format!("{:.2} replica-hours × {} = {:.2}", c.replica_hours, c.per_replica_hour, c.total)),
        ));
    }
    p.push(Block::Facts(facts));
    for (name, w) in &r.workloads {
        let share = if w.offered > 0 { 100.0 * w.ok as f64 / w.offered as f64 } else { 0.0 };
        p.paragraph(Text::new().strong("Outcome:").t(" ").code(name).t(format!(
            " — {} of {} requests ok ({share:.1}%), goodput {:.1}/s, p99 {} ms.",
            thousands(w.ok),
            thousands(w.offered),
            w.goodput_per_s,
            super::table::opt_ms(w.latency_ms.p99)
        )));
    }
}

fn topology(p: &mut Page, s: &Stored) {
    p.heading(2, "Topology");
    p.only(
        Format::Html,
        Block::Figures(vec![Figure {
            svg: charts::diagram(s).to_svg(),
            caption: "Workloads (grey) and services, left to right along the calls; each arrow lists the \
                      endpoint-to-endpoint calls with their timeouts and most attempts; a line \
                      starting with \u{201c}via queue\u{201d} is the messages a service publishes, to one consumer \
                      group."
                .into(),
            wide: true,
        }]),
    );
    p.only(Format::Markdown, Block::Code { lang: "mermaid".into(), text: s.topology.mermaid.clone() });
}

/// `61–70 s, 71–240 s`: a finding's windows, the first eight.
fn windows(f: &Finding) -> String {
    let mut parts: Vec<String> =
        f.windows.iter().take(8).map(|w| format!("{}–{} s", secs(w.from_s), secs(w.to_s))).collect();
    if f.windows.len() > 8 {
        parts.push(format!("and {} more", f.windows.len() - 8));
    }
    if parts.is_empty() {
        parts.push(format!("{}–{} s", secs(f.from_s), secs(f.to_s)));
    }
    parts.join(", ")
}

fn findings(p: &mut Page, r: &RunResult) {
    p.heading(2, "Findings");
    if r.findings.is_empty() {
        p.paragraph(Text::plain(if r.queues.is_empty() {
            "None: no saturation, exhausted pool, retry storm, failed recovery or slow autoscaler was detected."
        } else {
            "None: no saturation, exhausted pool, retry storm, failed recovery, slow autoscaler, growing backlog or \
             dead letters was detected."
        }));
    } else {
        let items = r
            .findings
            .iter()
            .map(|f| {
                Text::new().strong(f.kind.word()).t(" at ").code(&f.subject).t(format!(
                    " ({}): {}",
                    windows(f),
                    f.message
                ))
            })
            .collect();
        p.push(Block::List(items));
    }
    if !r.faults.is_empty() {
        p.heading(3, "Faults injected");
        let items = r
            .faults
            .iter()
            .map(|f| {
                let end = f.end_s.map_or_else(|| "the end of the run".to_string(), |e| format!("{} s", secs(e)));
                Text::new().strong(&f.kind).t(" on ").code(&f.subject).t(format!(" from {} s to {end}", secs(f.at_s)))
            })
            .collect();
        p.push(Block::List(items));
    }
}

/// A command line as a shell reads it: arguments quoted where needed.
pub(super) fn shell_line(args: &[String]) -> String {
    let quote = |a: &String| {
        let safe = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_./=:,@%+-".contains(c));
        if safe { a.clone() } else { format!("'{}'", a.replace('\'', "'\\''")) }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

fn rerun(p: &mut Page, s: &Stored) {
    p.heading(2, "How to rerun it");
    let mut args = s.run.command.clone();
    if let Some(first) = args.first_mut() {
        // The program as its name, not the path it was started from.
        *first = first.rsplit(['/', '\\']).next().unwrap_or(first).to_string();
    }
    let line = shell_line(&args);
    p.push(Block::Code { lang: "sh".into(), text: line });
    p.push(Block::Facts(vec![
        ("stormcast".into(), Text::plain(&s.run.stormcast_version)),
        ("seed".into(), Text::plain(s.result.seed.to_string())),
        ("input".into(), Text::new().code(&s.run.input_file).t(" — SHA-256 ").code(&s.run.input_sha256)),
    ]));
    p.paragraph(
        Text::new()
            .t("The same version, input and seed give the same bytes; ")
            .code(format!("sha256sum {}", shell_line(std::slice::from_ref(&s.run.input_file))))
            .t(" checks that the file is the one that ran (files it reads, such as ")
            .code("empirical(file=…)")
            .t(" samples or HPA manifests, are not in the hash). ")
            .code("stormcast report DIR")
            .t(" rebuilds this report from the folder's files."),
    );
}

#[cfg(test)]
mod tests;
