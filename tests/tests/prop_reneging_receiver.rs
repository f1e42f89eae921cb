//! SACK reneging (RFC 2018 §8, RFC 6675 §5.1): a receiver may discard out-of-order data it
//! has already SACKed. Here our receiver does so again and again — after each packet, with
//! a random probability, its connection drops its whole out-of-order queue
//! (`Connection::purge_out_of_order`, the simulator's reneging fault) — during bulk
//! transfers over lossy links, so there is out-of-order data to lose. The sender must
//! notice (the cumulative ACK stops at data it saw SACKed), forget the SACKs and resend:
//! every byte arrives, byte-exact (the receiving application checks the pattern), and
//! the transfer completes within a bound of virtual time. A sender that trusts SACKs
//! forever never retransmits the reneged data, and the transfer stalls.
//!
//! `PROPTEST_CASES=1000 cargo test --release -p tcp-tests --test prop_reneging_receiver`.

use proptest::prelude::*;
use tcp_core::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkResult, BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::LinkConfig;

/// The virtual-time bound: a fixed allowance for the handshake, slow start and a few
/// timeouts, plus 1 s for every 10 KB at the link's slowest rate in the strategy below
/// (a 1 Mbit/s link carries 10 KB in 80 ms, so this is over ten times the transfer's
/// serialization time). Each reneging costs the sender a short timeout (max(SRTT/2,
/// 10 ms), Linux's tcp_check_sack_reneging) plus one window resent, not an RTO backoff.
fn time_bound(bytes: u64) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(bytes / 10)
}

fn link() -> impl Strategy<Value = LinkConfig> {
    (
        1u64..50,
        prop_oneof![Just(None), (1u64..100).prop_map(|m| Some(m * 1_000_000))],
        0.002f64..0.05,
        prop_oneof![3 => Just(0.0), 1 => 0.001f64..0.05],
        0u64..20,
    )
        .prop_map(|(delay, rate, loss, reorder, reorder_ms)| {
            let mut l = LinkConfig::new(Duration::from_millis(delay), rate);
            l.loss = loss;
            l.reorder = reorder;
            l.reorder_delay = Duration::from_millis(reorder_ms);
            l
        })
}

fn run(setup: BulkSetup) -> BulkResult {
    let mut run = BulkRun::new(Stack::Ours, setup).expect("setup");
    // Run past the bound, so that a late finish is measured rather than cut off.
    let outcome = run.run(Duration::from_secs(3600), 50_000_000);
    run.result(outcome)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_byte_arrives_in_bounded_time_from_a_receiver_that_reneges_repeatedly(
        forward in link(),
        reverse_loss in 0.0f64..0.02,
        bytes in 20_000u64..1_000_000,
        buffer in prop_oneof![Just(64 * 1024usize), Just(256 * 1024)],
        purge_ofo in 0.002f64..0.3,
        seed in any::<u64>(),
    ) {
        let mut reverse = forward.clone();
        reverse.loss = reverse_loss;
        let mut setup = BulkSetup::new(bytes, forward);
        setup.reverse = reverse;
        setup.buffer = buffer;
        setup.seed = seed;
        setup.purge_ofo = purge_ofo;
        let res = run(setup);
        prop_assert_eq!(res.error.clone(), None, "seed {}: {:?}", seed, res);
        prop_assert_eq!(res.outcome, RunOutcome::Done, "seed {}: {:?}", seed, res);
        prop_assert!(res.finished, "seed {}: {:?}", seed, res);
        prop_assert_eq!(res.bytes_received, bytes, "seed {}", seed);
        prop_assert!(
            res.transfer_time <= time_bound(bytes),
            "seed {}: {:?} beyond the bound {:?}: {:?}",
            seed,
            res.transfer_time,
            time_bound(bytes),
            res
        );
    }
}

/// The fault is real: in one fixed lossy transfer the receiver discards SACKed data
/// many times, the sender detects the reneging many times, and still every byte arrives
/// within the bound.
#[test]
fn a_reneging_receiver_makes_the_sender_detect_reneging_and_still_get_every_byte_through() {
    let mut link = LinkConfig::new(Duration::from_millis(10), Some(100_000_000));
    link.loss = 0.01;
    let bytes = 2_000_000;
    let mut setup = BulkSetup::new(bytes, link);
    setup.reverse.loss = 0.0;
    setup.purge_ofo = 0.05;
    let res = run(setup);
    assert_eq!(res.error, None, "{res:?}");
    assert!(res.finished, "{res:?}");
    assert_eq!(res.bytes_received, bytes);
    let pruned = res.receiver_stats.map_or(0, |s| s.ofo_pruned);
    let renegings = res.sender_stats.map_or(0, |s| s.sack_renegings);
    assert!(pruned > 100_000, "bytes reneged on: {pruned}");
    assert!(renegings >= 5, "renegings detected: {renegings}");
    assert!(res.transfer_time <= time_bound(bytes), "{res:?}");
}
