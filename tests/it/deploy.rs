//! `deploy/` as a user applies it: the Kubernetes manifests parse and
//! slice an experiment the way the CLI reads a slice (`--shard N` with
//! `JOB_COMPLETION_INDEX`, N equal to the Job's completions); the Slurm
//! script's array matches; every `stormcast` command in deploy/ uses flags
//! the binary has and files the repository has; the workflow gates on a
//! topology with SLOs; and `deploy/check.sh` — slices as local processes,
//! merged — gives the single-machine bytes. No kubectl, Slurm or Docker
//! here: what can be checked without them is.

use std::path::{Path, PathBuf};
use std::process::Command;
use stormcast::spec::yaml::{self, Node};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a `---`-separated YAML file, parsed.
fn documents(rel: &str) -> Vec<Node> {
    read(rel)
        .split("\n---\n")
        .map(|doc| {
            let p = yaml::parse(doc);
            assert!(p.errors.is_empty(), "{rel}: {:?}", p.errors);
            p.root.unwrap_or_else(|| panic!("{rel}: no document"))
        })
        .collect()
}

/// The node at a dotted path (`spec.template.spec`); list items as `[i]`.
fn at<'a>(n: &'a Node, path: &str) -> &'a Node {
    let mut cur = n;
    for part in path.split('.') {
        cur = match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(i) => cur.as_seq().and_then(|s| s.get(i.parse::<usize>().expect("index"))),
            None => cur.get(part),
        }
        .unwrap_or_else(|| panic!("no {part} in {path}"));
    }
    cur
}

fn text<'a>(n: &'a Node, path: &str) -> &'a str {
    at(n, path).as_str().unwrap_or_else(|| panic!("{path} is not text"))
}

/// Every `stormcast SUBCOMMAND ...` command line in `s`, the rest of its
/// line up to a shell separator or the end of a code span.
fn commands(s: &str) -> Vec<(String, Vec<String>)> {
    let joined = s.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let sub = words.get(i + 1).copied().unwrap_or("");
            if w.trim_start_matches(['`', '(', '"']) != "stormcast"
                || !["run", "experiment", "report", "check", "capacity"].contains(&sub)
            {
                continue;
            }
            let mut flags = Vec::new();
            for t in &words[i + 2..] {
                if [";", "|", "||", "&&", "#"].contains(t) || t.starts_with('`') {
                    break;
                }
                if t.starts_with('-') {
                    flags.push(t.split('=').next().unwrap_or(t).trim_end_matches(['`', ';']).to_string());
                }
                if t.ends_with('`') || t.ends_with(';') {
                    break;
                }
            }
            out.push((sub.to_string(), flags));
        }
    }
    out
}

fn help(sub: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stormcast")).args([sub, "--help"]).output().expect("the binary runs");
    assert!(out.status.success(), "stormcast {sub} --help");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const FILES: [&str; 6] = [
    "deploy/github-actions.yml",
    "deploy/k8s-indexed-job.yaml",
    "deploy/k8s-merge-job.yaml",
    "deploy/slurm-array.sh",
    "deploy/check.sh",
    "deploy/Dockerfile",
];

#[test]
fn the_indexed_job_slices_as_the_cli_reads_a_slice() {
    let docs = documents("deploy/k8s-indexed-job.yaml");
    let pvc = docs.iter().find(|d| text(d, "kind") == "PersistentVolumeClaim").expect("a PVC");
    let job = docs.iter().find(|d| text(d, "kind") == "Job").expect("a Job");
    assert_eq!(text(job, "apiVersion"), "batch/v1");
    assert_eq!(text(job, "spec.completionMode"), "Indexed");
    let completions: u32 = text(job, "spec.completions").parse().expect("completions");
    let parallelism: u32 = text(job, "spec.parallelism").parse().expect("parallelism");
    assert!(completions >= 2 && (1..=completions).contains(&parallelism));
    let pod = at(job, "spec.template.spec");
    assert_eq!(text(pod, "restartPolicy"), "Never");
    let container = at(pod, "containers.[0]");
    let argv: Vec<&str> = at(container, "command")
        .as_seq()
        .into_iter()
        .flatten()
        .chain(at(container, "args").as_seq().into_iter().flatten())
        .filter_map(Node::as_str)
        .collect();
    let line = argv.join(" ");
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |flag: &str| words.iter().position(|w| *w == flag).and_then(|i| words.get(i + 1)).copied();
    // `--shard N` (no K): the CLI takes K from JOB_COMPLETION_INDEX, and N
    // must be the number of indexes the Job creates.
    assert_eq!(after("--shard"), Some(completions.to_string().as_str()), "{line}");
    let out = after("--out").expect("--out");
    assert!(out.ends_with("shard-$JOB_COMPLETION_INDEX"), "each index its own folder: {out}");
    // The folder is on the claimed volume.
    let mount = text(container, "volumeMounts.[0].mountPath");
    assert!(out.starts_with(&format!("{mount}/")), "{out} outside {mount}");
    let claim = text(pod, "volumes.[0].persistentVolumeClaim.claimName");
    assert_eq!(claim, text(pvc, "metadata.name"));
    assert_eq!(text(container, "volumeMounts.[0].name"), text(pod, "volumes.[0].name"));
    // The merge Job reads the same folders from the same claim.
    let merge = &documents("deploy/k8s-merge-job.yaml")[0];
    assert_eq!(text(merge, "kind"), "Job");
    let mpod = at(merge, "spec.template.spec");
    assert_eq!(text(mpod, "volumes.[0].persistentVolumeClaim.claimName"), claim);
    let margs = text(at(mpod, "containers.[0]"), "args.[0]");
    let prefix = out.trim_end_matches("$JOB_COMPLETION_INDEX");
    assert!(margs.contains(&format!("stormcast report {prefix}*")), "{margs}");
    // Both run the image the Dockerfile builds.
    assert_eq!(text(container, "image"), text(at(mpod, "containers.[0]"), "image"));
}

#[test]
fn the_slurm_array_is_the_shard_count() {
    let s = read("deploy/slurm-array.sh");
    let array = s.lines().find_map(|l| l.strip_prefix("#SBATCH --array=")).expect("#SBATCH --array=");
    let (lo, hi) = array.split_once('-').expect("a range");
    let (lo, hi): (u32, u32) = (lo.parse().expect("from"), hi.parse().expect("to"));
    assert!(hi > lo);
    // The count comes from the array itself, K from the task id.
    assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_COUNT\""));
    assert!(s.contains("--out \"$OUT/shard-$SLURM_ARRAY_TASK_ID\""));
    assert!(s.contains("--dependency=\"afterok:") && s.contains("stormcast report $OUT/shard-*"));
    // What the CLI makes of a task's environment: every slice once.
    let mut ks: Vec<u32> = (lo..=hi)
        .map(|id| {
            let env = |k: &str| match k {
                "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
                "SLURM_ARRAY_TASK_MIN" => Some(lo.to_string()),
                _ => None,
            };
            let (k, n) = stormcast::cli::parse_shard(&(hi - lo + 1).to_string(), &env).expect("a slice");
            assert_eq!(n, hi - lo + 1);
            k
        })
        .collect();
    ks.sort_unstable();
    assert_eq!(ks, (1..=hi - lo + 1).collect::<Vec<_>>());
}

#[test]
fn deploy_files_use_flags_and_files_that_exist() {
    let mut checked = 0;
    for file in FILES {
        let s = read(file);
        for (sub, flags) in commands(&s) {
            let h = help(&sub);
            for f in flags {
                assert!(
                    h.contains(&format!("{f} ")) || h.contains(&format!("{f},")),
                    "{file}: stormcast {sub} has no {f}"
                );
                checked += 1;
            }
        }
        for (i, _) in s.match_indices(".yaml") {
            let start = s[..i].rfind(|c: char| !(c.is_alphanumeric() || "/_.-".contains(c))).map_or(0, |p| p + 1);
            let path = &s[start..i + 5];
            if path.starts_with("topologies/") || path.starts_with("experiments/") {
                assert!(root().join(path).is_file(), "{file} names {path}, which does not exist");
            }
        }
    }
    assert!(checked >= 10, "only {checked} flags found: the command parser lost them");
}

#[test]
fn the_workflow_gates_on_a_topology_with_slos() {
    let wf = &documents("deploy/github-actions.yml")[0];
    let job = at(wf, "jobs.slo");
    let topology = text(job, "env.TOPOLOGY");
    let model = stormcast::cli::load_file(&root().join(topology)).expect("the gated topology loads");
    assert!(!model.slo.is_empty(), "{topology} has no slo: block, so the gate cannot fail");
    let runs: Vec<&str> = at(job, "steps")
        .as_seq()
        .expect("steps")
        .iter()
        .filter_map(|s| s.get("run"))
        .filter_map(Node::as_str)
        .collect();
    // The gate is a plain `stormcast run`: its exit status is the step's.
    let gate = runs.iter().find(|r| r.contains("stormcast run")).expect("a stormcast run step");
    assert!(!gate.contains("||") && !gate.contains("continue-on-error"), "{gate}");
    assert!(runs.iter().any(|r| r.contains("stormcast experiment \"$EXPERIMENT\" --out")));
    assert!(root().join(text(job, "env.EXPERIMENT")).is_file());
}

/// `deploy/check.sh` on a small experiment: two variants × three seeds in
/// three slices, laid out as the Job and as the Slurm array.
#[test]
fn check_sh_merges_slices_into_the_single_machine_bytes() {
    let dir = std::env::temp_dir().join(format!("stormcast-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let exp = dir.join("small.yaml");
    let mm1 = root().join("topologies/mm1.yaml");
    std::fs::write(
        &exp,
        format!(
            "experiment: small\ntopology: {}\nreplications: 3\nduration: 20s\nvariants:\n  baseline: {{}}\n  two:\n    set: {{ \"services.server.replicas\": 2 }}\n",
            mm1.display()
        ),
    )
    .expect("write");
    let out = Command::new("bash")
        .arg(root().join("deploy/check.sh"))
        .arg(&exp)
        .arg("3")
        .env("STORMCAST", env!("CARGO_BIN_EXE_stormcast"))
        .env("TMPDIR", &dir)
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.matches("byte for byte").count(), 2, "{stdout}");
}
