//! `tcp-mio`: drives a [`tcp_core`] endpoint from a `mio` event loop, carrying TCP segments
//! in UDP datagrams (no root, no kernel TCP).
//!
//! - [`Link`]: a packet link (send a segment, receive packets until `WouldBlock`, be a
//!   `mio` source). [`UdpLink`] carries one TCP segment per datagram. A TUN link plugs into
//!   the same trait (and the workspace's `tcp-testkit` wraps any link with seeded drops
//!   and reordering for tests).
//! - [`Driver`]: owns the [`tcp_core::Endpoint`] and the links, reads the clock, and is
//!   driven from the embedder's own `mio` loop (`register`, `on_readable(token)`,
//!   `on_timeout()`, `flush()`, `next_timeout()`, `poll_event()`), with methods that take
//!   a [`tcp_core::ConnHandle`].
//! - [`Net`]: a ready-made loop around a shared driver, with [`TcpStream`]
//!   (`std::io::Read`/`Write`) and [`TcpListener`] handles.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use tcp_mio::Net;
//!
//! let server = Net::udp("127.0.0.1:0".parse()?, Default::default())?;
//! let listener = server.listen(7, 128)?;
//! let client = Net::udp("127.0.0.1:0".parse()?, Default::default())?;
//! let mut stream = client.connect(server.udp_addr().unwrap(), 7)?;
//! stream.write_all(b"hello")?; // buffered until the handshake completes
//!
//! // Both stacks live in this thread: poll each in turn.
//! let (mut accepted, mut got) = (None, Vec::new());
//! while got.len() < 5 {
//!     client.poll(Some(Duration::from_millis(1)))?;
//!     server.poll(Some(Duration::from_millis(1)))?;
//!     if accepted.is_none() {
//!         accepted = listener.accept().ok().map(|(s, _peer)| s);
//!     }
//!     if let Some(s) = accepted.as_mut() {
//!         let mut buf = [0u8; 16];
//!         match s.read(&mut buf) {
//!             Ok(n) => got.extend_from_slice(&buf[..n]),
//!             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
//!             Err(e) => return Err(e.into()),
//!         }
//!     }
//! }
//! assert_eq!(got, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod driver;
pub mod error;
mod link;
mod net;
mod udp_link;
mod udp_msg;

pub use driver::{Driver, DriverStats, LinkId, random_secret};
pub use link::{Frame, Link, Received};
pub use net::{Net, TcpListener, TcpStream};
pub use tcp_core;
pub use udp_link::{MAX_UDP_PAYLOAD, UdpLink, UdpLinkStats};
