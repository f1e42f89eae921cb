//! Tests of the packetdrill-dialect parser: grammar coverage, error reporting, real
//! upstream-style scripts, every scenario script in `tests/scripts`, and robustness.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use tcp_tests::pkt::*;

fn one(text: &str) -> Event {
    let s = parse_script(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(s.events.len(), 1, "{text}");
    s.events.into_iter().next().unwrap()
}

fn packet(text: &str) -> PacketEvent {
    match one(text).kind {
        EventKind::Packet(p) => p,
        other => panic!("not a packet: {other:?}"),
    }
}

fn syscall(text: &str) -> SyscallEvent {
    match one(text).kind {
        EventKind::Syscall(s) => s,
        other => panic!("not a syscall: {other:?}"),
    }
}

fn err(text: &str) -> ParseError {
    match parse_script(text) {
        Ok(s) => panic!("parsed but should not: {text}\n{s:?}"),
        Err(e) => e,
    }
}

fn w(s: &str) -> Expr {
    Expr::Word(s.into())
}

#[test]
fn options_and_comments() {
    let s = parse_script(
        "// comment\n--tolerance_usecs=10000\n--tcp_ts_tick_usecs=1000 --mss=1000\n\
         --ip_version=ipv4\n--define=PROTO=IPPROTO_TCP\n--dry_run\n--remote_ip=\"192.0.2.1\"\n\
         /* multi\n line */\n`sysctl -q net.ipv4.tcp_timestamps=0`\n0 close(3) = 0 // trailing\n",
    )
    .unwrap();
    assert_eq!(s.option("tolerance_usecs"), Some("10000"));
    assert_eq!(s.option("tcp_ts_tick_usecs"), Some("1000"));
    assert_eq!(s.option("mss"), Some("1000"));
    assert_eq!(s.option("ip_version"), Some("ipv4"));
    assert_eq!(s.option("define"), Some("PROTO=IPPROTO_TCP"));
    assert_eq!(s.option("dry_run"), Some(""));
    assert_eq!(s.option("remote_ip"), Some("192.0.2.1"));
    assert_eq!(s.events.len(), 2);
    assert_eq!(s.events[0].time, EventTime::Untimed);
    assert_eq!(s.events[0].line, 10);
    assert_eq!(
        s.events[0].kind,
        EventKind::Shell("sysctl -q net.ipv4.tcp_timestamps=0".into())
    );
    assert_eq!(s.events[1].line, 11);
}

#[test]
fn event_times() {
    let t = |s: &str| one(s).time;
    assert_eq!(t("0 close(3) = 0"), EventTime::Absolute(0));
    assert_eq!(t("1.5 close(3) = 0"), EventTime::Absolute(1_500_000));
    assert_eq!(t(".1 close(3) = 0"), EventTime::Absolute(100_000));
    assert_eq!(t("+0.1 close(3) = 0"), EventTime::Relative(100_000));
    assert_eq!(t("+.002 close(3) = 0"), EventTime::Relative(2_000));
    assert_eq!(t("+3 close(3) = 0"), EventTime::Relative(3_000_000));
    assert_eq!(t("* > . 1:1(0) ack 1"), EventTime::Any);
    assert_eq!(
        t("+0~+0.2 > . 1:1(0) ack 1"),
        EventTime::RelativeRange(0, 200_000)
    );
    assert_eq!(
        t("0.1~0.5 > . 1:1(0) ack 1"),
        EventTime::AbsoluteRange(100_000, 500_000)
    );
    let e = one("+0...0.1 accept(3, ..., ...) = 4");
    assert_eq!(e.time, EventTime::Relative(0));
    let EventKind::Syscall(s) = e.kind else {
        panic!()
    };
    assert_eq!(s.end, Some(100_000));
    assert_eq!(s.name, "accept");
    let s = syscall("0.5...1.5 read(4, ..., 10) = 10");
    assert_eq!(s.end, Some(1_500_000));
}

#[test]
fn time_semantic_errors() {
    assert!(err("* close(3) = 0").message.contains("outbound"));
    assert!(
        err("+0~+1 < . 1:1(0) ack 1 win 10")
            .message
            .contains("outbound")
    );
    assert!(err("1~0.5 > . 1:1(0) ack 1").message.contains("backwards"));
    assert!(err("-1 close(3) = 0").message.contains("negative"));
    assert!(err("+0~0.2 > . 1:1(0)").message.contains("'+'"));
}

#[test]
fn syscalls() {
    let s = syscall("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
    assert_eq!(
        s.args,
        vec![Expr::Ellipsis, w("SOCK_STREAM"), w("IPPROTO_TCP")]
    );
    assert_eq!(s.result, Expr::Int(3));
    assert_eq!(s.end, None);

    let s = syscall("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    assert_eq!(s.result, Expr::Int(-1));
    assert_eq!(s.errno.as_deref(), Some("EINPROGRESS"));
    assert_eq!(s.note.as_deref(), Some("Operation now in progress"));

    let s = syscall("+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
    assert_eq!(s.args[2].symbols(), Some(vec!["O_RDWR", "O_NONBLOCK"]));

    let s = syscall("+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
    assert_eq!(s.args[3].as_int_ref(), Some(1));

    let s = syscall("+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0");
    assert_eq!(s.args[3], Expr::Array(vec![w("ECONNREFUSED")]));
    assert_eq!(s.args[4].as_int_ref(), Some(4));

    let s = syscall("+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
    assert_eq!(s.args[3].field("onoff"), Some(&Expr::Int(1)));
    assert_eq!(s.args[3].field("linger"), Some(&Expr::Int(0)));

    let s = syscall("+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1");
    let Expr::Array(fds) = &s.args[0] else {
        panic!()
    };
    assert_eq!(fds[0].field("fd"), Some(&Expr::Int(4)));
    assert_eq!(
        fds[0].field("events").and_then(Expr::symbols),
        Some(vec!["POLLIN", "POLLOUT"])
    );

    let s = syscall(
        "+0 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, tcpi_rto=1000000, ...}, [104]) = 0",
    );
    assert_eq!(s.args[3].field("tcpi_state"), Some(&w("TCP_ESTABLISHED")));
    assert_eq!(s.args[3].field("tcpi_rto"), Some(&Expr::Int(1_000_000)));

    let s = syscall("+0 shutdown(4, SHUT_WR) = 0");
    assert_eq!(s.args, vec![Expr::Int(4), w("SHUT_WR")]);
    let s = syscall("+0 write(4, \"abc\" \"def\", 6) = 6");
    assert_eq!(s.args[1], Expr::Str("abcdef".into()));
    let s = syscall("+0 send(4, \"GET\"..., 100, 0x40) = 100");
    assert_eq!(s.args[1], Expr::StrPrefix("GET".into()));
    assert_eq!(s.args[3], Expr::Int(0x40));
    let s = syscall("+0 writev(4, [{..., 1000}, {..., 1000}], 2) = 2000");
    assert_eq!(s.result, Expr::Int(2000));
    let s = syscall(
        "+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0}, 0) = 1000",
    );
    assert_eq!(s.args[1].field("msg_flags"), Some(&Expr::Int(0)));
    assert!(s.args[1].field("msg_iov").is_some());
    let s = syscall(
        "+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0",
    );
    assert_eq!(
        s.args[1].field("sin_port"),
        Some(&Expr::Call("htons".into(), vec![Expr::Int(8080)]))
    );
    let s = syscall("+0 getpid() = ...");
    assert!(s.args.is_empty());
    assert_eq!(s.result, Expr::Ellipsis);
    let s = syscall("+0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)");
    assert_eq!(s.errno.as_deref(), Some("EAGAIN"));
    for name in ["recv", "sendto", "recvfrom", "readv", "recvmsg", "close"] {
        let s = syscall(&format!("+0 {name}(4, ..., ...) = 0"));
        assert_eq!(s.name, name);
    }
}

#[test]
fn packets() {
    let p = packet("+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
    assert_eq!(p.direction, Direction::Inbound);
    assert_eq!(p.flags, TcpFlags(TcpFlags::SYN));
    assert_eq!((p.start_seq, p.end_seq, p.len), (0, 0, 0));
    assert_eq!(p.ack, None);
    assert_eq!(p.win, Some(32792));
    assert_eq!(
        p.options,
        Some(vec![
            TcpOption::Mss(1000),
            TcpOption::SackPermitted,
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::WindowScale(7)
        ])
    );

    let p = packet("+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>");
    assert_eq!(p.direction, Direction::Outbound);
    assert!(p.flags.syn() && p.flags.ack() && !p.flags.fin());
    assert_eq!(p.ack, Some(1));
    assert_eq!(p.win, None);

    let p = packet("+.1 < . 1:1(0) ack 1 win 257");
    assert_eq!(p.flags, TcpFlags(TcpFlags::ACK));
    assert_eq!(p.options, Some(vec![]));

    let p = packet("+0 < P. 1:1001(1000) ack 1 win 257");
    assert_eq!((p.start_seq, p.end_seq, p.len), (1, 1001, 1000));
    assert!(p.flags.psh() && p.flags.ack());

    assert_eq!(
        packet("+0 > F. 1:1(0) ack 1").flags,
        TcpFlags(TcpFlags::FIN | TcpFlags::ACK)
    );
    let p = packet("+0 < R. 1:1(0) win 0");
    assert!(p.flags.rst() && p.flags.ack());
    assert_eq!(p.win, Some(0));
    assert_eq!(packet("+0 > R 2:2(0)").flags, TcpFlags(TcpFlags::RST));
    assert_eq!(packet("+0 < - 1:1(0) win 10").flags, TcpFlags(0));
    assert_eq!(
        packet("+0 < SEW 0:0(0) win 10").flags,
        TcpFlags(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR)
    );
    assert_eq!(
        packet("+0 < U. 1:101(100) ack 1 win 257 urg 100").urg,
        Some(100)
    );

    let p = packet(
        "+0 > . 1:1(0) ack 1001 <nop,nop,TS val 100 ecr 700,nop,nop,sack 2001:3001 4001:5001>",
    );
    assert_eq!(
        p.options,
        Some(vec![
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Timestamp { val: 100, ecr: 700 },
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Sack(vec![(2001, 3001), (4001, 5001)])
        ])
    );
    // `> . ...` without a time is an error (every event needs one).
    assert_eq!(
        parse_script("0 < . 1:1(0) ack 1 win 1\n> . 1:1(0) ack 1")
            .unwrap_err()
            .line,
        2
    );

    assert_eq!(packet("+0 > S 0:0(0) <...>").options, None);
    let p = packet("+0 > [ect0] P. 1:1001(1000) ack 1");
    assert_eq!(p.ip.ecn, Some(Ecn::Ect0));
    let p = packet("+0 < (tos 0x10, flowlabel 0x12345) . 1:1(0) ack 1 win 10");
    assert_eq!(p.ip.tos, Some(0x10));
    assert_eq!(p.ip.flow_label, Some(0x12345));
    let p = packet("+0 < 1234>8080 S 0:0(0) win 100");
    assert_eq!(p.ports, Some((1234, 8080)));

    let p = packet("+0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 8,FO,nop,nop>");
    assert!(p.options.unwrap().contains(&TcpOption::FastOpen {
        cookie: String::new(),
        experimental: false
    }));
    let p = packet("+0 < S. 123:123(0) ack 1 win 5840 <FO abcd1234,nop,nop,FOEXP 1234,nop,nop>");
    let o: Vec<_> = p
        .options
        .unwrap()
        .into_iter()
        .filter(|o| *o != TcpOption::Nop)
        .collect();
    assert_eq!(
        o[0],
        TcpOption::FastOpen {
            cookie: "abcd1234".into(),
            experimental: false
        }
    );
    assert_eq!(
        o[1],
        TcpOption::FastOpen {
            cookie: "1234".into(),
            experimental: true
        }
    );
    let p = packet("+0 < . 1:1(0) ack 1 win 5 <md5 000102030405060708090a0b0c0d0e0f,nop,eol>");
    let o = p.options.unwrap();
    assert_eq!(
        o[0],
        TcpOption::Md5("000102030405060708090a0b0c0d0e0f".into())
    );
    assert_eq!(o[2], TcpOption::Eol);
    let p = packet("+0 > SW. 0:0(0) ack 1 <mss 1460,ECN e1b 1 ceb 0 e0b 1,nop>");
    assert_eq!(
        p.options.unwrap()[1],
        TcpOption::Other("ECN e1b 1 ceb 0 e0b 1".into())
    );
}

#[test]
fn packetdrill_semantic_checks() {
    assert!(
        err("+0 < . 1:1(0) ack 1")
            .message
            .contains("window must be specified")
    );
    assert!(
        err("+0 < S 0:0(0) win 10 <mss 1000,wscale 7>")
            .message
            .contains("padded")
    );
    assert!(
        err("+0 > S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10,nop,nop>")
            .message
            .contains("too long")
    );
    // AccECN ACE digits: `.5` = ACK with ACE 5 (ECE|AE); digits conflict with E/W/A letters.
    assert_eq!(
        packet("+0 > .5 1:1(0) ack 1").flags,
        TcpFlags(TcpFlags::ACK | TcpFlags::ECE | TcpFlags::AE)
    );
    assert_eq!(
        packet("+0 > P.2 1:1(0) ack 1").flags,
        TcpFlags(TcpFlags::PSH | TcpFlags::ACK | TcpFlags::CWR)
    );
    assert!(err("+0 > E.5 1:1(0) ack 1").message.contains("conflict"));
    assert_eq!(
        packet("+0 < SEWA 0:0(0) win 1").flags,
        TcpFlags(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::AE)
    );
}

#[test]
fn icmp_and_udp() {
    let e = one("+.01 < icmp unreachable frag_needed mtu 840 [0:1000(1000)]");
    let EventKind::Icmp(i) = e.kind else { panic!() };
    assert_eq!(i.icmp_type, "unreachable");
    assert_eq!(i.code.as_deref(), Some("frag_needed"));
    assert_eq!(i.mtu, Some(840));
    assert_eq!(
        i.echoed,
        Some(IcmpEchoed::Tcp {
            start_seq: 0,
            end_seq: 1000,
            len: 1000
        })
    );
    let e = one("+0 < udp (100)");
    let EventKind::Udp(u) = e.kind else { panic!() };
    assert_eq!(u.len, 100);
}

#[test]
fn packet_errors() {
    let e = err("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\n+0 < S 0:10(0) win 100");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("inconsistent"), "{e}");
    assert!(err("+0 < S 0:0(0) <...>").message.contains("outbound"));
    assert!(err("+0 < X 0:0(0)").message.contains("flags"));
    assert!(err("+0 < S 0:0(0) win 70000").message.contains("window"));
    assert!(
        err("+0 < S 0:0(0) win 10 <mss 99999>")
            .message
            .contains("mss")
    );
    assert!(
        err("+0 < S 0:0(0) win 10 <mss 1000")
            .message
            .contains("'>'")
    );
    assert!(
        err("+0 < S 4294967296:4294967296(0)")
            .message
            .contains("range")
    );
    assert!(
        err("+0 < . 1:1(0) ack 1 <TS val 1>")
            .message
            .contains("ecr")
    );
    assert!(err("+0 < . 1:1(0) ack 1 <sack>").message.contains("SACK"));
    assert!(
        err("+0 < ipv4 1.2.3.4 > 5.6.7.8: S 0:0(0)")
            .message
            .contains("encapsulated")
    );
}

#[test]
fn syntax_errors_have_lines() {
    let cases = [
        ("0 close(3)", 1, "'='"),
        ("0 close(3 = 0", 1, "','"),
        ("\n\n0 close(3) = 0\n+0 foo", 4, "'('"),
        ("0 `unterminated\n\n", 1, "backtick"),
        ("\n0 %{ assert 1 == 1\n", 2, "}%"),
        ("/* open", 1, "comment"),
        ("0 write(4, \"abc, 3) = 3", 1, "string"),
        ("0 close(3) = 0\n--late=1", 2, "before"),
        ("0 close(3) = 0\n+0 @", 2, "'@'"),
        ("0 < S 99999999999999999999:0(0) win 1", 1, "range"),
        ("0 close(3) = 0 (unterminated note", 1, "note"),
        ("zzz", 1, "event time"),
    ];
    for (text, line, needle) in cases {
        let e = err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
    let deep = format!("0 f({}1{}) = 0", "[".repeat(500), "]".repeat(500));
    assert!(err(&deep).message.contains("deeply"));
}

#[test]
fn code_blocks() {
    use tcp_tests::pkt::python::{Interpreter, Lookup, PyError, Value};
    let run = |text: &str, vars: &[(&str, i128)]| -> Result<(), PyError> {
        let e = one(text);
        let EventKind::Code(c) = e.kind else { panic!() };
        let prog = c.program.clone().map_err(|e| PyError::Raise(e.message))?;
        let mut py = Interpreter::new();
        py.assign_all(
            vars.iter()
                .map(|(k, v)| (k.to_string(), Lookup::Value(Value::Int(*v)))),
        );
        py.run(&prog).map_err(|(_, e)| e)
    };
    let vars = [
        ("tcpi_snd_cwnd", 10),
        ("tcpi_rto", 1_000_000),
        ("tcpi_options", 0b101),
        ("TCPI_OPT_SACK", 0b100),
    ];
    assert_eq!(
        run("+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%", &vars),
        Ok(())
    );
    assert_eq!(
        run("+0 %{ assert tcpi_snd_cwnd == 11, tcpi_snd_cwnd }%", &vars),
        Err(PyError::Assertion("10".into()))
    );
    assert_eq!(
        run(
            "+0 %{\nassert tcpi_rto >= 200000; assert tcpi_rto / 1000 - 5 * 2 < 1000\n\
             # comment\nassert 100 <= tcpi_snd_cwnd * 10 <= 100\nassert (tcpi_options & TCPI_OPT_SACK) != 0, tcpi_options\n}%",
            &vars
        ),
        Ok(())
    );
    // Backslash-continued lines (as in Linux's selftests).
    assert_eq!(
        run(
            "+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd; \\\n      assert tcpi_rto > 0, tcpi_rto }%",
            &vars
        ),
        Ok(())
    );
    // print, variables, `and`, string formatting.
    assert_eq!(
        run(
            "+0 %{ print(tcpi_snd_cwnd); cwnd = 5; cwnd += 5; assert tcpi_snd_cwnd == cwnd and not 0, 'cwnd=%d' % cwnd }%",
            &vars
        ),
        Ok(())
    );
    // A block Python would reject does not parse.
    let e = one("+0 %{ if tcpi_snd_cwnd: pass }%");
    let EventKind::Code(c) = e.kind else { panic!() };
    assert!(!c.fully_parsed());
}

/// Short scripts in the style of google/packetdrill's Linux tests (gtests/net/tcp),
/// including constructs only the upstream suite uses.
const UPSTREAM_STYLE: &[&str] = &[
    // Passive open, remote FIN, LAST_ACK, RST for a segment after close.
    r#"// Verify the LAST_ACK path.
//`../common/defaults.sh`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
   +0 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
 +.01 < F. 1:1(0) ack 1 win 257
   +0 > . 1:1(0) ack 2
 +.01 close(4) = 0
   +0 > F. 1:1(0) ack 2
 +.01 < . 2:2(0) ack 2 win 257
 +.01 < . 2:2(0) ack 2 win 257
   +0 > R 2:2(0)
"#,
    // Blocking accept with an end time.
    r#"`../common/defaults.sh`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0...0.200 accept(3, ..., ...) = 4
  +.1 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 257
  +.1 write(4, ..., 200) = 200
   +0 > P. 1:201(200) ack 1
  +.1 < P. 1:11(10) ack 1 win 257 
   +0 read(4, ..., 10) = 10
"#,
    // SACK-based fast retransmit with option-carrying dup ACKs.
    r#"// Set up config.
`../common/defaults.sh`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 5840) = 5840
   +0 > P. 1:5841(5840) ack 1
  +.1 < . 1:1(0) ack 1 win 257 <sack 1461:2921,nop,nop>
   +0 < . 1:1(0) ack 1 win 257 <sack 1461:4381,nop,nop>
   +0 < . 1:1(0) ack 1 win 257 <sack 1461:5841,nop,nop>
   +0 > . 1:1461(1460) ack 1
  +.1 < . 1:1(0) ack 5841 win 257
+.001 > . 5842:5842(0) ack 2
"#,
    // Fast Open client with ICMP, multi-line backticks, code block, cleanup command.
    r#"//
// SYN-data triggers ICMP UNREACH FRAG needed
//
`../../common/defaults.sh
 ../../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0`

    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(3, ..., 0, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation is now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 8,FO,nop,nop>
 +.01 < S. 123:123(0) ack 1 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>
   +0 > . 1:1(0) ack 1
 +.03 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 sendto(4, ..., 9999, MSG_FASTOPEN, ..., ...) = 1000
   +0 > S 0:1000(1000) <mss 1460,nop,nop,sackOK,nop,wscale 8,FO abcd1234,nop,nop>
 +.01 < icmp unreachable frag_needed mtu 840 [0:1000(1000)]
   +0 > S 0:0(0)  <mss 800,nop,nop,sackOK,nop,wscale 8>
   +0 %{ assert (tcpi_options & TCPI_OPT_SYN_DATA) == 0, tcpi_options }%
   +0 > .  1001:1001(0) ack 2

`/tmp/sysctl_restore_${PPID}.sh`
"#,
    // TS with tick option, FO server, multi-line code block.
    r#"// Check TS val ticks
--tcp_ts_tick_usecs=1000
--tolerance_usecs=7000

`./defaults.sh`

    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [1], 4) = 0
   +0 < S 0:1000(1000) win 65535 <mss 1012,sackOK,TS val 1000 ecr 0,wscale 7,nop,nop,nop,FO TFO_COOKIE>
   +0 > S. 0:0(0) ack 1001 <mss 1460,sackOK,TS val 2000 ecr 1000,nop,wscale 8>
   +0 accept(3, ..., ...) = 4
+.010 write(4, ..., 10000) = 10000
   +0 > P. 1:5001(5000) ack 1001 <nop,nop,TS val 2010 ecr 1000>
+0.01 %{
assert tcpi_delivered_ce == 0, tcpi_delivered_ce
assert tcpi_delivered_ce_bytes == 0, tcpi_delivered_ce_bytes
}%
   +0 < [ect0] W. 1:1(0) ack 1 win 264 <ECN e0b 1 ceb 0 e1b 1,nop>
   +0 > [ect01] . 1:1(0) ack 1
   +0 pipe([5, 6]) = 0
   +0 splice(4, NULL, 6, NULL, 99, 0) = 99
   +0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
"#,
    // Poll, shutdown, epoll-style structs, timer-driven range.
    r#"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
+0 < S. 0:0(0) ack 1 win 5792 <mss 1460,sackOK,TS val 700 ecr 100,nop,wscale 7>
+0 > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 700>
+0 poll([{fd=3, events=POLLOUT, revents=POLLOUT}], 1, 0) = 1
+0 epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLOUT|EPOLLET, fd=3}) = 0
+0 shutdown(3, SHUT_WR) = 0
+0 > F. 1:1(0) ack 1 <nop,nop,TS val 300 ecr 700>
+1~+1.2 > F. 1:1(0) ack 1 <...>
"#,
    // TIME-WAIT reuse style: percent tolerance, multi-line init with shell comments,
    // SOCK_STREAM | SOCK_NONBLOCK, hex arrays, aligned columns.
    r#"// Reuse a TIME-WAIT 4-tuple after one second.

--ip_version=ipv4
--tcp_ts_tick_usecs=1000
--tolerance_percent=1

`
sysctl -q net.ipv4.tcp_tw_reuse=1 # global enable
`

    0   socket(..., SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP) = 3
   +0   setsockopt(3, SOL_IP, IP_BIND_ADDRESS_NO_PORT, [1], 4) = 0
   +0   setsockopt(3, SOL_IP, IP_LOCAL_PORT_RANGE, [0xbeefbeef], 4) = 0
   +0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0   > S  0:0(0)                 <mss 1460,sackOK,TS val 1001 ecr 0,nop,wscale 8>
+.001   < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 3001 ecr 1001,nop,wscale 8>
   +0   > .  1:1(0) ack 1           <...>
   +0   close(3) = 0
   +0   > F. 1:1(0) ack 1       <nop,nop,TS val 1002 ecr 3001>
+.001   < F. 1:1(0) ack 2 win 8 <nop,nop,TS val 3002 ecr 1002>
   +0   > .  2:2(0) ack 2       <nop,nop,TS val 1003 ecr 3002>
+1.01   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0   %{ assert tcpi_probes == 0, tcpi_probes; \
         assert tcpi_backoff == 0, tcpi_backoff }%
   +0 < - 1:1001(1000) win 20000
   +0 ioctl(4, SIOCINQ, [0]) = 0
"#,
];

#[test]
fn upstream_style_scripts_parse() {
    for (i, text) in UPSTREAM_STYLE.iter().enumerate() {
        let s = parse_script(text).unwrap_or_else(|e| panic!("script {i}: {e}"));
        assert!(s.events.len() > 5, "script {i}");
    }
    // Spot checks.
    let s = parse_script(UPSTREAM_STYLE[3]).unwrap();
    assert_eq!(s.events.first().unwrap().time, EventTime::Untimed);
    assert_eq!(s.events.last().unwrap().time, EventTime::Untimed);
    assert_eq!(s.events.first().unwrap().line, 4);
    let s = parse_script(UPSTREAM_STYLE[4]).unwrap();
    assert_eq!(s.option("tolerance_usecs"), Some("7000"));
    let s = parse_script(UPSTREAM_STYLE[6]).unwrap();
    assert_eq!(s.option("tolerance_percent"), Some("1"));
    let EventKind::Syscall(c) = &s.events[1].kind else {
        panic!()
    };
    assert_eq!(
        c.args[1].symbols(),
        Some(vec!["SOCK_STREAM", "SOCK_NONBLOCK"])
    );
    assert!(
        s.events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Code(c) if c.fully_parsed()))
    );
    // Every code block of these scripts parses as Python.
    for text in UPSTREAM_STYLE {
        let s = parse_script(text).unwrap();
        for e in &s.events {
            if let EventKind::Code(c) = &e.kind {
                assert!(c.fully_parsed(), "{}: {:?}", c.text, c.program);
            }
        }
    }
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "pkt") {
            out.push(p);
        }
    }
}

fn all_scripts() -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect(&scripts_dir(), &mut files);
    files.sort();
    files
}

/// Our scripts' nominal timelines never go backwards, and blocking calls end after
/// they start.
fn check_timeline(s: &Script) -> Result<(), String> {
    let mut now = 0u64;
    for e in &s.events {
        let start = match e.time {
            EventTime::Untimed | EventTime::Any => now,
            EventTime::Absolute(t) | EventTime::AbsoluteRange(t, _) => t,
            EventTime::Relative(d) | EventTime::RelativeRange(d, _) => now + d,
        };
        if start < now {
            return Err(format!(
                "{}: time goes backwards ({start} us < {now} us)",
                e.line
            ));
        }
        if let EventKind::Syscall(c) = &e.kind
            && let Some(end) = c.end
        {
            let end = match e.time {
                EventTime::Relative(_) => now + end,
                _ => end,
            };
            if end < start {
                return Err(format!("{}: blocking call ends before it starts", e.line));
            }
        }
        now = start;
    }
    Ok(())
}

#[test]
fn every_scenario_script_parses() {
    let files = all_scripts();
    assert!(
        files.len() >= 25 || std::env::var_os("PKT_ALLOW_FEW").is_some(),
        "only {} scripts",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        match parse_file(f) {
            Ok(s) => {
                if !s
                    .events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::Packet(_)))
                {
                    failures.push(format!("{}: no packet events", f.display()));
                }
                if let Err(e) = check_timeline(&s) {
                    failures.push(format!("{}:{e}", f.display()));
                }
            }
            Err(e) => failures.push(format!("{}:{}: {}", f.display(), e.line, e.message)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn corpus() -> &'static [String] {
    static CORPUS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut v: Vec<String> = UPSTREAM_STYLE.iter().map(|s| s.to_string()).collect();
        for f in all_scripts() {
            if let Ok(t) = std::fs::read_to_string(f) {
                v.push(t);
            }
        }
        v
    })
}

/// Events without their line numbers, for comparing a script with its reprint.
fn timeline(s: &Script) -> Vec<(EventTime, EventKind)> {
    s.events.iter().map(|e| (e.time, e.kind.clone())).collect()
}

#[test]
fn reprinted_scripts_parse_to_the_same_ast() {
    for text in corpus() {
        let a = parse_script(text).unwrap();
        let printed = a.to_string();
        let b = parse_script(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
        assert_eq!(a.options, b.options, "{printed}");
        assert_eq!(timeline(&a), timeline(&b), "{printed}");
    }
}

#[test]
fn display_forms() {
    let e = one("+.25 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>");
    assert_eq!(
        e.to_string(),
        "+0.25 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>"
    );
    let e = one("+0...1.5 accept(3, ..., ...) = 4");
    assert_eq!(e.to_string(), "+0 ...1.5 accept(3, ..., ...) = 4");
    let e = one("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    assert_eq!(
        e.to_string(),
        "0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)"
    );
    assert_eq!(one("* > R 2:2(0)").to_string(), "* > R 2:2(0)");
    assert_eq!(TcpFlags(0).to_string(), "-");
}

#[test]
fn defines_substitute_words() {
    let s = parse_script(
        "--define=COOKIE=abcd1234\n--define=FD=4\n--define=CMD=`echo hi`\n\
         0 < S 0:0(0) win 100 <FO COOKIE,nop,nop>\n+0 close(FD) = 0\n+0 CMD",
    )
    .unwrap();
    let EventKind::Packet(p) = &s.events[0].kind else {
        panic!()
    };
    assert_eq!(
        p.options,
        Some(vec![
            TcpOption::FastOpen {
                cookie: "abcd1234".into(),
                experimental: false
            },
            TcpOption::Nop,
            TcpOption::Nop
        ])
    );
    let EventKind::Syscall(c) = &s.events[1].kind else {
        panic!()
    };
    assert_eq!(c.args, vec![Expr::Int(4)]);
    assert_eq!(s.events[2].kind, EventKind::Shell("echo hi".into()));

    let s = parse_script_with_defines(
        "0 setsockopt(3, SOL_SOCKET, OPT, [1], 4) = 0",
        &[("OPT".into(), "SO_REUSEADDR".into())],
    )
    .unwrap();
    let EventKind::Syscall(c) = &s.events[0].kind else {
        panic!()
    };
    assert_eq!(c.args[2], w("SO_REUSEADDR"));
}

#[test]
fn ect01_only_outbound() {
    assert!(
        err("0 < [ect01] . 1:1(0) ack 1 win 1")
            .message
            .contains("outbound")
    );
    assert_eq!(
        packet("0 > [ect01] . 1:1(0) ack 1").ip.ecn,
        Some(Ecn::Ect01)
    );
}

fn arb_option() -> impl Strategy<Value = TcpOption> {
    prop_oneof![
        Just(TcpOption::Nop),
        Just(TcpOption::Eol),
        any::<u16>().prop_map(TcpOption::Mss),
        any::<u8>().prop_map(TcpOption::WindowScale),
        Just(TcpOption::SackPermitted),
        proptest::collection::vec((any::<u32>(), any::<u32>()), 1..4).prop_map(TcpOption::Sack),
        (any::<u32>(), any::<u32>()).prop_map(|(val, ecr)| TcpOption::Timestamp { val, ecr }),
        ("([a-f0-9]{2}){0,8}", any::<bool>()).prop_map(|(cookie, experimental)| {
            TcpOption::FastOpen {
                cookie,
                experimental,
            }
        }),
    ]
}

fn arb_packet() -> impl Strategy<Value = PacketEvent> {
    (
        any::<bool>(),
        1u16..0x200,
        any::<u32>(),
        any::<u16>(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(proptest::collection::vec(arb_option(), 0..6)),
        proptest::option::of((0u16..1024, 0u16..1024)),
    )
        .prop_map(
            |(out, flags, start, len, ack, win, urg, mut options, ports)| {
                let start = start.min(u32::MAX - len as u32);
                let inbound = !out && options.is_some();
                if let Some(opts) = &mut options {
                    // Keep the list valid: at most 40 bytes, padded with nops to 4.
                    while opts.iter().map(|o| o.wire_len().unwrap()).sum::<usize>() > 40 {
                        opts.pop();
                    }
                    while opts.iter().map(|o| o.wire_len().unwrap()).sum::<usize>() % 4 != 0 {
                        opts.push(TcpOption::Nop);
                    }
                }
                let win = if inbound {
                    Some(win.unwrap_or(1000))
                } else {
                    win
                };
                PacketEvent {
                    direction: if out || options.is_none() {
                        Direction::Outbound
                    } else {
                        Direction::Inbound
                    },
                    ip: IpInfo::default(),
                    ports,
                    flags: TcpFlags(flags),
                    start_seq: start,
                    end_seq: start + len as u32,
                    len,
                    ack,
                    win,
                    urg,
                    options,
                    seq_mode: SeqMode::Relative,
                    ace: false,
                    ts_val_ignored: false,
                    ts_ecr_absolute: false,
                    udp_encap: None,
                }
            },
        )
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(Expr::Ellipsis),
        any::<i64>().prop_map(Expr::Int),
        "[A-Z][A-Z_0-9]{0,8}".prop_map(Expr::Word),
        "[a-z ]{0,8}".prop_map(Expr::Str),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::Array),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::Struct),
            ("[a-z_]{1,8}", inner.clone())
                .prop_map(|(n, v)| Expr::Assign(Box::new(Expr::Word(n)), Box::new(v))),
            ("[a-z_]{1,8}", proptest::collection::vec(inner, 0..3))
                .prop_map(|(n, a)| Expr::Call(n, a)),
            proptest::collection::vec("[A-Z][A-Z_]{0,6}".prop_map(Expr::Word), 2..4)
                .prop_map(Expr::BitOr),
        ]
    })
}

fn arb_time() -> impl Strategy<Value = EventTime> {
    prop_oneof![
        (0u64..1u64 << 40).prop_map(EventTime::Absolute),
        (0u64..1u64 << 40).prop_map(EventTime::Relative),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn generated_packets_round_trip(time in arb_time(), p in arb_packet()) {
        let e = Event { line: 1, time, kind: EventKind::Packet(p) };
        let text = e.to_string();
        let parsed = parse_script(&text).map_err(|err| TestCaseError::fail(format!("{err}: {text}")))?;
        prop_assert_eq!(parsed.events.len(), 1);
        prop_assert_eq!(&parsed.events[0], &e, "{}", text);
    }

    #[test]
    fn generated_syscalls_round_trip(
        time in arb_time(),
        name in "[a-z_]{1,10}",
        args in proptest::collection::vec(arb_expr(), 0..5),
        result in any::<i32>(),
        errno in proptest::option::of("E[A-Z]{2,8}"),
        end in proptest::option::of(0u64..1u64 << 40),
    ) {
        let note = errno.as_ref().map(|_| "Some error text".to_string());
        let e = Event {
            line: 1,
            time,
            kind: EventKind::Syscall(SyscallEvent {
                name, args, end, result: Expr::Int(result as i64), errno, note,
            }),
        };
        let text = e.to_string();
        let parsed = parse_script(&text).map_err(|err| TestCaseError::fail(format!("{err}: {text}")))?;
        prop_assert_eq!(parsed.events.len(), 1);
        prop_assert_eq!(&parsed.events[0], &e, "{}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        let _ = parse_script(&text);
    }

    #[test]
    fn never_panics_on_grammar_soup(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<"), Just(">"), Just("+"), Just("*"), Just("~"), Just("..."), Just("."),
                Just(","), Just(":"), Just("("), Just(")"), Just("["), Just("]"), Just("{"),
                Just("}"), Just("="), Just("|"), Just("-"), Just("0"), Just("1"), Just(".5"),
                Just("-1"), Just("0x10"), Just("S"), Just("F."), Just("ack"), Just("win"),
                Just("urg"), Just("mss"), Just("sack"), Just("TS"), Just("val"), Just("ecr"),
                Just("nop"), Just("icmp"), Just("udp"), Just("socket"), Just("\"s\""),
                Just("`c`"), Just("%{ assert a == 1 }%"), Just("\n"), Just(" "), Just("//x\n"),
                Just("/*"), Just("*/"), Just("--opt=1"), Just("4294967296"), Just("%{"),
            ],
            0..60,
        )
    ) {
        let text: String = parts.concat();
        let _ = parse_script(&text);
    }

    #[test]
    fn never_panics_on_mutated_scripts(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..8),
    ) {
        let corpus = corpus();
        let mut text: Vec<char> = corpus[which.index(corpus.len())].chars().collect();
        for (at, op, c) in edits {
            if text.is_empty() {
                text.push(c);
                continue;
            }
            let i = at.index(text.len());
            match op {
                0 => { text.remove(i); }
                1 => text.insert(i, c),
                2 => text[i] = c,
                _ => { text.truncate(i); }
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(e) = parse_script(&text) {
            prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) + 1, "{e}");
            prop_assert!(!e.message.is_empty());
        }
    }
}
