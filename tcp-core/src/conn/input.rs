//! Segment arrival (RFC 9293 §3.10.7), with the RFC 5961 hardening and RFC 7323 PAWS.

use super::{Connection, State, reset_for, seq_len};
use crate::error::ConnError;
use crate::event::Event;
use crate::recovery::FrtoAck;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
use crate::wire::{TcpFlags, TcpHeader};
use bytes::{Buf, Bytes};

/// PAWS: TS.Recent older than this is no longer trusted (RFC 7323 §5.5: 24 days).
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

impl Connection {
    /// Processes one arriving segment whose checksum was already verified.
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        self.stats.segs_in += 1;
        match self.state {
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
        self.sack_arm_pto(now);
    }

    /// RFC 9293 §3.10.7.3: SYN-SENT.
    fn on_syn_sent(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        let f = seg.flags;
        let has_ack = f.contains(TcpFlags::ACK);
        // First: the ACK must acknowledge our SYN and nothing beyond it.
        if has_ack && (seg.ack.le(self.iss) || seg.ack.gt(self.snd_max)) {
            if !f.contains(TcpFlags::RST) {
                self.queue_ctl(seg.ack, SeqNum::new(0), TcpFlags::RST);
                self.stats.resets_sent += 1;
            }
            return;
        }
        // Second: a RST is accepted only with an acceptable ACK (RFC 5961 §3.2).
        if f.contains(TcpFlags::RST) {
            if has_ack {
                self.stats.resets_received += 1;
                self.fail(ConnError::Refused);
            }
            return;
        }
        // Fourth: the SYN.
        if !f.contains(TcpFlags::SYN) {
            return;
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.last_ack_sent = self.rcv_nxt;
        self.negotiate(&seg.options);
        if let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok) {
            self.ts_recent = ts.val;
            self.ts_recent_time = now;
        }
        self.last_rcv = now;
        self.rcv_adv = self.rcv_nxt + self.syn_window();
        if has_ack {
            self.snd_una = seg.ack;
            self.buf_seq = seg.ack;
            // RFC 6582 §3.2: `recover` starts at the ISS, so a loss in the first window
            // can be fast-retransmitted.
            self.recover = self.iss;
            // The window of a SYN-ACK is never scaled (RFC 7323 §2.2).
            self.snd_wnd = u32::from(seg.window);
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            self.rtt_sample_for_syn(now, seg);
            self.stop_rtx();
            self.syn_pending = false;
            self.establish();
            self.ack_now = true;
            // Data or FIN carried on the SYN-ACK is processed as in ESTABLISHED.
            // Data on the SYN-ACK is held to the window our SYN offered (RFC 9293 §3.10.7.3:
            // "data ... should be queued ... up to the window").
            let data_seq = seg.seq + 1;
            let mut data = payload;
            let mut fin = f.contains(TcpFlags::FIN);
            let room = self.advertised_remaining() as usize;
            if data.len() > room {
                data.truncate(room);
                fin = false;
            }
            self.process_text_and_fin(now, data_seq, data, fin);
        } else {
            // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, answer SYN-ACK.
            self.state = State::SynRcvd;
            self.snd_wnd = u32::from(seg.window);
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seg.seq;
            self.syn_pending = true;
        }
    }

    /// RTT of the handshake: from the echoed timestamp, or from the SYN's send time when
    /// it was not retransmitted (Karn's rule, RFC 6298 §3).
    fn rtt_sample_for_syn(&mut self, now: Instant, seg: &TcpHeader) {
        if let Some(rtt) = self.ts_rtt(now, seg) {
            self.rtt.sample(rtt);
        } else if self.retries == 0 {
            if let Some((_, sent)) = self.rtt_timed.take() {
                self.rtt.sample(now - sent);
            }
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

    /// RFC 9293 §3.10.7.4: SYN-RECEIVED and all synchronized states.
    fn on_synchronized(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        let f = seg.flags;
        let rst = f.contains(TcpFlags::RST);
        let syn = f.contains(TcpFlags::SYN);

        if self.state == State::TimeWait
            && f.contains(TcpFlags::FIN)
            && !rst
            && !syn
            && seg.seq + seq_len(seg, payload.len()) == self.rcv_nxt
        {
            // A retransmitted FIN (it ends at RCV.NXT): ACK it again and restart the 2·MSL
            // timer (RFC 9293 §3.10.7.4, "eighth"; as Linux's tcp_timewait_state_process).
            // Any other FIN is an unacceptable segment, handled below.
            self.ack_now = true;
            self.state_deadline = Some(now + self.cfg.time_wait);
            return;
        }
        if self.state == State::SynRcvd
            && syn
            && !rst
            && !f.contains(TcpFlags::ACK)
            && seg.seq == self.irs
        {
            // The peer retransmitted its SYN: our SYN-ACK was lost. Send it again; the
            // final ACK can no longer be timed (Karn, RFC 6298 §3).
            self.syn_pending = true;
            self.rtt_timed = None;
            self.stats.retransmits += 1;
            return;
        }

        if self.state == State::SynRcvd
            && !self.passive
            && syn
            && !rst
            && f.contains(TcpFlags::ACK)
            && seg.seq == self.irs
            && seg.ack == self.snd_max
            && payload.is_empty()
        {
            // Simultaneous open: the peer's SYN-ACK acknowledges our SYN. Linux
            // (tcp_validate_incoming) takes it as the handshake's final ACK instead of
            // answering with a challenge ACK. A SYN's window is never scaled (RFC 7323 §2.2).
            let mut ack = *seg;
            ack.flags.remove(TcpFlags::SYN);
            ack.seq = self.irs + 1;
            ack.window =
                u16::try_from(u32::from(seg.window) >> self.snd_wscale).unwrap_or(u16::MAX);
            self.on_synchronized(now, &ack, payload);
            return;
        }

        // PAWS (RFC 7323 §5.3, R1-R3).
        if let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok) {
            if !rst && (ts.val.wrapping_sub(self.ts_recent) as i32) < 0 {
                if now.saturating_duration_since(self.ts_recent_time) > PAWS_IDLE {
                    self.ts_recent = ts.val;
                } else {
                    self.stats.paws_dropped += 1;
                    self.ack_now = true;
                    return;
                }
            }
        }

        // First: sequence acceptability.
        let seg_len = seq_len(seg, payload.len());
        let wnd = self.advertised_remaining();
        if !acceptable(seg.seq, seg_len, self.rcv_nxt, wnd) {
            self.stats.out_of_window += 1;
            // RFC 9293 §3.10.7.4: with a zero window, ACKs and RSTs at RCV.NXT still count.
            let zero_window_ack = wnd == 0 && seg.seq == self.rcv_nxt;
            if !zero_window_ack {
                if !rst {
                    self.ack_now = true;
                    // Data we already have: report it in a D-SACK block (RFC 2883 §4).
                    let end = seg.seq + payload.len() as u32;
                    if !payload.is_empty() && end.le(self.rcv_nxt) {
                        self.note_dsack(seg.seq, end);
                    }
                }
                return;
            }
        }

        // Second: RST (RFC 5961 §3.2).
        if rst {
            self.on_rst(now, seg);
            return;
        }

        // Fourth: SYN in a synchronized state gets a challenge ACK (RFC 5961 §4.2).
        if syn {
            self.challenge_ack(now);
            return;
        }

        // Fifth: the ACK field.
        if !f.contains(TcpFlags::ACK) {
            self.stats.no_ack_dropped += 1;
            return;
        }
        self.last_rcv = now;
        self.keepalive_probes = 0;
        self.persist_probes = 0;

        // TS.Recent update (RFC 7323 §4.3): the segment covers Last.ACK.sent.
        if let Some(ts) = seg.options.timestamps.filter(|_| self.ts_ok) {
            if seg.seq.le(self.last_ack_sent) {
                self.ts_recent = ts.val;
                self.ts_recent_time = now;
            }
        }

        if self.state == State::SynRcvd {
            if self.snd_una.lt(seg.ack) && seg.ack.le(self.snd_max) {
                // RFC 9293 §3.10.7.4: SYN-RECEIVED -> ESTABLISHED.
                self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                self.syn_pending = false;
                self.establish();
            } else {
                self.queue_ctl(seg.ack, SeqNum::new(0), TcpFlags::RST);
                self.stats.resets_sent += 1;
                return;
            }
        }

        if !self.process_ack(now, seg, payload.is_empty()) {
            return;
        }
        if self.state == State::Closed {
            return;
        }

        // Trim to the window: drop what was already received and what lies beyond.
        let mut seq = seg.seq;
        let mut data = payload;
        let mut fin = f.contains(TcpFlags::FIN);
        if seq.lt(self.rcv_nxt) {
            let skip = self.rcv_nxt.since(seq) as usize;
            if !data.is_empty() {
                // The old part is a duplicate: D-SACK it (RFC 2883 §4.1).
                self.note_dsack(seq, seq + skip.min(data.len()) as u32);
            }
            if skip > data.len() {
                fin = false;
                self.stats.dup_bytes += data.len() as u64;
                data = Bytes::new();
            } else {
                self.stats.dup_bytes += skip as u64;
                data.advance(skip);
            }
            seq = self.rcv_nxt;
            if !data.is_empty() || fin {
                // Partly old: the peer may have missed our ACK.
                self.ack_now = true;
            }
        }
        let room = wnd.saturating_sub(seq.since(self.rcv_nxt)) as usize;
        if data.len() > room {
            data.truncate(room);
            fin = false;
            self.ack_now = true;
        }
        self.process_text_and_fin(now, seq, data, fin);
    }

    /// RFC 5961 §3.2: only a RST exactly at RCV.NXT resets; one elsewhere in the window
    /// gets a challenge ACK.
    fn on_rst(&mut self, now: Instant, seg: &TcpHeader) {
        if self.state == State::TimeWait {
            // RFC 1337: a RST must not cut TIME_WAIT short.
            return;
        }
        if seg.seq != self.rcv_nxt {
            self.challenge_ack(now);
            return;
        }
        self.stats.resets_received += 1;
        match self.state {
            // RFC 9293 §3.10.7.4: a passive open returns to LISTEN (the endpoint drops the
            // half-open connection); an active one is refused.
            State::SynRcvd => self.fail(ConnError::Refused),
            State::Closing | State::LastAck => self.set_closed(),
            _ => self.fail(ConnError::Reset),
        }
    }

    /// Sends a challenge ACK, at most `challenge_ack_limit` per second (RFC 5961 §7).
    fn challenge_ack(&mut self, now: Instant) {
        if now.saturating_duration_since(self.challenge_window) >= Duration::from_secs(1) {
            self.challenge_window = now;
            self.challenge_count = 0;
        }
        if self.challenge_count < self.cfg.challenge_ack_limit {
            self.challenge_count += 1;
            self.stats.challenge_acks += 1;
            self.ack_now = true;
        } else {
            self.stats.challenge_acks_limited += 1;
        }
    }

    /// The ACK field (RFC 9293 §3.10.7.4 "fifth", RFC 5961 §5.2, RFC 5681, RFC 6582).
    /// Returns false when the segment must be dropped.
    fn process_ack(&mut self, now: Instant, seg: &TcpHeader, no_payload: bool) -> bool {
        let ack = seg.ack;
        if ack.gt(self.snd_max) {
            // ACK for data never sent: answer with an ACK and drop (RFC 9293 §3.10.7.4,
            // RFC 5961 §5.2), rate-limited like every challenge ACK (RFC 5961 §7).
            self.stats.ack_too_new += 1;
            self.challenge_ack(now);
            return false;
        }
        if ack.lt(self.snd_una - self.max_snd_wnd.max(self.snd_mss)) {
            // Too old to be a delayed duplicate: discard the segment and send an ACK back
            // (RFC 5961 §5.2, RFC 9293 §3.10.7.4), rate-limited as a challenge ACK (Linux).
            self.stats.ack_too_old += 1;
            self.challenge_ack(now);
            return false;
        }

        let seg_wnd = u32::from(seg.window) << self.snd_wscale;
        let window_changed = seg_wnd != self.snd_wnd;
        // A duplicate ACK (RFC 5681 §2).
        let dupack = ack == self.snd_una
            && no_payload
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && !window_changed
            && self.snd_max.gt(self.snd_una);

        // Window update (RFC 9293 §3.10.7.4): only from a segment at least as new as the
        // last one that updated it. Nothing below reads the window except F-RTO step 2b
        // (RFC 5682 §3.1), which needs the window this ACK brings.
        if self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(ack)) {
            let opened = seg_wnd > self.snd_wnd;
            self.snd_wnd = seg_wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(seg_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
            if opened {
                self.persist_backoff = 0;
            }
        }

        let prev_una = self.snd_una;
        let mut rtt = None;
        if ack.gt(self.snd_una) {
            rtt = self.on_new_ack(now, seg);
        } else if self.loss.is_none() && dupack {
            self.on_dupack(now);
        }
        if self.loss.is_some() {
            // With SACK, RACK and the scoreboard decide about losses (RFC 8985, RFC 6675).
            self.sack_on_ack(now, seg, prev_una, no_payload, dupack, rtt);
        } else if self.snd_una == prev_una {
            // Without SACK a duplicate ACK is all F-RTO can learn (RFC 5682 §2.1 step 2a).
            self.frto_on_ack(&FrtoAck {
                ack,
                advanced: false,
                duplicate: dupack,
                original_acked: false,
                beyond_recovery_point: false,
            });
        }

        // Our FIN acknowledged?
        let fin_acked = self.fin_queued && self.snd_una == self.fin_seq() + 1;
        match self.state {
            State::FinWait1 if fin_acked => {
                self.state = State::FinWait2;
                if self.orphaned {
                    self.state_deadline = Some(now + self.cfg.fin_timeout);
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
        let ack = seg.ack;
        let acked = ack.since(self.snd_una);
        let data_acked = (ack.since(self.buf_seq) as usize).min(self.send_buf.len());
        if ack.gt(self.buf_seq) || ack == self.buf_seq {
            self.send_buf.consume(data_acked);
            self.buf_seq += data_acked as u32;
        }
        self.snd_una = ack;
        if self.snd_nxt.lt(ack) {
            self.snd_nxt = ack;
        }
        self.stats.bytes_acked += acked as u64;

        // RTT (RFC 7323 §4.1 with timestamps; RFC 6298 §3 Karn otherwise).
        let mut rtt = self.ts_rtt(now, seg);
        if rtt.is_none() {
            if let Some((end, sent)) = self.rtt_timed {
                if ack.ge(end) {
                    rtt = Some(now - sent);
                    self.rtt_timed = None;
                }
            }
        }
        if let Some(r) = rtt {
            self.rtt.sample(r);
        }

        // A new ACK ends backoff (RFC 6298 §5.3, §5.7) and restarts or stops the timer.
        self.retries = 0;
        self.zwnd_backoff = 0;
        if self.snd_una == self.snd_max {
            self.stop_rtx();
            self.unacked_since = None;
        } else {
            self.restart_rtx(now);
            self.unacked_since = Some(now);
        }

        let smss = self.eff_mss();
        let acked_bytes = acked.min(data_acked as u32 + 1).max(data_acked as u32);
        if self.write_blocked && self.send_buf.free() > 0 && self.can_write() {
            self.write_blocked = false;
            self.push_event(Event::Writable);
        }
        if self.loss.is_some() {
            return rtt;
        }
        if let Some(rp) = self.frto.map(|f| f.recovery_point()) {
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
                let flight = self.snd_max.since(self.snd_una);
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
        } else if self.dupacks == 3 && self.snd_una.gt(self.recover) {
            self.recover = self.snd_max;
            self.recovery = Some(self.snd_max);
            let flight = self.snd_max.since(self.snd_una);
            self.cc.on_recovery_start(now, flight, smss);
            self.fast_rexmit = true;
            self.stats.fast_retransmits += 1;
        }
    }

    /// Segment text and FIN (RFC 9293 §3.10.7.4 "seventh" and "eighth"). `seq` and `data`
    /// are already trimmed to the receive window, so `seq >= RCV.NXT`.
    pub(super) fn process_text_and_fin(
        &mut self,
        now: Instant,
        seq: SeqNum,
        data: Bytes,
        fin: bool,
    ) {
        let len = data.len();
        let start = self.recv_buf.next() + u64::from(seq.since(self.rcv_nxt));
        if len > 0 {
            if !matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            ) {
                // The peer already sent FIN: nothing may follow it.
                return;
            }
            if self.orphaned {
                // Data for an application that closed: reset, as Linux does (RFC 9293
                // §3.10.7.4 leaves this open; RFC 2525 §2.17 motivates it).
                self.send_reset_and_close();
                self.error = Some(ConnError::Aborted);
                return;
            }
            let r = self.recv_buf.insert(start, data);
            if r.duplicate == len && r.delivered == 0 {
                // Entirely a duplicate of out-of-order data (RFC 2883 §4.2).
                self.note_dsack(seq, seq + len as u32);
            }
            self.stats.dup_bytes += r.duplicate as u64;
            self.stats.ooo_dropped += r.dropped as u64;
            if r.delivered > 0 {
                self.rcv_nxt += r.delivered as u32;
                self.stats.bytes_received += r.delivered as u64;
                self.push_event(Event::Readable);
            }
            let immediate = r.out_of_order || r.filled_gap || r.duplicate > 0 || r.dropped > 0;
            self.schedule_ack(now, len as u32, immediate);
        }
        if self.fin_received {
            return;
        }
        if fin {
            let fin_at = start + len as u64;
            if fin_at > self.recv_buf.next() {
                // FIN beyond a hole: remember it until the data before it arrives.
                self.ooo_fin = Some(fin_at);
                self.ack_now = true;
            } else {
                self.on_fin(now);
                return;
            }
        }
        if self.ooo_fin == Some(self.recv_buf.next()) {
            self.on_fin(now);
        }
    }

    /// Remembers a duplicate range for the next ACK's D-SACK block, when SACK is in use.
    fn note_dsack(&mut self, start: SeqNum, end: SeqNum) {
        if self.sack_ok && start.lt(end) {
            self.dsack = Some((start, end));
        }
    }

    /// Decides when to ACK received data (RFC 9293 §3.8.6.3, RFC 5681 §4.2, Linux quick
    /// ACKs).
    fn schedule_ack(&mut self, now: Instant, len: u32, immediate: bool) {
        self.rcv_mss = self.rcv_mss.max(len.min(self.cfg.mss.into()));
        self.rcv_unacked = self.rcv_unacked.saturating_add(len);
        if immediate {
            // Out-of-order data, a filled gap or duplicates: ACK at once (RFC 5681 §4.2).
            self.ack_now = true;
        } else if self.quick_acks > 0 {
            self.quick_acks -= 1;
            self.ack_now = true;
        } else if self.rcv_unacked > self.rcv_mss {
            // At least every second full-sized segment (RFC 5681 §4.2).
            self.ack_now = true;
        } else if self.delack_at.is_none() {
            self.delack_at = Some(now + self.cfg.delayed_ack);
        }
    }

    fn on_fin(&mut self, now: Instant) {
        self.fin_received = true;
        self.ooo_fin = None;
        self.rcv_nxt += 1;
        self.ack_now = true;
        self.push_event(Event::PeerClosed);
        self.push_event(Event::Readable);
        match self.state {
            State::SynRcvd | State::Established => self.state = State::CloseWait,
            State::FinWait1 => {
                if self.snd_una == self.fin_seq() + 1 {
                    self.enter_time_wait(now);
                } else {
                    self.state = State::Closing;
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    pub(super) fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.stop_rtx();
        self.persist_at = None;
        self.delack_at = None;
        self.state_deadline = Some(now + self.cfg.time_wait);
    }
}

/// Segment acceptability (RFC 9293 §3.10.7.4, the four cases of the table).
fn acceptable(seq: SeqNum, len: u32, rcv_nxt: SeqNum, wnd: u32) -> bool {
    let end = rcv_nxt + wnd;
    match (len, wnd) {
        (0, 0) => seq == rcv_nxt,
        (0, _) => seq.in_range(rcv_nxt, end),
        (_, 0) => false,
        _ => seq.in_range(rcv_nxt, end) || (seq + (len - 1)).in_range(rcv_nxt, end),
    }
}
