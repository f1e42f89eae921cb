//! The SACK blocks a FreeBSD receiver reports ([`crate::config::SegmentRules::Bsd`]):
//! FreeBSD keeps a list of up to six blocks (`tp->sackblks`) that it edits as segments
//! arrive, rather than deriving them from the reassembly queue, and D-SACK blocks
//! (RFC 2883) live in the same list. Following sys/netinet/tcp_sack.c:
//!
//! - `tcp_update_sack_list`: the block around new out-of-order data goes first, blocks it
//!   touches merge into it, the others keep their order (RFC 2018 §4); blocks at or below
//!   RCV.NXT are dropped. With an empty range it only prunes, keeping a D-SACK block at
//!   the head.
//! - `tcp_update_dsack_list`: data that overlaps what was already received puts the
//!   overlap first as a D-SACK block, then the block the data extends, then the others.
//! - `tcp_clean_dsack_blocks`: after each segment sent, blocks at or below RCV.NXT (the
//!   D-SACKs just reported) are dropped.

use crate::seq::SeqNum;

/// FreeBSD's `MAX_SACK_BLKS`.
const MAX_BLOCKS: usize = 6;

/// One block, `[start, end)`.
type Block = (SeqNum, SeqNum);

/// The receiver's SACK list (`tp->sackblks`, `tp->rcv_numsacks`).
#[derive(Clone, Debug, Default)]
pub(crate) struct BsdSackList {
    blocks: [Option<Block>; MAX_BLOCKS],
    len: usize,
}

fn max(a: SeqNum, b: SeqNum) -> SeqNum {
    if a.gt(b) { a } else { b }
}

fn min(a: SeqNum, b: SeqNum) -> SeqNum {
    if a.lt(b) { a } else { b }
}

impl BsdSackList {
    /// The blocks to report, most important first.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = Block> + '_ {
        self.blocks.iter().take(self.len).flatten().copied()
    }

    /// The first block, if any.
    pub(crate) fn first(&self) -> Option<Block> {
        self.blocks
            .first()
            .copied()
            .flatten()
            .filter(|_| self.len > 0)
    }

    fn set(&mut self, list: &[Block]) {
        let mut n = 0;
        for &b in list.iter().take(MAX_BLOCKS) {
            self.blocks[n] = Some(b);
            n += 1;
        }
        for slot in self.blocks.iter_mut().skip(n) {
            *slot = None;
        }
        self.len = n;
    }

    /// `tcp_clean_dsack_blocks`: after a segment left, drop blocks at or below `rcv_nxt`.
    pub(crate) fn clean_dsack(&mut self, rcv_nxt: SeqNum) {
        let mut out = [(SeqNum::new(0), SeqNum::new(0)); MAX_BLOCKS];
        let mut n = 0;
        for (s, e) in self.blocks() {
            if s.ge(e) || s.le(rcv_nxt) {
                continue;
            }
            out[n] = (s, e);
            n += 1;
        }
        self.set(&out[..n]);
    }

    /// `tcp_update_sack_list`: `[start, end)` arrived (or, when empty, only prune).
    pub(crate) fn update_sack_list(&mut self, rcv_nxt: SeqNum, start: SeqNum, end: SeqNum) {
        let first = self.first();
        let mut head = match first {
            Some(b) if start == end && end == b.1 => b,
            _ => (start, end),
        };
        let mut saved = [(SeqNum::new(0), SeqNum::new(0)); MAX_BLOCKS];
        let mut n = 0usize;
        let keep = |saved: &mut [Block; MAX_BLOCKS], n: &mut usize, b: Block| {
            // A block that covers the last saved one supersedes it.
            if *n >= 1 && saved[*n - 1].0.ge(b.0) && saved[*n - 1].1.le(b.1) {
                *n -= 1;
            }
            if *n < MAX_BLOCKS {
                saved[*n] = b;
                *n += 1;
            }
        };
        for (mut s, mut e) in self.blocks() {
            if s.ge(e) || s.le(rcv_nxt) {
                // Discard.
            } else if head.0.le(e) && head.1.ge(s) {
                // Merge into the head block, or (a D-SACK inside it) keep both.
                if head.0 == e {
                    head.0 = s;
                } else if head.1 == s {
                    head.1 = e;
                } else {
                    if head.0.lt(s) {
                        core::mem::swap(&mut head.0, &mut s);
                    }
                    if head.1.gt(e) {
                        core::mem::swap(&mut head.1, &mut e);
                    }
                    if head != (s, e) {
                        keep(&mut saved, &mut n, (s, e));
                    }
                }
            } else {
                keep(&mut saved, &mut n, (s, e));
            }
        }
        let mut out = [(SeqNum::new(0), SeqNum::new(0)); MAX_BLOCKS];
        let mut m = 0;
        if start.lt(end) {
            out[0] = head;
            m = 1;
            n = n.min(MAX_BLOCKS - 1);
        } else if let Some(b) = first.filter(|b| start == end && start == b.1) {
            out[0] = b;
            m = 1;
            n = n.min(MAX_BLOCKS - 1);
        }
        for &b in saved.iter().take(n) {
            out[m] = b;
            m += 1;
        }
        self.set(&out[..m]);
    }

    /// `tcp_update_dsack_list`: `[start, end)` arrived and may overlap what we hold; the
    /// overlap goes first (D-SACK, RFC 2883 §4), then the block it extends.
    pub(crate) fn update_dsack_list(&mut self, rcv_nxt: SeqNum, start: SeqNum, end: SeqNum) {
        let zero = (SeqNum::new(0), SeqNum::new(0));
        let first = self.first();
        let mut saved = [zero; MAX_BLOCKS];
        if end.lt(rcv_nxt) || (end == rcv_nxt && first.is_some_and(|b| b.1 == rcv_nxt)) {
            saved[0] = (start, end);
        }
        let mut head = zero;
        let mut mid = (start, end);
        let mut identical = false;
        for (s, e) in self.blocks() {
            if end.lt(s) || start.gt(e) {
                continue;
            }
            if rcv_nxt.gt(e) {
                let (lo, hi) = (max(start, s), min(end, e));
                if lo != hi && (head.0.gt(lo) || head.0 == head.1) {
                    head = (lo, hi);
                }
                continue;
            }
            if (head.0 == head.1 || s.lt(head.0)) && e.gt(start) && s.le(end) {
                head = (s, e);
            }
            mid = (min(mid.0, s), max(mid.1, e));
            if mid == (s, e) {
                identical = true;
            }
        }
        if head.0.lt(head.1) {
            saved[0] = (max(start, head.0), min(end, head.1));
        }
        let mut n = 1;
        if (rcv_nxt.lt(mid.1) && mid != saved[0]) || identical {
            saved[n] = mid;
            n += 1;
        }
        for (s, e) in self.blocks() {
            if n >= MAX_BLOCKS {
                break;
            }
            if (e.lt(mid.0) || s.gt(mid.1)) && s.gt(rcv_nxt) {
                saved[n] = (s, e);
                n += 1;
            }
        }
        let mut out = [zero; MAX_BLOCKS];
        let mut m = 0;
        for &(s, e) in saved.iter().take(n) {
            // A stale first entry is skipped.
            if s.lt(e) {
                out[m] = (s, e);
                m += 1;
            }
        }
        self.set(&out[..m]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNum {
        SeqNum::new(n)
    }

    fn list(l: &BsdSackList) -> alloc::vec::Vec<(u32, u32)> {
        l.blocks().map(|(a, b)| (a.get(), b.get())).collect()
    }

    /// Three out-of-order segments 200:300, 400:500, 600:700 behind RCV.NXT = 100.
    fn three_blocks() -> BsdSackList {
        let mut l = BsdSackList::default();
        for (a, b) in [(200, 300), (400, 500), (600, 700)] {
            l.update_dsack_list(s(100), s(a), s(b));
        }
        l
    }

    #[test]
    fn new_blocks_go_first() {
        assert_eq!(list(&three_blocks()), [(600, 700), (400, 500), (200, 300)]);
    }

    #[test]
    fn an_overlapping_segment_reports_the_overlap_then_its_block() {
        let mut l = three_blocks();
        l.update_dsack_list(s(100), s(200), s(350));
        assert_eq!(list(&l), [(200, 300), (200, 350), (600, 700), (400, 500)]);
    }

    #[test]
    fn in_order_data_that_overlaps_a_block_reports_the_overlap() {
        let mut l = three_blocks();
        // 100:275 arrived in order and joined 200:300: RCV.NXT is 300.
        l.update_dsack_list(s(300), s(100), s(275));
        assert_eq!(list(&l), [(200, 275), (600, 700), (400, 500)]);
        l.clean_dsack(s(300));
        assert_eq!(list(&l), [(600, 700), (400, 500)]);
    }

    #[test]
    fn an_old_duplicate_is_reported_and_pruned_once_sent() {
        let mut l = three_blocks();
        l.update_sack_list(s(100), s(1), s(100));
        assert_eq!(list(&l), [(1, 100), (600, 700), (400, 500), (200, 300)]);
        // Everything up to 800 arrives: only the D-SACK stays.
        l.update_sack_list(s(800), s(1), s(100));
        assert_eq!(list(&l), [(1, 100)]);
        l.clean_dsack(s(800));
        assert!(list(&l).is_empty());
    }
}
