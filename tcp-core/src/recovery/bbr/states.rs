//! BBR's state machine (draft-ietf-ccwg-bbr-01 §4.3): Startup, Drain, the ProbeBW cycle
//! and ProbeRTT with the minimum-RTT filter.

use super::*;

impl Bbr {
    pub(super) fn enter_startup(&mut self) {
        self.state = BbrState::Startup;
        self.pacing_gain = STARTUP_PACING_GAIN;
        self.cwnd_gain = STARTUP_CWND_GAIN;
    }

    /// §4.3.1.1 `BBRResetFullBW`.
    pub(super) fn reset_full_bw(&mut self) {
        self.full_bw = 0;
        self.full_bw_count = 0;
        self.full_bw_now = false;
    }

    /// §4.3.1.1 `BBRCheckFullBWReached`: once per round of non-app-limited samples, the
    /// pipe is full after three rounds without 25 % growth of `max_bw`.
    pub(super) fn check_full_bw_reached(&mut self, rs: &RateSample) {
        if self.full_bw_now || !self.round_start || rs.is_app_limited {
            return;
        }
        if self.max_bw >= self.full_bw.saturating_mul(FULL_BW_GROWTH) / UNIT {
            self.reset_full_bw();
            self.full_bw = self.max_bw;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_now = self.full_bw_count >= FULL_BW_COUNT;
        if self.full_bw_now {
            self.full_bw_reached = true;
        }
    }

    /// §4.3.1.2 `BBRCheckStartupHighLoss`: Startup ends when a round in fast recovery
    /// saw at least `BBRStartupFullLossCnt` loss events and lost more than
    /// `BBRLossThresh` of the flight; `inflight_hi` becomes the larger of the BDP and
    /// the latest round's delivery.
    pub(super) fn check_startup_high_loss(&mut self, rs: &RateSample) {
        if self.full_bw_reached || self.state != BbrState::Startup {
            return;
        }
        if rs.newly_lost > 0 {
            self.loss_events_in_round = self.loss_events_in_round.saturating_add(1);
        }
        if self.loss_round_start
            && rs.in_recovery
            && self.loss_events_in_round >= STARTUP_FULL_LOSS_CNT
            && self.is_inflight_too_high(rs)
        {
            self.full_bw_reached = true;
            let bdp = self.bdp_multiple(self.max_bw, UNIT);
            self.inflight_hi = bdp.max(self.inflight_latest);
        }
        if self.loss_round_start {
            self.loss_events_in_round = 0;
        }
    }

    /// §4.3.1.3 `BBRCheckStartupDone`.
    pub(super) fn check_startup_done(&mut self, rs: &RateSample) {
        self.check_startup_high_loss(rs);
        if self.state == BbrState::Startup && self.full_bw_reached {
            self.enter_drain();
        }
    }

    /// §4.3.2 `BBREnterDrain`.
    pub(super) fn enter_drain(&mut self) {
        self.state = BbrState::Drain;
        self.pacing_gain = DRAIN_PACING_GAIN;
        self.cwnd_gain = STARTUP_CWND_GAIN;
    }

    /// §4.3.2 `BBRCheckDrain`: Drain ends once the flight is down to one BDP.
    pub(super) fn check_drain(&mut self, rs: &RateSample, now: Instant) {
        if self.state == BbrState::Drain && u64::from(rs.in_flight) <= self.inflight(self.bw, UNIT)
        {
            // §4.3.3 BBREnterProbeBW.
            self.cwnd_gain = DEFAULT_CWND_GAIN;
            self.start_probe_bw_down(rs, now);
        }
    }

    /// §4.3.3.6 `BBRStartProbeBW_DOWN`.
    pub(super) fn start_probe_bw_down(&mut self, rs: &RateSample, now: Instant) {
        self.reset_congestion_signals();
        self.probe_up_cnt = u64::MAX;
        // §4.3.3.5 BBRPickProbeWait: 0 or 1 rounds, 2 to 3 seconds.
        self.rounds_since_bw_probe = self.random(2);
        self.bw_probe_wait = Duration::from_micros(2_000_000 + self.random(1_000_000));
        self.cycle_stamp = now;
        self.ack_phase = AckPhase::ProbeStopping;
        self.start_round(rs.total_delivered);
        self.state = BbrState::ProbeBwDown;
        self.pacing_gain = DOWN_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// §4.3.3.6 `BBRStartProbeBW_CRUISE`.
    pub(super) fn start_probe_bw_cruise(&mut self) {
        self.state = BbrState::ProbeBwCruise;
        self.pacing_gain = UNIT;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// §4.3.3.6 `BBRStartProbeBW_REFILL`: the lower bounds go, for one round at the
    /// estimate.
    pub(super) fn start_probe_bw_refill(&mut self, rs: &RateSample) {
        self.reset_lower_bounds();
        self.bw_probe_up_rounds = 0;
        self.bw_probe_up_acks = 0;
        self.ack_phase = AckPhase::Refilling;
        self.start_round(rs.total_delivered);
        self.state = BbrState::ProbeBwRefill;
        self.pacing_gain = UNIT;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// §4.3.3.6 `BBRStartProbeBW_UP`.
    pub(super) fn start_probe_bw_up(&mut self, rs: &RateSample) {
        self.ack_phase = AckPhase::ProbeStarting;
        self.start_round(rs.total_delivered);
        self.reset_full_bw();
        self.full_bw = rs.delivery_rate.unwrap_or(0);
        self.state = BbrState::ProbeBwUp;
        self.pacing_gain = UP_PACING_GAIN;
        self.cwnd_gain = UP_CWND_GAIN;
        self.raise_inflight_hi_slope();
    }

    /// §4.3.3.5 `BBRIsRenoCoexistenceProbeTime`: no longer between probes than the
    /// rounds Reno would take to grow by the BDP (at most 63).
    pub(super) fn is_reno_coexistence_probe_time(&self) -> bool {
        let reno_rounds = self.target_inflight() / u64::from(self.smss);
        self.rounds_since_bw_probe >= reno_rounds.min(MAX_PROBE_ROUNDS)
    }

    /// §4.3.3.5 `BBRCheckTimeToProbeBW`.
    pub(super) fn check_time_to_probe_bw(&mut self, rs: &RateSample, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.cycle_stamp) > self.bw_probe_wait;
        if elapsed || self.is_reno_coexistence_probe_time() {
            self.start_probe_bw_refill(rs);
            return true;
        }
        false
    }

    /// §4.3.3.6 `BBRCheckTimeToCruise`: DOWN ends when the flight is below the headroom
    /// and at most one BDP.
    pub(super) fn check_time_to_cruise(&self, rs: &RateSample) -> bool {
        let inflight = u64::from(rs.in_flight);
        inflight <= self.inflight_with_headroom() && inflight <= self.inflight(self.max_bw, UNIT)
    }

    /// §4.3.3.6 `BBRCheckTimeToGoDown`: UP ends when the window reached `inflight_hi`
    /// (probing restarts from there) or the bandwidth stopped growing.
    pub(super) fn check_time_to_go_down(&mut self, rs: &RateSample) -> bool {
        if rs.is_cwnd_limited && u64::from(self.cwnd) >= self.inflight_hi {
            self.reset_full_bw();
            self.full_bw = rs.delivery_rate.unwrap_or(0);
        } else if self.full_bw_now {
            return true;
        }
        false
    }

    /// §4.3.3.6 `BBRUpdateProbeBWCyclePhase`.
    pub(super) fn update_probe_bw_cycle_phase(&mut self, rs: &RateSample, now: Instant) {
        if !self.full_bw_reached {
            return;
        }
        self.adapt_upper_bounds(rs, now);
        let state = self.state;
        match state {
            BbrState::ProbeBwDown => {
                if self.check_time_to_probe_bw(rs, now) {
                    return;
                }
                if self.check_time_to_cruise(rs) {
                    self.start_probe_bw_cruise();
                }
            }
            BbrState::ProbeBwCruise => {
                self.check_time_to_probe_bw(rs, now);
            }
            // After one round of REFILL, UP.
            BbrState::ProbeBwRefill if self.round_start => {
                self.bw_probe_samples = true;
                self.start_probe_bw_up(rs);
            }
            BbrState::ProbeBwUp if self.check_time_to_go_down(rs) => {
                self.start_probe_bw_down(rs, now);
            }
            _ => {}
        }
    }

    /// §4.3.4.4 `BBRUpdateMinRTT`: a 5 s filter (`probe_rtt_min_delay`) schedules ProbeRTT;
    /// the 10 s `min_rtt` follows it when it is lower or when `min_rtt` expired.
    pub(super) fn update_min_rtt(&mut self, rs: &RateSample, now: Instant) {
        self.probe_rtt_expired =
            now.saturating_duration_since(self.probe_rtt_min_stamp) > PROBE_RTT_INTERVAL;
        if let Some(rtt) = rs.rtt
            && (self.probe_rtt_min_delay.is_none_or(|m| rtt < m) || self.probe_rtt_expired)
        {
            self.probe_rtt_min_delay = Some(rtt);
            self.probe_rtt_min_stamp = now;
        }
        let min_rtt_expired =
            now.saturating_duration_since(self.min_rtt_stamp) > MIN_RTT_FILTER_LEN;
        if let Some(d) = self.probe_rtt_min_delay
            && (self.min_rtt.is_none_or(|m| d < m) || min_rtt_expired)
        {
            self.min_rtt = Some(d);
            self.min_rtt_stamp = self.probe_rtt_min_stamp;
        }
    }

    /// §4.3.4.4 `BBRProbeRTTCwnd`: half the BDP, at least `BBRMinPipeCwnd`.
    pub(super) fn probe_rtt_cwnd(&self) -> u64 {
        self.bdp_multiple(self.bw, PROBE_RTT_CWND_GAIN)
            .max(self.min_pipe_cwnd())
    }

    /// §4.3.4.4 `BBRCheckProbeRTT`.
    pub(super) fn check_probe_rtt(&mut self, rs: &RateSample, now: Instant) {
        if self.state != BbrState::ProbeRtt && self.probe_rtt_expired && !self.idle_restart {
            // BBREnterProbeRTT.
            self.prior_cwnd = self.save_cwnd();
            self.state = BbrState::ProbeRtt;
            self.pacing_gain = UNIT;
            self.cwnd_gain = PROBE_RTT_CWND_GAIN;
            self.probe_rtt_done_stamp = None;
            self.ack_phase = AckPhase::ProbeStopping;
            self.start_round(rs.total_delivered);
        }
        if self.state == BbrState::ProbeRtt {
            self.handle_probe_rtt(rs, now);
        }
        if rs.delivered > 0 {
            self.idle_restart = false;
        }
    }

    /// §4.3.4.4 `BBRHandleProbeRTT`: once the flight is down to the ProbeRTT window, wait
    /// 200 ms and a round.
    pub(super) fn handle_probe_rtt(&mut self, rs: &RateSample, now: Instant) {
        match self.probe_rtt_done_stamp {
            None if u64::from(rs.in_flight) <= self.probe_rtt_cwnd() => {
                self.probe_rtt_done_stamp = Some(now + PROBE_RTT_DURATION);
                self.probe_rtt_round_done = false;
                self.start_round(rs.total_delivered);
            }
            Some(done) => {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done && now > done {
                    // BBRCheckProbeRTTDone: the next ProbeRTT in 5 s.
                    self.probe_rtt_min_stamp = now;
                    self.restore_cwnd();
                    self.exit_probe_rtt(rs, now);
                }
            }
            None => {}
        }
    }

    /// §4.3.4.4 `BBRExitProbeRTT`.
    pub(super) fn exit_probe_rtt(&mut self, rs: &RateSample, now: Instant) {
        self.reset_lower_bounds();
        if self.full_bw_reached {
            self.start_probe_bw_down(rs, now);
            self.start_probe_bw_cruise();
        } else {
            self.enter_startup();
        }
    }
}
