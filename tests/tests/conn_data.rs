//! Send and receive paths: segmentation, Nagle, PSH, flow control, reassembly, window
//! edges and SACK blocks (RFC 9293 §3.7-3.8, RFC 2018 §4). The ACK policy and the window's
//! right edge are checked against Linux by the scripts under `tests/scripts/ack/` and
//! `tests/scripts/data/`.

use bytes::Bytes;
use tcp_core::wire::TcpFlags;
use tcp_core::{Config, Duration, Event, WriteError};
use tcp_tests::lone::{Lone, PeerOpts, pattern};

/// A receive buffer the application fixed (like `SO_RCVBUF` 16 KiB: 32 KiB of memory, no
/// auto-tuning, so no window scaling is needed for it).
fn fixed_buffer() -> Config {
    {
        let mut config: Config = Config::default();
        config.recv_buffer = 32_768;
        config.recv_buffer_max = 32_768;
        config.recv_buffer_fixed = true;
        config
    }
}

fn nodelay() -> Config {
    {
        let mut config: Config = Config::default();
        config.nodelay = true;
        config
    }
}

/// Segmentation to the MSS: a peer MSS of 1000 without timestamps gives 1000-byte segments.
#[test]
fn segments_are_cut_to_the_peer_mss() {
    let mut l = Lone::established_with(
        nodelay(),
        PeerOpts {
            mss: Some(1000),
            ..PeerOpts::default()
        },
    );
    let out = l.write(3500);
    let lens: Vec<usize> = out.iter().map(|o| o.len()).collect();
    assert_eq!(lens, [1000, 1000, 1000, 500]);
    let seqs: Vec<u32> = out.iter().map(|o| o.seq()).collect();
    assert_eq!(seqs, [1, 1001, 2001, 3001]);
}

/// Segmentation to the MSS minus option bytes: with timestamps (12 bytes) each full
/// segment carries MSS − 12 bytes of data.
#[test]
fn segments_are_cut_to_mss_minus_timestamp_option() {
    let mut l = Lone::established_with(
        nodelay(),
        PeerOpts {
            mss: Some(1000),
            ts: Some(5000),
            ..PeerOpts::default()
        },
    );
    let out = l.write(2000);
    let lens: Vec<usize> = out.iter().map(|o| o.len()).collect();
    assert_eq!(lens, [988, 988, 24]);
    for o in &out {
        assert!(o.seg.header.options.timestamps.is_some());
    }
}

/// PSH is set on the segment that empties the send buffer, and only there.
#[test]
fn psh_on_the_segment_that_empties_the_buffer() {
    let mut l = Lone::established(nodelay());
    let out = l.write(4000);
    let psh: Vec<bool> = out.iter().map(|o| o.has(TcpFlags::PSH)).collect();
    assert_eq!(psh, [false, false, true]);
    assert_eq!(out[2].len(), 4000 - 2 * 1460);
}

/// Nagle (RFC 9293 §3.7.4): a second small segment waits while the first is unacknowledged;
/// the ACK releases it.
#[test]
fn nagle_holds_small_segments_until_ack() {
    let mut l = Lone::established(Config::default());
    let a = l.write(100);
    assert_eq!(a.len(), 1);
    let b = l.write(100);
    assert!(b.is_empty(), "Nagle holds the second small segment: {b:?}");
    let c = l.write(100);
    assert!(c.is_empty());
    let ans = l.ack(1, 101);
    assert_eq!(ans.len(), 1);
    assert_eq!((ans[0].seq(), ans[0].len()), (101, 200), "coalesced");
}

/// Nagle never holds back a full-sized segment.
#[test]
fn nagle_sends_full_segments() {
    let mut l = Lone::established(Config::default());
    l.write(100);
    let out = l.write(3000);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|o| o.len() == 1460));
}

/// With Nagle off (TCP_NODELAY) small segments go at once.
#[test]
fn nodelay_sends_small_segments_at_once() {
    let mut l = Lone::established(Config::default());
    l.c.set_nodelay(true);
    assert_eq!(l.write(100).len(), 1);
    assert_eq!(l.write(100).len(), 1);
    let out = l.write(100);
    assert_eq!((out[0].seq(), out[0].len()), (201, 100));
}

/// RFC 6928: the initial window is 10 segments.
#[test]
fn initial_window_is_ten_segments() {
    let mut l = Lone::established(Config::default());
    let out = l.write(100_000);
    assert_eq!(out.len(), 10);
    assert!(out.iter().all(|o| o.len() == 1460));
    assert_eq!(l.c.info().cwnd, 14_600);
}

/// Slow start (RFC 5681 §3.1): each ACK of a full segment adds one segment to cwnd, so
/// acknowledging the first 10 releases 20 more.
#[test]
fn slow_start_doubles_per_round_trip() {
    let mut l = Lone::established(Config::default());
    l.write(200_000);
    let mut sent = 0;
    for i in 1..=10u32 {
        sent += l.ack(1, 1 + i * 1460).len();
    }
    assert_eq!(sent, 20);
}

/// Flow control: never send beyond SND.UNA + the peer's window scaled by its shift.
#[test]
fn flow_control_by_the_peers_scaled_window() {
    let mut l = Lone::established(nodelay());
    // The peer (wscale 7) advertises 40 units = 5120 bytes.
    l.peer_window = 40;
    l.ack(1, 1);
    let out = l.write(20_000);
    let end = out.iter().map(|o| o.seq() + o.len() as u32).max().unwrap();
    assert!(end <= 1 + 5120, "sent up to {end}, window ends at 5121");
    assert!(end > 1 + 5120 - 1460, "the window is used: {end}");
    // Opening the window releases more, again within it.
    l.peer_window = 80;
    let out = l.ack(1, end);
    let end2 = out.iter().map(|o| o.seq() + o.len() as u32).max().unwrap();
    assert!(end2 <= end + 10240 && end2 > end);
}

/// Window updates follow RFC 9293 §3.10.7.4: an older segment (SND.WL1/WL2) does not shrink
/// the window.
#[test]
fn old_segment_does_not_update_the_window() {
    let mut l = Lone::established(nodelay());
    l.data(1, 1, 10); // SND.WL1 moves to seq 1
    l.peer_window = 0;
    // An old duplicate from before (seq 0 < WL1) claiming a zero window.
    l.ack(0, 1);
    assert!(l.c.info().snd_wnd > 0);
}

/// Data with an out-of-order segment and its SACK-compression delay (Linux's
/// tcp_comp_sack: at most 1 ms): what the connection sent for it.
fn data_and_compressed_ack(l: &mut Lone, seq: u32, len: usize) -> Vec<tcp_tests::lone::Out> {
    let mut out = l.data(seq, 1, len);
    out.extend(l.advance(Duration::from_millis(1)));
    out
}

/// Out-of-order segments with many holes are kept and reassembled; each is acknowledged
/// (at once, or within the SACK-compression delay) with ack = RCV.NXT, a duplicate ACK.
#[test]
fn out_of_order_reassembly_with_many_holes() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.recv_buffer = 4 << 20;
        config
    });
    let seg = 100u32;
    let n = 200u32;
    // Odd segments first, newest last.
    for i in (1..n).step_by(2) {
        let ans = data_and_compressed_ack(&mut l, 1 + i * seg, seg as usize);
        assert_eq!(ans.len(), 1, "an ACK for out-of-order data");
        assert_eq!(ans[0].ack(), 1);
    }
    assert_eq!(l.c.recv_available(), 0);
    // Even segments fill the gaps, in reverse.
    for i in (0..n).step_by(2).rev() {
        let ans = data_and_compressed_ack(&mut l, 1 + i * seg, seg as usize);
        assert_eq!(ans.len(), 1, "an ACK for a gap fill");
    }
    assert_eq!(l.c.rcv_nxt().since(tcp_tests::lone::PEER_ISN), 1 + n * seg);
    let (got, _) = l.read_all();
    assert_eq!(got, pattern(1, (n * seg) as usize));
    assert_eq!(l.out.last().unwrap().ack(), 1 + n * seg);
}

/// Overlapping and duplicate data: delivered once, in order.
#[test]
fn overlapping_and_duplicate_segments() {
    let mut l = Lone::established(Config::default());
    l.data(1, 1, 100);
    l.data(51, 1, 100); // overlaps 51..101, new 101..151
    l.data(1, 1, 150); // all old
    l.data(201, 1, 50); // out of order
    l.data(141, 1, 80); // fills 151..201 and overlaps both sides
    let (got, _) = l.read_all();
    assert_eq!(got, pattern(1, 250));
    assert_eq!(l.c.rcv_nxt().since(tcp_tests::lone::PEER_ISN), 251);
}

/// A segment entirely beyond the advertised window is dropped and answered with an ACK
/// (RFC 9293 §3.10.7.4 "first").
#[test]
fn data_beyond_the_window_is_dropped_and_acked() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.recv_buffer = 8192;
        config
    });
    // Make sure a window was advertised (the handshake ACK did).
    let wnd = l.c.info().rcv_wnd;
    assert!(wnd > 0 && wnd <= 8192 + 128, "{wnd}");
    let ans = l.data(1 + wnd + 10, 1, 100);
    assert_eq!(ans.len(), 1);
    assert!(ans[0].is_pure_ack());
    assert_eq!((ans[0].seq(), ans[0].ack()), (1, 1));
    assert_eq!(l.c.info().ooo_bytes, 0);
    assert_eq!(l.c.stats().out_of_window, 1);
}

/// RFC 2018 §4: SACK blocks, the block holding the newest segment first, up to 4 without
/// timestamps.
#[test]
fn sack_blocks_newest_first_max_four_without_timestamps() {
    let mut l = Lone::established(Config::default());
    for k in [1u32, 3, 5, 7, 9] {
        data_and_compressed_ack(&mut l, 1 + k * 100, 100);
    }
    let last = l.out.last().unwrap();
    assert_eq!(last.ack(), 1);
    assert_eq!(
        last.sacks(),
        [(901, 1001), (701, 801), (501, 601), (301, 401)]
    );
    // A segment extending an older block moves that block to the front.
    // 401..501 joins 301..401 and 501..601 into one block, reported first.
    let out = data_and_compressed_ack(&mut l, 401, 100);
    assert_eq!(out[0].sacks(), [(301, 601), (901, 1001), (701, 801)]);
}

/// With timestamps, at most 3 SACK blocks fit next to them.
#[test]
fn sack_blocks_max_three_with_timestamps() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            ts: Some(100),
            ..PeerOpts::default()
        },
    );
    for k in [1u32, 3, 5, 7, 9] {
        data_and_compressed_ack(&mut l, 1 + k * 100, 100);
    }
    let last = l.out.last().unwrap();
    assert_eq!(last.sacks(), [(901, 1001), (701, 801), (501, 601)]);
    assert!(last.seg.header.options.timestamps.is_some());
}

/// Without SACK-permitted from the peer, no SACK blocks.
#[test]
fn no_sack_blocks_without_sack_permitted() {
    let mut l = Lone::established_with(
        Config::default(),
        PeerOpts {
            sack: false,
            ..PeerOpts::default()
        },
    );
    let out = l.data(501, 1, 100);
    assert!(out[0].sacks().is_empty());
}

/// While SACK blocks ride on data segments, the data shrinks to keep the segment within
/// the MSS.
#[test]
fn data_segment_shrinks_for_sack_blocks() {
    let mut l = Lone::established(nodelay());
    l.data(501, 1, 100); // a hole: our segments carry one SACK block (4 + 8 bytes)
    let out = l.write(3000);
    assert!(!out[0].sacks().is_empty());
    assert_eq!(out[0].len(), 1460 - 12);
}

/// A full send buffer makes write return WouldBlock; an ACK that frees space reports
/// Writable.
#[test]
fn full_send_buffer_then_writable() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.send_buffer = 4000;
        config.nodelay = true;
        config
    });
    let n = l.c.write(l.now, &[1u8; 10_000]).unwrap();
    assert_eq!(n, 4000);
    assert_eq!(l.c.write(l.now, b"x"), Err(WriteError::WouldBlock));
    l.flush();
    l.events.clear();
    l.ack(1, 1461);
    assert!(l.events.contains(&Event::Writable));
    assert_eq!(l.c.send_space(), 1460);
}

/// Zero-copy write: owned bytes go out as slices of the application's buffer.
#[test]
fn write_bytes_is_sent_unchanged() {
    let mut l = Lone::established(nodelay());
    let data = Bytes::from(pattern(0, 3000));
    assert_eq!(l.c.write_bytes(l.now, data.clone()), Ok(3000));
    let out = l.flush();
    let mut all = Vec::new();
    for o in &out {
        all.extend_from_slice(&o.seg.payload);
    }
    assert_eq!(all, data);
}

/// Receiver SWS avoidance and window updates: after the application reads a full buffer
/// the window reopens with an immediate update.
#[test]
fn window_update_after_reading_a_full_buffer() {
    let mut l = Lone::established(fixed_buffer());
    let mut seq = 1;
    let mut rounds = 0;
    loop {
        l.advance(Duration::from_millis(40));
        let wnd = l.c.info().rcv_wnd;
        if wnd == 0 {
            break;
        }
        let len = wnd.min(1460);
        l.data(seq, 1, len as usize);
        seq += len;
        rounds += 1;
        assert!(rounds < 100);
    }
    let last = l.out.last().unwrap().clone();
    assert_eq!(last.ack(), seq);
    assert_eq!(last.window(), 0, "the window is full");
    let (got, _) = l.read_all();
    assert_eq!(got.len() as u32, seq - 1);
    // Linux offers about half of its memory as window, less the buffers' overhead.
    assert!(seq > 16384 / 2, "most of the buffer was offered: {seq}");
    let out = l.flush();
    assert_eq!(out.len(), 1, "a window update after the read");
    assert!(out[0].window() > 0);
    assert_eq!(out[0].ack(), seq);
}

/// Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): after a zero window, reading a few bytes
/// does not reopen the window; reading enough (min(buffer/2, MSS)) does, with an update.
#[test]
fn receiver_sws_avoidance() {
    let mut l = Lone::established(fixed_buffer());
    let mut seq = 1;
    loop {
        l.advance(Duration::from_millis(40));
        let wnd = l.c.info().rcv_wnd;
        if wnd == 0 {
            break;
        }
        let len = wnd.min(1460);
        l.data(seq, 1, len as usize);
        seq += len;
    }
    assert_eq!(l.c.read(l.now, &mut [0u8; 100]), Ok(100));
    assert!(l.flush().is_empty(), "no update for 100 bytes");
    // A zero-window probe from the peer is answered: still a zero window.
    let ans = l.ack(seq - 1, 1);
    assert_eq!(ans.len(), 1);
    assert_eq!(ans[0].window(), 0, "100 free bytes are not offered");
    let mut buf = vec![0u8; 8192];
    assert_eq!(l.c.read(l.now, &mut buf), Ok(8192));
    let out = l.flush();
    assert_eq!(out.len(), 1, "window update");
    // Without window scaling Linux offers whole segments of the receive MSS.
    let w = u32::from(out[0].window());
    assert!(w >= 5 * 1460 && w % 1460 == 0, "{w}");
}

/// The advertised right edge (ACK + scaled window) never moves left by a scale unit or
/// more, whatever mix of arrivals and reads (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4).
#[test]
fn advertised_right_edge_never_recedes() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.recv_buffer = 20_000;
        config
    });
    let mut seq = 1u32;
    let mut rng = 12345u64;
    let mut max_edge = 0u32;
    for _ in 0..2000 {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (rng >> 33) as u32;
        let wnd = l.c.info().rcv_wnd;
        if !r.is_multiple_of(3) && wnd > 0 {
            let len = (r % 1460 + 1).min(wnd);
            l.data(seq, 1, len as usize);
            seq += len;
        } else {
            let mut buf = vec![0u8; (r % 5000) as usize];
            let _ = l.c.read(l.now, &mut buf);
        }
        l.advance(Duration::from_millis(r as u64 % 50));
        for o in &l.out {
            let edge = o.ack() + (u32::from(o.window()) << 7);
            assert!(edge + 128 > max_edge, "edge {edge} < {max_edge}");
            max_edge = max_edge.max(edge);
        }
        l.out.clear();
    }
}

/// When the peer's window closes with data still to send, the persist timer takes over.
#[test]
fn window_closing_with_data_waiting_starts_probing() {
    let mut l = Lone::established(Config::default());
    l.write(30_000);
    l.peer_window = 0;
    let out = l.ack(1, 14_601);
    assert!(out.is_empty(), "{out:?}");
    let probe = l.fire();
    assert_eq!(probe.len(), 1);
    assert!(
        probe[0].seq() == 14_600 || probe[0].seq() == 14_601,
        "{probe:?}"
    );
    assert!(probe[0].len() <= 1);
}

/// RFC 6928: the initial window is 10 segments of the negotiated MSS, also when the peer's
/// MSS is small (min(10·MSS, max(2·MSS, 14600)) = 10·MSS for MSS ≤ 1460).
#[test]
fn initial_window_is_ten_segments_of_a_small_mss() {
    for mss in [536u16, 1000] {
        let mut l = Lone::established_with(
            Config::default(),
            PeerOpts {
                mss: Some(mss),
                ..PeerOpts::default()
            },
        );
        let out = l.write(100_000);
        assert_eq!(out.len(), 10, "MSS {mss}");
        assert!(out.iter().all(|o| o.len() == mss as usize));
        assert_eq!(l.c.info().cwnd, 10 * u32::from(mss));
    }
}

/// With a zero receive window, a data segment at RCV.NXT is dropped whole, ACK field
/// included, and answered with a duplicate ACK (Linux 6.18, checked against it by
/// `tests/scripts/data/zero-window-data-segment-dropped-with-its-ack.pkt`; RFC 9293
/// §3.10.7.4 would still process the ACK). A pure ACK at RCV.NXT is still processed.
#[test]
fn zero_receive_window_drops_data_segments_with_their_ack() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.recv_buffer = 4096;
        config.nodelay = true;
        config
    });
    let mut seq = 1;
    loop {
        l.advance(Duration::from_millis(40));
        let wnd = l.c.info().rcv_wnd;
        if wnd == 0 {
            break;
        }
        let len = wnd.min(1460);
        l.data(seq, 1, len as usize);
        seq += len;
    }
    l.write(100);
    let ans = l.data(seq, 101, 50);
    assert_eq!(
        l.c.snd_una(),
        tcp_tests::lone::LOCAL_ISS + 1,
        "the ACK went with the segment"
    );
    assert_eq!(
        l.c.rcv_nxt().since(tcp_tests::lone::PEER_ISN),
        seq,
        "data refused"
    );
    assert_eq!(ans.len(), 1);
    assert_eq!((ans[0].ack(), ans[0].window()), (seq, 0));
    l.ack(seq, 101);
    assert_eq!(
        l.c.snd_una(),
        tcp_tests::lone::LOCAL_ISS + 101,
        "a pure ACK is processed"
    );
}

/// Sender SWS avoidance (RFC 9293 §3.8.6.2.1): with a receiver whose window is smaller
/// than a segment, a piece of at least half the largest window it ever offered goes at
/// once; the transfer does not crawl along on the persist timer.
#[test]
fn sender_sws_sends_half_max_window_pieces_at_once() {
    let mut l = Lone::established_with(
        nodelay(),
        PeerOpts {
            wscale: None,
            window: 500,
            ..PeerOpts::default()
        },
    );
    l.peer_window = 500;
    let out = l.write(3000);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!((out[0].seq(), out[0].len()), (1, 500));
    let out = l.ack(1, 501);
    assert_eq!((out[0].seq(), out[0].len()), (501, 500));
    // A usable window below half the maximum is not used at once.
    l.peer_window = 200;
    let out = l.ack(1, 1001);
    assert!(out.is_empty(), "{out:?}");
}

/// The reassembly queue is bounded (`max_ooo_segments`): beyond the limit new out-of-order
/// pieces are dropped and counted, without an ACK, as Linux drops out-of-order data it has
/// no memory for (`tcp_data_queue_ofo` schedules the ACK only once the data is queued); in-order
/// data and pieces that join existing ones still go in.
#[test]
fn out_of_order_pieces_are_bounded() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.max_ooo_segments = 4;
        config
    });
    for k in 0..6u32 {
        let ans = data_and_compressed_ack(&mut l, 1001 + k * 200, 100);
        if k < 4 {
            assert_eq!(ans.len(), 1);
            assert_eq!(ans[0].ack(), 1);
        } else {
            assert!(ans.is_empty(), "a refused piece drew {ans:?}");
        }
    }
    assert_eq!(l.c.info().ooo_bytes, 400, "four pieces kept");
    assert_eq!(l.c.stats().ooo_dropped, 200, "two dropped");
    // Fill from the start: the data up to the first hole becomes readable, in order; the
    // other kept pieces wait for their holes.
    let mut seq = 1;
    while seq < 1001 {
        l.data(seq, 1, 100);
        seq += 100;
    }
    let (got, _) = l.read_all();
    assert_eq!(got, pattern(1, 1100));
    assert_eq!(l.c.info().ooo_bytes, 300);
    for k in [1101u32, 1301, 1501] {
        l.data(k, 1, 100);
    }
    let (got, _) = l.read_all();
    assert_eq!(got, pattern(1101, 600));
}

/// `Connection::purge_out_of_order` (Linux's tcp_prune_ofo_queue as an embedder call):
/// the out-of-order bytes are freed and counted, and their memory with them (the
/// connection's invariants, checked after every call here, include that no memory is
/// charged for out-of-order data that is not held); the next ACK reports no SACK block for
/// them (RFC 2018 §8 reneging); the data, sent again, arrives exactly once and in order.
#[test]
fn purging_out_of_order_data_frees_its_memory_and_forgets_its_sack_blocks() {
    let mut l = Lone::established({
        let mut config: Config = Config::default();
        config.recv_buffer = 16 * 1024;
        config
    });
    l.data(1, 1, 100);
    for seq in [1101u32, 2101, 3101] {
        l.data(seq, 1, 1000);
    }
    l.advance(Duration::from_millis(1));
    assert_eq!(l.out.last().unwrap().sacks(), [(1101, 4101)]);
    assert_eq!(l.c.info().ooo_bytes, 3000);

    assert_eq!(l.c.purge_out_of_order(), 3000);
    l.c.check_invariants().expect("memory accounting");
    assert_eq!(l.c.info().ooo_bytes, 0);
    assert_eq!(l.c.stats().ofo_pruned, 3000);
    assert_eq!(l.c.purge_out_of_order(), 0, "nothing left");

    // Out-of-order data again, then the hole: SACK blocks report only what is held now.
    l.data(2101, 1, 1000);
    l.advance(Duration::from_millis(1));
    assert_eq!(l.out.last().unwrap().sacks(), [(2101, 3101)]);
    l.data(101, 1, 1000);
    l.advance(Duration::from_millis(200));
    let last = l.out.last().unwrap();
    assert_eq!(last.ack(), 1101);
    assert_eq!(last.sacks(), [(2101, 3101)]);
    for seq in [1101u32, 3101] {
        l.data(seq, 1, 1000);
    }
    let (got, _) = l.read_all();
    assert_eq!(got, pattern(1, 4100));
}
