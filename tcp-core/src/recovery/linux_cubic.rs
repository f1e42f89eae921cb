//! CUBIC as Linux implements it (`net/ipv4/tcp_cubic.c`, with `tcp_slow_start` and
//! `tcp_cong_avoid_ai` of `tcp_cong.c`): the window counted in whole packets, the cubic
//! function in Linux's fixed point (BIC time units of 1/1024 s, a cube-root table),
//! β = 717/1024, the TCP-friendly estimate, and the original HyStart (ACK-train and delay
//! detection) rather than RFC 9406's HyStart++. A peer, or a packetdrill script reading
//! `tcpi_snd_cwnd`, sees the numbers Linux produces. RFC 9438 describes the same
//! algorithm; [`super::Cubic`] follows the RFC's arithmetic in bytes instead.
//!
//! Time runs in jiffies of 4 ms (Linux built with HZ=250, the reference machine's); the
//! HyStart clock in microseconds.

use super::{AckSample, CongestionControl};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};

/// `TCP_INFINITE_SSTHRESH`.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// Jiffies per second (`HZ`).
const HZ: u64 = 250;
/// `BICTCP_BETA_SCALE` and `beta`.
const BETA_SCALE: u32 = 1024;
const BETA: u32 = 717;
/// `BICTCP_HZ`: the cubic function's time unit is 2^-10 s.
const BICTCP_HZ: u32 = 10;
/// `bic_scale`.
const BIC_SCALE: u64 = 41;
/// `hystart_low_window`, `hystart_ack_delta_us`, `HYSTART_MIN_SAMPLES`,
/// `HYSTART_DELAY_MIN`/`MAX` (µs).
const HYSTART_LOW_WINDOW: u32 = 16;
const HYSTART_ACK_DELTA_US: u64 = 2000;
const HYSTART_MIN_SAMPLES: u8 = 8;
const HYSTART_DELAY_MIN_US: u64 = 4000;
const HYSTART_DELAY_MAX_US: u64 = 16000;
/// `sk_gso_max_size` for `hystart_ack_delay`.
const GSO_MAX_SIZE: u64 = 65_536;

/// `cube_rtt_scale` = bic_scale · 10.
const CUBE_RTT_SCALE: u64 = BIC_SCALE * 10;
/// `beta_scale` = 8·(1024 + β) / 3 / (1024 − β).
const BETA_FRIENDLY: u32 = 8 * (BETA_SCALE + BETA) / 3 / (BETA_SCALE - BETA);
/// `cube_factor` = 2^(10 + 3·BICTCP_HZ) / (bic_scale · 10).
const CUBE_FACTOR: u64 = (1u64 << (10 + 3 * BICTCP_HZ)) / CUBE_RTT_SCALE;

/// Linux's CUBIC controller.
#[derive(Debug, Clone)]
pub struct LinuxCubic {
    cwnd: u32,
    ssthresh: u32,
    /// `snd_cwnd_cnt`: packets acknowledged towards the next increase.
    cwnd_cnt: u32,
    /// The window before the last reduction (`prior_cwnd`), for the spurious-loss undo.
    smss: u32,
    /// A timeout was taken and no ACK has advanced since: another one keeps ssthresh
    /// (`tcp_enter_loss` only recomputes it on the first timeout of an episode).
    in_loss: bool,
    bic: Bictcp,
}

/// `struct bictcp`.
#[derive(Debug, Clone, Copy, Default)]
struct Bictcp {
    cnt: u32,
    last_max_cwnd: u32,
    last_cwnd: u32,
    last_time: u32,
    bic_origin_point: u32,
    bic_k: u32,
    delay_min: u32,
    epoch_start: u32,
    ack_cnt: u32,
    tcp_cwnd: u32,
    sample_cnt: u8,
    found: bool,
    round_start: u32,
    end_seq: u32,
    last_ack: u32,
    curr_rtt: u32,
}

impl LinuxCubic {
    /// A controller with an initial window of `initial_window` packets and ssthresh
    /// `TCP_INFINITE_SSTHRESH`.
    pub fn new(initial_window: u32, smss: u32) -> Self {
        let mut c = LinuxCubic {
            cwnd: initial_window.max(1),
            ssthresh: INFINITE_SSTHRESH,
            cwnd_cnt: 0,
            smss: smss.max(1),
            in_loss: false,
            bic: Bictcp::default(),
        };
        c.hystart_reset(0, SeqNum::new(0));
        c
    }

    /// The window in packets (`tcpi_snd_cwnd`).
    #[cfg(test)]
    pub fn cwnd_packets(&self) -> u32 {
        self.cwnd
    }

    /// ssthresh in packets (`tcpi_snd_ssthresh`; 0x7fffffff until the first reduction).
    #[cfg(test)]
    pub fn ssthresh_packets(&self) -> u32 {
        self.ssthresh
    }

    fn jiffies(now: Instant) -> u32 {
        (now.as_millis() * HZ / 1000) as u32
    }

    /// `bictcp_clock_us`: microseconds, truncated to 32 bits as Linux's (differences
    /// are taken as signed 32-bit values, see `us_since`).
    fn clock_us(now: Instant) -> u32 {
        now.as_micros() as u32
    }

    /// `(s32)(now - then)`, Linux's way of comparing two `bictcp_clock_us` stamps.
    fn us_since(now: u32, then: u32) -> i64 {
        i64::from(now.wrapping_sub(then) as i32)
    }

    fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// `bictcp_hystart_reset`.
    fn hystart_reset(&mut self, now_us: u32, snd_nxt: SeqNum) {
        self.bic.round_start = now_us;
        self.bic.last_ack = now_us;
        self.bic.end_seq = snd_nxt.get();
        self.bic.curr_rtt = u32::MAX;
        self.bic.sample_cnt = 0;
    }

    /// `bictcp_reset`.
    fn bictcp_reset(&mut self) {
        self.bic = Bictcp {
            round_start: self.bic.round_start,
            end_seq: self.bic.end_seq,
            last_ack: self.bic.last_ack,
            curr_rtt: self.bic.curr_rtt,
            sample_cnt: self.bic.sample_cnt,
            ..Bictcp::default()
        };
    }

    /// `tcp_slow_start`: grow by the packets acknowledged, up to ssthresh; returns what is
    /// left over for congestion avoidance.
    fn slow_start(&mut self, acked: u32) -> u32 {
        let cwnd = self.cwnd.saturating_add(acked).min(self.ssthresh);
        let used = cwnd - self.cwnd;
        self.cwnd = cwnd;
        acked - used.min(acked)
    }

    /// `tcp_cong_avoid_ai`: one packet per `w` acknowledged.
    fn cong_avoid_ai(&mut self, w: u32, acked: u32) {
        let w = w.max(1);
        if self.cwnd_cnt >= w {
            self.cwnd_cnt = 0;
            self.cwnd += 1;
        }
        self.cwnd_cnt += acked;
        if self.cwnd_cnt >= w {
            let delta = self.cwnd_cnt / w;
            self.cwnd_cnt -= delta * w;
            self.cwnd += delta;
        }
    }

    /// `bictcp_update`: the number of ACKed packets per one-packet increase (`cnt`).
    fn bictcp_update(&mut self, now: Instant, acked: u32) {
        let cwnd = self.cwnd;
        let jiffies = Self::jiffies(now);
        let ca = &mut self.bic;
        ca.ack_cnt = ca.ack_cnt.wrapping_add(acked);
        let recent = (jiffies.wrapping_sub(ca.last_time) as i32) <= (HZ / 32) as i32;
        if ca.last_cwnd == cwnd && recent {
            return;
        }
        if !(ca.epoch_start != 0 && jiffies == ca.last_time) {
            ca.last_cwnd = cwnd;
            ca.last_time = jiffies;
            if ca.epoch_start == 0 {
                ca.epoch_start = jiffies.max(1);
                ca.ack_cnt = acked;
                ca.tcp_cwnd = cwnd;
                if ca.last_max_cwnd <= cwnd {
                    ca.bic_k = 0;
                    ca.bic_origin_point = cwnd;
                } else {
                    ca.bic_k = cubic_root(CUBE_FACTOR * u64::from(ca.last_max_cwnd - cwnd));
                    ca.bic_origin_point = ca.last_max_cwnd;
                }
            }
            let mut t = u64::from(jiffies.wrapping_sub(ca.epoch_start) as i32 as u32);
            t += u64::from(ca.delay_min).div_ceil(1_000_000 / HZ);
            t = (t << BICTCP_HZ) / HZ;
            let k = u64::from(ca.bic_k);
            let offs = t.abs_diff(k);
            let delta = (CUBE_RTT_SCALE
                .wrapping_mul(offs)
                .wrapping_mul(offs)
                .wrapping_mul(offs)
                >> (10 + 3 * BICTCP_HZ)) as u32;
            let bic_target = if t < k {
                ca.bic_origin_point.wrapping_sub(delta)
            } else {
                ca.bic_origin_point.wrapping_add(delta)
            };
            ca.cnt = if bic_target > cwnd {
                cwnd / (bic_target - cwnd)
            } else {
                100 * cwnd
            };
            if ca.last_max_cwnd == 0 && ca.cnt > 20 {
                ca.cnt = 20;
            }
        }
        // TCP friendliness.
        let delta = (cwnd * BETA_FRIENDLY) >> 3;
        if delta > 0 {
            while ca.ack_cnt > delta {
                ca.ack_cnt -= delta;
                ca.tcp_cwnd += 1;
            }
        }
        if ca.tcp_cwnd > cwnd {
            let max_cnt = cwnd / (ca.tcp_cwnd - cwnd);
            if ca.cnt > max_cnt {
                ca.cnt = max_cnt;
            }
        }
        ca.cnt = ca.cnt.max(2);
    }

    /// `cubictcp_recalc_ssthresh`.
    fn recalc_ssthresh(&mut self) -> u32 {
        let cwnd = self.cwnd;
        let ca = &mut self.bic;
        ca.epoch_start = 0;
        ca.last_max_cwnd = if cwnd < ca.last_max_cwnd {
            cwnd * (BETA_SCALE + BETA) / (2 * BETA_SCALE)
        } else {
            cwnd
        };
        (cwnd * BETA / BETA_SCALE).max(2)
    }

    /// `hystart_ack_delay`: the pacing rate's TSO cushion, at most 1 ms.
    fn hystart_ack_delay(&self, srtt: Option<Duration>) -> u64 {
        let Some(srtt_us) = srtt.map(|d| d.as_micros().max(1) as u64) else {
            return 0;
        };
        let ratio = if self.cwnd < self.ssthresh / 2 {
            200
        } else {
            120
        };
        let rate = u64::from(self.smss) * u64::from(self.cwnd) * ratio * 10_000 / srtt_us;
        if rate == 0 {
            return 0;
        }
        (GSO_MAX_SIZE * 4 * 1_000_000 / rate).min(1000)
    }

    /// `hystart_update`.
    fn hystart_update(&mut self, s: &AckSample, delay: u32) {
        let now_us = Self::clock_us(s.now);
        if s.snd_una.gt(SeqNum::new(self.bic.end_seq)) {
            self.hystart_reset(now_us, s.snd_nxt);
        }
        if self.cwnd < HYSTART_LOW_WINDOW {
            return;
        }
        // ACK-train detection (no pacing: half the minimum delay).
        if Self::us_since(now_us, self.bic.last_ack) <= HYSTART_ACK_DELTA_US as i64 {
            self.bic.last_ack = now_us;
            let threshold = (u64::from(self.bic.delay_min) + self.hystart_ack_delay(s.srtt)) >> 1;
            if Self::us_since(now_us, self.bic.round_start) > threshold as i64 {
                self.bic.found = true;
                self.ssthresh = self.cwnd;
            }
        }
        // Delay detection.
        if self.bic.curr_rtt > delay {
            self.bic.curr_rtt = delay;
        }
        if self.bic.sample_cnt < HYSTART_MIN_SAMPLES {
            self.bic.sample_cnt += 1;
        } else {
            let dmin = u64::from(self.bic.delay_min);
            let thresh = (dmin >> 3).clamp(HYSTART_DELAY_MIN_US, HYSTART_DELAY_MAX_US);
            if u64::from(self.bic.curr_rtt) > dmin + thresh {
                self.bic.found = true;
                self.ssthresh = self.cwnd;
            }
        }
    }

    /// `cubictcp_acked`: an RTT sample for HyStart.
    fn acked(&mut self, s: &AckSample) {
        let Some(rtt) = s.rtt else {
            return;
        };
        let jiffies = Self::jiffies(s.now);
        if self.bic.epoch_start != 0
            && (jiffies.wrapping_sub(self.bic.epoch_start) as i32) < HZ as i32
        {
            return;
        }
        let delay = (rtt.as_micros().min(u128::from(u32::MAX)) as u32).max(1);
        if self.bic.delay_min == 0 || self.bic.delay_min > delay {
            self.bic.delay_min = delay;
        }
        if !self.bic.found && self.in_slow_start() {
            self.hystart_update(s, delay);
        }
    }

    /// `cubictcp_cong_avoid` for `acked` packets.
    fn cong_avoid(&mut self, now: Instant, mut acked: u32) {
        if self.in_slow_start() {
            acked = self.slow_start(acked);
            if acked == 0 {
                return;
            }
        }
        self.bictcp_update(now, acked);
        let cnt = self.bic.cnt;
        self.cong_avoid_ai(cnt, acked);
    }

    fn packets(bytes: u32, smss: u32) -> u32 {
        bytes.div_ceil(smss.max(1))
    }
}

/// `cubic_root`: a table lookup and one Newton-Raphson step (error ≈ 0.2 %).
fn cubic_root(a: u64) -> u32 {
    const V: [u8; 64] = [
        0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164,
        168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199, 200, 202, 204, 206, 209,
        211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240,
        242, 244, 245, 246, 248, 250, 251, 252, 254,
    ];
    let b = 64 - a.leading_zeros();
    if b < 7 {
        return (u32::from(V[a as usize]) + 35) >> 6;
    }
    let b = ((b * 84) >> 8) - 1;
    let shift = (a >> (b * 3)) as usize;
    let mut x = ((u32::from(V[shift.min(63)]) + 10) << b) >> 6;
    let d = u64::from(x) * u64::from(x.saturating_sub(1));
    if d == 0 {
        return x;
    }
    x = 2 * x + (a / d) as u32;
    (x * 341) >> 10
}

impl CongestionControl for LinuxCubic {
    fn cwnd(&self) -> u32 {
        self.cwnd.saturating_mul(self.smss)
    }

    fn ssthresh(&self) -> u32 {
        if self.ssthresh >= INFINITE_SSTHRESH {
            u32::MAX
        } else {
            self.ssthresh.saturating_mul(self.smss)
        }
    }

    fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    fn on_ack(&mut self, now: Instant, acked: u32, smss: u32, _rtt: Option<Duration>) {
        self.smss = smss.max(1);
        self.in_loss = false;
        self.cong_avoid(now, Self::packets(acked, smss));
    }

    fn on_ack_sample(&mut self, sample: &AckSample, smss: u32) {
        self.smss = smss.max(1);
        if sample.acked_bytes > 0 {
            self.in_loss = false;
        }
        self.acked(sample);
        if sample.app_limited {
            return;
        }
        let acked = Self::packets(sample.acked_bytes.saturating_add(sample.sacked_bytes), smss);
        if acked > 0 {
            self.cong_avoid(sample.now, acked);
        }
    }

    fn on_recovery_start(&mut self, _now: Instant, _in_flight: u32, smss: u32) {
        // tcp_init_cwnd_reduction: ssthresh from CUBIC; the window itself then follows
        // PRR (set_recovery_cwnd) down to it.
        self.smss = smss.max(1);
        self.cwnd_cnt = 0;
        self.ssthresh = self.recalc_ssthresh();
        self.cwnd = self.ssthresh;
    }

    fn on_recovery_dupack(&mut self, _smss: u32) {}

    fn on_partial_ack(&mut self, _acked: u32, _smss: u32) {}

    fn on_recovery_end(&mut self, _now: Instant, _in_flight: u32, _smss: u32) {
        // tcp_end_cwnd_reduction.
        if self.ssthresh < INFINITE_SSTHRESH {
            self.cwnd = self.ssthresh;
        }
    }

    fn on_rto(&mut self, now: Instant, _in_flight: u32, smss: u32) {
        // tcp_enter_loss: ssthresh on the first timeout only, cwnd = packets in flight
        // (none once all are marked lost) + 1; CUBIC starts over (cubictcp_state).
        self.smss = smss.max(1);
        if !self.in_loss {
            self.ssthresh = self.recalc_ssthresh();
        }
        self.in_loss = true;
        self.cwnd = 1;
        self.cwnd_cnt = 0;
        self.bictcp_reset();
        self.hystart_reset(Self::clock_us(now), SeqNum::new(self.bic.end_seq));
    }

    fn set_recovery_cwnd(&mut self, cwnd: u32) {
        self.cwnd = Self::packets(cwnd, self.smss).max(1);
    }

    fn on_idle_restart(&mut self, idle: Duration, rto: Duration, initial_window: u32, smss: u32) {
        self.smss = smss.max(1);
        let (cwnd, floor) = super::restart_window(self.cwnd, initial_window, idle, rto);
        self.ssthresh = self.ssthresh.max(floor);
        self.cwnd = cwnd;
        self.cwnd_cnt = 0;
    }

    fn on_tx_start(&mut self, idle: Duration) {
        // cubictcp_cwnd_event: shift the epoch by the idle time so the cubic curve does
        // not jump ahead.
        let delta = ((idle.as_millis() as u64) * HZ / 1000) as u32;
        if self.bic.epoch_start != 0 && delta > 0 {
            self.bic.epoch_start = self.bic.epoch_start.wrapping_add(delta);
        }
    }

    fn on_spurious_congestion_undo(&mut self, prior_cwnd: u32, prior_ssthresh: u32) {
        // tcp_undo_cwnd_reduction with tcp_reno_undo_cwnd.
        self.cwnd = self.cwnd.max(Self::packets(prior_cwnd, self.smss));
        let prior = if prior_ssthresh == u32::MAX {
            INFINITE_SSTHRESH
        } else {
            prior_ssthresh / self.smss
        };
        if prior > self.ssthresh {
            self.ssthresh = prior;
        }
        self.in_loss = false;
    }

    fn name(&self) -> &'static str {
        "cubic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    fn sample(now_ms: u64, acked_pkts: u32, rtt_ms: u64, una: u32, nxt: u32) -> AckSample {
        AckSample {
            now: Instant::from_millis(now_ms),
            acked_bytes: acked_pkts * MSS,
            sacked_bytes: 0,
            rtt: Some(Duration::from_millis(rtt_ms)),
            srtt: Some(Duration::from_millis(rtt_ms)),
            in_flight: 0,
            snd_una: SeqNum::new(una),
            snd_nxt: SeqNum::new(nxt),
            app_limited: false,
        }
    }

    #[test]
    fn cube_root_matches_linux_table_arithmetic() {
        assert_eq!(cubic_root(0), 0);
        assert_eq!(cubic_root(27), 3);
        assert_eq!(cubic_root(1_000_000), 100);
        // Within 0.2 % for large inputs.
        let r = cubic_root(1_000_000_000_000);
        assert!((9980..=10020).contains(&r), "{r}");
    }

    /// packetdrill's slow-start scripts: a stretch ACK of all 10 packets doubles the
    /// window (tcp_slow_start has no per-ACK limit).
    #[test]
    fn slow_start_grows_by_every_packet_acknowledged() {
        let mut c = LinuxCubic::new(10, MSS);
        c.on_ack_sample(&sample(300, 10, 200, 10_001, 30_001), MSS);
        assert_eq!(c.cwnd_packets(), 20);
    }

    /// A timeout: ssthresh = 0.7 · cwnd (717/1024, rounded down), cwnd 1; a second
    /// timeout before any progress keeps ssthresh (cubic-rto-ss-ca-cwnd-bump: 10 → 7).
    #[test]
    fn a_timeout_takes_seventy_percent_once() {
        let mut c = LinuxCubic::new(10, MSS);
        c.on_rto(Instant::from_millis(500), 0, MSS);
        assert_eq!((c.cwnd_packets(), c.ssthresh_packets()), (1, 7));
        c.on_rto(Instant::from_millis(1100), 0, MSS);
        assert_eq!((c.cwnd_packets(), c.ssthresh_packets()), (1, 7));
        c.on_ack_sample(&sample(1200, 1, 100, 2001, 2001), MSS);
        assert_eq!(c.cwnd_packets(), 2);
    }

    /// Above ssthresh after a loss, cwnd grows by one packet per `cnt` packets
    /// acknowledged; with no W_max above it CUBIC's first epoch is capped at 5 % per RTT
    /// (cnt 20) — but the TCP-friendly estimate takes over at this small window.
    #[test]
    fn congestion_avoidance_is_slower_than_slow_start() {
        let mut c = LinuxCubic::new(10, MSS);
        c.on_rto(Instant::from_millis(500), 0, MSS);
        let mut una = 1001;
        let mut t = 600;
        for _ in 0..200 {
            c.on_ack_sample(&sample(t, 1, 100, una, una + 10_000), MSS);
            una += 1000;
            t += 10;
        }
        assert!(
            c.cwnd_packets() > 7 && c.cwnd_packets() < 40,
            "{}",
            c.cwnd_packets()
        );
    }
}
