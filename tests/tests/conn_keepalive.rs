//! Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6; Linux idle/interval/count): off by
//! default; when on, a probe after `idle` of silence, then every `interval`; after `count`
//! unanswered probes the connection times out.

use tcp_core::{Config, ConnError, Duration, Event, Keepalive, State};
use tcp_tests::lone::{Lone, Out};

fn ka() -> Keepalive {
    Keepalive {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(2),
        count: 3,
    }
}

/// A keepalive probe: seq = SND.NXT − 1, no data (RFC 1122 §4.2.3.6, as Linux), ack =
/// RCV.NXT.
fn is_keepalive(o: &Out, snd_nxt: u32, rcv_nxt: u32) -> bool {
    o.seq() == snd_nxt.wrapping_sub(1) && o.is_empty() && o.ack() == rcv_nxt && o.is_pure_ack()
}

#[test]
fn keepalive_is_off_by_default() {
    let mut l = Lone::established(Config::default());
    assert_eq!(l.c.poll_timeout(), None);
    assert!(l.advance(Duration::from_secs(3 * 3600)).is_empty());
    assert_eq!(l.c.state(), State::Established);
}

/// Probes at idle, idle + interval, idle + 2·interval; after `count` unanswered probes,
/// timed out at idle + count·interval.
#[test]
fn keepalive_probes_then_timed_out() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.keepalive = Some(ka());
        config
    });
    let t0 = l.now;
    let mut times = Vec::new();
    while l.c.state() == State::Established {
        for o in l.fire() {
            if !o.flags().contains(tcp_core::wire::TcpFlags::RST) {
                assert!(is_keepalive(&o, 1, 1), "{o:?}");
                times.push((o.time - t0).as_secs());
            }
        }
    }
    assert_eq!(times, [10, 12, 14]);
    assert_eq!((l.now - t0).as_secs(), 16);
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
    assert!(l.events.contains(&Event::Error(ConnError::TimedOut)));
}

/// An answered probe resets the count: the next probe comes after a full idle period.
#[test]
fn answered_keepalive_keeps_the_connection() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.keepalive = Some(ka());
        config
    });
    for _ in 0..10 {
        let t = l.now;
        let out = l.fire();
        assert_eq!(out.len(), 1);
        assert!(is_keepalive(&out[0], 1, 1));
        assert_eq!((out[0].time - t).as_secs(), 10);
        l.ack(1, 1);
    }
    assert_eq!(l.c.state(), State::Established);
}

/// Traffic postpones the first probe: idle counts from the last segment received.
#[test]
fn traffic_postpones_keepalive() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.keepalive = Some(ka());
        config
    });
    l.advance(Duration::from_secs(8));
    let ans = l.data(1, 1, 10);
    assert_eq!(ans.len(), 1, "quick ACK");
    let t = l.now;
    assert!(
        l.advance(Duration::from_secs(2)).is_empty(),
        "not 10 s after the start"
    );
    let out = l.advance(Duration::from_secs(8));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(is_keepalive(&out[0], 1, 11));
    assert_eq!((out[0].time - t).as_secs(), 10);
}

/// Keepalive can be switched on per connection.
#[test]
fn set_keepalive_turns_it_on() {
    let mut l = Lone::established(Config::default());
    l.c.set_keepalive(Some(ka()));
    let t = l.now;
    let out = l.fire();
    assert!(is_keepalive(&out[0], 1, 1));
    assert_eq!((out[0].time - t).as_secs(), 10);
}

/// Linux's defaults: first probe after 2 h of silence, then every 75 s; after 9 unanswered
/// probes (2 h + 9 × 75 s = 7875 s) the connection times out and is reset.
#[test]
fn keepalive_linux_defaults() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.keepalive = Some(Keepalive::default());
        config
    });
    let t0 = l.now;
    let mut probes = Vec::new();
    let mut rst = false;
    while l.c.state() == State::Established {
        for o in l.fire() {
            if o.flags().contains(tcp_core::wire::TcpFlags::RST) {
                rst = true;
            } else {
                probes.push((o.time - t0).as_secs());
            }
        }
    }
    let want: Vec<u64> = (0..9).map(|i| 7200 + 75 * i).collect();
    assert_eq!(probes, want);
    assert_eq!((l.now - t0).as_secs(), 7875);
    assert!(rst, "Linux resets a connection whose keepalive gave up");
    assert_eq!(l.c.error(), Some(ConnError::TimedOut));
}
