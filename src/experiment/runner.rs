//! Running the jobs of an experiment — one simulation per (point,
//! replication) — on a pool of threads, deterministically: a job's result
//! depends only on its model and seed, results are collected by index, so
//! one thread or many give the same bytes. A stop flag (Ctrl-C) lets jobs
//! in progress finish and starts no new one; `done` is told of each result
//! as it comes (the CLI stores it, which is what makes a rerun resume).

use crate::metrics::RunResult;
use crate::model::Model;
use crate::sim::{self, RunOptions};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One simulation of an experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    /// Index of the point (variant × sweep values).
    pub point: usize,
    /// Replication number, from 0.
    pub rep: u32,
    /// Its seed: the experiment's seed + `rep`, the same for every point
    /// (common random numbers).
    pub seed: u64,
}

/// The jobs of `points` points × `replications`, point by point, that this
/// shard (`k` of `n`, from 1) runs: every `n`-th job from the `k`-th.
pub fn jobs(points: usize, replications: u32, seed: u64, shard: (u32, u32)) -> Vec<Job> {
    let (k, n) = shard;
    (0..points)
        .flat_map(|point| (0..replications).map(move |rep| Job { point, rep, seed: seed.wrapping_add(u64::from(rep)) }))
        .enumerate()
        .filter(|(i, _)| (*i as u64) % u64::from(n) == u64::from(k - 1))
        .map(|(_, j)| j)
        .collect()
}

/// Runs `jobs` on `threads` threads (`models[job.point]` with `base`
/// options and the job's seed). Returns each job's result in the order of
/// `jobs` (`None` for a job not run because `stop` was set). `done` is
/// called from worker threads as each result comes, and may take from it
/// what need not be kept (the CLI stores a run's series and drops them, so
/// memory holds the summaries of finished runs, not their series).
pub fn run(
    models: &[Model],
    base: &RunOptions,
    jobs: &[Job],
    threads: usize,
    stop: &AtomicBool,
    done: &(dyn Fn(&Job, &mut RunResult) + Sync),
) -> Vec<Option<RunResult>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build();
    let work = || {
        jobs.par_iter()
            .with_max_len(1)
            .map(|job| {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                let opts = RunOptions { seed: Some(job.seed), ..base.clone() };
                let mut r = sim::run(&models[job.point], &opts);
                done(job, &mut r);
                Some(r)
            })
            .collect()
    };
    match pool {
        Ok(p) => p.install(work),
        Err(_) => work(),
    }
}

/// Counts finished jobs for a progress display (shared across threads).
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_jobs_without_overlap() {
        let all = jobs(3, 4, 10, (1, 1));
        assert_eq!(all.len(), 12);
        assert_eq!(all[5], Job { point: 1, rep: 1, seed: 11 });
        let mut union: Vec<Job> = (1..=5).flat_map(|k| jobs(3, 4, 10, (k, 5))).collect();
        union.sort();
        assert_eq!(union, all);
    }
}
