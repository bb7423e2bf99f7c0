//! Results → text summary, CSV series, Mermaid/DOT graphs and the static
//! check report. Never runs a simulation: a report can be rebuilt from a
//! saved result (graphs and checks read only the validated model).

mod check;
mod csv;
mod graph;
mod table;
mod text;

pub use check::{Analysis, analyze, check_report};
pub use csv::{services_csv, workloads_csv};
pub use graph::{dot, mermaid};
pub use text::summary;
