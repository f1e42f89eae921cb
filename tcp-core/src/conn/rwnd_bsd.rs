//! The receive window as FreeBSD offers it ([`crate::config::RecvWindowPolicy::Bsd`]),
//! following sys/netinet:
//!
//! - The buffer is counted in payload bytes (`so_rcv.sb_hiwat`); the window is its free
//!   space (`sbspace`): the buffer less the in-order bytes the application has not read.
//!   Out-of-order data is held apart (the reassembly queue) and does not count.
//! - `tcp_mss`: once the peer's MSS is known, the buffer is rounded up to a whole number
//!   of segments (65536 becomes 65700 for 1460-byte segments), at most `sb_max`
//!   (`kern.ipc.maxsockbuf`).
//! - `tcp_output`: a SYN or SYN-ACK offers the free space, at most 65535, unscaled
//!   (`syncache_add` does the same for the SYN-ACK of a listener). Later segments offer
//!   the free space, at most 65535 scaled; none when less than a quarter of the buffer and
//!   less than a segment is free (receiver SWS avoidance, RFC 9293 §3.8.6.2.2); never less
//!   than what the last advertisement still promises (`rcv_adv`, RFC 7323 §2.4); rounded up
//!   to the scale unit. `rcv_adv` follows the largest right edge offered.
//! - `tcp_do_segment`: the window incoming segments are checked against (`rcv_wnd`) is the
//!   free space or what was advertised, whichever is larger, so it may reach beyond the
//!   right edge the peer saw (65700 bytes past RCV.NXT when 65535 was offered).
//! - `tcp_output`'s standalone window update, sent after the application read when the
//!   window can grow by two segments and by a quarter of the buffer (or the buffer is
//!   small or nearly full), or by half the buffer.

use crate::seq::SeqNum;

/// The largest unscaled window (RFC 9293 §3.1, FreeBSD's `TCP_MAXWIN`).
const MAX_WINDOW: u32 = 0xffff;
/// RFC 7323 §2.3: the largest window-scale shift (`TCP_MAX_WINSHIFT`).
const MAX_WSCALE: u8 = 14;

/// FreeBSD's receive-window state of one connection: `so_rcv.sb_hiwat`, `sb_ccc`,
/// `rcv_adv`, `last_ack_sent`, `rcv_scale` and `t_maxseg`.
#[derive(Clone, Debug)]
pub(crate) struct BsdWindow {
    /// The buffer in payload bytes (`sb_hiwat`).
    hiwat: u32,
    /// The most the buffer may be rounded up to (`sb_max`).
    max: u32,
    /// In-order bytes not yet read (`sbavail`).
    held: u32,
    /// The largest right edge advertised (`rcv_adv`); `None` until RCV.NXT is known.
    adv: Option<SeqNum>,
    /// RCV.NXT when the last segment left (`last_ack_sent`).
    last_ack_sent: SeqNum,
    /// Our window-scale shift in use (`rcv_scale`; zero without scaling).
    scale: u8,
    /// The segment size (`t_maxseg`), for the SWS rule and the window updates.
    maxseg: u32,
}

impl BsdWindow {
    /// A buffer of `hiwat` bytes that `tcp_mss` may round up to at most `max`.
    pub(crate) fn new(hiwat: u32, max: u32) -> Self {
        BsdWindow {
            hiwat,
            max: max.max(hiwat),
            held: 0,
            adv: None,
            last_ack_sent: SeqNum::new(0),
            scale: 0,
            maxseg: 536,
        }
    }

    /// `sbspace`: the free part of the buffer.
    fn space(&self) -> u32 {
        self.hiwat.saturating_sub(self.held)
    }

    /// In-order bytes not yet read.
    pub(crate) fn held(&self) -> u32 {
        self.held
    }

    /// The buffer size (`SO_RCVBUF` as FreeBSD reports it).
    pub(crate) fn hiwat(&self) -> u32 {
        self.hiwat
    }

    /// The window-scale shift we offer when none is configured: the smallest with which
    /// a 64 KiB window covers `sb_max` (`tcp_connect`, `syncache_add`).
    pub(crate) fn offered_wscale(&self) -> u8 {
        let mut w = 0u8;
        while w < MAX_WSCALE && (MAX_WINDOW << w) < self.max {
            w += 1;
        }
        w
    }

    /// `tcp_mss`: the segment size is known; the buffer grows to a whole number of them.
    pub(crate) fn set_mss(&mut self, mss: u32) {
        let mss = mss.max(1);
        self.maxseg = mss;
        if self.hiwat > mss {
            let rounded = self.hiwat.div_ceil(mss).saturating_mul(mss).min(self.max);
            self.hiwat = self.hiwat.max(rounded);
        }
    }

    /// The window of our SYN or SYN-ACK (`tcp_output` for `TH_SYN`, `syncache_add`): the
    /// free space, at most 65535. When RCV.NXT is known (a SYN-ACK) it is advertised.
    pub(crate) fn initial(&mut self, rcv_nxt: SeqNum) -> u32 {
        let w = self.space().min(MAX_WINDOW);
        self.adv = Some(rcv_nxt + w);
        self.last_ack_sent = rcv_nxt;
        w
    }

    /// Our SYN's window was offered before RCV.NXT was known: the first advertisement
    /// counts once the scale is known (`rcv_adv += min(rcv_wnd, TCP_MAXWIN << rcv_scale)`
    /// in `tcp_do_segment`'s SYN-SENT branch).
    pub(crate) fn rebase(&mut self, rcv_nxt: SeqNum) {
        self.adv = None;
        self.last_ack_sent = rcv_nxt;
    }

    /// The handshake completed with `scale` as our shift.
    pub(crate) fn establish(&mut self, scale: u8) {
        self.scale = scale.min(MAX_WSCALE);
        if self.adv.is_none() {
            let w = self.space().min(MAX_WINDOW << self.scale);
            self.adv = Some(self.last_ack_sent + w);
        }
    }

    /// `rcv_wnd` as `tcp_do_segment` computes it for an arriving segment: the free space
    /// or what the last advertisement still promises beyond `rcv_nxt`, whichever is more.
    pub(crate) fn receive_window(&self, rcv_nxt: SeqNum) -> u32 {
        self.space().max(self.promised(rcv_nxt))
    }

    /// What the advertised right edge still leaves beyond `rcv_nxt`.
    fn promised(&self, rcv_nxt: SeqNum) -> u32 {
        match self.adv {
            Some(adv) if adv.gt(rcv_nxt) => adv.since(rcv_nxt),
            _ => 0,
        }
    }

    /// RCV.NXT when the last segment left (`last_ack_sent`).
    pub(crate) fn last_ack_sent(&self) -> SeqNum {
        self.last_ack_sent
    }

    /// The window field of a segment leaving now (`tcp_output`), and the bytes it stands
    /// for. Records the right edge and `last_ack_sent`.
    pub(crate) fn select(&mut self, rcv_nxt: SeqNum) -> (u16, u32) {
        let mut recwin = self.space().min(MAX_WINDOW << self.scale);
        // Receiver SWS avoidance.
        if recwin < self.hiwat / 4 && recwin < self.maxseg {
            recwin = 0;
        }
        // Never shrink the window.
        recwin = recwin.max(self.promised(rcv_nxt));
        let unit = 1u32 << self.scale;
        let recwin = recwin.div_ceil(unit).saturating_mul(unit);
        let field = (recwin >> self.scale).min(MAX_WINDOW);
        if self.adv.is_none_or(|adv| (rcv_nxt + recwin).gt(adv)) {
            self.adv = Some(rcv_nxt + recwin);
        }
        self.last_ack_sent = rcv_nxt;
        (field as u16, field << self.scale)
    }

    /// `len` bytes were queued in order.
    pub(crate) fn charge(&mut self, len: u32) {
        self.held = self.held.saturating_add(len);
    }

    /// The application read `n` bytes.
    pub(crate) fn uncharge(&mut self, n: usize) {
        self.held = self
            .held
            .saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// Whether the window can now grow enough for a standalone window update
    /// (`tcp_output`'s "sending of standalone window updates").
    pub(crate) fn worth_update(&self, rcv_nxt: SeqNum) -> bool {
        let max = MAX_WINDOW << self.scale;
        let recwin = self.space().min(max);
        if recwin == 0 {
            return false;
        }
        let oldwin = self.promised(rcv_nxt);
        let adv = recwin.saturating_sub(oldwin);
        // No update when scaling rounds the growth away.
        if oldwin >> self.scale >= (adv + oldwin) >> self.scale {
            return false;
        }
        let hiwat = self.hiwat;
        if adv >= 2 * self.maxseg
            && (adv >= hiwat / 4 || recwin <= hiwat / 8 || hiwat <= 8 * self.maxseg || adv >= max)
        {
            return true;
        }
        2 * adv >= hiwat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_rounds_up_to_whole_segments_and_the_syn_offers_65535() {
        let mut w = BsdWindow::new(65_536, 2_097_152);
        assert_eq!(w.offered_wscale(), 6);
        w.set_mss(1460);
        assert_eq!(w.hiwat(), 65_700);
        assert_eq!(w.initial(SeqNum::new(1)), 65_535);
        // Arriving segments are checked against the whole free space.
        assert_eq!(w.receive_window(SeqNum::new(1)), 65_700);
        w.set_mss(1440);
        assert_eq!(w.hiwat(), 66_240);
    }

    #[test]
    fn the_window_is_the_free_space_scaled_and_never_shrinks() {
        let mut w = BsdWindow::new(65_536, 2_097_152);
        w.set_mss(1460);
        w.rebase(SeqNum::new(1));
        w.establish(6);
        // 65700 rounded up to the scale unit of 64: 1027 units.
        assert_eq!(w.select(SeqNum::new(1)), (1027, 65_728));
        // 1000 unread bytes: the edge stays where it was.
        w.charge(1000);
        assert_eq!(w.select(SeqNum::new(1001)).1, 64_704 + 64);
    }

    #[test]
    fn a_nearly_full_buffer_offers_nothing_new_and_reading_reopens_it() {
        let mut w = BsdWindow::new(8000, 2_097_152);
        w.set_mss(1000);
        w.rebase(SeqNum::new(0));
        w.establish(0);
        assert_eq!(w.select(SeqNum::new(0)), (8000, 8000));
        w.charge(7500);
        // 500 free: less than a segment and a quarter of the buffer; the edge holds.
        assert_eq!(w.select(SeqNum::new(7500)).1, 500);
        w.charge(500);
        assert_eq!(w.select(SeqNum::new(8000)).1, 0);
        assert!(!w.worth_update(SeqNum::new(8000)));
        w.uncharge(4000);
        assert!(w.worth_update(SeqNum::new(8000)));
        assert_eq!(w.select(SeqNum::new(8000)).1, 4000);
    }
}
