//! The executor itself: packetdrill's semantics, and it must fail scripts that are wrong,
//! not only pass right ones.

use std::path::PathBuf;
use tcp_tests::pkt::{Outcome, RunOptions, parse_script, run_file_with, run_script};

const PASSIVE: &str = "
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 10>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
";

/// The same with timestamps: the SYN-ACK's TS val is 500 in script numbers.
const PASSIVE_TS: &str = "
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 500 ecr 100,nop,wscale 10>
  +.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 200 ecr 500>
   +0 accept(3, ..., ...) = 4
";

fn run(tail: &str) -> Outcome {
    let text = format!("{PASSIVE}{tail}");
    run_script(&parse_script(&text).expect("parses"))
}

fn run_ts(tail: &str) -> Outcome {
    let text = format!("{PASSIVE_TS}{tail}");
    run_script(&parse_script(&text).expect("parses"))
}

fn fail_line(o: &Outcome) -> usize {
    match o {
        Outcome::Fail { line, .. } => *line,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn happened(o: &Outcome) -> String {
    match o {
        Outcome::Fail { happened, .. } => happened.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_correct_script_passes() {
    assert_eq!(
        run("+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n"),
        Outcome::Pass
    );
}

#[test]
fn wrong_flags_seq_ack_len_options_and_window_fail() {
    for bad in [
        "+0 > . 1:101(100) ack 1",
        "+0 > P. 2:102(100) ack 1",
        "+0 > P. 1:101(100) ack 2",
        "+0 > P. 1:51(50) ack 1",
        "+0 > P. 1:101(100) ack 1 <nop,nop,sack 1:2>",
        "+0 > P. 1:101(100) ack 1 win 1",
        // Without `ack N` the ACK number is still compared (with 0), as packetdrill does.
        "+0 > P. 1:101(100)",
    ] {
        let o = run(&format!("+0 write(4, ..., 100) = 100\n{bad}\n"));
        assert_eq!(fail_line(&o), 11, "{bad}: {o:?}");
    }
}

#[test]
fn timing_outside_the_tolerance_fails() {
    let o = run("+0 write(4, ..., 100) = 100\n+.01 > P. 1:101(100) ack 1\n");
    assert_eq!(fail_line(&o), 11);
    assert!(happened(&o).contains("timing error"), "{o:?}");
    // Within 4 ms is fine.
    let o = run("+0 write(4, ..., 100) = 100\n+.003 > P. 1:101(100) ack 1\n");
    assert_eq!(o, Outcome::Pass);
    // --tolerance_usecs widens it.
    let text = format!(
        "--tolerance_usecs=20000\n{PASSIVE}+0 write(4, ..., 100) = 100\n+.01 > P. 1:101(100) ack 1\n"
    );
    assert_eq!(run_script(&parse_script(&text).unwrap()), Outcome::Pass);
}

#[test]
fn an_unexpected_segment_fails_the_next_outbound_line_only() {
    // packetdrill sees a packet only when a `>` line sniffs it: one nobody expects fails
    // the next outbound line, and is never noticed at the end or by other events.
    let o = run("+0 write(4, ..., 100) = 100\n");
    assert_eq!(o, Outcome::Pass);
    let o = run("+0 write(4, ..., 100) = 100\n+.1 read(4, ..., 10) = -1 EAGAIN\n");
    assert!(matches!(o, Outcome::Fail { line: 11, .. }), "{o:?}");
    let o = run(
        "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 write(4, ..., 100) = 100\n+.1 read(4, ..., 10) = -1 EAGAIN\n",
    );
    assert_eq!(o, Outcome::Pass);
    let o = run(
        "+0 write(4, ..., 100) = 100\n+.1 < . 1:1(0) ack 101 win 257\n+0 close(4) = 0\n+0 > F. 101:101(0) ack 1\n",
    );
    // The FIN line sniffs the data segment first.
    assert_eq!(fail_line(&o), 13);
    assert!(
        happened(&o).contains("payload: expected 0 bytes vs actual 100"),
        "{o:?}"
    );
}

#[test]
fn packets_for_other_connections_are_not_sniffed() {
    // A RST to a port the socket under test does not use is dropped by the sniffer.
    let o = run(
        "+0 < 40000>8080 . 1:1(0) ack 999 win 257\n+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n",
    );
    assert_eq!(o, Outcome::Pass);
}

#[test]
fn outbound_lines_aggregate_consecutive_segments() {
    // A line longer than the MSS matches the MSS-sized segments the stack sends (a TSO
    // super-segment on Linux), and a pure ACK before data is absorbed.
    let o = run("+0 write(4, ..., 2500) = 2500\n+0 > P. 1:2501(2500) ack 1\n");
    assert_eq!(o, Outcome::Pass);
    let o = run(
        "+0 < P. 1:101(100) ack 1 win 257\n+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 101\n",
    );
    assert_eq!(
        o,
        Outcome::Pass,
        "the ACK of the data is absorbed into the data segment"
    );
    // With --strict_segments each line is one segment.
    let text = format!(
        "--strict_segments\n{PASSIVE}+0 write(4, ..., 2500) = 2500\n+0 > P. 1:2501(2500) ack 1\n"
    );
    let o = run_script(&parse_script(&text).unwrap());
    assert!(happened(&o).contains("payload"), "{o:?}");
}

#[test]
fn outbound_timestamp_ecr_is_not_checked_and_val_only_with_a_tick() {
    let o = run_ts(
        "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 <nop,nop,TS val 999 ecr 12345>\n",
    );
    assert_eq!(o, Outcome::Pass);
    let text = format!(
        "--tcp_ts_tick_usecs=1000\n{PASSIVE_TS}+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 <nop,nop,TS val 999 ecr 200>\n"
    );
    let o = run_script(&parse_script(&text).unwrap());
    assert!(happened(&o).contains("timestamp value"), "{o:?}");
}

#[test]
fn inbound_timestamp_ecr_must_echo_a_written_outbound_value() {
    // ecr 500 names the SYN-ACK's TS val: accepted. ecr 501 names nothing.
    let o = run_ts(
        "+0 < P. 1:11(10) ack 1 win 257 <nop,nop,TS val 300 ecr 500>\n+0 read(4, ..., 10) = 10\n",
    );
    assert_eq!(o, Outcome::Pass);
    let o = run_ts("+0 < P. 1:11(10) ack 1 win 257 <nop,nop,TS val 300 ecr 501>\n");
    assert!(
        happened(&o).contains("unable to infer live TS ecr"),
        "{o:?}"
    );
    let text = format!(
        "--tcp_ts_ecr_scaled\n{PASSIVE_TS}+0 < P. 1:11(10) ack 1 win 257 <nop,nop,TS val 300 ecr 501>\n+0 read(4, ..., 10) = 10\n"
    );
    assert_eq!(run_script(&parse_script(&text).unwrap()), Outcome::Pass);
}

#[test]
fn relative_times_count_from_when_the_previous_event_finished() {
    // Both segments leave at 0.1; the first line expects it 3 ms later (within the
    // tolerance). The next `+t` counts from when the packet was seen (0.1), not from the
    // line's own time (0.103): `+.004` is 4 ms off and passes, `+.005` fails.
    let two = "+0 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0\n+0 write(4, ..., 10) = 10\n\
               +0 write(4, ..., 10) = 10\n+.003 > P. 1:11(10) ack 1\n";
    assert_eq!(
        run(&format!("{two}+.004 > P. 11:21(10) ack 1\n")),
        Outcome::Pass
    );
    let o = run(&format!("{two}+.005 > P. 11:21(10) ack 1\n"));
    assert_eq!(fail_line(&o), 14);
    assert!(happened(&o).contains("timing error"), "{o:?}");
    // An absolute time in the past beyond the tolerance is a timing error.
    let o = run("+.2 write(4, ..., 10) = 10\n0.15 write(4, ..., 10) = 10\n");
    assert!(happened(&o).contains("timing error"), "{o:?}");
}

#[test]
fn syscall_results_and_errnos_are_compared() {
    let o =
        run("+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = -1 ECONNRESET\n");
    assert_eq!(fail_line(&o), 11);
    let o = run("+0 write(4, ..., 100) = 99\n");
    assert_eq!(fail_line(&o), 10);
}

#[test]
fn blocking_calls_must_return_at_the_written_time() {
    let ok =
        "+0...0.2 read(4, ..., 1000) = 10\n+.2 < P. 1:11(10) ack 1 win 257\n+0 > . 1:1(0) ack 11\n";
    assert_eq!(run(ok), Outcome::Pass);
    let late =
        "+0...0.1 read(4, ..., 1000) = 10\n+.2 < P. 1:11(10) ack 1 win 257\n+0 > . 1:1(0) ack 11\n";
    assert_eq!(fail_line(&run(late)), 10);
    // A call still blocked when the script ends fails it.
    let o = run("+0...0.1 read(4, ..., 1000) = 10\n");
    assert!(happened(&o).contains("blocking system call"), "{o:?}");
    // A blocking call without `...` blocks the whole script: nothing can wake this read.
    let o = run("+0 read(4, ..., 1000) = 10\n");
    assert!(happened(&o).contains("blocks for ever"), "{o:?}");
}

#[test]
fn code_blocks_run_at_the_end_in_one_namespace() {
    assert_eq!(
        run("+0 %{ assert tcpi_state == TCP_ESTABLISHED }%\n"),
        Outcome::Pass
    );
    assert_eq!(
        fail_line(&run("+0 %{ assert tcpi_state == TCP_CLOSE }%\n")),
        10
    );
    assert_eq!(
        run("+0 %{ cwnd = tcpi_snd_cwnd; print(cwnd) }%\n+0 %{ assert cwnd == tcpi_snd_cwnd }%\n"),
        Outcome::Pass
    );
    // A later packet failure is reported first: the Python runs after the last event.
    let o = run("+0 %{ assert tcpi_state == TCP_CLOSE }%\n+0 write(4, ..., 1) = 2\n");
    assert_eq!(fail_line(&o), 11);
    // Every field of Linux's struct tcp_info comes from the core's TcpInfo.
    assert_eq!(
        run("+0 %{ assert tcpi_lost == 0 and tcpi_ca_state == TCP_CA_Open }%\n"),
        Outcome::Pass
    );
    // An undefined name is Python's NameError: a failure.
    assert!(happened(&run("+0 %{ assert nope == 1 }%\n")).contains("NameError"));
}

#[test]
fn shell_lines_set_sysctls_directly_and_through_files() {
    let dir = tempdir();
    std::fs::write(
        dir.join("defaults.sh"),
        "#!/bin/bash\n# comment\nsysctl -q net.ipv4.tcp_sack=0\nsysctl -q net.ipv4.tcp_rmem=\"4096 $((64*1024)) 65536\"\nsysctl -q net.core.rmem_max=131072\n",
    )
    .unwrap();
    let script = "`./defaults.sh`\n\
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
        +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
        +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
        +0 > S 0:0(0) <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 2>\n";
    std::fs::write(dir.join("t.pkt"), script).unwrap();
    let r = run_file_with(&dir.join("t.pkt"), &RunOptions::default());
    assert_eq!(r.outcome, Outcome::Pass, "{r:?}");
    // An unknown command SKIPs; the restore file is a no-op.
    let o = run_script(
        &parse_script(
            "`tc qdisc add dev tun0 root netem`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .expect("parses"),
    );
    assert!(matches!(o, Outcome::Skip(_)), "{o:?}");
    let o = run_script(
        &parse_script(
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n`/tmp/sysctl_restore_${PPID}.sh`\n",
        )
        .expect("parses"),
    );
    assert_eq!(o, Outcome::Pass);
    // A feature the core lacks, turned on, SKIPs; turned off it is accepted.
    let o = run_script(
        &parse_script(
            "`sysctl -q net.ipv4.tcp_ecn=3`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .expect("parses"),
    );
    assert!(
        matches!(&o, Outcome::Skip(w) if w.contains("tcp_ecn") && w.contains("AccECN")),
        "{o:?}"
    );
    // Classic ECN is a Config knob.
    let o = run_script(
        &parse_script(
            "`sysctl -q net.ipv4.tcp_ecn=1`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .expect("parses"),
    );
    assert_eq!(o, Outcome::Pass);
    let o = run_script(
        &parse_script(
            "`sysctl -q net.ipv4.tcp_ecn=0`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .expect("parses"),
    );
    assert_eq!(o, Outcome::Pass);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn command_line_options_win_over_the_scripts() {
    let dir = tempdir();
    let script = format!(
        "--tolerance_usecs=1000\n{PASSIVE}+0 write(4, ..., 100) = 100\n+.01 > P. 1:101(100) ack 1\n"
    );
    std::fs::write(dir.join("t.pkt"), script).unwrap();
    let strict = run_file_with(&dir.join("t.pkt"), &RunOptions::default());
    assert!(matches!(strict.outcome, Outcome::Fail { .. }));
    let opts = RunOptions {
        options: vec![("tolerance_usecs".into(), "20000".into())],
        ..RunOptions::default()
    };
    assert_eq!(
        run_file_with(&dir.join("t.pkt"), &opts).outcome,
        Outcome::Pass
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("pkt-exec-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn nstat_prints_modelled_counters_since_the_last_call() {
    // Two segments came in since `nstat` reset its history: TcpInSegs is printed.
    let o = run(
        "+0 `nstat > /dev/null`\n+0 < P. 1:11(10) ack 1 win 257\n+0 `nstat | grep TcpInSegs`\n",
    );
    assert_eq!(o, Outcome::Pass);
    // Nothing came in since: the counter is not printed and grep fails.
    let o = run("+0 `nstat > /dev/null`\n+0 `nstat | grep TcpInSegs`\n");
    assert!(happened(&o).contains("non-zero status 1"), "{o:?}");
    // A counter the runner does not model SKIPs.
    match run("+0 `nstat | grep TcpExtTCPSYNChallenge`\n") {
        Outcome::Skip(why) => assert!(why.contains("TcpExtTCPSYNChallenge"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn files_from_dd_feed_sendfile_and_pipes_feed_splice() {
    // `dd` writes a file of zeroes into the runner's file table; sendfile sends it.
    let o = run(
        "+0 `/bin/rm -f /tmp/f; /bin/dd bs=1 count=5 if=/dev/zero of=/tmp/f status=none`\n\
         +0 open(\"/tmp/f\", O_RDONLY) = 5\n\
         +0 sendfile(4, 5, [0], 5) = 5\n\
         +0 > P. 1:6(5) ack 1\n\
         +0 < . 1:1(0) ack 6 win 257\n\
         +0 sendfile(4, 5, NULL, 10) = 5\n\
         +0 > P. 6:11(5) ack 1\n\
         +0 sendfile(4, 5, NULL, 10) = 0\n",
    );
    assert_eq!(o, Outcome::Pass);
    assert!(happened(&run("+0 open(\"/tmp/none\", O_RDONLY) = 5\n")).contains("ENOENT"));
    // A pipe between the socket's receive and send sides.
    let o = run("+0 pipe([5, 6]) = 0\n\
         +0 < P. 1:101(100) ack 1 win 257\n\
         +0 splice(4, NULL, 6, NULL, 1000, 0) = 100\n\
         +0 splice(5, NULL, 4, NULL, 60, 0) = 60\n\
         +0 > P. 1:61(60) ack 101\n");
    assert_eq!(o, Outcome::Pass);
    // Urgent data: Linux takes the urgent byte out of the stream, the core does not.
    match run("+0 < U. 1:101(100) ack 1 win 257 urg 100\n+0 read(4, ..., 1000) = 99\n") {
        Outcome::Skip(why) => assert!(why.starts_with("urgent data"), "{why}"),
        other => panic!("{other:?}"),
    }
}
