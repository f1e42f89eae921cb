//! The time-sequence SVG of a run with one loss shows data, the retransmission, the drop,
//! the ACK and window lines and SACK blocks.

use tcp_core::time::Duration;
use tcp_tests::sim::RunOutcome;
use tcp_tests::sim::bulk::{BulkRun, BulkSetup, Stack};
use tcp_tests::sim::link::{LinkConfig, ScriptedFault};
use tcp_tests::sim::plot::{PlotOptions, time_sequence_svg};

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

#[test]
fn svg_of_a_run_with_one_loss_marks_the_drop_and_the_retransmission() {
    let svg = one_loss_svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("class=\"drop\"").count(), 1);
    assert!(svg.matches("class=\"rexmit\"").count() >= 1);
    assert!(
        svg.matches("class=\"data\"").count() >= 68,
        "100 kB is 69 segments"
    );
    assert_eq!(svg.matches("class=\"ack\"").count(), 1, "one ACK polyline");
    assert_eq!(
        svg.matches("class=\"rwnd\"").count(),
        1,
        "one window polyline"
    );
    assert!(
        svg.contains("class=\"sack\""),
        "the receiver SACKs the hole"
    );
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
