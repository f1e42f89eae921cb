//! A two-connection harness on virtual time.
//!
//! Connection `a` actively opens towards `b`; `b` is created by [`Connection::accept`] when
//! the first SYN reaches it. Segments travel through the simulator's link model
//! ([`Duplex`]: a one-way delay and optional seeded faults, see [`Pair::set_link`]), and are
//! encoded and parsed with the real codec and checksum on the way. The clock jumps to the next delivery or the
//! earliest `poll_timeout`, so runs are fast and exactly repeatable.

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::sim::duplex::Duplex;
use crate::sim::link::LinkConfig;
use tcp_core::wire::{TcpFlags, emit_tcp_segment, parse_tcp_segment};
use tcp_core::{Config, Connection, Duration, Event, Instant, Segment, SeqNum};

/// Address of side `a` on the harness link (documentation range, never on a real network).
pub const ADDR_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// Address of side `b`.
pub const ADDR_B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// Port of side `a`.
pub const PORT_A: u16 = 40000;
/// Port of side `b`.
pub const PORT_B: u16 = 8080;

/// Which way a segment travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dir {
    /// From `a` to `b`.
    AtoB,
    /// From `b` to `a`.
    BtoA,
}

impl Dir {
    /// The sending side's index on the [`Duplex`] link.
    fn side(self) -> usize {
        match self {
            Dir::AtoB => 0,
            Dir::BtoA => 1,
        }
    }
}

/// One segment as it left its sender.
#[derive(Clone, Debug)]
pub struct Wire {
    /// When it was sent.
    pub time: Instant,
    /// Which way.
    pub dir: Dir,
    /// The segment.
    pub seg: Segment,
    /// The link dropped it.
    pub dropped: bool,
}

impl Wire {
    /// Sequence number relative to the sender's ISN.
    pub fn rel_seq(&self, pair: &Pair) -> u32 {
        self.seg.header.seq.since(pair.isn(self.dir))
    }

    /// Acknowledgment number relative to the receiver's ISN.
    pub fn rel_ack(&self, pair: &Pair) -> u32 {
        let other = if self.dir == Dir::AtoB {
            Dir::BtoA
        } else {
            Dir::AtoB
        };
        self.seg.header.ack.since(pair.isn(other))
    }

    /// The flags.
    pub fn flags(&self) -> TcpFlags {
        self.seg.header.flags
    }
}

/// A scripted fault: return `true` to drop the segment.
pub type DropFn = Box<dyn FnMut(&Wire) -> bool>;

/// Two connections joined by a simulated link. See the module docs.
pub struct Pair {
    /// Virtual time.
    pub now: Instant,
    /// The active opener.
    pub a: Connection,
    /// The passive side, once the first SYN reached it.
    pub b: Option<Connection>,
    b_cfg: Arc<Config>,
    /// ISN `b` will use.
    pub b_iss: SeqNum,
    /// Scripted drops, consulted before the link's own faults.
    pub drop_fn: Option<DropFn>,
    /// The link: `a` is its side 0, `b` side 1.
    link: Duplex,
    /// Every segment sent, in order.
    pub trace: Vec<Wire>,
    /// Events reported by `a`.
    pub events_a: Vec<Event>,
    /// Events reported by `b`.
    pub events_b: Vec<Event>,
    /// Segments that failed to parse or verify on arrival (corruption would land here).
    pub bad_segments: u64,
}

impl Pair {
    /// A pair with default configuration on both sides and `delay` one way.
    pub fn new(delay: Duration) -> Self {
        Self::with_configs(Config::default(), Config::default(), delay)
    }

    /// A pair with the given configurations; `a` sends its SYN at time zero.
    pub fn with_configs(cfg_a: Config, cfg_b: Config, delay: Duration) -> Self {
        let now = Instant::from_secs(1);
        let a = Connection::connect(
            Arc::new(cfg_a),
            now,
            PORT_A,
            PORT_B,
            SeqNum::new(0x1000_0000),
            7_000,
        );
        Pair {
            now,
            a,
            b: None,
            b_cfg: Arc::new(cfg_b),
            b_iss: SeqNum::new(0xffff_f000),
            drop_fn: None,
            link: Duplex::new(LinkConfig::new(delay, None), 0),
            trace: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
            bad_segments: 0,
        }
    }

    /// Seeds the link's random faults for the segments sent from now on (a new pair draws
    /// as if seeded with 0).
    pub fn seed(&mut self, seed: u64) {
        self.link.reconfigure(self.link.config().clone(), seed);
    }

    /// The link's configuration (both directions).
    pub fn link(&self) -> &LinkConfig {
        self.link.config()
    }

    /// Configures the link (delay, loss, reordering, duplication, corruption: the
    /// simulator's [`LinkConfig`]) for the segments sent from now on, keeping the seed.
    pub fn set_link(&mut self, config: LinkConfig) {
        self.link.reconfigure(config, self.link.seed());
    }

    /// The ISN of the sender in direction `dir`.
    pub fn isn(&self, dir: Dir) -> SeqNum {
        match dir {
            Dir::AtoB => self.a.iss(),
            Dir::BtoA => self.b.as_ref().map_or(self.b_iss, |b| b.iss()),
        }
    }

    /// `b`, which must exist.
    pub fn b(&mut self) -> &mut Connection {
        self.b.as_mut().expect("b exists once the SYN arrived")
    }

    /// Moves everything both sides want to send onto the link.
    pub fn pump(&mut self) {
        loop {
            let mut any = false;
            while let Some(seg) = self.a.poll_transmit(self.now) {
                self.send(Dir::AtoB, seg);
                any = true;
            }
            if let Some(b) = self.b.as_mut() {
                let mut out = Vec::new();
                while let Some(seg) = b.poll_transmit(self.now) {
                    out.push(seg);
                }
                for seg in out {
                    self.send(Dir::BtoA, seg);
                    any = true;
                }
            }
            self.drain_events();
            if !any {
                break;
            }
        }
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.a.poll_event() {
            self.events_a.push(e);
        }
        if let Some(b) = self.b.as_mut() {
            while let Some(e) = b.poll_event() {
                self.events_b.push(e);
            }
        }
    }

    fn send(&mut self, dir: Dir, seg: Segment) {
        let mut w = Wire {
            time: self.now,
            dir,
            seg,
            dropped: false,
        };
        let scripted = self.drop_fn.as_mut().is_some_and(|f| f(&w));
        let (src, dst) = match dir {
            Dir::AtoB => (ADDR_A, ADDR_B),
            Dir::BtoA => (ADDR_B, ADDR_A),
        };
        let mut buf = vec![0u8; 60 + w.seg.payload.len()];
        let n = emit_tcp_segment(&w.seg.header, &w.seg.payload, src, dst, &mut buf)
            .expect("segment encodes");
        buf.truncate(n);
        w.dropped = scripted || !self.link.send(self.now, dir.side(), buf, None);
        self.trace.push(w);
    }

    /// The next instant something happens: a delivery or a timer.
    pub fn next_event(&self) -> Option<Instant> {
        let mut t = self.link.next_arrival();
        for c in [Some(&self.a), self.b.as_ref()].into_iter().flatten() {
            if let Some(d) = c.poll_timeout() {
                t = Some(t.map_or(d, |x| x.min(d)));
            }
        }
        t
    }

    /// Advances to the next event and processes everything due then. Returns false when
    /// nothing is left to happen.
    pub fn step(&mut self) -> bool {
        self.pump();
        let Some(t) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(t);
        while let Some((to, bytes)) = self.link.pop_due(self.now) {
            let dir = if to == 1 { Dir::AtoB } else { Dir::BtoA };
            self.deliver(dir, &bytes);
        }
        let now = self.now;
        if self.a.poll_timeout().is_some_and(|d| d <= now) {
            self.a.handle_timeout(now);
        }
        if let Some(b) = self.b.as_mut()
            && b.poll_timeout().is_some_and(|d| d <= now)
        {
            b.handle_timeout(now);
        }
        self.pump();
        true
    }

    fn deliver(&mut self, dir: Dir, bytes: &[u8]) {
        let (src, dst) = match dir {
            Dir::AtoB => (ADDR_A, ADDR_B),
            Dir::BtoA => (ADDR_B, ADDR_A),
        };
        let Ok((h, range)) = parse_tcp_segment(src, dst, bytes) else {
            self.bad_segments += 1;
            return;
        };
        let payload = Bytes::copy_from_slice(&bytes[range]);
        match dir {
            Dir::AtoB => match self.b.as_mut() {
                Some(b) => b.handle_segment(self.now, &h, payload),
                None => {
                    if let Ok(b) =
                        Connection::accept(self.b_cfg.clone(), self.now, &h, self.b_iss, 90_000)
                    {
                        self.b = Some(b);
                    }
                }
            },
            Dir::BtoA => self.a.handle_segment(self.now, &h, payload),
        }
    }

    /// Steps until `cond` holds or `limit` of virtual time passes; returns whether `cond`
    /// held.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&mut Pair) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.pump();
            if cond(self) {
                return true;
            }
            // The condition may have written or read: let that reach the link.
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

    /// Completes the handshake; panics if it does not within 10 s of virtual time.
    pub fn establish(&mut self) {
        let ok = self.run_until(Duration::from_secs(10), |p| {
            p.a.state() == tcp_core::State::Established
                && p.b
                    .as_ref()
                    .is_some_and(|b| b.state() == tcp_core::State::Established)
        });
        assert!(ok, "handshake did not complete");
    }

    /// Delivers a hand-made segment now, as if it had arrived over the link in direction
    /// `dir` (to `b` for [`Dir::AtoB`], which must exist; to `a` otherwise). Whatever the
    /// receiver sends in answer goes onto the link at the next pump.
    pub fn inject(&mut self, dir: Dir, header: &tcp_core::wire::TcpHeader, payload: Bytes) {
        let now = self.now;
        match dir {
            Dir::AtoB => self.b().handle_segment(now, header, payload),
            Dir::BtoA => self.a.handle_segment(now, header, payload),
        }
        self.pump();
    }

    /// The trace as `(direction, flags without PSH, relative seq, relative ack or 0 without
    /// ACK, payload length, dropped)`, for exact comparisons in tests.
    pub fn trace_rel(&self) -> Vec<(Dir, TcpFlags, u32, u32, usize, bool)> {
        self.trace
            .iter()
            .map(|w| {
                let mut f = w.flags();
                f.remove(TcpFlags::PSH);
                let ack = if f.contains(TcpFlags::ACK) {
                    w.rel_ack(self)
                } else {
                    0
                };
                (
                    w.dir,
                    f,
                    w.rel_seq(self),
                    ack,
                    w.seg.payload.len(),
                    w.dropped,
                )
            })
            .collect()
    }

    /// Segments sent in direction `dir`, dropped or not.
    pub fn sent(&self, dir: Dir) -> Vec<&Wire> {
        self.trace.iter().filter(|w| w.dir == dir).collect()
    }
}

/// What [`Pair::exchange`] moved.
#[derive(Debug, Default)]
pub struct Exchanged {
    /// Both sides read end-of-stream within the time limit.
    pub done: bool,
    /// What `a` read.
    pub got_a: Vec<u8>,
    /// What `b` read.
    pub got_b: Vec<u8>,
}

impl Pair {
    /// Sends `da` from `a` and `db` from `b` at the same time, each side shutting down
    /// after its data, and reads both sides until end-of-stream or `limit` of virtual time;
    /// checks both connections' invariants after every step.
    pub fn exchange(&mut self, da: &[u8], db: &[u8], limit: Duration) -> Exchanged {
        let (mut sa, mut sb) = (0, 0);
        let mut x = Exchanged::default();
        x.done = self.run_until(limit, |p| {
            let now = p.now;
            if sa < da.len() {
                sa += p.a.write(now, &da[sa..]).unwrap_or(0);
                if sa == da.len() {
                    p.a.shutdown().expect("a can shut down after writing");
                }
            }
            if sb < db.len() {
                sb += p.b().write(now, &db[sb..]).unwrap_or(0);
                if sb == db.len() {
                    p.b().shutdown().expect("b can shut down after writing");
                }
            }
            p.a.check_invariants().expect("a's invariants");
            p.b().check_invariants().expect("b's invariants");
            let ea = drain(&mut p.a, now, &mut x.got_a);
            let eb = drain(p.b(), now, &mut x.got_b);
            ea && eb
        });
        x
    }
}

/// Reads everything `c` has into `out`; returns true at end-of-stream.
pub fn drain(c: &mut Connection, now: Instant, out: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 65536];
    loop {
        match c.read(now, &mut buf) {
            Ok(0) => return true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return false,
        }
    }
}
