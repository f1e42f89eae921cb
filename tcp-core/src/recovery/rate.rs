//! Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02, Linux's
//! `tcp_rate.c`), usable by any congestion controller.
//!
//! The sender counts the bytes delivered over the connection's life (`C.delivered`) and
//! stamps every transmission with that count, the time it was last advanced and the
//! start of the current send flight ([`TxStamp`], kept in the scoreboard's segment record
//! so it costs no allocation of its own). When an ACK delivers segments, the stamp of the
//! most recently sent one gives the interval over which the bytes delivered since were
//! sent and acknowledged; the rate is those bytes over the longer of the two intervals
//! (draft §3.3). Intervals shorter than the minimum RTT are refused (§3.3, as Linux),
//! and samples taken while the application left the pipe unfilled carry
//! `is_app_limited` (§3.4) so a controller can ignore their low rates.
//!
//! Beside the draft's fields each stamp holds the two BBRv3 needs (draft-ietf-ccwg-bbr
//! §4.5.10.2 `tx_in_flight` and `lost`): the bytes in flight when the segment left and
//! the connection's lost-byte count then, so a sample reports the loss that happened
//! while its segment was in flight.

use crate::time::{Duration, Instant};

/// The delivery-rate state stamped on each transmission (draft §3.2 "Transmitting a
/// data packet": `P.delivered`, `P.delivered_time`, `P.first_sent_time`,
/// `P.is_app_limited`). Compact: counters as their low 32 bits (differences within one
/// flight never reach 4 GiB) and times as microseconds before the transmission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxStamp {
    /// `C.delivered` at send (low 32 bits).
    delivered: u32,
    /// `C.lost` at send (low 32 bits).
    lost: u32,
    /// Bytes in flight when it left, itself included.
    tx_in_flight: u32,
    /// Microseconds from `C.delivered_time` to the transmission (saturating).
    delivered_age: u32,
    /// Microseconds from `C.first_sent_time` to the transmission (saturating).
    first_sent_age: u32,
    /// The connection was application-limited when it left.
    app_limited: bool,
}

/// One rate sample, generated for every ACK (draft §3.3 "Upon receiving ACK"), with what
/// else a model-based controller needs about the ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateSample {
    /// Bytes delivered over [`RateSample::interval`] (`rs.delivered`); 0 when the ACK
    /// delivered nothing.
    pub delivered: u64,
    /// The longer of the send and ACK intervals of the sample (`rs.interval`).
    pub interval: Duration,
    /// `delivered / interval` in bytes per second, or `None` when the ACK delivered
    /// nothing or the interval was shorter than the minimum RTT (draft §3.3).
    pub delivery_rate: Option<u64>,
    /// The sample's data was sent while the application did not fill the pipe (§3.4).
    pub is_app_limited: bool,
    /// Bytes in flight when the most recently sent of the delivered segments left
    /// (BBRv3's `rs.tx_in_flight`).
    pub tx_in_flight: u32,
    /// Bytes marked lost between that segment's transmission and this ACK (BBRv3's
    /// `rs.lost`).
    pub lost: u64,
    /// `C.delivered` when the sampled segment was sent (`rs.prior_delivered`): BBR's
    /// round-trip counter (draft-ietf-ccwg-bbr §4.5.1) compares it with the delivered
    /// count at a round's start.
    pub prior_delivered: u64,
    /// `C.delivered` after this ACK.
    pub total_delivered: u64,
    /// The time the ACK was processed.
    pub now: Instant,
    /// The RTT sample of this ACK, if any.
    pub rtt: Option<Duration>,
    /// Bytes this ACK delivered for the first time, cumulatively or selectively
    /// (`rs.newly_acked`, RFC 6937's DeliveredData): data SACKed earlier counts when it
    /// was SACKed, not again when the cumulative ACK covers it.
    pub newly_acked: u32,
    /// Bytes this ACK's processing marked lost (`rs.newly_lost`).
    pub newly_lost: u32,
    /// Bytes in flight (RFC 6675 pipe) before this ACK (`rs.prior_in_flight`).
    pub prior_in_flight: u32,
    /// Bytes in flight after this ACK and its loss marking.
    pub in_flight: u32,
    /// The congestion window limited the sender (`C.is_cwnd_limited`).
    pub is_cwnd_limited: bool,
    /// The connection is in fast recovery or retransmitting after a timeout.
    pub in_recovery: bool,
}

impl Default for RateSample {
    fn default() -> Self {
        RateSample {
            delivered: 0,
            interval: Duration::ZERO,
            delivery_rate: None,
            is_app_limited: false,
            tx_in_flight: 0,
            lost: 0,
            prior_delivered: 0,
            total_delivered: 0,
            now: Instant::ZERO,
            rtt: None,
            newly_acked: 0,
            newly_lost: 0,
            prior_in_flight: 0,
            in_flight: 0,
            is_cwnd_limited: false,
            in_recovery: false,
        }
    }
}

/// The connection's delivery-rate state (the draft's `C.*` variables) and the
/// sample being gathered for the current ACK.
#[derive(Clone, Debug)]
pub(crate) struct RateEstimator {
    delivered: u64,
    delivered_time: Instant,
    first_sent_time: Instant,
    lost: u64,
    /// `C.app_limited`: 0, or the delivered count after which samples are no longer
    /// application-limited.
    app_limited: u64,
    /// The newest delivered segment of the current ACK: its stamp, transmit time and
    /// order.
    newest: Option<(TxStamp, Instant, u64)>,
    /// The last valid sample: bytes delivered, its interval in microseconds (non-zero)
    /// and whether it was app-limited (Linux's `tcpi_delivery_rate`,
    /// `tcpi_delivery_rate_app_limited`); the rate is divided out when asked for.
    last: Option<(u64, u64, bool)>,
}

/// What the estimator carries over an idle period, when nothing is in flight and no
/// ACK is being processed ([`RateEstimator::rest`]): its totals and the last sample.
/// The flight's clocks are not kept: the next transmission starts a new flight and
/// restarts them (draft §3.2).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateRest {
    delivered: u64,
    lost: u64,
    app_limited: u64,
    last: Option<(u64, u64, bool)>,
}

impl RateRest {
    /// [`RateEstimator::mark_app_limited`] with nothing in flight.
    pub(crate) fn mark_app_limited(&mut self) {
        self.app_limited = self.delivered.max(1);
    }

    /// [`RateEstimator::last_rate`].
    pub(crate) fn last_rate(&self) -> Option<(u64, bool)> {
        self.last
            .map(|(delivered, us, app_limited)| (rate(delivered, us), app_limited))
    }
}

fn age(later: Instant, earlier: Instant) -> u32 {
    u32::try_from(later.as_micros().saturating_sub(earlier.as_micros())).unwrap_or(u32::MAX)
}

impl RateEstimator {
    pub(crate) fn new() -> Self {
        RateEstimator {
            delivered: 0,
            delivered_time: Instant::ZERO,
            first_sent_time: Instant::ZERO,
            lost: 0,
            app_limited: 0,
            newest: None,
            last: None,
        }
    }

    /// The state to carry over an idle period, if no ACK's sample is being gathered
    /// (the next transmission restarts the clocks, so they are not kept).
    pub(crate) fn rest(&self) -> Option<RateRest> {
        self.newest.is_none().then_some(RateRest {
            delivered: self.delivered,
            lost: self.lost,
            app_limited: self.app_limited,
            last: self.last,
        })
    }

    /// The estimator again after an idle period (see [`RateEstimator::rest`]).
    pub(crate) fn from_rest(r: &RateRest) -> Self {
        RateEstimator {
            delivered: r.delivered,
            lost: r.lost,
            app_limited: r.app_limited,
            last: r.last,
            ..RateEstimator::new()
        }
    }

    /// Draft §3.2: the stamp of a transmission at `now`. `idle`: nothing was
    /// outstanding, so a new flight starts and its clocks restart. `tx_in_flight`: the
    /// bytes in flight with this transmission.
    pub(crate) fn on_send(&mut self, now: Instant, idle: bool, tx_in_flight: u32) -> TxStamp {
        if idle {
            self.first_sent_time = now;
            self.delivered_time = now;
        }
        TxStamp {
            delivered: self.delivered as u32,
            lost: self.lost as u32,
            tx_in_flight,
            delivered_age: age(now, self.delivered_time),
            first_sent_age: age(now, self.first_sent_time),
            app_limited: self.app_limited != 0,
        }
    }

    /// Draft §3.3 `UpdateRateSample(P)`: a segment of `len` bytes sent at `xmit_ts`
    /// (transmit order `order`) was delivered (cumulatively ACKed or SACKed) for the
    /// first time.
    pub(crate) fn on_delivered(&mut self, tx: TxStamp, xmit_ts: Instant, order: u64, len: u64) {
        self.delivered = self.delivered.wrapping_add(len);
        let newer = self
            .newest
            .is_none_or(|(_, t, o)| (xmit_ts, order) > (t, o));
        if newer {
            self.newest = Some((tx, xmit_ts, order));
            // The next flight's send interval starts at this segment's transmission.
            self.first_sent_time = xmit_ts;
        }
    }

    /// `len` bytes were newly marked lost.
    pub(crate) fn on_lost(&mut self, len: u64) {
        self.lost = self.lost.wrapping_add(len);
    }

    /// Bytes ever marked lost.
    pub(crate) fn lost(&self) -> u64 {
        self.lost
    }

    /// Bytes ever delivered (`C.delivered`).
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Draft §3.4: the sender is application-limited with `in_flight` bytes in flight;
    /// samples stay marked until the data now in flight is delivered.
    pub(crate) fn mark_app_limited(&mut self, in_flight: u32) {
        self.app_limited = self.delivered.saturating_add(u64::from(in_flight)).max(1);
    }

    /// The last valid sample: bytes per second and whether it was app-limited.
    pub(crate) fn last_rate(&self) -> Option<(u64, bool)> {
        self.last
            .map(|(delivered, us, app_limited)| (rate(delivered, us), app_limited))
    }

    /// Draft §3.3 `GenerateRateSample`: the sample of the ACK processed at `now`, built
    /// only when `want`ed (the bookkeeping happens either way).
    pub(crate) fn generate(
        &mut self,
        now: Instant,
        min_rtt: Option<Duration>,
        want: bool,
    ) -> Option<RateSample> {
        if self.app_limited != 0 && self.delivered > self.app_limited {
            self.app_limited = 0;
        }
        let Some((tx, xmit_ts, _)) = self.newest.take() else {
            return want.then(|| RateSample {
                total_delivered: self.delivered,
                prior_delivered: self.delivered,
                now,
                ..RateSample::default()
            });
        };
        self.delivered_time = now;
        // Microseconds: the send interval is the stamp's age of the flight's start; the
        // ACK interval runs from `C.delivered_time` at send to now.
        let prior_time = xmit_ts
            .as_micros()
            .saturating_sub(u64::from(tx.delivered_age));
        let send_elapsed = u64::from(tx.first_sent_age);
        let ack_elapsed = now.as_micros().saturating_sub(prior_time);
        let us = send_elapsed.max(ack_elapsed);
        let delivered = u64::from((self.delivered as u32).wrapping_sub(tx.delivered));
        // Intervals shorter than the minimum RTT would overestimate the rate (ACK
        // compression, an ACK of a burst): refused, as Linux's tcp_rate_gen.
        let too_short = min_rtt.is_some_and(|m| u128::from(us) < m.as_micros());
        let valid = !too_short && us > 0 && delivered > 0;
        if valid {
            self.last = Some((delivered, us, tx.app_limited));
        }
        if !want {
            return None;
        }
        let lost = u64::from((self.lost as u32).wrapping_sub(tx.lost));
        Some(RateSample {
            delivered,
            interval: Duration::from_micros(us),
            delivery_rate: valid.then(|| rate(delivered, us)),
            is_app_limited: tx.app_limited,
            tx_in_flight: tx.tx_in_flight,
            lost,
            prior_delivered: self.delivered.wrapping_sub(delivered),
            total_delivered: self.delivered,
            now,
            ..RateSample::default()
        })
    }
}

/// Bytes per second from bytes over microseconds (`us` > 0; `delivered` below 2^32 in
/// practice, so the product fits).
fn rate(delivered: u64, us: u64) -> u64 {
    delivered.saturating_mul(1_000_000) / us.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    /// Ten 1000-byte segments sent 1 ms apart from an idle start, each ACKed 100 ms after
    /// it left: every sample after the first sees 1000 B per ms delivered, 1 MB/s.
    #[test]
    fn a_paced_flight_measures_its_sending_rate() {
        let mut r = RateEstimator::new();
        let mut stamps = alloc::vec::Vec::new();
        for i in 0..10u64 {
            stamps.push(r.on_send(ms(i), i == 0, 1000 * (i as u32 + 1)));
        }
        let mut last = None;
        for (i, tx) in stamps.into_iter().enumerate() {
            let i = i as u64;
            r.on_delivered(tx, ms(i), i, 1000);
            last = r.generate(ms(100 + i), Some(Duration::from_millis(100)), true);
        }
        let s = last.unwrap();
        // The last segment was stamped with 0 delivered at time 0 (nothing delivered
        // during the flight): 10 000 bytes over max(9 ms send, 109 ms ack).
        assert_eq!(s.delivered, 10_000);
        assert_eq!(s.interval, Duration::from_millis(109));
        assert_eq!(s.delivery_rate, Some(10_000 * 1000 / 109));
        assert_eq!(s.tx_in_flight, 10_000);
        assert_eq!(r.delivered(), 10_000);
    }

    /// Segments sent after the first ACK carry its delivered count: their samples cover
    /// one round trip of deliveries, the bottleneck rate.
    #[test]
    fn the_second_flight_sees_the_delivery_rate_of_one_round() {
        let mut r = RateEstimator::new();
        let a = r.on_send(ms(0), true, 1000);
        r.on_delivered(a, ms(0), 0, 1000);
        r.generate(ms(50), None, true).unwrap();
        // Sent at 50 ms, after 1000 bytes were delivered at 50 ms.
        let b = r.on_send(ms(50), false, 1000);
        let c = r.on_send(ms(60), false, 2000);
        r.on_delivered(b, ms(50), 1, 1000);
        r.generate(ms(100), None, true).unwrap();
        r.on_delivered(c, ms(60), 2, 1000);
        let s = r.generate(ms(110), None, true).unwrap();
        // c left when 1000 bytes were delivered (at 50 ms) and its flight started at
        // 0 ms: b and c (2000 bytes) over max(60 ms send, 60 ms since 50 ms).
        assert_eq!(s.delivered, 3000 - 1000);
        assert_eq!(s.interval, Duration::from_millis(60));
        assert_eq!(s.prior_delivered, 1000);
        assert_eq!(s.delivery_rate, Some(2000 * 1000 / 60));
    }

    #[test]
    fn intervals_below_the_minimum_rtt_give_no_rate() {
        let mut r = RateEstimator::new();
        let a = r.on_send(ms(0), true, 1000);
        r.on_delivered(a, ms(0), 0, 1000);
        let s = r
            .generate(ms(5), Some(Duration::from_millis(10)), true)
            .unwrap();
        assert_eq!(s.delivered, 1000);
        assert_eq!(s.delivery_rate, None);
    }

    #[test]
    fn app_limited_marks_samples_until_the_flight_is_delivered() {
        let mut r = RateEstimator::new();
        r.mark_app_limited(0);
        let a = r.on_send(ms(0), true, 1000);
        r.on_delivered(a, ms(0), 0, 1000);
        let s = r.generate(ms(10), None, true).unwrap();
        assert!(s.is_app_limited);
        // Delivered (1000) passed the mark (1): later sends are not app-limited.
        let b = r.on_send(ms(10), false, 1000);
        r.on_delivered(b, ms(10), 1, 1000);
        assert!(!r.generate(ms(20), None, true).unwrap().is_app_limited);
    }

    #[test]
    fn losses_while_a_segment_was_in_flight_are_reported() {
        let mut r = RateEstimator::new();
        let a = r.on_send(ms(0), true, 1000);
        r.on_lost(3000);
        r.on_delivered(a, ms(0), 0, 1000);
        assert_eq!(r.generate(ms(10), None, true).unwrap().lost, 3000);
        assert_eq!(r.generate(ms(11), None, true).unwrap().delivered, 0);
    }
}
