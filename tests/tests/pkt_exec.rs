//! The executor itself: it must fail scripts that are wrong, not only pass right ones.

use tcp_tests::pkt::{Outcome, parse_script, run_script};

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

fn run(tail: &str) -> Outcome {
    let text = format!("{PASSIVE}{tail}");
    run_script(&parse_script(&text).expect("parses"))
}

fn fail_line(o: &Outcome) -> usize {
    match o {
        Outcome::Fail { line, .. } => *line,
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
    ] {
        let o = run(&format!("+0 write(4, ..., 100) = 100\n{bad}\n"));
        assert_eq!(fail_line(&o), 11, "{bad}: {o:?}");
    }
}

#[test]
fn timing_outside_the_tolerance_fails() {
    let o = run("+0 write(4, ..., 100) = 100\n+.01 > P. 1:101(100) ack 1\n");
    assert_eq!(fail_line(&o), 11);
    // Within 4 ms is fine.
    let o = run("+0 write(4, ..., 100) = 100\n+.003 > P. 1:101(100) ack 1\n");
    assert_eq!(o, Outcome::Pass);
}

#[test]
fn an_unexpected_segment_fails() {
    let o = run("+0 write(4, ..., 100) = 100\n");
    assert!(matches!(o, Outcome::Fail { .. }), "{o:?}");
    let o = run("+0 write(4, ..., 100) = 100\n+.1 read(4, ..., 10) = -1 EAGAIN\n");
    assert!(matches!(o, Outcome::Fail { .. }), "{o:?}");
}

#[test]
fn a_segment_larger_than_the_mss_matches_consecutive_segments() {
    let o = run("+0 write(4, ..., 2500) = 2500\n+0 > P. 1:2501(2500) ack 1\n");
    assert_eq!(o, Outcome::Pass);
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
}

#[test]
fn code_blocks_are_evaluated_or_skipped() {
    assert_eq!(
        run("+0 %{ assert tcpi_state == TCP_ESTABLISHED }%\n"),
        Outcome::Pass
    );
    assert_eq!(
        fail_line(&run("+0 %{ assert tcpi_state == TCP_CLOSE }%\n")),
        10
    );
    assert!(matches!(
        run("+0 %{ print(tcpi_rto) }%\n"),
        Outcome::Skip(_)
    ));
}

#[test]
fn unknown_shell_commands_skip() {
    let o = run_script(
        &parse_script(
            "`tc qdisc add dev tun0 root netem`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .expect("parses"),
    );
    assert!(matches!(o, Outcome::Skip(_)), "{o:?}");
    let o = run_script(
        &parse_script(
            "`sysctl -q net.ipv4.tcp_timestamps=0`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .expect("parses"),
    );
    assert_eq!(o, Outcome::Pass);
}
