//! Lifecycle points 1-3 of the Connection issue: active open, passive open, simultaneous
//! open, with the exact sequence and acknowledgment numbers on the wire (RFC 9293 §3.5).

use bytes::Bytes;
use tcp_core::wire::TcpFlags;
use tcp_core::{Config, ConnError, Duration, Event, State, WriteError};
use tcp_tests::lone::{LOCAL_ISS, Lone, PEER_ISN, PeerOpts, T0, ms_since, syn_header};

/// RFC 9293 §3.5: SYN with ISN x, consumes one sequence number, no data, SYN_SENT; the
/// SYN-ACK (y, ack x+1) is answered with seq x+1, ack y+1; the first data byte is x+1.
#[test]
fn active_open_syn_then_final_ack_numbers() {
    let mut l = Lone::client(Config::default());
    assert_eq!(l.c.state(), State::SynSent);
    assert_eq!(l.out.len(), 1);
    let syn = &l.out[0];
    assert_eq!(syn.flags(), TcpFlags::SYN);
    assert_eq!(syn.seg.header.seq, LOCAL_ISS);
    assert!(syn.is_empty(), "a SYN carries no data");
    assert_eq!(syn.seg.seq_len(), 1, "the SYN consumes one sequence number");

    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    let ans = l.input(h, Bytes::new());
    assert_eq!(l.c.state(), State::Established);
    assert_eq!(ans.len(), 1, "{ans:?}");
    assert!(ans[0].is_pure_ack());
    assert_eq!(ans[0].seg.header.seq, LOCAL_ISS + 1, "seq = x+1");
    assert_eq!(ans[0].seg.header.ack, PEER_ISN + 1, "ack = y+1");
    assert_eq!(ans[0].seg.seq_len(), 0);
    assert!(l.events.contains(&Event::Connected));

    // The pure ACK consumed nothing: the first data byte is still x+1.
    let d = l.write(10);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].seq(), 1);
    assert_eq!(d[0].ack(), 1);
    assert_eq!(d[0].len(), 10);
}

/// RFC 6298 §5.5 with Linux's tcp_syn_linear_timeouts (4) and tcp_syn_retries (6): the
/// SYN is retransmitted at 1, 2, 3, 4 and 5 s (four linear timeouts), then backing off at
/// 7, 11, 19, 35 and 67 s, and the connect fails 64 s after the last one (131 s), as
/// `tests/scripts/timers/syn-rto-backoff.pkt` checks against Linux.
#[test]
fn syn_retransmission_timeline_then_timed_out() {
    let mut l = Lone::client(Config::default());
    let mut times = Vec::new();
    while l.c.state() == State::SynSent {
        for o in l.fire() {
            assert_eq!(o.flags(), TcpFlags::SYN);
            assert_eq!(
                o.seg.header.seq, LOCAL_ISS,
                "a retransmitted SYN keeps its ISN"
            );
            times.push(ms_since(T0, o.time));
        }
    }
    assert_eq!(
        times,
        [
            1000, 2000, 3000, 4000, 5000, 7000, 11_000, 19_000, 35_000, 67_000
        ]
    );
    assert_eq!(ms_since(T0, l.now), 131_000);
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
    assert!(l.events.contains(&Event::Error(ConnError::TimedOut)));
    assert!(l.events.contains(&Event::Closed));
    assert_eq!(
        l.c.write(l.now, b"x"),
        Err(WriteError::Failed(ConnError::TimedOut))
    );
    assert_eq!(l.c.poll_timeout(), None);
}

/// `syn_retries` is honoured: 2 retries stand for the 7 s (1 + 2 + 4) they would take;
/// with the linear timeouts the SYN goes at 0, 1, 2, 3, 4, 5 s and the connect fails at the
/// expiry at 7 s (Linux's tcp_write_timeout; `timers/syn-retries-sysctl.pkt`). Without
/// linear timeouts and with a count budget, the classic 0, 1, 3 s and failure at 7 s.
#[test]
fn syn_retries_is_configurable() {
    let mut l = Lone::client({
        let mut config: Config = Config::default();
        config.syn_retries = 2;
        config
    });
    let mut times = Vec::new();
    while l.c.state() == State::SynSent {
        times.extend(l.fire().iter().map(|o| ms_since(T0, o.time)));
    }
    assert_eq!(times, [1000, 2000, 3000, 4000, 5000]);
    assert_eq!(ms_since(T0, l.now), 7000);
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));

    let mut l = Lone::client({
        let mut config_new: Config = Config::default();
        config_new.syn_retries = 2;
        config_new.syn_linear_timeouts = 0;
        config_new.retry_budget = tcp_core::config::RetryBudget::Count;
        config_new
    });
    let mut times = Vec::new();
    while l.c.state() == State::SynSent {
        times.extend(l.fire().iter().map(|o| ms_since(T0, o.time)));
    }
    assert_eq!(times, [1000, 3000]);
    assert_eq!(ms_since(T0, l.now), 7000);
}

/// RFC 9293 §3.10.7.2: SYN x in LISTEN → SYN-ACK with ISN y and ack x+1, SYN_RCVD; the
/// final ACK (seq x+1, ack y+1) establishes; it consumes no sequence number, so the peer's
/// first data byte is x+1.
#[test]
fn passive_open_synack_then_final_ack() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    assert_eq!(l.c.state(), State::SynRcvd);
    assert_eq!(l.out.len(), 1);
    let sa = &l.out[0];
    assert_eq!(sa.flags(), TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(sa.seg.header.seq, LOCAL_ISS);
    assert_eq!(sa.seg.header.ack, PEER_ISN + 1);
    assert!(sa.is_empty());

    let ans = l.ack(1, 1);
    assert!(ans.is_empty(), "a pure ACK is not acknowledged: {ans:?}");
    assert_eq!(l.c.state(), State::Established);
    assert!(l.events.contains(&Event::Connected));

    let ans = l.data(1, 1, 100);
    assert_eq!(l.c.rcv_nxt(), PEER_ISN + 101);
    assert_eq!(ans.len(), 1, "quick ACK at start");
    assert_eq!(ans[0].seq(), 1);
    assert_eq!(ans[0].ack(), 101);
    let (got, eof) = l.read_all();
    assert_eq!(got.len(), 100);
    assert!(!eof);
}

/// Linux tcp_synack_retries (5): SYN-ACK retransmitted after 1, 2, 4, 8, 16 s; the
/// half-open connection is dropped 32 s after the last one.
#[test]
fn synack_retransmission_then_drop() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    let mut times = Vec::new();
    while l.c.state() == State::SynRcvd {
        for o in l.fire() {
            assert_eq!(o.flags(), TcpFlags::SYN | TcpFlags::ACK);
            assert_eq!(o.seg.header.seq, LOCAL_ISS);
            assert_eq!(o.seg.header.ack, PEER_ISN + 1);
            times.push(ms_since(T0, o.time));
        }
    }
    assert_eq!(times, [1000, 3000, 7000, 15000, 31000]);
    assert_eq!(ms_since(T0, l.now), 63_000);
    assert_eq!(l.c.state(), State::Closed);
}

/// A retransmitted SYN in SYN_RCVD means our SYN-ACK was lost: it is sent again, same
/// numbers.
#[test]
fn retransmitted_syn_in_syn_rcvd_gets_the_synack_again() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    l.set_time(T0 + Duration::from_millis(300));
    let syn = syn_header(
        TcpFlags::SYN,
        PEER_ISN,
        tcp_core::SeqNum::new(0),
        PeerOpts::default(),
    );
    let ans = l.input(syn, Bytes::new());
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].flags(), TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(ans[0].seg.header.seq, LOCAL_ISS);
    assert_eq!(ans[0].seg.header.ack, PEER_ISN + 1);
    assert_eq!(l.c.state(), State::SynRcvd);
}

/// RFC 9293 §3.5 figure 8: both send SYN; each answers the other's SYN with SYN-ACK
/// (seq x, ack y+1) and enters SYN_RCVD; the crossing SYN-ACKs establish both sides.
#[test]
fn simultaneous_open() {
    let mut l = Lone::client(Config::default());
    // The peer's SYN crosses ours.
    let syn = syn_header(
        TcpFlags::SYN,
        PEER_ISN,
        tcp_core::SeqNum::new(0),
        PeerOpts::default(),
    );
    let ans = l.input(syn, Bytes::new());
    assert_eq!(l.c.state(), State::SynRcvd);
    assert_eq!(ans.len(), 1, "{ans:?}");
    assert_eq!(ans[0].flags(), TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(ans[0].seg.header.seq, LOCAL_ISS, "same ISN x");
    assert_eq!(ans[0].seg.header.ack, PEER_ISN + 1, "ack y+1");

    // The peer's SYN-ACK (seq y, ack x+1) arrives.
    let sa = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    let ans = l.input(sa, Bytes::new());
    assert_eq!(l.c.state(), State::Established, "{ans:?}");
    for o in &ans {
        assert!(o.is_pure_ack());
        assert_eq!((o.seq(), o.ack()), (1, 1));
    }
    assert!(l.events.contains(&Event::Connected));
    let d = l.write(5);
    assert_eq!((d[0].seq(), d[0].ack(), d[0].len()), (1, 1, 5));
}

/// Simultaneous open where the peer acknowledges with a plain ACK instead of a SYN-ACK.
#[test]
fn simultaneous_open_completed_by_plain_ack() {
    let mut l = Lone::client(Config::default());
    let syn = syn_header(
        TcpFlags::SYN,
        PEER_ISN,
        tcp_core::SeqNum::new(0),
        PeerOpts::default(),
    );
    l.input(syn, Bytes::new());
    assert_eq!(l.c.state(), State::SynRcvd);
    let ans = l.ack(1, 1);
    assert!(ans.is_empty(), "{ans:?}");
    assert_eq!(l.c.state(), State::Established);
}

/// RFC 9293 §3.10.7.3: in SYN_SENT a SYN-ACK acknowledging something other than our SYN
/// is answered with <SEQ=SEG.ACK><CTL=RST> and otherwise ignored.
#[test]
fn syn_sent_bad_ack_gets_reset() {
    let mut l = Lone::client(Config::default());
    let sa = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 5,
        PeerOpts::default(),
    );
    let ans = l.input(sa, Bytes::new());
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].flags(), TcpFlags::RST);
    assert_eq!(ans[0].seg.header.seq, LOCAL_ISS + 5);
    assert_eq!(l.c.state(), State::SynSent);
}

/// RFC 9293 §3.10.7.3: RST with an acceptable ACK in SYN_SENT: connection refused. A RST
/// without ACK is ignored (RFC 5961 §3.2).
#[test]
fn syn_sent_rst_refuses_only_with_acceptable_ack() {
    let mut l = Lone::client(Config::default());
    let mut h = syn_header(
        TcpFlags::RST,
        PEER_ISN,
        tcp_core::SeqNum::new(0),
        PeerOpts::default(),
    );
    h.options = Default::default();
    assert!(l.input(h, Bytes::new()).is_empty());
    assert_eq!(l.c.state(), State::SynSent);
    let mut h = syn_header(
        TcpFlags::RST | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    h.options = Default::default();
    assert!(l.input(h, Bytes::new()).is_empty());
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(l.c.error(), Some(ConnError::Refused));
    assert!(l.events.contains(&Event::Error(ConnError::Refused)));
}

/// Our final ACK was lost: the server's retransmitted SYN-ACK is answered with an ACK
/// (seq x+1, ack y+1) and the connection stays ESTABLISHED.
#[test]
fn retransmitted_synack_in_established_is_acked() {
    let mut l = Lone::established(Config::default());
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    let ans = l.input(h, Bytes::new());
    assert_eq!(ans.len(), 1, "{ans:?}");
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (1, 1));
    assert_eq!(l.c.state(), State::Established);
}

/// The final ACK of a passive open may carry data: it is delivered.
#[test]
fn final_ack_with_data_establishes_and_delivers() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    let ans = l.data(1, 1, 200);
    assert_eq!(l.c.state(), State::Established);
    assert_eq!(ans.last().unwrap().ack(), 201);
    assert_eq!(l.c.recv_available(), 200);
}

/// Data written before the handshake completes is sent right after it, starting at x+1.
#[test]
fn data_written_in_syn_sent_goes_after_the_handshake() {
    let mut l = Lone::client(Config::default());
    assert_eq!(l.c.write(l.now, &[5u8; 300]), Ok(300));
    assert_eq!(l.flush().len(), 0, "the SYN carries no data");
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    let ans = l.input(h, Bytes::new());
    let d: Vec<_> = ans.iter().filter(|o| !o.is_empty()).collect();
    assert_eq!(d.len(), 1, "{ans:?}");
    assert_eq!((d[0].seq(), d[0].ack(), d[0].len()), (1, 1, 300));
}

/// `from_handshake` (an endpoint's SYN queue or SYN cookie completed the handshake) gives
/// an ESTABLISHED connection with the same numbers as a real handshake: first data byte
/// ISS+1, ack IRS+1, the peer's window scaled, timestamps echoed.
#[test]
fn from_handshake_is_established_with_the_right_numbers() {
    use std::sync::Arc;
    use tcp_core::{Connection, Handshake};
    let hs = Handshake {
        local_port: 80,
        remote_port: 40000,
        iss: LOCAL_ISS,
        irs: PEER_ISN,
        peer_mss: Some(1200),
        peer_wscale: Some(2),
        sack: true,
        ts_recent: Some(4242),
        ts_offset: 0,
        peer_window: 1000,
    };
    let now = T0;
    let mut c = Connection::from_handshake(Arc::new(Config::default()), now, &hs);
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.poll_event(), Some(Event::Connected));
    assert_eq!(c.info().snd_wnd, 4000);
    c.set_nodelay(true);
    c.write(now, &[0u8; 3000]).unwrap();
    let s = c.poll_transmit(now).expect("data");
    assert_eq!(s.header.seq, LOCAL_ISS + 1);
    assert_eq!(s.header.ack, PEER_ISN + 1);
    assert_eq!(s.payload.len(), 1200 - 12);
    assert_eq!(s.header.options.timestamps.unwrap().ecr, 4242);
}
