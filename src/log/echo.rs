//! A failed build printed again by the tool that ran it: not another build.
//!
//! Azure DevOps' Docker task re-prints the whole of docker's stderr, each line behind `##[error]`, once
//! the build has failed; the learned prefix makes that a second, identical failed build. A failed build
//! that repeats the one just closed on its channel (same format, error, and steps: names, statuses,
//! durations, exit codes, errors) is that re-print and is dropped, but only when the line stamps show a
//! print, not a run: it starts within [`ECHO_GAP`] of the first one's end and all its lines carry stamps
//! within [`ECHO_GAP`] of each other. A failed build run again unchanged (a retry, a re-run in the same
//! terminal, whose cached steps and missing durations make the same fingerprint) takes its own time, or
//! has no stamps at all: it stays a build (nothing a user ran is lost).

use std::hash::{DefaultHasher, Hash, Hasher};

use super::model::{Build, BuildResult};

/// Longest a re-print takes, and longest between the build and its re-print.
const ECHO_GAP: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

/// Whether `build` was printed at once right after a build that finished at `previous_end`.
pub fn printed_at_once(previous_end: Option<&str>, build: &Build) -> bool {
    let time = |s: Option<&str>| chrono::DateTime::parse_from_rfc3339(s?).ok();
    let (Some(end), Some(start), Some(finish)) = (time(previous_end), time(build.started.as_deref()), time(build.finished.as_deref()))
    else {
        return false;
    };
    start - end <= ECHO_GAP && finish - start <= ECHO_GAP
}

/// What a failed build says, hashed; `None` for a build that did not fail.
pub fn fingerprint(build: &Build) -> Option<u64> {
    if build.result != BuildResult::Failed || build.steps.is_empty() {
        return None;
    }
    let mut h = DefaultHasher::new();
    format!("{:?}", build.format).hash(&mut h);
    build.error.hash(&mut h);
    for step in &build.steps {
        (&step.name, format!("{:?}", step.status), step.duration_ms, step.exit_code, &step.error).hash(&mut h);
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use crate::log::parse_bytes;

    const BUILD: &str = "#0 building with \"default\" instance using docker driver\n\n#1 [1/2] FROM docker.io/library/alpine:3.20\n#1 DONE 0.1s\n\n#2 [2/2] COPY app.txt /app.txt\n#2 ERROR: failed to calculate checksum of ref abc::def: \"/app.txt\": not found\nERROR: failed to solve: failed to compute cache key: \"/app.txt\": not found\n";

    fn azure(text: &str, prefix: &str) -> String {
        text.lines().filter(|l| !l.is_empty()).map(|l| format!("2026-03-02T10:00:01.1000000Z {prefix}{l}\n")).collect()
    }

    /// The Docker task's `##[error]` re-print of a failed build is not a second build.
    #[test]
    fn a_failed_build_printed_again_is_one_build() {
        let log = azure(BUILD, "")
            + &azure(BUILD, "##[error]")
            + "2026-03-02T10:00:01.7Z ##[error]The process '/usr/bin/docker' failed with exit code 1\n";
        let parsed = parse_bytes(log.as_bytes());
        assert_eq!(parsed.builds.len(), 1, "{:#?}", parsed.builds);
        assert_eq!(parsed.builds[0].steps.len(), 2);
    }

    /// A retry is another build: its steps are cached now, or its times differ; a success twice is twice.
    #[test]
    fn retries_and_successes_stay_builds() {
        let retry = BUILD.replace("#1 DONE 0.1s", "#1 CACHED");
        assert_eq!(parse_bytes(format!("{BUILD}{retry}").as_bytes()).builds.len(), 2);
        // The same failed build run twice: without stamps, or stamped minutes apart, it is two builds.
        assert_eq!(parse_bytes(format!("{BUILD}{BUILD}").as_bytes()).builds.len(), 2);
        let stamped = |minute: u32| -> String {
            BUILD.lines().enumerate().map(|(i, l)| format!("2026-03-02T10:{minute:02}:{i:02}.1000000Z {l}\n")).collect()
        };
        assert_eq!(parse_bytes(format!("{}{}", stamped(0), stamped(5)).as_bytes()).builds.len(), 2);
        let ok = "#1 [1/1] FROM docker.io/library/alpine:3.20\n#1 DONE 0.1s\n#2 exporting to image\n#2 DONE 0.0s\n";
        assert_eq!(parse_bytes(format!("{ok}{ok}").as_bytes()).builds.len(), 2);
    }
}
