//! When to acknowledge received data (RFC 9293 §3.8.6.3, RFC 5681 §4.2, RFC 1122 §4.2.3.2):
//! Linux's delayed-ACK engine, as a self-contained state machine.
//!
//! The rules, each from the Linux function named beside it:
//! - Every received data segment *schedules* an ACK (`inet_csk_schedule_ack`); whether it
//!   goes at once or after a delay is decided after the segment is processed
//!   (`__tcp_ack_snd_check`): at once in *quick-ACK mode*, when more than one full-sized
//!   segment arrived since the window was last advertised and the window has not shrunk, or
//!   when the protocol demands it (a filled hole, data beyond the window, a duplicate);
//!   otherwise the delayed-ACK timer runs (`tcp_send_delayed_ack`).
//! - Quick-ACK mode (`tcp_incr_quickack`, `tcp_enter_quickack_mode`) is a budget of ACKs
//!   sent at once: set on the first data segment, after a long silence, after duplicate or
//!   out-of-window data, and kept alive while the receive window grows; each ACK that
//!   acknowledges new data spends one (`tcp_dec_quickack_mode`). Quick-ACK mode is off in
//!   *ping-pong* (interactive) mode.
//! - Ping-pong mode is entered when we send data within `ato` of the last data received
//!   (`tcp_event_data_sent`), when the peer's FIN arrives (`tcp_fin`), or by
//!   `TCP_QUICKACK = 0`; it is left when a delayed ACK had to fire (`tcp_delack_timer_handler`).
//! - The delay `ato` adapts to the peer's inter-segment gap (`tcp_event_data_recv`), between
//!   40 ms (`TCP_ATO_MIN`) and 200 ms (`TCP_DELACK_MAX`), and grows when the delayed-ACK timer
//!   fires outside ping-pong mode.
//! - `rcv_mss`, the receiver's estimate of the peer's segment size that "full-sized" refers
//!   to, follows the segments seen (`tcp_measure_rcv_mss`).
//! - While out-of-order data is held, the first three ACKs for the same RCV.NXT go at once
//!   and later ones are compressed into one sent after a short timer (`tcp_comp_sack`).
//! - After the application reads, an ACK still pending goes out if more than a segment is
//!   unacknowledged or a pushed segment was drained outside ping-pong mode
//!   (`__tcp_cleanup_rbuf`).
//!
//! [`AckPolicy::EverySegment`] replaces all of this with an ACK for every data segment.

use crate::seq::SeqNum;
use crate::time::{Duration, Instant};

/// Which acknowledgement policy a connection follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AckPolicy {
    /// Linux's delayed ACKs with quick-ACK and ping-pong modes (see the module docs). What
    /// a peer sees from a Linux host.
    #[default]
    Linux,
    /// Acknowledge every data segment at once: no delayed ACKs, for latency-sensitive
    /// embedders that do not mind twice the ACK traffic.
    EverySegment,
    /// The classic rule of RFC 1122 §4.2.3.2 and RFC 5681 §4.2, as the BSDs implement it
    /// (FreeBSD's `DELAY_ACK` with `net.inet.tcp.delacktime`): the first in-order segment
    /// starts a timer of `delay`; the second, a segment larger than the MSS, out-of-order
    /// data or the filling of a hole is acknowledged at once, and so is the peer's FIN
    /// (`tcp_do_segment` sets `TF_ACKNOW` for it). No quick-ACK or ping-pong modes.
    Delayed {
        /// The delayed-ACK timeout (FreeBSD: 40 ms by default in 14.x, 100 ms before).
        delay: Duration,
    },
}

/// `TCP_ATO_MIN` (HZ/25): the smallest delayed-ACK timeout and its starting value.
pub(crate) const ATO_MIN: Duration = Duration::from_millis(40);
/// `TCP_DELACK_MAX` (HZ/5): the largest delayed-ACK timeout.
pub(crate) const DELACK_MAX: Duration = Duration::from_millis(200);
/// `TCP_DELACK_MIN` (HZ/25).
const DELACK_MIN: Duration = Duration::from_millis(40);
/// `HZ/2`: the bound on `ato` outside ping-pong mode in `tcp_send_delayed_ack`.
const HALF_SECOND: Duration = Duration::from_millis(500);
/// `TCP_MAX_QUICKACKS`: the largest quick-ACK budget.
pub(crate) const MAX_QUICKACKS: u8 = 16;
/// `TCP_FASTRETRANS_THRESH`: ACKs sent at once for one RCV.NXT while out-of-order data is
/// held, before compression starts.
const COMP_DUPACKS: u8 = 3;
/// `tcp_comp_sack_nr` (44): compressed ACKs at most before one must go.
const COMP_SACK_NR: u8 = 44;
/// `tcp_comp_sack_delay_ns` (1 ms): the longest compression delay.
const COMP_SACK_DELAY: Duration = Duration::from_millis(1);
/// `TCP_MSS_DEFAULT` (536) and `TCP_MIN_MSS` (88): bounds of the receive-MSS estimate.
const MSS_DEFAULT: u32 = 536;
const MIN_MSS: u32 = 88;
/// Bytes of a TCP header without options.
const TCP_HDR: u32 = 20;

// `icsk_ack.pending` bits (include/net/inet_connection_sock.h).
const SCHED: u8 = 1;
const TIMER: u8 = 2;
const PUSHED: u8 = 4;
const PUSHED2: u8 = 8;
const NOW: u8 = 16;

/// What `__tcp_ack_snd_check` decided for a scheduled ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckDecision {
    /// Send an ACK now.
    Now,
    /// The delayed-ACK (or compression) timer runs; nothing to send yet.
    Later,
}

/// One data segment as the ACK engine sees it (`tcp_measure_rcv_mss` reads these).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegmentSize {
    /// Payload bytes.
    pub(crate) payload: u32,
    /// The TCP header's length in this segment, options included.
    pub(crate) header: u32,
    /// The header length every segment of this connection has (20, plus 12 with
    /// timestamps): Linux's `tcp_header_len`.
    pub(crate) invariant_header: u32,
    /// SYN, FIN, URG or PSH was set (`TCP_REMNANT`): the segment may be short on purpose.
    pub(crate) remnant: bool,
    /// PSH was set.
    pub(crate) psh: bool,
}

/// [`AckPolicy`] without its delay, one byte (the classic delay is read from the
/// configuration when that policy runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Linux,
    EverySegment,
    Delayed,
}

/// The per-connection state of the ACK engine (Linux's `icsk_ack` and the SACK-compression
/// fields of `tcp_sock`).
#[derive(Clone, Debug)]
pub(crate) struct AckState {
    policy: Policy,
    pending: u8,
    quick: u8,
    pingpong: u8,
    compressed: u8,
    dup_counter: u8,
    /// Adaptive delayed-ACK timeout in µs (Linux's `icsk_ack.ato`, at most
    /// `DELACK_MAX`); zero until the first data segment.
    ato_us: u32,
    /// When the last data segment arrived.
    lrcvtime: Instant,
    /// Deadline of the delayed-ACK timer (while `TIMER` is set).
    timeout: Instant,
    /// Deadline of the SACK-compression timer.
    comp_at: Option<Instant>,
    comp_rcv_nxt: SeqNum,
    rcv_mss: u32,
    last_seg_size: u32,
}

impl AckState {
    /// A new engine; `rcv_mss` is the first estimate of the peer's segment size
    /// (`tcp_initialize_rcv_mss`).
    pub(crate) fn new(policy: &AckPolicy, now: Instant, rcv_mss: u32) -> Self {
        let policy = match policy {
            AckPolicy::Linux => Policy::Linux,
            AckPolicy::EverySegment => Policy::EverySegment,
            AckPolicy::Delayed { .. } => Policy::Delayed,
        };
        AckState {
            policy,
            pending: 0,
            quick: 0,
            pingpong: 0,
            compressed: 0,
            dup_counter: 0,
            ato_us: 0,
            lrcvtime: now,
            timeout: now,
            comp_at: None,
            comp_rcv_nxt: SeqNum::new(0),
            rcv_mss,
            last_seg_size: 0,
        }
    }

    /// `tcp_initialize_rcv_mss`: the first receive-MSS estimate once the handshake has
    /// told both MSS values: the smaller of ours and the peer's, of half the window, of
    /// 536, and at least 88.
    pub(crate) fn initial_rcv_mss(advmss: u32, mss_cache: u32, rcv_wnd: u32) -> u32 {
        advmss
            .min(mss_cache)
            .min(rcv_wnd / 2)
            .clamp(MIN_MSS, MSS_DEFAULT)
    }

    /// Sets the receive-MSS estimate (`tcp_initialize_rcv_mss` at establishment).
    pub(crate) fn set_rcv_mss(&mut self, rcv_mss: u32) {
        self.rcv_mss = rcv_mss;
    }

    /// The receiver's estimate of the peer's full segment size.
    pub(crate) fn rcv_mss(&self) -> u32 {
        self.rcv_mss
    }

    /// The current adaptive delayed-ACK timeout (Linux's `tcpi_ato`).
    pub(crate) fn ato(&self) -> Duration {
        Duration::from_micros(u64::from(self.ato_us))
    }

    /// Sets `ato` (callers keep it within `DELACK_MAX`; saturates at about 71 minutes).
    fn set_ato(&mut self, ato: Duration) {
        self.ato_us = u32::try_from(crate::time::duration_micros(ato)).unwrap_or(u32::MAX);
    }

    /// Restarts the clock of the last data received (`icsk_ack.lrcvtime` at
    /// establishment).
    pub(crate) fn set_last_data_recv(&mut self, now: Instant) {
        self.lrcvtime = now;
    }

    /// When the last data segment arrived (`icsk_ack.lrcvtime`).
    pub(crate) fn last_data_recv(&self) -> Instant {
        self.lrcvtime
    }

    /// `inet_csk_schedule_ack`: an ACK is owed.
    pub(crate) fn schedule(&mut self) {
        self.pending |= SCHED;
    }

    /// Whether the peer's FIN is acknowledged at once (the classic policy) rather than as
    /// Linux schedules it.
    pub(crate) fn fin_acked_at_once(&self) -> bool {
        self.policy == Policy::Delayed
    }

    /// An ACK is owed (`inet_csk_ack_scheduled`).
    pub(crate) fn scheduled(&self) -> bool {
        self.pending & SCHED != 0
    }

    /// The next scheduled ACK must go at once (`ICSK_ACK_NOW`): a hole was filled
    /// (RFC 5681 §4.2).
    pub(crate) fn force_now(&mut self) {
        self.pending |= NOW;
    }

    /// `tcp_measure_rcv_mss`: adapt the receive-MSS estimate to a data segment. Returns
    /// whether a full segment of a new size was seen, from which Linux re-measures the
    /// payload/memory ratio of the receive buffer.
    pub(crate) fn measure_rcv_mss(&mut self, seg: SegmentSize, advmss: u32) -> bool {
        let lss = self.last_seg_size;
        self.last_seg_size = 0;
        let len = seg.payload;
        if len >= self.rcv_mss {
            let new_size = len != self.rcv_mss;
            self.rcv_mss = len.min(advmss);
            // A full segment with PSH ends an application write: an ACK may be owed as
            // soon as the application reads it (`tcp_cleanup_rbuf`).
            if seg.psh {
                self.pending |= PUSHED;
            }
            return new_size;
        }
        // The invariant length (header included) shows a full segment whatever the SACK
        // options in it; PSH marks a short write.
        let whole = len + seg.header;
        if whole >= MSS_DEFAULT + TCP_HDR || (whole >= MIN_MSS + TCP_HDR && !seg.remnant) {
            let size = whole.saturating_sub(seg.invariant_header);
            self.last_seg_size = size;
            if size == lss {
                self.rcv_mss = size;
                return false;
            }
        }
        if self.pending & PUSHED != 0 {
            self.pending |= PUSHED2;
        }
        self.pending |= PUSHED;
        false
    }

    /// The `ato` estimator of `tcp_event_data_recv`, for an in-order data segment arriving
    /// at `now`. `rcv_wnd` is the window last advertised, `rto` the current RTO.
    pub(crate) fn on_data_recv(&mut self, now: Instant, rcv_wnd: u32, rto: Duration) {
        if self.ato().is_zero() {
            // The first data segment starts the engine in quick-ACK mode.
            self.incr_quickack(rcv_wnd, MAX_QUICKACKS);
            self.set_ato(ATO_MIN);
        } else {
            let m = now.saturating_duration_since(self.lrcvtime);
            if m <= ATO_MIN / 2 {
                // The fastest case is the first.
                self.set_ato(self.ato() / 2 + ATO_MIN / 2);
            } else if m < self.ato() {
                self.set_ato((self.ato() / 2 + m).min(rto).min(DELACK_MAX));
            } else if m > rto {
                // Too long a gap: the sender apparently failed to restart its window,
                // so ACK quickly.
                self.incr_quickack(rcv_wnd, MAX_QUICKACKS);
            }
        }
        self.lrcvtime = now;
    }

    /// `tcp_incr_quickack`: raise the quick-ACK budget to half a window's segments (at least
    /// two, at most `max`).
    pub(crate) fn incr_quickack(&mut self, rcv_wnd: u32, max: u8) {
        let per = 2 * self.rcv_mss.max(1);
        let mut n = rcv_wnd / per;
        if n == 0 {
            n = 2;
        }
        let n = n.min(u32::from(max)) as u8;
        if n > self.quick {
            self.quick = n;
        }
    }

    /// `tcp_enter_quickack_mode`: quick ACKs now, out of ping-pong mode, shortest `ato`.
    pub(crate) fn enter_quickack_mode(&mut self, rcv_wnd: u32, max: u8) {
        self.incr_quickack(rcv_wnd, max);
        self.pingpong = 0;
        self.set_ato(ATO_MIN);
    }

    /// The handshake's final ACK is held back for up to `TCP_DELACK_MAX`, to ride on data
    /// (`tcp_rcv_synsent_state_process`).
    pub(crate) fn delay_max(&mut self, now: Instant) {
        self.pending |= SCHED | TIMER;
        self.timeout = now + DELACK_MAX;
    }

    /// The receive window grew (`tcp_grow_window`): keep at least one quick ACK, so the
    /// sender hears of the larger window soon.
    pub(crate) fn keep_one_quick(&mut self) {
        self.quick |= 1;
    }

    /// The window is being squeezed (`__tcp_select_window` with little free space): quick
    /// ACKs would only announce shrinking windows.
    pub(crate) fn stop_quick(&mut self) {
        self.quick = 0;
    }

    /// `tcp_in_quickack_mode`.
    fn in_quickack_mode(&self) -> bool {
        self.quick > 0 && !self.in_pingpong()
    }

    /// `inet_csk_in_pingpong_mode` (threshold `tcp_pingpong_thresh` = 1).
    pub(crate) fn in_pingpong(&self) -> bool {
        self.pingpong >= 1
    }

    /// `inet_csk_enter_pingpong_mode`: the connection is interactive; ACKs ride on replies.
    pub(crate) fn enter_pingpong(&mut self) {
        self.pingpong = 1;
    }

    /// `tcp_event_data_sent`: a data segment leaves at `now`; a reply within `ato` of the
    /// last data received marks the connection interactive.
    pub(crate) fn on_data_sent(&mut self, now: Instant) {
        if now.saturating_duration_since(self.lrcvtime) < self.ato() {
            self.pingpong = self.pingpong.saturating_add(1);
        }
    }

    /// `__tcp_ack_snd_check` for a scheduled ACK. `more_than_a_segment` is Linux's first
    /// condition, which the caller evaluates first because it has a side effect on this
    /// state: more than `rcv_mss` bytes arrived since the window was last advertised and the
    /// window would not shrink (`__tcp_select_window() >= rcv_wnd`; computing it leaves
    /// quick-ACK mode when the buffer is more than half full). `ofo` says whether
    /// out-of-order data is held; `srtt` bounds the delayed-ACK timeout and the smaller of
    /// it and the receiver's RTT estimate `rcv_rtt` the SACK-compression delay.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn snd_check(
        &mut self,
        policy: &AckPolicy,
        now: Instant,
        rcv_nxt: SeqNum,
        more_than_a_segment: bool,
        ofo: bool,
        sack: bool,
        srtt: Option<Duration>,
        rcv_rtt: Option<Duration>,
    ) -> AckDecision {
        if !self.scheduled() {
            return AckDecision::Later;
        }
        if self.policy == Policy::Delayed
            && let AckPolicy::Delayed { delay } = *policy
        {
            return self.classic(now, delay, more_than_a_segment || ofo);
        }
        if self.policy == Policy::EverySegment
            || more_than_a_segment
            || self.in_quickack_mode()
            || self.pending & NOW != 0
        {
            return AckDecision::Now;
        }
        if !ofo {
            return self.send_delayed(now, srtt);
        }
        // Out-of-order data is held: SACK compression (`tcp_comp_sack`).
        if !sack || self.compressed >= COMP_SACK_NR {
            return AckDecision::Now;
        }
        if self.comp_rcv_nxt != rcv_nxt {
            self.comp_rcv_nxt = rcv_nxt;
            self.dup_counter = 0;
        }
        if self.dup_counter < COMP_DUPACKS {
            self.dup_counter += 1;
            return AckDecision::Now;
        }
        self.compressed += 1;
        if self.comp_at.is_none() {
            // 5 % of the RTT, at most 1 ms (no estimate yet: at once).
            let rtt = match (rcv_rtt, srtt) {
                (Some(r), Some(s)) => r.min(s),
                (r, s) => r.or(s).unwrap_or(Duration::ZERO),
            };
            self.comp_at = Some(now + (rtt / 20).min(COMP_SACK_DELAY));
        }
        AckDecision::Later
    }

    /// [`AckPolicy::Delayed`]: every second segment, or `delay` after the first one.
    /// `at_once` covers a segment beyond the MSS and out-of-order data.
    fn classic(&mut self, now: Instant, delay: Duration, at_once: bool) -> AckDecision {
        if at_once || delay.is_zero() || self.pending & (NOW | TIMER) != 0 {
            return AckDecision::Now;
        }
        self.pending |= SCHED | TIMER;
        self.timeout = now + delay;
        AckDecision::Later
    }

    /// `tcp_send_delayed_ack`: arm (or keep) the delayed-ACK timer. Returns `Now` when the
    /// timer already armed is about to expire anyway.
    fn send_delayed(&mut self, now: Instant, rtt: Option<Duration>) -> AckDecision {
        let mut ato = self.ato();
        if ato > DELACK_MIN {
            let mut max_ato = if self.in_pingpong() || self.pending & PUSHED != 0 {
                DELACK_MAX
            } else {
                HALF_SECOND
            };
            // Bound the delay by the measured RTT.
            if let Some(rtt) = rtt {
                let rtt = rtt.max(DELACK_MIN);
                if rtt < max_ato {
                    max_ato = rtt;
                }
            }
            ato = ato.min(max_ato);
        }
        ato = ato.min(DELACK_MAX);
        if ato.is_zero() {
            // No data received yet (a bare FIN): a timeout of zero fires at once.
            return AckDecision::Now;
        }
        let mut timeout = now + ato;
        if self.pending & TIMER != 0 {
            // If the timer is about to expire, send the ACK now.
            if self.timeout <= now + ato / 4 {
                return AckDecision::Now;
            }
            // Keep an earlier deadline.
            if self.timeout < timeout {
                timeout = self.timeout;
            }
        }
        self.pending |= SCHED | TIMER;
        self.timeout = timeout;
        AckDecision::Later
    }

    /// `tcp_event_ack_sent`: an ACK acknowledging everything received left. Spends a quick
    /// ACK if one was owed, and stops the timers.
    pub(crate) fn on_ack_sent(&mut self) {
        self.compressed = 0;
        self.comp_at = None;
        if self.quick > 0 {
            let pkts = u8::from(self.scheduled());
            if pkts >= self.quick {
                self.quick = 0;
                // Leaving quick-ACK mode deflates `ato`.
                self.set_ato(ATO_MIN);
            } else {
                self.quick -= pkts;
            }
        }
        self.pending = 0;
    }

    /// The earliest deadline of the delayed-ACK or compression timer.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let delack = (self.pending & TIMER != 0).then_some(self.timeout);
        match (delack, self.comp_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The delayed-ACK or compression timer fired at `now` (`tcp_delack_timer_handler`,
    /// `tcp_compressed_ack_kick`). Returns whether an ACK must go now.
    pub(crate) fn on_timeout(&mut self, now: Instant, rto: Duration) -> bool {
        let mut send = false;
        if self.comp_at.is_some_and(|t| t <= now) {
            self.comp_at = None;
            send = self.compressed > 0;
        }
        if self.pending & TIMER == 0 || self.timeout > now {
            return send;
        }
        self.pending &= !TIMER;
        if !self.scheduled() {
            return send;
        }
        if self.in_pingpong() {
            // Delayed ACK missed: leave ping-pong mode and deflate `ato`.
            self.pingpong = 0;
            self.set_ato(ATO_MIN);
        } else {
            // Delayed ACK missed: inflate `ato`.
            self.set_ato((self.ato() * 2).min(rto).min(DELACK_MAX));
        }
        true
    }

    /// The ACK half of `__tcp_cleanup_rbuf`, after the application read `copied` bytes:
    /// whether a scheduled ACK should go now. `unacked_more_than_mss` is
    /// `rcv_nxt - rcv_wup > rcv_mss`; `drained` says the read emptied the receive queue.
    pub(crate) fn after_read(
        &self,
        copied: usize,
        unacked_more_than_mss: bool,
        drained: bool,
    ) -> bool {
        if !self.scheduled() {
            return false;
        }
        unacked_more_than_mss
            || (copied > 0
                && (self.pending & PUSHED2 != 0
                    || (self.pending & PUSHED != 0 && !self.in_pingpong()))
                && drained)
    }

    /// `TCP_QUICKACK`: `false` enters ping-pong mode, so ACKs are delayed; `true` leaves
    /// it and marks a scheduled ACK as pushed, after which the caller checks, as after a
    /// read of one byte, whether it should go now (`tcp_cleanup_rbuf(sk, 1)`).
    pub(crate) fn set_quickack(&mut self, on: bool) {
        if !on {
            self.enter_pingpong();
            return;
        }
        self.pingpong = 0;
        if self.scheduled() {
            self.pending |= PUSHED;
        }
    }

    /// Whether quick-ACK mode is on (Linux's `TCP_QUICKACK` getsockopt reports
    /// "not ping-pong").
    pub(crate) fn quickack_option(&self) -> bool {
        !self.in_pingpong()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    fn full(payload: u32) -> SegmentSize {
        SegmentSize {
            payload,
            header: 20,
            invariant_header: 20,
            remnant: false,
            psh: false,
        }
    }

    const RTO: Duration = Duration::from_millis(1000);

    /// Receive one in-order segment the way the connection does and ask for a decision.
    fn data(a: &mut AckState, now: Instant, len: u32, more: bool) -> AckDecision {
        data_with(&AckPolicy::Linux, a, now, len, more)
    }

    /// The decision after one small in-order segment, nothing out of order, under
    /// Linux's policy.
    fn lone_check(a: &mut AckState, now: Instant) -> AckDecision {
        a.snd_check(
            &AckPolicy::Linux,
            now,
            SeqNum::new(0),
            false,
            false,
            true,
            None,
            None,
        )
    }

    /// [`data`] under another policy.
    fn data_with(
        policy: &AckPolicy,
        a: &mut AckState,
        now: Instant,
        len: u32,
        more: bool,
    ) -> AckDecision {
        a.schedule();
        a.measure_rcv_mss(full(len), 1460);
        a.on_data_recv(now, 65535, RTO);
        a.snd_check(policy, now, SeqNum::new(0), more, false, true, None, None)
    }

    #[test]
    fn first_data_segment_is_acked_at_once_and_starts_quick_ack_mode() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        assert_eq!(data(&mut a, ms(10), 100, false), AckDecision::Now);
        assert_eq!(a.ato(), ATO_MIN);
        // 65535 / (2 * 536) = 61 quick ACKs, capped at 16.
        assert_eq!(a.quick, MAX_QUICKACKS);
    }

    #[test]
    fn quick_acks_are_spent_one_per_ack_then_acks_are_delayed() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        for i in 0..u64::from(MAX_QUICKACKS) {
            assert_eq!(data(&mut a, ms(10 + i * 100), 100, false), AckDecision::Now);
            a.on_ack_sent();
        }
        let t = ms(2000);
        assert_eq!(data(&mut a, t, 100, false), AckDecision::Later);
        assert_eq!(a.deadline(), Some(t + ATO_MIN));
    }

    #[test]
    fn ping_pong_mode_delays_even_with_quick_acks_left() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        assert_eq!(data(&mut a, ms(10), 100, false), AckDecision::Now);
        a.on_ack_sent();
        // A reply within ato of the data makes the connection interactive.
        a.on_data_sent(ms(20));
        assert!(a.in_pingpong());
        assert_eq!(data(&mut a, ms(200), 100, false), AckDecision::Later);
    }

    #[test]
    fn more_than_one_full_segment_is_acked_at_once_outside_quick_mode() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.enter_pingpong();
        a.set_ato(ATO_MIN);
        assert_eq!(data(&mut a, ms(10), 1460, true), AckDecision::Now);
    }

    #[test]
    fn delayed_ack_timer_in_ping_pong_leaves_ping_pong_and_outside_inflates_ato() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.set_ato(ATO_MIN);
        a.enter_pingpong();
        a.schedule();
        assert_eq!(lone_check(&mut a, ms(0)), AckDecision::Later);
        assert!(!a.on_timeout(ms(39), RTO));
        assert!(a.on_timeout(ms(40), RTO));
        assert!(!a.in_pingpong());
        assert_eq!(a.ato(), ATO_MIN);
        a.on_ack_sent();
        a.schedule();
        lone_check(&mut a, ms(100));
        assert!(a.on_timeout(ms(140), RTO));
        assert_eq!(a.ato(), ATO_MIN * 2);
    }

    #[test]
    fn ato_follows_closely_spaced_segments_down_to_its_floor() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.on_data_recv(ms(0), 65535, RTO);
        a.set_ato(Duration::from_millis(160));
        a.on_data_recv(ms(5), 65535, RTO);
        // Gap <= 20 ms: ato/2 + 20 ms.
        assert_eq!(a.ato(), Duration::from_millis(100));
        a.on_data_recv(ms(75), 65535, RTO);
        // Gap 70 ms < ato: ato/2 + gap.
        assert_eq!(a.ato(), Duration::from_millis(120));
    }

    #[test]
    fn an_existing_delayed_ack_deadline_is_kept_and_one_about_to_expire_goes_now() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.set_ato(ATO_MIN);
        a.enter_pingpong();
        a.schedule();
        lone_check(&mut a, ms(0));
        a.schedule();
        lone_check(&mut a, ms(20));
        assert_eq!(a.deadline(), Some(ms(40)));
        a.schedule();
        // 40 <= 35 + 40/4: about to expire.
        assert_eq!(lone_check(&mut a, ms(35)), AckDecision::Now);
    }

    #[test]
    fn with_out_of_order_data_three_acks_go_at_once_then_they_are_compressed() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.set_ato(ATO_MIN);
        a.enter_pingpong();
        let rcv = SeqNum::new(1000);
        for _ in 0..3 {
            a.schedule();
            assert_eq!(
                a.snd_check(&AckPolicy::Linux, ms(0), rcv, false, true, true, None, None),
                AckDecision::Now
            );
        }
        a.schedule();
        let rtt = Some(Duration::from_millis(10));
        assert_eq!(
            a.snd_check(&AckPolicy::Linux, ms(0), rcv, false, true, true, rtt, rtt),
            AckDecision::Later
        );
        // 10 ms / 20 = 500 us.
        assert_eq!(a.deadline(), Some(Instant::from_micros(500)));
        assert!(a.on_timeout(Instant::from_micros(500), RTO));
    }

    #[test]
    fn every_segment_policy_acks_each_segment() {
        let policy = AckPolicy::EverySegment;
        let mut a = AckState::new(&policy, ms(0), 536);
        for i in 0..40 {
            a.on_ack_sent();
            assert_eq!(
                data_with(&policy, &mut a, ms(10 + i), 100, false),
                AckDecision::Now
            );
        }
    }

    #[test]
    fn classic_policy_acks_every_second_segment_or_after_the_delay() {
        let delay = Duration::from_millis(100);
        let policy = AckPolicy::Delayed { delay };
        let mut a = AckState::new(&policy, ms(0), 536);
        let data = |a: &mut AckState, now, len, more| data_with(&policy, a, now, len, more);
        // No quick-ACK mode at the start: the first segment waits.
        assert_eq!(data(&mut a, ms(10), 100, false), AckDecision::Later);
        assert_eq!(a.deadline(), Some(ms(110)));
        // The second is acknowledged at once, with the first.
        assert_eq!(data(&mut a, ms(20), 100, false), AckDecision::Now);
        a.on_ack_sent();
        assert_eq!(a.deadline(), None);
        // A lone segment is acknowledged when the timer fires.
        assert_eq!(data(&mut a, ms(200), 100, false), AckDecision::Later);
        assert!(a.on_timeout(ms(300), RTO));
        a.on_ack_sent();
        // Out-of-order data is acknowledged at once.
        a.schedule();
        assert_eq!(
            a.snd_check(
                &policy,
                ms(400),
                SeqNum::new(0),
                false,
                true,
                true,
                None,
                None
            ),
            AckDecision::Now
        );
    }

    #[test]
    fn receive_mss_learns_full_segments_and_two_equal_short_ones() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        assert!(a.measure_rcv_mss(full(1000), 1460));
        assert_eq!(a.rcv_mss(), 1000);
        let mut b = AckState::new(&AckPolicy::Linux, ms(0), 536);
        b.measure_rcv_mss(full(300), 1460);
        assert_eq!(b.rcv_mss(), 536);
        b.measure_rcv_mss(full(300), 1460);
        assert_eq!(b.rcv_mss(), 300);
    }

    #[test]
    fn a_drained_pushed_segment_is_acked_after_the_read_unless_interactive() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.schedule();
        let mut s = full(100);
        s.psh = true;
        s.remnant = true;
        a.measure_rcv_mss(s, 1460);
        assert!(a.after_read(100, false, true));
        assert!(!a.after_read(100, false, false));
        a.enter_pingpong();
        assert!(!a.after_read(100, false, true));
    }

    #[test]
    fn tcp_quickack_leaves_ping_pong_and_flushes_a_scheduled_ack_once_read() {
        let mut a = AckState::new(&AckPolicy::Linux, ms(0), 536);
        a.set_quickack(false);
        assert!(a.in_pingpong());
        a.schedule();
        a.set_quickack(true);
        assert!(!a.in_pingpong());
        // Once the data is read, the held-back ACK goes.
        assert!(a.after_read(1, false, true));
        assert!(!a.after_read(1, false, false));
    }
}
