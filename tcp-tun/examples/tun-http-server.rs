//! A tiny HTTP/1.1 server on our stack, over a TUN device in a private network namespace;
//! `curl` (the kernel's TCP) in that namespace fetches from it.
//!
//! Usage (root): `cargo run --release -p tcp-tun --example tun-http-server [--curl]`
//!
//! It prints its process id; from another shell:
//! `sudo nsenter -t PID -n curl http://192.0.2.2/` (or `http://[2001:db8::2]/`), and
//! `sudo nsenter -t PID -n curl -o /dev/null http://192.0.2.2/bytes/100000000` for a
//! 100 MB download. `--curl` runs those fetches itself, prints the results and exits.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let run_curl = std::env::args().any(|a| a == "--curl");
    let (stack, layout) = private_stack(80, "HTTP server")?;
    let listeners = our_addrs(&layout, 80).map(|a| stack.net().listen_on(a, 128).unwrap());
    // Threads spawned from this (namespaced) thread, and the curl processes they start,
    // live in the namespace too.
    let fetcher = run_curl.then(|| {
        let v4 = format!("http://{}/", layout.ours_v4);
        let v6 = format!("http://[{}]/", layout.ours_v6);
        let big = format!("http://{}/bytes/100000000", layout.ours_v4);
        std::thread::spawn(move || -> std::io::Result<bool> {
            let mut ok = true;
            for args in [
                vec!["-sS", "--max-time", "10", v4.as_str()],
                vec!["-sS", "--max-time", "10", v6.as_str()],
                vec![
                    "-sS",
                    "--max-time",
                    "60",
                    "-o",
                    "/dev/null",
                    "-w",
                    "downloaded %{size_download} bytes at %{speed_download} bytes/s\n",
                    big.as_str(),
                ],
            ] {
                println!("$ curl {}", args.join(" "));
                let out = Command::new("curl").args(&args).output()?;
                print!("{}", String::from_utf8_lossy(&out.stdout));
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
                ok &= out.status.success();
            }
            Ok(ok)
        })
    });
    let mut new = Vec::new();
    let mut conns: Vec<HttpConn> = Vec::new();
    loop {
        stack.net().poll(Some(Duration::from_millis(100)))?;
        accept_all(&listeners, &mut new);
        for (s, peer) in new.drain(..) {
            conns.push(HttpConn::new(s, peer));
        }
        conns.retain_mut(|c| match c.step() {
            Ok(done) => !done,
            Err(e) => {
                eprintln!("{}: {e}", c.peer);
                false
            }
        });
        if fetcher.as_ref().is_some_and(|f| f.is_finished()) {
            let ok = fetcher.unwrap().join().expect("curl thread")?;
            if !ok {
                return Err(std::io::Error::other("a curl fetch failed"));
            }
            return Ok(());
        }
    }
}
