//! Close variants and resets with the Linux kernel as the peer (tests 3 and 4).
//!
//! Both sides are driven from the test thread: the kernel socket is non-blocking, so the
//! order of the kernel's and our calls is exact (a kernel FIN written into the TUN device
//! stays unread until the test polls our stack).

mod common;

use common::{K_TIME_WAIT, LIMIT, accepted_pair, drain_nb, kernel_states, pattern, pump, write_nb};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use tcp_core::{ConnError, EndpointEvent, Event, State};
use tcp_mio::TcpStream;
use tcp_tun::TunStack;
use tcp_tun::netns::TunNet;

common::tests!(
    linux_closes_first,
    we_close_first,
    simultaneous_close,
    half_close_linux_to_us,
    half_close_us_to_linux,
    our_abort_resets_linux,
    linux_linger_zero_resets_us
);

const PORT: u16 = 80;

fn setup() -> (TunStack, tcp_mio::TcpListener, std::net::SocketAddr) {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    let addr = common::our_addr(&layout, false, PORT);
    let listener = stack.net().listen_on(addr, 16).unwrap();
    (stack, listener, addr)
}

/// Reads our stream until it would block; true at end-of-stream.
fn drain_ours(s: &mut TcpStream, into: &mut Vec<u8>) -> bool {
    drain_nb(s, into).expect("our read")
}

fn state(s: &TcpStream) -> State {
    s.state().expect("state")
}

/// Our side is in TIME_WAIT: the endpoint holds the compact record, and the socket the
/// application still holds is closed (Linux's `tcp_time_wait` then `tcp_done`).
fn our_time_wait(stack: &TunStack, ours: &TcpStream) -> bool {
    stack.net().driver().endpoint().time_wait_count() == 1 && state(ours) == State::Closed
}

fn linux_closes_first() {
    let (stack, listener, addr) = setup();
    let (mut ours, mut k) = accepted_pair(&stack, &listener, addr);
    k.write_all(b"bye from linux").unwrap();
    drop(k); // close(): FIN after the data
    let mut got = Vec::new();
    pump(stack.net(), LIMIT, "our EOF", || {
        drain_ours(&mut ours, &mut got)
    });
    assert_eq!(got, b"bye from linux");
    assert_eq!(state(&ours), State::CloseWait);
    ours.shutdown().unwrap();
    pump(stack.net(), LIMIT, "our LAST_ACK -> CLOSED", || {
        state(&ours) == State::Closed
    });
    assert_eq!(stack.net().driver().endpoint().time_wait_count(), 0);
    // The kernel, the active closer, holds TIME_WAIT.
    assert_eq!(kernel_states(PORT), vec![K_TIME_WAIT]);
}

fn we_close_first() {
    let (stack, listener, addr) = setup();
    let (mut ours, mut k) = accepted_pair(&stack, &listener, addr);
    ours.write_all(b"bye from us").unwrap();
    ours.close().unwrap(); // data, then FIN; the handle goes, the connection finishes alone
    let mut got = Vec::new();
    pump(stack.net(), LIMIT, "linux EOF", || {
        drain_nb(&mut k, &mut got).unwrap()
    });
    assert_eq!(got, b"bye from us", "Linux reads the data, then EOF");
    drop(k);
    pump(stack.net(), LIMIT, "our TIME_WAIT", || {
        stack.net().driver().endpoint().time_wait_count() == 1
    });
    // The kernel, the passive closer, is gone (LAST_ACK -> CLOSED) once our ACK arrived.
    pump(stack.net(), LIMIT, "kernel CLOSED", || {
        kernel_states(PORT).is_empty()
    });
    assert_eq!(stack.net().driver().endpoint().stats().time_wait_created, 1);
}

fn simultaneous_close() {
    let (stack, listener, addr) = setup();
    let (mut ours, mut k) = accepted_pair(&stack, &listener, addr);
    // The kernel's FIN goes into the TUN device and waits there, unread; ours leaves at
    // once. The FINs cross: both sides go FIN_WAIT_1 -> CLOSING -> TIME_WAIT.
    k.shutdown(Shutdown::Write).unwrap();
    ours.shutdown().unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut our_eof, mut k_eof) = (false, false);
    // As Linux: once TIME_WAIT begins, the tuple is the endpoint's compact record and the
    // socket the application still holds reads CLOSED.
    pump(stack.net(), LIMIT, "both EOF, our TIME_WAIT", || {
        our_eof |= drain_ours(&mut ours, &mut a);
        k_eof |= drain_nb(&mut k, &mut b).unwrap();
        our_eof && k_eof && our_time_wait(&stack, &ours)
    });
    assert!(a.is_empty() && b.is_empty());
    pump(stack.net(), LIMIT, "kernel TIME_WAIT", || {
        kernel_states(PORT) == vec![K_TIME_WAIT]
    });
}

fn half_close_linux_to_us() {
    let (stack, listener, addr) = setup();
    let (mut ours, mut k) = accepted_pair(&stack, &listener, addr);
    let up = pattern(1, 100_000);
    let down = pattern(2, 1 << 20);
    let mut off = 0;
    let mut got = Vec::new();
    let mut k_shut = false;
    pump(stack.net(), LIMIT, "our EOF after Linux's data", || {
        if !k_shut && write_nb(&mut k, &up, &mut off).unwrap() {
            k.shutdown(Shutdown::Write).unwrap();
            k_shut = true;
        }
        drain_ours(&mut ours, &mut got)
    });
    assert!(got == up, "we read Linux's bytes, then EOF");
    assert_eq!(state(&ours), State::CloseWait);
    // The other direction is still open: send 1 MiB after the peer's FIN.
    let (mut off, mut k_got) = (0, Vec::new());
    let mut shut = false;
    let mut k_eof = false;
    pump(
        stack.net(),
        LIMIT,
        "Linux reads our 1 MiB, then EOF",
        || {
            if !shut {
                match ours.write(&down[off..]) {
                    Ok(n) => off += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("our write in CLOSE_WAIT: {e}"),
                }
                if off == down.len() {
                    ours.shutdown().unwrap();
                    shut = true;
                }
            }
            k_eof |= drain_nb(&mut k, &mut k_got).unwrap();
            k_eof && state(&ours) == State::Closed
        },
    );
    assert!(k_got == down, "Linux reads our bytes, then EOF");
    assert_eq!(kernel_states(PORT), vec![K_TIME_WAIT]);
}

fn half_close_us_to_linux() {
    let (stack, listener, addr) = setup();
    let (mut ours, mut k) = accepted_pair(&stack, &listener, addr);
    let up = pattern(3, 100_000);
    let down = pattern(4, 1 << 20);
    let mut off = 0;
    let mut shut = false;
    let mut k_got = Vec::new();
    pump(stack.net(), LIMIT, "Linux EOF after our data", || {
        if !shut {
            match ours.write(&up[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("our write: {e}"),
            }
            if off == up.len() {
                ours.shutdown().unwrap();
                shut = true;
            }
        }
        drain_nb(&mut k, &mut k_got).unwrap()
    });
    assert!(k_got == up, "Linux reads our bytes, then EOF");
    assert_eq!(
        ours.write(b"x").unwrap_err().kind(),
        ErrorKind::BrokenPipe,
        "writing after our shutdown"
    );
    // Linux still sends: 1 MiB, then its FIN.
    let (mut off, mut got) = (0, Vec::new());
    let mut k_shut = false;
    let mut eof = false;
    pump(
        stack.net(),
        LIMIT,
        "we read Linux's 1 MiB, then EOF",
        || {
            if !k_shut && write_nb(&mut k, &down, &mut off).unwrap() {
                k.shutdown(Shutdown::Write).unwrap();
                k_shut = true;
            }
            eof |= drain_ours(&mut ours, &mut got);
            eof && our_time_wait(&stack, &ours)
        },
    );
    assert!(got == down, "we read Linux's bytes, then EOF");
    drop(k);
    pump(stack.net(), LIMIT, "kernel CLOSED", || {
        kernel_states(PORT).is_empty()
    });
}

fn our_abort_resets_linux() {
    let (stack, listener, addr) = setup();
    let (ours, mut k) = accepted_pair(&stack, &listener, addr);
    ours.abort().unwrap();
    let mut buf = [0u8; 16];
    let mut err = None;
    pump(stack.net(), LIMIT, "Linux sees the reset", || {
        match k.read(&mut buf) {
            Ok(n) => panic!("Linux read {n} bytes instead of a reset"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => {
                err = Some(e);
                true
            }
        }
    });
    assert_eq!(err.unwrap().kind(), ErrorKind::ConnectionReset);
    assert!(kernel_states(PORT).is_empty());
}

fn linux_linger_zero_resets_us() {
    let (stack, listener, addr) = setup();
    let (mut ours, k) = accepted_pair(&stack, &listener, addr);
    common::set_linger_zero(&k);
    drop(k); // close() with SO_LINGER 0: RST
    let h = ours.handle();
    let mut seen = false;
    common::pump_events(stack.net(), LIMIT, "our reset event", |evs| {
        seen |= evs.contains(&EndpointEvent::Conn(h, Event::Error(ConnError::Reset)));
        seen
    });
    let mut buf = [0u8; 16];
    assert_eq!(
        ours.read(&mut buf).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
    assert_eq!(state(&ours), State::Closed);
}
