//! Build-level facts that name a Dockerfile line: build checks' warnings (`- LegacyKeyValueFormat: …
//! (line 12)` after ` 3 warnings found (use docker --debug to expand):`, `#1 WARN: FromAsCasing: …
//! (line 3)`) and the lines a build's final error names (`dockerfile parse error on line 7`,
//! `Dockerfile:28`). Shared by every format; nothing here runs per output line.
//!
//! The warning's short form is BuildKit's `LintFormatShort`: `<Rule>: <message> (line <n>)`
//! (frontend/dockerfile/linter); buildx `printWarnings` lists them as ` - <short>`.

use super::model::{Build, LineWarning};
use super::output::text;

/// Warnings kept per build.
const MAX_WARNINGS: usize = 200;

/// ` - <short>` from buildx's warning list, when the short names a line.
pub fn listed_warning(line: &[u8]) -> Option<LineWarning> {
    let short = line.strip_prefix(b" - ").or_else(|| line.strip_prefix(b"- "))?;
    warning(short)
}

/// `<Rule>: <message> (line <n>)` or `<message> (line <n>)` → a warning on line n.
pub fn warning(short: &[u8]) -> Option<LineWarning> {
    let short = short.trim_ascii();
    let body = short.strip_suffix(b")")?;
    let open = body.windows(7).rposition(|w| w == b" (line ")?;
    let line = number(body.get(open + 7..)?)?;
    let text_part = body.get(..open)?;
    let (code, message) = match split_rule(text_part) {
        Some((rule, rest)) => (Some(text(rule)), rest),
        None => (None, text_part),
    };
    (line > 0 && !message.is_empty()).then(|| LineWarning { line, code, message: text(message) })
}

/// `LegacyKeyValueFormat: rest` → (rule, rest): a rule name is an ASCII letter then letters and digits.
fn split_rule(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = s.iter().position(|&b| b == b':')?;
    let rule = s.get(..colon)?;
    let rest = s.get(colon + 1..)?.strip_prefix(b" ")?;
    let named = rule.first().is_some_and(u8::is_ascii_uppercase) && rule.iter().all(u8::is_ascii_alphanumeric);
    named.then_some((rule, rest))
}

/// Decimal digits (at most 9) → the number.
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Adds a warning to the build unless it is there already (BuildKit prints it under its vertex and
/// buildx lists it again at the end).
pub fn add(build: &mut Build, warning: LineWarning) {
    if build.warnings.len() < MAX_WARNINGS && !build.warnings.contains(&warning) {
        build.warnings.push(warning);
    }
}

/// Adds the steps' warnings that name a line (`#1 WARN: …`, rawjson's and the Engine API's vertex
/// warnings carry BuildKit's short form) to the build's.
pub fn from_steps(build: &mut Build) {
    let found: Vec<LineWarning> = build.steps.iter().flat_map(|s| &s.warnings).filter_map(|w| warning(w.as_bytes())).collect();
    for w in found {
        add(build, w);
    }
}

/// The Dockerfile line a final error names: `dockerfile parse error on line 7` / `parse error line 7`,
/// or `<dockerfile>:7` where `<dockerfile>` is the file the build loaded (`Dockerfile` when unknown).
pub fn error_line(message: &str, dockerfile: Option<&str>) -> Option<u32> {
    for marker in ["parse error on line ", "parse error line "] {
        if let Some(at) = message.find(marker) {
            let digits: String = message[at + marker.len()..].chars().take_while(char::is_ascii_digit).collect();
            if let Some(n) = number(digits.as_bytes()).filter(|&n| n > 0) {
                return Some(n);
            }
        }
    }
    let name = dockerfile.map(|d| d.rsplit(['/', '\\']).next().unwrap_or(d)).filter(|n| !n.is_empty()).unwrap_or("Dockerfile");
    let pattern = format!("{name}:");
    message.match_indices(&pattern).find_map(|(at, _)| {
        let before = message[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '-' || c == '_') {
            return None; // a longer name that ends like this one
        }
        let digits: String = message[at + pattern.len()..].chars().take_while(char::is_ascii_digit).collect();
        number(digits.as_bytes()).filter(|&n| n > 0)
    })
}

/// Fills `error_lines` of a failed build from its final error when no snippet gave them.
pub fn fill_error_lines(build: &mut Build) {
    if build.error_lines.is_some() {
        return;
    }
    let Some(message) = build.error.as_deref() else { return };
    if let Some(n) = error_line(message, build.dockerfile.as_deref()) {
        build.error_lines = Some([n, n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: u32, code: Option<&str>, message: &str) -> Option<LineWarning> {
        Some(LineWarning { line, code: code.map(str::to_string), message: message.into() })
    }

    #[test]
    fn check_warnings_with_and_without_a_rule() {
        let legacy = r#" - LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 12)"#;
        let msg = r#""ENV key=value" should be used instead of legacy "ENV key value" format"#;
        assert_eq!(listed_warning(legacy.as_bytes()), w(12, Some("LegacyKeyValueFormat"), msg));
        assert_eq!(
            warning(b"FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 3)"),
            w(3, Some("FromAsCasing"), "'as' and 'FROM' keywords' casing do not match")
        );
        assert_eq!(
            warning(
                b"JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 40)"
            ),
            w(40, Some("JSONArgsRecommended"), "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals")
        );
        assert_eq!(warning(b"something odd happened (line 7)"), w(7, None, "something odd happened"));
        assert_eq!(warning(b"Empty continuation line found in: RUN a && b"), None, "no line: no line warning");
        assert_eq!(listed_warning(b" - a list item of some tool"), None);
        assert_eq!(warning(b"X: y (line 0)"), None);
        assert_eq!(warning(b"X: y (line 99999999999)"), None);
        assert_eq!(warning(b"(line 3)"), None);
        assert_eq!(warning(b""), None);
    }

    #[test]
    fn error_lines_from_the_final_message() {
        let parse = "ERROR: failed to solve: dockerfile parse error on line 7: unknown instruction: RUNN";
        assert_eq!(error_line(parse, None), Some(7));
        let old = "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 3: unknown";
        assert_eq!(error_line(old, Some("parseerror.Dockerfile")), Some(3));
        assert_eq!(error_line("ERROR: failed to solve: app.Dockerfile:44: unknown flag: --chmodd", Some("app.Dockerfile")), Some(44));
        assert_eq!(error_line("ERROR: failed to solve: app.Dockerfile:44: x", None), None, "another file than the one loaded");
        assert_eq!(error_line("ERROR: failed to solve: Dockerfile:9: x", Some("ci/Dockerfile")), Some(9));
        assert_eq!(error_line("ERROR: process \"make\" exit code: 2", None), None);
        assert_eq!(error_line("Dockerfile: x", None), None);
    }

    // The whole pipeline on hand-made logs: wrappers, formats and where the lines come from.

    use crate::log::{parse_bytes, Build, BuildResult};

    fn one_build(log: &str) -> Build {
        let parsed = parse_bytes(log.as_bytes());
        assert_eq!(parsed.builds.len(), 1, "{parsed:#?}");
        parsed.builds.into_iter().next().unwrap()
    }

    fn lines_and_codes(b: &Build) -> Vec<(u32, &str)> {
        b.warnings.iter().map(|w| (w.line, w.code.as_deref().unwrap_or("-"))).collect()
    }

    const BUILD: &str = "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 412B done\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine:3.19\n#2 DONE 0.1s\n\n#3 [2/2] RUN make\n#3 0.101 ok\n#3 DONE 1.2s\n\n#4 exporting to image\n#4 DONE 0.1s\n";

    #[test]
    fn the_warning_list_after_a_build_gives_each_warning_its_line() {
        let list = " 3 warnings found (use docker --debug to expand):\n - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line 12)\n - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 20)\n - UndefinedVar: Usage of undefined variable '$FOO' (line 7)\n";
        let b = one_build(&format!("{BUILD}{list}"));
        assert_eq!(b.result, BuildResult::Success);
        assert_eq!(lines_and_codes(&b), vec![(12, "LegacyKeyValueFormat"), (20, "JSONArgsRecommended"), (7, "UndefinedVar")]);
        // buildx before v0.13 said `(use --debug to expand)`; one warning is singular.
        let b = one_build(&format!(
            "{BUILD} 1 warning found (use --debug to expand):\n - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)\n"
        ));
        assert_eq!(lines_and_codes(&b), vec![(1, "FromAsCasing")]);
    }

    #[test]
    fn warnings_behind_ci_timestamps_and_colour_are_read() {
        let mut log = String::new();
        for line in format!("{BUILD}\x1b[33m 2 warnings found (use docker --debug to expand):\n\x1b[0m - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line 4)\n - StageNameCasing: Stage name 'Build' should be lowercase (line 2)\n").lines() {
            log += &format!("2026-06-12T11:26:18.2476399Z {line}\n");
        }
        let b = one_build(&log);
        assert_eq!(lines_and_codes(&b), vec![(4, "LegacyKeyValueFormat"), (2, "StageNameCasing")]);
        assert_eq!(b.warnings[1].message, "Stage name 'Build' should be lowercase");
    }

    #[test]
    fn a_vertex_warning_and_its_listing_are_one_warning_and_failed_builds_keep_theirs() {
        let log = "#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 1B done\n#1 WARN: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 3)\n#1 WARN: Empty continuation line found in: RUN a &&     b\n#1 DONE 0.0s\n\n#2 [1/1] RUN false\n#2 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n------\n > [1/1] RUN false:\n------\n 1 warning found (use docker --debug to expand):\n - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 3)\nDockerfile:5\n--------------------\n   5 | >>> RUN false\n--------------------\nERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n";
        let b = one_build(log);
        assert_eq!(b.result, BuildResult::Failed);
        assert_eq!(lines_and_codes(&b), vec![(3, "FromAsCasing")], "the lineless warning stays on its step only");
        assert_eq!(b.steps[0].warnings.len(), 2);
        assert_eq!(b.error_lines, Some([5, 5]));
    }

    #[test]
    fn rawjson_vertex_warnings_name_their_line() {
        let vertex = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        let short = "RnJvbUFzQ2FzaW5nOiAnYXMnIGFuZCAnRlJPTScga2V5d29yZHMnIGNhc2luZyBkbyBub3QgbWF0Y2ggKGxpbmUgMSk="; // FromAsCasing: … (line 1)
        let log = format!(
            "{{\"vertexes\":[{{\"digest\":\"{vertex}\",\"name\":\"[internal] load build definition from Dockerfile\",\"started\":\"2024-01-01T00:00:00Z\",\"completed\":\"2024-01-01T00:00:01Z\"}}]}}\n{{\"warnings\":[{{\"vertex\":\"{vertex}\",\"level\":1,\"short\":\"{short}\"}}]}}\n"
        );
        let b = one_build(&log);
        assert_eq!(b.format, crate::log::Format::BuildkitRawjson);
        assert_eq!(lines_and_codes(&b), vec![(1, "FromAsCasing")]);
    }

    #[test]
    fn tty_logs_list_warnings_too() {
        let log = "#0 building with \"default\" instance using docker driver\n[+] Building 1.2s (6/6) FINISHED\n => [internal] load build definition from Dockerfile   0.0s\n => [1/2] FROM docker.io/library/alpine   0.1s\n => [2/2] RUN make   1.0s\n => exporting to image   0.1s\n\n 1 warning found (use docker --debug to expand):\n - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line 2)\n";
        let parsed = parse_bytes(log.as_bytes());
        let b = parsed.builds.iter().find(|b| b.format == crate::log::Format::BuildkitTty).expect("a tty build");
        assert_eq!(lines_and_codes(b), vec![(2, "LegacyKeyValueFormat")]);
    }

    #[test]
    fn a_failure_before_any_step_keeps_the_lines_of_its_error() {
        // A snippet without a failed step (the frontend failed).
        let parse_error = "#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 93B done\n#1 DONE 0.0s\nDockerfile:3\n--------------------\n   2 |     RUN echo ok\n   3 | >>> RUNN echo typo\n--------------------\nERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN\n";
        assert_eq!(one_build(parse_error).error_lines, Some([3, 3]));
        // Docker 20.10 prints no snippet: the line is in the error.
        let old = "#1 [internal] load build definition from parseerror.Dockerfile\n#1 transferring dockerfile: 93B done\n#1 DONE 0.0s\nfailed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 3: unknown instruction: RUNN\n";
        let b = one_build(old);
        assert_eq!((b.result, b.error_lines), (BuildResult::Failed, Some([3, 3])));
        // An unresolved base image: the metadata vertex fails, the snippet names the FROM.
        let base = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [internal] load metadata for docker.io/library/nosuch:1\n#2 ERROR: docker.io/library/nosuch:1: not found\n------\n > [internal] load metadata for docker.io/library/nosuch:1:\n------\nDockerfile:28\n--------------------\n  27 |     ARG X\n  28 | >>> FROM nosuch:1 AS base\n  29 |     RUN x\n--------------------\nERROR: failed to solve: nosuch:1: failed to resolve source metadata for docker.io/library/nosuch:1: not found\n";
        assert_eq!(one_build(base).error_lines, Some([28, 28]));
        // A range of `>>>` lines.
        let range = parse_error
            .replace("   3 | >>> RUNN echo typo\n", "   3 | >>> RUN a \\\n   4 | >>>   b \\\n   5 | >>>   c\n")
            .replace("on line 3", "on line 3 and more");
        assert_eq!(one_build(&range).error_lines, Some([3, 5]));
        // The Dockerfile's own name before the line.
        let named =
            old.replace("dockerfile parse error line 3: unknown instruction: RUNN", "parseerror.Dockerfile:9: unknown flag: --chmodd");
        assert_eq!(one_build(&named).error_lines, Some([9, 9]));
    }

    #[test]
    fn a_successful_build_has_no_error_lines() {
        // `--debug` lists warnings with snippets of their own.
        let debug = format!("{BUILD} 1 warning found:\n - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)\nDockerfile:1\n--------------------\n   1 | >>> FROM alpine as x\n--------------------\n");
        let b = one_build(&debug);
        assert_eq!((b.result, b.error_lines), (BuildResult::Success, None));
        assert_eq!(lines_and_codes(&b), vec![(1, "FromAsCasing")]);
    }
}
