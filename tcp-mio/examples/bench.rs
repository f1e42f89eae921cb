//! Throughput of one connection over UDP loopback, next to the Linux kernel's own TCP over
//! loopback (std::net, two threads), measured in the same run.
//!
//! Usage: `cargo run --release -p tcp-mio --example bench [SIZE] [--runs N]`
//! (SIZE default 1G; each configuration runs N times, default 3, and the best run counts).
//! Every transfer is verified by hash on the receiver.

mod common;

use common::*;

fn main() -> std::io::Result<()> {
    let mut size: u64 = 1 << 30;
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs);
        } else if let Some(s) = parse_size(&a) {
            size = s;
        } else {
            eprintln!("usage: bench [SIZE like 1G] [--runs N]");
            std::process::exit(2);
        }
    }
    let best = |f: &dyn Fn() -> std::io::Result<Outcome>| -> std::io::Result<f64> {
        let mut best: f64 = 0.0;
        for _ in 0..runs {
            let o = f()?;
            assert!(o.ok, "transfer corrupted");
            best = best.max(o.bytes as f64 / o.secs);
        }
        Ok(best)
    };
    let kernel = best(&|| run_kernel_transfer(size))?;
    let big = tcp_mio::UdpLink::max_mss();
    let ours_big = best(&|| run_transfer(bulk_config(big), size))?;
    let ours_1460 = best(&|| run_transfer(bulk_config(1460), size))?;
    let mib = |r: f64| r / (1 << 20) as f64;
    let gbit = |r: f64| r * 8.0 / 1e9;
    println!(
        "bench: {} MiB per run, best of {runs}, one connection, 127.0.0.1",
        size >> 20
    );
    println!(
        "  kernel TCP (std::net)             {:8.0} MiB/s {:6.2} Gbit/s",
        mib(kernel),
        gbit(kernel)
    );
    println!(
        "  tcp-mio over UDP, MSS {big:5}       {:8.0} MiB/s {:6.2} Gbit/s  ratio {:.2}",
        mib(ours_big),
        gbit(ours_big),
        ours_big / kernel
    );
    println!(
        "  tcp-mio over UDP, MSS  1460       {:8.0} MiB/s {:6.2} Gbit/s  ratio {:.2}",
        mib(ours_1460),
        gbit(ours_1460),
        ours_1460 / kernel
    );
    Ok(())
}
