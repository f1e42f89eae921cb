//! A tcptrace-style time-sequence graph rendered to SVG from a [`Trace`] with `plotters`.
//!
//! Seen from the sender: x is virtual time, y the sequence number relative to the ISN.
//! Each data segment the sender transmits is a vertical bar from its first to its last
//! sequence number (blue; retransmissions red and circled); segments the link dropped get an orange
//! cross; the cumulative ACK the sender receives is a green step line, the right edge of
//! the advertised receive window (ACK + scaled window) an olive step line, and SACK blocks
//! purple bars at the time their ACK arrived. The legend shows each colour as a filled box,
//! so every line, cross and circle of a colour in the SVG is a mark of the plot.

use plotters::prelude::*;

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
pub const DATA_COLOUR: RGBColor = RGBColor(0x1f, 0x3f, 0xbf);
/// Colour of retransmitted data segments.
pub const REXMIT_COLOUR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
/// Colour of drop markers.
pub const DROP_COLOUR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// Colour of the ACK line.
pub const ACK_COLOUR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
/// Colour of the receive-window line.
pub const RWND_COLOUR: RGBColor = RGBColor(0xbc, 0xbd, 0x22);
/// Colour of SACK blocks.
pub const SACK_COLOUR: RGBColor = RGBColor(0x94, 0x67, 0xbd);

/// How the SVG writes `colour` in its `stroke` and `fill` attributes (`#RRGGBB`), for
/// finding a plot's marks in the SVG text.
pub fn svg_colour(colour: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2)
}

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

    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "{}:{} \u{2192} {}:{} time-sequence",
            flow.src, flow.sport, flow.dst, flow.dport
        )
    });
    let marks = Marks {
        segments,
        drops,
        acks,
        t_max,
        y_max,
    };
    let mut svg = String::new();
    match draw(&mut svg, opts, &title, &marks) {
        Ok(()) => svg,
        Err(e) => empty_svg(opts, &format!("cannot draw the plot: {e}")),
    }
}

/// What the plot shows, in seconds and relative sequence numbers.
struct Marks {
    segments: Vec<Segment>,
    drops: Vec<(f64, f64)>,
    acks: Vec<AckPoint>,
    t_max: f64,
    y_max: f64,
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A step line through `(t, v)`: horizontal until the next point, then vertical.
fn steps(acks: &[AckPoint], t_max: f64, pick: fn(&AckPoint) -> f64) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(acks.len() * 2 + 1);
    let mut prev: Option<f64> = None;
    for a in acks {
        let v = pick(a);
        if let Some(p) = prev {
            points.push((a.t, p));
        }
        points.push((a.t, v));
        prev = Some(v);
    }
    if let Some(p) = prev {
        points.push((t_max, p));
    }
    points
}

/// A legend entry: a filled box of the series' colour.
fn legend_box(colour: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], colour.filled())
}

fn draw(svg: &mut String, opts: &PlotOptions, title: &str, m: &Marks) -> DrawResult {
    let root = SVGBackend::with_string(svg, (opts.width, opts.height)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..m.t_max, 0f64..m.y_max)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time")
        .y_desc("sequence number (relative)")
        .label_style(("sans-serif", 14))
        .x_label_formatter(&|t| format!("{t:.3} s"))
        .y_label_formatter(&|v| human_bytes(*v))
        .draw()?;

    // Window and ACK step lines.
    for (name, colour, pick) in [
        (
            "receive window",
            RWND_COLOUR,
            (|a: &AckPoint| a.edge) as fn(&AckPoint) -> f64,
        ),
        ("ACK", ACK_COLOUR, |a: &AckPoint| a.ack),
    ] {
        let points = if m.acks.is_empty() {
            Vec::new()
        } else {
            steps(&m.acks, m.t_max, pick)
        };
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(1)))?
            .label(name)
            .legend(legend_box(colour));
    }
    chart
        .draw_series(m.acks.iter().flat_map(|a| {
            a.sacks.iter().map(move |&(l, r)| {
                PathElement::new(vec![(a.t, l), (a.t, r)], SACK_COLOUR.stroke_width(3))
            })
        }))?
        .label("SACK")
        .legend(legend_box(SACK_COLOUR));
    // Original transmissions first, retransmissions on top of them.
    chart
        .draw_series(m.segments.iter().filter(|s| !s.rexmit).map(|s| {
            PathElement::new(
                vec![(s.t, s.start), (s.t, s.end)],
                DATA_COLOUR.stroke_width(1),
            )
        }))?
        .label("data")
        .legend(legend_box(DATA_COLOUR));
    chart
        .draw_series(m.segments.iter().filter(|s| s.rexmit).map(|s| {
            PathElement::new(
                vec![(s.t, s.start), (s.t, s.end)],
                REXMIT_COLOUR.stroke_width(2),
            )
        }))?
        .label("retransmission")
        .legend(legend_box(REXMIT_COLOUR));
    // A marker so a one-segment retransmission stays visible on a long run.
    chart.draw_series(m.segments.iter().filter(|s| s.rexmit).map(|s| {
        Circle::new(
            (s.t, (s.start + s.end) / 2.0),
            3,
            REXMIT_COLOUR.stroke_width(1),
        )
    }))?;
    chart
        .draw_series(
            m.drops
                .iter()
                .map(|&(t, mid)| Cross::new((t, mid), 4, DROP_COLOUR.stroke_width(2))),
        )?
        .label("dropped")
        .legend(legend_box(DROP_COLOUR));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

fn empty_svg(opts: &PlotOptions, msg: &str) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (opts.width, opts.height)).into_drawing_area();
        // Drawing text into a String cannot fail.
        let _ = root.draw(&Text::new(msg, (20, 40), ("sans-serif", 12)));
        let _ = root.present();
    }
    svg
}

/// Decimal units, so that the round tick values plotters picks print as round numbers.
fn human_bytes(v: f64) -> String {
    if v >= 1e6 {
        format!("{} MB", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{} kB", trim(v / 1e3))
    } else {
        format!("{v:.0} B")
    }
}

/// `v` with up to two decimals, without trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short_decimal_byte_counts() {
        assert_eq!(human_bytes(0.0), "0 B");
        assert_eq!(human_bytes(500.0), "500 B");
        assert_eq!(human_bytes(50_000.0), "50 kB");
        assert_eq!(human_bytes(2_500_000.0), "2.5 MB");
        assert_eq!(human_bytes(1_250_000.0), "1.25 MB");
    }
}
