//! TCP segmentation offload out: consecutive segments of one connection, written as one
//! super-segment behind a virtio-net header that asks the kernel to finish it
//! ([`crate::vnet::VnetHdr::tcp_gso`]); and its inverse for received super-segments,
//! [`segment`], for impairments that must act on the segments a wire would carry.
//!
//! The kernel cuts a super-segment as Linux's own TSO output does (`tcp_gso_segment`):
//! every segment gets the first one's header with its sequence number advanced, PSH and FIN
//! only on the last, and its own checksum. So only segments that such a cut gives back
//! unchanged are joined: the same connection, ECN codepoint, ACK number, window and
//! options, consecutive sequence numbers, each carrying `mss` bytes but the last, which may
//! be shorter, and no SYN, RST, FIN or URG.

use std::io;
use tcp_core::Transmit;
use tcp_core::wire::{
    IPPROTO_TCP, IpHeader, TcpFlags, TcpHeader, emit_ip_tcp_packet_with, parse_ip_packet,
    pseudo_header,
};

use crate::vnet::VnetHdr;

/// The largest IP packet (the IPv4 total length is 16 bits; the kernel accepts no more
/// from a TUN device either).
const MAX_PACKET: usize = 65_535;

/// How many leading transmits of `ts` one super-segment can carry (at least 1).
pub fn run_len(ts: &[Transmit]) -> usize {
    let Some(first) = ts.first() else {
        return 0;
    };
    let mss = first.segment.payload.len();
    let h0 = &first.segment.header;
    let special = TcpFlags::SYN | TcpFlags::RST | TcpFlags::FIN | TcpFlags::URG;
    if mss == 0 || h0.flags.intersects(special) {
        return 1;
    }
    let headers =
        IpHeader::for_tcp(first.src.ip(), first.dst.ip()).map_or(60, |ip| ip.len()) + h0.len();
    let mut bytes = headers + mss;
    let mut next_seq = h0.seq + mss as u32;
    let mut n = 1;
    for t in &ts[1..] {
        let h = &t.segment.header;
        let len = t.segment.payload.len();
        let same = t.src == first.src
            && t.dst == first.dst
            && t.segment.ecn == first.segment.ecn
            && h.seq == next_seq
            && h.ack == h0.ack
            && h.window == h0.window
            && h.options == h0.options
            && !h.flags.intersects(special)
            && without_psh(h.flags) == without_psh(h0.flags);
        if !same || len == 0 || len > mss || bytes + len > MAX_PACKET {
            break;
        }
        bytes += len;
        next_seq += len as u32;
        n += 1;
        if len < mss {
            break;
        }
    }
    n
}

fn without_psh(mut f: TcpFlags) -> TcpFlags {
    f.remove(TcpFlags::PSH);
    f
}

/// Writes the super-segment of `ts` (a run from [`run_len`], two or more transmits) into
/// `out` as one IP packet whose TCP checksum field holds the pseudo-header sum; returns its
/// length and the virtio-net header to send it behind. `payload` is scratch space for the
/// joined payloads.
pub fn build(
    ts: &[Transmit],
    payload: &mut Vec<u8>,
    out: &mut [u8],
) -> io::Result<(usize, VnetHdr)> {
    let first = &ts[0];
    let mut header = first.segment.header;
    payload.clear();
    for t in ts {
        payload.extend_from_slice(&t.segment.payload);
        if t.segment.header.flags.contains(TcpFlags::PSH) {
            header.flags.insert(TcpFlags::PSH);
        }
    }
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
    let mut ip = IpHeader::for_tcp(first.src.ip(), first.dst.ip()).map_err(invalid)?;
    ip.set_ecn(first.segment.ecn);
    let n = emit_ip_tcp_packet_with(&ip, &header, payload, out).map_err(invalid)?;
    let ip_len = ip.len();
    let tcp_len = header.len();
    // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum of the whole segment,
    // which the kernel completes over the TCP header and payload.
    let partial = pseudo_header(
        first.src.ip(),
        first.dst.ip(),
        IPPROTO_TCP,
        (n - ip_len) as u32,
    )
    .sum();
    out[ip_len + 16..ip_len + 18].copy_from_slice(&partial.to_be_bytes());
    let mss = first.segment.payload.len() as u16;
    let hdr = VnetHdr::tcp_gso(
        matches!(ip, IpHeader::V6(_)),
        ip_len as u16,
        tcp_len as u16,
        mss,
    );
    Ok((n, hdr))
}

/// Cuts a received super-segment (an IP packet carrying TCP whose payload is longer than
/// `mss`) into the wire segments it stands for, as Linux's `tcp_gso_segment` cuts one:
/// each carries `mss` bytes but the last, the first one's header with the sequence number
/// advanced, CWR only on the first, PSH and FIN only on the last, and full IP and TCP
/// checksums (the super-segment's own TCP checksum, left partial by the kernel, is not
/// read). A packet that needs no cut comes back whole, re-checksummed.
///
/// For tests that impair the link between the device and the core
/// ([`crate::TunLink::set_receive_segmentation`]): a lossy wire drops segments, not 64 KiB
/// super-packets.
pub fn segment(packet: &[u8], mss: usize) -> io::Result<Vec<Vec<u8>>> {
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
    let (ip, transport) = parse_ip_packet(packet).map_err(invalid)?;
    if ip.protocol() != IPPROTO_TCP {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not TCP"));
    }
    let segment = &packet[transport];
    let (header, header_len) = TcpHeader::parse(segment).map_err(invalid)?;
    let payload = &segment[header_len..];
    let mss = mss.max(1);
    let count = payload.len().div_ceil(mss).max(1);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let chunk = payload
            .get(i * mss..payload.len().min((i + 1) * mss))
            .unwrap_or(&[]);
        let mut h = header;
        h.seq = header.seq + (i * mss) as u32;
        if i > 0 {
            h.flags.remove(TcpFlags::CWR);
        }
        if i + 1 < count {
            h.flags.remove(TcpFlags::PSH | TcpFlags::FIN);
        }
        let mut wire = vec![0u8; ip.len() + h.len() + chunk.len()];
        let n = emit_ip_tcp_packet_with(&ip, &h, chunk, &mut wire).map_err(invalid)?;
        wire.truncate(n);
        out.push(wire);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::net::SocketAddr;
    use tcp_core::wire::{Checksum, TcpHeader, parse_ip_packet};
    use tcp_core::{IpEcn, Segment, SeqNum};

    fn seg(seq: u32, len: usize, flags: TcpFlags) -> Transmit {
        Transmit {
            src: "192.0.2.2:5001".parse::<SocketAddr>().unwrap(),
            dst: "192.0.2.1:40000".parse::<SocketAddr>().unwrap(),
            segment: Segment {
                header: TcpHeader {
                    src_port: 5001,
                    dst_port: 40000,
                    seq: SeqNum::new(seq),
                    ack: SeqNum::new(77),
                    flags: flags | TcpFlags::ACK,
                    window: 500,
                    ..TcpHeader::default()
                },
                payload: Bytes::from(vec![(seq % 251) as u8; len]),
                ecn: IpEcn::NotEct,
            },
        }
    }

    #[test]
    fn a_run_is_consecutive_full_segments_and_at_most_one_short_last() {
        let e = TcpFlags::empty();
        let ts = [
            seg(1000, 100, e),
            seg(1100, 100, e),
            seg(1200, 100, TcpFlags::PSH),
            seg(1300, 60, e),
            seg(1360, 100, e),
        ];
        assert_eq!(run_len(&ts), 4, "the short one ends the run");
        assert_eq!(run_len(&ts[..2]), 2);
        let gap = [seg(1000, 100, e), seg(1101, 100, e)];
        assert_eq!(run_len(&gap), 1);
        let fin = [seg(1000, 100, e), seg(1100, 100, TcpFlags::FIN)];
        assert_eq!(run_len(&fin), 1);
        let mut other_ack = [seg(1000, 100, e), seg(1100, 100, e)];
        other_ack[1].segment.header.ack = SeqNum::new(78);
        assert_eq!(run_len(&other_ack), 1);
        let big: Vec<Transmit> = (0..60).map(|i| seg(i * 1448, 1448, e)).collect();
        assert_eq!(
            run_len(&big),
            45,
            "65535 bytes at most: 45 segments of 1448 and 40 bytes of headers"
        );
    }

    #[test]
    fn the_super_segment_carries_every_payload_and_a_partial_checksum() {
        let e = TcpFlags::empty();
        let ts = [
            seg(1000, 100, e),
            seg(1100, 100, TcpFlags::PSH),
            seg(1200, 40, e),
        ];
        let mut scratch = Vec::new();
        let mut out = vec![0u8; 70_000];
        let (n, hdr) = build(&ts, &mut scratch, &mut out).unwrap();
        let (ip, range) = parse_ip_packet(&out[..n]).unwrap();
        let tcp = &out[range];
        assert_eq!(tcp.len(), 20 + 240);
        assert_eq!(tcp[13] & 0x08, 0x08, "PSH carried to the super-segment");
        assert_eq!(&tcp[20..120], &[(1000 % 251) as u8; 100][..]);
        assert_eq!(&tcp[220..], &[(1200 % 251) as u8; 40][..]);
        assert_eq!((hdr.gso_size, hdr.hdr_len, hdr.csum_start), (100, 40, 20));
        // Completing the checksum as the kernel does (sum from csum_start, field as found)
        // gives a valid segment.
        let mut c = Checksum::new();
        c.add_bytes(tcp);
        let mut done = tcp.to_vec();
        done[16..18].copy_from_slice(&c.finish().to_be_bytes());
        assert!(tcp_core::wire::verify_tcp_checksum(
            ip.src(),
            ip.dst(),
            &done
        ));
    }

    #[test]
    fn a_received_super_segment_is_cut_into_checksummed_wire_segments() {
        let mut t = seg(1000, 250, TcpFlags::CWR | TcpFlags::PSH | TcpFlags::FIN);
        t.segment.payload = Bytes::from((0..250u32).map(|i| i as u8).collect::<Vec<u8>>());
        let ip = IpHeader::for_tcp(t.src.ip(), t.dst.ip()).unwrap();
        let mut packet = vec![0u8; 400];
        let n = emit_ip_tcp_packet_with(&ip, &t.segment.header, &t.segment.payload, &mut packet)
            .unwrap();
        let wire = segment(&packet[..n], 100).unwrap();
        assert_eq!(wire.len(), 3);
        let mut joined = Vec::new();
        let mut seen = Vec::new();
        for w in &wire {
            let (_, h, range) = tcp_core::wire::parse_ip_tcp_packet(w).expect("valid checksums");
            joined.extend_from_slice(&w[range.clone()]);
            seen.push((h.seq.get(), range.len(), h.flags));
        }
        assert_eq!(joined, t.segment.payload.to_vec(), "the bytes in order");
        let f = |x: TcpFlags| x | TcpFlags::ACK;
        assert_eq!(
            seen,
            vec![
                (1000, 100, f(TcpFlags::CWR)),
                (1100, 100, f(TcpFlags::empty())),
                (1200, 50, f(TcpFlags::PSH | TcpFlags::FIN)),
            ],
            "CWR on the first only, PSH and FIN on the last only"
        );
        let whole = segment(&packet[..n], 1448).unwrap();
        assert_eq!(whole, vec![packet[..n].to_vec()], "no cut needed");
    }
}
