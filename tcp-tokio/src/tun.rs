//! The TUN link: whole IPv4/IPv6 packets between a Linux TUN device and the endpoint,
//! through `tokio::io::unix::AsyncFd`.
//!
//! The device is made and configured with `tcp-tun`'s code ([`tcp_tun::netns::open_tun`],
//! [`tcp_tun::netns::TunNet`]); this module only moves packets. Framing is `tcp-tun`'s:
//! transmits leave as IP packets built with [`tcp_core::wire::emit_ip_tcp_packet_with`]
//! (with the segment's ECN codepoint), and received TCP, ICMP and ICMPv6 packets go to
//! [`tcp_core::Endpoint::handle_packet`]; everything else is counted and ignored.
//!
//! In *transparent* mode every address is the stack's own: a packet to any destination is
//! taken, so a proxy terminates every TCP flow routed into the device (see
//! [`crate::Stack::listen_transparent`]).

use crate::link::Dest;
use bytes::{Bytes, BytesMut};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tcp_core::wire::{IPPROTO_TCP, IpHeader, emit_ip_tcp_packet_with, parse_ip_packet};
use tcp_core::{Endpoint, Instant, Transmit};
use tokio::io::unix::AsyncFd;

/// Counters of the TUN link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunStats {
    /// Packets handed to the endpoint.
    pub packets_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Packets framed for the device.
    pub packets_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Packets ignored: not for one of our addresses, not TCP or ICMP, or malformed.
    pub ignored: u64,
    /// Transmits that could not be framed.
    pub frame_errors: u64,
}

/// The TUN link's addressing.
#[derive(Debug)]
pub(crate) struct TunAddrs {
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
    /// Every address is ours.
    pub(crate) transparent: bool,
    pub(crate) stats: TunStats,
}

/// The device, for the driver.
#[derive(Debug)]
pub(crate) struct TunIo {
    fd: AsyncFd<tun_tap::Iface>,
}

impl TunAddrs {
    pub(crate) fn new(addrs: &[IpAddr], transparent: bool) -> TunAddrs {
        TunAddrs {
            v4: addrs.iter().find_map(|a| match a {
                IpAddr::V4(a) => Some(*a),
                IpAddr::V6(_) => None,
            }),
            v6: addrs.iter().find_map(|a| match a {
                IpAddr::V6(a) => Some(*a),
                IpAddr::V4(_) => None,
            }),
            transparent,
            stats: TunStats::default(),
        }
    }

    pub(crate) fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        match remote {
            IpAddr::V4(_) => self.v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.v6.map(IpAddr::V6),
        }
    }

    fn is_ours(&self, ip: IpAddr) -> bool {
        self.transparent
            || match ip {
                IpAddr::V4(a) => self.v4 == Some(a),
                IpAddr::V6(a) => self.v6 == Some(a),
            }
    }

    /// Frames `t` as an IP packet (with its ECN codepoint).
    pub(crate) fn frame(&mut self, t: &Transmit, buf: &mut BytesMut) -> Option<(Bytes, Dest)> {
        let ip = IpHeader::for_tcp(t.src.ip(), t.dst.ip()).map(|mut ip| {
            ip.set_ecn(t.segment.ecn);
            ip
        });
        buf.clear();
        buf.resize(t.len() + 60, 0);
        match ip
            .and_then(|ip| emit_ip_tcp_packet_with(&ip, &t.segment.header, &t.segment.payload, buf))
        {
            Ok(n) => {
                buf.truncate(n);
                self.stats.packets_out += 1;
                self.stats.bytes_out += n as u64;
                Some((buf.split().freeze(), None))
            }
            Err(_) => {
                self.stats.frame_errors += 1;
                None
            }
        }
    }

    /// Hands a received packet to the endpoint if it is TCP or ICMP for one of our
    /// addresses.
    pub(crate) fn input(&mut self, endpoint: &mut Endpoint, now: Instant, packet: Bytes) {
        let Ok((ip, _)) = parse_ip_packet(&packet) else {
            self.stats.ignored += 1;
            return;
        };
        let icmp = match ip {
            IpHeader::V4(_) => tcp_core::wire::IPPROTO_ICMP,
            IpHeader::V6(_) => tcp_core::wire::IPPROTO_ICMPV6,
        };
        if !self.is_ours(ip.dst()) || (ip.protocol() != IPPROTO_TCP && ip.protocol() != icmp) {
            self.stats.ignored += 1;
            return;
        }
        self.stats.packets_in += 1;
        self.stats.bytes_in += packet.len() as u64;
        let _ = endpoint.handle_packet(now, packet);
    }
}

/// The destination of a TCP SYN (without ACK) in `packet`, if it is one.
pub(crate) fn syn_destination(packet: &[u8]) -> Option<std::net::SocketAddr> {
    let (ip, range) = parse_ip_packet(packet).ok()?;
    if ip.protocol() != IPPROTO_TCP {
        return None;
    }
    let tcp = packet.get(range)?;
    let (&[_, _, d0, d1], flags) = (tcp.first_chunk::<4>()?, *tcp.get(13)?);
    // SYN set, ACK clear.
    (flags & 0x12 == 0x02)
        .then(|| std::net::SocketAddr::new(ip.dst(), u16::from_be_bytes([d0, d1])))
}

impl TunIo {
    /// Wraps a TUN device opened without packet information; sets it non-blocking.
    pub(crate) fn new(iface: tun_tap::Iface) -> io::Result<TunIo> {
        use std::os::fd::AsRawFd;
        let fd = iface.as_raw_fd();
        // SAFETY: fcntl on the device's open descriptor with integer arguments.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the `Iface` owns its descriptor (an open `File`) and returns that same
        // descriptor from `as_raw_fd` until it is dropped, which happens only with the
        // `AsyncFd` that owns it.
        let fd = unsafe { AsyncFd::register(iface) }.map_err(io::Error::from)?;
        Ok(TunIo { fd })
    }

    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            if let Ok(r) = guard.try_io(|fd| fd.get_ref().recv(buf)) {
                return r;
            }
        }
    }

    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.get_ref().recv(buf)
    }

    pub(crate) async fn send(&self, packet: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            if let Ok(r) = guard.try_io(|fd| fd.get_ref().send(packet)) {
                return r.map(drop);
            }
        }
    }
}
