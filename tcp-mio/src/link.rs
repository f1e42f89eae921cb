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
    /// `Some(size)`: the buffer holds several packets of `size` bytes each (the last may
    /// be shorter), all with the same `frame` addresses, as UDP GRO delivers them. `None`:
    /// one packet.
    pub segment_size: Option<usize>,
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

    /// Sends several segments at once (a link may coalesce them, as [`UdpLink`] does with
    /// UDP GSO). Returns how many leading transmits were consumed (sent, or dropped for a
    /// reason retrying would not fix), at least one. `Err(WouldBlock)`: none was consumed,
    /// retry later; any other error: the first transmit failed and is dropped.
    ///
    /// The default sends them one by one with [`Link::send`].
    fn send_batch(&mut self, transmits: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        for (i, t) in transmits.iter().enumerate() {
            if let Err(e) = self.send(t, scratch) {
                return if i == 0 { Err(e) } else { Ok(i) };
            }
        }
        Ok(transmits.len())
    }

    /// Receives one packet into `buf` (at least 65,536 bytes), or fails with `WouldBlock`
    /// when nothing is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received>;

    /// The local address this link gives connections towards `remote` (same family), if
    /// it has one. The driver uses it as the local IP of `connect` (the first link that
    /// has one is used) and to route transmits: with several links, a transmit leaves
    /// through the link its connection's packets last arrived on (or that it was opened
    /// on), else through the first link whose address equals the transmit's source IP.
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
    /// Send calls that carried several segments with UDP GSO (`UDP_SEGMENT`).
    pub gso_sends: u64,
    /// Receive calls that returned several coalesced segments (UDP GRO).
    pub gro_batches: u64,
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
    gso: bool,
    gro: bool,
    /// The route learned last: most datagrams repeat it, and this skips the table lookup.
    last_learned: Option<(RouteKey, SocketAddr)>,
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
            gso: cfg!(target_os = "linux"),
            gro: false,
            last_learned: None,
        })
        .map(|mut link| {
            link.set_gro(true);
            link
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

    /// Turns coalescing of equal-sized segments into one UDP GSO send on (the default on
    /// Linux) or off. It turns itself off if the kernel refuses it.
    pub fn set_gso(&mut self, on: bool) {
        self.gso = on && cfg!(target_os = "linux");
    }

    /// Turns receiving coalesced datagrams (UDP GRO: one receive call for a run of
    /// datagrams from one sender) on (the default on Linux, where the kernel supports it)
    /// or off. Returns whether it is on.
    pub fn set_gro(&mut self, on: bool) -> bool {
        self.gro = gso::set_gro(&self.socket, on) && on;
        self.gro
    }

    fn route(&mut self, t: &Transmit) -> Option<SocketAddr> {
        let key = (t.src.port(), t.dst.ip(), t.dst.port());
        let to = self
            .routes
            .get(&key)
            .or_else(|| self.defaults.get(&t.dst.ip()))
            .copied();
        if to.is_none() {
            self.stats.no_route += 1;
        }
        to
    }

    fn learn(&mut self, key: RouteKey, from: SocketAddr) {
        if self.last_learned == Some((key, from)) {
            return;
        }
        self.last_learned = Some((key, from));
        if self.routes.get(&key) != Some(&from) {
            if self.routes.len() >= Self::MAX_ROUTES {
                self.routes.clear();
                self.last_learned = None;
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
        let Some(to) = self.route(t) else {
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

    fn send_batch(&mut self, ts: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        if !self.gso || ts.len() < 2 {
            return self.send(&ts[0], scratch).map(|()| 1);
        }
        let Some(to) = self.route(&ts[0]) else {
            return Err(io::Error::new(
                io::ErrorKind::HostUnreachable,
                "no UDP address known for this TCP peer",
            ));
        };
        // Coalesce a run of segments to the same peer, all of the first one's length (the
        // last may be shorter), into one buffer for a single GSO send.
        let limit = scratch.len().min(MAX_UDP_PAYLOAD);
        let first = ts[0]
            .encode(scratch)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let (mut used, mut count) = (first, 1);
        while count < ts.len().min(GSO_MAX_SEGMENTS) {
            let t = &ts[count];
            if used + t.len() > limit || t.len() > first || self.route(t) != Some(to) {
                break;
            }
            let n = t
                .encode(&mut scratch[used..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            used += n;
            count += 1;
            if n < first {
                break;
            }
        }
        if count == 1 {
            self.socket.send_to(&scratch[..used], to)?;
            self.stats.datagrams_out += 1;
            return Ok(1);
        }
        match gso::send(&self.socket, &scratch[..used], first as u16, to) {
            Ok(()) => {
                self.stats.datagrams_out += count as u64;
                self.stats.gso_sends += 1;
                Ok(count)
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINVAL | libc::ENOPROTOOPT | libc::EIO | libc::EOPNOTSUPP)
                ) =>
            {
                // The kernel does not support it here: send one by one from now on.
                self.gso = false;
                self.send(&ts[0], scratch).map(|()| 1)
            }
            Err(e) => Err(e),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let (len, from, seg) = if self.gro {
                gso::recv(&self.socket, buf)?
            } else {
                let (len, from) = self.socket.recv_from(buf)?;
                (len, from, None)
            };
            let seg = seg.filter(|&s| s > 0 && s < len);
            let step = seg.unwrap_or(len.max(1));
            let mut count = 0;
            for off in (0..len).step_by(step) {
                count += 1;
                if len - off < 4 {
                    self.stats.runts += 1;
                    continue;
                }
                let src_port = u16::from_be_bytes([buf[off], buf[off + 1]]);
                let dst_port = u16::from_be_bytes([buf[off + 2], buf[off + 3]]);
                self.learn((dst_port, from.ip(), src_port), from);
            }
            if len < 4 {
                continue;
            }
            self.stats.datagrams_in += count;
            if seg.is_some() {
                self.stats.gro_batches += 1;
            }
            return Ok(Received {
                len,
                frame: Frame::Segment {
                    src: from.ip(),
                    dst: self.local.ip(),
                },
                segment_size: seg,
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

/// Most segments one GSO send may carry (the kernel's `UDP_MAX_SEGMENTS`).
const GSO_MAX_SEGMENTS: usize = 64;

#[cfg(target_os = "linux")]
mod gso {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    /// `UDP_SEGMENT` from `<linux/udp.h>` (not in the libc crate).
    const UDP_SEGMENT: libc::c_int = 103;
    /// `UDP_GRO` from `<linux/udp.h>`.
    const UDP_GRO: libc::c_int = 104;

    /// Sets `UDP_GRO`; true if the kernel accepted it.
    pub(super) fn set_gro(socket: &mio::net::UdpSocket, on: bool) -> bool {
        let val: libc::c_int = on.into();
        // SAFETY: a valid socket and a c_int option value of the size passed.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_UDP,
                UDP_GRO,
                (&val as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        r == 0
    }

    /// Receives one datagram, or a GRO batch of them, into `buf`: (length, sender,
    /// segment size if the kernel coalesced several).
    pub(super) fn recv(
        socket: &mio::net::UdpSocket,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr, Option<usize>)> {
        // SAFETY: recvmsg writes at most `buf.len()` bytes into `buf`, at most
        // `msg_namelen` bytes into `addr` and at most `msg_controllen` bytes into
        // `control`, all locals or borrowed for the call; the control messages are then
        // walked with the CMSG_* helpers within `msg_controllen`, and the address is read
        // according to the family the kernel wrote.
        unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut control = [0u64; 8];
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
            let n = libc::recvmsg(socket.as_raw_fd(), &mut msg, 0);
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut seg = None;
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == UDP_GRO {
                    let v = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                    seg = usize::try_from(v).ok();
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            let from = match libc::c_int::from(addr.ss_family) {
                libc::AF_INET => {
                    let sin =
                        &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                    SocketAddr::new(
                        std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()).into(),
                        u16::from_be(sin.sin_port),
                    )
                }
                libc::AF_INET6 => {
                    let sin6 =
                        &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                    SocketAddr::V6(std::net::SocketAddrV6::new(
                        sin6.sin6_addr.s6_addr.into(),
                        u16::from_be(sin6.sin6_port),
                        sin6.sin6_flowinfo,
                        sin6.sin6_scope_id,
                    ))
                }
                _ => return Err(io::Error::other("recvmsg: unknown address family")),
            };
            Ok((n as usize, from, seg))
        }
    }

    /// Sends `data` as datagrams of `segment` bytes each (the last may be shorter) with
    /// one `sendmsg` carrying a `UDP_SEGMENT` control message.
    pub(super) fn send(
        socket: &mio::net::UdpSocket,
        data: &[u8],
        segment: u16,
        to: SocketAddr,
    ) -> io::Result<()> {
        // SAFETY: every pointer handed to sendmsg points into locals that outlive the
        // call (`addr`, `iov`, `control`, `data`), with lengths that match; the control
        // buffer is aligned for cmsghdr and sized with CMSG_SPACE for one u16.
        unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let addr_len = match to {
                SocketAddr::V4(a) => {
                    let sin = &mut *(&mut addr as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in>();
                    sin.sin_family = libc::AF_INET as libc::sa_family_t;
                    sin.sin_port = a.port().to_be();
                    sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
                    std::mem::size_of::<libc::sockaddr_in>()
                }
                SocketAddr::V6(a) => {
                    let sin6 = &mut *(&mut addr as *mut libc::sockaddr_storage)
                        .cast::<libc::sockaddr_in6>();
                    sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                    sin6.sin6_port = a.port().to_be();
                    sin6.sin6_addr.s6_addr = a.ip().octets();
                    sin6.sin6_flowinfo = a.flowinfo();
                    sin6.sin6_scope_id = a.scope_id();
                    std::mem::size_of::<libc::sockaddr_in6>()
                }
            };
            let mut iov = libc::iovec {
                iov_base: data.as_ptr() as *mut libc::c_void,
                iov_len: data.len(),
            };
            // u64 array: aligned for cmsghdr.
            let mut control = [0u64; 4];
            let space = libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) as usize;
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
            msg.msg_namelen = addr_len as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_UDP;
            (*cmsg).cmsg_type = UDP_SEGMENT;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
            let r = libc::sendmsg(socket.as_raw_fd(), &msg, 0);
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod gso {
    use std::io;
    use std::net::SocketAddr;

    pub(super) fn send(
        _socket: &mio::net::UdpSocket,
        _data: &[u8],
        _segment: u16,
        _to: SocketAddr,
    ) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub(super) fn set_gro(_socket: &mio::net::UdpSocket, _on: bool) -> bool {
        false
    }

    pub(super) fn recv(
        socket: &mio::net::UdpSocket,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr, Option<usize>)> {
        let (n, from) = socket.recv_from(buf)?;
        Ok((n, from, None))
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

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        if self.release_held {
            if let Some(r) = self.deliver_held(buf) {
                return Ok(r);
            }
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
    use bytes::Bytes;
    use tcp_core::wire::{TcpFlags, TcpHeader, parse_tcp_segment};
    use tcp_core::{Segment, SeqNum};

    fn transmit(src: SocketAddr, dst: SocketAddr, seq: u32, len: usize) -> Transmit {
        Transmit {
            src,
            dst,
            segment: Segment {
                ecn: tcp_core::IpEcn::NotEct,
                header: TcpHeader {
                    src_port: src.port(),
                    dst_port: dst.port(),
                    seq: SeqNum::new(seq),
                    ack: SeqNum::new(0),
                    flags: TcpFlags::ACK,
                    window: 1000,
                    urgent: 0,
                    options: Default::default(),
                },
                payload: Bytes::from(vec![seq as u8; len]),
            },
        }
    }

    /// Receives until `n` datagrams arrived (bounded).
    fn recv_n(link: &mut UdpLink, n: usize) -> Vec<(Vec<u8>, Frame)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        for _ in 0..100_000 {
            match link.recv(&mut buf) {
                Ok(r) => {
                    let size = r.segment_size.unwrap_or(r.len);
                    for chunk in buf[..r.len].chunks(size) {
                        out.push((chunk.to_vec(), r.frame));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if out.len() >= n {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
        }
        out
    }

    #[test]
    fn a_batch_of_equal_segments_arrives_as_separate_checksummed_datagrams() {
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut a = UdpLink::bind(lo).unwrap();
        let mut b = UdpLink::bind(lo).unwrap();
        let (ua, ub) = (a.local_addr(), b.local_addr());
        let (ta, tb) = (
            SocketAddr::new(ua.ip(), 1111),
            SocketAddr::new(ub.ip(), 2222),
        );
        a.set_route(
            FourTuple {
                local: ta,
                remote: tb,
            },
            ub,
        );
        // Five full segments, then a short one, then one to a peer with no route.
        let mut ts: Vec<Transmit> = (0..5).map(|i| transmit(ta, tb, i, 1000)).collect();
        ts.push(transmit(ta, tb, 5, 10));
        ts.push(transmit(ta, SocketAddr::new(ub.ip(), 3333), 6, 10));
        let mut scratch = vec![0u8; 70_000];
        let mut sent = 0;
        while sent < 6 {
            sent += a.send_batch(&ts[sent..6], &mut scratch).unwrap();
        }
        if cfg!(target_os = "linux") {
            assert!(a.stats().gso_sends >= 1, "coalesced with UDP GSO");
        }
        assert!(a.send_batch(&ts[6..], &mut scratch).is_err(), "no route");
        assert_eq!(a.stats().no_route, 1);
        let got = recv_n(&mut b, 6);
        assert_eq!(got.len(), 6);
        for (i, (d, frame)) in got.iter().enumerate() {
            let Frame::Segment { src, dst } = *frame else {
                panic!("UDP delivers bare segments");
            };
            assert_eq!((src, dst), (ua.ip(), ub.ip()));
            let (h, range) = parse_tcp_segment(src, dst, d).expect("valid checksum");
            assert_eq!(h.seq, SeqNum::new(i as u32));
            assert_eq!(range.len(), if i == 5 { 10 } else { 1000 });
        }
        // b learned the way back to a's TCP port from the datagrams.
        let back = transmit(tb, ta, 9, 5);
        b.send(&back, &mut scratch).unwrap();
        assert_eq!(recv_n(&mut a, 1).len(), 1);
    }

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
}
