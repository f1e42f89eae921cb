//! State changes (RFC 9293 §3.3.2, figure 5): every change of a connection's state goes
//! through [`Connection::enter`], which checks it against the state diagram.

use super::phase::Phase;
use super::{Connection, State};

impl State {
    /// Whether RFC 9293's state diagram has the edge `self` → `to`:
    ///
    /// - opening (§3.5): SYN-SENT → ESTABLISHED on the SYN-ACK, SYN-SENT → SYN-RECEIVED on a
    ///   bare SYN (simultaneous open, figure 8), SYN-RECEIVED → ESTABLISHED on the ACK of
    ///   our SYN;
    /// - closing (§3.6): CLOSE from SYN-RECEIVED or ESTABLISHED → FIN-WAIT-1 (a CLOSE in
    ///   SYN-SENT queues the FIN until ESTABLISHED, as §3.10.4 allows), from CLOSE-WAIT →
    ///   LAST-ACK; a FIN from SYN-RECEIVED or ESTABLISHED → CLOSE-WAIT (§3.10.7.4, eighth
    ///   step), from FIN-WAIT-1 → CLOSING, or → TIME-WAIT when it also acknowledges our
    ///   FIN, from FIN-WAIT-2 → TIME-WAIT; the ACK of our FIN: FIN-WAIT-1 → FIN-WAIT-2,
    ///   CLOSING → TIME-WAIT, LAST-ACK → CLOSED;
    /// - from any state → CLOSED: a reset, an abort, a timeout, or TIME-WAIT's end.
    ///
    /// LISTEN is the endpoint's listener, never a connection's state: a passive
    /// connection is born in SYN-RECEIVED, an active one in SYN-SENT.
    pub(crate) fn may_become(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (_, Closed)
                | (SynSent, SynRcvd | Established)
                | (SynRcvd, Established | FinWait1 | CloseWait)
                | (Established, FinWait1 | CloseWait)
                | (FinWait1, FinWait2 | Closing | TimeWait)
                | (FinWait2, TimeWait)
                | (CloseWait, LastAck)
                | (Closing, TimeWait)
        )
    }
}

impl Connection {
    /// Moves to phase `to`, the one place a connection's state changes (RFC 9293 §3.3.2).
    /// `to` carries what the new state owns; what the old state owned and `to` does not
    /// take ends here. An edge outside the diagram ([`State::may_become`]) is a bug of
    /// this crate: it panics in debug builds and is taken anyway in release builds.
    pub(super) fn enter(&mut self, to: Phase) {
        debug_assert!(
            self.state().may_become(to.state()),
            "no edge {:?} -> {:?} in RFC 9293's state diagram",
            self.state(),
            to.state()
        );
        self.phase = to;
    }
}

#[cfg(test)]
mod tests {
    use super::State::{self, *};

    const ALL: [State; 11] = [
        Closed,
        Listen,
        SynSent,
        SynRcvd,
        Established,
        FinWait1,
        FinWait2,
        CloseWait,
        Closing,
        LastAck,
        TimeWait,
    ];

    #[test]
    fn every_state_can_close_and_nothing_leaves_closed_or_enters_listen() {
        for s in ALL {
            assert!(s.may_become(Closed), "{s:?} -> Closed");
            assert!(!s.may_become(Listen), "{s:?} -> Listen");
            assert_eq!(Closed.may_become(s), s == Closed, "Closed -> {s:?}");
        }
    }

    #[test]
    fn the_states_after_a_fin_never_go_back_to_sending_data() {
        for from in [FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait] {
            for to in [SynSent, SynRcvd, Established] {
                assert!(!from.may_become(to), "{from:?} -> {to:?}");
            }
        }
        // TIME-WAIT only ends.
        for to in ALL {
            assert_eq!(TimeWait.may_become(to), to == Closed, "TimeWait -> {to:?}");
        }
    }

    #[test]
    fn the_edges_of_figure_5() {
        for (from, to) in [
            (SynSent, Established),
            (SynSent, SynRcvd),
            (SynRcvd, Established),
            (SynRcvd, FinWait1),
            (Established, FinWait1),
            (Established, CloseWait),
            (FinWait1, FinWait2),
            (FinWait1, Closing),
            (FinWait2, TimeWait),
            (CloseWait, LastAck),
            (Closing, TimeWait),
            (LastAck, Closed),
            (TimeWait, Closed),
        ] {
            assert!(from.may_become(to), "{from:?} -> {to:?}");
        }
        assert!(!Established.may_become(SynRcvd));
        assert!(!CloseWait.may_become(FinWait1));
        assert!(!LastAck.may_become(TimeWait));
    }
}
