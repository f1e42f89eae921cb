//! Bulk throughput over a TUN device, the Linux kernel's TCP as the peer, both directions:
//! our stack (`tcp-core` via `tcp-mio` + `tcp-tun`) next to smoltcp 0.14 (its
//! `TunTapInterface`) over the same setup, in the same run. A Linux ↔ Linux transfer over
//! the loopback device with its MTU set to 1500 is printed as a reference.
//!
//! Every measurement runs in a fresh private network namespace (root needed):
//! `cargo bench -p tcp-tun --bench tun_throughput -- [SIZE_MB] [REPS] [ROW]` (default 200 MB,
//! 3 repetitions, the median is reported; ROW selects rows by a part of their name;
//! `TUN_BENCH_STATS=1` prints our link's and driver's counters after each run;
//! `TUN_BENCH_DIR=k2s` or `s2k` measures one direction only, e.g. under `perf record`).
//!
//! Setup: MTU 1500, 256 KiB send and receive buffers on our stack and on smoltcp (the
//! kernel autotunes its own), one connection, the stack's loop and the kernel's socket in
//! different threads of one process.

use smoltcp::iface::{Config as SmolConfig, Interface, SocketSet};
use smoltcp::phy::{Medium, TunTapInterface, wait as phy_wait};
use smoltcp::socket::tcp as smol_tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};
use tcp_tun::TunStack;
use tcp_tun::netns::{self, TunNet};

const PORT: u16 = 5001;
const BUF: usize = 256 * 1024;
static DATA: [u8; 64 * 1024] = [0x5a; 64 * 1024];
const LIMIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dir {
    /// The kernel sends, the stack receives.
    KernelToStack,
    /// The stack sends, the kernel receives.
    StackToKernel,
}

fn kernel_send(target: SocketAddr, size: u64) -> io::Result<()> {
    let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(10))?;
    s.set_write_timeout(Some(LIMIT))?;
    let mut left = size;
    while left > 0 {
        let n = left.min(DATA.len() as u64) as usize;
        s.write_all(&DATA[..n])?;
        left -= n as u64;
    }
    s.shutdown(Shutdown::Write)?;
    s.set_read_timeout(Some(LIMIT))?;
    let mut sink = [0u8; 1024];
    while s.read(&mut sink)? > 0 {}
    Ok(())
}

/// Accepts one connection and reads it to end-of-stream; returns the byte count and when
/// the end came.
fn kernel_recv(l: TcpListener) -> io::Result<(u64, Instant)> {
    let (mut s, _) = l.accept()?;
    s.set_read_timeout(Some(LIMIT))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok((got, Instant::now()));
        }
        got += n as u64;
    }
}

fn layout() -> TunNet {
    TunNet {
        kernel_v6: None,
        ..TunNet::default()
    }
}

fn kernel_target(l: &TunNet) -> SocketAddr {
    SocketAddr::new(l.kernel_v4.into(), PORT)
}

fn our_target(l: &TunNet) -> SocketAddr {
    SocketAddr::new(l.ours_v4.into(), PORT)
}

/// One measurement with our stack on a plain TUN device.
fn ours(dir: Dir, size: u64) -> io::Result<Duration> {
    ours_on(false, dir, size)
}

/// One measurement with our stack on a TUN device with the virtio-net header and the
/// kernel's offloads (no checksum to verify, super-segments in).
fn ours_offloaded(dir: Dir, size: u64) -> io::Result<Duration> {
    ours_on(true, dir, size)
}

/// One measurement with our stack; returns the elapsed time.
fn ours_on(offloaded: bool, dir: Dir, size: u64) -> io::Result<Duration> {
    let layout = layout();
    let mut config = tcp_tun::config_for_mtu(layout.mtu, false);
    config.send_buffer = BUF;
    config.recv_buffer = BUF;
    let link = if offloaded {
        let link = layout.create_offloaded()?;
        if std::env::var_os("TUN_BENCH_STATS").is_some() {
            eprintln!("offloads: {:?}", link.offloads());
        }
        link
    } else {
        layout.create()?
    };
    let stack = TunStack::with_config(link, config)?;
    let net = stack.net();
    let deadline = Instant::now() + LIMIT;
    match dir {
        Dir::KernelToStack => {
            let listener = net.listen_on(our_target(&layout), 8)?;
            let target = our_target(&layout);
            let t0 = Instant::now();
            let k = thread::spawn(move || kernel_send(target, size));
            let mut conn = None;
            let mut got = 0u64;
            loop {
                if Instant::now() > deadline {
                    return Err(io::Error::new(ErrorKind::TimedOut, "ours: receive"));
                }
                net.poll(Some(Duration::from_millis(10)))?;
                if conn.is_none() {
                    conn = listener.accept().ok().map(|(s, _)| s);
                }
                let Some(s) = conn.as_ref() else { continue };
                loop {
                    match s.read_bytes(1 << 20) {
                        Ok(Some(b)) => got += b.len() as u64,
                        Ok(None) => {
                            let dt = t0.elapsed();
                            assert_eq!(got, size);
                            drop(conn);
                            for _ in 0..20 {
                                net.poll(Some(Duration::from_millis(5)))?;
                            }
                            k.join().expect("kernel thread")?;
                            if std::env::var_os("TUN_BENCH_STATS").is_some() {
                                eprintln!("ours {dir:?}: {:?}", stack.stats());
                                eprintln!("driver: {:?}", net.driver().stats());
                            }
                            return Ok(dt);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Dir::StackToKernel => {
            let l = TcpListener::bind(kernel_target(&layout))?;
            let k = thread::spawn(move || kernel_recv(l));
            let t0 = Instant::now();
            let mut s = stack.connect(kernel_target(&layout))?;
            let mut left = size;
            let mut shut = false;
            loop {
                if Instant::now() > deadline {
                    return Err(io::Error::new(ErrorKind::TimedOut, "ours: send"));
                }
                while left > 0 {
                    let n = left.min(DATA.len() as u64) as usize;
                    match s.write(&DATA[..n]) {
                        Ok(w) => left -= w as u64,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                if left == 0 && !shut {
                    s.shutdown()?;
                    shut = true;
                }
                if k.is_finished() {
                    let (got, end) = k.join().expect("kernel thread")?;
                    assert_eq!(got, size);
                    if std::env::var_os("TUN_BENCH_STATS").is_some() {
                        eprintln!("ours {dir:?}: {:?}", stack.stats());
                        eprintln!("driver: {:?}", net.driver().stats());
                    }
                    return Ok(end - t0);
                }
                net.poll(Some(Duration::from_millis(10)))?;
            }
        }
    }
}

/// Aggregate throughput of `flows` kernel clients sending `size` bytes each to our
/// listener over a multi-queue offloading device with `workers` workers (one endpoint and
/// loop per queue and thread); returns the elapsed time until every flow ended.
fn ours_workers(workers: usize, flows: usize, size: u64) -> io::Result<Duration> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let layout = layout();
    let links = layout.create_queues(workers)?;
    let target = our_target(&layout);
    let finished = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + LIMIT;
    let handles: Vec<_> = links
        .into_iter()
        .map(|link| {
            let finished = finished.clone();
            thread::spawn(move || -> io::Result<()> {
                let mut config = tcp_tun::config_for_mtu(layout.mtu, false);
                config.send_buffer = BUF;
                config.recv_buffer = BUF;
                let stack = TunStack::with_config(link, config)?;
                let net = stack.net();
                let listener = net.listen_on(target, 64)?;
                let mut conns = Vec::new();
                while finished.load(Ordering::SeqCst) < flows {
                    if Instant::now() > deadline {
                        return Err(io::Error::new(ErrorKind::TimedOut, "ours: workers"));
                    }
                    net.poll(Some(Duration::from_millis(1)))?;
                    while let Ok((s, _)) = listener.accept() {
                        conns.push(Some(s));
                    }
                    for c in &mut conns {
                        let Some(s) = c.as_ref() else { continue };
                        loop {
                            match s.read_bytes(1 << 20) {
                                Ok(Some(_)) => {}
                                Ok(None) => {
                                    *c = None;
                                    finished.fetch_add(1, Ordering::SeqCst);
                                    break;
                                }
                                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();
    let t0 = Instant::now();
    let senders: Vec<_> = (0..flows)
        .map(|_| thread::spawn(move || kernel_send(target, size)))
        .collect();
    for s in senders {
        s.join().expect("kernel sender")?;
    }
    for h in handles {
        h.join().expect("worker")?;
    }
    Ok(t0.elapsed())
}

/// One measurement with smoltcp; returns the elapsed time.
fn smoltcp(dir: Dir, size: u64) -> io::Result<Duration> {
    let layout = layout();
    let mut device = TunTapInterface::new(&layout.name, Medium::Ip)?;
    layout.configure(&layout.name)?;
    let fd = device.as_raw_fd();
    let mut cfg = SmolConfig::new(HardwareAddress::Ip);
    cfg.random_seed = 0x1234_5678;
    let now = smoltcp::time::Instant::now;
    let mut iface = Interface::new(cfg, &mut device, now());
    iface.update_ip_addrs(|a| {
        a.push(IpCidr::new(IpAddress::Ipv4(layout.ours_v4), 24))
            .unwrap();
    });
    iface
        .routes_mut()
        .add_default_ipv4_route(layout.kernel_v4)
        .unwrap();
    let mut sockets = SocketSet::new(vec![]);
    let sock = smol_tcp::Socket::new(
        smol_tcp::SocketBuffer::new(vec![0; BUF]),
        smol_tcp::SocketBuffer::new(vec![0; BUF]),
    );
    let h = sockets.add(sock);
    let deadline = Instant::now() + LIMIT;
    match dir {
        Dir::KernelToStack => {
            sockets
                .get_mut::<smol_tcp::Socket>(h)
                .listen(PORT)
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
            let target = our_target(&layout);
            let t0 = Instant::now();
            let k = thread::spawn(move || kernel_send(target, size));
            let mut got = 0u64;
            let mut seen_data = false;
            loop {
                if Instant::now() > deadline {
                    return Err(io::Error::new(ErrorKind::TimedOut, "smoltcp: receive"));
                }
                let t = now();
                iface.poll(t, &mut device, &mut sockets);
                let s = sockets.get_mut::<smol_tcp::Socket>(h);
                while s.can_recv() {
                    got += s
                        .recv(|b| (b.len(), b.len()))
                        .map_err(|e| io::Error::other(format!("{e:?}")))?
                        as u64;
                    seen_data = true;
                }
                if seen_data && !s.may_recv() && got == size {
                    let dt = t0.elapsed();
                    s.close();
                    let end = Instant::now() + Duration::from_millis(200);
                    while Instant::now() < end && !k.is_finished() {
                        iface.poll(now(), &mut device, &mut sockets);
                        phy_wait(fd, Some(smoltcp::time::Duration::from_millis(5)))?;
                    }
                    return Ok(dt);
                }
                phy_wait(fd, iface.poll_delay(t, &sockets))?;
            }
        }
        Dir::StackToKernel => {
            let l = TcpListener::bind(kernel_target(&layout))?;
            let k = thread::spawn(move || kernel_recv(l));
            let t0 = Instant::now();
            let remote = (IpAddress::Ipv4(layout.kernel_v4), PORT);
            sockets
                .get_mut::<smol_tcp::Socket>(h)
                .connect(iface.context(), remote, 49152)
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
            let mut left = size;
            let mut closed = false;
            loop {
                if Instant::now() > deadline {
                    return Err(io::Error::new(ErrorKind::TimedOut, "smoltcp: send"));
                }
                let t = now();
                iface.poll(t, &mut device, &mut sockets);
                let s = sockets.get_mut::<smol_tcp::Socket>(h);
                while left > 0 && s.can_send() {
                    let n = left.min(DATA.len() as u64) as usize;
                    let w = s
                        .send_slice(&DATA[..n])
                        .map_err(|e| io::Error::other(format!("{e:?}")))?;
                    if w == 0 {
                        break;
                    }
                    left -= w as u64;
                }
                if left == 0 && !closed {
                    s.close();
                    closed = true;
                }
                if k.is_finished() {
                    let (got, end) = k.join().expect("kernel thread")?;
                    assert_eq!(got, size);
                    return Ok(end - t0);
                }
                phy_wait(
                    fd,
                    iface
                        .poll_delay(t, &sockets)
                        .map(|d| d.min(smoltcp::time::Duration::from_millis(10)))
                        .or(Some(smoltcp::time::Duration::from_millis(10))),
                )?;
            }
        }
    }
}

/// Linux to Linux over `lo` with MTU 1500 (a reference, not over TUN).
fn linux(_dir: Dir, size: u64) -> io::Result<Duration> {
    netns::ip(&["link", "set", "dev", "lo", "mtu", "1500"])?;
    let l = TcpListener::bind("127.0.0.1:0")?;
    let target = l.local_addr()?;
    let k = thread::spawn(move || kernel_recv(l));
    let t0 = Instant::now();
    kernel_send(target, size)?;
    let (got, end) = k.join().expect("receiver")?;
    assert_eq!(got, size);
    Ok(end - t0)
}

/// Runs `f` in a fresh thread inside a fresh network namespace.
fn isolated(f: fn(Dir, u64) -> io::Result<Duration>, dir: Dir, size: u64) -> io::Result<Duration> {
    thread::spawn(move || {
        netns::unshare_net()?;
        f(dir, size)
    })
    .join()
    .expect("measurement thread")
}

/// Whether `TUN_BENCH_DIR` (`k2s`, `s2k`, or unset for both) selects this direction.
fn dir_selected(dir: Dir) -> bool {
    match std::env::var("TUN_BENCH_DIR").as_deref() {
        Ok("k2s") => dir == Dir::KernelToStack,
        Ok("s2k") => dir == Dir::StackToKernel,
        _ => true,
    }
}

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a quick smoke run only.
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke && !can_run() {
        return;
    }
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let size_mb = args.first().copied().unwrap_or(if smoke { 8 } else { 200 });
    let reps = args
        .get(1)
        .copied()
        .unwrap_or(if smoke { 1 } else { 3 })
        .max(1) as usize;
    // A non-numeric argument selects the rows whose name contains it.
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|a| a.parse::<u64>().is_err() && !a.starts_with('-'));
    let size = size_mb << 20;
    println!(
        "TUN bulk throughput, {size_mb} MiB per transfer, median of {reps}, MTU 1500, \
         256 KiB buffers on the user-space stacks"
    );
    println!();
    println!("| stack | kernel → stack | stack → kernel |");
    println!("|---|---:|---:|");
    type Run = fn(Dir, u64) -> io::Result<Duration>;
    let rows: [(&str, Run); 4] = [
        ("tcp-core (tcp-tun)", ours),
        ("tcp-core (tcp-tun, virtio-net offloads)", ours_offloaded),
        ("smoltcp 0.14 (TunTapInterface)", smoltcp),
        ("Linux ↔ Linux over lo, MTU 1500 (reference)", linux),
    ];
    let mut medians: Vec<(&str, [Option<f64>; 2])> = Vec::new();
    for (name, f) in rows {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let mut cells = Vec::new();
        let mut row = [None, None];
        for dir in [Dir::KernelToStack, Dir::StackToKernel] {
            if !dir_selected(dir) {
                cells.push("-".to_string());
                continue;
            }
            let mut rates = Vec::new();
            for _ in 0..reps {
                match isolated(f, dir, size) {
                    Ok(dt) => rates.push(size as f64 * 8.0 / dt.as_secs_f64() / 1e6),
                    Err(e) => {
                        eprintln!("{name} {dir:?}: {e}");
                        break;
                    }
                }
            }
            rates.sort_by(f64::total_cmp);
            if rates.len() == reps {
                row[cells.len()] = rates.get(rates.len() / 2).copied();
            }
            cells.push(match rates.get(rates.len() / 2) {
                Some(r) if rates.len() == reps => format!("{r:.0} Mbit/s"),
                _ => {
                    assert!(!smoke, "{name} {dir:?} failed");
                    "failed".to_string()
                }
            });
        }
        println!("| {name} | {} | {} |", cells[0], cells[1]);
        medians.push((name, row));
    }
    // Multi-queue: 8 flows kernel → stack, one worker against two (one per core).
    if only
        .as_ref()
        .is_none_or(|o| "multi-queue".contains(o.as_str()))
    {
        let flows = 8;
        let per_flow = (size / flows as u64).max(1 << 20);
        let mut agg = Vec::new();
        for workers in [1usize, 2] {
            let mut rates = Vec::new();
            for _ in 0..reps {
                let r = thread::spawn(move || {
                    netns::unshare_net()?;
                    ours_workers(workers, flows, per_flow)
                })
                .join()
                .expect("measurement thread");
                match r {
                    Ok(dt) => {
                        rates.push((per_flow * flows as u64) as f64 * 8.0 / dt.as_secs_f64() / 1e6)
                    }
                    Err(e) => {
                        eprintln!("multi-queue, {workers} workers: {e}");
                        break;
                    }
                }
            }
            rates.sort_by(f64::total_cmp);
            agg.push(rates.get(rates.len() / 2).copied());
        }
        println!();
        match (agg[0], agg[1]) {
            (Some(one), Some(two)) => println!(
                "multi-queue (virtio-net offloads), {flows} flows kernel → stack, workers=2: ours={:.2} Gbit/s one-worker={:.2} Gbit/s ratio={:.2}",
                two / 1e3,
                one / 1e3,
                two / one
            ),
            _ => {
                assert!(!smoke, "multi-queue measurement failed");
                println!("multi-queue: failed");
            }
        }
    }
    // Ours next to smoltcp, as ratios of the medians above.
    let find = |n: &str| {
        medians
            .iter()
            .find(|(m, _)| m.starts_with(n))
            .map(|(_, r)| *r)
    };
    // One line per case: ours next to smoltcp, as a ratio of the medians above.
    if let Some(smol) = find("smoltcp") {
        println!();
        for (name, row) in &medians {
            if !name.starts_with("tcp-core") {
                continue;
            }
            for (d, dir) in ["kernel → stack", "stack → kernel"].iter().enumerate() {
                if let (Some(o), Some(s)) = (row[d], smol[d]) {
                    println!(
                        "{name}, {dir}, one flow, one worker: ours={:.2} Gbit/s smoltcp={:.2} Gbit/s ratio={:.2}",
                        o / 1e3,
                        s / 1e3,
                        o / s
                    );
                }
            }
        }
    }
}

/// In test mode: whether namespaces and TUN devices can be made here. If not, says so and
/// skips, unless `CI` is set, where that is a failure.
fn can_run() -> bool {
    match thread::spawn(|| netns::unshare_net().and_then(|()| netns::open_tun("probe0").map(drop)))
        .join()
        .expect("probe thread")
    {
        Ok(()) => true,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot create a namespace with a TUN device: {e}"
            );
            eprintln!(
                "*** tun_throughput SKIPPED: cannot create a namespace with a TUN device: {e}"
            );
            false
        }
    }
}
