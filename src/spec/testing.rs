//! Test support (compiled for tests only): loading a topology from a string
//! with no files available, the way every unit test of the crate needs.

use super::{Diagnostics, FileSource, LoadOptions, load_str};
use crate::model::Model;
use std::path::Path;

/// A [`FileSource`] with no files at all.
pub(crate) struct NoFiles;

impl FileSource for NoFiles {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string()))
    }
}

/// Loads `text` as `name`, with no files to read.
pub(crate) fn load_named(name: &str, text: &str) -> Result<Model, Diagnostics> {
    load_str(name, text, &LoadOptions { base_dir: ".".into(), files: &NoFiles })
}

/// Loads `text`, panicking with the rendered diagnostics if it has problems.
pub(crate) fn model(text: &str) -> Model {
    load_named("test.yaml", text).unwrap_or_else(|d| panic!("{}", d.render(text)))
}
