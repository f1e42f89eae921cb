//! Regression tests for bugs the fuzz targets found (fuzz/src/*_check.rs). Each test names
//! the bug and was written, failing, before the fix.

use bytes::Bytes;
use std::sync::Arc;
use tcp_core::wire::{TcpFlags, TcpHeader};
use tcp_core::{Config, Connection, Duration, Handshake, Instant, Keepalive, SeqNum, State};

const LPORT: u16 = 40_000;
const RPORT: u16 = 80;

fn drain(c: &mut Connection, now: Instant) {
    while c.poll_transmit(now).is_some() {}
    while c.poll_event().is_some() {}
}

/// Found by `connection`: in SYN-SENT, data carried on the SYN-ACK is handed to the
/// receive buffer without being trimmed to the window we advertised in our SYN
/// (tcp-core/src/conn/input.rs, `on_syn_sent`, the `process_text_and_fin(now, data_seq,
/// payload, ..)` call). With a 200-byte receive buffer, a SYN-ACK carrying 254 bytes is
/// accepted whole: the buffer holds more than its capacity.
#[test]
fn syn_ack_data_beyond_the_receive_window() {
    let cfg = {
        let mut config: Config = Config::default();
        config.recv_buffer = 200;
        config
    };
    let now = Instant::from_secs(1);
    let iss = SeqNum::new(1000);
    let mut c = Connection::connect(Arc::new(cfg), now, LPORT, RPORT, iss, 0);
    drain(&mut c, now);
    let syn_ack = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(5000),
        ack: iss + 1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 8192,
        ..TcpHeader::default()
    };
    c.handle_segment(now, &syn_ack, Bytes::from(vec![7u8; 254]));
    assert_eq!(c.state(), State::Established);
    c.check_invariants().unwrap();
    assert!(
        c.recv_available() <= 200,
        "accepted {} bytes beyond a 200-byte window",
        c.recv_available()
    );
}

fn keepalive_conn(now: Instant) -> Connection {
    keepalive_conn_with_interval(now, Duration::from_secs(5))
}

/// An established connection with keepalive: 10 s idle, `interval`, 3 probes.
fn keepalive_conn_with_interval(now: Instant, interval: Duration) -> Connection {
    let cfg = {
        let mut config: Config = Config::default();
        config.keepalive = Some(Keepalive {
            idle: Duration::from_secs(10),
            interval,
            count: 3,
        });
        config
    };
    let hs = Handshake {
        local_port: LPORT,
        remote_port: RPORT,
        iss: SeqNum::new(1000),
        irs: SeqNum::new(5000),
        peer_mss: Some(1460),
        peer_wscale: None,
        sack: false,
        ts_recent: None,
        ts_offset: 0,
        peer_window: 65_535,
    };
    let mut c = Connection::from_handshake(Arc::new(cfg), now, &hs);
    drain(&mut c, now);
    c
}

/// Found by `connection`: the keepalive deadline is `last_rcv + idle + interval * probes`
/// (tcp-core/src/conn/timers.rs, `keepalive_deadline`), so when `handle_timeout` runs late
/// (a late wake-up, a suspended host) the next probe is already due: `poll_timeout` stays
/// in the past and a driver that loops on it (as `Endpoint::handle_timeout` does) sends
/// every probe back to back and resets the connection in a single call, without giving
/// the peer an interval to answer.
#[test]
fn late_keepalive_timer_is_not_still_due_after_handle_timeout() {
    let t0 = Instant::from_secs(1);
    let mut c = keepalive_conn(t0);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    // Woken 60 s late.
    let now = t0 + Duration::from_secs(70);
    c.handle_timeout(now);
    drain(&mut c, now);
    let next = c.poll_timeout().expect("keepalive timer");
    assert!(
        next > now,
        "next deadline {next:?} is already due at {now:?}"
    );
}

/// Same bug seen from a driver that runs timers until none is due: the connection fails
/// within one late wake-up although the peer was never given time to answer a probe.
#[test]
fn late_keepalive_does_not_kill_the_connection_in_one_wakeup() {
    let t0 = Instant::from_secs(1);
    let mut c = keepalive_conn(t0);
    let now = t0 + Duration::from_secs(70);
    let mut probes = 0;
    while c.poll_timeout().is_some_and(|t| t <= now) && probes < 100 {
        c.handle_timeout(now);
        while c.poll_transmit(now).is_some() {
            probes += 1;
        }
    }
    assert_eq!(
        c.state(),
        State::Established,
        "{probes} segments sent in one wake-up, connection {:?}",
        c.error()
    );
}

/// Found by `pair`: when the peer's whole receive window is smaller than one MSS (a
/// 200-byte buffer here), the sender never sends on an ACK: `send_data` requires a full
/// `min(MSS, available)` segment to fit the window (tcp-core/src/conn/output.rs, "The
/// whole segment must fit the peer's window"), so every 200-byte piece waits for the
/// persist timer; and the persist backoff is reset only when the window grows
/// (tcp-core/src/conn/input.rs, `if opened { self.persist_backoff = 0 }`), not when an
/// ACK acknowledges the data the probe carried, so the wait doubles up to the maximum RTO:
/// 200 bytes every two minutes. RFC 9293 §3.8.6.2.1 sends as soon as
/// `min(D, U) >= Fs * Max(SND.WND)`; Linux splits the segment to the window.
#[test]
fn transfer_into_a_window_smaller_than_one_mss_does_not_crawl() {
    use tcp_tests::pair::{Pair, drain};
    // No window scaling, so the 200-byte window is advertised exactly.
    let cfg_a = {
        let mut config: Config = Config::default();
        config.window_scaling = false;
        config
    };
    let cfg_b = {
        let mut config: Config = Config::default();
        config.recv_buffer = 200;
        config
    };
    let mut p = Pair::with_configs(cfg_a, cfg_b, Duration::from_millis(10));
    p.establish();
    let msg: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let ok = p.run_until(Duration::from_secs(60), |p| {
        let now = p.now;
        if sent < msg.len() {
            sent += p.a.write(now, &msg[sent..]).unwrap_or(0);
        }
        drain(p.b(), now, &mut got);
        got.len() == msg.len()
    });
    assert!(
        ok,
        "only {} of {} bytes in 60 s through a 200-byte window (10 ms RTT)",
        got.len(),
        msg.len()
    );
    assert_eq!(got, msg);
}

/// Found by `pair`: with window scaling, `select_window` (tcp-core/src/conn/output.rs)
/// takes `max(free, cur)` and rounds it *up* to the scale unit ("so the right edge does not
/// recede"); `cur` is measured from the previous, already rounded-up edge, so every ACK can
/// push the right edge up to `2^wscale - 1` bytes further beyond the buffer. While the
/// application does not read, a peer sending small segments (20 bytes here, unit 128)
/// keeps the window open for ever: the receive buffer grows without bound (400,000 bytes
/// in a 16 KiB buffer after 20,000 segments), a memory-exhaustion hole.
#[test]
fn scaled_window_does_not_creep_past_the_receive_buffer() {
    let cfg = {
        let mut config: Config = Config::default();
        config.recv_buffer = 16_384;
        config.window_scale = Some(7);
        config
    };
    let mut now = Instant::from_secs(1);
    let irs = SeqNum::new(5000);
    let hs = Handshake {
        local_port: LPORT,
        remote_port: RPORT,
        iss: SeqNum::new(1000),
        irs,
        peer_mss: Some(1460),
        peer_wscale: Some(7),
        sack: false,
        ts_recent: None,
        ts_offset: 0,
        peer_window: 65_535,
    };
    let mut c = Connection::from_handshake(Arc::new(cfg), now, &hs);
    const SEG: u32 = 20;
    // The peer's view of our window: right edge from our last ACK.
    let mut edge = irs + 1 + 16_384;
    let mut seq = irs + 1;
    for _ in 0..20_000 {
        // Let the delayed ACK go out, so every small segment is acknowledged.
        now += Duration::from_millis(50);
        c.handle_timeout(now);
        while let Some(s) = c.poll_transmit(now) {
            edge = s.header.ack + (u32::from(s.header.window) << 7);
        }
        if (seq + SEG).gt(edge) {
            break; // The window is closed: what a correct receiver ends with.
        }
        let h = TcpHeader {
            src_port: RPORT,
            dst_port: LPORT,
            seq,
            ack: SeqNum::new(1001),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 65_535,
            ..TcpHeader::default()
        };
        c.handle_segment(now, &h, Bytes::from(vec![1u8; SEG as usize]));
        seq += SEG;
    }
    assert!(
        c.recv_available() <= 16_384 + 128,
        "{} bytes buffered in a 16384-byte receive buffer",
        c.recv_available()
    );
}

/// Found by `pair`: a SYN-cookie SYN-ACK sent to a peer that did not offer timestamps still
/// offers window scaling and SACK (tcp-core/src/endpoint/listen.rs, `send_cookie` uses the
/// normal `synack`), but without timestamps the cookie cannot remember them, so
/// `cookie_connection` builds the connection with `peer_wscale: None, sack: false`. The
/// peer has agreed to scaling and SACK, the server has not: the client's windows are read
/// unscaled (a 16 KB window becomes 126 bytes and the server's sending crawls) and the
/// server's windows are read scaled by the client (it may send far beyond them). Linux
/// clears the options of a cookie SYN-ACK when the SYN had no timestamps.
#[test]
fn syn_cookie_without_timestamps_agrees_on_window_scaling_and_sack() {
    use std::net::SocketAddr;
    use tcp_core::EndpointConfig;
    use tcp_core::endpoint::SynCookies;
    use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP};

    let cfg = {
        let mut config: Config = Config::default();
        config.timestamps = false;
        config
    };
    let client = EndpointConfig::with_secret([1; 16]);
    let server = {
        let mut ep_config = EndpointConfig::with_secret([2; 16]);
        ep_config.syncookies = SynCookies::Always;
        ep_config
    };
    let mut p = EpPair::new(cfg, client, server, Duration::from_millis(5));
    let addr = SocketAddr::new(SERVER_IP, 80);
    let l = p.server.listen(addr, 16).unwrap();
    let now = p.now;
    let c = p.client.connect(now, CLIENT_IP, addr).unwrap();
    p.run_for(Duration::from_secs(1));
    let s = p
        .server
        .accept(l)
        .unwrap()
        .expect("a connection from the cookie");
    let ci = p.client.connection(c).unwrap().info();
    let si = p.server.connection(s).unwrap().info();
    assert_eq!(
        (ci.snd_wscale, ci.rcv_wscale, ci.sack),
        (si.rcv_wscale, si.snd_wscale, si.sack),
        "client (snd_wscale, rcv_wscale, sack) vs server (rcv_wscale, snd_wscale, sack)"
    );
}

/// Found by `pair` (both sides with keepalive): when the peer's keepalive probe arrives in
/// the same wake-up as our own keepalive (or persist) timer fires, `next_segment`
/// (tcp-core/src/conn/output.rs) sends our probe, `<SEQ=SND.UNA-1>`, and `poll_transmit`
/// counts it as the ACK that was due (`ack_sent`), so the ACK answering the peer's probe
/// never goes out. The peer finds our probe's sequence number unacceptable (RFC 9293
/// §3.10.7.4) and neither processes its ACK field nor counts it as a sign of life, so its
/// keepalive gives up and resets a healthy connection (seen with count 1). The due ACK,
/// `<SEQ=SND.NXT>`, must go out besides the probe.
#[test]
fn ack_due_is_sent_even_when_our_keepalive_probe_fires_at_the_same_time() {
    let t0 = Instant::from_secs(1);
    let mut c = keepalive_conn(t0);
    let now = t0 + Duration::from_secs(10); // our keepalive is due now
    assert_eq!(c.poll_timeout(), Some(now));
    // The peer's keepalive probe: one byte before RCV.NXT (Linux's tcp_xmit_probe_skb).
    let probe = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: c.rcv_nxt() - 1,
        ack: c.snd_max(),
        flags: TcpFlags::ACK,
        window: 65_535,
        ..TcpHeader::default()
    };
    c.handle_segment(now, &probe, Bytes::new());
    c.handle_timeout(now);
    let mut out = Vec::new();
    while let Some(s) = c.poll_transmit(now) {
        out.push((s.header.seq, s.header.ack));
    }
    assert!(
        out.iter()
            .any(|&(seq, ack)| seq == c.snd_max() && ack == c.rcv_nxt()),
        "no acceptable ACK for the peer's probe among {out:?} (SND.NXT {:?})",
        c.snd_max()
    );
}

/// Found by `connection` once its harness checked that nothing is due after one
/// `handle_timeout`: a keepalive interval of zero made every probe schedule the next one at
/// the same instant, so a driver looping on `poll_timeout` spun, sending probes. The
/// interval now has a 1 ms floor.
#[test]
fn a_zero_keepalive_interval_does_not_leave_the_timer_due() {
    let t0 = Instant::from_secs(1);
    let mut c = keepalive_conn_with_interval(t0, Duration::ZERO);
    let now = t0 + Duration::from_secs(10);
    assert_eq!(
        c.poll_timeout(),
        Some(now),
        "first probe due after the idle time"
    );
    c.handle_timeout(now);
    drain(&mut c, now);
    assert!(
        c.poll_timeout().is_some_and(|t| t > now),
        "the next probe is not due at once: {:?}",
        c.poll_timeout()
    );
    assert_eq!(c.state(), State::Established);
}

/// Found by `pair` after the fix above: the fix looked at the client's SYN, but a server that
/// does not use timestamps sends a cookie SYN-ACK without them even when the SYN had them,
/// and still offered window scaling and SACK that the cookie then forgot. The two ends
/// disagreed on window scaling (a 200-byte window read as 2 bytes) and the transfer stalled.
#[test]
fn syn_cookie_from_a_server_without_timestamps_agrees_on_window_scaling_and_sack() {
    use std::net::SocketAddr;
    use tcp_core::endpoint::SynCookies;
    use tcp_core::{Endpoint, EndpointConfig};
    use tcp_tests::ep_pair::{CLIENT_IP, EpPair, SERVER_IP};

    let client = EndpointConfig::with_secret([1; 16]);
    let server = {
        let mut ep_config = EndpointConfig::with_secret([2; 16]);
        ep_config.syncookies = SynCookies::Always;
        ep_config
    };
    let mut p = EpPair::new(
        Config::default(),
        client,
        server.clone(),
        Duration::from_millis(5),
    );
    p.server = Endpoint::new(
        {
            let mut config: Config = Config::default();
            config.timestamps = false;
            config
        },
        server,
    );
    let addr = SocketAddr::new(SERVER_IP, 80);
    let l = p.server.listen(addr, 16).unwrap();
    let now = p.now;
    let c = p.client.connect(now, CLIENT_IP, addr).unwrap();
    p.run_for(Duration::from_secs(1));
    let s = p
        .server
        .accept(l)
        .unwrap()
        .expect("a connection from the cookie");
    let ci = p.client.connection(c).unwrap().info();
    let si = p.server.connection(s).unwrap().info();
    assert_eq!(
        (ci.snd_wscale, ci.rcv_wscale, ci.sack),
        (si.rcv_wscale, si.snd_wscale, si.sack),
        "client (snd_wscale, rcv_wscale, sack) vs server (rcv_wscale, snd_wscale, sack)"
    );
}

/// An established connection without options (so MSS 536) whose peer, ISN 5000, offered
/// `window` bytes in its SYN-ACK; returns it and our ISN.
fn established_without_options(now: Instant, window: u16) -> (Connection, SeqNum) {
    let cfg = {
        let mut config: Config = Config::default();
        config.sack = false;
        config.timestamps = false;
        config.window_scaling = false;
        config
    };
    let iss = SeqNum::new(1000);
    let mut c = Connection::connect(Arc::new(cfg), now, LPORT, RPORT, iss, 0);
    drain(&mut c, now);
    let syn_ack = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(5000),
        ack: iss + 1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window,
        ..TcpHeader::default()
    };
    c.handle_segment(now, &syn_ack, Bytes::new());
    drain(&mut c, now);
    assert_eq!(c.state(), State::Established);
    (c, iss)
}

/// Found by `pair` (30-minute run): the NewReno fast retransmit (no SACK) re-sent a full
/// segment from SND.UNA, `len = data_end.since(seq).min(smss)` in `poll_transmit`
/// (tcp-core/src/conn/output.rs): with 200 bytes in flight in the peer's 200-byte window
/// and more data queued, the "retransmission" carried 1,208 bytes, 1,008 of them never sent
/// and beyond the peer's window. The peer dropped what it could not take, and SND.MAX now
/// lay beyond its window, so every pure ACK from us was out of window for it; it answered
/// each with an ACK that was out of window for us (our own data sat unaccepted), and the
/// two ACKed each other at one instant for ever. A fast retransmit re-sends what was sent,
/// cut to the window (RFC 5681 §3.2 step 4 "retransmit the lost segment"; Linux
/// retransmits the head skb, cut by `__tcp_retransmit_skb`).
#[test]
fn newreno_fast_retransmit_resends_only_data_that_was_sent_and_fits_the_window() {
    let now = Instant::from_secs(1);
    let (mut c, iss) = established_without_options(now, 200);
    let dup_ack = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(5001),
        ack: iss + 1,
        flags: TcpFlags::ACK,
        window: 200,
        ..TcpHeader::default()
    };
    assert_eq!(c.write(now, &[7u8; 5000]), Ok(5000));
    let first = c.poll_transmit(now).expect("a data segment");
    assert_eq!(
        first.payload.len(),
        200,
        "the peer's window holds 200 bytes"
    );
    assert!(c.poll_transmit(now).is_none());
    let later = now + Duration::from_millis(50);
    for _ in 0..3 {
        c.handle_segment(later, &dup_ack, Bytes::new());
    }
    let rtx = c
        .poll_transmit(later)
        .expect("fast retransmit after three duplicate ACKs");
    assert_eq!(rtx.header.seq, iss + 1);
    assert_eq!(
        rtx.payload.len(),
        200,
        "re-sends the 200 bytes in flight, not unsent data beyond the window"
    );
    c.check_invariants().unwrap();
}

/// Found by `pair` (second 30-minute run): a pure ACK carried SND.MAX even when the peer's
/// window ended before it (`pure_ack` in tcp-core/src/conn/output.rs). Both applications
/// stopped reading with data in flight that the full receivers dropped; each side's ACKs then
/// lay beyond the other's closed window, each answered the other's with a duplicate ACK
/// (RFC 9293 §3.10.7.4), and the two ACKed each other until an application read. An ACK
/// carries the right edge of the peer's window when SND.MAX is past it (Linux's
/// `tcp_acceptable_seq`), which the peer accepts silently.
#[test]
fn pure_ack_stays_inside_the_peers_window_when_it_closed_on_data_in_flight() {
    let now = Instant::from_secs(1);
    let (mut c, iss) = established_without_options(now, 4000);
    let peer = |flags: TcpFlags, seq: u32, window: u16| TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(seq),
        ack: iss + 1,
        flags,
        window,
        ..TcpHeader::default()
    };
    assert_eq!(c.write(now, &[7u8; 1000]), Ok(1000));
    let data = c.poll_transmit(now).expect("data");
    assert_eq!(data.payload.len(), 536);
    drain(&mut c, now);
    // The peer's buffer is full: it took none of it and closes its window.
    c.handle_segment(now, &peer(TcpFlags::ACK, 5001, 0), Bytes::new());
    drain(&mut c, now);
    // Its own data then arrives and is acknowledged.
    c.handle_segment(
        now,
        &peer(TcpFlags::ACK | TcpFlags::PSH, 5001, 0),
        Bytes::from_static(b"hi"),
    );
    let ack = c.poll_transmit(now).expect("an ACK of the peer's data");
    assert_eq!(ack.header.ack, SeqNum::new(5003));
    assert_eq!(
        ack.header.seq,
        iss + 1,
        "the right edge of the peer's closed window, not SND.MAX beyond it"
    );
}

/// Found by `hostile`: an old ACK (SEG.ACK < SND.UNA) from a segment newer than the last
/// window update (SEG.SEQ > SND.WL1, the peer had sent data since) updated the send window
/// (`process_ack` in tcp-core/src/conn/input.rs checked only SND.WL1/SND.WL2), and the window
/// it carried was then counted from SND.UNA, not from its own SEG.ACK: with the peer's
/// window closed, the connection sent a kilobyte into it. RFC 9293 §3.10.7.4 updates the
/// window only "if SND.UNA =< SEG.ACK =< SND.NXT"; Linux's `tcp_ack` ignores the window of
/// an old ACK.
#[test]
fn the_window_of_an_old_ack_is_not_taken() {
    let now = Instant::from_secs(1);
    let (mut c, iss) = established_without_options(now, 4000);
    let peer = |flags: TcpFlags, seq: u32, ack: u32, window: u16| TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(seq),
        ack: iss + 1 + ack,
        flags,
        window,
        ..TcpHeader::default()
    };
    assert_eq!(c.write(now, &[7u8; 2000]), Ok(2000));
    drain(&mut c, now);
    // Everything acknowledged, and the window closes.
    c.handle_segment(now, &peer(TcpFlags::ACK, 5001, 2000, 0), Bytes::new());
    // The peer sends data of its own, still with a closed window.
    c.handle_segment(
        now,
        &peer(TcpFlags::ACK | TcpFlags::PSH, 5001, 2000, 0),
        Bytes::from_static(b"hi"),
    );
    drain(&mut c, now);
    assert_eq!(c.write(now, &[7u8; 1000]), Ok(1000));
    assert!(c.poll_transmit(now).is_none(), "the window is closed");
    // A reordered old ACK, sent after the peer's data, offers a window.
    c.handle_segment(now, &peer(TcpFlags::ACK, 5003, 536, 4000), Bytes::new());
    while let Some(s) = c.poll_transmit(now) {
        assert!(
            s.payload.is_empty(),
            "sent {} bytes into a closed window on the word of an old ACK",
            s.payload.len()
        );
    }
    assert_eq!(c.info().snd_wnd, 0);
}

/// Found by `hostile`: an ACK that advanced SND.UNA in a segment older than the last window
/// update (SEG.SEQ < SND.WL1) left the window as it was (RFC 9293's SND.WL1/SND.WL2 test in
/// `process_ack`, tcp-core/src/conn/input.rs), and that window, offered from an older
/// SEG.ACK, was then counted from the new SND.UNA: the right edge moved past anything the
/// peer had offered and the connection sent into it. Linux's `tcp_may_update_window` takes
/// the window of every ACK that advances SND.UNA.
#[test]
fn an_ack_that_advances_snd_una_brings_its_window() {
    let now = Instant::from_secs(1);
    let (mut c, iss) = established_without_options(now, 4000);
    let peer = |seq: u32, ack: u32, window: u16| TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(seq),
        ack: iss + 1 + ack,
        flags: TcpFlags::ACK,
        window,
        ..TcpHeader::default()
    };
    assert_eq!(c.write(now, &[7u8; 2000]), Ok(2000));
    drain(&mut c, now);
    // An ACK a little ahead in the peer's sequence space (acceptable: inside our window)
    // acknowledges nothing and offers 2000 bytes from SND.UNA: the right edge is 2000.
    c.handle_segment(now, &peer(5003, 0, 2000), Bytes::new());
    drain(&mut c, now);
    assert_eq!(c.write(now, &[7u8; 3000]), Ok(3000));
    assert!(c.poll_transmit(now).is_none(), "the window is full");
    // Then an ACK of three segments in an older segment, with the same right edge.
    c.handle_segment(now, &peer(5001, 1608, 392), Bytes::new());
    while let Some(s) = c.poll_transmit(now) {
        assert!(
            (s.header.seq + s.payload.len() as u32).le(iss + 1 + 2000),
            "sent [{}, +{}) past the right edge the peer offered",
            s.header.seq.since(iss + 1),
            s.payload.len()
        );
    }
}

/// Found by `pair` (with its livelock detector, December 2026): with window scaling the
/// advertised window is rounded up to the scale unit (as Linux's `__tcp_select_window`), so
/// it may reach past the memory behind it. Out-of-order data dropped for want of memory was
/// still answered with a duplicate ACK (`queue_ofo` in tcp-core/src/conn/input.rs
/// scheduled the ACK before the memory check), and a sender resending into that window at
/// one instant and this receiver ACKing each copy ping-ponged for ever. Linux schedules
/// the ACK only once the data is queued (`tcp_data_queue_ofo` after
/// `tcp_try_rmem_schedule`). Corpus entry `corpus/pair/regression-ofo-drop-answered-with-ack`.
#[test]
fn out_of_order_data_dropped_for_memory_draws_no_ack() {
    let cfg = {
        let mut config: Config = Config::default();
        config.recv_buffer = 1024;
        config.recv_buffer_fixed = true;
        config.window_scale = Some(14);
        config.sack = true;
        config.timestamps = false;
        config
    };
    let now = Instant::from_secs(1);
    let irs = SeqNum::new(5000);
    let hs = Handshake {
        local_port: LPORT,
        remote_port: RPORT,
        iss: SeqNum::new(1000),
        irs,
        peer_mss: Some(1460),
        peer_wscale: Some(7),
        sack: true,
        ts_recent: None,
        ts_offset: 0,
        peer_window: 65_535,
    };
    let mut c = Connection::from_handshake(Arc::new(cfg), now, &hs);
    drain(&mut c, now);
    let seg = |seq: SeqNum| TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq,
        ack: SeqNum::new(1001),
        flags: TcpFlags::ACK,
        window: 65_535,
        ..TcpHeader::default()
    };
    // A hole at RCV.NXT, then out-of-order data until the memory is gone: each segment
    // that is kept draws a duplicate ACK with SACK.
    let mut seq = irs + 1 + 100;
    let mut dropped_before = 0;
    for _ in 0..200 {
        c.handle_segment(now, &seg(seq), Bytes::from(vec![3u8; 100]));
        seq += 100;
        c.handle_timeout(now);
        drain(&mut c, now);
        let dropped = c.info().stats.ooo_dropped;
        if dropped > dropped_before {
            dropped_before = dropped;
            break;
        }
    }
    assert!(dropped_before > 0, "the receive memory never ran out");
    // From here every further out-of-order segment is dropped, and none draws an ACK.
    for _ in 0..10 {
        c.handle_segment(now, &seg(seq), Bytes::from(vec![3u8; 100]));
        seq += 100;
        // Whatever the ACK timers say (a compressed SACK is due at once without an RTT
        // estimate).
        c.handle_timeout(now);
        assert!(
            c.poll_transmit(now).is_none(),
            "an ACK answered out-of-order data that was dropped"
        );
    }
    assert!(c.info().stats.ooo_dropped >= dropped_before + 1000);
}

/// Found by `pair` (its livelock detector, right after the fix above): out-of-order data
/// refused because the out-of-order piece limit (`Config::max_ooo_segments`) was reached
/// still drew an ACK (`queue_ofo` in tcp-core/src/conn/input.rs scheduled it before the
/// insert), and a sender resending into the window at one instant ping-ponged with it. A
/// segment refused by the piece limit is dropped like one refused for want of memory: no
/// ACK. Corpus entry `corpus/pair/regression-ofo-piece-limit-answered-with-ack`.
#[test]
fn out_of_order_data_over_the_piece_limit_draws_no_ack() {
    let cfg = {
        let mut config: Config = Config::default();
        config.max_ooo_segments = 4;
        config.sack = true;
        config.timestamps = false;
        config
    };
    let now = Instant::from_secs(1);
    let irs = SeqNum::new(5000);
    let hs = Handshake {
        local_port: LPORT,
        remote_port: RPORT,
        iss: SeqNum::new(1000),
        irs,
        peer_mss: Some(1460),
        peer_wscale: Some(7),
        sack: true,
        ts_recent: None,
        ts_offset: 0,
        peer_window: 65_535,
    };
    let mut c = Connection::from_handshake(Arc::new(cfg), now, &hs);
    drain(&mut c, now);
    let seg = |seq: SeqNum| TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq,
        ack: SeqNum::new(1001),
        flags: TcpFlags::ACK,
        window: 65_535,
        ..TcpHeader::default()
    };
    // Separate out-of-order pieces, each with a gap before it, up to the limit.
    let mut seq = irs + 1 + 100;
    for _ in 0..4 {
        c.handle_segment(now, &seg(seq), Bytes::from(vec![3u8; 10]));
        seq += 100;
        c.handle_timeout(now);
        drain(&mut c, now);
    }
    assert_eq!(c.info().stats.ooo_dropped, 0);
    // Beyond the limit: refused, and no ACK answers them.
    for _ in 0..10 {
        c.handle_segment(now, &seg(seq), Bytes::from(vec![3u8; 10]));
        seq += 100;
        c.handle_timeout(now);
        assert!(
            c.poll_transmit(now).is_none(),
            "an ACK answered out-of-order data the piece limit refused"
        );
    }
    assert_eq!(c.info().stats.ooo_dropped, 100);
}

/// Found by `pair` (its livelock detector, 2026-12-05): on a link with no delay the clock
/// does not move, so a retransmission leaves at the same instant as the segments RACK has
/// seen delivered. RACK ordered equal send times by sequence number (RFC 8985 §6.2
/// `RACK_sent_after`), so the retransmission of the lowest segment counted as sent
/// *before* the SACKed ones and was deemed lost again by the next ACK: against a receiver
/// whose window was zero (it drops the retransmission and answers with a zero-window
/// ACK) the two exchanged 500 segments at one instant. Transmissions are now ordered by a
/// counter as well as by time (tcp-core/src/recovery/scoreboard.rs). Corpus entry
/// `corpus/pair/regression-rack-equal-send-times-zero-window`.
#[test]
fn retransmission_at_the_same_instant_is_not_deemed_lost_again() {
    use tcp_core::wire::SackBlock;
    let now = Instant::from_secs(1);
    let cfg = {
        let mut config: Config = Config::default();
        config.timestamps = false;
        config.window_scaling = false;
        config
    };
    let iss = SeqNum::new(1000);
    let mut c = Connection::connect(Arc::new(cfg), now, LPORT, RPORT, iss, 0);
    drain(&mut c, now);
    let mut syn_ack = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(5000),
        ack: iss + 1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 10_000,
        ..TcpHeader::default()
    };
    syn_ack.options.sack_permitted = true;
    c.handle_segment(now, &syn_ack, Bytes::new());
    drain(&mut c, now);
    assert_eq!(c.state(), State::Established);
    // Five 536-byte segments, all sent at `now`.
    assert_eq!(c.write(now, &[7u8; 5 * 536]), Ok(5 * 536));
    let mut sent = 0;
    while let Some(t) = c.poll_transmit(now) {
        sent += t.payload.len();
    }
    assert_eq!(sent, 5 * 536);
    // The peer got all but the first, and its window is now closed.
    let mut dup_ack = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: SeqNum::new(5001),
        ack: iss + 1,
        flags: TcpFlags::ACK,
        window: 0,
        ..TcpHeader::default()
    };
    dup_ack.options.sack_blocks.push(SackBlock {
        left: iss + 1 + 536,
        right: iss + 1 + 5 * 536,
    });
    c.handle_segment(now, &dup_ack, Bytes::new());
    let rtx = c
        .poll_transmit(now)
        .expect("the lost segment is retransmitted");
    assert_eq!(rtx.header.seq, iss + 1);
    assert!(c.poll_transmit(now).is_none());
    // The zero-window receiver drops it and repeats its ACK, at the same instant.
    for round in 0..3 {
        c.handle_segment(now, &dup_ack, Bytes::new());
        let again: Vec<_> = core::iter::from_fn(|| c.poll_transmit(now))
            .filter(|t| !t.payload.is_empty())
            .map(|t| t.header.seq)
            .collect();
        assert!(
            again.is_empty(),
            "round {round}: the retransmission sent at this instant was resent: {again:?}"
        );
    }
    c.check_invariants().unwrap();
}

/// Found by `pair` (a 7-minute run): receiver SWS avoidance could keep a one-byte window
/// for ever. In a buffer of about one segment, with no window scaling, a one-byte segment
/// moved the right edge one byte and the next 1459 bytes left a window of one byte. Once
/// the application had read everything, `raw_window` (tcp-core/src/conn/rwnd.rs, Linux's
/// `__tcp_select_window`) kept that one byte because it was "within one MSS" of the free
/// space, which `rcv_ssthresh` caps at one MSS; no window update followed the read and each
/// one-byte window probe was ACKed with a window of one byte: 32 KiB took hours. RFC 9293
/// §3.8.6.2.2 moves the edge once the window can grow by `min(RCV.BUFF / 2, MSS)`.
#[test]
fn a_one_byte_window_reopens_once_the_reader_empties_a_one_segment_buffer() {
    let cfg = {
        let mut config: Config = Config::default();
        config.recv_buffer = 4096;
        config.recv_buffer_fixed = true;
        config.window_scaling = false;
        config.timestamps = false;
        config
    };
    let mut now = Instant::from_secs(1);
    let iss = SeqNum::new(1000);
    let irs = SeqNum::new(5000);
    let mut c = Connection::connect(Arc::new(cfg), now, LPORT, RPORT, iss, 0);
    drain(&mut c, now);
    let mut syn_ack = TcpHeader {
        src_port: RPORT,
        dst_port: LPORT,
        seq: irs,
        ack: iss + 1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 65535,
        ..TcpHeader::default()
    };
    syn_ack.options.mss = Some(1460);
    c.handle_segment(now, &syn_ack, Bytes::new());
    drain(&mut c, now);
    assert_eq!(c.state(), State::Established);
    let mut buf = vec![0u8; 8192];
    let mut next = irs + 1;
    // Feeds `len` bytes at `next`, lets the delayed ACK go, then reads everything; returns
    // the last window field we sent.
    let mut deliver = |c: &mut Connection, now: &mut Instant, len: usize| -> u16 {
        let seg = TcpHeader {
            src_port: RPORT,
            dst_port: LPORT,
            seq: next,
            ack: iss + 1,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 65535,
            ..TcpHeader::default()
        };
        next += len as u32;
        c.handle_segment(*now, &seg, Bytes::from(vec![7u8; len]));
        let mut window = None;
        // The (delayed) ACK of the data, then the read and any window update it sends.
        *now += Duration::from_millis(300);
        c.handle_timeout(*now);
        for read in [false, true] {
            if read {
                let _ = c.read(*now, &mut buf);
            }
            while let Some(s) = c.poll_transmit(*now) {
                window = Some(s.header.window);
            }
            while c.poll_event().is_some() {}
        }
        window.unwrap_or_else(|| panic!("no ACK for {len} bytes"))
    };
    // One full segment sets the receive-MSS estimate to 1460.
    assert_eq!(deliver(&mut c, &mut now, 1460), 1460);
    // One byte moves the edge right by one; 1459 more leave a one-byte window (the ACK
    // leaves before the read), which the read must reopen.
    assert_eq!(deliver(&mut c, &mut now, 1), 1460);
    let after_read = deliver(&mut c, &mut now, 1459);
    assert!(
        after_read >= 1460,
        "window {after_read} after the buffer was emptied"
    );
}
