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
        to.handle_packet(now, &p);
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
