//! Printing AST nodes back in packetdrill syntax (for the executor's FAIL lines
//! and for round-trip tests). `parse_script(&event.to_string())` gives the event back.

use super::ast::*;
use core::fmt;

fn micros(f: &mut fmt::Formatter<'_>, us: Micros) -> fmt::Result {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        write!(f, "{s}")
    } else {
        let digits = format!("{frac:06}");
        write!(f, "{s}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EventTime::Untimed => Ok(()),
            EventTime::Absolute(t) => micros(f, t),
            EventTime::Relative(t) => {
                f.write_str("+")?;
                micros(f, t)
            }
            EventTime::Any => f.write_str("*"),
            EventTime::AbsoluteRange(a, b) => {
                micros(f, a)?;
                f.write_str("~")?;
                micros(f, b)
            }
            EventTime::RelativeRange(a, b) => {
                f.write_str("+")?;
                micros(f, a)?;
                f.write_str("~+")?;
                micros(f, b)
            }
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "<",
            Direction::Outbound => ">",
        })
    }
}

impl fmt::Display for IpInfo {
    /// Empty when nothing is set, else e.g. `[ect0,tos 0x10]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(e) = self.ecn {
            parts.push(
                match e {
                    Ecn::NotEct => "noecn",
                    Ecn::Ect0 => "ect0",
                    Ecn::Ect1 => "ect1",
                    Ecn::Ce => "ce",
                    Ecn::Ect01 => "ect01",
                }
                .to_string(),
            );
        }
        if let Some(t) = self.tos {
            parts.push(format!("tos {t:#x}"));
        }
        if let Some(l) = self.flow_label {
            parts.push(format!("flowlabel {l:#x}"));
        }
        if let Some(t) = self.ttl {
            parts.push(format!("ttl {t}"));
        }
        if let Some(d) = self.dscp {
            parts.push(format!("dscp {d:#x}"));
        }
        if parts.is_empty() {
            Ok(())
        } else {
            write!(f, "[{}]", parts.join(","))
        }
    }
}

impl fmt::Display for TcpOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOption::Nop => f.write_str("nop"),
            TcpOption::Eol => f.write_str("eol"),
            TcpOption::Mss(v) => write!(f, "mss {v}"),
            TcpOption::WindowScale(v) => write!(f, "wscale {v}"),
            TcpOption::SackPermitted => f.write_str("sackOK"),
            TcpOption::Sack(blocks) => {
                f.write_str("sack")?;
                for (l, r) in blocks {
                    write!(f, " {l}:{r}")?;
                }
                Ok(())
            }
            TcpOption::Timestamp { val, ecr } => write!(f, "TS val {val} ecr {ecr}"),
            TcpOption::Md5(s) => write!(f, "md5 {s}"),
            TcpOption::FastOpen {
                cookie,
                experimental,
            } => {
                f.write_str(if *experimental { "FOEXP" } else { "FO" })?;
                if !cookie.is_empty() {
                    write!(f, " {cookie}")?;
                }
                Ok(())
            }
            TcpOption::Other(s) => f.write_str(s),
        }
    }
}

fn option_list(f: &mut fmt::Formatter<'_>, p: &PacketEvent) -> fmt::Result {
    match &p.options {
        None => f.write_str(" <...>"),
        Some(v) if v.is_empty() => Ok(()),
        Some(v) => {
            f.write_str(" <")?;
            for (i, o) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                match o {
                    TcpOption::Timestamp { val, ecr } => {
                        if p.ts_val_ignored {
                            f.write_str("TS val ...")?;
                        } else {
                            write!(f, "TS val {val}")?;
                        }
                        write!(f, " ecr {ecr}")?;
                        if p.ts_ecr_absolute {
                            f.write_str("!")?;
                        }
                    }
                    o => write!(f, "{o}")?,
                }
            }
            f.write_str(">")
        }
    }
}

fn ip_prefix(f: &mut fmt::Formatter<'_>, ip: &IpInfo) -> fmt::Result {
    if *ip != IpInfo::default() {
        write!(f, " {ip}")?;
    }
    Ok(())
}

impl fmt::Display for PacketEvent {
    /// `< S. 0:0(0) ack 1 win 257 <mss 1460,...>`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.direction)?;
        ip_prefix(f, &self.ip)?;
        if let Some((s, d)) = self.ports {
            write!(f, " {s}>{d}")?;
        }
        let flags = if self.ace {
            // Letters without E/W/A, then `.` for ACK, then the ACE digit (`S.5`).
            let bits = self.flags.0;
            let mut s = String::new();
            for (bit, c) in [
                (TcpFlags::FIN, 'F'),
                (TcpFlags::SYN, 'S'),
                (TcpFlags::RST, 'R'),
                (TcpFlags::PSH, 'P'),
                (TcpFlags::URG, 'U'),
            ] {
                if bits & bit != 0 {
                    s.push(c);
                }
            }
            if bits & TcpFlags::ACK != 0 {
                s.push('.');
            }
            let ace = u16::from(bits & TcpFlags::ECE != 0)
                | u16::from(bits & TcpFlags::CWR != 0) << 1
                | u16::from(bits & TcpFlags::AE != 0) << 2;
            s.push(char::from(b'0' + ace as u8));
            s
        } else {
            self.flags.to_string()
        };
        match self.seq_mode {
            SeqMode::Ignore => write!(f, " {flags} ...({})", self.len)?,
            mode => {
                write!(
                    f,
                    " {flags} {}:{}({})",
                    self.start_seq, self.end_seq, self.len
                )?;
                if mode == SeqMode::Absolute {
                    f.write_str("!")?;
                }
            }
        }
        if let Some(a) = self.ack {
            write!(f, " ack {a}")?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        if let Some(u) = self.urg {
            write!(f, " urg {u}")?;
        }
        option_list(f, self)?;
        if let Some((s, d)) = self.udp_encap {
            write!(f, "/udp({s} > {d})")?;
        }
        Ok(())
    }
}

impl fmt::Display for IcmpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.direction)?;
        ip_prefix(f, &self.ip)?;
        write!(f, " icmp {}", self.icmp_type)?;
        if let Some(c) = &self.code {
            write!(f, " {c}")?;
        }
        if let Some(m) = self.mtu {
            write!(f, " mtu {m}")?;
        }
        if let Some(i) = self.echo_id {
            write!(f, " id {i}")?;
        }
        match self.echoed {
            None => Ok(()),
            Some(IcmpEchoed::Tcp {
                start_seq,
                end_seq,
                len,
            }) => write!(f, " [{start_seq}:{end_seq}({len})]"),
            Some(IcmpEchoed::Udp(n)) => write!(f, " [udp ({n})]"),
            Some(IcmpEchoed::Raw(n)) => write!(f, " [raw ({n})]"),
        }
    }
}

impl fmt::Display for UdpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.direction)?;
        ip_prefix(f, &self.ip)?;
        f.write_str(" udp")?;
        if let Some((s, d)) = self.ports {
            write!(f, " {s}>{d}")?;
        }
        write!(f, " ({})", self.len)
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ellipsis => f.write_str("..."),
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Word(w) => f.write_str(w),
            Expr::Str(s) => write!(f, "\"{s}\""),
            Expr::StrPrefix(s) => write!(f, "\"{s}\"..."),
            Expr::BitOr(items) => {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Expr::Array(items) => {
                f.write_str("[")?;
                list(f, items)?;
                f.write_str("]")
            }
            Expr::Struct(items) => {
                f.write_str("{")?;
                list(f, items)?;
                f.write_str("}")
            }
            Expr::Assign(l, r) => write!(f, "{l}={r}"),
            Expr::Call(name, args) => {
                write!(f, "{name}(")?;
                list(f, args)?;
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for SyscallEvent {
    /// `name(args) = result [ERRNO] [(note)]`; the blocking end time is printed by
    /// [`Event`]'s `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        list(f, &self.args)?;
        write!(f, ") = {}", self.result)?;
        if let Some(e) = &self.errno {
            write!(f, " {e}")?;
        }
        if let Some(n) = &self.note {
            write!(f, " ({n})")?;
        }
        Ok(())
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Packet(p) => write!(f, "{p}"),
            EventKind::Icmp(p) => write!(f, "{p}"),
            EventKind::Udp(p) => write!(f, "{p}"),
            EventKind::Syscall(s) => write!(f, "{s}"),
            EventKind::Shell(c) => write!(f, "`{c}`"),
            EventKind::Code(c) => write!(f, "%{{ {} }}%", c.text),
        }
    }
}

impl fmt::Display for Event {
    /// One script line (without the line number).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.time != EventTime::Untimed {
            write!(f, "{} ", self.time)?;
        }
        if let EventKind::Syscall(s) = &self.kind
            && let Some(end) = s.end
        {
            f.write_str("...")?;
            micros(f, end)?;
            f.write_str(" ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl fmt::Display for Script {
    /// The whole script, one option or event per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.options {
            if v.is_empty() {
                writeln!(f, "--{k}")?;
            } else if v.contains(char::is_whitespace) {
                writeln!(f, "--{k}=\"{v}\"")?;
            } else {
                writeln!(f, "--{k}={v}")?;
            }
        }
        for e in &self.events {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}
