//! Shared by the examples: namespace setup with instructions, and the two servers (echo
//! and a tiny HTTP/1.1 server) as non-blocking state machines over `tcp_mio` streams.
#![allow(dead_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use tcp_mio::{TcpListener, TcpStream};
use tcp_tun::TunStack;
use tcp_tun::netns::{self, TunNet};

/// Moves this (main) thread into a private network namespace, creates `tun0` with the
/// default addresses and returns the stack on it. Prints how to reach it.
pub fn private_stack(port: u16, what: &str) -> io::Result<(TunStack, TunNet)> {
    let layout = TunNet::default();
    netns::unshare_net().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create a network namespace (run as root): {e}"),
        )
    })?;
    let stack = TunStack::create(&layout)?;
    let pid = std::process::id();
    eprintln!(
        "{what} on {}:{port} and [{}]:{port}, in a private network namespace \
         (tun0, MTU {}, kernel side {} / {}).",
        layout.ours_v4,
        layout.ours_v6,
        stack.mtu(),
        layout.kernel_v4,
        layout.kernel_v6.unwrap()
    );
    eprintln!("From another shell, enter that namespace with: sudo nsenter -t {pid} -n <command>");
    Ok((stack, layout))
}

/// The stack's addresses for `port`, both families.
pub fn our_addrs(layout: &TunNet, port: u16) -> [SocketAddr; 2] {
    [
        SocketAddr::new(IpAddr::V4(layout.ours_v4), port),
        SocketAddr::new(IpAddr::V6(layout.ours_v6), port),
    ]
}

/// Accepts every waiting connection from `listeners`.
pub fn accept_all(listeners: &[TcpListener], out: &mut Vec<(TcpStream, SocketAddr)>) {
    for l in listeners {
        while let Ok(c) = l.accept() {
            out.push(c);
        }
    }
}

/// An echo connection: everything read is written back; after the peer's end-of-stream
/// and the last byte echoed, we close.
pub struct EchoConn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pending: Vec<u8>,
    off: usize,
    eof: bool,
    pub bytes: u64,
}

impl EchoConn {
    /// Echo on `stream`.
    pub fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        EchoConn {
            stream,
            peer,
            pending: Vec::new(),
            off: 0,
            eof: false,
            bytes: 0,
        }
    }

    /// Moves what it can. `Ok(true)`: finished (the caller drops it, which closes).
    pub fn step(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            while self.off < self.pending.len() {
                match self.stream.write(&self.pending[self.off..]) {
                    Ok(n) => {
                        self.off += n;
                        self.bytes += n as u64;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            self.pending.clear();
            self.off = 0;
            if self.eof {
                return Ok(true);
            }
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Largest body `/bytes/N` serves.
pub const MAX_BYTES: u64 = 1 << 34;

/// A tiny HTTP/1.1 connection: reads one request head, answers it, closes.
///
/// Routes: `GET /` a short greeting naming the peer; `GET /bytes/N` N bytes (for throughput
/// with `curl -o /dev/null`); anything else 404.
pub struct HttpConn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    request: Vec<u8>,
    head: Vec<u8>,
    head_off: usize,
    body_left: u64,
    answered: bool,
}

impl HttpConn {
    /// Serves `stream`.
    pub fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        HttpConn {
            stream,
            peer,
            request: Vec::new(),
            head: Vec::new(),
            head_off: 0,
            body_left: 0,
            answered: false,
        }
    }

    fn answer(&mut self) {
        let text = String::from_utf8_lossy(&self.request);
        let line = text.lines().next().unwrap_or("");
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (status, ctype, body, len): (&str, &str, Vec<u8>, u64) =
            match (method, path.strip_prefix("/bytes/")) {
                ("GET", Some(n)) => match n.parse::<u64>() {
                    Ok(n) if n <= MAX_BYTES => {
                        ("200 OK", "application/octet-stream", Vec::new(), n)
                    }
                    _ => {
                        let b = b"bad size\n".to_vec();
                        let l = b.len() as u64;
                        ("400 Bad Request", "text/plain", b, l)
                    }
                },
                ("GET", None) if path == "/" => {
                    let b = format!(
                        "Hello from tcp-core, a sans-IO TCP stack in user space, over a TUN \
                         device.\nYou are {}.\n",
                        self.peer
                    )
                    .into_bytes();
                    let l = b.len() as u64;
                    ("200 OK", "text/plain; charset=utf-8", b, l)
                }
                _ => {
                    let b = b"not found\n".to_vec();
                    let l = b.len() as u64;
                    ("404 Not Found", "text/plain", b, l)
                }
            };
        let mut head = format!(
            "HTTP/1.1 {status}\r\nServer: tcp-tun-example\r\nContent-Type: {ctype}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        let inline = !body.is_empty();
        head.extend_from_slice(&body);
        self.head = head;
        self.body_left = if inline { 0 } else { len };
        self.answered = true;
    }

    /// Moves what it can. `Ok(true)`: the response is written (the caller drops the
    /// connection, which closes it gracefully).
    pub fn step(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        while !self.answered {
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    self.request.extend_from_slice(&buf[..n]);
                    if self.request.windows(4).any(|w| w == b"\r\n\r\n") {
                        self.answer();
                    } else if self.request.len() > 16 * 1024 {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        while self.head_off < self.head.len() {
            match self.stream.write(&self.head[self.head_off..]) {
                Ok(n) => self.head_off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        static FILL: [u8; 64 * 1024] = [b'x'; 64 * 1024];
        while self.body_left > 0 {
            let n = self.body_left.min(FILL.len() as u64) as usize;
            match self.stream.write(&FILL[..n]) {
                Ok(w) => self.body_left -= w as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}
