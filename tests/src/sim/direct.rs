//! Two nodes joined by a wire with no delay, no loss and no rate limit, driven in one
//! thread: the in-memory link of the `tcp-bench` throughput and request/response
//! benchmarks (no event queue, no link model: a packet one node sends is handed to the
//! other at the same virtual instant).
//!
//! Virtual time moves only when neither node has anything to send: then the clock jumps
//! to the earliest deadline and both nodes run their timers. A benchmark that should not
//! wait for any timer checks [`DirectStats::timer_steps`] stays zero.

use tcp_core::time::{Duration, Instant};

use super::Node;

/// What a [`run_direct`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectStats {
    /// Steps (one pass each way).
    pub steps: u64,
    /// Packets moved, both directions.
    pub packets: u64,
    /// Steps at which nothing moved, so the clock jumped to the next deadline.
    pub timer_steps: u64,
    /// Virtual time the clock advanced.
    pub virtual_elapsed: Duration,
    /// The condition became true (`false`: the step limit was reached first).
    pub done: bool,
}

/// Hands every packet `from` sends at `now` to `to`; returns how many.
pub fn pass<A: Node + ?Sized, B: Node + ?Sized>(now: Instant, from: &mut A, to: &mut B) -> u64 {
    let mut n = 0;
    while let Some(p) = from.poll_transmit(now) {
        to.handle_packet(now, p);
        n += 1;
    }
    n
}

/// Runs `a` and `b` against each other from `*now` until `done(a, b)` holds (checked
/// after every step) or `max_steps` steps; `*now` ends at the final virtual time.
pub fn run_direct<A: Node + ?Sized, B: Node + ?Sized>(
    now: &mut Instant,
    a: &mut A,
    b: &mut B,
    mut done: impl FnMut(&A, &B) -> bool,
    max_steps: u64,
) -> DirectStats {
    let start = *now;
    let mut stats = DirectStats::default();
    while stats.steps < max_steps {
        stats.steps += 1;
        let moved = pass(*now, a, b) + pass(*now, b, a);
        stats.packets += moved;
        if done(a, b) {
            stats.done = true;
            break;
        }
        if moved == 0 {
            stats.timer_steps += 1;
            let next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            *now = next.map_or(*now + Duration::from_millis(1), |t| t.max(*now));
            a.handle_timeout(*now);
            b.handle_timeout(*now);
        }
    }
    stats.virtual_elapsed = now.saturating_duration_since(start);
    stats
}

/// A node wrapper that adds up the wall-clock time spent in the wrapped node (the stack
/// and its application) and counts the packets it sends and receives.
pub struct Timed<N: Node + ?Sized> {
    /// Nanoseconds spent inside the node's methods.
    pub nanos: u128,
    /// Packets the node sent.
    pub sent: u64,
    /// Packets the node received.
    pub received: u64,
    /// The node.
    pub node: Box<N>,
}

impl<N: Node + ?Sized> Timed<N> {
    /// Wraps `node`.
    pub fn new(node: Box<N>) -> Self {
        Timed {
            nanos: 0,
            sent: 0,
            received: 0,
            node,
        }
    }

    fn time<R>(&mut self, f: impl FnOnce(&mut N) -> R) -> R {
        let t = std::time::Instant::now();
        let r = f(&mut self.node);
        self.nanos += t.elapsed().as_nanos();
        r
    }
}

impl<N: Node + ?Sized> Node for Timed<N> {
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>) {
        self.received += 1;
        self.time(|n| n.handle_packet(now, packet));
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let p = self.time(|n| n.poll_transmit(now));
        self.sent += u64::from(p.is_some());
        p
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.time(|n| n.poll_timeout())
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.time(|n| n.handle_timeout(now));
    }

    fn report(&self) -> super::NodeReport {
        self.node.report()
    }
}
