//! 1000 concurrent idle flows through `tun-proxy` in private namespaces (reported as
//! ignored without root): all served, and the process's resident memory grows by less
//! than a stated bound per flow. A test binary of its own, so that no other test's
//! memory is counted. The layout is in `common`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;
use tun_proxy::{ProxyConfig, Stats};

mod common;
use common::{
    DEST, Ended, LIMIT, echo_server, enter_server_namespace, rss_bytes, spawn_client,
    with_proxy_config,
};

/// Flows held open at once.
const FLOWS: usize = 1000;
/// The bound on the resident memory added per idle flow: the proxy's side (the
/// terminated connection, the kernel connection's handle, the task, two 4 KiB read
/// buffers) and the test's echo server's task, which shares the process. Measured: about
/// 15 KB (one run).
const MAX_BYTES_PER_FLOW: u64 = 32 * 1024;

fn main() {
    common::run_tests(vec![("thousand_idle_flows", thousand_idle_flows)]);
}

fn thousand_idle_flows() {
    enter_server_namespace();
    let ends = echo_server(SocketAddr::new(DEST, 8080));
    let stats = Arc::new(Stats::default());
    let watch = stats.clone();
    let (iface, go, client) = spawn_client(move || {
        let before = rss_bytes();
        let dest = SocketAddr::new(DEST, 8080);
        let mut flows: Vec<TcpStream> = (0..FLOWS)
            .map(|_| TcpStream::connect_timeout(&dest, LIMIT).unwrap())
            .collect();
        // Every flow is served: one byte there and back.
        for (i, s) in flows.iter_mut().enumerate() {
            s.set_read_timeout(Some(LIMIT)).unwrap();
            s.write_all(&[i as u8]).unwrap();
        }
        for (i, s) in flows.iter_mut().enumerate() {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i as u8);
        }
        // Held idle.
        std::thread::sleep(Duration::from_millis(500));
        let active = watch.totals().active;
        let after = rss_bytes();
        (active, before, after, flows)
    });
    let cfg = ProxyConfig {
        backlog: 1024,
        ..ProxyConfig::default()
    };
    let ((active, before, after, flows), totals) = with_proxy_config(iface, go, client, cfg, stats);
    drop(flows);
    assert_eq!(active, FLOWS as u64, "flows open at once");
    assert_eq!(totals.flows, FLOWS as u64);
    let per_flow = after.saturating_sub(before) / FLOWS as u64;
    println!(
        "{FLOWS} idle flows: resident memory {:.1} MiB -> {:.1} MiB, {per_flow} bytes per flow \
         (proxy and echo server together; bound {MAX_BYTES_PER_FLOW})",
        before as f64 / (1 << 20) as f64,
        after as f64 / (1 << 20) as f64,
    );
    assert!(
        per_flow < MAX_BYTES_PER_FLOW,
        "{per_flow} bytes per idle flow"
    );
    // The proxy's shutdown closed every flow with a FIN: the echo server saw each end.
    for _ in 0..FLOWS {
        assert_eq!(ends.recv_timeout(LIMIT).unwrap(), Ended::Eof(1));
    }
}
