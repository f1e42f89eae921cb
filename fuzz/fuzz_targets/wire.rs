//! Fuzz target `wire`: parse arbitrary bytes as an IPv4/IPv6 packet and as a bare TCP
//! segment; whatever parses is emitted again and must parse to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../src/wire_check.rs");

fuzz_target!(|data: &[u8]| {
    check_wire_round_trip(data);
});
