//! Congestion control behind a trait, so controllers can be added without touching the
//! state machine.
//!
//! The connection owns loss detection and the recovery episode (when to fast-retransmit,
//! when recovery ends); the controller owns the arithmetic of `cwnd` and `ssthresh`.
//! All quantities are bytes; `smss` is the sender maximum segment size in payload bytes.

mod newreno;

pub use newreno::NewReno;

use crate::config::CongestionAlgorithm;
use crate::time::{Duration, Instant};
use alloc::boxed::Box;

/// A congestion controller (RFC 5681 vocabulary).
pub trait CongestionControl: core::fmt::Debug + Send {
    /// The congestion window in bytes.
    fn cwnd(&self) -> u32;
    /// The slow-start threshold in bytes.
    fn ssthresh(&self) -> u32;
    /// `acked` new bytes were cumulatively acknowledged outside loss recovery.
    fn on_ack(&mut self, now: Instant, acked: u32, smss: u32, rtt: Option<Duration>);
    /// A loss was detected (third duplicate ACK): a recovery episode starts.
    fn on_recovery_start(&mut self, now: Instant, in_flight: u32, smss: u32);
    /// A further duplicate ACK arrived during recovery (a segment left the network).
    fn on_recovery_dupack(&mut self, smss: u32);
    /// A partial ACK (RFC 6582 §3.2 step 5) acknowledged `acked` bytes during recovery.
    fn on_partial_ack(&mut self, acked: u32, smss: u32);
    /// The recovery episode ended with a full ACK.
    fn on_recovery_end(&mut self, now: Instant, in_flight: u32, smss: u32);
    /// The retransmission timer expired (RFC 5681 §3.1, equation 4).
    fn on_rto(&mut self, now: Instant, in_flight: u32, smss: u32);
    /// A short name, as in Linux's `tcp_congestion_control`.
    fn name(&self) -> &'static str;
}

/// Builds the controller a configuration asks for.
pub fn new_controller(
    alg: CongestionAlgorithm,
    initial_window: u32,
    smss: u32,
) -> Box<dyn CongestionControl> {
    match alg {
        CongestionAlgorithm::NewReno => Box::new(NewReno::new(initial_window, smss)),
    }
}
