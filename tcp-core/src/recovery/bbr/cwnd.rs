//! BBR's control parameters (draft-ietf-ccwg-bbr-01 §4.6): the pacing rate, the send
//! quantum, the inflight arithmetic and the congestion window, in and out of loss
//! recovery.

use super::*;

impl Bbr {
    /// `BBRSetPacingRateWithGain` before the "only upwards until the pipe is full" rule:
    /// `gain · bw · (100 − margin) %`.
    pub(super) fn rate_with_gain(&self, bw: u64, gain: u64) -> u64 {
        let r = u128::from(bw) * u128::from(gain) * u128::from(100 - PACING_MARGIN_PERCENT)
            / u128::from(UNIT * 100);
        u64::try_from(r).unwrap_or(u64::MAX)
    }

    /// §4.6.2 `BBRSetPacingRate`: the rate never falls before the pipe was full.
    pub(super) fn set_pacing_rate(&mut self) {
        let rate = self.rate_with_gain(self.bw, self.pacing_gain);
        if self.full_bw_reached || rate > self.pacing_rate {
            self.pacing_rate = rate;
        }
    }

    /// §4.6.2 `BBRInitPacingRate` from the first RTT sample: Startup's gain times the
    /// initial window per RTT.
    pub(super) fn init_pacing_rate(&mut self, rtt: Duration) {
        let us = rtt.as_micros().max(1);
        let nominal = u128::from(self.initial_cwnd) * 1_000_000 / us;
        let nominal = u64::try_from(nominal).unwrap_or(u64::MAX);
        self.pacing_rate = self.rate_with_gain(nominal, STARTUP_PACING_GAIN);
        self.has_seen_rtt = true;
    }

    /// §4.6.3 `BBRSetSendQuantum`: a millisecond at the pacing rate, between two
    /// segments and 64 KiB.
    pub(super) fn set_send_quantum(&mut self) {
        let two = 2 * u64::from(self.smss);
        self.send_quantum = (self.pacing_rate / 1000).clamp(two, MAX_SEND_QUANTUM.max(two));
    }

    /// §4.6.4.2 `BBRBDPMultiple`: `gain · bw · min_rtt`, the initial window before an RTT
    /// sample.
    pub(super) fn bdp_multiple(&self, bw: u64, gain: u64) -> u64 {
        let Some(rtt) = self.min_rtt else {
            return u64::from(self.initial_cwnd);
        };
        let bdp = u128::from(bw) * rtt.as_micros() / 1_000_000;
        u64::try_from(bdp * u128::from(gain) / u128::from(UNIT)).unwrap_or(u64::MAX)
    }

    /// §4.6.4.2 `BBRQuantizationBudget`: room for three send quanta in flight (the
    /// offload budget), at least `BBRMinPipeCwnd`, and two more segments in ProbeBW_UP.
    pub(super) fn quantization_budget(&self, inflight: u64) -> u64 {
        let mut inflight = inflight
            .max(3 * self.send_quantum)
            .max(self.min_pipe_cwnd());
        if self.state == BbrState::ProbeBwUp {
            inflight = inflight.saturating_add(2 * u64::from(self.smss));
        }
        inflight
    }

    /// §4.6.4.2 `BBRInflight(bw, gain)`.
    pub(super) fn inflight(&self, bw: u64, gain: u64) -> u64 {
        self.quantization_budget(self.bdp_multiple(bw, gain))
    }

    /// §4.5.10.2 `BBRInflightWithHeadroom`: `inflight_hi` less 15 % (at least a segment).
    pub(super) fn inflight_with_headroom(&self) -> u64 {
        if self.inflight_hi == u64::MAX {
            return u64::MAX;
        }
        let headroom = (self.inflight_hi.saturating_mul(HEADROOM) / UNIT).max(u64::from(self.smss));
        self.inflight_hi
            .saturating_sub(headroom)
            .max(self.min_pipe_cwnd())
    }

    /// §4.5.10.2 `BBRTargetInflight`: the BDP, or cwnd when that is smaller.
    pub(super) fn target_inflight(&self) -> u64 {
        self.bdp_multiple(self.bw, UNIT).min(u64::from(self.cwnd))
    }

    /// §4.6.4.4 `BBRSaveCwnd`.
    pub(super) fn save_cwnd(&self) -> u32 {
        if !self.in_recovery && self.state != BbrState::ProbeRtt {
            self.cwnd
        } else {
            self.prior_cwnd.max(self.cwnd)
        }
    }

    /// §4.6.4.4 `BBRRestoreCwnd`.
    pub(super) fn restore_cwnd(&mut self) {
        self.cwnd = self.cwnd.max(self.prior_cwnd);
    }

    /// Loss recovery (draft-ietf-ccwg-bbr-06 §5.6.4.4 `OnEnterFastRecovery`, as Linux's
    /// BBRv3): entering fast recovery only saves the window; leaving it restores the
    /// window. The losses themselves act through the model (§4.5.10), not on the window:
    /// draft-01's packet conservation and `cwnd -= newly_lost`
    /// (`BBRModulateCwndForRecovery`) were dropped in later revisions. Recovery after a
    /// timeout starts in `on_rto`.
    pub(super) fn track_recovery(&mut self, rs: &RateSample) {
        if rs.in_recovery && !self.in_recovery {
            self.prior_cwnd = self.save_cwnd();
            self.in_recovery = true;
        } else if !rs.in_recovery && self.in_recovery {
            // Losses repaired (or the recovery undone).
            self.in_recovery = false;
            self.restore_cwnd();
        }
    }

    /// §4.6.4.6 `BBRSetCwnd` with `BBRBoundCwndForProbeRTT` and
    /// `BBRBoundCwndForModel`.
    pub(super) fn set_cwnd(&mut self, rs: &RateSample) {
        // BBRUpdateMaxInflight.
        let inflight = self
            .bdp_multiple(self.bw, self.cwnd_gain)
            .saturating_add(self.extra_acked());
        let max_inflight = clamp32(self.quantization_budget(inflight));
        if self.full_bw_reached {
            self.cwnd = self.cwnd.saturating_add(rs.newly_acked).min(max_inflight);
        } else if self.cwnd < max_inflight || rs.total_delivered < u64::from(self.initial_cwnd) {
            self.cwnd = self.cwnd.saturating_add(rs.newly_acked);
        }
        self.cwnd = self.cwnd.max(clamp32(self.min_pipe_cwnd()));
        if self.state == BbrState::ProbeRtt {
            self.cwnd = self.cwnd.min(clamp32(self.probe_rtt_cwnd()));
        }
        // BBRBoundCwndForModel.
        let mut cap = u64::MAX;
        if self.state.is_probe_bw() && self.state != BbrState::ProbeBwCruise {
            cap = self.inflight_hi;
        } else if matches!(self.state, BbrState::ProbeRtt | BbrState::ProbeBwCruise) {
            cap = self.inflight_with_headroom();
        }
        cap = cap.min(self.inflight_lo).max(self.min_pipe_cwnd());
        self.cwnd = self.cwnd.min(clamp32(cap));
    }
}
