//! Property tests: random workloads over random link faults. Each side reads exactly the
//! bytes the other wrote, in order, with end-of-stream after a shutdown; after an abort the
//! peer has read a prefix of what was written; every connection ends CLOSED (after
//! TIME_WAIT) within a bound of virtual time; invariants hold after every step.
//!
//! `PROPTEST_CASES=10000 cargo test --release -p tcp-tests --test prop_workload` for a long
//! run. A failure prints the seed-bearing input proptest shrank to.

use proptest::prelude::*;
use std::net::SocketAddr;
use tcp_core::endpoint::{ConnHandle, EndpointEvent};
use tcp_core::{Config, Duration, EndpointConfig, ReadError};
use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP};
use tcp_tests::sim::link::LinkConfig;

/// How one side of a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Write everything, shut down, read to end-of-stream, close.
    Graceful,
    /// Abort after this many writes.
    Abort(usize),
}

#[derive(Clone, Debug)]
struct Plan {
    client_writes: Vec<usize>,
    server_writes: Vec<usize>,
    client_end: End,
    server_end: End,
    start_ms: u64,
}

#[derive(Clone, Debug)]
struct SideCfg {
    timestamps: bool,
    sack: bool,
    window_scaling: bool,
    nodelay: bool,
    buf: usize,
    mss: u16,
}

fn side_cfg() -> impl Strategy<Value = SideCfg> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(4096usize), Just(16384), Just(262_144)],
        prop_oneof![Just(536u16), Just(1460)],
    )
        .prop_map(
            |(timestamps, sack, window_scaling, nodelay, buf, mss)| SideCfg {
                timestamps,
                sack,
                window_scaling,
                nodelay,
                buf,
                mss,
            },
        )
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![4 => Just(End::Graceful), 1 => (0usize..4).prop_map(End::Abort)]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec(0usize..30_000, 0..5),
        prop::collection::vec(0usize..30_000, 0..5),
        end(),
        end(),
        0u64..300,
    )
        .prop_map(
            |(client_writes, server_writes, client_end, server_end, start_ms)| Plan {
                client_writes,
                server_writes,
                client_end,
                server_end,
                start_ms,
            },
        )
}

fn faults() -> impl Strategy<Value = LinkConfig> {
    (
        0.0f64..0.08,
        0.0f64..0.05,
        0.0f64..0.1,
        0u64..40,
        0.0f64..0.03,
    )
        .prop_map(
            |(loss, duplicate, reorder, reorder_ms, corrupt)| LinkConfig {
                loss,
                duplicate,
                reorder,
                reorder_delay: Duration::from_millis(reorder_ms),
                corrupt,
                ..LinkConfig::default()
            },
        )
}

fn byte(conn: usize, from_client: bool, offset: usize) -> u8 {
    let x = (offset as u64).wrapping_mul(0x9e37_79b9)
        ^ ((conn as u64) << 40)
        ^ (u64::from(from_client) << 50);
    (x ^ (x >> 13) ^ (x >> 29)) as u8
}

/// One direction of one connection, seen from the writing side.
#[derive(Default, Debug)]
struct Half {
    handle: Option<ConnHandle>,
    written: usize,
    writes_done: usize,
    write_off: usize,
    read: Vec<u8>,
    eof: bool,
    shut: bool,
    closed: bool,
    aborted: bool,
    failed: bool,
}

fn to_cfg(s: &SideCfg) -> Config {
    let mut config = Config::default();
    config.timestamps = s.timestamps;
    config.sack = s.sack;
    config.window_scaling = s.window_scaling;
    config.nodelay = s.nodelay;
    config.send_buffer = s.buf;
    config.recv_buffer = s.buf;
    config.mss = s.mss;
    // As a real application would, detect a peer that vanished (its RST lost).
    config.keepalive = Some(tcp_core::Keepalive {
        idle: Duration::from_secs(30),
        interval: Duration::from_secs(5),
        count: 3,
    });
    config
}

/// Drives one side: write, read, end. Returns true when this side is finished.
fn drive(p: &mut EpPair, client: bool, h: &mut Half, writes: &[usize], end_how: End, conn: usize) {
    let Some(handle) = h.handle else { return };
    if h.closed {
        return;
    }
    let ep = if client { &mut p.client } else { &mut p.server };
    let now = p.now;
    // Abort point.
    if let End::Abort(k) = end_how
        && h.writes_done >= k.min(writes.len())
    {
        ep.abort(now, handle).expect("live handle");
        h.aborted = true;
        h.closed = true;
        return;
    }
    // Write.
    while h.writes_done < writes.len() && !h.failed {
        let size = writes[h.writes_done];
        let chunk: Vec<u8> = (h.write_off..size)
            .map(|i| byte(conn, client, h.written + i - h.write_off))
            .collect();
        if chunk.is_empty() {
            h.writes_done += 1;
            h.write_off = 0;
            continue;
        }
        match ep.write(now, handle, &chunk) {
            Err(tcp_core::WriteError::UnknownHandle) => panic!("a live handle is refused"),
            Ok(n) => {
                h.written += n;
                h.write_off += n;
                if h.write_off == size {
                    h.writes_done += 1;
                    h.write_off = 0;
                } else {
                    break;
                }
            }
            Err(tcp_core::WriteError::WouldBlock) | Err(tcp_core::WriteError::NotConnected) => {
                break;
            }
            Err(_) => {
                h.failed = true;
                break;
            }
        }
    }
    // Read.
    let mut buf = [0u8; 16384];
    loop {
        match ep.read(now, handle, &mut buf) {
            Err(ReadError::UnknownHandle) => panic!("a live handle is refused"),
            Ok(0) => {
                h.eof = true;
                break;
            }
            Ok(n) => h.read.extend_from_slice(&buf[..n]),
            Err(ReadError::WouldBlock) => break,
            Err(_) => {
                h.failed = true;
                break;
            }
        }
    }
    let synchronized = ep
        .connection(handle)
        .expect("live handle")
        .state()
        .is_synchronized();
    if h.writes_done == writes.len() && !h.shut && !h.failed && synchronized {
        if let Err(tcp_core::StateError::UnknownHandle) = ep.shutdown(now, handle) {
            panic!("a live handle is refused");
        }
        h.shut = true;
    }
    if (h.shut && h.eof) || h.failed {
        ep.close(now, handle).expect("live handle");
        h.closed = true;
    }
}

fn run_case(
    cfgs: (SideCfg, SideCfg),
    plans: Vec<Plan>,
    faults: LinkConfig,
    seed: u64,
) -> Result<(), TestCaseError> {
    let cc = EndpointConfig::with_secret([3; 16]);
    let sc = EndpointConfig::with_secret([4; 16]);
    let mut p = EpPair::new(to_cfg(&cfgs.0), cc, sc, Duration::from_millis(7));
    // The server endpoint gets its own config: rebuild with the other side's settings.
    p.server = tcp_core::Endpoint::new(to_cfg(&cfgs.1), EndpointConfig::with_secret([4; 16]));
    p.set_link(LinkConfig {
        delay: p.link().delay,
        ..faults
    });
    p.seed(seed);
    p.record = true;
    let server_addr = SocketAddr::new(SERVER_IP, 80);
    let l = p.server.listen(server_addr, 64).expect("listen");
    let start = p.now;
    let n = plans.len();
    let mut clients: Vec<Half> = (0..n).map(|_| Half::default()).collect();
    let mut servers: Vec<Half> = (0..n).map(|_| Half::default()).collect();
    let mut ports: Vec<u16> = vec![0; n];
    let mut violation: Option<String> = None;
    let deadline = start + Duration::from_secs(3600);
    let mut cond = |p: &mut EpPair| {
        if violation.is_some() {
            return true;
        }
        for (k, plan) in plans.iter().enumerate() {
            if clients[k].handle.is_none() && p.now >= start + Duration::from_millis(plan.start_ms)
            {
                let h = p
                    .client
                    .connect(p.now, CLIENT_IP, server_addr)
                    .expect("connect");
                ports[k] = p.client.tuple(h).expect("tuple").local.port();
                clients[k].handle = Some(h);
            }
        }
        while let Ok(Some(h)) = p.server.accept(l) {
            let port = p.server.tuple(h).expect("tuple").remote.port();
            if let Some(k) = ports.iter().position(|&x| x == port) {
                servers[k].handle = Some(h);
            }
        }
        for (k, plan) in plans.iter().enumerate() {
            drive(
                p,
                true,
                &mut clients[k],
                &plan.client_writes,
                plan.client_end,
                k,
            );
            drive(
                p,
                false,
                &mut servers[k],
                &plan.server_writes,
                plan.server_end,
                k,
            );
        }
        p.client_events
            .retain(|e| !matches!(e, EndpointEvent::Conn(..)));
        p.server_events
            .retain(|e| !matches!(e, EndpointEvent::Conn(..) | EndpointEvent::Acceptable(_)));
        if let Err(e) = p.client.check_invariants() {
            violation = Some(format!("client: {e}"));
        }
        if let Err(e) = p.server.check_invariants() {
            violation = Some(format!("server: {e}"));
        }
        let all_closed = clients.iter().all(|h| h.closed)
            && servers
                .iter()
                .zip(&clients)
                .all(|(s, c)| s.closed || (s.handle.is_none() && c.aborted));
        all_closed && p.client.table_len() == 0 && p.server.table_len() == 0
    };
    let starts: Vec<_> = plans
        .iter()
        .map(|pl| start + Duration::from_millis(pl.start_ms))
        .collect();
    let mut done = false;
    while !done && p.now < deadline {
        // Wake at the next planned connection start as well as at link and timer events.
        let next_start = starts.iter().copied().filter(|&t| t > p.now).min();
        let until = next_start.unwrap_or(deadline).min(deadline);
        done = p.run_until(until - p.now, &mut cond);
    }
    if std::env::var("PROP_TRACE").is_ok() && !done {
        for s in &p.trace {
            eprintln!(
                "{:?} {:?} {}->{} [{}] seq={} ack={} win={} len={}",
                s.time,
                s.from,
                s.src,
                s.dst,
                s.header.flags,
                s.header.seq,
                s.header.ack,
                s.header.window,
                s.len
            );
        }
    }
    if std::env::var("PROP_TRACE").is_ok() && !done {
        for h in clients.iter().filter_map(|h| h.handle) {
            if let Ok(c) = p.client.connection(h) {
                eprintln!("DBG client {:?} {:#?}", c.state(), c.info());
            }
        }
        for h in servers.iter().filter_map(|h| h.handle) {
            if let Ok(c) = p.server.connection(h) {
                eprintln!("DBG server {:?} {:#?}", c.state(), c.info());
            }
        }
    }
    // Any early return below (a failed property) leaves a pcap of the run for replay.
    let mut guard = PcapOnFailure {
        pair: &p,
        seed,
        passed: false,
    };
    prop_assert!(violation.is_none(), "invariant violated: {:?}", violation);
    if std::env::var("PROP_VERBOSE").is_ok() {
        let moved: usize = clients.iter().chain(&servers).map(|h| h.read.len()).sum();
        eprintln!(
            "case: conns={n} moved={moved} virtual={:?} rejected={} aborted={}",
            p.now - start,
            p.rejected,
            clients.iter().chain(&servers).filter(|h| h.aborted).count()
        );
    }
    prop_assert!(
        done,
        "not every connection closed within an hour of virtual time: client table {} server table {}; clients {:?}; servers {:?}",
        p.client.table_len(),
        p.server.table_len(),
        clients
            .iter()
            .map(|h| (h.closed, h.eof, h.shut, h.failed))
            .collect::<Vec<_>>(),
        servers
            .iter()
            .map(|h| (h.closed, h.eof, h.shut, h.failed, h.handle.is_some()))
            .collect::<Vec<_>>()
    );
    for (k, plan) in plans.iter().enumerate() {
        for (writer, reader, writes, from_client) in [
            (&clients[k], &servers[k], &plan.client_writes, true),
            (&servers[k], &clients[k], &plan.server_writes, false),
        ] {
            let expect: Vec<u8> = (0..writer.written)
                .map(|i| byte(k, from_client, i))
                .collect();
            let graceful =
                !clients[k].aborted && !servers[k].aborted && !writer.failed && !reader.failed;
            if graceful {
                let total: usize = writes.iter().sum();
                prop_assert_eq!(writer.written, total, "conn {} wrote everything", k);
                prop_assert!(
                    reader.read == expect,
                    "conn {} from_client={}: read {} bytes, wrote {}",
                    k,
                    from_client,
                    reader.read.len(),
                    expect.len()
                );
                prop_assert!(reader.eof, "conn {} reader saw end-of-stream", k);
            } else {
                prop_assert!(
                    expect.starts_with(&reader.read),
                    "conn {} from_client={}: read data is not a prefix of what was written",
                    k,
                    from_client
                );
            }
        }
    }
    guard.passed = true;
    Ok(())
}

/// Writes the run's packets to `<target tmp>/prop-failure-<seed>.pcap` unless the case
/// passed.
struct PcapOnFailure<'a> {
    pair: &'a EpPair,
    seed: u64,
    passed: bool,
}

impl Drop for PcapOnFailure<'_> {
    fn drop(&mut self) {
        if !self.passed {
            let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("prop-failure-{}.pcap", self.seed));
            match self.pair.write_pcap(&path) {
                Ok(()) => eprintln!("seed {}: packets written to {}", self.seed, path.display()),
                Err(e) => eprintln!("seed {}: could not write pcap: {e}", self.seed),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64), ..ProptestConfig::default() })]

    #[test]
    fn random_workloads_over_faulty_links_deliver_every_byte_in_order_and_close(
        cfgs in (side_cfg(), side_cfg()),
        plans in prop::collection::vec(plan(), 1..4),
        faults in faults(),
        seed in any::<u64>(),
    ) {
        run_case(cfgs, plans, faults, seed)?;
    }
}
