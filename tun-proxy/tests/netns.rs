//! `tun-proxy` end to end in private network namespaces (reported as ignored without root):
//! one flow byte-exact over IPv4 and IPv6, a refusing and a resetting destination. The
//! layout is in `common`.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

mod common;
use common::{DEST, DEST6, LIMIT, enter_server_namespace, spawn_client, with_proxy};

fn main() {
    common::run_tests(vec![
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
    ]);
}

fn pattern(len: usize) -> Vec<u8> {
    common::pattern(len, 0)
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
