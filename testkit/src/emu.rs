//! A link emulator between two TUN devices (our own code; `netem` is not available):
//! rate, one-way delay, seeded random loss and a drop-tail queue, in both directions.
//!
//! Each TUN device lives in its own network namespace (or feeds one), so two kernels (or a
//! kernel and our stack behind a forwarding namespace) talk over an emulated path.
//! Packets read from one device are queued for the other: a packet leaves the queue when
//! the link has serialized it at `rate_bps` (after the packets before it), and is written
//! to the other device `delay` later. Packets that would make the queue exceed
//! `queue_bytes` are dropped (drop-tail), and each packet is lost with probability `loss`
//! before it is queued. From `black_hole.0` after the start on, packets longer than
//! `black_hole.1` bytes are dropped without a word (a path MTU black hole: no ICMP).
//! Timing uses `ppoll`, so it is accurate to tens of microseconds.

use crate::check::XorShift;
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Parameters of one direction (both directions use the same, with their own random
/// decisions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmuParams {
    /// Link rate in bits per second.
    pub rate_bps: u64,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Probability of losing a packet.
    pub loss: f64,
    /// Bytes the bottleneck queue holds (waiting for serialization) before it drops.
    pub queue_bytes: usize,
    /// Seed of the loss decisions.
    pub seed: u64,
    /// From this long after the start, packets longer than this many bytes are dropped
    /// silently (an ICMP black hole after a path change).
    pub black_hole: Option<(Duration, usize)>,
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Packets read from the source device.
    pub packets: u64,
    /// Packets delivered to the other device.
    pub delivered: u64,
    /// Packets lost at random.
    pub lost: u64,
    /// Packets dropped because the queue was full.
    pub queue_drops: u64,
    /// Packets dropped silently for their size (`EmuParams::black_hole`).
    pub black_holed: u64,
}

/// Counters of an emulator run: `[a_to_b, b_to_a]`.
pub type EmuStats = [DirStats; 2];

struct Dir {
    /// (time the packet finishes serialization, packet)
    serializing: VecDeque<(Instant, Vec<u8>)>,
    /// (delivery time, packet)
    in_flight: VecDeque<(Instant, Vec<u8>)>,
    queued_bytes: usize,
    link_free_at: Instant,
    rng: XorShift,
    stats: DirStats,
}

impl Dir {
    fn new(seed: u64, now: Instant) -> Self {
        Dir {
            serializing: VecDeque::new(),
            in_flight: VecDeque::new(),
            queued_bytes: 0,
            link_free_at: now,
            rng: XorShift::new(seed),
            stats: DirStats::default(),
        }
    }

    fn enqueue(&mut self, p: &EmuParams, start: Instant, now: Instant, packet: &[u8]) {
        self.stats.packets += 1;
        if let Some((after, max)) = p.black_hole
            && now >= start + after
            && packet.len() > max
        {
            self.stats.black_holed += 1;
            return;
        }
        if self.rng.chance(p.loss) {
            self.stats.lost += 1;
            return;
        }
        if self.queued_bytes + packet.len() > p.queue_bytes {
            self.stats.queue_drops += 1;
            return;
        }
        let tx = Duration::from_nanos(
            (packet.len() as u64 * 8).saturating_mul(1_000_000_000) / p.rate_bps.max(1),
        );
        let start = self.link_free_at.max(now);
        self.link_free_at = start + tx;
        self.queued_bytes += packet.len();
        self.serializing
            .push_back((self.link_free_at, packet.to_vec()));
    }

    /// Moves serialized packets into flight and writes due ones to `out`; returns the next
    /// deadline.
    fn advance(&mut self, p: &EmuParams, now: Instant, out: &impl AsRawFd) -> Option<Instant> {
        while self.serializing.front().is_some_and(|(t, _)| *t <= now) {
            let (t, pkt) = self.serializing.pop_front().unwrap();
            self.queued_bytes -= pkt.len();
            self.in_flight.push_back((t + p.delay, pkt));
        }
        while self.in_flight.front().is_some_and(|(t, _)| *t <= now) {
            let (_, pkt) = self.in_flight.pop_front().unwrap();
            // SAFETY: writing an initialised buffer to a valid descriptor.
            let r = unsafe { libc::write(out.as_raw_fd(), pkt.as_ptr().cast(), pkt.len()) };
            if r >= 0 {
                self.stats.delivered += 1;
            }
        }
        let a = self.serializing.front().map(|(t, _)| *t);
        let b = self.in_flight.front().map(|(t, _)| *t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Reads every waiting packet from the non-blocking `fd`.
fn drain(fd: &impl AsRawFd, buf: &mut [u8], mut each: impl FnMut(&[u8])) -> io::Result<()> {
    loop {
        // SAFETY: reading into a writable buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(()),
                io::ErrorKind::Interrupted => continue,
                _ => Err(e),
            };
        }
        each(&buf[..n as usize]);
    }
}

/// Forwards packets between the TUN devices `a` and `b` (their descriptors must be
/// non-blocking) through the emulated link until `stop` is set.
pub fn run(
    a: &impl AsRawFd,
    b: &impl AsRawFd,
    params: EmuParams,
    stop: &AtomicBool,
) -> io::Result<EmuStats> {
    let start = Instant::now();
    let mut dirs = [
        Dir::new(params.seed, start),
        Dir::new(params.seed.wrapping_add(0x5bd1_e995), start),
    ];
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let next = [
            dirs[0].advance(&params, now, b),
            dirs[1].advance(&params, now, a),
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = next
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(50))
            .min(Duration::from_millis(50));
        let mut fds = [
            libc::pollfd {
                fd: a.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: b.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ts = libc::timespec {
            tv_sec: wait.as_secs() as libc::time_t,
            tv_nsec: wait.subsec_nanos() as libc::c_long,
        };
        // SAFETY: two valid pollfds and a timespec that outlive the call.
        let r = unsafe { libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let now = Instant::now();
        if fds[0].revents & libc::POLLIN != 0 {
            drain(a, &mut buf, |p| dirs[0].enqueue(&params, start, now, p))?;
        }
        if fds[1].revents & libc::POLLIN != 0 {
            drain(b, &mut buf, |p| dirs[1].enqueue(&params, start, now, p))?;
        }
    }
    Ok([dirs[0].stats, dirs[1].stats])
}
