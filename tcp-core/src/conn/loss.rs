//! SACK-based loss recovery for a connection: the RFC 6675 scoreboard, RACK-TLP loss
//! detection and tail loss probes (RFC 8985), Proportional Rate Reduction (RFC 9937),
//! DSACK and Eifel undo (RFC 2883, RFC 3708, RFC 3522). Used when both sides agreed on
//! SACK; without SACK the connection keeps NewReno's duplicate-ACK recovery (RFC 6582).
//! F-RTO (RFC 5682), the spurious-timeout detection after an RTO, serves both: its ACK
//! half (`frto_on_ack`) lives here too.

use super::Connection;
use crate::recovery::CongestionControl;
use crate::recovery::{
    AckSample, Delivered, FrtoAck, FrtoPhase, FrtoVerdict, Prr, Rack, SackBlock, Scoreboard, Tlp,
    TlpAckOutcome, TlpProbe, Undo,
};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
use crate::wire::TcpHeader;

/// RFC 8985 §7.2 `WCDelAckT`: the worst-case delayed-ACK time added to the PTO when only
/// one segment is in flight.
pub(super) const TLP_MAX_ACK_DELAY: Duration = Duration::from_millis(200);
/// The least wait for a cumulative ACK of SACKed data before treating it as reneged
/// (Linux's `tcp_check_sack_reneging`).
const RENEGING_DELAY: Duration = Duration::from_millis(10);
/// SACKed intervals kept on the scoreboard (hostile SACK patterns cannot grow it beyond).
const MAX_SACK_INTERVALS: usize = 256;

/// The SACK sender's state, allocated with the first data sent when SACK is in use (see
/// `loss_slot` for where it lives).
#[derive(Debug)]
pub(super) struct Loss {
    pub(super) sb: Scoreboard,
    pub(super) rack: Rack,
    pub(super) tlp: Tlp,
    pub(super) prr: Option<Prr>,
    pub(super) undo: Undo,
    pub(super) min_rtt: Option<Duration>,
    /// RACK's reordering timer (RFC 8985 §6.3).
    pub(super) reo_at: Option<Instant>,
    /// The probe timeout (RFC 8985 §7.2).
    pub(super) pto_at: Option<Instant>,
    /// The PTO fired: send a probe.
    pub(super) probe_due: bool,
    /// The next retransmission is the rescue retransmission (RFC 6675 §4 rule 4).
    pub(super) rescue: bool,
}

impl Loss {
    pub(super) fn new(snd_una: SeqNum, smss: u32, send_buffer: usize) -> Self {
        // Enough segment records for a full send buffer of small segments, bounded.
        let max_segments = (send_buffer / 64).clamp(1024, 1 << 16);
        Loss {
            sb: Scoreboard::new(snd_una, smss, MAX_SACK_INTERVALS, max_segments),
            rack: Rack::new(),
            tlp: Tlp::new(TLP_MAX_ACK_DELAY),
            prr: None,
            undo: Undo::new(),
            min_rtt: None,
            reo_at: None,
            pto_at: None,
            probe_due: false,
            rescue: false,
        }
    }

    pub(super) fn in_recovery(&self) -> bool {
        self.sb.recovery_point().is_some()
    }
}

/// What one ACK delivered, as F-RTO reads it (RFC 5682 §3.1 step 3).
#[derive(Clone, Copy, Debug, Default)]
struct Delivery {
    /// Segments were newly SACKed.
    sacked: bool,
    /// Never-retransmitted data below the F-RTO RecoveryPoint was newly ACKed or SACKed
    /// (Linux `FLAG_ORIG_SACK_ACKED`).
    original: bool,
    /// Data above the F-RTO RecoveryPoint was newly ACKed or SACKed.
    beyond: bool,
    /// A DSACK or Eifel undo already declared the congestion response spurious.
    undone: bool,
}

impl Delivery {
    fn note(&mut self, d: &Delivered, recovery_point: Option<SeqNum>) {
        let Some(rp) = recovery_point else {
            return;
        };
        if d.end.gt(rp) {
            self.beyond = true;
        } else if !d.retransmitted {
            self.original = true;
        }
    }
}

impl Connection {
    /// The ACK half of SACK recovery (RFC 6675 §5, RFC 8985 §6.2 and §7.4, RFC 9937 §6),
    /// after the cumulative ACK was applied to the send buffer and the RTT measured.
    /// `prev_una` is SND.UNA before this ACK.
    pub(super) fn sack_on_ack(
        &mut self,
        now: Instant,
        seg: &TcpHeader,
        prev_una: SeqNum,
        no_payload: bool,
        dupack: bool,
        rtt: Option<Duration>,
    ) {
        let smss = self.eff_mss();
        let srtt = self.rtt.srtt().unwrap_or(self.rtt.rto());
        let ecr = seg.options.timestamps.filter(|_| self.ts_ok).map(|t| t.ecr);
        let ecr_time = ecr.and_then(|e| self.ts_send_time(now, e));
        let (snd_una, snd_max, ack) = (self.snd.una, self.snd.max, seg.ack);
        let frto_rp = self.frto.as_deref().map(|f| f.recovery_point());
        let Some(l) = self.loss.awake(prev_una) else {
            return;
        };
        if let Some(r) = rtt {
            l.min_rtt = Some(l.min_rtt.map_or(r, |m| m.min(r)));
        }
        let min_rtt = l.min_rtt.unwrap_or(srtt);
        let mut blocks = [SackBlock::new(ack, ack); 4];
        let mut n = 0;
        for b in seg.options.sack_blocks.iter().take(4) {
            blocks[n] = SackBlock::new(b.left, b.right);
            n += 1;
        }
        let blocks = &blocks[..n];
        let sacked_before = l.sb.sacked_bytes();
        let want_rate = self.cc.wants_rate_samples();
        let prior_in_flight = if want_rate { l.sb.pipe() } else { 0 };
        let rack = &mut l.rack;
        let mut delivery = Delivery::default();
        let up = l.sb.on_ack(ack, blocks, |d| {
            rack.on_delivered(d, now, ecr_time, min_rtt);
            delivery.note(d, frto_rp);
        });
        delivery.sacked = up.sacked_bytes > 0;
        // Invalid blocks were ignored (Linux's tcp_is_sackblock_valid): counted, and no
        // evidence of anything below.
        self.stats.add(
            u64::from(up.ignored_blocks) + u64::from(up.refused_blocks),
            |s| &mut s.sack_blocks_ignored,
        );
        self.stats
            .add(u64::from(up.dubious_dsack), |s| &mut s.dsacks_dubious);
        l.rack.on_ack(snd_una, snd_max, up.dsack.is_some());
        let advanced = snd_una.gt(prev_una);
        if advanced && l.sb.head_sacked() {
            // The cumulative ACK stopped at data the peer SACKed: it reneged (RFC 2018
            // §8). Give it a moment to ACK that data after all (an ACK may have been
            // reordered), then time out, forget the SACKs and resend (Linux's
            // tcp_check_sack_reneging: max(SRTT/2, 10 ms), the recovery state untouched).
            l.pto_at = None;
            self.rtx_at = Some(now + (srtt / 2).max(RENEGING_DELAY));
            return;
        }

        // Tail loss probe outcome (RFC 8985 §7.4).
        // A duplicate ACK without SACK information: invalid blocks are none.
        let pure_dupack = !advanced && no_payload && blocks.len() <= usize::from(up.ignored_blocks);
        let tlp_outcome = l.tlp.on_ack(ack, up.dsack.map(|d| d.block), pure_dupack);

        // Undo a spurious congestion response (RFC 3708 with DSACK, RFC 3522 with
        // timestamps), as Linux's tcp_try_undo_dsack / tcp_try_undo_recovery.
        let mut undo = None;
        let mut dsack_spurious = false;
        if let Some(d) = up.dsack {
            self.stats.rare().dsacks_received += 1;
            dsack_spurious = l.undo.on_dsack(&d) && l.undo.dsack_says_spurious();
        }
        // Within fast recovery, not while retransmissions are still in flight (Linux's
        // tcp_try_undo_partial waits for them; at the end of recovery the undo is tried
        // again).
        let may_undo = !l.in_recovery() || l.sb.retrans_bytes() == 0;
        if may_undo
            && (dsack_spurious || advanced && ecr.is_some_and(|e| l.undo.eifel_says_spurious(e)))
        {
            undo = l.undo.take();
        }
        if undo.is_some() {
            if l.in_recovery() {
                // The fast recovery was spurious and is over (Linux's tcp_try_undo_dsack or
                // tcp_try_undo_partial, then tcp_try_to_open): cwnd is restored below and
                // no longer follows PRR, nor does the end of recovery set it to the
                // restored ssthresh (slow start's infinity, if the loss came in slow
                // start). Segments still marked lost are resent all the same.
                l.sb.exit_recovery();
                l.rack.on_recovery_exit();
                l.prr = None;
            } else {
                // The spurious response was a timeout (outside fast recovery only an RTO
                // marks segments lost): take its loss marks back too, so the window is not
                // sent again (RFC 4015 §3.2, Linux tcp_try_undo_loss unmarking losses).
                l.sb.undo_loss_marks();
            }
        }

        // RACK loss detection, with the RFC 6675 DupThresh rule as the fallback.
        let in_rec = l.in_recovery();
        let out = l
            .rack
            .detect_loss(&mut l.sb, now, in_rec, min_rtt, srtt, |_, _| {});
        l.reo_at = out.reo_timeout;
        let lost = out.lost_bytes > 0 || l.sb.mark_lost_dupthresh() > 0;

        if let Some((cwnd, ssthresh)) = undo {
            self.cc.on_spurious_congestion_undo(cwnd, ssthresh);
            self.stats.rare().undos += 1;
            delivery.undone = true;
        }
        if tlp_outcome == TlpAckOutcome::LossRepaired {
            // The probe repaired a loss: respond as to a fast recovery episode that is
            // already over (RFC 8985 §7.4.2).
            let flight = self.snd.max.since(self.snd.una);
            self.cc.on_recovery_start(now, flight, smss);
            self.cc.on_recovery_end(now, flight, smss);
            self.stats.rare().tlp_recoveries += 1;
        }
        if lost && !in_rec {
            self.sack_enter_recovery(now);
        }
        // F-RTO decides before the ACK clocks cwnd (as Linux's tcp_process_loss runs
        // before tcp_cong_control).
        if delivery.undone || self.loss.in_recovery() {
            // A DSACK or Eifel undo decided first, or a loss started fast recovery.
            self.frto_end(false);
        } else {
            self.frto_on_ack(&FrtoAck {
                ack: self.snd.una,
                advanced,
                duplicate: !advanced && (dupack || delivery.sacked),
                original_acked: delivery.original,
                beyond_recovery_point: delivery.beyond,
            });
        }
        let Some(l) = self.loss.active_mut() else {
            return;
        };
        let pipe = l.sb.pipe();
        match l.sb.recovery_point() {
            Some(rp) if ack.ge(rp) => {
                // RFC 6675 §5: the cumulative ACK covers RecoveryPoint; recovery ends.
                l.sb.exit_recovery();
                l.rack.on_recovery_exit();
                l.prr = None;
                self.cc.on_recovery_end(now, pipe, smss);
            }
            Some(_) => {
                // RFC 9937 §6: cwnd = pipe + sndcnt, where DeliveredData is
                // delta(SND.UNA) + delta(SACKed): bytes SACKed before and now cumulatively
                // acknowledged were delivered once, when they were SACKed (Linux's
                // newly_acked_sacked).
                let delivered = (i64::from(up.acked_bytes) + i64::from(l.sb.sacked_bytes())
                    - i64::from(sacked_before))
                .clamp(0, i64::from(u32::MAX)) as u32;
                let sndcnt = match l.prr.as_mut() {
                    Some(p) => p.on_ack(delivered, pipe, advanced, lost),
                    None => Some(0),
                };
                if let Some(sndcnt) = sndcnt {
                    self.cc.set_recovery_cwnd(pipe.saturating_add(sndcnt));
                }
            }
            None if up.acked_bytes > 0 => {
                let app_limited = !self.cwnd_limited();
                let sample = AckSample {
                    now,
                    acked_bytes: up.acked_bytes,
                    sacked_bytes: up.sacked_bytes,
                    rtt,
                    srtt: self.rtt.srtt(),
                    in_flight: pipe,
                    snd_una: self.snd.una,
                    snd_nxt: self.snd.max,
                    app_limited,
                };
                self.cc.on_ack_sample(&sample, smss);
            }
            None => {}
        }
        self.sack_rate_sample(now, rtt, prior_in_flight, want_rate);
    }

    /// Hands the ACK's delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation
    /// §3.3) to the controller, after loss detection and the recovery bookkeeping, as
    /// Linux's `tcp_rate_gen` and `cong_control` at the end of `tcp_ack`.
    fn sack_rate_sample(
        &mut self,
        now: Instant,
        rtt: Option<Duration>,
        prior_in_flight: u32,
        want: bool,
    ) {
        let min_rtt = self.rtt.min_rtt();
        let Some(l) = self.loss.active_mut() else {
            return;
        };
        let Some((mut rs, newly_lost)) = l.sb.take_rate_sample(now, min_rtt, want) else {
            return;
        };
        let smss = self.eff_mss();
        let is_cwnd_limited = self.cwnd_limited();
        let rto_recovery = self.recover.gt(self.snd.una);
        let Some(l) = self.loss.active_mut() else {
            return;
        };
        rs.rtt = rtt;
        rs.newly_lost = u32::try_from(newly_lost).unwrap_or(u32::MAX);
        rs.prior_in_flight = prior_in_flight;
        rs.in_flight = l.sb.pipe();
        rs.is_cwnd_limited = is_cwnd_limited;
        rs.in_recovery = l.in_recovery() || rto_recovery;
        self.cc.on_rate_sample(&rs, smss);
        if self.cc.wants_app_limited() {
            l.sb.mark_app_limited();
        }
    }

    /// A loss was detected outside recovery: RFC 6675 §5 step (4), RFC 9937 §6
    /// initialization, and the undo record (RFC 3708).
    pub(super) fn sack_enter_recovery(&mut self, now: Instant) {
        if self.mtu_probe_lost(now) {
            // The loss was the MTU probe's: no congestion response (RFC 4821 §7.5).
            return;
        }
        let smss = self.eff_mss();
        let (cwnd, ssthresh) = (self.cc.cwnd(), self.cc.ssthresh());
        let flight = self.snd.max.since(self.snd.una);
        let Some(l) = self.loss.active_mut() else {
            return;
        };
        l.sb.enter_recovery();
        l.undo.clear();
        l.undo.on_congestion_response(cwnd, ssthresh, self.snd.una);
        l.tlp.reset();
        l.pto_at = None;
        let sacked = l.sb.sacked_bytes();
        self.cc.on_recovery_start(now, flight, smss);
        l.prr = Some(Prr::start(
            self.cfg.prr,
            self.cc.ssthresh(),
            cwnd,
            flight,
            sacked,
            smss,
        ));
        self.stats.rare().fast_retransmits += 1;
    }

    /// The retransmission timer expired with SACK in use (RFC 6675 §5.1, RFC 8985 §6.3):
    /// every unSACKed segment is lost; retransmissions go by `NextSeg()` rule 1. `prior`
    /// is `(cwnd, ssthresh)` from before the timeout's congestion response, which an undo
    /// restores.
    pub(super) fn sack_on_rto(&mut self, prior: (u32, u32)) {
        let ((cwnd, ssthresh), una) = (prior, self.snd.una);
        if let Some(l) = self.loss.awake(una) {
            if !l.in_recovery() {
                l.undo.clear();
            }
            l.undo.on_congestion_response(cwnd, ssthresh, una);
            if l.sb.head_sacked() {
                // The receiver reneged: its SACKs no longer hold (Linux's
                // tcp_timeout_mark_lost), so every segment is lost and resent.
                l.sb.clear_sack();
                self.stats.rare().sack_renegings += 1;
            }
            l.sb.on_rto();
            l.rack.on_recovery_exit();
            l.tlp.reset();
            l.prr = None;
            l.pto_at = None;
            l.reo_at = None;
            l.probe_due = false;
        }
    }

    /// F-RTO's ACK half (RFC 5682 §3.1 steps 2 and 3): after the ACK's window update and
    /// its bookkeeping, before it clocks cwnd.
    pub(super) fn frto_on_ack(&mut self, a: &FrtoAck) {
        let Some(f) = self.frto.as_deref_mut() else {
            return;
        };
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let wnd_end = self.snd.una + self.snd.wnd;
        // §3.1 step 2b: unsent data exists and the peer's window admits some of it.
        let can_send_new = self.snd.max.lt(data_end) && self.snd.max.lt(wnd_end);
        let second = f.phase() == FrtoPhase::SecondAck;
        match f.on_ack(a, can_send_new) {
            FrtoVerdict::Wait => {}
            FrtoVerdict::SendNew => {
                // §3.1 step 2b: up to two new segments instead of retransmissions (without
                // SACK, go-back-N pauses: SND.NXT returns to SND.MAX).
                self.frto_new_segs = 2;
                self.snd.nxt = self.snd.max;
            }
            FrtoVerdict::Genuine => self.frto_end(second),
            FrtoVerdict::Spurious { cwnd, ssthresh } => {
                // §3.1 step 3b: undo the congestion response, un-mark the losses the
                // timeout assumed, and go on with new data (RFC 5682 §4; Linux
                // tcp_try_undo_loss with F-RTO).
                self.frto_end(false);
                self.cc.on_spurious_congestion_undo(cwnd, ssthresh);
                self.stats.rare().undos += 1;
                self.stats.rare().frto_spurious += 1;
                if let Some(l) = self.loss.active_mut() {
                    l.undo.clear();
                    l.sb.undo_loss_marks();
                }
            }
        }
    }

    /// The F-RTO episode is over. `resume_go_back_n`: new data went out in step 2b and the
    /// timeout was genuine, so without SACK retransmission restarts from SND.UNA (§3.1
    /// step 3a); with SACK the scoreboard still holds the timeout's loss marks.
    fn frto_end(&mut self, resume_go_back_n: bool) {
        self.frto = None;
        self.frto_new_segs = 0;
        if resume_go_back_n && self.loss.is_none() {
            self.snd.nxt = self.snd.una;
        }
    }

    /// F-RTO holds back retransmissions: step 3 waits for the ACK that decides, after the
    /// new segments of step 2b (RFC 5682 §3.1).
    pub(super) fn frto_holds_retransmissions(&self) -> bool {
        self.frto
            .as_deref()
            .is_some_and(|f| f.phase() == FrtoPhase::SecondAck)
    }

    /// RACK's reordering timer expired (RFC 8985 §6.3).
    pub(super) fn sack_on_reorder_timeout(&mut self, now: Instant) {
        let srtt = self.rtt.srtt().unwrap_or(self.rtt.rto());
        let Some(l) = self.loss.active_mut() else {
            return;
        };
        l.reo_at = None;
        let in_rec = l.in_recovery();
        let min_rtt = l.min_rtt.unwrap_or(srtt);
        let out = l
            .rack
            .detect_loss(&mut l.sb, now, in_rec, min_rtt, srtt, |_, _| {});
        l.reo_at = out.reo_timeout;
        if out.lost_bytes > 0 && !in_rec {
            self.sack_enter_recovery(now);
        }
    }

    /// Arms (`rearm`) the probe timeout when RFC 8985 §7.2 allows it: SACK in use, data
    /// outstanding, not in recovery, no probe outstanding; never later than the RTO.
    /// Without `rearm` only cancels a probe that is no longer allowed. As RFC 8985 §7.2
    /// and Linux (`tcp_schedule_loss_probe` after `tcp_write_xmit` sent new data, and on
    /// ACKs with `FLAG_SET_XMIT_TIMER`), the timer restarts when new data goes out and when
    /// an ACK acknowledges new data, not on every ACK: a SACK alone does not postpone it.
    /// `advancing_rto`: the RTO restarts now too, so the probe is bounded by a whole RTO
    /// rather than by what remains of the current one.
    pub(super) fn sack_arm_pto(&mut self, now: Instant, rearm: bool, advancing_rto: bool) {
        let srtt = self.rtt.srtt();
        let smss = self.eff_mss().max(1);
        let outstanding = self.snd.max.since(self.snd.una);
        let rto_remaining = if advancing_rto {
            self.current_rto()
        } else {
            self.rtx_at
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
        };
        let established = self.state().is_synchronized();
        let enabled = self.cfg.tail_loss_probe;
        let Some(l) = self.loss.active_mut() else {
            return;
        };
        // No probe during F-RTO (RFC 5682 §3.1): its steps decide what is sent.
        if !enabled
            || self.frto.is_some()
            || l.sb.head_sacked()
            || outstanding == 0
            || !established
            || !l.tlp.can_arm(true, l.in_recovery())
            || self.rtx_at.is_none()
        {
            l.pto_at = None;
            return;
        }
        if !rearm {
            return;
        }
        let flight_segments = outstanding.div_ceil(smss);
        let pto = l.tlp.pto(srtt, flight_segments, rto_remaining);
        l.pto_at = Some(now + pto);
    }

    /// What the send path should retransmit next in SACK mode, if anything: the
    /// `NextSeg()` choice (RFC 6675 §4) while recovering or after an RTO, or the tail loss
    /// probe. Returns `(start, end, is_probe)`; `None` means "send new data as usual".
    pub(super) fn sack_next_retransmission(
        &mut self,
        new_data_allowed: bool,
    ) -> Option<(SeqNum, SeqNum)> {
        let l = self.loss.active_mut()?;
        if l.probe_due {
            l.probe_due = false;
            return match l.tlp.choose_probe(new_data_allowed, &l.sb) {
                Some(TlpProbe::Retransmit { start, end }) => {
                    l.tlp.on_probe_sent(self.snd.max, true);
                    self.stats.rare().tlp_probes += 1;
                    Some((start, end))
                }
                Some(TlpProbe::NewData) => {
                    l.tlp.on_probe_sent(self.snd.max, false);
                    self.stats.rare().tlp_probes += 1;
                    self.tlp_new_data = true;
                    None
                }
                None => None,
            };
        }
        if !l.in_recovery() && l.sb.lost_bytes() == 0 {
            return None;
        }
        let ns = l.sb.next_seg(new_data_allowed)?;
        match ns.kind {
            crate::recovery::NextSegKind::NewData => None,
            // Rules 3 and 4 only where the profile has them (`sack_unlost_retransmits`).
            crate::recovery::NextSegKind::Unsacked | crate::recovery::NextSegKind::Rescue
                if !self.cfg.sack_unlost_retransmits =>
            {
                None
            }
            crate::recovery::NextSegKind::Rescue => {
                l.rescue = true;
                Some((ns.start, ns.end))
            }
            _ => Some((ns.start, ns.end)),
        }
    }

    /// Nothing more goes out now: if that is for want of data rather than of window, the
    /// samples of what is in flight are application-limited (draft-cheng-iccrg-delivery-
    /// rate-estimation §3.4, Linux's `tcp_rate_check_app_limited`): less than a segment
    /// is waiting, the congestion window is not full, and no lost segment awaits its
    /// retransmission.
    pub(super) fn sack_check_app_limited(&mut self) {
        if self.loss.is_none() {
            return;
        }
        let smss = self.eff_mss();
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let unsent = if data_end.gt(self.snd.max) {
            data_end.since(self.snd.max)
        } else {
            0
        };
        let cwnd = self.cc.cwnd();
        let Some(l) = self.loss.active_mut() else {
            // At rest nothing is in flight, lost or retransmitted.
            if unsent < smss && cwnd > 0 {
                self.loss.mark_app_limited();
            }
            return;
        };
        if unsent < smss && l.sb.pipe() < cwnd && l.sb.lost_bytes() <= l.sb.retrans_bytes() {
            l.sb.mark_app_limited();
        }
    }

    /// When our TSval `ecr` was sent, reconstructed from the 1 ms timestamp clock.
    fn ts_send_time(&self, now: Instant, ecr: u32) -> Option<Instant> {
        let sent = ecr.wrapping_sub(self.ts_offset);
        let elapsed = self.ts_clock(now).wrapping_sub(sent);
        (elapsed < 1 << 31).then(|| now.saturating_sub(Duration::from_millis(u64::from(elapsed))))
    }
}
