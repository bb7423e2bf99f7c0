//! Reading a topology: YAML text → positioned tree → checked [`Model`](crate::model::Model).
//!
//! Two stages, as in `shared/spec/style.md`: [`yaml`] builds a tree of
//! nodes that remember their line and column; `topology` walks it,
//! collecting *every* problem (unknown keys with suggestions, bad units,
//! dangling references, cycles…) as a [`Diagnostic`] with the file, position
//! and YAML path, and only when there are none returns the [`Model`](crate::model::Model).
//!
//! Inside: `decode` reads typed values out of nodes and complains about
//! them; `topology` handles the top level and services, `autoscale` a
//! service's autoscaler (and HPA manifests), `workload` the workloads,
//! `compile` turns endpoint steps into instructions, `policy` the resilience
//! keys and `policies`, `fault` the chaos schedule, `queues` the queues
//! and their consumers, `cluster` the nodes and a service's resources, `cycles` finds call
//! cycles; [`diag`] renders problems and suggests names; [`units`] and
//! [`dist`] parse durations, rates, ratios and distributions.
//! [`load_tree`] checks a tree that was built or patched in memory.
//!
//! This module reads no files itself: the caller passes a [`FileSource`]
//! (the CLI's reads the disk), so tests can serve files from memory.

mod autoscale;
mod caches;
mod cluster;
mod compile;
mod cycles;
mod decode;
pub mod diag;
pub mod dist;
pub mod experiment;
mod fault;
pub mod fuzzing;
mod import;
mod inference;
mod k6;
pub mod keys;
pub mod patch;
mod policy;
mod prometheus;
mod queues;
mod slo;
mod source;
#[cfg(test)]
pub(crate) mod testing;
mod topology;
mod trace;
pub mod units;
mod workload;
pub mod yaml;

pub use decode::did_you_mean;
pub use diag::{Diagnostic, Diagnostics, suggest};
pub use source::{Loaded, MAX_FILE_BYTES, check_size, load, text_of};
pub use topology::{DEFAULT_DURATION, LoadOptions, load_str, load_tree};

use std::path::{Path, PathBuf};

/// Where referenced files (`empirical(file=…)`, traces) are read from.
pub trait FileSource {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String>;

    /// Something that opens `path` afresh for each reading of a trace. The
    /// default reads it whole once and serves it from memory (for tests);
    /// the CLI's opens the file each time and streams it.
    fn opener(&self, path: &Path) -> std::io::Result<std::sync::Arc<crate::model::OpenTrace>> {
        let bytes: std::sync::Arc<[u8]> = self.read_to_string(path)?.into_bytes().into();
        Ok(std::sync::Arc::new(move || {
            let r: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(bytes.clone()));
            Ok(r)
        }))
    }
}

/// Resolves a path written in a topology relative to the topology's folder.
pub fn resolve(base_dir: &Path, written: &str) -> PathBuf {
    let p = Path::new(written);
    if p.is_absolute() { p.to_path_buf() } else { base_dir.join(p) }
}

#[cfg(test)]
mod tests;
