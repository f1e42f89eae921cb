//! The TUN link with the Linux kernel as the peer, in a private network namespace: a kernel
//! client to our listener and our client to a kernel listener, byte-exact; over a plain
//! device and over one with the virtio-net offloads (super-segments both ways).

mod common;
mod netns;

use common::{LIMIT, pattern};
use std::io::{Read, Write};
use std::net::SocketAddr;
use tcp_tokio::Stack;
use tcp_tokio::tcp_tun::netns::TunNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    netns::run(&[
        (
            "kernel_client_to_our_listener",
            kernel_client_to_our_listener,
        ),
        (
            "kernel_client_to_our_listener_v6",
            kernel_client_to_our_listener_v6,
        ),
        (
            "our_client_to_kernel_listener",
            our_client_to_kernel_listener,
        ),
        (
            "kernel_client_to_our_listener_through_offloads",
            kernel_client_to_our_listener_through_offloads,
        ),
        (
            "kernel_client_to_our_listener_through_offloads_v6",
            kernel_client_to_our_listener_through_offloads_v6,
        ),
        (
            "our_client_to_kernel_listener_through_offloads",
            our_client_to_kernel_listener_through_offloads,
        ),
    ]);
}

/// The device a test runs over.
fn enter(layout: &TunNet, offloaded: bool) -> tcp_tokio::TunDevice {
    if offloaded {
        netns::enter_offloaded(layout).into()
    } else {
        netns::enter(layout).into()
    }
}

/// Over an offloading device, super-segments went both ways.
fn check_offloads(stack: &Stack, offloaded: bool) {
    let st = stack.tun_stats().unwrap();
    if offloaded {
        assert!(st.gso_in > 0 && st.gso_out > 0, "{st:?}");
    } else {
        assert_eq!((st.gso_in, st.gso_out), (0, 0), "{st:?}");
    }
}

const LEN: usize = 2 << 20;

fn kernel_client_to_our_listener() {
    kernel_client(false, false);
}

fn kernel_client_to_our_listener_v6() {
    kernel_client(true, false);
}

fn kernel_client_to_our_listener_through_offloads() {
    kernel_client(false, true);
}

fn kernel_client_to_our_listener_through_offloads_v6() {
    kernel_client(true, true);
}

fn our_client_to_kernel_listener() {
    our_client(false);
}

fn our_client_to_kernel_listener_through_offloads() {
    our_client(true);
}

fn kernel_client(v6: bool, offloaded: bool) {
    let layout = TunNet::default();
    let iface = enter(&layout, offloaded);
    let ours = if v6 {
        SocketAddr::new(layout.ours_v6.into(), 80)
    } else {
        SocketAddr::new(layout.ours_v4.into(), 80)
    };
    netns::runtime().block_on(async move {
        let config = tcp_tokio::tcp_tun::config_for_mtu(layout.mtu, true);
        let stack = Stack::bind_tun(iface, &layout.ours(), config).unwrap();
        let listener = stack.listen(ours, 16).unwrap();
        let data = pattern(3, LEN);
        let sent = data.clone();
        // The kernel side, blocking, on a thread started in this namespace.
        let kernel = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect_timeout(&ours, LIMIT).unwrap();
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let mut r = s.try_clone().unwrap();
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                r.read_to_end(&mut got).unwrap();
                got
            });
            s.write_all(&sent).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            reader.join().unwrap()
        });
        let (s, peer) = common::bounded("accept", listener.accept()).await.unwrap();
        let kernel_ip: std::net::IpAddr = if v6 {
            layout.kernel_v6.unwrap().into()
        } else {
            layout.kernel_v4.into()
        };
        assert_eq!(peer.ip(), kernel_ip);
        let (mut r, mut w) = s.into_split();
        common::bounded("echo", tokio::io::copy(&mut r, &mut w))
            .await
            .unwrap();
        w.shutdown().await.unwrap();
        let got = tokio::task::spawn_blocking(move || kernel.join().unwrap())
            .await
            .unwrap();
        assert_eq!(got.len(), LEN);
        assert!(got == data, "bytes differ");
        assert!(stack.tun_stats().unwrap().packets_in > 0);
        check_offloads(&stack, offloaded);
        drop((r, w));
    });
}

fn our_client(offloaded: bool) {
    let layout = TunNet::default();
    let iface = enter(&layout, offloaded);
    let kernel = SocketAddr::new(layout.kernel_v4.into(), 7);
    let l = std::net::TcpListener::bind(kernel).unwrap();
    let data = pattern(4, LEN);
    let expect = data.clone();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(&got).unwrap();
        got == expect
    });
    netns::runtime().block_on(async move {
        let config = tcp_tokio::tcp_tun::config_for_mtu(layout.mtu, true);
        let stack = Stack::bind_tun(iface, &layout.ours(), config).unwrap();
        let mut s = common::bounded("connect", stack.connect(kernel))
            .await
            .unwrap();
        assert_eq!(
            s.local_addr().unwrap().ip(),
            std::net::IpAddr::from(layout.ours_v4)
        );
        s.write_all(&data).await.unwrap();
        s.shutdown().await.unwrap();
        let mut got = Vec::new();
        common::bounded("read echo", s.read_to_end(&mut got))
            .await
            .unwrap();
        assert!(got == data, "bytes differ");
        let ok = tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
        assert!(ok, "the kernel received other bytes");
        check_offloads(&stack, offloaded);
    });
}
