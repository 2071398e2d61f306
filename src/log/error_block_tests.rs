//! Unit tests of the failure report reader: events per line, final lines, snippets.

use super::*;

fn events(lines: &[&str]) -> Vec<Event> {
    let mut block = ErrorBlock::default();
    lines.iter().filter_map(|l| block.feed(l.as_bytes(), false)).collect()
}

fn check_final(line: &str, failed: bool, expected: Option<&str>) {
    assert_eq!(final_error(line.as_bytes(), failed).as_deref(), expected, "{line}");
}

#[test]
fn final_lines() {
    check_final(
        "ERROR: failed to solve: process \"/bin/sh -c x\" did not complete successfully: exit code: 1",
        false,
        Some("ERROR: failed to solve: process \"/bin/sh -c x\" did not complete successfully: exit code: 1"),
    );
    check_final("ERROR: failed to build: failed to solve: x", false, Some("ERROR: failed to build: failed to solve: x"));
    check_final(
        "error: failed to solve: rpc error: code = Unknown desc = x",
        false,
        Some("error: failed to solve: rpc error: code = Unknown desc = x"),
    );
    check_final(
        "executor failed running [/bin/sh -c exit 3]: exit code: 3",
        false,
        Some("executor failed running [/bin/sh -c exit 3]: exit code: 3"),
    );
    check_final(
        "failed to solve with frontend dockerfile.v0: failed to create LLB definition: x",
        false,
        Some("failed to solve with frontend dockerfile.v0: failed to create LLB definition: x"),
    );
    check_final(
        "failed to solve: process \"x\" did not complete successfully: exit code: 2",
        false,
        Some("failed to solve: process \"x\" did not complete successfully: exit code: 2"),
    );
    check_final("Target web: failed to solve: x", false, Some("Target web: failed to solve: x"));
    check_final(
        "target api: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF",
        false,
        Some("target api: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF"),
    );
    check_final("failed to receive status: rpc error: x", false, Some("failed to receive status: rpc error: x"));
    check_final("target: failed to x", false, None);
    check_final("target a b: failed to x", false, None);
    check_final("targets were built", true, None);
    check_final(
        "##[error]buildx failed with: ERROR: failed to solve: x",
        false,
        Some("##[error]buildx failed with: ERROR: failed to solve: x"),
    );
    check_final(
        "failed to compute cache key: \"/x\" not found: not found",
        true,
        Some("failed to compute cache key: \"/x\" not found: not found"),
    );
    check_final("failed to compute cache key: \"/x\" not found: not found", false, None);
    check_final("error: exit status 1", true, None);
    check_final("Everything fine", true, None);
    check_final("", true, None);
}

#[test]
fn exit_codes() {
    assert_eq!(exit_code("executor failed running [x]: exit code: 3"), Some(3));
    assert_eq!(exit_code("did not complete successfully: exit code: 100"), Some(100));
    assert_eq!(exit_code("exit code: 99999999999999"), None);
    assert_eq!(exit_code("not found"), None);
    assert_eq!(strip_annotation("##[error]buildx failed with: ERROR: x"), "ERROR: x");
}

#[test]
fn summary_block_and_snippet() {
    let got = events(&[
        "------",
        " > [2/3] RUN make:",
        "#9 0.045 checking",
        "41.01 Import trace:",
        "------",
        "Dockerfile:83",
        "--------------------",
        "  82 |     # comment",
        "  83 | >>> RUN a && \\",
        "  84 | >>>     b",
        "  85 |",
        "--------------------",
        "ERROR: failed to solve: x",
        "random prose",
    ]);
    assert_eq!(
        got,
        vec![
            Event::Taken,
            Event::Vertex("[2/3] RUN make".into()),
            Event::BodyLine(9),
            Event::BodyLine(6),
            Event::Taken,
            Event::Taken,
            Event::Taken,
            Event::Taken,
            Event::Snippet([83, 83]),
            Event::Snippet([83, 84]),
            Event::Taken,
            Event::Taken,
            Event::Final("ERROR: failed to solve: x".into()),
        ]
    );
}

#[test]
fn snippet_head_needs_a_rule() {
    assert_eq!(events(&["Dockerfile:12", "not a rule", "  12 | >>> RUN x", "--------------------"]).len(), 1);
    assert!(is_snippet_head(b"app.Dockerfile:44"));
    assert!(!is_snippet_head(b"#4 a:1"));
    assert!(!is_snippet_head(b"see line:"));
    assert_eq!(marked_line(b"1234 | >>> x"), Some(1234));
    assert_eq!(marked_line(b"  12 |     x"), None);
}

#[test]
fn snippet_with_blank_lines_between() {
    let got =
        events(&["Dockerfile:28", "", "--------------------", "", "  27 |     ", "", "  28 | >>> FROM x", "", "--------------------", ""]);
    assert_eq!(got.iter().filter(|e| **e == Event::Snippet([28, 28])).count(), 1, "{got:?}");
}

/// A platform that drops rule lines, or a log cut inside the report: the snippet still names its `>>>`
/// lines, and the final error after it is the build's error, not snippet text.
#[test]
fn a_report_without_its_closing_rules_keeps_its_lines_and_final_error() {
    let got = events(&[
        "------",
        " > [2/2] RUN false:",
        "0.1 boom",
        "Dockerfile:2",
        "--------------------",
        "   1 |     FROM alpine",
        "   2 | >>> RUN false",
        "   3 |     ",
        "ERROR: failed to build: failed to solve: x",
    ]);
    assert!(got.contains(&Event::Snippet([2, 2])), "{got:?}");
    assert_eq!(got.last(), Some(&Event::Final("ERROR: failed to build: failed to solve: x".into())), "{got:?}");
    assert!(got.contains(&Event::BodyLine(4)), "{got:?}");
    let cut = events(&["Dockerfile:34", "--------------------", "  33 |     WORKDIR /app", "  34 | >>> RUN pip3 install x"]);
    assert_eq!(cut.last(), Some(&Event::Snippet([34, 34])), "{cut:?}");
}

#[test]
fn seconds() {
    assert_eq!(seconds_end(b"0.053 x"), Some(6));
    assert_eq!(seconds_end(b"***.54 x"), Some(7));
    assert_eq!(seconds_end(b"159.7"), Some(5));
    assert_eq!(seconds_end(b"DONE 0.1s"), None);
    assert_eq!(seconds_end(b"1.2MB / 3MB"), None);
    assert_eq!(seconds_end(b"12 x"), None);
}

#[test]
fn a_wrapped_vertex_line_opens_its_block() {
    let got = events(&["------", " > [2/2] RUN apt-get install -y     libfoo1     ", "libbar2:", "0.5 E: nope", "------"]);
    assert_eq!(
        got,
        vec![
            Event::Taken,
            Event::Taken,
            Event::Vertex("[2/2] RUN apt-get install -y     libfoo1     libbar2".into()),
            Event::BodyLine(4),
            Event::Taken
        ]
    );
    // A ` > ` line that never ends in `:` leaves the block at its closing rule.
    let got = events(&["------", " > quoted text", "more", "------", "ERROR: failed to solve: x"]);
    assert_eq!(got.last(), Some(&Event::Final("ERROR: failed to solve: x".into())));
}
