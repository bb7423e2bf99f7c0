//! Results → text summary, CSV series, Mermaid/DOT graphs. Never runs a
//! simulation: a report can be rebuilt from a saved result.
