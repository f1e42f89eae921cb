//! The data path does not copy payload it is handed as `Bytes` (the README's design notes,
//! "the sans-IO contract"): a `write_bytes` buffer goes to the transmitted segment as a slice
//! of itself, and a received packet's payload reaches `read_bytes` as a slice of the packet.

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::{Config, Endpoint, EndpointConfig, Instant};
use tcp_tests::ep_pair::exchange_packets;
use tcp_tests::sim::ours_node::encode_packet;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

fn endpoint(secret: u8) -> Endpoint {
    Endpoint::new(Config::default(), EndpointConfig::with_secret([secret; 16]))
}

#[test]
fn written_bytes_reach_the_wire_and_received_packets_reach_the_reader_without_copies() {
    let now = Instant::from_millis(1);
    let (mut a, mut b) = (endpoint(1), endpoint(2));
    let listener = b.listen(SocketAddr::new(B, 80), 4).expect("listen");
    let ha = a.connect(now, A, SocketAddr::new(B, 80)).expect("connect");
    exchange_packets(now, &mut a, &mut b);
    let hb = b.accept(listener).expect("listener").expect("accepted");
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}

    let data = Bytes::from((0..1200u32).map(|i| i as u8).collect::<Vec<u8>>());
    assert_eq!(a.write_bytes(now, ha, data.clone()), Ok(1200));
    let t = a.poll_transmit(now).expect("a data segment");
    assert_eq!(t.segment.payload, data);
    assert_eq!(
        t.segment.payload.as_ptr(),
        data.as_ptr(),
        "the segment's payload is the written buffer"
    );

    let packet = Bytes::from(encode_packet(&t).expect("encodes"));
    let in_packet = packet.as_ptr_range();
    b.handle_packet(now, packet).expect("valid");
    let got = b
        .read_bytes(now, hb, 4096)
        .expect("readable")
        .expect("data");
    assert_eq!(got, data);
    assert!(
        in_packet.contains(&got.as_ptr()),
        "the reader gets a slice of the received packet"
    );
}
