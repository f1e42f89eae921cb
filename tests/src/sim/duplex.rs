//! Both directions of one link, for the harnesses that drive two stacks by hand
//! ([`crate::pair`], [`crate::ep_pair`]): the simulator's link model
//! ([`LinkDirection`]: delay, rate, loss, reordering, duplication, corruption) and its
//! delivery queue, without the [`super::World`]'s nodes and routing. Side 0 sends through
//! direction 0 to side 1, and side 1 through direction 1 to side 0; each direction draws
//! from its own random stream of the seed, as a [`super::World`] link does.

use tcp_core::time::Instant;

use super::delivery::DeliveryQueue;
use super::link::{Fate, LinkConfig, LinkDirection, LinkStats};
use super::packet::TcpSummary;
use super::rng::Rng;

/// A two-way link and the packets on it. See the module docs.
#[derive(Debug)]
pub struct Duplex {
    config: LinkConfig,
    seed: u64,
    dirs: [LinkDirection; 2],
    queue: DeliveryQueue<(usize, Vec<u8>)>,
}

impl Duplex {
    /// A link with `config` in both directions, its random draws derived from `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Duplex {
            dirs: Self::directions(&config, seed),
            config,
            seed,
            queue: DeliveryQueue::new(),
        }
    }

    fn directions(config: &LinkConfig, seed: u64) -> [LinkDirection; 2] {
        [0, 1].map(|d| LinkDirection::new(config.clone(), Rng::derive(seed, d)))
    }

    /// The configuration of both directions.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The seed of the random draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// New configuration and seed for the packets sent from now on (the random streams and
    /// counters start afresh); packets already in flight arrive as decided.
    pub fn reconfigure(&mut self, config: LinkConfig, seed: u64) {
        self.dirs = Self::directions(&config, seed);
        self.config = config;
        self.seed = seed;
    }

    /// Side `from` (0 or 1) sends `packet` at `now` (`tcp`: its summary, for scripted
    /// faults; `None` for bare TCP segments). Returns whether at least one copy will arrive.
    pub fn send(
        &mut self,
        now: Instant,
        from: usize,
        mut packet: Vec<u8>,
        tcp: Option<&TcpSummary>,
    ) -> bool {
        let dir = &mut self.dirs[from & 1];
        if let Some(p) = dir.rewrite(&packet) {
            packet = p;
        }
        match dir.offer(now, &mut packet, tcp) {
            Fate::Dropped(_) => false,
            Fate::Delivered(times) => {
                for at in times {
                    self.queue.push(at, (1 - (from & 1), packet.clone()));
                }
                true
            }
        }
    }

    /// The next arrival time, if anything is in flight.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.next_arrival()
    }

    /// The next packet due at `now`, with the side (0 or 1) it arrives at.
    pub fn pop_due(&mut self, now: Instant) -> Option<(usize, Vec<u8>)> {
        self.queue.pop_due(now)
    }

    /// The counters of what side `from` sent.
    pub fn stats(&self, from: usize) -> &LinkStats {
        self.dirs[from & 1].stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_core::time::Duration;

    #[test]
    fn each_side_reaches_the_other_after_the_delay() {
        let mut d = Duplex::new(LinkConfig::new(Duration::from_millis(10), None), 1);
        let t0 = Instant::from_secs(1);
        assert!(d.send(t0, 0, vec![1], None));
        assert!(d.send(t0, 1, vec![2], None));
        assert_eq!(d.next_arrival(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(d.pop_due(t0), None);
        let later = t0 + Duration::from_millis(10);
        assert_eq!(d.pop_due(later), Some((1, vec![1])));
        assert_eq!(d.pop_due(later), Some((0, vec![2])));
        assert_eq!(d.stats(0).delivered_packets, 1);
    }

    #[test]
    fn a_lossy_link_drops_about_its_loss_rate() {
        let config = LinkConfig {
            loss: 0.25,
            ..LinkConfig::new(Duration::from_millis(1), None)
        };
        let mut d = Duplex::new(config, 7);
        let t0 = Instant::from_secs(1);
        let delivered = (0..4000)
            .filter(|_| d.send(t0, 0, vec![0; 40], None))
            .count();
        assert!((2800..3200).contains(&delivered), "{delivered} of 4000");
    }
}
