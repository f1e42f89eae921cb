//! Path MTU discovery against the real kernel (RFC 1191): our stack sends through the TUN
//! device to a kernel server in a second namespace, with the kernel of the first
//! namespace forwarding between the TUN device and a veth pair. Mid-transfer the veth's
//! MTU falls to 1280: the forwarding kernel drops our full-sized packets (they carry DF)
//! and answers each with a real ICMP fragmentation needed, which the TUN adapter hands to
//! the core. The transfer completes, every byte intact, at the lowered MSS.

mod common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::mpsc;
use tcp_testkit::check::StreamHash;
use tcp_tun::netns::{self, TunNet};

common::tests!(a_kernel_routers_fragmentation_needed_lowers_our_mss_mid_transfer);

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
const ROUTER: &str = "10.9.0.1/24";

fn a_kernel_routers_fragmentation_needed_lowers_our_mss_mid_transfer() {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    // The server: a thread in a namespace of its own, behind the veth pair.
    let (tid_tx, tid_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel();
    let server = std::thread::spawn(move || -> io::Result<(u64, u64)> {
        netns::unshare_net()?;
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        tid_tx.send(tid).map_err(io::Error::other)?;
        go_rx.recv().map_err(io::Error::other)?;
        netns::ip(&["addr", "add", "10.9.0.2/24", "dev", "pmtub"])?;
        netns::ip(&["link", "set", "pmtub", "up"])?;
        netns::ip(&["route", "add", "default", "via", "10.9.0.1"])?;
        let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(SERVER), 5001))?;
        ready_tx.send(()).map_err(io::Error::other)?;
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(common::LIMIT))?;
        common::read_stream(&mut s)
    });
    let tid = tid_rx.recv().expect("server thread");
    netns::ip(&[
        "link", "add", "pmtua", "type", "veth", "peer", "name", "pmtub",
    ])
    .unwrap();
    netns::ip(&["link", "set", "pmtub", "netns", &tid.to_string()]).unwrap();
    netns::ip(&["addr", "add", ROUTER, "dev", "pmtua"]).unwrap();
    netns::ip(&["link", "set", "pmtua", "up"]).unwrap();
    // This thread's namespace routes between the TUN device and the veth.
    // (/proc/sys/net is the namespace of the thread that opens it.)
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
    go_tx.send(()).unwrap();
    ready_rx.recv().expect("server ready");

    let total = 8usize << 20;
    let data = common::pattern(7, total);
    let mut stream = stack
        .connect(SocketAddr::new(IpAddr::V4(SERVER), 5001))
        .unwrap();
    let mut off = 0;
    let mut lowered = false;
    let mut shut = false;
    common::pump(
        stack.net(),
        common::LIMIT,
        "transfer through the router",
        || {
            if !lowered && off >= total / 4 {
                netns::ip(&["link", "set", "pmtua", "mtu", "1280"]).unwrap();
                lowered = true;
            }
            if common::write_nb(&mut stream, &data, &mut off).expect("write") && !shut {
                stream.shutdown().expect("shutdown");
                shut = true;
            }
            server.is_finished()
        },
    );
    let info = stream.info().expect("our connection");
    let (len, hash) = server.join().unwrap().expect("kernel server");
    let mut expected = StreamHash::new();
    expected.update(&data);
    assert_eq!(len, total as u64, "the server received every byte");
    assert_eq!(hash, expected.finish(), "and the right ones");
    let net = stack.net();
    let driver = net.driver();
    let ep = driver.endpoint().stats();
    eprintln!("{ep:?}\n{:?}", stack.stats());
    assert!(ep.icmp_in >= 1, "the kernel's ICMP reached the core");
    assert_eq!(ep.pmtu_learned, 1, "the path MTU was learnt once");
    assert_eq!(info.path_mtu, Some(1280), "{info:?}");
    assert_eq!(info.snd_mss, 1280 - 40);
    assert_eq!(info.stats.rtos, 0, "repaired without a timeout");
}
