//! The TCP header (RFC 9293 §3.1): flags, parse and emit, whole segments with checksum.

use core::fmt;
use core::net::IpAddr;
use core::ops::{BitAnd, BitOr, BitOrAssign, Range};

use super::checksum::{pseudo_header, verify_tcp_checksum};
use super::options::TcpOptions;
use super::{IPPROTO_TCP, WireError};
use crate::seq::SeqNum;

/// The eight TCP control bits (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR).
///
/// `Debug` and `Display` print tcpdump-style letters in tcpdump's order
/// (`F S R P . U E W`, `.` for ACK): `S.` for SYN-ACK, `P.` for PSH-ACK, `R` for RST,
/// `none` when empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// No flags.
    pub const fn empty() -> Self {
        TcpFlags(0)
    }

    /// The flags byte as on the wire (header byte 13).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Flags from the wire byte.
    pub const fn from_bits(bits: u8) -> Self {
        TcpFlags(bits)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        // tcpdump's print-tcp.c tcp_flag_values order.
        const LETTERS: [(TcpFlags, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        for (flag, letter) in LETTERS {
            if self.contains(flag) {
                fmt::Write::write_char(f, letter)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A decoded TCP header (RFC 9293 §3.1) without its checksum.
///
/// The four reserved bits of byte 12 are ignored when parsing and emitted as zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (meaningful when `ACK` is set).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window field, unscaled as on the wire.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
}

impl TcpHeader {
    /// Length of a header without options.
    pub const MIN_LEN: usize = 20;

    /// Parses the header at the start of `segment` without checking the checksum.
    /// Returns the header and its length in bytes (data offset × 4).
    #[inline]
    pub fn parse(segment: &[u8]) -> Result<(TcpHeader, usize), WireError> {
        let (fixed, _) = segment
            .split_first_chunk::<{ Self::MIN_LEN }>()
            .ok_or(WireError::Truncated)?;
        let [
            sp0,
            sp1,
            dp0,
            dp1,
            s0,
            s1,
            s2,
            s3,
            a0,
            a1,
            a2,
            a3,
            off,
            flags,
            w0,
            w1,
            _ck0,
            _ck1,
            u0,
            u1,
        ] = *fixed;
        let data_offset = off >> 4;
        let header_len = usize::from(data_offset) * 4;
        // RFC 9293 §3.1: the data offset counts 32-bit words, at least 5.
        if data_offset < 5 || header_len > segment.len() {
            return Err(WireError::BadDataOffset(data_offset));
        }
        let raw_options = segment
            .get(Self::MIN_LEN..header_len)
            .ok_or(WireError::BadDataOffset(data_offset))?;
        let options = TcpOptions::parse(raw_options)?;
        let header = TcpHeader {
            src_port: u16::from_be_bytes([sp0, sp1]),
            dst_port: u16::from_be_bytes([dp0, dp1]),
            seq: SeqNum::new(u32::from_be_bytes([s0, s1, s2, s3])),
            ack: SeqNum::new(u32::from_be_bytes([a0, a1, a2, a3])),
            flags: TcpFlags::from_bits(flags),
            window: u16::from_be_bytes([w0, w1]),
            urgent: u16::from_be_bytes([u0, u1]),
            options,
        };
        Ok((header, header_len))
    }

    /// Bytes [`emit`](Self::emit) writes: 20 plus the options' encoded length.
    #[allow(clippy::len_without_is_empty, reason = "a header is never empty")]
    pub const fn len(&self) -> usize {
        Self::MIN_LEN + self.options.encoded_len()
    }

    /// Writes the header (checksum field zero) at the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let opt_len = self.options.encoded_len();
        if opt_len > TcpOptions::MAX_LEN {
            return Err(WireError::OptionsTooLong { len: opt_len });
        }
        let len = Self::MIN_LEN + opt_len;
        let available = buf.len();
        let Some((fixed, rest)) = buf
            .get_mut(..len)
            .and_then(|b| b.split_first_chunk_mut::<{ Self::MIN_LEN }>())
        else {
            return Err(WireError::BufferTooSmall {
                needed: len,
                available,
            });
        };
        let [sp0, sp1] = self.src_port.to_be_bytes();
        let [dp0, dp1] = self.dst_port.to_be_bytes();
        let [s0, s1, s2, s3] = self.seq.get().to_be_bytes();
        let [a0, a1, a2, a3] = self.ack.get().to_be_bytes();
        let [w0, w1] = self.window.to_be_bytes();
        let [u0, u1] = self.urgent.to_be_bytes();
        // len <= 60, so len / 4 <= 15 fits the 4-bit data offset.
        let off = ((len / 4) as u8) << 4;
        *fixed = [
            sp0,
            sp1,
            dp0,
            dp1,
            s0,
            s1,
            s2,
            s3,
            a0,
            a1,
            a2,
            a3,
            off,
            self.flags.bits(),
            w0,
            w1,
            0,
            0,
            u0,
            u1,
        ];
        self.options.emit(rest)?;
        Ok(len)
    }
}

/// The raw options area of a TCP segment (the header bytes after the first 20), for
/// [`options_iter`](super::options_iter).
pub fn raw_tcp_options(segment: &[u8]) -> Result<&[u8], WireError> {
    let off = *segment.get(12).ok_or(WireError::Truncated)?;
    if segment.len() < TcpHeader::MIN_LEN {
        return Err(WireError::Truncated);
    }
    let data_offset = off >> 4;
    if data_offset < 5 {
        return Err(WireError::BadDataOffset(data_offset));
    }
    segment
        .get(TcpHeader::MIN_LEN..usize::from(data_offset) * 4)
        .ok_or(WireError::BadDataOffset(data_offset))
}

fn check_families(src: IpAddr, dst: IpAddr) -> Result<(), WireError> {
    if src.is_ipv4() == dst.is_ipv4() {
        Ok(())
    } else {
        Err(WireError::AddressFamilyMismatch)
    }
}

/// Parses a whole TCP segment received from `src` for `dst`: verifies the checksum
/// (RFC 9293 §3.1), decodes the header and returns the payload's range in `segment`.
pub fn parse_tcp_segment(
    src: IpAddr,
    dst: IpAddr,
    segment: &[u8],
) -> Result<(TcpHeader, Range<usize>), WireError> {
    parse_segment(src, dst, segment, true)
}

/// [`parse_tcp_segment`] for a segment whose checksum the receiving device already
/// verified (receive checksum offload): everything but the checksum is checked.
pub fn parse_tcp_segment_offloaded(
    src: IpAddr,
    dst: IpAddr,
    segment: &[u8],
) -> Result<(TcpHeader, Range<usize>), WireError> {
    parse_segment(src, dst, segment, false)
}

fn parse_segment(
    src: IpAddr,
    dst: IpAddr,
    segment: &[u8],
    verify: bool,
) -> Result<(TcpHeader, Range<usize>), WireError> {
    check_families(src, dst)?;
    if segment.len() < TcpHeader::MIN_LEN {
        return Err(WireError::Truncated);
    }
    if verify && !verify_tcp_checksum(src, dst, segment) {
        return Err(WireError::BadChecksum);
    }
    let (header, header_len) = TcpHeader::parse(segment)?;
    Ok((header, header_len..segment.len()))
}

/// Writes `header`, `payload` and the checksum for `src` → `dst` (RFC 9293 §3.1) at the
/// start of `buf`; returns the segment length. The payload is copied and summed in one
/// pass.
pub fn emit_tcp_segment(
    header: &TcpHeader,
    payload: &[u8],
    src: IpAddr,
    dst: IpAddr,
    buf: &mut [u8],
) -> Result<usize, WireError> {
    check_families(src, dst)?;
    let total = header.len() + payload.len();
    let available = buf.len();
    let Some(out) = buf.get_mut(..total) else {
        return Err(WireError::BufferTooSmall {
            needed: total,
            available,
        });
    };
    let header_len = header.emit(out)?;
    let len = u32::try_from(total).map_err(|_| WireError::PayloadTooLong { len: total })?;
    let mut ck = pseudo_header(src, dst, IPPROTO_TCP, len);
    let (hdr, body) = out
        .split_at_mut_checked(header_len)
        .ok_or(WireError::BufferTooSmall {
            needed: total,
            available,
        })?;
    ck.add_bytes(hdr);
    ck.copy_and_add(body, payload)?;
    if let Some(field) = hdr.get_mut(16..18) {
        field.copy_from_slice(&ck.finish().to_be_bytes());
    }
    Ok(total)
}
