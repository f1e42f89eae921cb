//! Allocation counting for memory measurements, by the `stats_alloc` crate: install it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` in a binary, then read
//! [`allocated`] before and after.
//!
//! [`CountingAlloc`] is `stats_alloc`'s instrumented system allocator,
//! [`INSTRUMENTED_SYSTEM`], taken by reference (the crate's way to install it). The type
//! and the constant share a name so that installing it reads like a unit struct.

use std::alloc::System;

pub use stats_alloc::{INSTRUMENTED_SYSTEM, Stats, StatsAlloc};

/// The counting global allocator's type: a reference to [`INSTRUMENTED_SYSTEM`], which
/// forwards to the system allocator and counts calls and bytes.
pub type CountingAlloc = &'static StatsAlloc<System>;

/// The counting global allocator (see [`CountingAlloc`]).
#[allow(non_upper_case_globals)]
pub const CountingAlloc: CountingAlloc = &INSTRUMENTED_SYSTEM;

/// The counts so far (all zero unless [`CountingAlloc`] is the global allocator).
pub fn stats() -> Stats {
    INSTRUMENTED_SYSTEM.stats()
}

/// Bytes currently allocated through the counting allocator.
pub fn allocated() -> isize {
    let s = stats();
    // Reallocations add their growth to `bytes_allocated` and their shrinkage to
    // `bytes_deallocated`, so the difference is the live bytes.
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

/// Allocation calls so far (reallocations included).
pub fn allocations() -> usize {
    let s = stats();
    s.allocations + s.reallocations
}
