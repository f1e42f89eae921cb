//! Backtick commands: a small `/bin/sh` that understands what the upstream suites write.
//!
//! packetdrill runs a backtick command with `system(3)` at its time and fails the script
//! when the exit status is not 0. Here the text is parsed as a shell list (`;`, newlines,
//! `&&`, `||`, `|`, `\`-continued lines, `#` comments, quotes, `$((...))`, `$VAR`/`${VAR}`,
//! redirections to `/dev/null`, `2>&1`, `&>`, writes to `/proc/sys/...`) and run against a
//! [`Host`], the executor, which models the machine: sysctls, `/proc/net/tcp`, `ip route`,
//! `tc`, `ethtool`, `nstat`, FreeBSD's `sockstat` and `tcpdrop`. Built in: `sysctl`, `echo`,
//! `cat`, `grep`, `true`, `false`, `:`, running a shell file (such as the suites'
//! `../common/defaults.sh`, relative to the script's folder), `set_sysctls.py
//! /proc/sys/...=V` and the no-op `/tmp/sysctl_restore_${PPID}.sh`. Anything else is a
//! [`Stop::Skip`] naming the command.

use std::path::{Path, PathBuf};

/// Why a command stopped the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// The runner cannot do it (or it turns on a feature the core lacks).
    Skip(String),
}

/// A command's result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Output {
    /// Exit status.
    pub status: i32,
    /// What it printed.
    pub stdout: String,
    /// Name prefixes of values the runner cannot supply (`nstat` counters it does not
    /// model), with the reason: a `grep` for such a name SKIPs, unless it is in `known`.
    pub unknown: Vec<(String, String)>,
    /// Names the output covers exactly (printed or, when zero, left out).
    pub known: Vec<String>,
}

impl Output {
    fn status(status: i32) -> Self {
        Output {
            status,
            ..Output::default()
        }
    }
}

/// The machine the commands act on.
pub(super) trait Host {
    /// Sets a sysctl (`name` as written, `net.ipv4.x`, `net/ipv4/x` or `/proc/sys/...`).
    /// `Ok(false)` for a name the runner does not know.
    fn sysctl_set(&mut self, name: &str, value: &str) -> Result<bool, Stop>;
    /// Reads a sysctl, if the runner knows it.
    fn sysctl_get(&mut self, name: &str) -> Option<String>;
    /// Reads a file the runner emulates (`/proc/net/tcp`, `/proc/sys/...`).
    fn read_file(&mut self, path: &str) -> Option<String>;
    /// Writes a file the runner emulates (`/sys/module/.../parameters/...`); `Ok(false)`
    /// when it does not emulate that file.
    fn write_file(&mut self, path: &str, content: &str) -> Result<bool, Stop>;
    /// Any other command (`ip`, `tc`, `ethtool`, `nstat`, `sockstat`, `tcpdrop`, ...).
    fn command(&mut self, argv: &[String], stdin: &str) -> Result<Output, Stop>;
    /// The script's folder (commands run there, as upstream's runners do).
    fn script_dir(&self) -> PathBuf;
}

/// Nesting limit for shell files running shell files.
const MAX_NESTING: usize = 8;

/// Runs `text`; returns the exit status of the last command run.
pub(super) fn run(host: &mut dyn Host, text: &str) -> Result<i32, Stop> {
    run_nested(host, text, 0)
}

fn run_nested(host: &mut dyn Host, text: &str, depth: usize) -> Result<i32, Stop> {
    if depth > MAX_NESTING {
        return Err(Stop::Skip("shell files nested too deeply".into()));
    }
    let list = parse(text)?;
    let mut status = 0;
    let mut skip_next = None::<bool>; // Some(true): skip while previous op says so
    for (pipeline, op) in list {
        if let Some(false) = skip_next {
            // `a && b` with a failed, or `a || b` with a succeeded: b does not run.
        } else {
            status = run_pipeline(host, &pipeline, depth)?;
        }
        let ran_ok = status == 0;
        skip_next = match op {
            Sep::And => Some(ran_ok),
            Sep::Or => Some(!ran_ok),
            Sep::Seq => None,
        };
    }
    Ok(status)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sep {
    Seq,
    And,
    Or,
}

#[derive(Clone, Debug, Default)]
struct Cmd {
    argv: Vec<String>,
    /// Where stdout goes: `None` to the pipe / the terminal, `Some(path)` a file.
    stdout_to: Option<String>,
    append: bool,
}

type Pipeline = Vec<Cmd>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Op(&'static str),
}

fn lex(text: &str) -> Result<Vec<Tok>, Stop> {
    let unsupported = |what: &str| Err(Stop::Skip(format!("shell construct {what}")));
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut word = String::new();
    let mut in_word = false;
    macro_rules! flush {
        () => {
            if in_word {
                out.push(Tok::Word(std::mem::take(&mut word)));
                in_word = false;
            }
        };
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1) == Some(&'\n') => i += 2,
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    word.push(n);
                    in_word = true;
                }
                i += 2;
            }
            ' ' | '\t' | '\r' => {
                flush!();
                i += 1;
            }
            '\n' | ';' => {
                flush!();
                out.push(Tok::Op(";"));
                i += 1;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return unsupported("unterminated quote");
                }
                i += 1;
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && matches!(chars.get(i + 1), Some('"' | '\\' | '$')) {
                        word.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if chars[i] == '$' {
                        let (val, used) = expand(&chars[i..])?;
                        word.push_str(&val);
                        i += used;
                        continue;
                    }
                    if chars[i] == '`' {
                        return unsupported("command substitution");
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return unsupported("unterminated quote");
                }
                i += 1;
            }
            '$' => {
                let (val, used) = expand(&chars[i..])?;
                word.push_str(&val);
                in_word = true;
                i += used;
            }
            '`' => return unsupported("command substitution"),
            '&' | '|' | '>' | '<' => {
                // Operators; a digit just before '>' is a file descriptor.
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let three: String = chars[i..(i + 3).min(chars.len())].iter().collect();
                let fd_word = in_word && (word == "1" || word == "2");
                if c == '>' && fd_word {
                    let fd = std::mem::take(&mut word);
                    in_word = false;
                    if three == ">&1" || three == ">&2" {
                        out.push(Tok::Op(if fd == "2" { "2>&1" } else { "1>&2" }));
                        i += 3;
                    } else {
                        out.push(Tok::Op(if fd == "2" { "2>" } else { ">" }));
                        i += 1;
                    }
                    continue;
                }
                flush!();
                let op: &'static str = match two.as_str() {
                    "&&" => "&&",
                    "||" => "||",
                    "&>" => "&>",
                    ">>" => ">>",
                    ">&" => ">&",
                    _ => match c {
                        '|' => "|",
                        '>' => ">",
                        '<' => "<",
                        _ => "&",
                    },
                };
                i += op.len();
                out.push(Tok::Op(op));
            }
            '(' | ')' | '{' | '}' if !in_word => return unsupported(&format!("'{c}'")),
            _ => {
                word.push(c);
                in_word = true;
                i += 1;
            }
        }
    }
    if in_word {
        out.push(Tok::Word(word));
    }
    Ok(out)
}

/// `$((expr))`, `${NAME}`, `$NAME`, `$$`: the value and how many chars were used.
fn expand(s: &[char]) -> Result<(String, usize), Stop> {
    let text: String = s.iter().collect();
    if let Some(rest) = text.strip_prefix("$((") {
        let Some(end) = rest.find("))") else {
            return Err(Stop::Skip("shell construct unterminated $((".into()));
        };
        let v = arith(&rest[..end])?;
        return Ok((v.to_string(), 3 + rest[..end].chars().count() + 2));
    }
    if text.starts_with("$(") {
        return Err(Stop::Skip(
            "shell construct command substitution $(...)".into(),
        ));
    }
    let (name, used) = if let Some(rest) = text.strip_prefix("${") {
        let Some(end) = rest.find('}') else {
            return Err(Stop::Skip("shell construct unterminated ${".into()));
        };
        (rest[..end].to_string(), 2 + rest[..end].chars().count() + 1)
    } else {
        let name: String = text[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            if text[1..].starts_with('$') {
                return Ok((PACKETDRILL_PID.to_string(), 2));
            }
            return Ok(("$".into(), 1));
        }
        let n = name.chars().count();
        (name, 1 + n)
    };
    let v = match name.as_str() {
        // packetdrill runs the command from its own process: the shell's parent.
        "PPID" | "PACKETDRILL_PID" => PACKETDRILL_PID.to_string(),
        "HOME" => "/root".to_string(),
        _ => String::new(),
    };
    Ok((v, used))
}

/// The pid the emulated packetdrill has (for `/tmp/sysctl_restore_${PPID}.sh`).
const PACKETDRILL_PID: u32 = 4242;

/// Integer arithmetic of `$((...))`: `+ - * / %`, parentheses, decimal and hex literals.
fn arith(expr: &str) -> Result<i64, Stop> {
    fn parse(toks: &[String], pos: &mut usize, level: u8) -> Option<i64> {
        if level == 2 {
            let t = toks.get(*pos)?.clone();
            *pos += 1;
            return match t.as_str() {
                "(" => {
                    let v = parse(toks, pos, 0)?;
                    (toks.get(*pos)? == ")").then(|| {
                        *pos += 1;
                        v
                    })
                }
                "-" => parse(toks, pos, 2).map(|v| -v),
                _ => t
                    .strip_prefix("0x")
                    .map_or_else(|| t.parse().ok(), |h| i64::from_str_radix(h, 16).ok()),
            };
        }
        let mut v = parse(toks, pos, level + 1)?;
        while let Some(op) = toks.get(*pos) {
            let ops: &[&str] = if level == 0 {
                &["+", "-"]
            } else {
                &["*", "/", "%"]
            };
            if !ops.contains(&op.as_str()) {
                break;
            }
            let op = op.clone();
            *pos += 1;
            let r = parse(toks, pos, level + 1)?;
            v = match op.as_str() {
                "+" => v.checked_add(r)?,
                "-" => v.checked_sub(r)?,
                "*" => v.checked_mul(r)?,
                "/" => v.checked_div(r)?,
                _ => v.checked_rem(r)?,
            };
        }
        Some(v)
    }
    let mut toks = Vec::new();
    let mut cur = String::new();
    for c in expr.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                toks.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                toks.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        toks.push(cur);
    }
    let mut pos = 0;
    match parse(&toks, &mut pos, 0) {
        Some(v) if pos == toks.len() => Ok(v),
        _ => Err(Stop::Skip(format!("shell arithmetic $(({expr}))"))),
    }
}

fn parse(text: &str) -> Result<Vec<(Pipeline, Sep)>, Stop> {
    let toks = lex(text)?;
    let mut list = Vec::new();
    let mut pipeline: Pipeline = Vec::new();
    let mut cmd = Cmd::default();
    let mut i = 0;
    let finish_cmd = |cmd: &mut Cmd, pipeline: &mut Pipeline| {
        if !cmd.argv.is_empty() || cmd.stdout_to.is_some() {
            pipeline.push(std::mem::take(cmd));
        }
    };
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) => cmd.argv.push(w.clone()),
            Tok::Op(op) => match *op {
                "|" => finish_cmd(&mut cmd, &mut pipeline),
                ";" | "&" | "&&" | "||" => {
                    finish_cmd(&mut cmd, &mut pipeline);
                    let sep = match *op {
                        "&&" => Sep::And,
                        "||" => Sep::Or,
                        _ => Sep::Seq,
                    };
                    if !pipeline.is_empty() {
                        list.push((std::mem::take(&mut pipeline), sep));
                    }
                }
                ">" | ">>" | "&>" | ">&" | "2>" => {
                    let Some(Tok::Word(target)) = toks.get(i + 1) else {
                        return Err(Stop::Skip(format!(
                            "shell redirection '{op}' without a file"
                        )));
                    };
                    i += 1;
                    if *op != "2>" {
                        cmd.stdout_to = Some(target.clone());
                        cmd.append = *op == ">>";
                    }
                }
                "2>&1" | "1>&2" => {}
                "<" => return Err(Stop::Skip("shell input redirection".into())),
                other => return Err(Stop::Skip(format!("shell operator '{other}'"))),
            },
        }
        i += 1;
    }
    finish_cmd(&mut cmd, &mut pipeline);
    if !pipeline.is_empty() {
        list.push((pipeline, Sep::Seq));
    }
    Ok(list)
}

fn run_pipeline(host: &mut dyn Host, p: &Pipeline, depth: usize) -> Result<i32, Stop> {
    let mut input = Output::default();
    let mut status = 0;
    for cmd in p {
        let out = run_cmd(host, cmd, &input, depth)?;
        status = out.status;
        input = match &cmd.stdout_to {
            None => out,
            Some(path) if path == "/dev/null" => Output::status(out.status),
            Some(path) => {
                if !host.write_file(path, out.stdout.trim_end())? {
                    return Err(Stop::Skip(format!("shell writes file {path}")));
                }
                Output::status(out.status)
            }
        };
    }
    Ok(status)
}

fn run_cmd(host: &mut dyn Host, cmd: &Cmd, input: &Output, depth: usize) -> Result<Output, Stop> {
    let Some(name) = cmd.argv.first() else {
        return Ok(Output::status(0));
    };
    let args = &cmd.argv[1..];
    let base = Path::new(name)
        .file_name()
        .map_or(name.as_str(), |f| f.to_str().unwrap_or(name));
    match base {
        "true" | ":" => Ok(Output::status(0)),
        "false" => Ok(Output::status(1)),
        "echo" => {
            let (newline, words) = match args.first().map(String::as_str) {
                Some("-n") => (false, &args[1..]),
                _ => (true, args),
            };
            let mut s = words.join(" ");
            if newline {
                s.push('\n');
            }
            Ok(Output {
                status: 0,
                stdout: s,
                ..Output::default()
            })
        }
        "sysctl" => sysctl(host, args),
        "cat" => {
            let mut out = String::new();
            for f in args {
                match host.read_file(f) {
                    Some(s) => out.push_str(&s),
                    None => return Err(Stop::Skip(format!("shell reads file {f}"))),
                }
            }
            if args.is_empty() {
                out = input.stdout.clone();
            }
            Ok(Output {
                status: 0,
                stdout: out,
                unknown: input.unknown.clone(),
                known: input.known.clone(),
            })
        }
        "grep" => grep(host, args, input),
        // Files the runner keeps itself (a script's test file for sendfile()).
        "rm" | "dd" => {
            let mut argv = cmd.argv.clone();
            argv[0] = base.to_string();
            host.command(&argv, &input.stdout)
        }
        "set_sysctls.py" => {
            for a in args {
                let Some((path, value)) = a.split_once('=') else {
                    return Err(Stop::Skip(format!("set_sysctls.py argument {a}")));
                };
                if !host.sysctl_set(path, value)? {
                    return Err(Stop::Skip(format!("unknown sysctl: {path}={value}")));
                }
            }
            Ok(Output::status(0))
        }
        _ if base.starts_with("sysctl_restore_") && base.ends_with(".sh") => {
            // Written by set_sysctls.py to restore the host's values: each script here
            // runs on its own stack, so there is nothing to restore.
            Ok(Output::status(0))
        }
        _ if name.contains('/') => run_file(host, name, args, depth),
        _ => host.command(&cmd.argv, &input.stdout),
    }
}

/// A path: a shell file is interpreted, other programs are not run.
fn run_file(
    host: &mut dyn Host,
    name: &str,
    args: &[String],
    depth: usize,
) -> Result<Output, Stop> {
    let path = if Path::new(name).is_absolute() {
        PathBuf::from(name)
    } else {
        host.script_dir().join(name)
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Err(Stop::Skip(format!(
            "runs a program: {name} (not a readable file)"
        )));
    };
    let shell = text.starts_with("#!/bin/bash")
        || text.starts_with("#!/bin/sh")
        || text.starts_with("#!/usr/bin/env bash")
        || text.starts_with("#!/usr/bin/env sh")
        || (!text.starts_with("#!") && name.ends_with(".sh"));
    if !shell {
        return Err(Stop::Skip(format!("runs a program: {name}")));
    }
    if !args.is_empty() {
        return Err(Stop::Skip(format!("runs a program: {name} with arguments")));
    }
    let status = run_nested(host, &text, depth + 1)?;
    Ok(Output::status(status))
}

fn sysctl(host: &mut dyn Host, args: &[String]) -> Result<Output, Stop> {
    let mut ignore_unknown = false;
    let mut values_only = false;
    let mut quiet = false;
    let mut status = 0;
    let mut out = String::new();
    for a in args {
        if let Some(flags) = a.strip_prefix('-') {
            for f in flags.chars() {
                match f {
                    'e' => ignore_unknown = true,
                    'n' => values_only = true,
                    'q' => quiet = true,
                    'w' => {}
                    other => return Err(Stop::Skip(format!("sysctl option -{other}"))),
                }
            }
            continue;
        }
        match a.split_once('=') {
            Some((name, value)) => {
                if !host.sysctl_set(name, value)? && !ignore_unknown {
                    return Err(Stop::Skip(format!("unknown sysctl: {name}={value}")));
                }
                if !quiet {
                    out.push_str(&format!("{name} = {value}\n"));
                }
            }
            None => match host.sysctl_get(a) {
                Some(v) if values_only => out.push_str(&format!("{v}\n")),
                Some(v) => out.push_str(&format!("{a} = {v}\n")),
                None if ignore_unknown => status = 255,
                None => return Err(Stop::Skip(format!("unknown sysctl: reads {a}"))),
            },
        }
    }
    Ok(Output {
        status,
        stdout: out,
        ..Output::default()
    })
}

fn grep(host: &mut dyn Host, args: &[String], input: &Output) -> Result<Output, Stop> {
    let (mut count, mut quiet, mut invert) = (false, false, false);
    let mut pattern: Option<String> = None;
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-e" {
            pattern = it.next().cloned();
            continue;
        }
        if a.starts_with('-') && a.len() > 1 && pattern.is_none() {
            for f in a[1..].chars() {
                match f {
                    'c' => count = true,
                    'q' => quiet = true,
                    'v' => invert = true,
                    'F' | 'E' | 'w' | 'h' | 's' => {}
                    other => return Err(Stop::Skip(format!("grep option -{other}"))),
                }
            }
            continue;
        }
        if pattern.is_none() {
            pattern = Some(a.clone());
        } else {
            files.push(a.clone());
        }
    }
    let Some(pattern) = pattern else {
        return Ok(Output::status(2));
    };
    if pattern.chars().any(|c| "[]*+?{}()\\|".contains(c)) {
        return Err(Stop::Skip(format!("grep regular expression '{pattern}'")));
    }
    let (mut text, mut unknown) = (input.stdout.clone(), input.unknown.clone());
    if !files.is_empty() {
        text.clear();
        unknown.clear();
        for f in &files {
            match host.read_file(f) {
                Some(s) => {
                    for l in s.lines() {
                        if files.len() > 1 {
                            text.push_str(&format!("{f}:{l}\n"));
                        } else {
                            text.push_str(&format!("{l}\n"));
                        }
                    }
                }
                None => return Err(Stop::Skip(format!("grep reads file {f}"))),
            }
        }
    }
    let bare = pattern.trim_matches(['^', '$']);
    let known = input.known.iter().any(|k| k == bare || k.contains(bare));
    if let Some((_, why)) = unknown
        .iter()
        .find(|(prefix, _)| !known && (bare.starts_with(prefix.as_str()) || prefix.contains(bare)))
    {
        return Err(Stop::Skip(format!("{why}: `{bare}`")));
    }
    let anchored_start = pattern.starts_with('^');
    let anchored_end = pattern.ends_with('$') && pattern.len() > 1;
    let needle = pattern.trim_start_matches('^');
    let needle = if anchored_end {
        &needle[..needle.len() - 1]
    } else {
        needle
    };
    let matches = |l: &str| {
        let hit = match (anchored_start, anchored_end) {
            (true, true) => l == needle,
            (true, false) => l.starts_with(needle),
            (false, true) => l.ends_with(needle),
            (false, false) => l.contains(needle),
        };
        hit != invert
    };
    let hits: Vec<&str> = text.lines().filter(|l| matches(l)).collect();
    let status = if hits.is_empty() { 1 } else { 0 };
    let stdout = if quiet {
        String::new()
    } else if count {
        format!("{}\n", hits.len())
    } else {
        hits.iter().map(|l| format!("{l}\n")).collect()
    };
    Ok(Output {
        status,
        stdout,
        ..Output::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Fake {
        sysctls: BTreeMap<String, String>,
        cmds: Vec<String>,
    }

    impl Host for Fake {
        fn sysctl_set(&mut self, name: &str, value: &str) -> Result<bool, Stop> {
            if name.contains("unknown") {
                return Ok(false);
            }
            self.sysctls.insert(name.into(), value.into());
            Ok(true)
        }
        fn sysctl_get(&mut self, name: &str) -> Option<String> {
            self.sysctls.get(name).cloned()
        }
        fn read_file(&mut self, path: &str) -> Option<String> {
            (path == "/proc/net/tcp")
                .then(|| "  0: 0100A8C0:1F90 00000000:0000 0A 00000000:00000000\n".into())
        }
        fn write_file(&mut self, _path: &str, _content: &str) -> Result<bool, Stop> {
            Ok(false)
        }
        fn command(&mut self, argv: &[String], _stdin: &str) -> Result<Output, Stop> {
            self.cmds.push(argv.join(" "));
            Ok(Output {
                status: 0,
                stdout: "SYN_RCVD\nLISTEN\n".into(),
                ..Output::default()
            })
        }
        fn script_dir(&self) -> PathBuf {
            PathBuf::from("/nonexistent")
        }
    }

    #[test]
    fn sysctl_assignments_with_arithmetic_quotes_and_continuations() {
        let mut h = Fake::default();
        let st = run(
            &mut h,
            "sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((15*1024*1024))\"\n\
             sysctl -q \\\n  net.ipv4.a=1 net.ipv4.b=0x2 # comment\n",
        )
        .unwrap();
        assert_eq!(st, 0);
        assert_eq!(h.sysctls["net.ipv4.tcp_rmem"], "4096 540000 15728640");
        assert_eq!(h.sysctls["net.ipv4.b"], "0x2");
    }

    #[test]
    fn lists_pipes_and_exit_statuses() {
        let mut h = Fake::default();
        assert_eq!(
            run(&mut h, "sockstat -4 | grep -c SYN_RCVD | grep 1").unwrap(),
            0
        );
        assert_eq!(
            run(&mut h, "sockstat -4 | grep -c SYN_RCVD | grep 2").unwrap(),
            1
        );
        assert_eq!(run(&mut h, "false && sysctl -q x=1 || true").unwrap(), 0);
        assert!(!h.sysctls.contains_key("x"));
        assert_eq!(
            run(&mut h, "grep \" 0A \" /proc/net/tcp | grep \":1F90\"").unwrap(),
            0
        );
        assert_eq!(run(&mut h, "/tmp/sysctl_restore_${PPID}.sh").unwrap(), 0);
        assert_eq!(
            run(
                &mut h,
                "sysctl -q net.ipv4.unknown=1 &> /dev/null || echo x"
            )
            .unwrap_err(),
            Stop::Skip("unknown sysctl: net.ipv4.unknown=1".into())
        );
        assert_eq!(run(&mut h, "sysctl -e -q net.ipv4.unknown=1").unwrap(), 0);
    }

    #[test]
    fn unknown_things_skip() {
        let mut h = Fake::default();
        assert!(run(&mut h, "x=$(date)").is_err());
        assert!(run(&mut h, "./missing.sh").is_err());
    }
}
