//! Issue 17 item 4 on the simulator: a bulk transfer whose every duplicate ACK carries
//! bogus SACK blocks — outside SND.UNA..SND.NXT, inverted, below SND.UNA, or a second block
//! straddling SND.UNA that makes the receiver's real first block look like a D-SACK — must
//! go as fast as the same transfer with clean ACKs, within 10 %, above or below. A sender
//! that takes such blocks for SACK information sees false reneging and times out; one
//! that takes the false D-SACKs for proof of spurious retransmissions undoes its
//! congestion responses and ignores real congestion (before the fix: up to 297 RTOs where
//! the clean run had 1, and up to 10 times the clean run's goodput).
//!
//! Virtual time: every number is exact and repeatable, so this is no timed test.
//! `cargo run --release -p tcp-tests --bin tcp-bench -- sack` prints the same rows.

use tcp_tests::bench::sack::{fault_rows, fault_table};

#[test]
fn goodput_with_bogus_sack_blocks_on_every_dup_ack_is_within_ten_percent_of_the_clean_run() {
    let bytes = 8 << 20;
    let rows = fault_rows(bytes, &[0.005, 0.01, 0.02], &[1, 2, 3]);
    let table = fault_table(&rows);
    eprintln!("{table}");
    for r in &rows {
        let what = format!("loss {} seed {} fault {}", r.loss, r.seed, r.fault);
        for res in [&r.clean, &r.faulted] {
            assert_eq!(res.error, None, "{what}: {res:?}");
            assert!(res.finished, "{what}: {res:?}");
            assert_eq!(res.bytes_received, bytes, "{what}");
        }
        assert!(
            (0.9..=1.1).contains(&r.ratio()),
            "{what}: goodput {:.2} faulted vs {:.2} clean\n{table}",
            r.faulted.goodput_mbit_s,
            r.clean.goodput_mbit_s
        );
        let (c, f) = (
            r.clean.sender_stats.unwrap(),
            r.faulted.sender_stats.unwrap(),
        );
        assert!(
            f.rtos <= c.rtos + 1,
            "{what}: RTOs {} vs {}",
            f.rtos,
            c.rtos
        );
        assert!(
            f.undos <= c.undos + 1,
            "{what}: undos {} vs {}",
            f.undos,
            c.undos
        );
        assert_eq!(f.sack_renegings, 0, "{what}: no reneging happened");
        assert!(f.sack_blocks_ignored > 100, "{what}: the fault was active");
    }
}
