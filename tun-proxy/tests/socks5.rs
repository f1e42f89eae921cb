//! `tun-proxy --socks5`: every destination dialled through a SOCKS5 server, a minimal one
//! written here (RFC 1928: no authentication, CONNECT to an IPv4 or IPv6 address), in
//! private namespaces (reported as ignored without root). The layout is in `common`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::{Arc, mpsc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tun_proxy::{ProxyConfig, Stats};

mod common;
use common::{
    DEST, DEST6, Ended, LIMIT, echo_server, enter_server_namespace, pattern, spawn_client,
    with_proxy_config,
};

fn main() {
    common::run_tests(vec![
        ("through_socks5_v4", through_socks5_v4),
        ("through_socks5_v6", through_socks5_v6),
        ("socks5_refusal_resets_client", socks5_refusal_resets_client),
    ]);
}

/// A SOCKS5 server on 127.0.0.1 (a port of its own) in the calling thread's namespace,
/// in a thread with its own runtime; each CONNECT's target is sent on the channel. A
/// target that cannot be reached gets reply 5 (connection refused).
fn socks5_server() -> (SocketAddr, mpsc::Receiver<SocketAddr>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((s, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = serve_socks5(s, tx).await;
                });
            }
        });
    });
    (addr, rx)
}

async fn serve_socks5(
    mut s: tokio::net::TcpStream,
    targets: mpsc::Sender<SocketAddr>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    assert_eq!(head[0], 5, "version");
    let mut methods = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut methods).await?;
    assert!(methods.contains(&0), "no-auth offered");
    s.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await?;
    assert_eq!(req[..3], [5, 1, 0], "CONNECT");
    let ip = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await?;
            IpAddr::V4(Ipv4Addr::from(a))
        }
        4 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await?;
            IpAddr::V6(Ipv6Addr::from(a))
        }
        t => panic!("address type {t}"),
    };
    let port = s.read_u16().await?;
    let target = SocketAddr::new(ip, port);
    let _ = targets.send(target);
    match tokio::net::TcpStream::connect(target).await {
        Ok(mut up) => {
            s.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            tokio::io::copy_bidirectional(&mut s, &mut up).await?;
        }
        Err(_) => s.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?,
    }
    Ok(())
}

fn through_socks5_v4() {
    through_socks5(DEST);
}

fn through_socks5_v6() {
    through_socks5(DEST6);
}

/// 1 MiB each way byte-exact through the proxy and the SOCKS5 server, which was asked
/// for the client's original destination.
fn through_socks5(dest: IpAddr) {
    const LEN: usize = 1 << 20;
    enter_server_namespace();
    let ends = echo_server(SocketAddr::new(dest, 8080));
    let (server, targets) = socks5_server();
    let (iface, go, client) = spawn_client(move || {
        let mut s = TcpStream::connect_timeout(&SocketAddr::new(dest, 8080), LIMIT).unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let data = pattern(LEN, 3);
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
    let cfg = ProxyConfig {
        socks5: Some(server),
        ..ProxyConfig::default()
    };
    let (same, totals) = with_proxy_config(iface, go, client, cfg, Arc::new(Stats::default()));
    assert!(same, "the client got other bytes back");
    assert_eq!(
        targets.recv_timeout(LIMIT).unwrap(),
        SocketAddr::new(dest, 8080)
    );
    assert_eq!(ends.recv_timeout(LIMIT).unwrap(), Ended::Eof(LEN));
    assert_eq!(totals.flows, 1);
    assert_eq!(totals.bytes_up, LEN as u64);
    assert_eq!(totals.bytes_down, LEN as u64);
}

/// The SOCKS5 server cannot reach the destination (reply 5): the client is refused.
fn socks5_refusal_resets_client() {
    enter_server_namespace();
    let (server, targets) = socks5_server();
    let (iface, go, client) =
        spawn_client(|| TcpStream::connect_timeout(&SocketAddr::new(DEST, 9), LIMIT).map(drop));
    let cfg = ProxyConfig {
        socks5: Some(server),
        ..ProxyConfig::default()
    };
    let (r, totals) = with_proxy_config(iface, go, client, cfg, Arc::new(Stats::default()));
    let err = r.expect_err("connect succeeded");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(
        targets.recv_timeout(LIMIT).unwrap(),
        SocketAddr::new(DEST, 9)
    );
    assert_eq!(totals.refused, 1);
    assert_eq!(totals.flows, 0);
}
