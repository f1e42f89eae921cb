//! `tcp-mio`: drives a [`tcp_core`] endpoint from a `mio` event loop.
//!
//! Planned contents (see the project issues): a packet-link trait, a UDP link carrying one
//! TCP segment per datagram, a driver usable from the embedder's own loop or a ready-made
//! loop, and stream handles implementing `std::io::Read` and `std::io::Write`.
//! Nothing beyond this placeholder exists yet.
