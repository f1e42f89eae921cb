//! Flow steering for a multi-queue TUN device: which queue (and so which worker) gets the
//! packets of a flow.
//!
//! Left to itself, the kernel gives a flow to the queue that last wrote one of its packets
//! (its flow table), and a flow it does not know to a queue picked by a hash with a random
//! key. The table forgets a flow after 3 s without a packet written (`TUN_FLOW_EXPIRE`), so
//! an idle connection's next packet can land on another worker, which has no such
//! connection and answers with a reset. To keep every flow on one worker for its whole
//! life, [`attach`] installs a steering program (`TUNSETSTEERINGEBPF`) that picks the queue
//! from the packet's ports, a hash of `source port ^ destination port` modulo the queues,
//! the same in both directions and computable by the workers ([`queue_of`]). A worker that opens a
//! connection picks its local port so that the flow's queue is its own.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Multiplier that spreads the ports' bits (Knuth's multiplicative hash): Linux prefers
/// even ports for `connect`, so the XOR of two ports alone would put every flow to one
/// port on the same one of two queues.
const MIX: u32 = 0x9E37_79B1;

/// The queue, out of `queues`, of a TCP flow between ports `a` and `b` (either order):
/// what the steering program computes.
pub fn queue_of(a: u16, b: u16, queues: usize) -> usize {
    let h = u32::from(a ^ b).wrapping_mul(MIX) >> 16;
    h as usize % queues.max(1)
}

/// A local port in `[low, high)` whose flow to `remote_port` lands on queue `queue` of
/// `queues`, trying from `start` (a varying start spreads the ports a worker uses).
pub fn port_for_queue(
    remote_port: u16,
    queue: usize,
    queues: usize,
    range: (u16, u16),
    start: u16,
) -> Option<u16> {
    let (low, high) = range;
    let span = u32::from(high.saturating_sub(low));
    (0..span)
        .map(|i| low + ((u32::from(start) + i) % span) as u16)
        .find(|&p| queue_of(p, remote_port, queues) == queue)
}

/// `TUNSETSTEERINGEBPF`: `_IOR('T', 224, int)`.
const TUNSETSTEERINGEBPF: libc::c_ulong = 0x8004_54e0;
/// `BPF_PROG_LOAD`.
const BPF_PROG_LOAD: libc::c_long = 5;
/// `BPF_PROG_TYPE_SOCKET_FILTER`.
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// The steering program: the packet starts at its IP header (a TUN device has no link
/// header); `LD_ABS`/`LD_IND` load big-endian fields in host order. The kernel takes the
/// returned value modulo the number of queues.
const PROGRAM: [Insn; 19] = [
    insn(0xbf, 6, 1, 0, 0),          // r6 = r1 (the packet, for LD_ABS/LD_IND)
    insn(0x30, 0, 0, 0, 0),          // r0 = byte 0 (version, IHL)
    insn(0x77, 0, 0, 0, 4),          // r0 >>= 4
    insn(0x15, 0, 0, 8, 6),          // if r0 == 6 goto IPv6 (instruction 12)
    insn(0x30, 0, 0, 0, 0),          // r0 = byte 0
    insn(0x57, 0, 0, 0, 15),         // r0 &= 0xf (IHL)
    insn(0x67, 0, 0, 0, 2),          // r0 <<= 2 (IPv4 header bytes)
    insn(0xbf, 7, 0, 0, 0),          // r7 = r0
    insn(0x48, 0, 7, 0, 0),          // r0 = u16 at r7 (source port)
    insn(0xbf, 8, 0, 0, 0),          // r8 = r0
    insn(0x48, 0, 7, 0, 2),          // r0 = u16 at r7 + 2 (destination port)
    insn(0x05, 0, 0, 3, 0),          // goto mix (instruction 15)
    insn(0x28, 0, 0, 0, 40),         // IPv6: r0 = u16 at 40 (source port, no extension headers)
    insn(0xbf, 8, 0, 0, 0),          // r8 = r0
    insn(0x28, 0, 0, 0, 42),         // r0 = u16 at 42 (destination port)
    insn(0xaf, 0, 8, 0, 0),          // mix: r0 ^= r8
    insn(0x24, 0, 0, 0, MIX as i32), // w0 *= MIX (32-bit)
    insn(0x74, 0, 0, 0, 16),         // w0 >>= 16
    insn(0x95, 0, 0, 0, 0),          // exit
];

/// `union bpf_attr` as `BPF_PROG_LOAD` reads it (the fields up to `prog_flags`, the rest
/// zero).
#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    _rest: [u8; 80],
}

/// Installs the port-based steering program on the multi-queue TUN device behind `fd` (any
/// of its queues). Needs `CAP_BPF` or `CAP_SYS_ADMIN`.
pub fn attach(fd: RawFd) -> io::Result<()> {
    let license = c"GPL";
    let attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_SOCKET_FILTER,
        insn_cnt: PROGRAM.len() as u32,
        insns: PROGRAM.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        _rest: [0; 80],
    };
    // SAFETY: BPF_PROG_LOAD reads `attr` (its size given) and the instructions and license
    // it points to, all alive for the call.
    let prog = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const ProgLoad,
            std::mem::size_of::<ProgLoad>(),
        )
    };
    if prog < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new descriptor that we own.
    let prog = unsafe { OwnedFd::from_raw_fd(prog as RawFd) };
    let prog_fd: libc::c_int = prog.as_raw_fd();
    // SAFETY: TUNSETSTEERINGEBPF reads an int (the program's descriptor; the device keeps
    // its own reference, so ours may close).
    if unsafe { libc::ioctl(fd, TUNSETSTEERINGEBPF, &prog_fd) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_the_same_both_ways_and_ports_can_be_chosen_for_it() {
        assert_eq!(queue_of(40_000, 5001, 2), queue_of(5001, 40_000, 2));
        for q in 0..4 {
            let p = port_for_queue(5001, q, 4, (32_768, 61_000), 12_345).unwrap();
            assert!((32_768..61_000).contains(&p));
            assert_eq!(queue_of(p, 5001, 4), q);
        }
        assert_eq!(queue_of(1, 2, 1), 0);
        assert_eq!(port_for_queue(80, 0, 2, (10, 10), 0), None);
    }
}
