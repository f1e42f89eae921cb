//! `tcp-core`: a sans-IO TCP protocol core (RFC 9293 and the RFCs real stacks ship with).
//!
//! The core is a pure state machine. Segments, time and application calls go in; segments,
//! deadlines and application events come out. It never reads a clock, does I/O, spawns
//! threads or draws randomness: the caller passes `now` into every call and supplies
//! secrets through the configuration.
//!
//! # Using it, in call order
//!
//! An embedder owns one [`Endpoint`] (many connections, listeners, the TIME_WAIT table)
//! and drives it from its own loop:
//!
//! 1. **Create** it with [`Endpoint::new`]`(`[`Config`]`, `[`EndpointConfig`]`)`.
//!    [`Config`] is what every connection of the endpoint starts from (buffers, MSS,
//!    timers and retry limits, congestion control, Nagle, keepalive, ECN: Linux's
//!    per-socket settings and `net.ipv4.tcp_*` sysctls); [`EndpointConfig`] is what only
//!    the endpoint as a whole has (the secret behind ISNs, ports and SYN cookies, the SYN
//!    queue limit, the cookie policy, the TIME_WAIT table's size, the RST rate limit,
//!    the ephemeral port range). Both are `#[non_exhaustive]`: start from `Default` (or
//!    [`EndpointConfig::with_secret`]) and set fields. Fill the secret with random bytes.
//! 2. **Open**: [`Endpoint::listen`] (then [`Endpoint::accept`] on
//!    [`EndpointEvent::Acceptable`]) or [`Endpoint::connect`]. Connections are named by
//!    [`ConnHandle`]s.
//! 3. **Feed input**: each arriving TCP segment with [`Endpoint::handle_segment`] (or a
//!    whole IP packet, ICMP errors included, with [`Endpoint::handle_packet`]); when the
//!    time [`Endpoint::poll_timeout`] gave has come, [`Endpoint::handle_timeout`].
//! 4. **Drain output** after any call: [`Endpoint::poll_transmit`] until `None` (each
//!    [`Transmit`] encodes into a TCP segment with its checksum), then
//!    [`Endpoint::poll_event`] until `None`, then re-read [`Endpoint::poll_timeout`].
//! 5. **Application calls**, `now` first, then the handle: [`Endpoint::write`],
//!    [`Endpoint::read`] (`Ok(0)`: end of stream), [`Endpoint::shutdown`],
//!    [`Endpoint::close`], [`Endpoint::abort`], [`Endpoint::set_option`],
//!    [`Endpoint::info`]. Each operation family has one error type ([`WriteError`],
//!    [`ReadError`], [`StateError`], [`HandleError`]).
//!
//! Events are coalesced: a connection reports each kind of [`Event`] at most once until
//! it is polled, and nothing after the application closed it.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr, SocketAddr};
//! use tcp_core::{Bytes, Config, Endpoint, EndpointConfig, EndpointEvent, Event, Instant};
//!
//! // Moves every segment `from` has to send into `to` (a perfect link).
//! fn deliver(from: &mut Endpoint, to: &mut Endpoint, now: Instant) {
//!     while let Some(t) = from.poll_transmit(now) {
//!         let mut buf = vec![0u8; t.len()];
//!         let n = t.encode(&mut buf).unwrap();
//!         buf.truncate(n);
//!         to.handle_segment(now, t.src.ip(), t.dst.ip(), Bytes::from(buf)).unwrap();
//!     }
//! }
//!
//! let mut client = Endpoint::new(Config::default(), EndpointConfig::with_secret([1; 16]));
//! let mut server = Endpoint::new(Config::default(), EndpointConfig::with_secret([2; 16]));
//! let server_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 80);
//! let client_ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
//! let now = Instant::from_millis(0); // your clock
//!
//! let listener = server.listen(server_addr, 128).unwrap();
//! let conn = client.connect(now, client_ip, server_addr).unwrap();
//! deliver(&mut client, &mut server, now); // SYN
//! deliver(&mut server, &mut client, now); // SYN-ACK
//! assert_eq!(client.poll_event(), Some(EndpointEvent::Conn(conn, Event::Connected)));
//! client.write(now, conn, b"hello").unwrap();
//! deliver(&mut client, &mut server, now); // ACK, then the data
//!
//! assert_eq!(server.poll_event(), Some(EndpointEvent::Acceptable(listener)));
//! let accepted = server.accept(listener).unwrap().unwrap();
//! let mut buf = [0u8; 16];
//! let n = server.read(now, accepted, &mut buf).unwrap();
//! assert_eq!(&buf[..n], b"hello");
//! assert!(server.poll_timeout().is_some()); // the delayed ACK, for one
//! ```
//!
//! [`Connection`] is one TCB on its own (the endpoint holds one per connection), for
//! embedders who demultiplex themselves.
//!
//! Modules:
//! - [`time`]: the core's own [`time::Instant`].
//! - [`seq`]: [`seq::SeqNum`], wrapping 32-bit serial-number arithmetic.
//! - [`wire`]: TCP header and option codec, Internet checksum, minimal IPv4/IPv6 framing,
//!   ICMP errors.
//! - [`conn`]: [`Connection`], one TCB: the RFC 9293 state machine.
//! - [`endpoint`]: [`Endpoint`], many connections: demux, listeners, SYN cookies, TIME_WAIT.
//! - `recovery` (private): loss recovery (SACK scoreboard, RACK-TLP, PRR, undo, F-RTO),
//!   delivery-rate sampling and the congestion controllers; chosen with
//!   [`config::CongestionAlgorithm`].
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
mod recovery;
pub mod seq;
pub mod time;
pub mod wire;

pub use bytes::Bytes;
pub use config::{Config, EcnMode, Keepalive, MtuProbing};
pub use conn::memory::MemoryPart;
pub use conn::{Connection, Handshake, Info, Segment, State, TcpInfo, WriteFlags};
pub use endpoint::{
    ConnHandle, ConnectError, Endpoint, EndpointConfig, EndpointEvent, EndpointStats, FourTuple,
    HandleError, Incoming, IncomingHandle, InputError, ListenError, ListenOptions, ListenerHandle,
    RxOffload, SockOption, Transmit,
};
pub use error::{ConnError, ReadError, StateError, WriteError};
pub use event::Event;
pub use seq::SeqNum;
pub use time::{Duration, Instant};
pub use wire::IpEcn;
