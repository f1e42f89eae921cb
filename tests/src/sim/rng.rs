//! The seeded PRNG of the simulator and the test pairs: `rand_xoshiro`'s xoshiro256**
//! behind a small API.
//!
//! The simulator needs randomness that is exactly repeatable from one seed and cheap to
//! split into independent streams (one per link direction), so that turning on pcap or a
//! trace, or adding a link, never changes the random draws of another link. A seed is
//! expanded into generator state by SplitMix64 (`SeedableRng::seed_from_u64`), and stream
//! `k` of a seed starts `k * 2^128` draws further along the same sequence (the
//! generator's jump function), so streams never overlap.

use rand_xoshiro::Xoshiro256StarStar;
use rand_xoshiro::rand_core::{Rng as _, SeedableRng};

/// xoshiro256** pseudo-random generator: fast, 256 bits of state, deterministic.
#[derive(Debug, Clone)]
pub struct Rng {
    inner: Xoshiro256StarStar,
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng {
            inner: Xoshiro256StarStar::seed_from_u64(seed),
        }
    }

    /// A generator for sub-stream `stream` of `seed`: the sequence of [`Rng::new`]`(seed)`
    /// jumped ahead by `stream * 2^128` draws, so no two streams of one seed overlap for
    /// any feasible run length. Stream 0 is [`Rng::new`]`(seed)` itself.
    pub fn derive(seed: u64, stream: u64) -> Self {
        let mut rng = Rng::new(seed);
        if stream != 0 {
            rng.inner.jump_ce(stream, 128);
        }
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform float in `[0, 1)` (53 bits of precision).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (`p <= 0` never, `p >= 1` always; no draw is made
    /// for either extreme, so a disabled fault costs no randomness).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.next_f64() < p
        }
    }

    /// A uniform integer in `[0, n)`; `0` when `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for a simulator.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn seeding_is_splitmix64_into_xoshiro256starstar() {
        // Reference: xoshiro256** (Blackman and Vigna) with its state filled by four
        // SplitMix64 outputs from the seed, as the authors recommend.
        fn splitmix64(x: &mut u64) -> u64 {
            *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        let mut x = 7u64;
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix64(&mut x);
        }
        let mut r = Rng::new(7);
        for _ in 0..100 {
            let want = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
            let t = s[1] << 17;
            s[2] ^= s[0];
            s[3] ^= s[1];
            s[1] ^= s[2];
            s[0] ^= s[3];
            s[2] ^= t;
            s[3] = s[3].rotate_left(45);
            assert_eq!(r.next_u64(), want);
        }
    }

    #[test]
    fn different_seeds_and_streams_differ() {
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        assert_ne!(Rng::derive(1, 0).next_u64(), Rng::derive(1, 1).next_u64());
        assert_ne!(Rng::derive(1, 1).next_u64(), Rng::derive(1, 2).next_u64());
        assert_eq!(Rng::derive(5, 0).next_u64(), Rng::new(5).next_u64());
    }

    #[test]
    fn streams_are_jumps_of_one_sequence() {
        let mut a = Rng::derive(9, 1);
        let mut b = Rng::new(9);
        b.inner.jump();
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = Rng::derive(9, 3);
        let mut d = Rng::new(9);
        for _ in 0..3 {
            d.inner.jump();
        }
        assert_eq!(c.next_u64(), d.next_u64());
    }

    #[test]
    fn chance_matches_probability_roughly() {
        let mut r = Rng::new(7);
        let hits = (0..100_000).filter(|_| r.chance(0.1)).count();
        assert!((9_000..11_000).contains(&hits), "hits {hits}");
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(3);
        for n in [1u64, 2, 3, 1000, u64::MAX] {
            for _ in 0..100 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.below(0), 0);
    }
}
