//! Listen backlog: SYN queue and accept queue behave like Linux's (issue: N SYNs against a
//! backlog of k with accept not called, with and without SYN cookies).

use bytes::Bytes;
use std::net::SocketAddr;
use tcp_core::endpoint::{EndpointEvent, SynCookies};
use tcp_core::wire::{TcpFlags, TcpHeader, emit_tcp_segment};
use tcp_core::{Config, Duration, EndpointConfig, State};
use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP, Side};

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_IP, 80)
}

fn pair(max_syn_backlog: usize, syncookies: SynCookies) -> EpPair {
    let c = EndpointConfig::with_secret([1; 16]);
    let s = {
        let mut ep_config = EndpointConfig::with_secret([2; 16]);
        ep_config.max_syn_backlog = max_syn_backlog;
        ep_config.syncookies = syncookies;
        ep_config
    };
    EpPair::new(Config::default(), c, s, Duration::from_millis(5))
}

/// The requests the server reported with `EndpointEvent::Incoming`, in order.
fn incoming_requests(p: &EpPair) -> Vec<tcp_core::endpoint::IncomingHandle> {
    p.server_events
        .iter()
        .filter_map(|e| match e {
            EndpointEvent::Incoming(h) => Some(*h),
            _ => None,
        })
        .collect()
}

fn count(p: &EpPair, from: Side, want: TcpFlags) -> usize {
    p.trace
        .iter()
        .filter(|s| s.from == from && s.header.flags == want)
        .count()
}

#[test]
fn accept_queue_full_drops_final_acks_and_new_syns_until_accept_makes_room() {
    let mut p = pair(1024, SynCookies::OnOverflow);
    let l = p.server.listen(server_addr(), 2).expect("listen");
    let now = p.now;
    let clients: Vec<_> = (0..5)
        .map(|_| {
            p.client
                .connect(now, CLIENT_IP, server_addr())
                .expect("connect")
        })
        .collect();
    p.run_for(Duration::from_millis(100));
    // All five SYNs arrived while the accept queue was empty: five SYN-ACKs, five ACKs.
    assert_eq!(count(&p, Side::Server, TcpFlags::SYN | TcpFlags::ACK), 5);
    assert_eq!(
        p.server.queue_lengths(l).expect("listener"),
        (2, 3),
        "2 accepted into the queue, 3 still half-open"
    );
    assert_eq!(
        p.server.stats().accept_queue_overflow,
        3,
        "three final ACKs dropped"
    );
    // Every client believes it is connected (the server only dropped ACKs, no RST).
    for &c in &clients {
        assert_eq!(
            p.client.connection(c).expect("client conn").state(),
            State::Established
        );
    }
    assert_eq!(count(&p, Side::Server, TcpFlags::RST), 0);

    // A sixth client's SYN is dropped outright while the accept queue is full.
    let now = p.now;
    let late = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.client.connection(late).expect("late").state(),
        State::SynSent
    );
    assert_eq!(p.server.stats().accept_queue_overflow, 4);

    // accept hands out the oldest first; room lets the next SYN-ACK retransmission's ACK in.
    let first = p.server.accept(l).expect("listener").expect("a connection");
    let second = p.server.accept(l).expect("listener").expect("a connection");
    // Oldest first: the first two clients' final ACKs arrived first.
    let port = |h| p.client.tuple(h).expect("tuple").local.port();
    assert_eq!(
        p.server.tuple(first).expect("t").remote.port(),
        port(clients[0])
    );
    assert_eq!(
        p.server.tuple(second).expect("t").remote.port(),
        port(clients[1])
    );
    assert_eq!(p.server.accept(l).expect("listener"), None);
    p.run_for(Duration::from_secs(3));
    let (accept_len, _) = p.server.queue_lengths(l).expect("listener");
    assert_eq!(
        accept_len, 2,
        "two half-open entries completed after SYN-ACK retransmission"
    );
    assert!(p.server.stats().synack_retransmits >= 3);
    // The sixth client's SYN retransmission (at 1 s) found the queue full again or got in
    // later: in any case nothing was reset.
    assert_eq!(count(&p, Side::Server, TcpFlags::RST), 0);
}

#[test]
fn syn_queue_overflow_without_cookies_drops_syns_and_clients_retry() {
    let mut p = pair(2, SynCookies::Never);
    let l = p.server.listen(server_addr(), 16).expect("listen");
    let now = p.now;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            p.client
                .connect(now, CLIENT_IP, server_addr())
                .expect("connect")
        })
        .collect();
    // SYNs arrive together: two fit the SYN queue, two are dropped.
    p.run_for(Duration::from_millis(2));
    p.run_for(Duration::from_millis(20));
    assert_eq!(p.server.stats().syn_queue_overflow, 2);
    assert_eq!(count(&p, Side::Server, TcpFlags::SYN | TcpFlags::ACK), 2);
    assert_eq!(p.server.queue_lengths(l).expect("listener").0, 2);
    // The dropped clients retransmit their SYN after 1 s and get in.
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.server.queue_lengths(l).expect("listener").0, 4);
    for c in clients {
        assert_eq!(
            p.client.connection(c).expect("client").state(),
            State::Established
        );
    }
    assert_eq!(p.server.stats().cookies_sent, 0);
}

#[test]
fn syn_queue_overflow_with_cookies_answers_statelessly_and_validates_the_ack() {
    let mut p = pair(2, SynCookies::OnOverflow);
    let l = p.server.listen(server_addr(), 16).expect("listen");
    let now = p.now;
    let clients: Vec<_> = (0..5)
        .map(|_| {
            p.client
                .connect(now, CLIENT_IP, server_addr())
                .expect("connect")
        })
        .collect();
    p.run_for(Duration::from_millis(50));
    assert_eq!(p.server.stats().cookies_sent, 3);
    assert_eq!(p.server.stats().cookies_validated, 3);
    assert_eq!(p.server.queue_lengths(l).expect("listener"), (5, 0));
    // Cookie connections carry data like any other and kept SACK/window scaling through
    // the timestamp bits.
    let mut accepted = Vec::new();
    while let Some(h) = p.server.accept(l).expect("listener") {
        accepted.push(h);
    }
    assert_eq!(accepted.len(), 5);
    for &h in &accepted {
        let info = p.server.connection(h).expect("server conn").info();
        assert!(info.sack, "SACK survives the cookie");
        assert_eq!(info.snd_wscale, 10, "window scale survives the cookie");
    }
    let now = p.now;
    for (k, &c) in clients.iter().enumerate() {
        let msg = vec![k as u8; 3000];
        assert_eq!(p.client.write(now, c, &msg).expect("write"), 3000);
    }
    p.run_for(Duration::from_millis(100));
    let mut total = 0;
    for &h in &accepted {
        let mut buf = [0u8; 8192];
        let now = p.now;
        let n = p.server.read(now, h, &mut buf).expect("read");
        assert_eq!(n, 3000);
        assert!(buf[..n].iter().all(|&b| b == buf[0]));
        total += n;
    }
    assert_eq!(total, 15000);
}

#[test]
fn an_ack_with_a_forged_cookie_is_answered_with_rst_seq_equal_to_its_ack() {
    let mut p = pair(0, SynCookies::Always);
    p.server.listen(server_addr(), 16).expect("listen");
    // A bare ACK to the listener, as from a peer that never sent a SYN.
    let mut raw = tcp_core::Endpoint::new(Config::default(), EndpointConfig::default());
    let _ = &mut raw;
    let hdr = tcp_core::wire::TcpHeader {
        src_port: 5555,
        dst_port: 80,
        seq: tcp_core::SeqNum::new(1000),
        ack: tcp_core::SeqNum::new(777_777),
        flags: TcpFlags::ACK,
        window: 1000,
        urgent: 0,
        options: Default::default(),
    };
    let mut buf = vec![0u8; 64];
    let n =
        tcp_core::wire::emit_tcp_segment(&hdr, &[], CLIENT_IP, SERVER_IP, &mut buf).expect("emit");
    buf.truncate(n);
    let now = p.now;
    p.server
        .handle_segment(now, CLIENT_IP, SERVER_IP, bytes::Bytes::from(buf))
        .expect("valid");
    let t = p.server.poll_transmit(now).expect("a reset");
    assert_eq!(t.segment.header.flags, TcpFlags::RST);
    assert_eq!(t.segment.header.seq, tcp_core::SeqNum::new(777_777));
    assert_eq!(p.server.stats().cookies_failed, 1);
}

#[test]
fn incoming_decision_mode_lets_the_embedder_accept_refuse_or_ignore() {
    let mut p = EpPair::default_pair(Duration::from_millis(5));
    let opts = tcp_core::endpoint::ListenOptions {
        backlog: 8,
        decide: true,
    };
    let listener = p.server.listen_with(server_addr(), opts).expect("listen");
    let now = p.now;
    let a = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    let b = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    let c = p
        .client
        .connect(now, CLIENT_IP, server_addr())
        .expect("connect");
    p.run_for(Duration::from_millis(20));
    let incoming = incoming_requests(&p);
    assert_eq!(incoming.len(), 3);
    assert_eq!(
        count(&p, Side::Server, TcpFlags::SYN | TcpFlags::ACK),
        0,
        "no SYN-ACK before a decision"
    );
    let info = p.server.incoming(incoming[0]).expect("pending");
    assert_eq!(info.listener, listener, "the request names its listener");
    assert_eq!(info.remote.ip(), CLIENT_IP);
    assert_eq!(info.mss, Some(1460));
    // "Dial upstream first", then decide.
    p.run_for(Duration::from_millis(300));
    let now = p.now;
    let h = p.server.accept_incoming(now, incoming[0]).expect("accept");
    p.server.refuse_incoming(now, incoming[1]).expect("refuse");
    p.server.ignore_incoming(incoming[2]).expect("ignore");
    assert!(
        p.server.incoming(incoming[2]).is_err(),
        "stale after the decision"
    );
    p.run_for(Duration::from_millis(50));
    assert_eq!(
        p.client.connection(a).expect("a").state(),
        State::Established
    );
    assert_eq!(
        p.server.connection(h).expect("h").state(),
        State::Established
    );
    assert!(
        p.client
            .connection(b)
            .is_ok_and(|c| c.state() == State::Closed)
    );
    assert_eq!(
        p.client.connection(c).expect("c").state(),
        State::SynSent,
        "ignored: still trying"
    );
    // The ignored client's retransmitted SYN surfaces again.
    p.run_for(Duration::from_secs(2));
    let again = p
        .server_events
        .iter()
        .filter(|e| matches!(e, EndpointEvent::Incoming(_)))
        .count();
    assert_eq!(again, 4);
    // None of those ended on its own.
    assert!(
        !p.server_events
            .iter()
            .any(|e| matches!(e, EndpointEvent::IncomingGone(_)))
    );
}

#[test]
fn a_pending_request_that_the_peer_resets_or_nobody_decides_is_reported_gone() {
    let mut p = EpPair::default_pair(Duration::from_millis(5));
    let opts = tcp_core::endpoint::ListenOptions {
        backlog: 8,
        decide: true,
    };
    p.server.listen_with(server_addr(), opts).expect("listen");
    let now = p.now;
    for _ in 0..2 {
        p.client
            .connect(now, CLIENT_IP, server_addr())
            .expect("connect");
    }
    p.run_for(Duration::from_millis(20));
    let incoming = incoming_requests(&p);
    assert_eq!(incoming.len(), 2);
    // The first client gives up: its RST (sequence number just after its SYN's) cancels
    // the request.
    let port = p
        .server
        .incoming(incoming[0])
        .expect("pending")
        .remote
        .port();
    let syn = p
        .trace
        .iter()
        .find(|s| s.from == Side::Client && s.header.src_port == port)
        .expect("the SYN")
        .header;
    let rst = TcpHeader {
        src_port: port,
        dst_port: 80,
        seq: syn.seq + 1,
        flags: TcpFlags::RST,
        ..TcpHeader::default()
    };
    let mut buf = vec![0u8; 20];
    let n = emit_tcp_segment(&rst, &[], CLIENT_IP, SERVER_IP, &mut buf).expect("emit");
    let now = p.now;
    p.server
        .handle_segment(now, CLIENT_IP, SERVER_IP, Bytes::copy_from_slice(&buf[..n]))
        .expect("valid");
    p.run_for(Duration::from_millis(20));
    let gone = |p: &EpPair| -> Vec<_> {
        p.server_events
            .iter()
            .filter_map(|e| match e {
                EndpointEvent::IncomingGone(h) => Some(*h),
                _ => None,
            })
            .collect()
    };
    assert_eq!(gone(&p), vec![incoming[0]]);
    assert!(p.server.incoming(incoming[0]).is_err());
    assert!(p.server.incoming(incoming[1]).is_ok());
    // Nobody decides about the second one: it expires (its retransmitted SYNs are the
    // same request, not new ones).
    p.run_for(Duration::from_secs(80));
    assert!(gone(&p).contains(&incoming[1]), "{:?}", gone(&p));
    assert!(p.server.incoming(incoming[1]).is_err());
}
