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
    /// `RACK.xmit_ts` and `RACK.end_seq` of the most recently sent delivered segment.
    latest: Option<(Instant, SeqNum)>,
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

    /// `RACK.rtt`: the RTT of the most recently sent delivered segment.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// `RACK.xmit_ts` / `RACK.end_seq`.
    pub fn latest(&self) -> Option<(Instant, SeqNum)> {
        self.latest
    }

    /// `RACK.reo_wnd_mult`.
    pub fn reo_wnd_mult(&self) -> u32 {
        self.reo_wnd_mult
    }

    /// `RACK.reo_wnd` as last computed by [`Rack::detect_loss`].
    pub fn reo_wnd(&self) -> Duration {
        self.reo_wnd
    }

    /// `RACK.reordering_seen`.
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
            Some((t, e)) => sent_after(d.xmit_ts, d.end, t, e),
        };
        if after {
            self.latest = Some((d.xmit_ts, d.end));
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
        let Some((rack_ts, rack_end)) = self.latest else {
            return out;
        };
        let Some(rack_end) = sb.offset(rack_end) else {
            return out;
        };
        let wait = self.rtt.saturating_add(self.reo_wnd);
        // The index is ordered by (xmit_ts, end): the segments sent before RACK's form a
        // prefix, and the oldest expire first.
        while let Some((t, e, k)) = sb.oldest_awaiting() {
            if (t, e) >= (rack_ts, rack_end) {
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
            .newest_awaiting_before(rack_ts, rack_end)
            .map(|t| t.saturating_add(wait));
        out
    }
}

/// RFC 8985 §6.2 `RACK_sent_after(t1, seq1, t2, seq2)`.
fn sent_after(t1: Instant, seq1: SeqNum, t2: Instant, seq2: SeqNum) -> bool {
    t1 > t2 || (t1 == t2 && seq1.gt(seq2))
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

    /// `TLP.end_seq`.
    pub fn end_seq(&self) -> Option<SeqNum> {
        self.end_seq
    }

    /// RFC 8985 §7.2: a PTO may be armed when SACK is in use, the connection is not in
    /// loss recovery, and no probe is already outstanding (the caller also requires
    /// unacknowledged data and an ESTABLISHED-like state).
    pub fn can_arm(&self, sack_enabled: bool, in_recovery: bool) -> bool {
        sack_enabled && !in_recovery && self.end_seq.is_none()
    }

    /// RFC 8985 §7.2 PTO: `2·SRTT`, plus `TLP.max_ack_delay` when only one segment is in
    /// flight, or 1 s without an RTT sample; never later than the RTO would fire
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
                    p
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
        } else if dsack.is_some_and(|d| d.end == end) {
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
