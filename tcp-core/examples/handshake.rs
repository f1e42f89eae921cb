//! Shows the core's API on a whole connection: two endpoints in memory, a handshake, a
//! little data each way, and an orderly close, with every segment printed tcpdump-style.
//!
//! Run: `cargo run -p tcp-core --example handshake`

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::endpoint::EndpointEvent;
use tcp_core::{Config, Duration, Endpoint, EndpointConfig, Event, Instant};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

/// Moves every pending segment from `from` to `to` (after printing it).
fn deliver(now: Instant, from: &mut Endpoint, to: &mut Endpoint, label: &str) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit(now) {
        let h = &t.segment.header;
        println!(
            "{:>8.3} ms  {label}  {} > {}: [{}] seq {} ack {} win {} len {} {:?}",
            now.as_micros() as f64 / 1000.0,
            t.src,
            t.dst,
            h.flags,
            h.seq,
            h.ack,
            h.window,
            t.segment.payload.len(),
            h.options,
        );
        let mut buf = vec![0u8; t.len()];
        let len = t
            .encode(&mut buf)
            .expect("a segment always fits its own length");
        buf.truncate(len);
        to.handle_segment(now, t.src.ip(), t.dst.ip(), Bytes::from(buf))
            .expect("our own segments parse");
        n += 1;
    }
    n
}

fn main() {
    // The embedder supplies time and secrets; the core has neither clock nor randomness.
    let mut now = Instant::from_millis(1);
    let secret = |b: u8| EndpointConfig::with_secret([b; 16]);
    let mut client = Endpoint::new(Config::default(), secret(1));
    let mut server = Endpoint::new(Config::default(), secret(2));

    let listener = server
        .listen(SocketAddr::new(SERVER, 80), 128)
        .expect("listen");
    let conn = client
        .connect(now, CLIENT, SocketAddr::new(SERVER, 80))
        .expect("connect");

    let rtt_half = Duration::from_millis(10);
    let mut accepted = None;
    let mut client_done = false;
    let mut server_done = false;
    let mut announced = false;
    for _round in 0..64 {
        let moved = deliver(now, &mut client, &mut server, "client")
            + deliver(now, &mut server, &mut client, "server");
        while let Some(ev) = server.poll_event() {
            match ev {
                EndpointEvent::Acceptable(l) => {
                    let h = server.accept(l).expect("listener").expect("queued");
                    println!(
                        "           server: accepted {:?}",
                        server.tuple(h).expect("h").remote
                    );
                    server.write(now, h, b"hello from the server").expect("w");
                    accepted = Some(h);
                }
                EndpointEvent::Conn(h, Event::Readable) => {
                    let mut buf = [0u8; 1024];
                    match server.read(now, h, &mut buf) {
                        Ok(0) => {
                            println!("           server: end of stream, closing");
                            server.close(now, h).expect("h");
                            server_done = true;
                        }
                        Ok(n) => println!(
                            "           server: read {:?}",
                            String::from_utf8_lossy(&buf[..n])
                        ),
                        Err(_) => {}
                    }
                }
                other => println!("           server: {other:?}"),
            }
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                EndpointEvent::Conn(h, Event::Connected) => {
                    println!("           client: connected");
                    client.write(now, h, b"hello from the client").expect("w");
                }
                EndpointEvent::Conn(h, Event::Readable) if !client_done => {
                    let mut buf = [0u8; 1024];
                    if let Ok(n) = client.read(now, h, &mut buf) {
                        println!(
                            "           client: read {:?}, closing",
                            String::from_utf8_lossy(&buf[..n])
                        );
                        client.close(now, h).expect("h");
                        client_done = true;
                    }
                }
                other => println!("           client: {other:?}"),
            }
        }
        if moved == 0 {
            if client.table_len() == 0 && server.table_len() == 0 {
                println!(
                    "{:>8.3} ms  both endpoints empty: CLOSED",
                    now.as_micros() as f64 / 1000.0
                );
                break;
            }
            if client_done && server_done && client.time_wait_count() == 1 && !announced {
                println!("           client: TIME_WAIT (2 MSL = 60 s)");
                announced = true;
            }
            // Nothing in flight: jump to the next timer (delayed ACKs, TIME_WAIT).
            match [client.poll_timeout(), server.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
            {
                Some(t) => now = t.max(now),
                None => break,
            }
            client.handle_timeout(now);
            server.handle_timeout(now);
        } else {
            now += rtt_half;
        }
    }
    let _ = (listener, conn, accepted);
    println!(
        "client stats: {:?}\nserver stats: {:?}",
        client.stats(),
        server.stats()
    );
}
