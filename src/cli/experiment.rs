//! `stormcast experiment EXP.yaml`: every point × replication of an
//! experiment on all cores, deterministically; each finished run stored at
//! once (so Ctrl-C keeps it and a rerun resumes), then the result
//! assembled. `--shard K/N` runs one slice; `stormcast report DIR...`
//! merges slices into exactly what one machine would have written.
//!
//! Layout of `--out DIR`: `design.json` (what the results are judged by),
//! `runs/pPPPP-rRRRR.json` (one run: its key, result and series),
//! `experiment.json` (the result, once every run is there), the report
//! files and `points.csv`.

use super::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, FsFiles, check_writable, pretty, usage_error, write_atomic};
use crate::experiment::runner::{self, Counter, Job};
use crate::experiment::summary::{self, RunRecord};
use crate::experiment::{Design, Plan, Provenance};
use crate::metrics::{RunResult, Series};
use crate::report::{
    self,
    experiment_report::{Inputs, Report},
};
use crate::sim::RunOptions;
use crate::spec::{self, LoadOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Exit code when Ctrl-C stopped an experiment (finished runs are kept).
pub const EXIT_INTERRUPTED: i32 = 130;

pub(super) struct ExpArgs {
    pub file: PathBuf,
    pub out: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub shard: Option<String>,
    pub json: bool,
    pub quiet: bool,
}

/// One stored run, as read back (its series are left in the file for
/// the report).
#[derive(Deserialize)]
struct StoredRun {
    /// What it was run from: a hash of the inputs and the point (a rerun
    /// after any change to them runs it again).
    key: String,
    point: usize,
    rep: u32,
    seed: u64,
    result: RunResult,
}

/// A run as it is stored (the same fields as [`StoredRun`], borrowed: a
/// finished run is written without copying its result).
#[derive(Serialize)]
struct StoredRunRef<'a> {
    key: String,
    point: usize,
    rep: u32,
    seed: u64,
    result: &'a RunResult,
    series: &'a Series,
}

pub const DESIGN_JSON: &str = "design.json";
pub const EXPERIMENT_JSON: &str = "experiment.json";
pub const RUNS_DIR: &str = "runs";
/// The baseline model's shape, for the report's diagram.
pub const TOPOLOGY_JSON: &str = "topology.json";
/// One row per point and workload.
pub const POINTS_CSV: &str = "points.csv";

fn run_file(dir: &Path, job: &Job) -> PathBuf {
    dir.join(RUNS_DIR).join(format!("p{:04}-r{:04}.json", job.point, job.rep))
}

/// `K/N`, or `N` with K from the environment (a Kubernetes Indexed Job's
/// `JOB_COMPLETION_INDEX`, from 0, or a Slurm array's
/// `SLURM_ARRAY_TASK_ID` counted from `SLURM_ARRAY_TASK_MIN`).
pub fn parse_shard(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(u32, u32), String> {
    let num = |x: &str| x.trim().parse::<u32>().map_err(|_| format!("--shard {s}: '{x}' is not a whole number"));
    let (k, n) = match s.split_once('/') {
        Some((k, n)) => (num(k)?, num(n)?),
        None => {
            let n = num(s)?;
            let k = if let Some(i) = env("JOB_COMPLETION_INDEX") {
                num(&i)? + 1
            } else if let Some(i) = env("SLURM_ARRAY_TASK_ID") {
                let min = env("SLURM_ARRAY_TASK_MIN").map(|m| num(&m)).transpose()?.unwrap_or(0);
                num(&i)?.checked_sub(min).ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")? + 1
            } else {
                return Err(format!(
                    "--shard {s}: which slice? write --shard K/{n}, or run where JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID is set"
                ));
            };
            (k, n)
        }
    };
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {k}/{n}: K must be between 1 and N"));
    }
    Ok((k, n))
}

pub(super) fn cmd_experiment(a: &ExpArgs) -> i32 {
    let env = |k: &str| std::env::var(k).ok();
    let shard = match a.shard.as_deref().map(|s| parse_shard(s, &env)).transpose() {
        Ok(s) => s.unwrap_or((1, 1)),
        Err(e) => return usage_error(&e),
    };
    if shard.1 > 1 && a.out.is_none() {
        return usage_error(
            "--shard needs --out DIR: each slice stores its runs there for `stormcast report` to merge",
        );
    }
    let threads = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (mut plan, key_base, inputs) = match load(&a.file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    plan.design.provenance = Provenance {
        stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
        file: a.file.display().to_string(),
        inputs_sha256: super::sha256::sha256_hex(inputs.as_bytes()),
    };
    if let Some(dir) = &a.out {
        if let Err(e) = check_writable(dir).and_then(|()| std::fs::create_dir_all(dir.join(RUNS_DIR))) {
            return usage_error(&format!("cannot write to {}: {e}", dir.display()));
        }
        // The baseline's shape, for the report's diagram.
        let topology = plan.models.first().map(|m| report::topology_info(m, &report::analyze(m)));
        let written = pretty(&plan.design)
            .and_then(|t| write_atomic(dir, DESIGN_JSON, &t))
            .and_then(|()| topology.map_or(Ok(()), |t| pretty(&t).and_then(|t| write_atomic(dir, TOPOLOGY_JSON, &t))));
        if let Err(e) = written {
            return usage_error(&format!("cannot write {}: {e}", dir.display()));
        }
    }
    let d = &plan.design;
    let all = runner::jobs(d.points.len(), d.replications, d.seed, shard);
    let key = |job: &Job| job_key(&key_base, d, job);
    // Runs a previous invocation finished (same inputs): kept, not rerun.
    let mut done: Vec<Option<RunRecord>> = vec![None; all.len()];
    if let Some(dir) = &a.out {
        for (i, job) in all.iter().enumerate() {
            if let Some(r) = read_run(&run_file(dir, job)).filter(|r| r.key == key(job)) {
                done[i] = Some(RunRecord { seed: r.seed, result: r.result });
            }
        }
    }
    let todo: Vec<Job> = all.iter().zip(&done).filter(|(_, d)| d.is_none()).map(|(j, _)| *j).collect();
    let resumed = all.len() - todo.len();
    let stop_ref: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let _ = ctrlc::set_handler(move || stop_ref.store(true, Ordering::SeqCst));
    let counter = Counter::default();
    #[allow(clippy::disallowed_methods)] // the CLI is where the clock may be read
    let started = Instant::now();
    let bar = Mutex::new(super::progress::Bar::counting(!a.quiet && !a.json, "of the runs"));
    let failed_write: Mutex<Option<String>> = Mutex::new(None);
    let base = RunOptions { keep_series: a.out.is_some(), duration: plan.duration, ..RunOptions::default() };
    let on_done = |job: &Job, r: &mut RunResult| {
        // The series go to the run's file and no further: memory keeps the
        // summaries of finished runs only.
        let series = std::mem::take(&mut r.series);
        if let Some(dir) = &a.out {
            let stored = StoredRunRef {
                key: key(job),
                point: job.point,
                rep: job.rep,
                seed: job.seed,
                result: r,
                series: &series,
            };
            let name = run_file(dir, job).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Err(e) = serde_json::to_string(&stored)
                .map_err(std::io::Error::other)
                .and_then(|t| write_atomic(&dir.join(RUNS_DIR), &name, &t))
                && let Ok(mut f) = failed_write.lock()
            {
                *f = Some(e.to_string());
            }
        }
        let n = counter.bump();
        if let Ok(mut b) = bar.lock() {
            b.update(n as f64 / todo.len().max(1) as f64, started.elapsed());
        }
    };
    let results = runner::run(&plan.models, &base, &todo, threads, stop_ref, &on_done);
    if let Ok(mut b) = bar.lock() {
        b.finish();
    }
    if let Ok(Some(e)) = failed_write.lock().map(|f| f.clone()) {
        return usage_error(&format!("cannot store a run: {e}"));
    }
    let mut fresh = results.into_iter();
    for (slot, job) in done.iter_mut().zip(&all) {
        if slot.is_none() {
            *slot = fresh.next().flatten().map(|result| RunRecord { seed: job.seed, result });
        }
    }
    let finished = done.iter().filter(|d| d.is_some()).count();
    let wall = started.elapsed().as_secs_f64();
    if !a.quiet {
        eprintln!(
            "stormcast: {finished} of {} runs ({} resumed) on {threads} threads in {wall:.1} s",
            all.len(),
            resumed
        );
    }
    if stop_ref.load(Ordering::Relaxed) && finished < all.len() {
        let hint = if a.out.is_some() { "rerun the same command to resume" } else { "use --out DIR to keep runs" };
        eprintln!("stormcast: stopped: {finished} of {} runs done; {hint}", all.len());
        return EXIT_INTERRUPTED;
    }
    if shard.1 > 1 {
        let dir = a.out.as_ref().expect("checked above");
        if a.quiet {
            return EXIT_OK;
        }
        eprintln!(
            "stormcast: shard {}/{} done; when every shard is, `stormcast report {} [other shards' folders]` merges them",
            shard.0,
            shard.1,
            dir.display()
        );
        return EXIT_OK;
    }
    let runs = group(d, &all, done);
    let dirs: Vec<PathBuf> = a.out.iter().cloned().collect();
    finish(d, runs, &dirs, a.json)
}

/// Reads and checks the experiment file. Returns the plan, the base of
/// every run's key (stormcast's version and the topology's text) and the
/// inputs as the report's hash covers them (also the experiment file).
fn load(file: &Path) -> Result<(Plan, String, String), i32> {
    let source_of = |f: &str| std::fs::read_to_string(f).ok();
    let name = file.display().to_string();
    let text = match std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|b| spec::text_of(&name, &b).map_err(|d| d.render_with(&source_of)))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: {e}");
            return Err(EXIT_BAD_INPUT);
        }
    };
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    match spec::experiment::load_experiment(&name, &text, &LoadOptions { base_dir, files: &FsFiles }) {
        Ok(l) => {
            if !l.notes.is_empty() {
                eprint!("{}", l.notes.render_notes(&source_of));
            }
            let key_base = format!("{}\n{}", env!("CARGO_PKG_VERSION"), l.topology_text);
            let inputs = format!("{}\n{text}\n{}", env!("CARGO_PKG_VERSION"), l.topology_text);
            Ok((l.plan, key_base, inputs))
        }
        Err(d) => {
            eprint!("{}", d.render_with(&source_of));
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// A job's key: what its run depends on — stormcast's version, the
/// topology's text, its variant's `set`, its sweep values, the duration,
/// the SLOs and the seed. Whatever else changes in the experiment file (a
/// new variant, more replications, the objective, a description) keeps
/// the runs it does not touch.
fn job_key(base: &str, d: &Design, job: &Job) -> String {
    let p = &d.points[job.point];
    let set = d.variants.iter().find(|v| v.name == p.variant).map(|v| &v.set);
    let inputs = serde_json::to_string(&(set, &p.sweep, d.duration_s, &d.slo, job.seed)).unwrap_or_default();
    super::sha256::sha256_hex(format!("{base}\n{inputs}").as_bytes())
}

/// A stored run's series, without its result.
#[derive(Deserialize)]
struct StoredSeries {
    point: usize,
    rep: u32,
    series: Series,
}

fn read_run(path: &Path) -> Option<StoredRun> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Runs per point, in replication order.
fn group(d: &Design, jobs: &[Job], runs: Vec<Option<RunRecord>>) -> Vec<Vec<RunRecord>> {
    let mut by_point: Vec<Vec<RunRecord>> = vec![Vec::new(); d.points.len()];
    for (job, r) in jobs.iter().zip(runs) {
        if let Some(r) = r {
            by_point[job.point].push(r);
        }
    }
    by_point
}

/// Assembles, writes and prints the result; exit 1 when no point meets
/// the SLOs (there are SLOs and none meets them). With folders (the first
/// is written to, the runs are read from all), the report too.
fn finish(d: &Design, runs: Vec<Vec<RunRecord>>, dirs: &[PathBuf], json: bool) -> i32 {
    let result = summary::assemble(d, runs);
    if let Some(dir) = dirs.first() {
        let written = pretty(&result).and_then(|t| write_atomic(dir, EXPERIMENT_JSON, &t));
        if let Err(e) = written {
            return usage_error(&format!("cannot write {}: {e}", dir.display()));
        }
        if let Err(e) = write_report(dirs) {
            return usage_error(&format!("cannot write the report in {}: {e}", dir.display()));
        }
    }
    if json {
        match pretty(&result) {
            Ok(t) => print!("{t}"),
            Err(e) => return usage_error(&format!("cannot write the result: {e}")),
        }
    } else {
        print!("{}", crate::report::experiment_text(&result));
    }
    if !d.slo.is_empty() && !result.points.iter().any(|p| p.meets_slo) {
        return EXIT_CHECK_FAILED;
    }
    EXIT_OK
}

/// `stormcast report DIR...` for experiment folders: merges the runs of
/// every folder (slices of one experiment) and writes the result into the
/// first.
pub(super) fn report_experiment(dirs: &[PathBuf]) -> i32 {
    let first = &dirs[0];
    let design: Design = match std::fs::read_to_string(first.join(DESIGN_JSON))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("cannot read {}: {e}", first.join(DESIGN_JSON).display())),
    };
    // The experiment file may be named by another path on another machine.
    let unnamed = |d: &Design| {
        let mut d = d.clone();
        d.provenance.file.clear();
        d
    };
    for other in &dirs[1..] {
        let same = std::fs::read_to_string(other.join(DESIGN_JSON))
            .ok()
            .and_then(|t| serde_json::from_str::<Design>(&t).ok())
            .is_some_and(|o| unnamed(&o) == unnamed(&design));
        if !same {
            return usage_error(&format!(
                "{} is not a slice of the same experiment as {} (its design.json differs or is missing)",
                other.display(),
                first.display()
            ));
        }
    }
    let all = runner::jobs(design.points.len(), design.replications, design.seed, (1, 1));
    let mut runs: Vec<Option<RunRecord>> = vec![None; all.len()];
    for dir in dirs {
        for (i, job) in all.iter().enumerate() {
            if runs[i].is_some() {
                continue;
            }
            if let Some(r) = read_run(&run_file(dir, job)).filter(|r| r.point == job.point && r.rep == job.rep) {
                runs[i] = Some(RunRecord { seed: r.seed, result: r.result });
            }
        }
    }
    let missing: Vec<String> = all
        .iter()
        .zip(&runs)
        .filter(|(_, r)| r.is_none())
        .map(|(j, _)| format!("point {} replication {}", j.point, j.rep))
        .collect();
    if !missing.is_empty() {
        return usage_error(&format!(
            "{} of {} runs are missing (first: {}); run the missing shards, or the experiment again with --out {}",
            missing.len(),
            all.len(),
            missing[0],
            first.display()
        ));
    }
    let grouped = group(&design, &all, runs);
    finish(&design, grouped, dirs, false)
}

/// The report files and `points.csv` in the first folder, from the stored
/// files alone: `design.json`, `experiment.json` and `topology.json` of
/// the first folder, the charted runs' series from whichever folder holds
/// them — read one run at a time, folded and dropped.
fn write_report(dirs: &[PathBuf]) -> Result<(), String> {
    let first = &dirs[0];
    let read = |name: &str| {
        std::fs::read_to_string(first.join(name)).map_err(|e| format!("{}: {e}", first.join(name).display()))
    };
    let topology = read(TOPOLOGY_JSON).ok();
    let inputs = Inputs::parse(&read(DESIGN_JSON)?, &read(EXPERIMENT_JSON)?, topology.as_deref())?;
    let d = inputs.design.clone();
    let mut rep = Report::new(inputs);
    for job in runner::jobs(d.points.len(), d.replications, d.seed, (1, 1)) {
        if !rep.wants_series(job.point) {
            continue;
        }
        let found = dirs.iter().find_map(|dir| {
            std::fs::read_to_string(run_file(dir, &job))
                .ok()
                .and_then(|t| serde_json::from_str::<StoredSeries>(&t).ok())
                .filter(|r| r.point == job.point && r.rep == job.rep)
        });
        if let Some(r) = found {
            rep.fold(job.point, &r.series);
        }
    }
    let csv = rep.points_csv();
    write_atomic(first, POINTS_CSV, &csv).map_err(|e| e.to_string())?;
    write_atomic(first, super::REPORT_HTML, &rep.html()).map_err(|e| e.to_string())?;
    write_atomic(first, super::REPORT_MD, &rep.markdown()).map_err(|e| e.to_string())
}
