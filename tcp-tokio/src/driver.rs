//! The driver task: the one task per stack that moves packets and time into the endpoint
//! and its output onto the link.
//!
//! Its loop: send everything the endpoint has to transmit (framed under the lock, sent
//! outside it), re-arm the one timer from `poll_timeout`, then wait for whichever comes
//! first: a packet, the deadline, or a kick from a handle (an application call left
//! output, or the last handle went). Nothing polls: between those it sleeps.

use crate::link::{Dest, LinkIo};
use crate::shared::{DriverCounters, Shared};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;

/// Bytes reserved for one received packet.
const MAX_PACKET: usize = 65_536;
/// Receive buffer chunk; packets are cut from it as `Bytes` (the core keeps payload as
/// slices of them, without copying).
const RX_CHUNK: usize = 1 << 20;
/// Packets received under one lock before what they caused is sent.
const RX_BATCH: usize = 64;
/// Transmits framed under one lock before they are sent.
const TX_BATCH: usize = 64;

/// Runs the stack until the last handle is gone.
pub(crate) async fn run(shared: Arc<Shared>, io: LinkIo) {
    let mut rx = BytesMut::zeroed(RX_CHUNK);
    let mut tx = BytesMut::new();
    let mut out: Vec<(Bytes, Dest)> = Vec::with_capacity(TX_BATCH);
    let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
    tokio::pin!(sleep);
    let mut armed: Option<tcp_core::Instant> = None;
    loop {
        // Send until the endpoint has nothing more.
        let deadline = loop {
            let deadline = {
                let mut g = shared.lock();
                let now = shared.now();
                let inner = &mut *g;
                while out.len() < TX_BATCH {
                    let Some(t) = inner.endpoint.poll_transmit(now) else {
                        break;
                    };
                    if let Some(p) = inner.link.frame(&t, &mut tx) {
                        out.push(p);
                    }
                }
                inner.dispatch_events();
                inner.endpoint.poll_timeout()
            };
            if out.is_empty() {
                break deadline;
            }
            for (packet, to) in out.drain(..) {
                match io.send(&packet, to).await {
                    Ok(()) => DriverCounters::bump(&shared.stats.packets_out, 1),
                    Err(e) => {
                        // Dropped: TCP retransmits it.
                        DriverCounters::bump(&shared.stats.send_errors, 1);
                        tracing::trace!(error = %e, "send failed");
                    }
                }
            }
        };
        if shared.is_stopping() {
            break;
        }
        if deadline != armed {
            armed = deadline;
            if let Some(d) = deadline {
                sleep.as_mut().reset(shared.to_tokio(d));
            }
        }
        if rx.len() < MAX_PACKET {
            rx = BytesMut::zeroed(RX_CHUNK);
        }
        tokio::select! {
            biased;
            () = shared.driver.notified() => {}
            r = io.recv(&mut rx[..]) => match r {
                Ok((n, from)) => receive(&shared, &io, &mut rx, n, from),
                Err(e) => {
                    DriverCounters::bump(&shared.stats.recv_errors, 1);
                    // ICMP port unreachable from an earlier datagram (ECONNREFUSED) and
                    // the like: the next receive goes on.
                    tracing::trace!(error = %e, "receive failed");
                }
            },
            () = &mut sleep, if armed.is_some() => {
                DriverCounters::bump(&shared.stats.timer_fires, 1);
                let mut g = shared.lock();
                let now = shared.now();
                g.endpoint.handle_timeout(now);
                // The heap may still hold this deadline (a lazily superseded entry):
                // re-arm from poll_timeout on the next turn in any case.
                armed = None;
            }
        }
        DriverCounters::bump(&shared.stats.wakeups, 1);
    }
    let mut g = shared.lock();
    g.driver_gone = true;
    g.wake_everyone();
}

/// Hands the packet just received, and up to a batch more that are already waiting, to
/// the endpoint under one lock.
fn receive(
    shared: &Shared,
    io: &LinkIo,
    rx: &mut BytesMut,
    n: usize,
    from: Option<std::net::SocketAddr>,
) {
    let mut g = shared.lock();
    let now = shared.now();
    let inner = &mut *g;
    let packet = rx.split_to(n).freeze();
    inner.input(now, packet, from);
    let mut count = 1;
    for _ in 1..RX_BATCH {
        if rx.len() < MAX_PACKET {
            *rx = BytesMut::zeroed(RX_CHUNK);
        }
        match io.try_recv(&mut rx[..]) {
            Ok((n, from)) => {
                let packet = rx.split_to(n).freeze();
                inner.input(now, packet, from);
                count += 1;
            }
            Err(_) => break,
        }
    }
    DriverCounters::bump(&shared.stats.packets_in, count);
}
