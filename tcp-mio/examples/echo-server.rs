//! An echo server over TCP-in-UDP: run it in one terminal, `echo-client` in another.
//!
//! Usage: `cargo run --release -p tcp-mio --example echo-server [UDP_ADDR] [TCP_PORT]`
//! (defaults 127.0.0.1:7007 and 7). Serves any number of connections until killed.

mod common;

use common::Echo;
use std::time::Duration;
use tcp_mio::Net;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let udp = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:7007".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(7);
    let net = Net::udp(udp, Default::default())?;
    let listener = net.listen(port, 128)?;
    println!(
        "echo-server: UDP {} TCP port {port}",
        net.udp_addr().unwrap()
    );
    let mut conns: Vec<Echo> = Vec::new();
    loop {
        while let Ok((s, peer)) = listener.accept() {
            println!("echo-server: connection from {peer}");
            conns.push(Echo::new(s));
        }
        conns.retain_mut(|c| match c.step() {
            Ok(false) => true,
            Ok(true) => {
                println!("echo-server: {} bytes echoed, closing", c.echoed);
                false
            }
            Err(e) => {
                println!("echo-server: connection failed: {e}");
                false
            }
        });
        net.poll(Some(Duration::from_secs(1)))?;
    }
}
