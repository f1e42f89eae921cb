//! A tcptrace-style time-sequence graph rendered to SVG from a [`Trace`].
//!
//! Seen from the sender: x is virtual time, y the sequence number relative to the ISN.
//! Each data segment the sender transmits is a vertical bar from its first to its last
//! sequence number (blue; retransmissions red and circled); segments the link dropped get an orange
//! cross; the cumulative ACK the sender receives is a green step line, the right edge of
//! the advertised receive window (ACK + scaled window) an olive step line, and SACK blocks
//! purple bars at the time their ACK arrived.

use std::fmt::Write as _;

use super::packet::{ACK, FlowKey, SYN, TcpSummary, seq_lt};
use super::{NodeId, Trace, TraceKind};

/// Size and title of the plot.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Title (default: the flow's addresses and ports).
    pub title: Option<String>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 1200,
            height: 800,
            title: None,
        }
    }
}

/// Colour of original data segments.
pub const DATA_COLOUR: &str = "#1f3fbf";
/// Colour of retransmitted data segments.
pub const REXMIT_COLOUR: &str = "#d62728";
/// Colour of drop markers.
pub const DROP_COLOUR: &str = "#ff7f0e";
/// Colour of the ACK line.
pub const ACK_COLOUR: &str = "#2ca02c";
/// Colour of the receive-window line.
pub const RWND_COLOUR: &str = "#bcbd22";
/// Colour of SACK blocks.
pub const SACK_COLOUR: &str = "#9467bd";

struct Segment {
    t: f64,
    start: f64,
    end: f64,
    rexmit: bool,
}

struct AckPoint {
    t: f64,
    ack: f64,
    edge: f64,
    sacks: Vec<(f64, f64)>,
}

/// The flow (sender → receiver) that carried the most payload sent by `sender`.
pub fn main_flow(trace: &Trace, sender: NodeId) -> Option<FlowKey> {
    let mut bytes: Vec<(FlowKey, u64)> = Vec::new();
    for e in trace
        .events
        .iter()
        .filter(|e| e.node == sender && e.kind == TraceKind::Sent)
    {
        match bytes.iter_mut().find(|(k, _)| *k == e.tcp.flow) {
            Some((_, b)) => *b += u64::from(e.tcp.payload_len),
            None => bytes.push((e.tcp.flow, u64::from(e.tcp.payload_len))),
        }
    }
    bytes.into_iter().max_by_key(|&(_, b)| b).map(|(k, _)| k)
}

/// Renders the time-sequence graph of the main flow `sender` sent.
pub fn time_sequence_svg(trace: &Trace, sender: NodeId, opts: &PlotOptions) -> String {
    let Some(flow) = main_flow(trace, sender) else {
        return empty_svg(opts, "no TCP data in trace");
    };
    let rev = flow.reverse();
    let sent: Vec<&TcpSummary> = trace
        .events
        .iter()
        .filter(|e| e.node == sender && e.kind == TraceKind::Sent && e.tcp.flow == flow)
        .map(|e| &e.tcp)
        .collect();
    let syn = sent.iter().find(|t| t.has(SYN));
    let isn = syn.map_or_else(
        || {
            sent.iter()
                .map(|t| t.seq)
                .fold(sent[0].seq, |a, s| if seq_lt(s, a) { s } else { a })
        },
        |t| t.seq,
    );
    let peer_syn = trace
        .events
        .iter()
        .find(|e| {
            e.node == sender && e.kind == TraceKind::Received && e.tcp.flow == rev && e.tcp.has(SYN)
        })
        .map(|e| e.tcp);
    let wscale = match (syn.and_then(|t| t.wscale), peer_syn.and_then(|t| t.wscale)) {
        (Some(_), Some(peer)) => u32::from(peer.min(14)),
        _ => 0,
    };
    let rel = |s: u32| f64::from(s.wrapping_sub(isn));
    let t0 = trace.events.first().map_or(0, |e| e.at.as_micros());
    let secs = |at: tcp_core::time::Instant| at.as_micros().saturating_sub(t0) as f64 / 1e6;

    let mut segments = Vec::new();
    let mut drops = Vec::new();
    let mut acks = Vec::new();
    let mut high: Option<u32> = None;
    for e in &trace.events {
        let t = &e.tcp;
        if e.node != sender {
            continue;
        }
        match e.kind {
            TraceKind::Sent if t.flow == flow && t.payload_len > 0 => {
                let end = t.seq.wrapping_add(t.payload_len);
                let rexmit = high.is_some_and(|h| seq_lt(t.seq, h));
                if high.is_none_or(|h| seq_lt(h, end)) {
                    high = Some(end);
                }
                segments.push(Segment {
                    t: secs(e.at),
                    start: rel(t.seq),
                    end: rel(end),
                    rexmit,
                });
            }
            TraceKind::Dropped(_) if t.flow == flow && t.payload_len > 0 => {
                drops.push((secs(e.at), rel(t.seq) + f64::from(t.payload_len) / 2.0));
            }
            TraceKind::Received if t.flow == rev && t.flags & ACK != 0 && !t.has(SYN) => {
                let scale = if t.has(SYN) { 0 } else { wscale };
                let ack = rel(t.ack);
                acks.push(AckPoint {
                    t: secs(e.at),
                    ack,
                    edge: ack + f64::from(u32::from(t.window)) * f64::from(1u32 << scale),
                    sacks: t
                        .sack_blocks()
                        .iter()
                        .map(|&(l, r)| (rel(l), rel(r)))
                        .collect(),
                });
            }
            _ => {}
        }
    }
    let t_max = trace.events.last().map_or(1.0, |e| secs(e.at)).max(1e-6);
    let y_max = segments
        .iter()
        .map(|s| s.end)
        .chain(acks.iter().map(|a| a.edge))
        .fold(1.0f64, f64::max);

    let (w, h) = (f64::from(opts.width), f64::from(opts.height));
    let (left, right, top, bottom) = (90.0, 20.0, 40.0, 50.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let x = |t: f64| left + t / t_max * pw;
    let y = |s: f64| top + ph - s / y_max * ph;

    let mut svg = String::with_capacity(200 + segments.len() * 80 + acks.len() * 30);
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" \
         font-family=\"sans-serif\" font-size=\"12\">",
        opts.width, opts.height, opts.width, opts.height
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "{}:{} \u{2192} {}:{} time-sequence",
            flow.src, flow.sport, flow.dst, flow.dport
        )
    });
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
        w / 2.0,
        escape(&title)
    );
    // Axes and ticks.
    let _ = writeln!(
        svg,
        "<g class=\"axes\" stroke=\"black\"><line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\"/></g>",
        top + ph,
        left + pw,
        top + ph,
        top + ph
    );
    for i in 0..=5 {
        let f = f64::from(i) / 5.0;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.3} s</text>",
            x(f * t_max),
            top + ph + 18.0,
            f * t_max
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y(f * y_max) + 4.0,
            human_bytes(f * y_max)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time</text>",
        left + pw / 2.0,
        h - 10.0
    );
    let _ = writeln!(
        svg,
        "<text x=\"14\" y=\"{0}\" transform=\"rotate(-90 14 {0})\" text-anchor=\"middle\">sequence number (relative)</text>",
        top + ph / 2.0
    );

    // Window and ACK step lines.
    for (class, colour, pick) in [
        (
            "rwnd",
            RWND_COLOUR,
            (|a: &AckPoint| a.edge) as fn(&AckPoint) -> f64,
        ),
        ("ack", ACK_COLOUR, |a: &AckPoint| a.ack),
    ] {
        if acks.is_empty() {
            continue;
        }
        let _ = write!(
            svg,
            "<polyline class=\"{class}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1\" points=\""
        );
        let mut prev: Option<f64> = None;
        for a in &acks {
            let v = pick(a);
            if let Some(p) = prev {
                let _ = write!(svg, "{:.1},{:.1} ", x(a.t), y(p));
            }
            let _ = write!(svg, "{:.1},{:.1} ", x(a.t), y(v));
            prev = Some(v);
        }
        if let Some(p) = prev {
            let _ = write!(svg, "{:.1},{:.1}", x(t_max), y(p));
        }
        svg.push_str("\"/>\n");
    }
    for a in &acks {
        for &(l, r) in &a.sacks {
            let _ = writeln!(
                svg,
                "<line class=\"sack\" x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{SACK_COLOUR}\" stroke-width=\"3\"/>",
                x(a.t),
                y(l),
                y(r)
            );
        }
    }
    // Original transmissions first, retransmissions on top of them.
    for rexmit in [false, true] {
        for s in segments.iter().filter(|s| s.rexmit == rexmit) {
            let (class, colour, width) = if s.rexmit {
                ("rexmit", REXMIT_COLOUR, 2.5)
            } else {
                ("data", DATA_COLOUR, 1.5)
            };
            let _ = writeln!(
                svg,
                "<line class=\"{class}\" x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{colour}\" stroke-width=\"{width}\"/>",
                x(s.t),
                y(s.start),
                y(s.end)
            );
            if s.rexmit {
                // A marker so a one-segment retransmission stays visible on a long run.
                let _ = writeln!(
                    svg,
                    "<circle class=\"rexmit-mark\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"none\" stroke=\"{REXMIT_COLOUR}\"/>",
                    x(s.t),
                    y((s.start + s.end) / 2.0)
                );
            }
        }
    }
    for &(t, mid) in &drops {
        let (cx, cy) = (x(t), y(mid));
        let _ = writeln!(
            svg,
            "<path class=\"drop\" d=\"M{:.1},{:.1}L{:.1},{:.1}M{:.1},{:.1}L{:.1},{:.1}\" stroke=\"{DROP_COLOUR}\" stroke-width=\"1.5\"/>",
            cx - 4.0,
            cy - 4.0,
            cx + 4.0,
            cy + 4.0,
            cx - 4.0,
            cy + 4.0,
            cx + 4.0,
            cy - 4.0
        );
    }
    // Legend.
    let items = [
        ("data", DATA_COLOUR),
        ("retransmission", REXMIT_COLOUR),
        ("dropped", DROP_COLOUR),
        ("ACK", ACK_COLOUR),
        ("receive window", RWND_COLOUR),
        ("SACK", SACK_COLOUR),
    ];
    let _ = writeln!(svg, "<g class=\"legend\">");
    for (i, (name, colour)) in items.iter().enumerate() {
        let ly = top + 10.0 + i as f64 * 16.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
             <text x=\"{2}\" y=\"{3}\">{name}</text>",
            left + 10.0,
            left + 30.0,
            left + 36.0,
            ly + 4.0
        );
    }
    let _ = writeln!(svg, "</g>");
    svg.push_str("</svg>\n");
    svg
}

fn empty_svg(opts: &PlotOptions, msg: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n\
         <text x=\"20\" y=\"40\">{2}</text>\n</svg>\n",
        opts.width,
        opts.height,
        escape(msg)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn human_bytes(v: f64) -> String {
    if v >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / 1024.0 / 1024.0)
    } else if v >= 1024.0 {
        format!("{:.0} KiB", v / 1024.0)
    } else {
        format!("{v:.0} B")
    }
}
