//! Where a connection's memory goes: the bytes of each field of the control block and
//! the heap each part holds, so the per-connection budget can be printed and watched
//! (`tcp-bench memory`).

use super::Connection;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of, size_of_val};

/// One part of the memory an endpoint or a connection holds, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryPart {
    /// What the part is: a field of the control block (`conn.<field>`), a heap
    /// allocation (`heap: …`) or an endpoint table (`endpoint: …`).
    pub name: &'static str,
    /// Bytes (inline fields include the padding that follows them).
    pub bytes: usize,
}

/// Adds `bytes` to the part called `name` in `parts` (appending it if new).
pub(crate) fn add_part(parts: &mut Vec<MemoryPart>, name: &'static str, bytes: usize) {
    match parts.iter_mut().find(|p| p.name == name) {
        Some(p) => p.bytes += bytes,
        None => parts.push(MemoryPart { name, bytes }),
    }
}

/// Heap bytes of a queue's storage (its capacity, used or not).
pub(crate) fn deque_bytes<T>(q: &alloc::collections::VecDeque<T>) -> usize {
    q.capacity() * size_of::<T>()
}

/// The fields of [`Connection`] with their offsets, each followed by the field itself
/// (its size is the distance to the next field in memory, padding included).
macro_rules! field_offsets {
    ($($field:ident),* $(,)?) => {
        [$((offset_of!(Connection, $field), concat!("conn.", stringify!($field)))),*]
    };
}

impl Connection {
    /// Gives back the memory of the queues that are empty: unacknowledged and unsent
    /// data, data waiting to be read, the write queue's boundaries, segments pushed in
    /// the middle of a write, and the SACK scoreboard's segment records; and, with
    /// nothing in flight, the SACK sender's state but for a summary of about 130 bytes
    /// (see `loss_slot`). Each is allocated again by its next use and kept while the
    /// connection works, so a busy connection does not allocate them over and over. The
    /// endpoint calls this once a connection has had no timer of its own (nothing in
    /// flight, no ACK owed) for a second; an embedder driving a `Connection` directly may
    /// call it at any time: what the connection does next is the same either way.
    pub fn release_idle_memory(&mut self) {
        self.send_buf.release();
        self.recv_buf.release();
        self.wq.release();
        self.pending_out.release();
        if !(self.nothing_in_flight() && self.loss.rest())
            && let Some(l) = self.loss.active_mut()
        {
            l.sb.release_idle_memory();
        }
    }

    /// SND.UNA = SND.NXT = SND.MAX: the SACK sender's state may rest.
    fn nothing_in_flight(&self) -> bool {
        self.snd.una == self.snd.max && self.snd.nxt == self.snd.max
    }

    /// Whether an empty queue holds memory that [`Connection::release_idle_memory`] would
    /// give back.
    pub(crate) fn holds_idle_memory(&self) -> bool {
        self.send_buf.releasable()
            || self.recv_buf.releasable()
            || self.wq.releasable()
            || self.pending_out.releasable()
            || self.loss.active().is_some_and(|l| l.sb.holds_idle_memory())
            || self.nothing_in_flight() && self.loss.could_rest()
    }

    /// Adds this connection's memory to `parts`: every field of the control block, and
    /// the heap it holds beyond the data buffered for the application (congestion
    /// control, loss recovery once data was sent, the rarely moved counters once one
    /// moved, queues).
    pub fn memory_parts(&self, parts: &mut Vec<MemoryPart>) {
        let mut fields = field_offsets!(
            cfg,
            opts,
            phase,
            local_port,
            remote_port,
            snd,
            send_buf,
            buf_seq,
            fin_queued,
            write_blocked,
            rcv,
            rwnd,
            recv_buf,
            fin_received,
            ooo_fin,
            snd_mss,
            path_mtu,
            pmtu_mss,
            pmtu_headers,
            probe_mss_cap,
            mtu_search,
            adv_mss,
            snd_wscale,
            rcv_wscale,
            offered_wscale,
            sack_ok,
            ts_ok,
            ts_offset,
            ts_recent,
            ts_recent_secs,
            rtt,
            rtt_timed,
            cc,
            dupacks,
            recovery,
            recover,
            fast_rexmit,
            loss,
            tlp_new_data,
            frto,
            frto_new_segs,
            peak_flight,
            peak_round_end,
            dsack,
            bsd,
            ack_now,
            ack,
            rtx_at,
            retries,
            zwnd_backoff,
            rto_reverts,
            gso_left,
            wq,
            send_memory,
            ecn,
            pending_out,
            nagle_push,
            push_once,
            more_hold,
            chrono,
            last_data_sent,
            pace_next,
            pace_held,
            pace_catch_up,
            pace_exempt,
            loss_until,
            gso_psh,
            gso_mark,
            gso_at,
            probe_pending,
            probes,
            last_rcv,
            retrans_stamp,
            last_oow_ack,
            orphaned,
            ctl,
            events,
            error,
            soft_error,
            stats,
        );
        fields.sort_unstable();
        let total = size_of::<Connection>();
        for (i, &(offset, name)) in fields.iter().enumerate() {
            let end = fields.get(i + 1).map_or(total, |&(next, _)| next);
            add_part(parts, name, end - offset);
        }
        add_part(parts, "heap: congestion control", self.cc.heap_bytes());
        if let Some((name, bytes)) = self.loss.heap() {
            add_part(parts, name, bytes);
        }
        if self.mtu_search.is_some() {
            add_part(
                parts,
                "heap: MTU probing",
                size_of::<super::mtu_probe::MtuSearch>(),
            );
        }
        if self.frto.is_some() {
            add_part(
                parts,
                "heap: F-RTO episode",
                size_of::<crate::recovery::Frto>(),
            );
        }
        if self.send_memory.is_some() {
            add_part(
                parts,
                "heap: send memory accounting",
                size_of::<super::send_memory::SendMemory>(),
            );
        }
        if self.bsd.is_some() {
            add_part(
                parts,
                "heap: FreeBSD rules",
                size_of::<super::input_bsd::BsdState>(),
            );
        }
        add_part(parts, "heap: rare counters", self.stats.heap_bytes());
        add_part(parts, "heap: probe timers", self.probes.heap_bytes());
        add_part(parts, "heap: rare socket options", self.opts.heap_bytes());
        let queues = self.pending_out.heap_bytes()
            + self
                .ctl
                .as_deref()
                .map_or(0, |c| size_of_val(c) + deque_bytes(c));
        add_part(parts, "heap: output queues", queues);
        add_part(
            parts,
            "heap: receive buffer bookkeeping",
            self.recv_buf.heap_bytes(),
        );
        add_part(
            parts,
            "heap: send buffer bookkeeping",
            self.send_buf.heap_bytes(),
        );
        add_part(parts, "heap: write queue", self.wq.heap_bytes());
        add_part(
            parts,
            "heap: receive window (FreeBSD)",
            self.rwnd.heap_bytes(),
        );
    }
}
