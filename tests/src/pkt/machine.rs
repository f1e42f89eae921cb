//! The commands of the machine packetdrill runs on, emulated for backtick lines: `ip`,
//! `tc`, `ethtool`, `nstat`, `/proc/net/tcp`, and FreeBSD's `sockstat` and `tcpdrop`.

use super::exec::{Exec, Fd, Profile, SockKind};
use super::shell::{Output, Stop};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use tcp_core::State;

/// Adds connection counters (for `nstat`).
pub(super) fn add_stats(sum: &mut tcp_core::conn::ConnStats, s: &tcp_core::conn::ConnStats) {
    sum.retransmits += s.retransmits;
    sum.resets_sent += s.resets_sent;
    sum.challenge_acks += s.challenge_acks;
    sum.rtos += s.rtos;
    sum.tlp_probes += s.tlp_probes;
    sum.tlp_recoveries += s.tlp_recoveries;
    sum.dsacks_received += s.dsacks_received;
    sum.paws_dropped += s.paws_dropped;
    sum.frto_spurious += s.frto_spurious;
}

fn ok() -> Result<Output, Stop> {
    Ok(Output::default())
}

fn skip<T>(why: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Skip(why.into()))
}

/// Linux's `/proc/net/tcp` state numbers.
fn linux_st(s: State) -> u8 {
    super::info::linux_state(s) as u8
}

fn freebsd_name(s: State) -> &'static str {
    use State::*;
    match s {
        Closed => "CLOSED",
        Listen => "LISTEN",
        SynSent => "SYN_SENT",
        SynRcvd => "SYN_RCVD",
        Established => "ESTABLISHED",
        CloseWait => "CLOSE_WAIT",
        FinWait1 => "FIN_WAIT_1",
        Closing => "CLOSING",
        LastAck => "LAST_ACK",
        FinWait2 => "FIN_WAIT_2",
        TimeWait => "TIME_WAIT",
    }
}

/// An address as `/proc/net/tcp` prints it.
fn proc_addr(a: SocketAddr) -> String {
    match a.ip() {
        IpAddr::V4(v) => format!("{:08X}:{:04X}", u32::from_le_bytes(v.octets()), a.port()),
        IpAddr::V6(v) => {
            let o = v.octets();
            let mut s = String::new();
            for w in o.chunks(4) {
                let _ = write!(s, "{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            }
            format!("{s}:{:04X}", a.port())
        }
    }
}

/// One socket as the machine's tools see it.
struct Row {
    fd: Option<i64>,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    state: State,
}

impl Exec<'_> {
    /// Every socket the script holds, and the half-open connections of its listeners.
    fn rows(&mut self) -> Vec<Row> {
        let mut rows = Vec::new();
        let unspec = |ip: IpAddr| match ip {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let fds: Vec<(i64, SockKind, Option<SocketAddr>, bool)> = self
            .fds
            .iter()
            .filter_map(|(fd, f)| match f {
                Fd::Sock(s) => Some((*fd, s.kind, s.bound, s.dropped)),
                Fd::Epoll(_) | Fd::File(..) | Fd::Pipe(..) => None,
            })
            .collect();
        for (fd, kind, bound, dropped) in fds {
            match kind {
                SockKind::Fresh => rows.push(Row {
                    fd: Some(fd),
                    local: bound,
                    remote: None,
                    state: State::Closed,
                }),
                SockKind::Listener(l) => {
                    let local =
                        bound.unwrap_or(SocketAddr::new(self.set.local_ip, self.set.bind_port));
                    let half_open = self
                        .ep
                        .as_mut()
                        .and_then(|ep| ep.queue_lengths(l).ok())
                        .map_or(0, |(_, syn)| syn);
                    rows.push(Row {
                        fd: Some(fd),
                        local: Some(local),
                        remote: Some(SocketAddr::new(unspec(local.ip()), 0)),
                        state: State::Listen,
                    });
                    for _ in 0..half_open {
                        rows.push(Row {
                            fd: None,
                            local: Some(local),
                            remote: Some(SocketAddr::new(self.set.remote_ip, 0)),
                            state: State::SynRcvd,
                        });
                    }
                }
                SockKind::Conn(h) => {
                    let ep = self.ep.as_ref();
                    let conn = ep.and_then(|ep| ep.connection(h).ok());
                    let tuple = ep.and_then(|ep| ep.tuple(h).ok());
                    let state = match conn {
                        Some(c) if !dropped => c.state(),
                        _ => State::Closed,
                    };
                    rows.push(Row {
                        fd: Some(fd),
                        local: tuple.map(|t| t.local).or(bound),
                        remote: tuple.map(|t| t.remote),
                        state,
                    });
                }
            }
        }
        rows
    }

    /// `/proc/net/tcp` (or `tcp6`).
    pub(super) fn proc_net_tcp(&mut self, v6: bool) -> String {
        let mut out = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        );
        let rows = self.rows();
        let mut i = 0;
        for r in rows {
            let (Some(l), Some(rem)) = (r.local, r.remote) else {
                continue;
            };
            if l.is_ipv6() != v6 {
                continue;
            }
            let _ = writeln!(
                out,
                "{i:4}: {} {} {:02X} 00000000:00000000 00:00000000 00000000     0        0 {} 1 0000000000000000 100 0 0 10 0",
                proc_addr(l),
                proc_addr(rem),
                linux_st(r.state),
                10000 + i
            );
            i += 1;
        }
        out
    }

    /// A command other than the shell's built-ins.
    pub(super) fn external(&mut self, argv: &[String]) -> Result<Output, Stop> {
        let a: Vec<&str> = argv.iter().map(String::as_str).collect();
        match a.as_slice() {
            ["ip", rest @ ..] => self.ip(rest),
            ["tc", rest @ ..] => self.tc(rest),
            ["ethtool", "-K", _dev, rest @ ..] => {
                // Offloads: with TSO/GSO on, Linux emits one super-segment per several MSS
                // and the tun device hands it over whole; the core always emits MSS-sized
                // segments, which outbound lines aggregate. Either way nothing changes here.
                self.notes.push(format!(
                    "ethtool -K {}: offloads do not change the core's segments",
                    rest.join(" ")
                ));
                ok()
            }
            ["rm", rest @ ..] => {
                // Files live in the runner's file table.
                for f in rest.iter().filter(|a| !a.starts_with('-')) {
                    self.files.remove(*f);
                }
                ok()
            }
            ["dd", rest @ ..] => self.dd(rest),
            ["nstat", rest @ ..] => self.nstat(rest),
            ["sockstat", rest @ ..] => self.sockstat(rest),
            ["tcpdrop", rest @ ..] => self.tcpdrop(rest),
            ["kldstat", ..] | ["kldload", ..] | ["setkey", ..] => skip(format!(
                "`{}`: TCP MD5 signatures (IPsec keys) not in core",
                argv.join(" ")
            )),
            _ => skip(format!("shell command: `{}`", argv.join(" "))),
        }
    }

    /// `dd bs=B count=C if=/dev/zero of=PATH`: a file of B*C zero bytes in the runner's
    /// file table (for `open()` and `sendfile()`).
    fn dd(&mut self, args: &[&str]) -> Result<Output, Stop> {
        let (mut bs, mut count, mut input, mut output) = (512u64, None, None, None);
        for a in args {
            match a.split_once('=') {
                Some(("bs", v)) => bs = v.parse().map_err(|_| Stop::Skip(format!("dd {a}")))?,
                Some(("count", v)) => {
                    count = Some(
                        v.parse::<u64>()
                            .map_err(|_| Stop::Skip(format!("dd {a}")))?,
                    )
                }
                Some(("if", v)) => input = Some(v),
                Some(("of", v)) => output = Some(v),
                Some(("status", _)) => {}
                _ => return skip(format!("shell command: `dd {}`", args.join(" "))),
            }
        }
        match (input, output, count) {
            (Some("/dev/zero"), Some(of), Some(c)) => {
                self.files.insert(of.to_string(), bs.saturating_mul(c));
                ok()
            }
            _ => skip(format!(
                "shell command: `dd {}` (only if=/dev/zero with a count: payloads are zeroes)",
                args.join(" ")
            )),
        }
    }

    fn ip(&mut self, args: &[&str]) -> Result<Output, Stop> {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !matches!(*a, "-4" | "-6"))
            .collect();
        match args.as_slice() {
            ["tcp_metrics", "flush", ..] | ["tcp_metrics", "delete", ..] => {
                // The core keeps no per-destination metrics cache.
                ok()
            }
            ["route", verb, dest, rest @ ..]
                if matches!(*verb, "change" | "replace" | "add" | "append") =>
            {
                let dest_ip: Option<IpAddr> = dest.split('/').next().and_then(|d| d.parse().ok());
                if dest_ip != Some(self.set.remote_ip) {
                    // A route to another address: it does not touch this connection.
                    self.notes.push(format!(
                        "ip route {verb} {dest}: not the remote address, no effect"
                    ));
                    return ok();
                }
                let mut i = 0;
                let (mut advmss, mut mtu, mut initcwnd) = (None, None, None);
                while i < rest.len() {
                    let key = rest[i];
                    let mut val = rest.get(i + 1).copied();
                    if val == Some("lock") {
                        i += 1;
                        val = rest.get(i + 1).copied();
                    }
                    let n = val.and_then(|v| v.parse::<u32>().ok());
                    match (key, n) {
                        ("via" | "dev" | "proto" | "scope" | "src" | "metric", _) => {}
                        ("advmss", Some(v)) => advmss = Some(v),
                        ("mtu", Some(v)) => mtu = Some(v),
                        ("initcwnd", Some(v)) => initcwnd = Some(v),
                        _ => {
                            return skip(format!(
                                "ip route attribute `{key}`: no counterpart in core"
                            ));
                        }
                    }
                    i += 2;
                }
                let hdr = if self.set.ipv6 { 60 } else { 40 };
                let mss = match (advmss, mtu) {
                    (Some(a), Some(m)) if a + hdr != m && a + hdr + 20 != m => {
                        return skip(format!(
                            "ip route advmss {a} with mtu {m}: the core has one MSS for advertising and sending"
                        ));
                    }
                    (Some(a), _) => Some(a),
                    (None, Some(m)) => Some(m.saturating_sub(hdr)),
                    (None, None) => None,
                };
                let before = (self.cfg.mss, self.cfg.initial_window);
                if let Some(m) = mss {
                    self.cfg.mss = u16::try_from(m).unwrap_or(u16::MAX);
                }
                if let Some(c) = initcwnd {
                    self.cfg.initial_window = c;
                }
                if before != (self.cfg.mss, self.cfg.initial_window) && self.ep.is_some() {
                    self.late_change = Some(format!("ip route {verb} {dest} {}", rest.join(" ")));
                }
                ok()
            }
            _ => skip(format!("shell command: `ip {}`", args.join(" "))),
        }
    }

    fn tc(&mut self, args: &[&str]) -> Result<Output, Stop> {
        let [obj, verb, rest @ ..] = args else {
            return skip(format!("shell command: `tc {}`", args.join(" ")));
        };
        if *obj != "qdisc" {
            return skip(format!("shell command: `tc {}`", args.join(" ")));
        }
        if matches!(*verb, "del" | "delete") {
            return ok();
        }
        if !matches!(*verb, "add" | "replace" | "change") {
            return skip(format!("shell command: `tc {}`", args.join(" ")));
        }
        // dev X root KIND [params]
        let kind_at = rest.iter().position(|w| *w == "root").map(|i| i + 1);
        let Some(kind) = kind_at.and_then(|i| rest.get(i)) else {
            return skip(format!("shell command: `tc {}`", args.join(" ")));
        };
        let params = &rest[kind_at.unwrap_or(0) + 1..];
        match *kind {
            "pfifo" | "pfifo_fast" | "bfifo" => {
                if let Some(i) = params.iter().position(|w| *w == "limit")
                    && params.get(i + 1) == Some(&"0")
                {
                    return skip(
                        "qdisc pfifo limit 0: every sent packet is dropped locally; local transmit drops need core support",
                    );
                }
                ok()
            }
            "fq" => skip("fq qdisc: pacing not in core"),
            other => skip(format!("qdisc {other}: not modelled")),
        }
    }

    /// Linux MIB counters (`nstat` names) the core's statistics give: endpoint counters,
    /// and connection counters summed over the script's connections (those closed keep
    /// the values they had when closed).
    pub(super) fn counters(&self) -> Vec<(&'static str, u64)> {
        let e = self.ep.as_ref().map(|ep| *ep.stats()).unwrap_or_default();
        let mut c = self.closed_stats;
        for f in self.fds.values() {
            if let Fd::Sock(s) = f
                && let Some(i) = s.last_info
            {
                add_stats(&mut c, &i.stats);
            }
        }
        vec![
            ("TcpInSegs", e.segments_in),
            ("TcpOutSegs", e.segments_out.saturating_sub(c.retransmits)),
            ("TcpRetransSegs", c.retransmits),
            ("TcpOutRsts", e.resets_sent + c.resets_sent),
            ("TcpExtTCPChallengeACK", c.challenge_acks),
            ("TcpExtListenOverflows", e.accept_queue_overflow),
            ("TcpExtSyncookiesSent", e.cookies_sent),
            ("TcpExtSyncookiesRecv", e.cookies_validated),
            ("TcpExtSyncookiesFailed", e.cookies_failed),
            ("TcpExtTCPTimeouts", c.rtos),
            ("TcpExtTCPLossProbes", c.tlp_probes),
            ("TcpExtTCPLossProbeRecovery", c.tlp_recoveries),
            ("TcpExtTCPDSACKRecv", c.dsacks_received),
            ("TcpExtPAWSEstab", c.paws_dropped),
            ("TcpExtTCPSpuriousRTOs", c.frto_spurious),
        ]
    }

    fn nstat(&mut self, args: &[&str]) -> Result<Output, Stop> {
        let (mut zeros, mut absolute, mut quiet, mut keep_history) = (false, false, false, false);
        let mut names = Vec::new();
        for a in args {
            match *a {
                "-z" | "--zeros" => zeros = true,
                "-a" | "--ignore" => absolute = true,
                "-n" | "--nooutput" => quiet = true,
                "-s" | "--noupdate" => keep_history = true,
                "-r" | "--reset" => self.nstat_history.clear(),
                "-j" | "--json" | "-p" | "--pretty" => return skip(format!("nstat option {a}")),
                name if !name.starts_with('-') => names.push(name.to_string()),
                other => return skip(format!("nstat option {other}")),
            }
        }
        let counters = self.counters();
        let mut out = String::from("#kernel\n");
        for (name, v) in &counters {
            let prev = if absolute {
                0
            } else {
                self.nstat_history.get(*name).copied().unwrap_or(0)
            };
            let delta = v.saturating_sub(prev);
            if (delta != 0 || zeros)
                && (names.is_empty() || names.iter().any(|n| n == name))
                && !quiet
            {
                let _ = writeln!(out, "{name:<32}{delta:>16}                0.0");
            }
        }
        for n in &names {
            if !counters.iter().any(|(k, _)| k == n) {
                return skip(format!("nstat counter {n}: not modelled"));
            }
        }
        if !keep_history {
            for (name, v) in counters.iter() {
                self.nstat_history.insert((*name).to_string(), *v);
            }
        }
        Ok(Output {
            status: 0,
            stdout: if quiet { String::new() } else { out },
            unknown: ["Tcp", "Ip", "Icmp", "Udp", "Tcp6", "Ip6"]
                .iter()
                .map(|p| (p.to_string(), "nstat counter not modelled".to_string()))
                .collect(),
            known: counters.iter().map(|(k, _)| (*k).to_string()).collect(),
        })
    }

    fn sockstat(&mut self, args: &[&str]) -> Result<Output, Stop> {
        if self.profile != Profile::FreeBsd {
            return skip("sockstat (FreeBSD) under the Linux profile");
        }
        let (mut v4, mut v6) = (false, false);
        let mut ports: Vec<u16> = Vec::new();
        let (mut connected_only, mut listening_only) = (false, false);
        let mut i = 0;
        while i < args.len() {
            match args[i] {
                "-4" => v4 = true,
                "-6" => v6 = true,
                "-P" => {
                    i += 1;
                    if args.get(i) != Some(&"tcp") {
                        return skip(format!("sockstat -P {}", args.get(i).unwrap_or(&"")));
                    }
                }
                "-p" => {
                    i += 1;
                    ports = args
                        .get(i)
                        .unwrap_or(&"")
                        .split(',')
                        .filter_map(|p| p.parse().ok())
                        .collect();
                }
                "-c" => connected_only = true,
                "-l" => listening_only = true,
                "-s" | "-n" | "-w" | "-q" => {}
                other => return skip(format!("sockstat option {other}")),
            }
            i += 1;
        }
        if !v4 && !v6 {
            v4 = true;
            v6 = true;
        }
        let mut out = String::from(
            "USER     COMMAND    PID   FD PROTO  LOCAL ADDRESS         FOREIGN ADDRESS       PATH STATE   CONN STATE\n",
        );
        for r in self.rows() {
            let ip = r.local.map(|l| l.ip()).unwrap_or(self.set.local_ip);
            if (ip.is_ipv4() && !v4) || (ip.is_ipv6() && !v6) {
                continue;
            }
            if !ports.is_empty()
                && !ports.iter().any(|p| {
                    r.local.is_some_and(|l| l.port() == *p)
                        || r.remote.is_some_and(|x| x.port() == *p)
                })
            {
                continue;
            }
            let listening = r.state == State::Listen;
            if (connected_only && listening) || (listening_only && !listening) {
                continue;
            }
            let fmt = |a: Option<SocketAddr>| match a {
                Some(a) if a.port() == 0 && a.ip().is_unspecified() => "*:*".to_string(),
                Some(a) => a.to_string(),
                None => "*:*".to_string(),
            };
            let proto = if ip.is_ipv4() { "tcp4" } else { "tcp6" };
            let (user, cmd, pid, fd) = match r.fd {
                Some(fd) => ("root", "packetdril", "4242".to_string(), fd.to_string()),
                None => ("?", "?", "?".to_string(), "?".to_string()),
            };
            let _ = writeln!(
                out,
                "{user:<8} {cmd:<10} {pid:<5} {fd:<2} {proto:<6} {:<21} {:<21}      {}",
                fmt(r.local),
                fmt(r.remote),
                freebsd_name(r.state)
            );
        }
        Ok(Output {
            status: 0,
            stdout: out,
            ..Output::default()
        })
    }

    fn tcpdrop(&mut self, args: &[&str]) -> Result<Output, Stop> {
        let state = match args {
            ["-s", st] => *st,
            ["-a"] => "*",
            _ => return skip(format!("tcpdrop {}", args.join(" "))),
        };
        let now = self.instant(self.now);
        // Connections the script holds: drop them (a TIME_WAIT one silently, others with
        // a RST, as FreeBSD's tcp_drop).
        let mut dropped = 0;
        let fds: Vec<i64> = self.fds.keys().copied().collect();
        for fd in fds {
            let Some(Fd::Sock(s)) = self.fds.get(&fd) else {
                continue;
            };
            let SockKind::Conn(h) = s.kind else { continue };
            let st = self
                .ep
                .as_ref()
                .and_then(|ep| ep.connection(h).ok())
                .map(|c| c.state());
            let Some(st) = st else { continue };
            if state != "*" && freebsd_name(st) != state {
                continue;
            }
            if let Some(ep) = self.ep.as_mut() {
                let _ = ep.abort(now, h);
            }
            if let Some(Fd::Sock(s)) = self.fds.get_mut(&fd) {
                s.dropped = true;
            }
            dropped += 1;
        }
        // Orphaned TIME_WAIT records are beyond the core's API.
        let orphans = self
            .ep
            .as_ref()
            .map_or(0, tcp_core::Endpoint::time_wait_count);
        if orphans > 0 && (state == "*" || state == "TIME_WAIT") {
            return skip(
                "tcpdrop of an orphaned TIME_WAIT connection: the core has no call to drop it",
            );
        }
        let _ = dropped;
        ok()
    }
}
