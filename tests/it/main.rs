//! Integration tests: one binary, one module per concern.
//!
//! - [`formulas`]: queueing-theory formulas and statistics (pure, own tests);
//! - [`common`]: loading topologies, running with invariants checked,
//!   running replications in parallel;
//! - [`theory`]: M/M/1, M/M/c, M/D/1, M/M/c/K, a Jackson network and a
//!   closed loop against their formulas within derived tolerances;
//! - [`determinism`]: same seed, same bytes; common random numbers;
//! - [`invariants`]: random small topologies (swarm testing) with invariants;
//! - [`examples`]: every file in `topologies/` loads and runs;
//! - [`experiment_cli`]: experiments, capacity and SLO gates as a user
//!   runs them (shards merged byte for byte, resume, exit codes);
//! - [`experiments`]: every file in `experiments/` runs (reduced); common
//!   random numbers, threads, bad paths, an objective against Erlang C;
//! - [`caches`]: keyed caches against Che's approximation, the TTL renewal
//!   formula, and what flushes, restarts, coalescing and warm starts do;
//! - [`storms`]: retries, hedges, breakers and faults against arithmetic;
//! - [`queues`]: queues against M/M/1 and M/M/c, lag under an outage,
//!   conservation, rejection, crashes, request-reply and lag autoscaling;
//! - [`clients`]: edge clients' timeouts, retries and cancellation
//!   against arithmetic;
//! - [`imports`]: k6 options, Prometheus responses and `stages` as
//!   arrivals over time (counts against integrals), bad files refused;
//! - [`autoscale`]: the HPA in the simulation under step loads;
//! - [`traces`]: trace replay and request attributes (`per()`), bad
//!   traces refused with file and line;
//! - [`trust`]: answers that once misled, pinned (findings per window,
//!   null latencies, the digest, stable random streams);
//! - [`calibrate`]: `stormcast calibrate` on logs written to a temp dir
//!   (the YAML it prints read back by the loader, bad logs, the doc's example);
//! - [`cli`]: the command line as a user runs it (exit codes, stderr,
//!   `stormcast schema`, notes, binary files);
//! - [`report`]: the run report from `run --out` and `stormcast report`
//!   (rebuilt byte for byte, missing inputs, partial runs);
//! - [`architecture`]: the module graph of `sim/` is a DAG, leaves call no
//!   orchestrator;
//! - [`schema`]: the JSON Schema and the docs' key tables generated from
//!   the key tables;
//! - [`corpus`]: every committed fuzz input replayed (the short fuzz run);
//! - [`deploy`]: the Kubernetes Job, Slurm script and CI workflow of
//!   `deploy/` slice, gate and merge as the CLI does (`deploy/check.sh`).

mod architecture;
mod autoscale;
mod caches;
mod calibrate;
mod cli;
mod clients;
mod cluster;
mod common;
mod corpus;
mod deploy;
mod determinism;
mod examples;
mod experiment_cli;
mod experiments;
mod formulas;
mod imports;
mod invariants;
mod queues;
mod report;
mod schema;
mod storms;
mod theory;
mod traces;
mod trust;
