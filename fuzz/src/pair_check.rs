// The check of the `pair` fuzz target, shared with the corpus replay test
// (tests/tests/fuzz_corpus.rs) through `include!`. Needs `support.rs` in scope as `support`.
//
// Two endpoints, A (client) and B (listener: accept queue or incoming-decision mode, SYN
// cookies never / on overflow / always), joined by a link whose fate for each of the first
// segments is chosen by the fuzzer: deliver, drop, duplicate, delay (reorder) or corrupt
// (a flipped bit, which the checksum must catch). After the fault script the link is
// clean. A fuzzed workload writes, pauses and resumes reading, shuts down and changes
// options; the application reacts only to events (Connected, Writable, Readable,
// PeerClosed), as a real event loop would. Virtual time jumps to the next delivery or
// deadline; steps and time are bounded.
//
// Checked: every byte read is the byte the other side wrote at that offset (so nothing is
// lost, duplicated or reordered on the way to the application); when the run is driven to
// quiescence, each side has read everything the other wrote and then end-of-stream, unless
// a connection failed, which is only allowed if the link lost segments; after both close,
// both endpoints' tables drain empty; connection invariants hold throughout; and no
// livelock: the link never carries `PAIR_LIVELOCK_SEGMENTS` segments in a row while
// neither side makes progress (no new data or ACK, no state change, no read or write, no
// timer-driven retransmission or probe: segments that only answer segments).

/// Runs one `pair` input. Panics on any violation.
pub fn check_pair(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let _ = run_pair(&mut u);
}

struct PairSide {
    ep: tcp_core::Endpoint,
    addr: core::net::SocketAddr,
    id: u8,
    conn: Option<tcp_core::ConnHandle>,
    to_write: u64,
    written: u64,
    read: u64,
    eof: bool,
    write_ready: bool,
    readable: bool,
    reading: bool,
    want_shutdown: bool,
    shut: bool,
    connected: bool,
    /// The application has closed its connection: anything accepted now is closed at once.
    closing: bool,
    error: Option<tcp_core::ConnError>,
    nodelay: Option<bool>,
}

impl PairSide {
    fn new(ep: tcp_core::Endpoint, addr: core::net::SocketAddr, id: u8) -> Self {
        PairSide {
            ep,
            addr,
            id,
            conn: None,
            to_write: 0,
            written: 0,
            read: 0,
            eof: false,
            write_ready: true,
            readable: false,
            reading: true,
            want_shutdown: false,
            shut: false,
            connected: false,
            closing: false,
            error: None,
            nodelay: None,
        }
    }

    /// Reacts to the endpoint's events, then does the application's I/O.
    fn app(&mut self, now: tcp_core::Instant) {
        use tcp_core::{EndpointEvent, Event, ReadError, WriteError};
        let mut n = 0;
        while let Some(ev) = self.ep.poll_event() {
            n += 1;
            assert!(n < 10_000, "poll_event never returns None");
            support::trace(format_args!("  {} event {ev:?}", self.id));
            match ev {
                EndpointEvent::Acceptable(l) => {
                    while let Ok(Some(h)) = self.ep.accept(l) {
                        self.adopt(now, h);
                    }
                }
                EndpointEvent::Incoming(i) => {
                    if let Ok(h) = self.ep.accept_incoming(now, i) {
                        self.adopt(now, h);
                    }
                }
                EndpointEvent::Conn(h, ev) if Some(h) == self.conn => match ev {
                    Event::Connected => {
                        self.connected = true;
                        self.write_ready = true;
                    }
                    Event::Writable => self.write_ready = true,
                    Event::Readable | Event::PeerClosed => self.readable = true,
                    Event::Error(e) => self.error = Some(e),
                    _ => {}
                },
                _ => {}
            }
        }
        let Some(h) = self.conn else {
            return;
        };
        if let Ok(c) = self.ep.connection(h)
            && let Err(e) = support::check_conn_invariants(c, self.ep.config().recv_buffer) {
                panic!("side {} invariant violated: {e}\n{c:?}", self.id);
            }
        if let Some(nd) = self.nodelay.take() {
            let _ = self.ep.set_option(now, h, tcp_core::SockOption::NoDelay(nd));
        }
        while self.write_ready && self.written < self.to_write {
            let len = (self.to_write - self.written).min(8192) as usize;
            let chunk = support::pattern(self.id, self.written, len);
            match self.ep.write(now, h, &chunk) {
                Ok(k) => {
                    assert!(k <= len);
                    self.written += k as u64;
                }
                Err(WriteError::WouldBlock) => self.write_ready = false,
                _ => break,
            }
        }
        // (Shutdown before the handshake completes closes the connection, as on Linux.)
        if self.want_shutdown && self.connected && !self.shut && self.written == self.to_write {
            self.shut = true;
            let _ = self.ep.shutdown(now, h);
        }
        let peer = 1 - self.id;
        let mut buf = [0u8; 4096];
        while self.reading && self.readable {
            match self.ep.read(now, h, &mut buf) {
                Ok(0) => {
                    self.eof = true;
                    self.readable = false;
                }
                Ok(k) => {
                    assert!(!self.eof, "side {} read data after end-of-stream", self.id);
                    for (i, &b) in buf[..k].iter().enumerate() {
                        let off = self.read + i as u64;
                        assert_eq!(
                            b,
                            support::pattern_byte(peer, off),
                            "side {} read a wrong byte at stream offset {off}",
                            self.id
                        );
                    }
                    self.read += k as u64;
                }
                Err(ReadError::WouldBlock) => self.readable = false,
                _ => self.readable = false,
            }
        }
    }

    fn adopt(&mut self, now: tcp_core::Instant, h: tcp_core::ConnHandle) {
        if self.conn.is_none() && !self.closing {
            self.conn = Some(h);
            self.write_ready = true;
        } else {
            // A stray connection from an old duplicate SYN: not ours, close it.
            let _ = self.ep.close(now, h);
        }
    }
}

/// A packet on the link: delivery time, send order, receiving side, ECN codepoint (its
/// two bits), bytes.
type InFlightPacket = core::cmp::Reverse<(tcp_core::Instant, u64, u8, u8, Vec<u8>)>;

struct PairLink {
    queue: std::collections::BinaryHeap<InFlightPacket>,
    order: u64,
    delay: tcp_core::Duration,
    faults: Vec<u8>,
    next_fault: usize,
    lossy: bool,
    reordered: bool,
    /// The longest time a segment spent on the link (delay plus any extra delay).
    max_transit: tcp_core::Duration,
}

impl PairLink {
    fn send(&mut self, now: tcp_core::Instant, to: u8, mut ecn: tcp_core::IpEcn, mut bytes: Vec<u8>) {
        use core::cmp::Reverse;
        use tcp_core::Duration;
        let f = self.faults.get(self.next_fault).copied().unwrap_or(0);
        self.next_fault += 1;
        let extra = Duration::from_millis(u64::from(f >> 3) * 7);
        let mut at = now + self.delay;
        match f & 7 {
            3 if ecn != tcp_core::IpEcn::NotEct => {
                // A router marks congestion instead of dropping (RFC 3168 §5).
                support::trace(format_args!("  link: CE"));
                ecn = tcp_core::IpEcn::Ce;
            }
            4 => {
                support::trace(format_args!("  link: drop"));
                self.lossy = true;
                return;
            }
            5 => {
                self.reordered = true;
                self.order += 1;
                let dup = Reverse((at + extra, self.order, to, ecn.bits(), bytes.clone()));
                self.queue.push(dup);
            }
            6 => {
                self.reordered = true;
                at += extra;
            }
            7 => {
                self.lossy = true;
                let i = usize::from(f >> 3) % bytes.len();
                bytes[i] ^= 1 << (f % 8);
            }
            _ => {}
        }
        self.order += 1;
        let late = if f & 7 == 5 { at + extra } else { at };
        self.max_transit = self.max_transit.max(late.saturating_duration_since(now));
        self.queue.push(Reverse((at, self.order, to, ecn.bits(), bytes)));
    }

    fn next_at(&self) -> Option<tcp_core::Instant> {
        self.queue.peek().map(|r| r.0.0)
    }
}

struct PairSim {
    now: tcp_core::Instant,
    sides: [PairSide; 2],
    link: PairLink,
    steps: u32,
    /// What both sides had done when progress was last seen, and the segments delivered
    /// since (the livelock detector).
    progress: Vec<u64>,
    idle_segments: u32,
}

const PAIR_MAX_STEPS: u32 = 30_000;

/// Segments delivered in a row without progress on either side that make a livelock.
/// Timer-driven traffic (retransmission timeouts, window and keepalive probes, tail loss
/// probes) counts as progress, so only segments answering segments add up. Over the seed
/// corpus and a 2,700-input grown corpus the longest such run was 67 segments; an ACK
/// storm (every pure ACK answered) is caught at the limit.
const PAIR_LIVELOCK_SEGMENTS: u32 = 500;

impl PairSim {
    /// Transmits everything both endpoints have to send into the link.
    fn flush(&mut self) {
        for s in 0..2 {
            let mut n = 0;
            while let Some(t) = self.sides[s].ep.poll_transmit(self.now) {
                n += 1;
                assert!(n < 100_000, "poll_transmit never returns None");
                let h = &t.segment.header;
                support::trace(format_args!(
                    "  {:?} {s} out {:?} seq={} ack={} win={} len={}",
                    self.now,
                    h.flags,
                    h.seq,
                    h.ack,
                    h.window,
                    t.segment.payload.len()
                ));
                let bytes = support::check_emitted(h, &t.segment.payload, t.src.ip(), t.dst.ip());
                self.link.send(self.now, 1 - s as u8, t.segment.ecn, bytes);
            }
        }
    }

    fn app(&mut self) {
        for s in &mut self.sides {
            s.app(self.now);
        }
        self.flush();
    }

    /// One step: jump to the next delivery or deadline (if not beyond `limit`) and handle
    /// it. Returns false when nothing happens before `limit` or the step budget is spent.
    fn step(&mut self, limit: tcp_core::Instant) -> bool {
        if self.steps >= PAIR_MAX_STEPS {
            return false;
        }
        let next = [
            self.link.next_at(),
            self.sides[0].ep.poll_timeout(),
            self.sides[1].ep.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next.filter(|&t| t <= limit) else {
            return false;
        };
        self.steps += 1;
        self.now = self.now.max(next);
        let mut delivered = 0;
        while self.link.next_at().is_some_and(|t| t <= self.now) {
            delivered += 1;
            let core::cmp::Reverse((_, _, to, ecn, bytes)) = self.link.queue.pop().unwrap();
            let to = usize::from(to);
            let (src, dst) = (self.sides[1 - to].addr.ip(), self.sides[to].addr.ip());
            let _ = self.sides[to].ep.handle_segment_ecn(
                self.now,
                src,
                dst,
                bytes::Bytes::from(bytes),
                tcp_core::IpEcn::from_tos(ecn),
            );
        }
        for s in &mut self.sides {
            if s.ep.poll_timeout().is_some_and(|t| t <= self.now) {
                s.ep.handle_timeout(self.now);
                if let Some(t) = s.ep.poll_timeout() {
                    assert!(
                        t > self.now,
                        "endpoint timer still due after handle_timeout"
                    );
                }
            }
        }
        self.app();
        self.note_delivered(delivered);
        true
    }

    fn run_until(
        &mut self,
        limit: tcp_core::Instant,
        mut done: impl FnMut(&PairSim) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                return done(self);
            }
        }
    }

    /// Everything that counts as progress, side by side.
    fn progress_signature(&self) -> Vec<u64> {
        let mut v = Vec::with_capacity(32);
        for s in &self.sides {
            v.extend([
                s.read,
                s.written,
                u64::from(s.eof),
                u64::from(s.error.is_some()),
                s.ep.table_len() as u64,
            ]);
            if let Some(c) = s.conn.and_then(|h| s.ep.connection(h).ok()) {
                let st = c.stats();
                v.extend([
                    c.state() as u64,
                    u64::from(c.snd_una().get()),
                    u64::from(c.snd_max().get()),
                    u64::from(c.rcv_nxt().get()),
                    st.rtos,
                    st.window_probes,
                    st.keepalive_probes,
                    st.tlp_probes,
                ]);
            }
        }
        v
    }

    /// The livelock detector: `delivered` segments were just handed to the endpoints.
    fn note_delivered(&mut self, delivered: u32) {
        let sig = self.progress_signature();
        if sig != self.progress {
            self.progress = sig;
            self.idle_segments = 0;
            return;
        }
        self.idle_segments += delivered;
        assert!(
            self.idle_segments <= PAIR_LIVELOCK_SEGMENTS,
            "livelock: {} segments on the link without progress at {:?}\na: {:?}\nb: {:?}",
            self.idle_segments,
            self.now,
            self.sides[0].conn.map(|h| self.sides[0].ep.connection(h)),
            self.sides[1].conn.map(|h| self.sides[1].ep.connection(h)),
        );
    }

    fn failed(&self) -> bool {
        self.sides.iter().any(|s| s.error.is_some())
    }
}

fn run_pair(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<()> {
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use tcp_core::endpoint::{ListenOptions, SynCookies};
    use tcp_core::{Duration, Endpoint, EndpointConfig, Instant};

    let v6 = u.ratio(1u8, 4u8)?;
    let (ip_a, ip_b) = if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        )
    };
    let mut cfgs = [support::arb_config(u)?, support::arb_config(u)?];
    for c in &mut cfgs {
        // A user timeout shorter than the path's RTT fails a healthy connection by design.
        c.user_timeout = None;
    }
    let [cfg_a, cfg_b] = cfgs;
    let mut epc_b = EndpointConfig::with_secret([7; 16]);
    epc_b.syncookies = *u.choose(&[
        SynCookies::OnOverflow,
        SynCookies::Never,
        SynCookies::Always,
    ])?;
    let epc_b_cookies = epc_b.syncookies;
    let epc_a = EndpointConfig::with_secret([3; 16]);
    let listen_addr = if u.arbitrary()? {
        SocketAddr::new(ip_b, 80)
    } else if v6 {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 80)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80)
    };
    let opts = ListenOptions {
        backlog: usize::from(u.int_in_range(1u8..=4)?),
        decide: u.arbitrary()?,
    };
    let delay = Duration::from_micros(u64::from(u.int_in_range(0u32..=100_000)?));
    let nfaults = u.int_in_range(0usize..=48)?.min(u.len());
    let faults = u.bytes(nfaults)?.to_vec();

    let mut a = PairSide::new(Endpoint::new(cfg_a, epc_a), SocketAddr::new(ip_a, 0), 0);
    let mut b = PairSide::new(Endpoint::new(cfg_b, epc_b), SocketAddr::new(ip_b, 80), 1);
    b.ep.listen_with(listen_addr, opts).expect("listen");
    let t0 = Instant::from_secs(1000);
    let h =
        a.ep.connect(t0, ip_a, SocketAddr::new(ip_b, 80))
            .expect("connect");
    a.addr = a.ep.tuple(h).expect("tuple").local;
    a.conn = Some(h);
    let mut sim = PairSim {
        now: t0,
        sides: [a, b],
        link: PairLink {
            queue: Default::default(),
            order: 0,
            delay,
            faults,
            next_fault: 0,
            lossy: false,
            reordered: false,
            max_transit: tcp_core::Duration::ZERO,
        },
        steps: 0,
        progress: Vec::new(),
        idle_segments: 0,
    };
    sim.app();

    // The workload.
    const MAX_BYTES: u64 = 48 * 1024;
    for _ in 0..24 {
        if u.is_empty() {
            break;
        }
        let op = u.choose_index(9)?;
        support::trace(format_args!("op {op} at {:?}", sim.now));
        if sim.steps == 0 && sim.sides[1].conn.is_none() {
            support::trace(format_args!(
                "b listens with {opts:?}, cookies {:?}",
                epc_b_cookies
            ));
        }
        match op {
            0 | 1 => {
                let s = &mut sim.sides[op];
                let n = *u.choose(&[1u64, 100, 1460, 5000, 30_000])?;
                if !s.want_shutdown && s.to_write + n <= MAX_BYTES {
                    s.to_write += n;
                    s.write_ready = true;
                }
            }
            2 | 3 => {
                let s = &mut sim.sides[op - 2];
                s.reading = !s.reading;
            }
            4 | 5 => sim.sides[op - 4].want_shutdown = true,
            6 => {
                let s = u.choose_index(2)?;
                sim.sides[s].nodelay = Some(u.arbitrary()?);
            }
            _ => {
                let d = Duration::from_millis(u64::from(u.arbitrary::<u16>()?) % 5000);
                let limit = sim.now + d;
                sim.run_until(limit, |_| false);
                sim.now = sim.now.max(limit);
            }
        }
        sim.app();
    }

    // Drive to quiescence: both read everything, then end-of-stream.
    for s in &mut sim.sides {
        s.reading = true;
        s.readable = true;
        s.want_shutdown = true;
    }
    sim.app();
    let limit = sim.now + Duration::from_secs(4 * 3600);
    let done = sim.run_until(limit, |sim| {
        sim.failed() || sim.sides.iter().all(|s| s.eof) && sim.link.queue.is_empty()
    });
    // With SYN cookies, only the first segment after the handshake can carry the cookie:
    // if a later one overtakes it (reordered, or an ACK answering a duplicated SYN-ACK), the
    // listener answers RST, as Linux does.
    let cookie_race = epc_b_cookies == SynCookies::Always && sim.link.reordered;
    // TIME_WAIT rests on segments living at most an MSL (RFC 9293 §3.4.2): with a TIME_WAIT
    // shorter than twice the longest a segment stayed on the link, a segment still in
    // flight when it began (a delayed one, or the peer's answer to our last ACK) may meet
    // the closed connection after it and draw a RST (Linux does the same).
    let min_time_wait = sim
        .sides
        .iter()
        .map(|s| s.ep.config().time_wait)
        .min()
        .unwrap_or(Duration::ZERO);
    let msl_violated = min_time_wait < sim.link.max_transit * 2;
    if !sim.link.lossy && !cookie_race && !msl_violated {
        assert!(
            !sim.failed(),
            "a connection failed over a link that lost nothing: {:?} {:?}\na: {:?}\nb: {:?}",
            sim.sides[0].error,
            sim.sides[1].error,
            sim.sides[0].ep.stats(),
            sim.sides[1].ep.stats()
        );
    }
    if !sim.failed() {
        assert!(
            done,
            "transfer stalled: steps {}, a wrote {}/{} read {} eof {}, b wrote {}/{} read {} eof {}\na: {:?}\nb: {:?}",
            sim.steps,
            sim.sides[0].written,
            sim.sides[0].to_write,
            sim.sides[0].read,
            sim.sides[0].eof,
            sim.sides[1].written,
            sim.sides[1].to_write,
            sim.sides[1].read,
            sim.sides[1].eof,
            sim.sides[0].conn.map(|h| sim.sides[0].ep.connection(h)),
            sim.sides[1].conn.map(|h| sim.sides[1].ep.connection(h)),
        );
        for s in 0..2 {
            let (me, peer) = (&sim.sides[s], &sim.sides[1 - s]);
            assert_eq!(
                me.written, me.to_write,
                "side {s} could not write everything"
            );
            assert_eq!(
                peer.read,
                me.written,
                "side {} did not read everything",
                1 - s
            );
        }
    }

    // Close both; every table drains once the timers run out.
    let now = sim.now;
    for s in &mut sim.sides {
        s.closing = true;
        if let Some(h) = s.conn {
            let _ = s.ep.close(now, h);
        }
    }
    sim.flush();
    let limit = sim.now + Duration::from_secs(4 * 3600);
    let quiet = sim.run_until(limit, |sim| {
        sim.link.queue.is_empty() && sim.sides.iter().all(|s| s.ep.table_len() == 0)
    });
    if sim.steps < PAIR_MAX_STEPS {
        assert!(
            quiet,
            "tables not empty after closing: a {} b {}",
            sim.sides[0].ep.table_len(),
            sim.sides[1].ep.table_len()
        );
    }
    Ok(())
}
