//! `tcp-tokio`: drives a [`tcp_core`] endpoint from a tokio task, with
//! [`TcpListener`] and [`TcpStream`] (`AsyncRead` / `AsyncWrite`) in the shape of
//! `tokio::net`'s.
//!
//! - [`Stack`]: one [`tcp_core::Endpoint`] on one link, owned by one driver task spawned on
//!   the runtime. The link is a tokio UDP socket carrying one TCP segment per datagram,
//!   exactly `tcp-mio`'s framing, so a `tcp-tokio` stack and a `tcp-mio` stack talk to
//!   each other.
//! - Handles ([`TcpListener`], [`TcpStream`], [`OwnedReadHalf`], [`OwnedWriteHalf`],
//!   [`IncomingConnection`]) share the endpoint with the driver behind one mutex. Every
//!   call runs the endpoint under it; a call that cannot proceed stores its task's waker
//!   there, and the driver wakes it from the endpoint's events (`Readable`, `Writable`,
//!   `Connected`, ...). Output a call causes is sent by the handle itself. Nothing
//!   busy-polls: the driver sleeps until a packet, its one timer (re-armed from
//!   `poll_timeout`) or a handle's kick (an earlier deadline, a full link).
//! - Backpressure both ways: reads take data from the connection's receive buffer (a slow
//!   reader closes the window; nothing is copied into an unbounded queue), and writes
//!   return `Pending` while the send buffer is full.
//! - Decision mode ([`Stack::listen_with_decision`]): [`TcpListener::next_incoming`] gives
//!   each SYN's addresses before anything is answered; the application
//!   [`accept`](IncomingConnection::accept)s or [`refuse`](IncomingConnection::refuse)s
//!   (RST) it.
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tcp_tokio::Stack;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = Stack::bind_udp("127.0.0.1:0".parse().unwrap(), Default::default())?;
//! let listener = server.listen("127.0.0.1:7".parse().unwrap(), 128)?;
//! let client = Stack::bind_udp("127.0.0.1:0".parse().unwrap(), Default::default())?;
//!
//! let mut stream = client.connect_udp(server.udp_addr().unwrap(), 7).await?;
//! stream.write_all(b"hello").await?;
//! stream.shutdown().await?; // FIN
//!
//! let (mut accepted, _peer) = listener.accept().await?;
//! let mut got = Vec::new();
//! accepted.read_to_end(&mut got).await?;
//! assert_eq!(got, b"hello");
//! # Ok(())
//! # }
//! ```

mod driver;
mod link;
mod listener;
mod shared;
mod stack;
mod stream;
#[cfg(target_os = "linux")]
mod tun;
mod udp;

pub use listener::{IncomingConnection, TcpListener};
pub use shared::DriverStats;
pub use stack::Stack;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, TcpStream};
pub use tcp_core;
#[cfg(target_os = "linux")]
pub use tcp_tun;
#[cfg(target_os = "linux")]
pub use tun::{TunDevice, TunStats};
#[cfg(target_os = "linux")]
pub use tun_tap;
pub use udp::UdpStats;
