//! The TUN link: whole IPv4/IPv6 packets between a Linux TUN device and the endpoint,
//! through `tokio::io::unix::AsyncFd`.
//!
//! The device is made and configured with `tcp-tun`'s code ([`tcp_tun::netns::open_tun`],
//! [`tcp_tun::netns::TunNet`]); this module only moves packets. Framing is `tcp-tun`'s:
//! transmits leave as IP packets built with [`tcp_core::wire::emit_ip_tcp_packet_with`]
//! (with the segment's ECN codepoint), and received TCP, ICMP and ICMPv6 packets go to
//! [`tcp_core::Endpoint::handle_packet`]; everything else is counted and ignored.
//!
//! A device opened with the virtio-net header ([`tcp_tun::vnet::VnetTun`], given as
//! [`TunDevice::Vnet`]) carries that header in front of every packet, read and written
//! with the packet in one buffer: received packets the kernel marks as checksummed or
//! left to complete are not verified again ([`tcp_core::RxOffload`]), the kernel's
//! super-segments of up to 64 KiB are taken whole, and with TSO a run of consecutive
//! segments of one connection leaves as one super-segment the kernel cuts
//! ([`tcp_tun::gso`]), as `tcp-tun`'s own link does.
//!
//! In *transparent* mode every address is the stack's own: a packet to any destination is
//! taken, so a proxy terminates every TCP flow routed into the device (see
//! [`crate::Stack::listen_transparent`]).

use crate::link::{Dest, reserve};
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use tcp_core::wire::{IPPROTO_TCP, IpHeader, emit_ip_tcp_packet_with, parse_ip_packet};
use tcp_core::{Endpoint, Instant, RxOffload, Transmit};
use tcp_tun::vnet::{VNET_HDR_LEN, VnetHdr, VnetTun};
use tokio::io::unix::AsyncFd;

/// The largest IP packet a super-segment may be.
const MAX_SUPER: usize = 65_535;

/// A TUN device for [`crate::Stack::bind_tun`]: opened plainly (`tun_tap`, one
/// checksummed packet per read and write) or with the virtio-net header and the kernel's
/// offloads ([`VnetTun::open`]; see the module documentation). Both convert with `into()`.
#[derive(Debug)]
pub enum TunDevice {
    /// Opened without packet information and without the virtio-net header.
    Plain(tun_tap::Iface),
    /// Opened with the virtio-net header.
    Vnet(VnetTun),
}

impl From<tun_tap::Iface> for TunDevice {
    fn from(i: tun_tap::Iface) -> Self {
        TunDevice::Plain(i)
    }
}

impl From<VnetTun> for TunDevice {
    fn from(v: VnetTun) -> Self {
        TunDevice::Vnet(v)
    }
}

impl AsRawFd for TunDevice {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            TunDevice::Plain(i) => i.as_raw_fd(),
            TunDevice::Vnet(v) => v.as_raw_fd(),
        }
    }
}

impl TunDevice {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            TunDevice::Plain(i) => i.recv(buf),
            TunDevice::Vnet(v) => v.recv_framed(buf),
        }
    }

    fn send(&self, packet: &[u8]) -> io::Result<usize> {
        match self {
            TunDevice::Plain(i) => i.send(packet),
            TunDevice::Vnet(v) => v.send_framed(packet),
        }
    }
}

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
    /// Super-segments received (virtio-net device), each counted once in `packets_in`.
    pub gso_in: u64,
    /// Super-segments sent (virtio-net device with TSO), each counted once in
    /// `packets_out`.
    pub gso_out: u64,
}

/// The TUN link's addressing.
#[derive(Debug)]
pub(crate) struct TunAddrs {
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
    /// Every address is ours.
    pub(crate) transparent: bool,
    pub(crate) stats: TunStats,
    /// The device carries the virtio-net header; `Some(tso)`: whether it takes
    /// super-segments.
    vnet: Option<bool>,
    /// Scratch for the joined payloads of a super-segment.
    gso_payload: Vec<u8>,
}

/// The device, for the driver.
#[derive(Debug)]
pub(crate) struct TunIo {
    fd: AsyncFd<TunDevice>,
}

impl TunAddrs {
    pub(crate) fn new(addrs: &[IpAddr], transparent: bool, device: &TunDevice) -> TunAddrs {
        TunAddrs {
            vnet: match device {
                TunDevice::Plain(_) => None,
                TunDevice::Vnet(v) => Some(v.offloads().tso()),
            },
            gso_payload: Vec::new(),
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

    /// Frames the leading transmits of `ts` as one packet: a super-segment of a run
    /// when the device takes them, else the first alone. Returns how many it consumed and
    /// the packet (`None`: a framing error, counted; TCP retransmits).
    pub(crate) fn frame_run(
        &mut self,
        ts: &[Transmit],
        buf: &mut BytesMut,
    ) -> (usize, Option<(Bytes, Dest)>) {
        let Some(first) = ts.first() else {
            return (0, None);
        };
        let run = match self.vnet {
            Some(true) => tcp_tun::gso::run_len(ts),
            _ => 1,
        };
        if run < 2 {
            return (1, self.frame(first, buf));
        }
        reserve(buf, VNET_HDR_LEN + MAX_SUPER + 64);
        buf.clear();
        buf.resize(VNET_HDR_LEN + MAX_SUPER + 64, 0);
        match tcp_tun::gso::build(&ts[..run], &mut self.gso_payload, &mut buf[VNET_HDR_LEN..]) {
            Ok((n, hdr)) => {
                buf[..VNET_HDR_LEN].copy_from_slice(&hdr.to_bytes());
                buf.truncate(VNET_HDR_LEN + n);
                self.stats.packets_out += 1;
                self.stats.gso_out += 1;
                self.stats.bytes_out += n as u64;
                (run, Some((buf.split().freeze(), None)))
            }
            Err(_) => {
                self.stats.frame_errors += 1;
                buf.clear();
                (run, None)
            }
        }
    }

    /// Frames `t` as an IP packet (with its ECN codepoint), behind a virtio-net header
    /// that asks for nothing on such a device.
    fn frame(&mut self, t: &Transmit, buf: &mut BytesMut) -> Option<(Bytes, Dest)> {
        let ip = IpHeader::for_tcp(t.src.ip(), t.dst.ip()).map(|mut ip| {
            ip.set_ecn(t.segment.ecn);
            ip
        });
        let head = if self.vnet.is_some() { VNET_HDR_LEN } else { 0 };
        reserve(buf, head + t.len() + 64);
        buf.clear();
        buf.resize(head + t.len() + 60, 0);
        match ip.and_then(|ip| {
            emit_ip_tcp_packet_with(&ip, &t.segment.header, &t.segment.payload, &mut buf[head..])
        }) {
            Ok(n) => {
                buf[..head].copy_from_slice(&VnetHdr::default().to_bytes()[..head]);
                buf.truncate(head + n);
                self.stats.packets_out += 1;
                self.stats.bytes_out += n as u64;
                Some((buf.split().freeze(), None))
            }
            Err(_) => {
                self.stats.frame_errors += 1;
                buf.clear();
                None
            }
        }
    }

    /// Takes the virtio-net header off a packet as read from such a device: the packet
    /// and what the device did for it. `None`: too short (counted).
    pub(crate) fn unframe(&mut self, mut packet: Bytes) -> Option<(Bytes, RxOffload)> {
        if self.vnet.is_none() {
            return Some((packet, RxOffload::NONE));
        }
        let Some(&head) = packet.first_chunk::<VNET_HDR_LEN>() else {
            self.stats.ignored += 1;
            return None;
        };
        let hdr = VnetHdr::parse(&head);
        packet.advance(VNET_HDR_LEN);
        if hdr.is_gso() {
            self.stats.gso_in += 1;
        }
        let offload = if hdr.checksum_verified() {
            RxOffload::CHECKSUM_VERIFIED
        } else {
            RxOffload::NONE
        };
        Some((packet, offload))
    }

    /// Hands a received packet to the endpoint if it is TCP or ICMP for one of our
    /// addresses.
    pub(crate) fn input(
        &mut self,
        endpoint: &mut Endpoint,
        now: Instant,
        packet: Bytes,
        offload: RxOffload,
    ) {
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
        let _ = endpoint.handle_packet_offloaded(now, packet, offload);
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
    /// Wraps a TUN device (a plain one opened without packet information, or a
    /// virtio-net one); sets it non-blocking.
    pub(crate) fn new(device: TunDevice) -> io::Result<TunIo> {
        let fd = device.as_raw_fd();
        // SAFETY: fcntl on the device's open descriptor with integer arguments.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the device owns its descriptor (an open `File` or `OwnedFd`) and returns
        // that same descriptor from `as_raw_fd` until it is dropped, which happens only
        // with the `AsyncFd` that owns it.
        let fd = unsafe { AsyncFd::register(device) }.map_err(io::Error::from)?;
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

    /// One packet if one is waiting, else `WouldBlock`, which clears the readiness: the
    /// next [`TunIo::recv`] waits for the device instead of trying a read that would fail.
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd
            .try_io(tokio::io::Interest::READABLE, |fd| fd.recv(buf))
    }

    /// Writes one packet if the device takes it now, else `WouldBlock`.
    pub(crate) fn try_send(&self, packet: &[u8]) -> io::Result<()> {
        self.fd
            .try_io(tokio::io::Interest::WRITABLE, |fd| fd.send(packet))
            .map(drop)
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
