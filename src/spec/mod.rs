//! Reading a topology: YAML text → positioned tree → checked [`Model`].
//!
//! Two stages, as in `shared/spec/style.md`: [`yaml`] builds a tree of
//! nodes that remember their line and column; [`topology`] walks it,
//! collecting *every* problem (unknown keys with suggestions, bad units,
//! dangling references, cycles…) as a [`Diagnostic`] with the file, position
//! and YAML path, and only when there are none builds the [`Model`].
//!
//! This module reads no files itself: the caller passes a [`FileSource`]
//! (the CLI's reads the disk), so tests can serve files from memory.

mod compile;
pub mod diag;
pub mod dist;
mod topology;
pub mod units;
pub mod yaml;

pub use diag::{Diagnostic, Diagnostics};
pub use topology::{LoadOptions, load_str};

use std::path::{Path, PathBuf};

/// Where referenced files (`empirical(file=…)`, traces) are read from.
pub trait FileSource {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String>;
}

/// Resolves a path written in a topology relative to the topology's folder.
pub fn resolve(base_dir: &Path, written: &str) -> PathBuf {
    let p = Path::new(written);
    if p.is_absolute() { p.to_path_buf() } else { base_dir.join(p) }
}
