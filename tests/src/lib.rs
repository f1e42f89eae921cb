//! `tcp-tests`: the test and measurement rig for `tcp-core`.
//!
//! Planned contents (see the project issues): a deterministic network simulator with pcap
//! output, a packetdrill-dialect runner with scenario scripts, property tests and
//! benchmarks side by side with smoltcp.
pub mod pkt;

pub mod alloc_count;
pub mod bench;
pub mod ep_pair;
pub mod icmp;
pub mod lone;
pub mod pair;
pub mod sim;

/// The repository's README, whose Rust snippets (the "Using the core" example) are compiled
/// and run as doc tests (`cargo test --doc -p tcp-tests`, part of `scripts/test`), so the
/// README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
