//! Property test over the simulator's whole link model: our stack moves a bulk transfer
//! through random links (delay, jitter, rate, drop-tail queue, Bernoulli or
//! Gilbert-Elliott loss, reordering, duplication, corruption, MTU), differently in each
//! direction, and the receiver reads exactly the bytes written (its application checks
//! the pattern), sees end-of-stream, and both ends finish within a bound of virtual time.
//!
//! `PROPTEST_CASES=10000 cargo test --release -p tcp-tests --test prop_sim_links`.

use proptest::prelude::*;
use tcp_core::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::{GilbertElliott, LinkConfig};
use tcp_tests::sim::smoltcp_node::Congestion;

fn link() -> impl Strategy<Value = LinkConfig> {
    (
        (1u64..60, 0u64..5, prop_oneof![Just(None), (1u64..200).prop_map(|m| Some(m * 1_000_000))]),
        (prop_oneof![Just(None), (8_000usize..200_000).prop_map(Some)], 0.0f64..0.05),
        prop_oneof![
            3 => Just(None),
            // Bursts of a few packets: the model changes state per packet, so a long bad state
            // would hold a sender that has backed off to one packet per RTO for hours (as it
            // would any TCP), which says nothing about the stack.
            1 => (0.001f64..0.05, 0.3f64..0.9, 0.3f64..0.7).prop_map(|(gb, bg, bad)| Some(GilbertElliott {
                p_good_to_bad: gb,
                p_bad_to_good: bg,
                loss_good: 0.0,
                loss_bad: bad,
            }))
        ],
        (0.0f64..0.05, 0u64..20, 0.0f64..0.02, 0.0f64..0.02),
    )
        .prop_map(|((delay, jitter, rate), (queue, loss), ge, (reorder, reorder_ms, duplicate, corrupt))| {
            let mut l = LinkConfig::new(Duration::from_millis(delay), rate);
            l.jitter = Duration::from_millis(jitter);
            l.queue_limit_bytes = queue;
            l.loss = loss;
            l.gilbert_elliott = ge;
            l.reorder = reorder;
            l.reorder_delay = Duration::from_millis(reorder_ms);
            l.duplicate = duplicate;
            l.corrupt = corrupt;
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48), ..ProptestConfig::default() })]

    #[test]
    fn bulk_transfers_over_random_links_arrive_exactly_and_finish(
        forward in link(),
        reverse in link(),
        bytes in 1u64..400_000,
        buffer in prop_oneof![Just(8 * 1024usize), Just(64 * 1024), Just(256 * 1024)],
        mtu in prop_oneof![Just(576usize), Just(1280), Just(1500), Just(9000)],
        seed in any::<u64>(),
    ) {
        // A drop-tail queue smaller than one packet is a blackhole for full-size segments,
        // which no TCP without path-MTU probing survives: keep at least two packets.
        let (mut forward, mut reverse) = (forward, reverse);
        for l in [&mut forward, &mut reverse] {
            l.queue_limit_bytes = l.queue_limit_bytes.map(|q| q.max(2 * mtu));
        }
        let mut setup = BulkSetup::new(bytes, forward);
        setup.reverse = reverse;
        setup.buffer = buffer;
        setup.mtu = mtu;
        setup.seed = seed;
        let mut run = BulkRun::new(Stack::Ours, setup).expect("setup");
        let outcome = run.run(Duration::from_secs(3600), 20_000_000);
        let res = run.result(outcome);
        prop_assert_eq!(res.error.clone(), None, "seed {}: {:?}", seed, res);
        prop_assert_eq!(res.outcome, RunOutcome::Done, "seed {}: {:?}", seed, res);
        prop_assert!(res.finished, "seed {}: {:?}", seed, res);
        prop_assert_eq!(res.bytes_received, bytes, "seed {}", seed);
    }

    /// The same with BBR (draft-ietf-ccwg-bbr): pacing and the model-based window must
    /// not stall a transfer on any link.
    #[test]
    fn bbr_bulk_transfers_over_random_links_arrive_exactly_and_finish(
        forward in link(),
        reverse in link(),
        bytes in 1u64..400_000,
        buffer in prop_oneof![Just(8 * 1024usize), Just(64 * 1024), Just(256 * 1024)],
        mtu in prop_oneof![Just(576usize), Just(1280), Just(1500), Just(9000)],
        seed in any::<u64>(),
    ) {
        let (mut forward, mut reverse) = (forward, reverse);
        for l in [&mut forward, &mut reverse] {
            l.queue_limit_bytes = l.queue_limit_bytes.map(|q| q.max(2 * mtu));
        }
        let mut setup = BulkSetup::new(bytes, forward);
        setup.reverse = reverse;
        setup.buffer = buffer;
        setup.mtu = mtu;
        setup.seed = seed;
        setup.congestion = Congestion::Bbr;
        let mut run = BulkRun::new(Stack::Ours, setup).expect("setup");
        let outcome = run.run(Duration::from_secs(3600), 20_000_000);
        let res = run.result(outcome);
        prop_assert_eq!(res.error.clone(), None, "seed {}: {:?}", seed, res);
        prop_assert_eq!(res.outcome, RunOutcome::Done, "seed {}: {:?}", seed, res);
        prop_assert!(res.finished, "seed {}: {:?}", seed, res);
        prop_assert_eq!(res.bytes_received, bytes, "seed {}", seed);
    }
}
