//! Every way a connection ends, as seen through the stream API over real UDP sockets.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;
use tcp_core::Config;
use tcp_mio::{Net, TcpStream};

/// A connected pair in one thread: (client net, server net, client stream, server stream).
fn connected(port: u16) -> (Net, Net, TcpStream, TcpStream) {
    let server = stack(Config::default());
    let client = stack(Config::default());
    let listener = server.listen(port, 8).unwrap();
    let c = client.connect(server.udp_addr().unwrap(), port).unwrap();
    let s = accept_one(&[&client, &server], &listener);
    pump(&[&client, &server], || c.is_connected());
    (client, server, c, s)
}

/// Reads until `want` bytes arrived or the read fails; returns the data and the final
/// result (Ok(0) for end-of-stream).
fn read_until(nets: &[&Net], s: &mut TcpStream, want: usize) -> (Vec<u8>, std::io::Result<usize>) {
    let mut got = Vec::new();
    let mut last = None;
    pump(nets, || {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) => {
                    last = Some(Ok(0));
                    return true;
                }
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.len() >= want && want > 0 {
                        last = Some(Ok(n));
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) => {
                    last = Some(Err(e));
                    return true;
                }
            }
        }
    });
    (got, last.unwrap())
}

#[test]
fn read_returns_end_of_stream_after_the_peers_shutdown() {
    let (cn, sn, mut c, mut s) = connected(7001);
    c.write_all(b"hello").unwrap();
    c.shutdown().unwrap();
    let (got, end) = read_until(&[&cn, &sn], &mut s, 0);
    assert_eq!(got, b"hello");
    assert_eq!(end.unwrap(), 0);
    // End-of-stream is sticky, and the other direction still works.
    assert_eq!(s.read(&mut [0u8; 8]).unwrap(), 0);
    s.write_all(b"still open").unwrap();
    let (got, _) = read_until(&[&cn, &sn], &mut c, 10);
    assert_eq!(got, b"still open");
}

#[test]
fn write_after_own_shutdown_fails_with_broken_pipe() {
    let (_cn, _sn, mut c, _s) = connected(7002);
    c.shutdown().unwrap();
    let e = c.write(b"late").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
}

#[test]
fn peer_abort_makes_reads_and_writes_fail_with_connection_reset() {
    let (cn, sn, c, mut s) = connected(7003);
    c.abort().unwrap();
    let (_, end) = read_until(&[&cn, &sn], &mut s, 0);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);
    assert_eq!(
        s.write(b"x").unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
    assert_eq!(
        s.take_error().unwrap().map(|e| e.kind()),
        Some(ErrorKind::ConnectionReset)
    );
}

#[test]
fn dropping_a_stream_delivers_its_data_then_end_of_stream() {
    let (cn, sn, mut c, mut s) = connected(7004);
    let data = vec![0x5a; 300_000];
    let mut off = 0;
    pump(&[&cn, &sn], || {
        match c.write(&data[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        off == data.len()
    });
    drop(c);
    let (got, end) = read_until(&[&cn, &sn], &mut s, 0);
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert_eq!(end.unwrap(), 0);
}

#[test]
fn connecting_to_a_port_without_listener_is_refused() {
    let server = stack(Config::default());
    let client = stack(Config::default());
    let mut c = client.connect(server.udp_addr().unwrap(), 7999).unwrap();
    let (_, end) = read_until(&[&client, &server], &mut c, 0);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn connecting_to_a_silent_peer_times_out() {
    // A UDP socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = stack({
        let mut config: Config = Config::default();
        config.syn_retries = 1;
        config.initial_rto = Duration::from_millis(50);
        config
    });
    let mut c = client.connect(silent.local_addr().unwrap(), 80).unwrap();
    let (_, end) = read_until(&[&client], &mut c, 0);
    assert_eq!(end.unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn a_closed_or_aborted_handle_is_not_connected() {
    let (cn, _sn, c, _s) = connected(7005);
    let h = c.handle();
    c.close().unwrap();
    let mut d = cn.driver();
    assert_eq!(
        d.read(h, &mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    assert_eq!(
        d.write(h, b"x").unwrap_err().kind(),
        ErrorKind::NotConnected
    );
}

#[test]
fn reads_before_data_arrives_would_block_and_addresses_match_on_both_sides() {
    let (_cn, _sn, mut c, s) = connected(7006);
    assert_eq!(
        c.read(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(c.peer_addr().unwrap(), s.local_addr().unwrap());
    assert_eq!(c.local_addr().unwrap(), s.peer_addr().unwrap());
    assert_eq!(s.local_addr().unwrap().port(), 7006);
}

#[test]
fn listening_twice_on_one_port_fails_with_addr_in_use() {
    let net = stack(Config::default());
    let _l = net.listen(7007, 8).unwrap();
    assert_eq!(
        net.listen(7007, 8).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
}

#[test]
fn data_written_and_shut_down_during_the_handshake_arrives_before_end_of_stream() {
    let server = stack(Config::default());
    let client = stack(Config::default());
    let listener = server.listen(7008, 8).unwrap();
    let mut c = client.connect(server.udp_addr().unwrap(), 7008).unwrap();
    c.write_all(b"early bird").unwrap();
    c.shutdown().unwrap();
    assert_eq!(c.write(b"more").unwrap_err().kind(), ErrorKind::BrokenPipe);
    let mut s = accept_one(&[&client, &server], &listener);
    let (got, end) = read_until(&[&client, &server], &mut s, 0);
    assert_eq!(got, b"early bird");
    assert_eq!(end.unwrap(), 0);
}

#[test]
fn connect_by_tcp_address_uses_the_default_udp_peer_for_that_ip() {
    use std::net::SocketAddr;
    use tcp_mio::{Driver, UdpLink};
    let server = stack(Config::default());
    let listener = server.listen(7009, 8).unwrap();
    let server_udp = server.udp_addr().unwrap();
    let mut link = UdpLink::bind(loopback()).unwrap();
    link.add_peer(server_udp);
    let mut driver = Driver::new(Config::default()).unwrap();
    driver.add_link(link);
    let client = Net::from_driver(driver).unwrap();
    let h = client
        .driver()
        .connect(SocketAddr::new(server_udp.ip(), 7009))
        .unwrap();
    let mut c = client.stream(h);
    c.write_all(b"via default peer").unwrap();
    c.shutdown().unwrap();
    let mut s = accept_one(&[&client, &server], &listener);
    let (got, end) = read_until(&[&client, &server], &mut s, 0);
    assert_eq!(got, b"via default peer");
    assert_eq!(end.unwrap(), 0);
}
