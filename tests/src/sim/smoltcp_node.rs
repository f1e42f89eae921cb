//! A [`Node`] running smoltcp: an `Interface` + `SocketSet` over an in-memory
//! `phy::Device` (`Medium::Ip`, checksums computed and verified), one TCP socket, and a
//! bulk sender or bulk receiver application.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::tcp::{self, CongestionControl, State};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use tcp_core::time::Instant;

use super::app::{BulkReceiver, BulkSender};
use super::{Node, NodeReport};

/// Default socket buffer size (each direction): 256 KiB.
pub const DEFAULT_BUFFER: usize = 256 * 1024;

/// Which smoltcp congestion controller the socket uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Congestion {
    /// No congestion control (window-limited only).
    None,
    /// smoltcp's Reno.
    Reno,
    /// smoltcp's CUBIC.
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr): our stack only; smoltcp has none.
    Bbr,
}

/// The application running in the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Connects to the peer, writes `bytes` bytes of the pattern, then closes.
    Sender {
        /// Bytes to send.
        bytes: u64,
    },
    /// Listens, reads and verifies the pattern until end of stream, then closes.
    Receiver {
        /// Bytes expected (`None`: any amount).
        expected: Option<u64>,
    },
}

/// Configuration of a [`SmoltcpNode`].
#[derive(Debug, Clone)]
pub struct SmoltcpConfig {
    /// This node's IPv4 address (a /24 is configured around it).
    pub local_addr: Ipv4Addr,
    /// The peer's IPv4 address.
    pub peer_addr: Ipv4Addr,
    /// The receiver's listening port (the sender's destination port).
    pub server_port: u16,
    /// The sender's local port.
    pub client_port: u16,
    /// Receive buffer size in bytes.
    pub rx_buffer: usize,
    /// Send buffer size in bytes.
    pub tx_buffer: usize,
    /// Congestion control.
    pub congestion: Congestion,
    /// Interface MTU in bytes (the MSS derives from it).
    pub mtu: usize,
    /// Seed for smoltcp's own randomness (ISN, ephemeral ports).
    pub seed: u64,
    /// Nagle's algorithm.
    pub nagle: bool,
}

impl SmoltcpConfig {
    /// Defaults: ports 80 / 49152, 256 KiB buffers, CUBIC, MTU 1500, Nagle on, seed 1.
    pub fn new(local_addr: Ipv4Addr, peer_addr: Ipv4Addr) -> Self {
        SmoltcpConfig {
            local_addr,
            peer_addr,
            server_port: 80,
            client_port: 49152,
            rx_buffer: DEFAULT_BUFFER,
            tx_buffer: DEFAULT_BUFFER,
            congestion: Congestion::Cubic,
            mtu: 1500,
            seed: 1,
            nagle: true,
        }
    }
}

/// The in-memory device between smoltcp and the simulator (`Medium::Ip`, checksums
/// computed and verified): packets to deliver in `rx`, packets sent in `tx`.
pub(crate) struct SimDevice {
    pub(crate) rx: VecDeque<Vec<u8>>,
    pub(crate) tx: VecDeque<Vec<u8>>,
    mtu: usize,
}

impl SimDevice {
    /// An empty device with this MTU.
    pub(crate) fn new(mtu: usize) -> Self {
        SimDevice {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            mtu,
        }
    }
}

pub(crate) struct SimRxToken(Vec<u8>);
pub(crate) struct SimTxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for SimRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for SimTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl phy::Device for SimDevice {
    type RxToken<'a> = SimRxToken;
    type TxToken<'a> = SimTxToken<'a>;

    fn receive(
        &mut self,
        _timestamp: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let p = self.rx.pop_front()?;
        Some((SimRxToken(p), SimTxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _timestamp: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        Some(SimTxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        let mut cs = ChecksumCapabilities::default();
        cs.ipv4 = Checksum::Both;
        cs.tcp = Checksum::Both;
        cs.udp = Checksum::Both;
        cs.icmpv4 = Checksum::Both;
        cs.icmpv6 = Checksum::Both;
        caps.checksum = cs;
        caps
    }
}

enum App {
    Sender { app: BulkSender, closed: bool },
    Receiver { app: BulkReceiver, closed: bool },
}

/// A smoltcp stack with one TCP socket and a bulk application.
pub struct SmoltcpNode {
    iface: Interface,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    device: SimDevice,
    app: App,
    last_now: Instant,
    completed_at: Option<Instant>,
    error: Option<String>,
    rx_scratch: Vec<u8>,
}

pub(crate) fn to_smol(t: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(t.as_micros()).unwrap_or(i64::MAX))
}

pub(crate) fn from_smol(t: smoltcp::time::Instant) -> Instant {
    Instant::from_micros(u64::try_from(t.total_micros()).unwrap_or(0))
}

impl SmoltcpNode {
    /// A node that starts its application at `now` (the sender sends its SYN at once).
    pub fn new(config: &SmoltcpConfig, role: Role, now: Instant) -> Self {
        let mut device = SimDevice::new(config.mtu);
        let mut iface_config = Config::new(HardwareAddress::Ip);
        iface_config.random_seed = config.seed;
        let mut iface = Interface::new(iface_config, &mut device, to_smol(now));
        let local = config.local_addr;
        iface.update_ip_addrs(|addrs| {
            // One address always fits in the interface's address list.
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(local), 24));
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; config.rx_buffer]),
            tcp::SocketBuffer::new(vec![0u8; config.tx_buffer]),
        );
        socket.set_congestion_control(match config.congestion {
            Congestion::None => CongestionControl::None,
            Congestion::Reno => CongestionControl::Reno,
            // smoltcp has no BBR; `bulk::make_node` refuses it before this.
            Congestion::Cubic | Congestion::Bbr => CongestionControl::Cubic,
        });
        socket.set_nagle_enabled(config.nagle);
        let mut error = None;
        let app = match role {
            Role::Sender { bytes } => {
                let peer = (IpAddress::Ipv4(config.peer_addr), config.server_port);
                if let Err(e) = socket.connect(iface.context(), peer, config.client_port) {
                    error = Some(format!("connect: {e}"));
                }
                App::Sender {
                    app: BulkSender::new(bytes),
                    closed: false,
                }
            }
            Role::Receiver { expected } => {
                if let Err(e) = socket.listen(config.server_port) {
                    error = Some(format!("listen: {e}"));
                }
                App::Receiver {
                    app: BulkReceiver::new(expected),
                    closed: false,
                }
            }
        };
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(socket);
        let mut node = SmoltcpNode {
            iface,
            sockets,
            handle,
            device,
            app,
            last_now: now,
            completed_at: None,
            error,
            rx_scratch: vec![0; 64 * 1024],
        };
        node.pump(now);
        node
    }

    /// The TCP socket's state.
    pub fn state(&self) -> State {
        self.sockets.get::<tcp::Socket>(self.handle).state()
    }

    /// Runs the interface and the application until neither makes progress.
    fn pump(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        let ts = to_smol(self.last_now);
        for _ in 0..64 {
            self.iface.poll(ts, &mut self.device, &mut self.sockets);
            if !self.run_app(now) {
                break;
            }
        }
    }

    /// One round of application work; `true` if it did anything.
    fn run_app(&mut self, now: Instant) -> bool {
        let socket = self.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut progress = false;
        match &mut self.app {
            App::Sender { app, closed } => {
                while socket.can_send() && !app.all_written() {
                    match socket.send_slice(app.pending()) {
                        Ok(0) => break,
                        Ok(n) => {
                            app.advance(n);
                            progress = true;
                        }
                        Err(e) => {
                            self.error.get_or_insert(format!("send: {e}"));
                            break;
                        }
                    }
                }
                if app.all_written() && !*closed && socket.may_send() {
                    socket.close();
                    *closed = true;
                    progress = true;
                }
                if *closed && self.completed_at.is_none() && socket.send_queue() == 0 {
                    self.completed_at = Some(now);
                }
                if socket.state() == State::Closed && !*closed {
                    self.error
                        .get_or_insert("connection closed before all data was written".into());
                }
            }
            App::Receiver { app, closed } => {
                while socket.can_recv() {
                    match socket.recv_slice(&mut self.rx_scratch) {
                        Ok(0) => break,
                        Ok(n) => {
                            app.on_data(&self.rx_scratch[..n]);
                            progress = true;
                        }
                        Err(e) => {
                            self.error.get_or_insert(format!("recv: {e}"));
                            break;
                        }
                    }
                }
                let peer_closed = matches!(
                    socket.state(),
                    State::CloseWait | State::LastAck | State::Closing | State::TimeWait
                );
                if peer_closed && !socket.can_recv() && !app.eof() {
                    app.on_eof();
                    self.completed_at.get_or_insert(now);
                    progress = true;
                }
                if app.eof() && !*closed {
                    socket.close();
                    *closed = true;
                    progress = true;
                }
                if socket.state() == State::Closed && !app.eof() && socket.state() != State::Listen
                {
                    // A reset after the connection was set up.
                    if app.received() > 0 {
                        self.error
                            .get_or_insert("connection reset before end of stream".into());
                    }
                }
            }
        }
        progress
    }
}

impl Node for SmoltcpNode {
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>) {
        self.device.rx.push_back(packet);
        self.pump(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.device.tx.is_empty() && now > self.last_now {
            self.pump(now);
        }
        self.device.tx.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.iface
            .poll_at(to_smol(self.last_now), &self.sockets)
            .map(|t| from_smol(t).max(self.last_now))
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.pump(now);
    }

    fn report(&self) -> NodeReport {
        let state = self.state();
        let (bytes_sent, bytes_received, finished, app_error) = match &self.app {
            App::Sender { app, closed } => (
                app.written(),
                0,
                *closed && matches!(state, State::TimeWait | State::Closed),
                None,
            ),
            App::Receiver { app, closed } => (
                0,
                app.received(),
                *closed && app.complete() && state == State::Closed,
                app.error(),
            ),
        };
        NodeReport {
            bytes_sent,
            bytes_received,
            completed_at: self.completed_at,
            finished,
            error: self.error.clone().or(app_error),
            rtos: None,
            stats: None,
        }
    }
}
