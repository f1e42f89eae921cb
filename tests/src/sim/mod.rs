//! A deterministic, in-memory network simulator.
//!
//! Nodes (anything implementing [`Node`]: a smoltcp stack, later our own `Endpoint`)
//! exchange raw IP packets over point-to-point links ([`link::LinkConfig`] per direction).
//! A virtual clock ([`tcp_core::time::Instant`]) jumps from event to event: the next packet
//! delivery or the earliest node deadline. Every random draw comes from a seeded
//! [`rng::Rng`], one independent stream per link direction, so one seed gives one run,
//! bit for bit.
//!
//! A run can be recorded as a pcap file ([`World::enable_pcap`]) and as a [`Trace`] of
//! TCP header summaries ([`World::enable_trace`]) from which [`plot`] draws a
//! tcptrace-style time-sequence graph.
//!
//! Plugging in a new stack: implement [`Node`] for a wrapper that owns the stack and its
//! application workload ([`app::BulkSender`] / [`app::BulkReceiver`]), add it with
//! [`World::add_node`], join nodes with [`World::connect`]. For a one-way bulk transfer,
//! [`bulk::make_node`] is the one place that builds a node per [`bulk::Stack`].
//!
//! ```
//! use tcp_core::time::Duration;
//! use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
//! use tcp_tests::sim::link::LinkConfig;
//!
//! let link = LinkConfig {
//!     loss: 0.01,
//!     ..LinkConfig::new(Duration::from_millis(10), Some(100_000_000))
//! };
//! let mut run = BulkRun::new(Stack::Smoltcp, BulkSetup::new(100_000, link)).unwrap();
//! let outcome = run.run(Duration::from_secs(60), 1_000_000);
//! let result = run.result(outcome);
//! assert_eq!(result.bytes_received, 100_000);
//! assert!(result.finished);
//! ```

pub mod app;
pub mod bulk;
pub mod delivery;
pub mod direct;
pub mod duplex;
pub mod link;
pub mod ours_node;
pub mod packet;
pub mod pcap;
pub mod plot;
pub mod rng;
pub mod router;
pub mod rr;
pub mod sack_fault;
pub mod smoltcp_node;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

use tcp_core::time::{Duration, Instant};

use delivery::DeliveryQueue;
use link::{DropCause, Fate, LinkConfig, LinkDirection, LinkStats};
use packet::{FlowKey, TcpSummary, seq_lt};
use pcap::PcapWriter;
use rng::Rng;

/// The address of the routers in front of the links, the source of their ICMP errors.
pub const ROUTER_V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 254));
/// The IPv6 address of the routers in front of the links.
pub const ROUTER_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xfe));

/// A network node: a TCP/IP stack plus its application, driven by the simulator.
///
/// All methods take packets as complete IP packets (IPv4 or IPv6, no link header).
/// The world calls, at one virtual instant: `poll_transmit` until `None`, then delivers
/// due packets with `handle_packet`, then calls `handle_timeout` if `poll_timeout` is due.
pub trait Node {
    /// A packet arrived at `now`; the node owns its buffer (as a driver owns a received
    /// frame), so neither stack needs to copy it to keep it.
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>);
    /// The next IP packet to send at `now`, `None` when there is nothing to send.
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>>;
    /// The earliest deadline of the stack's and application's timers, if any.
    fn poll_timeout(&mut self) -> Option<Instant>;
    /// The deadline returned by `poll_timeout` has passed (`now` is at or after it).
    fn handle_timeout(&mut self, now: Instant);
    /// What the application workload has done so far (default: nothing to report).
    fn report(&self) -> NodeReport {
        NodeReport::default()
    }
    /// `TCP_INFO` of the node's connection at `now`, if it is this project's stack and
    /// the connection exists (default: none).
    fn tcp_info(&self, now: Instant) -> Option<tcp_core::TcpInfo> {
        let _ = now;
        None
    }
}

/// Progress and outcome of a node's application workload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeReport {
    /// Application bytes accepted by the stack for sending.
    pub bytes_sent: u64,
    /// Application bytes read from the stack (and verified).
    pub bytes_received: u64,
    /// When the workload's data part completed (a receiver: the last byte and the end of
    /// stream were read; a sender: every byte was acknowledged, if the stack can tell).
    pub completed_at: Option<Instant>,
    /// The workload finished and its connection is closed (or in TIME-WAIT).
    pub finished: bool,
    /// Something went wrong (corrupted data, reset, timeout).
    pub error: Option<String>,
    /// Retransmission timeouts, if the stack counts them.
    pub rtos: Option<u64>,
    /// The counters of the node's connection, if it is this project's stack (the last
    /// values seen while the connection was open).
    pub stats: Option<tcp_core::conn::ConnStats>,
}

/// Index of a node in a [`World`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// Index of a link in a [`World`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub usize);

/// Why [`World::run_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The condition became true.
    Done,
    /// Nothing is left to happen: no packet in flight and no deadline.
    Idle,
    /// The next event lies beyond the virtual-time limit.
    TimeLimit,
    /// The step limit was reached.
    StepLimit,
    /// The clock did not move for [`MAX_STEPS_AT_ONE_INSTANT`] steps in a row: some node
    /// keeps returning a deadline that is already due without making progress (a livelock).
    Stuck,
}

/// Steps at one virtual instant after which [`World::run_until`] reports
/// [`RunOutcome::Stuck`].
pub const MAX_STEPS_AT_ONE_INSTANT: u64 = 100_000;

/// What a trace event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    /// The node sent the packet (before the link's faults).
    Sent,
    /// The packet was delivered to the node.
    Received,
    /// The link dropped the packet the node sent.
    Dropped(DropCause),
}

/// One recorded packet event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEvent {
    /// Virtual time.
    pub at: Instant,
    /// The node that sent (`Sent`, `Dropped`) or received (`Received`) the packet.
    pub node: NodeId,
    /// What happened.
    pub kind: TraceKind,
    /// The packet's TCP header fields.
    pub tcp: TcpSummary,
}

/// The TCP packet events of a run, in time order.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The events.
    pub events: Vec<TraceEvent>,
}

/// Per-flow counters measured on the wire (as sent by the flow's source).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Data segments (payload > 0) sent.
    pub data_segments: u64,
    /// Payload bytes sent, retransmissions included.
    pub data_bytes: u64,
    /// Data segments that start below the highest sequence number sent before them.
    pub retransmits: u64,
    /// Payload bytes of those segments.
    pub retransmitted_bytes: u64,
    /// Wire estimate of retransmission timeouts: retransmissions (data, SYN or FIN) sent
    /// after the flow's source had sent nothing for at least [`RTO_GUESS_IDLE`]. Exact
    /// when the round-trip time is well below that (a fast retransmission follows a
    /// send by about one RTT); the stacks' own counters, where they have them, are
    /// authoritative.
    pub timeout_retransmits: u64,
    high: Option<u32>,
    last_sent: Option<Instant>,
}

/// Sender silence after which a retransmission counts as timer-driven in
/// [`FlowStats::timeout_retransmits`] (Linux's minimum RTO).
pub const RTO_GUESS_IDLE: Duration = Duration::from_millis(200);

impl FlowStats {
    fn on_sent(&mut self, now: Instant, tcp: &TcpSummary) {
        if tcp.has(packet::RST) {
            return;
        }
        let end = tcp.seq.wrapping_add(tcp.seq_len());
        let is_rexmit = tcp.seq_len() > 0 && self.high.is_some_and(|h| seq_lt(tcp.seq, h));
        let idle = self
            .last_sent
            .is_some_and(|t| now.saturating_duration_since(t) >= RTO_GUESS_IDLE);
        self.last_sent = Some(now);
        if is_rexmit && idle {
            self.timeout_retransmits += 1;
        }
        if tcp.payload_len > 0 {
            self.data_segments += 1;
            self.data_bytes += u64::from(tcp.payload_len);
            if is_rexmit {
                self.retransmits += 1;
                self.retransmitted_bytes += u64::from(tcp.payload_len);
            }
        }
        if tcp.seq_len() > 0 && self.high.is_none_or(|h| seq_lt(h, end)) {
            self.high = Some(end);
        }
    }
}

struct Port {
    link: LinkId,
    dir: usize,
    peer: NodeId,
}

struct Link {
    ends: [NodeId; 2],
    dirs: [LinkDirection; 2],
}

/// Upper bound on packets taken from one node at one instant (a runaway guard).
const MAX_BURST: usize = 1 << 20;

/// The simulated network: nodes, links, the virtual clock and the packets in flight.
pub struct World {
    seed: u64,
    now: Instant,
    steps: u64,
    nodes: Vec<Box<dyn Node>>,
    ports: Vec<Vec<Port>>,
    routes: Vec<Vec<(IpAddr, LinkId)>>,
    links: Vec<Link>,
    in_flight: DeliveryQueue<(NodeId, Vec<u8>)>,
    unroutable: u64,
    pcap: Option<(NodeId, PcapWriter<Box<dyn Write>>)>,
    pcap_error: Option<io::Error>,
    trace: Option<Trace>,
    flows: BTreeMap<FlowKey, FlowStats>,
}

impl World {
    /// An empty world whose random draws all derive from `seed`; the clock starts at
    /// [`Instant::ZERO`].
    pub fn new(seed: u64) -> Self {
        World {
            seed,
            now: Instant::ZERO,
            steps: 0,
            nodes: Vec::new(),
            ports: Vec::new(),
            routes: Vec::new(),
            links: Vec::new(),
            in_flight: DeliveryQueue::new(),
            unroutable: 0,
            pcap: None,
            pcap_error: None,
            trace: None,
            flows: BTreeMap::new(),
        }
    }

    /// The seed the world was made with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Adds a node.
    pub fn add_node(&mut self, node: Box<dyn Node>) -> NodeId {
        self.nodes.push(node);
        self.ports.push(Vec::new());
        self.routes.push(Vec::new());
        NodeId(self.nodes.len() - 1)
    }

    /// Joins `a` and `b` with a link: `a_to_b` configures what `a` sends, `b_to_a` what
    /// `b` sends. Each direction gets its own random stream.
    pub fn connect(
        &mut self,
        a: NodeId,
        b: NodeId,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
    ) -> LinkId {
        let id = LinkId(self.links.len());
        let stream = 2 * id.0 as u64;
        self.links.push(Link {
            ends: [a, b],
            dirs: [
                LinkDirection::new(a_to_b, Rng::derive(self.seed, stream)),
                LinkDirection::new(b_to_a, Rng::derive(self.seed, stream + 1)),
            ],
        });
        self.ports[a.0].push(Port {
            link: id,
            dir: 0,
            peer: b,
        });
        self.ports[b.0].push(Port {
            link: id,
            dir: 1,
            peer: a,
        });
        id
    }

    /// Packets from `node` to `dst` leave through `link` (which must touch `node`).
    /// Without a matching route a node's packets use its first link.
    pub fn add_route(&mut self, node: NodeId, dst: IpAddr, link: LinkId) {
        self.routes[node.0].push((dst, link));
    }

    /// Records every packet that `tap` sends (at send time) and receives (at delivery
    /// time) into a pcap stream, like tcpdump on that host.
    pub fn enable_pcap(&mut self, out: Box<dyn Write>, tap: NodeId) -> io::Result<()> {
        self.pcap = Some((tap, PcapWriter::new(out)?));
        Ok(())
    }

    /// Flushes and closes the pcap stream; reports the first write error of the run.
    pub fn finish_pcap(&mut self) -> io::Result<()> {
        if let Some(e) = self.pcap_error.take() {
            return Err(e);
        }
        if let Some((_, w)) = self.pcap.take() {
            w.finish()?;
        }
        Ok(())
    }

    /// Starts recording a [`Trace`] of every TCP packet sent, received or dropped.
    pub fn enable_trace(&mut self) {
        self.trace.get_or_insert_with(Trace::default);
    }

    /// The recorded trace, if enabled.
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_ref()
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Scheduler steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> &dyn Node {
        self.nodes[id.0].as_ref()
    }

    /// A node, mutably (for application calls between steps).
    pub fn node_mut(&mut self, id: NodeId) -> &mut dyn Node {
        self.nodes[id.0].as_mut()
    }

    /// `TCP_INFO` of node `id`'s connection now (our stack only).
    pub fn tcp_info(&self, id: NodeId) -> Option<tcp_core::TcpInfo> {
        self.nodes[id.0].tcp_info(self.now)
    }

    /// The report of a node's workload.
    pub fn report(&self, id: NodeId) -> NodeReport {
        self.nodes[id.0].report()
    }

    /// Counters of the direction of `link` that carries what `from` sends.
    pub fn link_stats(&self, link: LinkId, from: NodeId) -> &LinkStats {
        let l = &self.links[link.0];
        let dir = usize::from(l.ends[0] != from);
        l.dirs[dir].stats()
    }

    /// Counters of both directions of every link, summed.
    pub fn total_link_stats(&self) -> LinkStats {
        let mut t = LinkStats::default();
        for s in self
            .links
            .iter()
            .flat_map(|l| l.dirs.iter().map(LinkDirection::stats))
        {
            t.offered_packets += s.offered_packets;
            t.offered_bytes += s.offered_bytes;
            t.ce_marked += s.ce_marked;
            t.delivered_packets += s.delivered_packets;
            t.delivered_bytes += s.delivered_bytes;
            t.dropped_mtu += s.dropped_mtu;
            t.dropped_script += s.dropped_script;
            t.dropped_queue += s.dropped_queue;
            t.dropped_loss += s.dropped_loss;
            t.dropped_burst += s.dropped_burst;
            t.corrupted += s.corrupted;
            t.duplicated += s.duplicated;
            t.reordered += s.reordered;
            t.sack_rewritten += s.sack_rewritten;
        }
        t
    }

    /// Per-flow wire counters (retransmissions seen on the wire).
    pub fn flows(&self) -> &BTreeMap<FlowKey, FlowStats> {
        &self.flows
    }

    /// Packets that no link could carry (a node without links).
    pub fn unroutable(&self) -> u64 {
        self.unroutable
    }

    /// Runs until `done(self)` holds, nothing is left to happen, the next event is more
    /// than `max_time` after the current time (the clock then stops at exactly
    /// `max_time` later), or `max_steps` steps were taken.
    pub fn run_until(
        &mut self,
        mut done: impl FnMut(&World) -> bool,
        max_time: Duration,
        max_steps: u64,
    ) -> RunOutcome {
        let deadline = self.now + max_time;
        let mut steps = 0u64;
        let mut last = self.now;
        let mut same_instant = 0u64;
        loop {
            if done(self) {
                return RunOutcome::Done;
            }
            if steps >= max_steps {
                return RunOutcome::StepLimit;
            }
            if self.now == last {
                same_instant += 1;
                if same_instant > MAX_STEPS_AT_ONE_INSTANT {
                    return RunOutcome::Stuck;
                }
            } else {
                last = self.now;
                same_instant = 0;
            }
            self.flush_transmits();
            match self.next_event() {
                None => return RunOutcome::Idle,
                Some(t) if t > deadline => {
                    // Virtual time passes even when nothing happens.
                    self.now = self.now.max(deadline);
                    return RunOutcome::TimeLimit;
                }
                Some(t) => self.advance_to(t),
            }
            steps += 1;
        }
    }

    /// One step: collect transmissions, jump to the next event and process it.
    /// Returns `false` when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        self.flush_transmits();
        match self.next_event() {
            None => false,
            Some(t) => {
                self.advance_to(t);
                true
            }
        }
    }

    fn next_event(&mut self) -> Option<Instant> {
        let mut next = self.in_flight.next_arrival();
        for n in &mut self.nodes {
            if let Some(t) = n.poll_timeout() {
                next = Some(next.map_or(t, |x| x.min(t)));
            }
        }
        next
    }

    fn advance_to(&mut self, t: Instant) {
        self.steps += 1;
        self.now = self.now.max(t);
        let now = self.now;
        while let Some((to, packet)) = self.in_flight.pop_due(now) {
            self.record(to, TraceKind::Received, &packet);
            self.nodes[to.0].handle_packet(now, packet);
        }
        for n in &mut self.nodes {
            if n.poll_timeout().is_some_and(|t| t <= now) {
                n.handle_timeout(now);
            }
        }
    }

    fn flush_transmits(&mut self) {
        for i in 0..self.nodes.len() {
            for _ in 0..MAX_BURST {
                let Some(p) = self.nodes[i].poll_transmit(self.now) else {
                    break;
                };
                self.send(NodeId(i), p);
            }
        }
    }

    fn record(&mut self, node: NodeId, kind: TraceKind, packet: &[u8]) {
        if let Some((tap, w)) = &mut self.pcap {
            let seen = matches!(kind, TraceKind::Sent | TraceKind::Received);
            if *tap == node
                && seen
                && let Err(e) = w.write_packet(self.now, packet)
            {
                self.pcap_error.get_or_insert(e);
            }
        }
        if let Some(trace) = &mut self.trace
            && let Some(tcp) = TcpSummary::parse(packet)
        {
            trace.events.push(TraceEvent {
                at: self.now,
                node,
                kind,
                tcp,
            });
        }
    }

    fn route(&self, from: NodeId, packet: &[u8]) -> Option<(LinkId, usize, NodeId)> {
        let ports = &self.ports[from.0];
        let port = dst_addr(packet)
            .and_then(|dst| {
                self.routes[from.0]
                    .iter()
                    .find(|(a, _)| *a == dst)
                    .and_then(|(_, l)| ports.iter().find(|p| p.link == *l))
            })
            .or_else(|| ports.first())?;
        Some((port.link, port.dir, port.peer))
    }

    fn send(&mut self, from: NodeId, mut packet: Vec<u8>) {
        let tcp = TcpSummary::parse(&packet);
        if let Some(t) = &tcp {
            self.flows.entry(t.flow).or_default().on_sent(self.now, t);
        }
        self.record(from, TraceKind::Sent, &packet);
        let Some((link, dir, to)) = self.route(from, &packet) else {
            self.unroutable += 1;
            return;
        };
        let link_dir = &mut self.links[link.0].dirs[dir];
        if let Some(p) = link_dir.rewrite(&packet) {
            packet = p;
        }
        let fate = link_dir.offer(self.now, &mut packet, tcp.as_ref());
        if matches!(fate, Fate::Dropped(DropCause::Mtu)) && link_dir.config().packet_too_big {
            // The router in front of the link answers (RFC 1191 §4, RFC 8201 §4).
            let mtu = link_dir.mtu_at(self.now).unwrap_or(0) as u32;
            let router = if packet.first().is_some_and(|v| v >> 4 == 6) {
                ROUTER_V6
            } else {
                ROUTER_V4
            };
            if let Some(icmp) = crate::icmp::packet_too_big(router, &packet, mtu) {
                let at = self.now + link_dir.config().delay;
                self.in_flight.push(at, (from, icmp));
            }
        }
        match fate {
            Fate::Dropped(cause) => {
                if let (Some(trace), Some(tcp)) = (&mut self.trace, tcp) {
                    trace.events.push(TraceEvent {
                        at: self.now,
                        node: from,
                        kind: TraceKind::Dropped(cause),
                        tcp,
                    });
                }
            }
            Fate::Delivered(times) => {
                for at in times {
                    self.in_flight.push(at, (to, packet.clone()));
                }
            }
        }
    }
}

fn dst_addr(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 if packet.len() >= 20 => {
            let b: [u8; 4] = packet[16..20].try_into().ok()?;
            Some(IpAddr::from(b))
        }
        6 if packet.len() >= 40 => {
            let b: [u8; 16] = packet[24..40].try_into().ok()?;
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}
