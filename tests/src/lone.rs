//! One `Connection` driven by hand-made segments from a scripted peer.
//!
//! The test plays the peer: it builds segments with sequence numbers relative to the peer's
//! ISN ([`PEER_ISN`]) and acknowledgment numbers relative to our ISN ([`LOCAL_ISS`]), feeds
//! them in, and checks what comes out with the same relative numbering. Time only moves
//! when the test says so; `check_invariants` runs after every step.

use bytes::Bytes;
use std::sync::Arc;
use tcp_core::wire::{SackBlock, SackBlocks, TcpFlags, TcpHeader, TcpOptions, Timestamps};
use tcp_core::{Config, Connection, Duration, Event, Instant, Segment, SeqNum};

/// Our ISN (close to the wrap, so relative arithmetic is exercised across it).
pub const LOCAL_ISS: SeqNum = SeqNum::new(0xffff_ff00);
/// The scripted peer's ISN (also close to the wrap: its stream crosses 2^32 after 1 KiB).
pub const PEER_ISN: SeqNum = SeqNum::new(0xffff_fc00);
/// Our port.
pub const LOCAL_PORT: u16 = 40000;
/// The peer's port.
pub const PEER_PORT: u16 = 80;
/// Our timestamp offset.
pub const TS_OFFSET: u32 = 1_000_000;

/// What the scripted peer puts in its SYN or SYN-ACK.
#[derive(Clone, Copy, Debug)]
pub struct PeerOpts {
    /// MSS option.
    pub mss: Option<u16>,
    /// Window-scale option.
    pub wscale: Option<u8>,
    /// SACK-permitted.
    pub sack: bool,
    /// Timestamps: the peer's first TSval.
    pub ts: Option<u32>,
    /// Window field of the SYN (never scaled).
    pub window: u16,
}

impl Default for PeerOpts {
    /// Linux-like peer without timestamps: MSS 1460, wscale 7, SACK, window 65535.
    fn default() -> Self {
        PeerOpts {
            mss: Some(1460),
            wscale: Some(7),
            sack: true,
            ts: None,
            window: 65535,
        }
    }
}

/// A segment as it left the connection, with relative numbers.
#[derive(Clone, Debug)]
pub struct Out {
    /// When it was sent.
    pub time: Instant,
    /// The segment.
    pub seg: Segment,
}

impl Out {
    /// Sequence number relative to [`LOCAL_ISS`].
    pub fn seq(&self) -> u32 {
        self.seg.header.seq.since(LOCAL_ISS)
    }
    /// Acknowledgment number relative to [`PEER_ISN`].
    pub fn ack(&self) -> u32 {
        self.seg.header.ack.since(PEER_ISN)
    }
    /// Flags.
    pub fn flags(&self) -> TcpFlags {
        self.seg.header.flags
    }
    /// Has all of `f`.
    pub fn has(&self, f: TcpFlags) -> bool {
        self.seg.header.flags.contains(f)
    }
    /// Payload length.
    pub fn len(&self) -> usize {
        self.seg.payload.len()
    }
    /// No payload.
    pub fn is_empty(&self) -> bool {
        self.seg.payload.is_empty()
    }
    /// Window field.
    pub fn window(&self) -> u16 {
        self.seg.header.window
    }
    /// A pure ACK: only the ACK flag, no payload.
    pub fn is_pure_ack(&self) -> bool {
        self.seg.header.flags == TcpFlags::ACK && self.seg.payload.is_empty()
    }
    /// SACK blocks relative to [`PEER_ISN`].
    pub fn sacks(&self) -> Vec<(u32, u32)> {
        self.seg
            .header
            .options
            .sack_blocks
            .iter()
            .map(|b| (b.left.since(PEER_ISN), b.right.since(PEER_ISN)))
            .collect()
    }
}

/// The connection under test and its scripted peer.
pub struct Lone {
    /// Virtual time.
    pub now: Instant,
    /// The connection.
    pub c: Connection,
    /// Every segment it sent.
    pub out: Vec<Out>,
    /// Every event it reported.
    pub events: Vec<Event>,
    /// The peer's timestamp clock (TSval it sends), when the peer uses timestamps.
    pub peer_ts: Option<u32>,
    /// The TSval we last sent (the peer echoes it).
    pub last_tsval: u32,
    /// The window the peer advertises in `seg` (the raw field).
    pub peer_window: u16,
}

/// Start of every test's clock.
pub const T0: Instant = Instant::from_secs(1000);

impl Lone {
    /// `connect` at [`T0`] and collect the SYN.
    pub fn client(cfg: Config) -> Lone {
        let c = Connection::connect(
            Arc::new(cfg),
            T0,
            LOCAL_PORT,
            PEER_PORT,
            LOCAL_ISS,
            TS_OFFSET,
        );
        let mut l = Lone {
            now: T0,
            c,
            out: Vec::new(),
            events: Vec::new(),
            peer_ts: None,
            last_tsval: 0,
            peer_window: 65535,
        };
        l.flush();
        l
    }

    /// The peer's SYN (relative seq 0) with `o`'s options, accepted at [`T0`]; the SYN-ACK
    /// is collected.
    pub fn server(cfg: Config, o: PeerOpts) -> Lone {
        let syn = syn_header(TcpFlags::SYN, PEER_ISN, SeqNum::new(0), o);
        let c = Connection::accept(Arc::new(cfg), T0, &syn, LOCAL_ISS, TS_OFFSET)
            .expect("a SYN is accepted");
        let mut l = Lone {
            now: T0,
            c,
            out: Vec::new(),
            events: Vec::new(),
            peer_ts: o.ts,
            last_tsval: 0,
            peer_window: 65535,
        };
        l.flush();
        l
    }

    /// A client that completed the handshake with a peer offering `o`; the final ACK and
    /// events are collected and then forgotten (`out` and `events` start empty).
    pub fn established_with(cfg: Config, o: PeerOpts) -> Lone {
        let mut l = Lone::client(cfg);
        l.peer_ts = o.ts;
        let syn_ack = syn_header(TcpFlags::SYN | TcpFlags::ACK, PEER_ISN, LOCAL_ISS + 1, o);
        let mut h = syn_ack;
        if let (Some(ts), Some(t)) = (o.ts, h.options.timestamps.as_mut()) {
            t.val = ts;
            t.ecr = l.last_tsval;
        }
        l.input(h, Bytes::new());
        assert_eq!(l.c.state(), tcp_core::State::Established);
        l.out.clear();
        l.events.clear();
        l.peer_window = o.window;
        l
    }

    /// [`Lone::established_with`] a default peer (no timestamps).
    pub fn established(cfg: Config) -> Lone {
        Lone::established_with(cfg, PeerOpts::default())
    }

    /// Pulls every segment and event out; returns the segments sent now.
    pub fn flush(&mut self) -> Vec<Out> {
        let mut v = Vec::new();
        while let Some(seg) = self.c.poll_transmit(self.now) {
            if let Some(ts) = seg.header.options.timestamps {
                self.last_tsval = ts.val;
            }
            let o = Out {
                time: self.now,
                seg,
            };
            self.out.push(o.clone());
            v.push(o);
            assert!(v.len() < 10_000, "poll_transmit never returns None");
        }
        self.c.check_invariants().expect("invariants");
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
        v
    }

    /// Feeds a segment; returns what the connection sent in answer.
    pub fn input(&mut self, h: TcpHeader, payload: Bytes) -> Vec<Out> {
        self.c.handle_segment(self.now, &h, payload);
        self.c.check_invariants().expect("invariants");
        self.flush()
    }

    /// A segment from the peer: `seq` relative to [`PEER_ISN`], `ack` relative to
    /// [`LOCAL_ISS`]; carries timestamps when the peer uses them, and `peer_window`.
    pub fn seg(&mut self, flags: TcpFlags, seq: u32, ack: u32) -> TcpHeader {
        let mut options = TcpOptions::default();
        if let Some(ts) = self.peer_ts.as_mut() {
            *ts = ts.wrapping_add(1);
            options.timestamps = Some(Timestamps {
                val: *ts,
                ecr: self.last_tsval,
            });
        }
        TcpHeader {
            src_port: PEER_PORT,
            dst_port: LOCAL_PORT,
            seq: PEER_ISN + seq,
            ack: if flags.contains(TcpFlags::ACK) {
                LOCAL_ISS + ack
            } else {
                SeqNum::new(0)
            },
            flags,
            window: self.peer_window,
            urgent: 0,
            options,
        }
    }

    /// Sends a pure ACK from the peer; returns the answer.
    pub fn ack(&mut self, seq: u32, ack: u32) -> Vec<Out> {
        let h = self.seg(TcpFlags::ACK, seq, ack);
        self.input(h, Bytes::new())
    }

    /// Sends `len` bytes of data (value `fill`) at `seq` acknowledging `ack`.
    pub fn data(&mut self, seq: u32, ack: u32, len: usize) -> Vec<Out> {
        let h = self.seg(TcpFlags::ACK | TcpFlags::PSH, seq, ack);
        self.input(h, Bytes::from(pattern(seq, len)))
    }

    /// Sends an ACK carrying SACK blocks (relative to [`LOCAL_ISS`]).
    pub fn sack(&mut self, seq: u32, ack: u32, blocks: &[(u32, u32)]) -> Vec<Out> {
        let mut h = self.seg(TcpFlags::ACK, seq, ack);
        let mut sb = SackBlocks::new();
        for &(l, r) in blocks {
            sb.push(SackBlock {
                left: LOCAL_ISS + l,
                right: LOCAL_ISS + r,
            });
        }
        h.options.sack_blocks = sb;
        self.input(h, Bytes::new())
    }

    /// Moves the clock to `t` without running timers.
    pub fn set_time(&mut self, t: Instant) {
        assert!(t >= self.now);
        self.now = t;
    }

    /// Advances the clock by `d`, running every timer due on the way; returns the segments
    /// sent.
    pub fn advance(&mut self, d: Duration) -> Vec<Out> {
        let end = self.now + d;
        let mut v = Vec::new();
        while let Some(t) = self.c.poll_timeout().filter(|&t| t <= end) {
            self.now = self.now.max(t);
            self.c.handle_timeout(self.now);
            v.extend(self.flush());
        }
        self.now = end;
        v.extend(self.flush());
        v
    }

    /// Jumps to the next deadline and runs it; returns the segments sent then. Panics if
    /// there is none.
    pub fn fire(&mut self) -> Vec<Out> {
        let t = self.c.poll_timeout().expect("a timer is armed");
        self.now = self.now.max(t);
        self.c.handle_timeout(self.now);
        self.flush()
    }

    /// Writes `n` bytes (must fit) and flushes.
    pub fn write(&mut self, n: usize) -> Vec<Out> {
        let w = self.c.write(self.now, &vec![0xab; n]).expect("write");
        assert_eq!(w, n, "write accepted everything");
        self.flush()
    }

    /// Reads everything available; returns (bytes, end-of-stream).
    pub fn read_all(&mut self) -> (Vec<u8>, bool) {
        let mut v = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match self.c.read(self.now, &mut buf) {
                Ok(0) => return (v, true),
                Ok(n) => v.extend_from_slice(&buf[..n]),
                Err(_) => return (v, false),
            }
        }
    }

    /// Events reported so far, and forgets them.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.flush();
        std::mem::take(&mut self.events)
    }
}

/// The SYN or SYN-ACK header the scripted peer sends.
pub fn syn_header(flags: TcpFlags, seq: SeqNum, ack: SeqNum, o: PeerOpts) -> TcpHeader {
    TcpHeader {
        src_port: PEER_PORT,
        dst_port: LOCAL_PORT,
        seq,
        ack: if flags.contains(TcpFlags::ACK) {
            ack
        } else {
            SeqNum::new(0)
        },
        flags,
        window: o.window,
        urgent: 0,
        options: TcpOptions {
            mss: o.mss,
            window_scale: o.wscale,
            sack_permitted: o.sack,
            timestamps: o.ts.map(|val| Timestamps { val, ecr: 0 }),
            sack_blocks: SackBlocks::new(),
            ..TcpOptions::default()
        },
    }
}

/// Deterministic payload: byte `i` of the stream at relative sequence `seq` is
/// `(seq + i) % 251`.
pub fn pattern(seq: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (seq.wrapping_add(i) % 251) as u8)
        .collect()
}

/// Relative offsets of an instant from [`T0`], in milliseconds.
pub fn ms_since(t0: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(t0).as_millis() as u64
}
