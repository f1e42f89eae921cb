//! A link fault that rewrites the SACK blocks of ACKs (RFC 2018 §3) the way a broken or
//! hostile receiver, or a middlebox that mangles options, might: it adds blocks a sender
//! must ignore (Linux's `tcp_is_sackblock_valid`) and second blocks that make the real
//! first block look like a D-SACK (RFC 2883 §4 case 2, Linux's `tcp_check_dsack`).
//!
//! Every ACK that carries SACK blocks, and every duplicate ACK (same ACK number as the
//! previous ACK of its flow, no payload), gets one bogus block. The receiver's real blocks
//! stay in their order, so a sender that ignores the bogus block loses at most the oldest
//! real block, when the option space (40 bytes, timestamps included) has no room for it.
//! An invalid block goes second (after the receiver's newest block) and first in turn:
//! in first position a block below the ACK has the shape of a D-SACK (RFC 2883 §4 case 1),
//! one that reports no duplicate, so the sender's D-SACK rules are tested as well.

use std::collections::HashMap;

use tcp_core::SeqNum;
use tcp_core::wire::{
    SackBlock, TcpFlags, TcpOptions, emit_ip_tcp_packet_with, parse_ip_tcp_packet,
};

use super::packet::FlowKey;

/// One kind of bogus SACK block, placed relative to the ACK's cumulative acknowledgment
/// (which is, at best, the sender's SND.UNA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BogusSack {
    /// A block far beyond anything sent: `[ACK + 2^30, ACK + 2^30 + 1000)`, outside
    /// SND.UNA..SND.NXT.
    BeyondWindow,
    /// An inverted block inside the window: `[ACK + 3000, ACK + 1000)`.
    Inverted,
    /// A block wholly below the ACK: `[ACK − 3000, ACK − 1000)`. In second position it is
    /// no D-SACK and invalid; in first position it is a D-SACK for data never sent twice.
    BelowAck,
    /// A second block that starts below the ACK and reaches the end of the first block:
    /// `[ACK − 1000, first.end)`. It straddles SND.UNA (invalid) and contains the first
    /// block, which therefore has the shape of a D-SACK of out-of-order data. Without a
    /// real block, it is `[ACK − 1000, ACK + 1000)` in first position.
    Straddling,
}

impl BogusSack {
    /// Every kind, in the order [`SackFault::all`] cycles through them.
    pub const ALL: [BogusSack; 4] = [
        BogusSack::BeyondWindow,
        BogusSack::Inverted,
        BogusSack::BelowAck,
        BogusSack::Straddling,
    ];

    /// The kinds a sender must simply ignore (all but [`BogusSack::Straddling`]).
    pub const INVALID: [BogusSack; 3] = [
        BogusSack::BeyondWindow,
        BogusSack::Inverted,
        BogusSack::BelowAck,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            BogusSack::BeyondWindow => "beyond-window",
            BogusSack::Inverted => "inverted",
            BogusSack::BelowAck => "below-ack",
            BogusSack::Straddling => "straddling",
        }
    }

    fn block(self, ack: SeqNum, first: Option<SackBlock>) -> SackBlock {
        let b = |l: SeqNum, r: SeqNum| SackBlock { left: l, right: r };
        match self {
            BogusSack::BeyondWindow => b(ack + (1 << 30), ack + (1 << 30) + 1000),
            BogusSack::Inverted => b(ack + 3000, ack + 1000),
            BogusSack::BelowAck => b(ack - 3000, ack - 1000),
            BogusSack::Straddling => match first {
                Some(f) => b(ack - 1000, f.right),
                None => b(ack - 1000, ack + 1000),
            },
        }
    }
}

/// Configuration of the SACK-rewriting fault: the kinds of bogus block to add, used in
/// turn, one per rewritten ACK, each in second position in one round of the kinds and in
/// first position in the next ([`BogusSack::Straddling`] always second when the ACK has a
/// real block). Deterministic: no random draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SackFault {
    /// The kinds, cycled through; empty disables the fault.
    pub kinds: Vec<BogusSack>,
}

impl SackFault {
    /// Only this kind.
    pub fn only(kind: BogusSack) -> Self {
        SackFault { kinds: vec![kind] }
    }

    /// Every kind in turn.
    pub fn all() -> Self {
        SackFault {
            kinds: BogusSack::ALL.to_vec(),
        }
    }

    /// The invalid kinds in turn (no straddling block).
    pub fn invalid() -> Self {
        SackFault {
            kinds: BogusSack::INVALID.to_vec(),
        }
    }
}

/// The fault's state in one link direction.
#[derive(Debug, Clone)]
pub struct SackRewriter {
    fault: SackFault,
    next: usize,
    last_ack: HashMap<FlowKey, u32>,
    rewritten: u64,
}

impl SackRewriter {
    /// A rewriter for `fault`.
    pub fn new(fault: SackFault) -> Self {
        SackRewriter {
            fault,
            next: 0,
            last_ack: HashMap::new(),
            rewritten: 0,
        }
    }

    /// ACKs rewritten so far.
    pub fn rewritten(&self) -> u64 {
        self.rewritten
    }

    /// The rewritten packet, or `None` to leave `packet` as it is (not a TCP ACK with SACK
    /// blocks or a duplicate ACK, malformed, or no kinds configured). The TCP checksum
    /// is recomputed, so the receiver cannot tell.
    pub fn rewrite(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        if self.fault.kinds.is_empty() {
            return None;
        }
        let (ip, mut tcp, payload) = parse_ip_tcp_packet(packet).ok()?;
        if !tcp.flags.contains(TcpFlags::ACK)
            || tcp
                .flags
                .intersects(TcpFlags::SYN | TcpFlags::RST | TcpFlags::FIN)
        {
            return None;
        }
        let flow = FlowKey {
            src: ip.src(),
            sport: tcp.src_port,
            dst: ip.dst(),
            dport: tcp.dst_port,
        };
        let ack = tcp.ack;
        let dup = payload.is_empty()
            && self
                .last_ack
                .insert(flow, ack.get())
                .is_some_and(|a| a == ack.get());
        let real = tcp.options.sack_blocks;
        if real.is_empty() && !dup {
            return None;
        }
        let n = self.fault.kinds.len();
        let kind = self.fault.kinds[self.next % n];
        let lead = kind != BogusSack::Straddling && (self.next / n) % 2 == 1;
        self.next = self.next.wrapping_add(1);
        let first = real.iter().next().copied();
        let bogus = kind.block(ack, first);
        // The bogus block first or right after the receiver's newest block, then the other
        // real blocks, as many as the option space holds.
        let mut order: Vec<SackBlock> = Vec::with_capacity(real.len() + 1);
        let at = usize::from(!lead && first.is_some());
        order.extend(real.iter().copied());
        order.insert(at, bogus);
        let mut opts: TcpOptions = tcp.options;
        let mut keep = order.len();
        loop {
            opts.sack_blocks.clear();
            for b in order.iter().take(keep) {
                opts.sack_blocks.push(*b);
            }
            if opts.encoded_len() <= TcpOptions::MAX_LEN {
                break;
            }
            if keep <= at + 1 {
                return None;
            }
            keep -= 1;
        }
        tcp.options = opts;
        let body = packet.get(payload)?;
        let mut out = vec![0u8; packet.len() + 64];
        let n = emit_ip_tcp_packet_with(&ip, &tcp, body, &mut out).ok()?;
        out.truncate(n);
        self.rewritten += 1;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_core::wire::{TcpHeader, Timestamps, emit_ip_tcp_packet};

    fn ack_packet(ack: u32, blocks: &[(u32, u32)], ts: bool, payload: usize) -> Vec<u8> {
        let mut options = TcpOptions {
            timestamps: ts.then_some(Timestamps { val: 1, ecr: 2 }),
            ..TcpOptions::default()
        };
        for &(l, r) in blocks {
            options.sack_blocks.push(SackBlock {
                left: SeqNum::new(l),
                right: SeqNum::new(r),
            });
        }
        let header = TcpHeader {
            src_port: 80,
            dst_port: 4000,
            seq: SeqNum::new(7),
            ack: SeqNum::new(ack),
            flags: TcpFlags::ACK,
            window: 1000,
            options,
            ..TcpHeader::default()
        };
        let mut buf = vec![0u8; 2000];
        let n = emit_ip_tcp_packet(
            "10.0.0.2".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            &header,
            &vec![1u8; payload],
            &mut buf,
        )
        .unwrap();
        buf.truncate(n);
        buf
    }

    fn blocks_of(p: &[u8]) -> Vec<(u32, u32)> {
        let (_, tcp, _) = parse_ip_tcp_packet(p).expect("valid checksum");
        tcp.options
            .sack_blocks
            .iter()
            .map(|b| (b.left.get(), b.right.get()))
            .collect()
    }

    #[test]
    fn a_straddling_second_block_covers_the_real_first_block() {
        let mut r = SackRewriter::new(SackFault::only(BogusSack::Straddling));
        let p = ack_packet(10_000, &[(13_000, 14_000), (11_000, 12_000)], true, 0);
        let out = r.rewrite(&p).unwrap();
        assert_eq!(
            blocks_of(&out),
            [(13_000, 14_000), (9_000, 14_000), (11_000, 12_000)]
        );
    }

    #[test]
    fn invalid_kinds_take_turns_and_the_option_space_drops_the_oldest_real_block() {
        let mut r = SackRewriter::new(SackFault::invalid());
        let three = [(13_000, 14_000), (11_000, 12_000), (15_000, 16_000)];
        let out = r.rewrite(&ack_packet(10_000, &three, true, 0)).unwrap();
        // Timestamps leave room for three blocks: the oldest real one goes.
        assert_eq!(
            blocks_of(&out),
            [
                (13_000, 14_000),
                (10_000 + (1 << 30), 10_000 + (1 << 30) + 1000),
                (11_000, 12_000)
            ]
        );
        let out = r
            .rewrite(&ack_packet(10_000, &three[..1], true, 0))
            .unwrap();
        assert_eq!(blocks_of(&out), [(13_000, 14_000), (13_000, 11_000)]);
        let out = r
            .rewrite(&ack_packet(10_000, &three[..1], true, 0))
            .unwrap();
        assert_eq!(blocks_of(&out), [(13_000, 14_000), (7_000, 9_000)]);
        // The next round puts the bogus block first.
        let out = r
            .rewrite(&ack_packet(10_000, &three[..2], true, 0))
            .unwrap();
        assert_eq!(
            blocks_of(&out),
            [
                (10_000 + (1 << 30), 10_000 + (1 << 30) + 1000),
                (13_000, 14_000),
                (11_000, 12_000)
            ]
        );
        assert_eq!(r.rewritten(), 4);
    }

    #[test]
    fn only_acks_with_sack_blocks_and_duplicate_acks_are_rewritten() {
        let mut r = SackRewriter::new(SackFault::only(BogusSack::BeyondWindow));
        assert!(r.rewrite(&ack_packet(10_000, &[], false, 0)).is_none());
        assert!(r.rewrite(&ack_packet(10_000, &[], false, 100)).is_none());
        let out = r.rewrite(&ack_packet(10_000, &[], false, 0)).unwrap();
        assert_eq!(blocks_of(&out).len(), 1, "a duplicate ACK gets a block");
        assert!(r.rewrite(&ack_packet(20_000, &[], false, 0)).is_none());
    }
}
