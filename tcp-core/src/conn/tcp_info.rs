//! `TCP_INFO` as Linux defines it (`struct tcp_info` in `include/uapi/linux/tcp.h`, filled
//! by `tcp_get_info`): the same fields, units and meanings, so tools and test scripts
//! written for Linux read ours unchanged. Packet counts are in segments of the current
//! MSS, times in microseconds unless a field says otherwise.

use super::State;
use crate::recovery::CongestionControl;
use crate::time::{Duration, Instant};

/// Linux's congestion-avoidance state (`enum tcp_ca_state`, `tcpi_ca_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CaState {
    /// Nothing bad has been observed.
    #[default]
    Open = 0,
    /// Duplicate ACKs or SACKs arrived, or a retransmission is outstanding, but no loss
    /// was declared yet.
    Disorder = 1,
    /// The window is being reduced for a reason other than loss (ECN, local congestion).
    Cwr = 2,
    /// Fast recovery after a loss detected from ACKs.
    Recovery = 3,
    /// Recovery after a retransmission timeout.
    Loss = 4,
}

/// `TCPI_OPT_*` bits of [`TcpInfo::options`].
pub mod options {
    /// Timestamps negotiated (`TCPI_OPT_TIMESTAMPS`).
    pub const TIMESTAMPS: u8 = 1;
    /// SACK negotiated (`TCPI_OPT_SACK`).
    pub const SACK: u8 = 2;
    /// Window scaling negotiated (`TCPI_OPT_WSCALE`).
    pub const WSCALE: u8 = 4;
    /// ECN negotiated (`TCPI_OPT_ECN`).
    pub const ECN: u8 = 8;
    /// An ECN-capable or congestion-marked segment arrived (`TCPI_OPT_ECN_SEEN`).
    pub const ECN_SEEN: u8 = 16;
}

/// Which limit held the sender back (Linux's `tcp_chrono`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Chrono {
    /// Nothing to send.
    #[default]
    Unspec,
    /// Data queued or in flight.
    Busy,
    /// The peer's receive window held data back.
    RwndLimited,
    /// The application could not write: the send buffer is full of sent data.
    SndbufLimited,
}

/// Linux's `tcp_chrono_*` clock: how long the sender has been busy, and how much of that
/// the receive window or the send buffer limited it, counted in jiffies of 4 ms (HZ=250)
/// as Linux reports them, in 32 bits that wrap as `tcp_sock`'s `chrono_start` and
/// `chrono_stat` do.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChronoClock {
    current: Chrono,
    start: u32,
    /// Jiffies spent in Busy, RwndLimited, SndbufLimited.
    stat: [u32; 3],
}

impl ChronoClock {
    fn jiffies(now: Instant) -> u32 {
        (now.as_millis() / 4) as u32
    }

    fn set(&mut self, now: Instant, new: Chrono) {
        let j = Self::jiffies(now);
        if let Some(slot) = Self::slot(self.current) {
            self.stat[slot] = self.stat[slot].wrapping_add(j.wrapping_sub(self.start));
        }
        self.start = j;
        self.current = new;
    }

    fn slot(c: Chrono) -> Option<usize> {
        match c {
            Chrono::Unspec => None,
            Chrono::Busy => Some(0),
            Chrono::RwndLimited => Some(1),
            Chrono::SndbufLimited => Some(2),
        }
    }

    /// `tcp_chrono_start`: a more interesting condition takes over.
    pub(crate) fn start(&mut self, now: Instant, c: Chrono) {
        if c > self.current {
            self.set(now, c);
        }
    }

    /// `tcp_chrono_stop`: nothing queued ends all tracking; the current condition ending
    /// falls back to busy.
    pub(crate) fn stop(&mut self, now: Instant, c: Chrono, queues_empty: bool) {
        if queues_empty {
            if self.current != Chrono::Unspec {
                self.set(now, Chrono::Unspec);
            }
        } else if c == self.current {
            self.set(now, Chrono::Busy);
        }
    }

    /// `tcp_get_info_chrono_stats`: (busy total, rwnd-limited, sndbuf-limited) in µs.
    pub(crate) fn stats(&self, now: Instant) -> (u64, u64, u64) {
        let mut s = self.stat;
        if let Some(slot) = Self::slot(self.current) {
            s[slot] = s[slot].wrapping_add(Self::jiffies(now).wrapping_sub(self.start));
        }
        let [busy, rwnd, sndbuf] = s.map(u64::from);
        let us = |j: u64| j * 4000;
        (us(busy + rwnd + sndbuf), us(rwnd), us(sndbuf))
    }
}

/// A snapshot of a connection with the fields and units of Linux's `struct tcp_info`
/// (`getsockopt(TCP_INFO)`); see the Linux names in each field's documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TcpInfo {
    /// `tcpi_state`.
    pub state: Option<State>,
    /// `tcpi_ca_state`.
    pub ca_state: CaState,
    /// `tcpi_retransmits`: retransmission timeouts in a row without progress.
    pub retransmits: u8,
    /// `tcpi_probes`: unanswered zero-window or keepalive probes.
    pub probes: u8,
    /// `tcpi_backoff`: the retransmission or probe timer's backoff exponent.
    pub backoff: u8,
    /// `tcpi_options`: [`options`] bits.
    pub options: u8,
    /// `tcpi_snd_wscale`: the peer's window-scale shift.
    pub snd_wscale: u8,
    /// `tcpi_rcv_wscale`: ours.
    pub rcv_wscale: u8,
    /// `tcpi_delivery_rate_app_limited`.
    pub delivery_rate_app_limited: bool,
    /// `tcpi_rto` (µs), with backoff.
    pub rto: u32,
    /// `tcpi_ato` (µs): the delayed-ACK timeout.
    pub ato: u32,
    /// `tcpi_snd_mss`: payload per segment, after the options every segment carries.
    pub snd_mss: u32,
    /// `tcpi_rcv_mss`: the estimate of the peer's segment size.
    pub rcv_mss: u32,
    /// `tcpi_unacked`: segments sent and not acknowledged.
    pub unacked: u32,
    /// `tcpi_sacked`: segments SACKed (without SACK: duplicate ACKs counted).
    pub sacked: u32,
    /// `tcpi_lost`: segments deemed lost.
    pub lost: u32,
    /// `tcpi_retrans`: retransmissions in flight.
    pub retrans: u32,
    /// `tcpi_fackets` (always 0 since Linux 4.15).
    pub fackets: u32,
    /// `tcpi_last_data_sent` (ms ago).
    pub last_data_sent: u32,
    /// `tcpi_last_ack_sent` (not kept, 0, as Linux).
    pub last_ack_sent: u32,
    /// `tcpi_last_data_recv` (ms ago).
    pub last_data_recv: u32,
    /// `tcpi_last_ack_recv` (ms ago).
    pub last_ack_recv: u32,
    /// `tcpi_pmtu`: the path MTU assumed (MSS + 40).
    pub pmtu: u32,
    /// `tcpi_rcv_ssthresh`.
    pub rcv_ssthresh: u32,
    /// `tcpi_rtt` (µs): the smoothed RTT.
    pub rtt: u32,
    /// `tcpi_rttvar` (µs): its mean deviation.
    pub rttvar: u32,
    /// `tcpi_snd_ssthresh` (segments; 0x7fffffff before the first reduction).
    pub snd_ssthresh: u32,
    /// `tcpi_snd_cwnd` (segments).
    pub snd_cwnd: u32,
    /// `tcpi_advmss`: the MSS we announced.
    pub advmss: u32,
    /// `tcpi_reordering`: the reordering degree assumed (segments).
    pub reordering: u32,
    /// `tcpi_rcv_rtt` (µs): the receiver's RTT estimate.
    pub rcv_rtt: u32,
    /// `tcpi_rcv_space`: receive auto-tuning's bytes per RTT.
    pub rcv_space: u32,
    /// `tcpi_total_retrans`: segments retransmitted in total.
    pub total_retrans: u32,
    /// `tcpi_pacing_rate` (bytes/s).
    pub pacing_rate: u64,
    /// `tcpi_max_pacing_rate` (bytes/s; `u64::MAX`: none).
    pub max_pacing_rate: u64,
    /// `tcpi_bytes_acked`.
    pub bytes_acked: u64,
    /// `tcpi_bytes_received`.
    pub bytes_received: u64,
    /// `tcpi_segs_out`.
    pub segs_out: u32,
    /// `tcpi_segs_in`.
    pub segs_in: u32,
    /// `tcpi_notsent_bytes`: queued and not sent yet.
    pub notsent_bytes: u32,
    /// `tcpi_min_rtt` (µs; `u32::MAX` before a sample).
    pub min_rtt: u32,
    /// `tcpi_data_segs_in`.
    pub data_segs_in: u32,
    /// `tcpi_data_segs_out`.
    pub data_segs_out: u32,
    /// `tcpi_delivery_rate` (bytes/s).
    pub delivery_rate: u64,
    /// `tcpi_busy_time` (µs): time with data queued or in flight.
    pub busy_time: u64,
    /// `tcpi_rwnd_limited` (µs): of which the peer's window held data back.
    pub rwnd_limited: u64,
    /// `tcpi_sndbuf_limited` (µs): of which the send buffer limited the application.
    pub sndbuf_limited: u64,
    /// `tcpi_delivered`: segments delivered (acknowledged or SACKed).
    pub delivered: u32,
    /// `tcpi_delivered_ce`.
    pub delivered_ce: u32,
    /// `tcpi_bytes_sent` (retransmissions included).
    pub bytes_sent: u64,
    /// `tcpi_bytes_retrans`.
    pub bytes_retrans: u64,
    /// `tcpi_dsack_dups`.
    pub dsack_dups: u32,
    /// `tcpi_reord_seen`.
    pub reord_seen: u32,
    /// `tcpi_rcv_ooopack`: out-of-order segments received.
    pub rcv_ooopack: u32,
    /// `tcpi_snd_wnd`: the peer's window (bytes, scaled).
    pub snd_wnd: u32,
    /// `tcpi_rcv_wnd`: ours (bytes, scaled).
    pub rcv_wnd: u32,
    /// `tcpi_rehash`.
    pub rehash: u32,
    /// `tcpi_total_rto`: retransmission timeouts in total.
    pub total_rto: u16,
    /// `tcpi_total_rto_recoveries`.
    pub total_rto_recoveries: u16,
    /// `tcpi_total_rto_time` (ms).
    pub total_rto_time: u32,
}

impl super::Connection {
    /// Linux's `TCP_INFO` for this connection at `now` (see [`TcpInfo`]).
    pub fn tcp_info(&self, now: Instant) -> TcpInfo {
        let mss = self.eff_mss().max(1);
        // Linux's mss_cache: the MSS less the options every segment carries (timestamps),
        // not the SACK blocks of the moment.
        let mss_cache = self.mss_cache();
        let segs = |bytes: u32| bytes.div_ceil(mss);
        let (unacked, sacked, lost, retrans) = match self.loss.active() {
            Some(l) => (
                segs(l.sb.outstanding()),
                l.sb.sacked_segments(),
                segs(l.sb.lost_bytes()),
                segs(l.sb.retrans_bytes()),
            ),
            // At rest nothing is outstanding.
            None if self.loss.is_some() => (0, 0, 0, 0),
            None => (segs(self.snd.max.since(self.snd.una)), self.dupacks, 0, 0),
        };
        let recovering = self.recovery.is_some() || self.loss.in_recovery();
        let ca_state = if self.loss_until.is_some() {
            CaState::Loss
        } else if recovering {
            CaState::Recovery
        } else if self.ecn.in_cwr() {
            CaState::Cwr
        } else if sacked > 0 || lost > 0 || retrans > 0 {
            CaState::Disorder
        } else {
            CaState::Open
        };
        let mut opts = 0;
        if self.ts_ok {
            opts |= options::TIMESTAMPS;
        }
        if self.sack_ok {
            opts |= options::SACK;
        }
        if self.offered_wscale {
            opts |= options::WSCALE;
        }
        if self.ecn.is_ok() {
            opts |= options::ECN;
        }
        if self.ecn.seen() {
            opts |= options::ECN_SEEN;
        }
        let cwnd = (self.cc.cwnd() / mss).max(1);
        let ssthresh = self.cc.ssthresh();
        let snd_ssthresh = if ssthresh == u32::MAX {
            0x7fff_ffff
        } else {
            ssthresh / mss
        };
        let input = self.tso_input(u32::MAX, false);
        let (busy, rwnd, sndbuf) = self.chrono.stats(now);
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        TcpInfo {
            state: Some(self.state()),
            ca_state,
            retransmits: u8::try_from(self.retries).unwrap_or(u8::MAX),
            probes: u8::try_from(
                self.probes
                    .persist_probes()
                    .max(self.probes.keepalive_probes()),
            )
            .unwrap_or(u8::MAX),
            backoff: u8::try_from(
                self.retries
                    .saturating_add(self.zwnd_backoff)
                    .max(self.probes.persist_backoff()),
            )
            .unwrap_or(u8::MAX),
            options: opts,
            snd_wscale: if self.offered_wscale {
                self.snd_wscale
            } else {
                0
            },
            rcv_wscale: if self.offered_wscale {
                self.rcv_wscale
            } else {
                0
            },
            delivery_rate_app_limited: !self.cwnd_limited(),
            rto: us32(self.current_rto()),
            ato: us32(self.ack.ato()),
            snd_mss: mss_cache,
            rcv_mss: self.ack.rcv_mss(),
            unacked,
            sacked,
            lost,
            retrans,
            fackets: 0,
            last_data_sent: ms_since(now, self.last_data_sent),
            last_ack_sent: 0,
            last_data_recv: ms_since(now, self.ack.last_data_recv()),
            last_ack_recv: ms_since(now, self.last_rcv),
            pmtu: self.reported_path_mtu(),
            rcv_ssthresh: self.rwnd.rcv_ssthresh(),
            rtt: self.rtt.srtt().map_or(0, us32),
            rttvar: us32(self.rtt.rttvar()),
            snd_ssthresh,
            snd_cwnd: cwnd,
            advmss: self.advmss(),
            reordering: self.loss.reordering(),
            rcv_rtt: self.rwnd.rcv_rtt().map_or(0, us32),
            rcv_space: self.rwnd.space(),
            total_retrans: to_u32(self.stats.get(|s| s.retransmits)),
            pacing_rate: self
                .cc
                .pacing_rate()
                .or_else(|| super::tso::pacing_rate(&input))
                .unwrap_or(u64::MAX),
            max_pacing_rate: u64::MAX,
            bytes_acked: self.stats.bytes_acked,
            bytes_received: self.stats.bytes_received,
            segs_out: self.stats.segs_out,
            segs_in: self.stats.segs_in,
            notsent_bytes: if data_end.gt(self.snd.max) {
                data_end.since(self.snd.max)
            } else {
                0
            },
            min_rtt: self.rtt.min_rtt().map_or(u32::MAX, us32),
            data_segs_in: self.stats.data_segs_in,
            data_segs_out: self.stats.data_segs_out,
            delivery_rate: self.loss.last_delivery_rate().map_or(0, |(r, _)| r),
            busy_time: busy,
            rwnd_limited: rwnd,
            sndbuf_limited: sndbuf,
            delivered: to_u32(self.stats.bytes_acked.div_ceil(u64::from(mss))),
            delivered_ce: 0,
            bytes_sent: self.stats.bytes_sent + self.stats.get(|s| s.bytes_retrans),
            bytes_retrans: self.stats.get(|s| s.bytes_retrans),
            dsack_dups: to_u32(self.stats.get(|s| s.dsacks_received)),
            reord_seen: self.loss.reord_seen(),
            rcv_ooopack: to_u32(self.stats.get(|s| s.ooo_segs_in)),
            snd_wnd: self.snd.wnd,
            rcv_wnd: self.rwnd.rcv_wnd(),
            rehash: 0,
            total_rto: u16::try_from(self.stats.get(|s| s.rtos)).unwrap_or(u16::MAX),
            total_rto_recoveries: u16::try_from(self.stats.get(|s| s.rto_recoveries))
                .unwrap_or(u16::MAX),
            total_rto_time: 0,
        }
    }
}

/// Microseconds, saturated to `u32` (as Linux's 32-bit fields).
pub(crate) fn us32(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Milliseconds from `then` to `now`, saturated.
pub(crate) fn ms_since(now: Instant, then: Instant) -> u32 {
    u32::try_from(now.saturating_duration_since(then).as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// tcp-info-rwnd-limited: busy from the write, window-limited until it opens 200 ms
    /// later; then busy alone.
    #[test]
    fn the_chrono_counts_busy_and_window_limited_time_in_jiffies() {
        let mut c = ChronoClock::default();
        c.start(t(0), Chrono::Busy);
        c.start(t(0), Chrono::RwndLimited);
        assert_eq!(c.stats(t(100)), (100_000, 100_000, 0));
        c.stop(t(200), Chrono::RwndLimited, false);
        c.stop(t(230), Chrono::Busy, true);
        assert_eq!(c.stats(t(1000)), (228_000, 200_000, 0));
    }
}
