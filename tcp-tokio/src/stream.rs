//! [`TcpStream`] and its owned halves: `AsyncRead` / `AsyncWrite` over one connection of
//! the endpoint.
//!
//! Reads take data straight from the connection's receive buffer, so a reader that stops
//! reading stops the window; writes copy into the send buffer and return `Pending` when it
//! is full, until the core reports `Writable`. Each `Pending` stores the task's waker under
//! the stack's lock; the driver wakes it from the endpoint's events.

use crate::shared::Shared;
use crate::stack::Life;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tcp_core::{ConnHandle, Info, ReadError, SockOption, TcpInfo, WriteError};
use tcp_mio::error::{conn_err, handle_err, read_err, state_err, write_err};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The error of every call once the driver has stopped.
pub(crate) fn driver_gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the stack's driver has stopped",
    )
}

/// One connection, shared by a stream's halves; closing it is the last half's drop.
#[derive(Debug)]
struct Conn {
    life: Arc<Life>,
    h: ConnHandle,
    /// `shutdown` was called (the FIN is queued).
    shut: AtomicBool,
}

impl Conn {
    fn shared(&self) -> &Shared {
        &self.life.shared
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let shared = self.shared();
        let mut g = shared.lock();
        if g.driver_gone {
            return Poll::Ready(Err(driver_gone()));
        }
        let now = shared.now();
        let r = g.endpoint.read_bytes(now, self.h, buf.remaining());
        match r {
            Ok(Some(data)) => {
                buf.put_slice(&data);
                // Reading may open the window: a window update may be due.
                shared.flush(g);
                Poll::Ready(Ok(()))
            }
            Ok(None) => Poll::Ready(Ok(())),
            Err(ReadError::WouldBlock) => {
                if let Some(c) = g.conns.get_mut(&self.h) {
                    c.read = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(read_err(e))),
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let shared = self.shared();
        let mut g = shared.lock();
        if g.driver_gone {
            return Poll::Ready(Err(driver_gone()));
        }
        let now = shared.now();
        match g.endpoint.write(now, self.h, data) {
            Ok(n) => {
                shared.flush(g);
                Poll::Ready(Ok(n))
            }
            Err(WriteError::WouldBlock) => {
                if let Some(c) = g.conns.get_mut(&self.h) {
                    c.write = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(write_err(e))),
        }
    }

    fn shutdown(&self) -> io::Result<()> {
        if self.shut.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let shared = self.shared();
        let mut g = shared.lock();
        let now = shared.now();
        let r = g.endpoint.shutdown(now, self.h);
        shared.flush(g);
        r.map_err(state_err)
    }

    /// Waits for the handshake: `Ok` once connected, the failure otherwise.
    fn poll_open(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut g = self.shared().lock();
        let gone = g.driver_gone;
        let Some(c) = g.conns.get_mut(&self.h) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        if c.connected {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = c.error {
            return Poll::Ready(Err(conn_err(e)));
        }
        if c.closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection closed during the handshake",
            )));
        }
        if gone {
            return Poll::Ready(Err(driver_gone()));
        }
        c.open = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Sends a RST; the handle goes stale, and tasks waiting on it wake to see that.
    fn abort(&self) -> io::Result<()> {
        self.shut.store(true, Ordering::Release);
        let shared = self.shared();
        let mut g = shared.lock();
        let now = shared.now();
        let r = g.endpoint.abort(now, self.h);
        if let Some(c) = g.conns.get_mut(&self.h) {
            c.wake_all();
        }
        shared.flush(g);
        r.map_err(handle_err)
    }

    fn with_endpoint<R>(
        &self,
        f: impl FnOnce(&mut tcp_core::Endpoint, tcp_core::Instant) -> R,
    ) -> R {
        let shared = self.shared();
        let mut g = shared.lock();
        let now = shared.now();
        let r = f(&mut g.endpoint, now);
        g.dispatch_events();
        r
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let shared = self.shared();
        let mut g = shared.lock();
        let now = shared.now();
        g.conns.remove(&self.h);
        // Graceful: buffered data, then FIN; the connection finishes on its own.
        let _ = g.endpoint.close(now, self.h);
        shared.flush(g);
    }
}

/// A TCP connection of a [`crate::Stack`], with `AsyncRead` and `AsyncWrite`.
///
/// Dropping it closes the connection gracefully (buffered data, then FIN); `poll_shutdown`
/// (`AsyncWriteExt::shutdown`) sends the FIN and keeps reading possible.
#[derive(Debug)]
pub struct TcpStream {
    conn: Arc<Conn>,
}

impl TcpStream {
    pub(crate) fn new(life: Arc<Life>, h: ConnHandle) -> TcpStream {
        TcpStream {
            conn: Arc::new(Conn {
                life,
                h,
                shut: AtomicBool::new(false),
            }),
        }
    }

    /// Completes when the handshake has; fails with the connection's error.
    pub(crate) async fn wait_open(&self) -> io::Result<()> {
        poll_fn(|cx| self.conn.poll_open(cx)).await
    }

    /// The core's handle of this connection.
    pub fn handle(&self) -> ConnHandle {
        self.conn.h
    }

    /// The peer's address and port (on a UDP link: the peer's UDP socket IP and its TCP
    /// port).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        peer_addr(&self.conn)
    }

    /// Our address and port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        local_addr(&self.conn)
    }

    /// Turns Nagle's algorithm off (`true`) or on (`TCP_NODELAY`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.set_option(SockOption::NoDelay(nodelay))
    }

    /// Sets a socket option on the connection.
    pub fn set_option(&self, option: SockOption) -> io::Result<()> {
        let shared = self.conn.shared();
        let mut g = shared.lock();
        let r = g.endpoint.set_option(shared.now(), self.conn.h, option);
        // An option may release data (no delay, uncork) or an ACK (quick-ACK).
        shared.flush(g);
        r.map_err(handle_err)
    }

    /// A snapshot of the connection: state, windows, RTT, congestion control, counters.
    pub fn info(&self) -> io::Result<Info> {
        self.conn
            .with_endpoint(|ep, _| ep.info(self.conn.h))
            .map_err(handle_err)
    }

    /// Linux's `struct tcp_info` for the connection.
    pub fn tcp_info(&self) -> io::Result<TcpInfo> {
        self.conn
            .with_endpoint(|ep, now| ep.tcp_info(now, self.conn.h))
            .map_err(handle_err)
    }

    /// Aborts the connection with a RST.
    pub fn abort(self) -> io::Result<()> {
        self.conn.abort()
    }

    /// Splits the stream into a read half and a write half that can move to different
    /// tasks. The connection closes when both are dropped; dropping the write half
    /// shuts the sending direction down (FIN), as tokio's `OwnedWriteHalf` does.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                conn: self.conn.clone(),
            },
            OwnedWriteHalf { conn: self.conn },
        )
    }
}

fn peer_addr(c: &Conn) -> io::Result<SocketAddr> {
    c.with_endpoint(|ep, _| ep.tuple(c.h))
        .map(|t| t.remote)
        .map_err(handle_err)
}

fn local_addr(c: &Conn) -> io::Result<SocketAddr> {
    c.with_endpoint(|ep, _| ep.tuple(c.h))
        .map(|t| t.local)
        .map_err(handle_err)
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.conn.poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written data is in the connection's send buffer; the driver sends it.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown())
    }
}

/// The reading half of a [`TcpStream`] ([`TcpStream::into_split`]).
#[derive(Debug)]
pub struct OwnedReadHalf {
    conn: Arc<Conn>,
}

/// The writing half of a [`TcpStream`] ([`TcpStream::into_split`]); dropping it sends
/// the FIN.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    conn: Arc<Conn>,
}

impl OwnedReadHalf {
    /// The peer's address and port.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        peer_addr(&self.conn)
    }

    /// Our address and port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        local_addr(&self.conn)
    }
}

impl OwnedWriteHalf {
    /// Aborts the whole connection with a RST (the read half's reads then fail), for
    /// example to pass a reset on in a proxy.
    pub fn abort(self) -> io::Result<()> {
        self.conn.abort()
    }

    /// The peer's address and port.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        peer_addr(&self.conn)
    }

    /// Our address and port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        local_addr(&self.conn)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        let _ = self.conn.shutdown();
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.conn.poll_read(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown())
    }
}
