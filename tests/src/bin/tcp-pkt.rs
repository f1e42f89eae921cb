//! `tcp-pkt FILE...`: run packetdrill-dialect scripts against tcp-core on virtual time.
//!
//! Prints `PASS <file>`, `FAIL <file>:<line>: <expected> / <happened>` or
//! `SKIP <file>: <reason>` per script, then `N passed, M failed, K skipped`. Exits 0 only
//! when nothing failed. A directory argument runs every `*.pkt` file under it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tcp_tests::pkt::{Outcome, run_file};

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "pkt") {
                collect(&e, out);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("usage: tcp-pkt FILE.pkt|DIR...");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for a in &args {
        collect(Path::new(a), &mut files);
    }
    let (mut pass, mut failed, mut skipped) = (0, 0, 0);
    for f in &files {
        let outcome = run_file(f);
        match outcome {
            Outcome::Pass => pass += 1,
            Outcome::Fail { .. } => failed += 1,
            Outcome::Skip(_) => skipped += 1,
        }
        println!("{}", outcome.report_line(&f.display().to_string()));
    }
    println!("{pass} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
