//! System calls of a script mapped onto the endpoint.

use super::ast::{Expr, SyscallEvent};
use super::exec::{Exec, Pending, Res, Sock, SockKind, SockOpts, fail, fmt_time, skip};
use std::net::SocketAddr;
use tcp_core::{ConnError, Duration, Keepalive, ReadError, State, StateError, WriteError};

/// A call's result: a value, or -1 with an errno name.
type CallResult = Result<i64, &'static str>;

/// What trying a call gave.
pub(super) enum Step {
    Done(CallResult),
    /// Would block; the argument is progress so far (bytes written).
    Block(usize),
}

const O_RDWR: i64 = 2;
const O_NONBLOCK: i64 = 0x800;
const POLLIN: i64 = 0x1;
const POLLOUT: i64 = 0x4;
const POLLERR: i64 = 0x8;
const POLLHUP: i64 = 0x10;
const POLLNVAL: i64 = 0x20;
const POLLRDNORM: i64 = 0x40;
const POLLWRNORM: i64 = 0x100;
const POLLRDHUP: i64 = 0x2000;

/// Linux errno numbers for the names scripts use.
pub(super) fn errno_num(name: &str) -> Option<i64> {
    Some(match name {
        "EPERM" => 1,
        "ENOENT" => 2,
        "EINTR" => 4,
        "EBADF" => 9,
        "EAGAIN" | "EWOULDBLOCK" => 11,
        "ENOMEM" => 12,
        "EFAULT" => 14,
        "EINVAL" => 22,
        "EPIPE" => 32,
        "ENOTSOCK" => 88,
        "EOPNOTSUPP" => 95,
        "EADDRINUSE" => 98,
        "EADDRNOTAVAIL" => 99,
        "ENETUNREACH" => 101,
        "ECONNABORTED" => 103,
        "ECONNRESET" => 104,
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

pub(super) fn conn_errno(e: ConnError) -> &'static str {
    match e {
        ConnError::Refused => "ECONNREFUSED",
        ConnError::Reset => "ECONNRESET",
        ConnError::TimedOut => "ETIMEDOUT",
        ConnError::Aborted => "ECONNABORTED",
    }
}

fn symbol_value(name: &str) -> Option<i64> {
    Some(match name {
        "O_RDWR" => O_RDWR,
        "O_RDONLY" => 0,
        "O_WRONLY" => 1,
        "O_NONBLOCK" => O_NONBLOCK,
        "POLLIN" => POLLIN,
        "POLLPRI" => 0x2,
        "POLLOUT" => POLLOUT,
        "POLLERR" => POLLERR,
        "POLLHUP" => POLLHUP,
        "POLLNVAL" => POLLNVAL,
        "POLLRDNORM" => POLLRDNORM,
        "POLLRDBAND" => 0x80,
        "POLLWRNORM" => POLLWRNORM,
        "POLLWRBAND" => 0x200,
        "POLLRDHUP" => POLLRDHUP,
        "NULL" => 0,
        other => errno_num(other)?,
    })
}

/// Integer value of an expression: ints, symbols, `a|b`, `[x]`.
fn int_value(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(v) => Some(*v),
        Expr::Word(w) => symbol_value(w),
        Expr::BitOr(items) => items.iter().try_fold(0, |acc, i| Some(acc | int_value(i)?)),
        Expr::Array(items) if items.len() == 1 => int_value(&items[0]),
        _ => None,
    }
}

/// Total length of an iovec array `[{..., 100}, {iov_base=..., iov_len=200}]`.
fn iov_total(e: &Expr) -> Option<usize> {
    let Expr::Array(items) = e else {
        return None;
    };
    let mut total = 0usize;
    for it in items {
        let len = match it.field("iov_len") {
            Some(v) => v.as_int()?,
            None => match it {
                Expr::Struct(fields) => fields.last()?.as_int()?,
                _ => return None,
            },
        };
        total += usize::try_from(len).ok()?;
    }
    Some(total)
}

impl Exec<'_> {
    fn arg<'e>(&self, line: usize, call: &'e SyscallEvent, i: usize) -> Res<&'e Expr> {
        match call.args.get(i) {
            Some(a) => Ok(a),
            None => fail(
                line,
                call.to_string(),
                format!("missing argument {}", i + 1),
            ),
        }
    }

    fn fd_arg(&self, line: usize, call: &SyscallEvent) -> Res<i64> {
        match self.arg(line, call, 0)?.as_int() {
            Some(fd) => Ok(fd),
            None => skip(format!(
                "line {line}: fd argument of {} is not a number",
                call.name
            )),
        }
    }

    fn len_arg(&self, line: usize, call: &SyscallEvent) -> Res<usize> {
        let name = call.name.as_str();
        let v = match name {
            "read" | "write" | "recv" | "send" | "recvfrom" | "sendto" => self
                .arg(line, call, 2)?
                .as_int()
                .and_then(|v| usize::try_from(v).ok()),
            "readv" | "writev" => iov_total(self.arg(line, call, 1)?),
            "sendmsg" | "recvmsg" => self
                .arg(line, call, 1)?
                .field("msg_iov")
                .and_then(iov_total),
            _ => None,
        };
        match v {
            Some(v) => Ok(v),
            None => skip(format!(
                "line {line}: cannot work out the buffer length of {call}"
            )),
        }
    }

    /// Run a syscall event that starts at `start` and (for `...B`) must end at `end`.
    pub(super) fn syscall(
        &mut self,
        line: usize,
        call: &SyscallEvent,
        start: u64,
        end: Option<u64>,
    ) -> Res<()> {
        if let Some(p) = &self.pending {
            return fail(
                p.line,
                format!("{} to return by {}", p.call.name, fmt_time(p.end)),
                format!("still blocked when line {line} runs"),
            );
        }
        match self.try_call(line, call, start, 0)? {
            Step::Done(r) => {
                if let Some(e) = end {
                    let slack = self.tolerance.max(e.saturating_sub(start) / 8);
                    if start + slack < e {
                        return fail(
                            line,
                            format!("{} to block until {}", call.name, fmt_time(e)),
                            format!("returned at once at {}", fmt_time(start)),
                        );
                    }
                }
                self.check_result(line, call, r)
            }
            Step::Block(progress) => {
                self.pending = Some(Pending {
                    line,
                    call: call.clone(),
                    start,
                    end: end.unwrap_or(start),
                    progress,
                });
                Ok(())
            }
        }
    }

    /// Give a blocked call another chance (after the stack moved).
    pub(super) fn retry_pending(&mut self, _line: usize) -> Res<()> {
        let Some(mut p) = self.pending.take() else {
            return Ok(());
        };
        let slack = self.tolerance.max(p.end.saturating_sub(p.start) / 8);
        match self.try_call(p.line, &p.call, p.start, p.progress)? {
            Step::Done(r) => {
                if self.now + slack < p.end || self.now > p.end + slack {
                    return fail(
                        p.line,
                        format!("{} to return at {}", p.call.name, fmt_time(p.end)),
                        format!("returned at {}", fmt_time(self.now)),
                    );
                }
                self.check_result(p.line, &p.call, r)
            }
            Step::Block(progress) => {
                if self.now > p.end + slack {
                    return fail(
                        p.line,
                        format!("{} to return at {}", p.call.name, fmt_time(p.end)),
                        format!("still blocked at {}", fmt_time(self.now)),
                    );
                }
                p.progress = progress;
                self.pending = Some(p);
                Ok(())
            }
        }
    }

    fn check_result(&self, line: usize, call: &SyscallEvent, r: CallResult) -> Res<()> {
        let ok = match (&call.result, r) {
            (Expr::Ellipsis, _) => true,
            (exp, Ok(v)) => int_value(exp) == Some(v),
            (exp, Err(errno)) => {
                int_value(exp) == Some(-1) && call.errno.as_deref().is_none_or(|e| e == errno)
            }
        };
        if ok {
            return Ok(());
        }
        let happened = match r {
            Ok(v) => format!("returned {v}"),
            Err(e) => format!("returned -1 {e}"),
        };
        fail(line, call.to_string(), happened)
    }

    fn sock(&mut self, fd: i64) -> Option<&mut Sock> {
        self.socks.get_mut(&fd)
    }

    fn new_fd(&mut self, kind: SockKind, opts: SockOpts) -> i64 {
        let mut fd = 3;
        while self.socks.contains_key(&fd) {
            fd += 1;
        }
        self.socks.insert(
            fd,
            Sock {
                kind,
                nonblock: false,
                opts,
                bound_port: None,
                pending_error: None,
                failed: None,
                connected_event: false,
                last_info: None,
            },
        );
        fd
    }

    /// Configuration for the endpoint if it is created now, shaped by a socket's options.
    fn prepare_endpoint(&mut self, opts: &SockOpts) {
        if self.ep.is_some() {
            return;
        }
        if let Some(m) = opts.maxseg {
            self.cfg.mss = self.cfg.mss.min(m);
        }
        // Linux doubles SO_RCVBUF / SO_SNDBUF values for its bookkeeping overhead, and a
        // receive buffer the application sized is not auto-tuned.
        if let Some(b) = opts.rcvbuf {
            self.cfg.recv_buffer = b.saturating_mul(2);
            self.cfg.recv_buffer_fixed = true;
        }
        if let Some(b) = opts.sndbuf {
            self.cfg.send_buffer = b.saturating_mul(2);
        }
        self.cfg.nodelay = opts.nodelay;
    }

    fn keepalive_for(&self, o: &SockOpts) -> Keepalive {
        let mut k = self.keepalive_defaults.unwrap_or_default();
        if let Some(v) = o.keep_idle {
            k.idle = Duration::from_secs(v);
        }
        if let Some(v) = o.keep_intvl {
            k.interval = Duration::from_secs(v);
        }
        if let Some(v) = o.keep_cnt {
            k.count = v;
        }
        k
    }

    /// Push a socket's options into its connection.
    fn apply_opts(&mut self, fd: i64) {
        let Some(s) = self.socks.get(&fd) else {
            return;
        };
        let SockKind::Conn(h) = s.kind else {
            return;
        };
        let o = s.opts;
        let ka = o.keepalive.then(|| self.keepalive_for(&o));
        let now = self.instant(self.now);
        if let Some(ep) = self.ep.as_mut() {
            let _ = ep.with_connection(h, now, |c| {
                c.set_nodelay(o.nodelay);
                c.set_keepalive(ka);
                c.set_user_timeout(
                    o.user_timeout_ms
                        .filter(|&ms| ms > 0)
                        .map(Duration::from_millis),
                );
                if let Some(m) = o.maxseg {
                    c.set_max_segment_size(m);
                }
            });
        }
    }

    fn try_call(
        &mut self,
        line: usize,
        call: &SyscallEvent,
        start: u64,
        progress: usize,
    ) -> Res<Step> {
        let now = self.instant(self.now);
        let done = |r: CallResult| Ok(Step::Done(r));
        match call.name.as_str() {
            "socket" => {
                let fd = self.new_fd(SockKind::Fresh, SockOpts::default());
                done(Ok(fd))
            }
            "bind" => {
                let fd = self.fd_arg(line, call)?;
                let port = self.bind_port;
                match self.sock(fd) {
                    Some(s) => {
                        s.bound_port = Some(port);
                        done(Ok(0))
                    }
                    None => done(Err("EBADF")),
                }
            }
            "listen" => {
                let fd = self.fd_arg(line, call)?;
                let backlog = self.arg(line, call, 1)?.as_int().unwrap_or(128).max(0) as usize;
                let Some(s) = self.socks.get(&fd).cloned() else {
                    return done(Err("EBADF"));
                };
                if s.kind != SockKind::Fresh {
                    return done(if matches!(s.kind, SockKind::Listener(_)) {
                        Ok(0)
                    } else {
                        Err("EINVAL")
                    });
                }
                self.prepare_endpoint(&s.opts);
                let port = s.bound_port.unwrap_or(self.bind_port);
                let addr = SocketAddr::new(self.local_ip, port);
                // Linux's accept queue holds backlog + 1 connections (sk_acceptq_is_full
                // compares with `>`); the endpoint's holds exactly its backlog.
                match self.endpoint().listen(addr, backlog + 1) {
                    Ok(l) => {
                        if let Some(s) = self.sock(fd) {
                            s.kind = SockKind::Listener(l);
                        }
                        if self.default_flow.is_none() {
                            self.default_flow = Some((port, super::exec::DEFAULT_REMOTE_PORT));
                        }
                        done(Ok(0))
                    }
                    Err(_) => done(Err("EADDRINUSE")),
                }
            }
            "accept" | "accept4" => {
                let fd = self.fd_arg(line, call)?;
                let Some(s) = self.socks.get(&fd).cloned() else {
                    return done(Err("EBADF"));
                };
                let SockKind::Listener(l) = s.kind else {
                    return done(Err("EINVAL"));
                };
                match self.endpoint().accept(l) {
                    Ok(Some(h)) => {
                        let nfd = self.new_fd(SockKind::Conn(h), s.opts);
                        self.info_fd = Some(nfd);
                        self.apply_opts(nfd);
                        done(Ok(nfd))
                    }
                    Ok(None) if s.nonblock => done(Err("EAGAIN")),
                    Ok(None) => Ok(Step::Block(0)),
                    Err(_) => done(Err("EINVAL")),
                }
            }
            "connect" => {
                let fd = self.fd_arg(line, call)?;
                let Some(s) = self.socks.get(&fd).cloned() else {
                    return done(Err("EBADF"));
                };
                match s.kind {
                    SockKind::Listener(_) => done(Err("EISCONN")),
                    SockKind::Fresh => {
                        self.prepare_endpoint(&s.opts);
                        let lport = s.bound_port.unwrap_or(super::exec::DEFAULT_EPHEMERAL_PORT);
                        let local = SocketAddr::new(self.local_ip, lport);
                        let remote = SocketAddr::new(self.remote_ip, self.connect_port);
                        match self.endpoint().connect_from(now, local, remote) {
                            Ok(h) => {
                                if let Some(s) = self.sock(fd) {
                                    s.kind = SockKind::Conn(h);
                                }
                                self.info_fd = Some(fd);
                                self.default_flow = Some((lport, self.connect_port));
                                self.apply_opts(fd);
                                if s.nonblock {
                                    done(Err("EINPROGRESS"))
                                } else {
                                    Ok(Step::Block(1))
                                }
                            }
                            Err(_) => done(Err("EADDRINUSE")),
                        }
                    }
                    SockKind::Conn(h) => {
                        let state = self
                            .ep
                            .as_ref()
                            .and_then(|ep| ep.connection(h).ok())
                            .map(|c| c.state());
                        if let Some(e) = self.sock(fd).and_then(|s| s.pending_error.take()) {
                            return done(Err(e));
                        }
                        match state {
                            Some(State::SynSent | State::SynRcvd) if s.nonblock => {
                                done(Err("EALREADY"))
                            }
                            Some(State::SynSent | State::SynRcvd) => Ok(Step::Block(1)),
                            Some(_) if progress == 1 => done(Ok(0)),
                            Some(State::Closed) | None => done(Err("ECONNABORTED")),
                            Some(_) => done(Err("EISCONN")),
                        }
                    }
                }
            }
            "read" | "recv" | "recvfrom" | "readv" | "recvmsg" => {
                let fd = self.fd_arg(line, call)?;
                let n = self.len_arg(line, call)?;
                let Some(s) = self.socks.get(&fd).cloned() else {
                    return done(Err("EBADF"));
                };
                let SockKind::Conn(h) = s.kind else {
                    return done(Err("ENOTCONN"));
                };
                let mut buf = vec![0u8; n];
                let r = self.endpoint().read(h, now, &mut buf);
                let pending = self.sock(fd).and_then(|s| s.pending_error.take());
                match r {
                    Ok(Ok(k)) => {
                        if let (Some(e), Some(s)) = (pending, self.sock(fd)) {
                            s.pending_error = Some(e);
                        }
                        done(Ok(k as i64))
                    }
                    Ok(Err(ReadError::WouldBlock)) => {
                        if let (Some(e), Some(s)) = (pending, self.sock(fd)) {
                            s.pending_error = Some(e);
                        }
                        if s.nonblock {
                            done(Err("EAGAIN"))
                        } else {
                            Ok(Step::Block(0))
                        }
                    }
                    Ok(Err(ReadError::NotConnected)) => done(Err("ENOTCONN")),
                    Ok(Err(ReadError::Failed(_))) | Err(_) => match pending {
                        Some(e) => done(Err(e)),
                        None => done(Ok(0)),
                    },
                }
            }
            "write" | "send" | "sendto" | "writev" | "sendmsg" => {
                let fd = self.fd_arg(line, call)?;
                let n = self.len_arg(line, call)?;
                let Some(s) = self.socks.get(&fd).cloned() else {
                    return done(Err("EBADF"));
                };
                let SockKind::Conn(h) = s.kind else {
                    return done(Err("EPIPE"));
                };
                let data = vec![0u8; n - progress];
                let r = self.endpoint().write(h, now, &data);
                let err = |this: &mut Self, _e: Option<ConnError>| -> CallResult {
                    match this.sock(fd).and_then(|s| s.pending_error.take()) {
                        Some(p) => Err(p),
                        None => Err("EPIPE"),
                    }
                };
                match r {
                    Ok(Ok(k)) => {
                        let total = progress + k;
                        if total >= n || s.nonblock {
                            done(Ok(total as i64))
                        } else {
                            Ok(Step::Block(total))
                        }
                    }
                    Ok(Err(WriteError::WouldBlock)) => {
                        if !s.nonblock {
                            Ok(Step::Block(progress))
                        } else if progress > 0 {
                            done(Ok(progress as i64))
                        } else {
                            done(Err("EAGAIN"))
                        }
                    }
                    Ok(Err(WriteError::Closed | WriteError::NotConnected)) => {
                        let r = err(self, None);
                        done(r)
                    }
                    Ok(Err(WriteError::Failed(e))) => {
                        let r = err(self, Some(e));
                        done(r)
                    }
                    Err(_) => {
                        let r = err(self, None);
                        done(r)
                    }
                }
            }
            "close" => {
                let fd = self.fd_arg(line, call)?;
                let Some(s) = self.socks.remove(&fd) else {
                    return done(Err("EBADF"));
                };
                match s.kind {
                    SockKind::Fresh => {}
                    SockKind::Listener(l) => {
                        let _ = self.endpoint().close_listener(now, l);
                    }
                    SockKind::Conn(h) => {
                        if s.opts.linger_zero {
                            let _ = self.endpoint().abort(h, now);
                        } else {
                            let _ = self.endpoint().close(h, now);
                        }
                    }
                }
                done(Ok(0))
            }
            "shutdown" => {
                let fd = self.fd_arg(line, call)?;
                let how = self.arg(line, call, 1)?;
                let how = match how.as_word() {
                    Some("SHUT_RD") => 0,
                    Some("SHUT_WR") => 1,
                    Some("SHUT_RDWR") => 2,
                    _ => how.as_int().unwrap_or(2),
                };
                let Some(s) = self.socks.get(&fd).cloned() else {
                    return done(Err("EBADF"));
                };
                let SockKind::Conn(h) = s.kind else {
                    return done(Err("ENOTCONN"));
                };
                if how == 0 {
                    return done(Ok(0));
                }
                match self.endpoint().shutdown(h, now) {
                    Ok(Ok(())) => done(Ok(0)),
                    Ok(Err(StateError::NotConnected)) | Err(_) => done(Err("ENOTCONN")),
                    Ok(Err(StateError::Failed(_))) => done(Err("ENOTCONN")),
                }
            }
            "fcntl" => {
                let fd = self.fd_arg(line, call)?;
                let cmd = self.arg(line, call, 1)?.as_word().unwrap_or("").to_string();
                let flags = call.args.get(2).and_then(int_value);
                let Some(s) = self.sock(fd) else {
                    return done(Err("EBADF"));
                };
                match cmd.as_str() {
                    "F_SETFL" => {
                        s.nonblock = flags.unwrap_or(0) & O_NONBLOCK != 0;
                        done(Ok(0))
                    }
                    "F_GETFL" => done(Ok(O_RDWR | if s.nonblock { O_NONBLOCK } else { 0 })),
                    other => skip(format!("line {line}: fcntl {other} is not supported")),
                }
            }
            "setsockopt" => self.setsockopt(line, call),
            "getsockopt" => self.getsockopt(line, call),
            "poll" => self.poll(line, call, start),
            other => skip(format!(
                "line {line}: system call {other}() is not supported"
            )),
        }
    }

    fn setsockopt(&mut self, line: usize, call: &SyscallEvent) -> Res<Step> {
        let fd = self.fd_arg(line, call)?;
        let opt = self.arg(line, call, 2)?.as_word().unwrap_or("").to_string();
        let val = self.arg(line, call, 3)?.clone();
        let v = int_value(&val);
        let started = self.ep.is_some();
        let Some(s) = self.sock(fd) else {
            return Ok(Step::Done(Err("EBADF")));
        };
        if started && matches!(opt.as_str(), "SO_RCVBUF" | "SO_SNDBUF") {
            return skip(format!(
                "line {line}: {opt} once the stack runs (buffer sizes are fixed per endpoint)"
            ));
        }
        let o = &mut s.opts;
        let need = |v: Option<i64>| -> Res<i64> {
            match v {
                Some(v) => Ok(v),
                None => skip(format!("line {line}: cannot read the value of {opt}")),
            }
        };
        match opt.as_str() {
            "SO_REUSEADDR" | "SO_REUSEPORT" => {}
            "TCP_QUICKACK" => {
                let on = need(v)? != 0;
                if let SockKind::Conn(h) = s.kind {
                    let now = self.instant(self.now);
                    if let Some(ep) = self.ep.as_mut() {
                        let _ = ep.with_connection(h, now, |c| c.set_quickack(on));
                    }
                }
                return Ok(Step::Done(Ok(0)));
            }
            "TCP_NODELAY" => o.nodelay = need(v)? != 0,
            "TCP_MAXSEG" => o.maxseg = Some(need(v)?.clamp(0, 65535) as u16),
            "SO_KEEPALIVE" => o.keepalive = need(v)? != 0,
            "TCP_KEEPIDLE" => o.keep_idle = Some(need(v)?.max(1) as u64),
            "TCP_KEEPINTVL" => o.keep_intvl = Some(need(v)?.max(1) as u64),
            "TCP_KEEPCNT" => o.keep_cnt = Some(need(v)?.max(1) as u32),
            "TCP_USER_TIMEOUT" => o.user_timeout_ms = Some(need(v)?.max(0) as u64),
            "SO_RCVBUF" => o.rcvbuf = Some(need(v)?.max(0) as usize),
            "SO_SNDBUF" => o.sndbuf = Some(need(v)?.max(0) as usize),
            "SO_LINGER" => {
                let onoff = val.field("onoff").and_then(Expr::as_int);
                let linger = val.field("linger").and_then(Expr::as_int);
                match (onoff, linger) {
                    (Some(on), Some(l)) => o.linger_zero = on != 0 && l == 0,
                    _ => return skip(format!("line {line}: cannot read SO_LINGER value")),
                }
                if o.linger_zero {
                } else if onoff == Some(1) {
                    return skip(format!("line {line}: SO_LINGER with a non-zero time"));
                }
            }
            other => return skip(format!("line {line}: setsockopt {other} is not supported")),
        }
        self.apply_opts(fd);
        Ok(Step::Done(Ok(0)))
    }

    fn getsockopt(&mut self, line: usize, call: &SyscallEvent) -> Res<Step> {
        let fd = self.fd_arg(line, call)?;
        let opt = self.arg(line, call, 2)?.as_word().unwrap_or("").to_string();
        let expected = self.arg(line, call, 3)?.clone();
        let Some(s) = self.socks.get(&fd).cloned() else {
            return Ok(Step::Done(Err("EBADF")));
        };
        let conn = match (s.kind, self.ep.as_ref()) {
            (SockKind::Conn(h), Some(ep)) => ep.connection(h).ok(),
            _ => None,
        };
        let value: i64 = match opt.as_str() {
            "SO_ERROR" => {
                let e = self.sock(fd).and_then(|s| s.pending_error.take());
                e.map_or(0, |e| errno_num(e).unwrap_or(0))
            }
            "TCP_NODELAY" => i64::from(s.opts.nodelay),
            "SO_KEEPALIVE" => i64::from(s.opts.keepalive),
            "TCP_MAXSEG" => match conn {
                Some(c) => {
                    let i = c.info();
                    i64::from(i.snd_mss) - if i.timestamps { 12 } else { 0 }
                }
                None => i64::from(s.opts.maxseg.unwrap_or(536)),
            },
            "TCP_USER_TIMEOUT" => s.opts.user_timeout_ms.unwrap_or(0) as i64,
            // Linux reports "not in ping-pong mode".
            "TCP_QUICKACK" => conn.map_or(1, |c| i64::from(c.quickack())),
            "TCP_KEEPIDLE" => s.opts.keep_idle.unwrap_or(7200) as i64,
            "TCP_KEEPINTVL" => s.opts.keep_intvl.unwrap_or(75) as i64,
            "TCP_KEEPCNT" => i64::from(s.opts.keep_cnt.unwrap_or(9)),
            other => return skip(format!("line {line}: getsockopt {other} is not supported")),
        };
        if !matches!(expected, Expr::Ellipsis) {
            match int_value(&expected) {
                Some(want) if want == value => {}
                Some(_) => {
                    return fail(line, call.to_string(), format!("{opt} is {value}"));
                }
                None => return skip(format!("line {line}: cannot read expected {opt} value")),
            }
        }
        Ok(Step::Done(Ok(0)))
    }

    /// Linux's poll mask for a socket.
    fn poll_mask(&mut self, fd: i64) -> i64 {
        let Some(s) = self.socks.get(&fd).cloned() else {
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
                    return POLLHUP;
                };
                let mut m = 0;
                let st = c.state();
                if c.error().is_some() || s.pending_error.is_some() {
                    m |= POLLERR;
                }
                if c.is_closed() || st == State::Closed {
                    m |= POLLHUP | POLLIN | POLLRDNORM | POLLRDHUP;
                }
                let peer_fin = matches!(
                    st,
                    State::CloseWait | State::LastAck | State::Closing | State::TimeWait
                );
                if peer_fin {
                    m |= POLLIN | POLLRDNORM | POLLRDHUP;
                }
                if c.recv_available() > 0 {
                    m |= POLLIN | POLLRDNORM;
                }
                if matches!(st, State::Established | State::CloseWait) && c.send_space() > 0 {
                    m |= POLLOUT | POLLWRNORM;
                }
                m
            }
        }
    }

    fn poll(&mut self, line: usize, call: &SyscallEvent, start: u64) -> Res<Step> {
        let Expr::Array(fds) = self.arg(line, call, 0)?.clone() else {
            return skip(format!("line {line}: cannot read the poll fds"));
        };
        let timeout = self.arg(line, call, 2)?.as_int().unwrap_or(0);
        let mut count = 0;
        let mut mismatch = None;
        for pfd in &fds {
            let fd = pfd.field("fd").and_then(Expr::as_int);
            let events = pfd.field("events").and_then(int_value).unwrap_or(0);
            let Some(fd) = fd else {
                return skip(format!("line {line}: cannot read a pollfd"));
            };
            let revents = self.poll_mask(fd) & (events | POLLERR | POLLHUP | POLLNVAL);
            if revents != 0 {
                count += 1;
            }
            if let Some(want) = pfd.field("revents") {
                let want = int_value(want).unwrap_or(-1);
                if want != revents && mismatch.is_none() {
                    mismatch = Some(format!("fd {fd} revents {revents:#x}"));
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
}
