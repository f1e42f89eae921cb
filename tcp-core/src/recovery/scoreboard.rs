//! The SACK sender's scoreboard (RFC 6675 §3–§5), with DSACK detection (RFC 2883 §4) and
//! the per-segment transmit times RACK needs (RFC 8985 §6.1).
//!
//! # Which blocks count
//!
//! As Linux's `tcp_sacktag_write_queue`: the first block is a D-SACK if it has a D-SACK's
//! shape (RFC 2883 §4: it starts below the cumulative ACK, or lies within the second block;
//! `tcp_check_dsack`) *and* is believable (`tcp_dsack_seen`: not empty, no longer than the
//! largest flight, and no more duplicates reported over the connection's life than
//! segments were ever retransmitted); a dubious one is read as an ordinary block. Every
//! block must then be valid (`tcp_is_sackblock_valid`): not inverted or empty, not beyond
//! SND.MAX, and starting above SND.UNA — only a D-SACK may lie below SND.UNA, and then
//! wholly. Invalid blocks are ignored and counted ([`AckUpdate::ignored_blocks`]): they
//! mark nothing SACKed, so they are neither loss evidence nor duplicate-ACK evidence. A
//! D-SACK above SND.UNA is used as SACK information too, and reports how many of the
//! segments it covers had been retransmitted ([`Dsack::retransmitted`]), which is all an
//! undo may count (`tcp_sacktag_one`'s `TCPCB_RETRANS` test).
//!
//! # Structure
//!
//! Sequence numbers are unwrapped to 64-bit stream offsets relative to SND.UNA, so every
//! structure is an ordered map with O(log n) operations:
//!
//! - `segs`: one record per transmitted segment (the boundaries the sender used), with its
//!   last transmit time and SACKed / lost / retransmitted flags. Records are created only
//!   by [`Scoreboard::on_transmit`] — never by the peer — so their number is bounded by
//!   what the sender sent: once `max_segments` records exist, new data is coalesced into
//!   the last record, so there are never more than `max_segments`. Coalescing keeps the
//!   later transmit time, which only makes RACK slower to declare those bytes lost, and a
//!   coalesced SACKed record loses its credit until all of it is SACKed (conservative).
//! - `sacked`: the SACKed byte ranges as disjoint, non-adjacent intervals inside
//!   [SND.UNA, SND.MAX). A block is merged with every interval it overlaps or touches.
//!   **Cap policy:** when `max_intervals` intervals exist and a block would create a new,
//!   separate interval, the block is *refused* (ignored and counted in
//!   [`AckUpdate::refused_blocks`]). Refusing is safe: SACK information is advisory
//!   (RFC 2018 §8), so a refused block only delays recovery of the data it covers until
//!   a later ACK or the RTO; merging instead would claim unSACKed bytes as delivered.
//! - `tsorted`: segments awaiting an ACK ordered by (transmit time, transmit order, start),
//!   for RACK's loss scan (RFC 8985 §6.2 step 5) in O(log n) per segment marked lost. The
//!   transmit order is a counter the scoreboard advances for every record it sends, in
//!   sequence order within one transmission: RFC 8985 §6.2 breaks ties between equal
//!   send times by sequence number (`RACK_sent_after`), which misorders a retransmission
//!   sent at the same instant as a higher segment; the counter orders them as sent. The
//!   pieces of a record split by a partial retransmission share its order.
//! - `lost_queue`: segments marked lost and not yet retransmitted, for `NextSeg()` rule 1.
//!
//! A segment counts as SACKed only when SACK blocks cover all of it: blocks that split a
//! segment are remembered in `sacked` but give the segment no credit until the rest of it
//! is SACKed too (RFC 6675 §3 tracks SACKed octets; crediting only whole segments is the
//! conservative reading, and no hostile block can split a record).
//!
//! # Cost per ACK
//!
//! Each SACK block costs O(log n) plus amortised O(1) per interval it absorbs and per
//! segment it newly SACKs (each interval is created once and each segment is SACKed once).
//! Only the parts of a block that were not already SACKed are examined, so repeated or
//! overlapping blocks cost O(log n). At most [`MAX_SACK_BLOCKS`] blocks are read per ACK.
//! [`Scoreboard::ops`] counts the elementary steps for tests that bound the cost by
//! counting.

use super::seglist::SegList;
use crate::seq::SeqNum;
use crate::time::Instant;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

/// The most SACK blocks one ACK can carry in the 40 bytes of TCP option space (RFC 2018
/// §3); further blocks in the slice are ignored.
pub const MAX_SACK_BLOCKS: usize = 4;

/// One SACK block `[start, end)` as received (RFC 2018 §3: left edge, right edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SackBlock {
    /// The first sequence number of the block (left edge).
    pub start: SeqNum,
    /// The sequence number just past the block (right edge).
    pub end: SeqNum,
}

impl SackBlock {
    /// A block `[start, end)`.
    pub fn new(start: SeqNum, end: SeqNum) -> Self {
        SackBlock { start, end }
    }
}

/// A segment newly delivered (cumulatively ACKed or SACKed) by an ACK, as RACK needs it
/// (RFC 8985 §6.2 steps 2–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// First sequence number of the segment.
    pub start: SeqNum,
    /// Sequence number just past the segment (`S.end_seq`).
    pub end: SeqNum,
    /// Its last transmit time (`S.xmit_ts`).
    pub xmit_ts: Instant,
    /// Its last transmission's place in the order of transmissions (see the module docs):
    /// breaks ties between equal `xmit_ts`.
    pub xmit_order: u64,
    /// It was retransmitted at least once (`S.retransmitted`).
    pub retransmitted: bool,
    /// Delivered by a SACK block (rather than the cumulative ACK).
    pub sacked: bool,
}

/// A D-SACK the scoreboard believed (RFC 2883 §4; Linux's `tcp_check_dsack` and
/// `tcp_dsack_seen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dsack {
    /// The block as received.
    pub block: SackBlock,
    /// Duplicate segments it reports: its length in SMSS, rounded up, at least one
    /// (Linux's `dup_segs`).
    pub segs: u32,
    /// Segments it covers that had been retransmitted, among those still on the
    /// scoreboard before this ACK (SND.UNA as it was, and above): the retransmissions it
    /// proves unnecessary.
    pub retransmitted: u32,
    /// It lies at or below SND.UNA as it was before this ACK: the data was acknowledged and
    /// forgotten, so whether it was retransmitted cannot be checked (Linux counts `segs`
    /// then, its "dumb counting" in `tcp_check_dsack`).
    pub forgotten: bool,
}

/// What an ACK changed on the scoreboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AckUpdate {
    /// Bytes newly acknowledged cumulatively (SND.UNA advance).
    pub acked_bytes: u32,
    /// Bytes of segments newly SACKed in full.
    pub sacked_bytes: u32,
    /// A duplicate SACK (RFC 2883 §4) under Linux's rules (see the module docs). It
    /// reports data received twice; above SND.UNA it is also used as SACK information.
    pub dsack: Option<Dsack>,
    /// The first block had a D-SACK's shape but was not believed (Linux's
    /// `TCPDSACKIgnoredDubious`); it was then read as an ordinary block.
    pub dubious_dsack: bool,
    /// Blocks ignored as invalid: empty, inverted, beyond SND.MAX, or not above SND.UNA
    /// without being a D-SACK wholly below it (RFC 6675 §5, Linux's
    /// `tcp_is_sackblock_valid`). Blocks wholly below SND.UNA on an ACK older than SND.UNA
    /// (reordered ACKs) are ignored without being counted, as Linux does.
    pub ignored_blocks: u8,
    /// Blocks refused because the interval cap was reached (see the module docs).
    pub refused_blocks: u8,
}

/// `sysctl_tcp_max_reordering`.
const MAX_REORDERING: u32 = 300;

/// Why [`Scoreboard::next_seg`] chose a segment (RFC 6675 §4 `NextSeg()` rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextSegKind {
    /// Rule 1: the lowest lost (IsLost / RACK-marked) segment not yet retransmitted.
    Lost,
    /// Rule 2: new data at HighData (the caller decides if it has any and may send).
    NewData,
    /// Rule 3: the lowest unSACKed segment above HighRxt below the highest SACKed octet.
    Unsacked,
    /// Rule 4: the rescue retransmission of the highest outstanding unSACKed segment.
    Rescue,
}

/// The segment `NextSeg()` picked: `[start, end)`; for [`NextSegKind::NewData`] `start`
/// is HighData and `end == start` (the caller sizes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextSeg {
    /// First sequence number to send.
    pub start: SeqNum,
    /// Sequence number just past the range to send.
    pub end: SeqNum,
    /// Which rule applied.
    pub kind: NextSegKind,
}

/// One transmitted segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    /// Offset just past the segment.
    end: u64,
    /// Last (re)transmission time.
    xmit_ts: Instant,
    /// Last (re)transmission's place in the transmit order.
    xmit_order: u64,
    sacked: bool,
    /// Marked lost (RFC 6675 IsLost or RACK).
    lost: bool,
    /// Retransmitted at least once.
    retransmitted: bool,
    /// A retransmission is in flight (counts in pipe, RFC 6675 SetPipe (b)).
    rtx_in_flight: bool,
    /// The segment ended a unit of transmission (a Linux skb: a TSO unit or the end of a
    /// write); a retransmission does not run past it.
    unit_end: bool,
    /// The packet it ended carried the PSH mark of the data (not only the PSH every
    /// multi-segment packet gets): a retransmission of it carries PSH again.
    psh_mark: bool,
}

impl Seg {
    fn awaiting(&self) -> bool {
        !self.sacked && (!self.lost || self.rtx_in_flight)
    }
    fn needs_rtx(&self) -> bool {
        !self.sacked && self.lost && !self.rtx_in_flight
    }
}

/// The RFC 6675 scoreboard. See the module documentation for the structure and bounds.
#[derive(Clone, Debug)]
pub struct Scoreboard {
    una: SeqNum,
    /// SND.UNA as a 64-bit offset; its low 32 bits equal `una`.
    una_abs: u64,
    /// SND.MAX (HighData + 1) as an offset.
    max_abs: u64,
    segs: SegList<Seg>,
    sacked: BTreeMap<u64, u64>,
    tsorted: BTreeSet<(Instant, u64, u64)>,
    /// The transmit order the next record sent gets.
    next_order: u64,
    lost_queue: BTreeSet<u64>,
    max_intervals: usize,
    max_segments: usize,
    dup_thresh: u32,
    smss: u32,
    /// HighRxt (RFC 6675 §2): the highest retransmitted offset (exclusive end).
    high_rxt: u64,
    /// RescueRxt (RFC 6675 §2).
    rescue_rxt: Option<u64>,
    /// RecoveryPoint (RFC 6675 §2), during recovery.
    recovery_point: Option<u64>,
    /// The largest SND.MAX − SND.UNA seen: the longest believable D-SACK (Linux bounds it
    /// by the largest window the peer offered, which bounded every flight).
    max_flight: u64,
    /// Segments retransmitted over the connection's life (Linux's `total_retrans`).
    total_retrans: u64,
    /// Duplicate segments reported by D-SACK-shaped blocks (Linux's `dsack_dups`).
    dsack_dups: u64,
    /// Segments below this offset were already examined by the IsLost marking.
    lost_scan: u64,
    // Counters (bytes) over the records in `segs`.
    seg_sacked_bytes: u64,
    sacked_segs: u32,
    lost_bytes: u64,
    rtx_bytes: u64,
    /// Octets in `sacked` intervals.
    interval_bytes: u64,
    ops: u64,
    /// Reordering degree in segments (`tcp_reordering` 3 at first).
    reordering: u32,
    reord_seen: u32,
}

impl Scoreboard {
    /// An empty scoreboard with SND.UNA = SND.MAX = `snd_una`. `smss` sizes the IsLost
    /// byte rule; `max_intervals` caps SACKed intervals and `max_segments` segment records
    /// (both at least 1); DupThresh is 3 (RFC 6675 §2).
    pub fn new(snd_una: SeqNum, smss: u32, max_intervals: usize, max_segments: usize) -> Self {
        let una_abs = u64::from(snd_una.get());
        Scoreboard {
            una: snd_una,
            una_abs,
            max_abs: una_abs,
            segs: SegList::new(),
            sacked: BTreeMap::new(),
            tsorted: BTreeSet::new(),
            next_order: 0,
            lost_queue: BTreeSet::new(),
            max_intervals: max_intervals.max(1),
            max_segments: max_segments.max(1),
            dup_thresh: 3,
            smss: smss.max(1),
            high_rxt: una_abs,
            rescue_rxt: None,
            recovery_point: None,
            lost_scan: una_abs,
            max_flight: 0,
            total_retrans: 0,
            dsack_dups: 0,
            seg_sacked_bytes: 0,
            sacked_segs: 0,
            lost_bytes: 0,
            rtx_bytes: 0,
            interval_bytes: 0,
            ops: 0,
            reordering: 3,
            reord_seen: 0,
        }
    }

    /// Sets DupThresh (RFC 6675 §2; default 3, at least 1).
    pub fn set_dup_thresh(&mut self, dup_thresh: u32) {
        self.dup_thresh = dup_thresh.max(1);
    }

    /// Sets SMSS (after path MTU changes).
    pub fn set_smss(&mut self, smss: u32) {
        self.smss = smss.max(1);
    }

    fn seq(abs: u64) -> SeqNum {
        SeqNum::new(abs as u32)
    }

    /// The offset of `s`, if it is not before SND.UNA by more than the offset origin.
    fn abs(&self, s: SeqNum) -> Option<u64> {
        let d = i64::from(s.diff(self.una));
        let a = i128::from(self.una_abs) + i128::from(d);
        u64::try_from(a).ok()
    }

    /// HighACK (RFC 6675 §2): SND.UNA.
    pub fn high_ack(&self) -> SeqNum {
        self.una
    }

    /// HighData + 1 (RFC 6675 §2): SND.MAX, the end of the highest data sent.
    pub fn high_data(&self) -> SeqNum {
        Self::seq(self.max_abs)
    }

    /// HighRxt (RFC 6675 §2): the end of the highest retransmitted range.
    pub fn high_rxt(&self) -> SeqNum {
        Self::seq(self.high_rxt)
    }

    /// RescueRxt (RFC 6675 §2), if a rescue retransmission was sent this recovery.
    pub fn rescue_rxt(&self) -> Option<SeqNum> {
        self.rescue_rxt.map(Self::seq)
    }

    /// Octets SACKed above SND.UNA (the union of accepted SACK blocks).
    pub fn sacked_bytes(&self) -> u32 {
        clamp32(self.interval_bytes)
    }

    /// Segments fully SACKed (RACK's `segs_sacked`, RFC 8985 §6.2 step 4).
    pub fn sacked_segments(&self) -> u32 {
        self.sacked_segs
    }

    /// Bytes outstanding: SND.MAX − SND.UNA (FlightSize, RFC 5681 §2).
    pub fn outstanding(&self) -> u32 {
        clamp32(self.max_abs - self.una_abs)
    }

    /// Bytes in segments marked lost and not SACKed.
    pub fn lost_bytes(&self) -> u32 {
        clamp32(self.lost_bytes)
    }

    /// Bytes of retransmissions in flight (RFC 6675 SetPipe (b)).
    pub fn retrans_bytes(&self) -> u32 {
        clamp32(self.rtx_bytes)
    }

    /// Number of SACKed intervals held (at most the cap).
    pub fn interval_count(&self) -> usize {
        self.sacked.len()
    }

    /// Number of segment records held (at most `max_segments`).
    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }

    /// Elementary map operations performed so far (for cost bounds in tests).
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// The pipe estimate (RFC 6675 §4 `SetPipe()`): for every unSACKed octet, one if it is
    /// not lost and one more if it was retransmitted (and that retransmission is not
    /// itself deemed lost). Kept incrementally: outstanding − SACKed − lost + retransmitted.
    pub fn pipe(&self) -> u32 {
        let out = self.max_abs - self.una_abs;
        clamp32(
            out.saturating_sub(self.seg_sacked_bytes)
                .saturating_sub(self.lost_bytes)
                .saturating_add(self.rtx_bytes),
        )
    }

    fn detach(&mut self, start: u64, s: &Seg) {
        self.ops = self.ops.wrapping_add(1);
        let len = s.end - start;
        if s.sacked {
            self.seg_sacked_bytes = self.seg_sacked_bytes.saturating_sub(len);
            self.sacked_segs = self.sacked_segs.saturating_sub(1);
        } else {
            if s.lost {
                self.lost_bytes = self.lost_bytes.saturating_sub(len);
            }
            if s.rtx_in_flight {
                self.rtx_bytes = self.rtx_bytes.saturating_sub(len);
            }
        }
        if s.awaiting() {
            self.tsorted.remove(&(s.xmit_ts, s.xmit_order, start));
        }
        if s.needs_rtx() {
            self.lost_queue.remove(&start);
        }
    }

    fn attach(&mut self, start: u64, s: &Seg) {
        self.ops = self.ops.wrapping_add(1);
        let len = s.end - start;
        if s.sacked {
            self.seg_sacked_bytes = self.seg_sacked_bytes.saturating_add(len);
            self.sacked_segs = self.sacked_segs.saturating_add(1);
        } else {
            if s.lost {
                self.lost_bytes = self.lost_bytes.saturating_add(len);
            }
            if s.rtx_in_flight {
                self.rtx_bytes = self.rtx_bytes.saturating_add(len);
            }
        }
        if s.awaiting() {
            self.tsorted.insert((s.xmit_ts, s.xmit_order, start));
        }
        if s.needs_rtx() {
            self.lost_queue.insert(start);
        }
    }

    /// Applies `f` to the segment at `start` with all indexes kept consistent.
    fn update_seg(&mut self, start: u64, f: impl FnOnce(&mut Seg)) -> Option<Seg> {
        let old = *self.segs.get(&start)?;
        self.detach(start, &old);
        let mut new = old;
        f(&mut new);
        self.attach(start, &new);
        self.segs.insert(start, new);
        Some(new)
    }

    /// Records a transmission of `[start, end)` at `now` (RFC 8985 §6.1 `S.xmit_ts`).
    /// Data at or beyond SND.MAX is new (RFC 6675 HighData advances); data below it is a
    /// retransmission of every segment it overlaps (marked retransmitted and in flight,
    /// HighRxt advanced; use [`Scoreboard::on_rescue_retransmit`] for rule 4). Ranges
    /// outside the window, or new data not starting at SND.MAX, are ignored.
    pub fn on_transmit(&mut self, start: SeqNum, end: SeqNum, now: Instant) {
        self.transmit(start, end, now, false);
    }

    /// Records the rescue retransmission (RFC 6675 §4 `NextSeg()` rule 4): like a
    /// retransmission, but RescueRxt = RecoveryPoint and HighRxt is not updated.
    pub fn on_rescue_retransmit(&mut self, start: SeqNum, end: SeqNum, now: Instant) {
        self.transmit(start, end, now, true);
    }

    fn transmit(&mut self, start: SeqNum, end: SeqNum, now: Instant, rescue: bool) {
        let (Some(s), Some(e)) = (self.abs(start), self.abs(end)) else {
            return;
        };
        if e <= s || s < self.una_abs || e - s > u64::from(u32::MAX / 2) {
            return;
        }
        if s >= self.max_abs {
            if s != self.max_abs {
                return;
            }
            self.append(s, e, now);
            return;
        }
        // Retransmission of the records overlapping [s, min(e, max)). A record the
        // retransmission covers only in part is split first (Linux's tcp_fragment in
        // __tcp_retransmit_skb), so the rest keeps its own state: still lost, it is
        // retransmitted next.
        let e = e.min(self.max_abs);
        self.split_at(s);
        self.split_at(e);
        // The retransmission is a unit of its own: what precedes it and what follows it
        // end where it starts and ends (Linux fragments the skb there).
        self.end_unit_at(s);
        self.end_unit_at(e);
        let first = self
            .segs
            .at_or_before(s)
            .filter(|(_, g)| g.end > s)
            .map(|(k, _)| *k)
            .unwrap_or(s);
        let mut cursor = first;
        while let Some((&k, g)) = self.segs.first_in(cursor, e) {
            let gend = g.end;
            cursor = gend;
            self.total_retrans = self
                .total_retrans
                .saturating_add((gend - k).div_ceil(u64::from(self.smss)).max(1));
            let order = self.take_order();
            self.update_seg(k, |g| {
                g.xmit_ts = now;
                g.xmit_order = order;
                g.retransmitted = true;
                if !g.sacked {
                    g.rtx_in_flight = true;
                }
            });
            if rescue {
                self.rescue_rxt = Some(self.recovery_point.unwrap_or(self.max_abs));
            } else {
                self.high_rxt = self.high_rxt.max(gend);
            }
        }
        if e > self.max_abs {
            // New data sent together with the retransmission.
            self.append(self.max_abs, e, now);
        }
    }

    /// Splits the record that holds `at` strictly inside it into `[start, at)` and
    /// `[at, end)`, both with its state. Not at the record cap (the whole record is then
    /// treated as one, as before: conservative for pipe, a later RTO repairs the rest).
    fn split_at(&mut self, at: u64) {
        if self.segs.len() >= self.max_segments {
            return;
        }
        let Some((&k, &g)) = self.segs.at_or_before(at) else {
            return;
        };
        if k == at || g.end <= at {
            return;
        }
        self.detach(k, &g);
        let head = Seg {
            end: at,
            unit_end: false,
            psh_mark: false,
            ..g
        };
        self.attach(k, &head);
        self.segs.insert(k, head);
        self.attach(at, &g);
        self.segs.insert(at, g);
    }

    /// The record that ends at `at`, if any, now ends a unit of transmission.
    fn end_unit_at(&mut self, at: u64) {
        if let Some((&k, g)) = self.segs.before(at) {
            if g.end == at && !g.unit_end {
                self.update_seg(k, |g| g.unit_end = true);
            }
        }
    }

    /// The next place in the transmit order (see the module docs).
    fn take_order(&mut self) -> u64 {
        let o = self.next_order;
        self.next_order = self.next_order.wrapping_add(1);
        o
    }

    fn append(&mut self, s: u64, e: u64, now: Instant) {
        self.max_abs = e;
        self.max_flight = self.max_flight.max(e - self.una_abs);
        if self.segs.len() >= self.max_segments {
            if let Some((&k, last)) = self.segs.last_key_value() {
                if last.end == s {
                    // At the cap: coalesce into the last record. A SACKed last record loses
                    // its credit until the new bytes are SACKed too; a lost or retransmitted
                    // one keeps its state (the new bytes may be retransmitted once more, or
                    // counted twice in pipe): both err on the conservative side.
                    let order = self.take_order();
                    self.update_seg(k, |g| {
                        g.end = e;
                        g.xmit_ts = now;
                        g.xmit_order = order;
                        g.sacked = false;
                    });
                    return;
                }
            }
        }
        let g = Seg {
            end: e,
            xmit_ts: now,
            xmit_order: self.take_order(),
            sacked: false,
            lost: false,
            retransmitted: false,
            rtx_in_flight: false,
            unit_end: false,
            psh_mark: false,
        };
        self.attach(s, &g);
        self.segs.insert(s, g);
    }

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
        if let (Some(low), Some(fack)) = (low, prior_fack) {
            if low.lt(fack) {
                let metric = fack.since(low);
                if metric > self.reordering.saturating_mul(self.smss) {
                    self.reordering = metric.div_ceil(self.smss).min(MAX_REORDERING);
                }
                self.reord_seen = self.reord_seen.saturating_add(1);
            }
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
        if let Some((_, pe)) = prev {
            if pe >= e {
                // Already SACKed in full: nothing new, O(log n).
                return;
            }
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

    /// The offset below which every unSACKed octet satisfies RFC 6675 `IsLost()`: walking
    /// SACKed intervals downwards from the highest, the start of the first interval at
    /// which DupThresh SACKed intervals or more than (DupThresh − 1)·SMSS SACKed bytes lie
    /// at or above it. Each interval counts as one "discontiguous SACKed sequence".
    /// O(DupThresh · log n).
    fn lost_threshold(&self) -> Option<u64> {
        let mut count = 0u32;
        let mut bytes = 0u64;
        let limit = u64::from(self.dup_thresh - 1) * u64::from(self.smss);
        for (&s, &e) in self.sacked.iter().rev() {
            count += 1;
            bytes += e - s;
            if count >= self.dup_thresh || bytes > limit {
                return Some(s);
            }
        }
        None
    }

    /// RFC 6675 §4 `IsLost(SeqNum)`: `seq` is not SACKed and DupThresh discontiguous SACKed
    /// sequences, or more than (DupThresh − 1)·SMSS SACKed bytes, lie above it.
    pub fn is_lost(&self, seq: SeqNum) -> bool {
        let Some(a) = self.abs(seq) else {
            return false;
        };
        if a < self.una_abs || a >= self.max_abs || self.is_sacked_abs(a) {
            return false;
        }
        self.lost_threshold().is_some_and(|t| a < t)
    }

    /// The new data segment ending at `end` ended a unit of transmission (see
    /// [`Scoreboard::lost_run`]).
    pub fn mark_unit_end(&mut self, end: SeqNum, psh_mark: bool) {
        let Some(e) = self.abs(end) else {
            return;
        };
        if let Some((&k, g)) = self.segs.before(e) {
            if g.end == e {
                self.update_seg(k, |g| {
                    g.unit_end = true;
                    g.psh_mark = psh_mark;
                });
            }
        }
    }

    /// The segment record ending at `end` ended a packet that carried the data's PSH
    /// mark (see [`Scoreboard::mark_unit_end`]).
    pub fn psh_mark_at(&self, end: SeqNum) -> bool {
        let Some(e) = self.abs(end) else {
            return false;
        };
        self.segs
            .before(e)
            .is_some_and(|(_, g)| g.end == e && g.psh_mark)
    }

    /// The bytes from `seq` to the end of the run of consecutive segment records marked
    /// lost and awaiting retransmission (neither SACKed nor already retransmitted), not
    /// past the end of a unit of transmission: what a retransmission may send at once,
    /// cut into segments of the current MSS (Linux retransmits lost skbs one at a time,
    /// each as one TSO unit, fragmented at the current MSS when the path MTU shrank).
    /// O(records in the run).
    pub fn lost_run_bytes(&self, seq: SeqNum) -> u32 {
        let Some(a) = self.abs(seq) else {
            return 0;
        };
        let mut cursor = match self.segs.at_or_before(a) {
            Some((&k, g)) if g.end > a => k,
            _ => return 0,
        };
        while let Some((&k, g)) = self.segs.first_in(cursor, self.max_abs) {
            if k != cursor || !g.needs_rtx() {
                break;
            }
            cursor = g.end;
            if g.unit_end {
                break;
            }
        }
        clamp32(cursor.saturating_sub(a))
    }

    /// The octet `seq` is covered by an accepted SACK block.
    pub fn is_sacked(&self, seq: SeqNum) -> bool {
        self.abs(seq).is_some_and(|a| self.is_sacked_abs(a))
    }

    fn is_sacked_abs(&self, a: u64) -> bool {
        self.sacked
            .range(..=a)
            .next_back()
            .is_some_and(|(_, &e)| e > a)
    }

    /// Marks lost every unSACKed, not yet examined segment that `IsLost()` holds for
    /// (RFC 6675 §5 step (C)/(4): the DupThresh loss rule, for use without RACK, or as the
    /// RFC 8985 §3.5 fallback). Returns the bytes newly marked. Amortised O(log n) per
    /// segment: each segment is examined once.
    pub fn mark_lost_dupthresh(&mut self) -> u32 {
        let Some(t) = self.lost_threshold() else {
            return 0;
        };
        let mut newly = 0u64;
        let mut cursor = self.lost_scan.max(self.una_abs);
        if let Some((&k, g)) = self.segs.at_or_before(cursor) {
            if g.end > cursor {
                cursor = k;
            }
        }
        while let Some((&k, &g)) = self.segs.first_in(cursor, t) {
            cursor = g.end;
            if !g.sacked && !g.lost && !g.retransmitted {
                self.update_seg(k, |g| g.lost = true);
                newly += g.end - k;
            }
        }
        self.lost_scan = self.lost_scan.max(cursor.min(t));
        clamp32(newly)
    }

    /// Marks the segment starting at offset `k` lost (RACK). Returns its range.
    pub(super) fn mark_lost_at(&mut self, k: u64) -> Option<(SeqNum, SeqNum)> {
        let g = self.update_seg(k, |g| {
            g.lost = true;
            g.rtx_in_flight = false;
        })?;
        Some((Self::seq(k), Self::seq(g.end)))
    }

    /// The oldest segment awaiting acknowledgment: its (transmit time, transmit order)
    /// and start offset.
    pub(super) fn oldest_awaiting(&self) -> Option<(Instant, u64, u64)> {
        self.tsorted.first().copied()
    }

    /// The newest awaiting segment sent strictly before `(t, order)` (RACK_sent_after
    /// order).
    pub(super) fn newest_awaiting_before(&self, t: Instant, order: u64) -> Option<Instant> {
        self.tsorted
            .range(..(t, order, 0))
            .next_back()
            .map(|&(t, _, _)| t)
    }

    /// The transmit time and order of the segment starting at `s` (tests).
    #[cfg(test)]
    pub(super) fn xmit_ts_of(&self, s: SeqNum) -> Option<(Instant, u64)> {
        self.abs(s)
            .and_then(|a| self.segs.get(&a))
            .map(|g| (g.xmit_ts, g.xmit_order))
    }

    /// The most recently sent segment range (TLP retransmission probe, RFC 8985 §7.3).
    pub fn last_segment(&self) -> Option<(SeqNum, SeqNum)> {
        self.segs
            .last_key_value()
            .map(|(&k, g)| (Self::seq(k), Self::seq(g.end)))
    }

    /// Enters loss recovery (RFC 6675 §5 step (4)): RecoveryPoint = HighData, HighRxt =
    /// HighACK, RescueRxt undefined.
    pub fn enter_recovery(&mut self) {
        self.recovery_point = Some(self.max_abs);
        self.high_rxt = self.una_abs;
        self.rescue_rxt = None;
    }

    /// Leaves loss recovery (RFC 6675 §5: the cumulative ACK reached RecoveryPoint).
    pub fn exit_recovery(&mut self) {
        self.recovery_point = None;
        self.rescue_rxt = None;
    }

    /// RecoveryPoint, during recovery.
    pub fn recovery_point(&self) -> Option<SeqNum> {
        self.recovery_point.map(Self::seq)
    }

    /// The path MTU fell below what some segments in flight needed (RFC 1191 §6.5,
    /// Linux's `tcp_simple_retransmit`): every unSACKed segment longer than `mss` bytes
    /// that holds `from` or lies above it was dropped on the way and is marked lost, to be
    /// retransmitted in pieces of the new size. Returns the bytes newly marked. O(n), once
    /// per path MTU report.
    pub fn mark_lost_longer_than(&mut self, mss: u32, from: SeqNum) -> u64 {
        let from = self.abs(from).unwrap_or(self.una_abs).max(self.una_abs);
        let long: Vec<u64> = self
            .segs
            .iter()
            .filter(|&(&k, g)| {
                g.end > from && !g.sacked && !g.needs_rtx() && g.end - k > u64::from(mss)
            })
            .map(|(&k, _)| k)
            .collect();
        let mut bytes = 0;
        for k in long {
            if let Some(g) = self.update_seg(k, |g| {
                g.lost = true;
                g.rtx_in_flight = false;
            }) {
                bytes += g.end - k;
            }
        }
        bytes
    }

    /// The retransmission timer expired (RFC 6675 §5.1, Linux `tcp_timeout_mark_lost`):
    /// every unSACKed segment is marked lost and no retransmission is in flight; SACK
    /// information is kept (RFC 6675 §5.1 allows keeping it; reneging is handled by the
    /// caller with [`Scoreboard::clear_sack`]). HighRxt = HighACK. O(n), once per RTO.
    pub fn on_rto(&mut self) {
        let keys: Vec<u64> = self.segs.keys().copied().collect();
        for k in keys {
            self.update_seg(k, |g| {
                if !g.sacked {
                    g.lost = true;
                    g.rtx_in_flight = false;
                }
            });
        }
        self.high_rxt = self.una_abs;
        self.rescue_rxt = None;
        self.recovery_point = None;
        self.lost_scan = self.max_abs;
    }

    /// The timeout was spurious (RFC 5682 §3.1 step 3b, Linux `tcp_undo_cwnd_reduction`
    /// with `unmark_loss`): no segment is deemed lost any more, so nothing awaits
    /// retransmission; retransmissions already sent stay in flight. Loss marking starts
    /// over from SND.UNA. O(n), once per undone timeout.
    pub fn undo_loss_marks(&mut self) {
        let lost: Vec<u64> = self
            .segs
            .iter()
            .filter(|(_, g)| g.lost)
            .map(|(&k, _)| k)
            .collect();
        for k in lost {
            self.update_seg(k, |g| g.lost = false);
        }
        self.lost_scan = self.una_abs;
    }

    /// When the data a cumulative ACK up to `ack` newly acknowledges was first sent, for an
    /// RTT sample from send times (Linux's `seq_rtt_us` in `tcp_clean_rtx_queue`): the
    /// send time of the earliest newly acknowledged segment that was neither SACKed nor
    /// retransmitted; `None` if the ACK covers a retransmission (Karn, RFC 6298 §3) or
    /// only SACKed data. Call before [`Scoreboard::on_ack`]. O(segments acknowledged).
    pub fn first_sent_of_newly_acked(&self, ack: SeqNum) -> Option<Instant> {
        let a = self.abs(ack)?;
        if a <= self.una_abs || a > self.max_abs {
            return None;
        }
        let mut first = None;
        for (&k, g) in self.segs.iter() {
            if k >= a {
                break;
            }
            if g.retransmitted {
                return None;
            }
            if !g.sacked && first.is_none() {
                first = Some(g.xmit_ts);
            }
        }
        first
    }

    /// The segment at SND.UNA is SACKed: the receiver SACKed data it has not acknowledged
    /// cumulatively although everything before it was acknowledged, so it has discarded
    /// (reneged on) data it SACKed (RFC 2018 §8; Linux's `FLAG_SACK_RENEGING` test in
    /// `tcp_clean_rtx_queue` and the `is_reneg` test of `tcp_timeout_mark_lost`).
    pub fn head_sacked(&self) -> bool {
        self.sacked
            .first_key_value()
            .is_some_and(|(&s, _)| s <= self.una_abs)
    }

    /// Forgets all SACK information (RFC 2018 §8: the receiver may renege; a sender that
    /// suspects it discards SACK state). O(n).
    pub fn clear_sack(&mut self) {
        let keys: Vec<u64> = self.segs.keys().copied().collect();
        for k in keys {
            self.update_seg(k, |g| g.sacked = false);
        }
        self.sacked.clear();
        self.interval_bytes = 0;
    }

    /// RFC 6675 §4 `NextSeg()`. `new_data_allowed` tells whether rule 2 may apply (the
    /// sender has unsent data and the receive window allows it; cwnd is the caller's
    /// check against [`Scoreboard::pipe`]). Returns `None` when nothing should be sent.
    pub fn next_seg(&self, new_data_allowed: bool) -> Option<NextSeg> {
        let highest_sacked = self.sacked.last_key_value().map(|(_, &e)| e);
        // Rule 1: the lowest segment deemed lost that awaits retransmission (RFC 6675:
        // S2 > HighRxt, S2 < highest SACKed, IsLost(S2); RACK marks count as IsLost and
        // may also re-mark a lost retransmission below HighRxt, RFC 8985 §6.2).
        if let Some(&k) = self.lost_queue.first() {
            if let Some(g) = self.segs.get(&k) {
                return Some(self.ret(k, g.end, NextSegKind::Lost));
            }
        }
        // Rule 2: new data.
        if new_data_allowed {
            return Some(NextSeg {
                start: Self::seq(self.max_abs),
                end: Self::seq(self.max_abs),
                kind: NextSegKind::NewData,
            });
        }
        // Rule 3: the lowest unSACKed octet above HighRxt and below the highest SACKed one.
        if let Some(hs) = highest_sacked {
            let mut p = self.high_rxt.max(self.una_abs);
            if let Some((_, &e)) = self.sacked.range(..=p).next_back() {
                if e > p {
                    p = e;
                }
            }
            if p < hs {
                if let Some((&k, g)) = self.segs.at_or_before(p) {
                    if g.end > p && !g.sacked && !g.rtx_in_flight {
                        return Some(self.ret(k, g.end, NextSegKind::Unsacked));
                    }
                }
            }
        }
        // Rule 4: rescue retransmission, once per recovery.
        if let Some(rp) = self.recovery_point {
            let rescue_ok = self.rescue_rxt.is_none_or(|r| r < rp);
            if self.una_abs < rp && rescue_ok {
                // The highest outstanding unSACKed segment.
                let mut hi = self.max_abs;
                if let Some((&s, &e)) = self.sacked.range(..hi).next_back() {
                    if e >= hi {
                        hi = s;
                    }
                }
                if let Some((&k, g)) = self.segs.before(hi) {
                    // Not while a retransmission of it is still in flight: a second
                    // copy would rescue nothing.
                    if !g.sacked && !g.rtx_in_flight {
                        return Some(self.ret(k, g.end, NextSegKind::Rescue));
                    }
                }
            }
        }
        None
    }

    fn ret(&self, k: u64, e: u64, kind: NextSegKind) -> NextSeg {
        NextSeg {
            start: Self::seq(k),
            end: Self::seq(e),
            kind,
        }
    }

    /// Checks internal invariants (tests and fuzzing): intervals disjoint, non-adjacent
    /// and inside [SND.UNA, SND.MAX); counters equal to a recount; segments contiguous
    /// from SND.UNA to SND.MAX.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let mut prev_end: Option<u64> = None;
        let mut bytes = 0;
        for (&s, &e) in &self.sacked {
            if s >= e || s < self.una_abs || e > self.max_abs {
                return Err("interval outside [una, max) or empty");
            }
            if prev_end.is_some_and(|p| p >= s) {
                return Err("intervals overlap or touch");
            }
            prev_end = Some(e);
            bytes += e - s;
        }
        if bytes != self.interval_bytes {
            return Err("interval byte count");
        }
        if self.sacked.len() > self.max_intervals {
            return Err("interval cap exceeded");
        }
        if self.segs.len() > self.max_segments {
            return Err("segment cap exceeded");
        }
        let (mut sk, mut lost, mut rtx, mut n, mut aw, mut lq) = (0, 0, 0, 0, 0, 0);
        let mut cursor = self.una_abs;
        for (&k, g) in self.segs.iter() {
            if k != cursor || g.end <= k {
                return Err("segments not contiguous from una");
            }
            cursor = g.end;
            let len = g.end - k;
            if g.sacked {
                sk += len;
                n += 1;
                if !(self.is_sacked_abs(k)
                    && self
                        .sacked
                        .range(..=k)
                        .next_back()
                        .is_some_and(|(_, &e)| e >= g.end))
                {
                    return Err("sacked segment not covered");
                }
            } else {
                lost += if g.lost { len } else { 0 };
                rtx += if g.rtx_in_flight { len } else { 0 };
            }
            aw += usize::from(g.awaiting());
            lq += usize::from(g.needs_rtx());
        }
        if !self.segs.is_empty() && cursor != self.max_abs {
            return Err("segments do not reach max");
        }
        if (sk, lost, rtx, n)
            != (
                self.seg_sacked_bytes,
                self.lost_bytes,
                self.rtx_bytes,
                self.sacked_segs,
            )
        {
            return Err("segment counters");
        }
        if aw != self.tsorted.len() || lq != self.lost_queue.len() {
            return Err("index sizes");
        }
        if self.pipe() > self.outstanding().saturating_mul(2) {
            return Err("pipe too large");
        }
        Ok(())
    }
}

/// The first entry with a key in `[a, b)`; `None` when the range is empty (never panics,
/// unlike `BTreeMap::range` with `a > b`).
fn first_in<V>(m: &BTreeMap<u64, V>, a: u64, b: u64) -> Option<(&u64, &V)> {
    if a >= b {
        return None;
    }
    m.range(a..b).next()
}

fn clamp32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const MSS: u32 = 100;

    fn sq(base: u32, off: u32) -> SeqNum {
        SeqNum::new(base.wrapping_add(off))
    }

    fn blk(base: u32, a: u32, b: u32) -> SackBlock {
        SackBlock::new(sq(base, a), sq(base, b))
    }

    /// A scoreboard with `n` segments of MSS bytes sent 1 ms apart from `base`.
    fn board(base: u32, n: u32) -> Scoreboard {
        let mut sb = Scoreboard::new(SeqNum::new(base), MSS, 64, 1024);
        for i in 0..n {
            sb.on_transmit(
                sq(base, i * MSS),
                sq(base, (i + 1) * MSS),
                Instant::from_millis(u64::from(i)),
            );
        }
        sb
    }

    fn ack(
        sb: &mut Scoreboard,
        base: u32,
        a: u32,
        blocks: &[SackBlock],
    ) -> (AckUpdate, Vec<Delivered>) {
        let mut d = Vec::new();
        let up = sb.on_ack(sq(base, a), blocks, |x| d.push(*x));
        sb.check_invariants().unwrap();
        (up, d)
    }

    #[test]
    fn a_smaller_mss_marks_longer_segments_lost_and_they_are_resent_in_pieces() {
        // Three 100-byte segments in flight; the MSS falls to 60.
        let mut sb = board(0, 3);
        assert_eq!(sb.mark_lost_longer_than(60, sq(0, 150)), 200, "from 150 on");
        assert_eq!(sb.mark_lost_longer_than(60, sq(0, 0)), 100);
        assert_eq!(sb.mark_lost_longer_than(60, sq(0, 0)), 0, "marked once");
        sb.check_invariants().unwrap();
        // The first lost run (one original packet here: no unit ends were marked) is
        // resent 60 bytes at a time; each retransmission splits the record it covers in
        // part, and the rest stays lost.
        let mut sent = Vec::new();
        while let Some(ns) = sb.next_seg(false) {
            assert_eq!(ns.kind, NextSegKind::Lost);
            let run = sb.lost_run_bytes(ns.start);
            let len = ns.end.since(ns.start).max(run).min(60);
            sb.on_transmit(ns.start, ns.start + len, Instant::from_millis(10));
            sb.check_invariants().unwrap();
            sent.push((ns.start.since(sq(0, 0)), len));
        }
        assert_eq!(sent, [(0, 60), (60, 60), (120, 60), (180, 60), (240, 60)]);
        assert_eq!(sb.retrans_bytes(), 300);
        assert_eq!(sb.pipe(), 300);
        // The pieces (records are split, never merged: 0-60, 60-100, 100-120, 120-180,
        // 180-200, 200-240, 240-300) are acknowledged as usual.
        let (up, d) = ack(&mut sb, 0, 300, &[]);
        assert_eq!(up.acked_bytes, 300);
        assert_eq!(d.len(), 7);
    }

    #[test]
    fn a_retransmission_cut_short_leaves_the_rest_of_the_segment_lost() {
        let mut sb = board(0, 2);
        sb.on_rto();
        // The window allowed only 30 bytes of the first segment.
        sb.on_transmit(sq(0, 0), sq(0, 30), Instant::from_millis(10));
        sb.check_invariants().unwrap();
        let ns = sb.next_seg(false).unwrap();
        assert_eq!(
            (ns.start, ns.end, ns.kind),
            (sq(0, 30), sq(0, 100), NextSegKind::Lost)
        );
        assert_eq!(sb.retrans_bytes(), 30);
    }

    /// RFC 6675 §4 SetPipe() computed octet by octet from the lost and retransmitted
    /// flags, for comparison with the incremental `pipe()`.
    fn naive_pipe(sb: &Scoreboard) -> u32 {
        let mut pipe = 0;
        for (&k, g) in sb.segs.iter() {
            for o in k..g.end {
                // Octet-level SACK state as the scoreboard credits it: whole segments only
                // (identical to the RFC's octet rule when blocks follow segment edges).
                let s = Scoreboard::seq(o);
                if g.sacked {
                    assert!(sb.is_sacked(s));
                    continue;
                }
                if !g.lost {
                    pipe += 1;
                }
                if g.rtx_in_flight {
                    pipe += 1;
                }
            }
        }
        pipe
    }

    #[test]
    fn only_whole_segments_are_sacked() {
        let b = 1000;
        let mut sb = board(b, 10);
        let (up, d) = ack(&mut sb, b, 0, &[blk(b, 300, 400)]);
        assert_eq!((up.sacked_bytes, d.len()), (100, 1));
        assert_eq!(sb.pipe(), 900);
        // A block that splits segments 4 and 5 credits neither.
        let (up, _) = ack(&mut sb, b, 0, &[blk(b, 450, 550)]);
        assert_eq!(up.sacked_bytes, 0);
        assert_eq!((sb.sacked_bytes(), sb.interval_count()), (200, 2));
        // Filling [400, 450) merges to [300, 550): segment 4 is now covered.
        let (up, d) = ack(&mut sb, b, 0, &[blk(b, 400, 450)]);
        assert_eq!(up.sacked_bytes, 100);
        assert_eq!(d[0].start, sq(b, 400));
        assert_eq!(sb.interval_count(), 1);
        let (up, _) = ack(&mut sb, b, 0, &[blk(b, 550, 600)]);
        assert_eq!(up.sacked_bytes, 100);
        assert_eq!(sb.sacked_segments(), 3);
        assert_eq!(sb.pipe(), 700);
    }

    /// Hand-drawn scoreboard (MSS 100, DupThresh 3, segments 0–9):
    ///
    /// ```text
    ///   seg:   0  1  2  3  4  5  6  7  8  9
    ///   SACK:  .  .  S  S  .  S  S  S  .  .
    /// ```
    /// IsLost: 300 SACKed bytes above 400 (> 2·SMSS), so 0, 1 and 4 are lost; 8 and 9 are
    /// not. SetPipe = 8, 9 = 200 bytes.
    #[test]
    fn set_pipe_and_next_seg_on_hand_drawn_board() {
        let b = u32::MAX - 250; // across the sequence wrap
        let mut sb = board(b, 10);
        ack(&mut sb, b, 0, &[blk(b, 500, 800), blk(b, 200, 400)]);
        assert!(sb.is_lost(sq(b, 0)) && sb.is_lost(sq(b, 150)) && sb.is_lost(sq(b, 450)));
        assert!(!sb.is_lost(sq(b, 850)) && !sb.is_lost(sq(b, 250)));
        sb.enter_recovery();
        assert_eq!(sb.mark_lost_dupthresh(), 300);
        assert_eq!(sb.mark_lost_dupthresh(), 0, "each segment examined once");
        assert_eq!(sb.pipe(), 200);
        assert_eq!(sb.pipe(), naive_pipe(&sb));

        // NextSeg rule 1 in order 0, 1, 4; each retransmission adds to pipe.
        let t = Instant::from_millis(50);
        for (i, start) in [0u32, 100, 400].into_iter().enumerate() {
            let n = sb.next_seg(true).unwrap();
            assert_eq!(
                (n.kind, n.start, n.end),
                (NextSegKind::Lost, sq(b, start), sq(b, start + 100))
            );
            sb.on_transmit(n.start, n.end, t);
            sb.check_invariants().unwrap();
            assert_eq!(sb.pipe(), 200 + 100 * (i as u32 + 1));
            assert_eq!(sb.pipe(), naive_pipe(&sb));
        }
        assert_eq!(sb.high_rxt(), sq(b, 500));
        // Rule 2 when new data may be sent.
        let n = sb.next_seg(true).unwrap();
        assert_eq!((n.kind, n.start), (NextSegKind::NewData, sq(b, 1000)));
        // Rule 3 has nothing above HighRxt below the highest SACK; rule 4 rescues seg 9.
        let n = sb.next_seg(false).unwrap();
        assert_eq!(
            (n.kind, n.start, n.end),
            (NextSegKind::Rescue, sq(b, 900), sq(b, 1000))
        );
        sb.on_rescue_retransmit(n.start, n.end, t);
        assert_eq!(sb.rescue_rxt(), Some(sq(b, 1000)));
        assert_eq!(sb.high_rxt(), sq(b, 500), "rescue does not move HighRxt");
        assert_eq!(sb.next_seg(false), None, "one rescue per recovery");
        assert_eq!(sb.pipe(), naive_pipe(&sb));
    }

    #[test]
    fn rule_three_retransmits_unsacked_below_highest_sack() {
        let b = 7;
        let mut sb = board(b, 10);
        ack(&mut sb, b, 0, &[blk(b, 500, 600)]);
        sb.enter_recovery();
        assert_eq!(
            sb.mark_lost_dupthresh(),
            0,
            "one SACKed segment: nothing IsLost"
        );
        let t = Instant::from_millis(20);
        for start in [0u32, 100, 200, 300, 400] {
            let n = sb.next_seg(false).unwrap();
            assert_eq!((n.kind, n.start), (NextSegKind::Unsacked, sq(b, start)));
            sb.on_transmit(n.start, n.end, t);
        }
        assert_eq!(sb.next_seg(false).unwrap().kind, NextSegKind::Rescue);
    }

    #[test]
    fn is_lost_counts_discontiguous_sequences() {
        let b = 0;
        let mut sb = board(b, 10);
        ack(
            &mut sb,
            b,
            0,
            &[blk(b, 200, 300), blk(b, 400, 500), blk(b, 600, 700)],
        );
        assert!(sb.is_lost(sq(b, 0)));
        assert!(sb.is_lost(sq(b, 199)));
        assert!(!sb.is_lost(sq(b, 200)), "SACKed octets are not lost");
        assert!(!sb.is_lost(sq(b, 300)), "only two SACKed sequences above");
        assert!(!sb.is_lost(sq(b, 1000)), "beyond SND.MAX");
        sb.set_dup_thresh(2);
        assert!(sb.is_lost(sq(b, 300)));
    }

    #[test]
    fn cumulative_ack_trims_everything_below() {
        let b = 100;
        let mut sb = board(b, 10);
        ack(&mut sb, b, 0, &[blk(b, 200, 400)]);
        let (up, d) = ack(&mut sb, b, 250, &[]);
        assert_eq!(up.acked_bytes, 250);
        // Segments 0 and 1 delivered by the cumulative ACK (2 was SACKed before).
        assert_eq!(
            d.iter().map(|x| x.start).collect::<Vec<_>>(),
            [sq(b, 0), sq(b, 100)]
        );
        assert_eq!(sb.high_ack(), sq(b, 250));
        assert_eq!(sb.sacked_bytes(), 150);
        assert_eq!(sb.outstanding(), 750);
        // Old and duplicate ACKs change nothing.
        let (up, _) = ack(&mut sb, b, 100, &[]);
        assert_eq!(up, AckUpdate::default());
        let (up, d) = ack(&mut sb, b, 1000, &[]);
        assert_eq!((up.acked_bytes, d.len()), (750, 6));
        assert_eq!(
            (sb.pipe(), sb.sacked_bytes(), sb.segment_count()),
            (0, 0, 0)
        );
    }

    /// Linux's tcp_check_dsack and tcp_dsack_seen: a D-SACK-shaped first block is believed
    /// only while the duplicates reported do not outnumber the retransmissions; a believed
    /// one above SND.UNA is still SACK information and tells which retransmissions it
    /// covers.
    #[test]
    fn dsacks_are_believed_only_as_far_as_retransmissions_go() {
        let b = 5000;
        let mut sb = board(b, 10);
        ack(&mut sb, b, 300, &[]);
        // Nothing was ever retransmitted: a D-SACK is dubious and, read as an ordinary
        // block below SND.UNA, invalid.
        let (up, _) = ack(&mut sb, b, 300, &[blk(b, 100, 200)]);
        assert_eq!(
            (up.dsack, up.dubious_dsack, up.ignored_blocks),
            (None, true, 1)
        );
        let t = Instant::from_millis(50);
        for start in [300u32, 500, 600] {
            sb.on_transmit(sq(b, start), sq(b, start + 100), t);
        }
        // RFC 2883 §4 case 1: first block below the cumulative ACK; the data is forgotten.
        let (up, _) = ack(&mut sb, b, 300, &[blk(b, 100, 200), blk(b, 800, 900)]);
        let d = up.dsack.unwrap();
        assert_eq!((d.block, d.segs, d.forgotten), (blk(b, 100, 200), 1, true));
        assert_eq!(up.sacked_bytes, 100);
        // Case 2: first block inside the second; it covers the retransmitted segment 5
        // and is SACK information as well.
        let (up, _) = ack(&mut sb, b, 300, &[blk(b, 500, 600), blk(b, 400, 700)]);
        let d = up.dsack.unwrap();
        assert_eq!((d.retransmitted, d.forgotten), (1, false));
        assert_eq!(up.sacked_bytes, 300);
        // Three duplicates reported (the dubious one included), three segments
        // retransmitted: one more is dubious, even for a retransmitted segment.
        let (up, _) = ack(&mut sb, b, 300, &[blk(b, 600, 700), blk(b, 400, 700)]);
        assert_eq!((up.dsack, up.dubious_dsack), (None, true));
        // Not a D-SACK: ordinary first block.
        let (up, _) = ack(&mut sb, b, 300, &[blk(b, 800, 900)]);
        assert_eq!((up.dsack, up.dubious_dsack), (None, false));
    }

    /// A D-SACK for segments the same ACK acknowledges is checked against them before they
    /// are freed (Linux tags SACKs before cleaning the retransmission queue).
    #[test]
    fn a_dsack_for_data_this_ack_covers_still_sees_the_retransmission() {
        let b = 0;
        let mut sb = board(b, 10);
        sb.on_transmit(sq(b, 0), sq(b, 100), Instant::from_millis(50));
        let (up, _) = ack(&mut sb, b, 200, &[blk(b, 0, 100)]);
        let d = up.dsack.unwrap();
        assert_eq!((d.retransmitted, d.forgotten), (1, false));
        assert_eq!(up.acked_bytes, 200);
    }

    /// The attack of issue 17: a second block that starts below SND.UNA and covers the
    /// receiver's real first block. The straddling block is invalid (Linux's
    /// tcp_is_sackblock_valid: a SACK block must start above SND.UNA), so it SACKs nothing
    /// (before, it was trimmed to SND.UNA and SACKed the holes, which then looked like
    /// reneging); the real first block stays SACK information, and, not covering a
    /// retransmission, proves none unnecessary.
    #[test]
    fn a_straddling_second_block_sacks_nothing_and_the_first_stays_sack_information() {
        let b = 0;
        let mut sb = board(b, 10);
        ack(&mut sb, b, 100, &[]);
        let (up, _) = ack(&mut sb, b, 100, &[blk(b, 500, 600), blk(b, 50, 600)]);
        assert_eq!(up.ignored_blocks, 1);
        assert_eq!((up.dsack, up.dubious_dsack), (None, true));
        assert_eq!((up.sacked_bytes, sb.sacked_bytes()), (100, 100));
        assert!(!sb.head_sacked(), "no false reneging");
        // With retransmissions on record the first block is believed as a D-SACK, but
        // covers no retransmitted segment.
        sb.on_transmit(sq(b, 100), sq(b, 300), Instant::from_millis(50));
        let (up, _) = ack(&mut sb, b, 100, &[blk(b, 700, 800), blk(b, 50, 800)]);
        let d = up.dsack.unwrap();
        assert_eq!(d.retransmitted, 0);
        assert_eq!((up.ignored_blocks, up.sacked_bytes), (1, 100));
        assert!(!sb.head_sacked());
    }

    #[test]
    fn invalid_blocks_are_ignored() {
        let b = 0;
        let mut sb = board(b, 10);
        ack(&mut sb, b, 100, &[]);
        let (up, _) = ack(
            &mut sb,
            b,
            100,
            &[
                blk(b, 300, 300),
                blk(b, 400, 300),
                blk(b, 900, 1100),
                blk(b, 2_000_000, 2_000_100),
            ],
        );
        assert_eq!(up.ignored_blocks, 4);
        assert_eq!(sb.interval_count(), 0);
        // Blocks not above SND.UNA (straddling it, starting at it, or below it, without
        // being a D-SACK) are invalid too.
        let (up, _) = ack(
            &mut sb,
            b,
            100,
            &[
                blk(b, 700, 800),
                blk(b, 50, 200),
                blk(b, 100, 200),
                blk(b, 20, 60),
            ],
        );
        assert_eq!((up.ignored_blocks, up.sacked_bytes), (3, 100));
        assert_eq!(sb.sacked_bytes(), 100);
        // An old (reordered) ACK's blocks below SND.UNA are ignored without being counted.
        let (up, _) = ack(&mut sb, b, 50, &[blk(b, 800, 900), blk(b, 50, 100)]);
        assert_eq!((up.ignored_blocks, up.sacked_bytes), (0, 100));
    }

    #[test]
    fn interval_cap_refuses_new_separate_blocks() {
        let b = 0;
        let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 4, 1024);
        for i in 0..20 {
            sb.on_transmit(sq(b, i * MSS), sq(b, (i + 1) * MSS), Instant::ZERO);
        }
        for i in 0..6u32 {
            let s = 100 + i * 200;
            let (up, _) = ack(&mut sb, b, 0, &[blk(b, s, s + 100)]);
            assert_eq!(up.refused_blocks, u8::from(i >= 4));
        }
        assert_eq!(sb.interval_count(), 4);
        // A block that extends an existing interval is still accepted.
        let (up, _) = ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
        assert_eq!((up.refused_blocks, up.sacked_bytes), (0, 100));
        assert_eq!(sb.interval_count(), 3);
    }

    #[test]
    fn segment_records_are_capped_by_coalescing() {
        let b = 0;
        let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 8, 8);
        for i in 0..100 {
            sb.on_transmit(
                sq(b, i * MSS),
                sq(b, (i + 1) * MSS),
                Instant::from_millis(u64::from(i)),
            );
        }
        assert_eq!(sb.segment_count(), 8);
        assert_eq!(sb.outstanding(), 10_000);
        sb.check_invariants().unwrap();
    }

    #[test]
    fn coalescing_into_a_sacked_record_drops_its_credit_until_fully_sacked() {
        let b = 0;
        let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 8, 2);
        sb.on_transmit(sq(b, 0), sq(b, 100), Instant::ZERO);
        sb.on_transmit(sq(b, 100), sq(b, 200), Instant::ZERO);
        ack(&mut sb, b, 0, &[blk(b, 100, 200)]);
        assert_eq!(sb.pipe(), 100);
        sb.on_transmit(sq(b, 200), sq(b, 300), Instant::from_millis(1));
        sb.check_invariants().unwrap();
        assert_eq!(sb.segment_count(), 2);
        assert_eq!(
            sb.pipe(),
            300,
            "the coalesced record [100, 300) is not SACKed"
        );
        let (up, _) = ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
        assert_eq!(up.sacked_bytes, 200);
        assert_eq!(sb.pipe(), 100);
    }

    /// RFC 2018 §8: a cumulative ACK that stops where SACKed data starts shows that the
    /// receiver discarded it; one that stops before a hole does not.
    #[test]
    fn a_cumulative_ack_ending_at_sacked_data_shows_reneging() {
        let b = 0;
        let mut sb = board(b, 5);
        ack(&mut sb, b, 0, &[blk(b, 200, 500)]);
        assert!(!sb.head_sacked());
        ack(&mut sb, b, 100, &[]);
        assert!(!sb.head_sacked(), "segment 1 was never SACKed");
        ack(&mut sb, b, 200, &[]);
        assert!(sb.head_sacked());
        sb.on_rto();
        sb.clear_sack();
        sb.on_rto();
        sb.check_invariants().unwrap();
        assert!(!sb.head_sacked());
        assert_eq!(sb.lost_bytes(), 300, "everything after SND.UNA goes again");
    }

    /// RFC 6675 §4 rule 4 rescues the highest unSACKed segment, but not by sending a second
    /// copy of a retransmission still in flight.
    #[test]
    fn no_rescue_for_a_segment_whose_retransmission_is_in_flight() {
        let b = 0;
        let mut sb = board(b, 10);
        ack(&mut sb, b, 0, &[blk(b, 100, 1000)]);
        assert_eq!(sb.mark_lost_dupthresh(), 100);
        sb.enter_recovery();
        let n = sb.next_seg(false).unwrap();
        assert_eq!((n.kind, n.start), (NextSegKind::Lost, sq(b, 0)));
        sb.on_transmit(n.start, n.end, Instant::from_millis(20));
        assert_eq!(sb.next_seg(false), None);
    }

    #[test]
    fn rto_marks_everything_unsacked_lost() {
        let b = 0;
        let mut sb = board(b, 5);
        ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
        sb.on_rto();
        sb.check_invariants().unwrap();
        assert_eq!(sb.pipe(), 0);
        assert_eq!(sb.lost_bytes(), 400);
        let n = sb.next_seg(false).unwrap();
        assert_eq!((n.kind, n.start), (NextSegKind::Lost, sq(b, 0)));
        sb.on_transmit(n.start, n.end, Instant::from_millis(300));
        assert_eq!(sb.pipe(), 100);
        sb.clear_sack();
        sb.check_invariants().unwrap();
        assert_eq!(sb.sacked_bytes(), 0);
    }

    /// A spurious timeout (F-RTO, RFC 5682 §3.1 step 3b) takes back the RTO's loss marks:
    /// the original transmissions count in pipe again, the retransmission stays in flight
    /// and nothing awaits retransmission.
    #[test]
    fn undo_loss_marks_restores_the_flight_after_a_spurious_rto() {
        let b = 0;
        let mut sb = board(b, 5);
        ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
        sb.on_rto();
        let n = sb.next_seg(false).unwrap();
        sb.on_transmit(n.start, n.end, Instant::from_millis(300));
        assert_eq!((sb.pipe(), sb.lost_bytes()), (100, 400));
        sb.undo_loss_marks();
        sb.check_invariants().unwrap();
        assert_eq!(sb.lost_bytes(), 0);
        // 400 unSACKed bytes in flight plus the retransmission of the first 100.
        assert_eq!(sb.pipe(), 500);
        assert_eq!(naive_pipe(&sb), sb.pipe());
        // NextSeg() rule 1 has nothing left: new data comes first.
        assert_eq!(
            sb.next_seg(true).map(|n| n.kind),
            Some(NextSegKind::NewData)
        );
        // Later SACKs can mark losses again (RFC 6675 IsLost).
        ack(&mut sb, b, 0, &[blk(b, 200, 500)]);
        assert_eq!(sb.mark_lost_dupthresh(), 100);
        sb.check_invariants().unwrap();
    }

    /// Hostile SACK patterns cost a bounded number of map operations per ACK, measured by
    /// counting.
    #[test]
    fn hostile_sack_cost_is_bounded_per_ack() {
        let b = 0;
        let n = 2000;
        let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 256, 4096);
        for i in 0..n {
            sb.on_transmit(sq(b, i * MSS), sq(b, (i + 1) * MSS), Instant::ZERO);
        }
        let mut worst = 0;
        let mut x = 12345u32;
        for _ in 0..5000 {
            let mut blocks = [blk(b, 0, 1); 4];
            for bl in &mut blocks {
                // Tiny blocks splitting segments at pseudo-random places.
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let s = 1 + (x >> 8) % (n * MSS - 2);
                *bl = blk(b, s, s + 1);
            }
            let before = sb.ops();
            sb.on_ack(sq(b, 0), &blocks, |_| {});
            worst = worst.max(sb.ops() - before);
        }
        assert!(sb.interval_count() <= 256);
        assert!(worst <= 40, "worst ops per ACK {worst}");
        // Re-sending a block that covers everything costs O(log n) once merged.
        sb.on_ack(sq(b, 0), &[blk(b, 1, n * MSS)], |_| {});
        let before = sb.ops();
        for _ in 0..100 {
            sb.on_ack(sq(b, 0), &[blk(b, 1, n * MSS); 4], |_| {});
        }
        assert!(sb.ops() - before <= 100 * 4 * 2);
        sb.check_invariants().unwrap();
    }

    #[derive(Clone, Debug)]
    enum Op {
        Send(u16),
        Ack(u16, Vec<(i32, u16)>),
        Retransmit,
        Rto,
        Recovery(bool),
        MarkLost,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u16..1500).prop_map(Op::Send),
            (
                any::<u16>(),
                proptest::collection::vec((-3000i32..40_000, any::<u16>()), 0..6)
            )
                .prop_map(|(a, v)| Op::Ack(a, v)),
            Just(Op::Retransmit),
            Just(Op::Rto),
            any::<bool>().prop_map(Op::Recovery),
            Just(Op::MarkLost),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_and_hostile_sacks_keep_invariants(
            base in any::<u32>(),
            cap in 1usize..8,
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let mut sb = Scoreboard::new(SeqNum::new(base), 100, cap, 16);
            let mut t = 0u64;
            for o in ops {
                t += 1;
                let now = Instant::from_millis(t);
                match o {
                    Op::Send(len) => {
                        let s = sb.high_data();
                        sb.on_transmit(s, s + u32::from(len), now);
                    }
                    Op::Ack(a, blocks) => {
                        let una = sb.high_ack();
                        let out = sb.outstanding();
                        let ackno = una + (u32::from(a) % (out + 2));
                        let bl: Vec<SackBlock> = blocks
                            .iter()
                            .map(|&(s, l)| {
                                let st = SeqNum::new(una.get().wrapping_add(s as u32));
                                SackBlock::new(st, st + u32::from(l % 3000))
                            })
                            .collect();
                        let before_una = sb.high_ack();
                        let max = sb.high_data();
                        let up = sb.on_ack(ackno, &bl, |d| {
                            assert!(d.start.ge(before_una) && d.end.le(max) && d.start.lt(d.end));
                        });
                        prop_assert!(u64::from(up.acked_bytes) <= u64::from(out));
                    }
                    Op::Retransmit => {
                        if let Some(n) = sb.next_seg(false) {
                            if n.kind == NextSegKind::Rescue {
                                sb.on_rescue_retransmit(n.start, n.end, now);
                            } else {
                                sb.on_transmit(n.start, n.end, now);
                            }
                        }
                    }
                    Op::Rto => sb.on_rto(),
                    Op::Recovery(true) => sb.enter_recovery(),
                    Op::Recovery(false) => sb.exit_recovery(),
                    Op::MarkLost => {
                        sb.mark_lost_dupthresh();
                    }
                }
                prop_assert_eq!(sb.check_invariants(), Ok(()));
                prop_assert!(sb.interval_count() <= cap);
                prop_assert!(sb.sacked_bytes() <= sb.outstanding());
                prop_assert_eq!(sb.pipe(), naive_pipe(&sb));
            }
        }
    }
}
