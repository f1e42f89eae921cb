//! The receive buffer: in-order data waiting for the application, and out-of-order data
//! waiting for the gap before it to fill (RFC 9293 §3.10.7.4, "segment text").
//!
//! Out-of-order data is kept in a map from stream offset to non-overlapping pieces, so
//! inserting, merging and delivering cost O(log n) per piece however many holes there are.
//! The number of pieces is bounded by configuration. A second map holds the contiguous runs
//! the pieces form (the SACK blocks to report), so the block around new data is found in
//! O(log n) instead of by walking the pieces of its run.

use super::lazy_deque::LazyDeque;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use bytes::{Buf, Bytes};

/// What inserting a segment did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inserted {
    /// Bytes that became readable in order (including out-of-order data the segment
    /// joined up).
    pub(crate) delivered: usize,
    /// The segment filled (part of) a hole before out-of-order data.
    pub(crate) filled_gap: bool,
    /// Some new bytes were stored out of order.
    pub(crate) out_of_order: bool,
    /// Bytes that were already held (duplicates).
    pub(crate) duplicate: usize,
    /// Bytes refused because the out-of-order piece limit was reached.
    pub(crate) dropped: usize,
}

/// Stream offsets are counted in bytes from the first data byte (IRS + 1), as `u64`, so
/// they never wrap within a connection.
#[derive(Debug)]
pub(crate) struct RecvBuffer {
    ready: LazyDeque<Bytes>,
    /// Bytes in `ready` (within the receive window, so 32 bits suffice).
    ready_len: u32,
    max_pieces: u32,
    /// Offset of the next in-order byte (RCV.NXT as an offset).
    next: u64,
    /// Out-of-order data and the SACK blocks it forms, allocated only while some is held.
    ooo: Option<Box<OutOfOrder>>,
}

/// Data that arrived beyond a hole, with its runs and SACK blocks.
#[derive(Debug, Default)]
struct OutOfOrder {
    /// Non-overlapping pieces by stream offset.
    pieces: BTreeMap<u64, Bytes>,
    /// Bytes in `pieces`.
    len: usize,
    /// The contiguous runs of `pieces`: start -> end, disjoint and not touching.
    runs: BTreeMap<u64, u64>,
    /// SACK blocks as offset ranges, most recently changed first (RFC 2018 §4).
    recent: [(u64, u64); 4],
    recent_len: usize,
}

impl RecvBuffer {
    pub(crate) fn new(max_pieces: usize) -> Self {
        RecvBuffer {
            ready: LazyDeque::new(),
            ready_len: 0,
            max_pieces: u32::try_from(max_pieces).unwrap_or(u32::MAX),
            next: 0,
            ooo: None,
        }
    }

    /// Heap bytes of the bookkeeping (queue slots and out-of-order entries; the B-tree
    /// nodes' own overhead is not counted, and the data is the application's).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ready.heap_bytes()
            + self.ooo.as_deref().map_or(0, |o| {
                core::mem::size_of::<OutOfOrder>()
                    + o.pieces.len() * core::mem::size_of::<(u64, Bytes)>()
                    + o.runs.len() * core::mem::size_of::<(u64, u64)>()
            })
    }

    /// Whether `release` would give memory back.
    pub(crate) fn releasable(&self) -> bool {
        self.ready.releasable()
    }

    /// Gives back the queue's memory if nothing waits to be read.
    pub(crate) fn release(&mut self) {
        self.ready.release();
    }

    /// In-order bytes waiting to be read.
    pub(crate) fn readable(&self) -> usize {
        self.ready_len as usize
    }

    /// Out-of-order bytes held.
    pub(crate) fn ooo_bytes(&self) -> usize {
        self.ooo.as_deref().map_or(0, |o| o.len)
    }

    /// Contiguous runs of out-of-order data (the SACK blocks it forms).
    pub(crate) fn ooo_runs(&self) -> usize {
        self.ooo.as_deref().map_or(0, |o| o.runs.len())
    }

    /// Out-of-order pieces held.
    pub(crate) fn ooo_pieces(&self) -> usize {
        self.ooo.as_deref().map_or(0, |o| o.pieces.len())
    }

    /// The offset of the next expected in-order byte.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// Discards every out-of-order piece (after the peer's FIN nothing beyond it can be
    /// delivered). Returns the bytes discarded.
    pub(crate) fn purge_ooo(&mut self) -> usize {
        self.ooo.take().map_or(0, |o| o.len)
    }

    /// Stores `data` that starts at stream offset `start >= self.next()`.
    pub(crate) fn insert(&mut self, start: u64, data: Bytes) -> Inserted {
        let mut r = Inserted::default();
        if data.is_empty() || start < self.next {
            return r;
        }
        if start == self.next {
            r.delivered = self.deliver(data);
            if let Some(o) = self.ooo.as_deref() {
                r.filled_gap = !o.pieces.is_empty();
                r.delivered += self.pull_ooo();
            }
            return r;
        }
        let o = self.ooo.get_or_insert_with(Box::default);
        o.insert(start, data, self.max_pieces as usize, &mut r);
        if o.pieces.is_empty() {
            // Nothing could be stored (a piece limit of zero).
            self.ooo = None;
        }
        r
    }

    fn deliver(&mut self, data: Bytes) -> usize {
        let n = data.len();
        self.next += n as u64;
        self.ready_len += n as u32;
        self.ready.push_back(data);
        n
    }

    /// Moves out-of-order pieces that are now in order to the ready queue, and forgets
    /// the out-of-order state once nothing is left of it.
    fn pull_ooo(&mut self) -> usize {
        let Some(mut o) = self.ooo.take() else {
            return 0;
        };
        let mut n = 0;
        while let Some(entry) = o.pieces.first_entry() {
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let mut piece = entry.remove();
            o.len -= piece.len();
            let skip = (self.next - k) as usize;
            if skip < piece.len() {
                piece.advance(skip);
                n += self.deliver(piece);
            }
        }
        // A run is contiguous, so one that started at or below RCV.NXT was delivered whole.
        while let Some(entry) = o.runs.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            entry.remove();
        }
        o.forget_delivered_blocks(self.next);
        if !o.pieces.is_empty() || o.recent_len > 0 {
            self.ooo = Some(o);
        }
        n
    }

    /// SACK blocks to report, most recent first, as offset ranges.
    pub(crate) fn sack_blocks(&self) -> &[(u64, u64)] {
        self.ooo
            .as_deref()
            .and_then(|o| o.recent.get(..o.recent_len))
            .unwrap_or_default()
    }

    /// Copies in-order data into `buf`; returns the number of bytes copied.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let Some(ready) = self.ready.queue_mut() else {
            return 0;
        };
        let mut n = 0;
        while n < buf.len() {
            let Some(front) = ready.front_mut() else {
                break;
            };
            let k = front.len().min(buf.len() - n);
            if let (Some(dst), Some(src)) = (buf.get_mut(n..n + k), front.get(..k)) {
                dst.copy_from_slice(src);
            }
            front.advance(k);
            n += k;
            if front.is_empty() {
                ready.pop_front();
            }
        }
        self.ready_len -= n as u32;
        n
    }

    /// Hands out up to `max` in-order bytes without copying.
    pub(crate) fn read_bytes(&mut self, max: usize) -> Option<Bytes> {
        let front = self.ready.front_mut()?;
        let out = if front.len() <= max {
            self.ready.pop_front()?
        } else {
            front.split_to(max)
        };
        self.ready_len -= out.len() as u32;
        Some(out)
    }
}

impl OutOfOrder {
    /// Stores the parts of `[start, start + data.len())` not already held, as new pieces,
    /// up to `max_pieces` pieces.
    fn insert(&mut self, start: u64, data: Bytes, max_pieces: usize, r: &mut Inserted) {
        let end = start + data.len() as u64;
        let mut cur = start;
        if let Some((&k, v)) = self.pieces.range(..=start).next_back() {
            cur = cur.max(k + v.len() as u64);
        }
        let mut stored = 0usize;
        while cur < end {
            let next_piece = self
                .pieces
                .range(cur..)
                .next()
                .map(|(&k, v)| (k, k + v.len() as u64));
            let (gap_end, resume) = match next_piece {
                Some((k, ke)) if k < end => (k, ke),
                _ => (end, end),
            };
            if gap_end > cur {
                if self.pieces.len() >= max_pieces {
                    r.dropped += (end - cur) as usize;
                    break;
                }
                let piece = data.slice((cur - start) as usize..(gap_end - start) as usize);
                self.len += piece.len();
                stored += piece.len();
                self.pieces.insert(cur, piece);
                self.add_run(cur, gap_end);
            }
            cur = resume.max(cur);
        }
        if stored > 0 {
            r.out_of_order = true;
            self.note_block(start, end);
        }
        r.duplicate = data.len() - r.dropped - stored;
    }

    /// Adds `[a, b)` (just stored, touching no stored byte) to the runs, merging it with
    /// the runs it touches.
    fn add_run(&mut self, a: u64, b: u64) {
        let (mut lo, mut hi) = (a, b);
        if let Some((&s, &e)) = self.runs.range(..=a).next_back()
            && e >= a
        {
            lo = s;
            hi = hi.max(e);
            self.runs.remove(&s);
        }
        if let Some(e) = self.runs.remove(&hi) {
            hi = e;
        }
        self.runs.insert(lo, hi);
    }

    /// Records that `[start, end)` just arrived out of order: the SACK block holding it goes
    /// first (RFC 2018 §4), older blocks follow.
    fn note_block(&mut self, start: u64, end: u64) {
        // The contiguous run around the new data.
        let (lo, hi) = self
            .runs
            .range(..=start)
            .next_back()
            .filter(|&(_, &e)| e > start)
            .map_or((start, end), |(&s, &e)| (s, e));
        let mut blocks = [(lo, hi); 4];
        let mut n = 1;
        for &(a, b) in self.recent.iter().take(self.recent_len) {
            let disjoint = b < lo || a > hi;
            if disjoint && n < blocks.len() {
                blocks[n] = (a, b);
                n += 1;
            }
        }
        self.recent = blocks;
        self.recent_len = n;
    }

    /// Trims the SACK blocks to what lies beyond `next`.
    fn forget_delivered_blocks(&mut self, next: u64) {
        let mut n = 0;
        for i in 0..self.recent_len {
            let (a, b) = self.recent[i];
            if b > next {
                self.recent[n] = (a.max(next), b);
                n += 1;
            }
        }
        self.recent_len = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn bytes(range: core::ops::Range<u8>) -> Bytes {
        Bytes::from(range.collect::<Vec<u8>>())
    }

    fn read_all(b: &mut RecvBuffer) -> Vec<u8> {
        let mut out = alloc::vec![0u8; b.readable()];
        let n = b.read(&mut out);
        out.truncate(n);
        out
    }

    #[test]
    fn in_order_data_is_readable_immediately() {
        let mut b = RecvBuffer::new(16);
        let r = b.insert(0, bytes(0..10));
        assert_eq!(r.delivered, 10);
        assert_eq!(read_all(&mut b), (0..10).collect::<Vec<u8>>());
        assert_eq!(b.next(), 10);
    }

    #[test]
    fn out_of_order_data_waits_for_the_gap_and_is_joined_up() {
        let mut b = RecvBuffer::new(16);
        let r = b.insert(20, bytes(20..30));
        assert!(r.out_of_order);
        assert_eq!(r.delivered, 0);
        assert_eq!(b.sack_blocks(), &[(20, 30)]);
        b.insert(10, bytes(10..15));
        assert_eq!(b.sack_blocks(), &[(10, 15), (20, 30)], "newest block first");
        let r = b.insert(0, bytes(0..10));
        assert!(r.filled_gap);
        assert_eq!(r.delivered, 15);
        assert_eq!(b.sack_blocks(), &[(20, 30)]);
        let r = b.insert(15, bytes(15..25));
        assert_eq!(r.delivered, 15);
        assert_eq!(read_all(&mut b), (0..30).collect::<Vec<u8>>());
        assert!(b.sack_blocks().is_empty());
        assert_eq!(b.ooo_bytes(), 0);
    }

    #[test]
    fn overlapping_and_duplicate_segments_keep_the_first_copy_and_fill_only_gaps() {
        let mut b = RecvBuffer::new(16);
        b.insert(10, bytes(10..20));
        b.insert(30, bytes(30..40));
        let r = b.insert(5, bytes(5..45));
        assert_eq!(r.duplicate, 20);
        assert_eq!(b.ooo_bytes(), 40);
        assert_eq!(b.sack_blocks(), &[(5, 45)]);
        b.insert(0, bytes(0..5));
        assert_eq!(read_all(&mut b), (0..45).collect::<Vec<u8>>());
    }

    #[test]
    fn the_piece_limit_bounds_memory_under_many_holes() {
        let mut b = RecvBuffer::new(8);
        let mut dropped = 0;
        for i in 0..100u64 {
            dropped += b.insert(10 + 2 * i, Bytes::from_static(b"x")).dropped;
        }
        assert_eq!(b.ooo_pieces(), 8);
        assert_eq!(dropped, 92);
        assert!(b.sack_blocks().len() <= 4);
    }

    /// The runs are exactly the maximal contiguous stretches of the pieces.
    fn runs_from_pieces(b: &RecvBuffer) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (&k, v) in b.ooo.iter().flat_map(|o| o.pieces.iter()) {
            let e = k + v.len() as u64;
            match runs.last_mut() {
                Some(last) if last.1 == k => last.1 = e,
                _ => runs.push((k, e)),
            }
        }
        runs
    }

    proptest::proptest! {
        #[test]
        fn runs_and_the_first_sack_block_follow_the_pieces(
            segs in proptest::collection::vec((0u64..60, 1u64..8), 1..80),
            limit in 2usize..40,
        ) {
            let mut b = RecvBuffer::new(limit);
            for (start, len) in segs {
                let data = Bytes::from((start..start + len).map(|i| i as u8).collect::<Vec<u8>>());
                let r = b.insert(start, data);
                let held: Vec<(u64, u64)> = b.ooo.iter().flat_map(|o| o.runs.iter()).map(|(&s, &e)| (s, e)).collect();
                proptest::prop_assert_eq!(&held, &runs_from_pieces(&b));
                if r.out_of_order {
                    // The first block is the run holding the new data's first stored byte.
                    let first = b.sack_blocks()[0];
                    proptest::prop_assert!(held.contains(&first), "{:?} not a run of {:?}", first, held);
                    proptest::prop_assert!(first.0 <= start.max(b.next()) && start < first.1);
                }
                proptest::prop_assert!(held.iter().all(|&(s, _)| s > b.next()));
            }
        }
    }

    #[test]
    fn zero_copy_reads_hand_out_the_received_bytes() {
        let mut b = RecvBuffer::new(16);
        let seg = bytes(0..100);
        b.insert(0, seg.clone());
        let first = b.read_bytes(40).unwrap_or_default();
        assert_eq!(first.as_ptr(), seg.as_ptr());
        assert_eq!(first.len(), 40);
        assert_eq!(b.readable(), 60);
    }
}
