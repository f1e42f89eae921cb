//! CUBIC congestion control (RFC 9438), with HyStart++ (RFC 9406) slow-start exit, in the
//! manner of Linux's `tcp_cubic.c`, in integer arithmetic only.
//!
//! Windows are bytes; the cubic function works in segments of `smss` bytes with
//! time in microseconds: `W_cubic(t) = C·(t − K)³ + W_max` with `C = 0.4` segments/s³
//! (RFC 9438 §4.2, equation 1) and `K = ∛((W_max − cwnd_epoch)/C)` (equation 2). The cube
//! root is an exact integer floor cube root (binary search on `u128`), so no floating
//! point is needed in `no_std`.

use super::hystart::{HyStart, SlowStartPhase};
use super::{AckSample, CongestionControl};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant, duration_micros};

/// β_cubic = 0.7 (RFC 9438 §4.6), as a fraction. Linux uses 717/1024 (0.7002).
const BETA_NUM: u64 = 7;
/// Denominator of β_cubic.
const BETA_DEN: u64 = 10;
/// C = 0.4 (RFC 9438 §5), as a fraction.
const C_NUM: u128 = 4;
/// Denominator of C.
const C_DEN: u128 = 10;
/// Microseconds per second, cubed: converts `(t − K)³` in µs³ to s³.
const US3_PER_S3: u128 = 1_000_000_000_000_000_000;
/// α_cubic = 3·(1 − β)/(1 + β) = 9/17 (RFC 9438 §4.3, equation 4) numerator.
const ALPHA_NUM: u64 = 9;
/// α_cubic denominator.
const ALPHA_DEN: u64 = 17;
/// `|t − K|` is clamped to this many µs (about 66 minutes) so that the cube fits.
const MAX_T_US: u64 = 4_000_000_000;

/// The CUBIC controller (RFC 9438).
#[derive(Debug, Clone)]
pub struct Cubic {
    cwnd: u32,
    ssthresh: u32,
    /// W_max in bytes: the window before the last reduction, after fast convergence
    /// (RFC 9438 §4.7).
    w_max: u32,
    /// cwnd_prior: the cwnd before the last reduction (RFC 9438 §4.6), for α_cubic
    /// switching to 1 (§4.3).
    cwnd_prior: u32,
    /// Start of the current congestion-avoidance epoch (RFC 9438 §4.2 "t").
    epoch_start: Option<Instant>,
    /// K in microseconds for the current epoch.
    k_us: u64,
    /// The plateau of the current epoch in bytes: W_max, or cwnd_epoch when above it.
    origin: u32,
    /// W_est in bytes (RFC 9438 §4.3).
    w_est: u64,
    /// Remainder of the W_est increase, in units of 1/(ALPHA_DEN·cwnd) bytes.
    w_est_acc: u64,
    /// Remainder of the cubic increase, in units of 1/cwnd bytes.
    cnt_acc: u64,
    /// The minimum RTT seen (Linux `delay_min`), the RTT in `W_cubic(t + RTT)`.
    min_rtt: Option<Duration>,
    hystart: HyStart,
    /// State saved at the last reduction for [`CongestionControl::on_spurious_congestion_undo`].
    undo_w_max: u32,
    undo_cwnd_prior: u32,
}

impl Cubic {
    /// A controller with an initial window of `initial_window` segments (RFC 6928) and an
    /// arbitrarily high initial ssthresh (RFC 5681 §3.1).
    pub fn new(initial_window: u32, smss: u32) -> Self {
        Cubic {
            cwnd: initial_window.max(1).saturating_mul(smss),
            ssthresh: u32::MAX,
            w_max: 0,
            cwnd_prior: 0,
            epoch_start: None,
            k_us: 0,
            origin: 0,
            w_est: 0,
            w_est_acc: 0,
            cnt_acc: 0,
            min_rtt: None,
            hystart: HyStart::new(false),
            undo_w_max: 0,
            undo_cwnd_prior: 0,
        }
    }

    /// W_max in bytes (RFC 9438 §4.7).
    #[cfg(test)]
    pub fn w_max(&self) -> u32 {
        self.w_max
    }

    /// The HyStart++ state (RFC 9406).
    #[cfg(test)]
    pub fn hystart(&self) -> &HyStart {
        &self.hystart
    }

    /// K in microseconds for a window gap of `diff` bytes: `∛(diff/(smss·C))` seconds
    /// (RFC 9438 §4.2, equation 2).
    pub fn k_micros(diff: u32, smss: u32) -> u64 {
        let smss = u128::from(smss.max(1));
        // K_us³ = diff / (smss · C) · 10^18 = diff · C_DEN · 10^18 / (smss · C_NUM)
        let k3 = u128::from(diff) * C_DEN * US3_PER_S3 / (smss * C_NUM);
        cbrt_u128(k3)
    }

    /// `W_cubic(t)` in bytes (RFC 9438 §4.2, equation 1) for an epoch with plateau
    /// `origin` bytes and `k_us`, at `t_us` microseconds since the epoch began.
    pub fn w_cubic_bytes(origin: u32, k_us: u64, t_us: u64, smss: u32) -> u32 {
        let (d, neg) = if t_us >= k_us {
            (t_us - k_us, false)
        } else {
            (k_us - t_us, true)
        };
        let d = u128::from(d.min(MAX_T_US));
        // C · d³ segments = C_NUM · d³ / (C_DEN · 10^18) segments, times smss bytes.
        // d³ ≤ 6.4·10^28 < 2^97; the product with smss may overflow only for absurd
        // segment sizes, and then saturates.
        let delta = (d * d * d * C_NUM)
            .checked_mul(u128::from(smss))
            .map_or(u128::MAX, |v| v / (C_DEN * US3_PER_S3));
        let delta = u32::try_from(delta).unwrap_or(u32::MAX);
        if neg {
            origin.saturating_sub(delta)
        } else {
            origin.saturating_add(delta)
        }
    }

    /// Multiplicative decrease and fast convergence (RFC 9438 §4.6, §4.7), shared by loss
    /// recovery and RTO. Returns the new ssthresh.
    fn reduce(&mut self, smss: u32) -> u32 {
        self.undo_w_max = self.w_max;
        self.undo_cwnd_prior = self.cwnd_prior;
        self.epoch_start = None;
        self.cnt_acc = 0;
        self.w_est_acc = 0;
        // §4.7 fast convergence: W_max = cwnd·(1 + β)/2 when below the previous W_max.
        self.w_max = if self.cwnd < self.w_max {
            mul_div(self.cwnd, BETA_DEN + BETA_NUM, 2 * BETA_DEN)
        } else {
            self.cwnd
        };
        self.cwnd_prior = self.cwnd;
        // §4.6: ssthresh = cwnd · β_cubic, at least 2 SMSS (as Linux).
        self.ssthresh = mul_div(self.cwnd, BETA_NUM, BETA_DEN).max(smss.saturating_mul(2));
        self.hystart.on_loss();
        self.ssthresh
    }

    /// Congestion-avoidance increase for `acked` bytes (RFC 9438 §4.2–§4.5).
    fn congestion_avoidance(&mut self, now: Instant, acked: u32, smss: u32) {
        let smss = smss.max(1);
        let epoch = match self.epoch_start {
            Some(e) => e,
            None => {
                // New epoch: cwnd_epoch = cwnd; K from W_max (RFC 9438 §4.2).
                self.epoch_start = Some(now);
                if self.cwnd < self.w_max {
                    self.k_us = Self::k_micros(self.w_max - self.cwnd, smss);
                    self.origin = self.w_max;
                } else {
                    self.k_us = 0;
                    self.origin = self.cwnd;
                }
                self.w_est = u64::from(self.cwnd);
                self.w_est_acc = 0;
                self.cnt_acc = 0;
                now
            }
        };
        let rtt_us = self.min_rtt.map_or(0, duration_micros);
        let t_us = duration_micros(now.saturating_duration_since(epoch));
        let cwnd = self.cwnd.max(1);

        // §4.2: target = W_cubic(t + RTT), clamped to [cwnd, 1.5·cwnd].
        let target = Self::w_cubic_bytes(self.origin, self.k_us, t_us.saturating_add(rtt_us), smss)
            .clamp(cwnd, cwnd.saturating_add(cwnd / 2));
        // cwnd += (target − cwnd)/cwnd per acknowledged SMSS, i.e. in bytes
        // (target − cwnd) · acked / cwnd.
        self.cnt_acc = self
            .cnt_acc
            .saturating_add(u64::from(target - cwnd) * u64::from(acked));
        let inc = self.cnt_acc / u64::from(cwnd);
        self.cnt_acc %= u64::from(cwnd);
        let cubic_cwnd = u64::from(cwnd).saturating_add(inc);

        // §4.3 Reno-friendly region: W_est += α_cubic · acked/cwnd segments; α = 1 once
        // W_est reaches cwnd_prior.
        let alpha = if self.w_est >= u64::from(self.cwnd_prior) {
            ALPHA_DEN
        } else {
            ALPHA_NUM
        };
        let den = ALPHA_DEN * u64::from(cwnd);
        self.w_est_acc = self
            .w_est_acc
            .saturating_add((alpha * u64::from(smss)).saturating_mul(u64::from(acked)));
        self.w_est = self.w_est.saturating_add(self.w_est_acc / den);
        self.w_est_acc %= den;

        let w_cubic_now = Self::w_cubic_bytes(self.origin, self.k_us, t_us, smss);
        let new = if u64::from(w_cubic_now) < self.w_est {
            // Reno-friendly region: cwnd = W_est.
            self.w_est.max(u64::from(cwnd))
        } else {
            cubic_cwnd
        };
        self.cwnd = u32::try_from(new).unwrap_or(u32::MAX);
    }

    fn grow(&mut self, s: &AckSample, smss: u32, rounds: bool) {
        if let Some(r) = s.rtt {
            self.min_rtt = Some(self.min_rtt.map_or(r, |m| m.min(r)));
        }
        if s.app_limited {
            // RFC 9438 §5.8 / RFC 7661: do not grow a window that is not being used.
            return;
        }
        let mut acked = s.acked_bytes;
        if self.cwnd < self.ssthresh {
            let plain = acked.min(smss.saturating_mul(8));
            let before = self.hystart.phase();
            let step = if !rounds {
                // No round information: plain slow start (RFC 5681 §3.1, L = 8 as RFC 3465).
                Some(plain)
            } else {
                match self.hystart.on_ack(s.snd_una, s.snd_nxt, s.rtt) {
                    // RFC 9406 §4.2: HyStart++ ends slow start: ssthresh = cwnd.
                    SlowStartPhase::Exit if before != SlowStartPhase::Exit => None,
                    SlowStartPhase::Exit => Some(plain),
                    _ => Some(self.hystart.ss_increase(acked, smss)),
                }
            };
            if let Some(inc) = step {
                let room = self.ssthresh - self.cwnd;
                let used = inc.min(room);
                self.cwnd = self.cwnd.saturating_add(used);
                // Linux tcp_slow_start: bytes beyond ssthresh go to congestion avoidance.
                acked = if inc > room {
                    acked.saturating_sub(room)
                } else {
                    0
                };
            } else {
                self.ssthresh = self.cwnd;
            }
        }
        if acked > 0 && self.cwnd >= self.ssthresh {
            self.congestion_avoidance(s.now, acked, smss);
        }
    }
}

impl CongestionControl for Cubic {
    fn cwnd(&self) -> u32 {
        self.cwnd
    }

    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    fn on_ack(&mut self, now: Instant, acked: u32, smss: u32, rtt: Option<Duration>) {
        let s = AckSample {
            now,
            acked_bytes: acked,
            sacked_bytes: 0,
            rtt,
            srtt: None,
            in_flight: 0,
            snd_una: SeqNum::new(0),
            snd_nxt: SeqNum::new(0),
            app_limited: false,
        };
        self.grow(&s, smss, false);
    }

    fn on_ack_sample(&mut self, sample: &AckSample, smss: u32) {
        self.grow(sample, smss, true);
    }

    fn on_recovery_start(&mut self, _now: Instant, _in_flight: u32, smss: u32) {
        // RFC 9438 §4.6: cwnd = ssthresh = β·cwnd; PRR (RFC 9937) then paces the reduction
        // through `set_recovery_cwnd`.
        self.cwnd = self.reduce(smss);
    }

    fn on_recovery_dupack(&mut self, _smss: u32) {
        // No NewReno-style inflation: PRR governs sending during recovery (RFC 9937).
    }

    fn on_partial_ack(&mut self, _acked: u32, _smss: u32) {
        // As above: the window during recovery comes from PRR.
    }

    fn on_recovery_end(&mut self, _now: Instant, _in_flight: u32, _smss: u32) {
        // RFC 9937 §6: at the end of recovery cwnd = ssthresh.
        self.cwnd = self.ssthresh;
        self.epoch_start = None;
    }

    fn on_rto(&mut self, _now: Instant, _in_flight: u32, smss: u32) {
        // RFC 9438 §4.8: ssthresh and W_max as for a congestion event; cwnd = 1 SMSS
        // (RFC 5681 loss window); slow start then restarts, with HyStart++ (Linux).
        self.reduce(smss);
        self.cwnd = smss;
        self.hystart.reset();
    }

    fn set_recovery_cwnd(&mut self, cwnd: u32) {
        self.cwnd = cwnd;
    }

    fn on_idle_restart(&mut self, idle: Duration, rto: Duration, initial_window: u32, smss: u32) {
        let smss = smss.max(1);
        let (pkts, floor) = super::restart_window(self.cwnd / smss, initial_window, idle, rto);
        self.ssthresh = self.ssthresh.max(floor.saturating_mul(smss));
        self.cwnd = pkts.saturating_mul(smss);
    }

    fn on_spurious_congestion_undo(&mut self, prior_cwnd: u32, prior_ssthresh: u32) {
        // RFC 9438 §4.9: restore cwnd, ssthresh, W_max (and cwnd_prior) from before the
        // spurious congestion event.
        self.cwnd = self.cwnd.max(prior_cwnd);
        self.ssthresh = self.ssthresh.max(prior_ssthresh);
        self.w_max = self.undo_w_max;
        self.cwnd_prior = self.undo_cwnd_prior;
        self.epoch_start = None;
    }

    fn name(&self) -> &'static str {
        "cubic"
    }
}

/// `v · num / den` without overflow, saturating to `u32::MAX`.
fn mul_div(v: u32, num: u64, den: u64) -> u32 {
    u32::try_from(u64::from(v) * num / den.max(1)).unwrap_or(u32::MAX)
}

/// The floor of the cube root of `v` (exact, integer-only; binary search).
pub(super) fn cbrt_u128(v: u128) -> u64 {
    // ∛(2^128) < 2^43.
    let (mut lo, mut hi) = (0u64, 1u64 << 43);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let m = u128::from(mid);
        let cube = m.checked_mul(m).and_then(|s| s.checked_mul(m));
        match cube {
            Some(c) if c <= v => lo = mid,
            _ => hi = mid - 1,
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MSS: u32 = 1000;

    fn sample(now_ms: u64, acked: u32, una: u32, nxt: u32, rtt_ms: u64) -> AckSample {
        AckSample {
            now: Instant::from_millis(now_ms),
            acked_bytes: acked,
            sacked_bytes: 0,
            rtt: Some(Duration::from_millis(rtt_ms)),
            srtt: None,
            in_flight: 0,
            snd_una: SeqNum::new(una),
            snd_nxt: SeqNum::new(nxt),
            app_limited: false,
        }
    }

    #[test]
    fn cube_root_is_exact_floor() {
        assert_eq!(cbrt_u128(0), 0);
        assert_eq!(cbrt_u128(26), 2);
        assert_eq!(cbrt_u128(27), 3);
        assert_eq!(cbrt_u128(u128::MAX), 6_981_463_658_331);
    }

    proptest! {
        #[test]
        fn cube_root_brackets(v in any::<u128>()) {
            let r = u128::from(cbrt_u128(v));
            prop_assert!(r * r * r <= v);
            let r1 = r + 1;
            prop_assert!(r1.checked_mul(r1).and_then(|s| s.checked_mul(r1)).is_none_or(|c| c > v));
        }
    }

    proptest! {
        /// Any sequence of events with any sizes and times: no panic (overflow) and the
        /// window never collapses to zero.
        #[test]
        fn never_panics_and_keeps_floors(
            smss in 1u32..=u32::MAX,
            ev in proptest::collection::vec((0u8..6, any::<u32>(), 0u64..100_000_000), 1..200),
        ) {
            let mut c = Cubic::new(10, smss);
            let mut now = 0u64;
            for (k, v, dt) in ev {
                now = now.saturating_add(dt);
                let t = Instant::from_micros(now);
                match k {
                    0 => c.on_ack_sample(&AckSample {
                        now: t,
                        acked_bytes: v,
                        sacked_bytes: 0,
                        rtt: Some(Duration::from_micros(dt)),
                        srtt: None,
                        in_flight: v,
                        snd_una: SeqNum::new(v),
                        snd_nxt: SeqNum::new(v.wrapping_add(smss)),
                        app_limited: false,
                    }, smss),
                    1 => c.on_ack(t, v, smss, None),
                    2 => c.on_recovery_start(t, v, smss),
                    3 => c.on_recovery_end(t, v, smss),
                    4 => c.on_rto(t, v, smss),
                    _ => c.on_spurious_congestion_undo(v, v),
                }
                prop_assert!(c.cwnd() > 0 && c.ssthresh() > 0);
            }
        }
    }

    #[test]
    fn k_matches_rfc_formula() {
        // W_max = 100 segments, cwnd_epoch = β·W_max = 70: K = ∛(30 / 0.4) = ∛75 s.
        let k = Cubic::k_micros(30 * MSS, MSS) as f64 / 1e6;
        let expect = (75.0f64).cbrt();
        assert!((k - expect).abs() < 1e-5, "{k} vs {expect}");
        // W_max = 1000 segments: K = ∛(300/0.4) = ∛750.
        let k = Cubic::k_micros(300 * MSS, MSS) as f64 / 1e6;
        assert!((k - (750.0f64).cbrt()).abs() < 1e-5);
    }

    #[test]
    fn w_cubic_matches_rfc_formula() {
        let k_us = Cubic::k_micros(30 * MSS, MSS);
        let k = k_us as f64 / 1e6;
        for t_ms in [0u64, 1000, 2000, 4217, 6000, 10_000] {
            let t = t_ms as f64 / 1000.0;
            let expect = (0.4 * (t - k).powi(3) + 100.0) * f64::from(MSS);
            let got = f64::from(Cubic::w_cubic_bytes(100 * MSS, k_us, t_ms * 1000, MSS));
            assert!((got - expect).abs() <= 1.0, "t={t}: {got} vs {expect}");
        }
        // W_cubic(0) = cwnd_epoch = β·W_max.
        let w0 = Cubic::w_cubic_bytes(100 * MSS, k_us, 0, MSS);
        assert!((w0 as i64 - 70_000).abs() <= 1, "{w0}");
    }

    #[test]
    fn loss_applies_beta_and_fast_convergence() {
        let mut c = Cubic::new(100, MSS);
        c.on_recovery_start(Instant::ZERO, 100 * MSS, MSS);
        assert_eq!(c.ssthresh(), 70 * MSS);
        assert_eq!(c.cwnd(), 70 * MSS);
        assert_eq!(c.w_max(), 100 * MSS);
        c.on_recovery_end(Instant::ZERO, 0, MSS);
        // Another loss below W_max: W_max = 70·(1 + 0.7)/2 = 59.5 segments.
        c.on_recovery_start(Instant::ZERO, 70 * MSS, MSS);
        assert_eq!(c.w_max(), 59_500);
        assert_eq!(c.ssthresh(), 49 * MSS);
    }

    #[test]
    fn rto_sets_loss_window_and_restarts_hystart() {
        let mut c = Cubic::new(10, MSS);
        c.on_rto(Instant::ZERO, 10 * MSS, MSS);
        assert_eq!(c.cwnd(), MSS);
        assert_eq!(c.ssthresh(), 7 * MSS);
        assert_eq!(c.hystart().phase(), SlowStartPhase::SlowStart);
        assert!(c.in_slow_start());
        // ssthresh floor of 2 SMSS.
        c.on_rto(Instant::ZERO, MSS, MSS);
        assert_eq!(c.ssthresh(), 2 * MSS);
    }

    #[test]
    fn concave_then_convex_growth_follows_w_cubic() {
        let mut c = Cubic::new(100, MSS);
        c.on_recovery_start(Instant::ZERO, 100 * MSS, MSS);
        c.on_recovery_end(Instant::ZERO, 0, MSS);
        // One ACK of a full window per 100 ms RTT; the window should track W_cubic(t+RTT)
        // (it is well above the Reno-friendly W_est here).
        let rtt = 100u64;
        let mut now = 0u64;
        let mut una = 0u32;
        let k = Cubic::k_micros(30 * MSS, MSS);
        for _ in 0..80 {
            now += rtt;
            let w = c.cwnd();
            // ACK per segment.
            for _ in 0..(w / MSS) {
                una = una.wrapping_add(MSS);
                c.on_ack_sample(&sample(now, MSS, una, una + w, rtt), MSS);
            }
        }
        let t_us = 80 * rtt * 1000;
        let expect = Cubic::w_cubic_bytes(100 * MSS, k, t_us, MSS);
        let got = c.cwnd();
        // Within two RTTs' worth of the curve.
        let lo = Cubic::w_cubic_bytes(100 * MSS, k, t_us - 2 * rtt * 1000, MSS);
        let hi = Cubic::w_cubic_bytes(100 * MSS, k, t_us + 2 * rtt * 1000, MSS);
        assert!(
            got >= lo && got <= hi,
            "{got} not near {expect} [{lo}, {hi}]"
        );
        assert!(got > 100 * MSS, "convex region beyond W_max after t > K");
    }

    #[test]
    fn reno_friendly_region_dominates_for_small_windows_and_short_rtt() {
        // Small BDP: cubic grows very slowly near W_max; W_est grows ~0.53 seg/RTT.
        let mut c = Cubic::new(10, MSS);
        c.on_recovery_start(Instant::ZERO, 10 * MSS, MSS);
        c.on_recovery_end(Instant::ZERO, 0, MSS);
        assert_eq!(c.cwnd(), 7 * MSS);
        let mut una = 0u32;
        let mut now = 0;
        for _ in 0..20 {
            now += 1; // 1 ms RTT: t stays tiny, W_cubic ≈ cwnd_epoch.
            let w = c.cwnd();
            for _ in 0..(w / MSS) {
                una = una.wrapping_add(MSS);
                c.on_ack_sample(&sample(now, MSS, una, una + w, 1), MSS);
            }
        }
        // α = 9/17 per RTT until W_est reaches cwnd_prior = 10 segments (~6 RTTs), then 1.
        let got = c.cwnd();
        assert!((17 * MSS..=28 * MSS).contains(&got), "{got}");
    }

    #[test]
    fn slow_start_then_hystart_exit() {
        let mut c = Cubic::new(10, MSS);
        let mut una = 0u32;
        let mut now = 0;
        let mut rtt = 50;
        for round in 0..12 {
            now += rtt;
            let w = c.cwnd();
            for _ in 0..(w / MSS) {
                una += MSS;
                let nxt = una + c.cwnd();
                c.on_ack_sample(&sample(now, MSS, una, nxt, rtt), MSS);
            }
            if round >= 3 {
                rtt += 10; // queue builds: delay increase of more than RttThresh per round.
            }
            if !c.in_slow_start() {
                break;
            }
        }
        assert!(!c.in_slow_start(), "HyStart++ left slow start");
        assert!(c.ssthresh() <= c.cwnd() && c.ssthresh() < u32::MAX);
        assert!(c.cwnd() < 1000 * MSS, "{}", c.cwnd());
        assert_eq!(c.hystart().phase(), SlowStartPhase::Exit);
    }

    #[test]
    fn undo_restores_w_max() {
        let mut c = Cubic::new(100, MSS);
        c.on_recovery_start(Instant::ZERO, 100 * MSS, MSS);
        c.on_recovery_start(Instant::ZERO, 70 * MSS, MSS);
        assert_eq!(c.w_max(), 59_500);
        c.on_spurious_congestion_undo(70 * MSS, 70 * MSS);
        assert_eq!(c.w_max(), 100 * MSS);
        assert_eq!(c.cwnd(), 70 * MSS);
        assert_eq!(c.ssthresh(), 70 * MSS);
    }

    #[test]
    fn legacy_on_ack_slow_start() {
        let mut c = Cubic::new(10, MSS);
        c.on_ack(Instant::ZERO, 3 * MSS, MSS, None);
        assert_eq!(c.cwnd(), 13 * MSS);
        assert_eq!(c.name(), "cubic");
    }

    #[test]
    fn app_limited_does_not_grow() {
        let mut c = Cubic::new(10, MSS);
        let mut s = sample(1, MSS, MSS, 20 * MSS, 10);
        s.app_limited = true;
        c.on_ack_sample(&s, MSS);
        assert_eq!(c.cwnd(), 10 * MSS);
    }
}
