//! The UDP link: exactly `tcp-mio`'s framing, so a `tcp-tokio` stack and a `tcp-mio` stack
//! talk to each other.
//!
//! - Each UDP datagram carries one bare TCP segment (header and payload, no IP header).
//! - The TCP checksum's pseudo-header uses the two UDP sockets' IPs: the sender's socket IP
//!   as source, ours as destination. Hence the socket must be bound to a specific IP.
//! - The TCP ports are inside the segment; the UDP port only names the peer host. Routes
//!   are keyed by (our TCP port, peer IP, peer TCP port), learned from every received
//!   datagram and set by an active open that names the peer's UDP address.
//!
//! Unlike `tcp-mio`'s link this one uses plain `send_to`/`recv_from`: no GSO/GRO, no ECN
//! codepoint, no error queue (path MTU and ICMP errors). On the wire the datagrams are the
//! same.

use crate::link::Dest;
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tcp_core::{Endpoint, FourTuple, Instant, Transmit};

/// Route key: our TCP port, the peer's IP and the peer's TCP port.
type RouteKey = (u16, IpAddr, u16);

/// Most routes kept; when full the table is cleared and relearned from traffic.
const MAX_ROUTES: usize = 1 << 16;

/// Socket buffer sizes asked for (the kernel caps them at its maximum).
const SOCKET_BUFFER: usize = 4 << 20;

/// Counters of the UDP link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Datagrams received and handed to the endpoint.
    pub datagrams_in: u64,
    /// Datagrams framed for sending.
    pub datagrams_out: u64,
    /// Datagrams too short to hold TCP ports (dropped).
    pub runts: u64,
    /// Transmits dropped because no UDP address was known for their peer.
    pub no_route: u64,
    /// Segments the endpoint rejected (malformed, bad checksum).
    pub rejected: u64,
}

/// The UDP link's addressing: our socket address and the route table.
#[derive(Debug)]
pub(crate) struct UdpRoutes {
    local: SocketAddr,
    routes: HashMap<RouteKey, SocketAddr>,
    pub(crate) stats: UdpStats,
}

/// Binds a UDP socket for the link: a specific IP (it is part of every checksum), large
/// socket buffers, non-blocking, registered with the current tokio runtime.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    if addr.ip().is_unspecified() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the UDP link needs a specific local IP: it is part of every TCP checksum",
        ));
    }
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Failures only make bursts likelier to drop: the defaults still work.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(socket.into())
}

impl UdpRoutes {
    pub(crate) fn new(local: SocketAddr) -> UdpRoutes {
        UdpRoutes {
            local,
            routes: HashMap::new(),
            stats: UdpStats::default(),
        }
    }

    /// The socket's address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub(crate) fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        (remote.is_ipv4() == self.local.is_ipv4()).then_some(self.local.ip())
    }

    fn learn(&mut self, key: RouteKey, from: SocketAddr) {
        if self.routes.get(&key) == Some(&from) {
            return;
        }
        if self.routes.len() >= MAX_ROUTES {
            self.routes.clear();
        }
        self.routes.insert(key, from);
    }

    pub(crate) fn set_route(&mut self, tuple: FourTuple, next_hop: SocketAddr) {
        self.learn(
            (tuple.local.port(), tuple.remote.ip(), tuple.remote.port()),
            next_hop,
        );
    }

    /// Encodes the bare TCP segment; its destination is the peer's UDP socket.
    pub(crate) fn frame(&mut self, t: &Transmit, buf: &mut BytesMut) -> Option<(Bytes, Dest)> {
        let key = (t.src.port(), t.dst.ip(), t.dst.port());
        let Some(to) = self.routes.get(&key).copied() else {
            self.stats.no_route += 1;
            return None;
        };
        buf.clear();
        buf.resize(t.len(), 0);
        let n = t.encode(buf).ok()?;
        buf.truncate(n);
        self.stats.datagrams_out += 1;
        Some((buf.split().freeze(), Some(to)))
    }

    /// A datagram from `from`: learns its route and hands the segment to the endpoint.
    pub(crate) fn input(
        &mut self,
        endpoint: &mut Endpoint,
        now: Instant,
        packet: Bytes,
        from: Option<SocketAddr>,
    ) {
        let Some(from) = from else { return };
        let [s0, s1, d0, d1, ..] = packet[..] else {
            self.stats.runts += 1;
            return;
        };
        let (src_port, dst_port) = (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]));
        self.learn((dst_port, from.ip(), src_port), from);
        self.stats.datagrams_in += 1;
        if endpoint
            .handle_segment(now, from.ip(), self.local.ip(), packet)
            .is_err()
        {
            self.stats.rejected += 1;
        }
    }
}
