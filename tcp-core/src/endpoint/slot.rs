//! The endpoint's slots: each holds a connection's entry (the connection and its
//! addresses), a half-open request, a request awaiting the application's decision, or a
//! TIME_WAIT record, with the slot's timer and queue marks.

use super::listen::{HalfOpen, ListenerHandle, PendingIncoming};
use super::table::FourTuple;
use super::timewait::TimeWaitRec;
use crate::conn::Connection;
use crate::time::Instant;
use alloc::boxed::Box;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug)]
pub(super) struct ConnEntry {
    pub(super) conn: Connection,
    /// Our address and the peer's: with the connection's ports, the 4-tuple (see
    /// [`ConnEntry::tuple`]).
    addrs: AddrPair,
    /// The connection waits in this listener's accept queue (not yet handed out).
    pub(super) queued_for: Option<ListenerHandle>,
    /// The application called `close` (or never had the handle and the listener went).
    pub(super) app_closed: bool,
    /// The connection left the demux table while the application still holds it (a new
    /// SYN took its 4-tuple in TIME-WAIT, FreeBSD's `tcp_twclose`).
    pub(super) detached: bool,
    /// Counted in `EndpointStats::connections_established`.
    pub(super) counted: bool,
}

impl ConnEntry {
    /// The entry of `conn`, whose ports are `tuple`'s: the entry keeps only the addresses.
    pub(super) fn new(
        conn: Connection,
        tuple: FourTuple,
        queued_for: Option<ListenerHandle>,
        counted: bool,
    ) -> Self {
        debug_assert_eq!(
            (conn.local_port(), conn.remote_port()),
            (tuple.local.port(), tuple.remote.port())
        );
        let addrs = AddrPair::new(tuple.local.ip(), tuple.remote.ip());
        debug_assert_eq!(addrs.get(), (tuple.local.ip(), tuple.remote.ip()));
        ConnEntry {
            conn,
            addrs,
            queued_for,
            app_closed: false,
            detached: false,
            counted,
        }
    }

    /// The connection's 4-tuple: the addresses kept here, the ports the connection's
    /// (each stored once).
    #[inline]
    pub(super) fn tuple(&self) -> FourTuple {
        let (local, remote) = self.addrs.get();
        FourTuple {
            local: SocketAddr::new(local, self.conn.local_port()),
            remote: SocketAddr::new(remote, self.conn.remote_port()),
        }
    }
}

/// A connection's two addresses, of one family (33 bytes where two `IpAddr` take 34,
/// which keeps [`ConnEntry`] within 48 bytes besides the connection).
#[derive(Clone, Copy, Debug)]
enum AddrPair {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl AddrPair {
    /// The pair (`local`, `remote`). Both come from one IP header, or from a `connect`
    /// that checked their families match; were they to differ, the IPv4 one would be
    /// kept as IPv4-mapped IPv6.
    fn new(local: IpAddr, remote: IpAddr) -> Self {
        match (local, remote) {
            (IpAddr::V4(l), IpAddr::V4(r)) => AddrPair::V4(l, r),
            (l, r) => AddrPair::V6(v6(l), v6(r)),
        }
    }

    /// (`local`, `remote`).
    #[inline]
    fn get(self) -> (IpAddr, IpAddr) {
        match self {
            AddrPair::V4(l, r) => (IpAddr::V4(l), IpAddr::V4(r)),
            AddrPair::V6(l, r) => (IpAddr::V6(l), IpAddr::V6(r)),
        }
    }
}

/// `a` as IPv6 (IPv4-mapped if it is IPv4).
fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

#[derive(Debug)]
pub(super) enum SlotKind {
    Free,
    Conn(Box<ConnEntry>),
    HalfOpen(Box<HalfOpen>),
    Incoming(Box<PendingIncoming>),
    TimeWait(Box<TimeWaitRec>),
}

impl SlotKind {
    /// The 4-tuple this slot serves, if it holds anything.
    pub(super) fn tuple(&self) -> Option<FourTuple> {
        match self {
            SlotKind::Free => None,
            SlotKind::Conn(e) => (!e.detached).then(|| e.tuple()),
            SlotKind::HalfOpen(h) => Some(h.tuple),
            SlotKind::Incoming(p) => Some(p.tuple),
            SlotKind::TimeWait(t) => Some(t.tuple),
        }
    }
}

/// The tuple held by slot `i` (the demux table stores only slot indices).
pub(super) fn slot_tuple(slots: &[Slot], i: u32) -> Option<FourTuple> {
    slots.get(i as usize).and_then(|s| s.kind.tuple())
}

#[derive(Debug)]
pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) kind: SlotKind,
    /// Deadline of the timer-heap entry that is authoritative for this slot.
    pub(super) armed: Option<Instant>,
    /// Queued for `poll_transmit`.
    pub(super) dirty: bool,
    /// Queued in `ready`: the connection has events for the application.
    pub(super) ready: bool,
    /// `armed` is the idle connection's release time (see `IDLE_RELEASE_AFTER`), not
    /// one of its own deadlines.
    pub(super) idle_release: bool,
}
