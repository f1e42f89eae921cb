//! The driver task: the one task per stack that moves packets and time into the endpoint
//! and its output onto the link.
//!
//! Its loop: run the due timers, send everything the endpoint has to transmit (framed
//! under the lock, sent outside it), re-arm the one timer from `poll_timeout`, then wait
//! for whichever comes first: a packet, the deadline, or a kick from a handle (its call
//! made an earlier deadline, its send found the link full, or the last handle went).
//! Output an application call causes is sent by the handle itself
//! ([`Shared::flush`]). Nothing polls: between those it sleeps.

use crate::link::LinkIo;
use crate::shared::{DriverCounters, Shared};
use bytes::BytesMut;
use std::io;
use std::sync::Arc;

/// Bytes reserved for one received packet.
const MAX_PACKET: usize = 65_536;
/// Receive buffer chunk; packets are cut from it as `Bytes` (the core keeps payload as
/// slices of them, without copying).
const RX_CHUNK: usize = 1 << 20;
/// Packets received under one lock before what they caused is sent.
const RX_BATCH: usize = 64;
/// Pause after a receive error that may persist.
const RECV_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Runs the stack until the last handle is gone.
pub(crate) async fn run(shared: Arc<Shared>) {
    let io = shared.io.clone();
    let mut rx = BytesMut::zeroed(RX_CHUNK);
    let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
    tokio::pin!(sleep);
    let mut armed: Option<tcp_core::Instant> = None;
    loop {
        let deadline = send_output(&shared, &io).await;
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

/// Runs the due timers and sends until the endpoint has nothing more (waiting for the
/// link when it is full), unless another task is sending: it sends what was framed here
/// too. Returns the deadline to sleep until, which handles compare theirs with.
async fn send_output(shared: &Shared, io: &LinkIo) -> Option<tcp_core::Instant> {
    let mut out = {
        let mut g = shared.lock();
        let now = shared.now();
        // Timers that came due while packets kept the driver busy run here, whichever
        // branch woke it.
        if g.endpoint.poll_timeout().is_some_and(|d| d <= now) {
            g.endpoint.handle_timeout(now);
        }
        g.frame_output(now);
        if g.sending {
            return g.driver_sleeps();
        }
        g.sending = true;
        std::mem::take(&mut g.outbox)
    };
    loop {
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
        let mut g = shared.lock();
        g.take_outbox(shared.now(), &mut out);
        if out.is_empty() {
            g.sending = false;
            return g.driver_sleeps();
        }
    }
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
