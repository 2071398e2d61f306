//! Pure helpers shared by lenses, inlay hints, hover and diagnostics: how one `StepRun` reads as text.
//! The clock is a parameter (`now`), so every rendering is deterministic in tests.

use chrono::{DateTime, Utc};

use crate::analysis::StepRun;
use crate::log::StepStatus;
use crate::present;

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

/// The line that best says why a step failed: the last output line that mentions an error (what a user
/// would look for, e.g. `make: *** [all] Error 2`), else the last output line, else the builder's error.
pub fn headline(run: &StepRun) -> Option<String> {
    let mentions_error = |l: &&String| {
        let lower = l.to_ascii_lowercase();
        lower.contains("error") || lower.contains("fatal") || lower.contains("failed")
    };
    let line = run
        .excerpt
        .iter()
        .rev()
        .find(mentions_error)
        .or_else(|| run.excerpt.iter().rev().find(|l| !l.trim().is_empty()))
        .or(run.error.as_ref())?;
    Some(one_line(line, HEADLINE_CHARS))
}

/// `text` on one line (control characters become spaces), cut to `max` characters with `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let clean: String = text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match clean.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
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
}

#[cfg(test)]
mod tests {
    use super::fixtures::{now, run};
    use super::*;

    #[test]
    fn headline_prefers_an_error_line_then_the_last_line_then_the_builder_error() {
        let mut r = run(StepStatus::Error, Some(1));
        assert_eq!(headline(&r), None);
        r.error = Some("executor failed: exit code: 3".into());
        assert_eq!(headline(&r).as_deref(), Some("executor failed: exit code: 3"));
        r.excerpt = vec!["checking... no".into(), "".into()];
        assert_eq!(headline(&r).as_deref(), Some("checking... no"));
        r.excerpt = vec!["make: *** [all] Error 2".into(), "leaving dir".into()];
        assert_eq!(headline(&r).as_deref(), Some("make: *** [all] Error 2"));
    }

    #[test]
    fn one_line_cuts_and_cleans() {
        assert_eq!(one_line(" a\tb\u{1b}[0m ", 99), "a b [0m");
        assert_eq!(one_line("ééééé", 3), "ééé…");
    }

    #[test]
    fn running_time_comes_from_the_clock() {
        let r = run(StepStatus::Running, None);
        assert_eq!(elapsed_ms(&r, now()), Some(2 * 3_600_000 + 5 * 60_000));
        assert_eq!(ago(&r, now()).as_deref(), Some("2h ago"));
    }
}
