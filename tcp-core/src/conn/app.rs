//! The application's calls on a connection (RFC 9293 §3.10.1-§3.10.6: SEND, RECEIVE,
//! CLOSE, ABORT) and its socket options: writes into the send buffer with Linux's
//! memory rules, reads from the receive buffer (with the window update they may cause),
//! shutdown, close and abort, Nagle, cork, keepalive, quick ACK, user timeout, MSS.

use super::phase::Phase;
use super::send_buf::SendBuffer;
use super::{Connection, State, WriteFlags, send_memory, tcp_info, write_queue};
use crate::config::Keepalive;
use crate::error::{ReadError, StateError, WriteError};
use crate::recovery::CongestionControl;
use crate::time::{Duration, Instant};
use crate::wire::TcpFlags;
use alloc::boxed::Box;
use bytes::Bytes;

impl Connection {
    /// Bytes that `write` would accept now: the free send buffer, and nothing while
    /// the unsent bytes are at or above `TCP_NOTSENT_LOWAT` or, with a send buffer set by
    /// [`Connection::set_send_buffer`], while it is full and the last queued segment has
    /// no room left.
    pub fn send_space(&self) -> usize {
        if self.can_write() && self.notsent_below(1) && self.memory_allows_write() {
            self.send_buf.free()
        } else {
            0
        }
    }

    /// Whether the application should be told it may write (`poll`'s POLLOUT, the
    /// `Writable` event): free space, and with `TCP_NOTSENT_LOWAT` fewer than half of it
    /// unsent (Linux's `tcp_stream_memory_free` with `wake`); with a send buffer set by
    /// [`Connection::set_send_buffer`], free memory of at least half of what is queued
    /// (`sk_stream_write_space`).
    pub fn is_writable(&self) -> bool {
        self.can_write()
            && self.send_buf.free() > 0
            && self.notsent_below(2)
            && self
                .send_memory
                .as_deref()
                .is_none_or(|m| m.is_writeable(self.send_memory_queued()))
    }

    /// Sizes the send buffer as Linux's `SO_SNDBUF` does on a socket (`limit` is
    /// `sk_sndbuf`, which Linux sets to twice the value passed): the send queue is
    /// counted in memory, each queued or unacknowledged segment costing its payload plus
    /// a fixed overhead, a write starts a new segment only while less than `limit` is
    /// used, and a blocked writer is told it may write again once the free memory is at
    /// least half of what is used. The configured `send_buffer` stays the payload
    /// capacity. `None` returns to that capacity alone.
    pub fn set_send_buffer(&mut self, limit: Option<u32>) {
        self.send_memory =
            limit.map(|l| Box::new(send_memory::SendMemory::new(l, self.snd.una, self.snd.max)));
    }

    /// The send buffer set by [`Connection::set_send_buffer`], if any.
    pub fn send_buffer_limit(&self) -> Option<u32> {
        self.send_memory
            .as_deref()
            .map(send_memory::SendMemory::limit)
    }

    /// The memory the send queue uses, as Linux's `sk_wmem_queued` (`SO_MEMINFO`'s
    /// `SK_MEMINFO_WMEM_QUEUED`) counts it when a send buffer was set with
    /// [`Connection::set_send_buffer`]; otherwise the queued payload.
    pub fn send_memory_queued(&self) -> u32 {
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        let payload = if data_end.gt(self.snd.una) {
            data_end.since(self.snd.una)
        } else {
            0
        };
        self.send_memory
            .as_deref()
            .map_or(payload, |m| m.queued(payload, self.wq.skb_count()))
    }

    /// `sk_stream_memory_free`: a new skb may start (always without a set send buffer).
    fn memory_allows_new_skb(&self) -> bool {
        self.send_memory
            .as_deref()
            .is_none_or(|m| m.may_grow(self.send_memory_queued()))
    }

    /// A write can take at least one byte: a new skb may start or the tail one has room.
    fn memory_allows_write(&self) -> bool {
        if self.send_memory.is_none() || self.memory_allows_new_skb() {
            return true;
        }
        let write_seq = self.buf_seq + self.send_buf.len() as u32;
        let size_goal = write_queue::WriteQueue::size_goal(self.eff_mss(), self.snd.max_wnd);
        !self.wq.needs_new_skb(write_seq, size_goal)
    }

    /// Linux's `TCP_NOTSENT_LOWAT`: `None` lifts the limit.
    pub fn set_notsent_lowat(&mut self, lowat: Option<u32>) {
        self.opts.set_notsent_lowat(lowat);
    }

    /// Bytes queued and not yet sent.
    pub fn notsent_bytes(&self) -> u32 {
        let data_end = self.buf_seq + self.send_buf.len() as u32;
        if data_end.gt(self.snd.max) {
            data_end.since(self.snd.max)
        } else {
            0
        }
    }

    /// `tcp_stream_memory_free`: the unsent bytes, times `factor`, are below the limit.
    fn notsent_below(&self, factor: u64) -> bool {
        self.opts
            .notsent_lowat()
            .is_none_or(|l| u64::from(self.notsent_bytes()) * factor < u64::from(l))
    }

    /// In-order bytes waiting to be read.
    pub fn recv_available(&self) -> usize {
        self.recv_buf.readable()
    }

    fn can_write(&self) -> bool {
        !self.fin_queued
            && matches!(
                self.state(),
                State::SynSent | State::SynRcvd | State::Established | State::CloseWait
            )
    }

    fn write_check(&self) -> Result<(), WriteError> {
        if let Some(e) = self.error {
            return Err(WriteError::Failed(e));
        }
        if self.fin_queued {
            return Err(WriteError::Closed);
        }
        if self.can_write() {
            Ok(())
        } else {
            Err(WriteError::NotConnected)
        }
    }

    /// Copies as much of `data` into the send buffer as fits and returns how much
    /// (RFC 9293 §3.10.2). Data written before the handshake completes is sent after it.
    pub fn write(&mut self, now: Instant, data: &[u8]) -> Result<usize, WriteError> {
        self.write_with(now, data, WriteFlags::default())
    }

    /// [`Connection::write`] with `send(2)` flags: [`WriteFlags::more`] (`MSG_MORE`) and
    /// [`WriteFlags::end_of_record`] (`MSG_EOR`).
    pub fn write_with(
        &mut self,
        now: Instant,
        data: &[u8],
        flags: WriteFlags,
    ) -> Result<usize, WriteError> {
        self.write_check()?;
        let n = data.len().min(self.send_space());
        let n = self.queue_write(now, n, flags, |buf, range| {
            buf.push_slice(data.get(range).unwrap_or_default());
        });
        self.note_blocked(now, n < data.len());
        self.after_write(n, data.len())
    }

    /// Like [`Connection::write`] but takes owned data without copying it: the bytes go to
    /// the wire as slices of `data`.
    pub fn write_bytes(&mut self, now: Instant, data: Bytes) -> Result<usize, WriteError> {
        self.write_check()?;
        let want = data.len();
        let n = want.min(self.send_space());
        let n = self.queue_write(now, n, WriteFlags::default(), |buf, range| {
            buf.push_bytes(data.slice(range));
        });
        self.note_blocked(now, n < want);
        self.after_write(n, want)
    }

    /// Queues `n` bytes of one write, piece by piece as Linux's `tcp_sendmsg_locked` fills
    /// its skbs (see `write_queue`), sending at once where Linux does in the middle of a
    /// write; `push(buf, range)` appends bytes `range` of the write to the send buffer.
    fn queue_write(
        &mut self,
        now: Instant,
        n: usize,
        flags: WriteFlags,
        mut push: impl FnMut(&mut SendBuffer, core::ops::Range<usize>),
    ) -> usize {
        self.more_hold = flags.more;
        self.restart_after_idle(now);
        if n > 0 && self.send_buf.is_empty() {
            // Data queued where none was: the sender is busy (tcp_add_write_queue_tail).
            self.chrono.start(now, tcp_info::Chrono::Busy);
        }
        let mss = self.eff_mss();
        let size_goal = write_queue::WriteQueue::size_goal(mss, self.snd.max_wnd);
        let half_window = self.snd.max_wnd / 2;
        let mut off = 0usize;
        while off < n {
            let write_seq = self.buf_seq + self.send_buf.len() as u32;
            if self.wq.needs_new_skb(write_seq, size_goal)
                && (!self.notsent_below(1) || !self.memory_allows_new_skb())
            {
                // A new skb needs stream memory (sk_stream_memory_free): the write stops
                // here while too much waits unsent or the send buffer set by the
                // application is used up.
                break;
            }
            let left = u32::try_from(n - off).unwrap_or(u32::MAX);
            let (copy, what) =
                self.wq
                    .write_step(write_seq, left, size_goal, half_window, off == 0);
            let copy = (copy as usize).max(1).min(n - off);
            push(&mut self.send_buf, off..off + copy);
            off += copy;
            if what != write_queue::Push::None && self.state().is_synchronized() {
                self.push_now(now, what == write_queue::Push::One);
            }
        }
        if off > 0 {
            let end = self.buf_seq + self.send_buf.len() as u32;
            self.wq
                .end_write(end, flags.more, flags.end_of_record, half_window);
        }
        off
    }

    /// Linux's `tcp_slow_start_after_idle_check` when a write queues data: with nothing
    /// in flight and no data sent for more than an RTO, the congestion window restarts
    /// (see [`crate::config::Config::slow_start_after_idle`]).
    pub(super) fn restart_after_idle(&mut self, now: Instant) {
        if !self.cfg.slow_start_after_idle
            || self.snd.una != self.snd.max
            || !self.state().is_synchronized()
        {
            return;
        }
        // Linux compares in jiffies (4 ms at HZ=250): strictly more than one RTO.
        let jiffy = |d: Duration| d.as_millis() / 4;
        let idle = now.saturating_duration_since(self.last_data_sent);
        let rto = self.current_rto();
        if jiffy(idle) > jiffy(rto) {
            let smss = self.eff_mss();
            self.cc
                .on_idle_restart(idle, rto, self.cfg.initial_window, smss);
        }
    }

    /// A write could not take everything: if all that is queued was already sent, the
    /// send buffer, not the network, limits the sender (`TCP_CHRONO_SNDBUF_LIMITED`).
    fn note_blocked(&mut self, now: Instant, short: bool) {
        let unsent = self.snd.max.lt(self.buf_seq + self.send_buf.len() as u32);
        if short && !unsent && matches!(self.state(), State::Established | State::CloseWait) {
            self.chrono.start(now, tcp_info::Chrono::SndbufLimited);
        }
    }

    fn after_write(&mut self, n: usize, want: usize) -> Result<usize, WriteError> {
        if n < want {
            self.write_blocked = true;
        }
        if n == 0 && want > 0 {
            return Err(WriteError::WouldBlock);
        }
        Ok(n)
    }

    fn read_check(&self) -> Result<bool, ReadError> {
        if self.recv_buf.readable() > 0 {
            return Ok(true);
        }
        if self.fin_received {
            return Ok(false);
        }
        if let Some(e) = self.error {
            return Err(ReadError::Failed(e));
        }
        if self.orphaned {
            return Err(ReadError::NotConnected);
        }
        match self.state() {
            State::SynSent
            | State::SynRcvd
            | State::Established
            | State::FinWait1
            | State::FinWait2 => Err(ReadError::WouldBlock),
            State::Closed | State::Listen => Err(ReadError::NotConnected),
            _ => Ok(false),
        }
    }

    /// Copies received in-order data into `buf`. `Ok(0)` with a non-empty `buf` means
    /// end-of-stream: the peer's FIN arrived and everything before it has been read.
    pub fn read(&mut self, now: Instant, buf: &mut [u8]) -> Result<usize, ReadError> {
        if !self.read_check()? || buf.is_empty() {
            return Ok(0);
        }
        let held = self.recv_buf.readable();
        let n = self.recv_buf.read(buf);
        self.after_read(now, held, n);
        Ok(n)
    }

    /// Hands out up to `max` bytes of received data without copying. `Ok(None)` means
    /// end-of-stream.
    pub fn read_bytes(&mut self, now: Instant, max: usize) -> Result<Option<Bytes>, ReadError> {
        if !self.read_check()? {
            return Ok(None);
        }
        let held = self.recv_buf.readable();
        let out = self.recv_buf.read_bytes(max.max(1));
        let n = out.as_ref().map_or(0, Bytes::len);
        self.after_read(now, held, n);
        Ok(out)
    }

    /// After the application read `copied` of `held` in-order bytes: free their memory,
    /// let the buffer grow if the reader keeps up (`tcp_rcv_space_adjust`), and send an ACK
    /// that was held back, or a window update when the window can at least double
    /// (`tcp_cleanup_rbuf`).
    fn after_read(&mut self, now: Instant, held: usize, copied: usize) {
        self.rwnd.uncharge(copied, held);
        if !self.state().is_synchronized() {
            return;
        }
        let read_total = self.recv_buf.next() - self.recv_buf.readable() as u64;
        self.rwnd
            .space_adjust(now, read_total, self.recv_buf.readable());
        let more_than_mss = self.rwnd.unannounced(self.rcv.nxt) > self.ack.rcv_mss();
        let drained = self.rwnd.rmem() == 0;
        // FreeBSD's read sends no held-back ACK, only a window update (tcp_usr_rcvd).
        let mut time_to_ack =
            !self.rwnd.is_bsd() && self.ack.after_read(copied, more_than_mss, drained);
        if copied > 0 && !time_to_ack && !self.fin_received {
            let rcv_mss = self.ack.rcv_mss();
            time_to_ack = self.rwnd.worth_update(self.rcv.nxt, rcv_mss, &mut self.ack);
        }
        if time_to_ack {
            self.ack_now = true;
        }
    }

    /// Closes the sending direction (SHUT_WR): a FIN follows the buffered data
    /// (RFC 9293 §3.10.4). Reading continues.
    pub fn shutdown(&mut self) -> Result<(), StateError> {
        if let Some(e) = self.error {
            return Err(StateError::Failed(e));
        }
        match self.state() {
            State::SynSent | State::SynRcvd | State::Established => {
                // In SYN-SENT the FIN waits for the handshake, so data already written is
                // still delivered (Linux instead closes a SYN_SENT socket on shutdown and
                // discards it; RFC 9293 §3.10.4 allows queuing).
                self.fin_queued = true;
                if self.state() == State::Established {
                    self.enter(Phase::FinWait1);
                }
                Ok(())
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.enter(Phase::LastAck);
                Ok(())
            }
            State::FinWait1
            | State::FinWait2
            | State::Closing
            | State::LastAck
            | State::TimeWait => Ok(()),
            State::Closed | State::Listen => Err(StateError::NotConnected),
        }
    }

    /// Closes the connection for the application (RFC 9293 §3.10.4): no more reads or
    /// writes; buffered data is still delivered, then a FIN. If received data is still
    /// unread, the connection is reset instead, as Linux does (RFC 2525 §2.17).
    pub fn close(&mut self, now: Instant) {
        if self.orphaned {
            return;
        }
        self.orphaned = true;
        match self.state() {
            State::Closed | State::Listen | State::SynSent => self.set_closed(),
            _ if self.recv_buf.readable() > 0 => self.send_reset_and_close(),
            State::SynRcvd | State::Established | State::CloseWait => {
                // shutdown cannot fail in these states.
                let _ = self.shutdown();
            }
            State::FinWait2 => {
                // An orphan waits for the peer's FIN only so long (Linux's tcp_fin_timeout).
                self.enter_orphan_fin_wait_2(now);
            }
            _ => {}
        }
    }

    /// Aborts the connection (RFC 9293 §3.10.5): a RST is sent in synchronized states and
    /// all data is discarded.
    pub fn abort(&mut self) {
        self.orphaned = true;
        match self.state() {
            State::Closed | State::Listen | State::SynSent | State::TimeWait => self.set_closed(),
            _ => self.send_reset_and_close(),
        }
    }

    pub(super) fn send_reset_and_close(&mut self) {
        self.queue_ctl(self.snd.max, self.rcv.nxt, TcpFlags::RST | TcpFlags::ACK);
        self.stats.rare().resets_sent += 1;
        self.set_closed();
    }

    /// Turns Nagle's algorithm off (`true`, like TCP_NODELAY) or on.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.opts.nodelay = nodelay;
        if nodelay {
            // Linux's tcp_sock_set_nodelay pushes what waits, cork or not.
            self.push_once = true;
        }
    }

    /// Whether `TCP_NODELAY` is on.
    pub fn nodelay(&self) -> bool {
        self.opts.nodelay
    }

    /// Linux's `TCP_CORK`: while on, a partial segment waits for more data (or for the
    /// probe timer, about an RTO after nothing is left in flight); turning it off sends
    /// what waits (Nagle still applies unless `TCP_NODELAY` is on).
    pub fn set_cork(&mut self, cork: bool) {
        self.opts.cork = cork;
        if !cork && self.opts.nodelay {
            self.push_once = true;
        }
    }

    /// Turns keepalive on with the given parameters, or off with `None`.
    pub fn set_keepalive(&mut self, keepalive: Option<Keepalive>) {
        self.opts.set_keepalive(keepalive);
        self.probes.update(|p| {
            p.keepalive_probes = 0;
            p.keepalive_last = None;
        });
    }

    /// Linux's `TCP_QUICKACK`: `true` leaves ping-pong mode and sends an ACK that is being
    /// held back; `false` enters ping-pong mode, so ACKs wait for a reply or the delayed-ACK
    /// timer (RFC 9293 §3.8.6.3, RFC 5681 §4.2; see [`crate::config::AckPolicy`]).
    pub fn set_quickack(&mut self, on: bool) {
        self.ack.set_quickack(on);
        if on && matches!(self.state(), State::Established | State::CloseWait) {
            let more_than_mss = self.rwnd.unannounced(self.rcv.nxt) > self.ack.rcv_mss();
            let drained = self.rwnd.rmem() == 0;
            if self.ack.after_read(1, more_than_mss, drained) {
                self.ack_now = true;
            }
        }
    }

    /// Discards every out-of-order byte held for reassembly, to free memory under pressure
    /// (Linux's `tcp_prune_ofo_queue`, which the stack also does by itself when in-order
    /// data finds no room). Returns the bytes freed, also counted in
    /// [`ConnStats::ofo_pruned`](super::ConnStats::ofo_pruned).
    ///
    /// The peer is not told: data it saw SACKed is simply gone, which RFC 2018 §8 allows
    /// (*reneging*). A SACK sender keeps the data until it is cumulatively acknowledged and
    /// sends it again (RFC 6675 §5.1); the next ACKs report no SACK blocks for it. A FIN
    /// that arrived beyond a hole is forgotten too, to be received again.
    pub fn purge_out_of_order(&mut self) -> usize {
        let dropped = self.recv_buf.purge_ooo();
        self.rwnd.ofo_purged();
        self.ooo_fin = None;
        self.stats.add(dropped as u64, |s| &mut s.ofo_pruned);
        dropped
    }

    /// Whether quick-ACK mode is on (`TCP_QUICKACK` as getsockopt reports it: not in
    /// ping-pong mode).
    pub fn quickack(&self) -> bool {
        self.ack.quickack_option()
    }

    /// Sets the RFC 5482 user timeout (`None`: retry counts apply).
    pub fn set_user_timeout(&mut self, timeout: Option<Duration>) {
        self.opts.set_user_timeout(timeout);
    }

    /// Clamps the MSS we send with (like TCP_MAXSEG); takes effect at once.
    pub fn set_max_segment_size(&mut self, mss: u16) {
        self.snd_mss = self
            .snd_mss
            .min(u32::from(mss))
            .max(u32::from(self.cfg.min_mss));
    }
}
