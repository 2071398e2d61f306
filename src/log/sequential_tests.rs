//! The sequential parsers' test helpers (`summary`: one line per build) and `sequential`'s own tests.

use serde::Serialize;

use super::*;
use crate::log::model::Step;

/// One line per build for the parsers' unit tests: `result [error] | k/n status [id] [out=N] …`.
pub fn summary(log: &str) -> String {
    let parsed = crate::log::parse_bytes(log.as_bytes());
    let builds = parsed.builds.iter().map(|b| {
        let mut s = spelled(b.result);
        if let Some(e) = &b.error {
            s += &format!(" err={e:?}");
        }
        if let Some(image) = &b.image {
            s += &format!(
                " image={}{}",
                image.id.as_deref().unwrap_or("-"),
                image.tags.iter().map(|t| format!(" tag={t}")).collect::<String>()
            );
        }
        for p in &b.problems {
            s += &format!(" problem={:?}", p.message);
        }
        for st in &b.steps {
            s += &step_summary(st);
        }
        s
    });
    builds.collect::<Vec<_>>().join(" || ")
}

fn step_summary(st: &Step) -> String {
    let n = st.n.map_or("-".to_string(), |n| n.to_string());
    let index = st.stage_index.map_or(String::new(), |i| format!("[{i}]"));
    let stage = st.stage.as_deref().map_or(String::new(), |s| format!("{s}:"));
    let mut s = format!(" | {index}{stage}{}/{n} {}", st.k.unwrap_or(0), spelled(st.status));
    if let Some(id) = &st.image_id {
        s += &format!(" id={id}");
    }
    if st.output.lines > 0 {
        s += &format!(" out={}", st.output.lines);
    }
    if let Some(code) = st.exit_code {
        s += &format!(" exit={code}");
    }
    if let Some(e) = &st.error {
        s += &format!(" err={e:?}");
    }
    for w in &st.warnings {
        s += &format!(" warn={w:?}");
    }
    s
}

/// An enum as the JSON schema spells it.
fn spelled(value: impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

#[test]
fn helpers() {
    assert_eq!(shown(b"50%\r100%"), b"100%");
    assert_eq!(shown(b"a\r"), b"a\r");
    assert_eq!(number(b"12/3"), Some((12, &b"/3"[..])));
    assert_eq!(number(b"9999999999"), None);
    assert_eq!(keyword(b"run echo"), Some("RUN"));
    assert_eq!(keyword(b"Running"), None);
    assert!(is_image_id(b"02434731010d"));
    assert!(is_image_id(b"sha256:0246c1e5ab4fa6a62d2fe8b3e0ba1a47e0cb2eb1b6e2e1f1a7c0d1f4a1a3b5c7"));
    assert!(!is_image_id(b"Using cache"));
    assert_eq!(trailing_code(b"x returned a non-zero code: 3", b"non-zero code: "), Some(3));
    assert_eq!(trailing_code(b"exit status 3x", b"exit status "), None);
    let mut line = Line::synthetic(b"", 0, 0);
    line.time = Some(b"2024-02-16 02:29:15.118Z");
    assert_eq!(rfc3339(&line).as_deref(), Some("2024-02-16T02:29:15.118Z"));
}

/// Lines of both formats in any order, plus hostile near-misses: parsing never panics, and the
/// chunked parse agrees with the whole one.
const VOCABULARY: [&str; 25] = [
    "Step 1/2 : FROM a",
    "Step 2/2 : RUN x",
    "Step 4294967295/4294967295 : RUN x",
    "Step 7 : COPY a b",
    " ---> 0123456789ab",
    " ---> Using cache",
    " ---> [Warning] w",
    " ---> ",
    "Successfully built 0123456789ab",
    "Successfully tagged t",
    "The command 'x' returned a non-zero code: 99999999999",
    "Build cancelled",
    "COPY failed: x",
    "Sending build context to Docker daemon  2kB\r\r",
    "DEPRECATED: The legacy builder is deprecated",
    "[1/2] STEP 1/2: FROM a AS b",
    "[2/2] STEP 2/2: RUN x",
    "[2/2] STEP 1/2: COPY --from=b /x /y",
    "[1/1] COMMIT",
    "--> Using cache 0123456789abcdef",
    "--> 0123456789a",
    "Error: building at STEP \"RUN x\": exit status -1",
    "time=\"t\" level=warning msg=\"",
    "WARN[",
    "",
];

proptest::proptest! {
    #[test]
    fn any_sequence_of_builder_lines(picks in proptest::collection::vec(0usize..VOCABULARY.len() + 1, 0..40)) {
        let log: String = picks.iter().map(|&i| VOCABULARY.get(i).copied().unwrap_or("random output é\u{1b}[91m")).collect::<Vec<_>>().join("\n");
        let whole = crate::log::parse_bytes(log.as_bytes());
        let mut parser = crate::log::LogParser::new();
        for c in log.as_bytes().chunks(3) {
            parser.feed(c);
        }
        proptest::prop_assert_eq!(parser.finish(), whole);
    }
}
