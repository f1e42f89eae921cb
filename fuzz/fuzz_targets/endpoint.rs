//! Fuzz target `endpoint`: an `Endpoint` with listeners, fed segments for many 4-tuples, time and application calls (see src/endpoint_check.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod support {
    include!("../src/support.rs");
}

include!("../src/endpoint_check.rs");

fuzz_target!(|data: &[u8]| {
    check_endpoint(data);
});
