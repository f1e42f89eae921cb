//! smoltcp-to-smoltcp transfers through the simulator.

use tcp_core::time::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::LinkConfig;

fn link(delay_ms: u64, mbit: u64) -> LinkConfig {
    LinkConfig::new(Duration::from_millis(delay_ms), Some(mbit * 1_000_000))
}

fn run(setup: BulkSetup) -> tcp_tests::sim::bulk::BulkResult {
    let mut r = BulkRun::new(Stack::Smoltcp, setup).expect("setup");
    let outcome = r.run(Duration::from_secs(600), 10_000_000);
    r.result(outcome)
}

#[test]
fn clean_link_transfers_every_byte_and_both_sides_close() {
    let res = run(BulkSetup::new(200_000, link(10, 100)));
    assert_eq!(res.outcome, RunOutcome::Done, "{res:?}");
    assert!(res.finished, "{res:?}");
    assert_eq!(res.error, None);
    assert_eq!(res.bytes_received, 200_000);
    assert_eq!(res.retransmits, 0);
    assert_eq!(res.drops, 0);
}
