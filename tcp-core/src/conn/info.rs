//! TCP_INFO-like connection information and counters.

use super::State;
use crate::time::Duration;

/// Counters of what a connection did and what it dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Segments handed to `handle_segment`, modulo 2³² (as Linux's `tcpi_segs_in`).
    pub segs_in: u64,
    /// Segments emitted by `poll_transmit`, modulo 2³² (as Linux's `tcpi_segs_out`).
    pub segs_out: u64,
    /// Payload bytes sent for the first time.
    pub bytes_sent: u64,
    /// Payload bytes retransmitted.
    pub bytes_retrans: u64,
    /// Sequence space acknowledged by the peer: data, plus our SYN on an active open and
    /// our FIN (Linux's `tcpi_bytes_acked`).
    pub bytes_acked: u64,
    /// In-order payload bytes received.
    pub bytes_received: u64,
    /// Segments retransmitted (any reason).
    pub retransmits: u64,
    /// Fast retransmits (three duplicate ACKs or a partial ACK).
    pub fast_retransmits: u64,
    /// Retransmission-timer expiries.
    pub rtos: u64,
    /// Duplicate payload bytes received.
    pub dup_bytes: u64,
    /// Out-of-order bytes dropped because the reassembly limit was reached.
    pub ooo_dropped: u64,
    /// Segments outside the receive window (answered with an ACK, RFC 9293 §3.10.7.4).
    pub out_of_window: u64,
    /// Segments dropped by PAWS (RFC 7323 §5).
    pub paws_dropped: u64,
    /// ACKs for data never sent, answered and dropped (RFC 5961 §5.2).
    pub ack_too_new: u64,
    /// ACKs older than the window, ignored (RFC 5961 §5.2).
    pub ack_too_old: u64,
    /// Challenge ACKs sent (RFC 5961 §3.2, §4.2).
    pub challenge_acks: u64,
    /// Challenge ACKs suppressed by the rate limit (RFC 5961 §7).
    pub challenge_acks_limited: u64,
    /// ACKs answering invalid segments (out of window, PAWS) or challenge ACKs that the
    /// per-connection limit held back (Linux's `TCPACKSkipped*`, RFC 5961 §7).
    pub oow_acks_limited: u64,
    /// In-order data refused because the receive window was zero.
    pub zero_window_drops: u64,
    /// In-order data refused because the receive buffer's memory was exhausted.
    pub rcvq_drops: u64,
    /// Out-of-order bytes discarded to make room for in-order data or by
    /// [`Connection::purge_out_of_order`](super::Connection::purge_out_of_order) (Linux's
    /// `TCPOFOPrune`; SACK reneging, RFC 2018 §8).
    pub ofo_pruned: u64,
    /// Retransmission timeouts that found the peer had reneged on data it SACKed, so the
    /// SACK information was discarded (RFC 2018 §8; Linux's `TCPSACKReneging`).
    pub sack_renegings: u64,
    /// Segments received with data, modulo 2³² (`tcpi_data_segs_in`).
    pub data_segs_in: u64,
    /// Segments sent with data, retransmissions included, modulo 2³²
    /// (`tcpi_data_segs_out`).
    pub data_segs_out: u64,
    /// Out-of-order segments received (`tcpi_rcv_ooopack`).
    pub ooo_segs_in: u64,
    /// Retransmission timeouts after which the connection recovered (acknowledged all
    /// data outstanding at the timeout; `tcpi_total_rto_recoveries`).
    pub rto_recoveries: u64,
    /// Segments without ACK in synchronized states, dropped (RFC 9293 §3.10.7.4).
    pub no_ack_dropped: u64,
    /// Resets sent.
    pub resets_sent: u64,
    /// Resets received and accepted.
    pub resets_received: u64,
    /// Control segments dropped because the queue was full.
    pub ctl_dropped: u64,
    /// Zero-window probes sent.
    pub window_probes: u64,
    /// Keepalive probes sent.
    pub keepalive_probes: u64,
    /// D-SACK blocks received and accepted as such (RFC 2883; Linux's `TCPDSACKRecv` and
    /// `TCPDSACKOfoRecv` less `TCPDSACKIgnoredDubious`).
    pub dsacks_received: u64,
    /// ICMP and ICMPv6 errors about this connection's segments.
    pub icmp_received: u64,
    /// Of them, quoting a sequence number outside the data in flight: dropped (RFC 5927
    /// §4.1).
    pub icmp_out_of_window: u64,
    /// Of them, errors that aborted an opening connection.
    pub icmp_hard_errors: u64,
    /// Of them, errors remembered as the cause of a later timeout.
    pub icmp_soft_errors: u64,
    /// Of them, packet too big / fragmentation needed.
    pub icmp_too_big: u64,
    /// Times the path MTU was lowered (RFC 1191, RFC 8201).
    pub pmtu_reductions: u64,
    /// Times segments in flight were resent at a lowered path MTU (Linux's
    /// `tcp_simple_retransmit`).
    pub pmtu_retransmits: u64,
    /// Retransmission backoff steps undone by ICMP unreachables (RFC 6069).
    pub rto_reverts: u64,
    /// MTU probes sent (RFC 4821 §7.3).
    pub mtu_probes: u64,
    /// MTU probes lost.
    pub mtu_probes_failed: u64,
    /// Times black-hole detection lowered the MSS (RFC 4821 §7.4, `Config::mtu_probing`).
    pub black_hole_reductions: u64,
    /// Segments that arrived with a congestion mark (CE, RFC 3168).
    pub ce_received: u64,
    /// ACKs with ECE on a connection that negotiated ECN (Linux's `TCPECNEchoRecv`-like).
    pub ece_received: u64,
    /// Window reductions made for ECE (RFC 3168 §6.1.2; Linux's entries into CWR).
    pub ecn_reductions: u64,
    /// D-SACK-shaped first blocks not believed (Linux's `TCPDSACKIgnoredDubious`, from
    /// `tcp_dsack_seen`): empty, longer than the largest window, or more duplicates
    /// reported than segments were ever retransmitted. They are then read as plain SACK
    /// blocks.
    pub dsacks_dubious: u64,
    /// SACK blocks ignored as invalid (Linux's `tcp_is_sackblock_valid`; `TCPSACKDiscard`,
    /// `TCPDSACKIgnoredOld`, `TCPDSACKIgnoredNoUndo`): beyond SND.NXT, inverted or empty,
    /// not above SND.UNA (a D-SACK excepted), or refused because the scoreboard's interval
    /// cap was reached. They count neither as SACK information nor as loss evidence.
    pub sack_blocks_ignored: u64,
    /// D-SACK blocks sent for duplicate segments (RFC 2883).
    pub dsacks_sent: u64,
    /// Congestion responses undone as spurious (RFC 3708 / RFC 3522).
    pub undos: u64,
    /// Retransmission timeouts detected as spurious by F-RTO (RFC 5682; also counted in
    /// `undos`), as Linux's `TCPSpuriousRTOs`.
    pub frto_spurious: u64,
    /// Tail loss probes sent (RFC 8985 §7).
    pub tlp_probes: u64,
    /// Losses repaired by a tail loss probe (RFC 8985 §7.4).
    pub tlp_recoveries: u64,
}

/// The counters a connection holds (RFC 4898's spirit, Linux's `tcp_info`). Those every
/// connection moves with every segment live inline; the rest (retransmissions, drops,
/// ICMP, ECN, recovery) count events most connections never see, so they live in a box
/// allocated at their first count: an idle connection carries 64 bytes of counters, not
/// the 432 of a full [`ConnStats`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    /// The segment counts wrap at 2³², as `tcp_sock`'s `segs_in` and the others do.
    pub(crate) segs_in: u32,
    pub(crate) segs_out: u32,
    pub(crate) data_segs_in: u32,
    pub(crate) data_segs_out: u32,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_acked: u64,
    pub(crate) bytes_received: u64,
    /// Every other counter (the fields above stay zero in it).
    rare: Option<alloc::boxed::Box<ConnStats>>,
}

impl Counters {
    /// The rarely moved counters, allocated at first use.
    pub(crate) fn rare(&mut self) -> &mut ConnStats {
        self.rare.get_or_insert_with(Default::default)
    }

    /// Adds `n` to a rarely moved counter; adding zero allocates nothing.
    pub(crate) fn add(&mut self, n: u64, f: impl FnOnce(&mut ConnStats) -> &mut u64) {
        if n > 0 {
            *f(self.rare()) += n;
        }
    }

    /// One rarely moved counter (zero while none has moved).
    pub(crate) fn get(&self, f: impl FnOnce(&ConnStats) -> u64) -> u64 {
        self.rare.as_deref().map_or(0, f)
    }

    /// Heap bytes held (the box of rare counters, once allocated).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rare
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<ConnStats>())
    }

    /// All counters, as [`ConnStats`].
    pub(crate) fn snapshot(&self) -> ConnStats {
        let mut s = self.rare.as_deref().copied().unwrap_or_default();
        s.segs_in = self.segs_in.into();
        s.segs_out = self.segs_out.into();
        s.data_segs_in = self.data_segs_in.into();
        s.data_segs_out = self.data_segs_out.into();
        s.bytes_sent = self.bytes_sent;
        s.bytes_acked = self.bytes_acked;
        s.bytes_received = self.bytes_received;
        s
    }
}

/// A snapshot of a connection, in the spirit of Linux's `struct tcp_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Connection state.
    pub state: State,
    /// Smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// RTT variation.
    pub rttvar: Duration,
    /// Current retransmission timeout, including backoff.
    pub rto: Duration,
    /// MSS we send with (before option bytes): the peer's, bounded by the path MTU.
    pub snd_mss: u32,
    /// The path MTU reported by ICMP, the endpoint's cache or the adapter (RFC 1191,
    /// RFC 8201), if any.
    pub path_mtu: Option<u32>,
    /// Largest segment received (estimate of the peer's MSS).
    pub rcv_mss: u32,
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow-start threshold, bytes.
    pub ssthresh: u32,
    /// Congestion window in full-sized segments (Linux's `tcpi_snd_cwnd`).
    pub cwnd_segments: u32,
    /// Bytes sent and not yet acknowledged or deemed lost.
    pub bytes_in_flight: u32,
    /// Bytes sent and not yet acknowledged.
    pub unacked_bytes: u32,
    /// Consecutive retransmission timeouts without progress.
    pub retransmits: u32,
    /// Unanswered zero-window or keepalive probes.
    pub probes: u32,
    /// Backoff exponent of the retransmission or persist timer.
    pub backoff: u32,
    /// Peer's receive window (scaled), bytes.
    pub snd_wnd: u32,
    /// Window we advertise, bytes.
    pub rcv_wnd: u32,
    /// Peer's window-scale shift.
    pub snd_wscale: u8,
    /// Our window-scale shift.
    pub rcv_wscale: u8,
    /// Window scaling negotiated (RFC 7323 §2.2: both SYNs carried the option), whatever
    /// the shifts.
    pub window_scaling: bool,
    /// SACK negotiated.
    pub sack: bool,
    /// Timestamps negotiated.
    pub timestamps: bool,
    /// ECN negotiated (RFC 3168 §6.1.1).
    pub ecn: bool,
    /// A segment arrived ECN-capable or congestion-marked (Linux's `TCPI_OPT_ECN_SEEN`):
    /// the path carries the ECN field.
    pub ecn_seen: bool,
    /// In fast recovery.
    pub ca_state_recovery: bool,
    /// Congestion controller name.
    pub congestion_control: &'static str,
    /// Bytes in the send buffer.
    pub send_buffered: usize,
    /// In-order bytes waiting to be read.
    pub recv_buffered: usize,
    /// Out-of-order bytes held.
    pub ooo_bytes: usize,
    /// The delayed-ACK timeout now (Linux's `tcpi_ato`).
    pub ato: Duration,
    /// When the last data segment arrived (Linux's `tcpi_last_data_recv` counts from it).
    pub last_data_recv: crate::time::Instant,
    /// Quick-ACK mode is on, i.e. not ping-pong (`TCP_QUICKACK` as getsockopt reports it).
    pub quickack: bool,
    /// The window offered while the sender is being learned (`tcpi_rcv_ssthresh`).
    pub rcv_ssthresh: u32,
    /// Receive-buffer auto-tuning's estimate of one RTT of reading (`tcpi_rcv_space`).
    pub rcv_space: u32,
    /// The largest window we will offer (`TCP_WINDOW_CLAMP`).
    pub window_clamp: u32,
    /// Receive memory now, in Linux's accounting (`SO_RCVBUF` as getsockopt reports it).
    pub rcvbuf: u32,
    /// The receiver's RTT estimate (`tcpi_rcv_rtt`).
    pub rcv_rtt: Option<Duration>,
    /// The smallest RTT measured (`tcpi_min_rtt`).
    pub min_rtt: Option<Duration>,
    /// The last delivery-rate sample in bytes per second (`tcpi_delivery_rate`;
    /// draft-cheng-iccrg-delivery-rate-estimation), SACK connections only.
    pub delivery_rate: Option<u64>,
    /// The controller's pacing rate in bytes per second (`tcpi_pacing_rate` of a pacing
    /// controller such as BBR); `None` when sending is ACK-clocked.
    pub pacing_rate: Option<u64>,
    /// Counters.
    pub stats: ConnStats,
}
