//! A summary of the TCP/IP header fields the simulator looks at (scripted faults, flow
//! statistics, the time-sequence plot).
//!
//! TEMPORARY PARSER: [`TcpSummary::parse`] is a small private IPv4/IPv6 + TCP header reader
//! written while `tcp_core::wire` is being built. Replace its body with `tcp_core::wire`
//! once that module lands; the [`TcpSummary`] type itself is what the rest of the
//! simulator uses and can stay.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP flag FIN.
pub const FIN: u8 = 0x01;
/// TCP flag SYN.
pub const SYN: u8 = 0x02;
/// TCP flag RST.
pub const RST: u8 = 0x04;
/// TCP flag PSH.
pub const PSH: u8 = 0x08;
/// TCP flag ACK.
pub const ACK: u8 = 0x10;

/// Maximum number of SACK blocks kept in a summary (a TCP header holds at most 4).
pub const MAX_SACK: usize = 4;

/// One direction of a TCP connection: who sends to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    /// Source address.
    pub src: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dport: u16,
}

impl FlowKey {
    /// The opposite direction of the same connection.
    pub fn reverse(self) -> FlowKey {
        FlowKey {
            src: self.dst,
            sport: self.dport,
            dst: self.src,
            dport: self.sport,
        }
    }
}

/// The header fields of one TCP/IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSummary {
    /// Addresses and ports.
    pub flow: FlowKey,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when `flags & ACK`).
    pub ack: u32,
    /// Flag bits (`FIN`, `SYN`, `RST`, `PSH`, `ACK`, ...).
    pub flags: u8,
    /// Advertised window, unscaled as on the wire.
    pub window: u16,
    /// TCP payload length in bytes.
    pub payload_len: u32,
    /// Length of the whole IP packet in bytes.
    pub packet_len: u32,
    /// MSS option, if present.
    pub mss: Option<u16>,
    /// Window-scale option, if present.
    pub wscale: Option<u8>,
    /// SACK blocks `(left, right)`; the first `sack_count` are valid.
    pub sack: [(u32, u32); MAX_SACK],
    /// Number of valid entries in `sack`.
    pub sack_count: u8,
}

impl TcpSummary {
    /// Whether a flag bit is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space occupied: payload plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload_len + u32::from(self.has(SYN)) + u32::from(self.has(FIN))
    }

    /// The valid SACK blocks.
    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        &self.sack[..usize::from(self.sack_count)]
    }

    /// Parses an IPv4 or IPv6 packet carrying TCP; `None` for anything else or anything
    /// truncated. Checksums are not verified (corrupted packets are still summarised).
    pub fn parse(packet: &[u8]) -> Option<TcpSummary> {
        let version = packet.first()? >> 4;
        let (src, dst, tcp, packet_len) = match version {
            4 => {
                let ihl = usize::from(packet[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
                if ihl < 20 || total < ihl || packet.len() < total || packet[9] != 6 {
                    return None;
                }
                let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
                let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
                (IpAddr::V4(src), IpAddr::V4(dst), &packet[ihl..total], total)
            }
            6 => {
                if packet.len() < 40 || packet[6] != 6 {
                    return None;
                }
                let payload = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
                let total = 40 + payload;
                if packet.len() < total {
                    return None;
                }
                let src: [u8; 16] = packet[8..24].try_into().ok()?;
                let dst: [u8; 16] = packet[24..40].try_into().ok()?;
                (
                    IpAddr::V6(Ipv6Addr::from(src)),
                    IpAddr::V6(Ipv6Addr::from(dst)),
                    &packet[40..total],
                    total,
                )
            }
            _ => return None,
        };
        if tcp.len() < 20 {
            return None;
        }
        let be16 = |i: usize| u16::from_be_bytes([tcp[i], tcp[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([tcp[i], tcp[i + 1], tcp[i + 2], tcp[i + 3]]);
        let data_off = usize::from(tcp[12] >> 4) * 4;
        if data_off < 20 || data_off > tcp.len() {
            return None;
        }
        let mut s = TcpSummary {
            flow: FlowKey {
                src,
                sport: be16(0),
                dst,
                dport: be16(2),
            },
            seq: be32(4),
            ack: be32(8),
            flags: tcp[13],
            window: be16(14),
            payload_len: u32::try_from(tcp.len() - data_off).ok()?,
            packet_len: u32::try_from(packet_len).ok()?,
            mss: None,
            wscale: None,
            sack: [(0, 0); MAX_SACK],
            sack_count: 0,
        };
        let mut opts = &tcp[20..data_off];
        while let Some(&kind) = opts.first() {
            match kind {
                0 => break,
                1 => opts = &opts[1..],
                _ => {
                    let len = usize::from(*opts.get(1)?);
                    if len < 2 || len > opts.len() {
                        break;
                    }
                    let body = &opts[2..len];
                    match (kind, body.len()) {
                        (2, 2) => s.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                        (3, 1) => s.wscale = Some(body[0]),
                        (5, n) if n % 8 == 0 => {
                            for block in body.chunks_exact(8).take(MAX_SACK) {
                                let l =
                                    u32::from_be_bytes([block[0], block[1], block[2], block[3]]);
                                let r =
                                    u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                                s.sack[usize::from(s.sack_count)] = (l, r);
                                s.sack_count += 1;
                            }
                        }
                        _ => {}
                    }
                    opts = &opts[len..];
                }
            }
        }
        Some(s)
    }
}

/// `a < b` in 32-bit serial-number arithmetic.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(flags: u8, seq: u32, options: &[u8], payload: usize) -> Vec<u8> {
        let tcp_len = 20 + options.len() + payload;
        let total = 20 + tcp_len;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&1234u16.to_be_bytes());
        t[2..4].copy_from_slice(&80u16.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[12] = (((20 + options.len()) / 4) as u8) << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&1000u16.to_be_bytes());
        t[20..20 + options.len()].copy_from_slice(options);
        p
    }

    #[test]
    fn parses_ipv4_syn_with_mss_wscale_and_sack_blocks() {
        let opts = [
            2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 5, 10, 0, 0, 0, 10, 0, 0, 0, 20,
        ];
        let p = ipv4_tcp(SYN | ACK, 99, &opts, 0);
        let s = TcpSummary::parse(&p).expect("parse");
        assert_eq!(s.flow.sport, 1234);
        assert_eq!(s.flow.dport, 80);
        assert_eq!(s.seq, 99);
        assert!(s.has(SYN) && s.has(ACK) && !s.has(FIN));
        assert_eq!(s.mss, Some(1460));
        assert_eq!(s.wscale, Some(7));
        assert_eq!(s.sack_blocks(), &[(10, 20)]);
        assert_eq!(s.seq_len(), 1);
    }

    #[test]
    fn payload_length_excludes_headers() {
        let p = ipv4_tcp(ACK | FIN, 5, &[], 100);
        let s = TcpSummary::parse(&p).expect("parse");
        assert_eq!(s.payload_len, 100);
        assert_eq!(s.seq_len(), 101);
        assert_eq!(s.packet_len, 140);
    }

    #[test]
    fn rejects_truncated_and_non_tcp_packets() {
        let p = ipv4_tcp(ACK, 5, &[], 10);
        assert!(TcpSummary::parse(&p[..30]).is_none());
        let mut udp = p.clone();
        udp[9] = 17;
        assert!(TcpSummary::parse(&udp).is_none());
        assert!(TcpSummary::parse(&[]).is_none());
    }

    #[test]
    fn serial_comparison_wraps() {
        assert!(seq_lt(u32::MAX, 0));
        assert!(!seq_lt(0, u32::MAX));
        assert!(seq_lt(1, 2));
    }
}
