//! TCP header and option codec, Internet checksum, minimal IPv4/IPv6 framing.
//! (Being written.)
