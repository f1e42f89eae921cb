//! Segment arrival in synchronized states (and SYN-RECEIVED) as FreeBSD handles it
//! ([`crate::config::SegmentRules::Bsd`]): `tcp_do_segment` and, in TIME-WAIT,
//! `tcp_twcheck` (sys/netinet/tcp_input.c, tcp_timewait.c), in their order:
//!
//! 1. (`drop_synfin` and a missing timestamp are checked before, for either rules.) In
//!    SYN-RECEIVED an ACK outside SND.UNA..SND.MAX draws a RST.
//! 2. RST (RFC 5961 §3.2): checked first, against the last ACK sent and a window of at
//!    least the buffer's free space; exactly at the last ACK sent (or anywhere in the
//!    window with the check off) it resets, elsewhere in the window it draws a challenge
//!    ACK, outside it is ignored.
//! 3. SYN (RFC 5961 §4.2): a challenge ACK, or with the check off a SYN inside the window
//!    resets the connection (RST sent).
//! 4. PAWS (RFC 7323 §5.3): an old timestamp drops the segment (ACKing it if it carries
//!    data).
//! 5. The segment is trimmed to the window: its old part is dropped (and reported in a
//!    D-SACK block, acknowledged at once), data for an application that closed resets the
//!    connection, the part beyond the window is dropped (a segment wholly beyond it, or a
//!    zero-window probe, is acknowledged).
//! 6. TS.Recent is taken when the segment covers the last ACK sent; a segment without ACK
//!    is dropped; an ACK of data never sent is answered with an ACK, one older than the
//!    window with a challenge ACK; then the ACK, the data and the FIN are processed as
//!    everywhere (`process_ack`, `data_queue`), and the SACK list follows
//!    `tcp_update_sack_list` / `tcp_update_dsack_list` (see `sack_bsd`).

use super::sack_bsd::BsdSackList;
use super::{Connection, State, seq_len};
use crate::error::ConnError;
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{TcpFlags, TcpHeader};
use alloc::boxed::Box;
use bytes::{Buf, Bytes};

/// The largest unscaled window (`TCP_MAXWIN`).
const MAX_WINDOW: u32 = 0xffff;

/// What FreeBSD's rules keep besides the state every connection has (boxed: a
/// connection with Linux's rules carries one empty pointer).
#[derive(Debug, Default)]
pub(crate) struct BsdState {
    /// The receiver's SACK list (`tp->sackblks`).
    pub(crate) sack: BsdSackList,
    /// Data that came with the peer's SYN in SYN-SENT (a simultaneous open): FreeBSD
    /// queues it for reassembly and presents it once the handshake completes.
    syn_data: Bytes,
}

impl Connection {
    /// FreeBSD's `TCPS_HAVERCVDFIN`.
    fn have_rcvd_fin(&self) -> bool {
        matches!(
            self.state(),
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// `tcp_do_segment` from its top (see the module docs).
    pub(super) fn bsd_segment(&mut self, now: Instant, seg: &TcpHeader, payload: Bytes) {
        let f = seg.flags;
        let rst = f.contains(TcpFlags::RST);
        let syn = f.contains(TcpFlags::SYN);
        if self.state() == State::TimeWait {
            self.bsd_time_wait(now, seg, payload.len());
            return;
        }
        let ts = seg.options.timestamps.filter(|_| self.ts_ok);
        let ack_flag = f.contains(TcpFlags::ACK);
        if self.state() == State::SynRcvd
            && !rst
            && ack_flag
            && (seg.ack.le(self.snd.una) || seg.ack.gt(self.snd.max))
        {
            self.reply_reset(seg, payload.len());
            return;
        }
        let rcv_wnd = self.advertised_remaining();
        let last_ack = self.rwnd.rcv_wup();
        let in_window = |seq: SeqNum| seq.ge(last_ack) && seq.lt(last_ack + rcv_wnd);
        if rst {
            if in_window(seg.seq) || (rcv_wnd == 0 && seg.seq == last_ack) {
                if !self.cfg.rst_challenge || seg.seq == last_ack {
                    self.stats.rare().resets_received += 1;
                    let err = if self.state() == State::SynRcvd {
                        ConnError::Refused
                    } else {
                        ConnError::Reset
                    };
                    self.fail(err);
                } else {
                    self.challenge_ack(now);
                }
            } else {
                self.stats.rare().out_of_window += 1;
            }
            return;
        }
        if syn && self.state() != State::SynRcvd {
            if !self.cfg.syn_challenge && in_window(seg.seq) {
                // tcp_drop: the connection is reset and a RST goes out.
                self.error = Some(ConnError::Reset);
                self.push_event(crate::event::Event::Error(ConnError::Reset));
                self.send_reset_and_close();
            } else {
                self.challenge_ack(now);
            }
            return;
        }
        if let Some(t) = ts
            && self.ts_recent != 0
            && (t.val.wrapping_sub(self.ts_recent) as i32) < 0
        {
            if self.ts_recent_stale(now) {
                self.ts_recent = 0;
            } else {
                self.stats.rare().paws_dropped += 1;
                if !payload.is_empty() {
                    self.bsd_drop_after_ack(seg, payload.len());
                }
                return;
            }
        }
        if self.state() == State::SynRcvd && seg.seq.lt(self.rcv.irs) {
            self.reply_reset(seg, payload.len());
            return;
        }

        // Trim the segment to the window.
        let mut seq = seg.seq;
        let mut fin = f.contains(TcpFlags::FIN);
        let mut data = payload;
        let mut seg_syn = syn;
        let mut ack_now = false;
        let todrop = self.rcv.nxt.diff(seq);
        if todrop > 0 {
            let mut todrop = todrop as u32;
            if seg_syn {
                seg_syn = false;
                seq += 1;
                todrop -= 1;
            }
            let tlen = data.len() as u32;
            if todrop > tlen || (todrop == tlen && !fin) {
                // A duplicate: any valid FIN lies to the left of the window.
                fin = false;
                ack_now = true;
                todrop = tlen;
                self.stats.add(u64::from(tlen), |s| &mut s.dup_bytes);
            }
            if todrop > 0 && self.sack_ok {
                let rcv_nxt = self.rcv.nxt;
                self.bsd_sack_list()
                    .update_sack_list(rcv_nxt, seq, seq + todrop);
                ack_now = true;
            }
            data.advance(todrop as usize);
            seq += todrop;
        }
        if self.orphaned && !data.is_empty() && !self.have_rcvd_fin() {
            // Data after the application closed: RST (tcp_do_segment, "tcp_close").
            self.abort_on_data(seg, data.len());
            return;
        }
        let tlen = data.len() as u32;
        let beyond = (seq + tlen).diff(self.rcv.nxt + rcv_wnd);
        if beyond > 0 {
            let beyond = beyond as u32;
            if beyond >= tlen {
                if rcv_wnd == 0 && seq == self.rcv.nxt {
                    // A zero-window probe: ACK it, process the rest.
                    ack_now = true;
                } else {
                    self.stats.rare().out_of_window += 1;
                    self.bsd_drop_after_ack(seg, tlen as usize);
                    return;
                }
            }
            data.truncate((tlen - beyond.min(tlen)) as usize);
            fin = false;
        }
        if let Some(t) = ts {
            let end = seq + data.len() as u32 + u32::from(seg_syn || fin);
            if seq.le(last_ack) && last_ack.le(end) {
                self.ts_recent = t.val;
                self.ts_recent_secs = crate::time::secs32(now);
            }
        }
        if ack_now {
            self.ack_now = true;
        }
        if !ack_flag {
            self.stats.rare().no_ack_dropped += 1;
            return;
        }

        // The ACK field.
        if self.bsd_ack_too_old(seg.ack) {
            self.stats.rare().ack_too_old += 1;
            self.challenge_ack(now);
            return;
        }
        self.last_rcv = now;
        self.probes.answered();
        if self.state() == State::SynRcvd {
            // The ACK was checked above: SYN-RECEIVED -> ESTABLISHED.
            self.snd.wnd = u32::from(seg.window) << self.snd_wscale;
            self.snd.max_wnd = self.snd.max_wnd.max(self.snd.wnd);
            self.snd.wl1 = seg.seq;
            self.snd.wl2 = seg.ack;
            self.establish(now);
            self.bsd_present_syn_data();
        }
        if seg.ack.gt(self.snd.max) {
            self.stats.rare().ack_too_new += 1;
            self.bsd_drop_after_ack(seg, tlen as usize);
            return;
        }
        let mut trimmed = *seg;
        trimmed.seq = seq;
        trimmed.flags.remove(TcpFlags::SYN);
        if !fin {
            trimmed.flags.remove(TcpFlags::FIN);
        }
        if !self.process_ack(now, &trimmed, data.is_empty(), false) {
            return;
        }
        if self.state() == State::Closed {
            return;
        }

        // The text and the FIN, unless the peer's FIN came before.
        if (!data.is_empty() || fin) && !self.have_rcvd_fin() {
            let save_rnxt = self.rcv.nxt;
            let save_len = data.len() as u32;
            self.data_queue(now, &trimmed, data, fin);
            if self.sack_ok && save_len > 0 && self.state() != State::Closed {
                self.bsd_sack_after_data(seq, save_len, save_rnxt);
            }
        }
        if self.state() != State::Closed {
            self.ack_snd_check(now);
        }
    }

    /// With FreeBSD's rules, our FIN has been sent and is not yet acknowledged (FIN_WAIT_1,
    /// CLOSING, LAST_ACK): every segment repeats it.
    pub(super) fn fin_unacked_bsd(&self) -> bool {
        self.cfg.segment_rules == crate::config::SegmentRules::Bsd
            && matches!(
                self.state(),
                State::FinWait1 | State::Closing | State::LastAck
            )
            && self.fin_queued
            && self.snd.max == self.fin_seq() + 1
            && self.snd.una.le(self.fin_seq())
    }

    /// The receiver's SACK list, created on first use.
    fn bsd_sack_list(&mut self) -> &mut BsdSackList {
        &mut self.bsd.get_or_insert_with(Box::default).sack
    }

    /// A SYN in SYN-SENT (simultaneous open) carried data: keep it for when the handshake
    /// completes (`tcp_do_segment` queues it with `tcp_reass`; a FIN on it is lost).
    pub(super) fn bsd_hold_syn_data(&mut self, data: Bytes) {
        if self.cfg.segment_rules == crate::config::SegmentRules::Bsd && !data.is_empty() {
            self.bsd.get_or_insert_with(Box::default).syn_data = data;
        }
    }

    /// The handshake completed: present data that came with the peer's SYN
    /// (`tcp_reass(tp, NULL, ...)` in SYN-RECEIVED).
    fn bsd_present_syn_data(&mut self) {
        let Some(data) = self
            .bsd
            .as_deref_mut()
            .map(|b| core::mem::take(&mut b.syn_data))
            .filter(|d| !d.is_empty())
        else {
            return;
        };
        let len = data.len().min(self.advertised_remaining() as usize);
        let r = self
            .recv_buf
            .insert(self.recv_buf.next(), data.slice(..len));
        self.rwnd.charge(r.delivered as u32, false);
        self.rcv.nxt += r.delivered as u32;
        self.stats.bytes_received += r.delivered as u64;
        self.push_event(crate::event::Event::Readable);
    }

    /// The SACK list after `len` bytes at `start` were processed (the SACK update at
    /// `tcp_do_segment`'s `dodata`).
    fn bsd_sack_after_data(&mut self, start: SeqNum, len: u32, save_rnxt: SeqNum) {
        let rcv_nxt = self.rcv.nxt;
        let list = self.bsd_sack_list();
        if rcv_nxt.gt(save_rnxt) {
            match list.first() {
                // The D-SACK of the old part stays first.
                Some((a, b)) if b == start => list.update_sack_list(rcv_nxt, a, b),
                _ => list.update_dsack_list(rcv_nxt, start, start + len),
            }
        } else {
            list.update_dsack_list(rcv_nxt, start, start + len);
        }
    }

    /// `dropafterack`: answer with an ACK, except in SYN-RECEIVED with an unacceptable ACK,
    /// which draws a RST.
    fn bsd_drop_after_ack(&mut self, seg: &TcpHeader, payload_len: usize) {
        if self.state() == State::SynRcvd
            && seg.flags.contains(TcpFlags::ACK)
            && (self.snd.una.gt(seg.ack) || seg.ack.gt(self.snd.max))
        {
            self.reply_reset(seg, payload_len);
            return;
        }
        self.ack_now = true;
    }

    /// An ACK older than the window the peer was ever offered, or one of our ISN before
    /// that much was sent (RFC 5961 §5.2 and FreeBSD's "ghost ACK" check in
    /// `tcp_do_segment`).
    fn bsd_ack_too_old(&self, ack: SeqNum) -> bool {
        let window_floor = self.snd.una - self.snd.max_wnd;
        let iss_checked = self
            .snd
            .una
            .lt(self.snd.iss + (MAX_WINDOW << self.snd_wscale));
        let floor = if iss_checked && (self.snd.iss + 1).gt(window_floor) {
            self.snd.iss + 1
        } else {
            window_floor
        };
        ack.lt(floor)
    }

    /// `tcp_twcheck`: a segment for TIME-WAIT.
    fn bsd_time_wait(&mut self, now: Instant, seg: &TcpHeader, payload_len: usize) {
        let f = seg.flags;
        if f.contains(TcpFlags::RST) {
            // Stevens, vol. 2, p. 964 and RFC 1337.
            self.stats.rare().resets_received += 1;
            return;
        }
        if !f.contains(TcpFlags::ACK) {
            // A SYN above RCV.NXT was already handed to a listener by the endpoint
            // (`yields_to_syn`); any other segment without ACK is dropped.
            return;
        }
        if f.contains(TcpFlags::FIN) && seg.seq + seq_len(seg, payload_len) == self.rcv.nxt {
            // A retransmitted FIN restarts the 2·MSL timer.
            self.restart_time_wait(now);
        }
        let bare = f.bits() == TcpFlags::ACK.bits();
        if !bare || payload_len != 0 || seg.seq != self.rcv.nxt || seg.ack != self.snd.nxt {
            self.ack_now = true;
        }
    }

    /// Whether `seg` ends this TIME-WAIT connection and should go to a listener instead:
    /// with FreeBSD's rules, a SYN (without ACK) above RCV.NXT (`tcp_twcheck` returns 1). The caller
    /// closes the connection with [`Connection::yield_to_syn`].
    pub fn yields_to_syn(&self, seg: &TcpHeader) -> bool {
        self.cfg.segment_rules == crate::config::SegmentRules::Bsd
            && self.state() == State::TimeWait
            && seg.flags.contains(TcpFlags::SYN)
            && !seg.flags.intersects(TcpFlags::RST | TcpFlags::ACK)
            && !(seg.flags.contains(TcpFlags::FIN) && self.cfg.drop_synfin)
            && seg.seq.gt(self.rcv.nxt)
    }

    /// Ends TIME-WAIT early because a new connection request took the 4-tuple
    /// (`tcp_twclose`).
    pub fn yield_to_syn(&mut self) {
        if self.state() == State::TimeWait {
            self.set_closed();
        }
    }
}
