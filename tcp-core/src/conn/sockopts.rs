//! The socket options an application can change per connection.
//!
//! Most connections never set the rarer ones (keepalive, a user timeout, a not-sent low
//! mark), so those live in a box allocated only while one of them is set.

use crate::config::Keepalive;
use crate::time::Duration;
use alloc::boxed::Box;

/// Per-connection settings the application can change (socket options).
#[derive(Clone, Debug)]
pub(super) struct SockOpts {
    /// `TCP_NODELAY`.
    pub(super) nodelay: bool,
    /// `TCP_CORK`: partial segments wait until uncorked (or the probe timer).
    pub(super) cork: bool,
    rare: Option<Box<RareOpts>>,
}

/// The options few connections set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct RareOpts {
    /// `TCP_NOTSENT_LOWAT`.
    notsent_lowat: Option<u32>,
    /// `SO_KEEPALIVE` with `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`.
    keepalive: Option<Keepalive>,
    /// `TCP_USER_TIMEOUT` (RFC 9293 §3.8.4).
    user_timeout: Option<Duration>,
}

impl SockOpts {
    /// The options a new connection starts with.
    pub(super) fn new(
        nodelay: bool,
        notsent_lowat: Option<u32>,
        keepalive: Option<Keepalive>,
        user_timeout: Option<Duration>,
    ) -> Self {
        let mut o = SockOpts {
            nodelay,
            cork: false,
            rare: None,
        };
        o.update(|r| {
            *r = RareOpts {
                notsent_lowat,
                keepalive,
                user_timeout,
            }
        });
        o
    }

    fn rare(&self) -> RareOpts {
        self.rare.as_deref().copied().unwrap_or_default()
    }

    /// Changes the rare options, keeping the box only while one is set.
    fn update(&mut self, f: impl FnOnce(&mut RareOpts)) {
        let mut r = self.rare();
        f(&mut r);
        self.rare = (r != RareOpts::default()).then(|| Box::new(r));
    }

    /// `TCP_NOTSENT_LOWAT`.
    pub(super) fn notsent_lowat(&self) -> Option<u32> {
        self.rare.as_deref().and_then(|r| r.notsent_lowat)
    }

    /// Keepalive settings, when keepalive is on.
    pub(super) fn keepalive(&self) -> Option<Keepalive> {
        self.rare.as_deref().and_then(|r| r.keepalive)
    }

    /// The user timeout, when set.
    pub(super) fn user_timeout(&self) -> Option<Duration> {
        self.rare.as_deref().and_then(|r| r.user_timeout)
    }

    pub(super) fn set_notsent_lowat(&mut self, v: Option<u32>) {
        self.update(|r| r.notsent_lowat = v);
    }

    pub(super) fn set_keepalive(&mut self, v: Option<Keepalive>) {
        self.update(|r| r.keepalive = v);
    }

    pub(super) fn set_user_timeout(&mut self, v: Option<Duration>) {
        self.update(|r| r.user_timeout = v);
    }

    /// Heap bytes held (the rare options, while one is set).
    pub(super) fn heap_bytes(&self) -> usize {
        self.rare
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<RareOpts>())
    }
}
