//! `tcp-sim`: one bulk transfer through the deterministic simulator, printed as one line
//! of `key=value` pairs.
//!
//! ```text
//! tcp-sim --bytes N --loss PCT --delay MS --rate MBIT --mtu BYTES --queue BYTES --seed S
//!         [--pcap FILE] [--plot FILE.svg] [--stack ours|smoltcp] [--cc cubic|reno|none]
//!         [--buffer BYTES] [--sack-fault KINDS] [--renege P] [--ecn MARK_BYTES]
//!         [--mtu-drop MS:BYTES] [--ptb on|off] [--mtu-probing off|black-hole|always]
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

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant as WallInstant;

use tcp_core::time::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::LinkConfig;
use tcp_tests::sim::plot;
use tcp_tests::sim::sack_fault::{BogusSack, SackFault};
use tcp_tests::sim::smoltcp_node::Congestion;

const USAGE: &str = "usage: tcp-sim [--bytes N] [--loss PCT] [--delay MS] [--rate MBIT] [--mtu BYTES] \
[--queue BYTES] [--seed S] [--pcap FILE] [--plot FILE.svg] [--stack ours|smoltcp] \
[--cc cubic|reno|none] [--buffer BYTES] [--max-virtual-s S] \
[--sack-fault invalid|straddling|all|beyond-window|inverted|below-ack] [--renege P] \
[--ecn MARK_BYTES] [--mtu-drop MS:BYTES] [--ptb on|off] [--mtu-probing off|black-hole|always]";

/// Every option `parse_args` knows; each takes a value.
const FLAGS: [&str; 19] = [
    "--bytes",
    "--loss",
    "--delay",
    "--rate",
    "--mtu",
    "--queue",
    "--seed",
    "--pcap",
    "--plot",
    "--buffer",
    "--max-virtual-s",
    "--renege",
    "--ecn",
    "--mtu-drop",
    "--ptb",
    "--mtu-probing",
    "--sack-fault",
    "--stack",
    "--cc",
];

struct Args {
    bytes: u64,
    loss_pct: f64,
    delay_ms: f64,
    rate_mbit: f64,
    mtu: usize,
    queue: Option<usize>,
    seed: u64,
    pcap: Option<String>,
    plot: Option<String>,
    stack: Stack,
    cc: Congestion,
    buffer: usize,
    max_virtual_s: u64,
    sack_fault: Option<SackFault>,
    renege: f64,
    ecn_mark: Option<usize>,
    mtu_drop: Option<(u64, usize)>,
    ptb: bool,
    mtu_probing: tcp_core::MtuProbing,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        bytes: 32 << 20,
        loss_pct: 0.0,
        delay_ms: 10.0,
        rate_mbit: 100.0,
        mtu: 1500,
        queue: None,
        seed: 1,
        pcap: None,
        plot: None,
        stack: Stack::Ours,
        cc: Congestion::Cubic,
        buffer: 256 * 1024,
        max_virtual_s: 36_000,
        sack_fault: None,
        renege: 0.0,
        ecn_mark: None,
        mtu_drop: None,
        ptb: true,
        mtu_probing: tcp_core::MtuProbing::Off,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            // Not an error: main prints the usage to stdout and exits 0.
            return Err(String::new());
        }
        if !FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown option {flag}"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--bytes" => a.bytes = value.parse().map_err(|_| bad.clone())?,
            "--loss" => a.loss_pct = value.parse().map_err(|_| bad.clone())?,
            "--delay" => a.delay_ms = value.parse().map_err(|_| bad.clone())?,
            "--rate" => a.rate_mbit = value.parse().map_err(|_| bad.clone())?,
            "--mtu" => a.mtu = value.parse().map_err(|_| bad.clone())?,
            "--queue" => a.queue = Some(value.parse().map_err(|_| bad.clone())?),
            "--seed" => a.seed = value.parse().map_err(|_| bad.clone())?,
            "--pcap" => a.pcap = Some(value),
            "--plot" => a.plot = Some(value),
            "--buffer" => a.buffer = value.parse().map_err(|_| bad.clone())?,
            "--max-virtual-s" => a.max_virtual_s = value.parse().map_err(|_| bad.clone())?,
            "--renege" => a.renege = value.parse().map_err(|_| bad.clone())?,
            "--ecn" => a.ecn_mark = Some(value.parse().map_err(|_| bad.clone())?),
            "--mtu-drop" => {
                let (ms, bytes) = value.split_once(':').ok_or_else(|| bad.clone())?;
                a.mtu_drop = Some((
                    ms.parse().map_err(|_| bad.clone())?,
                    bytes.parse().map_err(|_| bad.clone())?,
                ));
            }
            "--ptb" => {
                a.ptb = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(bad),
                }
            }
            "--mtu-probing" => {
                a.mtu_probing = match value.as_str() {
                    "off" => tcp_core::MtuProbing::Off,
                    "black-hole" => tcp_core::MtuProbing::BlackHole,
                    "always" => tcp_core::MtuProbing::Always,
                    _ => return Err(bad),
                }
            }
            "--sack-fault" => {
                a.sack_fault = Some(match value.as_str() {
                    "invalid" => SackFault::invalid(),
                    "all" => SackFault::all(),
                    name => SackFault::only(
                        BogusSack::ALL
                            .into_iter()
                            .find(|k| k.name() == name)
                            .ok_or_else(|| format!("unknown SACK fault {name}"))?,
                    ),
                })
            }
            "--stack" => {
                a.stack = match value.as_str() {
                    "ours" => Stack::Ours,
                    "smoltcp" => Stack::Smoltcp,
                    _ => return Err(format!("unknown stack {value} (ours|smoltcp)")),
                }
            }
            "--cc" => {
                a.cc = match value.as_str() {
                    "cubic" => Congestion::Cubic,
                    "reno" => Congestion::Reno,
                    "none" => Congestion::None,
                    _ => {
                        return Err(format!(
                            "unknown congestion control {value} (cubic|reno|none)"
                        ));
                    }
                }
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if !(0.0..=1.0).contains(&a.renege) {
        return Err("renege is a probability, 0..1".into());
    }
    if !(0.0..=100.0).contains(&a.loss_pct) || a.delay_ms < 0.0 || a.rate_mbit < 0.0 {
        return Err("loss must be 0..100, delay and rate non-negative".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tcp-sim: {e}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
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
    link.packet_too_big = args.ptb;
    let mut setup = BulkSetup::new(args.bytes, link);
    setup.ecn = args.ecn_mark.is_some();
    setup.mtu_probing = args.mtu_probing;
    setup.seed = args.seed;
    setup.mtu = args.mtu;
    setup.buffer = args.buffer;
    setup.congestion = args.cc;
    setup.reverse.sack_fault = args.sack_fault.clone();
    setup.purge_ofo = args.renege;

    let cpu_start = cpu_time();
    let wall_start = WallInstant::now();
    let mut run = BulkRun::new(args.stack, setup)?;
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
        args.stack.name(),
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
