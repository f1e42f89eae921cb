//! Zero-window probing (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): the persist timer backs
//! off, keeps probing for as long as the peer answers, and does not count as a retry.

use tcp_core::{Config, ConnError, Duration, State};
use tcp_tests::lone::{Lone, Out};

/// A zero-window probe elicits an ACK: either an old sequence number without data (as
/// Linux) or one byte of new data at SND.UNA (RFC 9293).
fn is_probe(o: &Out) -> bool {
    (o.seq() == 0 && o.is_empty()) || (o.seq() == 1 && o.len() == 1)
}

fn zero_window(cfg: Config) -> Lone {
    let mut l = Lone::established(cfg);
    l.peer_window = 0;
    l.ack(1, 1);
    assert_eq!(l.c.info().snd_wnd, 0);
    l
}

/// Nothing is sent into a zero window; the persist timer probes with exponential backoff
/// and keeps probing while the peer answers (more probes than `retries2`), and the probes
/// never count as retransmissions; when the window opens the data goes.
#[test]
fn zero_window_probes_back_off_and_continue_while_answered() {
    let mut l = zero_window({
        let mut config: Config = Config::default();
        config.retries2 = 3;
        config
    });
    assert!(l.write(1000).is_empty(), "nothing fits a zero window");
    let mut times = Vec::new();
    for _ in 0..12 {
        let out = l.fire();
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(is_probe(&out[0]), "{out:?}");
        assert_eq!(out[0].ack(), 1);
        times.push(out[0].time);
        // The peer answers: still a zero window.
        l.ack(1, 1);
        assert_eq!(l.c.state(), State::Established);
        assert_eq!(l.c.info().retransmits, 0, "a probe is not a retry");
    }
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for w in gaps.windows(2) {
        let max = Duration::from_secs(120);
        assert!(
            w[1] == w[0] * 2 || w[1] == max,
            "backoff doubles up to the maximum: {gaps:?}"
        );
    }
    assert_eq!(*gaps.last().unwrap(), Duration::from_secs(120));
    assert_eq!(l.c.stats().window_probes, 12);

    // The window opens: the data goes at once.
    l.peer_window = 100;
    let out = l.ack(1, 1);
    let total: usize = out.iter().map(|o| o.len()).sum();
    assert!(total >= 999, "{out:?}");
    assert_eq!(out[0].seq(), 1);
}

/// The first probe goes one RTO after the window closed with data waiting.
#[test]
fn first_probe_after_one_rto() {
    let mut l = zero_window(Config::default());
    let t = l.now;
    let rto = l.c.info().rto;
    l.write(10);
    let out = l.fire();
    assert!(is_probe(&out[0]));
    assert_eq!(out[0].time - t, rto);
}

/// Probes that get no answer at all end the connection like retransmissions would
/// (Linux: `retries2` unanswered probes).
#[test]
fn unanswered_probes_time_out() {
    let mut l = zero_window({
        let mut config: Config = Config::default();
        config.retries2 = 3;
        config
    });
    l.write(10);
    let mut probes = 0;
    while l.c.state() == State::Established {
        probes += l.fire().iter().filter(|o| is_probe(o)).count();
        assert!(probes < 100);
    }
    assert_eq!(probes, 3);
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
}

/// A window smaller than a segment: the persist timer sends what fits (sender SWS
/// avoidance holds a small piece back at first, RFC 9293 §3.8.6.2.1).
#[test]
fn small_window_is_used_by_the_persist_timer() {
    let mut l = Lone::established_with(
        Config::default(),
        tcp_tests::lone::PeerOpts {
            wscale: None,
            ..Default::default()
        },
    );
    l.peer_window = 500;
    l.ack(1, 1);
    let out = l.write(3000);
    let sent: usize = out.iter().map(|o| o.len()).sum();
    assert!(sent <= 500);
    let mut total = sent;
    for _ in 0..3 {
        if total > 0 {
            break;
        }
        total += l.fire().iter().map(|o| o.len()).sum::<usize>();
    }
    assert!(total > 0 && total <= 500, "{total}");
}
