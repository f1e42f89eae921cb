//! The time-sequence SVG of a run with one loss shows data, the retransmission, the drop,
//! the ACK and window lines and SACK blocks.

use plotters::style::RGBColor;
use tcp_core::time::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::{LinkConfig, ScriptedFault};
use tcp_tests::sim::plot::{
    ACK_COLOUR, DATA_COLOUR, DROP_COLOUR, PlotOptions, REXMIT_COLOUR, RWND_COLOUR, SACK_COLOUR,
    svg_colour, time_sequence_svg,
};

fn one_loss_svg() -> String {
    let link = LinkConfig::new(Duration::from_millis(10), Some(10_000_000));
    let mut setup = BulkSetup::new(100_000, link);
    setup.forward.script = vec![ScriptedFault::DropNthData(10)];
    let mut run = BulkRun::new(Stack::Smoltcp, setup).expect("setup");
    run.world.enable_trace();
    assert_eq!(
        run.run(Duration::from_secs(60), 1_000_000),
        RunOutcome::Done
    );
    assert_eq!(run.world.link_stats(run.link, run.sender).dropped_script, 1);
    time_sequence_svg(
        run.world.trace().expect("trace"),
        run.sender,
        &PlotOptions::default(),
    )
}

/// The `<tag …>` elements of `svg` drawn in `colour` (the legend draws filled boxes, so
/// these are the plot's own marks).
fn marks(svg: &str, tag: &str, colour: RGBColor) -> usize {
    let stroke = format!("stroke=\"{}\"", svg_colour(colour));
    svg.split('<')
        .filter(|e| e.starts_with(tag) && e[tag.len()..].starts_with(' ') && e.contains(&stroke))
        .count()
}

#[test]
fn svg_of_a_run_with_one_loss_marks_the_drop_and_the_retransmission() {
    let svg = one_loss_svg();
    assert!(svg.starts_with("<svg ") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(
        marks(&svg, "line", DROP_COLOUR),
        2,
        "one drop: one cross of two lines"
    );
    assert!(marks(&svg, "polyline", REXMIT_COLOUR) >= 1);
    assert_eq!(
        marks(&svg, "circle", REXMIT_COLOUR),
        marks(&svg, "polyline", REXMIT_COLOUR),
        "every retransmission is circled"
    );
    assert!(
        marks(&svg, "polyline", DATA_COLOUR) >= 68,
        "100 kB is 69 segments"
    );
    assert_eq!(marks(&svg, "polyline", ACK_COLOUR), 1, "one ACK polyline");
    assert_eq!(
        marks(&svg, "polyline", RWND_COLOUR),
        1,
        "one window polyline"
    );
    assert!(
        marks(&svg, "polyline", SACK_COLOUR) >= 1,
        "the receiver SACKs the hole"
    );
    for legend in [
        "data",
        "retransmission",
        "dropped",
        "ACK",
        "receive window",
        "SACK",
    ] {
        assert!(
            svg.contains(&format!(">{legend}<")) || svg.contains(&format!(">\n{legend}\n<")),
            "legend entry {legend}"
        );
    }
    assert_tags_balanced(&svg);
}

#[test]
fn svg_of_an_empty_trace_says_there_is_no_data() {
    let trace = tcp_tests::sim::Trace::default();
    let svg = time_sequence_svg(&trace, tcp_tests::sim::NodeId(0), &PlotOptions::default());
    assert!(svg.starts_with("<svg") && svg.contains("no TCP data"));
}

/// Checks that every tag opened is closed in order (a well-formedness check without an XML
/// parser; attribute values in the plot never contain `<` or `>`).
fn assert_tags_balanced(svg: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().expect("tag name");
            stack.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
}

#[test]
fn tag_balance_check_rejects_unclosed_elements() {
    let r = std::panic::catch_unwind(|| assert_tags_balanced("<svg><g></svg>"));
    assert!(r.is_err());
    assert_tags_balanced("<svg><g><line/></g><text>x</text></svg>");
}
