//! # stormcast
//!
//! A deterministic discrete-event simulator of distributed services.
//!
//! In the order a user works:
//! 1. [`spec`] reads a topology file (YAML) and checks it, reporting every
//!    problem with file, line, column and YAML path; the result is a
//!    validated, immutable [`model::Model`].
//! 2. [`sim`] runs the model on the [`engine`] kernel and fills [`metrics`]
//!    recorders, bounded by what is in flight.
//! 3. [`metrics::RunResult`] is the machine-readable result (`--json`);
//!    [`report`] turns it into text, CSV, diagrams and the HTML/Markdown
//!    run report (rebuilt from saved files alone).
//! 4. [`experiment`] runs variants × sweep points × replications of a
//!    model on all cores, deterministically, and compares them under
//!    common random numbers.
//! 5. [`calibrate`] fits an inference server's iteration cost to a log of
//!    real iterations (`stormcast calibrate`).
//! 6. [`cli`] is the only part that touches files, the terminal and the clock.

pub mod calibrate;
pub mod cli;
pub mod engine;
pub mod experiment;
pub mod metrics;
pub mod model;
pub mod report;
pub mod sim;
pub mod spec;
