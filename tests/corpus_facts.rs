//! Every real log of `../shared/corpus/real/` against its expected facts in `fixtures/real-facts/`:
//! the builds in order, each build's result, Dockerfile name and error, every `[k/n]` / `Step N/M` /
//! `STEP N/M` step with its status, printed duration and error-block lines, and, for the logs whose
//! Dockerfiles are beside them, the line each step lands on today (and whether it counts as changed).
//!
//! The facts were written from the raw logs by reading them (and from each `.source.txt`'s "Facts
//! expected"), not from buildlens's output: where the parser disagrees, the facts stay and the test fails,
//! listing every disagreeing log / build / step. The logs are other projects' files: read from `../shared`,
//! never copied here.
//!
//! Step keys are the printed position without padding: `linux/arm64 stage-0 9/17`, `worker base 10/10`,
//! `1/21` (BuildKit: platform, service, stage, k/n), `Step 3/32` (classic builder), `[2] STEP 5/8` (podman,
//! with its `[i/n]` stage index).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use buildlens::dockerfile;
use buildlens::log::{parse_bytes, Build, BuildResult, Format, ParsedLog, Step, StepStatus};
use buildlens::mapping;
use buildlens::store::compose::Belongs;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Facts {
    log: String,
    /// The builds may come in either order (two builds started in parallel).
    #[serde(default)]
    unordered: bool,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    builds: Vec<BuildFacts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildFacts {
    format: String,
    result: String,
    /// The name in `load build definition from X`, when one Dockerfile is named.
    dockerfile: Option<String>,
    /// How the build's final error line starts.
    error: Option<String>,
    /// A build error on a vertex that is not a Dockerfile step: a step named so must carry it.
    error_vertex: Option<String>,
    /// The Dockerfile beside the log (`<log>.<file>` in real/) that the steps map onto, unless a step names its own.
    file: Option<String>,
    /// The compose file beside the log (kept for the record; the mapping here is per Dockerfile).
    #[allow(dead_code)]
    compose: Option<String>,
    steps: Vec<StepFacts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFacts {
    key: String,
    /// Other keys the same step is printed under (a vertex shared by two compose services, renamed mid-log).
    #[serde(default)]
    aliases: Vec<String>,
    status: String,
    /// As printed (`DONE 8.5s`, tty `0.3s`); absent where the log prints none.
    duration: Option<String>,
    /// How the instruction text starts, as printed (spaces collapsed when compared).
    text: String,
    file: Option<String>,
    line: Option<u32>,
    /// Whether the instruction on `line` was edited since the build; absent: not asserted.
    changed: Option<bool>,
    /// The error block's `>>>` lines (`Dockerfile:N`), as printed.
    error_lines: Option<[u32; 2]>,
    /// How many output lines the step printed (`#N <seconds> …`), where counted.
    output_lines: Option<u64>,
    #[allow(dead_code)]
    note: Option<String>,
}

fn real_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
    assert!(dir.is_dir(), "{}: the shared corpus must be beside the repository", dir.display());
    dir
}

fn facts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real-facts")
}

fn read_facts(log: &str) -> Facts {
    let path = facts_dir().join(format!("{}.facts.json", log.trim_end_matches(".log")));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let facts: Facts = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(facts.log, log, "{}", path.display());
    facts
}

/// The step's position key, from the parser's fields (see the module comment).
fn step_key(format: Format, s: &Step) -> Option<String> {
    let (k, n) = (s.k?, s.n?);
    Some(match format {
        Format::Legacy => format!("Step {k}/{n}"),
        Format::Podman => match s.stage_index {
            Some(i) => format!("[{i}] STEP {k}/{n}"),
            None => format!("STEP {k}/{n}"),
        },
        _ => {
            let words = [&s.platform, &s.service, &s.stage].into_iter().flatten().flat_map(|w| w.split_whitespace());
            words.map(str::to_owned).chain([format!("{k}/{n}")]).collect::<Vec<_>>().join(" ")
        }
    })
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn status_name(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Executed => "executed",
        StepStatus::Cached => "cached",
        StepStatus::Error => "error",
        StepStatus::Canceled => "canceled",
        StepStatus::Running => "running",
    }
}

fn result_name(r: BuildResult) -> &'static str {
    match r {
        BuildResult::Success => "success",
        BuildResult::Failed => "failed",
        BuildResult::Canceled => "canceled",
        BuildResult::Running => "running",
    }
}

/// `8.5s` -> 8500 ms; also `1m2.5s`.
fn printed_ms(text: &str) -> Option<u64> {
    let (min, sec) = match text.split_once('m') {
        Some((m, s)) => (m.parse::<u64>().ok()?, s),
        None => (0, text),
    };
    let secs: f64 = sec.strip_suffix('s')?.parse().ok()?;
    Some(min * 60_000 + (secs * 1000.0).round() as u64)
}

/// Builds of the parse that hold at least one Dockerfile step.
fn step_builds(parsed: &ParsedLog) -> Vec<&Build> {
    parsed.builds.iter().filter(|b| b.steps.iter().any(|s| s.k.is_some())).collect()
}

/// Which parsed build answers for each expected one: in order, or by most shared step keys.
fn pair<'a>(facts: &Facts, builds: &[&'a Build]) -> Vec<Option<&'a Build>> {
    if !facts.unordered {
        return (0..facts.builds.len()).map(|i| builds.get(i).copied()).collect();
    }
    let mut taken = vec![false; builds.len()];
    facts
        .builds
        .iter()
        .map(|want| {
            let keys: Vec<String> = want.steps.iter().map(|s| format!("{} {}", s.key, collapse(&s.text))).collect();
            let shared = |b: &Build| {
                b.steps
                    .iter()
                    .filter_map(|s| Some(format!("{} {}", step_key(b.format, s)?, collapse(s.instruction.as_deref().unwrap_or("")))))
                    .filter(|k| keys.iter().any(|w| k.starts_with(w.as_str())))
                    .count()
            };
            let best = (0..builds.len()).filter(|&i| !taken[i]).max_by_key(|&i| shared(builds[i]))?;
            taken[best] = true;
            Some(builds[best])
        })
        .collect()
}

/// Checks one log; returns every disagreement, each naming log, build and step.
fn check_log(log: &str) -> Vec<String> {
    let facts = read_facts(log);
    let bytes = std::fs::read(real_dir().join(log)).unwrap_or_else(|e| panic!("{log}: {e}"));
    let parsed = parse_bytes(&bytes);
    let mut bad = Vec::new();
    let with_steps = step_builds(&parsed);
    if parsed.builds.len() != facts.builds.len() {
        let results: Vec<(&str, usize)> =
            parsed.builds.iter().map(|b| (result_name(b.result), b.steps.iter().filter(|s| s.k.is_some()).count())).collect();
        bad.push(format!(
            "{log}: {} builds expected, the parser has {} ({} with Dockerfile steps): (result, steps) {results:?}",
            facts.builds.len(),
            parsed.builds.len(),
            with_steps.len()
        ));
    }
    for (i, (want, got)) in facts.builds.iter().zip(pair(&facts, &with_steps)).enumerate() {
        let at = format!("{log}: build {}", i + 1);
        match got {
            None => bad.push(format!("{at}: missing ({} steps expected)", want.steps.len())),
            Some(got) => {
                check_build(&at, want, got, &mut bad);
                check_mapping(&at, want, got, &mut bad);
            }
        }
    }
    bad
}

fn check_build(at: &str, want: &BuildFacts, got: &Build, bad: &mut Vec<String>) {
    if got.format.as_str() != want.format {
        bad.push(format!("{at}: format {} expected, parser says {}", want.format, got.format.as_str()));
    }
    if result_name(got.result) != want.result {
        bad.push(format!("{at}: result {} expected, parser says {} (error {:?})", want.result, result_name(got.result), got.error));
    }
    if want.dockerfile.is_some() && got.dockerfile != want.dockerfile {
        bad.push(format!("{at}: Dockerfile {:?} expected, parser says {:?}", want.dockerfile, got.dockerfile));
    }
    if let Some(prefix) = &want.error {
        if !got.error.as_deref().is_some_and(|e| e.starts_with(prefix.as_str())) {
            bad.push(format!("{at}: error starting {prefix:?} expected, parser says {:?}", got.error));
        }
    }
    if let Some(vertex) = &want.error_vertex {
        let failed = got.steps.iter().any(|s| s.name.starts_with(vertex.as_str()) && s.status == StepStatus::Error && s.error.is_some());
        if !failed {
            bad.push(format!("{at}: the vertex `{vertex}` must be a failed step with its error"));
        }
    }
    check_steps(at, want, got, bad);
}

fn check_steps(at: &str, want: &BuildFacts, got: &Build, bad: &mut Vec<String>) {
    let mut by_key: BTreeMap<String, Vec<&Step>> = BTreeMap::new();
    for s in &got.steps {
        if let Some(key) = step_key(got.format, s) {
            by_key.entry(key).or_default().push(s);
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for w in &want.steps {
        let keys: Vec<&str> = std::iter::once(w.key.as_str()).chain(w.aliases.iter().map(String::as_str)).collect();
        seen.extend(&keys);
        let found: Vec<&Step> = keys.iter().flat_map(|k| by_key.get(*k).into_iter().flatten().copied()).collect();
        let at = format!("{at}: step `{}`", w.key);
        let Some(s) = found.first() else {
            bad.push(format!("{at}: missing (expected {} `{}`)", w.status, w.text));
            continue;
        };
        if found.len() > 1 {
            bad.push(format!(
                "{at}: {} parsed steps have this position: {:?}",
                found.len(),
                found.iter().map(|s| &s.name).collect::<Vec<_>>()
            ));
        }
        if status_name(s.status) != w.status {
            bad.push(format!("{at}: status {} expected, parser says {}", w.status, status_name(s.status)));
        }
        if let Some(d) = &w.duration {
            if s.duration_ms != printed_ms(d) {
                bad.push(format!("{at}: duration {d} expected, parser says {:?} ms", s.duration_ms));
            }
        }
        let text = collapse(s.instruction.as_deref().unwrap_or(&s.name));
        if !text.starts_with(&collapse(&w.text)) {
            bad.push(format!("{at}: instruction starting `{}` expected, parser says `{text}`", w.text));
        }
        if w.output_lines.is_some_and(|n| n != s.output.lines) {
            bad.push(format!("{at}: {} output lines expected, parser says {}", w.output_lines.unwrap_or_default(), s.output.lines));
        }
        if w.error_lines.is_some() && s.dockerfile_lines != w.error_lines {
            bad.push(format!("{at}: error-block lines {:?} expected, parser says {:?}", w.error_lines, s.dockerfile_lines));
        }
    }
    for (key, steps) in &by_key {
        if !seen.contains(&key.as_str()) {
            bad.push(format!(
                "{at}: the parser has a step `{key}` the log does not: {:?}",
                steps.iter().map(|s| &s.name).collect::<Vec<_>>()
            ));
        }
    }
}

/// Maps `build` onto Dockerfile `nth` of `files` the way `report` and the server do without a compose file:
/// the Dockerfiles beside the log are the workspace's candidates, a compose build's services each go to the
/// Dockerfile they match best (`store::select::by_text`), a build that matches another Dockerfile better maps
/// nothing here.
fn map_as_the_product_does(files: &[(String, dockerfile::Dockerfile)], nth: usize, build: &Build) -> mapping::Mapping {
    let mut candidates: Vec<(&str, &dockerfile::Dockerfile)> = vec![(files[nth].0.as_str(), &files[nth].1)];
    candidates.extend(files.iter().enumerate().filter(|(i, _)| *i != nth).map(|(_, (f, d))| (f.as_str(), d)));
    let df = &files[nth].1;
    let belongs = buildlens::store::select::by_text(&candidates)(build);
    match belongs {
        Belongs::Whole => mapping::map_build(df, build),
        Belongs::Services(services) => mapping::map_steps_of(df, &build.steps, Some(&services)),
        Belongs::No => mapping::map_steps_of(df, &build.steps, Some(&[])),
    }
}

/// Maps the parsed build onto each Dockerfile beside the log and checks the expected steps' lines.
fn check_mapping(at: &str, want: &BuildFacts, got: &Build, bad: &mut Vec<String>) {
    let file_of = |w: &StepFacts| w.file.clone().or_else(|| want.file.clone());
    let mut files: Vec<String> = want.steps.iter().filter_map(file_of).collect();
    files.sort();
    files.dedup();
    let parsed: Vec<(String, dockerfile::Dockerfile)> = files
        .iter()
        .map(|file| {
            let path = real_dir().join(file);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (file.clone(), dockerfile::parse(&text))
        })
        .collect();
    for (nth, (file, _)) in parsed.iter().enumerate() {
        let file = file.clone();
        let m = map_as_the_product_does(&parsed, nth, got);
        let index =
            |w: &StepFacts| got.steps.iter().position(|s| step_key(got.format, s).is_some_and(|k| k == w.key || w.aliases.contains(&k)));
        let mut claimed = Vec::new();
        for w in want.steps.iter().filter(|w| file_of(w).as_deref() == Some(file.as_str())) {
            let Some(line) = w.line else { continue };
            claimed.push(line);
            let Some(i) = index(w) else { continue }; // reported as missing by check_steps
            let at = format!("{at}: step `{}` on {file}", w.key);
            match m.steps.get(i).cloned().flatten() {
                None => bad.push(format!("{at}: line {line} expected, mapped to nothing ({:?})", problems_of(&m, i))),
                Some(sm) => {
                    if sm.line != line {
                        bad.push(format!("{at}: line {line} expected, mapped to line {} ({:?})", sm.line, sm.how));
                    }
                    if w.changed.is_some_and(|c| c != sm.changed) {
                        bad.push(format!(
                            "{at}: line {line} changed={} expected, mapping says changed={}",
                            w.changed.unwrap_or_default(),
                            sm.changed
                        ));
                    }
                }
            }
        }
        // Steps that belong to another Dockerfile must not take this one's lines.
        for w in want.steps.iter().filter(|w| file_of(w).is_some_and(|f| f != file)) {
            let Some(i) = index(w) else { continue };
            if let Some(sm) = m.steps.get(i).cloned().flatten().filter(|sm| claimed.contains(&sm.line)) {
                bad.push(format!(
                    "{at}: step `{}` (of {}) mapped onto {file} line {}, which is another step's",
                    w.key,
                    file_of(w).unwrap_or_default(),
                    sm.line
                ));
            }
        }
    }
}

fn problems_of(m: &mapping::Mapping, i: usize) -> Vec<&str> {
    m.problems.iter().filter(|p| p.step.is_none() || p.step == Some(i)).map(|p| p.message.as_str()).collect()
}

fn assert_facts(log: &str) {
    let bad = check_log(log);
    assert!(bad.is_empty(), "{} disagreement(s) with fixtures/real-facts:\n  {}", bad.len(), bad.join("\n  "));
}

macro_rules! real_log_tests {
    ($($test:ident => $log:literal,)*) => {
        $( #[test] fn $test() { assert_facts($log); } )*
        const COVERED: &[&str] = &[$($log),*];
    };
}

real_log_tests! {
    desktop_copy_not_found_edited_since => "bk-desktop-copy-not-found-dockerfile-edited-since.log",
    gerapy_powershell_utf16le => "bk-plain-gerapy-powershell-utf16le.log",
    jetson_ros_warn_canceled => "bk-plain-jetson-ros-warn-canceled.log",
    putty_multiarch_builder_push => "bk-plain-putty-docker-container-push-multiarch-builder.log",
    xeus_lean_wasm_long_crlf => "bk-plain-xeus-lean-wasm-long-crlf.log",
    zkevm_lean_crlf_unicode => "bk-plain-zkevm-lean-crlf-unicode.log",
    compose_bake_utf16le_shared_vertices => "compose-bake-utf16le-powershell-shared-vertices.log",
    compose_reproducer_context_fail => "compose-bk-plain-reproducer-compose-buildx-context-fail.log",
    compose_listekdo_truncated => "compose-plain-listekdo-crlf-truncated.log",
    gha_crm_multiplatform_fail => "gha-crm-multiplatform-fail.log",
    gha_safework_push_401 => "gha-safework-push-401-at-export.log",
    gitea_parallel_interleaved_masked => "gitea-parallel-two-buildkit-builds-interleaved-masked.log",
    gitea_ssh_err_prefix_two_builds => "gitea-ssh-action-err-prefix-two-sequential-builds.log",
    legacy_sc4da_pull_cr_ansi => "legacy-sc4da-pull-cr-ansi.log",
    podman_ipxe_shim_review => "podman-ipxe-shim-review.log",
    tty_final_frame_copied => "tty-final-frame-copied-no-ansi.log",
}

#[test]
fn every_real_log_has_facts_and_a_test() {
    let mut logs: Vec<String> = std::fs::read_dir(real_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log") || n.ends_with(".jsonl") || n.ends_with(".txt") && !n.ends_with(".source.txt"))
        .collect();
    logs.sort();
    let mut covered: Vec<String> = COVERED.iter().map(|s| s.to_string()).collect();
    covered.sort();
    assert_eq!(logs, covered, "a log in ../shared/corpus/real without facts (or facts for a log that is gone)");
    for log in &logs {
        read_facts(log);
    }
}

#[test]
fn facts_are_checked_honestly() {
    // A wrong fact must be reported, naming log, build and step: flip one status and one line.
    let log = "tty-final-frame-copied-no-ansi.log";
    let mut facts = read_facts(log);
    facts.builds[0].steps[2].status = "cached".into();
    facts.builds[0].steps[1].line = Some(2);
    let parsed = parse_bytes(&std::fs::read(real_dir().join(log)).unwrap());
    let builds = step_builds(&parsed);
    let mut bad = Vec::new();
    if let Some(got) = builds.first() {
        check_build("tty", &facts.builds[0], got, &mut bad);
        check_mapping("tty", &facts.builds[0], got, &mut bad);
    }
    assert!(bad.iter().any(|b| b.contains("step `3/3`") && b.contains("status cached expected")), "{bad:?}");
    assert!(bad.iter().any(|b| b.contains("step `2/3` on") && b.contains("line 2 expected")), "{bad:?}");
    assert_eq!(printed_ms("142.6s"), Some(142_600));
    assert_eq!(printed_ms("1m2.5s"), Some(62_500));
}
