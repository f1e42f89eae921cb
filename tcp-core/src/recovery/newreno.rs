//! NewReno congestion control: slow start and congestion avoidance (RFC 5681 §3.1) with the
//! window arithmetic of NewReno fast recovery (RFC 6582 §3.2).

use super::CongestionControl;
use crate::time::{Duration, Instant};

/// The NewReno controller.
#[derive(Debug, Clone)]
pub struct NewReno {
    cwnd: u32,
    ssthresh: u32,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 §3.1,
    /// "appropriate byte counting" form of the per-RTT increase).
    ca_acked: u32,
}

impl NewReno {
    /// A controller with an initial window of `initial_window` segments (RFC 6928) and an
    /// arbitrarily high initial ssthresh (RFC 5681 §3.1).
    pub fn new(initial_window: u32, smss: u32) -> Self {
        NewReno {
            cwnd: initial_window.max(1).saturating_mul(smss),
            ssthresh: u32::MAX,
            ca_acked: 0,
        }
    }

    fn loss_ssthresh(in_flight: u32, smss: u32) -> u32 {
        // RFC 5681 §3.1 equation (4): ssthresh = max(FlightSize / 2, 2*SMSS)
        (in_flight / 2).max(2 * smss)
    }
}

impl CongestionControl for NewReno {
    fn cwnd(&self) -> u32 {
        self.cwnd
    }

    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    fn on_ack(&mut self, _now: Instant, acked: u32, smss: u32, _rtt: Option<Duration>) {
        if self.cwnd < self.ssthresh {
            // Slow start with appropriate byte counting (RFC 3465 §2.2) and no per-ACK
            // limit, as Linux's tcp_slow_start: cwnd grows by everything newly
            // acknowledged (a stretch ACK for 10 segments opens 10 more), up to ssthresh.
            let _ = smss;
            self.cwnd = self
                .cwnd
                .saturating_add(acked)
                .min(self.ssthresh.max(self.cwnd));
        } else {
            // Congestion avoidance: about one SMSS per RTT (RFC 5681 §3.1, equation 3).
            self.ca_acked = self.ca_acked.saturating_add(acked);
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(smss);
            }
        }
    }

    fn on_recovery_start(&mut self, _now: Instant, in_flight: u32, smss: u32) {
        // RFC 6582 §3.2 step 2-3: ssthresh per equation (4), cwnd = ssthresh + 3*SMSS.
        self.ssthresh = Self::loss_ssthresh(in_flight, smss);
        self.cwnd = self.ssthresh.saturating_add(3 * smss);
        self.ca_acked = 0;
    }

    fn on_recovery_dupack(&mut self, smss: u32) {
        // RFC 6582 §3.2 step 4: inflate by one SMSS per additional duplicate ACK.
        self.cwnd = self.cwnd.saturating_add(smss);
    }

    fn on_partial_ack(&mut self, acked: u32, smss: u32) {
        // RFC 6582 §3.2 step 5: deflate by the amount acknowledged, add back one SMSS if at
        // least one SMSS was acknowledged.
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= smss {
            self.cwnd = self.cwnd.saturating_add(smss);
        }
        self.cwnd = self.cwnd.max(smss);
    }

    fn on_recovery_end(&mut self, _now: Instant, in_flight: u32, smss: u32) {
        // RFC 6582 §3.2 step 6, option 1: cwnd = min(ssthresh, FlightSize + SMSS).
        self.cwnd = self.ssthresh.min(in_flight.saturating_add(smss)).max(smss);
    }

    fn on_rto(&mut self, _now: Instant, in_flight: u32, smss: u32) {
        // RFC 5681 §3.1: ssthresh per equation (4); cwnd = loss window = 1 SMSS.
        self.ssthresh = Self::loss_ssthresh(in_flight, smss);
        self.cwnd = smss;
        self.ca_acked = 0;
    }

    fn set_recovery_cwnd(&mut self, cwnd: u32) {
        // RFC 9937 §6: during PRR-governed recovery, cwnd = pipe + sndcnt.
        self.cwnd = cwnd;
    }

    fn on_idle_restart(&mut self, idle: Duration, rto: Duration, initial_window: u32, smss: u32) {
        let smss = smss.max(1);
        let (pkts, floor) = super::restart_window(self.cwnd / smss, initial_window, idle, rto);
        self.ssthresh = self.ssthresh.max(floor.saturating_mul(smss));
        self.cwnd = pkts.saturating_mul(smss);
    }

    fn on_spurious_congestion_undo(&mut self, prior_cwnd: u32, prior_ssthresh: u32) {
        // RFC 3708 §3 / Linux tcp_undo_cwnd_reduction: restore the pre-response state.
        self.cwnd = self.cwnd.max(prior_cwnd);
        self.ssthresh = self.ssthresh.max(prior_ssthresh);
        self.ca_acked = 0;
    }

    fn name(&self) -> &'static str {
        "reno"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    #[test]
    fn initial_window_is_ten_segments() {
        assert_eq!(NewReno::new(10, MSS).cwnd(), 10 * MSS);
    }

    #[test]
    fn slow_start_grows_by_the_bytes_acknowledged_like_linux() {
        let mut c = NewReno::new(10, MSS);
        c.on_ack(Instant::ZERO, 3 * MSS, MSS, None);
        assert_eq!(c.cwnd(), 13 * MSS);
        // ...but not beyond ssthresh.
        c.on_rto(Instant::ZERO, 30 * MSS, MSS);
        c.on_ack(Instant::ZERO, 20 * MSS, MSS, None);
        assert_eq!(c.cwnd(), 15 * MSS);
    }

    #[test]
    fn congestion_avoidance_adds_one_smss_per_window_acknowledged() {
        let mut c = NewReno::new(10, MSS);
        c.on_rto(Instant::ZERO, 20 * MSS, MSS);
        assert_eq!(c.ssthresh(), 10 * MSS);
        assert_eq!(c.cwnd(), MSS);
        for _ in 0..9 {
            c.on_ack(Instant::ZERO, MSS, MSS, None);
        }
        assert_eq!(c.cwnd(), 10 * MSS, "slow start up to ssthresh");
        for _ in 0..10 {
            c.on_ack(Instant::ZERO, MSS, MSS, None);
        }
        assert_eq!(c.cwnd(), 11 * MSS);
    }

    #[test]
    fn fast_recovery_halves_inflates_and_deflates() {
        let mut c = NewReno::new(10, MSS);
        c.on_recovery_start(Instant::ZERO, 10 * MSS, MSS);
        assert_eq!(c.ssthresh(), 5 * MSS);
        assert_eq!(c.cwnd(), 8 * MSS);
        c.on_recovery_dupack(MSS);
        assert_eq!(c.cwnd(), 9 * MSS);
        c.on_partial_ack(2 * MSS, MSS);
        assert_eq!(c.cwnd(), 8 * MSS);
        c.on_recovery_end(Instant::ZERO, 2 * MSS, MSS);
        assert_eq!(c.cwnd(), 3 * MSS);
    }

    #[test]
    fn undo_restores_prior_window() {
        let mut c = NewReno::new(10, MSS);
        let (w, s) = (c.cwnd(), c.ssthresh());
        c.on_rto(Instant::ZERO, 10 * MSS, MSS);
        c.on_spurious_congestion_undo(w, s);
        assert_eq!((c.cwnd(), c.ssthresh()), (w, s));
        c.set_recovery_cwnd(4 * MSS);
        assert_eq!(c.cwnd(), 4 * MSS);
    }
}
