//! The executor: runs a parsed [`Script`] against a `tcp_core::Endpoint` on virtual time,
//! with packetdrill's semantics (google/packetdrill `run.c`, `run_packet.c`,
//! `run_system_call.c`, `code.c`; NPLab's fork for the FreeBSD dialect).
//!
//! # Time
//!
//! Script time `t` (µs) is `Instant::from_micros(BASE_US + t)`; the first event must be at
//! 0. Between events the endpoint's timers run, each at its own deadline. An event's time
//! is computed as packetdrill's `adjust_relative_event_times` does: a relative time
//! (`+t`, `+a~+b`, `*`) counts from *now* when the event starts (the time the previous
//! event finished: for an outbound packet, when it was sent), except that an inbound
//! packet after an inbound packet counts from that packet's script time. A blocking call's
//! `...end` is in the same frame as its start. Before an inbound packet, a system call, a
//! command or a code block, time runs up to the event's time; if it is already past it by
//! more than the tolerance the script fails with a timing error. The tolerance is
//! `max(--tolerance_usecs (4000), --tolerance_percent (12.5) % of the gap since the
//! previous event's time)`, as packetdrill's `verify_time`.
//!
//! # Outbound packets
//!
//! Everything the stack sends is queued with the time it left. A `>` line starts sniffing
//! at once (it does not wait for its time): it takes queued packets in order, silently
//! dropping those that do not belong to the socket under test (see below), and runs the
//! timers while none is queued, up to its time plus 2 s. Without `--strict_segments` it
//! aggregates consecutive packets until their payload reaches the line's length
//! (`do_outbound_script_packet`): each further packet must agree with the previous one in
//! flags (but FIN/PSH/CWR), ack, window, urgent pointer and option length, follow it in
//! sequence, and, unless it completes the line, carry as much payload as the previous one
//! (`verify_packet_fragments`); the aggregate has the headers of the last packet and the
//! sequence number and CWR bit of the first (`aggregate_packets`), so a pure ACK before a
//! data segment is absorbed. The result is compared field by field in packetdrill's order
//! (IP length, TOS/ECN, TTL, TCP data offset, flags, sequence number, ACK number — always,
//! 0 when the line has no `ack` —, window when written, urgent pointer, flow label,
//! options in order with their values, payload), then its time (that of the last packet).
//! TS val is checked only with `--tcp_ts_tick_usecs`, and TS ecr never. A packet nobody
//! expects is seen only if a later `>` line sniffs it first (it then fails that line); one
//! still queued at the end fails nothing, as in packetdrill.
//!
//! # Sockets and numbering
//!
//! As packetdrill, one *socket under test* at a time: the last `socket()`, or the child
//! an inbound packet creates when the socket under test is listening (or missing). Its live
//! 4-tuple decides which sent packets are sniffed. Sequence numbers map as packetdrill's
//! `socket.h`: inbound seq is as written for a SYN and offset by the peer's SYN seq
//! otherwise; inbound ack (and SACK blocks) is offset by our ISN; outbound the reverse,
//! learned from our SYN or SYN-ACK. An inbound TS ecr must name a TS val an earlier `>`
//! line wrote (it is replaced by the value we really sent), or, with
//! `--tcp_ts_ecr_scaled`, is interpolated.
//!
//! # System calls
//!
//! A call with `...end` runs as on packetdrill's system-call thread: it starts at its time;
//! if it blocks, later events run meanwhile and the call must return within the tolerance
//! of `end`; a second blocking call, or a non-blocking call, first waits up to 1 s for it.
//! A call without `...` that would block blocks the whole script (only the stack's timers
//! run) until it returns. At the end of the script a still blocked call fails it.
//!
//! # Code blocks
//!
//! A `%{ }%` block records the socket under test's `TCP_INFO` at its time; after the last
//! event (if nothing failed) all blocks run in order in one Python namespace (see
//! [`super::python`]); the first failing one fails the script at its line.

use super::ast::*;
use super::info::{self, WireTimes};
use super::python::{self, Interpreter, Lookup, PyError};
use super::shell::{self, Host, Output, Stop};
use super::sysctl::{self, Effect, Sysctls};
use super::{ParseError, parse_script_with};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use tcp_core::endpoint::ListenerHandle;
use tcp_core::wire;
use tcp_core::{
    Config, ConnError, ConnHandle, Endpoint, EndpointConfig, EndpointEvent, Event as CoreEvent,
    Info, Instant, State,
};

/// Virtual time of script time 0.
pub(super) const BASE_US: u64 = 1_000_000;
/// The first remote port the script's peer uses for a passive connection (packetdrill asks
/// the kernel for an ephemeral port; any free one does).
pub const DEFAULT_REMOTE_PORT: u16 = 47_123;
/// How long (virtual µs) a `*` line, or a call that blocks the script, waits before the
/// run is reported as hanging (real packetdrill would wait until killed; the oracle kills
/// it after 300 s).
const HANG_US: u64 = 300_000_000;
/// packetdrill's `await_idle_thread`: how long a system call waits for a blocked one.
const AWAIT_IDLE_US: u64 = 1_000_000;

/// The platform a script was written for: which packetdrill dialect, socket API and
/// defaults apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// google/packetdrill on Linux.
    Linux,
    /// NPLab's packetdrill on FreeBSD (the freebsd-net tcp-testsuite).
    FreeBsd,
}

impl Profile {
    /// `linux` / `freebsd`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Linux => "linux",
            Profile::FreeBsd => "freebsd",
        }
    }

    /// The dialect a script's text is written in: FreeBSD if it sets `net.inet.*`
    /// sysctls or runs `sockstat`/`tcpdrop`, else Linux.
    pub fn detect(text: &str) -> Profile {
        if text.contains("net.inet.") || text.contains("sockstat") || text.contains("tcpdrop") {
            Profile::FreeBsd
        } else {
            Profile::Linux
        }
    }
}

/// How to run scripts.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Platform; `None` detects it from each script ([`Profile::detect`]).
    pub profile: Option<Profile>,
    /// Command-line packetdrill options (`name`, `value`): they win over the script's own
    /// option lines, as in packetdrill.
    pub options: Vec<(String, String)>,
    /// Command-line `-D NAME=VALUE` definitions (win over the script's `--define`).
    pub defines: Vec<(String, String)>,
    /// Apply the options upstream's runners pass (google's `run_all.py`, Linux's
    /// `ksft_runner.sh`, as `../shared/oracle/linux-oracle` does): addresses, IPv6 MTU
    /// 1520, `-D TFO_COOKIE=...`. Default on, so results compare with the oracle.
    pub upstream_args: bool,
    /// Run a script that names no family as IPv6 (the oracle's `--ipv6`).
    pub ipv6: bool,
    /// C-preprocessor symbols for `#ifdef` lines; `None`: the profile's (`FreeBSD` or
    /// `Linux`).
    pub cpp_symbols: Option<Vec<String>>,
    /// Diagnostics only: outbound packet fields (`tcp_window`, `options`, `timing`, ...)
    /// whose mismatches are noted instead of failing, to see what differs next. A run
    /// with it says nothing about passing.
    pub diag_ignore: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            profile: None,
            options: Vec::new(),
            defines: Vec::new(),
            upstream_args: true,
            ipv6: false,
            cpp_symbols: None,
            diag_ignore: Vec::new(),
        }
    }
}

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
    /// The script needs something the runner or the core cannot do; the reason starts
    /// with a short category (`ICMP input`, `sysctl net.ipv4.tcp_ecn=1`, ...) before `: `.
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

    /// `PASS`, `FAIL` or `SKIP`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail { .. } => "FAIL",
            Outcome::Skip(_) => "SKIP",
        }
    }
}

/// A script's outcome with what the runner noticed on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The result.
    pub outcome: Outcome,
    /// The profile it ran under.
    pub profile: Profile,
    /// Accepted-but-unmodelled settings, `print` output of code blocks, warnings.
    pub notes: Vec<String>,
}

/// Parse and run the script at `path` with the default options.
pub fn run_file(path: &Path) -> Outcome {
    run_file_with(path, &RunOptions::default()).outcome
}

/// Run a parsed script with the default options (commands run relative to the current
/// directory; the profile is Linux unless the script's commands are FreeBSD's).
pub fn run_script(script: &Script) -> Outcome {
    let text = script.to_string();
    let profile = Profile::detect(&text);
    let opts = RunOptions::default();
    let cli = command_line(&opts, profile, script_family(&text, "", false));
    run_parsed(script, Path::new("."), profile, &cli).outcome
}

/// The IP family a script runs as: its own `--ip_version` line, else its name
/// (`*v4.pkt` / `*v6.pkt`), else the default (as the oracle and upstream runners decide).
fn script_family(text: &str, name: &str, ipv6_default: bool) -> bool {
    for line in text.lines() {
        if let Some(v) = line.trim_start().strip_prefix("--ip_version=") {
            let v = v.trim();
            return v.starts_with("ipv6");
        }
    }
    if name.ends_with("v6.pkt") {
        return true;
    }
    if name.ends_with("v4.pkt") {
        return false;
    }
    ipv6_default
}

/// The command-line options and definitions for a run.
fn command_line(opts: &RunOptions, profile: Profile, ipv6: bool) -> CommandLine {
    let mut options: Vec<(String, String)> = Vec::new();
    let mut defines: Vec<(String, String)> = Vec::new();
    let o = |k: &str, v: &str| (k.to_string(), v.to_string());
    if opts.upstream_args {
        match (profile, ipv6) {
            (Profile::Linux, false) => {
                options.extend([
                    o("ip_version", "ipv4"),
                    o("local_ip", "192.168.0.1"),
                    o("gateway_ip", "192.168.0.1"),
                    o("netmask_ip", "255.255.0.0"),
                    o("remote_ip", "192.0.2.1"),
                ]);
                defines.extend([
                    o("TFO_COOKIE", "3021b9d889017eeb"),
                    o("TFO_COOKIE_ZERO", "b7c12350a90dc8f5"),
                    o("CODE", "host_unreachable"),
                    o("CMSG_LEVEL_IP", "SOL_IP"),
                    o("CMSG_TYPE_RECVERR", "IP_RECVERR"),
                ]);
            }
            (Profile::Linux, true) => {
                options.extend([
                    o("ip_version", "ipv6"),
                    o("mtu", "1520"),
                    o("local_ip", "fd3d:0a0b:17d6::1"),
                    o("gateway_ip", "fd3d:0a0b:17d6:8888::1"),
                    o("remote_ip", "fd3d:fa7b:d17d::1"),
                ]);
                defines.extend([
                    o("TFO_COOKIE", "c1d1e9742a47a9bc"),
                    o("TFO_COOKIE_ZERO", "82af1a8f9a205c34"),
                    o("CMSG_LEVEL_IP", "SOL_IPV6"),
                    o("CMSG_TYPE_RECVERR", "IPV6_RECVERR"),
                ]);
            }
            // The FreeBSD suite's runner passes nothing; the suite's own setkey lines
            // assume 192.168.0.1 <-> 192.0.2.1.
            (Profile::FreeBsd, false) => {
                options.extend([o("local_ip", "192.168.0.1"), o("remote_ip", "192.0.2.1")])
            }
            (Profile::FreeBsd, true) => options.extend([
                o("local_ip", "fd3d:fa7b:d17d::1"),
                o("remote_ip", "2001:db8::1"),
            ]),
        }
    }
    options.extend(opts.options.iter().cloned());
    defines.extend(opts.defines.iter().cloned());
    let cpp = opts.cpp_symbols.clone().unwrap_or_else(|| {
        vec![match profile {
            Profile::Linux => "Linux".to_string(),
            Profile::FreeBsd => "FreeBSD".to_string(),
        }]
    });
    CommandLine {
        options,
        defines,
        cpp,
        diag_ignore: opts.diag_ignore.clone(),
    }
}

struct CommandLine {
    options: Vec<(String, String)>,
    defines: Vec<(String, String)>,
    cpp: Vec<String>,
    diag_ignore: Vec<String>,
}

/// Parse and run the script at `path`.
pub fn run_file_with(path: &Path, opts: &RunOptions) -> Report {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Report {
                outcome: Outcome::Fail {
                    line: 0,
                    expected: "a readable script".into(),
                    happened: format!("cannot read {}: {e}", path.display()),
                },
                profile: opts.profile.unwrap_or(Profile::Linux),
                notes: Vec::new(),
            };
        }
    };
    let profile = opts.profile.unwrap_or_else(|| Profile::detect(&text));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let cli = command_line(opts, profile, script_family(&text, name, opts.ipv6));
    let script = match parse_script_with(&text, &cli.defines, &cli.cpp) {
        Ok(s) => s,
        Err(ParseError { line, message }) => {
            return Report {
                outcome: Outcome::Fail {
                    line,
                    expected: "a valid script".into(),
                    happened: format!("parse error: {message}"),
                },
                profile,
                notes: Vec::new(),
            };
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    run_parsed(&script, dir, profile, &cli)
}

fn run_parsed(script: &Script, dir: &Path, profile: Profile, cli: &CommandLine) -> Report {
    let mut ex = match Exec::new(script, dir, profile, cli) {
        Ok(ex) => ex,
        Err(outcome) => {
            return Report {
                outcome,
                profile,
                notes: Vec::new(),
            };
        }
    };
    let outcome = match ex.run() {
        Ok(()) => Outcome::Pass,
        Err(o) => o,
    };
    let mut notes = std::mem::take(&mut ex.notes);
    notes.extend(
        ex.sys
            .accepted
            .iter()
            .map(|a| format!("accepted sysctl {a}")),
    );
    Report {
        outcome,
        profile,
        notes,
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

/// `1.234567`
pub(super) fn secs(t: i64) -> String {
    format!("{:.6}", t as f64 / 1e6)
}

// ----- settings --------------------------------------------------------------------------

/// packetdrill's `struct config`, from the script's options and then the command line's.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    pub ipv6: bool,
    pub local_ip: IpAddr,
    pub remote_ip: IpAddr,
    pub bind_port: u16,
    pub connect_port: u16,
    pub tolerance_usecs: i64,
    pub tolerance_percent: f64,
    pub ts_tick_usecs: i64,
    pub ts_ecr_scaled: bool,
    pub strict_segments: bool,
    /// `--mss`: inbound packets longer than this are handed in as GSO packets of this size.
    pub gso_mss: Option<u16>,
    pub mtu: u32,
    pub non_fatal_packet: bool,
    pub non_fatal_syscall: bool,
    pub dry_run: bool,
}

fn parse_ip(v: &str) -> Option<IpAddr> {
    v.split('/').next()?.trim().parse().ok()
}

impl Settings {
    fn new(script: &Script, cli: &CommandLine) -> Res<Self> {
        let mut s = Settings {
            ipv6: false,
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            remote_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            bind_port: 8080,
            connect_port: 8080,
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            ts_tick_usecs: 0,
            ts_ecr_scaled: false,
            strict_segments: false,
            gso_mss: None,
            mtu: 1500,
            non_fatal_packet: false,
            non_fatal_syscall: false,
            dry_run: false,
        };
        let (mut local, mut remote) = (None, None);
        // packetdrill: the script's options first, then the command line's overwrite.
        for (k, v) in script.options.iter().chain(cli.options.iter()) {
            let bad = || Outcome::Skip(format!("bad option --{k}={v}"));
            let num = |v: &str| v.trim().parse::<i64>().ok();
            match k.as_str() {
                "ip_version" => match v.as_str() {
                    "ipv4" | "ipv4-mapped-ipv6" => s.ipv6 = false,
                    "ipv6" => s.ipv6 = true,
                    _ => return Err(bad()),
                },
                "local_ip" => local = Some(parse_ip(v).ok_or_else(bad)?),
                "remote_ip" => remote = Some(parse_ip(v).ok_or_else(bad)?),
                "bind_port" => {
                    s.bind_port = num(v).and_then(|p| u16::try_from(p).ok()).ok_or_else(bad)?
                }
                "connect_port" => {
                    s.connect_port = num(v).and_then(|p| u16::try_from(p).ok()).ok_or_else(bad)?
                }
                "tolerance_usecs" => {
                    s.tolerance_usecs = num(v).filter(|&t| t > 0).ok_or_else(bad)?
                }
                "tolerance_percent" => {
                    s.tolerance_percent = v
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=100.0).contains(p))
                        .ok_or_else(bad)?
                }
                "tcp_ts_tick_usecs" => {
                    s.ts_tick_usecs = num(v)
                        .filter(|t| (0..=1_000_000).contains(t))
                        .ok_or_else(bad)?
                }
                "tcp_ts_ecr_scaled" => s.ts_ecr_scaled = true,
                "strict_segments" => s.strict_segments = true,
                "mss" => {
                    s.gso_mss = Some(
                        num(v)
                            .filter(|&m| m > 0)
                            .and_then(|m| u16::try_from(m).ok())
                            .ok_or_else(bad)?,
                    )
                }
                "mtu" => s.mtu = num(v).and_then(|m| u32::try_from(m).ok()).ok_or_else(bad)?,
                "non_fatal" => {
                    for t in v.split([',', ' ']) {
                        match t {
                            "packet" => s.non_fatal_packet = true,
                            "syscall" => s.non_fatal_syscall = true,
                            _ => {}
                        }
                    }
                }
                "dry_run" => s.dry_run = true,
                "gateway_ip" | "netmask_ip" | "define" | "verbose" | "debug" | "send_omit_free"
                | "speed" | "code_command" | "code_format" | "code_sockopt" => {}
                "wire_client" | "wire_server" | "wire_server_ip" | "wire_server_at"
                | "wire_server_port" | "wire_client_dev" | "wire_server_dev" | "so_filename"
                | "so_flags" | "is_anyip" | "psp_udp_port" | "init_scripts" => {
                    return skip(format!("packetdrill mode --{k}: not a local-mode run"));
                }
                "tcp_md5_secret" => {
                    return skip("TCP MD5 signatures (--tcp_md5_secret): not in core");
                }
                "udp_encapsulation" => {
                    return skip(
                        "UDP encapsulation (--udp_encapsulation, RFC 8085 tunneling): not in core",
                    );
                }
                other => return skip(format!("unknown packetdrill option --{other}")),
            }
        }
        s.local_ip = local.unwrap_or(if s.ipv6 {
            IpAddr::V6(Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1))
        });
        s.remote_ip = remote.unwrap_or(if s.ipv6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        });
        if s.local_ip.is_ipv4() == s.ipv6 || s.remote_ip.is_ipv4() == s.ipv6 {
            // packetdrill would fail to parse an address of the other family.
            return skip("addresses of the other IP family than --ip_version");
        }
        Ok(s)
    }

    /// IP header length.
    pub fn ip_header_len(&self) -> usize {
        if self.ipv6 { 40 } else { 20 }
    }
}

// ----- packetdrill's socket model --------------------------------------------------------

/// packetdrill's `enum socket_state_t` (TCP part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PdState {
    New,
    PassiveListening,
    PassivePacketReceived,
    PassiveSynackSent,
    PassiveSynackAcked,
    ActiveConnecting,
    ActiveSynSent,
    ActiveSynAcked,
}

/// packetdrill's `struct socket`: the script's view of one connection.
#[derive(Clone, Debug)]
pub(super) struct PdSocket {
    pub state: PdState,
    /// The script's (and our) file descriptor, once `socket()`/`accept()` named it.
    pub fd: Option<i64>,
    pub script_local_isn: u32,
    pub live_local_isn: u32,
    pub live_remote_isn: u32,
    pub live_local: Option<SocketAddr>,
    pub live_remote: Option<SocketAddr>,
    /// Script TS val → TS val we really sent.
    pub ts_map: HashMap<u32, u32>,
    /// (script, actual) of the first outbound timestamp.
    pub first_ts: Option<(u32, u32)>,
    pub wire: WireTimes,
}

impl PdSocket {
    pub(super) fn new(state: PdState, fd: Option<i64>) -> Self {
        PdSocket {
            state,
            fd,
            script_local_isn: 0,
            live_local_isn: 0,
            live_remote_isn: 0,
            live_local: None,
            live_remote: None,
            ts_map: HashMap::new(),
            first_ts: None,
            wire: WireTimes::default(),
        }
    }

    fn remote_seq_script_to_live(&self, syn: bool) -> u32 {
        if syn { 0 } else { self.live_remote_isn }
    }

    fn local_seq_script_to_live(&self, syn: bool) -> u32 {
        if syn {
            self.live_local_isn.wrapping_sub(self.script_local_isn)
        } else {
            self.live_local_isn
        }
    }
}

// ----- fds -------------------------------------------------------------------------------

/// What an fd is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SockKind {
    Fresh,
    Listener(ListenerHandle),
    Conn(ConnHandle),
}

/// Socket options the script set (per fd; a listener's are inherited on accept).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SockOpts {
    pub nodelay: bool,
    /// TCP_CORK (FreeBSD: TCP_NOPUSH).
    pub cork: bool,
    pub maxseg: Option<u16>,
    pub keepalive: bool,
    pub keep_idle: Option<u64>,
    pub keep_intvl: Option<u64>,
    pub keep_cnt: Option<u32>,
    pub user_timeout_ms: Option<u64>,
    pub linger: Option<(bool, u64)>,
    pub rcvbuf: Option<u64>,
    pub sndbuf: Option<u64>,
    pub inq: bool,
    pub syncnt: Option<u32>,
    pub reuseaddr: bool,
    pub notsent_lowat: Option<u64>,
    pub zerocopy: bool,
    /// IP_TOS / IPV6_TCLASS (the core sends every packet with 0).
    pub tos: u32,
    /// FreeBSD's TCP_NOOPT: no options in the SYN or SYN-ACK.
    pub noopt: bool,
}

/// One socket fd.
#[derive(Clone, Debug)]
pub(super) struct Sock {
    pub kind: SockKind,
    pub nonblock: bool,
    pub opts: SockOpts,
    pub bound: Option<SocketAddr>,
    /// Errno of an error not yet reported by SO_ERROR / read / write.
    pub pending_error: Option<&'static str>,
    /// The connection failed with this.
    pub failed: Option<ConnError>,
    /// The connection reached ESTABLISHED (for a non-blocking connect's result).
    pub connected: bool,
    /// `connect()` returned EINPROGRESS and its outcome is not reported yet.
    pub connect_pending: bool,
    pub shut_rd: bool,
    pub shut_wr: bool,
    /// Last known info, for code blocks and getsockopt after the handle went away.
    pub last_info: Option<Info>,
    /// `tcpdrop` dropped it.
    pub dropped: bool,
    /// A listener's accept-queue size (to listen again if the endpoint is rebuilt).
    pub queue: usize,
    /// SO_SNDBUF set on a connected socket (the value as written): the core's buffer is
    /// per endpoint, so a write that this size would limit SKIPs.
    pub late_sndbuf: Option<u64>,
}

/// An epoll instance.
#[derive(Clone, Debug, Default)]
pub(super) struct Epoll {
    /// fd → (events mask, data, edge-triggered: last reported mask, one-shot armed)
    pub watched: BTreeMap<i64, EpollWatch>,
}

/// One fd in an epoll set.
#[derive(Clone, Copy, Debug)]
pub(super) struct EpollWatch {
    pub events: i64,
    pub data: i64,
    /// A wakeup (data, space, FIN, error) happened since it was last reported: what
    /// makes an edge-triggered watch report (Linux queues the item on each wakeup).
    pub triggered: bool,
    pub disabled: bool,
}

#[derive(Clone, Debug)]
pub(super) enum Fd {
    Sock(Box<Sock>),
    Epoll(Epoll),
    /// A file `open()`ed from the runner's file table (`dd if=/dev/zero of=...`):
    /// its path and read offset.
    File(String, u64),
    /// One end of a `pipe()` (the id of its buffer in `pipes`; true for the write end).
    Pipe(usize, bool),
}

/// A call on packetdrill's system-call thread that has started and not yet returned.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub line: usize,
    pub call: SyscallEvent,
    pub start: u64,
    pub end: u64,
    pub kind: TimeKind,
    pub progress: usize,
}

/// A sent segment as the runner sniffed it.
#[derive(Clone, Debug)]
pub(super) struct Sent {
    pub time: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub raw: Vec<u8>,
    /// The ECN codepoint for the IP header (two bits).
    pub ecn: u8,
}

/// A TCP segment's fields (a sniffed one, or an aggregate of several).
#[derive(Clone, Debug)]
pub(super) struct Seg {
    pub time: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub ae: bool,
    pub res: u8,
    pub window: u16,
    pub urg: u16,
    pub options: Vec<u8>,
    pub payload: usize,
    /// The IP header's ECN codepoint (two bits).
    pub ecn: u8,
}

impl Seg {
    fn parse(s: &Sent) -> Option<Seg> {
        let r = &s.raw;
        if r.len() < 20 {
            return None;
        }
        let doff = usize::from(r[12] >> 4) * 4;
        if doff < 20 || doff > r.len() {
            return None;
        }
        Some(Seg {
            time: s.time,
            src: s.src,
            dst: s.dst,
            seq: u32::from_be_bytes([r[4], r[5], r[6], r[7]]),
            ack: u32::from_be_bytes([r[8], r[9], r[10], r[11]]),
            flags: r[13],
            ae: r[12] & 1 != 0,
            res: (r[12] >> 1) & 0x7,
            window: u16::from_be_bytes([r[14], r[15]]),
            urg: u16::from_be_bytes([r[18], r[19]]),
            options: r[20..doff].to_vec(),
            payload: r.len() - doff,
            ecn: s.ecn,
        })
    }

    pub fn has(&self, bit: u16) -> bool {
        u16::from(self.flags) & bit != 0
    }

    fn doff(&self) -> usize {
        5 + self.options.len() / 4
    }
}

/// A recorded code block.
struct CodeRecord {
    line: usize,
    block: CodeBlock,
    vars: Vec<(String, Lookup)>,
}

/// How an event's time was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimeKind {
    Absolute,
    Relative,
    Any,
    AbsoluteRange,
    RelativeRange,
}

/// An event's time after `adjust_relative_event_times`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timing {
    pub kind: TimeKind,
    pub time: u64,
    pub end: u64,
}

// ----- the executor ----------------------------------------------------------------------

/// The executor state.
pub(super) struct Exec<'a> {
    pub(super) script: &'a Script,
    pub(super) dir: PathBuf,
    pub(super) profile: Profile,
    pub(super) set: Settings,
    pub(super) cfg: Config,
    pub(super) ep_cfg: EndpointConfig,
    pub(super) sys: Sysctls,
    pub(super) ep: Option<Endpoint>,
    /// Current script time (µs).
    pub(super) now: u64,
    /// The adjusted time of the previous event (`last_event_time_usecs`).
    pub(super) last_event_time: Option<u64>,
    last_event_inbound: bool,
    /// The previous event's time was absolute (packetdrill checks that time does not go
    /// backwards only between two absolute events).
    last_event_absolute: bool,
    /// Events run so far (packetdrill's `num_events`).
    num_events: usize,
    /// The event being run (line and timing), for checks that need it.
    pub(super) cur: Option<(usize, Timing)>,
    pub(super) outq: VecDeque<Sent>,
    pub(super) fds: BTreeMap<i64, Fd>,
    pub(super) pd: Vec<PdSocket>,
    pub(super) sut: Option<usize>,
    next_remote_port: u16,
    pub(super) pending: Option<Pending>,
    /// The line of a blocking write that sleeps until the connection is writable again
    /// (`sk_stream_wait_memory`: woken by `sk_stream_write_space`, not by every event).
    pub(super) write_sleeps: Option<usize>,
    code: Vec<CodeRecord>,
    pub(super) notes: Vec<String>,
    /// A setting changed after the endpoint was created (the core's configuration is
    /// fixed per endpoint): the next event that involves the stack SKIPs with it.
    pub(super) late_change: Option<String>,
    /// A packet left while the script had set something the core cannot put on it
    /// (a non-zero IP_TOS): the next event SKIPs with it.
    pub(super) unsent_setting: Option<String>,
    /// The last segment the stack sent on each (local, remote) pair: its ACK number,
    /// window field and whether it was a SYN (FreeBSD's `last_ack_sent`, for the
    /// segments whose handling depends on sysctls the core lacks).
    last_sent: HashMap<(SocketAddr, SocketAddr), (u32, u16, bool)>,
    /// Files shell lines wrote (`dd if=/dev/zero of=PATH`): path -> size (all zeroes,
    /// as packetdrill's payloads).
    pub(super) files: BTreeMap<String, u64>,
    /// Bytes buffered in each `pipe()`.
    pub(super) pipes: Vec<u64>,
    /// The line of an inbound segment with urgent data: Linux and FreeBSD (without
    /// SO_OOBINLINE) take the urgent byte out of the stream, the core does not, so a
    /// later read that returns data SKIPs.
    pub(super) urgent_line: Option<usize>,
    /// Packet fields whose mismatches are only noted (`--diag-ignore`).
    diag_ignore: Vec<String>,
    /// `nstat`'s history: counter values at the last `nstat`.
    pub(super) nstat_history: BTreeMap<String, u64>,
    /// Connection counters of sockets already closed (for `nstat`).
    pub(super) closed_stats: tcp_core::conn::ConnStats,
}

impl<'a> Exec<'a> {
    fn new(script: &'a Script, dir: &Path, profile: Profile, cli: &CommandLine) -> Res<Self> {
        let set = Settings::new(script, cli)?;
        let (mut cfg, ep_cfg) = sysctl::preset(profile);
        // The device MTU gives the MSS (IPv4: 40 bytes of headers, IPv6: 60).
        let hdr = if set.ipv6 { 60 } else { 40 };
        cfg.mss = u16::try_from(set.mtu.saturating_sub(hdr)).unwrap_or(u16::MAX);
        if profile == Profile::Linux && set.ipv6 && set.mtu == 1500 {
            cfg.mss = 1440;
        }
        Ok(Exec {
            script,
            dir: dir.to_path_buf(),
            profile,
            sys: Sysctls::new(profile),
            set,
            cfg,
            ep_cfg,
            ep: None,
            now: 0,
            last_event_time: None,
            last_event_inbound: false,
            last_event_absolute: false,
            num_events: 0,
            cur: None,
            outq: VecDeque::new(),
            fds: BTreeMap::new(),
            pd: Vec::new(),
            sut: None,
            next_remote_port: DEFAULT_REMOTE_PORT,
            pending: None,
            write_sleeps: None,
            code: Vec::new(),
            notes: Vec::new(),
            late_change: None,
            unsent_setting: None,
            last_sent: HashMap::new(),
            files: BTreeMap::new(),
            pipes: Vec::new(),
            urgent_line: None,
            diag_ignore: cli.diag_ignore.clone(),
            nstat_history: BTreeMap::new(),
            closed_stats: Default::default(),
        })
    }

    pub(super) fn instant(&self, t: u64) -> Instant {
        Instant::from_micros(BASE_US + t)
    }

    /// The endpoint, created on first use from the configuration at that time.
    pub(super) fn endpoint(&mut self) -> &mut Endpoint {
        let (cfg, ep_cfg) = (self.cfg.clone(), self.ep_cfg.clone());
        self.ep.get_or_insert_with(|| Endpoint::new(cfg, ep_cfg))
    }

    pub(super) fn sock(&self, fd: i64) -> Option<&Sock> {
        match self.fds.get(&fd) {
            Some(Fd::Sock(s)) => Some(s),
            _ => None,
        }
    }

    pub(super) fn sock_mut(&mut self, fd: i64) -> Option<&mut Sock> {
        match self.fds.get_mut(&fd) {
            Some(Fd::Sock(s)) => Some(s),
            _ => None,
        }
    }

    fn run(&mut self) -> Res<()> {
        let events = &self.script.events;
        let first_timed = events.iter().position(|e| e.time != EventTime::Untimed);
        let last_timed = events.iter().rposition(|e| e.time != EventTime::Untimed);
        if self.set.dry_run {
            return Ok(());
        }
        // The init command runs before the script starts.
        for (i, ev) in events.iter().enumerate() {
            if ev.time != EventTime::Untimed {
                continue;
            }
            let before = first_timed.is_none_or(|f| i < f);
            let after = last_timed.is_some_and(|l| i > l);
            if !before && !after {
                return fail(
                    ev.line,
                    "a timed event",
                    "a command without a time between events",
                );
            }
        }
        let Some(first) = first_timed else {
            // Only commands: run them.
            for ev in events {
                if let EventKind::Shell(cmd) = &ev.kind {
                    self.command(ev.line, cmd, "init command")?;
                }
            }
            return Ok(());
        };
        for ev in &events[..first] {
            if let EventKind::Shell(cmd) = &ev.kind {
                self.command(ev.line, cmd, "init command")?;
            }
        }
        let last = last_timed.unwrap_or(first);
        for (i, ev) in events[first..=last].iter().enumerate() {
            // packetdrill checks the first event's time value, so `+0` passes too.
            if i == 0 && !matches!(ev.time, EventTime::Absolute(0) | EventTime::Relative(0)) {
                return fail(ev.line, "the first event at time 0", "another time");
            }
            self.event(ev)?;
        }
        // The cleanup command.
        for ev in &events[last + 1..] {
            if let EventKind::Shell(cmd) = &ev.kind {
                self.command(ev.line, cmd, "cleanup command")?;
            }
        }
        self.run_code()?;
        // syscalls_free: wait a second for a blocked call, then fail.
        if self.pending.is_some() {
            let until = self.now + AWAIT_IDLE_US;
            self.await_idle(until)?;
            if let Some(p) = &self.pending {
                return fail(
                    p.line,
                    format!("{} to return", p.call.name),
                    "runtime error: exiting while a blocking system call is in progress",
                );
            }
        }
        Ok(())
    }

    /// `adjust_relative_event_times`.
    fn timing(&self, ev: &Event) -> Timing {
        let inbound_packet = |e: &EventKind| {
            matches!(e, EventKind::Packet(p) if p.direction == Direction::Inbound)
                || matches!(e, EventKind::Icmp(p) if p.direction == Direction::Inbound)
                || matches!(e, EventKind::Udp(p) if p.direction == Direction::Inbound)
        };
        let offset = if self.last_event_inbound && inbound_packet(&ev.kind) {
            self.last_event_time.unwrap_or(self.now)
        } else {
            self.now
        };
        match ev.time {
            EventTime::Untimed => Timing {
                kind: TimeKind::Relative,
                time: self.now,
                end: self.now,
            },
            EventTime::Absolute(t) => Timing {
                kind: TimeKind::Absolute,
                time: t,
                end: t,
            },
            EventTime::Relative(d) => Timing {
                kind: TimeKind::Relative,
                time: offset + d,
                end: offset + d,
            },
            EventTime::Any => Timing {
                kind: TimeKind::Any,
                time: offset,
                end: offset,
            },
            EventTime::AbsoluteRange(a, b) => Timing {
                kind: TimeKind::AbsoluteRange,
                time: a,
                end: b,
            },
            EventTime::RelativeRange(a, b) => Timing {
                kind: TimeKind::RelativeRange,
                time: offset + a,
                end: offset + b,
            },
        }
    }

    /// packetdrill's `verify_time`: `Err(message)` when `actual` is outside the window.
    pub(super) fn verify_time(
        &self,
        kind: TimeKind,
        time: u64,
        end: u64,
        actual: u64,
        last_event: Option<u64>,
        what: &str,
    ) -> Result<(), String> {
        if kind == TimeKind::Any {
            return Ok(());
        }
        let mut tol = self.set.tolerance_usecs;
        if let Some(last) = last_event {
            let delta = time as i64 - last as i64;
            let dynamic = (self.set.tolerance_percent / 100.0 * delta as f64) as i64;
            tol = tol.max(dynamic);
        }
        let (t, e, a) = (time as i64, end as i64, actual as i64);
        if matches!(kind, TimeKind::AbsoluteRange | TimeKind::RelativeRange) {
            if a < t - tol || a > e + tol {
                return Err(format!(
                    "timing error: expected {what} in time range {}~{} sec but happened at {} sec",
                    secs(t),
                    secs(e),
                    secs(a)
                ));
            }
            return Ok(());
        }
        if a < t - tol || a > t + tol {
            return Err(format!(
                "timing error: expected {what} at {} sec but happened at {} sec; tolerance {} sec",
                secs(t),
                secs(a),
                secs(tol)
            ));
        }
        Ok(())
    }

    /// `wait_for_event`: run time up to the event and check it is not late.
    pub(super) fn wait_for_event(&mut self, line: usize, t: Timing, what: &str) -> Res<()> {
        if self.num_events == 0 {
            return Ok(());
        }
        self.advance_to(t.time)?;
        if let Err(m) =
            self.verify_time(t.kind, t.time, t.end, self.now, self.last_event_time, what)
        {
            return fail(line, format!("{what} on time"), m);
        }
        Ok(())
    }

    fn event(&mut self, ev: &Event) -> Res<()> {
        let t = self.timing(ev);
        // Absolute times must not go backwards.
        if let (EventTime::Absolute(a) | EventTime::AbsoluteRange(a, _), Some(last)) =
            (ev.time, self.last_event_time)
            && self.last_event_absolute
            && a < last
        {
            return fail(
                ev.line,
                "times that do not go backwards",
                format!("time goes backward in script from {last} usec to {a} usec"),
            );
        }
        self.cur = Some((ev.line, t));
        if !matches!(ev.kind, EventKind::Shell(_) | EventKind::Code(_))
            && let Some(why) = self.late_change.take()
        {
            return skip(format!(
                "setting changed while the stack runs: {why} (the core's configuration is fixed per endpoint)"
            ));
        }
        if let Some(why) = self.unsent_setting.take() {
            return skip(why);
        }
        let mut inbound = false;
        match &ev.kind {
            EventKind::Packet(p) => {
                inbound = p.direction == Direction::Inbound;
                self.packet_event(ev.line, p, t)?;
            }
            EventKind::Syscall(call) => self.syscall_event(ev.line, call, ev.time, t)?,
            EventKind::Shell(cmd) => {
                self.wait_for_event(ev.line, t, "command")?;
                self.command(ev.line, cmd, "command")?;
            }
            EventKind::Code(block) => {
                self.wait_for_event(ev.line, t, "data collection for code")?;
                self.record_code(ev.line, block)?;
            }
            EventKind::Icmp(i) => {
                self.wait_for_event(ev.line, t, "inbound packet")?;
                self.icmp_event(ev.line, i)?;
            }
            EventKind::Udp(u) => {
                return skip(format!("UDP packets: line {} `{u}`", ev.line));
            }
        }
        self.last_event_time = Some(t.time);
        self.last_event_inbound = inbound;
        self.last_event_absolute = matches!(
            ev.time,
            EventTime::Absolute(_) | EventTime::AbsoluteRange(..)
        );
        self.num_events += 1;
        Ok(())
    }

    // ----- time and the stack ----------------------------------------------------------

    /// The next script time something happens on its own: a stack timer, or a blocked
    /// poll's/epoll_wait's timeout.
    pub(super) fn next_wake(&self) -> Option<u64> {
        let timer = self
            .ep
            .as_ref()
            .and_then(Endpoint::poll_timeout)
            .map(|d| d.as_micros().saturating_sub(BASE_US).max(self.now));
        let call = self
            .pending
            .as_ref()
            .and_then(|p| self.call_timeout(&p.call, p.start));
        let call = call.filter(|&c| c > self.now);
        match (timer, call) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When a waiting poll/epoll_wait call times out.
    pub(super) fn call_timeout(&self, call: &SyscallEvent, start: u64) -> Option<u64> {
        let idx = match call.name.as_str() {
            "poll" => 2,
            "epoll_wait" => 3,
            _ => return None,
        };
        let ms = call.args.get(idx).and_then(Expr::as_int)?;
        (ms >= 0).then(|| start + ms as u64 * 1000)
    }

    /// Run timers up to script time `t` (time never goes backwards).
    pub(super) fn advance_to(&mut self, t: u64) -> Res<()> {
        self.pump()?;
        let mut guard = 0u32;
        while let Some(d) = self.next_wake() {
            if d > t {
                break;
            }
            self.step_to(d)?;
            guard += 1;
            if guard > 5_000_000 {
                return skip(
                    "timer loop without progress (stack timers keep firing at the same time)",
                );
            }
        }
        self.now = self.now.max(t);
        self.pump()
    }

    /// Move to `d` and run what is due there.
    pub(super) fn step_to(&mut self, d: u64) -> Res<()> {
        self.now = self.now.max(d);
        let now = self.instant(self.now);
        if let Some(ep) = self.ep.as_mut()
            && ep.poll_timeout().is_some_and(|x| x <= now)
        {
            ep.handle_timeout(now);
        }
        self.pump()
    }

    /// Collect transmits and events, and give a blocked call another chance.
    pub(super) fn pump(&mut self) -> Res<()> {
        for _ in 0..64 {
            self.collect();
            if !self.retry_pending()? {
                break;
            }
        }
        Ok(())
    }

    fn collect(&mut self) {
        let profile = self.profile;
        let now = self.instant(self.now);
        let handles: Vec<_> = self
            .fds
            .values()
            .filter_map(|f| match f {
                Fd::Sock(s) => match s.kind {
                    SockKind::Conn(h) => Some(h),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let Some(ep) = self.ep.as_mut() else {
            return;
        };
        while let Some(tx) = ep.poll_transmit(now) {
            let mut raw = vec![0u8; tx.len()];
            let n = tx.encode(&mut raw).unwrap_or(0);
            raw.truncate(n);
            if std::env::var_os("PKT_TRACE").is_some() {
                let wmem: Vec<u32> = handles
                    .iter()
                    .filter_map(|&h| ep.connection(h).ok().map(|c| c.send_memory_queued()))
                    .collect();
                eprintln!(
                    "{} sent {:?} seq {} ack {} win {} len {} wmem {wmem:?}",
                    secs(self.now as i64),
                    tx.segment.header.flags,
                    tx.segment.header.seq,
                    tx.segment.header.ack,
                    tx.segment.header.window,
                    tx.segment.payload.len()
                );
            }
            if self.unsent_setting.is_none() {
                let line = self.cur.map_or(0, |c| c.0);
                self.unsent_setting = self.fds.values().find_map(|f| match f {
                    Fd::Sock(s) if s.opts.tos != 0 => Some(format!(
                        "IP_TOS / IPV6_TCLASS: line {line}: a packet was sent while it was {:#x}; TOS / traffic class on sent packets not in core",
                        s.opts.tos
                    )),
                    _ => None,
                });
            }
            let h = &tx.segment.header;
            if h.flags.contains(wire::TcpFlags::ACK) {
                self.last_sent.insert(
                    (tx.src, tx.dst),
                    (h.ack.get(), h.window, h.flags.contains(wire::TcpFlags::SYN)),
                );
            }
            self.outq.push_back(Sent {
                time: self.now,
                src: tx.src,
                dst: tx.dst,
                raw,
                ecn: tx.segment.ecn.bits(),
            });
        }
        while let Some(ev) = ep.poll_event() {
            // Wakeups for edge-triggered epoll watches.
            let woken: Vec<i64> = self
                .fds
                .iter()
                .filter_map(|(fd, f)| match (f, ev) {
                    (Fd::Sock(s), EndpointEvent::Conn(h, _)) if s.kind == SockKind::Conn(h) => {
                        Some(*fd)
                    }
                    (Fd::Sock(s), EndpointEvent::Acceptable(l))
                        if s.kind == SockKind::Listener(l) =>
                    {
                        Some(*fd)
                    }
                    _ => None,
                })
                .collect();
            for f in self.fds.values_mut() {
                if let Fd::Epoll(e) = f {
                    for fd in &woken {
                        if let Some(w) = e.watched.get_mut(fd) {
                            w.triggered = true;
                        }
                    }
                }
            }
            let EndpointEvent::Conn(h, e) = ev else {
                continue;
            };
            for fd in self.fds.values_mut() {
                let Fd::Sock(s) = fd else { continue };
                if s.kind != SockKind::Conn(h) {
                    continue;
                }
                match e {
                    CoreEvent::Error(err) => {
                        // Linux's tcp_reset: a RST in CLOSE_WAIT is EPIPE; in SYN_SENT
                        // ECONNREFUSED. FreeBSD's tcp_input sets ECONNRESET in every
                        // synchronized state (ECONNREFUSED in SYN_RECEIVED).
                        let close_wait = profile == Profile::Linux
                            && s.last_info.is_some_and(|i| i.state == State::CloseWait);
                        s.pending_error = Some(match err {
                            ConnError::Reset if close_wait => "EPIPE",
                            e => conn_errno(e),
                        });
                        s.failed = Some(err);
                    }
                    CoreEvent::Connected => s.connected = true,
                    _ => {}
                }
            }
        }
        // Snapshot infos.
        if let Some(ep) = self.ep.as_ref() {
            for fd in self.fds.values_mut() {
                let Fd::Sock(s) = fd else { continue };
                if let SockKind::Conn(h) = s.kind
                    && let Ok(c) = ep.connection(h)
                {
                    s.last_info = Some(c.info());
                    if c.state().is_synchronized() {
                        s.connected = true;
                    }
                }
            }
        }
    }

    // ----- commands --------------------------------------------------------------------

    fn command(&mut self, line: usize, cmd: &str, what: &str) -> Res<()> {
        match shell::run(self, cmd) {
            Ok(0) => Ok(()),
            Ok(status) => fail(
                line,
                format!("`{}` to succeed", cmd.trim()),
                format!("error executing {what}: non-zero status {status}"),
            ),
            Err(Stop::Skip(why)) => skip(format!("{why}: line {line}")),
        }
    }

    /// A setting changed: before the stack starts it shapes the endpoint; afterwards
    /// the next event that involves the stack SKIPs.
    pub(super) fn config_changed(&mut self, what: String) {
        if self.ep.is_none() {
            return;
        }
        // An endpoint that has not exchanged a segment and holds no connection can be
        // rebuilt with the new configuration (its listeners listen again).
        let idle = self.ep.as_ref().is_some_and(|ep| {
            let s = ep.stats();
            s.segments_in == 0 && s.segments_out == 0
        }) && !self
            .fds
            .values()
            .any(|f| matches!(f, Fd::Sock(s) if matches!(s.kind, SockKind::Conn(_))));
        if !idle {
            self.late_change = Some(what);
            return;
        }
        let mut ep = Endpoint::new(self.cfg.clone(), self.ep_cfg.clone());
        for f in self.fds.values_mut() {
            let Fd::Sock(s) = f else { continue };
            if let (SockKind::Listener(_), Some(addr)) = (s.kind, s.bound) {
                match ep.listen(addr, s.queue) {
                    Ok(l) => s.kind = SockKind::Listener(l),
                    Err(_) => {
                        self.late_change = Some(what);
                        return;
                    }
                }
            }
        }
        self.ep = Some(ep);
    }

    // ----- code blocks -----------------------------------------------------------------

    fn record_code(&mut self, line: usize, block: &CodeBlock) -> Res<()> {
        let Some(sut) = self.sut else {
            return fail(
                line,
                "a socket for the code",
                "runtime error in code: no socket to use for code",
            );
        };
        let fd = self.pd[sut].fd;
        let sock = fd.and_then(|fd| self.sock(fd).cloned());
        let Some(sock) = sock else {
            return fail(
                line,
                "TCP_INFO of the socket under test",
                "runtime error in code: can't find getsockopt to get TCP info",
            );
        };
        let mut vars = info::constants(self.profile);
        let conn = match (sock.kind, self.ep.as_ref()) {
            (SockKind::Conn(h), Some(ep)) => ep.connection(h).ok().map(|c| c.info()),
            _ => None,
        };
        let wire = self.pd[sut].wire;
        let now = self.instant(self.now);
        let linux = match (sock.kind, self.ep.as_ref()) {
            (SockKind::Conn(h), Some(ep)) if self.profile == Profile::Linux => {
                ep.connection(h).ok().map(|c| c.tcp_info(now))
            }
            _ => None,
        };
        let fields = match (sock.kind, conn, sock.last_info) {
            (SockKind::Conn(_), Some(_), _) if linux.is_some() => {
                let t = linux.unwrap_or_default();
                info::linux_fields(&t, self.sys.reordering)
            }
            (SockKind::Conn(_), Some(i), _) => {
                if self.profile == Profile::FreeBsd && i.state == State::TimeWait {
                    return fail(
                        line,
                        "TCP_INFO of the socket under test",
                        "runtime error in code: can't find getsockopt to get TCP info (FreeBSD: no TCP options in TIME-WAIT)",
                    );
                }
                info::fields(self.profile, &i, &wire, self.now, self.sys.reordering)
            }
            (SockKind::Conn(_), None, Some(mut i)) => {
                if self.profile == Profile::FreeBsd {
                    return fail(
                        line,
                        "TCP_INFO of the socket under test",
                        "runtime error in code: can't find getsockopt to get TCP info (FreeBSD: connection gone)",
                    );
                }
                i.state = State::Closed;
                info::fields(self.profile, &i, &wire, self.now, self.sys.reordering)
            }
            (SockKind::Listener(_), _, _) => {
                let mut f =
                    info::all_unknown(self.profile, "a listener's TCP_INFO is not modelled");
                let listen = match self.profile {
                    Profile::Linux => 10,
                    Profile::FreeBsd => 1,
                };
                f.retain(|(k, _)| k != "tcpi_state");
                f.push((
                    "tcpi_state".into(),
                    Lookup::Value(python::Value::Int(listen)),
                ));
                f
            }
            _ => {
                let mut f = info::all_unknown(self.profile, "the socket has no connection");
                let closed = match self.profile {
                    Profile::Linux => 7,
                    Profile::FreeBsd => 0,
                };
                f.retain(|(k, _)| k != "tcpi_state");
                f.push((
                    "tcpi_state".into(),
                    Lookup::Value(python::Value::Int(closed)),
                ));
                f
            }
        };
        vars.extend(fields);
        self.code.push(CodeRecord {
            line,
            block: block.clone(),
            vars,
        });
        Ok(())
    }

    /// `code_execute`: run every recorded block in one namespace.
    fn run_code(&mut self) -> Res<()> {
        // Python compiles the whole file first: a syntax error anywhere fails it.
        for r in &self.code {
            if let Err(e) = &r.block.program {
                if e.message.contains("not supported by the runner") {
                    return skip(format!("Python construct: {} (line {})", e.message, r.line));
                }
                return fail(
                    r.line,
                    r.block.text.clone(),
                    format!("error in Python code: {}", e.message),
                );
            }
        }
        let mut py = Interpreter::new();
        for r in &self.code {
            let Ok(prog) = &r.block.program else { continue };
            py.assign_all(r.vars.iter().cloned());
            let res = py.run(prog);
            for p in py.printed.drain(..) {
                self.notes.push(format!("line {}: print: {p}", r.line));
            }
            match res {
                Ok(()) => {}
                Err((_, PyError::Unknown(why))) => {
                    return skip(format!("code block reads {why} (line {})", r.line));
                }
                Err((_, e)) => {
                    return fail(
                        r.line,
                        r.block.text.clone(),
                        format!("error in Python code: {e}"),
                    );
                }
            }
        }
        Ok(())
    }

    // ----- packets ---------------------------------------------------------------------

    fn packet_event(&mut self, line: usize, p: &PacketEvent, t: Timing) -> Res<()> {
        if let Some((s, d)) = p.udp_encap {
            return skip(format!(
                "UDP encapsulation: line {line} `/udp({s} > {d})` (RFC 8085 tunneling not in core)"
            ));
        }
        let sock = self.find_or_create_socket(line, p)?;
        match p.direction {
            Direction::Outbound => self.outbound(line, p, sock, t),
            Direction::Inbound => {
                self.wait_for_event(line, t, "inbound packet")?;
                self.inbound(line, p, sock)
            }
        }
    }

    /// An inbound ICMP or ICMPv6 error quoting a segment of the socket under test, built
    /// as packetdrill's `new_icmp_packet` does (from the remote address; the quoted IP
    /// header and the TCP ports and sequence number, mapped from the script's sequence
    /// space by our ISN as `map_inbound_icmp_tcp_packet`), and handed to the endpoint.
    fn icmp_event(&mut self, line: usize, i: &IcmpEvent) -> Res<()> {
        if i.direction == Direction::Outbound {
            return skip(format!(
                "ICMP output: line {line} `{i}` (the core sends no ICMP)"
            ));
        }
        let Some(IcmpEchoed::Tcp {
            start_seq,
            end_seq: _,
            len,
        }) = i.echoed
        else {
            return skip(format!(
                "ICMP input: line {line} `{i}`: only errors quoting a TCP segment are modelled"
            ));
        };
        let v6 = self.set.ipv6;
        let code_of = |name: &str, table: &[(&str, u8)]| {
            table.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
        };
        const V4_UNREACH: &[(&str, u8)] = &[
            ("net_unreachable", 0),
            ("host_unreachable", 1),
            ("protocol_unreachable", 2),
            ("port_unreachable", 3),
            ("frag_needed", 4),
            ("source_route_failed", 5),
            ("net_unknown", 6),
            ("host_unknown", 7),
            ("source_host_isolated", 8),
            ("net_prohibited", 9),
            ("host_prohibited", 10),
            ("net_unreachable_for_tos", 11),
            ("host_unreachable_for_tos", 12),
            ("packet_filtered", 13),
            ("precedence_violation", 14),
            ("precedence_cutoff", 15),
        ];
        const V6_UNREACH: &[(&str, u8)] = &[
            ("net_unreachable", 0),
            ("no_route", 0),
            ("admin_prohibited", 1),
            ("not_neighbour", 2),
            ("address_unreachable", 3),
            ("port_unreachable", 4),
        ];
        let code = i.code.as_deref().unwrap_or("");
        let num = |c: &str| c.parse::<u8>().ok();
        let (ty, code) = match (v6, i.icmp_type.as_str()) {
            (false, "unreachable") => (3, code_of(code, V4_UNREACH).or_else(|| num(code))),
            (false, "time_exceeded") => (
                11,
                Some(u8::from(code == "fragment_reassembly_time_exceeded")),
            ),
            (false, "parameter_problem") => (12, Some(0)),
            (false, "source_quench") => (4, Some(0)),
            (false, "redirect") => (5, Some(0)),
            (true, "unreachable") => (1, code_of(code, V6_UNREACH).or_else(|| num(code))),
            (true, "packet_too_big") => (2, Some(0)),
            (true, "time_exceeded") => (3, Some(u8::from(code == "exceeded_frag_time"))),
            (true, "parameter_problem") => (
                4,
                match code {
                    "unknown_next_header" => Some(1),
                    "unknown_option" => Some(2),
                    _ => Some(0),
                },
            ),
            _ => (0, None),
        };
        let Some(code) = code else {
            return skip(format!(
                "ICMP input: line {line} `{i}`: type or code not modelled"
            ));
        };
        let Some(sock) = self.sut else {
            return fail(
                line,
                i.to_string(),
                "no socket under test for the ICMP message",
            );
        };
        let s = &self.pd[sock];
        let (Some(local), Some(remote)) = (s.live_local, s.live_remote) else {
            return fail(
                line,
                i.to_string(),
                "the socket under test has no addresses yet",
            );
        };
        let seq = start_seq.wrapping_add(s.local_seq_script_to_live(false));
        let werr = |e: wire::WireError| Outcome::Fail {
            line,
            expected: "an ICMP message to build".into(),
            happened: e.to_string(),
        };
        // The quoted packet: its IP header (lengths of the whole original segment) and
        // the first eight bytes of TCP.
        let quoted = crate::icmp::quoted_tcp(local, remote, seq, usize::from(len)).map_err(werr)?;
        let rest = i.mtu.unwrap_or(0);
        let pkt = crate::icmp::icmp_error(remote.ip(), local.ip(), ty, code, rest, &quoted)
            .map_err(werr)?;
        let now = self.instant(self.now);
        if let Err(e) = self.endpoint().handle_packet(now, Bytes::from(pkt)) {
            return fail(
                line,
                i.to_string(),
                format!("the stack rejected the ICMP message: {e}"),
            );
        }
        self.pump()
    }

    fn new_remote_port(&mut self) -> u16 {
        let p = self.next_remote_port;
        self.next_remote_port = self.next_remote_port.wrapping_add(1).max(1024);
        p
    }

    /// `find_or_create_socket_for_script_packet`.
    fn find_or_create_socket(&mut self, line: usize, p: &PacketEvent) -> Res<usize> {
        let syn = p.flags.syn();
        let ack = p.flags.ack();
        let sut_state = self.sut.map(|i| self.pd[i].state);
        if p.direction == Direction::Inbound
            && matches!(sut_state, None | Some(PdState::PassiveListening))
        {
            // handle_listen_for_script_packet: a new child socket under test.
            let mut s = PdSocket::new(PdState::PassivePacketReceived, None);
            let port = self.new_remote_port();
            s.live_remote = Some(SocketAddr::new(self.set.remote_ip, port));
            s.live_local = Some(SocketAddr::new(self.set.local_ip, self.set.bind_port));
            s.live_remote_isn = p.start_seq;
            self.pd.push(s);
            self.sut = Some(self.pd.len() - 1);
            return Ok(self.pd.len() - 1);
        }
        if p.direction == Direction::Outbound
            && syn
            && !ack
            && sut_state == Some(PdState::ActiveConnecting)
        {
            let i = self.sut.unwrap_or(0);
            self.pd[i].state = PdState::ActiveSynSent;
            self.pd[i].script_local_isn = p.start_seq;
            return Ok(i);
        }
        match self.sut {
            Some(i) => {
                // A packet for a socket that has no 4-tuple yet (bound, not listening):
                // google/packetdrill writes it with all-zero addresses and ports, which the
                // kernel drops (see `inbound`); NPLab's fork, which the FreeBSD suite
                // relies on, sends it to the bound address from a new peer port.
                if p.direction == Direction::Inbound
                    && self.pd[i].live_remote.is_none()
                    && self.profile == Profile::FreeBsd
                {
                    let port = self.new_remote_port();
                    let s = &mut self.pd[i];
                    s.live_remote = Some(SocketAddr::new(self.set.remote_ip, port));
                    s.live_local = Some(SocketAddr::new(self.set.local_ip, self.set.bind_port));
                    if syn {
                        s.live_remote_isn = p.start_seq;
                    }
                }
                Ok(i)
            }
            None => fail(line, p.to_string(), "no matching socket for script packet"),
        }
    }

    /// `sniff_outbound_live_packet`: the next packet of the socket under test, running
    /// the timers up to `deadline`; `None` on time-out.
    fn sniff(&mut self, sock: usize, deadline: u64) -> Res<Option<Seg>> {
        loop {
            while let Some(s) = self.outq.pop_front() {
                let Some(seg) = Seg::parse(&s) else { continue };
                let ps = &mut self.pd[sock];
                if ps.live_local == Some(seg.src) && ps.live_remote == Some(seg.dst) {
                    return Ok(Some(seg));
                }
                // find_connect_for_live_packet
                if seg.has(TcpFlags::SYN)
                    && !seg.has(TcpFlags::ACK)
                    && ps.state == PdState::ActiveSynSent
                    && ps.live_remote == Some(seg.dst)
                {
                    ps.live_local = Some(seg.src);
                    ps.live_local_isn = seg.seq;
                    return Ok(Some(seg));
                }
                // Not for the socket under test: packetdrill never sees it.
            }
            match self.next_wake() {
                Some(t) if t <= deadline => self.step_to(t)?,
                _ => {
                    self.now = self.now.max(deadline);
                    self.pump()?;
                    if self.outq.is_empty() {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The script-space view of a sniffed segment (`tcp_convert_seq_number`).
    fn to_script_space(&self, sock: usize, seg: &mut Seg) {
        let s = &self.pd[sock];
        let syn = seg.has(TcpFlags::SYN);
        seg.seq = seg.seq.wrapping_sub(s.local_seq_script_to_live(syn));
        let ack_off = s.remote_seq_script_to_live(syn);
        if seg.has(TcpFlags::ACK) {
            seg.ack = seg.ack.wrapping_sub(ack_off);
        }
        offset_sack(&mut seg.options, ack_off.wrapping_neg());
    }

    fn outbound(&mut self, line: usize, p: &PacketEvent, sock: usize, t: Timing) -> Res<()> {
        let synack = p.flags.syn() && p.flags.ack();
        if self.pd[sock].state == PdState::PassivePacketReceived && synack {
            self.pd[sock].script_local_isn = p.start_seq;
        }
        let expected = usize::from(p.len);
        // sniff_outbound_live_packet's time-out: the expected delay plus 2 s.
        let last = self.last_event_time.unwrap_or(0);
        let wait = t.time.max(t.end).saturating_sub(last) / 1_000_000 * 1_000_000 + 2_000_000;
        let mut frags: Vec<Seg> = Vec::new();
        let mut sniffed = 0usize;
        loop {
            let deadline = if t.kind == TimeKind::Any {
                self.now + HANG_US
            } else {
                self.now + wait
            };
            let Some(mut seg) = self.sniff(sock, deadline)? else {
                let what = if frags.is_empty() {
                    "timed out waiting for packet".to_string()
                } else {
                    format!(
                        "timed out waiting for the rest of the packet: {sniffed} of {expected} payload bytes seen"
                    )
                };
                return fail(line, p.to_string(), what);
            };
            if self.pd[sock].state == PdState::PassivePacketReceived && synack {
                self.pd[sock].state = PdState::PassiveSynackSent;
                self.pd[sock].live_local_isn = seg.seq;
            }
            self.to_script_space(sock, &mut seg);
            if let Some(prev) = frags.last()
                && let Err(m) = verify_fragment(&seg, prev, sniffed, expected)
            {
                return fail(line, p.to_string(), self.describe_frags(&frags, &seg, &m));
            }
            sniffed += seg.payload;
            frags.push(seg);
            if sniffed >= expected || self.set.strict_segments {
                break;
            }
        }
        if sniffed != expected {
            let m =
                format!("live packet payload: expected {expected} bytes vs actual {sniffed} bytes");
            return fail(
                line,
                p.to_string(),
                self.describe_frags(&frags[..frags.len() - 1], &frags[frags.len() - 1], &m),
            );
        }
        let actual = aggregate(&frags);
        // Wire times for tcp_info fields the core does not keep.
        if actual.payload > 0 {
            self.pd[sock].wire.last_data_sent = Some(actual.time);
        }
        if actual.has(TcpFlags::SYN)
            && let Some(m) = mss_option(&actual.options)
        {
            self.pd[sock].wire.advmss = Some(m);
        }
        match self.verify_outbound(line, p, sock, &actual, t) {
            Ok(()) => {}
            Err(Outcome::Fail {
                line,
                expected,
                happened,
            }) if self.set.non_fatal_packet => {
                self.notes
                    .push(format!("warning: line {line}: {expected} / {happened}"));
            }
            Err(e) => return Err(e),
        }
        // The event ends when the packet was seen.
        self.now = self.now.max(actual.time);
        Ok(())
    }

    fn describe_frags(&self, before: &[Seg], seg: &Seg, m: &str) -> String {
        let mut s = m.to_string();
        for (i, f) in before.iter().chain(std::iter::once(seg)).enumerate() {
            let _ = write!(s, "; actual #{i}: {}", describe(f));
        }
        s
    }

    /// `verify_outbound_live_packet`.
    fn verify_outbound(
        &mut self,
        line: usize,
        p: &PacketEvent,
        sock: usize,
        a: &Seg,
        t: Timing,
    ) -> Res<()> {
        let mut a = a.clone();
        // The script's option bytes (as packetdrill builds them).
        let script_opts = match &p.options {
            None => None,
            Some(list) => Some(self.encode_options(line, list, p, sock, Direction::Outbound)?),
        };
        // map_outbound_live_packet: TS val mapping.
        if let (Some(list), Some((aval, _aecr))) = (&p.options, ts_option(&a.options))
            && let Some(TcpOption::Timestamp { val, .. }) = list
                .iter()
                .find(|o| matches!(o, TcpOption::Timestamp { .. }))
            && !p.ts_val_ignored
        {
            let s = &mut self.pd[sock];
            s.ts_map.insert(*val, aval);
            if s.first_ts.is_none() {
                s.first_ts = Some((*val, aval));
            }
            let (fs, fa) = s.first_ts.unwrap_or((*val, aval));
            set_ts_val(&mut a.options, fs.wrapping_add(aval.wrapping_sub(fa)));
        }
        // IP: total length (strict).
        let script_opts_len = script_opts.as_ref().map_or(a.options.len(), Vec::len);
        let hdr = self.set.ip_header_len();
        let exp_len = hdr + 20 + script_opts_len + usize::from(p.len);
        let act_len = hdr + 20 + a.options.len() + a.payload;
        let len_field = if self.set.ipv6 {
            "ipv6_payload_len"
        } else {
            "ipv4_total_length"
        };
        let adj = if self.set.ipv6 { 40 } else { 0 };
        if exp_len != act_len {
            self.mismatch(
                line,
                p,
                field(len_field, (exp_len - adj) as u32, (act_len - adj) as u32),
                &a,
            )?;
        }
        // TOS / ECN: the core sends TOS 0 and the ECN codepoint of each segment.
        let actual_tos = a.ecn & 3;
        if let Some(e) = p.ip.ecn {
            let ecn = a.ecn & 3;
            match e {
                Ecn::Ect01 => {
                    if ecn != 1 && ecn != 2 {
                        self.mismatch(line, p, format!(
                                "live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x{ecn:x}"
                            ), &a)?;
                    }
                }
                e => {
                    let want = match e {
                        Ecn::NotEct => 0,
                        Ecn::Ect1 => 1,
                        Ecn::Ect0 => 2,
                        _ => 3,
                    };
                    if want != ecn {
                        self.mismatch(
                            line,
                            p,
                            field("ip_ecn", u32::from(want), u32::from(ecn)),
                            &a,
                        )?;
                    }
                }
            }
        }
        if let Some(tos) = p.ip.tos
            && tos != actual_tos
        {
            self.mismatch(
                line,
                p,
                field("tos", u32::from(tos), u32::from(actual_tos)),
                &a,
            )?;
        }
        if let Some(d) = p.ip.dscp
            && d != actual_tos >> 2
        {
            self.mismatch(
                line,
                p,
                field("dscp", u32::from(d), u32::from(actual_tos >> 2)),
                &a,
            )?;
        }
        if let Some(ttl) = p.ip.ttl
            && ttl != 64
        {
            self.mismatch(line, p, field("ttl", u32::from(ttl), 64), &a)?;
        }
        // TCP header.
        let script_doff = 5 + script_opts.as_ref().map_or(a.options.len(), Vec::len) / 4;
        let checks: [(&str, u32, u32); 6] = [
            ("tcp_data_offset", script_doff as u32, a.doff() as u32),
            (
                "tcp_fin",
                u32::from(p.flags.fin()),
                u32::from(a.has(TcpFlags::FIN)),
            ),
            (
                "tcp_syn",
                u32::from(p.flags.syn()),
                u32::from(a.has(TcpFlags::SYN)),
            ),
            (
                "tcp_rst",
                u32::from(p.flags.rst()),
                u32::from(a.has(TcpFlags::RST)),
            ),
            (
                "tcp_psh",
                u32::from(p.flags.psh()),
                u32::from(a.has(TcpFlags::PSH)),
            ),
            (
                "tcp_ack",
                u32::from(p.flags.ack()),
                u32::from(a.has(TcpFlags::ACK)),
            ),
        ];
        for (name, e, g) in checks {
            if e != g {
                self.mismatch(line, p, field(name, e, g), &a)?;
            }
        }
        if u32::from(p.flags.urg()) != u32::from(a.has(TcpFlags::URG)) {
            self.mismatch(
                line,
                p,
                field(
                    "tcp_urg",
                    u32::from(p.flags.urg()),
                    u32::from(a.has(TcpFlags::URG)),
                ),
                &a,
            )?;
        }
        let bit = |v: u16, b: u16| u32::from(v & b != 0);
        let pf = p.flags.0;
        if p.ace {
            let ace = |ece: u32, cwr: u32, ae: u32| ece | cwr << 1 | ae << 2;
            let e = ace(
                bit(pf, TcpFlags::ECE),
                bit(pf, TcpFlags::CWR),
                bit(pf, TcpFlags::AE),
            );
            let g = ace(
                u32::from(a.has(TcpFlags::ECE)),
                u32::from(a.has(TcpFlags::CWR)),
                u32::from(a.ae),
            );
            if e != g {
                self.mismatch(line, p, field("tcp_ace", e, g), &a)?;
            }
        } else {
            for (name, e, g) in [
                (
                    "tcp_ece",
                    bit(pf, TcpFlags::ECE),
                    u32::from(a.has(TcpFlags::ECE)),
                ),
                (
                    "tcp_cwr",
                    bit(pf, TcpFlags::CWR),
                    u32::from(a.has(TcpFlags::CWR)),
                ),
                ("tcp_ae", bit(pf, TcpFlags::AE), u32::from(a.ae)),
            ] {
                if e != g {
                    self.mismatch(line, p, field(name, e, g), &a)?;
                }
            }
        }
        if a.res != 0 {
            self.mismatch(line, p, field("tcp_reserved_bits", 0, u32::from(a.res)), &a)?;
        }
        let seq_ok = match p.seq_mode {
            SeqMode::Relative => a.seq == p.start_seq,
            SeqMode::Absolute => {
                let s = &self.pd[sock];
                a.seq
                    .wrapping_add(s.local_seq_script_to_live(a.has(TcpFlags::SYN)))
                    == p.start_seq
            }
            SeqMode::Ignore => true,
        };
        if !seq_ok {
            self.mismatch(line, p, field("tcp_seq", p.start_seq, a.seq), &a)?;
        }
        let want_ack = p.ack.unwrap_or(0);
        if want_ack != a.ack {
            self.mismatch(line, p, field("tcp_ack_seq", want_ack, a.ack), &a)?;
        }
        if let Some(w) = p.win
            && w != a.window
        {
            self.mismatch(
                line,
                p,
                field("tcp_window", u32::from(w), u32::from(a.window)),
                &a,
            )?;
        }
        let want_urg = p.urg.unwrap_or(0);
        if want_urg != a.urg {
            self.mismatch(
                line,
                p,
                field("tcp_urg_ptr", u32::from(want_urg), u32::from(a.urg)),
                &a,
            )?;
        }
        if let Some(fl) = p.ip.flow_label
            && fl != 0
            && self.set.ipv6
        {
            self.mismatch(line, p, "flowlabel unmarked in the live packet".into(), &a)?;
        }
        // Options.
        if let Some(script_opts) = &script_opts
            && let Err(m) = self.verify_options(script_opts, &a.options, t)
        {
            self.mismatch(line, p, m, &a)?;
        }
        // Time of the (last) packet.
        if let Err(m) = self.verify_time(
            t.kind,
            t.time,
            t.end,
            a.time,
            self.last_event_time,
            "outbound packet",
        ) {
            self.mismatch(line, p, m, &a)?;
        }
        Ok(())
    }

    /// A mismatch of an outbound packet: a failure, or with `--diag-ignore FIELD` a note
    /// (a diagnostic run to see what differs next; never a pass of the real check).
    fn mismatch(&mut self, line: usize, p: &PacketEvent, m: String, a: &Seg) -> Res<()> {
        let name = if let Some(rest) = m.strip_prefix("live packet field ") {
            rest.split(':').next().unwrap_or("").to_string()
        } else if m.contains("TCP option") {
            "options".into()
        } else if m.starts_with("timing error") {
            "timing".into()
        } else {
            "other".into()
        };
        if self.diag_ignore.contains(&name) {
            self.notes.push(format!(
                "diagnostic: line {line}: ignored {m}; actual: {}",
                describe(a)
            ));
            return Ok(());
        }
        fail(line, p.to_string(), format!("{m}; actual: {}", describe(a)))
    }

    /// `verify_outbound_live_tcp_options`.
    fn verify_options(&self, script: &[u8], actual: &[u8], t: Timing) -> Result<(), String> {
        let s = split_options(script);
        let a = split_options(actual);
        let mut tol = self.set.tolerance_usecs;
        let delta = t.time as i64;
        let dynamic = (self.set.tolerance_percent / 100.0 * delta as f64) as i64;
        tol = tol.max(dynamic);
        for i in 0..s.len().max(a.len()) {
            let (Some(so), Some(ao)) = (s.get(i), a.get(i)) else {
                return Err(format!(
                    "bad outbound TCP options: expected <{}> actual <{}>",
                    options_text(script),
                    options_text(actual)
                ));
            };
            if so[0] != ao[0] {
                return Err(format!(
                    "bad outbound TCP options: expected <{}> actual <{}>",
                    options_text(script),
                    options_text(actual)
                ));
            }
            match ao[0] {
                0 | 1 => {}
                8 => {
                    if self.set.ts_tick_usecs > 0 && so.len() >= 6 && ao.len() >= 6 {
                        let sv = u32::from_be_bytes([so[2], so[3], so[4], so[5]]);
                        let av = u32::from_be_bytes([ao[2], ao[3], ao[4], ao[5]]);
                        let diff = i64::from((av.wrapping_sub(sv) as i32).unsigned_abs());
                        if diff * self.set.ts_tick_usecs > tol {
                            return Err(format!(
                                "bad outbound TCP timestamp value, tolerance {tol}: expected: TS val {sv} actual: TS val {av}"
                            ));
                        }
                    }
                }
                kind => {
                    let bad_len = so.len() != ao.len();
                    if bad_len || so[2..] != ao[2..] {
                        return Err(format!(
                            "{} in outbound TCP option (kind={kind}): expected: {} actual: {}",
                            if bad_len { "bad length" } else { "bad value" },
                            option_text(so),
                            option_text(ao)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The wire bytes of a script option list; inbound SACK blocks and TS ecr are mapped
    /// to live values.
    fn encode_options(
        &self,
        line: usize,
        list: &[TcpOption],
        p: &PacketEvent,
        sock: usize,
        dir: Direction,
    ) -> Res<Vec<u8>> {
        let mut out = Vec::new();
        for o in list {
            match o {
                TcpOption::Nop => out.push(1),
                TcpOption::Eol => out.push(0),
                TcpOption::Mss(m) => out.extend_from_slice(&[2, 4, (m >> 8) as u8, *m as u8]),
                TcpOption::WindowScale(w) => out.extend_from_slice(&[3, 3, *w]),
                TcpOption::SackPermitted => out.extend_from_slice(&[4, 2]),
                TcpOption::Sack(blocks) => {
                    out.extend_from_slice(&[5, (2 + 8 * blocks.len()) as u8]);
                    for (l, r) in blocks {
                        out.extend_from_slice(&l.to_be_bytes());
                        out.extend_from_slice(&r.to_be_bytes());
                    }
                }
                TcpOption::Timestamp { val, ecr } => {
                    out.extend_from_slice(&[8, 10]);
                    out.extend_from_slice(&val.to_be_bytes());
                    out.extend_from_slice(&ecr.to_be_bytes());
                }
                TcpOption::FastOpen {
                    cookie,
                    experimental,
                } => {
                    let Some(bytes) = hex_bytes(cookie) else {
                        return fail(
                            line,
                            p.to_string(),
                            format!(
                                "semantic error: TCP fast open cookie is not a valid hex string: {cookie}"
                            ),
                        );
                    };
                    if *experimental {
                        out.extend_from_slice(&[254, (4 + bytes.len()) as u8, 0xf9, 0x89]);
                    } else {
                        out.extend_from_slice(&[34, (2 + bytes.len()) as u8]);
                    }
                    out.extend_from_slice(&bytes);
                }
                TcpOption::Md5(_) => {
                    return skip(format!(
                        "TCP MD5 signature option (RFC 2385): line {line} (not in core)"
                    ));
                }
                TcpOption::Other(text) => {
                    return skip(format!(
                        "TCP option `{text}`: line {line} (the runner cannot build or check it)"
                    ));
                }
            }
        }
        let _ = (sock, dir);
        Ok(out)
    }

    // ----- inbound ---------------------------------------------------------------------

    fn inbound(&mut self, line: usize, p: &PacketEvent, sock: usize) -> Res<()> {
        let syn = p.flags.syn();
        let ack_flag = p.flags.ack();
        // Features the core lacks that this packet would trigger.
        if syn && !ack_flag {
            let fo = p
                .options
                .iter()
                .flatten()
                .any(|o| matches!(o, TcpOption::FastOpen { .. }));
            if fo && self.sys.fastopen & 2 != 0 {
                return skip(format!(
                    "TCP Fast Open: line {line}: SYN with a Fast Open option to a server with tcp_fastopen={:#x}",
                    self.sys.fastopen
                ));
            }
            if p.len > 0 && self.sys.fastopen & 0x202 == 0x202 {
                return skip(format!(
                    "TCP Fast Open: line {line}: SYN with data to a server that needs no cookie (tcp_fastopen={:#x})",
                    self.sys.fastopen
                ));
            }
            if p.ace && (self.sys.ecn == 2 || self.sys.ecn == 1) {
                return skip(format!(
                    "ECN: line {line}: an AccECN-setup SYN to a stack that accepts ECN (tcp_ecn={}): AccECN not in core",
                    self.sys.ecn
                ));
            }
        }
        {
            let s = &mut self.pd[sock];
            if s.state == PdState::PassiveSynackSent && ack_flag {
                s.state = PdState::PassiveSynackAcked;
                s.wire.last_data_recv = Some(self.now);
            } else if s.state == PdState::ActiveSynSent && syn && ack_flag {
                s.state = PdState::ActiveSynAcked;
                s.live_remote_isn = p.start_seq;
                s.wire.last_data_recv = Some(self.now);
            }
        }
        let s = self.pd[sock].clone();
        let (Some(local), Some(remote)) = (s.live_local, s.live_remote) else {
            // packetdrill's live tuple is all zeros: the kernel drops such a packet.
            self.notes.push(format!(
                "line {line}: the socket under test has no 4-tuple yet: packetdrill sends this packet to 0.0.0.0:0, where nothing receives it"
            ));
            return Ok(());
        };
        // Ports written in the script win.
        let (src, dst) = match p.ports {
            Some((sp, dp)) => (
                SocketAddr::new(remote.ip(), sp),
                SocketAddr::new(local.ip(), dp),
            ),
            None => (remote, local),
        };
        let seq = match p.seq_mode {
            SeqMode::Absolute => p.start_seq,
            _ => p.start_seq.wrapping_add(s.remote_seq_script_to_live(syn)),
        };
        let ack_off = s.local_seq_script_to_live(syn);
        let ack = match p.ack {
            Some(a) if ack_flag => a.wrapping_add(ack_off),
            Some(a) => a,
            None => 0,
        };
        let mut opts = match &p.options {
            Some(list) => self.encode_options(line, list, p, sock, Direction::Inbound)?,
            None => Vec::new(),
        };
        offset_sack(&mut opts, ack_off);
        if ack_flag
            && !p.ts_ecr_absolute
            && let Some((_, ecr)) = ts_option(&opts)
        {
            let live = match s.ts_map.get(&ecr) {
                Some(v) => *v,
                None => match s.first_ts {
                    Some((fs, fa)) if self.set.ts_ecr_scaled => {
                        ecr.wrapping_sub(fs).wrapping_add(fa)
                    }
                    _ => {
                        let m = match self.profile {
                            Profile::Linux => format!(
                                "unable to infer live TS ecr for script TS ecr {ecr};  no matching or preceding outbound TS val"
                            ),
                            Profile::FreeBsd => {
                                format!("unable to find mapping for timestamp ecr {ecr}")
                            }
                        };
                        return fail(line, p.to_string(), format!("error handling packet: {m}"));
                    }
                },
            };
            set_ts_ecr(&mut opts, live);
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        if p.flags.contains(TcpFlags::URG) && p.len > 0 && p.urg.unwrap_or(0) > 0 {
            self.urgent_line.get_or_insert(line);
        }
        // GSO: with --mss, a long inbound packet is several segments handed in at once.
        let mss = self.set.gso_mss.map(usize::from);
        let total = usize::from(p.len);
        let mut pieces = Vec::new();
        match mss {
            Some(m) if total > m => {
                let mut off = 0;
                while off < total {
                    let n = m.min(total - off);
                    pieces.push((off, n, off + n == total));
                    off += n;
                }
            }
            _ => pieces.push((0, total, true)),
        }
        let flags = p.flags.0;
        for (off, n, last) in pieces {
            let mut f = (flags & 0xff) as u8;
            if !last {
                f &= !(TcpFlags::FIN as u8 | TcpFlags::PSH as u8);
            }
            let hl = 20 + opts.len();
            let mut seg = vec![0u8; hl + n];
            seg[0..2].copy_from_slice(&src.port().to_be_bytes());
            seg[2..4].copy_from_slice(&dst.port().to_be_bytes());
            seg[4..8].copy_from_slice(&seq.wrapping_add(off as u32).to_be_bytes());
            seg[8..12].copy_from_slice(&ack.to_be_bytes());
            seg[12] = ((hl / 4) as u8) << 4 | u8::from(flags & TcpFlags::AE != 0);
            seg[13] = f;
            seg[14..16].copy_from_slice(&p.win.unwrap_or(0).to_be_bytes());
            seg[18..20].copy_from_slice(&p.urg.unwrap_or(0).to_be_bytes());
            seg[20..hl].copy_from_slice(&opts);
            let ck = wire::tcp_checksum(src.ip(), dst.ip(), &seg);
            seg[16..18].copy_from_slice(&ck.to_be_bytes());
            let now = self.instant(self.now);
            let ecn = match p.ip.ecn {
                Some(Ecn::Ect0) => tcp_core::IpEcn::Ect0,
                Some(Ecn::Ect1) => tcp_core::IpEcn::Ect1,
                Some(Ecn::Ce) => tcp_core::IpEcn::Ce,
                _ => tcp_core::IpEcn::NotEct,
            };
            if let Err(e) =
                self.endpoint()
                    .handle_segment_ecn(now, src.ip(), dst.ip(), Bytes::from(seg), ecn)
            {
                return fail(
                    line,
                    "the stack to take the segment",
                    format!("rejected: {e}"),
                );
            }
        }
        if p.len > 0 {
            self.pd[sock].wire.last_data_recv = Some(self.now);
        }
        if ack_flag {
            self.pd[sock].wire.last_ack_recv = Some(self.now);
        }
        self.pump()
    }
}

// ----- helpers ---------------------------------------------------------------------------

pub(super) fn conn_errno(e: ConnError) -> &'static str {
    match e {
        ConnError::Refused => "ECONNREFUSED",
        ConnError::Reset => "ECONNRESET",
        ConnError::TimedOut => "ETIMEDOUT",
        ConnError::Aborted => "ECONNABORTED",
        ConnError::Unreachable(p) => icmp_errno(p),
        _ => "EIO",
    }
}

/// Linux's errno for an ICMP problem (`icmp_err_convert`, `icmpv6_err_convert`).
pub(super) fn icmp_errno(p: tcp_core::wire::IcmpProblem) -> &'static str {
    use tcp_core::wire::IcmpProblem as P;
    match p {
        P::NetUnreachable => "ENETUNREACH",
        P::HostDown => "EHOSTDOWN",
        P::NoNetwork => "ENONET",
        P::ProtocolUnreachable => "ENOPROTOOPT",
        P::PortUnreachable => "ECONNREFUSED",
        P::SourceRouteFailed => "EOPNOTSUPP",
        P::Prohibited => "EACCES",
        P::ParameterProblem => "EPROTO",
        P::PacketTooBig { .. } => "EMSGSIZE",
        _ => "EHOSTUNREACH",
    }
}

fn field(name: &str, e: u32, g: u32) -> String {
    format!("live packet field {name}: expected: {e} ({e:#x}) vs actual: {g} ({g:#x})")
}

/// `verify_packet_fragments`: may `cur` be aggregated after `prev`?
fn verify_fragment(cur: &Seg, prev: &Seg, sniffed: usize, expected: usize) -> Result<(), String> {
    let checks: [(&str, u32, u32); 11] = [
        ("tcp_data_offset", prev.doff() as u32, cur.doff() as u32),
        (
            "tcp_syn",
            u32::from(prev.has(TcpFlags::SYN)),
            u32::from(cur.has(TcpFlags::SYN)),
        ),
        (
            "tcp_rst",
            u32::from(prev.has(TcpFlags::RST)),
            u32::from(cur.has(TcpFlags::RST)),
        ),
        (
            "tcp_ack",
            u32::from(prev.has(TcpFlags::ACK)),
            u32::from(cur.has(TcpFlags::ACK)),
        ),
        (
            "tcp_urg",
            u32::from(prev.has(TcpFlags::URG)),
            u32::from(cur.has(TcpFlags::URG)),
        ),
        (
            "tcp_ece",
            u32::from(prev.has(TcpFlags::ECE)),
            u32::from(cur.has(TcpFlags::ECE)),
        ),
        ("tcp_ae", u32::from(prev.ae), u32::from(cur.ae)),
        ("tcp_reserved_bits", u32::from(prev.res), u32::from(cur.res)),
        (
            "tcp_seq",
            prev.seq.wrapping_add(prev.payload as u32),
            cur.seq,
        ),
        ("tcp_ack_seq", prev.ack, cur.ack),
        ("tcp_window", u32::from(prev.window), u32::from(cur.window)),
    ];
    for (name, e, g) in checks {
        if e != g {
            return Err(format!("aggregate candidate: {}", field(name, e, g)));
        }
    }
    if prev.urg != cur.urg {
        return Err(format!(
            "aggregate candidate: {}",
            field("tcp_urg_ptr", u32::from(prev.urg), u32::from(cur.urg))
        ));
    }
    if cur.payload < expected.saturating_sub(sniffed) && cur.payload != prev.payload {
        return Err(format!(
            "fragment payload: expected {} bytes vs actual {} bytes; total payload: expected {expected} bytes vs actual {} bytes",
            prev.payload,
            cur.payload,
            cur.payload + sniffed
        ));
    }
    Ok(())
}

/// `aggregate_packets`: headers of the last, seq and CWR of the first, payload of all.
fn aggregate(frags: &[Seg]) -> Seg {
    let first = &frags[0];
    let mut a = frags[frags.len() - 1].clone();
    a.seq = first.seq;
    a.flags = (a.flags & !0x80) | (first.flags & 0x80);
    a.payload = frags.iter().map(|f| f.payload).sum();
    a
}

/// Options split into (kind, len, data...) slices.
fn split_options(raw: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0 | 1 => {
                out.push(&raw[i..i + 1]);
                i += 1;
            }
            _ => {
                let len = usize::from(*raw.get(i + 1).unwrap_or(&2)).max(2);
                let end = (i + len).min(raw.len());
                out.push(&raw[i..end]);
                i = end;
            }
        }
    }
    out
}

fn ts_option(raw: &[u8]) -> Option<(u32, u32)> {
    split_options(raw)
        .into_iter()
        .find(|o| o[0] == 8 && o.len() == 10)
        .map(|o| {
            (
                u32::from_be_bytes([o[2], o[3], o[4], o[5]]),
                u32::from_be_bytes([o[6], o[7], o[8], o[9]]),
            )
        })
}

fn ts_pos(raw: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0 | 1 => i += 1,
            8 if raw.get(i + 1) == Some(&10) && i + 10 <= raw.len() => return Some(i),
            _ => i += usize::from(*raw.get(i + 1).unwrap_or(&2)).max(2),
        }
    }
    None
}

fn set_ts_val(raw: &mut [u8], v: u32) {
    if let Some(i) = ts_pos(raw) {
        raw[i + 2..i + 6].copy_from_slice(&v.to_be_bytes());
    }
}

fn set_ts_ecr(raw: &mut [u8], v: u32) {
    if let Some(i) = ts_pos(raw) {
        raw[i + 6..i + 10].copy_from_slice(&v.to_be_bytes());
    }
}

/// `offset_sack_blocks`: add `off` to every SACK edge.
fn offset_sack(raw: &mut [u8], off: u32) {
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0 | 1 => i += 1,
            k => {
                let len = usize::from(*raw.get(i + 1).unwrap_or(&2)).max(2);
                if k == 5 && i + len <= raw.len() {
                    let mut j = i + 2;
                    while j + 4 <= i + len {
                        let v = u32::from_be_bytes([raw[j], raw[j + 1], raw[j + 2], raw[j + 3]]);
                        raw[j..j + 4].copy_from_slice(&v.wrapping_add(off).to_be_bytes());
                        j += 4;
                    }
                }
                i += len;
            }
        }
    }
}

fn mss_option(raw: &[u8]) -> Option<u16> {
    split_options(raw)
        .into_iter()
        .find(|o| o[0] == 2 && o.len() == 4)
        .map(|o| u16::from_be_bytes([o[2], o[3]]))
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn option_text(o: &[u8]) -> String {
    let be32 = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
    match o[0] {
        0 => "eol".into(),
        1 => "nop".into(),
        2 if o.len() == 4 => format!("mss {}", u16::from_be_bytes([o[2], o[3]])),
        3 if o.len() == 3 => format!("wscale {}", o[2]),
        4 => "sackOK".into(),
        5 => {
            let mut s = "sack".to_string();
            let mut j = 2;
            while j + 8 <= o.len() {
                let _ = write!(s, " {}:{}", be32(j), be32(j + 4));
                j += 8;
            }
            s
        }
        8 if o.len() == 10 => format!("TS val {} ecr {}", be32(2), be32(6)),
        34 => format!(
            "FO {}",
            o[2..]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        254 if o.len() >= 4 && o[2] == 0xf9 && o[3] == 0x89 => format!(
            "FOEXP {}",
            o[4..]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        k => format!("kind{k}({}b)", o.len()),
    }
}

fn options_text(raw: &[u8]) -> String {
    split_options(raw)
        .into_iter()
        .map(option_text)
        .collect::<Vec<_>>()
        .join(",")
}

/// packetdrill-style rendering of a segment in script space.
fn describe(s: &Seg) -> String {
    let mut flags = String::new();
    for (bit, c) in [
        (TcpFlags::FIN, 'F'),
        (TcpFlags::SYN, 'S'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
    ] {
        if s.has(bit) {
            flags.push(c);
        }
    }
    if s.ae {
        flags.push('A');
    }
    if s.has(TcpFlags::ACK) {
        flags.push('.');
    }
    let mut out = format!(
        "{} {}:{}({})",
        if flags.is_empty() { "-" } else { &flags },
        s.seq,
        s.seq.wrapping_add(s.payload as u32),
        s.payload
    );
    if s.has(TcpFlags::ACK) {
        let _ = write!(out, " ack {}", s.ack);
    }
    let _ = write!(out, " win {}", s.window);
    if s.urg != 0 {
        let _ = write!(out, " urg {}", s.urg);
    }
    if !s.options.is_empty() {
        let _ = write!(out, " <{}>", options_text(&s.options));
    }
    let _ = write!(out, " at {}", secs(s.time as i64));
    out
}

// ----- the machine for shell commands ------------------------------------------------------

impl Host for Exec<'_> {
    fn sysctl_set(&mut self, name: &str, value: &str) -> Result<bool, Stop> {
        let before = (self.cfg.clone(), self.ep_cfg.clone());
        let effect = sysctl::set(name, value, &mut self.cfg, &mut self.ep_cfg, &mut self.sys);
        match effect {
            Effect::Ok => {
                if before != (self.cfg.clone(), self.ep_cfg.clone()) {
                    self.config_changed(format!("sysctl {name}={value}"));
                }
                Ok(true)
            }
            Effect::Skip(why) => Err(Stop::Skip(why)),
            Effect::Unknown => Ok(false),
        }
    }

    fn sysctl_get(&mut self, name: &str) -> Option<String> {
        let n = name.trim_start_matches("/proc/sys/").replace('/', ".");
        Some(match n.as_str() {
            "net.ipv4.tcp_timestamps" => u8::from(self.cfg.timestamps).to_string(),
            "net.ipv4.tcp_sack" => u8::from(self.cfg.sack).to_string(),
            "net.ipv4.tcp_window_scaling" => u8::from(self.cfg.window_scaling).to_string(),
            "net.ipv4.tcp_notsent_lowat" => self.sys.notsent_lowat.to_string(),
            "net.ipv4.tcp_rmem" => format!(
                "{}\t{}\t{}",
                self.sys.rmem[0], self.sys.rmem[1], self.sys.rmem[2]
            ),
            "net.ipv4.tcp_wmem" => format!(
                "{}\t{}\t{}",
                self.sys.wmem[0], self.sys.wmem[1], self.sys.wmem[2]
            ),
            "net.ipv4.tcp_fastopen" => self.sys.fastopen.to_string(),
            "net.ipv4.tcp_ecn" => self.sys.ecn.to_string(),
            _ => return None,
        })
    }

    fn read_file(&mut self, path: &str) -> Option<String> {
        if let Some(sys) = path.strip_prefix("/proc/sys/") {
            return self.sysctl_get(sys);
        }
        match path {
            "/proc/net/tcp" | "/proc/net/tcp6" => Some(self.proc_net_tcp(path.ends_with('6'))),
            _ => None,
        }
    }

    fn write_file(&mut self, path: &str, content: &str) -> Result<bool, Stop> {
        if let Some(name) = path.strip_prefix("/proc/sys/") {
            return self.sysctl_set(name, content);
        }
        if path == "/sys/module/tcp_cubic/parameters/hystart_detect" {
            // 3 (HYSTART_ACK_TRAIN | HYSTART_DELAY) is the default.
            if content.trim() == "3" {
                self.sys
                    .accepted
                    .push("hystart_detect=3: the default".into());
                return Ok(true);
            }
            return Err(Stop::Skip(format!(
                "CUBIC module parameter hystart_detect={content}: no knob in core"
            )));
        }
        if path.starts_with("/sys/module/") {
            return Err(Stop::Skip(format!(
                "kernel module parameter {path}: no knob in core"
            )));
        }
        Ok(false)
    }

    fn command(&mut self, argv: &[String], _stdin: &str) -> Result<Output, Stop> {
        self.external(argv)
    }

    fn script_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}
