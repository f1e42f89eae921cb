//! [`LossyLink`]: seeded impairments between a link and the core, for tests over real
//! sockets.

use crate::check::XorShift;
use mio::{Interest, Registry, Token};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tcp_core::{FourTuple, Transmit};
use tcp_mio::{Frame, Link, Received};

/// Parameters of a [`LossyLink`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impairment {
    /// Seed of the pseudo-random decisions (the same seed and traffic give the same
    /// decisions).
    pub seed: u64,
    /// Probability that a received packet is dropped.
    pub drop: f64,
    /// Probability that a received packet is held back and delivered after the next one.
    pub reorder: f64,
    /// Probability that a transmitted segment is dropped before it reaches the link.
    pub send_drop: f64,
}

/// Counters of a [`LossyLink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossyStats {
    /// Received packets dropped.
    pub dropped: u64,
    /// Received packets delivered out of order.
    pub reordered: u64,
    /// Transmits dropped.
    pub send_dropped: u64,
}

/// Wraps a link and impairs it between the socket and the core: seeded drops and
/// reordering of received packets, and drops of sent ones. For tests of recovery over real
/// sockets.
#[derive(Debug)]
pub struct LossyLink<L> {
    inner: L,
    cfg: Impairment,
    rng: XorShift,
    held: Option<(Vec<u8>, Frame)>,
    release_held: bool,
    /// Packets split off a coalesced batch, waiting for their own impairment decision.
    staged: std::collections::VecDeque<(Vec<u8>, Frame)>,
    stats: LossyStats,
}

impl<L: Link> LossyLink<L> {
    /// Wraps `inner` with the given impairment.
    pub fn new(inner: L, cfg: Impairment) -> Self {
        LossyLink {
            inner,
            rng: XorShift::new(cfg.seed),
            cfg,
            held: None,
            release_held: false,
            staged: Default::default(),
            stats: LossyStats::default(),
        }
    }

    /// The wrapped link.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// The wrapped link, mutably (for example to add peers).
    pub fn inner_mut(&mut self) -> &mut L {
        &mut self.inner
    }

    /// The counters.
    pub fn stats(&self) -> &LossyStats {
        &self.stats
    }

    /// Splits a coalesced batch: the first packet stays in `buf`, the others are staged.
    fn split(&mut self, buf: &[u8], r: Received) -> Received {
        let Some(size) = r.segment_size else {
            return r;
        };
        for chunk in buf[size..r.len].chunks(size) {
            self.staged.push_back((chunk.to_vec(), r.frame));
        }
        Received {
            len: size,
            frame: r.frame,
            segment_size: None,
        }
    }

    fn deliver_held(&mut self, buf: &mut [u8]) -> Option<Received> {
        let (data, frame) = self.held.take()?;
        self.release_held = false;
        buf[..data.len()].copy_from_slice(&data);
        Some(Received {
            len: data.len(),
            frame,
            segment_size: None,
        })
    }
}

impl<L: Link> Link for LossyLink<L> {
    fn send(&mut self, t: &Transmit, scratch: &mut [u8]) -> io::Result<()> {
        if self.rng.chance(self.cfg.send_drop) {
            self.stats.send_dropped += 1;
            return Ok(());
        }
        self.inner.send(t, scratch)
    }

    /// Decides each transmit's fate as [`LossyLink::send`] does and hands the leading
    /// survivors to the wrapped link as one batch, so a link that coalesces (UDP GSO, TUN
    /// TSO) still does, and loss hits single segments, never a whole batch.
    fn send_batch(&mut self, ts: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        if ts.is_empty() {
            return Ok(0);
        }
        if self.rng.chance(self.cfg.send_drop) {
            self.stats.send_dropped += 1;
            return Ok(1);
        }
        let mut run = 1;
        let mut drop_next = false;
        while run < ts.len() {
            if self.rng.chance(self.cfg.send_drop) {
                drop_next = true;
                break;
            }
            run += 1;
        }
        let sent = self.inner.send_batch(&ts[..run], scratch)?;
        // The segment after a wholly sent run was decided lost: it is consumed too.
        if sent == run && drop_next {
            self.stats.send_dropped += 1;
            return Ok(run + 1);
        }
        Ok(sent)
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        if self.release_held
            && let Some(r) = self.deliver_held(buf)
        {
            return Ok(r);
        }
        loop {
            let r = if let Some((data, frame)) = self.staged.pop_front() {
                buf[..data.len()].copy_from_slice(&data);
                Received {
                    len: data.len(),
                    frame,
                    segment_size: None,
                }
            } else {
                match self.inner.recv(buf) {
                    Ok(r) => self.split(buf, r),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Nothing more is coming now: a held packet must not wait for
                        // traffic that may never come.
                        return self.deliver_held(buf).ok_or(e);
                    }
                    Err(e) => return Err(e),
                }
            };
            if self.rng.chance(self.cfg.drop) {
                self.stats.dropped += 1;
                continue;
            }
            if self.held.is_none() && self.rng.chance(self.cfg.reorder) {
                self.held = Some((buf[..r.len].to_vec(), r.frame));
                continue;
            }
            if self.held.is_some() {
                self.stats.reordered += 1;
                self.release_held = true;
            }
            return Ok(r);
        }
    }

    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        self.inner.local_ip(remote)
    }

    fn set_route(&mut self, tuple: FourTuple, next_hop: SocketAddr) {
        self.inner.set_route(tuple, next_hop);
    }

    fn poll_icmp_error(&mut self) -> Option<tcp_core::wire::IcmpError> {
        self.inner.poll_icmp_error()
    }
}

impl<L: Link> mio::event::Source for LossyLink<L> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.inner.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.inner.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.inner.deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_mio::UdpLink;

    #[test]
    fn a_lossy_link_with_certain_drop_delivers_nothing_and_counts_it() {
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = UdpLink::bind(lo).unwrap();
        let sender = std::net::UdpSocket::bind(lo).unwrap();
        let to = a.local_addr();
        let mut lossy = LossyLink::new(
            a,
            Impairment {
                seed: 3,
                drop: 1.0,
                reorder: 0.0,
                send_drop: 0.0,
            },
        );
        for _ in 0..3 {
            sender.send_to(&[0u8; 20], to).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut buf = vec![0u8; 65_536];
        assert_eq!(
            lossy.recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(lossy.stats().dropped, 3);
    }

    /// A link that takes whole batches and remembers their sizes.
    #[derive(Default)]
    struct Batches(Vec<usize>);

    impl mio::event::Source for Batches {
        fn register(&mut self, _: &Registry, _: Token, _: Interest) -> io::Result<()> {
            Ok(())
        }
        fn reregister(&mut self, _: &Registry, _: Token, _: Interest) -> io::Result<()> {
            Ok(())
        }
        fn deregister(&mut self, _: &Registry) -> io::Result<()> {
            Ok(())
        }
    }

    impl Link for Batches {
        fn send(&mut self, _: &Transmit, _: &mut [u8]) -> io::Result<()> {
            self.0.push(1);
            Ok(())
        }
        fn send_batch(&mut self, ts: &[Transmit], _: &mut [u8]) -> io::Result<usize> {
            self.0.push(ts.len());
            Ok(ts.len())
        }
        fn recv(&mut self, _: &mut [u8]) -> io::Result<Received> {
            Err(io::ErrorKind::WouldBlock.into())
        }
        fn local_ip(&self, _: IpAddr) -> Option<IpAddr> {
            None
        }
    }

    #[test]
    fn a_lossy_batch_send_drops_single_segments_and_passes_the_rest_on_in_batches() {
        let t = Transmit {
            src: "192.0.2.2:1".parse().unwrap(),
            dst: "192.0.2.1:2".parse().unwrap(),
            segment: tcp_core::Segment {
                header: tcp_core::wire::TcpHeader::default(),
                payload: bytes::Bytes::from_static(&[1; 100]),
                ecn: tcp_core::IpEcn::NotEct,
            },
        };
        let ts = vec![t; 1000];
        let mut lossy = LossyLink::new(
            Batches::default(),
            Impairment {
                seed: 9,
                drop: 0.0,
                reorder: 0.0,
                send_drop: 0.1,
            },
        );
        let mut scratch = [];
        let mut at = 0;
        while at < ts.len() {
            let n = lossy.send_batch(&ts[at..], &mut scratch).unwrap();
            assert!(n >= 1);
            at += n;
        }
        let sent: usize = lossy.inner().0.iter().sum();
        let dropped = lossy.stats().send_dropped as usize;
        assert_eq!(sent + dropped, 1000, "every transmit consumed exactly once");
        assert!(
            (50..150).contains(&dropped),
            "about 10 % dropped: {dropped}"
        );
        assert!(
            lossy.inner().0.iter().any(|&b| b > 5),
            "survivors go on in batches: {:?}",
            lossy.inner().0
        );
    }
}
