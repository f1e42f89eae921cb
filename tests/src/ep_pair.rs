//! Two [`Endpoint`]s joined by a link on virtual time: client at 192.0.2.1, server at
//! 192.0.2.2 (documentation addresses; nothing touches a real network). Segments are
//! encoded with their checksums and parsed again on arrival.

use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::endpoint::EndpointEvent;
use tcp_core::wire::TcpHeader;
use tcp_core::{Config, Duration, Endpoint, EndpointConfig, Instant};

use crate::sim::rng::Rng;

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

/// A packet on the link: (arrival, order, receiver, bytes, source IP, destination IP).
type Queued = Reverse<(Instant, u64, Side, Vec<u8>, IpAddr, IpAddr)>;
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
    /// One-way delay.
    pub delay: Duration,
    queue: BinaryHeap<Queued>,
    order: u64,
    /// Every segment sent.
    pub trace: Vec<Seen>,
    /// Events of the client.
    pub client_events: Vec<EndpointEvent>,
    /// Events of the server.
    pub server_events: Vec<EndpointEvent>,
    /// Drop predicate applied to every segment.
    pub drop_fn: Option<SeenDropFn>,
    /// Random link faults (both directions).
    pub faults: LinkFaults,
    rng: Rng,
    /// Segments that failed the receiver's checks (corruption caught).
    pub rejected: u64,
    /// When set, every segment sent is also kept as an IP packet for [`EpPair::write_pcap`].
    pub record: bool,
    packets: Vec<(Instant, Vec<u8>)>,
}

/// Seeded random faults on the link.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkFaults {
    /// Probability of dropping a segment.
    pub loss: f64,
    /// Probability of delivering a segment twice.
    pub duplicate: f64,
    /// Probability of delaying a segment by up to `reorder_delay` extra.
    pub reorder: f64,
    /// Largest extra delay of a reordered segment.
    pub reorder_delay: Duration,
    /// Probability of flipping one random bit (the checksum must catch it).
    pub corrupt: f64,
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
            delay,
            queue: BinaryHeap::new(),
            order: 0,
            trace: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            drop_fn: None,
            faults: LinkFaults::default(),
            rng: Rng::new(0),
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

    /// Seeds the fault generator (a new pair draws as if seeded with 0).
    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    fn random(&mut self) -> f64 {
        self.rng.next_f64()
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
                let mut buf = vec![0u8; t.len()];
                let n = t.encode(&mut buf).expect("encodes");
                buf.truncate(n);
                let seen = Seen {
                    time: self.now,
                    from: side,
                    src: t.src,
                    dst: t.dst,
                    header: t.segment.header,
                    len: t.segment.payload.len(),
                };
                if self.record {
                    let mut ip = vec![0u8; buf.len() + 60];
                    let h = &t.segment.header;
                    let n = tcp_core::wire::emit_ip_tcp_packet(
                        t.src.ip(),
                        t.dst.ip(),
                        h,
                        &t.segment.payload,
                        &mut ip,
                    )
                    .expect("frames");
                    ip.truncate(n);
                    self.packets.push((self.now, ip));
                }
                let scripted = self.drop_fn.as_mut().is_some_and(|f| f(&seen));
                self.trace.push(seen);
                self.enqueue(side, buf, t.src.ip(), t.dst.ip(), scripted);
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// Puts an encoded segment on the link, applying the random faults.
    fn enqueue(&mut self, from: Side, buf: Vec<u8>, src: IpAddr, dst: IpAddr, scripted_drop: bool) {
        let f = self.faults;
        if scripted_drop || (f.loss > 0.0 && self.random() < f.loss) {
            return;
        }
        let to = if from == Side::Client {
            Side::Server
        } else {
            Side::Client
        };
        let copies = if f.duplicate > 0.0 && self.random() < f.duplicate {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut at = self.now + self.delay;
            if f.reorder > 0.0 && self.random() < f.reorder {
                at += f.reorder_delay.mul_f64(self.random());
            }
            let mut bytes = buf.clone();
            if f.corrupt > 0.0 && self.random() < f.corrupt {
                let bit = (self.random() * (bytes.len() * 8) as f64) as usize;
                if let Some(b) = bytes.get_mut(bit / 8) {
                    *b ^= 1 << (bit % 8);
                }
            }
            self.order += 1;
            self.queue
                .push(Reverse((at, self.order, to, bytes, src, dst)));
        }
    }

    /// Advances to the next event; false when nothing is pending.
    pub fn step(&mut self) -> bool {
        self.pump();
        let mut next = self.queue.peek().map(|Reverse(x)| x.0);
        for t in [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
        {
            next = Some(next.map_or(t, |n: Instant| n.min(t)));
        }
        let Some(t) = next else { return false };
        self.now = self.now.max(t);
        while self.queue.peek().is_some_and(|Reverse(x)| x.0 <= self.now) {
            let Some(Reverse((_, _, to, bytes, src, dst))) = self.queue.pop() else {
                break;
            };
            let ep = if to == Side::Client {
                &mut self.client
            } else {
                &mut self.server
            };
            if ep
                .handle_segment(self.now, src, dst, Bytes::from(bytes))
                .is_err()
            {
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
            let mut next = self.queue.peek().map(|Reverse(x)| x.0);
            for t in [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
            {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
            match next {
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
