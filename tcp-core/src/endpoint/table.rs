//! The demultiplexing table: 4-tuple to slot index in O(1), an open-addressing hash table
//! (linear probing, tombstones, growth at 7/8 load) keyed with SipHash so remote peers
//! cannot choose colliding tuples.

use super::hash::{HashInput, TAG_TABLE};
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;

/// A connection's addresses as seen from this endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourTuple {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

const EMPTY: u32 = 0;
const TOMBSTONE: u32 = u32::MAX;

/// Maps 4-tuples to slot indices. Buckets hold only the slot index and the tuple's hash
/// (8 bytes); the tuple itself is compared in its slot through `holds`, so it is
/// stored once.
#[derive(Debug)]
pub(crate) struct TupleTable {
    key: [u8; 16],
    /// (slot index + 1, or EMPTY / TOMBSTONE; hash of the tuple).
    buckets: Vec<(u32, u32)>,
    len: usize,
    tombstones: usize,
    /// The slot the last [`lookup`](Self::lookup) found (`EMPTY` when none): segments come
    /// in trains on one connection, and comparing one tuple is cheaper than hashing it.
    last: u32,
}

impl TupleTable {
    /// Heap bytes of the buckets.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * core::mem::size_of::<(u32, u32)>()
    }

    pub(crate) fn new(key: [u8; 16]) -> Self {
        TupleTable {
            key,
            buckets: vec![(EMPTY, 0); 16],
            len: 0,
            tombstones: 0,
            last: EMPTY,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn hash(&self, t: &FourTuple) -> u64 {
        HashInput::new(TAG_TABLE)
            .addr(t.local)
            .addr(t.remote)
            .hash(&self.key)
    }

    /// The slot index stored for `t`.
    pub(crate) fn get(
        &self,
        t: &FourTuple,
        holds: impl Fn(u32, &FourTuple) -> bool,
    ) -> Option<u32> {
        let h = self.hash(t);
        let mask = self.buckets.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.buckets[i] {
                (EMPTY, _) => return None,
                (TOMBSTONE, _) => {}
                (v, bh) if bh == h as u32 && holds(v - 1, t) => return Some(v - 1),
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    /// [`get`](Self::get), first trying the slot the previous lookup found (the demux
    /// fast path for a train of segments on one connection).
    pub(crate) fn lookup(
        &mut self,
        t: &FourTuple,
        holds: impl Fn(u32, &FourTuple) -> bool,
    ) -> Option<u32> {
        if self.last != EMPTY && holds(self.last - 1, t) {
            return Some(self.last - 1);
        }
        let found = self.get(t, holds);
        self.last = found.map_or(EMPTY, |i| i + 1);
        found
    }

    /// Inserts `t -> slot`. The caller guarantees `t` is not present (look it up first).
    pub(crate) fn insert(&mut self, t: &FourTuple, slot: u32) {
        let h = self.hash(t) as u32;
        self.insert_hashed(h, slot);
    }

    fn insert_hashed(&mut self, h: u32, slot: u32) {
        if (self.len + self.tombstones + 1) * 8 >= self.buckets.len() * 7 {
            self.resize();
        }
        let mask = self.buckets.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.buckets[i].0 {
                EMPTY => break,
                TOMBSTONE => {
                    self.tombstones -= 1;
                    break;
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
        self.buckets[i] = (slot + 1, h);
        self.len += 1;
    }

    /// Removes `t`; returns the slot it mapped to.
    pub(crate) fn remove(
        &mut self,
        t: &FourTuple,
        holds: impl Fn(u32, &FourTuple) -> bool,
    ) -> Option<u32> {
        let h = self.hash(t);
        let mask = self.buckets.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.buckets[i] {
                (EMPTY, _) => return None,
                (TOMBSTONE, _) => {}
                (v, bh) if bh == h as u32 && holds(v - 1, t) => {
                    // The slot may keep its tuple for a while: never find it through the cache.
                    self.last = EMPTY;
                    self.buckets[i] = (TOMBSTONE, 0);
                    self.len -= 1;
                    self.tombstones += 1;
                    return Some(v - 1);
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    fn resize(&mut self) {
        let want = if self.len * 2 >= self.buckets.len() {
            self.buckets.len() * 2
        } else {
            self.buckets.len()
        };
        let old = core::mem::replace(&mut self.buckets, vec![(EMPTY, 0); want]);
        self.len = 0;
        self.tombstones = 0;
        for (v, h) in old {
            if v != EMPTY && v != TOMBSTONE {
                self.insert_hashed(h, v - 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn tuple(i: u32) -> FourTuple {
        FourTuple {
            local: SocketAddr::from(([192, 0, 2, 1], 80)),
            remote: SocketAddr::from((
                [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
                (i % 60000) as u16 + 1,
            )),
        }
    }

    #[test]
    fn behaves_like_a_map_through_inserts_removals_and_growth() {
        // Slot i holds tuple(i); the table maps tuples to slots.
        let of = |i: u32, t: &FourTuple| tuple(i) == *t;
        let mut t = TupleTable::new([3; 16]);
        let mut reference = HashMap::new();
        for i in 0..5000u32 {
            t.insert(&tuple(i), i);
            reference.insert(tuple(i), i);
            if i % 3 == 0 {
                let k = tuple(i / 2);
                assert_eq!(t.remove(&k, of), reference.remove(&k));
            }
        }
        assert_eq!(t.len(), reference.len());
        for i in 0..5000u32 {
            assert_eq!(t.get(&tuple(i), of), reference.get(&tuple(i)).copied());
        }
        assert_eq!(t.get(&tuple(9999), of), None);
    }

    #[test]
    fn cached_lookup_forgets_a_removed_tuple_whose_slot_still_holds_it() {
        let of = |i: u32, t: &FourTuple| tuple(i) == *t;
        let mut t = TupleTable::new([3; 16]);
        t.insert(&tuple(1), 1);
        t.insert(&tuple(2), 2);
        assert_eq!(t.lookup(&tuple(1), of), Some(1));
        assert_eq!(t.lookup(&tuple(1), of), Some(1), "cache hit");
        assert_eq!(t.lookup(&tuple(2), of), Some(2));
        assert_eq!(t.remove(&tuple(2), of), Some(2));
        // Slot 2 still reports tuple(2) through `of`, but the table no longer maps it.
        assert_eq!(t.lookup(&tuple(2), of), None);
        assert_eq!(t.lookup(&tuple(1), of), Some(1));
    }
}
