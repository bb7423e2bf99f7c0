//! The command line: the only code that reads files, writes files, looks at
//! the terminal or the clock.
//!
//! Exit codes: 0 ok, 1 a declared check or SLO failed, 2 bad input or usage,
//! 3 a run stopped at a safety limit (its result is partial).

mod calibrate;
mod capacity;
mod experiment;
mod progress;
mod sha256;

pub use experiment::parse_shard;
pub use sha256::sha256_hex;

use crate::engine::SimDuration;
use crate::model::Model;
use crate::report;
use crate::sim::{self, RunOptions};
use crate::spec::{self, Diagnostics, FileSource, LoadOptions, units};
use clap::{Parser, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Exit code: everything fine.
pub const EXIT_OK: i32 = 0;
/// Exit code: a declared check or SLO failed.
pub const EXIT_CHECK_FAILED: i32 = 1;
/// Exit code: bad input or usage.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code: a run stopped at a safety limit (`--max-events`,
/// `--max-in-flight`): its result is written but partial.
pub const EXIT_PARTIAL: i32 = 3;

/// The shortest series interval `--interval` accepts.
pub const MIN_INTERVAL: SimDuration = SimDuration::from_millis(1);
/// Most series intervals a run with `--out` may keep (rows per workload
/// and service): memory for the series grows with it.
pub const MAX_INTERVALS: u64 = 10_000_000;

/// Reads files from disk.
pub struct FsFiles;

impl FileSource for FsFiles {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    /// Opens the file now (so a missing one is a load error) and again for
    /// each replay, read through a 64 KiB buffer.
    fn opener(&self, path: &Path) -> std::io::Result<std::sync::Arc<crate::model::OpenTrace>> {
        std::fs::File::open(path)?;
        let path = path.to_path_buf();
        Ok(std::sync::Arc::new(move || {
            let f = std::fs::File::open(&path)?;
            let r: Box<dyn std::io::BufRead + Send> = Box::new(std::io::BufReader::with_capacity(1 << 16, f));
            Ok(r)
        }))
    }
}

/// Reads and checks a topology file from disk.
pub fn load_file(path: &Path) -> Result<Model, Diagnostics> {
    load_file_noted(path, &[]).map(|l| l.model)
}

/// Reads a topology file, applies `--set PATH=VALUE` overrides, checks it.
pub fn load_file_with(path: &Path, sets: &[String]) -> Result<Model, Diagnostics> {
    load_file_noted(path, sets).map(|l| l.model)
}

/// As [`load_file_with`], keeping the notes loading made.
pub fn load_file_noted(path: &Path, sets: &[String]) -> Result<spec::Loaded, Diagnostics> {
    load_source_noted(path, sets).map(|(l, _)| l)
}

/// As [`load_file_noted`], also returning the bytes read (what a report's
/// hash covers is exactly what was checked).
fn load_source_noted(path: &Path, sets: &[String]) -> Result<(spec::Loaded, Vec<u8>), Diagnostics> {
    let file = path.display().to_string();
    let bytes = read_source(path)?;
    let text = spec::text_of(&file, &bytes)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loaded = spec::load(&file, &text, sets, &LoadOptions { base_dir, files: &FsFiles })?;
    Ok((loaded, bytes))
}

fn read_source(path: &Path) -> Result<Vec<u8>, Diagnostics> {
    let cannot = |e: String| {
        Diagnostics(vec![spec::Diagnostic {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
            hint: None,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    spec::check_size(&path.display().to_string(), meta.len())?;
    std::fs::read(path).map_err(|e| cannot(e.to_string()))
}

#[derive(Parser, Debug)]
#[command(name = "stormcast", version, about = "Simulate distributed services before you build them", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a topology once and print what happened.
    Run {
        /// The topology file (YAML).
        file: PathBuf,
        /// Print the result as one JSON object on stdout, nothing else.
        #[arg(long)]
        json: bool,
        /// Root seed (overrides the file's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time to run, e.g. 10m (overrides the file's `duration`).
        #[arg(long)]
        duration: Option<String>,
        /// Write summary.json, summary.txt, the CSV series and the report
        /// (report.html, report.md) here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Width of a time-series interval, e.g. 1s, 100ms.
        #[arg(long, default_value = "1s")]
        interval: String,
        /// Stop after this many events (the result says so).
        #[arg(long, default_value_t = 2_000_000_000)]
        max_events: u64,
        /// Stop when this many requests are in flight at once (the result says so).
        #[arg(long, default_value_t = 1_000_000)]
        max_in_flight: u64,
        /// Nothing on stderr but errors: no progress bar, no speed line.
        #[arg(long, short)]
        quiet: bool,
        /// Override a key of the file, e.g. `--set services.db.replicas=3`
        /// (a YAML path, then a YAML value); repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Validate a topology and print its call graph and static findings.
    Check { file: PathBuf },
    /// Print the JSON Schema (draft 2020-12) of the topology format, for
    /// editors; `--markdown`: the key tables of docs/format.md instead.
    Schema {
        #[arg(long)]
        markdown: bool,
    },
    /// Rebuild report.html and report.md from the files `run --out DIR` wrote.
    /// Run an experiment: variants × sweep points × replications on all
    /// cores, compared under common random numbers.
    Experiment {
        /// The experiment file (YAML).
        file: PathBuf,
        /// Store every run, the result (experiment.json) and the report here;
        /// a rerun resumes the runs already stored.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Threads (default: every core). The result does not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Run slice K of N (`K/N`), or `N` with K from JOB_COMPLETION_INDEX
        /// (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID; needs --out.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Print the result as JSON instead of the summary.
        #[arg(long)]
        json: bool,
        /// No progress bar and no speed line on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Find the highest rate of a workload that still meets its SLOs, the
    /// knee of its latency curve, and the curve.
    Capacity {
        /// The topology file (YAML).
        file: PathBuf,
        /// The (open-loop) workload whose rate is raised.
        #[arg(long)]
        workload: String,
        /// Its SLOs: `p99=300ms`, `success=99.9%`, `ttft_p95=2s`, `tpot_p95=100ms`, comma-separated.
        #[arg(long)]
        slo: String,
        /// Runs per rate tried (seeds `seed`, `seed+1`, …; the same at every rate).
        #[arg(long, default_value_t = 5)]
        replications: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated time of each run (overrides the file's).
        #[arg(long)]
        duration: Option<String>,
        /// Threads (default: every core). The result does not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Write capacity.json, capacity.csv (the curve) and capacity.svg
        /// (the curve as a chart) here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Override a key of the file, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Fit an inference server's `iteration:` cost (base, per prefill
    /// token, per decoding sequence, per context token) to a CSV log of
    /// real iterations; prints the coefficients and the YAML to paste.
    Calibrate {
        /// The log: a header with prefill_tokens, decode_seqs,
        /// context_tokens and time_ms (or time_us, time_s); optional
        /// batch_size; one row per iteration.
        file: PathBuf,
        /// Print the result as JSON (coefficients in ns).
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the report of a run folder (`run --out DIR`), or the result
    /// and report of an experiment folder — merging the folders of its
    /// shards when several are given.
    Report {
        /// The folder(s) `stormcast run --out DIR` or `stormcast experiment --out DIR` wrote.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Print the topology as a diagram.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Run { file, json, seed, duration, out, interval, max_events, max_in_flight, quiet, sets } => {
            let args = RunArgs { file, json, seed, duration, out, interval, max_events, max_in_flight, quiet, sets };
            cmd_run(&args)
        }
        Command::Check { file } => cmd_check(&file),
        Command::Experiment { file, out, jobs, shard, json, quiet } => {
            experiment::cmd_experiment(&experiment::ExpArgs { file, out, jobs, shard, json, quiet })
        }
        Command::Capacity { file, workload, slo, replications, seed, duration, jobs, json, out, quiet, sets } => {
            capacity::cmd_capacity(&capacity::CapArgs {
                file,
                workload,
                slo,
                replications,
                seed,
                duration,
                jobs,
                json,
                out,
                quiet,
                sets,
            })
        }
        Command::Report { dirs } => {
            if dirs[0].join(experiment::DESIGN_JSON).exists() {
                experiment::report_experiment(&dirs)
            } else if dirs.len() > 1 {
                usage_error("several folders are merged only for experiments (folders with a design.json)")
            } else {
                cmd_report(&dirs[0])
            }
        }
        Command::Graph { file, format } => cmd_graph(&file, format),
        Command::Calibrate { file, json } => calibrate::cmd_calibrate(&file, json),
        Command::Schema { markdown } => cmd_schema(markdown),
    }
}

struct RunArgs {
    file: PathBuf,
    json: bool,
    seed: Option<u64>,
    duration: Option<String>,
    out: Option<PathBuf>,
    interval: String,
    max_events: u64,
    max_in_flight: u64,
    quiet: bool,
    sets: Vec<String>,
}

/// Loads a model or prints its diagnostics; `Err` carries the exit code.
fn load_or_report(file: &Path) -> Result<Model, i32> {
    load_or_report_with(file, &[])
}

fn load_or_report_with(file: &Path, sets: &[String]) -> Result<Model, i32> {
    let source_of = |f: &str| std::fs::read_to_string(f).ok();
    match load_file_noted(file, sets) {
        Ok(loaded) => {
            if !loaded.notes.is_empty() {
                eprint!("{}", loaded.notes.render_notes(&source_of));
            }
            Ok(loaded.model)
        }
        Err(d) => {
            eprint!("{}", d.render_with(&source_of));
            Err(EXIT_BAD_INPUT)
        }
    }
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("stormcast: {msg}");
    EXIT_BAD_INPUT
}

fn cmd_run(a: &RunArgs) -> i32 {
    let duration = match a.duration.as_deref().map(units::parse_duration).transpose() {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("--duration: {e}")),
    };
    if duration == Some(SimDuration::ZERO) {
        return usage_error("--duration must be positive");
    }
    let interval = match units::parse_duration(&a.interval) {
        Ok(d) if d >= MIN_INTERVAL => d,
        Ok(d) => return usage_error(&format!("--interval {d} is too short: the shortest is {MIN_INTERVAL}")),
        Err(e) => return usage_error(&format!("--interval: {e}")),
    };
    // Read once: what is checked is what the report's hash covers.
    let source_of = |f: &str| std::fs::read_to_string(f).ok();
    let (model, source) = match load_source_noted(&a.file, &a.sets) {
        Ok((loaded, bytes)) => {
            if !loaded.notes.is_empty() {
                eprint!("{}", loaded.notes.render_notes(&source_of));
            }
            (loaded.model, bytes)
        }
        Err(d) => {
            eprint!("{}", d.render_with(&source_of));
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(d) = duration
        && d <= model.warmup
    {
        return usage_error(&format!("--duration {d} is not longer than the warm-up ({})", model.warmup));
    }
    let run_for = duration.unwrap_or(model.duration);
    if a.out.is_some() && run_for.0 / interval.0 > MAX_INTERVALS {
        let shortest = SimDuration(run_for.0.div_ceil(MAX_INTERVALS));
        return usage_error(&format!(
            "--interval {interval} over {run_for} makes more than {MAX_INTERVALS} series rows per workload and service: \
             use --interval {shortest} or longer"
        ));
    }
    // An output folder that cannot be written is reported now, not after the run.
    if let Some(dir) = &a.out
        && let Err(e) = check_writable(dir)
    {
        return usage_error(&format!("cannot write to {}: {e}", dir.display()));
    }
    let opts = RunOptions {
        seed: a.seed,
        duration,
        interval,
        keep_series: a.out.is_some(),
        max_events: a.max_events,
        max_in_flight: a.max_in_flight,
        check_invariants: false,
    };
    #[allow(clippy::disallowed_methods)] // the CLI is where the clock may be read
    let started = Instant::now();
    let mut bar = progress::Bar::new(!a.quiet);
    let result = sim::run_with_progress(&model, &opts, &mut |f| bar.update(f, started.elapsed()));
    bar.finish();
    let wall = started.elapsed().as_secs_f64();
    let requests: u64 = result.workloads.values().map(|w| w.offered).sum();
    if !a.quiet {
        eprintln!(
            "stormcast: simulated {:.1} s in {:.3} s wall: {} events ({:.2} M events/s), {} requests ({:.2} M requests/s)",
            result.engine.sim_time_s,
            wall,
            result.engine.events,
            result.engine.events as f64 / wall / 1e6,
            requests,
            requests as f64 / wall / 1e6
        );
    }
    let provenance = || report::RunInfo {
        stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
        command: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        input_file: a.file.display().to_string(),
        input_sha256: sha256::sha256_hex(&source),
        interval_s: interval.as_secs_f64(),
    };
    if let Some(dir) = &a.out
        && let Err(e) = write_out(dir, &result, &provenance(), &report::topology_info(&model, &report::analyze(&model)))
    {
        return usage_error(&format!("cannot write {}: {e}", dir.display()));
    }
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let printed = if a.json {
        serde_json::to_string_pretty(&result).map(|s| writeln!(lock, "{s}")).map_err(std::io::Error::other)
    } else {
        Ok(write!(lock, "{}", report::summary(&result)))
    };
    if let Err(e) | Ok(Err(e)) = printed
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return usage_error(&format!("cannot write the result: {e}"));
    }
    let missed: Vec<&str> = result.slo.iter().filter(|o| !o.pass).map(|o| o.workload.as_str()).collect();
    if !result.complete {
        eprintln!(
            "stormcast: the run stopped at its {} limit after {:.3} s of {:.3} s simulated: the result is partial (exit status {EXIT_PARTIAL})",
            result.engine.stopped_by, result.engine.sim_time_s, result.duration_s
        );
        return EXIT_PARTIAL;
    }
    if !missed.is_empty() {
        if !a.quiet {
            eprintln!("stormcast: SLO missed for {} (exit status {EXIT_CHECK_FAILED})", missed.join(", "));
        }
        return EXIT_CHECK_FAILED;
    }
    EXIT_OK
}

/// Creates `dir` if needed and proves a file can be written there.
fn check_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".stormcast-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Writes `content` to `dir/name` through a temporary name: never a
/// partial file.
fn write_atomic(dir: &Path, name: &str, content: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// Pretty JSON with a final newline.
fn pretty<T: serde::Serialize>(v: &T) -> std::io::Result<String> {
    serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(std::io::Error::other)
}

/// Writes the result, its series, what the report needs, then the report
/// built from those files' text — as `stormcast report DIR` builds it.
fn write_out(
    dir: &Path,
    r: &crate::metrics::RunResult,
    run: &report::RunInfo,
    topology: &report::TopologyInfo,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut files = vec![
        (report::stored::SUMMARY_JSON, pretty(r)?),
        (report::stored::WORKLOADS_CSV, report::workloads_csv(&r.series)),
        (report::stored::SERVICES_CSV, report::services_csv(&r.series)),
        (report::stored::RUN_JSON, pretty(run)?),
        (report::stored::TOPOLOGY_JSON, pretty(topology)?),
    ];
    // Only models with keyed caches have their series.
    if !r.series.cache_names.is_empty() {
        files.push((report::stored::CACHES_CSV, report::caches_csv(&r.series)));
    }
    // Only models with queues have theirs.
    if !r.queues.is_empty() || !r.series.queue_names.is_empty() {
        files.push((report::stored::QUEUES_CSV, report::queues_csv(&r.series)));
    }
    // Only runs with a cluster (or CPU limits) have the nodes' and replicas' rows.
    if !r.series.pools.is_empty() {
        files.push((report::stored::NODES_CSV, report::nodes_csv(&r.series)));
    }
    if !r.series.replicas.is_empty() {
        files.push((report::stored::REPLICAS_CSV, report::replicas_csv(&r.series)));
    }
    // Only runs with inference servers have their rows and the token rows.
    if !r.series.inference.is_empty() {
        files.push((report::stored::INFERENCE_CSV, report::inference_csv(&r.series)));
    }
    if !r.series.tokens.is_empty() {
        files.push((report::stored::TOKENS_CSV, report::tokens_csv(&r.series)));
    }
    for (name, content) in &files {
        write_atomic(dir, name, content)?;
    }
    write_atomic(dir, "summary.txt", &report::summary(r))?;
    let texts = files.into_iter().collect();
    write_report(dir, &texts).map_err(std::io::Error::other)
}

/// `report.html` and `report.md` from the stored files' text.
fn write_report(dir: &Path, texts: &BTreeMap<&str, String>) -> Result<(), String> {
    let stored = report::Stored::parse(texts)?;
    write_atomic(dir, REPORT_HTML, &report::run_report::html(&stored)).map_err(|e| e.to_string())?;
    write_atomic(dir, REPORT_MD, &report::run_report::markdown(&stored)).map_err(|e| e.to_string())
}

/// The report files, beside the results they are built from.
pub const REPORT_HTML: &str = "report.html";
pub const REPORT_MD: &str = "report.md";

/// `stormcast report DIR`: the report again from the files in DIR, without
/// loading or running anything.
fn cmd_report(dir: &Path) -> i32 {
    let mut texts = BTreeMap::new();
    for name in report::stored::INPUTS {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(t) => {
                texts.insert(name, t);
            }
            Err(e) => {
                let why =
                    if e.kind() == std::io::ErrorKind::NotFound { "is missing".to_string() } else { e.to_string() };
                return usage_error(&format!(
                    "cannot build the report: {} {why}; the folder must be one `stormcast run FILE --out {}` wrote",
                    path.display(),
                    dir.display()
                ));
            }
        }
    }
    // Optional: present when the run had keyed caches, queues, a cluster or
    // inference servers.
    for name in report::stored::OPTIONAL {
        if let Ok(t) = std::fs::read_to_string(dir.join(name)) {
            texts.insert(name, t);
        }
    }
    match write_report(dir, &texts) {
        Ok(()) => {
            println!("{}\n{}", dir.join(REPORT_HTML).display(), dir.join(REPORT_MD).display());
            EXIT_OK
        }
        Err(e) => usage_error(&format!("cannot build the report from {}: {e}", dir.display())),
    }
}

fn cmd_check(file: &Path) -> i32 {
    let model = match load_or_report(file) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let a = report::analyze(&model);
    print!("{}", report::check_report(&model, &a));
    EXIT_OK
}

fn cmd_schema(markdown: bool) -> i32 {
    let text = if markdown {
        spec::keys::markdown::all()
    } else {
        let schema = spec::keys::json::topology_schema();
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return usage_error(&format!("cannot write the schema: {e}"));
    }
    EXIT_OK
}

fn cmd_graph(file: &Path, format: GraphFormat) -> i32 {
    let model = match load_or_report(file) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let a = report::analyze(&model);
    match format {
        GraphFormat::Mermaid => print!("{}", report::mermaid(&model, &a)),
        GraphFormat::Dot => print!("{}", report::dot(&model, &a)),
    }
    EXIT_OK
}
