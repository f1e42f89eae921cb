//! TCP header and option codec, Internet checksum, minimal IPv4/IPv6 framing.
//!
//! - [`TcpHeader`] parses and emits the header (RFC 9293 §3.1) with its [`TcpOptions`]:
//!   MSS, window scale (RFC 7323 §2), SACK-permitted and SACK blocks (RFC 2018),
//!   timestamps (RFC 7323 §3), NOP, EOL; unknown kinds are skipped. Options are emitted
//!   in Linux's layout (or FreeBSD's, [`OptionLayout`]), so re-emitting a Linux segment
//!   reproduces it byte for byte.
//! - [`options_iter`] gives the raw, in-order option list for tools.
//! - [`Checksum`] is the RFC 1071 Internet checksum, summing 8 bytes per step;
//!   [`parse_tcp_segment`] / [`emit_tcp_segment`] verify and fill in the TCP checksum
//!   with the IPv4 or IPv6 pseudo-header.
//! - [`parse_ip_packet`] / [`emit_ip_header`] / [`emit_ip_tcp_packet`] frame segments in
//!   IPv4 (RFC 791) or IPv6 (RFC 8200) packets for the adapters.
//!
//! Nothing here panics on any input: malformed data gives a [`WireError`].
//!
//! ```
//! use core::net::{IpAddr, Ipv4Addr};
//! use tcp_core::SeqNum;
//! use tcp_core::wire::{
//!     TcpFlags, TcpHeader, TcpOptions, Timestamps, emit_ip_tcp_packet, parse_ip_tcp_packet,
//! };
//!
//! let syn = TcpHeader {
//!     src_port: 40000,
//!     dst_port: 80,
//!     seq: SeqNum::new(1),
//!     flags: TcpFlags::SYN,
//!     window: 64240,
//!     options: TcpOptions {
//!         mss: Some(1460),
//!         window_scale: Some(7),
//!         sack_permitted: true,
//!         timestamps: Some(Timestamps { val: 1, ecr: 0 }),
//!         ..TcpOptions::default()
//!     },
//!     ..TcpHeader::default()
//! };
//! let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
//! let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
//! let mut buf = [0u8; 1500];
//! let n = emit_ip_tcp_packet(src, dst, &syn, b"", &mut buf)?;
//! assert_eq!(n, 20 + 40); // IPv4 header + `mss,sackOK,TS val ecr,nop,wscale`
//! assert_eq!(format!("{:?}", syn.flags), "S");
//!
//! let (ip, header, payload) = parse_ip_tcp_packet(&buf[..n])?;
//! assert_eq!((ip.src(), header, payload.len()), (src, syn, 0));
//! # Ok::<(), tcp_core::wire::WireError>(())
//! ```

mod checksum;
mod error;
mod icmp;
mod ip;
mod options;
mod tcp;

pub use checksum::{Checksum, pseudo_header, tcp_checksum, verify_tcp_checksum};
pub use error::WireError;
pub use icmp::{IPPROTO_ICMP, IPPROTO_ICMPV6, IcmpError, IcmpProblem, parse_icmp_error};
pub use ip::{
    DEFAULT_TTL, IpEcn, IpHeader, Ipv4Header, Ipv6Header, emit_ip_header, emit_ip_tcp_packet,
    emit_ip_tcp_packet_with, parse_ip_packet, parse_ip_tcp_packet,
};
pub use options::{
    OPT_EOL, OPT_MSS, OPT_NOP, OPT_SACK, OPT_SACK_PERMITTED, OPT_TIMESTAMPS, OPT_WINDOW_SCALE,
    OptionLayout, SackBlock, SackBlocks, TcpOption, TcpOptions, TcpOptionsIter, Timestamps,
    options_iter,
};
pub use tcp::{
    TcpFlags, TcpHeader, emit_tcp_segment, parse_tcp_segment, parse_tcp_segment_offloaded,
    raw_tcp_options,
};

/// IP protocol number of TCP (RFC 9293 §3.1; IANA protocol numbers).
pub const IPPROTO_TCP: u8 = 6;
