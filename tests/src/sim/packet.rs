//! A summary of the TCP/IP header fields the simulator looks at (scripted faults, flow
//! statistics, the time-sequence plot).
//!
//! [`TcpSummary::parse`] reads the headers with `tcp_core::wire`; the summary is a small
//! `Copy` value so that a trace of a long run stays cheap.

use std::net::IpAddr;

use tcp_core::wire;

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

    /// Parses an IPv4 or IPv6 packet carrying TCP with `tcp_core::wire`; `None` for
    /// anything else or anything malformed. The TCP checksum is not verified (corrupted
    /// payloads are still summarised; a corrupted IPv4 header fails its checksum).
    pub fn parse(packet: &[u8]) -> Option<TcpSummary> {
        let (ip, range) = wire::parse_ip_packet(packet).ok()?;
        if ip.protocol() != wire::IPPROTO_TCP {
            return None;
        }
        let segment = packet.get(range.clone())?;
        let (tcp, header_len) = wire::TcpHeader::parse(segment).ok()?;
        let mut s = TcpSummary {
            flow: FlowKey {
                src: ip.src(),
                sport: tcp.src_port,
                dst: ip.dst(),
                dport: tcp.dst_port,
            },
            seq: tcp.seq.get(),
            ack: tcp.ack.get(),
            flags: tcp.flags.bits(),
            window: tcp.window,
            payload_len: u32::try_from(segment.len() - header_len).ok()?,
            packet_len: u32::try_from(range.end).ok()?,
            mss: tcp.options.mss,
            wscale: tcp.options.window_scale,
            sack: [(0, 0); MAX_SACK],
            sack_count: 0,
        };
        for block in tcp.options.sack_blocks.iter().take(MAX_SACK) {
            s.sack[usize::from(s.sack_count)] = (block.left.get(), block.right.get());
            s.sack_count += 1;
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

    use tcp_core::SeqNum;
    use tcp_core::wire::{SackBlock, TcpFlags, TcpHeader, TcpOptions};

    fn packet(flags: u8, seq: u32, options: TcpOptions, payload: usize) -> Vec<u8> {
        let header = TcpHeader {
            src_port: 1234,
            dst_port: 80,
            seq: SeqNum::new(seq),
            flags: TcpFlags::from_bits(flags),
            window: 1000,
            options,
            ..TcpHeader::default()
        };
        let mut buf = vec![0u8; 2000];
        let n = wire::emit_ip_tcp_packet(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            &header,
            &vec![7u8; payload],
            &mut buf,
        )
        .expect("emit");
        buf.truncate(n);
        buf
    }

    #[test]
    fn parses_ipv4_syn_with_mss_wscale_and_sack_blocks() {
        let mut opts = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            ..TcpOptions::default()
        };
        opts.sack_blocks.push(SackBlock {
            left: SeqNum::new(10),
            right: SeqNum::new(20),
        });
        let p = packet(SYN | ACK, 99, opts, 0);
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
        let p = packet(ACK | FIN, 5, TcpOptions::default(), 100);
        let s = TcpSummary::parse(&p).expect("parse");
        assert_eq!(s.payload_len, 100);
        assert_eq!(s.seq_len(), 101);
        assert_eq!(s.packet_len, 140);
    }

    #[test]
    fn rejects_truncated_and_non_tcp_packets() {
        let p = packet(ACK, 5, TcpOptions::default(), 10);
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
