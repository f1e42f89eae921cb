//! ICMP errors arriving during transfers (RFC 5927): valid ones (packet too big and host
//! unreachable about data in flight) and forged ones (about sequence numbers outside the
//! flight, or blind guesses of the port and sequence number). Every byte arrives intact,
//! no forged message changes the connection's state, and 100 000 blind attempts succeed
//! zero times.

use bytes::Bytes;
use proptest::prelude::*;
use std::net::SocketAddr;
use tcp_core::endpoint::ConnHandle;
use tcp_core::{Duration, Info};
use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP};
use tcp_tests::icmp::{icmp_error, quoted_tcp};
use tcp_tests::sim::rng::Rng;

const ROUTER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 254));

fn byte(offset: usize) -> u8 {
    let x = (offset as u64).wrapping_mul(0x9e37_79b9);
    (x ^ (x >> 13) ^ (x >> 29)) as u8
}

/// An ICMP error of `ty`/`code` (second word `rest`) to the client quoting a segment
/// from `local` to `remote` with sequence number `seq`.
fn icmp(ty: u8, code: u8, rest: u32, local: SocketAddr, remote: SocketAddr, seq: u32) -> Bytes {
    let quoted = quoted_tcp(local, remote, seq, 1000).expect("quote");
    Bytes::from(icmp_error(ROUTER, local.ip(), ty, code, rest, &quoted).expect("icmp"))
}

/// What an ICMP message may change, as the connection reports it.
fn icmp_state(i: &Info) -> (Option<u32>, u64, u64, u64, u64) {
    (
        i.path_mtu,
        i.stats.icmp_soft_errors,
        i.stats.icmp_hard_errors,
        i.stats.pmtu_reductions,
        i.stats.rto_reverts,
    )
}

/// A client connected to the server, with the server's listener.
fn connected(p: &mut EpPair) -> (ConnHandle, tcp_core::endpoint::ListenerHandle, ConnHandle) {
    let server_addr = SocketAddr::new(SERVER_IP, 80);
    let l = p.server.listen(server_addr, 16).expect("listen");
    let c = p
        .client
        .connect(p.now, CLIENT_IP, server_addr)
        .expect("connect");
    let mut s = None;
    assert!(p.run_until(Duration::from_secs(5), |p| {
        if s.is_none() {
            s = p.server.accept(l).expect("listener");
        }
        s.is_some()
            && p.client
                .connection(c)
                .is_ok_and(|c| c.state().is_synchronized())
    }));
    (c, l, s.expect("accepted"))
}

/// Sends `total` bytes from client to server while injecting ICMP messages; returns
/// what the server read and how many forged messages changed the client's state.
fn transfer_under_icmp(seed: u64, total: usize, every: u64) -> (Vec<u8>, u64, u64) {
    let mut p = EpPair::default_pair(Duration::from_millis(10));
    let (c, _l, s) = connected(&mut p);
    let remote = SocketAddr::new(SERVER_IP, 80);
    let mut rng = Rng::new(seed);
    let (mut written, mut read, mut shut) = (0usize, Vec::new(), false);
    let (mut forged, mut forged_effective, mut steps) = (0u64, 0u64, 0u64);
    let local_addr = {
        // The client's port, as the server sees it.
        let t = p
            .trace
            .iter()
            .find(|t| t.src.ip() == CLIENT_IP)
            .expect("a client segment");
        t.src
    };
    let done = p.run_until(Duration::from_secs(600), |p| {
        let now = p.now;
        if written < total {
            let chunk: Vec<u8> = (written..total.min(written + 8192)).map(byte).collect();
            if let Ok(n) = p.client.write(now, c, &chunk) {
                written += n;
            }
        } else if !shut {
            shut = p.client.shutdown(now, c).is_ok();
        }
        let mut buf = [0u8; 16384];
        while let Ok(n) = p.server.read(now, s, &mut buf) {
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buf[..n]);
        }
        steps += 1;
        // The first step always injects (a short transfer may end within `every` steps).
        if (forged == 0 || steps % every == 0)
            && let Ok(conn) = p.client.connection(c)
        {
            let (una, max) = (conn.snd_una().get(), conn.snd_max().get());
            let before = icmp_state(&conn.info());
            let r = rng.next_u64();
            // The first message is a forged one, so every case tries one.
            let kind = if forged == 0 { 0 } else { r % 4 };
            let (pkt, is_forged) = match kind {
                // Forged: a sequence number outside SND.UNA..=SND.NXT.
                0 => {
                    let seq = max.wrapping_add(1 + (r >> 33) as u32);
                    (icmp(3, 1, 0, local_addr, remote, seq), true)
                }
                1 => {
                    let seq = una.wrapping_sub(1 + (r >> 33) as u32);
                    (icmp(3, 4, 576, local_addr, remote, seq), true)
                }
                // Valid: a packet too big about data in flight.
                2 => {
                    let span = max.wrapping_sub(una).max(1);
                    let seq = una.wrapping_add(((r >> 20) as u32) % span);
                    let mtu = [576, 1000, 1280, 1400][(r >> 8) as usize % 4];
                    (icmp(3, 4, mtu, local_addr, remote, seq), false)
                }
                // Valid: a host unreachable about SND.UNA (soft, RFC 6069 revert).
                _ => (icmp(3, 1, 0, local_addr, remote, una), false),
            };
            p.client.handle_packet(now, pkt).expect("an ICMP message");
            if is_forged {
                forged += 1;
                let after = p.client.connection(c).map(|c| icmp_state(&c.info()));
                if after.ok() != Some(before) {
                    forged_effective += 1;
                }
            }
        }
        read.len() == total && shut
    });
    assert!(
        done,
        "the transfer finished: {} of {total} read",
        read.len()
    );
    (read, forged, forged_effective)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn icmp_errors_during_a_transfer_lose_nothing_and_forged_ones_change_nothing(
        seed in any::<u64>(),
        total in 10_000usize..400_000,
        every in 1u64..8,
    ) {
        let (read, forged, effective) = transfer_under_icmp(seed, total, every);
        prop_assert_eq!(read.len(), total);
        prop_assert!(read.iter().enumerate().all(|(i, &b)| b == byte(i)), "bytes intact");
        prop_assert!(forged > 0);
        prop_assert_eq!(effective, 0, "a forged message changed the connection");
    }
}

/// A blind attacker knows both addresses and the server's port, and guesses the client's
/// ephemeral port and the sequence number: none of 100 000 attempts (host unreachable,
/// packet too big) changes the connection.
#[test]
fn blind_icmp_attacks_fail() {
    let mut p = EpPair::default_pair(Duration::from_millis(10));
    let (c, _l, _s) = connected(&mut p);
    // Data in flight, unacknowledged (the server never reads: its window stays open
    // for a while).
    let now = p.now;
    p.client.write(now, c, &vec![7u8; 60_000]).unwrap();
    p.pump();
    let before = icmp_state(&p.client.connection(c).unwrap().info());
    let (lo, hi) = tcp_core::EndpointConfig::default().ephemeral_ports;
    let remote = SocketAddr::new(SERVER_IP, 80);
    let mut rng = Rng::new(42);
    let attempts = 100_000u64;
    let mut successes = 0;
    for i in 0..attempts {
        let r = rng.next_u64();
        let port = lo + (r % u64::from(hi - lo + 1)) as u16;
        let seq = (r >> 32) as u32;
        let local = SocketAddr::new(CLIENT_IP, port);
        let pkt = if i % 2 == 0 {
            icmp(3, 1, 0, local, remote, seq)
        } else {
            icmp(3, 4, 576, local, remote, seq)
        };
        p.client.handle_packet(p.now, pkt).expect("an ICMP message");
        if icmp_state(&p.client.connection(c).unwrap().info()) != before {
            successes += 1;
        }
    }
    let ep = p.client.stats();
    let info = p.client.connection(c).unwrap().info();
    eprintln!(
        "{attempts} blind attempts: {successes} changed the connection; endpoint ignored {}, \
         the connection dropped {} as outside its flight",
        ep.icmp_ignored, info.stats.icmp_out_of_window
    );
    assert_eq!(ep.icmp_in, attempts);
    assert_eq!(ep.icmp_ignored + info.stats.icmp_out_of_window, attempts);
    assert_eq!(successes, 0);
}
