//! Fuzz target `pair`: two endpoints over a fuzzer-controlled faulty link with a fuzzed workload; every byte written must be read, in order (see src/pair_check.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod support {
    include!("../src/support.rs");
}

include!("../src/pair_check.rs");

fuzz_target!(|data: &[u8]| {
    check_pair(data);
});
