//! [`UdpLink`]: one TCP segment per UDP datagram.

use crate::link::{Frame, Link, Received};
use crate::udp_msg::{self, ErrOrigin, QueuedError};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tcp_core::wire::{IcmpError, IcmpProblem};
use tcp_core::{FourTuple, IpEcn, SeqNum, Transmit};

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
    /// Datagrams received with the ECN codepoint CE (congestion experienced).
    pub ce_in: u64,
    /// Sends the kernel refused as larger than the path MTU (`EMSGSIZE`).
    pub too_big: u64,
    /// Entries read from the socket's error queue.
    pub queued_errors: u64,
    /// Of them, ICMP errors and path MTUs handed to the core ([`Link::poll_icmp_error`]).
    pub icmp_errors: u64,
    /// ICMP errors dropped because too many waited for the driver.
    pub icmp_overflow: u64,
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
    /// The socket's error queue is on (`IP_RECVERR`).
    recverr: bool,
    /// ICMP errors for the driver (see [`Link::poll_icmp_error`]).
    icmp: VecDeque<IcmpError>,
}

/// Bytes of UDP header in front of every segment: a path MTU the kernel reports counts
/// them, the core's does not.
const UDP_HEADER: u32 = 8;

/// Most ICMP errors kept for the driver; more are counted and dropped.
const MAX_ICMP_QUEUE: usize = 256;

/// Most receive errors taken in a row (each empties the error queue) before one is
/// returned to the driver.
const MAX_RECV_ERRORS: usize = 8;

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
        let recverr = udp_msg::configure(&socket, addr.is_ipv6());
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
            recverr,
            icmp: VecDeque::new(),
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
        self.gro = udp_msg::set_gro(&self.socket, on) && on;
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
    let val = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        udp_msg::set_int(socket, libc::SOL_SOCKET, opt, val);
    }
}

impl UdpLink {
    /// Sends `data` (one datagram, or with `segment` a GSO run) to `to`, and turns what a
    /// refusal says into ICMP errors for the core: `EMSGSIZE` names the path MTU of
    /// `first`'s connection; an errno the kernel keeps for an ICMP message it took for
    /// this socket fails one send, so the error queue is read and the send tried again.
    fn send_datagrams(
        &mut self,
        data: &[u8],
        segment: Option<u16>,
        to: SocketAddr,
        first: &Transmit,
    ) -> io::Result<()> {
        let ecn = first.segment.ecn;
        let r = udp_msg::send(&self.socket, data, segment, to, ecn);
        let Err(e) = &r else {
            return r;
        };
        match e.raw_os_error() {
            Some(libc::EMSGSIZE) => {
                self.stats.too_big += 1;
                self.drain_errors(Some(first));
                r
            }
            Some(
                libc::ECONNREFUSED
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EPROTO
                | libc::EACCES
                | libc::ENOPROTOOPT,
            ) if self.recverr => {
                self.drain_errors(None);
                udp_msg::send(&self.socket, data, segment, to, ecn)
            }
            _ => r,
        }
    }

    /// Reads the socket's error queue (a bounded number of entries) into ICMP errors for
    /// the core. `refused`: the transmit a send just failed with `EMSGSIZE`, which a local
    /// error's MTU is about.
    fn drain_errors(&mut self, refused: Option<&Transmit>) {
        for _ in 0..64 {
            let Ok(q) = udp_msg::recv_error(&self.socket) else {
                break;
            };
            self.stats.queued_errors += 1;
            let err = match q.origin {
                ErrOrigin::Local if q.errno == libc::EMSGSIZE => {
                    refused.map(|t| self.packet_too_big(t, q.info))
                }
                ErrOrigin::Icmp | ErrOrigin::Icmp6 => self.icmp_error(&q),
                _ => None,
            };
            if let Some(e) = err {
                if self.icmp.len() >= MAX_ICMP_QUEUE {
                    self.icmp.pop_front();
                    self.stats.icmp_overflow += 1;
                }
                self.icmp.push_back(e);
                self.stats.icmp_errors += 1;
            }
        }
    }

    /// A packet too big for `t`'s connection: the kernel's path MTU `mtu` counts the UDP
    /// header, the core's does not.
    fn packet_too_big(&self, t: &Transmit, mtu: u32) -> IcmpError {
        let type_code = if t.dst.is_ipv6() { (2, 0) } else { (3, 4) };
        IcmpError {
            problem: IcmpProblem::PacketTooBig {
                mtu: mtu.saturating_sub(UDP_HEADER),
            },
            local: t.src.ip(),
            remote: t.dst.ip(),
            local_port: t.src.port(),
            remote_port: t.dst.port(),
            seq: t.segment.header.seq,
            type_code,
        }
    }

    /// An ICMP message the kernel queued about one of our datagrams: the datagram's
    /// first eight bytes are the TCP segment's ports and sequence number.
    fn icmp_error(&self, q: &QueuedError) -> Option<IcmpError> {
        let dest = q.dest?;
        let [s0, s1, d0, d1, q0, q1, q2, q3] = q.head;
        if q.head_len < q.head.len() {
            return None;
        }
        let v6 = q.origin == ErrOrigin::Icmp6;
        let problem = match IcmpProblem::from_type_code(v6, q.type_code.0, q.type_code.1, q.info)? {
            IcmpProblem::PacketTooBig { mtu } => IcmpProblem::PacketTooBig {
                mtu: mtu.saturating_sub(UDP_HEADER),
            },
            p => p,
        };
        Some(IcmpError {
            problem,
            local: self.local.ip(),
            remote: dest.ip(),
            local_port: u16::from_be_bytes([s0, s1]),
            remote_port: u16::from_be_bytes([d0, d1]),
            seq: SeqNum::new(u32::from_be_bytes([q0, q1, q2, q3])),
            type_code: q.type_code,
        })
    }
}

fn no_route() -> io::Error {
    io::Error::new(
        io::ErrorKind::HostUnreachable,
        "no UDP address known for this TCP peer",
    )
}

fn encode(t: &Transmit, buf: &mut [u8]) -> io::Result<usize> {
    t.encode(buf)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl Link for UdpLink {
    fn send(&mut self, t: &Transmit, scratch: &mut [u8]) -> io::Result<()> {
        let to = self.route(t).ok_or_else(no_route)?;
        let n = encode(t, scratch)?;
        self.send_datagrams(&scratch[..n], None, to, t)?;
        self.stats.datagrams_out += 1;
        Ok(())
    }

    fn send_batch(&mut self, ts: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        if !self.gso || ts.len() < 2 {
            return self.send(&ts[0], scratch).map(|()| 1);
        }
        let to = self.route(&ts[0]).ok_or_else(no_route)?;
        // Coalesce a run of segments to the same peer with the same ECN codepoint, all of
        // the first one's length (the last may be shorter), into one buffer for a single
        // GSO send.
        let limit = scratch.len().min(MAX_UDP_PAYLOAD);
        let first = encode(&ts[0], scratch)?;
        let (mut used, mut count) = (first, 1);
        while count < ts.len().min(GSO_MAX_SEGMENTS) {
            let t = &ts[count];
            if used + t.len() > limit
                || t.len() > first
                || t.segment.ecn != ts[0].segment.ecn
                || self.route(t) != Some(to)
            {
                break;
            }
            let n = encode(t, &mut scratch[used..])?;
            used += n;
            count += 1;
            if n < first {
                break;
            }
        }
        if count == 1 {
            self.send_datagrams(&scratch[..used], None, to, &ts[0])?;
            self.stats.datagrams_out += 1;
            return Ok(1);
        }
        match self.send_datagrams(&scratch[..used], Some(first as u16), to, &ts[0]) {
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
                // The kernel refuses segments larger than the path MTU with EINVAL: then
                // the first one alone fails with EMSGSIZE and GSO stays on. Otherwise GSO
                // is not supported here: send one by one from now on.
                let single = self.send(&ts[0], scratch);
                if !matches!(&single, Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE)) {
                    self.gso = false;
                }
                single.map(|()| 1)
            }
            Err(e) => Err(e),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        let mut errors = 0;
        loop {
            let m = match udp_msg::recv(&self.socket, buf) {
                Ok(m) => m,
                Err(e)
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) && self.recverr
                        && errors < MAX_RECV_ERRORS =>
                {
                    // The errno of an ICMP message the kernel took for this socket is
                    // reported once by a receive: read the error queue, then go on.
                    errors += 1;
                    self.drain_errors(None);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (len, from) = (m.len, m.from);
            let seg = m.segment_size.filter(|&s| s > 0 && s < len);
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
            if m.ecn == IpEcn::Ce {
                self.stats.ce_in += count;
            }
            return Ok(Received {
                len,
                frame: Frame::Segment {
                    src: from.ip(),
                    dst: self.local.ip(),
                    ecn: m.ecn,
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

    fn poll_icmp_error(&mut self) -> Option<IcmpError> {
        self.icmp.pop_front()
    }
}

/// Most segments one GSO send may carry (the kernel's `UDP_MAX_SEGMENTS`).
const GSO_MAX_SEGMENTS: usize = 64;

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
            let Frame::Segment { src, dst, .. } = *frame else {
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

    /// Two links on loopback, `a` routed to `b` for TCP ports 1111 → 2222.
    fn pair() -> (UdpLink, UdpLink, SocketAddr, SocketAddr) {
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut a = UdpLink::bind(lo).unwrap();
        let b = UdpLink::bind(lo).unwrap();
        let (ta, tb) = (
            SocketAddr::new(a.local_addr().ip(), 1111),
            SocketAddr::new(b.local_addr().ip(), 2222),
        );
        a.set_route(
            FourTuple {
                local: ta,
                remote: tb,
            },
            b.local_addr(),
        );
        (a, b, ta, tb)
    }

    #[test]
    fn the_ecn_codepoint_of_each_segment_crosses_the_udp_link() {
        let (mut a, mut b, ta, tb) = pair();
        let marks = [
            IpEcn::NotEct,
            IpEcn::Ect0,
            IpEcn::Ect0,
            IpEcn::Ce,
            IpEcn::Ect1,
            IpEcn::NotEct,
        ];
        let ts: Vec<Transmit> = marks
            .iter()
            .enumerate()
            .map(|(i, &ecn)| {
                let mut t = transmit(ta, tb, i as u32, 1000);
                t.segment.ecn = ecn;
                t
            })
            .collect();
        let mut scratch = vec![0u8; 70_000];
        let mut sent = 0;
        while sent < ts.len() {
            sent += a.send_batch(&ts[sent..], &mut scratch).unwrap();
        }
        let got = recv_n(&mut b, ts.len());
        let seen: Vec<IpEcn> = got
            .iter()
            .map(|(_, f)| match *f {
                Frame::Segment { ecn, .. } => ecn,
                Frame::Packet { .. } => panic!("UDP delivers bare segments"),
            })
            .collect();
        if cfg!(target_os = "linux") {
            // GSO runs never mix codepoints, and each datagram keeps its own.
            assert_eq!(seen, marks);
            assert_eq!(b.stats().ce_in, 1);
        } else {
            assert!(seen.iter().all(|&e| e == IpEcn::NotEct));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_closed_udp_port_comes_back_as_port_unreachable_about_the_segment() {
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut a = UdpLink::bind(lo).unwrap();
        // A port nobody listens on: bind a socket, note its port, close it.
        let gone = std::net::UdpSocket::bind(lo).unwrap().local_addr().unwrap();
        let (ta, tb) = (
            SocketAddr::new(a.local_addr().ip(), 1111),
            SocketAddr::new(gone.ip(), 2222),
        );
        a.set_route(
            FourTuple {
                local: ta,
                remote: tb,
            },
            gone,
        );
        let mut scratch = vec![0u8; 70_000];
        a.send(&transmit(ta, tb, 77, 10), &mut scratch).unwrap();
        // The kernel answers at once on loopback; it reaches the link through a failed
        // receive (the socket's pending error) and the error queue.
        let mut buf = vec![0u8; 65_536];
        let mut err = None;
        for _ in 0..1000 {
            assert_eq!(
                a.recv(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
            err = a.poll_icmp_error();
            if err.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let err = err.expect("an ICMP error from the error queue");
        assert_eq!(err.problem, IcmpProblem::PortUnreachable);
        assert_eq!((err.local_port, err.remote_port), (1111, 2222));
        assert_eq!(err.remote, gone.ip());
        assert_eq!(err.seq, SeqNum::new(77));
        assert_eq!(a.stats().icmp_errors, 1);
    }
}
