//! Sends a bulk stream from a client to a listener in one process, both over UDP on
//! 127.0.0.1 (each stack in its own thread), verifies it by hash and prints the throughput.
//!
//! Usage: `cargo run --release -p tcp-mio --example transfer [SIZE] [--mss N]`
//! (SIZE like `1G`, `100M`; default 1 GiB, or the `TRANSFER_SIZE` environment variable;
//! MSS default: the largest that fits one UDP datagram, as loopback TCP uses ~64 KiB).

mod common;

use common::*;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tcp_core::Config;
use tcp_mio::Net;

fn main() -> std::io::Result<()> {
    let mut size = std::env::var("TRANSFER_SIZE")
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
    let config = transfer_config(mss);
    let block = data_block(0x5eed);
    let (addr_tx, addr_rx) = mpsc::channel();
    let server_cfg = config.clone();
    let server = std::thread::spawn(move || -> std::io::Result<(u64, u64, f64)> {
        let net = Net::udp("127.0.0.1:0".parse().unwrap(), server_cfg)?;
        let listener = net.listen(5001, 16)?;
        addr_tx.send(net.udp_addr().unwrap()).unwrap();
        let mut stream = None;
        net.run_until(Duration::from_secs(10), || {
            stream = listener.accept().ok().map(|(s, _)| s);
            Ok(stream.is_some())
        })?;
        let stream = stream.unwrap();
        let start = Instant::now();
        let (n, h) = receive_all(&net, &stream, size)?;
        let secs = start.elapsed().as_secs_f64();
        drop(stream);
        // Let the FIN and last ACKs leave.
        let _ = net.run_until(Duration::from_millis(200), || Ok(false));
        Ok((n, h, secs))
    });
    let server_udp = addr_rx.recv().unwrap();
    let expected = {
        let block = block.clone();
        std::thread::spawn(move || expected_hash(&block, size))
    };
    let net = Net::udp("127.0.0.1:0".parse().unwrap(), config)?;
    let stream = net.connect(server_udp, 5001)?;
    send_all(&net, &stream, &block, size)?;
    drop(stream);
    let (n, h, secs) = server.join().unwrap()?;
    let expected = expected.join().unwrap();
    let ok = n == size && h == expected;
    println!(
        "transfer: {} bytes in {:.2} s over UDP loopback (MSS {}): {}, hash {} ({:016x})",
        n,
        secs,
        mss,
        rate(n, secs),
        if ok { "ok" } else { "MISMATCH" },
        h
    );
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// The configuration used for bulk transfers: the given MSS, 4 MiB buffers.
fn transfer_config(mss: u16) -> Config {
    Config {
        mss,
        send_buffer: 4 << 20,
        recv_buffer: 4 << 20,
        ..Config::default()
    }
}
