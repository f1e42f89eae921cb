//! Application workloads run inside node wrappers: a bulk sender that writes a
//! deterministic byte pattern and a bulk receiver that verifies it.
//!
//! Both stacks' node wrappers use these, so the workload is identical whichever stack runs.

use std::sync::OnceLock;

/// Period of the pattern: a prime near 1 MB, so a segment misplaced by anything a TCP
/// window allows (far less than a megabyte) is caught, and no power of two aligns with it.
const PERIOD: u64 = 1_000_003;
/// Longest slice [`pattern`] hands out.
const MAX_SLICE: usize = 256 * 1024;

/// The pattern table: one period plus room for the longest slice, computed once, so that
/// generating and checking data costs a copy or a comparison, not arithmetic per byte.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..PERIOD + MAX_SLICE as u64)
            .map(|o| {
                let i = o % PERIOD;
                let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (x >> 56) as u8 ^ (i >> 16) as u8
            })
            .collect()
    })
}

/// The pattern bytes `[offset, offset + len)`, `len` at most 256 KiB.
pub fn pattern(offset: u64, len: usize) -> &'static [u8] {
    let start = (offset % PERIOD) as usize;
    &table()[start..start + len.min(MAX_SLICE)]
}

/// The pattern byte at stream offset `offset` (deterministic, period about 1 MB).
pub fn pattern_byte(offset: u64) -> u8 {
    table()[(offset % PERIOD) as usize]
}

/// Fills `buf` with the pattern starting at stream offset `offset`.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    for (k, chunk) in buf.chunks_mut(MAX_SLICE).enumerate() {
        chunk.copy_from_slice(pattern(offset + (k * MAX_SLICE) as u64, chunk.len()));
    }
}

/// Writes `total` bytes of the pattern.
#[derive(Debug, Clone)]
pub struct BulkSender {
    total: u64,
    written: u64,
}

impl BulkSender {
    /// A sender of `total` bytes.
    pub fn new(total: u64) -> Self {
        BulkSender { total, written: 0 }
    }

    /// Bytes to write in total.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes accepted by the stack so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Whether every byte was accepted by the stack.
    pub fn all_written(&self) -> bool {
        self.written >= self.total
    }

    /// The next bytes to write (at most 64 KiB), starting at [`BulkSender::written`].
    pub fn pending(&mut self) -> &[u8] {
        const CHUNK: u64 = 64 * 1024;
        let len = (self.total - self.written).min(CHUNK) as usize;
        pattern(self.written, len)
    }

    /// Records that the stack accepted `n` more bytes.
    pub fn advance(&mut self, n: usize) {
        self.written = (self.written + n as u64).min(self.total);
    }
}

/// Reads and verifies the pattern.
#[derive(Debug, Clone, Default)]
pub struct BulkReceiver {
    expected: Option<u64>,
    received: u64,
    first_mismatch: Option<u64>,
    eof: bool,
}

impl BulkReceiver {
    /// A receiver expecting exactly `expected` bytes (or any amount when `None`).
    pub fn new(expected: Option<u64>) -> Self {
        BulkReceiver {
            expected,
            ..BulkReceiver::default()
        }
    }

    /// Checks and counts bytes read from the stream.
    pub fn on_data(&mut self, data: &[u8]) {
        if self.first_mismatch.is_none() {
            for (k, chunk) in data.chunks(MAX_SLICE).enumerate() {
                let at = self.received + (k * MAX_SLICE) as u64;
                if chunk != pattern(at, chunk.len()) {
                    let i = chunk
                        .iter()
                        .zip(pattern(at, chunk.len()))
                        .position(|(a, b)| a != b);
                    self.first_mismatch = Some(at + i.unwrap_or(0) as u64);
                    break;
                }
            }
        }
        self.received += data.len() as u64;
    }

    /// Records the end of the stream.
    pub fn on_eof(&mut self) {
        self.eof = true;
    }

    /// Bytes read so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the end of the stream was seen.
    pub fn eof(&self) -> bool {
        self.eof
    }

    /// A description of what is wrong with the stream, if anything.
    pub fn error(&self) -> Option<String> {
        if let Some(at) = self.first_mismatch {
            return Some(format!("data mismatch at stream offset {at}"));
        }
        match self.expected {
            Some(n) if self.received > n => {
                Some(format!("received {} > expected {n}", self.received))
            }
            Some(n) if self.eof && self.received < n => Some(format!(
                "end of stream after {} of {n} bytes",
                self.received
            )),
            _ => None,
        }
    }

    /// Whether every expected byte arrived intact and the stream ended.
    pub fn complete(&self) -> bool {
        self.eof && self.error().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_accepts_what_sender_writes_in_any_chunking() {
        let mut s = BulkSender::new(300_000);
        let mut r = BulkReceiver::new(Some(300_000));
        let mut step = 1usize;
        while !s.all_written() {
            let chunk = s.pending();
            let n = chunk.len().min(step);
            r.on_data(&chunk[..n]);
            s.advance(n);
            step = step * 3 % 70_001 + 1;
        }
        r.on_eof();
        assert!(r.complete(), "{:?}", r.error());
    }

    #[test]
    fn receiver_detects_a_corrupted_byte_and_a_short_stream() {
        let mut buf = vec![0; 1000];
        fill_pattern(0, &mut buf);
        buf[500] ^= 1;
        let mut r = BulkReceiver::new(Some(2000));
        r.on_data(&buf);
        assert!(r.error().unwrap().contains("offset 500"));
        let mut r = BulkReceiver::new(Some(2000));
        fill_pattern(0, &mut buf);
        buf[500] ^= 1;
        r.on_data(&buf[..500]);
        r.on_eof();
        assert!(!r.complete());
        assert!(r.error().unwrap().contains("end of stream"));
    }
}
