//! One connection between two tcp-tokio stacks over UDP on 127.0.0.1: sends SIZE MiB
//! (first argument, default 256) at MSS MSS (second argument, default 65487, the largest
//! that fits a loopback datagram; 1460 for an Ethernet-sized one) and prints the goodput.
//!
//! `cargo run --release -p tcp-tokio --example tokio_bench -- 256 1460`

use std::time::Instant;
use tcp_tokio::Stack;
use tcp_tokio::tcp_core::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let mss: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(65_487);
    let mut config = Config::default();
    config.mss = mss;
    let lo = "127.0.0.1:0".parse().unwrap();
    let server = Stack::bind_udp(lo, config.clone())?;
    let client = Stack::bind_udp(lo, config)?;
    let listener = server.listen("127.0.0.1:5001".parse().unwrap(), 4)?;
    let total = mib << 20;
    let sink = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0usize;
        loop {
            let k = s.read(&mut buf).await?;
            if k == 0 {
                break;
            }
            n += k;
        }
        std::io::Result::Ok(n)
    });
    let start = Instant::now();
    let mut s = client.connect_udp(server.udp_addr().unwrap(), 5001).await?;
    let chunk = vec![0x5au8; 1 << 20];
    for _ in 0..mib {
        s.write_all(&chunk).await?;
    }
    s.shutdown().await?;
    let info = s.info()?;
    let got = sink.await.map_err(std::io::Error::other)??;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, total);
    println!(
        "tcp-tokio over UDP loopback: {mib} MiB at MSS {mss} in {secs:.3} s: {:.2} Gbit/s \
         ({} segments retransmitted, {} RTOs; client driver {:?})",
        total as f64 * 8.0 / secs / 1e9,
        info.stats.retransmits,
        info.stats.rtos,
        client.driver_stats()
    );
    Ok(())
}
