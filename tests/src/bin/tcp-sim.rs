//! `tcp-sim`: one bulk transfer through the deterministic simulator, printed as one line
//! of `key=value` pairs.
//!
//! ```text
//! tcp-sim --bytes N --loss PCT --delay MS --rate MBIT --mtu BYTES --queue BYTES --seed S
//!         [--pcap FILE] [--plot FILE.svg] [--stack ours|smoltcp] [--cc cubic|reno|none|bbr]
//!         [--buffer BYTES] [--sack-fault KINDS] [--renege P] [--ecn MARK_BYTES]
//!         [--mtu-drop MS:BYTES] [--ptb on|off] [--mtu-probing off|black-hole|always]
//!         [--bbr-loss-thresh PERMILLE]
//! ```
//!
//! `--ecn K`: both ends of our stack ask for ECN (RFC 3168) and the bottleneck queue marks
//! ECN-capable packets CE once K bytes wait ahead of them. `--mtu-drop MS:BYTES`: from MS
//! milliseconds on, the path carries packets of at most BYTES; `--ptb on` makes the router
//! answer with ICMP packet too big (RFC 1191), `off` makes it a black hole. `--mtu-probing`
//! is our sender's packetization-layer PMTUD (RFC 4821, Linux's `tcp_mtu_probing`).
//!
//! `--sack-fault` rewrites the receiver's ACKs on the link: each ACK with SACK blocks and
//! each duplicate ACK gets a bogus block (`invalid`: beyond the window, inverted or below
//! the ACK in turn; `straddling`: a second block straddling the ACK that makes the first
//! look like a D-SACK; `all`; or one of `beyond-window`, `inverted`, `below-ack`).
//! `--renege P`: after each packet, the receiving connection (ours) discards its
//! out-of-order data with probability P. With our stack the line also reports the
//! sender's undos, D-SACKs, ignored SACK blocks and renegings.
//!
//! `--cc bbr` runs our BBR (draft-ietf-ccwg-bbr, paced); smoltcp has none.
//! `--bbr-loss-thresh` sets its `BBRLossThresh` in thousandths (an experiment; default
//! the draft's 20). `--help` lists every option.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant as WallInstant;

use clap::{Parser, ValueEnum};
use tcp_core::time::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::LinkConfig;
use tcp_tests::sim::plot;
use tcp_tests::sim::sack_fault::{BogusSack, SackFault};
use tcp_tests::sim::smoltcp_node::Congestion;

/// One bulk transfer through the deterministic simulator, printed as one line of
/// `key=value` pairs.
#[derive(Parser, Debug)]
#[command(name = "tcp-sim")]
struct Args {
    /// Bytes to transfer.
    #[arg(long, default_value_t = 32 << 20)]
    bytes: u64,
    /// Random loss, percent (0..100), on each direction: data and ACKs alike.
    #[arg(long = "loss", default_value_t = 0.0, value_parser = percent)]
    loss_pct: f64,
    /// One-way delay in milliseconds.
    #[arg(long = "delay", default_value_t = 10.0, value_parser = non_negative)]
    delay_ms: f64,
    /// Bottleneck rate in Mbit/s (0: unlimited).
    #[arg(long = "rate", default_value_t = 100.0, value_parser = non_negative)]
    rate_mbit: f64,
    /// Path MTU in bytes.
    #[arg(long, default_value_t = 1500)]
    mtu: usize,
    /// Bottleneck queue limit in bytes (default: unlimited).
    #[arg(long)]
    queue: Option<usize>,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write a pcap of the sender's packets.
    #[arg(long)]
    pcap: Option<String>,
    /// Write a tcptrace-style time-sequence plot (SVG).
    #[arg(long)]
    plot: Option<String>,
    /// Which stack runs on both ends.
    #[arg(long, value_enum, default_value_t = StackArg::Ours)]
    stack: StackArg,
    /// Congestion control (bbr: ours only).
    #[arg(long, value_enum, default_value_t = CcArg::Cubic)]
    cc: CcArg,
    /// Send and receive buffer of both ends, bytes.
    #[arg(long, default_value_t = 256 * 1024)]
    buffer: usize,
    /// Give up after this much virtual time, seconds.
    #[arg(long = "max-virtual-s", default_value_t = 36_000)]
    max_virtual_s: u64,
    /// Rewrite the receiver's ACKs with bogus SACK blocks.
    #[arg(long = "sack-fault", value_parser = sack_fault)]
    sack_fault: Option<SackFault>,
    /// Probability that the receiver discards its out-of-order data after a packet.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    renege: f64,
    /// Both ends ask for ECN; the queue marks CE beyond this many bytes.
    #[arg(long = "ecn")]
    ecn_mark: Option<usize>,
    /// From MS milliseconds on, the path carries packets of at most BYTES (MS:BYTES).
    #[arg(long = "mtu-drop", value_parser = mtu_drop)]
    mtu_drop: Option<(u64, usize)>,
    /// Whether the router answers an oversized packet with ICMP packet too big.
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    ptb: OnOff,
    /// Our sender's packetization-layer PMTUD (RFC 4821).
    #[arg(long = "mtu-probing", value_enum, default_value_t = MtuProbingArg::Off)]
    mtu_probing: MtuProbingArg,
    /// Our BBR's loss threshold, thousandths (experiment; default the draft's 20 = 2 %).
    #[arg(long = "bbr-loss-thresh")]
    bbr_loss_thresh: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StackArg {
    Ours,
    Smoltcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CcArg {
    Cubic,
    Reno,
    None,
    Bbr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MtuProbingArg {
    Off,
    BlackHole,
    Always,
}

impl Args {
    fn stack(&self) -> Stack {
        match self.stack {
            StackArg::Ours => Stack::Ours,
            StackArg::Smoltcp => Stack::Smoltcp,
        }
    }

    fn congestion(&self) -> Congestion {
        match self.cc {
            CcArg::Cubic => Congestion::Cubic,
            CcArg::Reno => Congestion::Reno,
            CcArg::None => Congestion::None,
            CcArg::Bbr => Congestion::Bbr,
        }
    }

    fn mtu_probing(&self) -> tcp_core::MtuProbing {
        match self.mtu_probing {
            MtuProbingArg::Off => tcp_core::MtuProbing::Off,
            MtuProbingArg::BlackHole => tcp_core::MtuProbing::BlackHole,
            MtuProbingArg::Always => tcp_core::MtuProbing::Always,
        }
    }
}

fn number(s: &str) -> Result<f64, String> {
    s.parse::<f64>().map_err(|e| e.to_string())
}

fn percent(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err("loss must be 0..100".into())
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err("must be non-negative".into())
    }
}

fn probability(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("renege is a probability, 0..1".into())
    }
}

fn mtu_drop(s: &str) -> Result<(u64, usize), String> {
    let (ms, bytes) = s.split_once(':').ok_or("expected MS:BYTES")?;
    Ok((
        ms.parse().map_err(|_| format!("bad milliseconds {ms}"))?,
        bytes.parse().map_err(|_| format!("bad bytes {bytes}"))?,
    ))
}

fn sack_fault(s: &str) -> Result<SackFault, String> {
    Ok(match s {
        "invalid" => SackFault::invalid(),
        "all" => SackFault::all(),
        name => SackFault::only(
            BogusSack::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(|| {
                    format!(
                        "unknown SACK fault {name} (invalid|straddling|all|beyond-window|inverted|below-ack)"
                    )
                })?,
        ),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcp-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let rate_bps = (args.rate_mbit * 1e6) as u64;
    let mut link = LinkConfig::new(
        Duration::from_micros((args.delay_ms * 1000.0) as u64),
        (rate_bps > 0).then_some(rate_bps),
    );
    link.loss = args.loss_pct / 100.0;
    link.mtu = Some(args.mtu);
    link.queue_limit_bytes = args.queue;
    link.ecn_mark_bytes = args.ecn_mark;
    link.mtu_change = args
        .mtu_drop
        .map(|(ms, bytes)| (tcp_core::time::Instant::from_millis(ms), bytes));
    link.packet_too_big = args.ptb == OnOff::On;
    let mut setup = BulkSetup::new(args.bytes, link);
    setup.ecn = args.ecn_mark.is_some();
    setup.mtu_probing = args.mtu_probing();
    setup.bbr_loss_thresh = args.bbr_loss_thresh;
    setup.seed = args.seed;
    setup.mtu = args.mtu;
    setup.buffer = args.buffer;
    setup.congestion = args.congestion();
    setup.reverse.sack_fault = args.sack_fault.clone();
    setup.purge_ofo = args.renege;

    let cpu_start = cpu_time();
    let wall_start = WallInstant::now();
    let mut run = BulkRun::new(args.stack(), setup)?;
    if let Some(path) = &args.pcap {
        let f = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
        run.world
            .enable_pcap(Box::new(std::io::BufWriter::new(f)), run.sender)
            .map_err(|e| format!("{path}: {e}"))?;
    }
    if args.plot.is_some() {
        run.world.enable_trace();
    }

    let progress = std::io::stderr().is_terminal();
    let max_virtual = Duration::from_secs(args.max_virtual_s);
    let slice = Duration::from_millis(100);
    let max_steps_total: u64 = 1_000_000_000;
    let mut outcome;
    loop {
        let elapsed = run
            .world
            .now()
            .saturating_duration_since(tcp_core::time::Instant::ZERO);
        let budget = max_virtual.saturating_sub(elapsed).min(slice);
        outcome = run.run(budget, max_steps_total.saturating_sub(run.world.steps()));
        if progress {
            let got = run.world.report(run.receiver).bytes_received;
            let pct = got as f64 * 100.0 / args.bytes.max(1) as f64;
            let filled = (pct / 5.0) as usize;
            eprint!(
                "\r[{}{}] {pct:5.1}% virtual {:.1}s",
                "#".repeat(filled.min(20)),
                " ".repeat(20 - filled.min(20)),
                run.world.now().as_micros() as f64 / 1e6
            );
        }
        let out_of_time = run
            .world
            .now()
            .saturating_duration_since(tcp_core::time::Instant::ZERO)
            >= max_virtual;
        if outcome != RunOutcome::TimeLimit || out_of_time || budget.is_zero() {
            break;
        }
    }
    if progress {
        eprintln!();
    }
    let cpu_s = cpu_time() - cpu_start;
    let wall_s = wall_start.elapsed().as_secs_f64();
    let res = run.result(outcome);
    run.world.finish_pcap().map_err(|e| format!("pcap: {e}"))?;
    if let Some(path) = &args.plot {
        let trace = run.world.trace().ok_or("no trace")?;
        let svg = plot::time_sequence_svg(trace, run.sender, &plot::PlotOptions::default());
        std::fs::write(path, svg).map_err(|e| format!("{path}: {e}"))?;
    }
    let line = format!(
        "stack={} bytes={} received={} virtual_s={:.3} goodput_mbit_s={:.3} retransmits={} \
         data_segments={} rtos={} rtos_wire={} drops={} loss_pct={} delay_ms={} rate_mbit={} mtu={} queue={} \
         seed={} finished={} outcome={:?} cpu_s={:.3} wall_s={:.3}{}{}",
        args.stack().name(),
        args.bytes,
        res.bytes_received,
        res.transfer_time.as_secs_f64(),
        res.goodput_mbit_s,
        res.retransmits,
        res.data_segments,
        res.rtos.map_or("n/a".to_string(), |n| n.to_string()),
        res.rtos_wire,
        res.drops,
        args.loss_pct,
        args.delay_ms,
        args.rate_mbit,
        args.mtu,
        args.queue
            .map_or("unlimited".to_string(), |q| q.to_string()),
        args.seed,
        res.finished,
        res.outcome,
        cpu_s,
        wall_s,
        res.sender_stats.map_or(String::new(), |s| {
            format!(
                " undos={} dsacks={} sack_ignored={} sack_renegings={} ofo_pruned={} \
                 ece={} ecn_reductions={} pmtu_reductions={} black_hole_reductions={} \
                 mtu_probes={} mtu_probes_failed={}",
                s.undos,
                s.dsacks_received,
                s.sack_blocks_ignored,
                s.sack_renegings,
                res.receiver_stats.map_or(0, |r| r.ofo_pruned),
                s.ece_received,
                s.ecn_reductions,
                s.pmtu_reductions,
                s.black_hole_reductions,
                s.mtu_probes,
                s.mtu_probes_failed
            )
        }),
        res.error
            .as_ref()
            .map_or(String::new(), |e| format!(" error=\"{e}\"")),
    );
    println!("{line}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    if res.error.is_some() || res.bytes_received < args.bytes {
        return Err("transfer incomplete".into());
    }
    Ok(())
}

/// CPU time of this process in seconds (user + system), from /proc on Linux; falls back
/// to zero where unavailable.
fn cpu_time() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line: 12th and 13th after ')'.
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ is 100 on every mainstream Linux configuration.
    100.0
}
