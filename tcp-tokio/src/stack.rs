//! [`Stack`]: one endpoint, its link and the driver task that runs them.

use crate::driver;
use crate::link::{LinkIo, LinkState};
use crate::listener::TcpListener;
use crate::shared::{ConnSlot, ListenerSlot, Shared};
use crate::stream::TcpStream;
use crate::udp::{self, UdpRoutes, UdpStats};
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tcp_core::endpoint::ListenOptions;
use tcp_core::{Config, Endpoint, EndpointConfig, EndpointStats};
use tcp_mio::error::{connect_err, listen_err};

/// Keeps the driver running: every handle (the stack, listeners, streams, their halves)
/// holds one reference; when the last goes, the driver sends what it has and stops.
#[derive(Debug)]
pub(crate) struct Life {
    pub(crate) shared: Arc<Shared>,
}

impl Drop for Life {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// A TCP stack: one [`tcp_core::Endpoint`] on one link, driven by a tokio task.
///
/// Cloning is cheap (a reference count). The driver task runs while any handle exists:
/// the stack, a [`TcpListener`], a [`TcpStream`] or one of its halves. When the last one
/// is dropped the driver sends what the endpoint has queued and stops; connections that
/// still had data in flight then go no further, so keep a handle until transfers are
/// done (for example until the peer's end-of-stream was read).
#[derive(Clone, Debug)]
pub struct Stack {
    life: Arc<Life>,
}

impl Stack {
    /// A stack on a UDP socket bound to `addr` (a specific IP; port 0 picks one), carrying
    /// one TCP segment per datagram as `tcp-mio` does. The endpoint's secret comes from
    /// the operating system. Must be called from within a tokio runtime (the driver task
    /// is spawned on it).
    pub fn bind_udp(addr: SocketAddr, config: Config) -> io::Result<Stack> {
        Self::bind_udp_with(addr, config, EndpointConfig::default())
    }

    /// [`Stack::bind_udp`] with explicit endpoint parameters; an all-zero secret is
    /// replaced by random bytes from the operating system.
    pub fn bind_udp_with(
        addr: SocketAddr,
        config: Config,
        ep: EndpointConfig,
    ) -> io::Result<Stack> {
        let socket = udp::bind(addr)?;
        let local = socket.local_addr()?;
        let link = LinkState::Udp(UdpRoutes::new(local));
        Self::start(config, ep, link, LinkIo::Udp(Arc::new(socket)))
    }

    /// Creates the endpoint and spawns its driver on the current runtime.
    pub(crate) fn start(
        config: Config,
        mut ep: EndpointConfig,
        link: LinkState,
        io: LinkIo,
    ) -> io::Result<Stack> {
        if ep.secret == [0; 16] {
            ep.secret = tcp_mio::random_secret()?;
        }
        let shared = Arc::new(Shared::new(Endpoint::new(config, ep), link, io));
        tokio::runtime::Handle::try_current()
            .map_err(io::Error::other)?
            .spawn(driver::run(shared.clone()));
        Ok(Stack {
            life: Arc::new(Life { shared }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.life.shared
    }

    /// The UDP socket's address (what peers send to), for a stack on a UDP link.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        match &self.shared().lock().link {
            LinkState::Udp(r) => Some(r.local_addr()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The UDP link's counters, for a stack on a UDP link.
    pub fn udp_stats(&self) -> Option<UdpStats> {
        match &self.shared().lock().link {
            LinkState::Udp(r) => Some(r.stats),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The driver task's counters.
    pub fn driver_stats(&self) -> crate::DriverStats {
        self.shared().stats.snapshot()
    }

    /// The endpoint's counters.
    pub fn endpoint_stats(&self) -> EndpointStats {
        *self.shared().lock().endpoint.stats()
    }

    /// Listens on `addr` (a specific IP or the unspecified one) with an accept queue of
    /// `backlog`: connections complete their handshake on their own and wait for
    /// [`TcpListener::accept`].
    pub fn listen(&self, addr: SocketAddr, backlog: usize) -> io::Result<TcpListener> {
        self.listen_inner(addr, backlog, false)
    }

    /// Listens on `addr` in decision mode: each SYN waits for the application, which gets
    /// it from [`TcpListener::next_incoming`] and accepts it (SYN-ACK) or refuses it
    /// (RST), for example after dialling an upstream first. Such a listener's
    /// [`TcpListener::accept`] never returns a connection.
    pub fn listen_with_decision(
        &self,
        addr: SocketAddr,
        backlog: usize,
    ) -> io::Result<TcpListener> {
        self.listen_inner(addr, backlog, true)
    }

    fn listen_inner(
        &self,
        addr: SocketAddr,
        backlog: usize,
        decide: bool,
    ) -> io::Result<TcpListener> {
        let mut g = self.shared().lock();
        let h = g
            .endpoint
            .listen_with(addr, ListenOptions { backlog, decide })
            .map_err(listen_err)?;
        g.listeners.insert(
            h,
            ListenerSlot {
                waker: None,
                incoming: VecDeque::new(),
            },
        );
        Ok(TcpListener::new(self.life.clone(), Some(h), addr))
    }

    /// A stack on a TUN device whose own addresses are `addrs` (one per family is used
    /// for active opens; packets to any of them are taken). The device is a `tun_tap`
    /// one opened without packet information (for example with
    /// [`tcp_tun::netns::open_tun`]) or, for the kernel's checksum and segmentation
    /// offloads, a [`tcp_tun::vnet::VnetTun`] ([`crate::TunDevice`]). `config.mss` should
    /// fit the device's MTU ([`tcp_tun::mss_for_mtu`]). Must be called from within a
    /// tokio runtime.
    #[cfg(target_os = "linux")]
    pub fn bind_tun(
        device: impl Into<crate::TunDevice>,
        addrs: &[IpAddr],
        config: Config,
    ) -> io::Result<Stack> {
        Self::tun_inner(device.into(), addrs, false, config)
    }

    /// A stack on a TUN device that takes packets to *every* address, for a transparent
    /// proxy: with [`Stack::listen_transparent`] each TCP flow routed into the device is
    /// terminated here, whatever its destination. `addrs` are the addresses active opens
    /// leave from (may be empty).
    #[cfg(target_os = "linux")]
    pub fn bind_tun_transparent(
        device: impl Into<crate::TunDevice>,
        addrs: &[IpAddr],
        config: Config,
    ) -> io::Result<Stack> {
        Self::tun_inner(device.into(), addrs, true, config)
    }

    #[cfg(target_os = "linux")]
    fn tun_inner(
        device: crate::TunDevice,
        addrs: &[IpAddr],
        transparent: bool,
        config: Config,
    ) -> io::Result<Stack> {
        let link = LinkState::Tun(crate::tun::TunAddrs::new(addrs, transparent, &device));
        let io = crate::tun::TunIo::new(device)?;
        Self::start(
            config,
            EndpointConfig::default(),
            link,
            LinkIo::Tun(Arc::new(io)),
        )
    }

    /// The TUN link's counters, for a stack on a TUN device.
    #[cfg(target_os = "linux")]
    pub fn tun_stats(&self) -> Option<crate::TunStats> {
        match &self.shared().lock().link {
            LinkState::Tun(t) => Some(t.stats),
            _ => None,
        }
    }

    /// The transparent listener: every connection request to any address and port that
    /// no other listener takes, in decision mode ([`TcpListener::next_incoming`]; each
    /// request's [`crate::IncomingConnection::local_addr`] is the destination the client
    /// asked for). For stacks made with [`Stack::bind_tun_transparent`]; one per stack.
    /// The core listens per port, so the stack adds a decision-mode listener on a port
    /// the first time a SYN for it arrives (`backlog` each).
    pub fn listen_transparent(&self, backlog: usize) -> io::Result<TcpListener> {
        let mut g = self.shared().lock();
        if g.catch_all.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "the stack already has a transparent listener",
            ));
        }
        let any = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
        g.catch_all = Some((
            ListenerSlot {
                waker: None,
                incoming: VecDeque::new(),
            },
            backlog,
        ));
        Ok(TcpListener::new(self.life.clone(), None, any))
    }

    /// Connects to TCP port `port` of the peer whose UDP socket is `peer_udp` (the
    /// connection's remote address is `(peer_udp.ip(), port)`); completes when the
    /// handshake does.
    pub async fn connect_udp(&self, peer_udp: SocketAddr, port: u16) -> io::Result<TcpStream> {
        self.connect_inner(SocketAddr::new(peer_udp.ip(), port), Some(peer_udp))
            .await
    }

    /// Connects to `remote` from the link's address of its family; completes when the
    /// handshake does. On a UDP link, `remote`'s IP and port are taken as the peer's UDP
    /// socket and TCP port alike (use [`Stack::connect_udp`] when they differ).
    pub async fn connect(&self, remote: SocketAddr) -> io::Result<TcpStream> {
        let hop = matches!(self.shared().lock().link, LinkState::Udp(_)).then_some(remote);
        self.connect_inner(remote, hop).await
    }

    async fn connect_inner(
        &self,
        remote: SocketAddr,
        next_hop: Option<SocketAddr>,
    ) -> io::Result<TcpStream> {
        let h = {
            let mut g = self.shared().lock();
            if g.driver_gone {
                return Err(crate::stream::driver_gone());
            }
            let inner = &mut *g;
            let local_ip = inner.link.local_ip(remote.ip()).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NetworkUnreachable,
                    "the link has no address of the remote's family",
                )
            })?;
            let now = self.shared().now();
            let h = inner
                .endpoint
                .connect(now, local_ip, remote)
                .map_err(connect_err)?;
            if let (Some(hop), Ok(tuple)) = (next_hop, inner.endpoint.tuple(h)) {
                inner.link.set_route(tuple, hop);
            }
            inner.conns.insert(h, ConnSlot::default());
            // The SYN leaves from here.
            self.shared().flush(g);
            h
        };
        let stream = TcpStream::new(self.life.clone(), h);
        stream.wait_open().await?;
        Ok(stream)
    }
}
