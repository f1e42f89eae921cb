//! The segcost cases (timed by `cargo bench --bench micro`, counted by `segcost-one` under callgrind) process exactly the requested
//! number of segments in every case, including counts that are not a multiple of a batch,
//! and the stack answers as the case expects (an ACK per one or two in-order segments, dup ACKs for
//! out-of-order ones (compressed as Linux does), one segment per write, nothing for a pure ACK, a few
//! retransmissions for a run of SACKs).

use tcp_tests::bench::segcost::{Case, bulk_split, run};
use tcp_tests::sim::bulk::Stack;

#[test]
fn bench_segcost_runs_exact_counts() {
    for case in Case::ALL {
        for n in [1u64, 63, 200] {
            let r = run(case, n);
            assert_eq!(r.segments, n, "{case:?}");
            let expected = match case {
                // Linux's ACK policy: at least every second full segment; every one while
                // quick-ACK mode lasts (which window growth keeps alive).
                Case::RecvInOrder => n / 2..=n,
                // Linux's SACK compression: three dup ACKs at once for one RCV.NXT, then at
                // most one per 1 ms timer.
                Case::RecvOutOfOrder => n.min(3)..=n,
                Case::Send => n..=n,
                Case::Ack => 0..=0,
                Case::Sack => 0..=n.min(3 * n.div_ceil(62)),
            };
            assert!(expected.contains(&r.out), "{case:?} x {n}: {} sent", r.out);
        }
    }
    assert_eq!(Case::from_name("sack"), Some(Case::Sack));
}

/// The side-by-side split of a bulk transfer moves every byte on both stacks (checked
/// inside) and counts at least one full segment per 1448 bytes.
#[test]
fn bench_segcost_bulk_split_counts_segments() {
    for stack in [Stack::Ours, Stack::Smoltcp] {
        let s = bulk_split(stack, 1 << 20);
        assert!(s.segments >= (1 << 20) / 1460, "{stack:?}: {s:?}");
        assert!(s.acks_per_segment > 0.0, "{stack:?}: {s:?}");
    }
}
