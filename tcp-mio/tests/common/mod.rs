//! Shared test helpers: seeded data flows and pumping stacks until a condition holds.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tcp_mio::{Net, TcpStream};

/// Upper bound for any wait in the tests (a hang guard, not a timing assertion).
pub const LIMIT: Duration = Duration::from_secs(60);

#[allow(unused_imports)] // each test binary uses its own subset
pub use tcp_testkit::check::{Flow, expected_hash};

/// Polls every stack in turn (1 ms each) until `done` is true; panics after [`LIMIT`].
pub fn pump(nets: &[&Net], mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "pump: condition not reached");
        for n in nets {
            n.poll(Some(Duration::from_millis(1))).expect("poll");
        }
    }
}

/// A UDP-backed stack on 127.0.0.1 with an ephemeral port.
pub fn stack(config: tcp_core::Config) -> Net {
    Net::udp(loopback(), config).expect("bind")
}

/// 127.0.0.1:0.
pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Accepts one connection, pumping both stacks.
pub fn accept_one(nets: &[&Net], l: &tcp_mio::TcpListener) -> TcpStream {
    let mut got = None;
    pump(nets, || {
        if got.is_none() {
            got = l.accept().ok().map(|(s, _)| s);
        }
        got.is_some()
    });
    got.unwrap()
}
