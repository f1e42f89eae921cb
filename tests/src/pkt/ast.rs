//! The typed syntax tree of a packetdrill-dialect script.
//!
//! Everything here is plain data: the parser fills it in, the executor consumes it. Times
//! are in microseconds of script time. Sequence numbers, ACK numbers, SACK blocks and TS
//! values are exactly as written in the script (packetdrill's relative numbering); mapping
//! them onto the live connection's ISN/TS offsets is the executor's job.

use core::fmt;

/// Microseconds of script time.
pub type Micros = u64;

/// A whole script.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Script {
    /// Leading `--name=value` lines, in order. A bare `--flag` has an empty value.
    /// Values are kept as written (quotes around a plain string value are removed).
    pub options: Vec<(String, String)>,
    /// Events in script order.
    pub events: Vec<Event>,
}

impl Script {
    /// The value of the last `--name=...` option with this name, if any.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One timed (or, for init/cleanup shell commands, untimed) event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 1-based line of the event's first token (its time, or the command itself).
    pub line: usize,
    /// When the event happens.
    pub time: EventTime,
    /// What happens.
    pub kind: EventKind,
}

/// The time specification that starts an event line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventTime {
    /// No time at all: a backtick command before the first or after the last timed event
    /// (packetdrill's init and cleanup commands). Runs at the current script time.
    Untimed,
    /// `1.5`: absolute script time.
    Absolute(Micros),
    /// `+0.1`: relative to the previous event's (script) time.
    Relative(Micros),
    /// `*`: any time (outbound packets only).
    Any,
    /// `0.1~0.5`: absolute window, start <= end (outbound packets only).
    AbsoluteRange(Micros, Micros),
    /// `+0~+0.2`: window relative to the previous event (outbound packets only).
    RelativeRange(Micros, Micros),
}

/// What an event does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A TCP segment injected (`<`) or expected (`>`).
    Packet(PacketEvent),
    /// An ICMP packet line (`< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`).
    Icmp(IcmpEvent),
    /// A UDP packet line (`< udp (100)`).
    Udp(UdpEvent),
    /// A system call and its expected result.
    Syscall(SyscallEvent),
    /// A backtick shell command, text between the backticks, verbatim.
    Shell(String),
    /// A `%{ ... }%` code block.
    Code(CodeBlock),
}

/// Direction of a packet line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `<`: the script injects this packet into the stack under test.
    Inbound,
    /// `>`: the stack under test must send this packet.
    Outbound,
}

/// TCP header flags as a bit set using the wire bit positions
/// (`FIN` = 0x01 … `CWR` = 0x80, `AE` = 0x100). An AccECN ACE digit in the script
/// (`0`-`7`, as in `S.5`) is stored as its E/W/A bits (1 = ECE, 2 = CWR, 4 = AE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// `F`
    pub const FIN: u16 = 0x01;
    /// `S`
    pub const SYN: u16 = 0x02;
    /// `R`
    pub const RST: u16 = 0x04;
    /// `P`
    pub const PSH: u16 = 0x08;
    /// `.`
    pub const ACK: u16 = 0x10;
    /// `U`
    pub const URG: u16 = 0x20;
    /// `E`
    pub const ECE: u16 = 0x40;
    /// `W`
    pub const CWR: u16 = 0x80;
    /// `A` (AccECN's AE bit)
    pub const AE: u16 = 0x100;

    /// Whether every bit of `mask` is set.
    pub fn contains(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
    /// `S` set.
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    /// `F` set.
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    /// `R` set.
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    /// `P` set.
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    /// `.` set.
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    /// `U` set.
    pub fn urg(self) -> bool {
        self.contains(Self::URG)
    }
}

impl fmt::Display for TcpFlags {
    /// Packetdrill spelling: letters in `FSRPUEWA` order, then `.` for ACK; `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("-");
        }
        for (bit, c) in [
            (Self::FIN, 'F'),
            (Self::SYN, 'S'),
            (Self::RST, 'R'),
            (Self::PSH, 'P'),
            (Self::URG, 'U'),
            (Self::ECE, 'E'),
            (Self::CWR, 'W'),
            (Self::AE, 'A'),
            (Self::ACK, '.'),
        ] {
            if self.contains(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// IP-level annotations written in brackets after the direction: `[ect0]`, `(tos 0x10)`,
/// `[noecn, flowlabel 0x12345]`, `(ttl 64)`. All `None` when the line has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct IpInfo {
    /// ECN codepoint to send / expect.
    pub ecn: Option<Ecn>,
    /// Full TOS / traffic-class byte (`tos 0x..`).
    pub tos: Option<u8>,
    /// IPv6 flow label (`flowlabel 0x..`).
    pub flow_label: Option<u32>,
    /// TTL / hop limit (`ttl N`, NPLab's `hlim N`).
    pub ttl: Option<u8>,
    /// DSCP (NPLab's `dscp 0x..`), the upper six bits of the TOS byte.
    pub dscp: Option<u8>,
}

/// ECN codepoints as packetdrill names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecn {
    /// `noecn`
    NotEct,
    /// `ect0`
    Ect0,
    /// `ect1`
    Ect1,
    /// `ce`
    Ce,
    /// `ect01`: either ECT codepoint (outbound only).
    Ect01,
}

/// A TCP packet line.
///
/// Executor notes (packetdrill semantics):
/// - `start_seq`/`end_seq`/`len` come from `start:end(len)`; `end_seq == start_seq + len`
///   is checked by the parser. SYN and FIN do not count in `len`.
/// - `ack` is `None` when the line has no `ack N` (then an outbound ACK number is not
///   checked; an inbound segment carries ack 0).
/// - `win` is `None` when the line has no `win N` (outbound: window not checked; inbound:
///   the executor picks a default).
/// - `options`: `None` means `<...>` (outbound only: options not checked);
///   `Some(vec![])` means no option list was written: the segment carries no options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketEvent {
    /// `<` or `>`.
    pub direction: Direction,
    /// Optional IP-level annotations.
    pub ip: IpInfo,
    /// Explicit `src>dst` ports (`< 1234>8080 S ...`), rarely used.
    pub ports: Option<(u16, u16)>,
    /// Header flags.
    pub flags: TcpFlags,
    /// First sequence number (relative).
    pub start_seq: u32,
    /// Sequence number after the payload (relative).
    pub end_seq: u32,
    /// Payload length in bytes.
    pub len: u16,
    /// `ack N`.
    pub ack: Option<u32>,
    /// `win N` (the raw 16-bit field, before scaling).
    pub win: Option<u16>,
    /// `urg N`.
    pub urg: Option<u16>,
    /// Option list; see the type-level notes.
    pub options: Option<Vec<TcpOption>>,
    /// How `start_seq` is meant (NPLab's `start:end(len)!` and `...(len)`).
    pub seq_mode: SeqMode,
    /// The flags were written with an AccECN ACE digit (`S.5`): the three ACE bits are
    /// compared as one field (packetdrill's `FLAG_PARSE_ACE`).
    pub ace: bool,
    /// NPLab's `TS val ...`: the timestamp value is not checked or mapped.
    pub ts_val_ignored: bool,
    /// NPLab's `TS val X ecr Y!`: the echo reply is sent as written, not mapped.
    pub ts_ecr_absolute: bool,
    /// NPLab's UDP encapsulation suffix `/udp(SRC > DST)` (RFC 8085 tunneling).
    pub udp_encap: Option<(u16, u16)>,
}

/// How a TCP packet line's sequence number is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SeqMode {
    /// `start:end(len)`, relative to the ISN (packetdrill's numbering).
    #[default]
    Relative,
    /// NPLab's `start:end(len)!`: an absolute sequence number.
    Absolute,
    /// NPLab's `...(len)`: any sequence number.
    Ignore,
}

/// One TCP option as written between `<` and `>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    /// `nop`
    Nop,
    /// `eol`
    Eol,
    /// `mss N`
    Mss(u16),
    /// `wscale N`
    WindowScale(u8),
    /// `sackOK`
    SackPermitted,
    /// `sack a:b c:d ...`: blocks as (left, right), relative to the sender's peer's ISN.
    Sack(Vec<(u32, u32)>),
    /// `TS val X ecr Y`
    Timestamp {
        /// TSval
        val: u32,
        /// TSecr
        ecr: u32,
    },
    /// `md5 HEX`: the signature text as written.
    Md5(String),
    /// `FO [cookie]` (kind 34) or `FOEXP [cookie]` (kind 254 experimental). An empty
    /// cookie is a cookie request.
    FastOpen {
        /// Cookie as hex text (or a symbol to be defined with `--define`).
        cookie: String,
        /// `FOEXP` rather than `FO`.
        experimental: bool,
    },
    /// Any other option form (e.g. AccECN's `ECN e1b 1 ceb 0 e0b 1`), kept as text; the
    /// executor cannot build or check it.
    Other(String),
}

impl TcpOption {
    /// Bytes this option occupies on the wire (`None` for [`TcpOption::Other`], or a
    /// cookie / signature that is not hex).
    pub fn wire_len(&self) -> Option<usize> {
        let hex_len = |s: &str| {
            (s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .then_some(s.len() / 2)
        };
        Some(match self {
            TcpOption::Nop | TcpOption::Eol => 1,
            TcpOption::Mss(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamp { .. } => 10,
            TcpOption::Md5(_) => 18,
            TcpOption::FastOpen {
                cookie,
                experimental,
            } => (if *experimental { 4 } else { 2 }) + hex_len(cookie)?,
            TcpOption::Other(_) => return None,
        })
    }
}

/// An ICMP packet line: `< icmp unreachable frag_needed mtu 840 [0:1000(1000)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpEvent {
    /// `<` or `>`.
    pub direction: Direction,
    /// IP-level annotations.
    pub ip: IpInfo,
    /// Type name, e.g. `unreachable`, `time_exceeded`, `echo_request`.
    pub icmp_type: String,
    /// Code name, e.g. `frag_needed`, `port_unreachable`.
    pub code: Option<String>,
    /// `mtu N` (for frag-needed / packet-too-big).
    pub mtu: Option<u32>,
    /// `id N` (echo id).
    pub echo_id: Option<u16>,
    /// The packet the ICMP message quotes, if written.
    pub echoed: Option<IcmpEchoed>,
}

/// What an ICMP message quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpEchoed {
    /// `[start:end(len)]`: a TCP segment of this connection.
    Tcp {
        /// Relative start sequence.
        start_seq: u32,
        /// Relative end sequence.
        end_seq: u32,
        /// Payload length.
        len: u16,
    },
    /// `[udp (N)]`
    Udp(u16),
    /// `[raw (N)]`
    Raw(u16),
}

/// A UDP packet line: `< udp (100)` or `> udp 1234>53 (100)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpEvent {
    /// `<` or `>`.
    pub direction: Direction,
    /// IP-level annotations.
    pub ip: IpInfo,
    /// Explicit ports.
    pub ports: Option<(u16, u16)>,
    /// Payload length.
    pub len: u16,
}

/// A system call line: `[+A[...B]] name(args) = result [ERRNO (note)] [(note)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    /// `socket`, `accept`, `setsockopt`, …
    pub name: String,
    /// Arguments as expressions.
    pub args: Vec<Expr>,
    /// For a blocking call `+A...B name(...)`: the time the call must return, `B`, in the
    /// same frame as the event's start time (absolute if the start is absolute, relative to
    /// the previous event's time if the start is relative). `None` for non-blocking calls.
    pub end: Option<Micros>,
    /// Expected return value (usually `Expr::Int`).
    pub result: Expr,
    /// Expected errno symbol (`EINPROGRESS`), when written.
    pub errno: Option<String>,
    /// The parenthesised strerror text or note, verbatim, when written.
    pub note: Option<String>,
}

/// A syscall argument or result expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `...`: anything / don't care.
    Ellipsis,
    /// Decimal or hex integer, possibly negative.
    Int(i64),
    /// A symbol: `SOCK_STREAM`, `SO_REUSEADDR`, `NULL`, `ECONNREFUSED`, …
    Word(String),
    /// `"text"` (adjacent strings concatenated), escapes kept as written.
    Str(String),
    /// `"text"...`: a buffer starting with text.
    StrPrefix(String),
    /// `A|B|C` (at least two operands).
    BitOr(Vec<Expr>),
    /// `[a, b]`; `[1]` is how packetdrill writes an int passed by pointer.
    Array(Vec<Expr>),
    /// `{a, b}` or `{name=value, ...}`: a struct (linger, pollfd, tcp_info, iovec, …).
    Struct(Vec<Expr>),
    /// `name = value` inside a struct; the left side is a `Word` or a `Call`
    /// (`msg_iov(1)=[...]`).
    Assign(Box<Expr>, Box<Expr>),
    /// `name(args)`: `htons(8080)`, `inet_addr("192.0.2.1")`, `msg_name(...)`.
    Call(String, Vec<Expr>),
}

impl Expr {
    /// The integer value, if this is an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Expr::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The symbol name, if this is a `Word`.
    pub fn as_word(&self) -> Option<&str> {
        match self {
            Expr::Word(w) => Some(w),
            _ => None,
        }
    }

    /// The integer inside a one-element array (`[1]`), or a plain integer.
    pub fn as_int_ref(&self) -> Option<i64> {
        match self {
            Expr::Array(items) if items.len() == 1 => items[0].as_int(),
            _ => self.as_int(),
        }
    }

    /// The symbols of a bit-or (`O_RDWR|O_NONBLOCK`) or a single symbol; `None` if any
    /// operand is not a symbol.
    pub fn symbols(&self) -> Option<Vec<&str>> {
        match self {
            Expr::Word(w) => Some(vec![w.as_str()]),
            Expr::BitOr(items) => items.iter().map(Expr::as_word).collect(),
            _ => None,
        }
    }

    /// In a `Struct`, the value assigned to field `name` (`{onoff=1, linger=0}`).
    pub fn field(&self, name: &str) -> Option<&Expr> {
        let Expr::Struct(items) = self else {
            return None;
        };
        items.iter().find_map(|item| match item {
            Expr::Assign(lhs, rhs) => match lhs.as_ref() {
                Expr::Word(w) | Expr::Call(w, _) if w == name => Some(rhs.as_ref()),
                _ => None,
            },
            _ => None,
        })
    }
}

/// A `%{ ... }%` block.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeBlock {
    /// The text between `%{` and `}%`, with blanks and tabs around it trimmed (as
    /// packetdrill's lexer does).
    pub text: String,
    /// The block parsed as the Python subset the runner evaluates, or why it is not.
    pub program: Result<super::python::Program, super::python::SyntaxError>,
}

impl CodeBlock {
    /// Parses a block's text.
    pub fn new(text: &str) -> Self {
        CodeBlock {
            text: text.to_string(),
            program: super::python::parse(text),
        }
    }

    /// Whether the block parsed (the executor can evaluate it).
    pub fn fully_parsed(&self) -> bool {
        self.program.is_ok()
    }
}

impl Eq for CodeBlock {}
