// The check of the `connection` fuzz target, shared with the corpus replay test
// (tests/tests/fuzz_corpus.rs) through `include!`. Needs `support.rs` in scope as `support`.
//
// One `Connection`, opened actively, passively (from a fuzzed SYN) or from a fuzzed
// handshake, receives a sequence of actions: segments (arbitrary header fields, options and
// payload, sequence numbers mostly near the connection's own, encoded with a valid checksum
// and parsed back), time advances (microseconds to hours, or to the next deadline) and
// application calls. After every action: no panic, `check_invariants()` holds, everything
// `poll_transmit` emits encodes and round-trips, the event queue drains, and a due timer
// does not stay due after `handle_timeout`. A twin built and driven the same way, except
// that it never gives back idle memory (`release_idle_memory`, which the first one does at
// random points), must emit the same segments, events, deadlines and results: giving
// memory back changes nothing a peer or the application can see.

/// Runs one `connection` input. Panics on any violation.
pub fn check_connection(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let _ = run_connection(&mut u);
}

struct ConnHarness {
    conn: tcp_core::Connection,
    /// The same connection, never releasing idle memory.
    twin: tcp_core::Connection,
    conn_cfg: std::sync::Arc<tcp_core::Config>,
    now: tcp_core::Instant,
    local: core::net::IpAddr,
    remote: core::net::IpAddr,
}

impl ConnHarness {
    /// Calls `f` on the connection and on its twin; both must give the same result.
    fn both<R: PartialEq + core::fmt::Debug>(
        &mut self,
        mut f: impl FnMut(&mut tcp_core::Connection) -> R,
    ) -> R {
        let r = f(&mut self.conn);
        let t = f(&mut self.twin);
        assert_eq!(r, t, "the twin that keeps its idle memory answered differently");
        r
    }

    fn check(&mut self, what: &str) {
        use tcp_core::wire::TcpFlags;
        let mut sent = 0;
        loop {
            let seg = self.conn.poll_transmit(self.now);
            let twin = self.twin.poll_transmit(self.now);
            assert_eq!(seg, twin, "the twin sent differently ({what})");
            let Some(seg) = seg else { break };
            sent += 1;
            assert!(sent < 10_000, "poll_transmit never returns None ({what})");
            assert_eq!(seg.header.src_port, self.conn.local_port());
            assert_eq!(seg.header.dst_port, self.conn.remote_port());
            assert!(
                !(seg.header.flags.contains(TcpFlags::SYN)
                    && seg.header.flags.contains(TcpFlags::RST)),
                "SYN and RST in one segment ({what})"
            );
            support::trace(format_args!(
                "  out {:?} seq={} ack={} win={} len={} {:?}",
                seg.header.flags,
                seg.header.seq,
                seg.header.ack,
                seg.header.window,
                seg.payload.len(),
                seg.header.options
            ));
            support::check_emitted(&seg.header, &seg.payload, self.local, self.remote);
        }
        let mut events = 0;
        loop {
            let ev = self.conn.poll_event();
            assert_eq!(ev, self.twin.poll_event(), "the twin's events differ ({what})");
            let Some(ev) = ev else { break };
            support::trace(format_args!("  event {ev:?}"));
            events += 1;
            assert!(events < 64, "poll_event never returns None ({what})");
        }
        support::trace(format_args!(
            "  [{what}] now={:?} state={:?} next={:?}",
            self.now,
            self.conn.state(),
            self.conn.poll_timeout()
        ));
        if let Err(e) = support::check_conn_invariants(&self.conn, self.conn_cfg.recv_buffer) {
            panic!("invariant violated after {what}: {e}\n{:?}", self.conn);
        }
        assert_eq!(
            self.conn.poll_timeout(),
            self.twin.poll_timeout(),
            "the twin's deadline differs ({what})"
        );
        assert_eq!(self.conn.state(), self.twin.state());
        assert_eq!(
            self.conn.tcp_info(self.now),
            self.twin.tcp_info(self.now),
            "the twin's TCP_INFO differs ({what})"
        );
        let _ = self.conn.info();
    }

    /// Runs the timers once, as a driver does at its deadline: afterwards nothing may be
    /// due any more (a timer that stays due would make a driver spin or fire a backlog).
    fn fire_timers(&mut self) {
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            let now = self.now;
            self.both(|c| c.handle_timeout(now));
            self.check("handle_timeout");
            assert!(
                self.conn.poll_timeout().is_none_or(|t| t > self.now),
                "timer {:?} still due at {:?} after handle_timeout",
                self.conn.poll_timeout(),
                self.now
            );
        }
    }
}

fn run_connection(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<()> {
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;
    use tcp_core::wire::{TcpFlags, TcpHeader};
    use tcp_core::{Connection, Handshake, Instant, SeqNum};

    const LPORT: u16 = 40_000;
    const RPORT: u16 = 80;
    let cfg = Arc::new(support::arb_config(u)?);
    let now = Instant::from_micros(u64::from(u.arbitrary::<u32>()?));
    let (local, remote) = if u.ratio(1u8, 4u8)? {
        (
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        )
    };
    let iss = SeqNum::new(u.arbitrary()?);
    let ts_offset: u32 = u.arbitrary()?;
    let conn_cfg = cfg.clone();
    let (conn, twin) = match u.choose_index(3)? {
        0 => (
            Connection::connect(cfg.clone(), now, LPORT, RPORT, iss, ts_offset),
            Connection::connect(cfg, now, LPORT, RPORT, iss, ts_offset),
        ),
        1 => {
            let mut flags = support::arb_flags(u)?;
            if u.ratio(7u8, 8u8)? {
                flags = TcpFlags::SYN;
            }
            let syn = TcpHeader {
                src_port: RPORT,
                dst_port: LPORT,
                seq: SeqNum::new(u.arbitrary()?),
                ack: SeqNum::new(u.arbitrary()?),
                flags,
                window: u.arbitrary()?,
                urgent: 0,
                options: support::arb_options(u, &[], None)?,
            };
            let Some((syn, _)) = support::through_wire(&syn, &[], remote, local) else {
                return Ok(());
            };
            match (
                Connection::accept(cfg.clone(), now, &syn, iss, ts_offset),
                Connection::accept(cfg, now, &syn, iss, ts_offset),
            ) {
                (Ok(c), Ok(t)) => (c, t),
                _ => return Ok(()),
            }
        }
        _ => {
            let hs = Handshake {
                local_port: LPORT,
                remote_port: RPORT,
                iss,
                irs: SeqNum::new(u.arbitrary()?),
                peer_mss: if u.arbitrary()? {
                    Some(u.arbitrary()?)
                } else {
                    None
                },
                peer_wscale: if u.arbitrary()? {
                    Some(u.int_in_range(0..=15)?)
                } else {
                    None
                },
                sack: u.arbitrary()?,
                ts_recent: if u.arbitrary()? {
                    Some(u.arbitrary()?)
                } else {
                    None
                },
                ts_offset,
                peer_window: u.arbitrary()?,
            };
            (
                Connection::from_handshake(cfg.clone(), now, &hs),
                Connection::from_handshake(cfg, now, &hs),
            )
        }
    };
    let mut h = ConnHarness {
        conn,
        twin,
        conn_cfg,
        now,
        local,
        remote,
    };
    support::trace(format_args!("open: {:?}", h.conn));
    h.check("open");
    let mut written: u64 = 0;
    let mut peer_ts: u32 = u.arbitrary()?;

    for _ in 0..96 {
        if u.is_empty() {
            break;
        }
        match u.choose_index(16)? {
            // Segments: the most frequent action.
            0..=6 => {
                let c = &h.conn;
                let seq_bases = [c.rcv_nxt(), c.irs(), c.rcv_nxt() + 65_535];
                let ack_bases = [c.snd_una(), c.snd_max(), c.iss() + 1];
                let seq = support::arb_seq(u, &seq_bases)?;
                let ack = support::arb_seq(u, &ack_bases)?;
                let flags = support::arb_flags(u)?;
                let window = *u.choose(&[65_535u16, 0, 1, 512, 8192])?;
                let window = if u.ratio(1u8, 4u8)? {
                    u.arbitrary()?
                } else {
                    window
                };
                let urgent = if u.ratio(1u8, 16u8)? {
                    u.arbitrary()?
                } else {
                    0
                };
                let ts_base = c.ts_recent().or(Some(peer_ts));
                let options = support::arb_options(u, &ack_bases, ts_base)?;
                if let Some(ts) = options.timestamps {
                    peer_ts = ts.val;
                }
                let payload = support::arb_payload(u)?;
                let ecn = support::arb_ecn(u)?;
                let hdr = TcpHeader {
                    src_port: if u.ratio(1u8, 32u8)? { 1 } else { RPORT },
                    dst_port: LPORT,
                    seq,
                    ack,
                    flags,
                    window,
                    urgent,
                    options,
                };
                if let Some((hdr, payload)) = support::through_wire(&hdr, &payload, remote, local) {
                    support::trace(format_args!(
                        "in {:?} seq={} ack={} win={} len={} {:?}",
                        hdr.flags,
                        hdr.seq,
                        hdr.ack,
                        hdr.window,
                        payload.len(),
                        hdr.options
                    ));
                    let now = h.now;
                    h.both(|c| c.handle_segment_ecn(now, &hdr, payload.clone(), ecn));
                    h.check("handle_segment");
                }
            }
            7 | 8 => {
                // Time: to the next deadline, just past it, or by an arbitrary amount.
                let next = h.conn.poll_timeout();
                h.now = match (u.choose_index(3)?, next) {
                    (0, Some(t)) => t.max(h.now),
                    (1, Some(t)) => t.max(h.now) + support::arb_duration(u)?,
                    _ => h.now + support::arb_duration(u)?,
                };
                support::trace(format_args!("advance to {:?}", h.now));
                if u.ratio(1u8, 8u8)? {
                    // A spurious call: nothing may be due yet.
                    let now = h.now;
                    h.both(|c| c.handle_timeout(now));
                    h.check("early handle_timeout");
                }
                h.fire_timers();
                if u.ratio(1u8, 4u8)? {
                    // The endpoint does this after a second of idleness; it must be
                    // harmless at any time.
                    support::trace(format_args!("release idle memory"));
                    h.conn.release_idle_memory();
                    h.check("release_idle_memory");
                }
            }
            9 => {
                let n = *u.choose(&[1usize, 100, 1460, 3000, 70_000])?;
                let data = support::pattern(0, written, n);
                support::trace(format_args!("write {n}"));
                let now = h.now;
                let r = if u.arbitrary()? {
                    h.both(|c| c.write(now, &data))
                } else {
                    let data = bytes::Bytes::from(data);
                    h.both(|c| c.write_bytes(now, data.clone()))
                };
                if let Ok(k) = r {
                    assert!(k <= n);
                    written += k as u64;
                }
                h.check("write");
            }
            10 => {
                let now = h.now;
                if u.arbitrary()? {
                    let n = *u.choose(&[0usize, 1, 1000, 70_000])?;
                    let r = h.both(|c| {
                        let mut buf = vec![0u8; n];
                        c.read(now, &mut buf).map(|k| buf[..k.min(n)].to_vec())
                    });
                    if let Ok(b) = r {
                        assert!(b.len() <= n);
                    }
                } else {
                    let max = *u.choose(&[0usize, 1, 1000, 70_000])?;
                    if let Ok(Some(b)) = h.both(|c| c.read_bytes(now, max)) {
                        assert!(b.len() <= max.max(1));
                    }
                }
                support::trace(format_args!("read"));
                h.check("read");
            }
            11 => {
                support::trace(format_args!("shutdown"));
                let _ = h.both(|c| c.shutdown());
                h.check("shutdown");
            }
            12 => {
                support::trace(format_args!("close/abort"));
                if u.ratio(1u8, 3u8)? {
                    h.both(|c| c.abort());
                    h.check("abort");
                } else {
                    let now = h.now;
                    h.both(|c| c.close(now));
                    h.check("close");
                }
            }
            _ => {
                match u.choose_index(4)? {
                    0 => {
                        let on = u.arbitrary()?;
                        h.both(|c| c.set_nodelay(on));
                    }
                    1 => {
                        let ka = if u.arbitrary()? {
                            Some(tcp_core::Keepalive {
                                idle: support::arb_duration(u)?,
                                interval: support::arb_duration(u)?,
                                count: u32::from(u.arbitrary::<u8>()?),
                            })
                        } else {
                            None
                        };
                        h.both(|c| c.set_keepalive(ka));
                    }
                    2 => {
                        let ut = if u.arbitrary()? {
                            Some(support::arb_duration(u)?)
                        } else {
                            None
                        };
                        h.both(|c| c.set_user_timeout(ut));
                    }
                    _ => {
                        if u.arbitrary()? {
                            // A path MTU report: an ICMP packet too big (RFC 1191 / 8201)
                            // quoting a sequence number near the flight, or one from the
                            // endpoint's cache or the adapter.
                            let mtu = u32::from(u.arbitrary::<u16>()?);
                            let v6: bool = u.arbitrary()?;
                            if u.arbitrary()? {
                                let bases = [h.conn.snd_una(), h.conn.snd_max()];
                                let seq = support::arb_seq(u, &bases)?;
                                let (local, remote) = if v6 {
                                    ("2001:db8::1", "2001:db8::2")
                                } else {
                                    ("10.0.0.1", "10.0.0.2")
                                };
                                let err = tcp_core::wire::IcmpError {
                                    problem: tcp_core::wire::IcmpProblem::PacketTooBig { mtu },
                                    local: local.parse().map_err(|_| arbitrary::Error::IncorrectFormat)?,
                                    remote: remote.parse().map_err(|_| arbitrary::Error::IncorrectFormat)?,
                                    local_port: 1,
                                    remote_port: 2,
                                    seq,
                                    type_code: if v6 { (2, 0) } else { (3, 4) },
                                };
                                let now = h.now;
                                h.both(|c| c.handle_icmp(now, &err));
                            } else {
                                let now = h.now;
                                h.both(|c| c.handle_path_mtu(now, mtu, v6));
                            }
                        } else {
                            let mss = u.arbitrary()?;
                            h.both(|c| c.set_max_segment_size(mss));
                        }
                    }
                }
                support::trace(format_args!("option change"));
                h.check("option change");
            }
        }
    }
    Ok(())
}
