//! Overrides written as `path = value` (`--set` on the command line, and
//! later experiment variants): the path addresses a key in the YAML tree
//! (`services.db.replicas`, `services.api.endpoints.get.steps[1].timeout`),
//! the value is a YAML snippet. Missing map keys are created; list indices
//! must exist. The patched tree is then checked like any file.

use super::yaml::{self, Key, Node, NodeKind};

/// One step of a path: a map key or a list index.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    if path.split('.').count() > yaml::MAX_DEPTH {
        return Err(format!("the path has more than {} keys: nothing in a topology is that deep", yaml::MAX_DEPTH));
    }
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && steps.is_empty() {
            return Err(format!("'{path}' does not start with a key"));
        }
        if !name.is_empty() {
            steps.push(Step::Key(name.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| format!("unclosed '[' in '{path}'"))?;
            let i = r[..end].trim().parse().map_err(|_| format!("'{}' is not a list index in '{path}'", &r[..end]))?;
            steps.push(Step::Index(i));
            if steps.len() > yaml::MAX_DEPTH {
                return Err(format!(
                    "the path has more than {} steps: nothing in a topology is that deep",
                    yaml::MAX_DEPTH
                ));
            }
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected '{rest}' in '{path}'"));
        }
    }
    Ok(steps)
}

/// Parses `value` as a YAML snippet.
pub fn parse_value(value: &str) -> Result<Node, String> {
    let parsed = yaml::parse(value);
    match (parsed.root, parsed.errors.first()) {
        (Some(n), None) => Ok(n),
        (_, Some(e)) => Err(format!("the value '{value}' is not valid YAML: {}", e.message)),
        (None, None) => Err(format!("the value '{value}' is empty")),
    }
}

/// Sets `path` in `root` to `value`.
pub fn set_path(root: &mut Node, path: &str, value: Node) -> Result<(), String> {
    let steps = parse_path(path)?;
    let mut node = root;
    for (k, step) in steps.iter().enumerate() {
        let last = k + 1 == steps.len();
        node = match step {
            Step::Key(key) => {
                if matches!(node.kind, NodeKind::Null) {
                    node.kind = NodeKind::Map(Vec::new());
                }
                let NodeKind::Map(entries) = &mut node.kind else {
                    return Err(format!("'{}' is not a map, so it has no key '{key}'", prefix(&steps[..k])));
                };
                let i = match entries.iter().position(|(k, _)| k.text == *key) {
                    Some(i) => i,
                    None => {
                        let (line, col) = (0, 0);
                        entries.push((Key { text: key.clone(), line, col }, Node { line, col, kind: NodeKind::Null }));
                        entries.len() - 1
                    }
                };
                &mut entries[i].1
            }
            Step::Index(i) => {
                let NodeKind::Seq(items) = &mut node.kind else {
                    return Err(format!("'{}' is not a list", prefix(&steps[..k])));
                };
                let n = items.len();
                items.get_mut(*i).ok_or_else(|| format!("'{}' has {n} items: no [{i}]", prefix(&steps[..k])))?
            }
        };
        if last {
            *node = value;
            unplace(node);
            return Ok(());
        }
    }
    Err("an empty path".into())
}

/// A patched value has no place in the file: line 0 makes its diagnostics
/// name the YAML path without pointing at an unrelated source line.
fn unplace(n: &mut Node) {
    n.line = 0;
    n.col = 0;
    match &mut n.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                k.line = 0;
                k.col = 0;
                unplace(v);
            }
        }
        NodeKind::Seq(items) => items.iter_mut().for_each(unplace),
        NodeKind::Scalar { .. } | NodeKind::Null => {}
    }
}

fn prefix(steps: &[Step]) -> String {
    let mut s = String::new();
    for st in steps {
        match st {
            Step::Key(k) if s.is_empty() => s.push_str(k),
            Step::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(t: &str) -> Node {
        yaml::parse(t).root.unwrap()
    }

    #[test]
    fn sets_existing_and_new_keys_and_list_items() {
        let mut t = tree("a: { b: [ { c: 1 }, { c: 2 } ] }\n");
        set_path(&mut t, "a.b[1].c", parse_value("5").unwrap()).unwrap();
        set_path(&mut t, "a.d.e", parse_value("{ ratio: 10% }").unwrap()).unwrap();
        let b = t.get("a").unwrap().get("b").unwrap().as_seq().unwrap();
        assert_eq!(b[1].get("c").unwrap().as_str(), Some("5"));
        assert_eq!(t.get("a").unwrap().get("d").unwrap().get("e").unwrap().get("ratio").unwrap().as_str(), Some("10%"));
    }

    #[test]
    fn bad_paths_say_why() {
        let mut t = tree("a: [1]\nb: 3\n");
        assert!(set_path(&mut t, "a[3]", parse_value("1").unwrap()).unwrap_err().contains("has 1 items"));
        assert!(set_path(&mut t, "b.c", parse_value("1").unwrap()).unwrap_err().contains("'b' is not a map"));
        assert!(set_path(&mut t, "a[x]", parse_value("1").unwrap()).unwrap_err().contains("not a list index"));
        assert!(parse_value("{ a: ").is_err());
        let deep = vec!["a"; 10_000].join(".");
        assert!(set_path(&mut t, &deep, parse_value("1").unwrap()).unwrap_err().contains("more than 128"));
        let deep = format!("a{}", "[0]".repeat(10_000));
        assert!(set_path(&mut t, &deep, parse_value("1").unwrap()).unwrap_err().contains("more than 128"));
    }
}
