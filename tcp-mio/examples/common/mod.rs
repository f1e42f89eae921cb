//! Helpers shared by the examples: bulk send/receive over stream handles, sizes, progress.
#![allow(dead_code)]

use bytes::Bytes;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};
use tcp_mio::{Net, TcpStream};
use tcp_testkit::check::{StreamHash, XorShift};

/// Parses "1G", "100M", "64K", "1234" (binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// A block of pseudo-random data sent over and over (its length is not a power of two so
/// a misplaced segment cannot land on identical bytes).
pub fn data_block(seed: u64) -> Bytes {
    let mut v = vec![0u8; 1_000_003];
    XorShift::new(seed).fill(&mut v);
    Bytes::from(v)
}

/// The hash of the first `total` bytes of the endless repetition of `block`.
pub fn expected_hash(block: &Bytes, total: u64) -> u64 {
    let mut h = StreamHash::new();
    let mut left = total;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        h.update(&block[..n]);
        left -= n as u64;
    }
    h.finish()
}

/// Writes `total` bytes of the repeated `block` (zero-copy), then shuts down and waits for
/// the peer's end-of-stream. Polls `net` while blocked.
pub fn send_all(net: &Net, stream: &TcpStream, block: &Bytes, total: u64) -> io::Result<()> {
    let mut sent = 0u64;
    let mut off = 0usize;
    let mut shut = false;
    loop {
        while sent < total {
            let end = (block.len() as u64).min(off as u64 + (total - sent)) as usize;
            match stream.write_bytes(block.slice(off..end)) {
                Ok(n) => {
                    sent += n as u64;
                    off = (off + n) % block.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if sent == total && !shut {
            stream.shutdown()?;
            shut = true;
        }
        if shut {
            match stream.read_bytes(4096) {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        net.poll(Some(Duration::from_secs(1)))?;
    }
}

/// Reads until end-of-stream, hashing; shows progress on stderr if it is a terminal.
/// Returns (bytes, hash).
pub fn receive_all(net: &Net, stream: &TcpStream, expect: u64) -> io::Result<(u64, u64)> {
    let mut h = StreamHash::new();
    let mut progress = Progress::new(expect);
    loop {
        match stream.read_bytes(1 << 20) {
            Ok(Some(b)) => {
                h.update(&b);
                progress.update(h.len());
                continue;
            }
            Ok(None) => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        net.poll(Some(Duration::from_secs(1)))?;
    }
    progress.finish();
    Ok((h.len(), h.finish()))
}

/// One echoed connection: writes back everything it reads; after the peer's
/// end-of-stream and the last byte echoed, shuts down.
pub struct Echo {
    /// The connection.
    pub stream: TcpStream,
    pending: Option<Bytes>,
    eof: bool,
    /// Bytes echoed so far.
    pub echoed: u64,
}

impl Echo {
    /// Echoes `stream`.
    pub fn new(stream: TcpStream) -> Self {
        Echo {
            stream,
            pending: None,
            eof: false,
            echoed: 0,
        }
    }

    /// Moves what it can without blocking; true when finished (shut down after EOF).
    pub fn step(&mut self) -> io::Result<bool> {
        loop {
            if let Some(p) = self.pending.take() {
                match self.stream.write_bytes(p.clone()) {
                    Ok(n) => {
                        self.echoed += n as u64;
                        if n < p.len() {
                            self.pending = Some(p.slice(n..));
                            return Ok(false);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.pending = Some(p);
                        return Ok(false);
                    }
                    Err(e) => return Err(e),
                }
            }
            if self.eof {
                self.stream.shutdown()?;
                return Ok(true);
            }
            match self.stream.read_bytes(1 << 20) {
                Ok(Some(b)) => self.pending = Some(b),
                Ok(None) => self.eof = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    total: u64,
    start: Instant,
    last: Instant,
    on: bool,
}

impl Progress {
    /// A bar for `total` bytes.
    pub fn new(total: u64) -> Self {
        let now = Instant::now();
        Progress {
            total,
            start: now,
            last: now,
            on: io::stderr().is_terminal() && total > 0,
        }
    }

    /// Redraws (at most ten times a second).
    pub fn update(&mut self, done: u64) {
        if !self.on || self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        let frac = done as f64 / self.total as f64;
        let width = 40;
        let filled = ((frac * width as f64) as usize).min(width);
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let _ = write!(
            io::stderr(),
            "\r[{}{}] {:5.1}% {:>8.1} MiB {:>8.1} MiB/s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            frac * 100.0,
            done as f64 / (1 << 20) as f64,
            done as f64 / (1 << 20) as f64 / secs
        );
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if self.on {
            let _ = write!(io::stderr(), "\r{}\r", " ".repeat(80));
        }
    }
}

/// Formats a throughput.
pub fn rate(bytes: u64, secs: f64) -> String {
    let bps = bytes as f64 * 8.0 / secs;
    format!(
        "{:.2} Gbit/s ({:.0} MiB/s)",
        bps / 1e9,
        bytes as f64 / (1 << 20) as f64 / secs
    )
}

/// Result of one measured transfer.
pub struct Outcome {
    /// Bytes received.
    pub bytes: u64,
    /// Seconds from accept to end-of-stream on the receiver.
    pub secs: f64,
    /// Length and hash matched what was sent.
    pub ok: bool,
    /// Receiver's hash.
    pub hash: u64,
}

/// Sends `size` bytes from a client stack to a listener stack, each in its own thread,
/// over UDP on 127.0.0.1, and checks them by hash.
pub fn run_transfer(config: tcp_core::Config, size: u64) -> io::Result<Outcome> {
    use std::sync::mpsc;
    let block = data_block(0x5eed);
    let (addr_tx, addr_rx) = mpsc::channel();
    let server_cfg = config.clone();
    let server = std::thread::spawn(move || -> io::Result<(u64, u64, f64)> {
        let net = Net::udp("127.0.0.1:0".parse().unwrap(), server_cfg)?;
        let listener = net.listen(5001, 16)?;
        addr_tx.send(net.udp_addr().unwrap()).unwrap();
        let mut stream = None;
        net.run_until(Duration::from_secs(10), || {
            stream = listener.accept().ok().map(|(s, _)| s);
            Ok(stream.is_some())
        })?;
        let stream = stream.unwrap();
        let start = Instant::now();
        let (n, h) = receive_all(&net, &stream, size)?;
        let secs = start.elapsed().as_secs_f64();
        drop(stream);
        // Let the FIN and the last ACKs leave before the stack goes away.
        let _ = net.run_until(Duration::from_millis(200), || Ok(false));
        Ok((n, h, secs))
    });
    let server_udp = addr_rx.recv().unwrap();
    let expected = {
        let block = block.clone();
        std::thread::spawn(move || expected_hash(&block, size))
    };
    let net = Net::udp("127.0.0.1:0".parse().unwrap(), config)?;
    let stream = net.connect(server_udp, 5001)?;
    send_all(&net, &stream, &block, size)?;
    if std::env::var_os("TRANSFER_VERBOSE").is_some() {
        eprintln!("sender: {:?}", stream.info()?);
        eprintln!("sender driver: {:?}", net.driver().stats());
    }
    drop(stream);
    let (bytes, hash, secs) = server.join().unwrap()?;
    let expected = expected.join().unwrap();
    Ok(Outcome {
        bytes,
        secs,
        ok: bytes == size && hash == expected,
        hash,
    })
}

/// Sends `size` bytes over the kernel's own TCP on 127.0.0.1 (std::net, two threads),
/// hashing on the receiver as the stack's transfer does; returns (bytes, seconds, ok).
pub fn run_kernel_transfer(size: u64) -> io::Result<Outcome> {
    use std::net::{TcpListener, TcpStream};
    let block = data_block(0x5eed);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let sender = {
        let block = block.clone();
        std::thread::spawn(move || -> io::Result<()> {
            let mut s = TcpStream::connect(addr)?;
            let mut left = size;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                s.write_all(&block[..n])?;
                left -= n as u64;
            }
            s.shutdown(std::net::Shutdown::Write)
        })
    };
    let (mut s, _) = listener.accept()?;
    let start = Instant::now();
    let mut h = StreamHash::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = io::Read::read(&mut s, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let secs = start.elapsed().as_secs_f64();
    sender.join().unwrap()?;
    let hash = h.finish();
    Ok(Outcome {
        bytes: h.len(),
        secs,
        ok: h.len() == size && hash == expected_hash(&block, size),
        hash,
    })
}

/// The configuration used for bulk transfers: the given MSS and 2 MiB send and receive
/// buffers (or `TRANSFER_BUF`, like `4M`); `TRANSFER_CC=bbr` selects BBR.
///
/// The receive window must stay below what the receiver's UDP socket can queue (4 MiB
/// `SO_RCVBUF`, charged per queued datagram or GRO batch with overhead): a larger window
/// can overflow it in bursts, and the core's NewReno recovery then repairs one lost
/// segment per round trip. Without GRO, 8 MiB windows at MSS 1460 did exactly that.
pub fn bulk_config(mss: u16) -> tcp_core::Config {
    let buf = std::env::var("TRANSFER_BUF")
        .ok()
        .and_then(|v| parse_size(&v))
        .unwrap_or(2 << 20) as usize;
    let mut config = tcp_core::Config::default();
    config.mss = mss;
    config.send_buffer = buf;
    config.recv_buffer = buf;
    if std::env::var("TRANSFER_CC").is_ok_and(|v| v == "bbr") {
        // TRANSFER_CC=bbr: BBR, paced by the driver's timers.
        config.congestion = tcp_core::config::CongestionAlgorithm::Bbr;
    }
    config
}
