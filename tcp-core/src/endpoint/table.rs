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

#[derive(Debug)]
pub(crate) struct TupleTable {
    key: [u8; 16],
    /// Slot index + 1, or EMPTY / TOMBSTONE.
    buckets: Vec<u32>,
    /// Tuple stored next to each bucket (valid where the bucket holds an index).
    tuples: Vec<FourTuple>,
    len: usize,
    tombstones: usize,
}

fn placeholder() -> FourTuple {
    let any = SocketAddr::from(([0, 0, 0, 0], 0));
    FourTuple {
        local: any,
        remote: any,
    }
}

impl TupleTable {
    pub(crate) fn new(key: [u8; 16]) -> Self {
        TupleTable {
            key,
            buckets: vec![EMPTY; 16],
            tuples: vec![placeholder(); 16],
            len: 0,
            tombstones: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn hash(&self, t: &FourTuple) -> usize {
        HashInput::new(TAG_TABLE)
            .addr(t.local)
            .addr(t.remote)
            .hash(&self.key) as usize
    }

    /// The slot index stored for `t`.
    pub(crate) fn get(&self, t: &FourTuple) -> Option<u32> {
        let mask = self.buckets.len() - 1;
        let mut i = self.hash(t) & mask;
        loop {
            match self.buckets[i] {
                EMPTY => return None,
                TOMBSTONE => {}
                v if self.tuples[i] == *t => return Some(v - 1),
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts or replaces the mapping `t -> slot`.
    pub(crate) fn insert(&mut self, t: FourTuple, slot: u32) {
        if (self.len + self.tombstones + 1) * 8 >= self.buckets.len() * 7 {
            self.resize();
        }
        let mask = self.buckets.len() - 1;
        let mut i = self.hash(&t) & mask;
        let mut first_free = None;
        loop {
            match self.buckets[i] {
                EMPTY => break,
                TOMBSTONE => {
                    first_free.get_or_insert(i);
                }
                _ if self.tuples[i] == t => {
                    self.buckets[i] = slot + 1;
                    return;
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
        let at = match first_free {
            Some(j) => {
                self.tombstones -= 1;
                j
            }
            None => i,
        };
        self.buckets[at] = slot + 1;
        self.tuples[at] = t;
        self.len += 1;
    }

    /// Removes `t`; returns the slot it mapped to.
    pub(crate) fn remove(&mut self, t: &FourTuple) -> Option<u32> {
        let mask = self.buckets.len() - 1;
        let mut i = self.hash(t) & mask;
        loop {
            match self.buckets[i] {
                EMPTY => return None,
                TOMBSTONE => {}
                v if self.tuples[i] == *t => {
                    self.buckets[i] = TOMBSTONE;
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
        let old_b = core::mem::replace(&mut self.buckets, vec![EMPTY; want]);
        let old_t = core::mem::replace(&mut self.tuples, vec![placeholder(); want]);
        self.len = 0;
        self.tombstones = 0;
        for (b, t) in old_b.into_iter().zip(old_t) {
            if b != EMPTY && b != TOMBSTONE {
                self.insert(t, b - 1);
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
        let mut t = TupleTable::new([3; 16]);
        let mut reference = HashMap::new();
        for i in 0..5000u32 {
            t.insert(tuple(i), i);
            reference.insert(tuple(i), i);
            if i % 3 == 0 {
                let k = tuple(i / 2);
                assert_eq!(t.remove(&k), reference.remove(&k));
            }
        }
        assert_eq!(t.len(), reference.len());
        for i in 0..5000u32 {
            assert_eq!(t.get(&tuple(i)), reference.get(&tuple(i)).copied());
        }
        t.insert(tuple(7), 99);
        assert_eq!(t.get(&tuple(7)), Some(99), "insert replaces");
    }
}
