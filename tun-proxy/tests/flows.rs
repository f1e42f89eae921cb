//! `tun-proxy` under load and failure, in private network namespaces (reported as ignored
//! without root): many parallel flows byte-exact, a client that resets mid-transfer, the
//! idle timeout. The layout is in `common`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tun_proxy::{ProxyConfig, Stats};

mod common;
use common::{
    DEST, Ended, LIMIT, echo_server, enter_server_namespace, pattern, spawn_client, wait_until,
    with_proxy_config,
};

fn main() {
    common::run_tests(vec![
        ("parallel_flows_byte_exact", parallel_flows_byte_exact),
        ("client_reset_closes_upstream", client_reset_closes_upstream),
        ("idle_flows_time_out", idle_flows_time_out),
    ]);
}

/// 50 flows at once, 1 MiB each way each, every byte checked.
fn parallel_flows_byte_exact() {
    const FLOWS: usize = 50;
    const LEN: usize = 1 << 20;
    enter_server_namespace();
    let ends = echo_server(SocketAddr::new(DEST, 8080));
    let (iface, go, client) = spawn_client(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for seed in 0..FLOWS {
                set.spawn(async move {
                    let s = tokio::net::TcpStream::connect(SocketAddr::new(DEST, 8080))
                        .await
                        .unwrap();
                    let (mut r, mut w) = s.into_split();
                    let data = pattern(LEN, seed);
                    let sent = data.clone();
                    let writer = tokio::spawn(async move {
                        w.write_all(&sent).await.unwrap();
                        w.shutdown().await.unwrap();
                    });
                    let mut got = Vec::with_capacity(LEN);
                    r.read_to_end(&mut got).await.unwrap();
                    writer.await.unwrap();
                    got == data
                });
            }
            let mut same = 0;
            while let Some(r) = tokio::time::timeout(LIMIT, set.join_next())
                .await
                .expect("flows within the limit")
            {
                same += usize::from(r.unwrap());
            }
            same
        })
    });
    let cfg = ProxyConfig::default();
    let (same, totals) = with_proxy_config(iface, go, client, cfg, Arc::new(Stats::default()));
    assert_eq!(same, FLOWS, "flows that got their own bytes back");
    for _ in 0..FLOWS {
        assert_eq!(ends.recv_timeout(LIMIT).unwrap(), Ended::Eof(LEN));
    }
    assert_eq!(totals.flows, FLOWS as u64);
    assert_eq!(totals.active, 0);
    assert_eq!(totals.bytes_up, (FLOWS * LEN) as u64);
    assert_eq!(totals.bytes_down, (FLOWS * LEN) as u64);
}

/// A client that resets mid-transfer: the proxy resets the destination's connection and
/// forgets the flow.
fn client_reset_closes_upstream() {
    enter_server_namespace();
    let ends = echo_server(SocketAddr::new(DEST, 8080));
    let stats = Arc::new(Stats::default());
    let watch = stats.clone();
    let (iface, go, client) = spawn_client(move || {
        let mut s = TcpStream::connect_timeout(&SocketAddr::new(DEST, 8080), LIMIT).unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let data = pattern(256 * 1024, 1);
        s.write_all(&data).unwrap();
        // Part of the echo is back: the flow is mid-transfer.
        let mut got = vec![0u8; 64 * 1024];
        s.read_exact(&mut got).unwrap();
        assert_eq!(got, data[..got.len()]);
        assert_eq!(watch.totals().active, 1);
        // Close with SO_LINGER 0: a RST with the rest unread.
        let sock = socket2::Socket::from(s);
        sock.set_linger(Some(Duration::ZERO)).unwrap();
        drop(sock);
        wait_until("the proxy to drop the flow", || watch.totals().active == 0);
    });
    let cfg = ProxyConfig::default();
    let ((), totals) = with_proxy_config(iface, go, client, cfg, stats);
    match ends.recv_timeout(LIMIT).unwrap() {
        // A read finds the RST (ConnectionReset), or a write of the echo does (BrokenPipe).
        Ended::Failed(_, kind) => assert!(
            matches!(
                kind,
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{kind:?}"
        ),
        Ended::Eof(n) => assert!(n < 256 * 1024 * 2, "{n}"),
    }
    assert_eq!(totals.flows, 1);
    assert_eq!(totals.active, 0);
}

/// With `idle_timeout`, a flow without a byte either way for that long is closed both
/// ways (the client and the destination see a FIN); a flow with a byte now and then
/// stays open.
fn idle_flows_time_out() {
    const IDLE: Duration = Duration::from_millis(500);
    enter_server_namespace();
    let ends = echo_server(SocketAddr::new(DEST, 8080));
    let stats = Arc::new(Stats::default());
    let watch = stats.clone();
    let (iface, go, client) = spawn_client(move || {
        let dest = SocketAddr::new(DEST, 8080);
        let mut idle = TcpStream::connect_timeout(&dest, LIMIT).unwrap();
        let mut busy = TcpStream::connect_timeout(&dest, LIMIT).unwrap();
        for s in [&mut idle, &mut busy] {
            s.set_read_timeout(Some(LIMIT)).unwrap();
            s.write_all(b"hi").unwrap();
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
        }
        let quiet_from = Instant::now();
        // The busy flow echoes a byte every 150 ms for three timeouts.
        while quiet_from.elapsed() < IDLE * 3 {
            std::thread::sleep(Duration::from_millis(150));
            busy.write_all(b"x").unwrap();
            let mut b = [0u8; 1];
            busy.read_exact(&mut b).unwrap();
        }
        // The idle one was closed meanwhile: its read finds the FIN.
        let mut b = [0u8; 1];
        assert_eq!(idle.read(&mut b).unwrap(), 0, "the idle flow's FIN");
        assert_eq!(watch.totals().active, 1, "the busy flow is still open");
        busy.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(busy.read(&mut b).unwrap(), 0);
        let idle_closed = quiet_from.elapsed();
        wait_until("both flows gone", || watch.totals().active == 0);
        idle_closed
    });
    let cfg = ProxyConfig {
        idle_timeout: Some(IDLE),
        ..ProxyConfig::default()
    };
    let (_, totals) = with_proxy_config(iface, go, client, cfg, stats);
    let mut got = [
        ends.recv_timeout(LIMIT).unwrap(),
        ends.recv_timeout(LIMIT).unwrap(),
    ];
    got.sort_by_key(|e| match e {
        Ended::Eof(n) | Ended::Failed(n, _) => *n,
    });
    // The idle flow's destination saw a FIN after its 2 bytes; the busy one's after more.
    assert_eq!(got[0], Ended::Eof(2));
    assert!(matches!(got[1], Ended::Eof(n) if n > 2), "{got:?}");
    assert_eq!(totals.flows, 2);
}
