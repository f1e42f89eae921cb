//! A TCP echo server on our stack, over a TUN device in a private network namespace; the
//! Linux kernel in that namespace is the client.
//!
//! Usage (root): `cargo run --release -p tcp-tun --example tun-echo-server [--self-test]`
//!
//! It prints its process id; from another shell talk to it with e.g.
//! `echo hello | sudo nsenter -t PID -n curl -s --max-time 2 telnet://192.0.2.2:7`.
//! `--self-test` connects from the kernel itself, checks one echo and exits.

mod common;

use common::*;
use std::io::{Read, Write};
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let (stack, layout) = private_stack(7, "echo server")?;
    let listeners = our_addrs(&layout, 7).map(|a| stack.net().listen_on(a, 128).unwrap());
    let client = self_test.then(|| {
        let addr = our_addrs(&layout, 7)[0];
        std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"hello over TUN\n")?;
            s.shutdown(std::net::Shutdown::Write)?;
            let mut got = Vec::new();
            s.read_to_end(&mut got)?;
            Ok(got)
        })
    });
    let mut new = Vec::new();
    let mut conns: Vec<EchoConn> = Vec::new();
    loop {
        stack.net().poll(Some(Duration::from_millis(100)))?;
        accept_all(&listeners, &mut new);
        for (s, peer) in new.drain(..) {
            eprintln!("{peer}: connected");
            conns.push(EchoConn::new(s, peer));
        }
        conns.retain_mut(|c| match c.step() {
            Ok(false) => true,
            Ok(true) => {
                eprintln!("{}: done, {} bytes echoed", c.peer, c.bytes);
                false
            }
            Err(e) => {
                eprintln!("{}: {e}", c.peer);
                false
            }
        });
        if client.as_ref().is_some_and(|c| c.is_finished()) {
            let got = client.unwrap().join().expect("client thread")?;
            print!("kernel client got back: {}", String::from_utf8_lossy(&got));
            assert_eq!(got, b"hello over TUN\n");
            return Ok(());
        }
    }
}
