//! Segment text and FIN (RFC 9293 §3.10.7.4 "seventh" and "eighth"), as Linux's
//! `tcp_data_queue`: in-order data to the application, out-of-order data to the
//! reassembly queue (pruned when memory runs out), D-SACK for duplicates, the ACK engine
//! told what arrived, and the peer's FIN taken in order.

use super::ack::{AckDecision, MAX_QUICKACKS, SegmentSize};
use super::input::TS_OPTION_LEN;
use super::phase::Phase;
use super::{Connection, State, seq_len};
use crate::config::SegmentRules;
use crate::event::Event;
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{TcpFlags, TcpHeader};
use bytes::{Buf, Bytes};

impl Connection {
    /// Segment text and FIN (RFC 9293 §3.10.7.4 "seventh" and "eighth"), as Linux's
    /// `tcp_data_queue`: in-order data is queued whole (even past the window's right edge,
    /// which `sequence_ok` allowed only for an empty queue) while memory lasts; duplicates
    /// and data outside the window are answered at once (with a D-SACK for duplicates,
    /// RFC 2883 §4); out-of-order data waits for the hole before it.
    pub(super) fn data_queue(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes, fin: bool) {
        let len = payload.len();
        let seq = seg.seq;
        let end = seq + seq_len(seg, len);
        if end == seq {
            return;
        }
        let mut wnd = self.advertised_remaining();
        if seq == self.rcv.nxt && wnd == 0 && len > 0 && self.recv_buf.readable() == 0 {
            // Nothing waits to be read, so only out-of-order data can have closed the
            // window, and reading will never reopen it: make room for the data the hole
            // waits for (Linux collapses and prunes the out-of-order queue when memory runs
            // short, tcp_prune_queue; without this a buffer full of tiny out-of-order
            // segments would refuse the one segment that drains it, for ever).
            self.prune_ofo();
            wnd = len as u32;
        }
        if seq == self.rcv.nxt {
            if wnd == 0 && !(len == 0 && fin) {
                // A zero window takes nothing but a bare FIN (some stacks send one in a
                // loop against a closed window).
                self.stats.rare().zero_window_drops += 1;
                self.out_of_window_data();
                return;
            }
            self.queue_in_order(now, seg, payload, fin);
            return;
        }
        if end.le(self.rcv.nxt) {
            // A retransmission of what we have: ACK at once, with a D-SACK (RFC 2883 §4.1).
            self.stats.add(len as u64, |s| &mut s.dup_bytes);
            self.note_dsack(seq, end);
            self.out_of_window_data();
            return;
        }
        if seq.ge(self.rcv.nxt + wnd) {
            // Beyond the window (a zero-window probe, say).
            self.out_of_window_data();
            return;
        }
        if seq.lt(self.rcv.nxt) {
            // Partly old: D-SACK the old part, queue the rest.
            self.note_dsack(seq, self.rcv.nxt);
            if wnd == 0 {
                self.out_of_window_data();
                return;
            }
            let skip = self.rcv.nxt.since(seq) as usize;
            self.stats.add(skip.min(len) as u64, |s| &mut s.dup_bytes);
            let mut data = payload;
            data.advance(skip.min(len));
            let mut rest = *seg;
            rest.seq = self.rcv.nxt;
            self.queue_in_order(now, &rest, data, fin);
            return;
        }
        self.queue_ofo(now, seg, payload, fin);
    }

    /// Data that cannot be taken: ACK it at once (quick-ACK mode, Linux's
    /// `out_of_window` label in `tcp_data_queue`).
    fn out_of_window_data(&mut self) {
        let wnd = self.rwnd.rcv_wnd();
        self.ack.enter_quickack_mode(wnd, MAX_QUICKACKS);
        self.ack.schedule();
    }

    /// In-order data at RCV.NXT (and the out-of-order data it joins up).
    fn queue_in_order(&mut self, now: Instant, seg: &TcpHeader, data: Bytes, fin: bool) {
        let len = data.len();
        let len32 = len as u32;
        if len > 0 {
            if !matches!(
                self.state(),
                State::Established | State::FinWait1 | State::FinWait2
            ) {
                // The peer already sent FIN: nothing may follow it.
                return;
            }
            if !self.rwnd.has_room() {
                self.prune_ofo();
            }
            if !self.rwnd.has_room() {
                // Out of receive memory: announce a zero window at once; the segment is
                // dropped unless the queue is empty (Linux's tcp_try_rmem_schedule failing).
                self.ack.schedule();
                self.ack.force_now();
                self.rwnd.set_nomem();
                if self.recv_buf.readable() > 0 {
                    self.stats.rare().rcvq_drops += 1;
                    return;
                }
            }
            let joined = self.recv_buf.readable() > 0;
            let had_ofo = self.recv_buf.ooo_pieces() > 0 || self.ooo_fin.is_some();
            let ofo_before = self.recv_buf.ooo_bytes();
            let start = self.recv_buf.next();
            let r = self.recv_buf.insert(start, data);
            self.rwnd.charge(len32, joined);
            let ofo_after = self.recv_buf.ooo_bytes();
            if ofo_after < ofo_before {
                let moved = r.delivered.saturating_sub(len);
                self.rwnd.ofo_shrunk(ofo_before, ofo_after, moved);
            }
            self.rcv.nxt += r.delivered as u32;
            self.stats.bytes_received += r.delivered as u64;
            self.push_event(Event::Readable);
            self.event_data_recv(now, seg, len32);
            if fin {
                self.on_fin(now);
            }
            if had_ofo {
                if self.ooo_fin.map(core::num::NonZeroU64::get) == Some(self.recv_buf.next()) {
                    self.on_fin(now);
                }
                if self.recv_buf.ooo_pieces() == 0 {
                    // The hole is filled: ACK at once (RFC 5681 §4.2).
                    self.ack.force_now();
                }
            }
            return;
        }
        if fin {
            self.on_fin(now);
        }
    }

    /// Out-of-order data (Linux's `tcp_data_queue_ofo`): kept for reassembly, reported in
    /// SACK blocks, never a reason for quick-ACK mode. Data dropped for want of memory
    /// draws no ACK (Linux schedules the ACK only after `tcp_try_rmem_schedule`
    /// succeeds): answering each such segment would let a sender that keeps resending
    /// into the advertised but unbacked window ping-pong with us.
    fn queue_ofo(&mut self, now: Instant, seg: &TcpHeader, data: Bytes, fin: bool) {
        let _ = now;
        self.stats.rare().ooo_segs_in += 1;
        let len = data.len();
        let start = self.recv_buf.next() + u64::from(seg.seq.since(self.rcv.nxt));
        if len > 0 {
            if !self.rwnd.has_room() {
                // Collapse the queues' accounting first (Linux's tcp_prune_queue); what
                // still does not fit is dropped.
                let (held, ofo, runs) = (
                    self.recv_buf.readable(),
                    self.recv_buf.ooo_bytes(),
                    self.recv_buf.ooo_runs(),
                );
                self.rwnd.collapse(held, ofo, runs);
            }
            if !self.rwnd.has_room() {
                self.stats.add(len as u64, |s| &mut s.ooo_dropped);
                return;
            }
            let r = self.recv_buf.insert(start, data);
            if r.duplicate == len {
                // Entirely a duplicate of out-of-order data (RFC 2883 §4.2).
                self.note_dsack(seg.seq, seg.seq + len as u32);
            }
            self.stats.add(r.duplicate as u64, |s| &mut s.dup_bytes);
            self.stats.add(r.dropped as u64, |s| &mut s.ooo_dropped);
            let stored = len - r.duplicate - r.dropped;
            // An ACK is owed for data kept or seen twice (the D-SACK), not for data the
            // piece limit turned away, which is a drop like one for want of memory.
            if r.dropped < len {
                self.ack.schedule();
            }
            if stored > 0 {
                self.rwnd.charge_ofo(stored as u32);
            }
            if self.sack_ok {
                // Without SACK the window stays put, so the sender sees duplicate ACKs.
                self.rwnd.grow(len as u32, &mut self.ack);
            }
        }
        if fin {
            // A FIN beyond a hole: remember it until the data before it arrives.
            self.ack.schedule();
            self.ooo_fin = core::num::NonZeroU64::new(start + len as u64);
        } else if len == 0 {
            self.ack.schedule();
        }
    }

    /// Memory is short for in-order data: collapse the queues' accounting and, if
    /// that is not enough, drop the out-of-order data (Linux's `tcp_prune_queue`, which
    /// prunes the out-of-order queue from its end; we drop it all, a SACK-reneging the
    /// sender survives, RFC 2018 §8).
    fn prune_ofo(&mut self) {
        let (held, ofo, runs) = (
            self.recv_buf.readable(),
            self.recv_buf.ooo_bytes(),
            self.recv_buf.ooo_runs(),
        );
        self.rwnd.collapse(held, ofo, runs);
        if !self.rwnd.has_room() && self.recv_buf.ooo_pieces() > 0 {
            self.purge_out_of_order();
        }
    }

    /// `tcp_event_data_recv`: bookkeeping for in-order data: an ACK is owed, the receive-MSS
    /// and RTT estimates and the delayed-ACK timeout adapt, and the window may grow.
    fn event_data_recv(&mut self, now: Instant, seg: &TcpHeader, len: u32) {
        self.ack.schedule();
        let header = 20 + seg.options.encoded_len() as u32;
        let size = SegmentSize {
            payload: len,
            header,
            invariant_header: 20 + if self.ts_ok { TS_OPTION_LEN } else { 0 },
            remnant: seg
                .flags
                .intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::URG | TcpFlags::PSH),
            psh: seg.flags.contains(TcpFlags::PSH),
        };
        if self.ack.measure_rcv_mss(size, self.advmss()) {
            self.rwnd.measure_ratio(len);
        }
        self.rwnd.rtt_measure(now, self.rcv.nxt);
        let wnd = self.rwnd.rcv_wnd();
        let rto = self.current_rto();
        self.ack.on_data_recv(now, wnd, rto);
        self.rwnd.grow(len, &mut self.ack);
    }

    /// `tcp_ack_snd_check`: after the segment was processed, send the owed ACK now or arm
    /// the delayed-ACK timer.
    pub(super) fn ack_snd_check(&mut self, now: Instant) {
        if !self.ack.scheduled() {
            return;
        }
        let rcv_mss = self.ack.rcv_mss();
        // "More than one full frame received, and the right edge advances far enough", or
        // the application has read everything (SO_RCVLOWAT of one byte). Computing the
        // window may leave quick-ACK mode, so it comes first, as in Linux.
        let more = self.rwnd.unannounced(self.rcv.nxt) > rcv_mss
            && (self.recv_buf.readable() == 0
                || self.rwnd.raw_window(rcv_mss, &mut self.ack) >= self.rwnd.rcv_wnd());
        let ofo = self.recv_buf.ooo_pieces() > 0;
        let srtt = self.rtt.srtt();
        let rcv_rtt = self.rwnd.rcv_rtt();
        let decision = self.ack.snd_check(
            &self.cfg.ack_policy,
            now,
            self.rcv.nxt,
            more,
            ofo,
            self.sack_ok,
            srtt,
            rcv_rtt,
        );
        if decision == AckDecision::Now {
            self.ack_now = true;
        }
    }

    /// Remembers a duplicate range for the next ACK's D-SACK block, when SACK is in use.
    pub(super) fn note_dsack(&mut self, start: SeqNum, end: SeqNum) {
        // With FreeBSD's rules the SACK list keeps its own D-SACK blocks (`sack_bsd`).
        if self.sack_ok && start.lt(end) && self.cfg.segment_rules != SegmentRules::Bsd {
            self.dsack = Some((start, end));
        }
    }

    /// `tcp_fin`: the peer's FIN arrived in order.
    fn on_fin(&mut self, now: Instant) {
        self.ack.schedule();
        if self.ack.fin_acked_at_once() {
            self.ack_now = true;
        }
        self.fin_received = true;
        self.ooo_fin = None;
        self.rcv.nxt += 1;
        self.push_event(Event::PeerClosed);
        self.push_event(Event::Readable);
        match self.state() {
            State::SynRcvd | State::Established => {
                self.enter(Phase::CloseWait);
                // The application will answer: ACKs ride on its reply.
                self.ack.enter_pingpong();
            }
            State::FinWait1 => {
                // Simultaneous close: ACK the FIN now.
                self.ack_now = true;
                if self.snd.una == self.fin_seq() + 1 {
                    self.enter_time_wait(now);
                } else {
                    self.enter(Phase::Closing);
                }
            }
            State::FinWait2 => {
                self.ack_now = true;
                self.enter_time_wait(now);
            }
            _ => {}
        }
        // Anything held beyond the FIN can never be delivered.
        if self.recv_buf.ooo_pieces() > 0 {
            self.recv_buf.purge_ooo();
            self.rwnd.ofo_purged();
        }
    }
}
