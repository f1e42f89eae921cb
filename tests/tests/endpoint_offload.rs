//! Receive offloads (`Endpoint::handle_packet_offloaded`): a packet whose checksum the device
//! verified is not verified again (a TUN device hands the local kernel's packets over with
//! only the pseudo-header summed), and a receive-coalesced super-segment is one segment.

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::wire::{TcpFlags, WireError, emit_ip_tcp_packet};
use tcp_core::{
    Config, Endpoint, EndpointConfig, EndpointEvent, Event, InputError, Instant, RxOffload,
    Transmit,
};
use tcp_tests::ep_pair::exchange_packets;
use tcp_tests::sim::ours_node::encode_packet;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

fn endpoint(secret: u8) -> Endpoint {
    Endpoint::new(Config::default(), EndpointConfig::with_secret([secret; 16]))
}

/// `t` as an IP packet whose TCP checksum field is zeroed, as a device that offloads
/// checksums would leave it.
fn unsummed(t: &Transmit) -> Bytes {
    let mut p = encode_packet(t).expect("encodes");
    // IPv4 without options: the TCP checksum is at bytes 16..18 of the TCP header.
    p[20 + 16] = 0;
    p[20 + 17] = 0;
    Bytes::from(p)
}

#[test]
fn a_checksum_the_device_verified_is_not_verified_again() {
    let now = Instant::from_millis(1);
    let (mut a, mut b) = (endpoint(1), endpoint(2));
    b.listen(SocketAddr::new(B, 80), 4).expect("listen");
    a.connect(now, A, SocketAddr::new(B, 80)).expect("connect");
    let syn = a.poll_transmit(now).expect("SYN");
    let packet = unsummed(&syn);
    assert_eq!(
        b.handle_packet(now, packet.clone()),
        Err(InputError::Wire(WireError::BadChecksum)),
        "without the offload the zeroed checksum is wrong"
    );
    assert!(b.poll_transmit(now).is_none());
    assert_eq!(b.stats().malformed, 1);
    b.handle_packet_offloaded(now, packet, RxOffload::CHECKSUM_VERIFIED)
        .expect("accepted as verified");
    let syn_ack = b.poll_transmit(now).expect("SYN-ACK");
    assert!(
        syn_ack
            .segment
            .header
            .flags
            .contains(TcpFlags::SYN | TcpFlags::ACK)
    );
    // The offload applied to that packet only.
    a.handle_packet(now, Bytes::from(encode_packet(&syn_ack).expect("encodes")))
        .expect("valid");
    let ack = a.poll_transmit(now).expect("ACK");
    assert_eq!(
        b.handle_packet(now, unsummed(&ack)),
        Err(InputError::Wire(WireError::BadChecksum))
    );
}

#[test]
fn a_coalesced_super_segment_is_received_as_one() {
    let now = Instant::from_millis(1);
    let (mut a, mut b) = (endpoint(1), endpoint(2));
    let listener = b.listen(SocketAddr::new(B, 80), 4).expect("listen");
    let ha = a.connect(now, A, SocketAddr::new(B, 80)).expect("connect");
    exchange_packets(now, &mut a, &mut b);
    let hb = b.accept(listener).expect("listener").expect("accepted");
    while b.poll_event().is_some() {}

    let data: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
    let written = a.write(now, ha, &data).expect("write");
    // What the sender sends at once (its initial window), coalesced as GRO would: the
    // first header, every payload in order.
    let segments: Vec<Transmit> = std::iter::from_fn(|| a.poll_transmit(now)).collect();
    assert!(segments.len() >= 5, "{} segments", segments.len());
    let mut header = segments[0].segment.header;
    let mut payload = Vec::new();
    for t in &segments {
        assert_eq!(
            t.segment.header.seq.since(header.seq) as usize,
            payload.len(),
            "in order"
        );
        payload.extend_from_slice(&t.segment.payload);
        if t.segment.header.flags.contains(TcpFlags::PSH) {
            header.flags.insert(TcpFlags::PSH);
        }
    }
    assert!(payload.len() > 5 * 1400 && payload.len() <= written);
    let mut buf = vec![0u8; 65_600];
    let n = emit_ip_tcp_packet(A, B, &header, &payload, &mut buf).expect("fits");
    buf.truncate(n);
    b.handle_packet_offloaded(now, Bytes::from(buf), RxOffload::CHECKSUM_VERIFIED)
        .expect("accepted");
    assert_eq!(
        b.stats().segments_in,
        2 + 1,
        "SYN and ACK, then one super-segment"
    );
    let mut got = vec![0u8; 65_536];
    let r = b.read(now, hb, &mut got).expect("data");
    assert_eq!(&got[..r], &payload[..]);
    assert!(matches!(
        b.poll_event(),
        Some(EndpointEvent::Conn(_, Event::Readable))
    ));
    // Its ACK covers all of it.
    let ack = std::iter::from_fn(|| b.poll_transmit(now))
        .last()
        .expect("an ACK");
    assert_eq!(ack.segment.header.ack, header.seq + payload.len() as u32);
}
