//! Bulk interop with the Linux kernel over a TUN device in a private namespace:
//! 1. a kernel client echoes 10 MB through our listener (IPv4 and IPv6);
//! 2. our client exchanges 100 MB each way with a kernel listener.

mod common;

use tcp_tun::netns::TunNet;

common::tests!(
    kernel_client_echo_10mb_ipv4,
    kernel_client_echo_10mb_ipv6,
    our_client_100mb_each_way_ipv4,
    our_client_100mb_each_way_ipv6
);

fn kernel_client_echo(v6: bool) {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    let st = common::kernel_client_echo(&stack, &layout, v6, 10 << 20);
    assert_eq!(st.oversize_out, 0);
}

fn kernel_client_echo_10mb_ipv4() {
    kernel_client_echo(false);
}

fn kernel_client_echo_10mb_ipv6() {
    kernel_client_echo(true);
}

fn our_client_bulk(v6: bool, total: u64) {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    common::our_client_bulk(&stack, &layout, v6, total);
}

fn our_client_100mb_each_way_ipv4() {
    our_client_bulk(false, 100 << 20);
}

fn our_client_100mb_each_way_ipv6() {
    our_client_bulk(true, 100 << 20);
}
