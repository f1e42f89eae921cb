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
use std::io;
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
/// Pause after a receive error that may persist.
const RECV_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Runs the stack until the last handle is gone.
pub(crate) async fn run(shared: Arc<Shared>, io: LinkIo) {
    let mut rx = BytesMut::zeroed(RX_CHUNK);
    let mut tx = BytesMut::new();
    let mut out: Vec<(Bytes, Dest)> = Vec::with_capacity(TX_BATCH);
    let mut pending: Vec<tcp_core::Transmit> = Vec::with_capacity(TX_BATCH);
    let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
    tokio::pin!(sleep);
    let mut armed: Option<tcp_core::Instant> = None;
    loop {
        // Send until the endpoint has nothing more.
        let deadline = loop {
            let (deadline, polled) = {
                let mut g = shared.lock();
                let now = shared.now();
                let inner = &mut *g;
                // Timers that came due while packets kept the driver busy run here,
                // whichever branch woke it.
                if inner.endpoint.poll_timeout().is_some_and(|d| d <= now) {
                    inner.endpoint.handle_timeout(now);
                }
                while pending.len() < TX_BATCH {
                    let Some(t) = inner.endpoint.poll_transmit(now) else {
                        break;
                    };
                    pending.push(t);
                }
                inner.link.frame_all(&pending, &mut tx, &mut out);
                let polled = !pending.is_empty();
                pending.clear();
                inner.dispatch_events();
                (inner.endpoint.poll_timeout(), polled)
            };
            if !polled {
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
        // Unbiased: neither a stream of packets nor a stream of kicks starves the other
        // (and due timers run at the top of the loop whatever woke it).
        tokio::select! {
            () = shared.driver.notified() => {}
            r = io.recv(&mut rx[..]) => match r {
                Ok((n, from)) => receive(&shared, &io, &mut rx, n, from),
                Err(e) => {
                    DriverCounters::bump(&shared.stats.recv_errors, 1);
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                    ) {
                        // ICMP about an earlier datagram and the like: go on.
                        tracing::trace!(error = %e, "receive failed");
                    } else {
                        // Something that may not go away (a device that vanished):
                        // do not spin on it.
                        tracing::warn!(error = %e, "receive failed");
                        tokio::time::sleep(RECV_ERROR_PAUSE).await;
                    }
                }
            },
            () = &mut sleep, if armed.is_some() => {
                DriverCounters::bump(&shared.stats.timer_fires, 1);
                // The top of the loop runs the due timers; the deadline is re-read and
                // re-armed after them (the heap may have kept a superseded entry).
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
