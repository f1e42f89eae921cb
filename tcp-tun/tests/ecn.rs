//! ECN (RFC 3168) negotiated with the real kernel over the TUN device, both ways: the
//! kernel asks (`net.ipv4.tcp_ecn = 1` in the test's namespace) and our passive default
//! agrees; we ask (`EcnMode::On`) and the kernel's default (`tcp_ecn = 2`) agrees. The
//! kernel's `TCP_INFO` shows ECN on and, where we sent data, that it saw ECT-marked
//! packets (`TCPI_OPT_ECN_SEEN`): our data carries ECT(0).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use tcp_tun::TunStack;
use tcp_tun::netns::TunNet;

common::tests!(
    the_kernel_asks_for_ecn_and_our_passive_default_agrees,
    we_ask_for_ecn_and_the_kernels_default_agrees
);

/// `tcpi_options` bits (linux/tcp.h).
const TCPI_OPT_ECN: u8 = 8;
const TCPI_OPT_ECN_SEEN: u8 = 16;

fn ecn_enabled(stack: &TunStack, s: &tcp_mio::TcpStream) -> bool {
    let net = stack.net();
    let driver = net.driver();
    driver
        .endpoint()
        .connection(s.handle())
        .is_ok_and(|c| c.ecn_enabled())
}

fn the_kernel_asks_for_ecn_and_our_passive_default_agrees() {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    std::fs::write("/proc/sys/net/ipv4/tcp_ecn", "1").unwrap();
    let addr = common::our_addr(&layout, false, 7);
    let listener = stack.net().listen_on(addr, 4).unwrap();
    let (mut ours, mut k) = common::accepted_pair(&stack, &listener, addr);
    assert!(ecn_enabled(&stack, &ours), "we agreed to ECN");
    // We send; the kernel reads and sees our ECT(0) marks.
    let data = common::pattern(3, 200_000);
    let (mut off, mut got) = (0, Vec::new());
    common::pump(stack.net(), common::LIMIT, "data to the kernel", || {
        common::write_nb(&mut ours, &data, &mut off).unwrap();
        common::drain_nb(&mut k, &mut got).unwrap();
        got.len() == data.len()
    });
    assert_eq!(got, data);
    let (opts, _, _) = common::kernel_tcp_info(&k);
    assert_ne!(opts & TCPI_OPT_ECN, 0, "the kernel has ECN on");
    assert_ne!(
        opts & TCPI_OPT_ECN_SEEN,
        0,
        "the kernel saw ECT-marked packets"
    );
}

fn we_ask_for_ecn_and_the_kernels_default_agrees() {
    let layout = TunNet::default();
    let link = common::setup_link(&layout);
    let mut config = link.config();
    config.ecn = tcp_core::EcnMode::On;
    let stack = TunStack::with_config(link, config).unwrap();
    let kaddr = common::kernel_addr(&layout, false, 5002);
    let listener = TcpListener::bind(kaddr).unwrap();
    let server = std::thread::spawn(move || -> std::io::Result<(Vec<u8>, u8)> {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(common::LIMIT))?;
        let mut got = vec![0u8; 100_000];
        s.read_exact(&mut got)?;
        s.write_all(b"ok")?;
        let (opts, _, _) = common::kernel_tcp_info(&s);
        Ok((got, opts))
    });
    let mut ours = stack.connect(kaddr).unwrap();
    let data = common::pattern(5, 100_000);
    let (mut off, mut reply) = (0, Vec::new());
    common::pump(stack.net(), common::LIMIT, "data to the kernel", || {
        common::write_nb(&mut ours, &data, &mut off).unwrap();
        common::drain_nb(&mut ours, &mut reply).unwrap();
        reply.len() == 2
    });
    assert!(ecn_enabled(&stack, &ours), "the kernel agreed to ECN");
    let (got, opts) = server.join().unwrap().unwrap();
    assert_eq!(got, data);
    assert_ne!(opts & TCPI_OPT_ECN, 0, "the kernel has ECN on");
    assert_ne!(
        opts & TCPI_OPT_ECN_SEEN,
        0,
        "the kernel saw ECT-marked packets"
    );
}
