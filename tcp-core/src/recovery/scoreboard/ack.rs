//! ACK processing on the scoreboard (RFC 6675 §5, RFC 2018, RFC 2883): the cumulative
//! ACK moves SND.UNA, then each SACK block, under Linux's rules for which blocks count
//! (see the parent module's docs): D-SACK detection and belief, block validity, merging
//! into the SACKed intervals and crediting whole segments.

use super::{
    AckUpdate, Delivered, Dsack, MAX_REORDERING, MAX_SACK_BLOCKS, SackBlock, Scoreboard, clamp32,
    first_in,
};
use crate::seq::SeqNum;
use alloc::vec::Vec;

impl Scoreboard {
    /// Processes an ACK: the cumulative acknowledgment `ack` (RFC 6675 §5 HighACK) and its
    /// SACK blocks in the order received, under Linux's rules for which blocks count (see
    /// the module docs). Calls `on_delivered` for every segment newly ACKed or SACKed in
    /// full (for RACK, RFC 8985 §6.2). ACKs below SND.UNA or above SND.MAX do not move
    /// SND.UNA, but their SACK blocks are still considered.
    pub fn on_ack(
        &mut self,
        ack: SeqNum,
        blocks: &[SackBlock],
        mut on_delivered: impl FnMut(&Delivered),
    ) -> AckUpdate {
        let mut up = AckUpdate::default();
        // Losses from here on are this ACK's (the rate sample's `newly_lost`).
        self.lost_at_ack = self.rate.lost();
        let blocks = blocks.get(..MAX_SACK_BLOCKS).unwrap_or(blocks);
        let prior_una = self.una_abs;
        // Reordering (Linux's tcp_check_sack_reordering): a segment never retransmitted
        // that arrives below the highest one SACKed before.
        let prior_fack = self.sacked.last_key_value().map(|(_, &e)| Self::seq(e));
        let mut low: Option<SeqNum> = None;
        let mut on_delivered = |d: &Delivered| {
            if !d.retransmitted && low.is_none_or(|l| d.start.lt(l)) {
                low = Some(d.start);
            }
            on_delivered(d);
        };
        let new_una = self
            .abs(ack)
            .filter(|&a| a > self.una_abs && a <= self.max_abs);
        // The D-SACK test runs before the cumulative ACK frees the segments it covers, as
        // Linux tags SACKs before it cleans the retransmission queue.
        let dsack = self.check_dsack(ack, blocks, new_una.unwrap_or(prior_una));
        up.dubious_dsack = dsack.is_none() && Self::dsack_shaped(ack, blocks);
        up.dsack = dsack;
        if let Some(a) = new_una {
            up.acked_bytes = clamp32(a - self.una_abs);
            self.advance_una(a, ack, &mut on_delivered);
        }
        for (i, b) in blocks.iter().enumerate() {
            let dup = i == 0 && dsack.is_some();
            let Some((s, e)) = self.valid_block(b, dup) else {
                // Blocks of an old (reordered) ACK that lie below SND.UNA are not counted
                // (Linux: "Don't count olds caused by ACK reordering").
                let old = ack != self.una && self.abs(b.end).is_some_and(|e| e <= self.una_abs);
                if !old {
                    up.ignored_blocks = up.ignored_blocks.saturating_add(1);
                }
                continue;
            };
            if e <= self.una_abs {
                // A D-SACK for data acknowledged already: nothing to mark.
                continue;
            }
            self.apply_block(s, e, &mut up, &mut on_delivered);
        }
        if let (Some(low), Some(fack)) = (low, prior_fack)
            && low.lt(fack)
        {
            let metric = fack.since(low);
            if metric > self.reordering.saturating_mul(self.smss) {
                self.reordering = metric.div_ceil(self.smss).min(MAX_REORDERING);
            }
            self.reord_seen = self.reord_seen.saturating_add(1);
        }
        up
    }

    /// The reordering degree seen, in segments (Linux's `tp->reordering`, starting at 3).
    pub fn reordering(&self) -> u32 {
        self.reordering
    }

    /// How many times reordering was seen (Linux's `tcpi_reord_seen`).
    pub fn reord_seen(&self) -> u32 {
        self.reord_seen
    }

    /// The shape of a D-SACK (RFC 2883 §4, Linux's `tcp_check_dsack`): the first block
    /// starts below the ACK, or lies within the second block.
    fn dsack_shaped(ack: SeqNum, blocks: &[SackBlock]) -> bool {
        let Some(b0) = blocks.first() else {
            return false;
        };
        if b0.start.lt(ack) {
            return true;
        }
        blocks
            .get(1)
            .is_some_and(|b1| !b0.end.gt(b1.end) && !b0.start.lt(b1.start))
    }

    /// Linux's `tcp_check_dsack` with `tcp_dsack_seen`: the first block is a D-SACK if it
    /// has the shape of one and is believable — not empty, no longer than the largest
    /// flight, and the duplicates reported by all D-SACK-shaped blocks so far (this one
    /// included) do not outnumber the segments ever retransmitted. `una` is SND.UNA after
    /// this ACK; the segments from the old SND.UNA on are still on the scoreboard.
    fn check_dsack(&mut self, ack: SeqNum, blocks: &[SackBlock], una: u64) -> Option<Dsack> {
        if !Self::dsack_shaped(ack, blocks) {
            return None;
        }
        let b0 = *blocks.first()?;
        if !b0.start.lt(b0.end) {
            return None;
        }
        let len = u64::from(b0.end.since(b0.start));
        if len > self.max_flight {
            return None;
        }
        let segs = len.div_ceil(u64::from(self.smss)).max(1);
        self.dsack_dups = self.dsack_dups.saturating_add(segs);
        if self.dsack_dups > self.total_retrans {
            return None;
        }
        let (s, e) = (self.abs(b0.start), self.abs(b0.end));
        let forgotten = e.is_some_and(|e| e <= self.una_abs);
        // Only a valid D-SACK is looked at (Linux walks the queue only for valid blocks):
        // above the new SND.UNA, or wholly at or below it.
        let valid = match (s, e) {
            (Some(s), Some(e)) => s < e && e <= self.max_abs && (s > una || e <= una),
            _ => false,
        };
        let retransmitted = match (s, e) {
            (Some(s), Some(e)) if valid && !forgotten => {
                self.count_retransmitted(s.max(self.una_abs), e, segs)
            }
            _ => 0,
        };
        Some(Dsack {
            block: b0,
            segs: clamp32(segs),
            retransmitted,
            forgotten,
        })
    }

    /// Segments wholly inside `[s, e)` that were retransmitted, looking at no more than
    /// `segs + 2` records (a D-SACK reports `segs` segments; each believed D-SACK is paid
    /// for by a retransmission, so the cost is amortised O(log n) per retransmission).
    fn count_retransmitted(&mut self, s: u64, e: u64, segs: u64) -> u32 {
        let mut cursor = self
            .segs
            .at_or_before(s)
            .filter(|(_, g)| g.end > s)
            .map_or(s, |(k, _)| *k);
        let mut n = 0u32;
        let mut budget = segs.saturating_add(2);
        while let Some((&k, g)) = self.segs.first_in(cursor, e) {
            self.ops = self.ops.wrapping_add(1);
            if budget == 0 {
                break;
            }
            budget -= 1;
            cursor = g.end;
            if k >= s && g.end <= e && g.retransmitted {
                n = n.saturating_add(1);
            }
        }
        n
    }

    /// Linux's `tcp_is_sackblock_valid`: the block's offsets if it is neither inverted nor
    /// empty, ends at or before SND.MAX, and starts above SND.UNA — or, for a D-SACK
    /// (`dup`), lies wholly at or below SND.UNA.
    fn valid_block(&self, b: &SackBlock, dup: bool) -> Option<(u64, u64)> {
        let (s, e) = (self.abs(b.start)?, self.abs(b.end)?);
        if e <= s || e > self.max_abs {
            return None;
        }
        if s > self.una_abs || (dup && e <= self.una_abs) {
            return Some((s, e));
        }
        None
    }

    fn advance_una(&mut self, a: u64, ack: SeqNum, on_delivered: &mut impl FnMut(&Delivered)) {
        // Segments wholly or partly below the new SND.UNA.
        while let Some((&k, &g)) = self.segs.first_key_value() {
            if k >= a {
                break;
            }
            self.detach(k, &g);
            self.segs.remove(&k);
            if g.end <= a {
                if !g.sacked {
                    self.rate
                        .on_delivered(g.tx, g.xmit_ts, g.xmit_order, g.end - k);
                    on_delivered(&Delivered {
                        start: Self::seq(k),
                        end: Self::seq(g.end),
                        xmit_ts: g.xmit_ts,
                        xmit_order: g.xmit_order,
                        retransmitted: g.retransmitted,
                        sacked: false,
                    });
                }
            } else {
                // Partly acknowledged: keep the rest.
                self.attach(a, &g);
                self.segs.insert(a, g);
                break;
            }
        }
        // SACKed intervals below the new SND.UNA.
        while let Some((&s, &e)) = self.sacked.first_key_value() {
            if s >= a {
                break;
            }
            self.ops = self.ops.wrapping_add(1);
            self.sacked.remove(&s);
            self.interval_bytes = self.interval_bytes.saturating_sub(e - s);
            if e > a {
                self.sacked.insert(a, e);
                self.interval_bytes = self.interval_bytes.saturating_add(e - a);
                break;
            }
        }
        self.una_abs = a;
        self.una = ack;
        self.high_rxt = self.high_rxt.max(a);
        self.lost_scan = self.lost_scan.max(a);
    }

    /// Merges the valid block `[s, e)` (`una < e <= max`) into the SACKed intervals and
    /// credits the segments it completes.
    fn apply_block(
        &mut self,
        s: u64,
        e: u64,
        up: &mut AckUpdate,
        on_delivered: &mut impl FnMut(&Delivered),
    ) {
        let s = s.max(self.una_abs);
        if e <= s {
            return;
        }

        // The interval starting at or before s that reaches s (overlapping or touching).
        let prev = self
            .sacked
            .range(..=s)
            .next_back()
            .map(|(&a, &b)| (a, b))
            .filter(|&(_, pe)| pe >= s);
        self.ops = self.ops.wrapping_add(1);
        if let Some((_, pe)) = prev
            && pe >= e
        {
            // Already SACKed in full: nothing new, O(log n).
            return;
        }
        let touches_next = first_in(&self.sacked, s, e.saturating_add(1)).is_some();
        if prev.is_none() && !touches_next && self.sacked.len() >= self.max_intervals {
            up.refused_blocks = up.refused_blocks.saturating_add(1);
            return;
        }
        // Absorb every interval overlapping or touching [s, e], noting the new gaps.
        let mut lo = s;
        let mut hi = e;
        let mut cursor = s;
        if let Some((ps, pe)) = prev {
            self.sacked.remove(&ps);
            self.interval_bytes = self.interval_bytes.saturating_sub(pe - ps);
            lo = ps;
            cursor = pe;
        }
        let mut gaps: Vec<(u64, u64)> = Vec::new();
        while let Some((a, b)) =
            first_in(&self.sacked, cursor, e.saturating_add(1)).map(|(&a, &b)| (a, b))
        {
            self.ops = self.ops.wrapping_add(1);
            if a > cursor {
                gaps.push((cursor, a));
            }
            self.sacked.remove(&a);
            self.interval_bytes = self.interval_bytes.saturating_sub(b - a);
            hi = hi.max(b);
            cursor = b;
        }
        if cursor < e {
            gaps.push((cursor, e));
        }
        self.sacked.insert(lo, hi);
        self.interval_bytes = self.interval_bytes.saturating_add(hi - lo);
        for (g0, g1) in gaps {
            self.credit(g0, g1, lo, hi, up, on_delivered);
        }
    }

    /// The octets `[from, to)` became SACKed and the merged interval is `[lo, hi)`: marks
    /// SACKed every segment overlapping `[from, to)` that lies wholly within `[lo, hi)`.
    /// Costs O(log n) per segment visited: at most the two at the edges plus those newly
    /// SACKed.
    fn credit(
        &mut self,
        from: u64,
        to: u64,
        lo: u64,
        hi: u64,
        up: &mut AckUpdate,
        on_delivered: &mut impl FnMut(&Delivered),
    ) {
        let mut cursor = self
            .segs
            .at_or_before(from)
            .filter(|(_, g)| g.end > from)
            .map_or(from, |(k, _)| *k);
        while let Some((&k, &g)) = self.segs.first_in(cursor, to) {
            self.ops = self.ops.wrapping_add(1);
            cursor = g.end;
            if g.sacked || k < lo || g.end > hi {
                continue;
            }
            self.update_seg(k, |g| {
                g.sacked = true;
                g.rtx_in_flight = false;
            });
            up.sacked_bytes = up.sacked_bytes.saturating_add(clamp32(g.end - k));
            self.rate
                .on_delivered(g.tx, g.xmit_ts, g.xmit_order, g.end - k);
            on_delivered(&Delivered {
                start: Self::seq(k),
                end: Self::seq(g.end),
                xmit_ts: g.xmit_ts,
                xmit_order: g.xmit_order,
                retransmitted: g.retransmitted,
                sacked: true,
            });
        }
    }
}
