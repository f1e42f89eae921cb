//! The virtio-net offloads with the Linux kernel as the peer: over a TUN device opened with
//! `IFF_VNET_HDR` and TSO, the kernel's data arrives as super-segments with checksums left
//! to complete, and ours leaves as super-segments the kernel finishes; both directions stay
//! byte-exact, IPv4 and IPv6.

mod common;

use tcp_tun::netns::TunNet;

common::tests!(
    kernel_client_echo_through_offloads_ipv4,
    kernel_client_echo_through_offloads_ipv6,
    our_client_both_ways_through_offloads_ipv4,
    our_client_both_ways_through_offloads_ipv6
);

fn kernel_client_echo(v6: bool) {
    let layout = TunNet::default();
    let stack = common::setup_offloaded(&layout);
    let st = common::kernel_client_echo(&stack, &layout, v6, 20 << 20);
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
    let st = common::our_client_bulk(&stack, &layout, v6, total);
    assert!(st.gso_in > 0 && st.gso_out > 0, "{st:?}");
}

fn our_client_both_ways_through_offloads_ipv4() {
    our_client_bulk(false, 50 << 20);
}

fn our_client_both_ways_through_offloads_ipv6() {
    our_client_bulk(true, 50 << 20);
}
