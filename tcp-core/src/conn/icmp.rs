//! ICMP and ICMPv6 errors about a connection's segments (RFC 1122 §4.2.3.9, RFC 5927),
//! as Linux's `tcp_v4_err` / `tcp_v6_err` take them.
//!
//! - Only a message about data in flight counts: the quoted sequence number must lie in
//!   SND.UNA..=SND.NXT (Linux's `between`; RFC 5927 §4.1 against blind attacks). FreeBSD
//!   (`SegmentRules::Bsd`) takes SND.UNA..SND.MAX, excluding SND.MAX. Others are counted
//!   and dropped.
//! - While the connection is being opened (SYN-SENT, SYN-RECEIVED) every error aborts it
//!   at once, reported as [`ConnError::Unreachable`].
//! - Later it is soft: remembered, and reported instead of "timed out" if the connection
//!   then times out (Linux's `sk_err_soft`); an ACK of new data forgets it.
//! - A packet too big (RFC 1191, RFC 8201) lowers the path MTU (`super::pmtu`), in every
//!   state; it is never an error.
//! - A network or host unreachable about SND.UNA while the retransmission timer is
//!   backed off undoes one backoff step (RFC 6069, Linux's `tcp_ld_RTO_revert`).
//! - Under FreeBSD's rules (`SegmentRules::Bsd`) only some errors abort an opening
//!   connection, and only with `Config::icmp_may_reset` (see `bsd_hard_error`).

use super::{Connection, State};
use crate::error::ConnError;
use crate::time::Instant;
use crate::wire::{IcmpError, IcmpProblem};

impl Connection {
    /// An ICMP or ICMPv6 error quoting one of this connection's segments (see the module
    /// docs). [`crate::Endpoint::handle_packet`] calls this for the connection the quoted
    /// segment belongs to.
    pub fn handle_icmp(&mut self, now: Instant, err: &IcmpError) {
        self.stats.rare().icmp_received += 1;
        if matches!(
            self.state(),
            State::Closed | State::TimeWait | State::Listen
        ) {
            return;
        }
        let bsd = self.cfg.segment_rules == crate::config::SegmentRules::Bsd;
        let in_flight = if bsd {
            err.seq.ge(self.snd.una) && err.seq.lt(self.snd.max)
        } else {
            err.seq.ge(self.snd.una) && err.seq.le(self.snd.nxt)
        };
        if !in_flight {
            self.stats.rare().icmp_out_of_window += 1;
            return;
        }
        if let IcmpProblem::PacketTooBig { mtu } = err.problem {
            self.stats.rare().icmp_too_big += 1;
            self.lower_path_mtu(now, mtu, err.local.is_ipv6(), Some(err.seq));
            return;
        }
        let opening = matches!(self.state(), State::SynSent | State::SynRcvd);
        let hard = if !opening {
            None
        } else if bsd {
            bsd_hard_error(err, self.cfg.icmp_may_reset)
        } else {
            Some(ConnError::Unreachable(err.problem))
        };
        if let Some(e) = hard {
            self.stats.rare().icmp_hard_errors += 1;
            self.fail(e);
        } else {
            self.stats.rare().icmp_soft_errors += 1;
            self.soft_error = Some(err.problem);
            // RFC 6069: a network or host unreachable (ICMPv6: no route) undoes one RTO
            // backoff step (Linux; not under FreeBSD's rules, which lack it).
            let revert = if err.local.is_ipv4() {
                matches!(err.type_code, (3, 0 | 1))
            } else {
                err.type_code == (1, 0)
            };
            if revert && !bsd {
                self.revert_rto_backoff(now, err.seq);
            }
        }
    }
}

impl Connection {
    /// The soft error an ICMP message left (see the module docs), taken: Linux's
    /// `SO_ERROR` reports it once when no hard error is pending, and clears it.
    pub fn take_soft_error(&mut self) -> Option<IcmpProblem> {
        self.soft_error.take()
    }
}

/// FreeBSD's `tcp_ctlinput` in SYN-SENT: with `net.inet.tcp.icmp_may_rst` (`may_reset`)
/// an administratively prohibited, port or protocol unreachable, or a time exceeded in
/// transit drops the connection (`tcp_drop_syn_sent`: ECONNREFUSED, EHOSTUNREACH for the
/// time exceeded); everything else is a soft error (`tcp_notify`).
fn bsd_hard_error(err: &IcmpError, may_reset: bool) -> Option<ConnError> {
    if !may_reset {
        return None;
    }
    let refused = if err.local.is_ipv4() {
        match err.type_code {
            (3, 2 | 3 | 9 | 10 | 13) => true,
            (11, 0) => false,
            _ => return None,
        }
    } else {
        match err.type_code {
            (1, 1 | 4) | (4, 1) => true,
            (3, 0) => false,
            _ => return None,
        }
    };
    Some(if refused {
        ConnError::Refused
    } else {
        ConnError::Unreachable(IcmpProblem::HostUnreachable)
    })
}
