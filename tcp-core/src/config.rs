//! Configuration with Linux-compatible defaults.
//!
//! Every number the state machine uses lives here with a doc comment naming its default
//! and where that default comes from.

use crate::time::Duration;

/// Which congestion controller new connections use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CongestionAlgorithm {
    /// NewReno: slow start and congestion avoidance (RFC 5681) with NewReno fast recovery
    /// (RFC 6582).
    NewReno,
    /// CUBIC (RFC 9438) with HyStart++ slow-start exit (RFC 9406), as Linux's default
    /// `tcp_cubic`.
    #[default]
    Cubic,
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
pub struct Config {
    /// The MSS we advertise and the largest payload we send (before option bytes): the link
    /// MTU minus IP and TCP headers. Default 1460 (MTU 1500, IPv4).
    pub mss: u16,
    /// Floor for the peer's advertised MSS, so a tiny MSS cannot make us send one byte per
    /// segment. Default 48, as Linux's `tcp_min_snd_mss`.
    pub min_mss: u16,
    /// Send buffer size in bytes (unacknowledged plus unsent data). Default 256 KiB.
    pub send_buffer: usize,
    /// Receive buffer size in bytes (in-order unread plus out-of-order data); the advertised
    /// window never exceeds it. Default 256 KiB.
    pub recv_buffer: usize,
    /// Offer window scaling (RFC 7323 §2). Default on.
    pub window_scaling: bool,
    /// Our window-scale shift. `None`: Linux's choice, 7, raised if the receive buffer
    /// needs more (RFC 7323 §2.3 caps it at 14).
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
    /// Delayed-ACK timeout (RFC 9293 §3.8.6.3: under 500 ms). Default 40 ms (`TCP_DELACK_MIN`).
    pub delayed_ack: Duration,
    /// Number of segments ACKed immediately at the start of a connection (Linux "quick ACK"
    /// mode, `TCP_MAX_QUICKACKS`). Default 16.
    pub quick_acks: u32,
    /// Time spent in TIME_WAIT, 2·MSL. Default 60 s (Linux `TCP_TIMEWAIT_LEN`).
    pub time_wait: Duration,
    /// How long an orphaned connection waits in FIN_WAIT_2 for the peer's FIN. Default 60 s
    /// (`tcp_fin_timeout`).
    pub fin_timeout: Duration,
    /// SYN retransmissions before `connect` fails (`tcp_syn_retries`). Default 6.
    pub syn_retries: u32,
    /// SYN-ACK retransmissions before a half-open connection is dropped
    /// (`tcp_synack_retries`). Default 5.
    pub synack_retries: u32,
    /// Data retransmissions before the connection fails (`tcp_retries2`). Default 15.
    pub retries2: u32,
    /// FIN retransmissions of an orphaned (closed by the application) connection before it is
    /// dropped (`tcp_orphan_retries`; Linux's 0 means 8). Default 8.
    pub orphan_retries: u32,
    /// Keepalive parameters; `None` (the default) disables keepalive.
    pub keepalive: Option<Keepalive>,
    /// RFC 5482 user timeout: the longest time transmitted data may stay unacknowledged
    /// before the connection fails. `None` (default): only `retries2` applies.
    pub user_timeout: Option<Duration>,
    /// Disable Nagle's algorithm (`TCP_NODELAY`). Default off (Nagle on).
    pub nodelay: bool,
    /// Challenge ACKs (RFC 5961 §7) allowed per connection per second. Default 1000.
    pub challenge_ack_limit: u32,
    /// Out-of-order segments kept for reassembly; beyond this, new out-of-order data is
    /// dropped and counted. Default 1024.
    pub max_ooo_segments: usize,
    /// Tail loss probes (RFC 8985 §7; Linux `tcp_early_retrans` 3, the default): with SACK,
    /// a probe at 2·SRTT recovers a lost tail without waiting for the RTO. Default on.
    pub tail_loss_probe: bool,
    /// F-RTO (RFC 5682 §3.1, SACK-enhanced; Linux `tcp_frto` 2, the default): after a
    /// retransmission timeout, send new data instead of more retransmissions while ACKs
    /// suggest the originals were only delayed, and undo the congestion response when the
    /// timeout proves spurious. Detects spurious timeouts without timestamps. Default on.
    pub frto: bool,
    /// Congestion controller. Default CUBIC (RFC 9438), as Linux.
    pub congestion: CongestionAlgorithm,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            min_mss: 48,
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            window_scaling: true,
            window_scale: None,
            timestamps: true,
            sack: true,
            initial_window: 10,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            delayed_ack: Duration::from_millis(40),
            quick_acks: 16,
            time_wait: Duration::from_secs(60),
            fin_timeout: Duration::from_secs(60),
            syn_retries: 6,
            synack_retries: 5,
            retries2: 15,
            orphan_retries: 8,
            keepalive: None,
            user_timeout: None,
            nodelay: false,
            challenge_ack_limit: 1000,
            max_ooo_segments: 1024,
            tail_loss_probe: true,
            frto: true,
            congestion: CongestionAlgorithm::Cubic,
        }
    }
}

impl Config {
    /// The window-scale shift we offer: the configured one, or Linux's 7 raised until the
    /// receive buffer fits in 16 bits; at most 14 (RFC 7323 §2.3).
    pub fn our_window_scale(&self) -> u8 {
        let mut shift = self.window_scale.unwrap_or(7).min(14);
        while shift < 14 && (self.recv_buffer >> shift) > 0xffff {
            shift += 1;
        }
        shift
    }
}
