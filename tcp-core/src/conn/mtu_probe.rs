//! Packetization-layer path MTU discovery (RFC 4821) as Linux's `tcp_mtu_probing`
//! (`tcp_timer.c`), `tcp_mtu_probe` (`tcp_output.c`) and `tcp_mtup_probe_success` /
//! `tcp_mtup_probe_failed` (`tcp_input.c`), selected by [`crate::MtuProbing`]:
//!
//! - The search range is kept as MTUs: `search_low`, which the MSS may not exceed once
//!   probing is on (first `Config::base_mss`), and `search_high` (the peer's MSS, lowered
//!   by a reported path MTU).
//! - Black-hole detection (RFC 4821 §7.4): when the retransmissions of a flight have gone
//!   unanswered for the time `Config::retries1` of them take, probing is switched on (the
//!   MSS falls to `base_mss`); at each later such timeout `search_low` halves, down to
//!   `Config::mtu_probe_floor`.
//! - Probing up (RFC 4821 §7.3): while nothing is being recovered, the congestion window
//!   holds 11 segments, no SACK blocks are being sent and enough new data waits, one
//!   segment of the size halfway between `search_low` and `search_high` goes out in place
//!   of normal ones. Acknowledged, it raises `search_low` (and the MSS) to its size; lost
//!   (the first loss found is the probe's, at SND.UNA), it lowers `search_high` below it
//!   and is resent at the current MSS, without a congestion response. The search stops
//!   when the range is narrower than `Config::mtu_probe_threshold`, and starts over after
//!   `Config::mtu_probe_interval`.
//! - As in Linux the MSS follows `search_low` only when it is synchronised: at a black
//!   hole, a successful probe or a packet too big, not when probing is switched on at the
//!   start of a connection ([`crate::MtuProbing::Always`]).
//! - The congestion window gives up one segment when a probe goes out (it counts as two),
//!   gets it back if the probe is lost, and is rescaled to about the same bytes in
//!   segments of the new size when the probe succeeds (Linux).
//! - Difference from Linux: a probe whose loss is found by a retransmission timeout
//!   failed (Linux keeps it pending, and counts it a success once it is acknowledged in
//!   pieces).

use super::Connection;
use crate::config::MtuProbing;
use crate::recovery::CongestionControl;
use crate::seq::SeqNum;
use crate::time::Instant;

/// The search state (Linux's `icsk_mtup`).
#[derive(Clone, Copy, Debug)]
pub(super) struct MtuSearch {
    /// The largest MTU known to work (`search_low`).
    low: u32,
    /// The smallest MTU known or assumed not to work, less one (`search_high`).
    high: u32,
    /// The probe in flight: its sequence range and its MTU.
    probe: Option<(SeqNum, SeqNum, u32)>,
    /// When the search (re)started (`probe_timestamp`).
    since: Instant,
}

/// What the send path does about a probe now.
pub(super) enum ProbeNow {
    /// Send a probe of this many payload bytes at SND.NXT.
    Send(u32),
    /// Send nothing: the probe waits for room in the window or for the flight to drain.
    Wait,
    /// Send as usual.
    No,
}

impl Connection {
    /// IP and TCP header bytes of a full segment (Linux's `tcp_mss_to_mtu` less the MSS):
    /// the IP header, the TCP header and the options every segment carries.
    fn mtu_overhead(&self) -> u32 {
        self.pmtu_headers + if self.ts_ok { 12 } else { 0 }
    }

    /// Linux's `tcp_mtu_to_mss`: the payload of a full segment in an MTU of `mtu`, never
    /// above the peer's MSS.
    fn mtu_to_mss(&self, mtu: u32) -> u32 {
        let ts = if self.ts_ok { 12 } else { 0 };
        mtu.saturating_sub(self.pmtu_headers)
            .min(self.snd_mss)
            .saturating_sub(ts)
            .max(u32::from(self.cfg.min_mss))
    }

    /// Linux's `tcp_mss_to_mtu`.
    fn mss_to_mtu(&self, mss: u32) -> u32 {
        mss + self.mtu_overhead()
    }

    /// A fresh search range (Linux's `tcp_mtup_init`): from `base_mss` up to the peer's
    /// MSS, or the path MTU if one was reported.
    fn new_search(&self, now: Instant) -> MtuSearch {
        let mut high = self.snd_mss + self.pmtu_headers;
        if let Some(p) = self.path_mtu() {
            high = high.min(p);
        }
        MtuSearch {
            low: self.mss_to_mtu(u32::from(self.cfg.base_mss)),
            high,
            probe: None,
            since: now,
        }
    }

    /// The connection is established: with [`MtuProbing::Always`] the search starts
    /// (Linux's `tcp_init_transfer` calling `tcp_mtup_init`; the MSS is not synchronised).
    pub(super) fn mtu_search_on_establish(&mut self, now: Instant) {
        if self.cfg.mtu_probing == MtuProbing::Always {
            self.mtu_search = Some(alloc::boxed::Box::new(self.new_search(now)));
        }
    }

    /// Synchronises the MSS with the search (Linux's `tcp_sync_mss` with probing on).
    pub(super) fn sync_mtu_search(&mut self) {
        if let Some(s) = self.mtu_search.as_deref() {
            let low = s.low;
            self.probe_mss_cap = core::num::NonZeroU32::new(self.mtu_to_mss(low).max(1));
        }
    }

    /// A path MTU was reported: the search may not go above it (Linux's `tcp_sync_mss`).
    pub(super) fn mtu_search_on_path_mtu(&mut self, mtu: u32) {
        if let Some(s) = self.mtu_search.as_deref_mut() {
            s.high = s.high.min(mtu);
        }
        self.sync_mtu_search();
    }

    /// The retransmissions of a flight went unanswered for the time `Config::retries1` of
    /// them take (Linux's `tcp_write_timeout` calling `tcp_mtu_probing`): see the module
    /// docs. The timeout's retransmission then goes at the new size.
    pub(super) fn on_black_hole_suspected(&mut self, now: Instant) {
        if self.cfg.mtu_probing == MtuProbing::Off {
            return;
        }
        match self.mtu_search.as_deref() {
            None => {
                self.mtu_search = Some(alloc::boxed::Box::new(self.new_search(now)));
            }
            Some(s) => {
                let mss = (self.mtu_to_mss(s.low) / 2)
                    .min(u32::from(self.cfg.base_mss))
                    .max(u32::from(self.cfg.mtu_probe_floor))
                    .max(u32::from(self.cfg.min_mss));
                let low = self.mss_to_mtu(mss);
                if let Some(s) = self.mtu_search.as_deref_mut() {
                    s.low = low;
                }
            }
        }
        self.sync_mtu_search();
        self.stats.rare().black_hole_reductions += 1;
    }

    /// Whether to send a probe before the next new segment (Linux's `tcp_mtu_probe`; see
    /// the module docs). `data_end` is the end of the queued data, `wnd_end` the right edge
    /// of the peer's window, `flight` the bytes in flight and `cwnd` the window.
    pub(super) fn mtu_probe_now(
        &mut self,
        now: Instant,
        data_end: SeqNum,
        wnd_end: SeqNum,
        flight: u32,
        cwnd: u32,
    ) -> ProbeNow {
        let Some(s) = self.mtu_search.as_deref().copied() else {
            return ProbeNow::No;
        };
        let mss = self.mss_cache().max(1);
        let recovering = self.recovery.is_some()
            || self.frto.is_some()
            || self.loss_until.is_some()
            || self.loss.in_recovery();
        let sacking = self.sack_ok && !self.recv_buf.sack_blocks().is_empty();
        if s.probe.is_some() || recovering || cwnd / mss < 11 || sacking || self.dsack.is_some() {
            return ProbeNow::No;
        }
        let probe = self.mtu_to_mss((s.high + s.low) / 2);
        let reordering = self.loss.reordering();
        let needed = probe.saturating_add(reordering.saturating_add(1).saturating_mul(mss));
        if probe > self.mtu_to_mss(s.high)
            || s.high.saturating_sub(s.low) < u32::from(self.cfg.mtu_probe_threshold)
        {
            // The search is over; start it again after the interval (Linux's
            // tcp_mtu_check_reprobe).
            if now.saturating_duration_since(s.since) >= self.cfg.mtu_probe_interval {
                let low = self.mss_to_mtu(self.mss_cache());
                let mut fresh = self.new_search(now);
                fresh.low = low;
                self.mtu_search = Some(alloc::boxed::Box::new(fresh));
            }
            return ProbeNow::No;
        }
        let waiting = if data_end.gt(self.snd.nxt) {
            data_end.since(self.snd.nxt)
        } else {
            0
        };
        if waiting < needed || self.snd.wnd < needed {
            return ProbeNow::No;
        }
        if (self.snd.nxt + needed).gt(wnd_end) {
            return ProbeNow::Wait;
        }
        let in_flight = flight.div_ceil(mss);
        if in_flight + 2 > cwnd / mss {
            return if in_flight == 0 {
                ProbeNow::No
            } else {
                ProbeNow::Wait
            };
        }
        ProbeNow::Send(probe)
    }

    /// A probe of `len` bytes went out at `seq`.
    pub(super) fn on_mtu_probe_sent(&mut self, seq: SeqNum, len: u32) {
        let mtu = self.mss_to_mtu(len);
        // It counts as two segments (Linux's tcp_mtu_probe).
        let cwnd = self.cc.cwnd().saturating_sub(self.mss_cache());
        self.cc.set_recovery_cwnd(cwnd.max(self.mss_cache()));
        if let Some(s) = self.mtu_search.as_deref_mut() {
            s.probe = Some((seq, seq + len, mtu));
        }
        self.stats.rare().mtu_probes += 1;
    }

    /// SND.UNA advanced: an acknowledged probe raises `search_low` to its size and the MSS
    /// follows (Linux's `tcp_mtup_probe_success`).
    pub(super) fn mtu_probe_on_ack(&mut self) {
        let una = self.snd.una;
        let Some(s) = self.mtu_search.as_deref_mut() else {
            return;
        };
        if let Some((_, end, mtu)) = s.probe
            && una.ge(end)
        {
            s.low = mtu;
            s.probe = None;
            // The window keeps about its bytes in segments of the new size.
            let old = self.mss_cache().max(1);
            let packets = u64::from(self.cc.cwnd() / old) * u64::from(self.mss_to_mtu(old))
                / u64::from(mtu.max(1));
            self.sync_mtu_search();
            let new = u64::from(self.mss_cache());
            let cwnd = u32::try_from(packets.max(1) * new).unwrap_or(u32::MAX);
            self.cc.set_recovery_cwnd(cwnd);
        }
    }

    /// A loss was found. If it is the probe's (the probe is at SND.UNA), the probe failed:
    /// `search_high` falls below it and it is resent at the current MSS, with no
    /// congestion response (Linux's `tcp_mtup_probe_failed` and `tcp_simple_retransmit`).
    /// Returns whether it was the probe's.
    pub(super) fn mtu_probe_lost(&mut self, now: Instant) -> bool {
        let una = self.snd.una;
        let Some(s) = self.mtu_search.as_deref_mut() else {
            return false;
        };
        match s.probe {
            Some((start, _, mtu)) if start == una => {
                s.high = mtu - 1;
                s.probe = None;
                self.stats.rare().mtu_probes_failed += 1;
                let cwnd = self.cc.cwnd().saturating_add(self.mss_cache());
                self.cc.set_recovery_cwnd(cwnd);
                self.resend_oversized(now, una);
                true
            }
            _ => false,
        }
    }

    /// A retransmission timeout: a probe still out failed (see the module docs).
    pub(super) fn mtu_probe_on_rto(&mut self) {
        if let Some(s) = self.mtu_search.as_deref_mut()
            && let Some((_, _, mtu)) = s.probe.take()
        {
            s.high = mtu - 1;
            self.stats.rare().mtu_probes_failed += 1;
        }
    }
}
