//! Summaries of many runs, and the expectations file that pins each upstream script's
//! result.
//!
//! An expectations file has one line per script, `RESULT PATH` or `RESULT PATH | REASON`,
//! with the path relative to a root folder (the dev set) and `#` comments. A run matches
//! it when every script has the same result and, for a FAIL, the same failing line, and,
//! for a SKIP, the same reason category (the text before the first `:`); the rest of a
//! reason is information for the reader.

use super::exec::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One script's result, for summaries and expectations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path (relative to the root for expectations).
    pub path: String,
    /// The outcome.
    pub outcome: Outcome,
}

/// The grouping key of a non-passing outcome: a SKIP's category (before the first
/// `: `), or a FAIL's kind of first mismatch (the packet field, `timing`, `syscall
/// result`, ...).
pub fn category(o: &Outcome) -> String {
    match o {
        Outcome::Pass => "pass".into(),
        Outcome::Skip(r) => r.split(": ").next().unwrap_or(r).trim().to_string(),
        Outcome::Fail {
            expected, happened, ..
        } => fail_category(expected, happened),
    }
}

fn fail_category(_expected: &str, h: &str) -> String {
    if let Some(rest) = h.strip_prefix("live packet field ") {
        let field = rest.split(':').next().unwrap_or(rest);
        return format!("packet field {field}");
    }
    if let Some(rest) = h.strip_prefix("aggregate candidate: live packet field ") {
        let field = rest.split(':').next().unwrap_or(rest);
        return format!("aggregation: {field} differs between segments");
    }
    let prefixes: &[(&str, &str)] = &[
        ("live packet payload", "packet payload length"),
        ("fragment payload", "aggregation: segment sizes"),
        (
            "timing error: expected outbound packet",
            "timing: outbound packet",
        ),
        (
            "timing error: expected system call return",
            "timing: system call return",
        ),
        ("timing error", "timing: event late"),
        ("bad outbound TCP options", "TCP options (kinds or order)"),
        ("bad outbound TCP timestamp", "TCP timestamp value"),
        ("Expected result", "system call result"),
        ("Expected non-negative result", "system call result"),
        ("Expected errno", "system call errno"),
        ("error in Python code", "code block assertion"),
        ("parse error", "parse error"),
        ("timed out waiting", "no packet"),
        ("error handling packet: unable", "inbound TS ecr mapping"),
        ("runtime error", "runtime error"),
        ("the call blocks for ever", "system call blocks for ever"),
        ("error executing", "command failed"),
        ("flowlabel", "IPv6 flow label"),
        ("socket option", "socket option value"),
        ("ioctl", "ioctl value"),
        ("epoll event", "epoll_wait event"),
        ("poll revents", "poll revents"),
        ("control message", "recvmsg control message"),
    ];
    for (p, c) in prefixes {
        if h.starts_with(p) {
            if *c == "code block assertion" && h.contains("NameError") {
                return "code block NameError".into();
            }
            return (*c).to_string();
        }
    }
    if let Some(rest) = h.strip_prefix("bad value in outbound TCP option (kind=") {
        let kind = rest.split(')').next().unwrap_or("?");
        let name = match kind {
            "2" => "mss",
            "3" => "wscale",
            "5" => "sack",
            "34" | "254" => "fastopen",
            k => k,
        };
        return format!("TCP option {name} value");
    }
    if let Some(rest) = h.strip_prefix("bad length in outbound TCP option (kind=") {
        let kind = rest.split(')').next().unwrap_or("?");
        return format!("TCP option kind {kind} length");
    }
    h.split([':', ';']).next().unwrap_or(h).trim().to_string()
}

/// The text `--summary` prints: counts, SKIPs by reason, FAILs by first mismatch, and
/// results per folder.
pub fn summary(entries: &[Entry]) -> String {
    let mut out = String::new();
    let count = |k: &str| entries.iter().filter(|e| e.outcome.kind() == k).count();
    let _ = writeln!(
        out,
        "== {} scripts: {} PASS, {} FAIL, {} SKIP",
        entries.len(),
        count("PASS"),
        count("FAIL"),
        count("SKIP")
    );
    for kind in ["SKIP", "FAIL"] {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for e in entries.iter().filter(|e| e.outcome.kind() == kind) {
            *by.entry(category(&e.outcome)).or_default() += 1;
        }
        if by.is_empty() {
            continue;
        }
        let mut v: Vec<(String, usize)> = by.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let what = if kind == "SKIP" {
            "reason"
        } else {
            "first mismatch"
        };
        let _ = writeln!(out, "== {kind} by {what}");
        for (c, n) in v {
            let _ = writeln!(out, "{n:6}  {c}");
        }
    }
    let mut folders: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for e in entries {
        let folder = match e.path.rfind('/') {
            Some(i) => e.path[..i].to_string(),
            None => ".".into(),
        };
        let slot = folders.entry(folder).or_default();
        slot[match e.outcome.kind() {
            "PASS" => 0,
            "FAIL" => 1,
            _ => 2,
        }] += 1;
    }
    let width = folders.keys().map(String::len).max().unwrap_or(6).max(6);
    let _ = writeln!(out, "== by folder\n{:width$}  PASS  FAIL  SKIP", "folder");
    for (f, [p, fl, s]) in folders {
        let _ = writeln!(out, "{f:width$}  {p:4}  {fl:4}  {s:4}");
    }
    out
}

/// An expectation: result, the FAIL line or SKIP category to match, and the reason text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// `PASS`, `FAIL` or `SKIP`.
    pub kind: String,
    /// The reason as written (may be empty).
    pub reason: String,
}

/// The reason text an entry is written with.
pub fn reason(o: &Outcome) -> String {
    match o {
        Outcome::Pass => String::new(),
        Outcome::Fail { line, happened, .. } => {
            let h: String = happened
                .split("; actual")
                .next()
                .unwrap_or(happened)
                .chars()
                .take(160)
                .collect();
            format!("line {line}: {h}")
        }
        Outcome::Skip(r) => r.chars().take(200).collect(),
    }
}

/// Parses an expectations file: path → expectation.
pub fn parse_expectations(text: &str) -> Result<BTreeMap<String, Expectation>, String> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (head, reason) = match l.split_once(" | ") {
            Some((h, r)) => (h.trim(), r.trim().to_string()),
            None => (l, String::new()),
        };
        let Some((kind, path)) = head.split_once(char::is_whitespace) else {
            return Err(format!("line {}: expected `RESULT PATH [| REASON]`", i + 1));
        };
        if !matches!(kind, "PASS" | "FAIL" | "SKIP") {
            return Err(format!("line {}: unknown result {kind}", i + 1));
        }
        out.insert(
            path.trim().to_string(),
            Expectation {
                kind: kind.to_string(),
                reason,
            },
        );
    }
    Ok(out)
}

/// Writes an expectations file for `entries`.
pub fn write_expectations(entries: &[Entry], header: &str) -> String {
    let mut out = String::from(header);
    for e in entries {
        let r = reason(&e.outcome);
        if r.is_empty() {
            let _ = writeln!(out, "{} {}", e.outcome.kind(), e.path);
        } else {
            let _ = writeln!(
                out,
                "{} {} | {}",
                e.outcome.kind(),
                e.path,
                r.replace('\n', " ")
            );
        }
    }
    out
}

/// The differences between a run and its expectations (empty when they match).
pub fn compare(entries: &[Entry], expected: &BTreeMap<String, Expectation>) -> Vec<String> {
    let mut diffs = Vec::new();
    for e in entries {
        let got_kind = e.outcome.kind();
        let got_reason = reason(&e.outcome);
        let Some(x) = expected.get(&e.path) else {
            diffs.push(format!(
                "{}: not in the expectations (now {got_kind} {got_reason})",
                e.path
            ));
            continue;
        };
        let same = x.kind == got_kind
            && match &e.outcome {
                Outcome::Pass => true,
                Outcome::Fail { line, .. } => x.reason.starts_with(&format!("line {line}:")),
                Outcome::Skip(_) => {
                    x.reason.split(": ").next().unwrap_or("") == category(&e.outcome)
                }
            };
        if !same {
            diffs.push(format!(
                "{}: expected {} {} / now {got_kind} {got_reason}",
                e.path, x.kind, x.reason
            ));
        }
    }
    for p in expected.keys() {
        if !entries.iter().any(|e| &e.path == p) {
            diffs.push(format!("{p}: expected but not found under the root"));
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(line: usize, h: &str) -> Outcome {
        Outcome::Fail {
            line,
            expected: "> S. 0:0(0)".into(),
            happened: h.into(),
        }
    }

    #[test]
    fn categories_group_by_first_mismatch_and_skip_reason() {
        assert_eq!(
            category(&fail(
                3,
                "live packet field tcp_window: expected: 1 (0x1) vs actual: 2 (0x2)"
            )),
            "packet field tcp_window"
        );
        assert_eq!(
            category(&Outcome::Skip("ICMP input: line 3 `x`".into())),
            "ICMP input"
        );
        assert_eq!(
            category(&fail(
                3,
                "bad value in outbound TCP option (kind=2): expected: mss 1 actual: mss 2"
            )),
            "TCP option mss value"
        );
    }

    #[test]
    fn expectations_round_trip_and_compare_results_lines_and_categories() {
        let entries = vec![
            Entry {
                path: "a.pkt".into(),
                outcome: Outcome::Pass,
            },
            Entry {
                path: "b.pkt".into(),
                outcome: fail(7, "timing error: expected outbound packet at 1"),
            },
            Entry {
                path: "c.pkt".into(),
                outcome: Outcome::Skip("ICMP input: line 2".into()),
            },
        ];
        let text = write_expectations(&entries, "# header\n");
        let parsed = parse_expectations(&text).unwrap();
        assert!(compare(&entries, &parsed).is_empty());
        let mut moved = entries.clone();
        moved[1].outcome = fail(8, "timing error: expected outbound packet at 1");
        moved[2].outcome = Outcome::Pass;
        let d = compare(&moved, &parsed);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(parse_expectations("MAYBE x.pkt").is_err());
    }
}
