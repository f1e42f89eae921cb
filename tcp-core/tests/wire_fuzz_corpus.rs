//! Replays every seed of the `wire` fuzz target's corpus (`fuzz/corpus/wire/`) through the
//! target's own round-trip check, so the stable test suite exercises the fuzz logic.

// The exact check the fuzz target runs (fuzz/fuzz_targets/wire.rs includes the same file).
include!("../../fuzz/src/wire_check.rs");

use std::path::Path;

#[test]
fn every_fuzz_corpus_seed_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wire");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            check_wire_round_trip(&data);
            seen += 1;
        }
    }
    assert!(
        seen >= 40,
        "expected the golden seeds in {}, found {seen}",
        dir.display()
    );
}

#[test]
fn golden_seeds_actually_parse_so_the_replay_checks_something() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wire");
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("golden-") && !name.ends_with("-tcp.bin") {
            let data = std::fs::read(&path).unwrap();
            tcp_core::wire::parse_ip_tcp_packet(&data).unwrap();
            parsed += 1;
        }
    }
    assert!(parsed >= 20, "only {parsed} golden IP packets found");
}

#[test]
fn round_trip_check_passes_on_garbage_and_on_a_bare_header() {
    // Garbage parses as nothing: the check must pass quietly.
    for data in [&[][..], &[0x45], &[0x60; 39], &[0xff; 100]] {
        assert!(tcp_core::wire::parse_ip_packet(data).is_err());
        check_wire_round_trip(data);
    }
    // Twenty 0x50 bytes are a valid option-less TCP header: the TCP branch runs.
    let header = [0x50u8; 20];
    assert!(tcp_core::wire::TcpHeader::parse(&header).is_ok());
    check_wire_round_trip(&header);
}
