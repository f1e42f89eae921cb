//! The endpoint: every connection on a set of local addresses, under the sans-IO contract.
//!
//! - Demux by 4-tuple in O(1) (`table`), then listener by (address, port), then
//!   (unspecified, port); segments matching nothing are answered with RST
//!   (RFC 9293 §3.10.7.1), rate-limited.
//! - Listeners keep a SYN queue of compact half-open entries and an accept queue bounded by
//!   the backlog; overflow behaves like Linux (drops, or SYN cookies, RFC 4987).
//! - ISNs (RFC 6528), timestamp offsets and ephemeral ports (RFC 6056) come from a keyed
//!   hash of the 4-tuple with the secret in [`EndpointConfig`].
//! - TIME_WAIT is a compact record (`timewait`), with Linux's rules
//!   (`tcp_timewait_state_process`): a connection that reaches TIME_WAIT hands its 4-tuple
//!   to one, whether or not the application still holds it (then its socket reads
//!   CLOSED, as Linux's `tcp_done` leaves it). Under FreeBSD's rules a socket still held
//!   keeps its TIME_WAIT in the connection (`tcp_twcheck`).
//! - One timer heap for everything: `poll_timeout` is O(1), `handle_timeout` touches only
//!   entries whose deadline passed.

mod app;
mod cookie;
mod hash;
mod listen;
mod memory;
mod pmtu_cache;
mod slot;
mod table;
mod timewait;

pub use app::SockOption;
pub use listen::{Incoming, IncomingHandle, ListenError, ListenOptions, ListenerHandle};
pub use table::FourTuple;

use crate::config::Config;
use crate::conn::{Connection, Segment, State};
use crate::error::{ReadError, StateError, WriteError};
use crate::event::Event;
use crate::time::Instant;
use crate::wire::{
    IPPROTO_TCP, TcpHeader, WireError, emit_tcp_segment, parse_ip_packet, parse_tcp_segment,
};
use alloc::boxed::Box;
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::{Buf, Bytes};
use core::cmp::Reverse;
use core::net::{IpAddr, SocketAddr};
use listen::{HalfOpen, Listener, PendingIncoming};
use slot::{ConnEntry, Slot, SlotKind, slot_holds};
use table::TupleTable;
use timewait::TimeWaitRec;

/// When SYN cookies are used (Linux's `tcp_syncookies`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SynCookies {
    /// Never: with the SYN queue full, new SYNs are dropped.
    Never,
    /// When the SYN queue is full (Linux's default, `tcp_syncookies = 1`).
    #[default]
    OnOverflow,
    /// For every SYN (`tcp_syncookies = 2`).
    Always,
}

/// Endpoint-wide parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// Secret key for ISNs, timestamp offsets, port selection, SYN cookies and the demux
    /// hash. The embedder must fill it with random bytes; the core has no randomness.
    pub secret: [u8; 16],
    /// Largest number of half-open connections per listener (`tcp_max_syn_backlog`).
    /// Default 1024.
    pub max_syn_backlog: usize,
    /// SYN cookie policy. Default: on overflow.
    pub syncookies: SynCookies,
    /// RSTs sent per second for segments that match nothing. Default 1000.
    pub rst_rate_limit: u32,
    /// Ephemeral port range, inclusive (`ip_local_port_range`). Default 32768-60999.
    pub ephemeral_ports: (u16, u16),
    /// Largest number of TIME_WAIT records (`tcp_max_tw_buckets`); beyond it a finishing
    /// connection closes without TIME_WAIT. Default 262144.
    pub max_time_wait: usize,
    /// Control segments (RSTs, SYN-ACKs, TIME_WAIT ACKs) queued at most. Default 4096.
    pub max_control_queue: usize,
    /// RFC 1337 TIME_WAIT protection: an in-window RST does not end TIME_WAIT. Default
    /// on. Linux's default (`tcp_rfc1337 = 0`) is off: a RST at RCV.NXT ends TIME_WAIT
    /// ("TIME_WAIT assassination").
    pub rfc1337: bool,
}

impl EndpointConfig {
    /// The defaults with `secret` (random bytes the embedder draws: the core has no
    /// randomness).
    pub fn with_secret(secret: [u8; 16]) -> Self {
        EndpointConfig {
            secret,
            ..EndpointConfig::default()
        }
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            secret: [0; 16],
            max_syn_backlog: 1024,
            syncookies: SynCookies::OnOverflow,
            rst_rate_limit: 1000,
            ephemeral_ports: (32768, 60999),
            max_time_wait: 262_144,
            max_control_queue: 4096,
            rfc1337: true,
        }
    }
}

/// Names one connection of an endpoint. A handle is never reused for another connection
/// while it could still be named: slots carry a generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnHandle {
    index: u32,
    generation: u32,
}

/// Errors from operations that name a connection or listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The handle names nothing (any more): the connection was closed by the application
    /// or never existed.
    #[error("stale or unknown handle")]
    Stale,
}

impl From<HandleError> for WriteError {
    fn from(_: HandleError) -> Self {
        WriteError::UnknownHandle
    }
}

impl From<HandleError> for ReadError {
    fn from(_: HandleError) -> Self {
        ReadError::UnknownHandle
    }
}

impl From<HandleError> for StateError {
    fn from(_: HandleError) -> Self {
        StateError::UnknownHandle
    }
}

/// Errors from [`Endpoint::connect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Every ephemeral port is in use towards that destination (EADDRNOTAVAIL).
    #[error("no free ephemeral port")]
    NoPort,
    /// The 4-tuple is already in use (EADDRINUSE).
    #[error("address in use")]
    AddrInUse,
    /// Local and remote address families differ, or the remote is unspecified.
    #[error("invalid address")]
    InvalidAddress,
}

/// Errors from [`Endpoint::handle_segment`] and [`Endpoint::handle_packet`]; each is also
/// counted in [`EndpointStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The packet or segment is malformed or its checksum is wrong.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The IP packet does not carry TCP.
    #[error("not a TCP packet")]
    NotTcp,
}

/// What the endpoint reports to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// Something happened on a connection.
    Conn(ConnHandle, Event),
    /// A listener has an established connection waiting for `accept`.
    Acceptable(ListenerHandle),
    /// A new connection request awaits a decision (listeners in decision mode).
    Incoming(IncomingHandle),
    /// A request reported by [`EndpointEvent::Incoming`] ended before a decision: the
    /// peer reset it, or nobody decided within 75 s. Its handle is stale.
    IncomingGone(IncomingHandle),
}

/// What the device that delivered a packet already did for it (receive offloads), for
/// [`Endpoint::handle_packet_offloaded`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RxOffload {
    /// The device verified the TCP checksum, or the packet never crossed a wire (a TUN
    /// device's virtio-net header marks a packet of the local kernel with
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`, its checksum field holding only the pseudo-header
    /// sum, or with `VIRTIO_NET_HDR_F_DATA_VALID`): the checksum is not verified again.
    pub checksum_verified: bool,
}

impl RxOffload {
    /// Nothing done by the device: the checksum is verified here.
    pub const NONE: RxOffload = RxOffload {
        checksum_verified: false,
    };
    /// The device verified the checksum.
    pub const CHECKSUM_VERIFIED: RxOffload = RxOffload {
        checksum_verified: true,
    };
}

/// A segment to send, with its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Our address and port.
    pub src: SocketAddr,
    /// The peer's address and port.
    pub dst: SocketAddr,
    /// The segment.
    pub segment: Segment,
}

impl Transmit {
    /// Encoded length of the TCP segment (header and payload).
    pub fn len(&self) -> usize {
        self.segment.header.len() + self.segment.payload.len()
    }

    /// Never true: a segment has at least a header. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the TCP segment with its checksum (pseudo-header of `src` and `dst`) into
    /// `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        emit_tcp_segment(
            &self.segment.header,
            &self.segment.payload,
            self.src.ip(),
            self.dst.ip(),
            buf,
        )
    }
}

/// Counters of every decision and drop the endpoint makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Segments handed in.
    pub segments_in: u64,
    /// Segments handed out by `poll_transmit`.
    pub segments_out: u64,
    /// Segments dropped: malformed or bad checksum.
    pub malformed: u64,
    /// Packets dropped: not TCP.
    pub not_tcp: u64,
    /// ICMP and ICMPv6 messages handed in (see [`Endpoint::handle_packet`]).
    pub icmp_in: u64,
    /// Of them, not about a segment of ours that is still here (echo, redirect, another
    /// protocol, no such connection, a half-open entry it does not concern).
    pub icmp_ignored: u64,
    /// Path MTUs learnt from ICMP and kept for the destination (RFC 1191 §5).
    pub pmtu_learned: u64,
    /// Segments that matched nothing.
    pub no_match: u64,
    /// RSTs sent for segments that matched nothing.
    pub resets_sent: u64,
    /// RSTs suppressed by the rate limit.
    pub resets_rate_limited: u64,
    /// SYNs received by listeners.
    pub syns_received: u64,
    /// SYNs dropped because the SYN queue was full and cookies were off.
    pub syn_queue_overflow: u64,
    /// SYNs and final ACKs dropped because the accept queue was full.
    pub accept_queue_overflow: u64,
    /// SYN-ACKs retransmitted from the SYN queue.
    pub synack_retransmits: u64,
    /// Half-open entries dropped after the SYN-ACK retries.
    pub half_open_timeouts: u64,
    /// SYN cookies sent.
    pub cookies_sent: u64,
    /// SYN cookies validated (connections created from them).
    pub cookies_validated: u64,
    /// ACKs to a listener whose cookie did not validate.
    pub cookies_failed: u64,
    /// Connections established (both directions).
    pub connections_established: u64,
    /// TIME_WAIT records created.
    pub time_wait_created: u64,
    /// Connections closed without TIME_WAIT because the table was full.
    pub time_wait_overflow: u64,
    /// ACKs sent from TIME_WAIT records.
    pub time_wait_acks: u64,
    /// ACKs a TIME_WAIT record held back by the limit on answers to invalid segments.
    pub time_wait_acks_limited: u64,
    /// RSTs ignored in TIME_WAIT (RFC 1337).
    pub time_wait_rst_ignored: u64,
    /// TIME_WAIT records replaced by a new connection (RFC 6191).
    pub time_wait_reused: u64,
    /// Control segments dropped because the control queue was full.
    pub control_dropped: u64,
    /// Connection requests surfaced as `Incoming`.
    pub incoming: u64,
}

/// `bytes[range]` without cloning `bytes`: cloning a `Bytes` made from a `Vec` (as a
/// driver's receive buffer often is) allocates a shared header; moving its start does not.
fn narrow(mut bytes: Bytes, range: core::ops::Range<usize>) -> Bytes {
    bytes.truncate(range.end);
    bytes.advance(range.start.min(bytes.len()));
    bytes
}

/// How long a connection stays idle (no timer of its own) before the memory of its empty
/// queues goes back (`Connection::release_idle_memory`): long enough that a busy
/// connection, idle for a moment between segments, does not allocate them again each time.
const IDLE_RELEASE_AFTER: crate::time::Duration = crate::time::Duration::from_secs(1);

/// When a connection without a timer of its own should give back the memory of its
/// empty queues, if it holds any (see `IDLE_RELEASE_AFTER`).
#[cold]
#[inline(never)]
fn idle_release_deadline(conn: &Connection, now: Instant) -> Option<Instant> {
    conn.holds_idle_memory().then(|| now + IDLE_RELEASE_AFTER)
}

/// The endpoint. See the module docs.
#[derive(Debug)]
pub struct Endpoint {
    cfg: Arc<Config>,
    /// The ECN codepoint of the packet being processed (RFC 3168).
    rx_ecn: crate::wire::IpEcn,
    /// The receive offloads of the packet being processed.
    rx_offload: RxOffload,
    ep: EndpointConfig,
    slots: Vec<Slot>,
    free: Vec<u32>,
    table: TupleTable,
    listeners: Vec<Option<Listener>>,
    listener_generations: Vec<u32>,
    timers: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    dirty: VecDeque<u32>,
    control: VecDeque<Transmit>,
    /// Listener events (a connection to accept, a request to decide on).
    events: VecDeque<EndpointEvent>,
    /// Slots whose connection has events for the application; the events stay in the
    /// connection (coalesced there, each kind once until polled) until `poll_event`.
    ready: VecDeque<u32>,
    stats: EndpointStats,
    time_wait_count: usize,
    port_counter: u32,
    rst_window: (Instant, u32),
    /// Path MTUs learnt per destination (RFC 1191 §5).
    pmtu: pmtu_cache::PmtuCache,
}

impl Endpoint {
    /// An endpoint with the given per-connection configuration and endpoint parameters.
    pub fn new(config: Config, ep: EndpointConfig) -> Self {
        let table = TupleTable::new(ep.secret);
        Endpoint {
            cfg: Arc::new(config),
            rx_ecn: crate::wire::IpEcn::NotEct,
            rx_offload: RxOffload::NONE,
            ep,
            slots: Vec::new(),
            free: Vec::new(),
            table,
            listeners: Vec::new(),
            listener_generations: Vec::new(),
            timers: BinaryHeap::new(),
            dirty: VecDeque::new(),
            control: VecDeque::new(),
            events: VecDeque::new(),
            ready: VecDeque::new(),
            stats: EndpointStats::default(),
            time_wait_count: 0,
            port_counter: 0,
            rst_window: (Instant::ZERO, 0),
            pmtu: pmtu_cache::PmtuCache::default(),
        }
    }

    /// The per-connection configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The endpoint counters.
    pub fn stats(&self) -> &EndpointStats {
        &self.stats
    }

    /// Number of entries in the demux table (connections, half-open entries, TIME_WAIT
    /// records).
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Number of TIME_WAIT records.
    pub fn time_wait_count(&self) -> usize {
        self.time_wait_count
    }

    // ---- slots ----

    fn alloc_slot(&mut self, kind: SlotKind) -> u32 {
        if let Some(i) = self.free.pop()
            && let Some(s) = self.slots.get_mut(i as usize)
        {
            s.kind = kind;
            s.armed = None;
            s.dirty = false;
            s.ready = false;
            s.idle_release = false;
            return i;
        }
        self.slots.push(Slot {
            generation: 0,
            kind,
            armed: None,
            dirty: false,
            ready: false,
            idle_release: false,
        });
        (self.slots.len() - 1) as u32
    }

    fn free_slot(&mut self, i: u32) {
        if let Some(s) = self.slots.get_mut(i as usize) {
            if matches!(s.kind, SlotKind::TimeWait(_)) {
                self.time_wait_count -= 1;
            }
            s.kind = SlotKind::Free;
            s.generation = s.generation.wrapping_add(1);
            s.armed = None;
            s.dirty = false;
            s.ready = false;
            self.free.push(i);
        }
    }

    fn handle_of(&self, i: u32) -> ConnHandle {
        ConnHandle {
            index: i,
            generation: self.slots.get(i as usize).map_or(0, |s| s.generation),
        }
    }

    fn entry(&self, h: ConnHandle) -> Result<&ConnEntry, HandleError> {
        match self.slots.get(h.index as usize) {
            Some(Slot {
                generation,
                kind: SlotKind::Conn(e),
                ..
            }) if *generation == h.generation && !e.app_closed => Ok(e),
            _ => Err(HandleError::Stale),
        }
    }

    fn entry_mut(&mut self, h: ConnHandle) -> Result<&mut ConnEntry, HandleError> {
        match self.slots.get_mut(h.index as usize) {
            Some(Slot {
                generation,
                kind: SlotKind::Conn(e),
                ..
            }) if *generation == h.generation && !e.app_closed => Ok(e),
            _ => Err(HandleError::Stale),
        }
    }

    /// Read access to a connection (state, `info()`, counters).
    pub fn connection(&self, h: ConnHandle) -> Result<&Connection, HandleError> {
        self.entry(h).map(|e| &e.conn)
    }

    /// The 4-tuple of a connection.
    pub fn tuple(&self, h: ConnHandle) -> Result<FourTuple, HandleError> {
        self.entry(h).map(|e| e.tuple())
    }

    // ---- application calls ----

    /// Active open from `local_ip` to `remote` with an ephemeral port (RFC 6056 §3.3.3).
    pub fn connect(
        &mut self,
        now: Instant,
        local_ip: IpAddr,
        remote: SocketAddr,
    ) -> Result<ConnHandle, ConnectError> {
        if local_ip.is_ipv4() != remote.is_ipv4()
            || remote.ip().is_unspecified()
            || remote.port() == 0
        {
            return Err(ConnectError::InvalidAddress);
        }
        let (lo, hi) = self.ep.ephemeral_ports;
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        let num = u32::from(hi - lo) + 1;
        let offset = hash::port_offset(&self.ep.secret, local_ip, remote);
        for count in 0..num {
            let port =
                lo + ((self.port_counter.wrapping_add(offset).wrapping_add(count)) % num) as u16;
            let local = SocketAddr::new(local_ip, port);
            if self
                .table
                .get(&FourTuple { local, remote }, |j, t| {
                    slot_holds(&self.slots, j, t)
                })
                .is_none()
            {
                self.port_counter = self.port_counter.wrapping_add(count + 1);
                return self.connect_from(now, local, remote);
            }
        }
        Err(ConnectError::NoPort)
    }

    /// Active open from an explicit local address and port. The connection is known by
    /// its addresses and ports alone: an IPv6 flow label or scope id in `local` or
    /// `remote` is not kept (segments reach it by addresses and ports).
    pub fn connect_from(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<ConnHandle, ConnectError> {
        if local.is_ipv4() != remote.is_ipv4()
            || remote.ip().is_unspecified()
            || local.ip().is_unspecified()
        {
            return Err(ConnectError::InvalidAddress);
        }
        // A connection is known by addresses and ports, as the segments that reach it
        // carry them: an IPv6 flow label or scope in `local` or `remote` is not kept.
        let local = SocketAddr::new(local.ip(), local.port());
        let remote = SocketAddr::new(remote.ip(), remote.port());
        let tuple = FourTuple { local, remote };
        if let Some(i) = self.table.get(&tuple, |j, t| slot_holds(&self.slots, j, t)) {
            // A TIME_WAIT record may be reused by an active open (as Linux's tcp_tw_reuse
            // for a fresh ISN beyond the old sequence space); anything else is in use.
            if !matches!(
                self.slots.get(i as usize).map(|s| &s.kind),
                Some(SlotKind::TimeWait(_))
            ) {
                return Err(ConnectError::AddrInUse);
            }
            self.table
                .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
            self.free_slot(i);
        }
        let isn = hash::isn(&self.ep.secret, local, remote, now);
        let tso = hash::ts_offset(&self.ep.secret, local, remote);
        let mut conn =
            Connection::connect(self.cfg.clone(), now, local.port(), remote.port(), isn, tso);
        self.pmtu.apply(&mut conn, remote.ip(), now);
        let i = self.insert_conn(conn, tuple, None);
        self.after_conn(i, now);
        Ok(self.handle_of(i))
    }

    fn insert_conn(
        &mut self,
        conn: Connection,
        tuple: FourTuple,
        queued_for: Option<ListenerHandle>,
    ) -> u32 {
        let counted = queued_for.is_some();
        let i = self.alloc_slot(SlotKind::Conn(Box::new(ConnEntry::new(
            conn, tuple, queued_for, counted,
        ))));
        self.table.insert(&tuple, i);
        i
    }

    // ---- input ----

    /// Processes an IPv4 or IPv6 packet carrying a TCP segment, or an ICMP / ICMPv6
    /// message: an error about one of our segments reaches its connection (see
    /// [`Connection::handle_icmp`]); other packets are counted and refused as not TCP.
    pub fn handle_packet(&mut self, now: Instant, packet: Bytes) -> Result<(), InputError> {
        let (ip, range) = match parse_ip_packet(&packet) {
            Ok(v) => v,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        let icmp = match ip {
            crate::wire::IpHeader::V4(_) => crate::wire::IPPROTO_ICMP,
            crate::wire::IpHeader::V6(_) => crate::wire::IPPROTO_ICMPV6,
        };
        if ip.protocol() == icmp {
            return self.handle_icmp(now, &ip, &packet[range]);
        }
        if ip.protocol() != IPPROTO_TCP {
            self.stats.not_tcp += 1;
            return Err(InputError::NotTcp);
        }
        self.handle_segment_ecn(now, ip.src(), ip.dst(), narrow(packet, range), ip.ecn())
    }

    /// [`Endpoint::handle_packet`] for a packet the receiving device already did some of
    /// the work for ([`RxOffload`]: its TCP checksum verified). The packet may also be a
    /// receive-coalesced super-segment (GRO/LRO, up to 64 KiB of consecutive data in one
    /// TCP header), which is processed as one segment.
    pub fn handle_packet_offloaded(
        &mut self,
        now: Instant,
        packet: Bytes,
        offload: RxOffload,
    ) -> Result<(), InputError> {
        self.rx_offload = offload;
        let r = self.handle_packet(now, packet);
        self.rx_offload = RxOffload::NONE;
        r
    }

    /// An ICMP or ICMPv6 message (the packet's IP header and its body): an error about a
    /// segment of one of our connections goes to that connection
    /// ([`Connection::handle_icmp`]) or half-open entry; anything else is counted and
    /// dropped. The message must quote our own address and port as its source.
    fn handle_icmp(
        &mut self,
        now: Instant,
        ip: &crate::wire::IpHeader,
        body: &[u8],
    ) -> Result<(), InputError> {
        let err = match crate::wire::parse_icmp_error(ip, body) {
            Ok(Some(e)) => e,
            Ok(None) => {
                self.stats.icmp_in += 1;
                self.stats.icmp_ignored += 1;
                return Ok(());
            }
            Err(e) => {
                self.stats.icmp_in += 1;
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        self.handle_icmp_error(now, &err);
        Ok(())
    }

    /// An ICMP or ICMPv6 error about one of our segments that the adapter learned other
    /// than as a packet (for example from a UDP socket's error queue, or a send the
    /// operating system refused as larger than the path MTU): it goes to its connection
    /// ([`Connection::handle_icmp`], which accepts it only about data in flight, RFC 5927
    /// §4.1) or half-open entry, and is counted as [`EndpointStats::icmp_in`]; one about
    /// no connection of ours is counted as ignored.
    pub fn handle_icmp_error(&mut self, now: Instant, err: &crate::wire::IcmpError) {
        self.stats.icmp_in += 1;
        let err = *err;
        let tuple = FourTuple {
            local: SocketAddr::new(err.local, err.local_port),
            remote: SocketAddr::new(err.remote, err.remote_port),
        };
        let Some(i) = self
            .table
            .lookup(&tuple, |j, t| slot_holds(&self.slots, j, t))
        else {
            self.stats.icmp_ignored += 1;
            return;
        };
        match self.slots.get_mut(i as usize).map(|s| &mut s.kind) {
            Some(SlotKind::Conn(e)) => {
                let before = e.conn.path_mtu();
                e.conn.handle_icmp(now, &err);
                let after = e.conn.path_mtu();
                if after != before
                    && let Some(mtu) = after
                {
                    self.pmtu.learn(err.remote, mtu, now);
                    self.stats.pmtu_learned += 1;
                }
                self.after_conn(i, now);
            }
            Some(SlotKind::HalfOpen(_)) => {
                if !self.half_open_icmp(i, &err) {
                    self.stats.icmp_ignored += 1;
                }
            }
            _ => self.stats.icmp_ignored += 1,
        }
    }

    /// [`Endpoint::handle_segment`] for a segment whose IP header carried the ECN
    /// codepoint `ecn` (RFC 3168; [`Endpoint::handle_packet`] reads it from the packet).
    pub fn handle_segment_ecn(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        segment: Bytes,
        ecn: crate::wire::IpEcn,
    ) -> Result<(), InputError> {
        self.rx_ecn = ecn;
        let r = self.handle_segment(now, src, dst, segment);
        self.rx_ecn = crate::wire::IpEcn::NotEct;
        r
    }

    /// Processes a TCP segment (header and payload) sent from `src` to `dst`. The checksum
    /// is verified here. The payload is kept as a slice of `segment`, not copied.
    pub fn handle_segment(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        segment: Bytes,
    ) -> Result<(), InputError> {
        self.stats.segments_in += 1;
        let parsed = if self.rx_offload.checksum_verified {
            crate::wire::parse_tcp_segment_offloaded(src, dst, &segment)
        } else {
            parse_tcp_segment(src, dst, &segment)
        };
        let (h, range) = match parsed {
            Ok(v) => v,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        let payload = narrow(segment, range);
        let tuple = FourTuple {
            local: SocketAddr::new(dst, h.dst_port),
            remote: SocketAddr::new(src, h.src_port),
        };
        match self
            .table
            .lookup(&tuple, |j, t| slot_holds(&self.slots, j, t))
        {
            Some(i) => self.segment_for_slot(now, i, tuple, &h, payload),
            None => self.segment_for_listener(now, tuple, &h, payload),
        }
        Ok(())
    }

    fn segment_for_slot(
        &mut self,
        now: Instant,
        i: u32,
        tuple: FourTuple,
        h: &TcpHeader,
        payload: Bytes,
    ) {
        let Some(slot) = self.slots.get_mut(i as usize) else {
            return;
        };
        match &mut slot.kind {
            SlotKind::Conn(e) => {
                if e.conn.yields_to_syn(h) {
                    // FreeBSD's tcp_twcheck: a SYN above RCV.NXT ends TIME-WAIT and goes
                    // to a listener, although the application still holds the socket.
                    e.conn.yield_to_syn();
                    e.detached = true;
                    self.table.remove(&tuple, |j, t| {
                        if j == i {
                            *t == tuple
                        } else {
                            slot_holds(&self.slots, j, t)
                        }
                    });
                    self.after_conn(i, now);
                    self.segment_for_listener(now, tuple, h, payload);
                    return;
                }
                e.conn.handle_segment_ecn(now, h, payload, self.rx_ecn);
                self.after_conn(i, now);
            }
            SlotKind::HalfOpen(_) => self.half_open_segment(now, i, tuple, h, payload),
            SlotKind::Incoming(_) => {
                // A retransmitted SYN while the embedder decides: nothing to do. Anything
                // else (a RST) cancels the pending request.
                if h.flags.contains(crate::wire::TcpFlags::RST) {
                    self.cancel_incoming(i, tuple);
                }
            }
            SlotKind::TimeWait(_) => self.time_wait_segment(now, i, tuple, h, payload),
            SlotKind::Free => {}
        }
    }

    /// Answers a segment that matches no connection (RFC 9293 §3.10.7.1), rate-limited.
    fn reset_unmatched(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        h: &TcpHeader,
        payload_len: usize,
    ) {
        self.stats.no_match += 1;
        let Some((seq, ack, flags)) = crate::conn::reset_for(h, payload_len) else {
            return;
        };
        if now.saturating_duration_since(self.rst_window.0) >= crate::time::Duration::from_secs(1) {
            self.rst_window = (now, 0);
        }
        if self.rst_window.1 >= self.ep.rst_rate_limit {
            self.stats.resets_rate_limited += 1;
            return;
        }
        self.rst_window.1 += 1;
        self.stats.resets_sent += 1;
        let header = TcpHeader {
            src_port: tuple.local.port(),
            dst_port: tuple.remote.port(),
            seq,
            ack,
            flags,
            window: 0,
            urgent: 0,
            options: Default::default(),
        };
        self.push_control(
            tuple,
            Segment {
                ecn: crate::wire::IpEcn::NotEct,
                header,
                payload: Bytes::new(),
            },
        );
    }

    fn push_control(&mut self, tuple: FourTuple, segment: Segment) {
        if self.control.len() >= self.ep.max_control_queue {
            self.stats.control_dropped += 1;
            return;
        }
        self.control.push_back(Transmit {
            src: tuple.local,
            dst: tuple.remote,
            segment,
        });
    }

    // ---- reacting to connection changes ----

    /// After anything touched connection slot `i`: forward events, move finished
    /// connections to TIME_WAIT records or free them, queue for transmit, re-arm the timer.
    fn after_conn(&mut self, i: u32, now: Instant) {
        if self.settle(i, now) {
            self.mark_dirty(i);
        }
    }

    /// Forwards events, retires finished connections and re-arms the timer; returns whether
    /// the slot still holds a connection.
    fn settle(&mut self, i: u32, now: Instant) -> bool {
        let Some(Slot {
            kind: SlotKind::Conn(e),
            ready,
            ..
        }) = self.slots.get_mut(i as usize)
        else {
            return false;
        };
        if !e.counted && e.conn.state().is_synchronized() {
            e.counted = true;
            self.stats.connections_established += 1;
        }
        let deliver = e.queued_for.is_none() && !e.app_closed && e.conn.has_events();
        if e.app_closed {
            // The application gave the handle up: nothing more is reported for it.
            while e.conn.poll_event().is_some() {}
        }
        if deliver && !*ready {
            *ready = true;
            self.ready.push_back(i);
        }
        let state = e.conn.state();
        let orphan = e.app_closed;
        if orphan && state == State::TimeWait {
            self.enter_time_wait_record(i, now);
            return false;
        }
        if state == State::TimeWait && self.cfg.segment_rules == crate::config::SegmentRules::Linux
        {
            // Linux's tcp_time_wait: the 4-tuple goes to a compact record even while the
            // application holds the socket, which is then closed (tcp_done).
            self.split_time_wait(i, now);
            return self.settle(i, now);
        }
        if orphan && e.conn.is_closed() {
            let tuple = e.tuple();
            // Flush whatever it still has to say (a RST) before the slot goes.
            while let Some(seg) = e.conn.poll_transmit(now) {
                let t = Transmit {
                    src: tuple.local,
                    dst: tuple.remote,
                    segment: seg,
                };
                if self.control.len() < self.ep.max_control_queue {
                    self.control.push_back(t);
                }
            }
            if !e.detached {
                self.table
                    .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
            }
            self.free_slot(i);
            return false;
        }
        self.schedule(i, now);
        true
    }

    fn mark_ready(&mut self, i: u32) {
        if let Some(s) = self.slots.get_mut(i as usize)
            && !s.ready
        {
            s.ready = true;
            self.ready.push_back(i);
        }
    }

    fn mark_dirty(&mut self, i: u32) {
        if let Some(s) = self.slots.get_mut(i as usize)
            && !s.dirty
        {
            s.dirty = true;
            self.dirty.push_back(i);
        }
    }

    /// Makes sure the timer heap has an entry at or before slot `i`'s deadline. A
    /// connection with no timer of its own that still holds queue memory gets one
    /// `IDLE_RELEASE_AFTER` from `now`, when that memory goes back if it is still idle.
    #[inline(always)]
    fn schedule(&mut self, i: u32, now: Instant) {
        let Some(s) = self.slots.get_mut(i as usize) else {
            return;
        };
        let mut idle = false;
        let deadline = match &s.kind {
            SlotKind::Conn(e) => match e.conn.poll_timeout() {
                // (An armed timer checks for idleness when it fires.)
                None if s.armed.is_none() => {
                    idle = true;
                    idle_release_deadline(&e.conn, now)
                }
                d => d,
            },
            SlotKind::HalfOpen(h) => Some(h.deadline),
            SlotKind::Incoming(p) => Some(p.expires),
            SlotKind::TimeWait(t) => Some(t.deadline),
            SlotKind::Free => None,
        };
        if let Some(d) = deadline
            && s.armed.is_none_or(|a| d < a)
        {
            s.armed = Some(d);
            s.idle_release = idle;
            self.timers.push(Reverse((d, i, s.generation)));
            if self.timers.len() > 2 * self.slots.len() + 1024 {
                self.compact_timers();
            }
        }
    }

    /// Rebuilds the heap from the slots' authoritative deadlines, dropping superseded
    /// entries, so the heap stays within a constant factor of the number of slots.
    fn compact_timers(&mut self) {
        let live: Vec<_> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.armed.map(|t| Reverse((t, i as u32, s.generation))))
            .collect();
        self.timers = BinaryHeap::from(live);
    }

    // ---- output ----

    /// The earliest instant at which `handle_timeout` has work (possibly a little early;
    /// never late).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Runs every timer that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((t, i, generation))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(s) = self.slots.get_mut(i as usize) else {
                continue;
            };
            if s.generation != generation || s.armed != Some(t) {
                continue; // superseded
            }
            s.armed = None;
            match &mut s.kind {
                SlotKind::Conn(e) => {
                    match e.conn.poll_timeout() {
                        Some(d) if d <= now => {
                            e.conn.handle_timeout(now);
                            self.after_conn(i, now);
                            continue;
                        }
                        // Idle for `IDLE_RELEASE_AFTER`: the empty queues' memory goes
                        // back until the next use.
                        None if s.idle_release => e.conn.release_idle_memory(),
                        _ => {}
                    }
                    self.schedule(i, now);
                }
                SlotKind::HalfOpen(_) => self.half_open_timeout(now, i),
                SlotKind::Incoming(p) => {
                    if p.expires <= now {
                        let tuple = p.tuple;
                        self.cancel_incoming(i, tuple);
                    } else {
                        self.schedule(i, now);
                    }
                }
                SlotKind::TimeWait(tw) => {
                    if tw.deadline <= now {
                        let tuple = tw.tuple;
                        self.table
                            .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
                        self.free_slot(i);
                    } else {
                        self.schedule(i, now);
                    }
                }
                SlotKind::Free => {}
            }
        }
        self.shrink_timers();
    }

    /// After a burst (many connections with timers at once) the heap's entries fire and
    /// its room stays: once it holds under a quarter of its room, it keeps twice what is
    /// left, so idle connections do not pay for the busiest moment, and a steady load
    /// does not reallocate.
    fn shrink_timers(&mut self) {
        const LEAST_ROOM: usize = 256;
        let len = self.timers.len();
        if self.timers.capacity() > 4 * len + LEAST_ROOM {
            self.timers.shrink_to(2 * len + LEAST_ROOM);
        }
    }

    /// The next segment to send. Control segments first, then connections in round-robin
    /// order, one segment each, so no connection starves another.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(t) = self.control.pop_front() {
            self.stats.segments_out += 1;
            return Some(t);
        }
        while let Some(i) = self.dirty.pop_front() {
            let Some(s) = self.slots.get_mut(i as usize) else {
                continue;
            };
            s.dirty = false;
            let SlotKind::Conn(e) = &mut s.kind else {
                continue;
            };
            match e.conn.poll_transmit(now) {
                Some(segment) => {
                    let tuple = e.tuple();
                    s.dirty = true;
                    self.dirty.push_back(i);
                    self.schedule(i, now);
                    self.stats.segments_out += 1;
                    return Some(Transmit {
                        src: tuple.local,
                        dst: tuple.remote,
                        segment,
                    });
                }
                None => {
                    self.settle(i, now);
                }
            }
        }
        None
    }

    /// Whether [`Endpoint::poll_transmit`] may have a segment to give: `false` means it
    /// certainly has none (an adapter need not wake its driver for output); `true` means
    /// a connection or a control segment is queued, though polling may find nothing due
    /// (a paced segment, a delayed ACK).
    pub fn has_transmit(&self) -> bool {
        !self.control.is_empty() || !self.dirty.is_empty()
    }

    /// The next application event: listener events first, then each connection's events
    /// in order. A connection reports each kind of [`Event`] at most once until it is
    /// polled (ten segments of data make one `Readable`), and nothing after the
    /// application closed or aborted it.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        if let Some(ev) = self.events.pop_front() {
            return Some(ev);
        }
        while let Some(i) = self.ready.pop_front() {
            let handle = self.handle_of(i);
            let Some(s) = self.slots.get_mut(i as usize) else {
                continue;
            };
            if !s.ready {
                continue; // The slot was freed (and maybe reused) since it was queued.
            }
            let ev = match &mut s.kind {
                SlotKind::Conn(e) if !e.app_closed && e.queued_for.is_none() => e.conn.poll_event(),
                _ => None,
            };
            let more = matches!(&s.kind, SlotKind::Conn(e) if e.conn.has_events());
            if let (Some(ev), true) = (ev, more) {
                // The rest of this connection's events come next.
                self.ready.push_front(i);
                return Some(EndpointEvent::Conn(handle, ev));
            }
            s.ready = false;
            if let Some(ev) = ev {
                return Some(EndpointEvent::Conn(handle, ev));
            }
        }
        None
    }

    /// Checks the invariants of every connection and of the endpoint's own bookkeeping;
    /// returns a description of the first violation. For tests, property tests and fuzzers.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let mut tw = 0;
        let mut live = 0;
        for s in &self.slots {
            match &s.kind {
                SlotKind::Conn(e) => {
                    e.conn.check_invariants()?;
                    live += 1;
                }
                SlotKind::TimeWait(_) => {
                    tw += 1;
                    live += 1;
                }
                SlotKind::HalfOpen(_) | SlotKind::Incoming(_) => live += 1,
                SlotKind::Free => {}
            }
        }
        if tw != self.time_wait_count {
            return Err("TIME_WAIT count out of step");
        }
        if live != self.table.len() {
            return Err("demux table and slots disagree");
        }
        if self.control.len() > self.ep.max_control_queue {
            return Err("control queue over its limit");
        }
        if self.free.len() + live != self.slots.len() {
            return Err("free list and slots disagree");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
