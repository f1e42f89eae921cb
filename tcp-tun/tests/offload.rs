//! The virtio-net offloads with the Linux kernel as the peer: over a TUN device opened with
//! `IFF_VNET_HDR` and TSO, the kernel's data arrives as super-segments with checksums left
//! to complete, and ours leaves as super-segments the kernel finishes; both directions stay
//! byte-exact, IPv4 and IPv6.

mod common;

use common::{Echo, Flow, KernelFlow};
use std::net::TcpListener;
use tcp_tun::netns::TunNet;

common::tests!(
    kernel_client_echo_through_offloads_ipv4,
    kernel_client_echo_through_offloads_ipv6,
    our_client_both_ways_through_offloads_ipv4,
    our_client_both_ways_through_offloads_ipv6
);

fn kernel_client_echo(v6: bool) {
    const TOTAL: u64 = 20 << 20;
    let layout = TunNet::default();
    let stack = common::setup_offloaded(&layout);
    let addr = common::our_addr(&layout, v6, 7);
    let listener = stack.net().listen_on(addr, 16).unwrap();
    let client = std::thread::spawn(move || {
        let s = common::kernel_connect(addr)?;
        common::kernel_flow(s, 11, TOTAL)
    });
    let mut echo = None;
    common::pump(stack.net(), common::LIMIT, "echo 20 MB", || {
        if echo.is_none() {
            echo = listener.accept().ok().map(|(s, _)| Echo::new(s));
        }
        if let Some(e) = echo.as_mut() {
            e.step().expect("echo");
        }
        client.is_finished()
    });
    let flow: KernelFlow = client.join().unwrap().expect("kernel client");
    let expected = common::expected_hash(11, TOTAL);
    assert_eq!(flow.sent_hash, expected);
    assert_eq!(flow.recv_len, TOTAL, "echoed length");
    assert_eq!(flow.recv_hash, expected, "echoed bytes");
    let st = stack.stats();
    eprintln!("v6={v6} {st:?}");
    assert!(st.gso_in > 0, "the kernel sent super-segments: {st:?}");
    assert!(st.gso_out > 0, "we sent super-segments: {st:?}");
    assert_eq!(stack.net().driver().stats().packets_rejected, 0);
}

fn kernel_client_echo_through_offloads_ipv4() {
    kernel_client_echo(false);
}

fn kernel_client_echo_through_offloads_ipv6() {
    kernel_client_echo(true);
}

fn our_client_bulk(v6: bool, total: u64) {
    let layout = TunNet::default();
    let stack = common::setup_offloaded(&layout);
    let kaddr = common::kernel_addr(&layout, v6, 5001);
    let listener = TcpListener::bind(kaddr).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept()?;
        common::kernel_flow(s, 22, total)
    });
    let stream = stack.connect(kaddr).unwrap();
    let mut flow = Flow::new(stream, 33, total);
    common::pump(stack.net(), common::LIMIT, "bulk both ways", || {
        flow.step().expect("our flow") && server.is_finished()
    });
    let k = server.join().unwrap().expect("kernel server");
    assert_eq!(k.recv_len, total, "kernel received length");
    assert_eq!(
        k.recv_hash,
        common::expected_hash(33, total),
        "kernel received bytes"
    );
    assert_eq!(flow.rx.len(), total, "we received length");
    assert_eq!(flow.rx.finish(), k.sent_hash, "we received bytes");
    let st = stack.stats();
    eprintln!("v6={v6} {st:?}");
    assert!(st.gso_in > 0 && st.gso_out > 0, "{st:?}");
}

fn our_client_both_ways_through_offloads_ipv4() {
    our_client_bulk(false, 50 << 20);
}

fn our_client_both_ways_through_offloads_ipv6() {
    our_client_bulk(true, 50 << 20);
}
