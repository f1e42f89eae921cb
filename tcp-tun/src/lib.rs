//! `tcp-tun`: binds a [`tcp_core`] endpoint to a Linux TUN device, so that the kernel's own
//! TCP is the peer.
//!
//! - [`TunLink`]: a [`tcp_mio::Link`] over a TUN device (no packet-information header,
//!   non-blocking, a `mio` source). It frames transmits as IPv4/IPv6 packets with
//!   [`tcp_core::wire::emit_ip_tcp_packet`], hands the driver TCP packets addressed to the
//!   stack, and counts and ignores everything else ([`TunStats`]).
//! - [`mss_for_mtu`] / [`TunLink::config`]: the MSS derived from the device MTU (MTU − 40
//!   for IPv4, MTU − 60 for IPv6).
//! - [`vnet`]: TUN devices with the virtio-net header, so the kernel hands over its TCP
//!   packets without checksums to verify and as super-segments of up to 64 KiB
//!   ([`netns::TunNet::create_offloaded`], [`TunLink::new_vnet`]).
//! - [`netns`]: a private network namespace ([`netns::unshare_net`]) with a TUN device and
//!   documentation addresses in it ([`netns::TunNet`]).
//! - [`TunStack`]: the usual assembly, a [`tcp_mio::Net`] (the shared driver and its loop)
//!   on one TUN link, with `connect` to a kernel address.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use tcp_tun::{TunStack, netns};
//!
//! netns::unshare_net()?; // this thread now lives in a private network namespace
//! let stack = TunStack::create(&netns::TunNet::default())?;
//! let listener = stack.net().listen_on("192.0.2.2:7".parse()?, 128)?;
//! // ... the kernel side (threads spawned from here) connects to 192.0.2.2:7 ...
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod gso;
pub mod link;
pub mod netns;
pub mod steering;
pub mod vnet;

pub use link::{TunLink, TunStats, TunStatsSnapshot, config_for_mtu, mss_for_mtu};
pub use tcp_mio;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tcp_mio::{Driver, Net, TcpStream};

/// A stack on one TUN link: a [`Net`] (driver plus `mio` loop) and the link's counters.
#[derive(Clone, Debug)]
pub struct TunStack {
    net: Net,
    stats: Arc<TunStats>,
    mtu: u32,
}

impl TunStack {
    /// Creates the device of `layout` in the current namespace (see [`netns::TunNet::create`])
    /// and a stack on it with an MTU-derived configuration.
    pub fn create(layout: &netns::TunNet) -> io::Result<TunStack> {
        let link = layout.create()?;
        let config = link.config();
        Self::with_config(link, config)
    }

    /// A stack on `link` with `config` (its MSS should come from [`TunLink::config`] or
    /// [`mss_for_mtu`]).
    pub fn with_config(link: TunLink, config: tcp_core::Config) -> io::Result<TunStack> {
        Self::with_driver(link, Driver::new(config)?)
    }

    /// A stack on `link` with a prepared driver (the link is added to it; the driver should
    /// have no other links).
    pub fn with_driver(link: TunLink, mut driver: Driver) -> io::Result<TunStack> {
        let stats = link.stats();
        let mtu = link.mtu();
        driver.add_link(link);
        Ok(TunStack {
            net: Net::from_driver(driver)?,
            stats,
            mtu,
        })
    }

    /// A stack on any link (for example a seeded impairment around a [`TunLink`], as the
    /// tests do with `tcp-testkit`).
    pub fn with_link(
        link: impl tcp_mio::Link + 'static,
        stats: Arc<TunStats>,
        mtu: u32,
        config: tcp_core::Config,
    ) -> io::Result<TunStack> {
        let mut driver = Driver::new(config)?;
        driver.add_link(link);
        Ok(TunStack {
            net: Net::from_driver(driver)?,
            stats,
            mtu,
        })
    }

    /// The loop and driver: `listen_on`, `poll`, `run_until`, `driver()`.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// The device MTU.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// The link's counters.
    pub fn stats(&self) -> TunStatsSnapshot {
        self.stats.snapshot()
    }

    /// Starts an active open to `remote` (a kernel address and port) from the stack's
    /// address of the same family. Returns at once; reads return `WouldBlock` until data
    /// arrives, writes before the handshake completes are buffered.
    pub fn connect(&self, remote: SocketAddr) -> io::Result<TcpStream> {
        let h = {
            let mut d = self.net.driver();
            let h = d.connect(remote)?;
            d.flush();
            h
        };
        Ok(self.net.stream(h))
    }

    /// [`TunStack::connect`] from a local port whose flow the port-based steering of a
    /// multi-queue device ([`steering`]) delivers to queue `queue` of `queues`: the stack
    /// on that queue must make this call, so every packet of the flow comes back to it.
    pub fn connect_on_queue(
        &self,
        remote: SocketAddr,
        queue: usize,
        queues: usize,
    ) -> io::Result<TcpStream> {
        // Linux's default ephemeral range; the start varies with the time so successive
        // calls try different ports first.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u16);
        let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free port for this queue");
        for attempt in 0..64u16 {
            let Some(port) = steering::port_for_queue(
                remote.port(),
                queue,
                queues,
                (32_768, 61_000),
                start.wrapping_add(attempt.wrapping_mul(7919)),
            ) else {
                break;
            };
            let r = {
                let mut d = self.net.driver();
                let r = d.connect_from_port(remote, port);
                d.flush();
                r
            };
            match r {
                Ok(h) => return Ok(self.net.stream(h)),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}
