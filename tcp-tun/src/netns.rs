//! Private network namespaces with a TUN device in them.
//!
//! [`unshare_net`] moves the calling thread into a new, empty network namespace (only that
//! thread: threads it spawns afterwards and processes it starts inherit it, the rest of
//! the process stays where it was). [`TunNet::create`] then makes a TUN device there,
//! gives the kernel its address on it and returns a [`TunLink`] for the stack's address.
//! Nothing outside the namespace sees any of it, and it disappears with the last thread
//! or process in it, device and addresses included.
//!
//! The addresses come from the documentation ranges: by default the kernel is 192.0.2.1/24
//! and 2001:db8::1/64 on the device, the stack is 192.0.2.2 and 2001:db8::2.

use crate::link::TunLink;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

/// Moves the calling thread into a new network namespace (`unshare(CLONE_NEWNET)`) and
/// brings its loopback device up. Needs `CAP_SYS_ADMIN`.
///
/// Only the calling thread moves. Threads it spawns afterwards and child processes
/// (`std::process::Command`) start in the new namespace too; threads that existed before
/// do not.
pub fn unshare_net() -> io::Result<()> {
    // SAFETY: unshare takes flags only; CLONE_NEWNET affects only the calling thread.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    ip(&["link", "set", "dev", "lo", "up"])
}

/// Runs `ip ARGS...` (iproute2) and fails with its error output if it fails. As a child
/// of the calling thread it acts in that thread's network namespace.
pub fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output().map_err(|e| {
        io::Error::new(e.kind(), format!("cannot run `ip` (install iproute2): {e}"))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// The layout of a TUN device and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunNet {
    /// Device name (at most 15 bytes).
    pub name: String,
    /// Device MTU.
    pub mtu: u32,
    /// The kernel's IPv4 address on the device.
    pub kernel_v4: Ipv4Addr,
    /// The stack's IPv4 address (in the kernel's subnet, so routed into the device).
    pub ours_v4: Ipv4Addr,
    /// IPv4 prefix length of the device's subnet.
    pub prefix_v4: u8,
    /// The kernel's IPv6 address on the device; `None`: IPv4 only.
    pub kernel_v6: Option<Ipv6Addr>,
    /// The stack's IPv6 address.
    pub ours_v6: Ipv6Addr,
    /// IPv6 prefix length of the device's subnet.
    pub prefix_v6: u8,
    /// The device's transmit queue length (packets the kernel queues for the stack to
    /// read before it drops). Default 1000.
    pub txqueuelen: u32,
}

impl Default for TunNet {
    fn default() -> Self {
        TunNet {
            name: "tun0".into(),
            mtu: 1500,
            kernel_v4: Ipv4Addr::new(192, 0, 2, 1),
            ours_v4: Ipv4Addr::new(192, 0, 2, 2),
            prefix_v4: 24,
            kernel_v6: Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            ours_v6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
            prefix_v6: 64,
            txqueuelen: 1000,
        }
    }
}

impl TunNet {
    /// The stack's addresses.
    pub fn ours(&self) -> Vec<IpAddr> {
        let mut v = vec![IpAddr::V4(self.ours_v4)];
        if self.kernel_v6.is_some() {
            v.push(IpAddr::V6(self.ours_v6));
        }
        v
    }

    /// Creates the TUN device in the current thread's network namespace, sets its MTU and
    /// queue length, brings it up and gives the kernel its addresses (IPv6 without
    /// duplicate address detection, so it is usable at once). Returns the link for the
    /// stack's addresses.
    pub fn create(&self) -> io::Result<TunLink> {
        let iface = tun_tap::Iface::without_packet_info(&self.name, tun_tap::Mode::Tun)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create TUN device: {e}")))?;
        self.configure(iface.name())?;
        TunLink::new(iface, &self.ours())
    }

    /// [`TunNet::create`] with the virtio-net header and the kernel's offloads
    /// ([`crate::vnet::VnetTun`]: no checksums to verify on the kernel's packets, TCP
    /// super-segments of up to 64 KiB when the kernel accepts TSO).
    pub fn create_offloaded(&self) -> io::Result<TunLink> {
        let device = crate::vnet::VnetTun::open(&self.name).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create TUN device with offloads: {e}"),
            )
        })?;
        self.configure(device.name())?;
        TunLink::new_vnet(device, &self.ours())
    }

    /// [`TunNet::create_offloaded`] with `queues` queues (`IFF_MULTI_QUEUE`): one link per
    /// queue, each for its own worker thread with its own endpoint. With two queues or
    /// more, the port-based flow steering of [`crate::steering`] decides which queue gets
    /// a flow, for its whole life; a worker opening a connection uses
    /// [`crate::TunStack::connect_on_queue`].
    pub fn create_queues(&self, queues: usize) -> io::Result<Vec<TunLink>> {
        let devices = crate::vnet::VnetTun::open_queues(&self.name, queues).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a multi-queue TUN device: {e}"),
            )
        })?;
        if let Some(d) = devices.first() {
            self.configure(d.name())?;
            if devices.len() > 1 {
                crate::steering::attach(std::os::fd::AsRawFd::as_raw_fd(d)).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot install the flow steering: {e}"))
                })?;
            }
        }
        devices
            .into_iter()
            .map(|d| TunLink::new_vnet(d, &self.ours()))
            .collect()
    }

    /// Configures an existing device `name` (made by another TUN user, e.g. smoltcp's
    /// `TunTapInterface`) as [`TunNet::create`] does: MTU, queue length, up, the kernel's
    /// addresses.
    pub fn configure(&self, name: &str) -> io::Result<()> {
        let mtu = self.mtu.to_string();
        let qlen = self.txqueuelen.to_string();
        ip(&[
            "link",
            "set",
            "dev",
            name,
            "mtu",
            &mtu,
            "txqueuelen",
            &qlen,
            "up",
        ])?;
        let v4 = format!("{}/{}", self.kernel_v4, self.prefix_v4);
        ip(&["addr", "add", &v4, "dev", name])?;
        if let Some(k6) = self.kernel_v6 {
            let v6 = format!("{}/{}", k6, self.prefix_v6);
            ip(&["-6", "addr", "add", &v6, "dev", name, "nodad"])?;
            wait_local_route_v6(k6)?;
        }
        Ok(())
    }
}

/// Waits until the kernel treats `addr` as local: even without duplicate address detection,
/// Linux installs an IPv6 address's local route from a work queue, so for a few
/// milliseconds after `ip addr add` (longer on a busy machine) packets to it are dropped
/// (`Ip6InAddrErrors`).
fn wait_local_route_v6(addr: Ipv6Addr) -> io::Result<()> {
    let target = addr.to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = Command::new("ip")
            .args(["-6", "route", "show", "table", "local", &target])
            .output()?;
        if out.status.success() && !out.stdout.trim_ascii().is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("IPv6 address {addr} did not become local"),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// `struct ifreq` with the MTU member of its union.
#[repr(C)]
struct IfreqMtu {
    name: [libc::c_char; libc::IFNAMSIZ],
    mtu: libc::c_int,
    _pad: [u8; 20],
}

/// Reads the MTU of device `name` in the current thread's network namespace
/// (`SIOCGIFMTU`).
pub fn get_mtu(name: &str) -> io::Result<u32> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "device name too long",
        ));
    }
    let mut req = IfreqMtu {
        name: [0; libc::IFNAMSIZ],
        mtu: 0,
        _pad: [0; 20],
    };
    for (d, s) in req.name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket creation; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `req` is a properly laid out `struct ifreq` (40 bytes) that outlives the call.
    let r = unsafe { libc::ioctl(fd, libc::SIOCGIFMTU as _, &mut req as *mut IfreqMtu) };
    let err = io::Error::last_os_error();
    // SAFETY: `fd` is ours and not used afterwards.
    unsafe { libc::close(fd) };
    if r < 0 {
        return Err(err);
    }
    Ok(req.mtu as u32)
}

/// Creates (or attaches to) the TUN device `name` in the current thread's namespace,
/// without packet information, non-blocking, and not configured (for the
/// [`crate::emu`] link emulator and other raw uses).
pub fn open_tun(name: &str) -> io::Result<tun_tap::Iface> {
    let iface = tun_tap::Iface::without_packet_info(name, tun_tap::Mode::Tun)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create TUN device: {e}")))?;
    crate::link::set_nonblocking(std::os::fd::AsRawFd::as_raw_fd(&iface))?;
    Ok(iface)
}
