// Shared by fuzz_targets/pkt.rs and tests/tests/fuzz_corpus.rs (through `include!`).

/// The packetdrill-dialect parser must not panic on any text, and whatever it accepts must
/// print back (in the dialect) without panicking.
pub fn check_pkt(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(script) = tcp_tests::pkt::parse_script(&text) {
        let printed = script.to_string();
        let _ = tcp_tests::pkt::parse_script(&printed);
    }
}
