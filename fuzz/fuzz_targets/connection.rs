//! Fuzz target `connection`: a single `Connection` driven by fuzzed segments, time and application calls (see src/connection_check.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod support {
    include!("../src/support.rs");
}

include!("../src/connection_check.rs");

fuzz_target!(|data: &[u8]| {
    check_connection(data);
});
