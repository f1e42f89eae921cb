// Helpers shared by the `connection`, `endpoint`, `pair` and `hostile` fuzz targets and by their
// corpus replay tests (tests/tests/fuzz_corpus.rs). Included with `include!` inside a
// module, so the very same code runs under libFuzzer and under the stable test suite.
//
// Inputs are decoded with `arbitrary::Unstructured`: once the input runs out every value
// decodes as its minimum, so each loop is also bounded by an explicit step count.

use arbitrary::{Result as ArbResult, Unstructured};
use bytes::Bytes;
use core::net::IpAddr;
use tcp_core::wire::{
    SackBlock, SackBlocks, TcpFlags, TcpHeader, TcpOptions, Timestamps, emit_tcp_segment,
    parse_tcp_segment,
};
use tcp_core::{Config, Duration, Keepalive, SeqNum};

/// Largest encoded segment the harnesses build or accept.
pub const MAX_SEGMENT: usize = 65_535;

/// A deterministic byte for stream offset `off` of side `side`, with a period far longer
/// than any window, so reordered or duplicated delivery to the application is detected.
pub fn pattern_byte(side: u8, off: u64) -> u8 {
    let x = off.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (off >> 7) ^ u64::from(side) << 40;
    (x >> 32) as u8 ^ (x >> 13) as u8
}

/// `len` pattern bytes starting at stream offset `off`.
pub fn pattern(side: u8, off: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| pattern_byte(side, off + i))
        .collect()
}

/// A duration from microseconds to hours.
pub fn arb_duration(u: &mut Unstructured<'_>) -> ArbResult<Duration> {
    let n = u64::from(u.arbitrary::<u16>()?);
    Ok(match u.choose_index(5)? {
        0 => Duration::from_micros(n),
        1 => Duration::from_millis(n % 1000),
        2 => Duration::from_millis(n),
        3 => Duration::from_secs(n % 600),
        _ => Duration::from_secs(3600 * (n % 4 + 1)),
    })
}

/// A per-connection configuration: defaults with a few knobs turned, small enough that a
/// fuzz input fills buffers and windows quickly.
pub fn arb_config(u: &mut Unstructured<'_>) -> ArbResult<Config> {
    let mut c = Config::default();
    let flags = u.arbitrary::<u16>()?;
    c.window_scaling = flags & 1 == 0;
    c.timestamps = flags & 2 == 0;
    c.sack = flags & 4 == 0;
    c.nodelay = flags & 8 != 0;
    if flags & 16 != 0 {
        c.keepalive = Some(Keepalive {
            idle: Duration::from_secs(u64::from(u.int_in_range(1u8..=60)?)),
            interval: Duration::from_secs(u64::from(u.int_in_range(1u8..=10)?)),
            count: u32::from(u.int_in_range(1u8..=4)?),
        });
    }
    if flags & 32 != 0 {
        c.user_timeout = Some(Duration::from_millis(u64::from(
            u.int_in_range(100u16..=30_000)?,
        )));
    }
    if flags & 64 != 0 {
        c.window_scale = Some(u.int_in_range(0u8..=15)?);
    }
    if flags & 128 != 0 {
        c.congestion = tcp_core::config::CongestionAlgorithm::NewReno;
    } else if flags & 8192 != 0 {
        // BBR (draft-ietf-ccwg-bbr): paced, its window from delivery-rate samples.
        c.congestion = tcp_core::config::CongestionAlgorithm::Bbr;
    }
    c.frto = flags & 256 == 0;
    if flags & 512 != 0 {
        // Packetization-layer path MTU discovery (RFC 4821): repeated timeouts lower the
        // MSS, probes raise it; from the start in one input of two.
        c.mtu_probing = if flags & 1024 != 0 {
            tcp_core::MtuProbing::Always
        } else {
            tcp_core::MtuProbing::BlackHole
        };
        c.base_mss = *u.choose(&[1024u16, 256, 48])?;
        c.retries1 = u32::from(u.int_in_range(1u8..=3)?);
    }
    // ECN (RFC 3168): asked for, accepted when asked (the default), or off.
    c.ecn = match flags >> 11 & 3 {
        1 => tcp_core::EcnMode::On,
        2 => tcp_core::EcnMode::Off,
        _ => tcp_core::EcnMode::Passive,
    };
    c.mss = *u.choose(&[1460u16, 536, 88, 1220, 9000, 64])?;
    c.send_buffer = *u.choose(&[16 * 1024usize, 4096, 1024, 65_536, 200])?;
    c.recv_buffer = *u.choose(&[16 * 1024usize, 4096, 1024, 65_536, 200])?;
    c.recv_buffer_max = c.recv_buffer * *u.choose(&[1usize, 4, 64])?;
    c.recv_buffer_fixed = u.arbitrary()?;
    c.initial_window = u32::from(u.int_in_range(1u8..=10)?);
    c.ack_policy = *u.choose(&[
        tcp_core::config::AckPolicy::Linux,
        tcp_core::config::AckPolicy::EverySegment,
        tcp_core::config::AckPolicy::Delayed {
            delay: Duration::from_millis(100),
        },
    ])?;
    c.max_ooo_segments = *u.choose(&[16usize, 1, 4, 64])?;
    c.invalid_ratelimit = Duration::from_millis(*u.choose(&[500u64, 0, 1])?);
    c.time_wait = Duration::from_millis(u64::from(u.int_in_range(1u16..=5000)?));
    c.fin_timeout = Duration::from_secs(u64::from(u.int_in_range(1u8..=60)?));
    Ok(c)
}

/// A sequence number near one of `bases` (most inputs), or anywhere.
pub fn arb_seq(u: &mut Unstructured<'_>, bases: &[SeqNum]) -> ArbResult<SeqNum> {
    if bases.is_empty() || u.ratio(1u8, 8u8)? {
        return match u.choose_index(3)? {
            0 => Ok(SeqNum::new(u.arbitrary()?)),
            1 => Ok(*u.choose(&[
                SeqNum::new(0),
                SeqNum::new(u32::MAX),
                SeqNum::new(1 << 31),
                SeqNum::new((1 << 31) - 1),
            ])?),
            _ => {
                let b = bases.first().copied().unwrap_or(SeqNum::new(0));
                Ok(b + (1u32 << 31) + u32::from(u.arbitrary::<u8>()?))
            }
        };
    }
    let base = *u.choose(bases)?;
    let delta = match u.choose_index(4)? {
        0 => 0,
        1 => i32::from(u.int_in_range(-8i8..=8)?),
        2 => i32::from(u.arbitrary::<i16>()?),
        _ => u.int_in_range(-(1 << 20)..=(1 << 20))?,
    };
    Ok(if delta >= 0 {
        base + delta as u32
    } else {
        base - delta.unsigned_abs()
    })
}

/// Flags: mostly the combinations real peers send, sometimes any byte.
pub fn arb_flags(u: &mut Unstructured<'_>) -> ArbResult<TcpFlags> {
    let a = TcpFlags::ACK;
    let common = [
        a,
        a | TcpFlags::PSH,
        TcpFlags::SYN,
        TcpFlags::SYN | a,
        TcpFlags::FIN | a,
        TcpFlags::FIN | a | TcpFlags::PSH,
        TcpFlags::RST,
        TcpFlags::RST | a,
        TcpFlags::empty(),
        TcpFlags::SYN | TcpFlags::FIN,
        a | TcpFlags::URG,
    ];
    if u.ratio(1u8, 10u8)? {
        Ok(TcpFlags::from_bits(u.arbitrary()?))
    } else {
        Ok(*u.choose(&common)?)
    }
}

/// Options, with SACK blocks near `sack_bases` and a TSval near `ts_base`.
pub fn arb_options(
    u: &mut Unstructured<'_>,
    sack_bases: &[SeqNum],
    ts_base: Option<u32>,
) -> ArbResult<TcpOptions> {
    let mut o = TcpOptions::default();
    let bits = u.arbitrary::<u8>()?;
    if bits & 1 != 0 {
        o.mss = Some(*u.choose(&[1460u16, 536, 0, 1, 47, 65_535, 9000])?);
    }
    if bits & 2 != 0 {
        o.window_scale = Some(*u.choose(&[7u8, 0, 14, 15, 255])?);
    }
    o.sack_permitted = bits & 4 != 0;
    if bits & 8 != 0 {
        let val = match (ts_base, u.ratio(1u8, 4u8)?) {
            (Some(b), false) => b.wrapping_add(u32::from(u.arbitrary::<u8>()?)),
            _ => u.arbitrary()?,
        };
        o.timestamps = Some(Timestamps {
            val,
            ecr: u.arbitrary()?,
        });
    }
    if bits & 16 != 0 {
        let mut blocks = SackBlocks::new();
        for _ in 0..u.int_in_range(1..=4)? {
            let left = arb_seq(u, sack_bases)?;
            let len = u32::from(u.arbitrary::<u16>()?);
            let _ = blocks.push(SackBlock {
                left,
                right: left + len,
            });
        }
        o.sack_blocks = blocks;
    }
    Ok(o)
}

/// The ECN codepoint of an arriving segment's IP header: mostly not-ECT, sometimes ECT or
/// a congestion mark.
pub fn arb_ecn(u: &mut Unstructured<'_>) -> ArbResult<tcp_core::IpEcn> {
    use tcp_core::IpEcn;
    Ok(*u.choose(&[
        IpEcn::NotEct,
        IpEcn::NotEct,
        IpEcn::Ect0,
        IpEcn::Ect0,
        IpEcn::Ce,
        IpEcn::Ect1,
    ])?)
}

/// A payload: usually empty or short raw bytes, sometimes a long run.
pub fn arb_payload(u: &mut Unstructured<'_>) -> ArbResult<Bytes> {
    Ok(match u.choose_index(4)? {
        0 => Bytes::new(),
        1 => {
            let n = u.int_in_range(1usize..=64)?;
            Bytes::copy_from_slice(u.bytes(n.min(u.len()))?)
        }
        2 => Bytes::from(pattern(9, 0, usize::from(u.arbitrary::<u16>()?) % 3000)),
        _ => Bytes::from(vec![0xa5; usize::from(u.arbitrary::<u16>()?) % 65_000]),
    })
}

/// Encodes `h` + `payload` with a valid checksum and parses it back, as the path from a
/// real peer would: returns what a receiver sees, or `None` if it cannot be encoded.
pub fn through_wire(
    h: &TcpHeader,
    payload: &[u8],
    src: IpAddr,
    dst: IpAddr,
) -> Option<(TcpHeader, Bytes)> {
    let mut buf = vec![0u8; h.len() + payload.len()];
    let n = emit_tcp_segment(h, payload, src, dst, &mut buf).ok()?;
    buf.truncate(n);
    let bytes = Bytes::from(buf);
    let (h2, range) = parse_tcp_segment(src, dst, &bytes).expect("emitted segment must parse");
    Some((h2, bytes.slice(range)))
}

/// A segment the stack emitted must encode with a valid checksum and parse back to the
/// same header and payload. Returns the encoded bytes.
pub fn check_emitted(h: &TcpHeader, payload: &[u8], src: IpAddr, dst: IpAddr) -> Vec<u8> {
    assert!(
        h.len() + payload.len() <= MAX_SEGMENT,
        "emitted segment too long: {} + {}",
        h.len(),
        payload.len()
    );
    let mut buf = vec![0u8; h.len() + payload.len()];
    let n = emit_tcp_segment(h, payload, src, dst, &mut buf)
        .unwrap_or_else(|e| panic!("emitted segment does not encode: {e} ({h:?})"));
    buf.truncate(n);
    let (h2, range) = parse_tcp_segment(src, dst, &buf).expect("emitted segment must parse");
    assert_eq!(&h2, h, "emitted header does not round-trip");
    assert_eq!(&buf[range], payload, "emitted payload does not round-trip");
    buf
}

/// Turns on `trace` output (replay tests set it from `FUZZ_TRACE`).
pub static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a step of the harness when tracing is on.
pub fn trace(args: core::fmt::Arguments<'_>) {
    if TRACE.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{args}");
    }
}

/// `Connection::check_invariants`, with the buffer sizes spelled out when the receive
/// buffer is over capacity.
pub fn check_conn_invariants(c: &tcp_core::Connection, recv_capacity: usize) -> Result<(), String> {
    match c.check_invariants() {
        Ok(()) => Ok(()),
        Err("receive buffer over capacity") => {
            let info = c.info();
            Err(format!(
                "receive buffer over capacity: {} bytes held, capacity {recv_capacity}",
                info.recv_buffered + info.ooo_bytes
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

std::thread_local! {
    /// Heap bytes allocated and not freed by this thread (see [`CountingAlloc`]).
    static THREAD_HEAP: core::cell::Cell<isize> = const { core::cell::Cell::new(0) };
}

/// A global allocator that forwards to the system's and counts, per thread, the bytes
/// allocated and not yet freed, so a harness can bound the memory its connection holds
/// while other tests run in parallel threads. Install it with `#[global_allocator]` in the
/// binary that runs [`thread_heap_bytes`]'s callers. (Memory freed by another thread than
/// the one that allocated it shows up as a shift between the two threads' counts.)
pub struct CountingAlloc;

fn count_heap(delta: isize) {
    let _ = THREAD_HEAP.try_with(|c| c.set(c.get().wrapping_add(delta)));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// count is a thread-local `Cell` without destructor, touched without allocating.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_heap(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count_heap(-(layout.size() as isize));
        // SAFETY: same contract as our caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_heap(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count_heap(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// Heap bytes this thread holds by the count of [`CountingAlloc`] (0 if it is not the
/// global allocator).
pub fn thread_heap_bytes() -> isize {
    THREAD_HEAP.try_with(|c| c.get()).unwrap_or(0)
}
