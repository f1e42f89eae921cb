//! The smallest interop check: the kernel connects to our listener and we echo a line.

mod common;

use std::io::{Read, Write};
use std::time::Duration;
use tcp_tun::netns::TunNet;

common::tests!(
    kernel_client_says_hello,
    non_tcp_and_foreign_packets_are_ignored_and_counted,
    mss_follows_a_small_mtu
);

fn kernel_client_says_hello() {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    let listener = stack
        .net()
        .listen_on(common::our_addr(&layout, false, 7), 16)
        .unwrap();
    let target = common::our_addr(&layout, false, 7);
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(10))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"hello")?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut got = Vec::new();
        s.read_to_end(&mut got)?;
        std::io::Result::Ok(got)
    });
    let mut echo = None;
    common::pump(stack.net(), common::LIMIT, "echo", || {
        if echo.is_none() {
            echo = listener.accept().ok().map(|(s, _)| common::Echo::new(s));
        }
        if let Some(e) = echo.as_mut() {
            e.step().unwrap();
        }
        client.is_finished()
    });
    let got = client.join().unwrap().unwrap();
    assert_eq!(got, b"hello");
    eprintln!("{:?}", stack.stats());
    // All of it happened in this thread's own namespace, not the process's.
    let ours = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let process = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(
        ours, process,
        "the test thread has a private network namespace"
    );
}

fn non_tcp_and_foreign_packets_are_ignored_and_counted() {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    let udp = std::net::UdpSocket::bind("192.0.2.1:0").unwrap();
    udp.send_to(b"not tcp", "192.0.2.2:9").unwrap();
    udp.send_to(b"not for us", "192.0.2.77:9").unwrap();
    let udp6 = std::net::UdpSocket::bind("[2001:db8::1]:0").unwrap();
    udp6.send_to(b"not tcp", "[2001:db8::2]:9").unwrap();
    common::pump(stack.net(), common::LIMIT, "three packets seen", || {
        let s = stack.stats();
        s.not_tcp >= 2 && s.not_ours >= 1
    });
    let s = stack.stats();
    assert_eq!(s.packets_in, 0, "nothing reached the core");
    assert_eq!(stack.net().driver().stats().packets_in, 0);
}

fn mss_follows_a_small_mtu() {
    let layout = TunNet {
        mtu: 1280,
        ..TunNet::default()
    };
    let stack = common::setup(&layout);
    assert_eq!(stack.mtu(), 1280);
    assert_eq!(stack.net().driver().endpoint().config().mss, 1220);
    let addr = common::our_addr(&layout, false, 7);
    let listener = stack.net().listen_on(addr, 16).unwrap();
    let client = std::thread::spawn(move || {
        let s = common::kernel_connect(addr)?;
        common::kernel_flow(s, 9, 2 << 20)
    });
    let mut echo = None;
    common::pump(stack.net(), common::LIMIT, "echo at MTU 1280", || {
        if echo.is_none() {
            echo = listener.accept().ok().map(|(s, _)| common::Echo::new(s));
        }
        if let Some(e) = echo.as_mut() {
            e.step().unwrap();
        }
        client.is_finished()
    });
    let f = client.join().unwrap().unwrap();
    assert_eq!(f.recv_hash, common::expected_hash(9, 2 << 20));
    assert_eq!(stack.stats().oversize_out, 0, "no packet above the MTU");
}
