//! Round-trip time estimation and the retransmission timeout (RFC 6298).

use crate::time::{Duration, duration_micros};

/// SRTT/RTTVAR estimator. RTO = SRTT + max(G, 4·RTTVAR) (RFC 6298 §2.3) with G set to the
/// minimum RTO, which is how Linux keeps its RTO at least `tcp_rto_min` above the smoothed
/// RTT; the result is clamped to [min, max] (RFC 6298 §2.4, §2.5).
#[derive(Debug, Clone)]
pub(crate) struct RttEstimator {
    srtt_us: Option<u64>,
    rttvar_us: u64,
    rto_us: u64,
    min_us: u64,
    max_us: u64,
}

impl RttEstimator {
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        let min_us = duration_micros(min);
        let max_us = duration_micros(max).max(min_us);
        RttEstimator {
            srtt_us: None,
            rttvar_us: 0,
            rto_us: duration_micros(initial).clamp(min_us, max_us),
            min_us,
            max_us,
        }
    }

    /// Feeds one RTT measurement (RFC 6298 §2.2, §2.3).
    pub(crate) fn sample(&mut self, rtt: Duration) {
        let r = duration_micros(rtt).max(1);
        match self.srtt_us {
            None => {
                self.srtt_us = Some(r);
                self.rttvar_us = r / 2;
            }
            Some(srtt) => {
                // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'| ; SRTT <- 7/8 SRTT + 1/8 R'
                self.rttvar_us = (3 * self.rttvar_us + srtt.abs_diff(r)) / 4;
                self.srtt_us = Some((7 * srtt + r) / 8);
            }
        }
        let srtt = self.srtt_us.unwrap_or(r);
        let rto = srtt.saturating_add(self.min_us.max(4 * self.rttvar_us));
        self.rto_us = rto.clamp(self.min_us, self.max_us);
    }

    /// Sets the RTO to `rto` (clamped) while no sample exists (RFC 6298 §5.7).
    pub(crate) fn fallback(&mut self, rto: Duration) {
        if self.srtt_us.is_none() {
            self.rto_us = duration_micros(rto).clamp(self.min_us, self.max_us);
        }
    }

    /// The current RTO, before backoff.
    pub(crate) fn rto(&self) -> Duration {
        Duration::from_micros(self.rto_us)
    }

    /// The smoothed RTT, if measured.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt_us.map(Duration::from_micros)
    }

    /// The RTT variation.
    pub(crate) fn rttvar(&self) -> Duration {
        Duration::from_micros(self.rttvar_us)
    }

    /// The largest RTO allowed.
    pub(crate) fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est() -> RttEstimator {
        RttEstimator::new(
            Duration::from_secs(1),
            Duration::from_millis(200),
            Duration::from_secs(120),
        )
    }

    #[test]
    fn initial_rto_is_one_second_before_any_sample() {
        assert_eq!(est().rto(), Duration::from_secs(1));
    }

    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        let mut e = est();
        e.sample(Duration::from_millis(100));
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rttvar(), Duration::from_millis(50));
        // 100 ms + max(200 ms, 4 * 50 ms)
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    #[test]
    fn steady_rtt_converges_to_srtt_plus_the_minimum() {
        let mut e = est();
        for _ in 0..100 {
            e.sample(Duration::from_millis(100));
        }
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    #[test]
    fn rto_is_clamped_to_the_maximum() {
        let mut e = est();
        e.sample(Duration::from_secs(500));
        assert_eq!(e.rto(), Duration::from_secs(120));
    }
}
