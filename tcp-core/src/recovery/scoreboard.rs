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
//!   for RACK's loss scan (RFC 8985 §6.2 step 5), a sorted deque (`time_order`: O(1) at
//!   the ends, where a sender inserts and removes, O(log n) amortised inside). The
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

use super::rate::{RateEstimator, RateSample, TxStamp};
use super::seglist::SegList;
use super::time_order::TimeOrder;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
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
    /// The delivery-rate state at its last transmission (draft-cheng-iccrg-delivery-
    /// rate-estimation §3.2).
    tx: TxStamp,
}

impl Seg {
    fn awaiting(&self) -> bool {
        !self.sacked && (!self.lost || self.rtx_in_flight)
    }
    fn needs_rtx(&self) -> bool {
        !self.sacked && self.lost && !self.rtx_in_flight
    }
    /// What the counters and indexes (`tsorted`, `lost_queue`, the byte counts) are
    /// derived from: a change to anything else needs no detach/attach.
    fn indexed(&self) -> (u64, Instant, u64, bool, bool, bool) {
        (
            self.end,
            self.xmit_ts,
            self.xmit_order,
            self.sacked,
            self.lost,
            self.rtx_in_flight,
        )
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
    tsorted: TimeOrder<(Instant, u64, u64)>,
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
    /// Delivery-rate estimation over the records' transmissions and deliveries.
    rate: RateEstimator,
    /// `rate.lost()` when the current ACK's processing began (newly lost bytes).
    lost_at_ack: u64,
    /// `rate.delivered()` when the current ACK's processing began (newly delivered bytes).
    delivered_at_ack: u64,
}

impl Scoreboard {
    /// Whether nothing is in flight yet the segment records hold memory
    /// ([`Scoreboard::release_idle_memory`] would give it back).
    pub fn holds_idle_memory(&self) -> bool {
        self.segs.releasable() || self.tsorted.releasable()
    }

    /// Gives back the memory of the segment records when there are none (nothing in
    /// flight); the next transmission allocates it again.
    pub fn release_idle_memory(&mut self) {
        self.segs.release();
        self.tsorted.release();
    }

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
            tsorted: TimeOrder::new(),
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
            rate: RateEstimator::new(),
            lost_at_ack: 0,
            delivered_at_ack: 0,
        }
    }

    /// The rate sample of the ACK just processed (draft-cheng-iccrg-delivery-rate-
    /// estimation §3.3), after loss detection has marked what this ACK revealed, and the
    /// bytes this ACK's processing marked lost. The sample's `newly_acked` is what this
    /// ACK delivered for the first time (RFC 6937's DeliveredData: data SACKed earlier
    /// and now cumulatively acknowledged was delivered once, when it was SACKed).
    /// `min_rtt` refuses shorter intervals. `want`: build the sample (a controller reads
    /// it); otherwise only the estimator's bookkeeping runs and `None` comes back.
    pub fn take_rate_sample(
        &mut self,
        now: Instant,
        min_rtt: Option<Duration>,
        want: bool,
    ) -> Option<(RateSample, u64)> {
        let newly_lost = self.rate.lost().wrapping_sub(self.lost_at_ack);
        self.lost_at_ack = self.rate.lost();
        let newly_delivered = self.rate.delivered().wrapping_sub(self.delivered_at_ack);
        self.delivered_at_ack = self.rate.delivered();
        self.rate.generate(now, min_rtt, want).map(|mut rs| {
            rs.newly_acked = u32::try_from(newly_delivered).unwrap_or(u32::MAX);
            (rs, newly_lost)
        })
    }

    /// The sender has less than a segment to send, the congestion window does not limit
    /// it and every lost segment was retransmitted: the samples of what it sends now are
    /// application-limited (draft-cheng-iccrg-delivery-rate-estimation §3.4).
    pub fn mark_app_limited(&mut self) {
        let in_flight = self.pipe();
        self.rate.mark_app_limited(in_flight);
    }

    /// The last valid delivery-rate sample in bytes per second and whether it was
    /// application-limited (Linux's `tcpi_delivery_rate`).
    pub fn last_delivery_rate(&self) -> Option<(u64, bool)> {
        self.rate.last_rate()
    }

    /// Sets DupThresh (RFC 6675 §2; default 3, at least 1).
    #[cfg(test)]
    pub fn set_dup_thresh(&mut self, dup_thresh: u32) {
        self.dup_thresh = dup_thresh.max(1);
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
    #[cfg(test)]
    pub fn high_ack(&self) -> SeqNum {
        self.una
    }

    /// HighData + 1 (RFC 6675 §2): SND.MAX, the end of the highest data sent.
    #[cfg(test)]
    pub fn high_data(&self) -> SeqNum {
        Self::seq(self.max_abs)
    }

    /// HighRxt (RFC 6675 §2): the end of the highest retransmitted range.
    #[cfg(test)]
    pub fn high_rxt(&self) -> SeqNum {
        Self::seq(self.high_rxt)
    }

    /// RescueRxt (RFC 6675 §2), if a rescue retransmission was sent this recovery.
    #[cfg(test)]
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
    #[cfg(test)]
    pub fn interval_count(&self) -> usize {
        self.sacked.len()
    }

    /// Number of segment records held (at most `max_segments`).
    #[cfg(test)]
    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }

    /// Elementary map operations performed so far (for cost bounds in tests).
    #[cfg(test)]
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
        let slot = self.segs.get_mut(&start)?;
        let old = *slot;
        f(slot);
        let new = *slot;
        if new.indexed() == old.indexed() {
            // Only flags no counter or index depends on changed (a unit's end, its PSH
            // mark): the record is updated in place.
            return Some(new);
        }
        self.detach(start, &old);
        let counted = |g: &Seg| g.lost && !g.sacked;
        if counted(&new) && !counted(&old) {
            self.rate.on_lost(new.end - start);
        }
        self.attach(start, &new);
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
        let idle = self.max_abs == self.una_abs;
        let in_flight = self.pipe().saturating_add(clamp32(e - s));
        let tx = self.rate.on_send(now, idle, in_flight);
        if s >= self.max_abs {
            if s != self.max_abs {
                return;
            }
            self.append(s, e, now, tx);
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
                g.tx = tx;
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
            self.append(self.max_abs, e, now, tx);
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
        if let Some((&k, g)) = self.segs.before(at)
            && g.end == at
            && !g.unit_end
        {
            self.update_seg(k, |g| g.unit_end = true);
        }
    }

    /// The next place in the transmit order (see the module docs).
    fn take_order(&mut self) -> u64 {
        let o = self.next_order;
        self.next_order = self.next_order.wrapping_add(1);
        o
    }

    fn append(&mut self, s: u64, e: u64, now: Instant, tx: TxStamp) {
        self.max_abs = e;
        self.max_flight = self.max_flight.max(e - self.una_abs);
        if self.segs.len() >= self.max_segments
            && let Some((&k, last)) = self.segs.last_key_value()
            && last.end == s
        {
            // At the cap: coalesce into the last record. A SACKed last record loses
            // its credit until the new bytes are SACKed too; a lost or retransmitted
            // one keeps its state (the new bytes may be retransmitted once more, or
            // counted twice in pipe): both err on the conservative side.
            let order = self.take_order();
            self.update_seg(k, |g| {
                g.end = e;
                g.xmit_ts = now;
                g.xmit_order = order;
                g.tx = tx;
                g.sacked = false;
            });
            return;
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
            tx,
        };
        self.attach(s, &g);
        self.segs.insert(s, g);
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
    #[cfg(test)]
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
    /// [`Scoreboard::lost_run_bytes`]).
    pub fn mark_unit_end(&mut self, end: SeqNum, psh_mark: bool) {
        let Some(e) = self.abs(end) else {
            return;
        };
        if let Some((&k, g)) = self.segs.before(e)
            && g.end == e
        {
            self.update_seg(k, |g| {
                g.unit_end = true;
                g.psh_mark = psh_mark;
            });
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
        if let Some((&k, g)) = self.segs.at_or_before(cursor)
            && g.end > cursor
        {
            cursor = k;
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
    pub(super) fn oldest_awaiting(&mut self) -> Option<(Instant, u64, u64)> {
        self.tsorted.first()
    }

    /// The newest awaiting segment sent strictly before `(t, order)` (RACK_sent_after
    /// order).
    pub(super) fn newest_awaiting_before(&mut self, t: Instant, order: u64) -> Option<Instant> {
        self.tsorted.last_below(&(t, order, 0)).map(|(t, _, _)| t)
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
        if let Some(&k) = self.lost_queue.first()
            && let Some(g) = self.segs.get(&k)
        {
            return Some(self.ret(k, g.end, NextSegKind::Lost));
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
            if let Some((_, &e)) = self.sacked.range(..=p).next_back()
                && e > p
            {
                p = e;
            }
            if p < hs
                && let Some((&k, g)) = self.segs.at_or_before(p)
                && g.end > p
                && !g.sacked
                && !g.rtx_in_flight
            {
                return Some(self.ret(k, g.end, NextSegKind::Unsacked));
            }
        }
        // Rule 4: rescue retransmission, once per recovery.
        if let Some(rp) = self.recovery_point {
            let rescue_ok = self.rescue_rxt.is_none_or(|r| r < rp);
            if self.una_abs < rp && rescue_ok {
                // The highest outstanding unSACKed segment.
                let mut hi = self.max_abs;
                if let Some((&s, &e)) = self.sacked.range(..hi).next_back()
                    && e >= hi
                {
                    hi = s;
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
    /// from SND.UNA to SND.MAX. O(n) in the records: for checks after each step, not for
    /// the data path.
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

mod ack;
mod rest;
pub(crate) use rest::ScoreboardRest;
#[cfg(test)]
mod tests;
