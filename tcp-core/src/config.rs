//! Configuration with Linux-compatible defaults.
//!
//! Every number the state machine uses lives here with a doc comment naming its default
//! and where that default comes from.

pub use crate::conn::ack::AckPolicy;
pub use crate::recovery::PrrVariant;
use crate::time::Duration;
pub use crate::wire::OptionLayout;

/// How the receive window we offer is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecvWindowPolicy {
    /// Linux's (`tcp_select_window` and friends, see `conn/rwnd.rs`): the buffer is counted
    /// in memory, the window is about half of it, rounded to whole segments in the SYN,
    /// grown segment by segment (`rcv_ssthresh`) and auto-tuned.
    #[default]
    Linux,
    /// FreeBSD's (`tcp_output`, `tcp_mss`, `syncache_add`; see `conn/rwnd_bsd.rs`): the
    /// buffer is counted in payload bytes (`sb_hiwat`, rounded up to a whole number of
    /// segments once the peer's MSS is known); the window is its free space
    /// (`sbspace`), 65535 at most in a SYN or SYN-ACK, zero when less than a quarter of the
    /// buffer and less than a segment is free, never moving its right edge left; and the
    /// window checked on arrival is that free space or what was advertised, whichever is
    /// larger.
    Bsd,
}

/// Which stack's answers the connection gives to segments where RFC 9293 leaves room and
/// Linux and FreeBSD differ. Each difference is listed here; the RFC 5961 checks, SYN+FIN
/// and missing timestamps have switches of their own in [`Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SegmentRules {
    /// Linux's `tcp_validate_incoming`, `tcp_rcv_state_process` and
    /// `tcp_timewait_state_process`.
    #[default]
    Linux,
    /// FreeBSD's `tcp_do_segment`, `tcp_twcheck`, `syncache_chkrst`, `tcp_input` and
    /// `tcp_output` (sys/netinet; see `conn/input_bsd.rs`):
    ///
    /// - A RST is checked before PAWS and the sequence test, against the last ACK sent and
    ///   a window of at least the buffer's free space; a SYN in a synchronized state draws
    ///   a challenge ACK before PAWS too. Challenge ACKs go at SND.NXT and never carry our
    ///   FIN (`tcp_respond`).
    /// - Data beyond the window is trimmed and the rest taken; a segment wholly outside it
    ///   is answered with an ACK (a zero-window probe at RCV.NXT too).
    /// - SACK blocks follow FreeBSD's receiver list (`tcp_update_sack_list`,
    ///   `tcp_update_dsack_list`): a duplicate part of a segment is reported as a D-SACK
    ///   block before the block the segment extends.
    /// - While our FIN is unacknowledged, every ACK we send repeats it (`tcp_output` keeps
    ///   `TH_FIN` in FIN_WAIT_1, CLOSING and LAST_ACK). PSH marks only the segment that
    ///   empties the send buffer (no TSO units).
    /// - TIME_WAIT while the application still holds the socket (`tcp_twcheck`): RSTs and
    ///   segments without ACK are dropped, a SYN (without ACK) above RCV.NXT ends TIME_WAIT
    ///   and goes to a listener, anything but a bare ACK at RCV.NXT for SND.NXT is answered
    ///   with an ACK, a retransmitted FIN restarts the 2·MSL timer. (The endpoint's compact
    ///   record of a closed socket's TIME_WAIT keeps its own rules.)
    /// - A RST in CLOSING or LAST_ACK reports a reset to the application (`ECONNRESET`).
    /// - A listener drops a SYN-ACK unanswered; a half-open connection of a listener
    ///   answers an inexact RST inside its window with a challenge ACK
    ///   (`syncache_chkrst`).
    /// - In SYN-SENT an unacceptable ACK draws a RST but does not hurry the SYN's
    ///   retransmission; data on a SYN crossing ours (simultaneous open) is delivered once
    ///   the handshake completes, a FIN on it is not.
    Bsd,
}

/// Which congestion controller new connections use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CongestionAlgorithm {
    /// NewReno: slow start and congestion avoidance (RFC 5681) with NewReno fast recovery
    /// (RFC 6582).
    NewReno,
    /// CUBIC as Linux's `tcp_cubic` computes it: the window in packets, Linux's fixed
    /// point, β = 717/1024, the original HyStart. The default: a peer sees Linux's
    /// numbers.
    #[default]
    Cubic,
    /// CUBIC by the letter of RFC 9438 (arithmetic in bytes, β = 0.7) with HyStart++
    /// (RFC 9406).
    CubicRfc9438,
    /// BBR version 3 (draft-ietf-ccwg-bbr-01, with draft-06's fast-recovery and
    /// loss-round rules; checked against Linux's `tcp_bbr.c`): a
    /// model of the path's bandwidth and round-trip time from delivery-rate samples,
    /// paced sending. Needs SACK (the rate samples come from the SACK scoreboard): a
    /// connection whose peer does not agree to SACK uses [`CongestionAlgorithm::Cubic`].
    Bbr,
}

/// Whether connections use Explicit Congestion Notification (RFC 3168), as Linux's
/// `net.ipv4.tcp_ecn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EcnMode {
    /// Never (`tcp_ecn` = 0): a SYN asking for ECN is answered without it.
    Off,
    /// Ask for ECN in our SYNs and accept it when asked (`tcp_ecn` = 1).
    On,
    /// Accept ECN when the peer's SYN asks for it, never ask (`tcp_ecn` = 2, Linux's
    /// default).
    #[default]
    Passive,
}

/// Packetization-layer path MTU discovery (RFC 4821), Linux's `net.ipv4.tcp_mtu_probing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MtuProbing {
    /// Never (`tcp_mtu_probing` = 0, Linux's default): a path that silently drops large
    /// packets (an ICMP black hole) stalls the connection until it times out.
    #[default]
    Off,
    /// Black-hole detection (`tcp_mtu_probing` = 1): once the retransmissions of a flight
    /// have gone unanswered for the time `retries1` of them take (3 s with Linux's
    /// defaults), the MSS falls to `base_mss`, and is halved at each later timeout, down
    /// to `mtu_probe_floor` (Linux's `tcp_mtu_probing` in `tcp_timer.c`); from then on the
    /// connection probes upwards (RFC 4821 §7.3).
    BlackHole,
    /// Probing from the start (`tcp_mtu_probing` = 2): the connection probes upwards from
    /// `base_mss` as soon as it has the window and the data for it.
    Always,
}

/// How retry limits (`syn_retries`, `retries2`, `orphan_retries`) end a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RetryBudget {
    /// Linux's: the limit is turned into time, the time that many exponentially backed-off
    /// retransmissions would take from the base RTO (200 ms for data, the initial RTO for
    /// SYNs), counted from the first retransmission; the connection gives up at the first
    /// RTO expiry once it is spent (`tcp_write_timeout`). With RTOs near 200 ms this is the
    /// count; with longer RTOs fewer retransmissions fit.
    #[default]
    Time,
    /// The classic rule (BSD, RFC 1122 §4.2.3.5 R2): give up when the retransmission timer
    /// expires after the limit's last retransmission.
    Count,
}

/// Keepalive parameters (RFC 9293 §3.8.4; Linux `tcp_keepalive_*` sysctls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe. Linux: 2 h.
    pub idle: Duration,
    /// Time between unanswered probes (at least 1 ms is used). Linux: 75 s.
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped. Linux: 9.
    pub count: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            count: 9,
        }
    }
}

/// Per-connection and endpoint-wide parameters. `Config::default()` behaves like Linux.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The MSS we advertise and the largest payload we send (before option bytes): the link
    /// MTU minus IP and TCP headers. Default 1460 (MTU 1500, IPv4).
    pub mss: u16,
    /// Floor for the peer's advertised MSS, so a tiny MSS cannot make us send one byte per
    /// segment. Default 48, as Linux's `tcp_min_snd_mss`.
    pub min_mss: u16,
    /// Send buffer size in bytes (unacknowledged plus unsent data). Default 256 KiB.
    pub send_buffer: usize,
    /// Receive memory in bytes at the start of a connection, in Linux's accounting
    /// (`tcp_rmem[1]`, `sk_rcvbuf`): each received segment costs its payload plus buffer
    /// overhead, so the window offered is about half of it. Default 131072, Linux's.
    pub recv_buffer: usize,
    /// The most receive memory auto-tuning (dynamic right-sizing, Linux's
    /// `tcp_rcv_space_adjust`) may grow a connection's buffer to, while the application
    /// reads as fast as data arrives; it also sizes the window scale. Linux's `tcp_rmem[2]`:
    /// default 32 MiB, as on the reference machine (Linux sizes it from the RAM).
    pub recv_buffer_max: usize,
    /// The receive buffer was fixed by the application (Linux's `SO_RCVBUF`): no
    /// auto-tuning, and the window scale fits this buffer. Default off.
    pub recv_buffer_fixed: bool,
    /// Offer window scaling (RFC 7323 §2). Default on.
    pub window_scaling: bool,
    /// Our window-scale shift. `None` (default): Linux's choice, the smallest shift that
    /// fits the largest buffer auto-tuning may reach (10 with the default 32 MiB; RFC 7323
    /// §2.3 caps it at 14).
    pub window_scale: Option<u8>,
    /// Offer timestamps (RFC 7323 §3). Default on.
    pub timestamps: bool,
    /// Offer SACK (RFC 2018). Default on.
    pub sack: bool,
    /// Initial congestion window in segments (RFC 6928). Default 10.
    pub initial_window: u32,
    /// Initial retransmission timeout (RFC 6298 §2.1). Default 1 s.
    pub initial_rto: Duration,
    /// Lower bound of the RTO, also used as the variance floor as Linux does
    /// (`tcp_rto_min`). Default 200 ms.
    pub min_rto: Duration,
    /// Upper bound of the RTO (RFC 6298 §2.5). Default 120 s (`TCP_RTO_MAX`).
    pub max_rto: Duration,
    /// When received data is acknowledged: Linux's delayed-ACK engine (default; quick ACKs
    /// at the start, 40-200 ms adaptive delay, ping-pong mode), or an ACK for every segment.
    pub ack_policy: AckPolicy,
    /// Time spent in TIME_WAIT, 2·MSL. Default 60 s (Linux `TCP_TIMEWAIT_LEN`).
    pub time_wait: Duration,
    /// How long an orphaned connection waits in FIN_WAIT_2 for the peer's FIN. Default 60 s
    /// (`tcp_fin_timeout`).
    pub fin_timeout: Duration,
    /// SYN retransmissions before `connect` fails (`tcp_syn_retries`), on top of the
    /// linear ones below. Default 6.
    pub syn_retries: u32,
    /// The first SYN retransmissions that keep the initial RTO instead of doubling it
    /// (Linux ≥ 6.5's `tcp_syn_linear_timeouts`): they add to `syn_retries`, so with the
    /// defaults SYNs go at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35 and 67 s and `connect` fails
    /// at 131 s. Default 4.
    pub syn_linear_timeouts: u32,
    /// SYN-ACK retransmissions before a half-open connection is dropped
    /// (`tcp_synack_retries`). Default 5.
    pub synack_retries: u32,
    /// Data retransmissions before the connection fails (`tcp_retries2`). Default 15.
    pub retries2: u32,
    /// FIN retransmissions of an orphaned (closed by the application) connection before it is
    /// dropped (`tcp_orphan_retries`; Linux's 0 means 8). Default 8.
    pub orphan_retries: u32,
    /// Whether the retry limits above count retransmissions or stand for a time budget.
    /// Default: time, as Linux.
    pub retry_budget: RetryBudget,
    /// Keepalive parameters; `None` (the default) disables keepalive.
    pub keepalive: Option<Keepalive>,
    /// RFC 5482 user timeout: the longest time transmitted data may stay unacknowledged
    /// before the connection fails. `None` (default): only `retries2` applies.
    pub user_timeout: Option<Duration>,
    /// Disable Nagle's algorithm (`TCP_NODELAY`). Default off (Nagle on).
    pub nodelay: bool,
    /// The least time between two ACKs sent in answer to invalid segments (out of the
    /// window, failing PAWS, bad SYNs) and challenge ACKs (RFC 5961 §7), per connection, so
    /// a flood of them draws few answers and two endpoints cannot ping-pong ACKs. Linux's
    /// `tcp_invalid_ratelimit`: default 500 ms. Zero disables the limit.
    pub invalid_ratelimit: Duration,
    /// Out-of-order segments kept for reassembly; beyond this, new out-of-order data is
    /// dropped and counted. Default 1024.
    pub max_ooo_segments: usize,
    /// Tail loss probes (RFC 8985 §7; Linux `tcp_early_retrans` 3, the default): with SACK,
    /// a probe at 2·SRTT recovers a lost tail without waiting for the RTO. Default on.
    pub tail_loss_probe: bool,
    /// Explicit Congestion Notification (RFC 3168): negotiated in the handshake, new data
    /// sent as ECT(0), congestion marks echoed and answered as a loss would be, once per
    /// window. Default [`EcnMode::Passive`], Linux's.
    pub ecn: EcnMode,
    /// Under FreeBSD's rules (`SegmentRules::Bsd`): an ICMP port, protocol or
    /// administratively-prohibited unreachable or a time exceeded aborts a connection in
    /// SYN-SENT (FreeBSD's `net.inet.tcp.icmp_may_rst`, default on). Linux aborts an
    /// opening connection on every ICMP error and ignores this.
    pub icmp_may_reset: bool,
    /// Black-hole detection (RFC 4821), Linux's `tcp_mtu_probing`. Default
    /// [`MtuProbing::Off`], Linux's.
    pub mtu_probing: MtuProbing,
    /// The MSS black-hole detection falls to first (Linux's `tcp_base_mss`). Default 1024.
    pub base_mss: u16,
    /// The least MSS black-hole detection falls to (Linux's `tcp_mtu_probe_floor`).
    /// Default 48.
    pub mtu_probe_floor: u16,
    /// Retransmission timeouts, in Linux's time model, after which a connection suspects
    /// a black hole (`tcp_retries1`). Default 3.
    pub retries1: u32,
    /// How long after a path MTU search ended it starts again (`tcp_probe_interval`).
    /// Default 600 s.
    pub mtu_probe_interval: Duration,
    /// The search ends when its range is narrower than this many bytes
    /// (`tcp_probe_threshold`). Default 8.
    pub mtu_probe_threshold: u16,
    /// In SACK recovery, also the retransmissions of RFC 6675 §4 `NextSeg()` rules 3 and 4
    /// when nothing deemed lost awaits retransmission and no new data may go: an unSACKed
    /// segment below the highest SACKed one, and once per recovery the highest outstanding
    /// segment (the rescue retransmission). Linux retransmits only segments marked lost
    /// (`tcp_xmit_retransmit_queue`), so the default is off; FreeBSD retransmits every
    /// hole and the rescue segment (`tcp_sack_output`).
    pub sack_unlost_retransmits: bool,
    /// How Proportional Rate Reduction sets the window in SACK recovery: Linux's
    /// `tcp_cwnd_reduction` (the default) or RFC 9937 to the letter.
    pub prr: PrrVariant,
    /// Restart the congestion window after the sender sat idle for more than an RTO
    /// (RFC 7661 §4's "non-validated" phase in its RFC 2861 form, Linux's
    /// `tcp_slow_start_after_idle`, on by default): cwnd halves per RTO of idleness,
    /// down to the initial window. Default on.
    pub slow_start_after_idle: bool,
    /// The fewest segments a TSO packet aims for (Linux's `tcp_min_tso_segs`), which
    /// decides where PSH lands in a burst. Default 2.
    pub min_tso_segs: u32,
    /// Linux's `TCP_NOTSENT_LOWAT` (`tcp_notsent_lowat`): writes stop taking data once this
    /// many bytes wait unsent, and the connection is writable again below half of it.
    /// Default `None` (no limit, Linux's `UINT_MAX`).
    pub notsent_lowat: Option<u32>,
    /// F-RTO (RFC 5682 §3.1, SACK-enhanced; Linux `tcp_frto` 2, the default): after a
    /// retransmission timeout, send new data instead of more retransmissions while ACKs
    /// suggest the originals were only delayed, and undo the congestion response when the
    /// timeout proves spurious. Detects spurious timeouts without timestamps. Default on.
    pub frto: bool,
    /// Congestion controller. Default CUBIC (RFC 9438), as Linux.
    pub congestion: CongestionAlgorithm,
    /// BBR's loss threshold (`BBRLossThresh`, draft-ietf-ccwg-bbr §2.7), in thousandths:
    /// the share of a flight lost at which a bandwidth probe counts as too high (and
    /// Startup may end). Default 20 (2 %, the draft's and Linux's constant); other values
    /// are an experiment, not a Linux setting. Random loss above the threshold pins
    /// BBRv3 to a small flight (see the BBR module's docs); a higher threshold tolerates
    /// more of it, and more congestive loss too.
    pub bbr_loss_thresh: u16,
    /// How options are laid out on the wire. Default Linux's; FreeBSD's sends its SYN as
    /// `mss,nop,wscale,sackOK,TS`.
    pub option_layout: OptionLayout,
    /// How the receive window is computed. Default Linux's.
    pub recv_window: RecvWindowPolicy,
    /// Linux's or FreeBSD's answers where the two stacks differ on arrival. Default Linux's.
    pub segment_rules: SegmentRules,
    /// RFC 5961 §3.2: an in-window RST not exactly at RCV.NXT draws a challenge ACK instead
    /// of resetting the connection (off: it resets, RFC 793). Applies to connections, and
    /// with FreeBSD's segment rules to a listener's half-open entries too. Default on
    /// (Linux always; FreeBSD unless `net.inet.tcp.insecure_rst`).
    pub rst_challenge: bool,
    /// RFC 5961 §4.2: a SYN in a synchronized state draws a challenge ACK. Off: an in-window
    /// SYN resets the connection (RFC 793; FreeBSD's `net.inet.tcp.insecure_syn`). Default
    /// on.
    pub syn_challenge: bool,
    /// Drop every segment with both SYN and FIN, unanswered (FreeBSD's
    /// `net.inet.tcp.drop_synfin`). Default off: SYN+FIN is a SYN whose FIN is processed
    /// after it.
    pub drop_synfin: bool,
    /// Once timestamps are in use, silently drop a segment without one, unless it is a RST
    /// (RFC 7323 §3.2's MUST; FreeBSD's `net.inet.tcp.tolerate_missing_ts = 0`). Default
    /// off: it is processed, as Linux does.
    pub require_timestamps: bool,
    /// Send no options at all: no MSS, window scale, SACK-permitted or timestamps in our
    /// SYN or SYN-ACK, and ignore the peer's (FreeBSD's `TCP_NOOPT`). Default off.
    pub no_options: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            min_mss: 48,
            send_buffer: 256 * 1024,
            recv_buffer: 131_072,
            recv_buffer_max: 32 << 20,
            recv_buffer_fixed: false,
            window_scaling: true,
            window_scale: None,
            timestamps: true,
            sack: true,
            initial_window: 10,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            ack_policy: AckPolicy::Linux,
            time_wait: Duration::from_secs(60),
            fin_timeout: Duration::from_secs(60),
            syn_retries: 6,
            syn_linear_timeouts: 4,
            synack_retries: 5,
            retries2: 15,
            orphan_retries: 8,
            retry_budget: RetryBudget::Time,
            keepalive: None,
            user_timeout: None,
            nodelay: false,
            invalid_ratelimit: Duration::from_millis(500),
            max_ooo_segments: 1024,
            tail_loss_probe: true,
            ecn: EcnMode::Passive,
            icmp_may_reset: true,
            mtu_probing: MtuProbing::Off,
            base_mss: 1024,
            mtu_probe_floor: 48,
            retries1: 3,
            mtu_probe_interval: Duration::from_secs(600),
            mtu_probe_threshold: 8,
            sack_unlost_retransmits: false,
            prr: PrrVariant::Linux,
            slow_start_after_idle: true,
            min_tso_segs: 2,
            notsent_lowat: None,
            frto: true,
            congestion: CongestionAlgorithm::Cubic,
            bbr_loss_thresh: 20,
            option_layout: OptionLayout::Linux,
            recv_window: RecvWindowPolicy::Linux,
            segment_rules: SegmentRules::Linux,
            rst_challenge: true,
            syn_challenge: true,
            drop_synfin: false,
            require_timestamps: false,
            no_options: false,
        }
    }
}

impl Config {
    /// The window-scale shift our SYN and SYN-ACK offer (RFC 7323 §2.3): `window_scale` if
    /// set, otherwise Linux's choice, the smallest shift that fits the largest buffer
    /// auto-tuning may reach (10 for the default 32 MiB; 0 for a small fixed buffer).
    pub fn offered_window_scale(&self) -> u8 {
        crate::conn::rwnd::RecvWindow::with_policy(
            self.recv_window,
            self.recv_buffer,
            self.recv_buffer_max,
            self.recv_buffer_fixed,
            crate::time::Instant::ZERO,
        )
        .offered_wscale(self.window_scale)
    }
}
