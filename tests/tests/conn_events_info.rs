//! Application events and `info()` (TCP_INFO-like), over the two-connection harness and a
//! scripted peer.

use bytes::Bytes;
use tcp_core::wire::TcpFlags;
use tcp_core::{Config, ConnError, Duration, Event, State};
use tcp_tests::lone::Lone;
use tcp_tests::pair::{Dir, Pair, drain};

/// The events of a whole connection life on both sides, in order: Connected and Writable,
/// Readable, PeerClosed, Closed.
#[test]
fn events_of_a_connection_life() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    assert_eq!(&p.events_a[..2], [Event::Connected, Event::Writable]);
    assert_eq!(&p.events_b[..2], [Event::Connected, Event::Writable]);
    let now = p.now;
    p.a.write(now, b"hello").unwrap();
    p.run_until(Duration::from_secs(1), |p| {
        p.events_b.contains(&Event::Readable)
    });
    assert!(p.events_b.contains(&Event::Readable));
    let now = p.now;
    let mut got = Vec::new();
    drain(p.b(), now, &mut got);
    assert_eq!(got, b"hello");
    p.a.close(now);
    assert!(p.run_until(Duration::from_secs(1), |p| {
        p.events_b.contains(&Event::PeerClosed)
    }));
    let now = p.now;
    let mut rest = Vec::new();
    assert!(drain(p.b(), now, &mut rest), "end-of-stream");
    p.b().close(now);
    assert!(p.run_until(Duration::from_secs(120), |p| {
        p.a.state() == State::Closed && p.b.as_ref().unwrap().state() == State::Closed
    }));
    assert_eq!(p.events_a.last(), Some(&Event::Closed));
    assert_eq!(p.events_b.last(), Some(&Event::Closed));
    assert!(!p.events_a.iter().any(|e| matches!(e, Event::Error(_))));
}

/// The handshake and close on the wire between two real ends, with relative numbers:
/// SYN 0, SYN-ACK 0/1, ACK 1/1; FIN u; FIN w with the ACK of u; ACK w+1.
#[test]
fn handshake_and_close_numbers_on_the_wire() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    let now = p.now;
    p.a.write(now, &[1u8; 100]).unwrap();
    p.run_for(Duration::from_millis(100));
    let now = p.now;
    let mut sink = Vec::new();
    drain(p.b(), now, &mut sink);
    p.a.close(now);
    p.run_until(Duration::from_secs(1), |p| {
        p.b.as_ref().unwrap().state() == State::CloseWait
    });
    let now = p.now;
    drain(p.b(), now, &mut sink);
    p.b().close(now);
    p.run_until(Duration::from_secs(120), |p| p.a.state() == State::Closed);
    let t: Vec<_> = p
        .trace_rel()
        .into_iter()
        .map(|(d, f, s, a, n, dropped)| {
            assert!(!dropped);
            (d, f, s, a, n)
        })
        .collect();
    let (ab, ba) = (Dir::AtoB, Dir::BtoA);
    let (s, sa, a, fa) = (
        TcpFlags::SYN,
        TcpFlags::SYN | TcpFlags::ACK,
        TcpFlags::ACK,
        TcpFlags::FIN | TcpFlags::ACK,
    );
    assert_eq!(
        t,
        [
            (ab, s, 0, 0, 0),
            (ba, sa, 0, 1, 0),
            (ab, a, 1, 1, 0),
            (ab, a, 1, 1, 100),
            (ba, a, 1, 101, 0),
            (ab, fa, 101, 1, 0),
            // The FIN puts B in ping-pong mode: its ACK waits (Linux's tcp_fin) and rides on
            // B's own FIN, sent before the delayed ACK was due.
            (ba, fa, 1, 102, 0),
            (ab, a, 102, 2, 0),
        ]
    );
}

/// Reset by the peer: Error(Reset) then Closed.
#[test]
fn reset_event() {
    let mut l = Lone::established(Config::default());
    let h = l.seg(TcpFlags::RST, 1, 0);
    l.input(h, Bytes::new());
    assert_eq!(
        l.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

/// Timed out: Error(TimedOut) then Closed.
#[test]
fn timed_out_event() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.retries2 = 1;
        config
    });
    l.write(10);
    while l.c.state() != State::Closed {
        l.fire();
    }
    assert_eq!(
        l.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

/// `info()` after a transfer reports state, RTT, RTO, windows, MSS, byte counters and
/// retransmissions.
#[test]
fn info_fields() {
    // No tail loss probe, so the timer fired below is the RTO.
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.nodelay = true;
        config.tail_loss_probe = false;
        config
    });
    let i = l.c.info();
    assert_eq!(i.state, State::Established);
    assert_eq!(i.snd_mss, 1460);
    assert_eq!(i.cwnd, 10 * 1460);
    assert_eq!(i.cwnd_segments, 10);
    assert_eq!(i.snd_wscale, 7, "the peer's");
    assert_eq!(i.rcv_wscale, 10, "ours: Linux's for tcp_rmem[2] = 32 MiB");
    assert!(i.sack && !i.timestamps);
    assert_eq!(
        i.congestion_control, "cubic",
        "Linux's default and its name"
    );

    l.write(3000);
    assert_eq!(l.c.info().bytes_in_flight, 3000);
    assert_eq!(l.c.info().unacked_bytes, 3000);
    l.set_time(l.now + Duration::from_millis(50));
    l.ack(1, 1461);
    l.fire(); // RTO: retransmission of 1461..
    let i = l.c.info();
    assert_eq!(i.retransmits, 1);
    assert_eq!(i.stats.retransmits, 1);
    assert!(i.backoff >= 1);
    l.ack(1, 3001);
    l.peer_window = 100;
    l.data(1, 3001, 700);
    let i = l.c.info();
    assert_eq!(i.retransmits, 0, "reset by the new ACK");
    assert_eq!(i.stats.retransmits, 1, "the total stays");
    assert_eq!(i.stats.bytes_sent, 3000);
    assert_eq!(
        i.stats.bytes_acked, 3001,
        "our SYN counts, as in Linux's tcpi_bytes_acked"
    );
    assert_eq!(i.stats.bytes_received, 700);
    assert_eq!(i.bytes_in_flight, 0);
    assert_eq!(i.snd_wnd, 100 << 7);
    assert!(i.rcv_wnd > 0);
    assert_eq!(i.recv_buffered, 700);
    assert!(i.srtt.is_some());
    assert!(i.rto >= Duration::from_millis(200));
    assert!(i.ssthresh < u32::MAX);
}

/// `TCP_INFO` in Linux's terms through one loss episode: SACKs without a declared loss
/// are Disorder, a loss starts Recovery with the lost and SACKed segments counted, a
/// timeout is Loss until everything outstanding then is acknowledged, and the window
/// counts in segments (`tcpi_snd_cwnd`, `tcpi_snd_ssthresh` 0x7fffffff until a
/// reduction).
#[test]
fn tcp_info_follows_linux_congestion_states_and_counts_segments() {
    use tcp_core::conn::CaState;
    use tcp_tests::lone::{LOCAL_ISS, PEER_ISN, PeerOpts, syn_header};
    // A 100 ms handshake RTT, so RACK allows a quarter of it for reordering.
    let mut l = Lone::client({
        let mut config: Config = Config::default();
        config.nodelay = true;
        config
    });
    l.set_time(l.now + Duration::from_millis(100));
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    l.input(h, Bytes::new());
    l.out.clear();
    let t = l.c.tcp_info(l.now);
    assert_eq!(
        (t.ca_state, t.snd_cwnd, t.snd_ssthresh),
        (CaState::Open, 10, 0x7fff_ffff)
    );
    assert_eq!(t.snd_mss, 1460);
    assert_eq!(
        t.options,
        tcp_core::conn::tcpi_options::SACK | tcp_core::conn::tcpi_options::WSCALE
    );
    l.write(10 * 1460);
    let t = l.c.tcp_info(l.now);
    assert_eq!((t.unacked, t.notsent_bytes, t.data_segs_out), (10, 0, 10));
    l.set_time(l.now + Duration::from_millis(100));
    // Segment 1 is missing; 2 is SACKed: Disorder.
    l.sack(1, 1, &[(1461, 2921)]);
    let t = l.c.tcp_info(l.now);
    assert_eq!((t.ca_state, t.sacked, t.lost), (CaState::Disorder, 1, 0));
    // Two more SACKed: segment 1 is lost, fast recovery.
    l.sack(1, 1, &[(1461, 5841)]);
    let t = l.c.tcp_info(l.now);
    assert_eq!(t.ca_state, CaState::Recovery);
    assert_eq!((t.sacked, t.lost), (3, 1));
    assert_eq!(t.total_retrans, 1, "the lost segment went again");
    // Everything acknowledged: Open with the reduced window.
    l.ack(1, 10 * 1460 + 1);
    let t = l.c.tcp_info(l.now);
    assert_eq!((t.ca_state, t.unacked, t.sacked), (CaState::Open, 0, 0));
    assert_eq!(t.snd_ssthresh, 7, "CUBIC's 717/1024 of 10");
    // A timeout: Loss until what was outstanding is acknowledged.
    l.write(1460);
    l.fire();
    l.fire();
    let t = l.c.tcp_info(l.now);
    assert_eq!((t.ca_state, t.total_rto), (CaState::Loss, 1));
    l.ack(1, 11 * 1460 + 1);
    let t = l.c.tcp_info(l.now);
    assert_eq!((t.ca_state, t.total_rto_recoveries), (CaState::Open, 1));
}

/// `close()` in SYN_RCVD sends the FIN once the handshake completes.
#[test]
fn close_in_syn_rcvd_sends_fin_after_establishing() {
    let mut l = Lone::server(Config::default(), tcp_tests::lone::PeerOpts::default());
    l.c.close(l.now);
    assert!(
        l.flush().is_empty(),
        "no FIN before the handshake completes"
    );
    let ans = l.ack(1, 1);
    assert_eq!(l.c.state(), State::FinWait1);
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].flags(), TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!((ans[0].seq(), ans[0].ack()), (1, 1));
}

/// A FIN that arrives beyond a hole is remembered; when the hole fills the FIN counts, the
/// ACK covers it and the connection enters CLOSE_WAIT.
#[test]
fn out_of_order_fin() {
    let mut l = Lone::established(Config::default());
    let h = l.seg(TcpFlags::FIN | TcpFlags::ACK, 101, 1);
    let ans = l.input(h, Bytes::from(vec![0u8; 50]));
    assert_eq!(ans[0].ack(), 1);
    assert_eq!(l.c.state(), State::Established);
    let ans = l.data(1, 1, 100);
    assert_eq!(ans.last().unwrap().ack(), 152);
    assert_eq!(l.c.state(), State::CloseWait);
    let (got, eof) = l.read_all();
    assert_eq!((got.len(), eof), (150, true));
}

/// A hand-made segment injected into one side of a pair: an in-window RST that is not at
/// RCV.NXT draws a challenge ACK onto the wire, and the connection survives.
#[test]
fn injected_inexact_rst_draws_a_challenge_ack() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    let rcv_nxt = p.a.rcv_nxt();
    let h = tcp_core::wire::TcpHeader {
        src_port: tcp_tests::pair::PORT_B,
        dst_port: tcp_tests::pair::PORT_A,
        seq: rcv_nxt + 100,
        flags: TcpFlags::RST,
        ..Default::default()
    };
    let before = p.trace.len();
    p.inject(Dir::BtoA, &h, Bytes::new());
    let t = p.trace_rel();
    assert_eq!(t.len(), before + 1);
    let (d, f, s, a, n, _) = t[before];
    assert_eq!((d, f, s, a, n), (Dir::AtoB, TcpFlags::ACK, 1, 1, 0));
    assert_eq!(p.a.state(), State::Established);
}

/// The delivery-rate estimator behind `tcpi_delivery_rate` (draft-cheng-iccrg-delivery-
/// rate-estimation §3.3): ten segments leave at once from an idle start and are all
/// acknowledged 100 ms later, so 14 600 bytes were delivered over a 100 ms interval.
#[test]
fn tcp_info_reports_the_delivery_rate_and_min_rtt() {
    use tcp_tests::lone::{LOCAL_ISS, PEER_ISN, PeerOpts, syn_header};
    let mut l = Lone::client({
        let mut config: Config = Config::default();
        config.nodelay = true;
        config
    });
    l.set_time(l.now + Duration::from_millis(100));
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    l.input(h, Bytes::new());
    l.out.clear();
    assert_eq!(l.c.tcp_info(l.now).delivery_rate, 0, "no sample yet");
    l.write(10 * 1460);
    l.set_time(l.now + Duration::from_millis(100));
    l.ack(1, 10 * 1460 + 1);
    let t = l.c.tcp_info(l.now);
    assert_eq!(t.delivery_rate, 146_000);
    assert_eq!(t.min_rtt, 100_000);
    // CUBIC does not pace: the pacing rate is Linux's 200 % of cwnd per SRTT.
    assert!(t.pacing_rate > 0 && t.pacing_rate < u64::MAX);
}
