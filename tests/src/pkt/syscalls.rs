//! System calls of a script mapped onto the endpoint, with Linux's (or, under the FreeBSD
//! profile, FreeBSD's) socket-API semantics where the script can observe them.

use super::ast::{EventTime, Expr, SyscallEvent};
use super::exec::{
    Epoll, EpollWatch, Exec, Fd, Outcome, PdSocket, PdState, Pending, Profile, Res, Sock, SockKind,
    SockOpts, TimeKind, Timing, conn_errno, fail, skip,
};
use std::net::SocketAddr;
use tcp_core::{Duration, Keepalive, ReadError, State, StateError, WriteError};

/// A call's result: a value, or -1 with an errno name.
pub(super) type CallResult = Result<i64, &'static str>;

/// What trying a call gave.
pub(super) enum Step {
    Done(CallResult),
    /// Would block; the argument is progress so far (bytes written or read).
    Block(usize),
}

/// packetdrill's `await_idle_thread` limit.
const AWAIT_IDLE_US: u64 = 1_000_000;
/// How long a call that blocks the whole script may wait before the run is called hung.
const HANG_US: u64 = 300_000_000;

const O_RDWR: i64 = 2;
const O_NONBLOCK: i64 = 0x800;
const O_CREAT: i64 = 0x40;
const POLLIN: i64 = 0x1;
const POLLPRI: i64 = 0x2;
const POLLOUT: i64 = 0x4;
const POLLERR: i64 = 0x8;
const POLLHUP: i64 = 0x10;
const POLLNVAL: i64 = 0x20;
const POLLRDNORM: i64 = 0x40;
const POLLWRNORM: i64 = 0x100;
const POLLRDHUP: i64 = 0x2000;
const EPOLLET: i64 = 1 << 31;
const EPOLLONESHOT: i64 = 1 << 30;
const EPOLLEXCLUSIVE: i64 = 1 << 28;

const MSG_OOB: i64 = 0x1;
const MSG_PEEK: i64 = 0x2;
const MSG_DONTWAIT: i64 = 0x40;
const MSG_EOR: i64 = 0x80;
const MSG_TRUNC: i64 = 0x20;
const MSG_WAITALL: i64 = 0x100;
const MSG_NOSIGNAL: i64 = 0x4000;
const MSG_MORE: i64 = 0x8000;
const MSG_ERRQUEUE: i64 = 0x2000;
const MSG_FASTOPEN: i64 = 0x2000_0000;
const MSG_ZEROCOPY: i64 = 0x400_0000;
/// Linux's MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS default).
const MAX_SKB_FRAGS: usize = 17;

/// Linux errno numbers for the names scripts use.
pub(super) fn errno_num(name: &str) -> Option<i64> {
    Some(match name {
        "EPERM" => 1,
        "ENOENT" => 2,
        "EINTR" => 4,
        "EIO" => 5,
        "EBADF" => 9,
        "EAGAIN" | "EWOULDBLOCK" => 11,
        "ENOMEM" => 12,
        "EACCES" => 13,
        "EFAULT" => 14,
        "EBUSY" => 16,
        "EEXIST" => 17,
        "EINVAL" => 22,
        "ENOSPC" => 28,
        "EPIPE" => 32,
        "ENOMSG" => 42,
        "ENOPROTOOPT" => 92,
        "ENOTSOCK" => 88,
        "EMSGSIZE" => 90,
        "EPROTONOSUPPORT" => 93,
        "EOPNOTSUPP" => 95,
        "EAFNOSUPPORT" => 97,
        "EADDRINUSE" => 98,
        "EADDRNOTAVAIL" => 99,
        "ENETDOWN" => 100,
        "ENETUNREACH" => 101,
        "ECONNABORTED" => 103,
        "ECONNRESET" => 104,
        "ENOBUFS" => 105,
        "EISCONN" => 106,
        "ENOTCONN" => 107,
        "ETIMEDOUT" => 110,
        "ECONNREFUSED" => 111,
        "EHOSTUNREACH" => 113,
        "EALREADY" => 114,
        "EINPROGRESS" => 115,
        _ => return None,
    })
}

/// Numeric value of a symbol (Linux's values: comparisons are between symbols).
fn symbol_value(name: &str) -> Option<i64> {
    Some(match name {
        "O_RDWR" => O_RDWR,
        "O_RDONLY" => 0,
        "O_WRONLY" => 1,
        "O_NONBLOCK" => O_NONBLOCK,
        "O_CREAT" => O_CREAT,
        "POLLIN" => POLLIN,
        "POLLPRI" => POLLPRI,
        "POLLOUT" => POLLOUT,
        "POLLERR" => POLLERR,
        "POLLHUP" => POLLHUP,
        "POLLNVAL" => POLLNVAL,
        "POLLRDNORM" => POLLRDNORM,
        "POLLRDBAND" => 0x80,
        "POLLWRNORM" => POLLWRNORM,
        "POLLWRBAND" => 0x200,
        "POLLRDHUP" => POLLRDHUP,
        "EPOLLIN" => POLLIN,
        "EPOLLPRI" => POLLPRI,
        "EPOLLOUT" => POLLOUT,
        "EPOLLERR" => POLLERR,
        "EPOLLHUP" => POLLHUP,
        "EPOLLRDNORM" => POLLRDNORM,
        "EPOLLWRNORM" => POLLWRNORM,
        "EPOLLRDHUP" => POLLRDHUP,
        "EPOLLET" => EPOLLET,
        "EPOLLONESHOT" => EPOLLONESHOT,
        "EPOLLEXCLUSIVE" => EPOLLEXCLUSIVE,
        "EPOLL_CTL_ADD" => 1,
        "EPOLL_CTL_DEL" => 2,
        "EPOLL_CTL_MOD" => 3,
        "MSG_OOB" => MSG_OOB,
        "MSG_PEEK" => MSG_PEEK,
        "MSG_DONTWAIT" => MSG_DONTWAIT,
        "MSG_EOR" => MSG_EOR,
        "MSG_TRUNC" => MSG_TRUNC,
        "MSG_WAITALL" => MSG_WAITALL,
        "MSG_NOSIGNAL" => MSG_NOSIGNAL,
        "MSG_MORE" => MSG_MORE,
        "MSG_ERRQUEUE" => MSG_ERRQUEUE,
        "MSG_FASTOPEN" => MSG_FASTOPEN,
        "MSG_ZEROCOPY" => MSG_ZEROCOPY,
        "SHUT_RD" => 0,
        "SHUT_WR" => 1,
        "SHUT_RDWR" => 2,
        "SOCK_STREAM" => 1,
        "SOCK_DGRAM" => 2,
        "SOCK_RAW" => 3,
        "SOCK_NONBLOCK" => O_NONBLOCK,
        "SOCK_CLOEXEC" => 0x80000,
        "AF_INET" => 2,
        "AF_INET6" => 10,
        "AF_UNSPEC" => 0,
        "IPPROTO_TCP" => 6,
        "IPPROTO_UDP" => 17,
        "IPPROTO_IP" => 0,
        "NULL" => 0,
        "IP_PMTUDISC_DONT" => 0,
        "IP_PMTUDISC_WANT" => 1,
        "IP_PMTUDISC_DO" => 2,
        "IP_PMTUDISC_PROBE" => 3,
        "IPTOS_DSCP_CS1" => 0x20,
        "IPTOS_DSCP_CS7" => 0xe0,
        other => errno_num(other)?,
    })
}

/// Integer value of an expression: ints, symbols, `a|b`, `[x]`, `htons(x)`/`htonl(x)`.
pub(super) fn int_value(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(v) => Some(*v),
        Expr::Word(w) => symbol_value(w),
        Expr::BitOr(items) => items.iter().try_fold(0, |acc, i| Some(acc | int_value(i)?)),
        Expr::Array(items) if items.len() == 1 => int_value(&items[0]),
        Expr::Call(f, args) if f == "htons" && args.len() == 1 => {
            int_value(&args[0]).map(|v| i64::from((v as u16).to_be()))
        }
        Expr::Call(f, args) if f == "htonl" && args.len() == 1 => {
            int_value(&args[0]).map(|v| i64::from((v as u32).to_be()))
        }
        _ => None,
    }
}

/// Lengths of an iovec array `[{..., 100}, {iov_base=..., iov_len=200}]`.
fn iov_lens(e: &Expr) -> Option<Vec<usize>> {
    let Expr::Array(items) = e else {
        return None;
    };
    let mut out = Vec::new();
    for it in items {
        let len = match it.field("iov_len") {
            Some(v) => v.as_int()?,
            None => match it {
                Expr::Struct(fields) => fields.last()?.as_int()?,
                _ => return None,
            },
        };
        out.push(usize::try_from(len).ok()?);
    }
    Some(out)
}

fn is_null(e: &Expr) -> bool {
    matches!(e, Expr::Word(w) if w == "NULL") || matches!(e, Expr::Int(0))
}

/// What kind of I/O call a name is.
fn io_kind(name: &str) -> Option<(bool, bool)> {
    // (is_read, has_flags)
    Some(match name {
        "read" | "readv" => (true, false),
        "recv" | "recvfrom" | "recvmsg" => (true, true),
        "write" | "writev" => (false, false),
        "send" | "sendto" | "sendmsg" => (false, true),
        _ => return None,
    })
}

impl Exec<'_> {
    fn arg<'e>(&self, line: usize, call: &'e SyscallEvent, i: usize) -> Res<&'e Expr> {
        match call.args.get(i) {
            Some(a) => Ok(a),
            None => fail(
                line,
                call.to_string(),
                format!(
                    "runtime error in {} call: missing argument {}",
                    call.name,
                    i + 1
                ),
            ),
        }
    }

    fn fd_arg(&self, line: usize, call: &SyscallEvent) -> Res<i64> {
        match int_value(self.arg(line, call, 0)?) {
            Some(fd) => Ok(fd),
            None => skip(format!(
                "system call argument: line {line}: fd of {} is not a number",
                call.name
            )),
        }
    }

    fn int_arg(&self, line: usize, call: &SyscallEvent, i: usize) -> Res<i64> {
        let e = self.arg(line, call, i)?;
        match int_value(e) {
            Some(v) => Ok(v),
            None => skip(format!(
                "system call argument: line {line}: argument {} of {} (`{e}`) is not understood",
                i + 1,
                call.name
            )),
        }
    }

    /// The script's expected result as a number (packetdrill's `get_s32`).
    fn expected_result(&self, line: usize, call: &SyscallEvent) -> Res<i64> {
        match int_value(&call.result) {
            Some(v) => Ok(v),
            None => fail(
                line,
                call.to_string(),
                format!(
                    "runtime error in {} call: bad result expression `{}`",
                    call.name, call.result
                ),
            ),
        }
    }

    /// The next fd: the number the script expects, else the lowest free one from 3.
    /// `socket()` and `epoll_create()` fail on a script fd still open (packetdrill's
    /// `check_duplicate_fd`); `accept()` does not check, and its fd shadows the old one.
    fn new_fd(&mut self, line: usize, call: &SyscallEvent) -> Res<i64> {
        let want = self.expected_result(line, call)?;
        if want >= 0 {
            if self.fds.contains_key(&want) && !call.name.starts_with("accept") {
                return fail(
                    line,
                    call.to_string(),
                    format!(
                        "runtime error in {} call: duplicate fd {want} in script",
                        call.name
                    ),
                );
            }
            return Ok(want);
        }
        let mut fd = 3;
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        Ok(fd)
    }

    fn new_sock(kind: SockKind, opts: SockOpts) -> Sock {
        Sock {
            kind,
            nonblock: false,
            opts,
            bound: None,
            pending_error: None,
            failed: None,
            connected: false,
            connect_pending: false,
            shut_rd: false,
            shut_wr: false,
            last_info: None,
            dropped: false,
            queue: 0,
            late_sndbuf: None,
        }
    }

    /// A system-call event (`run_system_call_event`).
    pub(super) fn syscall_event(
        &mut self,
        line: usize,
        call: &SyscallEvent,
        time: EventTime,
        t: Timing,
    ) -> Res<()> {
        if let Some(end) = call.end {
            // A blocking call, on packetdrill's system-call thread.
            let end = match time {
                EventTime::Relative(d) => t.time - d + end,
                _ => end,
            };
            if self.pending.is_some() {
                let until = self.now + AWAIT_IDLE_US;
                self.await_idle(until)?;
                if self.pending.is_some() {
                    return fail(
                        line,
                        call.to_string(),
                        "runtime error: blocking system call while another blocking system call is already in progress",
                    );
                }
            }
            self.wait_for_event(line, t, "system call start")?;
            let start = self.now;
            match self.try_call(line, call, start, 0, true)? {
                Step::Done(r) => {
                    self.finish_blocking(line, call, t.kind, start, end, r)?;
                }
                Step::Block(progress) => {
                    self.pending = Some(Pending {
                        line,
                        call: call.clone(),
                        start,
                        end,
                        kind: t.kind,
                        progress,
                    });
                }
            }
            return self.pump();
        }
        // A call in the main thread: first wait (up to 1 s) for a blocked call.
        if self.pending.is_some() {
            let until = self.now + AWAIT_IDLE_US;
            self.await_idle(until)?;
        }
        self.wait_for_event(line, t, "system call start")?;
        let start = self.now;
        let mut progress = 0;
        let r = loop {
            match self.try_call(line, call, start, progress, false)? {
                Step::Done(r) => break r,
                Step::Block(p) => {
                    // The whole script waits: only the stack's timers run.
                    progress = p;
                    match self.next_wake() {
                        Some(w) if w <= start + HANG_US => self.step_to(w)?,
                        _ => {
                            return fail(
                                line,
                                call.to_string(),
                                "the call blocks for ever (packetdrill would hang): only the stack's timers could wake it, and none is pending",
                            );
                        }
                    }
                }
            }
        };
        let res = self.check_result(line, call, r);
        match res {
            Err(Outcome::Fail {
                line,
                expected,
                happened,
            }) if self.set.non_fatal_syscall => {
                self.notes
                    .push(format!("warning: line {line}: {expected} / {happened}"));
            }
            other => other?,
        }
        self.pump()
    }

    /// Waits up to `until` for the blocked call to return.
    pub(super) fn await_idle(&mut self, until: u64) -> Res<()> {
        self.pump()?;
        while self.pending.is_some() {
            match self.next_wake() {
                Some(w) if w <= until => self.step_to(w)?,
                _ => {
                    self.now = self.now.max(until);
                    self.pump()?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// A blocking call returned: its end time and result.
    fn finish_blocking(
        &mut self,
        line: usize,
        call: &SyscallEvent,
        kind: TimeKind,
        start: u64,
        end: u64,
        r: CallResult,
    ) -> Res<()> {
        if let Err(m) = self.verify_time(kind, end, 0, self.now, Some(start), "system call return")
        {
            return fail(
                line,
                format!(
                    "{} to return at {}",
                    call.name,
                    super::exec::secs(end as i64)
                ),
                m,
            );
        }
        self.check_result(line, call, r)
    }

    /// Gives a blocked call another chance; `Ok(true)` if it returned.
    pub(super) fn retry_pending(&mut self) -> Res<bool> {
        let Some(mut p) = self.pending.take() else {
            return Ok(false);
        };
        match self.try_call(p.line, &p.call, p.start, p.progress, true)? {
            Step::Done(r) => {
                let (line, call, kind, start, end) =
                    (p.line, p.call.clone(), p.kind, p.start, p.end);
                self.finish_blocking(line, &call, kind, start, end, r)?;
                Ok(true)
            }
            Step::Block(progress) => {
                p.progress = progress;
                self.pending = Some(p);
                Ok(false)
            }
        }
    }

    /// packetdrill's `end_syscall`: result and errno.
    fn check_result(&self, line: usize, call: &SyscallEvent, r: CallResult) -> Res<()> {
        let expected = self.expected_result(line, call)?;
        let fd_mode = matches!(
            call.name.as_str(),
            "socket" | "accept" | "accept4" | "epoll_create" | "epoll_create1" | "open"
        );
        let actual = r.unwrap_or(-1);
        let errno = r.err();
        let errno_text = errno.map_or_else(String::new, |e| format!(" {e}"));
        if fd_mode && expected >= 0 {
            if actual < 0 {
                return fail(
                    line,
                    call.to_string(),
                    format!("Expected non-negative result but got -1{errno_text}"),
                );
            }
        } else if actual != expected {
            return fail(
                line,
                call.to_string(),
                format!("Expected result {expected} but got {actual}{errno_text}"),
            );
        }
        if let Some(want) = &call.errno {
            let got = errno.unwrap_or("0 (Success)");
            let same = match (errno_num(want), errno.and_then(errno_num)) {
                (Some(a), Some(b)) => a == b,
                _ => want == got,
            };
            if !same {
                return fail(
                    line,
                    call.to_string(),
                    format!("Expected errno {want} but got {got}"),
                );
            }
        }
        Ok(())
    }

    /// The endpoint configuration a socket's options shape (Linux applies them to the SYN
    /// or SYN-ACK: TCP_MAXSEG, SO_RCVBUF, SO_SNDBUF, TCP_SYNCNT). Before the endpoint exists
    /// they go into its `Config`; afterwards an idle endpoint is rebuilt, else the next
    /// event SKIPs (the core's configuration is per endpoint).
    fn prepare_endpoint(&mut self, opts: &SockOpts) {
        let before = self.cfg.clone();
        if let Some(m) = opts.maxseg {
            self.cfg.mss = self.cfg.mss.min(m);
        }
        if let Some(b) = opts.rcvbuf {
            // A receive buffer the application sized is not auto-tuned (SOCK_RCVBUF_LOCK).
            self.cfg.recv_buffer = b as usize;
            self.cfg.recv_buffer_fixed = true;
        }
        if let Some(b) = opts.sndbuf {
            self.cfg.send_buffer = b as usize;
        }
        if let Some(n) = opts.syncnt {
            self.cfg.syn_retries = n;
        }
        if opts.noopt {
            self.cfg.no_options = true;
        }
        if self.cfg != before {
            self.config_changed(
                "socket options TCP_MAXSEG/SO_RCVBUF/SO_SNDBUF/TCP_SYNCNT/TCP_NOOPT".into(),
            );
        }
    }

    fn keepalive_for(&self, o: &SockOpts) -> Keepalive {
        let mut k = self.sys.keepalive;
        let unit = match self.profile {
            Profile::Linux => Duration::from_secs,
            Profile::FreeBsd => Duration::from_secs,
        };
        if let Some(v) = o.keep_idle {
            k.idle = unit(v);
        }
        if let Some(v) = o.keep_intvl {
            k.interval = unit(v);
        }
        if let Some(v) = o.keep_cnt {
            k.count = v;
        }
        k
    }

    /// Pushes a socket's options into its connection.
    fn apply_opts(&mut self, fd: i64) {
        let Some(s) = self.sock(fd) else { return };
        let SockKind::Conn(h) = s.kind else { return };
        let o = s.opts;
        let ka = o.keepalive.then(|| self.keepalive_for(&o));
        let lowat_sysctl = self.sys.notsent_lowat;
        // SO_SNDBUF on Linux: sk_sndbuf in memory (truesize) accounting, locked.
        let sndbuf = match self.profile {
            Profile::Linux => o.sndbuf.and_then(|b| u32::try_from(b).ok()),
            Profile::FreeBsd => None,
        };
        let now = self.instant(self.now);
        if let Some(ep) = self.ep.as_mut() {
            let _ = ep.with_connection(now, h, |c| {
                if c.nodelay() != o.nodelay {
                    c.set_nodelay(o.nodelay);
                }
                c.set_cork(o.cork);
                if let Some(x) = o.notsent_lowat {
                    // 0 means the sysctl's value; UINT_MAX means no limit.
                    let l = if x == 0 { lowat_sysctl } else { x };
                    c.set_notsent_lowat(u32::try_from(l).ok().filter(|&l| l < u32::MAX));
                }
                c.set_keepalive(ka);
                c.set_user_timeout(
                    o.user_timeout_ms
                        .filter(|&ms| ms > 0)
                        .map(Duration::from_millis),
                );
                if let Some(m) = o.maxseg {
                    c.set_max_segment_size(m);
                }
                if sndbuf.is_some() && c.send_buffer_limit() != sndbuf {
                    c.set_send_buffer(sndbuf);
                }
            });
        }
    }

    /// The packetdrill socket an fd belongs to.
    fn pd_of(&self, fd: i64) -> Option<usize> {
        self.pd.iter().rposition(|s| s.fd == Some(fd))
    }

    /// A socket's address: `...` is the configured one; a sockaddr struct is read.
    fn sockaddr_arg(&self, e: &Expr, default: SocketAddr) -> Result<Option<SocketAddr>, String> {
        if matches!(e, Expr::Ellipsis) {
            return Ok(Some(default));
        }
        let family = e.field("sa_family").and_then(Expr::as_word).unwrap_or("");
        if family == "AF_UNSPEC" {
            return Ok(None);
        }
        let port = e
            .field("sin_port")
            .or_else(|| e.field("sin6_port"))
            .and_then(|p| match p {
                Expr::Call(f, a) if f == "htons" => a.first().and_then(Expr::as_int),
                other => other.as_int(),
            });
        let addr = e
            .field("sin_addr")
            .or_else(|| e.field("sin6_addr"))
            .and_then(|a| match a {
                Expr::Call(_, args) => match args.first() {
                    Some(Expr::Str(s)) => s.parse().ok(),
                    _ => None,
                },
                Expr::Str(s) => s.parse().ok(),
                _ => None,
            });
        match (port, addr) {
            (Some(p), Some(a)) => Ok(Some(SocketAddr::new(a, p as u16))),
            _ => Err(format!("sockaddr `{e}`")),
        }
    }

    /// Linux/FreeBSD buffer-size semantics of SO_RCVBUF/SO_SNDBUF values as set.
    fn buf_value(&self, rcv: bool, v: i64) -> u64 {
        let v = v.max(0) as u64;
        match self.profile {
            Profile::Linux => {
                // sock_setsockopt: min(val, [rw]mem_max) * 2, at least SOCK_MIN_*BUF.
                let max = if rcv {
                    self.sys.rmem_max
                } else {
                    self.sys.wmem_max
                };
                let min = if rcv { 2304 } else { 4608 };
                (v.min(max) * 2).max(min)
            }
            Profile::FreeBsd => v,
        }
    }

    #[allow(clippy::too_many_lines)]
    fn try_call(
        &mut self,
        line: usize,
        call: &SyscallEvent,
        start: u64,
        progress: usize,
        on_thread: bool,
    ) -> Res<Step> {
        let now = self.instant(self.now);
        let done = |r: CallResult| Ok(Step::Done(r));
        let _ = on_thread;
        let name = call.name.as_str();
        if let Some((is_read, _)) = io_kind(name) {
            return if is_read {
                self.read_call(line, call, progress)
            } else {
                self.write_call(line, call, progress)
            };
        }
        match name {
            "socket" => {
                let ty = self.int_arg(line, call, 1)?;
                let proto = match self.arg(line, call, 2)? {
                    Expr::Ellipsis => 6,
                    e => int_value(e).unwrap_or(-1),
                };
                if ty & 0xf != 1 || !(proto == 6 || proto == 0) {
                    return skip(format!(
                        "socket type: line {line}: `{call}` (only TCP stream sockets)"
                    ));
                }
                let fd = self.new_fd(line, call)?;
                let mut s = Self::new_sock(SockKind::Fresh, SockOpts::default());
                s.nonblock = ty & O_NONBLOCK != 0;
                self.fds.insert(fd, Fd::Sock(Box::new(s)));
                self.pd.push(PdSocket::new_with_fd(PdState::New, fd));
                self.sut = Some(self.pd.len() - 1);
                done(Ok(fd))
            }
            "bind" => {
                let fd = self.fd_arg(line, call)?;
                let default = SocketAddr::new(self.set.local_ip, self.set.bind_port);
                let addr = match self.sockaddr_arg(self.arg(line, call, 1)?, default) {
                    Ok(Some(a)) => a,
                    Ok(None) => return done(Err("EAFNOSUPPORT")),
                    Err(what) => return skip(format!("system call argument: line {line}: {what}")),
                };
                let in_use = self.fds.iter().any(|(f, x)| {
                    *f != fd
                        && matches!(x, Fd::Sock(s) if s.bound.is_some_and(|b| b.port() == addr.port())
                            && matches!(s.kind, SockKind::Listener(_)))
                });
                let Some(s) = self.sock_mut(fd) else {
                    return done(Err("EBADF"));
                };
                if s.bound.is_some() || s.kind != SockKind::Fresh {
                    return done(Err("EINVAL"));
                }
                if in_use {
                    return done(Err("EADDRINUSE"));
                }
                s.bound = Some(addr);
                done(Ok(0))
            }
            "listen" => {
                let fd = self.fd_arg(line, call)?;
                let backlog = self.int_arg(line, call, 1)?.max(0) as usize;
                let Some(s) = self.sock(fd).cloned() else {
                    return done(Err("EBADF"));
                };
                match s.kind {
                    SockKind::Listener(_) => return done(Ok(0)),
                    SockKind::Conn(_) => return done(Err("EINVAL")),
                    SockKind::Fresh => {}
                }
                self.prepare_endpoint(&s.opts);
                let addr = s
                    .bound
                    .unwrap_or(SocketAddr::new(self.set.local_ip, self.set.bind_port));
                // Linux's accept queue holds backlog + 1 (sk_acceptq_is_full compares with
                // `>`); FreeBSD's holds 3/2 of it (sonewconn's `sol_qlen > 3 * qlimit / 2`).
                let queue = match self.profile {
                    Profile::Linux => backlog.min(4096) + 1,
                    Profile::FreeBsd => 3 * backlog / 2 + 1,
                };
                match self.endpoint().listen(addr, queue) {
                    Ok(l) => {
                        if let Some(s) = self.sock_mut(fd) {
                            s.kind = SockKind::Listener(l);
                            s.bound = Some(addr);
                            s.queue = queue;
                        }
                        if let Some(i) = self.pd_of(fd) {
                            self.pd[i].state = PdState::PassiveListening;
                        }
                        done(Ok(0))
                    }
                    Err(_) => done(Err("EADDRINUSE")),
                }
            }
            "accept" | "accept4" => {
                let fd = self.fd_arg(line, call)?;
                let Some(s) = self.sock(fd).cloned() else {
                    return done(Err("EBADF"));
                };
                let SockKind::Listener(l) = s.kind else {
                    return done(Err("EINVAL"));
                };
                let flags = call.args.get(3).and_then(int_value).unwrap_or(0);
                match self.endpoint().accept(l) {
                    Ok(Some(h)) => {
                        let nfd = self.new_fd(line, call)?;
                        let mut ns = Self::new_sock(SockKind::Conn(h), s.opts);
                        ns.nonblock = flags & O_NONBLOCK != 0;
                        ns.connected = true;
                        self.fds.insert(nfd, Fd::Sock(Box::new(ns)));
                        // run_syscall_accept: the newest child that sent its SYN-ACK.
                        let child = self.pd.iter().rposition(|p| {
                            p.fd.is_none()
                                && matches!(
                                    p.state,
                                    PdState::PassiveSynackSent | PdState::PassiveSynackAcked
                                )
                        });
                        match child {
                            Some(i) => self.pd[i].fd = Some(nfd),
                            None => {
                                return fail(
                                    line,
                                    call.to_string(),
                                    "runtime error in accept call: unable to find socket matching accept() call",
                                );
                            }
                        }
                        self.apply_opts(nfd);
                        done(Ok(nfd))
                    }
                    Ok(None) if s.nonblock => done(Err("EAGAIN")),
                    Ok(None) => Ok(Step::Block(0)),
                    Err(_) => done(Err("EINVAL")),
                }
            }
            "connect" => self.connect_call(line, call, progress),
            "close" => {
                let fd = self.fd_arg(line, call)?;
                let Some(f) = self.fds.remove(&fd) else {
                    return done(Err("EBADF"));
                };
                for other in self.fds.values_mut() {
                    if let Fd::Epoll(e) = other {
                        e.watched.remove(&fd);
                    }
                }
                let Fd::Sock(s) = f else { return done(Ok(0)) };
                if let Some(i) = s.last_info {
                    super::machine::add_stats(&mut self.closed_stats, &i.stats);
                }
                match s.kind {
                    SockKind::Fresh => {}
                    SockKind::Listener(l) => {
                        let _ = self.endpoint().close_listener(now, l);
                    }
                    SockKind::Conn(h) => match s.opts.linger {
                        Some((true, 0)) => {
                            let _ = self.endpoint().abort(now, h);
                        }
                        Some((true, secs)) => {
                            let unsent = self
                                .ep
                                .as_ref()
                                .and_then(|ep| ep.connection(h).ok())
                                .is_some_and(|c| c.info().send_buffered > 0);
                            if unsent {
                                return skip(format!(
                                    "SO_LINGER with a timeout ({secs} s): line {line}: close() that waits for unsent data needs core support"
                                ));
                            }
                            let _ = self.endpoint().close(now, h);
                        }
                        _ => {
                            let _ = self.endpoint().close(now, h);
                        }
                    },
                }
                done(Ok(0))
            }
            "shutdown" => {
                let fd = self.fd_arg(line, call)?;
                let how = self.int_arg(line, call, 1)?;
                let Some(s) = self.sock(fd).cloned() else {
                    return done(Err("EBADF"));
                };
                let SockKind::Conn(h) = s.kind else {
                    return done(Err("ENOTCONN"));
                };
                let st = self
                    .ep
                    .as_ref()
                    .and_then(|ep| ep.connection(h).ok())
                    .map(|c| c.state());
                if matches!(st, None | Some(State::Closed | State::SynSent)) {
                    return done(Err("ENOTCONN"));
                }
                if (how == 0 || how == 2)
                    && let Some(s) = self.sock_mut(fd)
                {
                    s.shut_rd = true;
                }
                if how == 1 || how == 2 {
                    if let Some(s) = self.sock_mut(fd) {
                        s.shut_wr = true;
                    }
                    match self.endpoint().shutdown(now, h) {
                        Ok(()) | Err(StateError::Failed(_)) => {}
                        Err(_) => return done(Err("ENOTCONN")),
                    }
                }
                if !(0..=2).contains(&how) {
                    return done(Err("EINVAL"));
                }
                done(Ok(0))
            }
            "fcntl" => {
                let fd = self.fd_arg(line, call)?;
                let cmd = self.arg(line, call, 1)?.as_word().unwrap_or("").to_string();
                let flags = call.args.get(2).and_then(int_value);
                let Some(s) = self.sock_mut(fd) else {
                    return done(Err("EBADF"));
                };
                match cmd.as_str() {
                    "F_SETFL" => {
                        s.nonblock = flags.unwrap_or(0) & O_NONBLOCK != 0;
                        done(Ok(0))
                    }
                    "F_GETFL" => done(Ok(O_RDWR | if s.nonblock { O_NONBLOCK } else { 0 })),
                    "F_GETFD" | "F_SETFD" => done(Ok(0)),
                    other => skip(format!("fcntl {other}: line {line}")),
                }
            }
            "ioctl" => self.ioctl(line, call),
            "setsockopt" => self.setsockopt(line, call),
            "getsockopt" => self.getsockopt(line, call),
            "poll" => self.poll(line, call, start),
            "epoll_create" | "epoll_create1" => {
                let fd = self.new_fd(line, call)?;
                self.fds.insert(fd, Fd::Epoll(Epoll::default()));
                done(Ok(fd))
            }
            "epoll_ctl" => self.epoll_ctl(line, call),
            "epoll_wait" => self.epoll_wait(line, call, start),
            "open" => {
                let path = match self.arg(line, call, 0)? {
                    Expr::Str(p) => p.clone(),
                    e => {
                        return skip(format!(
                            "system call argument: line {line}: open() path {e}"
                        ));
                    }
                };
                let flags = self.int_arg(line, call, 1)?;
                if !self.files.contains_key(&path) {
                    if flags & O_CREAT == 0 {
                        return done(Err("ENOENT"));
                    }
                    self.files.insert(path.clone(), 0);
                }
                let fd = self.new_fd(line, call)?;
                self.fds.insert(fd, Fd::File(path, 0));
                done(Ok(fd))
            }
            "sendfile" => self.sendfile(line, call, progress),
            "pipe" | "pipe2" => {
                let Expr::Array(v) = self.arg(line, call, 0)?.clone() else {
                    return skip(format!("system call argument: line {line}: pipe fds"));
                };
                let (Some(r), Some(w)) =
                    (v.first().and_then(int_value), v.get(1).and_then(int_value))
                else {
                    return skip(format!("system call argument: line {line}: pipe fds"));
                };
                if self.fds.contains_key(&r) || self.fds.contains_key(&w) || r == w {
                    return fail(
                        line,
                        call.to_string(),
                        format!("runtime error in pipe call: fds {r} and {w} must be new"),
                    );
                }
                self.pipes.push(0);
                let id = self.pipes.len() - 1;
                self.fds.insert(r, Fd::Pipe(id, false));
                self.fds.insert(w, Fd::Pipe(id, true));
                done(Ok(0))
            }
            "splice" => self.splice(line, call, progress),
            "sendmmsg" | "recvmmsg" => skip(format!(
                "system call {name}(): line {line} (files and pipes are not modelled)"
            )),
            other => skip(format!("system call {other}(): line {line}")),
        }
    }

    fn connect_call(&mut self, line: usize, call: &SyscallEvent, progress: usize) -> Res<Step> {
        let done = |r: CallResult| Ok(Step::Done(r));
        let now = self.instant(self.now);
        let fd = self.fd_arg(line, call)?;
        let Some(s) = self.sock(fd).cloned() else {
            return done(Err("EBADF"));
        };
        let default = SocketAddr::new(self.set.remote_ip, self.set.connect_port);
        let target = match self.sockaddr_arg(self.arg(line, call, 1)?, default) {
            Ok(t) => t,
            Err(what) => return skip(format!("system call argument: line {line}: {what}")),
        };
        let Some(remote) = target else {
            // AF_UNSPEC: tcp_disconnect, back to a fresh socket.
            if let SockKind::Conn(h) = s.kind {
                let _ = self.endpoint().abort(now, h);
            }
            if let Some(s) = self.sock_mut(fd) {
                s.kind = SockKind::Fresh;
                s.connected = false;
                s.connect_pending = false;
            }
            if let Some(i) = self.pd_of(fd) {
                self.pd[i].state = PdState::New;
            }
            return done(Ok(0));
        };
        match s.kind {
            SockKind::Listener(_) => done(Err("EINVAL")),
            SockKind::Fresh => {
                if progress == 1 {
                    return done(Err("ECONNABORTED"));
                }
                self.prepare_endpoint(&s.opts);
                let local_ip = s.bound.map_or(self.set.local_ip, |b| b.ip());
                let r = match s.bound {
                    Some(b) if b.port() != 0 => self.endpoint().connect_from(now, b, remote),
                    _ => self.endpoint().connect(now, local_ip, remote),
                };
                let h = match r {
                    Ok(h) => h,
                    Err(tcp_core::endpoint::ConnectError::AddrInUse) => {
                        return done(Err("EADDRINUSE"));
                    }
                    Err(tcp_core::endpoint::ConnectError::NoPort) => {
                        return done(Err("EADDRNOTAVAIL"));
                    }
                    Err(_) => {
                        return done(Err("EINVAL"));
                    }
                };
                if let Some(sm) = self.sock_mut(fd) {
                    sm.kind = SockKind::Conn(h);
                }
                // run_syscall_connect: the socket under test connects.
                if let Some(i) = self.pd_of(fd)
                    && self.pd[i].state == PdState::New
                {
                    self.pd[i].state = PdState::ActiveConnecting;
                    self.pd[i].live_remote =
                        Some(SocketAddr::new(self.set.remote_ip, self.set.connect_port));
                    self.pd[i].live_local = None;
                }
                self.apply_opts(fd);
                if s.nonblock {
                    if let Some(sm) = self.sock_mut(fd) {
                        sm.connect_pending = true;
                    }
                    done(Err("EINPROGRESS"))
                } else {
                    Ok(Step::Block(1))
                }
            }
            SockKind::Conn(h) => {
                let st = self
                    .ep
                    .as_ref()
                    .and_then(|ep| ep.connection(h).ok())
                    .map(|c| c.state());
                if let Some(e) = self.sock_mut(fd).and_then(|s| s.pending_error.take()) {
                    if let Some(sm) = self.sock_mut(fd) {
                        sm.connect_pending = false;
                    }
                    return done(Err(e));
                }
                match st {
                    Some(State::SynSent | State::SynRcvd) if s.nonblock && progress == 0 => {
                        done(Err("EALREADY"))
                    }
                    Some(State::SynSent | State::SynRcvd) => Ok(Step::Block(1)),
                    Some(State::Closed) | None if progress == 1 || s.connect_pending => {
                        if let Some(sm) = self.sock_mut(fd) {
                            sm.connect_pending = false;
                        }
                        done(Err(s.failed.map_or("ECONNABORTED", conn_errno)))
                    }
                    Some(_) if progress == 1 || s.connect_pending => {
                        if let Some(sm) = self.sock_mut(fd) {
                            sm.connect_pending = false;
                        }
                        done(Ok(0))
                    }
                    _ => done(Err("EISCONN")),
                }
            }
        }
    }

    /// Flags argument of an I/O call, and the errors/skips flags imply.
    fn io_flags(&self, line: usize, call: &SyscallEvent) -> Res<i64> {
        let idx = match call.name.as_str() {
            "recv" | "recvfrom" | "send" | "sendto" => 3,
            "recvmsg" | "sendmsg" => 2,
            _ => return Ok(0),
        };
        let f = match call.args.get(idx) {
            Some(e) => match int_value(e) {
                Some(v) => v,
                None => return skip(format!("system call argument: line {line}: flags `{e}`")),
            },
            None => 0,
        };
        if f & MSG_ERRQUEUE != 0 {
            return skip(format!(
                "MSG_ERRQUEUE: line {line}: error-queue notifications (timestamping, zerocopy, ICMP) not in core"
            ));
        }
        if f & MSG_FASTOPEN != 0 {
            return skip(format!(
                "TCP Fast Open: line {line}: MSG_FASTOPEN not in core"
            ));
        }
        if f & MSG_OOB != 0 {
            return skip(format!("MSG_OOB: line {line}: urgent data not in core"));
        }
        Ok(f)
    }

    fn io_len(&self, line: usize, call: &SyscallEvent) -> Res<(usize, bool)> {
        let name = call.name.as_str();
        let (len, null) = match name {
            "read" | "write" | "recv" | "send" | "recvfrom" | "sendto" => {
                let null = is_null(self.arg(line, call, 1)?);
                (
                    int_value(self.arg(line, call, 2)?).and_then(|v| usize::try_from(v).ok()),
                    null,
                )
            }
            "readv" | "writev" => (
                iov_lens(self.arg(line, call, 1)?).map(|v| v.iter().sum()),
                false,
            ),
            "sendmsg" | "recvmsg" => {
                let m = self.arg(line, call, 1)?;
                let iov = m
                    .field("msg_iov")
                    .and_then(iov_lens)
                    .map(|v| v.iter().sum());
                (iov, false)
            }
            _ => (None, false),
        };
        match len {
            Some(l) => Ok((l, null)),
            None => skip(format!(
                "system call argument: line {line}: cannot work out the buffer length of {call}"
            )),
        }
    }

    fn read_call(&mut self, line: usize, call: &SyscallEvent, progress: usize) -> Res<Step> {
        let done = |r: CallResult| Ok(Step::Done(r));
        let now = self.instant(self.now);
        let fd = self.fd_arg(line, call)?;
        let flags = self.io_flags(line, call)?;
        let (n, null) = self.io_len(line, call)?;
        let Some(s) = self.sock(fd).cloned() else {
            return done(Err("EBADF"));
        };
        let nonblock = s.nonblock || flags & MSG_DONTWAIT != 0;
        let SockKind::Conn(h) = s.kind else {
            return done(Err("ENOTCONN"));
        };
        let conn = self.ep.as_ref().and_then(|ep| ep.connection(h).ok());
        let avail = conn.map_or(0, |c| c.recv_available());
        let st = conn.map(|c| c.state());
        // Linux's tcp_recvmsg: data first, then a pending error, then EOF, then wait.
        if avail > 0 && n > 0 {
            if null {
                return done(Err("EFAULT"));
            }
            if let Some(u) = self.urgent_line {
                return skip(format!(
                    "urgent data: line {line}: a read after the urgent data of line {u}: Linux and FreeBSD take the urgent byte out of the stream (SO_OOBINLINE off), the core does not: not in core"
                ));
            }
            let want = n - progress;
            let k = if flags & MSG_PEEK != 0 {
                want.min(avail)
            } else {
                let mut buf = vec![0u8; want];
                self.endpoint().read(now, h, &mut buf).unwrap_or_default()
            };
            let total = progress + k;
            if flags & MSG_WAITALL != 0 && total < n && !nonblock && flags & MSG_PEEK == 0 {
                return Ok(Step::Block(total));
            }
            if call.name == "recvmsg" {
                self.check_recvmsg(line, call, fd, h)?;
            }
            return done(Ok(total as i64));
        }
        if progress > 0 {
            return done(Ok(progress as i64));
        }
        if n == 0 {
            return done(Ok(0));
        }
        if let Some(e) = self.sock_mut(fd).and_then(|s| s.pending_error.take()) {
            return done(Err(e));
        }
        let eof = s.shut_rd
            || s.failed.is_some()
            || matches!(
                st,
                None | Some(
                    State::CloseWait
                        | State::LastAck
                        | State::Closing
                        | State::TimeWait
                        | State::Closed
                )
            );
        if eof {
            if st.is_none() && !s.connected && s.failed.is_none() {
                return done(Err("ENOTCONN"));
            }
            if call.name == "recvmsg" {
                self.check_recvmsg(line, call, fd, h)?;
            }
            return done(Ok(0));
        }
        if matches!(st, Some(State::SynSent | State::SynRcvd)) && !s.connected && nonblock {
            return done(Err("EAGAIN"));
        }
        if nonblock {
            return done(Err("EAGAIN"));
        }
        let _ = ReadError::WouldBlock;
        Ok(Step::Block(0))
    }

    /// recvmsg's msg_flags and TCP_CM_INQ control message.
    fn check_recvmsg(
        &mut self,
        line: usize,
        call: &SyscallEvent,
        fd: i64,
        h: tcp_core::ConnHandle,
    ) -> Res<()> {
        let Some(msg) = call.args.get(1) else {
            return Ok(());
        };
        if let Some(f) = msg.field("msg_flags")
            && int_value(f).is_some_and(|v| v != 0)
        {
            return skip(format!("recvmsg msg_flags `{f}`: line {line}"));
        }
        let Some(ctl) = msg.field("msg_control") else {
            return Ok(());
        };
        let Expr::Array(cmsgs) = ctl else {
            return skip(format!("recvmsg msg_control `{ctl}`: line {line}"));
        };
        let inq_on = self.sock(fd).is_some_and(|s| s.opts.inq);
        for c in cmsgs {
            let ty = c.field("cmsg_type").and_then(Expr::as_word).unwrap_or("");
            if ty != "TCP_CM_INQ" {
                return skip(format!("recvmsg control message {ty}: line {line}"));
            }
            if !inq_on {
                return fail(
                    line,
                    call.to_string(),
                    "control message TCP_CM_INQ missing (TCP_INQ is off)",
                );
            }
            let want = c.field("cmsg_data").and_then(int_value);
            let conn = self.ep.as_ref().and_then(|ep| ep.connection(h).ok());
            let avail = conn.map_or(0, |c| c.recv_available()) as i64;
            // tcp_inq_hint: with the peer's FIN in and nothing left, 1.
            let fin = conn.is_none_or(|c| {
                matches!(
                    c.state(),
                    State::CloseWait
                        | State::LastAck
                        | State::Closing
                        | State::TimeWait
                        | State::Closed
                )
            });
            let got = if avail == 0 && fin { 1 } else { avail };
            if want != Some(got) {
                return fail(
                    line,
                    call.to_string(),
                    format!("control message TCP_CM_INQ is {got}"),
                );
            }
        }
        Ok(())
    }

    /// `splice(fd_in, NULL, fd_out, NULL, len, flags)` between a socket and a pipe: the
    /// socket side is a `read()` or `write()` of the bytes moved (pipes hold a count:
    /// payloads are zeroes).
    fn splice(&mut self, line: usize, call: &SyscallEvent, progress: usize) -> Res<Step> {
        let fd_in = self.fd_arg(line, call)?;
        let fd_out = self.int_arg(line, call, 2)?;
        let len = self.int_arg(line, call, 4)?.max(0);
        for i in [1, 3] {
            if !is_null(self.arg(line, call, i)?) {
                return skip(format!(
                    "system call argument: line {line}: splice offsets (files are not modelled)"
                ));
            }
        }
        let io = |name: &str, fd: i64, n: i64| SyscallEvent {
            name: name.into(),
            args: vec![Expr::Int(fd), Expr::Ellipsis, Expr::Int(n)],
            end: call.end,
            result: call.result.clone(),
            errno: call.errno.clone(),
            note: None,
        };
        match (
            self.fds.get(&fd_in).cloned(),
            self.fds.get(&fd_out).cloned(),
        ) {
            (Some(Fd::Sock(_)), Some(Fd::Pipe(id, true))) => {
                let step = self.read_call(line, &io("read", fd_in, len), progress)?;
                if let Step::Done(Ok(k)) = step {
                    self.pipes[id] += k.max(0) as u64;
                }
                Ok(step)
            }
            (Some(Fd::Pipe(id, false)), Some(Fd::Sock(_))) => {
                let n = (self.pipes[id] as i64).min(len);
                let step = self.write_call(line, &io("write", fd_out, n), progress)?;
                if let Step::Done(Ok(k)) = step {
                    self.pipes[id] -= k.max(0) as u64;
                }
                Ok(step)
            }
            (None, _) | (_, None) => Ok(Step::Done(Err("EBADF"))),
            _ => skip(format!(
                "system call argument: line {line}: splice between these kinds of fds"
            )),
        }
    }

    /// `sendfile(out_fd, in_fd, [offset] | NULL, count)`: writes the file's (zero) bytes
    /// to the socket as `write()` would; the offset given, or the file's own, advances.
    fn sendfile(&mut self, line: usize, call: &SyscallEvent, progress: usize) -> Res<Step> {
        let out = self.fd_arg(line, call)?;
        let inp = self.int_arg(line, call, 1)?;
        let count = usize::try_from(self.int_arg(line, call, 3)?.max(0)).unwrap_or(0);
        let Some(Fd::File(path, pos)) = self.fds.get(&inp).cloned() else {
            return Ok(Step::Done(Err("EBADF")));
        };
        let off_arg = self.arg(line, call, 2)?.clone();
        let start = match &off_arg {
            Expr::Array(v) if v.len() == 1 => int_value(&v[0]).unwrap_or(0).max(0) as u64,
            e if is_null(e) => pos,
            e => {
                return skip(format!(
                    "system call argument: line {line}: sendfile offset {e}"
                ));
            }
        };
        let size = self.files.get(&path).copied().unwrap_or(0);
        let n = (size.saturating_sub(start) as usize).min(count);
        let write = SyscallEvent {
            name: "write".into(),
            args: vec![Expr::Int(out), Expr::Ellipsis, Expr::Int(n as i64)],
            end: call.end,
            result: call.result.clone(),
            errno: call.errno.clone(),
            note: None,
        };
        let step = self.write_call(line, &write, progress)?;
        if let Step::Done(Ok(k)) = step
            && is_null(&off_arg)
            && let Some(Fd::File(_, p)) = self.fds.get_mut(&inp)
        {
            *p += k.max(0) as u64;
        }
        Ok(step)
    }

    fn write_call(&mut self, line: usize, call: &SyscallEvent, progress: usize) -> Res<Step> {
        let done = |r: CallResult| Ok(Step::Done(r));
        let now = self.instant(self.now);
        let fd = self.fd_arg(line, call)?;
        let flags = self.io_flags(line, call)?;
        if call.name == "sendto"
            && let Some(a) = call.args.get(4)
            && !matches!(a, Expr::Ellipsis)
            && !is_null(a)
        {
            return skip(format!("sendto with an address: line {line}"));
        }
        let (n, null) = self.io_len(line, call)?;
        let Some(s) = self.sock(fd).cloned() else {
            return done(Err("EBADF"));
        };
        if flags & MSG_ZEROCOPY != 0 && s.opts.zerocopy && call.name == "sendmsg" {
            // Linux pins each iovec as its own page fragment, and a segment holds at
            // most MAX_SKB_FRAGS (17) of them: more iovecs split the data into segments
            // the core (which copies) would not send.
            let iovs = self
                .arg(line, call, 1)?
                .field("msg_iov")
                .and_then(iov_lens)
                .map_or(0, |v| v.len());
            if iovs > MAX_SKB_FRAGS {
                return skip(format!(
                    "MSG_ZEROCOPY: line {line}: {iovs} iovecs, more than MAX_SKB_FRAGS ({MAX_SKB_FRAGS}): segments of at most {MAX_SKB_FRAGS} pinned fragments not in core"
                ));
            }
        }
        let nonblock = s.nonblock || flags & MSG_DONTWAIT != 0;
        let SockKind::Conn(h) = s.kind else {
            return done(Err("EPIPE"));
        };
        if s.shut_wr {
            return done(Err("EPIPE"));
        }
        if let Some(e) = self.sock_mut(fd).and_then(|s| s.pending_error.take()) {
            return done(Err(e));
        }
        let st = self
            .ep
            .as_ref()
            .and_then(|ep| ep.connection(h).ok())
            .map(|c| c.state());
        match st {
            Some(State::SynSent | State::SynRcvd) => {
                return if nonblock {
                    done(Err("EAGAIN"))
                } else {
                    Ok(Step::Block(progress))
                };
            }
            None | Some(State::Closed) => {
                return done(Err("EPIPE"));
            }
            _ => {}
        }
        if n == 0 {
            return done(Ok(0));
        }
        if null {
            return done(Err("EFAULT"));
        }
        if let Some(v) = s.late_sndbuf.filter(|_| self.profile == Profile::FreeBsd) {
            let queued = self
                .ep
                .as_ref()
                .and_then(|ep| ep.connection(h).ok())
                .map_or(0, |c| c.info().send_buffered as u64);
            let limit = v.min(self.cfg.send_buffer as u64);
            if queued + (n - progress) as u64 > limit {
                return skip(format!(
                    "SO_SNDBUF: line {line}: SO_SNDBUF={v} set on the connected socket would limit this write ({} bytes queued + {}): per-connection send buffer size needs core support",
                    queued,
                    n - progress
                ));
            }
        }
        if self.write_sleeps == Some(line) {
            let writable = self
                .ep
                .as_ref()
                .and_then(|ep| ep.connection(h).ok())
                .is_none_or(tcp_core::conn::Connection::is_writable);
            if !writable {
                return Ok(Step::Block(progress));
            }
        }
        let data = vec![0u8; n - progress];
        let mut wflags = tcp_core::WriteFlags::default();
        wflags.more = flags & MSG_MORE != 0;
        wflags.end_of_record = flags & MSG_EOR != 0;
        let r = self.endpoint().write_with(now, h, &data, wflags);
        match r {
            Ok(k) => {
                let total = progress + k;
                if total >= n || (nonblock && total > 0) {
                    self.write_sleeps = None;
                    done(Ok(total as i64))
                } else if nonblock {
                    done(Err("EAGAIN"))
                } else {
                    self.write_sleeps = Some(line);
                    Ok(Step::Block(total))
                }
            }
            Err(WriteError::WouldBlock) => {
                if !nonblock {
                    self.write_sleeps = Some(line);
                    Ok(Step::Block(progress))
                } else if progress > 0 {
                    done(Ok(progress as i64))
                } else {
                    done(Err("EAGAIN"))
                }
            }
            Err(WriteError::Failed(e)) => {
                let p = self.sock_mut(fd).and_then(|s| s.pending_error.take());
                done(Err(p.unwrap_or(if progress > 0 {
                    "EPIPE"
                } else {
                    conn_errno(e)
                })))
            }
            Err(_) => {
                let p = self.sock_mut(fd).and_then(|s| s.pending_error.take());
                done(Err(p.unwrap_or("EPIPE")))
            }
        }
    }

    fn ioctl(&mut self, line: usize, call: &SyscallEvent) -> Res<Step> {
        let fd = self.fd_arg(line, call)?;
        let req = self.arg(line, call, 1)?.as_word().unwrap_or("").to_string();
        let Some(s) = self.sock(fd).cloned() else {
            return Ok(Step::Done(Err("EBADF")));
        };
        let conn = match s.kind {
            SockKind::Conn(h) => self
                .ep
                .as_ref()
                .and_then(|ep| ep.connection(h).ok())
                .map(|c| c.info()),
            SockKind::Listener(_) => return Ok(Step::Done(Err("EINVAL"))),
            SockKind::Fresh => None,
        };
        let value = match req.as_str() {
            "SIOCINQ" | "FIONREAD" => conn.map_or(0, |i| i.recv_buffered as i64),
            "SIOCOUTQ" | "TIOCOUTQ" => conn.map_or(0, |i| i.send_buffered as i64),
            "SIOCOUTQNSD" => {
                conn.map_or(0, |i| i.send_buffered as i64 - i64::from(i.bytes_in_flight))
            }
            other => return skip(format!("ioctl {other}: line {line}")),
        };
        if let Some(e) = call.args.get(2)
            && !matches!(e, Expr::Ellipsis)
        {
            match int_value(e) {
                Some(want) if want == value => {}
                Some(_) => {
                    return fail(line, call.to_string(), format!("ioctl {req} is {value}"));
                }
                None => return skip(format!("system call argument: line {line}: `{e}`")),
            }
        }
        Ok(Step::Done(Ok(0)))
    }

    fn setsockopt(&mut self, line: usize, call: &SyscallEvent) -> Res<Step> {
        let fd = self.fd_arg(line, call)?;
        let level = self.arg(line, call, 1)?.as_word().unwrap_or("").to_string();
        let opt = self.arg(line, call, 2)?.as_word().unwrap_or("").to_string();
        let val = self.arg(line, call, 3)?.clone();
        let v = int_value(&val);
        let started = self.ep.is_some();
        let profile = self.profile;
        let _ = started;
        let Some(s) = self.sock(fd).cloned() else {
            return Ok(Step::Done(Err("EBADF")));
        };
        let need = |v: Option<i64>| -> Res<i64> {
            match v {
                Some(v) => Ok(v),
                None => skip(format!(
                    "system call argument: line {line}: value `{val}` of {opt}"
                )),
            }
        };
        let mut o = s.opts;
        match opt.as_str() {
            "SO_REUSEADDR" => o.reuseaddr = need(v)? != 0,
            "SO_REUSEPORT"
            | "SO_MARK"
            | "SO_PRIORITY"
            | "IP_FREEBIND"
            | "IP_BIND_ADDRESS_NO_PORT"
            | "IP_LOCAL_PORT_RANGE" => {}
            "SO_ZEROCOPY" => o.zerocopy = need(v)? != 0,
            "SO_TIMESTAMPING" | "SO_TIMESTAMP" | "SO_TIMESTAMPNS" | "IP_RECVERR"
            | "IPV6_RECVERR" => {
                // Only observable through the error queue / control messages, which SKIP.
            }
            "TCP_QUICKACK" => {
                let on = need(v)? != 0;
                if let SockKind::Conn(h) = s.kind {
                    let now = self.instant(self.now);
                    if let Some(ep) = self.ep.as_mut() {
                        let _ = ep.set_option(now, h, tcp_core::SockOption::QuickAck(on));
                    }
                }
                return Ok(Step::Done(Ok(0)));
            }
            "TCP_NODELAY" => o.nodelay = need(v)? != 0,
            "TCP_CORK" | "TCP_NOPUSH" => o.cork = need(v)? != 0,
            "TCP_MAXSEG" => {
                let m = need(v)?;
                if !(88..=32767).contains(&m) && profile == Profile::Linux {
                    return Ok(Step::Done(Err("EINVAL")));
                }
                o.maxseg = Some(m.clamp(0, 65535) as u16);
            }
            "SO_KEEPALIVE" => o.keepalive = need(v)? != 0,
            "TCP_KEEPIDLE" => o.keep_idle = Some(need(v)?.max(1) as u64),
            "TCP_KEEPINTVL" => o.keep_intvl = Some(need(v)?.max(1) as u64),
            "TCP_KEEPCNT" => o.keep_cnt = Some(need(v)?.max(1) as u32),
            "TCP_USER_TIMEOUT" => {
                let t = need(v)?;
                if t < 0 {
                    return Ok(Step::Done(Err("EINVAL")));
                }
                o.user_timeout_ms = Some(t as u64);
            }
            "TCP_NOOPT" => {
                if started {
                    return skip(format!(
                        "TCP_NOOPT: line {line}: per-socket TCP_NOOPT once the stack runs needs core support"
                    ));
                }
                o.noopt = need(v)? != 0;
            }
            "TCP_SYNCNT" => {
                let n = need(v)?;
                if !(1..=127).contains(&n) {
                    return Ok(Step::Done(Err("EINVAL")));
                }
                if started {
                    return skip(format!(
                        "TCP_SYNCNT: line {line}: per-socket SYN retries once the stack runs need core support"
                    ));
                }
                o.syncnt = Some(n as u32);
            }
            "SO_RCVBUF" | "SO_SNDBUF" => {
                let raw = need(v)?;
                let b = self.buf_value(opt == "SO_RCVBUF", raw);
                let is_conn = matches!(s.kind, SockKind::Conn(_));
                if is_conn && opt == "SO_RCVBUF" {
                    return skip(format!(
                        "SO_RCVBUF: line {line}: the receive buffer (and so the advertised window) of a connection cannot be changed: per-connection buffer size needs core support"
                    ));
                }
                if opt == "SO_RCVBUF" {
                    o.rcvbuf = Some(b);
                } else {
                    o.sndbuf = Some(b);
                }
                if is_conn {
                    // Checked at each write: only a write it would limit SKIPs.
                    if let Some(sm) = self.sock_mut(fd) {
                        sm.late_sndbuf = Some(raw.max(0) as u64);
                    }
                }
            }
            "SO_LINGER" => {
                let onoff = val.field("onoff").and_then(int_value);
                let linger = val.field("linger").and_then(int_value);
                match (onoff, linger) {
                    (Some(on), Some(l)) => o.linger = Some((on != 0, l.max(0) as u64)),
                    _ => {
                        return skip(format!(
                            "system call argument: line {line}: SO_LINGER value `{val}`"
                        ));
                    }
                }
            }
            "TCP_INQ" => o.inq = need(v)? != 0,
            "TCP_NOTSENT_LOWAT" => {
                let x = need(v)?.max(0) as u64;
                // 0 means the sysctl's value; UINT_MAX (the default) means no limit.
                o.notsent_lowat = Some(x);
            }
            "TCP_CONGESTION" => {
                let name = match &val {
                    Expr::Str(s) => s.clone(),
                    e => e.to_string(),
                };
                return skip(format!(
                    "TCP_CONGESTION \"{name}\": line {line}: per-socket congestion control needs core support"
                ));
            }
            "TCP_FASTOPEN"
            | "TCP_FASTOPEN_CONNECT"
            | "TCP_FASTOPEN_KEY"
            | "TCP_FASTOPEN_NO_COOKIE" => {
                return skip(format!("TCP Fast Open: line {line}: {opt} not in core"));
            }
            "TCP_MD5SIG" | "TCP_MD5SIG_EXT" => {
                return skip(format!(
                    "TCP MD5 signatures: line {line}: {opt} not in core"
                ));
            }
            "IP_TOS" | "IPV6_TCLASS" => {
                // Only a packet sent while it is non-zero would differ (checked as
                // packets leave).
                o.tos = u32::try_from(need(v)?).unwrap_or(u32::MAX);
            }
            "IP_TTL" | "IPV6_UNICAST_HOPS" => {
                return skip(format!(
                    "{opt}: line {line}: TTL / hop limit of sent packets not in core"
                ));
            }
            "IP_MTU_DISCOVER" => {
                // The core does no path MTU discovery and the runner does not check
                // DF, so every mode behaves the same here.
                need(v)?;
            }
            "TCP_DEFER_ACCEPT"
            | "TCP_WINDOW_CLAMP"
            | "TCP_ULP"
            | "TCP_THIN_LINEAR_TIMEOUTS"
            | "TCP_LINGER2"
            | "TCP_FUNCTION_BLK"
            | "TCP_KEEPINIT"
            | "IPV6_USE_MIN_MTU"
            | "TCP_REMOTE_UDP_ENCAPS_PORT" => {
                return skip(format!("{opt}: line {line}: not in core"));
            }
            other if other.starts_with("TCP_RACK_") || other.starts_with("TCP_BBR_") => {
                return skip(format!(
                    "{other}: line {line}: FreeBSD RACK/BBR stack options not in core"
                ));
            }
            other => return skip(format!("setsockopt {level} {other}: line {line}")),
        }
        if let Some(sm) = self.sock_mut(fd) {
            sm.opts = o;
        }
        if matches!(s.kind, SockKind::Listener(_)) {
            // A listener's options shape its children's SYN-ACKs.
            self.prepare_endpoint(&o);
        }
        self.apply_opts(fd);
        if opt == "TCP_NODELAY" && o.nodelay {
            // Setting TCP_NODELAY pushes what waits, even when it was on already.
            if let SockKind::Conn(h) = s.kind {
                let now = self.instant(self.now);
                if let Some(ep) = self.ep.as_mut() {
                    let _ = ep.set_option(now, h, tcp_core::SockOption::NoDelay(true));
                }
            }
        }
        Ok(Step::Done(Ok(0)))
    }

    fn getsockopt(&mut self, line: usize, call: &SyscallEvent) -> Res<Step> {
        let fd = self.fd_arg(line, call)?;
        let opt = self.arg(line, call, 2)?.as_word().unwrap_or("").to_string();
        let expected = self.arg(line, call, 3)?.clone();
        let Some(s) = self.sock(fd).cloned() else {
            return Ok(Step::Done(Err("EBADF")));
        };
        let conn = match (s.kind, self.ep.as_ref()) {
            (SockKind::Conn(h), Some(ep)) => ep.connection(h).ok().map(|c| c.info()),
            _ => None,
        };
        let value: i64 = match opt.as_str() {
            "SO_ERROR" => {
                let e = self.sock_mut(fd).and_then(|s| s.pending_error.take());
                if e.is_some()
                    && let Some(sm) = self.sock_mut(fd)
                {
                    sm.connect_pending = false;
                }
                // Then the soft error of an ICMP message, cleared by reading it (Linux's
                // sock_getsockopt: sk_err, else xchg(sk_err_soft, 0)).
                // FreeBSD keeps its soft error (t_softerror) out of SO_ERROR.
                let soft = match (e, s.kind) {
                    (None, SockKind::Conn(h)) if self.profile == Profile::Linux => self
                        .ep
                        .as_mut()
                        .and_then(|ep| ep.take_soft_error(h).ok().flatten()),
                    _ => None,
                };
                match (e, soft) {
                    (Some(e), _) => errno_num(e).unwrap_or(0),
                    (None, Some(p)) => errno_num(super::exec::icmp_errno(p)).unwrap_or(0),
                    (None, None) => 0,
                }
            }
            "TCP_NODELAY" => i64::from(s.opts.nodelay),
            "SO_KEEPALIVE" => i64::from(s.opts.keepalive),
            "SO_REUSEADDR" => i64::from(s.opts.reuseaddr),
            "TCP_MAXSEG" => match conn {
                Some(i) if i.state.is_synchronized() => {
                    i64::from(i.snd_mss) - if i.timestamps { 12 } else { 0 }
                }
                _ => i64::from(s.opts.maxseg.unwrap_or(match self.profile {
                    Profile::Linux => 536,
                    Profile::FreeBsd => 536,
                })),
            },
            "TCP_USER_TIMEOUT" => s.opts.user_timeout_ms.unwrap_or(0) as i64,
            // Linux reports whether the connection is out of ping-pong (interactive) mode.
            "TCP_QUICKACK" => conn.map_or(1, |i| i64::from(i.quickack)),
            "TCP_KEEPIDLE" => s
                .opts
                .keep_idle
                .map_or_else(|| self.keep_default(0), |v| v as i64),
            "TCP_KEEPINTVL" => s
                .opts
                .keep_intvl
                .map_or_else(|| self.keep_default(1), |v| v as i64),
            "TCP_KEEPCNT" => s
                .opts
                .keep_cnt
                .map_or(i64::from(self.sys.keepalive.count), i64::from),
            "TCP_KEEPINIT" => (self.sys.keepinit_ms / 1000) as i64,
            // Linux returns the socket's own value (0 when unset), not the sysctl's.
            "TCP_NOTSENT_LOWAT" => {
                s.opts.notsent_lowat.unwrap_or(0).min(u64::from(u32::MAX)) as i64
            }
            "TCP_INQ" => i64::from(s.opts.inq),
            "IP_TOS" | "IPV6_TCLASS" => i64::from(s.opts.tos),
            "SO_SNDBUF" => match self.profile {
                Profile::Linux => s.opts.sndbuf.unwrap_or(self.sys.wmem[1]) as i64,
                Profile::FreeBsd => self.freebsd_buf(&s, conn.as_ref(), false) as i64,
            },
            "SO_RCVBUF" => match self.profile {
                Profile::Linux => s.opts.rcvbuf.unwrap_or(self.sys.rmem[1]) as i64,
                Profile::FreeBsd => self.freebsd_buf(&s, conn.as_ref(), true) as i64,
            },
            other => return skip(format!("getsockopt {other}: line {line}")),
        };
        if !matches!(expected, Expr::Ellipsis) {
            match int_value(&expected) {
                Some(want) if want == value => {}
                Some(want)
                    if opt == "TCP_NOTSENT_LOWAT"
                        && want == 0xffff_ffff
                        && value == i64::from(u32::MAX) => {}
                Some(_) => {
                    return fail(
                        line,
                        call.to_string(),
                        format!("socket option {opt} is {value}"),
                    );
                }
                None => {
                    return skip(format!(
                        "system call argument: line {line}: expected {opt} value `{expected}`"
                    ));
                }
            }
        }
        Ok(Step::Done(Ok(0)))
    }

    /// Keepalive defaults as getsockopt reports them (seconds).
    fn keep_default(&self, which: u8) -> i64 {
        let k = self.sys.keepalive;
        let d = if which == 0 { k.idle } else { k.interval };
        (d.as_micros() / 1_000_000) as i64
    }

    /// FreeBSD's socket buffer sizes: `recvspace`/`sendspace` (or SO_*BUF), and once the
    /// connection is set up `tcp_mss` rounds them up to a multiple of the MSS in use
    /// (`roundup(bufsize, mss)`, the MSS less 12 bytes with timestamps).
    fn freebsd_buf(&self, s: &Sock, conn: Option<&tcp_core::Info>, rcv: bool) -> u64 {
        let base = if rcv {
            s.opts.rcvbuf.unwrap_or(self.sys.recvspace)
        } else {
            s.opts.sndbuf.unwrap_or(self.sys.sendspace)
        };
        // tcp_mss runs when the peer's SYN (with its MSS) arrives: in SYN-RECEIVED of a
        // simultaneous open too, and for an accepted connection.
        let info = conn.copied().or(s.last_info);
        if rcv {
            // The core keeps FreeBSD's buffer (RecvWindowPolicy::Bsd): tcp_mss rounded it
            // once the peer's MSS was known.
            if let Some(i) = info.filter(|i| i.rcvbuf > 0) {
                return u64::from(i.rcvbuf);
            }
        }
        match info {
            Some(i) if !matches!(i.state, State::SynSent | State::Listen) || s.connected => {
                let mss =
                    u64::from(i.snd_mss.saturating_sub(if i.timestamps { 12 } else { 0 })).max(1);
                if base > mss {
                    base.div_ceil(mss) * mss
                } else {
                    base
                }
            }
            _ => base,
        }
    }

    /// Linux's poll mask for a socket.
    fn poll_mask(&mut self, fd: i64) -> i64 {
        let Some(s) = self.sock(fd).cloned() else {
            return POLLNVAL;
        };
        match s.kind {
            SockKind::Fresh => POLLOUT | POLLWRNORM | POLLHUP,
            SockKind::Listener(l) => {
                let n = self
                    .ep
                    .as_mut()
                    .and_then(|ep| ep.queue_lengths(l).ok())
                    .map_or(0, |(a, _)| a);
                if n > 0 { POLLIN | POLLRDNORM } else { 0 }
            }
            SockKind::Conn(h) => {
                let Some(c) = self.ep.as_ref().and_then(|ep| ep.connection(h).ok()) else {
                    let mut m = POLLHUP | POLLIN | POLLRDNORM | POLLRDHUP;
                    if s.pending_error.is_some() {
                        m |= POLLERR;
                    }
                    if !s.connected {
                        m |= POLLOUT | POLLWRNORM;
                    }
                    return m;
                };
                let mut m = 0;
                let st = c.state();
                if s.pending_error.is_some() {
                    m |= POLLERR;
                }
                let closed = st == State::Closed || c.is_closed();
                let peer_fin = matches!(
                    st,
                    State::CloseWait | State::LastAck | State::Closing | State::TimeWait
                );
                if closed || (peer_fin && s.shut_wr) {
                    m |= POLLHUP;
                }
                if closed || peer_fin || s.shut_rd {
                    m |= POLLIN | POLLRDNORM | POLLRDHUP;
                }
                if c.recv_available() > 0 {
                    m |= POLLIN | POLLRDNORM;
                }
                if matches!(st, State::Established | State::CloseWait)
                    && c.is_writable()
                    && !s.shut_wr
                {
                    m |= POLLOUT | POLLWRNORM;
                }
                if closed && !st.is_synchronized() && !s.connected {
                    m |= POLLOUT | POLLWRNORM;
                }
                m
            }
        }
    }

    fn poll(&mut self, line: usize, call: &SyscallEvent, start: u64) -> Res<Step> {
        let Expr::Array(fds) = self.arg(line, call, 0)?.clone() else {
            return skip(format!("system call argument: line {line}: poll fds"));
        };
        let timeout = self.int_arg(line, call, 2)?;
        let mut count = 0;
        let mut mismatch = None;
        for pfd in &fds {
            let Some(fd) = pfd.field("fd").and_then(int_value) else {
                return skip(format!("system call argument: line {line}: a pollfd"));
            };
            let events = pfd.field("events").and_then(int_value).unwrap_or(0);
            let revents = self.poll_mask(fd) & (events | POLLERR | POLLHUP | POLLNVAL);
            if revents != 0 {
                count += 1;
            }
            if let Some(want) = pfd.field("revents") {
                let want = int_value(want).unwrap_or(-1);
                if want >= 0 {
                    self.zerocopy_errqueue(line, fd, want, revents)?;
                }
                if want != revents && mismatch.is_none() {
                    mismatch = Some(format!(
                        "poll revents: fd {fd} revents {revents:#x} (expected {want:#x})"
                    ));
                }
            }
        }
        let expired = timeout >= 0 && self.now >= start + (timeout as u64) * 1000;
        if count == 0 && !expired {
            return Ok(Step::Block(0));
        }
        if let Some(m) = mismatch {
            return fail(line, call.to_string(), m);
        }
        Ok(Step::Done(Ok(count)))
    }

    /// A script expecting POLLERR / EPOLLERR on an SO_ZEROCOPY socket that does not
    /// have it waits for a zerocopy completion on the error queue, which the core
    /// does not produce: SKIP rather than fail.
    fn zerocopy_errqueue(&self, line: usize, fd: i64, want: i64, got: i64) -> Res<()> {
        let zerocopy = self.sock(fd).is_some_and(|s| s.opts.zerocopy);
        if zerocopy && want & POLLERR != 0 && got & POLLERR == 0 {
            return skip(format!(
                "MSG_ERRQUEUE: line {line}: POLLERR for a zerocopy completion on the error queue: error-queue notifications not in core"
            ));
        }
        Ok(())
    }

    fn epoll_ctl(&mut self, line: usize, call: &SyscallEvent) -> Res<Step> {
        let epfd = self.fd_arg(line, call)?;
        let op = self.int_arg(line, call, 1)?;
        let fd = self.int_arg(line, call, 2)?;
        let ev = call.args.get(3).cloned().unwrap_or(Expr::Ellipsis);
        let events = ev.field("events").and_then(int_value).unwrap_or(0);
        let data = ev
            .field("fd")
            .or_else(|| ev.field("u64"))
            .or_else(|| ev.field("ptr"))
            .and_then(int_value)
            .unwrap_or(fd);
        if !self.fds.contains_key(&fd) {
            return Ok(Step::Done(Err("EBADF")));
        }
        let Some(Fd::Epoll(e)) = self.fds.get_mut(&epfd) else {
            return Ok(Step::Done(Err("EINVAL")));
        };
        // ep_insert / ep_modify poll the fd and queue it if it is ready.
        let w = EpollWatch {
            events,
            data,
            triggered: true,
            disabled: false,
        };
        match op {
            1 => {
                if e.watched.contains_key(&fd) {
                    return Ok(Step::Done(Err("EEXIST")));
                }
                e.watched.insert(fd, w);
            }
            2 => {
                if e.watched.remove(&fd).is_none() {
                    return Ok(Step::Done(Err("ENOENT")));
                }
            }
            3 => {
                if !e.watched.contains_key(&fd) {
                    return Ok(Step::Done(Err("ENOENT")));
                }
                e.watched.insert(fd, w);
            }
            _ => return Ok(Step::Done(Err("EINVAL"))),
        }
        Ok(Step::Done(Ok(0)))
    }

    fn epoll_wait(&mut self, line: usize, call: &SyscallEvent, start: u64) -> Res<Step> {
        let epfd = self.fd_arg(line, call)?;
        let timeout = self.int_arg(line, call, 3)?;
        let max = self.int_arg(line, call, 2)?.max(1) as usize;
        let Some(Fd::Epoll(e)) = self.fds.get(&epfd).cloned() else {
            return Ok(Step::Done(Err("EINVAL")));
        };
        let mut ready = Vec::new();
        let mut updated = e.clone();
        for (fd, w) in &e.watched {
            if w.disabled {
                continue;
            }
            let mask = self.poll_mask(*fd) & (w.events | POLLERR | POLLHUP) & 0xffff;
            // Edge-triggered: reported once per wakeup; level-triggered: while ready.
            let report = mask != 0 && (w.events & EPOLLET == 0 || w.triggered);
            if (report || w.events & EPOLLET != 0)
                && let Some(u) = updated.watched.get_mut(fd)
            {
                u.triggered = false;
            }
            if report && ready.len() < max {
                ready.push((*fd, mask, w.data));
                if w.events & EPOLLONESHOT != 0
                    && let Some(u) = updated.watched.get_mut(fd)
                {
                    u.disabled = true;
                }
            }
        }
        let expired = timeout >= 0 && self.now >= start + (timeout as u64) * 1000;
        if ready.is_empty() && !expired {
            return Ok(Step::Block(0));
        }
        if let Some(slot) = self.fds.get_mut(&epfd) {
            *slot = Fd::Epoll(updated);
        }
        let want = call.args.get(1).cloned().unwrap_or(Expr::Ellipsis);
        if let Some(wev) = want.field("events").and_then(int_value) {
            let wfd = want
                .field("fd")
                .and_then(int_value)
                .or_else(|| ready.first().map(|r| r.0));
            let got = ready.first().map_or(0, |r| r.1);
            if let Some(wfd) = wfd {
                self.zerocopy_errqueue(line, wfd, wev, got)?;
            }
        }
        if let (Some(&(fd, mask, _)), Some(wev)) =
            (ready.first(), want.field("events").and_then(int_value))
            && wev != mask
        {
            return fail(
                line,
                call.to_string(),
                format!("epoll event: fd {fd} events {mask:#x} (expected {wev:#x})"),
            );
        }
        let _ = EPOLLEXCLUSIVE;
        Ok(Step::Done(Ok(ready.len() as i64)))
    }
}

impl PdSocket {
    fn new_with_fd(state: PdState, fd: i64) -> Self {
        PdSocket::new(state, Some(fd))
    }
}
