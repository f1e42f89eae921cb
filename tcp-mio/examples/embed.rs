//! Embedding the stack in an existing `mio` loop: the loop already has its own UDP socket
//! and a periodic timer; two drivers (a server and a client, each with its own UDP link)
//! are registered under the loop's own tokens and serviced next to them.
//!
//! The client sends 8 MiB to the server using the `Driver` API directly (handles and
//! `(handle, event)` pairs, no stream objects); meanwhile a timer ticks every 100 ms and
//! pings the loop's own UDP socket, which counts the pings.
//!
//! Usage: `cargo run --release -p tcp-mio --example embed`

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tcp_core::{EndpointEvent, Event};
use tcp_mio::Driver;

/// The application's own tokens...
const OWN_SOCKET: Token = Token(1);
/// ...and the ones it gives to the stack's links.
const SERVER_LINK: Token = Token(100);
const CLIENT_LINK: Token = Token(101);

const TOTAL: usize = 8 << 20;

fn main() -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();

    // The application's own socket and timer, unrelated to TCP.
    let mut own = UdpSocket::bind(loopback)?;
    poll.registry()
        .register(&mut own, OWN_SOCKET, Interest::READABLE)?;
    let pinger = std::net::UdpSocket::bind(loopback)?;
    let tick = Duration::from_millis(100);
    let mut next_tick = Instant::now() + tick;
    let (mut ticks, mut pings) = (0u32, 0u32);

    // The stack: two drivers, each with a UDP link, under the loop's tokens.
    let mut server = Driver::new(Default::default())?;
    let (link, server_udp) = server.add_udp_link(loopback)?;
    server.register(poll.registry(), link, SERVER_LINK)?;
    let mut client = Driver::new(Default::default())?;
    let (link, _) = client.add_udp_link(loopback)?;
    client.register(poll.registry(), link, CLIENT_LINK)?;

    let listener = server.listen(SocketAddr::new(server_udp.ip(), 9), 8)?;
    let conn = client.connect_udp(server_udp, 9)?;
    let data = vec![0xa5u8; TOTAL];
    let (mut sent, mut received, mut done) = (0usize, 0usize, false);
    let mut buf = vec![0u8; 64 * 1024];

    while !done || ticks < 3 {
        // The poll timeout is the earliest of the application's timer and the stack's.
        let now = Instant::now();
        let timeout = [
            server.next_timeout(),
            client.next_timeout(),
            Some(next_tick.saturating_duration_since(now)),
        ]
        .into_iter()
        .flatten()
        .min();
        poll.poll(&mut events, timeout)?;

        for ev in events.iter() {
            match ev.token() {
                OWN_SOCKET => {
                    let mut b = [0u8; 64];
                    while own.recv_from(&mut b).is_ok() {
                        pings += 1;
                    }
                }
                SERVER_LINK => {
                    server.on_readable(SERVER_LINK);
                }
                CLIENT_LINK => {
                    client.on_readable(CLIENT_LINK);
                }
                _ => {}
            }
        }
        if Instant::now() >= next_tick {
            ticks += 1;
            next_tick += tick;
            pinger.send_to(b"tick", own.local_addr()?)?;
            println!("embed: tick {ticks}: {received} of {TOTAL} bytes received, {pings} pings");
        }
        server.on_timeout();
        client.on_timeout();

        // Events come back as (handle, event) pairs.
        while let Some(ev) = client.poll_event() {
            if let EndpointEvent::Conn(h, Event::Connected | Event::Writable) = ev {
                while sent < TOTAL {
                    match client.write(h, &data[sent..]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                if sent == TOTAL {
                    client.shutdown(h)?;
                }
            }
        }
        while let Some(ev) = server.poll_event() {
            match ev {
                EndpointEvent::Acceptable(l) => {
                    while let Some(h) = server.accept(l)? {
                        println!("embed: accepted {}", server.peer_addr(h)?);
                    }
                }
                // (Events may still name a connection closed meanwhile: skip those.)
                EndpointEvent::Conn(h, Event::Readable | Event::PeerClosed) if !done => loop {
                    match server.read(h, &mut buf) {
                        Ok(0) => {
                            server.close(h)?;
                            done = true;
                            break;
                        }
                        Ok(n) => received += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                },
                _ => {}
            }
        }
        server.flush();
        client.flush();
    }
    server.close_listener(listener)?;
    client.close(conn)?;
    client.flush();
    println!(
        "embed: {received} bytes received over the stack, {ticks} timer ticks, {pings} pings on the loop's own socket"
    );
    assert_eq!(received, TOTAL);
    Ok(())
}
