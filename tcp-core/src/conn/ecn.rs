//! Explicit Congestion Notification (RFC 3168 §6.1), with Linux's choices where the RFC
//! leaves them open (`tcp_ecn_*` in `net/ipv4/tcp_input.c` and `tcp_output.c`).
//!
//! - Negotiation (§6.1.1): an active opener that wants ECN sends a SYN with ECE and CWR
//!   (not on a retransmitted SYN: `tcp_ecn_clear_syn`, the fallback for paths that drop
//!   such SYNs); a SYN-ACK with ECE and without CWR makes the connection ECN-capable
//!   (`tcp_ecn_rcv_synack`). A listener answers a SYN carrying both ECE and CWR with ECE
//!   in its SYN-ACK (`tcp_ecn_rcv_syn`, `tcp_ecn_make_synack`).
//! - Sending (§6.1.2, `tcp_ecn_send`): only new data goes out as ECT(0); retransmissions,
//!   pure ACKs, SYNs and FIN-only segments are not ECN-capable. After a congestion
//!   response the next new data segment carries CWR.
//! - Receiving (§6.1.3, `__tcp_ecn_check_ce`, `tcp_ecn_accept_cwr`): a CE mark on data
//!   makes every later segment carry ECE until a segment with CWR arrives, and the ACK of
//!   the marked data goes at once (quick-ACK mode).
//! - Responding (§6.1.2, `tcp_enter_cwr`): ECE on an ACK reduces the window as a loss
//!   would, once per window of data; nothing is retransmitted.

use crate::seq::SeqNum;
use crate::wire::{IpEcn, TcpFlags, TcpHeader};

/// One connection's ECN state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ecn {
    /// Our SYN asked for ECN.
    requested: bool,
    /// Both sides agreed (`TCP_ECN_OK`).
    ok: bool,
    /// An ECT or CE segment arrived (`TCP_ECN_SEEN`).
    seen: bool,
    /// A CE mark arrived: every segment carries ECE until the peer's CWR
    /// (`TCP_ECN_DEMAND_CWR`).
    demand_cwr: bool,
    /// The next new data segment carries CWR (`TCP_ECN_QUEUE_CWR`).
    queue_cwr: bool,
    /// The window reduction for an ECE lasts until SND.UNA passes this (`high_seq` of
    /// Linux's CWR state).
    cwr_until: Option<SeqNum>,
}

/// How soon the ACK of an arriving segment should go, for ECN's sake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EcnAck {
    /// This ACK goes at once (`ICSK_ACK_NOW`).
    pub now: bool,
    /// Quick-ACK mode for [`ECN_QUICKACKS`] ACKs (`tcp_enter_quickack_mode(sk, 2)`).
    pub quickack: bool,
}

/// The quick-ACK budget ECN events grant (Linux's `tcp_enter_quickack_mode(sk, 2)`).
pub(crate) const ECN_QUICKACKS: u8 = 2;

/// What an ACK's ECE asks of the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EceResponse {
    /// Nothing: no ECE, ECN not in use, or already reduced for this window.
    None,
    /// Reduce the congestion window once (RFC 3168 §6.1.2).
    Reduce,
}

impl Ecn {
    /// Whether both sides agreed on ECN.
    pub(crate) fn is_ok(&self) -> bool {
        self.ok
    }

    /// The flags of our SYN: ECE and CWR when we ask for ECN, which a retransmitted SYN
    /// no longer does.
    pub(crate) fn syn_flags(&mut self, want: bool, retransmission: bool) -> TcpFlags {
        self.requested = want && !retransmission;
        if self.requested {
            TcpFlags::ECE | TcpFlags::CWR
        } else {
            TcpFlags::empty()
        }
    }

    /// The peer's SYN-ACK: ECN is on when we asked and it answered with ECE alone.
    pub(crate) fn on_synack(&mut self, h: &TcpHeader) {
        self.ok =
            self.requested && h.flags.contains(TcpFlags::ECE) && !h.flags.contains(TcpFlags::CWR);
    }

    /// The peer's SYN on a passive open: ECN is on when it asked (ECE and CWR) and we
    /// accept it.
    pub(crate) fn on_syn(&mut self, h: &TcpHeader, accept: bool) {
        self.ok = accept && h.flags.contains(TcpFlags::ECE | TcpFlags::CWR);
    }

    /// A connection rebuilt from a SYN cookie: ECN as the cookie remembers it.
    pub(crate) fn on_cookie(&mut self, ok: bool) {
        self.ok = ok;
    }

    /// The peer's SYN in SYN-SENT (simultaneous open): Linux keeps ECN only if our SYN
    /// asked for it and the peer's asks too (`tcp_ecn_rcv_syn`); FreeBSD (`bsd`) agrees
    /// whenever the peer asks and we `accept`.
    pub(crate) fn on_simultaneous_syn(&mut self, h: &TcpHeader, accept: bool, bsd: bool) {
        let asks = h.flags.contains(TcpFlags::ECE | TcpFlags::CWR);
        self.ok = asks && if bsd { accept } else { self.requested };
    }

    /// The flags a non-SYN segment adds: ECE while a CE mark waits for the peer's CWR.
    pub(crate) fn ack_flags(&self) -> TcpFlags {
        if self.ok && self.demand_cwr {
            TcpFlags::ECE
        } else {
            TcpFlags::empty()
        }
    }

    /// A segment with new data leaves: its codepoint, and CWR if a reduction was made
    /// since the last one.
    pub(crate) fn on_new_data(&mut self) -> (IpEcn, TcpFlags) {
        if !self.ok {
            return (IpEcn::NotEct, TcpFlags::empty());
        }
        let cwr = if core::mem::take(&mut self.queue_cwr) {
            TcpFlags::CWR
        } else {
            TcpFlags::empty()
        };
        (IpEcn::Ect0, cwr)
    }

    /// A segment arrived with codepoint `ecn`: how soon its ACK should go.
    pub(crate) fn on_receive(&mut self, h: &TcpHeader, ecn: IpEcn, data: bool) -> EcnAck {
        let mut out = EcnAck::default();
        if !self.ok {
            return out;
        }
        if h.flags.contains(TcpFlags::CWR) && !h.flags.contains(TcpFlags::SYN) {
            // tcp_ecn_accept_cwr: the sender's window may be one segment; the ACK of the
            // CWR segment goes at once.
            self.demand_cwr = false;
            out.now = data;
        }
        if !data {
            return out;
        }
        // __tcp_ecn_check_ce.
        match ecn {
            // Not ECN-capable after ECT was seen: probably a retransmission.
            IpEcn::NotEct => out.quickack = self.seen,
            IpEcn::Ce => {
                if !self.demand_cwr {
                    out.quickack = true;
                    self.demand_cwr = true;
                }
                self.seen = true;
            }
            IpEcn::Ect0 | IpEcn::Ect1 => self.seen = true,
        }
        out
    }

    /// An ACK arrived while SND.UNA is `snd_una` and SND.MAX `snd_max`: whether its ECE
    /// asks for a window reduction now.
    pub(crate) fn on_ack(
        &mut self,
        h: &TcpHeader,
        snd_una: SeqNum,
        snd_max: SeqNum,
    ) -> EceResponse {
        // The reduction lasts until something *above* its point is acknowledged, so that
        // the CWR flag has reached the receiver: an ECE on the ACK of exactly the
        // reduction point still echoes marks from before it (Linux's TCP_CA_CWR exit,
        // `snd_una != high_seq`).
        if self.cwr_until.is_some_and(|u| snd_una.gt(u)) {
            self.cwr_until = None;
        }
        if !self.ok || !h.flags.contains(TcpFlags::ECE) || h.flags.contains(TcpFlags::SYN) {
            return EceResponse::None;
        }
        if self.cwr_until.is_some() {
            return EceResponse::None;
        }
        self.cwr_until = Some(snd_max);
        self.queue_cwr = true;
        EceResponse::Reduce
    }

    /// A loss response (fast recovery or timeout) reduced the window: it also answers any
    /// ECE of this window, and the next new data carries CWR (RFC 3168 §6.1.2).
    pub(crate) fn on_loss_response(&mut self, snd_max: SeqNum) {
        if self.ok {
            self.cwr_until = Some(snd_max);
            self.queue_cwr = true;
        }
    }

    /// Whether an ECN-capable or marked segment arrived on this connection.
    pub(crate) fn seen(&self) -> bool {
        self.seen
    }

    /// Whether a window reduction for ECE is in progress (Linux's `TCP_CA_CWR`).
    pub(crate) fn in_cwr(&self) -> bool {
        self.cwr_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(flags: TcpFlags) -> TcpHeader {
        TcpHeader {
            flags,
            ..TcpHeader::default()
        }
    }

    #[test]
    fn negotiated_only_when_asked_and_answered_with_ece_alone() {
        let mut e = Ecn::default();
        assert_eq!(e.syn_flags(true, false), TcpFlags::ECE | TcpFlags::CWR);
        e.on_synack(&hdr(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE));
        assert!(e.is_ok());
        let mut e = Ecn::default();
        e.syn_flags(true, false);
        e.on_synack(&hdr(TcpFlags::SYN
            | TcpFlags::ACK
            | TcpFlags::ECE
            | TcpFlags::CWR));
        assert!(
            !e.is_ok(),
            "ECE and CWR in a SYN-ACK is a reflected SYN, not agreement"
        );
        let mut e = Ecn::default();
        assert_eq!(
            e.syn_flags(true, true),
            TcpFlags::empty(),
            "a retransmitted SYN falls back"
        );
        e.on_synack(&hdr(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE));
        assert!(!e.is_ok());
        let mut e = Ecn::default();
        e.on_syn(&hdr(TcpFlags::SYN | TcpFlags::ECE), true);
        assert!(!e.is_ok(), "a SYN must carry both ECE and CWR");
        e.on_syn(&hdr(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR), false);
        assert!(!e.is_ok(), "not when we do not accept ECN");
    }

    #[test]
    fn ce_is_echoed_until_cwr() {
        let mut e = Ecn::default();
        e.on_syn(&hdr(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR), true);
        let delay = EcnAck::default();
        let quick = EcnAck {
            now: false,
            quickack: true,
        };
        assert!(!e.seen());
        assert_eq!(e.on_receive(&hdr(TcpFlags::ACK), IpEcn::Ect0, true), delay);
        assert!(e.seen());
        assert_eq!(e.ack_flags(), TcpFlags::empty());
        assert_eq!(
            e.on_receive(&hdr(TcpFlags::ACK), IpEcn::Ce, true),
            quick,
            "quick ACKs"
        );
        assert_eq!(e.ack_flags(), TcpFlags::ECE);
        assert_eq!(
            e.on_receive(&hdr(TcpFlags::ACK), IpEcn::Ce, true),
            delay,
            "already echoing"
        );
        assert_eq!(
            e.on_receive(&hdr(TcpFlags::ACK | TcpFlags::CWR), IpEcn::Ect0, true),
            EcnAck {
                now: true,
                quickack: false
            },
            "the CWR segment's ACK goes at once"
        );
        assert_eq!(e.ack_flags(), TcpFlags::empty());
        assert_eq!(
            e.on_receive(&hdr(TcpFlags::ACK), IpEcn::NotEct, true),
            quick,
            "data without ECT after ECT: probably a retransmission"
        );
        assert_eq!(
            e.on_receive(&hdr(TcpFlags::ACK), IpEcn::NotEct, false),
            delay,
            "a pure ACK is never ECN-capable"
        );
    }

    #[test]
    fn ece_reduces_once_per_window_and_queues_cwr() {
        let mut e = Ecn::default();
        e.on_syn(&hdr(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR), true);
        let ece = hdr(TcpFlags::ACK | TcpFlags::ECE);
        let s = SeqNum::new;
        assert_eq!(e.on_ack(&ece, s(100), s(1000)), EceResponse::Reduce);
        assert_eq!(e.on_new_data(), (IpEcn::Ect0, TcpFlags::CWR));
        assert_eq!(e.on_new_data(), (IpEcn::Ect0, TcpFlags::empty()));
        assert_eq!(e.on_ack(&ece, s(500), s(2000)), EceResponse::None);
        assert!(e.in_cwr());
        assert_eq!(
            e.on_ack(&ece, s(1000), s(2000)),
            EceResponse::None,
            "the ACK of exactly the reduction point echoes marks from before it"
        );
        assert!(e.in_cwr());
        assert_eq!(
            e.on_ack(&ece, s(1001), s(2000)),
            EceResponse::Reduce,
            "next window"
        );
    }
}
