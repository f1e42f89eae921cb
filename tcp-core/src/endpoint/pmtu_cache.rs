//! The endpoint's path MTU cache (RFC 1191 §5, RFC 8201 §5.2): a path MTU a connection
//! learnt from an ICMP packet too big is kept per destination address for ten minutes
//! (Linux's `ip_rt_mtu_expires`), and connections opened to that destination meanwhile
//! start with it (Linux keeps it on the route, as a next-hop exception, and
//! `tcp_connect_init` / `tcp_sync_mss` read it). Bounded: at most [`MAX_ENTRIES`]
//! destinations; when full, the entry that expires first makes room.

use crate::conn::Connection;
use crate::time::{Duration, Instant};
use alloc::collections::BTreeMap;
use core::net::IpAddr;

/// How long a learnt path MTU is kept (Linux's `ip_rt_mtu_expires`, 10 minutes).
pub const PMTU_EXPIRES: Duration = Duration::from_secs(600);
/// Destinations remembered at most.
pub const MAX_ENTRIES: usize = 4096;

/// Path MTUs learnt per destination, with their expiry.
#[derive(Debug, Default)]
pub(super) struct PmtuCache {
    entries: BTreeMap<IpAddr, (u32, Instant)>,
}

impl PmtuCache {
    /// A connection to `dst` lowered its path MTU to `mtu` at `now`.
    pub(super) fn learn(&mut self, dst: IpAddr, mtu: u32, now: Instant) {
        let expires = now.saturating_add(PMTU_EXPIRES);
        if let Some(e) = self.entries.get_mut(&dst) {
            *e = (mtu, expires);
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, &mut (_, exp)| exp > now);
        }
        if self.entries.len() >= MAX_ENTRIES {
            let first = self
                .entries
                .iter()
                .min_by_key(|&(_, &(_, exp))| exp)
                .map(|(&a, _)| a);
            if let Some(a) = first {
                self.entries.remove(&a);
            }
        }
        self.entries.insert(dst, (mtu, expires));
    }

    /// The path MTU known for `dst` at `now`, if any; an expired entry is forgotten.
    pub(super) fn lookup(&mut self, dst: IpAddr, now: Instant) -> Option<u32> {
        let &(mtu, expires) = self.entries.get(&dst)?;
        if expires <= now {
            self.entries.remove(&dst);
            return None;
        }
        Some(mtu)
    }

    /// Starts a new connection to `dst` with the path MTU known for it: its SYN or
    /// SYN-ACK, if not yet sent, offers an MSS that fits ([`Connection::start_with_path_mtu`];
    /// the listener applies it to the SYN-ACKs it sends for its SYN queue and cookies).
    pub(super) fn apply(&mut self, conn: &mut Connection, dst: IpAddr, now: Instant) {
        if let Some(mtu) = self.lookup(dst, now) {
            conn.start_with_path_mtu(now, mtu, dst.is_ipv6());
        }
    }

    /// Destinations remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_learnt_path_mtu_is_kept_ten_minutes() {
        let mut c = PmtuCache::default();
        let t0 = Instant::from_secs(5);
        c.learn(a("10.0.0.2"), 1280, t0);
        assert_eq!(
            c.lookup(a("10.0.0.2"), t0 + Duration::from_secs(599)),
            Some(1280)
        );
        assert_eq!(c.lookup(a("10.0.0.3"), t0), None);
        assert_eq!(c.lookup(a("10.0.0.2"), t0 + Duration::from_secs(600)), None);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn a_full_cache_forgets_the_entry_that_expires_first() {
        let mut c = PmtuCache::default();
        let t0 = Instant::from_secs(1);
        for i in 0..MAX_ENTRIES as u32 {
            let ip = IpAddr::V4(core::net::Ipv4Addr::from(0x0a00_0000 + i));
            c.learn(ip, 1400, t0 + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        c.learn(a("192.0.2.1"), 1280, t0 + Duration::from_secs(1));
        assert_eq!(c.len(), MAX_ENTRIES);
        assert_eq!(c.lookup(a("10.0.0.0"), t0), None);
        assert_eq!(c.lookup(a("10.0.0.1"), t0), Some(1400));
        assert_eq!(c.lookup(a("192.0.2.1"), t0), Some(1280));
    }
}
