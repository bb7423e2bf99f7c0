//! One cache's contents: at most `capacity` keys (`u64`), least recently
//! used evicted first, each with the time it was written (for a TTL counted
//! from the write, like Valkey's `SET EX`: a hit does not extend it).
//!
//! No hashing container of the standard library (their iteration order is
//! random, and clippy bans them here): an open-addressing table of slot
//! numbers with linear probing and backward-shift deletion (no tombstones),
//! and a slab of entries threaded on an intrusive doubly linked list in
//! recency order. Memory grows with the entries present, never beyond
//! `capacity` entries and a table of at most twice that (load ≤ 1/2).
//! Every operation is O(1) expected.

/// No slot (list ends, empty table cells).
const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    written_ns: u64,
    /// Towards the most recently used end.
    prev: u32,
    /// Towards the least recently used end (or the next free slot).
    next: u32,
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    Hit,
    Miss,
    /// The key was there but its TTL had run out: it is removed, a miss.
    Expired,
}

/// An LRU store of `u64` keys with write times.
#[derive(Clone, Debug)]
pub struct Lru {
    capacity: u32,
    entries: Vec<Entry>,
    free: u32,
    len: u32,
    /// Most and least recently used.
    head: u32,
    tail: u32,
    /// Open addressing: slot numbers (`NIL`: empty); its length a power of two.
    table: Vec<u32>,
}

/// SplitMix64's finaliser: keys 0, 1, 2 … spread over the table.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Lru {
    /// An empty store of at most `capacity` entries (`capacity < 2^31`).
    pub fn new(capacity: u32) -> Lru {
        assert!(capacity < 1 << 31, "an LRU capacity fits in 31 bits");
        Lru { capacity, entries: Vec::new(), free: NIL, len: 0, head: NIL, tail: NIL, table: Vec::new() }
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every entry (a flush, a restart) and gives the memory back.
    pub fn clear(&mut self) {
        *self = Lru::new(self.capacity);
    }

    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// The table cell holding `key`, or the empty cell where it would go.
    fn cell(&self, key: u64) -> (usize, bool) {
        let mask = self.mask();
        let mut i = mix(key) as usize & mask;
        loop {
            let s = self.table[i];
            if s == NIL {
                return (i, false);
            }
            if self.entries[s as usize].key == key {
                return (i, true);
            }
            i = (i + 1) & mask;
        }
    }

    fn unlink(&mut self, s: u32) {
        let Entry { prev, next, .. } = self.entries[s as usize];
        if prev == NIL {
            self.head = next
        } else {
            self.entries[prev as usize].next = next
        }
        if next == NIL { self.tail = prev } else { self.entries[next as usize].prev = prev }
    }

    fn push_front(&mut self, s: u32) {
        let old = self.head;
        let e = &mut self.entries[s as usize];
        e.prev = NIL;
        e.next = old;
        if old == NIL {
            self.tail = s
        } else {
            self.entries[old as usize].prev = s
        }
        self.head = s;
    }

    /// Empties table cell `i` and shifts back the run after it, so that
    /// every key stays reachable from its home cell without tombstones.
    fn delete_cell(&mut self, mut i: usize) {
        let mask = self.mask();
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.table[j];
            if s == NIL {
                break;
            }
            let home = mix(self.entries[s as usize].key) as usize & mask;
            // Move `j` into the hole at `i` unless its home lies in (i, j].
            let stays = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !stays {
                self.table[i] = s;
                i = j;
            }
        }
        self.table[i] = NIL;
    }

    /// Removes the entry in slot `s` whose table cell is `cell`.
    fn remove_at(&mut self, cell: usize, s: u32) {
        self.delete_cell(cell);
        self.unlink(s);
        self.entries[s as usize].next = self.free;
        self.free = s;
        self.len -= 1;
    }

    /// Looks `key` up at `now_ns`: a hit makes it the most recently used;
    /// an entry written `ttl_ns` or more ago is removed (expired).
    pub fn get(&mut self, key: u64, now_ns: u64, ttl_ns: Option<u64>) -> Found {
        if self.is_empty() {
            return Found::Miss;
        }
        let (cell, present) = self.cell(key);
        if !present {
            return Found::Miss;
        }
        let s = self.table[cell];
        if let Some(ttl) = ttl_ns
            && now_ns.saturating_sub(self.entries[s as usize].written_ns) >= ttl
        {
            self.remove_at(cell, s);
            return Found::Expired;
        }
        if self.head != s {
            self.unlink(s);
            self.push_front(s);
        }
        Found::Hit
    }

    /// Removes `key` if present.
    pub fn remove(&mut self, key: u64) -> bool {
        if self.len == 0 {
            return false;
        }
        let (cell, present) = self.cell(key);
        if present {
            let s = self.table[cell];
            self.remove_at(cell, s);
        }
        present
    }

    /// Writes `key` at `now_ns` as the most recently used; returns whether
    /// the least recently used entry was evicted to make room. Rewriting a
    /// present key renews its write time.
    pub fn put(&mut self, key: u64, now_ns: u64) -> bool {
        if self.capacity == 0 {
            return false;
        }
        if self.table.is_empty() {
            self.table = vec![NIL; 16];
        }
        let (cell, present) = self.cell(key);
        if present {
            let s = self.table[cell];
            self.entries[s as usize].written_ns = now_ns;
            if self.head != s {
                self.unlink(s);
                self.push_front(s);
            }
            return false;
        }
        let mut evicted = false;
        if self.len == self.capacity {
            let victim = self.tail;
            let (vcell, _) = self.cell(self.entries[victim as usize].key);
            self.remove_at(vcell, victim);
            evicted = true;
        }
        if 2 * (self.len as usize + 1) > self.table.len() {
            self.grow();
        }
        let entry = Entry { key, written_ns: now_ns, prev: NIL, next: NIL };
        let s = if self.free != NIL {
            let s = self.free;
            self.free = self.entries[s as usize].next;
            self.entries[s as usize] = entry;
            s
        } else {
            self.entries.push(entry);
            (self.entries.len() - 1) as u32
        };
        let (cell, _) = self.cell(key);
        self.table[cell] = s;
        self.len += 1;
        self.push_front(s);
        evicted
    }

    /// Doubles the table and places every entry again.
    fn grow(&mut self) {
        let size = self.table.len() * 2;
        self.table = vec![NIL; size];
        let mut s = self.head;
        while s != NIL {
            let (cell, _) = self.cell(self.entries[s as usize].key);
            self.table[cell] = s;
            s = self.entries[s as usize].next;
        }
    }

    /// Keys from the most to the least recently used (tests).
    #[cfg(test)]
    fn keys(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut s = self.head;
        while s != NIL {
            out.push(self.entries[s as usize].key);
            s = self.entries[s as usize].next;
        }
        out
    }

    /// Bytes held (tests: memory follows the entries, not the key space).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>() + self.table.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStream;
    use std::collections::BTreeMap;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = Lru::new(3);
        for k in [1, 2, 3] {
            assert!(!c.put(k, 0));
        }
        assert_eq!(c.get(1, 0, None), Found::Hit);
        assert!(c.put(4, 0), "full: 2 goes");
        assert_eq!(c.keys(), [4, 1, 3]);
        assert_eq!(c.get(2, 0, None), Found::Miss);
        assert!(c.remove(1) && !c.remove(1));
        assert_eq!(c.keys(), [4, 3]);
        assert!(!c.put(3, 5), "rewrite: no eviction");
        assert_eq!(c.keys(), [3, 4]);
    }

    #[test]
    fn ttl_counts_from_the_write_and_a_hit_does_not_extend_it() {
        let mut c = Lru::new(10);
        c.put(7, 100);
        assert_eq!(c.get(7, 150, Some(100)), Found::Hit);
        assert_eq!(c.get(7, 199, Some(100)), Found::Hit);
        assert_eq!(c.get(7, 200, Some(100)), Found::Expired);
        assert_eq!(c.get(7, 201, Some(100)), Found::Miss);
        c.put(7, 300);
        c.put(7, 350);
        assert_eq!(c.get(7, 420, Some(100)), Found::Hit, "a rewrite renews the write time");
    }

    /// Against a model (a BTreeMap of key → (last use, write time)) under
    /// random puts, gets and removes: same hits, same evictions, same order.
    #[test]
    fn agrees_with_a_plain_model() {
        let mut rng = RngStream::derive(3, "lru-test", "ops");
        for cap in [1u32, 2, 5, 64] {
            let mut c = Lru::new(cap);
            let mut model: BTreeMap<u64, u64> = BTreeMap::new(); // key -> last use tick
            for tick in 0..20_000u64 {
                let key = u64::from(rng.below(3 * cap + 3));
                match rng.below(3) {
                    0 => {
                        let hit = c.get(key, tick, None) == Found::Hit;
                        assert_eq!(hit, model.contains_key(&key));
                        if hit {
                            model.insert(key, tick);
                        }
                    }
                    1 => {
                        let full = model.len() == cap as usize && !model.contains_key(&key);
                        let evicted = c.put(key, tick);
                        assert_eq!(evicted, full);
                        if full {
                            let (&lru, _) = model.iter().min_by_key(|(_, t)| **t).unwrap();
                            model.remove(&lru);
                        }
                        model.insert(key, tick);
                    }
                    _ => assert_eq!(c.remove(key), model.remove(&key).is_some()),
                }
                assert_eq!(c.len() as usize, model.len());
            }
            let mut order: Vec<(u64, u64)> = model.iter().map(|(k, t)| (*t, *k)).collect();
            order.sort_by(|a, b| b.cmp(a));
            assert_eq!(c.keys(), order.iter().map(|x| x.1).collect::<Vec<_>>());
        }
    }

    #[test]
    fn memory_follows_capacity_not_the_key_space() {
        let mut c = Lru::new(1000);
        let mut rng = RngStream::derive(1, "lru-test", "mem");
        for t in 0..200_000u64 {
            let k = (rng.unit() * 1e10) as u64;
            if c.get(k, t, None) == Found::Miss {
                c.put(k, t);
            }
        }
        assert_eq!(c.len(), 1000);
        // 1000 entries of 24 bytes (+ Vec slack) and a table of 2048 cells.
        assert!(c.bytes() <= 1024 * 24 + 2048 * 4, "{} bytes", c.bytes());
        c.clear();
        assert!(c.is_empty() && c.bytes() == 0);
    }
}
