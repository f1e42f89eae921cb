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

    /// Whether the connection's 4-tuple is `t` (as `self.tuple() == *t`).
    #[inline]
    pub(super) fn holds(&self, t: &FourTuple) -> bool {
        t.local.port() == self.conn.local_port()
            && t.remote.port() == self.conn.remote_port()
            && self.addrs.is(t.local, t.remote)
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

    /// Whether the pair is (`local`'s address, `remote`'s address), with no IPv6 flow
    /// label or scope id in either (as a tuple built from the pair has none).
    #[inline]
    fn is(self, local: SocketAddr, remote: SocketAddr) -> bool {
        match (self, local, remote) {
            (AddrPair::V4(l, r), SocketAddr::V4(a), SocketAddr::V4(b)) => {
                *a.ip() == l && *b.ip() == r
            }
            (AddrPair::V6(l, r), SocketAddr::V6(a), SocketAddr::V6(b)) => {
                *a.ip() == l
                    && *b.ip() == r
                    && (a.flowinfo(), a.scope_id(), b.flowinfo(), b.scope_id()) == (0, 0, 0, 0)
            }
            _ => false,
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
    /// Whether this slot serves the 4-tuple `t`; a connection's is compared without
    /// building it (the demux path runs this for every segment).
    #[inline]
    pub(super) fn holds(&self, t: &FourTuple) -> bool {
        match self {
            SlotKind::Free => false,
            SlotKind::Conn(e) => !e.detached && e.holds(t),
            SlotKind::HalfOpen(h) => h.tuple == *t,
            SlotKind::Incoming(p) => p.tuple == *t,
            SlotKind::TimeWait(w) => w.tuple == *t,
        }
    }
}

/// Whether slot `i` serves the 4-tuple `t` (the demux table stores only slot indices).
pub(super) fn slot_holds(slots: &[Slot], i: u32, t: &FourTuple) -> bool {
    slots.get(i as usize).is_some_and(|s| s.kind.holds(t))
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

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{SocketAddrV4, SocketAddrV6};

    #[test]
    fn an_address_pair_is_exactly_the_addresses_it_was_built_from() {
        let (l4, r4) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let v4 = AddrPair::new(IpAddr::V4(l4), IpAddr::V4(r4));
        assert_eq!(v4.get(), (IpAddr::V4(l4), IpAddr::V4(r4)));
        let sa = |ip, port| SocketAddr::V4(SocketAddrV4::new(ip, port));
        assert!(
            v4.is(sa(l4, 1), sa(r4, 2)),
            "ports are the connection's to check"
        );
        assert!(!v4.is(sa(r4, 1), sa(l4, 2)), "local and remote swapped");

        let (l6, r6) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let v6 = AddrPair::new(IpAddr::V6(l6), IpAddr::V6(r6));
        assert_eq!(v6.get(), (IpAddr::V6(l6), IpAddr::V6(r6)));
        let sa6 = |ip, scope| SocketAddr::V6(SocketAddrV6::new(ip, 80, 0, scope));
        assert!(v6.is(sa6(l6, 0), sa6(r6, 0)));
        assert!(
            !v6.is(sa6(l6, 3), sa6(r6, 0)),
            "a scope id is not kept, so never matches"
        );
        assert!(!v6.is(sa(l4, 1), sa(r4, 2)), "another family");
    }
}
