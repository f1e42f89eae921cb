//! Property tests of the wire codec: emit-then-parse gives back what was emitted (TCP
//! header and options, whole segments with checksum, IPv4 and IPv6 packets), and parsing
//! arbitrary or corrupted bytes never panics.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use tcp_core::SeqNum;
use tcp_core::wire::{
    IPPROTO_TCP, IpHeader, Ipv4Header, Ipv6Header, OptionLayout, SackBlock, SackBlocks, TcpFlags,
    TcpHeader, TcpOptions, Timestamps, WireError, emit_ip_header, emit_ip_tcp_packet_with,
    emit_tcp_segment, options_iter, parse_ip_packet, parse_ip_tcp_packet, parse_tcp_segment,
    raw_tcp_options,
};

// The fuzz target's round-trip check, run here on proptest's inputs as well.
include!("../../fuzz/src/wire_check.rs");

fn seq() -> impl Strategy<Value = SeqNum> {
    any::<u32>().prop_map(SeqNum::new)
}

fn sack_blocks() -> impl Strategy<Value = SackBlocks> {
    proptest::collection::vec((seq(), seq()), 0..=SackBlocks::MAX).prop_map(|v| {
        let mut b = SackBlocks::new();
        for (left, right) in v {
            assert!(b.push(SackBlock { left, right }));
        }
        b
    })
}

fn options() -> impl Strategy<Value = TcpOptions> {
    (
        any::<Option<u16>>(),
        any::<Option<u8>>(),
        any::<bool>(),
        any::<Option<(u32, u32)>>(),
        sack_blocks(),
    )
        .prop_map(
            |(mss, window_scale, sack_permitted, ts, sack_blocks)| TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                timestamps: ts.map(|(val, ecr)| Timestamps { val, ecr }),
                sack_blocks,
                ..Default::default()
            },
        )
}

/// Options whose encoding fits a header.
fn fitting_options() -> impl Strategy<Value = TcpOptions> {
    options().prop_filter("fits 40 bytes", |o| o.encoded_len() <= TcpOptions::MAX_LEN)
}

fn header() -> impl Strategy<Value = TcpHeader> {
    (
        any::<(u16, u16)>(),
        seq(),
        seq(),
        any::<u8>(),
        any::<(u16, u16)>(),
        fitting_options(),
    )
        .prop_map(
            |((src_port, dst_port), seq, ack, flags, (window, urgent), options)| TcpHeader {
                src_port,
                dst_port,
                seq,
                ack,
                flags: TcpFlags::from_bits(flags),
                window,
                urgent,
                options,
            },
        )
}

fn v4_header() -> impl Strategy<Value = Ipv4Header> {
    (
        any::<([u8; 4], [u8; 4])>(),
        any::<(u8, u8, u8, u16, bool)>(),
    )
        .prop_map(
            |((s, d), (protocol, ttl, dscp_ecn, ident, dont_fragment))| Ipv4Header {
                src: Ipv4Addr::from(s),
                dst: Ipv4Addr::from(d),
                protocol,
                ttl,
                dscp_ecn,
                ident,
                dont_fragment,
            },
        )
}

/// Next-header values that are not extension headers (RFC 8200 §4, RFC 7045).
fn upper_layer() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("not an extension header", |n| {
        ![0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254].contains(n)
    })
}

fn v6_header() -> impl Strategy<Value = Ipv6Header> {
    (
        any::<([u8; 16], [u8; 16])>(),
        upper_layer(),
        any::<(u8, u8)>(),
        0u32..(1 << 20),
    )
        .prop_map(
            |((s, d), next_header, (hop_limit, traffic_class), flow_label)| Ipv6Header {
                src: Ipv6Addr::from(s),
                dst: Ipv6Addr::from(d),
                next_header,
                hop_limit,
                traffic_class,
                flow_label,
            },
        )
}

fn addresses() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        any::<([u8; 4], [u8; 4])>()
            .prop_map(|(s, d)| (IpAddr::V4(Ipv4Addr::from(s)), IpAddr::V4(Ipv4Addr::from(d)))),
        any::<([u8; 16], [u8; 16])>()
            .prop_map(|(s, d)| (IpAddr::V6(Ipv6Addr::from(s)), IpAddr::V6(Ipv6Addr::from(d)))),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn options_that_fit_round_trip_and_others_are_refused(o in options()) {
        let mut buf = [0u8; 64];
        let len = o.encoded_len();
        prop_assert_eq!(len % 4, 0);
        match o.emit(&mut buf) {
            Ok(n) => {
                prop_assert!(len <= TcpOptions::MAX_LEN);
                prop_assert_eq!(n, len);
                prop_assert_eq!(TcpOptions::parse(&buf[..n]), Ok(o));
                prop_assert!(options_iter(&buf[..n]).all(|r| r.is_ok()));
            }
            Err(e) => {
                prop_assert!(len > TcpOptions::MAX_LEN);
                prop_assert_eq!(e, WireError::OptionsTooLong { len });
            }
        }
    }

    #[test]
    fn options_in_freebsd_layout_round_trip_too(o in options()) {
        let o = TcpOptions { layout: OptionLayout::Bsd, ..o };
        let mut buf = [0u8; 64];
        let len = o.encoded_len();
        prop_assert_eq!(len % 4, 0);
        if let Ok(n) = o.emit(&mut buf) {
            prop_assert_eq!(n, len);
            let back = TcpOptions::parse(&buf[..n]).map(|p| TcpOptions { layout: OptionLayout::Bsd, ..p });
            prop_assert_eq!(back, Ok(o));
        } else {
            prop_assert!(len > TcpOptions::MAX_LEN);
        }
    }

    #[test]
    fn tcp_header_emit_then_parse_gives_it_back(h in header()) {
        let mut buf = [0u8; 60];
        let n = h.emit(&mut buf).unwrap();
        prop_assert_eq!(n, h.len());
        prop_assert_eq!(TcpHeader::parse(&buf[..n]), Ok((h, n)));
        prop_assert_eq!(raw_tcp_options(&buf[..n]).unwrap().len(), n - 20);
    }

    #[test]
    fn tcp_segment_with_checksum_round_trips(
        h in header(), data in payload(), (src, dst) in addresses()
    ) {
        let mut buf = vec![0u8; 60 + data.len()];
        let n = emit_tcp_segment(&h, &data, src, dst, &mut buf).unwrap();
        let (h2, range) = parse_tcp_segment(src, dst, &buf[..n]).unwrap();
        prop_assert_eq!(h2, h);
        prop_assert_eq!(&buf[range], &data[..]);
    }

    #[test]
    fn ipv4_packet_round_trips(ip in v4_header(), h in header(), data in payload()) {
        let ip = IpHeader::V4(Ipv4Header { protocol: IPPROTO_TCP, ..ip });
        let mut buf = vec![0u8; 20 + 60 + data.len()];
        let n = emit_ip_tcp_packet_with(&ip, &h, &data, &mut buf).unwrap();
        let (ip2, h2, range) = parse_ip_tcp_packet(&buf[..n]).unwrap();
        prop_assert_eq!(ip2, ip);
        prop_assert_eq!(h2, h);
        prop_assert_eq!(&buf[range], &data[..]);
    }

    #[test]
    fn ipv6_packet_round_trips(ip in v6_header(), h in header(), data in payload()) {
        let ip = IpHeader::V6(Ipv6Header { next_header: IPPROTO_TCP, ..ip });
        let mut buf = vec![0u8; 40 + 60 + data.len()];
        let n = emit_ip_tcp_packet_with(&ip, &h, &data, &mut buf).unwrap();
        let (ip2, h2, range) = parse_ip_tcp_packet(&buf[..n]).unwrap();
        prop_assert_eq!(ip2, ip);
        prop_assert_eq!(h2, h);
        prop_assert_eq!(&buf[range], &data[..]);
    }

    #[test]
    fn ip_headers_of_any_protocol_round_trip(
        ip in prop_oneof![v4_header().prop_map(IpHeader::V4), v6_header().prop_map(IpHeader::V6)],
        data in payload(),
    ) {
        let mut buf = vec![0u8; 40 + data.len()];
        let n = emit_ip_header(&ip, data.len(), &mut buf).unwrap();
        buf[n..n + data.len()].copy_from_slice(&data);
        let (ip2, range) = parse_ip_packet(&buf[..n + data.len()]).unwrap();
        prop_assert_eq!(ip2, ip);
        prop_assert_eq!(&buf[range], &data[..]);
    }

    #[test]
    fn emitting_into_any_buffer_size_never_panics(
        ip in v4_header(), h in header(), data in payload(), size in 0usize..400
    ) {
        let mut buf = vec![0u8; size];
        let ip = IpHeader::V4(ip);
        let needed = 20 + h.len() + data.len();
        match emit_ip_tcp_packet_with(&ip, &h, &data, &mut buf) {
            Ok(n) => prop_assert_eq!(n, needed),
            Err(e) => {
                prop_assert!(size < needed);
                prop_assert_eq!(e, WireError::BufferTooSmall { needed, available: size });
            }
        }
        let _ = h.emit(&mut buf);
        let _ = h.options.emit(&mut buf);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_ip_packet(&data);
        let _ = parse_ip_tcp_packet(&data);
        let _ = TcpHeader::parse(&data);
        let _ = TcpOptions::parse(&data);
        let _ = raw_tcp_options(&data);
        let v4 = (IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let _ = parse_tcp_segment(v4.0, v4.1, &data);
        prop_assert!(options_iter(&data).count() <= data.len());
        check_wire_round_trip(&data);
    }

    #[test]
    fn parsing_corrupted_packets_never_panics_and_round_trips(
        ip in prop_oneof![v4_header().prop_map(IpHeader::V4), v6_header().prop_map(IpHeader::V6)],
        h in header(),
        data in payload(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut ip = ip;
        match &mut ip {
            IpHeader::V4(v4) => v4.protocol = IPPROTO_TCP,
            IpHeader::V6(v6) => v6.next_header = IPPROTO_TCP,
        }
        let mut buf = vec![0u8; 40 + 60 + data.len()];
        let n = emit_ip_tcp_packet_with(&ip, &h, &data, &mut buf).unwrap();
        buf.truncate(n);
        for (at, value) in flips {
            let i = at.index(buf.len());
            buf[i] = value;
        }
        // Whatever still parses must survive the fuzz target's round trip.
        check_wire_round_trip(&buf);
        let ip_len = ip.len();
        check_wire_round_trip(&buf[ip_len..]);
    }
}
