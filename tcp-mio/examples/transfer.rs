//! Sends a bulk stream from a client to a listener in one process, both over UDP on
//! 127.0.0.1 (each stack in its own thread), verifies it by hash and prints the throughput.
//!
//! Usage: `cargo run --release -p tcp-mio --example transfer [SIZE] [--mss N]`
//! (SIZE like `1G`, `100M`; default 1 GiB, or the `TRANSFER_SIZE` environment variable;
//! MSS default: the largest that fits one UDP datagram, as loopback TCP uses ~64 KiB;
//! buffers: 2 MiB, or `TRANSFER_BUF`). `TRANSFER_VERBOSE=1` prints the sender's TCP info.

mod common;

use common::*;

fn main() -> std::io::Result<()> {
    // TRANSFER_BYTES: the name an earlier README gave this variable, still read.
    let mut size = std::env::var("TRANSFER_SIZE")
        .or_else(|_| std::env::var("TRANSFER_BYTES"))
        .ok()
        .and_then(|s| parse_size(&s))
        .unwrap_or(1 << 30);
    let mut mss: u16 = tcp_mio::UdpLink::max_mss();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--mss" {
            mss = args.next().and_then(|v| v.parse().ok()).unwrap_or(mss);
        } else if let Some(s) = parse_size(&a) {
            size = s;
        } else {
            eprintln!("usage: transfer [SIZE like 1G, 100M] [--mss N]");
            std::process::exit(2);
        }
    }
    let o = run_transfer(bulk_config(mss), size)?;
    println!(
        "transfer: {} bytes in {:.2} s over UDP loopback (MSS {}): {}, hash {} ({:016x})",
        o.bytes,
        o.secs,
        mss,
        rate(o.bytes, o.secs),
        if o.ok { "ok" } else { "MISMATCH" },
        o.hash
    );
    if !o.ok {
        std::process::exit(1);
    }
    Ok(())
}
