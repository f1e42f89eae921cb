//! Test 5: seeded loss (1 % and 5 %) and reordering injected between the TUN device and the
//! core, in both directions; transfers with the kernel stay byte-exact both ways. Also with
//! the virtio-net offloads on: the kernel's super-segments are cut into wire segments
//! before the impairment and ours are impaired segment by segment before they are joined,
//! so loss hits segments as on a wire, never a 64 KiB super-packet.

mod common;

use common::{Echo, Flow};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use tcp_testkit::impair::{FaultStats, Faults, Impaired};
use tcp_tun::TunStack;
use tcp_tun::netns::TunNet;

common::tests!(
    echo_1pct_loss_and_reordering,
    echo_5pct_loss_and_reordering,
    bulk_both_ways_1pct_loss_and_reordering_ipv6,
    bulk_both_ways_5pct_loss_and_reordering_ipv6,
    echo_5pct_loss_and_reordering_with_offloads,
    bulk_both_ways_5pct_loss_and_reordering_with_offloads_ipv6
);

fn lossy_stack(layout: &TunNet, faults: Faults) -> (TunStack, impl Fn() -> String) {
    let link = common::setup_link(layout);
    let (stats, mtu, config) = (link.stats(), link.mtu(), link.config());
    let imp = Impaired::new(link, faults);
    let fstats = imp.stats();
    let stack = TunStack::with_link(imp, stats, mtu, config).unwrap();
    (stack, move || format!("{:?}", *fstats.lock().unwrap()))
}

/// The kernel sends `total` bytes to our listener, which echoes them back.
fn echo_under_faults(faults: Faults, total: u64) {
    let layout = TunNet::default();
    let (stack, fstats) = lossy_stack(&layout, faults);
    let addr = common::our_addr(&layout, false, 7);
    let listener = stack.net().listen_on(addr, 16).unwrap();
    let client = std::thread::spawn(move || {
        let s = common::kernel_connect(addr)?;
        common::kernel_flow(s, faults.seed, total)
    });
    let mut echo = None;
    common::pump(stack.net(), common::LIMIT, "echo under faults", || {
        if echo.is_none() {
            echo = listener.accept().ok().map(|(s, _)| Echo::new(s));
        }
        if let Some(e) = echo.as_mut() {
            e.step().expect("echo");
        }
        client.is_finished()
    });
    let flow = client.join().unwrap().expect("kernel client");
    eprintln!("echo {faults:?}: {}", fstats());
    assert_eq!(flow.recv_len, total);
    assert_eq!(flow.recv_hash, common::expected_hash(faults.seed, total));
}

/// Our client and a kernel listener exchange `total` bytes each way.
fn bulk_under_faults(faults: Faults, total: u64) {
    let layout = TunNet::default();
    let (stack, fstats) = lossy_stack(&layout, faults);
    let kaddr = common::kernel_addr(&layout, true, 5001);
    let listener = TcpListener::bind(kaddr).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept()?;
        common::kernel_flow(s, 1000 + faults.seed, total)
    });
    let mut flow = Flow::new(stack.connect(kaddr).unwrap(), 2000 + faults.seed, total);
    common::pump(stack.net(), common::LIMIT, "bulk under faults", || {
        flow.step().expect("our flow") && server.is_finished()
    });
    let k = server.join().unwrap().expect("kernel server");
    eprintln!("bulk {faults:?}: {}", fstats());
    assert_eq!(k.recv_len, total);
    assert_eq!(
        k.recv_hash,
        common::expected_hash(2000 + faults.seed, total)
    );
    assert_eq!(flow.rx.len(), total);
    assert_eq!(
        flow.rx.finish(),
        common::expected_hash(1000 + faults.seed, total)
    );
}

const ONE: Faults = Faults {
    seed: 1,
    loss: 0.01,
    reorder: 0.01,
};
const FIVE: Faults = Faults {
    seed: 5,
    loss: 0.05,
    reorder: 0.03,
};

fn echo_1pct_loss_and_reordering() {
    echo_under_faults(ONE, 4 << 20);
}

fn echo_5pct_loss_and_reordering() {
    echo_under_faults(FIVE, 1 << 20);
}

fn bulk_both_ways_1pct_loss_and_reordering_ipv6() {
    bulk_under_faults(ONE, 4 << 20);
}

fn bulk_both_ways_5pct_loss_and_reordering_ipv6() {
    bulk_under_faults(FIVE, 1 << 20);
}

/// An offloading stack whose link is impaired per wire segment.
fn lossy_offloaded_stack(layout: &TunNet, faults: Faults) -> (TunStack, Arc<Mutex<FaultStats>>) {
    let mut link = common::setup_offloaded_link(layout);
    assert!(
        link.offloads().is_some_and(|o| o.tso()),
        "the kernel took TSO: {:?}",
        link.offloads()
    );
    link.set_receive_segmentation(true);
    let (stats, mtu, config) = (link.stats(), link.mtu(), link.config());
    let imp = Impaired::new(link, faults);
    let fstats = imp.stats();
    (
        TunStack::with_link(imp, stats, mtu, config).unwrap(),
        fstats,
    )
}

/// The impairment dropped segments both ways while super-segments went both ways.
fn check_offloaded_faults(st: tcp_tun::TunStatsSnapshot, f: FaultStats) {
    eprintln!("{st:?} {f:?}");
    assert!(st.gso_in > 0, "the kernel sent super-segments: {st:?}");
    assert!(st.gso_out > 0, "we sent super-segments: {st:?}");
    assert!(f.lossy.dropped > 0 && f.lossy.send_dropped > 0, "{f:?}");
}

fn echo_5pct_loss_and_reordering_with_offloads() {
    let layout = TunNet::default();
    let (stack, fstats) = lossy_offloaded_stack(&layout, FIVE);
    let st = common::kernel_client_echo(&stack, &layout, false, 4 << 20);
    check_offloaded_faults(st, *fstats.lock().unwrap());
}

fn bulk_both_ways_5pct_loss_and_reordering_with_offloads_ipv6() {
    let layout = TunNet::default();
    let (stack, fstats) = lossy_offloaded_stack(&layout, FIVE);
    let st = common::our_client_bulk(&stack, &layout, true, 4 << 20);
    check_offloaded_faults(st, *fstats.lock().unwrap());
}
