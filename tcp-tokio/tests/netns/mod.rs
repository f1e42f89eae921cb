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

/// Why the tests cannot run here, or `None`.
fn missing() -> Option<String> {
    let probe = std::thread::spawn(|| {
        netns::unshare_net().and_then(|()| {
            let layout = TunNet::default();
            let iface = netns::open_tun(&layout.name)?;
            layout.configure(iface.name())
        })
    })
    .join()
    .expect("probe thread");
    probe.err().map(|e| {
        format!("needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN), /dev/net/tun and `ip` (iproute2): {e}")
    })
}

/// Runs `tests` like libtest does (filters, `--list`), each in a fresh thread.
pub fn run(tests: &[(&'static str, fn())]) {
    let args = libtest_mimic::Arguments::from_args();
    let skip = if std::env::var_os("CI").is_some() {
        None
    } else {
        missing()
    };
    let trials = tests
        .iter()
        .map(|&(name, test)| {
            let skip = skip.clone();
            libtest_mimic::Trial::ignorable_test(name, move || {
                if let Some(why) = skip {
                    return Ok(libtest_mimic::Completion::ignored_with(why));
                }
                match std::thread::spawn(test).join() {
                    Ok(()) => Ok(libtest_mimic::Completion::Completed),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// A current-thread runtime (its sockets live in the calling thread's namespace).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
