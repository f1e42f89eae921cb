//! Test 7: window scaling, SACK and timestamps negotiated with Linux, checked from the SYNs
//! captured between the TUN device and the core, from our connection's info and from the
//! kernel's `TCP_INFO`.

mod common;

use mio::{Interest, Registry, Token};
use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::rc::Rc;
use tcp_core::Transmit;
use tcp_core::wire::{TcpFlags, TcpHeader, emit_ip_tcp_packet, parse_ip_tcp_packet};
use tcp_mio::{Link, Received};
use tcp_tun::netns::TunNet;
use tcp_tun::{TunLink, TunStack};

common::tests!(
    kernel_opens_ipv4,
    kernel_opens_ipv6,
    we_open_ipv4,
    we_open_ipv6
);

/// A captured SYN or SYN-ACK: direction (true: sent by us), the decoded header and the raw
/// option bytes.
#[derive(Clone, Debug)]
struct Syn {
    ours: bool,
    header: TcpHeader,
    raw_options: Vec<u8>,
}

type Log = Rc<RefCell<Vec<Syn>>>;

/// Records every segment with SYN set that crosses the link.
struct Capture {
    inner: TunLink,
    log: Log,
}

fn options_of(packet: &[u8]) -> Option<(TcpHeader, Vec<u8>)> {
    let (ip, h, _) = parse_ip_tcp_packet(packet).ok()?;
    let tcp = &packet[ip.len()..];
    let hlen = usize::from(tcp[12] >> 4) * 4;
    Some((h, tcp[20..hlen].to_vec()))
}

impl Link for Capture {
    fn send(&mut self, t: &Transmit, scratch: &mut [u8]) -> io::Result<()> {
        if t.segment.header.flags.contains(TcpFlags::SYN) {
            let n = emit_ip_tcp_packet(
                t.src.ip(),
                t.dst.ip(),
                &t.segment.header,
                &t.segment.payload,
                scratch,
            )
            .unwrap();
            let (header, raw_options) = options_of(&scratch[..n]).unwrap();
            self.log.borrow_mut().push(Syn {
                ours: true,
                header,
                raw_options,
            });
        }
        self.inner.send(t, scratch)
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        let r = self.inner.recv(buf)?;
        if let Some((header, raw_options)) = options_of(&buf[..r.len])
            && header.flags.contains(TcpFlags::SYN)
        {
            self.log.borrow_mut().push(Syn {
                ours: false,
                header,
                raw_options,
            });
        }
        Ok(r)
    }

    fn local_ip(&self, remote: IpAddr) -> Option<IpAddr> {
        self.inner.local_ip(remote)
    }
}

impl mio::event::Source for Capture {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.inner.register(r, t, i)
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.inner.reregister(r, t, i)
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        self.inner.deregister(r)
    }
}

/// The option kinds in order, NOPs included (the layout on the wire).
fn kinds(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let k = raw[i];
        out.push(k);
        match k {
            0 => break,
            1 => i += 1,
            _ => i += usize::from(raw.get(i + 1).copied().unwrap_or(1).max(2)),
        }
    }
    out
}

const TCPI_OPT_TIMESTAMPS: u8 = 1;
const TCPI_OPT_SACK: u8 = 2;
const TCPI_OPT_WSCALE: u8 = 4;

fn stack_with_capture(layout: &TunNet) -> (TunStack, Log, tcp_core::Config) {
    let link = common::setup_link(layout);
    let (stats, mtu, config) = (link.stats(), link.mtu(), link.config());
    let log: Log = Rc::default();
    let cap = Capture {
        inner: link,
        log: log.clone(),
    };
    let stack = TunStack::with_link(cap, stats, mtu, config.clone()).unwrap();
    (stack, log, config)
}

/// Checks one SYN / SYN-ACK pair and the negotiated result on both sides.
fn check(
    log: &[Syn],
    config: &tcp_core::Config,
    we_open: bool,
    info: tcp_core::Info,
    kernel: (u8, u8, u8),
) {
    // The first SYN-ACK answers the last SYN before it (a SYN may have been retransmitted).
    let at = log
        .iter()
        .position(|s| s.header.flags.contains(TcpFlags::ACK))
        .expect("a SYN-ACK");
    let synack = &log[at];
    let syn = log[..at]
        .iter()
        .rev()
        .find(|s| !s.header.flags.contains(TcpFlags::ACK))
        .expect("a SYN");
    assert_eq!(syn.ours, we_open, "who sent the SYN");
    assert_eq!(synack.ours, !we_open);
    let (mine, theirs) = if we_open {
        (syn, synack)
    } else {
        (synack, syn)
    };
    eprintln!(
        "ours:   {:?} kinds {:?}",
        mine.header.options,
        kinds(&mine.raw_options)
    );
    eprintln!(
        "kernel: {:?} kinds {:?}",
        theirs.header.options,
        kinds(&theirs.raw_options)
    );

    // Both offer everything.
    for s in [mine, theirs] {
        let o = &s.header.options;
        assert!(o.mss.is_some(), "MSS offered");
        assert!(o.sack_permitted, "SACK-permitted offered");
        assert!(o.timestamps.is_some(), "timestamps offered");
        assert!(o.window_scale.is_some(), "window scale offered");
    }
    // Ours: the MTU-derived MSS and the configured shift, in Linux's layout
    // (mss, sackOK, TS, nop, wscale), the same as the kernel's own SYN.
    assert_eq!(mine.header.options.mss, Some(config.mss));
    assert_eq!(
        mine.header.options.window_scale,
        Some(config.offered_window_scale())
    );
    assert_eq!(kinds(&mine.raw_options), vec![2, 4, 8, 1, 3]);
    assert_eq!(kinds(&mine.raw_options), kinds(&theirs.raw_options));
    // The SYN-ACK echoes the SYN's timestamp.
    let syn_ts = syn.header.options.timestamps.unwrap();
    let synack_ts = synack.header.options.timestamps.unwrap();
    assert_eq!(syn_ts.ecr, 0);
    assert_eq!(
        synack_ts.ecr, syn_ts.val,
        "SYN-ACK TSecr echoes the SYN's TSval"
    );

    // Negotiated, our side.
    let k_shift = theirs.header.options.window_scale.unwrap();
    assert!(
        info.sack && info.timestamps,
        "our connection uses SACK and timestamps"
    );
    assert_eq!(
        info.snd_wscale, k_shift,
        "we scale the kernel's window by its shift"
    );
    assert_eq!(info.rcv_wscale, config.offered_window_scale());
    assert_eq!(
        info.snd_mss as u16,
        theirs.header.options.mss.unwrap().min(config.mss)
    );
    // Negotiated, the kernel's side.
    let (opts, k_snd, k_rcv) = kernel;
    assert_eq!(
        opts & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
        TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE,
        "kernel TCP_INFO options"
    );
    assert_eq!(
        k_snd,
        config.offered_window_scale(),
        "kernel scales our window by our shift"
    );
    assert_eq!(k_rcv, k_shift);
}

fn kernel_opens(v6: bool) {
    let layout = TunNet::default();
    let (stack, log, config) = stack_with_capture(&layout);
    let addr = common::our_addr(&layout, v6, 7);
    let listener = stack.net().listen_on(addr, 4).unwrap();
    let (ours, k) = common::accepted_pair(&stack, &listener, addr);
    let info = ours.info().unwrap();
    let kinfo = common::kernel_tcp_info(&k);
    check(&log.borrow(), &config, false, info, kinfo);
}

fn we_open(v6: bool) {
    let layout = TunNet::default();
    let (stack, log, config) = stack_with_capture(&layout);
    let kaddr: SocketAddr = common::kernel_addr(&layout, v6, 5001);
    let listener = TcpListener::bind(kaddr).unwrap();
    let ours = stack.connect(kaddr).unwrap();
    let server = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    common::pump(stack.net(), common::LIMIT, "connect", || {
        ours.is_connected() && server.is_finished()
    });
    let k = server.join().unwrap().unwrap();
    let info = ours.info().unwrap();
    check(
        &log.borrow(),
        &config,
        true,
        info,
        common::kernel_tcp_info(&k),
    );
}

fn kernel_opens_ipv4() {
    kernel_opens(false);
}

fn kernel_opens_ipv6() {
    kernel_opens(true);
}

fn we_open_ipv4() {
    we_open(false);
}

fn we_open_ipv6() {
    we_open(true);
}
