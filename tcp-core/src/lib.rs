//! `tcp-core`: a sans-IO TCP protocol core (RFC 9293 and the RFCs real stacks ship with).
//!
//! The core is a pure state machine. Segments, time and application calls go in; segments,
//! deadlines and application events come out. It never reads a clock, does I/O, spawns
//! threads or draws randomness: the caller passes `now` into every call and supplies
//! secrets through the configuration.
//!
//! Modules:
//! - [`time`]: the core's own [`time::Instant`].
//! - [`seq`]: [`seq::SeqNum`], wrapping 32-bit serial-number arithmetic.
//! - [`wire`]: TCP header and option codec, Internet checksum, minimal IPv4/IPv6 framing.
//! - [`conn`]: [`Connection`], one TCB: the RFC 9293 state machine.
//! - [`endpoint`]: [`Endpoint`], many connections: demux, listeners, SYN cookies, TIME_WAIT.
//! - [`recovery`]: congestion control behind a trait.
//! - [`config`], [`event`], [`error`]: configuration, application events, typed errors.

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod config;
pub mod conn;
pub mod endpoint;
pub mod error;
pub mod event;
pub mod recovery;
pub mod seq;
pub mod time;
pub mod wire;

pub use config::{Config, EcnMode, Keepalive, MtuProbing};
pub use conn::memory::MemoryPart;
pub use conn::{Connection, Handshake, Info, Segment, State, TcpInfo, WriteFlags};
pub use endpoint::{ConnHandle, Endpoint, EndpointConfig, EndpointEvent, FourTuple, Transmit};
pub use error::{ConnError, ReadError, StateError, WriteError};
pub use event::Event;
pub use seq::SeqNum;
pub use time::{Duration, Instant};
pub use wire::IpEcn;
