//! Fuzz target `pkt`: the packetdrill-dialect parser never panics on any text.
#![no_main]

include!("../src/pkt_check.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| check_pkt(data));
