//! The application's calls on an endpoint's connections (RFC 9293 §3.10: SEND, RECEIVE,
//! CLOSE, ABORT, STATUS, and the socket options), by handle. Each call takes `now` first,
//! then the handle; after it the endpoint reacts at once (segments to transmit, timers,
//! events), so the embedder only has to drain `poll_transmit` and re-read `poll_timeout`.

use super::{ConnHandle, Endpoint, HandleError};
use crate::config::Keepalive;
use crate::conn::{Connection, Info, TcpInfo, WriteFlags};
use crate::error::{ReadError, StateError, WriteError};
use crate::time::{Duration, Instant};
use crate::wire::IcmpProblem;
use bytes::Bytes;

/// A per-connection option, as a socket option (`setsockopt(2)`) sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SockOption {
    /// `TCP_NODELAY`: Nagle's algorithm off (RFC 9293 §3.7.4).
    NoDelay(bool),
    /// `TCP_CORK`: partial segments wait until uncorked.
    Cork(bool),
    /// `TCP_QUICKACK`: acknowledge at once for a while instead of delaying.
    QuickAck(bool),
    /// `SO_KEEPALIVE` with its parameters (RFC 9293 §3.8.4), or off.
    Keepalive(Option<Keepalive>),
    /// `TCP_USER_TIMEOUT` (RFC 9293 §3.8.4, RFC 5482), or the retry counts.
    UserTimeout(Option<Duration>),
    /// `TCP_NOTSENT_LOWAT`: the most unsent bytes a write may leave queued.
    NotSentLowat(Option<u32>),
    /// `SO_SNDBUF`: the send buffer in Linux's memory accounting, or the configured size.
    SendBuffer(Option<u32>),
    /// `TCP_MAXSEG`: the largest segment we send.
    MaxSegmentSize(u16),
}

impl Endpoint {
    /// Runs `f` on the connection `h` names, then lets the endpoint react.
    fn on_conn<R, E: From<HandleError>>(
        &mut self,
        now: Instant,
        h: ConnHandle,
        f: impl FnOnce(&mut Connection) -> Result<R, E>,
    ) -> Result<R, E> {
        let r = f(&mut self.entry_mut(h)?.conn);
        self.after_conn(h.index, now);
        r
    }

    /// Copies data into the connection's send buffer; returns how much it took (see
    /// [`Connection::write`]).
    pub fn write(&mut self, now: Instant, h: ConnHandle, data: &[u8]) -> Result<usize, WriteError> {
        self.on_conn(now, h, |c| c.write(now, data))
    }

    /// Writes with `send(2)` flags ([`Connection::write_with`]).
    pub fn write_with(
        &mut self,
        now: Instant,
        h: ConnHandle,
        data: &[u8],
        flags: WriteFlags,
    ) -> Result<usize, WriteError> {
        self.on_conn(now, h, |c| c.write_with(now, data, flags))
    }

    /// Hands owned data to the connection without copying ([`Connection::write_bytes`]).
    pub fn write_bytes(
        &mut self,
        now: Instant,
        h: ConnHandle,
        data: Bytes,
    ) -> Result<usize, WriteError> {
        self.on_conn(now, h, |c| c.write_bytes(now, data))
    }

    /// Copies received data into `buf`; `Ok(0)` is end-of-stream ([`Connection::read`]).
    pub fn read(
        &mut self,
        now: Instant,
        h: ConnHandle,
        buf: &mut [u8],
    ) -> Result<usize, ReadError> {
        let r = self.entry_mut(h)?.conn.read(now, buf);
        // A read that took nothing changed nothing (`Connection::read` checks before it
        // touches anything): no events, timers or segments to settle.
        if matches!(r, Ok(n) if n > 0) {
            self.after_conn(h.index, now);
        }
        r
    }

    /// Takes up to `max` received bytes without copying; `Ok(None)` is end-of-stream
    /// ([`Connection::read_bytes`]).
    pub fn read_bytes(
        &mut self,
        now: Instant,
        h: ConnHandle,
        max: usize,
    ) -> Result<Option<Bytes>, ReadError> {
        let r = self.entry_mut(h)?.conn.read_bytes(now, max);
        // As in `read`: nothing taken, nothing changed.
        if matches!(r, Ok(Some(_))) {
            self.after_conn(h.index, now);
        }
        r
    }

    /// Shuts down the sending direction: a FIN follows the buffered data (during the
    /// handshake, once it completes). Reads continue ([`Connection::shutdown`]).
    pub fn shutdown(&mut self, now: Instant, h: ConnHandle) -> Result<(), StateError> {
        self.on_conn(now, h, |c| c.shutdown())
    }

    /// Closes the connection for the application ([`Connection::close`]): the handle
    /// becomes stale at once, and the connection finishes on its own (buffered data, FIN,
    /// TIME_WAIT), reporting nothing more.
    pub fn close(&mut self, now: Instant, h: ConnHandle) -> Result<(), HandleError> {
        let e = self.entry_mut(h)?;
        e.conn.close(now);
        e.app_closed = true;
        self.after_conn(h.index, now);
        Ok(())
    }

    /// Aborts the connection with a RST ([`Connection::abort`]); the handle becomes
    /// stale.
    pub fn abort(&mut self, now: Instant, h: ConnHandle) -> Result<(), HandleError> {
        let e = self.entry_mut(h)?;
        e.conn.abort();
        e.app_closed = true;
        self.after_conn(h.index, now);
        Ok(())
    }

    /// Sets a socket option on the connection; it takes effect at once (a segment it
    /// lets out leaves with the next `poll_transmit`).
    pub fn set_option(
        &mut self,
        now: Instant,
        h: ConnHandle,
        option: SockOption,
    ) -> Result<(), HandleError> {
        self.on_conn(now, h, |c| {
            match option {
                SockOption::NoDelay(on) => c.set_nodelay(on),
                SockOption::Cork(on) => c.set_cork(on),
                SockOption::QuickAck(on) => c.set_quickack(on),
                SockOption::Keepalive(k) => c.set_keepalive(k),
                SockOption::UserTimeout(t) => c.set_user_timeout(t),
                SockOption::NotSentLowat(l) => c.set_notsent_lowat(l),
                SockOption::SendBuffer(b) => c.set_send_buffer(b),
                SockOption::MaxSegmentSize(m) => c.set_max_segment_size(m),
            }
            Ok(())
        })
    }

    /// A snapshot of the connection: state, windows, RTT, congestion control, counters.
    pub fn info(&self, h: ConnHandle) -> Result<Info, HandleError> {
        self.connection(h).map(Connection::info)
    }

    /// Linux's `struct tcp_info` for the connection, as `getsockopt(TCP_INFO)` reads it.
    pub fn tcp_info(&self, now: Instant, h: ConnHandle) -> Result<TcpInfo, HandleError> {
        self.connection(h).map(|c| c.tcp_info(now))
    }

    /// Takes the ICMP error an established connection noted without failing
    /// ([`Connection::take_soft_error`]; Linux's `SO_ERROR` after `sk_err_soft`).
    pub fn take_soft_error(&mut self, h: ConnHandle) -> Result<Option<IcmpProblem>, HandleError> {
        Ok(self.entry_mut(h)?.conn.take_soft_error())
    }

    /// Runs `f` on the connection itself, then lets the endpoint react. For test
    /// harnesses and fault injection (the `unstable` feature): an embedder's needs are
    /// the methods above.
    #[cfg(feature = "unstable")]
    pub fn with_connection<R>(
        &mut self,
        now: Instant,
        h: ConnHandle,
        f: impl FnOnce(&mut Connection) -> R,
    ) -> Result<R, HandleError> {
        self.on_conn(now, h, |c| Ok::<R, HandleError>(f(c)))
    }
}
