//! The top-level `caches:` map: keyed caches whose hit ratio emerges from
//! their keys' popularity, their capacity (LRU) and their TTL. Read before
//! the services, so that `cache` steps can name them. Defaults: no `ttl`,
//! `scope: service`, `initial: cold`, `coalesce: false`.

use super::decode::found;
use super::keys::KEYED_CACHE;
use super::topology::Build;
use super::yaml::Node;
use crate::model::{Cache, CacheId, CacheScope, Keyed, Zipf};

/// Most entries a keyed cache may hold (memory follows the entries).
pub const MAX_CAPACITY: u32 = 100_000_000;
/// Largest Zipf exponent accepted.
pub const MAX_ZIPF: f64 = 10.0;

pub(super) fn caches(b: &mut Build, n: &Node) {
    let Some(entries) = n.as_map() else {
        let msg = format!("expected a map of caches, found {}", found(n));
        b.cx.error(n.loc(), "caches", msg, Some(KEYED_CACHE.hint.into()));
        return;
    };
    for (k, v) in entries {
        let path = format!("caches.{}", k.text);
        let keyed = keyed(b, v, &path, k.loc());
        // A cache with problems is still registered, so that steps naming
        // it get no second complaint.
        let keyed = keyed.unwrap_or(Keyed {
            keys: 1,
            zipf: 0.0,
            capacity: 0,
            ttl: None,
            scope: CacheScope::Service,
            warm: false,
            coalesce: false,
        });
        let id = CacheId(b.model.caches.len() as u32);
        let estimate = Zipf::new(keyed.keys, keyed.zipf).head_mass(u64::from(keyed.capacity));
        b.caches_by_name.insert(k.text.clone(), b.model.caches.len());
        b.cache_sites.push(k.loc());
        b.keyed_caches.insert(k.text.clone(), id);
        b.model.caches.push(Cache { name: k.text.clone(), hit_ratio: estimate, keyed: Some(keyed) });
    }
}

fn keyed(b: &mut Build, v: &Node, path: &str, at: super::decode::Loc) -> Option<Keyed> {
    let f = b.cx.fields(v, path, at, &KEYED_CACHE)?;
    let keys = b.cx.require(&f, "keys", Some("distinct keys requested, e.g. keys: 100000"));
    let keys = keys.and_then(|n| b.cx.uint(n, &f.at("keys"), 1, 1 << 40));
    let zipf = match f.get("zipf") {
        Some(n) => b.cx.factor(n, &f.at("zipf")).and_then(|z| {
            if z <= MAX_ZIPF {
                return Some(z);
            }
            b.cx.error(n.loc(), &f.at("zipf"), format!("a Zipf exponent above {MAX_ZIPF} is not supported"), None);
            None
        }),
        None => Some(0.0),
    };
    let capacity = b.cx.require(&f, "capacity", Some("entries held, e.g. capacity: 20000"));
    let capacity = capacity.and_then(|n| b.cx.u32(n, &f.at("capacity"), 1, MAX_CAPACITY));
    let ttl = match f.get("ttl") {
        Some(n) => Some(b.cx.positive_duration(n, &f.at("ttl"))?),
        None => None,
    };
    let scope = match f.get("scope") {
        Some(n) => b.cx.choice(
            n,
            &f.at("scope"),
            "scope",
            &[("service", CacheScope::Service), ("replica", CacheScope::Replica)],
        ),
        None => Some(CacheScope::Service),
    };
    let warm = match f.get("initial") {
        Some(n) => b.cx.choice(n, &f.at("initial"), "initial state", &[("cold", false), ("warm", true)]),
        None => Some(false),
    };
    let coalesce = match f.get("coalesce") {
        Some(n) => b.cx.boolean(n, &f.at("coalesce")),
        None => Some(false),
    };
    Some(Keyed { keys: keys?, zipf: zipf?, capacity: capacity?, ttl, scope: scope?, warm: warm?, coalesce: coalesce? })
}

#[cfg(test)]
mod tests {
    use crate::model::{CacheScope, Instr, Keyed};
    use crate::spec::testing::load_named;

    fn with(caches: &str, steps: &str) -> String {
        format!(
            "caches:\n{caches}services:\n  api:\n    endpoints:\n      get:\n        steps:\n{steps}      put:\n        \
             steps:\n          - cache: {{ name: menu, invalidate: 50% }}\n  db:\n    endpoints:\n      read: {{ work: \
             1ms }}\nworkload:\n  - {{ name: web, target: api.get, rate: 10/s }}\n"
        )
    }

    fn messages(text: &str) -> Vec<String> {
        load_named("c.yaml", text).err().map(|d| d.0.into_iter().map(|d| d.message).collect()).unwrap_or_default()
    }

    const MENU: &str = "  menu: { keys: 1000, zipf: 0.9, capacity: 100, ttl: 5m, scope: replica, initial: warm, \
                        coalesce: true }\n";
    const LOOKUP: &str = "          - cache: { name: menu, hit: [ { work: 1ms } ], miss: [ { call: db.read } ] }\n";

    #[test]
    fn a_declared_cache_compiles_to_lookup_fill_and_invalidate() {
        let m = load_named("c.yaml", &with(MENU, LOOKUP)).expect("loads");
        let want = Keyed {
            keys: 1000,
            zipf: 0.9,
            capacity: 100,
            ttl: Some(crate::engine::SimDuration::from_secs_f64(300.0)),
            scope: CacheScope::Replica,
            warm: true,
            coalesce: true,
        };
        assert_eq!(m.caches[0].keyed.as_ref(), Some(&want));
        // The estimate: the mass of the 100 most popular of 1000 keys at s = 0.9.
        assert!((0.5..0.7).contains(&m.caches[0].hit_ratio), "{}", m.caches[0].hit_ratio);
        let get = &m.endpoints[0].code;
        assert!(matches!(get[0], Instr::CacheLookup { slot: 0, miss: 3, .. }), "{get:?}");
        assert!(matches!(get[4], Instr::CacheFill { slot: 0, .. }), "{get:?}");
        assert!(matches!(m.endpoints[1].code[0], Instr::CacheInvalidate { .. }));
        let names: Vec<&str> = m.cache_sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["menu@api.get#0", "menu@api.put#0"]);
        assert_eq!(m.cache_sites[1].invalidate, Some(0.5));
    }

    #[test]
    fn problems_are_reported_with_their_keys() {
        let cases = [
            ("  menu: { keys: 1000 }\n", LOOKUP, "missing 'capacity'"),
            ("  menu: { keys: 10, capacity: 5, scope: pod }\n", LOOKUP, "unknown scope 'pod'"),
            ("  menu: { keys: 10, capacity: 5, zipf: -1 }\n", LOOKUP, "must not be negative"),
            ("  menu: { keys: 10, capacity: 5, sise: 3 }\n", LOOKUP, "sise"),
            (
                "  menu: { keys: 10, capacity: 5 }\n",
                "          - cache: { name: menu, hit_ratio: 90% }\n",
                "its hit ratio emerges from its keys",
            ),
            (
                "  menu: { keys: 10, capacity: 5 }\n",
                "          - cache: { name: menu, invalidate: 1, hit: [] }\n",
                "an 'invalidate' cache step has no 'hit' steps",
            ),
        ];
        for (caches, steps, needle) in cases {
            let got = messages(&with(caches, steps));
            assert!(got.len() == 1 && got[0].contains(needle), "{needle}: {got:#?}");
        }
    }

    #[test]
    fn a_flush_names_a_keyed_cache() {
        let base = with("  menu: { keys: 10, capacity: 5 }\n", LOOKUP);
        let ok = format!("{base}faults:\n  - {{ at: 10s, kind: cache_flush, cache: menu }}\n");
        assert!(load_named("c.yaml", &ok).is_ok());
        let typo = format!("{base}faults:\n  - {{ at: 10s, kind: cache_flush, cache: mneu }}\n");
        let got = messages(&typo);
        assert!(got.len() == 1 && got[0].contains("did you mean 'menu'"), "{got:#?}");
        let with_for = format!("{base}faults:\n  - {{ at: 10s, for: 1s, kind: cache_flush, cache: menu }}\n");
        assert!(messages(&with_for)[0].contains("happens at one instant"));
    }
}
