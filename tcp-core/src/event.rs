//! Application events a connection reports through `poll_event`.

use crate::error::ConnError;

/// Something the application should know about. Each kind is reported at most once until it
/// is polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The three-way handshake completed: the connection is ESTABLISHED.
    Connected,
    /// Data (or end-of-stream) is ready to read.
    Readable,
    /// Send-buffer space was freed after it had been full (or after `Connected`).
    Writable,
    /// The peer's FIN arrived: after the data before it is read, reads return end-of-stream.
    PeerClosed,
    /// The connection failed: reset, refused or timed out. No further data moves.
    Error(ConnError),
    /// The connection reached CLOSED; its state can be released.
    Closed,
}
