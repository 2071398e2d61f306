//! Hover on an instruction: which build its last run is from, its history across recorded builds as a
//! Markdown table (newest first, each row naming its build, `#3 · 12:31`), then the failed step's error
//! and the last lines of its output in a fenced block. Text from a log is escaped or fenced, ids and paths
//! are code spans (see `markdown`): nothing renders as a literal backslash escape in Neovim. Pure: a
//! snapshot in (`document`: the will-rebuild section, explain's cause, the critical-path note, the pulled
//! builds' origins), the clock and the history depth are parameters.

use chrono::{DateTime, Utc};

use crate::analysis::explain::{CauseKind, Explained};
use crate::analysis::{BuildNote, InstructionView, LayerNote, StepRun};
use crate::lsp::render::markdown::{code_block, code_span, escape};
use crate::lsp::render::rebuild;
use crate::present;
use crate::workspace::words as view;
use crate::workspace::Snapshot;

/// The whole hover of the snapshot's instruction `view`: its history (`markdown`), then why it will
/// rebuild, why it ran, where it stood on the newest build's critical path and where its pulled runs
/// came from. `None` when no recorded build ran it and it will not rebuild.
pub fn document(snapshot: &Snapshot, view: &InstructionView, now: DateTime<Utc>, depth: usize) -> Option<String> {
    let annotated = &snapshot.annotated;
    let predicted = snapshot.prediction();
    let rebuild = predicted.rebuilds.iter().find(|r| r.line == view.line);
    let last_stage = annotated.instructions.last().and_then(|v| v.stage.as_deref());
    let mut md = markdown(view, &annotated.builds, now, depth, last_stage);
    if let Some(r) = rebuild {
        // A new line has no history: the hover says only that it will rebuild.
        let md = md.get_or_insert_with(|| format!("**{}**\n", escape(&view.keyword)));
        md.push_str(&rebuild::hover_markdown(r, &predicted, annotated));
    }
    md.map(|mut value| {
        if let Some(e) = annotated.explain.as_ref().filter(|e| view.last.as_ref().is_some_and(|l| l.build == e.to)) {
            value.push_str(&cause_markdown(e, &annotated.builds, view.line));
        }
        if let Some(note) = snapshot.critical_note(view) {
            value.push_str(&format!("\n{note}\n"));
        }
        value.push_str(&pulled_note(snapshot, view, now, depth));
        value
    })
}

/// Where the shown runs pulled from a registry came from (`#3 CI · main · 3h ago`): the snapshot's origins
/// of at most `depth` of them. Escaped: a branch name is the pusher's text.
fn pulled_note(snapshot: &Snapshot, view: &InstructionView, now: DateTime<Utc>, depth: usize) -> String {
    let pulled: Vec<String> = view
        .history
        .iter()
        .rev()
        .take(depth.max(1))
        .filter_map(|run| {
            let label = snapshot.pulled.get(&run.build)?.label(now);
            let number = snapshot.annotated.build(&run.build).map_or_else(String::new, |b| format!("#{} ", b.number));
            Some(format!("{number}{}", escape(&label)))
        })
        .collect();
    if pulled.is_empty() {
        return String::new();
    }
    format!("\n*Pulled from the registry:* {}\n", pulled.join(", "))
}

/// The instruction whose lines contain 0-based `line`.
pub fn at_line(instructions: &[InstructionView], line: u32) -> Option<&InstructionView> {
    let line = line.saturating_add(1);
    instructions.iter().find(|v| v.line <= line && line <= v.end_line.max(v.line))
}

/// The hover Markdown, or `None` when no recorded build ran the instruction. `builds` number the runs
/// (`Annotated::builds`, oldest first).
/// `last_stage`: the name of the file's last stage (the default target), to say why a stage has no sizes.
pub fn markdown(
    view: &InstructionView,
    builds: &[BuildNote],
    now: DateTime<Utc>,
    depth: usize,
    last_stage: Option<&str>,
) -> Option<String> {
    let Some(last) = view.last.as_ref() else {
        return (!view.checks.is_empty()).then(|| format!("**{}**\n{}", escape(&view.keyword), checks(view)));
    };
    let mut out = format!("**{}**", escape(&view.keyword));
    if let Some(stage) = &view.stage {
        out.push_str(&format!(" · stage {}", code_span(stage)));
    }
    if view.changed_since_build {
        out.push_str(" · *changed since the last build that ran it*");
    }
    out.push_str("\n\n");
    if let Some(older) = older_build(last, builds) {
        out.push_str(&format!("*{older}*\n\n"));
    }
    out.push_str(&table(view, last, builds, now, depth, last_stage));
    if let Some(error) = &last.error {
        out.push_str("\n**Error**\n\n");
        out.push_str(&code_block(std::slice::from_ref(error)));
    }
    for warning in &last.warnings {
        out.push_str(&format!("\n⚠ {}\n", escape(warning)));
    }
    out.push_str(&checks(view));
    if !last.excerpt.is_empty() {
        out.push_str(&format!("\n**Last output** ({} lines in all)\n\n", last.output.lines));
        out.push_str(&code_block(&last.excerpt));
    }
    if let Some(layer) = &last.layer {
        out.push_str(&layer_section(layer, last.size_bytes));
    }
    Some(out)
}

/// Build checks' warnings: `⚠ LegacyKeyValueFormat (line 12): …`, escaped.
fn checks(view: &InstructionView) -> String {
    let one = |c: &crate::analysis::CheckWarning| {
        let code = c.code.as_deref().map(|c| format!("{} ", escape(c))).unwrap_or_default();
        format!("\n⚠ {code}(line {}): {}\n", c.line, escape(&c.message))
    };
    view.checks.iter().map(one).collect()
}

/// `From build #2; #3 stopped at line 16.` when the last run is from an older build than the newest one
/// (which failed before it, or did not run it).
fn older_build(last: &StepRun, builds: &[BuildNote]) -> Option<String> {
    let latest = builds.last().filter(|b| b.id != last.build)?;
    let from = build_name(&last.build, builds);
    let newest = format!("#{}", latest.number);
    Some(match latest.failed_line {
        Some(line) => format!("From build {from}; {newest} stopped at line {line}."),
        None => format!("From build {from}; {newest} did not run it."),
    })
}

/// `#3` for a numbered build, else its id as a code span.
fn build_name(id: &str, builds: &[BuildNote]) -> String {
    builds.iter().find(|b| b.id == id).map_or_else(|| code_span(id), |b| format!("#{}", b.number))
}

/// Why the last build ran the instruction at 1-based `line`, with the chain from its root: appended to the
/// hover. Empty when the explained build did not execute it. Text from the Dockerfile and the context's
/// file names is escaped.
pub fn cause_markdown(explained: &Explained, builds: &[BuildNote], line: u32) -> String {
    let Some(step) = explained.at_line(line) else { return String::new() };
    let mut out = String::from("\n**Why it ran**");
    if let Some(from) = &explained.from {
        out.push_str(&format!(" (against build {})", build_name(from, builds)));
    }
    let why = match step.cause.kind {
        CauseKind::ParentRebuilt => format!("rebuilt because {}", step.cause.detail),
        CauseKind::NoEarlierBuild => step.cause.detail.clone(),
        _ => format!("not cached: {}", step.cause.detail),
    };
    out.push_str(&format!(": {}\n\n", escape(&why)));
    let chain: Vec<String> = explained
        .steps
        .iter()
        .filter(|s| s.cause.root_line == step.cause.root_line && s.line <= line)
        .map(|s| format!("line {} {}", s.line, view::one_line(&s.instruction, 60)))
        .collect();
    if chain.len() > 1 {
        out.push_str("Chain, from the first step that missed the cache:\n\n");
        out.push_str(&code_block(&chain));
    }
    out
}

/// Most recent first, at most `depth` rows; the last run is always in it. Each row names its build: its
/// number and start (`#3 · 12:31`, UTC; with the date when not today).
fn table(
    view: &InstructionView,
    last: &StepRun,
    builds: &[BuildNote],
    now: DateTime<Utc>,
    depth: usize,
    last_stage: Option<&str>,
) -> String {
    let mut out = String::from("**History** (newest first)\n\n");
    let history: Vec<&StepRun> = if view.history.is_empty() { vec![last] } else { view.history.iter().rev().collect() };
    let history = &history[..history.len().min(depth.max(1))];
    // A column of dashes says nothing: without any size the column goes, and a line says why.
    let sized = history.iter().any(|r| r.size_bytes.is_some());
    out.push_str(if sized {
        "| build (UTC) | when | status | duration | cached | size | exit |\n|---|---|---|---|---|---|---|\n"
    } else {
        "| build (UTC) | when | status | duration | cached | exit |\n|---|---|---|---|---|---|\n"
    });
    for run in history {
        let mut build = build_name(&run.build, builds);
        if let Some(t) = view::started(run) {
            let format = if t.date_naive() == now.date_naive() { "%H:%M" } else { "%m-%d %H:%M" };
            build.push_str(&format!(" · {}", t.format(format)));
        }
        let when = view::ago(run, now).unwrap_or_else(|| "?".into());
        let dur = view::platforms(run).map(|p| escape(&p)).or_else(|| view::elapsed_ms(run, now).map(present::duration_ms));
        let dur = dur.unwrap_or_else(|| "–".into());
        let cached = if run.cached { "yes" } else { "no" };
        let exit = run.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "–".into());
        let size = run.size_bytes.map(present::size_bytes).unwrap_or_else(|| "–".into());
        let size = if sized { format!(" {size} |") } else { String::new() };
        out.push_str(&format!("| {build} | {when} | {} | {dur} | {cached} |{size} {exit} |\n", view::status_word(run.status)));
    }
    if !sized {
        out.push_str(&format!("\n*{}*\n", no_sizes(view.stage.as_deref(), last_stage)));
    }
    out
}

/// Why no run of a step has a layer size.
fn no_sizes(stage: Option<&str>, last_stage: Option<&str>) -> String {
    match stage {
        Some(stage) if last_stage.is_some_and(|l| l != stage) => format!(
            "No layer sizes: stage {} is not the target, and BuildKit keeps only the target stage's image (sizes come from the engine's image history).",
            code_span(stage)
        ),
        _ => "No layer sizes: the engine has no image of these builds (not loaded with `--load`, removed, or the engine not reachable).".into(),
    }
}

/// The layer from the engine's image history: what made it, its size and time, its id where the engine
/// has one, and the image's total. `CreatedBy` is text from the engine: fenced, never Markdown.
fn layer_section(layer: &LayerNote, size: Option<u64>) -> String {
    let mut out = String::from("\n**Layer**");
    if let Some(size) = size {
        out.push_str(&format!(" {}", present::size_bytes(size)));
    }
    if let Some(created) = layer.created.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)) {
        out.push_str(&format!(" · created {}", created.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(id) = &layer.id {
        out.push_str(&format!(" · id {}", code_span(&id.chars().filter(char::is_ascii_alphanumeric).take(19).collect::<String>())));
    }
    out.push_str(&format!(" · image {}\n\n", present::size_bytes(layer.image_size)));
    out.push_str(&code_block(std::slice::from_ref(&layer.created_by)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::StepStatus;
    use crate::workspace::words::fixtures::{now, run};

    fn failing_view() -> InstructionView {
        let ok = run(StepStatus::Executed, Some(2_000));
        let mut ok = ok;
        ok.build = "b1".into();
        let mut bad = run(StepStatus::Error, Some(184_000));
        bad.build = "b2".into();
        bad.started = Some("2026-11-01T12:00:00Z".into());
        bad.exit_code = Some(2);
        bad.error = Some("process \"/bin/sh -c make\" did not complete successfully: exit code: 2".into());
        bad.excerpt = vec!["see [docs](command:workbench.action.terminal.new) <b>x</b>".into(), "``` fence".into()];
        InstructionView {
            line: 5,
            end_line: 7,
            keyword: "RUN".into(),
            stage: Some("build".into()),
            last: Some(bad.clone()),
            history: vec![ok, bad],
            changed_since_build: false,
            checks: Vec::new(),
        }
    }

    /// b1 (#1) and b2 (#2), b2 failing at line `failed`.
    fn notes(failed: Option<u32>) -> Vec<BuildNote> {
        let note = |id: &str, number, failed_line| BuildNote { id: id.into(), number, started: None, failed_line };
        vec![note("b1", 1, None), note("b2", 2, failed)]
    }

    /// The code spans of `md` as CommonMark reads them (§6.1): a backtick run not escaped, up to the next run
    /// of the same length.
    fn code_spans(md: &str) -> Vec<String> {
        let b = md.as_bytes();
        let run = |i: usize| b[i..].iter().take_while(|&&c| c == b'`').count();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < b.len() {
            if b[i] != b'`' || (i > 0 && b[i - 1] == b'\\') {
                i += 1;
                continue;
            }
            let n = run(i);
            let mut j = i + n;
            while j < b.len() && (b[j] != b'`' || run(j) != n) {
                j += if b[j] == b'`' { run(j) } else { 1 };
            }
            if j < b.len() {
                out.push(md[i + n..j].to_string());
            }
            i = j + n;
        }
        out
    }

    #[test]
    fn platforms_in_the_table_and_checks_below_escaped() {
        use crate::analysis::CheckWarning;
        use crate::workspace::words::fixtures::platforms;
        let each = [("linux/amd64", StepStatus::Executed, Some(130_000)), ("linux/arm64", StepStatus::Executed, Some(1_172_400))];
        let mut view = failing_view();
        view.last = Some(platforms(run(StepStatus::Executed, Some(1_172_400)), &each));
        view.history = vec![];
        let md = markdown(&view, &[], now(), 10, None).unwrap();
        assert!(md.contains("| executed | amd64 2m10s · arm64 19m32s |"), "{md}");
        view.last = None;
        view.checks =
            vec![CheckWarning { build: "b".into(), line: 4, code: Some("UndefinedVar".into()), message: "Usage of `$X` <b>".into() }];
        let md = markdown(&view, &[], now(), 10, None).expect("checks alone make a hover");
        assert!(md.contains("⚠ UndefinedVar (line 4): "), "{md}");
        assert!(!md.contains("<b>") && !md.contains("`$X`"), "escaped: {md}");
    }

    #[test]
    fn the_size_column_only_where_a_run_has_a_size_else_why_not() {
        let mut view = failing_view();
        let md = markdown(&view, &[], now(), 10, Some("build")).unwrap();
        assert!(md.contains("| cached | exit |") && md.contains("*No layer sizes: the engine has no image"), "the target stage: {md}");
        if let Some(r) = view.history.first_mut() {
            r.size_bytes = Some(2 << 20);
        }
        let md = markdown(&view, &[], now(), 10, Some("final")).unwrap();
        assert!(md.contains("| cached | size | exit |") && md.contains("| 2.1 MB |") && md.contains("| – | 2 |"), "{md}");
        assert!(!md.contains("No layer sizes"), "{md}");
    }

    #[test]
    fn history_table_then_error_then_output() {
        let md = markdown(&failing_view(), &notes(Some(5)), now(), 10, Some("final")).unwrap();
        let expect = "**RUN** · stage `build`\n\n\
**History** (newest first)\n\n\
| build (UTC) | when | status | duration | cached | exit |\n|---|---|---|---|---|---|\n\
| #2 · 12:00 | 5m ago | failed | 3m04s | no | 2 |\n\
| #1 · 10:00 | 2h ago | executed | 2.0s | no | – |\n\
\n*No layer sizes: stage `build` is not the target, and BuildKit keeps only the target stage's image (sizes come from the engine's image history).*\n\
\n**Error**\n\n```text\nprocess \"/bin/sh -c make\" did not complete successfully: exit code: 2\n```\n\
\n**Last output** (3 lines in all)\n\n\
````text\nsee [docs](command:workbench.action.terminal.new) <b>x</b>\n``` fence\n````\n";
        assert_eq!(md, expect);
    }

    #[test]
    fn the_layer_from_the_image_history_is_shown_fenced() {
        let mut view = failing_view();
        let mut ok = run(StepStatus::Executed, Some(2_000));
        ok.size_bytes = Some(2_097_152);
        let created_by = "RUN /bin/sh -c dd if=/dev/zero of=/blob bs=1M count=2 # [x](command:evil) buildkit".to_string();
        ok.layer = Some(LayerNote { created_by, created: Some(1_795_500_000), id: None, image_size: 6_000_000 });
        view.history = vec![ok.clone()];
        view.last = Some(ok);
        let md = markdown(&view, &[], now(), 10, None).unwrap();
        assert!(md.contains("| 2.1 MB |"), "{md}");
        assert!(
            md.contains("**Layer** 2.1 MB · created 2026-11-24 06:00 UTC") && md.contains(" · image 6.0 MB\n\n```text\nRUN /bin/sh -c dd"),
            "{md}"
        );
        assert!(!md.contains("\n[x](command:evil)"), "CreatedBy stays inside the fence: {md}");
    }

    #[test]
    fn the_cause_and_its_chain_are_escaped() {
        use crate::analysis::explain::{Cause, StepCause};
        let step = |line: u32, kind, detail: &str, instruction: &str| StepCause {
            line,
            end_line: line,
            keyword: "RUN".into(),
            instruction: instruction.into(),
            status: StepStatus::Executed,
            duration_ms: None,
            cause: Cause { kind, root_line: 8, detail: detail.into() },
            root_kind: CauseKind::InputsChanged,
            root_keyword: "COPY".into(),
        };
        let e = Explained {
            from: Some("b1".into()),
            to: "b2".into(),
            steps: vec![
                step(8, CauseKind::InputsChanged, "its inputs changed ([x](command:y))", "COPY . ."),
                step(9, CauseKind::ParentRebuilt, "line 8 (COPY . .) was not cached: its inputs changed", "RUN make"),
            ],
            advice: vec![],
        };
        let md = cause_markdown(&e, &notes(None), 9);
        assert!(
            md.starts_with("\n**Why it ran** (against build #1): rebuilt because line 8 (COPY . .) was not cached: its inputs changed\n"),
            "{md}"
        );
        assert!(!md.contains("parent-rebuilt") && md.contains("```text\nline 8 COPY . .\nline 9 RUN make\n```"), "{md}");
        assert!(cause_markdown(&e, &[], 9).starts_with("\n**Why it ran** (against build `b1`)"), "an unnumbered id as code");
        assert!(cause_markdown(&e, &[], 8).contains("(\\[x\\](command:y))"), "escaped");
        assert_eq!(cause_markdown(&e, &[], 10), "");
    }

    #[test]
    fn depth_limits_rows_and_no_run_means_no_hover() {
        let md = markdown(&failing_view(), &[], now(), 1, None).unwrap();
        assert!(md.contains("| 5m ago |") && !md.contains("| 2h ago |"));
        let mut v = failing_view();
        v.last = None;
        assert_eq!(markdown(&v, &[], now(), 10, None), None);
    }

    #[test]
    fn a_last_run_from_an_older_build_says_where_the_newest_stopped() {
        let mut v = failing_view();
        v.history.pop();
        v.last = v.history.last().cloned();
        let md = markdown(&v, &notes(Some(16)), now(), 10, None).unwrap();
        assert!(md.contains("\n\n*From build #1; #2 stopped at line 16.*\n\n**History**"), "{md}");
        assert!(markdown(&v, &notes(None), now(), 10, None).unwrap().contains("*From build #1; #2 did not run it.*"));
        assert!(
            !markdown(&failing_view(), &notes(Some(5)), now(), 10, Some("final")).unwrap().contains("From build"),
            "the newest build's own run"
        );
    }

    /// What a reader sees: ids, paths and names without backslash escapes (Neovim shows escapes as typed and
    /// hides only code-span backticks), and hostile log text that stays text in a CommonMark renderer.
    #[test]
    fn rendered_without_stray_escapes_and_log_text_neutralised() {
        let mut v = failing_view();
        v.stage = Some("stage-2".into());
        v.history.pop();
        let mut older = v.history[0].clone();
        older.build = "20261124T083052.049Z-06c0".into();
        older.warnings = vec!["[x](command:foo) <img src=x> `tick` ![i](http://e/i.png) www.evil.example".into()];
        v.history = vec![older.clone()];
        v.last = Some(older);
        let builds = vec![BuildNote { id: "20261124T083104.046Z-b5b3".into(), number: 3, started: None, failed_line: Some(16) }];
        let md = markdown(&v, &builds, now(), 10, None).unwrap();
        assert!(md.contains("stage `stage-2`") && md.contains("*From build `20261124T083052.049Z-06c0`; #3 stopped at line 16.*"), "{md}");
        for span in code_spans(&md) {
            assert!(!span.contains('\\'), "an escape inside a code span shows as typed: {span:?} in {md}");
        }
        // The hostile warning: every construct broken by an escape, nothing else touched.
        let warning = md.lines().find(|l| l.starts_with('⚠')).unwrap();
        assert_eq!(warning, "⚠ \\[x\\](command:foo) \\<img src=x\\> \\`tick\\` !\\[i\\](http\\://e/i.png) www\\.evil.example");
    }
}
