//! `tcp-pkt`: run packetdrill scripts against tcp-core on virtual time, with packetdrill's
//! semantics (see `tcp_tests::pkt`).
//!
//! Prints `PASS <file>`, `FAIL <file>:<line>: <expected> / <happened>` or
//! `SKIP <file>: <reason>` per script, then `N passed, M failed, K skipped`. A directory
//! runs every `*.pkt` under it. Exits 0 when nothing failed (or, with `--expect`, when
//! every result matches the expectations file).

use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tcp_tests::pkt::report::{self, Entry};
use tcp_tests::pkt::{Outcome, Profile, RunOptions, run_file_with};

#[derive(Parser, Debug)]
#[command(
    name = "tcp-pkt",
    about = "Run packetdrill scripts against tcp-core on virtual time",
    long_about = "Run packetdrill scripts (google/packetdrill's Linux dialect or the FreeBSD \
tcp-testsuite's NPLab dialect) against tcp-core on virtual time, with packetdrill's \
semantics. By default each script gets the options upstream's runners pass (as \
../shared/oracle/linux-oracle does), so results compare with real Linux.",
    after_help = "Examples:\n  tcp-pkt tests/scripts\n  tcp-pkt --summary ../shared/oracle/dev-set/google-packetdrill/gtests/net/tcp\n  tcp-pkt --expect tests/dev-set-expectations.txt --root ../shared/oracle/dev-set"
)]
struct Cli {
    /// Scripts or folders (every *.pkt below a folder). With --expect, defaults to --root.
    paths: Vec<PathBuf>,
    /// Platform the scripts target: linux or freebsd (default: detected per script from
    /// its commands, `net.inet.*` sysctls, sockstat or tcpdrop meaning FreeBSD).
    #[arg(long, value_parser = parse_profile)]
    profile: Option<Profile>,
    /// Print counts by result, SKIP reason, FAIL kind and folder after the per-script lines.
    #[arg(long)]
    summary: bool,
    /// Print only the summary (implies --summary).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print what the runner noticed (accepted sysctls, print() output, warnings).
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Compare each script's result with this expectations file (paths relative to --root);
    /// exit 1 on any difference.
    #[arg(long, requires = "root")]
    expect: Option<PathBuf>,
    /// Root the expectation paths are relative to (the dev set).
    #[arg(long)]
    root: Option<PathBuf>,
    /// With --expect: rewrite the expectations file from this run instead of comparing.
    #[arg(long, requires = "expect")]
    bless: bool,
    /// A packetdrill command-line option, NAME=VALUE or NAME (e.g. -O tolerance_usecs=14000);
    /// wins over the script's own option lines. Repeatable.
    #[arg(short = 'O', long = "option", value_name = "NAME[=VALUE]")]
    options: Vec<String>,
    /// A packetdrill definition NAME=VALUE (as packetdrill's -D). Repeatable.
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    defines: Vec<String>,
    /// Do not pass the options upstream's runners pass (addresses, IPv6 MTU 1520, -D values).
    #[arg(long)]
    no_upstream_args: bool,
    /// Run scripts that name no IP family as IPv6 (as the oracle's --ipv6).
    #[arg(long)]
    ipv6: bool,
    /// C-preprocessor symbol defined for `#ifdef` lines (default: FreeBSD or Linux, after
    /// the profile). Repeatable.
    #[arg(long = "cpp-define", value_name = "SYMBOL")]
    cpp: Vec<String>,
    /// Diagnostics only: note mismatches of this outbound packet field instead of failing
    /// (tcp_window, tcp_psh, options, timing, ...), to see what differs next. Repeatable.
    /// Results of such a run are not results.
    #[arg(long = "diag-ignore", value_name = "FIELD")]
    diag_ignore: Vec<String>,
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    match s {
        "linux" => Ok(Profile::Linux),
        "freebsd" => Ok(Profile::FreeBsd),
        other => Err(format!("unknown profile {other} (linux or freebsd)")),
    }
}

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

fn split_kv(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.trim_start_matches('-').to_string(), v.to_string()),
        None => (s.trim_start_matches('-').to_string(), String::new()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = RunOptions {
        profile: cli.profile,
        options: cli.options.iter().map(|o| split_kv(o)).collect(),
        defines: cli.defines.iter().map(|d| split_kv(d)).collect(),
        upstream_args: !cli.no_upstream_args,
        ipv6: cli.ipv6,
        cpp_symbols: (!cli.cpp.is_empty()).then(|| cli.cpp.clone()),
        diag_ignore: cli.diag_ignore.clone(),
    };
    if !cli.diag_ignore.is_empty() && cli.expect.is_some() {
        eprintln!("tcp-pkt: --diag-ignore runs are diagnostics, not results: not with --expect");
        return ExitCode::from(2);
    }
    let mut paths = cli.paths.clone();
    if paths.is_empty() {
        match &cli.root {
            Some(r) if cli.expect.is_some() => paths.push(r.clone()),
            _ => {
                eprintln!("tcp-pkt: no scripts given (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let mut files = Vec::new();
    for p in &paths {
        if !p.exists() {
            eprintln!("tcp-pkt: {} does not exist", p.display());
            return ExitCode::from(2);
        }
        collect(p, &mut files);
    }
    let root = cli.root.clone();
    let rel = |f: &Path| -> String {
        match &root {
            Some(r) => f
                .strip_prefix(r)
                .unwrap_or(f)
                .to_string_lossy()
                .replace('\\', "/"),
            None => f.display().to_string(),
        }
    };
    let mut entries = Vec::new();
    let (mut pass, mut failed, mut skipped) = (0, 0, 0);
    for f in &files {
        let r = run_file_with(f, &opts);
        match r.outcome {
            Outcome::Pass => pass += 1,
            Outcome::Fail { .. } => failed += 1,
            Outcome::Skip(_) => skipped += 1,
        }
        let name = rel(f);
        if !cli.quiet {
            println!("{}", r.outcome.report_line(&name));
            if cli.verbose {
                for n in &r.notes {
                    println!("    note: {n}");
                }
            }
        }
        entries.push(Entry {
            path: name,
            outcome: r.outcome,
        });
    }
    if cli.summary || cli.quiet {
        print!("{}", report::summary(&entries));
    }
    println!("{pass} passed, {failed} failed, {skipped} skipped");
    let Some(expect) = &cli.expect else {
        return if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    };
    if cli.bless {
        let header = "# tcp-pkt expectations: the result of each upstream script of the dev set\n\
# (paths relative to ../shared/oracle/dev-set), with the first mismatch or the SKIP reason.\n\
# A run must match: same result, same failing line, same SKIP category (text before ':').\n\
# Regenerate after a change that moves results:\n\
#   cargo run --release -p tcp-tests --bin tcp-pkt -- --expect tests/dev-set-expectations.txt \\\n\
#       --root ../shared/oracle/dev-set --bless\n";
        if let Err(e) = std::fs::write(expect, report::write_expectations(&entries, header)) {
            eprintln!("tcp-pkt: cannot write {}: {e}", expect.display());
            return ExitCode::from(2);
        }
        println!(
            "wrote {} expectations to {}",
            entries.len(),
            expect.display()
        );
        return ExitCode::SUCCESS;
    }
    let text = match std::fs::read_to_string(expect) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tcp-pkt: cannot read {}: {e}", expect.display());
            return ExitCode::from(2);
        }
    };
    let expected = match report::parse_expectations(&text) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tcp-pkt: {}: {e}", expect.display());
            return ExitCode::from(2);
        }
    };
    let diffs = report::compare(&entries, &expected);
    if diffs.is_empty() {
        println!("all {} results match {}", entries.len(), expect.display());
        return ExitCode::SUCCESS;
    }
    println!(
        "{} results differ from {} (update it with --bless if the change is right):",
        diffs.len(),
        expect.display()
    );
    for d in diffs {
        println!("  {d}");
    }
    ExitCode::FAILURE
}
