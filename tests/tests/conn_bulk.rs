//! Bulk transfers between two connections over a lossy, reordering harness link arrive
//! byte-exact.

use tcp_core::{Duration, State};
use tcp_tests::pair::{Pair, drain};
use tcp_tests::sim::link::LinkConfig;

fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(2654435761) >> 13) as u8
}

/// Sends `total` bytes from a to b over a 5 ms link with the given faults; returns
/// (virtual seconds, retransmits).
fn transfer(total: u64, faults: LinkConfig, seed: u64) -> (f64, u64) {
    let mut p = Pair::new(Duration::from_millis(5));
    p.set_link(LinkConfig {
        delay: p.link().delay,
        ..faults
    });
    p.seed(seed);
    p.establish();
    let start = p.now;
    let mut written = 0u64;
    let mut received = 0u64;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    let ok = p.run_until(Duration::from_secs(3600), |p| {
        let now = p.now;
        while written < total {
            let n = (total - written).min(chunk.len() as u64) as usize;
            for (k, b) in chunk[..n].iter_mut().enumerate() {
                *b = pattern(written + k as u64);
            }
            match p.a.write(now, &chunk[..n]) {
                Ok(w) => written += w as u64,
                Err(_) => break,
            }
        }
        got.clear();
        drain(p.b(), now, &mut got);
        for (k, &b) in got.iter().enumerate() {
            assert_eq!(
                b,
                pattern(received + k as u64),
                "byte {} differs",
                received + k as u64
            );
        }
        received += got.len() as u64;
        received == total
    });
    assert!(
        ok,
        "only {received} of {total} bytes arrived; a={:?}",
        p.a.info()
    );
    let secs = (p.now - start).as_secs_f64();
    let now = p.now;
    p.a.close(now);
    let closed = p.run_until(Duration::from_secs(600), |p| {
        let now = p.now;
        let mut rest = Vec::new();
        if drain(p.b(), now, &mut rest) {
            p.b().close(now);
        }
        p.a.state() == State::Closed && p.b.as_ref().is_some_and(|b| b.state() == State::Closed)
    });
    assert!(
        closed,
        "close did not finish: a={:?} b={:?}",
        p.a.state(),
        p.b.as_ref().map(|b| b.state())
    );
    (secs, p.a.stats().retransmits)
}

#[test]
fn bulk_transfer_without_faults_is_byte_exact() {
    let (secs, rtx) = transfer(20 << 20, LinkConfig::default(), 1);
    assert_eq!(rtx, 0, "no loss, no retransmission");
    assert!(secs > 0.0);
}

#[test]
fn hundred_megabytes_with_loss_and_reordering_arrive_byte_exact() {
    let faults = LinkConfig {
        loss: 0.01,
        reorder: 0.02,
        reorder_delay: Duration::from_millis(3),
        duplicate: 0.005,
        ..LinkConfig::default()
    };
    let (_secs, rtx) = transfer(100 << 20, faults, 7);
    assert!(rtx > 0, "1% loss must cause retransmissions");
}
