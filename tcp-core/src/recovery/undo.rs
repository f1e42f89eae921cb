//! Undo of a spurious congestion response: DSACK-based detection (RFC 3708, Linux
//! `tcp_try_undo_dsack`/`tcp_try_undo_recovery`) and the Eifel detection algorithm with
//! timestamps (RFC 3522, Linux `tcp_packet_delayed`).
//!
//! At the start of a congestion response (fast recovery or RTO) the connection calls
//! [`Undo::on_congestion_response`], which remembers cwnd/ssthresh. Each retransmission
//! is counted; each DSACK for a retransmitted segment proves one retransmission
//! unnecessary — only segments the scoreboard saw retransmitted count, or, for data
//! already acknowledged and forgotten, the segments the DSACK reports (Linux's
//! `undo_retrans` accounting in `tcp_sacktag_one` and `tcp_check_dsack`). When every retransmission of the episode was DSACKed, or the first ACK
//! for retransmitted data echoes a timestamp older than the first retransmission, the
//! response was spurious and [`Undo::take`] gives back the prior values for
//! [`CongestionControl::on_spurious_congestion_undo`](super::CongestionControl::on_spurious_congestion_undo).

use super::scoreboard::Dsack;
use crate::seq::SeqNum;

/// Undo bookkeeping for one congestion response (RFC 3708 §3, RFC 3522 §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Undo {
    /// Armed: SND.UNA when the response began (Linux `undo_marker`).
    marker: Option<SeqNum>,
    prior_cwnd: u32,
    prior_ssthresh: u32,
    /// Retransmissions not yet proven unnecessary by a DSACK (Linux `undo_retrans`).
    retrans_pending: u32,
    /// Any retransmission happened in this episode.
    retransmitted: bool,
    /// TSval of the first retransmission (RFC 3522 §3.2 `RetransmitTS`).
    first_retrans_tsval: Option<u32>,
}

impl Undo {
    /// Nothing to undo.
    pub fn new() -> Self {
        Self::default()
    }

    /// A congestion response begins (RFC 3708 §3 / RFC 3522 §3.2 step 1): remember the
    /// window state before it and SND.UNA.
    pub fn on_congestion_response(&mut self, cwnd: u32, ssthresh: u32, snd_una: SeqNum) {
        if self.marker.is_some() {
            // A response within a response (e.g. RTO during recovery): keep the oldest
            // prior state, as Linux keeps `prior_cwnd` from the first reduction.
            self.marker = Some(snd_una);
            return;
        }
        *self = Undo {
            marker: Some(snd_una),
            prior_cwnd: cwnd,
            prior_ssthresh: ssthresh,
            retrans_pending: 0,
            retransmitted: false,
            first_retrans_tsval: None,
        };
    }

    /// Undo is armed.
    #[cfg(test)]
    pub fn is_armed(&self) -> bool {
        self.marker.is_some()
    }

    /// A segment was retransmitted while armed; `tsval` is the TSval it carried
    /// (RFC 3522 §3.2 step 2 records the first).
    pub fn on_retransmit(&mut self, tsval: Option<u32>) {
        if self.marker.is_none() {
            return;
        }
        self.retrans_pending = self.retrans_pending.saturating_add(1);
        if !self.retransmitted {
            self.first_retrans_tsval = tsval;
        }
        self.retransmitted = true;
    }

    /// A D-SACK arrived (RFC 3708 §3): if it ends above the undo marker, the
    /// retransmissions it proves unnecessary are taken off those pending — the segments it
    /// covers that had been retransmitted (Linux's `tcp_sacktag_one`), or, for data
    /// acknowledged before this ACK, the duplicate segments it reports (the "dumb counting"
    /// of Linux's `tcp_check_dsack`). Returns whether it counted.
    pub fn on_dsack(&mut self, d: &Dsack) -> bool {
        let Some(m) = self.marker else {
            return false;
        };
        if self.retrans_pending == 0 || !d.block.end.gt(m) {
            return false;
        }
        let proven = if d.forgotten { d.segs } else { d.retransmitted };
        if proven == 0 {
            return false;
        }
        self.retrans_pending = self.retrans_pending.saturating_sub(proven);
        true
    }

    /// Every retransmission of the episode was DSACKed: the response was spurious
    /// (RFC 3708 §3, Linux `tcp_try_undo_dsack`).
    pub fn dsack_says_spurious(&self) -> bool {
        self.marker.is_some() && self.retransmitted && self.retrans_pending == 0
    }

    /// Eifel detection (RFC 3522 §3.2 step 4): the first ACK acknowledging retransmitted
    /// data echoes `ts_ecr`; if it is older than the first retransmission's TSval, the
    /// ACK was for the original transmission and the response was spurious.
    pub fn eifel_says_spurious(&self, ts_ecr: u32) -> bool {
        match (self.marker, self.first_retrans_tsval) {
            (Some(_), Some(rt)) => (ts_ecr.wrapping_sub(rt) as i32) < 0,
            _ => false,
        }
    }

    /// Disarms and returns `(prior_cwnd, prior_ssthresh)` to restore (RFC 3708 §3 "undo"),
    /// or `None` if not armed.
    pub fn take(&mut self) -> Option<(u32, u32)> {
        let out = self.marker.map(|_| (self.prior_cwnd, self.prior_ssthresh));
        *self = Undo::default();
        out
    }

    /// The episode ended without undo and its retransmissions are all acknowledged: forget
    /// it. (Linux keeps the marker a while longer to catch late DSACKs; callers may instead
    /// call this when SND.UNA passes the recovery point plus one more round.)
    pub fn clear(&mut self) {
        *self = Undo::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::SackBlock;

    fn dsack(start: u32, end: u32, retransmitted: u32, forgotten: bool) -> Dsack {
        Dsack {
            block: SackBlock::new(SeqNum::new(start), SeqNum::new(end)),
            segs: 1,
            retransmitted,
            forgotten,
        }
    }

    #[test]
    fn dsack_for_every_retransmission_undoes() {
        let mut u = Undo::new();
        u.on_congestion_response(20_000, 40_000, SeqNum::new(100));
        u.on_retransmit(None);
        u.on_retransmit(None);
        assert!(!u.dsack_says_spurious());
        let b = dsack(100, 200, 1, false);
        assert!(!u.on_dsack(&dsack(0, 100, 0, true)), "before marker");
        assert!(u.on_dsack(&b));
        assert!(!u.dsack_says_spurious());
        assert!(u.on_dsack(&dsack(100, 200, 0, true)), "forgotten data");
        assert!(u.dsack_says_spurious());
        assert!(!u.on_dsack(&b), "no retransmission left to account for");
        assert_eq!(u.take(), Some((20_000, 40_000)));
        assert!(!u.is_armed());
        assert_eq!(u.take(), None);
    }

    /// A D-SACK that covers no retransmitted segment (a receiver's real SACK block made to
    /// look like a D-SACK, RFC 2883 §4 case 2) proves nothing: no undo.
    #[test]
    fn a_dsack_covering_no_retransmission_does_not_undo() {
        let mut u = Undo::new();
        u.on_congestion_response(20_000, 40_000, SeqNum::new(100));
        u.on_retransmit(None);
        for _ in 0..10 {
            assert!(!u.on_dsack(&dsack(1_000, 2_000, 0, false)));
        }
        assert!(!u.dsack_says_spurious());
        assert!(u.is_armed());
    }

    #[test]
    fn eifel_uses_serial_timestamp_comparison() {
        let mut u = Undo::new();
        u.on_congestion_response(1, 2, SeqNum::new(0));
        u.on_retransmit(Some(1000));
        u.on_retransmit(Some(1500));
        assert!(
            u.eifel_says_spurious(999),
            "echo of the original transmission"
        );
        assert!(!u.eifel_says_spurious(1000), "echo of the retransmission");
        let mut w = Undo::new();
        w.on_congestion_response(1, 2, SeqNum::new(0));
        w.on_retransmit(Some(5));
        assert!(w.eifel_says_spurious(u32::MAX - 3), "across the wrap");
    }

    #[test]
    fn nested_response_keeps_oldest_prior() {
        let mut u = Undo::new();
        u.on_congestion_response(100, 200, SeqNum::new(0));
        u.on_congestion_response(70, 70, SeqNum::new(10));
        assert_eq!(u.take(), Some((100, 200)));
    }

    #[test]
    fn not_armed_ignores_events() {
        let mut u = Undo::new();
        u.on_retransmit(Some(1));
        assert!(!u.on_dsack(&dsack(0, 1, 1, false)));
        assert!(!u.dsack_says_spurious());
        assert!(!u.eifel_says_spurious(0));
        u.on_congestion_response(1, 1, SeqNum::new(0));
        assert!(!u.dsack_says_spurious(), "no retransmission yet");
        u.clear();
        assert!(!u.is_armed());
    }
}
