//! F-RTO: detection of spurious retransmission timeouts (RFC 5682), in the SACK-enhanced
//! form of §3.1 as Linux runs it (`tcp_frto = 2`), usable without SACK too.
//!
//! After the first RTO of an episode the sender retransmits only the first unacknowledged
//! segment (step 1). If the first ACK after that advances SND.UNA without covering
//! everything sent before the timeout, the sender transmits up to two *new* segments
//! instead of more retransmissions (step 2b). If the next ACK then acknowledges data that
//! was sent before the timeout and never retransmitted, the original transmissions were
//! only delayed: the timeout was spurious and its congestion response is undone (step 3b).
//! Any other outcome falls back to conventional RTO recovery.
//!
//! [`Frto`] is the pure decision procedure; the connection feeds it a summary of each ACK
//! ([`FrtoAck`]) and acts on the [`FrtoVerdict`].

use crate::seq::SeqNum;

/// Which ACK F-RTO is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrtoPhase {
    /// Step 2: the first ACK after the timeout retransmission.
    FirstAck,
    /// Step 3: the ACK after new data was sent in step 2b.
    SecondAck,
}

/// What one ACK told the sender, as F-RTO needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrtoAck {
    /// The cumulative acknowledgment after processing the ACK.
    pub ack: SeqNum,
    /// SND.UNA advanced.
    pub advanced: bool,
    /// A duplicate ACK (RFC 5681 §2) or an ACK carrying new SACK information without
    /// advancing SND.UNA. ACKs that are neither (window updates, data) are ignored.
    pub duplicate: bool,
    /// The ACK newly acknowledged (cumulatively or by SACK) data below RecoveryPoint that
    /// was never retransmitted (Linux `FLAG_ORIG_SACK_ACKED`).
    pub original_acked: bool,
    /// The ACK newly acknowledged (cumulatively or by SACK) data above RecoveryPoint.
    pub beyond_recovery_point: bool,
}

/// What the connection should do after an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrtoVerdict {
    /// Nothing decided yet: keep waiting, send nothing beyond what is allowed.
    Wait,
    /// Step 2b: transmit up to two new segments instead of retransmissions.
    SendNew,
    /// The timeout stands (or F-RTO cannot tell): continue conventional RTO recovery.
    Genuine,
    /// Step 3b: the timeout was spurious; restore `(cwnd, ssthresh)` from before it.
    Spurious {
        /// cwnd before the timeout.
        cwnd: u32,
        /// ssthresh before the timeout.
        ssthresh: u32,
    },
}

/// The state of one F-RTO episode (RFC 5682 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frto {
    phase: FrtoPhase,
    /// RecoveryPoint: the highest sequence number sent (SND.MAX) when the timer expired.
    recovery_point: SeqNum,
    prior_cwnd: u32,
    prior_ssthresh: u32,
}

impl Frto {
    /// Step 1: the retransmission timer expired with `snd_max` sent and the window state
    /// `(cwnd, ssthresh)` from before the congestion response. The caller checks that no
    /// earlier recovery is underway (RecoveryPoint < SND.UNA).
    pub fn on_rto(snd_max: SeqNum, cwnd: u32, ssthresh: u32) -> Self {
        Frto {
            phase: FrtoPhase::FirstAck,
            recovery_point: snd_max,
            prior_cwnd: cwnd,
            prior_ssthresh: ssthresh,
        }
    }

    /// The ACK the episode waits for.
    pub fn phase(&self) -> FrtoPhase {
        self.phase
    }

    /// RecoveryPoint: SND.MAX when the timer expired.
    pub fn recovery_point(&self) -> SeqNum {
        self.recovery_point
    }

    /// Decides on an ACK. `can_send_new` tells whether unsent data exists and the peer's
    /// window admits some of it (step 2b). On [`FrtoVerdict::Genuine`] and
    /// [`FrtoVerdict::Spurious`] the episode is over and the caller drops this state.
    pub fn on_ack(&mut self, a: &FrtoAck, can_send_new: bool) -> FrtoVerdict {
        match self.phase {
            FrtoPhase::FirstAck => {
                if !a.advanced {
                    // §2.1 step 2a: a duplicate ACK means the retransmission filled a
                    // hole (or nothing arrived): conventional recovery.
                    return if a.duplicate {
                        FrtoVerdict::Genuine
                    } else {
                        FrtoVerdict::Wait
                    };
                }
                // §3.1 step 2a: everything sent before the timeout is acknowledged.
                if a.ack.ge(self.recovery_point) {
                    return FrtoVerdict::Genuine;
                }
                // §3.1 step 2b: without new data to send, refrain from step 3.
                if !can_send_new {
                    return FrtoVerdict::Genuine;
                }
                // §3.1 step 2b: send up to two new segments, then go to step 3.
                self.phase = FrtoPhase::SecondAck;
                FrtoVerdict::SendNew
            }
            FrtoPhase::SecondAck => {
                // §3.1 step 3: only duplicate ACKs and new cumulative ACKs count.
                if !a.advanced && !a.duplicate {
                    return FrtoVerdict::Wait;
                }
                // §3.1 step 3a: the ACK covers the new data sent after the timeout.
                if a.beyond_recovery_point || a.ack.gt(self.recovery_point) {
                    return FrtoVerdict::Genuine;
                }
                // §3.1 step 3b: data sent before the timeout and never retransmitted was
                // acknowledged: its original transmission arrived, the timeout was spurious.
                if a.original_acked {
                    return FrtoVerdict::Spurious {
                        cwnd: self.prior_cwnd,
                        ssthresh: self.prior_ssthresh,
                    };
                }
                // §3.1 step 3a: a duplicate ACK acknowledging nothing new below
                // RecoveryPoint.
                FrtoVerdict::Genuine
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RP: u32 = 10_001;

    fn episode() -> Frto {
        Frto::on_rto(SeqNum::new(RP), 10_000, u32::MAX)
    }

    fn new_ack(ack: u32) -> FrtoAck {
        FrtoAck {
            ack: SeqNum::new(ack),
            advanced: true,
            duplicate: false,
            original_acked: ack <= RP,
            beyond_recovery_point: ack > RP,
        }
    }

    fn dup_ack(ack: u32) -> FrtoAck {
        FrtoAck {
            ack: SeqNum::new(ack),
            advanced: false,
            duplicate: true,
            original_acked: false,
            beyond_recovery_point: false,
        }
    }

    #[test]
    fn delayed_originals_make_the_timeout_spurious() {
        let mut f = episode();
        assert_eq!(f.on_ack(&new_ack(1001), true), FrtoVerdict::SendNew);
        assert_eq!(f.phase(), FrtoPhase::SecondAck);
        assert_eq!(
            f.on_ack(&new_ack(2001), true),
            FrtoVerdict::Spurious {
                cwnd: 10_000,
                ssthresh: u32::MAX
            }
        );
    }

    #[test]
    fn sack_of_never_retransmitted_data_makes_the_timeout_spurious() {
        let mut f = episode();
        assert_eq!(f.on_ack(&new_ack(1001), true), FrtoVerdict::SendNew);
        let sack = FrtoAck {
            original_acked: true,
            ..dup_ack(1001)
        };
        assert!(matches!(
            f.on_ack(&sack, true),
            FrtoVerdict::Spurious { .. }
        ));
    }

    #[test]
    fn duplicate_ack_after_the_retransmission_means_genuine() {
        let mut f = episode();
        assert_eq!(f.on_ack(&dup_ack(1), true), FrtoVerdict::Genuine);
    }

    #[test]
    fn duplicate_ack_after_new_data_means_genuine() {
        let mut f = episode();
        assert_eq!(f.on_ack(&new_ack(1001), true), FrtoVerdict::SendNew);
        assert_eq!(f.on_ack(&dup_ack(1001), true), FrtoVerdict::Genuine);
    }

    #[test]
    fn ack_of_the_new_data_means_genuine() {
        let mut f = episode();
        assert_eq!(f.on_ack(&new_ack(1001), true), FrtoVerdict::SendNew);
        assert_eq!(f.on_ack(&new_ack(RP + 1000), true), FrtoVerdict::Genuine);
        // SACK of the new data with the cumulative ACK still below RecoveryPoint.
        let mut g = episode();
        assert_eq!(g.on_ack(&new_ack(1001), true), FrtoVerdict::SendNew);
        let sack = FrtoAck {
            original_acked: true,
            beyond_recovery_point: true,
            ..dup_ack(1001)
        };
        assert_eq!(g.on_ack(&sack, true), FrtoVerdict::Genuine);
    }

    #[test]
    fn first_ack_covering_the_whole_window_means_conventional_recovery() {
        let mut f = episode();
        assert_eq!(f.on_ack(&new_ack(RP), true), FrtoVerdict::Genuine);
    }

    #[test]
    fn nothing_new_to_send_means_conventional_recovery() {
        let mut f = episode();
        assert_eq!(f.on_ack(&new_ack(1001), false), FrtoVerdict::Genuine);
    }

    #[test]
    fn other_acks_are_ignored() {
        let window_update = FrtoAck {
            duplicate: false,
            ..dup_ack(1)
        };
        let mut f = episode();
        assert_eq!(f.on_ack(&window_update, true), FrtoVerdict::Wait);
        assert_eq!(f.phase(), FrtoPhase::FirstAck);
        assert_eq!(f.on_ack(&new_ack(1001), true), FrtoVerdict::SendNew);
        let window_update = FrtoAck {
            duplicate: false,
            ..dup_ack(1001)
        };
        assert_eq!(f.on_ack(&window_update, true), FrtoVerdict::Wait);
        assert_eq!(f.phase(), FrtoPhase::SecondAck);
        assert!(matches!(
            f.on_ack(&new_ack(3001), true),
            FrtoVerdict::Spurious { .. }
        ));
    }

    #[test]
    fn recovery_point_is_snd_max_at_the_timeout() {
        let f = episode();
        assert_eq!(f.recovery_point(), SeqNum::new(RP));
        assert_eq!(f.phase(), FrtoPhase::FirstAck);
    }
}
