//! The executor: runs a parsed [`Script`] against a `tcp_core::Endpoint` on virtual time.
//!
//! # How the script maps onto the stack
//!
//! - **Time.** Script time `t` (µs) is `Instant::from_micros(BASE + t)`. Before each event
//!   the endpoint's timers run, each at its own deadline, up to the event's time. Outbound
//!   segments are queued with the time they left; a `>` line takes the oldest one (running
//!   the timers further, up to the end of the line's time window, if none is queued yet).
//!   The allowed slack is `max(--tolerance_usecs, 12.5 % of the gap since the previous
//!   event)`; `*` and ranges re-base later relative times on the time the segment left.
//! - **Sequence numbers.** Each 4-tuple has a remote ISN chosen here ([`REMOTE_ISN`]):
//!   inbound `seq` and outbound `ack`/SACK blocks are relative to it. Our ISN is learned
//!   from our SYN or SYN-ACK (the script's value there is the offset); inbound `ack` and
//!   SACK blocks and outbound `seq` are relative to it (0 until learned, as for a RST to a
//!   segment that matched nothing).
//! - **Timestamps.** Inbound TS val is sent as written. The first outbound TS val fixes
//!   the offset between our clock and the script's numbers; inbound `ecr` is shifted by it
//!   so it echoes our real TSval. Outbound TS val is checked only with
//!   `--tcp_ts_tick_usecs`; outbound ecr is compared as written.
//! - **Sockets.** File descriptors are allocated from 3 as Linux does. The endpoint is
//!   created at the first `listen`/`connect` (or inbound segment) with the `Config` built
//!   from sysctl lines and the socket's options, so `TCP_MAXSEG`, `SO_RCVBUF` … set before
//!   it shape the SYN. Blocking calls wait (in virtual time) until the stack lets them
//!   complete; the completion time is checked against `...B`. A call that would block
//!   without `...B` must complete within the tolerance of its start. `listen(fd, n)`
//!   gives the endpoint an accept queue of `n + 1`, as Linux's `sk_acceptq_is_full`.
//!   Errors reach the socket as Linux reports them: `SO_ERROR` or the next read/write
//!   consumes the error (`ECONNRESET`, `ECONNREFUSED`, `ETIMEDOUT`; a RST in CLOSE_WAIT
//!   is `EPIPE`), later writes get `EPIPE` and reads 0.
//! - **Checks.** Outbound: flags, seq, payload length, ack (when written), window (when
//!   written), urgent pointer, options in wire order with values. An expected segment
//!   longer than the MSS matches consecutive segments (PSH/FIN only on the last). A
//!   segment nobody expected fails the script: at the next non-`>` event when it left
//!   before that event's window, or at the end of the script.
//! - **Configuration.** Sysctl backtick lines map onto `Config`/`EndpointConfig` (see
//!   [`Exec::sysctl`]); other shell lines, ICMP/UDP lines, unknown syscalls, options and
//!   code-block statements SKIP the script with the reason. The endpoint starts with
//!   Linux's sysctl defaults (e.g. `tcp_rfc1337=0`).

use super::ast::*;
use super::parse_file;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use tcp_core::endpoint::{ListenerHandle, SynCookies};
use tcp_core::wire::{self, TcpOption as WireOpt};
use tcp_core::{
    Config, ConnError, ConnHandle, Endpoint, EndpointConfig, EndpointEvent, Event as CoreEvent,
    Instant, Transmit,
};

/// Virtual time of script time 0.
const BASE_US: u64 = 1_000_000;
/// The remote (script-side) ISN every flow uses: inbound seq 0 is this number.
pub const REMOTE_ISN: u32 = 0x2000_0000;
/// The port the script's peer uses towards a listener when a line gives no ports.
pub const DEFAULT_REMOTE_PORT: u16 = 47_123;
/// Our ephemeral port for `connect` on an unbound socket.
pub const DEFAULT_EPHEMERAL_PORT: u16 = 40_961;
/// How far (virtual µs) a `*` line waits for a segment.
const ANY_HORIZON_US: u64 = 600_000_000;

/// What running one script gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every event happened as written.
    Pass,
    /// The first deviation.
    Fail {
        /// 1-based script line.
        line: usize,
        /// What the script wanted.
        expected: String,
        /// What the stack did.
        happened: String,
    },
    /// The script needs something the runner cannot do.
    Skip(String),
}

impl Outcome {
    /// The line `tcp-pkt` prints for `file`.
    pub fn report_line(&self, file: &str) -> String {
        match self {
            Outcome::Pass => format!("PASS {file}"),
            Outcome::Fail {
                line,
                expected,
                happened,
            } => format!("FAIL {file}:{line}: {expected} / {happened}"),
            Outcome::Skip(reason) => format!("SKIP {file}: {reason}"),
        }
    }
}

/// Parse and run the script at `path`.
pub fn run_file(path: &Path) -> Outcome {
    match parse_file(path) {
        Ok(s) => run_script(&s),
        Err(e) => Outcome::Fail {
            line: e.line,
            expected: "a valid script".into(),
            happened: format!("parse error: {}", e.message),
        },
    }
}

/// Run a parsed script.
pub fn run_script(script: &Script) -> Outcome {
    let mut ex = match Exec::new(script) {
        Ok(ex) => ex,
        Err(o) => return o,
    };
    match ex.run() {
        Ok(()) => Outcome::Pass,
        Err(o) => o,
    }
}

pub(super) type Res<T> = Result<T, Outcome>;

pub(super) fn fail<T>(
    line: usize,
    expected: impl Into<String>,
    happened: impl Into<String>,
) -> Res<T> {
    Err(Outcome::Fail {
        line,
        expected: expected.into(),
        happened: happened.into(),
    })
}

pub(super) fn skip<T>(reason: impl Into<String>) -> Res<T> {
    Err(Outcome::Skip(reason.into()))
}

/// Per-4-tuple numbering state.
#[derive(Clone, Copy, Debug)]
struct Flow {
    local_isn: Option<u32>,
}

/// A segment the stack sent.
#[derive(Clone, Debug)]
pub(super) struct Sent {
    pub(super) time: u64,
    pub(super) tx: Transmit,
    pub(super) raw: Vec<u8>,
}

/// Socket kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SockKind {
    Fresh,
    Listener(ListenerHandle),
    Conn(ConnHandle),
}

/// Socket options the script set.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SockOpts {
    pub(super) nodelay: bool,
    pub(super) maxseg: Option<u16>,
    pub(super) keepalive: bool,
    pub(super) keep_idle: Option<u64>,
    pub(super) keep_intvl: Option<u64>,
    pub(super) keep_cnt: Option<u32>,
    pub(super) user_timeout_ms: Option<u64>,
    pub(super) linger_zero: bool,
    pub(super) rcvbuf: Option<usize>,
    pub(super) sndbuf: Option<usize>,
}

/// One file descriptor.
#[derive(Clone, Debug)]
pub(super) struct Sock {
    pub(super) kind: SockKind,
    pub(super) nonblock: bool,
    pub(super) opts: SockOpts,
    pub(super) bound_port: Option<u16>,
    /// Errno of an `Error` event, not yet reported by SO_ERROR / read / write.
    pub(super) pending_error: Option<&'static str>,
    /// The connection failed with this (reported or not).
    pub(super) failed: Option<ConnError>,
    /// The connect() result was already consumed (EINPROGRESS then SO_ERROR).
    pub(super) connected_event: bool,
    /// Last known info, for code blocks after the handle went away.
    pub(super) last_info: Option<tcp_core::Info>,
}

/// A syscall that blocked and waits for the stack.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) line: usize,
    pub(super) call: SyscallEvent,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) progress: usize,
}

/// The executor state.
pub(super) struct Exec<'a> {
    pub(super) script: &'a Script,
    pub(super) cfg: Config,
    pub(super) ep_cfg: EndpointConfig,
    pub(super) ep: Option<Endpoint>,
    /// Current script time (µs).
    pub(super) now: u64,
    /// Time of the previous event (base of relative times).
    prev: u64,
    pub(super) tolerance: u64,
    ts_tick: Option<u64>,
    pub(super) local_ip: IpAddr,
    pub(super) remote_ip: IpAddr,
    pub(super) bind_port: u16,
    pub(super) connect_port: u16,
    flows: HashMap<(u16, u16), Flow>,
    /// (local port, remote port) used when a packet line gives no ports.
    pub(super) default_flow: Option<(u16, u16)>,
    ts_offset: Option<u32>,
    pub(super) outq: VecDeque<Sent>,
    pub(super) socks: BTreeMap<i64, Sock>,
    pub(super) pending: Option<Pending>,
    /// The socket code blocks look at.
    pub(super) info_fd: Option<i64>,
    /// Keepalive parameters from `tcp_keepalive_*` sysctls.
    pub(super) keepalive_defaults: Option<tcp_core::Keepalive>,
}

fn parse_num(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

impl<'a> Exec<'a> {
    fn new(script: &'a Script) -> Res<Self> {
        let mut cfg = Config::default();
        let mut ipv6 = false;
        let mut tolerance = 4000;
        let mut ts_tick = None;
        let mut local_ip: Option<IpAddr> = None;
        let mut remote_ip: Option<IpAddr> = None;
        let mut bind_port = 8080;
        let mut connect_port = 8080;
        for (k, v) in &script.options {
            match k.as_str() {
                "ip_version" => match v.as_str() {
                    "ipv4" => ipv6 = false,
                    "ipv6" => ipv6 = true,
                    other => return skip(format!("--ip_version={other} is not supported")),
                },
                "mss" => match parse_num(v).and_then(|m| u16::try_from(m).ok()) {
                    Some(m) => cfg.mss = m,
                    None => return skip(format!("bad --mss={v}")),
                },
                "mtu" => match parse_num(v).and_then(|m| u16::try_from(m).ok()) {
                    Some(m) => cfg.mss = m.saturating_sub(40),
                    None => return skip(format!("bad --mtu={v}")),
                },
                "tolerance_usecs" => match parse_num(v) {
                    Some(t) => tolerance = t,
                    None => return skip(format!("bad --tolerance_usecs={v}")),
                },
                "tcp_ts_tick_usecs" => match parse_num(v) {
                    Some(t) if t > 0 => ts_tick = Some(t),
                    Some(_) => ts_tick = None,
                    None => return skip(format!("bad --tcp_ts_tick_usecs={v}")),
                },
                "local_ip" => local_ip = v.parse().ok(),
                "remote_ip" => remote_ip = v.parse().ok(),
                "bind_port" => {
                    bind_port = parse_num(v).and_then(|p| p.try_into().ok()).unwrap_or(8080)
                }
                "connect_port" => {
                    connect_port = parse_num(v).and_then(|p| p.try_into().ok()).unwrap_or(8080)
                }
                // This runner never aggregates segments: it is always strict.
                "define" | "verbose" | "dry_run" | "non_fatal" | "wire_server_ip"
                | "strict_segments" => {}
                other => return skip(format!("unsupported option --{other}")),
            }
        }
        if ipv6 && script.option("mss").is_none() && script.option("mtu").is_none() {
            // Upstream runners (and the Linux oracle) give IPv6 scripts --mtu=1520.
            cfg.mss = 1460;
        }
        let local_ip = local_ip.unwrap_or(if ipv6 {
            IpAddr::V6(Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1))
        });
        let remote_ip = remote_ip.unwrap_or(if ipv6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        });
        let ep_cfg = EndpointConfig {
            secret: *b"pkt-script-key!!",
            // Linux's sysctl default, tcp_rfc1337 = 0.
            rfc1337: false,
            ..EndpointConfig::default()
        };
        Ok(Exec {
            script,
            cfg,
            ep_cfg,
            ep: None,
            now: 0,
            prev: 0,
            tolerance,
            ts_tick,
            local_ip,
            remote_ip,
            bind_port,
            connect_port,
            flows: HashMap::new(),
            default_flow: None,
            ts_offset: None,
            outq: VecDeque::new(),
            socks: BTreeMap::new(),
            pending: None,
            info_fd: None,
            keepalive_defaults: None,
        })
    }

    pub(super) fn instant(&self, t: u64) -> Instant {
        Instant::from_micros(BASE_US + t)
    }

    /// The endpoint, created on first use from the current configuration.
    pub(super) fn endpoint(&mut self) -> &mut Endpoint {
        let (cfg, ep_cfg) = (self.cfg.clone(), self.ep_cfg.clone());
        self.ep.get_or_insert_with(|| Endpoint::new(cfg, ep_cfg))
    }

    fn run(&mut self) -> Res<()> {
        let events = &self.script.events;
        for ev in events {
            self.event(ev)?;
        }
        // The script is over: a blocked call gets until its end time to return; one that
        // never returns, or a segment nobody expected, is a failure.
        if let Some(p) = &self.pending {
            let (end, line) = (p.end, p.line);
            self.advance_to(end, line)?;
        }
        if let Some(p) = &self.pending {
            return fail(
                p.line,
                format!("{} to return", p.call.name),
                "still blocked at the end of the script",
            );
        }
        self.check_unexpected(u64::MAX, events.last().map_or(0, |e| e.line))?;
        Ok(())
    }

    /// Slack allowed for an event at `t` whose previous event was at `prev`.
    fn slack(&self, t: u64, prev: u64) -> u64 {
        self.tolerance.max(t.saturating_sub(prev) / 8)
    }

    fn event(&mut self, ev: &Event) -> Res<()> {
        // Script time of this event (lower and upper end of its window).
        let (lo, hi, any) = match ev.time {
            EventTime::Untimed => (self.now.max(self.prev), self.now.max(self.prev), false),
            EventTime::Absolute(t) => (t, t, false),
            EventTime::Relative(d) => (self.prev + d, self.prev + d, false),
            EventTime::Any => (self.prev, self.prev + ANY_HORIZON_US, true),
            EventTime::AbsoluteRange(a, b) => (a, b, true),
            EventTime::RelativeRange(a, b) => (self.prev + a, self.prev + b, true),
        };
        let prev = self.prev;
        match &ev.kind {
            EventKind::Packet(p) if p.direction == Direction::Outbound => {
                let slack = self.slack(hi, prev);
                let actual =
                    self.expect_outbound(ev.line, p, lo.saturating_sub(slack), hi + slack)?;
                self.prev = if any { actual } else { lo };
            }
            kind => {
                self.advance_to(lo, ev.line)?;
                self.check_unexpected(lo.saturating_sub(self.slack(lo, prev)), ev.line)?;
                self.prev = lo;
                match kind {
                    EventKind::Packet(p) => self.inject(ev.line, p)?,
                    EventKind::Syscall(call) => {
                        let end = call.end.map(|b| match ev.time {
                            EventTime::Relative(_) => prev + b,
                            _ => b,
                        });
                        self.syscall(ev.line, call, lo, end)?;
                    }
                    EventKind::Shell(cmd) => self.shell(cmd)?,
                    EventKind::Code(block) => self.code(ev.line, block)?,
                    EventKind::Icmp(_) => return skip("ICMP packets are not supported"),
                    EventKind::Udp(_) => return skip("UDP packets are not supported"),
                }
                self.pump(ev.line)?;
            }
        }
        Ok(())
    }

    /// A queued segment that left before `before` (and was not matched by a `>` line).
    fn check_unexpected(&mut self, before: u64, line: usize) -> Res<()> {
        if let Some(s) = self.outq.front() {
            if s.time < before {
                let s = self.outq.front().cloned().expect("checked");
                let txt = self.describe(&s);
                return fail(line, "no outbound packet", format!("unexpected {txt}"));
            }
        }
        Ok(())
    }

    /// Collect transmits and events, and retry a blocked call, at the current time.
    pub(super) fn pump(&mut self, line: usize) -> Res<()> {
        let now = self.instant(self.now);
        let Some(ep) = self.ep.as_mut() else {
            return Ok(());
        };
        while let Some(tx) = ep.poll_transmit(now) {
            let mut raw = vec![0u8; tx.len()];
            let n = tx.encode(&mut raw).unwrap_or(0);
            raw.truncate(n);
            if std::env::var_os("PKT_TRACE").is_some() {
                eprintln!(
                    "{} sent {:?} seq {} ack {} len {}",
                    fmt_time(self.now),
                    tx.segment.header.flags,
                    tx.segment.header.seq,
                    tx.segment.header.ack,
                    tx.segment.payload.len()
                );
            }
            self.outq.push_back(Sent {
                time: self.now,
                tx,
                raw,
            });
        }
        while let Some(ev) = ep.poll_event() {
            if let EndpointEvent::Conn(h, e) = ev {
                for s in self.socks.values_mut() {
                    if s.kind == SockKind::Conn(h) {
                        match e {
                            CoreEvent::Error(err) => {
                                // Linux's tcp_reset: a RST in CLOSE_WAIT is EPIPE.
                                let close_wait = s
                                    .last_info
                                    .is_some_and(|i| i.state == tcp_core::State::CloseWait);
                                s.pending_error = Some(match err {
                                    ConnError::Reset if close_wait => "EPIPE",
                                    e => super::syscalls::conn_errno(e),
                                });
                                s.failed = Some(err);
                            }
                            CoreEvent::Connected => s.connected_event = true,
                            _ => {}
                        }
                    }
                }
            }
        }
        // Snapshot infos.
        if let Some(ep) = self.ep.as_ref() {
            for s in self.socks.values_mut() {
                if let SockKind::Conn(h) = s.kind {
                    if let Ok(c) = ep.connection(h) {
                        s.last_info = Some(c.info());
                    }
                }
            }
        }
        self.retry_pending(line)
    }

    /// The next script time something happens on its own: a stack timer, a blocked
    /// call's timeout (poll) or the end of its allowed window (to report it late).
    fn next_wake(&self) -> Option<u64> {
        let timer = self
            .ep
            .as_ref()
            .and_then(Endpoint::poll_timeout)
            .map(|d| d.as_micros().saturating_sub(BASE_US));
        let call = self.pending.as_ref().map(|p| {
            let slack = self.tolerance.max(p.end.saturating_sub(p.start) / 8);
            let late = p.end + slack + 1;
            let poll_timeout = (p.call.name == "poll")
                .then(|| p.call.args.get(2).and_then(Expr::as_int))
                .flatten()
                .filter(|&ms| ms >= 0)
                .map(|ms| p.start + ms as u64 * 1000);
            poll_timeout.map_or(late, |pt| pt.min(late))
        });
        let call = call.filter(|&c| c > self.now);
        match (timer, call) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run timers up to script time `t`.
    pub(super) fn advance_to(&mut self, t: u64, line: usize) -> Res<()> {
        self.pump(line)?;
        let mut guard = 0u32;
        while let Some(d) = self.next_wake() {
            if d > t {
                break;
            }
            self.now = self.now.max(d);
            let now = self.instant(self.now);
            if let Some(ep) = self.ep.as_mut() {
                if ep.poll_timeout().is_some_and(|x| x <= now) {
                    ep.handle_timeout(now);
                }
            }
            self.pump(line)?;
            guard += 1;
            if guard > 1_000_000 {
                return fail(line, "timers to settle", "timer loop without progress");
            }
        }
        self.now = self.now.max(t);
        self.pump(line)
    }

    /// Wait for the next outbound segment and compare it with `p`.
    fn expect_outbound(&mut self, line: usize, p: &PacketEvent, lo: u64, hi: u64) -> Res<u64> {
        let first = self.next_sent(line, p, hi)?;
        let t = first.time;
        if t < lo || t > hi {
            let txt = self.describe(&first);
            return fail(
                line,
                format!("{p} at {}", fmt_time(lo.midpoint(hi))),
                format!(
                    "{txt} at {} (allowed {}..{})",
                    fmt_time(t),
                    fmt_time(lo),
                    fmt_time(hi)
                ),
            );
        }
        // A segment longer than the MSS may arrive as several MSS-sized segments.
        let payload = first.tx.segment.payload.len();
        if usize::from(p.len) > payload && payload > 0 {
            let mut done = payload;
            let mut piece = first;
            loop {
                let part_flags = p.flags.0 & !(TcpFlags::PSH | TcpFlags::FIN);
                let is_last = done >= usize::from(p.len);
                let mut sub = p.clone();
                sub.start_seq = p
                    .start_seq
                    .wrapping_add((done - piece.tx.segment.payload.len()) as u32);
                sub.len = piece.tx.segment.payload.len() as u16;
                sub.end_seq = sub.start_seq.wrapping_add(u32::from(sub.len));
                // PSH is not compared within a line that spans several segments: Linux
                // sets it on every multi-segment (TSO/GSO) packet to flush the receiver's
                // GRO (tcp_transmit_skb), a property of its offload, not of TCP.
                let actual = u16::from(piece.tx.segment.header.flags.bits());
                let psh = actual & TcpFlags::PSH;
                sub.flags = TcpFlags(if is_last {
                    (p.flags.0 & !TcpFlags::PSH) | psh
                } else {
                    part_flags | psh
                });
                self.compare(line, &sub, &piece, p)?;
                if is_last {
                    break;
                }
                piece = self.next_sent(line, p, hi)?;
                done += piece.tx.segment.payload.len();
                if done > usize::from(p.len) {
                    let txt = self.describe(&piece);
                    return fail(
                        line,
                        p.to_string(),
                        format!("{txt} (beyond the expected data)"),
                    );
                }
            }
        } else {
            self.compare(line, p, &first, p)?;
        }
        Ok(t)
    }

    /// The next outbound segment, running timers up to `hi` while none is queued.
    fn next_sent(&mut self, line: usize, p: &PacketEvent, hi: u64) -> Res<Sent> {
        loop {
            if let Some(s) = self.outq.pop_front() {
                return Ok(s);
            }
            match self.next_wake() {
                Some(d) if d <= hi => self.advance_to(d.max(self.now), line)?,
                _ => {
                    return fail(
                        line,
                        p.to_string(),
                        format!("no packet by {}", fmt_time(hi)),
                    );
                }
            }
        }
    }

    fn flow_key(&self, p: &PacketEvent, outbound: bool) -> (u16, u16) {
        match p.ports {
            Some((a, b)) if outbound => (a, b),
            Some((a, b)) => (b, a),
            None => self
                .default_flow
                .unwrap_or((self.bind_port, DEFAULT_REMOTE_PORT)),
        }
    }

    fn local_isn(&self, key: (u16, u16)) -> u32 {
        self.flows.get(&key).and_then(|f| f.local_isn).unwrap_or(0)
    }

    /// Human-readable packetdrill-style rendering of a sent segment.
    fn describe(&self, s: &Sent) -> String {
        let h = &s.tx.segment.header;
        let key = (h.src_port, h.dst_port);
        let isn = self.local_isn(key);
        let seq = h.seq.get().wrapping_sub(isn);
        let len = s.tx.segment.payload.len() as u32;
        let mut out = format!(
            "> {}>{} {} {}:{}({})",
            h.src_port,
            h.dst_port,
            TcpFlags(u16::from(h.flags.bits())),
            seq,
            seq.wrapping_add(len),
            len
        );
        if h.flags.contains(wire::TcpFlags::ACK) {
            let _ = write!(out, " ack {}", h.ack.get().wrapping_sub(REMOTE_ISN));
        }
        let _ = write!(out, " win {}", h.window);
        let opts = self.actual_options(s);
        if !opts.is_empty() {
            out.push_str(" <");
            out.push_str(&opts.join(","));
            out.push('>');
        }
        out
    }

    fn actual_options(&self, s: &Sent) -> Vec<String> {
        let raw = wire::raw_tcp_options(&s.raw).unwrap_or(&[]);
        let mut v = Vec::new();
        for o in wire::options_iter(raw) {
            let Ok(o) = o else {
                v.push("<bad option>".into());
                break;
            };
            v.push(match o {
                WireOpt::Eol => "eol".into(),
                WireOpt::Nop => "nop".into(),
                WireOpt::Mss(m) => format!("mss {m}"),
                WireOpt::WindowScale(w) => format!("wscale {w}"),
                WireOpt::SackPermitted => "sackOK".into(),
                WireOpt::Sack(b) => {
                    let mut t = "sack".to_string();
                    for blk in b.iter() {
                        let _ = write!(
                            t,
                            " {}:{}",
                            blk.left.get().wrapping_sub(REMOTE_ISN),
                            blk.right.get().wrapping_sub(REMOTE_ISN)
                        );
                    }
                    t
                }
                WireOpt::Timestamps(ts) => format!(
                    "TS val {} ecr {}",
                    ts.val.wrapping_sub(self.ts_offset.unwrap_or(0)),
                    ts.ecr
                ),
                WireOpt::Unknown { kind, data } => format!("kind{kind}({}b)", data.len()),
            });
        }
        v
    }

    /// Compare one sent segment with the expectation `p` (`whole` is the script line, for
    /// messages).
    fn compare(&mut self, line: usize, p: &PacketEvent, s: &Sent, whole: &PacketEvent) -> Res<()> {
        let h = &s.tx.segment.header;
        let key = (h.src_port, h.dst_port);
        let mismatch = |this: &Self, what: &str| -> Res<()> {
            fail(
                line,
                whole.to_string(),
                format!("{} ({what})", this.describe(s)),
            )
        };
        if let Some((a, b)) = p.ports {
            if (a, b) != key {
                return mismatch(self, "ports differ");
            }
        } else if let Some((l, r)) = self.default_flow {
            if (l, r) != key {
                return mismatch(self, "another connection");
            }
        }
        let flags = u16::from(h.flags.bits());
        if flags != p.flags.0 & 0xff {
            return mismatch(self, &format!("flags {}", TcpFlags(flags)));
        }
        if p.flags.syn() {
            let isn = h.seq.get().wrapping_sub(p.start_seq);
            self.flows
                .entry(key)
                .or_insert(Flow { local_isn: None })
                .local_isn = Some(isn);
        }
        let seq = h.seq.get().wrapping_sub(self.local_isn(key));
        if seq != p.start_seq {
            return mismatch(self, &format!("seq {seq}"));
        }
        if s.tx.segment.payload.len() != usize::from(p.len) {
            return mismatch(self, &format!("len {}", s.tx.segment.payload.len()));
        }
        if let Some(ack) = p.ack {
            let a = h.ack.get().wrapping_sub(REMOTE_ISN);
            if a != ack {
                return mismatch(self, &format!("ack {a}"));
            }
        }
        if let Some(w) = p.win {
            if h.window != w {
                return mismatch(self, &format!("win {}", h.window));
            }
        }
        if let Some(urg) = p.urg {
            if h.urgent != urg {
                return mismatch(self, &format!("urg {}", h.urgent));
            }
        }
        // Learn the timestamp offset from the first outbound TS option.
        let raw = wire::raw_tcp_options(&s.raw).unwrap_or(&[]).to_vec();
        let actual: Vec<WireOpt<'_>> = wire::options_iter(&raw).filter_map(Result::ok).collect();
        if self.ts_offset.is_none() {
            if let Some(exp) = &p.options {
                for (e, a) in exp.iter().zip(&actual) {
                    if let (TcpOption::Timestamp { val, .. }, WireOpt::Timestamps(ts)) = (e, a) {
                        self.ts_offset = Some(ts.val.wrapping_sub(*val));
                    }
                }
            }
            if self.ts_offset.is_none() {
                if let Some(WireOpt::Timestamps(ts)) =
                    actual.iter().find(|o| matches!(o, WireOpt::Timestamps(_)))
                {
                    self.ts_offset = Some(ts.val);
                }
            }
        }
        let Some(exp) = &p.options else {
            return Ok(());
        };
        let describe_opts = |this: &Self| this.actual_options(s).join(",");
        if exp.len() != actual.len() {
            let txt = describe_opts(self);
            return mismatch(self, &format!("options <{txt}>"));
        }
        for (e, a) in exp.iter().zip(&actual) {
            let ok = match (e, a) {
                (TcpOption::Nop, WireOpt::Nop) | (TcpOption::Eol, WireOpt::Eol) => true,
                (TcpOption::Mss(m), WireOpt::Mss(n)) => m == n,
                (TcpOption::WindowScale(m), WireOpt::WindowScale(n)) => m == n,
                (TcpOption::SackPermitted, WireOpt::SackPermitted) => true,
                (TcpOption::Sack(blocks), WireOpt::Sack(act)) => {
                    blocks.len() == act.len()
                        && blocks.iter().zip(act.iter()).all(|((l, r), b)| {
                            b.left.get().wrapping_sub(REMOTE_ISN) == *l
                                && b.right.get().wrapping_sub(REMOTE_ISN) == *r
                        })
                }
                (TcpOption::Timestamp { val, ecr }, WireOpt::Timestamps(ts)) => {
                    let val_ok = match self.ts_tick {
                        None => true,
                        Some(tick) => {
                            let off = self.ts_offset.unwrap_or(0);
                            let script_val = ts.val.wrapping_sub(off);
                            let slack = (self.tolerance / tick) as i64 + 1;
                            (i64::from(script_val.wrapping_sub(*val) as i32)).abs() <= slack
                        }
                    };
                    val_ok && ts.ecr == *ecr
                }
                (TcpOption::Md5(_) | TcpOption::FastOpen { .. } | TcpOption::Other(_), _) => {
                    return skip(format!("line {line}: option {e} is not supported"));
                }
                _ => false,
            };
            if !ok {
                let txt = describe_opts(self);
                return mismatch(self, &format!("options <{txt}>"));
            }
        }
        Ok(())
    }

    /// Build and deliver an inbound segment.
    fn inject(&mut self, line: usize, p: &PacketEvent) -> Res<()> {
        let key = self.flow_key(p, false);
        let (local_port, remote_port) = key;
        let isn = self.local_isn(key);
        let mut opts = Vec::new();
        for o in p.options.iter().flatten() {
            match o {
                TcpOption::Nop => opts.push(1),
                TcpOption::Eol => opts.push(0),
                TcpOption::Mss(m) => opts.extend_from_slice(&[2, 4, (m >> 8) as u8, *m as u8]),
                TcpOption::WindowScale(w) => opts.extend_from_slice(&[3, 3, *w]),
                TcpOption::SackPermitted => opts.extend_from_slice(&[4, 2]),
                TcpOption::Sack(blocks) => {
                    opts.extend_from_slice(&[5, (2 + 8 * blocks.len()) as u8]);
                    for (l, r) in blocks {
                        opts.extend_from_slice(&l.wrapping_add(isn).to_be_bytes());
                        opts.extend_from_slice(&r.wrapping_add(isn).to_be_bytes());
                    }
                }
                TcpOption::Timestamp { val, ecr } => {
                    let ecr = match self.ts_offset {
                        Some(off) if *ecr != 0 => ecr.wrapping_add(off),
                        _ => *ecr,
                    };
                    opts.extend_from_slice(&[8, 10]);
                    opts.extend_from_slice(&val.to_be_bytes());
                    opts.extend_from_slice(&ecr.to_be_bytes());
                }
                other => {
                    return skip(format!(
                        "line {line}: inbound option {other} is not supported"
                    ));
                }
            }
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let hl = 20 + opts.len();
        let mut seg = vec![0u8; hl + usize::from(p.len)];
        seg[0..2].copy_from_slice(&remote_port.to_be_bytes());
        seg[2..4].copy_from_slice(&local_port.to_be_bytes());
        seg[4..8].copy_from_slice(&p.start_seq.wrapping_add(REMOTE_ISN).to_be_bytes());
        let ack = p.ack.map_or(0, |a| a.wrapping_add(isn));
        seg[8..12].copy_from_slice(&ack.to_be_bytes());
        seg[12] = ((hl / 4) as u8) << 4 | u8::from(p.flags.0 & TcpFlags::AE != 0);
        seg[13] = (p.flags.0 & 0xff) as u8;
        seg[14..16].copy_from_slice(&p.win.unwrap_or(0).to_be_bytes());
        seg[18..20].copy_from_slice(&p.urg.unwrap_or(0).to_be_bytes());
        seg[20..hl].copy_from_slice(&opts);
        let ck = wire::tcp_checksum(self.remote_ip, self.local_ip, &seg);
        seg[16..18].copy_from_slice(&ck.to_be_bytes());
        let now = self.instant(self.now);
        let (src, dst) = (self.remote_ip, self.local_ip);
        if let Err(e) = self
            .endpoint()
            .handle_segment(now, src, dst, Bytes::from(seg))
        {
            return fail(
                line,
                "the stack to take the segment",
                format!("rejected: {e}"),
            );
        }
        if self.default_flow.is_none() {
            self.default_flow = Some(key);
        }
        Ok(())
    }

    /// Backtick lines: well-known sysctls map onto the configuration.
    fn shell(&mut self, cmd: &str) -> Res<()> {
        for part in cmd.split(['\n', ';']).flat_map(|s| s.split("&&")) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            // Turning segmentation offload off on the test device: our stack never hands
            // the link more than one segment per packet anyway.
            if part.starts_with("ethtool -K tun0")
                && part
                    .split_whitespace()
                    .skip(3)
                    .collect::<Vec<_>>()
                    .chunks(2)
                    .all(|kv| kv.len() == 2 && kv[1] == "off")
            {
                continue;
            }
            // `sysctl [-q|-w ...] name=value`, where the value may be quoted and hold
            // spaces (`tcp_rmem="4096 131072 8388608"`).
            let assignment = part.strip_prefix("sysctl ").map(|mut rest| {
                loop {
                    rest = rest.trim_start();
                    match rest.strip_prefix('-') {
                        Some(flag) => {
                            rest = flag.split_once(' ').map_or("", |(_, r)| r);
                        }
                        None => break rest,
                    }
                }
            });
            let assignment = assignment.filter(|a| !a.is_empty());
            let Some(assignment) = assignment else {
                return skip(format!("shell command `{part}`"));
            };
            let Some((name, value)) = assignment.split_once('=') else {
                return skip(format!("shell command `{part}`"));
            };
            let value = value.trim_matches(['"', '\'']);
            self.sysctl(name, value, part)?;
        }
        Ok(())
    }

    fn sysctl(&mut self, name: &str, value: &str, text: &str) -> Res<()> {
        let name = name
            .trim_start_matches("net.ipv4.")
            .trim_start_matches("net/ipv4/")
            .trim_start_matches("net.core.");
        let nums: Vec<u64> = value
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let Some(&v) = nums.first() else {
            return skip(format!("shell command `{text}`"));
        };
        if self.ep.is_some() {
            return skip(format!("sysctl after the stack started: `{text}`"));
        }
        let secs = tcp_core::Duration::from_secs;
        let c = &mut self.cfg;
        match name {
            "tcp_timestamps" => c.timestamps = v != 0,
            "tcp_sack" => c.sack = v != 0,
            "tcp_window_scaling" => c.window_scaling = v != 0,
            "tcp_syncookies" => {
                self.ep_cfg.syncookies = match v {
                    0 => SynCookies::Never,
                    1 => SynCookies::OnOverflow,
                    _ => SynCookies::Always,
                }
            }
            "tcp_max_syn_backlog" => self.ep_cfg.max_syn_backlog = v as usize,
            "tcp_rfc1337" => self.ep_cfg.rfc1337 = v != 0,
            "tcp_syn_retries" => c.syn_retries = v as u32,
            "tcp_synack_retries" => c.synack_retries = v as u32,
            "tcp_retries2" => c.retries2 = v as u32,
            "tcp_orphan_retries" => c.orphan_retries = if v == 0 { 8 } else { v as u32 },
            "tcp_fin_timeout" => c.fin_timeout = secs(v),
            "tcp_keepalive_time" | "tcp_keepalive_intvl" | "tcp_keepalive_probes" => {
                let mut k = c.keepalive.unwrap_or_default();
                match name {
                    "tcp_keepalive_time" => k.idle = secs(v),
                    "tcp_keepalive_intvl" => k.interval = secs(v),
                    _ => k.count = v as u32,
                }
                // The sysctls set defaults; SO_KEEPALIVE turns keepalive on.
                self.keepalive_defaults = Some(k);
            }
            "tcp_rmem" => {
                c.recv_buffer = *nums.get(1).unwrap_or(&v) as usize;
                // rmem[2] bounds auto-tuning and sizes the window scale.
                if let Some(&max) = nums.get(2) {
                    c.recv_buffer_max = max as usize;
                }
            }
            "tcp_wmem" => c.send_buffer = *nums.get(1).unwrap_or(&v) as usize,
            // 1 (basic) and 2 (SACK-enhanced) both select our one F-RTO (RFC 5682 §3.1).
            "tcp_frto" => c.frto = v != 0,
            // Accepted without effect: features we do not have, asked to be off, or
            // tunables with no counterpart that do not change the wire in these scripts.
            "tcp_min_rtt_wlen" | "tcp_no_metrics_save" | "tcp_moderate_rcvbuf" => {}
            // RACK-TLP's tail loss probes (3 and 4 enable them).
            "tcp_early_retrans" => c.tail_loss_probe = v >= 3,
            "tcp_ecn"
            | "tcp_fastopen"
            | "tcp_autocorking"
            | "tcp_recovery"
            | "tcp_dsack"
            | "tcp_thin_linear_timeouts"
            | "tcp_slow_start_after_idle"
            | "tcp_mtu_probing"
                if v == 0 => {}
            _ => return skip(format!("sysctl `{text}` has no counterpart")),
        }
        Ok(())
    }

    /// `%{ }%` blocks: assertions on TCP_INFO-like fields.
    fn code(&mut self, line: usize, block: &CodeBlock) -> Res<()> {
        if !block.fully_parsed() {
            let what = block
                .statements
                .iter()
                .find_map(|s| match s {
                    CodeStatement::Unparsed(t) => Some(t.clone()),
                    CodeStatement::Assert(_) => None,
                })
                .unwrap_or_default();
            return skip(format!("line {line}: cannot evaluate `{what}`"));
        }
        let info = self.current_info();
        for st in &block.statements {
            let CodeStatement::Assert(a) = st else {
                continue;
            };
            let lookup = |n: &str| info_field(info.as_ref(), n);
            match a.eval(&lookup) {
                Some(true) => {}
                Some(false) => {
                    let mut got = String::new();
                    collect_names(&a.first, &mut |n| {
                        if let Some(v) = lookup(n) {
                            let _ = write!(got, "{n} = {v} ");
                        }
                    });
                    for (_, e) in &a.rest {
                        collect_names(e, &mut |n| {
                            if let Some(v) = lookup(n) {
                                if !got.contains(&format!("{n} =")) {
                                    let _ = write!(got, "{n} = {v} ");
                                }
                            }
                        });
                    }
                    return fail(line, code_text(a), got.trim_end().to_string());
                }
                None => return skip(format!("line {line}: cannot evaluate `{}`", code_text(a))),
            }
        }
        Ok(())
    }

    fn current_info(&self) -> Option<tcp_core::Info> {
        let fd = self.info_fd?;
        let s = self.socks.get(&fd)?;
        if let (SockKind::Conn(h), Some(ep)) = (s.kind, self.ep.as_ref()) {
            if let Ok(c) = ep.connection(h) {
                return Some(c.info());
            }
        }
        s.last_info.map(|mut i| {
            i.state = tcp_core::State::Closed;
            i
        })
    }
}

fn code_text(a: &Assertion) -> String {
    let mut s = format!("assert {}", code_expr(&a.first));
    for (op, e) in &a.rest {
        let op = match op {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        };
        let _ = write!(s, " {op} {}", code_expr(e));
    }
    s
}

fn code_expr(e: &CodeExpr) -> String {
    match e {
        CodeExpr::Int(v) => v.to_string(),
        CodeExpr::Name(n) => n.clone(),
        CodeExpr::Neg(e) => format!("-{}", code_expr(e)),
        CodeExpr::Binary(op, a, b) => {
            let op = match op {
                ArithOp::Add => "+",
                ArithOp::Sub => "-",
                ArithOp::Mul => "*",
                ArithOp::Div => "/",
                ArithOp::Rem => "%",
                ArithOp::And => "&",
                ArithOp::Or => "|",
            };
            format!("({} {op} {})", code_expr(a), code_expr(b))
        }
    }
}

fn collect_names(e: &CodeExpr, f: &mut dyn FnMut(&str)) {
    match e {
        CodeExpr::Name(n) => f(n),
        CodeExpr::Neg(e) => collect_names(e, f),
        CodeExpr::Binary(_, a, b) => {
            collect_names(a, f);
            collect_names(b, f);
        }
        CodeExpr::Int(_) => {}
    }
}

/// Linux's numeric TCP state.
fn linux_state(s: tcp_core::State) -> i64 {
    use tcp_core::State::*;
    match s {
        Established => 1,
        SynSent => 2,
        SynRcvd => 3,
        FinWait1 => 4,
        FinWait2 => 5,
        TimeWait => 6,
        Closed => 7,
        CloseWait => 8,
        LastAck => 9,
        Listen => 10,
        Closing => 11,
    }
}

/// The value of a TCP_INFO field or constant for code blocks.
fn info_field(info: Option<&tcp_core::Info>, name: &str) -> Option<i64> {
    let konst = match name {
        "TCP_ESTABLISHED" => Some(1),
        "TCP_SYN_SENT" => Some(2),
        "TCP_SYN_RECV" => Some(3),
        "TCP_FIN_WAIT1" => Some(4),
        "TCP_FIN_WAIT2" => Some(5),
        "TCP_TIME_WAIT" => Some(6),
        "TCP_CLOSE" => Some(7),
        "TCP_CLOSE_WAIT" => Some(8),
        "TCP_LAST_ACK" => Some(9),
        "TCP_LISTEN" => Some(10),
        "TCP_CLOSING" => Some(11),
        "TCPI_OPT_TIMESTAMPS" => Some(1),
        "TCPI_OPT_SACK" => Some(2),
        "TCPI_OPT_WSCALE" => Some(4),
        "TCP_CA_Open" => Some(0),
        "TCP_CA_Recovery" => Some(3),
        "TCP_CA_Loss" => Some(4),
        _ => None,
    };
    if konst.is_some() {
        return konst;
    }
    let i = info?;
    let us = |d: tcp_core::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    let mss = i64::from(i.snd_mss.max(1));
    Some(match name {
        "tcpi_state" => linux_state(i.state),
        "tcpi_rto" => us(i.rto),
        "tcpi_rtt" => i.srtt.map_or(0, us),
        "tcpi_rttvar" => us(i.rttvar),
        "tcpi_snd_cwnd" => i64::from(i.cwnd_segments),
        "tcpi_snd_ssthresh" => i64::from(i.ssthresh) / mss,
        "tcpi_unacked" => (i64::from(i.unacked_bytes) + mss - 1) / mss,
        "tcpi_retransmits" => i64::from(i.retransmits),
        "tcpi_total_retrans" => i64::try_from(i.stats.retransmits).unwrap_or(i64::MAX),
        "tcpi_snd_mss" => i64::from(i.snd_mss),
        "tcpi_rcv_mss" => i64::from(i.rcv_mss),
        "tcpi_probes" => i64::from(i.probes),
        "tcpi_backoff" => i64::from(i.backoff),
        "tcpi_snd_wscale" => i64::from(i.snd_wscale),
        "tcpi_rcv_wscale" => i64::from(i.rcv_wscale),
        "tcpi_options" => {
            i64::from(i.timestamps)
                | i64::from(i.sack) << 1
                | i64::from(i.snd_wscale > 0 || i.rcv_wscale > 0) << 2
        }
        "tcpi_ca_state" => {
            if i.ca_state_recovery {
                3
            } else {
                0
            }
        }
        _ => return None,
    })
}

/// `1.234567` style.
pub(super) fn fmt_time(t: u64) -> String {
    format!("{}.{:06}", t / 1_000_000, t % 1_000_000)
}
