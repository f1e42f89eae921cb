//! Proportional Rate Reduction (RFC 9937, which obsoletes RFC 6937).
//!
//! During a recovery episode PRR decides how many bytes each ACK may release (`sndcnt`), so
//! that the window falls smoothly from the pre-loss flight to `ssthresh` (the proportional
//! part) and, when losses push `pipe` below `ssthresh`, rebuilds it no faster than slow
//! start (PRR-SSRB) or the delivery rate (PRR-CRB). The connection then sets
//! `cwnd = pipe + sndcnt` (RFC 9937 §6) via
//! [`CongestionControl::set_recovery_cwnd`](super::CongestionControl::set_recovery_cwnd).

/// Which form of PRR a connection follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PrrVariant {
    /// Linux's `tcp_cwnd_reduction`, the default: `RecoverFS` is the window before the
    /// reduction (`prior_cwnd`), the slow-start part sends
    /// `max(prr_delivered − prr_out, DeliveredData)` plus one segment on an ACK that
    /// advances SND.UNA and marks nothing newly lost, and an ACK that delivers nothing
    /// leaves the window as it is.
    #[default]
    Linux,
    /// RFC 9937 §6 to the letter: `RecoverFS` is the flight minus what was SACKed,
    /// PRR-CRB on ACKs that are not safe, and an ACK that delivers nothing sets the window
    /// to `pipe`.
    Rfc9937,
}

/// PRR state for one recovery episode (RFC 9937 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prr {
    /// `ssthresh` chosen by the congestion controller at the start of recovery.
    ssthresh: u32,
    /// `RecoverFS`: the flight at the start of recovery, excluding bytes already SACKed.
    recover_fs: u32,
    /// `prr_delivered`: bytes delivered to the receiver since recovery started.
    prr_delivered: u64,
    /// `prr_out`: bytes sent (new data and retransmissions) since recovery started.
    prr_out: u64,
    smss: u32,
    variant: PrrVariant,
}

impl Prr {
    /// Starts an episode (RFC 9937 §6 "on entering recovery"): `ssthresh` from the
    /// controller, `RecoverFS = (SND.NXT − SND.UNA) − sacked` where `flight` is
    /// `SND.NXT − SND.UNA` and `sacked` the bytes SACKed before recovery began;
    /// `prr_delivered = prr_out = 0`.
    pub fn new(ssthresh: u32, flight: u32, sacked: u32, smss: u32) -> Self {
        Prr {
            ssthresh,
            recover_fs: flight.saturating_sub(sacked).max(1),
            prr_delivered: 0,
            prr_out: 0,
            smss: smss.max(1),
            variant: PrrVariant::Rfc9937,
        }
    }

    /// Starts an episode as Linux's `tcp_init_cwnd_reduction`: `RecoverFS` is
    /// `prior_cwnd`, the congestion window before the controller reduced it.
    pub fn linux(ssthresh: u32, prior_cwnd: u32, smss: u32) -> Self {
        Prr {
            recover_fs: prior_cwnd.max(1),
            variant: PrrVariant::Linux,
            ..Self::new(ssthresh, 1, 0, smss)
        }
    }

    /// Starts an episode of the given variant: `flight` and `sacked` as in
    /// [`Prr::new`], `prior_cwnd` as in [`Prr::linux`].
    pub fn start(
        variant: PrrVariant,
        ssthresh: u32,
        prior_cwnd: u32,
        flight: u32,
        sacked: u32,
        smss: u32,
    ) -> Self {
        match variant {
            PrrVariant::Linux => Self::linux(ssthresh, prior_cwnd, smss),
            PrrVariant::Rfc9937 => Self::new(ssthresh, flight, sacked, smss),
        }
    }

    /// `RecoverFS`.
    #[cfg(test)]
    pub fn recover_fs(&self) -> u32 {
        self.recover_fs
    }

    /// `prr_delivered`.
    #[cfg(test)]
    pub fn prr_delivered(&self) -> u64 {
        self.prr_delivered
    }

    /// The sender transmitted `bytes` (new data or retransmission) during recovery
    /// (RFC 9937 §6 "on any data transmission or retransmission": `prr_out += data_sent`).
    pub fn on_transmit(&mut self, bytes: u32) {
        self.prr_out = self.prr_out.saturating_add(u64::from(bytes));
    }

    /// Processes one ACK during recovery (RFC 9937 §6 "on every ACK") and returns
    /// `sndcnt`, the bytes this ACK allows to be sent; the window is `pipe + sndcnt`.
    ///
    /// - `delivered`: `DeliveredData` = bytes newly cumulatively ACKed + newly SACKed.
    /// - `pipe`: RFC 6675 pipe after processing the ACK.
    /// - `snd_una_advanced`, `new_loss`: an ACK is "safe" for PRR-SSRB when it advances
    ///   SND.UNA and indicates no further loss (RFC 9937 §6); otherwise PRR-CRB applies.
    ///
    /// `None` (Linux's variant only): the ACK delivered nothing and the window stays as
    /// it is.
    pub fn on_ack(
        &mut self,
        delivered: u32,
        pipe: u32,
        snd_una_advanced: bool,
        new_loss: bool,
    ) -> Option<u32> {
        if self.variant == PrrVariant::Linux {
            return self.on_ack_linux(delivered, pipe, snd_una_advanced && !new_loss);
        }
        Some(self.on_ack_rfc(delivered, pipe, snd_una_advanced, new_loss))
    }

    /// Linux's `tcp_cwnd_reduction`, in bytes rounded to whole segments as Linux counts
    /// packets.
    fn on_ack_linux(&mut self, delivered: u32, pipe: u32, safe: bool) -> Option<u32> {
        if delivered == 0 {
            return None;
        }
        self.prr_delivered = self.prr_delivered.saturating_add(u64::from(delivered));
        let smss = u64::from(self.smss);
        let ssthresh = u64::from(self.ssthresh);
        let pipe = u64::from(pipe);
        let sndcnt = if pipe > ssthresh {
            // DIV_ROUND_UP(ssthresh · prr_delivered, prior_cwnd) − prr_out, in segments.
            let target = (u128::from(self.prr_delivered) * u128::from(ssthresh))
                .div_ceil(u128::from(self.recover_fs))
                .div_ceil(u128::from(smss))
                * u128::from(smss);
            u64::try_from(target)
                .unwrap_or(u64::MAX)
                .saturating_sub(self.prr_out)
        } else {
            let mut n = self
                .prr_delivered
                .saturating_sub(self.prr_out)
                .max(u64::from(delivered));
            if safe {
                n = n.saturating_add(smss);
            }
            n.min(ssthresh - pipe)
        };
        let mut sndcnt = u32::try_from(sndcnt).unwrap_or(u32::MAX);
        // "Force a fast retransmit upon entering fast recovery".
        if self.prr_out == 0 {
            sndcnt = sndcnt.max(self.smss);
        }
        Some(sndcnt)
    }

    /// RFC 9937 §6 "on every ACK".
    fn on_ack_rfc(
        &mut self,
        delivered: u32,
        pipe: u32,
        snd_una_advanced: bool,
        new_loss: bool,
    ) -> u32 {
        let first = self.prr_out == 0 && self.prr_delivered == 0;
        if delivered == 0 && !first {
            // RFC 9937 §6: an ACK that delivers nothing releases nothing.
            return 0;
        }
        self.prr_delivered = self.prr_delivered.saturating_add(u64::from(delivered));
        let ssthresh = u64::from(self.ssthresh);
        let pipe64 = u64::from(pipe);
        let sndcnt: u64 = if pipe64 > ssthresh {
            // Proportional rate reduction:
            // sndcnt = CEIL(prr_delivered · ssthresh / RecoverFS) − prr_out
            let rfs = u64::from(self.recover_fs);
            let smss = u128::from(self.smss);
            // Rounded up to whole segments, as Linux's packet-granular
            // tcp_cwnd_reduction() (DIV_ROUND_UP on packet counts).
            let target = (u128::from(self.prr_delivered) * u128::from(ssthresh))
                .div_ceil(u128::from(rfs))
                .div_ceil(smss)
                * smss;
            u64::try_from(target)
                .unwrap_or(u64::MAX)
                .saturating_sub(self.prr_out)
        } else {
            // PRR-CRB, or PRR-SSRB on a safe ACK.
            let crb = self.prr_delivered.saturating_sub(self.prr_out);
            let limit = if snd_una_advanced && !new_loss {
                crb.max(u64::from(delivered))
                    .saturating_add(u64::from(self.smss))
            } else {
                crb
            };
            (ssthresh - pipe64).min(limit)
        };
        let mut sndcnt = u32::try_from(sndcnt).unwrap_or(u32::MAX);
        if self.prr_out == 0 && sndcnt < self.smss {
            // RFC 9937 §6: force the fast retransmit on entering recovery (a whole segment:
            // "if prr_out is 0 and sndcnt is 0, sndcnt = SMSS", read byte-granularly).
            sndcnt = self.smss;
        }
        sndcnt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    const MSS: u32 = 1000;

    proptest! {
        /// Any inputs: no panic; sndcnt never exceeds what keeps pipe + sndcnt within
        /// max(ssthresh, pipe) + one forced segment (the window never grows past ssthresh
        /// except for the forced fast retransmit and SSRB's extra SMSS below it).
        #[test]
        fn sndcnt_is_bounded(
            ssthresh in 0u32..10_000_000,
            flight in any::<u32>(),
            sacked in any::<u32>(),
            smss in 1u32..65_536,
            acks in proptest::collection::vec((any::<u32>(), 0u32..10_000_000, any::<bool>(), any::<bool>(), 0u32..100_000), 1..100),
        ) {
            let mut prr = Prr::new(ssthresh, flight, sacked, smss);
            for (delivered, pipe, adv, loss, sent) in acks {
                let s = prr.on_ack(delivered, pipe, adv, loss).unwrap();
                if pipe <= ssthresh {
                    prop_assert!(u64::from(s) <= u64::from(ssthresh - pipe).max(u64::from(smss)));
                }
                prr.on_transmit(sent);
            }
        }
    }

    /// RFC 9937 / RFC 6937 example: 20 segments in flight, the first lost, one SACK per
    /// ACK; Reno halves (ssthresh = 10). PRR sends one segment every other ACK while pipe is
    /// above ssthresh, ending with a flight of ssthresh.
    #[test]
    fn proportional_part_sends_every_other_ack_for_reno() {
        let mut prr = Prr::new(10 * MSS, 20 * MSS, 0, MSS);
        let mut sent = 0u32;
        let mut pattern = alloc::vec::Vec::new();
        for k in 1..=19u32 {
            // pipe = 20 outstanding − k SACKed − 1 lost + segments sent in recovery
            let pipe = (20 - k - 1) * MSS + sent * MSS;
            let s = prr.on_ack(MSS, pipe, false, false).unwrap();
            let segs = s / MSS;
            pattern.push(segs);
            prr.on_transmit(segs * MSS);
            sent += segs;
        }
        assert_eq!(&pattern[..10], &[1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
        // After all 19 SACKs, 10 segments (the retransmission + 9 new) were sent.
        assert_eq!(sent, 10);
        assert_eq!(prr.prr_delivered(), 19 * u64::from(MSS));
    }

    #[test]
    fn cubic_beta_sends_seven_per_ten() {
        let mut prr = Prr::new(14 * MSS, 20 * MSS, 0, MSS);
        let mut sent = 0;
        for k in 1..=10u32 {
            let pipe = (20 - k - 1) * MSS + sent;
            let s = prr.on_ack(MSS, pipe, false, false).unwrap();
            prr.on_transmit(s);
            sent += s;
        }
        // CEIL(10 · 14 / 20) = 7 segments after 10 delivered.
        assert_eq!(sent, 7 * MSS);
    }

    #[test]
    fn crb_and_ssrb_below_ssthresh() {
        // Heavy loss: pipe fell to 2 segments, ssthresh 10.
        let mut prr = Prr::new(10 * MSS, 20 * MSS, 0, MSS);
        prr.on_transmit(MSS);
        // CRB: limited to prr_delivered − prr_out = 3 − 1 = 2 segments.
        assert_eq!(prr.on_ack(3 * MSS, 2 * MSS, false, true).unwrap(), 2 * MSS);
        prr.on_transmit(2 * MSS);
        // SSRB on a safe ACK: max(prr_delivered − prr_out, delivered) + MSS
        // = max(4 − 3, 1) + 1 = 2 segments (slow-start-like growth).
        assert_eq!(prr.on_ack(MSS, 2 * MSS, true, false).unwrap(), 2 * MSS);
        prr.on_transmit(2 * MSS);
        // Never beyond ssthresh − pipe.
        assert_eq!(prr.on_ack(5 * MSS, 9 * MSS, true, false).unwrap(), MSS);
    }

    #[test]
    fn no_delivery_no_send_and_forced_first_retransmit() {
        let mut prr = Prr::new(10 * MSS, 20 * MSS, 0, MSS);
        // The ACK that starts recovery releases at least the fast retransmit.
        assert_eq!(prr.on_ack(0, 19 * MSS, false, true).unwrap(), MSS);
        prr.on_transmit(MSS);
        assert_eq!(prr.on_ack(0, 19 * MSS, false, false).unwrap(), 0);
    }

    #[test]
    fn recover_fs_excludes_sacked_and_is_never_zero() {
        assert_eq!(Prr::new(10, 20 * MSS, 3 * MSS, MSS).recover_fs(), 17 * MSS);
        assert_eq!(Prr::new(10, 0, 3 * MSS, MSS).recover_fs(), 1);
    }
}
