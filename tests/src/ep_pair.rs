//! Two [`Endpoint`]s joined by a link on virtual time: client at 192.0.2.1, server at
//! 192.0.2.2 (documentation addresses; nothing touches a real network). Segments travel as
//! IP packets (checksums and ECN codepoint included) through the simulator's link model
//! ([`Duplex`]: a one-way delay and optional seeded faults, see [`EpPair::set_link`]) and
//! are parsed again on arrival.

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::endpoint::EndpointEvent;
use tcp_core::wire::TcpHeader;
use tcp_core::{Config, Duration, Endpoint, EndpointConfig, Instant};

use crate::sim::duplex::Duplex;
use crate::sim::link::LinkConfig;
use crate::sim::ours_node::encode_packet;
use crate::sim::packet::TcpSummary;

/// Client address.
pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// Server address.
pub const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

/// Which endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The client endpoint.
    Client,
    /// The server endpoint.
    Server,
}

/// A segment seen on the link.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When it was sent.
    pub time: Instant,
    /// Who sent it.
    pub from: Side,
    /// Source.
    pub src: SocketAddr,
    /// Destination.
    pub dst: SocketAddr,
    /// Parsed header.
    pub header: TcpHeader,
    /// Payload length.
    pub len: usize,
}

/// A scripted drop: return true to drop the segment.
pub type SeenDropFn = Box<dyn FnMut(&Seen) -> bool>;

/// The two endpoints and the link. See the module docs.
pub struct EpPair {
    /// Virtual time.
    pub now: Instant,
    /// Client endpoint.
    pub client: Endpoint,
    /// Server endpoint.
    pub server: Endpoint,
    /// The link: the client is its side 0, the server side 1.
    link: Duplex,
    /// Every segment sent.
    pub trace: Vec<Seen>,
    /// Events of the client.
    pub client_events: Vec<EndpointEvent>,
    /// Events of the server.
    pub server_events: Vec<EndpointEvent>,
    /// Drop predicate applied to every segment.
    pub drop_fn: Option<SeenDropFn>,
    /// Segments that failed the receiver's checks (corruption caught).
    pub rejected: u64,
    /// When set, every segment sent is also kept as an IP packet for [`EpPair::write_pcap`].
    pub record: bool,
    packets: Vec<(Instant, Vec<u8>)>,
}

impl EpPair {
    /// Two endpoints with the given configurations and one-way delay.
    pub fn new(
        cfg: Config,
        client_ep: EndpointConfig,
        server_ep: EndpointConfig,
        delay: Duration,
    ) -> Self {
        EpPair {
            now: Instant::from_secs(10),
            client: Endpoint::new(cfg.clone(), client_ep),
            server: Endpoint::new(cfg, server_ep),
            link: Duplex::new(LinkConfig::new(delay, None), 0),
            trace: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            drop_fn: None,
            rejected: 0,
            record: false,
            packets: Vec::new(),
        }
    }

    /// Writes the recorded packets (see [`EpPair::record`]) as a pcap file.
    pub fn write_pcap(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut w = crate::sim::pcap::PcapWriter::new(file)?;
        for (at, pkt) in &self.packets {
            w.write_packet(*at, pkt)?;
        }
        w.finish()?;
        Ok(())
    }

    /// Seeds the link's random faults for the packets sent from now on (a new pair draws
    /// as if seeded with 0).
    pub fn seed(&mut self, seed: u64) {
        self.link.reconfigure(self.link.config().clone(), seed);
    }

    /// The link's configuration (both directions).
    pub fn link(&self) -> &LinkConfig {
        self.link.config()
    }

    /// Configures the link (delay, loss, reordering, duplication, corruption: the
    /// simulator's [`LinkConfig`]) for the packets sent from now on, keeping the seed.
    pub fn set_link(&mut self, config: LinkConfig) {
        self.link.reconfigure(config, self.link.seed());
    }

    /// Default configurations with distinct secrets.
    pub fn default_pair(delay: Duration) -> Self {
        let c = EndpointConfig::with_secret([1; 16]);
        let s = EndpointConfig::with_secret([2; 16]);
        Self::new(Config::default(), c, s, delay)
    }

    /// Moves all pending transmits of both endpoints onto the link and collects events.
    pub fn pump(&mut self) {
        for side in [Side::Client, Side::Server] {
            loop {
                let ep = match side {
                    Side::Client => &mut self.client,
                    Side::Server => &mut self.server,
                };
                let Some(t) = ep.poll_transmit(self.now) else {
                    break;
                };
                let packet = encode_packet(&t).expect("encodes");
                let seen = Seen {
                    time: self.now,
                    from: side,
                    src: t.src,
                    dst: t.dst,
                    header: t.segment.header,
                    len: t.segment.payload.len(),
                };
                if self.record {
                    self.packets.push((self.now, packet.clone()));
                }
                let scripted = self.drop_fn.as_mut().is_some_and(|f| f(&seen));
                self.trace.push(seen);
                if !scripted {
                    let tcp = TcpSummary::parse(&packet);
                    self.link
                        .send(self.now, side as usize, packet, tcp.as_ref());
                }
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// The next instant something happens: an arrival or a timer.
    fn next_event(&mut self) -> Option<Instant> {
        [
            self.link.next_arrival(),
            self.client.poll_timeout(),
            self.server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances to the next event; false when nothing is pending.
    pub fn step(&mut self) -> bool {
        self.pump();
        let Some(t) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(t);
        while let Some((to, packet)) = self.link.pop_due(self.now) {
            let ep = if to == Side::Client as usize {
                &mut self.client
            } else {
                &mut self.server
            };
            if ep.handle_packet(self.now, Bytes::from(packet)).is_err() {
                self.rejected += 1;
            }
        }
        let now = self.now;
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        if self.server.poll_timeout().is_some_and(|t| t <= now) {
            self.server.handle_timeout(now);
        }
        self.pump();
        true
    }

    /// Steps until `cond` or `limit` of virtual time.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut cond: impl FnMut(&mut EpPair) -> bool,
    ) -> bool {
        let end = self.now + limit;
        loop {
            self.pump();
            if cond(self) {
                return true;
            }
            self.pump();
            match self.next_event() {
                Some(t) if t <= end => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(end);
                    return cond(self);
                }
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(d, |p| p.now >= end);
    }
}

/// Moves IP packets between two endpoints at one instant, without delay or loss, until
/// neither has anything to send (at most 100 rounds): for tests that drive two endpoints
/// by hand and need only the handshake or an exchange done.
pub fn exchange_packets(now: Instant, a: &mut Endpoint, b: &mut Endpoint) {
    fn pass(now: Instant, from: &mut Endpoint, to: &mut Endpoint) -> bool {
        let mut moved = false;
        while let Some(t) = from.poll_transmit(now) {
            let packet = encode_packet(&t).expect("encodes");
            to.handle_packet(now, Bytes::from(packet)).expect("valid");
            moved = true;
        }
        moved
    }
    for _ in 0..100 {
        let ab = pass(now, a, b);
        let ba = pass(now, b, a);
        if !ab && !ba {
            return;
        }
    }
}
