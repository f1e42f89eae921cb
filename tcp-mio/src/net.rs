//! A ready-made event loop with `std::io::Read`/`Write` stream handles.
//!
//! [`Net`] owns a `mio::Poll` and a [`Driver`] behind `Rc<RefCell<..>>`; [`TcpStream`]
//! and [`TcpListener`] hold a clone of it, so they can be used like their `std::net`
//! namesakes in non-blocking mode: reads and writes return `WouldBlock` when the core has
//! no data or no buffer space, and [`Net::poll`] (or [`Net::run_until`]) makes progress.
//! Everything is single-threaded: one `Net` per thread.

use crate::UdpLink;
use crate::driver::{Driver, LinkId};
use mio::{Events, Poll, Token};
use std::cell::{RefCell, RefMut};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tcp_core::endpoint::ListenerHandle;
use tcp_core::{Config, ConnHandle, EndpointEvent, State};

struct Inner {
    driver: RefCell<Driver>,
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    udp: Option<SocketAddr>,
}

/// A driver and its `mio::Poll`, shared by the stream handles made from it. Cloning is
/// cheap (a reference count).
#[derive(Clone)]
pub struct Net {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net").field("udp", &self.inner.udp).finish()
    }
}

impl Net {
    /// A stack on one UDP link bound to `addr` (a specific IP, port 0 for any), with the
    /// given per-connection configuration.
    pub fn udp(addr: SocketAddr, config: Config) -> io::Result<Net> {
        let mut driver = Driver::new(config)?;
        let link = UdpLink::bind(addr)?;
        let local = link.local_addr();
        driver.add_link(link);
        Self::build(driver, Some(local))
    }

    /// A loop around an existing driver; its links are registered under `Token(index)`.
    pub fn from_driver(driver: Driver) -> io::Result<Net> {
        Self::build(driver, None)
    }

    fn build(mut driver: Driver, udp: Option<SocketAddr>) -> io::Result<Net> {
        let poll = Poll::new()?;
        let mut i = 0;
        while driver.link(LinkId(i)).is_some() {
            driver.register(poll.registry(), LinkId(i), Token(i))?;
            i += 1;
        }
        Ok(Net {
            inner: Rc::new(Inner {
                driver: RefCell::new(driver),
                poll: RefCell::new(poll),
                events: RefCell::new(Events::with_capacity(64)),
                udp,
            }),
        })
    }

    /// The UDP socket's address, for a stack made by [`Net::udp`]: what peers connect to.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.inner.udp
    }

    /// The driver, for everything the handles do not wrap. Do not hold the borrow across
    /// calls on streams or [`Net::poll`].
    pub fn driver(&self) -> RefMut<'_, Driver> {
        self.inner.driver.borrow_mut()
    }

    /// Listens on TCP port `port` of the UDP link's IP (or every IP without a UDP link).
    pub fn listen(&self, port: u16, backlog: usize) -> io::Result<TcpListener> {
        let ip = self
            .inner
            .udp
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
        self.listen_on(SocketAddr::new(ip, port), backlog)
    }

    /// Listens on `addr`.
    pub fn listen_on(&self, addr: SocketAddr, backlog: usize) -> io::Result<TcpListener> {
        let handle = self.driver().listen(addr, backlog)?;
        Ok(TcpListener {
            net: self.clone(),
            handle,
            addr,
        })
    }

    /// Starts connecting to TCP port `port` of the peer whose UDP socket is `peer_udp`.
    /// Returns at once; the stream's reads return `WouldBlock` until data arrives and
    /// `ConnectionRefused` if the peer refuses. Writes before the handshake completes are
    /// buffered and sent after it.
    pub fn connect(&self, peer_udp: SocketAddr, port: u16) -> io::Result<TcpStream> {
        let handle = {
            let mut d = self.driver();
            let h = d.connect_udp(peer_udp, port)?;
            d.flush();
            h
        };
        Ok(TcpStream {
            net: self.clone(),
            handle,
            open: true,
        })
    }

    /// Wraps a connection opened through [`Net::driver`] (for example with
    /// [`Driver::connect`] or [`Driver::accept_incoming`]) in a stream handle, which then
    /// owns it (dropping the stream closes it).
    pub fn stream(&self, handle: ConnHandle) -> TcpStream {
        TcpStream {
            net: self.clone(),
            handle,
            open: true,
        }
    }

    /// Waits for readiness or the next deadline (at most `timeout`; `None`: no limit
    /// besides the stack's own timers), handles it, and returns the events that arrived.
    ///
    /// Events are informational for users of the stream handles: reads and writes can
    /// simply be retried after each `poll`.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<Vec<EndpointEvent>> {
        let wait = {
            let mut d = self.driver();
            d.flush();
            match (d.next_timeout(), timeout) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let mut events = self.inner.events.borrow_mut();
        match self.inner.poll.borrow_mut().poll(&mut events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let mut d = self.driver();
        for ev in events.iter() {
            d.on_readable(ev.token());
        }
        d.on_timeout();
        let mut out = Vec::new();
        while let Some(ev) = d.poll_event() {
            out.push(ev);
        }
        Ok(out)
    }

    /// Polls until `done` returns true; fails with `TimedOut` after `limit`.
    pub fn run_until(
        &self,
        limit: Duration,
        mut done: impl FnMut() -> io::Result<bool>,
    ) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if done()? {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "run_until: limit"));
            }
            self.poll(Some(deadline - now))?;
        }
    }
}

/// A TCP connection, used like a non-blocking `std::net::TcpStream`.
///
/// Dropping it closes the connection gracefully ([`TcpStream::close`]).
pub struct TcpStream {
    net: Net,
    handle: ConnHandle,
    open: bool,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl TcpStream {
    /// The core's handle of this connection (for [`Driver`] calls and to match events).
    pub fn handle(&self) -> ConnHandle {
        self.handle
    }

    /// The peer's address (its IP and TCP port).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.net.driver().peer_addr(self.handle)
    }

    /// Our address (IP and TCP port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.net.driver().local_addr(self.handle)
    }

    /// The connection's state.
    pub fn state(&self) -> io::Result<State> {
        let d = self.net.driver();
        let c = d
            .endpoint()
            .connection(self.handle)
            .map_err(crate::error::handle_err)?;
        Ok(c.state())
    }

    /// A snapshot of the connection (RTT, windows, counters), like Linux's `TCP_INFO`.
    pub fn info(&self) -> io::Result<tcp_core::Info> {
        let d = self.net.driver();
        let c = d
            .endpoint()
            .connection(self.handle)
            .map_err(crate::error::handle_err)?;
        Ok(c.info())
    }

    /// True once the handshake has completed (and until the connection closes).
    pub fn is_connected(&self) -> bool {
        self.state().is_ok_and(|s| {
            matches!(
                s,
                State::Established
                    | State::FinWait1
                    | State::FinWait2
                    | State::CloseWait
                    | State::Closing
                    | State::LastAck
                    | State::TimeWait
            )
        })
    }

    /// The error that ended the connection, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.net.driver().take_error(self.handle)
    }

    /// Turns Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.net.driver().set_nodelay(self.handle, nodelay)
    }

    /// Reads up to `max` bytes without copying them out of the received segments;
    /// `Ok(None)` is end-of-stream, `WouldBlock` means no data yet.
    pub fn read_bytes(&self, max: usize) -> io::Result<Option<bytes::Bytes>> {
        let mut d = self.net.driver();
        let r = d.read_bytes(self.handle, max);
        d.flush();
        r
    }

    /// Hands owned data to the send buffer without copying (the segments sent are slices
    /// of it); returns how many bytes were taken, or `WouldBlock` if none were.
    pub fn write_bytes(&self, data: bytes::Bytes) -> io::Result<usize> {
        let mut d = self.net.driver();
        let r = d.write_bytes(self.handle, data);
        d.flush();
        r
    }

    /// Shuts down the sending direction (`SHUT_WR`): the peer reads end-of-stream after the
    /// data already written; later writes fail with `BrokenPipe`. Reading goes on.
    pub fn shutdown(&self) -> io::Result<()> {
        let mut d = self.net.driver();
        d.shutdown(self.handle)?;
        d.flush();
        Ok(())
    }

    /// Closes the connection: buffered data is still delivered, then a FIN (or a RST if
    /// received data was left unread, as Linux does).
    pub fn close(mut self) -> io::Result<()> {
        self.close_inner()
    }

    /// Aborts the connection with a RST: the peer's reads and writes fail with
    /// `ConnectionReset`.
    pub fn abort(mut self) -> io::Result<()> {
        self.open = false;
        let mut d = self.net.driver();
        d.abort(self.handle)?;
        d.flush();
        Ok(())
    }

    fn close_inner(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.open, false) {
            return Ok(());
        }
        let mut d = self.net.driver();
        d.close(self.handle)?;
        d.flush();
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut d = self.net.driver();
        let r = d.read(self.handle, buf);
        d.flush();
        r
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut d = self.net.driver();
        let r = d.write(self.handle, buf);
        d.flush();
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        self.net.driver().flush();
        Ok(())
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let _ = self.close_inner();
    }
}

/// A listening socket, used like a non-blocking `std::net::TcpListener`. Dropping it stops
/// listening.
pub struct TcpListener {
    net: Net,
    handle: ListenerHandle,
    addr: SocketAddr,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TcpListener {
    /// The core's handle of this listener (to match `Acceptable` events).
    pub fn handle(&self) -> ListenerHandle {
        self.handle
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Takes an established connection; `WouldBlock` if none is waiting.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut d = self.net.driver();
        match d.accept(self.handle)? {
            Some(handle) => {
                let peer = d.peer_addr(handle)?;
                Ok((
                    TcpStream {
                        net: self.net.clone(),
                        handle,
                        open: true,
                    },
                    peer,
                ))
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let mut d = self.net.driver();
        let _ = d.close_listener(self.handle);
        d.flush();
    }
}
