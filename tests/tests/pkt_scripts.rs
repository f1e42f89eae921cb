//! Runs every scenario script under `tests/scripts` through the packetdrill-dialect
//! executor. Every script must PASS, except those in [`PENDING`], which need a feature
//! that another issue delivers; those must still FAIL or SKIP (so the list stays honest:
//! when a feature lands, its scripts start passing and must leave the list).

use std::path::{Path, PathBuf};
use tcp_tests::pkt::{Outcome, run_file};

/// Scripts that cannot pass yet, with the missing feature.
const PENDING: &[(&str, &str)] = &[];

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scripts dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scripts(&p, out);
        } else if p.extension().is_some_and(|x| x == "pkt") {
            out.push(p);
        }
    }
}

#[test]
fn every_script_passes_or_is_pending() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut files = Vec::new();
    scripts(&root, &mut files);
    assert!(files.len() >= 60, "only {} scripts", files.len());
    let mut problems = Vec::new();
    let mut seen_pending = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        let outcome = run_file(f);
        let line = outcome.report_line(&rel);
        println!("{line}");
        match PENDING.iter().find(|(p, _)| *p == rel) {
            Some((_, why)) => {
                seen_pending.push(rel.clone());
                if outcome == Outcome::Pass {
                    problems.push(format!(
                        "{rel} passes now: remove it from PENDING (was: {why})"
                    ));
                }
            }
            None => {
                if outcome != Outcome::Pass {
                    problems.push(line);
                }
            }
        }
    }
    for (p, _) in PENDING {
        if !seen_pending.iter().any(|s| s == p) {
            problems.push(format!("PENDING names {p}, which does not exist"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
