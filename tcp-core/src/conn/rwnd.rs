//! The receive window we offer (RFC 9293 §3.8.6.2.2 receiver SWS avoidance, RFC 7323 §2
//! window scaling, RFC 7323 §2.4 never shrinking the right edge), following Linux:
//!
//! - `tcp_select_initial_window`: the SYN's window (the receive space rounded down to whole
//!   MSS, at most 65535) and our window-scale shift (from the largest buffer auto-tuning may
//!   reach, `tcp_rmem[2]`).
//! - `tcp_init_buffer_space`: at establishment, `window_clamp` (the largest window ever
//!   offered, one segment short of the whole space) and `rcv_ssthresh` (the window offered
//!   while the sender's behaviour is still unknown).
//! - `tcp_grow_window`: each data segment of at least 128 bytes raises `rcv_ssthresh` by two
//!   segments, towards `window_clamp`.
//! - `__tcp_select_window` / `tcp_select_window`: the window of each outgoing segment: the
//!   free space, at most `rcv_ssthresh`, zero when less than a segment (or 1/16 of the space)
//!   is left once half is used, rounded as Linux rounds it; never moving the right edge left.
//! - `tcp_rcv_space_adjust` / `tcp_rcv_rtt_measure`: dynamic right-sizing: when the
//!   application reads more per RTT than the space assumed, the buffer grows (up to
//!   `tcp_rmem[2]`), unless the application fixed it (`SO_RCVBUF`).
//!
//! Memory model: Linux accounts the receive buffer in bytes of memory (`sk_rcvbuf`,
//! `tcp_rmem`), not payload: each queued packet costs its buffer's `truesize`, and the window
//! is the memory times `scaling_ratio`, the payload/memory ratio of the segments seen (50 %
//! until the first full segment, `tcp_measure_rcv_mss`). We keep the same accounts with
//! Linux's buffer sizes for a received packet as measured on 6.18 (`getsockopt
//! TCP_WINDOW_CLAMP` after one segment: 2304 bytes of memory for any segment up to an
//! Ethernet MTU; about 1800 for a segment coalesced into the one before it), so windows
//! follow Linux's closely; where its allocator differs they may be a unit of scale apart.
//! The initial windows and the window scale are exact.
//!
//! With [`crate::config::RecvWindowPolicy::Bsd`] the window follows FreeBSD instead
//! (`rwnd_bsd`); the methods below then delegate to it and the Linux state is unused.

use super::ack::AckState;
use super::rwnd_bsd::BsdWindow;
use crate::config::RecvWindowPolicy;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};

/// The largest unscaled window (RFC 9293 §3.1).
const MAX_WINDOW: u32 = 0xffff;
/// RFC 7323 §2.3: the largest window-scale shift.
const MAX_WSCALE: u8 = 14;
/// Linux's `sysctl_rmem_max` default (212992), which also sizes the window scale.
const RMEM_MAX: u32 = 212_992;
/// Linux's `TCP_INIT_CWND`: the first DRS estimate is at most this many segments.
const INIT_CWND: u32 = 10;
/// Data segments shorter than this do not grow the window (`tcp_event_data_recv`).
const GROW_MIN_LEN: u32 = 128;
/// `TCP_RMEM_TO_WIN_SCALE`: `scaling_ratio` is a fraction of 256.
const RATIO_ONE: u32 = 256;
/// `TCP_DEFAULT_SCALING_RATIO`: 50 % until a full segment is measured.
const DEFAULT_RATIO: u32 = 128;
/// Bytes of a received packet's buffer besides the payload: IP and TCP headers and
/// headroom (104) and `struct skb_shared_info` (320).
const SKB_EXTRA: u32 = 104 + 320;
/// `SKB_DATA_ALIGN(sizeof(struct sk_buff))`.
const SKB_STRUCT: u32 = 256;
/// `SOCK_MIN_RCVBUF` (`TCP_SKB_MIN_TRUESIZE`): Linux never lets a receive buffer be
/// smaller.
const MIN_RCVBUF: u32 = 2048 + SKB_STRUCT;
/// What a packet coalesced into the previous one adds instead.
const COALESCED_DISCOUNT: u32 = 504;
/// Memory overhead of one buffer once data is collapsed into compact buffers.
const COLLAPSED_OVERHEAD: u32 = 768;

/// Memory Linux charges for a received packet of `len` payload bytes (`skb->truesize`):
/// its buffer rounded up to the allocator's power-of-two size, plus the `sk_buff` itself
/// (`SKB_TRUESIZE`). Measured on 6.18 with `TCP_WINDOW_CLAMP`: 1280 bytes for 550 or 600
/// payload bytes, 2304 for 1000 or 1460.
pub(crate) fn truesize(len: u32) -> u32 {
    let buf = len.saturating_add(SKB_EXTRA).max(512);
    let alloc = if buf <= 8192 {
        buf.next_power_of_two()
    } else {
        buf.div_ceil(4096).saturating_mul(4096)
    };
    alloc.saturating_add(SKB_STRUCT)
}

/// How the window was chosen for one outgoing segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Selected {
    /// The 16-bit window field (scaled).
    pub(crate) field: u16,
    /// The window in bytes it stands for.
    pub(crate) bytes: u32,
}

/// The receive-window state of one connection (Linux's `rcv_wnd`, `rcv_wup`,
/// `rcv_ssthresh`, `window_clamp`, `sk_rcvbuf`, `sk_rmem_alloc`, `scaling_ratio` and
/// `rcvq_space`).
#[derive(Clone, Debug)]
pub(crate) struct RecvWindow {
    /// Receive memory (Linux `sk_rcvbuf`).
    rcvbuf: u32,
    /// The most auto-tuning may grow it to (`tcp_rmem[2]`).
    rcvbuf_max: u32,
    /// Memory charged for in-order data not yet read, and for out-of-order data.
    rmem: u32,
    rmem_ofo: u32,
    /// Window bytes per 256 bytes of memory.
    ratio: u32,
    /// The application fixed the buffer (`SO_RCVBUF`): no auto-tuning.
    locked: bool,
    /// Data had to be refused for want of memory: the next window is zero
    /// (`ICSK_ACK_NOMEM`).
    nomem: bool,
    /// The largest window we will ever offer.
    window_clamp: u32,
    /// The window offered while the peer's sending is still being learned.
    rcv_ssthresh: u32,
    /// The window last advertised, in bytes (from `rcv_wup`).
    rcv_wnd: u32,
    /// RCV.NXT when the window was last advertised.
    rcv_wup: SeqNum,
    /// Our window-scale shift (zero when scaling is not in use).
    wscale: u8,
    /// Our MSS for data we receive (less the timestamp option when in use).
    advmss: u32,
    /// Dynamic right-sizing: bytes the application read in the last measured RTT...
    space: u32,
    /// ...counted from this read offset (its low 32 bits, as Linux's `rcvq_space.seq`)...
    space_copied: u32,
    /// ...since this time.
    space_time: Instant,
    /// Receiver's RTT estimate, ×8 in µs as Linux's `rcv_rtt_est.rtt_us` (0: none).
    rtt8_us: u32,
    /// Window-based RTT measurement: when RCV.NXT passes this sequence number...
    rtt_seq: SeqNum,
    /// ...the time since this instant is an RTT sample.
    rtt_time: Option<Instant>,
    /// The last TSecr an RTT was measured from.
    rtt_last_tsecr: u32,
    /// FreeBSD's window instead of Linux's ([`RecvWindowPolicy::Bsd`]); boxed, so a Linux
    /// connection carries one empty pointer.
    bsd: Option<alloc::boxed::Box<BsdWindow>>,
}

impl RecvWindow {
    /// Heap bytes held (FreeBSD's window state, once used).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bsd
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<BsdWindow>())
    }

    /// A window for a new connection with `rcvbuf` bytes of receive memory, growing up to
    /// `rcvbuf_max` unless `locked`.
    pub(crate) fn new(rcvbuf: usize, rcvbuf_max: usize, locked: bool, now: Instant) -> Self {
        let rcvbuf = clamp_u32(rcvbuf).max(MIN_RCVBUF);
        RecvWindow {
            rcvbuf,
            rcvbuf_max: clamp_u32(rcvbuf_max).max(rcvbuf),
            rmem: 0,
            rmem_ofo: 0,
            ratio: DEFAULT_RATIO,
            locked,
            nomem: false,
            window_clamp: 0,
            rcv_ssthresh: 0,
            rcv_wnd: 0,
            rcv_wup: SeqNum::new(0),
            wscale: 0,
            advmss: 536,
            space: 0,
            space_copied: 0,
            space_time: now,
            rtt8_us: 0,
            rtt_seq: SeqNum::new(0),
            rtt_time: None,
            rtt_last_tsecr: 0,
            bsd: None,
        }
    }

    /// A window following `policy`: Linux's, or FreeBSD's for a buffer of `rcvbuf` payload
    /// bytes that may be rounded up to `rcvbuf_max`.
    pub(crate) fn with_policy(
        policy: RecvWindowPolicy,
        rcvbuf: usize,
        rcvbuf_max: usize,
        locked: bool,
        now: Instant,
    ) -> Self {
        let mut w = RecvWindow::new(rcvbuf, rcvbuf_max, locked, now);
        if policy == RecvWindowPolicy::Bsd {
            w.bsd = Some(alloc::boxed::Box::new(BsdWindow::new(
                clamp_u32(rcvbuf),
                clamp_u32(rcvbuf_max),
            )));
        }
        w
    }

    /// Whether FreeBSD's window is in use.
    pub(crate) fn is_bsd(&self) -> bool {
        self.bsd.is_some()
    }

    /// The peer's segment size is known (FreeBSD's `tcp_mss` rounds the buffer up to whole
    /// segments; Linux sizes nothing here).
    pub(crate) fn set_mss(&mut self, mss: u32) {
        if let Some(b) = self.bsd.as_mut() {
            b.set_mss(mss);
        }
    }

    /// `tcp_win_from_space`: the window `space` bytes of memory stand for.
    fn win_from_space(&self, space: u32) -> u32 {
        (u64::from(space) * u64::from(self.ratio) / u64::from(RATIO_ONE)) as u32
    }

    /// `tcp_full_space`: the window the whole buffer stands for.
    pub(crate) fn full_space(&self) -> u32 {
        self.win_from_space(self.rcvbuf)
    }

    /// `tcp_space`: the window the free part of the buffer stands for.
    fn free_space(&self) -> u32 {
        self.win_from_space(self.rcvbuf.saturating_sub(self.rmem + self.rmem_ofo))
    }

    /// Memory in use (`sk_rmem_alloc`).
    pub(crate) fn rmem(&self) -> u32 {
        if let Some(b) = &self.bsd {
            return b.held();
        }
        self.rmem + self.rmem_ofo
    }

    /// The part of [`RecvWindow::rmem`] charged for out-of-order data.
    pub(crate) fn rmem_ofo(&self) -> u32 {
        self.rmem_ofo
    }

    /// `len` payload bytes were queued in order; `joined` says the in-order queue already
    /// held data (the packet is coalesced into the last one).
    pub(crate) fn charge(&mut self, len: u32, joined: bool) {
        if let Some(b) = self.bsd.as_mut() {
            b.charge(len);
            return;
        }
        let size = truesize(len);
        let cost = if joined && size > 2 * COALESCED_DISCOUNT {
            size - COALESCED_DISCOUNT
        } else {
            size
        };
        self.rmem = self.rmem.saturating_add(cost);
    }

    /// `len` payload bytes were queued out of order.
    pub(crate) fn charge_ofo(&mut self, len: u32) {
        self.rmem_ofo = self.rmem_ofo.saturating_add(truesize(len));
    }

    /// The out-of-order queue shrank from `before` to `after` bytes because in-order data
    /// reached it: `moved` of the bytes it lost became in-order data (a hole filled), the
    /// rest were duplicates of the new data. Their memory moves or is freed with them.
    pub(crate) fn ofo_shrunk(&mut self, before: usize, after: usize, moved: usize) {
        if let Some(b) = self.bsd.as_mut() {
            // Out-of-order bytes now in order take buffer space.
            b.charge(clamp_u32(moved));
            return;
        }
        if after == 0 {
            let part = share(self.rmem_ofo, moved, before);
            self.rmem = self.rmem.saturating_add(part);
            self.rmem_ofo = 0;
            return;
        }
        let gone = before.saturating_sub(after);
        let part = share(self.rmem_ofo, gone, before);
        self.rmem_ofo -= part;
        self.rmem = self.rmem.saturating_add(share(part, moved, gone));
    }

    /// Memory is short: account the queues as if their data were copied into compact
    /// buffers (Linux's `tcp_collapse` and `tcp_collapse_ofo_queue` in `tcp_prune_queue`):
    /// `held` in-order bytes in one run, `ofo_bytes` out-of-order bytes in `ofo_runs` runs.
    pub(crate) fn collapse(&mut self, held: usize, ofo_bytes: usize, ofo_runs: usize) {
        let compact = |bytes: usize, runs: usize| {
            clamp_u32(bytes).saturating_add(clamp_u32(runs).saturating_mul(COLLAPSED_OVERHEAD))
        };
        self.rmem = self.rmem.min(compact(held, usize::from(held > 0)));
        self.rmem_ofo = self.rmem_ofo.min(compact(ofo_bytes, ofo_runs));
    }

    /// Out-of-order data was discarded (all of it: reneging, or a FIN).
    pub(crate) fn ofo_purged(&mut self) {
        self.rmem_ofo = 0;
    }

    /// The application read `n` of the `held` in-order bytes: their memory is freed.
    pub(crate) fn uncharge(&mut self, n: usize, held: usize) {
        if let Some(b) = self.bsd.as_mut() {
            b.uncharge(n);
            return;
        }
        if n >= held {
            self.rmem = 0;
        } else {
            self.rmem -= share(self.rmem, n, held);
        }
    }

    /// A full-sized segment of `len` bytes changed the receive-MSS estimate: measure the
    /// payload/memory ratio from it and bound the window by the buffer again
    /// (`tcp_measure_rcv_mss`).
    pub(crate) fn measure_ratio(&mut self, len: u32) {
        let ratio = (u64::from(len) * u64::from(RATIO_ONE) / u64::from(truesize(len))) as u32;
        self.ratio = ratio.clamp(1, RATIO_ONE);
        self.window_clamp = self.full_space();
        if self.window_clamp < self.space {
            self.space = self.window_clamp;
        }
    }

    /// The window-scale shift we offer: the shift that fits the largest buffer auto-tuning
    /// could reach (`tcp_select_initial_window`; RFC 7323 §2.3 caps it at 14). `configured`
    /// overrides it.
    pub(crate) fn offered_wscale(&self, configured: Option<u8>) -> u8 {
        if let Some(s) = configured {
            return s.min(MAX_WSCALE);
        }
        if let Some(b) = &self.bsd {
            return b.offered_wscale();
        }
        let space = if self.locked {
            // A fixed buffer clamps the window to itself.
            self.full_space()
        } else {
            self.full_space().max(self.rcvbuf_max).max(RMEM_MAX)
        }
        .max(1);
        (space.ilog2() as i32 - 15).clamp(0, i32::from(MAX_WSCALE)) as u8
    }

    /// `tcp_select_initial_window`: the window of our SYN or SYN-ACK for segments of `mss`
    /// bytes: the space rounded down to whole segments; the SYN's unscaled field says at
    /// most 65535 of it. The whole rounded space counts as the window advertised at
    /// `rcv_nxt` and as the first `rcv_ssthresh` (as Linux 6.18 keeps them: with a receive
    /// buffer above 128 KiB it then does not ACK every second segment at once until the
    /// window it offers catches up, which a capped `rcv_wnd` would predict otherwise).
    /// Returns the SYN's window field.
    pub(crate) fn initial(&mut self, mss: u32, rcv_nxt: SeqNum) -> u32 {
        if let Some(b) = self.bsd.as_mut() {
            return b.initial(rcv_nxt);
        }
        let mut space = self.full_space();
        if self.locked {
            self.window_clamp = space;
        }
        let mss = mss.max(1);
        if space > mss {
            space -= space % mss;
        }
        self.rcv_wnd = space;
        self.rcv_wup = rcv_nxt;
        self.rcv_ssthresh = space;
        space.min(MAX_WINDOW)
    }

    /// The handshake completed: the window scale in use (0 without scaling), our MSS for
    /// received data, and Linux's `tcp_init_buffer_space`: `window_clamp` is the whole space
    /// less one segment, `rcv_ssthresh` at most that, and the first DRS estimate.
    pub(crate) fn establish(&mut self, wscale: u8, advmss: u32, now: Instant, copied: u64) {
        if let Some(b) = self.bsd.as_mut() {
            b.establish(wscale);
            return;
        }
        self.wscale = wscale;
        self.advmss = advmss.max(1);
        let maxwin = self.full_space();
        let limit = MAX_WINDOW << wscale;
        if self.window_clamp == 0 || self.window_clamp > limit {
            self.window_clamp = limit;
        }
        if self.window_clamp >= maxwin {
            self.window_clamp = maxwin;
        }
        // Reserve one segment (tcp_app_win).
        if self.window_clamp > 2 * self.advmss && self.window_clamp + self.advmss > maxwin {
            self.window_clamp = (2 * self.advmss).max(maxwin - self.advmss);
        }
        self.rcv_ssthresh = self.rcv_ssthresh.min(self.window_clamp);
        self.space = self
            .rcv_ssthresh
            .min(self.rcv_wnd)
            .min(INIT_CWND * self.advmss);
        self.space_copied = copied as u32;
        self.space_time = now;
    }

    /// The peer's SYN told RCV.NXT after our SYN offered its window: the window counts
    /// from there (`rcv_wup = seq + 1` in `tcp_rcv_synsent_state_process`).
    pub(crate) fn rebase(&mut self, rcv_nxt: SeqNum) {
        if let Some(b) = self.bsd.as_mut() {
            b.rebase(rcv_nxt);
            return;
        }
        self.rcv_wup = rcv_nxt;
    }

    /// Memory ran out: the next segment advertises a zero window.
    pub(crate) fn set_nomem(&mut self) {
        if self.bsd.is_some() {
            return;
        }
        self.nomem = true;
    }

    /// The window advertised last, from RCV.NXT (`tcp_receive_window`).
    pub(crate) fn receive_window(&self, rcv_nxt: SeqNum) -> u32 {
        if let Some(b) = &self.bsd {
            return b.receive_window(rcv_nxt);
        }
        let edge = self.rcv_wup + self.rcv_wnd;
        if edge.gt(rcv_nxt) {
            edge.since(rcv_nxt)
        } else {
            0
        }
    }

    /// RCV.NXT when the window was last advertised (Linux's `rcv_wup`).
    pub(crate) fn rcv_wup(&self) -> SeqNum {
        if let Some(b) = &self.bsd {
            return b.last_ack_sent();
        }
        self.rcv_wup
    }

    /// Bytes received since the window was last advertised (`rcv_nxt - rcv_wup`).
    pub(crate) fn unannounced(&self, rcv_nxt: SeqNum) -> u32 {
        let wup = self.rcv_wup();
        if rcv_nxt.gt(wup) {
            rcv_nxt.since(wup)
        } else {
            0
        }
    }

    /// The window last advertised (Linux's `rcv_wnd`).
    pub(crate) fn rcv_wnd(&self) -> u32 {
        if let Some(b) = &self.bsd {
            return b.receive_window(b.last_ack_sent());
        }
        self.rcv_wnd
    }

    /// `__tcp_select_window`: the window we would offer now, before the never-shrink rule
    /// and scaling. Leaves quick-ACK mode when the buffer is more than half full.
    pub(crate) fn raw_window(&self, rcv_mss: u32, ack: &mut AckState) -> u32 {
        let allowed = self.full_space();
        let full = self.window_clamp.min(allowed);
        let mut mss = rcv_mss;
        if mss > full {
            mss = full;
            if mss == 0 {
                return 0;
            }
        }
        let mut free = self.free_space();
        if free < full / 2 {
            ack.stop_quick();
            free = round_down(free, 1 << self.wscale);
            if free < allowed / 16 || free < mss {
                return 0;
            }
        }
        if free > self.rcv_ssthresh {
            free = self.rcv_ssthresh;
        }
        if self.wscale > 0 {
            // Advertise enough that scaling does not round it away.
            round_up(free, 1 << self.wscale)
        } else {
            let mut window = self.rcv_wnd;
            if window <= free.saturating_sub(mss) || window > free {
                window = round_down(free, mss);
            } else if mss == full && free > window + full / 2 {
                window = free;
            } else if reopens_small_window(window, free, mss, full) {
                window = round_down(free, mss);
            }
            window
        }
    }

    /// `tcp_select_window`: the window field of a segment leaving now; the right edge never
    /// moves left (RFC 7323 §2.4). Records it as advertised at `rcv_nxt`.
    pub(crate) fn select(&mut self, rcv_nxt: SeqNum, rcv_mss: u32, ack: &mut AckState) -> Selected {
        if let Some(b) = self.bsd.as_mut() {
            let (field, bytes) = b.select(rcv_nxt);
            return Selected { field, bytes };
        }
        if core::mem::take(&mut self.nomem) {
            // Out of memory: a zero window, even if the edge moves left.
            self.rcv_wnd = 0;
            self.rcv_wup = rcv_nxt;
            return Selected { field: 0, bytes: 0 };
        }
        let cur = self.receive_window(rcv_nxt);
        let mut new = self.raw_window(rcv_mss, ack);
        if new < cur {
            new = round_up(cur, 1 << self.wscale);
        }
        self.rcv_wnd = new;
        self.rcv_wup = rcv_nxt;
        let field = (new >> self.wscale).min(MAX_WINDOW);
        Selected {
            field: field as u16,
            bytes: field << self.wscale,
        }
    }

    /// `tcp_grow_window`: a data segment of `len` bytes arrived; raise `rcv_ssthresh` by two
    /// segments while there is room, and keep a quick ACK so the sender hears of it.
    pub(crate) fn grow(&mut self, len: u32, ack: &mut AckState) {
        if len < GROW_MIN_LEN || self.bsd.is_some() {
            return;
        }
        let limit = self.window_clamp.min(self.free_space());
        if limit <= self.rcv_ssthresh {
            return;
        }
        let room = limit - self.rcv_ssthresh;
        // Check #2 of tcp_grow_window: a packet whose memory stands for no more window than
        // its payload grows the window by two segments; one with more overhead only while
        // the window is small relative to the largest buffer.
        let incr = if self.win_from_space(truesize(len)) <= len {
            2 * self.advmss
        } else {
            let mut ts = self.win_from_space(truesize(len)) / 2;
            let mut window = self.win_from_space(self.rcvbuf_max) / 2;
            let mut incr = 0;
            while self.rcv_ssthresh <= window {
                if ts <= len {
                    incr = 2 * self.advmss;
                    break;
                }
                ts /= 2;
                window /= 2;
            }
            incr
        };
        if incr > 0 {
            let incr = incr.max(2 * len);
            self.rcv_ssthresh += room.min(incr);
            ack.keep_one_quick();
        }
    }

    /// `tcp_rcv_rtt_measure`: a data segment arrived at `now`; one window's worth of data
    /// takes at least one RTT to arrive, so the time since the window was opened is an
    /// upper bound on the RTT (without timestamps).
    pub(crate) fn rtt_measure(&mut self, now: Instant, rcv_nxt: SeqNum) {
        if let Some(t) = self.rtt_time {
            if rcv_nxt.lt(self.rtt_seq) {
                return;
            }
            let sample = now.saturating_duration_since(t).as_micros().max(1) as u64;
            self.rtt_update(sample, true);
        }
        self.rtt_seq = rcv_nxt + self.rcv_wnd;
        self.rtt_time = Some(now);
    }

    /// `tcp_rcv_rtt_measure_ts`: an RTT sample from the echoed timestamp `tsecr` of a
    /// segment of `seg_len` bytes (at least `rcv_mss`); `rtt` is what the echo says.
    pub(crate) fn rtt_measure_ts(
        &mut self,
        tsecr: u32,
        seg_len: u32,
        rcv_mss: u32,
        rtt: Option<Duration>,
    ) {
        if tsecr == self.rtt_last_tsecr {
            return;
        }
        self.rtt_last_tsecr = tsecr;
        if seg_len >= rcv_mss
            && let Some(r) = rtt.filter(|r| !r.is_zero())
        {
            self.rtt_update(r.as_micros() as u64, false);
        }
    }

    /// `tcp_rcv_rtt_update`: keep the minimum (window-based) or a smoothed value.
    fn rtt_update(&mut self, sample_us: u64, win_dep: bool) {
        let sample_us = u32::try_from(sample_us).unwrap_or(u32::MAX);
        let m = sample_us.saturating_mul(8);
        let old = self.rtt8_us;
        if old == 0 || m < old {
            self.rtt8_us = m;
        } else if !win_dep {
            self.rtt8_us = (old - old / 8).saturating_add(sample_us);
        }
    }

    /// The receiver's RTT estimate (for SACK compression and `tcpi_rcv_rtt`).
    pub(crate) fn rcv_rtt(&self) -> Option<Duration> {
        (self.rtt8_us > 0).then(|| Duration::from_micros(u64::from(self.rtt8_us / 8)))
    }

    /// `tcp_rcv_space_adjust`: the application has read `copied` bytes in all (`held`
    /// still queued in order). Once per receiver RTT, if it read more than the space assumed,
    /// grow the buffer to twice that plus headroom for the sender's growth (dynamic
    /// right-sizing), unless the buffer was fixed by the application.
    pub(crate) fn space_adjust(&mut self, now: Instant, copied: u64, held: usize) {
        let time = now.saturating_duration_since(self.space_time).as_micros() as u64;
        if self.rtt8_us == 0 || time < u64::from(self.rtt8_us / 8) {
            return;
        }
        // Read since the last measurement, modulo 2^32 as Linux's u32 sequence numbers:
        // far less than 4 GiB is read in one receiver RTT between two reads.
        let read = (copied as u32).wrapping_sub(self.space_copied);
        let read = read.saturating_sub(u32::try_from(held).unwrap_or(u32::MAX));
        if read > self.space {
            if !self.locked {
                let mut rcvwin = u64::from(read) * 2 + 16 * u64::from(self.advmss);
                let grow = rcvwin * u64::from(read - self.space) / u64::from(self.space.max(1));
                rcvwin += grow * 2;
                // tcp_space_from_win: the memory that window needs at the current ratio.
                let rcvbuf = (rcvwin * u64::from(RATIO_ONE) / u64::from(self.ratio))
                    .min(u64::from(self.rcvbuf_max)) as u32;
                if rcvbuf > self.rcvbuf {
                    self.rcvbuf = rcvbuf;
                    self.window_clamp = self.full_space();
                }
            }
            self.space = read;
        }
        self.space_copied = copied as u32;
        self.space_time = now;
    }

    /// After a read (the window half of `__tcp_cleanup_rbuf`): whether the window we could
    /// offer now is at least twice what the peer sees, and so worth an ACK.
    pub(crate) fn worth_update(&self, rcv_nxt: SeqNum, rcv_mss: u32, ack: &mut AckState) -> bool {
        if let Some(b) = &self.bsd {
            return b.worth_update(rcv_nxt);
        }
        let now_wnd = self.receive_window(rcv_nxt);
        if 2 * now_wnd > self.window_clamp {
            return false;
        }
        let new = self.raw_window(rcv_mss, ack);
        new > 0 && new >= 2 * now_wnd
    }

    /// The receive memory now (Linux `sk_rcvbuf`).
    pub(crate) fn rcvbuf(&self) -> u32 {
        if let Some(b) = &self.bsd {
            return b.hiwat();
        }
        self.rcvbuf
    }

    /// The window offered while the sender is learned (`tcpi_rcv_ssthresh`).
    pub(crate) fn rcv_ssthresh(&self) -> u32 {
        self.rcv_ssthresh
    }

    /// The DRS space estimate (`tcpi_rcv_space`).
    pub(crate) fn space(&self) -> u32 {
        self.space
    }

    /// The largest window we offer (Linux's `window_clamp`, `TCP_WINDOW_CLAMP`).
    pub(crate) fn window_clamp(&self) -> u32 {
        self.window_clamp
    }

    /// Whether more data may be queued: the memory in use is not above the buffer (Linux's
    /// `tcp_try_rmem_schedule`, whose test is on what is already held, so one packet may
    /// overshoot).
    pub(crate) fn has_room(&self) -> bool {
        // FreeBSD trims data to the window before queueing it.
        self.bsd.is_some() || self.rmem() <= self.rcvbuf
    }
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// `total * part / whole`, for sharing memory among bytes.
fn share(total: u32, part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return total;
    }
    (u64::from(total) * part.min(whole) as u64 / whole as u64) as u32
}

/// Receiver SWS avoidance as RFC 9293 §3.8.6.2.2 states it (and RFC 1122 §4.2.3.3): the
/// right edge moves once the window can grow by `min(Fr * RCV.BUFF, Eff.snd.MSS)`, with
/// `Fr` = 1/2. Linux keeps its offered `window` while it is "within one MSS of the free
/// space", which is the same test while the buffer holds two segments or more. In a
/// buffer smaller than that, whose free space is capped near one segment
/// (`rcv_ssthresh` grows only on segments of 128 bytes or more), a window shrunk to a few
/// bytes is within one MSS of it forever: Linux 6.18 then offers the same few bytes after
/// the application has emptied the buffer, and the transfer crawls at one window probe per
/// byte (see `tests/scripts/not-linux/`). We reopen such a window to whole segments.
fn reopens_small_window(window: u32, free: u32, mss: u32, full: u32) -> bool {
    let rounded = round_down(free, mss);
    rounded > window && free - window >= (full / 2).min(mss)
}

fn round_down(v: u32, unit: u32) -> u32 {
    v - v % unit.max(1)
}

fn round_up(v: u32, unit: u32) -> u32 {
    let unit = unit.max(1);
    v.div_ceil(unit).saturating_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::from_millis(0)
    }

    fn ack() -> AckState {
        AckState::new(&crate::conn::ack::AckPolicy::Linux, t0(), 536)
    }

    // The numbers below were observed on Linux 6.18 with packetdrill (tun0, no GRO).

    #[test]
    fn linux_defaults_offer_64240_in_the_syn_and_window_scale_10() {
        // tcp_rmem = 4096 131072 33554432 (this machine).
        let mut w = RecvWindow::new(131_072, 33_554_432, false, t0());
        assert_eq!(w.offered_wscale(None), 10);
        assert_eq!(w.initial(1460, SeqNum::new(1)), 64_240);
        // A SYN-ACK with timestamps rounds to 1448-byte segments.
        let mut v = RecvWindow::new(131_072, 33_554_432, false, t0());
        assert_eq!(v.initial(1448, SeqNum::new(1)), 65_160);
    }

    #[test]
    fn packetdrill_defaults_offer_65535_and_window_scale_8() {
        // defaults.sh: tcp_rmem = 4096 540000 15728640.
        let mut w = RecvWindow::new(540_000, 15_728_640, false, t0());
        assert_eq!(w.offered_wscale(None), 8);
        assert_eq!(w.initial(1460, SeqNum::new(1)), 65_535);
    }

    #[test]
    fn a_fixed_small_buffer_has_no_window_scale_and_whole_segments() {
        // SO_RCVBUF 2000 doubles to 4000 bytes of memory: 2000 of window, one 1460 segment.
        let mut w = RecvWindow::new(4000, 4000, true, t0());
        assert_eq!(w.offered_wscale(None), 0);
        assert_eq!(w.initial(1460, SeqNum::new(1)), 1460);
    }

    #[test]
    fn the_window_after_the_handshake_and_after_one_full_segment() {
        let mut w = RecvWindow::new(131_072, 33_554_432, false, t0());
        w.initial(1460, SeqNum::new(1));
        w.establish(10, 1460, t0(), 0);
        let mut a = ack();
        // rcv_ssthresh 64076, rounded up to the scale unit: 63 * 1024.
        assert_eq!(w.select(SeqNum::new(1), 536, &mut a).field, 63);
        w.charge(1460, false);
        w.measure_ratio(1460);
        w.grow(1460, &mut a);
        assert_eq!(w.rcv_ssthresh(), 64_076 + 2920);
        assert_eq!(w.select(SeqNum::new(1461), 1460, &mut a).field, 66);
    }

    #[test]
    fn a_small_buffer_closes_behind_unread_data_without_moving_the_edge_left() {
        // SO_RCVBUF 2000; peer MSS 1000: Linux advertised 1460, then 460 after 1000 unread
        // bytes, then 0 after 460 more.
        let mut w = RecvWindow::new(4000, 4000, true, t0());
        w.initial(1460, SeqNum::new(1));
        w.establish(0, 1460, t0(), 0);
        let mut a = ack();
        w.charge(1000, false);
        w.measure_ratio(1000);
        assert_eq!(w.window_clamp(), 1734);
        assert_eq!(w.select(SeqNum::new(1001), 1000, &mut a).bytes, 460);
        w.charge(460, true);
        assert_eq!(w.select(SeqNum::new(1461), 1000, &mut a).bytes, 0);
        // Reading everything frees the memory: a window opens again.
        w.uncharge(1460, 1460);
        assert!(w.worth_update(SeqNum::new(1461), 1000, &mut a));
    }

    #[test]
    fn a_reader_that_keeps_up_grows_the_buffer_once_per_rtt() {
        let mut w = RecvWindow::new(131_072, 33_554_432, false, t0());
        w.initial(1460, SeqNum::new(1));
        w.establish(10, 1460, t0(), 0);
        w.rtt_measure_ts(5, 1460, 1460, Some(Duration::from_millis(10)));
        let before = w.rcvbuf();
        w.space_adjust(Instant::from_millis(10), 200_000, 0);
        assert!(w.rcvbuf() > before);
        assert!(w.full_space() > 200_000);
    }

    #[test]
    fn a_fixed_buffer_never_grows() {
        let mut w = RecvWindow::new(4000, 4000, true, t0());
        w.initial(1460, SeqNum::new(1));
        w.establish(0, 1460, t0(), 0);
        w.rtt_measure_ts(5, 1460, 1460, Some(Duration::from_millis(10)));
        w.space_adjust(Instant::from_millis(10), 200_000, 0);
        assert_eq!(w.rcvbuf(), 4000);
    }
}
