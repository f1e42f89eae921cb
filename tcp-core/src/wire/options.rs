//! TCP options: parsing (RFC 9293 §3.1, RFC 7323, RFC 2018) and emission in Linux's or
//! FreeBSD's layout.

use core::fmt;

use super::WireError;
use crate::seq::SeqNum;

/// Option kind: end of option list (RFC 9293 §3.1).
pub const OPT_EOL: u8 = 0;
/// Option kind: no-operation (RFC 9293 §3.1).
pub const OPT_NOP: u8 = 1;
/// Option kind: maximum segment size (RFC 9293 §3.1, §3.7.1).
pub const OPT_MSS: u8 = 2;
/// Option kind: window scale (RFC 7323 §2.2).
pub const OPT_WINDOW_SCALE: u8 = 3;
/// Option kind: SACK permitted (RFC 2018 §2).
pub const OPT_SACK_PERMITTED: u8 = 4;
/// Option kind: SACK blocks (RFC 2018 §3).
pub const OPT_SACK: u8 = 5;
/// Option kind: timestamps (RFC 7323 §3.2).
pub const OPT_TIMESTAMPS: u8 = 8;

const LEN_MSS: u8 = 4;
const LEN_WINDOW_SCALE: u8 = 3;
const LEN_SACK_PERMITTED: u8 = 2;
const LEN_TIMESTAMPS: u8 = 10;

/// One SACK block: the sequence space `left..right` (RFC 2018 §3: left edge inclusive,
/// right edge exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNum,
    /// Sequence number just after the last byte of the block.
    pub right: SeqNum,
}

/// Up to four SACK blocks, the most a SACK option can carry (RFC 2018 §3: 2 + 8n ≤ 40).
///
/// Stored inline (no allocation). Slots past `len` are kept at their default value, so
/// the derived equality and hash only see the live blocks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SackBlocks {
    blocks: [SackBlock; SackBlocks::MAX],
    len: u8,
}

impl SackBlocks {
    /// The most blocks one SACK option can hold (RFC 2018 §3).
    pub const MAX: usize = 4;

    /// No blocks.
    pub const fn new() -> Self {
        SackBlocks {
            blocks: [SackBlock {
                left: SeqNum::new(0),
                right: SeqNum::new(0),
            }; SackBlocks::MAX],
            len: 0,
        }
    }

    /// Appends a block; returns `false` (and changes nothing) when already full.
    pub fn push(&mut self, block: SackBlock) -> bool {
        match self.blocks.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = block;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The blocks, in order.
    pub fn as_slice(&self) -> &[SackBlock] {
        self.blocks.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of blocks.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no blocks.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every block.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Keeps the first `n` blocks (no effect when `n >= len`).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            for slot in self.blocks.iter_mut().skip(n) {
                *slot = SackBlock::default();
            }
            // n < len <= MAX, so it fits in a u8.
            self.len = n as u8;
        }
    }

    /// Iterates over the blocks, in order.
    pub fn iter(&self) -> core::slice::Iter<'_, SackBlock> {
        self.as_slice().iter()
    }
}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a SackBlocks {
    type Item = &'a SackBlock;
    type IntoIter = core::slice::Iter<'a, SackBlock>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The timestamps option (RFC 7323 §3.2): `TSval` and `TSecr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timestamps {
    /// Timestamp value (`TSval`): the sender's timestamp clock.
    pub val: u32,
    /// Timestamp echo reply (`TSecr`): the most recent `TSval` received (0 on a SYN).
    pub ecr: u32,
}

/// How [`TcpOptions::emit`] lays the options out: which order, which NOPs, which padding.
/// Both are valid encodings of the same options (RFC 9293 §3.1); a peer sees no
/// difference, a byte-exact comparison with a capture does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OptionLayout {
    /// Linux's `tcp_options_write` (net/ipv4/tcp_output.c): MSS; SACKOK+TS or NOP NOP TS;
    /// NOP NOP SACKOK without timestamps; NOP WS; NOP NOP SACK. A SYN reads
    /// `mss,sackOK,TS,nop,wscale`.
    #[default]
    Linux,
    /// FreeBSD's `tcp_addoptions` (sys/netinet/tcp_output.c): the options in kind order
    /// MSS, WS, SACKOK, TS, SACK, each preceded by the NOPs that align it (MSS on 4, WS
    /// on an odd offset after at least one byte, SACKOK on 2, TS and SACK on 4n+2 after at
    /// least one byte), then EOL and zero padding to a multiple of 4. A SYN reads
    /// `mss,nop,wscale,sackOK,TS`; a SYN-ACK with MSS and SACKOK only,
    /// `mss,sackOK,eol,eol`.
    Bsd,
}

/// The options of one segment, decoded.
///
/// Unknown kinds are skipped when parsing; when a kind appears twice the last one wins
/// (as in Linux's `tcp_parse_options`). Window scale is kept as the raw shift the peer
/// sent; clamping it to 14 (RFC 7323 §2.3) is the connection's job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TcpOptions {
    /// Maximum segment size (RFC 9293 §3.7.1).
    pub mss: Option<u16>,
    /// Window scale shift count, as sent (RFC 7323 §2.2).
    pub window_scale: Option<u8>,
    /// SACK permitted (RFC 2018 §2).
    pub sack_permitted: bool,
    /// Timestamps (RFC 7323 §3.2).
    pub timestamps: Option<Timestamps>,
    /// SACK blocks (RFC 2018 §3); empty when the segment has no SACK option.
    pub sack_blocks: SackBlocks,
    /// How [`emit`](Self::emit) lays the options out (not a property of the options
    /// themselves: parsing always gives the default).
    pub layout: OptionLayout,
}

impl TcpOptions {
    /// The most option bytes a TCP header can carry (data offset 15 → 60 − 20).
    pub const MAX_LEN: usize = 40;

    /// Bytes [`emit`](Self::emit) writes: always a multiple of 4. May exceed
    /// [`MAX_LEN`](Self::MAX_LEN), in which case emitting fails.
    pub const fn encoded_len(&self) -> usize {
        if let OptionLayout::Bsd = self.layout {
            let bsd = self.bsd_len();
            if bsd <= Self::MAX_LEN {
                return bsd;
            }
            return (self.compact_len() + 3) & !3;
        }
        let linux = self.linux_len();
        if linux <= Self::MAX_LEN {
            linux
        } else {
            (self.compact_len() + 3) & !3
        }
    }

    /// Length of Linux's layout (see [`emit`](Self::emit)).
    const fn linux_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamps.is_some() {
            // SACKOK+TS or NOP NOP TS.
            len += 12;
        } else if self.sack_permitted {
            // NOP NOP SACKOK.
            len += 4;
        }
        if self.window_scale.is_some() {
            // NOP WS.
            len += 4;
        }
        if !self.sack_blocks.is_empty() {
            // NOP NOP SACK.
            len += 4 + 8 * self.sack_blocks.len();
        }
        len
    }

    /// Length of FreeBSD's layout (see [`OptionLayout::Bsd`]), padded to a multiple of 4.
    const fn bsd_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            // Starts at 0: already aligned.
            len += LEN_MSS as usize;
        }
        if self.window_scale.is_some() {
            len = bsd_align_odd(len) + LEN_WINDOW_SCALE as usize;
        }
        if self.sack_permitted {
            len = len.next_multiple_of(2) + LEN_SACK_PERMITTED as usize;
        }
        if self.timestamps.is_some() {
            len = bsd_align_4n2(len) + LEN_TIMESTAMPS as usize;
        }
        if !self.sack_blocks.is_empty() {
            len = bsd_align_4n2(len) + 2 + 8 * self.sack_blocks.len();
        }
        (len + 3) & !3
    }

    /// Length of the compact layout (no NOPs), before padding.
    const fn compact_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += LEN_MSS as usize;
        }
        if self.window_scale.is_some() {
            len += LEN_WINDOW_SCALE as usize;
        }
        if self.sack_permitted {
            len += LEN_SACK_PERMITTED as usize;
        }
        if self.timestamps.is_some() {
            len += LEN_TIMESTAMPS as usize;
        }
        if !self.sack_blocks.is_empty() {
            len += 2 + 8 * self.sack_blocks.len();
        }
        len
    }

    /// Decodes an options area (the header bytes after the first 20).
    pub fn parse(raw: &[u8]) -> Result<TcpOptions, WireError> {
        let mut opts = TcpOptions::default();
        for opt in options_iter(raw) {
            match opt? {
                TcpOption::Eol | TcpOption::Nop | TcpOption::Unknown { .. } => {}
                TcpOption::Mss(mss) => opts.mss = Some(mss),
                TcpOption::WindowScale(ws) => opts.window_scale = Some(ws),
                TcpOption::SackPermitted => opts.sack_permitted = true,
                TcpOption::Sack(blocks) => opts.sack_blocks = blocks,
                TcpOption::Timestamps(ts) => opts.timestamps = Some(ts),
            }
        }
        Ok(opts)
    }

    /// Writes the options and returns the bytes written ([`encoded_len`](Self::encoded_len)).
    ///
    /// The layout is Linux's `tcp_options_write` (net/ipv4/tcp_output.c), so re-emitting
    /// a Linux segment reproduces it: MSS; then SACKOK+TS or NOP NOP TS; NOP NOP SACKOK
    /// when SACK is permitted without timestamps; NOP WS; NOP NOP SACK blocks. Every group
    /// is 4-byte aligned. When that layout exceeds 40 bytes (e.g. timestamps with three
    /// SACK blocks and another option, which Linux never sends together), a compact layout
    /// without NOPs is used instead (MSS, WS, SACKOK, TS, SACK), padded with EOL and zeros
    /// to a multiple of 4 (RFC 9293 §3.1), so every option set that was parsed from a
    /// valid header can be emitted again. Fails with [`WireError::OptionsTooLong`] when
    /// even that does not fit.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.encoded_len();
        if len > Self::MAX_LEN {
            return Err(WireError::OptionsTooLong { len });
        }
        let available = buf.len();
        let Some(out) = buf.get_mut(..len) else {
            return Err(WireError::BufferTooSmall {
                needed: len,
                available,
            });
        };
        let mut w = Writer { out, pos: 0 };
        match self.layout {
            OptionLayout::Bsd if self.bsd_len() == len => self.emit_bsd(&mut w),
            OptionLayout::Linux if self.linux_len() == len => self.emit_linux(&mut w),
            _ => self.emit_compact(&mut w),
        }
        Ok(len)
    }

    /// FreeBSD's layout (sys/netinet/tcp_output.c `tcp_addoptions`).
    fn emit_bsd(&self, w: &mut Writer<'_>) {
        if let Some(mss) = self.mss {
            w.put(&[OPT_MSS, LEN_MSS]);
            w.put(&mss.to_be_bytes());
        }
        if let Some(ws) = self.window_scale {
            w.nops_to(bsd_align_odd(w.pos));
            w.put(&[OPT_WINDOW_SCALE, LEN_WINDOW_SCALE, ws]);
        }
        if self.sack_permitted {
            w.nops_to(w.pos.next_multiple_of(2));
            w.put(&[OPT_SACK_PERMITTED, LEN_SACK_PERMITTED]);
        }
        if let Some(ts) = self.timestamps {
            w.nops_to(bsd_align_4n2(w.pos));
            w.put(&[OPT_TIMESTAMPS, LEN_TIMESTAMPS]);
            w.put(&ts.val.to_be_bytes());
            w.put(&ts.ecr.to_be_bytes());
        }
        if !self.sack_blocks.is_empty() {
            w.nops_to(bsd_align_4n2(w.pos));
            self.put_sack(w);
        }
        // EOL, then zero padding (RFC 9293 §3.1), as `tcp_addoptions` ends.
        while w.pos < w.out.len() {
            w.put(&[OPT_EOL]);
        }
    }

    /// Linux's layout (net/ipv4/tcp_output.c `tcp_options_write`).
    fn emit_linux(&self, w: &mut Writer<'_>) {
        if let Some(mss) = self.mss {
            w.put(&[OPT_MSS, LEN_MSS]);
            w.put(&mss.to_be_bytes());
        }
        if let Some(ts) = self.timestamps {
            if self.sack_permitted {
                w.put(&[OPT_SACK_PERMITTED, LEN_SACK_PERMITTED]);
            } else {
                w.put(&[OPT_NOP, OPT_NOP]);
            }
            w.put(&[OPT_TIMESTAMPS, LEN_TIMESTAMPS]);
            w.put(&ts.val.to_be_bytes());
            w.put(&ts.ecr.to_be_bytes());
        } else if self.sack_permitted {
            w.put(&[OPT_NOP, OPT_NOP, OPT_SACK_PERMITTED, LEN_SACK_PERMITTED]);
        }
        if let Some(ws) = self.window_scale {
            w.put(&[OPT_NOP, OPT_WINDOW_SCALE, LEN_WINDOW_SCALE, ws]);
        }
        if !self.sack_blocks.is_empty() {
            w.put(&[OPT_NOP, OPT_NOP]);
            self.put_sack(w);
        }
    }

    /// The compact fallback layout: no NOPs, EOL and zero padding at the end.
    fn emit_compact(&self, w: &mut Writer<'_>) {
        if let Some(mss) = self.mss {
            w.put(&[OPT_MSS, LEN_MSS]);
            w.put(&mss.to_be_bytes());
        }
        if let Some(ws) = self.window_scale {
            w.put(&[OPT_WINDOW_SCALE, LEN_WINDOW_SCALE, ws]);
        }
        if self.sack_permitted {
            w.put(&[OPT_SACK_PERMITTED, LEN_SACK_PERMITTED]);
        }
        if let Some(ts) = self.timestamps {
            w.put(&[OPT_TIMESTAMPS, LEN_TIMESTAMPS]);
            w.put(&ts.val.to_be_bytes());
            w.put(&ts.ecr.to_be_bytes());
        }
        if !self.sack_blocks.is_empty() {
            self.put_sack(w);
        }
        // RFC 9293 §3.1: EOL, then zero padding to the 32-bit boundary.
        while w.pos < w.out.len() {
            w.put(&[OPT_EOL]);
        }
    }

    /// The SACK option itself (kind, length, blocks); RFC 2018 §3.
    fn put_sack(&self, w: &mut Writer<'_>) {
        // len() <= 4, so the option length is at most 34.
        let opt_len = 2 + 8 * self.sack_blocks.len() as u8;
        w.put(&[OPT_SACK, opt_len]);
        for b in self.sack_blocks.iter() {
            w.put(&b.left.get().to_be_bytes());
            w.put(&b.right.get().to_be_bytes());
        }
    }
}

/// `tcp_addoptions`' alignment of the window-scale option: at least one byte before it,
/// and an odd offset, so its 3 bytes end on a 4-byte boundary.
const fn bsd_align_odd(len: usize) -> usize {
    if len % 2 == 1 { len } else { len + 1 }
}

/// `tcp_addoptions`' alignment of the timestamp and SACK options: at least one byte
/// before them and an offset of 4n + 2, so their data starts 4-byte aligned.
const fn bsd_align_4n2(len: usize) -> usize {
    let mut l = if len == 0 { 1 } else { len };
    while l % 4 != 2 {
        l += 1;
    }
    l
}

/// A bounds-checked cursor over an output slice sized in advance.
struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    /// NOPs up to offset `to`.
    fn nops_to(&mut self, to: usize) {
        while self.pos < to && self.pos < self.out.len() {
            self.put(&[OPT_NOP]);
        }
    }

    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.out.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
            self.pos = end;
        }
    }
}

/// One option as it appears on the wire, in order: a raw view for tools (the packetdrill
/// runner compares option lists in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (kind 0); nothing after it is read.
    Eol,
    /// No-operation (kind 1), one byte.
    Nop,
    /// Maximum segment size (kind 2, length 4).
    Mss(u16),
    /// Window scale shift (kind 3, length 3), as sent.
    WindowScale(u8),
    /// SACK permitted (kind 4, length 2).
    SackPermitted,
    /// SACK blocks (kind 5, length 2 + 8n, 1 ≤ n ≤ 4).
    Sack(SackBlocks),
    /// Timestamps (kind 8, length 10).
    Timestamps(Timestamps),
    /// Any other kind, with its data (the bytes after kind and length).
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option data, without kind and length bytes.
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// Bytes this option occupies on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            TcpOption::Eol | TcpOption::Nop => 1,
            TcpOption::Mss(_) => usize::from(LEN_MSS),
            TcpOption::WindowScale(_) => usize::from(LEN_WINDOW_SCALE),
            TcpOption::SackPermitted => usize::from(LEN_SACK_PERMITTED),
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamps(_) => usize::from(LEN_TIMESTAMPS),
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes this single option at the start of `buf`, for tools that need an exact
    /// option sequence. Returns the bytes written. Fails when `buf` is too small, when an
    /// unknown option's data does not fit a length byte, or for an empty SACK list.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.encoded_len();
        let available = buf.len();
        let Some(out) = buf.get_mut(..len) else {
            return Err(WireError::BufferTooSmall {
                needed: len,
                available,
            });
        };
        let mut w = Writer { out, pos: 0 };
        match *self {
            TcpOption::Eol => w.put(&[OPT_EOL]),
            TcpOption::Nop => w.put(&[OPT_NOP]),
            TcpOption::Mss(mss) => {
                w.put(&[OPT_MSS, LEN_MSS]);
                w.put(&mss.to_be_bytes());
            }
            TcpOption::WindowScale(ws) => w.put(&[OPT_WINDOW_SCALE, LEN_WINDOW_SCALE, ws]),
            TcpOption::SackPermitted => w.put(&[OPT_SACK_PERMITTED, LEN_SACK_PERMITTED]),
            TcpOption::Sack(blocks) => {
                if blocks.is_empty() {
                    return Err(WireError::BadSackLength(2));
                }
                w.put(&[OPT_SACK, 2 + 8 * blocks.len() as u8]);
                for b in blocks.iter() {
                    w.put(&b.left.get().to_be_bytes());
                    w.put(&b.right.get().to_be_bytes());
                }
            }
            TcpOption::Timestamps(ts) => {
                w.put(&[OPT_TIMESTAMPS, LEN_TIMESTAMPS]);
                w.put(&ts.val.to_be_bytes());
                w.put(&ts.ecr.to_be_bytes());
            }
            TcpOption::Unknown { kind, data } => {
                let Ok(opt_len) = u8::try_from(len) else {
                    return Err(WireError::OptionsTooLong { len });
                };
                w.put(&[kind, opt_len]);
                w.put(data);
            }
        }
        Ok(w.pos)
    }
}

/// Iterates over the options of a raw options area, in order (RFC 9293 §3.1).
///
/// Yields [`TcpOption::Eol`] and then stops at an end-of-list option. After the first
/// error it yields that error and stops.
pub fn options_iter(raw_options: &[u8]) -> TcpOptionsIter<'_> {
    TcpOptionsIter {
        rest: raw_options,
        done: false,
    }
}

/// The iterator returned by [`options_iter`].
#[derive(Clone, Debug)]
pub struct TcpOptionsIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Iterator for TcpOptionsIter<'a> {
    type Item = Result<TcpOption<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.parse_one();
        if matches!(item, None | Some(Err(_)) | Some(Ok(TcpOption::Eol))) {
            self.done = true;
        }
        item
    }
}

impl core::iter::FusedIterator for TcpOptionsIter<'_> {}

impl<'a> TcpOptionsIter<'a> {
    fn parse_one(&mut self) -> Option<Result<TcpOption<'a>, WireError>> {
        let (&kind, after_kind) = self.rest.split_first()?;
        match kind {
            // RFC 9293 §3.1: EOL ends the list, NOP is a single byte.
            OPT_EOL => {
                self.rest = &[];
                return Some(Ok(TcpOption::Eol));
            }
            OPT_NOP => {
                self.rest = after_kind;
                return Some(Ok(TcpOption::Nop));
            }
            _ => {}
        }
        let Some((&len, _)) = after_kind.split_first() else {
            return Some(Err(WireError::OptionTruncated { kind }));
        };
        // RFC 9293 §3.1: the length counts kind and length bytes, so it is at least 2.
        if len < 2 {
            return Some(Err(WireError::BadOptionLength { kind, len }));
        }
        let Some((option, rest)) = self.rest.split_at_checked(usize::from(len)) else {
            return Some(Err(WireError::OptionTruncated { kind }));
        };
        self.rest = rest;
        let data = option.get(2..).unwrap_or(&[]);
        Some(decode(kind, len, data))
    }
}

/// Decodes one option's data, checking the fixed lengths of known kinds.
fn decode(kind: u8, len: u8, data: &[u8]) -> Result<TcpOption<'_>, WireError> {
    let bad = WireError::BadOptionLength { kind, len };
    match kind {
        // RFC 9293 §3.1: MSS is kind 2, length 4.
        OPT_MSS => match data {
            [a, b] => Ok(TcpOption::Mss(u16::from_be_bytes([*a, *b]))),
            _ => Err(bad),
        },
        // RFC 7323 §2.2: window scale is kind 3, length 3.
        OPT_WINDOW_SCALE => match data {
            [shift] => Ok(TcpOption::WindowScale(*shift)),
            _ => Err(bad),
        },
        // RFC 2018 §2: SACK-permitted is kind 4, length 2.
        OPT_SACK_PERMITTED => match data {
            [] => Ok(TcpOption::SackPermitted),
            _ => Err(bad),
        },
        // RFC 2018 §3: SACK is kind 5, length 2 + 8n.
        OPT_SACK => {
            let mut blocks = SackBlocks::new();
            if data.is_empty() || !data.len().is_multiple_of(8) || data.len() / 8 > SackBlocks::MAX
            {
                return Err(WireError::BadSackLength(len));
            }
            for chunk in data.chunks_exact(8) {
                if let Some((l, r)) = chunk.split_first_chunk::<4>() {
                    let Some(r) = r.first_chunk::<4>() else {
                        return Err(WireError::BadSackLength(len));
                    };
                    blocks.push(SackBlock {
                        left: SeqNum::new(u32::from_be_bytes(*l)),
                        right: SeqNum::new(u32::from_be_bytes(*r)),
                    });
                }
            }
            Ok(TcpOption::Sack(blocks))
        }
        // RFC 7323 §3.2: timestamps is kind 8, length 10.
        OPT_TIMESTAMPS => match data.split_first_chunk::<4>() {
            Some((val, ecr)) if data.len() == 8 => {
                let ecr = ecr.first_chunk::<4>().ok_or(bad)?;
                Ok(TcpOption::Timestamps(Timestamps {
                    val: u32::from_be_bytes(*val),
                    ecr: u32::from_be_bytes(*ecr),
                }))
            }
            _ => Err(bad),
        },
        // RFC 9293 §3.1: unknown options are skipped by their length.
        _ => Ok(TcpOption::Unknown { kind, data }),
    }
}
