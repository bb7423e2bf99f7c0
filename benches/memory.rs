//! (d) Memory stays bounded by what is in flight, not by simulated time:
//! runs M/M/1 (ρ = 0.8) for D and for 10·D simulated seconds, each in a fresh
//! child process, and prints each child's peak RSS (VmHWM) and their ratio;
//! then a queue that nobody consumes, filled with 1 M and with 10 M waiting
//! messages: the state bytes per waiting message.
//! `cargo bench --bench memory`. Linux only (reads /proc/self/status).

use std::path::Path;
use std::process::Command;
use stormcast::engine::SimDuration;
use stormcast::sim::{RunOptions, run};

const CHILD_ENV: &str = "STORMCAST_MEMORY_CHILD_SECS";
const QUEUE_ENV: &str = "STORMCAST_MEMORY_CHILD_MESSAGES";

/// Publishes `n` messages at 100k/s to a queue whose consumer service is
/// down for the whole run: they all wait.
fn queue_child(n: u64) {
    let secs = n / 100_000;
    let text = format!(
        "duration: {secs}s
services:
  front: {{ cpus: 4, endpoints: {{ e: {{ steps: [ {{ publish: q }} ] }} }} }}
  back: {{ endpoints: {{ e: {{ work: 1ms }} }} }}
queues:
  q: {{ partitions: 8, consumers: [ {{ endpoint: back.e, mode: partitioned }} ] }}
faults: [ {{ at: 0s, for: {}s, kind: outage, service: back }} ]
workload: [ {{ name: w, target: front.e, rate: 100000/s, arrivals: deterministic }} ]
",
        secs + 1
    );
    let opts = stormcast::spec::LoadOptions { base_dir: Path::new(".").into(), files: &stormcast::cli::FsFiles };
    let model = stormcast::spec::load_str("backlog.yaml", &text, &opts).unwrap_or_else(|d| panic!("{}", d.render("")));
    let r = run(&model, &RunOptions::default());
    println!("{} {} {}", n, r.queues["q"].depth_end, peak_rss_kib());
}

#[path = "common/rss.rs"]
mod rss;
use rss::peak_rss_kib;

fn child(secs: u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/mm1.yaml");
    let model = stormcast::cli::load_file(&path).expect("mm1.yaml loads");
    let r = run(&model, &RunOptions { duration: Some(SimDuration::from_secs(secs)), ..RunOptions::default() });
    let customers: u64 = r.workloads.values().map(|w| w.offered).sum();
    println!("{secs} {customers} {}", peak_rss_kib());
}

fn main() {
    if let Ok(secs) = std::env::var(CHILD_ENV) {
        child(secs.parse().expect("seconds"));
        return;
    }
    if let Ok(n) = std::env::var(QUEUE_ENV) {
        queue_child(n.parse().expect("messages"));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let exe = std::env::current_exe().expect("own path");
    let measure = |secs: u64| -> (u64, u64) {
        let out = Command::new(&exe).env(CHILD_ENV, secs.to_string()).output().expect("child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<u64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        (f[1], f[2])
    };
    let base = 200;
    let (c1, r1) = measure(base);
    let (c10, r10) = measure(base * 10);
    println!("memory/mm1: {base} s simulated ({c1} customers): peak RSS {r1} KiB");
    println!("memory/mm1: {} s simulated ({c10} customers): peak RSS {r10} KiB", base * 10);
    println!("memory/mm1: ratio 10x/1x = {:.3} (target <= 1.10)", r10 as f64 / r1 as f64);
    let backlog = |n: u64| -> (u64, u64) {
        let out = Command::new(&exe).env(QUEUE_ENV, n.to_string()).output().expect("child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<u64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        (f[1], f[2])
    };
    let (d1, m1) = backlog(1_000_000);
    let (d10, m10) = backlog(10_000_000);
    println!("memory/queue: {d1} messages waiting: peak RSS {m1} KiB");
    println!("memory/queue: {d10} messages waiting: peak RSS {m10} KiB");
    let per = (m10 - m1) as f64 * 1024.0 / (d10 - d1).max(1) as f64;
    println!(
        "memory/queue: {per:.1} bytes per waiting message (a Msg is 16; a deque may hold up to 2x while it grows)"
    );
}
