//! BBR's path model (draft-ietf-ccwg-bbr-01 §4.5): round counting, the maximum-bandwidth
//! filter, the congestion signals and the upper and lower bounds they set, and the ACK
//! aggregation estimate.

use super::*;

impl Bbr {
    pub(super) fn start_round(&mut self, delivered: u64) {
        self.next_round_delivered = delivered;
    }

    /// §4.5.1 `BBRUpdateRound`: a round ends when a segment sent after the previous
    /// round's end is delivered.
    pub(super) fn update_round(&mut self, rs: &RateSample) {
        if rs.delivered > 0 && rs.prior_delivered >= self.next_round_delivered {
            self.start_round(rs.total_delivered);
            self.round_count += 1;
            self.rounds_since_bw_probe += 1;
            self.round_start = true;
        } else {
            self.round_start = false;
        }
    }

    /// §4.5.2.4 `BBRUpdateMaxBw`: app-limited samples count only when they raise the
    /// estimate.
    pub(super) fn update_max_bw(&mut self, rs: &RateSample) {
        self.update_round(rs);
        if let Some(rate) = rs.delivery_rate
            && (rate >= self.max_bw || !rs.is_app_limited)
        {
            self.max_bw_filter.update(rate);
            self.max_bw = self.max_bw_filter.get();
        }
    }

    /// §4.5.2.3 `BBRAdvanceMaxBwFilter`: a ProbeBW cycle ended.
    pub(super) fn advance_max_bw_filter(&mut self) {
        self.max_bw_filter.advance();
    }

    /// §4.5.10.1 `BBRUpdateLatestDeliverySignals`.
    pub(super) fn update_latest_delivery_signals(&mut self, rs: &RateSample) {
        self.loss_round_start = false;
        self.bw_latest = self.bw_latest.max(rs.delivery_rate.unwrap_or(0));
        self.inflight_latest = self.inflight_latest.max(rs.delivered);
        if rs.delivered > 0 && rs.prior_delivered >= self.loss_round_delivered {
            self.loss_round_delivered = rs.total_delivered;
            self.loss_round_start = true;
        }
    }

    /// §4.5.10.1 `BBRAdvanceLatestDeliverySignals`.
    pub(super) fn advance_latest_delivery_signals(&mut self, rs: &RateSample) {
        if self.loss_round_start {
            self.bw_latest = rs.delivery_rate.unwrap_or(0);
            self.inflight_latest = rs.delivered;
        }
    }

    /// §4.5.10.1 `BBRResetCongestionSignals`.
    pub(super) fn reset_congestion_signals(&mut self) {
        self.loss_in_round = false;
        self.bw_latest = 0;
        self.inflight_latest = 0;
    }

    /// Draft-ietf-ccwg-bbr-06 §5.5.10.2 `NoteLoss` (Linux's `bbr_note_loss`): the first
    /// loss of a round starts the loss round over, so the response at its end sees the
    /// delivery of a full round trip after the loss (not what is left of a round already
    /// under way).
    pub(super) fn note_loss(&mut self, rs: &RateSample) {
        if !self.loss_in_round {
            self.loss_round_delivered = rs.total_delivered;
        }
        self.loss_in_round = true;
    }

    /// §4.5.10.1 `BBRUpdateCongestionSignals`: once per round with loss
    /// ([`Bbr::note_loss`]), outside the probing phases, the lower bounds adapt.
    pub(super) fn update_congestion_signals(&mut self, rs: &RateSample) {
        self.update_max_bw(rs);
        if !self.loss_round_start {
            return;
        }
        self.adapt_lower_bounds_from_congestion();
        self.loss_in_round = false;
    }

    /// §4.5.10.3 `BBRIsProbingBW`: Startup, REFILL and UP leave the lower bounds alone.
    pub(super) fn is_probing_bw(&self) -> bool {
        matches!(
            self.state,
            BbrState::Startup | BbrState::ProbeBwRefill | BbrState::ProbeBwUp
        )
    }

    /// §4.5.10.3 `BBRAdaptLowerBoundsFromCongestion`: a round with loss cuts `bw_lo` and
    /// `inflight_lo` to the larger of the latest round's delivery and `BBRBeta` of
    /// their value.
    pub(super) fn adapt_lower_bounds_from_congestion(&mut self) {
        if self.is_probing_bw() || !self.loss_in_round {
            return;
        }
        if self.bw_lo == u64::MAX {
            self.bw_lo = self.max_bw;
        }
        if self.inflight_lo == u64::MAX {
            self.inflight_lo = u64::from(self.cwnd);
        }
        self.bw_lo = self.bw_latest.max(self.bw_lo.saturating_mul(BETA) / UNIT);
        self.inflight_lo = self
            .inflight_latest
            .max(self.inflight_lo.saturating_mul(BETA) / UNIT);
    }

    /// §4.5.10.3 `BBRResetLowerBounds`.
    pub(super) fn reset_lower_bounds(&mut self) {
        self.bw_lo = u64::MAX;
        self.inflight_lo = u64::MAX;
    }

    /// §4.5.4 `BBRBoundBWForModel`.
    pub(super) fn bound_bw_for_model(&mut self) {
        self.bw = self.max_bw.min(self.bw_lo);
    }

    /// §4.5.10.2 `IsInflightTooHigh`: more than `BBRLossThresh` of the flight the sample's
    /// segment left with was lost.
    pub(super) fn is_inflight_too_high(&self, rs: &RateSample) -> bool {
        rs.lost.saturating_mul(UNIT) > u64::from(rs.tx_in_flight) * self.loss_thresh
    }

    /// §4.5.10.2 `BBRHandleInflightTooHigh`: `inflight_hi` falls to the flight that lost
    /// too much (at least `BBRBeta` of the target), and UP ends.
    pub(super) fn handle_inflight_too_high(&mut self, rs: &RateSample, now: Instant) {
        self.bw_probe_samples = false;
        if !rs.is_app_limited {
            let floor = self.target_inflight().saturating_mul(BETA) / UNIT;
            self.inflight_hi = u64::from(rs.tx_in_flight).max(floor);
        }
        if self.state == BbrState::ProbeBwUp {
            self.start_probe_bw_down(rs, now);
        }
    }

    /// §4.5.10.2 `BBRCheckInflightTooHigh`.
    pub(super) fn check_inflight_too_high(&mut self, rs: &RateSample, now: Instant) -> bool {
        if self.is_inflight_too_high(rs) {
            if self.bw_probe_samples {
                self.handle_inflight_too_high(rs, now);
            }
            return true;
        }
        false
    }

    /// §4.3.3.6 `BBRAdaptUpperBounds`: the end of a probe's samples advances the
    /// bandwidth filter; a flight that lost too much lowers `inflight_hi`, a safe one
    /// raises it.
    pub(super) fn adapt_upper_bounds(&mut self, rs: &RateSample, now: Instant) {
        if self.ack_phase == AckPhase::ProbeStarting && self.round_start {
            // Starting to get bandwidth-probing samples.
            self.ack_phase = AckPhase::ProbeFeedback;
        }
        if self.ack_phase == AckPhase::ProbeStopping && self.round_start {
            // End of the samples of the bandwidth probe: the best time to forget the
            // previous cycle's (Linux's bbr_adapt_upper_bounds).
            self.bw_probe_samples = false;
            self.ack_phase = AckPhase::Init;
            if self.state.is_probe_bw() && !rs.is_app_limited {
                self.advance_max_bw_filter();
            }
        }
        if self.check_inflight_too_high(rs, now) {
            return;
        }
        if self.inflight_hi == u64::MAX {
            return;
        }
        if u64::from(rs.tx_in_flight) > self.inflight_hi {
            self.inflight_hi = u64::from(rs.tx_in_flight);
        }
        if self.state == BbrState::ProbeBwUp {
            self.probe_inflight_hi_upward(rs);
        }
    }

    /// §4.3.3.6 `BBRRaiseInflightHiSlope`: the growth of `inflight_hi` doubles every
    /// round of UP.
    pub(super) fn raise_inflight_hi_slope(&mut self) {
        let growth_this_round = 1u64 << self.bw_probe_up_rounds.min(30);
        self.bw_probe_up_rounds = (self.bw_probe_up_rounds + 1).min(30);
        let cwnd_segs = u64::from(self.cwnd / self.smss);
        self.probe_up_cnt = (cwnd_segs / growth_this_round).max(1);
    }

    /// §4.3.3.6 `BBRProbeInflightHiUpward`: while the window is full at `inflight_hi`,
    /// a segment more for every `probe_up_cnt` segments delivered.
    pub(super) fn probe_inflight_hi_upward(&mut self, rs: &RateSample) {
        if !rs.is_cwnd_limited || u64::from(self.cwnd) < self.inflight_hi {
            return;
        }
        self.bw_probe_up_acks += u64::from(rs.newly_acked / self.smss);
        if self.bw_probe_up_acks >= self.probe_up_cnt {
            let delta = self.bw_probe_up_acks / self.probe_up_cnt;
            self.bw_probe_up_acks -= delta * self.probe_up_cnt;
            self.inflight_hi = self
                .inflight_hi
                .saturating_add(delta * u64::from(self.smss));
        }
        if self.round_start {
            self.raise_inflight_hi_slope();
        }
    }

    /// §4.5.9 `BBRUpdateACKAggregation`: data ACKed beyond what `bw` explains over the
    /// current interval, its maximum kept over about ten rounds.
    pub(super) fn update_ack_aggregation(&mut self, rs: &RateSample, now: Instant) {
        if self.round_start {
            self.extra_acked_win_rtts += 1;
            if self.extra_acked_win_rtts >= EXTRA_ACKED_WIN_RTTS {
                self.extra_acked_win_rtts = 0;
                self.extra_acked_idx ^= 1;
                self.extra_acked[self.extra_acked_idx] = 0;
            }
        }
        let start = *self.extra_acked_interval_start.get_or_insert(now);
        let interval = now.saturating_duration_since(start).as_micros();
        let mut expected =
            u64::try_from(u128::from(self.bw) * interval / 1_000_000).unwrap_or(u64::MAX);
        if self.extra_acked_delivered <= expected {
            self.extra_acked_delivered = 0;
            self.extra_acked_interval_start = Some(now);
            expected = 0;
        }
        self.extra_acked_delivered += u64::from(rs.newly_acked);
        let extra = self
            .extra_acked_delivered
            .saturating_sub(expected)
            .min(u64::from(self.cwnd));
        let slot = &mut self.extra_acked[self.extra_acked_idx];
        *slot = (*slot).max(extra);
    }

    pub(super) fn extra_acked(&self) -> u64 {
        self.extra_acked[0].max(self.extra_acked[1])
    }
}
