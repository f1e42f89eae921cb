//! IPv4 (RFC 791) and IPv6 (RFC 8200) framing: parse, emit, and every rejected case.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tcp_core::SeqNum;
use tcp_core::wire::{
    Checksum, IPPROTO_TCP, IpHeader, Ipv4Header, Ipv6Header, TcpFlags, TcpHeader, WireError,
    emit_ip_header, emit_ip_tcp_packet, parse_ip_packet, parse_ip_tcp_packet,
};

const V4_SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const V4_DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const V6_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const V6_DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

fn v4() -> Ipv4Header {
    Ipv4Header {
        src: V4_SRC,
        dst: V4_DST,
        protocol: IPPROTO_TCP,
        ttl: 63,
        dscp_ecn: 0x02,
        ident: 0x1234,
        dont_fragment: true,
    }
}

fn v6() -> Ipv6Header {
    Ipv6Header {
        src: V6_SRC,
        dst: V6_DST,
        next_header: IPPROTO_TCP,
        hop_limit: 61,
        traffic_class: 0xb8,
        flow_label: 0xabcde,
    }
}

/// An IPv4 packet with `payload` after the header.
fn v4_packet(payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 20 + payload.len()];
    emit_ip_header(&IpHeader::V4(v4()), payload.len(), &mut buf).unwrap();
    buf[20..].copy_from_slice(payload);
    buf
}

/// Recomputes the IPv4 header checksum after a test edits the header.
fn fix_v4_checksum(packet: &mut [u8]) {
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    packet[10] = 0;
    packet[11] = 0;
    let mut ck = Checksum::new();
    ck.add_bytes(&packet[..ihl]);
    let c = ck.finish().to_be_bytes();
    packet[10..12].copy_from_slice(&c);
}

fn v6_packet(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 40 + payload.len()];
    let h = Ipv6Header {
        next_header,
        ..v6()
    };
    emit_ip_header(&IpHeader::V6(h), payload.len(), &mut buf).unwrap();
    buf[40..].copy_from_slice(payload);
    buf
}

// ---- IPv4 ----

#[test]
fn ipv4_header_round_trips_every_field() {
    let p = v4_packet(b"abc");
    assert_eq!(p[0], 0x45);
    assert_eq!(&p[6..8], &[0x40, 0], "DF set, no fragment offset");
    let (ip, range) = parse_ip_packet(&p).unwrap();
    assert_eq!(ip, IpHeader::V4(v4()));
    assert_eq!(range, 20..23);
    assert_eq!(ip.src(), IpAddr::V4(V4_SRC));
    assert_eq!(ip.dst(), IpAddr::V4(V4_DST));
    assert_eq!(ip.protocol(), IPPROTO_TCP);
}

#[test]
fn ipv4_emit_writes_a_header_checksum_that_verifies() {
    let p = v4_packet(b"");
    let mut ck = Checksum::new();
    ck.add_bytes(&p[..20]);
    assert_eq!(ck.finish(), 0);
}

#[test]
fn ipv4_trailing_bytes_past_total_length_are_excluded() {
    let mut p = v4_packet(b"abcd");
    p.extend_from_slice(&[0; 6]); // e.g. Ethernet padding
    let (_, range) = parse_ip_packet(&p).unwrap();
    assert_eq!(range, 20..24);
}

#[test]
fn ipv4_options_are_skipped() {
    // IHL 6: one word of options (NOP NOP NOP EOL).
    let mut p = v4_packet(b"xy");
    p.splice(20..20, [1, 1, 1, 0]);
    p[0] = 0x46;
    p[3] += 4;
    fix_v4_checksum(&mut p);
    let (ip, range) = parse_ip_packet(&p).unwrap();
    assert_eq!(ip, IpHeader::V4(v4()));
    assert_eq!(&p[range], b"xy");
}

#[test]
fn ip_version_other_than_4_or_6_is_rejected() {
    for version in [0u8, 5, 7, 15] {
        let mut p = v4_packet(b"");
        p[0] = (version << 4) | 5;
        assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpVersion(version)));
    }
}

#[test]
fn empty_and_short_packets_are_truncated() {
    assert_eq!(parse_ip_packet(&[]), Err(WireError::Truncated));
    let p = v4_packet(b"");
    assert_eq!(parse_ip_packet(&p[..19]), Err(WireError::Truncated));
    let p = v6_packet(IPPROTO_TCP, b"");
    assert_eq!(parse_ip_packet(&p[..39]), Err(WireError::Truncated));
}

#[test]
fn ipv4_header_length_below_five_words_is_rejected() {
    for ihl in 0..5u8 {
        let mut p = v4_packet(b"0123456789");
        p[0] = 0x40 | ihl;
        assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpHeaderLength));
    }
}

#[test]
fn ipv4_header_length_past_the_packet_is_rejected() {
    let mut p = v4_packet(b"");
    p[0] = 0x46;
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpHeaderLength));
}

#[test]
fn ipv4_total_length_outside_the_packet_is_rejected() {
    let mut p = v4_packet(b"abcd");
    p[3] = 25; // one more than the packet
    fix_v4_checksum(&mut p);
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpTotalLength));
    p[3] = 19; // less than the header
    fix_v4_checksum(&mut p);
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpTotalLength));
}

#[test]
fn ipv4_bad_header_checksum_is_rejected() {
    let mut p = v4_packet(b"abcd");
    p[8] ^= 1; // TTL changed, checksum not updated
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpHeaderChecksum));
}

#[test]
fn ipv4_fragments_are_rejected() {
    // More-fragments set.
    let mut p = v4_packet(b"abcd");
    p[6] = 0x20;
    fix_v4_checksum(&mut p);
    assert_eq!(parse_ip_packet(&p), Err(WireError::Fragmented));
    // Non-zero fragment offset (last fragment).
    p[6] = 0x00;
    p[7] = 0x01;
    fix_v4_checksum(&mut p);
    assert_eq!(parse_ip_packet(&p), Err(WireError::Fragmented));
}

#[test]
fn ipv4_without_df_parses_with_dont_fragment_false() {
    let mut p = v4_packet(b"");
    p[6] = 0;
    fix_v4_checksum(&mut p);
    let (IpHeader::V4(h), _) = parse_ip_packet(&p).unwrap() else {
        panic!("not IPv4")
    };
    assert!(!h.dont_fragment);
}

#[test]
fn ipv4_emit_rejects_payload_over_the_length_field() {
    let mut buf = [0u8; 20];
    assert_eq!(
        emit_ip_header(&IpHeader::V4(v4()), 65516, &mut buf),
        Err(WireError::PayloadTooLong { len: 65516 })
    );
    assert!(emit_ip_header(&IpHeader::V4(v4()), 65515, &mut buf).is_ok());
}

// ---- IPv6 ----

#[test]
fn ipv6_header_round_trips_every_field() {
    let p = v6_packet(IPPROTO_TCP, b"hello");
    assert_eq!(&p[..4], &[0x6b, 0x8a, 0xbc, 0xde]);
    let (ip, range) = parse_ip_packet(&p).unwrap();
    assert_eq!(ip, IpHeader::V6(v6()));
    assert_eq!(range, 40..45);
    assert_eq!(ip.src(), IpAddr::V6(V6_SRC));
    assert_eq!(ip.protocol(), IPPROTO_TCP);
}

#[test]
fn ipv6_flow_label_is_masked_to_20_bits_when_emitting() {
    let h = Ipv6Header {
        flow_label: 0xfff0_0001,
        ..v6()
    };
    let mut buf = [0u8; 40];
    emit_ip_header(&IpHeader::V6(h), 0, &mut buf).unwrap();
    let (IpHeader::V6(back), _) = parse_ip_packet(&buf).unwrap() else {
        panic!("not IPv6")
    };
    assert_eq!(back.flow_label, 1);
    assert_eq!(back.traffic_class, h.traffic_class);
}

#[test]
fn ipv6_trailing_bytes_past_payload_length_are_excluded() {
    let mut p = v6_packet(IPPROTO_TCP, b"ab");
    p.extend_from_slice(&[9; 10]);
    assert_eq!(parse_ip_packet(&p).unwrap().1, 40..42);
}

#[test]
fn ipv6_payload_length_past_the_packet_is_rejected() {
    let p = v6_packet(IPPROTO_TCP, b"abcd");
    assert_eq!(parse_ip_packet(&p[..43]), Err(WireError::BadIpTotalLength));
}

#[test]
fn ipv6_fragment_header_is_rejected_as_fragmented() {
    let p = v6_packet(44, &[6, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!(parse_ip_packet(&p), Err(WireError::Fragmented));
}

#[test]
fn ipv6_unsupported_extension_headers_are_rejected() {
    for nh in [43u8, 50, 51, 135, 139, 140, 253, 254] {
        let p = v6_packet(nh, &[6, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            parse_ip_packet(&p),
            Err(WireError::UnsupportedExtensionHeader(nh))
        );
    }
}

#[test]
fn ipv6_hop_by_hop_and_destination_options_are_skipped() {
    // Hop-by-hop (8 bytes, PadN) -> destination options (16 bytes) -> TCP payload "ok".
    let mut payload = vec![60, 0, 1, 4, 0, 0, 0, 0];
    payload.extend_from_slice(&[6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    payload.extend_from_slice(b"ok");
    let p = v6_packet(0, &payload);
    let (ip, range) = parse_ip_packet(&p).unwrap();
    assert_eq!(ip.protocol(), IPPROTO_TCP);
    assert_eq!(&p[range], b"ok");
}

#[test]
fn ipv6_extension_header_running_past_the_payload_is_rejected() {
    // Hop-by-hop claims 16 bytes, only 8 present.
    let p = v6_packet(0, &[6, 1, 1, 4, 0, 0, 0, 0]);
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpTotalLength));
    // Not even the two bytes of next header and length.
    let p = v6_packet(60, &[6]);
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpTotalLength));
}

#[test]
fn ipv6_fragment_after_hop_by_hop_is_still_fragmented() {
    let p = v6_packet(0, &[44, 0, 1, 4, 0, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!(parse_ip_packet(&p), Err(WireError::Fragmented));
}

#[test]
fn ipv6_emit_rejects_payload_over_the_length_field() {
    let mut buf = [0u8; 40];
    assert_eq!(
        emit_ip_header(&IpHeader::V6(v6()), 65536, &mut buf),
        Err(WireError::PayloadTooLong { len: 65536 })
    );
}

#[test]
fn ip_header_emit_into_short_buffer_is_an_error() {
    let mut buf = [0u8; 39];
    assert_eq!(
        emit_ip_header(&IpHeader::V6(v6()), 0, &mut buf),
        Err(WireError::BufferTooSmall {
            needed: 40,
            available: 39
        })
    );
    assert_eq!(
        emit_ip_header(&IpHeader::V4(v4()), 0, &mut buf[..19]),
        Err(WireError::BufferTooSmall {
            needed: 20,
            available: 19
        })
    );
}

// ---- IP + TCP ----

fn tcp() -> TcpHeader {
    TcpHeader {
        src_port: 1234,
        dst_port: 80,
        seq: SeqNum::new(7),
        ack: SeqNum::new(9),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 1000,
        ..Default::default()
    }
}

#[test]
fn ip_tcp_packet_uses_ttl_64_and_df_and_round_trips() {
    for (src, dst) in [
        (IpAddr::V4(V4_SRC), IpAddr::V4(V4_DST)),
        (IpAddr::V6(V6_SRC), IpAddr::V6(V6_DST)),
    ] {
        let mut buf = [0u8; 200];
        let n = emit_ip_tcp_packet(src, dst, &tcp(), b"payload", &mut buf).unwrap();
        let (ip, t, range) = parse_ip_tcp_packet(&buf[..n]).unwrap();
        assert_eq!(t, tcp());
        assert_eq!(&buf[range], b"payload");
        assert_eq!((ip.src(), ip.dst()), (src, dst));
        match ip {
            IpHeader::V4(h) => {
                assert_eq!(h.ttl, 64);
                assert!(h.dont_fragment);
                assert_eq!(n, 20 + 20 + 7);
            }
            IpHeader::V6(h) => {
                assert_eq!(h.hop_limit, 64);
                assert_eq!(n, 40 + 20 + 7);
            }
        }
    }
}

#[test]
fn ip_tcp_packet_emit_rejects_mixed_families_and_short_buffers() {
    let mut buf = [0u8; 200];
    assert_eq!(
        emit_ip_tcp_packet(
            IpAddr::V4(V4_SRC),
            IpAddr::V6(V6_DST),
            &tcp(),
            b"",
            &mut buf
        ),
        Err(WireError::AddressFamilyMismatch)
    );
    assert_eq!(
        emit_ip_tcp_packet(
            IpAddr::V4(V4_SRC),
            IpAddr::V4(V4_DST),
            &tcp(),
            b"ab",
            &mut buf[..41]
        ),
        Err(WireError::BufferTooSmall {
            needed: 42,
            available: 41
        })
    );
}

#[test]
fn non_tcp_packet_is_reported_as_not_tcp() {
    let p = v6_packet(17, &[0; 8]);
    assert_eq!(parse_ip_tcp_packet(&p), Err(WireError::NotTcp(17)));
    let (ip, _) = parse_ip_packet(&p).unwrap();
    assert_eq!(ip.protocol(), 17);
}

#[test]
fn ip_tcp_packet_with_bad_tcp_checksum_is_rejected() {
    let mut buf = [0u8; 200];
    let n = emit_ip_tcp_packet(
        IpAddr::V4(V4_SRC),
        IpAddr::V4(V4_DST),
        &tcp(),
        b"x",
        &mut buf,
    )
    .unwrap();
    buf[n - 1] ^= 0x80;
    assert_eq!(parse_ip_tcp_packet(&buf[..n]), Err(WireError::BadChecksum));
}
