//! Experiment files → an [`experiment::Plan`](crate::experiment::Plan):
//! the topology they start from, read once; per variant and per point of
//! the sweep's grid, a copy of its tree with the variant's `set` and the
//! point's values applied, checked like any topology. Every problem of the
//! experiment file, and of every point's topology, is reported at once.
//!
//! Paths are `--set`'s (`services.db.replicas`,
//! `services.api.endpoints.get.steps[1].timeout`). A path must start at
//! something the topology has: a top-level key it may hold, and below
//! `services`, `policies` or `workload` an element it names; keys below
//! that may be new (`services.cart.autoscale.min` on a service without an
//! autoscaler), and the checked topology says whether they are known.

use super::decode::{Ctx, did_you_mean, found};
use super::yaml::{self, Key, Node, NodeKind};
use super::{Diagnostic, Diagnostics, LoadOptions, keys, patch, resolve, topology};
use crate::experiment::{Design, Metric, Objective, Plan, PointInfo, SloSpec, VariantInfo};
use crate::model::{Slo, Stat};
use std::collections::BTreeMap;

/// Most points × replications one experiment may ask for.
pub const MAX_RUNS: u64 = 1_000_000;

/// A checked experiment and the notes loading made.
#[derive(Debug)]
pub struct LoadedExperiment {
    pub plan: Plan,
    /// The topology file, as resolved, and its text (for the report's hash).
    pub topology_file: String,
    pub topology_text: String,
    pub notes: Diagnostics,
}

/// One `set` or sweep value: where it is written, the path, the value.
struct Setting<'n> {
    at: (usize, usize),
    yaml_path: String,
    path: String,
    value: &'n Node,
}

/// Reads the experiment in `text` (file name `file`); its topology is read
/// through `opts.files`, relative to `opts.base_dir`.
pub fn load_experiment(file: &str, text: &str, opts: &LoadOptions) -> Result<LoadedExperiment, Diagnostics> {
    let parsed = yaml::parse(text);
    let mut cx = Ctx {
        file,
        files: opts.files,
        base_dir: &opts.base_dir,
        diags: parsed
            .errors
            .iter()
            .map(|e| Diagnostic {
                file: file.to_string(),
                line: e.line,
                column: e.col,
                path: e.path.clone(),
                message: e.message.clone(),
                hint: e.hint.clone(),
            })
            .collect(),
        notes: Vec::new(),
        dists: Vec::new(),
        pers: Vec::new(),
    };
    let Some(root) = parsed.root else { return Err(Diagnostics(cx.diags)) };
    let Some(f) = cx.fields(&root, "", root.loc(), &keys::EXPERIMENT) else {
        return Err(Diagnostics(cx.diags));
    };
    let name = cx.req(&f, "experiment", |cx, n, p| cx.text(n, p, "a name").map(str::to_string));
    let question = f.get("question").and_then(|n| cx.text(n, "question", "text")).map(str::to_string);
    let replications = f.get("replications").map_or(Some(10), |n| cx.u32(n, "replications", 1, 10_000));
    let seed = f.get("seed").map_or(Some(1), |n| cx.uint(n, "seed", 0, u64::MAX));
    let duration = f.get("duration").and_then(|n| cx.positive_duration(n, "duration"));
    let variants = variants(&mut cx, &f);
    let sweep = sweep(&mut cx, &f);
    // The topology, read once.
    let topo_node = cx.require(&f, "topology", Some("write topology: ../topologies/shop.yaml"));
    let topo = topo_node.and_then(|n| {
        let written = cx.text(n, "topology", "a path")?;
        let path = resolve(&opts.base_dir, written);
        match opts.files.read_to_string(&path) {
            Ok(t) => Some((path, t, n, written.to_string())),
            Err(e) => {
                cx.error(n.loc(), "topology", format!("cannot read {}: {e}", path.display()), None);
                None
            }
        }
    });
    let Some((topo_path, topo_text, topo_node, topo_written)) = topo else {
        return Err(Diagnostics(cx.diags));
    };
    let topo_file = topo_path.display().to_string();
    let topo_opts =
        LoadOptions { base_dir: topo_path.parent().map(|p| p.to_path_buf()).unwrap_or_default(), files: opts.files };
    let tparsed = yaml::parse(&topo_text);
    let base = match topology::load_root_or_errors(&topo_file, tparsed, &topo_opts) {
        Ok((tree, loaded)) => Some((tree, loaded)),
        Err(d) => {
            cx.error(topo_node.loc(), "topology", format!("{topo_file} has {} problem(s): see below", d.0.len()), None);
            cx.diags.extend(d.0);
            None
        }
    };
    let Some((tree, base_loaded)) = base else { return Err(Diagnostics(cx.diags)) };
    let slo: Vec<Slo> = match f.get("slo") {
        Some(n) => super::slo::slos(&mut cx, &base_loaded.model.workloads, n, "slo"),
        None => base_loaded.model.slo.clone(),
    };
    let objective = f.get("objective").and_then(|n| objective(&mut cx, n, &base_loaded.model.workloads, &f));
    for v in &variants {
        for s in &v.1 {
            check_path(&mut cx, &tree, s);
        }
    }
    for axis in &sweep {
        if let Some(first) = axis.1.first() {
            check_path(&mut cx, &tree, &Setting { value: first.value, ..clone_setting(first) });
        }
    }
    let (Some(name), Some(replications), Some(seed)) = (name, replications, seed) else {
        return Err(Diagnostics(cx.diags));
    };
    if !cx.diags.is_empty() {
        return Err(Diagnostics(cx.diags));
    }
    let grid = grid(&sweep);
    let runs = (variants.len() * grid.len()) as u64 * u64::from(replications);
    if runs > MAX_RUNS {
        let msg = format!(
            "{} variants × {} sweep points × {replications} replications make {runs} runs, more than {MAX_RUNS}",
            variants.len(),
            grid.len()
        );
        cx.error(root.loc(), "", msg, Some("sweep fewer values, or run fewer replications".into()));
        return Err(Diagnostics(cx.diags));
    }
    let mut points = Vec::new();
    let mut notes = base_loaded.notes.0;
    let mut models = Vec::new();
    let mut reported: Vec<((usize, usize), String, String)> = Vec::new();
    for (vname, sets, _) in &variants {
        for combo in &grid {
            let mut t = tree.clone();
            let mut applied: Vec<&Setting> = sets.iter().collect();
            for (a, &k) in combo.iter().enumerate() {
                applied.push(&sweep[a].1[k]);
            }
            for s in &applied {
                if let Err(msg) = patch::set_path(&mut t, &s.path, s.value.clone()) {
                    cx.error_at(s.at, &s.yaml_path, msg, None);
                }
            }
            let where_ = point_label(vname, combo, &sweep);
            match topology::load_root(&topo_file, &t, &topo_opts, Vec::new()) {
                Ok(mut loaded) => {
                    loaded.model.slo = slo.clone();
                    if let Some(d) = duration {
                        loaded.model.duration = d;
                    }
                    notes.extend(loaded.notes.0);
                    points.push(PointInfo {
                        variant: vname.clone(),
                        sweep: combo
                            .iter()
                            .enumerate()
                            .map(|(a, &k)| (sweep[a].0.clone(), json(sweep[a].1[k].value)))
                            .collect(),
                        grid: combo.clone(),
                    });
                    models.push(loaded.model);
                }
                Err(d) => {
                    // A problem under a path that a `set` or sweep value wrote
                    // is that value's: reported at it, once (not once per
                    // point that uses it). Others are the combination's.
                    let mut rest = Vec::new();
                    for x in d.0 {
                        let culprit = applied.iter().filter(|s| under(&x.path, &s.path)).max_by_key(|s| s.path.len());
                        match culprit {
                            Some(c) => {
                                let key = (c.at, x.path.clone(), x.message.clone());
                                if !reported.contains(&key) {
                                    let msg = format!("{} (the topology's {}, with {where_})", x.message, x.path);
                                    cx.error_at(c.at, &c.yaml_path, msg, x.hint.clone());
                                    reported.push(key);
                                }
                            }
                            None => rest.push(x),
                        }
                    }
                    if !rest.is_empty() {
                        let at = applied.first().map_or((root.line, root.col), |s| s.at);
                        let msg =
                            format!("the topology with {where_} does not check: {} problem(s), below", rest.len());
                        cx.error_at(at, "", msg, None);
                        cx.diags.extend(rest.into_iter().map(|mut x| {
                            x.message = format!("[{where_}] {}", x.message);
                            x
                        }));
                    }
                }
            }
        }
    }
    if !cx.diags.is_empty() {
        return Err(Diagnostics(cx.diags));
    }
    notes.extend(cx.notes);
    if let Some(d) = duration
        && d <= base_loaded.model.warmup
    {
        let msg = format!("duration ({d}) must be longer than the topology's warm-up ({})", base_loaded.model.warmup);
        return Err(Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line: f.key("duration").map_or(0, |k| k.line),
            column: f.key("duration").map_or(0, |k| k.col),
            path: "duration".into(),
            message: msg,
            hint: None,
        }]));
    }
    let baseline = variants.first().map_or_else(|| "baseline".to_string(), |v| v.0.clone());
    let design = Design {
        name,
        question,
        seed,
        replications,
        duration_s: duration.unwrap_or(base_loaded.model.duration).as_secs_f64(),
        warmup_s: base_loaded.model.warmup.as_secs_f64(),
        baseline,
        variants: variants
            .iter()
            .map(|(n, sets, d)| VariantInfo {
                name: n.clone(),
                description: d.clone(),
                set: sets.iter().map(|s| (s.path.clone(), yaml_text(s.value))).collect(),
            })
            .collect(),
        points,
        slo: slo.iter().map(SloSpec::of).collect(),
        objective,
        topology: topo_written,
        provenance: Default::default(),
    };
    Ok(LoadedExperiment {
        plan: Plan { design, models, duration },
        topology_file: topo_file,
        topology_text: topo_text,
        notes: Diagnostics(notes),
    })
}

/// Whether the YAML path `path` is `prefix` or lies under it.
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('['))
}

fn clone_setting<'n>(s: &Setting<'n>) -> Setting<'n> {
    Setting { at: s.at, yaml_path: s.yaml_path.clone(), path: s.path.clone(), value: s.value }
}

/// "variant budgeted at services.cart.autoscale.min = 2".
fn point_label(variant: &str, combo: &[usize], sweep: &[(String, Vec<Setting>)]) -> String {
    let mut s = format!("variant {variant}");
    for (a, &k) in combo.iter().enumerate() {
        let v = sweep[a].1[k].value.as_str().unwrap_or("…");
        s.push_str(&format!(", {} = {v}", sweep[a].0));
    }
    s
}

/// The variants in file order, each with its settings; one `baseline`
/// without settings when there are none.
fn variants<'n>(cx: &mut Ctx, f: &super::decode::Fields<'n>) -> Vec<(String, Vec<Setting<'n>>, Option<String>)> {
    let Some(n) = f.get("variants") else { return vec![("baseline".into(), Vec::new(), None)] };
    let Some(entries) = n.as_map() else {
        cx.error(
            n.loc(),
            "variants",
            format!("expected a map of variants, found {}", found(n)),
            Some(keys::VARIANT.hint.into()),
        );
        return Vec::new();
    };
    if entries.is_empty() {
        cx.error(
            n.loc(),
            "variants",
            "no variant: write at least one (the first is the baseline)",
            Some(keys::VARIANT.hint.into()),
        );
    }
    let mut out = Vec::new();
    for (k, v) in entries {
        let path = format!("variants.{}", k.text);
        let mut sets = Vec::new();
        if matches!(v.kind, NodeKind::Null) {
            out.push((k.text.clone(), sets, None));
            continue;
        }
        let Some(vf) = cx.fields(v, &path, k.loc(), &keys::VARIANT) else { continue };
        let description =
            vf.get("description").and_then(|d| cx.text(d, &format!("{path}.description"), "text")).map(str::to_string);
        if let Some(s) = vf.get("set") {
            match s.as_map() {
                Some(m) => sets.extend(m.iter().map(|(pk, pv)| Setting {
                    at: (pk.line, pk.col),
                    yaml_path: format!("{path}.set.{}", pk.text),
                    path: pk.text.clone(),
                    value: pv,
                })),
                None => cx.error(
                    s.loc(),
                    &format!("{path}.set"),
                    format!("expected a map of path → value, found {}", found(s)),
                    Some(keys::VARIANT.hint.into()),
                ),
            }
        }
        out.push((k.text.clone(), sets, description));
    }
    out
}

/// The sweep's axes in file order: a path and its values.
fn sweep<'n>(cx: &mut Ctx, f: &super::decode::Fields<'n>) -> Vec<(String, Vec<Setting<'n>>)> {
    let Some(n) = f.get("sweep") else { return Vec::new() };
    let hint = "write sweep: { \"services.cart.autoscale.min\": [2, 3, 4] }";
    let Some(entries) = n.as_map() else {
        cx.error(
            n.loc(),
            "sweep",
            format!("expected a map of path → list of values, found {}", found(n)),
            Some(hint.into()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let yaml_path = format!("sweep.{}", k.text);
        let Some(values) = v.as_seq().filter(|s| !s.is_empty()) else {
            cx.error(v.loc(), &yaml_path, format!("expected a list of values, found {}", found(v)), Some(hint.into()));
            continue;
        };
        let settings = values
            .iter()
            .map(|x| Setting { at: (x.line, x.col), yaml_path: yaml_path.clone(), path: k.text.clone(), value: x })
            .collect();
        out.push((k.text.clone(), settings));
    }
    out
}

/// Every combination of the axes' value indices, the last axis fastest
/// (one empty combination without a sweep).
fn grid(sweep: &[(String, Vec<Setting>)]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for (_, values) in sweep {
        out = out.iter().flat_map(|c| (0..values.len()).map(move |k| [c.clone(), vec![k]].concat())).collect();
    }
    out
}

/// A setting's path must start at something the topology has (see the
/// module doc); a wrong name gets a "did you mean".
fn check_path(cx: &mut Ctx, tree: &Node, s: &Setting) {
    let first = s.path.split(['.', '[']).next().unwrap_or("");
    let top: Vec<&str> = keys::TOPOLOGY.supported();
    if !top.contains(&first) {
        let msg = format!("'{}' is not a key of a topology{}", first, did_you_mean(first, top.iter().copied()));
        cx.error_at(s.at, &s.yaml_path, msg, Some(format!("a path starts at one of: {}", top.join(", "))));
        return;
    }
    let mut rest = s.path[first.len()..].trim_start_matches('.');
    if matches!(first, "services" | "policies") {
        let name = rest.split(['.', '[']).next().unwrap_or("");
        let names: Vec<&str> = tree
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.text == first))
            .and_then(|(_, v)| v.as_map())
            .map(|m| m.iter().map(|(k, _)| k.text.as_str()).collect())
            .unwrap_or_default();
        if name.is_empty() || !names.contains(&name) {
            let one = if first == "services" { "service" } else { "policy" };
            let msg = format!("the topology has no {one} '{name}'{}", did_you_mean(name, names.iter().copied()));
            let hint = format!("its {first} are: {}", names.join(", "));
            cx.error_at(s.at, &s.yaml_path, msg, Some(hint));
        }
        rest = "";
    }
    let _ = rest;
}

/// A YAML scalar as the result shows a swept value: a number when it is
/// one, else its text.
fn json(n: &Node) -> serde_json::Value {
    match &n.kind {
        NodeKind::Scalar { text, quoted: false } => match text.parse::<i64>() {
            Ok(i) => i.into(),
            Err(_) => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| text.clone().into(), Into::into),
        },
        NodeKind::Scalar { text, .. } => text.clone().into(),
        NodeKind::Null => serde_json::Value::Null,
        NodeKind::Seq(s) => s.iter().map(json).collect(),
        NodeKind::Map(m) => {
            m.iter().map(|(k, v): &(Key, Node)| (k.text.clone(), json(v))).collect::<serde_json::Map<_, _>>().into()
        }
    }
}

/// `objective: { minimize: METRIC, subject_to: slo }`.
fn objective(
    cx: &mut Ctx,
    n: &Node,
    workloads: &[crate::model::Workload],
    f: &super::decode::Fields,
) -> Option<Objective> {
    let at = f.key("objective").map_or(n.loc(), |k| k.loc());
    let of = cx.fields(n, "objective", at, &keys::OBJECTIVE)?;
    let (minimize, key) = match (of.get("minimize"), of.get("maximize")) {
        (Some(v), None) => (true, v),
        (None, Some(v)) => (false, v),
        _ => return None, // one_of reported it
    };
    let path = of.at(if minimize { "minimize" } else { "maximize" });
    let word = cx.text(key, &path, "a metric such as replica_hours or web.p99")?;
    let metric = match metric(word, workloads) {
        Ok(m) => m,
        Err(msg) => {
            cx.error(
                key.loc(),
                &path,
                msg,
                Some("write replica_hours, cost, or WORKLOAD.p99 / .success / .goodput".into()),
            );
            return None;
        }
    };
    let subject_to_slo = match of.get("subject_to").and_then(|v| v.as_str()) {
        Some("nothing") => false,
        Some("slo") | None => true,
        Some(other) => {
            cx.error(key.loc(), &of.at("subject_to"), format!("expected slo or nothing, found '{other}'"), None);
            return None;
        }
    };
    Some(Objective { metric, minimize, subject_to_slo })
}

/// A metric's name: `replica_hours`, `cost`, `WORKLOAD.STAT` (with one
/// workload the `WORKLOAD.` may be left out).
pub fn metric(word: &str, workloads: &[crate::model::Workload]) -> Result<Metric, String> {
    match word {
        "replica_hours" => return Ok(Metric::ReplicaHours),
        "cost" => return Ok(Metric::Cost),
        _ => {}
    }
    let (wl, stat) = match word.rsplit_once('.') {
        Some((w, s)) => (w.to_string(), s),
        None if workloads.len() == 1 => (workloads[0].name.clone(), word),
        None => return Err(format!("'{word}' names no metric: say which workload, as WORKLOAD.{word}")),
    };
    if !workloads.iter().any(|w| w.name == wl) {
        let names = workloads.iter().map(|w| w.name.as_str());
        return Err(format!("no workload named '{wl}'{}", did_you_mean(&wl, names)));
    }
    let stat = stat.trim_end_matches("_ms").trim_end_matches("_per_s");
    match stat {
        "success" => Ok(Metric::Success { workload: wl }),
        "goodput" => Ok(Metric::Goodput { workload: wl }),
        s => match Stat::ALL.iter().find(|x| x.word() == s) {
            Some(&st) => Ok(Metric::latency(&wl, st)),
            None => Err(format!(
                "'{s}' is no metric of a workload{}",
                did_you_mean(s, Stat::ALL.iter().map(|x| x.word()).chain(["success", "goodput"]))
            )),
        },
    }
}

/// A YAML value as one line of text (`10%`, `[1, 2]`, `{ ratio: 10% }`).
fn yaml_text(n: &Node) -> String {
    match &n.kind {
        NodeKind::Scalar { text, .. } => text.clone(),
        NodeKind::Null => "null".into(),
        NodeKind::Seq(s) => format!("[{}]", s.iter().map(yaml_text).collect::<Vec<_>>().join(", ")),
        NodeKind::Map(m) => {
            format!(
                "{{ {} }}",
                m.iter().map(|(k, v)| format!("{}: {}", k.text, yaml_text(v))).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

/// The sweep values of `design` as the report lists them, per path.
pub fn sweep_values(design: &Design) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut out: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for p in &design.points {
        for (k, v) in &p.sweep {
            let e = out.entry(k.clone()).or_default();
            if !e.contains(v) {
                e.push(v.clone());
            }
        }
    }
    out
}
