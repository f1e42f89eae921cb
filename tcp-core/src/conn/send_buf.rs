//! The send buffer: unacknowledged and unsent bytes, front = oldest unacknowledged byte.
//!
//! Owned data handed over as [`Bytes`] is kept as is and goes to the wire as slices of it
//! (zero-copy); copied writes are appended to a tail buffer that is frozen piecewise as
//! segments are cut from it.

use super::lazy_deque::LazyDeque;
use bytes::{Buf, Bytes, BytesMut};

/// Writes smaller than this are copied into the tail instead of kept as their own chunk, so
/// that many tiny writes do not make many tiny chunks.
const MIN_ZERO_COPY: usize = 1024;

#[derive(Debug)]
pub(crate) struct SendBuffer {
    /// Frozen data, oldest first.
    chunks: LazyDeque<Bytes>,
    /// Bytes held in `chunks` (at most `capacity`).
    chunks_len: u32,
    /// Data appended by copying writes, after `chunks`.
    tail: BytesMut,
    /// The most bytes held (`SO_SNDBUF`; a larger setting is taken as 4 GiB - 1).
    capacity: u32,
}

impl SendBuffer {
    /// Heap bytes of the bookkeeping (queue slots and the tail being filled).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.heap_bytes() + self.tail.capacity()
    }

    pub(crate) fn new(capacity: usize) -> Self {
        SendBuffer {
            chunks: LazyDeque::new(),
            chunks_len: 0,
            tail: BytesMut::new(),
            capacity: u32::try_from(capacity).unwrap_or(u32::MAX),
        }
    }

    /// Whether `release` would give memory back.
    pub(crate) fn releasable(&self) -> bool {
        self.chunks.releasable()
    }

    /// Gives back the queue's memory if nothing is held.
    pub(crate) fn release(&mut self) {
        self.chunks.release();
    }

    /// Bytes held (unacknowledged plus unsent).
    pub(crate) fn len(&self) -> usize {
        self.chunks_len as usize + self.tail.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free space in bytes.
    pub(crate) fn free(&self) -> usize {
        (self.capacity as usize).saturating_sub(self.len())
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Copies as much of `data` as fits; returns the number of bytes taken.
    pub(crate) fn push_slice(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        let data = data.get(..n).unwrap_or_default();
        if self.tail.capacity() - self.tail.len() < n {
            // An empty buffer starts with a block sized to the write (a request or a
            // response is often small, and the block is given back when it is
            // acknowledged); a buffer in use grows by 16 KiB blocks.
            let block = if self.is_empty() {
                n.next_power_of_two().clamp(1024, 16 * 1024).max(n)
            } else {
                n.max(16 * 1024)
            };
            self.tail.reserve(block.min(self.capacity as usize));
        }
        self.tail.extend_from_slice(data);
        n
    }

    /// Takes as much of `data` as fits without copying it (small pieces are copied into the
    /// tail); returns the number of bytes taken.
    pub(crate) fn push_bytes(&mut self, data: Bytes) -> usize {
        let n = data.len().min(self.free());
        if n < MIN_ZERO_COPY {
            return self.push_slice(data.get(..n).unwrap_or_default());
        }
        self.freeze_tail();
        self.chunks.push_back(data.slice(..n));
        self.chunks_len += n as u32;
        n
    }

    fn freeze_tail(&mut self) {
        if !self.tail.is_empty() {
            let frozen = self.tail.split().freeze();
            self.chunks_len += frozen.len() as u32;
            self.chunks.push_back(frozen);
        }
    }

    /// Drops the `n` oldest bytes (they were acknowledged). Once nothing is held, the
    /// tail's block (16 KiB after a copied write) is given back, as Linux frees an skb
    /// when its data is acknowledged: an idle connection holds no send memory.
    pub(crate) fn consume(&mut self, n: usize) {
        self.drop_front(n);
        if self.chunks.is_empty() && self.tail.is_empty() && self.tail.capacity() > 0 {
            self.tail = BytesMut::new();
        }
    }

    fn drop_front(&mut self, mut n: usize) {
        if let Some(chunks) = self.chunks.queue_mut() {
            while n > 0 {
                let Some(front) = chunks.front_mut() else {
                    break;
                };
                if front.len() <= n {
                    n -= front.len();
                    self.chunks_len -= front.len() as u32;
                    chunks.pop_front();
                } else {
                    front.advance(n);
                    self.chunks_len -= n as u32;
                    n = 0;
                }
            }
        }
        if n > 0 {
            // What remains lies in the tail.
            let k = n.min(self.tail.len());
            self.tail.advance(k);
        }
    }

    /// The bytes `[offset, offset + len)` counted from the front, clamped to what is held.
    /// Zero-copy when the range lies within one chunk.
    pub(crate) fn slice(&mut self, offset: usize, len: usize) -> Bytes {
        let end = (offset + len).min(self.len());
        if offset >= end {
            return Bytes::new();
        }
        if end > self.chunks_len as usize {
            // Freeze only what the segment needs; the rest stays appendable.
            let need = end - self.chunks_len as usize;
            let frozen = self.tail.split_to(need.min(self.tail.len())).freeze();
            self.chunks_len += frozen.len() as u32;
            self.chunks.push_back(frozen);
        }
        let Some(chunks) = self.chunks.queue_mut() else {
            return Bytes::new();
        };
        // New data is cut from the newest chunks: find the first chunk of the range by
        // walking back from the end, so sending costs O(1) however many chunks are in flight.
        let mut first = chunks.len();
        let mut pos = self.chunks_len as usize;
        while pos > offset {
            let Some(chunk) = first.checked_sub(1).and_then(|i| chunks.get(i)) else {
                break;
            };
            first -= 1;
            pos -= chunk.len();
        }
        let mut out: Option<BytesMut> = None;
        for chunk in chunks.range(first..) {
            let chunk_end = pos + chunk.len();
            if pos >= end {
                break;
            }
            let from = offset.saturating_sub(pos);
            let to = (end - pos).min(chunk.len());
            if out.is_none() && end <= chunk_end {
                return chunk.slice(from..to);
            }
            out.get_or_insert_with(|| BytesMut::with_capacity(end - offset))
                .extend_from_slice(chunk.get(from..to).unwrap_or_default());
            pos = chunk_end;
        }
        out.map(BytesMut::freeze).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_and_owned_writes_come_back_in_order() {
        let mut b = SendBuffer::new(10_000);
        assert_eq!(b.push_slice(b"hello "), 6);
        let big = Bytes::from(alloc::vec![7u8; 2000]);
        assert_eq!(b.push_bytes(big.clone()), 2000);
        assert_eq!(b.push_slice(b"world"), 5);
        assert_eq!(&b.slice(0, 6)[..], b"hello ");
        assert_eq!(&b.slice(6, 2000)[..], &big[..]);
        assert_eq!(&b.slice(2006, 100)[..], b"world");
        let across = b.slice(3, 10);
        assert_eq!(&across[..3], b"lo ");
        assert_eq!(&across[3..], &[7u8; 7]);
    }

    #[test]
    fn owned_chunks_are_not_copied() {
        let mut b = SendBuffer::new(10_000);
        let big = Bytes::from(alloc::vec![1u8; 4000]);
        b.push_bytes(big.clone());
        let s = b.slice(100, 1000);
        assert_eq!(
            s.as_ptr(),
            big[100..].as_ptr(),
            "slice must share the caller's allocation"
        );
    }

    #[test]
    fn slices_of_many_chunks_match_the_written_bytes_at_every_offset() {
        let mut b = SendBuffer::new(1 << 20);
        let data: alloc::vec::Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        b.push_slice(&data);
        // Cut it into many chunks, as segments do, then consume a ragged front.
        let mut at = 0;
        while at < data.len() {
            b.slice(at, 700);
            at += 700;
        }
        b.consume(333);
        let held = &data[333..];
        for (offset, len) in [(0, 10), (5, 700), (690, 30), (9000, 2500), (19_000, 2000)] {
            let end = (offset + len).min(held.len());
            assert_eq!(
                &b.slice(offset, len)[..],
                &held[offset..end],
                "at {offset}+{len}"
            );
        }
    }

    #[test]
    fn capacity_limits_writes_and_consume_frees_space() {
        let mut b = SendBuffer::new(10);
        assert_eq!(b.push_slice(b"0123456789abc"), 10);
        assert_eq!(b.free(), 0);
        assert_eq!(b.push_slice(b"x"), 0);
        b.consume(4);
        assert_eq!(b.len(), 6);
        assert_eq!(&b.slice(0, 100)[..], b"456789");
        assert_eq!(b.push_slice(b"abcd"), 4);
        b.slice(0, 3);
        b.consume(8);
        assert_eq!(&b.slice(0, 10)[..], b"cd");
    }

    #[test]
    fn an_emptied_buffer_gives_its_block_back() {
        let mut b = SendBuffer::new(1 << 20);
        b.push_slice(&[1u8; 64]);
        assert!(
            (1024..16 * 1024).contains(&b.heap_bytes()),
            "a small write into an empty buffer reserves a small block: {}",
            b.heap_bytes()
        );
        let seg = b.slice(0, 64);
        b.consume(64);
        assert_eq!(b.heap_bytes(), b.chunks.heap_bytes());
        b.release();
        assert_eq!(
            b.heap_bytes(),
            0,
            "released, the empty buffer holds nothing"
        );
        assert_eq!(
            &seg[..],
            &[1u8; 64],
            "a segment still in hand keeps its bytes"
        );
    }
}
