//! Round-trip time estimation and the retransmission timeout: RFC 6298's SRTT and RTO as
//! Linux computes them (`tcp_rtt_estimator`, `__tcp_set_rto`), and the minimum RTT
//! (`tcp_update_rtt_min`).

use crate::seq::SeqNum;
use crate::time::{Duration, Instant, duration_micros};

/// A segment being timed without timestamps (Karn's algorithm, RFC 6298 §3): where it
/// ends and when it was sent. Packed to 12 bytes (align 4), as it sits among the
/// connection's 4-byte fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(4))]
pub(crate) struct TimedSegment {
    /// The sequence number just past the segment: an ACK at or beyond it times it.
    pub(crate) end: SeqNum,
    /// When it was sent.
    pub(crate) sent: Instant,
}

/// How long a minimum RTT sample stays valid (Linux's `tcp_min_rtt_wlen`, 300 s).
const MIN_RTT_WINDOW: Duration = Duration::from_secs(300);

/// The SRTT/RTTVAR estimator of Linux's `tcp_rtt_estimator` (RFC 6298 §2 with Linux's
/// refinements): SRTT = 7/8 SRTT + 1/8 R; the mean deviation `mdev` moves by 1/4 of the
/// error, but by only 1/32 when the RTT falls (so a falling RTT does not inflate the RTO);
/// RTTVAR follows the largest `mdev` of each round trip, never below the minimum RTO, and
/// decays by a quarter of its excess once per round trip. RTO = SRTT + RTTVAR, so with a
/// steady RTT it settles at SRTT + the minimum RTO (RFC 6298's G); the first sample gives
/// RTO = 3·R (at least R + the minimum), never below the minimum (RFC 6298 §2.4); the
/// connection caps it, with its backoff, at the maximum (§2.5).
/// The fields are `u32` microseconds as in Linux's `tcp_sock` (`srtt_us`, `mdev_us`,
/// `rttvar_us`): a sample is taken as at most `MAX_SAMPLE_US` (about 536 s, so SRTT ×8
/// fits), and the configured RTO bounds saturate at about 71 minutes.
#[derive(Debug, Clone)]
pub(crate) struct RttEstimator {
    /// SRTT ×8 in µs (Linux's `srtt_us`); 0 before the first sample.
    srtt8_us: u32,
    /// Mean deviation ×4 in µs (Linux's `mdev_us`).
    mdev4_us: u32,
    /// Largest `mdev` (×4) of the current round trip, at least the minimum RTO.
    mdev_max_us: u32,
    /// RTTVAR as Linux keeps it (×4 deviation, at least the minimum RTO).
    rttvar_us: u32,
    /// The round trip ends when SND.UNA passes this.
    rtt_seq: SeqNum,
    /// The RTO, at least the minimum. The maximum (`Config::max_rto`) applies where it
    /// is used, with the backoff (`Connection::current_rto`).
    rto_us: u32,
    min_us: u32,
    /// The windowed minimum RTT in µs (0: none yet) and when it was measured.
    min_rtt_us: u32,
    min_rtt_at: Instant,
}

/// The largest RTT sample taken, in µs: SRTT ×8 must fit in 32 bits.
const MAX_SAMPLE_US: u64 = (u32::MAX / 8) as u64;

/// `d` in µs, saturated to 32 bits.
fn micros32(d: Duration) -> u32 {
    u32::try_from(duration_micros(d)).unwrap_or(u32::MAX)
}

/// `v` saturated to 32 bits.
fn sat32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl RttEstimator {
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        let min_us = micros32(min);
        let max_us = micros32(max).max(min_us);
        RttEstimator {
            srtt8_us: 0,
            mdev4_us: 0,
            mdev_max_us: 0,
            rttvar_us: 0,
            rtt_seq: SeqNum::new(0),
            rto_us: micros32(initial).clamp(min_us, max_us),
            min_us,
            min_rtt_us: 0,
            min_rtt_at: Instant::ZERO,
        }
    }

    /// Feeds one RTT measurement taken at `now`, with SND.UNA and SND.NXT after the ACK
    /// that produced it (they delimit Linux's once-per-round-trip RTTVAR update).
    pub(crate) fn sample(&mut self, rtt: Duration, now: Instant, snd_una: SeqNum, snd_nxt: SeqNum) {
        let r = duration_micros(rtt).clamp(1, MAX_SAMPLE_US);
        self.update_min(r as u32, now);
        let min_us = u64::from(self.min_us);
        let mut rttvar = u64::from(self.rttvar_us);
        let srtt8 = if self.srtt8_us == 0 {
            // "Make sure rto = 3*rtt."
            let mdev4 = 2 * r;
            rttvar = mdev4.max(min_us);
            self.mdev4_us = sat32(mdev4);
            self.mdev_max_us = sat32(rttvar);
            self.rtt_seq = snd_nxt;
            r * 8
        } else {
            // Linux in fixed point: srtt8 += m - srtt8/8; mdev4 += |m| - mdev4/4
            // (|m| / 8 when the RTT fell).
            let srtt8 = i64::from(self.srtt8_us);
            let mut m = r as i64 - srtt8 / 8;
            let new_srtt8 = (srtt8 + m).max(1);
            let mdev4 = i64::from(self.mdev4_us);
            if m < 0 {
                m = -m - mdev4 / 4;
                if m > 0 {
                    m >>= 3;
                }
            } else {
                m -= mdev4 / 4;
            }
            let mdev4 = (mdev4 + m).max(0) as u64;
            self.mdev4_us = sat32(mdev4);
            let mut mdev_max = u64::from(self.mdev_max_us);
            if mdev4 > mdev_max {
                mdev_max = mdev4;
                rttvar = rttvar.max(mdev_max);
            }
            if snd_una.gt(self.rtt_seq) {
                if mdev_max < rttvar {
                    rttvar -= (rttvar - mdev_max) / 4;
                }
                self.rtt_seq = snd_nxt;
                mdev_max = min_us;
            }
            self.mdev_max_us = sat32(mdev_max);
            new_srtt8 as u64
        };
        self.srtt8_us = sat32(srtt8);
        self.rttvar_us = sat32(rttvar);
        self.rto_us = sat32((srtt8 / 8).saturating_add(rttvar)).max(self.min_us);
    }

    /// `tcp_update_rtt_min`: the smallest RTT of the last 300 s.
    fn update_min(&mut self, r: u32, now: Instant) {
        if self.min_rtt_us == 0
            || r <= self.min_rtt_us
            || now.saturating_duration_since(self.min_rtt_at) > MIN_RTT_WINDOW
        {
            self.min_rtt_us = r;
            self.min_rtt_at = now;
        }
    }

    /// The smallest RTT measured in the last 300 s (Linux's `tcp_min_rtt`).
    pub(crate) fn min_rtt(&self) -> Option<Duration> {
        (self.min_rtt_us > 0).then(|| Duration::from_micros(u64::from(self.min_rtt_us)))
    }

    /// Sets the RTO to `rto` (clamped) while no sample exists (RFC 6298 §5.7).
    pub(crate) fn fallback(&mut self, rto: Duration) {
        if self.srtt8_us == 0 {
            self.rto_us = micros32(rto).max(self.min_us);
        }
    }

    /// The current RTO, before backoff.
    pub(crate) fn rto(&self) -> Duration {
        Duration::from_micros(u64::from(self.rto_us))
    }

    /// The smoothed RTT, if measured.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        (self.srtt8_us > 0).then(|| Duration::from_micros(u64::from(self.srtt8_us / 8)))
    }

    /// The RTT's mean deviation (Linux's `tcpi_rttvar`: `mdev_us >> 2`).
    pub(crate) fn rttvar(&self) -> Duration {
        Duration::from_micros(u64::from(self.mdev4_us / 4))
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

    /// One sample of `ms` per round trip: SND.UNA reaches `round`·1000.
    fn sample(e: &mut RttEstimator, ms: u64, round: u32) {
        let una = SeqNum::new(round * 1000);
        e.sample(
            Duration::from_millis(ms),
            Instant::from_millis(u64::from(round) * 100),
            una,
            una + 1000,
        );
    }

    #[test]
    fn initial_rto_is_one_second_before_any_sample() {
        assert_eq!(est().rto(), Duration::from_secs(1));
    }

    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        let mut e = est();
        sample(&mut e, 100, 1);
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rttvar(), Duration::from_millis(50));
        // 100 ms + max(200 ms, 4 * 50 ms)
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    #[test]
    fn steady_rtt_converges_to_srtt_plus_the_minimum() {
        let mut e = est();
        for i in 0..100 {
            sample(&mut e, 100, i + 1);
        }
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    /// Linux's numbers, as `tcpi_rtt`/`tcpi_rttvar`/`tcpi_rto` report them: a 100 ms
    /// sample and then a 200 ms one in the next round trip: SRTT 112.5 ms, mdev 62.5 ms,
    /// RTTVAR = max(mdev·4, 200 ms) = 250 ms, RTO 362.5 ms.
    #[test]
    fn a_rising_sample_moves_the_deviation_by_a_quarter() {
        let mut e = est();
        sample(&mut e, 100, 1);
        sample(&mut e, 200, 2);
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.rto(), Duration::from_micros(362_500));
    }

    /// A falling RTT moves the deviation by only 1/8 of what a rising one would
    /// (`tcp_rtt_estimator`), so the RTO does not grow when the RTT drops.
    #[test]
    fn a_falling_sample_barely_moves_the_deviation() {
        let mut e = est();
        sample(&mut e, 200, 1);
        sample(&mut e, 100, 2);
        // m = 100 - 200 = -100; |m| - mdev4/4 = 100 - 100 = 0: mdev stays 100 ms.
        assert_eq!(e.srtt(), Some(Duration::from_micros(187_500)));
        assert_eq!(e.rttvar(), Duration::from_millis(100));
        // RTTVAR (×4: 400 ms) is unchanged within the round trip: RTO = 187.5 + 400 ms.
        assert_eq!(e.rto(), Duration::from_micros(587_500));
        // The next round trip decays RTTVAR towards that round's largest deviation.
        sample(&mut e, 100, 3);
        assert!(e.rto() < Duration::from_micros(587_500));
    }

    #[test]
    fn the_minimum_rtt_is_the_smallest_sample() {
        let mut e = est();
        sample(&mut e, 100, 1);
        sample(&mut e, 50, 2);
        sample(&mut e, 80, 3);
        assert_eq!(e.min_rtt(), Some(Duration::from_millis(50)));
    }
}
