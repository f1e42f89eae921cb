//! FreeBSD's behaviour as configuration: option layout, receive window, segment rules and
//! the sysctl switches (RFC 5961 checks, drop_synfin, tolerate_missing_ts, TCP_NOOPT). The
//! numbers are those the FreeBSD tcp-testsuite expects from FreeBSD.

use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcp_core::config::{AckPolicy, OptionLayout, RecvWindowPolicy, SegmentRules};
use tcp_core::endpoint::EndpointEvent;
use tcp_core::wire::{
    OPT_MSS, OPT_NOP, OPT_SACK_PERMITTED, OPT_TIMESTAMPS, OPT_WINDOW_SCALE, TcpFlags, TcpHeader,
    TcpOption, emit_tcp_segment, options_iter,
};
use tcp_core::{
    Config, ConnError, Duration, Endpoint, EndpointConfig, Event, Instant, SeqNum, State,
};
use tcp_tests::lone::{Lone, Out, PEER_ISN, PeerOpts, syn_header};

/// The core settings of the runner's FreeBSD profile.
fn freebsd() -> Config {
    {
        let mut config: Config = Config::default();
        config.recv_buffer = 65_536;
        config.recv_buffer_max = 2_097_152;
        config.window_scale = Some(6);
        config.ack_policy = AckPolicy::Delayed {
            delay: Duration::from_millis(100),
        };
        config.option_layout = OptionLayout::Bsd;
        config.recv_window = RecvWindowPolicy::Bsd;
        config.segment_rules = SegmentRules::Bsd;
        config.invalid_ratelimit = Duration::ZERO;
        config
    }
}

/// A peer as the testsuite's scripts play it: MSS 1460 and SACK, no window scaling, no
/// timestamps.
fn plain_peer() -> PeerOpts {
    PeerOpts {
        wscale: None,
        ..PeerOpts::default()
    }
}

fn option_kinds(o: &Out) -> Vec<u8> {
    let mut buf = [0u8; 40];
    let n = o.seg.header.options.emit(&mut buf).expect("options fit");
    options_iter(&buf[..n])
        .map(|r| match r.expect("valid option") {
            TcpOption::Nop => OPT_NOP,
            TcpOption::Mss(_) => OPT_MSS,
            TcpOption::WindowScale(_) => OPT_WINDOW_SCALE,
            TcpOption::SackPermitted => OPT_SACK_PERMITTED,
            TcpOption::Timestamps(_) => OPT_TIMESTAMPS,
            other => panic!("unexpected option {other:?}"),
        })
        .collect()
}

fn rst(l: &mut Lone, seq: u32) -> Vec<Out> {
    let h = l.seg(TcpFlags::RST, seq, 0);
    l.input(h, Bytes::new())
}

#[test]
fn the_syn_offers_65535_unscaled_with_freebsd_option_order() {
    let l = Lone::client(freebsd());
    let syn = &l.out[0];
    assert_eq!(syn.window(), 65_535);
    assert_eq!(
        option_kinds(syn),
        [
            OPT_MSS,
            OPT_NOP,
            OPT_WINDOW_SCALE,
            OPT_SACK_PERMITTED,
            OPT_TIMESTAMPS
        ]
    );
    assert_eq!(syn.seg.header.options.window_scale, Some(6));
    // Linux's defaults are untouched: the same SYN in Linux's order and window.
    let linux = Lone::client(Config::default());
    assert_eq!(linux.out[0].window(), 64_240);
    assert_eq!(
        option_kinds(&linux.out[0]),
        [
            OPT_MSS,
            OPT_SACK_PERMITTED,
            OPT_TIMESTAMPS,
            OPT_NOP,
            OPT_WINDOW_SCALE
        ]
    );
}

#[test]
fn the_buffer_rounds_up_to_whole_segments_and_arrivals_are_checked_against_it() {
    let mut l = Lone::established_with(freebsd(), plain_peer());
    assert_eq!(l.c.info().rcvbuf, 65_700);
    // RCV.NXT is 1: 65700 is the last sequence number inside the buffer's free space,
    // although only 65535 were advertised.
    let ans = rst(&mut l, 65_700);
    assert_eq!(ans.len(), 1, "{ans:?}");
    assert!(ans[0].is_pure_ack());
    assert_eq!(l.c.state(), State::Established);
    assert!(rst(&mut l, 65_701).is_empty());
    assert_eq!(l.c.state(), State::Established);
}

#[test]
fn the_window_is_the_free_space_and_a_small_read_sends_no_update() {
    let mut l = Lone::established_with(freebsd(), plain_peer());
    // The first segment waits for the delayed-ACK timer (100 ms).
    assert!(l.data(1, 1, 1000).is_empty());
    let ack = l.fire();
    assert_eq!(ack.len(), 1);
    assert_eq!((ack[0].ack(), ack[0].window()), (1001, 64_700));
    // Reading 1000 bytes would grow the window by less than two segments: no update.
    let (data, _) = l.read_all();
    assert_eq!(data.len(), 1000);
    assert!(l.flush().is_empty());
}

#[test]
fn the_peers_fin_is_acknowledged_at_once() {
    let mut l = Lone::established_with(freebsd(), plain_peer());
    let h = l.seg(TcpFlags::FIN | TcpFlags::ACK, 1, 1);
    let ans = l.input(h, Bytes::new());
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].ack(), 2);
    assert_eq!(l.c.state(), State::CloseWait);
}

#[test]
fn with_rfc5961_off_any_rst_in_the_window_resets() {
    let cfg = {
        let mut config: Config = freebsd();
        config.rst_challenge = false;
        config
    };
    let mut l = Lone::established_with(cfg, plain_peer());
    assert!(rst(&mut l, 100).is_empty());
    assert_eq!(l.c.state(), State::Closed);
    assert_eq!(l.c.error(), Some(ConnError::Reset));
}

#[test]
fn with_rfc5961_off_a_syn_in_the_window_resets_with_a_rst() {
    let cfg = {
        let mut config: Config = freebsd();
        config.syn_challenge = false;
        config
    };
    let mut l = Lone::established_with(cfg, plain_peer());
    let h = l.seg(TcpFlags::SYN, 100, 0);
    let ans = l.input(h, Bytes::new());
    assert_eq!(ans.len(), 1);
    assert!(ans[0].has(TcpFlags::RST | TcpFlags::ACK));
    assert_eq!((ans[0].seq(), ans[0].ack(), ans[0].window()), (1, 1, 0));
    assert_eq!(l.c.error(), Some(ConnError::Reset));
    // With the check on, the same SYN draws a challenge ACK.
    let mut l = Lone::established_with(freebsd(), plain_peer());
    let h = l.seg(TcpFlags::SYN, 100, 0);
    let ans = l.input(h, Bytes::new());
    assert!(ans.len() == 1 && ans[0].is_pure_ack());
    assert_eq!(l.c.state(), State::Established);
}

#[test]
fn in_closing_acks_repeat_our_fin_but_challenge_acks_do_not() {
    let mut l = Lone::established_with(freebsd(), plain_peer());
    l.c.shutdown().expect("shutdown");
    let fin = l.flush();
    assert!(fin.len() == 1 && fin[0].has(TcpFlags::FIN));
    let h = l.seg(TcpFlags::FIN | TcpFlags::ACK, 1, 1);
    let ans = l.input(h, Bytes::new());
    assert_eq!(l.c.state(), State::Closing);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].has(TcpFlags::FIN | TcpFlags::ACK));
    assert_eq!((ans[0].seq(), ans[0].ack()), (1, 2));
    let ans = rst(&mut l, 100);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (2, 2));
    // An exact RST resets and the application hears of it.
    assert!(rst(&mut l, 2).is_empty());
    assert_eq!(l.c.error(), Some(ConnError::Reset));
}

#[test]
fn time_wait_answers_anything_but_a_bare_ack_and_ignores_rsts() {
    let mut l = Lone::established_with(freebsd(), plain_peer());
    l.c.shutdown().expect("shutdown");
    l.flush();
    l.ack(1, 2);
    assert_eq!(l.c.state(), State::FinWait2);
    let h = l.seg(TcpFlags::FIN | TcpFlags::ACK, 1, 2);
    assert_eq!(l.input(h, Bytes::new()).len(), 1);
    assert_eq!(l.c.state(), State::TimeWait);
    // A bare ACK at RCV.NXT for SND.NXT: nothing.
    assert!(l.ack(2, 2).is_empty());
    // An ACK of something else: answered.
    let ans = l.ack(2, 1);
    assert!(ans.len() == 1 && ans[0].is_pure_ack());
    // RSTs and SYNs at or below RCV.NXT: dropped silently.
    assert!(rst(&mut l, 2).is_empty());
    let h = l.seg(TcpFlags::SYN, 1, 0);
    assert!(l.input(h, Bytes::new()).is_empty());
    assert_eq!(l.c.state(), State::TimeWait);
    // A SYN above RCV.NXT is for a listener.
    let h = l.seg(TcpFlags::SYN, 100, 0);
    assert!(l.c.yields_to_syn(&h));
    let h = l.seg(TcpFlags::SYN | TcpFlags::ACK, 100, 0);
    assert!(!l.c.yields_to_syn(&h));
}

#[test]
fn an_overlapping_segment_is_reported_as_dsack_before_its_block() {
    let mut l = Lone::established_with(freebsd(), plain_peer());
    assert_eq!(l.data(200, 1, 100)[0].sacks(), [(200, 300)]);
    assert_eq!(l.data(400, 1, 100)[0].sacks(), [(400, 500), (200, 300)]);
    assert_eq!(
        l.data(200, 1, 150)[0].sacks(),
        [(200, 300), (200, 350), (400, 500)]
    );
    // In-order data reaching into a block: the overlap, then the blocks left.
    let ans = l.data(1, 1, 274);
    assert_eq!(
        (ans[0].ack(), ans[0].sacks()),
        (350, vec![(200, 275), (400, 500)])
    );
    // The D-SACK was reported once.
    let ans = l.data(600, 1, 10);
    assert_eq!(ans[0].sacks(), [(600, 610), (400, 500)]);
}

#[test]
fn with_missing_timestamps_not_tolerated_a_segment_without_one_is_dropped() {
    let cfg = {
        let mut config: Config = freebsd();
        config.require_timestamps = true;
        config
    };
    let o = PeerOpts {
        ts: Some(500),
        ..plain_peer()
    };
    let mut l = Lone::established_with(cfg, o);
    let mut h = l.seg(TcpFlags::ACK | TcpFlags::PSH, 1, 1);
    h.options.timestamps = None;
    assert!(l.input(h, Bytes::from_static(b"abc")).is_empty());
    assert_eq!(l.c.recv_available(), 0);
    // A RST without a timestamp still counts.
    let h = l.seg(TcpFlags::RST, 1, 0);
    let mut h2 = h;
    h2.options.timestamps = None;
    l.input(h2, Bytes::new());
    assert_eq!(l.c.state(), State::Closed);
}

#[test]
fn with_drop_synfin_a_syn_fin_is_dropped_unanswered() {
    let cfg = {
        let mut config: Config = freebsd();
        config.drop_synfin = true;
        config
    };
    let mut l = Lone::client(cfg);
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::FIN,
        PEER_ISN,
        SeqNum::new(0),
        plain_peer(),
    );
    assert!(l.input(h, Bytes::new()).is_empty());
    assert_eq!(l.c.state(), State::SynSent);
}

#[test]
fn with_no_options_the_syn_carries_none_and_the_peers_are_ignored_but_its_mss() {
    let cfg = {
        let mut config: Config = freebsd();
        config.no_options = true;
        config
    };
    let mut l = Lone::client(cfg);
    assert_eq!(l.out[0].seg.header.options.encoded_len(), 0);
    let o = PeerOpts {
        mss: Some(1000),
        wscale: Some(7),
        ts: Some(1),
        ..PeerOpts::default()
    };
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::ACK,
        PEER_ISN,
        tcp_tests::lone::LOCAL_ISS + 1,
        o,
    );
    l.input(h, Bytes::new());
    let i = l.c.info();
    assert!(!i.timestamps && !i.sack && !i.window_scaling);
    assert_eq!(i.snd_mss, 1000);
}

#[test]
fn data_on_a_syn_crossing_ours_is_delivered_once_the_handshake_completes() {
    let mut l = Lone::client(freebsd());
    let h = syn_header(
        TcpFlags::SYN | TcpFlags::FIN,
        PEER_ISN,
        SeqNum::new(0),
        plain_peer(),
    );
    let ans = l.input(h, Bytes::from_static(b"abc"));
    // The SYN-ACK acknowledges the SYN only.
    assert_eq!(ans.len(), 1);
    assert!(ans[0].has(TcpFlags::SYN | TcpFlags::ACK));
    assert_eq!(ans[0].ack(), 1);
    assert_eq!(l.c.recv_available(), 0);
    // The peer's ACK (after its data) completes the handshake: the data is readable, the
    // FIN was not taken.
    l.ack(4, 1);
    assert_eq!(l.c.state(), State::Established);
    let (data, eof) = l.read_all();
    assert_eq!((data.as_slice(), eof), (&b"abc"[..], false));
}

// ---- the endpoint ----

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));

fn inject(ep: &mut Endpoint, now: Instant, h: TcpHeader) {
    let mut buf = vec![0u8; 60];
    let n = emit_tcp_segment(&h, &[], CLIENT, SERVER, &mut buf).expect("emit");
    buf.truncate(n);
    ep.handle_segment(now, CLIENT, SERVER, Bytes::from(buf))
        .expect("valid");
}

fn hdr(flags: TcpFlags, seq: u32, ack: SeqNum) -> TcpHeader {
    TcpHeader {
        src_port: 4444,
        dst_port: 8080,
        seq: SeqNum::new(seq),
        ack,
        flags,
        window: 32_767,
        urgent: 0,
        options: Default::default(),
    }
}

fn sent(ep: &mut Endpoint, now: Instant) -> Vec<TcpHeader> {
    let mut v = Vec::new();
    while let Some(t) = ep.poll_transmit(now) {
        v.push(t.segment.header);
    }
    v
}

#[test]
fn a_listener_drops_a_syn_ack_and_a_half_open_entry_challenges_an_inexact_rst() {
    let mut ep = Endpoint::new(freebsd(), EndpointConfig::with_secret([5; 16]));
    let now = Instant::from_secs(1);
    ep.listen(SocketAddr::new(SERVER, 8080), 4).expect("listen");
    inject(
        &mut ep,
        now,
        hdr(TcpFlags::SYN | TcpFlags::ACK, 17, SeqNum::new(34)),
    );
    assert!(sent(&mut ep, now).is_empty());
    inject(&mut ep, now, hdr(TcpFlags::SYN, 1000, SeqNum::new(0)));
    let synack = sent(&mut ep, now);
    assert_eq!(synack.len(), 1);
    let iss = synack[0].seq;
    // RST at the right edge of the SYN-ACK's window (65535): a challenge ACK.
    inject(
        &mut ep,
        now,
        hdr(TcpFlags::RST, 1001 + 65_534, SeqNum::new(0)),
    );
    let ans = sent(&mut ep, now);
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].flags, TcpFlags::ACK);
    assert_eq!((ans[0].seq, ans[0].ack), (iss + 1, SeqNum::new(1001)));
    // The exact RST removes the entry: the final ACK then draws a RST.
    inject(&mut ep, now, hdr(TcpFlags::RST, 1001, SeqNum::new(0)));
    inject(&mut ep, now, hdr(TcpFlags::ACK, 1001, iss + 1));
    let ans = sent(&mut ep, now);
    assert!(ans.len() == 1 && ans[0].flags == TcpFlags::RST);
}

#[test]
fn a_syn_above_rcv_nxt_takes_the_tuple_from_time_wait_while_the_socket_is_open() {
    let mut ep = Endpoint::new(freebsd(), EndpointConfig::with_secret([5; 16]));
    let now = Instant::from_secs(1);
    let l = ep.listen(SocketAddr::new(SERVER, 8080), 4).expect("listen");
    inject(&mut ep, now, hdr(TcpFlags::SYN, 1000, SeqNum::new(0)));
    let iss = sent(&mut ep, now)[0].seq;
    inject(&mut ep, now, hdr(TcpFlags::ACK, 1001, iss + 1));
    let h = ep.accept(l).expect("listener").expect("a connection");
    ep.shutdown(now, h).expect("shutdown");
    sent(&mut ep, now);
    inject(
        &mut ep,
        now,
        hdr(TcpFlags::FIN | TcpFlags::ACK, 1001, iss + 2),
    );
    sent(&mut ep, now);
    assert_eq!(ep.connection(h).expect("open").state(), State::TimeWait);
    inject(&mut ep, now, hdr(TcpFlags::SYN, 70_000, SeqNum::new(0)));
    let ans = sent(&mut ep, now);
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(ans[0].ack, SeqNum::new(70_001));
    // The old connection is closed but still the application's.
    assert_eq!(ep.connection(h).expect("open").state(), State::Closed);
    while let Some(ev) = ep.poll_event() {
        if let EndpointEvent::Conn(c, e) = ev {
            assert!(c != h || e != Event::Error(ConnError::Reset));
        }
    }
    // The new handshake completes on the same 4-tuple; closing the old handle then does
    // not disturb it.
    let iss2 = ans[0].seq;
    inject(&mut ep, now, hdr(TcpFlags::ACK, 70_001, iss2 + 1));
    let h2 = ep.accept(l).expect("listener").expect("the new connection");
    ep.close(now, h).expect("old handle");
    assert_eq!(ep.connection(h2).expect("new").state(), State::Established);
    inject(
        &mut ep,
        now,
        hdr(TcpFlags::FIN | TcpFlags::ACK, 70_001, iss2 + 1),
    );
    assert_eq!(ep.connection(h2).expect("new").state(), State::CloseWait);
}
