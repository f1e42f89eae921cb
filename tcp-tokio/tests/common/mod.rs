//! Helpers of the tcp-tokio tests: stacks on loopback and a seeded byte pattern.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;
use tcp_tokio::Stack;

/// Bound of every test step.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A stack on a UDP socket on 127.0.0.1 with the default configuration.
pub fn stack() -> Stack {
    Stack::bind_udp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap()
}

/// A stack on 127.0.0.1 with `config`.
pub fn stack_with(config: tcp_tokio::tcp_core::Config) -> Stack {
    Stack::bind_udp("127.0.0.1:0".parse().unwrap(), config).unwrap()
}

/// The listening address of TCP port `port` on `stack`'s UDP IP.
pub fn on(stack: &Stack, port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::new(stack.udp_addr().unwrap().ip(), port)
}

/// `len` bytes of a pattern that depends on `seed` and the position.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Runs `f` with the test's time bound.
pub async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {LIMIT:?}"),
    }
}
