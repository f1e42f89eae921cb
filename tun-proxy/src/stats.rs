//! Per-flow and total byte counts, and the periodic throughput report (`--stats`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One spliced flow's counters.
#[derive(Debug)]
pub struct Flow {
    /// A number unique in this proxy run.
    pub id: u64,
    /// The client.
    pub src: SocketAddr,
    /// The original destination.
    pub dst: SocketAddr,
    /// Bytes from the client to the destination.
    pub up: AtomicU64,
    /// Bytes from the destination to the client.
    pub down: AtomicU64,
    /// When the splice started.
    pub started: Instant,
}

/// What a whole proxy run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Flows spliced (the destination answered and the client's handshake completed).
    pub flows: u64,
    /// Flows refused with a RST because the destination could not be reached.
    pub refused: u64,
    /// Flows still open.
    pub active: u64,
    /// Bytes from clients to destinations.
    pub bytes_up: u64,
    /// Bytes from destinations to clients.
    pub bytes_down: u64,
}

/// Every flow of a proxy run.
#[derive(Debug, Default)]
pub struct Stats {
    next: AtomicU64,
    refused: AtomicU64,
    flows: AtomicU64,
    /// Bytes of flows that ended.
    closed_up: AtomicU64,
    closed_down: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Flow>>>,
}

impl Stats {
    fn open_flows(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Flow>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new flow.
    pub fn open(&self, src: SocketAddr, dst: SocketAddr) -> Arc<Flow> {
        let flow = Arc::new(Flow {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            src,
            dst,
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            started: Instant::now(),
        });
        self.flows.fetch_add(1, Ordering::Relaxed);
        self.open_flows().insert(flow.id, flow.clone());
        flow
    }

    /// A flow ended: its bytes move to the totals.
    pub fn close(&self, flow: &Flow) {
        self.open_flows().remove(&flow.id);
        self.closed_up
            .fetch_add(flow.up.load(Ordering::Relaxed), Ordering::Relaxed);
        self.closed_down
            .fetch_add(flow.down.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// A request was refused.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn totals(&self) -> Totals {
        let open = self.open_flows();
        let (up, down) = open.values().fold((0, 0), |(u, d), f| {
            (
                u + f.up.load(Ordering::Relaxed),
                d + f.down.load(Ordering::Relaxed),
            )
        });
        Totals {
            flows: self.flows.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            active: open.len() as u64,
            bytes_up: self.closed_up.load(Ordering::Relaxed) + up,
            bytes_down: self.closed_down.load(Ordering::Relaxed) + down,
        }
    }

    /// Logs, every `interval`, each open flow's throughput over the interval and the
    /// total's, until the task is dropped.
    pub async fn report(self: Arc<Self>, interval: Duration) {
        let mut last: HashMap<u64, (u64, u64)> = HashMap::new();
        let mut last_total = (0u64, 0u64);
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let secs = interval.as_secs_f64();
            let flows: Vec<Arc<Flow>> = self.open_flows().values().cloned().collect();
            let mut seen = HashMap::new();
            for f in flows {
                let now = (f.up.load(Ordering::Relaxed), f.down.load(Ordering::Relaxed));
                let before = last.get(&f.id).copied().unwrap_or((0, 0));
                tracing::info!(
                    target: "tun_proxy::stats",
                    flow = f.id,
                    src = %f.src,
                    dst = %f.dst,
                    up_mbit_s = mbit(now.0 - before.0, secs),
                    down_mbit_s = mbit(now.1 - before.1, secs),
                    up_bytes = now.0,
                    down_bytes = now.1,
                    "flow"
                );
                seen.insert(f.id, now);
            }
            last = seen;
            let t = self.totals();
            tracing::info!(
                target: "tun_proxy::stats",
                flows = t.flows,
                active = t.active,
                refused = t.refused,
                up_mbit_s = mbit(t.bytes_up.saturating_sub(last_total.0), secs),
                down_mbit_s = mbit(t.bytes_down.saturating_sub(last_total.1), secs),
                up_bytes = t.bytes_up,
                down_bytes = t.bytes_down,
                "total"
            );
            last_total = (t.bytes_up, t.bytes_down);
        }
    }
}

/// Megabits per second, to two decimals.
fn mbit(bytes: u64, secs: f64) -> f64 {
    (bytes as f64 * 8.0 / 1e6 / secs * 100.0).round() / 100.0
}
