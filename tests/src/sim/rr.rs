//! Request/response ("ping-pong") benchmark workload: `conns` connections between a client
//! node and a server node, each with one outstanding request at a time. The client writes
//! a request of `msg` bytes, the server reads all of it and writes a response of the same
//! size, the client reads all of it: one round trip. Both stacks run the same workload
//! ([`RrConn`]), both directions carry the verified byte pattern of [`super::app`], and
//! the nodes are joined by [`super::direct`] (no delay, checksums computed and verified).
//!
//! Nagle's algorithm is off on both stacks (`TCP_NODELAY`): with Nagle and delayed ACKs a
//! request/response exchange measures timers, not the stack. Every request and response
//! carries the ACK for the previous message, so no delayed-ACK timer is waited for; the
//! run reports how often virtual time had to move ([`RrResult::timer_steps`], zero when
//! nothing waited).
//!
//! How the stacks are driven: ours reacts to each packet as it arrives and to its
//! `Endpoint` events (only connections with news are touched); smoltcp has no readiness
//! events, so its node queues arriving packets, then runs `Interface::poll` on the batch
//! and scans every socket, as a smoltcp application does.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant as WallClock;

use bytes::Bytes;
use smoltcp::iface::{Config as SmolIfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp as smol_tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use tcp_core::endpoint::{ConnHandle, EndpointEvent, ListenerHandle};
use tcp_core::time::{Duration, Instant};
use tcp_core::{Endpoint, EndpointConfig, Event, ReadError, WriteError};

use super::app::{BulkReceiver, pattern};
use super::bulk::{BulkSetup, RECEIVER_ADDR, SENDER_ADDR, Stack};
use super::direct::{DirectStats, run_direct};
use super::link::LinkConfig;
use super::ours_node::encode_packet;
use super::smoltcp_node::{SimDevice, from_smol, to_smol};
use super::{Node, NodeReport};

/// First local port of the client's connections (connection `k` uses `CLIENT_PORT + k`).
pub const CLIENT_PORT: u16 = 10_000;
/// The server's port.
pub const SERVER_PORT: u16 = 80;

/// Everything that defines a request/response run.
#[derive(Debug, Clone)]
pub struct RrSetup {
    /// Request and response size in bytes (at most 256 KiB).
    pub msg: usize,
    /// Concurrent connections.
    pub conns: usize,
    /// Round trips per connection.
    pub round_trips: u64,
    /// Socket buffer size, each direction, each side.
    pub buffer: usize,
    /// Interface MTU.
    pub mtu: usize,
    /// Seed of both stacks.
    pub seed: u64,
}

impl RrSetup {
    /// `conns` connections doing `round_trips` round trips each with `msg`-byte messages;
    /// 16 KiB buffers (so that a thousand smoltcp sockets stay small), MTU 1500, seed 1.
    pub fn new(msg: usize, conns: usize, round_trips: u64) -> Self {
        RrSetup {
            msg,
            conns,
            round_trips,
            buffer: 16 * 1024,
            mtu: 1500,
            seed: 1,
        }
    }

    /// The stack parameters shared with the bulk benchmark (buffers, MTU, seed).
    fn stack(&self) -> BulkSetup {
        BulkSetup {
            buffer: self.buffer,
            mtu: self.mtu,
            seed: self.seed,
            ..BulkSetup::new(0, LinkConfig::new(Duration::ZERO, None))
        }
    }
}

/// One connection's side of the workload, the same for every stack.
#[derive(Debug, Clone)]
pub struct RrConn {
    client: bool,
    msg: u64,
    target: u64,
    written: u64,
    rx: BulkReceiver,
}

impl RrConn {
    /// The client's (`client`) or server's side of a connection doing `target` round trips.
    pub fn new(client: bool, msg: usize, target: u64) -> Self {
        RrConn {
            client,
            msg: msg as u64,
            target,
            written: 0,
            rx: BulkReceiver::new(Some(msg as u64 * target)),
        }
    }

    /// How far the stream may be written now: the client up to the end of the next request
    /// once the previous response is fully read; the server up to the end of the last
    /// request it fully read.
    fn limit(&self) -> u64 {
        let full = self.rx.received() / self.msg;
        if self.client {
            (full + 1).min(self.target) * self.msg
        } else {
            full * self.msg
        }
    }

    /// The bytes to write next (empty: wait for the peer).
    pub fn pending(&self) -> &'static [u8] {
        let limit = self.limit();
        if self.written >= limit {
            return &[];
        }
        pattern(self.written, (limit - self.written) as usize)
    }

    /// The stack accepted `n` more bytes.
    pub fn advance(&mut self, n: usize) {
        self.written += n as u64;
    }

    /// Checks and counts bytes read; returns the round trips this completed (client side).
    pub fn on_data(&mut self, data: &[u8]) -> u64 {
        let before = self.round_trips();
        self.rx.on_data(data);
        self.round_trips() - before
    }

    /// Round trips completed: responses fully read (client), requests fully read (server).
    pub fn round_trips(&self) -> u64 {
        self.rx.received() / self.msg
    }

    /// Bytes read (and verified).
    pub fn received(&self) -> u64 {
        self.rx.received()
    }

    /// What is wrong with the data read, if anything.
    pub fn error(&self) -> Option<String> {
        self.rx.error()
    }
}

/// A node of the request/response workload.
pub trait RrNode: Node {
    /// The client starts its requests (the server ignores this).
    fn start(&mut self, now: Instant);
    /// Connections established and known to the application.
    fn established(&self) -> usize;
    /// Round trips completed, all connections (on the server: requests fully read).
    fn round_trips(&self) -> u64;
}

fn sum_report<'a>(conns: impl Iterator<Item = &'a RrConn>, error: &Option<String>) -> NodeReport {
    let mut r = NodeReport {
        error: error.clone(),
        ..NodeReport::default()
    };
    for c in conns {
        r.bytes_sent += c.written;
        r.bytes_received += c.received();
        if r.error.is_none() {
            r.error = c.error();
        }
    }
    r
}

/// A cheap hasher for connection handles (two `u32`s), so that finding a connection's
/// workload costs the harness next to nothing (SipHash would be a visible share of a
/// round trip).
#[derive(Default)]
struct HandleHasher(u64);

impl Hasher for HandleHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u8(b);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.write_u64(u64::from(b));
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(29) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type HandleMap = HashMap<ConnHandle, usize, BuildHasherDefault<HandleHasher>>;

/// Our `Endpoint` with the workload's connections.
pub struct RrOurs {
    ep: Endpoint,
    client: bool,
    listener: Option<ListenerHandle>,
    conns: Vec<RrConn>,
    index: HandleMap,
    handles: Vec<ConnHandle>,
    setup: RrSetup,
    established: usize,
    started: bool,
    round_trips: u64,
    scratch: Vec<u8>,
    error: Option<String>,
}

impl RrOurs {
    /// The client (connects every connection at once) or the server (listens).
    pub fn new(setup: &RrSetup, client: bool, now: Instant) -> Self {
        let mut c = setup.stack().ours_config(client);
        c.tcp.nodelay = true;
        let ep = Endpoint::new(c.tcp.clone(), {
            let mut ep_config = EndpointConfig::with_secret(c.secret);
            ep_config.max_syn_backlog = setup.conns.max(128) * 2;
            ep_config
        });
        let mut node = RrOurs {
            ep,
            client,
            listener: None,
            conns: Vec::with_capacity(setup.conns),
            index: HandleMap::with_capacity_and_hasher(setup.conns, Default::default()),
            handles: Vec::with_capacity(setup.conns),
            setup: setup.clone(),
            established: 0,
            started: false,
            round_trips: 0,
            scratch: vec![0; 64 * 1024],
            error: None,
        };
        if client {
            let remote = SocketAddr::new(IpAddr::V4(RECEIVER_ADDR), SERVER_PORT);
            for k in 0..setup.conns {
                let local = SocketAddr::new(IpAddr::V4(SENDER_ADDR), CLIENT_PORT + k as u16);
                match node.ep.connect_from(now, local, remote) {
                    Ok(h) => node.add(h),
                    Err(e) => {
                        node.error.get_or_insert(format!("connect: {e}"));
                    }
                }
            }
        } else {
            let local = SocketAddr::new(IpAddr::V4(RECEIVER_ADDR), SERVER_PORT);
            node.listener = Some(node.ep.listen(local, setup.conns.max(16)).expect("listen"));
        }
        node.run_app(now);
        node
    }

    fn add(&mut self, h: ConnHandle) {
        self.index.insert(h, self.conns.len());
        self.handles.push(h);
        self.conns.push(RrConn::new(
            self.client,
            self.setup.msg,
            self.setup.round_trips,
        ));
    }

    /// Reads everything available on `h`, then writes what the workload allows.
    fn service(&mut self, h: ConnHandle, now: Instant) {
        let Some(&i) = self.index.get(&h) else { return };
        loop {
            match self.ep.read(now, h, &mut self.scratch) {
                Ok(0) => {
                    self.error.get_or_insert("unexpected end of stream".into());
                    break;
                }
                Ok(n) => {
                    let done = self.conns[i].on_data(&self.scratch[..n]);
                    if self.client {
                        self.round_trips += done;
                    }
                }
                Err(ReadError::WouldBlock) => break,
                Err(e) => {
                    self.error.get_or_insert(format!("read: {e}"));
                    break;
                }
            }
        }
        if self.client && !self.started {
            return;
        }
        loop {
            let p = self.conns[i].pending();
            if p.is_empty() {
                break;
            }
            match self.ep.write(now, h, p) {
                Ok(n) if n > 0 => self.conns[i].advance(n),
                Ok(_) | Err(WriteError::WouldBlock) => break,
                Err(e) => {
                    self.error.get_or_insert(format!("write: {e}"));
                    break;
                }
            }
        }
    }

    /// Reacts to the endpoint's events.
    fn run_app(&mut self, now: Instant) {
        while let Some(ev) = self.ep.poll_event() {
            match ev {
                EndpointEvent::Acceptable(l) => {
                    while let Ok(Some(h)) = self.ep.accept(l) {
                        self.add(h);
                        self.established += 1;
                        self.service(h, now);
                    }
                }
                EndpointEvent::Conn(h, Event::Connected) => {
                    if self.client && self.index.contains_key(&h) {
                        self.established += 1;
                    }
                    self.service(h, now);
                }
                EndpointEvent::Conn(h, Event::Readable | Event::Writable) => self.service(h, now),
                EndpointEvent::Conn(h, Event::Error(e)) if self.index.contains_key(&h) => {
                    self.error.get_or_insert(format!("connection failed: {e}"));
                }
                _ => {}
            }
        }
    }
}

impl Node for RrOurs {
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>) {
        if let Err(e) = self.ep.handle_packet(now, Bytes::from(packet)) {
            self.error.get_or_insert(format!("input: {e}"));
        }
        self.run_app(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.ep.poll_transmit(now)?;
        match encode_packet(&t) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error.get_or_insert(format!("encode: {e}"));
                None
            }
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.ep.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.run_app(now);
    }

    fn report(&self) -> NodeReport {
        sum_report(self.conns.iter(), &self.error)
    }
}

impl RrNode for RrOurs {
    fn start(&mut self, now: Instant) {
        self.started = true;
        for k in 0..self.handles.len() {
            self.service(self.handles[k], now);
        }
    }

    fn established(&self) -> usize {
        self.established
    }

    fn round_trips(&self) -> u64 {
        if self.client {
            self.round_trips
        } else {
            self.conns.iter().map(RrConn::round_trips).sum()
        }
    }
}

struct SmolConn {
    handle: SocketHandle,
    app: RrConn,
    established: bool,
}

/// smoltcp's `Interface` with one socket per connection.
pub struct RrSmoltcp {
    iface: Interface,
    sockets: SocketSet<'static>,
    device: SimDevice,
    conns: Vec<SmolConn>,
    client: bool,
    started: bool,
    dirty: bool,
    last_now: Instant,
    established: usize,
    round_trips: u64,
    scratch: Vec<u8>,
    error: Option<String>,
}

impl RrSmoltcp {
    /// The client (every socket connects at once) or the server (every socket listens on
    /// the server port; smoltcp hands each SYN to the first listening socket).
    pub fn new(setup: &RrSetup, client: bool, now: Instant) -> Self {
        let c = setup.stack().smoltcp_config(client);
        let mut device = SimDevice::new(c.mtu);
        let mut iface_config = SmolIfaceConfig::new(HardwareAddress::Ip);
        iface_config.random_seed = c.seed;
        let mut iface = Interface::new(iface_config, &mut device, to_smol(now));
        let local = c.local_addr;
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(local), 24));
        });
        let mut sockets = SocketSet::new(Vec::with_capacity(setup.conns));
        let mut conns = Vec::with_capacity(setup.conns);
        let mut error = None;
        for k in 0..setup.conns {
            let mut s = smol_tcp::Socket::new(
                smol_tcp::SocketBuffer::new(vec![0u8; c.rx_buffer]),
                smol_tcp::SocketBuffer::new(vec![0u8; c.tx_buffer]),
            );
            s.set_nagle_enabled(false);
            let r = if client {
                let peer = (IpAddress::Ipv4(c.peer_addr), SERVER_PORT);
                s.connect(iface.context(), peer, CLIENT_PORT + k as u16)
                    .map_err(|e| format!("connect: {e}"))
            } else {
                s.listen(SERVER_PORT).map_err(|e| format!("listen: {e}"))
            };
            if let Err(e) = r {
                error.get_or_insert(e);
            }
            conns.push(SmolConn {
                handle: sockets.add(s),
                app: RrConn::new(client, setup.msg, setup.round_trips),
                established: false,
            });
        }
        RrSmoltcp {
            iface,
            sockets,
            device,
            conns,
            client,
            started: false,
            dirty: true,
            last_now: now,
            established: 0,
            round_trips: 0,
            scratch: vec![0; 64 * 1024],
            error,
        }
    }

    /// Runs the interface and the application until neither makes progress.
    fn pump(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        let ts = to_smol(self.last_now);
        for _ in 0..64 {
            self.iface.poll(ts, &mut self.device, &mut self.sockets);
            if !self.run_app() {
                break;
            }
        }
        self.dirty = false;
    }

    /// One scan of every socket; `true` if the application did anything.
    fn run_app(&mut self) -> bool {
        let mut progress = false;
        let may_write = self.started || !self.client;
        for c in &mut self.conns {
            let s = self.sockets.get_mut::<smol_tcp::Socket>(c.handle);
            if !c.established {
                if s.state() != smol_tcp::State::Established {
                    continue;
                }
                c.established = true;
                self.established += 1;
            }
            while s.can_recv() {
                match s.recv_slice(&mut self.scratch) {
                    Ok(0) => break,
                    Ok(n) => {
                        let done = c.app.on_data(&self.scratch[..n]);
                        if self.client {
                            self.round_trips += done;
                        }
                        progress = true;
                    }
                    Err(e) => {
                        self.error.get_or_insert(format!("recv: {e}"));
                        break;
                    }
                }
            }
            if may_write {
                let p = c.app.pending();
                if !p.is_empty() {
                    match s.send_slice(p) {
                        Ok(n) => {
                            c.app.advance(n);
                            progress |= n > 0;
                        }
                        Err(e) => {
                            self.error.get_or_insert(format!("send: {e}"));
                        }
                    }
                }
            }
            if !s.is_open() {
                self.error.get_or_insert("connection closed".into());
            }
        }
        progress
    }
}

impl Node for RrSmoltcp {
    fn handle_packet(&mut self, _now: Instant, packet: Vec<u8>) {
        self.device.rx.push_back(packet);
        self.dirty = true;
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.device.tx.is_empty() && (self.dirty || now > self.last_now) {
            self.pump(now);
        }
        self.device.tx.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        if self.dirty {
            return Some(self.last_now);
        }
        self.iface
            .poll_at(to_smol(self.last_now), &self.sockets)
            .map(|t| from_smol(t).max(self.last_now))
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.pump(now);
    }

    fn report(&self) -> NodeReport {
        sum_report(self.conns.iter().map(|c| &c.app), &self.error)
    }
}

impl RrNode for RrSmoltcp {
    fn start(&mut self, _now: Instant) {
        self.started = true;
        self.dirty = true;
    }

    fn established(&self) -> usize {
        self.established
    }

    fn round_trips(&self) -> u64 {
        if self.client {
            self.round_trips
        } else {
            self.conns.iter().map(|c| c.app.round_trips()).sum()
        }
    }
}

/// Builds the client or server node of `stack`.
pub fn make_rr_node(stack: Stack, setup: &RrSetup, client: bool, now: Instant) -> Box<dyn RrNode> {
    match stack {
        Stack::Ours => Box::new(RrOurs::new(setup, client, now)),
        Stack::Smoltcp => Box::new(RrSmoltcp::new(setup, client, now)),
    }
}

/// The outcome of a request/response run.
#[derive(Debug, Clone, PartialEq)]
pub struct RrResult {
    /// Round trips completed (client side, all connections).
    pub round_trips: u64,
    /// Wall-clock seconds of the request/response phase (handshakes excluded).
    pub secs: f64,
    /// Packets moved in the request/response phase, both directions.
    pub packets: u64,
    /// Steps of the request/response phase at which virtual time had to move.
    pub timer_steps: u64,
    /// Virtual time that passed in the request/response phase.
    pub virtual_elapsed: Duration,
    /// Bytes the client read (and verified).
    pub client_received: u64,
    /// Bytes the server read (and verified).
    pub server_received: u64,
    /// The first error either side reported.
    pub error: Option<String>,
}

impl RrResult {
    /// Round trips per wall-clock second.
    pub fn rate(&self) -> f64 {
        self.round_trips as f64 / self.secs
    }
}

/// Sets up every connection (untimed), then runs the request/response phase until every
/// connection completed its round trips (timed).
pub fn run_rr(stack: Stack, setup: &RrSetup) -> Result<RrResult, String> {
    let mut now = Instant::from_secs(1);
    let mut server = make_rr_node(stack, setup, false, now);
    let mut client = make_rr_node(stack, setup, true, now);
    let n = setup.conns;
    let hs: DirectStats = run_direct(
        &mut now,
        &mut *client,
        &mut *server,
        |c, s| c.established() == n && s.established() == n,
        10_000_000,
    );
    if !hs.done {
        return Err(format!(
            "{} handshakes: client {} and server {} established",
            n,
            client.established(),
            server.established()
        ));
    }
    let target = setup.round_trips * n as u64;
    let t = WallClock::now();
    client.start(now);
    let st = run_direct(
        &mut now,
        &mut *client,
        &mut *server,
        |c, _| c.round_trips() >= target,
        u64::MAX,
    );
    let secs = t.elapsed().as_secs_f64();
    let (c, s) = (client.report(), server.report());
    Ok(RrResult {
        round_trips: client.round_trips(),
        secs,
        packets: st.packets,
        timer_steps: st.timer_steps,
        virtual_elapsed: st.virtual_elapsed,
        client_received: c.bytes_received,
        server_received: s.bytes_received,
        error: c.error.or(s.error),
    })
}
