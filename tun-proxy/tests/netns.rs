//! `tun-proxy` end to end in private network namespaces (reported as ignored without root).
//!
//! Two namespaces: the clients' (C), holding the TUN device with a route for
//! 198.51.100.0/24 into it, and the proxy's and server's (S), where 198.51.100.5 is a
//! local address. A client (`std::net::TcpStream` in C) connects to 198.51.100.5; the
//! proxy terminates the flow on the device and dials 198.51.100.5 from S.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use tcp_tokio::tcp_tun::netns;
use tun_proxy::{ProxyConfig, Stats, Totals};

const LIMIT: Duration = Duration::from_secs(60);
const DEST: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 5));
const TUN: &str = "tp0";

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let tests: [(&str, fn()); 4] = [
        (
            "client_reaches_server_through_proxy",
            client_reaches_server_through_proxy,
        ),
        (
            "client_reaches_server_through_proxy_v6",
            client_reaches_server_through_proxy_v6,
        ),
        (
            "refusing_destination_resets_client",
            refusing_destination_resets_client,
        ),
        (
            "destination_reset_reaches_client",
            destination_reset_reaches_client,
        ),
    ];
    let skip = if std::env::var_os("CI").is_some() {
        None
    } else {
        missing()
    };
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let skip = skip.clone();
            libtest_mimic::Trial::ignorable_test(name, move || {
                if let Some(why) = skip {
                    return Ok(libtest_mimic::Completion::ignored_with(why));
                }
                match std::thread::spawn(test).join() {
                    Ok(()) => Ok(libtest_mimic::Completion::Completed),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Why these tests cannot run here, or `None`.
fn missing() -> Option<String> {
    std::thread::spawn(|| {
        netns::unshare_net()
            .and_then(|()| netns::open_tun(TUN))
            .and_then(|t| netns::ip(&["link", "set", "dev", t.name(), "up"]))
    })
    .join()
    .expect("probe thread")
    .err()
    .map(|e| format!("needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN), /dev/net/tun and `ip`: {e}"))
}

/// `DEST`'s IPv6 counterpart.
const DEST6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 5, 0, 0, 0, 0, 5));

/// The proxy's side: this thread moves into namespace S with `DEST` and `DEST6` local.
fn enter_server_namespace() {
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
fn wait_local_v6(addr: &str) {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let out = std::process::Command::new("ip")
            .args(["-6", "route", "show", "table", "local", addr])
            .output()
            .unwrap();
        if !out.stdout.trim_ascii().is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{addr} never became local"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Starts the client thread: it moves into a namespace of its own, makes the TUN device
/// there, routes `DEST`'s network into it and hands the device over; then, told to go,
/// runs `client`.
fn spawn_client<T: Send + 'static>(
    client: impl FnOnce() -> T + Send + 'static,
) -> (
    tcp_tokio::tun_tap::Iface,
    mpsc::Sender<()>,
    std::thread::JoinHandle<T>,
) {
    let (dev_tx, dev_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        netns::unshare_net().unwrap();
        let iface = netns::open_tun(TUN).unwrap();
        netns::ip(&["link", "set", "dev", TUN, "mtu", "1500", "up"]).unwrap();
        netns::ip(&["addr", "add", "192.0.2.1/24", "dev", TUN]).unwrap();
        netns::ip(&["route", "add", "198.51.100.0/24", "dev", TUN]).unwrap();
        netns::ip(&["-6", "addr", "add", "2001:db8::1/64", "dev", TUN, "nodad"]).unwrap();
        netns::ip(&["-6", "route", "add", "2001:db8:5::/64", "dev", TUN]).unwrap();
        wait_local_v6("2001:db8::1");
        dev_tx.send(iface).unwrap();
        go_rx.recv_timeout(LIMIT).unwrap();
        client()
    });
    (dev_rx.recv_timeout(LIMIT).unwrap(), go_tx, t)
}

/// Runs the proxy on `iface` while `client` runs (after `go`); returns the client's
/// result and the proxy's totals after a clean shutdown.
fn with_proxy<T: Send + 'static>(
    iface: tcp_tokio::tun_tap::Iface,
    go: mpsc::Sender<()>,
    client: std::thread::JoinHandle<T>,
) -> (T, Totals) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let config = tcp_tokio::tcp_tun::config_for_mtu(1500, true);
        let stack = tcp_tokio::Stack::bind_tun_transparent(iface, &[], config).unwrap();
        let stats = Arc::new(Stats::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let cfg = ProxyConfig {
            stats_interval: Some(Duration::from_millis(200)),
            ..ProxyConfig::default()
        };
        let proxy_stack = stack.clone();
        let proxy = tokio::spawn(async move {
            tun_proxy::run(&proxy_stack, &cfg, stats, async {
                let _ = stop_rx.await;
            })
            .await
        });
        go.send(()).unwrap();
        let out = tokio::time::timeout(
            LIMIT,
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

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn client_reaches_server_through_proxy() {
    through_proxy(DEST);
}

fn client_reaches_server_through_proxy_v6() {
    through_proxy(DEST6);
}

fn through_proxy(dest: IpAddr) {
    const LEN: usize = 3 << 20;
    enter_server_namespace();
    // The server: echoes one connection, then reports what it got.
    let listener = std::net::TcpListener::bind(SocketAddr::new(dest, 8080)).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(&got).unwrap();
        (got.len(), peer)
    });
    let (iface, go, client) = spawn_client(move || {
        let mut s = TcpStream::connect_timeout(&SocketAddr::new(dest, 8080), LIMIT).unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let data = pattern(LEN);
        let mut w = s.try_clone().unwrap();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            w.write_all(&sent).unwrap();
            w.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        got == data
    });
    let (same, totals) = with_proxy(iface, go, client);
    assert!(same, "the client got other bytes back");
    let (server_got, _) = server.join().unwrap();
    assert_eq!(server_got, LEN);
    assert_eq!(totals.flows, 1);
    assert_eq!(totals.refused, 0);
    assert_eq!(totals.bytes_up, LEN as u64);
    assert_eq!(totals.bytes_down, LEN as u64);
}

fn refusing_destination_resets_client() {
    enter_server_namespace();
    // Nothing listens on port 9: the proxy's dial is refused, so the client is reset.
    let (iface, go, client) =
        spawn_client(|| TcpStream::connect_timeout(&SocketAddr::new(DEST, 9), LIMIT).map(drop));
    let (r, totals) = with_proxy(iface, go, client);
    let err = r.expect_err("connect succeeded");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(totals.refused, 1);
    assert_eq!(totals.flows, 0);
}

fn destination_reset_reaches_client() {
    enter_server_namespace();
    let listener = std::net::TcpListener::bind(SocketAddr::new(DEST, 8081)).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut b = [0u8; 5];
        s.read_exact(&mut b).unwrap();
        // Close with SO_LINGER 0: a RST instead of a FIN.
        let sock = socket2::Socket::from(s);
        sock.set_linger(Some(Duration::ZERO)).unwrap();
        drop(sock);
        b
    });
    let (iface, go, client) = spawn_client(|| {
        let mut s = TcpStream::connect_timeout(&SocketAddr::new(DEST, 8081), LIMIT).unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        s.write_all(b"hello").unwrap();
        let mut b = [0u8; 16];
        s.read(&mut b).map_err(|e| e.kind())
    });
    let (r, totals) = with_proxy(iface, go, client);
    assert_eq!(r, Err(std::io::ErrorKind::ConnectionReset));
    assert_eq!(&server.join().unwrap(), b"hello");
    assert_eq!(totals.flows, 1);
}
