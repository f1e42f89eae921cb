//! A simulator node running this project's `tcp_core::Endpoint` with a bulk application.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use tcp_core::conn::ConnStats;
use tcp_core::endpoint::Transmit;
use tcp_core::endpoint::{ConnHandle, ListenerHandle};
use tcp_core::time::Instant;
use tcp_core::wire::{IpHeader, WireError, emit_ip_tcp_packet_with};
use tcp_core::{Config, Endpoint, EndpointConfig, ReadError, State, WriteError};

use super::app::{BulkReceiver, BulkSender};
use super::rng::Rng;
use super::smoltcp_node::Role;
use super::{Node, NodeReport};

/// Configuration of an [`OursNode`].
#[derive(Debug, Clone)]
pub struct OursConfig {
    /// This node's address.
    pub local_addr: Ipv4Addr,
    /// The peer's address.
    pub peer_addr: Ipv4Addr,
    /// The receiver's listening port.
    pub server_port: u16,
    /// Per-connection configuration (buffers, MSS, congestion control).
    pub tcp: Config,
    /// Endpoint secret (seed-derived in simulations).
    pub secret: [u8; 16],
    /// Reneging receiver fault: after each packet the node handles, with this probability
    /// its connection discards the out-of-order data it holds
    /// ([`tcp_core::Connection::purge_out_of_order`], as a host short of memory would;
    /// RFC 2018 §8). Zero disables it; the draws come from a stream seeded by `secret`.
    pub purge_ofo: f64,
}

enum App {
    Sender {
        app: BulkSender,
        conn: Option<ConnHandle>,
        shut: bool,
    },
    Receiver {
        app: BulkReceiver,
        listener: ListenerHandle,
        conn: Option<ConnHandle>,
    },
}

/// Our endpoint with one bulk connection.
pub struct OursNode {
    ep: Endpoint,
    app: App,
    completed_at: Option<Instant>,
    finished: bool,
    error: Option<String>,
    rtos: u64,
    stats: Option<ConnStats>,
    purge_ofo: f64,
    rng: Rng,
    scratch: Vec<u8>,
}

impl OursNode {
    /// A node that starts its application at `now` (a sender connects at once).
    pub fn new(config: &OursConfig, role: Role, now: Instant) -> Self {
        let mut ep = Endpoint::new(
            config.tcp.clone(),
            EndpointConfig::with_secret(config.secret),
        );
        let local = IpAddr::V4(config.local_addr);
        let mut error = None;
        let app = match role {
            Role::Sender { bytes } => {
                let peer = SocketAddr::new(IpAddr::V4(config.peer_addr), config.server_port);
                let conn = match ep.connect(now, local, peer) {
                    Ok(h) => Some(h),
                    Err(e) => {
                        error = Some(format!("connect: {e}"));
                        None
                    }
                };
                App::Sender {
                    app: BulkSender::new(bytes),
                    conn,
                    shut: false,
                }
            }
            Role::Receiver { expected } => {
                let listener = ep
                    .listen(SocketAddr::new(local, config.server_port), 16)
                    .expect("a fresh endpoint can listen");
                App::Receiver {
                    app: BulkReceiver::new(expected),
                    listener,
                    conn: None,
                }
            }
        };
        let mut node = OursNode {
            ep,
            app,
            completed_at: None,
            finished: false,
            error,
            rtos: 0,
            stats: None,
            purge_ofo: config.purge_ofo,
            rng: Rng::new(
                config
                    .secret
                    .iter()
                    .fold(0x0f0f_u64, |h, &b| h.rotate_left(8) ^ u64::from(b)),
            ),
            scratch: vec![0; 64 * 1024],
        };
        node.run_app(now);
        node
    }

    /// Application work: write, read, close.
    fn run_app(&mut self, now: Instant) {
        while self.ep.poll_event().is_some() {}
        match &mut self.app {
            App::Sender { app, conn, shut } => {
                let Some(h) = *conn else { return };
                let Ok(c) = self.ep.connection(h) else { return };
                self.rtos = c.stats().rtos;
                self.stats = Some(c.stats());
                let state = c.state();
                if state == State::Closed
                    && let Some(e) = c.error()
                {
                    self.error.get_or_insert(format!("connection failed: {e}"));
                }
                while !app.all_written() {
                    match self.ep.write(now, h, app.pending()) {
                        Ok(n) if n > 0 => app.advance(n),
                        Err(WriteError::WouldBlock | WriteError::NotConnected) | Ok(_) => {
                            break;
                        }
                        Err(e) => {
                            self.error.get_or_insert(format!("write: {e}"));
                            break;
                        }
                    }
                }
                if app.all_written() && !*shut && state.is_synchronized() {
                    let _ = self.ep.shutdown(now, h);
                    *shut = true;
                }
                // Everything acknowledged, FIN included: the data part is complete.
                if *shut && matches!(state, State::FinWait2 | State::TimeWait | State::Closed) {
                    self.completed_at.get_or_insert(now);
                    let _ = self.ep.close(now, h);
                    *conn = None;
                    self.finished = true;
                }
            }
            App::Receiver {
                app,
                listener,
                conn,
            } => {
                if conn.is_none() {
                    *conn = self.ep.accept(*listener).ok().flatten();
                }
                let Some(h) = *conn else { return };
                if let Ok(c) = self.ep.connection(h) {
                    self.rtos = c.stats().rtos;
                    self.stats = Some(c.stats());
                }
                loop {
                    match self.ep.read(now, h, &mut self.scratch) {
                        Ok(0) => {
                            app.on_eof();
                            self.completed_at.get_or_insert(now);
                            let _ = self.ep.close(now, h);
                            *conn = None;
                            self.finished = true;
                            break;
                        }
                        Ok(n) => app.on_data(&self.scratch[..n]),
                        Err(ReadError::WouldBlock) => break,
                        Err(e) => {
                            self.error.get_or_insert(format!("read: {e}"));
                            break;
                        }
                    }
                }
            }
        }
    }
}

impl OursNode {
    /// The reneging fault ([`OursConfig::purge_ofo`]) of a receiving node.
    fn maybe_renege(&mut self, now: Instant) {
        let App::Receiver { conn: Some(h), .. } = self.app else {
            return;
        };
        if self.purge_ofo > 0.0 && self.rng.chance(self.purge_ofo) {
            let _ = self.ep.with_connection(now, h, |c| c.purge_out_of_order());
        }
    }
}

/// The IP packet carrying `t` (IPv4 or IPv6 header, TCP header with checksum, payload).
pub fn encode_packet(t: &Transmit) -> Result<Vec<u8>, WireError> {
    let mut buf = vec![0u8; t.len() + 60];
    let h = &t.segment.header;
    // The IP header carries the segment's ECN codepoint (RFC 3168).
    let mut ip = IpHeader::for_tcp(t.src.ip(), t.dst.ip())?;
    ip.set_ecn(t.segment.ecn);
    let n = emit_ip_tcp_packet_with(&ip, h, &t.segment.payload, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

impl Node for OursNode {
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>) {
        // Corrupted packets are counted by the endpoint and otherwise ignored.
        let _ = self.ep.handle_packet(now, Bytes::from(packet));
        self.maybe_renege(now);
        self.run_app(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.ep.poll_transmit(now)?;
        match encode_packet(&t) {
            Ok(buf) => Some(buf),
            Err(e) => {
                self.error.get_or_insert(format!("encode: {e}"));
                None
            }
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.ep.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.run_app(now);
    }

    fn report(&self) -> NodeReport {
        let (sent, received) = match &self.app {
            App::Sender { app, .. } => (app.written(), 0),
            App::Receiver { app, .. } => (0, app.received()),
        };
        let error = self.error.clone().or_else(|| match &self.app {
            App::Receiver { app, .. } => app.error(),
            App::Sender { .. } => None,
        });
        NodeReport {
            bytes_sent: sent,
            bytes_received: received,
            completed_at: self.completed_at,
            finished: self.finished,
            error,
            rtos: Some(self.rtos),
            stats: self.stats,
        }
    }

    fn tcp_info(&self, now: Instant) -> Option<tcp_core::TcpInfo> {
        let conn = match &self.app {
            App::Sender { conn, .. } | App::Receiver { conn, .. } => (*conn)?,
        };
        self.ep.connection(conn).ok().map(|c| c.tcp_info(now))
    }
}
