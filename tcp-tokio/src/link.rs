//! The packet links a stack runs over, split in two: the addressing ([`LinkState`], under
//! the shared lock, used while transmits are framed and packets handed in) and the I/O
//! object ([`LinkIo`], used by the driver task outside the lock).

use crate::udp::UdpRoutes;
use bytes::{Bytes, BytesMut};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tcp_core::{Endpoint, FourTuple, Instant, RxOffload, Transmit};

/// Where a framed packet goes: a UDP peer, or into the device.
pub(crate) type Dest = Option<SocketAddr>;

/// Transmit buffer chunk the framed packets are cut from.
const TX_CHUNK: usize = 1 << 20;

/// Makes room for `need` bytes at the end of `buf`: packets are split off one shared
/// chunk, one allocation for many; a chunk too full for the next packet is left to the
/// packets already cut from it.
pub(crate) fn reserve(buf: &mut BytesMut, need: usize) {
    if buf.capacity() - buf.len() < need {
        *buf = BytesMut::with_capacity(TX_CHUNK.max(need));
    }
}

/// A link's addressing.
#[derive(Debug)]
pub(crate) enum LinkState {
    /// One TCP segment per UDP datagram (tcp-mio's framing).
    Udp(UdpRoutes),
    /// Whole IP packets through a TUN device.
    #[cfg(target_os = "linux")]
    Tun(crate::tun::TunAddrs),
}

/// A link's I/O object.
#[derive(Debug, Clone)]
pub(crate) enum LinkIo {
    /// A tokio UDP socket.
    Udp(Arc<tokio::net::UdpSocket>),
    /// A TUN device.
    #[cfg(target_os = "linux")]
    Tun(Arc<crate::tun::TunIo>),
}

impl LinkState {
    /// The local IP connections towards `remote` use.
    pub(crate) fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        match self {
            LinkState::Udp(r) => r.local_ip(remote),
            #[cfg(target_os = "linux")]
            LinkState::Tun(t) => t.local_ip(remote),
        }
    }

    /// Records that `tuple`'s segments go to `next_hop` (UDP; the TUN link needs none).
    pub(crate) fn set_route(&mut self, tuple: FourTuple, next_hop: SocketAddr) {
        match self {
            LinkState::Udp(r) => r.set_route(tuple, next_hop),
            #[cfg(target_os = "linux")]
            LinkState::Tun(_) => {}
        }
    }

    /// Frames `ts` into packets split off `buf`, appended to `out`: one per transmit,
    /// or one per run of consecutive segments on a TUN device that takes super-segments.
    /// A transmit that cannot go anywhere (no route, a framing error) is left out: TCP
    /// retransmits it.
    pub(crate) fn frame_all(
        &mut self,
        ts: &[Transmit],
        buf: &mut BytesMut,
        out: &mut impl Extend<(Bytes, Dest)>,
    ) {
        let mut i = 0;
        while i < ts.len() {
            let (used, framed) = match self {
                LinkState::Udp(r) => {
                    reserve(buf, ts[i].len() + 64);
                    (1, r.frame(&ts[i], buf))
                }
                #[cfg(target_os = "linux")]
                LinkState::Tun(tun) => tun.frame_run(&ts[i..], buf),
            };
            out.extend(framed);
            i += used.max(1);
        }
    }

    /// Takes a received packet's link framing off (the virtio-net header of such a TUN
    /// device): the IP packet (or UDP payload) and what the device did for it. `None`: a
    /// malformed frame, counted.
    pub(crate) fn unframe(&mut self, packet: Bytes) -> Option<(Bytes, RxOffload)> {
        match self {
            LinkState::Udp(_) => Some((packet, RxOffload::NONE)),
            #[cfg(target_os = "linux")]
            LinkState::Tun(t) => t.unframe(packet),
        }
    }

    /// Hands a received packet (from `from`, for UDP; unframed) to the endpoint.
    pub(crate) fn input(
        &mut self,
        endpoint: &mut Endpoint,
        now: Instant,
        packet: Bytes,
        from: Option<SocketAddr>,
        offload: RxOffload,
    ) {
        match self {
            LinkState::Udp(r) => r.input(endpoint, now, packet, from),
            #[cfg(target_os = "linux")]
            LinkState::Tun(t) => t.input(endpoint, now, packet, offload),
        }
    }
}

impl LinkIo {
    /// Waits for one packet (cancel-safe).
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddr>)> {
        match self {
            LinkIo::Udp(s) => s.recv_from(buf).await.map(|(n, a)| (n, Some(a))),
            #[cfg(target_os = "linux")]
            LinkIo::Tun(t) => t.recv(buf).await.map(|n| (n, None)),
        }
    }

    /// One packet if one is waiting, else `WouldBlock`.
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddr>)> {
        match self {
            LinkIo::Udp(s) => s.try_recv_from(buf).map(|(n, a)| (n, Some(a))),
            #[cfg(target_os = "linux")]
            LinkIo::Tun(t) => t.try_recv(buf).map(|n| (n, None)),
        }
    }

    /// Sends one framed packet if the link takes it now, else `WouldBlock`.
    pub(crate) fn try_send(&self, packet: &[u8], to: Dest) -> io::Result<()> {
        match (self, to) {
            (LinkIo::Udp(s), Some(to)) => s.try_send_to(packet, to).map(drop),
            (LinkIo::Udp(_), None) => Err(io::ErrorKind::HostUnreachable.into()),
            #[cfg(target_os = "linux")]
            (LinkIo::Tun(t), _) => t.try_send(packet),
        }
    }

    /// Sends one framed packet.
    pub(crate) async fn send(&self, packet: &[u8], to: Dest) -> io::Result<()> {
        match (self, to) {
            (LinkIo::Udp(s), Some(to)) => s.send_to(packet, to).await.map(drop),
            (LinkIo::Udp(_), None) => Err(io::ErrorKind::HostUnreachable.into()),
            #[cfg(target_os = "linux")]
            (LinkIo::Tun(t), _) => t.send(packet).await,
        }
    }
}
