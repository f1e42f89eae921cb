//! RACK-TLP loss detection (RFC 8985): time-based loss marking with an adaptive
//! reordering window ([`Rack`], §6) and tail loss probes ([`Tlp`], §7).
//!
//! Per-segment transmit times live in the [`Scoreboard`]; [`Rack`] holds RACK's own
//! state and scans the scoreboard's time-ordered index, marking segments lost there.

use super::scoreboard::{Delivered, SackBlock, Scoreboard};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};

/// RFC 8985 §6.2 step 4: `RACK.reo_wnd_persist` is reset to 16 recoveries.
const REO_WND_PERSIST: u32 = 16;
/// Upper bound on `RACK.reo_wnd_mult` (Linux keeps it in a `u8`); the window is capped
/// by SRTT anyway.
const REO_WND_MULT_MAX: u32 = 255;
/// RFC 8985 §6.2 step 4: DupThresh for the `segs_sacked` test.
const DUP_THRESH: u32 = 3;
/// Added to a PTO of more than one segment in flight (Linux `TCP_TIMEOUT_MIN_US`).
const PTO_SLACK: Duration = Duration::from_millis(2);

/// The result of one RACK loss scan (RFC 8985 §6.2 step 5, §6.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RackOutcome {
    /// Segments newly marked lost.
    pub lost_segments: u32,
    /// Bytes newly marked lost.
    pub lost_bytes: u32,
    /// When to run the scan again (the reordering timer, §6.3), if some segment sent
    /// before the most recently delivered one is not yet overdue.
    pub reo_timeout: Option<Instant>,
}

/// RACK state (RFC 8985 §6.1 "RACK.*" variables).
#[derive(Clone, Debug)]
pub struct Rack {
    /// `RACK.xmit_ts` and `RACK.end_seq` of the most recently sent delivered segment,
    /// with its transmit order (which replaces `RACK.end_seq` in `RACK_sent_after`; see
    /// [`sent_after`]).
    latest: Option<(Instant, u64, SeqNum)>,
    /// `RACK.rtt`.
    rtt: Duration,
    /// `RACK.fack`: the highest end sequence delivered.
    fack: Option<SeqNum>,
    /// `RACK.reordering_seen`.
    reordering_seen: bool,
    /// `RACK.reo_wnd_mult`.
    reo_wnd_mult: u32,
    /// `RACK.reo_wnd_persist`.
    reo_wnd_persist: u32,
    /// `RACK.dsack_round`.
    dsack_round: Option<SeqNum>,
    /// The last computed `RACK.reo_wnd`.
    reo_wnd: Duration,
}

/// What RACK carries over an idle period ([`Rack::rest`]): what it learnt about
/// reordering (RFC 8985 §6.2 step 4). `RACK.xmit_ts`, `RACK.end_seq`, `RACK.rtt` and
/// `RACK.fack` describe segments already delivered: every segment of the next flight is
/// sent after them and ends beyond them, so the next delivery replaces them before they
/// could decide anything.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RackRest {
    reordering_seen: bool,
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
}

impl Default for Rack {
    fn default() -> Self {
        Self::new()
    }
}

impl Rack {
    /// Initial state (RFC 8985 §6.1): `reo_wnd_mult = 1`, `reo_wnd_persist = 0`.
    pub fn new() -> Self {
        Rack {
            latest: None,
            rtt: Duration::ZERO,
            fack: None,
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            dsack_round: None,
            reo_wnd: Duration::ZERO,
        }
    }

    /// The state to carry over an idle period, unless a DSACK round is still open.
    pub(crate) fn rest(&self) -> Option<RackRest> {
        self.dsack_round.is_none().then_some(RackRest {
            reordering_seen: self.reordering_seen,
            reo_wnd_mult: self.reo_wnd_mult,
            reo_wnd_persist: self.reo_wnd_persist,
        })
    }

    /// RACK again after an idle period (see [`Rack::rest`]).
    pub(crate) fn from_rest(r: &RackRest) -> Self {
        Rack {
            reordering_seen: r.reordering_seen,
            reo_wnd_mult: r.reo_wnd_mult,
            reo_wnd_persist: r.reo_wnd_persist,
            ..Rack::new()
        }
    }

    /// `RACK.rtt`: the RTT of the most recently sent delivered segment.
    #[cfg(test)]
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// `RACK.xmit_ts` / `RACK.end_seq`.
    #[cfg(test)]
    pub fn latest(&self) -> Option<(Instant, SeqNum)> {
        self.latest.map(|(t, _, e)| (t, e))
    }

    /// `RACK.reo_wnd_mult`.
    #[cfg(test)]
    pub fn reo_wnd_mult(&self) -> u32 {
        self.reo_wnd_mult
    }

    /// `RACK.reo_wnd` as last computed by [`Rack::detect_loss`].
    #[cfg(test)]
    pub fn reo_wnd(&self) -> Duration {
        self.reo_wnd
    }

    /// `RACK.reordering_seen`.
    #[cfg(test)]
    pub fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// RFC 8985 §6.2 steps 2–3 for one segment newly ACKed or SACKed (as reported by
    /// [`Scoreboard::on_ack`]). `ts_ecr` is the send time of the TSval the ACK echoes, if
    /// timestamps are in use (pass the start of the echoed clock tick: conservative);
    /// `min_rtt` is the connection's minimum RTT.
    pub fn on_delivered(
        &mut self,
        d: &Delivered,
        now: Instant,
        ts_ecr: Option<Instant>,
        min_rtt: Duration,
    ) {
        // Step 3: RACK_detect_reordering.
        match self.fack {
            Some(f) if d.end.le(f) => {
                if d.end.lt(f) && !d.retransmitted {
                    self.reordering_seen = true;
                }
            }
            _ => self.fack = Some(d.end),
        }
        // Step 2: RACK_update.
        let rtt = now.saturating_duration_since(d.xmit_ts);
        if d.retransmitted {
            // Ambiguous samples from retransmissions are skipped when the ACK echoes the
            // original transmission or the RTT is implausibly short.
            if ts_ecr.is_some_and(|e| e < d.xmit_ts) || rtt < min_rtt {
                return;
            }
        }
        self.rtt = rtt;
        let after = match self.latest {
            None => true,
            Some((t, o, _)) => sent_after(d.xmit_ts, d.xmit_order, t, o),
        };
        if after {
            self.latest = Some((d.xmit_ts, d.xmit_order, d.end));
        }
    }

    /// RFC 8985 §6.2 step 4 bookkeeping for each ACK: `dsack` tells whether the ACK
    /// carried a DSACK; `snd_una`/`snd_nxt` after processing it. Grows `reo_wnd_mult` at
    /// most once per round that sees a DSACK.
    pub fn on_ack(&mut self, snd_una: SeqNum, snd_nxt: SeqNum, dsack: bool) {
        if self.dsack_round.is_some_and(|r| snd_una.ge(r)) {
            self.dsack_round = None;
        }
        if self.dsack_round.is_none() && dsack {
            self.dsack_round = Some(snd_nxt);
            self.reo_wnd_mult = (self.reo_wnd_mult + 1).min(REO_WND_MULT_MAX);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// RFC 8985 §6.2 step 4: a fast or RTO recovery ended; after 16 DSACK-free recoveries
    /// the window multiplier returns to 1.
    pub fn on_recovery_exit(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_mult = 1;
        }
    }

    /// RFC 8985 §6.2 step 4 `RACK_update_reo_wnd()`: zero when no reordering was seen and
    /// the sender is in recovery or DupThresh segments are SACKed; otherwise
    /// `min(reo_wnd_mult · min_RTT / 4, SRTT)`.
    pub fn compute_reo_wnd(
        &self,
        in_recovery: bool,
        segs_sacked: u32,
        min_rtt: Duration,
        srtt: Duration,
    ) -> Duration {
        if !self.reordering_seen && (in_recovery || segs_sacked >= DUP_THRESH) {
            return Duration::ZERO;
        }
        (min_rtt / 4).saturating_mul(self.reo_wnd_mult).min(srtt)
    }

    /// RFC 8985 §6.2 step 5 `RACK_detect_loss()` (also the reordering-timer handler,
    /// §6.3): every segment awaiting an ACK that was sent before `RACK.xmit_ts` and whose
    /// `xmit_ts + RACK.rtt + RACK.reo_wnd` has passed is marked lost on the scoreboard and
    /// reported through `on_lost(start, end)`. O(log n) per segment marked, plus one.
    pub fn detect_loss(
        &mut self,
        sb: &mut Scoreboard,
        now: Instant,
        in_recovery: bool,
        min_rtt: Duration,
        srtt: Duration,
        mut on_lost: impl FnMut(SeqNum, SeqNum),
    ) -> RackOutcome {
        let mut out = RackOutcome::default();
        self.reo_wnd = self.compute_reo_wnd(in_recovery, sb.sacked_segments(), min_rtt, srtt);
        let Some((rack_ts, rack_order, _)) = self.latest else {
            return out;
        };
        let wait = self.rtt.saturating_add(self.reo_wnd);
        // The index is ordered by (xmit_ts, transmit order): the segments sent before
        // RACK's form a prefix, and the oldest expire first.
        while let Some((t, o, k)) = sb.oldest_awaiting() {
            if !sent_after(rack_ts, rack_order, t, o) {
                break;
            }
            let deadline = t.saturating_add(wait);
            if deadline > now {
                break;
            }
            if let Some((s, end)) = sb.mark_lost_at(k) {
                out.lost_segments += 1;
                out.lost_bytes = out.lost_bytes.saturating_add(end.since(s));
                on_lost(s, end);
            } else {
                break;
            }
        }
        // The latest remaining segment sent before RACK's has the largest deadline.
        out.reo_timeout = sb
            .newest_awaiting_before(rack_ts, rack_order)
            .map(|t| t.saturating_add(wait));
        out
    }
}

/// RFC 8985 §6.2 `RACK_sent_after(t1, seq1, t2, seq2)`, with the scoreboard's transmit
/// order in place of the end sequence numbers. The RFC's tie-break by sequence number
/// orders segments sent together (one burst, one TSO unit) as the transmit order does,
/// but it would put a retransmission sent at the same instant as a higher segment before
/// it, so RACK would deem a segment it had just retransmitted lost again; a clock that
/// does not move between two transmissions (a fast link, a coarse clock, a simulator)
/// makes that a livelock.
fn sent_after(t1: Instant, order1: u64, t2: Instant, order2: u64) -> bool {
    t1 > t2 || (t1 == t2 && order1 > order2)
}

/// What to send as a tail loss probe (RFC 8985 §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlpProbe {
    /// One new segment of up to SMSS bytes.
    NewData,
    /// Retransmit `[start, end)`, the most recently sent segment.
    Retransmit {
        /// First sequence number.
        start: SeqNum,
        /// Sequence number just past it.
        end: SeqNum,
    },
}

/// What an ACK meant for the outstanding probe (RFC 8985 §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlpAckOutcome {
    /// No probe outstanding, or the ACK does not yet cover it.
    Pending,
    /// The probe was new data and was delivered: the episode ends.
    NewDataDelivered,
    /// A DSACK for the probe: the original was not lost; the episode ends, no reduction.
    Spurious,
    /// The probe repaired a single loss: the episode ends and the caller MUST invoke a
    /// congestion response (§7.4.2: reduce cwnd as for a loss, e.g. CWR).
    LossRepaired,
    /// A plain duplicate ACK without SACK information at TLP.end_seq: the episode ends.
    Ended,
}

/// Tail loss probe state (RFC 8985 §7: `TLP.end_seq`, `TLP.is_retrans`,
/// `TLP.max_ack_delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlp {
    end_seq: Option<SeqNum>,
    is_retrans: bool,
    max_ack_delay: Duration,
}

impl Default for Tlp {
    fn default() -> Self {
        Self::new(Duration::from_millis(200))
    }
}

impl Tlp {
    /// A TLP with the peer's worst-case delayed-ACK time `max_ack_delay` (RFC 8985 §7.5.2
    /// `TLP.max_ack_delay`, RECOMMENDED 200 ms).
    pub fn new(max_ack_delay: Duration) -> Self {
        Tlp {
            end_seq: None,
            is_retrans: false,
            max_ack_delay,
        }
    }

    /// A probe is outstanding (`TLP.end_seq` is set).
    pub fn in_flight(&self) -> bool {
        self.end_seq.is_some()
    }

    /// RFC 8985 §7.2: a PTO may be armed when SACK is in use, the connection is not in
    /// loss recovery, and no probe is already outstanding (the caller also requires
    /// unacknowledged data and an ESTABLISHED-like state).
    pub fn can_arm(&self, sack_enabled: bool, in_recovery: bool) -> bool {
        sack_enabled && !in_recovery && self.end_seq.is_none()
    }

    /// RFC 8985 §7.2 PTO: `2·SRTT`, plus `TLP.max_ack_delay` when only one segment is in
    /// flight (else 2 ms, as Linux's `tcp_schedule_loss_probe`), or 1 s without an RTT sample; never later than the RTO would fire
    /// (`rto_remaining` from now).
    pub fn pto(
        &self,
        srtt: Option<Duration>,
        flight_segments: u32,
        rto_remaining: Duration,
    ) -> Duration {
        let pto = match srtt {
            Some(s) => {
                let p = s.saturating_mul(2);
                if flight_segments <= 1 {
                    p.saturating_add(self.max_ack_delay)
                } else {
                    // Linux adds TCP_TIMEOUT_MIN (2 ms) so the probe never races the
                    // ACK of the last segment.
                    p.saturating_add(PTO_SLACK)
                }
            }
            None => Duration::from_secs(1),
        };
        pto.min(rto_remaining)
    }

    /// RFC 8985 §7.3: the probe to send when the PTO fires — one new segment if there is
    /// unsent data the receive window allows, else a retransmission of the most recently
    /// sent segment. `None` when nothing is outstanding.
    pub fn choose_probe(&self, new_data_allowed: bool, sb: &Scoreboard) -> Option<TlpProbe> {
        if new_data_allowed {
            return Some(TlpProbe::NewData);
        }
        sb.last_segment()
            .map(|(start, end)| TlpProbe::Retransmit { start, end })
    }

    /// RFC 8985 §7.3: the probe was sent; `snd_nxt` is SND.NXT after sending it
    /// (`TLP.end_seq = SND.NXT`), `is_retrans` whether it was a retransmission.
    pub fn on_probe_sent(&mut self, snd_nxt: SeqNum, is_retrans: bool) {
        self.end_seq = Some(snd_nxt);
        self.is_retrans = is_retrans;
    }

    /// RFC 8985 §7.4 `TLP_process_ack()`. `ack` is the ACK number; `dsack` the ACK's
    /// DSACK block, if any; `pure_dupack` that the ACK advanced nothing and carried no SACK
    /// information.
    pub fn on_ack(
        &mut self,
        ack: SeqNum,
        dsack: Option<SackBlock>,
        pure_dupack: bool,
    ) -> TlpAckOutcome {
        let Some(end) = self.end_seq else {
            return TlpAckOutcome::Pending;
        };
        if ack.lt(end) {
            return TlpAckOutcome::Pending;
        }
        let outcome = if !self.is_retrans {
            TlpAckOutcome::NewDataDelivered
        } else if dsack.is_some_and(|d| d.start.lt(end) && end.le(d.end)) {
            // The DSACK covers the probe's last byte (Linux FLAG_DSACK_TLP).
            TlpAckOutcome::Spurious
        } else if ack.gt(end) {
            TlpAckOutcome::LossRepaired
        } else if pure_dupack {
            TlpAckOutcome::Ended
        } else {
            return TlpAckOutcome::Pending;
        };
        self.end_seq = None;
        outcome
    }

    /// Ends any episode (on RTO or when entering recovery, as Linux clears
    /// `tlp_high_seq`).
    pub fn reset(&mut self) {
        self.end_seq = None;
        self.is_retrans = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const MSS: u32 = 100;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    fn d(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn sq(off: u32) -> SeqNum {
        SeqNum::new(off)
    }

    /// Ten segments sent 1 ms apart at t = 0..9 ms.
    fn board() -> Scoreboard {
        let mut sb = Scoreboard::new(SeqNum::new(0), MSS, 64, 1024);
        for i in 0..10 {
            sb.on_transmit(sq(i * MSS), sq((i + 1) * MSS), ms(u64::from(i)));
        }
        sb
    }

    fn ack(sb: &mut Scoreboard, rack: &mut Rack, now: Instant, a: u32, blocks: &[SackBlock]) {
        let mut ds = Vec::new();
        let up = sb.on_ack(sq(a), blocks, |x| ds.push(*x));
        for x in &ds {
            rack.on_delivered(x, now, None, d(100));
        }
        rack.on_ack(sb.high_ack(), sb.high_data(), up.dsack.is_some());
    }

    fn lost(
        rack: &mut Rack,
        sb: &mut Scoreboard,
        now: Instant,
        in_recovery: bool,
    ) -> (Vec<SeqNum>, RackOutcome) {
        let mut v = Vec::new();
        let out = rack.detect_loss(sb, now, in_recovery, d(100), d(100), |s, _| v.push(s));
        sb.check_invariants().unwrap();
        (v, out)
    }

    #[test]
    fn reordering_window_delays_marking_then_timer_marks() {
        let mut sb = board();
        let mut rack = Rack::new();
        // Segment 5 (sent at 5 ms) is SACKed at 105 ms: RACK.rtt = 100 ms.
        ack(
            &mut sb,
            &mut rack,
            ms(105),
            0,
            &[SackBlock::new(sq(500), sq(600))],
        );
        assert_eq!(rack.rtt(), d(100));
        assert_eq!(rack.latest(), Some((ms(5), sq(600))));
        // No reordering seen, not in recovery, 1 SACKed segment < DupThresh: reo_wnd =
        // min_RTT/4 = 25 ms. Segments 0–4 expire at xmit + 125 ms: none yet.
        let (v, out) = lost(&mut rack, &mut sb, ms(105), false);
        assert!(v.is_empty());
        assert_eq!(rack.reo_wnd(), d(25));
        // The timer is for the newest of them: 4 + 125 = 129 ms.
        assert_eq!(out.reo_timeout, Some(ms(129)));
        // At 127 ms segments 0–2 (deadlines 125, 126, 127) are lost.
        let (v, out) = lost(&mut rack, &mut sb, ms(127), false);
        assert_eq!(v, [sq(0), sq(100), sq(200)]);
        assert_eq!((out.lost_segments, out.lost_bytes), (3, 300));
        assert_eq!(out.reo_timeout, Some(ms(129)));
        let (v, out) = lost(&mut rack, &mut sb, ms(129), false);
        assert_eq!(v, [sq(300), sq(400)]);
        assert_eq!(out.reo_timeout, None);
        // Segments sent after RACK.xmit_ts (6–9) are never marked by this ACK.
        assert_eq!(sb.lost_bytes(), 500);
        assert_eq!(sb.next_seg(false).map(|n| n.start), Some(sq(0)));
    }

    #[test]
    fn in_recovery_without_reordering_the_window_is_zero() {
        let mut sb = board();
        let mut rack = Rack::new();
        ack(
            &mut sb,
            &mut rack,
            ms(105),
            0,
            &[SackBlock::new(sq(500), sq(600))],
        );
        let (v, _) = lost(&mut rack, &mut sb, ms(105), true);
        assert_eq!(v.len(), 5, "xmit + RACK.rtt <= now for segments 0-4");
        assert_eq!(rack.reo_wnd(), Duration::ZERO);
    }

    #[test]
    fn dupthresh_sacked_segments_zero_the_window() {
        let mut sb = board();
        let mut rack = Rack::new();
        ack(
            &mut sb,
            &mut rack,
            ms(105),
            0,
            &[SackBlock::new(sq(300), sq(600))],
        );
        assert_eq!(sb.sacked_segments(), 3);
        let (v, _) = lost(&mut rack, &mut sb, ms(105), false);
        assert_eq!(v, [sq(0), sq(100), sq(200)]);
    }

    #[test]
    fn observed_reordering_keeps_window_and_dsack_grows_it() {
        let mut sb = board();
        let mut rack = Rack::new();
        ack(
            &mut sb,
            &mut rack,
            ms(105),
            0,
            &[SackBlock::new(sq(500), sq(600))],
        );
        // Segment 2 delivered after segment 5: reordering (not a retransmission).
        ack(
            &mut sb,
            &mut rack,
            ms(106),
            0,
            &[
                SackBlock::new(sq(200), sq(300)),
                SackBlock::new(sq(500), sq(600)),
            ],
        );
        assert!(rack.reordering_seen());
        assert_eq!(rack.compute_reo_wnd(true, 5, d(100), d(100)), d(25));
        // Three segments retransmitted, so three D-SACKs are believed (tcp_dsack_seen).
        sb.on_transmit(sq(0), sq(300), ms(107));
        // A DSACK grows the multiplier once per round.
        ack(
            &mut sb,
            &mut rack,
            ms(110),
            100,
            &[SackBlock::new(sq(0), sq(100))],
        );
        assert_eq!(rack.reo_wnd_mult(), 2);
        ack(
            &mut sb,
            &mut rack,
            ms(111),
            100,
            &[SackBlock::new(sq(0), sq(100))],
        );
        assert_eq!(rack.reo_wnd_mult(), 2, "same round");
        assert_eq!(rack.compute_reo_wnd(false, 0, d(100), d(100)), d(50));
        // Capped by SRTT.
        assert_eq!(rack.compute_reo_wnd(false, 0, d(100), d(30)), d(30));
        // The round ends when SND.UNA passes SND.NXT at the DSACK.
        ack(
            &mut sb,
            &mut rack,
            ms(200),
            1000,
            &[SackBlock::new(sq(0), sq(100))],
        );
        assert_eq!(rack.reo_wnd_mult(), 3);
        // 16 DSACK-free recoveries reset it.
        for _ in 0..15 {
            rack.on_recovery_exit();
            assert_eq!(rack.reo_wnd_mult(), 3);
        }
        rack.on_recovery_exit();
        assert_eq!(rack.reo_wnd_mult(), 1);
    }

    #[test]
    fn retransmission_samples_are_filtered() {
        let mut rack = Rack::new();
        let seg = Delivered {
            start: sq(0),
            end: sq(100),
            xmit_ts: ms(50),
            xmit_order: 0,
            retransmitted: true,
            sacked: false,
        };
        // RTT 20 ms < min_RTT 100 ms: the ACK was probably for the original.
        rack.on_delivered(&seg, ms(70), None, d(100));
        assert_eq!(rack.latest(), None);
        // Timestamp echo older than the retransmission.
        rack.on_delivered(&seg, ms(200), Some(ms(10)), d(100));
        assert_eq!(rack.latest(), None);
        rack.on_delivered(&seg, ms(200), Some(ms(50)), d(100));
        assert_eq!(rack.latest(), Some((ms(50), sq(100))));
        assert_eq!(rack.rtt(), d(150));
    }

    #[test]
    fn lost_retransmission_is_detected_again() {
        let mut sb = board();
        let mut rack = Rack::new();
        ack(
            &mut sb,
            &mut rack,
            ms(105),
            0,
            &[SackBlock::new(sq(500), sq(600))],
        );
        lost(&mut rack, &mut sb, ms(105), true);
        // Retransmit segment 0 at 106 ms; later segments sent at 110 ms are SACKed at 210.
        sb.on_transmit(sq(0), sq(100), ms(106));
        sb.on_transmit(sq(1000), sq(1100), ms(110));
        ack(
            &mut sb,
            &mut rack,
            ms(210),
            0,
            &[
                SackBlock::new(sq(1000), sq(1100)),
                SackBlock::new(sq(500), sq(600)),
            ],
        );
        let (v, _) = lost(&mut rack, &mut sb, ms(210), true);
        assert!(
            v.contains(&sq(0)),
            "the retransmission of segment 0 was lost too: {v:?}"
        );
    }

    #[test]
    fn retransmission_at_the_same_instant_is_sent_after_the_delivered_segment() {
        // Every segment goes out at 0 ms and the clock does not move (a link with no
        // delay): segment 0 is lost, 1–4 are SACKed, RACK.rtt is 0.
        let mut sb = Scoreboard::new(SeqNum::new(0), MSS, 64, 1024);
        for i in 0..5 {
            sb.on_transmit(sq(i * MSS), sq((i + 1) * MSS), ms(0));
        }
        let mut rack = Rack::new();
        ack(
            &mut sb,
            &mut rack,
            ms(0),
            0,
            &[SackBlock::new(sq(100), sq(500))],
        );
        let (v, _) = lost(&mut rack, &mut sb, ms(0), true);
        assert_eq!(v, [sq(0)]);
        // Retransmitted at the same instant: it was sent after segment 4 (RACK's latest),
        // though its sequence number is lower, so a duplicate ACK does not mark it again.
        sb.on_transmit(sq(0), sq(100), ms(0));
        ack(
            &mut sb,
            &mut rack,
            ms(0),
            0,
            &[SackBlock::new(sq(100), sq(500))],
        );
        let (v, out) = lost(&mut rack, &mut sb, ms(0), true);
        assert!(
            v.is_empty(),
            "the retransmission was marked lost again: {v:?}"
        );
        assert_eq!(out.reo_timeout, None);
    }

    #[test]
    fn pto_rules() {
        let tlp = Tlp::default();
        // 2·SRTT + 2 ms (Linux's TCP_TIMEOUT_MIN).
        assert_eq!(tlp.pto(Some(d(50)), 4, d(1000)), d(102));
        // One segment in flight: + max_ack_delay (200 ms).
        assert_eq!(tlp.pto(Some(d(50)), 1, d(1000)), d(300));
        // No RTT sample: 1 s.
        assert_eq!(tlp.pto(None, 4, d(3000)), d(1000));
        // Never after the RTO.
        assert_eq!(tlp.pto(Some(d(50)), 1, d(250)), d(250));
        assert!(tlp.can_arm(true, false));
        assert!(!tlp.can_arm(false, false) && !tlp.can_arm(true, true));
    }

    #[test]
    fn probe_choice_and_episode_outcomes() {
        let sb = board();
        let mut tlp = Tlp::default();
        assert_eq!(tlp.choose_probe(true, &sb), Some(TlpProbe::NewData));
        assert_eq!(
            tlp.choose_probe(false, &sb),
            Some(TlpProbe::Retransmit {
                start: sq(900),
                end: sq(1000)
            })
        );
        // Retransmission probe; SND.NXT = 1000.
        tlp.on_probe_sent(sq(1000), true);
        assert!(tlp.in_flight() && !tlp.can_arm(true, false));
        assert_eq!(tlp.on_ack(sq(900), None, false), TlpAckOutcome::Pending);
        // DSACK for the probe: the original arrived; no congestion response.
        let dsack = SackBlock::new(sq(900), sq(1000));
        assert_eq!(
            tlp.on_ack(sq(1000), Some(dsack), false),
            TlpAckOutcome::Spurious
        );
        assert!(!tlp.in_flight());
        // ACK beyond the probe: it repaired a loss.
        tlp.on_probe_sent(sq(1000), true);
        assert_eq!(
            tlp.on_ack(sq(1100), None, false),
            TlpAckOutcome::LossRepaired
        );
        // ACK exactly at end_seq without SACK: episode ends.
        tlp.on_probe_sent(sq(1000), true);
        assert_eq!(tlp.on_ack(sq(1000), None, false), TlpAckOutcome::Pending);
        assert_eq!(tlp.on_ack(sq(1000), None, true), TlpAckOutcome::Ended);
        // New-data probe delivered.
        tlp.on_probe_sent(sq(1100), false);
        assert_eq!(
            tlp.on_ack(sq(1100), None, false),
            TlpAckOutcome::NewDataDelivered
        );
        tlp.on_probe_sent(sq(1100), false);
        tlp.reset();
        assert!(!tlp.in_flight());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// RACK never marks a segment sent after RACK.xmit_ts, never marks one before its
        /// deadline, and the timer it returns is in the future.
        #[test]
        fn rack_marks_only_overdue_segments(
            gaps in proptest::collection::vec(0u64..20, 2..40),
            sacks in proptest::collection::vec(any::<u16>(), 1..10),
            later in 0u64..400,
        ) {
            let mut sb = Scoreboard::new(SeqNum::new(0), MSS, 16, 64);
            let mut t = 0;
            let n = gaps.len() as u32;
            for (i, g) in gaps.iter().enumerate() {
                t += g;
                sb.on_transmit(sq(i as u32 * MSS), sq((i as u32 + 1) * MSS), ms(t));
            }
            let mut rack = Rack::new();
            let now = ms(t + 100);
            for s in sacks {
                // Above SND.UNA: a block starting at it is invalid (tcp_is_sackblock_valid).
                let i = 1 + u32::from(s) % (n - 1);
                let mut ds = Vec::new();
                sb.on_ack(sq(0), &[SackBlock::new(sq(i * MSS), sq((i + 1) * MSS))], |x| ds.push(*x));
                for x in &ds {
                    rack.on_delivered(x, now, None, d(10));
                }
            }
            let at = now + d(later);
            let (rts, rorder, _) = rack.latest.unwrap();
            let wait = rack.rtt() + rack.compute_reo_wnd(false, sb.sacked_segments(), d(10), d(100));
            let mut marked = Vec::new();
            let out = rack.detect_loss(&mut sb, at, false, d(10), d(100), |s, e| marked.push((s, e)));
            prop_assert_eq!(sb.check_invariants(), Ok(()));
            for (s, _) in marked {
                let (xt, xo) = sb.xmit_ts_of(s).unwrap();
                prop_assert!(sent_after(rts, rorder, xt, xo));
                prop_assert!(xt + wait <= at);
            }
            if let Some(to) = out.reo_timeout {
                prop_assert!(to > at);
            }
        }
    }
}
