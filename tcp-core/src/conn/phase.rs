//! A connection's state together with the data only that state needs (RFC 9293 §3.3.2).
//!
//! The handshake's data lives in SYN-SENT and SYN-RECEIVED, TIME-WAIT owns its 2·MSL
//! deadline and an orphaned FIN-WAIT-2 its give-up deadline. A transition
//! ([`Connection::enter`](super::Connection)) replaces the phase: data a state shares
//! with the next moves by value (SYN-SENT → SYN-RECEIVED keeps the handshake), and the
//! rest ends with the state that owned it, so no field outlives the state it means
//! something in.

use super::State;
use crate::time::Instant;

/// The handshake's data (RFC 9293 §3.5), held in SYN-SENT and SYN-RECEIVED.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Opening {
    /// Our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) is due: first sent, or sent again
    /// after a timeout or the peer's retransmitted SYN.
    pub(super) syn_pending: bool,
    /// The connection was opened passively: a SYN-ACK crossing ours is a simultaneous
    /// open only for an active opener (Linux's `tcp_validate_incoming`).
    pub(super) passive: bool,
    /// Our timestamp clock when the first SYN left (Linux's `retrans_stamp`): a SYN-ACK
    /// must echo a time since then.
    pub(super) syn_stamp: u32,
}

impl Opening {
    /// A passive open's handshake, born in SYN-RECEIVED. The SYN's time starts at zero:
    /// only SYN-SENT checks an echo against it. `syn_pending`: our SYN-ACK is due
    /// (rather than sent already by the endpoint's SYN queue).
    pub(super) fn passive(syn_pending: bool) -> Self {
        Opening {
            syn_pending,
            passive: true,
            syn_stamp: 0,
        }
    }
}

/// The state and what it owns. Each variant is the [`State`] of the same name, with the
/// same discriminant, so that reading the state is reading the tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Phase {
    /// No connection.
    Closed = State::Closed as u8,
    /// Our SYN is out (RFC 9293 §3.10.7.3).
    SynSent(Opening) = State::SynSent as u8,
    /// The peer's SYN is in and our SYN-ACK out (RFC 9293 §3.10.7.4).
    SynRcvd(Opening) = State::SynRcvd as u8,
    /// Data flows both ways.
    Established = State::Established as u8,
    /// Our FIN is out, unacknowledged.
    FinWait1 = State::FinWait1 as u8,
    /// Our FIN is acknowledged. An orphan (the application closed) gives up waiting for
    /// the peer's FIN at this deadline (Linux's `tcp_fin_timeout`); a connection the
    /// application still holds waits for as long as the peer keeps it open.
    FinWait2 {
        /// When an orphan stops waiting.
        orphan_until: Option<Instant>,
    } = State::FinWait2 as u8,
    /// The peer's FIN is in; we may still send.
    CloseWait = State::CloseWait as u8,
    /// Both FINs crossed; ours is unacknowledged.
    Closing = State::Closing as u8,
    /// The peer closed first, then we did; our FIN is unacknowledged.
    LastAck = State::LastAck as u8,
    /// Both directions are closed (RFC 9293 §3.10.7.4): old duplicates die out until
    /// `until`, 2·MSL after the last FIN.
    TimeWait {
        /// The end of the 2·MSL wait.
        until: Instant,
    } = State::TimeWait as u8,
}

impl Phase {
    /// The state this phase is.
    #[inline]
    pub(super) fn state(&self) -> State {
        match self {
            Phase::Closed => State::Closed,
            Phase::SynSent(_) => State::SynSent,
            Phase::SynRcvd(_) => State::SynRcvd,
            Phase::Established => State::Established,
            Phase::FinWait1 => State::FinWait1,
            Phase::FinWait2 { .. } => State::FinWait2,
            Phase::CloseWait => State::CloseWait,
            Phase::Closing => State::Closing,
            Phase::LastAck => State::LastAck,
            Phase::TimeWait { .. } => State::TimeWait,
        }
    }

    /// The handshake's data, in SYN-SENT and SYN-RECEIVED.
    #[inline]
    pub(super) fn opening(&self) -> Option<&Opening> {
        match self {
            Phase::SynSent(o) | Phase::SynRcvd(o) => Some(o),
            _ => None,
        }
    }

    /// The handshake's data, to change, in SYN-SENT and SYN-RECEIVED.
    #[inline]
    pub(super) fn opening_mut(&mut self) -> Option<&mut Opening> {
        match self {
            Phase::SynSent(o) | Phase::SynRcvd(o) => Some(o),
            _ => None,
        }
    }

    /// Our SYN or SYN-ACK is due (never outside the handshake).
    #[inline]
    pub(super) fn syn_pending(&self) -> bool {
        self.opening().is_some_and(|o| o.syn_pending)
    }

    /// Marks our SYN or SYN-ACK as due (or not); outside the handshake there is none.
    #[inline]
    pub(super) fn set_syn_pending(&mut self, due: bool) {
        if let Some(o) = self.opening_mut() {
            o.syn_pending = due;
        }
    }

    /// When the state ends by itself: TIME-WAIT's 2·MSL, an orphaned FIN-WAIT-2's
    /// timeout.
    #[inline]
    pub(super) fn deadline(&self) -> Option<Instant> {
        match *self {
            Phase::TimeWait { until } => Some(until),
            Phase::FinWait2 { orphan_until } => orphan_until,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn only_the_handshake_states_hold_a_pending_syn() {
        let o = Opening {
            syn_pending: true,
            ..Opening::default()
        };
        assert!(Phase::SynSent(o).syn_pending());
        assert!(Phase::SynRcvd(o).syn_pending());
        let mut p = Phase::Established;
        p.set_syn_pending(true);
        assert!(!p.syn_pending());
        assert_eq!(p.opening(), None);
    }

    #[test]
    fn only_time_wait_and_an_orphaned_fin_wait_2_end_by_themselves() {
        let t = Instant::ZERO + Duration::from_secs(60);
        assert_eq!(Phase::TimeWait { until: t }.deadline(), Some(t));
        assert_eq!(
            Phase::FinWait2 {
                orphan_until: Some(t)
            }
            .deadline(),
            Some(t)
        );
        assert_eq!(Phase::FinWait2 { orphan_until: None }.deadline(), None);
        for p in [
            Phase::Closed,
            Phase::SynSent(Opening::default()),
            Phase::Established,
            Phase::FinWait1,
            Phase::CloseWait,
            Phase::Closing,
            Phase::LastAck,
        ] {
            assert_eq!(p.deadline(), None, "{p:?}");
        }
    }

    #[test]
    fn each_phase_is_the_state_of_its_name() {
        let o = Opening::default();
        let t = Instant::ZERO + Duration::from_secs(1);
        for (p, s) in [
            (Phase::Closed, State::Closed),
            (Phase::SynSent(o), State::SynSent),
            (Phase::SynRcvd(o), State::SynRcvd),
            (Phase::Established, State::Established),
            (Phase::FinWait1, State::FinWait1),
            (Phase::FinWait2 { orphan_until: None }, State::FinWait2),
            (Phase::CloseWait, State::CloseWait),
            (Phase::Closing, State::Closing),
            (Phase::LastAck, State::LastAck),
            (Phase::TimeWait { until: t }, State::TimeWait),
        ] {
            assert_eq!(p.state(), s);
        }
    }
}
