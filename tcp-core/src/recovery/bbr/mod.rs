//! BBR congestion control, version 3, as draft-ietf-ccwg-bbr-01 specifies it ("the
//! draft" below; section numbers are its own), checked against Linux's `tcp_bbr.c` where
//! the draft leaves a choice open.
//!
//! BBR models the path with two numbers, the bottleneck bandwidth (a windowed maximum of
//! delivery-rate samples, [`crate::recovery::RateSample`]) and the round-trip
//! propagation time (a windowed minimum of RTT samples), and sends at a pacing rate near
//! the bandwidth with at most a small multiple of their product in flight. A state
//! machine probes for more bandwidth and for the minimum RTT:
//!
//! - **Startup** (§4.3.1): pacing at 2.77x the bandwidth estimate doubles the delivery
//!   rate every round until three rounds pass without 25 % growth, or losses say the
//!   queue is full.
//! - **Drain** (§4.3.2): pacing below the estimate until the flight is down to one BDP.
//! - **ProbeBW** (§4.3.3): a cycle of DOWN (0.9x, until the flight is below the BDP),
//!   CRUISE (1.0x, capped with headroom below `inflight_hi`), REFILL (one round at
//!   1.0x) and UP (1.25x, raising `inflight_hi` exponentially) every 2-3 s or every
//!   `min(BDP in packets, 63)` rounds, whichever comes first (Reno coexistence).
//! - **ProbeRTT** (§4.3.4): when the minimum RTT has not been seen for 5 s, the flight
//!   drops to half the BDP for 200 ms and a round, to measure it again.
//!
//! Losses act through two bounds (§4.5.10): `inflight_hi`, cut to the flight at which
//! more than 2 % of the data in flight was lost while probing (`BBRLossThresh`), and
//! `bw_lo` / `inflight_lo`, cut by `BBRBeta` (0.7) for every round with loss outside the
//! probing phases. Fast recovery leaves the window to the model; a timeout cuts it to one
//! segment (draft-ietf-ccwg-bbr-06 §5.6.4.4: the later revision dropped -01's packet
//! conservation, as Linux's BBRv3 has none).
//!
//! Random loss above `BBRLossThresh` pins BBRv3 to a small flight, by design (draft-06
//! §5.3.3.8.3 aims at tolerating 1 %): every round with loss outside the probing phases
//! cuts `bw_lo` and `inflight_lo` to the latest round's delivery, (1 − p) of the flight at
//! a random loss rate p, until the next probe, at most `min(flight in packets, 63)`
//! rounds later; REFILL then at most doubles the flight before the first sample that
//! lost more than the threshold caps `inflight_hi` and ends UP. The flight settles where
//! (1 − p)^N · 2 ≈ 1 with N the flight in packets, N ≈ ln 2 / p: about 14 packets at 5 %
//! (8 Mbit/s at 20 ms with 1448-byte segments). `Config::bbr_loss_thresh` changes the
//! threshold, as an experiment.
//!
//! The controller works in bytes; `smss` converts the draft's packet counts. Its input is
//! the rate sample of every ACK ([`CongestionControl::on_rate_sample`]), which the core
//! produces for connections that use SACK. Without SACK no sample exists, so a
//! connection configured for BBR whose peer does not agree to SACK uses CUBIC.
//!
//! ECN: the draft's ECN response applies to senders that see a CE fraction per round
//! (L4S-style marking); with classic ECN (one ECE per window, RFC 3168) Linux's BBR
//! ignores ECE, and so does this one.
//!
//! The draft draws two random numbers per ProbeBW cycle (§4.3.3.5 `BBRPickProbeWait`);
//! the core has no randomness, so a xorshift generator seeded from the time of the first
//! ACK supplies them, which keeps runs repeatable.

mod cwnd;
mod filter;
mod model;
mod states;
#[cfg(test)]
mod tests;

use super::{CongestionControl, RateSample};
use crate::time::{Duration, Instant};
use filter::MaxFilter;

/// Gains are in thousandths.
const UNIT: u64 = 1000;
/// §2.7 `BBRStartupPacingGain`: 4·ln 2 ≈ 2.77.
const STARTUP_PACING_GAIN: u64 = 2770;
/// §2.7 `BBRStartupCwndGain`.
const STARTUP_CWND_GAIN: u64 = 2000;
/// §2.7 `BBRDrainPacingGain`: 1/2.885 (Linux's `bbr_drain_gain`).
const DRAIN_PACING_GAIN: u64 = 347;
/// §2.7 `BBRDefaultCwndGain`.
const DEFAULT_CWND_GAIN: u64 = 2000;
/// §4.3.3.6 ProbeBW_UP's pacing and cwnd gains.
const UP_PACING_GAIN: u64 = 1250;
const UP_CWND_GAIN: u64 = 2250;
/// §4.3.3.6 ProbeBW_DOWN's pacing gain.
const DOWN_PACING_GAIN: u64 = 900;
/// §2.7 `BBRProbeRTTCwndGain`.
const PROBE_RTT_CWND_GAIN: u64 = 500;
/// §4.6.2 `BBRPacingMarginPercent`: pace 1 % below the estimate.
const PACING_MARGIN_PERCENT: u64 = 1;
/// §2.7 `BBRLossThresh`: 2 % of the flight lost is too much.
const LOSS_THRESH: u64 = 20;
/// §2.7 `BBRBeta`: the multiplicative cut of the bounds on loss.
const BETA: u64 = 700;
/// §2.7 `BBRHeadroom`: CRUISE leaves 15 % of `inflight_hi` unused.
const HEADROOM: u64 = 150;
/// §4.3.1.1 growth that counts as "still growing": 25 %.
const FULL_BW_GROWTH: u64 = 1250;
/// §4.3.1.1 rounds without that growth before the pipe counts as full.
const FULL_BW_COUNT: u32 = 3;
/// §4.3.1.2 `BBRStartupFullLossCnt`: loss events in a round that may end Startup.
const STARTUP_FULL_LOSS_CNT: u32 = 6;
/// §2.7 `BBRMinPipeCwnd`: four packets.
const MIN_PIPE_CWND_SEGS: u32 = 4;
/// §4.3.4 `ProbeRTTInterval`.
const PROBE_RTT_INTERVAL: Duration = Duration::from_secs(5);
/// §4.3.4 `ProbeRTTDuration`.
const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
/// §4.5.5 `MinRTTFilterLen`.
const MIN_RTT_FILTER_LEN: Duration = Duration::from_secs(10);
/// §4.6.3 the send quantum's ceiling (64 KiB) and the time it covers at the pacing rate
/// (1 ms, Linux's `sk_pacing_shift` of 10).
const MAX_SEND_QUANTUM: u64 = 64 * 1024;
/// §4.3.3.5 the Reno-coexistence bound on rounds between bandwidth probes.
const MAX_PROBE_ROUNDS: u64 = 63;
/// §4.5.9 `BBRExtraAckedFilterLen` rounds, kept as Linux does in two halves.
const EXTRA_ACKED_WIN_RTTS: u32 = 5;

/// BBR's states (§4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BbrState {
    /// §4.3.1.
    Startup,
    /// §4.3.2.
    Drain,
    /// §4.3.3: below the estimate until the queue is gone.
    ProbeBwDown,
    /// §4.3.3: at the estimate, with headroom.
    ProbeBwCruise,
    /// §4.3.3: one round at the estimate before probing.
    ProbeBwRefill,
    /// §4.3.3: probing for more bandwidth.
    ProbeBwUp,
    /// §4.3.4.
    ProbeRtt,
}

impl BbrState {
    fn is_probe_bw(self) -> bool {
        matches!(
            self,
            BbrState::ProbeBwDown
                | BbrState::ProbeBwCruise
                | BbrState::ProbeBwRefill
                | BbrState::ProbeBwUp
        )
    }
}

/// §4.3.3.6 which ACKs the ProbeBW cycle is looking at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckPhase {
    Init,
    ProbeStopping,
    Refilling,
    ProbeStarting,
    ProbeFeedback,
}

/// The BBR controller (see the module docs).
#[derive(Clone, Debug)]
pub struct Bbr {
    smss: u32,
    initial_cwnd: u32,
    cwnd: u32,
    state: BbrState,
    pacing_gain: u64,
    cwnd_gain: u64,
    pacing_rate: u64,
    has_seen_rtt: bool,
    send_quantum: u64,
    // Bandwidth model (§4.5.2-§4.5.4): bytes per second.
    max_bw_filter: MaxFilter,
    max_bw: u64,
    bw_lo: u64,
    bw: u64,
    // Latest delivery signals and congestion signals (§4.5.10).
    bw_latest: u64,
    inflight_latest: u64,
    loss_round_delivered: u64,
    loss_round_start: bool,
    loss_in_round: bool,
    loss_events_in_round: u32,
    inflight_hi: u64,
    inflight_lo: u64,
    // RTT model (§4.5.5, §4.3.4).
    min_rtt: Option<Duration>,
    min_rtt_stamp: Instant,
    probe_rtt_min_delay: Option<Duration>,
    probe_rtt_min_stamp: Instant,
    probe_rtt_expired: bool,
    probe_rtt_done_stamp: Option<Instant>,
    probe_rtt_round_done: bool,
    // Rounds (§4.5.1).
    next_round_delivered: u64,
    round_count: u64,
    round_start: bool,
    rounds_since_bw_probe: u64,
    // Startup's full-pipe detector (§4.3.1.1).
    full_bw: u64,
    full_bw_count: u32,
    full_bw_now: bool,
    full_bw_reached: bool,
    // ProbeBW (§4.3.3).
    ack_phase: AckPhase,
    cycle_stamp: Instant,
    bw_probe_wait: Duration,
    bw_probe_samples: bool,
    bw_probe_up_rounds: u32,
    bw_probe_up_acks: u64,
    probe_up_cnt: u64,
    // ACK aggregation (§4.5.9), Linux's two-slot window.
    extra_acked: [u64; 2],
    extra_acked_idx: usize,
    extra_acked_win_rtts: u32,
    extra_acked_interval_start: Option<Instant>,
    extra_acked_delivered: u64,
    // Loss recovery (§4.6.4.4).
    prior_cwnd: u32,
    in_recovery: bool,
    idle_restart: bool,
    rng: u64,
    /// `BBRLossThresh` in thousandths (`LOSS_THRESH` unless configured otherwise).
    loss_thresh: u64,
}

impl Bbr {
    /// A controller with an initial window of `initial_window` segments, in Startup
    /// (§4.2 `BBROnInit`).
    pub fn new(initial_window: u32, smss: u32) -> Self {
        let smss = smss.max(1);
        let initial_cwnd = initial_window.max(1).saturating_mul(smss);
        let mut b = Bbr {
            smss,
            initial_cwnd,
            cwnd: initial_cwnd,
            state: BbrState::Startup,
            pacing_gain: STARTUP_PACING_GAIN,
            cwnd_gain: STARTUP_CWND_GAIN,
            pacing_rate: 0,
            has_seen_rtt: false,
            send_quantum: 2 * u64::from(smss),
            max_bw_filter: MaxFilter::default(),
            max_bw: 0,
            bw_lo: u64::MAX,
            bw: 0,
            bw_latest: 0,
            inflight_latest: 0,
            loss_round_delivered: 0,
            loss_round_start: false,
            loss_in_round: false,
            loss_events_in_round: 0,
            inflight_hi: u64::MAX,
            inflight_lo: u64::MAX,
            min_rtt: None,
            min_rtt_stamp: Instant::ZERO,
            probe_rtt_min_delay: None,
            probe_rtt_min_stamp: Instant::ZERO,
            probe_rtt_expired: false,
            probe_rtt_done_stamp: None,
            probe_rtt_round_done: false,
            next_round_delivered: 0,
            round_count: 0,
            round_start: false,
            rounds_since_bw_probe: 0,
            full_bw: 0,
            full_bw_count: 0,
            full_bw_now: false,
            full_bw_reached: false,
            ack_phase: AckPhase::Init,
            cycle_stamp: Instant::ZERO,
            bw_probe_wait: Duration::ZERO,
            bw_probe_samples: false,
            bw_probe_up_rounds: 0,
            bw_probe_up_acks: 0,
            probe_up_cnt: u64::MAX,
            extra_acked: [0; 2],
            extra_acked_idx: 0,
            extra_acked_win_rtts: 0,
            extra_acked_interval_start: None,
            extra_acked_delivered: 0,
            prior_cwnd: 0,
            in_recovery: false,
            idle_restart: false,
            rng: 0,
            loss_thresh: LOSS_THRESH,
        };
        // §4.6.2 BBRInitPacingRate with the nominal 1 ms RTT Linux assumes before the
        // first sample.
        b.pacing_rate = b.rate_with_gain(u64::from(initial_cwnd) * 1000, STARTUP_PACING_GAIN);
        b
    }

    /// The same controller with `BBRLossThresh` set to `permille` thousandths instead of
    /// the draft's 20 (see `Config::bbr_loss_thresh`).
    pub fn with_loss_thresh(mut self, permille: u16) -> Self {
        self.loss_thresh = u64::from(permille);
        self
    }

    /// The current state.
    #[cfg(test)]
    pub fn state(&self) -> BbrState {
        self.state
    }

    /// The bandwidth estimate the model uses (`BBR.bw`, §4.5.4), bytes per second.
    #[cfg(test)]
    pub fn bw(&self) -> u64 {
        self.bw
    }

    /// The windowed maximum bandwidth (`BBR.max_bw`, §4.5.2), bytes per second.
    #[cfg(test)]
    pub fn max_bw(&self) -> u64 {
        self.max_bw
    }

    /// `BBR.inflight_hi` (§4.5.10.2) in bytes, `None` while unbounded.
    #[cfg(test)]
    pub fn inflight_hi(&self) -> Option<u64> {
        (self.inflight_hi != u64::MAX).then_some(self.inflight_hi)
    }

    /// `BBR.inflight_lo` (§4.5.10.3) in bytes, `None` while unbounded.
    #[cfg(test)]
    pub fn inflight_lo(&self) -> Option<u64> {
        (self.inflight_lo != u64::MAX).then_some(self.inflight_lo)
    }

    /// Startup has seen the pipe full (`BBR.full_bw_reached`, §4.3.1.1).
    #[cfg(test)]
    pub fn full_bw_reached(&self) -> bool {
        self.full_bw_reached
    }

    fn min_pipe_cwnd(&self) -> u64 {
        u64::from(MIN_PIPE_CWND_SEGS) * u64::from(self.smss)
    }

    /// A xorshift64* draw in `[0, n)` (the draft's random choices, see the module docs).
    fn random(&mut self, n: u64) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }

    /// §4.2 `BBRUpdateOnACK`: the model and state, then the control parameters.
    fn update_on_ack(&mut self, rs: &RateSample) {
        let now = rs.now;
        if self.rng == 0 {
            // Seed from the first ACK's time (see the module docs); never zero.
            self.rng = now.as_micros().wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        }
        self.track_recovery(rs);
        // The losses this ACK's processing marked come first (draft-06 §5.2.4: the
        // per-loss steps run when the transport marks them, before the ACK's steps).
        if rs.newly_lost > 0 {
            self.note_loss(rs);
        }
        // BBRUpdateModelAndState.
        self.update_latest_delivery_signals(rs);
        self.update_congestion_signals(rs);
        self.update_ack_aggregation(rs, now);
        self.check_full_bw_reached(rs);
        self.check_startup_done(rs);
        self.check_drain(rs, now);
        self.update_probe_bw_cycle_phase(rs, now);
        self.update_min_rtt(rs, now);
        self.check_probe_rtt(rs, now);
        self.advance_latest_delivery_signals(rs);
        self.bound_bw_for_model();
        // BBRUpdateControlParameters.
        if !self.has_seen_rtt
            && let Some(rtt) = rs.rtt
        {
            self.init_pacing_rate(rtt);
        }
        if self.bw > 0 {
            self.set_pacing_rate();
        }
        self.set_send_quantum();
        self.set_cwnd(rs);
    }
}

fn clamp32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl CongestionControl for Bbr {
    fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// BBR keeps no slow-start threshold (Linux's `bbr_ssthresh` leaves it infinite).
    fn ssthresh(&self) -> u32 {
        u32::MAX
    }

    /// Without rate samples (no SACK) BBR has no model: the window stays.
    fn on_ack(&mut self, _now: Instant, _acked: u32, _smss: u32, _rtt: Option<Duration>) {}

    fn on_ack_sample(&mut self, _sample: &super::AckSample, _smss: u32) {}

    /// Fast recovery is tracked from the rate samples' `in_recovery` (draft-06 §5.6.4.4).
    fn on_recovery_start(&mut self, _now: Instant, _in_flight: u32, _smss: u32) {}

    fn on_recovery_dupack(&mut self, _smss: u32) {}

    fn on_partial_ack(&mut self, _acked: u32, _smss: u32) {}

    fn on_recovery_end(&mut self, _now: Instant, _in_flight: u32, _smss: u32) {}

    /// §4.6.4.4 `BBROnEnterRTO`: the window is saved and falls to one segment (all that
    /// was in flight is deemed lost).
    fn on_rto(&mut self, _now: Instant, _in_flight: u32, smss: u32) {
        self.prior_cwnd = self.save_cwnd();
        self.in_recovery = true;
        self.cwnd = smss.max(1);
    }

    /// BBR sets its window on every ACK in recovery itself (Linux's `cong_control`
    /// bypasses `tcp_cwnd_reduction`): PRR's window is not used.
    fn set_recovery_cwnd(&mut self, _cwnd: u32) {}

    /// Linux's `bbr_undo_cwnd`: the full-pipe detector and the lower bounds start over;
    /// the saved window comes back.
    fn on_spurious_congestion_undo(&mut self, prior_cwnd: u32, _prior_ssthresh: u32) {
        self.reset_full_bw();
        self.reset_lower_bounds();
        self.cwnd = self.cwnd.max(prior_cwnd);
    }

    /// §4.3.4.5 `BBRHandleRestartFromIdle`: after idle in ProbeBW, pace at the estimate
    /// at once (no queue is left to drain).
    fn on_tx_start(&mut self, _idle: Duration) {
        self.idle_restart = true;
        self.extra_acked_interval_start = None;
        if self.state.is_probe_bw() && self.bw > 0 {
            self.pacing_rate = self.rate_with_gain(self.bw, UNIT);
        }
    }

    fn pacing_rate(&self) -> Option<u64> {
        Some(self.pacing_rate.max(1))
    }

    fn wants_rate_samples(&self) -> bool {
        true
    }

    fn on_rate_sample(&mut self, rs: &RateSample, smss: u32) {
        self.smss = smss.max(1);
        self.update_on_ack(rs);
    }

    /// §4.3.4.4: samples taken in ProbeRTT are application-limited.
    fn wants_app_limited(&self) -> bool {
        self.state == BbrState::ProbeRtt
    }

    fn name(&self) -> &'static str {
        "bbr"
    }
}
