//! Test 6: one thousand concurrent connections from the kernel to our listener, whose
//! backlog is much smaller and which accepts slowly, so the accept queue overflows and the
//! kernel has to retry: every connection completes and every echoed byte is intact.

mod common;

use common::Echo;
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};
use tcp_testkit::check::StreamHash;
use tcp_tun::netns::TunNet;

common::tests!(thousand_concurrent_connections_small_backlog);

const CONNS: usize = 1000;
const BACKLOG: usize = 64;
const PER_CONN: usize = 8 * 1024;
/// Connections we accept per poll of our stack (slower than the kernel offers them).
const ACCEPTS_PER_POLL: usize = 4;

struct KConn {
    s: MioStream,
    out: Vec<u8>,
    off: usize,
    shut: bool,
    got: Vec<u8>,
    done: bool,
}

/// The kernel side: opens every connection at once (non-blocking connects), writes each
/// one's pattern, shuts down writing and reads the echo to end-of-stream. Returns, per
/// connection, the hash of what came back.
fn kernel_side(target: SocketAddr) -> io::Result<Vec<(u64, u64)>> {
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        let mut s = MioStream::connect(target)?;
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE | Interest::WRITABLE)?;
        conns.push(KConn {
            s,
            out: common::pattern(i as u64, PER_CONN),
            off: 0,
            shut: false,
            got: Vec::new(),
            done: false,
        });
    }
    let mut events = Events::with_capacity(1024);
    let deadline = Instant::now() + common::LIMIT;
    let mut left = CONNS;
    let mut buf = vec![0u8; 16 * 1024];
    while left > 0 {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("{left} kernel connections unfinished"),
            ));
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        let mut touched: Vec<usize> = events.iter().map(|e| e.token().0).collect();
        if touched.is_empty() {
            touched = (0..CONNS).collect(); // periodic sweep
        }
        for i in touched {
            let c = &mut conns[i];
            if c.done {
                continue;
            }
            if let Some(e) = c.s.take_error()? {
                return Err(io::Error::new(e.kind(), format!("conn {i}: {e}")));
            }
            while c.off < c.out.len() {
                match c.s.write(&c.out[c.off..]) {
                    Ok(n) => c.off += n,
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected) =>
                    {
                        break;
                    }
                    Err(e) => return Err(io::Error::new(e.kind(), format!("conn {i}: {e}"))),
                }
            }
            if c.off == c.out.len() && !c.shut {
                c.s.shutdown(Shutdown::Write)?;
                c.shut = true;
            }
            loop {
                match c.s.read(&mut buf) {
                    Ok(0) => {
                        c.done = true;
                        left -= 1;
                        break;
                    }
                    Ok(n) => c.got.extend_from_slice(&buf[..n]),
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected) =>
                    {
                        break;
                    }
                    Err(e) => return Err(io::Error::new(e.kind(), format!("conn {i}: {e}"))),
                }
            }
        }
    }
    Ok(conns
        .iter()
        .map(|c| {
            let mut h = StreamHash::new();
            h.update(&c.got);
            (h.len(), h.finish())
        })
        .collect())
}

fn thousand_concurrent_connections_small_backlog() {
    let layout = TunNet::default();
    let stack = common::setup(&layout);
    let addr = common::our_addr(&layout, false, 7);
    let listener = stack.net().listen_on(addr, BACKLOG).unwrap();
    let kernel = std::thread::spawn(move || kernel_side(addr));
    let mut echoes: Vec<Echo> = Vec::new();
    let mut accepted = 0;
    let mut finished = 0;
    common::pump(
        stack.net(),
        common::LIMIT + Duration::from_secs(10),
        "1000 conns",
        || {
            for _ in 0..ACCEPTS_PER_POLL {
                match listener.accept() {
                    Ok((s, _)) => {
                        echoes.push(Echo::new(s));
                        accepted += 1;
                    }
                    Err(_) => break,
                }
            }
            echoes.retain_mut(|e| {
                let done = e.step().expect("echo");
                if done {
                    finished += 1;
                }
                !done // dropping the stream closes it after the echo's FIN
            });
            kernel.is_finished()
        },
    );
    let results = kernel.join().unwrap().expect("kernel side");
    for (i, (len, hash)) in results.iter().enumerate() {
        let want = common::pattern(i as u64, PER_CONN);
        assert_eq!(*len, PER_CONN as u64, "conn {i}: echoed length");
        assert_eq!(
            *hash,
            tcp_testkit::check::hash(&want),
            "conn {i}: echoed bytes"
        );
    }
    let st = *stack.net().driver().endpoint().stats();
    eprintln!(
        "accepted {accepted}, finished {finished}; syns {} accept-queue overflows {} \
         syn-ack retransmits {} cookies sent {} validated {}",
        st.syns_received,
        st.accept_queue_overflow,
        st.synack_retransmits,
        st.cookies_sent,
        st.cookies_validated
    );
    assert_eq!(accepted, CONNS);
    assert!(
        st.accept_queue_overflow > 0,
        "the backlog was never exceeded; the test did not test it"
    );
}
