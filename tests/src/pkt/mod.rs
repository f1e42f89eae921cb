//! The packetdrill-dialect script parser: text → typed [`Script`].
//!
//! The grammar follows packetdrill's `lexer.l`/`parser.y` for the TCP subset: leading
//! `--option=value` lines, backtick commands, `//` and `/* */` comments, event times
//! (`0`, `+0.1`, `.1`, `*`, `a~b`, `+a~+b`, blocking `+a...b call()`), TCP packet lines,
//! ICMP and UDP packet lines, system calls with expression arguments, and `%{ }%` blocks.
//! Whitespace (including newlines) only separates tokens, as in packetdrill.
//!
//! Semantic checks done here, as packetdrill does them: `*` and time ranges only on
//! outbound packets, ranges not backwards, no negative times, `start:end(len)`
//! consistent, inbound TCP packets must carry `win`, `<...>` and `[ect01]` only on
//! outbound packets, option lists padded to a multiple of 4 bytes and at most 40, and
//! value ranges (u32 sequence numbers, u16 windows/MSS/ports, u8 wscale/tos/ttl).
//! `--define=NAME=VALUE` substitutes words after the options.
//!
//! # Notes for the executor
//!
//! - Relative times (`+t`, `+a~+b`, and the `...b` end of a blocking call written after
//!   a relative start) count from the previous event's time; [`EventTime::Untimed`]
//!   shell commands (init/cleanup) run at the current time.
//! - Packet numbers are script-relative: outbound `start_seq`/`end_seq` and inbound
//!   `ack` and SACK blocks are relative to the stack's ISN; inbound `start_seq`,
//!   outbound `ack` and outbound SACK blocks to the script peer's ISN (the seq of its
//!   first SYN, usually 0).
//! - [`PacketEvent::options`]: `None` is `<...>` (don't check), `Some(vec![])` means the
//!   segment carries no options; `win`/`ack` `None` on an outbound line mean "don't
//!   check". TS val is only meaningful with `--tcp_ts_tick_usecs`.
//! - [`CodeBlock::fully_parsed`] tells whether every statement is an assertion the
//!   executor can evaluate with [`Assertion::eval`]; otherwise SKIP with the
//!   [`CodeStatement::Unparsed`] text as the reason.
//! - Every AST node prints back in packetdrill syntax (`Display`), for FAIL messages.
//!
//! # Running scripts
//!
//! [`run_script`] / [`run_file`] execute a script against a `tcp_core::Endpoint` on
//! virtual time and return an [`Outcome`] (`Pass`, `Fail { line, expected, happened }`
//! or `Skip(reason)`); the `tcp-pkt` binary prints one line per file. How ISNs,
//! timestamps, time and sockets are mapped is described in the `exec` module's source
//! documentation (`tests/src/pkt/exec.rs`).
//!
//! ```
//! use tcp_tests::pkt::{parse_script, run_script, Outcome};
//! let s = parse_script("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3").unwrap();
//! assert_eq!(run_script(&s), Outcome::Pass);
//! ```
//!
//! ```
//! use tcp_tests::pkt::{parse_script, EventKind};
//! let s = parse_script("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0(0) win 1000").unwrap();
//! assert!(matches!(s.events[1].kind, EventKind::Packet(_)));
//! ```

pub mod ast;
mod display;
mod exec;
mod info;
mod lexer;
mod machine;
mod parser;
pub mod python;
pub mod report;
mod shell;
mod syscalls;
mod sysctl;

pub use ast::*;
pub use exec::{Outcome, Profile, Report, RunOptions, run_file, run_file_with, run_script};
pub use parser::{parse_script, parse_script_with, parse_script_with_defines};

use core::fmt;

/// A parse failure: the 1-based line and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number in the script text.
    pub line: usize,
    /// Human-readable description.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parse the script file at `path`, mapping I/O errors to a line-0 [`ParseError`].
pub fn parse_file(path: &std::path::Path) -> Result<Script, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|e| ParseError {
        line: 0,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    parse_script(&text)
}
