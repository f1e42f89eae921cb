//! Endpoint demux, handles, RSTs for unmatched segments, TIME_WAIT records, ephemeral
//! ports, and many concurrent connections.

use bytes::Bytes;
use std::net::SocketAddr;
use tcp_core::endpoint::{ConnHandle, EndpointEvent, HandleError};
use tcp_core::wire::{TcpFlags, TcpHeader, emit_tcp_segment};
use tcp_core::{Config, Duration, EndpointConfig, Event, SeqNum, State};
use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP, Side};

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_IP, 80)
}

fn inject(p: &mut EpPair, hdr: TcpHeader, payload: &[u8]) {
    let mut buf = vec![0u8; 60 + payload.len()];
    let n = emit_tcp_segment(&hdr, payload, CLIENT_IP, SERVER_IP, &mut buf).expect("emit");
    buf.truncate(n);
    let now = p.now;
    p.server
        .handle_segment(now, CLIENT_IP, SERVER_IP, Bytes::from(buf))
        .expect("valid");
}

fn hdr(flags: TcpFlags, seq: u32, ack: u32) -> TcpHeader {
    TcpHeader {
        src_port: 4444,
        dst_port: 80,
        seq: SeqNum::new(seq),
        ack: SeqNum::new(ack),
        flags,
        window: 1000,
        urgent: 0,
        options: Default::default(),
    }
}

#[test]
fn a_syn_to_a_closed_port_gets_rst_ack_with_ack_seq_plus_one() {
    let mut p = EpPair::default_pair(Duration::from_millis(1));
    inject(&mut p, hdr(TcpFlags::SYN, 5000, 0), &[]);
    let now = p.now;
    let t = p.server.poll_transmit(now).expect("reset");
    assert_eq!(t.segment.header.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!(t.segment.header.seq, SeqNum::new(0));
    assert_eq!(t.segment.header.ack, SeqNum::new(5001));
    assert_eq!(t.dst, SocketAddr::new(CLIENT_IP, 4444));
}

#[test]
fn an_ack_to_a_listener_gets_rst_with_seq_equal_to_the_ack() {
    let mut p = EpPair::default_pair(Duration::from_millis(1));
    p.server.listen(server_addr(), 4).expect("listen");
    inject(&mut p, hdr(TcpFlags::ACK, 5000, 123_456), &[]);
    let now = p.now;
    let t = p.server.poll_transmit(now).expect("reset");
    assert_eq!(t.segment.header.flags, TcpFlags::RST);
    assert_eq!(t.segment.header.seq, SeqNum::new(123_456));
}

#[test]
fn no_rst_is_sent_in_reply_to_a_rst_and_rsts_are_rate_limited() {
    let c = EndpointConfig::with_secret([1; 16]);
    let s = {
        let mut ep_config = EndpointConfig::with_secret([2; 16]);
        ep_config.rst_rate_limit = 3;
        ep_config
    };
    let mut p = EpPair::new(Config::default(), c, s, Duration::from_millis(1));
    inject(&mut p, hdr(TcpFlags::RST, 5000, 0), &[]);
    let now = p.now;
    assert!(p.server.poll_transmit(now).is_none());
    for k in 0..10 {
        inject(&mut p, hdr(TcpFlags::SYN, 5000 + k, 0), &[]);
    }
    let mut n = 0;
    while p.server.poll_transmit(now).is_some() {
        n += 1;
    }
    assert_eq!(n, 3);
    assert_eq!(p.server.stats().resets_rate_limited, 7);
}

#[test]
fn stale_handles_return_a_typed_error_and_are_never_reused_silently() {
    let mut p = EpPair::default_pair(Duration::from_millis(1));
    p.server.listen(server_addr(), 4).expect("listen");
    let now = p.now;
    let h = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    p.run_for(Duration::from_millis(10));
    p.client.abort(p.now, h).expect("abort");
    assert_eq!(p.client.connection(h).err(), Some(HandleError::Stale));
    let mut buf = [0u8; 4];
    assert_eq!(
        p.client.read(p.now, h, &mut buf).err(),
        Some(tcp_core::ReadError::UnknownHandle)
    );
    // A new connection may take the same slot, but the old handle still names nothing.
    let h2 = p
        .client
        .connect(p.now, CLIENT_IP, server_addr())
        .expect("connect");
    assert_ne!(h, h2);
    assert_eq!(p.client.connection(h).err(), Some(HandleError::Stale));
    assert!(p.client.connection(h2).is_ok());
}

#[test]
fn ephemeral_ports_are_distinct_and_in_range_for_one_destination() {
    let mut p = EpPair::default_pair(Duration::from_millis(1));
    let now = p.now;
    let mut ports = std::collections::HashSet::new();
    for _ in 0..500 {
        let h = p
            .client
            .connect(now, CLIENT_IP, server_addr())
            .expect("connect");
        let port = p.client.tuple(h).expect("tuple").local.port();
        assert!((32768..=60999).contains(&port));
        assert!(ports.insert(port), "port {port} reused while in use");
    }
    // Not a counter: consecutive ports are not simply sequential from the start of range.
    assert!(!ports.contains(&32768) || !ports.contains(&32769) || !ports.contains(&32770));
}

/// A pair with one established connection (5 ms each way): the pair, the client's handle
/// and the server's.
fn connected_pair() -> (EpPair, ConnHandle, ConnHandle) {
    let mut p = EpPair::default_pair(Duration::from_millis(5));
    let l = p.server.listen(server_addr(), 4).expect("listen");
    let now = p.now;
    let c = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    p.run_for(Duration::from_millis(20));
    let s = p.server.accept(l).expect("l").expect("conn");
    (p, c, s)
}

/// Runs a full close with the client as active closer and returns the pair.
fn closed_pair() -> EpPair {
    let (mut p, c, s) = connected_pair();
    p.client.close(p.now, c).expect("close");
    p.run_for(Duration::from_millis(20));
    p.server.close(p.now, s).expect("close");
    p.run_for(Duration::from_millis(20));
    p
}

#[test]
fn the_active_closer_keeps_a_compact_time_wait_record_for_two_msl() {
    let mut p = closed_pair();
    assert_eq!(p.client.time_wait_count(), 1);
    assert_eq!(p.client.stats().time_wait_created, 1);
    assert_eq!(
        p.server.table_len(),
        0,
        "the passive closer is gone after LAST_ACK"
    );
    p.run_for(Duration::from_secs(59));
    assert_eq!(p.client.time_wait_count(), 1);
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.client.time_wait_count(), 0, "gone after 60 s");
    assert_eq!(p.client.table_len(), 0);
}

#[test]
fn time_wait_reacks_a_retransmitted_fin_ignores_rst_and_restarts_its_timer() {
    let mut p = closed_pair();
    let fin = p
        .trace
        .iter()
        .rfind(|s| s.from == Side::Server && s.header.flags.contains(TcpFlags::FIN))
        .expect("server FIN")
        .clone();
    p.run_for(Duration::from_secs(30));
    // Replay the server's FIN into the client.
    let mut buf = vec![0u8; 80];
    let n = emit_tcp_segment(&fin.header, &[], SERVER_IP, CLIENT_IP, &mut buf).expect("emit");
    buf.truncate(n);
    let now = p.now;
    p.client
        .handle_segment(now, SERVER_IP, CLIENT_IP, Bytes::from(buf.clone()))
        .expect("ok");
    let ack = p.client.poll_transmit(now).expect("re-ACK");
    assert_eq!(ack.segment.header.flags, TcpFlags::ACK);
    assert_eq!(ack.segment.header.ack, fin.header.seq + 1);
    // A RST does not end TIME_WAIT (RFC 1337).
    let mut rst = fin.header;
    rst.flags = TcpFlags::RST;
    rst.seq = fin.header.seq + 1;
    let n = emit_tcp_segment(&rst, &[], SERVER_IP, CLIENT_IP, &mut buf).expect("emit");
    p.client
        .handle_segment(now, SERVER_IP, CLIENT_IP, Bytes::copy_from_slice(&buf[..n]))
        .expect("ok");
    assert_eq!(p.client.time_wait_count(), 1);
    assert_eq!(p.client.stats().time_wait_rst_ignored, 1);
    // The timer restarted at the FIN: still there 59 s after it, gone after 60 s.
    p.run_for(Duration::from_secs(59));
    assert_eq!(p.client.time_wait_count(), 1);
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.client.time_wait_count(), 0);
}

#[test]
fn a_newer_syn_reuses_a_time_wait_tuple_but_an_old_one_does_not() {
    // The server is the active closer here, so its TIME_WAIT meets the client's next SYN.
    let mut p = EpPair::default_pair(Duration::from_millis(5));
    let l = p.server.listen(server_addr(), 4).expect("listen");
    let client_local = SocketAddr::new(CLIENT_IP, 5000);
    let now = p.now;
    let c = p
        .client
        .connect_from(now, client_local, server_addr())
        .expect("connect");
    p.run_for(Duration::from_millis(20));
    let s = p.server.accept(l).expect("l").expect("conn");
    p.server.close(p.now, s).expect("close");
    p.run_for(Duration::from_millis(20));
    p.client.close(p.now, c).expect("close");
    p.run_for(Duration::from_millis(20));
    assert_eq!(p.server.time_wait_count(), 1);
    // An old SYN (timestamp below TS.Recent) is only ACKed; TIME_WAIT stays.
    let last_client_ts = p
        .trace
        .iter()
        .rfind(|s| s.from == Side::Client)
        .and_then(|s| s.header.options.timestamps)
        .expect("client timestamps")
        .val;
    let mut old = hdr(TcpFlags::SYN, 1, 0);
    old.src_port = 5000;
    old.options.timestamps = Some(tcp_core::wire::Timestamps {
        val: last_client_ts - 1000,
        ecr: 0,
    });
    inject(&mut p, old, &[]);
    let now = p.now;
    let reply = p.server.poll_transmit(now).expect("an ACK");
    assert_eq!(reply.segment.header.flags, TcpFlags::ACK);
    assert_eq!(p.server.stats().time_wait_reused, 0);
    assert_eq!(p.server.time_wait_count(), 1);
    // The client's TIME_WAIT-free side reconnects from the same port with newer timestamps.
    p.run_for(Duration::from_secs(1));
    let now = p.now;
    let c2 = p
        .client
        .connect_from(now, client_local, server_addr())
        .expect("reconnect");
    p.run_for(Duration::from_millis(30));
    assert_eq!(p.server.stats().time_wait_reused, 1);
    assert_eq!(
        p.client.connection(c2).expect("c2").state(),
        State::Established
    );
    assert!(p.server.accept(l).expect("l").is_some());
}

#[test]
fn thousands_of_concurrent_connections_each_carry_their_own_data_byte_exact() {
    let mut p = EpPair::default_pair(Duration::from_millis(2));
    let l = p.server.listen(server_addr(), 4096).expect("listen");
    let n = 2000usize;
    let now = p.now;
    let clients: Vec<_> = (0..n)
        .map(|_| {
            p.client
                .connect(now, CLIENT_IP, server_addr())
                .expect("connect")
        })
        .collect();
    p.run_for(Duration::from_millis(50));
    let mut servers = Vec::new();
    while let Some(h) = p.server.accept(l).expect("l") {
        servers.push(h);
    }
    assert_eq!(servers.len(), n);
    // Each client sends a message that names its own port.
    let now = p.now;
    for &c in &clients {
        let port = p.client.tuple(c).expect("t").local.port();
        let msg: Vec<u8> = (0..5000u32).map(|i| (i as u16 ^ port) as u8).collect();
        p.client.write(now, c, &msg).expect("w");
        p.client.shutdown(now, c).expect("s");
    }
    p.run_for(Duration::from_secs(2));
    for &s in &servers {
        let port = p.server.tuple(s).expect("t").remote.port();
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let now = p.now;
            match p.server.read(now, s, &mut buf) {
                Ok(0) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) => panic!("read: {e}"),
            }
        }
        let want: Vec<u8> = (0..5000u32).map(|i| (i as u16 ^ port) as u8).collect();
        assert_eq!(got, want, "connection from port {port}");
    }
    let readable = p
        .server_events
        .iter()
        .filter(|e| matches!(e, EndpointEvent::Conn(_, Event::PeerClosed)))
        .count();
    assert_eq!(readable, n);
}

#[test]
fn has_transmit_is_false_only_when_poll_transmit_has_nothing() {
    let mut p = EpPair::default_pair(Duration::from_millis(1));
    p.server.listen(server_addr(), 4).expect("listen");
    assert!(
        !p.client.has_transmit(),
        "a new endpoint has nothing to send"
    );
    let now = p.now;
    let h = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    assert!(p.client.has_transmit(), "the SYN is queued");
    p.run_for(Duration::from_millis(10));
    assert!(!p.client.has_transmit() && !p.server.has_transmit());
    assert!(p.client.poll_transmit(p.now).is_none());
    // A read that finds nothing queues nothing; a write queues data.
    let mut buf = [0u8; 8];
    assert!(p.client.read(p.now, h, &mut buf).is_err());
    assert!(!p.client.has_transmit());
    p.client.write(p.now, h, b"x").expect("write");
    assert!(p.client.has_transmit());
    assert!(p.client.poll_transmit(p.now).is_some());
}

/// Heap bytes the server's queues hold (the parts `Connection::memory_parts` names).
fn server_queue_bytes(p: &EpPair) -> usize {
    p.server
        .memory_parts()
        .iter()
        .filter(|m| {
            [
                "heap: send buffer bookkeeping",
                "heap: receive buffer bookkeeping",
                "heap: write queue",
                "heap: output queues",
            ]
            .contains(&m.name)
        })
        .map(|m| m.bytes)
        .sum()
}

/// After a request and a response, a connection idle for a second gives back the memory
/// of its empty queues, and carries the next exchange as before.
#[test]
fn an_idle_connection_gives_its_queue_memory_back_and_works_on() {
    let (mut p, c, s) = connected_pair();
    assert_eq!(
        server_queue_bytes(&p),
        0,
        "an unused connection holds no queues"
    );
    let mut buf = [0u8; 100];
    for round in 0..2u8 {
        p.client.write(p.now, c, &[round; 64]).expect("request");
        p.run_for(Duration::from_millis(20));
        assert_eq!(p.server.read(p.now, s, &mut buf), Ok(64));
        assert_eq!(buf[..64], [round; 64]);
        p.server
            .write(p.now, s, &[round + 10; 64])
            .expect("response");
        p.run_for(Duration::from_millis(100));
        assert!(
            server_queue_bytes(&p) > 0,
            "the queues stay while the connection works"
        );
        assert_eq!(p.client.read(p.now, c, &mut buf), Ok(64));
        assert_eq!(buf[..64], [round + 10; 64]);
        p.run_for(Duration::from_millis(1500));
        assert_eq!(
            server_queue_bytes(&p),
            0,
            "idle for a second: the queues are given back"
        );
    }
    let stats = p.server.connection(s).expect("conn").info().stats;
    assert_eq!((stats.bytes_sent, stats.bytes_received), (128, 128));
}
