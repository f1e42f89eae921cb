//! One TCP connection (a TCB): the RFC 9293 state machine with its timers, flow control,
//! retransmission and the whole close lifecycle, under the sans-IO contract.
//!
//! Input is pushed (`handle_segment`, `handle_timeout`, application calls, each with
//! `now`); output is pulled (`poll_transmit` until `None`, `poll_timeout`, `poll_event`).
//! The connection knows ports, not addresses: the endpoint (or the embedder) frames the
//! [`Segment`]s it emits into IP packets.
//!
//! Split by concern: `phase` (the state and the data only it needs) with `transition`
//! (the one place the state changes, checked against RFC 9293's diagram), `input`
//! (segment arrival, RFC 9293 §3.10.7), `output` (building segments, §3.8.6, Nagle, SWS
//! avoidance), `timers` (RTO, persist, delayed ACK, keepalive, TIME_WAIT) with
//! `probe_timers` (the persist and keepalive state, allocated while they run),
//! `seq_space` (the send and receive sequence variables, RFC 9293 §3.3.1), `send_buf` /
//! `recv_buf` (the two halves' data), `rtt` (RFC 6298).

pub(crate) mod ack;
mod app;
mod data_queue;
mod ecn;
mod event_queue;
mod icmp;
mod info;
mod input;
mod input_bsd;
mod lazy_deque;
mod loss;
mod loss_slot;
pub mod memory;
mod mtu_probe;
mod output;
mod phase;
mod probe_timers;
use phase::{Opening, Phase};
pub mod pmtu;
pub(crate) mod recv_buf;
pub(crate) mod rtt;
pub(crate) mod rwnd;
mod rwnd_bsd;
mod sack_bsd;
pub(crate) mod send_buf;
mod send_memory;
mod seq_space;
mod sockopts;
mod tcp_info;
mod timers;
mod transition;
mod tso;
mod write_queue;

pub use info::{ConnStats, Info};
pub use tcp_info::{CaState, TcpInfo, options as tcpi_options};

use crate::config::Config;
use crate::error::ConnError;
use crate::event::Event;
use crate::recovery::{CongestionControl, Controller, Frto, new_controller};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant, secs32};
use crate::wire::{TcpFlags, TcpHeader};
use ack::AckState;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use bytes::Bytes;
use core::num::NonZeroU32;
use recv_buf::RecvBuffer;
use rtt::RttEstimator;
use rwnd::RecvWindow;
use send_buf::SendBuffer;
use seq_space::{RecvSeq, SendSeq};
use sockopts::SockOpts;

/// Connection states (RFC 9293 §3.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN (held by the endpoint's listener, not by a `Connection`).
    Listen,
    /// SYN sent, waiting for SYN-ACK.
    SynSent,
    /// SYN received and SYN-ACK sent, waiting for the final ACK.
    SynRcvd,
    /// Open: data flows both ways.
    Established,
    /// We sent FIN; waiting for its ACK (and maybe the peer's FIN).
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer sent FIN; we may still send.
    CloseWait,
    /// Both sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// The peer closed first, then we sent FIN; waiting for its ACK.
    LastAck,
    /// Both directions closed; waiting 2·MSL so old duplicates die out.
    TimeWait,
}

impl State {
    /// The state has exchanged SYNs both ways (RFC 9293 §3.5: "synchronized").
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynRcvd
        )
    }

    /// Linux's name for the state, as `ss` prints it and packetdrill's `tcpi_state` uses.
    pub fn linux_name(self) -> &'static str {
        match self {
            State::Closed => "TCP_CLOSE",
            State::Listen => "TCP_LISTEN",
            State::SynSent => "TCP_SYN_SENT",
            State::SynRcvd => "TCP_SYN_RECV",
            State::Established => "TCP_ESTABLISHED",
            State::FinWait1 => "TCP_FIN_WAIT1",
            State::FinWait2 => "TCP_FIN_WAIT2",
            State::CloseWait => "TCP_CLOSE_WAIT",
            State::Closing => "TCP_CLOSING",
            State::LastAck => "TCP_LAST_ACK",
            State::TimeWait => "TCP_TIME_WAIT",
        }
    }
}

/// A segment to transmit: header plus payload, which shares memory with the application's
/// data where it could.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The TCP header (checksum is computed when the segment is encoded).
    pub header: TcpHeader,
    /// The payload.
    pub payload: Bytes,
    /// The ECN codepoint for the IP header (RFC 3168 §6.1.2): ECT(0) on new data of a
    /// connection that negotiated ECN, not-ECT otherwise.
    pub ecn: crate::wire::IpEcn,
}

impl Segment {
    /// Sequence space the segment occupies: payload plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        seq_len(&self.header, self.payload.len())
    }
}

/// Sequence space of a segment (RFC 9293 §3.4: SEG.LEN counts SYN and FIN).
pub fn seq_len(h: &TcpHeader, payload_len: usize) -> u32 {
    let mut n = u32::try_from(payload_len).unwrap_or(u32::MAX);
    if h.flags.contains(TcpFlags::SYN) {
        n = n.saturating_add(1);
    }
    if h.flags.contains(TcpFlags::FIN) {
        n = n.saturating_add(1);
    }
    n
}

/// The reset to send in answer to `seg` when no connection exists for it
/// (RFC 9293 §3.10.7.1): `None` for an incoming RST; `<SEQ=SEG.ACK><CTL=RST>` if it carried
/// an ACK; otherwise `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`. Returns (seq, ack, flags).
pub fn reset_for(seg: &TcpHeader, payload_len: usize) -> Option<(SeqNum, SeqNum, TcpFlags)> {
    if seg.flags.contains(TcpFlags::RST) {
        return None;
    }
    if seg.flags.contains(TcpFlags::ACK) {
        Some((seg.ack, SeqNum::new(0), TcpFlags::RST))
    } else {
        Some((
            SeqNum::new(0),
            seg.seq + seq_len(seg, payload_len),
            TcpFlags::RST | TcpFlags::ACK,
        ))
    }
}

/// Why [`Connection::accept`] refused a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// The segment is not a bare SYN (RFC 9293 §3.10.7.2: ACK or RST set, or no SYN).
    #[error("not a connection request (SYN without ACK and RST)")]
    NotSyn,
}

/// Parameters of a handshake completed elsewhere (an endpoint's compact SYN queue or a SYN
/// cookie), from which an established connection is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// Our port.
    pub local_port: u16,
    /// The peer's port.
    pub remote_port: u16,
    /// Our initial sequence number.
    pub iss: SeqNum,
    /// The peer's initial sequence number.
    pub irs: SeqNum,
    /// The MSS the peer announced (None: the RFC 9293 §3.7.1 default of 536).
    pub peer_mss: Option<u16>,
    /// The peer's window-scale shift, if both sides agreed on window scaling.
    pub peer_wscale: Option<u8>,
    /// Both sides agreed on SACK.
    pub sack: bool,
    /// Both sides agreed on timestamps; the peer's last TSval.
    pub ts_recent: Option<u32>,
    /// Our timestamp offset.
    pub ts_offset: u32,
    /// The window field of the final ACK (scaled by `peer_wscale`).
    pub peer_window: u16,
}

/// Flags of one write, as `send(2)`'s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteFlags {
    /// `MSG_MORE`: more data follows soon: a partial last segment waits for it (until
    /// the next ACK, timer or write), and the write does not end with PSH.
    pub more: bool,
    /// `MSG_EOR`: the write ends a record: later data never shares a segment with it.
    pub end_of_record: bool,
}

impl WriteFlags {
    /// `MSG_MORE`.
    pub fn more() -> Self {
        WriteFlags {
            more: true,
            ..WriteFlags::default()
        }
    }

    /// `MSG_EOR`.
    pub fn end_of_record() -> Self {
        WriteFlags {
            end_of_record: true,
            ..WriteFlags::default()
        }
    }
}

/// One TCP connection. See the module docs.
#[derive(Debug)]
pub struct Connection {
    cfg: Arc<Config>,
    opts: SockOpts,
    /// The state and the data only it needs (see `phase`).
    phase: Phase,
    local_port: u16,
    remote_port: u16,

    /// The send sequence variables (RFC 9293 §3.3.1).
    snd: SendSeq,
    send_buf: SendBuffer,
    /// Sequence number of the first byte in `send_buf`.
    buf_seq: SeqNum,
    /// The application asked for a FIN after the buffered data.
    fin_queued: bool,
    /// The application could not write everything: report `Writable` when space frees.
    write_blocked: bool,

    /// The receive sequence variables (RFC 9293 §3.3.1).
    rcv: RecvSeq,
    /// The window we offer (RFC 9293 §3.8.6.2.2; its right edge never moves left).
    rwnd: RecvWindow,
    recv_buf: RecvBuffer,
    /// The peer's FIN has been received in order (end-of-stream after the data).
    fin_received: bool,
    /// Stream offset of a FIN that arrived out of order (beyond a hole, so never 0).
    ooo_fin: Option<core::num::NonZeroU64>,

    // Negotiated options.
    snd_mss: u32,
    /// The path MTU reported (ICMP, the endpoint's cache, the adapter), if any.
    path_mtu: Option<NonZeroU32>,
    /// The send MSS the path MTU allows (`u32::MAX` while none was reported).
    pmtu_mss: u32,
    /// IP and TCP header bytes per segment, as last learnt with a path MTU (IPv4 until
    /// then).
    pmtu_headers: u32,
    /// The MSS (payload, after the fixed options) packetization-layer path MTU discovery
    /// allowed when last synchronised (`Config::mtu_probing`; Linux's `search_low` as
    /// `tcp_sync_mss` applies it).
    probe_mss_cap: Option<NonZeroU32>,
    /// The RFC 4821 search, once probing is on (see `mtu_probe`).
    mtu_search: Option<alloc::boxed::Box<mtu_probe::MtuSearch>>,
    /// The MSS our SYN or SYN-ACK offers: `Config::mss`, lowered by a path MTU known
    /// before the connection started (Linux's `advmss` from the route).
    adv_mss: u16,
    snd_wscale: u8,
    rcv_wscale: u8,
    offered_wscale: bool,
    sack_ok: bool,
    ts_ok: bool,
    ts_offset: u32,
    ts_recent: u32,
    /// When TS.Recent was last set, in whole seconds of our clock (Linux's
    /// `ts_recent_stamp`): PAWS only needs to know whether it is 24 days old.
    ts_recent_secs: u32,

    // RTT, congestion control and loss recovery.
    rtt: RttEstimator,
    /// Karn's algorithm: the segment end being timed and when it was sent (no timestamps).
    rtt_timed: Option<rtt::TimedSegment>,
    cc: Controller,
    dupacks: u32,
    /// `Some(recover)` during NewReno fast recovery (RFC 6582 §3.2).
    recovery: Option<SeqNum>,
    /// RFC 6582 `recover`: no new recovery until the cumulative ACK passes it.
    recover: SeqNum,
    fast_rexmit: bool,
    /// SACK-based recovery (RFC 6675, RFC 8985, RFC 9937), when SACK was negotiated.
    loss: loss_slot::LossSlot,
    /// The tail loss probe is new data: send one segment whatever cwnd says.
    tlp_new_data: bool,
    /// An F-RTO episode after the first RTO (RFC 5682 §3.1), until its verdict; boxed, as
    /// it exists only after a retransmission timeout.
    frto: Option<Box<Frto>>,
    /// New segments F-RTO step 2b still lets out whatever cwnd says (at most two).
    frto_new_segs: u8,
    /// Largest flight (bytes sent and unacknowledged) in the current and the previous
    /// round, and where the current round ends: cwnd grows only while it is the limit.
    peak_flight: (u32, u32),
    peak_round_end: SeqNum,
    /// A duplicate segment arrived: report it in a D-SACK block (RFC 2883 §4).
    dsack: Option<(SeqNum, SeqNum)>,
    /// What FreeBSD's segment rules keep besides the common state (the receiver's SACK
    /// list, data that came with a SYN), created on first use.
    bsd: Option<Box<input_bsd::BsdState>>,

    // ACK generation (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
    /// An ACK must go out with the next segment (Linux's `tcp_send_ack` was called).
    ack_now: bool,
    /// When to ACK received data: the delayed-ACK engine.
    ack: AckState,

    // Timers.
    rtx_at: Option<Instant>,
    /// Consecutive RTO expiries counted as retries (`retries2`, `syn_retries`, ...).
    retries: u32,
    /// Further RTO backoff steps taken while the peer's window was zero: they double the
    /// RTO but are not retries (Linux's zero-window branch of tcp_retransmit_timer).
    zwnd_backoff: u32,
    /// Backoff steps undone by ICMP unreachables (RFC 6069): subtracted from the retries
    /// when the RTO is computed.
    rto_reverts: u32,
    /// The persist and keepalive timers, allocated while either runs.
    probes: probe_timers::ProbeTimers,
    /// Segments left in the packet (TSO unit) being sent, and whether its last one
    /// carries PSH (see `tso` and `write_queue`), cut at `gso_at`.
    gso_left: u32,
    /// The skb boundaries Linux would give the unsent data (where PSH goes).
    wq: write_queue::WriteQueue,
    /// A send buffer sized by the application, in Linux's memory accounting
    /// ([`Connection::set_send_buffer`]); `None`: the configured payload capacity only.
    send_memory: Option<Box<send_memory::SendMemory>>,
    /// Explicit Congestion Notification (RFC 3168, see `ecn`).
    ecn: ecn::Ecn,
    /// Segments sent in the middle of a write (Linux's `tcp_push_one`), not yet polled.
    pending_out: lazy_deque::LazyDeque<Segment>,
    /// Nagle is off for the send underway (`TCP_NAGLE_PUSH`).
    nagle_push: bool,
    /// The next round of sending ignores Nagle and cork (an option change pushed it,
    /// Linux's `TCP_NAGLE_PUSH` until the next skb).
    push_once: bool,
    /// The last write said more data follows (`MSG_MORE`): its partial segment waits
    /// until something else happens (an ACK, a timer, another write).
    more_hold: bool,
    /// Busy / window-limited / buffer-limited time (`tcpi_busy_time` and friends).
    chrono: tcp_info::ChronoClock,
    /// When data last left (Linux's `lsndtime`).
    last_data_sent: Instant,
    /// With a pacing controller: the earliest time the next data packet may leave
    /// (Linux's `tcp_wstamp_ns`; see `pacing_holds`).
    pace_next: Option<Instant>,
    /// Pacing held data back: `poll_timeout` reports `pace_next`.
    pace_held: bool,
    /// The pacing timer released the sender: a late release catches up.
    pace_catch_up: bool,
    /// The next data segment leaves outside the pacing schedule: the retransmission
    /// timer's first retransmission and the persist timer's probe (see `pacing_on_sent`).
    pace_exempt: bool,
    /// After a retransmission timeout, until SND.UNA passes this point (Linux's
    /// `TCP_CA_Loss` until `high_seq`).
    loss_until: Option<SeqNum>,
    gso_psh: bool,
    /// The packet being sent ends data marked PSH (not only the PSH of its size).
    gso_mark: bool,
    gso_at: Option<Instant>,
    probe_pending: bool,
    last_rcv: Instant,
    /// When the current run of retransmissions began (the first SYN, or the first
    /// retransmission of data): retry budgets and the user timeout count from it (Linux's
    /// `retrans_stamp`). `None` while nothing is being retransmitted.
    retrans_stamp: Option<Instant>,
    /// When the last ACK answering an invalid segment (out of window, PAWS, challenge) was
    /// sent: such ACKs are rate-limited (Linux's `last_oow_ack_time`, RFC 5961 §7).
    last_oow_ack: Option<Instant>,

    // Application side.
    /// `close` was called: no more reads; the connection finishes on its own.
    orphaned: bool,
    /// Control segments (resets) to send, allocated while some wait (boxed: 8 bytes on
    /// every connection instead of a queue's 32).
    #[allow(clippy::box_collection)]
    ctl: Option<Box<VecDeque<(SeqNum, SeqNum, TcpFlags)>>>,
    events: event_queue::EventQueue,
    error: Option<ConnError>,
    /// The last ICMP error of an established connection, reported if it then times out
    /// (Linux's `sk_err_soft`; see `icmp`).
    soft_error: Option<crate::wire::IcmpProblem>,
    stats: info::Counters,
}

/// Maximum control segments (resets) queued at once; further ones are dropped.
const MAX_CTL: usize = 8;
/// The RTO once data transmission begins after a retransmitted SYN without an RTT sample
/// (RFC 6298 §5.7; Linux's TCP_TIMEOUT_FALLBACK).
const SYN_LOSS_RTO: Duration = Duration::from_secs(3);
/// The peer MSS assumed without an MSS option (RFC 9293 §3.7.1).
const DEFAULT_PEER_MSS: u16 = 536;

impl Connection {
    fn new(
        cfg: Arc<Config>,
        now: Instant,
        local_port: u16,
        remote_port: u16,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Self {
        let smss = u32::from(cfg.mss);
        let cc = new_controller(cfg.congestion, &cfg, smss);
        Connection {
            opts: SockOpts::new(
                cfg.nodelay,
                cfg.notsent_lowat,
                cfg.keepalive,
                cfg.user_timeout,
            ),
            phase: Phase::Closed,
            local_port,
            remote_port,
            snd: SendSeq::new(iss),
            send_buf: SendBuffer::new(cfg.send_buffer),
            buf_seq: iss + 1,
            fin_queued: false,
            write_blocked: false,
            rcv: RecvSeq::new(),
            rwnd: RecvWindow::with_policy(
                cfg.recv_window,
                cfg.recv_buffer,
                cfg.recv_buffer_max,
                cfg.recv_buffer_fixed,
                now,
            ),
            recv_buf: RecvBuffer::new(cfg.max_ooo_segments),
            fin_received: false,
            ooo_fin: None,
            snd_mss: smss,
            path_mtu: None,
            pmtu_mss: u32::MAX,
            pmtu_headers: 40,
            probe_mss_cap: None,
            mtu_search: None,
            adv_mss: cfg.mss,
            snd_wscale: 0,
            rcv_wscale: 0,
            offered_wscale: cfg.window_scaling,
            sack_ok: false,
            ts_ok: false,
            ts_offset,
            ts_recent: 0,
            ts_recent_secs: secs32(now),
            rtt: RttEstimator::new(cfg.initial_rto, cfg.min_rto, cfg.max_rto),
            rtt_timed: None,
            cc,
            dupacks: 0,
            recovery: None,
            recover: iss,
            fast_rexmit: false,
            loss: loss_slot::LossSlot::Unused,
            tlp_new_data: false,
            frto: None,
            frto_new_segs: 0,
            peak_flight: (0, 0),
            peak_round_end: iss,
            dsack: None,
            bsd: None,
            ack_now: false,
            ack: AckState::new(&cfg.ack_policy, now, u32::from(cfg.mss).min(536)),
            rtx_at: None,
            retries: 0,
            zwnd_backoff: 0,
            rto_reverts: 0,
            probes: probe_timers::ProbeTimers::default(),
            gso_left: 0,
            wq: write_queue::WriteQueue::new(iss + 1),
            send_memory: None,
            ecn: ecn::Ecn::default(),
            pending_out: lazy_deque::LazyDeque::new(),
            nagle_push: false,
            push_once: false,
            more_hold: false,
            chrono: tcp_info::ChronoClock::default(),
            last_data_sent: now,
            pace_next: None,
            pace_held: false,
            pace_catch_up: false,
            pace_exempt: false,
            loss_until: None,
            gso_psh: false,
            gso_mark: false,
            gso_at: None,
            probe_pending: false,
            last_rcv: now,
            retrans_stamp: None,
            last_oow_ack: None,
            orphaned: false,
            ctl: None,
            events: event_queue::EventQueue::default(),
            error: None,
            soft_error: None,
            stats: info::Counters::default(),
            cfg,
        }
    }

    /// Active open (RFC 9293 §3.10.1): sends a SYN with initial sequence number `iss` and
    /// enters SYN_SENT. `ts_offset` is added to our timestamp clock (RFC 7323 §5.4).
    pub fn connect(
        cfg: Arc<Config>,
        now: Instant,
        local_port: u16,
        remote_port: u16,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Self {
        let mut c = Connection::new(cfg, now, local_port, remote_port, iss, ts_offset);
        // Born in SYN-SENT with its SYN due (a birth, not an edge of the diagram).
        c.phase = Phase::SynSent(Opening {
            syn_pending: true,
            ..Opening::default()
        });
        c
    }

    /// Passive open: a SYN arrived for a listener (RFC 9293 §3.10.7.2). Answers with a
    /// SYN-ACK carrying `iss` and enters SYN_RCVD.
    pub fn accept(
        cfg: Arc<Config>,
        now: Instant,
        syn: &TcpHeader,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Result<Self, AcceptError> {
        let f = syn.flags;
        if !f.contains(TcpFlags::SYN) || f.intersects(TcpFlags::ACK | TcpFlags::RST) {
            return Err(AcceptError::NotSyn);
        }
        let mut c = Connection::new(cfg, now, syn.dst_port, syn.src_port, iss, ts_offset);
        // Born in SYN-RECEIVED with its SYN-ACK due.
        c.phase = Phase::SynRcvd(Opening::passive(true));
        c.rcv = RecvSeq::from_syn(syn.seq);
        c.negotiate(&syn.options);
        c.ecn_from_syn(syn);
        if let Some(ts) = syn.options.timestamps.filter(|_| c.ts_ok) {
            c.ts_recent = ts.val;
            c.ts_recent_secs = secs32(now);
        }
        // The window in a SYN is never scaled (RFC 7323 §2.2).
        c.snd.wnd = u32::from(syn.window);
        c.snd.max_wnd = c.snd.wnd;
        c.snd.wl1 = syn.seq;
        c.snd.nxt = iss + 1;
        c.snd.max = iss + 1;
        Ok(c)
    }

    /// The peer's SYN asked for ECN (RFC 3168 §6.1.1): agreed when our configuration
    /// accepts it. For connections built by [`Connection::from_handshake`] the endpoint
    /// calls this with the SYN its SYN queue kept.
    pub(crate) fn ecn_from_syn(&mut self, syn: &TcpHeader) {
        let accept = self.cfg.ecn != crate::config::EcnMode::Off;
        self.ecn.on_syn(syn, accept);
    }

    /// A SYN cookie's final ACK says whether its SYN-ACK agreed to ECN: on when it did and
    /// our configuration still accepts it (Linux's `cookie_ecn_ok`).
    pub(crate) fn ecn_from_cookie(&mut self, agreed: bool) {
        let accept = self.cfg.ecn != crate::config::EcnMode::Off;
        self.ecn.on_cookie(agreed && accept);
    }

    /// Whether ECN (RFC 3168) was negotiated.
    pub fn ecn_enabled(&self) -> bool {
        self.ecn.is_ok()
    }

    /// The MSS the window of our SYN-ACK is rounded to: ours, less the timestamp option
    /// when timestamps are in use (Linux's `tcp_openreq_init_rwin`).
    fn synack_window_mss(&self) -> u32 {
        u32::from(self.adv_mss).saturating_sub(if self.ts_ok { 12 } else { 0 })
    }

    /// Our MSS for received data once the handshake is done: less the timestamp option
    /// every segment then carries (Linux's `advmss`).
    fn advmss(&self) -> u32 {
        u32::from(self.adv_mss).saturating_sub(if self.ts_ok { 12 } else { 0 })
    }

    /// An established connection from a handshake completed elsewhere (the endpoint's SYN
    /// queue or a SYN cookie): the final ACK has arrived.
    pub fn from_handshake(cfg: Arc<Config>, now: Instant, hs: &Handshake) -> Self {
        let mut c = Connection::new(
            cfg,
            now,
            hs.local_port,
            hs.remote_port,
            hs.iss,
            hs.ts_offset,
        );
        // Born in SYN-RECEIVED, the state the endpoint's SYN queue (or the cookie) held;
        // its SYN-ACK already went out.
        c.phase = Phase::SynRcvd(Opening::passive(false));
        c.rcv = RecvSeq::from_syn(hs.irs);
        let opts = crate::wire::TcpOptions {
            mss: hs.peer_mss,
            window_scale: hs.peer_wscale,
            sack_permitted: hs.sack,
            timestamps: hs
                .ts_recent
                .map(|val| crate::wire::Timestamps { val, ecr: 0 }),
            ..Default::default()
        };
        c.negotiate(&opts);
        c.ts_recent = hs.ts_recent.unwrap_or(0);
        c.snd.una = hs.iss + 1;
        c.snd.nxt = c.snd.una;
        c.snd.max = c.snd.una;
        c.buf_seq = c.snd.una;
        // RFC 6582 §3.2: `recover` starts at the ISS.
        // RFC 6582 §3.2: recover starts at the ISS, so a loss in the first window can
        // still be fast-retransmitted.
        c.recover = hs.iss;
        c.snd.wnd = u32::from(hs.peer_window) << c.snd_wscale;
        c.snd.max_wnd = c.snd.wnd;
        c.snd.wl1 = c.rcv.nxt;
        c.snd.wl2 = c.snd.una;
        // The window our SYN-ACK offered, as the endpoint's SYN queue sent it.
        let mss = c.synack_window_mss();
        c.rwnd.initial(mss, c.rcv.nxt);
        c.establish(now);
        c
    }

    /// Feeds the RTT the endpoint measured from its SYN-ACK to the final ACK (Linux's
    /// `tcp_synack_rtt_meas`) into a connection built by [`Connection::from_handshake`].
    pub(crate) fn handshake_rtt_sample(&mut self, now: Instant, rtt: Duration) {
        self.rtt.sample(rtt, now, self.snd.una, self.snd.nxt);
    }

    /// Applies the options of the peer's SYN or SYN-ACK (RFC 9293 §3.7.1, RFC 7323 §2.2
    /// and §3.2, RFC 2018 §2): an option is in effect only if both sides sent it.
    fn negotiate(&mut self, o: &crate::wire::TcpOptions) {
        // TCP_NOOPT: only the peer's MSS counts (FreeBSD's tcp_input with TF_NOOPT).
        let noopt = crate::wire::TcpOptions {
            mss: o.mss,
            ..Default::default()
        };
        let o = if self.cfg.no_options { &noopt } else { o };
        let peer_mss = u32::from(o.mss.unwrap_or(DEFAULT_PEER_MSS));
        self.snd_mss = peer_mss
            .min(u32::from(self.cfg.mss))
            .max(u32::from(self.cfg.min_mss));
        self.rwnd.set_mss(self.snd_mss);
        match o.window_scale {
            Some(ws) if self.cfg.window_scaling => {
                // RFC 7323 §2.3: a shift above 14 is treated as 14.
                self.snd_wscale = ws.min(14);
                self.rcv_wscale = self.rwnd.offered_wscale(self.cfg.window_scale);
            }
            _ => {
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
        self.offered_wscale = self.cfg.window_scaling && o.window_scale.is_some();
        self.sack_ok = self.cfg.sack && o.sack_permitted;
        self.ts_ok = self.cfg.timestamps && o.timestamps.is_some();
        // The initial window counts segments of the negotiated MSS (RFC 6928, as Linux),
        // so the controller starts once the MSS is known.
        // RFC 6928 / Linux: the initial window counts segments of the negotiated MSS
        // (less option bytes), not of the MSS we would have liked.
        // BBR's model comes from delivery-rate samples, whose per-segment stamps live in
        // the SACK scoreboard: without SACK a connection uses CUBIC, the default.
        let alg = match self.cfg.congestion {
            crate::config::CongestionAlgorithm::Bbr if !self.sack_ok => {
                crate::config::CongestionAlgorithm::Cubic
            }
            alg => alg,
        };
        self.cc = new_controller(alg, &self.cfg, self.eff_mss());
    }

    /// Enters ESTABLISHED and tells the application; the receive side learns the window
    /// scale and MSS in use (Linux's `tcp_init_buffer_space`, `tcp_initialize_rcv_mss`).
    fn establish(&mut self, now: Instant) {
        self.mtu_search_on_establish(now);
        let copied = self.recv_buf.next() - self.recv_buf.readable() as u64;
        let advmss = self.advmss();
        self.rwnd.establish(self.rcv_wscale, advmss, now, copied);
        let hint = AckState::initial_rcv_mss(advmss, self.eff_mss(), self.rwnd.rcv_wnd());
        self.ack.set_rcv_mss(hint);
        // The connection's clocks start at establishment (tcp_init_transfer,
        // tcp_create_openreq_child: lsndtime, icsk_ack.lrcvtime).
        self.ack.set_last_data_recv(now);
        self.last_data_sent = now;
        // The SYN (or SYN-ACK) is acknowledged: its backoff ends (RFC 6298 §5.7). If it had
        // to be retransmitted and no RTT sample exists (Karn), data starts with a 3 s RTO.
        if self.retries > 0 && self.rtt.srtt().is_none() {
            self.rtt.fallback(SYN_LOSS_RTO);
        }
        self.retries = 0;
        self.retrans_stamp = None;
        self.zwnd_backoff = 0;
        self.rto_reverts = 0;
        self.enter(Phase::Established);
        if self.fin_queued {
            // shutdown() before the handshake completed queued a FIN: it can go now.
            self.enter(Phase::FinWait1);
        }
        self.push_event(Event::Connected);
        self.push_event(Event::Writable);
    }

    /// Whether the congestion window limited sending recently, as Linux's
    /// `tcp_is_cwnd_limited` (RFC 7661 spirit): in slow start while cwnd is below twice the
    /// peak flight, otherwise while the peak flight came within three segments of cwnd.
    /// An application- or receiver-limited flow does not grow cwnd without bound.
    fn cwnd_limited(&self) -> bool {
        let peak = self.peak_flight.0.max(self.peak_flight.1);
        let cwnd = self.cc.cwnd();
        if self.cc.in_slow_start() {
            cwnd < peak.saturating_mul(2)
        } else {
            peak.saturating_add(3 * self.eff_mss()) >= cwnd
        }
    }

    /// Records the flight after a transmission, per round (a round ends when the data sent
    /// at its start is acknowledged).
    fn note_flight(&mut self) {
        let flight = self.snd.max.since(self.snd.una);
        if self.snd.una.ge(self.peak_round_end) {
            self.peak_flight = (flight, self.peak_flight.0);
            self.peak_round_end = self.snd.max;
        }
        self.peak_flight.0 = self.peak_flight.0.max(flight);
    }

    /// The current state.
    #[inline]
    pub fn state(&self) -> State {
        self.phase.state()
    }

    /// Our port.
    pub fn local_port(&self) -> u16 {
        self.local_port
    }

    /// The peer's port.
    pub fn remote_port(&self) -> u16 {
        self.remote_port
    }

    /// The connection has reached CLOSED and has nothing left to transmit: it can be
    /// dropped once its events are drained.
    pub fn is_closed(&self) -> bool {
        self.state() == State::Closed && self.ctl.is_none()
    }

    /// The error that ended the connection, if any.
    pub fn error(&self) -> Option<ConnError> {
        self.error
    }

    /// Our initial sequence number.
    pub fn iss(&self) -> SeqNum {
        self.snd.iss
    }

    /// The peer's initial sequence number (zero before it is known).
    pub fn irs(&self) -> SeqNum {
        self.rcv.irs
    }

    /// RCV.NXT: the next sequence number expected from the peer.
    pub fn rcv_nxt(&self) -> SeqNum {
        self.rcv.nxt
    }

    /// The highest sequence number sent plus one (SND.NXT before any retransmission
    /// rewound it).
    pub fn snd_max(&self) -> SeqNum {
        self.snd.max
    }

    /// SND.UNA: the oldest unacknowledged sequence number.
    pub fn snd_una(&self) -> SeqNum {
        self.snd.una
    }

    /// TS.Recent, the peer's timestamp we echo (RFC 7323 §4.3), when timestamps are on.
    pub fn ts_recent(&self) -> Option<u32> {
        self.ts_ok.then_some(self.ts_recent)
    }

    /// Our timestamp offset.
    pub fn ts_offset(&self) -> u32 {
        self.ts_offset
    }

    /// The next application event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// Whether events wait for [`poll_event`](Self::poll_event).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    fn push_event(&mut self, ev: Event) {
        self.events.push(ev);
    }

    fn queue_ctl(&mut self, seq: SeqNum, ack: SeqNum, flags: TcpFlags) {
        let ctl = self.ctl.get_or_insert_with(Box::default);
        if ctl.len() < MAX_CTL {
            ctl.push_back((seq, ack, flags));
        } else {
            self.stats.rare().ctl_dropped += 1;
        }
    }

    /// Enters CLOSED, releasing timers; reports `Closed`.
    fn set_closed(&mut self) {
        if self.state() == State::Closed && self.events.contains_kind(Event::Closed) {
            return;
        }
        self.enter(Phase::Closed);
        self.rtx_at = None;
        self.probes.stop_persist();
        self.ack.on_ack_sent();
        self.ack_now = false;
        self.probe_pending = false;
        self.fast_rexmit = false;
        self.send_buf = SendBuffer::new(0);
        // The SACK sender's state (and its timers) goes with the data.
        self.loss = loss_slot::LossSlot::Unused;
        self.push_event(Event::Closed);
    }

    /// The endpoint took over this connection's TIME_WAIT with a compact record: the
    /// connection closes (Linux's `tcp_done` after `tcp_time_wait`); what it received stays
    /// readable.
    pub(crate) fn time_wait_handed_off(&mut self) {
        if self.state() == State::TimeWait {
            self.set_closed();
        }
    }

    /// Ends the connection with an error (no RST: the peer is gone or refused us).
    fn fail(&mut self, err: ConnError) {
        // A timeout after an ICMP error reports that error (Linux's tcp_write_err).
        let err = match (err, self.soft_error) {
            (ConnError::TimedOut, Some(p)) => ConnError::Unreachable(p),
            _ => err,
        };
        self.error = Some(err);
        self.push_event(Event::Error(err));
        self.set_closed();
    }

    /// The window the peer may still fill: our advertised right edge minus RCV.NXT.
    fn advertised_remaining(&self) -> u32 {
        self.rwnd.receive_window(self.rcv.nxt)
    }

    /// The effective send MSS: payload bytes per full segment after the options every data
    /// segment carries (timestamps; SACK blocks while we report some).
    fn eff_mss(&self) -> u32 {
        let mut opt = 0u32;
        if self.sack_ok {
            let n = (self.recv_buf.sack_blocks().len() + usize::from(self.dsack.is_some()))
                .min(if self.ts_ok { 3 } else { 4 });
            if n > 0 {
                opt += 4 + 8 * n as u32;
            }
        }
        self.mss_cache().saturating_sub(opt).max(1)
    }

    /// The payload of a full segment after the options every segment carries
    /// (timestamps), not the SACK blocks of the moment (Linux's `mss_cache`): the peer's
    /// MSS, bounded by the path MTU and by black-hole detection.
    fn mss_cache(&self) -> u32 {
        let ts = if self.ts_ok { 12 } else { 0 };
        let mss = self.snd_mss.min(self.pmtu_mss).saturating_sub(ts);
        self.probe_mss_cap.map_or(mss, |b| mss.min(b.get())).max(1)
    }

    /// Information about the connection, in the spirit of Linux's TCP_INFO.
    pub fn info(&self) -> Info {
        let smss = self.eff_mss();
        Info {
            state: self.state(),
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            rto: self.current_rto(),
            snd_mss: self.snd_mss.min(self.pmtu_mss),
            path_mtu: self.path_mtu(),
            rcv_mss: self.ack.rcv_mss(),
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            cwnd_segments: self.cc.cwnd() / smss,
            bytes_in_flight: self
                .snd
                .nxt
                .since(self.snd.una)
                .min(self.snd.max.since(self.snd.una)),
            unacked_bytes: self.snd.max.since(self.snd.una),
            retransmits: self.retries,
            probes: self
                .probes
                .persist_probes()
                .max(self.probes.keepalive_probes()),
            backoff: self
                .retries
                .saturating_add(self.zwnd_backoff)
                .max(self.probes.persist_backoff()),
            snd_wnd: self.snd.wnd,
            rcv_wnd: self.advertised_remaining(),
            snd_wscale: self.snd_wscale,
            rcv_wscale: self.rcv_wscale,
            window_scaling: self.offered_wscale && self.state() != State::SynSent,
            sack: self.sack_ok,
            timestamps: self.ts_ok,
            ecn: self.ecn.is_ok(),
            ecn_seen: self.ecn.seen(),
            ca_state_recovery: self.recovery.is_some() || self.loss.in_recovery(),
            congestion_control: self.cc.name(),
            min_rtt: self.rtt.min_rtt(),
            delivery_rate: self.loss.last_delivery_rate().map(|(r, _)| r),
            pacing_rate: self.cc.pacing_rate(),
            send_buffered: self.send_buf.len(),
            recv_buffered: self.recv_buf.readable(),
            ooo_bytes: self.recv_buf.ooo_bytes(),
            ato: self.ack.ato(),
            last_data_recv: self.ack.last_data_recv(),
            quickack: self.ack.quickack_option(),
            rcv_ssthresh: self.rwnd.rcv_ssthresh(),
            rcv_space: self.rwnd.space(),
            window_clamp: self.rwnd.window_clamp(),
            rcvbuf: self.rwnd.rcvbuf(),
            rcv_rtt: self.rwnd.rcv_rtt(),
            stats: self.stats.snapshot(),
        }
    }

    /// Counters of what the connection did and dropped (a snapshot).
    pub fn stats(&self) -> ConnStats {
        self.stats.snapshot()
    }

    /// Checks the invariants of the state machine; returns a description of the first
    /// violation. Used by tests, property tests and fuzzers after every step.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.snd.una.gt(self.snd.nxt) {
            return Err("SND.UNA > SND.NXT");
        }
        if self.snd.nxt.gt(self.snd.max) {
            return Err("SND.NXT > highest sequence sent");
        }
        if self.snd.una.gt(self.buf_seq + u32::from(self.fin_queued)) {
            return Err("SND.UNA beyond the send buffer and FIN");
        }
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let limit = data_end + u32::from(self.fin_queued);
        if self.state() != State::Closed && self.snd.max.gt(limit) {
            return Err("sent beyond the buffered data and FIN");
        }
        if self.send_buf.len() > self.send_buf.capacity() {
            return Err("send buffer over capacity");
        }
        let rb = self.recv_buf.readable() + self.recv_buf.ooo_bytes();
        // Memory is charged per segment and at least the payload, so the payload held stays
        // within the buffer, plus the one segment an empty queue accepts anyway.
        if rb > self.rwnd.rcvbuf() as usize + 0x1_0000 {
            return Err("receive buffer over capacity");
        }
        if self.recv_buf.ooo_pieces() > self.cfg.max_ooo_segments {
            return Err("too many out-of-order pieces");
        }
        if self.recv_buf.ooo_pieces() == 0 && self.rwnd.rmem_ofo() != 0 {
            return Err("memory charged for out-of-order data not held");
        }
        if let Some(l) = self.loss.active() {
            l.sb.check_invariants()?;
        }
        if let Some(una) = self.loss.resting_una()
            && (una != self.snd.una || self.snd.max != self.snd.una)
        {
            return Err("the SACK state rests while SND.UNA moved or data is in flight");
        }
        Ok(())
    }
}
