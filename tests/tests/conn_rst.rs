//! RST handling and acceptability: RFC 9293 §3.10.7.4 with the RFC 5961 mitigations
//! (exact RST, challenge ACKs, rate limit, ACK range checks).

use bytes::Bytes;
use tcp_core::wire::TcpFlags;
use tcp_core::{Config, ConnError, Event, State};
use tcp_tests::lone::{LOCAL_ISS, Lone, PeerOpts};

fn rst(l: &mut Lone, seq: u32) -> Vec<tcp_tests::lone::Out> {
    let h = l.seg(TcpFlags::RST, seq, 0);
    l.input(h, Bytes::new())
}

/// RFC 5961 §3.2: a RST with SEQ = RCV.NXT resets the connection; nothing is sent.
#[test]
fn exact_rst_resets() {
    let mut l = Lone::established(Config::default());
    l.data(1, 1, 100);
    let ans = rst(&mut l, 101);
    assert!(ans.is_empty());
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(l.c.error(), Some(ConnError::Reset));
    assert!(l.events.contains(&Event::Error(ConnError::Reset)));
    assert!(l.events.contains(&Event::Closed));
    assert_eq!(l.c.stats().resets_received, 1);
}

/// RFC 5961 §3.2: a RST inside the window but not at RCV.NXT gets a challenge ACK
/// (<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>) and the connection stays.
#[test]
fn inexact_rst_in_window_gets_challenge_ack() {
    let mut l = Lone::established(Config::default());
    l.write(10);
    let ans = rst(&mut l, 1000);
    assert_eq!(ans.len(), 1, "{ans:?}");
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (11, 1));
    assert_eq!(l.c.state(), State::Established);
    assert_eq!(l.c.stats().challenge_acks, 1);
}

/// RFC 5961 §3.2: a RST outside the window is dropped silently.
#[test]
fn rst_outside_window_is_dropped_silently() {
    let mut l = Lone::established(Config::default());
    let ans = rst(&mut l, 0x4000_0000);
    assert!(ans.is_empty());
    let ans = rst(&mut l, 0);
    assert!(ans.is_empty(), "{ans:?}");
    assert_eq!(l.c.state(), State::Established);
}

/// RFC 5961 §4.2: a SYN in a synchronized state gets a challenge ACK, whatever its sequence
/// number, and does not reset the connection.
#[test]
fn syn_in_established_gets_challenge_ack() {
    let mut l = Lone::established(Config::default());
    for seq in [1u32, 500, 0x9000_0000] {
        // Challenge ACKs are limited to one per 500 ms (RFC 5961 §7, Linux).
        l.set_time(l.now + tcp_core::Duration::from_millis(500));
        let h = l.seg(TcpFlags::SYN, seq, 0);
        let ans = l.input(h, Bytes::new());
        assert_eq!(ans.len(), 1, "seq {seq}: {ans:?}");
        assert!(ans[0].is_pure_ack());
        assert_eq!((ans[0].seq(), ans[0].ack()), (1, 1));
        assert_eq!(l.c.state(), State::Established);
    }
}

/// RFC 5961 §7: challenge ACKs are rate-limited per connection, as Linux does: at most one
/// per `invalid_ratelimit` (500 ms, `tcp_invalid_ratelimit`).
#[test]
fn challenge_acks_are_rate_limited() {
    let mut l = Lone::established(Config::default());
    let mut sent = 0;
    for i in 0..10 {
        sent += rst(&mut l, 100 + i).len();
    }
    assert_eq!(sent, 1);
    assert_eq!(l.c.stats().challenge_acks_limited, 9);
    l.set_time(l.now + tcp_core::Duration::from_millis(499));
    assert_eq!(rst(&mut l, 100).len(), 0, "still within 500 ms");
    l.set_time(l.now + tcp_core::Duration::from_millis(1));
    assert_eq!(rst(&mut l, 100).len(), 1, "500 ms later, one more");
}

/// RFC 9293 §3.10.7.4 / RFC 5961 §5.2: an ACK for data never sent is answered with an ACK
/// and the segment (with its data) is dropped.
#[test]
fn ack_of_unsent_data_is_acked_and_dropped() {
    let mut l = Lone::established(Config::default());
    l.write(10);
    let ans = l.data(1, 5000, 100);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (11, 1));
    assert_eq!(l.c.recv_available(), 0, "the data was dropped");
    assert_eq!(l.c.snd_una(), LOCAL_ISS + 1);
}

/// RFC 5961 §5.2: an ACK older than SND.UNA − MAX.SND.WND is not acceptable: the segment
/// is discarded (its data is not taken) and an ACK is sent back.
#[test]
fn too_old_ack_is_discarded() {
    let mut l = Lone::established_with(
        {
            let mut config: Config = Config::default();
            config.nodelay = true;
            config
        },
        PeerOpts {
            wscale: None,
            window: 1000,
            ..PeerOpts::default()
        },
    );
    l.peer_window = 1000;
    for i in 0..5u32 {
        l.write(1000);
        l.ack(1, 1001 + i * 1000);
    }
    assert_eq!(l.c.snd_una(), LOCAL_ISS + 5001);
    // SEG.ACK = 1 < 5001 - 1000.
    let ans = l.data(1, 1, 100);
    assert_eq!(l.c.recv_available(), 0, "the segment is discarded");
    assert_eq!(l.c.stats().ack_too_old, 1);
    assert_eq!(ans.len(), 1, "{ans:?}");
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (5001, 1));
    // A merely duplicate ACK (within MAX.SND.WND) with data is fine.
    l.data(1, 4500, 100);
    assert_eq!(l.c.recv_available(), 100);
}

/// RFC 9293 §3.10.7.4 "fifth": a segment without ACK in a synchronized state is dropped.
#[test]
fn segment_without_ack_is_dropped() {
    let mut l = Lone::established(Config::default());
    let h = l.seg(TcpFlags::PSH, 1, 0);
    let ans = l.input(h, Bytes::from_static(b"hello"));
    assert!(ans.is_empty());
    assert_eq!(l.c.recv_available(), 0);
    assert_eq!(l.c.rcv_nxt(), tcp_tests::lone::PEER_ISN + 1);
    assert_eq!(l.c.stats().no_ack_dropped, 1);
}

/// An old duplicate (entirely below RCV.NXT) is answered with an ACK (RFC 9293
/// §3.10.7.4 "first").
#[test]
fn old_duplicate_segment_is_acked() {
    let mut l = Lone::established(Config::default());
    l.data(1, 1, 100);
    let ans = l.data(1, 1, 100);
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].ack(), 101);
    assert_eq!(l.c.recv_available(), 100);
}

/// RST in SYN_RCVD of a passive open: the half-open connection goes away (RFC 9293
/// §3.10.7.4 "second").
#[test]
fn rst_in_syn_rcvd_drops_the_half_open_connection() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    let h = l.seg(TcpFlags::RST, 1, 0);
    l.input(h, Bytes::new());
    assert_eq!(l.c.state(), State::Closed);
}

/// In SYN_RCVD an ACK that does not acknowledge our SYN is answered with
/// <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.4 "fifth").
#[test]
fn bad_ack_in_syn_rcvd_gets_reset() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    let ans = l.ack(1, 77);
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].flags(), TcpFlags::RST);
    assert_eq!(ans[0].seq(), 77);
    assert_eq!(l.c.state(), State::SynRcvd);
}

/// A RST for a LAST_ACK connection just closes it.
#[test]
fn exact_rst_in_last_ack_closes() {
    let mut l = Lone::established(Config::default());
    let h = l.seg(TcpFlags::FIN | TcpFlags::ACK, 1, 1);
    l.input(h, Bytes::new());
    l.c.close(l.now);
    l.flush();
    assert_eq!(l.c.state(), State::LastAck);
    rst(&mut l, 2);
    assert_eq!(l.c.state(), State::Closed);
}

/// The ACKs sent back for ACKs of unsent data are rate-limited like challenge ACKs
/// (RFC 5961 §7; Linux 6.18 answers one per 500 ms), so a blind attacker cannot make us
/// emit unbounded ACKs.
#[test]
fn acks_for_unsent_data_are_rate_limited() {
    let mut l = Lone::established(Config::default());
    let mut sent = 0;
    for i in 0..10 {
        sent += l.ack(1, 5000 + i).len();
    }
    assert_eq!(sent, 1);
    assert_eq!(l.c.stats().ack_too_new, 10);
}
