//! `tun-proxy`: a transparent TCP proxy on a TUN device.
//!
//! Every TCP flow routed into the device is terminated by `tcp-core` (through
//! [`tcp_tokio`]'s transparent TUN stack), whatever its destination address and port.
//! For each connection request the proxy first dials the original destination with a
//! kernel `tokio::net::TcpStream`; only when that succeeds does the client's handshake
//! complete (the SYN-ACK goes out), otherwise the client gets a RST (its `connect` fails
//! with "connection refused"). The two connections are then spliced, half-closes and
//! resets from the destination passed on.
//!
//! Only TCP: UDP, ICMP echo and every other protocol arriving on the device are ignored
//! (counted in [`tcp_tokio::TunStats::ignored`]).
//!
//! The proxy's own connections to the destinations must not be routed back into the
//! device: run the clients in another network namespace than the proxy (move the device
//! there, as `tun-proxy --netns` does) or use policy routing.

mod flow;
pub mod socks5;
pub mod stats;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tcp_tokio::Stack;

pub use stats::{Stats, Totals};

/// How the proxy behaves.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Connection requests waiting per destination port (the listeners' backlog).
    pub backlog: usize,
    /// How long dialling a destination may take before the client is refused.
    pub connect_timeout: Duration,
    /// Log per-flow and total throughput this often; `None`: no reports.
    pub stats_interval: Option<Duration>,
    /// Close a flow (FIN both ways) when no byte moved either way for this long; `None`:
    /// flows may stay idle forever.
    pub idle_timeout: Option<Duration>,
    /// Dial every destination through this SOCKS5 server (no authentication, `CONNECT`)
    /// instead of directly; `None`: directly.
    pub socks5: Option<SocketAddr>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            backlog: 128,
            connect_timeout: Duration::from_secs(5),
            stats_interval: None,
            idle_timeout: None,
            socks5: None,
        }
    }
}

/// The tokio runtime the `tun-proxy` binary runs on: with `threads` of 0 or 1 a
/// current-thread runtime (the stack's driver, the listener loop and every flow on the
/// calling thread), else a multi-threaded one with that many workers.
///
/// One thread is the default: the stack runs its endpoint under one lock from one driver
/// task anyway, and a connection's path (SYN, the dial, SYN-ACK, data each way) then
/// never waits for another thread to wake. With several workers, tokio's work stealing
/// woke the other worker about four times per connection, and a connection's tasks
/// moved between them: the connection rate dropped by about a fifth, with no gain for a
/// single flow's throughput (see the README). More workers can still pay with many busy
/// flows, whose kernel sockets and copies then run in parallel.
pub fn runtime(threads: usize) -> io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// Runs the proxy on `stack` (made with [`Stack::bind_tun_transparent`]) until
/// `shutdown` completes; `stats` collects the counters (read them while it runs). On
/// shutdown it stops taking new flows, closes the open ones (FIN both ways) and returns
/// the totals.
pub async fn run(
    stack: &Stack,
    config: &ProxyConfig,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<Totals> {
    let listener = stack.listen_transparent(config.backlog)?;
    let mut flows = tokio::task::JoinSet::new();
    let shared = Arc::new(config.clone());
    let reporter = config
        .stats_interval
        .map(|every| tokio::spawn(stats.clone().report(every)));
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            inc = listener.next_incoming() => match inc {
                Ok(inc) => {
                    tracing::debug!(src = %inc.peer_addr(), dst = %inc.local_addr(), "request");
                    flows.spawn(flow::handle(inc, shared.clone(), stats.clone()));
                }
                Err(e) => break Err(e),
            },
            Some(done) = flows.join_next(), if !flows.is_empty() => {
                if let Err(e) = done {
                    tracing::warn!(error = %e, "flow task failed");
                }
            }
        }
    };
    drop(listener);
    let active = stats.totals().active;
    if active > 0 {
        tracing::info!(active, "closing the open flows");
    }
    // Dropping each flow's task drops its streams: both sides get a FIN.
    flows.shutdown().await;
    if let Some(r) = reporter {
        r.abort();
    }
    result.map(|()| stats.totals())
}
