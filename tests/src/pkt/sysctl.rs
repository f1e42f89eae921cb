//! Sysctls: Linux's `net.ipv4.tcp_*` / `net.core.*` and FreeBSD's `net.inet.tcp.*`, mapped
//! onto `Config`/`EndpointConfig` where the core has the knob, onto the runner's socket-API
//! model where it is the runner's to emulate, and otherwise judged: a value that is the
//! platform's default (or that describes what the core does anyway) is accepted with a
//! note naming the sysctl; a value that turns on something the core lacks stops the script
//! with a SKIP naming it; and a value that only matters if the script later uses a feature
//! (Fast Open, ECN negotiation by a peer) is remembered and checked when that happens.

use super::Profile;
use tcp_core::config::{
    AckPolicy, CongestionAlgorithm, EcnMode, OptionLayout, RecvWindowPolicy, SegmentRules,
};
use tcp_core::endpoint::SynCookies;
use tcp_core::{Config, Duration, EndpointConfig, Keepalive};

/// Runner-side values of sysctls that shape the socket API or later decisions.
#[derive(Clone, Debug)]
pub(super) struct Sysctls {
    /// `net.core.rmem_max` / `wmem_max`: SO_RCVBUF / SO_SNDBUF clamp (Linux).
    pub rmem_max: u64,
    pub wmem_max: u64,
    /// `tcp_rmem` / `tcp_wmem` as set (Linux; the default getsockopt values are [1]).
    pub rmem: [u64; 3],
    pub wmem: [u64; 3],
    /// `tcp_notsent_lowat` (Linux default UINT_MAX: off).
    pub notsent_lowat: u64,
    /// `tcp_fastopen` bits (Linux) / FreeBSD `fastopen.client_enable`, `server_enable`.
    pub fastopen: u64,
    /// `tcp_ecn` (Linux: 0 off, 1 request and accept, 2 accept only) / FreeBSD
    /// `ecn.enable`.
    pub ecn: u64,
    /// Keepalive defaults (`tcp_keepalive_*` / FreeBSD `keepidle` ... in ms).
    pub keepalive: Keepalive,
    /// FreeBSD `keepinit` (ms): connection-establishment timeout, reported by getsockopt.
    pub keepinit_ms: u64,
    /// FreeBSD `recvspace` / `sendspace`: default socket buffer sizes.
    pub recvspace: u64,
    pub sendspace: u64,
    /// FreeBSD `udp_tunneling_port` (0: off).
    pub udp_tunneling_port: u64,
    /// `tcp_reordering` (Linux, reported as `tcpi_reordering`).
    pub reordering: u64,
    /// Values accepted although not modelled: (name, value, why), for `-v` notes.
    pub accepted: Vec<String>,
}

impl Sysctls {
    pub(super) fn new(profile: Profile) -> Self {
        match profile {
            // The values a fresh network namespace of the reference kernel (the oracle's,
            // Linux 6.18) starts with.
            Profile::Linux => Sysctls {
                rmem_max: 4_194_304,
                wmem_max: 4_194_304,
                rmem: [4096, 131_072, 33_554_432],
                wmem: [4096, 16_384, 4_194_304],
                notsent_lowat: u64::from(u32::MAX),
                fastopen: 1,
                ecn: 2,
                keepalive: Keepalive::default(),
                keepinit_ms: 75_000,
                recvspace: 65_536,
                sendspace: 32_768,
                udp_tunneling_port: 0,
                reordering: 3,
                accepted: Vec::new(),
            },
            Profile::FreeBsd => Sysctls {
                rmem_max: 2_097_152,
                wmem_max: 2_097_152,
                rmem: [4096, 65_536, 2_097_152],
                wmem: [4096, 32_768, 2_097_152],
                notsent_lowat: u64::from(u32::MAX),
                fastopen: 0,
                ecn: 2,
                keepalive: Keepalive {
                    idle: Duration::from_secs(7200),
                    interval: Duration::from_secs(75),
                    count: 8,
                },
                keepinit_ms: 75_000,
                recvspace: 65_536,
                sendspace: 32_768,
                udp_tunneling_port: 0,
                reordering: 3,
                accepted: Vec::new(),
            },
        }
    }
}

/// What setting one sysctl did.
pub(super) enum Effect {
    /// Applied (or accepted as not changing the outcome).
    Ok,
    /// The value turns on something the core lacks: SKIP with this reason.
    Skip(String),
    /// Not a sysctl the runner knows at all (reported by name).
    Unknown,
}

fn nums(value: &str) -> Vec<u64> {
    value
        .split_whitespace()
        .filter_map(|w| {
            let w = w.trim_matches(['"', '\'']);
            if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()
            } else {
                w.parse().ok()
            }
        })
        .collect()
}

/// The Config/EndpointConfig/Sysctls a profile starts with.
pub(super) fn preset(profile: Profile) -> (Config, EndpointConfig) {
    let cfg = Config::default();
    let mut ep = EndpointConfig::default();
    ep.secret = *b"pkt-script-key!!";
    // Linux's sysctl default, tcp_rfc1337 = 0: a RST at RCV.NXT ends TIME_WAIT.
    ep.rfc1337 = false;
    match profile {
        Profile::Linux => (cfg, ep),
        Profile::FreeBsd => {
            // FreeBSD defaults where the core has a knob (sys/netinet/tcp_*.c):
            // recvspace 64 KiB, sendspace 32 KiB, delayed ACK 100 ms (`delacktime`),
            // initial RTO 1 s (`rexmit_initial`), minimum RTO 30 ms (`rexmit_min`),
            // 2*MSL = 60 s (`msl` 30 s), NewReno congestion control, no quick-ack mode,
            // window scale from the buffer (`tcp_select_initial_window` analogue).
            let mut cfg = cfg;
            cfg.recv_buffer = 65_536;
            cfg.send_buffer = 32_768;
            cfg.ack_policy = AckPolicy::Delayed {
                delay: Duration::from_millis(100),
            };
            cfg.initial_rto = Duration::from_secs(1);
            cfg.min_rto = Duration::from_millis(30);
            cfg.time_wait = Duration::from_secs(60);
            cfg.congestion = CongestionAlgorithm::NewReno;
            // FreeBSD's wire layout (tcp_addoptions), receive window (tcp_output, tcp_mss:
            // the buffer in payload bytes, rounded up to whole segments) and answers to
            // unusual segments (tcp_do_segment, tcp_twcheck).
            cfg.option_layout = OptionLayout::Bsd;
            cfg.recv_window = RecvWindowPolicy::Bsd;
            cfg.recv_buffer_max = 2_097_152;
            cfg.segment_rules = SegmentRules::Bsd;
            cfg.sack_unlost_retransmits = true;
            cfg.prr = tcp_core::config::PrrVariant::Rfc9937;
            // Challenge ACKs and ACKs to invalid segments are not rate-limited per
            // connection (FreeBSD 12's tcp_do_segment).
            cfg.invalid_ratelimit = Duration::ZERO;

            cfg.window_scale = Some(freebsd_wscale(2_097_152));
            // tcp_twcheck drops every RST in TIME_WAIT ("see Stevens, vol. 2, p. 964 and
            // RFC 1337").
            let ep = {
                let mut ep_config: EndpointConfig = ep;
                ep_config.rfc1337 = true;
                ep_config
            };
            (cfg, ep)
        }
    }
}

/// Linux's `tcp_select_initial_window`: the shift with which 16 bits cover
/// max(`tcp_rmem[2]`, `rmem_max`). Only applied once a script sets one of them (the
/// core's own default stands otherwise).
fn linux_wscale(sys: &Sysctls, cfg: &mut Config) {
    let max = sys.rmem[2].max(sys.rmem_max).max(1);
    let shift = (i64::from(max.ilog2()) - 15).clamp(0, 14);
    cfg.window_scale = Some(shift as u8);
}

/// FreeBSD's window scale (`tcp_connect` / `syncache_add`): the smallest shift with which
/// a 64 KiB window covers `sb_max` (`kern.ipc.maxsockbuf`).
pub(super) fn freebsd_wscale(sb_max: u64) -> u8 {
    let mut w = 0u8;
    while w < 14 && (65_535u64 << w) < sb_max {
        w += 1;
    }
    w
}

/// Applies `name=value` (name as written: `net.ipv4.tcp_sack`, `net/ipv4/tcp_sack`,
/// `/proc/sys/net/ipv4/tcp_sack`, `net.inet.tcp.sack.enable`, `kern.ipc.maxsockbuf`).
pub(super) fn set(
    name: &str,
    value: &str,
    cfg: &mut Config,
    ep: &mut EndpointConfig,
    sys: &mut Sysctls,
) -> Effect {
    let name = name
        .trim()
        .trim_start_matches("/proc/sys/")
        .replace('/', ".");
    let value = value.trim().trim_matches(['"', '\'']).trim();
    let n = nums(value);
    let Some(&v) = n.first() else {
        return match name.as_str() {
            "net.ipv4.tcp_congestion_control" => congestion(value, cfg),
            "net.ipv4.tcp_fastopen_key" | "net.ipv4.tcp_allowed_congestion_control" => {
                accept(sys, &name, value, "no effect on the core")
            }
            _ => Effect::Unknown,
        };
    };
    if let Some(tcp) = name.strip_prefix("net.ipv4.") {
        return linux_tcp(tcp, value, v, &n, cfg, ep, sys);
    }
    if let Some(core) = name.strip_prefix("net.core.") {
        return match core {
            "rmem_max" => {
                sys.rmem_max = v;
                linux_wscale(sys, cfg);
                Effect::Ok
            }
            "wmem_max" => {
                sys.wmem_max = v;
                Effect::Ok
            }
            "default_qdisc" => accept(sys, &name, value, "queueing discipline of new devices"),
            "somaxconn" => accept(sys, &name, value, "listen() backlog cap"),
            _ => Effect::Unknown,
        };
    }
    if let Some(t) = name.strip_prefix("net.inet.tcp.") {
        return freebsd_tcp(t, value, v, cfg, ep, sys);
    }
    match name.as_str() {
        "kern.ipc.maxsockbuf" => {
            sys.rmem_max = v;
            sys.wmem_max = v;
            // sb_max: what tcp_mss may round the receive buffer up to.
            if cfg.recv_window == RecvWindowPolicy::Bsd {
                cfg.recv_buffer_max = v as usize;
            }
            if cfg.window_scale.is_some() && name.starts_with("kern.") {
                cfg.window_scale = Some(freebsd_wscale(v));
            }
            Effect::Ok
        }
        "kern.ipc.somaxconn" => accept(sys, &name, value, "listen() backlog cap"),
        _ => Effect::Unknown,
    }
}

fn accept(sys: &mut Sysctls, name: &str, value: &str, why: &str) -> Effect {
    sys.accepted.push(format!("{name}={value}: {why}"));
    Effect::Ok
}

fn congestion(value: &str, cfg: &mut Config) -> Effect {
    match value {
        "cubic" => cfg.congestion = CongestionAlgorithm::Cubic,
        "reno" | "newreno" => cfg.congestion = CongestionAlgorithm::NewReno,
        other => {
            return Effect::Skip(format!(
                "congestion control {other}: core has CUBIC and NewReno only"
            ));
        }
    }
    Effect::Ok
}

fn skip(name: &str, value: &str, why: &str) -> Effect {
    Effect::Skip(format!("sysctl {name}: value {value}: {why}"))
}

#[allow(clippy::too_many_arguments)]
fn linux_tcp(
    tcp: &str,
    value: &str,
    v: u64,
    n: &[u64],
    cfg: &mut Config,
    ep: &mut EndpointConfig,
    sys: &mut Sysctls,
) -> Effect {
    let full = format!("net.ipv4.{tcp}");
    let secs = Duration::from_secs;
    match tcp {
        "tcp_timestamps" => cfg.timestamps = v != 0,
        "tcp_sack" => cfg.sack = v != 0,
        "tcp_window_scaling" => cfg.window_scaling = v != 0,
        "tcp_syncookies" => {
            ep.syncookies = match v {
                0 => SynCookies::Never,
                1 => SynCookies::OnOverflow,
                _ => SynCookies::Always,
            }
        }
        "tcp_max_syn_backlog" => ep.max_syn_backlog = v as usize,
        "tcp_rfc1337" => ep.rfc1337 = v != 0,
        "tcp_syn_retries" => cfg.syn_retries = v as u32,
        "tcp_synack_retries" => cfg.synack_retries = v as u32,
        "tcp_retries2" => cfg.retries2 = v as u32,
        "tcp_orphan_retries" => cfg.orphan_retries = if v == 0 { 8 } else { v as u32 },
        "tcp_fin_timeout" => cfg.fin_timeout = secs(v),
        // Linux 6.x's global challenge-ACK limit (off by default); the core limits ACKs to
        // invalid segments per connection (tcp_invalid_ratelimit) instead.
        "tcp_challenge_ack_limit" => {
            return accept(
                sys,
                &full,
                value,
                "global challenge-ACK limit (the core limits per connection)",
            );
        }
        "tcp_keepalive_time" => sys.keepalive.idle = secs(v),
        "tcp_keepalive_intvl" => sys.keepalive.interval = secs(v),
        "tcp_keepalive_probes" => sys.keepalive.count = v as u32,
        "tcp_rmem" => {
            for (i, x) in n.iter().take(3).enumerate() {
                sys.rmem[i] = *x;
            }
            // Receive memory as Linux counts it (sk_rcvbuf), auto-tuned up to tcp_rmem[2].
            cfg.recv_buffer = sys.rmem[1] as usize;
            cfg.recv_buffer_max = sys.rmem[2] as usize;
            linux_wscale(sys, cfg);
        }
        "tcp_wmem" => {
            for (i, x) in n.iter().take(3).enumerate() {
                sys.wmem[i] = *x;
            }
            cfg.send_buffer = sys.wmem[1] as usize;
        }
        // 1 (basic) and 2 (SACK-enhanced) both select the core's one F-RTO (RFC 5682 §3.1).
        "tcp_frto" => cfg.frto = v != 0,
        "tcp_congestion_control" => return congestion(value, cfg),
        // 0 turns TLP off; 1 and 2 are early retransmit without TLP; 3 and 4 add TLP.
        "tcp_early_retrans" => cfg.tail_loss_probe = v >= 3,
        "tcp_recovery" => {
            if v & 1 == 0 {
                return skip(
                    &full,
                    value,
                    "RACK loss detection off: core always uses RACK",
                );
            }
            if v & !1 != 0 {
                return skip(
                    &full,
                    value,
                    "RACK static reordering window / no-dupthresh modes not in core",
                );
            }
        }
        "tcp_notsent_lowat" => {
            sys.notsent_lowat = v;
            cfg.notsent_lowat = u32::try_from(v).ok().filter(|&l| l < u32::MAX);
        }
        "tcp_reordering" => {
            sys.reordering = v;
            if v != 3 {
                return skip(
                    &full,
                    value,
                    "initial reordering degree (dupthresh) is fixed at 3 in core",
                );
            }
        }
        "tcp_dsack" => {
            if v == 0 {
                return skip(&full, value, "core always sends D-SACK (no knob)");
            }
        }
        "tcp_ecn" => {
            sys.ecn = v;
            cfg.ecn = match v {
                0 => EcnMode::Off,
                1 => EcnMode::On,
                2 => EcnMode::Passive,
                _ => {
                    return skip(&full, value, "AccECN (tcp_ecn 3 and above) not in core");
                }
            };
        }
        "tcp_fastopen" => sys.fastopen = v,
        "tcp_slow_start_after_idle" => cfg.slow_start_after_idle = v != 0,
        "tcp_min_tso_segs" => cfg.min_tso_segs = (v as u32).max(1),
        "tcp_mtu_probing" => match v {
            0 => cfg.mtu_probing = tcp_core::MtuProbing::Off,
            1 => cfg.mtu_probing = tcp_core::MtuProbing::BlackHole,
            _ => cfg.mtu_probing = tcp_core::MtuProbing::Always,
        },
        "tcp_probe_interval" => cfg.mtu_probe_interval = secs(v),
        "tcp_probe_threshold" => cfg.mtu_probe_threshold = u16::try_from(v).unwrap_or(u16::MAX),
        "tcp_base_mss" => cfg.base_mss = u16::try_from(v).unwrap_or(u16::MAX),
        "tcp_mtu_probe_floor" => cfg.mtu_probe_floor = u16::try_from(v).unwrap_or(u16::MAX),
        "tcp_retries1" => cfg.retries1 = v as u32,
        "tcp_thin_linear_timeouts" | "tcp_abort_on_overflow" | "tcp_shrink_window" => {
            if v != 0 {
                return skip(&full, value, "not in core");
            }
        }
        "tcp_autocorking" => {
            return accept(
                sys,
                &full,
                value,
                "automatic corking of small writes is Linux-internal; the core sends them as Nagle allows",
            );
        }
        "tcp_moderate_rcvbuf" => {
            return accept(sys, &full, value, "receive buffer autotuning not in core");
        }
        "tcp_tso_win_divisor" | "tcp_limit_output_bytes" | "tcp_tso_rtt_log" => {
            return accept(
                sys,
                &full,
                value,
                "TSO sizing/deferral: the core has no TSO (outbound lines are matched by aggregation)",
            );
        }
        "tcp_pacing_ss_ratio" | "tcp_pacing_ca_ratio" => {
            return accept(
                sys,
                &full,
                value,
                "pacing rate ratio: only with fq/pacing, which is skipped",
            );
        }
        "tcp_fack"
        | "tcp_no_metrics_save"
        | "tcp_min_rtt_wlen"
        | "tcp_ecn_option"
        | "tcp_ecn_option_beacon"
        | "tcp_fastopen_blackhole_timeout_sec"
        | "tcp_fastopen_cookies"
        | "tcp_tw_reuse"
        | "tcp_invalid_ratelimit"
        | "tcp_comp_sack_delay_ns"
        | "tcp_comp_sack_nr"
        | "tcp_comp_sack_slack_ns"
        | "tcp_workaround_signed_windows"
        | "tcp_app_win"
        | "tcp_adv_win_scale"
        | "tcp_l3mdev_accept"
        | "tcp_migrate_req"
        | "tcp_stdurg"
        | "tcp_max_orphans"
        | "tcp_max_tw_buckets"
        | "tcp_rto_min_us"
        | "tcp_pingpong_thresh"
        | "tcp_backlog_ack_defer"
        | "tcp_child_ehash_entries"
        | "tcp_plb_enabled"
        | "tcp_mem"
        | "tcp_ehash_entries"
        | "tcp_syn_linear_timeouts" => {
            return accept(sys, &full, value, "no counterpart in the core");
        }
        "ip_local_port_range" => {
            return accept(sys, &full, value, "ephemeral ports are the runner's");
        }
        _ => return Effect::Unknown,
    }
    Effect::Ok
}

fn freebsd_tcp(
    t: &str,
    value: &str,
    v: u64,
    cfg: &mut Config,
    ep: &mut EndpointConfig,
    sys: &mut Sysctls,
) -> Effect {
    let full = format!("net.inet.tcp.{t}");
    let ms = Duration::from_millis;
    match t {
        "rfc1323" => {
            cfg.timestamps = v != 0;
            cfg.window_scaling = v != 0;
        }
        "sack.enable" => cfg.sack = v != 0,
        "recvspace" => {
            sys.recvspace = v;
            cfg.recv_buffer = v as usize;
        }
        "sendspace" => {
            sys.sendspace = v;
            cfg.send_buffer = v as usize;
        }
        "delacktime" => cfg.ack_policy = AckPolicy::Delayed { delay: ms(v) },
        "rexmit_initial" => cfg.initial_rto = ms(v),
        "rexmit_min" => cfg.min_rto = ms(v),
        "keepidle" => sys.keepalive.idle = ms(v),
        "keepintvl" => sys.keepalive.interval = ms(v),
        "keepcnt" => sys.keepalive.count = v as u32,
        "keepinit" => sys.keepinit_ms = v,
        "syncookies" => {
            if v == 0 {
                ep.syncookies = SynCookies::Never;
            } else if ep.syncookies == SynCookies::Never {
                ep.syncookies = SynCookies::OnOverflow;
            }
        }
        "syncookies_only" => {
            if v != 0 {
                ep.syncookies = SynCookies::Always;
            } else if ep.syncookies == SynCookies::Always {
                ep.syncookies = SynCookies::OnOverflow;
            }
        }
        "icmp_may_rst" => cfg.icmp_may_reset = v != 0,
        "ecn.enable" => {
            sys.ecn = v;
            cfg.ecn = match v {
                0 => EcnMode::Off,
                1 => EcnMode::On,
                2 => EcnMode::Passive,
                _ => {
                    return skip(&full, value, "AccECN (ecn.enable 3 and above) not in core");
                }
            };
        }
        "fastopen.client_enable" | "fastopen.server_enable" => {
            if v != 0 {
                sys.fastopen |= if t.starts_with("fastopen.client") {
                    1
                } else {
                    2
                };
            }
        }
        "udp_tunneling_port" => sys.udp_tunneling_port = v,
        // RFC 5961 §3.2 / §4.2 checks off (tcp_do_segment's V_tcp_insecure_rst/_syn).
        "insecure_rst" => cfg.rst_challenge = v == 0,
        "insecure_syn" => cfg.syn_challenge = v == 0,
        "drop_synfin" => cfg.drop_synfin = v != 0,
        "blackhole" => {
            if v != 0 {
                return skip(
                    &full,
                    value,
                    "no RST for segments to closed ports: no knob in core",
                );
            }
        }
        "rexmit_drop_options" => {
            if v != 0 {
                return skip(
                    &full,
                    value,
                    "SYN retransmissions without options: not in core",
                );
            }
        }
        "tolerate_missing_ts" => cfg.require_timestamps = v == 0,
        "path_mtu_discovery" | "pmtud_blackhole_detection" => {
            if v != 0 && t == "pmtud_blackhole_detection" {
                return skip(&full, value, "PMTU black hole detection not in core");
            }
        }
        "mssdflt" | "v6mssdflt" => {
            let default = if t == "mssdflt" { 536 } else { 1220 };
            if v != default {
                return skip(
                    &full,
                    value,
                    "default MSS without an MSS option is fixed in core",
                );
            }
        }
        "rexmit_slop" => {
            return accept(
                sys,
                &full,
                value,
                "FreeBSD's RTO slop (RTO = srtt + 4*rttvar + slop) has no core knob; the core uses min_rto",
            );
        }
        "hostcache.purgenow"
        | "hostcache.enable"
        | "udp_tunneling_overhead"
        | "pmtud_blackhole_mss"
        | "v6pmtud_blackhole_mss"
        | "functions_default" => {
            return accept(sys, &full, value, "no counterpart in the core");
        }
        _ => return Effect::Unknown,
    }
    Effect::Ok
}
