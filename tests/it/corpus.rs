//! The short fuzz run in CI: every input committed under `fuzz/corpus/`
//! and `fuzz/seeds/` goes through the same functions as the fuzz targets
//! (`stormcast::spec::fuzzing`), which must not panic. A crash the fuzzers
//! found and that was fixed stays fixed: its input is in the corpus.

use std::path::Path;
use stormcast::spec::fuzzing;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            // A panic here names the input through the panic message below.
            let guard = Named(&f);
            run(&data);
            std::mem::forget(guard);
            n += 1;
        }
    }
    n
}

/// Prints the input being replayed if a panic unwinds through it.
struct Named<'p>(&'p Path);

impl Drop for Named<'_> {
    fn drop(&mut self) {
        eprintln!("panicked on {}", self.0.display());
    }
}

#[test]
fn the_topology_corpus_loads_without_panics() {
    assert!(replay("topology", fuzzing::topology) >= 10);
}

#[test]
fn the_distribution_corpus_parses_without_panics() {
    assert!(replay("dist", fuzzing::dist) >= 10);
}

#[test]
fn the_units_corpus_parses_without_panics() {
    assert!(replay("units", fuzzing::units) >= 10);
}
