//! Cost per segment of our stack (`tcp-bench segcost`), measured at the `Endpoint` layer:
//! one established connection whose peer is scripted, inputs prepared as encoded TCP
//! segments (`Bytes`, checksummed, timestamps on as in the default profile) before the
//! timed part, so only the stack's work is timed: parsing, checksum verification, 4-tuple
//! lookup, the connection's processing, and draining `poll_transmit` with every segment it
//! produces encoded (checksum included).
//!
//! The timed work runs inside functions named `segcost_timed_*`, never inlined, so that
//! callgrind can count only them: `valgrind --tool=callgrind
//! --toggle-collect='*segcost_timed_*' tcp-bench segcost-one CASE N` (see
//! `scripts/segcost-callgrind`, which takes the difference between two iteration counts so
//! that warm-up cancels).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant as WallClock;

use bytes::Bytes;
use tcp_core::wire::{
    SackBlock, SackBlocks, TcpFlags, TcpHeader, TcpOptions, Timestamps, emit_tcp_segment,
};
use tcp_core::{
    Config, ConnHandle, Duration, Endpoint, EndpointConfig, Instant, ReadError, SeqNum, Transmit,
};

/// Payload of a full segment: MSS 1460 minus 12 bytes of timestamp option.
pub const SEG: usize = 1448;
/// The scripted peer's round-trip time: the clock moves by this between a flight and its
/// ACKs (with every segment at one instant, RACK's tie-break on the send time would count
/// a retransmission as sent before the segments SACKed after it, and resend it on every
/// dup ACK).
const RTT: Duration = Duration::from_millis(1);
/// Half of [`RTT`] (the handshake moves the clock by this each way).
const HALF_RTT: Duration = Duration::from_micros(500);
/// Segments per batch (a round of out-of-order segments, a flight of sends or ACKs).
const BATCH: usize = 64;

/// One kind of segment processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// An in-order 1448-byte data segment, read by the application.
    RecvInOrder,
    /// A 1448-byte data segment beyond a hole at the front.
    RecvOutOfOrder,
    /// A 1448-byte write that leaves as one full segment.
    Send,
    /// A pure ACK acknowledging one more full segment.
    Ack,
    /// A duplicate ACK whose SACK blocks cover one more segment.
    Sack,
}

impl Case {
    /// Every case, in table order.
    pub const ALL: [Case; 5] = [
        Case::RecvInOrder,
        Case::RecvOutOfOrder,
        Case::Send,
        Case::Ack,
        Case::Sack,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Case::RecvInOrder => "recv-in-order",
            Case::RecvOutOfOrder => "recv-out-of-order",
            Case::Send => "send",
            Case::Ack => "ack",
            Case::Sack => "sack",
        }
    }

    /// The case named `name`.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What one iteration includes.
    pub fn describe(self) -> &'static str {
        match self {
            Case::RecvInOrder => {
                "handle_segment(1448 B in order) + read + the ACK it sends (every 2nd)"
            }
            Case::RecvOutOfOrder => {
                "handle_segment(1448 B after a hole) + the SACK dup ACK; hole filled every 64"
            }
            Case::Send => "write(1448 B) + poll_transmit + encode; all ACKed every 64 (untimed)",
            Case::Ack => "handle_segment(ACK of 1 more segment) + poll_transmit (nothing)",
            Case::Sack => {
                "handle_segment(dup ACK, 2 SACK blocks) + retransmissions; fresh flight of 64"
            }
        }
    }
}

/// What a run of one case measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseResult {
    /// Segments processed in the timed part (input segments, or sends).
    pub segments: u64,
    /// Wall-clock nanoseconds of the timed part.
    pub nanos: u128,
    /// Segments the stack sent during the timed part.
    pub out: u64,
}

impl CaseResult {
    /// Nanoseconds per segment.
    pub fn ns_per_segment(&self) -> f64 {
        self.nanos as f64 / self.segments.max(1) as f64
    }
}

const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

/// Our endpoint with one established connection (the server side of a handshake with
/// another endpoint, which is then dropped) and the scripted peer's numbers.
pub struct Fixture {
    ep: Endpoint,
    h: ConnHandle,
    now: Instant,
    /// The peer's next sequence number.
    peer_seq: SeqNum,
    /// The peer's TSval (constant; time does not move).
    peer_ts: u32,
    /// Our TSval, echoed by the peer.
    ecr: u32,
    read_buf: Vec<u8>,
    enc_buf: Vec<u8>,
    /// Segments the connection sent since the last look.
    out: u64,
}

fn config() -> Config {
    let mut config = Config::default();
    // A large initial window, so that a flight of 64 segments is never cwnd-limited,
    // and a receive buffer whose first window (half of it) holds such a flight.
    config.initial_window = 128;
    config.recv_buffer = 1 << 20;
    config
}

impl Fixture {
    /// A fresh endpoint with one ESTABLISHED connection.
    pub fn new() -> Self {
        let mut now = Instant::from_secs(1);
        let mut a = Endpoint::new(config(), EndpointConfig::with_secret([1; 16]));
        let mut b = Endpoint::new(config(), EndpointConfig::with_secret([2; 16]));
        let l = b.listen(SERVER, 16).expect("listen");
        a.connect_from(now, CLIENT, SERVER).expect("connect");
        let mut buf = vec![0u8; 2048];
        let mut ecr = 0;
        let mut peer_ts = 0;
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit(now) {
                peer_ts = t.segment.header.options.timestamps.map_or(0, |t| t.val);
                deliver(now, &t, &mut b, &mut buf);
                moved = true;
            }
            now += HALF_RTT;
            while let Some(t) = b.poll_transmit(now) {
                ecr = t.segment.header.options.timestamps.map_or(0, |t| t.val);
                deliver(now, &t, &mut a, &mut buf);
                moved = true;
            }
            now += HALF_RTT;
            if !moved {
                break;
            }
        }
        let h = b.accept(l).expect("listener").expect("established");
        while b.poll_event().is_some() {}
        let peer_seq = b.connection(h).expect("conn").rcv_nxt();
        Fixture {
            ep: b,
            h,
            now,
            peer_seq,
            peer_ts,
            ecr,
            read_buf: vec![0; 64 * 1024],
            enc_buf: vec![0; 65536],
            out: 0,
        }
    }

    /// Our next unsent sequence number.
    fn snd_max(&self) -> SeqNum {
        self.ep.connection(self.h).expect("conn").snd_max()
    }

    /// Our oldest unacknowledged sequence number.
    fn snd_una(&self) -> SeqNum {
        self.ep.connection(self.h).expect("conn").snd_una()
    }

    /// An encoded segment from the peer.
    fn segment(
        &self,
        seq: SeqNum,
        ack: SeqNum,
        payload: &[u8],
        sack: &[(SeqNum, SeqNum)],
    ) -> Bytes {
        let mut sack_blocks = SackBlocks::new();
        for &(left, right) in sack {
            sack_blocks.push(SackBlock { left, right });
        }
        let header = TcpHeader {
            src_port: CLIENT.port(),
            dst_port: SERVER.port(),
            seq,
            ack,
            flags: if payload.is_empty() {
                TcpFlags::ACK
            } else {
                TcpFlags::ACK | TcpFlags::PSH
            },
            window: 0xffff,
            urgent: 0,
            options: TcpOptions {
                timestamps: Some(Timestamps {
                    val: self.peer_ts,
                    ecr: self.ecr,
                }),
                sack_blocks,
                ..TcpOptions::default()
            },
        };
        let mut buf = vec![0u8; header.len() + payload.len()];
        let n = emit_tcp_segment(&header, payload, CLIENT.ip(), SERVER.ip(), &mut buf)
            .expect("segment fits");
        buf.truncate(n);
        Bytes::from(buf)
    }

    /// Feeds one segment, reads what became readable (if `read`), sends what is due.
    #[inline(always)]
    fn input(&mut self, seg: Bytes, read: bool) {
        self.ep
            .handle_segment(self.now, CLIENT.ip(), SERVER.ip(), seg)
            .expect("valid segment");
        if read {
            self.read_all();
        }
        self.drain();
    }

    #[inline(always)]
    fn read_all(&mut self) {
        loop {
            match self.ep.read(self.now, self.h, &mut self.read_buf) {
                Ok(n) if n > 0 => {}
                Err(ReadError::WouldBlock) => break,
                other => panic!("read: {other:?}"),
            }
        }
    }

    /// Pulls every segment and event out, encoding each segment with its checksum.
    #[inline(always)]
    fn drain(&mut self) {
        while let Some(t) = self.ep.poll_transmit(self.now) {
            encode(&t, &mut self.enc_buf);
            if let Some(ts) = t.segment.header.options.timestamps {
                self.ecr = ts.val;
            }
            self.out += 1;
        }
        while self.ep.poll_event().is_some() {}
    }

    /// Writes `n` full segments and sends them (untimed preparation).
    fn send_flight(&mut self, n: usize) {
        for _ in 0..n {
            let w = self.ep.write(self.now, self.h, &PAYLOAD[..]);
            assert_eq!(w, Ok(SEG), "send buffer has room");
        }
        let before = self.out;
        self.drain();
        assert_eq!(self.out - before, n as u64, "the flight left at once");
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

static PAYLOAD: [u8; SEG] = [0x5a; SEG];

fn deliver(now: Instant, t: &Transmit, to: &mut Endpoint, buf: &mut [u8]) {
    let n = t.encode(buf).expect("fits");
    to.handle_segment(
        now,
        t.src.ip(),
        t.dst.ip(),
        Bytes::copy_from_slice(&buf[..n]),
    )
    .expect("valid");
}

#[inline(always)]
fn encode(t: &Transmit, buf: &mut [u8]) {
    let n = t.encode(buf).expect("fits");
    std::hint::black_box(&buf[..n]);
}

/// The timed part of the receive and ACK cases: every input segment in turn.
#[inline(never)]
pub fn segcost_timed_input(f: &mut Fixture, inputs: Vec<Bytes>, read: bool) {
    for seg in inputs {
        f.input(seg, read);
    }
}

/// The timed part of the send case: `n` writes of one full segment, each sent at once.
#[inline(never)]
pub fn segcost_timed_send(f: &mut Fixture, n: usize) {
    for _ in 0..n {
        let w = f.ep.write(f.now, f.h, &PAYLOAD[..]);
        debug_assert_eq!(w, Ok(SEG));
        std::hint::black_box(&w);
        f.drain();
    }
}

fn timed<R>(nanos: &mut u128, work: impl FnOnce() -> R) -> R {
    let t = WallClock::now();
    let r = work();
    *nanos += t.elapsed().as_nanos();
    r
}

/// Runs `case` for exactly `iterations` segments.
pub fn run(case: Case, iterations: u64) -> CaseResult {
    let mut f = Fixture::new();
    let mut r = CaseResult::default();
    let mut left = iterations;
    while left > 0 {
        let k = (left as usize).min(BATCH);
        f.now += RTT;
        match case {
            Case::RecvInOrder => {
                let ack = f.snd_max();
                let inputs: Vec<Bytes> = (0..k)
                    .map(|i| f.segment(f.peer_seq + (i * SEG) as u32, ack, &PAYLOAD, &[]))
                    .collect();
                f.out = 0;
                timed(&mut r.nanos, || segcost_timed_input(&mut f, inputs, true));
                r.out += f.out;
                f.peer_seq += (k * SEG) as u32;
            }
            Case::RecvOutOfOrder => {
                let ack = f.snd_max();
                let hole = f.peer_seq;
                let inputs: Vec<Bytes> = (0..k)
                    .map(|i| f.segment(hole + ((i + 1) * SEG) as u32, ack, &PAYLOAD, &[]))
                    .collect();
                let fill = f.segment(hole, ack, &PAYLOAD, &[]);
                f.out = 0;
                timed(&mut r.nanos, || segcost_timed_input(&mut f, inputs, false));
                r.out += f.out;
                f.input(fill, true);
                f.peer_seq = hole + ((k + 1) * SEG) as u32;
                debug_assert_eq!(f.ep.connection(f.h).expect("c").rcv_nxt(), f.peer_seq);
            }
            Case::Send => {
                f.out = 0;
                timed(&mut r.nanos, || segcost_timed_send(&mut f, k));
                r.out += f.out;
                let ack = f.segment(f.peer_seq, f.snd_max(), &[], &[]);
                f.input(ack, false);
            }
            Case::Ack => {
                f.send_flight(k);
                f.now += RTT;
                let una = f.snd_una();
                let inputs: Vec<Bytes> = (0..k)
                    .map(|i| f.segment(f.peer_seq, una + ((i + 1) * SEG) as u32, &[], &[]))
                    .collect();
                f.out = 0;
                timed(&mut r.nanos, || segcost_timed_input(&mut f, inputs, false));
                r.out += f.out;
            }
            Case::Sack => {
                // Segments 0 and 2 of a fresh flight are lost: the first dup ACK SACKs
                // segment 1, each later one extends the block that starts at segment 3.
                // Recovery shrinks the window, so every flight starts on a new connection.
                let k = k.min(BATCH - 2);
                f = Fixture::new();
                f.send_flight(k + 2);
                f.now += RTT;
                let una = f.snd_una();
                let at = |i: usize| una + (i * SEG) as u32;
                let inputs: Vec<Bytes> = (0..k)
                    .map(|i| {
                        if i == 0 {
                            f.segment(f.peer_seq, una, &[], &[(at(1), at(2))])
                        } else {
                            f.segment(f.peer_seq, una, &[], &[(at(3), at(i + 3)), (at(1), at(2))])
                        }
                    })
                    .collect();
                f.out = 0;
                timed(&mut r.nanos, || segcost_timed_input(&mut f, inputs, false));
                r.out += f.out;
                left -= k as u64;
                r.segments += k as u64;
                continue;
            }
        }
        left -= k as u64;
        r.segments += k as u64;
    }
    r
}

/// Wall-clock cost per data segment of each side of an in-memory bulk transfer (MTU 1500,
/// 256 KiB buffers, checksums on), for comparing stacks: the receiver's time (data in,
/// ACKs out, the application reading and verifying) and the sender's time (the application
/// writing, data out, ACKs in), each divided by the data packets the sender sent. Timing
/// each call adds the same few tens of nanoseconds to both stacks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulkSplit {
    /// Receiver nanoseconds per data segment.
    pub recv_ns: f64,
    /// Sender nanoseconds per data segment.
    pub send_ns: f64,
    /// Data segments (packets the sender sent).
    pub segments: u64,
    /// ACKs per data segment (packets the receiver sent per packet the sender sent).
    pub acks_per_segment: f64,
}

/// Runs a `bytes`-byte bulk transfer with `stack` and splits its time by side.
pub fn bulk_split(stack: crate::sim::bulk::Stack, bytes: u64) -> BulkSplit {
    use crate::sim::Node;
    use crate::sim::bulk::{BulkSetup, make_node};
    use crate::sim::direct::{Timed, run_direct};
    use crate::sim::link::LinkConfig;
    use crate::sim::smoltcp_node::Role;
    let mut setup = BulkSetup::new(bytes, LinkConfig::new(Duration::ZERO, None));
    setup.buffer = 256 * 1024;
    let mut now = Instant::from_secs(1);
    let rx = Role::Receiver {
        expected: Some(bytes),
    };
    let mut rx = Timed::new(make_node(stack, rx, &setup, now).expect("node"));
    let mut tx = Timed::new(make_node(stack, Role::Sender { bytes }, &setup, now).expect("node"));
    let st = run_direct(
        &mut now,
        &mut tx,
        &mut rx,
        |_, rx| {
            let r = rx.report();
            r.error.is_some() || (r.bytes_received >= bytes && r.completed_at.is_some())
        },
        100_000_000,
    );
    let r = rx.report();
    assert!(st.done && r.error.is_none(), "{stack:?}: {:?}", r.error);
    assert_eq!(r.bytes_received, bytes);
    let segs = tx.sent.max(1);
    BulkSplit {
        recv_ns: rx.nanos as f64 / segs as f64,
        send_ns: tx.nanos as f64 / segs as f64,
        segments: tx.sent,
        acks_per_segment: rx.sent as f64 / segs as f64,
    }
}
