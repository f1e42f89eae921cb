//! The request/response benchmark's driver (`tcp-bench rr`) is a correctness check too:
//! on both stacks, every request and response byte arrives intact, the round-trip count is
//! exact, and no round trip waits for a timer (Nagle off, ACKs piggybacked).

use tcp_tests::sim::bulk::Stack;
use tcp_tests::sim::rr::{RrSetup, run_rr};

fn check(stack: Stack, msg: usize, conns: usize, round_trips: u64) {
    let setup = RrSetup::new(msg, conns, round_trips);
    let r = run_rr(stack, &setup).expect("connections set up");
    let what = format!("{stack:?}, {conns} x {round_trips} round trips of {msg} bytes");
    assert_eq!(r.error, None, "{what}: data verified");
    assert_eq!(r.round_trips, round_trips * conns as u64, "{what}");
    let bytes = (msg as u64) * round_trips * conns as u64;
    assert_eq!(r.client_received, bytes, "{what}: responses read");
    assert_eq!(r.server_received, bytes, "{what}: requests read");
    assert_eq!(r.timer_steps, 0, "{what}: waited for a timer");
}

#[test]
fn bench_rr_moves_every_byte() {
    for stack in [Stack::Ours, Stack::Smoltcp] {
        check(stack, 64, 1, 50);
        check(stack, 1024, 1, 20);
        check(stack, 1024, 25, 4);
        // Messages of several segments: each side reads the whole message before answering.
        check(stack, 5000, 3, 5);
    }
}
