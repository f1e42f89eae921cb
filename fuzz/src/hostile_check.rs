// The check of the `hostile` fuzz target, shared with the corpus replay test
// (tests/tests/fuzz_corpus.rs) through `include!`. Needs `support.rs` in scope as `support`
// and `support::CountingAlloc` installed as the global allocator.
//
// The fuzzer plays a hostile peer against a sending connection. One established
// `Connection` (SACK and timestamps mostly on) has data to send; the peer answers with
// arbitrary ACK numbers (mostly near what was sent: segment edges, SND.UNA, SND.MAX, just
// below or above them), SACK blocks (valid, D-SACK, reversed, straddling SND.UNA, beyond
// SND.NXT, anywhere), windows (zero, tiny, shrinking, huge), timestamps (fresh, old,
// arbitrary echoes), RSTs, SYNs, FINs and a little data; time moves by arbitrary steps or
// to the next deadline; the application writes and reads. After every step:
//
// - no panic, `check_invariants()` holds, emitted segments encode and round-trip;
// - memory is bounded: the heap this thread holds stays within `HOSTILE_HEAP_LIMIT` of what
//   it held when the connection was built;
// - SND.UNA never moves backwards, and never beyond what the connection sent: every byte
//   the peer acknowledged was sent;
// - every payload byte sent is the byte the application wrote at that offset;
// - nothing is sent beyond the peer's window: a segment ends at or before the right edge
//   of the window the peer last offered (SEG.ACK + SEG.WND of its latest acceptable ACK,
//   RFC 9293 §3.10.7.4), except the one segment at SND.UNA that a zero or shrunken window
//   lets a sender probe or retransmit (RFC 9293 §3.8.6.1; Linux's `tcp_retransmit_skb`
//   sends the head segment whatever the window). A bare FIN, which carries no data, goes
//   out whatever the window, as in BSD (the connection's deliberate choice; Linux holds it
//   until the window has room for its sequence number).

/// Runs one `hostile` input. Panics on any violation.
pub fn check_hostile(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let _ = run_hostile(&mut u);
}

/// How much more heap the thread may hold than after building the connection.
const HOSTILE_HEAP_LIMIT: isize = 8 << 20;

/// Segment edges remembered for choosing ACK numbers and SACK blocks.
const HOSTILE_EDGES: usize = 64;

struct Hostile {
    conn: tcp_core::Connection,
    recv_capacity: usize,
    now: tcp_core::Instant,
    local: core::net::IpAddr,
    remote: core::net::IpAddr,
    /// SND.UNA's first value: stream offset 0 of the application's data.
    data_start: tcp_core::SeqNum,
    /// The end of everything sent so far (data and FIN).
    high: tcp_core::SeqNum,
    /// SND.UNA as last seen.
    una: tcp_core::SeqNum,
    /// The right edge of the peer's window as the connection must see it, if known.
    edge: tcp_core::SeqNum,
    /// Segment edges sent recently.
    edges: Vec<tcp_core::SeqNum>,
    /// The highest sequence number of a segment that may have updated the window (the
    /// connection's SND.WL1 is at most this): only segments at or beyond it surely do.
    wl1: tcp_core::SeqNum,
    /// TSvals the connection sent recently.
    tsvals: std::collections::VecDeque<u32>,
    /// Bytes the application wrote.
    written: u64,
    /// The peer's TSval clock.
    peer_ts: u32,
    heap_base: isize,
}

impl Hostile {
    fn wscale(&self) -> u8 {
        self.conn.info().snd_wscale
    }

    /// Collects and checks everything the connection sends now, then its state.
    fn check(&mut self, what: &str) {
        use tcp_core::wire::TcpFlags;
        let mut n = 0;
        while let Some(seg) = self.conn.poll_transmit(self.now) {
            n += 1;
            assert!(n < 10_000, "poll_transmit never returns None ({what})");
            let h = &seg.header;
            support::trace(format_args!(
                "  out {:?} seq={} ack={} win={} len={} {:?}",
                h.flags,
                h.seq,
                h.ack,
                h.window,
                seg.payload.len(),
                h.options
            ));
            support::check_emitted(h, &seg.payload, self.local, self.remote);
            assert!(
                !h.flags.contains(TcpFlags::SYN),
                "SYN from an established connection"
            );
            if let Some(ts) = h.options.timestamps {
                if self.tsvals.len() == 8 {
                    self.tsvals.pop_front();
                }
                self.tsvals.push_back(ts.val);
            }
            if h.flags.contains(TcpFlags::RST) {
                continue;
            }
            let len = seg.payload.len() as u32;
            let fin = u32::from(h.flags.contains(TcpFlags::FIN));
            let end = h.seq + len + fin;
            // The payload is what the application wrote at that offset.
            let off = u64::from(h.seq.since(self.data_start));
            if len > 0 {
                assert!(
                    off + u64::from(len) <= self.written,
                    "sent bytes the application never wrote: offset {off} + {len} > {} ({what})",
                    self.written
                );
                assert!(
                    seg.payload.as_ref() == support::pattern(0, off, len as usize).as_slice(),
                    "sent wrong bytes at offset {off} ({what})"
                );
            }
            if len + fin > 0 {
                // Inside the peer's window, or the one segment at SND.UNA a probe or the
                // head retransmission may send beyond it, or a bare FIN.
                let mss = self.conn.info().snd_mss.max(1);
                let head = h.seq == self.conn.snd_una() && len <= mss;
                assert!(
                    end.le(self.edge) || head || len == 0,
                    "sent beyond the peer's window: [{}, {}) past the right edge {} ({what})\n{:?}",
                    h.seq,
                    end,
                    self.edge,
                    self.conn
                );
                if end.gt(self.high) {
                    self.high = end;
                }
                for e in [h.seq, end] {
                    if !self.edges.contains(&e) {
                        if self.edges.len() == HOSTILE_EDGES {
                            self.edges.remove(0);
                        }
                        self.edges.push(e);
                    }
                }
            }
        }
        let mut events = 0;
        while let Some(ev) = self.conn.poll_event() {
            support::trace(format_args!("  event {ev:?}"));
            events += 1;
            assert!(events < 64, "poll_event never returns None ({what})");
        }
        if let Err(e) = support::check_conn_invariants(&self.conn, self.recv_capacity) {
            panic!("invariant violated after {what}: {e}\n{:?}", self.conn);
        }
        let una = self.conn.snd_una();
        assert!(
            una.ge(self.una),
            "SND.UNA moved backwards: {} -> {una} ({what})",
            self.una
        );
        assert!(
            una.le(self.high),
            "SND.UNA {una} beyond everything sent ({}): the peer acknowledged bytes never sent ({what})",
            self.high
        );
        self.una = una;
        let heap = support::thread_heap_bytes() - self.heap_base;
        assert!(
            heap <= HOSTILE_HEAP_LIMIT,
            "heap grew by {heap} bytes ({what})"
        );
        support::trace(format_args!(
            "  [{what}] now={:?} state={:?} una={} high={} edge={} next={:?}",
            self.now,
            self.conn.state(),
            una,
            self.high,
            self.edge,
            self.conn.poll_timeout()
        ));
    }

    /// Moves time to `to`, running every timer due on the way in order.
    fn advance(&mut self, to: tcp_core::Instant) {
        for _ in 0..64 {
            match self.conn.poll_timeout() {
                Some(t) if t <= to => {
                    self.now = self.now.max(t);
                    self.conn.handle_timeout(self.now);
                    self.check("handle_timeout");
                    assert!(
                        self.conn.poll_timeout().is_none_or(|t| t > self.now),
                        "timer still due after handle_timeout"
                    );
                }
                _ => break,
            }
        }
        self.now = self.now.max(to);
    }

    /// An ACK number: mostly a segment edge or SND.UNA / SND.MAX, nudged; sometimes any.
    fn ack_number(
        &self,
        u: &mut arbitrary::Unstructured<'_>,
    ) -> arbitrary::Result<tcp_core::SeqNum> {
        let una = self.conn.snd_una();
        Ok(match u.choose_index(6)? {
            0 | 1 => *u.choose(&self.edges).unwrap_or(&una),
            2 => una,
            3 => self.high,
            4 => {
                let base = *u.choose(&[una, self.high])?;
                base + i32::from(u.int_in_range(-3i8..=3)?) as u32
            }
            _ => support::arb_seq(u, &[una, self.high, self.data_start])?,
        })
    }

    /// One SACK block: from the edges sent (valid or a D-SACK), reversed, straddling SND.UNA,
    /// beyond SND.MAX, or anywhere.
    fn sack_block(
        &self,
        u: &mut arbitrary::Unstructured<'_>,
    ) -> arbitrary::Result<tcp_core::wire::SackBlock> {
        use tcp_core::wire::SackBlock;
        let una = self.conn.snd_una();
        let edge = |u: &mut arbitrary::Unstructured<'_>| -> arbitrary::Result<tcp_core::SeqNum> {
            Ok(*u.choose(&self.edges).unwrap_or(&una))
        };
        let (left, right) = match u.choose_index(8)? {
            0..=3 => {
                let (a, b) = (edge(u)?, edge(u)?);
                if a.le(b) { (a, b) } else { (b, a) }
            }
            4 => {
                let (a, b) = (edge(u)?, edge(u)?);
                if a.le(b) { (b, a) } else { (a, b) }
            }
            5 => (una - u32::from(u.arbitrary::<u16>()?), edge(u)?),
            6 => {
                let a = self.high - u32::from(u.arbitrary::<u8>()?);
                (a, a + u32::from(u.arbitrary::<u16>()?))
            }
            _ => {
                let a = support::arb_seq(u, &[una, self.high])?;
                (a, a + u32::from(u.arbitrary::<u16>()?))
            }
        };
        Ok(SackBlock { left, right })
    }

    /// The application writes up to `n` more bytes.
    fn write(&mut self, n: usize) {
        let data = support::pattern(0, self.written, n);
        if let Ok(k) = self.conn.write(self.now, &data) {
            assert!(k <= n);
            self.written += k as u64;
        }
    }
}

fn run_hostile(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<()> {
    use core::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use tcp_core::wire::{SackBlocks, TcpFlags, TcpHeader, TcpOptions, Timestamps};
    use tcp_core::{Connection, Handshake, Instant, SeqNum};

    let mut cfg = support::arb_config(u)?;
    cfg.sack = !u.ratio(1u8, 8u8)?;
    cfg.user_timeout = None;
    let recv_capacity = cfg.recv_buffer;
    let cfg = Arc::new(cfg);
    let now = Instant::from_micros(u64::from(u.arbitrary::<u32>()?));
    let iss = SeqNum::new(u.arbitrary()?);
    let irs = SeqNum::new(u.arbitrary()?);
    let ts = !u.ratio(1u8, 4u8)?;
    let peer_ts: u32 = u.arbitrary()?;
    let hs = Handshake {
        local_port: 40_000,
        remote_port: 80,
        iss,
        irs,
        peer_mss: Some(*u.choose(&[1460u16, 536, 100, 9000, 64])?),
        peer_wscale: if u.arbitrary()? {
            Some(u.int_in_range(0..=14)?)
        } else {
            None
        },
        sack: true,
        ts_recent: ts.then_some(peer_ts),
        ts_offset: u.arbitrary()?,
        peer_window: *u.choose(&[65_535u16, 1000, 0, 8, 20_000])?,
    };
    let local = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let remote = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let heap_before = support::thread_heap_bytes();
    let probe = std::hint::black_box(Box::new([0u8; 64]));
    let counted = support::thread_heap_bytes() > heap_before;
    drop(probe);
    assert!(
        counted,
        "the counting allocator is not installed: the heap check would check nothing"
    );
    let conn = Connection::from_handshake(cfg, now, &hs);
    let heap_base = support::thread_heap_bytes();
    let start = iss + 1;
    let mut h = Hostile {
        edge: start + (u32::from(hs.peer_window) << conn.info().snd_wscale),
        conn,
        recv_capacity,
        now,
        local,
        remote,
        data_start: start,
        high: start,
        una: start,
        edges: vec![start],
        wl1: irs + 1,
        tsvals: Default::default(),
        written: 0,
        peer_ts,
        heap_base,
    };
    let first = *u.choose(&[65_536usize, 1, 3000, 200_000])?;
    h.write(first);
    h.check("open");
    let mut peer_sent: u32 = 0;

    for _ in 0..200 {
        if u.is_empty() {
            break;
        }
        match u.choose_index(16)? {
            0..=8 => {
                // An ACK from the hostile peer.
                let rcv_nxt = h.conn.rcv_nxt();
                let ack = h.ack_number(u)?;
                let in_seq = !u.ratio(1u8, 8u8)?;
                let seq = if in_seq {
                    rcv_nxt
                } else {
                    support::arb_seq(u, &[rcv_nxt])?
                };
                let flags = match u.choose_index(24)? {
                    0 => TcpFlags::RST,
                    1 => TcpFlags::RST | TcpFlags::ACK,
                    2 => TcpFlags::SYN | TcpFlags::ACK,
                    3 => TcpFlags::FIN | TcpFlags::ACK,
                    4 => TcpFlags::empty(),
                    5 | 6 => TcpFlags::ACK | TcpFlags::PSH,
                    _ => TcpFlags::ACK,
                };
                let window = match u.choose_index(6)? {
                    0 => 0,
                    1 => u.int_in_range(1..=16)?,
                    2 => 65_535,
                    _ => u.arbitrary()?,
                };
                let mut options = TcpOptions::default();
                let mut clean_ts = !h.conn.info().timestamps;
                if h.conn.info().timestamps && !u.ratio(1u8, 16u8)? {
                    let fresh = !u.ratio(1u8, 8u8)?;
                    // Fresh values count from the connection's TS.Recent: a TSval the
                    // connection did not take (from a segment it refused, RFC 7323 §4.3)
                    // moves nothing.
                    let recent = h.conn.ts_recent().unwrap_or(h.peer_ts);
                    if (recent.wrapping_sub(h.peer_ts) as i32) > 0 {
                        h.peer_ts = recent;
                    }
                    let val = if fresh {
                        h.peer_ts = h.peer_ts.wrapping_add(u32::from(u.arbitrary::<u8>()?));
                        h.peer_ts
                    } else {
                        u.arbitrary()?
                    };
                    let ecr = match u.choose_index(4)? {
                        0 => 0,
                        1 => u.arbitrary()?,
                        _ => *u.choose(h.tsvals.as_slices().0).unwrap_or(&0),
                    };
                    options.timestamps = Some(Timestamps { val, ecr });
                    // Passes PAWS (RFC 7323 §5.3): not older than TS.Recent.
                    clean_ts = (val.wrapping_sub(recent) as i32) >= 0;
                }
                if u.ratio(2u8, 3u8)? {
                    let mut blocks = SackBlocks::new();
                    for _ in 0..u.int_in_range(1..=4)? {
                        let _ = blocks.push(h.sack_block(u)?);
                    }
                    options.sack_blocks = blocks;
                }
                let payload = if flags.contains(TcpFlags::PSH) {
                    let n = u.int_in_range(1usize..=64)?;
                    bytes::Bytes::from(support::pattern(1, u64::from(peer_sent), n))
                } else {
                    bytes::Bytes::new()
                };
                let ecn = support::arb_ecn(u)?;
                let hdr = TcpHeader {
                    src_port: 80,
                    dst_port: 40_000,
                    seq,
                    ack,
                    flags,
                    window,
                    urgent: 0,
                    options,
                };
                let Some((hdr, payload)) = support::through_wire(&hdr, &payload, remote, local)
                else {
                    continue;
                };
                // The window the connection must now respect (RFC 9293 §3.10.7.4, Linux's
                // tcp_may_update_window): an acceptable ACK in an acceptable segment sets it
                // if it advances SND.UNA or the segment is not older than the last update;
                // a segment that might or might not update it leaves the more permissive
                // of the two edges.
                let scaled = u32::from(window) << h.wscale();
                let una = h.conn.snd_una();
                let acceptable_ack = flags.contains(TcpFlags::ACK) && una.le(ack) && ack.le(h.high);
                let clean = acceptable_ack
                    && in_seq
                    && (ack.gt(una) || seq.ge(h.wl1))
                    && clean_ts
                    && !flags.intersects(TcpFlags::RST | TcpFlags::SYN);
                let candidate = ack + scaled;
                if clean {
                    h.edge = candidate;
                    h.wl1 = seq;
                } else if acceptable_ack {
                    if candidate.gt(h.edge) {
                        h.edge = candidate;
                    }
                    // Only a sequence number near RCV.NXT can be acceptable, and serial
                    // comparisons mean something only within half the number space.
                    let near = seq.diff(rcv_nxt).unsigned_abs() < 1 << 30;
                    if near && seq.gt(h.wl1) {
                        h.wl1 = seq;
                    }
                }
                support::trace(format_args!(
                    "in {:?} seq={} ack={} win={} len={} {:?} (clean {clean})",
                    hdr.flags,
                    hdr.seq,
                    hdr.ack,
                    hdr.window,
                    payload.len(),
                    hdr.options
                ));
                let before = h.conn.rcv_nxt();
                h.conn.handle_segment_ecn(h.now, &hdr, payload, ecn);
                peer_sent = peer_sent.wrapping_add(h.conn.rcv_nxt().since(before));
                h.check("handle_segment");
            }
            9..=11 => {
                let next = h.conn.poll_timeout();
                let to = match (u.choose_index(3)?, next) {
                    (0, Some(t)) => t.max(h.now),
                    (1, _) => {
                        h.now + tcp_core::Duration::from_micros(u64::from(u.arbitrary::<u16>()?))
                    }
                    _ => h.now + support::arb_duration(u)?,
                };
                support::trace(format_args!("advance to {to:?}"));
                h.advance(to);
                h.check("advance");
            }
            12 | 13 => {
                let n = *u.choose(&[1usize, 100, 1460, 20_000, 70_000])?;
                support::trace(format_args!("write {n}"));
                h.write(n);
                h.check("write");
            }
            14 => {
                let mut buf = [0u8; 4096];
                let _ = h.conn.read(h.now, &mut buf);
                support::trace(format_args!("read"));
                h.check("read");
            }
            _ => {
                if u.ratio(1u8, 4u8)? {
                    support::trace(format_args!("shutdown"));
                    let _ = h.conn.shutdown();
                    h.check("shutdown");
                } else if u.ratio(1u8, 2u8)? {
                    // A path MTU report (an ICMP packet too big, RFC 1191 / 8201): the
                    // flight is resent in smaller segments.
                    let mtu = u32::from(*u.choose(&[0u16, 552, 576, 1000, 1280, 1400])?);
                    if u.arbitrary()? {
                        // An ICMP message naming the dropped segment.
                        let seq = h.ack_number(u)?;
                        support::trace(format_args!("packet too big {mtu} at {seq:?}"));
                        let err = tcp_core::wire::IcmpError {
                            problem: tcp_core::wire::IcmpProblem::PacketTooBig { mtu },
                            local: std::net::IpAddr::from([10, 0, 0, 1]),
                            remote: std::net::IpAddr::from([10, 0, 0, 2]),
                            local_port: 1,
                            remote_port: 2,
                            seq,
                            type_code: (3, 4),
                        };
                        h.conn.handle_icmp(h.now, &err);
                    } else {
                        support::trace(format_args!("path mtu {mtu}"));
                        h.conn.handle_path_mtu(h.now, mtu, false);
                    }
                    h.check("path mtu");
                }
            }
        }
    }
    Ok(())
}
