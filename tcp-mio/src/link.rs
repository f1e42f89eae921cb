//! Packet links: how segments leave and enter the driver.
//!
//! A [`Link`] is a `mio` event source that sends the driver's [`Transmit`]s and hands it
//! received packets until the source would block. [`crate::UdpLink`] carries one TCP
//! segment per UDP datagram; a TUN link (in `tcp-tun`) carries whole IP packets through the
//! same trait (the workspace's `tcp-testkit` wraps any link with seeded impairments).

use std::io;
use std::net::{IpAddr, SocketAddr};
use tcp_core::wire::IcmpError;
use tcp_core::{FourTuple, IpEcn, RxOffload, Transmit};

/// What a received packet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A bare TCP segment (header and payload) sent from `src` to `dst`; the TCP checksum
    /// covers the pseudo-header of these two addresses. The UDP link delivers these.
    Segment {
        /// The sender's IP address.
        src: IpAddr,
        /// Our IP address, as the sender addressed it.
        dst: IpAddr,
        /// The ECN codepoint of the IP header that carried it (RFC 3168 §5), where the
        /// link can read it; not-ECT otherwise.
        ecn: IpEcn,
    },
    /// A whole IPv4 or IPv6 packet (a TUN link delivers these).
    Packet {
        /// What the device already did for it (a TUN device with a virtio-net header
        /// verifies checksums and may coalesce segments; see
        /// [`tcp_core::Endpoint::handle_packet_offloaded`]).
        offload: RxOffload,
    },
}

/// One packet received by [`Link::recv`]: its first `len` bytes of the buffer, and what
/// they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// How to interpret them.
    pub frame: Frame,
    /// `Some(size)`: the buffer holds several packets of `size` bytes each (the last may
    /// be shorter), all with the same `frame` addresses, as UDP GRO delivers them. `None`:
    /// one packet.
    pub segment_size: Option<usize>,
}

/// A packet link the [`crate::Driver`] sends and receives through.
///
/// The link is also a `mio` event source: the driver registers it for readable and writable
/// readiness and calls [`Link::recv`] until it returns `WouldBlock`.
pub trait Link: mio::event::Source {
    /// Sends one segment. The link frames it as it needs (the UDP link writes the bare TCP
    /// segment with [`Transmit::encode`]; a TUN link adds an IP header) using `scratch`,
    /// which holds at least 65,575 bytes.
    ///
    /// `WouldBlock` means "try this transmit again later": the driver keeps it and retries
    /// on the next readiness event or flush. Any other error drops the segment (TCP
    /// retransmits it) and is counted by the driver.
    fn send(&mut self, transmit: &Transmit, scratch: &mut [u8]) -> io::Result<()>;

    /// Sends several segments at once (a link may coalesce them, as [`UdpLink`] does with
    /// UDP GSO). Returns how many leading transmits were consumed (sent, or dropped for a
    /// reason retrying would not fix), at least one. `Err(WouldBlock)`: none was consumed,
    /// retry later; any other error: the first transmit failed and is dropped.
    ///
    /// The default sends them one by one with [`Link::send`].
    fn send_batch(&mut self, transmits: &[Transmit], scratch: &mut [u8]) -> io::Result<usize> {
        for (i, t) in transmits.iter().enumerate() {
            if let Err(e) = self.send(t, scratch) {
                return if i == 0 { Err(e) } else { Ok(i) };
            }
        }
        Ok(transmits.len())
    }

    /// Receives one packet into `buf` (at least 65,536 bytes), or fails with `WouldBlock`
    /// when nothing is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received>;

    /// The local address this link gives connections towards `remote` (same family), if
    /// it has one. The driver uses it as the local IP of `connect` (the first link that
    /// has one is used) and to route transmits: with several links, a transmit leaves
    /// through the link its connection's packets last arrived on (or that it was opened
    /// on), else through the first link whose address equals the transmit's source IP.
    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr>;

    /// Tells the link that segments of `tuple` go to the link-level address `next_hop`.
    /// Links that need no such mapping (TUN) ignore it; this is the default.
    fn set_route(&mut self, tuple: FourTuple, next_hop: SocketAddr) {
        let _ = (tuple, next_hop);
    }

    /// An ICMP error the link learned other than as a received packet: from the
    /// operating system (a send refused because the datagram exceeds the path MTU, an
    /// ICMP message the kernel took for a UDP socket), already translated to what the core
    /// counts (the TCP segment's addresses and sequence number; a packet too big's MTU as
    /// an MTU for IP + TCP). The driver asks after every send error and receive call and
    /// hands each to [`tcp_core::Endpoint::handle_icmp_error`]. Links that receive ICMP
    /// as packets (TUN) have none; this is the default.
    fn poll_icmp_error(&mut self) -> Option<IcmpError> {
        None
    }
}
