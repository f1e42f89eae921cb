//! Option negotiation on SYN/SYN-ACK (RFC 9293 §3.7.1, RFC 7323, RFC 2018) and the
//! timestamp rules: TS.Recent, PAWS, RTT from TSecr.

use bytes::Bytes;
use tcp_core::wire::{TcpFlags, Timestamps};
use tcp_core::{Config, Duration, State};
use tcp_tests::lone::{LOCAL_ISS, Lone, PEER_ISN, PeerOpts, T0, TS_OFFSET, syn_header};

/// Our SYN offers Linux's set: MSS, SACK-permitted, timestamps (TSecr 0), window scale 7
/// for a 256 KiB buffer; the SYN window is unscaled.
#[test]
fn syn_offers_mss_sack_ts_wscale() {
    let l = Lone::client(Config::default());
    let h = &l.out[0].seg.header;
    assert_eq!(h.options.mss, Some(1460));
    assert!(h.options.sack_permitted);
    // Linux 6.18 with tcp_rmem[2] = 32 MiB offers 10.
    assert_eq!(h.options.window_scale, Some(10));
    let ts = h.options.timestamps.expect("timestamps offered");
    assert_eq!(ts.ecr, 0);
    assert_eq!(ts.val, T0.as_millis() as u32 + TS_OFFSET);
    // RFC 7323 §2.2: the SYN's window is not scaled; Linux offers 64240 (44 × 1460).
    assert_eq!(h.window, 64240);
}

/// Options switched off in the configuration are not offered.
#[test]
fn syn_without_optional_options() {
    let l = Lone::client({
        let mut config: Config = Config::default();
        config.timestamps = false;
        config.sack = false;
        config.window_scaling = false;
        config
    });
    let o = l.out[0].seg.header.options;
    assert_eq!(o.mss, Some(1460));
    assert!(!o.sack_permitted && o.timestamps.is_none() && o.window_scale.is_none());
}

/// The window scale grows with the receive buffer so the window fits 16 bits.
#[test]
fn window_scale_chosen_from_the_receive_buffer() {
    let l = Lone::client({
        let mut config: Config = Config::default();
        config.recv_buffer = 32 << 20;
        config
    });
    let ws = l.out[0].seg.header.options.window_scale.unwrap();
    assert!((32usize << 20) >> ws <= 0xffff, "{ws}");
    assert_eq!(ws, 10, "2^25 >> 10 = 32768 fits; >> 9 = 65536 does not");
}

/// A SYN-ACK carries only the options the peer offered (RFC 7323 §2.2, §3.2; RFC 2018 §2).
#[test]
fn synack_carries_only_offered_options() {
    let l = Lone::server(
        Config::default(),
        PeerOpts {
            mss: Some(1200),
            wscale: None,
            sack: false,
            ts: None,
            window: 8192,
        },
    );
    let o = l.out[0].seg.header.options;
    assert_eq!(o.mss, Some(1460), "MSS is always sent");
    assert!(o.window_scale.is_none() && !o.sack_permitted && o.timestamps.is_none());
    // The peer's MSS limits our segments.
    assert_eq!(l.c.info().snd_mss, 1200);
}

/// A SYN-ACK to a full offer echoes the peer's TSval.
#[test]
fn synack_echoes_the_peers_tsval() {
    let l = Lone::server(
        Config::default(),
        PeerOpts {
            ts: Some(123_456),
            ..PeerOpts::default()
        },
    );
    let o = l.out[0].seg.header.options;
    assert_eq!(o.timestamps.unwrap().ecr, 123_456);
    assert!(o.sack_permitted);
    assert_eq!(o.window_scale, Some(10));
}

/// MSS: the peer's value is used but never above ours, never below the floor (`min_mss`);
/// without the option, 536 (RFC 9293 §3.7.1).
#[test]
fn mss_clamping() {
    for (peer, want) in [
        (Some(9000), 1460),
        (Some(1000), 1000),
        (Some(10), 48),
        (None, 536),
    ] {
        let mut l = Lone::established_with(
            {
                let mut config: Config = Config::default();
                config.nodelay = true;
                config
            },
            PeerOpts {
                mss: peer,
                ..PeerOpts::default()
            },
        );
        assert_eq!(l.c.info().snd_mss, want, "peer MSS {peer:?}");
        let out = l.write(5000);
        assert_eq!(out[0].len(), want as usize, "peer MSS {peer:?}");
    }
}

/// Window scaling is used only when both sides offered it; otherwise our windows are not
/// scaled and neither are the peer's.
#[test]
fn window_scaling_needs_both_sides() {
    let mut l = Lone::established_with(
        {
            let mut config: Config = Config::default();
            config.nodelay = true;
            config
        },
        PeerOpts {
            wscale: None,
            ..PeerOpts::default()
        },
    );
    assert_eq!(l.c.info().snd_wscale, 0);
    assert_eq!(l.c.info().rcv_wscale, 0);
    l.peer_window = 3000;
    l.ack(1, 1);
    assert_eq!(l.c.info().snd_wnd, 3000, "unscaled");
    let out = l.data(1, 1, 10);
    assert_eq!(
        out[0].window(),
        64_230,
        "unscaled: the 64240 of our SYN-ACK less the 10 bytes received (Linux keeps the edge)"
    );
}

/// With window scaling: the peer's window field is shifted by its scale, ours by ours.
#[test]
fn window_scaling_both_sides() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            wscale: Some(3),
            ..PeerOpts::default()
        },
    );
    l.peer_window = 1000;
    l.ack(1, 1);
    assert_eq!(l.c.info().snd_wnd, 8000);
    let out = l.data(1, 1, 10);
    // Linux's first window after the handshake: rcv_ssthresh (64 KiB less one segment),
    // rounded up to the 1024-byte unit of scale 10: field 63.
    assert_eq!(out[0].window(), 63);
}

/// RFC 7323 §2.3: a shift above 14 is used as 14.
#[test]
fn window_scale_above_14_is_clamped() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            wscale: Some(20),
            ..PeerOpts::default()
        },
    );
    assert_eq!(l.c.info().snd_wscale, 14);
    l.peer_window = 1;
    l.ack(1, 1);
    assert_eq!(l.c.info().snd_wnd, 1 << 14);
}

/// Timestamps on when both offer; each segment then carries TSval (our clock + offset)
/// and TSecr = TS.Recent.
#[test]
fn timestamps_on_both_sides() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            ts: Some(500),
            ..PeerOpts::default()
        },
    );
    assert!(l.c.info().timestamps);
    l.set_time(l.now + Duration::from_millis(250));
    let out = l.data(1, 1, 10);
    let ts = out[0].seg.header.options.timestamps.unwrap();
    assert_eq!(ts.val, (l.now.as_millis() as u32).wrapping_add(TS_OFFSET));
    assert_eq!(ts.ecr, l.peer_ts.unwrap(), "echoes the newest TSval");
}

/// Timestamps off when either side does not offer them.
#[test]
fn timestamps_off_per_side() {
    // Peer without timestamps.
    let mut l = Lone::established(Config::default());
    assert!(!l.c.info().timestamps);
    let out = l.data(1, 1, 10);
    assert!(out[0].seg.header.options.timestamps.is_none());
    // We do not offer them; the peer does.
    let mut l = Lone::server(
        {
            let mut config: Config = Config::default();
            config.timestamps = false;
            config
        },
        PeerOpts {
            ts: Some(9),
            ..PeerOpts::default()
        },
    );
    assert!(l.out[0].seg.header.options.timestamps.is_none());
    l.peer_ts = None;
    l.ack(1, 1);
    let out = l.data(1, 1, 10);
    assert!(out[0].seg.header.options.timestamps.is_none());
    assert!(!l.c.info().timestamps);
}

/// SACK-permitted is used only when both offer it.
#[test]
fn sack_permitted_needs_both_sides() {
    let l = Lone::established({
        let mut config: Config = Config::default();
        config.sack = false;
        config
    });
    assert!(!l.c.info().sack);
    let l = Lone::established(Config::default());
    assert!(l.c.info().sack);
}

/// RFC 7323 §4.3: TS.Recent is taken from a segment only if it covers Last.ACK.sent; an
/// out-of-order segment further on does not update it.
#[test]
fn ts_recent_update_rule() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            ts: Some(1000),
            ..PeerOpts::default()
        },
    );
    l.data(1, 1, 100); // TSval 1001, in order: TS.Recent = 1001
    assert_eq!(l.c.ts_recent(), Some(1001));
    l.data(501, 1, 100); // TSval 1002, out of order: no update
    assert_eq!(l.c.ts_recent(), Some(1001));
    let out = l.data(101, 1, 100); // TSval 1003, at Last.ACK.sent
    assert_eq!(l.c.ts_recent(), Some(1003));
    assert_eq!(out[0].seg.header.options.timestamps.unwrap().ecr, 1003);
}

/// RFC 7323 §5.3: PAWS drops a segment whose TSval is older than TS.Recent and ACKs it.
#[test]
fn paws_drops_old_timestamps() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            ts: Some(1000),
            ..PeerOpts::default()
        },
    );
    l.data(1, 1, 100);
    let mut h = l.seg(TcpFlags::ACK, 101, 1);
    h.options.timestamps = Some(Timestamps {
        val: 900,
        ecr: l.last_tsval,
    });
    let ans = l.input(h, Bytes::from(vec![1u8; 100]));
    assert_eq!(l.c.stats().paws_dropped, 1);
    assert_eq!(l.c.rcv_nxt(), PEER_ISN + 101, "data not accepted");
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!(ans[0].ack(), 101);
    // A RST is not subject to PAWS.
    let mut h = l.seg(TcpFlags::RST, 101, 0);
    h.options.timestamps = Some(Timestamps { val: 5, ecr: 0 });
    l.input(h, Bytes::new());
    assert_eq!(l.c.state(), State::Closed);
}

/// TSval wrapping past 2^31 is still "newer" (serial arithmetic).
#[test]
fn paws_uses_serial_arithmetic() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            ts: Some(0x7fff_fff0),
            ..PeerOpts::default()
        },
    );
    for i in 0..40u32 {
        l.peer_ts = Some(l.peer_ts.unwrap().wrapping_add(0x0100_0000));
        l.data(1 + i * 10, 1, 10);
    }
    assert_eq!(l.c.stats().paws_dropped, 0);
    assert_eq!(l.c.recv_available(), 400);
}

/// RFC 7323 §4.1: the RTT is measured from TSecr, even for a retransmitted segment.
#[test]
fn rtt_from_tsecr() {
    let mut l = Lone::client(Config::default());
    let syn_ts = l.last_tsval;
    l.set_time(l.now + Duration::from_millis(80));
    let mut h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        LOCAL_ISS + 1,
        PeerOpts {
            ts: Some(7),
            ..PeerOpts::default()
        },
    );
    h.options.timestamps = Some(Timestamps {
        val: 7,
        ecr: syn_ts,
    });
    l.peer_ts = Some(7);
    l.input(h, Bytes::new());
    assert_eq!(l.c.info().srtt, Some(Duration::from_millis(80)));
    // A retransmitted data segment ACKed with the TSecr of the retransmission: a valid
    // sample of 40 ms.
    l.c.set_nodelay(true);
    l.write(100);
    l.fire();
    l.set_time(l.now + Duration::from_millis(40));
    l.ack(1, 101);
    let srtt = l.c.info().srtt.unwrap();
    assert_eq!(srtt, Duration::from_millis(75), "7/8·80 + 1/8·40");
}
