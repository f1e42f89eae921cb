//! [`TcpListener`] and the decision on a connection request, [`IncomingConnection`].

use crate::shared::{ConnSlot, Shared};
use crate::stack::Life;
use crate::stream::{TcpStream, driver_gone};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tcp_core::endpoint::{IncomingHandle, ListenerHandle};
use tcp_mio::error::handle_err;

/// A listening socket of a [`crate::Stack`]. Dropping it stops listening (connections
/// not yet accepted are reset).
///
/// One task at a time should wait in [`TcpListener::accept`] or
/// [`TcpListener::next_incoming`]: the listener keeps one waker (the last task to wait).
/// Hand accepted streams to other tasks instead.
#[derive(Debug)]
pub struct TcpListener {
    life: Arc<Life>,
    /// The core's listener; `None`: the transparent listener.
    h: Option<ListenerHandle>,
    addr: SocketAddr,
}

impl TcpListener {
    pub(crate) fn new(life: Arc<Life>, h: Option<ListenerHandle>, addr: SocketAddr) -> TcpListener {
        TcpListener { life, h, addr }
    }

    fn shared(&self) -> &Shared {
        &self.life.shared
    }

    /// The address it listens on (the unspecified address and port 0 for the transparent
    /// listener).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next established connection and its peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next established connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let mut g = self.shared().lock();
        if g.driver_gone {
            return Poll::Ready(Err(driver_gone()));
        }
        let inner = &mut *g;
        let Some(lh) = self.h else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the transparent listener only gives requests: use next_incoming",
            )));
        };
        match inner.endpoint.accept(lh) {
            Ok(Some(ch)) => {
                let peer = inner.endpoint.tuple(ch).map(|t| t.remote);
                inner.conns.insert(
                    ch,
                    ConnSlot {
                        connected: true,
                        ..ConnSlot::default()
                    },
                );
                inner.dispatch_events();
                drop(g);
                // The stream exists from here on: dropping it closes the connection.
                let stream = TcpStream::new(self.life.clone(), ch);
                Poll::Ready(peer.map(|p| (stream, p)).map_err(handle_err))
            }
            Ok(None) => {
                if let Some(l) = inner.listeners.get_mut(&lh) {
                    l.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(handle_err(e))),
        }
    }

    /// The next connection request of a listener in decision mode
    /// ([`crate::Stack::listen_with_decision`]): what its SYN said, to be accepted or
    /// refused. Requests the peer gave up on (RST) or that waited too long (75 s) are
    /// skipped.
    pub async fn next_incoming(&self) -> io::Result<IncomingConnection> {
        poll_fn(|cx| self.poll_incoming(cx)).await
    }

    /// Polls for the next connection request (see [`TcpListener::next_incoming`]).
    pub fn poll_incoming(&self, cx: &mut Context<'_>) -> Poll<io::Result<IncomingConnection>> {
        let mut g = self.shared().lock();
        if g.driver_gone {
            return Poll::Ready(Err(driver_gone()));
        }
        let inner = &mut *g;
        let slot = match self.h {
            Some(h) => inner.listeners.get_mut(&h),
            None => inner.catch_all.as_mut().map(|(l, _)| l),
        };
        let Some(l) = slot else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        while let Some(ih) = l.incoming.pop_front() {
            if let Ok(info) = inner.endpoint.incoming(ih) {
                return Poll::Ready(Ok(IncomingConnection {
                    life: self.life.clone(),
                    h: Some(ih),
                    info,
                }));
            }
        }
        l.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let shared = self.shared();
        let mut g = shared.lock();
        let now = shared.now();
        match self.h {
            Some(h) => {
                g.listeners.remove(&h);
                let _ = g.endpoint.close_listener(now, h);
            }
            None => {
                g.catch_all = None;
                for (_, h) in std::mem::take(&mut g.auto) {
                    let _ = g.endpoint.close_listener(now, h);
                }
            }
        }
        // The requests and connections not accepted yet are reset.
        shared.flush(g);
    }
}

/// A connection request waiting for the application's decision: [`accept`] it (the
/// SYN-ACK goes out) or [`refuse`] it (a RST goes out). Dropping it undecided refuses it.
///
/// [`accept`]: IncomingConnection::accept
/// [`refuse`]: IncomingConnection::refuse
#[derive(Debug)]
pub struct IncomingConnection {
    life: Arc<Life>,
    h: Option<IncomingHandle>,
    info: tcp_core::Incoming,
}

impl IncomingConnection {
    /// The address the SYN was sent to (with a transparent link, the original
    /// destination).
    pub fn local_addr(&self) -> SocketAddr {
        self.info.local
    }

    /// The requester's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.info.remote
    }

    /// What the SYN offered (MSS, window scale, SACK, timestamps).
    pub fn syn(&self) -> &tcp_core::Incoming {
        &self.info
    }

    /// Accepts the request: the SYN-ACK goes out; completes when the handshake does.
    pub async fn accept(self) -> io::Result<TcpStream> {
        self.accept_with(&[]).await
    }

    /// [`accept`](IncomingConnection::accept) with socket options set on the connection
    /// before its SYN-ACK leaves, so they apply to its first segments too (for example
    /// `QuickAck(false)`: the ACK of the peer's first data waits for the answer, which a
    /// `set_option` after the handshake may be too late for when that data came with the
    /// handshake's last ACK).
    pub async fn accept_with(mut self, options: &[tcp_core::SockOption]) -> io::Result<TcpStream> {
        let Some(ih) = self.h.take() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let shared = &self.life.shared;
        let ch = {
            let mut g = shared.lock();
            if g.driver_gone {
                return Err(driver_gone());
            }
            let now = shared.now();
            let ch = g.endpoint.accept_incoming(now, ih).map_err(handle_err)?;
            for &option in options {
                if let Err(e) = g.endpoint.set_option(now, ch, option) {
                    let _ = g.endpoint.abort(now, ch);
                    shared.flush(g);
                    return Err(handle_err(e));
                }
            }
            g.conns.insert(ch, ConnSlot::default());
            // The SYN-ACK leaves from here.
            shared.flush(g);
            ch
        };
        let stream = TcpStream::new(self.life.clone(), ch);
        stream.wait_open().await?;
        Ok(stream)
    }

    /// Refuses the request with a RST.
    pub fn refuse(mut self) -> io::Result<()> {
        self.refuse_inner()
    }

    /// Forgets the request without answering: the peer's retransmitted SYN comes back as
    /// a new request.
    pub fn ignore(mut self) {
        if let Some(ih) = self.h.take() {
            let _ = self.life.shared.lock().endpoint.ignore_incoming(ih);
        }
    }

    fn refuse_inner(&mut self) -> io::Result<()> {
        let Some(ih) = self.h.take() else {
            return Ok(());
        };
        let shared = &self.life.shared;
        let mut g = shared.lock();
        let now = shared.now();
        let r = g.endpoint.refuse_incoming(now, ih);
        shared.flush(g);
        r.map_err(handle_err)
    }
}

impl Drop for IncomingConnection {
    fn drop(&mut self) {
        let _ = self.refuse_inner();
    }
}
