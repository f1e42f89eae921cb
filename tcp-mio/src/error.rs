//! Mapping of the core's typed errors to the `std::io::ErrorKind`s a Rust user expects
//! from `std::net::TcpStream`.
//!
//! | core error | `io::ErrorKind` |
//! |---|---|
//! | `ReadError::WouldBlock`, `WriteError::WouldBlock` | `WouldBlock` |
//! | `ConnError::Refused` | `ConnectionRefused` |
//! | `ConnError::Reset` | `ConnectionReset` |
//! | `ConnError::TimedOut` | `TimedOut` |
//! | `ConnError::Aborted` | `ConnectionAborted` |
//! | `ConnError::Unreachable` (ICMP) | `ConnectionRefused` (port unreachable), `NetworkUnreachable`, `PermissionDenied` (prohibited), otherwise `HostUnreachable` |
//! | `WriteError::Closed` (after our own shutdown) | `BrokenPipe` |
//! | `*::NotConnected`, `*::UnknownHandle`, stale handle | `NotConnected` |
//! | `ConnectError::NoPort` | `AddrNotAvailable` |
//! | `ConnectError::AddrInUse`, `ListenError::AddrInUse` | `AddrInUse` |
//! | invalid addresses | `InvalidInput` |

use std::io::{Error, ErrorKind};
use tcp_core::wire::IcmpProblem;
use tcp_core::{ConnError, ReadError, StateError, WriteError};
use tcp_core::{ConnectError, HandleError, ListenError};

/// A connection failure as an `io::Error`.
pub fn conn_err(e: ConnError) -> Error {
    let kind = match e {
        ConnError::Refused => ErrorKind::ConnectionRefused,
        ConnError::Reset => ErrorKind::ConnectionReset,
        ConnError::TimedOut => ErrorKind::TimedOut,
        ConnError::Aborted => ErrorKind::ConnectionAborted,
        ConnError::Unreachable(p) => match p {
            IcmpProblem::PortUnreachable => ErrorKind::ConnectionRefused,
            IcmpProblem::NetUnreachable => ErrorKind::NetworkUnreachable,
            IcmpProblem::Prohibited => ErrorKind::PermissionDenied,
            _ => ErrorKind::HostUnreachable,
        },
        _ => ErrorKind::Other,
    };
    Error::new(kind, e)
}

/// A read error as an `io::Error`.
pub fn read_err(e: ReadError) -> Error {
    match e {
        ReadError::WouldBlock => ErrorKind::WouldBlock.into(),
        ReadError::NotConnected => ErrorKind::NotConnected.into(),
        ReadError::Failed(c) => conn_err(c),
        _ => Error::new(ErrorKind::NotConnected, e),
    }
}

/// A write error as an `io::Error`.
pub fn write_err(e: WriteError) -> Error {
    match e {
        WriteError::WouldBlock => ErrorKind::WouldBlock.into(),
        WriteError::Closed => Error::new(ErrorKind::BrokenPipe, e),
        WriteError::NotConnected => ErrorKind::NotConnected.into(),
        WriteError::Failed(c) => conn_err(c),
        _ => Error::new(ErrorKind::NotConnected, e),
    }
}

/// A state-change error as an `io::Error`.
pub fn state_err(e: StateError) -> Error {
    match e {
        StateError::NotConnected => ErrorKind::NotConnected.into(),
        StateError::Failed(c) => conn_err(c),
        _ => Error::new(ErrorKind::NotConnected, e),
    }
}

/// A stale handle as an `io::Error` (`NotConnected`).
pub fn handle_err(e: HandleError) -> Error {
    Error::new(ErrorKind::NotConnected, e)
}

/// A `connect` error as an `io::Error`.
pub fn connect_err(e: ConnectError) -> Error {
    let kind = match e {
        ConnectError::NoPort => ErrorKind::AddrNotAvailable,
        ConnectError::AddrInUse => ErrorKind::AddrInUse,
        ConnectError::InvalidAddress => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    };
    Error::new(kind, e)
}

/// A `listen` error as an `io::Error`.
pub fn listen_err(e: ListenError) -> Error {
    let kind = match e {
        ListenError::AddrInUse => ErrorKind::AddrInUse,
        _ => ErrorKind::InvalidInput,
    };
    Error::new(kind, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_map_to_the_std_error_kinds() {
        assert_eq!(
            read_err(ReadError::Failed(ConnError::Refused)).kind(),
            ErrorKind::ConnectionRefused
        );
        assert_eq!(
            read_err(ReadError::Failed(ConnError::Reset)).kind(),
            ErrorKind::ConnectionReset
        );
        assert_eq!(
            write_err(WriteError::Failed(ConnError::TimedOut)).kind(),
            ErrorKind::TimedOut
        );
        assert_eq!(write_err(WriteError::Closed).kind(), ErrorKind::BrokenPipe);
        assert_eq!(
            read_err(ReadError::NotConnected).kind(),
            ErrorKind::NotConnected
        );
        assert_eq!(
            handle_err(HandleError::Stale).kind(),
            ErrorKind::NotConnected
        );
        assert_eq!(
            read_err(ReadError::WouldBlock).kind(),
            ErrorKind::WouldBlock
        );
    }
}
