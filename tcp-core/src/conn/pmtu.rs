//! Path MTU discovery (RFC 1191, RFC 8201), as Linux's `tcp_v4_mtu_reduced` /
//! `tcp_v6_mtu_reduced`, `tcp_sync_mss` and `tcp_simple_retransmit` do it.
//!
//! - A report of the path MTU (an ICMP *fragmentation needed* or ICMPv6 *packet too big*
//!   about data in flight, the endpoint's per-destination cache, or the adapter) counts
//!   only when it is below the path MTU in force (Linux's `icsk_pmtu_cookie > mtu`).
//! - IPv4: a report below 552 bytes (or of 0, from a router that does not say) sets 552
//!   (Linux's `ip_rt_min_pmtu`, 512 + 20 + 20). IPv6: a report below 1280 is ignored
//!   (RFC 8201 §4, Linux's `tcp_v6_err`).
//! - The send MSS becomes the path MTU less the IP and TCP headers, never above what the
//!   peer announced (`__tcp_mtu_to_mss`). Segments in flight longer than the new
//!   effective MSS were dropped on the way: they are marked lost and retransmitted at once
//!   in pieces of the new size, with no congestion response (the amount of data in the
//!   network did not grow, only its packets got smaller; `tcp_simple_retransmit`).
//!   Without SACK the sender goes back to SND.UNA.
//! - Which segments: an ICMP message names the segment that was dropped, so with SACK only
//!   the oversized segments from it onwards are marked, and each later message of the
//!   same MTU marks from the segment it names (those sent before the named one left
//!   before the path changed, and are acknowledged soon). Linux marks every oversized
//!   segment in flight at the first message and ignores the repeats; when the message
//!   names SND.UNA, as a report about the oldest data does, the two agree. A report
//!   without a segment (the endpoint's cache, the adapter) marks every oversized
//!   segment.
//! - A reported path MTU is never raised again (Linux raises the MSS only by probing,
//!   RFC 4821, with `Config::mtu_probing`).
//! - Black-hole detection and probing up (RFC 4821) are in `super::mtu_probe`.

use super::{Connection, State};
use crate::seq::SeqNum;
use crate::time::Instant;

/// The least IPv4 path MTU believed (Linux's `ip_rt_min_pmtu`).
pub const IPV4_MIN_PMTU: u32 = 552;
/// IPv6's minimum link MTU (RFC 8200 §5); smaller reports are ignored.
pub const IPV6_MIN_MTU: u32 = 1280;

/// The IP header bytes in front of every segment (no IPv4 options, no IPv6 extension
/// headers), plus the fixed TCP header.
fn headers(ipv6: bool) -> u32 {
    if ipv6 { 40 + 20 } else { 20 + 20 }
}

/// The path MTU a report of `mtu` bytes sets, or `None` when it is ignored (see the
/// module docs).
pub fn believed_path_mtu(mtu: u32, ipv6: bool) -> Option<u32> {
    if ipv6 {
        (mtu >= IPV6_MIN_MTU).then_some(mtu)
    } else {
        Some(mtu.max(IPV4_MIN_PMTU))
    }
}

impl Connection {
    /// The path MTU toward the peer is `mtu` bytes (see the module docs): an ICMP packet
    /// too big about data in flight ([`Connection::handle_icmp`] calls this), the
    /// endpoint's per-destination cache, or the adapter (a local `EMSGSIZE`). `ipv6` tells
    /// which IP the connection runs over. Returns whether the path MTU was lowered.
    pub fn handle_path_mtu(&mut self, now: Instant, mtu: u32, ipv6: bool) -> bool {
        self.lower_path_mtu(now, mtu, ipv6, None)
    }

    /// [`Connection::handle_path_mtu`] for a report that names the dropped segment at
    /// `dropped` (an ICMP message), or none.
    pub(super) fn lower_path_mtu(
        &mut self,
        now: Instant,
        mtu: u32,
        ipv6: bool,
        dropped: Option<SeqNum>,
    ) -> bool {
        if matches!(
            self.state(),
            State::Closed | State::Listen | State::TimeWait
        ) {
            return false;
        }
        let Some(mtu) = believed_path_mtu(mtu, ipv6) else {
            return false;
        };
        if self.path_mtu.is_some_and(|p| p.get() < mtu) {
            return false;
        }
        if self.path_mtu.is_some_and(|p| p.get() == mtu) {
            // A repeat: another segment sent before we learnt the MTU was dropped.
            if let Some(from) = dropped.filter(|_| self.loss.is_some()) {
                self.resend_oversized(now, from);
            }
            return false;
        }
        let before = self.eff_mss();
        self.path_mtu = core::num::NonZeroU32::new(mtu);
        self.pmtu_mss = mtu - headers(ipv6);
        self.pmtu_headers = headers(ipv6);
        self.stats.rare().pmtu_reductions += 1;
        self.mtu_search_on_path_mtu(mtu);
        if self.eff_mss() < before && self.state().is_synchronized() {
            self.resend_oversized(now, dropped.unwrap_or(self.snd.una));
        }
        true
    }

    /// Starts a connection whose SYN or SYN-ACK is not yet sent with the path MTU known
    /// for its destination (the endpoint's cache): as [`Connection::handle_path_mtu`],
    /// and the MSS our SYN or SYN-ACK offers is lowered to fit it too (Linux's `advmss`
    /// comes from the route, which holds the learnt path MTU).
    pub fn start_with_path_mtu(&mut self, now: Instant, mtu: u32, ipv6: bool) {
        if !self.handle_path_mtu(now, mtu, ipv6) {
            return;
        }
        if matches!(self.state(), State::SynSent | State::SynRcvd)
            && self.phase.syn_pending()
            && self.retries == 0
        {
            let fit = u16::try_from(self.pmtu_mss).unwrap_or(u16::MAX);
            self.adv_mss = self.adv_mss.min(fit);
        }
    }

    /// The path MTU in force, if one was reported (see the module docs).
    pub fn path_mtu(&self) -> Option<u32> {
        self.path_mtu.map(|p| p.get())
    }

    /// The path MTU as `TCP_INFO` reports it: the one in force, or the one the MSS implies.
    pub(super) fn reported_path_mtu(&self) -> u32 {
        self.path_mtu()
            .unwrap_or(self.snd_mss.saturating_add(self.pmtu_headers))
    }

    /// Segments in flight longer than the new MSS, from the one at `from` on, were
    /// dropped: resend them at the new size without a congestion response (Linux's
    /// `tcp_simple_retransmit`).
    pub(super) fn resend_oversized(&mut self, now: Instant, from: SeqNum) {
        if self.snd.una == self.snd.max {
            return;
        }
        let mss = self.eff_mss();
        if let Some(l) = self.loss.awake(self.snd.una) {
            if l.sb.mark_lost_longer_than(mss, from) == 0 {
                return;
            }
            // The losses were not congestion: there is no window to restore, and an
            // earlier episode can no longer be undone (Linux clears undo_marker).
            l.undo.clear();
        } else {
            // Without a scoreboard the sizes sent are not known: go back to SND.UNA and
            // resend what was in flight at the new size; duplicate ACKs of it start no
            // fast retransmit (RFC 6582 `recover`).
            self.snd.nxt = self.snd.una;
            self.recover = self.snd.max;
            self.dupacks = 0;
        }
        // Karn (RFC 6298 §3): no RTT sample from what is resent.
        self.rtt_timed = None;
        self.stats.rare().pmtu_retransmits += 1;
        self.restart_rtx(now);
    }
}
