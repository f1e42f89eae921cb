//! Typed errors, one enum per kind of operation.

use thiserror::Error;

/// Why a connection ended abnormally (reported as [`crate::Event::Error`] and by later
/// reads and writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnError {
    /// The peer answered our SYN with a RST (ECONNREFUSED).
    #[error("connection refused")]
    Refused,
    /// The peer reset the connection (ECONNRESET).
    #[error("connection reset by peer")]
    Reset,
    /// Retransmissions, keepalive probes or the user timeout were exhausted (ETIMEDOUT).
    #[error("connection timed out")]
    TimedOut,
    /// The application aborted the connection.
    #[error("connection aborted locally")]
    Aborted,
    /// The network reported the peer unreachable with an ICMP or ICMPv6 error (RFC 1122
    /// §4.2.3.9): at once while the connection was being opened, otherwise as the cause
    /// of a later timeout (Linux's `sk_err_soft`). Linux's errno for each problem is given
    /// by [`IcmpProblem`](crate::wire::IcmpProblem)'s variants (a port unreachable is
    /// ECONNREFUSED).
    #[error("unreachable: {0:?}")]
    Unreachable(crate::wire::IcmpProblem),
}

/// Errors from [`crate::Connection::write`] and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The send buffer is full; wait for [`crate::Event::Writable`] (EAGAIN).
    #[error("send buffer full")]
    WouldBlock,
    /// The write side was shut down or the connection closed (EPIPE).
    #[error("connection closed for writing")]
    Closed,
    /// The connection is not open (ENOTCONN).
    #[error("not connected")]
    NotConnected,
    /// The connection failed.
    #[error(transparent)]
    Failed(#[from] ConnError),
    /// The handle names no connection: the application closed or aborted it, or it never
    /// existed (an [`Endpoint`](crate::Endpoint) call only).
    #[error("stale or unknown connection handle")]
    UnknownHandle,
}

/// Errors from [`crate::Connection::read`] and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No data yet; wait for [`crate::Event::Readable`] (EAGAIN).
    #[error("no data available")]
    WouldBlock,
    /// The connection was never established or the application closed it (ENOTCONN).
    #[error("not connected")]
    NotConnected,
    /// The connection failed.
    #[error(transparent)]
    Failed(#[from] ConnError),
    /// The handle names no connection: the application closed or aborted it, or it never
    /// existed (an [`Endpoint`](crate::Endpoint) call only).
    #[error("stale or unknown connection handle")]
    UnknownHandle,
}

/// Errors from state-changing calls (`shutdown`, option changes) that are not valid now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StateError {
    /// The call needs a connection that is (or is becoming) established (ENOTCONN).
    #[error("not connected")]
    NotConnected,
    /// The connection has already failed.
    #[error(transparent)]
    Failed(#[from] ConnError),
    /// The handle names no connection: the application closed or aborted it, or it never
    /// existed (an [`Endpoint`](crate::Endpoint) call only).
    #[error("stale or unknown connection handle")]
    UnknownHandle,
}
