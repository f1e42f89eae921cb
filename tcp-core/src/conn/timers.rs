//! Timers: retransmission (RFC 6298) with backoff and retry limits, persist
//! (RFC 9293 §3.8.6.1), delayed ACK (§3.8.6.3), keepalive (§3.8.4), TIME_WAIT 2·MSL
//! (§3.10.7.4), the orphaned FIN_WAIT_2 timeout and the user timeout (RFC 5482).

use super::{Connection, State};
use crate::config::RetryBudget;
use crate::error::ConnError;
use crate::recovery::CongestionControl;
use crate::recovery::Frto;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant, mul_capped};
use crate::wire::TcpFlags;

impl Connection {
    /// The earliest instant at which `handle_timeout` has work, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // A plain chain of comparisons: this runs after every call that touches the
        // connection, so it must stay cheap.
        let mut t = earliest(self.rtx_at, self.probes.persist_at());
        t = earliest(t, self.ack.deadline());
        t = earliest(t, self.phase.deadline());
        if self.opts.keepalive().is_some() {
            t = earliest(t, self.keepalive_deadline());
        }
        if let Some(l) = self.loss.active() {
            t = earliest(t, earliest(l.reo_at, l.pto_at));
        }
        if self.pace_held {
            t = earliest(t, self.pace_next);
        }
        t
    }

    /// Runs every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.pace_held && self.pace_next.is_none_or(|t| t <= now) {
            // The paced packet may leave: poll_transmit sends it, and catches up if this
            // release comes late.
            self.pace_held = false;
            self.pace_catch_up = true;
        }
        if self.phase.deadline().is_some_and(|t| t <= now) {
            // 2·MSL elapsed (RFC 9293 §3.10.7.4), or an orphan gave up waiting for the
            // peer's FIN (Linux tcp_fin_timeout).
            self.set_closed();
        }
        // The probe timeout comes first: it is never later than the RTO, and when both are
        // due the probe goes and the RTO is re-armed after it (RFC 8985 §7.3; in Linux the
        // probe occupies the retransmission timer).
        if let Some(l) = self.loss.active_mut()
            && l.pto_at.is_some_and(|t| t <= now)
        {
            l.pto_at = None;
            l.probe_due = true;
            self.restart_rtx(now);
        }
        if self
            .loss
            .active()
            .is_some_and(|l| l.reo_at.is_some_and(|t| t <= now))
        {
            self.sack_on_reorder_timeout(now);
        }
        if self.rtx_at.is_some_and(|t| t <= now) {
            self.rtx_at = None;
            self.on_rto(now);
        }
        if self.probes.persist_at().is_some_and(|t| t <= now) {
            self.probes.stop_persist();
            self.on_persist(now);
        }
        if self.ack.deadline().is_some_and(|t| t <= now)
            && self.ack.on_timeout(now, self.current_rto())
        {
            // The delayed ACK (or a compressed SACK) is due (RFC 9293 §3.8.6.3).
            self.ack_now = true;
        }
        if self.keepalive_deadline().is_some_and(|t| t <= now) {
            self.on_keepalive(now);
        }
    }

    /// The RTO including backoff, capped at the maximum (RFC 6298 §5.5). In SYN-SENT the
    /// first `syn_linear_timeouts` retransmissions do not back off (Linux ≥ 6.5's
    /// `tcp_syn_linear_timeouts`).
    pub(super) fn current_rto(&self) -> Duration {
        let backoff = if self.state() == State::SynSent {
            self.retries.saturating_sub(self.cfg.syn_linear_timeouts)
        } else {
            self.retries
        }
        .saturating_sub(self.rto_reverts);
        let k = 1u32
            .checked_shl(backoff.saturating_add(self.zwnd_backoff))
            .unwrap_or(u32::MAX);
        mul_capped(self.rtx_base(), k, self.rto_max())
    }

    /// The base RTO; the handshake uses the initial RTO until a sample exists.
    fn rtx_base(&self) -> Duration {
        self.rtt.rto()
    }

    /// The largest RTO (RFC 6298 §2.5: `Config::max_rto`, never below the minimum).
    pub(super) fn rto_max(&self) -> Duration {
        self.cfg.max_rto.max(self.cfg.min_rto)
    }

    /// (Re)starts the retransmission timer (RFC 6298 §5.1, §5.3); once retransmitting,
    /// never beyond the user timeout (Linux's `tcp_clamp_rto_to_user_timeout`).
    pub(super) fn restart_rtx(&mut self, now: Instant) {
        let mut at = now + self.current_rto();
        if let (Some(ut), Some(since)) = (self.opts.user_timeout(), self.retrans_stamp)
            && self.retries > 0
        {
            // Once spent, the next check comes one timer tick later ("fire ASAP").
            at = at.min((since + ut).max(now + TICK));
        }
        self.rtx_at = Some(at);
    }

    /// RFC 6069 (Linux's `tcp_ld_RTO_revert`): an ICMP network or host unreachable
    /// about the segment at SND.UNA while the retransmission timer is backed off means
    /// the retransmissions went unanswered for want of a route, not for congestion: one
    /// backoff step is undone, and the timer runs from the last retransmission with the
    /// shorter RTO (at once, if that has already passed).
    pub(super) fn revert_rto_backoff(&mut self, now: Instant, seq: SeqNum) {
        let backed_off = self.retries.saturating_sub(self.rto_reverts) > 0;
        if seq != self.snd.una || !backed_off || self.snd.una == self.snd.max {
            return;
        }
        let Some(at) = self.rtx_at else {
            return;
        };
        let before = self.current_rto();
        self.rto_reverts += 1;
        let after = self.current_rto();
        // The timer was armed at the last retransmission with the longer RTO.
        let earlier = at.saturating_sub(before.saturating_sub(after));
        self.rtx_at = Some(earlier.max(now));
        self.stats.rare().rto_reverts += 1;
    }

    pub(super) fn stop_rtx(&mut self) {
        self.rtx_at = None;
    }

    /// The retransmission timer expired.
    fn on_rto(&mut self, now: Instant) {
        self.stats.rare().rtos += 1;
        match self.state() {
            State::SynSent | State::SynRcvd => {
                if self.write_timed_out(now) {
                    self.fail(ConnError::TimedOut);
                    return;
                }
                self.retries += 1;
                self.stats.rare().retransmits += 1;
                self.phase.set_syn_pending(true);
                self.rtt_timed = None;
                self.restart_rtx(now);
            }
            State::Established
            | State::CloseWait
            | State::FinWait1
            | State::Closing
            | State::LastAck => {
                if self.snd.una == self.snd.max {
                    return;
                }
                let zero_window = self.zero_window_probing();
                if self.retransmission_gives_up(now, zero_window) {
                    self.fail(ConnError::TimedOut);
                    return;
                }
                if !zero_window && self.retries1_timed_out(now) {
                    // Black-hole detection (RFC 4821 §7.4, Linux's tcp_mtu_probing).
                    self.on_black_hole_suspected(now);
                }
                if zero_window {
                    self.zwnd_backoff = self.zwnd_backoff.saturating_add(1);
                } else {
                    self.retries += 1;
                }
                if self.retrans_stamp.is_none() {
                    // Retry budgets and the user timeout count from the first
                    // retransmission (Linux's retrans_stamp).
                    self.retrans_stamp = Some(now);
                }
                // RFC 5681 §3.1 (cwnd), RFC 6582 §3.2 step 4 (recover), go-back-N from
                // SND.UNA, Karn's rule (RFC 6298 §5.4-5.6).
                let smss = self.eff_mss();
                let flight = self.snd.max.since(self.snd.una);
                // RFC 5682 §3.1 step 1: F-RTO only when no earlier recovery is underway
                // (RecoveryPoint < SND.UNA); a repeated timeout ends the episode.
                let recovering = self.frto.is_some()
                    || self.recover.gt(self.snd.una)
                    || self.recovery.is_some()
                    || self.loss.in_recovery();
                // The window before the response, for an undo (F-RTO, Eifel, DSACK).
                let prior = (self.cc.cwnd(), self.cc.ssthresh());
                self.frto = (self.cfg.frto && !recovering)
                    .then(|| alloc::boxed::Box::new(Frto::on_rto(self.snd.max, prior.0, prior.1)));
                self.frto_new_segs = 0;
                self.mtu_probe_on_rto();
                self.cc.on_rto(now, flight, smss);
                self.recover = self.snd.max;
                self.loss_until = Some(self.snd.max);
                self.recovery = None;
                self.dupacks = 0;
                self.fast_rexmit = false;
                if self.loss.is_some() {
                    // SACK: everything unSACKed is lost; NextSeg() retransmits it in
                    // order (RFC 6675 §5.1) without rewinding SND.NXT.
                    self.sack_on_rto(prior);
                } else {
                    self.snd.nxt = self.snd.una;
                }
                self.rtt_timed = None;
                // The timer sends the first retransmission itself, which pacing does not
                // hold (Linux's tcp_retransmit_timer -> tcp_retransmit_skb, outside
                // tcp_pacing_check).
                self.pace_exempt = true;
                self.restart_rtx(now);
            }
            _ => {}
        }
    }

    /// The peer closed its window on data in flight: the retransmissions act as zero-window
    /// probes and do not use up the retries while the peer answers (Linux's
    /// `tcp_retransmit_timer`).
    fn zero_window_probing(&self) -> bool {
        self.snd.wnd == 0 && !self.orphaned && self.opts.user_timeout().is_none()
    }

    /// Whether a retransmission timeout of a synchronized connection ends it (RFC 9293
    /// §3.8.3, RFC 1122 §4.2.3.5 R2). This is also the lifecycle's LAST_ACK rule: our FIN
    /// is retransmitted on each timeout, the timeout doubling each time (RFC 6298 §5.5),
    /// up to the retry limit (`orphan_retries` once the application closed, `retries2`
    /// otherwise); the timer that follows the limit's last retransmission, twice the last
    /// timeout, is one more wait, and when it expires unanswered the connection is
    /// dropped. While the peer's window is zero, it gives up only after a maximum RTO
    /// without hearing from the peer at all.
    fn retransmission_gives_up(&self, now: Instant, zero_window: bool) -> bool {
        if zero_window {
            now.saturating_duration_since(self.last_rcv) > self.rto_max()
        } else {
            self.write_timed_out(now)
        }
    }

    /// The retry budget is spent (Linux's `tcp_write_timeout`): in SYN-SENT after
    /// `syn_retries` plus `syn_linear_timeouts` retransmissions, in SYN-RECEIVED after
    /// `synack_retries`; and in every state once the time since the first retransmission
    /// reaches the user timeout (RFC 5482), or else the time `syn_retries`, `retries2` or
    /// `orphan_retries` exponentially backed-off retransmissions would take from the
    /// initial RTO (1 s, handshake) or 200 ms (data), RTOs capped at the maximum (Linux's
    /// `retransmits_timed_out` and `tcp_model_timeout`: 924.6 s for `retries2` = 15).
    fn write_timed_out(&self, now: Instant) -> bool {
        let (boundary, base) = match self.state() {
            State::SynSent | State::SynRcvd => {
                let (retry_until, linear) = if self.state() == State::SynSent {
                    (self.cfg.syn_retries, self.cfg.syn_linear_timeouts)
                } else {
                    (self.cfg.synack_retries, 0)
                };
                if self.retries >= retry_until.saturating_add(linear) {
                    return true;
                }
                (retry_until, self.cfg.initial_rto)
            }
            _ if self.orphaned => (self.cfg.orphan_retries, MODEL_RTO_BASE),
            _ => (self.cfg.retries2, MODEL_RTO_BASE),
        };
        if self.retries == 0 {
            return false;
        }
        if self.cfg.retry_budget == RetryBudget::Count && self.opts.user_timeout().is_none() {
            return self.retries >= boundary;
        }
        let Some(since) = self.retrans_stamp else {
            return false;
        };
        let budget = self
            .opts
            .user_timeout()
            .unwrap_or_else(|| model_timeout(boundary, base, self.rto_max()));
        now.saturating_duration_since(since) >= budget
    }

    /// The retransmissions of the flight have gone unanswered for the time `retries1` of
    /// them take in Linux's model (`retransmits_timed_out(sk, tcp_retries1, 0)`: the user
    /// timeout does not count here).
    fn retries1_timed_out(&self, now: Instant) -> bool {
        if self.retries == 0 {
            return false;
        }
        if self.cfg.retry_budget == RetryBudget::Count {
            return self.retries >= self.cfg.retries1;
        }
        self.retrans_stamp.is_some_and(|since| {
            let budget = model_timeout(self.cfg.retries1, MODEL_RTO_BASE, self.rto_max());
            now.saturating_duration_since(since) >= budget
        })
    }

    /// Arms or cancels the persist timer: it runs while data (or a FIN) waits, the peer's
    /// window keeps it back and nothing is in flight to bring an ACK (RFC 9293 §3.8.6.1).
    pub(super) fn update_persist(&mut self, now: Instant) {
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let waiting = self.snd.nxt.lt(data_end);
        let idle = self.snd.una == self.snd.max && self.rtx_at.is_none();
        let synchronized = matches!(
            self.state(),
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        if synchronized && waiting && idle {
            if self.probes.persist_at().is_none() {
                self.start_persist(now);
            }
        } else {
            self.probes.stop_persist();
        }
    }

    /// Arms the persist timer: the RTO (at least the minimum), backed off, capped at the
    /// maximum (Linux's `tcp_probe0_when`).
    #[cold]
    fn start_persist(&mut self, now: Instant) {
        let k = 1u32
            .checked_shl(self.probes.persist_backoff())
            .unwrap_or(u32::MAX);
        let base = self.rtt.rto().max(self.cfg.min_rto);
        let at = now + mul_capped(base, k, self.rto_max());
        self.probes.get_mut().persist_at = Some(at);
    }

    /// The persist timer expired: send what fits of a small window, or a zero-window probe.
    /// Probes back off but never give up while the peer answers them.
    fn on_persist(&mut self, now: Instant) {
        let probes = self.probes.persist_probes();
        if probes >= self.cfg.retries2 && self.opts.user_timeout().is_none() {
            self.fail(ConnError::TimedOut);
            return;
        }
        if let Some(ut) = self.opts.user_timeout()
            && probes > 0
            && now.saturating_duration_since(self.last_rcv) >= ut
        {
            self.fail(ConnError::TimedOut);
            return;
        }
        let base = self.rtt.rto().max(self.cfg.min_rto);
        let max = self.rto_max();
        let p = self.probes.get_mut();
        p.persist_probes += 1;
        p.persist_backoff = p.persist_backoff.saturating_add(1);
        let k = 1u32.checked_shl(p.persist_backoff).unwrap_or(u32::MAX);
        p.persist_at = Some(now + mul_capped(base, k, max));
        // poll_transmit sends what fits of a small window, or a zero-window probe.
        self.probe_pending = true;
    }

    /// When the next keepalive event is due (RFC 9293 §3.8.4; Linux: first probe after
    /// `idle` of silence, then every `interval`), if keepalive applies now: in every
    /// synchronized state but TIME_WAIT (Linux skips only CLOSE and SYN_SENT), so a
    /// half-closed connection whose peer vanished is still detected.
    fn keepalive_deadline(&self) -> Option<Instant> {
        let ka = self.opts.keepalive()?;
        let idle = self.snd.una == self.snd.max && self.send_buf.is_empty();
        if !idle || !self.state().is_synchronized() || self.state() == State::TimeWait {
            return None;
        }
        // The first probe after `idle` of silence, each next one an interval after the
        // previous probe actually went out, so a late wake-up does not fire a backlog of
        // probes at once without giving the peer time to answer.
        Some(match self.probes.get().and_then(|p| p.keepalive_last) {
            None => self.last_rcv + ka.idle,
            // An interval of zero would make the timer due again at once (a spin); Linux
            // refuses intervals under a second, we floor them at a millisecond.
            Some(last) => last + ka.interval.max(Duration::from_millis(1)),
        })
    }

    fn on_keepalive(&mut self, now: Instant) {
        let Some(ka) = self.opts.keepalive() else {
            return;
        };
        if self.probes.keepalive_probes() >= ka.count {
            // Linux resets the connection when keepalive gives up.
            self.queue_ctl(self.snd.max, self.rcv.nxt, TcpFlags::RST | TcpFlags::ACK);
            self.stats.rare().resets_sent += 1;
            self.fail(ConnError::TimedOut);
            return;
        }
        let p = self.probes.get_mut();
        p.keepalive_probes += 1;
        p.keepalive_last = Some(now);
        self.stats.rare().keepalive_probes += 1;
        self.probe_pending = true;
    }
}

/// One timer tick of the reference machine (HZ = 250): the soonest Linux re-fires a timer.
const TICK: Duration = Duration::from_millis(4);
/// Linux's `TCP_RTO_MIN`, the base of the retry-time model for data (`tcp_write_timeout`).
const MODEL_RTO_BASE: Duration = Duration::from_millis(200);

/// `tcp_model_timeout`: how long `boundary` retransmissions take, starting from an RTO of
/// `base` and doubling up to `max`, then staying there.
fn model_timeout(boundary: u32, base: Duration, max: Duration) -> Duration {
    let base_us = base.as_micros().max(1);
    let thresh = (max.as_micros() / base_us).max(1).ilog2();
    let doubled = |n: u32| {
        let k = 2u128.saturating_pow(n.min(64) + 1) - 1;
        Duration::from_micros(u64::try_from(k.saturating_mul(base_us)).unwrap_or(u64::MAX))
    };
    if boundary <= thresh {
        doubled(boundary)
    } else {
        doubled(thresh).saturating_add(max.saturating_mul(boundary - thresh))
    }
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_time_model_matches_linuxs_documented_budgets() {
        let max = Duration::from_secs(120);
        // ip-sysctl.rst: tcp_retries2 = 15 gives a hypothetical timeout of 924.6 s.
        assert_eq!(
            model_timeout(15, Duration::from_millis(200), max),
            Duration::from_millis(924_600)
        );
        // tcp_syn_retries = 6 from a 1 s initial RTO: 1 + 2 + ... + 64 = 127 s.
        assert_eq!(
            model_timeout(6, Duration::from_secs(1), max),
            Duration::from_secs(127)
        );
        // Below the cap: 2^(n+1) - 1 RTOs.
        assert_eq!(
            model_timeout(2, Duration::from_secs(1), max),
            Duration::from_secs(7)
        );
    }
}
