//! Streams between two tcp-tokio stacks over UDP on loopback: echo, many parallel streams,
//! half-close, split halves, a slow reader.

mod common;

use common::{bounded, on, pattern, stack, stack_with};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn echo_round_trips_byte_exact() {
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 7), 16).unwrap();
    let echo = tokio::spawn(async move {
        let (mut s, peer) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).await.unwrap();
        }
        s.shutdown().await.unwrap();
        // Keep the stream until the peer has read our FIN.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        peer
    });
    let data = pattern(1, 1 << 20);
    let s = bounded("connect", client.connect_udp(server.udp_addr().unwrap(), 7))
        .await
        .unwrap();
    assert_eq!(s.peer_addr().unwrap(), on(&server, 7));
    let local = s.local_addr().unwrap();
    let (mut r, mut w) = s.into_split();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&sent).await.unwrap();
        w.shutdown().await.unwrap();
        w
    });
    let mut got = Vec::new();
    bounded("echo", r.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echoed bytes differ");
    let _w = writer.await.unwrap();
    let peer = bounded("server", echo).await.unwrap();
    assert_eq!(peer, local, "the server saw the client's address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_parallel_streams_are_byte_exact() {
    const STREAMS: u64 = 32;
    const LEN: usize = 200_000;
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 80), 64).unwrap();
    // Server: echoes each connection; each client checks its own bytes come back.
    let srv = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for _ in 0..STREAMS {
            let (s, _) = listener.accept().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                tokio::io::copy(&mut r, &mut w).await.unwrap();
                w.shutdown().await.unwrap();
                // Hold the read half until the client closes too.
                let mut rest = Vec::new();
                r.read_to_end(&mut rest).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let udp = server.udp_addr().unwrap();
    let mut clients = Vec::new();
    for i in 0..STREAMS {
        let client = client.clone();
        clients.push(tokio::spawn(async move {
            let s = client.connect_udp(udp, 80).await.unwrap();
            let (mut r, mut w) = s.into_split();
            let data = pattern(100 + i, LEN);
            let sent = data.clone();
            let wt = tokio::spawn(async move {
                w.write_all(&sent).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let mut got = Vec::with_capacity(LEN);
            r.read_to_end(&mut got).await.unwrap();
            wt.await.unwrap();
            assert!(got == data, "stream {i}: echoed bytes differ");
            got.len()
        }));
    }
    let mut total = 0;
    for c in clients {
        total += bounded("client", c).await.unwrap();
    }
    assert_eq!(total, STREAMS as usize * LEN);
    bounded("server", srv).await.unwrap();
    assert!(client.endpoint_stats().connections_established >= STREAMS);
}

#[tokio::test]
async fn half_close_keeps_the_other_direction_open() {
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 9), 4).unwrap();
    let mut c = bounded("connect", client.connect_udp(server.udp_addr().unwrap(), 9))
        .await
        .unwrap();
    let (mut s, _) = bounded("accept", listener.accept()).await.unwrap();
    c.write_all(b"request").await.unwrap();
    c.shutdown().await.unwrap();
    // Writing after our shutdown fails: the FIN is queued.
    assert_eq!(
        c.write(b"more").await.unwrap_err().kind(),
        std::io::ErrorKind::BrokenPipe
    );
    let mut req = Vec::new();
    bounded("server reads to EOF", s.read_to_end(&mut req))
        .await
        .unwrap();
    assert_eq!(req, b"request");
    // The server still writes after the client's FIN, and the client still reads.
    let reply = pattern(9, 300_000);
    s.write_all(&reply).await.unwrap();
    s.shutdown().await.unwrap();
    let mut got = Vec::new();
    bounded("client reads reply", c.read_to_end(&mut got))
        .await
        .unwrap();
    assert!(got == reply, "reply differs");
    let state = c.info().unwrap().state;
    assert!(
        matches!(
            state,
            tcp_tokio::tcp_core::State::FinWait2
                | tcp_tokio::tcp_core::State::TimeWait
                | tcp_tokio::tcp_core::State::Closed
        ),
        "client state {state:?}"
    );
}

#[tokio::test]
async fn slow_reader_closes_the_window_and_the_writer_waits() {
    // A small receive buffer, fixed (no auto-tuning), and a small send buffer.
    let mut cfg = tcp_tokio::tcp_core::Config::default();
    cfg.recv_buffer = 32 * 1024;
    cfg.recv_buffer_fixed = true;
    cfg.send_buffer = 32 * 1024;
    let server = stack_with(cfg.clone());
    let client = stack_with(cfg);
    let listener = server.listen(on(&server, 5), 4).unwrap();
    let mut c = bounded("connect", client.connect_udp(server.udp_addr().unwrap(), 5))
        .await
        .unwrap();
    let (mut s, _) = bounded("accept", listener.accept()).await.unwrap();
    let data = pattern(5, 2 << 20);
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        c.write_all(&sent).await.unwrap();
        c.shutdown().await.unwrap();
        c
    });
    // Nobody reads: the writer must stall with the window closed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !writer.is_finished(),
        "the writer finished with nobody reading"
    );
    let info = s.info().unwrap();
    assert!(
        info.rcv_wnd < 4096,
        "receiver still advertises {} bytes",
        info.rcv_wnd
    );
    // Now read slowly at first, then all: every byte arrives, in order.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1000];
    for _ in 0..20 {
        let n = bounded("slow read", s.read(&mut buf)).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bounded("read the rest", s.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    let c = bounded("writer", writer).await.unwrap();
    assert!(c.info().is_ok());
}

#[tokio::test]
async fn nodelay_info_and_addresses() {
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 22), 4).unwrap();
    let c = bounded(
        "connect",
        client.connect_udp(server.udp_addr().unwrap(), 22),
    )
    .await
    .unwrap();
    let (s, peer) = bounded("accept", listener.accept()).await.unwrap();
    c.set_nodelay(true).unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    assert_eq!(s.local_addr().unwrap(), c.peer_addr().unwrap());
    let info = c.info().unwrap();
    assert_eq!(info.state, tcp_tokio::tcp_core::State::Established);
    assert!(c.tcp_info().is_ok());
}

#[tokio::test]
async fn an_idle_connection_does_not_wake_the_driver() {
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 23), 4).unwrap();
    let mut c = bounded(
        "connect",
        client.connect_udp(server.udp_addr().unwrap(), 23),
    )
    .await
    .unwrap();
    let (mut s, _) = bounded("accept", listener.accept()).await.unwrap();
    c.write_all(b"x").await.unwrap();
    let mut b = [0u8; 1];
    bounded("read", s.read_exact(&mut b)).await.unwrap();
    // Let the delayed ACK go, then count the wake-ups of one idle second.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (c0, s0) = (client.driver_stats(), server.driver_stats());
    let reader = tokio::spawn(async move {
        // A reader waiting all along: it must sleep on its waker, not spin.
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(Duration::from_secs(1), s.read(&mut b)).await;
        assert!(r.is_err(), "read returned on an idle connection: {r:?}");
        s
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _s = reader.await.unwrap();
    let (c1, s1) = (client.driver_stats(), server.driver_stats());
    assert!(
        c1.wakeups - c0.wakeups <= 3 && s1.wakeups - s0.wakeups <= 3,
        "idle wake-ups: client {} server {}",
        c1.wakeups - c0.wakeups,
        s1.wakeups - s0.wakeups
    );
    assert_eq!(
        c1.packets_out, c0.packets_out,
        "an idle client sent packets"
    );
}

#[tokio::test]
async fn aborting_the_write_half_resets_both_sides() {
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 24), 4).unwrap();
    let c = bounded(
        "connect",
        client.connect_udp(server.udp_addr().unwrap(), 24),
    )
    .await
    .unwrap();
    let (mut s, _) = bounded("accept", listener.accept()).await.unwrap();
    let (mut r, w) = c.into_split();
    // A reader already waiting when the write half aborts must wake up with an error.
    let reader = tokio::spawn(async move {
        let mut b = [0u8; 8];
        r.read(&mut b).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    w.abort().unwrap();
    let local = bounded("local reader", reader).await.unwrap();
    assert!(local.is_err(), "the read half read {local:?} after abort");
    let mut b = [0u8; 8];
    let err = bounded("peer read", s.read(&mut b)).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
}

#[tokio::test]
async fn echo_over_ipv6_loopback() {
    let server =
        tcp_tokio::Stack::bind_udp("[::1]:0".parse().unwrap(), Default::default()).unwrap();
    let client =
        tcp_tokio::Stack::bind_udp("[::1]:0".parse().unwrap(), Default::default()).unwrap();
    let listener = server.listen(on(&server, 7), 4).unwrap();
    let mut c = bounded("connect", client.connect_udp(server.udp_addr().unwrap(), 7))
        .await
        .unwrap();
    assert!(c.local_addr().unwrap().is_ipv6());
    let (mut s, _) = bounded("accept", listener.accept()).await.unwrap();
    let data = pattern(6, 100_000);
    c.write_all(&data).await.unwrap();
    c.shutdown().await.unwrap();
    let mut got = Vec::new();
    bounded("read", s.read_to_end(&mut got)).await.unwrap();
    assert!(got == data, "bytes differ");
}
