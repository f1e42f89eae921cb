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
    let mut pkt = vec![0u8; 100 + t.segment.payload.len()];
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

/// An ICMP fragmentation needed (type 3 code 4) reporting `mtu`, quoting `t` with its
/// sequence number replaced by `seq`.
fn frag_needed_about(t: &Transmit, mtu: u16, seq: SeqNum) -> Bytes {
    let pkt = icmp_about(t, 3, 4, seq);
    let mut v = pkt.to_vec();
    // The MTU sits in the low half of the ICMP header's second word (RFC 1191 §4).
    v[26..28].copy_from_slice(&mtu.to_be_bytes());
    v[22..24].copy_from_slice(&[0, 0]);
    let mut ck = Checksum::new();
    ck.add_bytes(&v[20..]);
    let sum = ck.finish();
    v[22..24].copy_from_slice(&sum.to_be_bytes());
    Bytes::from(v)
}

/// Connects to `REMOTE:port` and completes the handshake with a SYN-ACK offering MSS
/// 1460 and no other option; returns the handle and the SYN we sent.
fn connected(ep: &mut Endpoint, now: Instant, port: u16) -> (tcp_core::ConnHandle, Transmit) {
    let h = ep
        .connect(now, LOCAL, SocketAddr::new(REMOTE, port))
        .unwrap();
    let syn = ep.poll_transmit(now).expect("SYN");
    let mut syn_ack = TcpHeader {
        src_port: port,
        dst_port: syn.segment.header.src_port,
        seq: SeqNum::new(7000),
        ack: syn.segment.header.seq + 1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 65535,
        ..TcpHeader::default()
    };
    syn_ack.options.mss = Some(1460);
    let mut pkt = vec![0u8; 100];
    let n = emit_ip_tcp_packet(REMOTE, LOCAL, &syn_ack, &[], &mut pkt).unwrap();
    pkt.truncate(n);
    ep.handle_packet(now, Bytes::from(pkt)).unwrap();
    while ep.poll_transmit(now).is_some() {}
    while ep.poll_event().is_some() {}
    assert_eq!(ep.connection(h).unwrap().state(), State::Established);
    (h, syn)
}

#[test]
fn fragmentation_needed_resends_the_flight_at_the_new_size_and_is_kept_for_the_destination() {
    let now = Instant::from_secs(1);
    let cfg = {
        let mut config: Config = Config::default();
        config.sack = false;
        config.timestamps = false;
        config
    };
    let mut ep = Endpoint::new(cfg, EndpointConfig::default());
    let (h, _) = connected(&mut ep, now, 80);
    assert_eq!(ep.write(now, h, &[5u8; 4380]), Ok(4380));
    let first = ep.poll_transmit(now).expect("data");
    let mut sent = first.segment.payload.len();
    while let Some(t) = ep.poll_transmit(now) {
        sent += t.segment.payload.len();
    }
    assert_eq!((first.segment.payload.len(), sent), (1460, 4380));
    let una = first.segment.header.seq;
    let cwnd = ep.connection(h).unwrap().info().cwnd;

    // A blind message (not about data in flight) changes nothing.
    ep.handle_packet(now, frag_needed_about(&first, 1000, una + 10_000))
        .unwrap();
    assert_eq!(ep.connection(h).unwrap().path_mtu(), None);
    assert!(ep.poll_transmit(now).is_none());

    // The real one: the MSS becomes 1000 - 40 and the flight is resent from SND.UNA at
    // once, in segments of the new size, with the congestion window unchanged.
    let later = now + tcp_core::Duration::from_millis(5);
    ep.handle_packet(later, frag_needed_about(&first, 1000, una))
        .unwrap();
    let mut resent = Vec::new();
    while let Some(t) = ep.poll_transmit(later) {
        resent.push((t.segment.header.seq, t.segment.payload.len()));
    }
    assert_eq!(
        resent,
        [
            (una, 960),
            (una + 960, 960),
            (una + 1920, 960),
            (una + 2880, 960),
            (una + 3840, 540)
        ]
    );
    let info = ep.connection(h).unwrap().info();
    assert_eq!((info.path_mtu, info.snd_mss), (Some(1000), 960));
    assert_eq!(info.cwnd, cwnd, "no congestion response");
    assert_eq!(
        (info.stats.pmtu_reductions, info.stats.pmtu_retransmits),
        (1, 1)
    );
    assert_eq!(ep.stats().pmtu_learned, 1);

    // A new connection to the same destination starts with the path MTU: its SYN offers
    // an MSS that fits.
    let (h2, syn2) = connected(&mut ep, later, 81);
    assert_eq!(syn2.segment.header.options.mss, Some(960));
    assert_eq!(ep.connection(h2).unwrap().path_mtu(), Some(1000));
    // Ten minutes later the destination's entry has expired.
    let much_later = later + tcp_core::Duration::from_secs(600);
    let (h3, syn3) = connected(&mut ep, much_later, 82);
    assert_eq!(syn3.segment.header.options.mss, Some(1460));
    assert_eq!(ep.connection(h3).unwrap().path_mtu(), None);
}

#[test]
fn fragmentation_needed_below_the_ipv4_floor_sets_552() {
    let now = Instant::from_secs(1);
    let mut ep = endpoint();
    let (h, _) = connected(&mut ep, now, 80);
    assert_eq!(ep.write(now, h, &[5u8; 1460]), Ok(1460));
    let first = ep.poll_transmit(now).expect("data");
    // A router that does not say (MTU 0, RFC 1191 §4's old routers) or claims less than
    // Linux's ip_rt_min_pmtu.
    ep.handle_packet(now, frag_needed_about(&first, 0, first.segment.header.seq))
        .unwrap();
    let info = ep.connection(h).unwrap().info();
    assert_eq!((info.path_mtu, info.snd_mss), (Some(552), 512));
    let mut lens = Vec::new();
    while let Some(t) = ep.poll_transmit(now) {
        lens.push(t.segment.payload.len());
    }
    assert_eq!(lens, [512, 512, 436]);
}
