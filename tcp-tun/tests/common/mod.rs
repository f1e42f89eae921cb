//! Shared helpers of the interop tests: a private namespace with a TUN device, the skip
//! policy, and seeded data flows on both sides.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tcp_mio::{Net, TcpStream};
use tcp_testkit::check::{StreamHash, XorShift};
use tcp_tun::TunStack;
use tcp_tun::netns::{self, TunNet};

/// Chunk size of the generated data streams.
#[allow(unused_imports)] // each test binary uses its own subset
pub use tcp_testkit::check::{CHUNK, Flow, expected_hash, write_stream};

/// Enters a fresh network namespace (this thread only) and creates a TUN device with the
/// default layout in it. Panics if that is impossible: [`run`] has already checked that it
/// is possible (or reported the tests as ignored when it is not).
pub fn setup(layout: &TunNet) -> TunStack {
    netns::unshare_net()
        .and_then(|()| TunStack::create(layout))
        .unwrap_or_else(|e| panic!("cannot create a network namespace with a TUN device: {e}"))
}

/// Like [`setup`] on a device with the virtio-net header and the kernel's offloads
/// ([`TunNet::create_offloaded`]).
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn setup_offloaded(layout: &TunNet) -> TunStack {
    let link = setup_offloaded_link(layout);
    let config = link.config();
    TunStack::with_config(link, config)
        .unwrap_or_else(|e| panic!("cannot drive an offloading TUN device: {e}"))
}

/// Like [`setup_offloaded`] but returns the bare link (for tests that wrap it).
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn setup_offloaded_link(layout: &TunNet) -> tcp_tun::TunLink {
    netns::unshare_net()
        .and_then(|()| layout.create_offloaded())
        .unwrap_or_else(|e| panic!("cannot create a namespace with an offloading TUN device: {e}"))
}

/// Like [`setup`] but returns the bare link (for tests that wrap it).
pub fn setup_link(layout: &TunNet) -> tcp_tun::TunLink {
    netns::unshare_net()
        .and_then(|()| layout.create())
        .unwrap_or_else(|e| panic!("cannot create a network namespace with a TUN device: {e}"))
}

/// The test harness of each interop test file (`harness = false`): [`netns_harness::run`],
/// after a probe that creates a private network namespace with a TUN device of the
/// default layout and checks that each command of `needs` starts.
pub fn run(tests: &[(&'static str, fn())], needs: &'static [&'static str]) {
    netns_harness::run(tests, move || {
        netns::unshare_net()
            .and_then(|()| TunStack::create(&TunNet::default()).map(drop))
            .map_err(netns_harness::cannot_make_namespace)?;
        netns_harness::missing_command(needs)
    })
}

/// `main` of an interop test file: `common::tests!(needs: [..]; test_a, test_b)` runs the
/// functions `test_a` and `test_b` through [`run`], named as libtest would name them.
macro_rules! tests {
    (needs: [$($need:expr),*]; $($test:ident),+ $(,)?) => {
        fn main() {
            common::run(&[$((stringify!($test), $test as fn())),+], &[$($need),*]);
        }
    };
    ($($test:ident),+ $(,)?) => {
        common::tests!(needs: []; $($test),+);
    };
}
pub(crate) use tests;

/// The kernel's address of one family.
pub fn kernel_addr(layout: &TunNet, v6: bool, port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(IpAddr::V6(layout.kernel_v6.unwrap()), port)
    } else {
        SocketAddr::new(IpAddr::V4(layout.kernel_v4), port)
    }
}

/// The stack's address of one family.
pub fn our_addr(layout: &TunNet, v6: bool, port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(IpAddr::V6(layout.ours_v6), port)
    } else {
        SocketAddr::new(IpAddr::V4(layout.ours_v4), port)
    }
}

/// Upper bound for any wait in the tests (a hang guard, not a timing assertion).
pub const LIMIT: Duration = Duration::from_secs(120);

/// Reads a blocking reader to end-of-stream; returns the byte count and hash.
pub fn read_stream(r: &mut impl Read) -> io::Result<(u64, u64)> {
    let mut buf = vec![0u8; CHUNK];
    let mut h = StreamHash::new();
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((h.len(), h.finish()));
        }
        h.update(&buf[..n]);
    }
}

/// Polls `net` until `done` holds; panics after `limit`.
pub fn pump(net: &Net, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        net.poll(Some(Duration::from_millis(5))).expect("poll");
    }
}

/// Our side of an echo: everything read is written back; after end-of-stream and the
/// last byte written, shuts down. Returns true when done.
pub struct Echo {
    pub stream: TcpStream,
    pending: Vec<u8>,
    off: usize,
    pub eof: bool,
    pub shut: bool,
    pub echoed: u64,
    buf: Vec<u8>,
}

impl Echo {
    /// An echo on `stream`.
    pub fn new(stream: TcpStream) -> Self {
        Echo {
            stream,
            pending: Vec::new(),
            off: 0,
            eof: false,
            shut: false,
            echoed: 0,
            buf: vec![0u8; CHUNK],
        }
    }

    /// Moves what it can; true when finished.
    pub fn step(&mut self) -> io::Result<bool> {
        loop {
            while self.off < self.pending.len() {
                match self.stream.write(&self.pending[self.off..]) {
                    Ok(n) => {
                        self.off += n;
                        self.echoed += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            self.pending.clear();
            self.off = 0;
            if self.eof {
                if !self.shut {
                    self.stream.shutdown()?;
                    self.shut = true;
                }
                return Ok(true);
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending.extend_from_slice(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Result of a kernel-side bulk flow: hash of what it wrote, and length and hash of what it
/// read up to end-of-stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelFlow {
    pub sent_hash: u64,
    pub recv_len: u64,
    pub recv_hash: u64,
}

/// On a kernel socket: writes `total` generated bytes from one thread (then shuts down
/// writing) while reading to end-of-stream in this one.
pub fn kernel_flow(s: std::net::TcpStream, seed: u64, total: u64) -> io::Result<KernelFlow> {
    s.set_read_timeout(Some(LIMIT))?;
    s.set_write_timeout(Some(LIMIT))?;
    let mut w = s.try_clone()?;
    let writer = std::thread::spawn(move || -> io::Result<u64> {
        let h = write_stream(&mut w, seed, total)?;
        w.shutdown(std::net::Shutdown::Write)?;
        Ok(h)
    });
    let mut r = s;
    let (recv_len, recv_hash) = read_stream(&mut r)?;
    let sent_hash = writer.join().expect("writer thread")?;
    Ok(KernelFlow {
        sent_hash,
        recv_len,
        recv_hash,
    })
}

/// Connects from the kernel to `target` (retrying while the stack is not up yet).
pub fn kernel_connect(target: SocketAddr) -> io::Result<std::net::TcpStream> {
    std::net::TcpStream::connect_timeout(&target, Duration::from_secs(30))
}

/// Polls `net` until `done(events)` holds, handing it the events of each poll; panics
/// after `limit`.
pub fn pump_events(
    net: &Net,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&[tcp_core::EndpointEvent]) -> bool,
) {
    let deadline = Instant::now() + limit;
    let mut events = Vec::new();
    while !done(&events) {
        assert!(Instant::now() < deadline, "timed out: {what}");
        events = net.poll(Some(Duration::from_millis(5))).expect("poll");
    }
}

/// A kernel client connected to our listener at `addr`, and our accepted stream. The
/// kernel socket is returned non-blocking, so the test thread can drive both sides.
pub fn accepted_pair(
    stack: &TunStack,
    listener: &tcp_mio::TcpListener,
    addr: SocketAddr,
) -> (TcpStream, std::net::TcpStream) {
    let client = std::thread::spawn(move || kernel_connect(addr));
    let mut ours = None;
    pump(stack.net(), LIMIT, "accept", || {
        if ours.is_none() {
            ours = listener.accept().ok().map(|(s, _)| s);
        }
        ours.is_some() && client.is_finished()
    });
    let k = client.join().unwrap().expect("kernel connect");
    k.set_nonblocking(true).unwrap();
    (ours.unwrap(), k)
}

/// Reads from a non-blocking reader until it would block; true at end-of-stream.
pub fn drain_nb(r: &mut impl Read, into: &mut Vec<u8>) -> io::Result<bool> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Writes as much of `data[*off..]` as a non-blocking writer takes; true when all is
/// written.
pub fn write_nb(w: &mut impl Write, data: &[u8], off: &mut usize) -> io::Result<bool> {
    while *off < data.len() {
        match w.write(&data[*off..]) {
            Ok(n) => *off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// `len` bytes generated from `seed`.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    XorShift::new(seed).fill(&mut v);
    v
}

/// Kernel TCP states (as in `/proc/net/tcp`: 1 ESTABLISHED ... 6 TIME_WAIT, 7 CLOSE,
/// 8 CLOSE_WAIT, 9 LAST_ACK, 10 LISTEN, 11 CLOSING) of sockets whose local or remote port is
/// `port`, in this thread's network namespace.
pub fn kernel_states(port: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for f in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/thread-self/net/{f}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 {
                continue;
            }
            let port_of = |s: &str| {
                s.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            if (port_of(cols[1]) == Some(port) || port_of(cols[2]) == Some(port))
                && let Ok(st) = u8::from_str_radix(cols[3], 16)
            {
                out.push(st);
            }
        }
    }
    out
}

/// Kernel TIME_WAIT state number.
pub const K_TIME_WAIT: u8 = 6;

/// Sets SO_LINGER {on, 0}: the kernel resets the connection on close.
pub fn set_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid socket and a `linger` struct of the size passed.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt SO_LINGER");
}

/// The kernel's view: (options bits, snd_wscale, rcv_wscale).
pub fn kernel_tcp_info(s: &std::net::TcpStream) -> (u8, u8, u8) {
    use std::os::fd::AsRawFd;
    // SAFETY: all-zero bytes are a valid tcp_info.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: valid socket; `info` and `len` describe a writable buffer.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "TCP_INFO");
    let ws = info.tcpi_snd_rcv_wscale;
    (info.tcpi_options, ws & 0xf, ws >> 4)
}

/// A kernel client echoes `total` bytes through our listener on `stack` (port 7 of our
/// address of the family); checks every byte and returns the link's counters.
pub fn kernel_client_echo(
    stack: &TunStack,
    layout: &TunNet,
    v6: bool,
    total: u64,
) -> tcp_tun::TunStatsSnapshot {
    let addr = our_addr(layout, v6, 7);
    let listener = stack.net().listen_on(addr, 16).unwrap();
    let client = std::thread::spawn(move || {
        let s = kernel_connect(addr)?;
        kernel_flow(s, 11, total)
    });
    let mut echo = None;
    pump(stack.net(), LIMIT, "echo", || {
        if echo.is_none() {
            echo = listener.accept().ok().map(|(s, _)| Echo::new(s));
        }
        if let Some(e) = echo.as_mut() {
            e.step().expect("echo");
        }
        client.is_finished()
    });
    let flow: KernelFlow = client.join().unwrap().expect("kernel client");
    let expected = expected_hash(11, total);
    assert_eq!(flow.sent_hash, expected);
    assert_eq!(flow.recv_len, total, "echoed length");
    assert_eq!(flow.recv_hash, expected, "echoed bytes");
    let st = stack.stats();
    eprintln!("v6={v6} {st:?}");
    st
}

/// Our client on `stack` and a kernel listener exchange `total` bytes each way at once;
/// checks every byte and returns the link's counters.
pub fn our_client_bulk(
    stack: &TunStack,
    layout: &TunNet,
    v6: bool,
    total: u64,
) -> tcp_tun::TunStatsSnapshot {
    let kaddr = kernel_addr(layout, v6, 5001);
    let listener = std::net::TcpListener::bind(kaddr).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept()?;
        kernel_flow(s, 22, total)
    });
    let stream = stack.connect(kaddr).unwrap();
    let mut flow = Flow::new(stream, 33, total);
    pump(stack.net(), LIMIT, "bulk both ways", || {
        flow.step().expect("our flow") && server.is_finished()
    });
    let k = server.join().unwrap().expect("kernel server");
    assert_eq!(k.recv_len, total, "kernel received length");
    assert_eq!(
        k.recv_hash,
        expected_hash(33, total),
        "kernel received bytes"
    );
    assert_eq!(flow.rx.len(), total, "we received length");
    assert_eq!(flow.rx.finish(), k.sent_hash, "we received bytes");
    assert_eq!(k.sent_hash, expected_hash(22, total));
    let st = stack.stats();
    eprintln!("v6={v6} {st:?}");
    st
}
