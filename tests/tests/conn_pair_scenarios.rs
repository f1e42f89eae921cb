//! Lifecycle scenarios between two real connections over the harness link, with scripted
//! losses; the wire trace is checked with relative numbers.

use tcp_core::wire::TcpFlags;
use tcp_core::{Config, Duration, Event, State};
use tcp_tests::pair::{Dir, Pair, drain};
use tcp_tests::sim::link::LinkConfig;

fn b_state(p: &Pair) -> State {
    p.b.as_ref().map_or(State::Closed, |b| b.state())
}

/// A lost SYN is retransmitted 1 s later (RFC 6298 §2.1, initial RTO) and the handshake
/// completes with the same ISN.
#[test]
fn lost_syn_is_retransmitted_after_one_second() {
    let mut p = Pair::new(Duration::from_millis(5));
    let mut first = true;
    p.drop_fn = Some(Box::new(move |w| {
        let drop = first && w.flags().contains(TcpFlags::SYN);
        if drop {
            first = false;
        }
        drop
    }));
    p.establish();
    let syns: Vec<_> = p
        .trace
        .iter()
        .filter(|w| w.dir == Dir::AtoB && w.flags() == TcpFlags::SYN)
        .collect();
    assert_eq!(syns.len(), 2);
    assert!(syns[0].dropped);
    assert_eq!(syns[1].time - syns[0].time, Duration::from_secs(1));
    assert_eq!(syns[0].seg.header.seq, syns[1].seg.header.seq);
}

/// Both sides close at once: FINs cross, both pass through CLOSING to TIME_WAIT; each
/// ACKs the other's FIN with ack = FIN seq + 1; both end CLOSED after 2·MSL.
#[test]
fn simultaneous_close_between_two_ends() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    let now = p.now;
    p.a.close(now);
    p.b().close(now);
    p.run_until(Duration::from_millis(15), |p| {
        p.a.state() == State::Closing || p.a.state() == State::TimeWait
    });
    assert_eq!(p.a.state(), State::Closing);
    assert_eq!(b_state(&p), State::Closing);
    p.run_until(Duration::from_millis(100), |p| {
        p.a.state() == State::TimeWait && b_state(p) == State::TimeWait
    });
    assert_eq!(p.a.state(), State::TimeWait);
    assert_eq!(b_state(&p), State::TimeWait);
    let fins: Vec<_> = p
        .trace
        .iter()
        .filter(|w| w.flags().contains(TcpFlags::FIN))
        .map(|w| (w.dir, w.rel_seq(&p), w.rel_ack(&p)))
        .collect();
    assert_eq!(fins, [(Dir::AtoB, 1, 1), (Dir::BtoA, 1, 1)]);
    let acks: Vec<_> = p
        .trace
        .iter()
        .filter(|w| w.flags() == TcpFlags::ACK && w.rel_seq(&p) == 2)
        .map(|w| (w.dir, w.rel_ack(&p)))
        .collect();
    assert_eq!(acks, [(Dir::AtoB, 2), (Dir::BtoA, 2)]);
    assert!(
        p.run_until(Duration::from_secs(61), |p| p.a.state() == State::Closed
            && b_state(p) == State::Closed)
    );
}

/// A lost FIN is retransmitted on RTO and the close completes.
#[test]
fn lost_fin_is_retransmitted() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    let mut first = true;
    p.drop_fn = Some(Box::new(move |w| {
        let drop = first && w.flags().contains(TcpFlags::FIN);
        if drop {
            first = false;
        }
        drop
    }));
    let now = p.now;
    p.a.close(now);
    p.run_until(Duration::from_secs(5), |p| b_state(p) == State::CloseWait);
    let fins: Vec<_> = p
        .trace
        .iter()
        .filter(|w| w.dir == Dir::AtoB && w.flags().contains(TcpFlags::FIN))
        .collect();
    assert_eq!(fins.len(), 2);
    assert_eq!(fins[0].rel_seq(&p), fins[1].rel_seq(&p));
    let rto = fins[1].time - fins[0].time;
    assert!(
        rto >= Duration::from_millis(200) && rto <= Duration::from_secs(1),
        "{rto:?}"
    );
}

/// Half-close: a shuts down its sending side; b keeps sending, a keeps reading; then b
/// closes and a reads end-of-stream.
#[test]
fn half_close_data_keeps_flowing_the_other_way() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    p.a.shutdown().unwrap();
    p.run_until(Duration::from_secs(1), |p| b_state(p) == State::CloseWait);
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut eof = false;
    let ok = p.run_until(Duration::from_secs(60), |p| {
        let now = p.now;
        if sent < data.len() {
            sent += p.b().write(now, &data[sent..]).unwrap_or(0);
            if sent == data.len() {
                p.b().close(now);
            }
        }
        eof = drain(&mut p.a, now, &mut got);
        eof
    });
    assert!(ok, "{} of {}", got.len(), data.len());
    assert_eq!(got, data);
    assert!(p.events_a.contains(&Event::PeerClosed));
    p.run_until(Duration::from_secs(1), |p| b_state(p) == State::Closed);
    assert_eq!(b_state(&p), State::Closed);
    assert_eq!(p.a.state(), State::TimeWait);
}

/// Transfer with loss, reordering and duplication in both directions at once, small
/// buffers: both sides read exactly what the other wrote, and both close cleanly.
#[test]
fn bidirectional_transfer_with_faults_and_small_buffers() {
    let cfg = {
        let mut config: Config = Config::default();
        config.send_buffer = 16 * 1024;
        config.recv_buffer = 8 * 1024;
        config
    };
    let mut p = Pair::with_configs(cfg.clone(), cfg, Duration::from_millis(7));
    p.seed(42);
    p.set_link(LinkConfig {
        loss: 0.03,
        reorder: 0.05,
        reorder_delay: Duration::from_millis(5),
        duplicate: 0.02,
        ..p.link().clone()
    });
    p.establish();
    let da: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let db: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    let x = p.exchange(&da, &db, Duration::from_secs(600));
    let (ok, ga, gb) = (x.done, x.got_a, x.got_b);
    assert!(
        ok,
        "a got {} of {}, b got {} of {}",
        ga.len(),
        db.len(),
        gb.len(),
        da.len()
    );
    assert_eq!(ga, db);
    assert_eq!(gb, da);
    assert!(
        p.run_until(Duration::from_secs(600), |p| p.a.state() == State::Closed
            && b_state(p) == State::Closed)
    );
}

/// A receiver that stops reading: its window closes, the sender probes (persist timer)
/// for minutes without giving up, and once the application reads again the transfer
/// finishes byte-exact.
#[test]
fn stalled_reader_zero_window_then_resume() {
    let cfg = {
        let mut config: Config = Config::default();
        config.recv_buffer = 8 * 1024;
        config.retries2 = 3;
        config
    };
    let mut p = Pair::with_configs(Config::default(), cfg, Duration::from_millis(10));
    p.establish();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 249) as u8).collect();
    let mut sent = 0;
    p.run_until(Duration::from_secs(600), |p| {
        let now = p.now;
        if sent < data.len() {
            sent += p.a.write(now, &data[sent..]).unwrap_or(0);
        }
        false
    });
    assert_eq!(p.a.state(), State::Established, "probing never gave up");
    assert!(
        p.a.stats().window_probes >= 5,
        "{}",
        p.a.stats().window_probes
    );
    assert_eq!(p.a.info().retransmits, 0);
    let mut got = Vec::new();
    // Reading reopens the window with an update at once: no waiting for the next probe
    // (which by now is two minutes away).
    let ok = p.run_until(Duration::from_secs(10), |p| {
        let now = p.now;
        if sent < data.len() {
            sent += p.a.write(now, &data[sent..]).unwrap_or(0);
        }
        drain(p.b(), now, &mut got);
        got.len() == data.len()
    });
    assert!(ok, "{} of {}", got.len(), data.len());
    assert_eq!(got, data);
}
