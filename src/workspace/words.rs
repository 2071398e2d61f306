//! How one `StepRun` reads as text, the same words for the server's lenses, inlay hints, hover and
//! diagnostics and for `report` (its time, headline, exit code, platforms, size, age). Pure; the clock is a
//! parameter (`now`), so every rendering is deterministic in tests.

use chrono::{DateTime, Utc};

use crate::analysis::StepRun;
use crate::log::StepStatus;
use crate::present;
pub use crate::present::one_line;

/// Longest error line shown in a lens title or a diagnostic message (characters).
const HEADLINE_CHARS: usize = 160;

/// When the run started, if the log or the record said.
pub fn started(run: &StepRun) -> Option<DateTime<Utc>> {
    let s = run.started.as_deref()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// How long a run took, or for a live one how long it has been running.
pub fn elapsed_ms(run: &StepRun, now: DateTime<Utc>) -> Option<u64> {
    if run.status == StepStatus::Running {
        if let Some(t) = started(run) {
            return u64::try_from((now - t).num_milliseconds()).ok();
        }
    }
    run.duration_ms
}

/// The line that says why a step failed (`analysis::headline`: the cause in its output, else the
/// builder's error), on one line and cut to `HEADLINE_CHARS`.
pub fn headline(run: &StepRun) -> Option<String> {
    crate::analysis::headline::of(run).map(|h| one_line(&h.text, HEADLINE_CHARS))
}

/// `2h ago`, when the start is known.
pub fn ago(run: &StepRun, now: DateTime<Utc>) -> Option<String> {
    started(run).map(|t| present::ago(t, now))
}

/// `1.2 GB`: the step's layer size from an image-history snapshot, when known and not empty.
pub fn layer_size(run: &StepRun) -> Option<String> {
    run.size_bytes.filter(|&s| s > 0).map(present::size_bytes)
}

/// ` (exit 2)` or nothing.
pub fn exit_suffix(run: &StepRun) -> String {
    run.exit_code.map(|c| format!(" (exit {c})")).unwrap_or_default()
}

/// A multi-platform run, each platform's time or state: `amd64 2m10s · arm64 19m32s`, `amd64 cached ·
/// arm64 failed 3m04s`; `None` for a run of one platform, or platforms that say the same without times.
pub fn platforms(run: &StepRun) -> Option<String> {
    let first = run.platforms.first()?;
    let alike = run.platforms.iter().all(|p| p.status == first.status && p.duration_ms.is_none());
    if run.platforms.len() < 2 || alike {
        return None;
    }
    let one = |p: &crate::analysis::PlatformRun| {
        let name = p.platform.strip_prefix("linux/").unwrap_or(&p.platform);
        let dur = p.duration_ms.filter(|_| p.status != StepStatus::Cached).map(present::duration_ms);
        match (p.status, dur) {
            (StepStatus::Executed, Some(d)) => format!("{name} {d}"),
            (status, Some(d)) => format!("{name} {} {d}", status_word(status)),
            (status, None) => format!("{name} {}", status_word(status)),
        }
    };
    Some(run.platforms.iter().map(one).collect::<Vec<_>>().join(" · "))
}

/// A compact status word for tables and hints.
pub fn status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Executed => "executed",
        StepStatus::Cached => "cached",
        StepStatus::Error => "failed",
        StepStatus::Canceled => "canceled",
        StepStatus::Running => "running",
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! StepRun values for the rendering tests.
    use std::path::PathBuf;

    use crate::analysis::StepRun;
    use crate::log::{OutputRange, StepStatus};

    pub fn run(status: StepStatus, duration_ms: Option<u64>) -> StepRun {
        StepRun {
            build: "20261101T100000.000Z-0001".into(),
            started: Some("2026-11-01T10:00:00Z".into()),
            status,
            duration_ms,
            cached: status == StepStatus::Cached,
            exit_code: None,
            error: None,
            excerpt: Vec::new(),
            cause: None,
            log_path: PathBuf::from("/store/builds/b1/build.log"),
            output: OutputRange { start: 1200, end: 1900, lines: 3 },
            warnings: Vec::new(),
            changed_since: false,
            live: status == StepStatus::Running,
            size_bytes: None,
            layer: None,
            platforms: Vec::new(),
        }
    }

    /// `run` with one entry per platform: `(platform, status, duration)`.
    pub fn platforms(mut r: StepRun, each: &[(&str, StepStatus, Option<u64>)]) -> StepRun {
        r.platforms = each
            .iter()
            .map(|&(platform, status, duration_ms)| crate::analysis::PlatformRun { platform: platform.into(), status, duration_ms })
            .collect();
        r
    }

    pub fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-11-01T12:05:00Z".parse().unwrap()
    }

    /// A one-line `RUN` at 1-based `line` whose last run is `r` (no history, unchanged, no checks).
    pub fn line_view(line: u32, r: StepRun) -> crate::analysis::InstructionView {
        crate::analysis::InstructionView {
            line,
            end_line: line,
            keyword: "RUN".into(),
            stage: None,
            last: Some(r),
            history: vec![],
            changed_since_build: false,
            checks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{now, run};
    use super::*;

    #[test]
    fn headline_is_the_cause_then_the_builder_error_on_one_line() {
        let mut r = run(StepStatus::Error, Some(1));
        assert_eq!(headline(&r), None);
        r.error = Some("executor failed: exit code: 3".into());
        assert_eq!(headline(&r).as_deref(), Some("executor failed: exit code: 3"));
        r.cause = Some(crate::log::CauseLine { text: format!("x.c:1:2: error:\t{}", "y".repeat(200)), offset: 7 });
        let h = headline(&r).unwrap();
        assert!(h.starts_with("x.c:1:2: error: y") && h.ends_with('…') && h.chars().count() == HEADLINE_CHARS + 1, "{h}");
    }

    #[test]
    fn running_time_comes_from_the_clock() {
        let r = run(StepStatus::Running, None);
        assert_eq!(elapsed_ms(&r, now()), Some(2 * 3_600_000 + 5 * 60_000));
        assert_eq!(ago(&r, now()).as_deref(), Some("2h ago"));
    }
}
