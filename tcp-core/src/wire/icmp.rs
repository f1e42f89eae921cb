//! ICMP and ICMPv6 error messages about TCP segments (RFC 792, RFC 4443, RFC 1122
//! §4.2.3.9, RFC 5927).
//!
//! An error message quotes the IP header and at least the first eight bytes of the
//! segment that caused it: the ports and the sequence number, which is all a TCP needs to
//! find the connection and to check that the message is about data in flight (RFC 5927
//! §4.1). [`parse_icmp_error`] reads that much and classifies the message as Linux does
//! (`icmp_err_convert`, `icmpv6_err_convert`, `tcp_v4_err`, `tcp_v6_err`).

use core::net::IpAddr;

use super::checksum::{Checksum, pseudo_header};
use super::error::WireError;
use super::ip::{IpHeader, parse_ip_packet};
use crate::seq::SeqNum;

/// IPv4 protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IPv6 next-header number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;

/// What an ICMP error says about the path, in the errno Linux reports for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IcmpProblem {
    /// Network unreachable, unknown or prohibited; ICMPv6 no route (ENETUNREACH).
    NetUnreachable,
    /// Host unreachable, prohibited or filtered, a time exceeded, an address
    /// unreachable (EHOSTUNREACH).
    HostUnreachable,
    /// Host unknown (EHOSTDOWN).
    HostDown,
    /// Source host isolated (ENONET).
    NoNetwork,
    /// Protocol unreachable (ENOPROTOOPT).
    ProtocolUnreachable,
    /// Port unreachable (ECONNREFUSED).
    PortUnreachable,
    /// Source route failed (EOPNOTSUPP).
    SourceRouteFailed,
    /// ICMPv6 administratively prohibited, policy failure, reject route (EACCES).
    Prohibited,
    /// Parameter problem (EPROTO).
    ParameterProblem,
    /// Fragmentation needed (IPv4) or packet too big (ICMPv6): the path MTU is `mtu`
    /// (RFC 1191, RFC 8201).
    PacketTooBig {
        /// The next-hop MTU the router reported (0 when it did not).
        mtu: u32,
    },
}

impl IcmpProblem {
    /// Whether the message is a hard error for a connection being opened (RFC 1122
    /// §4.2.3.9 allows aborting on these; Linux aborts in SYN-SENT on every error it
    /// converts). Only a packet too big is never one.
    pub fn is_error(self) -> bool {
        !matches!(self, IcmpProblem::PacketTooBig { .. })
    }

    /// What an ICMP (IPv4) or ICMPv6 (`ipv6`) error of `ty`/`code` says, `rest` being
    /// its second word (the next-hop MTU of a packet too big); `None` for a message TCP
    /// does not act on. [`parse_icmp_error`] uses it; adapters that learn of errors from
    /// the operating system (a UDP socket's error queue) rather than as packets build an
    /// [`IcmpError`] with it.
    pub fn from_type_code(ipv6: bool, ty: u8, code: u8, rest: u32) -> Option<IcmpProblem> {
        if ipv6 {
            classify_v6(ty, code, rest)
        } else {
            classify_v4(ty, code, rest)
        }
    }
}

/// An ICMP or ICMPv6 error about one TCP segment we sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    /// What it says.
    pub problem: IcmpProblem,
    /// The quoted segment's source: our address.
    pub local: IpAddr,
    /// The quoted segment's destination: the peer's address.
    pub remote: IpAddr,
    /// The quoted segment's source port: ours.
    pub local_port: u16,
    /// The quoted segment's destination port: the peer's.
    pub remote_port: u16,
    /// The quoted segment's sequence number.
    pub seq: SeqNum,
    /// The ICMP type and code as received (for counters and logs).
    pub type_code: (u8, u8),
}

/// Parses the ICMP (IPv4) or ICMPv6 message `body` carried in a packet with header `ip`.
/// `Ok(None)`: a valid message that is not an error about a TCP segment (echo, redirect,
/// source quench, an unknown code, an error about another protocol). The checksum is
/// verified (ICMPv6's covers the pseudo-header, RFC 4443 §2.3).
pub fn parse_icmp_error(ip: &IpHeader, body: &[u8]) -> Result<Option<IcmpError>, WireError> {
    let v6 = matches!(ip, IpHeader::V6(_));
    let [ty, code, _, _, r0, r1, r2, r3, quoted @ ..] = body else {
        return Err(WireError::Truncated);
    };
    let mut ck = if v6 {
        let len = u32::try_from(body.len()).map_err(|_| WireError::BadIpTotalLength)?;
        pseudo_header(ip.src(), ip.dst(), IPPROTO_ICMPV6, len)
    } else {
        Checksum::new()
    };
    ck.add_bytes(body);
    if ck.sum() != 0xffff {
        return Err(WireError::BadChecksum);
    }
    let rest = u32::from_be_bytes([*r0, *r1, *r2, *r3]);
    let Some(problem) = IcmpProblem::from_type_code(v6, *ty, *code, rest) else {
        return Ok(None);
    };
    // The quoted packet: its IP header, then at least 8 bytes of TCP. Its lengths are
    // those of the original packet, usually cut short, so parse the header alone.
    let (q, tcp) = parse_quoted(quoted)?;
    if q.protocol() != super::IPPROTO_TCP {
        return Ok(None);
    }
    let [s0, s1, d0, d1, q0, q1, q2, q3, ..] = tcp else {
        return Err(WireError::Truncated);
    };
    Ok(Some(IcmpError {
        problem,
        local: q.src(),
        remote: q.dst(),
        local_port: u16::from_be_bytes([*s0, *s1]),
        remote_port: u16::from_be_bytes([*d0, *d1]),
        seq: SeqNum::new(u32::from_be_bytes([*q0, *q1, *q2, *q3])),
        type_code: (*ty, *code),
    }))
}

/// The quoted IP header and what follows it.
fn parse_quoted(quoted: &[u8]) -> Result<(IpHeader, &[u8]), WireError> {
    let first = *quoted.first().ok_or(WireError::Truncated)?;
    let hlen = match first >> 4 {
        4 => usize::from(first & 0x0f) * 4,
        6 => 40,
        v => return Err(WireError::BadIpVersion(v)),
    };
    if hlen < 20 || quoted.len() < hlen + 8 {
        return Err(WireError::Truncated);
    }
    // Rewrite the quoted header's lengths to cover exactly what is here, so the header
    // parser accepts a truncated quotation (its checksum is not checked again).
    let mut hdr = [0u8; 60 + 8];
    let n = hlen + 8;
    let buf = hdr.get_mut(..n).ok_or(WireError::BadIpHeaderLength)?;
    buf.copy_from_slice(quoted.get(..n).ok_or(WireError::Truncated)?);
    if first >> 4 == 4 {
        let total = u16::try_from(n).map_err(|_| WireError::BadIpTotalLength)?;
        buf[2..4].copy_from_slice(&total.to_be_bytes());
        buf[6] &= 0x40; // DF only: no fragment offset, no MF (a quoted first fragment)
        buf[7] = 0;
        buf[10] = 0;
        buf[11] = 0;
        let mut ck = Checksum::new();
        ck.add_bytes(&buf[..hlen]);
        let sum = ck.finish();
        buf[10..12].copy_from_slice(&sum.to_be_bytes());
    } else {
        buf[4..6].copy_from_slice(&8u16.to_be_bytes());
    }
    let (q, _) = parse_ip_packet(buf)?;
    Ok((q, quoted.get(hlen..).ok_or(WireError::Truncated)?))
}

/// Linux's `icmp_err_convert` and `tcp_v4_err`.
fn classify_v4(ty: u8, code: u8, rest: u32) -> Option<IcmpProblem> {
    use IcmpProblem::*;
    match ty {
        // Destination unreachable.
        3 => Some(match code {
            0 | 6 | 9 | 11 => NetUnreachable,
            1 | 10 | 12 | 13 | 14 | 15 => HostUnreachable,
            2 => ProtocolUnreachable,
            3 => PortUnreachable,
            4 => PacketTooBig { mtu: rest & 0xffff },
            5 => SourceRouteFailed,
            7 => HostDown,
            8 => NoNetwork,
            _ => return None,
        }),
        // Time exceeded.
        11 => Some(HostUnreachable),
        // Parameter problem.
        12 => Some(ParameterProblem),
        _ => None,
    }
}

/// Linux's `icmpv6_err_convert` and `tcp_v6_err`.
fn classify_v6(ty: u8, code: u8, rest: u32) -> Option<IcmpProblem> {
    use IcmpProblem::*;
    match ty {
        1 => Some(match code {
            0 => NetUnreachable,
            1 | 5 | 6 => Prohibited,
            2 | 3 => HostUnreachable,
            4 => PortUnreachable,
            _ => return None,
        }),
        2 => Some(PacketTooBig { mtu: rest }),
        3 => Some(HostUnreachable),
        4 => Some(ParameterProblem),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IpHeader, TcpFlags, TcpHeader, emit_ip_tcp_packet};
    use alloc::vec;
    use alloc::vec::Vec;

    /// An ICMP(v6) error of `ty`/`code` quoting the first 28 (48) bytes of a SYN from
    /// `src` to `dst` with sequence number `seq`, sent by `router` to `src`.
    fn icmp(
        router: IpAddr,
        src: IpAddr,
        dst: IpAddr,
        ty: u8,
        code: u8,
        rest: u32,
        seq: u32,
    ) -> (IpHeader, Vec<u8>) {
        let syn = TcpHeader {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNum::new(seq),
            flags: TcpFlags::SYN,
            window: 1000,
            ..TcpHeader::default()
        };
        let mut pkt = vec![0u8; 100];
        let n = emit_ip_tcp_packet(src, dst, &syn, &[], &mut pkt).unwrap();
        let hlen = if src.is_ipv4() { 20 } else { 40 };
        let quoted = &pkt[..n.min(hlen + 8)];
        let mut body = vec![ty, code, 0, 0];
        body.extend_from_slice(&rest.to_be_bytes());
        body.extend_from_slice(quoted);
        let ip = IpHeader::for_tcp(router, src).unwrap();
        let mut ck = if src.is_ipv4() {
            Checksum::new()
        } else {
            pseudo_header(router, src, IPPROTO_ICMPV6, body.len() as u32)
        };
        ck.add_bytes(&body);
        let sum = ck.finish();
        body[2..4].copy_from_slice(&sum.to_be_bytes());
        (ip, body)
    }

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn port_unreachable_quoting_a_truncated_syn() {
        let (ip, body) = icmp(a("10.0.0.9"), a("10.0.0.1"), a("10.0.0.2"), 3, 3, 0, 1234);
        let e = parse_icmp_error(&ip, &body).unwrap().unwrap();
        assert_eq!(e.problem, IcmpProblem::PortUnreachable);
        assert_eq!((e.local, e.remote), (a("10.0.0.1"), a("10.0.0.2")));
        assert_eq!(
            (e.local_port, e.remote_port, e.seq),
            (40000, 80, SeqNum::new(1234))
        );
    }

    #[test]
    fn frag_needed_carries_the_mtu_and_icmpv6_too_big_its_own() {
        let (ip, body) = icmp(a("10.0.0.9"), a("10.0.0.1"), a("10.0.0.2"), 3, 4, 1400, 7);
        let e = parse_icmp_error(&ip, &body).unwrap().unwrap();
        assert_eq!(e.problem, IcmpProblem::PacketTooBig { mtu: 1400 });
        assert!(!e.problem.is_error());
        let (ip, body) = icmp(
            a("2001:db8::9"),
            a("2001:db8::1"),
            a("2001:db8::2"),
            2,
            0,
            1280,
            7,
        );
        let e = parse_icmp_error(&ip, &body).unwrap().unwrap();
        assert_eq!(e.problem, IcmpProblem::PacketTooBig { mtu: 1280 });
        let (ip, body) = icmp(
            a("2001:db8::9"),
            a("2001:db8::1"),
            a("2001:db8::2"),
            1,
            4,
            0,
            7,
        );
        assert_eq!(
            parse_icmp_error(&ip, &body).unwrap().unwrap().problem,
            IcmpProblem::PortUnreachable
        );
    }

    #[test]
    fn bad_checksums_truncations_and_other_messages() {
        let (ip, mut body) = icmp(a("10.0.0.9"), a("10.0.0.1"), a("10.0.0.2"), 11, 0, 0, 7);
        assert_eq!(
            parse_icmp_error(&ip, &body).unwrap().unwrap().problem,
            IcmpProblem::HostUnreachable
        );
        body[9] ^= 1;
        assert_eq!(parse_icmp_error(&ip, &body), Err(WireError::BadChecksum));
        let (ip, body) = icmp(a("10.0.0.9"), a("10.0.0.1"), a("10.0.0.2"), 3, 3, 0, 7);
        assert!(parse_icmp_error(&ip, &body[..body.len() - 1]).is_err());
        for n in 0..body.len() {
            let _ = parse_icmp_error(&ip, &body[..n]);
        }
        // An echo request, a redirect: not errors about a segment.
        let (ip, body) = icmp(a("10.0.0.9"), a("10.0.0.1"), a("10.0.0.2"), 8, 0, 0, 7);
        assert_eq!(parse_icmp_error(&ip, &body), Ok(None));
        let (ip, body) = icmp(a("10.0.0.9"), a("10.0.0.1"), a("10.0.0.2"), 5, 1, 0, 7);
        assert_eq!(parse_icmp_error(&ip, &body), Ok(None));
    }
}
