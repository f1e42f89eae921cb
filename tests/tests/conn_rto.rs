//! Retransmission: RFC 6298 RTO with Karn's rule and backoff, retry limits, user timeout
//! (RFC 5482), fast retransmit and NewReno (RFC 5681, RFC 6582).

use bytes::Bytes;
use tcp_core::wire::{TcpFlags, TcpOptions};
use tcp_core::{Config, ConnError, Duration, Event, State};
use tcp_tests::lone::{LOCAL_ISS, Lone, PEER_ISN, PeerOpts, syn_header};

/// A client whose handshake took `rtt` (one RTT sample, SYN not retransmitted).
/// An established client with one RTT sample. Tail loss probes are off (as Linux's
/// `tcp_early_retrans=0`): these tests follow the RTO timeline alone; probes have their
/// own tests and scripts.
fn client_with_rtt(cfg: Config, rtt: Duration) -> Lone {
    let mut l = Lone::client({
        let mut config: Config = cfg;
        config.tail_loss_probe = false;
        config
    });
    l.set_time(l.now + rtt);
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    l.input(h, Bytes::new());
    assert_eq!(l.c.state(), State::Established);
    l.out.clear();
    l.events.clear();
    l
}

/// RFC 6298 §2.2: the first sample R gives SRTT = R, RTTVAR = R/2, RTO = SRTT +
/// max(G, 4·RTTVAR) (300 ms for R = 100 ms with G ≤ 200 ms).
#[test]
fn rto_after_the_first_sample() {
    let l = client_with_rtt(Config::default(), Duration::from_millis(100));
    let i = l.c.info();
    assert_eq!(i.srtt, Some(Duration::from_millis(100)));
    assert_eq!(i.rttvar, Duration::from_millis(50));
    assert_eq!(i.rto, Duration::from_millis(300));
}

/// RFC 6298 §2.3: later samples: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT − R'|, SRTT = 7/8 SRTT +
/// 1/8 R'.
#[test]
fn rto_after_a_second_sample() {
    let mut l = client_with_rtt(Config::default(), Duration::from_millis(100));
    l.c.set_nodelay(true);
    l.write(100);
    l.set_time(l.now + Duration::from_millis(200));
    l.ack(1, 101);
    let i = l.c.info();
    // SRTT = 87.5 + 25 = 112.5 ms; RTTVAR = 37.5 + 25 = 62.5 ms; RTO = 112.5 + 250.
    assert_eq!(i.srtt, Some(Duration::from_micros(112_500)));
    assert_eq!(i.rttvar, Duration::from_micros(62_500));
    assert_eq!(i.rto, Duration::from_micros(362_500));
}

/// RFC 6298 §5.5-5.6: on each expiry the oldest unacknowledged segment is retransmitted
/// and the RTO doubles.
#[test]
fn data_retransmission_backoff_timeline() {
    let mut l = client_with_rtt(Config::default(), Duration::from_millis(100));
    let t0 = l.now;
    l.write(1000);
    let mut times = Vec::new();
    for _ in 0..5 {
        for o in l.fire() {
            assert_eq!((o.seq(), o.ack(), o.len()), (1, 1, 1000));
            times.push((o.time - t0).as_millis());
        }
    }
    assert_eq!(times, [300, 900, 2100, 4500, 9300]);
    assert_eq!(l.c.info().retransmits, 5);
    assert_eq!(l.c.info().rto, Duration::from_millis(9600));
}

/// RFC 6298 §2.5: the backed-off RTO is capped at the maximum.
#[test]
fn rto_backoff_is_capped_at_max_rto() {
    let mut l = client_with_rtt(
        {
            let mut config: Config = Config::default();
            config.max_rto = Duration::from_secs(2);
            config
        },
        Duration::from_millis(100),
    );
    l.write(1000);
    let mut last = l.now;
    let mut gaps = Vec::new();
    for _ in 0..6 {
        let o = l.fire();
        assert_eq!(o.len(), 1);
        gaps.push((o[0].time - last).as_millis());
        last = o[0].time;
    }
    assert_eq!(gaps, [300, 600, 1200, 2000, 2000, 2000]);
}

/// RFC 6298 §2.5: a long RTT sample gives an RTO of at most the maximum, before any
/// backoff.
#[test]
fn rto_from_a_long_sample_is_capped_at_max_rto() {
    let l = client_with_rtt(
        {
            let mut config: Config = Config::default();
            config.max_rto = Duration::from_secs(2);
            config
        },
        Duration::from_millis(1500),
    );
    let i = l.c.info();
    assert_eq!(i.srtt, Some(Duration::from_millis(1500)));
    assert_eq!(i.rto, Duration::from_secs(2));
}

/// Karn's rule (RFC 6298 §3): an ACK for retransmitted data gives no RTT sample (without
/// timestamps), and the next new segment is timed again.
#[test]
fn karn_no_sample_from_retransmitted_segment() {
    let mut l = client_with_rtt(Config::default(), Duration::from_millis(100));
    l.c.set_nodelay(true);
    l.write(100);
    l.fire(); // retransmission at 300 ms
    l.set_time(l.now + Duration::from_millis(10));
    l.ack(1, 101);
    assert_eq!(
        l.c.info().srtt,
        Some(Duration::from_millis(100)),
        "no sample"
    );
    assert_eq!(
        l.c.info().rto,
        Duration::from_millis(300),
        "backoff ends with the new ACK"
    );
    l.write(100);
    l.set_time(l.now + Duration::from_millis(100));
    l.ack(1, 201);
    assert_eq!(l.c.info().srtt, Some(Duration::from_millis(100)));
    assert_eq!(l.c.info().rttvar, Duration::from_micros(37_500));
}

/// The RTO never goes below the minimum (200 ms) however small the RTT.
#[test]
fn rto_has_a_floor() {
    let mut l = client_with_rtt(Config::default(), Duration::from_millis(1));
    l.c.set_nodelay(true);
    for i in 0..20u32 {
        l.write(10);
        l.set_time(l.now + Duration::from_millis(1));
        l.ack(1, 11 + i * 10);
    }
    let rto = l.c.info().rto;
    assert!(rto >= Duration::from_millis(200), "{rto:?}");
    assert!(rto <= Duration::from_millis(202), "{rto:?}");
}

/// Data retries up to `retries2`, then the connection fails timed out.
#[test]
fn data_retries2_then_timed_out() {
    let mut l = client_with_rtt(
        {
            let mut config: Config = Config::default();
            config.retries2 = 3;
            config
        },
        Duration::from_millis(100),
    );
    let t0 = l.now;
    l.write(1000);
    let mut n = 0;
    while l.c.state() == State::Established {
        n += l.fire().iter().filter(|o| o.len() == 1000).count();
    }
    assert_eq!(n, 3);
    assert_eq!((l.now - t0).as_millis(), 300 + 600 + 1200 + 2400);
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
    assert!(l.events.contains(&Event::Error(ConnError::TimedOut)));
    assert!(l.events.contains(&Event::Closed));
}

/// RFC 5482 user timeout: the connection fails when data stays unacknowledged that long,
/// even in the middle of a backoff interval.
#[test]
fn user_timeout_ends_the_connection() {
    let mut l = client_with_rtt(
        {
            let mut config: Config = Config::default();
            config.user_timeout = Some(Duration::from_secs(2));
            config
        },
        Duration::from_millis(100),
    );
    let t0 = l.now;
    l.write(1000);
    let mut rtx = Vec::new();
    while l.c.state() == State::Established {
        rtx.extend(l.fire().iter().map(|o| (o.time - t0).as_millis()));
    }
    // Linux measures the user timeout from the first retransmission (retrans_stamp) and
    // clamps the last RTO to it: retransmissions at 0.3, 0.9, 2.1 s, abort at 0.3 + 2 s.
    assert_eq!(rtx, [300, 900, 2100]);
    assert_eq!((l.now - t0).as_millis(), 2300);
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
}

/// The user timeout does not fire while ACKs keep arriving.
#[test]
fn user_timeout_restarts_with_progress() {
    let mut l = client_with_rtt(
        {
            let mut config: Config = Config::default();
            config.user_timeout = Some(Duration::from_secs(2));
            config.nodelay = true;
            config
        },
        Duration::from_millis(100),
    );
    for i in 0..10u32 {
        l.write(10);
        l.advance(Duration::from_millis(1500));
        l.ack(1, 11 + 10 * i);
    }
    assert_eq!(l.c.state(), State::Established);
}

fn dupack(l: &mut Lone, ack: u32) -> Vec<tcp_tests::lone::Out> {
    l.ack(1, ack)
}

/// RFC 5681 §3.2 + RFC 6582: the third duplicate ACK retransmits the first unacknowledged
/// segment at once; ssthresh = max(FlightSize/2, 2·SMSS); a partial ACK retransmits the next
/// hole at once; the full ACK ends recovery with cwnd ≤ ssthresh.
#[test]
fn fast_retransmit_on_three_dupacks_with_newreno() {
    // Without SACK: NewReno counts duplicate ACKs (with SACK, RACK decides; see conn_sack).
    let mut l = Lone::established({
        let mut config_new: Config = Config::default();
        config_new.sack = false;
        config_new.congestion = tcp_core::config::CongestionAlgorithm::NewReno;
        config_new
    });
    let out = l.write(14_600);
    assert_eq!(out.len(), 10);
    // Segment 1 arrives; segments 2 (seq 1461) and 6 (seq 7301) are lost.
    l.ack(1, 1461);
    assert!(dupack(&mut l, 1461).is_empty());
    assert!(dupack(&mut l, 1461).is_empty());
    let r = dupack(&mut l, 1461);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].seq(), r[0].len()), (1461, 1460));
    let i = l.c.info();
    assert!(i.ca_state_recovery);
    // FlightSize = 9 segments.
    assert_eq!(i.ssthresh, 9 * 1460 / 2);
    assert_eq!(l.c.stats().fast_retransmits, 1);
    for _ in 0..5 {
        for o in dupack(&mut l, 1461) {
            assert_ne!(o.seq(), 1461, "no second retransmission of the same hole");
        }
    }
    // The retransmission fills the first hole: ACK up to the second loss (partial ACK).
    let r = l.ack(1, 7301);
    let rtx: Vec<_> = r.iter().filter(|o| o.seq() == 7301).collect();
    assert_eq!(rtx.len(), 1, "partial ACK retransmits the next hole: {r:?}");
    assert!(l.c.info().ca_state_recovery);
    // Full ACK.
    l.ack(1, 14_601);
    let i = l.c.info();
    assert!(!i.ca_state_recovery);
    assert!(i.cwnd <= i.ssthresh, "{} {}", i.cwnd, i.ssthresh);
    assert_eq!(i.ssthresh, 9 * 1460 / 2);
}

/// A loss in the very first window is fast-retransmitted too (RFC 6582 §3.2: `recover`
/// starts at the ISS).
#[test]
fn fast_retransmit_of_the_first_segment() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.sack = false;
        config
    });
    l.write(14_600);
    // The first ACK carries the peer's scaled window (a window update, not a dupack).
    l.ack(1, 1);
    for _ in 0..2 {
        assert!(dupack(&mut l, 1).is_empty());
    }
    let r = dupack(&mut l, 1);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].seq(), r[0].len()), (1, 1460));
}

/// Duplicate ACKs per RFC 5681 §2: an ACK carrying data or changing the window is not one.
#[test]
fn acks_with_data_or_window_change_are_not_dupacks() {
    let mut l = Lone::established(Config::default());
    l.write(14_600);
    l.data(1, 1, 10);
    l.data(11, 1, 10);
    l.data(21, 1, 10);
    l.peer_window -= 1;
    l.ack(31, 1);
    l.peer_window -= 1;
    l.ack(31, 1);
    assert_eq!(l.c.stats().fast_retransmits, 0);
    assert!(!l.c.info().ca_state_recovery);
}

/// After an RTO, the whole window is resent from SND.UNA (go-back-N) and cwnd restarts at
/// one segment (RFC 5681 §3.1: loss window).
#[test]
fn rto_collapses_cwnd_to_one_segment() {
    // RFC 5681's arithmetic (ssthresh = FlightSize / 2) is NewReno's; CUBIC uses β = 0.7.
    let mut l = Lone::established({
        let mut config_new: Config = Config::default();
        config_new.congestion = tcp_core::config::CongestionAlgorithm::NewReno;
        config_new.tail_loss_probe = false;
        config_new
    });
    l.write(14_600);
    let r = l.fire();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].seq(), 1);
    assert_eq!(l.c.info().cwnd, 1460);
    assert_eq!(l.c.info().ssthresh, 7300);
    let r = l.ack(1, 1461);
    let seqs: Vec<u32> = r.iter().map(|o| o.seq()).collect();
    assert_eq!(seqs, [1461, 2921], "slow start from one segment");
}

/// A segment with an unknown option and no timestamps is still processed (options are
/// per segment).
#[test]
fn ack_without_options_is_processed() {
    let mut l = Lone::established(Config::default());
    l.write(100);
    let mut h = l.seg(TcpFlags::ACK, 1, 101);
    h.options = TcpOptions::default();
    l.input(h, Bytes::new());
    assert_eq!(l.c.snd_una(), LOCAL_ISS + 101);
}

/// RFC 6298 §5.7: when the SYN had to be retransmitted and no RTT sample exists (no
/// timestamps, Karn), the RTO is 3 s once data transmission begins; the handshake's
/// backoff does not carry over to the data.
#[test]
fn rto_is_three_seconds_after_syn_retransmission() {
    let mut l = Lone::client({
        let mut config: Config = Config::default();
        config.timestamps = false;
        config.tail_loss_probe = false;
        config
    });
    l.fire(); // SYN retransmitted at 1 s
    l.fire(); // and at 3 s
    l.set_time(l.now + Duration::from_millis(100));
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts::default(),
    );
    l.input(h, Bytes::new());
    assert_eq!(l.c.state(), State::Established);
    assert_eq!(
        l.c.info().srtt,
        None,
        "Karn: no sample from a retransmitted SYN"
    );
    assert_eq!(l.c.info().retransmits, 0);
    assert_eq!(l.c.info().rto, Duration::from_secs(3));
    let t0 = l.now;
    l.write(100);
    let r = l.fire();
    assert_eq!((r[0].seq(), r[0].len()), (1, 100));
    assert_eq!(r[0].time - t0, Duration::from_secs(3));
    let r = l.fire();
    assert_eq!(r[0].time - t0, Duration::from_secs(9));
}

/// With timestamps, the SYN-ACK echoing the retransmitted SYN's TSval is a valid sample
/// (RFC 7323 §4.1), and the data RTO derives from it without the handshake's backoff.
#[test]
fn syn_retransmission_backoff_does_not_carry_over_with_timestamps() {
    let mut l = Lone::client(Config::default());
    l.fire();
    l.fire();
    l.fire(); // three SYN retransmissions
    l.set_time(l.now + Duration::from_millis(100));
    let mut h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts {
            ts: Some(1),
            ..PeerOpts::default()
        },
    );
    h.options.timestamps = Some(tcp_core::wire::Timestamps {
        val: 1,
        ecr: l.last_tsval,
    });
    l.peer_ts = Some(1);
    l.input(h, Bytes::new());
    assert_eq!(l.c.info().srtt, Some(Duration::from_millis(100)));
    assert_eq!(l.c.info().rto, Duration::from_millis(300));
    let t0 = l.now;
    l.write(100);
    let r = l.fire();
    assert_eq!(r[0].time - t0, Duration::from_millis(300));
}

/// The peer's window shrank below what is in flight and the window update that reopened it
/// was lost: the RTO retransmission is cut to what the window allows (as Linux's
/// __tcp_retransmit_skb) instead of waiting for a window that never gets announced.
#[test]
fn rto_retransmission_fits_a_shrunken_window() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.nodelay = true;
        config.tail_loss_probe = false;
        config
    });
    let out = l.write(3000);
    assert_eq!(out.len(), 3);
    l.peer_window = 5; // 640 bytes
    l.ack(1, 1);
    let r = l.fire();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].seq(), 1);
    assert!(!r[0].is_empty() && r[0].len() <= 640, "{}", r[0].len());
    l.peer_window = 100;
    let r = l.ack(1, 641);
    assert!(!r.is_empty());
    l.ack(1, 3001);
    assert_eq!(l.c.snd_una(), LOCAL_ISS + 3001);
}

/// The peer shrank its window to zero with data in flight: RTO retransmissions act as
/// probes and do not time the connection out while the peer keeps answering (Linux
/// tcp_retransmit_timer); when the window opens the data is delivered.
#[test]
fn rto_into_a_zero_window_keeps_going_while_the_peer_answers() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.retries2 = 3;
        config
    });
    l.write(1000);
    l.peer_window = 0;
    l.ack(1, 1);
    for _ in 0..10 {
        let r = l.fire();
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].seq() <= 1);
        l.ack(1, 1);
        assert_eq!(l.c.state(), State::Established);
    }
    l.peer_window = 100;
    let r = l.ack(1, 1);
    let r = if r.is_empty() { l.fire() } else { r };
    assert_eq!((r[0].seq(), r[0].len()), (1, 1000));
    l.ack(1, 1001);
    assert_eq!(l.c.snd_una(), LOCAL_ISS + 1001);
}

/// ...but a peer that stops answering entirely is given up on.
#[test]
fn rto_into_a_zero_window_times_out_without_answers() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.retries2 = 3;
        config
    });
    l.write(1000);
    l.peer_window = 0;
    l.ack(1, 1);
    let mut n = 0;
    while l.c.state() == State::Established {
        l.fire();
        n += 1;
        assert!(n < 100);
    }
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
}

/// The passive side measures the RTT from its SYN-ACK to the final ACK (RFC 6298 §2).
#[test]
fn passive_open_measures_the_handshake_rtt() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    l.set_time(l.now + Duration::from_millis(50));
    l.ack(1, 1);
    assert_eq!(l.c.info().srtt, Some(Duration::from_millis(50)));
}

/// Karn's rule for the SYN-ACK: once it was sent again (the peer's SYN came again), the
/// final ACK is ambiguous and gives no sample.
#[test]
fn synack_resent_for_a_duplicate_syn_gives_no_sample() {
    let mut l = Lone::server(Config::default(), PeerOpts::default());
    l.set_time(l.now + Duration::from_millis(500));
    let syn = syn_header(
        TcpFlags::SYN,
        PEER_ISN,
        tcp_core::SeqNum::new(0),
        PeerOpts::default(),
    );
    let r = l.input(syn, Bytes::new());
    assert_eq!(r.len(), 1);
    l.set_time(l.now + Duration::from_millis(10));
    l.ack(1, 1);
    assert_eq!(l.c.state(), State::Established);
    assert_eq!(l.c.info().srtt, None, "{:?}", l.c.info().srtt);
}

/// RFC 6582 §3.2 step 2 (and §4): after an RTO, duplicate ACKs below `recover` (the
/// highest sequence sent when the timer expired) do not start a fast retransmit.
#[test]
fn no_fast_retransmit_after_rto_until_recover_is_passed() {
    let mut l = Lone::established(Config::default());
    l.write(14_600);
    l.ack(1, 1); // window update
    l.fire(); // RTO: seq 1 again; recover = 14601
    l.ack(1, 1461);
    let before = l.c.stats().fast_retransmits;
    for _ in 0..4 {
        l.ack(1, 1461);
    }
    assert_eq!(l.c.stats().fast_retransmits, before);
    assert!(!l.c.info().ca_state_recovery);
}

/// Linux's default `retries2 = 15` (tcp_write_timeout): the budget is the time 15
/// retransmissions would take from a 200 ms RTO doubling up to 120 s, 924.6 s
/// (ip-sysctl.rst), counted from the first retransmission; the connection gives up at the
/// first RTO expiry once it is spent, not before.
#[test]
fn default_retries2_gives_up_once_924_6_seconds_since_the_first_retransmission_passed() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.tail_loss_probe = false;
        config
    });
    l.write(100);
    let budget = Duration::from_millis(924_600);
    let first = l.fire();
    assert_eq!(first.len(), 1);
    let t1 = l.now;
    let mut last_retransmission = t1;
    while l.c.state() == State::Established {
        let out = l.fire();
        if l.c.state() == State::Established {
            assert_eq!(out.len(), 1, "a retransmission at {:?}", l.now - t1);
            assert!(l.now - t1 < budget + Duration::from_secs(120));
            last_retransmission = l.now;
        }
    }
    assert!(l.now - t1 >= budget, "gave up after {:?}", l.now - t1);
    assert!(
        last_retransmission - t1 < budget,
        "retransmitted after the budget"
    );
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
}

/// Limited transmit (RFC 3042): without SACK, the first and second duplicate ACKs each
/// release one new segment beyond cwnd; the third starts fast retransmit.
#[test]
fn limited_transmit_sends_one_new_segment_on_each_of_the_first_two_dupacks() {
    let mut l = Lone::established({
        let mut config_new: Config = Config::default();
        config_new.sack = false;
        config_new.congestion = tcp_core::config::CongestionAlgorithm::NewReno;
        config_new
    });
    let out = l.write(20 * 1460);
    assert_eq!(out.len(), 10, "initial window");
    l.ack(1, 1461);
    // The ACK above opened one more segment's room (slow start): 2 new segments.
    let first = dupack(&mut l, 1461);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].len(), 1460);
    let second = dupack(&mut l, 1461);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].seq(), first[0].seq() + 1460, "new data, in order");
    let third = dupack(&mut l, 1461);
    assert_eq!(
        (third[0].seq(), third[0].len()),
        (1461, 1460),
        "fast retransmit"
    );
}

/// F-RTO (RFC 5682 §3.1): after a timeout whose original segments were only delayed, the
/// first ACK brings two new segments instead of retransmissions, the next one proves the
/// timeout spurious: cwnd and ssthresh come back, and the undo is counted (as Linux's
/// `TCPSpuriousRTOs`). With F-RTO off the same ACKs drive go-back-N.
#[test]
fn spurious_rto_detected_by_frto_is_undone_and_counted() {
    for frto in [true, false] {
        let mut l = Lone::established({
            let mut config: Config = Config::default();
            config.tail_loss_probe = false;
            config.frto = frto;
            config
        });
        assert_eq!(l.write(30_000).len(), 10);
        let (cwnd, ssthresh) = (l.c.info().cwnd, l.c.info().ssthresh);
        let r = l.fire();
        assert_eq!((r.len(), r[0].seq()), (1, 1));
        let r = l.ack(1, 1461);
        let seqs: Vec<u32> = r.iter().map(|o| o.seq()).collect();
        let stats = |l: &Lone| (l.c.info().stats.undos, l.c.info().stats.frto_spurious);
        if !frto {
            assert_eq!(seqs, [1461, 2921], "go-back-N");
            l.ack(1, 2921);
            assert_eq!(stats(&l), (0, 0));
            continue;
        }
        assert_eq!(seqs, [14_601, 16_061], "two new segments (step 2b)");
        l.ack(1, 2921);
        let i = l.c.info();
        assert!(i.cwnd >= cwnd, "cwnd {} restored to {cwnd}", i.cwnd);
        assert_eq!(i.ssthresh, ssthresh);
        assert_eq!(stats(&l), (1, 1));
        assert_eq!(i.stats.retransmits, 1);
    }
}
