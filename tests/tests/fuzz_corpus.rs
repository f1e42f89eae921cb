//! Replays the seed corpora of the `connection`, `endpoint`, `pair`, `hostile` and `pkt` fuzz targets
//! (`fuzz/corpus/<target>/`) through the targets' own checks, so the stable test suite runs
//! the fuzz logic. The checks are the very files the fuzz targets include.
//!
//! To replay one input (a crash artifact, say) with a trace of every step:
//! `FUZZ_REPLAY=path FUZZ_TRACE=1 cargo test -p tcp-tests --test fuzz_corpus replay_one -- --nocapture`.

#[allow(dead_code)]
mod support {
    include!("../../fuzz/src/support.rs");
}

include!("../../fuzz/src/connection_check.rs");
include!("../../fuzz/src/endpoint_check.rs");
include!("../../fuzz/src/pair_check.rs");
include!("../../fuzz/src/hostile_check.rs");

/// The `hostile` check bounds the heap each thread holds.
#[global_allocator]
static ALLOC: support::CountingAlloc = support::CountingAlloc;
include!("../../fuzz/src/pkt_check.rs");

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected a seed corpus in {}, found {} files",
        dir.display(),
        files.len()
    );
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for path in corpus(target) {
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{target} seed {} fails", path.display());
    }
}

#[test]
fn connection_corpus_replays() {
    replay("connection", check_connection);
}

#[test]
fn endpoint_corpus_replays() {
    replay("endpoint", check_endpoint);
}

#[test]
fn pair_corpus_replays() {
    replay("pair", check_pair);
}

#[test]
fn hostile_corpus_replays() {
    replay("hostile", check_hostile);
}

#[test]
fn checks_accept_empty_and_tiny_inputs() {
    for data in [&[][..], &[0], &[0xff; 7]] {
        check_connection(data);
        check_endpoint(data);
        check_pair(data);
        check_hostile(data);
    }
}

/// Replays the file named by `FUZZ_REPLAY` through the target named by `FUZZ_TARGET`
/// (default: guessed from the path); does nothing without `FUZZ_REPLAY`.
#[test]
fn replay_one() {
    let Ok(path) = std::env::var("FUZZ_REPLAY") else {
        return;
    };
    if std::env::var_os("FUZZ_TRACE").is_some() {
        support::TRACE.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let data = std::fs::read(&path).unwrap();
    let target = std::env::var("FUZZ_TARGET").unwrap_or_else(|_| {
        ["connection", "endpoint", "pair", "hostile"]
            .into_iter()
            .find(|t| path.contains(t))
            .unwrap_or("connection")
            .to_string()
    });
    match target.as_str() {
        "connection" => check_connection(&data),
        "endpoint" => check_endpoint(&data),
        "hostile" => check_hostile(&data),
        _ => check_pair(&data),
    }
}

#[test]
fn pkt_corpus_never_panics_the_parser() {
    replay("pkt", check_pkt);
}
