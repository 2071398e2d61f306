//! Predictions over a three-stage Dockerfile built twice (an older build that executed everything, and
//! the last one, where some steps came from the cache), edited in the ways an editor buffer is.

use std::path::PathBuf;

use super::Why::{AfterDeleted, Changed, Follows, InputsChanged, Inserted};
use super::*;
use crate::analysis::{annotate, RecordedBuild};
use crate::dockerfile;
use crate::log::{Build, Format, Step, StepStatus};

const BASE: &str = "FROM img AS sdk
WORKDIR /w
COPY a ./
RUN make tools
RUN make toolchain \\
    && make install
RUN make rust

FROM img AS other
RUN echo other

FROM img
COPY --from=sdk /w/bin /bin
RUN hello
CMD [\"hello\"]
";

/// Recorded times by the base text's line.
fn duration(line: u32) -> u64 {
    match line {
        2 => 100,
        3 => 200,
        4 => 1000,
        5 => 60_000,
        7 => 30_000,
        10 => 500,
        13 => 100,
        14 => 2000,
        _ => 0,
    }
}

/// A BuildKit build of `text`, as its plain log names the steps; `cached` lines came from the cache.
/// Stages on the same image share one FROM vertex, printed once (as BuildKit does).
fn build_of(text: &str, format: Format, cached: &[u32]) -> Build {
    let df = dockerfile::parse(text);
    let mut build = Build::new(format, 0);
    for stage in &df.stages {
        let counted = df.buildkit_counted(stage.index);
        let n = counted.len() as u32;
        for (k, &i) in counted.iter().enumerate() {
            let ins = &df.instructions[i];
            let printed = if ins.keyword == "FROM" { "FROM docker.io/library/img".to_string() } else { ins.joined.clone() };
            if k == 0 && stage.index > 0 && ins.keyword == "FROM" {
                continue;
            }
            let mut step = Step::named(format!("[{} {}/{n}] {printed}", stage.buildkit_name(), k + 1));
            (step.stage, step.k, step.n, step.instruction) = (Some(stage.buildkit_name()), Some(k as u32 + 1), Some(n), Some(printed));
            let is_cached = cached.contains(&ins.line);
            step.status = if is_cached { StepStatus::Cached } else { StepStatus::Executed };
            step.duration_ms = (!is_cached).then(|| duration(ins.line));
            build.steps.push(step);
        }
    }
    build
}

fn recorded(id: &str, build: Build) -> RecordedBuild {
    RecordedBuild { id: id.into(), started: None, build, log_path: PathBuf::from("/b.log"), live: false, built_dockerfile: None }
}

/// The older build executed every step; the last one took WORKDIR, COPY, tools and rust from the cache.
fn builds() -> Vec<RecordedBuild> {
    vec![recorded("b1", build_of(BASE, Format::BuildkitPlain, &[])), recorded("b2", build_of(BASE, Format::BuildkitPlain, &[2, 3, 4, 7]))]
}

fn predict_for(text: &str, inputs: &[u32], builds: &[RecordedBuild]) -> Prediction {
    let annotated = annotate(text, builds);
    let df = dockerfile::parse(text);
    predict(&df, &annotated, builds.last(), &inputs.iter().map(|&l| (l, vec![format!("src/{l}.c")])).collect())
}

/// `BASE` with `from` replaced by `to`, predicted: the (line, why) of every rebuild.
fn check(from: &str, to: &str, expect: &[(u32, Why)]) {
    assert!(BASE.contains(from), "{from:?}");
    let text = BASE.replacen(from, to, 1);
    let got: Vec<(u32, Why)> = predict_for(&text, &[], &builds()).rebuilds.iter().map(|r| (r.line, r.why)).collect();
    assert_eq!(got, expect, "{from:?} -> {to:?}");
}

const FINAL_STAGE: [(u32, Why); 2] = [(13, Follows), (14, Follows)];

#[test]
fn an_edit_in_the_middle_of_a_stage_rebuilds_the_rest_of_it_and_the_stages_built_on_it() {
    check("RUN make tools\n", "RUN make tools -j8\n", &[(4, Changed), (5, Follows), (7, Follows), FINAL_STAGE[0], FINAL_STAGE[1]]);
    check("RUN make rust", "RUN make rust --release", &[(7, Changed), FINAL_STAGE[0], FINAL_STAGE[1]]);
    check(
        "WORKDIR /w",
        "WORKDIR /x",
        &[(2, Changed), (3, Follows), (4, Follows), (5, Follows), (7, Follows), FINAL_STAGE[0], FINAL_STAGE[1]],
    );
    // No stage is built on `other`, and the final stage's own steps touch nothing before them.
    check("RUN echo other", "RUN echo others", &[(10, Changed)]);
    check("RUN hello", "RUN hello world", &[(14, Changed)]);
}

#[test]
fn a_continuation_line_is_part_of_the_instruction() {
    check("    && make install", "    && make install-strip", &[(5, Changed), (7, Follows), FINAL_STAGE[0], FINAL_STAGE[1]]);
}

#[test]
fn whitespace_blank_lines_and_comments_are_not_changes() {
    check("", "", &[]);
    check("RUN make tools\n", "RUN   make  tools   \n", &[]);
    check("RUN make tools\n", "\n\n# tools first\nRUN make tools\n\n", &[]);
    check("    && make install", "    # the install step\n    && make install", &[]);
    check("RUN make toolchain \\\n    && make install", "RUN make toolchain \\\n        && make install", &[]);
}

#[test]
fn an_inserted_instruction_is_a_change_also_at_the_end_of_a_stage() {
    let shifted = [(6, Follows), (8, Follows), (14, Follows), (15, Follows)];
    check("RUN make tools\n", "RUN make tools\nRUN make patch\n", &[(5, Inserted), shifted[0], shifted[1], shifted[2], shifted[3]]);
    check("RUN make rust\n", "RUN make rust\nRUN make docs\n", &[(8, Inserted), (14, Follows), (15, Follows)]);
    // BuildKit shows no ENV step: an ENV added cannot be told from one that was there (see the README).
    check("RUN make rust\n", "ENV X=1\nRUN make rust\n", &[]);
}

#[test]
fn a_deleted_instruction_makes_the_next_of_its_stage_the_first_changed() {
    check("RUN make tools\n", "", &[(4, AfterDeleted), (6, Follows), (12, Follows), (13, Follows)]);
    check("COPY a ./\n", "", &[(3, AfterDeleted), (4, Follows), (6, Follows), (12, Follows), (13, Follows)]);
    // The stage's last step gone: nothing of the stage is left to rerun, but what copies from it is.
    check("RUN make rust\n", "", &[(12, Follows), (13, Follows)]);
}

#[test]
fn a_stage_from_an_edited_stage_rebuilds_whole() {
    let text = "FROM img AS base\nRUN make base\n\nFROM base AS test\nCOPY t ./\nRUN make test\nENV A=1\n";
    let b = vec![recorded("b1", build_of(text, Format::BuildkitPlain, &[]))];
    let edited = text.replace("make base", "make base V=1");
    let got: Vec<(u32, Why)> = predict_for(&edited, &[], &b).rebuilds.iter().map(|r| (r.line, r.why)).collect();
    assert_eq!(got, [(2, Changed), (5, Follows), (6, Follows)]);
}

#[test]
fn copies_whose_inputs_changed_are_roots_too() {
    let p = predict_for(BASE, &[3, 14], &builds());
    let got: Vec<(u32, Why)> = p.rebuilds.iter().map(|r| (r.line, r.why)).collect();
    // Line 14 is a RUN: only COPY/ADD lines take the caller's word.
    assert_eq!(got, [(3, InputsChanged), (4, Follows), (5, Follows), (7, Follows), FINAL_STAGE[0], FINAL_STAGE[1]]);
    assert_eq!(p.summary().unwrap(), "changed src/3.c: rebuilds 6 steps, about 2m (last times)");
    // Each rebuild names its root: the COPY whose files changed, and it names them.
    let roots: Vec<(u32, u32)> = p.rebuilds.iter().map(|r| (r.line, r.root_line)).collect();
    assert_eq!(roots, [(3, 3), (4, 3), (5, 3), (7, 3), (13, 3), (14, 3)]);
    assert_eq!((p.rebuilds[0].files.as_slice(), p.rebuilds[0].files_total), (&["src/3.c".to_string()][..], 1));
    assert!(p.rebuilds[1].files.is_empty(), "a follower names no files");
}

#[test]
fn changed_files_are_named_first_few_then_counted() {
    let many: ChangedInputs = [(3, (0..7).map(|i| format!("f{i}")).collect())].into();
    let text = BASE;
    let annotated = annotate(text, &builds());
    let p = predict(&dockerfile::parse(text), &annotated, builds().last(), &many);
    assert_eq!(p.files_named(), "f0, f1 and 5 more");
    assert_eq!(p.rebuilds[0].files, ["f0", "f1", "f2"], "FILES_NAMED kept, the rest counted");
    assert_eq!(p.rebuilds[0].files_total, 7);
}

#[test]
fn an_edited_line_keeps_what_the_build_ran_and_followers_name_it() {
    let p = predict_for(&BASE.replace("make tools", "make tools V=1"), &[], &builds());
    let first = p.rebuilds.first().unwrap();
    assert_eq!((first.line, first.why, first.was.as_deref()), (4, Changed, Some("RUN make tools")));
    assert!(p.rebuilds.iter().skip(1).all(|r| r.root_line == 4 && r.was.is_none()), "{:?}", p.rebuilds);
}

#[test]
fn the_estimate_uses_the_last_executed_time_and_says_what_is_unknown() {
    let p = predict_for(&BASE.replace("make toolchain", "make toolchain V=1"), &[], &builds());
    // 60 s (toolchain, last build) + 30 s (rust: cached last time, executed before) + 0.1 s + 2 s.
    assert_eq!(p.estimate(), (92_100, 0));
    assert_eq!(p.first().map(|r| r.line), Some(5));
    assert_eq!(p.summary().unwrap(), "this edit rebuilds 4 steps, about 2m (last times)");
    let p = predict_for(&BASE.replace("RUN make rust\n", "RUN make rust\nRUN make docs\n"), &[], &builds());
    assert_eq!(p.summary().unwrap(), "this edit rebuilds 3 steps, about 2s (last times; 1 step unknown)");
    let p = predict_for(&BASE.replace("RUN hello", "RUN hello\nRUN bye"), &[], &builds());
    assert_eq!(p.summary().unwrap(), "this edit rebuilds 1 step (no recorded time)");
    assert_eq!(predict_for(BASE, &[], &builds()).summary(), None);
    assert_eq!(predict_for(&BASE.replace("make tools", "make tools V=1"), &[], &[]).summary(), None, "no records, no prediction");
}

#[test]
fn classic_builder_logs_show_every_instruction() {
    let text = "FROM img\nENV A=1\nRUN make\n";
    let df = dockerfile::parse(text);
    let mut build = Build::new(Format::Legacy, 0);
    for (k, ins) in df.instructions.iter().enumerate() {
        let mut step = Step::named(format!("Step {}/3 : {}", k + 1, ins.joined));
        (step.k, step.n, step.instruction, step.status) = (Some(k as u32 + 1), Some(3), Some(ins.joined.clone()), StepStatus::Executed);
        build.steps.push(step);
    }
    let b = vec![recorded("b1", build)];
    let got: Vec<(u32, Why)> =
        predict_for("FROM img\nENV A=1\nENV B=2\nRUN make\n", &[], &b).rebuilds.iter().map(|r| (r.line, r.why)).collect();
    assert_eq!(got, [(3, Inserted), (4, Follows)]);
}

#[test]
fn estimates_read_as_rounded_times() {
    for (ms, text) in [(400, "under 1s"), (11_400, "about 11s"), (59_400, "about 59s"), (92_100, "about 2m"), (2_832_000, "about 47m")] {
        assert_eq!(about(ms), text);
    }
    assert_eq!(about(3_570_000), "about 1h00m");
    assert_eq!(about(7_500_000), "about 2h05m");
}
