//! A helper binary for two-process tests: an echo server over UDP.
//!
//! `tcp-mio-echo [BIND_ADDR] [TCP_PORT]` binds a UDP link (default 127.0.0.1:0), listens
//! on the TCP port (default 7), prints `udp=<addr>` on a line of stdout, and echoes every
//! connection until stdin closes (so it ends with its parent).

use bytes::Bytes;
use std::collections::HashMap;
use std::io::{self, BufRead};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tcp_mio::{Net, TcpStream};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let net = Net::udp(bind, Default::default())?;
    let listener = net.listen(port, 128)?;
    println!("udp={}", net.udp_addr().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for _ in io::stdin().lock().lines() {}
            stop.store(true, Ordering::Relaxed);
        });
    }
    let mut conns: HashMap<usize, (TcpStream, Option<Bytes>, bool)> = HashMap::new();
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        while let Ok((s, _)) = listener.accept() {
            conns.insert(next, (s, None, false));
            next += 1;
        }
        let mut done = Vec::new();
        for (id, (s, pending, eof)) in conns.iter_mut() {
            if step(s, pending, eof).unwrap_or(true) {
                done.push(*id);
            }
        }
        for id in done {
            conns.remove(&id);
        }
        net.poll(Some(Duration::from_millis(100)))?;
    }
    Ok(())
}

/// Moves data of one connection; true when it is finished.
fn step(s: &TcpStream, pending: &mut Option<Bytes>, eof: &mut bool) -> io::Result<bool> {
    loop {
        if let Some(p) = pending.take() {
            match s.write_bytes(p.clone()) {
                Ok(n) if n < p.len() => {
                    *pending = Some(p.slice(n..));
                    return Ok(false);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    *pending = Some(p);
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
        if *eof {
            s.shutdown()?;
            return Ok(true);
        }
        match s.read_bytes(1 << 20) {
            Ok(Some(b)) => *pending = Some(b),
            Ok(None) => *eof = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}
