//! Runs every scenario script under `tests/scripts` through the packetdrill-dialect
//! executor, one test per script named by its path (`cargo test --test pkt_scripts --
//! handshake/`). Every script must PASS, except those in [`NOT_PACKETDRILL`]: scripts that
//! real packetdrill fails too (checked with `../shared/oracle/linux-oracle`), kept until
//! they are rewritten; they must still fail, so the list stays honest.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use tcp_tests::pkt::{Outcome, run_file};

/// Scripts that fail under packetdrill's semantics, with what real packetdrill says.
const NOT_PACKETDRILL: &[(&str, &str)] = &[];

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

fn check(path: &Path, rel: &str) -> Result<(), Failed> {
    let outcome = run_file(path);
    match NOT_PACKETDRILL.iter().find(|(p, _)| *p == rel) {
        Some((_, why)) => match outcome {
            Outcome::Pass => {
                Err(format!("{rel} passes now: remove it from NOT_PACKETDRILL (was: {why})").into())
            }
            _ => Ok(()),
        },
        None => match outcome {
            Outcome::Pass => Ok(()),
            other => Err(other.report_line(rel).into()),
        },
    }
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut files = Vec::new();
    scripts(&root, &mut files);
    let rels: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let mut trials: Vec<Trial> = files
        .iter()
        .zip(&rels)
        .map(|(f, rel)| {
            let (f, rel) = (f.clone(), rel.clone());
            Trial::test(rel.clone(), move || check(&f, &rel))
        })
        .collect();
    // The list names only scripts that exist.
    let missing: Vec<String> = NOT_PACKETDRILL
        .iter()
        .filter(|(p, _)| !rels.iter().any(|r| r == p))
        .map(|(p, _)| p.to_string())
        .collect();
    let count = files.len();
    trials.push(Trial::test(
        "not_packetdrill_list_names_existing_scripts",
        move || {
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("NOT_PACKETDRILL names missing scripts: {missing:?}").into())
            }
        },
    ));
    trials.push(Trial::test("there_are_scenario_scripts", move || {
        if count >= 60 {
            Ok(())
        } else {
            Err(format!("only {count} scripts").into())
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}
