//! Segment arrival (RFC 9293 §3.10.7), in Linux's order and with Linux's answers:
//!
//! - SYN-SENT: `tcp_rcv_synsent_state_process` (RFC 9293 §3.10.7.3).
//! - Every other state: the segment is validated (`tcp_validate_incoming`: PAWS, RFC 7323
//!   §5.3; sequence acceptability, RFC 9293 §3.10.7.4 "first"; RST, RFC 5961 §3.2; SYN,
//!   RFC 5961 §4.2), then its ACK field is checked and applied (`tcp_ack`, RFC 5961 §5.2;
//!   TS.Recent is taken only from a segment that passed every check, RFC 7323 §4.3), the
//!   state advances (`tcp_rcv_state_process`), its text and FIN are queued
//!   (`tcp_data_queue`), and the ACK engine decides when to answer (`tcp_ack_snd_check`).
//! - ACKs in answer to invalid segments and challenge ACKs are rate-limited per connection
//!   (`tcp_oow_rate_limited`, RFC 5961 §7).

use super::ack::MAX_QUICKACKS;
use super::phase::{Opening, Phase};
use super::seq_space::RecvSeq;
use super::tcp_info;
use super::{Connection, State, reset_for, seq_len};
use crate::config::SegmentRules;
use crate::error::ConnError;
use crate::event::Event;
use crate::recovery::CongestionControl;
use crate::recovery::FrtoAck;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant, secs32};
use crate::wire::{TcpFlags, TcpHeader, Timestamps};
use bytes::Bytes;

/// PAWS: TS.Recent older than this is no longer trusted (RFC 7323 §5.5: 24 days).
const PAWS_IDLE_SECS: u32 = 24 * 24 * 3600;
/// PAWS tolerates a TSval this much older than TS.Recent (Linux's `TCP_PAWS_WINDOW`).
const PAWS_WINDOW: u32 = 1;
/// How soon a SYN is retransmitted after an unacceptable ACK in SYN-SENT: Linux's
/// `TCP_TIMEOUT_MIN`, two timer ticks (8 ms at the reference machine's HZ = 250).
const SYN_SENT_QUICK_RETRY: Duration = Duration::from_millis(8);
/// Bytes of the timestamp option as every segment carries it (with its two NOPs).
pub(super) const TS_OPTION_LEN: u32 = 12;

/// What the ACK field of a segment is, next to SND.UNA and SND.NXT (`tcp_ack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckCheck {
    /// Older than SND.UNA by more than the peer could legitimately hold back (RFC 5961
    /// §5.2): answered with a challenge ACK and dropped.
    TooOld,
    /// Acknowledges data never sent: dropped (RFC 9293 §3.10.7.4).
    Unsent,
    /// Below SND.UNA but plausible (a reordered ACK): the rest of the segment is processed.
    Old,
    /// SND.UNA <= SEG.ACK <= SND.NXT.
    Acceptable,
}

impl Connection {
    /// Processes one arriving segment whose checksum was already verified.
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        self.handle_segment_ecn(now, seg, payload, crate::wire::IpEcn::NotEct);
    }

    /// [`Connection::handle_segment`] for a segment whose IP header carried the ECN
    /// codepoint `ecn` (RFC 3168): a congestion mark (CE) on data of a connection that
    /// negotiated ECN is echoed with ECE until the peer answers with CWR.
    pub fn handle_segment_ecn(
        &mut self,
        now: Instant,
        seg: &TcpHeader,
        payload: Bytes,
        ecn: crate::wire::IpEcn,
    ) {
        let urgency = self.ecn.on_receive(seg, ecn, !payload.is_empty());
        if urgency.quickack {
            let wnd = self.rwnd.rcv_wnd();
            self.ack.enter_quickack_mode(wnd, super::ecn::ECN_QUICKACKS);
        }
        if urgency.now {
            self.ack.force_now();
        }
        if ecn == crate::wire::IpEcn::Ce {
            self.stats.rare().ce_received += 1;
        }
        self.stats.segs_in = self.stats.segs_in.wrapping_add(1);
        if self.cfg.drop_synfin && seg.flags.contains(TcpFlags::SYN | TcpFlags::FIN) {
            // FreeBSD's net.inet.tcp.drop_synfin (tcp_do_segment).
            self.stats.rare().no_ack_dropped += 1;
            return;
        }
        if !payload.is_empty() {
            self.stats.data_segs_in = self.stats.data_segs_in.wrapping_add(1);
        }
        let prev_una = self.snd.una;
        // MSG_MORE held a partial segment only for the send that ended the write.
        self.more_hold = false;
        match self.state() {
            State::Closed | State::Listen => {
                // RFC 9293 §3.10.7.1: a segment for a closed connection is answered with RST.
                if let Some((seq, ack, flags)) = reset_for(seg, payload.len()) {
                    self.queue_ctl(seq, ack, flags);
                }
            }
            State::SynSent => self.on_syn_sent(now, seg, payload),
            _ => self.on_synchronized(now, seg, payload),
        }
        self.update_persist(now);
        let advanced = self.snd.una.gt(prev_una);
        self.sack_arm_pto(now, advanced, advanced);
    }

    /// RFC 9293 §3.10.7.3: SYN-SENT (Linux's `tcp_rcv_synsent_state_process`). Data and FIN
    /// on a SYN-ACK are not taken: the peer sends them again (as Linux without Fast Open).
    fn on_syn_sent(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        let f = seg.flags;
        if f.contains(TcpFlags::ACK) {
            // The ACK must acknowledge our SYN and nothing beyond it; a SYN-ACK must echo a
            // timestamp from since our SYN left (Linux's PAWS check for the active side).
            let bad_ack = seg.ack.le(self.snd.iss) || seg.ack.gt(self.snd.max);
            let syn_stamp = self.phase.opening().map_or(0, |o| o.syn_stamp);
            let bad_echo = self.cfg.timestamps
                && seg.options.timestamps.is_some_and(|ts| {
                    let ecr = ts.ecr.wrapping_sub(self.ts_offset);
                    ts.ecr != 0
                        && ((ecr.wrapping_sub(syn_stamp) as i32) < 0
                            || (self.ts_clock(now).wrapping_sub(ecr) as i32) < 0)
                });
            if bad_ack && self.retries == 0 && self.cfg.segment_rules != SegmentRules::Bsd {
                // The bad ACK hints that our SYN met an old connection's segments (a lost
                // FIN or RST): retransmit it soon (Linux's tcp_rcv_synsent_state_process).
                self.rtx_at = Some(now + SYN_SENT_QUICK_RETRY);
            }
            if bad_ack || bad_echo {
                if !f.contains(TcpFlags::RST) {
                    self.queue_ctl(seg.ack, SeqNum::new(0), TcpFlags::RST);
                    self.stats.rare().resets_sent += 1;
                }
                return;
            }
            // A RST is accepted only with an acceptable ACK (RFC 5961 §3.2).
            if f.contains(TcpFlags::RST) {
                self.stats.rare().resets_received += 1;
                self.fail(ConnError::Refused);
                return;
            }
            if !f.contains(TcpFlags::SYN) {
                return;
            }
            self.on_syn_ack(now, seg);
            return;
        }
        if f.contains(TcpFlags::RST) || !f.contains(TcpFlags::SYN) {
            return;
        }
        // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, answer SYN-ACK. The
        // handshake's data moves on (the SYN's time stays ours).
        let opening = self.phase.opening().copied().unwrap_or_default();
        self.enter(Phase::SynRcvd(Opening {
            syn_pending: true,
            ..opening
        }));
        self.take_syn(now, seg);
        let accept = self.cfg.ecn != crate::config::EcnMode::Off;
        let bsd = self.cfg.segment_rules == crate::config::SegmentRules::Bsd;
        self.ecn.on_simultaneous_syn(seg, accept, bsd);
        self.bsd_hold_syn_data(payload);
        self.snd.wl1 = seg.seq;
    }

    /// What the peer's SYN (or SYN-ACK) tells: its ISN, options, first TS.Recent and window.
    fn take_syn(&mut self, now: Instant, seg: &TcpHeader) {
        self.rcv = RecvSeq::from_syn(seg.seq);
        self.negotiate(&seg.options);
        if let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok) {
            self.ts_recent = ts.val;
            self.ts_recent_secs = secs32(now);
        }
        self.last_rcv = now;
        // The window of a SYN or SYN-ACK is never scaled (RFC 7323 §2.2).
        self.snd.wnd = u32::from(seg.window);
        self.snd.max_wnd = self.snd.wnd;
    }

    /// Our SYN is acknowledged by the peer's SYN-ACK: ESTABLISHED (RFC 9293 §3.10.7.3).
    fn on_syn_ack(&mut self, now: Instant, seg: &TcpHeader) {
        self.take_syn(now, seg);
        self.ecn.on_synack(seg);
        // Our SYN window was advertised before RCV.NXT was known; it counts from here.
        self.rwnd.rebase(self.rcv.nxt);
        self.snd.una = seg.ack;
        self.buf_seq = seg.ack;
        self.stats.bytes_acked += 1;
        // RFC 6582 §3.2: `recover` starts at the ISS, so a loss in the first window can be
        // fast-retransmitted.
        self.recover = self.snd.iss;
        self.snd.wl1 = seg.seq;
        self.snd.wl2 = seg.ack;
        self.rtt_sample_for_syn(now, seg);
        self.stop_rtx();
        self.establish(now);
        if self.ack.in_pingpong() || !self.send_buf.is_empty() {
            // Save one ACK: it rides on the data about to be sent, or on the interactive
            // reply (Linux: a blocked writer, `TCP_DEFER_ACCEPT` or ping-pong mode).
            self.ack.schedule();
            let wnd = self.rwnd.rcv_wnd();
            self.ack.enter_quickack_mode(wnd, MAX_QUICKACKS);
            self.ack.delay_max(now);
        } else {
            self.ack_now = true;
        }
    }

    /// RTT of the handshake: from the echoed timestamp, or from the SYN's send time when
    /// it was not retransmitted (Karn's rule, RFC 6298 §3).
    fn rtt_sample_for_syn(&mut self, now: Instant, seg: &TcpHeader) {
        if let Some(rtt) = self.ts_rtt(now, seg) {
            self.rtt.sample(rtt, now, self.snd.una, self.snd.nxt);
        } else if self.retries == 0
            && let Some(timed) = self.rtt_timed.take()
        {
            self.rtt
                .sample(now - timed.sent, now, self.snd.una, self.snd.nxt);
        }
        self.rtt_timed = None;
    }

    /// RTT from the echoed timestamp (RFC 7323 §4.1), if timestamps are in use.
    fn ts_rtt(&self, now: Instant, seg: &TcpHeader) -> Option<Duration> {
        let ts = seg.options.timestamps.filter(|_| self.ts_ok)?;
        if ts.ecr == 0 {
            return None;
        }
        let sent = ts.ecr.wrapping_sub(self.ts_offset);
        let elapsed = self.ts_clock(now).wrapping_sub(sent);
        // A value in the future or absurdly old is not a measurement.
        (elapsed < 1 << 31).then(|| Duration::from_millis(u64::from(elapsed)))
    }

    /// Our timestamp clock: 1 ms ticks (Linux), without the offset.
    pub(super) fn ts_clock(&self, now: Instant) -> u32 {
        now.as_millis() as u32
    }

    /// RFC 9293 §3.10.7.4: SYN-RECEIVED and all synchronized states (Linux's
    /// `tcp_rcv_state_process` and the slow path of `tcp_rcv_established`).
    fn on_synchronized(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        let f = seg.flags;
        let rst = f.contains(TcpFlags::RST);
        let syn = f.contains(TcpFlags::SYN);
        if self.ts_ok && !rst && seg.options.timestamps.is_none() && self.cfg.require_timestamps {
            // RFC 7323 §3.2: once timestamps are in use, a segment without one is dropped
            // (FreeBSD's tolerate_missing_ts = 0).
            self.stats.rare().paws_dropped += 1;
            return;
        }
        if self.cfg.segment_rules == SegmentRules::Bsd {
            self.bsd_segment(now, seg, payload);
            return;
        }

        if self.state() == State::TimeWait
            && f.contains(TcpFlags::FIN)
            && !rst
            && !syn
            && seg.seq + seq_len(seg, payload.len()) == self.rcv.nxt
        {
            // A retransmitted FIN (it ends at RCV.NXT): ACK it again and restart the 2·MSL
            // timer (RFC 9293 §3.10.7.4, "eighth"; as Linux's tcp_timewait_state_process).
            // Any other FIN is an unacceptable segment, handled below.
            self.ack_now = true;
            self.restart_time_wait(now);
            return;
        }
        if self.state() == State::SynRcvd
            && syn
            && !rst
            && !f.contains(TcpFlags::ACK)
            && seg.seq == self.rcv.irs
        {
            // The peer retransmitted its SYN: our SYN-ACK was lost. Send it again; the
            // final ACK can no longer be timed (Karn, RFC 6298 §3).
            self.phase.set_syn_pending(true);
            self.rtt_timed = None;
            self.stats.rare().retransmits += 1;
            return;
        }
        if !f.contains(TcpFlags::ACK) && !rst && !syn {
            // Neither ACK, RST nor SYN: dropped unanswered (RFC 9293 §3.10.7.4 "fifth").
            self.stats.rare().no_ack_dropped += 1;
            return;
        }
        if !self.validate(now, seg, payload.len()) {
            return;
        }

        // Fifth: the ACK field (RFC 9293 §3.10.7.4, RFC 5961 §5.2).
        match self.check_ack(seg.ack) {
            AckCheck::TooOld | AckCheck::Unsent | AckCheck::Old
                if self.state() == State::SynRcvd =>
            {
                // RFC 9293 §3.10.7.4: an unacceptable ACK in SYN-RECEIVED draws a reset.
                self.reply_reset(seg, payload.len());
                return;
            }
            AckCheck::TooOld => {
                self.stats.rare().ack_too_old += 1;
                self.challenge_ack(now);
                return;
            }
            AckCheck::Unsent => {
                // RFC 5961 §5.2: send an ACK (rate-limited) and drop the segment, data and all.
                self.stats.rare().ack_too_new += 1;
                self.challenge_ack(now);
                return;
            }
            AckCheck::Old => {}
            AckCheck::Acceptable => {
                // TS.Recent (RFC 7323 §4.3), only from a segment that passed every check.
                self.replace_ts_recent(now, seg);
            }
        }
        self.last_rcv = now;
        self.probes.answered();

        if self.state() == State::SynRcvd {
            if self.snd.una.lt(seg.ack) && seg.ack.le(self.snd.max) {
                // RFC 9293 §3.10.7.4: SYN-RECEIVED -> ESTABLISHED.
                self.snd.wnd = u32::from(seg.window) << self.snd_wscale;
                self.snd.max_wnd = self.snd.max_wnd.max(self.snd.wnd);
                self.snd.wl1 = seg.seq;
                self.snd.wl2 = seg.ack;
                self.establish(now);
            } else {
                self.reply_reset(seg, payload.len());
                return;
            }
        }

        let fin = f.contains(TcpFlags::FIN);
        let data_beyond = !payload.is_empty() && (seg.seq + payload.len() as u32).gt(self.rcv.nxt);
        if !self.process_ack(now, seg, payload.is_empty(), data_beyond) {
            return;
        }
        if self.state() == State::Closed {
            return;
        }
        if let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok) {
            let rtt = self.ts_rtt(now, seg);
            let len = seq_len(seg, payload.len());
            let rcv_mss = self.ack.rcv_mss();
            self.rwnd.rtt_measure_ts(ts.ecr, len, rcv_mss, rtt);
        }

        // Seventh: the segment text (Linux's tcp_rcv_state_process, step 7).
        match self.state() {
            State::CloseWait | State::Closing | State::LastAck if seg.seq.ge(self.rcv.nxt) => {
                // The peer already sent its FIN: nothing new may follow it.
            }
            State::FinWait1 | State::FinWait2 if self.orphaned && data_beyond => {
                // New data for an application that closed: reset (RFC 9293 §3.10.7.4
                // leaves this open; Linux and RFC 2525 §2.17 reset).
                self.abort_on_data(seg, payload.len());
                return;
            }
            _ => self.data_queue(now, seg, payload, fin),
        }
        if self.state() != State::Closed {
            self.ack_snd_check(now);
        }
    }

    /// `tcp_validate_incoming`: PAWS, sequence acceptability, RST and SYN. Returns whether
    /// the segment goes on to the ACK check.
    fn validate(&mut self, now: Instant, seg: &TcpHeader, payload_len: usize) -> bool {
        let f = seg.flags;
        let rst = f.contains(TcpFlags::RST);
        let syn = f.contains(TcpFlags::SYN);

        // RFC 7323 §5.3 (H1): PAWS first. A RST is still accepted.
        if let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok)
            && !rst
            && self.paws_discard(now, seg, ts)
        {
            if syn {
                self.challenge_ack(now);
            } else {
                self.stats.rare().paws_dropped += 1;
                if !self.oow_rate_limited(now, seg, payload_len) {
                    self.send_dupack(seg, payload_len);
                }
            }
            return false;
        }

        // First: sequence acceptability.
        if !self.sequence_ok(seg, payload_len) {
            self.stats.rare().out_of_window += 1;
            if !rst {
                if syn {
                    self.challenge_ack(now);
                } else if !self.oow_rate_limited(now, seg, payload_len) {
                    self.send_dupack(seg, payload_len);
                }
            } else if self.reset_check(seg) {
                self.on_reset();
            }
            return false;
        }

        // Second: RST (RFC 5961 §3.2): exactly at RCV.NXT (or RCV.NXT - 1 after the peer's
        // FIN, or at the end of the highest SACK block) resets; elsewhere in the window it
        // draws a challenge ACK.
        if rst {
            if seg.seq == self.rcv.nxt
                || self.reset_check(seg)
                || self.rst_at_sack_edge(seg)
                || !self.cfg.rst_challenge
            {
                self.on_reset();
            } else {
                self.challenge_ack(now);
            }
            return false;
        }

        // Fourth: a SYN in a synchronized state draws a challenge ACK (RFC 5961 §4.2),
        // except the peer's SYN-ACK crossing ours in a simultaneous open, which also
        // acknowledges our SYN (Linux's tcp_validate_incoming).
        if syn {
            let crossed = self.state() == State::SynRcvd
                && self.phase.opening().is_some_and(|o| !o.passive)
                && f.contains(TcpFlags::ACK)
                && payload_len == 0
                && seg.seq + 1 == self.rcv.nxt
                && seg.ack == self.snd.max;
            if !crossed && !self.cfg.syn_challenge {
                // RFC 5961 §4.2 off (RFC 793): an in-window SYN resets the connection.
                self.error = Some(ConnError::Reset);
                self.push_event(Event::Error(ConnError::Reset));
                self.send_reset_and_close();
                return false;
            }
            if !crossed {
                self.challenge_ack(now);
                return false;
            }
        }
        true
    }

    /// PAWS (RFC 7323 §5.3): the segment's TSval is older than TS.Recent (by more than
    /// Linux's one-tick window), TS.Recent is still trusted, and the segment is not a
    /// duplicate ACK that merely arrived out of order (Linux's `tcp_disordered_ack`).
    fn paws_discard(&self, now: Instant, seg: &TcpHeader, ts: Timestamps) -> bool {
        if self.paws_ok(now, ts.val, PAWS_WINDOW) {
            return false;
        }
        !self.disordered_ack(seg, ts)
    }

    /// TS.Recent was set more than 24 days ago (RFC 7323 §5.5; Linux's
    /// `TCP_PAWS_24DAYS`, FreeBSD's `TCP_PAWS_IDLE`): too old to judge a TSval by.
    pub(super) fn ts_recent_stale(&self, now: Instant) -> bool {
        secs32(now).wrapping_sub(self.ts_recent_secs) > PAWS_IDLE_SECS
    }

    /// `tcp_paws_check`: TSval is not older than TS.Recent by more than `window`, or
    /// TS.Recent is too old (24 days) or unset to judge by.
    fn paws_ok(&self, now: Instant, tsval: u32, window: u32) -> bool {
        (self.ts_recent.wrapping_sub(tsval) as i32) <= window as i32
            || self.ts_recent_stale(now)
            || self.ts_recent == 0
    }

    /// `tcp_disordered_ack`: a pure duplicate ACK at RCV.NXT that does not move the window,
    /// with a TSval within the replay window of the RTO: reordering, not an old duplicate.
    fn disordered_ack(&self, seg: &TcpHeader, ts: Timestamps) -> bool {
        let pure = seg.flags.contains(TcpFlags::ACK)
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && seg.seq == self.rcv.nxt;
        if !pure || seg.ack != self.snd.una {
            return false;
        }
        let wnd = u32::from(seg.window) << self.snd_wscale;
        if self.may_update_window(seg.ack, seg.seq, wnd) {
            return false;
        }
        // Increments of the peer's TSval within one RTO (a 1200 Hz clock at most).
        let replay = (self.current_rto().as_millis() as u64 * 1200 / 1000) as u32;
        self.ts_recent.wrapping_sub(ts.val) <= replay
    }

    /// `tcp_may_update_window`: the segment is at least as new as the one that last set
    /// SND.WND (RFC 9293 §3.10.7.4 "fifth"), or it opens the window at the same point.
    fn may_update_window(&self, ack: SeqNum, seq: SeqNum, wnd: u32) -> bool {
        ack.gt(self.snd.una)
            || seq.gt(self.snd.wl1)
            || (seq == self.snd.wl1 && (wnd > self.snd.wnd || wnd == 0))
    }

    /// Sequence acceptability (RFC 9293 §3.10.7.4 "first"), as Linux's `tcp_sequence`:
    /// the segment must not end before the window advertised last began (RCV.WUP, so a peer
    /// whose ACK we delayed is not refused), nor start beyond its right edge. A segment
    /// that starts inside the window but ends beyond it is taken only while nothing waits to
    /// be read (a FIN may stick out). A zero-length segment exactly at the right edge is
    /// acceptable: refusing it makes two endpoints whose windows line up ACK each other's
    /// ACKs for ever.
    fn sequence_ok(&self, seg: &TcpHeader, payload_len: usize) -> bool {
        let seq = seg.seq;
        let end = seq + seq_len(seg, payload_len);
        if end.lt(self.rwnd.rcv_wup()) {
            return false;
        }
        let limit = self.rcv.nxt + self.advertised_remaining();
        if end.gt(limit) {
            let fin = u32::from(seg.flags.contains(TcpFlags::FIN));
            if (end - fin).le(limit) {
                return true;
            }
            if seq.gt(limit) {
                return false;
            }
            return self.recv_buf.readable() == 0;
        }
        true
    }

    /// `tcp_reset_check`: a RST at RCV.NXT - 1 after the peer's FIN still counts.
    fn reset_check(&self, seg: &TcpHeader) -> bool {
        seg.seq + 1 == self.rcv.nxt
            && matches!(
                self.state(),
                State::CloseWait | State::LastAck | State::Closing
            )
    }

    /// A RST exactly at the end of the highest SACK block we report (RFC 5961 §3.2 as
    /// Linux extends it): the peer's RCV.NXT if it saw that data.
    fn rst_at_sack_edge(&self, seg: &TcpHeader) -> bool {
        if !self.sack_ok {
            return false;
        }
        let next = self.recv_buf.next();
        self.recv_buf
            .sack_blocks()
            .iter()
            .map(|&(_, b)| b)
            .max()
            .is_some_and(|b| seg.seq == self.rcv.nxt + (b - next) as u32)
    }

    /// An acceptable RST (RFC 9293 §3.10.7.4 "second"; RFC 1337 in TIME-WAIT).
    fn on_reset(&mut self) {
        if self.state() == State::TimeWait {
            // RFC 1337: a RST must not cut TIME_WAIT short.
            return;
        }
        self.stats.rare().resets_received += 1;
        match self.state() {
            // RFC 9293 §3.10.7.4: a passive open returns to LISTEN (the endpoint drops the
            // half-open connection); an active one is refused.
            State::SynRcvd => self.fail(ConnError::Refused),
            // CLOSING and LAST_ACK too: the application that still holds the socket sees
            // ECONNRESET (Linux's tcp_reset; checked against Linux 6.18).
            _ => self.fail(ConnError::Reset),
        }
    }

    /// Whether an ACK answering the invalid segment `seg` must be held back: at most one per
    /// `invalid_ratelimit` (RFC 5961 §7, Linux's `tcp_oow_rate_limited`). Data segments
    /// without SYN are not part of an ACK loop and are always answered.
    fn oow_rate_limited(&mut self, now: Instant, seg: &TcpHeader, payload_len: usize) -> bool {
        if seq_len(seg, payload_len) != 0 && !seg.flags.contains(TcpFlags::SYN) {
            return false;
        }
        self.oow_limit(now)
    }

    /// The per-connection limit itself (Linux's `__tcp_oow_rate_limited`).
    fn oow_limit(&mut self, now: Instant) -> bool {
        let limit = self.cfg.invalid_ratelimit;
        if let Some(last) = self.last_oow_ack
            && !limit.is_zero()
            && now.saturating_duration_since(last) < limit
        {
            self.stats.rare().oow_acks_limited += 1;
            return true;
        }
        self.last_oow_ack = Some(now);
        false
    }

    /// `tcp_send_dupack`: ACK an unacceptable segment; a duplicate of received data puts
    /// the receiver in quick-ACK mode and is reported in a D-SACK block (RFC 2883 §4).
    fn send_dupack(&mut self, seg: &TcpHeader, payload_len: usize) {
        let end = seg.seq + seq_len(seg, payload_len);
        if end != seg.seq && seg.seq.lt(self.rcv.nxt) {
            let wnd = self.rwnd.rcv_wnd();
            self.ack.enter_quickack_mode(wnd, MAX_QUICKACKS);
            let dup_end = if end.gt(self.rcv.nxt) {
                self.rcv.nxt
            } else {
                end
            };
            self.note_dsack(seg.seq, dup_end);
        }
        self.ack_now = true;
    }

    /// Sends a challenge ACK (RFC 5961 §3.2, §4.2, §5.2), within the per-connection limit
    /// on answers to invalid segments (RFC 5961 §7; Linux's global limit is off by default).
    pub(super) fn challenge_ack(&mut self, now: Instant) {
        if self.oow_limit(now) {
            self.stats.rare().challenge_acks_limited += 1;
            return;
        }
        self.stats.rare().challenge_acks += 1;
        if self.cfg.segment_rules == SegmentRules::Bsd {
            // FreeBSD's tcp_send_challenge_ack answers through tcp_respond: an ACK at
            // SND.NXT of its own, which never carries our FIN.
            self.queue_ctl(self.snd.nxt, self.rcv.nxt, TcpFlags::ACK);
            return;
        }
        self.ack_now = true;
    }

    /// A reset in reply to `seg` (RFC 9293 §3.10.7.4 for an unacceptable ACK in
    /// SYN-RECEIVED): `<SEQ=SEG.ACK><CTL=RST>`.
    pub(super) fn reply_reset(&mut self, seg: &TcpHeader, payload_len: usize) {
        if let Some((seq, ack, flags)) = reset_for(seg, payload_len) {
            self.queue_ctl(seq, ack, flags);
            self.stats.rare().resets_sent += 1;
        }
    }

    /// New data arrived after the application closed: reset in reply and close (Linux's
    /// `TCPAbortOnData`).
    pub(super) fn abort_on_data(&mut self, seg: &TcpHeader, payload_len: usize) {
        self.reply_reset(seg, payload_len);
        self.error = Some(ConnError::Aborted);
        self.set_closed();
    }

    /// `tcp_replace_ts_recent`: a segment that passed every check and starts at or before
    /// the left edge of the window we advertised updates TS.Recent (RFC 7323 §4.3).
    fn replace_ts_recent(&mut self, now: Instant, seg: &TcpHeader) {
        let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok) else {
            return;
        };
        if seg.seq.le(self.rwnd.rcv_wup()) && self.paws_ok(now, ts.val, 0) {
            self.ts_recent = ts.val;
            self.ts_recent_secs = secs32(now);
        }
    }

    /// Classifies the ACK field (the checks at the top of Linux's `tcp_ack`).
    fn check_ack(&self, ack: SeqNum) -> AckCheck {
        if ack.lt(self.snd.una) {
            // The peer cannot hold back ACKs for more than it was ever allowed to have in
            // flight, nor for bytes that were never acknowledged (RFC 5961 §5.2).
            let max_window = u32::try_from(u64::from(self.snd.max_wnd).min(self.stats.bytes_acked))
                .unwrap_or(u32::MAX);
            if ack.lt(self.snd.una - max_window) {
                return AckCheck::TooOld;
            }
            return AckCheck::Old;
        }
        if ack.gt(self.snd.max) {
            return AckCheck::Unsent;
        }
        AckCheck::Acceptable
    }

    /// Applies an acceptable ACK field (RFC 9293 §3.10.7.4 "fifth", RFC 5681, RFC 6582) and
    /// the state changes it causes. `data_beyond`: the segment carries data past RCV.NXT.
    /// Returns false when the segment must not be processed further.
    pub(super) fn process_ack(
        &mut self,
        now: Instant,
        seg: &TcpHeader,
        no_payload: bool,
        data_beyond: bool,
    ) -> bool {
        let ack = seg.ack;
        let seg_wnd = u32::from(seg.window) << self.snd_wscale;
        let window_changed = seg_wnd != self.snd.wnd;
        // A duplicate ACK (RFC 5681 §2).
        let dupack = ack == self.snd.una
            && no_payload
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && !window_changed
            && self.snd.max.gt(self.snd.una);

        // Window update (RFC 9293 §3.10.7.4): only from an ACK that is not old ("if SND.UNA
        // =< SEG.ACK"; Linux's tcp_ack ignores an old ACK's window), and then from one that
        // advances SND.UNA (Linux's tcp_may_update_window: the window is counted from
        // SND.UNA, so a window left from an older SEG.ACK would reach past the edge the peer
        // offered) or comes in a segment at least as new as the last one that updated it.
        // Nothing below reads the window except F-RTO step 2b (RFC 5682 §3.1), which needs
        // the window this ACK brings.
        if ack.ge(self.snd.una)
            && (ack.gt(self.snd.una)
                || self.snd.wl1.lt(seg.seq)
                || (self.snd.wl1 == seg.seq && self.snd.wl2.le(ack)))
        {
            let opened = seg_wnd > self.snd.wnd;
            let changed = seg_wnd != self.snd.wnd;
            self.snd.wnd = seg_wnd;
            if changed && self.snd.max.lt(self.buf_seq + self.send_buf.len() as u32) {
                // Data waits and the window moved: a restart after idle applies here too
                // (tcp_ack_update_window).
                self.restart_after_idle(now);
            }
            self.snd.max_wnd = self.snd.max_wnd.max(seg_wnd);
            self.snd.wl1 = seg.seq;
            self.snd.wl2 = ack;
            if opened {
                self.probes.update(|p| p.persist_backoff = 0);
            }
        }

        let prev_una = self.snd.una;
        let mut rtt = None;
        if ack.gt(self.snd.una) {
            rtt = self.on_new_ack(now, seg);
        } else if self.loss.is_none() && dupack {
            self.on_dupack(now);
        }
        if self.loss.is_some() {
            // With SACK, RACK and the scoreboard decide about losses (RFC 8985, RFC 6675).
            self.sack_on_ack(now, seg, prev_una, no_payload, dupack, rtt);
        } else if self.snd.una == prev_una {
            // Without SACK a duplicate ACK is all F-RTO can learn (RFC 5682 §2.1 step 2a).
            self.frto_on_ack(&FrtoAck {
                ack,
                advanced: false,
                duplicate: dupack,
                original_acked: false,
                beyond_recovery_point: false,
            });
        }

        // ECE: reduce the window once per window of data (RFC 3168 §6.1.2), unless a loss
        // response is already under way (Linux's tcp_enter_cwr below TCP_CA_CWR).
        let recovering =
            self.recovery.is_some() || self.loss_until.is_some() || self.loss.in_recovery();
        if seg.flags.contains(TcpFlags::ECE) && self.ecn.is_ok() {
            self.stats.rare().ece_received += 1;
        }
        if recovering {
            self.ecn.on_loss_response(self.snd.max);
        } else if self.ecn.on_ack(seg, self.snd.una, self.snd.max)
            == super::ecn::EceResponse::Reduce
        {
            let smss = self.eff_mss();
            let flight = self.snd.max.since(self.snd.una);
            self.cc.on_recovery_start(now, flight, smss);
            self.cc.on_recovery_end(now, flight, smss);
            self.stats.rare().ecn_reductions += 1;
        }

        // Our FIN acknowledged?
        let fin_acked = self.fin_queued && self.snd.una == self.fin_seq() + 1;
        match self.state() {
            State::FinWait1 if fin_acked => {
                self.enter(Phase::FinWait2 { orphan_until: None });
                if self.orphaned {
                    if data_beyond {
                        // Linux's tcp_rcv_state_process: an orphan's new data is refused.
                        self.abort_on_data(seg, 0);
                        return false;
                    }
                    self.enter_orphan_fin_wait_2(now);
                }
            }
            State::Closing if fin_acked => self.enter_time_wait(now),
            State::LastAck if fin_acked => {
                self.set_closed();
                return false;
            }
            _ => {}
        }
        true
    }

    /// Sequence number of our FIN (valid once `fin_queued`): right after the data.
    pub(super) fn fin_seq(&self) -> SeqNum {
        self.buf_seq + self.send_buf.len() as u32
    }

    /// A cumulative ACK of new data: frees the send buffer, measures the RTT, restarts the
    /// timer and (without SACK) drives NewReno. Returns the RTT sample, if any.
    fn on_new_ack(&mut self, now: Instant, seg: &TcpHeader) -> Option<Duration> {
        // Something got through: forget an ICMP soft error (Linux's tcp_ack).
        self.soft_error = None;
        let ack = seg.ack;
        let acked = ack.since(self.snd.una);
        let data_acked = (ack.since(self.buf_seq) as usize).min(self.send_buf.len());
        if ack.gt(self.buf_seq) || ack == self.buf_seq {
            self.send_buf.consume(data_acked);
            self.buf_seq += data_acked as u32;
        }
        // RTT, as Linux's tcp_ack_update_rtt: from when the acknowledged data was sent
        // (Karn's rule, RFC 6298 §3) if that is known, else from the echoed timestamp
        // (RFC 7323 §4.1). A receiver echoes the timestamp of the last segment that moved
        // its window edge, which under loss and small windows can be seconds old: send
        // times do not inflate the estimate.
        let sent = self
            .loss
            .active()
            .and_then(|l| l.sb.first_sent_of_newly_acked(ack));
        let mut rtt = sent.map(|t| now.saturating_duration_since(t));
        if let Some(timed) = self.rtt_timed
            && ack.ge(timed.end)
        {
            rtt = rtt.or(Some(now - timed.sent));
            self.rtt_timed = None;
        }
        if rtt.is_none() {
            rtt = self.ts_rtt(now, seg);
        }
        self.snd.una = ack;
        if self.snd.nxt.lt(ack) {
            self.snd.nxt = ack;
        }
        self.mtu_probe_on_ack();
        self.stats.bytes_acked += acked as u64;
        if let Some(r) = rtt {
            self.rtt.sample(r, now, self.snd.una, self.snd.nxt);
        }

        // A new ACK ends backoff (RFC 6298 §5.3, §5.7) and restarts or stops the timer.
        self.retries = 0;
        self.zwnd_backoff = 0;
        self.rto_reverts = 0;
        self.retrans_stamp = None;
        if self.snd.una == self.snd.max {
            self.stop_rtx();
        } else {
            self.restart_rtx(now);
        }

        let smss = self.eff_mss();
        let acked_bytes = acked.min(data_acked as u32 + 1).max(data_acked as u32);
        if let Some(m) = self.send_memory.as_deref_mut() {
            m.on_ack(self.snd.una);
        }
        if self.write_blocked && self.is_writable() {
            self.write_blocked = false;
            self.push_event(Event::Writable);
            let empty = self.send_buf.is_empty();
            self.chrono
                .stop(now, tcp_info::Chrono::SndbufLimited, empty);
        }
        if self.send_buf.is_empty() {
            // Everything acknowledged (tcp_clean_rtx_queue with the queues empty).
            self.chrono.stop(now, tcp_info::Chrono::Busy, true);
        }
        if let Some(p) = self.loss_until
            && ack.ge(p)
        {
            // The timeout's recovery is complete (Linux leaves TCP_CA_Loss).
            self.loss_until = None;
            self.stats.rare().rto_recoveries += 1;
        }
        if self.loss.is_some() {
            return rtt;
        }
        if let Some(rp) = self.frto.as_deref().map(|f| f.recovery_point()) {
            // F-RTO decides before the ACK clocks cwnd (as Linux's tcp_process_loss runs
            // before tcp_cong_control). Without SACK only the cumulative ACK tells; once
            // F-RTO paused go-back-N, the data it newly covers below RecoveryPoint was never
            // retransmitted.
            self.frto_on_ack(&FrtoAck {
                ack,
                advanced: true,
                duplicate: false,
                original_acked: ack.le(rp),
                beyond_recovery_point: ack.gt(rp),
            });
        }
        match self.recovery {
            Some(recover) if ack.ge(recover) => {
                // Full ACK: recovery ends (RFC 6582 §3.2 step 6).
                self.recovery = None;
                let flight = self.snd.max.since(self.snd.una);
                self.cc.on_recovery_end(now, flight, smss);
            }
            Some(_) => {
                // Partial ACK: retransmit the next hole at once (RFC 6582 §3.2 step 5).
                self.cc.on_partial_ack(acked_bytes, smss);
                self.fast_rexmit = true;
            }
            None if self.cwnd_limited() => self.cc.on_ack(now, acked_bytes, smss, rtt),
            None => {}
        }
        self.dupacks = 0;
        rtt
    }

    /// A duplicate ACK (RFC 5681 §2 definition); the third starts fast retransmit
    /// (RFC 5681 §3.2, RFC 6582 §3.2 step 2).
    fn on_dupack(&mut self, now: Instant) {
        self.dupacks += 1;
        let smss = self.eff_mss();
        if self.recovery.is_some() {
            self.cc.on_recovery_dupack(smss);
        } else if self.dupacks == 3 && self.snd.una.gt(self.recover) {
            if self.mtu_probe_lost(now) {
                // The loss was the MTU probe's: no congestion response (RFC 4821 §7.5).
                return;
            }
            self.recover = self.snd.max;
            self.recovery = Some(self.snd.max);
            let flight = self.snd.max.since(self.snd.una);
            self.cc.on_recovery_start(now, flight, smss);
            self.fast_rexmit = true;
            self.stats.rare().fast_retransmits += 1;
        }
    }

    /// Both FINs are acknowledged: TIME-WAIT for 2·MSL (RFC 9293 §3.10.7.4; `time_wait`,
    /// Linux's 60 s), with no retransmissions left to send.
    pub(super) fn enter_time_wait(&mut self, now: Instant) {
        self.enter(Phase::TimeWait {
            until: now + self.cfg.time_wait,
        });
        self.stop_rtx();
        self.probes.stop_persist();
    }

    /// A retransmitted FIN in TIME-WAIT restarts the 2·MSL wait (RFC 9293 §3.10.7.4,
    /// "eighth").
    pub(super) fn restart_time_wait(&mut self, now: Instant) {
        if let Phase::TimeWait { until } = &mut self.phase {
            *until = now + self.cfg.time_wait;
        }
    }

    /// An orphan in FIN-WAIT-2 gives up waiting for the peer's FIN after `fin_timeout`
    /// (Linux's `tcp_fin_timeout`, 60 s), counted from now.
    pub(super) fn enter_orphan_fin_wait_2(&mut self, now: Instant) {
        if let Phase::FinWait2 { orphan_until } = &mut self.phase {
            *orphan_until = Some(now + self.cfg.fin_timeout);
        }
    }
}
