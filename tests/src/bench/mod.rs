//! Benchmark workloads of `tcp-bench` that are not simulator scenarios.

pub mod sack;
pub mod segcost;
