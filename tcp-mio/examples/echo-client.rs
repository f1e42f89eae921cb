//! Connects to `echo-server` (another process), sends data, reads the echo back and checks
//! it by hash.
//!
//! Usage: `cargo run --release -p tcp-mio --example echo-client [SERVER_UDP_ADDR] [TCP_PORT]
//! [SIZE]` (defaults 127.0.0.1:7007, 7, 10M).

mod common;

use common::*;
use std::io;
use std::time::{Duration, Instant};
use tcp_mio::Net;
use tcp_testkit::check::StreamHash;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let server = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:7007".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(7);
    let size = args.next().and_then(|s| parse_size(&s)).unwrap_or(10 << 20);
    let net = Net::udp("127.0.0.1:0".parse().unwrap(), Default::default())?;
    let stream = net.connect(server, port)?;
    let block = data_block(42);
    let start = Instant::now();
    let (mut sent, mut off, mut shut) = (0u64, 0usize, false);
    let mut rx = StreamHash::new();
    let mut progress = Progress::new(size);
    loop {
        while sent < size {
            let end = (block.len() as u64).min(off as u64 + (size - sent)) as usize;
            match stream.write_bytes(block.slice(off..end)) {
                Ok(n) => {
                    sent += n as u64;
                    off = (off + n) % block.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if sent == size && !shut {
            stream.shutdown()?;
            shut = true;
        }
        match stream.read_bytes(1 << 20) {
            Ok(Some(b)) => {
                rx.update(&b);
                progress.update(rx.len());
                continue;
            }
            Ok(None) => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        net.poll(Some(Duration::from_secs(1)))?;
    }
    progress.finish();
    let secs = start.elapsed().as_secs_f64();
    let ok = rx.len() == size && rx.finish() == expected_hash(&block, size);
    println!(
        "echo-client: {} bytes echoed by {server} port {port} in {secs:.2} s ({} each way), {}",
        rx.len(),
        rate(rx.len(), secs),
        if ok { "verified" } else { "MISMATCH" }
    );
    drop(stream);
    let _ = net.run_until(Duration::from_millis(200), || Ok(false));
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
