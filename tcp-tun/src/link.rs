//! The TUN link: whole IPv4/IPv6 packets between a Linux TUN device and the driver.

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tcp_core::wire::{IPPROTO_TCP, IpHeader, emit_ip_tcp_packet_with, parse_ip_packet};
use tcp_core::{RxOffload, Transmit};
use tcp_mio::{Frame, Link, Received};

use crate::vnet::VnetTun;

/// IPv4 header plus TCP header without options.
pub const IPV4_TCP_OVERHEAD: u32 = 40;
/// IPv6 header plus TCP header without options.
pub const IPV6_TCP_OVERHEAD: u32 = 60;

/// The MSS to advertise on a link with this MTU: MTU − 40 for IPv4, MTU − 60 for IPv6
/// (clamped to the range a 16-bit MSS field and the smallest sensible segment allow).
pub fn mss_for_mtu(mtu: u32, ipv6: bool) -> u16 {
    let overhead = if ipv6 {
        IPV6_TCP_OVERHEAD
    } else {
        IPV4_TCP_OVERHEAD
    };
    mtu.saturating_sub(overhead).clamp(64, u32::from(u16::MAX)) as u16
}

/// A [`tcp_core::Config`] whose MSS fits the MTU for both families (MTU − 60, the IPv6
/// figure, when IPv6 is used; MTU − 40 for IPv4 only). The core has one MSS per
/// configuration, so a stack serving both families on one device takes the smaller one.
pub fn config_for_mtu(mtu: u32, ipv6: bool) -> tcp_core::Config {
    let mut config = tcp_core::Config::default();
    config.mss = mss_for_mtu(mtu, ipv6);
    config
}

/// Counters of a [`TunLink`], shared (the driver owns the link; keep a clone of this to
/// read them).
#[derive(Debug, Default)]
pub struct TunStats {
    /// TCP packets for one of our addresses, handed to the driver.
    pub packets_in: AtomicU64,
    /// Their bytes (IP headers included).
    pub bytes_in: AtomicU64,
    /// Packets written to the device.
    pub packets_out: AtomicU64,
    /// Their bytes (IP headers included).
    pub bytes_out: AtomicU64,
    /// Packets for one of our addresses that carry neither TCP nor ICMP (UDP, ...):
    /// ignored.
    pub not_tcp: AtomicU64,
    /// Packets addressed elsewhere (multicast, neighbour/router discovery, other hosts):
    /// ignored.
    pub not_ours: AtomicU64,
    /// Packets whose IP header does not parse (or fragments): ignored.
    pub malformed: AtomicU64,
    /// Segments that could not be framed (larger than the scratch buffer, family mismatch).
    pub frame_errors: AtomicU64,
    /// Packets sent that were larger than the device MTU (the kernel may drop them; with an
    /// MTU-derived MSS this stays zero).
    pub oversize_out: AtomicU64,
    /// Super-segments sent (TSO through the virtio-net header), each counted once in
    /// `packets_out`.
    pub gso_out: AtomicU64,
    /// Super-segments received (the kernel's TSO or GRO), each counted once in
    /// `packets_in`.
    pub gso_in: AtomicU64,
}

/// A plain copy of [`TunStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs, reason = "the fields mirror TunStats")]
pub struct TunStatsSnapshot {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub not_tcp: u64,
    pub not_ours: u64,
    pub malformed: u64,
    pub frame_errors: u64,
    pub oversize_out: u64,
    pub gso_out: u64,
    pub gso_in: u64,
}

impl TunStats {
    /// The current values.
    pub fn snapshot(&self) -> TunStatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TunStatsSnapshot {
            packets_in: g(&self.packets_in),
            bytes_in: g(&self.bytes_in),
            packets_out: g(&self.packets_out),
            bytes_out: g(&self.bytes_out),
            not_tcp: g(&self.not_tcp),
            not_ours: g(&self.not_ours),
            malformed: g(&self.malformed),
            frame_errors: g(&self.frame_errors),
            oversize_out: g(&self.oversize_out),
            gso_out: g(&self.gso_out),
            gso_in: g(&self.gso_in),
        }
    }
}

fn bump(a: &AtomicU64, by: u64) {
    a.fetch_add(by, Ordering::Relaxed);
}

/// A [`Link`] over a Linux TUN device opened without the packet-information header.
///
/// It reads whole IP packets and hands the driver those that carry TCP, ICMP or ICMPv6
/// to one of the stack's own addresses ([`Frame::Packet`]); everything else is counted
/// and ignored. It
/// frames each [`Transmit`] as an IPv4 or IPv6 packet with
/// [`tcp_core::wire::emit_ip_tcp_packet`] and writes it to the device. The device is set
/// non-blocking and is a `mio` source.
///
/// The stack's addresses are not the kernel's: the kernel's address lives on the device
/// (e.g. 192.0.2.1/24), and the stack takes another address of that subnet (192.0.2.2),
/// which the kernel routes into the device.
#[derive(Debug)]
pub struct TunLink {
    device: Device,
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
    mtu: u32,
    stats: Arc<TunStats>,
    /// Scratch for the joined payloads of a super-segment.
    gso_payload: Vec<u8>,
    /// Whether received super-segments are cut into wire segments
    /// ([`TunLink::set_receive_segmentation`]).
    segment_received: bool,
    /// Wire segments cut from a received super-segment, not yet delivered.
    rx_segments: VecDeque<Vec<u8>>,
}

/// The device under a [`TunLink`].
#[derive(Debug)]
enum Device {
    /// Opened by `tun-tap`: whole packets, nothing offloaded.
    Plain(tun_tap::Iface),
    /// Opened with the virtio-net header: checksum offload and super-segments in.
    Vnet(VnetTun),
}

impl Device {
    fn name(&self) -> &str {
        match self {
            Device::Plain(i) => i.name(),
            Device::Vnet(v) => v.name(),
        }
    }

    fn fd(&self) -> i32 {
        match self {
            Device::Plain(i) => i.as_raw_fd(),
            Device::Vnet(v) => v.as_raw_fd(),
        }
    }

    fn send(&self, packet: &[u8]) -> io::Result<usize> {
        match self {
            Device::Plain(i) => i.send(packet),
            Device::Vnet(v) => v.send(packet),
        }
    }

    /// One packet into `buf`: its length, what the device did for it, and, for a
    /// super-segment, its segment size.
    fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, RxOffload, Option<u16>)> {
        match self {
            Device::Plain(i) => Ok((i.recv(buf)?, RxOffload::NONE, None)),
            Device::Vnet(v) => {
                let (n, hdr) = v.recv(buf)?;
                let offload = if hdr.checksum_verified() {
                    RxOffload::CHECKSUM_VERIFIED
                } else {
                    RxOffload::NONE
                };
                Ok((n, offload, hdr.is_gso().then_some(hdr.gso_size)))
            }
        }
    }
}

impl TunLink {
    /// Wraps a TUN device (made with `Iface::without_packet_info(.., Mode::Tun)`) whose
    /// stack-side addresses are `addrs` (at most one per family is used as the source of
    /// active opens; packets to any of them are accepted). Sets the device non-blocking and
    /// reads its MTU.
    pub fn new(iface: tun_tap::Iface, addrs: &[IpAddr]) -> io::Result<TunLink> {
        set_nonblocking(iface.as_raw_fd())?;
        Self::with_device(Device::Plain(iface), addrs)
    }

    /// Wraps a TUN device opened with the virtio-net header ([`VnetTun::open`]): the
    /// kernel's packets arrive without checksums to verify and, with TSO, as
    /// super-segments of up to 64 KiB ([`tcp_core::Endpoint::handle_packet_offloaded`]).
    pub fn new_vnet(device: VnetTun, addrs: &[IpAddr]) -> io::Result<TunLink> {
        Self::with_device(Device::Vnet(device), addrs)
    }

    fn with_device(device: Device, addrs: &[IpAddr]) -> io::Result<TunLink> {
        let mtu = crate::netns::get_mtu(device.name())?;
        let v4 = addrs.iter().find_map(|a| match a {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        });
        let v6 = addrs.iter().find_map(|a| match a {
            IpAddr::V6(a) => Some(*a),
            IpAddr::V4(_) => None,
        });
        Ok(TunLink {
            device,
            v4,
            v6,
            mtu,
            stats: Arc::default(),
            gso_payload: Vec::new(),
            segment_received: false,
            rx_segments: VecDeque::new(),
        })
    }

    /// With `on`, received super-segments are cut into the wire segments they stand for
    /// ([`crate::gso::segment`]) before they leave the link, each delivered on its own with
    /// full checksums. For tests that wrap the link in an impairment ([`crate::impair`]):
    /// a lossy wire loses segments, not 64 KiB super-packets. Off by default.
    pub fn set_receive_segmentation(&mut self, on: bool) {
        self.segment_received = on;
    }

    /// Opens (creating it if needed) the TUN device `name` and wraps it; see
    /// [`TunLink::new`]. Needs `CAP_NET_ADMIN` in the current network namespace.
    pub fn open(name: &str, addrs: &[IpAddr]) -> io::Result<TunLink> {
        let iface = tun_tap::Iface::without_packet_info(name, tun_tap::Mode::Tun)?;
        Self::new(iface, addrs)
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        self.device.name()
    }

    /// The offloads of the device (`None`: opened without the virtio-net header).
    pub fn offloads(&self) -> Option<crate::vnet::Offloads> {
        match &self.device {
            Device::Plain(_) => None,
            Device::Vnet(v) => Some(v.offloads()),
        }
    }

    /// The device's MTU, read when the link was made.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// Re-reads the MTU (after `ip link set mtu`).
    pub fn refresh_mtu(&mut self) -> io::Result<u32> {
        self.mtu = crate::netns::get_mtu(self.device.name())?;
        Ok(self.mtu)
    }

    /// The MSS for IPv4 connections over this device (MTU − 40).
    pub fn mss_v4(&self) -> u16 {
        mss_for_mtu(self.mtu, false)
    }

    /// The MSS for IPv6 connections over this device (MTU − 60).
    pub fn mss_v6(&self) -> u16 {
        mss_for_mtu(self.mtu, true)
    }

    /// A [`tcp_core::Config`] with the MSS for this device: the IPv6 figure if the link
    /// has an IPv6 address, else the IPv4 one.
    pub fn config(&self) -> tcp_core::Config {
        config_for_mtu(self.mtu, self.v6.is_some())
    }

    /// The counters (a shared handle; it stays valid after the link moves into a driver).
    pub fn stats(&self) -> Arc<TunStats> {
        self.stats.clone()
    }

    fn is_ours(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4 == Some(a),
            IpAddr::V6(a) => self.v6 == Some(a),
        }
    }

    /// Classifies a received packet: `true` if it goes to the driver.
    fn accept(&self, packet: &[u8]) -> bool {
        let ip = match parse_ip_packet(packet) {
            Ok((ip, _)) => ip,
            Err(_) => {
                bump(&self.stats.malformed, 1);
                return false;
            }
        };
        if !self.is_ours(ip.dst()) {
            bump(&self.stats.not_ours, 1);
            return false;
        }
        // ICMP and ICMPv6 go to the stack too: errors about our segments (unreachable,
        // packet too big, RFC 1122 §4.2.3.9, RFC 8201); the endpoint ignores the rest.
        let icmp = match ip {
            IpHeader::V4(_) => tcp_core::wire::IPPROTO_ICMP,
            IpHeader::V6(_) => tcp_core::wire::IPPROTO_ICMPV6,
        };
        if ip.protocol() != IPPROTO_TCP && ip.protocol() != icmp {
            bump(&self.stats.not_tcp, 1);
            return false;
        }
        true
    }
}

pub(crate) fn set_nonblocking(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a valid, owned descriptor with integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Link for TunLink {
    fn send(&mut self, t: &Transmit, scratch: &mut [u8]) -> io::Result<()> {
        // The IP header carries the segment's ECN codepoint (RFC 3168: ECT(0) on new data
        // of a connection that negotiated ECN).
        let ip = IpHeader::for_tcp(t.src.ip(), t.dst.ip()).map(|mut ip| {
            ip.set_ecn(t.segment.ecn);
            ip
        });
        let n = match ip.and_then(|ip| {
            emit_ip_tcp_packet_with(&ip, &t.segment.header, &t.segment.payload, scratch)
        }) {
            Ok(n) => n,
            Err(e) => {
                bump(&self.stats.frame_errors, 1);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        };
        if n > self.mtu as usize {
            bump(&self.stats.oversize_out, 1);
        }
        self.device.send(&scratch[..n])?;
        bump(&self.stats.packets_out, 1);
        bump(&self.stats.bytes_out, n as u64);
        Ok(())
    }

    /// With TSO on a virtio-net device, a run of consecutive segments of one connection
    /// goes out as one super-segment that the kernel finishes ([`crate::gso`]); otherwise
    /// one by one.
    fn send_batch(&mut self, ts: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        let tso = matches!(&self.device, Device::Vnet(v) if v.offloads().tso());
        let run = if tso { crate::gso::run_len(ts) } else { 1 };
        if run < 2 {
            return self.send(&ts[0], scratch).map(|()| 1);
        }
        let Device::Vnet(v) = &self.device else {
            return self.send(&ts[0], scratch).map(|()| 1);
        };
        let (n, hdr) = match crate::gso::build(&ts[..run], &mut self.gso_payload, scratch) {
            Ok(v) => v,
            Err(e) => {
                bump(&self.stats.frame_errors, 1);
                return Err(e);
            }
        };
        v.send_with(&hdr, &scratch[..n])?;
        bump(&self.stats.packets_out, 1);
        bump(&self.stats.bytes_out, n as u64);
        bump(&self.stats.gso_out, 1);
        Ok(run)
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            if let Some(wire) = self.rx_segments.pop_front() {
                buf[..wire.len()].copy_from_slice(&wire);
                bump(&self.stats.packets_in, 1);
                bump(&self.stats.bytes_in, wire.len() as u64);
                return Ok(Received {
                    len: wire.len(),
                    frame: Frame::Packet {
                        offload: RxOffload::NONE,
                    },
                    segment_size: None,
                });
            }
            let (len, offload, gso) = self.device.recv(buf)?;
            if self.accept(&buf[..len]) {
                if gso.is_some() {
                    bump(&self.stats.gso_in, 1);
                }
                if let Some(mss) = gso.filter(|_| self.segment_received) {
                    match crate::gso::segment(&buf[..len], mss.into()) {
                        Ok(wire) => self.rx_segments.extend(wire),
                        Err(_) => bump(&self.stats.malformed, 1),
                    }
                    continue;
                }
                bump(&self.stats.packets_in, 1);
                bump(&self.stats.bytes_in, len as u64);
                return Ok(Received {
                    len,
                    frame: Frame::Packet { offload },
                    segment_size: None,
                });
            }
        }
    }

    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        match remote {
            IpAddr::V4(_) => self.v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.v6.map(IpAddr::V6),
        }
    }
}

impl mio::event::Source for TunLink {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.device.fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.device.fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.device.fd()).deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mss_from_mtu() {
        assert_eq!(mss_for_mtu(1500, false), 1460);
        assert_eq!(mss_for_mtu(1500, true), 1440);
        assert_eq!(mss_for_mtu(1280, true), 1220);
        assert_eq!(mss_for_mtu(65_535, false), 65_495);
        assert_eq!(mss_for_mtu(100_000, false), u16::MAX);
        assert_eq!(mss_for_mtu(0, true), 64);
        assert_eq!(config_for_mtu(9000, false).mss, 8960);
    }
}
