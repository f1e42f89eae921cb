//! `tcp-bench`: the project's measurements, printed as tables.
//!
//! `cargo run --release -p tcp-tests --bin tcp-bench -- [memory] [scale [N]] [bulk] [rr]
//! [segcost] [sack]` (no argument: all with defaults, about 25 s on an idle machine, the
//! million-connection scale run needs about 2.5 GiB). `sack` runs on the simulator's
//! virtual time, so its numbers are exact and repeatable: goodput with bogus SACK blocks on
//! every duplicate ACK next to clean ACKs, and transfers from a reneging receiver.
//! `--help` lists the benchmarks; an argument that names none is an error (exit status 2).
//!
//! `tcp-bench segcost-one CASE N` runs exactly N iterations of one `segcost` case and prints
//! nothing, for instruction counts: `scripts/segcost-callgrind` runs it under callgrind.
//! `tcp-bench segcost-cases` lists the case names.
//!
//! Environment: `BULK_BYTES`, `BULK_ONLY=ours|smoltcp`, `BULK_MTU=1500` (one MTU),
//! `RR_SCALE` (multiplies the round trips), `RR_ONLY=1x64` (one case: connections x message
//! size), `SACK_BYTES` (bytes per `sack` transfer, 8 MiB).
//!
//! The micro-benchmarks (the checksum, each segcost case alone) are timed with criterion:
//! `cargo bench -p tcp-tests --bench micro` (`tests/benches/micro.rs`).

use bytes::Bytes;
use clap::{CommandFactory, Parser, Subcommand};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant as WallClock;
use tcp_core::endpoint::SynCookies;
use tcp_core::{Config, ConnHandle, Duration, Endpoint, EndpointConfig, Instant, ListenerHandle};
use tcp_tests::alloc_count::{CountingAlloc, allocated};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

fn client_ip(k: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, (k >> 16) as u8, (k >> 8) as u8, k as u8))
}

/// Delivers everything `from` wants to send to `to` (no delay); returns the count.
fn pass(now: Instant, from: &mut Endpoint, to: &mut Endpoint, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit(now) {
        let len = t.encode(buf).expect("fits");
        to.handle_segment(
            now,
            t.src.ip(),
            t.dst.ip(),
            Bytes::copy_from_slice(&buf[..len]),
        )
        .expect("valid");
        n += 1;
    }
    n
}

/// Moves every segment between the two endpoints until both are quiet (no delay).
fn exchange(now: Instant, a: &mut Endpoint, b: &mut Endpoint, buf: &mut [u8]) -> usize {
    let mut moved = 0;
    loop {
        let n = pass(now, a, b, buf) + pass(now, b, a, buf);
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if n == 0 {
            return moved;
        }
        moved += n;
    }
}

fn client_addr(k: usize) -> SocketAddr {
    SocketAddr::new(client_ip(k / 50_000), 1024 + (k % 50_000) as u16)
}

fn endpoints(max_syn_backlog: usize) -> (Endpoint, Endpoint) {
    let cfg = Config::default();
    let c = Endpoint::new(cfg.clone(), EndpointConfig::with_secret([1; 16]));
    let s = Endpoint::new(cfg, {
        let mut ep_config = EndpointConfig::with_secret([2; 16]);
        ep_config.max_syn_backlog = max_syn_backlog;
        ep_config.syncookies = SynCookies::Never;
        ep_config
    });
    (c, s)
}

/// Opens `n` connections from `c` to `s`'s listener `l` and accepts them, pushing the
/// handles into `clients` and `servers` (allocated by the caller, so a measurement can
/// leave them out).
fn open_all(
    now: Instant,
    (c, s): (&mut Endpoint, &mut Endpoint),
    l: ListenerHandle,
    buf: &mut [u8],
    clients: &mut Vec<ConnHandle>,
    servers: &mut Vec<ConnHandle>,
) {
    let server_addr = SocketAddr::new(SERVER, 80);
    for k in 0..clients.capacity() {
        clients.push(
            c.connect_from(now, client_addr(k), server_addr)
                .expect("connect"),
        );
        if k % 1000 == 999 {
            exchange(now, c, s, buf);
        }
    }
    exchange(now, c, s, buf);
    while let Some(h) = s.accept(l).expect("l") {
        servers.push(h);
    }
    assert_eq!(servers.len(), clients.len());
}

/// Memory per idle established connection, per half-open entry and per TIME_WAIT record,
/// on the server side, with a counting allocator: build N of them between two endpoints,
/// drop the client endpoint, and compare what the server holds with an empty server.
fn memory() {
    let n = 10_000usize;
    let mut buf = vec![0u8; 2048];
    let now = Instant::from_secs(1);
    let server_addr = SocketAddr::new(SERVER, 80);

    // Idle established connections, accepted.
    let (mut c, mut s) = endpoints(1 << 20);
    let l = s.listen(server_addr, n * 2).expect("listen");
    let mut accepted = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    let empty = allocated();
    open_all(
        now,
        (&mut c, &mut s),
        l,
        &mut buf,
        &mut clients,
        &mut accepted,
    );
    let with_client = allocated();
    drop(c);
    let client_bytes = with_client - allocated();
    let established = (allocated() - empty) as f64 / n as f64;
    let parts = s.memory_parts();
    drop(s);
    drop(accepted);

    // Idle again after one exchange: each connection carried a 64-byte request and a
    // 64-byte response, everything is acknowledged, the delayed ACKs have gone and the
    // connections have been idle for a second.
    let (mut c, mut s) = endpoints(1 << 20);
    let l = s.listen(server_addr, n * 2).expect("listen");
    let mut clients = Vec::with_capacity(n);
    let mut servers = Vec::with_capacity(n);
    let empty = allocated();
    open_all(
        now,
        (&mut c, &mut s),
        l,
        &mut buf,
        &mut clients,
        &mut servers,
    );
    let mut msg = [0u8; 64];
    for &h in &clients {
        c.write(now, h, &msg).expect("request");
    }
    exchange(now, &mut c, &mut s, &mut buf);
    for &h in &servers {
        assert_eq!(s.read(now, h, &mut msg), Ok(64));
        s.write(now, h, &msg).expect("response");
    }
    exchange(now, &mut c, &mut s, &mut buf);
    for &h in &clients {
        assert_eq!(c.read(now, h, &mut msg), Ok(64));
    }
    let later = now + tcp_core::Duration::from_secs(1);
    c.handle_timeout(later);
    s.handle_timeout(later);
    exchange(later, &mut c, &mut s, &mut buf);
    // A second of idleness later the endpoint gives back the empty queues' memory.
    let idle = later + tcp_core::Duration::from_secs(1);
    c.handle_timeout(idle);
    s.handle_timeout(idle);
    exchange(idle, &mut c, &mut s, &mut buf);
    drop(c);
    let used = (allocated() - empty) as f64 / n as f64;
    let used_parts = s.memory_parts();
    drop(s);
    drop(clients);
    drop(servers);

    // Half-open entries: SYNs answered, final ACKs never sent.
    let (mut c, mut s) = endpoints(1 << 20);
    s.listen(server_addr, n * 2).expect("listen");
    let empty = allocated();
    for k in 0..n {
        c.connect_from(now, client_addr(k), server_addr)
            .expect("connect");
        if k % 1000 == 999 {
            pass(now, &mut c, &mut s, &mut buf);
            while s.poll_transmit(now).is_some() {}
        }
    }
    let with_client = allocated();
    drop(c);
    let client_syn_sent = with_client - allocated();
    let half_open = (allocated() - empty - client_syn_sent.min(0)) as f64 / n as f64;
    let half_open = half_open.max(0.0);
    drop(s);

    // TIME_WAIT records: the server closes first, the client answers with its FIN.
    let (mut c, mut s) = endpoints(1 << 20);
    let l = s.listen(server_addr, n * 2).expect("listen");
    let mut clients = Vec::with_capacity(n);
    let mut hs = Vec::with_capacity(n);
    open_all(now, (&mut c, &mut s), l, &mut buf, &mut clients, &mut hs);
    for h in hs {
        s.close(now, h).expect("close");
    }
    exchange(now, &mut c, &mut s, &mut buf);
    for h in clients {
        c.close(now, h).expect("close");
    }
    exchange(now, &mut c, &mut s, &mut buf);
    let tw = s.time_wait_count();
    drop(c);
    let before = allocated();
    drop(s);
    let tw_bytes = (before - allocated()) as f64 / tw.max(1) as f64;

    println!("memory, server side, counting allocator, {n} of each (endpoint tables included):");
    println!(
        "  idle established connection  {established:>7.0} bytes   (Linux's tcp_sock alone: about 2600)"
    );
    print_breakdown(&parts, n);
    println!(
        "  idle after one request/response {used:>5.0} bytes   (a second after the last \
         packet: the queues have been given back, and the SACK sender's state, allocated \
         with the first data sent, rests as a summary)"
    );
    print_breakdown(&used_parts, n);
    println!("  half-open (SYN queue) entry  {half_open:>7.0} bytes");
    println!("  TIME_WAIT record             {tw_bytes:>7.0} bytes   ({tw} records)");
    println!(
        "  client side, SYN_SENT / established: {:.0} / {:.0} bytes",
        client_syn_sent as f64 / n as f64,
        client_bytes as f64 / n as f64
    );
    println!(
        "  size_of::<Connection>() = {} bytes; smoltcp: size_of::<tcp::Socket>() = {} bytes \
         plus its receive and send buffers, fixed-size slices the application allocates \
         up front (e.g. 2 x 64 KiB)",
        std::mem::size_of::<tcp_core::Connection>(),
        std::mem::size_of::<smoltcp::socket::tcp::Socket<'static>>()
    );
}

/// Prints the endpoint's own account of its memory per connection, largest parts first:
/// the control block's fields one by one, the heap each part holds, the endpoint's tables.
fn print_breakdown(parts: &[tcp_core::MemoryPart], n: usize) {
    let mut parts: Vec<_> = parts
        .iter()
        .map(|p| (p.bytes as f64 / n as f64, p.name))
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = parts.iter().map(|p| p.0).sum();
    println!("    by part, as the endpoint accounts it ({total:.0} bytes per connection):");
    let (shown, rest): (Vec<_>, Vec<_>) = parts.iter().partition(|p| {
        p.0 >= std::env::var("MEM_MIN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(16.0)
    });
    for (bytes, name) in shown {
        println!("      {bytes:>7.1}  {name}");
    }
    let rest_bytes: f64 = rest.iter().map(|p| p.0).sum();
    println!(
        "      {rest_bytes:>7.1}  {} smaller parts (each under 16 bytes)",
        rest.len()
    );
}

/// One million (or N) concurrent connections through one endpoint pair.
fn scale(n: usize) {
    let mut buf = vec![0u8; 2048];
    let mut now = Instant::from_secs(1);
    let server_addr = SocketAddr::new(SERVER, 80);
    let before = allocated();
    let (mut c, mut s) = endpoints(n * 2);
    let l = s.listen(server_addr, n * 2).expect("listen");
    let t0 = WallClock::now();
    let batch = 1_000;
    let mut made = 0;
    while made < n {
        let k_end = (made + batch).min(n);
        for k in made..k_end {
            c.connect_from(now, client_addr(k), server_addr)
                .expect("connect");
        }
        exchange(now, &mut c, &mut s, &mut buf);
        while s.accept(l).expect("l").is_some() {}
        made = k_end;
        now += Duration::from_micros(10);
    }
    let hs_secs = t0.elapsed().as_secs_f64();
    let mem = allocated() - before;
    // Timers: every connection is idle (no timer except none); measure poll/handle cost.
    let t1 = WallClock::now();
    let iters = 1_000_000;
    let mut acc = 0u64;
    for _ in 0..iters {
        acc = acc.wrapping_add(s.poll_timeout().map_or(0, |t| t.as_micros()));
    }
    let poll_ns = t1.elapsed().as_nanos() as f64 / iters as f64;
    let t2 = WallClock::now();
    let handle_iters = 10_000;
    for i in 0..handle_iters {
        s.handle_timeout(now + Duration::from_micros(i));
    }
    let handle_ns = t2.elapsed().as_nanos() as f64 / handle_iters as f64;
    println!("scale: {n} concurrent established connections through one endpoint pair");
    println!(
        "  handshakes            {:>10.0} per second (client and server in one thread, segments encoded and checksummed)",
        n as f64 / hs_secs
    );
    println!(
        "  memory, both sides    {:>10.1} MiB ({:.0} bytes per connection per side)",
        mem as f64 / (1 << 20) as f64,
        mem as f64 / (2 * n) as f64
    );
    println!("  poll_timeout          {poll_ns:>10.1} ns per call (checksum {acc})");
    println!("  handle_timeout        {handle_ns:>10.1} ns per call with nothing due");
}

/// Bulk transfer in memory, one thread: the sender's and receiver's nodes (the same bulk
/// applications for both stacks, data checked by the receiver, checksums computed and
/// verified) joined directly, no delay, no loss; time moves only to the next timer.
fn bulk_one(stack: tcp_tests::sim::bulk::Stack, mtu: usize, bytes: u64) -> f64 {
    use tcp_tests::sim::bulk::{BulkSetup, make_node};
    use tcp_tests::sim::direct::run_direct;
    use tcp_tests::sim::link::LinkConfig;
    use tcp_tests::sim::smoltcp_node::Role;
    let mut setup = BulkSetup::new(bytes, LinkConfig::new(Duration::ZERO, None));
    setup.mtu = mtu;
    setup.buffer = 256 * 1024;
    let mut now = Instant::from_secs(1);
    let mut rx = make_node(
        stack,
        Role::Receiver {
            expected: Some(bytes),
        },
        &setup,
        now,
    )
    .expect("node");
    let mut tx = make_node(stack, Role::Sender { bytes }, &setup, now).expect("node");
    let t = WallClock::now();
    run_direct(
        &mut now,
        &mut *tx,
        &mut *rx,
        |_, rx| {
            let r = rx.report();
            assert_eq!(r.error, None, "receiver verified the data");
            r.bytes_received >= bytes && r.completed_at.is_some()
        },
        100_000_000,
    );
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(rx.report().bytes_received, bytes, "transfer completed");
    bytes as f64 * 8.0 / secs / 1e9
}

fn bulk() {
    use tcp_tests::sim::bulk::Stack;
    let bytes: u64 = std::env::var("BULK_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    println!(
        "bulk transfer in memory, one thread, {} MiB, 256 KiB buffers, checksums on:",
        bytes >> 20
    );
    println!(
        "  {:>6}  {:>12}  {:>12}  {:>6}",
        "MTU", "ours Gbit/s", "smoltcp", "ratio"
    );
    // For profiling: BULK_ONLY=ours or BULK_ONLY=smoltcp runs one stack, BULK_MTU=1500 one MTU.
    let only = std::env::var("BULK_ONLY").ok();
    let only_ours = only.as_deref() == Some("ours") || std::env::var("BULK_ONLY_OURS").is_ok();
    let only_mtu: Option<usize> = std::env::var("BULK_MTU").ok().and_then(|v| v.parse().ok());
    for mtu in [1500usize, 9000, 65535] {
        if only_mtu.is_some_and(|m| m != mtu) {
            continue;
        }
        if only.as_deref() == Some("smoltcp") {
            let smol = bulk_one(Stack::Smoltcp, mtu, bytes);
            println!("  {mtu:>6}  {:>12}  {smol:>12.2}", "-");
            continue;
        }
        let ours = bulk_one(Stack::Ours, mtu, bytes);
        if only_ours {
            println!("  {mtu:>6}  {ours:>12.2}");
            continue;
        }
        let smol = bulk_one(Stack::Smoltcp, mtu, bytes);
        println!(
            "  {mtu:>6}  {ours:>12.2}  {smol:>12.2}  {:>6.2}",
            ours / smol
        );
    }
}

/// Request/response round trips per second, ours next to smoltcp (`tests/src/sim/rr.rs`).
fn rr() {
    use tcp_tests::sim::bulk::Stack;
    use tcp_tests::sim::rr::{RrResult, RrSetup, run_rr};
    let scale: u64 = std::env::var("RR_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    println!(
        "request/response in memory, one thread, no delay, checksums on, Nagle off on both stacks \
         (TCP_NODELAY; with Nagle and delayed ACK RR measures timers), 16 KiB buffers, \
         one outstanding request per connection, round trips per second:"
    );
    println!(
        "  {:>5}  {:>5}  {:>7}  {:>10}  {:>12}  {:>6}  {:>14}  {:>14}  {:>6}",
        "conns",
        "msg",
        "trips",
        "ours RT/s",
        "smoltcp RT/s",
        "ratio",
        "ours s pkt/RT",
        "smol s pkt/RT",
        "timers"
    );
    // For profiling: RR_ONLY=1x64 runs one case (connections x message size).
    let only = std::env::var("RR_ONLY").ok();
    for (conns, per_conn) in [(1usize, 200_000u64), (1000, 200)] {
        for msg in [64usize, 1024] {
            if only
                .as_ref()
                .is_some_and(|o| *o != format!("{conns}x{msg}"))
            {
                continue;
            }
            let setup = RrSetup::new(msg, conns, per_conn * scale);
            let one = |stack| -> RrResult {
                let r = run_rr(stack, &setup).expect("set up");
                assert_eq!(r.error, None, "{stack:?}: data verified");
                assert_eq!(r.round_trips, setup.round_trips * conns as u64);
                r
            };
            let ours = one(Stack::Ours);
            let smol = one(Stack::Smoltcp);
            let per = |r: &RrResult| r.packets as f64 / r.round_trips as f64;
            println!(
                "  {conns:>5}  {msg:>5}  {:>7}  {:>10.0}  {:>12.0}  {:>6.2}  {:>7.2}s {:>5.1}  {:>7.2}s {:>5.1}  {:>6}",
                ours.round_trips,
                ours.rate(),
                smol.rate(),
                ours.rate() / smol.rate(),
                ours.secs,
                per(&ours),
                smol.secs,
                per(&smol),
                format!("{}/{}", ours.timer_steps, smol.timer_steps),
            );
        }
    }
    println!(
        "  (pkt/RT: packets per round trip, both directions; timers: steps at which virtual \
         time had to move, ours/smoltcp, 0 = no timer waited for)"
    );
}

/// Cost per data segment in an in-memory bulk transfer, ours next to smoltcp (the cost of
/// each segcost case alone: `cargo bench -p tcp-tests --bench micro`, and its instructions:
/// `scripts/segcost-callgrind`).
fn segcost() {
    use tcp_tests::bench::segcost::bulk_split;
    use tcp_tests::sim::bulk::Stack;
    let bytes = 256u64 << 20;
    println!(
        "cost per data segment, ours next to smoltcp: each side's wall-clock time in a {} MiB \
         in-memory bulk transfer (MTU 1500, node wrappers, the applications' copy and check \
         included) divided by the data segments:",
        bytes >> 20
    );
    println!(
        "  {:<34} {:>8} {:>8} {:>6}",
        "side", "ours ns", "smoltcp", "ratio"
    );
    let ours = bulk_split(Stack::Ours, bytes);
    let smol = bulk_split(Stack::Smoltcp, bytes);
    for (name, o, s) in [
        ("receive in order (+ ACKs out)", ours.recv_ns, smol.recv_ns),
        ("send (+ ACKs in)", ours.send_ns, smol.send_ns),
    ] {
        println!("  {name:<34} {o:>8.1} {s:>8.1} {:>6.2}", s / o);
    }
    println!(
        "  (ACKs per data segment: ours {:.2}, smoltcp {:.2}; ratio = smoltcp / ours time)",
        ours.acks_per_segment, smol.acks_per_segment
    );
}

/// `segcost-one CASE N`: exactly N iterations of one case, no output (for callgrind).
/// The benchmarks, in the order they run (whatever the order of the arguments).
const BENCHMARKS: [&str; 6] = ["memory", "scale", "bulk", "rr", "segcost", "sack"];

/// `tcp-bench`'s command line.
#[derive(Parser, Debug)]
#[command(
    name = "tcp-bench",
    about = "The project's measurements, printed as tables.",
    args_conflicts_with_subcommands = true,
    after_help = "Benchmarks: memory (bytes per idle connection, half-open entry and TIME_WAIT \
record, with the breakdown), scale [N] (N concurrent connections through one endpoint pair, \
default 1000000, about 2.5 GiB), bulk (in-memory bulk transfer next to smoltcp), rr \
(request/response round trips next to smoltcp), segcost (ns per data segment of each side in \
a bulk transfer, next to smoltcp), sack \
(goodput with bogus SACK blocks and from a reneging receiver, on the simulator).\n\n\
Environment: BULK_BYTES, BULK_ONLY=ours|smoltcp, BULK_MTU=1500 (one MTU), RR_SCALE \
(multiplies the round trips), RR_ONLY=1x64 (one case: connections x message size), \
SACK_BYTES (bytes per sack transfer, 8 MiB).

Micro-benchmarks (the checksum, each segcost case alone) are criterion benchmarks: \
cargo bench -p tcp-tests --bench micro."
)]
struct Cli {
    /// Benchmarks to run: memory, scale [N], bulk, rr, segcost, sack (none: all,
    /// with defaults, about 25 s on an idle machine).
    #[arg(value_name = "BENCHMARK")]
    benchmarks: Vec<String>,
    #[command(subcommand)]
    tool: Option<Tool>,
}

/// Helpers for instruction counts (`scripts/segcost-callgrind`).
#[derive(Subcommand, Debug)]
enum Tool {
    /// Runs exactly ITERATIONS of one segcost case and prints nothing (for callgrind).
    SegcostOne {
        /// The case (`tcp-bench segcost-cases` lists them).
        #[arg(value_parser = parse_case)]
        case: tcp_tests::bench::segcost::Case,
        /// How many segments to process.
        iterations: u64,
    },
    /// Lists the names of the segcost cases.
    SegcostCases,
}

fn parse_case(name: &str) -> Result<tcp_tests::bench::segcost::Case, String> {
    use tcp_tests::bench::segcost::Case;
    Case::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Case::ALL.iter().map(|c| c.name()).collect();
        format!("unknown case (one of: {})", names.join(", "))
    })
}

/// The selected benchmarks and the connection count of `scale`: each argument must name a
/// benchmark, except a number right after `scale`.
fn select(args: &[String]) -> Result<(Vec<&'static str>, usize), String> {
    let mut chosen = Vec::new();
    let mut scale_n = 1_000_000;
    for (i, a) in args.iter().enumerate() {
        if let Some(&b) = BENCHMARKS.iter().find(|&&b| b == a) {
            chosen.push(b);
        } else if i > 0 && args[i - 1] == "scale" {
            scale_n = a
                .parse()
                .map_err(|_| format!("scale takes a connection count, not '{a}'"))?;
        } else {
            return Err(format!(
                "unknown benchmark '{a}' (one of: {})",
                BENCHMARKS.join(", ")
            ));
        }
    }
    if chosen.is_empty() {
        chosen = BENCHMARKS.to_vec();
    }
    Ok((chosen, scale_n))
}

fn main() {
    let cli = Cli::parse();
    match cli.tool {
        Some(Tool::SegcostOne { case, iterations }) => {
            let r = tcp_tests::bench::segcost::run(case, iterations);
            assert_eq!(r.segments, iterations);
            return;
        }
        Some(Tool::SegcostCases) => {
            for c in tcp_tests::bench::segcost::Case::ALL {
                println!("{}", c.name());
            }
            return;
        }
        None => {}
    }
    let (chosen, scale_n) = select(&cli.benchmarks).unwrap_or_else(|e| {
        Cli::command()
            .error(clap::error::ErrorKind::InvalidValue, e)
            .exit()
    });
    let on = |b: &str| chosen.contains(&b);
    if on("memory") {
        memory();
    }
    if on("scale") {
        scale(scale_n);
    }
    if on("bulk") {
        bulk();
    }
    if on("rr") {
        rr();
    }
    if on("segcost") {
        segcost();
    }
    if on("sack") {
        sack();
    }
}

/// Bogus SACK blocks and a reneging receiver, on the simulator.
fn sack() {
    use tcp_tests::bench::sack::{fault_rows, fault_table, reneging_table};
    let bytes = std::env::var("SACK_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8u64 << 20);
    println!(
        "\n## Bogus SACK blocks on every duplicate ACK ({bytes} bytes, 100 Mbit/s, 10 ms, loss on data only)\n"
    );
    let rows = fault_rows(bytes, &[0.005, 0.01, 0.02, 0.05], &[1, 2, 3]);
    print!("{}", fault_table(&rows));
    let worst = rows
        .iter()
        .map(|r| (r.ratio() - 1.0).abs())
        .fold(0.0f64, f64::max);
    println!("\nlargest |faulted / clean - 1|: {:.3}", worst);
    println!("\n## A receiver that reneges ({bytes} bytes, 1 % loss)\n");
    print!(
        "{}",
        reneging_table(bytes, 0.01, &[0.0, 0.01, 0.05, 0.2], &[1, 2])
    );
}
