//! Packet links: how segments leave and enter the driver.
//!
//! A [`Link`] is a `mio` event source that sends the driver's [`Transmit`]s and hands it
//! received packets until the source would block. [`UdpLink`] carries one TCP segment per
//! UDP datagram; a TUN link (in `tcp-tun`) carries whole IP packets through the same trait.

use crate::check::XorShift;
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tcp_core::{FourTuple, Transmit};

/// What a received packet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A bare TCP segment (header and payload) sent from `src` to `dst`; the TCP checksum
    /// covers the pseudo-header of these two addresses. The UDP link delivers these.
    Segment {
        /// The sender's IP address.
        src: IpAddr,
        /// Our IP address, as the sender addressed it.
        dst: IpAddr,
    },
    /// A whole IPv4 or IPv6 packet (a TUN link delivers these).
    Packet,
}

/// One packet received by [`Link::recv`]: its first `len` bytes of the buffer, and what
/// they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// How to interpret them.
    pub frame: Frame,
}

/// A packet link the [`crate::Driver`] sends and receives through.
///
/// The link is also a `mio` event source: the driver registers it for readable and writable
/// readiness and calls [`Link::recv`] until it returns `WouldBlock`.
pub trait Link: mio::event::Source {
    /// Sends one segment. The link frames it as it needs (the UDP link writes the bare TCP
    /// segment with [`Transmit::encode`]; a TUN link adds an IP header) using `scratch`,
    /// which holds at least 65,575 bytes.
    ///
    /// `WouldBlock` means "try this transmit again later": the driver keeps it and retries
    /// on the next readiness event or flush. Any other error drops the segment (TCP
    /// retransmits it) and is counted by the driver.
    fn send(&mut self, transmit: &Transmit, scratch: &mut [u8]) -> io::Result<()>;

    /// Receives one packet into `buf` (at least 65,536 bytes), or fails with `WouldBlock`
    /// when nothing is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received>;

    /// The local address this link gives connections towards `remote` (same family), if
    /// it has one. The driver uses it as the local IP of `connect` and to route transmits
    /// (a transmit goes to the first link whose address for the destination equals the
    /// transmit's source IP).
    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr>;

    /// Tells the link that segments of `tuple` go to the link-level address `next_hop`.
    /// Links that need no such mapping (TUN) ignore it; this is the default.
    fn set_route(&mut self, tuple: FourTuple, next_hop: SocketAddr) {
        let _ = (tuple, next_hop);
    }
}

/// Counters of a [`UdpLink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpLinkStats {
    /// Datagrams received and handed to the driver.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Datagrams received that were too short to hold TCP ports (dropped).
    pub runts: u64,
    /// Transmits dropped because no UDP address was known for their destination.
    pub no_route: u64,
    /// Route-table entries learned from received datagrams (new or changed).
    pub routes_learned: u64,
}

/// Route key: our TCP port, the peer's IP and the peer's TCP port. Our own IP is the
/// socket's, the same for every entry.
type RouteKey = (u16, IpAddr, u16);

/// A link carrying exactly one TCP segment per UDP datagram.
///
/// # Addresses
///
/// The endpoint sees our UDP socket's IP as its local IP and the peer's UDP socket IP as
/// the remote IP; the TCP checksum's pseudo-header uses these two IPs. The TCP ports are
/// inside the segment; the UDP port only identifies the peer host (its UDP socket).
///
/// To send a segment the link needs the peer's UDP socket address. It keeps a route table
/// keyed by (our TCP port, peer IP, peer TCP port), i.e. the connection's 4-tuple minus our
/// own IP, which is fixed:
/// - every received datagram records "this TCP peer is reached at the UDP address it came
///   from" (so a listener learns its clients, and a peer whose UDP port changes is
///   followed);
/// - an active open names the peer's UDP address ([`crate::Driver::connect_udp`]), which
///   records the route before the SYN is sent;
/// - [`UdpLink::add_peer`] names a default UDP address per peer IP, for segments to TCP
///   peers the table does not know (for example RSTs to strangers, or `connect` without a
///   UDP address).
///
/// Consequently many peers may share one IP (several processes on 127.0.0.1), as long as
/// their connections' 4-tuples differ, which they must anyway for TCP to tell them apart.
/// The table holds at most [`UdpLink::MAX_ROUTES`] entries; when full it is cleared and
/// relearned from traffic (live connections send segments all the time; an idle
/// connection's next segment goes to the default peer for its IP, if any).
///
/// The socket must be bound to a specific IP (not 0.0.0.0 or ::), since that IP is part of
/// every checksum.
#[derive(Debug)]
pub struct UdpLink {
    socket: UdpSocket,
    local: SocketAddr,
    routes: HashMap<RouteKey, SocketAddr>,
    defaults: HashMap<IpAddr, SocketAddr>,
    stats: UdpLinkStats,
}

/// Largest UDP payload over IPv4 (65,535 minus IP and UDP headers).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

impl UdpLink {
    /// Route-table capacity; see the type documentation.
    pub const MAX_ROUTES: usize = 1 << 16;

    /// Binds a non-blocking UDP socket to `addr` (a specific IP; port 0 picks one) and
    /// raises its socket buffers to 4 MiB (or the system's maximum).
    pub fn bind(addr: SocketAddr) -> io::Result<UdpLink> {
        if addr.ip().is_unspecified() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "UdpLink needs a specific local IP: it is part of every TCP checksum",
            ));
        }
        let socket = UdpSocket::bind(addr)?;
        set_buffer_sizes(&socket, 4 << 20);
        let local = socket.local_addr()?;
        Ok(UdpLink {
            socket,
            local,
            routes: HashMap::new(),
            defaults: HashMap::new(),
            stats: UdpLinkStats::default(),
        })
    }

    /// The UDP socket's address: what peers send their datagrams to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Names the UDP address of the host with IP `peer.ip()`, used for segments whose
    /// connection has no learned route.
    pub fn add_peer(&mut self, peer: SocketAddr) {
        self.defaults.insert(peer.ip(), peer);
    }

    /// The counters.
    pub fn stats(&self) -> &UdpLinkStats {
        &self.stats
    }

    /// The largest MSS that fits one datagram: the UDP payload limit minus a 20-byte TCP
    /// header (options are subtracted by the core).
    pub fn max_mss() -> u16 {
        (MAX_UDP_PAYLOAD - 20) as u16
    }

    fn learn(&mut self, key: RouteKey, from: SocketAddr) {
        if self.routes.get(&key) != Some(&from) {
            if self.routes.len() >= Self::MAX_ROUTES {
                self.routes.clear();
            }
            self.routes.insert(key, from);
            self.stats.routes_learned += 1;
        }
    }
}

/// Sets SO_RCVBUF and SO_SNDBUF; failures are ignored (the defaults still work, only less
/// well under bursts).
fn set_buffer_sizes(socket: &UdpSocket, bytes: usize) {
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    let val = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: `fd` is a valid socket for the duration of the call, and `val` is a
        // c_int whose address and size are passed as setsockopt expects.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&val as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

impl Link for UdpLink {
    fn send(&mut self, t: &Transmit, scratch: &mut [u8]) -> io::Result<()> {
        let key = (t.src.port(), t.dst.ip(), t.dst.port());
        let Some(to) = self
            .routes
            .get(&key)
            .or_else(|| self.defaults.get(&t.dst.ip()))
            .copied()
        else {
            self.stats.no_route += 1;
            return Err(io::Error::new(
                io::ErrorKind::HostUnreachable,
                "no UDP address known for this TCP peer",
            ));
        };
        let n = t
            .encode(scratch)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.socket.send_to(&scratch[..n], to)?;
        self.stats.datagrams_out += 1;
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let (len, from) = self.socket.recv_from(buf)?;
            if len < 4 {
                self.stats.runts += 1;
                continue;
            }
            let src_port = u16::from_be_bytes([buf[0], buf[1]]);
            let dst_port = u16::from_be_bytes([buf[2], buf[3]]);
            self.learn((dst_port, from.ip(), src_port), from);
            self.stats.datagrams_in += 1;
            return Ok(Received {
                len,
                frame: Frame::Segment {
                    src: from.ip(),
                    dst: self.local.ip(),
                },
            });
        }
    }

    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        (remote.is_ipv4() == self.local.is_ipv4()).then_some(self.local.ip())
    }

    fn set_route(&mut self, tuple: FourTuple, next_hop: SocketAddr) {
        self.learn(
            (tuple.local.port(), tuple.remote.ip(), tuple.remote.port()),
            next_hop,
        );
    }
}

impl mio::event::Source for UdpLink {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.socket.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.socket.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.socket.deregister(registry)
    }
}

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

    fn deliver_held(&mut self, buf: &mut [u8]) -> Option<Received> {
        let (data, frame) = self.held.take()?;
        self.release_held = false;
        buf[..data.len()].copy_from_slice(&data);
        Some(Received {
            len: data.len(),
            frame,
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

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        if self.release_held {
            if let Some(r) = self.deliver_held(buf) {
                return Ok(r);
            }
        }
        loop {
            let r = match self.inner.recv(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Nothing more is coming now: a held packet must not wait for traffic
                    // that may never come.
                    return self.deliver_held(buf).ok_or(e);
                }
                Err(e) => return Err(e),
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
