//! TEMPORARY stand-in with the agreed type names; replaced by the wire branch at merge.
#![allow(missing_docs)]
use crate::seq::SeqNum;
use core::ops::{BitAnd, BitOr, BitOrAssign};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct TcpFlags(u8);
impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const fn empty() -> Self { TcpFlags(0) }
    pub const fn bits(self) -> u8 { self.0 }
    pub const fn from_bits(b: u8) -> Self { TcpFlags(b) }
    pub const fn contains(self, o: TcpFlags) -> bool { self.0 & o.0 == o.0 }
    pub const fn intersects(self, o: TcpFlags) -> bool { self.0 & o.0 != 0 }
    pub fn insert(&mut self, o: TcpFlags) { self.0 |= o.0 }
    pub fn remove(&mut self, o: TcpFlags) { self.0 &= !o.0 }
}
impl BitOr for TcpFlags { type Output = TcpFlags; fn bitor(self, o: TcpFlags) -> TcpFlags { TcpFlags(self.0 | o.0) } }
impl BitOrAssign for TcpFlags { fn bitor_assign(&mut self, o: TcpFlags) { self.0 |= o.0 } }
impl BitAnd for TcpFlags { type Output = TcpFlags; fn bitand(self, o: TcpFlags) -> TcpFlags { TcpFlags(self.0 & o.0) } }

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SackBlock { pub left: SeqNum, pub right: SeqNum }
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SackBlocks { b: [SackBlock; 4], n: u8 }
impl SackBlocks {
    pub const MAX: usize = 4;
    pub fn new() -> Self { Self::default() }
    pub fn push(&mut self, x: SackBlock) -> bool { if (self.n as usize) < 4 { self.b[self.n as usize] = x; self.n += 1; true } else { false } }
    pub fn as_slice(&self) -> &[SackBlock] { &self.b[..self.n as usize] }
    pub fn len(&self) -> usize { self.n as usize }
    pub fn is_empty(&self) -> bool { self.n == 0 }
    pub fn clear(&mut self) { self.n = 0 }
    pub fn truncate(&mut self, n: usize) { if n < self.n as usize { self.n = n as u8 } }
    pub fn iter(&self) -> core::slice::Iter<'_, SackBlock> { self.as_slice().iter() }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamps { pub val: u32, pub ecr: u32 }
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions { pub mss: Option<u16>, pub window_scale: Option<u8>, pub sack_permitted: bool, pub timestamps: Option<Timestamps>, pub sack_blocks: SackBlocks }
impl TcpOptions {
    pub const MAX_LEN: usize = 40;
    pub fn encoded_len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() { n += 4 }
        if self.timestamps.is_some() { n += 12 } else if self.sack_permitted { n += 4 }
        if self.window_scale.is_some() { n += 4 }
        if !self.sack_blocks.is_empty() { n += 4 + 8 * self.sack_blocks.len() }
        n
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader { pub src_port: u16, pub dst_port: u16, pub seq: SeqNum, pub ack: SeqNum, pub flags: TcpFlags, pub window: u16, pub urgent: u16, pub options: TcpOptions }
impl TcpHeader {
    pub const MIN_LEN: usize = 20;
    pub fn len(&self) -> usize { 20 + self.options.encoded_len() }
}
