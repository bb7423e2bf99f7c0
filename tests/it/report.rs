//! The run report as a user gets it: `run --out DIR` writes report.html and
//! report.md beside the results; `stormcast report DIR` rebuilds both,
//! byte for byte, from the files alone; a folder missing an input is a
//! clear error; a partial run's report says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stormcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stormcast")).args(args).output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh folder for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("stormcast-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        TempDir(d)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn retry_storm() -> String {
    crate::common::topologies_dir().join("retry-storm.yaml").display().to_string()
}

/// The files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("the folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn report_rebuilds_the_same_bytes_from_the_folder_alone() {
    let dir = TempDir::new("rebuild");
    let out = stormcast(&["run", &retry_storm(), "--duration", "90s", "-q", "--out", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        listing(&dir.0),
        [
            "report.html",
            "report.md",
            "run.json",
            "services.csv",
            "summary.json",
            "summary.txt",
            "topology.json",
            "workloads.csv"
        ],
        "no temporary file is left behind"
    );
    let (html, md) = (dir.read("report.html"), dir.read("report.md"));
    std::fs::remove_file(dir.0.join("report.html")).expect("remove");
    std::fs::write(dir.0.join("report.md"), "stale").expect("overwrite");
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("report.html"), "{}", text(&out.stdout));
    assert!(dir.read("report.html") == html, "report.html differs after `stormcast report`");
    assert_eq!(dir.read("report.md"), md);
    // What the report says of the run is the run's: the hash of the file,
    // the command line, the fault.
    let bytes = std::fs::read(retry_storm()).expect("the topology");
    let run: serde_json::Value = serde_json::from_str(&dir.read("run.json")).expect("run.json");
    let hash = run["input_sha256"].as_str().expect("a hash");
    assert_eq!(hash, stormcast::cli::sha256_hex(&bytes), "the hash of the file's bytes");
    assert!(html.contains(hash) && md.contains(hash));
    assert!(md.contains("--duration 90s -q --out"), "{md}");
    assert!(html.contains(">\nslowdown db\n</text>"), "the fault is on the charts");
    for outside in ["http://", "https://", "src=", "<script"] {
        assert!(!html.contains(outside), "{outside} in report.html");
    }
}

/// `stormcast report DIR` reads `queues.csv` when the folder has one: the
/// queue of `summary.json` gets its table, each consumer group of the
/// series its charts (`run --out` writes the file only with queues).
#[test]
fn report_reads_the_queues_series_when_present() {
    use stormcast::metrics::{QueueGroupResult, QueueResult};
    let dir = TempDir::new("queues");
    let out = stormcast(&["run", &retry_storm(), "--duration", "30s", "-q", "--out", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!listing(&dir.0).contains(&"queues.csv".to_string()), "no queues, no queues.csv");
    assert!(!dir.read("report.html").contains(">Queues</h"));
    let mut summary: serde_json::Value = serde_json::from_str(&dir.read("summary.json")).expect("summary.json");
    let group = QueueGroupResult { endpoint: "db.query".into(), mode: "competing".into(), ..Default::default() };
    let queue = QueueResult { published: 1234, groups: [("billing".to_string(), group)].into(), ..Default::default() };
    summary["queues"] = serde_json::json!({ "orders": queue });
    std::fs::write(dir.0.join("summary.json"), summary.to_string()).expect("write");
    let mut csv = String::from(
        "t_s,queue,published,processed,redelivered,dead_lettered,rejected,depth,in_flight,lag_s,consumers\n",
    );
    for t in 0..30 {
        csv.push_str(&format!("{t},orders/billing,60,50,1,0,0,{},4,{},4\n", 10 * t, 0.25 * t as f64));
    }
    std::fs::write(dir.0.join("queues.csv"), csv).expect("write");
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (html, md) = (dir.read("report.html"), dir.read("report.md"));
    assert!(html.contains(">Queues</h2>") && md.contains("## Queues"), "the table");
    assert!(md.contains("| `orders` | 1,234 |"), "{md}");
    for chart in ["messages", "lag"] {
        assert!(html.contains(&format!(">\norders/billing — {chart}\n</text>")), "the {chart} chart");
    }
}

/// `stormcast report DIR` reads `nodes.csv` and `replicas.csv` when the
/// folder has them: the cluster of `summary.json` gets its section, the
/// pools and the throttled services their charts (`run --out` writes the
/// files only when the run has those rows).
#[test]
fn report_reads_the_cluster_series_when_present() {
    use stormcast::metrics::{ClusterResult, PlatformResult, PoolResult};
    let dir = TempDir::new("cluster");
    let out = stormcast(&["run", &retry_storm(), "--duration", "30s", "-q", "--out", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = listing(&dir.0);
    assert!(!files.contains(&"nodes.csv".to_string()) && !files.contains(&"replicas.csv".to_string()));
    assert!(!dir.read("report.html").contains(">Cluster</h"));
    let mut summary: serde_json::Value = serde_json::from_str(&dir.read("summary.json")).expect("summary.json");
    let pool = PoolResult { node_hours: 0.25, cpu_requested_share: 0.5, ..Default::default() };
    let cluster =
        ClusterResult { node_hours: 0.25, pools: [("general".to_string(), pool)].into(), ..Default::default() };
    summary["cluster"] = serde_json::json!(cluster);
    let platform = PlatformResult { cpu_request: 0.5, cpu_limit: Some(1.0), throttled_s: 4.5, ..Default::default() };
    summary["services"]["db"]["platform"] = serde_json::json!(platform);
    std::fs::write(dir.0.join("summary.json"), summary.to_string()).expect("write");
    let mut nodes = String::from(
        "t_s,pool,nodes,provisioning,pending,cpu_requested,cpu_used,memory_requested_gib,memory_used_gib,cost\n",
    );
    let mut replicas = String::from("t_s,service,replica,node,state,cpu_s,throttled_s,memory_mib\n");
    for t in 0..30 {
        nodes.push_str(&format!("{t},general,{},{},0,4,{},8,6,0.01\n", 2 + t / 10, u8::from(t == 9), 0.1 * t as f64));
        for r in 0..2 {
            let node = if t < 3 && r == 1 { String::new() } else { format!("general-{r}") };
            replicas.push_str(&format!("{t},db,db/{r},{node},ready,0.9,0.15,256\n"));
        }
    }
    std::fs::write(dir.0.join("nodes.csv"), nodes).expect("write");
    std::fs::write(dir.0.join("replicas.csv"), replicas).expect("write");
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (html, md) = (dir.read("report.html"), dir.read("report.md"));
    assert!(html.contains(">Cluster</h2>") && md.contains("## Cluster"), "the section");
    assert!(md.contains("| `general` | 0 | 0.00 | 0 | 0 | 0.25 | — | 50.0% |"), "{md}");
    assert!(md.contains("### CPU limits and throttling") && md.contains("| `db` | 0.50 | 1.00 |"), "{md}");
    for chart in ["Nodes per pool", "CPU requested and used per pool", "Throttled time per service"] {
        assert!(html.contains(&format!(">\n{chart}\n</text>")), "the chart {chart}");
    }
    assert!(html.contains(">\ngeneral provisioning\n</text>"), "the provisioning line");
}

/// `stormcast report DIR` reads `inference.csv` and `tokens.csv` when the
/// folder has them: the inference service of `summary.json` gets its
/// section, the workload its token columns, the series their charts
/// (`run --out` writes the files only when the run has those rows).
#[test]
fn report_reads_the_inference_series_when_present() {
    use stormcast::metrics::{InferenceResult, LatencySummary};
    let dir = TempDir::new("inference");
    let out = stormcast(&["run", &retry_storm(), "--duration", "30s", "-q", "--out", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = listing(&dir.0);
    assert!(!files.contains(&"inference.csv".to_string()) && !files.contains(&"tokens.csv".to_string()));
    assert!(!dir.read("report.html").contains(">Inference servers</h") && !dir.read("summary.txt").contains("ttft"));
    let mut summary: serde_json::Value = serde_json::from_str(&dir.read("summary.json")).expect("summary.json");
    let inference = InferenceResult { iterations: 4321, batch_mean: 7.5, batch_max: 16, ..Default::default() };
    summary["services"]["db"]["inference"] = serde_json::json!(inference);
    let workload = summary["workloads"].as_object().and_then(|w| w.keys().next().cloned()).expect("a workload");
    let ttft = LatencySummary { p50: Some(120.0), p95: Some(480.0), ..Default::default() };
    summary["workloads"][&workload]["ttft_ms"] = serde_json::json!(ttft);
    summary["workloads"][&workload]["output_tokens_per_s"] = serde_json::json!(512.0);
    std::fs::write(dir.0.join("summary.json"), summary.to_string()).expect("write");
    let mut inference =
        String::from("t_s,service,iterations,batch_mean,busy_share,waiting,kv_used,preemptions,output_tokens\n");
    let mut tokens = String::from("t_s,workload,ttft_p50_ms,ttft_p95_ms,tpot_p50_ms,tpot_p95_ms,output_tokens\n");
    for t in 0..30 {
        let batch = if t == 0 { String::new() } else { "7.5".into() };
        inference.push_str(&format!("{t},db,{},{batch},0.8,{},0.5,0,500\n", if t == 0 { 0 } else { 150 }, t % 4));
        tokens.push_str(&format!("{t},{workload},120,480,,,500\n"));
    }
    std::fs::write(dir.0.join("inference.csv"), inference).expect("write");
    std::fs::write(dir.0.join("tokens.csv"), tokens).expect("write");
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (html, md) = (dir.read("report.html"), dir.read("report.md"));
    assert!(html.contains(">Inference servers</h2>") && md.contains("## Inference servers"), "the section");
    assert!(md.contains("| `db` | 4,321 | 0.0% | 7.50 | 16 |"), "{md}");
    assert!(md.contains(" | 120 | 480 | — | — | 512.0 |"), "{md}");
    for chart in [
        format!("{workload} — time to first token"),
        "Batch size and waiting sequences".into(),
        "KV-cache use".into(),
        "GPU busy".into(),
    ] {
        assert!(html.contains(&format!(">\n{chart}\n</text>")), "the chart {chart}");
    }
}

#[test]
fn a_folder_without_its_inputs_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let out = stormcast(&["run", &retry_storm(), "--duration", "30s", "-q", "--out", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = dir.read("report.html");
    std::fs::remove_file(dir.0.join("topology.json")).expect("remove");
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("topology.json is missing") && err.contains("--out"), "{err}");
    assert_eq!(dir.read("report.html"), html, "nothing is overwritten");
    std::fs::write(dir.0.join("topology.json"), "{ not json").expect("write");
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("topology.json: "), "{}", text(&out.stderr));
    let out = stormcast(&["report", &format!("{}-nowhere", dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("summary.json is missing"), "{}", text(&out.stderr));
}

#[test]
fn a_partial_run_s_report_says_partial() {
    let dir = TempDir::new("partial");
    let out = stormcast(&["run", &retry_storm(), "-q", "--max-events", "20000", "--out", dir.path()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let (html, md) = (dir.read("report.html"), dir.read("report.md"));
    assert!(html.contains("role=\"alert\">PARTIAL RESULT — the run stopped at its max_events safety limit"), "alert");
    assert!(md.contains("PARTIAL RESULT"));
    let out = stormcast(&["report", dir.path()]);
    assert_eq!(out.status.code(), Some(0), "a partial result still makes a report");
    assert_eq!(dir.read("report.html"), html);
}
