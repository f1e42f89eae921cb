//! Smoke test of the harness: handshake, data both ways, orderly close.

use tcp_core::{Duration, State};
use tcp_tests::pair::{Pair, drain};

#[test]
fn handshake_data_and_close_over_the_harness() {
    let mut p = Pair::new(Duration::from_millis(10));
    p.establish();
    let msg: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let now = p.now;
    let mut sent = 0;
    let mut got = Vec::new();
    let ok = p.run_until(Duration::from_secs(30), |p| {
        if sent < msg.len() {
            sent += p.a.write(now, &msg[sent..]).unwrap_or(0);
        }
        let now = p.now;
        drain(p.b(), now, &mut got);
        got.len() == msg.len()
    });
    assert!(ok, "transfer incomplete: {} of {}", got.len(), msg.len());
    assert_eq!(got, msg);
    let now = p.now;
    p.a.close(now);
    p.run_until(Duration::from_secs(5), |p| {
        p.b.as_ref().is_some_and(|b| b.state() == State::CloseWait)
    });
    let now = p.now;
    let mut rest = Vec::new();
    assert!(drain(p.b(), now, &mut rest), "b reads end-of-stream");
    p.b().close(now);
    let done = p.run_until(Duration::from_secs(200), |p| {
        p.a.state() == State::Closed && p.b.as_ref().unwrap().state() == State::Closed
    });
    assert!(
        done,
        "a={:?} b={:?}",
        p.a.state(),
        p.b.as_ref().map(|b| b.state())
    );
}
