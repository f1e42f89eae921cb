//! Hostile-receiver measurements on the simulator (issue 17, items 3 and 4): goodput of a
//! bulk transfer whose every duplicate ACK carries bogus SACK blocks
//! ([`crate::sim::sack_fault`]) next to the same transfer with clean ACKs, and transfers
//! whose receiver reneges on SACKed data ([`crate::sim::ours_node::OursConfig::purge_ofo`]).
//!
//! Everything runs on virtual time, so every number is exactly repeatable: `tcp-bench sack`
//! prints them, and `tests/tests/sim_sack_faults.rs` asserts the bounds on the same rows.

use tcp_core::Duration;
use tcp_core::conn::ConnStats;

use crate::sim::bulk::{BulkResult, BulkRun, BulkSetup, Stack};
use crate::sim::link::LinkConfig;
use crate::sim::sack_fault::SackFault;

/// The link of every run: the README's goodput link (100 Mbit/s, 10 ms one way, MTU 1500,
/// 256 KiB buffers) with Bernoulli loss on the data direction only, so that ACKs — and
/// the bogus blocks riding on them — all arrive.
pub fn link(loss: f64) -> (LinkConfig, LinkConfig) {
    let mut forward = LinkConfig::new(Duration::from_millis(10), Some(100_000_000));
    forward.loss = loss;
    let reverse = LinkConfig::new(Duration::from_millis(10), Some(100_000_000));
    (forward, reverse)
}

/// One bulk transfer of `bytes` with our stack: `fault` rewrites the receiver's ACKs,
/// `purge_ofo` makes the receiver renege.
pub fn transfer(
    bytes: u64,
    loss: f64,
    seed: u64,
    fault: Option<SackFault>,
    purge_ofo: f64,
) -> BulkResult {
    let (forward, mut reverse) = link(loss);
    reverse.sack_fault = fault;
    let mut setup = BulkSetup::new(bytes, forward);
    setup.reverse = reverse;
    setup.seed = seed;
    setup.purge_ofo = purge_ofo;
    let mut run = BulkRun::new(Stack::Ours, setup).expect("our stack builds");
    let outcome = run.run(Duration::from_secs(36_000), 1_000_000_000);
    let mut res = run.result(outcome);
    if res.bytes_received < bytes && res.error.is_none() {
        res.error = Some(format!("incomplete: {outcome:?}"));
    }
    res
}

/// A clean run and a faulted run of the same transfer.
#[derive(Debug, Clone)]
pub struct FaultRow {
    /// Loss on the data direction, as a probability.
    pub loss: f64,
    /// Simulator seed.
    pub seed: u64,
    /// The fault's name.
    pub fault: &'static str,
    /// Clean ACKs.
    pub clean: BulkResult,
    /// Every ACK with SACK blocks and every duplicate ACK rewritten.
    pub faulted: BulkResult,
}

impl FaultRow {
    /// Goodput of the faulted run over the clean run's.
    pub fn ratio(&self) -> f64 {
        self.faulted.goodput_mbit_s / self.clean.goodput_mbit_s
    }
}

/// The faults compared: the invalid blocks in turn, the straddling second block, and all
/// four kinds in turn.
pub fn faults() -> [(&'static str, SackFault); 3] {
    [
        ("invalid", SackFault::invalid()),
        (
            "straddling",
            SackFault::only(crate::sim::sack_fault::BogusSack::Straddling),
        ),
        ("all", SackFault::all()),
    ]
}

/// Clean and faulted runs of `bytes` for every loss rate, seed and fault.
pub fn fault_rows(bytes: u64, losses: &[f64], seeds: &[u64]) -> Vec<FaultRow> {
    let mut rows = Vec::new();
    for &loss in losses {
        for &seed in seeds {
            let clean = transfer(bytes, loss, seed, None, 0.0);
            for (name, fault) in faults() {
                let faulted = transfer(bytes, loss, seed, Some(fault), 0.0);
                rows.push(FaultRow {
                    loss,
                    seed,
                    fault: name,
                    clean: clean.clone(),
                    faulted,
                });
            }
        }
    }
    rows
}

fn stat(r: &BulkResult, f: impl Fn(&ConnStats) -> u64) -> u64 {
    r.sender_stats.as_ref().map_or(0, f)
}

/// The rows as a Markdown table.
pub fn fault_table(rows: &[FaultRow]) -> String {
    let mut s = String::from(
        "| loss % | seed | fault | clean Mbit/s | faulted Mbit/s | faulted / clean | RTOs clean / faulted | undos clean / faulted | D-SACKs clean / faulted | blocks ignored | D-SACKs dubious |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.3} | {} / {} | {} / {} | {} / {} | {} | {} |\n",
            r.loss * 100.0,
            r.seed,
            r.fault,
            r.clean.goodput_mbit_s,
            r.faulted.goodput_mbit_s,
            r.ratio(),
            stat(&r.clean, |s| s.rtos),
            stat(&r.faulted, |s| s.rtos),
            stat(&r.clean, |s| s.undos),
            stat(&r.faulted, |s| s.undos),
            stat(&r.clean, |s| s.dsacks_received),
            stat(&r.faulted, |s| s.dsacks_received),
            stat(&r.faulted, |s| s.sack_blocks_ignored),
            stat(&r.faulted, |s| s.dsacks_dubious),
        ));
    }
    s
}

/// Runs of a receiver that reneges with probability `purge_ofo` after each packet.
pub fn reneging_table(bytes: u64, loss: f64, purges: &[f64], seeds: &[u64]) -> String {
    let mut s = String::from(
        "| P(renege) per packet | seed | Mbit/s | virtual s | bytes reneged on | renegings detected | RTOs | complete |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for &p in purges {
        for &seed in seeds {
            let r = transfer(bytes, loss, seed, None, p);
            s.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} | {} | {} | {} | {} |\n",
                p,
                seed,
                r.goodput_mbit_s,
                r.transfer_time.as_secs_f64(),
                r.receiver_stats.map_or(0, |s| s.ofo_pruned),
                stat(&r, |s| s.sack_renegings),
                stat(&r, |s| s.rtos),
                r.bytes_received == bytes && r.error.is_none(),
            ));
        }
    }
    s
}
