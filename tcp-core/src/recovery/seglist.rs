//! The scoreboard's segment records in offset order, as a sorted deque.
//!
//! Records are appended at SND.MAX and removed at SND.UNA, so a deque does the common
//! operations in O(1) where an ordered map pays O(log n) with node allocation (profile of
//! a bulk transfer at MTU 1500: the scoreboard's map operations were about a quarter of
//! the sender's time). Lookups are binary searches, O(log n). Inserting or removing in the
//! middle is O(n) but the scoreboard never does it: records are only replaced in place,
//! appended, or trimmed at the front.

use alloc::collections::VecDeque;

/// A map from offset to record with the subset of `BTreeMap`'s interface the scoreboard
/// uses. Keys are unique and kept in increasing order.
#[derive(Clone, Debug)]
pub(super) struct SegList<V> {
    items: VecDeque<(u64, V)>,
}

impl<V> SegList<V> {
    pub(super) fn new() -> Self {
        SegList {
            items: VecDeque::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the list is empty but holds memory.
    pub(super) fn releasable(&self) -> bool {
        self.items.is_empty() && self.items.capacity() > 0
    }

    /// Gives the memory back if the list is empty.
    pub(super) fn release(&mut self) {
        if self.items.is_empty() {
            self.items = VecDeque::new();
        }
    }

    /// The index of `k`, or where it would be inserted.
    fn search(&self, k: u64) -> Result<usize, usize> {
        self.items.binary_search_by_key(&k, |(key, _)| *key)
    }

    fn entry(&self, i: usize) -> Option<(&u64, &V)> {
        self.items.get(i).map(|(k, v)| (k, v))
    }

    pub(super) fn get(&self, k: &u64) -> Option<&V> {
        let i = self.search(*k).ok()?;
        self.items.get(i).map(|(_, v)| v)
    }

    pub(super) fn get_mut(&mut self, k: &u64) -> Option<&mut V> {
        let i = self.search(*k).ok()?;
        self.items.get_mut(i).map(|(_, v)| v)
    }

    /// Inserts or replaces; returns the replaced value. O(1) at either end.
    pub(super) fn insert(&mut self, k: u64, v: V) -> Option<V> {
        match (self.items.front(), self.items.back()) {
            (_, None) => self.items.push_back((k, v)),
            (_, Some((last, _))) if *last < k => self.items.push_back((k, v)),
            (Some((first, _)), _) if k < *first => self.items.push_front((k, v)),
            _ => match self.search(k) {
                Ok(i) => {
                    let slot = self.items.get_mut(i)?;
                    return Some(core::mem::replace(&mut slot.1, v));
                }
                Err(i) => self.items.insert(i, (k, v)),
            },
        }
        None
    }

    /// Removes `k`; O(1) at the front.
    pub(super) fn remove(&mut self, k: &u64) -> Option<V> {
        if self.items.front().is_some_and(|(first, _)| first == k) {
            return self.items.pop_front().map(|(_, v)| v);
        }
        let i = self.search(*k).ok()?;
        self.items.remove(i).map(|(_, v)| v)
    }

    pub(super) fn first_key_value(&self) -> Option<(&u64, &V)> {
        self.entry(0)
    }

    pub(super) fn last_key_value(&self) -> Option<(&u64, &V)> {
        self.items.back().map(|(k, v)| (k, v))
    }

    /// The record with the largest key `<= k` (`range(..=k).next_back()`).
    pub(super) fn at_or_before(&self, k: u64) -> Option<(&u64, &V)> {
        if let Some((last, v)) = self.items.back()
            && *last <= k
        {
            return Some((last, v));
        }
        let n = self.items.partition_point(|(key, _)| *key <= k);
        self.entry(n.checked_sub(1)?)
    }

    /// The record with the largest key `< k` (`range(..k).next_back()`).
    pub(super) fn before(&self, k: u64) -> Option<(&u64, &V)> {
        // The common question is about the newest record (the segment just sent).
        if let Some((last, v)) = self.items.back()
            && *last < k
        {
            return Some((last, v));
        }
        let n = self.items.partition_point(|(key, _)| *key < k);
        self.entry(n.checked_sub(1)?)
    }

    /// The record with the smallest key in `[a, b)`.
    pub(super) fn first_in(&self, a: u64, b: u64) -> Option<(&u64, &V)> {
        if a >= b {
            return None;
        }
        let i = self.items.partition_point(|(key, _)| *key < a);
        self.entry(i).filter(|(k, _)| **k < b)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&u64, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &u64> {
        self.items.iter().map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_an_ordered_map(ops in proptest::collection::vec((0u8..6, 0u64..40), 0..200)) {
            let mut list = SegList::new();
            let mut map = BTreeMap::new();
            for (op, k) in ops {
                match op {
                    0 | 1 => prop_assert_eq!(list.insert(k, k * 3), map.insert(k, k * 3)),
                    2 => prop_assert_eq!(list.remove(&k), map.remove(&k)),
                    3 => {
                        prop_assert_eq!(list.at_or_before(k), map.range(..=k).next_back());
                        prop_assert_eq!(list.before(k), map.range(..k).next_back());
                    }
                    4 => prop_assert_eq!(list.first_in(k, k + 7), map.range(k..k + 7).next()),
                    _ => {
                        let first = map.keys().next().copied();
                        if let Some(f) = first {
                            prop_assert_eq!(list.remove(&f), map.remove(&f));
                        }
                    }
                }
                prop_assert_eq!(list.get(&k), map.get(&k));
                prop_assert_eq!(list.len(), map.len());
                prop_assert_eq!(list.first_key_value(), map.first_key_value());
                prop_assert_eq!(list.last_key_value(), map.last_key_value());
                prop_assert_eq!(list.iter().collect::<Vec<_>>(), map.iter().collect::<Vec<_>>());
            }
        }
    }
}
