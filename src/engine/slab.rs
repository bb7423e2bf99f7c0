//! Generational slab: `Vec` + free list, addressed by `u32` ids.
//!
//! A [`SlabKey`] is `(index, generation)`. Freeing a slot bumps its
//! generation, so any timer or reference still holding the old key sees
//! [`Slab::get`] return `None`: that is how a cancelled timeout is ignored
//! without being removed from the event queue.

/// Address of a slab entry: its index and the generation it was created in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlabKey {
    pub index: u32,
    pub generation: u32,
}

impl SlabKey {
    pub const NONE: SlabKey = SlabKey { index: u32::MAX, generation: 0 };
    pub fn is_none(self) -> bool {
        self.index == u32::MAX
    }
}

struct Slot<T> {
    generation: u32,
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
    pub fn insert(&mut self, value: T) -> SlabKey {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            debug_assert!(slot.value.is_none());
            slot.value = Some(value);
            SlabKey { index, generation: slot.generation }
        } else {
            let index = self.slots.len() as u32;
            assert!(index < u32::MAX, "slab full: more than 4 billion live entries");
            self.slots.push(Slot { generation: 0, value: Some(value) });
            SlabKey { index, generation: 0 }
        }
    }

    #[inline]
    pub fn get(&self, key: SlabKey) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(s) if s.generation == key.generation => s.value.as_ref(),
            _ => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, key: SlabKey) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(s) if s.generation == key.generation => s.value.as_mut(),
            _ => None,
        }
    }

    /// Removes the entry; returns it if the key was current.
    #[inline]
    pub fn remove(&mut self, key: SlabKey) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let v = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.live -= 1;
        Some(v)
    }

    /// Live entries in index order (deterministic).
    pub fn iter(&self) -> impl Iterator<Item = (SlabKey, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.value.as_ref().map(|v| (SlabKey { index: i as u32, generation: s.generation }, v)))
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
        assert_eq!(a.index, b.index, "slot reused");
        assert_eq!(s.get(a), None, "old generation is stale");
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.len(), 1);
        assert_eq!(s.peak(), 1);
    }
}
