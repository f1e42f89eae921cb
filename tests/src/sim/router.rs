//! A router node: forwards every packet it receives at once, by the world's routes
//! ([`super::World::add_route`]). With it several flows share one bottleneck link, e.g.
//! two senders behind one router, a bottleneck to a second router, two receivers behind
//! that (see [`Dumbbell`]).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use tcp_core::time::{Duration, Instant};

use super::link::LinkConfig;
use super::{LinkId, Node, NodeId, World};

/// Forwards packets unchanged; the links around it queue, delay and drop.
#[derive(Debug, Default)]
pub struct Router {
    queue: VecDeque<Vec<u8>>,
}

impl Node for Router {
    fn handle_packet(&mut self, _now: Instant, packet: Vec<u8>) {
        self.queue.push_back(packet);
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.queue.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) {}
}

/// The address of sender `i` of a [`Dumbbell`].
pub fn sender_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, 0, 1 + i as u8)
}

/// The address of receiver `i` of a [`Dumbbell`].
pub fn receiver_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 2, 0, 1 + i as u8)
}

/// A dumbbell: senders behind router A, receivers behind router B, A to B the
/// bottleneck (its configuration applies to both directions), the links to the routers
/// fast (10 Gbit/s, 100 µs). Pair `i` uses [`sender_addr`] and [`receiver_addr`].
#[derive(Debug, Clone, Copy)]
pub struct Dumbbell {
    /// Router A, in front of the senders.
    pub a: NodeId,
    /// Router B, in front of the receivers.
    pub b: NodeId,
    /// The bottleneck link between them.
    pub bottleneck: LinkId,
}

impl Dumbbell {
    /// Adds the two routers and the bottleneck.
    pub fn new(world: &mut World, bottleneck: LinkConfig) -> Self {
        let a = world.add_node(Box::new(Router::default()));
        let b = world.add_node(Box::new(Router::default()));
        let bottleneck = world.connect(a, b, bottleneck.clone(), bottleneck);
        Dumbbell { a, b, bottleneck }
    }

    /// Joins pair `i`: `sender` (address [`sender_addr`]`(i)`) to router A and `receiver`
    /// ([`receiver_addr`]`(i)`) to router B. Add the receiver (its listener) before the
    /// sender's SYN leaves; a pair may join while the world runs.
    pub fn add_pair(&self, world: &mut World, i: usize, sender: NodeId, receiver: NodeId) {
        let edge = LinkConfig::new(Duration::from_micros(100), Some(10_000_000_000));
        let ls = world.connect(sender, self.a, edge.clone(), edge.clone());
        world.add_route(self.a, IpAddr::V4(sender_addr(i)), ls);
        world.add_route(self.b, IpAddr::V4(sender_addr(i)), self.bottleneck);
        let lr = world.connect(receiver, self.b, edge.clone(), edge);
        world.add_route(self.b, IpAddr::V4(receiver_addr(i)), lr);
        world.add_route(self.a, IpAddr::V4(receiver_addr(i)), self.bottleneck);
    }
}
