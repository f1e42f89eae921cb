//! Hostile and random input: a connection fed seeded random segments (any flags, sequence
//! and acknowledgment numbers near and far from the window, random windows, timestamps and
//! SACK blocks, random payloads), random application calls and random time steps never
//! panics, keeps its invariants (`check_invariants`) after every step, and never sends
//! data without ACK or on a SYN or RST.

use bytes::Bytes;
use tcp_core::wire::{SackBlock, SackBlocks, TcpFlags, TcpHeader, Timestamps};
use tcp_core::{Config, Duration, SeqNum};
use tcp_tests::lone::{LOCAL_PORT, Lone, PEER_PORT, PeerOpts};
use tcp_tests::sim::rng::Rng;

fn near(rng: &mut Rng, base: SeqNum) -> SeqNum {
    match rng.below(4) {
        0 => SeqNum::new(rng.next_u64() as u32),
        1 => base + rng.below(3000) as u32,
        2 => base - rng.below(3000) as u32,
        _ => base,
    }
}

fn run(seed: u64, live: &mut u64) {
    let mut rng = Rng::new(seed);
    let cfg = {
        let mut config: Config = Config::default();
        config.recv_buffer = 2000 + rng.below(20_000) as usize;
        config.recv_buffer_max = 40_000;
        config.send_buffer = 2000 + rng.below(20_000) as usize;
        config.max_ooo_segments = 1 + rng.below(16) as usize;
        config.invalid_ratelimit = Duration::from_millis(rng.below(600));
        config.keepalive = (rng.below(2) == 0).then(|| tcp_core::Keepalive {
            idle: Duration::from_secs(5),
            interval: Duration::from_secs(1),
            count: 5,
        });
        config
    };
    let o = PeerOpts {
        mss: Some(rng.below(2000) as u16),
        wscale: (rng.below(3) > 0).then(|| rng.below(16) as u8),
        sack: rng.below(2) == 0,
        ts: (rng.below(2) == 0).then(|| rng.next_u64() as u32),
        window: rng.next_u64() as u16,
    };
    let mut l = if rng.below(2) == 0 {
        Lone::established_with(cfg, o)
    } else {
        Lone::server(cfg, o)
    };
    for _ in 0..400 {
        match rng.below(10) {
            0..=5 => {
                // Mostly ACK segments, sometimes anything (RST, SYN, FIN, no ACK).
                let flags = if rng.below(8) == 0 {
                    let mut f = TcpFlags::from_bits(rng.next_u64() as u8 & 0x3f);
                    if rng.below(8) != 0 {
                        f.remove(TcpFlags::RST);
                    }
                    f
                } else {
                    let mut f = TcpFlags::ACK;
                    if rng.below(10) == 0 {
                        f |= TcpFlags::FIN;
                    }
                    f
                };
                let mut options = tcp_core::wire::TcpOptions::default();
                if rng.below(2) == 0 {
                    let base = l.c.ts_recent().unwrap_or(0);
                    options.timestamps = Some(Timestamps {
                        val: base.wrapping_add(rng.below(200) as u32).wrapping_sub(50),
                        ecr: l.last_tsval.wrapping_sub(rng.below(100) as u32),
                    });
                }
                if rng.below(3) == 0 {
                    let mut sb = SackBlocks::new();
                    for _ in 0..rng.below(4) {
                        let left = near(&mut rng, l.c.snd_una());
                        sb.push(SackBlock {
                            left,
                            right: left + rng.below(5000) as u32,
                        });
                    }
                    options.sack_blocks = sb;
                }
                let h = TcpHeader {
                    src_port: PEER_PORT,
                    dst_port: LOCAL_PORT,
                    seq: near(&mut rng, l.c.rcv_nxt()),
                    ack: near(&mut rng, l.c.snd_una()),
                    flags,
                    window: rng.next_u64() as u16,
                    urgent: 0,
                    options,
                };
                let len = [0, 1, 100, 1460, 3000][rng.below(5) as usize];
                l.input(h, Bytes::from(vec![7u8; len]));
            }
            6 => {
                let n = rng.below(5000) as usize;
                let _ = l.c.write(l.now, &vec![1u8; n]);
                l.flush();
            }
            7 => {
                let _ = l.read_all();
                l.flush();
            }
            8 => {
                l.advance(Duration::from_millis(rng.below(3000)));
            }
            _ => {
                match rng.below(100) {
                    0 => l.c.close(l.now),
                    1 => {
                        let _ = l.c.shutdown();
                    }
                    2 => l.c.abort(),
                    _ => {}
                }
                l.flush();
            }
        }
        for o in &l.out {
            let h = &o.seg.header;
            // A data segment carries ACK, and payload only in states that may send.
            if !o.seg.payload.is_empty() {
                assert!(
                    h.flags.contains(TcpFlags::ACK),
                    "seed {seed}: data without ACK"
                );
                assert!(!h.flags.intersects(TcpFlags::SYN | TcpFlags::RST));
            }
        }
        l.out.clear();
        assert!(l.events.len() < 100_000);
        if l.c.state() != tcp_core::State::Closed {
            *live += 1;
        }
    }
}

#[test]
fn random_segments_and_calls_never_break_the_connection() {
    let mut live = 0;
    for seed in 0..300 {
        run(seed, &mut live);
    }
    // Most steps must hit an open connection, or the test exercises little.
    assert!(live > 300 * 400 / 4, "only {live} live steps");
}
