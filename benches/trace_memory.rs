//! (e) A trace replays in bounded memory: writes a synthetic per-request
//! trace (date-times, two token columns, one request per millisecond) of
//! 10 MiB and of 1 GiB (`STORMCAST_TRACE_MIB` overrides the large size),
//! then, each in a fresh child process, loads it (the load-time check reads
//! it all) and replays all of it through one endpoint, and prints the
//! child's peak RSS (VmHWM), requests, wall time and the ratio of the peaks.
//! `cargo bench --bench trace_memory`. Linux only (reads /proc/self/status);
//! the files go to the temporary directory and are removed afterwards.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use stormcast::engine::SimDuration;
use stormcast::sim::{RunOptions, run};

const CHILD_ENV: &str = "STORMCAST_TRACE_CHILD";

#[path = "common/rss.rs"]
mod rss;
use rss::peak_rss_kib;

/// Writes about `mib` MiB of trace; returns the topology and the trace's span.
fn write_trace(dir: &Path, mib: u64) -> (PathBuf, u64) {
    let csv = dir.join("trace.csv");
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&csv).expect("temp file"));
    writeln!(f, "TIMESTAMP,ContextTokens,GeneratedTokens").unwrap();
    let (mut bytes, mut ms) = (0u64, 0u64);
    while bytes < mib << 20 {
        let (s, frac) = (ms / 1000, ms % 1000);
        let line = format!(
            "2023-11-16 {:02}:{:02}:{:02}.{:03}0000,{},{}\n",
            s / 3600 % 24,
            s / 60 % 60,
            s % 60,
            frac,
            100 + ms % 900,
            10 + ms % 190
        );
        f.write_all(line.as_bytes()).unwrap();
        bytes += line.len() as u64;
        ms += 1;
    }
    f.flush().unwrap();
    assert!(ms < 86_400_000, "the trace stays within one day");
    let topo = dir.join("replay.yaml");
    let yaml = format!(
        "name: big\nduration: {}s\nservices:\n  s:\n    cpus: 64\n    endpoints:\n      e: {{ work: \"per(GeneratedTokens, 10us)\" }}\n\
         workload:\n  - name: replay\n    target: s.e\n    trace: {{ file: trace.csv, attributes: [ ContextTokens, GeneratedTokens ] }}\n",
        ms / 1000 + 1
    );
    std::fs::write(&topo, yaml).unwrap();
    (topo, ms / 1000 + 1)
}

// A benchmark reports wall time: the clock is read here, outside the library.
#[allow(clippy::disallowed_methods)]
fn child(topo: &str) {
    let t0 = Instant::now();
    let model = stormcast::cli::load_file(Path::new(topo)).unwrap_or_else(|d| panic!("{}", d.render("")));
    let load_s = t0.elapsed().as_secs_f64();
    let r =
        run(&model, &RunOptions { duration: Some(model.duration + SimDuration::from_secs(1)), ..Default::default() });
    let requests: u64 = r.workloads.values().map(|w| w.offered).sum();
    println!("{requests} {} {load_s:.1} {:.1}", peak_rss_kib(), t0.elapsed().as_secs_f64());
}

fn main() {
    if let Ok(topo) = std::env::var(CHILD_ENV) {
        return child(&topo);
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let large: u64 = std::env::var("STORMCAST_TRACE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let exe = std::env::current_exe().expect("own path");
    let mut peaks = Vec::new();
    for mib in [10, large] {
        let dir = std::env::temp_dir().join(format!("stormcast-trace-{}-{mib}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (topo, span_s) = write_trace(&dir, mib);
        let out = Command::new(&exe).env(CHILD_ENV, &topo).output().expect("child runs");
        std::fs::remove_dir_all(&dir).ok();
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<&str> = text.split_whitespace().collect();
        assert!(v.len() == 4, "child failed: {}", String::from_utf8_lossy(&out.stderr));
        println!(
            "trace {mib:>5} MiB ({span_s} s of requests): {:>10} requests replayed, peak RSS {:>7} KiB, load (check) {} s, total {} s",
            v[0], v[1], v[2], v[3]
        );
        peaks.push(v[1].parse::<f64>().unwrap());
    }
    println!("peak RSS ratio, {large} MiB / 10 MiB: {:.2}", peaks[1] / peaks[0]);
}
