//! The variables a code block sees: `TCP_INFO` fields and symbolic constants.
//!
//! packetdrill's `code.c` writes, before each block, one assignment per `struct tcp_info`
//! field it knows (Linux: `write_tcp_info`; FreeBSD: the FreeBSD fields) and the symbolic
//! names of states and option bits. Here each field is either computed from the core's
//! [`tcp_core::Info`] (and the runner's own view of the wire, for times the core does not
//! keep) or marked unknown with the missing core feature, so a block that reads it SKIPs
//! with that reason while blocks that do not read it still run.

use super::Profile;
use super::python::{Lookup, Value};
use tcp_core::conn::TcpInfo;
use tcp_core::{Info, State};

/// What the runner saw on the wire for the socket under test (times in µs of script
/// time), for fields the core does not keep.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WireTimes {
    /// Last data (or handshake-completing) segment received.
    pub last_data_recv: Option<u64>,
    /// Last data segment sent.
    pub last_data_sent: Option<u64>,
    /// Last ACK received.
    pub last_ack_recv: Option<u64>,
    /// The MSS option of our SYN or SYN-ACK.
    pub advmss: Option<u16>,
}

fn v(x: i128) -> Lookup {
    Lookup::Value(Value::Int(x))
}

fn unknown(field: &str, why: &str) -> Lookup {
    Lookup::Unknown(format!("{field}: {why}"))
}

/// Linux's numeric TCP state (`include/net/tcp_states.h`).
pub(super) fn linux_state(s: State) -> i128 {
    use State::*;
    match s {
        Established => 1,
        SynSent => 2,
        SynRcvd => 3,
        FinWait1 => 4,
        FinWait2 => 5,
        TimeWait => 6,
        Closed => 7,
        CloseWait => 8,
        LastAck => 9,
        Listen => 10,
        Closing => 11,
    }
}

/// FreeBSD's numeric TCP state (`netinet/tcp_fsm.h`, `TCPS_*`).
pub(super) fn freebsd_state(s: State) -> i128 {
    use State::*;
    match s {
        Closed => 0,
        Listen => 1,
        SynSent => 2,
        SynRcvd => 3,
        Established => 4,
        CloseWait => 5,
        FinWait1 => 6,
        Closing => 7,
        LastAck => 8,
        FinWait2 => 9,
        TimeWait => 10,
    }
}

/// The symbolic constants packetdrill defines for a platform.
pub(super) fn constants(profile: Profile) -> Vec<(String, Lookup)> {
    let mut c: Vec<(&str, i128)> = Vec::new();
    match profile {
        Profile::Linux => {
            c.extend([
                ("TCP_ESTABLISHED", 1),
                ("TCP_SYN_SENT", 2),
                ("TCP_SYN_RECV", 3),
                ("TCP_FIN_WAIT1", 4),
                ("TCP_FIN_WAIT2", 5),
                ("TCP_TIME_WAIT", 6),
                ("TCP_CLOSE", 7),
                ("TCP_CLOSE_WAIT", 8),
                ("TCP_LAST_ACK", 9),
                ("TCP_LISTEN", 10),
                ("TCP_CLOSING", 11),
                ("TCP_CA_Open", 0),
                ("TCP_CA_Disorder", 1),
                ("TCP_CA_CWR", 2),
                ("TCP_CA_Recovery", 3),
                ("TCP_CA_Loss", 4),
                ("TCPI_OPT_TIMESTAMPS", 1),
                ("TCPI_OPT_SACK", 2),
                ("TCPI_OPT_WSCALE", 4),
                ("TCPI_OPT_ECN", 8),
                ("TCPI_OPT_ECN_SEEN", 16),
                ("TCPI_OPT_SYN_DATA", 32),
                ("TCPI_OPT_USEC_TS", 64),
                ("TCPI_OPT_TFO_CHILD", 128),
            ]);
        }
        Profile::FreeBsd => {
            c.extend([
                ("TCPI_CLOSED", 0),
                ("TCPI_LISTEN", 1),
                ("TCPI_SYN_SENT", 2),
                ("TCPI_SYN_RECEIVED", 3),
                ("TCPI_ESTABLISHED", 4),
                ("TCPI_CLOSE_WAIT", 5),
                ("TCPI_FIN_WAIT_1", 6),
                ("TCPI_CLOSING", 7),
                ("TCPI_LAST_ACK", 8),
                ("TCPI_FIN_WAIT_2", 9),
                ("TCPI_TIME_WAIT", 10),
                ("TCPI_OPT_TIMESTAMPS", 1),
                ("TCPI_OPT_SACK", 2),
                ("TCPI_OPT_WSCALE", 4),
                ("TCPI_OPT_ECN", 8),
                ("TCPI_OPT_TOE", 16),
            ]);
        }
    }
    c.into_iter().map(|(k, x)| (k.to_string(), v(x))).collect()
}

/// Every `tcpi_*` field for the socket's connection at `now` (µs).
pub(super) fn fields(
    profile: Profile,
    info: &Info,
    wire: &WireTimes,
    now: u64,
    reordering: u64,
) -> Vec<(String, Lookup)> {
    let us = |d: tcp_core::Duration| {
        i128::try_from(d.as_micros())
            .unwrap_or(i128::MAX)
            .min(i128::from(u32::MAX))
    };
    let ts_bytes = if info.timestamps { 12 } else { 0 };
    let mss = i128::from(info.snd_mss.saturating_sub(ts_bytes).max(1));
    let since_ms = |t: Option<u64>| t.map(|t| i128::from(now.saturating_sub(t) / 1000));
    let core = "the core's Info does not report it";
    let mut f: Vec<(&str, Lookup)> = Vec::new();
    let state = match profile {
        Profile::Linux => linux_state(info.state),
        Profile::FreeBsd => freebsd_state(info.state),
    };
    f.push(("tcpi_state", v(state)));
    f.push((
        "tcpi_options",
        v(i128::from(info.timestamps)
            | i128::from(info.sack) << 1
            | i128::from(info.window_scaling) << 2),
    ));
    f.push(("tcpi_snd_wscale", v(i128::from(info.snd_wscale))));
    f.push(("tcpi_rcv_wscale", v(i128::from(info.rcv_wscale))));
    f.push(("tcpi_rto", v(us(info.rto))));
    f.push(("tcpi_snd_mss", v(mss)));
    f.push(("tcpi_rcv_mss", v(i128::from(info.rcv_mss))));
    f.push((
        "tcpi_last_data_recv",
        since_ms(wire.last_data_recv)
            .map_or_else(|| unknown("tcpi_last_data_recv", "no data received yet"), v),
    ));
    f.push(("tcpi_rtt", v(info.srtt.map_or(0, us))));
    f.push(("tcpi_rttvar", v(us(info.rttvar))));
    // Linux reports snd_ssthresh in segments, TCP_INFINITE_SSTHRESH (0x7fffffff) until
    // the first reduction.
    let ssthresh = if info.ssthresh >= 0x7fff_ffff {
        0x7fff_ffff
    } else {
        i128::from(info.ssthresh) / mss
    };
    f.push(("tcpi_snd_ssthresh", v(ssthresh)));
    f.push(("tcpi_snd_cwnd", v(i128::from(info.cwnd_segments))));
    f.push(("tcpi_snd_wnd", v(i128::from(info.snd_wnd))));
    f.push(("tcpi_rcv_wnd", v(i128::from(info.rcv_wnd))));
    if profile == Profile::FreeBsd {
        f.push(("tcpi_rcv_space", unknown("tcpi_rcv_space", core)));
        f.push(("tcpi_snd_bwnd", v(0)));
        f.push(("tcpi_snd_nxt", unknown("tcpi_snd_nxt", core)));
        f.push(("tcpi_rcv_nxt", unknown("tcpi_rcv_nxt", core)));
        f.push(("tcpi_toe_tid", v(0)));
        f.push(("tcpi_snd_rexmitpack", v(i128::from(info.stats.retransmits))));
        f.push(("tcpi_rcv_ooopack", unknown("tcpi_rcv_ooopack", core)));
        f.push(("tcpi_snd_zerowin", unknown("tcpi_snd_zerowin", core)));
    } else {
        f.push((
            "tcpi_ca_state",
            if info.ca_state_recovery {
                v(3)
            } else {
                unknown(
                    "tcpi_ca_state",
                    "the core's Info tells Recovery from the rest, not Open/Disorder/CWR/Loss",
                )
            },
        ));
        f.push(("tcpi_retransmits", v(i128::from(info.retransmits))));
        f.push(("tcpi_probes", v(i128::from(info.probes))));
        f.push(("tcpi_backoff", v(i128::from(info.backoff))));
        f.push((
            "tcpi_delivery_rate_app_limited",
            unknown("tcpi_delivery_rate_app_limited", core),
        ));
        f.push(("tcpi_ato", unknown("tcpi_ato", core)));
        f.push((
            "tcpi_unacked",
            v((i128::from(info.unacked_bytes) + mss - 1) / mss),
        ));
        for name in [
            "tcpi_sacked",
            "tcpi_lost",
            "tcpi_retrans",
            "tcpi_fackets",
            "tcpi_pmtu",
            "tcpi_rcv_ssthresh",
            "tcpi_pacing_rate",
            "tcpi_max_pacing_rate",
            "tcpi_rcv_rtt",
            "tcpi_rcv_space",
            "tcpi_min_rtt",
            "tcpi_delivery_rate",
            "tcpi_busy_time",
            "tcpi_rwnd_limited",
            "tcpi_sndbuf_limited",
            "tcpi_delivered",
            "tcpi_delivered_ce",
            "tcpi_dsack_dups",
            "tcpi_reord_seen",
            "tcpi_rcv_ooopack",
            "tcpi_rehash",
            "tcpi_total_rto",
            "tcpi_total_rto_recoveries",
            "tcpi_total_rto_time",
            "tcpi_ecn_mode",
            "tcpi_accecn_opt_seen",
            "tcpi_accecn_fail_mode",
            "tcpi_options2",
            "tcpi_received_ce",
            "tcpi_delivered_e1_bytes",
            "tcpi_delivered_e0_bytes",
            "tcpi_delivered_ce_bytes",
            "tcpi_received_e1_bytes",
            "tcpi_received_e0_bytes",
            "tcpi_received_ce_bytes",
            "tcpi_data_segs_in",
            "tcpi_data_segs_out",
        ] {
            f.push((name, unknown(name, core)));
        }
        f.push((
            "tcpi_last_data_sent",
            since_ms(wire.last_data_sent)
                .map_or_else(|| unknown("tcpi_last_data_sent", "no data sent yet"), v),
        ));
        f.push((
            "tcpi_last_ack_recv",
            since_ms(wire.last_ack_recv)
                .map_or_else(|| unknown("tcpi_last_ack_recv", "no ACK received yet"), v),
        ));
        f.push(("tcpi_last_ack_sent", v(0)));
        f.push((
            "tcpi_advmss",
            wire.advmss.map_or_else(
                || unknown("tcpi_advmss", "no SYN or SYN-ACK of ours seen"),
                |m| v(i128::from(m)),
            ),
        ));
        f.push(("tcpi_reordering", v(i128::from(reordering))));
        f.push(("tcpi_total_retrans", v(i128::from(info.stats.retransmits))));
        f.push(("tcpi_bytes_acked", v(i128::from(info.stats.bytes_acked))));
        f.push((
            "tcpi_bytes_received",
            v(i128::from(info.stats.bytes_received)),
        ));
        f.push(("tcpi_bytes_sent", v(i128::from(info.stats.bytes_sent))));
        f.push((
            "tcpi_bytes_retrans",
            v(i128::from(info.stats.bytes_retrans)),
        ));
        f.push(("tcpi_segs_out", v(i128::from(info.stats.segs_out))));
        f.push(("tcpi_segs_in", v(i128::from(info.stats.segs_in))));
        f.push((
            "tcpi_notsent_bytes",
            v(i128::try_from(info.send_buffered).unwrap_or(0) - i128::from(info.unacked_bytes)),
        ));
        f.push(("tcpi_snd_wnd", v(i128::from(info.snd_wnd))));
    }
    f.into_iter().map(|(k, l)| (k.to_string(), l)).collect()
}

/// Every `tcpi_*` field of Linux's `struct tcp_info` from the core's [`TcpInfo`] (same
/// names, units and meanings). `reordering` is `net.ipv4.tcp_reordering`.
pub(super) fn linux_fields(t: &TcpInfo, reordering: u64) -> Vec<(String, Lookup)> {
    let n = |x: u64| v(i128::from(x));
    let state = t.state.map_or(7, linux_state);
    let f: Vec<(&str, Lookup)> = vec![
        ("tcpi_state", v(state)),
        ("tcpi_ca_state", n(t.ca_state as u64)),
        ("tcpi_retransmits", n(t.retransmits.into())),
        ("tcpi_probes", n(t.probes.into())),
        ("tcpi_backoff", n(t.backoff.into())),
        ("tcpi_options", n(t.options.into())),
        ("tcpi_snd_wscale", n(t.snd_wscale.into())),
        ("tcpi_rcv_wscale", n(t.rcv_wscale.into())),
        (
            "tcpi_delivery_rate_app_limited",
            n(t.delivery_rate_app_limited.into()),
        ),
        ("tcpi_rto", n(t.rto.into())),
        ("tcpi_ato", n(t.ato.into())),
        ("tcpi_snd_mss", n(t.snd_mss.into())),
        ("tcpi_rcv_mss", n(t.rcv_mss.into())),
        ("tcpi_unacked", n(t.unacked.into())),
        ("tcpi_sacked", n(t.sacked.into())),
        ("tcpi_lost", n(t.lost.into())),
        ("tcpi_retrans", n(t.retrans.into())),
        ("tcpi_fackets", n(t.fackets.into())),
        ("tcpi_last_data_sent", n(t.last_data_sent.into())),
        ("tcpi_last_ack_sent", n(t.last_ack_sent.into())),
        ("tcpi_last_data_recv", n(t.last_data_recv.into())),
        ("tcpi_last_ack_recv", n(t.last_ack_recv.into())),
        ("tcpi_pmtu", n(t.pmtu.into())),
        ("tcpi_rcv_ssthresh", n(t.rcv_ssthresh.into())),
        ("tcpi_rtt", n(t.rtt.into())),
        ("tcpi_rttvar", n(t.rttvar.into())),
        ("tcpi_snd_ssthresh", n(t.snd_ssthresh.into())),
        ("tcpi_snd_cwnd", n(t.snd_cwnd.into())),
        ("tcpi_advmss", n(t.advmss.into())),
        (
            "tcpi_reordering",
            n(reordering.max(u64::from(t.reordering))),
        ),
        ("tcpi_rcv_rtt", n(t.rcv_rtt.into())),
        ("tcpi_rcv_space", n(t.rcv_space.into())),
        ("tcpi_total_retrans", n(t.total_retrans.into())),
        ("tcpi_pacing_rate", n(t.pacing_rate)),
        ("tcpi_max_pacing_rate", n(t.max_pacing_rate)),
        ("tcpi_bytes_acked", n(t.bytes_acked)),
        ("tcpi_bytes_received", n(t.bytes_received)),
        ("tcpi_segs_out", n(t.segs_out.into())),
        ("tcpi_segs_in", n(t.segs_in.into())),
        ("tcpi_notsent_bytes", n(t.notsent_bytes.into())),
        ("tcpi_min_rtt", n(t.min_rtt.into())),
        ("tcpi_data_segs_in", n(t.data_segs_in.into())),
        ("tcpi_data_segs_out", n(t.data_segs_out.into())),
        ("tcpi_delivery_rate", n(t.delivery_rate)),
        ("tcpi_busy_time", n(t.busy_time)),
        ("tcpi_rwnd_limited", n(t.rwnd_limited)),
        ("tcpi_sndbuf_limited", n(t.sndbuf_limited)),
        ("tcpi_delivered", n(t.delivered.into())),
        ("tcpi_delivered_ce", n(t.delivered_ce.into())),
        ("tcpi_bytes_sent", n(t.bytes_sent)),
        ("tcpi_bytes_retrans", n(t.bytes_retrans)),
        ("tcpi_dsack_dups", n(t.dsack_dups.into())),
        ("tcpi_reord_seen", n(t.reord_seen.into())),
        ("tcpi_rcv_ooopack", n(t.rcv_ooopack.into())),
        ("tcpi_snd_wnd", n(t.snd_wnd.into())),
        ("tcpi_rcv_wnd", n(t.rcv_wnd.into())),
        ("tcpi_rehash", n(t.rehash.into())),
        ("tcpi_total_rto", n(t.total_rto.into())),
        (
            "tcpi_total_rto_recoveries",
            n(t.total_rto_recoveries.into()),
        ),
        ("tcpi_total_rto_time", n(t.total_rto_time.into())),
    ];
    f.into_iter().map(|(k, l)| (k.to_string(), l)).collect()
}

/// Every field marked unknown with `why` (a socket without a connection).
pub(super) fn all_unknown(profile: Profile, why: &str) -> Vec<(String, Lookup)> {
    let info = Info {
        min_rtt: None,
        delivery_rate: None,
        pacing_rate: None,
        state: State::Closed,
        srtt: None,
        rttvar: tcp_core::Duration::from_millis(0),
        rto: tcp_core::Duration::from_millis(0),
        snd_mss: 0,
        path_mtu: None,
        rcv_mss: 0,
        cwnd: 0,
        ssthresh: 0,
        cwnd_segments: 0,
        bytes_in_flight: 0,
        unacked_bytes: 0,
        retransmits: 0,
        probes: 0,
        backoff: 0,
        snd_wnd: 0,
        rcv_wnd: 0,
        snd_wscale: 0,
        rcv_wscale: 0,
        window_scaling: false,
        sack: false,
        timestamps: false,
        ecn: false,
        ecn_seen: false,
        ca_state_recovery: false,
        congestion_control: "",
        send_buffered: 0,
        recv_buffered: 0,
        ooo_bytes: 0,
        stats: Default::default(),
        ato: tcp_core::Duration::from_millis(0),
        last_data_recv: tcp_core::Instant::from_millis(0),
        quickack: false,
        rcv_ssthresh: 0,
        rcv_space: 0,
        window_clamp: 0,
        rcvbuf: 0,
        rcv_rtt: None,
    };
    fields(profile, &info, &WireTimes::default(), 0, 3)
        .into_iter()
        .map(|(k, _)| {
            let l = Lookup::Unknown(format!("{k}: {why}"));
            (k, l)
        })
        .collect()
}
