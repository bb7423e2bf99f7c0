//! The command line: the only code that reads files, writes files, looks at
//! the terminal or the clock.

use crate::model::Model;
use crate::spec::{self, Diagnostics, FileSource, LoadOptions};
use std::path::Path;

/// Reads files from disk.
pub struct FsFiles;

impl FileSource for FsFiles {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Reads and checks a topology file from disk.
pub fn load_file(path: &Path) -> Result<Model, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![spec::Diagnostic {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
            hint: None,
        }])
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    spec::load_str(
        &path.display().to_string(),
        &text,
        &LoadOptions {
            base_dir,
            files: &FsFiles,
        },
    )
}
