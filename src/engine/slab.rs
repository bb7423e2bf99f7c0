//! Generational slab: `Vec` + free list, addressed by typed keys.
//!
//! A [`Key<T>`] is `(index, generation)` and can only address a `Slab<T>`.
//! Freeing a slot bumps its generation, so any timer or reference still
//! holding the old key sees [`Slab::get`] return `None`: that is how a
//! cancelled timeout is ignored without being removed from the event queue.
//! Generations are never zero, so `Option<Key<T>>` is as small as a key
//! (8 bytes): "no key" is `None`, never a sentinel value.

use std::marker::PhantomData;
use std::num::NonZeroU32;

/// Address of an entry of a `Slab<T>`: its index and the generation it was
/// created in.
pub struct Key<T> {
    index: u32,
    generation: NonZeroU32,
    _of: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// The slot index (stable while the entry lives).
    pub fn index(self) -> u32 {
        self.index
    }

    /// A key that addresses nothing yet, for unit tests of code that only
    /// compares keys.
    #[cfg(test)]
    pub fn for_tests(index: u32) -> Self {
        Key { index, generation: NonZeroU32::MIN, _of: PhantomData }
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}
impl<T> PartialEq for Key<T> {
    fn eq(&self, o: &Self) -> bool {
        self.index == o.index && self.generation == o.generation
    }
}
impl<T> Eq for Key<T> {}
impl<T> std::hash::Hash for Key<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.index.hash(h);
        self.generation.hash(h);
    }
}
impl<T> std::fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}g{}", self.index, self.generation)
    }
}

struct Slot<T> {
    generation: NonZeroU32,
    value: Option<T>,
}

/// A slab of `T` with generational keys.
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
    peak: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    pub fn new() -> Self {
        Slab { slots: Vec::new(), free: Vec::new(), live: 0, peak: 0 }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Largest number of entries live at once.
    pub fn peak(&self) -> usize {
        self.peak
    }

    #[inline]
    pub fn insert(&mut self, value: T) -> Key<T> {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            debug_assert!(slot.value.is_none());
            slot.value = Some(value);
            Key { index, generation: slot.generation, _of: PhantomData }
        } else {
            let index = self.slots.len() as u32;
            assert!(index < u32::MAX, "slab full: more than 4 billion live entries");
            self.slots.push(Slot { generation: NonZeroU32::MIN, value: Some(value) });
            Key { index, generation: NonZeroU32::MIN, _of: PhantomData }
        }
    }

    #[inline]
    pub fn get(&self, key: Key<T>) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(s) if s.generation == key.generation => s.value.as_ref(),
            _ => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, key: Key<T>) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(s) if s.generation == key.generation => s.value.as_mut(),
            _ => None,
        }
    }

    /// Is `key` current (its entry alive)?
    #[inline]
    pub fn contains(&self, key: Key<T>) -> bool {
        self.get(key).is_some()
    }

    /// Removes the entry; returns it if the key was current.
    #[inline]
    pub fn remove(&mut self, key: Key<T>) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let v = slot.value.take()?;
        slot.generation = slot.generation.checked_add(1).unwrap_or(NonZeroU32::MIN);
        self.free.push(key.index);
        self.live -= 1;
        Some(v)
    }

    /// Live entries in index order (deterministic).
    pub fn iter(&self) -> impl Iterator<Item = (Key<T>, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.value.as_ref().map(|v| (Key { index: i as u32, generation: s.generation, _of: PhantomData }, v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_miss_after_reuse() {
        let mut s = Slab::new();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        let b = s.insert("b");
        assert_eq!(a.index(), b.index(), "slot reused");
        assert_eq!(s.get(a), None, "old generation is stale");
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.len(), 1);
        assert_eq!(s.peak(), 1);
    }

    #[test]
    fn an_optional_key_costs_nothing() {
        assert_eq!(std::mem::size_of::<Option<Key<u8>>>(), 8);
    }
}
