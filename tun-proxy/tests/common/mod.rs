//! What the namespace tests share: the namespaces, the TUN device, the proxy running in
//! the test's thread, an echo server and the test runner that reports the tests as
//! ignored without root.
//!
//! Two namespaces: the clients' (C), holding the TUN device with routes for
//! 198.51.100.0/24 and 2001:db8:5::/64 into it, and the proxy's and server's (S), where
//! 198.51.100.5 and 2001:db8:5::5 are local addresses. A client in C connects to one of
//! them; the proxy terminates the flow on the device and dials it from S.

#![allow(dead_code)] // each test binary uses a part

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use tcp_tokio::tcp_tun::netns;
use tokio::io::AsyncWriteExt;
use tun_proxy::{ProxyConfig, Stats, Totals};

/// The bound of every wait.
pub const LIMIT: Duration = Duration::from_secs(60);
/// The destination, local in namespace S.
pub const DEST: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 5));
/// `DEST`'s IPv6 counterpart.
pub const DEST6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 5, 0, 0, 0, 0, 5));
/// The device's name in namespace C.
pub const TUN: &str = "tp0";

/// Runs `tests` (name, function) with [`netns_harness::run`], after a probe that makes a
/// namespace with a TUN device.
pub fn run_tests(tests: Vec<(&'static str, fn())>) {
    netns_harness::run(&tests, || {
        netns::unshare_net()
            .and_then(|()| netns::open_tun(TUN))
            .and_then(|t| netns::ip(&["link", "set", "dev", t.name(), "up"]))
            .map_err(netns_harness::cannot_make_namespace)
    })
}

/// The proxy's side: this thread moves into namespace S with `DEST` and `DEST6` local.
pub fn enter_server_namespace() {
    netns::unshare_net().unwrap();
    netns::ip(&["addr", "add", "198.51.100.5/32", "dev", "lo"]).unwrap();
    netns::ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:5::5/128",
        "dev",
        "lo",
        "nodad",
    ])
    .unwrap();
    wait_local_v6("2001:db8:5::5");
}

/// Waits until the kernel has the local route of an IPv6 address it was just given (it
/// installs it from a work queue; packets to it are dropped until then).
pub fn wait_local_v6(addr: &str) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let out = std::process::Command::new("ip")
            .args(["-6", "route", "show", "table", "local", addr])
            .output()
            .unwrap();
        if !out.stdout.trim_ascii().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{addr} never became local");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Starts the client thread: it moves into a namespace of its own, makes the TUN device
/// there (with the virtio-net offloads, as `tun-proxy` opens it), routes `DEST`'s network
/// into it and hands the device over; then, told to go, runs `client`.
pub fn spawn_client<T: Send + 'static>(
    client: impl FnOnce() -> T + Send + 'static,
) -> (
    tcp_tokio::TunDevice,
    mpsc::Sender<()>,
    std::thread::JoinHandle<T>,
) {
    spawn_client_on(true, client)
}

/// [`spawn_client`] with the device opened with the virtio-net offloads or plainly.
pub fn spawn_client_on<T: Send + 'static>(
    offloaded: bool,
    client: impl FnOnce() -> T + Send + 'static,
) -> (
    tcp_tokio::TunDevice,
    mpsc::Sender<()>,
    std::thread::JoinHandle<T>,
) {
    let (dev_tx, dev_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        netns::unshare_net().unwrap();
        let device: tcp_tokio::TunDevice = if offloaded {
            tcp_tokio::tcp_tun::vnet::VnetTun::open(TUN).unwrap().into()
        } else {
            netns::open_tun(TUN).unwrap().into()
        };
        netns::ip(&["link", "set", "dev", TUN, "mtu", "1500", "up"]).unwrap();
        netns::ip(&["addr", "add", "192.0.2.1/24", "dev", TUN]).unwrap();
        netns::ip(&["route", "add", "198.51.100.0/24", "dev", TUN]).unwrap();
        netns::ip(&["-6", "addr", "add", "2001:db8::1/64", "dev", TUN, "nodad"]).unwrap();
        netns::ip(&["-6", "route", "add", "2001:db8:5::/64", "dev", TUN]).unwrap();
        wait_local_v6("2001:db8::1");
        dev_tx.send(device).unwrap();
        go_rx.recv_timeout(LIMIT).unwrap();
        client()
    });
    (dev_rx.recv_timeout(LIMIT).unwrap(), go_tx, t)
}

/// Runs the proxy on `iface` with the default configuration (and stats every 200 ms)
/// while `client` runs (after `go`); returns the client's result and the proxy's totals
/// after a clean shutdown.
pub fn with_proxy<T: Send + 'static>(
    iface: tcp_tokio::TunDevice,
    go: mpsc::Sender<()>,
    client: std::thread::JoinHandle<T>,
) -> (T, Totals) {
    let cfg = ProxyConfig {
        stats_interval: Some(Duration::from_millis(200)),
        ..ProxyConfig::default()
    };
    with_proxy_config(iface, go, client, cfg, Arc::new(Stats::default()))
}

/// [`with_proxy`] with a configuration and the counters, which the client may watch.
pub fn with_proxy_config<T: Send + 'static>(
    iface: tcp_tokio::TunDevice,
    go: mpsc::Sender<()>,
    client: std::thread::JoinHandle<T>,
    cfg: ProxyConfig,
    stats: Arc<Stats>,
) -> (T, Totals) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let config = tcp_tokio::tcp_tun::config_for_mtu(1500, true);
        let stack = tcp_tokio::Stack::bind_tun_transparent(iface, &[], config).unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let proxy_stack = stack.clone();
        let proxy = tokio::spawn(async move {
            tun_proxy::run(&proxy_stack, &cfg, stats, async {
                let _ = stop_rx.await;
            })
            .await
        });
        go.send(()).unwrap();
        let out = tokio::time::timeout(
            LIMIT * 2,
            tokio::task::spawn_blocking(move || client.join().unwrap()),
        )
        .await
        .expect("client within the limit")
        .unwrap();
        stop_tx.send(()).unwrap();
        let totals = tokio::time::timeout(LIMIT, proxy)
            .await
            .expect("proxy stops")
            .unwrap()
            .unwrap();
        assert!(stack.tun_stats().unwrap().packets_in > 0);
        (out, totals)
    })
}

/// Test data: `len` bytes that differ per `seed`.
pub fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 7 + i / 251 + seed * 13) as u8)
        .collect()
}

/// How one connection to the [`echo_server`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The peer's FIN, after this many bytes (all echoed).
    Eof(usize),
    /// A read or write failed (the peer reset), after this many bytes.
    Failed(usize, std::io::ErrorKind),
}

/// An echo server on `addr` (bound in the calling thread's namespace), in a thread with
/// a runtime of its own: each connection's bytes go back until its FIN, then a FIN. A
/// connection holds no buffer while idle (one is taken per readable event). Each
/// connection's end is sent on the returned channel.
pub fn echo_server(addr: SocketAddr) -> mpsc::Receiver<Ended> {
    let listener = std::net::TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(echo(s).await);
                });
            }
        });
    });
    rx
}

async fn echo(mut s: tokio::net::TcpStream) -> Ended {
    let mut total = 0;
    loop {
        if let Err(e) = s.readable().await {
            return Ended::Failed(total, e.kind());
        }
        let mut buf = vec![0u8; 64 * 1024];
        let n = match s.try_read(&mut buf) {
            Ok(0) => {
                let _ = s.shutdown().await;
                return Ended::Eof(total);
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Ended::Failed(total, e.kind()),
        };
        if let Err(e) = s.write_all(&buf[..n]).await {
            return Ended::Failed(total, e.kind());
        }
        total += n;
    }
}

/// Polls `cond` every 10 ms until it holds; panics with `what` after [`LIMIT`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The process's resident memory in bytes (`VmRSS` in `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}
