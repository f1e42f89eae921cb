//! A send buffer the application sized (`SO_SNDBUF` on Linux), counted as Linux counts
//! it: memory, not payload.
//!
//! Linux limits a socket's send queue by `sk_wmem_queued`, the `truesize` of every skb
//! queued or in flight: each skb costs its payload plus a fixed overhead (the `sk_buff`,
//! its shared info and the header room of `tcp_stream_alloc_skb`). A partly acknowledged
//! skb gives back only the payload trimmed from it (`tcp_trim_head`); its overhead goes
//! when it is acknowledged in full. `tcp_sendmsg_locked` checks the limit only when it
//! needs a new skb (`sk_stream_memory_free`: `sk_wmem_queued < sk_sndbuf`), so a write
//! may fill the tail skb past it. A blocked writer is woken when the free space is at
//! least half of what is queued (`sk_stream_write_space`, `__sk_stream_is_writeable`:
//! `sk_sndbuf - sk_wmem_queued >= sk_wmem_queued / 2`).
//!
//! The skbs are those of the write queue model (`write_queue`, unsent data) plus one per
//! packet sent and not yet acknowledged in full (`tso_fragment` makes each transmitted
//! TSO packet an skb of its own). Retransmissions that split or merge skbs are not
//! modelled.

use alloc::collections::VecDeque;

use crate::seq::SeqNum;

/// Bytes each skb costs beyond its payload: `sk_wmem_queued` grows by 832 bytes for each
/// new skb on Linux 6.18/x86-64 (read with `ss -m` after writes that start new skbs).
pub(crate) const SKB_OVERHEAD: u32 = 832;

/// The packets in flight and the limit (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendMemory {
    /// `sk_sndbuf`.
    limit: u32,
    /// The end of each packet sent with new data and not yet acknowledged in full, in
    /// sending order.
    in_flight: VecDeque<SeqNum>,
}

impl SendMemory {
    /// A limit of `limit` bytes; `unacked` is `[SND.UNA, SND.MAX)` now, counted as one
    /// skb if not empty (what was sent before the limit was set is not known packet by
    /// packet).
    pub(crate) fn new(limit: u32, snd_una: SeqNum, snd_max: SeqNum) -> Self {
        let mut in_flight = VecDeque::new();
        if snd_max.gt(snd_una) {
            in_flight.push_back(snd_max);
        }
        SendMemory { limit, in_flight }
    }

    /// `sk_sndbuf`.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// A packet of new data ending at `end` was sent.
    pub(crate) fn on_sent(&mut self, end: SeqNum) {
        if self.in_flight.back().is_none_or(|&b| end.gt(b)) {
            self.in_flight.push_back(end);
        }
    }

    /// SND.UNA advanced to `snd_una`: packets acknowledged in full are freed.
    pub(crate) fn on_ack(&mut self, snd_una: SeqNum) {
        while self.in_flight.front().is_some_and(|&e| e.le(snd_una)) {
            self.in_flight.pop_front();
        }
    }

    /// `sk_wmem_queued`: `payload` bytes queued (unacknowledged and unsent) in
    /// `unsent_skbs` unsent skbs plus the packets in flight.
    pub(crate) fn queued(&self, payload: u32, unsent_skbs: usize) -> u32 {
        let skbs = u32::try_from(self.in_flight.len() + unsent_skbs).unwrap_or(u32::MAX);
        payload.saturating_add(skbs.saturating_mul(SKB_OVERHEAD))
    }

    /// `sk_stream_memory_free`: a new skb may be started.
    pub(crate) fn may_grow(&self, queued: u32) -> bool {
        queued < self.limit
    }

    /// `__sk_stream_is_writeable`: the free space is at least half of what is queued.
    pub(crate) fn is_writeable(&self, queued: u32) -> bool {
        self.limit.saturating_sub(queued) >= queued / 2 && queued < self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNum {
        SeqNum::new(n)
    }

    /// The numbers `ss -m` shows on Linux for 60000 bytes in four skbs with
    /// `SO_SNDBUF` 21000 (sk_sndbuf 42000), after ACKs of 10001, 30001, 35001 and 36001,
    /// with the packets Linux sent in between.
    #[test]
    fn queued_memory_follows_linuxs_wmem_queued() {
        let mut m = SendMemory::new(42_000, s(1), s(1));
        m.on_sent(s(5001));
        m.on_sent(s(10_001));
        // Unsent: 10001:35001 and 35001:60001.
        assert_eq!(m.queued(60_000, 2), 63_328);
        assert!(!m.may_grow(63_328));
        m.on_ack(s(10_001));
        m.on_sent(s(20_001));
        m.on_sent(s(30_001));
        // 10001:35001 was cut at 30001 when sent: 30001:35001 stays unsent.
        assert_eq!(m.queued(50_000, 2), 53_328);
        m.on_ack(s(30_001));
        m.on_sent(s(40_001));
        m.on_sent(s(50_001));
        m.on_sent(s(60_001));
        assert_eq!(m.queued(30_000, 0), 32_496);
        assert!(!m.is_writeable(32_496));
        m.on_ack(s(35_001));
        assert_eq!(m.queued(25_000, 0), 27_496);
        assert!(m.is_writeable(27_496), "14504 free >= 13748");
        m.on_ack(s(34_001));
        assert_eq!(m.queued(25_000, 0), 27_496, "an old ACK frees nothing");
    }

    #[test]
    fn writeable_needs_free_space_of_half_what_is_queued() {
        let m = SendMemory::new(42_000, s(0), s(0));
        assert!(m.is_writeable(28_000));
        assert!(!m.is_writeable(28_001));
        assert!(m.may_grow(41_999));
        assert!(!m.may_grow(42_000));
    }
}
