//! Lifecycle points 3-7 of the Connection issue: simultaneous close, end-of-stream, active
//! and passive close, TIME_WAIT, FIN_WAIT_2 timeout, LAST_ACK retries, shutdown, close with
//! unread data, abort (RFC 9293 §3.6, §3.10.4-5, §3.10.7.4; RFC 2525 §2.17).

use tcp_core::config::RetryBudget;
use tcp_core::wire::TcpFlags;
use tcp_core::{Config, ConnError, Duration, Event, ReadError, State, WriteError};
use tcp_tests::lone::{Lone, ms_since};

fn fin(l: &mut Lone, seq: u32, ack: u32) -> Vec<tcp_tests::lone::Out> {
    let h = l.seg(TcpFlags::FIN | TcpFlags::ACK, seq, ack);
    l.input(h, bytes::Bytes::new())
}

/// Config whose RTO is exactly 1 s after a handshake with a near-zero RTT, so timelines are
/// the RFC 6298 1 s, 2 s, 4 s ...
/// RTO timelines with a 1 s floor; tail loss probes off (as Linux's `tcp_early_retrans=0`)
/// so only the retransmission timer shows.
fn one_second_rto() -> Config {
    {
        let mut config: Config = Config::default();
        config.min_rto = Duration::from_secs(1);
        config.tail_loss_probe = false;
        config
    }
}

/// The retry limit as a count (`RetryBudget::Count`): the lifecycle rule "retransmitted up
/// to the retry limit, then dropped after one more wait of twice the last timeout".
fn counted_orphan_retries(n: u32) -> Config {
    {
        let mut config: Config = one_second_rto();
        config.orphan_retries = n;
        config.retry_budget = RetryBudget::Count;
        config
    }
}

/// Point 4: a read returns end-of-stream once the FIN arrived and all data before it was
/// read; not before.
#[test]
fn read_returns_end_of_stream_after_fin_and_all_data() {
    let mut l = Lone::established(Config::default());
    l.data(1, 1, 300);
    assert_eq!(l.c.read(l.now, &mut [0u8; 100]), Ok(100));
    // The FIN puts the connection in ping-pong mode: its ACK waits for a reply or the
    // delayed-ACK timer (Linux's tcp_fin).
    assert!(fin(&mut l, 301, 1).is_empty());
    let ans = l.fire();
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!(
        (ans[0].seq(), ans[0].ack()),
        (1, 302),
        "the FIN consumes one number"
    );
    assert_eq!(l.c.state(), State::CloseWait);
    assert!(l.events.contains(&Event::PeerClosed));
    let mut buf = [0u8; 1000];
    assert_eq!(l.c.read(l.now, &mut buf), Ok(200), "remaining data first");
    assert_eq!(l.c.read(l.now, &mut buf), Ok(0), "then end-of-stream");
    assert_eq!(l.c.read(l.now, &mut buf), Ok(0), "and it stays there");
}

/// Before the FIN, an empty receive buffer would block.
#[test]
fn read_without_data_or_fin_would_block() {
    let mut l = Lone::established(Config::default());
    assert_eq!(l.c.read(l.now, &mut [0u8; 10]), Err(ReadError::WouldBlock));
}

/// Point 5: close → FIN (seq u) FIN_WAIT_1 → ACK u+1 → FIN_WAIT_2 → peer FIN w → ACK w+1
/// → TIME_WAIT → 2·MSL (60 s) → CLOSED.
#[test]
fn active_close_fin_wait_1_fin_wait_2_time_wait_closed() {
    let mut l = Lone::established(Config::default());
    l.write(100);
    l.ack(1, 101);
    l.c.shutdown().unwrap();
    let f = l.flush();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].flags(), TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!((f[0].seq(), f[0].ack()), (101, 1), "FIN seq u = 101");
    assert_eq!(l.c.state(), State::FinWait1);

    assert!(l.ack(1, 102).is_empty());
    assert_eq!(l.c.state(), State::FinWait2);

    l.set_time(l.now + Duration::from_secs(5));
    let ans = fin(&mut l, 1, 102);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (102, 2), "ACK of w+1");
    assert_eq!(l.c.state(), State::TimeWait);
    let tw = l.now;

    l.advance(Duration::from_secs(60) - Duration::from_micros(1));
    assert_eq!(l.c.state(), State::TimeWait);
    l.advance(Duration::from_micros(1));
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(ms_since(tw, l.now), 60_000);
    assert!(l.events.contains(&Event::Closed));
    assert_eq!(l.c.error(), None);
}

/// 2·MSL is configurable.
#[test]
fn time_wait_length_is_configurable() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.time_wait = Duration::from_secs(4);
        config
    });
    l.c.close(l.now);
    l.flush();
    l.ack(1, 2);
    fin(&mut l, 1, 2);
    assert_eq!(l.c.state(), State::TimeWait);
    let t = l.now;
    while l.c.state() == State::TimeWait {
        l.fire();
    }
    assert_eq!(ms_since(t, l.now), 4000);
}

/// Point 5: a retransmitted FIN in TIME_WAIT is ACKed again (same numbers) and restarts the
/// 2·MSL timer.
#[test]
fn retransmitted_fin_in_time_wait_is_acked_and_restarts_2msl() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    l.flush();
    l.ack(1, 2);
    fin(&mut l, 1, 2);
    assert_eq!(l.c.state(), State::TimeWait);

    l.advance(Duration::from_secs(30));
    let ans = fin(&mut l, 1, 2);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (2, 2));
    let restart = l.now;
    l.advance(Duration::from_secs(59));
    assert_eq!(
        l.c.state(),
        State::TimeWait,
        "the timer restarted at the FIN"
    );
    l.advance(Duration::from_secs(1));
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(ms_since(restart, l.now), 60_000);
}

/// RFC 1337: a RST in TIME_WAIT does not end TIME_WAIT.
#[test]
fn rst_in_time_wait_does_not_end_it() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    l.flush();
    l.ack(1, 2);
    fin(&mut l, 1, 2);
    let h = l.seg(TcpFlags::RST, 2, 0);
    let ans = l.input(h, bytes::Bytes::new());
    assert!(ans.is_empty());
    assert_eq!(l.c.state(), State::TimeWait);
    l.advance(Duration::from_secs(59));
    assert_eq!(l.c.state(), State::TimeWait);
}

/// Point 5: an orphaned FIN_WAIT_2 (application closed) is dropped after `fin_timeout`.
#[test]
fn orphaned_fin_wait_2_times_out_after_fin_timeout() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    l.flush();
    l.ack(1, 2);
    assert_eq!(l.c.state(), State::FinWait2);
    let t = l.now;
    l.advance(Duration::from_secs(59));
    assert_eq!(l.c.state(), State::FinWait2);
    l.advance(Duration::from_secs(1));
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(ms_since(t, l.now), 60_000);
    assert!(l.events.contains(&Event::Closed));
}

/// A half-closed (shutdown, not closed) FIN_WAIT_2 waits for the peer as long as it takes:
/// the application can still read.
#[test]
fn shutdown_fin_wait_2_does_not_time_out_and_reading_continues() {
    let mut l = Lone::established(Config::default());
    l.c.shutdown().unwrap();
    let f = l.flush();
    assert_eq!(
        (f[0].flags(), f[0].seq()),
        (TcpFlags::FIN | TcpFlags::ACK, 1)
    );
    assert_eq!(
        l.c.write(l.now, b"x"),
        Err(WriteError::Closed),
        "no writes after shutdown"
    );
    l.ack(1, 2);
    assert_eq!(l.c.state(), State::FinWait2);
    l.advance(Duration::from_secs(600));
    assert_eq!(l.c.state(), State::FinWait2);
    let ans = l.data(1, 2, 500);
    assert_eq!((ans[0].seq(), ans[0].ack()), (2, 501));
    let (got, eof) = l.read_all();
    assert_eq!(got.len(), 500);
    assert!(!eof);
    fin(&mut l, 501, 2);
    assert_eq!(l.c.state(), State::TimeWait);
    let (_, eof) = l.read_all();
    assert!(eof);
}

/// Point 3: simultaneous close. Both FINs cross: FIN_WAIT_1 → (peer FIN) CLOSING → (ACK of
/// our FIN) TIME_WAIT.
#[test]
fn simultaneous_close_via_closing() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    let f = l.flush();
    assert_eq!((f[0].seq(), f[0].ack()), (1, 1));
    // The peer's FIN does not acknowledge ours.
    let ans = fin(&mut l, 1, 1);
    assert_eq!(l.c.state(), State::Closing);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (2, 2));
    l.ack(2, 2);
    assert_eq!(l.c.state(), State::TimeWait);
    l.advance(Duration::from_secs(60));
    assert_eq!(l.c.state(), State::Closed);
}

/// Point 6: peer FIN → CLOSE_WAIT; the application still writes and the data is delivered;
/// close → FIN → LAST_ACK → ACK → CLOSED (nothing sent in answer to the last ACK).
#[test]
fn passive_close_close_wait_last_ack_closed() {
    let mut l = Lone::established(Config::default());
    let ans = fin(&mut l, 1, 1);
    assert_eq!((ans[0].seq(), ans[0].ack()), (1, 2));
    assert_eq!(l.c.state(), State::CloseWait);

    let d = l.write(1000);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].seq(), d[0].ack(), d[0].len()), (1, 2, 1000));
    l.ack(2, 1001);

    l.c.close(l.now);
    let f = l.flush();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].flags(), TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!((f[0].seq(), f[0].ack()), (1001, 2));
    assert_eq!(l.c.state(), State::LastAck);

    let ans = l.ack(2, 1002);
    assert!(ans.is_empty());
    assert_eq!(l.c.state(), State::Closed);
    assert!(l.events.contains(&Event::Closed));
    assert_eq!(l.c.error(), None);
}

/// Data and FIN can go together: close in CLOSE_WAIT with unsent data sends the data, the
/// FIN after it.
#[test]
fn close_wait_data_then_fin() {
    let mut l = Lone::established(Config::default());
    fin(&mut l, 1, 1);
    l.c.write(l.now, &[7u8; 300]).unwrap();
    l.c.close(l.now);
    let out = l.flush();
    let fin_seg = out.iter().find(|o| o.has(TcpFlags::FIN)).expect("a FIN");
    assert_eq!(
        fin_seg.seq() + fin_seg.len() as u32,
        301,
        "FIN right after the data"
    );
    let total: usize = out.iter().map(|o| o.len()).sum();
    assert_eq!(total, 300);
}

/// Point 6 with `orphan_retries = 2`: the FIN in LAST_ACK is sent, retransmitted twice
/// (after RTO and 2·RTO), then after a final wait of 2× the last timeout (4·RTO) the
/// connection is CLOSED.
#[test]
fn last_ack_fin_retransmission_with_orphan_retries_2() {
    let mut l = Lone::established(counted_orphan_retries(2));
    fin(&mut l, 1, 1);
    l.c.close(l.now);
    let t0 = l.now;
    let f = l.flush();
    assert_eq!(
        (f[0].flags(), f[0].seq()),
        (TcpFlags::FIN | TcpFlags::ACK, 1)
    );
    let r = l.c.info().rto;
    assert!(r >= Duration::from_secs(1) && r < Duration::from_millis(1001));
    let mut rtx = Vec::new();
    while l.c.state() == State::LastAck {
        for o in l.fire() {
            assert_eq!(o.flags(), TcpFlags::FIN | TcpFlags::ACK);
            assert_eq!((o.seq(), o.ack()), (1, 2));
            rtx.push(o.time - t0);
        }
    }
    assert_eq!(rtx, [r, r * 3]);
    assert_eq!(l.now - t0, r * 7, "RTO + 2 RTO + a final 4 RTO");
    assert_eq!(l.c.state(), State::Closed);
    assert!(l.events.contains(&Event::Closed));
}

/// The same FIN retry budget applies in FIN_WAIT_1 for an orphan.
#[test]
fn fin_wait_1_orphan_gives_up_after_orphan_retries() {
    let mut l = Lone::established(counted_orphan_retries(2));
    l.c.close(l.now);
    let t0 = l.now;
    l.flush();
    let r = l.c.info().rto;
    let mut rtx = Vec::new();
    while l.c.state() == State::FinWait1 {
        rtx.extend(l.fire().iter().map(|o| o.time - t0));
    }
    assert_eq!(rtx, [r, r * 3]);
    assert_eq!(l.now - t0, r * 7);
    assert_eq!(l.c.state(), State::Closed);
}

/// Linux's time budget (the default `RetryBudget::Time`): `orphan_retries = 2` stands for
/// the 1.4 s two retransmissions take from a 200 ms RTO (200 + 400 ms, doubled once more:
/// Linux's tcp_model_timeout), counted from the first retransmission. With a 1 s RTO only
/// one retransmission fits: the next expiry, 2 s after it, ends the connection.
#[test]
fn orphan_retries_are_a_time_budget_by_default() {
    let mut l = Lone::established({
        let mut config: Config = one_second_rto();
        config.orphan_retries = 2;
        config
    });
    fin(&mut l, 1, 1);
    l.c.close(l.now);
    let t0 = l.now;
    l.flush();
    let r = l.c.info().rto;
    let mut rtx = Vec::new();
    while l.c.state() == State::LastAck {
        rtx.extend(l.fire().iter().map(|o| o.time - t0));
    }
    assert_eq!(rtx, [r]);
    assert_eq!(l.now - t0, r * 3);
    assert_eq!(l.c.state(), State::Closed);
}

/// Point 7: closing with unread received data sends RST (RFC 2525 §2.17), with
/// seq = SND.NXT and ack = RCV.NXT, and the connection is CLOSED at once.
#[test]
fn close_with_unread_data_sends_rst() {
    let mut l = Lone::established(Config::default());
    l.write(50);
    l.data(1, 51, 100);
    l.c.close(l.now);
    let out = l.flush();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].has(TcpFlags::RST));
    assert!(!out[0].has(TcpFlags::FIN));
    assert_eq!(out[0].seq(), 51);
    assert_eq!(l.c.state(), State::Closed);
}

/// Point 7: abort sends RST (RFC 9293 §3.10.5) and drops everything.
#[test]
fn abort_sends_rst() {
    let mut l = Lone::established(Config::default());
    l.write(10);
    l.c.abort();
    let out = l.flush();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].has(TcpFlags::RST));
    assert_eq!(out[0].seq(), 11);
    assert!(out[0].is_empty());
    assert_eq!(l.c.state(), State::Closed);
    assert!(l.events.contains(&Event::Closed));
    assert_eq!(l.c.poll_timeout(), None, "no timers after abort");
}

/// Abort in SYN_SENT sends nothing (there is nothing synchronized to reset).
#[test]
fn abort_in_syn_sent_sends_nothing() {
    let mut l = Lone::client(Config::default());
    l.c.abort();
    assert!(l.flush().is_empty());
    assert_eq!(l.c.state(), State::Closed);
}

/// Data arriving after close (orphan) resets the connection, as Linux does.
#[test]
fn data_after_close_gets_rst() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    l.flush();
    l.ack(1, 2);
    let ans = l.data(1, 2, 10);
    assert!(ans.iter().any(|o| o.has(TcpFlags::RST)), "{ans:?}");
    assert_eq!(l.c.state(), State::Closed);
}

/// Writes after the peer reset fail with the reset error; reads too.
#[test]
fn reset_error_reported_to_reads_and_writes() {
    let mut l = Lone::established(Config::default());
    let h = l.seg(TcpFlags::RST, 1, 0);
    l.input(h, bytes::Bytes::new());
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(
        l.c.write(l.now, b"x"),
        Err(WriteError::Failed(ConnError::Reset))
    );
    assert_eq!(
        l.c.read(l.now, &mut [0u8; 4]),
        Err(ReadError::Failed(ConnError::Reset))
    );
}

/// Only the peer's retransmitted FIN (ending at RCV.NXT) restarts TIME_WAIT; a FIN with
/// another sequence number is an unacceptable segment: ACKed, and the timer runs on.
#[test]
fn other_fin_in_time_wait_does_not_restart_2msl() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    l.flush();
    l.ack(1, 2);
    fin(&mut l, 1, 2);
    let t = l.now;
    l.advance(Duration::from_secs(30));
    let ans = fin(&mut l, 0x1000_0000, 2);
    assert!(
        ans.iter().all(|o| o.is_pure_ack() && o.ack() == 2),
        "{ans:?}"
    );
    l.advance(Duration::from_secs(30));
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(ms_since(t, l.now), 60_000);
}

/// FIN_WAIT_1 with data outstanding: RTO retransmits data and FIN together from SND.UNA.
#[test]
fn fin_retransmitted_with_outstanding_data() {
    let mut l = Lone::established(one_second_rto());
    l.write(100);
    l.c.close(l.now);
    let out = l.flush();
    let fin_seg = out.iter().find(|o| o.has(TcpFlags::FIN)).unwrap();
    assert_eq!(fin_seg.seq() + fin_seg.len() as u32, 101);
    let r = l.fire();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].seq(), r[0].len()), (1, 100));
    assert!(r[0].has(TcpFlags::FIN));
    l.ack(1, 102);
    assert_eq!(l.c.state(), State::FinWait2);
}

/// FIN_WAIT_1 receiving FIN+ACK that acknowledges our FIN goes straight to TIME_WAIT.
#[test]
fn fin_wait_1_to_time_wait_on_fin_ack() {
    let mut l = Lone::established(Config::default());
    l.c.close(l.now);
    l.flush();
    let ans = fin(&mut l, 1, 2);
    assert_eq!(l.c.state(), State::TimeWait);
    assert_eq!((ans[0].seq(), ans[0].ack()), (2, 2));
}

/// CLOSING: our FIN is retransmitted on RTO with backoff and, with `orphan_retries = 2`,
/// the connection is dropped after the final wait of twice the last timeout.
#[test]
fn closing_fin_retransmission_with_orphan_retries_2() {
    // The RTO timeline alone: no tail loss probe before the first RTO.
    let mut l = Lone::established({
        let mut config: Config = counted_orphan_retries(2);
        config.tail_loss_probe = false;
        config
    });
    l.c.close(l.now);
    let t0 = l.now;
    l.flush();
    fin(&mut l, 1, 1);
    assert_eq!(l.c.state(), State::Closing);
    let r = l.c.info().rto;
    let mut rtx = Vec::new();
    while l.c.state() == State::Closing {
        for o in l.fire() {
            assert!(o.has(TcpFlags::FIN));
            assert_eq!((o.seq(), o.ack()), (1, 2));
            rtx.push(o.time - t0);
        }
    }
    assert_eq!(rtx, [r, r * 3]);
    assert_eq!(l.now - t0, r * 7);
    assert_eq!(l.c.state(), State::Closed);
}

/// `read_bytes` reports end-of-stream as `None` after the data.
#[test]
fn read_bytes_end_of_stream() {
    let mut l = Lone::established(Config::default());
    l.data(1, 1, 10);
    fin(&mut l, 11, 1);
    let b = l.c.read_bytes(l.now, 100).unwrap().unwrap();
    assert_eq!(b.len(), 10);
    assert_eq!(l.c.read_bytes(l.now, 100), Ok(None));
}

/// A shutdown during the handshake queues the FIN after the data written so far (RFC 9293
/// §3.10.4 allows queuing a CLOSE in SYN-SENT): the peer receives the data, then the FIN;
/// a write after the shutdown fails. (An adapter no longer has to defer the call itself.)
#[test]
fn shutdown_in_syn_sent_sends_the_data_written_before_it_then_fin() {
    use tcp_tests::pair::{Pair, drain};
    let mut p = Pair::new(Duration::from_millis(5));
    let now = p.now;
    assert_eq!(p.a.state(), State::SynSent);
    assert_eq!(p.a.write(now, b"early data"), Ok(10));
    p.a.shutdown().expect("shutdown in SYN-SENT is queued");
    assert_eq!(p.a.write(now, b"late"), Err(WriteError::Closed));
    let done = p.run_until(Duration::from_secs(5), |p| {
        p.b.as_ref().is_some_and(|b| b.state() == State::CloseWait)
    });
    assert!(done, "the FIN arrived after the handshake");
    let now = p.now;
    let mut got = Vec::new();
    assert!(drain(p.b(), now, &mut got), "end of stream after the data");
    assert_eq!(got, b"early data");
}
