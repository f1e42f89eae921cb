//! Builds ICMP and ICMPv6 error messages, as a router or host on the path would send them
//! (RFC 792, RFC 4443 §3): for the packetdrill runner's `< icmp` lines and the
//! simulator's links. The core only reads them (`tcp_core::wire::parse_icmp_error`).

use std::net::{IpAddr, SocketAddr};

use tcp_core::wire::{self, WireError};

/// An IP packet from `from` to `to` carrying the ICMP (IPv4) or ICMPv6 error `ty`/`code`
/// whose second word is `rest` (the next-hop MTU of a fragmentation needed sits in its
/// low 16 bits, RFC 1191 §4; a packet too big's MTU is all of it, RFC 4443 §3.2), quoting
/// `quoted` (the start of the packet the error is about). The checksum covers ICMPv6's
/// pseudo-header (RFC 4443 §2.3).
pub fn icmp_error(
    from: IpAddr,
    to: IpAddr,
    ty: u8,
    code: u8,
    rest: u32,
    quoted: &[u8],
) -> Result<Vec<u8>, WireError> {
    let v6 = to.is_ipv6();
    let mut body = vec![ty, code, 0, 0];
    body.extend_from_slice(&rest.to_be_bytes());
    body.extend_from_slice(quoted);
    let mut ck = if v6 {
        wire::pseudo_header(from, to, wire::IPPROTO_ICMPV6, body.len() as u32)
    } else {
        wire::Checksum::new()
    };
    ck.add_bytes(&body);
    let sum = ck.finish();
    body[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut outer = wire::IpHeader::for_tcp(from, to)?;
    match &mut outer {
        wire::IpHeader::V4(h) => h.protocol = wire::IPPROTO_ICMP,
        wire::IpHeader::V6(h) => h.next_header = wire::IPPROTO_ICMPV6,
    }
    let mut pkt = vec![0u8; 60 + body.len()];
    let n = wire::emit_ip_header(&outer, body.len(), &mut pkt)?;
    pkt.truncate(n);
    pkt.extend_from_slice(&body);
    Ok(pkt)
}

/// What an ICMP error quotes of a TCP segment of `len` payload bytes from `from` to `to`
/// with sequence number `seq`: its IP header and the first eight bytes of TCP (ports and
/// sequence number), as RFC 792 requires at least.
pub fn quoted_tcp(
    from: SocketAddr,
    to: SocketAddr,
    seq: u32,
    len: usize,
) -> Result<Vec<u8>, WireError> {
    let ip = wire::IpHeader::for_tcp(from.ip(), to.ip())?;
    let mut quoted = vec![0u8; 60 + 8];
    let hl = wire::emit_ip_header(&ip, 20 + len, &mut quoted)?;
    quoted.truncate(hl + 8);
    quoted[hl..hl + 2].copy_from_slice(&from.port().to_be_bytes());
    quoted[hl + 2..hl + 4].copy_from_slice(&to.port().to_be_bytes());
    quoted[hl + 4..hl + 8].copy_from_slice(&seq.to_be_bytes());
    Ok(quoted)
}

/// The "packet too big" a router with a next-hop MTU of `mtu` sends about `packet` (an
/// IPv4 or IPv6 packet it could not forward): ICMP type 3 code 4 quoting the IP header
/// and 8 bytes (RFC 792, RFC 1191), or ICMPv6 type 2 quoting as much as fits in the
/// minimum MTU (RFC 4443 §3.2). `None` if `packet` is not IP.
pub fn packet_too_big(router: IpAddr, packet: &[u8], mtu: u32) -> Option<Vec<u8>> {
    let (ip, range) = wire::parse_ip_packet(packet).ok()?;
    let hl = range.start;
    let (ty, quote) = match ip {
        wire::IpHeader::V4(_) => (3, hl + 8),
        wire::IpHeader::V6(_) => (2, 1280 - 48),
    };
    let code = u8::from(ty == 3) * 4;
    let quoted = &packet[..quote.min(packet.len())];
    icmp_error(router, ip.src(), ty, code, mtu, quoted).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_core::wire::{IcmpProblem, TcpHeader, emit_ip_tcp_packet, parse_icmp_error};

    #[test]
    fn a_packet_too_big_parses_back_to_its_mtu_and_quoted_segment() {
        for (a, b, r) in [
            ("10.0.0.1", "10.0.0.2", "10.0.0.254"),
            ("2001:db8::1", "2001:db8::2", "2001:db8::fe"),
        ] {
            let (a, b, r): (IpAddr, IpAddr, IpAddr) =
                (a.parse().unwrap(), b.parse().unwrap(), r.parse().unwrap());
            let h = TcpHeader {
                src_port: 1234,
                dst_port: 80,
                seq: tcp_core::SeqNum::new(77),
                ..TcpHeader::default()
            };
            let mut pkt = vec![0u8; 1600];
            let n = emit_ip_tcp_packet(a, b, &h, &[9u8; 1400], &mut pkt).unwrap();
            let icmp = packet_too_big(r, &pkt[..n], 1280).unwrap();
            let (ip, range) = wire::parse_ip_packet(&icmp).unwrap();
            assert_eq!((ip.src(), ip.dst()), (r, a));
            let e = parse_icmp_error(&ip, &icmp[range]).unwrap().unwrap();
            assert_eq!(e.problem, IcmpProblem::PacketTooBig { mtu: 1280 });
            assert_eq!(
                (e.local, e.remote, e.local_port, e.remote_port),
                (a, b, 1234, 80)
            );
            assert_eq!(e.seq, tcp_core::SeqNum::new(77));
        }
    }
}
