//! The design-review report of an experiment, built from the files of its
//! `--out` folder (`design.json`, `experiment.json`, `topology.json` and
//! the runs' series) as one [`Page`]: the question and the variants, the
//! summary per point and workload with 95% intervals and differences
//! against the baseline, charts over time per variant, results against
//! the swept values and the cost–latency frontier, the topology, the
//! baseline's latency chains, the findings in words, and how to rerun it.
//! [`Report::html`] and [`Report::markdown`] render the same page;
//! [`points_csv`] gives the summary as one row per point and workload.
//!
//! Series are heavy: the report keeps none. The caller hands each run's
//! series to [`Report::fold`] one at a time (only for the points
//! [`Report::wants_series`] says are charted) and drops it; per point,
//! the report keeps only sums per interval across replications.
//!
//! What it does not: run or load anything, or read files (the CLI does).

mod charts;
mod tables;

pub use tables::points_csv;

use super::page::{self, Block, Figure, Format, Page, Text};
use super::point_label;
use super::run_report::secs;
use super::stored::TopologyInfo;
use crate::experiment::Design;
use crate::experiment::summary::{ExperimentResult, PointResult};
use crate::metrics::{RunResult, Series};

/// What a report is built from: the stored design, result and topology.
#[derive(Clone, Debug)]
pub struct Inputs {
    pub design: Design,
    pub result: ExperimentResult,
    /// The baseline model's shape (`topology.json`), when stored.
    pub topology: Option<TopologyInfo>,
}

impl Inputs {
    /// Reads the files' text: `design.json`, `experiment.json` and, if
    /// there is one, `topology.json`.
    pub fn parse(design: &str, experiment: &str, topology: Option<&str>) -> Result<Inputs, String> {
        let design: Design = serde_json::from_str(design).map_err(|e| format!("design.json: {e}"))?;
        let result: ExperimentResult = serde_json::from_str(experiment).map_err(|e| format!("experiment.json: {e}"))?;
        let topology = topology
            .map(|t| serde_json::from_str::<TopologyInfo>(t).map_err(|e| format!("topology.json: {e}")))
            .transpose()?;
        if result.points.len() != design.points.len() {
            return Err(format!(
                "experiment.json has {} points, design.json {}: the folder mixes two experiments",
                result.points.len(),
                design.points.len()
            ));
        }
        Ok(Inputs { design, result, topology })
    }
}

/// An experiment's report in the making: the stored result, and the
/// charted points' series folded in run by run.
pub struct Report {
    inputs: Inputs,
    time: charts::OverTime,
}

impl Report {
    pub fn new(inputs: Inputs) -> Report {
        let time = charts::OverTime::new(&inputs.design);
        Report { inputs, time }
    }

    /// Whether the series of point `point`'s runs are charted (the others
    /// need not be read).
    pub fn wants_series(&self, point: usize) -> bool {
        self.time.wants(point)
    }

    /// Adds one run's series of point `point` (runs in replication order).
    pub fn fold(&mut self, point: usize, series: &Series) {
        self.time.fold(point, series);
    }

    /// `points.csv`: one row per point and workload.
    pub fn points_csv(&self) -> String {
        points_csv(&self.inputs.design, &self.inputs.result)
    }

    /// The report as one self-contained HTML file.
    pub fn html(&self) -> String {
        page::to_html(&self.page())
    }

    /// The report as Markdown, for a design doc.
    pub fn markdown(&self) -> String {
        page::to_markdown(&self.page())
    }

    /// The whole report as a page.
    pub fn page(&self) -> Page {
        let (d, r) = (&self.inputs.design, &self.inputs.result);
        let mut p = Page::new(format!("{} — stormcast experiment report", d.name));
        let version = if d.provenance.stormcast_version.is_empty() {
            String::new()
        } else {
            format!(", stormcast {}", d.provenance.stormcast_version)
        };
        p.subtitle = Some(Text::plain(format!(
            "{} point{} × {} replications (seeds {}…{}), {} s simulated each (warm-up {} s){version}",
            d.points.len(),
            if d.points.len() == 1 { "" } else { "s" },
            d.replications,
            d.seed,
            d.seed + u64::from(d.replications.saturating_sub(1)),
            secs(d.duration_s),
            secs(d.warmup_s),
        )));
        tables::question(&mut p, d, r);
        tables::summary(&mut p, d, r);
        self.time.section(&mut p, d, first_run(r));
        charts::sweep(&mut p, d, r);
        topology(&mut p, self.inputs.topology.as_ref(), r);
        chains(&mut p, r);
        tables::findings(&mut p, d, r);
        rerun(&mut p, d);
        p
    }
}

/// The baseline's first replication at the first sweep point, if stored.
fn first_run(r: &ExperimentResult) -> Option<&RunResult> {
    r.points.first().and_then(|p| p.runs.first()).map(|x| &x.result)
}

/// The point's label, `variant, key=value`.
fn label(p: &PointResult) -> String {
    point_label(p)
}

fn topology(p: &mut Page, t: Option<&TopologyInfo>, r: &ExperimentResult) {
    p.heading(2, "Topology");
    let (Some(t), Some(run)) = (t, first_run(r)) else {
        p.paragraph(Text::plain(
            "Not drawn: the folder has no topology.json (written by stormcast experiment --out since the report \
             exists) or no stored run.",
        ));
        return;
    };
    p.paragraph(
        Text::new()
            .t("The baseline model (")
            .code(label(&r.points[0]))
            .t("), with the figures of its first replication."),
    );
    p.only(
        Format::Html,
        Block::Figures(vec![Figure {
            svg: super::run_report::charts::diagram_of(t, run).to_svg(),
            caption: "Workloads (grey) and services, left to right along the calls; each arrow lists the \
                      endpoint-to-endpoint calls with their timeouts and most attempts. Variants change what their \
                      set paths say."
                .into(),
            wide: true,
        }]),
    );
    p.only(Format::Markdown, Block::Code { lang: "mermaid".into(), text: t.mermaid.clone() });
}

fn chains(p: &mut Page, r: &ExperimentResult) {
    let Some(run) = first_run(r) else { return };
    if run.chains.values().all(|c| c.mean.is_empty()) {
        return;
    }
    p.heading(2, "Latency chains");
    p.paragraph(
        Text::new()
            .t("The critical path of a successful request, hop by hop (ms per request), in the ")
            .strong(format!("baseline's first replication (seed {}, point {})", run.seed, label(&r.points[0])))
            .t(": one run, not a mean over replications. Each chain averages requests: all successful ones \
                (mean), those near the median (between p45 and p55) and those at or above p99."),
    );
    for (name, c) in &run.chains {
        if c.mean.is_empty() {
            continue;
        }
        let target = run.workloads.get(name).map(|w| w.target.as_str()).unwrap_or("?");
        p.heading(3, format!("{name} → {target}"));
        super::run_report::tables::chain_blocks(p, name, c);
    }
}

fn rerun(p: &mut Page, d: &Design) {
    p.heading(2, "How to rerun it");
    let v = &d.provenance;
    let file = if v.file.is_empty() { "EXPERIMENT.yaml".to_string() } else { v.file.clone() };
    let line =
        super::run_report::shell_line(&["stormcast".into(), "experiment".into(), file, "--out".into(), "DIR".into()]);
    p.push(Block::Code { lang: "sh".into(), text: line });
    let unknown = |s: &str| if s.is_empty() { "not recorded".to_string() } else { s.to_string() };
    p.push(Block::Facts(vec![
        ("stormcast".into(), Text::plain(unknown(&v.stormcast_version))),
        (
            "seeds".into(),
            Text::plain(format!(
                "{} replications on seeds {}…{}, the same for every point",
                d.replications,
                d.seed,
                d.seed + u64::from(d.replications.saturating_sub(1))
            )),
        ),
        ("topology".into(), Text::new().code(&d.topology).t(" (relative to the experiment file)")),
        ("inputs".into(), Text::new().t("SHA-256 ").code(unknown(&v.inputs_sha256))),
    ]));
    p.paragraph(
        Text::new()
            .t("The inputs hash covers the stormcast version, the experiment file and the topology file. A rerun \
                into the same folder keeps every stored run whose own inputs (version, topology, its variant's \
                settings and sweep values, duration, SLOs, seed) did not change, and runs the rest. The same \
                inputs give the same bytes on any number of cores or shards (")
            .code("--shard K/N")
            .t(", then ")
            .code("stormcast report DIR1 DIR2 …")
            .t("). ")
            .code("stormcast report DIR")
            .t(" rebuilds this report from the folder's files without running anything."),
    );
}

#[cfg(test)]
mod tests;
