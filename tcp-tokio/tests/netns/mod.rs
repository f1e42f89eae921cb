//! The harness of the tests that need a private network namespace with a TUN device: each
//! test runs in a thread of its own (it moves that thread into a new namespace), and when
//! the machine cannot make one (not root, no /dev/net/tun, no `ip`) every test is reported
//! as *ignored* with the reason, never as passed. Under `CI` they always run.
#![allow(dead_code)]

use tcp_tokio::tcp_tun::netns::{self, TunNet};

/// Creates a namespace for this thread and a TUN device `layout` in it; returns the
/// device, opened non-blocking.
pub fn enter(layout: &TunNet) -> tcp_tokio::tun_tap::Iface {
    netns::unshare_net()
        .and_then(|()| {
            let iface = netns::open_tun(&layout.name)?;
            layout.configure(iface.name())?;
            Ok(iface)
        })
        .unwrap_or_else(|e| panic!("cannot make a namespace with a TUN device: {e}"))
}

/// [`enter`] with the device opened with the virtio-net header and the kernel's offloads.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn enter_offloaded(layout: &TunNet) -> tcp_tokio::tcp_tun::vnet::VnetTun {
    netns::unshare_net()
        .and_then(|()| {
            let dev = tcp_tokio::tcp_tun::vnet::VnetTun::open(&layout.name)?;
            layout.configure(dev.name())?;
            Ok(dev)
        })
        .unwrap_or_else(|e| panic!("cannot make a namespace with an offloading TUN device: {e}"))
}

/// Runs `tests` with [`netns_harness::run`], after a probe that makes a namespace with a
/// TUN device of the default layout.
pub fn run(tests: &[(&'static str, fn())]) {
    netns_harness::run(tests, || {
        netns::unshare_net()
            .and_then(|()| {
                let layout = TunNet::default();
                let iface = netns::open_tun(&layout.name)?;
                layout.configure(iface.name())
            })
            .map_err(netns_harness::cannot_make_namespace)
    })
}

/// A current-thread runtime (its sockets live in the calling thread's namespace).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
