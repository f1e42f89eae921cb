//! The driver: an [`Endpoint`] bound to packet links, a clock and a `mio` registry.

use crate::UdpLink;
use crate::error::{conn_err, connect_err, handle_err, listen_err, read_err, state_err, write_err};
use crate::link::{Frame, Link};
use bytes::{Bytes, BytesMut};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tcp_core::endpoint::{IncomingHandle, ListenerHandle};
use tcp_core::{
    Config, ConnHandle, Endpoint, EndpointConfig, EndpointEvent, FourTuple, Instant, Transmit,
};

/// Names one link of a [`Driver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(pub usize);

/// Counters of a [`Driver`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Packets received from links and handed to the endpoint.
    pub packets_in: u64,
    /// Packets the endpoint rejected (malformed, bad checksum, not TCP).
    pub packets_rejected: u64,
    /// Segments handed to links.
    pub packets_out: u64,
    /// Transmits dropped because a link failed to send them (other than `WouldBlock`).
    pub send_errors: u64,
    /// Times a link's send would block (the transmit was kept and retried).
    pub send_blocked: u64,
    /// ICMP errors links learned from the operating system and handed to the endpoint
    /// (a send refused as larger than the path MTU, an ICMP message about a datagram).
    pub icmp_errors: u64,
    /// Receive errors other than `WouldBlock` (ignored).
    pub recv_errors: u64,
    /// Transmits dropped because no link had their source address.
    pub no_link: u64,
}

struct LinkSlot {
    link: Box<dyn Link>,
    token: Option<Token>,
}

/// Bytes reserved for one received packet.
const MAX_PACKET: usize = 65_536;
/// Receive buffer chunk; packets are cut from it as `Bytes` without copying.
const RX_CHUNK: usize = 1 << 20;
/// Transmits handed to a link at once (a UDP link coalesces them with GSO).
const TX_BATCH: usize = 64;
/// Packets received before the driver flushes what they caused (ACKs) and goes on.
const RX_BATCH: usize = 64;
/// Most ICMP errors taken from a link at a time (a link keeps a bounded queue of them).
const MAX_ICMP_PER_CALL: usize = 256;

/// Owns an [`Endpoint`] and its links, reads the clock, and turns readiness and deadlines
/// into endpoint calls.
///
/// # Use from your own `mio` loop
///
/// 1. [`Driver::add_link`] each link, then [`Driver::register`] it under a token of yours;
/// 2. call `poll.poll(&mut events, driver.next_timeout())` (take the minimum with your own
///    timers);
/// 3. for each event with one of the driver's tokens call [`Driver::on_readable`] (it also
///    handles writable readiness); after polling call [`Driver::on_timeout`] (cheap when no
///    deadline passed);
/// 4. drain [`Driver::poll_event`]: `EndpointEvent::Conn(handle, event)` pairs,
///    `Acceptable(listener)` and `Incoming(..)`;
/// 5. after application calls ([`Driver::write`], [`Driver::read`], ...), call
///    [`Driver::flush`] before polling again. (The calls themselves do not send, so a batch
///    of writes leaves as full segments.)
///
/// Connections are named by [`ConnHandle`]; the driver's methods take the handle, as the
/// core's do, and map errors to [`std::io::Error`]s. For `Read`/`Write` stream objects
/// use [`crate::Net`], a ready-made loop around a shared driver.
pub struct Driver {
    endpoint: Endpoint,
    links: Vec<LinkSlot>,
    origin: std::time::Instant,
    rx: BytesMut,
    scratch: Vec<u8>,
    /// Transmits taken from the endpoint, not yet consumed by link `out_link`.
    out: Vec<Transmit>,
    out_link: usize,
    /// A transmit for another link than the batch's, held for the next batch.
    next: Option<(usize, Transmit)>,
    /// With more than one link: which link each 4-tuple's packets last arrived on, so
    /// replies leave through the same link even when links share an IP.
    arrivals: HashMap<FourTuple, usize>,
    stats: DriverStats,
}

/// Largest number of remembered arrival links before the table is cleared and relearned.
const MAX_ARRIVALS: usize = 1 << 16;

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("links", &self.links.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Reads 16 random bytes from the operating system.
pub fn random_secret() -> io::Result<[u8; 16]> {
    use std::io::Read;
    let mut secret = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut secret)?;
    Ok(secret)
}

impl Driver {
    /// A driver with the given per-connection configuration and default endpoint
    /// parameters; the endpoint's secret is drawn from the operating system.
    pub fn new(config: Config) -> io::Result<Driver> {
        Self::with_endpoint_config(config, EndpointConfig::default())
    }

    /// A driver with explicit endpoint parameters. If `ep.secret` is all zeros it is
    /// replaced with random bytes from the operating system.
    pub fn with_endpoint_config(config: Config, mut ep: EndpointConfig) -> io::Result<Driver> {
        if ep.secret == [0; 16] {
            ep.secret = random_secret()?;
        }
        Ok(Driver {
            endpoint: Endpoint::new(config, ep),
            links: Vec::new(),
            origin: std::time::Instant::now(),
            rx: BytesMut::new(),
            scratch: vec![0; MAX_PACKET + 64],
            out: Vec::with_capacity(TX_BATCH),
            out_link: 0,
            next: None,
            arrivals: HashMap::new(),
            stats: DriverStats::default(),
        })
    }

    /// Adds a link; returns its id.
    pub fn add_link(&mut self, link: impl Link + 'static) -> LinkId {
        self.links.push(LinkSlot {
            link: Box::new(link),
            token: None,
        });
        LinkId(self.links.len() - 1)
    }

    /// Adds a UDP link bound to `addr`; returns its id and the socket's address.
    pub fn add_udp_link(&mut self, addr: SocketAddr) -> io::Result<(LinkId, SocketAddr)> {
        let link = UdpLink::bind(addr)?;
        let local = link.local_addr();
        Ok((self.add_link(link), local))
    }

    /// A link, for inspection (downcast with a concrete type in mind is not offered; keep
    /// counters you need outside, or use [`Driver::with_link`]).
    pub fn link(&self, id: LinkId) -> Option<&dyn Link> {
        self.links.get(id.0).map(|s| &*s.link)
    }

    /// Runs `f` on a link.
    pub fn with_link<R>(&mut self, id: LinkId, f: impl FnOnce(&mut dyn Link) -> R) -> Option<R> {
        self.links.get_mut(id.0).map(|s| f(&mut *s.link))
    }

    /// Registers link `id` with `registry` under `token` for readable and writable
    /// readiness. Events with that token go to [`Driver::on_readable`].
    pub fn register(&mut self, registry: &Registry, id: LinkId, token: Token) -> io::Result<()> {
        let slot = self
            .links
            .get_mut(id.0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such link"))?;
        registry.register(
            &mut *slot.link,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        slot.token = Some(token);
        Ok(())
    }

    /// Deregisters link `id`.
    pub fn deregister(&mut self, registry: &Registry, id: LinkId) -> io::Result<()> {
        let slot = self
            .links
            .get_mut(id.0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such link"))?;
        registry.deregister(&mut *slot.link)?;
        slot.token = None;
        Ok(())
    }

    /// The core's notion of now: microseconds since the driver was created.
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    /// The endpoint (state, `connection(h)`, stats).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The endpoint, mutably, for calls the driver does not wrap (options, decisions on
    /// incoming connections). Call [`Driver::flush`] afterwards.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// The driver's counters.
    pub fn stats(&self) -> &DriverStats {
        &self.stats
    }

    // ---- readiness, time, output ----

    /// Handles readiness of the link registered under `token` (readable or writable):
    /// receives every waiting packet, feeds it to the endpoint, and sends what that caused.
    /// Returns `false` if `token` is not one of the driver's.
    pub fn on_readable(&mut self, token: Token) -> bool {
        let Some(i) = self.links.iter().position(|s| s.token == Some(token)) else {
            return false;
        };
        self.receive_from(i);
        self.flush();
        true
    }

    /// Receives from link `i` until it would block, flushing every few packets so ACKs
    /// leave promptly.
    fn receive_from(&mut self, i: usize) {
        let mut batch = 0;
        let mut errors = 0;
        loop {
            if self.rx.len() < MAX_PACKET {
                self.rx = BytesMut::zeroed(RX_CHUNK);
            }
            let Some(slot) = self.links.get_mut(i) else {
                return;
            };
            let r = match slot.link.recv(&mut self.rx[..MAX_PACKET]) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.take_icmp_errors(i);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.stats.recv_errors += 1;
                    errors += 1;
                    if errors > 64 {
                        return;
                    }
                    continue;
                }
            };
            // One clock read per receive call (a GRO batch arrived at one instant).
            let now = self.now();
            let mut packet: Bytes = self.rx.split_to(r.len.min(MAX_PACKET)).freeze();
            // A coalesced batch (UDP GRO) is cut into its packets without copying.
            let size = r.segment_size.unwrap_or(packet.len()).max(1);
            while !packet.is_empty() {
                let p = packet.split_to(size.min(packet.len()));
                if self.links.len() > 1 {
                    self.note_arrival(i, &p, r.frame);
                }
                self.handle_frame(now, p, r.frame);
            }
            batch += 1;
            if batch == RX_BATCH {
                batch = 0;
                self.flush();
            }
        }
    }

    /// Hands the ICMP errors link `i` learned from the operating system to the endpoint
    /// ([`Link::poll_icmp_error`]).
    fn take_icmp_errors(&mut self, i: usize) {
        let now = self.now();
        for _ in 0..MAX_ICMP_PER_CALL {
            let Some(err) = self.links.get_mut(i).and_then(|s| s.link.poll_icmp_error()) else {
                return;
            };
            self.stats.icmp_errors += 1;
            self.endpoint.handle_icmp_error(now, &err);
        }
    }

    /// Remembers that the packet's connection arrived on link `i`.
    fn note_arrival(&mut self, i: usize, packet: &[u8], frame: Frame) {
        let (src, dst, tcp): (IpAddr, IpAddr, &[u8]) = match frame {
            Frame::Segment { src, dst, .. } => (src, dst, packet),
            Frame::Packet { .. } => match tcp_core::wire::parse_ip_packet(packet) {
                Ok((ip, range)) if ip.protocol() == tcp_core::wire::IPPROTO_TCP => {
                    (ip.src(), ip.dst(), &packet[range])
                }
                // ICMP errors go to the stack without telling where a connection lives.
                _ => return,
            },
        };
        if tcp.len() < 4 {
            return;
        }
        let tuple = FourTuple {
            local: SocketAddr::new(dst, u16::from_be_bytes([tcp[2], tcp[3]])),
            remote: SocketAddr::new(src, u16::from_be_bytes([tcp[0], tcp[1]])),
        };
        if self.arrivals.get(&tuple) != Some(&i) {
            if self.arrivals.len() >= MAX_ARRIVALS {
                self.arrivals.clear();
            }
            self.arrivals.insert(tuple, i);
        }
    }

    fn handle_frame(&mut self, now: Instant, packet: Bytes, frame: Frame) {
        self.stats.packets_in += 1;
        let r = match frame {
            Frame::Segment { src, dst, ecn } => {
                self.endpoint.handle_segment_ecn(now, src, dst, packet, ecn)
            }
            Frame::Packet { offload } => {
                self.endpoint.handle_packet_offloaded(now, packet, offload)
            }
        };
        if r.is_err() {
            self.stats.packets_rejected += 1;
        }
    }

    /// Hands a packet to the endpoint as if a link had received it (for links polled
    /// outside the driver, and for tests).
    pub fn inject(&mut self, packet: Bytes, frame: Frame) {
        let now = self.now();
        self.handle_frame(now, packet, frame);
    }

    /// Runs every timer that is due. Call it after each `poll` (it is cheap when nothing is
    /// due); it also flushes.
    pub fn on_timeout(&mut self) {
        let now = self.now();
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
        }
        self.flush();
    }

    /// How long the embedder's poll may sleep before [`Driver::on_timeout`] has work, or
    /// `None` if no timer is armed.
    pub fn next_timeout(&self) -> Option<Duration> {
        let t = self.endpoint.poll_timeout()?;
        if t == Instant::MAX {
            return None;
        }
        let now = self.now();
        // mio rounds sub-millisecond timeouts up; a deadline in the past means "now".
        Some(t.saturating_duration_since(now))
    }

    /// Sends everything the endpoint has to send, in batches per link. Stops early
    /// (keeping what is left) if a link would block; the link's next writable event
    /// resumes it.
    pub fn flush(&mut self) {
        let now = self.now();
        loop {
            if self.out.is_empty() {
                self.fill_batch(now);
                if self.out.is_empty() {
                    return;
                }
            }
            let Some(slot) = self.links.get_mut(self.out_link) else {
                self.out.clear();
                continue;
            };
            match slot.link.send_batch(&self.out, &mut self.scratch) {
                Ok(n) => {
                    let n = n.clamp(1, self.out.len());
                    self.stats.packets_out += n as u64;
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stats.send_blocked += 1;
                    return;
                }
                Err(_) => {
                    self.stats.send_errors += 1;
                    self.out.remove(0);
                    // A refusal may say why (a path MTU, an ICMP error): the endpoint
                    // then has new segments to send, which the next batch takes.
                    self.take_icmp_errors(self.out_link);
                }
            }
        }
    }

    /// Takes transmits from the endpoint while they go to the same link.
    fn fill_batch(&mut self, now: Instant) {
        if let Some((i, t)) = self.next.take() {
            self.out_link = i;
            self.out.push(t);
        }
        while self.out.len() < TX_BATCH {
            let Some(t) = self.endpoint.poll_transmit(now) else {
                return;
            };
            let Some(i) = self.route(&t) else {
                self.stats.no_link += 1;
                continue;
            };
            if self.out.is_empty() {
                self.out_link = i;
            } else if i != self.out_link {
                self.next = Some((i, t));
                return;
            }
            self.out.push(t);
        }
    }

    fn route(&self, t: &Transmit) -> Option<usize> {
        if self.links.len() == 1 {
            return Some(0);
        }
        let tuple = FourTuple {
            local: t.src,
            remote: t.dst,
        };
        if let Some(&i) = self.arrivals.get(&tuple) {
            return Some(i);
        }
        let (src, dst) = (t.src.ip(), t.dst.ip());
        self.links
            .iter()
            .position(|s| s.link.local_ip(dst) == Some(src))
    }

    /// The next event: `EndpointEvent::Conn(handle, event)` for a connection,
    /// `Acceptable(listener)` when a listener has a connection to accept, `Incoming(..)`
    /// for listeners in decision mode. Drain it after each round of readiness handling:
    /// events queue up until polled.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.endpoint.poll_event()
    }

    // ---- application calls ----

    /// Listens on `addr` (a specific or unspecified IP and a TCP port) with an accept
    /// queue of `backlog`.
    pub fn listen(&mut self, addr: SocketAddr, backlog: usize) -> io::Result<ListenerHandle> {
        self.endpoint.listen(addr, backlog).map_err(listen_err)
    }

    /// Takes an established connection from a listener's accept queue; `Ok(None)` if there
    /// is none yet.
    pub fn accept(&mut self, l: ListenerHandle) -> io::Result<Option<ConnHandle>> {
        self.endpoint.accept(l).map_err(handle_err)
    }

    /// Stops listening (connections not yet accepted are reset).
    pub fn close_listener(&mut self, l: ListenerHandle) -> io::Result<()> {
        let now = self.now();
        self.endpoint.close_listener(now, l).map_err(handle_err)
    }

    /// Accepts a connection request reported as `EndpointEvent::Incoming`.
    pub fn accept_incoming(&mut self, h: IncomingHandle) -> io::Result<ConnHandle> {
        let now = self.now();
        self.endpoint.accept_incoming(now, h).map_err(handle_err)
    }

    /// Active open towards `remote` (the peer's IP and TCP port) from the local IP of the
    /// first link that has one for it. On a UDP link the peer's UDP address must be known
    /// (call [`crate::UdpLink::add_peer`] before [`Driver::add_link`]); otherwise use
    /// [`Driver::connect_udp`].
    pub fn connect(&mut self, remote: SocketAddr) -> io::Result<ConnHandle> {
        self.connect_inner(remote, None, None)
    }

    /// [`Driver::connect`] from local port `port` (for example one that steers the flow
    /// to this driver's queue of a multi-queue device); `AddrInUse` if that 4-tuple is
    /// taken.
    pub fn connect_from_port(&mut self, remote: SocketAddr, port: u16) -> io::Result<ConnHandle> {
        self.connect_inner(remote, None, Some(port))
    }

    /// Active open to TCP port `port` of the peer whose UDP socket is `peer_udp`: the
    /// connection's remote address is `(peer_udp.ip(), port)` and its segments go to
    /// `peer_udp`.
    pub fn connect_udp(&mut self, peer_udp: SocketAddr, port: u16) -> io::Result<ConnHandle> {
        self.connect_inner(SocketAddr::new(peer_udp.ip(), port), Some(peer_udp), None)
    }

    fn connect_inner(
        &mut self,
        remote: SocketAddr,
        next_hop: Option<SocketAddr>,
        local_port: Option<u16>,
    ) -> io::Result<ConnHandle> {
        let (i, local_ip) = self
            .links
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.link.local_ip(remote.ip()).map(|ip| (i, ip)))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NetworkUnreachable,
                    "no link has an address for this peer",
                )
            })?;
        let now = self.now();
        let h = match local_port {
            Some(port) => self
                .endpoint
                .connect_from(now, SocketAddr::new(local_ip, port), remote),
            None => self.endpoint.connect(now, local_ip, remote),
        }
        .map_err(connect_err)?;
        if let Ok(tuple) = self.endpoint.tuple(h) {
            if self.links.len() > 1 {
                self.arrivals.insert(tuple, i);
            }
            if let (Some(hop), Some(slot)) = (next_hop, self.links.get_mut(i)) {
                slot.link.set_route(tuple, hop);
            }
        }
        Ok(h)
    }

    /// Reads into `buf`. `Ok(0)` (with a non-empty `buf`) is end-of-stream; `WouldBlock`
    /// means no data yet.
    pub fn read(&mut self, h: ConnHandle, buf: &mut [u8]) -> io::Result<usize> {
        let now = self.now();
        self.endpoint.read(now, h, buf).map_err(read_err)
    }

    /// Reads up to `max` bytes without copying; `Ok(None)` is end-of-stream.
    pub fn read_bytes(&mut self, h: ConnHandle, max: usize) -> io::Result<Option<Bytes>> {
        let now = self.now();
        self.endpoint.read_bytes(now, h, max).map_err(read_err)
    }

    /// Copies as much of `data` into the send buffer as fits; `WouldBlock` if none does.
    pub fn write(&mut self, h: ConnHandle, data: &[u8]) -> io::Result<usize> {
        let now = self.now();
        self.endpoint.write(now, h, data).map_err(write_err)
    }

    /// Hands owned data to the send buffer without copying; returns how much was taken.
    pub fn write_bytes(&mut self, h: ConnHandle, data: Bytes) -> io::Result<usize> {
        let now = self.now();
        self.endpoint.write_bytes(now, h, data).map_err(write_err)
    }

    /// Shuts down the sending direction: a FIN follows the buffered data (during the
    /// handshake, the core queues it after the data written so far).
    pub fn shutdown(&mut self, h: ConnHandle) -> io::Result<()> {
        let now = self.now();
        self.endpoint.shutdown(now, h).map_err(state_err)
    }

    /// Closes the connection for the application; it finishes on its own (buffered data,
    /// FIN, TIME_WAIT). The handle becomes stale.
    pub fn close(&mut self, h: ConnHandle) -> io::Result<()> {
        let now = self.now();
        self.endpoint.close(now, h).map_err(handle_err)
    }

    /// Aborts the connection with a RST. The handle becomes stale.
    pub fn abort(&mut self, h: ConnHandle) -> io::Result<()> {
        let now = self.now();
        self.endpoint.abort(now, h).map_err(handle_err)
    }

    /// The peer's address (IP and TCP port).
    pub fn peer_addr(&self, h: ConnHandle) -> io::Result<SocketAddr> {
        Ok(self.endpoint.tuple(h).map_err(handle_err)?.remote)
    }

    /// Our address (IP and TCP port).
    pub fn local_addr(&self, h: ConnHandle) -> io::Result<SocketAddr> {
        Ok(self.endpoint.tuple(h).map_err(handle_err)?.local)
    }

    /// The error that ended a connection, if any, as an `io::Error`.
    pub fn take_error(&self, h: ConnHandle) -> io::Result<Option<io::Error>> {
        let c = self.endpoint.connection(h).map_err(handle_err)?;
        Ok(c.error().map(conn_err))
    }

    /// Bytes `write` would accept now.
    pub fn send_space(&self, h: ConnHandle) -> io::Result<usize> {
        Ok(self
            .endpoint
            .connection(h)
            .map_err(handle_err)?
            .send_space())
    }

    /// Turns Nagle's algorithm off (`true`, like `TCP_NODELAY`) or on.
    pub fn set_nodelay(&mut self, h: ConnHandle, nodelay: bool) -> io::Result<()> {
        let now = self.now();
        self.endpoint
            .set_option(now, h, tcp_core::SockOption::NoDelay(nodelay))
            .map_err(handle_err)
    }
}
