//! Listeners: the SYN queue of compact half-open entries, the accept queue bounded by the
//! backlog, SYN cookies on overflow (RFC 4987), and the incoming-decision mode.

use super::table::FourTuple;
use super::{
    ConnHandle, Endpoint, EndpointEvent, HandleError, SlotKind, SynCookies, cookie, hash,
    slot_holds,
};
use crate::config::SegmentRules;
use crate::conn::{Connection, Handshake, Segment};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant, mul_capped};
use crate::wire::{TcpFlags, TcpHeader};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::Bytes;
use core::net::SocketAddr;

/// Names a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerHandle {
    index: u32,
    generation: u32,
}

/// Names a connection request waiting for the embedder's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncomingHandle {
    index: u32,
    generation: u32,
}

/// How a listener behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenOptions {
    /// Maximum length of the accept queue (the `listen` backlog).
    pub backlog: usize,
    /// Surface each new SYN as [`EndpointEvent::Incoming`] for the embedder to accept,
    /// refuse or ignore (for proxies that dial upstream first), instead of completing the
    /// handshake on its own.
    pub decide: bool,
}

/// A connection request in decision mode: what the SYN said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The listener the request came to.
    pub listener: ListenerHandle,
    /// Our address and port.
    pub local: SocketAddr,
    /// The requester.
    pub remote: SocketAddr,
    /// The MSS the peer announced.
    pub mss: Option<u16>,
    /// The peer's window-scale shift, if offered.
    pub window_scale: Option<u8>,
    /// The peer offered SACK.
    pub sack_permitted: bool,
    /// The peer offered timestamps.
    pub timestamps: bool,
}

/// Errors from [`Endpoint::listen`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// A listener already has this address and port (EADDRINUSE).
    #[error("address in use")]
    AddrInUse,
    /// Port zero cannot be listened on.
    #[error("invalid address")]
    InvalidAddress,
}

#[derive(Debug)]
pub(super) struct Listener {
    addr: SocketAddr,
    opts: ListenOptions,
    accept_queue: VecDeque<ConnHandle>,
    syn_queue: usize,
}

/// A half-open connection in the SYN queue: no buffers, just what the SYN said and what
/// we answered.
#[derive(Debug)]
pub(super) struct HalfOpen {
    pub(super) tuple: FourTuple,
    listener: ListenerHandle,
    syn: TcpHeader,
    iss: SeqNum,
    ts_offset: u32,
    retries: u32,
    pub(super) deadline: Instant,
}

#[derive(Debug)]
pub(super) struct PendingIncoming {
    pub(super) tuple: FourTuple,
    listener: ListenerHandle,
    syn: TcpHeader,
    pub(super) expires: Instant,
}

/// How long an `Incoming` waits for a decision before it is dropped.
const INCOMING_TIMEOUT: Duration = Duration::from_secs(75);

impl Endpoint {
    /// Listens on `addr` (a specific or unspecified IP) with an accept queue of `backlog`.
    pub fn listen(
        &mut self,
        addr: SocketAddr,
        backlog: usize,
    ) -> Result<ListenerHandle, ListenError> {
        self.listen_with(
            addr,
            ListenOptions {
                backlog,
                decide: false,
            },
        )
    }

    /// Listens with explicit options.
    pub fn listen_with(
        &mut self,
        addr: SocketAddr,
        opts: ListenOptions,
    ) -> Result<ListenerHandle, ListenError> {
        if addr.port() == 0 {
            return Err(ListenError::InvalidAddress);
        }
        if self.listeners.iter().flatten().any(|l| l.addr == addr) {
            return Err(ListenError::AddrInUse);
        }
        let l = Listener {
            addr,
            opts,
            accept_queue: VecDeque::new(),
            syn_queue: 0,
        };
        let index = match self.listeners.iter().position(Option::is_none) {
            Some(i) => {
                self.listeners[i] = Some(l);
                i
            }
            None => {
                self.listeners.push(Some(l));
                self.listener_generations.push(0);
                self.listeners.len() - 1
            }
        };
        Ok(ListenerHandle {
            index: index as u32,
            generation: self.listener_generations[index],
        })
    }

    fn listener_mut(&mut self, h: ListenerHandle) -> Result<&mut Listener, HandleError> {
        if self.listener_generations.get(h.index as usize) != Some(&h.generation) {
            return Err(HandleError::Stale);
        }
        self.listeners
            .get_mut(h.index as usize)
            .and_then(Option::as_mut)
            .ok_or(HandleError::Stale)
    }

    /// Takes the oldest established connection from the accept queue; `Ok(None)` when
    /// it is empty.
    pub fn accept(&mut self, l: ListenerHandle) -> Result<Option<ConnHandle>, HandleError> {
        let Some(h) = self.listener_mut(l)?.accept_queue.pop_front() else {
            return Ok(None);
        };
        if let Some(super::Slot {
            kind: SlotKind::Conn(e),
            ..
        }) = self.slots.get_mut(h.index as usize)
        {
            e.queued_for = None;
            // Events it collected while queued go out now.
            if e.conn.has_events() {
                self.mark_ready(h.index);
            }
        }
        Ok(Some(h))
    }

    /// Length of a listener's accept queue and SYN queue.
    pub fn queue_lengths(&mut self, l: ListenerHandle) -> Result<(usize, usize), HandleError> {
        let l = self.listener_mut(l)?;
        Ok((l.accept_queue.len(), l.syn_queue))
    }

    /// Stops listening: half-open entries are dropped and connections not yet accepted are
    /// reset.
    pub fn close_listener(&mut self, now: Instant, l: ListenerHandle) -> Result<(), HandleError> {
        let listener = self.listener_mut(l)?;
        let queued: alloc::vec::Vec<ConnHandle> = listener.accept_queue.drain(..).collect();
        self.listeners[l.index as usize] = None;
        self.listener_generations[l.index as usize] =
            self.listener_generations[l.index as usize].wrapping_add(1);
        for h in queued {
            if let Some(super::Slot {
                kind: SlotKind::Conn(e),
                ..
            }) = self.slots.get_mut(h.index as usize)
            {
                e.conn.abort();
                e.app_closed = true;
                e.queued_for = None;
                self.after_conn(h.index, now);
            }
        }
        for i in 0..self.slots.len() as u32 {
            let tuple = match &self.slots[i as usize].kind {
                SlotKind::HalfOpen(h) if h.listener == l => h.tuple,
                SlotKind::Incoming(p) if p.listener == l => p.tuple,
                _ => continue,
            };
            self.table
                .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
            self.free_slot(i);
        }
        Ok(())
    }

    fn find_listener(&self, local: SocketAddr) -> Option<ListenerHandle> {
        let mut wildcard = None;
        for (i, l) in self.listeners.iter().enumerate() {
            let Some(l) = l else { continue };
            if l.addr.port() != local.port() || l.addr.is_ipv4() != local.is_ipv4() {
                continue;
            }
            let h = ListenerHandle {
                index: i as u32,
                generation: self.listener_generations[i],
            };
            if l.addr.ip() == local.ip() {
                return Some(h);
            }
            if l.addr.ip().is_unspecified() {
                wildcard = Some(h);
            }
        }
        wildcard
    }

    /// The SYN-ACK answering `syn` from `remote`, built by the connection code itself so it
    /// is identical to what a `Connection` in SYN_RCVD sends; it offers an MSS that fits
    /// the path MTU known for `remote` (Linux's tcp_make_synack takes the advertised MSS
    /// from the route, whose MTU a packet too big lowered).
    fn synack(
        &mut self,
        now: Instant,
        syn: &TcpHeader,
        remote: core::net::IpAddr,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Option<Segment> {
        let mut c = Connection::accept(self.cfg.clone(), now, syn, iss, ts_offset).ok()?;
        self.pmtu.apply(&mut c, remote, now);
        c.poll_transmit(now)
    }

    /// A segment for no connection: a listener may take it (RFC 9293 §3.10.7.2).
    pub(super) fn segment_for_listener(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        h: &TcpHeader,
        payload: Bytes,
    ) {
        let f = h.flags;
        let Some(lh) = self.find_listener(tuple.local) else {
            self.reset_unmatched(now, tuple, h, payload.len());
            return;
        };
        if f.contains(TcpFlags::RST) {
            return; // "first check for an RST": ignore it
        }
        let bsd = self.cfg.segment_rules == SegmentRules::Bsd;
        if bsd && f.contains(TcpFlags::SYN | TcpFlags::ACK) {
            // A SYN-ACK for a listener is dropped unanswered (FreeBSD 11's tcp_input, as
            // the FreeBSD tcp-testsuite expects).
            self.stats.no_match += 1;
            return;
        }
        if f.contains(TcpFlags::SYN | TcpFlags::FIN) && self.cfg.drop_synfin {
            // net.inet.tcp.drop_synfin (tcp_input's listen path).
            self.stats.no_match += 1;
            return;
        }
        if f.contains(TcpFlags::ACK) {
            if !f.contains(TcpFlags::SYN) && self.ep.syncookies != SynCookies::Never {
                if let Some(mss) = cookie::check(&self.ep.secret, &tuple, h.seq, h.ack, now) {
                    self.cookie_connection(now, lh, tuple, h, payload, mss);
                    return;
                }
                self.stats.cookies_failed += 1;
            }
            // "second check for an ACK": <SEQ=SEG.ACK><CTL=RST>.
            self.reset_unmatched(now, tuple, h, payload.len());
            return;
        }
        if !f.contains(TcpFlags::SYN) {
            return;
        }
        self.stats.syns_received += 1;
        let max_syn = self.ep.max_syn_backlog;
        let cookies = self.ep.syncookies;
        let Ok(l) = self.listener_mut(lh) else { return };
        if l.accept_queue.len() >= l.opts.backlog {
            // Linux drops SYNs while the accept queue is full: the client retries.
            self.stats.accept_queue_overflow += 1;
            return;
        }
        let full = l.syn_queue >= max_syn;
        if l.opts.decide {
            if full {
                self.stats.syn_queue_overflow += 1;
                return;
            }
            l.syn_queue += 1;
            let i = self.alloc_slot(SlotKind::Incoming(Box::new(PendingIncoming {
                tuple,
                listener: lh,
                syn: *h,
                expires: now + INCOMING_TIMEOUT,
            })));
            self.table.insert(&tuple, i);
            self.schedule(i, now);
            self.stats.incoming += 1;
            let generation = self.slots[i as usize].generation;
            self.events
                .push_back(EndpointEvent::Incoming(IncomingHandle {
                    index: i,
                    generation,
                }));
            return;
        }
        if cookies == SynCookies::Always || (cookies == SynCookies::OnOverflow && full) {
            self.send_cookie(now, tuple, h);
            return;
        }
        if full {
            self.stats.syn_queue_overflow += 1;
            return;
        }
        l.syn_queue += 1;
        let iss = hash::isn(&self.ep.secret, tuple.local, tuple.remote, now);
        let tso = hash::ts_offset(&self.ep.secret, tuple.local, tuple.remote);
        if let Some(seg) = self.synack(now, h, tuple.remote.ip(), iss, tso) {
            self.push_control(tuple, seg);
        }
        let i = self.alloc_slot(SlotKind::HalfOpen(Box::new(HalfOpen {
            tuple,
            listener: lh,
            syn: *h,
            iss,
            ts_offset: tso,
            retries: 0,
            deadline: now + self.cfg.initial_rto,
        })));
        self.table.insert(&tuple, i);
        self.schedule(i, now);
    }

    fn send_cookie(&mut self, now: Instant, tuple: FourTuple, syn: &TcpHeader) {
        let idx = cookie::mss_index(syn.options.mss.unwrap_or(536));
        let iss = cookie::make(&self.ep.secret, &tuple, syn.seq, now, idx);
        let tso = hash::ts_offset(&self.ep.secret, tuple.local, tuple.remote);
        let Some(mut seg) = self.synack(now, syn, tuple.remote.ip(), iss, tso) else {
            return;
        };
        // Without timestamps on the SYN-ACK (the peer did not offer them, or we do not use
        // them) the cookie has nowhere to remember window scaling and SACK, so the SYN-ACK
        // does not offer them (as Linux's cookie_init_timestamp fallback).
        // Nor ECN (tcp_conn_request: no timestamps, no ecn_ok).
        if seg.header.options.timestamps.is_none() {
            seg.header.options.window_scale = None;
            seg.header.options.sack_permitted = false;
            seg.header.flags.remove(crate::wire::TcpFlags::ECE);
        }
        // With timestamps, the options we must remember ride in the low bits of TSval.
        let opts = cookie::TsOptions {
            wscale: seg
                .header
                .options
                .window_scale
                .and(syn.options.window_scale),
            sack: seg.header.options.sack_permitted,
            ecn: seg.header.flags.contains(crate::wire::TcpFlags::ECE),
        };
        if let Some(ts) = seg.header.options.timestamps.as_mut() {
            ts.val = cookie::encode_ts(ts.val, opts);
        }
        self.stats.cookies_sent += 1;
        self.push_control(tuple, seg);
    }

    /// The final ACK carried a valid cookie: create the connection (RFC 4987 §3.6).
    fn cookie_connection(
        &mut self,
        now: Instant,
        lh: ListenerHandle,
        tuple: FourTuple,
        h: &TcpHeader,
        payload: Bytes,
        mss: u16,
    ) {
        let Ok(l) = self.listener_mut(lh) else { return };
        if l.accept_queue.len() >= l.opts.backlog {
            self.stats.accept_queue_overflow += 1;
            return;
        }
        let opts = h
            .options
            .timestamps
            .map_or(cookie::TsOptions::default(), |ts| cookie::decode_ts(ts.ecr));
        let hs = Handshake {
            local_port: tuple.local.port(),
            remote_port: tuple.remote.port(),
            iss: h.ack - 1,
            irs: h.seq - 1,
            peer_mss: Some(mss),
            peer_wscale: opts.wscale.filter(|_| self.cfg.window_scaling),
            sack: opts.sack && self.cfg.sack,
            ts_recent: h
                .options
                .timestamps
                .filter(|_| self.cfg.timestamps)
                .map(|t| t.val),
            ts_offset: hash::ts_offset(&self.ep.secret, tuple.local, tuple.remote),
            peer_window: h.window,
        };
        self.stats.cookies_validated += 1;
        let mut conn = Connection::from_handshake(self.cfg.clone(), now, &hs);
        // ECN as the cookie's timestamp bits remember it (Linux's cookie_ecn_ok).
        conn.ecn_from_cookie(opts.ecn);
        self.pmtu.apply(&mut conn, tuple.remote.ip(), now);
        conn.handle_segment_ecn(now, h, payload, self.rx_ecn);
        let i = self.insert_conn(conn, tuple, Some(lh));
        self.enqueue_accept(lh, i);
        self.after_conn(i, now);
    }

    fn enqueue_accept(&mut self, lh: ListenerHandle, i: u32) {
        let h = self.handle_of(i);
        self.stats.connections_established += 1;
        if let Ok(l) = self.listener_mut(lh) {
            l.accept_queue.push_back(h);
            self.events.push_back(EndpointEvent::Acceptable(lh));
        }
    }

    /// A segment for a half-open entry (RFC 9293 §3.10.7.4 in SYN-RECEIVED).
    pub(super) fn half_open_segment(
        &mut self,
        now: Instant,
        i: u32,
        tuple: FourTuple,
        h: &TcpHeader,
        payload: Bytes,
    ) {
        let Some(super::Slot {
            kind: SlotKind::HalfOpen(ho),
            ..
        }) = self.slots.get_mut(i as usize)
        else {
            return;
        };
        let f = h.flags;
        let irs = ho.syn.seq;
        if f.contains(TcpFlags::RST) && self.cfg.segment_rules == SegmentRules::Bsd {
            // FreeBSD's syncache_chkrst: a RST inside the SYN-ACK's window (unscaled, at
            // most 65535) removes the entry when exact (or with RFC 5961 off), else draws
            // a challenge ACK (syncache_respond with TH_ACK); outside it is ignored.
            let wnd = u32::try_from(self.cfg.recv_buffer)
                .unwrap_or(u32::MAX)
                .min(0xffff);
            let off = h.seq.diff(irs + 1);
            if off == 0 || (off > 0 && (off as u32) < wnd && !self.cfg.rst_challenge) {
                self.drop_half_open(i);
            } else if off > 0 && (off as u32) < wnd {
                let seg = half_open_ack(&self.cfg, now, ho, wnd);
                self.push_control(tuple, seg);
            }
            return;
        }
        if f.contains(TcpFlags::RST) {
            // RFC 5961 §3.2: only an exact RST removes the entry.
            if h.seq == irs + 1 {
                self.drop_half_open(i);
            }
            return;
        }
        if f.contains(TcpFlags::SYN) {
            if !f.contains(TcpFlags::ACK) && h.seq == irs {
                // Our SYN-ACK was lost: the peer retransmitted its SYN.
                let (syn, iss, tso) = (ho.syn, ho.iss, ho.ts_offset);
                if let Some(seg) = self.synack(now, &syn, tuple.remote.ip(), iss, tso) {
                    self.push_control(tuple, seg);
                }
            }
            return;
        }
        if !f.contains(TcpFlags::ACK) {
            return;
        }
        if h.ack != ho.iss + 1 {
            // Unacceptable ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
            self.reset_unmatched(now, tuple, h, payload.len());
            return;
        }
        let lh = ho.listener;
        // Linux's tcp_synack_rtt_meas: the SYN-ACK to final-ACK time is the first RTT
        // sample (RFC 6298 §2.2), unless the SYN-ACK was retransmitted (Karn).
        let synack_rtt = (ho.retries == 0)
            .then(|| now.saturating_duration_since(ho.deadline - self.cfg.initial_rto));
        let full = self
            .listener_mut(lh)
            .map_or(true, |l| l.accept_queue.len() >= l.opts.backlog);
        if full {
            // Linux drops the final ACK while the accept queue is full; the entry stays
            // and its SYN-ACK retransmissions make the client ACK again.
            self.stats.accept_queue_overflow += 1;
            return;
        }
        let Some(super::Slot {
            kind: SlotKind::HalfOpen(ho),
            ..
        }) = self.slots.get_mut(i as usize)
        else {
            return;
        };
        let syn = ho.syn;
        let o = syn.options;
        let hs = Handshake {
            local_port: tuple.local.port(),
            remote_port: tuple.remote.port(),
            iss: ho.iss,
            irs,
            peer_mss: o.mss,
            peer_wscale: o.window_scale.filter(|_| self.cfg.window_scaling),
            sack: o.sack_permitted && self.cfg.sack,
            ts_recent: o.timestamps.filter(|_| self.cfg.timestamps).map(|t| t.val),
            ts_offset: ho.ts_offset,
            peer_window: h.window,
        };
        let mut conn = Connection::from_handshake(self.cfg.clone(), now, &hs);
        self.pmtu.apply(&mut conn, tuple.remote.ip(), now);
        // The SYN asked for ECN and our SYN-ACK agreed (RFC 3168 §6.1.1).
        conn.ecn_from_syn(&syn);
        if let Some(rtt) = synack_rtt {
            conn.handshake_rtt_sample(now, rtt);
        }
        conn.handle_segment_ecn(now, h, payload, self.rx_ecn);
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.kind = SlotKind::Conn(Box::new(super::ConnEntry::new(conn, tuple, Some(lh), true)));
            s.armed = None;
        }
        if let Ok(l) = self.listener_mut(lh) {
            l.syn_queue = l.syn_queue.saturating_sub(1);
        }
        self.enqueue_accept(lh, i);
        self.after_conn(i, now);
    }

    pub(super) fn drop_half_open(&mut self, i: u32) {
        let Some(super::Slot {
            kind: SlotKind::HalfOpen(ho),
            ..
        }) = self.slots.get(i as usize)
        else {
            return;
        };
        let (tuple, lh) = (ho.tuple, ho.listener);
        if let Ok(l) = self.listener_mut(lh) {
            l.syn_queue = l.syn_queue.saturating_sub(1);
        }
        self.table
            .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
        self.free_slot(i);
    }

    /// An ICMP error about the SYN-ACK of half-open entry `i` (Linux's `tcp_req_err`): if
    /// it quotes our ISN and says the peer cannot be reached (network or host unreachable,
    /// time exceeded, parameter problem), the entry goes; otherwise it stays.
    pub(super) fn half_open_icmp(&mut self, i: u32, err: &crate::wire::IcmpError) -> bool {
        let Some(super::Slot {
            kind: SlotKind::HalfOpen(ho),
            ..
        }) = self.slots.get(i as usize)
        else {
            return false;
        };
        if err.seq != ho.iss {
            return false;
        }
        // tcp_v4_err: parameter problem, time exceeded, network or host unreachable;
        // tcp_v6_err: what icmpv6_err_convert calls fatal.
        let abort = if err.local.is_ipv4() {
            matches!(err.type_code, (12 | 11, _) | (3, 0 | 1))
        } else {
            matches!(err.type_code, (1, 0 | 1 | 3 | 4) | (4, _))
        };
        if abort {
            self.drop_half_open(i);
        }
        true
    }

    /// SYN-ACK retransmission timer of a half-open entry: back off and resend up to
    /// `synack_retries` times, then drop the entry after one more timeout.
    pub(super) fn half_open_timeout(&mut self, now: Instant, i: u32) {
        let limit = self.cfg.synack_retries;
        let Some(super::Slot {
            kind: SlotKind::HalfOpen(ho),
            ..
        }) = self.slots.get_mut(i as usize)
        else {
            return;
        };
        if ho.deadline > now {
            self.schedule(i, now);
            return;
        }
        if ho.retries >= limit {
            self.stats.half_open_timeouts += 1;
            self.drop_half_open(i);
            return;
        }
        ho.retries += 1;
        let k = 1u32 << ho.retries.min(16);
        ho.deadline = now + mul_capped(self.cfg.initial_rto, k, self.cfg.max_rto);
        let (syn, iss, tso, tuple) = (ho.syn, ho.iss, ho.ts_offset, ho.tuple);
        self.stats.synack_retransmits += 1;
        if let Some(seg) = self.synack(now, &syn, tuple.remote.ip(), iss, tso) {
            self.push_control(tuple, seg);
        }
        self.schedule(i, now);
    }

    fn incoming_entry(&self, h: IncomingHandle) -> Result<&PendingIncoming, HandleError> {
        match self.slots.get(h.index as usize) {
            Some(super::Slot {
                generation,
                kind: SlotKind::Incoming(p),
                ..
            }) if *generation == h.generation => Ok(p),
            _ => Err(HandleError::Stale),
        }
    }

    /// What a pending connection request said.
    pub fn incoming(&self, h: IncomingHandle) -> Result<Incoming, HandleError> {
        let p = self.incoming_entry(h)?;
        let o = p.syn.options;
        Ok(Incoming {
            listener: p.listener,
            local: p.tuple.local,
            remote: p.tuple.remote,
            mss: o.mss,
            window_scale: o.window_scale,
            sack_permitted: o.sack_permitted,
            timestamps: o.timestamps.is_some(),
        })
    }

    /// Accepts a pending request: the SYN-ACK goes out and the connection is the
    /// embedder's at once (it does not pass through the accept queue).
    pub fn accept_incoming(
        &mut self,
        now: Instant,
        h: IncomingHandle,
    ) -> Result<ConnHandle, HandleError> {
        let p = self.incoming_entry(h)?;
        let (tuple, syn, lh) = (p.tuple, p.syn, p.listener);
        let iss = hash::isn(&self.ep.secret, tuple.local, tuple.remote, now);
        let tso = hash::ts_offset(&self.ep.secret, tuple.local, tuple.remote);
        let mut conn = Connection::accept(self.cfg.clone(), now, &syn, iss, tso)
            .map_err(|_| HandleError::Stale)?;
        self.pmtu.apply(&mut conn, tuple.remote.ip(), now);
        if let Ok(l) = self.listener_mut(lh) {
            l.syn_queue = l.syn_queue.saturating_sub(1);
        }
        if let Some(s) = self.slots.get_mut(h.index as usize) {
            s.kind = SlotKind::Conn(Box::new(super::ConnEntry::new(conn, tuple, None, false)));
            s.armed = None;
        }
        self.after_conn(h.index, now);
        Ok(self.handle_of(h.index))
    }

    /// Refuses a pending request with a RST.
    pub fn refuse_incoming(&mut self, now: Instant, h: IncomingHandle) -> Result<(), HandleError> {
        let p = self.incoming_entry(h)?;
        let (tuple, syn) = (p.tuple, p.syn);
        self.remove_incoming(h.index, tuple);
        self.reset_unmatched(now, tuple, &syn, 0);
        Ok(())
    }

    /// Forgets a pending request without answering; the peer's retransmitted SYN will
    /// surface again.
    pub fn ignore_incoming(&mut self, h: IncomingHandle) -> Result<(), HandleError> {
        let tuple = self.incoming_entry(h)?.tuple;
        self.remove_incoming(h.index, tuple);
        Ok(())
    }

    /// A pending request ends without the embedder's decision (the peer reset it, or it
    /// waited too long): reported as [`EndpointEvent::IncomingGone`].
    pub(super) fn cancel_incoming(&mut self, i: u32, tuple: FourTuple) {
        let generation = self.slots.get(i as usize).map_or(0, |s| s.generation);
        self.remove_incoming(i, tuple);
        self.events
            .push_back(EndpointEvent::IncomingGone(IncomingHandle {
                index: i,
                generation,
            }));
    }

    pub(super) fn remove_incoming(&mut self, i: u32, tuple: FourTuple) {
        if let Some(super::Slot {
            kind: SlotKind::Incoming(p),
            ..
        }) = self.slots.get(i as usize)
        {
            let lh = p.listener;
            if let Ok(l) = self.listener_mut(lh) {
                l.syn_queue = l.syn_queue.saturating_sub(1);
            }
        }
        self.table
            .remove(&tuple, |j, t| slot_holds(&self.slots, j, t));
        self.free_slot(i);
    }
}

/// An ACK from a half-open entry (FreeBSD's `syncache_respond` with `TH_ACK`): SND.NXT
/// after our SYN, the peer's SYN acknowledged, the SYN-ACK's window and our timestamp.
fn half_open_ack(cfg: &crate::config::Config, now: Instant, ho: &HalfOpen, wnd: u32) -> Segment {
    let ts = ho
        .syn
        .options
        .timestamps
        .filter(|_| cfg.timestamps && !cfg.no_options);
    let options = crate::wire::TcpOptions {
        timestamps: ts.map(|t| crate::wire::Timestamps {
            val: (now.as_millis() as u32).wrapping_add(ho.ts_offset),
            ecr: t.val,
        }),
        layout: cfg.option_layout,
        ..Default::default()
    };
    Segment {
        ecn: crate::wire::IpEcn::NotEct,
        header: TcpHeader {
            src_port: ho.tuple.local.port(),
            dst_port: ho.tuple.remote.port(),
            seq: ho.iss + 1,
            ack: ho.syn.seq + 1,
            flags: TcpFlags::ACK,
            window: wnd as u16,
            urgent: 0,
            options,
        },
        payload: Bytes::new(),
    }
}
