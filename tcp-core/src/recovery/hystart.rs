//! HyStart++: modified slow start that exits early on RTT increase (RFC 9406).
//!
//! The controller asks [`HyStart::on_ack`] for the current phase and scales its slow-start
//! increase with [`HyStart::ss_increase`]; when HyStart++ decides to leave slow start the
//! controller sets `ssthresh = cwnd` (RFC 9406 §4.2, "enter congestion avoidance").

use crate::seq::SeqNum;
use crate::time::Duration;

/// RFC 9406 §4.3 `MIN_RTT_THRESH`: 4 ms.
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// RFC 9406 §4.3 `MAX_RTT_THRESH`: 16 ms.
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// RFC 9406 §4.3 `MIN_RTT_DIVISOR`: 8.
const MIN_RTT_DIVISOR: u32 = 8;
/// RFC 9406 §4.3 `N_RTT_SAMPLE`: 8.
const N_RTT_SAMPLE: u32 = 8;
/// RFC 9406 §4.3 `CSS_GROWTH_DIVISOR`: 4.
pub(super) const CSS_GROWTH_DIVISOR: u32 = 4;
/// RFC 9406 §4.3 `CSS_ROUNDS`: 5.
const CSS_ROUNDS: u32 = 5;
/// RFC 9406 §4.3 `L`: 8 without pacing (infinite with pacing).
const L_UNPACED: u32 = 8;

/// Where HyStart++ is (RFC 9406 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowStartPhase {
    /// Standard slow start, watching the per-round minimum RTT.
    SlowStart,
    /// Conservative Slow Start (CSS): growth divided by `CSS_GROWTH_DIVISOR`.
    Conservative,
    /// HyStart++ ended slow start: the controller sets `ssthresh = cwnd` and does
    /// congestion avoidance.
    Exit,
}

/// HyStart++ state (RFC 9406 §4.2).
#[derive(Clone, Debug)]
pub struct HyStart {
    phase: SlowStartPhase,
    /// `windowEnd`: the round ends when SND.UNA reaches it. `None` before the first ACK.
    window_end: Option<SeqNum>,
    /// `lastRoundMinRTT` (`None` = infinity).
    last_round_min_rtt: Option<Duration>,
    /// `currentRoundMinRTT` (`None` = infinity).
    current_round_min_rtt: Option<Duration>,
    /// `rttSampleCount`.
    rtt_sample_count: u32,
    /// `cssBaselineMinRtt` (`None` = infinity).
    css_baseline_min_rtt: Option<Duration>,
    /// Rounds completed in CSS.
    css_rounds: u32,
    /// Whether the sender paces (then `L` is infinite).
    paced: bool,
}

impl Default for HyStart {
    fn default() -> Self {
        Self::new(false)
    }
}

impl HyStart {
    /// A fresh HyStart++ in standard slow start (RFC 9406 §4.2 initialisation). `paced`
    /// selects `L = infinity` instead of 8 (RFC 9406 §4.3).
    pub fn new(paced: bool) -> Self {
        HyStart {
            phase: SlowStartPhase::SlowStart,
            window_end: None,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
            css_baseline_min_rtt: None,
            css_rounds: 0,
            paced,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> SlowStartPhase {
        self.phase
    }

    /// Restart in standard slow start, e.g. after an RTO (RFC 9406 §4.2: "HyStart++ MAY be
    /// used again after a retransmission timeout" — Linux re-arms it whenever cwnd falls
    /// below ssthresh again).
    pub fn reset(&mut self) {
        *self = HyStart::new(self.paced);
    }

    /// A loss ended slow start or CSS (RFC 9406 §4.2: ssthresh is set by the controller's
    /// loss response); HyStart++ stays in [`SlowStartPhase::Exit`] until [`Self::reset`].
    pub fn on_loss(&mut self) {
        self.phase = SlowStartPhase::Exit;
    }

    /// The slow-start increase for `acked` newly acknowledged bytes (RFC 9406 §4.2:
    /// `cwnd += min(N, L*SMSS)`, divided by `CSS_GROWTH_DIVISOR` in CSS).
    pub fn ss_increase(&self, acked: u32, smss: u32) -> u32 {
        let cap = if self.paced {
            u32::MAX
        } else {
            smss.saturating_mul(L_UNPACED)
        };
        let inc = acked.min(cap);
        match self.phase {
            SlowStartPhase::SlowStart => inc,
            SlowStartPhase::Conservative => inc / CSS_GROWTH_DIVISOR,
            SlowStartPhase::Exit => 0,
        }
    }

    /// Processes one ACK in slow start (RFC 9406 §4.2): round bookkeeping with
    /// `windowEnd`, the RTT sample, the delay-increase test and the CSS rules. `snd_una`
    /// is SND.UNA after the ACK and `snd_nxt` the current SND.NXT. Returns the phase to use
    /// for this ACK's increase.
    pub fn on_ack(
        &mut self,
        snd_una: SeqNum,
        snd_nxt: SeqNum,
        rtt: Option<Duration>,
    ) -> SlowStartPhase {
        if self.phase == SlowStartPhase::Exit {
            return self.phase;
        }
        // Round end: "if SND.UNA >= windowEnd" start a new round.
        let round_ended = match self.window_end {
            None => true,
            Some(end) => snd_una.ge(end),
        };
        if round_ended {
            self.last_round_min_rtt = self.current_round_min_rtt;
            self.current_round_min_rtt = None;
            self.rtt_sample_count = 0;
            self.window_end = Some(snd_nxt);
            if self.phase == SlowStartPhase::Conservative {
                self.css_rounds += 1;
                if self.css_rounds >= CSS_ROUNDS {
                    // "If CSS_ROUNDS rounds are complete, enter congestion avoidance".
                    self.phase = SlowStartPhase::Exit;
                    return self.phase;
                }
            }
        }
        if let Some(r) = rtt {
            self.current_round_min_rtt = Some(match self.current_round_min_rtt {
                Some(m) => m.min(r),
                None => r,
            });
            self.rtt_sample_count = self.rtt_sample_count.saturating_add(1);
        }
        if self.rtt_sample_count < N_RTT_SAMPLE {
            return self.phase;
        }
        let Some(cur) = self.current_round_min_rtt else {
            return self.phase;
        };
        match self.phase {
            SlowStartPhase::SlowStart => {
                if let Some(last) = self.last_round_min_rtt {
                    // RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
                    // MAX_RTT_THRESH))
                    let thresh = (last / MIN_RTT_DIVISOR)
                        .min(MAX_RTT_THRESH)
                        .max(MIN_RTT_THRESH);
                    if cur >= last.saturating_add(thresh) {
                        self.css_baseline_min_rtt = Some(cur);
                        self.css_rounds = 0;
                        self.phase = SlowStartPhase::Conservative;
                    }
                }
            }
            SlowStartPhase::Conservative => {
                if let Some(base) = self.css_baseline_min_rtt
                    && cur < base
                {
                    // The RTT increase was spurious: resume slow start.
                    self.css_baseline_min_rtt = None;
                    self.phase = SlowStartPhase::SlowStart;
                }
            }
            SlowStartPhase::Exit => {}
        }
        self.phase
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Drives one round of `n` ACKs with RTT `rtt`, acknowledging `start+1 ..= start+n`
    /// while SND.NXT is `start + n + 1`, so the next round begins with the next ACK.
    fn round(h: &mut HyStart, start: u32, _end: u32, n: u32, rtt: Duration) -> SlowStartPhase {
        let mut p = h.phase();
        for i in 1..=n {
            p = h.on_ack(
                SeqNum::new(start + i),
                SeqNum::new(start + n + 1),
                Some(rtt),
            );
        }
        p
    }

    #[test]
    fn increase_is_capped_by_l_and_divided_in_css() {
        let mut h = HyStart::new(false);
        assert_eq!(h.ss_increase(20_000, 1000), 8000);
        assert_eq!(h.ss_increase(1000, 1000), 1000);
        h.phase = SlowStartPhase::Conservative;
        assert_eq!(h.ss_increase(1000, 1000), 250);
        assert_eq!(HyStart::new(true).ss_increase(20_000, 1000), 20_000);
    }

    #[test]
    fn delay_increase_enters_css_then_exits_after_css_rounds() {
        let mut h = HyStart::new(false);
        // Round 1: 100 ms (baseline).
        assert_eq!(round(&mut h, 0, 10, 10, ms(100)), SlowStartPhase::SlowStart);
        // Round 2: threshold = max(4, min(100/8 = 12.5, 16)) = 12.5 ms; 112 ms is below.
        assert_eq!(
            round(&mut h, 10, 20, 10, ms(112)),
            SlowStartPhase::SlowStart
        );
        // Round 3: last = 112, threshold = 14 ms; 126 ms >= 112 + 14: CSS after 8 samples.
        let mut h3 = h.clone();
        let p = round(&mut h3, 20, 30, 7, ms(126));
        assert_eq!(p, SlowStartPhase::SlowStart, "needs N_RTT_SAMPLE samples");
        assert_eq!(
            round(&mut h, 20, 30, 10, ms(126)),
            SlowStartPhase::Conservative
        );
        // CSS rounds at the same RTT (not below the baseline): exit after CSS_ROUNDS.
        let mut base = 30;
        let mut exits = 0;
        for r in 1..=CSS_ROUNDS {
            let p = round(&mut h, base, base + 10, 10, ms(130));
            base += 10;
            if p == SlowStartPhase::Exit {
                exits = r;
                break;
            }
        }
        // The round counter increments at each round start; the fifth start exits.
        assert_eq!(exits, CSS_ROUNDS);
    }

    #[test]
    fn rtt_below_baseline_in_css_resumes_slow_start() {
        let mut h = HyStart::new(false);
        round(&mut h, 0, 10, 10, ms(40));
        // threshold = max(4, min(5, 16)) = 5 ms.
        assert_eq!(
            round(&mut h, 10, 20, 10, ms(46)),
            SlowStartPhase::Conservative
        );
        assert_eq!(round(&mut h, 20, 30, 10, ms(44)), SlowStartPhase::SlowStart);
    }

    #[test]
    fn small_rtts_use_min_threshold() {
        let mut h = HyStart::new(false);
        round(&mut h, 0, 10, 10, ms(10));
        // 10/8 = 1.25 ms < MIN_RTT_THRESH = 4 ms: 13 ms is not enough, 14 ms is.
        let mut a = h.clone();
        assert_eq!(round(&mut a, 10, 20, 10, ms(13)), SlowStartPhase::SlowStart);
        assert_eq!(
            round(&mut h, 10, 20, 10, ms(14)),
            SlowStartPhase::Conservative
        );
    }

    #[test]
    fn loss_exits_and_reset_restarts() {
        let mut h = HyStart::new(false);
        h.on_loss();
        assert_eq!(
            h.on_ack(SeqNum::new(1), SeqNum::new(2), None),
            SlowStartPhase::Exit
        );
        assert_eq!(h.ss_increase(1000, 1000), 0);
        h.reset();
        assert_eq!(h.phase(), SlowStartPhase::SlowStart);
    }
}
