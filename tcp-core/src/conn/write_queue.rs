//! Where Linux's write queue cuts unsent data into `sk_buff`s, which decides where PSH
//! appears on the wire.
//!
//! `tcp_sendmsg_locked` copies a write into the tail skb until it holds `size_goal` bytes
//! (64 KiB bounded by half the largest window the peer offered, in whole segments), then
//! starts a new one. PSH is marked on an skb (`tcp_mark_push`) at the end of each write
//! (`tcp_push`), and in the middle of a long write whenever more than half the peer's
//! largest window was written since the last mark (`forced_push`); a later write that
//! appends to a marked skb clears its mark. An skb keeps its flags when the send path
//! splits it, so the mark ends up on the segment that ends the skb. A full skb at the head
//! of the queue is sent at once, in the middle of the write (`tcp_push_one`), after which
//! the rest of it is a new tail that later data of the same write fills up again.
//!
//! This module keeps the skb boundaries of unsent data only; the connection drives it from
//! its write and send paths.

use super::lazy_deque::LazyDeque;
use crate::seq::SeqNum;

/// `sk_gso_max_size` (`GSO_LEGACY_MAX_SIZE`).
const GSO_MAX_SIZE: u32 = 65_536;
/// `TCP_MSS_DEFAULT`.
const MSS_DEFAULT: u32 = 536;

/// One unsent skb: `[start, end)` and whether it carries PSH.
#[derive(Clone, Copy, Debug)]
struct Skb {
    start: SeqNum,
    end: SeqNum,
    psh: bool,
    /// Ends a record (`MSG_EOR`): nothing is appended to it or merged with it.
    eor: bool,
}

impl Skb {
    fn len(&self) -> u32 {
        self.end.since(self.start)
    }
}

/// The skbs of the unsent data, in order and contiguous.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    skbs: LazyDeque<Skb>,
    /// `pushed_seq`: the write sequence at the last PSH mark.
    pushed_seq: SeqNum,
}

/// What a write step asks the connection to do after filling an skb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Nothing: keep copying.
    None,
    /// `tcp_push_one`: send the head skb now.
    One,
    /// `__tcp_push_pending_frames` after a forced PSH mark: send what may go now.
    All,
}

/// A packet the send path cuts from the head of the queue (`tcp_write_xmit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packet {
    /// Payload bytes.
    pub(crate) len: u32,
    /// Its last segment carries PSH.
    pub(crate) psh: bool,
    /// It ends data marked PSH (a write's end or a forced push), beyond the PSH every
    /// packet of several segments gets.
    pub(crate) mark: bool,
}

impl WriteQueue {
    /// Heap bytes of the queue.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.skbs.heap_bytes()
    }

    /// An empty queue whose data starts at `seq`.
    pub(crate) fn new(seq: SeqNum) -> Self {
        WriteQueue {
            skbs: LazyDeque::new(),
            pushed_seq: seq,
        }
    }

    /// Whether `release` would give memory back.
    pub(crate) fn releasable(&self) -> bool {
        self.skbs.releasable()
    }

    /// Gives back the queue's memory if no unsent data is held.
    pub(crate) fn release(&mut self) {
        self.skbs.release();
    }

    /// `tcp_xmit_size_goal`: the payload an skb takes before a new one starts.
    pub(crate) fn size_goal(mss: u32, max_window: u32) -> u32 {
        let cutoff = if max_window > MSS_DEFAULT {
            max_window / 2
        } else {
            max_window
        };
        let goal = if cutoff > 0 && GSO_MAX_SIZE > cutoff {
            cutoff.max(68 - 20)
        } else {
            GSO_MAX_SIZE
        };
        let mss = mss.max(1);
        (goal / mss * mss).max(mss)
    }

    /// Adds up to `n` bytes of one write that starts at `write_seq` to the queue the way
    /// `tcp_sendmsg_locked` copies them, and says where Linux would send in the middle
    /// of the write. `first`: this is the write's first piece (an skb it appends to loses
    /// its PSH mark). Returns how many bytes it took; the caller pushes as told and calls
    /// again with the rest. `half_window` is half the largest window the peer offered
    /// (`forced_push`).
    pub(crate) fn write_step(
        &mut self,
        write_seq: SeqNum,
        n: u32,
        size_goal: u32,
        half_window: u32,
        first: bool,
    ) -> (u32, Push) {
        if n == 0 {
            return (0, Push::None);
        }
        let skbs = self.skbs.queue_or_alloc();
        if skbs.back().is_some_and(|t| t.end != write_seq) {
            // Data the model never saw: start over at the write.
            skbs.clear();
        }
        let copy = match skbs.back_mut() {
            Some(tail) if tail.len() < size_goal && !tail.eor => {
                if first {
                    tail.psh = false;
                }
                let copy = (size_goal - tail.len()).min(n);
                tail.end += copy;
                copy
            }
            _ => {
                let copy = size_goal.min(n);
                skbs.push_back(Skb {
                    start: write_seq,
                    end: write_seq + copy,
                    psh: false,
                    eor: false,
                });
                copy
            }
        };
        let end = write_seq + copy;
        if copy == n || skbs.back().is_some_and(|t| t.len() < size_goal) {
            return (copy, Push::None);
        }
        if end.gt(self.pushed_seq + half_window) {
            self.mark_push(end);
            return (copy, Push::All);
        }
        if skbs.len() == 1 {
            return (copy, Push::One);
        }
        (copy, Push::None)
    }

    /// The unsent skbs queued.
    pub(crate) fn skb_count(&self) -> usize {
        self.skbs.len()
    }

    /// Whether data written at `write_seq` starts a new skb (the tail is full, closed by
    /// `MSG_EOR`, or absent).
    pub(crate) fn needs_new_skb(&self, write_seq: SeqNum, size_goal: u32) -> bool {
        match self.skbs.back() {
            Some(t) => t.end != write_seq || t.len() >= size_goal || t.eor,
            None => true,
        }
    }

    /// `tcp_push` at the end of a write ending at `write_seq`: the tail skb gets PSH,
    /// unless more data follows (`MSG_MORE`) and less than half the window was written
    /// since the last mark. `eor` closes the tail skb (`MSG_EOR`).
    pub(crate) fn end_write(&mut self, write_seq: SeqNum, more: bool, eor: bool, half_window: u32) {
        if !more || write_seq.gt(self.pushed_seq + half_window) {
            self.mark_push(write_seq);
        }
        if eor && let Some(last) = self.skbs.back_mut() {
            last.eor = true;
        }
    }

    fn mark_push(&mut self, write_seq: SeqNum) {
        if let Some(last) = self.skbs.back_mut() {
            last.psh = true;
        }
        self.pushed_seq = write_seq;
    }

    /// Cuts the next packet from the head skb starting at `seq`, as one iteration of
    /// Linux's `tcp_write_xmit`: the head grows into the next skb up to `quota` segments
    /// (`tcp_grow_skb`, which takes the flags of an skb it swallows whole), then is cut at
    /// the split point (`tcp_mss_split_point`: `quota` segments, or what the window
    /// ending at `wnd_end` takes; at the queue's tail a partial last segment only if
    /// `partial_ok`, Nagle's test). The part sent loses PSH; the rest keeps it
    /// (`tso_fragment`); every packet of several segments carries PSH
    /// (`__tcp_transmit_skb`). `None` if the model does not know the data at `seq`.
    pub(crate) fn next_packet(
        &mut self,
        seq: SeqNum,
        mss: u32,
        quota: u32,
        wnd_end: SeqNum,
        partial_ok: bool,
    ) -> Option<Packet> {
        let mss = mss.max(1);
        let quota = quota.max(1);
        let skbs = self.skbs.queue_mut()?;
        // The head must start at `seq`; drop what was sent already.
        while skbs.front().is_some_and(|h| h.end.le(seq)) {
            skbs.pop_front();
        }
        let head = skbs.front_mut()?;
        if head.start.gt(seq) {
            return None;
        }
        head.start = seq;
        // tcp_grow_skb.
        let want = quota.saturating_mul(mss);
        if skbs.len() > 1 && skbs.front().is_some_and(|h| !h.eor) {
            let head_len = skbs.front().map_or(0, Skb::len);
            if want > head_len {
                let missing = want - head_len;
                let (take, next_psh, next_len) = match skbs.get(1) {
                    Some(n) => (missing.min(n.len()), n.psh, n.len()),
                    None => (0, false, 0),
                };
                if take > 0 {
                    if let Some(h) = skbs.front_mut() {
                        h.end += take;
                    }
                    if take == next_len {
                        if let Some(h) = skbs.front_mut() {
                            h.psh |= next_psh;
                        }
                        skbs.remove(1);
                    } else if let Some(n) = skbs.get_mut(1) {
                        n.start += take;
                    }
                }
            }
        }
        let is_tail = skbs.len() == 1;
        let head = skbs.front_mut()?;
        let len = head.len();
        let window = if wnd_end.gt(head.start) {
            wnd_end.since(head.start)
        } else {
            0
        };
        let segs = len.div_ceil(mss);
        let limit = if segs <= 1 {
            mss
        } else {
            // tcp_mss_split_point.
            let max_len = mss.saturating_mul(quota);
            if max_len <= window && !is_tail {
                max_len
            } else {
                let needed = len.min(window);
                if max_len <= needed {
                    max_len
                } else {
                    let partial = needed % mss;
                    if partial != 0 && !partial_ok {
                        needed - partial
                    } else {
                        needed
                    }
                }
            }
        };
        let sent = len.min(limit.max(1));
        let packet_segs = sent.div_ceil(mss);
        let mark = if sent < len {
            // tso_fragment: the rest keeps the flags.
            head.start += sent;
            false
        } else {
            let mark = head.psh;
            skbs.pop_front();
            mark
        };
        Some(Packet {
            len: sent,
            psh: mark || packet_segs > 1,
            mark,
        })
    }

    /// The new data `[seq, end)` was sent outside the packets this queue cut (e.g. a
    /// window probe): forget it.
    pub(crate) fn on_sent(&mut self, end: SeqNum) {
        while let Some(h) = self.skbs.front_mut() {
            if h.end.le(end) {
                self.skbs.pop_front();
            } else {
                if h.start.lt(end) {
                    h.start = end;
                }
                break;
            }
        }
    }

    /// The end of the record (`MSG_EOR` skb) holding `seq`, if any: no segment crosses
    /// it.
    pub(crate) fn record_end(&self, seq: SeqNum) -> Option<SeqNum> {
        self.skbs
            .range(0..)
            .find(|s| s.end.gt(seq))
            .filter(|s| s.eor && s.start.le(seq))
            .map(|s| s.end)
    }

    /// A plain write's end (tests).
    #[cfg(test)]
    fn end_write_plain(&mut self, write_seq: SeqNum) {
        self.end_write(write_seq, false, false, u32::MAX / 2);
    }

    /// Skbs held (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.skbs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u32) -> SeqNum {
        SeqNum::new(v)
    }

    fn pkt(len: u32, psh: bool) -> Option<Packet> {
        Some(Packet {
            len,
            psh,
            mark: psh,
        })
    }

    #[test]
    fn size_goal_is_half_the_largest_window_in_whole_segments() {
        assert_eq!(WriteQueue::size_goal(1000, 32_896), 16_000);
        assert_eq!(WriteQueue::size_goal(1000, 3968), 1000);
        assert_eq!(WriteQueue::size_goal(1000, 0), 65_000);
    }

    /// A write within one skb: PSH at its end only.
    #[test]
    fn a_short_write_is_one_skb_marked_at_its_end() {
        let mut q = WriteQueue::new(s(1));
        assert_eq!(
            q.write_step(s(1), 3000, 16_000, 16_448, true),
            (3000, Push::None)
        );
        q.end_write_plain(s(3001));
        assert_eq!(
            q.next_packet(s(1), 1000, 1, s(9000), true),
            pkt(1000, false)
        );
        assert_eq!(
            q.next_packet(s(1001), 1000, 1, s(9000), true),
            pkt(1000, false)
        );
        assert_eq!(
            q.next_packet(s(2001), 1000, 1, s(9000), true),
            pkt(1000, true)
        );
        assert_eq!(q.len(), 0);
    }

    /// cubic-rto-ss-ca-cwnd-bump: with 16000-byte skbs and half the window 16448, the first
    /// full skb is sent at once (tcp_push_one); the remainder is filled again and gets the
    /// forced PSH 18000 bytes into the write.
    #[test]
    fn a_long_write_pushes_the_head_and_forces_psh_past_half_a_window() {
        let mut q = WriteQueue::new(s(2001));
        let (n, p) = q.write_step(s(2001), 200_000, 16_000, 16_448, true);
        assert_eq!((n, p), (16_000, Push::One));
        // The push sends one segment after the other (cwnd 2, half of it per packet).
        assert_eq!(
            q.next_packet(s(2001), 1000, 1, s(40_000), true),
            pkt(1000, false)
        );
        assert_eq!(
            q.next_packet(s(3001), 1000, 1, s(40_000), true),
            pkt(1000, false)
        );
        let (n, p) = q.write_step(s(18_001), 184_000, 16_000, 16_448, false);
        assert_eq!((n, p), (2000, Push::All));
        for k in 4..19 {
            assert_eq!(
                q.next_packet(s(k * 1000 + 1), 1000, 1, s(40_000), true),
                pkt(1000, false)
            );
        }
        assert_eq!(
            q.next_packet(s(19_001), 1000, 1, s(40_000), true),
            pkt(1000, true)
        );
    }

    /// receive-window-full: two one-segment skbs marked at 2001 and 4001; with two
    /// segments of quota the head grows over the next skb and the packet carries PSH.
    #[test]
    fn the_head_grows_into_the_next_skb_and_takes_its_mark() {
        let mut q = WriteQueue::new(s(1));
        // One write of 6000 bytes, taken one skb at a time as the caller does.
        for k in 0..6u32 {
            let (n, _) = q.write_step(s(1 + k * 1000), 6000 - k * 1000, 1000, 1500, k == 0);
            assert_eq!(n, 1000);
        }
        q.end_write_plain(s(6001));
        assert_eq!(q.next_packet(s(1), 1000, 2, s(6001), true), pkt(2000, true));
    }

    /// A mark moves with the data when the head grows over part of the next skb: a
    /// one-segment packet cut from the grown head does not carry it.
    #[test]
    fn a_split_keeps_the_mark_for_the_rest() {
        let mut q = WriteQueue::new(s(1));
        q.write_step(s(1), 2000, 2000, 10_000, true);
        q.write_step(s(2001), 2000, 2000, 10_000, false);
        q.end_write_plain(s(4001));
        // Window for one segment at a time, quota 2.
        assert_eq!(
            q.next_packet(s(1), 1000, 2, s(1001), true),
            pkt(1000, false)
        );
        assert_eq!(
            q.next_packet(s(1001), 1000, 2, s(2001), true),
            pkt(1000, false)
        );
        assert_eq!(
            q.next_packet(s(2001), 1000, 2, s(3001), true),
            pkt(1000, false)
        );
        assert_eq!(
            q.next_packet(s(3001), 1000, 2, s(4001), true),
            pkt(1000, true)
        );
    }

    #[test]
    fn appending_to_a_marked_skb_clears_its_mark() {
        let mut q = WriteQueue::new(s(1));
        q.write_step(s(1), 500, 16_000, 16_448, true);
        q.end_write_plain(s(501));
        q.write_step(s(501), 500, 16_000, 16_448, true);
        assert_eq!(
            q.next_packet(s(1), 1000, 1, s(9000), true),
            pkt(1000, false)
        );
        let mut q = WriteQueue::new(s(1));
        q.write_step(s(1), 500, 16_000, 16_448, true);
        q.end_write_plain(s(501));
        q.write_step(s(501), 500, 16_000, 16_448, true);
        q.end_write_plain(s(1001));
        assert_eq!(q.next_packet(s(1), 1000, 1, s(9000), true), pkt(1000, true));
    }
}
