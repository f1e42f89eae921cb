//! Minimal IPv4 (RFC 791) and IPv6 (RFC 8200) framing for the adapters.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ops::Range;

use super::checksum::Checksum;
use super::tcp::{TcpHeader, emit_tcp_segment, parse_tcp_segment};
use super::{IPPROTO_TCP, WireError};

/// IPv6 next-header value: hop-by-hop options (RFC 8200 §4.3).
const IPV6_HOP_BY_HOP: u8 = 0;
/// IPv6 next-header value: routing header (RFC 8200 §4.4).
const IPV6_ROUTING: u8 = 43;
/// IPv6 next-header value: fragment header (RFC 8200 §4.5).
const IPV6_FRAGMENT: u8 = 44;
/// IPv6 next-header value: encapsulating security payload (RFC 4303).
const IPV6_ESP: u8 = 50;
/// IPv6 next-header value: authentication header (RFC 4302).
const IPV6_AH: u8 = 51;
/// IPv6 next-header value: destination options (RFC 8200 §4.6).
const IPV6_DEST_OPTS: u8 = 60;
/// IPv6 next-header values of other extension headers (RFC 7045 §2: mobility, HIP,
/// shim6, experimental).
const IPV6_OTHER_EXT: [u8; 5] = [135, 139, 140, 253, 254];

/// TTL / hop limit used by [`emit_ip_tcp_packet`] (Linux's default `ip_default_ttl`).
pub const DEFAULT_TTL: u8 = 64;

/// An IPv4 header (RFC 791 §3.1). Options are skipped when parsing and never emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Transport protocol (6 for TCP).
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// The type-of-service byte: DSCP (high 6 bits) and ECN (low 2 bits, RFC 3168).
    pub dscp_ecn: u8,
    /// Identification field.
    pub ident: u16,
    /// The don't-fragment flag.
    pub dont_fragment: bool,
}

impl Ipv4Header {
    /// Length of a header without options.
    pub const LEN: usize = 20;
}

/// An IPv6 fixed header (RFC 8200 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Header {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The upper-layer protocol: after parsing, the next header that follows any skipped
    /// hop-by-hop / destination options headers; when emitting, written as is.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class: DSCP and ECN.
    pub traffic_class: u8,
    /// Flow label (20 bits; higher bits are ignored when emitting).
    pub flow_label: u32,
}

impl Ipv6Header {
    /// Length of the fixed header.
    pub const LEN: usize = 40;
}

/// An IPv4 or IPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpHeader {
    /// IPv4.
    V4(Ipv4Header),
    /// IPv6.
    V6(Ipv6Header),
}

/// The ECN field of an IP header (RFC 3168 §5): the low two bits of the IPv4 TOS byte
/// or the IPv6 traffic class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IpEcn {
    /// `00`: not ECN-capable transport.
    #[default]
    NotEct,
    /// `01`: ECT(1).
    Ect1,
    /// `10`: ECT(0), what an ECN-capable TCP sends (RFC 3168 §6.1.2).
    Ect0,
    /// `11`: congestion experienced, set by a router instead of dropping.
    Ce,
}

impl IpEcn {
    /// The codepoint of a TOS or traffic-class byte.
    pub fn from_tos(tos: u8) -> Self {
        match tos & 3 {
            0 => IpEcn::NotEct,
            1 => IpEcn::Ect1,
            2 => IpEcn::Ect0,
            _ => IpEcn::Ce,
        }
    }

    /// The two bits of the codepoint.
    pub fn bits(self) -> u8 {
        match self {
            IpEcn::NotEct => 0,
            IpEcn::Ect1 => 1,
            IpEcn::Ect0 => 2,
            IpEcn::Ce => 3,
        }
    }
}

impl IpHeader {
    /// The ECN codepoint (RFC 3168 §5).
    pub fn ecn(&self) -> IpEcn {
        match self {
            IpHeader::V4(h) => IpEcn::from_tos(h.dscp_ecn),
            IpHeader::V6(h) => IpEcn::from_tos(h.traffic_class),
        }
    }

    /// Sets the ECN codepoint, keeping the DSCP.
    pub fn set_ecn(&mut self, ecn: IpEcn) {
        match self {
            IpHeader::V4(h) => h.dscp_ecn = (h.dscp_ecn & !3) | ecn.bits(),
            IpHeader::V6(h) => h.traffic_class = (h.traffic_class & !3) | ecn.bits(),
        }
    }

    /// Source address.
    pub fn src(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.src),
            IpHeader::V6(h) => IpAddr::V6(h.src),
        }
    }

    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.dst),
            IpHeader::V6(h) => IpAddr::V6(h.dst),
        }
    }

    /// Transport protocol (IPv4 protocol, IPv6 upper-layer next header).
    pub fn protocol(&self) -> u8 {
        match self {
            IpHeader::V4(h) => h.protocol,
            IpHeader::V6(h) => h.next_header,
        }
    }

    /// Bytes [`emit_ip_header`] writes: 20 for IPv4, 40 for IPv6.
    #[allow(clippy::len_without_is_empty, reason = "a header is never empty")]
    pub fn len(&self) -> usize {
        match self {
            IpHeader::V4(_) => Ipv4Header::LEN,
            IpHeader::V6(_) => Ipv6Header::LEN,
        }
    }

    /// The header [`emit_ip_tcp_packet`] uses: TCP, TTL / hop limit 64, DF set for IPv4,
    /// everything else zero.
    pub fn for_tcp(src: IpAddr, dst: IpAddr) -> Result<IpHeader, WireError> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Ok(IpHeader::V4(Ipv4Header {
                src,
                dst,
                protocol: IPPROTO_TCP,
                ttl: DEFAULT_TTL,
                dscp_ecn: 0,
                ident: 0,
                dont_fragment: true,
            })),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Ok(IpHeader::V6(Ipv6Header {
                src,
                dst,
                next_header: IPPROTO_TCP,
                hop_limit: DEFAULT_TTL,
                traffic_class: 0,
                flow_label: 0,
            })),
            _ => Err(WireError::AddressFamilyMismatch),
        }
    }
}

/// Parses an IPv4 or IPv6 packet. Returns the header and the range of the transport
/// payload in `packet`, as given by the total / payload length (trailing bytes such as
/// link-layer padding are excluded).
///
/// IPv4 (RFC 791 §3.1): checks version, IHL (options are skipped), total length and the
/// header checksum; fragments (MF set or offset non-zero) give [`WireError::Fragmented`].
/// IPv6 (RFC 8200): hop-by-hop and destination options headers are skipped; a fragment
/// header gives [`WireError::Fragmented`], any other extension header
/// [`WireError::UnsupportedExtensionHeader`].
pub fn parse_ip_packet(packet: &[u8]) -> Result<(IpHeader, Range<usize>), WireError> {
    let first = *packet.first().ok_or(WireError::Truncated)?;
    match first >> 4 {
        4 => parse_ipv4(packet),
        6 => parse_ipv6(packet),
        v => Err(WireError::BadIpVersion(v)),
    }
}

fn parse_ipv4(packet: &[u8]) -> Result<(IpHeader, Range<usize>), WireError> {
    let (fixed, _) = packet
        .split_first_chunk::<{ Ipv4Header::LEN }>()
        .ok_or(WireError::Truncated)?;
    let [
        ver_ihl,
        tos,
        tl0,
        tl1,
        id0,
        id1,
        fl0,
        fl1,
        ttl,
        protocol,
        _ck0,
        _ck1,
        s0,
        s1,
        s2,
        s3,
        d0,
        d1,
        d2,
        d3,
    ] = *fixed;
    // RFC 791 §3.1: IHL counts 32-bit words, at least 5.
    let header_len = usize::from(ver_ihl & 0x0f) * 4;
    if header_len < Ipv4Header::LEN {
        return Err(WireError::BadIpHeaderLength);
    }
    let header = packet
        .get(..header_len)
        .ok_or(WireError::BadIpHeaderLength)?;
    let total_len = usize::from(u16::from_be_bytes([tl0, tl1]));
    if total_len < header_len || total_len > packet.len() {
        return Err(WireError::BadIpTotalLength);
    }
    // RFC 791 §3.1: the header checksum covers the header only.
    let mut ck = Checksum::new();
    ck.add_bytes(header);
    if ck.finish() != 0 {
        return Err(WireError::BadIpHeaderChecksum);
    }
    let flags_frag = u16::from_be_bytes([fl0, fl1]);
    let more_fragments = flags_frag & 0x2000 != 0;
    let frag_offset = flags_frag & 0x1fff;
    if more_fragments || frag_offset != 0 {
        return Err(WireError::Fragmented);
    }
    let ip = Ipv4Header {
        src: Ipv4Addr::new(s0, s1, s2, s3),
        dst: Ipv4Addr::new(d0, d1, d2, d3),
        protocol,
        ttl,
        dscp_ecn: tos,
        ident: u16::from_be_bytes([id0, id1]),
        dont_fragment: flags_frag & 0x4000 != 0,
    };
    Ok((IpHeader::V4(ip), header_len..total_len))
}

fn parse_ipv6(packet: &[u8]) -> Result<(IpHeader, Range<usize>), WireError> {
    let (fixed, _) = packet
        .split_first_chunk::<{ Ipv6Header::LEN }>()
        .ok_or(WireError::Truncated)?;
    let (first8, addrs) = fixed.split_first_chunk::<8>().ok_or(WireError::Truncated)?;
    let (src, dst) = addrs
        .split_first_chunk::<16>()
        .ok_or(WireError::Truncated)?;
    let dst = dst.first_chunk::<16>().ok_or(WireError::Truncated)?;
    let [v0, v1, v2, v3, pl0, pl1, next, hop_limit] = *first8;
    let vtf = u32::from_be_bytes([v0, v1, v2, v3]);
    let payload_len = usize::from(u16::from_be_bytes([pl0, pl1]));
    let end = Ipv6Header::LEN + payload_len;
    // RFC 8200 §3: the payload length counts everything after the fixed header. A
    // zero length with a jumbo payload option (RFC 2675) is not supported.
    if end > packet.len() {
        return Err(WireError::BadIpTotalLength);
    }
    let mut next_header = next;
    let mut start = Ipv6Header::LEN;
    loop {
        match next_header {
            // RFC 8200 §4.3, §4.6: skip options headers by their length.
            IPV6_HOP_BY_HOP | IPV6_DEST_OPTS => {
                let ext = packet.get(start..end).ok_or(WireError::BadIpTotalLength)?;
                let [nh, ext_len, ..] = *ext else {
                    return Err(WireError::BadIpTotalLength);
                };
                let ext_bytes = (usize::from(ext_len) + 1) * 8;
                if ext_bytes > ext.len() {
                    return Err(WireError::BadIpTotalLength);
                }
                next_header = nh;
                start += ext_bytes;
            }
            IPV6_FRAGMENT => return Err(WireError::Fragmented),
            IPV6_ROUTING | IPV6_ESP | IPV6_AH => {
                return Err(WireError::UnsupportedExtensionHeader(next_header));
            }
            n if IPV6_OTHER_EXT.contains(&n) => {
                return Err(WireError::UnsupportedExtensionHeader(n));
            }
            _ => break,
        }
    }
    let ip = Ipv6Header {
        src: Ipv6Addr::from(*src),
        dst: Ipv6Addr::from(*dst),
        next_header,
        hop_limit,
        traffic_class: ((vtf >> 20) & 0xff) as u8,
        flow_label: vtf & 0x000f_ffff,
    };
    Ok((IpHeader::V6(ip), start..end))
}

/// Writes the IP header for a transport payload of `payload_len` bytes at the start of
/// `buf`; returns the header length. IPv4 headers get no options and a correct header
/// checksum (RFC 791 §3.1); IPv6 gets the fixed header only (RFC 8200 §3).
pub fn emit_ip_header(
    ip: &IpHeader,
    payload_len: usize,
    buf: &mut [u8],
) -> Result<usize, WireError> {
    let available = buf.len();
    let too_small = |needed| WireError::BufferTooSmall { needed, available };
    match ip {
        IpHeader::V4(h) => {
            let total = Ipv4Header::LEN + payload_len;
            let total =
                u16::try_from(total).map_err(|_| WireError::PayloadTooLong { len: payload_len })?;
            let out = buf
                .first_chunk_mut::<{ Ipv4Header::LEN }>()
                .ok_or(too_small(Ipv4Header::LEN))?;
            let [tl0, tl1] = total.to_be_bytes();
            let [id0, id1] = h.ident.to_be_bytes();
            let fl0 = if h.dont_fragment { 0x40 } else { 0 };
            let [s0, s1, s2, s3] = h.src.octets();
            let [d0, d1, d2, d3] = h.dst.octets();
            *out = [
                0x45, h.dscp_ecn, tl0, tl1, id0, id1, fl0, 0, h.ttl, h.protocol, 0, 0, s0, s1, s2,
                s3, d0, d1, d2, d3,
            ];
            let mut ck = Checksum::new();
            ck.add_bytes(out);
            if let Some(field) = out.get_mut(10..12) {
                field.copy_from_slice(&ck.finish().to_be_bytes());
            }
            Ok(Ipv4Header::LEN)
        }
        IpHeader::V6(h) => {
            let pl = u16::try_from(payload_len)
                .map_err(|_| WireError::PayloadTooLong { len: payload_len })?;
            let out = buf
                .first_chunk_mut::<{ Ipv6Header::LEN }>()
                .ok_or(too_small(Ipv6Header::LEN))?;
            let vtf =
                (6u32 << 28) | (u32::from(h.traffic_class) << 20) | (h.flow_label & 0x000f_ffff);
            let [v0, v1, v2, v3] = vtf.to_be_bytes();
            let [pl0, pl1] = pl.to_be_bytes();
            let head = [v0, v1, v2, v3, pl0, pl1, h.next_header, h.hop_limit];
            let (src, dst) = (h.src.octets(), h.dst.octets());
            // RFC 8200 §3: 8 bytes of fixed fields, then the two addresses.
            for (o, b) in out.iter_mut().zip(head.iter().chain(&src).chain(&dst)) {
                *o = *b;
            }
            Ok(Ipv6Header::LEN)
        }
    }
}

/// Writes a whole IP packet carrying one TCP segment from `src` to `dst`: the header of
/// [`IpHeader::for_tcp`] (TTL / hop limit 64, DF set for IPv4), then the segment with its
/// checksum. Returns the packet length.
pub fn emit_ip_tcp_packet(
    src: IpAddr,
    dst: IpAddr,
    header: &TcpHeader,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize, WireError> {
    let ip = IpHeader::for_tcp(src, dst)?;
    emit_ip_tcp_packet_with(&ip, header, payload, buf)
}

/// Like [`emit_ip_tcp_packet`] with a caller-supplied IP header (whose protocol should be
/// [`IPPROTO_TCP`]). Returns the packet length.
pub fn emit_ip_tcp_packet_with(
    ip: &IpHeader,
    header: &TcpHeader,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize, WireError> {
    let seg_len = header.len() + payload.len();
    let total = ip.len() + seg_len;
    let available = buf.len();
    if total > available {
        return Err(WireError::BufferTooSmall {
            needed: total,
            available,
        });
    }
    let ip_len = emit_ip_header(ip, seg_len, buf)?;
    let rest = buf.get_mut(ip_len..).ok_or(WireError::BufferTooSmall {
        needed: total,
        available,
    })?;
    let n = emit_tcp_segment(header, payload, ip.src(), ip.dst(), rest)?;
    Ok(ip_len + n)
}

/// Parses an IP packet that must carry TCP: IP framing as in [`parse_ip_packet`], then
/// the segment with checksum verification as in
/// [`parse_tcp_segment`]. Returns both headers and the TCP
/// payload's range in `packet`.
pub fn parse_ip_tcp_packet(
    packet: &[u8],
) -> Result<(IpHeader, TcpHeader, Range<usize>), WireError> {
    let (ip, transport) = parse_ip_packet(packet)?;
    if ip.protocol() != IPPROTO_TCP {
        return Err(WireError::NotTcp(ip.protocol()));
    }
    let offset = transport.start;
    let segment = packet.get(transport).ok_or(WireError::Truncated)?;
    let (tcp, payload) = parse_tcp_segment(ip.src(), ip.dst(), segment)?;
    Ok((ip, tcp, payload.start + offset..payload.end + offset))
}
