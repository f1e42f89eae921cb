//! Keyed hashing: SipHash-2-4, and the secrets built on it: RFC 6528 initial sequence
//! numbers, per-connection timestamp offsets, RFC 6056 ephemeral-port offsets.

use crate::seq::SeqNum;
use crate::time::Instant;
use core::net::{IpAddr, SocketAddr};

/// SipHash-2-4 of `data` under a 128-bit `key` (Aumasson & Bernstein, 2012).
pub(crate) fn siphash(key: &[u8; 16], data: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&key[..8]);
    let k0 = u64::from_le_bytes(k);
    k.copy_from_slice(&key[8..]);
    let k1 = u64::from_le_bytes(k);
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// Serializes addresses (and extra words) into a fixed buffer for hashing.
pub(crate) struct HashInput {
    buf: [u8; 64],
    len: usize,
}

impl HashInput {
    pub(crate) fn new(tag: u8) -> Self {
        let mut h = HashInput {
            buf: [0; 64],
            len: 0,
        };
        h.push(&[tag]);
        h
    }

    fn push(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(self.buf.len());
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&bytes[..n]);
        self.len = end;
    }

    pub(crate) fn ip(mut self, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => self.push(&a.octets()),
            IpAddr::V6(a) => self.push(&a.octets()),
        }
        self
    }

    pub(crate) fn port(mut self, p: u16) -> Self {
        self.push(&p.to_be_bytes());
        self
    }

    pub(crate) fn word(mut self, w: u32) -> Self {
        self.push(&w.to_be_bytes());
        self
    }

    pub(crate) fn addr(self, a: SocketAddr) -> Self {
        self.ip(a.ip()).port(a.port())
    }

    pub(crate) fn hash(&self, key: &[u8; 16]) -> u64 {
        siphash(key, &self.buf[..self.len])
    }
}

const TAG_ISN: u8 = 1;
const TAG_TS: u8 = 2;
const TAG_PORT: u8 = 3;
pub(crate) const TAG_COOKIE1: u8 = 4;
pub(crate) const TAG_COOKIE2: u8 = 5;
pub(crate) const TAG_TABLE: u8 = 6;

/// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
/// is a clock ticking every 4 µs.
pub(crate) fn isn(key: &[u8; 16], local: SocketAddr, remote: SocketAddr, now: Instant) -> SeqNum {
    let f = HashInput::new(TAG_ISN).addr(local).addr(remote).hash(key) as u32;
    let m = (now.as_micros() / 4) as u32;
    SeqNum::new(m.wrapping_add(f))
}

/// A per-connection timestamp offset (RFC 7323 §7.1, as Linux's `tsoffset`), so TSvals do
/// not reveal uptime or correlate across connections.
pub(crate) fn ts_offset(key: &[u8; 16], local: SocketAddr, remote: SocketAddr) -> u32 {
    HashInput::new(TAG_TS).addr(local).addr(remote).hash(key) as u32
}

/// RFC 6056 §3.3.3 (Algorithm 3): the per-destination offset F(local IP, remote IP,
/// remote port, secret).
pub(crate) fn port_offset(key: &[u8; 16], local_ip: IpAddr, remote: SocketAddr) -> u32 {
    HashInput::new(TAG_PORT).ip(local_ip).addr(remote).hash(key) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> [u8; 16] {
        core::array::from_fn(|i| i as u8)
    }

    #[test]
    fn siphash_matches_the_reference_vectors() {
        // From the SipHash paper / reference implementation (vectors.h): key 00..0f,
        // message 00..(n-1).
        assert_eq!(siphash(&key(), &[]), 0x726f_db47_dd0e_0e31);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        assert_eq!(siphash(&key(), &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn isns_advance_with_the_4us_clock_and_differ_per_tuple() {
        let l: SocketAddr = "192.0.2.1:80".parse().unwrap_or_else(|_| unreachable!());
        let r1: SocketAddr = "192.0.2.2:4000".parse().unwrap_or_else(|_| unreachable!());
        let r2: SocketAddr = "192.0.2.2:4001".parse().unwrap_or_else(|_| unreachable!());
        let a = isn(&key(), l, r1, Instant::from_micros(1000));
        let b = isn(&key(), l, r1, Instant::from_micros(1400));
        assert_eq!(b.since(a), 100, "M ticks every 4 µs");
        assert_ne!(isn(&key(), l, r2, Instant::from_micros(1000)), a);
        let other_key = [9u8; 16];
        assert_ne!(isn(&other_key, l, r1, Instant::from_micros(1000)), a);
    }
}
