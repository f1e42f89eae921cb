//! Fuzz target `hostile`: the fuzzer plays a hostile peer against a sending connection (arbitrary ACKs, SACK blocks, windows, RSTs, timestamps, time steps); invariants after every step (see src/hostile_check.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod support {
    include!("../src/support.rs");
}

/// Counts the heap per thread, for the memory bound of the check.
#[global_allocator]
static ALLOC: support::CountingAlloc = support::CountingAlloc;

include!("../src/hostile_check.rs");

fuzz_target!(|data: &[u8]| {
    check_hostile(data);
});
