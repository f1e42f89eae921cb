//! Errors of the wire codec.

/// Why a packet, segment or option could not be parsed or emitted.
///
/// Every malformed input maps to one of these variants; the codec never panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input ends before a fixed-size header does.
    #[error("truncated header")]
    Truncated,
    /// The TCP data offset (in 32-bit words) is below 5 or points past the end of the
    /// segment (RFC 9293 §3.1).
    #[error("bad TCP data offset {0}")]
    BadDataOffset(u8),
    /// An option's kind byte is present but its length byte is missing, or its length runs
    /// past the end of the options area (RFC 9293 §3.1).
    #[error("TCP option {kind} truncated")]
    OptionTruncated {
        /// The option kind.
        kind: u8,
    },
    /// An option's length byte is 0 or 1, or does not match the fixed length of a known
    /// kind (MSS 4, window scale 3, SACK-permitted 2, timestamps 10).
    #[error("TCP option {kind} has bad length {len}")]
    BadOptionLength {
        /// The option kind.
        kind: u8,
        /// The length byte found.
        len: u8,
    },
    /// A SACK option whose length is not `2 + 8n` with `1 <= n <= 4` (RFC 2018 §3).
    #[error("SACK option has bad length {0}")]
    BadSackLength(u8),
    /// The options to emit need more than the 40 bytes a TCP header can hold.
    #[error("TCP options need {len} bytes, at most 40 fit")]
    OptionsTooLong {
        /// The encoded length the options would need.
        len: usize,
    },
    /// The output buffer cannot hold what is to be emitted.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The TCP checksum does not verify (RFC 9293 §3.1, RFC 1071).
    #[error("bad TCP checksum")]
    BadChecksum,
    /// Source and destination addresses are of different IP families.
    #[error("source and destination address families differ")]
    AddressFamilyMismatch,
    /// The IP version nibble is neither 4 nor 6.
    #[error("bad IP version {0}")]
    BadIpVersion(u8),
    /// The IPv4 header length (IHL) is below 5 or runs past the packet (RFC 791 §3.1).
    #[error("bad IPv4 header length")]
    BadIpHeaderLength,
    /// The IPv4 total length or IPv6 payload length disagrees with the packet.
    #[error("bad IP total/payload length")]
    BadIpTotalLength,
    /// The IPv4 header checksum does not verify (RFC 791 §3.1).
    #[error("bad IPv4 header checksum")]
    BadIpHeaderChecksum,
    /// The packet is a fragment (IPv4 MF or fragment offset, IPv6 fragment header);
    /// reassembly is not supported.
    #[error("IP fragment")]
    Fragmented,
    /// An IPv6 extension header this codec does not skip (RFC 8200 §4).
    #[error("unsupported IPv6 extension header {0}")]
    UnsupportedExtensionHeader(u8),
    /// The packet carries another transport protocol than TCP.
    #[error("not TCP: protocol {0}")]
    NotTcp(u8),
    /// The payload is too long for the IP length field (65,535 bytes).
    #[error("payload of {len} bytes too long for IP")]
    PayloadTooLong {
        /// The payload length asked for.
        len: usize,
    },
}
