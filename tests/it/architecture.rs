//! The shape ARCHITECTURE.md promises, checked on the source: the modules
//! of `sim/` import each other as a DAG (the attempt life cycle, `flow/`,
//! counts as one module), and the leaves — the mechanisms — import no
//! orchestrator: they return outcomes instead of calling back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Mechanisms that must not reach into the world or its orchestrators.
const LEAVES: &[&str] = &[
    "admission",
    "arrivals",
    "autoscale",
    "chain",
    "cluster",
    "cpu",
    "detect",
    "event",
    "faults",
    "fleet",
    "ids",
    "inference",
    "keyed",
    "options",
    "pods_report",
    "queues",
    "replica",
    "resilience",
    "retry",
    "scaling",
    "shared_cpu",
    "state",
    "stats",
    "trace",
];
/// What leaves may not import.
const ORCHESTRATORS: &[&str] =
    &["world", "flow", "pods", "observe", "finish", "platform_report", "inference_report", "invariants", "(root)"];

fn is_test_file(name: &str) -> bool {
    name == "tests.rs" || name.ends_with("_tests.rs") || name.starts_with("tests_")
}

/// The code of a file without comments and without its `#[cfg(test)]` tail.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Names a piece of code reaches through `prefix` (`super::`,
/// `super::super::`, `crate::sim::`), including inside `use prefix::{a, b}`.
fn reached(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        // `super::super::x` seen through `super::` is not a `super::` reach.
        let before = &rest[..i];
        rest = &rest[i + prefix.len()..];
        if prefix == "super::" && (before.ends_with("super::") || rest.starts_with("super::")) {
            continue;
        }
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            for part in inner[..end].split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
    }
    out
}

/// Module → the sim modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim");
    let mut modules: BTreeSet<String> = BTreeSet::new();
    let mut files: Vec<(String, bool, String)> = Vec::new(); // (module, in a folder, code)
    for entry in std::fs::read_dir(&sim).expect("src/sim") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_string();
        if path.is_dir() {
            modules.insert(name.clone());
            for f in std::fs::read_dir(&path).expect("folder") {
                let f = f.expect("entry").path();
                let fname = f.file_name().and_then(|n| n.to_str()).expect("name").to_string();
                if fname.ends_with(".rs") && !is_test_file(&fname) {
                    files.push((name.clone(), true, code(&std::fs::read_to_string(&f).expect("read"))));
                }
            }
        } else if name.ends_with(".rs") && !is_test_file(&name) {
            let module = if name == "mod.rs" { "(root)".to_string() } else { name.trim_end_matches(".rs").to_string() };
            modules.insert(module.clone());
            files.push((module, false, code(&std::fs::read_to_string(&path).expect("read"))));
        }
    }
    let mut g: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (module, in_folder, code) in &files {
        let mut names = reached(code, "crate::sim::");
        names.extend(reached(code, if *in_folder { "super::super::" } else { "super::" }));
        for n in names {
            let target = if modules.contains(&n) { n } else { "(root)".to_string() };
            if &target != module && module != "(root)" {
                g.get_mut(module).expect("module").insert(target);
            }
        }
    }
    g
}

#[test]
fn the_sim_modules_form_a_dag() {
    let g = graph();
    assert!(g.contains_key("flow") && g.contains_key("world") && g.len() > 15, "{g:?}");
    // Kahn's algorithm: what is left after peeling off modules with no
    // remaining imports is a cycle.
    let mut left = g.clone();
    loop {
        let free: Vec<String> = left.iter().filter(|(_, deps)| deps.is_empty()).map(|(m, _)| m.clone()).collect();
        if free.is_empty() {
            break;
        }
        for m in &free {
            left.remove(m);
        }
        for deps in left.values_mut() {
            for m in &free {
                deps.remove(m);
            }
        }
    }
    assert!(left.is_empty(), "import cycle among {:?}", left);
}

#[test]
fn leaves_import_no_orchestrator() {
    let g = graph();
    for leaf in LEAVES {
        let deps = g.get(*leaf).unwrap_or_else(|| panic!("no module {leaf}: update LEAVES"));
        for o in ORCHESTRATORS {
            assert!(!deps.contains(*o), "{leaf} imports {o}: a mechanism must return outcomes, not call back");
        }
    }
}
