//! Loss between two tcp-tokio stacks: a UDP relay on loopback drops datagrams (seeded), so
//! recovery needs the driver's timer (RTO, tail-loss probes) as well as fast retransmit.

mod common;

use common::{bounded, on, pattern, stack};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

/// Forwards datagrams between the client (whoever sends to `front`) and `server` (from
/// `back`), dropping those `drop(n)` picks (n counts datagrams in both directions).
async fn relay(
    front: Arc<UdpSocket>,
    back: Arc<UdpSocket>,
    server: SocketAddr,
    dropped: Arc<AtomicU64>,
    drop: fn(u64) -> bool,
) {
    let count = Arc::new(AtomicU64::new(0));
    let client: Arc<std::sync::Mutex<Option<SocketAddr>>> = Arc::default();
    let (f, b, c, n, d) = (
        front.clone(),
        back.clone(),
        client.clone(),
        count.clone(),
        dropped.clone(),
    );
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            let (len, from) = f.recv_from(&mut buf).await.unwrap();
            *c.lock().unwrap() = Some(from);
            if drop(n.fetch_add(1, Ordering::Relaxed)) {
                d.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let _ = b.send_to(&buf[..len], server).await;
        }
    });
    let mut buf = vec![0u8; 65536];
    loop {
        let (len, _) = back.recv_from(&mut buf).await.unwrap();
        let to = *client.lock().unwrap();
        if drop(count.fetch_add(1, Ordering::Relaxed)) {
            dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Some(to) = to {
            let _ = front.send_to(&buf[..len], to).await;
        }
        if up.is_finished() {
            return;
        }
    }
}

/// About 3 % of datagrams, spread by a multiplicative hash, plus the 40th to the 43rd in a
/// row (a burst that fast retransmit alone cannot repair).
fn lossy(n: u64) -> bool {
    (40..44).contains(&n) || n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58 < 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_survives_loss_byte_exact() {
    const LEN: usize = 2 << 20;
    let server = stack();
    let client = stack();
    let listener = server.listen(on(&server, 80), 4).unwrap();
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let dropped = Arc::new(AtomicU64::new(0));
    let relay_addr = front.local_addr().unwrap();
    let relay = tokio::spawn(relay(
        front,
        back,
        server.udp_addr().unwrap(),
        dropped.clone(),
        lossy,
    ));
    let data = pattern(11, LEN);
    let sent = data.clone();
    let c = tokio::spawn(async move {
        let mut s = client.connect_udp(relay_addr, 80).await.unwrap();
        s.write_all(&sent).await.unwrap();
        s.shutdown().await.unwrap();
        // Until the server's FIN: our data was all acknowledged by then.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        (s.info().unwrap(), client.driver_stats())
    });
    let (mut s, _) = bounded("accept", listener.accept()).await.unwrap();
    let mut got = Vec::with_capacity(LEN);
    bounded("read", s.read_to_end(&mut got)).await.unwrap();
    s.shutdown().await.unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == data, "bytes differ");
    let (info, stats) = bounded("client", c).await.unwrap();
    relay.abort();
    assert!(
        dropped.load(Ordering::Relaxed) > 20,
        "the relay dropped too little"
    );
    assert!(
        info.stats.retransmits > 0,
        "the sender retransmitted nothing: {:?}",
        info.stats
    );
    assert!(stats.timer_fires > 0, "the driver's timer never fired");
}
