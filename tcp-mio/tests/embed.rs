//! The driver inside an embedder's own `mio` loop, under the embedder's tokens, next to a
//! UDP socket and a timer of the embedder's.

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tcp_core::{EndpointEvent, Event};
use tcp_mio::Driver;

#[test]
fn a_driver_in_the_embedders_loop_reports_handle_event_pairs_and_moves_data() {
    const OWN: Token = Token(7);
    const SERVER: Token = Token(1000);
    const CLIENT: Token = Token(1001);
    const TOTAL: usize = 1 << 20;
    let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(64);
    let mut own = UdpSocket::bind(lo).unwrap();
    poll.registry()
        .register(&mut own, OWN, Interest::READABLE)
        .unwrap();
    let pinger = std::net::UdpSocket::bind(lo).unwrap();

    let mut server = Driver::new(Default::default()).unwrap();
    let (link, server_udp) = server.add_udp_link(lo).unwrap();
    server.register(poll.registry(), link, SERVER).unwrap();
    let mut client = Driver::new(Default::default()).unwrap();
    let (link, _) = client.add_udp_link(lo).unwrap();
    client.register(poll.registry(), link, CLIENT).unwrap();
    assert!(
        !client.on_readable(OWN),
        "a token that is not the driver's is refused"
    );

    let listener = server
        .listen(SocketAddr::new(server_udp.ip(), 80), 4)
        .unwrap();
    let conn = client.connect_udp(server_udp, 80).unwrap();
    let data: Vec<u8> = (0..TOTAL).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut received = Vec::new();
    let (mut sent, mut pings, mut ticks) = (0, 0, 0);
    let (mut connected, mut acceptable, mut eof) = (false, false, false);
    let mut accepted = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut next_tick = Instant::now();
    while !(eof && pings >= 2) {
        assert!(Instant::now() < deadline, "loop did not finish");
        let timeout = [
            server.next_timeout(),
            client.next_timeout(),
            Some(next_tick.saturating_duration_since(Instant::now())),
        ]
        .into_iter()
        .flatten()
        .min();
        poll.poll(&mut events, timeout).unwrap();
        for ev in events.iter() {
            match ev.token() {
                OWN => {
                    while own.recv_from(&mut [0u8; 16]).is_ok() {
                        pings += 1;
                    }
                }
                t => assert!(server.on_readable(t) || client.on_readable(t)),
            }
        }
        if Instant::now() >= next_tick {
            ticks += 1;
            next_tick += Duration::from_millis(20);
            pinger.send_to(b"ping", own.local_addr().unwrap()).unwrap();
        }
        server.on_timeout();
        client.on_timeout();
        while let Some(ev) = client.poll_event() {
            if let EndpointEvent::Conn(h, e) = ev {
                assert_eq!(h, conn);
                connected |= e == Event::Connected;
            }
        }
        if connected && sent < TOTAL {
            match client.write(conn, &data[sent..]) {
                Ok(n) => sent += n,
                Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            }
            if sent == TOTAL {
                client.shutdown(conn).unwrap();
            }
        }
        while let Some(ev) = server.poll_event() {
            if ev == EndpointEvent::Acceptable(listener) {
                acceptable = true;
                accepted = accepted.or(server.accept(listener).unwrap());
            }
        }
        if let Some(h) = accepted {
            let mut buf = [0u8; 8192];
            loop {
                match server.read(h, &mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        server.flush();
        client.flush();
    }
    assert!(connected && acceptable);
    assert!(ticks >= 2);
    assert_eq!(received.len(), TOTAL);
    assert!(received == data);
    assert_eq!(
        server.peer_addr(accepted.unwrap()).unwrap(),
        client.local_addr(conn).unwrap()
    );
}
