//! A one-way bulk transfer between two nodes over one symmetric link: the scenario behind
//! `tcp-sim`, the pcap and plot tests, and goodput comparisons between stacks.

use std::net::Ipv4Addr;

use tcp_core::time::{Duration, Instant};

use super::link::LinkConfig;
use super::ours_node::{OursConfig, OursNode};
use super::smoltcp_node::{Congestion, DEFAULT_BUFFER, Role, SmoltcpConfig, SmoltcpNode};
use super::{LinkId, Node, NodeId, RunOutcome, World};

/// The sender's address.
pub const SENDER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The receiver's address.
pub const RECEIVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Which TCP implementation runs in the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// This project's `tcp_core::Endpoint`.
    Ours,
    /// smoltcp.
    Smoltcp,
}

impl Stack {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stack::Ours => "ours",
            Stack::Smoltcp => "smoltcp",
        }
    }
}

/// Everything that defines a bulk-transfer run.
#[derive(Debug, Clone)]
pub struct BulkSetup {
    /// Bytes to transfer from sender to receiver.
    pub bytes: u64,
    /// Seed of the world (links) and of the stacks.
    pub seed: u64,
    /// What the sender sends (data).
    pub forward: LinkConfig,
    /// What the receiver sends (ACKs).
    pub reverse: LinkConfig,
    /// Socket buffer size (each direction, each side).
    pub buffer: usize,
    /// Congestion control.
    pub congestion: Congestion,
    /// Interface MTU.
    pub mtu: usize,
    /// Reneging receiver (our stack only): after each packet, the probability that the
    /// receiving connection discards its out-of-order data ([`OursConfig::purge_ofo`]).
    pub purge_ofo: f64,
    /// Both sides of our stack ask for and accept ECN (RFC 3168).
    pub ecn: bool,
    /// Our stack's packetization-layer PMTUD (RFC 4821, `tcp_core::MtuProbing`).
    pub mtu_probing: tcp_core::MtuProbing,
    /// Our BBR's loss threshold in thousandths (`tcp_core::Config::bbr_loss_thresh`);
    /// `None`: the default (the draft's 2 %).
    pub bbr_loss_thresh: Option<u16>,
}

impl BulkSetup {
    /// `bytes` over a symmetric link `link`; 256 KiB buffers, CUBIC, MTU 1500, seed 1.
    pub fn new(bytes: u64, link: LinkConfig) -> Self {
        BulkSetup {
            bytes,
            seed: 1,
            forward: link.clone(),
            reverse: link,
            buffer: DEFAULT_BUFFER,
            congestion: Congestion::Cubic,
            mtu: 1500,
            purge_ofo: 0.0,
            ecn: false,
            mtu_probing: tcp_core::MtuProbing::Off,
            bbr_loss_thresh: None,
        }
    }
}

impl BulkSetup {
    /// Our stack's configuration for the sending (`sender`) or receiving side: buffers,
    /// MSS from the MTU, congestion control, a seed-derived secret per side.
    pub fn ours_config(&self, sender: bool) -> OursConfig {
        let (local, peer) = addresses(sender);
        let mut tcp = {
            let mut config: tcp_core::Config = tcp_core::Config::default();
            config.send_buffer = self.buffer;
            config.recv_buffer = self.buffer;
            config.mss = u16::try_from(self.mtu.saturating_sub(40)).unwrap_or(1460);
            config
        };
        tcp.congestion = match self.congestion {
            Congestion::Reno | Congestion::None => tcp_core::config::CongestionAlgorithm::NewReno,
            Congestion::Cubic => tcp_core::config::CongestionAlgorithm::Cubic,
            Congestion::Bbr => tcp_core::config::CongestionAlgorithm::Bbr,
        };
        if self.ecn {
            tcp.ecn = tcp_core::EcnMode::On;
        }
        tcp.mtu_probing = self.mtu_probing;
        if let Some(t) = self.bbr_loss_thresh {
            tcp.bbr_loss_thresh = t;
        }
        let mut secret = [0u8; 16];
        secret[..8].copy_from_slice(&self.seed.to_le_bytes());
        secret[8] = u8::from(sender);
        OursConfig {
            local_addr: local,
            peer_addr: peer,
            server_port: 80,
            tcp,
            secret,
            purge_ofo: if sender { 0.0 } else { self.purge_ofo },
        }
    }

    /// smoltcp's configuration for the sending (`sender`) or receiving side, the same
    /// buffers, MTU and congestion control as [`BulkSetup::ours_config`].
    pub fn smoltcp_config(&self, sender: bool) -> SmoltcpConfig {
        let (local, peer) = addresses(sender);
        let mut c = SmoltcpConfig::new(local, peer);
        c.rx_buffer = self.buffer;
        c.tx_buffer = self.buffer;
        c.congestion = self.congestion;
        c.mtu = self.mtu;
        c.seed = self.seed.wrapping_mul(2).wrapping_add(u64::from(sender));
        c
    }
}

/// (local, peer) addresses of the sending or receiving side.
fn addresses(sender: bool) -> (Ipv4Addr, Ipv4Addr) {
    if sender {
        (SENDER_ADDR, RECEIVER_ADDR)
    } else {
        (RECEIVER_ADDR, SENDER_ADDR)
    }
}

/// Builds one node of a bulk transfer. Adding a stack is one match arm here.
pub fn make_node(
    stack: Stack,
    role: Role,
    setup: &BulkSetup,
    now: Instant,
) -> Result<Box<dyn Node>, String> {
    let sender = matches!(role, Role::Sender { .. });
    if stack == Stack::Smoltcp && setup.congestion == Congestion::Bbr {
        return Err("smoltcp has no BBR".into());
    }
    match stack {
        Stack::Ours => Ok(Box::new(OursNode::new(
            &setup.ours_config(sender),
            role,
            now,
        ))),
        Stack::Smoltcp => Ok(Box::new(SmoltcpNode::new(
            &setup.smoltcp_config(sender),
            role,
            now,
        ))),
    }
}

/// A bulk-transfer world: sender, receiver and the link between them.
pub struct BulkRun {
    /// The world.
    pub world: World,
    /// The sending node.
    pub sender: NodeId,
    /// The receiving node.
    pub receiver: NodeId,
    /// The link.
    pub link: LinkId,
    /// The setup.
    pub setup: BulkSetup,
}

/// The outcome of a bulk transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    /// Why the run stopped.
    pub outcome: RunOutcome,
    /// Bytes the receiver read and verified.
    pub bytes_received: u64,
    /// Virtual time until the receiver read the end of the stream (or the end of the run).
    pub transfer_time: Duration,
    /// Goodput in Mbit/s (bytes received over `transfer_time`).
    pub goodput_mbit_s: f64,
    /// Data segments the sender retransmitted (seen on the wire).
    pub retransmits: u64,
    /// Data segments the sender sent.
    pub data_segments: u64,
    /// Retransmission timeouts, if the stack counts them.
    pub rtos: Option<u64>,
    /// Retransmission timeouts estimated from the wire ([`super::FlowStats::timeout_retransmits`]).
    pub rtos_wire: u64,
    /// Packets dropped by the links, all causes, both directions.
    pub drops: u64,
    /// Both sides finished and closed.
    pub finished: bool,
    /// The first error either side reported.
    pub error: Option<String>,
    /// The sender's connection counters (our stack only).
    pub sender_stats: Option<tcp_core::conn::ConnStats>,
    /// The receiver's connection counters (our stack only).
    pub receiver_stats: Option<tcp_core::conn::ConnStats>,
}

impl BulkRun {
    /// Sets up the receiver (listening) and the sender (connecting at time zero).
    pub fn new(stack: Stack, setup: BulkSetup) -> Result<Self, String> {
        let mut world = World::new(setup.seed);
        let now = world.now();
        // The receiver first, so its listener exists when the SYN arrives.
        let receiver = world.add_node(make_node(
            stack,
            Role::Receiver {
                expected: Some(setup.bytes),
            },
            &setup,
            now,
        )?);
        let sender = world.add_node(make_node(
            stack,
            Role::Sender { bytes: setup.bytes },
            &setup,
            now,
        )?);
        let link = world.connect(
            sender,
            receiver,
            setup.forward.clone(),
            setup.reverse.clone(),
        );
        Ok(BulkRun {
            world,
            sender,
            receiver,
            link,
            setup,
        })
    }

    /// Whether both sides finished or either reported an error.
    pub fn is_over(&self) -> bool {
        let s = self.world.report(self.sender);
        let r = self.world.report(self.receiver);
        (s.finished && r.finished) || s.error.is_some() || r.error.is_some()
    }

    /// Runs until both sides finished (or an error, or a limit).
    pub fn run(&mut self, max_time: Duration, max_steps: u64) -> RunOutcome {
        let (s, r) = (self.sender, self.receiver);
        self.world.run_until(
            |w| {
                let (s, r) = (w.report(s), w.report(r));
                (s.finished && r.finished) || s.error.is_some() || r.error.is_some()
            },
            max_time,
            max_steps,
        )
    }

    /// Measures the run so far.
    pub fn result(&self, outcome: RunOutcome) -> BulkResult {
        let s = self.world.report(self.sender);
        let r = self.world.report(self.receiver);
        let end = r.completed_at.unwrap_or(self.world.now());
        let transfer_time = end.saturating_duration_since(Instant::ZERO);
        let secs = transfer_time.as_secs_f64();
        let goodput = if secs > 0.0 {
            r.bytes_received as f64 * 8.0 / secs / 1e6
        } else {
            0.0
        };
        let (mut retransmits, mut data_segments, mut rtos_wire) = (0, 0, 0);
        for (_, f) in self
            .world
            .flows()
            .iter()
            .filter(|(k, _)| k.src == std::net::IpAddr::V4(SENDER_ADDR))
        {
            retransmits += f.retransmits;
            data_segments += f.data_segments;
            rtos_wire += f.timeout_retransmits;
        }
        BulkResult {
            outcome,
            bytes_received: r.bytes_received,
            transfer_time,
            goodput_mbit_s: goodput,
            retransmits,
            data_segments,
            rtos: s.rtos,
            rtos_wire,
            drops: self.world.total_link_stats().drops(),
            finished: s.finished && r.finished,
            error: s.error.or(r.error),
            sender_stats: s.stats,
            receiver_stats: r.stats,
        }
    }
}
