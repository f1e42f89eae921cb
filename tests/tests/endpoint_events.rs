//! What the endpoint reports to the application: each kind of connection event at most
//! once until it is polled, however many segments caused it, and nothing for a handle the
//! application has closed.

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::endpoint::{EndpointEvent, ListenerHandle};
use tcp_core::{Config, ConnHandle, Endpoint, EndpointConfig, Event, Instant};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

/// Moves every segment `from` has to send into `to`, without polling events.
fn deliver(from: &mut Endpoint, to: &mut Endpoint, now: Instant) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit(now) {
        let mut buf = vec![0u8; t.len()];
        let len = t.encode(&mut buf).expect("encodes");
        buf.truncate(len);
        to.handle_segment(now, t.src.ip(), t.dst.ip(), Bytes::from(buf))
            .expect("valid segment");
        n += 1;
    }
    n
}

/// A connected pair: (client, server, client handle, server handle), all events so far
/// polled.
fn connected() -> (Endpoint, Endpoint, ConnHandle, ConnHandle, Instant) {
    let cfg = {
        let mut config: Config = Config::default();
        config.nodelay = true;
        config
    };
    let mut c = Endpoint::new(cfg.clone(), EndpointConfig::with_secret([1; 16]));
    let mut s = Endpoint::new(cfg, EndpointConfig::with_secret([2; 16]));
    let now = Instant::from_secs(1);
    let l: ListenerHandle = s.listen(SocketAddr::new(SERVER, 80), 8).expect("listen");
    let ch = c
        .connect(now, CLIENT, SocketAddr::new(SERVER, 80))
        .expect("connect");
    while deliver(&mut c, &mut s, now) + deliver(&mut s, &mut c, now) > 0 {}
    let sh = s.accept(l).expect("listener").expect("accepted");
    while c.poll_event().is_some() {}
    while s.poll_event().is_some() {}
    (c, s, ch, sh, now)
}

fn events_of(ep: &mut Endpoint, h: ConnHandle) -> Vec<Event> {
    std::iter::from_fn(|| ep.poll_event())
        .filter_map(|e| match e {
            EndpointEvent::Conn(x, ev) if x == h => Some(ev),
            _ => None,
        })
        .collect()
}

#[test]
fn twenty_data_segments_between_polls_make_one_readable_event() {
    let (mut c, mut s, ch, sh, now) = connected();
    for _ in 0..20 {
        c.write(now, ch, b"ping").expect("written");
        assert_eq!(deliver(&mut c, &mut s, now), 1, "one segment per write");
    }
    assert_eq!(events_of(&mut s, sh), [Event::Readable]);
    let mut buf = [0u8; 200];
    let n = s.read(now, sh, &mut buf).expect("read");
    assert_eq!(n, 80);
    // Once polled, the kind can be reported again.
    c.write(now, ch, b"pong").expect("written");
    deliver(&mut c, &mut s, now);
    assert_eq!(events_of(&mut s, sh), [Event::Readable]);
}

#[test]
fn no_event_is_reported_for_a_handle_the_application_closed() {
    let (mut c, mut s, ch, sh, now) = connected();
    c.write(now, ch, b"data").expect("written");
    c.shutdown(now, ch).expect("shut down");
    deliver(&mut c, &mut s, now);
    // Readable and PeerClosed wait; the application closes without polling them.
    s.close(now, sh).expect("handle");
    deliver(&mut s, &mut c, now);
    deliver(&mut c, &mut s, now);
    let reported: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        reported
            .iter()
            .all(|e| !matches!(e, EndpointEvent::Conn(h, _) if *h == sh)),
        "events for a closed handle: {reported:?}"
    );
}
