//! `tun-proxy` next to the same transparent proxy built on two other userspace stacks,
//! `ipstack` (1.x) and `netstack-smoltcp`, through the same TUN device and namespace
//! setup (see `tests/common`): the clients' namespace holds the device, the proxy and
//! the servers share the other one. Needs root; run with `cargo bench -p tun-proxy
//! --bench anchors`.
//!
//! Each case of each stack runs in a fresh child process (`--child CASE STACK`), so one
//! run's allocations do not hide the next one's memory and a hung case is killed after
//! [`CHILD_LIMIT`]. Each measured number is the median of [`REPS`] runs (still noisy on
//! a small or busy machine: the connection rate is bound by thread wake-ups).
//!
//! The anchors splice with `tokio::io::copy_bidirectional` after their stack completed
//! the client's handshake (neither dials first); ours is `tun_proxy::run` with the default
//! configuration, on the runtime the `tun-proxy` binary uses ([`tun_proxy::runtime`] with
//! one thread: current-thread). The anchors run on a multi-threaded tokio runtime (ipstack
//! needs one: it calls `block_in_place`), measured with one worker and with two (the
//! machine's cores); each anchor's better median is the one compared, with its worker
//! count shown (netstack-smoltcp's connection rate is two to three times higher on one
//! worker; the correctness cases run the anchors on two).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{DEST, LIMIT, echo_server, enter_server_namespace, rss_bytes, spawn_client_on};

/// The longest a child (one case of one stack) may take, but for the download under loss
/// ([`LOSS_LIMIT`]); a failure whose cause is known ([`KNOWN`]) gets this much whatever
/// the case.
const CHILD_LIMIT: Duration = Duration::from_secs(60);
/// The longest the 1 GiB download under loss may take (netstack-smoltcp moves about
/// 10 MB/s there).
const LOSS_LIMIT: Duration = Duration::from_secs(300);
/// Bytes of each bulk transfer.
const BULK: usize = 512 << 20;
/// Bytes of the download under loss.
const LOSSY: usize = 1 << 30;
/// Connections of the connection-rate case, one after the other.
const CONNS: usize = 2000;
/// Runs of each measured case of each stack; the median is printed.
const REPS: usize = 3;
/// Worker threads the anchors' runtimes are measured with; the better is compared.
const ANCHOR_WORKERS: [usize; 2] = [1, 2];
/// Worker threads of the anchors' runtimes in the correctness cases.
const CHECK_WORKERS: usize = 2;
/// Idle flows held for the memory case.
const IDLE_FLOWS: usize = 500;
/// Flows of the many-flows case, and how many at once, and the bytes each echoes.
const MANY: usize = 10_000;
const MANY_AT_ONCE: usize = 50;
const MANY_BYTES: usize = 1024;

const STACKS: [&str; 3] = ["ours", "ipstack", "netstack-smoltcp"];

/// (case, what its number is)
const CASES: [(&str, &str); 4] = [
    ("upload", "upload MB/s, one flow, 512 MiB client -> server"),
    (
        "download",
        "download MB/s, one flow, 512 MiB server -> client",
    ),
    (
        "cps",
        "connections/s, 2000 one after the other, 1 byte echoed each",
    ),
    (
        "memory",
        "resident bytes per idle flow, 500 held (with the echo server's)",
    ),
];

/// The correctness cases: (case, what it does); each prints what it delivered.
const CHECKS: [(&str, &str); 3] = [
    (
        "loss",
        "download of 1 GiB with 1 % of the packets to the client dropped",
    ),
    (
        "halfclose",
        "1 MiB sent then FIN, echoed back after the FIN",
    ),
    (
        "many",
        "10000 flows opened and closed, 50 at a time, 1 KiB echoed each",
    ),
];

/// ipstack 1.0.1 ignores a segment with FIN and data (tcp.rs matches the flags exactly).
const FIN_DATA: &str = "ipstack 1.0.1 never accepts a FIN carrying data (ACK|PSH|FIN, the client's \
                        last segment) and has no half-close (README)";
/// ipstack 1.0.1's `poll_shutdown` loses its wake-up while data is in flight.
const FIN_LOST: &str = "ipstack 1.0.1 never sends its FIN when data was in flight at shutdown \
                        (lost wake-up in poll_shutdown, narrowlink/ipstack#89; README)";

/// The failures whose cause is known: (stack, case, why), printed next to `failed`.
const KNOWN: [(&str, &str, &str); 5] = [
    ("ipstack", "upload", FIN_DATA),
    ("ipstack", "download", FIN_LOST),
    ("ipstack", "loss", FIN_LOST),
    ("ipstack", "halfclose", FIN_DATA),
    ("ipstack", "many", FIN_DATA),
];

/// `failed`, with the known cause if there is one.
fn failed(case: &str, stack: &str) -> String {
    match KNOWN.iter().find(|(s, c, _)| *s == stack && *c == case) {
        Some((.., why)) => format!("failed ({why})"),
        None => "failed".into(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let (case, stack) = (args[i + 1].clone(), args[i + 2].clone());
        let workers = args
            .get(i + 3)
            .and_then(|w| w.parse().ok())
            .unwrap_or(CHECK_WORKERS);
        let out = child(&case, &stack, workers);
        println!("RESULT {}", out.join(" "));
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("anchors: a benchmark; run it with `cargo bench -p tun-proxy --bench anchors`");
        return;
    }
    if !is_root() {
        println!("anchors: skipped, needs root (namespaces and a TUN device)");
        return;
    }
    println!(
        "tun-proxy next to ipstack and netstack-smoltcp, median of 3 runs each, each anchor's \
         better runtime (1 or 2 workers) compared (ratio = ours/other; for memory lower is better)"
    );
    for (case, what) in CASES {
        let ours = median_of_runs(case, "ours", 1);
        let plain = median_of_runs(case, "ours-plain", 1);
        println!(
            "{what:<66} ours without offloads (plain device): {}",
            fmt(plain)
        );
        for other in &STACKS[1..] {
            let (t, workers) = best_over_workers(case, other);
            // The worker count that gave the compared median (none when every run failed).
            let anchor = match t {
                Some(_) if workers == 1 => format!("{other} (1 worker)"),
                Some(_) => format!("{other} ({workers} workers)"),
                None => other.to_string(),
            };
            println!(
                "{what:<66} vs {anchor:<27}: ours={} other={} ratio={}",
                fmt(ours),
                t.map_or_else(|| failed(case, other), |t| fmt(Some(t))),
                match (ours, t) {
                    (Some(o), Some(t)) if t > 0.0 => format!("{:.2}", o / t),
                    _ => "-".into(),
                }
            );
        }
    }
    println!("correctness, what each delivered:");
    let loss_ok = Command::new("nft").arg("--version").output().is_ok();
    for (case, what) in CHECKS {
        if case == "loss" && !loss_ok {
            println!("{what}: skipped, needs `nft` (nftables) to drop packets");
            continue;
        }
        // `ours-plain` too: with the offloads the kernel's drop rule sees super-packets,
        // so only the plain device loses single wire packets as the anchors' devices do.
        for stack in STACKS.iter().chain(&["ours-plain"]) {
            let mut out = run_child(case, stack, CHECK_WORKERS);
            if out.first().is_some_and(|w| w.starts_with("failed"))
                && let Some((.., why)) = KNOWN.iter().find(|(s, c, _)| s == stack && *c == case)
            {
                out.push(format!("({why})"));
            }
            println!("{what:<66} {stack:<16}: {}", out.join(" "));
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn first(out: &[String]) -> Option<f64> {
    out.first().and_then(|v| v.parse().ok())
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "failed".into(),
    }
}

/// An anchor's better median over [`ANCHOR_WORKERS`] (higher, or lower for memory), and
/// the worker count that gave it (`None`: every run failed).
fn best_over_workers(case: &str, stack: &str) -> (Option<f64>, usize) {
    let lower_is_better = case == "memory";
    let mut best: (Option<f64>, usize) = (None, ANCHOR_WORKERS[0]);
    for w in ANCHOR_WORKERS {
        let Some(m) = median_of_runs(case, stack, w) else {
            continue;
        };
        let better = best
            .0
            .is_none_or(|b| if lower_is_better { m < b } else { m > b });
        if better {
            best = (Some(m), w);
        }
    }
    best
}

/// Runs a measured case of one stack [`REPS`] times, each in its own child (an anchor's
/// runtime with `workers` threads), and returns the median (`None` if a run failed: a
/// failed stack is not run again, each failure may cost [`CHILD_LIMIT`]).
fn median_of_runs(case: &str, stack: &str, workers: usize) -> Option<f64> {
    let mut v = Vec::new();
    for _ in 0..REPS {
        v.push(first(&run_child(case, stack, workers))?);
    }
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Runs one case of one stack in a child process; its `RESULT` words, or why it failed.
fn run_child(case: &str, stack: &str, workers: usize) -> Vec<String> {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return vec![format!("failed: {e}")],
    };
    let mut child = match Command::new(exe)
        .args(["--child", case, stack, &workers.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return vec![format!("failed: {e}")],
    };
    let known = KNOWN.iter().any(|&(s, c, _)| s == stack && c == case);
    let limit = if case == "loss" && !known {
        LOSS_LIMIT
    } else {
        CHILD_LIMIT
    };
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return vec![format!("failed: no result in {limit:?}")];
            }
        }
    }
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    match out.lines().find_map(|l| l.strip_prefix("RESULT ")) {
        Some(r) => r.split_whitespace().map(String::from).collect(),
        None => vec!["failed: the case panicked".into()],
    }
}

/// One case of one stack, in this process: the servers and the proxy here (namespace S),
/// the client in a thread in namespace C.
fn child(case: &str, stack: &str, workers: usize) -> Vec<String> {
    enter_server_namespace();
    let echo = echo_server(SocketAddr::new(DEST, 7));
    drop(echo); // the ends are not watched
    sink_server(SocketAddr::new(DEST, 9));
    source_server(SocketAddr::new(DEST, 19), BULK, false);
    source_server(SocketAddr::new(DEST, 20), LOSSY, true);
    let case = case.to_string();
    // Ours opens the device with the virtio-net offloads, as the `tun-proxy` binary does;
    // the anchors cannot use them, and `ours-plain` shows ours without them.
    let (iface, go, client) = spawn_client_on(stack == "ours", move || client_case(&case));
    // Ours on the runtime the `tun-proxy` binary uses by default (`tun_proxy::runtime(1)`:
    // current-thread); the anchors multi-threaded with `workers` workers: ipstack calls
    // `block_in_place`, which a current-thread runtime does not allow.
    let rt = if stack.starts_with("ours") {
        tun_proxy::runtime(1).unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .enable_all()
            .build()
            .unwrap()
    };
    let stack = stack.to_string();
    let out = rt.block_on(async move {
        let proxy = tokio::spawn(run_proxy(stack, iface));
        go.send(()).unwrap();
        let out = tokio::time::timeout(
            LOSS_LIMIT,
            tokio::task::spawn_blocking(move || client.join().unwrap()),
        )
        .await
        .expect("client within the limit")
        .unwrap();
        proxy.abort();
        out
    });
    // The runtime is not dropped: dropping it drops the flows still open, and an ipstack
    // stream's `Drop` waits for its connection task with `block_in_place` + `block_on`,
    // which never runs in a runtime shutting down (both workers hang in `Drop`). The
    // process exits after printing the result instead, whatever the stack.
    std::mem::forget(rt);
    out
}

/// The client's side of each case (namespace C).
fn client_case(case: &str) -> Vec<String> {
    let to = |port| SocketAddr::new(DEST, port);
    match case {
        "upload" => {
            let mut s = TcpStream::connect_timeout(&to(9), LIMIT).unwrap();
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let chunk = vec![0x5au8; 64 * 1024];
            let start = Instant::now();
            for _ in 0..BULK / chunk.len() {
                s.write_all(&chunk).unwrap();
            }
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut n = [0u8; 8];
            s.read_exact(&mut n).unwrap();
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(u64::from_be_bytes(n), BULK as u64, "bytes the sink got");
            vec![format!("{:.1}", BULK as f64 / 1e6 / secs)]
        }
        "download" => {
            let start = Instant::now();
            let got = download(to(19));
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(got, BULK, "bytes downloaded");
            vec![format!("{:.1}", BULK as f64 / 1e6 / secs)]
        }
        "cps" => {
            let start = Instant::now();
            for i in 0..CONNS {
                let mut s = TcpStream::connect_timeout(&to(7), LIMIT).unwrap();
                s.set_read_timeout(Some(LIMIT)).unwrap();
                s.write_all(&[i as u8]).unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
            }
            vec![format!(
                "{:.0}",
                CONNS as f64 / start.elapsed().as_secs_f64()
            )]
        }
        "memory" => {
            let before = rss_bytes();
            let mut flows: Vec<TcpStream> = (0..IDLE_FLOWS)
                .map(|_| TcpStream::connect_timeout(&to(7), LIMIT).unwrap())
                .collect();
            for s in &mut flows {
                s.set_read_timeout(Some(LIMIT)).unwrap();
                s.write_all(b"x").unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
            }
            std::thread::sleep(Duration::from_millis(500));
            let per_flow = rss_bytes().saturating_sub(before) / IDLE_FLOWS as u64;
            vec![per_flow.to_string()]
        }
        "loss" => {
            drop_one_percent();
            let start = Instant::now();
            let (got, exact) = download_checked(to(20));
            let secs = start.elapsed().as_secs_f64();
            vec![format!(
                "delivered {got} of {LOSSY} bytes in {secs:.2} s ({:.1} MB/s), {}, RSS after {:.1} MB",
                got as f64 / 1e6 / secs,
                if exact && got == LOSSY {
                    "byte-exact"
                } else {
                    "NOT byte-exact"
                },
                rss_bytes() as f64 / 1e6
            )]
        }
        "halfclose" => {
            let data = common::pattern(1 << 20, 5);
            let mut s = TcpStream::connect_timeout(&to(7), LIMIT).unwrap();
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let mut w = s.try_clone().unwrap();
            let sent = data.clone();
            let writer = std::thread::spawn(move || {
                w.write_all(&sent).unwrap();
                w.shutdown(std::net::Shutdown::Write).unwrap();
            });
            let mut got = Vec::new();
            let r = s.read_to_end(&mut got);
            writer.join().unwrap();
            vec![format!(
                "delivered {} of {} bytes back, {}, end: {}, RSS after {:.1} MB",
                got.len(),
                data.len(),
                if got == data {
                    "byte-exact"
                } else {
                    "NOT byte-exact"
                },
                match r {
                    Ok(_) => "FIN".to_string(),
                    Err(e) => format!("{e}"),
                },
                rss_bytes() as f64 / 1e6
            )]
        }
        "many" => many_flows(),
        other => panic!("no case {other}"),
    }
}

/// Byte `i` of a patterned stream ([`source_server`] with `patterned`): a shifted or
/// corrupted byte shows, at any offset.
fn pattern_byte(i: usize) -> u8 {
    (i.wrapping_mul(7) ^ (i >> 13)) as u8
}

/// Reads one patterned connection to `to` to its end: the bytes read and whether each
/// was the pattern's.
fn download_checked(to: SocketAddr) -> (usize, bool) {
    let mut s = TcpStream::connect_timeout(&to, LIMIT).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut got, mut exact) = (0, true);
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return (got, exact),
            Ok(n) => {
                exact &= buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(k, &b)| b == pattern_byte(got + k));
                got += n;
            }
        }
    }
}

/// Reads one connection to `to` to its end; the bytes read.
fn download(to: SocketAddr) -> usize {
    let mut s = TcpStream::connect_timeout(&to, LIMIT).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return got,
            Ok(n) => got += n,
        }
    }
}

/// `MANY` flows, `MANY_AT_ONCE` at a time, each echoing `MANY_BYTES`: how many were
/// byte-exact, and the resident memory after.
fn many_flows() -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(MANY_AT_ONCE));
        let mut set = tokio::task::JoinSet::new();
        for seed in 0..MANY {
            let permit = sem.clone().acquire_owned().await.unwrap();
            set.spawn(async move {
                let _permit = permit;
                let flow = async {
                    let s = tokio::net::TcpStream::connect(SocketAddr::new(DEST, 7)).await?;
                    let (mut r, mut w) = s.into_split();
                    let data = common::pattern(MANY_BYTES, seed);
                    let sent = data.clone();
                    let writer = tokio::spawn(async move {
                        w.write_all(&sent).await?;
                        w.shutdown().await
                    });
                    let mut got = Vec::new();
                    r.read_to_end(&mut got).await?;
                    writer.await.map_err(std::io::Error::other)??;
                    Ok::<bool, std::io::Error>(got == data)
                };
                matches!(tokio::time::timeout(LIMIT, flow).await, Ok(Ok(true)))
            });
        }
        let mut exact = 0;
        while let Some(r) = set.join_next().await {
            exact += usize::from(r.unwrap_or(false));
        }
        vec![format!(
            "{exact} of {MANY} flows byte-exact, RSS after {:.1} MB",
            rss_bytes() as f64 / 1e6
        )]
    })
}

/// In the client's namespace: drop 1 % of the TCP packets arriving for the kernel (those
/// the proxy sends through the device), with nftables.
fn drop_one_percent() {
    let rules = "table inet loss { chain in { type filter hook input priority 0; \
                 meta l4proto tcp numgen random mod 100 0 drop; }; }";
    let mut nft = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    nft.stdin
        .take()
        .unwrap()
        .write_all(rules.as_bytes())
        .unwrap();
    assert!(nft.wait().unwrap().success(), "nft failed");
}

/// A server that reads each connection to its end and answers the byte count (8 bytes).
fn sink_server(addr: SocketAddr) {
    let listener = std::net::TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        while let Ok((mut s, _)) = listener.accept() {
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                let mut total = 0u64;
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    total += n as u64;
                }
                let _ = s.write_all(&total.to_be_bytes());
            });
        }
    });
}

/// A server that sends `len` bytes on each connection, then closes it: constant bytes,
/// or with `patterned` the stream of [`pattern_byte`].
fn source_server(addr: SocketAddr, len: usize, patterned: bool) {
    let listener = std::net::TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        while let Ok((mut s, _)) = listener.accept() {
            std::thread::spawn(move || {
                let mut chunk = vec![0xa5u8; 64 * 1024];
                let mut sent = 0;
                while sent < len {
                    let n = (len - sent).min(chunk.len());
                    if patterned {
                        for (k, b) in chunk[..n].iter_mut().enumerate() {
                            *b = pattern_byte(sent + k);
                        }
                    }
                    if s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    sent += n;
                }
            });
        }
    });
}

/// Runs the named proxy on the device until dropped.
async fn run_proxy(stack: String, device: tcp_tokio::TunDevice) {
    let iface = match device {
        tcp_tokio::TunDevice::Plain(iface) => iface,
        vnet @ tcp_tokio::TunDevice::Vnet(_) => {
            assert_eq!(stack, "ours", "only ours takes the virtio-net device");
            return run_ours(vnet).await;
        }
    };
    match stack.as_str() {
        "ours-plain" => run_ours(iface.into()).await,
        "ipstack" => run_ipstack(iface).await,
        "netstack-smoltcp" => run_netstack(iface).await,
        other => panic!("no stack {other}"),
    }
}

/// `tun-proxy` with its default configuration on `device`.
async fn run_ours(device: tcp_tokio::TunDevice) {
    let config = tcp_tokio::tcp_tun::config_for_mtu(1500, true);
    let stack = tcp_tokio::Stack::bind_tun_transparent(device, &[], config).unwrap();
    let stats = Arc::new(tun_proxy::Stats::default());
    let cfg = tun_proxy::ProxyConfig::default();
    let _ = tun_proxy::run(&stack, &cfg, stats, std::future::pending()).await;
}

/// Dials `dst` and splices it to `client` until both ends closed.
async fn splice<S: AsyncRead + AsyncWrite + Unpin>(mut client: S, dst: SocketAddr) {
    if let Ok(mut up) = tokio::net::TcpStream::connect(dst).await {
        let _ = up.set_nodelay(true);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
    }
}

async fn run_ipstack(iface: tcp_tokio::tun_tap::Iface) {
    // As ipstack's own example (examples/tun.rs) configures it: without the MSS option
    // its SYN-ACK carries none and the client falls back to 536-byte segments.
    let mut cfg = ipstack::IpStackConfig::default();
    cfg.mtu(1500).unwrap();
    let mut tcp = ipstack::TcpConfig::default();
    tcp.options = Some(vec![ipstack::TcpOptions::MaximumSegmentSize(1460)]);
    tcp.max_unacked_bytes = 256 * 1024;
    cfg.with_tcp_config(tcp);
    let mut ip = ipstack::IpStack::new(cfg, TunDevice::new(iface));
    while let Ok(s) = ip.accept().await {
        if let ipstack::IpStackStream::Tcp(tcp) = s {
            // ipstack's peer_addr is the packet's destination: the original one.
            let dst = tcp.peer_addr();
            tokio::spawn(splice(tcp, dst));
        }
    }
}

async fn run_netstack(iface: tcp_tokio::tun_tap::Iface) {
    use futures::{SinkExt, StreamExt};
    let (stack, runner, _udp, listener) = netstack_smoltcp::StackBuilder::default()
        .enable_tcp(true)
        .enable_udp(false)
        .mtu(1500)
        .build()
        .unwrap();
    if let Some(runner) = runner {
        tokio::spawn(runner);
    }
    let mut listener = listener.unwrap();
    let (mut to_stack, mut from_stack) = stack.split();
    let dev = Arc::new(TunDevice::new(iface));
    let out = dev.clone();
    tokio::spawn(async move {
        while let Some(Ok(pkt)) = from_stack.next().await {
            let _ = out.send(&pkt).await;
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = dev.recv(&mut buf).await {
            if to_stack.send(buf[..n].to_vec()).await.is_err() {
                return;
            }
        }
    });
    while let Some((stream, _client, dst)) = listener.next().await {
        tokio::spawn(splice(stream, dst));
    }
}

/// The TUN device for the anchors: one packet per read and per write.
struct TunDevice {
    fd: AsyncFd<tcp_tokio::tun_tap::Iface>,
}

impl TunDevice {
    fn new(iface: tcp_tokio::tun_tap::Iface) -> TunDevice {
        use std::os::fd::AsRawFd;
        let fd = iface.as_raw_fd();
        // SAFETY: fcntl on the device's open descriptor with integer arguments.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        assert!(
            flags >= 0 && unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } >= 0
        );
        // SAFETY: the `Iface` owns its descriptor and returns that same descriptor from
        // `as_raw_fd` until it is dropped, which happens only with the `AsyncFd`.
        let fd = unsafe { AsyncFd::register(iface) }.unwrap();
        TunDevice { fd }
    }

    async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            if let Ok(r) = guard.try_io(|fd| fd.get_ref().recv(buf)) {
                return r;
            }
        }
    }

    async fn send(&self, pkt: &[u8]) -> std::io::Result<usize> {
        loop {
            let mut guard = self.fd.writable().await?;
            if let Ok(r) = guard.try_io(|fd| fd.get_ref().send(pkt)) {
                return r;
            }
        }
    }
}

impl AsyncRead for TunDevice {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| fd.get_ref().recv(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for TunDevice {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pkt: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| fd.get_ref().send(pkt)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
