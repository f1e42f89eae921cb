//! Goodput over an emulated path (our link emulator between two TUN devices, see
//! `tcp_testkit::emu`): 100 Mbit/s, 10 ms one-way delay, MTU 1500, random loss 0 / 1 / 5 % in
//! both directions, a drop-tail bottleneck queue of one bandwidth-delay product (250 kB),
//! 256 KiB socket buffers on every end. Linux ↔ Linux next to Linux ↔ ours, same path, same
//! run, with CUBIC; then a second table with BBR senders (the kernel's `bbr` by
//! `TCP_CONGESTION`, ours `CongestionAlgorithm::Bbr`), each sending to Linux.
//!
//! Topology (root needed; every namespace private to this process):
//! ```text
//!  ns A: kernel 192.0.2.1/24 ── tunA ══ emulator ══ tunB ── ns B: kernel 192.0.2.2/24
//!                                                           └─ forwards 192.0.2.3 ── tunC ── our stack
//! ```
//! Linux ↔ Linux: A's kernel talks to B's kernel. Linux ↔ ours: A's kernel talks to our
//! stack at 192.0.2.3, which sits behind B's kernel forwarding (a few microseconds more).
//!
//! `cargo bench -p tcp-tun --bench emulated_goodput -- [SECONDS]` (default 10 s per run;
//! `EMU_OUR_RCVBUF=BYTES` and `EMU_OUR_SNDBUF=BYTES` override our receive and send
//! buffers, to see whether a result is window- or buffer-limited; `EMU_TRACE=1` prints our sender's state every 500 ms; `bbr` runs only
//! the BBR table).
//!
//! `cargo bench -p tcp-tun --bench emulated_goodput -- black-hole [SECONDS]`: the path
//! drops packets above 1280 bytes without a word from 1 s on (an ICMP black hole), no
//! random loss; every sender detects black holes (Linux `tcp_mtu_probing = 1`, ours
//! `MtuProbing::BlackHole`). Prints each case's goodput and the receiver's longest stall
//! (the time to recover).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use tcp_testkit::emu::{self, EmuParams, EmuStats};
use tcp_tun::netns::{self, ip};
use tcp_tun::{TunLink, TunStack};

const PORT: u16 = 5001;
const BUF: usize = 256 * 1024;
static DATA: [u8; 64 * 1024] = [0x33; 64 * 1024];
const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const OURS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Case {
    LinuxToLinux,
    LinuxToOurs,
    OursToLinux,
}

/// Which congestion controller a sender uses (the kernel's per socket, `TCP_CONGESTION`;
/// ours by `Config::congestion`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cc {
    Cubic,
    Bbr,
}

impl Cc {
    fn kernel_name(self) -> &'static [u8] {
        match self {
            Cc::Cubic => b"cubic",
            Cc::Bbr => b"bbr",
        }
    }
}

fn set_bufs(fd: i32, cc: Cc) -> io::Result<()> {
    let v: libc::c_int = BUF as libc::c_int;
    for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: valid socket, an int option.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    let cc = cc.kernel_name();
    // SAFETY: valid socket, a byte string option.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            cc.as_ptr().cast(),
            cc.len() as libc::socklen_t,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("TCP_CONGESTION {}: {e}", String::from_utf8_lossy(cc)),
        ));
    }
    Ok(())
}

/// A kernel listener with 256 KiB buffers and controller `cc` (set before listen, so
/// accepted sockets inherit).
fn kernel_listener(addr: SocketAddr, cc: Cc) -> io::Result<TcpListener> {
    // SAFETY: plain socket calls on a fresh descriptor owned by the returned listener.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let l = TcpListener::from_raw_fd(fd);
        set_bufs(fd, cc)?;
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            4,
        );
        let SocketAddr::V4(a) = addr else {
            unreachable!()
        };
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: a.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        if libc::bind(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ) != 0
            || libc::listen(fd, 16) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(l)
    }
}

/// A kernel connection with 256 KiB buffers and controller `cc` (set before connect),
/// retried while refused.
fn kernel_connect(to: SocketAddr, cc: Cc) -> io::Result<TcpStream> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // SAFETY: as in `kernel_listener`.
        let r = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let s = TcpStream::from_raw_fd(fd);
            set_bufs(fd, cc)?;
            let SocketAddr::V4(a) = to else {
                unreachable!()
            };
            let sa = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            if libc::connect(
                fd,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ) == 0
            {
                Ok(s)
            } else {
                Err(io::Error::last_os_error())
            }
        };
        match r {
            Err(e) if Instant::now() < deadline && e.kind() == ErrorKind::ConnectionRefused => {
                thread::sleep(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

/// Sends for `secs`, then closes.
fn kernel_send(mut s: TcpStream, secs: Duration) -> io::Result<()> {
    let end = Instant::now() + secs;
    while Instant::now() < end {
        s.write_all(&DATA)?;
    }
    s.shutdown(Shutdown::Write)?;
    let mut sink = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    while s.read(&mut sink)? > 0 {}
    Ok(())
}

/// What a receiver measured: goodput in Mbit/s from the first byte to the end, and the
/// longest time between two reads that brought data.
#[derive(Clone, Copy, Debug, Default)]
struct Received {
    goodput: f64,
    stall: Duration,
}

/// Counts what a receiver reads, read by read.
#[derive(Default)]
struct Meter {
    got: u64,
    first: Option<Instant>,
    last: Option<Instant>,
    stall: Duration,
}

impl Meter {
    fn read(&mut self, n: usize) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        if let Some(l) = self.last {
            self.stall = self.stall.max(now - l);
        }
        self.last = Some(now);
        self.got += n as u64;
    }

    fn done(&self) -> Received {
        let dt = self.first.map_or(Duration::ZERO, |t: Instant| t.elapsed());
        Received {
            goodput: self.got as f64 * 8.0 / dt.as_secs_f64().max(1e-9) / 1e6,
            stall: self.stall,
        }
    }
}

/// Reads to end-of-stream.
fn kernel_recv(mut s: TcpStream) -> io::Result<Received> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut m = Meter::default();
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(m.done());
        }
        m.read(n);
    }
}

/// Our stack on tunC in namespace B, behind B's kernel forwarding, with controller `cc`;
/// with black-hole detection if `black_hole`.
fn our_stack(black_hole: bool, cc: Cc) -> io::Result<TunStack> {
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")?;
    let tun_c = netns::open_tun("tunC")?;
    ip(&[
        "link",
        "set",
        "dev",
        "tunC",
        "mtu",
        "1500",
        "txqueuelen",
        "1000",
        "up",
    ])?;
    ip(&["route", "add", &format!("{OURS}/32"), "dev", "tunC"])?;
    let link = TunLink::new(tun_c, &[OURS.into()])?;
    let mut config = tcp_tun::config_for_mtu(1500, false);
    config.send_buffer = std::env::var("EMU_OUR_SNDBUF")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BUF);
    config.recv_buffer = std::env::var("EMU_OUR_RCVBUF")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BUF);
    if black_hole {
        config.mtu_probing = tcp_core::MtuProbing::BlackHole;
    }
    if cc == Cc::Bbr {
        config.congestion = tcp_core::config::CongestionAlgorithm::Bbr;
    }
    TunStack::with_config(link, config)
}

/// Our side receiving: accept one connection, read to EOF.
fn ours_recv(stack: &TunStack) -> io::Result<Received> {
    let l = stack
        .net()
        .listen_on(SocketAddr::new(OURS.into(), PORT), 4)?;
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut conn = None;
    let mut m = Meter::default();
    while Instant::now() < deadline {
        stack.net().poll(Some(Duration::from_millis(10)))?;
        if conn.is_none() {
            conn = l.accept().ok().map(|(s, _)| s);
        }
        let Some(s) = conn.as_ref() else { continue };
        loop {
            match s.read_bytes(1 << 20) {
                Ok(Some(b)) => m.read(b.len()),
                Ok(None) => {
                    let r = m.done();
                    drop(conn);
                    for _ in 0..10 {
                        stack.net().poll(Some(Duration::from_millis(5)))?;
                    }
                    return Ok(r);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
    Err(io::Error::new(ErrorKind::TimedOut, "ours: receive"))
}

/// Our side sending for `secs`, then shutting down; polls until `done`.
fn ours_send(stack: &TunStack, secs: Duration, done: &AtomicBool) -> io::Result<()> {
    let mut s = stack.connect(SocketAddr::new(A.into(), PORT))?;
    let end = Instant::now() + secs;
    let deadline = end + Duration::from_secs(120);
    let mut shut = false;
    let trace = std::env::var_os("EMU_TRACE").is_some();
    let mut next_trace = Instant::now();
    while !done.load(Ordering::Relaxed) {
        if trace && Instant::now() >= next_trace {
            next_trace += Duration::from_millis(500);
            if let Ok(i) = s.info() {
                eprintln!(
                    "ours: cwnd {} in flight {} snd_wnd {} buffered {} srtt {:?} min_rtt {:?} \
                     pacing {:?} B/s delivery {:?} B/s retransmits {} recovery {} stats {:?}",
                    i.cwnd,
                    i.bytes_in_flight,
                    i.snd_wnd,
                    i.send_buffered,
                    i.srtt,
                    i.min_rtt,
                    i.pacing_rate,
                    i.delivery_rate,
                    i.retransmits,
                    i.ca_state_recovery,
                    i.stats,
                );
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(ErrorKind::TimedOut, "ours: send"));
        }
        if Instant::now() < end {
            loop {
                match s.write(&DATA) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        } else if !shut {
            s.shutdown()?;
            shut = true;
        }
        stack.net().poll(Some(Duration::from_millis(5)))?;
    }
    Ok(())
}

/// A namespace with a TUN device `name` holding the kernel address `addr`/24; returns a
/// duplicate of the device's descriptor for the emulator.
fn tun_side(name: &str, addr: Ipv4Addr) -> io::Result<(tun_tap::Iface, OwnedFd)> {
    netns::unshare_net()?;
    let iface = netns::open_tun(name)?;
    ip(&[
        "link",
        "set",
        "dev",
        name,
        "mtu",
        "1500",
        "txqueuelen",
        "1000",
        "up",
    ])?;
    ip(&["addr", "add", &format!("{addr}/24"), "dev", name])?;
    // SAFETY: dup of a valid descriptor; the copy is owned by the OwnedFd.
    let dup = unsafe { libc::dup(iface.as_raw_fd()) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` is a fresh descriptor nobody else owns.
    Ok((iface, unsafe { OwnedFd::from_raw_fd(dup) }))
}

/// Turns on Linux's black-hole detection (`tcp_mtu_probing = 1`) in this thread's
/// namespace.
fn kernel_black_hole_detection() -> io::Result<()> {
    std::fs::write("/proc/sys/net/ipv4/tcp_mtu_probing", "1")
}

fn run(
    case: Case,
    cc: Cc,
    loss: f64,
    secs: Duration,
    black_hole: bool,
) -> io::Result<(Received, EmuStats)> {
    let done = Arc::new(AtomicBool::new(false));
    let (fd_tx, fd_rx) = mpsc::channel::<OwnedFd>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_b = go_rx;
    // Namespace A: always the kernel.
    let fd_tx_a = fd_tx.clone();
    let done_a = done.clone();
    let a = thread::spawn(move || -> io::Result<Option<Received>> {
        let (_iface, fd) = tun_side("tunA", A)?;
        if black_hole {
            kernel_black_hole_detection()?;
        }
        fd_tx_a.send(fd).unwrap();
        let r = match case {
            Case::LinuxToLinux => {
                ready_rx.recv().unwrap();
                kernel_send(kernel_connect(SocketAddr::new(B.into(), PORT), cc)?, secs)?;
                None
            }
            Case::LinuxToOurs => {
                ready_rx.recv().unwrap();
                kernel_send(
                    kernel_connect(SocketAddr::new(OURS.into(), PORT), cc)?,
                    secs,
                )?;
                None
            }
            Case::OursToLinux => {
                let l = kernel_listener(SocketAddr::new(A.into(), PORT), cc)?;
                go_tx.send(()).unwrap();
                let (s, _) = l.accept()?;
                Some(kernel_recv(s)?)
            }
        };
        done_a.store(true, Ordering::Relaxed);
        Ok(r)
    });
    // Namespace B: the kernel, or the router in front of our stack.
    let done_b = done.clone();
    let b = thread::spawn(move || -> io::Result<Option<Received>> {
        let (_iface, fd) = tun_side("tunB", B)?;
        if black_hole {
            kernel_black_hole_detection()?;
        }
        fd_tx.send(fd).unwrap();
        match case {
            Case::LinuxToLinux => {
                let l = kernel_listener(SocketAddr::new(B.into(), PORT), cc)?;
                ready_tx.send(()).unwrap();
                let (s, _) = l.accept()?;
                Ok(Some(kernel_recv(s)?))
            }
            Case::LinuxToOurs => {
                let stack = our_stack(black_hole, cc)?;
                ready_tx.send(()).unwrap();
                Ok(Some(ours_recv(&stack)?))
            }
            Case::OursToLinux => {
                let stack = our_stack(black_hole, cc)?;
                go_b.recv().unwrap();
                ours_send(&stack, secs, &done_b)?;
                Ok(None)
            }
        }
    });
    let fa = fd_rx.recv_timeout(Duration::from_secs(10));
    let fb = fd_rx.recv_timeout(Duration::from_secs(10));
    let (Ok(fa), Ok(fb)) = (fa, fb) else {
        let ea = a.join().unwrap().err();
        let eb = b.join().unwrap().err();
        return Err(io::Error::other(format!("namespace setup: {ea:?} {eb:?}")));
    };
    // Both devices came from different namespaces: the first is whichever was ready.
    let params = EmuParams {
        rate_bps: 100_000_000,
        delay: Duration::from_millis(10),
        loss,
        queue_bytes: 250_000,
        seed: 42,
        black_hole: black_hole.then_some((Duration::from_secs(1), 1280)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop_e = stop.clone();
    let emu = thread::spawn(move || emu::run(&fa, &fb, params, &stop_e));
    let ra = a.join().expect("namespace A")?;
    let rb = b.join().expect("namespace B")?;
    stop.store(true, Ordering::Relaxed);
    let stats = emu.join().expect("emulator")?;
    let received = ra.or(rb).unwrap_or_default();
    Ok((received, stats))
}

/// The black-hole comparison (see the module docs).
fn black_hole_table(secs: Duration) {
    println!(
        "An ICMP black hole: from 1 s on the emulated path (100 Mbit/s, 10 ms one-way, 250 kB \
         queue) drops packets above 1280 bytes silently; every sender detects black holes \
         (Linux tcp_mtu_probing = 1, ours MtuProbing::BlackHole); {} s per run",
        secs.as_secs_f64()
    );
    println!();
    println!("| case | goodput | receiver's longest stall | packets black-holed |");
    println!("|---|---:|---:|---:|");
    for case in [Case::LinuxToLinux, Case::LinuxToOurs, Case::OursToLinux] {
        match run(case, Cc::Cubic, 0.0, secs, true) {
            Ok((r, st)) => {
                eprintln!("{case:?}: {r:?}, emulator {st:?}");
                println!(
                    "| {case:?} | {:.1} Mbit/s | {:.2} s | {} |",
                    r.goodput,
                    r.stall.as_secs_f64(),
                    st[0].black_holed + st[1].black_holed
                );
            }
            Err(e) => println!("| {case:?} | failed: {e} | | |"),
        }
    }
}

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: one short lossless round only.
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke && !can_run() {
        return;
    }
    let secs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .map_or(
            Duration::from_secs(if smoke { 1 } else { 10 }),
            Duration::from_secs_f64,
        );
    if !smoke && std::env::args().any(|a| a == "black-hole") {
        black_hole_table(secs);
        return;
    }
    if !smoke && std::env::args().any(|a| a == "bbr") {
        bbr_table(secs);
        return;
    }
    let losses: &[f64] = if smoke { &[0.0] } else { &[0.0, 0.01, 0.05] };
    println!(
        "Goodput over the emulated path: 100 Mbit/s, 10 ms one-way, MTU 1500, 250 kB \
         drop-tail queue, 256 KiB buffers, {} s per run (CUBIC on both: Linux's default \
         and ours; ours with SACK, RACK-TLP and PRR)",
        secs.as_secs_f64()
    );
    println!();
    println!("| loss (each way) | Linux → Linux | Linux → ours | ours → Linux |");
    println!("|---:|---:|---:|---:|");
    for &loss in losses {
        let mut cells = Vec::new();
        for case in [Case::LinuxToLinux, Case::LinuxToOurs, Case::OursToLinux] {
            match run(case, Cc::Cubic, loss, secs, false) {
                Ok((r, st)) => {
                    let g = r.goodput;
                    eprintln!("{case:?} loss {loss}: {g:.1} Mbit/s, emulator {st:?}");
                    cells.push(format!("{g:.1} Mbit/s"));
                }
                Err(e) => {
                    assert!(!smoke, "{case:?} loss {loss}: {e}");
                    eprintln!("{case:?} loss {loss}: {e}");
                    cells.push("failed".into());
                }
            }
        }
        println!(
            "| {:.0} % | {} | {} | {} |",
            loss * 100.0,
            cells[0],
            cells[1],
            cells[2]
        );
    }
    if !smoke {
        bbr_table(secs);
    }
}

/// The BBR comparison (see the module docs): Linux's `bbr` and ours, each sending to
/// Linux over the same path.
fn bbr_table(secs: Duration) {
    println!();
    println!(
        "BBR senders, same path and run: the kernel's bbr (TCP_CONGESTION \"bbr\") and ours \
         (CongestionAlgorithm::Bbr, draft-ietf-ccwg-bbr), each sending to Linux"
    );
    println!();
    println!("| loss (each way) | Linux BBR → Linux | ours BBR → Linux |");
    println!("|---:|---:|---:|");
    for loss in [0.0, 0.01, 0.05] {
        let mut cells = Vec::new();
        for case in [Case::LinuxToLinux, Case::OursToLinux] {
            match run(case, Cc::Bbr, loss, secs, false) {
                Ok((r, st)) => {
                    let g = r.goodput;
                    eprintln!("BBR {case:?} loss {loss}: {g:.1} Mbit/s, emulator {st:?}");
                    cells.push(format!("{g:.1} Mbit/s"));
                }
                Err(e) => {
                    eprintln!("BBR {case:?} loss {loss}: {e}");
                    cells.push("failed".into());
                }
            }
        }
        println!("| {:.0} % | {} | {} |", loss * 100.0, cells[0], cells[1]);
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
                "*** emulated_goodput SKIPPED: cannot create a namespace with a TUN device: {e}"
            );
            false
        }
    }
}
