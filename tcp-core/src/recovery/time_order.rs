//! The scoreboard's segments awaiting an ACK in transmit order (RFC 8985 §6.2 step 5:
//! RACK scans them oldest first), as a sorted deque.
//!
//! A sender transmits in time order, so nearly every insertion is at the back (a new
//! segment or a retransmission gets the newest key) and nearly every removal is at the
//! front (the cumulative ACK takes the oldest). A deque does both in O(1), where the
//! ordered set it replaces paid O(log n) and a node allocation per segment (about a fifth
//! of the instructions per sent segment, `scripts/segcost-callgrind`).
//!
//! The rarer cases keep their bounds without moving the deque's elements one by one:
//! - A removal in the middle (a SACKed or lost segment) leaves a tombstone, found by
//!   binary search, O(log n). Tombstones at either end are dropped at once, and the deque
//!   is compacted when they outnumber the live entries, so it holds at most
//!   2·live + [`SLACK`] entries.
//! - RACK asks, on every ACK, for the newest live key below a bound; under SACK a long run
//!   of tombstones (the SACKed segments sent after a lost one) lies just below it. Each
//!   tombstone keeps a backward skip distance, and a scan compresses the path it took
//!   (as union-find does), so repeated scans over the same run cost O(1) each, not
//!   O(run). Tombstones never come back to life, so a skip stays valid until the deque is
//!   rebuilt; popping from the front does not change distances.
//! - An insertion below the back (an undo or a renege puts segments back with their old
//!   transmit times; a split piece shares its record's time) is appended and the deque is
//!   marked unsorted; the next query sorts it once (a stable merge of the sorted prefix
//!   with the appended tail, tombstones dropped), so a renege of n segments costs
//!   O(n log n), not O(n²).

use alloc::collections::VecDeque;

/// Tombstones tolerated beyond the number of live entries before compaction.
const SLACK: usize = 32;

/// A set of keys with in-order queries at both ends (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct TimeOrder<K> {
    /// Keys, each with its skip distance: 0 for a live key; for a tombstone, how far back
    /// the scan may jump (every entry in between is a tombstone too). Sorted by key,
    /// unique, with a live entry at each end, unless `sorted` is false.
    items: VecDeque<(K, usize)>,
    live: usize,
    sorted: bool,
}

impl<K: Ord + Copy> TimeOrder<K> {
    pub(super) fn new() -> Self {
        TimeOrder {
            items: VecDeque::new(),
            live: 0,
            sorted: true,
        }
    }

    /// Live keys.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Whether no key is live but memory is held.
    pub(super) fn releasable(&self) -> bool {
        self.live == 0 && self.items.capacity() > 0
    }

    /// With no live key, forgets the tombstones and gives the memory back.
    pub(super) fn release(&mut self) {
        if self.live == 0 {
            *self = Self::new();
        }
    }

    /// Adds `k`, which must not be live (the scoreboard inserts a segment's key only
    /// after removing it); a live duplicate would be counted twice by [`len`](Self::len)
    /// until the next query merges it.
    pub(super) fn insert(&mut self, k: K) {
        if self.items.back().is_some_and(|(b, _)| *b >= k) {
            // Below the back: sorted by the next query.
            self.sorted = false;
        }
        self.items.push_back((k, 0));
        self.live += 1;
    }

    /// Removes `k`; returns whether it was present.
    pub(super) fn remove(&mut self, k: &K) -> bool {
        self.sort();
        if self.items.front().is_some_and(|(f, _)| f == k) {
            self.items.pop_front();
        } else {
            let Ok(i) = self.search(k) else {
                return false;
            };
            match self.items.get_mut(i) {
                Some(e) if e.1 == 0 => e.1 = 1,
                _ => return false,
            }
        }
        self.live -= 1;
        self.trim();
        if self.items.len() > 2 * self.live + SLACK {
            self.items.retain(|e| e.1 == 0);
        }
        true
    }

    /// The smallest key.
    pub(super) fn first(&mut self) -> Option<K> {
        self.sort();
        self.items.front().map(|e| e.0)
    }

    /// The largest key below `bound`.
    pub(super) fn last_below(&mut self, bound: &K) -> Option<K> {
        self.sort();
        let n = self.items.partition_point(|(k, _)| k < bound);
        let top = n.checked_sub(1)?;
        // Find the live entry by the skips, then point every tombstone passed at it.
        let mut i = top;
        let found = loop {
            match self.items.get(i)? {
                (k, 0) => break (i, *k),
                (_, skip) => i = i.checked_sub(*skip)?,
            }
        };
        let mut j = top;
        while j > found.0 {
            let Some(e) = self.items.get_mut(j) else {
                break;
            };
            let next = j - e.1;
            e.1 = j - found.0;
            j = next;
        }
        Some(found.1)
    }

    fn search(&self, k: &K) -> Result<usize, usize> {
        self.items.binary_search_by(|(x, _)| x.cmp(k))
    }

    /// Drops tombstones at both ends.
    fn trim(&mut self) {
        while self.items.front().is_some_and(|e| e.1 != 0) {
            self.items.pop_front();
        }
        while self.items.back().is_some_and(|e| e.1 != 0) {
            self.items.pop_back();
        }
    }

    /// Restores order after an insertion below the back: tombstones are dropped, the
    /// rest sorted (stable and run-adaptive: the sorted prefix merges with the appended
    /// tail) and duplicates of a key merged, recounting the live keys.
    fn sort(&mut self) {
        if self.sorted {
            return;
        }
        self.items.retain(|e| e.1 == 0);
        self.items.make_contiguous().sort_by_key(|a| a.0);
        let mut last: Option<K> = None;
        self.items.retain(|e| {
            let dup = last.is_some_and(|l| l == e.0);
            last = Some(e.0);
            !dup
        });
        self.live = self.items.len();
        self.sorted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        /// Every operation answers as an ordered set does, whatever the order of keys.
        #[test]
        fn behaves_like_an_ordered_set(
            ops in proptest::collection::vec((0u8..5, 0u32..64), 0..400)
        ) {
            let mut order = TimeOrder::new();
            let mut set = BTreeSet::new();
            let mut next = 64u32;
            for (op, k) in ops {
                match op {
                    // Mostly appends at the back, as a sender does.
                    0 => {
                        next += 1;
                        order.insert(next);
                        set.insert(next);
                    }
                    1 if !set.contains(&k) => {
                        order.insert(k);
                        set.insert(k);
                    }
                    1 => {}
                    2 => prop_assert_eq!(order.remove(&k), set.remove(&k)),
                    3 => {
                        let f = set.first().copied();
                        prop_assert_eq!(order.first(), f);
                        if let Some(f) = f {
                            prop_assert!(order.remove(&f));
                            set.remove(&f);
                        }
                    }
                    _ => prop_assert_eq!(order.last_below(&k), set.range(..k).next_back().copied()),
                }
                prop_assert_eq!(order.len(), set.len());
            }
            order.sort();
            let live: Vec<u32> = order.items.iter().filter(|e| e.1 == 0).map(|e| e.0).collect();
            prop_assert_eq!(live, set.into_iter().collect::<Vec<_>>());
        }
    }

    /// Removing from the middle leaves tombstones, but never more than the live entries
    /// plus the slack.
    #[test]
    fn tombstones_stay_bounded() {
        let mut order = TimeOrder::new();
        for k in 0..10_000u32 {
            order.insert(k);
        }
        for k in (1..9_999u32).filter(|k| k % 3 != 0) {
            assert!(order.remove(&k));
            assert!(order.items.len() <= 2 * order.len() + SLACK);
        }
        assert_eq!(order.first(), Some(0));
        assert_eq!(order.last_below(&9_998), Some(9_996));
    }

    /// The segments SACKed after a lost one form a run of tombstones below RACK's bound:
    /// after one scan, the run's top entry jumps straight to the live key below it.
    #[test]
    fn a_scan_compresses_the_tombstone_run_it_crossed() {
        let mut order = TimeOrder::new();
        for k in 0..2_000u32 {
            order.insert(k);
        }
        // 0 is lost (live), 1..1000 SACKed, 1000.. still in flight.
        for k in 1..1_000u32 {
            assert!(order.remove(&k));
        }
        assert_eq!(order.last_below(&1_000), Some(0));
        let top = order.items.partition_point(|(k, _)| *k < 1_000) - 1;
        assert_eq!(
            order.items[top].1, top,
            "the run's top skips to the live entry"
        );
        assert_eq!(order.last_below(&1_000), Some(0));
        assert_eq!(order.last_below(&500), Some(0));
        assert_eq!(order.last_below(&1_500), Some(1_499));
        assert!(order.remove(&0));
        assert_eq!(order.last_below(&1_000), None);
        assert_eq!(order.first(), Some(1_000));
    }
}
