//! The state the driver task and the handles share: the endpoint behind one mutex, the
//! wakers of every stream and listener, and the link's addressing (routes).
//!
//! Every endpoint call happens under the lock, followed by [`Inner::dispatch_events`],
//! which turns the endpoint's events into wake-ups. A handle that finds nothing to do (no
//! data, no buffer space, no connection to accept) stores its waker under the same lock
//! before it returns `Pending`, so no event can slip between the check and the waker.
//!
//! Output leaves from whichever task caused it: after an application call the handle
//! frames what the endpoint has to transmit and sends it itself ([`Shared::flush`]), so a
//! write, an accept or a shutdown costs no wake-up of the driver task. Framed packets go
//! through one ordered outbox, and one task at a time (the *sender*) sends from it, outside
//! the lock; the others only add to it, so packets leave in the order they were framed.
//! The driver is kicked only when it must act: its timer must fire earlier than it is
//! armed for, or the link would block (the driver waits for it to drain).

use crate::link::{Dest, LinkIo, LinkState};
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use tcp_core::endpoint::{IncomingHandle, ListenerHandle};
use tcp_core::{ConnError, ConnHandle, Endpoint, EndpointEvent, Event};
use tokio::sync::Notify;

/// What the driver and the handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<Inner>,
    /// Wakes the driver task: output to send, a deadline that may have moved, or the
    /// last handle gone.
    pub(crate) driver: Notify,
    /// The last handle is gone: the driver stops.
    pub(crate) stopping: AtomicBool,
    /// The core's time zero.
    origin: tokio::time::Instant,
    /// The driver's counters.
    pub(crate) stats: DriverCounters,
    /// The link's I/O object (the driver receives on it; whoever holds the sender role
    /// sends on it).
    pub(crate) io: LinkIo,
}

/// Transmits framed under the lock at a time, before they are sent.
const TX_BATCH: usize = 64;

/// Counters the driver keeps (atomics: read without the lock).
#[derive(Debug, Default)]
pub(crate) struct DriverCounters {
    pub(crate) wakeups: AtomicU64,
    pub(crate) timer_fires: AtomicU64,
    pub(crate) packets_in: AtomicU64,
    pub(crate) packets_out: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) recv_errors: AtomicU64,
}

/// Counters of a stack's driver task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Times the driver woke up (a packet, its timer or a handle's kick).
    pub wakeups: u64,
    /// Of them, for its timer.
    pub timer_fires: u64,
    /// Packets received from the link.
    pub packets_in: u64,
    /// Packets sent on the link.
    pub packets_out: u64,
    /// Sends that failed (the segment is dropped; TCP retransmits).
    pub send_errors: u64,
    /// Receives that failed (ignored).
    pub recv_errors: u64,
}

impl DriverCounters {
    pub(crate) fn bump(a: &AtomicU64, by: u64) {
        a.fetch_add(by, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> DriverStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DriverStats {
            wakeups: g(&self.wakeups),
            timer_fires: g(&self.timer_fires),
            packets_in: g(&self.packets_in),
            packets_out: g(&self.packets_out),
            send_errors: g(&self.send_errors),
            recv_errors: g(&self.recv_errors),
        }
    }
}

/// The wakers and the last news of one connection a handle owns.
#[derive(Debug, Default)]
pub(crate) struct ConnSlot {
    /// The reader waiting for data or end-of-stream.
    pub(crate) read: Option<Waker>,
    /// The writer waiting for send-buffer space.
    pub(crate) write: Option<Waker>,
    /// A task waiting for the handshake (connect, accept of an incoming request).
    pub(crate) open: Option<Waker>,
    /// The handshake completed.
    pub(crate) connected: bool,
    /// The connection failed.
    pub(crate) error: Option<ConnError>,
    /// The connection reached CLOSED.
    pub(crate) closed: bool,
}

/// A listener's waiting task and, in decision mode, its pending requests.
#[derive(Debug)]
pub(crate) struct ListenerSlot {
    /// The task waiting in `accept` or `next_incoming`.
    pub(crate) waker: Option<Waker>,
    /// Connection requests awaiting a decision (bounded by the core's SYN-queue limit).
    pub(crate) incoming: VecDeque<IncomingHandle>,
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    /// The protocol core.
    pub(crate) endpoint: Endpoint,
    /// Connections some handle owns.
    pub(crate) conns: HashMap<ConnHandle, ConnSlot>,
    /// Open listeners.
    pub(crate) listeners: HashMap<ListenerHandle, ListenerSlot>,
    /// The link's addressing (UDP routes, TUN addresses).
    pub(crate) link: LinkState,
    /// The driver ended (its link failed or it was stopped): nothing moves any more.
    pub(crate) driver_gone: bool,
    /// The transparent listener ([`crate::Stack::listen_transparent`]): requests to any
    /// address and port no other listener takes, and the backlog of the per-port
    /// listeners made for it.
    pub(crate) catch_all: Option<(ListenerSlot, usize)>,
    /// The per-port decision-mode listeners made for the transparent listener.
    pub(crate) auto: HashMap<SocketAddr, ListenerHandle>,
    /// Framed packets not sent yet, in the order they were framed.
    pub(crate) outbox: VecDeque<(Bytes, Dest)>,
    /// A task (the driver or a handle) is sending the outbox, outside the lock: others
    /// only add to it.
    pub(crate) sending: bool,
    /// The deadline the driver's timer is armed for (it sets it under the lock before it
    /// sleeps): a handle whose call made an earlier one kicks the driver.
    pub(crate) driver_deadline: Option<tcp_core::Instant>,
    /// Transmit buffer chunk the framed packets are cut from.
    tx: BytesMut,
    /// Scratch for the transmits of one batch.
    batch: Vec<tcp_core::Transmit>,
}

fn wake(w: &mut Option<Waker>) {
    if let Some(w) = w.take() {
        w.wake();
    }
}

impl ConnSlot {
    /// Wakes every task waiting on the connection.
    pub(crate) fn wake_all(&mut self) {
        wake(&mut self.read);
        wake(&mut self.write);
        wake(&mut self.open);
    }
}

impl Shared {
    pub(crate) fn new(endpoint: Endpoint, link: LinkState, io: LinkIo) -> Shared {
        Shared {
            state: Mutex::new(Inner {
                endpoint,
                conns: HashMap::new(),
                listeners: HashMap::new(),
                link,
                driver_gone: false,
                catch_all: None,
                auto: HashMap::new(),
                outbox: VecDeque::new(),
                sending: false,
                driver_deadline: None,
                tx: BytesMut::new(),
                batch: Vec::with_capacity(TX_BATCH),
            }),
            driver: Notify::new(),
            stopping: AtomicBool::new(false),
            origin: tokio::time::Instant::now(),
            stats: DriverCounters::default(),
            io,
        }
    }

    /// Takes the lock (a panic while it was held leaves the endpoint usable: its calls
    /// keep it consistent between calls).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The core's notion of now.
    pub(crate) fn now(&self) -> tcp_core::Instant {
        let us = self.origin.elapsed().as_micros();
        tcp_core::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// A core instant as a tokio instant.
    pub(crate) fn to_tokio(&self, t: tcp_core::Instant) -> tokio::time::Instant {
        self.origin + std::time::Duration::from_micros(t.as_micros())
    }

    /// Tells the driver to run its loop: output to send, or a deadline to re-read.
    pub(crate) fn kick(&self) {
        self.driver.notify_one();
    }

    /// After an application call (under `g`, the lock): sends what the endpoint has to
    /// transmit from the calling task, unless another task is sending (it sends this too),
    /// and kicks the driver only if its timer must fire earlier or the link would block.
    pub(crate) fn flush<'a>(&'a self, mut g: MutexGuard<'a, Inner>) {
        g.frame_output(self.now());
        let mut blocked = false;
        if !g.sending && !g.outbox.is_empty() {
            g.sending = true;
            let mut out = std::mem::take(&mut g.outbox);
            loop {
                drop(g);
                blocked = self.try_send(&mut out);
                g = self.lock();
                if blocked {
                    // What is left goes first; the driver waits for the link to drain.
                    out.append(&mut g.outbox);
                    g.outbox = out;
                    break;
                }
                g.take_outbox(self.now(), &mut out);
                if out.is_empty() {
                    break;
                }
            }
            g.sending = false;
        }
        let earlier = match (g.endpoint.poll_timeout(), g.driver_deadline) {
            (Some(d), Some(armed)) => d < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        drop(g);
        if blocked || earlier {
            self.kick();
        }
    }

    /// Sends packets from the front of `out` without waiting; `true` if the link would
    /// block (the rest stays in `out`). A packet that fails otherwise is dropped and
    /// counted: TCP retransmits it.
    fn try_send(&self, out: &mut VecDeque<(Bytes, Dest)>) -> bool {
        while let Some((packet, to)) = out.front() {
            match self.io.try_send(packet, *to) {
                Ok(()) => DriverCounters::bump(&self.stats.packets_out, 1),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(e) => {
                    DriverCounters::bump(&self.stats.send_errors, 1);
                    tracing::trace!(error = %e, "send failed");
                }
            }
            out.pop_front();
        }
        false
    }

    /// The last handle is gone: stops the driver.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.driver.notify_one();
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

impl Inner {
    /// Frames up to a batch of the endpoint's transmits into the outbox (and turns the
    /// events that polling them caused into wake-ups); whether it framed any.
    pub(crate) fn frame_output(&mut self, now: tcp_core::Instant) -> bool {
        while self.batch.len() < TX_BATCH {
            let Some(t) = self.endpoint.poll_transmit(now) else {
                break;
            };
            self.batch.push(t);
        }
        let framed = !self.batch.is_empty();
        if framed {
            self.link
                .frame_all(&self.batch, &mut self.tx, &mut self.outbox);
            self.batch.clear();
        }
        self.dispatch_events();
        framed
    }

    /// For the sender, whose `out` is empty: moves into `out` what other tasks added to
    /// the outbox meanwhile, then what the endpoint has to transmit now, in that order.
    pub(crate) fn take_outbox(
        &mut self,
        now: tcp_core::Instant,
        out: &mut VecDeque<(Bytes, Dest)>,
    ) {
        // `out` is empty: swapping keeps its allocation.
        std::mem::swap(&mut self.outbox, out);
        self.frame_output(now);
        out.append(&mut self.outbox);
    }

    /// The driver goes to sleep: the deadline it arms its timer for, recorded for the
    /// handles (see [`Shared::flush`]).
    pub(crate) fn driver_sleeps(&mut self) -> Option<tcp_core::Instant> {
        self.driver_deadline = self.endpoint.poll_timeout();
        self.driver_deadline
    }

    /// Drains the endpoint's events into wake-ups.
    pub(crate) fn dispatch_events(&mut self) {
        while let Some(ev) = self.endpoint.poll_event() {
            match ev {
                EndpointEvent::Conn(h, e) => {
                    let Some(c) = self.conns.get_mut(&h) else {
                        continue;
                    };
                    match e {
                        Event::Readable | Event::PeerClosed => wake(&mut c.read),
                        Event::Writable => wake(&mut c.write),
                        Event::Connected => {
                            c.connected = true;
                            c.wake_all();
                        }
                        Event::Error(err) => {
                            c.error = Some(err);
                            c.wake_all();
                        }
                        Event::Closed => {
                            c.closed = true;
                            c.wake_all();
                        }
                        _ => c.wake_all(),
                    }
                }
                EndpointEvent::Acceptable(l) => {
                    if let Some(l) = self.listeners.get_mut(&l) {
                        wake(&mut l.waker);
                    }
                }
                EndpointEvent::Incoming(ih) => self.route_incoming(ih),
                EndpointEvent::IncomingGone(ih) => {
                    // The peer reset it, or it expired: no listener hands it out any more.
                    let queues = self
                        .listeners
                        .values_mut()
                        .chain(self.catch_all.as_mut().map(|(l, _)| l));
                    for l in queues {
                        l.incoming.retain(|h| *h != ih);
                    }
                }
                _ => {}
            }
        }
    }

    /// Hands a connection request to the listener it came through (a listener made by the
    /// transparent mode's catch-all goes to the catch-all).
    fn route_incoming(&mut self, ih: IncomingHandle) {
        let Ok(inc) = self.endpoint.incoming(ih) else {
            return;
        };
        let found = self
            .listeners
            .contains_key(&inc.listener)
            .then_some(inc.listener);
        let slot = match found {
            Some(h) => self.listeners.get_mut(&h),
            None => self.catch_all.as_mut().map(|(l, _)| l),
        };
        match slot {
            Some(l) => {
                l.incoming.push_back(ih);
                wake(&mut l.waker);
            }
            None => {
                let _ = self.endpoint.ignore_incoming(ih);
            }
        }
    }

    /// Hands a received packet to the link and the endpoint. With a transparent listener,
    /// a SYN to a port nobody listens on first gets a decision-mode listener on that port
    /// (the core has no listener for every port).
    pub(crate) fn input(
        &mut self,
        now: tcp_core::Instant,
        packet: bytes::Bytes,
        from: Option<SocketAddr>,
    ) {
        let Some((packet, offload)) = self.link.unframe(packet) else {
            return;
        };
        #[cfg(target_os = "linux")]
        if let Some((_, backlog)) = &self.catch_all
            && let Some(dst) = crate::tun::syn_destination(&packet)
        {
            let unspec: std::net::IpAddr = if dst.is_ipv4() {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            };
            let addr = SocketAddr::new(unspec, dst.port());
            if !self.auto.contains_key(&addr) {
                let opts = tcp_core::ListenOptions {
                    backlog: *backlog,
                    decide: true,
                };
                // Taken by the application's own listener: that one answers.
                if let Ok(h) = self.endpoint.listen_with(addr, opts) {
                    self.auto.insert(addr, h);
                }
            }
        }
        self.link
            .input(&mut self.endpoint, now, packet, from, offload);
    }

    /// The driver ended: every waiting task is woken to see it.
    pub(crate) fn wake_everyone(&mut self) {
        for c in self.conns.values_mut() {
            c.wake_all();
        }
        for l in self.listeners.values_mut() {
            wake(&mut l.waker);
        }
        if let Some((l, _)) = &mut self.catch_all {
            wake(&mut l.waker);
        }
    }
}
