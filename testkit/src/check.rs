//! Helpers for verifying transfers: a seeded byte-stream generator and a fast
//! non-cryptographic stream hash. Used by the examples, tests and benchmark; public so
//! embedders can check their own transfers the same way.

/// A small seeded pseudo-random generator (xorshift64*). Not for cryptography.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        XorShift(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `p` (clamped to 0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Fills `buf` with pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let v = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&v[..n]);
    }
}

/// A streaming 64-bit hash whose result does not depend on how the stream is split into
/// `update` calls. Fast (8 bytes per step) and good enough to detect corruption, loss,
/// duplication or reordering of data; not cryptographic.
#[derive(Clone, Debug)]
pub struct StreamHash {
    state: [u64; 4],
    pending: [u8; 32],
    pending_len: usize,
    total: u64,
}

impl Default for StreamHash {
    fn default() -> Self {
        Self::new()
    }
}

const K: [u64; 4] = [
    0x9e37_79b9_7f4a_7c15,
    0xc2b2_ae3d_27d4_eb4f,
    0x1656_67b1_9e37_79f9,
    0x85eb_ca77_c2b2_ae63,
];

#[inline]
fn round(acc: u64, word: u64, k: u64) -> u64 {
    (acc ^ word).wrapping_mul(k).rotate_left(31)
}

impl StreamHash {
    /// An empty hash.
    pub fn new() -> Self {
        StreamHash {
            state: K,
            pending: [0; 32],
            pending_len: 0,
            total: 0,
        }
    }

    fn block(&mut self, b: &[u8]) {
        for lane in 0..4 {
            let w = u64::from_le_bytes(b[lane * 8..lane * 8 + 8].try_into().unwrap_or([0; 8]));
            self.state[lane] = round(self.state[lane], w, K[lane]);
        }
    }

    /// Adds bytes to the stream.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.pending_len > 0 {
            let take = (32 - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < 32 {
                return;
            }
            let p = self.pending;
            self.block(&p);
            self.pending_len = 0;
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            self.block(c);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// Bytes added so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The hash of everything added so far.
    pub fn finish(&self) -> u64 {
        let mut s = self.state;
        let mut tail = [0u8; 32];
        tail[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        for (lane, v) in s.iter_mut().enumerate() {
            let w = u64::from_le_bytes(tail[lane * 8..lane * 8 + 8].try_into().unwrap_or([0; 8]));
            *v = round(*v, w, K[lane]);
        }
        let mut h = self.total.wrapping_mul(K[0]);
        for v in s {
            h = (h ^ v).wrapping_mul(K[1]).rotate_left(27);
        }
        h ^ (h >> 33)
    }
}

/// Hashes a whole buffer.
pub fn hash(data: &[u8]) -> u64 {
    let mut h = StreamHash::new();
    h.update(data);
    h.finish()
}

/// Size of the chunks [`Flow`] generates and [`expected_hash`] hashes.
pub const CHUNK: usize = 64 * 1024;

/// The hash of the first `total` bytes of the stream generated from `seed` (what a peer
/// reading a [`Flow`] of that seed should see).
pub fn expected_hash(seed: u64, total: u64) -> u64 {
    // Writing to a sink cannot fail.
    write_stream(&mut std::io::sink(), seed, total).unwrap_or_default()
}

/// Writes the first `total` bytes of the stream generated from `seed` to a blocking
/// writer; returns their hash ([`expected_hash`] of the same seed and length).
pub fn write_stream(w: &mut impl std::io::Write, seed: u64, total: u64) -> std::io::Result<u64> {
    let mut rng = XorShift::new(seed);
    let mut chunk = vec![0u8; CHUNK];
    let mut h = StreamHash::new();
    let mut left = total;
    while left > 0 {
        rng.fill(&mut chunk);
        let n = left.min(CHUNK as u64) as usize;
        w.write_all(&chunk[..n])?;
        h.update(&chunk[..n]);
        left -= n as u64;
    }
    Ok(h.finish())
}

/// One connection's transfer in both directions, without blocking: writes `out_total`
/// bytes generated from a seed (then shuts down) while reading and hashing everything up
/// to end-of-stream.
pub struct Flow {
    /// The stream.
    pub stream: tcp_mio::TcpStream,
    rng: XorShift,
    out_left: u64,
    chunk: Vec<u8>,
    chunk_off: usize,
    /// Everything was written and the write side shut down.
    pub shut: bool,
    /// Hash of everything read so far.
    pub rx: StreamHash,
    /// End-of-stream was read.
    pub eof: bool,
    buf: Vec<u8>,
}

impl Flow {
    /// A flow writing `out_total` bytes generated from `seed`.
    pub fn new(stream: tcp_mio::TcpStream, seed: u64, out_total: u64) -> Self {
        Flow {
            stream,
            rng: XorShift::new(seed),
            out_left: out_total,
            chunk: vec![0u8; CHUNK],
            chunk_off: CHUNK,
            shut: false,
            rx: StreamHash::new(),
            eof: false,
            buf: vec![0u8; CHUNK],
        }
    }

    /// Moves what it can without blocking; true when everything was written (and shut
    /// down) and everything was read up to end-of-stream.
    pub fn step(&mut self) -> std::io::Result<bool> {
        use std::io::{ErrorKind, Read, Write};
        while self.out_left > 0 {
            if self.chunk_off == CHUNK {
                self.rng.fill(&mut self.chunk);
                self.chunk_off = 0;
            }
            let end = (CHUNK as u64).min(self.chunk_off as u64 + self.out_left) as usize;
            match self.stream.write(&self.chunk[self.chunk_off..end]) {
                Ok(n) => {
                    self.chunk_off += n;
                    self.out_left -= n as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.out_left == 0 && !self.shut {
            self.stream.shutdown()?;
            self.shut = true;
        }
        while !self.eof {
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.rx.update(&self.buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(self.shut && self.eof)
    }

    /// Our FIN was acknowledged too (TIME_WAIT or CLOSED), so the stack may go away without
    /// leaving the peer waiting.
    pub fn closed(&self) -> std::io::Result<bool> {
        Ok(matches!(
            self.stream.state()?,
            tcp_core::State::TimeWait | tcp_core::State::Closed
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_does_not_depend_on_how_the_stream_is_split() {
        let mut data = vec![0u8; 1000];
        XorShift::new(7).fill(&mut data);
        let whole = hash(&data);
        for split in [1, 3, 31, 32, 33, 64, 999] {
            let mut h = StreamHash::new();
            for c in data.chunks(split) {
                h.update(c);
            }
            assert_eq!(h.finish(), whole, "split {split}");
        }
    }

    #[test]
    fn hash_detects_a_swapped_or_missing_byte() {
        let mut data = vec![0u8; 4096];
        XorShift::new(1).fill(&mut data);
        let h0 = hash(&data);
        let mut swapped = data.clone();
        swapped.swap(100, 3000);
        assert_ne!(hash(&swapped), h0);
        assert_ne!(hash(&data[..4095]), h0);
    }
}
