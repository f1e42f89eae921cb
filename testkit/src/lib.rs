//! `tcp-testkit`: the workspace's test and measurement tooling, kept out of the adapters'
//! public APIs (`tcp-mio` and `tcp-tun` publish only what an application needs).
//!
//! - [`check`]: a seeded byte-stream generator, a stream hash and a bulk [`check::Flow`],
//!   to verify transfers byte for byte (examples, tests, benchmarks).
//! - [`lossy::LossyLink`]: wraps any [`tcp_mio::Link`] with seeded drops and reordering of
//!   received packets and drops of sent segments, one decision per segment (a batch that a
//!   link coalesces is impaired segment by segment).
//! - [`impair::Impaired`]: a [`lossy::LossyLink`] that also reorders sent segments.
//! - [`emu`] (Linux): a link emulator between two TUN devices (rate, delay, loss,
//!   drop-tail queue, black hole), for measurements over an emulated path.

pub mod check;
#[cfg(target_os = "linux")]
pub mod emu;
pub mod impair;
pub mod lossy;
