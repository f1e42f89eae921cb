// The round-trip check of the `wire` fuzz target. Shared with tcp-core's corpus replay test
// (tcp-core/tests/wire_fuzz_corpus.rs) through `include!`, so the stable test suite runs the
// very same logic over the seed corpus. Panics (asserts) on any violation.

/// Parses `data` as an IP packet (framing only, then with TCP) and as a bare TCP segment;
/// everything that parses is emitted again and must parse back to the same value.
pub fn check_wire_round_trip(data: &[u8]) {
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use tcp_core::wire::{
        IpHeader, TcpHeader, WireError, emit_ip_header, emit_ip_tcp_packet_with,
        emit_tcp_segment, options_iter, parse_ip_packet, parse_ip_tcp_packet,
        parse_tcp_segment,
    };

    // 1. IP framing alone; an ICMP error in it parses without panicking, and what it
    //    quotes is what its body holds.
    if let Ok((ip, range)) = parse_ip_packet(data) {
        let payload = &data[range];
        if let Ok(Some(e)) = tcp_core::wire::parse_icmp_error(&ip, payload) {
            let quoted = &payload[8..];
            let hlen = if quoted[0] >> 4 == 4 {
                usize::from(quoted[0] & 0x0f) * 4
            } else {
                40
            };
            let tcp = &quoted[hlen..];
            assert_eq!(e.local_port, u16::from_be_bytes([tcp[0], tcp[1]]));
            assert_eq!(e.remote_port, u16::from_be_bytes([tcp[2], tcp[3]]));
            assert_eq!(e.seq.get(), u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]));
        }
        let mut buf = vec![0u8; ip.len() + payload.len()];
        let n = emit_ip_header(&ip, payload.len(), &mut buf).expect("re-emit a parsed IP header");
        buf[n..].copy_from_slice(payload);
        let (ip2, range2) = parse_ip_packet(&buf).expect("re-parse an emitted IP packet");
        assert_eq!(ip, ip2);
        assert_eq!(&buf[range2], payload);
    }

    // 2. IP + TCP with both checksums.
    if let Ok((ip, tcp, payload)) = parse_ip_tcp_packet(data) {
        let payload = &data[payload];
        let seg_len = tcp.len() + payload.len();
        // Linux's option layout may be a few bytes longer than a compact original; only a
        // packet already at the 65,535-byte limit can then overflow the length field.
        let fits = match ip {
            IpHeader::V4(_) => ip.len() + seg_len <= 0xffff,
            IpHeader::V6(_) => seg_len <= 0xffff,
        };
        let mut buf = vec![0u8; ip.len() + seg_len];
        match emit_ip_tcp_packet_with(&ip, &tcp, payload, &mut buf) {
            Ok(n) => {
                assert_eq!(n, buf.len());
                let (ip2, tcp2, payload2) =
                    parse_ip_tcp_packet(&buf).expect("re-parse an emitted IP/TCP packet");
                assert_eq!(ip, ip2);
                assert_eq!(tcp, tcp2);
                assert_eq!(&buf[payload2], payload);
            }
            Err(WireError::PayloadTooLong { .. }) if !fits => {}
            Err(e) => panic!("re-emitting a parsed IP/TCP packet failed: {e}"),
        }
    }

    // 3. Bare TCP header, then as a whole segment with checksum over both families.
    if let Ok((tcp, header_len)) = TcpHeader::parse(data) {
        // The raw option view agrees: no errors, and every option re-encodes to itself.
        let raw = &data[TcpHeader::MIN_LEN..header_len];
        for opt in options_iter(raw) {
            let opt = opt.expect("options_iter fails where TcpHeader::parse succeeded");
            let mut obuf = [0u8; 64];
            let n = opt.emit(&mut obuf).expect("re-emit a parsed option");
            assert_eq!(n, opt.encoded_len());
            let again = options_iter(&obuf[..n]).next();
            assert_eq!(again, Some(Ok(opt)));
        }

        let mut hbuf = [0u8; 60];
        let n = tcp.emit(&mut hbuf).expect("re-emit a parsed TCP header");
        assert_eq!(n, tcp.len());
        assert_eq!(n % 4, 0);
        let (tcp2, n2) = TcpHeader::parse(&hbuf[..n]).expect("re-parse an emitted TCP header");
        assert_eq!(tcp, tcp2);
        assert_eq!(n, n2);

        let payload = &data[header_len..];
        let addrs = [
            (
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            ),
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            ),
        ];
        for (src, dst) in addrs {
            let mut buf = vec![0u8; tcp.len() + payload.len()];
            let n = emit_tcp_segment(&tcp, payload, src, dst, &mut buf)
                .expect("re-emit a parsed TCP segment");
            let (tcp2, range) =
                parse_tcp_segment(src, dst, &buf[..n]).expect("re-parse an emitted segment");
            assert_eq!(tcp, tcp2);
            assert_eq!(&buf[range], payload);
        }
    }
}
