//! Recursive-descent parser: tokens → [`Script`].

use super::ParseError;
use super::ast::*;
use super::lexer::{Tok, Token, tokenize};

/// Deepest nesting of `[ ]`, `{ }` and `( )` accepted in expressions.
const MAX_DEPTH: usize = 64;

/// Parse a whole script.
///
/// `--define=NAME=VALUE` options in the script substitute `VALUE` for every later
/// occurrence of the word `NAME`, as packetdrill's lexer does.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    parse_script_with_defines(text, &[])
}

/// Like [`parse_script`], with extra `NAME=VALUE` definitions given outside the script
/// (packetdrill's command-line `-D`/`--define`), which win over the script's own.
pub fn parse_script_with_defines(
    text: &str,
    defines: &[(String, String)],
) -> Result<Script, ParseError> {
    parse_script_with(text, defines, &[])
}

/// Like [`parse_script_with_defines`], after C-preprocessor conditionals: lines
/// `#ifdef SYM`, `#ifndef SYM`, `#if EXPR`, `#elif EXPR`, `#else` and `#endif` (as the
/// FreeBSD tcp-testsuite writes them) keep or drop the lines between them, with `symbols`
/// defined (e.g. `FreeBSD`). Dropped lines become empty, so line numbers stay.
pub fn parse_script_with(
    text: &str,
    defines: &[(String, String)],
    symbols: &[String],
) -> Result<Script, ParseError> {
    let pre = preprocess(text, symbols)?;
    let text = pre.as_str();
    let tokens = tokenize(text)?;
    let last_line = text.lines().count().max(1);
    let mut p = Parser {
        text,
        toks: tokens,
        pos: 0,
        last_line,
        ts_flags: (false, false),
    };
    p.script(defines)
}

/// The token a `--define` value stands for: `"text"` a string, `` `cmd` `` a command,
/// a single token as lexed (`123`, `0x10`, `WORD`), anything else a word.
fn define_token(value: &str) -> Tok {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('"') {
        return Tok::Str(value[1..value.len() - 1].to_string());
    }
    if quoted('`') {
        return Tok::Backtick(value[1..value.len() - 1].to_string());
    }
    match tokenize(value) {
        Ok(mut toks) if toks.len() == 1 => toks.remove(0).tok,
        _ => Tok::Word(value.to_string()),
    }
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    last_line: usize,
    /// NPLab's per-packet timestamp flags (`TS val ...`, `ecr N!`) seen in the option
    /// list being parsed.
    ts_flags: (bool, bool),
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    // ----- token helpers -------------------------------------------------------------

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .map(|t| t.line)
            .or_else(|| self.toks.last().map(|t| t.line))
            .unwrap_or(self.last_line)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            line: self.line(),
            message: msg.into(),
        })
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => t.describe(),
            None => "end of script".into(),
        }
    }

    fn expected<T>(&self, what: &str) -> PResult<T> {
        self.err(format!("expected {what}, found {}", self.found()))
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char, ctx: &str) -> PResult<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            self.expected(&format!("'{c}' {ctx}"))
        }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn int(&mut self, what: &str) -> PResult<i64> {
        match self.peek() {
            Some(Tok::Int(v)) | Some(Tok::Hex(v)) => {
                let v = *v;
                self.pos += 1;
                Ok(v)
            }
            Some(Tok::Word(w)) if w.bytes().all(|b| b.is_ascii_digit()) => {
                self.err(format!("{what} '{w}' out of range"))
            }
            _ => self.expected(what),
        }
    }

    fn ranged(&mut self, what: &str, max: u64) -> PResult<u64> {
        let line = self.line();
        let v = self.int(what)?;
        if v < 0 || v as u64 > max {
            return Err(ParseError {
                line,
                message: format!("{what} {v} out of range (0..={max})"),
            });
        }
        Ok(v as u64)
    }

    fn u32(&mut self, what: &str) -> PResult<u32> {
        Ok(self.ranged(what, u32::MAX as u64)? as u32)
    }

    fn u16(&mut self, what: &str) -> PResult<u16> {
        Ok(self.ranged(what, u16::MAX as u64)? as u16)
    }

    fn u8(&mut self, what: &str) -> PResult<u8> {
        Ok(self.ranged(what, u8::MAX as u64)? as u8)
    }

    // ----- script structure ------------------------------------------------------------

    fn script(&mut self, defines: &[(String, String)]) -> PResult<Script> {
        let mut script = Script::default();
        while let Some(Tok::Opt(name, value)) = self.peek() {
            script
                .options
                .push((name.clone(), value.clone().unwrap_or_default()));
            self.pos += 1;
        }
        self.substitute_defines(&script.options, defines);
        while self.peek().is_some() {
            let ev = self.event()?;
            script.events.push(ev);
        }
        Ok(script)
    }

    /// Replace defined words in the tokens after the options.
    fn substitute_defines(&mut self, options: &[(String, String)], extra: &[(String, String)]) {
        let mut table: Vec<(String, Tok)> = Vec::new();
        let in_script = options
            .iter()
            .filter(|(k, _)| k == "define")
            .filter_map(|(_, v)| v.split_once('='));
        // As packetdrill: the script's `--define` options are processed first and the
        // command line's `-D` definitions overwrite them.
        for (name, value) in in_script.chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            table.retain(|(n, _)| n != name);
            table.push((name.to_string(), define_token(value)));
        }
        if table.is_empty() {
            return;
        }
        for t in &mut self.toks[self.pos..] {
            if let Tok::Word(w) = &t.tok
                && let Some((_, tok)) = table.iter().find(|(n, _)| n == w)
            {
                t.tok = tok.clone();
            }
        }
    }

    fn event(&mut self) -> PResult<Event> {
        let line = self.line();
        // Untimed backtick command (packetdrill's init / cleanup command).
        if let Some(Tok::Backtick(cmd)) = self.peek() {
            let cmd = cmd.clone();
            self.pos += 1;
            return Ok(Event {
                line,
                time: EventTime::Untimed,
                kind: EventKind::Shell(cmd),
            });
        }
        if let Some(Tok::Opt(name, _)) = self.peek() {
            return self.err(format!(
                "option '--{name}' must come before the first event"
            ));
        }
        let time = self.event_time()?;
        let kind = self.action()?;
        let outbound_packet = match &kind {
            EventKind::Packet(p) => p.direction == Direction::Outbound,
            EventKind::Icmp(p) => p.direction == Direction::Outbound,
            EventKind::Udp(p) => p.direction == Direction::Outbound,
            _ => false,
        };
        match time {
            EventTime::Any if !outbound_packet => {
                return Err(ParseError {
                    line,
                    message: "event time '*' can only be used with outbound packets".into(),
                });
            }
            EventTime::AbsoluteRange(..) | EventTime::RelativeRange(..) if !outbound_packet => {
                return Err(ParseError {
                    line,
                    message: "event time range can only be used with outbound packets".into(),
                });
            }
            _ => {}
        }
        Ok(Event { line, time, kind })
    }

    /// `0`, `1.5`, `.1` → microseconds.
    fn time(&mut self) -> PResult<Micros> {
        let line = self.line();
        let tok = self.peek().cloned();
        let v = match tok {
            Some(Tok::Int(v)) => {
                if v < 0 {
                    return self.err("negative time");
                }
                (v as u64)
                    .checked_mul(1_000_000)
                    .ok_or_else(|| ParseError {
                        line,
                        message: format!("time {v} too large"),
                    })?
            }
            Some(Tok::Float(s)) => {
                if s.starts_with('-') {
                    return self.err("negative time");
                }
                float_to_micros(&s).ok_or_else(|| ParseError {
                    line,
                    message: format!("time {s} too large"),
                })?
            }
            _ => return self.expected("a time (e.g. 0, +0.1, .1, *)"),
        };
        self.pos += 1;
        Ok(v)
    }

    fn event_time(&mut self) -> PResult<EventTime> {
        let line = self.line();
        if self.eat_punct('*') {
            return Ok(EventTime::Any);
        }
        if self.eat_punct('+') {
            let a = self.time()?;
            if self.eat_punct('~') {
                if !self.eat_punct('+') {
                    return self.expected("'+' after '~' in a relative time range (+a~+b)");
                }
                let b = self.time()?;
                if b < a {
                    return Err(ParseError {
                        line,
                        message: "time range is backwards".into(),
                    });
                }
                return Ok(EventTime::RelativeRange(a, b));
            }
            return Ok(EventTime::Relative(a));
        }
        if matches!(self.peek(), Some(Tok::Int(_)) | Some(Tok::Float(_))) {
            let a = self.time()?;
            if self.eat_punct('~') {
                let b = self.time()?;
                if b < a {
                    return Err(ParseError {
                        line,
                        message: "time range is backwards".into(),
                    });
                }
                return Ok(EventTime::AbsoluteRange(a, b));
            }
            return Ok(EventTime::Absolute(a));
        }
        self.expected("an event time (e.g. 0, +0.1, .1, *) or a backtick command")
    }

    fn action(&mut self) -> PResult<EventKind> {
        match self.peek().cloned() {
            Some(Tok::Punct('<')) => {
                self.pos += 1;
                self.packet(Direction::Inbound)
            }
            Some(Tok::Punct('>')) => {
                self.pos += 1;
                self.packet(Direction::Outbound)
            }
            Some(Tok::Backtick(cmd)) => {
                self.pos += 1;
                Ok(EventKind::Shell(cmd))
            }
            Some(Tok::Code(text)) => {
                self.pos += 1;
                Ok(EventKind::Code(CodeBlock::new(&text)))
            }
            Some(Tok::Ellipsis) => {
                self.pos += 1;
                let end = self.time()?;
                self.syscall(Some(end))
            }
            Some(Tok::Word(_)) => self.syscall(None),
            _ => self.expected(
                "a packet ('<' or '>'), a system call, a backtick command or a %{ }% block",
            ),
        }
    }

    // ----- packets ---------------------------------------------------------------------

    fn packet(&mut self, direction: Direction) -> PResult<EventKind> {
        if let Some(Tok::Word(w)) = self.peek()
            && matches!(w.as_str(), "ipv4" | "ipv6" | "gre" | "GREv0" | "mpls")
        {
            return self.err(format!(
                "encapsulated packets ('{w} ...:') are not supported"
            ));
        }
        let ip_line = self.line();
        let ip = self.opt_ip_info()?;
        if ip.ecn == Some(Ecn::Ect01) && direction == Direction::Inbound {
            return Err(ParseError {
                line: ip_line,
                message: "[ect01] can only be used with outbound packets".into(),
            });
        }
        if self.eat_word("icmp") {
            return self.icmp(direction, ip);
        }
        if self.eat_word("udp") {
            let ports = self.opt_ports()?;
            self.expect_punct('(', "before the UDP payload length")?;
            let len = self.u16("UDP payload length")?;
            self.expect_punct(')', "after the UDP payload length")?;
            return Ok(EventKind::Udp(UdpEvent {
                direction,
                ip,
                ports,
                len,
            }));
        }
        let ports = self.opt_ports()?;
        let (flags, ace) = self.flags()?;
        let (start_seq, end_seq, len, seq_mode) = self.packet_seq()?;
        let ack = if self.eat_word("ack") {
            Some(self.u32("ack number")?)
        } else {
            None
        };
        let win = if self.eat_word("win") {
            Some(self.u16("window")?)
        } else {
            None
        };
        let urg = if self.eat_word("urg") {
            Some(self.u16("urgent pointer")?)
        } else {
            None
        };
        let options = if self.is_punct('<') {
            let line = self.line();
            self.pos += 1;
            if self.peek() == Some(&Tok::Ellipsis) {
                self.pos += 1;
                self.expect_punct('>', "after '<...'")?;
                if direction == Direction::Inbound {
                    return Err(ParseError {
                        line,
                        message: "<...> for TCP options can only be used with outbound packets"
                            .into(),
                    });
                }
                None
            } else {
                Some(self.tcp_options()?)
            }
        } else {
            Some(Vec::new())
        };
        let udp_encap = self.opt_udp_encap()?;
        let (ts_val_ignored, ts_ecr_absolute) = std::mem::take(&mut self.ts_flags);
        if self.is_punct('{') {
            return self.err("packet fuzzing specifications ('{ mut ... }') are not supported");
        }
        if win.is_none() && direction == Direction::Inbound {
            return Err(ParseError {
                line: ip_line,
                message: "window must be specified for inbound packets (win N)".into(),
            });
        }
        if let Some(opts) = &options {
            let lens: Option<Vec<usize>> = opts.iter().map(TcpOption::wire_len).collect();
            if let Some(lens) = lens {
                let total: usize = lens.iter().sum();
                if !total.is_multiple_of(4) {
                    return Err(ParseError {
                        line: ip_line,
                        message: format!(
                            "TCP options are not padded to a multiple of 4 bytes ({total} bytes; add nop)"
                        ),
                    });
                }
                if total > 40 {
                    return Err(ParseError {
                        line: ip_line,
                        message: format!("TCP options too long ({total} bytes, at most 40)"),
                    });
                }
            }
        }
        Ok(EventKind::Packet(PacketEvent {
            direction,
            ip,
            ports,
            flags,
            start_seq,
            end_seq,
            len,
            ack,
            win,
            urg,
            options,
            seq_mode,
            ace,
            ts_val_ignored,
            ts_ecr_absolute,
            udp_encap,
        }))
    }

    /// NPLab's UDP encapsulation suffix `/udp(SRC > DST)`.
    fn opt_udp_encap(&mut self) -> PResult<Option<(u16, u16)>> {
        if !(self.is_punct('/') && self.is_word_at(1, "udp")) {
            return Ok(None);
        }
        self.pos += 2;
        self.expect_punct('(', "after '/udp'")?;
        let src = self.u16("UDP source port")?;
        self.expect_punct('>', "between the UDP ports")?;
        let dst = self.u16("UDP destination port")?;
        self.expect_punct(')', "after the UDP ports")?;
        Ok(Some((src, dst)))
    }

    fn is_word_at(&self, k: usize, w: &str) -> bool {
        matches!(self.peek_at(k), Some(Tok::Word(x)) if x == w)
    }

    /// `start:end(len)`, NPLab's `start:end(len)!` (absolute) or `...(len)` (any).
    fn packet_seq(&mut self) -> PResult<(u32, u32, u16, SeqMode)> {
        if self.peek() == Some(&Tok::Ellipsis) {
            self.pos += 1;
            self.expect_punct('(', "in '...(len)'")?;
            let len = self.u16("payload length")?;
            self.expect_punct(')', "in '...(len)'")?;
            return Ok((0, u32::from(len), len, SeqMode::Ignore));
        }
        let (s, e, l) = self.seq()?;
        let mode = if self.eat_punct('!') {
            SeqMode::Absolute
        } else {
            SeqMode::Relative
        };
        Ok((s, e, l, mode))
    }

    fn opt_ports(&mut self) -> PResult<Option<(u16, u16)>> {
        if matches!(self.peek(), Some(Tok::Int(_))) && self.peek_at(1) == Some(&Tok::Punct('>')) {
            let src = self.u16("source port")?;
            self.pos += 1;
            let dst = self.u16("destination port")?;
            return Ok(Some((src, dst)));
        }
        Ok(None)
    }

    fn opt_ip_info(&mut self) -> PResult<IpInfo> {
        let close = if self.is_punct('[') {
            ']'
        } else if self.is_punct('(') {
            ')'
        } else {
            return Ok(IpInfo::default());
        };
        self.pos += 1;
        let mut info = IpInfo::default();
        loop {
            let Some(Tok::Word(w)) = self.peek().cloned() else {
                return self.expected(
                    "an IP annotation (ect0, ect1, ce, noecn, ect01, tos, flowlabel, ttl)",
                );
            };
            self.pos += 1;
            match w.as_str() {
                "noecn" => info.ecn = Some(Ecn::NotEct),
                "ect0" => info.ecn = Some(Ecn::Ect0),
                "ect1" => info.ecn = Some(Ecn::Ect1),
                "ce" => info.ecn = Some(Ecn::Ce),
                "ect01" => {
                    info.ecn = Some(Ecn::Ect01);
                }
                "tos" | "class" => info.tos = Some(self.u8("tos")?),
                "ttl" | "hlim" => info.ttl = Some(self.u8("ttl")?),
                "dscp" => {
                    let v = self.ranged("dscp", 0x3f)?;
                    info.dscp = Some(v as u8);
                }
                "ecn" => {
                    let Some(Tok::Word(e)) = self.peek().cloned() else {
                        return self.expected("an ECN codepoint after 'ecn'");
                    };
                    self.pos += 1;
                    info.ecn = Some(match e.as_str() {
                        "noecn" => Ecn::NotEct,
                        "ect0" => Ecn::Ect0,
                        "ect1" => Ecn::Ect1,
                        "ce" => Ecn::Ce,
                        "ect01" => Ecn::Ect01,
                        other => return self.err(format!("unknown ECN codepoint '{other}'")),
                    });
                }
                "flowlabel" => {
                    let v = self.ranged("flow label", 0xf_ffff)?;
                    info.flow_label = Some(v as u32);
                }
                other => {
                    self.pos -= 1;
                    return self.err(format!("unknown IP annotation '{other}'"));
                }
            }
            if self.eat_punct(',') {
                continue;
            }
            self.expect_punct(close, "to close the IP annotation")?;
            return Ok(info);
        }
    }

    fn flags(&mut self) -> PResult<(TcpFlags, bool)> {
        let line = self.line();
        let text = match self.peek().cloned() {
            Some(Tok::Punct('.')) => {
                self.pos += 1;
                ".".to_string()
            }
            Some(Tok::Punct('-')) => {
                self.pos += 1;
                return Ok((TcpFlags(0), false));
            }
            Some(Tok::Float(f)) if f.starts_with('.') => {
                self.pos += 1;
                f
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                let mut text = w;
                match self.peek() {
                    Some(Tok::Punct('.')) => {
                        self.pos += 1;
                        text.push('.');
                    }
                    Some(Tok::Float(f)) if f.starts_with('.') => {
                        text.push_str(f);
                        self.pos += 1;
                    }
                    _ => {}
                }
                text
            }
            _ => return self.expected("TCP flags (e.g. S, S., ., P., F., R, -)"),
        };
        let fail = |message: String| Err(ParseError { line, message });
        let mut bits = 0u16;
        let (mut ecn_letter, mut ace) = (false, false);
        for c in text.chars() {
            bits |= match c {
                'F' => TcpFlags::FIN,
                'S' => TcpFlags::SYN,
                'R' => TcpFlags::RST,
                'P' => TcpFlags::PSH,
                'U' => TcpFlags::URG,
                '.' => TcpFlags::ACK,
                'E' | 'W' | 'A' => {
                    if ace {
                        return fail(format!(
                            "bad TCP flags '{text}': '{c}' conflicts with the ACE digit"
                        ));
                    }
                    ecn_letter = true;
                    match c {
                        'E' => TcpFlags::ECE,
                        'W' => TcpFlags::CWR,
                        _ => TcpFlags::AE,
                    }
                }
                '0'..='7' => {
                    if ace || ecn_letter {
                        return fail(format!(
                            "bad TCP flags '{text}': conflicting ACE digit '{c}'"
                        ));
                    }
                    ace = true;
                    let v = c as u16 - '0' as u16;
                    (if v & 1 != 0 { TcpFlags::ECE } else { 0 })
                        | (if v & 2 != 0 { TcpFlags::CWR } else { 0 })
                        | (if v & 4 != 0 { TcpFlags::AE } else { 0 })
                }
                _ => {
                    return fail(format!(
                        "bad TCP flags '{text}': '{c}' is not one of . F S R P E W A U 0-7"
                    ));
                }
            };
        }
        Ok((TcpFlags(bits), ace))
    }

    /// `start:end(len)`
    fn seq(&mut self) -> PResult<(u32, u32, u16)> {
        let line = self.line();
        let start = self.u32("start sequence number (start:end(len))")?;
        self.expect_punct(':', "in start:end(len)")?;
        let end = self.u32("end sequence number (start:end(len))")?;
        self.expect_punct('(', "in start:end(len)")?;
        let len = self.u16("payload length (start:end(len))")?;
        self.expect_punct(')', "in start:end(len)")?;
        if end as u64 != start as u64 + len as u64 {
            return Err(ParseError {
                line,
                message: format!(
                    "inconsistent TCP sequence numbers and payload size: {start}:{end}({len})"
                ),
            });
        }
        Ok((start, end, len))
    }

    /// After `<`: a comma-separated list up to `>`.
    fn tcp_options(&mut self) -> PResult<Vec<TcpOption>> {
        let mut opts = Vec::new();
        loop {
            opts.push(self.tcp_option()?);
            if self.eat_punct(',') {
                continue;
            }
            self.expect_punct('>', "or ',' in the TCP option list")?;
            return Ok(opts);
        }
    }

    fn tcp_option(&mut self) -> PResult<TcpOption> {
        let Some(Tok::Word(w)) = self.peek().cloned() else {
            return self
                .expected("a TCP option (nop, eol, mss, wscale, sackOK, sack, TS, md5, FO)");
        };
        let start_tok = self.pos;
        self.pos += 1;
        Ok(match w.as_str() {
            "nop" => TcpOption::Nop,
            "eol" => TcpOption::Eol,
            "mss" => TcpOption::Mss(self.u16("mss value")?),
            "wscale" => TcpOption::WindowScale(self.u8("window scale shift count")?),
            "sackOK" => TcpOption::SackPermitted,
            "sack" => {
                let mut blocks = Vec::new();
                while matches!(self.peek(), Some(Tok::Int(_))) {
                    let l = self.u32("SACK left edge")?;
                    self.expect_punct(':', "in SACK block left:right")?;
                    let r = self.u32("SACK right edge")?;
                    blocks.push((l, r));
                }
                if blocks.is_empty() {
                    return self.expected("a SACK block (left:right)");
                }
                TcpOption::Sack(blocks)
            }
            "TS" => {
                if !self.eat_word("val") {
                    return self.expected("'val' in 'TS val X ecr Y'");
                }
                // NPLab: `TS val ...` ignores the value, `ecr N!` is absolute.
                let val = if self.peek() == Some(&Tok::Ellipsis) {
                    self.pos += 1;
                    self.ts_flags.0 = true;
                    0
                } else {
                    self.u32("TS val")?
                };
                if !self.eat_word("ecr") {
                    return self.expected("'ecr' in 'TS val X ecr Y'");
                }
                let ecr = self.u32("TS ecr")?;
                if self.eat_punct('!') {
                    self.ts_flags.1 = true;
                }
                TcpOption::Timestamp { val, ecr }
            }
            "md5" => {
                let blob = self.hex_blob()?;
                match blob {
                    Some(b) => TcpOption::Md5(b),
                    None => return self.expected("an MD5 signature after 'md5'"),
                }
            }
            "FO" | "FOEXP" => TcpOption::FastOpen {
                cookie: self.hex_blob()?.unwrap_or_default(),
                experimental: w == "FOEXP",
            },
            _ => {
                // Unknown option form: keep its text up to the next ',' or '>'.
                while let Some(t) = self.peek() {
                    if matches!(t, Tok::Punct(',') | Tok::Punct('>')) {
                        break;
                    }
                    if matches!(t, Tok::Punct('<')) {
                        return self.err("unexpected '<' inside a TCP option list");
                    }
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return self.expected("'>' to close the TCP option list");
                }
                let text =
                    self.text[self.toks[start_tok].start..self.toks[self.pos - 1].end].to_string();
                TcpOption::Other(text)
            }
        })
    }

    fn hex_blob(&mut self) -> PResult<Option<String>> {
        let tok = self.peek().cloned();
        Ok(match tok {
            Some(Tok::Word(w)) => {
                self.pos += 1;
                Some(w)
            }
            Some(Tok::Int(_)) | Some(Tok::Hex(_)) => {
                let t = &self.toks[self.pos];
                let s = self.text[t.start..t.end].to_string();
                self.pos += 1;
                Some(s)
            }
            _ => None,
        })
    }

    fn icmp(&mut self, direction: Direction, ip: IpInfo) -> PResult<EventKind> {
        let Some(Tok::Word(icmp_type)) = self.peek().cloned() else {
            return self.expected("an ICMP type (e.g. unreachable)");
        };
        self.pos += 1;
        let mut code = None;
        if let Some(Tok::Word(w)) = self.peek()
            && w != "mtu"
            && w != "id"
        {
            code = Some(w.clone());
            self.pos += 1;
        }
        let mtu = if self.eat_word("mtu") {
            Some(self.u32("ICMP mtu")?)
        } else {
            None
        };
        let echo_id = if self.eat_word("id") {
            Some(self.u16("ICMP echo id")?)
        } else {
            None
        };
        let echoed = if self.eat_punct('[') {
            let e = if self.eat_word("udp") {
                self.expect_punct('(', "before the UDP length")?;
                let n = self.u16("UDP length")?;
                self.expect_punct(')', "after the UDP length")?;
                IcmpEchoed::Udp(n)
            } else if self.eat_word("raw") {
                self.expect_punct('(', "before the raw length")?;
                let n = self.u16("raw length")?;
                self.expect_punct(')', "after the raw length")?;
                IcmpEchoed::Raw(n)
            } else {
                let (start_seq, end_seq, len) = self.seq()?;
                IcmpEchoed::Tcp {
                    start_seq,
                    end_seq,
                    len,
                }
            };
            // NPLab: the echoed segment of a UDP-encapsulated connection.
            let _ = self.opt_udp_encap()?;
            self.expect_punct(']', "after the echoed packet")?;
            Some(e)
        } else {
            None
        };
        Ok(EventKind::Icmp(IcmpEvent {
            direction,
            ip,
            icmp_type,
            code,
            mtu,
            echo_id,
            echoed,
        }))
    }

    // ----- system calls ----------------------------------------------------------------

    fn syscall(&mut self, end: Option<Micros>) -> PResult<EventKind> {
        let Some(Tok::Word(name)) = self.peek().cloned() else {
            return self.expected("a system call name");
        };
        self.pos += 1;
        if !self.is_punct('(') {
            return self.expected(&format!("'(' after system call name '{name}'"));
        }
        self.pos += 1;
        let args = self.expr_list(')', 1)?;
        if !self.eat_punct('=') {
            return self.expected(&format!("'=' and the expected result after {name}(...)"));
        }
        let result = self.expr(1)?;
        let mut errno = None;
        if let Some(Tok::Word(w)) = self.peek() {
            errno = Some(w.clone());
            self.pos += 1;
        }
        let note = if self.is_punct('(') {
            Some(self.note()?)
        } else {
            None
        };
        Ok(EventKind::Syscall(SyscallEvent {
            name,
            args,
            end,
            result,
            errno,
            note,
        }))
    }

    /// `( free text )`, verbatim, with nested parentheses balanced.
    fn note(&mut self) -> PResult<String> {
        let Some(open) = self.bump() else {
            return self.expected("'('");
        };
        let mut depth = 1usize;
        while let Some(t) = self.bump() {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.text[open.end..t.start].trim().to_string());
                    }
                }
                _ => {}
            }
        }
        Err(ParseError {
            line: open.line,
            message: "unterminated '(' note after a system call result".into(),
        })
    }

    /// Comma-separated expressions up to `close` (consumed). Empty lists allowed.
    fn expr_list(&mut self, close: char, depth: usize) -> PResult<Vec<Expr>> {
        let mut items = Vec::new();
        if self.eat_punct(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr(depth)?);
            if self.eat_punct(',') {
                continue;
            }
            if self.eat_punct(close) {
                return Ok(items);
            }
            return self.expected(&format!("',' or '{close}'"));
        }
    }

    fn expr(&mut self, depth: usize) -> PResult<Expr> {
        if depth > MAX_DEPTH {
            return self.err("expression nested too deeply");
        }
        let first = self.primary(depth)?;
        if matches!(first, Expr::Word(_) | Expr::Call(..)) && self.is_punct('=') {
            self.pos += 1;
            let rhs = self.expr(depth + 1)?;
            return Ok(Expr::Assign(Box::new(first), Box::new(rhs)));
        }
        if !self.is_punct('|') {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_punct('|') {
            items.push(self.primary(depth)?);
        }
        Ok(Expr::BitOr(items))
    }

    fn primary(&mut self, depth: usize) -> PResult<Expr> {
        let tok = self.peek().cloned();
        match tok {
            Some(Tok::Ellipsis) => {
                self.pos += 1;
                Ok(Expr::Ellipsis)
            }
            Some(Tok::Int(v)) | Some(Tok::Hex(v)) => {
                self.pos += 1;
                Ok(Expr::Int(v))
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                let mut s = s;
                while let Some(Tok::Str(more)) = self.peek() {
                    s.push_str(more);
                    self.pos += 1;
                }
                if self.peek() == Some(&Tok::Ellipsis) {
                    self.pos += 1;
                    return Ok(Expr::StrPrefix(s));
                }
                Ok(Expr::Str(s))
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                if self.eat_punct('(') {
                    let args = self.expr_list(')', depth + 1)?;
                    return Ok(Expr::Call(w, args));
                }
                Ok(Expr::Word(w))
            }
            Some(Tok::Punct('[')) => {
                self.pos += 1;
                Ok(Expr::Array(self.expr_list(']', depth + 1)?))
            }
            Some(Tok::Punct('{')) => {
                self.pos += 1;
                Ok(Expr::Struct(self.expr_list('}', depth + 1)?))
            }
            _ => self.expected("an expression (number, symbol, ..., [..], {..}, \"string\")"),
        }
    }
}

/// The C preprocessor's conditional lines. Only lines whose first word after `#` is a
/// conditional directive are directives, so Python comments in code blocks stay.
fn preprocess(text: &str, symbols: &[String]) -> Result<String, ParseError> {
    // (this level is active, some branch of it was taken, the enclosing level is active)
    let mut stack: Vec<(bool, bool, bool)> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let active = |stack: &[(bool, bool, bool)]| stack.last().is_none_or(|s| s.0);
    let cond = |expr: &str, line: usize| -> Result<bool, ParseError> {
        let e = expr.trim();
        let defined = |s: &str| symbols.iter().any(|x| x == s.trim());
        if let Some(inner) = e.strip_prefix("defined(").and_then(|r| r.strip_suffix(')')) {
            return Ok(defined(inner));
        }
        if let Some(inner) = e
            .strip_prefix("!defined(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return Ok(!defined(inner));
        }
        if let Some(inner) = e.strip_prefix("defined ") {
            return Ok(defined(inner));
        }
        match e.parse::<i64>() {
            Ok(v) => Ok(v != 0),
            Err(_) => Err(ParseError {
                line,
                message: format!("unsupported preprocessor condition '#if {e}'"),
            }),
        }
    };
    if !text.lines().any(|l| l.trim_start().starts_with('#')) {
        return Ok(text.to_string());
    }
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = i + 1;
        let t = raw.trim();
        let directive = t.strip_prefix('#').map(str::trim_start).and_then(|rest| {
            let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            matches!(word, "ifdef" | "ifndef" | "if" | "elif" | "else" | "endif")
                .then(|| (word.to_string(), arg.trim().to_string()))
        });
        let Some((word, arg)) = directive else {
            if active(&stack) {
                out.push_str(raw);
            } else {
                out.push_str(if raw.ends_with('\n') { "\n" } else { "" });
            }
            continue;
        };
        let outer = active(&stack);
        match word.as_str() {
            "ifdef" | "ifndef" | "if" => {
                let c = match word.as_str() {
                    "ifdef" => symbols.contains(&arg),
                    "ifndef" => !symbols.contains(&arg),
                    _ => cond(&arg, line)?,
                };
                stack.push((outer && c, c, outer));
            }
            "elif" => {
                let Some(top) = stack.last_mut() else {
                    return Err(ParseError {
                        line,
                        message: "#elif without #if".into(),
                    });
                };
                let c = !top.1 && cond(&arg, line)?;
                top.0 = top.2 && c;
                top.1 |= c;
            }
            "else" => {
                let Some(top) = stack.last_mut() else {
                    return Err(ParseError {
                        line,
                        message: "#else without #if".into(),
                    });
                };
                top.0 = top.2 && !top.1;
                top.1 = true;
            }
            _ => {
                if stack.pop().is_none() {
                    return Err(ParseError {
                        line,
                        message: "#endif without #if".into(),
                    });
                }
            }
        }
        out.push_str(if raw.ends_with('\n') { "\n" } else { "" });
    }
    if !stack.is_empty() {
        return Err(ParseError {
            line: text.lines().count(),
            message: "unterminated #if/#ifdef".into(),
        });
    }
    Ok(out)
}

/// `"1.5"`, `".1"` (non-negative) → microseconds, truncating below 1 µs.
fn float_to_micros(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros = 0u64;
    for c in frac.chars().chain(core::iter::repeat('0')).take(6) {
        micros = micros * 10 + c.to_digit(10)? as u64;
    }
    int.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::float_to_micros;

    #[test]
    fn float_times() {
        assert_eq!(float_to_micros("1.5"), Some(1_500_000));
        assert_eq!(float_to_micros(".1"), Some(100_000));
        assert_eq!(float_to_micros("0.0000019"), Some(1));
        assert_eq!(float_to_micros("99999999999999999999.1"), None);
    }
}
