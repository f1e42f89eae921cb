//! SYN cookies (RFC 4987 §3.6), encoded as Linux does: the ISN carries a keyed hash of the
//! 4-tuple, a minute counter and an MSS index; when the peer sent timestamps, the low bits
//! of our TSval carry its window-scale shift and SACK-permitted flag, echoed back in TSecr.

use super::hash::{HashInput, TAG_COOKIE1, TAG_COOKIE2};
use super::table::FourTuple;
use crate::seq::SeqNum;
use crate::time::Instant;

/// MSS values a cookie can encode (Linux's `msstab` for IPv4); the largest not above the
/// peer's MSS is chosen.
pub(crate) const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];
/// Cookies older than this many minute ticks are refused (Linux: MAX_SYNCOOKIE_AGE = 2).
const MAX_AGE: u32 = 2;
const COUNT_BITS: u32 = 8;
const DATA_MASK: u32 = 0x00ff_ffff;

/// Bits of TSval used for options (Linux's TSBITS / TSMASK).
pub(crate) const TS_OPT_BITS: u32 = 6;
const TS_OPT_MASK: u32 = (1 << TS_OPT_BITS) - 1;
/// Window-scale field value meaning "no window scaling".
const WS_NONE: u32 = 0xf;
const TS_SACK: u32 = 0x10;
/// The SYN asked for ECN and we agreed (Linux's `TS_OPT_ECN`).
const TS_ECN: u32 = 0x20;

/// The options a cookie SYN-ACK agreed to, kept in the low bits of its TSval (Linux's
/// `cookie_init_timestamp`) and recovered from the final ACK's TSecr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TsOptions {
    /// The peer's window-scale shift, if both sides scale.
    pub wscale: Option<u8>,
    /// SACK permitted.
    pub sack: bool,
    /// ECN agreed (RFC 3168 §6.1.1).
    pub ecn: bool,
}

fn minute(now: Instant) -> u32 {
    (now.as_micros() / 60_000_000) as u32
}

fn h1(key: &[u8; 16], t: &FourTuple) -> u32 {
    HashInput::new(TAG_COOKIE1)
        .addr(t.local)
        .addr(t.remote)
        .hash(key) as u32
}

/// Unlike Linux, the peer's ISN is hashed here too, so a final ACK whose sequence number is
/// off by a little does not decode to a neighbouring MSS index.
fn h2(key: &[u8; 16], t: &FourTuple, count: u32, peer_isn: u32) -> u32 {
    HashInput::new(TAG_COOKIE2)
        .addr(t.local)
        .addr(t.remote)
        .word(count)
        .word(peer_isn)
        .hash(key) as u32
}

/// The MSS-table index for a peer MSS.
pub(crate) fn mss_index(peer_mss: u16) -> u32 {
    MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0) as u32
}

/// Our ISN for a cookie SYN-ACK answering a SYN with sequence number `peer_isn`.
pub(crate) fn make(
    key: &[u8; 16],
    t: &FourTuple,
    peer_isn: SeqNum,
    now: Instant,
    mss_idx: u32,
) -> SeqNum {
    let count = minute(now);
    let v = h1(key, t)
        .wrapping_add(peer_isn.get())
        .wrapping_add(count << (32 - COUNT_BITS))
        .wrapping_add(h2(key, t, count, peer_isn.get()).wrapping_add(mss_idx) & DATA_MASK);
    SeqNum::new(v)
}

/// Checks the cookie in a final ACK (`ack - 1` is our ISN, `seq - 1` the peer's); returns
/// the encoded MSS on success.
pub(crate) fn check(
    key: &[u8; 16],
    t: &FourTuple,
    seq: SeqNum,
    ack: SeqNum,
    now: Instant,
) -> Option<u16> {
    let cookie = (ack - 1).get();
    let peer_isn = (seq - 1).get();
    let v = cookie.wrapping_sub(h1(key, t)).wrapping_sub(peer_isn);
    let count = minute(now);
    let age = count.wrapping_sub(v >> (32 - COUNT_BITS)) & ((1 << COUNT_BITS) - 1);
    if age >= MAX_AGE {
        return None;
    }
    let then = count.wrapping_sub(age);
    let data = v.wrapping_sub(h2(key, t, then, peer_isn)) & DATA_MASK;
    MSS_TABLE.get(data as usize).copied()
}

/// Our TSval for a cookie SYN-ACK: the clock with the low bits replaced by the options
/// (never ahead of the clock).
pub(crate) fn encode_ts(ts_now: u32, o: TsOptions) -> u32 {
    let mut opts = o.wscale.map_or(WS_NONE, |w| u32::from(w.min(14)));
    if o.sack {
        opts |= TS_SACK;
    }
    if o.ecn {
        opts |= TS_ECN;
    }
    let mut v = (ts_now & !TS_OPT_MASK) | opts;
    if v.wrapping_sub(ts_now) as i32 > 0 {
        v = v.wrapping_sub(1 << TS_OPT_BITS);
    }
    v
}

/// Options recovered from the TSecr of a final ACK (Linux's `cookie_timestamp_decode`,
/// `cookie_ecn_ok`).
pub(crate) fn decode_ts(ecr: u32) -> TsOptions {
    let ws = ecr & 0xf;
    TsOptions {
        wscale: (ws != WS_NONE).then_some(ws as u8),
        sack: ecr & TS_SACK != 0,
        ecn: ecr & TS_ECN != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::SocketAddr;

    fn t(port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::from(([192, 0, 2, 1], 80)),
            remote: SocketAddr::from(([192, 0, 2, 9], port)),
        }
    }

    const KEY: [u8; 16] = [7; 16];

    #[test]
    fn a_cookie_validates_and_returns_the_encoded_mss() {
        let now = Instant::from_secs(1_000);
        let peer = SeqNum::new(12345);
        let c = make(&KEY, &t(5000), peer, now, mss_index(1400));
        assert_eq!(check(&KEY, &t(5000), peer + 1, c + 1, now), Some(1300));
        let later = now + crate::time::Duration::from_secs(70);
        assert_eq!(
            check(&KEY, &t(5000), peer + 1, c + 1, later),
            Some(1300),
            "one minute old is fine"
        );
    }

    #[test]
    fn a_cookie_fails_for_another_tuple_a_wrong_seq_or_when_too_old() {
        let now = Instant::from_secs(1_000);
        let peer = SeqNum::new(999);
        let c = make(&KEY, &t(5000), peer, now, 3);
        assert_eq!(check(&KEY, &t(5001), peer + 1, c + 1, now), None);
        assert_eq!(check(&KEY, &t(5000), peer + 2, c + 1, now), None);
        assert_eq!(check(&[8; 16], &t(5000), peer + 1, c + 1, now), None);
        let old = now + crate::time::Duration::from_secs(180);
        assert_eq!(check(&KEY, &t(5000), peer + 1, c + 1, old), None);
    }

    #[test]
    fn timestamp_bits_carry_window_scale_sack_and_ecn() {
        let all = TsOptions {
            wscale: Some(7),
            sack: true,
            ecn: true,
        };
        let v = encode_ts(1_000_000, all);
        assert!(v <= 1_000_000);
        assert_eq!(decode_ts(v), all);
        let none = TsOptions::default();
        assert_eq!(decode_ts(encode_ts(5_000, none)), none);
        let ecn_only = TsOptions { ecn: true, ..none };
        assert_eq!(decode_ts(encode_ts(5_000, ecn_only)), ecn_only);
    }

    #[test]
    fn mss_index_picks_the_largest_entry_not_above_the_peer_mss() {
        assert_eq!(MSS_TABLE[mss_index(1460) as usize], 1460);
        assert_eq!(MSS_TABLE[mss_index(1459) as usize], 1440);
        assert_eq!(MSS_TABLE[mss_index(100) as usize], 536);
    }
}
