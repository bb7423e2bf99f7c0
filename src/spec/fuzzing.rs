//! Entry points of the fuzz targets (`fuzz/`), kept in the library so that
//! the corpus replay test (`tests/it/corpus.rs`) runs the very same code on
//! stable Rust. Each takes arbitrary bytes, must never panic, hang or
//! allocate without bound, and returns nothing: only crashes matter.
//!
//! Files named inside an input (`empirical(file=…)`, `hpa:`) come from
//! memory: a short list of durations, or a small HPA manifest when the
//! path mentions `hpa`.

use super::{FileSource, LoadOptions, dist::parse_dist, units};
use crate::engine::RngStream;
use std::path::Path;

/// The separator after which a topology input lists `--set` overrides.
pub const SETS_MARKER: &str = "\n%%set\n";

const HPA: &str = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: { name: x }\n\
spec:\n  minReplicas: 1\n  maxReplicas: 5\n  metrics:\n  - type: Resource\n    resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } }\n";

struct MemFiles;

impl FileSource for MemFiles {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        let p = path.to_string_lossy();
        if p.contains("missing") {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, p.into_owned()));
        }
        Ok(if p.contains("hpa") { HPA.into() } else { "1ms\n2.5ms\n# c\n40ms\n".into() })
    }
}

fn opts() -> LoadOptions<'static> {
    LoadOptions { base_dir: ".".into(), files: &MemFiles }
}

/// The topology reader: bytes → text → YAML → `--set` → checks, then every
/// diagnostic and note rendered against the text.
pub fn topology(data: &[u8]) {
    let text = match super::text_of("fuzz.yaml", data) {
        Ok(t) => t,
        Err(d) => {
            let _ = d.render("");
            return;
        }
    };
    let (yaml, sets) = match text.split_once(SETS_MARKER) {
        Some((y, s)) => (y, s.lines().map(str::to_string).collect()),
        None => (text.as_str(), Vec::new()),
    };
    match super::load("fuzz.yaml", yaml, &sets, &opts()) {
        Ok(l) => {
            let _ = l.notes.render_notes(&|_| Some(yaml.to_string()));
        }
        Err(d) => {
            let _ = d.render(yaml);
        }
    }
}

/// The distribution language; a distribution that parses is also
/// displayed and sampled (a parameter accepted by the parser must not
/// break the sampler).
pub fn dist(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(d) = parse_dist(text, &MemFiles, Path::new(".")) {
        let _ = d.to_string();
        let _ = d.mean_ns();
        let mut rng = RngStream::derive(1, "fuzz", text);
        for _ in 0..16 {
            d.sample(&mut rng);
        }
    }
}

/// Durations, rates, ratios, memory and CPU amounts.
pub fn units(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = units::parse_duration(text);
    let _ = units::parse_rate(text);
    let _ = units::parse_ratio(text);
    let _ = units::parse_memory(text);
    let _ = units::parse_cpu_milli(text);
}
