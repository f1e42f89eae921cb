//! Seeded impairment of a link in both directions, for tests and measurements.
//!
//! [`LossyLink`](crate::lossy::LossyLink) drops and reorders received packets and drops transmitted ones;
//! [`Impaired`] wraps it and also reorders transmitted ones (a held transmit leaves right
//! after the next one), so loss and reordering hit both directions between the TUN device
//! and the core.

use crate::check::XorShift;
use crate::lossy::{Impairment, LossyLink, LossyStats};
use mio::{Interest, Registry, Token};
use std::io;
use std::net::IpAddr;
use tcp_core::{FourTuple, Transmit};
use tcp_mio::{Link, Received};

/// Parameters of [`Impaired`]: the same probability of loss and of reordering for each
/// direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Faults {
    /// Seed of every decision.
    pub seed: u64,
    /// Probability that a packet (either direction) is dropped.
    pub loss: f64,
    /// Probability that a packet (either direction) is held back and delivered after the
    /// next one.
    pub reorder: f64,
}

/// Counters of an [`Impaired`] link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Received packets dropped / reordered, transmits dropped (from [`LossyLink`]).
    pub lossy: LossyStats,
    /// Transmits delivered out of order.
    pub send_reordered: u64,
}

/// A link with seeded loss and reordering in both directions.
#[derive(Debug)]
pub struct Impaired<L> {
    inner: LossyLink<L>,
    rng: XorShift,
    reorder: f64,
    held: Option<Transmit>,
    send_reordered: u64,
    stats: std::sync::Arc<std::sync::Mutex<FaultStats>>,
}

impl<L: Link> Impaired<L> {
    /// Wraps `inner`.
    pub fn new(inner: L, f: Faults) -> Self {
        Impaired {
            inner: LossyLink::new(
                inner,
                Impairment {
                    seed: f.seed,
                    drop: f.loss,
                    reorder: f.reorder,
                    send_drop: f.loss,
                },
            ),
            rng: XorShift::new(f.seed.wrapping_mul(31).wrapping_add(7)),
            reorder: f.reorder,
            held: None,
            send_reordered: 0,
            stats: Default::default(),
        }
    }

    /// The counters (a shared handle, updated as the link works).
    pub fn stats(&self) -> std::sync::Arc<std::sync::Mutex<FaultStats>> {
        self.stats.clone()
    }

    fn publish(&self) {
        if let Ok(mut s) = self.stats.lock() {
            *s = FaultStats {
                lossy: *self.inner.stats(),
                send_reordered: self.send_reordered,
            };
        }
    }
}

impl<L: Link> Link for Impaired<L> {
    fn send(&mut self, t: &Transmit, scratch: &mut [u8]) -> io::Result<()> {
        if self.held.is_none() && self.rng.chance(self.reorder) {
            self.held = Some(t.clone());
            return Ok(());
        }
        let r = self.inner.send(t, scratch);
        if let Some(h) = self.held.take() {
            self.send_reordered += 1;
            // A failure here only loses the held segment; TCP retransmits it.
            let _ = self.inner.send(&h, scratch);
        }
        self.publish();
        r
    }

    /// Holds back the first transmit as [`Impaired::send`] does, else passes the batch on
    /// ([`LossyLink`] drops single segments of it), then sends a held one after it.
    fn send_batch(&mut self, ts: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        let Some(first) = ts.first() else {
            return Ok(0);
        };
        if self.held.is_none() && self.rng.chance(self.reorder) {
            self.held = Some(first.clone());
            return Ok(1);
        }
        let r = self.inner.send_batch(ts, scratch);
        if r.is_ok()
            && let Some(h) = self.held.take()
        {
            self.send_reordered += 1;
            // A failure here only loses the held segment; TCP retransmits it.
            let _ = self.inner.send(&h, scratch);
        }
        self.publish();
        r
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        let r = self.inner.recv(buf);
        self.publish();
        r
    }

    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        self.inner.local_ip(remote)
    }

    fn set_route(&mut self, tuple: FourTuple, next_hop: std::net::SocketAddr) {
        self.inner.set_route(tuple, next_hop);
    }

    fn poll_icmp_error(&mut self) -> Option<tcp_mio::tcp_core::wire::IcmpError> {
        self.inner.poll_icmp_error()
    }
}

impl<L: Link> mio::event::Source for Impaired<L> {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.inner.register(r, t, i)
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.inner.reregister(r, t, i)
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        self.inner.deregister(r)
    }
}
