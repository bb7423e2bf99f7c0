//! Results → text summary, CSV series, Mermaid/DOT graphs, the static
//! check report, the run report and the experiment report (HTML and
//! Markdown, with `points.csv`). Never runs a
//! simulation: a report can be rebuilt from saved results (graphs and
//! checks read only the validated model).
//!
//! The report's building blocks are shared by every report: [`page`] (a
//! format-neutral page of headings, tables with interval and difference
//! cells, figures; rendered to HTML or Markdown) and [`chart`] (line
//! charts with shaded windows, stacked bars and waterfalls, layered
//! diagrams, as SVG). [`stored`] reads the files of an `--out` folder back.

mod capacity;
pub mod chart;
mod check;
mod csv;
pub mod experiment_report;
mod experiment_text;
mod graph;
pub mod page;
pub mod run_report;
pub mod stored;
mod table;
mod text;

pub use capacity::{capacity_csv, capacity_svg, capacity_text};
pub use check::{Analysis, analyze, check_report};
pub use csv::{caches_csv, services_csv, workloads_csv};
pub use experiment_text::{experiment_text, point_label};
pub use graph::{dot, mermaid};
pub use stored::{RunInfo, Stored, TopologyInfo, topology_info};
pub use text::summary;
