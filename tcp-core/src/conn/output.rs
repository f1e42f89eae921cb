//! Building outgoing segments: SYN and SYN-ACK with options, data under the peer's window
//! and the congestion window with Nagle and sender SWS avoidance, FIN, probes and ACKs
//! (RFC 9293 §3.7, §3.8.6; RFC 7323; RFC 2018).

use super::rtt::TimedSegment;
use super::tso;
use super::{Connection, Segment, State};
use crate::config::SegmentRules;
use crate::recovery::CongestionControl;
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{SackBlock, SackBlocks, TcpFlags, TcpHeader, TcpOptions, Timestamps};
use bytes::Bytes;

/// How far behind a late pacing release may catch up (see `pacing_on_sent`).
const PACING_CATCH_UP: crate::time::Duration = crate::time::Duration::from_millis(2);

/// The time `len` bytes take at `rate` bytes per second.
fn pacing_gap(len: u32, rate: u64) -> crate::time::Duration {
    crate::time::Duration::from_micros((u64::from(len) * 1_000_000).div_ceil(rate.max(1)))
}

impl Connection {
    /// The next segment to send, if any. Call until it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Segment> {
        if let Some(seg) = self.pending_out.pop_front() {
            return Some(seg);
        }
        let seg = self.next_segment(now);
        self.after_transmit(now, seg)
    }

    /// After a round of sending: data held back by the peer's window starts the
    /// window-limited clock, anything else stops it (end of `tcp_write_xmit`).
    fn note_rwnd_limit(&mut self, now: Instant) {
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        if !self.state().is_synchronized() || self.send_buf.is_empty() {
            return;
        }
        let wnd_end = self.snd.una + self.snd.wnd;
        let next = (self.snd.nxt + self.eff_mss().min(data_end.since(self.snd.nxt))).min(data_end);
        let limited = self.snd.nxt.lt(data_end) && next.gt(wnd_end);
        if limited {
            self.chrono.start(now, super::tcp_info::Chrono::RwndLimited);
        } else {
            self.chrono.stop(
                now,
                super::tcp_info::Chrono::RwndLimited,
                self.send_buf.is_empty(),
            );
        }
    }

    /// Sends in the middle of a write, as Linux's `tcp_push_one` (`one`: the head skb's
    /// first unit) or `__tcp_push_pending_frames` after a forced PSH: new data only, Nagle
    /// off. The segments wait in `pending_out` for `poll_transmit`.
    pub(super) fn push_now(&mut self, now: Instant, one: bool) {
        let recovering = self.snd.nxt != self.snd.max
            || self.recovery.is_some()
            || self.frto.is_some()
            || self
                .loss
                .active()
                .is_some_and(|l| l.in_recovery() || l.probe_due);
        if recovering || self.ctl.is_some() || self.phase.syn_pending() {
            return;
        }
        self.nagle_push = true;
        while let Some(seg) = self.send_data(now) {
            let seg = self.after_transmit(now, Some(seg));
            self.pending_out.extend(seg);
            if one && self.gso_left == 0 {
                break;
            }
        }
        self.nagle_push = false;
    }

    /// The bookkeeping of every segment that leaves (`None`: nothing to send).
    fn after_transmit(&mut self, now: Instant, seg: Option<Segment>) -> Option<Segment> {
        if seg.is_none() {
            self.note_rwnd_limit(now);
            self.push_once = false;
            self.sack_check_app_limited();
            if !self.pace_held {
                // Nothing more to send for another reason than pacing: no catch-up.
                self.pace_catch_up = false;
            }
        }
        if let Some(s) = &seg {
            self.stats.segs_out = self.stats.segs_out.wrapping_add(1);
            if !s.payload.is_empty()
                && self.write_blocked
                && self.notsent_bytes() == 0
                && matches!(self.state(), State::Established | State::CloseWait)
                && !self.cwnd_limited()
            {
                // tcp_cwnd_validate: data just went out, the window is not what limits
                // the sender, nothing is left to send and the writer waits for buffer
                // space: the send buffer limits it (TCP_CHRONO_SNDBUF_LIMITED).
                self.chrono
                    .start(now, super::tcp_info::Chrono::SndbufLimited);
            }
            if !s.payload.is_empty()
                && self.write_blocked
                && self.opts.notsent_lowat().is_some()
                && self.is_writable()
            {
                // Sending drained the unsent bytes below TCP_NOTSENT_LOWAT.
                self.write_blocked = false;
                self.push_event(crate::event::Event::Writable);
            }
            // Every segment carrying our ACK satisfies a delayed ACK (Linux's
            // tcp_event_ack_sent, window and keepalive probes too). A probe's sequence number
            // (SND.UNA - 1) is unacceptable to the peer, which then ignores its ACK field
            // (RFC 9293 §3.10.7.4), so an ACK the peer is waiting for (one that Linux would
            // already have sent on the spot) still goes out after it.
            let probe = s.payload.is_empty()
                && s.header.seq == self.snd.una - 1
                && !s
                    .header
                    .flags
                    .intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST);
            if s.header.flags.contains(TcpFlags::ACK) && !s.header.flags.contains(TcpFlags::RST) {
                let ack = s.header.ack;
                if probe {
                    if ack == self.rcv.nxt {
                        self.ack.on_ack_sent();
                    }
                } else {
                    self.ack_sent(ack);
                }
            }
        } else {
            self.update_persist(now);
        }
        seg
    }

    fn next_segment(&mut self, now: Instant) -> Option<Segment> {
        if let Some(ctl) = self.ctl.as_deref_mut() {
            let next = ctl.pop_front();
            if ctl.is_empty() {
                self.ctl = None;
            }
            if let Some((seq, ack, flags)) = next {
                return Some(self.build(now, seq, ack, flags, Bytes::new()));
            }
        }
        if let Some(o) = self.phase.opening_mut()
            && o.syn_pending
        {
            o.syn_pending = false;
            return Some(self.build_syn(now));
        }
        match self.state() {
            State::Closed | State::Listen => return None,
            State::SynSent | State::SynRcvd | State::TimeWait => {
                return self.ack_now.then(|| self.pure_ack(now));
            }
            _ => {}
        }
        if let Some(seg) = self.send_data(now) {
            return Some(seg);
        }
        if self.probe_pending {
            self.probe_pending = false;
            if self.snd.wnd > 0
                && let Some(seg) = self.send_window_probe(now)
            {
                // Data in flight: the retransmission timer takes over and the probe
                // backoff starts again (Linux's tcp_send_probe0 when packets_out).
                self.probes.update(|p| {
                    p.persist_backoff = 0;
                    p.persist_probes = 0;
                });
                return Some(seg);
            }
            if self.opts.keepalive().is_none() || self.probes.persist_at().is_some() {
                self.stats.rare().window_probes += 1;
            }
            // A probe with an old sequence number elicits an ACK (Linux's
            // tcp_xmit_probe_skb; RFC 9293 §3.8.6.1, RFC 1122 §4.2.3.6).
            return Some(self.build(
                now,
                self.snd.una - 1,
                self.rcv.nxt,
                TcpFlags::ACK,
                Bytes::new(),
            ));
        }
        if self.ack_now {
            return Some(self.pure_ack(now));
        }
        None
    }

    fn pure_ack(&mut self, now: Instant) -> Segment {
        // SND.MAX, or the right edge of the peer's window when SND.MAX lies beyond it (data
        // the peer could not take), so the ACK stays acceptable to the peer (RFC 9293
        // §3.10.7.4) and does not draw an ACK in return (Linux's tcp_acceptable_seq).
        let wnd_end = self.snd.una + self.snd.wnd;
        let seq = if self.snd.max.gt(wnd_end) {
            wnd_end
        } else {
            self.snd.max
        };
        if self.fin_unacked_bsd() {
            // FreeBSD's tcp_output keeps TH_FIN while our FIN is unacknowledged: the ACK
            // repeats it.
            let fin_seq = self.fin_seq();
            return self.build(
                now,
                fin_seq,
                self.rcv.nxt,
                TcpFlags::ACK | TcpFlags::FIN,
                Bytes::new(),
            );
        }
        self.build(now, seq, self.rcv.nxt, TcpFlags::ACK, Bytes::new())
    }

    /// The SYN (SYN_SENT) or SYN-ACK (SYN_RCVD), with Linux's option set and order
    /// (RFC 9293 §3.7.1, RFC 7323 §2.2 and §3.2, RFC 2018 §2). A SYN-ACK carries only the
    /// options the peer offered.
    fn build_syn(&mut self, now: Instant) -> Segment {
        let synack = self.state() == State::SynRcvd;
        let offer_ws = if synack {
            self.offered_wscale
        } else {
            self.cfg.window_scaling
        };
        let offer_sack = if synack { self.sack_ok } else { self.cfg.sack };
        let offer_ts = if synack {
            self.ts_ok
        } else {
            self.cfg.timestamps
        };
        let options = TcpOptions {
            mss: Some(self.adv_mss),
            window_scale: offer_ws.then(|| self.rwnd.offered_wscale(self.cfg.window_scale)),
            sack_permitted: offer_sack,
            timestamps: offer_ts.then(|| Timestamps {
                val: self.ts_value(now),
                ecr: if synack { self.ts_recent } else { 0 },
            }),
            sack_blocks: SackBlocks::new(),
            layout: self.cfg.option_layout,
        };
        // TCP_NOOPT: not even the MSS (FreeBSD's tcp_output with TF_NOOPT).
        let options = if self.cfg.no_options {
            TcpOptions::default()
        } else {
            options
        };
        let mut flags = TcpFlags::SYN;
        if synack {
            flags |= TcpFlags::ACK;
            if self.ecn.is_ok() {
                // RFC 3168 §6.1.1: the SYN-ACK of an ECN-setup SYN carries ECE.
                flags |= TcpFlags::ECE;
            }
        } else {
            // An ECN-setup SYN when we ask for ECN; not on a retransmission.
            let want = self.cfg.ecn == crate::config::EcnMode::On;
            flags |= self.ecn.syn_flags(want, self.retries > 0);
        }
        // The window of a SYN is rounded to our MSS; a SYN-ACK's to the MSS data will use
        // (Linux's tcp_connect_init and tcp_openreq_init_rwin).
        let mss = if synack {
            self.synack_window_mss()
        } else {
            u32::from(self.adv_mss)
        };
        let window = self.rwnd.initial(mss, self.rcv.nxt);
        self.snd.nxt = self.snd.iss + 1;
        self.snd.max = self.snd.iss + 1;
        // Only a SYN (SYN-ACK) never sent before is timed (Karn, RFC 6298 §3).
        if self.retries == 0 && self.stats.get(|s| s.retransmits) == 0 && self.rtt_timed.is_none() {
            self.rtt_timed = Some(TimedSegment {
                end: self.snd.iss + 1,
                sent: now,
            });
            let stamp = self.ts_clock(now);
            if let Some(o) = self.phase.opening_mut() {
                o.syn_stamp = stamp;
            }
            self.retrans_stamp = Some(now);
        }
        if self.rtx_at.is_none() {
            self.restart_rtx(now);
        }
        Segment {
            ecn: crate::wire::IpEcn::NotEct,
            header: TcpHeader {
                src_port: self.local_port,
                dst_port: self.remote_port,
                seq: self.snd.iss,
                ack: if synack { self.rcv.nxt } else { SeqNum::new(0) },
                flags,
                window: window.min(0xffff) as u16,
                urgent: 0,
                options,
            },
            payload: Bytes::new(),
        }
    }

    /// The next data or FIN segment the windows allow, if any.
    fn send_data(&mut self, now: Instant) -> Option<Segment> {
        if !self.pace_exempt && self.pacing_holds(now) {
            return None;
        }
        let smss = self.eff_mss();
        let data_end = self.buf_seq + self.send_buf.len() as u32;

        if self.fast_rexmit {
            self.fast_rexmit = false;
            if self.snd.una.lt(self.snd.max) {
                // Re-send the first segment of what was sent (RFC 5681 §3.2 step 4), never
                // unsent data, cut to the peer's window.
                if let Some(seg) = self.retransmit(now, self.snd.una, self.snd.max, smss) {
                    return Some(seg);
                }
            }
        }

        // F-RTO step 3 (RFC 5682 §3.1): only the new segments of step 2b go until the
        // next ACK decides.
        let frto_new = self.frto_new_segs > 0;
        if self.frto_holds_retransmissions() && !frto_new {
            return None;
        }
        let wnd_end = self.snd.una + self.snd.wnd;
        let cwnd = self.cc.cwnd();
        let mut flight = self.snd.nxt.since(self.snd.una);
        if let Some(l) = self.loss.active().filter(|_| !frto_new) {
            // SACK: retransmissions chosen by NextSeg() (RFC 6675 §4) or the tail loss
            // probe (RFC 8985 §7.3), within cwnd - pipe; the pipe also limits new data.
            flight = l.sb.pipe();
            let probe = l.probe_due;
            let avail_new = if self.snd.max.lt(data_end) {
                data_end.since(self.snd.max).min(smss)
            } else {
                0
            };
            let new_allowed = avail_new > 0 && (self.snd.max + avail_new).le(wnd_end);
            if (probe || flight < cwnd)
                && let Some((start, end)) = self.sack_next_retransmission(new_allowed)
            {
                return self.retransmit(now, start, end, smss);
            }
        }
        let cwnd = if self.tlp_new_data || frto_new {
            u32::MAX
        } else if self.loss.is_none() && self.recovery.is_none() && (1..=2).contains(&self.dupacks)
        {
            // Limited transmit (RFC 3042 §2): each of the first two duplicate ACKs lets one
            // new segment out beyond cwnd, so a small window can still reach three.
            cwnd.saturating_add(self.dupacks * smss)
        } else {
            cwnd
        };
        if self.snd.nxt.lt(data_end) {
            if self.snd.nxt == self.snd.max && !self.tlp_new_data && !frto_new {
                // Packetization-layer path MTU discovery (RFC 4821 §7.3, Linux's
                // tcp_mtu_probe before tcp_write_xmit sends new data).
                match self.mtu_probe_now(now, data_end, wnd_end, flight, cwnd) {
                    super::mtu_probe::ProbeNow::Send(len) => {
                        let seq = self.snd.nxt;
                        let seg = self.data_segment(now, seq, len, false, false, false);
                        self.on_mtu_probe_sent(seq, len);
                        return Some(seg);
                    }
                    super::mtu_probe::ProbeNow::Wait => return None,
                    super::mtu_probe::ProbeNow::No => {}
                }
            }
            let avail = data_end.since(self.snd.nxt);
            let mut len = avail.min(smss);
            // A record (MSG_EOR) ends its segment; what follows is not the queue's tail,
            // so Nagle does not hold it (tcp_nagle_test with TCP_NAGLE_PUSH).
            let record_end = self.wq.record_end(self.snd.nxt);
            let mut record_cut = false;
            if let Some(e) = record_end
                && e.lt(data_end)
                && e.since(self.snd.nxt) < len
            {
                len = e.since(self.snd.nxt);
                record_cut = true;
            }
            let retransmission = self.snd.nxt.lt(self.snd.max);
            if (self.snd.nxt + len).gt(wnd_end) {
                let usable = if wnd_end.gt(self.snd.nxt) {
                    wnd_end.since(self.snd.nxt)
                } else {
                    0
                };
                if !retransmission {
                    // New data: sender SWS avoidance (RFC 9293 §3.8.6.2.1). A piece smaller
                    // than a segment goes only if it is at least half the largest window
                    // the peer ever offered (Fs = 1/2, as Linux's tcp_bound_to_half_wnd);
                    // other window-limited pieces go out from the persist timer.
                    if usable == 0 || usable < self.snd.max_wnd.div_ceil(2) {
                        return None;
                    }
                    len = usable;
                    let with_fin = self.fin_queued
                        && self.snd.nxt + len == data_end
                        && (data_end + 1).le(wnd_end);
                    if flight.saturating_add(len) > cwnd.max(smss) {
                        return None;
                    }
                    let seq = self.snd.nxt;
                    return Some(self.data_segment(now, seq, len, with_fin, false, false));
                }
                // A retransmission is cut to the window (Linux's __tcp_retransmit_skb);
                // into a closed window only the head goes, as a probe (tcp_retransmit_timer).
                if usable > 0 {
                    len = usable;
                } else if self.snd.nxt != self.snd.una {
                    return None;
                }
            }
            if flight.saturating_add(len) > cwnd.max(smss) {
                return None;
            }
            if len < smss && !retransmission && !frto_new && !record_cut && self.nagle_holds() {
                return None;
            }
            let with_fin =
                self.fin_queued && self.snd.nxt + len == data_end && (data_end + 1).le(wnd_end);
            let seq = self.snd.nxt;
            return Some(self.data_segment(now, seq, len, with_fin, retransmission, true));
        }
        // A bare FIN is sent whatever the window (as BSD does): it carries no data.
        if self.fin_queued && self.snd.nxt == data_end {
            let retransmission = self.snd.nxt.lt(self.snd.max);
            return Some(self.data_segment(now, data_end, 0, true, retransmission, false));
        }
        None
    }

    /// Retransmits `[start, end)` (sent data) as chosen by the SACK scoreboard, the tail loss
    /// probe or the NewReno fast retransmit: at most one segment, cut to the peer's window as
    /// Linux's __tcp_retransmit_skb does (into a closed window only the head goes).
    fn retransmit(
        &mut self,
        now: Instant,
        start: SeqNum,
        end: SeqNum,
        smss: u32,
    ) -> Option<Segment> {
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let wnd_end = self.snd.una + self.snd.wnd;
        let start = start.max(self.buf_seq);
        // Collapse: when the rest of the flight fits in this segment and none of it is
        // SACKed, send it along (as Linux's tcp_retrans_try_collapse), so a separate FIN
        // goes out with the data before it.
        let mut end = end;
        if let Some(l) = self.loss.active() {
            // A lost segment goes with the lost ones after it in its original packet, cut
            // at the current MSS: the same segments as before unless the MSS shrank
            // (a lower path MTU, SACK blocks in our header), when whole segments of the
            // new size go rather than each old one in two pieces.
            let run = l.sb.lost_run_bytes(start);
            if run > end.since(start) {
                end = start + run;
            }
            let rest = self.snd.max.since(start);
            let fits = rest <= smss + u32::from(self.fin_queued);
            if end.lt(self.snd.max)
                && fits
                && !l.sb.is_sacked(end)
                && !l.sb.is_sacked(self.snd.max - 1)
            {
                end = self.snd.max;
            }
        }
        let data_left = if start.lt(data_end) {
            data_end.since(start)
        } else {
            0
        };
        let mut len = end.since(start).min(data_left).min(smss);
        let mut with_fin = self.fin_queued && start + len == data_end && end.gt(data_end);
        if (start + len).gt(wnd_end) {
            let usable = if wnd_end.gt(start) {
                wnd_end.since(start)
            } else {
                0
            };
            if usable > 0 {
                len = usable;
                with_fin = false;
            } else if start != self.snd.una {
                return None;
            }
        }
        if len == 0 && !with_fin {
            return None;
        }
        Some(self.data_segment(now, start, len, with_fin, true, true))
    }

    /// Pacing (a controller that gives a pacing rate, BBR): a data packet may leave once
    /// the previous ones have had their time at the rate (Linux's `tcp_pacing_check`
    /// against `tcp_wstamp_ns`); the segments of a packet (a TSO unit, about 1 ms at the
    /// pacing rate and at least two segments, see `tso`) leave together, so pacing costs
    /// no throughput. A held sender reports `pace_next` through `poll_timeout`.
    fn pacing_holds(&mut self, now: Instant) -> bool {
        let Some(at) = self.pace_next else {
            return false;
        };
        if now >= at || (self.gso_left > 0 && self.gso_at == Some(now)) {
            return false;
        }
        self.pace_held = true;
        true
    }

    /// A data segment of `len` bytes leaves at `now`: the next packet's departure moves
    /// `len / rate` later (Linux's `tcp_update_skb_after_send`; the first ten segments
    /// are not paced, as there).
    ///
    /// A sender released by its pacing timer late (an embedder whose timers are coarse,
    /// such as mio's millisecond timeouts) catches up: the schedule runs on from the
    /// departure it missed, at most `PACING_CATCH_UP` behind now, so the rate holds; on
    /// time (the simulator) this changes nothing. Otherwise (sending resumes after the
    /// window or the application held it) the schedule restarts now, as Linux's
    /// `tcp_wstamp_ns = max(tcp_wstamp_ns, now)`.
    ///
    /// A segment sent outside the schedule (`outside_schedule`: the retransmission
    /// timer's first retransmission, a persist probe) moves the next departure no later
    /// than its own time from now. Linux adds its time to `tcp_wstamp_ns` however far
    /// ahead that already is; at a rate collapsed to a few bytes per second, probes sent
    /// at every persist interval then pile up hours of debt that hold the data and the
    /// FIN behind them (found by the `pair` fuzz target).
    fn pacing_on_sent(&mut self, now: Instant, len: u32, outside_schedule: bool) {
        self.pace_held = false;
        let Some(rate) = self.cc.pacing_rate() else {
            self.pace_next = None;
            self.pace_catch_up = false;
            return;
        };
        if len == 0 || self.stats.data_segs_out < 10 {
            return;
        }
        if outside_schedule {
            let own = now + pacing_gap(len, rate);
            self.pace_next = Some(self.pace_next.map_or(own, |t| t.max(own)));
            return;
        }
        let base = match self.pace_next {
            Some(t) if self.pace_catch_up => t.max(now.saturating_sub(PACING_CATCH_UP)),
            Some(t) => t.max(now),
            None => now,
        };
        let next = base + pacing_gap(len, rate);
        if next >= now {
            // Caught up: the next late release starts a new catch-up.
            self.pace_catch_up = false;
        }
        self.pace_next = Some(next);
    }

    /// Nagle's algorithm in Minshall's form, as Linux: hold a sub-MSS segment while an
    /// earlier sub-MSS segment is unacknowledged (RFC 9293 §3.7.4; off with TCP_NODELAY,
    /// and once the application has closed its side).
    fn nagle_holds(&self) -> bool {
        if self.nagle_push || self.push_once || self.fin_queued {
            return false;
        }
        // TCP_CORK and MSG_MORE hold a partial segment whatever TCP_NODELAY says
        // (TCP_NAGLE_CORK in tcp_nagle_check).
        if self.opts.cork || self.more_hold {
            return true;
        }
        !self.opts.nodelay
            && !self.fin_queued
            && self.snd.sml.gt(self.snd.una)
            && self.snd.sml.le(self.snd.nxt)
    }

    /// What Linux's TSO sizing allows in one packet now: the congestion window's quota
    /// and the autosized maximum (see `tso`).
    pub(super) fn tso_input(&self, sendable: u32, retransmission: bool) -> tso::UnitInput {
        let smss = self.eff_mss().max(1);
        let flight = match self.loss.active() {
            Some(l) => l.sb.pipe(),
            None => self.snd.nxt.since(self.snd.una),
        };
        tso::UnitInput {
            mss: smss,
            cwnd: (self.cc.cwnd() / smss).max(1),
            ssthresh: self.cc.ssthresh() / smss,
            in_flight: flight.div_ceil(smss),
            packets_out: self.snd.max.since(self.snd.una).div_ceil(smss),
            srtt: self.rtt.srtt(),
            min_rtt: self.rtt.min_rtt(),
            sendable,
            retransmission,
            min_tso_segs: self.cfg.min_tso_segs.max(1),
            cc_pacing_rate: self.cc.pacing_rate(),
        }
    }

    /// Counts a data segment at `seq` into the packet being sent, cutting a new packet
    /// when the last one is complete (or was started at another time): new data from the
    /// skb model (`write_queue`), retransmissions within one original packet. Returns
    /// whether this segment ends a packet that carries PSH.
    fn packet_psh(&mut self, now: Instant, seq: SeqNum, len: u32, retransmission: bool) -> bool {
        let smss = self.eff_mss().max(1);
        if self.gso_left == 0 || self.gso_at != Some(now) {
            let wnd_end = self.snd.una + self.snd.wnd;
            let data_end = self.buf_seq + self.send_buf.len() as u32;
            let planned = if retransmission {
                None
            } else {
                let quota = tso::packet_segments(&self.tso_input(u32::MAX, false));
                let partial_ok = !self.nagle_holds();
                self.wq.next_packet(seq, smss, quota, wnd_end, partial_ok)
            };
            let (segs, psh) = match planned {
                Some(p) => {
                    self.gso_mark = p.mark;
                    (p.len.div_ceil(smss).max(1), p.psh)
                }
                None => {
                    let limit = if retransmission {
                        self.snd.max.min(data_end)
                    } else {
                        data_end
                    };
                    let end = if wnd_end.lt(limit) { wnd_end } else { limit };
                    let bytes = if end.gt(seq) { end.since(seq) } else { 0 };
                    let mut sendable = bytes.div_ceil(smss);
                    if retransmission {
                        sendable = match self.loss.active() {
                            // With SACK the run of lost segments within one original
                            // packet, at the current MSS.
                            Some(l) => l.sb.lost_run_bytes(seq).div_ceil(smss).min(sendable),
                            // Without the scoreboard the packets are not known.
                            None => 1,
                        };
                    }
                    let n = tso::unit_segments(&self.tso_input(sendable, retransmission));
                    // A retransmission carries the PSH mark of the packet it repeats;
                    // data the model does not know gets PSH where the queued data ends.
                    let mark = if retransmission {
                        n == 1
                            && self
                                .loss
                                .active()
                                .is_some_and(|l| l.sb.psh_mark_at(seq + len))
                    } else {
                        seq + len == data_end
                    };
                    self.gso_mark = mark;
                    (n, n > 1 || mark)
                }
            };
            self.gso_left = segs;
            self.gso_psh = psh;
            self.gso_at = Some(now);
        }
        self.gso_left = self.gso_left.saturating_sub(1);
        self.gso_left == 0 && self.gso_psh
    }

    /// Builds a segment of `len` bytes at `seq` (plus FIN) and advances SND.NXT. `unit`: the
    /// segment is part of a run the send path may continue at once (the TSO units of
    /// `tso`); otherwise it goes alone.
    fn data_segment(
        &mut self,
        now: Instant,
        seq: SeqNum,
        len: u32,
        fin: bool,
        retransmission: bool,
        unit: bool,
    ) -> Segment {
        let offset = seq.since(self.buf_seq) as usize;
        let payload = self.send_buf.slice(offset, len as usize);
        let len = payload.len() as u32;
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let mut flags = TcpFlags::ACK;
        // PSH where Linux's wire shows it: at the end of the queued data (the end of the
        // last write, tcp_push) and on the last segment of every TSO unit of two or more
        // segments (see `tso`).
        // FreeBSD's tcp_output sets PSH only when the segment empties the send buffer.
        let tso_units = self.cfg.segment_rules != SegmentRules::Bsd;
        let psh = if unit && len > 0 && tso_units {
            self.packet_psh(now, seq, len, retransmission)
        } else {
            self.gso_left = 0;
            if !retransmission {
                self.wq.on_sent(seq + len);
            }
            self.gso_mark = seq + len == data_end;
            self.gso_mark
        };
        // A retransmission that ends the queued data carries the mark of the end of the
        // last write.
        if len > 0 && (psh || (retransmission && seq + len == data_end)) {
            flags |= TcpFlags::PSH;
        }
        let packet_end = self.gso_left == 0;
        if !retransmission
            && packet_end
            && len > 0
            && let Some(m) = self.send_memory.as_deref_mut()
        {
            // Each packet sent is an skb of the retransmission queue (tso_fragment).
            m.on_sent(seq + len);
        }
        if fin {
            flags |= TcpFlags::FIN;
        }
        // New data is ECN-capable, with CWR after a window reduction (RFC 3168 §6.1.2,
        // Linux's tcp_ecn_send); retransmissions are not.
        let (ecn, cwr) = if len > 0 && !retransmission {
            self.ecn.on_new_data()
        } else {
            (crate::wire::IpEcn::NotEct, TcpFlags::empty())
        };
        flags |= cwr;
        let end = seq + len + u32::from(fin);
        let tsval = self.ts_ok.then(|| self.ts_value(now));
        let outside_schedule = core::mem::take(&mut self.pace_exempt);
        if len > 0 {
            // A reply soon after data arrived makes the connection interactive.
            self.ack.on_data_sent(now);
            if self.snd.una == self.snd.max {
                // Nothing in flight: sending starts again (CA_EVENT_TX_START).
                self.cc
                    .on_tx_start(now.saturating_duration_since(self.last_data_sent));
            }
            self.last_data_sent = now;
            self.stats.data_segs_out = self.stats.data_segs_out.wrapping_add(1);
            self.pacing_on_sent(now, len, outside_schedule);
        }
        if self.sack_ok
            && self.loss.is_none()
            && self.snd.una == self.snd.max
            && self.state().is_synchronized()
        {
            // The SACK sender's state (about 650 bytes) starts with the first data sent
            // while nothing is outstanding, so connections that never sent carry none
            // (and it rests while idle: see `loss_slot`).
            self.loss = super::loss_slot::LossSlot::Active(alloc::boxed::Box::new(
                super::loss::Loss::new(self.snd.una, self.eff_mss(), self.cfg.send_buffer),
            ));
        }
        if let Some(l) = self.loss.awake(self.snd.una) {
            // RFC 8985 §6.1 / RFC 6675: every transmission is recorded on the scoreboard.
            if core::mem::take(&mut l.rescue) {
                l.sb.on_rescue_retransmit(seq, end, now);
            } else {
                l.sb.on_transmit(seq, end, now);
                if !retransmission && packet_end {
                    // Each packet sent is an skb of the retransmission queue.
                    l.sb.mark_unit_end(seq + len, self.gso_mark);
                }
            }
            if l.in_recovery()
                && let Some(p) = l.prr.as_mut()
            {
                p.on_transmit(end.since(seq));
            }
            if retransmission {
                l.undo.on_retransmit(tsval);
            }
        }
        self.tlp_new_data = false;
        if !retransmission && len > 0 {
            self.frto_new_segs = self.frto_new_segs.saturating_sub(1);
        }
        if retransmission {
            self.stats.rare().retransmits += 1;
            self.stats.add(u64::from(len), |s| &mut s.bytes_retrans);
            // Karn: a retransmission invalidates the timed segment.
            self.rtt_timed = None;
        } else {
            self.stats.bytes_sent += u64::from(len);
            if !self.ts_ok && self.rtt_timed.is_none() {
                self.rtt_timed = Some(TimedSegment { end, sent: now });
            }
        }
        if len < self.eff_mss() && len > 0 {
            self.snd.sml = seq + len;
        }
        if end.gt(self.snd.nxt) {
            self.snd.nxt = end;
        }
        if end.gt(self.snd.max) {
            self.snd.max = end;
        }
        self.note_flight();
        if self.rtx_at.is_none() {
            self.restart_rtx(now);
        }
        if !retransmission && len > 0 {
            // New data restarts the probe timeout (RFC 8985 §7.2).
            self.sack_arm_pto(now, true, false);
        }
        self.probes.stop_persist();
        let mut seg = self.build(now, seq, self.rcv.nxt, flags, payload);
        seg.ecn = ecn;
        seg
    }

    /// Sends a window-limited piece or a zero-window probe (persist timer expiry,
    /// RFC 9293 §3.8.6.1; Linux's tcp_write_wakeup).
    pub(super) fn send_window_probe(&mut self, now: Instant) -> Option<Segment> {
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let wnd_end = self.snd.una + self.snd.wnd;
        if self.snd.nxt.lt(data_end) && self.snd.nxt.lt(wnd_end) {
            let len = data_end
                .since(self.snd.nxt)
                .min(wnd_end.since(self.snd.nxt))
                .min(self.eff_mss());
            let seq = self.snd.nxt;
            let retransmission = seq.lt(self.snd.max);
            // tcp_write_wakeup does not ask tcp_pacing_check.
            self.pace_exempt = true;
            let mut seg = self.data_segment(now, seq, len, false, retransmission, false);
            // A probe carrying data asks to be delivered (Linux's tcp_write_wakeup).
            seg.header.flags |= TcpFlags::PSH;
            return Some(seg);
        }
        None
    }

    /// Fills in timestamps, SACK blocks and the window, and records what the ACK says.
    fn build(
        &mut self,
        now: Instant,
        seq: SeqNum,
        ack: SeqNum,
        flags: TcpFlags,
        payload: Bytes,
    ) -> Segment {
        let mut options = TcpOptions {
            layout: self.cfg.option_layout,
            ..TcpOptions::default()
        };
        if self.ts_ok {
            options.timestamps = Some(Timestamps {
                val: self.ts_value(now),
                ecr: self.ts_recent,
            });
        }
        let has_ack = flags.contains(TcpFlags::ACK);
        if self.sack_ok && has_ack && !flags.contains(TcpFlags::RST) {
            options.sack_blocks = self.sack_blocks();
        }
        let window = if flags.contains(TcpFlags::RST) {
            0
        } else {
            self.select_window()
        };
        // ECE on every segment while a CE mark waits for the peer's CWR (RFC 3168 §6.1.3).
        let flags = if flags.intersects(TcpFlags::SYN | TcpFlags::RST) {
            flags
        } else {
            flags | self.ecn.ack_flags()
        };
        Segment {
            header: TcpHeader {
                src_port: self.local_port,
                dst_port: self.remote_port,
                seq,
                ack: if has_ack { ack } else { SeqNum::new(0) },
                flags,
                window,
                urgent: 0,
                options,
            },
            payload,
            ecn: crate::wire::IpEcn::NotEct,
        }
    }

    /// SACK blocks for an outgoing ACK, newest first (RFC 2018 §4): at most 3 next to
    /// timestamps, 4 without.
    fn sack_blocks(&mut self) -> SackBlocks {
        let mut out = SackBlocks::new();
        let max = if self.ts_ok { 3 } else { 4 };
        if let Some(list) = self.bsd.as_deref_mut().map(|b| &mut b.sack) {
            // FreeBSD's list, D-SACKs included; those at or below RCV.NXT go once sent.
            for (left, right) in list.blocks().take(max) {
                out.push(SackBlock { left, right });
            }
            list.clean_dsack(self.rcv.nxt);
            return out;
        }
        // A D-SACK block goes first (RFC 2883 §4), once.
        if let Some((left, right)) = self.dsack.take() {
            out.push(SackBlock { left, right });
            self.stats.rare().dsacks_sent += 1;
        }
        let base = self.rcv.nxt;
        let next = self.recv_buf.next();
        for &(a, b) in self.recv_buf.sack_blocks().iter() {
            if out.len() >= max {
                break;
            }
            let left = base + (a - next) as u32;
            let right = base + (b - next) as u32;
            out.push(SackBlock { left, right });
        }
        out
    }

    /// Our TSval: the 1 ms clock plus the connection's offset (RFC 7323 §5.4).
    pub(super) fn ts_value(&self, now: Instant) -> u32 {
        self.ts_clock(now).wrapping_add(self.ts_offset)
    }

    /// The window field to advertise (RFC 9293 §3.8.6.2.2 receiver SWS avoidance; the
    /// right edge never moves left, RFC 7323 §2.4): Linux's `tcp_select_window`.
    fn select_window(&mut self) -> u16 {
        let rcv_mss = self.ack.rcv_mss();
        self.rwnd.select(self.rcv.nxt, rcv_mss, &mut self.ack).field
    }

    /// Bookkeeping after an ACK left: pending and delayed ACKs are satisfied.
    fn ack_sent(&mut self, ack: SeqNum) {
        self.ack_now = false;
        if ack == self.rcv.nxt {
            self.ack.on_ack_sent();
        }
    }
}
