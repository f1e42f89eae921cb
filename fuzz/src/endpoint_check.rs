// The check of the `endpoint` fuzz target, shared with the corpus replay test
// (tests/tests/fuzz_corpus.rs) through `include!`. Needs `support.rs` in scope as `support`.
//
// One `Endpoint` with four listeners (specific and unspecified addresses, IPv4 and IPv6,
// one in incoming-decision mode), SYN cookies never / on overflow / always, small queues
// and a small TIME_WAIT table, receives segments for many 4-tuples (sequence numbers
// mostly derived from what the endpoint last sent on that 4-tuple, so SYN cookies,
// half-open entries, connections and TIME_WAIT records are all reached), raw packets, time
// advances and application calls (connect, accept, decide, write, read, shutdown, close,
// abort, close a listener). After every action: no panic, every known connection's
// invariants hold, everything transmitted encodes and round-trips, the event queue
// drains, and nothing is still due after `handle_timeout`.

/// Runs one `endpoint` input. Panics on any violation.
pub fn check_endpoint(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let _ = run_endpoint(&mut u);
}

/// What the endpoint last sent on a 4-tuple (from its side: local = our address).
#[derive(Clone, Copy, Debug)]
struct LastSent {
    seq: tcp_core::SeqNum,
    ack: tcp_core::SeqNum,
    end: tcp_core::SeqNum,
    ts: Option<u32>,
}

struct EpHarness {
    ep: tcp_core::Endpoint,
    now: tcp_core::Instant,
    max_time_wait: usize,
    conns: Vec<tcp_core::ConnHandle>,
    incoming: Vec<tcp_core::endpoint::IncomingHandle>,
    listeners: Vec<tcp_core::endpoint::ListenerHandle>,
    last: std::collections::HashMap<tcp_core::FourTuple, LastSent>,
    flows: Vec<tcp_core::FourTuple>,
    written: u64,
}

impl EpHarness {
    fn check(&mut self, what: &str) {
        use tcp_core::EndpointEvent;
        let mut sent = 0;
        while let Some(t) = self.ep.poll_transmit(self.now) {
            sent += 1;
            assert!(sent < 100_000, "poll_transmit never returns None ({what})");
            let h = &t.segment.header;
            assert_eq!(h.src_port, t.src.port());
            assert_eq!(h.dst_port, t.dst.port());
            support::check_emitted(h, &t.segment.payload, t.src.ip(), t.dst.ip());
            let tuple = tcp_core::FourTuple {
                local: t.src,
                remote: t.dst,
            };
            let rec = LastSent {
                seq: h.seq,
                ack: h.ack,
                end: h.seq + t.segment.seq_len(),
                ts: h.options.timestamps.map(|ts| ts.val),
            };
            if self.last.insert(tuple, rec).is_none() && self.flows.len() < 64 {
                self.flows.push(tuple);
            }
        }
        let mut events = 0;
        while let Some(ev) = self.ep.poll_event() {
            events += 1;
            assert!(events < 100_000, "poll_event never returns None ({what})");
            match ev {
                EndpointEvent::Conn(h, _) if !self.conns.contains(&h) && self.conns.len() < 64 => {
                    self.conns.push(h);
                }
                EndpointEvent::Incoming(i) if self.incoming.len() < 64 => {
                    self.incoming.push(i);
                }
                _ => {}
            }
        }
        for &h in &self.conns {
            if let Ok(c) = self.ep.connection(h)
                && let Err(e) = support::check_conn_invariants(c, self.ep.config().recv_buffer) {
                    panic!("invariant violated after {what}: {e}\n{c:?}");
                }
        }
        assert!(
            self.ep.time_wait_count() <= self.max_time_wait,
            "TIME_WAIT table over its limit"
        );
        assert!(self.ep.time_wait_count() <= self.ep.table_len());
    }

    fn fire_timers(&mut self) {
        if self.ep.poll_timeout().is_some_and(|t| t <= self.now) {
            self.ep.handle_timeout(self.now);
            self.check("handle_timeout");
            if let Some(t) = self.ep.poll_timeout() {
                assert!(
                    t > self.now,
                    "deadline {t:?} still due at {:?} after handle_timeout",
                    self.now
                );
            }
        }
    }
}

fn run_endpoint(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<()> {
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use tcp_core::endpoint::{ListenOptions, SynCookies};
    use tcp_core::wire::{TcpFlags, TcpHeader};
    use tcp_core::{EndpointConfig, FourTuple, Instant, SeqNum};

    let v4 = |d: u8| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
    let v6 = |d: u16| IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, d));
    let locals = [v4(1), v4(2), v6(1)];
    let remotes4 = [v4(101), v4(102), v4(103), v4(104)];
    let remotes6 = [v6(101), v6(102)];
    let local_ports = [80u16, 443, 8080, 22, 40_000];
    let remote_ports = [1000u16, 1001, 1002, 80, 65_535];

    let cfg = support::arb_config(u)?;
    let mut epc = EndpointConfig::default();
    u.fill_buffer(&mut epc.secret[..2])?;
    epc.syncookies = *u.choose(&[
        SynCookies::OnOverflow,
        SynCookies::Never,
        SynCookies::Always,
    ])?;
    epc.max_syn_backlog = usize::from(u.int_in_range(0u8..=8)?);
    epc.rst_rate_limit = *u.choose(&[1000u32, 2, 0])?;
    epc.max_time_wait = usize::from(u.int_in_range(0u8..=8)?);
    epc.max_control_queue = *u.choose(&[4096usize, 4, 1])?;
    if u.ratio(1u8, 4u8)? {
        epc.ephemeral_ports = (40_000, 40_001);
    }
    let max_time_wait = epc.max_time_wait;
    let mut h = EpHarness {
        ep: tcp_core::Endpoint::new(cfg, epc),
        now: Instant::from_micros(u64::from(u.arbitrary::<u32>()?)),
        max_time_wait,
        conns: Vec::new(),
        incoming: Vec::new(),
        listeners: Vec::new(),
        last: std::collections::HashMap::new(),
        flows: Vec::new(),
        written: 0,
    };
    let backlog = usize::from(u.int_in_range(0u8..=4)?);
    let listen = [
        (SocketAddr::new(v4(1), 80), false),
        (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 443),
            false,
        ),
        (SocketAddr::new(v4(1), 8080), true),
        (
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 80),
            false,
        ),
    ];
    for (addr, decide) in listen {
        if let Ok(l) = h.ep.listen_with(addr, ListenOptions { backlog, decide }) {
            h.listeners.push(l);
        }
    }
    h.check("listen");

    for _ in 0..128 {
        if u.is_empty() {
            break;
        }
        match u.choose_index(20)? {
            0..=7 => {
                // A segment: on a 4-tuple the endpoint has talked on, or a fresh one.
                let tuple = if !h.flows.is_empty() && u.ratio(2u8, 3u8)? {
                    *u.choose(&h.flows)?
                } else {
                    let li = u.choose_index(locals.len())?;
                    let local = locals[li];
                    let remote = if local.is_ipv4() {
                        *u.choose(&remotes4)?
                    } else {
                        *u.choose(&remotes6)?
                    };
                    FourTuple {
                        local: SocketAddr::new(local, *u.choose(&local_ports)?),
                        remote: SocketAddr::new(remote, *u.choose(&remote_ports)?),
                    }
                };
                let last = h.last.get(&tuple).copied();
                let (seq_bases, ack_bases, ts) = match last {
                    Some(l) => (vec![l.ack, l.ack + 1], vec![l.end, l.seq, l.end + 1], l.ts),
                    None => (vec![], vec![], None),
                };
                let seq = support::arb_seq(u, &seq_bases)?;
                let ack = support::arb_seq(u, &ack_bases)?;
                let flags = support::arb_flags(u)?;
                let window = if u.arbitrary()? {
                    65_535
                } else {
                    u.arbitrary()?
                };
                let mut options = support::arb_options(u, &ack_bases, None)?;
                if let (Some(t), Some(ecr)) = (options.timestamps.as_mut(), ts)
                    && u.arbitrary()? {
                        t.ecr = ecr;
                    }
                let payload = support::arb_payload(u)?;
                let hdr = TcpHeader {
                    src_port: tuple.remote.port(),
                    dst_port: tuple.local.port(),
                    seq,
                    ack,
                    flags,
                    window,
                    urgent: 0,
                    options,
                };
                let (src, dst) = (tuple.remote.ip(), tuple.local.ip());
                let mut buf = vec![0u8; hdr.len() + payload.len()];
                if let Ok(n) = tcp_core::wire::emit_tcp_segment(&hdr, &payload, src, dst, &mut buf)
                {
                    buf.truncate(n);
                    if u.ratio(1u8, 32u8)? {
                        let i = u.choose_index(buf.len())?;
                        buf[i] ^= 1 << u.int_in_range(0..=7)?;
                    }
                    let _ =
                        h.ep.handle_segment(h.now, src, dst, bytes::Bytes::from(buf));
                    h.check("handle_segment");
                }
            }
            8 => {
                let n = u.int_in_range(0usize..=80)?.min(u.len());
                let raw = u.bytes(n)?.to_vec();
                let _ = h.ep.handle_packet(h.now, bytes::Bytes::from(raw));
                h.check("handle_packet");
            }
            9 | 10 => {
                let next = h.ep.poll_timeout();
                h.now = match (u.choose_index(3)?, next) {
                    (0, Some(t)) => t.max(h.now),
                    (1, Some(t)) => t.max(h.now) + support::arb_duration(u)?,
                    _ => h.now + support::arb_duration(u)?,
                };
                if u.ratio(1u8, 8u8)? {
                    h.ep.handle_timeout(h.now);
                    h.check("early handle_timeout");
                }
                h.fire_timers();
            }
            11 => {
                let li = u.choose_index(locals.len())?;
                let local = locals[li];
                let remote = if local.is_ipv4() {
                    *u.choose(&remotes4)?
                } else {
                    *u.choose(&remotes6)?
                };
                let remote = SocketAddr::new(remote, *u.choose(&remote_ports)?);
                let r = if u.arbitrary()? {
                    h.ep.connect(h.now, local, remote)
                } else {
                    let lp = *u.choose(&local_ports)?;
                    h.ep.connect_from(h.now, SocketAddr::new(local, lp), remote)
                };
                if let Ok(c) = r
                    && h.conns.len() < 64 {
                        h.conns.push(c);
                    }
                h.check("connect");
            }
            12 => {
                if !h.listeners.is_empty() {
                    let l = *u.choose(&h.listeners)?;
                    if let Ok(Some(c)) = h.ep.accept(l)
                        && h.conns.len() < 64 {
                            h.conns.push(c);
                        }
                    let _ = h.ep.queue_lengths(l);
                }
                h.check("accept");
            }
            13 => {
                if !h.incoming.is_empty() {
                    let i = *u.choose(&h.incoming)?;
                    let _ = h.ep.incoming(i);
                    match u.choose_index(3)? {
                        0 => {
                            if let Ok(c) = h.ep.accept_incoming(h.now, i)
                                && h.conns.len() < 64 {
                                    h.conns.push(c);
                                }
                        }
                        1 => {
                            let _ = h.ep.refuse_incoming(h.now, i);
                        }
                        _ => {
                            let _ = h.ep.ignore_incoming(i);
                        }
                    }
                }
                h.check("decide");
            }
            14 | 15 => {
                if !h.conns.is_empty() {
                    let c = *u.choose(&h.conns)?;
                    let n = *u.choose(&[1usize, 100, 1460, 3000, 70_000])?;
                    let data = support::pattern(0, h.written, n);
                    if let Ok(k) = h.ep.write(h.now, c, &data) {
                        h.written += k as u64;
                    }
                }
                h.check("write");
            }
            16 => {
                if !h.conns.is_empty() {
                    let c = *u.choose(&h.conns)?;
                    let mut buf = vec![0u8; *u.choose(&[1usize, 1000, 70_000])?];
                    let _ = h.ep.read(h.now, c, &mut buf);
                }
                h.check("read");
            }
            17 => {
                if !h.conns.is_empty() {
                    let c = *u.choose(&h.conns)?;
                    match u.choose_index(4)? {
                        0 => {
                            let _ = h.ep.shutdown(h.now, c);
                        }
                        1 => {
                            let _ = h.ep.close(h.now, c);
                        }
                        2 => {
                            let _ = h.ep.abort(h.now, c);
                        }
                        _ => {
                            let nodelay = u.arbitrary()?;
                            let _ = h.ep.set_option(h.now, c, tcp_core::SockOption::NoDelay(nodelay));
                        }
                    }
                }
                h.check("shutdown/close/abort");
            }
            18 => {
                if !h.listeners.is_empty() && u.ratio(1u8, 4u8)? {
                    let l = *u.choose(&h.listeners)?;
                    let _ = h.ep.close_listener(h.now, l);
                    h.check("close_listener");
                    // Listen again on one of the addresses.
                    let (addr, decide) = *u.choose(&listen)?;
                    if let Ok(l) = h.ep.listen_with(addr, ListenOptions { backlog, decide }) {
                        h.listeners.push(l);
                    }
                    h.check("listen");
                }
            }
            _ => {
                // A burst of SYNs from many peers: fills the SYN and accept queues.
                let n = u.int_in_range(1u8..=24)?;
                let lp = *u.choose(&[80u16, 443, 8080])?;
                for k in 0..n {
                    let remote = SocketAddr::new(
                        IpAddr::V4(Ipv4Addr::new(10, 1, 0, k)),
                        2000 + u16::from(k),
                    );
                    let hdr = TcpHeader {
                        src_port: remote.port(),
                        dst_port: lp,
                        seq: SeqNum::new(u32::from(k) * 7919),
                        flags: TcpFlags::SYN,
                        window: 65_535,
                        options: tcp_core::wire::TcpOptions {
                            mss: Some(1460),
                            sack_permitted: true,
                            window_scale: Some(7),
                            ..Default::default()
                        },
                        ..Default::default()
                    };
                    let mut buf = vec![0u8; hdr.len()];
                    if let Ok(len) =
                        tcp_core::wire::emit_tcp_segment(&hdr, &[], remote.ip(), v4(1), &mut buf)
                    {
                        buf.truncate(len);
                        let _ = h.ep.handle_segment(h.now, remote.ip(), v4(1), buf.into());
                    }
                }
                h.check("SYN burst");
            }
        }
    }
    Ok(())
}
