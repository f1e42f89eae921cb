//! The core's notion of time.
//!
//! The core never reads a clock: every call takes `now: Instant`, a monotonic count of
//! microseconds from an arbitrary origin chosen by the embedder. Durations are
//! [`core::time::Duration`].

use core::fmt;
use core::num::NonZeroU64;
use core::ops::{Add, AddAssign, Sub};
pub use core::time::Duration;

/// A point in time: microseconds since an arbitrary origin chosen by the caller.
///
/// Arithmetic saturates instead of overflowing, so hostile or extreme inputs (a time
/// advance of centuries) never panic. The latest instant is `u64::MAX - 1` microseconds
/// after the origin: the count is stored plus one, so an `Option<Instant>` (a timer that
/// may be unset) takes no more room than an `Instant`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

impl Default for Instant {
    fn default() -> Self {
        Instant::ZERO
    }
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(NonZeroU64::MIN);
    /// The largest representable instant; used as "never".
    pub const MAX: Instant = Instant(NonZeroU64::MAX);

    /// An instant `us` microseconds after the origin (saturating at [`Instant::MAX`]).
    pub const fn from_micros(us: u64) -> Self {
        Instant(NonZeroU64::MIN.saturating_add(us))
    }

    /// An instant `ms` milliseconds after the origin (saturating).
    pub const fn from_millis(ms: u64) -> Self {
        Instant::from_micros(ms.saturating_mul(1000))
    }

    /// An instant `s` seconds after the origin (saturating).
    pub const fn from_secs(s: u64) -> Self {
        Instant::from_micros(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0.get() - 1
    }

    /// Milliseconds since the origin (truncated).
    pub const fn as_millis(self) -> u64 {
        self.as_micros() / 1000
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later than `self`.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.get().saturating_sub(earlier.0.get()))
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_micros(d)))
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Instant {
        Instant::from_micros(self.as_micros().saturating_sub(duration_micros(d)))
    }
}

/// A duration in whole microseconds, saturating at `u64::MAX`.
pub fn duration_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Whole seconds since the origin, modulo 2³² (136 years): a coarse stamp, as Linux's
/// `ts_recent_stamp`.
pub(crate) const fn secs32(t: Instant) -> u32 {
    (t.as_micros() / 1_000_000) as u32
}

/// `d * k`, saturating at `max` (used for exponential backoff).
pub fn mul_capped(d: Duration, k: u32, max: Duration) -> Duration {
    d.checked_mul(k).map_or(max, |v| v.min(max))
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = self.saturating_add(d);
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        self.saturating_sub(d)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.as_micros();
        write!(f, "{}.{:06}s", us / 1_000_000, us % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::ZERO - Instant::from_secs(5), Duration::ZERO);
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
        assert_eq!(Instant::from_micros(u64::MAX), Instant::MAX);
        assert_eq!(Instant::MAX.as_micros(), u64::MAX - 1);
    }

    #[test]
    fn an_unset_timer_costs_no_room() {
        assert_eq!(
            core::mem::size_of::<Option<Instant>>(),
            core::mem::size_of::<Instant>()
        );
    }

    #[test]
    fn durations_between_instants_are_exact_to_the_microsecond() {
        let a = Instant::from_millis(1500);
        let b = a + Duration::from_micros(2_500_001);
        assert_eq!(b - a, Duration::from_micros(2_500_001));
        assert_eq!(b.as_micros(), 4_000_001);
    }

    #[test]
    fn backoff_multiplication_is_capped() {
        let max = Duration::from_secs(120);
        assert_eq!(
            mul_capped(Duration::from_secs(1), 64, max),
            Duration::from_secs(64)
        );
        assert_eq!(mul_capped(Duration::from_secs(1), 256, max), max);
        assert_eq!(mul_capped(Duration::MAX, 2, max), max);
    }
}
