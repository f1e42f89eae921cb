//! Tests of the scoreboard.

use super::*;
use alloc::vec::Vec;
use proptest::prelude::*;

const MSS: u32 = 100;

fn sq(base: u32, off: u32) -> SeqNum {
    SeqNum::new(base.wrapping_add(off))
}

fn blk(base: u32, a: u32, b: u32) -> SackBlock {
    SackBlock::new(sq(base, a), sq(base, b))
}

/// A scoreboard with `n` segments of MSS bytes sent 1 ms apart from `base`.
fn board(base: u32, n: u32) -> Scoreboard {
    let mut sb = Scoreboard::new(SeqNum::new(base), MSS, 64, 1024);
    for i in 0..n {
        sb.on_transmit(
            sq(base, i * MSS),
            sq(base, (i + 1) * MSS),
            Instant::from_millis(u64::from(i)),
        );
    }
    sb
}

fn ack(
    sb: &mut Scoreboard,
    base: u32,
    a: u32,
    blocks: &[SackBlock],
) -> (AckUpdate, Vec<Delivered>) {
    let mut d = Vec::new();
    let up = sb.on_ack(sq(base, a), blocks, |x| d.push(*x));
    sb.check_invariants().unwrap();
    (up, d)
}

#[test]
fn a_smaller_mss_marks_longer_segments_lost_and_they_are_resent_in_pieces() {
    // Three 100-byte segments in flight; the MSS falls to 60.
    let mut sb = board(0, 3);
    assert_eq!(sb.mark_lost_longer_than(60, sq(0, 150)), 200, "from 150 on");
    assert_eq!(sb.mark_lost_longer_than(60, sq(0, 0)), 100);
    assert_eq!(sb.mark_lost_longer_than(60, sq(0, 0)), 0, "marked once");
    sb.check_invariants().unwrap();
    // The first lost run (one original packet here: no unit ends were marked) is
    // resent 60 bytes at a time; each retransmission splits the record it covers in
    // part, and the rest stays lost.
    let mut sent = Vec::new();
    while let Some(ns) = sb.next_seg(false) {
        assert_eq!(ns.kind, NextSegKind::Lost);
        let run = sb.lost_run_bytes(ns.start);
        let len = ns.end.since(ns.start).max(run).min(60);
        sb.on_transmit(ns.start, ns.start + len, Instant::from_millis(10));
        sb.check_invariants().unwrap();
        sent.push((ns.start.since(sq(0, 0)), len));
    }
    assert_eq!(sent, [(0, 60), (60, 60), (120, 60), (180, 60), (240, 60)]);
    assert_eq!(sb.retrans_bytes(), 300);
    assert_eq!(sb.pipe(), 300);
    // The pieces (records are split, never merged: 0-60, 60-100, 100-120, 120-180,
    // 180-200, 200-240, 240-300) are acknowledged as usual.
    let (up, d) = ack(&mut sb, 0, 300, &[]);
    assert_eq!(up.acked_bytes, 300);
    assert_eq!(d.len(), 7);
}

#[test]
fn a_retransmission_cut_short_leaves_the_rest_of_the_segment_lost() {
    let mut sb = board(0, 2);
    sb.on_rto();
    // The window allowed only 30 bytes of the first segment.
    sb.on_transmit(sq(0, 0), sq(0, 30), Instant::from_millis(10));
    sb.check_invariants().unwrap();
    let ns = sb.next_seg(false).unwrap();
    assert_eq!(
        (ns.start, ns.end, ns.kind),
        (sq(0, 30), sq(0, 100), NextSegKind::Lost)
    );
    assert_eq!(sb.retrans_bytes(), 30);
}

/// RFC 6675 §4 SetPipe() computed octet by octet from the lost and retransmitted
/// flags, for comparison with the incremental `pipe()`.
fn naive_pipe(sb: &Scoreboard) -> u32 {
    let mut pipe = 0;
    for (&k, g) in sb.segs.iter() {
        for o in k..g.end {
            // Octet-level SACK state as the scoreboard credits it: whole segments only
            // (identical to the RFC's octet rule when blocks follow segment edges).
            let s = Scoreboard::seq(o);
            if g.sacked {
                assert!(sb.is_sacked(s));
                continue;
            }
            if !g.lost {
                pipe += 1;
            }
            if g.rtx_in_flight {
                pipe += 1;
            }
        }
    }
    pipe
}

#[test]
fn only_whole_segments_are_sacked() {
    let b = 1000;
    let mut sb = board(b, 10);
    let (up, d) = ack(&mut sb, b, 0, &[blk(b, 300, 400)]);
    assert_eq!((up.sacked_bytes, d.len()), (100, 1));
    assert_eq!(sb.pipe(), 900);
    // A block that splits segments 4 and 5 credits neither.
    let (up, _) = ack(&mut sb, b, 0, &[blk(b, 450, 550)]);
    assert_eq!(up.sacked_bytes, 0);
    assert_eq!((sb.sacked_bytes(), sb.interval_count()), (200, 2));
    // Filling [400, 450) merges to [300, 550): segment 4 is now covered.
    let (up, d) = ack(&mut sb, b, 0, &[blk(b, 400, 450)]);
    assert_eq!(up.sacked_bytes, 100);
    assert_eq!(d[0].start, sq(b, 400));
    assert_eq!(sb.interval_count(), 1);
    let (up, _) = ack(&mut sb, b, 0, &[blk(b, 550, 600)]);
    assert_eq!(up.sacked_bytes, 100);
    assert_eq!(sb.sacked_segments(), 3);
    assert_eq!(sb.pipe(), 700);
}

/// Hand-drawn scoreboard (MSS 100, DupThresh 3, segments 0–9):
///
/// ```text
///   seg:   0  1  2  3  4  5  6  7  8  9
///   SACK:  .  .  S  S  .  S  S  S  .  .
/// ```
/// IsLost: 300 SACKed bytes above 400 (> 2·SMSS), so 0, 1 and 4 are lost; 8 and 9 are
/// not. SetPipe = 8, 9 = 200 bytes.
#[test]
fn set_pipe_and_next_seg_on_hand_drawn_board() {
    let b = u32::MAX - 250; // across the sequence wrap
    let mut sb = board(b, 10);
    ack(&mut sb, b, 0, &[blk(b, 500, 800), blk(b, 200, 400)]);
    assert!(sb.is_lost(sq(b, 0)) && sb.is_lost(sq(b, 150)) && sb.is_lost(sq(b, 450)));
    assert!(!sb.is_lost(sq(b, 850)) && !sb.is_lost(sq(b, 250)));
    sb.enter_recovery();
    assert_eq!(sb.mark_lost_dupthresh(), 300);
    assert_eq!(sb.mark_lost_dupthresh(), 0, "each segment examined once");
    assert_eq!(sb.pipe(), 200);
    assert_eq!(sb.pipe(), naive_pipe(&sb));

    // NextSeg rule 1 in order 0, 1, 4; each retransmission adds to pipe.
    let t = Instant::from_millis(50);
    for (i, start) in [0u32, 100, 400].into_iter().enumerate() {
        let n = sb.next_seg(true).unwrap();
        assert_eq!(
            (n.kind, n.start, n.end),
            (NextSegKind::Lost, sq(b, start), sq(b, start + 100))
        );
        sb.on_transmit(n.start, n.end, t);
        sb.check_invariants().unwrap();
        assert_eq!(sb.pipe(), 200 + 100 * (i as u32 + 1));
        assert_eq!(sb.pipe(), naive_pipe(&sb));
    }
    assert_eq!(sb.high_rxt(), sq(b, 500));
    // Rule 2 when new data may be sent.
    let n = sb.next_seg(true).unwrap();
    assert_eq!((n.kind, n.start), (NextSegKind::NewData, sq(b, 1000)));
    // Rule 3 has nothing above HighRxt below the highest SACK; rule 4 rescues seg 9.
    let n = sb.next_seg(false).unwrap();
    assert_eq!(
        (n.kind, n.start, n.end),
        (NextSegKind::Rescue, sq(b, 900), sq(b, 1000))
    );
    sb.on_rescue_retransmit(n.start, n.end, t);
    assert_eq!(sb.rescue_rxt(), Some(sq(b, 1000)));
    assert_eq!(sb.high_rxt(), sq(b, 500), "rescue does not move HighRxt");
    assert_eq!(sb.next_seg(false), None, "one rescue per recovery");
    assert_eq!(sb.pipe(), naive_pipe(&sb));
}

#[test]
fn rule_three_retransmits_unsacked_below_highest_sack() {
    let b = 7;
    let mut sb = board(b, 10);
    ack(&mut sb, b, 0, &[blk(b, 500, 600)]);
    sb.enter_recovery();
    assert_eq!(
        sb.mark_lost_dupthresh(),
        0,
        "one SACKed segment: nothing IsLost"
    );
    let t = Instant::from_millis(20);
    for start in [0u32, 100, 200, 300, 400] {
        let n = sb.next_seg(false).unwrap();
        assert_eq!((n.kind, n.start), (NextSegKind::Unsacked, sq(b, start)));
        sb.on_transmit(n.start, n.end, t);
    }
    assert_eq!(sb.next_seg(false).unwrap().kind, NextSegKind::Rescue);
}

#[test]
fn is_lost_counts_discontiguous_sequences() {
    let b = 0;
    let mut sb = board(b, 10);
    ack(
        &mut sb,
        b,
        0,
        &[blk(b, 200, 300), blk(b, 400, 500), blk(b, 600, 700)],
    );
    assert!(sb.is_lost(sq(b, 0)));
    assert!(sb.is_lost(sq(b, 199)));
    assert!(!sb.is_lost(sq(b, 200)), "SACKed octets are not lost");
    assert!(!sb.is_lost(sq(b, 300)), "only two SACKed sequences above");
    assert!(!sb.is_lost(sq(b, 1000)), "beyond SND.MAX");
    sb.set_dup_thresh(2);
    assert!(sb.is_lost(sq(b, 300)));
}

#[test]
fn cumulative_ack_trims_everything_below() {
    let b = 100;
    let mut sb = board(b, 10);
    ack(&mut sb, b, 0, &[blk(b, 200, 400)]);
    let (up, d) = ack(&mut sb, b, 250, &[]);
    assert_eq!(up.acked_bytes, 250);
    // Segments 0 and 1 delivered by the cumulative ACK (2 was SACKed before).
    assert_eq!(
        d.iter().map(|x| x.start).collect::<Vec<_>>(),
        [sq(b, 0), sq(b, 100)]
    );
    assert_eq!(sb.high_ack(), sq(b, 250));
    assert_eq!(sb.sacked_bytes(), 150);
    assert_eq!(sb.outstanding(), 750);
    // Old and duplicate ACKs change nothing.
    let (up, _) = ack(&mut sb, b, 100, &[]);
    assert_eq!(up, AckUpdate::default());
    let (up, d) = ack(&mut sb, b, 1000, &[]);
    assert_eq!((up.acked_bytes, d.len()), (750, 6));
    assert_eq!(
        (sb.pipe(), sb.sacked_bytes(), sb.segment_count()),
        (0, 0, 0)
    );
}

/// Linux's tcp_check_dsack and tcp_dsack_seen: a D-SACK-shaped first block is believed
/// only while the duplicates reported do not outnumber the retransmissions; a believed
/// one above SND.UNA is still SACK information and tells which retransmissions it
/// covers.
#[test]
fn dsacks_are_believed_only_as_far_as_retransmissions_go() {
    let b = 5000;
    let mut sb = board(b, 10);
    ack(&mut sb, b, 300, &[]);
    // Nothing was ever retransmitted: a D-SACK is dubious and, read as an ordinary
    // block below SND.UNA, invalid.
    let (up, _) = ack(&mut sb, b, 300, &[blk(b, 100, 200)]);
    assert_eq!(
        (up.dsack, up.dubious_dsack, up.ignored_blocks),
        (None, true, 1)
    );
    let t = Instant::from_millis(50);
    for start in [300u32, 500, 600] {
        sb.on_transmit(sq(b, start), sq(b, start + 100), t);
    }
    // RFC 2883 §4 case 1: first block below the cumulative ACK; the data is forgotten.
    let (up, _) = ack(&mut sb, b, 300, &[blk(b, 100, 200), blk(b, 800, 900)]);
    let d = up.dsack.unwrap();
    assert_eq!((d.block, d.segs, d.forgotten), (blk(b, 100, 200), 1, true));
    assert_eq!(up.sacked_bytes, 100);
    // Case 2: first block inside the second; it covers the retransmitted segment 5
    // and is SACK information as well.
    let (up, _) = ack(&mut sb, b, 300, &[blk(b, 500, 600), blk(b, 400, 700)]);
    let d = up.dsack.unwrap();
    assert_eq!((d.retransmitted, d.forgotten), (1, false));
    assert_eq!(up.sacked_bytes, 300);
    // Three duplicates reported (the dubious one included), three segments
    // retransmitted: one more is dubious, even for a retransmitted segment.
    let (up, _) = ack(&mut sb, b, 300, &[blk(b, 600, 700), blk(b, 400, 700)]);
    assert_eq!((up.dsack, up.dubious_dsack), (None, true));
    // Not a D-SACK: ordinary first block.
    let (up, _) = ack(&mut sb, b, 300, &[blk(b, 800, 900)]);
    assert_eq!((up.dsack, up.dubious_dsack), (None, false));
}

/// A D-SACK for segments the same ACK acknowledges is checked against them before they
/// are freed (Linux tags SACKs before cleaning the retransmission queue).
#[test]
fn a_dsack_for_data_this_ack_covers_still_sees_the_retransmission() {
    let b = 0;
    let mut sb = board(b, 10);
    sb.on_transmit(sq(b, 0), sq(b, 100), Instant::from_millis(50));
    let (up, _) = ack(&mut sb, b, 200, &[blk(b, 0, 100)]);
    let d = up.dsack.unwrap();
    assert_eq!((d.retransmitted, d.forgotten), (1, false));
    assert_eq!(up.acked_bytes, 200);
}

/// The attack of issue 17: a second block that starts below SND.UNA and covers the
/// receiver's real first block. The straddling block is invalid (Linux's
/// tcp_is_sackblock_valid: a SACK block must start above SND.UNA), so it SACKs nothing
/// (before, it was trimmed to SND.UNA and SACKed the holes, which then looked like
/// reneging); the real first block stays SACK information, and, not covering a
/// retransmission, proves none unnecessary.
#[test]
fn a_straddling_second_block_sacks_nothing_and_the_first_stays_sack_information() {
    let b = 0;
    let mut sb = board(b, 10);
    ack(&mut sb, b, 100, &[]);
    let (up, _) = ack(&mut sb, b, 100, &[blk(b, 500, 600), blk(b, 50, 600)]);
    assert_eq!(up.ignored_blocks, 1);
    assert_eq!((up.dsack, up.dubious_dsack), (None, true));
    assert_eq!((up.sacked_bytes, sb.sacked_bytes()), (100, 100));
    assert!(!sb.head_sacked(), "no false reneging");
    // With retransmissions on record the first block is believed as a D-SACK, but
    // covers no retransmitted segment.
    sb.on_transmit(sq(b, 100), sq(b, 300), Instant::from_millis(50));
    let (up, _) = ack(&mut sb, b, 100, &[blk(b, 700, 800), blk(b, 50, 800)]);
    let d = up.dsack.unwrap();
    assert_eq!(d.retransmitted, 0);
    assert_eq!((up.ignored_blocks, up.sacked_bytes), (1, 100));
    assert!(!sb.head_sacked());
}

#[test]
fn invalid_blocks_are_ignored() {
    let b = 0;
    let mut sb = board(b, 10);
    ack(&mut sb, b, 100, &[]);
    let (up, _) = ack(
        &mut sb,
        b,
        100,
        &[
            blk(b, 300, 300),
            blk(b, 400, 300),
            blk(b, 900, 1100),
            blk(b, 2_000_000, 2_000_100),
        ],
    );
    assert_eq!(up.ignored_blocks, 4);
    assert_eq!(sb.interval_count(), 0);
    // Blocks not above SND.UNA (straddling it, starting at it, or below it, without
    // being a D-SACK) are invalid too.
    let (up, _) = ack(
        &mut sb,
        b,
        100,
        &[
            blk(b, 700, 800),
            blk(b, 50, 200),
            blk(b, 100, 200),
            blk(b, 20, 60),
        ],
    );
    assert_eq!((up.ignored_blocks, up.sacked_bytes), (3, 100));
    assert_eq!(sb.sacked_bytes(), 100);
    // An old (reordered) ACK's blocks below SND.UNA are ignored without being counted.
    let (up, _) = ack(&mut sb, b, 50, &[blk(b, 800, 900), blk(b, 50, 100)]);
    assert_eq!((up.ignored_blocks, up.sacked_bytes), (0, 100));
}

#[test]
fn interval_cap_refuses_new_separate_blocks() {
    let b = 0;
    let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 4, 1024);
    for i in 0..20 {
        sb.on_transmit(sq(b, i * MSS), sq(b, (i + 1) * MSS), Instant::ZERO);
    }
    for i in 0..6u32 {
        let s = 100 + i * 200;
        let (up, _) = ack(&mut sb, b, 0, &[blk(b, s, s + 100)]);
        assert_eq!(up.refused_blocks, u8::from(i >= 4));
    }
    assert_eq!(sb.interval_count(), 4);
    // A block that extends an existing interval is still accepted.
    let (up, _) = ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
    assert_eq!((up.refused_blocks, up.sacked_bytes), (0, 100));
    assert_eq!(sb.interval_count(), 3);
}

#[test]
fn segment_records_are_capped_by_coalescing() {
    let b = 0;
    let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 8, 8);
    for i in 0..100 {
        sb.on_transmit(
            sq(b, i * MSS),
            sq(b, (i + 1) * MSS),
            Instant::from_millis(u64::from(i)),
        );
    }
    assert_eq!(sb.segment_count(), 8);
    assert_eq!(sb.outstanding(), 10_000);
    sb.check_invariants().unwrap();
}

#[test]
fn coalescing_into_a_sacked_record_drops_its_credit_until_fully_sacked() {
    let b = 0;
    let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 8, 2);
    sb.on_transmit(sq(b, 0), sq(b, 100), Instant::ZERO);
    sb.on_transmit(sq(b, 100), sq(b, 200), Instant::ZERO);
    ack(&mut sb, b, 0, &[blk(b, 100, 200)]);
    assert_eq!(sb.pipe(), 100);
    sb.on_transmit(sq(b, 200), sq(b, 300), Instant::from_millis(1));
    sb.check_invariants().unwrap();
    assert_eq!(sb.segment_count(), 2);
    assert_eq!(
        sb.pipe(),
        300,
        "the coalesced record [100, 300) is not SACKed"
    );
    let (up, _) = ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
    assert_eq!(up.sacked_bytes, 200);
    assert_eq!(sb.pipe(), 100);
}

/// RFC 2018 §8: a cumulative ACK that stops where SACKed data starts shows that the
/// receiver discarded it; one that stops before a hole does not.
#[test]
fn a_cumulative_ack_ending_at_sacked_data_shows_reneging() {
    let b = 0;
    let mut sb = board(b, 5);
    ack(&mut sb, b, 0, &[blk(b, 200, 500)]);
    assert!(!sb.head_sacked());
    ack(&mut sb, b, 100, &[]);
    assert!(!sb.head_sacked(), "segment 1 was never SACKed");
    ack(&mut sb, b, 200, &[]);
    assert!(sb.head_sacked());
    sb.on_rto();
    sb.clear_sack();
    sb.on_rto();
    sb.check_invariants().unwrap();
    assert!(!sb.head_sacked());
    assert_eq!(sb.lost_bytes(), 300, "everything after SND.UNA goes again");
}

/// RFC 6675 §4 rule 4 rescues the highest unSACKed segment, but not by sending a second
/// copy of a retransmission still in flight.
#[test]
fn no_rescue_for_a_segment_whose_retransmission_is_in_flight() {
    let b = 0;
    let mut sb = board(b, 10);
    ack(&mut sb, b, 0, &[blk(b, 100, 1000)]);
    assert_eq!(sb.mark_lost_dupthresh(), 100);
    sb.enter_recovery();
    let n = sb.next_seg(false).unwrap();
    assert_eq!((n.kind, n.start), (NextSegKind::Lost, sq(b, 0)));
    sb.on_transmit(n.start, n.end, Instant::from_millis(20));
    assert_eq!(sb.next_seg(false), None);
}

#[test]
fn rto_marks_everything_unsacked_lost() {
    let b = 0;
    let mut sb = board(b, 5);
    ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
    sb.on_rto();
    sb.check_invariants().unwrap();
    assert_eq!(sb.pipe(), 0);
    assert_eq!(sb.lost_bytes(), 400);
    let n = sb.next_seg(false).unwrap();
    assert_eq!((n.kind, n.start), (NextSegKind::Lost, sq(b, 0)));
    sb.on_transmit(n.start, n.end, Instant::from_millis(300));
    assert_eq!(sb.pipe(), 100);
    sb.clear_sack();
    sb.check_invariants().unwrap();
    assert_eq!(sb.sacked_bytes(), 0);
}

/// A spurious timeout (F-RTO, RFC 5682 §3.1 step 3b) takes back the RTO's loss marks:
/// the original transmissions count in pipe again, the retransmission stays in flight
/// and nothing awaits retransmission.
#[test]
fn undo_loss_marks_restores_the_flight_after_a_spurious_rto() {
    let b = 0;
    let mut sb = board(b, 5);
    ack(&mut sb, b, 0, &[blk(b, 200, 300)]);
    sb.on_rto();
    let n = sb.next_seg(false).unwrap();
    sb.on_transmit(n.start, n.end, Instant::from_millis(300));
    assert_eq!((sb.pipe(), sb.lost_bytes()), (100, 400));
    sb.undo_loss_marks();
    sb.check_invariants().unwrap();
    assert_eq!(sb.lost_bytes(), 0);
    // 400 unSACKed bytes in flight plus the retransmission of the first 100.
    assert_eq!(sb.pipe(), 500);
    assert_eq!(naive_pipe(&sb), sb.pipe());
    // NextSeg() rule 1 has nothing left: new data comes first.
    assert_eq!(
        sb.next_seg(true).map(|n| n.kind),
        Some(NextSegKind::NewData)
    );
    // Later SACKs can mark losses again (RFC 6675 IsLost).
    ack(&mut sb, b, 0, &[blk(b, 200, 500)]);
    assert_eq!(sb.mark_lost_dupthresh(), 100);
    sb.check_invariants().unwrap();
}

/// Hostile SACK patterns cost a bounded number of map operations per ACK, measured by
/// counting.
#[test]
fn hostile_sack_cost_is_bounded_per_ack() {
    let b = 0;
    let n = 2000;
    let mut sb = Scoreboard::new(SeqNum::new(b), MSS, 256, 4096);
    for i in 0..n {
        sb.on_transmit(sq(b, i * MSS), sq(b, (i + 1) * MSS), Instant::ZERO);
    }
    let mut worst = 0;
    let mut x = 12345u32;
    for _ in 0..5000 {
        let mut blocks = [blk(b, 0, 1); 4];
        for bl in &mut blocks {
            // Tiny blocks splitting segments at pseudo-random places.
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let s = 1 + (x >> 8) % (n * MSS - 2);
            *bl = blk(b, s, s + 1);
        }
        let before = sb.ops();
        sb.on_ack(sq(b, 0), &blocks, |_| {});
        worst = worst.max(sb.ops() - before);
    }
    assert!(sb.interval_count() <= 256);
    assert!(worst <= 40, "worst ops per ACK {worst}");
    // Re-sending a block that covers everything costs O(log n) once merged.
    sb.on_ack(sq(b, 0), &[blk(b, 1, n * MSS)], |_| {});
    let before = sb.ops();
    for _ in 0..100 {
        sb.on_ack(sq(b, 0), &[blk(b, 1, n * MSS); 4], |_| {});
    }
    assert!(sb.ops() - before <= 100 * 4 * 2);
    sb.check_invariants().unwrap();
}

#[derive(Clone, Debug)]
enum Op {
    Send(u16),
    Ack(u16, Vec<(i32, u16)>),
    Retransmit,
    Rto,
    Recovery(bool),
    MarkLost,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u16..1500).prop_map(Op::Send),
        (
            any::<u16>(),
            proptest::collection::vec((-3000i32..40_000, any::<u16>()), 0..6)
        )
            .prop_map(|(a, v)| Op::Ack(a, v)),
        Just(Op::Retransmit),
        Just(Op::Rto),
        any::<bool>().prop_map(Op::Recovery),
        Just(Op::MarkLost),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_and_hostile_sacks_keep_invariants(
        base in any::<u32>(),
        cap in 1usize..8,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut sb = Scoreboard::new(SeqNum::new(base), 100, cap, 16);
        let mut t = 0u64;
        for o in ops {
            t += 1;
            let now = Instant::from_millis(t);
            match o {
                Op::Send(len) => {
                    let s = sb.high_data();
                    sb.on_transmit(s, s + u32::from(len), now);
                }
                Op::Ack(a, blocks) => {
                    let una = sb.high_ack();
                    let out = sb.outstanding();
                    let ackno = una + (u32::from(a) % (out + 2));
                    let bl: Vec<SackBlock> = blocks
                        .iter()
                        .map(|&(s, l)| {
                            let st = SeqNum::new(una.get().wrapping_add(s as u32));
                            SackBlock::new(st, st + u32::from(l % 3000))
                        })
                        .collect();
                    let before_una = sb.high_ack();
                    let max = sb.high_data();
                    let up = sb.on_ack(ackno, &bl, |d| {
                        assert!(d.start.ge(before_una) && d.end.le(max) && d.start.lt(d.end));
                    });
                    prop_assert!(u64::from(up.acked_bytes) <= u64::from(out));
                }
                Op::Retransmit => {
                    if let Some(n) = sb.next_seg(false) {
                        if n.kind == NextSegKind::Rescue {
                            sb.on_rescue_retransmit(n.start, n.end, now);
                        } else {
                            sb.on_transmit(n.start, n.end, now);
                        }
                    }
                }
                Op::Rto => sb.on_rto(),
                Op::Recovery(true) => sb.enter_recovery(),
                Op::Recovery(false) => sb.exit_recovery(),
                Op::MarkLost => {
                    sb.mark_lost_dupthresh();
                }
            }
            prop_assert_eq!(sb.check_invariants(), Ok(()));
            prop_assert!(sb.interval_count() <= cap);
            prop_assert!(sb.sacked_bytes() <= sb.outstanding());
            prop_assert_eq!(sb.pipe(), naive_pipe(&sb));
        }
    }
}

/// The rate sample's `newly_acked` (draft-ietf-ccwg-bbr `RS.newly_acked`, RFC 6937's
/// DeliveredData) counts each byte once: a cumulative ACK over data SACKed earlier adds
/// only what was not SACKed, not the whole advance of SND.UNA.
#[test]
fn newly_acked_counts_sacked_data_once() {
    let mut sb = board(0, 4);
    ack(&mut sb, 0, 0, &[blk(0, 100, 400)]);
    let (rs, _) = sb
        .take_rate_sample(Instant::from_millis(30), None, true)
        .unwrap();
    assert_eq!(rs.newly_acked, 300);
    ack(&mut sb, 0, 400, &[]);
    let (rs, _) = sb
        .take_rate_sample(Instant::from_millis(31), None, true)
        .unwrap();
    assert_eq!(
        rs.newly_acked, 100,
        "the SACKed 300 bytes were delivered already"
    );
    assert_eq!(rs.total_delivered, 400);
}
