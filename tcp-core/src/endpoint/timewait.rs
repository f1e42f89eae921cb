//! Compact TIME_WAIT records (RFC 9293 §3.10.7.4 "TIME-WAIT"): a finished connection's
//! buffers are released and a few dozen bytes remain to answer retransmitted FINs, ignore
//! RSTs (RFC 1337) and let a newer SYN reuse the 4-tuple (RFC 6191). What a segment does
//! follows Linux's `tcp_timewait_state_process`: an acceptable bare ACK (at RCV.NXT)
//! restarts the 2·MSL timer and is not answered; any other segment but a RST (a
//! retransmitted FIN among them) is answered with an ACK, at most one per
//! `invalid_ratelimit`, and restarts the timer if it carries an ACK.

use super::table::FourTuple;
use super::{Endpoint, SlotKind, slot_holds};
use crate::conn::Segment;
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{OptionLayout, TcpFlags, TcpHeader, TcpOptions, Timestamps};
use alloc::boxed::Box;
use bytes::Bytes;

#[derive(Debug)]
pub(super) struct TimeWaitRec {
    pub(super) tuple: FourTuple,
    snd_nxt: SeqNum,
    rcv_nxt: SeqNum,
    ts_recent: Option<u32>,
    ts_offset: u32,
    pub(super) deadline: Instant,
    /// When the last ACK answering an out-of-window segment went (rate limit).
    last_oow_ack: Option<Instant>,
}

impl TimeWaitRec {
    /// The record of `conn`, which reached TIME_WAIT, and the segments it still owes the
    /// peer (the ACK of its FIN).
    fn from_conn(
        conn: &mut crate::conn::Connection,
        tuple: FourTuple,
        now: Instant,
        time_wait: crate::time::Duration,
    ) -> (Self, alloc::vec::Vec<Segment>) {
        let mut owed = alloc::vec::Vec::new();
        while let Some(seg) = conn.poll_transmit(now) {
            owed.push(seg);
        }
        let rec = TimeWaitRec {
            tuple,
            snd_nxt: conn.snd_max(),
            rcv_nxt: conn.rcv_nxt(),
            ts_recent: conn.ts_recent(),
            ts_offset: conn.ts_offset(),
            deadline: conn.poll_timeout().unwrap_or(now + time_wait),
            last_oow_ack: None,
        };
        (rec, owed)
    }
}

impl Endpoint {
    /// Replaces an orphaned connection that reached TIME_WAIT by a compact record.
    pub(super) fn enter_time_wait_record(&mut self, i: u32, now: Instant) {
        let Some(s) = self.slots.get_mut(i as usize) else {
            return;
        };
        let SlotKind::Conn(e) = &mut s.kind else {
            return;
        };
        let tuple = e.tuple();
        let (rec, owed) = TimeWaitRec::from_conn(&mut e.conn, tuple, now, self.cfg.time_wait);
        for seg in owed {
            self.push_control(tuple, seg);
        }
        if self.time_wait_count >= self.ep.max_time_wait {
            self.stats.time_wait_overflow += 1;
            self.table
                .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
            self.free_slot(i);
            return;
        }
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.kind = SlotKind::TimeWait(Box::new(rec));
            s.generation = s.generation.wrapping_add(1);
            s.armed = None;
            s.dirty = false;
        }
        self.time_wait_count += 1;
        self.stats.time_wait_created += 1;
        self.schedule(i, now);
    }

    /// A connection the application still holds reached TIME_WAIT: its 4-tuple moves to a
    /// compact record in a new slot (so TIME_WAIT has one set of rules, the record's), and
    /// the connection, out of the demux table, is closed for the application: what it
    /// received stays readable, then end-of-stream (Linux's `tcp_time_wait` and
    /// `tcp_done`).
    pub(super) fn split_time_wait(&mut self, i: u32, now: Instant) {
        let Some(super::Slot {
            kind: SlotKind::Conn(e),
            ..
        }) = self.slots.get_mut(i as usize)
        else {
            return;
        };
        let tuple = e.tuple();
        let (rec, owed) = TimeWaitRec::from_conn(&mut e.conn, tuple, now, self.cfg.time_wait);
        e.detached = true;
        e.conn.time_wait_handed_off();
        for seg in owed {
            self.push_control(tuple, seg);
        }
        self.table.remove(&tuple, |j, t| {
            if j == i {
                *t == tuple
            } else {
                slot_holds(&self.slots, j, t)
            }
        });
        if self.time_wait_count >= self.ep.max_time_wait {
            self.stats.time_wait_overflow += 1;
            return;
        }
        let j = self.alloc_slot(SlotKind::TimeWait(Box::new(rec)));
        self.table.insert(&tuple, j);
        self.time_wait_count += 1;
        self.stats.time_wait_created += 1;
        self.schedule(j, now);
    }

    pub(super) fn time_wait_segment(
        &mut self,
        now: Instant,
        i: u32,
        tuple: FourTuple,
        h: &TcpHeader,
        payload: Bytes,
    ) {
        let Some(super::Slot {
            kind: SlotKind::TimeWait(tw),
            ..
        }) = self.slots.get_mut(i as usize)
        else {
            return;
        };
        let f = h.flags;
        let rst = f.contains(TcpFlags::RST);
        let end = h.seq + crate::conn::seq_len(h, payload.len());
        // PAWS (RFC 7323 §5): an older timestamp than the connection's last.
        let ts = h.options.timestamps;
        let paws_reject = !rst
            && matches!((tw.ts_recent, ts), (Some(recent), Some(t))
                if (t.val.wrapping_sub(recent) as i32) < 0);
        if !paws_reject && h.seq == tw.rcv_nxt && (h.seq == end || rst) {
            // In the window: only a RST or a bare ACK can be.
            if rst {
                if !self.ep.rfc1337 {
                    // Linux with tcp_rfc1337 = 0: TIME_WAIT assassination (RFC 1337).
                    self.table
                        .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
                    self.free_slot(i);
                    return;
                }
                // RFC 1337: a RST must not end TIME_WAIT early.
                self.stats.time_wait_rst_ignored += 1;
            } else {
                tw.deadline = now + self.cfg.time_wait;
            }
            if let (Some(t), Some(_)) = (ts, tw.ts_recent) {
                tw.ts_recent = Some(t.val);
            }
            self.reschedule_time_wait(i, now);
            return;
        }
        let syn = f.contains(TcpFlags::SYN);
        if syn && !rst && !f.contains(TcpFlags::ACK) && !paws_reject {
            // RFC 6191 §2 / RFC 9293 §3.10.7.4: a new SYN may reuse the tuple when it is
            // newer: a larger timestamp, or (without timestamps) a sequence number beyond
            // the old connection's.
            let newer = match (tw.ts_recent, ts) {
                (Some(recent), Some(t)) => (t.val.wrapping_sub(recent) as i32) > 0,
                _ => h.seq.gt(tw.rcv_nxt),
            };
            if newer {
                self.stats.time_wait_reused += 1;
                self.table
                    .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
                self.free_slot(i);
                self.segment_for_listener(now, tuple, h, payload);
                return;
            }
        }
        if rst {
            self.stats.time_wait_rst_ignored += 1;
            return;
        }
        if paws_reject || f.contains(TcpFlags::ACK) {
            tw.deadline = now + self.cfg.time_wait;
        }
        let limit = self.cfg.invalid_ratelimit;
        if tw
            .last_oow_ack
            .is_some_and(|t| !limit.is_zero() && now.saturating_duration_since(t) < limit)
        {
            self.stats.time_wait_acks_limited += 1;
            self.reschedule_time_wait(i, now);
            return;
        }
        tw.last_oow_ack = Some(now);
        let seg = time_wait_ack(tw, now, self.cfg.option_layout);
        self.stats.time_wait_acks += 1;
        self.push_control(tuple, seg);
        self.reschedule_time_wait(i, now);
    }

    /// The record's deadline may have moved: re-arm its timer.
    fn reschedule_time_wait(&mut self, i: u32, now: Instant) {
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.armed = None;
        }
        self.schedule(i, now);
    }
}

fn time_wait_ack(tw: &TimeWaitRec, now: Instant, layout: OptionLayout) -> Segment {
    let options = TcpOptions {
        layout,
        timestamps: tw.ts_recent.map(|ecr| Timestamps {
            val: (now.as_millis() as u32).wrapping_add(tw.ts_offset),
            ecr,
        }),
        ..Default::default()
    };
    Segment {
        ecn: crate::wire::IpEcn::NotEct,
        header: TcpHeader {
            src_port: tw.tuple.local.port(),
            dst_port: tw.tuple.remote.port(),
            seq: tw.snd_nxt,
            ack: tw.rcv_nxt,
            flags: TcpFlags::ACK,
            window: 0,
            urgent: 0,
            options,
        },
        payload: Bytes::new(),
    }
}
