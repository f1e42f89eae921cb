//! `tcp-tun`: binds a [`tcp_core`] endpoint to a Linux TUN device, so that the kernel's own
//! TCP is the peer.
//!
//! Planned contents (see the project issues): a TUN link for the `tcp-mio` driver, IPv4/IPv6
//! framing through `tcp_core::wire`, private network namespaces for tests, and interop tests
//! against the Linux kernel. Nothing beyond this placeholder exists yet.
