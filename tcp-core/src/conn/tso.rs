//! How Linux groups outgoing segments into TSO/GSO packets, which decides where PSH
//! appears on the wire.
//!
//! Linux hands the device one packet of several segments at a time ("TSO unit"): in
//! `tcp_write_xmit` each unit is at most `min(tcp_cwnd_test, tcp_tso_autosize)` segments
//! (half the congestion window, what the window leaves, and about a millisecond at the
//! pacing rate) and never beyond the peer's window or the data queued. Every packet of
//! more than one segment carries PSH (`__tcp_transmit_skb`: "Force a PSH flag on all (GSO)
//! packets to expedite GRO flush at receiver"), and segmentation leaves it on the last
//! segment only (`tcp_gso_segment`). So a peer sees PSH on the last segment of each unit of
//! two or more segments, and on a single segment only when it ends an application write.
//! The core sends segments one by one; this module sizes the units so the same segments
//! carry PSH.

use crate::time::Duration;

/// `sk_gso_max_size` of a device without BIG TCP (`GSO_LEGACY_MAX_SIZE`).
const GSO_MAX_SIZE: u64 = 65_536;
/// `sk_pacing_shift`: a unit holds about 2^-10 s (1 ms) at the pacing rate.
const PACING_SHIFT: u32 = 10;
/// `sysctl_tcp_tso_rtt_log`: below 2^9 µs of minimum RTT units grow towards 64 KiB.
const TSO_RTT_LOG: u32 = 9;
/// `sysctl_tcp_pacing_ss_ratio` and `sysctl_tcp_pacing_ca_ratio` (percent).
const PACING_SS_RATIO: u64 = 200;
const PACING_CA_RATIO: u64 = 120;

/// What the sender knows when a unit starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnitInput {
    /// The sender MSS in bytes.
    pub(crate) mss: u32,
    /// Congestion window, in segments.
    pub(crate) cwnd: u32,
    /// Slow-start threshold, in segments.
    pub(crate) ssthresh: u32,
    /// Segments in flight (Linux's `tcp_packets_in_flight`).
    pub(crate) in_flight: u32,
    /// Segments sent and not yet acknowledged (`packets_out`).
    pub(crate) packets_out: u32,
    pub(crate) srtt: Option<Duration>,
    pub(crate) min_rtt: Option<Duration>,
    /// Segments the data queued and the peer's window allow now.
    pub(crate) sendable: u32,
    /// A retransmission (`__tcp_retransmit_skb`): the window's whole remainder, not half.
    pub(crate) retransmission: bool,
    /// `tcp_min_tso_segs`.
    pub(crate) min_tso_segs: u32,
    /// The controller's own pacing rate (BBR's `sk_pacing_rate`), which replaces Linux's
    /// default of `pacing_rate` below.
    pub(crate) cc_pacing_rate: Option<u64>,
}

/// `tcp_update_pacing_rate`: bytes per second, 200 % of cwnd per SRTT in slow start
/// (below half of ssthresh), 120 % after; unlimited before the first RTT sample.
pub(crate) fn pacing_rate(i: &UnitInput) -> Option<u64> {
    let srtt_us = u64::try_from(i.srtt?.as_micros()).ok()?.max(1);
    let ratio = if i.cwnd < i.ssthresh / 2 {
        PACING_SS_RATIO
    } else {
        PACING_CA_RATIO
    };
    let pkts = u64::from(i.cwnd.max(i.packets_out));
    Some(u64::from(i.mss) * pkts * ratio * 10_000 / srtt_us)
}

/// `tcp_tso_autosize`: the segments of about 1 ms at the pacing rate, plus up to 64 KiB on
/// paths whose minimum RTT is below 512 µs; at least 2.
fn autosize(i: &UnitInput) -> u32 {
    let rate = i.cc_pacing_rate.or_else(|| pacing_rate(i));
    let mut bytes = rate.map_or(GSO_MAX_SIZE, |r| r >> PACING_SHIFT);
    if let Some(min_rtt) = i.min_rtt {
        let r = u64::try_from(min_rtt.as_micros()).unwrap_or(u64::MAX) >> TSO_RTT_LOG;
        if r < 32 {
            bytes += GSO_MAX_SIZE >> r;
        }
    }
    let bytes = bytes.min(GSO_MAX_SIZE);
    let segs = (bytes / u64::from(i.mss.max(1))) as u32;
    segs.max(i.min_tso_segs)
}

/// `tcp_cwnd_test`: segments the congestion window lets out in one unit: what it leaves,
/// at most half of it (at least one), "to ensure at least 2 GSO packets in flight".
fn cwnd_quota(i: &UnitInput) -> u32 {
    if i.in_flight >= i.cwnd {
        return 0;
    }
    let left = i.cwnd - i.in_flight;
    if i.retransmission {
        left
    } else {
        (i.cwnd / 2).max(1).min(left)
    }
}

/// `min(tcp_cwnd_test, tcp_tso_segs)`: the segments one packet may take now, before the
/// window and the data queued (at least 1).
pub(crate) fn packet_segments(i: &UnitInput) -> u32 {
    cwnd_quota(i).min(autosize(i)).max(1)
}

/// The segments of the unit that starts now (at least 1).
pub(crate) fn unit_segments(i: &UnitInput) -> u32 {
    cwnd_quota(i).min(autosize(i)).min(i.sendable).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(cwnd: u32, in_flight: u32, srtt_ms: u64) -> UnitInput {
        UnitInput {
            mss: 1000,
            cwnd,
            ssthresh: u32::MAX,
            in_flight,
            packets_out: in_flight,
            srtt: Some(Duration::from_millis(srtt_ms)),
            min_rtt: Some(Duration::from_millis(srtt_ms)),
            sendable: 100,
            retransmission: false,
            min_tso_segs: 2,
            cc_pacing_rate: None,
        }
    }

    /// packetdrill's usual 100 ms RTT: 2 × 10 × 1000 B / 100 ms = 200 kB/s, 195 bytes per
    /// millisecond: the minimum of two segments per unit.
    #[test]
    fn a_slow_path_sends_units_of_two_segments() {
        assert_eq!(unit_segments(&input(10, 0, 100)), 2);
    }

    /// After a timeout (cwnd 2) half the window is one segment: no multi-segment unit.
    #[test]
    fn half_the_window_bounds_a_unit() {
        assert_eq!(unit_segments(&input(2, 0, 100)), 1);
        assert_eq!(unit_segments(&input(3, 1, 100)), 1);
        assert_eq!(unit_segments(&input(4, 2, 100)), 2);
    }

    /// Below 512 µs of minimum RTT units grow to 64 KiB, bounded by half the window.
    #[test]
    fn a_fast_path_sends_half_the_window_at_once() {
        let mut i = input(10, 0, 0);
        i.srtt = Some(Duration::from_micros(100));
        i.min_rtt = Some(Duration::from_micros(100));
        assert_eq!(unit_segments(&i), 5);
    }

    #[test]
    fn no_unit_beyond_what_may_be_sent() {
        let mut i = input(10, 0, 0);
        i.srtt = None;
        i.sendable = 3;
        assert_eq!(unit_segments(&i), 3);
    }
}
