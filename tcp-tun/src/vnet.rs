//! TUN devices with the virtio-net header (`IFF_VNET_HDR`) and the kernel's offloads.
//!
//! With the header, the kernel hands the device's reader packets it has not checksummed
//! (`VIRTIO_NET_HDR_F_NEEDS_CSUM`: the TCP checksum field holds only the pseudo-header sum,
//! as for any packet that never leaves the host) and, once `TUNSETOFFLOAD` enables TSO,
//! TCP super-segments of up to 64 KiB (`gso_type` TCPV4/TCPV6, `gso_size` the MSS): one
//! `read` for up to 44 segments, and no checksum to verify. Each packet written carries a
//! header too (here always "no offload": our packets are whole and checksummed).
//!
//! A small `ioctl` layer over `libc` rather than a crate: `tun-tap`, which opens the plain
//! devices, cannot set `IFF_VNET_HDR`; `tun-rs` can, but brings its own async runtimes
//! and device management for what here is four `ioctl`s and two system calls. When the
//! kernel refuses an offload, [`VnetTun::open`] falls back to fewer (TSO, then checksum
//! only, then none); the header stays and packets still flow.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Bytes of `struct virtio_net_hdr` (no `num_buffers`): the header's size the kernel uses
/// unless `TUNSETVNETHDRSZ` says otherwise.
pub const VNET_HDR_LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum is to be completed (`csum_start`,
/// `csum_offset`); the packet came from this host, its data cannot be corrupt.
const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified.
const F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_NONE`.
const GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_TCPV4`.
const GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_TCPV6`.
const GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_ECN`: a flag on the GSO type (the segments had CWR).
const GSO_ECN: u8 = 0x80;

/// The virtio-net header of one packet (host byte order, as a TUN device without
/// `TUNSETVNETLE`/`TUNSETVNETBE` uses; little-endian on the hosts this runs on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `VIRTIO_NET_HDR_F_*`.
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*`: 0 none, 1 TCPv4, 4 TCPv6 (0x80: ECN).
    pub gso_type: u8,
    /// Length of the headers (IP and TCP) of a super-segment.
    pub hdr_len: u16,
    /// Payload bytes per segment of a super-segment (the MSS).
    pub gso_size: u16,
    /// Where the checksummed part starts (`NEEDS_CSUM`).
    pub csum_start: u16,
    /// Where in it the checksum field is (`NEEDS_CSUM`).
    pub csum_offset: u16,
}

impl VnetHdr {
    /// The header of a TCP super-segment we send: `ip_len` bytes of IP header, `tcp_len`
    /// of TCP header, `mss` payload bytes per segment; the kernel completes the checksum
    /// (whose field holds the pseudo-header sum) and cuts the segments if it must.
    pub fn tcp_gso(ipv6: bool, ip_len: u16, tcp_len: u16, mss: u16) -> VnetHdr {
        VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if ipv6 { GSO_TCPV6 } else { GSO_TCPV4 },
            hdr_len: ip_len + tcp_len,
            gso_size: mss,
            csum_start: ip_len,
            // The TCP checksum field is 16 bytes into the TCP header.
            csum_offset: 16,
        }
    }

    /// Encodes the header.
    pub fn to_bytes(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// Decodes the first [`VNET_HDR_LEN`] bytes of `b`.
    pub fn parse(b: &[u8; VNET_HDR_LEN]) -> VnetHdr {
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }

    /// Whether the TCP checksum need not (or cannot) be verified: the kernel made the
    /// packet and left it to be completed, or verified it.
    pub fn checksum_verified(&self) -> bool {
        self.flags & (F_NEEDS_CSUM | F_DATA_VALID) != 0
    }

    /// Whether the packet is a super-segment of several MSS-sized segments.
    pub fn is_gso(&self) -> bool {
        self.gso_type & !GSO_ECN != GSO_NONE
    }
}

/// Offloads enabled on a [`VnetTun`] (`TUN_F_*` bits given to `TUNSETOFFLOAD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offloads(pub u32);

impl Offloads {
    /// Checksums left to the reader (`TUN_F_CSUM`).
    pub fn csum(self) -> bool {
        self.0 & libc::TUN_F_CSUM != 0
    }

    /// TCP super-segments for IPv4 and IPv6 (`TUN_F_TSO4 | TUN_F_TSO6`).
    pub fn tso(self) -> bool {
        self.0 & (libc::TUN_F_TSO4 | libc::TUN_F_TSO6) == libc::TUN_F_TSO4 | libc::TUN_F_TSO6
    }
}

/// A TUN device opened with `IFF_VNET_HDR` (and `IFF_NO_PI`), non-blocking.
#[derive(Debug)]
pub struct VnetTun {
    fd: OwnedFd,
    name: String,
    offloads: Offloads,
}

/// `struct ifreq` with the name and the flags member of its union, as `TUNSETIFF` reads it.
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl VnetTun {
    /// Opens (creating it if needed) the TUN device `name` with the virtio-net header and
    /// enables the most of checksum offload and TSO the kernel accepts. Needs
    /// `CAP_NET_ADMIN` in the current network namespace.
    pub fn open(name: &str) -> io::Result<VnetTun> {
        Self::open_with(name, 0)
    }

    /// Opens `queues` queues of the multi-queue TUN device `name` (`IFF_MULTI_QUEUE`,
    /// created with the first), each as [`VnetTun::open`] opens a device. The kernel
    /// hands each flow's packets to the queue that last wrote packets of that flow (its
    /// flow table, `tun_flow_update`), and a flow it has not seen yet to a queue chosen by
    /// the flow's hash: a worker that owns a queue owns the flows that arrive on it, as
    /// long as it writes their packets only through it.
    pub fn open_queues(name: &str, queues: usize) -> io::Result<Vec<VnetTun>> {
        let flag = libc::IFF_MULTI_QUEUE as libc::c_short;
        (0..queues.max(1))
            .map(|_| Self::open_with(name, flag))
            .collect()
    }

    fn open_with(name: &str, extra_flags: libc::c_short) -> io::Result<VnetTun> {
        if name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "device name too long or not a C string",
            ));
        }
        // SAFETY: a NUL-terminated path literal and plain flags.
        let raw = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReqFlags {
            name: [0; libc::IFNAMSIZ],
            flags: (libc::IFF_TUN | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as libc::c_short
                | extra_flags,
            _pad: [0; 22],
        };
        for (d, s) in req.name.iter_mut().zip(name.as_bytes()) {
            *d = *s as libc::c_char;
        }
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `req` lays out (name,
        // then the flags of the union, padded to the union's size).
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel wrote a NUL-terminated name into the array.
        let name = unsafe { CStr::from_ptr(req.name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        let hdr_len = VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads an int.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &hdr_len) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut offloads = Offloads(0);
        for want in [
            libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6 | libc::TUN_F_TSO_ECN,
            libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6,
            libc::TUN_F_CSUM,
        ] {
            // SAFETY: TUNSETOFFLOAD takes the flags as the argument value.
            if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETOFFLOAD, want as libc::c_ulong) }
                == 0
            {
                offloads = Offloads(want);
                break;
            }
        }
        crate::link::set_nonblocking(fd.as_raw_fd())?;
        Ok(VnetTun { fd, name, offloads })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offloads the kernel accepted.
    pub fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// Reads one packet into `buf` (its virtio-net header apart): the packet's length
    /// and header.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, VnetHdr)> {
        let mut hdr = [0u8; VNET_HDR_LEN];
        let iov = [
            libc::iovec {
                iov_base: hdr.as_mut_ptr().cast(),
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        // SAFETY: both iovecs point into buffers that live and are writable for the call.
        let n = framed_read(unsafe { libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2) })?;
        Ok((n - VNET_HDR_LEN, VnetHdr::parse(&hdr)))
    }

    /// Reads one packet with its virtio-net header in front, as the device gives it
    /// (`buf[..VNET_HDR_LEN]` is the header, [`VnetHdr::parse`]); returns the length of
    /// both. For callers that keep the packet where it was read (zero-copy `Bytes`).
    pub fn recv_framed(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is writable for `buf.len()` bytes during the call.
        framed_read(unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    /// Writes one packet that already carries its virtio-net header in front
    /// ([`VnetHdr::to_bytes`] then the packet); returns the bytes written, header included.
    pub fn send_framed(&self, framed: &[u8]) -> io::Result<usize> {
        // SAFETY: `framed` is readable for `framed.len()` bytes during the call.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), framed.as_ptr().cast(), framed.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Writes one whole, checksummed packet, behind a header that asks for nothing.
    pub fn send(&self, packet: &[u8]) -> io::Result<usize> {
        self.send_with(&VnetHdr::default(), packet)
    }

    /// Writes one packet behind `hdr` (a super-segment: [`VnetHdr::tcp_gso`]).
    pub fn send_with(&self, hdr: &VnetHdr, packet: &[u8]) -> io::Result<usize> {
        let hdr = hdr.to_bytes();
        let iov = [
            libc::iovec {
                iov_base: hdr.as_ptr() as *mut libc::c_void,
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: packet.as_ptr() as *mut libc::c_void,
                iov_len: packet.len(),
            },
        ];
        // SAFETY: both iovecs point into buffers that live for the call; writev only reads.
        let n = unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((n as usize).saturating_sub(VNET_HDR_LEN))
    }
}

/// The length a read of one packet and its virtio-net header returned, or the error: the
/// system call's, or a read too short to hold the header.
fn framed_read(n: isize) -> io::Result<usize> {
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n < VNET_HDR_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "read shorter than the virtio-net header",
        ));
    }
    Ok(n)
}

impl AsRawFd for VnetTun {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_flags_and_gso_types() {
        let mut b = [0u8; VNET_HDR_LEN];
        assert!(!VnetHdr::parse(&b).checksum_verified());
        assert!(!VnetHdr::parse(&b).is_gso());
        b[0] = F_NEEDS_CSUM;
        b[1] = 1; // TCPv4
        b[4..6].copy_from_slice(&1448u16.to_ne_bytes());
        let h = VnetHdr::parse(&b);
        assert!(h.checksum_verified() && h.is_gso());
        assert_eq!(h.gso_size, 1448);
        b[0] = F_DATA_VALID;
        b[1] = GSO_ECN;
        let h = VnetHdr::parse(&b);
        assert!(h.checksum_verified() && !h.is_gso());
    }

    #[test]
    fn a_gso_header_round_trips() {
        let h = VnetHdr::tcp_gso(false, 20, 32, 1448);
        assert_eq!(VnetHdr::parse(&h.to_bytes()), h);
        assert!(h.is_gso() && h.checksum_verified());
        assert_eq!((h.hdr_len, h.csum_start, h.csum_offset), (52, 20, 16));
    }
}
