//! ICMP errors through `Endpoint::handle_packet` (RFC 1122 §4.2.3.9, RFC 5927): a
//! destination unreachable quoting our SYN fails the connect; one quoting a sequence
//! number outside the data in flight is dropped and counted; one quoting a SYN-ACK of a
//! half-open entry removes the entry when it says the peer cannot be reached (Linux's
//! `tcp_req_err`). Linux's behaviour for the connecting side is also checked by the
//! scripts under `tests/scripts/icmp/`.

use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use tcp_core::endpoint::EndpointEvent;
use tcp_core::wire::{
    Checksum, IPPROTO_ICMP, IcmpProblem, IpHeader, TcpFlags, TcpHeader, emit_ip_header,
    emit_ip_tcp_packet,
};
use tcp_core::{
    Config, ConnError, Endpoint, EndpointConfig, Event, Instant, SeqNum, State, Transmit,
};

const ROUTER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 254));
const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
const REMOTE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

/// An ICMP error of `ty`/`code` from a router, quoting the first 28 bytes of `t` with
/// its sequence number replaced by `seq`.
fn icmp_about(t: &Transmit, ty: u8, code: u8, seq: SeqNum) -> Bytes {
    let h = TcpHeader {
        seq,
        ..t.segment.header
    };
    let mut pkt = vec![0u8; 200];
    let n = emit_ip_tcp_packet(t.src.ip(), t.dst.ip(), &h, &t.segment.payload, &mut pkt).unwrap();
    let mut body = vec![ty, code, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&pkt[..n.min(28)]);
    let mut ck = Checksum::new();
    ck.add_bytes(&body);
    let sum = ck.finish();
    body[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut outer = IpHeader::for_tcp(ROUTER, t.src.ip()).unwrap();
    if let IpHeader::V4(h) = &mut outer {
        h.protocol = IPPROTO_ICMP;
    }
    let mut out = vec![0u8; 20];
    let hl = emit_ip_header(&outer, body.len(), &mut out).unwrap();
    out.truncate(hl);
    out.extend_from_slice(&body);
    Bytes::from(out)
}

fn endpoint() -> Endpoint {
    Endpoint::new(Config::default(), EndpointConfig::default())
}

#[test]
fn port_unreachable_quoting_our_syn_fails_the_connect_and_a_blind_one_is_ignored() {
    let now = Instant::from_secs(1);
    let mut ep = endpoint();
    let h = ep.connect(now, LOCAL, SocketAddr::new(REMOTE, 80)).unwrap();
    let syn = ep.poll_transmit(now).expect("SYN");
    assert!(syn.segment.header.flags.contains(TcpFlags::SYN));
    while ep.poll_event().is_some() {}
    // Quoting a sequence number we never sent: dropped and counted.
    let blind = icmp_about(&syn, 3, 3, syn.segment.header.seq + 1000);
    ep.handle_packet(now, blind).unwrap();
    let c = ep.connection(h).unwrap();
    assert_eq!(c.state(), State::SynSent);
    assert_eq!(c.info().stats.icmp_out_of_window, 1);
    // Quoting the SYN: the connect fails with the port unreachable.
    let real = icmp_about(&syn, 3, 3, syn.segment.header.seq);
    ep.handle_packet(now, real).unwrap();
    let mut failed = None;
    while let Some(e) = ep.poll_event() {
        if let EndpointEvent::Conn(_, Event::Error(err)) = e {
            failed = Some(err);
        }
    }
    assert_eq!(
        failed,
        Some(ConnError::Unreachable(IcmpProblem::PortUnreachable))
    );
    assert_eq!(ep.stats().icmp_in, 2);
}

#[test]
fn host_unreachable_quoting_a_syn_ack_removes_the_half_open_entry() {
    let now = Instant::from_secs(1);
    let mut ep = endpoint();
    ep.listen(SocketAddr::new(LOCAL, 80), 8).unwrap();
    let syn = TcpHeader {
        src_port: 5555,
        dst_port: 80,
        seq: SeqNum::new(7000),
        flags: TcpFlags::SYN,
        window: 65_535,
        ..TcpHeader::default()
    };
    let mut buf = vec![0u8; 100];
    let n = emit_ip_tcp_packet(REMOTE, LOCAL, &syn, &[], &mut buf).unwrap();
    buf.truncate(n);
    ep.handle_packet(now, Bytes::from(buf)).unwrap();
    let synack = ep.poll_transmit(now).expect("SYN-ACK");
    assert_eq!(ep.table_len(), 1);
    // A port unreachable, or any error quoting another sequence number, leaves it.
    ep.handle_packet(now, icmp_about(&synack, 3, 3, synack.segment.header.seq))
        .unwrap();
    ep.handle_packet(
        now,
        icmp_about(&synack, 3, 1, synack.segment.header.seq + 1),
    )
    .unwrap();
    assert_eq!(ep.table_len(), 1);
    // A host unreachable quoting our ISN removes it.
    ep.handle_packet(now, icmp_about(&synack, 3, 1, synack.segment.header.seq))
        .unwrap();
    assert_eq!(ep.table_len(), 0);
    assert_eq!(ep.stats().icmp_in, 3);
}
