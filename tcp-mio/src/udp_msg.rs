//! The UDP socket calls that carry control messages, for [`crate::UdpLink`]:
//!
//! - GSO sends (`UDP_SEGMENT`) and GRO receives (`UDP_GRO`);
//! - the IP ECN field (RFC 3168 §5) of each datagram: read with `IP_RECVTOS` /
//!   `IPV6_RECVTCLASS`, written with an `IP_TOS` / `IPV6_TCLASS` control message;
//! - path MTU discovery: datagrams leave with DF set (`IP_PMTUDISC_DO`), so a datagram
//!   larger than the path MTU the kernel knows fails with `EMSGSIZE` instead of being
//!   fragmented, and the kernel queues the MTU (and the ICMP errors it receives about our
//!   datagrams) on the socket's error queue (`IP_RECVERR`), read with [`recv_error`].
//!
//! On Linux these are `sendmsg`/`recvmsg` calls; elsewhere plain `send_to`/`recv_from`
//! without GSO, GRO, ECN or the error queue.

use std::net::SocketAddr;
use tcp_core::IpEcn;

/// Sets an integer socket option; true if the kernel accepted it.
pub(crate) fn set_int(
    socket: &mio::net::UdpSocket,
    level: libc::c_int,
    opt: libc::c_int,
    val: libc::c_int,
) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket and a c_int option value of the size passed.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            opt,
            (&val as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

/// One receive call's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecvMeta {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The sender.
    pub from: SocketAddr,
    /// `Some(size)`: several datagrams of `size` bytes coalesced by GRO.
    pub segment_size: Option<usize>,
    /// The ECN codepoint of the datagram(s) (GRO coalesces only equal ones).
    pub ecn: IpEcn,
}

/// Where a queued error comes from (`SO_EE_ORIGIN_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrOrigin {
    /// Our own kernel refused a send (`EMSGSIZE`: `info` is the path MTU).
    Local,
    /// An ICMP message about one of our datagrams.
    Icmp,
    /// An ICMPv6 message about one of our datagrams.
    Icmp6,
    /// Anything else (timestamps, zero-copy notifications): ignored.
    Other,
}

/// One entry of the socket's error queue (`struct sock_extended_err` and what comes
/// with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueuedError {
    /// Who reported it.
    pub origin: ErrOrigin,
    /// The errno it stands for.
    pub errno: i32,
    /// ICMP type and code (ICMP origins).
    pub type_code: (u8, u8),
    /// The MTU for `EMSGSIZE` and packet too big; otherwise the ICMP message's info.
    pub info: u32,
    /// Destination of the datagram the error is about.
    pub dest: Option<SocketAddr>,
    /// The first bytes of that datagram's payload, as the ICMP message quoted them
    /// (`head_len` of them; none for local errors).
    pub head: [u8; 8],
    /// How many bytes of `head` are valid.
    pub head_len: usize,
}

#[cfg(target_os = "linux")]
pub(crate) use linux::{configure, recv, recv_error, send, set_gro};

#[cfg(not(target_os = "linux"))]
pub(crate) use portable::{configure, recv, recv_error, send, set_gro};

#[cfg(target_os = "linux")]
mod linux {
    use super::{ErrOrigin, QueuedError, RecvMeta, set_int};
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;
    use tcp_core::IpEcn;

    /// `UDP_SEGMENT` from `<linux/udp.h>` (not in the libc crate).
    const UDP_SEGMENT: libc::c_int = 103;
    /// `UDP_GRO` from `<linux/udp.h>`.
    const UDP_GRO: libc::c_int = 104;
    /// `SO_EE_ORIGIN_ICMP` / `SO_EE_ORIGIN_ICMP6` from `<linux/errqueue.h>`.
    const SO_EE_ORIGIN_ICMP: u8 = 2;
    const SO_EE_ORIGIN_ICMP6: u8 = 3;

    /// Asks for the ECN field of received datagrams, for DF on sent ones, and for the
    /// error queue. Returns whether the error queue is on (without it, `EMSGSIZE` comes
    /// without the MTU).
    pub(crate) fn configure(socket: &mio::net::UdpSocket, v6: bool) -> bool {
        if v6 {
            set_int(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 1);
            set_int(
                socket,
                libc::IPPROTO_IPV6,
                libc::IPV6_MTU_DISCOVER,
                libc::IPV6_PMTUDISC_DO,
            );
            set_int(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)
        } else {
            set_int(socket, libc::IPPROTO_IP, libc::IP_RECVTOS, 1);
            set_int(
                socket,
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                libc::IP_PMTUDISC_DO,
            );
            set_int(socket, libc::IPPROTO_IP, libc::IP_RECVERR, 1)
        }
    }

    /// Sets `UDP_GRO`; true if the kernel accepted it.
    pub(crate) fn set_gro(socket: &mio::net::UdpSocket, on: bool) -> bool {
        set_int(socket, libc::SOL_UDP, UDP_GRO, on.into())
    }

    /// The socket address the kernel wrote into `addr`, if it is IPv4 or IPv6.
    fn from_sockaddr(addr: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match libc::c_int::from(addr.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in, which it is
                // large and aligned enough for.
                let sin = unsafe {
                    &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                Some(SocketAddr::new(
                    std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()).into(),
                    u16::from_be(sin.sin_port),
                ))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe {
                    &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                    sin6.sin6_addr.s6_addr.into(),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// `to` as a sockaddr and its length.
    fn to_sockaddr(to: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
        // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = match to {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
                let sin = unsafe {
                    &mut *(&mut addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe {
                    &mut *(&mut addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr.s6_addr = a.ip().octets();
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_scope_id = a.scope_id();
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        (addr, len as libc::socklen_t)
    }

    /// The control messages this module reads, as the kernel attached them to a
    /// received datagram or queued error.
    #[derive(Default)]
    struct Control {
        /// `UDP_GRO`: the segment size of a coalesced batch.
        gro: Option<libc::c_int>,
        /// `IP_TOS` / `IPV6_TCLASS`: the traffic class byte, ECN in its low bits.
        tos: u8,
        /// `IP_RECVERR` / `IPV6_RECVERR`: a queued error.
        err: Option<libc::sock_extended_err>,
    }

    /// One `recvmsg` call with `flags` into `buf`: the bytes received, the address the
    /// kernel named (the sender, or the destination a queued error is about), and the
    /// control messages this module reads.
    fn recvmsg(
        socket: &mio::net::UdpSocket,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, Option<SocketAddr>, Control)> {
        // SAFETY: sockaddr_storage and msghdr are plain data; all zeroes is valid.
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // u64 array: aligned for cmsghdr; room for GRO and TOS, or for an extended error
        // and its offender's address.
        let mut control = [0u64; 16];
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: recvmsg writes at most `buf.len()` bytes into `buf`, at most
        // `msg_namelen` into `addr` and at most `msg_controllen` into `control`, all
        // borrowed for the call.
        let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, flags) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut c = Control::default();
        // SAFETY: the control messages are walked with the CMSG_* helpers within the
        // `msg_controllen` the kernel set, and each is read (unaligned) with the size its
        // level and type give it.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let data = libc::CMSG_DATA(cmsg);
                match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                    (libc::SOL_UDP, UDP_GRO) => {
                        c.gro = Some(std::ptr::read_unaligned(data.cast::<libc::c_int>()));
                    }
                    (libc::IPPROTO_IP, libc::IP_TOS) => c.tos = *data,
                    (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => {
                        c.tos = std::ptr::read_unaligned(data.cast::<libc::c_int>()) as u8;
                    }
                    (libc::IPPROTO_IP, libc::IP_RECVERR)
                    | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR) => {
                        c.err = Some(std::ptr::read_unaligned(
                            data.cast::<libc::sock_extended_err>(),
                        ));
                    }
                    _ => {}
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        Ok((n as usize, from_sockaddr(&addr), c))
    }

    /// Receives one datagram, or a GRO batch of them, into `buf`.
    pub(crate) fn recv(socket: &mio::net::UdpSocket, buf: &mut [u8]) -> io::Result<RecvMeta> {
        let (len, from, c) = recvmsg(socket, buf, 0)?;
        let from = from.ok_or_else(|| io::Error::other("recvmsg: unknown address family"))?;
        Ok(RecvMeta {
            len,
            from,
            segment_size: c.gro.and_then(|v| usize::try_from(v).ok()),
            ecn: IpEcn::from_tos(c.tos),
        })
    }

    /// Sends `data` to `to` with ECN codepoint `ecn`: one datagram, or with `segment`,
    /// datagrams of `segment` bytes each (the last may be shorter) in one GSO call.
    pub(crate) fn send(
        socket: &mio::net::UdpSocket,
        data: &[u8],
        segment: Option<u16>,
        to: SocketAddr,
        ecn: IpEcn,
    ) -> io::Result<()> {
        let (mut addr, addr_len) = to_sockaddr(to);
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // u64 array: aligned for cmsghdr; room for UDP_SEGMENT and IP_TOS / IPV6_TCLASS.
        let mut control = [0u64; 8];
        // SAFETY: msghdr is plain data; all zeroes is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = addr_len;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        let mut used = 0usize;
        // SAFETY: each control message is written at an offset of whole CMSG_SPACE
        // units inside `control` (64 bytes, two messages of at most 24 bytes each), with
        // the header and data sizes its type needs; `msg_controllen` is set to what was
        // written, and everything msghdr points to outlives the sendmsg call.
        unsafe {
            let base: *mut u8 = control.as_mut_ptr().cast();
            let mut put = |level: libc::c_int, ty: libc::c_int, val: &[u8]| {
                let c = base.add(used).cast::<libc::cmsghdr>();
                (*c).cmsg_level = level;
                (*c).cmsg_type = ty;
                (*c).cmsg_len = libc::CMSG_LEN(val.len() as u32) as _;
                std::ptr::copy_nonoverlapping(val.as_ptr(), libc::CMSG_DATA(c), val.len());
                used += libc::CMSG_SPACE(val.len() as u32) as usize;
            };
            if let Some(size) = segment {
                put(libc::SOL_UDP, UDP_SEGMENT, &size.to_ne_bytes());
            }
            if ecn != IpEcn::NotEct {
                let tos = libc::c_int::from(ecn.bits());
                match to {
                    SocketAddr::V4(_) => put(libc::IPPROTO_IP, libc::IP_TOS, &tos.to_ne_bytes()),
                    SocketAddr::V6(_) => {
                        put(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, &tos.to_ne_bytes())
                    }
                }
            }
            if used > 0 {
                msg.msg_control = control.as_mut_ptr().cast();
                msg.msg_controllen = used as _;
            }
            if libc::sendmsg(socket.as_raw_fd(), &msg, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Reads one entry of the socket's error queue; `WouldBlock` when it is empty.
    pub(crate) fn recv_error(socket: &mio::net::UdpSocket) -> io::Result<QueuedError> {
        let mut head = [0u8; 8];
        let (n, dest, c) = recvmsg(socket, &mut head, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT)?;
        let Some(e) = c.err else {
            return Ok(QueuedError {
                origin: ErrOrigin::Other,
                errno: 0,
                type_code: (0, 0),
                info: 0,
                dest: None,
                head,
                head_len: 0,
            });
        };
        let origin = match e.ee_origin {
            libc::SO_EE_ORIGIN_LOCAL => ErrOrigin::Local,
            SO_EE_ORIGIN_ICMP => ErrOrigin::Icmp,
            SO_EE_ORIGIN_ICMP6 => ErrOrigin::Icmp6,
            _ => ErrOrigin::Other,
        };
        Ok(QueuedError {
            origin,
            errno: e.ee_errno as i32,
            type_code: (e.ee_type, e.ee_code),
            info: e.ee_info,
            dest,
            head,
            head_len: n.min(head.len()),
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod portable {
    use super::{QueuedError, RecvMeta};
    use std::io;
    use std::net::SocketAddr;
    use tcp_core::IpEcn;

    pub(crate) fn configure(_socket: &mio::net::UdpSocket, _v6: bool) -> bool {
        false
    }

    pub(crate) fn set_gro(_socket: &mio::net::UdpSocket, _on: bool) -> bool {
        false
    }

    pub(crate) fn recv(socket: &mio::net::UdpSocket, buf: &mut [u8]) -> io::Result<RecvMeta> {
        let (len, from) = socket.recv_from(buf)?;
        Ok(RecvMeta {
            len,
            from,
            segment_size: None,
            ecn: IpEcn::NotEct,
        })
    }

    pub(crate) fn send(
        socket: &mio::net::UdpSocket,
        data: &[u8],
        segment: Option<u16>,
        to: SocketAddr,
        _ecn: IpEcn,
    ) -> io::Result<()> {
        if segment.is_some() {
            return Err(io::ErrorKind::Unsupported.into());
        }
        socket.send_to(data, to).map(|_| ())
    }

    pub(crate) fn recv_error(_socket: &mio::net::UdpSocket) -> io::Result<QueuedError> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}
