//! Helpers shared by the examples: bulk send/receive over stream handles, sizes, progress.
#![allow(dead_code)]

use bytes::Bytes;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};
use tcp_mio::check::{StreamHash, XorShift};
use tcp_mio::{Net, TcpStream};

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

/// Echoes everything read back to the peer until end-of-stream, then shuts down.
pub fn echo(net: &Net, mut stream: TcpStream) -> io::Result<u64> {
    let mut pending: Option<Bytes> = None;
    let mut eof = false;
    let mut total = 0;
    loop {
        if let Some(p) = pending.take() {
            match stream.write_bytes(p.clone()) {
                Ok(n) if n < p.len() => pending = Some(p.slice(n..)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => pending = Some(p),
                Err(e) => return Err(e),
            }
        }
        if pending.is_none() && !eof {
            match stream.read_bytes(1 << 20) {
                Ok(Some(b)) => {
                    total += b.len() as u64;
                    pending = Some(b);
                    continue;
                }
                Ok(None) => eof = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if eof && pending.is_none() {
            stream.shutdown()?;
            stream.flush()?;
            return Ok(total);
        }
        net.poll(Some(Duration::from_secs(1)))?;
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
