//! The tables' own consistency: what a reader and the generators rely on.

use super::*;

fn all_blocks() -> Vec<&'static Block> {
    blocks()
}

#[test]
fn keys_are_unique_documented_and_one_of_names_real_keys() {
    for b in all_blocks() {
        let names: Vec<&str> = b.all_keys().map(|k| k.name).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{}: '{n}' twice (a key of `also` repeated?)", b.id);
        }
        for k in b.all_keys().filter(|k| k.later.is_none() && !matches!(k.ty, Ty::Refused)) {
            assert!(!k.doc.is_empty(), "{}.{} has no doc", b.id, k.name);
            assert!(!k.doc.ends_with('.'), "{}.{}: docs are one line without a final period", b.id, k.name);
        }
        for k in b.one_of {
            assert!(b.key(k).is_some(), "{}: one_of names '{k}', which it does not have", b.id);
        }
        assert!(!b.what.is_empty() && !b.hint.is_empty(), "{}", b.id);
    }
}

#[test]
fn ids_are_unique_and_union_tags_are_required_keys() {
    let mut ids: Vec<&str> = all_blocks().iter().map(|b| b.id).collect();
    ids.extend(markdown::unions().iter().map(|u| u.id));
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[..i].contains(id), "id '{id}' twice: docs anchors and $defs would clash");
    }
    for u in markdown::unions() {
        for (i, b) in u.variants.iter().enumerate() {
            match u.tag {
                Tag::Key => assert_eq!(b.keys[0].absent, Absent::Required, "{}: its kind key must be required", b.id),
                Tag::Field { name, default } => {
                    let k = b.key(name).unwrap_or_else(|| panic!("{} has no '{name}'", b.id));
                    let required = k.absent == Absent::Required;
                    assert_eq!(required, default != Some(i), "{}: '{name}' required unless it is the default", b.id);
                }
            }
        }
    }
}

#[test]
fn defaults_of_whole_numbers_lie_in_their_range() {
    for b in all_blocks() {
        for k in b.all_keys() {
            if let (Ty::Int(lo, hi), Absent::Is(v)) = (k.ty, k.absent)
                && let Ok(n) = v.parse::<u64>()
            {
                assert!((lo..=hi).contains(&n), "{}.{}: default {n} outside {lo}..={hi}", b.id, k.name);
            }
        }
    }
}

#[test]
fn a_call_has_every_key_of_a_policy_and_nothing_is_listed_twice() {
    for k in POLICY.keys {
        assert!(CALL_STEP.key(k.name).is_some(), "a call lacks the policy key '{}'", k.name);
    }
    assert!(CALL_STEP.keys.iter().all(|k| POLICY.keys.iter().all(|p| p.name != k.name)));
    for shared in ["cancel", "latency", "on_failure", "timeout", "retry", "hedge", "circuit_breaker", "throttle"] {
        assert!(POLICY.key(shared).is_some(), "a policy should take '{shared}'");
    }
}
