//! Sequence-number arithmetic (RFC 9293 §3.4, RFC 1982 serial numbers).
//!
//! TCP sequence numbers live in a 32-bit space that wraps. Two numbers compare by the sign
//! of their wrapping difference, so `a < b` holds when `b` is less than 2^31 ahead of `a`.
//! Raw `u32` comparisons of sequence numbers appear nowhere else in the crate.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A 32-bit TCP sequence number with wrapping (serial-number) arithmetic.
///
/// `PartialOrd` follows RFC 1982: `a < b` iff `b - a` (mod 2^32) is in `1..2^31`. Numbers
/// exactly 2^31 apart are incomparable (`partial_cmp` returns `None`), so neither `<` nor
/// `>` holds for them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(u32);

impl SeqNum {
    /// Wraps a raw 32-bit value.
    pub const fn new(raw: u32) -> Self {
        SeqNum(raw)
    }

    /// The raw 32-bit value, for the wire.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The signed distance `self - other`, correct across the wrap when the two numbers
    /// are less than 2^31 apart.
    pub const fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// The number of sequence numbers from `earlier` up to `self` (`self - earlier`
    /// modulo 2^32). Meaningful when `earlier <= self`.
    pub const fn since(self, earlier: SeqNum) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// `self < other` in serial-number order (false for numbers exactly 2^31 apart, as
    /// `PartialOrd`).
    pub const fn lt(self, other: SeqNum) -> bool {
        let d = self.diff(other);
        d < 0 && d != i32::MIN
    }

    /// `self <= other` in serial-number order.
    pub const fn le(self, other: SeqNum) -> bool {
        self.lt(other) || self.0 == other.0
    }

    /// `self > other` in serial-number order.
    pub const fn gt(self, other: SeqNum) -> bool {
        self.diff(other) > 0
    }

    /// `self >= other` in serial-number order.
    pub const fn ge(self, other: SeqNum) -> bool {
        self.gt(other) || self.0 == other.0
    }

    /// The later of two sequence numbers.
    pub const fn max(self, other: SeqNum) -> SeqNum {
        if self.lt(other) { other } else { self }
    }

    /// The earlier of two sequence numbers.
    pub const fn min(self, other: SeqNum) -> SeqNum {
        if self.gt(other) { other } else { self }
    }

    /// `lo <= self < hi`: the half-open range test of RFC 9293 §3.4 (`hi` exclusive).
    /// An empty range (`lo == hi`) contains nothing.
    pub const fn in_range(self, lo: SeqNum, hi: SeqNum) -> bool {
        self.since(lo) < hi.since(lo)
    }

    /// `lo <= self <= hi`, both ends inclusive.
    pub const fn in_range_inclusive(self, lo: SeqNum, hi: SeqNum) -> bool {
        self.since(lo) <= hi.since(lo)
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        match self.diff(*other) {
            0 => Some(Ordering::Equal),
            i32::MIN => None,
            d if d < 0 => Some(Ordering::Less),
            _ => Some(Ordering::Greater),
        }
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;
    fn add(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for SeqNum {
    fn add_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_add(rhs);
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;
    fn sub(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs))
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqNum({})", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordering_holds_across_the_wrap() {
        let a = SeqNum::new(u32::MAX - 10);
        let b = a + 20;
        assert_eq!(b.get(), 9);
        assert!(a < b);
        assert!(b > a);
        assert_eq!(b.diff(a), 20);
        assert_eq!(a.diff(b), -20);
        assert_eq!(b.since(a), 20);
    }

    #[test]
    fn numbers_half_the_space_apart_are_incomparable() {
        let a = SeqNum::new(0);
        let b = SeqNum::new(1 << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert!(!a.lt(b) && !a.gt(b) && a != b);
    }

    #[test]
    fn half_open_range_excludes_its_right_edge_and_handles_wrap() {
        let lo = SeqNum::new(u32::MAX - 1);
        let hi = lo + 4;
        assert!(lo.in_range(lo, hi));
        assert!((lo + 3).in_range(lo, hi));
        assert!(!hi.in_range(lo, hi));
        assert!(!(lo - 1).in_range(lo, hi));
        assert!(!lo.in_range(lo, lo), "an empty window contains nothing");
        assert!(hi.in_range_inclusive(lo, hi));
    }

    proptest! {
        #[test]
        fn adding_a_small_positive_amount_moves_forward(x: u32, n in 1u32..(1 << 31)) {
            let a = SeqNum::new(x);
            prop_assert!(a < a + n);
            prop_assert_eq!((a + n).since(a), n);
            prop_assert_eq!((a + n) - n, a);
            prop_assert_eq!((a + n).max(a), a + n);
            prop_assert_eq!((a + n).min(a), a);
        }
    }
}
