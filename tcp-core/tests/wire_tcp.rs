//! The TCP header (RFC 9293 §3.1): flags, header parse/emit, whole segments with checksum.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tcp_core::SeqNum;
use tcp_core::wire::{
    Checksum, TcpFlags, TcpHeader, TcpOptions, Timestamps, WireError, emit_tcp_segment,
    options_iter, parse_tcp_segment, pseudo_header, raw_tcp_options, tcp_checksum,
    verify_tcp_checksum,
};

const V4_SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const V4_DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const V6_SRC: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
const V6_DST: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

fn syn() -> TcpHeader {
    TcpHeader {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNum::new(0xdead_beef),
        ack: SeqNum::new(0),
        flags: TcpFlags::SYN,
        window: 64240,
        urgent: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps { val: 42, ecr: 0 }),
            ..Default::default()
        },
    }
}

// ---- flags ----

#[test]
fn flag_constants_have_their_wire_bits() {
    let all = [
        (TcpFlags::FIN, 0x01),
        (TcpFlags::SYN, 0x02),
        (TcpFlags::RST, 0x04),
        (TcpFlags::PSH, 0x08),
        (TcpFlags::ACK, 0x10),
        (TcpFlags::URG, 0x20),
        (TcpFlags::ECE, 0x40),
        (TcpFlags::CWR, 0x80),
    ];
    for (flag, bits) in all {
        assert_eq!(flag.bits(), bits);
        assert_eq!(TcpFlags::from_bits(bits), flag);
    }
    assert_eq!(TcpFlags::empty().bits(), 0);
    assert_eq!(TcpFlags::default(), TcpFlags::empty());
}

#[test]
fn flag_set_operations_combine_and_test_bits() {
    let mut f = TcpFlags::SYN | TcpFlags::ACK;
    assert!(f.contains(TcpFlags::SYN));
    assert!(f.contains(TcpFlags::SYN | TcpFlags::ACK));
    assert!(!f.contains(TcpFlags::SYN | TcpFlags::FIN));
    assert!(f.intersects(TcpFlags::SYN | TcpFlags::FIN));
    assert!(!f.intersects(TcpFlags::RST | TcpFlags::FIN));
    f.remove(TcpFlags::SYN);
    assert_eq!(f, TcpFlags::ACK);
    f.insert(TcpFlags::FIN);
    f |= TcpFlags::PSH;
    assert_eq!(f.bits(), 0x19);
    assert_eq!(f & TcpFlags::FIN, TcpFlags::FIN);
    assert!((f & TcpFlags::SYN).is_empty());
}

#[test]
fn flags_debug_prints_tcpdump_letters() {
    let cases = [
        (TcpFlags::SYN, "S"),
        (TcpFlags::SYN | TcpFlags::ACK, "S."),
        (TcpFlags::PSH | TcpFlags::ACK, "P."),
        (TcpFlags::FIN | TcpFlags::ACK, "F."),
        (TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK, "FP."),
        (TcpFlags::RST, "R"),
        (TcpFlags::ACK, "."),
        (TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR, "SEW"),
        (TcpFlags::URG | TcpFlags::ACK, ".U"),
        (TcpFlags::empty(), "none"),
    ];
    for (flags, text) in cases {
        assert_eq!(format!("{flags:?}"), text);
        assert_eq!(flags.to_string(), text);
    }
}

// ---- header ----

#[test]
fn minimal_header_parses_every_field() {
    let raw = [
        0x9c, 0x40, 0x00, 0x50, // ports 40000 -> 80
        0x00, 0x00, 0x00, 0x01, // seq 1
        0xff, 0xff, 0xff, 0xff, // ack
        0x50, 0x18, // doff 5, PSH|ACK
        0x01, 0x00, // window 256
        0xab, 0xcd, // checksum (not checked here)
        0x00, 0x07, // urgent 7
        b'h', b'i',
    ];
    let (h, len) = TcpHeader::parse(&raw).unwrap();
    assert_eq!(len, 20);
    assert_eq!(h.src_port, 40000);
    assert_eq!(h.dst_port, 80);
    assert_eq!(h.seq, SeqNum::new(1));
    assert_eq!(h.ack, SeqNum::new(u32::MAX));
    assert_eq!(h.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(h.window, 256);
    assert_eq!(h.urgent, 7);
    assert_eq!(h.options, TcpOptions::default());
}

#[test]
fn reserved_bits_are_ignored() {
    let mut raw = [0u8; 20];
    raw[12] = 0x5f;
    let (h, _) = TcpHeader::parse(&raw).unwrap();
    let mut out = [0u8; 20];
    h.emit(&mut out).unwrap();
    assert_eq!(out[12], 0x50);
}

#[test]
fn header_shorter_than_20_bytes_is_truncated() {
    for n in 0..20 {
        let raw = [0x50u8; 20];
        assert_eq!(TcpHeader::parse(&raw[..n]), Err(WireError::Truncated));
    }
}

#[test]
fn data_offset_below_five_is_rejected() {
    for doff in 0..5u8 {
        let mut raw = [0u8; 40];
        raw[12] = doff << 4;
        assert_eq!(TcpHeader::parse(&raw), Err(WireError::BadDataOffset(doff)));
    }
}

#[test]
fn data_offset_past_the_segment_is_rejected() {
    let mut raw = [1u8; 24];
    raw[12] = 7 << 4;
    assert_eq!(TcpHeader::parse(&raw), Err(WireError::BadDataOffset(7)));
    raw[12] = 6 << 4;
    assert!(TcpHeader::parse(&raw).is_ok());
}

#[test]
fn malformed_options_fail_the_header() {
    let mut raw = [0u8; 24];
    raw[12] = 6 << 4;
    raw[20..24].copy_from_slice(&[2, 1, 0, 0]);
    assert_eq!(
        TcpHeader::parse(&raw),
        Err(WireError::BadOptionLength { kind: 2, len: 1 })
    );
}

#[test]
fn header_emit_writes_zero_checksum_and_parses_back() {
    let h = syn();
    let mut buf = [0xffu8; 60];
    let n = h.emit(&mut buf).unwrap();
    assert_eq!(n, 40);
    assert_eq!(n, h.len());
    assert_eq!(buf[12] >> 4, 10);
    assert_eq!(&buf[16..18], &[0, 0]);
    assert_eq!(TcpHeader::parse(&buf[..n]).unwrap(), (h, 40));
}

#[test]
fn header_emit_into_short_buffer_is_an_error() {
    let h = syn();
    let mut buf = [0u8; 39];
    assert_eq!(
        h.emit(&mut buf),
        Err(WireError::BufferTooSmall {
            needed: 40,
            available: 39
        })
    );
}

#[test]
fn raw_options_of_a_segment_feed_options_iter() {
    let mut buf = [0u8; 60];
    let n = syn().emit(&mut buf).unwrap();
    let raw = raw_tcp_options(&buf[..n]).unwrap();
    assert_eq!(raw.len(), 20);
    assert_eq!(options_iter(raw).count(), 5);
    assert_eq!(raw_tcp_options(&buf[..10]), Err(WireError::Truncated));
    buf[12] = 0x40;
    assert_eq!(raw_tcp_options(&buf[..n]), Err(WireError::BadDataOffset(4)));
    buf[12] = 0xf0;
    assert_eq!(
        raw_tcp_options(&buf[..n]),
        Err(WireError::BadDataOffset(15))
    );
}

// ---- whole segments ----

#[test]
fn segment_round_trips_with_checksum_over_ipv4_and_ipv6() {
    for (src, dst) in [(V4_SRC, V4_DST), (V6_SRC, V6_DST)] {
        for payload in [&b""[..], b"x", b"hello, world", &[0xff; 1001]] {
            let h = TcpHeader {
                flags: TcpFlags::PSH | TcpFlags::ACK,
                ..syn()
            };
            let mut buf = [0u8; 1100];
            let n = emit_tcp_segment(&h, payload, src, dst, &mut buf).unwrap();
            assert_eq!(n, h.len() + payload.len());
            assert!(verify_tcp_checksum(src, dst, &buf[..n]));
            let (h2, range) = parse_tcp_segment(src, dst, &buf[..n]).unwrap();
            assert_eq!(h2, h);
            assert_eq!(&buf[range], payload);
        }
    }
}

#[test]
fn corrupted_segment_fails_the_checksum() {
    let mut buf = [0u8; 100];
    let n = emit_tcp_segment(&syn(), b"data", V4_SRC, V4_DST, &mut buf).unwrap();
    for i in 0..n {
        let mut bad = buf;
        bad[i] ^= 0x01;
        assert_eq!(
            parse_tcp_segment(V4_SRC, V4_DST, &bad[..n]),
            Err(WireError::BadChecksum),
            "bit flip in byte {i}"
        );
    }
    // The right bytes but the wrong pseudo-header.
    assert_eq!(
        parse_tcp_segment(V4_DST, V4_DST, &buf[..n]),
        Err(WireError::BadChecksum)
    );
}

#[test]
fn mixed_address_families_are_rejected() {
    let mut buf = [0u8; 100];
    assert_eq!(
        emit_tcp_segment(&syn(), b"", V4_SRC, V6_DST, &mut buf),
        Err(WireError::AddressFamilyMismatch)
    );
    let n = emit_tcp_segment(&syn(), b"", V4_SRC, V4_DST, &mut buf).unwrap();
    assert_eq!(
        parse_tcp_segment(V6_SRC, V4_DST, &buf[..n]),
        Err(WireError::AddressFamilyMismatch)
    );
}

#[test]
fn segment_shorter_than_a_header_is_truncated() {
    assert_eq!(
        parse_tcp_segment(V4_SRC, V4_DST, &[0u8; 19]),
        Err(WireError::Truncated)
    );
}

#[test]
fn segment_emit_into_short_buffer_is_an_error() {
    let mut buf = [0u8; 43];
    assert_eq!(
        emit_tcp_segment(&syn(), b"abcd", V4_SRC, V4_DST, &mut buf),
        Err(WireError::BufferTooSmall {
            needed: 44,
            available: 43
        })
    );
}

#[test]
fn tcp_checksum_ignores_the_current_checksum_field() {
    let mut buf = [0u8; 100];
    let n = emit_tcp_segment(&syn(), b"odd", V6_SRC, V6_DST, &mut buf).unwrap();
    let field = u16::from_be_bytes([buf[16], buf[17]]);
    assert_eq!(tcp_checksum(V6_SRC, V6_DST, &buf[..n]), field);
    buf[16] = 0x12;
    buf[17] = 0x34;
    assert_eq!(tcp_checksum(V6_SRC, V6_DST, &buf[..n]), field);
    assert!(!verify_tcp_checksum(V6_SRC, V6_DST, &buf[..n]));
}

#[test]
fn checksum_matches_pseudo_header_plus_segment_by_hand() {
    let mut buf = [0u8; 100];
    let n = emit_tcp_segment(&syn(), b"abc", V4_SRC, V4_DST, &mut buf).unwrap();
    let mut ck = pseudo_header(V4_SRC, V4_DST, 6, n as u32);
    let mut zeroed = buf;
    zeroed[16] = 0;
    zeroed[17] = 0;
    ck.add_bytes(&zeroed[..n]);
    assert_eq!(ck.finish(), u16::from_be_bytes([buf[16], buf[17]]));
    let mut whole = Checksum::new();
    whole.add_bytes(&[192, 0, 2, 1, 192, 0, 2, 2, 0, 6, 0, n as u8]);
    whole.add_bytes(&buf[..n]);
    assert_eq!(whole.finish(), 0);
}
