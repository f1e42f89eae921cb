//! Loss recovery and congestion control building blocks.
//!
//! - Congestion control behind the [`CongestionControl`] trait: [`NewReno`] (RFC 5681,
//!   RFC 6582), [`LinuxCubic`] (Linux's `tcp_cubic`, the default) and [`Cubic`] (RFC 9438)
//!   with HyStart++ (`HyStart`, RFC 9406), and [`Bbr`] (draft-ietf-ccwg-bbr, BBRv3),
//!   which paces and sets its window from delivery-rate samples ([`RateSample`]).
//! - [`Scoreboard`]: the SACK sender's record of sent segments and SACKed ranges
//!   (RFC 6675, RFC 2883 DSACK detection), bounded under hostile SACK blocks.
//! - [`Rack`] and [`Tlp`]: time-based loss detection and tail loss probes (RFC 8985).
//! - [`Prr`]: Proportional Rate Reduction (RFC 9937) of how much is sent in recovery.
//! - [`Undo`]: undo of a spurious congestion response (RFC 3708, RFC 3522 Eifel,
//!   Linux-style).
//! - [`Frto`]: detection of spurious retransmission timeouts without timestamps
//!   (RFC 5682 F-RTO, SACK-enhanced as Linux's `tcp_frto = 2`).
//!
//! The connection owns the recovery episode (when it starts and ends); the controller owns
//! the arithmetic of `cwnd` and `ssthresh`. All quantities are bytes; `smss` is the sender
//! maximum segment size in payload bytes.
//!
//! # How a connection drives these pieces
//!
//! - **Transmit** (new data or retransmission of `[s, e)`): `scoreboard.on_transmit(s, e,
//!   now)` (`on_rescue_retransmit` for `NextSeg` rule 4); in recovery `prr.on_transmit(len)`;
//!   for retransmissions `undo.on_retransmit(tsval)`.
//! - **ACK** (cumulative `ack`, SACK blocks): `up = scoreboard.on_ack(ack, blocks, |d|
//!   rack.on_delivered(d, now, ts_ecr, min_rtt))`; `rack.on_ack(una, nxt,
//!   up.dsack.is_some())`; `tlp.on_ack(ack, up.dsack.map(|d| d.block), pure_dupack)`; a
//!   DSACK also goes to `undo.on_dsack(&dsack)`, then `undo.dsack_says_spurious()` / `eifel_says_spurious(ecr)`
//!   ⇒ `cc.on_spurious_congestion_undo(undo.take())`. Then
//!   `rack.detect_loss(&mut scoreboard, now, in_recovery, min_rtt, srtt, ..)`: lost bytes
//!   outside recovery start one (`scoreboard.enter_recovery()`, `cc.on_recovery_start`,
//!   `prr = Prr::new(cc.ssthresh(), flight, sacked, smss)`, `undo.on_congestion_response`);
//!   arm the reordering timer at `reo_timeout`. Outside recovery `cc.on_ack_sample(..)`;
//!   in recovery `cc.set_recovery_cwnd(pipe + prr.on_ack(delivered, pipe, una_advanced,
//!   lost > 0))`, and when `ack >= RecoveryPoint`: `scoreboard.exit_recovery()`,
//!   `cc.on_recovery_end`, `rack.on_recovery_exit()`.
//! - **Sending in recovery**: while `cwnd > pipe`, `scoreboard.next_seg(has_new_data)`.
//! - **Reordering timer**: `rack.detect_loss(..)` again.
//! - **PTO** (armed for `tlp.pto(..)` when `tlp.can_arm(..)`): send `tlp.choose_probe(..)`,
//!   then `tlp.on_probe_sent(snd_nxt, is_retrans)`.
//! - **RTO**: `scoreboard.on_rto()`, `cc.on_rto(..)`, `tlp.reset()`,
//!   `undo.on_congestion_response(..)`, `rack.on_recovery_exit()` when it ends. The first
//!   RTO of an episode also starts `Frto::on_rto(snd_max, cwnd, ssthresh)`; each ACK
//!   then goes to `frto.on_ack(..)`: `SendNew` sends up to two new segments instead of
//!   retransmissions, `Spurious` undoes (`cc.on_spurious_congestion_undo`,
//!   `scoreboard.undo_loss_marks()`), `Genuine` continues the RTO recovery.

mod bbr;
mod cubic;
mod frto;
mod hystart;
mod linux_cubic;
mod newreno;
mod prr;
mod rack;
mod rate;
mod scoreboard;
mod seglist;
mod time_order;
mod undo;

pub(crate) use bbr::Bbr;
pub(crate) use cubic::Cubic;
pub(crate) use frto::{Frto, FrtoAck, FrtoPhase, FrtoVerdict};
pub(crate) use linux_cubic::LinuxCubic;
pub(crate) use newreno::NewReno;
pub(crate) use prr::Prr;
pub use prr::PrrVariant;
pub(crate) use rack::{Rack, RackRest, Tlp, TlpAckOutcome, TlpProbe};
pub(crate) use rate::RateSample;
pub(crate) use scoreboard::{Delivered, NextSegKind, SackBlock, Scoreboard, ScoreboardRest};
pub(crate) use undo::Undo;

use crate::config::CongestionAlgorithm;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
use alloc::boxed::Box;

/// What one ACK told the sender, for controllers that need more than the acknowledged byte
/// count: RTT samples and the round structure (RFC 9406 §4.2 rounds; RFC 9438 §4.2 uses
/// the RTT in `W_cubic(t + RTT)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckSample {
    /// The time the ACK was processed.
    pub now: Instant,
    /// Bytes newly acknowledged cumulatively by this ACK (RFC 5681 §3.1 "N").
    pub acked_bytes: u32,
    /// Bytes newly SACKed by this ACK (RFC 9937 "DeliveredData" counts these too).
    pub sacked_bytes: u32,
    /// The RTT sample this ACK produced, if any (RFC 6298 §3 / RFC 7323 §4.1).
    pub rtt: Option<Duration>,
    /// The smoothed RTT after this ACK, if measured.
    pub srtt: Option<Duration>,
    /// Bytes in flight after processing the ACK (RFC 6675 `pipe` or FlightSize).
    pub in_flight: u32,
    /// SND.UNA after processing the ACK.
    pub snd_una: SeqNum,
    /// SND.NXT when the ACK was processed (the end of the current round, RFC 9406 §4.2).
    pub snd_nxt: SeqNum,
    /// The sender was application-limited when the acknowledged data was sent
    /// (RFC 7661): controllers should not grow cwnd beyond what was used.
    pub app_limited: bool,
}

/// A congestion controller (RFC 5681 vocabulary).
pub trait CongestionControl: core::fmt::Debug + Send {
    /// The congestion window in bytes.
    fn cwnd(&self) -> u32;
    /// The slow-start threshold in bytes.
    fn ssthresh(&self) -> u32;
    /// `acked` new bytes were cumulatively acknowledged outside loss recovery.
    fn on_ack(&mut self, now: Instant, acked: u32, smss: u32, rtt: Option<Duration>);
    /// An ACK outside loss recovery, with its RTT sample and round information. The
    /// default forwards to [`CongestionControl::on_ack`]; CUBIC uses the round structure for
    /// HyStart++ (RFC 9406 §4.2) and the RTT for `W_cubic(t + RTT)` (RFC 9438 §4.2).
    fn on_ack_sample(&mut self, sample: &AckSample, smss: u32) {
        self.on_ack(sample.now, sample.acked_bytes, smss, sample.rtt);
    }
    /// A loss was detected (third duplicate ACK or RACK): a recovery episode starts.
    fn on_recovery_start(&mut self, now: Instant, in_flight: u32, smss: u32);
    /// A further duplicate ACK arrived during recovery (a segment left the network).
    fn on_recovery_dupack(&mut self, smss: u32);
    /// A partial ACK (RFC 6582 §3.2 step 5) acknowledged `acked` bytes during recovery.
    fn on_partial_ack(&mut self, acked: u32, smss: u32);
    /// The recovery episode ended with a full ACK.
    fn on_recovery_end(&mut self, now: Instant, in_flight: u32, smss: u32);
    /// The retransmission timer expired (RFC 5681 §3.1, equation 4).
    fn on_rto(&mut self, now: Instant, in_flight: u32, smss: u32);
    /// The connection sets the window it computed: during a recovery episode governed by
    /// PRR (RFC 9937 §6: `cwnd = pipe + sndcnt`), and around an MTU probe (RFC 4821, Linux's
    /// one-segment debit while it is out and rescaling when it succeeds). Overrides any
    /// NewReno-style inflation.
    fn set_recovery_cwnd(&mut self, cwnd: u32);
    /// The last congestion response was spurious (RFC 3708 DSACK, RFC 3522 Eifel): restore
    /// the window state from before it (Linux `tcp_undo_cwnd_reduction`: cwnd and ssthresh
    /// become at least their prior values; controller-private state such as CUBIC's
    /// `W_max` is restored too).
    fn on_spurious_congestion_undo(&mut self, prior_cwnd: u32, prior_ssthresh: u32);
    /// The sender starts sending again after sitting `idle` with nothing in flight, longer
    /// than one `rto` (Linux's `tcp_cwnd_restart`, RFC 2861 §3.2): the window halves for
    /// every RTO of idleness, never below `min(initial window, cwnd)`; ssthresh keeps
    /// three quarters of the old window. The default does nothing.
    fn on_idle_restart(&mut self, idle: Duration, rto: Duration, initial_window: u32, smss: u32) {
        let _ = (idle, rto, initial_window, smss);
    }
    /// Data leaves while nothing is in flight, `idle` after the last data sent (Linux's
    /// `CA_EVENT_TX_START`). The default does nothing.
    fn on_tx_start(&mut self, idle: Duration) {
        let _ = idle;
    }
    /// In slow start (RFC 5681 §3.1: `cwnd < ssthresh`).
    fn in_slow_start(&self) -> bool {
        self.cwnd() < self.ssthresh()
    }
    /// The rate, in bytes per second, at which the controller asks the sender to pace, or
    /// `None` for ACK-clocked bursts (the default). Lets rate-based controllers (BBR) plug in.
    fn pacing_rate(&self) -> Option<u64> {
        None
    }
    /// Every ACK a SACK sender processes, in and out of loss recovery, after loss
    /// detection: its delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation
    /// §3.3) and what the ACK did to the flight. Model-based controllers (BBR) act here,
    /// as Linux's `cong_control`; the default does nothing, so window-based controllers
    /// are unaffected.
    fn on_rate_sample(&mut self, rs: &RateSample, smss: u32) {
        let _ = (rs, smss);
    }
    /// Whether the controller reads [`CongestionControl::on_rate_sample`]; when not (the
    /// default), the sample is not built (the estimator still keeps `tcpi_delivery_rate`).
    fn wants_rate_samples(&self) -> bool {
        false
    }
    /// The controller asks that what is sent now be marked application-limited, so its
    /// low delivery rates do not count as bandwidth (BBR's ProbeRTT,
    /// draft-ietf-ccwg-bbr §4.3.4.4). The default is `false`.
    fn wants_app_limited(&self) -> bool {
        false
    }
    /// A short name, as in Linux's `tcp_congestion_control`.
    fn name(&self) -> &'static str;
}

/// Linux's `tcp_cwnd_restart` on a window of `cwnd` packets: `(cwnd, ssthresh floor)`.
/// The window halves for every full RTO of `idle` while above `min(initial_window,
/// cwnd)`; the ssthresh floor is `tcp_current_ssthresh`, three quarters of the window.
pub fn restart_window(cwnd: u32, initial_window: u32, idle: Duration, rto: Duration) -> (u32, u32) {
    let restart = initial_window.min(cwnd).max(1);
    let floor = (cwnd >> 1) + (cwnd >> 2);
    let mut w = cwnd;
    let rto_us = rto.as_micros().max(1);
    let mut delta = idle.as_micros() as i128;
    loop {
        delta -= rto_us as i128;
        if delta <= 0 || w <= restart {
            break;
        }
        w >>= 1;
    }
    (w.max(restart), floor)
}

/// The controller a connection runs, held inline: CUBIC, the default, needs no
/// allocation and its calls are direct (the larger BBR and RFC 9438 CUBIC are boxed, so
/// they do not widen every connection).
#[derive(Debug)]
pub enum Controller {
    /// RFC 6582 NewReno.
    NewReno(NewReno),
    /// Linux's CUBIC.
    Cubic(LinuxCubic),
    /// RFC 9438 CUBIC.
    CubicRfc9438(Box<Cubic>),
    /// BBR.
    Bbr(Box<Bbr>),
}

/// Forwards one [`CongestionControl`] method to the variant's controller.
macro_rules! forward {
    ($self:ident, $c:ident => $call:expr) => {
        match $self {
            Controller::NewReno($c) => $call,
            Controller::Cubic($c) => $call,
            Controller::CubicRfc9438($c) => $call,
            Controller::Bbr($c) => $call,
        }
    };
}

impl CongestionControl for Controller {
    #[inline]
    fn cwnd(&self) -> u32 {
        forward!(self, c => c.cwnd())
    }
    #[inline]
    fn ssthresh(&self) -> u32 {
        forward!(self, c => c.ssthresh())
    }
    #[inline]
    fn on_ack(&mut self, now: Instant, acked: u32, smss: u32, rtt: Option<Duration>) {
        forward!(self, c => c.on_ack(now, acked, smss, rtt))
    }
    #[inline]
    fn on_ack_sample(&mut self, sample: &AckSample, smss: u32) {
        forward!(self, c => c.on_ack_sample(sample, smss))
    }
    #[inline]
    fn on_recovery_start(&mut self, now: Instant, in_flight: u32, smss: u32) {
        forward!(self, c => c.on_recovery_start(now, in_flight, smss))
    }
    #[inline]
    fn on_recovery_dupack(&mut self, smss: u32) {
        forward!(self, c => c.on_recovery_dupack(smss))
    }
    #[inline]
    fn on_partial_ack(&mut self, acked: u32, smss: u32) {
        forward!(self, c => c.on_partial_ack(acked, smss))
    }
    #[inline]
    fn on_recovery_end(&mut self, now: Instant, in_flight: u32, smss: u32) {
        forward!(self, c => c.on_recovery_end(now, in_flight, smss))
    }
    #[inline]
    fn on_rto(&mut self, now: Instant, in_flight: u32, smss: u32) {
        forward!(self, c => c.on_rto(now, in_flight, smss))
    }
    #[inline]
    fn set_recovery_cwnd(&mut self, cwnd: u32) {
        forward!(self, c => c.set_recovery_cwnd(cwnd))
    }
    #[inline]
    fn on_spurious_congestion_undo(&mut self, prior_cwnd: u32, prior_ssthresh: u32) {
        forward!(self, c => c.on_spurious_congestion_undo(prior_cwnd, prior_ssthresh))
    }
    #[inline]
    fn on_idle_restart(&mut self, idle: Duration, rto: Duration, initial_window: u32, smss: u32) {
        forward!(self, c => c.on_idle_restart(idle, rto, initial_window, smss))
    }
    #[inline]
    fn on_tx_start(&mut self, idle: Duration) {
        forward!(self, c => c.on_tx_start(idle))
    }
    #[inline]
    fn in_slow_start(&self) -> bool {
        forward!(self, c => c.in_slow_start())
    }
    #[inline]
    fn pacing_rate(&self) -> Option<u64> {
        forward!(self, c => c.pacing_rate())
    }
    #[inline]
    fn on_rate_sample(&mut self, rs: &RateSample, smss: u32) {
        forward!(self, c => c.on_rate_sample(rs, smss))
    }
    #[inline]
    fn wants_rate_samples(&self) -> bool {
        forward!(self, c => c.wants_rate_samples())
    }
    #[inline]
    fn wants_app_limited(&self) -> bool {
        forward!(self, c => c.wants_app_limited())
    }
    #[inline]
    fn name(&self) -> &'static str {
        forward!(self, c => c.name())
    }
}

impl Controller {
    /// Heap bytes the controller holds (the boxed variants').
    pub fn heap_bytes(&self) -> usize {
        match self {
            Controller::NewReno(_) | Controller::Cubic(_) => 0,
            Controller::CubicRfc9438(c) => core::mem::size_of_val(&**c),
            Controller::Bbr(c) => core::mem::size_of_val(&**c),
        }
    }
}

/// Builds the controller a configuration asks for (`alg`, not `cfg.congestion`: a BBR
/// connection without SACK falls back to CUBIC).
pub fn new_controller(
    alg: CongestionAlgorithm,
    cfg: &crate::config::Config,
    smss: u32,
) -> Controller {
    let initial_window = cfg.initial_window;
    match alg {
        CongestionAlgorithm::NewReno => Controller::NewReno(NewReno::new(initial_window, smss)),
        CongestionAlgorithm::Cubic => Controller::Cubic(LinuxCubic::new(initial_window, smss)),
        CongestionAlgorithm::CubicRfc9438 => {
            Controller::CubicRfc9438(Box::new(Cubic::new(initial_window, smss)))
        }
        CongestionAlgorithm::Bbr => Controller::Bbr(Box::new(
            Bbr::new(initial_window, smss).with_loss_thresh(cfg.bbr_loss_thresh),
        )),
    }
}

#[cfg(test)]
mod tests {
    //! The pieces wired together the way the module docs describe, on one loss episode.
    use super::*;
    use alloc::vec::Vec;

    const MSS: u32 = 1000;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    /// 20 segments in flight, the first lost, RTT 100 ms; CUBIC + RACK + PRR + scoreboard.
    /// RACK starts recovery at the third SACK (reo_wnd drops to 0 once DupThresh segments
    /// are SACKed), the first transmission is the lost segment, PRR spreads the rest so the
    /// flight converges to ssthresh = 0.7 · 20 segments, and the full ACK ends recovery with
    /// cwnd = ssthresh.
    #[test]
    fn one_loss_episode_end_to_end() {
        let min_rtt = Duration::from_millis(100);
        let mut cc = Cubic::new(20, MSS);
        let mut sb = Scoreboard::new(SeqNum::new(0), MSS, 64, 1024);
        let mut rack = Rack::new();
        let mut prr: Option<Prr> = None;
        for i in 0..20u32 {
            sb.on_transmit(SeqNum::new(i * MSS), SeqNum::new((i + 1) * MSS), ms(0));
        }
        let mut started_at = None;
        let mut sent: Vec<(NextSegKind, u32)> = Vec::new();
        for i in 1..20u32 {
            let now = ms(100 + u64::from(i));
            let block = SackBlock::new(SeqNum::new(MSS), SeqNum::new((i + 1) * MSS));
            let up = sb.on_ack(SeqNum::new(0), &[block], |d| {
                rack.on_delivered(d, now, None, min_rtt)
            });
            rack.on_ack(sb.high_ack(), sb.high_data(), up.dsack.is_some());
            let lost = rack.detect_loss(&mut sb, now, prr.is_some(), min_rtt, min_rtt, |_, _| {});
            if prr.is_none() && lost.lost_bytes > 0 {
                started_at = Some(i);
                sb.enter_recovery();
                let flight = sb.outstanding();
                cc.on_recovery_start(now, flight, MSS);
                // RecoverFS excludes what was SACKed before this ACK's delivery.
                let before = sb.sacked_bytes() - up.sacked_bytes;
                prr = Some(Prr::new(cc.ssthresh(), flight, before, MSS));
            }
            if let Some(p) = prr.as_mut() {
                let pipe = sb.pipe();
                let sndcnt = p.on_ack(
                    up.acked_bytes + up.sacked_bytes,
                    pipe,
                    false,
                    lost.lost_bytes > 0,
                );
                if let Some(sndcnt) = sndcnt {
                    cc.set_recovery_cwnd(pipe + sndcnt);
                }
                while cc.cwnd() >= sb.pipe() + MSS {
                    let Some(n) = sb.next_seg(true) else { break };
                    let (s, e) = match n.kind {
                        NextSegKind::NewData => (n.start, n.start + MSS),
                        _ => (n.start, n.end),
                    };
                    sb.on_transmit(s, e, now);
                    p.on_transmit(e.since(s));
                    sent.push((n.kind, s.get() / MSS));
                }
            }
            sb.check_invariants().unwrap();
        }
        assert_eq!(started_at, Some(3));
        assert_eq!(cc.ssthresh(), 14 * MSS);
        assert_eq!(sent.first(), Some(&(NextSegKind::Lost, 0)));
        assert!(sent[1..].iter().all(|&(k, _)| k == NextSegKind::NewData));
        // After all SACKs the flight (pipe) has converged to ssthresh.
        assert_eq!(sb.pipe(), 14 * MSS);
        // The retransmission is delivered: full ACK beyond RecoveryPoint.
        let rp = sb.recovery_point().unwrap();
        let up = sb.on_ack(rp, &[], |_| {});
        assert_eq!(up.acked_bytes, 20 * MSS);
        sb.exit_recovery();
        cc.on_recovery_end(ms(220), sb.pipe(), MSS);
        rack.on_recovery_exit();
        assert_eq!(cc.cwnd(), 14 * MSS);
        assert!(!cc.in_slow_start());
    }
}
