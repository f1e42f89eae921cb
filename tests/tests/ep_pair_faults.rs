//! The endpoint-pair link's fault injection does what it says.

use std::net::SocketAddr;
use tcp_core::Duration;
use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP};
use tcp_tests::sim::link::LinkConfig;

#[test]
fn corrupted_segments_are_caught_by_the_checksum_and_counted() {
    let mut p = EpPair::default_pair(Duration::from_millis(5));
    p.set_link(LinkConfig {
        corrupt: 1.0,
        ..p.link().clone()
    });
    p.server
        .listen(SocketAddr::new(SERVER_IP, 80), 4)
        .expect("listen");
    let now = p.now;
    p.client
        .connect(now, CLIENT_IP, SocketAddr::new(SERVER_IP, 80))
        .expect("connect");
    p.run_for(Duration::from_secs(4));
    assert!(
        p.rejected >= 3,
        "every SYN arrives corrupted: {}",
        p.rejected
    );
    assert_eq!(p.server.stats().malformed, p.rejected);
    assert_eq!(p.server.stats().syns_received, 0);
}
