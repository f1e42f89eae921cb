//! pcap (libpcap classic format) output with virtual timestamps, written by the
//! `pcap-file` crate.
//!
//! Link type `LINKTYPE_RAW` (101): each record is a bare IPv4 or IPv6 packet, which is
//! exactly what the simulated links carry. Wireshark and tshark open these files.

use std::io::{self, Write};

use pcap_file::pcap::{PcapHeader, PcapPacket};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};
use tcp_core::time::Instant;

/// `LINKTYPE_RAW`: raw IPv4/IPv6 packets, no link-layer header.
pub const LINKTYPE_RAW: u32 = 101;

/// Snapshot length written in the file header; longer packets are cut to it (the record
/// keeps their original length).
pub const SNAPLEN: u32 = 65_535;

/// Writes a pcap stream: a little-endian, microsecond-resolution classic pcap file.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: pcap_file::pcap::PcapWriter<W>,
    packets: u64,
}

fn io_error(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header and returns the writer.
    pub fn new(out: W) -> io::Result<Self> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::from(LINKTYPE_RAW),
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::Little,
        };
        let out = pcap_file::pcap::PcapWriter::with_header(out, header).map_err(io_error)?;
        Ok(PcapWriter { out, packets: 0 })
    }

    /// Appends one packet seen at virtual time `at`.
    pub fn write_packet(&mut self, at: Instant, packet: &[u8]) -> io::Result<()> {
        let orig_len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let incl = packet.len().min(SNAPLEN as usize);
        let ts = std::time::Duration::from_micros(at.as_micros());
        self.out
            .write_packet(&PcapPacket::new(ts, orig_len, &packet[..incl]))
            .map_err(io_error)?;
        self.packets += 1;
        Ok(())
    }

    /// Number of packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out.into_writer();
        out.flush()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout_follow_the_pcap_format() {
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        w.write_packet(Instant::from_micros(3_000_042), &[0x45, 1, 2])
            .expect("record");
        assert_eq!(w.packets(), 1);
        let bytes = w.finish().expect("finish");
        assert_eq!(bytes.len(), 24 + 16 + 3);
        assert_eq!(&bytes[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u16::from_le_bytes(bytes[4..6].try_into().unwrap()), 2);
        assert_eq!(u16::from_le_bytes(bytes[6..8].try_into().unwrap()), 4);
        assert_eq!(
            u32::from_le_bytes(bytes[16..20].try_into().unwrap()),
            SNAPLEN
        );
        assert_eq!(u32::from_le_bytes(bytes[20..24].try_into().unwrap()), 101);
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(bytes[28..32].try_into().unwrap()), 42);
        assert_eq!(u32::from_le_bytes(bytes[32..36].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(bytes[36..40].try_into().unwrap()), 3);
        assert_eq!(&bytes[40..], &[0x45, 1, 2]);
    }

    #[test]
    fn a_packet_longer_than_the_snapshot_length_is_cut_and_keeps_its_length() {
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        let big = vec![0x45u8; SNAPLEN as usize + 10];
        w.write_packet(Instant::ZERO, &big).expect("record");
        let bytes = w.finish().expect("finish");
        assert_eq!(bytes.len(), 24 + 16 + SNAPLEN as usize);
        assert_eq!(
            u32::from_le_bytes(bytes[32..36].try_into().unwrap()),
            SNAPLEN
        );
        assert_eq!(
            u32::from_le_bytes(bytes[36..40].try_into().unwrap()),
            SNAPLEN + 10
        );
    }

    #[test]
    fn pcap_file_reads_back_what_was_written() {
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        w.write_packet(Instant::from_micros(1_500_000), &[0x45, 9])
            .expect("record");
        let bytes = w.finish().expect("finish");
        let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).expect("reader");
        assert_eq!(r.header().datalink, DataLink::RAW);
        let p = r.next_packet().expect("one packet").expect("valid");
        assert_eq!(p.timestamp, std::time::Duration::from_micros(1_500_000));
        assert_eq!(&p.data[..], &[0x45, 9]);
        assert!(r.next_packet().is_none());
    }
}
