//! Keyed caches (`caches:`): their contents, key draws, coalesced misses
//! and counters. A leaf: `flow::strand` asks it what a lookup found and
//! parks or wakes strands by what it answers; faults and crashes tell it
//! to forget.
//!
//! - A lookup draws a key rank from the Zipf law of its cache, from the
//!   stream of its call site (`cache@service.endpoint#ordinal`), so a
//!   cache step added elsewhere moves no other draw.
//! - `scope: service`: one [`Lru`] per cache; `scope: replica`: one per
//!   replica that looked something up, created cold on first use (a
//!   replica added by the HPA), emptied when its replica crashes (a
//!   restart is cold); `initial: warm` fills the stores of the replicas
//!   present at start.
//! - TTL is checked on lookup only: an expired entry keeps its place until
//!   it is looked up or evicted (it counts in `entries`).
//! - `coalesce`: the first miss of a key marks it pending; later misses of
//!   it wait ([`Lookup::Parked`]) and are woken as hits when it is written,
//!   or as misses of their own if the fetch failed.
//!
//! Memory: the entries present, bounded by capacity per store, and the
//! strands waiting on pending keys; never a table of `keys` entries.

mod lru;

use super::ids::ReplicaId;
use super::state::StrandKey;
use crate::engine::{RngStream, SimTime};
use crate::model::{CacheId, CacheScope, CacheSiteId, Keyed, Model, Zipf};
use lru::{Found, Lru};
use std::collections::BTreeMap;

/// Counters of one keyed cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CacheCounts {
    pub lookups: u64,
    pub hits: u64,
    pub evictions: u64,
    pub expirations: u64,
}

struct KeyedCache {
    cfg: Keyed,
    zipf: Zipf,
    /// Scope service: one store; replica: by replica index (`None`: not
    /// created yet, cold).
    stores: Vec<Option<Lru>>,
    /// Coalescing: keys being fetched, per store, with the strands waiting.
    pending: BTreeMap<(u32, u64), Vec<StrandKey>>,
    /// Since the warm-up ended.
    counts: CacheCounts,
    /// In the current series interval.
    interval: CacheCounts,
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit,
    /// Go to the backend; write the key if that succeeds.
    Miss,
    /// Another miss is fetching this key: wait for it.
    Parked,
}

pub(crate) struct KeyedCaches {
    /// Per model cache (`None`: a fixed-ratio cache).
    caches: Vec<Option<KeyedCache>>,
    /// Per cache site: its key stream.
    site_rng: Vec<RngStream>,
    ttl_ns: Vec<Option<u64>>,
    /// Coalescing: the fetches each strand has in progress, by the
    /// strand's slot index: (strand, cache, store, key).
    fetchers: BTreeMap<u32, Vec<(StrandKey, CacheId, u32, u64)>>,
    /// False when the model has no keyed cache: nothing to do anywhere.
    pub any: bool,
}

impl KeyedCaches {
    /// `initial[service]`: the replicas present at start, for warm stores.
    pub fn new(m: &Model, seed: u64, initial: &dyn Fn(usize) -> Vec<ReplicaId>) -> Self {
        let mut caches: Vec<Option<KeyedCache>> = Vec::with_capacity(m.caches.len());
        for (i, c) in m.caches.iter().enumerate() {
            let Some(cfg) = c.keyed.clone() else {
                caches.push(None);
                continue;
            };
            let zipf = Zipf::new(cfg.keys, cfg.zipf);
            let mut kc = KeyedCache {
                cfg,
                zipf,
                stores: Vec::new(),
                pending: BTreeMap::new(),
                counts: CacheCounts::default(),
                interval: CacheCounts::default(),
            };
            match kc.cfg.scope {
                CacheScope::Service => kc.stores.push(Some(kc.initial())),
                CacheScope::Replica if kc.cfg.warm => {
                    let mut services: Vec<usize> = m
                        .cache_sites
                        .iter()
                        .filter(|s| s.cache.ix() == i)
                        .map(|s| m.endpoints[s.endpoint.ix()].service.ix())
                        .collect();
                    services.sort_unstable();
                    services.dedup();
                    for s in services {
                        for r in initial(s) {
                            let store = kc.initial();
                            kc.slot(r.ix()).replace(store);
                        }
                    }
                }
                CacheScope::Replica => {}
            }
            caches.push(Some(kc));
        }
        KeyedCaches {
            any: caches.iter().any(Option::is_some),
            ttl_ns: m.caches.iter().map(|c| c.keyed.as_ref().and_then(|k| k.ttl).map(|d| d.0)).collect(),
            fetchers: BTreeMap::new(),
            site_rng: m.cache_sites.iter().map(|s| RngStream::derive(seed, "cache-key", &s.name)).collect(),
            caches,
        }
    }

    fn cache(&mut self, c: CacheId) -> &mut KeyedCache {
        self.caches[c.ix()].as_mut().expect("a keyed cache")
    }

    /// A key drawn at a site (rank - 1: key 0 is the most popular).
    pub fn draw(&mut self, m: &Model, site: CacheSiteId) -> u64 {
        let c = m.cache_sites[site.ix()].cache;
        let rng = &mut self.site_rng[site.ix()];
        self.caches[c.ix()].as_ref().expect("a keyed cache").zipf.sample(rng) - 1
    }

    /// An invalidation at `site` draws its key and, with the site's
    /// probability, evicts it from the store `replica` sees.
    pub fn invalidate(&mut self, m: &Model, site: CacheSiteId, replica: ReplicaId) {
        let s = &m.cache_sites[site.ix()];
        let key = self.draw(m, site);
        if self.site_rng[site.ix()].chance(s.invalidate.unwrap_or(1.0)) {
            let kc = self.cache(s.cache);
            let ix = kc.index(replica);
            if let Some(store) = kc.stores.get_mut(ix as usize).and_then(Option::as_mut) {
                store.remove(key);
            }
        }
    }

    /// Looks `key` up in the store `replica` sees. `counted`: after the warm-up.
    pub fn lookup(&mut self, c: CacheId, replica: ReplicaId, key: u64, now: SimTime, strand: StrandKey) -> Lookup {
        let ttl = self.ttl_ns[c.ix()];
        let kc = self.caches[c.ix()].as_mut().expect("a keyed cache");
        let ix = kc.index(replica);
        let found = kc.store(ix).get(key, now.0, ttl);
        let pending = kc.cfg.coalesce && found != Found::Hit;
        let out = if found == Found::Hit {
            Lookup::Hit
        } else if !pending {
            Lookup::Miss
        } else if let Some(waiting) = kc.pending.get_mut(&(ix, key)) {
            waiting.push(strand);
            Lookup::Parked
        } else {
            kc.pending.insert((ix, key), Vec::new());
            self.fetchers.entry(strand.index()).or_default().push((strand, c, ix, key));
            Lookup::Miss
        };
        for n in [&mut kc.counts, &mut kc.interval] {
            n.lookups += 1;
            n.hits += u64::from(out == Lookup::Hit);
            n.expirations += u64::from(found == Found::Expired);
        }
        out
    }

    /// The miss steps succeeded: writes `key`; returns the strands that
    /// waited for it, each now a hit.
    pub fn fill(
        &mut self,
        c: CacheId,
        replica: ReplicaId,
        key: u64,
        now: SimTime,
        strand: StrandKey,
    ) -> Vec<StrandKey> {
        let kc = self.caches[c.ix()].as_mut().expect("a keyed cache");
        let ix = kc.index(replica);
        if kc.cfg.coalesce
            && let Some(list) = self.fetchers.get_mut(&strand.index())
        {
            list.retain(|f| *f != (strand, c, ix, key));
            if list.is_empty() {
                self.fetchers.remove(&strand.index());
            }
        }
        let evicted = kc.store(ix).put(key, now.0);
        kc.counts.evictions += u64::from(evicted);
        kc.interval.evictions += u64::from(evicted);
        let woken = kc.pending.remove(&(ix, key)).unwrap_or_default();
        kc.counts.hits += woken.len() as u64;
        kc.interval.hits += woken.len() as u64;
        woken
    }

    /// Strand `strand` ended: the fetches it had not finished failed, and
    /// the strands that waited for them go to the backend themselves.
    pub fn strand_ended(&mut self, strand: StrandKey) -> Vec<StrandKey> {
        if self.fetchers.is_empty() {
            return Vec::new();
        }
        let Some(list) = self.fetchers.remove(&strand.index()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, c, ix, key) in list {
            debug_assert!(k == strand, "a fetcher entry belongs to a live strand");
            if let Some(kc) = self.caches[c.ix()].as_mut() {
                out.extend(kc.pending.remove(&(ix, key)).unwrap_or_default());
            }
        }
        out
    }

    /// A `cache_flush`: every store of `c` empties at once. Waiting
    /// strands keep waiting for the fetches in progress.
    pub fn flush(&mut self, c: CacheId) {
        for s in self.cache(c).stores.iter_mut().flatten() {
            s.clear();
        }
    }

    /// Replica `r` crashed: its in-process caches are lost.
    pub fn replica_lost(&mut self, r: ReplicaId) {
        for kc in self.caches.iter_mut().flatten() {
            if kc.cfg.scope == CacheScope::Replica
                && let Some(s) = kc.stores.get_mut(r.ix())
            {
                *s = None;
            }
        }
    }

    /// The warm-up is over: count from now on.
    pub fn warmup_ends(&mut self) {
        for kc in self.caches.iter_mut().flatten() {
            kc.counts = CacheCounts::default();
        }
    }

    /// The counts since the warm-up and the entries held now, per model
    /// cache (`None`: fixed ratio).
    pub fn totals(&self) -> Vec<Option<(CacheCounts, u64)>> {
        self.caches.iter().map(|c| c.as_ref().map(|k| (k.counts, k.entries()))).collect()
    }

    /// The counts of the interval just ended (and resets them), with the
    /// entries held now.
    pub fn take_interval(&mut self) -> Vec<Option<(CacheCounts, u64)>> {
        self.caches.iter_mut().map(|c| c.as_mut().map(|k| (std::mem::take(&mut k.interval), k.entries()))).collect()
    }
}

impl KeyedCache {
    /// A store at the start of the run: empty, or filled with the
    /// `capacity` most popular keys (`initial: warm`), the most popular the
    /// most recently used.
    fn initial(&self) -> Lru {
        let mut s = Lru::new(self.cfg.capacity);
        if self.cfg.warm {
            let n = u64::from(self.cfg.capacity).min(self.cfg.keys);
            for k in (0..n).rev() {
                s.put(k, 0);
            }
        }
        s
    }

    fn index(&self, r: ReplicaId) -> u32 {
        match self.cfg.scope {
            CacheScope::Service => 0,
            CacheScope::Replica => r.0,
        }
    }

    fn slot(&mut self, ix: usize) -> &mut Option<Lru> {
        if self.stores.len() <= ix {
            self.stores.resize_with(ix + 1, || None);
        }
        &mut self.stores[ix]
    }

    /// The store at `ix`, created cold if it does not exist.
    fn store(&mut self, ix: u32) -> &mut Lru {
        let cold = Lru::new(self.cfg.capacity);
        self.slot(ix as usize).get_or_insert(cold)
    }

    fn entries(&self) -> u64 {
        self.stores.iter().flatten().map(|s| u64::from(s.len())).sum()
    }
}
