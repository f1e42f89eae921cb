//! Two processes talking over UDP on 127.0.0.1: this test is the client, the
//! `tcp-mio-echo` helper binary (built by cargo for integration tests) the echo server.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use tcp_core::Config;

#[test]
fn a_client_and_an_echo_server_in_separate_processes_exchange_byte_exact_data() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcp-mio-echo"))
        .args(["127.0.0.1:0", "7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tcp-mio-echo");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = line
        .trim()
        .strip_prefix("udp=")
        .expect("udp=<addr> line")
        .parse()
        .unwrap();

    let net = stack(Config::default());
    const CONNS: usize = 3;
    const SIZE: u64 = 512 * 1024;
    let mut flows: Vec<(u64, Flow)> = (0..CONNS as u64)
        .map(|i| {
            let s = net.connect(server, 7).unwrap();
            (i, Flow::new(s, 100 + i, SIZE))
        })
        .collect();
    let mut results = Vec::new();
    pump(&[&net], || {
        flows.retain_mut(|(i, f)| {
            if f.step().expect("flow") && f.closed().expect("flow") {
                results.push((*i, f.rx.len(), f.rx.finish()));
                false
            } else {
                true
            }
        });
        flows.is_empty()
    });
    drop(child.stdin.take()); // the server exits when its stdin closes
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(results.len(), CONNS);
    for (i, n, h) in results {
        assert_eq!(n, SIZE, "connection {i}: echoed length");
        assert_eq!(
            h,
            expected_hash(100 + i, SIZE),
            "connection {i}: echoed data"
        );
    }
}
