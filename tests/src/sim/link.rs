//! The link model: one direction of a point-to-point link with delay, jitter, rate,
//! a drop-tail queue, random and bursty loss, reordering, duplication, corruption, an MTU
//! and scripted faults. Every drop is counted by cause.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use tcp_core::time::{Duration, Instant, duration_micros};

use super::packet::{FIN, FlowKey, TcpSummary};
use super::rng::Rng;
use super::sack_fault::{SackFault, SackRewriter};

/// Gilbert-Elliott two-state loss model (bursty loss).
///
/// Before each packet the chain moves (good→bad with `p_good_to_bad`, bad→good with
/// `p_bad_to_good`); the packet is then lost with the current state's loss probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from the good to the bad state, per packet.
    pub p_good_to_bad: f64,
    /// Probability of moving from the bad to the good state, per packet.
    pub p_bad_to_good: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

/// A predicate over a packet's TCP summary, used by [`ScriptedFault::DropMatching`].
pub type Predicate = Arc<dyn Fn(&TcpSummary) -> bool + Send + Sync>;

/// A deterministic, scripted fault applied before any random fault.
#[derive(Clone)]
pub enum ScriptedFault {
    /// Drop the n-th (1-based) data segment (TCP payload > 0) that enters this direction,
    /// counting retransmissions as new segments.
    DropNthData(u64),
    /// Drop the first transmission of every distinct FIN (by flow and sequence number);
    /// its retransmission passes.
    DropEveryFinOnce,
    /// Drop every packet matching the predicate, at most `limit` times (`None`: always).
    DropMatching {
        /// Which packets to drop.
        predicate: Predicate,
        /// How many drops at most.
        limit: Option<u64>,
    },
}

impl fmt::Debug for ScriptedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptedFault::DropNthData(n) => write!(f, "DropNthData({n})"),
            ScriptedFault::DropEveryFinOnce => write!(f, "DropEveryFinOnce"),
            ScriptedFault::DropMatching { limit, .. } => {
                write!(f, "DropMatching {{ limit: {limit:?}, .. }}")
            }
        }
    }
}

/// Configuration of one direction of a link. `Default` is a perfect link: no delay,
/// infinite rate, no queue limit, no faults.
#[derive(Debug, Clone, Default)]
pub struct LinkConfig {
    /// Fixed one-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per packet. Jitter alone never
    /// reorders: a packet never overtakes the one before it (use `reorder` for that).
    pub jitter: Duration,
    /// Link rate in bits per second (serialization time); `None` is infinitely fast.
    pub rate_bps: Option<u64>,
    /// Drop-tail queue limit in bytes (packets waiting or being serialized);
    /// `None` is unlimited.
    pub queue_limit_bytes: Option<usize>,
    /// Bernoulli loss probability per packet.
    pub loss: f64,
    /// Bursty loss, applied in addition to `loss`.
    pub gilbert_elliott: Option<GilbertElliott>,
    /// Probability that a packet is held back by `reorder_delay` (so later packets
    /// overtake it).
    pub reorder: f64,
    /// Extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Probability that a packet has random bits flipped (1 to 3 bits).
    pub corrupt: f64,
    /// Largest IP packet carried; larger ones are dropped. `None`: no limit.
    pub mtu: Option<usize>,
    /// From this instant on, the largest IP packet carried is this many bytes (a path
    /// MTU that falls mid-transfer: a tunnel, a reroute).
    pub mtu_change: Option<(Instant, usize)>,
    /// A packet dropped for its size is answered by the link's router with an ICMP
    /// fragmentation needed / ICMPv6 packet too big carrying the MTU (RFC 1191, RFC
    /// 8201), sent back to the packet's source after the link's delay. Off: the path is
    /// a black hole for large packets.
    pub packet_too_big: bool,
    /// Scripted faults, checked in order before the random faults.
    pub script: Vec<ScriptedFault>,
    /// Rewrites the SACK blocks of ACKs before any other fault (see
    /// [`super::sack_fault`]).
    pub sack_fault: Option<SackFault>,
    /// An ECN-marking queue (RFC 3168 §5, a step threshold as DCTCP's K): an ECN-capable
    /// packet (ECT(0) or ECT(1)) that finds at least this many bytes queued ahead of it is
    /// marked CE instead of being delayed unmarked; packets are dropped only when the
    /// queue is full. `None`: no marking.
    pub ecn_mark_bytes: Option<usize>,
}

impl LinkConfig {
    /// A link with the given one-way delay and rate (bits/s), otherwise perfect.
    pub fn new(delay: Duration, rate_bps: Option<u64>) -> Self {
        LinkConfig {
            delay,
            rate_bps,
            ..LinkConfig::default()
        }
    }
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropCause {
    /// Larger than the MTU.
    Mtu,
    /// A scripted fault.
    Script,
    /// The drop-tail queue was full.
    Queue,
    /// Bernoulli loss.
    Loss,
    /// Gilbert-Elliott bursty loss.
    BurstLoss,
}

/// Counters of one link direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered to the link.
    pub offered_packets: u64,
    /// ECN-capable packets marked CE by the queue ([`LinkConfig::ecn_mark_bytes`]).
    pub ce_marked: u64,
    /// Bytes offered to the link.
    pub offered_bytes: u64,
    /// Packets delivered (duplicates included).
    pub delivered_packets: u64,
    /// Bytes delivered (duplicates included).
    pub delivered_bytes: u64,
    /// Dropped: larger than the MTU.
    pub dropped_mtu: u64,
    /// Dropped: scripted fault.
    pub dropped_script: u64,
    /// Dropped: queue full.
    pub dropped_queue: u64,
    /// Dropped: Bernoulli loss.
    pub dropped_loss: u64,
    /// Dropped: Gilbert-Elliott loss.
    pub dropped_burst: u64,
    /// Packets delivered with flipped bits.
    pub corrupted: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets held back to be reordered.
    pub reordered: u64,
    /// ACKs whose SACK blocks [`LinkConfig::sack_fault`] rewrote.
    pub sack_rewritten: u64,
}

impl LinkStats {
    /// All drops, whatever the cause.
    pub fn drops(&self) -> u64 {
        self.dropped_mtu
            + self.dropped_script
            + self.dropped_queue
            + self.dropped_loss
            + self.dropped_burst
    }

    fn count_drop(&mut self, cause: DropCause) {
        match cause {
            DropCause::Mtu => self.dropped_mtu += 1,
            DropCause::Script => self.dropped_script += 1,
            DropCause::Queue => self.dropped_queue += 1,
            DropCause::Loss => self.dropped_loss += 1,
            DropCause::BurstLoss => self.dropped_burst += 1,
        }
    }
}

/// What happened to one packet offered to a link direction.
#[derive(Debug)]
pub enum Fate {
    /// Dropped for this cause.
    Dropped(DropCause),
    /// Delivered at these times (two entries when duplicated). The packet bytes may have
    /// been corrupted in place.
    Delivered(Vec<Instant>),
}

/// The state of one direction of a link.
#[derive(Debug)]
pub struct LinkDirection {
    config: LinkConfig,
    stats: LinkStats,
    rng: Rng,
    ge_bad: bool,
    busy_until: Instant,
    /// (departure time, length) of packets still queued or being serialized.
    queue: VecDeque<(Instant, usize)>,
    queued_bytes: usize,
    last_arrival: Instant,
    data_segments: u64,
    fins_dropped: Vec<(FlowKey, u32)>,
    script_drops: Vec<u64>,
    sack_rewriter: Option<SackRewriter>,
}

impl LinkDirection {
    /// A direction with its configuration and its own random stream.
    pub fn new(config: LinkConfig, rng: Rng) -> Self {
        let script_drops = vec![0; config.script.len()];
        let sack_rewriter = config.sack_fault.clone().map(SackRewriter::new);
        LinkDirection {
            config,
            stats: LinkStats::default(),
            rng,
            ge_bad: false,
            busy_until: Instant::ZERO,
            queue: VecDeque::new(),
            queued_bytes: 0,
            last_arrival: Instant::ZERO,
            data_segments: 0,
            fins_dropped: Vec::new(),
            script_drops,
            sack_rewriter,
        }
    }

    /// Applies [`LinkConfig::sack_fault`] to a packet about to be offered: the rewritten
    /// packet, or `None` to send it unchanged.
    pub fn rewrite(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        let out = self.sack_rewriter.as_mut()?.rewrite(packet)?;
        self.stats.sack_rewritten += 1;
        Some(out)
    }

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Bytes currently queued or being serialized at `now`.
    pub fn queued_bytes(&mut self, now: Instant) -> usize {
        self.expire_queue(now);
        self.queued_bytes
    }

    fn expire_queue(&mut self, now: Instant) {
        while let Some(&(depart, len)) = self.queue.front() {
            if depart > now {
                break;
            }
            self.queue.pop_front();
            self.queued_bytes -= len;
        }
    }

    fn scripted_drop(&mut self, tcp: Option<&TcpSummary>) -> bool {
        let Some(tcp) = tcp else { return false };
        let is_data = tcp.payload_len > 0;
        if is_data {
            self.data_segments += 1;
        }
        for (i, fault) in self.config.script.iter().enumerate() {
            let hit = match fault {
                ScriptedFault::DropNthData(n) => is_data && self.data_segments == *n,
                ScriptedFault::DropEveryFinOnce => {
                    let key = (tcp.flow, tcp.seq.wrapping_add(tcp.payload_len));
                    if tcp.has(FIN) && !self.fins_dropped.contains(&key) {
                        self.fins_dropped.push(key);
                        true
                    } else {
                        false
                    }
                }
                ScriptedFault::DropMatching { predicate, limit } => {
                    limit.is_none_or(|l| self.script_drops[i] < l) && predicate(tcp)
                }
            };
            if hit {
                self.script_drops[i] += 1;
                return true;
            }
        }
        false
    }

    /// The largest IP packet carried at `now` ([`LinkConfig::mtu`],
    /// [`LinkConfig::mtu_change`]).
    pub fn mtu_at(&self, now: Instant) -> Option<usize> {
        match self.config.mtu_change {
            Some((at, m)) if now >= at => Some(self.config.mtu.map_or(m, |o| o.min(m))),
            _ => self.config.mtu,
        }
    }

    /// Offers `packet` (summarised as `tcp` if it is TCP) to the link at `now`; decides
    /// its fate. Corruption flips bits of `packet` in place.
    pub fn offer(&mut self, now: Instant, packet: &mut [u8], tcp: Option<&TcpSummary>) -> Fate {
        let len = packet.len();
        self.stats.offered_packets += 1;
        self.stats.offered_bytes += len as u64;
        let cause = self.decide_drop(now, len, tcp);
        if let Some(cause) = cause {
            self.stats.count_drop(cause);
            return Fate::Dropped(cause);
        }
        // Bytes queued ahead of this packet (decide_drop has queued it).
        let ahead = self.queued_bytes.saturating_sub(len);
        if self.config.ecn_mark_bytes.is_some_and(|k| ahead >= k) && mark_ce(packet) {
            self.stats.ce_marked += 1;
        }
        Fate::Delivered(self.deliver(now, packet))
    }

    fn decide_drop(
        &mut self,
        now: Instant,
        len: usize,
        tcp: Option<&TcpSummary>,
    ) -> Option<DropCause> {
        if self.mtu_at(now).is_some_and(|mtu| len > mtu) {
            return Some(DropCause::Mtu);
        }
        if self.scripted_drop(tcp) {
            return Some(DropCause::Script);
        }
        self.expire_queue(now);
        if self
            .config
            .queue_limit_bytes
            .is_some_and(|limit| self.queued_bytes + len > limit)
        {
            return Some(DropCause::Queue);
        }
        // The packet takes its turn on the wire (and its serialization time) even if it
        // is then lost in transit.
        let start = self.busy_until.max(now);
        let tx = match self.config.rate_bps {
            Some(rate) if rate > 0 => {
                let bits = len as u128 * 8 * 1_000_000;
                Duration::from_micros(
                    u64::try_from(bits.div_ceil(u128::from(rate))).unwrap_or(u64::MAX),
                )
            }
            _ => Duration::ZERO,
        };
        self.busy_until = start + tx;
        self.queue.push_back((self.busy_until, len));
        self.queued_bytes += len;
        if self.rng.chance(self.config.loss) {
            return Some(DropCause::Loss);
        }
        if let Some(ge) = self.config.gilbert_elliott {
            let flip = if self.ge_bad {
                ge.p_bad_to_good
            } else {
                ge.p_good_to_bad
            };
            if self.rng.chance(flip) {
                self.ge_bad = !self.ge_bad;
            }
            let p = if self.ge_bad {
                ge.loss_bad
            } else {
                ge.loss_good
            };
            if self.rng.chance(p) {
                return Some(DropCause::BurstLoss);
            }
        }
        None
    }

    fn deliver(&mut self, _now: Instant, packet: &mut [u8]) -> Vec<Instant> {
        let jitter_us = duration_micros(self.config.jitter);
        let jitter = Duration::from_micros(self.rng.below(jitter_us.saturating_add(1)));
        let mut arrival = self.busy_until + self.config.delay + jitter;
        if self.rng.chance(self.config.reorder) {
            self.stats.reordered += 1;
            arrival += self.config.reorder_delay;
        } else {
            arrival = arrival.max(self.last_arrival);
            self.last_arrival = arrival;
        }
        if !packet.is_empty() && self.rng.chance(self.config.corrupt) {
            self.stats.corrupted += 1;
            // One to three distinct bits of one 16-bit word: the Internet checksum detects
            // every such change (RFC 1071; only 0x0000 <-> 0xffff escapes it, which needs
            // 16 flips), so corruption is always caught, as the link model promises. Flips
            // spread over several words can cancel out in the one's-complement sum.
            let words = (packet.len() as u64).div_ceil(2);
            let word = self.rng.below(words) as usize * 2;
            let flips = 1 + self.rng.below(3);
            let mut mask = 0u16;
            while mask.count_ones() < flips as u32 {
                mask |= 1 << self.rng.below(16);
            }
            for (i, b) in mask.to_be_bytes().iter().enumerate() {
                if let Some(p) = packet.get_mut(word + i) {
                    *p ^= b;
                }
            }
        }
        let mut times = vec![arrival];
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            times.push(arrival);
        }
        self.stats.delivered_packets += times.len() as u64;
        self.stats.delivered_bytes += (times.len() * packet.len()) as u64;
        times
    }
}

/// Sets CE in the IP header of an ECN-capable packet (IPv4 TOS with its header checksum
/// recomputed, or IPv6 traffic class). Returns whether it was marked.
fn mark_ce(packet: &mut [u8]) -> bool {
    match packet.first().map(|b| b >> 4) {
        Some(4) if packet.len() >= 20 => {
            if packet[1] & 3 == 0 {
                return false;
            }
            packet[1] |= 3;
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            if ihl < 20 || ihl > packet.len() {
                return true;
            }
            packet[10] = 0;
            packet[11] = 0;
            let mut sum = 0u32;
            for w in packet[..ihl].chunks(2) {
                sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            let ck = !(sum as u16);
            packet[10..12].copy_from_slice(&ck.to_be_bytes());
            true
        }
        Some(6) if packet.len() >= 40 => {
            // Traffic class: the low nibble of byte 0 and the high nibble of byte 1; ECN is
            // its low two bits, bits 4-5 of byte 1.
            if packet[1] & 0x30 == 0 {
                return false;
            }
            packet[1] |= 0x30;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(config: LinkConfig) -> LinkDirection {
        LinkDirection::new(config, Rng::new(1))
    }

    fn arrivals(f: Fate) -> Vec<Instant> {
        match f {
            Fate::Delivered(t) => t,
            Fate::Dropped(c) => panic!("dropped: {c:?}"),
        }
    }

    #[test]
    fn serialization_queues_packets_behind_each_other() {
        // 8 Mbit/s: 1000 bytes take 1 ms; delay 10 ms.
        let mut d = dir(LinkConfig::new(Duration::from_millis(10), Some(8_000_000)));
        let t0 = Instant::from_secs(1);
        let a = arrivals(d.offer(t0, &mut [0; 1000], None));
        let b = arrivals(d.offer(t0, &mut [0; 1000], None));
        assert_eq!(a, vec![t0 + Duration::from_millis(11)]);
        assert_eq!(b, vec![t0 + Duration::from_millis(12)]);
        assert_eq!(d.queued_bytes(t0), 2000);
        assert_eq!(d.queued_bytes(t0 + Duration::from_millis(1)), 1000);
    }

    #[test]
    fn drop_tail_queue_drops_when_full_and_counts_it() {
        let mut cfg = LinkConfig::new(Duration::ZERO, Some(8_000_000));
        cfg.queue_limit_bytes = Some(2500);
        let mut d = dir(cfg);
        let t0 = Instant::from_secs(1);
        for _ in 0..2 {
            arrivals(d.offer(t0, &mut [0; 1000], None));
        }
        assert!(matches!(
            d.offer(t0, &mut [0; 1000], None),
            Fate::Dropped(DropCause::Queue)
        ));
        assert_eq!(d.stats().dropped_queue, 1);
        // After the first packet left, there is room again.
        arrivals(d.offer(t0 + Duration::from_millis(1), &mut [0; 1000], None));
    }

    #[test]
    fn oversize_packets_are_dropped_by_mtu() {
        let mut d = dir(LinkConfig {
            mtu: Some(1500),
            ..LinkConfig::default()
        });
        arrivals(d.offer(Instant::ZERO, &mut [0; 1500], None));
        assert!(matches!(
            d.offer(Instant::ZERO, &mut [0; 1501], None),
            Fate::Dropped(DropCause::Mtu)
        ));
        assert_eq!(d.stats().dropped_mtu, 1);
        assert_eq!(d.stats().drops(), 1);
    }

    #[test]
    fn bernoulli_loss_rate_is_close_to_configured() {
        let mut d = dir(LinkConfig {
            loss: 0.05,
            ..LinkConfig::default()
        });
        for _ in 0..20_000 {
            d.offer(Instant::ZERO, &mut [0; 100], None);
        }
        let lost = d.stats().dropped_loss;
        assert!((800..1200).contains(&lost), "lost {lost}");
    }

    #[test]
    fn gilbert_elliott_loss_comes_in_bursts() {
        let mut d = dir(LinkConfig {
            gilbert_elliott: Some(GilbertElliott {
                p_good_to_bad: 0.01,
                p_bad_to_good: 0.2,
                loss_good: 0.0,
                loss_bad: 1.0,
            }),
            ..LinkConfig::default()
        });
        let mut prev_lost = false;
        let mut consecutive = 0;
        for _ in 0..20_000 {
            let lost = matches!(d.offer(Instant::ZERO, &mut [0; 10], None), Fate::Dropped(_));
            if lost && prev_lost {
                consecutive += 1;
            }
            prev_lost = lost;
        }
        let lost = d.stats().dropped_burst;
        assert!(lost > 0);
        // Mean burst length 5: most losses follow another loss.
        assert!(
            consecutive * 2 > lost,
            "consecutive {consecutive} of {lost}"
        );
    }

    #[test]
    fn jitter_never_reorders_but_reorder_does() {
        let mut cfg = LinkConfig::new(Duration::from_millis(5), None);
        cfg.jitter = Duration::from_millis(5);
        let mut d = dir(cfg.clone());
        let mut last = Instant::ZERO;
        for i in 0..1000 {
            let t = arrivals(d.offer(Instant::from_micros(i * 10), &mut [0; 10], None))[0];
            assert!(t >= last);
            last = t;
        }
        cfg.jitter = Duration::ZERO;
        cfg.reorder = 0.5;
        cfg.reorder_delay = Duration::from_millis(3);
        let mut d = dir(cfg);
        let mut overtaken = 0;
        let mut last = Instant::ZERO;
        for i in 0..1000 {
            let t = arrivals(d.offer(Instant::from_micros(i * 10), &mut [0; 10], None))[0];
            if t < last {
                overtaken += 1;
            }
            last = last.max(t);
        }
        assert!(overtaken > 0);
        assert!(d.stats().reordered > 0);
    }

    #[test]
    fn duplication_delivers_two_copies_and_corruption_flips_bits() {
        let mut d = dir(LinkConfig {
            duplicate: 1.0,
            corrupt: 1.0,
            ..LinkConfig::default()
        });
        let mut p = [0u8; 64];
        let t = arrivals(d.offer(Instant::ZERO, &mut p, None));
        assert_eq!(t.len(), 2);
        assert!(p.iter().any(|&b| b != 0));
        assert_eq!(d.stats().duplicated, 1);
        assert_eq!(d.stats().corrupted, 1);
        assert_eq!(d.stats().delivered_packets, 2);
    }
}
