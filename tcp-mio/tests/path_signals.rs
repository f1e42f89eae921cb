//! What the network says besides loss, carried by the kernel's UDP stack to the core
//! through the UDP link: ECN codepoints, ICMP errors about our datagrams, and the path
//! MTU (a send the kernel refuses with `EMSGSIZE`).

mod common;

use common::*;
use std::io::ErrorKind;
use tcp_core::{Config, EcnMode};
use tcp_mio::{Driver, Net, TcpStream, UdpLink};
use tcp_testkit::lossy::{Impairment, LossyLink};

/// A connected pair in one thread: (client net, server net, client stream, server
/// stream).
fn connected(client_cfg: Config, port: u16) -> (Net, Net, TcpStream, TcpStream) {
    let server = stack(Config::default());
    let client = stack(client_cfg);
    let listener = server.listen(port, 8).unwrap();
    let c = client.connect(server.udp_addr().unwrap(), port).unwrap();
    let s = accept_one(&[&client, &server], &listener);
    pump(&[&client, &server], || c.is_connected());
    (client, server, c, s)
}

/// Both directions at once: the client sends `up` seeded bytes, the server `down`, each
/// then shuts down. Returns the two flows once each side read the other's bytes up to
/// end-of-stream, after checking them.
fn exchange(nets: &[&Net], c: TcpStream, s: TcpStream, up: u64, down: u64) -> (Flow, Flow) {
    let (mut fc, mut fs) = (Flow::new(c, 1, up), Flow::new(s, 2, down));
    let (mut dc, mut ds) = (false, false);
    pump(nets, || {
        dc = dc || fc.step().expect("client flow");
        ds = ds || fs.step().expect("server flow");
        dc && ds
    });
    assert_eq!(
        fs.rx.finish(),
        expected_hash(1, up),
        "client to server intact"
    );
    assert_eq!(
        fc.rx.finish(),
        expected_hash(2, down),
        "server to client intact"
    );
    (fc, fs)
}

/// Connects `client` to a UDP port nobody listens on and returns the error the
/// connection ends with.
fn connect_to_a_closed_port(client: &Net) -> std::io::Error {
    // The kernel answers our SYN's datagram with ICMP port unreachable, which reaches the
    // connection in SYN-SENT (RFC 1122 §4.2.3.9; Linux aborts with ECONNREFUSED) instead
    // of a minute of SYN retransmissions.
    let gone = std::net::UdpSocket::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap();
    let h = client.driver().connect_udp(gone, 80).unwrap();
    let s = client.stream(h);
    let mut err = None;
    pump(&[client], || {
        err = s.take_error().expect("the connection's error");
        err.is_some()
    });
    err.expect("an error")
}

#[test]
fn connecting_to_a_closed_udp_port_fails_at_once_with_connection_refused() {
    let client = stack(Config::default());
    assert_eq!(
        connect_to_a_closed_port(&client).kind(),
        ErrorKind::ConnectionRefused
    );
    let d = client.driver();
    assert_eq!(d.stats().packets_out, 1, "one SYN, no retransmission");
    assert_eq!(d.stats().icmp_errors, 1);
    assert_eq!(d.endpoint().stats().icmp_in, 1);
}

#[test]
fn icmp_errors_pass_through_a_lossy_link() {
    let mut d = Driver::new(Config::default()).unwrap();
    let inner = UdpLink::bind(loopback()).unwrap();
    d.add_link(LossyLink::new(
        inner,
        Impairment {
            seed: 1,
            drop: 0.0,
            reorder: 0.0,
            send_drop: 0.0,
        },
    ));
    let client = Net::from_driver(d).unwrap();
    assert_eq!(
        connect_to_a_closed_port(&client).kind(),
        ErrorKind::ConnectionRefused
    );
    assert_eq!(client.driver().stats().icmp_errors, 1);
}

#[test]
fn ecn_negotiated_over_udp_marks_the_data_of_both_sides() {
    // The client asks for ECN (tcp_ecn = 1); the server accepts it (Linux's default).
    let cfg = {
        let mut config: Config = Config::default();
        config.ecn = EcnMode::On;
        config
    };
    let (client, server, c, s) = connected(cfg, 7);
    let (fc, fs) = exchange(&[&client, &server], c, s, 200_000, 50_000);
    let (ci, si) = (fc.stream.info().unwrap(), fs.stream.info().unwrap());
    assert!(ci.ecn && si.ecn, "negotiated on both sides");
    // Each side's data arrived ECT-marked: the IP field crossed the UDP sockets.
    assert!(si.ecn_seen && ci.ecn_seen);
    assert_eq!(si.stats.ce_received, 0, "loopback marks nothing");
}

/// Enters a private network namespace (this thread) whose loopback has MTU `mtu`; false
/// (with a loud message) where that is impossible, unless `CI` is set, where it panics.
fn private_loopback(mtu: u32) -> bool {
    // SAFETY: unshare takes flags only; CLONE_NEWNET affects only the calling thread.
    let ok = unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0
        && std::process::Command::new("ip")
            .args(["link", "set", "lo", "mtu", &mtu.to_string(), "up"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let msg = "\n*** path MTU test SKIPPED: needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and \
                   `ip` to make a network namespace\n";
        assert!(
            std::env::var_os("CI").is_none(),
            "{msg}*** CI is set: this is a failure, not a skip"
        );
        eprintln!("{msg}");
    }
    ok
}

#[test]
fn a_path_mtu_below_the_segment_size_lowers_the_mss_without_a_timeout() {
    if !private_loopback(1400) {
        return;
    }
    // Both sides offer an MSS of 1460 (the default); datagrams of a full segment
    // (1460 + 32 bytes of TCP header + 8 of UDP + 20 of IP) exceed the loopback's 1400
    // bytes, and the kernel refuses them with EMSGSIZE and the MTU. The link hands the
    // core a packet too big for IP + TCP = 1400 - 8 (the UDP header) bytes.
    let (client, server, c, s) = connected(Config::default(), 9);
    let (fc, _fs) = exchange(&[&client, &server], c, s, 1 << 20, 1000);
    let ci = fc.stream.info().unwrap();
    eprintln!(
        "path MTU {:?}, MSS {}, {} reductions, {} resent at the new size, {} RTOs, {} ICMP errors from the link",
        ci.path_mtu,
        ci.snd_mss,
        ci.stats.pmtu_reductions,
        ci.stats.pmtu_retransmits,
        ci.stats.rtos,
        client.driver().stats().icmp_errors
    );
    assert_eq!(ci.path_mtu, Some(1392));
    assert!(ci.snd_mss <= 1392 - 40, "snd_mss {}", ci.snd_mss);
    assert!(ci.stats.pmtu_reductions >= 1);
    assert_eq!(ci.stats.rtos, 0, "resent at once, not after a timeout");
    assert!(client.driver().stats().icmp_errors >= 1);
}
