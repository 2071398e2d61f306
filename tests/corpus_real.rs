//! What the parsers read from the real logs of other projects (`../shared/corpus/real/`, never copied
//! into this repository): their step names, `Dockerfile:N` / `>>>` blocks, results and errors. Their
//! Dockerfiles are other projects' code and are not shipped; where the corpus has one beside its log, it
//! is read from there for the mapping onto lines.

use buildlens::log::{parse_bytes, Build, BuildResult, Format, ParsedLog, StepStatus};

fn parse(name: &str) -> ParsedLog {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (CI has ../shared beside the repository)", path.display()));
    parse_bytes(&bytes)
}

/// A Dockerfile kept beside a corpus log (`<log>.<file>`).
fn beside(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn only_build(parsed: &ParsedLog) -> &Build {
    assert_eq!(parsed.builds.len(), 1, "builds: {:?}", parsed.builds.iter().map(|b| b.result).collect::<Vec<_>>());
    &parsed.builds[0]
}

fn step<'a>(build: &'a Build, name_start: &str) -> &'a buildlens::log::Step {
    build.steps.iter().find(|s| s.name.starts_with(name_start)).unwrap_or_else(|| panic!("no step named {name_start}…"))
}

#[test]
fn github_actions_multiplatform_failure_reads_the_dockerfile_block() {
    let parsed = parse("gha-crm-multiplatform-fail.log");
    // The setup-buildx step boots the builder (`#1 [internal] booting buildkit`) before the real build:
    // that is no build of a Dockerfile.
    let build = only_build(&parsed);
    assert_eq!((build.format, build.result), (Format::BuildkitPlain, BuildResult::Failed));
    assert_eq!(build.dockerfile.as_deref(), Some("app.Dockerfile"));
    assert!(build.error.as_deref().unwrap_or("").starts_with("ERROR: failed to build: failed to solve:"), "{:?}", build.error);
    for platform in ["linux/amd64", "linux/arm64"] {
        let s = step(build, &format!("[{platform} stage-0  9/17] COPY package.json package-lock.json ./"));
        assert_eq!((s.status, s.k, s.n), (StepStatus::Error, Some(9), Some(17)));
        assert_eq!(s.platform.as_deref(), Some(platform));
        assert_eq!(s.dockerfile_lines, Some([44, 44]), "the `app.Dockerfile:44` block with its `>>>` line");
    }
    assert!(build.started.is_some() && build.finished.is_some(), "GitHub Actions timestamps give the build's times");
}

#[test]
fn cancelled_build_keeps_its_warning_and_cancelled_step() {
    let build = only_build(&parse("bk-plain-jetson-ros-warn-canceled.log")).clone();
    assert_eq!(build.result, BuildResult::Canceled);
    assert_eq!(build.dockerfile.as_deref(), Some("Dockerfile.ros.foxy.ubuntu18"));
    let def = step(&build, "[internal] load build definition");
    assert!(def.warnings.iter().any(|w| w.contains("Empty continuation line")), "{:?}", def.warnings);
    let canceled: Vec<_> = build.steps.iter().filter(|s| s.status == StepStatus::Canceled).collect();
    assert_eq!(canceled.len(), 1);
    assert_eq!((canceled[0].stage.as_deref(), canceled[0].k, canceled[0].n), (Some("stage-0"), Some(20), Some(24)));
}

#[test]
fn padded_step_numbers_and_lookalike_output_are_read_right() {
    let build = only_build(&parse("bk-plain-zkevm-lean-crlf-unicode.log")).clone();
    assert_eq!(build.result, BuildResult::Success);
    let first = step(&build, "[ 1/21] FROM docker.io/library/ubuntu:22.04");
    assert_eq!((first.k, first.n, first.stage.as_deref()), (Some(1), Some(21), None));
    // Lake prints `[8/9]` in its own output: that is output, not a step.
    assert!(build.steps.iter().filter(|s| s.k.is_some()).all(|s| s.n == Some(21)));
}

#[test]
fn long_crlf_build_with_a_named_dockerfile() {
    let build = only_build(&parse("bk-plain-xeus-lean-wasm-long-crlf.log")).clone();
    assert_eq!((build.result, build.dockerfile.as_deref()), (BuildResult::Success, Some("Dockerfile.wasm")));
    let s = step(&build, "[builder  1/16] FROM ghcr.io/prefix-dev/pixi:latest");
    assert_eq!((s.stage.as_deref(), s.k, s.n), (Some("builder"), Some(1), Some(16)));
    assert!(build.steps.iter().all(|s| !s.name.ends_with('\r')), "CRLF is not part of any name");
}

#[test]
fn powershell_utf16_log_is_decoded_and_its_wrapped_lines_rejoined() {
    let build = only_build(&parse("bk-plain-gerapy-powershell-utf16le.log")).clone();
    assert_eq!(build.result, BuildResult::Running, "the paste ends mid-build");
    let from = step(&build, "[build 1/8] FROM docker.1ms.run/library/python:3.10-slim@sha256:");
    assert!(from.name.ends_with("d705d224457"), "the header wrapped at the console width is rejoined: {}", from.name);
    assert!(step(&build, "[build 2/8] WORKDIR /app").status == StepStatus::Cached);
}

#[test]
fn compose_logs_put_services_out_of_the_stage_slot() {
    let build = only_build(&parse("compose-plain-listekdo-crlf-truncated.log")).clone();
    let s = step(&build, "[web  1/10] FROM docker.io/library/debian:jessie");
    assert_eq!((s.service.as_deref(), s.stage.as_deref(), s.k), (Some("web"), None, Some(1)));
    assert_eq!(build.result, BuildResult::Running, "the log is truncated");

    let build = only_build(&parse("compose-bk-plain-reproducer-compose-buildx-context-fail.log")).clone();
    assert_eq!(build.result, BuildResult::Failed);
    let failed = build.steps.iter().find(|s| s.status == StepStatus::Error).expect("a failed step");
    assert!(failed.error.as_deref().unwrap_or("").contains("service-a:local: not found"), "{:?}", failed.error);
}

#[test]
fn legacy_and_podman_real_logs() {
    let build = only_build(&parse("legacy-sc4da-pull-cr-ansi.log")).clone();
    assert_eq!((build.format, build.result, build.steps.len()), (Format::Legacy, BuildResult::Success, 32));
    assert_eq!(build.steps[31].instruction.as_deref(), Some("USER ${USER}"), "legacy steps keep the text as written");

    let build = only_build(&parse("podman-ipxe-shim-review.log")).clone();
    assert_eq!((build.format, build.result), (Format::Podman, BuildResult::Success));
    let first = &build.steps[0];
    assert_eq!((first.stage_index, first.k, first.n, first.stage.as_deref()), (Some(1), Some(1), Some(4), Some("toolchain")));
}

#[test]
fn multiarch_push_build_names_its_stages() {
    let build = only_build(&parse("bk-plain-putty-docker-container-push-multiarch-builder.log")).clone();
    assert_eq!(build.result, BuildResult::Success);
    assert_eq!(step(&build, "[builder 1/7]").stage.as_deref(), Some("builder"));
    assert_eq!(step(&build, "[production 1/3]").stage.as_deref(), Some("production"));
}

/// Class 9 of issue 13: the build checks' warnings of a real log, each on its line; the Dockerfile beside
/// the log was edited after the build (three lines fewer above the failed COPY: `Dockerfile:88` is line 85
/// today), so the warnings' lines move with it and land on the ENV instructions they name.
#[test]
fn build_check_warnings_land_on_their_env_lines_after_edits() {
    let parsed = parse("bk-desktop-copy-not-found-dockerfile-edited-since.log");
    let build = parsed.builds.iter().find(|b| b.result == BuildResult::Failed).expect("the failed build");
    let printed: Vec<(u32, Option<&str>)> = build.warnings.iter().map(|w| (w.line, w.code.as_deref())).collect();
    let legacy = Some("LegacyKeyValueFormat");
    assert_eq!(printed, vec![(36, legacy), (80, legacy), (81, legacy), (103, legacy), (104, legacy)], "behind ANSI colour");
    assert_eq!(build.error_lines, Some([88, 88]));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/real/bk-desktop-copy-not-found-dockerfile-edited-since.Dockerfile");
    let text = std::fs::read_to_string(path).unwrap();
    let rb = buildlens::analysis::RecordedBuild {
        id: "b".into(),
        started: None,
        build: build.clone(),
        log_path: "/b.log".into(),
        live: false,
        built_dockerfile: None,
    };
    let a = buildlens::analysis::annotate(&text, &[rb]);
    let lines: Vec<u32> = a.instructions.iter().flat_map(|v| v.checks.iter().map(|c| c.line)).collect();
    assert_eq!(lines, vec![33, 77, 78, 100, 101]);
    assert!(a.instructions.iter().filter(|v| !v.checks.is_empty()).all(|v| v.keyword == "ENV"));
    let failed: Vec<u32> =
        a.instructions.iter().filter(|v| v.last.as_ref().is_some_and(|r| r.status == StepStatus::Error)).map(|v| v.line).collect();
    assert_eq!(failed, vec![85], "the failure stays on the COPY, not on the old line number");
}

/// Class 10 of issue 13: each platform's step of a real multi-platform log keeps its own platform, and
/// the failed build keeps the line of its error block.
#[test]
fn multiplatform_steps_keep_their_platform_and_the_error_line() {
    let parsed = parse("gha-crm-multiplatform-fail.log");
    let build = parsed.builds.iter().find(|b| b.dockerfile.as_deref() == Some("app.Dockerfile")).expect("the app build");
    assert_eq!(build.error_lines, Some([44, 44]));
    for k in 1..=9u32 {
        let platforms: Vec<_> = build.steps.iter().filter(|s| s.k == Some(k)).filter_map(|s| s.platform.as_deref()).collect();
        assert!(platforms.contains(&"linux/amd64") && platforms.contains(&"linux/arm64"), "step {k}: {platforms:?}");
    }
}

/// `[k/n]` steps of a build.
fn counted(build: &Build) -> Vec<&buildlens::log::Step> {
    build.steps.iter().filter(|s| s.k.is_some()).collect()
}

#[test]
fn setup_buildx_boot_is_not_a_build() {
    // .source.txt facts: 1 build (the buildx bootstrap vertex is not a build of the Dockerfile), failed;
    // 19 [k/n] steps all DONE (0 cached); the error belongs to 'exporting to image' (#27), no step is failed.
    let build = only_build(&parse("gha-safework-push-401-at-export.log")).clone();
    assert_eq!((build.format, build.result), (Format::BuildkitPlain, BuildResult::Failed));
    assert!(build.steps.iter().all(|s| !s.name.contains("booting buildkit")));
    let steps = counted(&build);
    assert_eq!(steps.len(), 19);
    assert!(steps.iter().all(|s| s.status == StepStatus::Executed), "every [k/n] step DONE");
    let failed: Vec<_> = build.steps.iter().filter(|s| s.status == StepStatus::Error).map(|s| s.name.as_str()).collect();
    assert_eq!(failed, vec!["exporting to image"]);
    assert!(build.error.as_deref().unwrap_or("").contains("401 Unauthorized"), "{:?}", build.error);
}

#[test]
fn no_real_log_has_a_build_without_a_dockerfile_step_beside_others() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
    let mut logs: Vec<_> = std::fs::read_dir(&dir).expect("corpus/real").flatten().map(|e| e.path()).collect();
    logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
    assert!(logs.len() >= 10, "{}", logs.len());
    for path in logs {
        let parsed = parse_bytes(&std::fs::read(&path).expect("read"));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for build in &parsed.builds {
            assert!(build.steps.iter().all(|s| !s.name.starts_with("#0")), "{name}: a step #0");
            if parsed.builds.len() > 1 {
                assert!(!counted(build).is_empty() || build.error.is_some(), "{name}: a build of 0 steps beside others");
            }
        }
    }
}

#[test]
fn ssh_action_err_prefix_is_learned_and_both_builds_read() {
    // Every BuildKit line reads `<timestamp> err: #N ...` (drone-ssh hands the remote stderr back).
    let parsed = parse("gitea-ssh-action-err-prefix-two-sequential-builds.log");
    assert_eq!(parsed.builds.len(), 2, "{:?}", parsed.problems);
    let instructions = |b: &Build| b.steps.iter().filter(|s| s.k.is_some()).count();
    let count = |b: &Build, status| b.steps.iter().filter(|s| s.k.is_some() && s.status == status).count();
    let backend = &parsed.builds[0];
    assert_eq!((backend.format, backend.result), (Format::BuildkitPlain, BuildResult::Failed));
    assert_eq!((instructions(backend), count(backend, StepStatus::Cached)), (11, 9));
    let failed = step(backend, "[build 9/9] RUN pnpm --filter backend deploy --prod");
    assert_eq!(failed.status, StepStatus::Error);
    assert_eq!(failed.exit_code, Some(1));
    assert_eq!(failed.dockerfile_lines, Some([47, 47]));
    assert!(backend.error.as_deref().unwrap_or("").starts_with("ERROR: failed to solve:"), "{:?}", backend.error);
    let frontend = &parsed.builds[1];
    assert_eq!((frontend.format, frontend.result), (Format::BuildkitPlain, BuildResult::Success));
    assert_eq!((instructions(frontend), count(frontend, StepStatus::Cached), count(frontend, StepStatus::Executed)), (15, 10, 5));
    assert_eq!(step(frontend, "[build 8/8] RUN cd frontend && pnpm run build").output.lines, 103);
}

#[test]
fn names_cut_in_a_copied_tty_frame_are_not_changes() {
    let build = only_build(&parse("tty-final-frame-copied-no-ansi.log")).clone();
    let cut: Vec<&str> = build.steps.iter().filter(|s| s.clipped).map(|s| s.name.as_str()).collect();
    assert_eq!(cut.len(), 3, "the FROM, RUN and metadata rows reach the time column: {cut:?}");
    let dockerfile = beside("tty-final-frame-copied-no-ansi.Dockerfile");
    let recorded = |built: Option<&str>| buildlens::analysis::RecordedBuild {
        id: "b".into(),
        started: None,
        build: build.clone(),
        log_path: "/b.log".into(),
        live: false,
        built_dockerfile: built.map(Into::into),
    };
    for built in [None, Some(dockerfile.as_str())] {
        let annotated = buildlens::analysis::annotate(&dockerfile, &[recorded(built)]);
        let placed: Vec<(u32, bool)> =
            annotated.instructions.iter().filter(|v| v.last.is_some()).map(|v| (v.line, v.changed_since_build)).collect();
        assert_eq!(placed, [(1, false), (3, false), (4, false)], "snapshot: {}", built.is_some());
    }
    // An edit inside the shown part of the cut RUN is seen.
    let edited = dockerfile.replacen("ssc install estout", "ssc install esttab", 1);
    let annotated = buildlens::analysis::annotate(&edited, &[recorded(None)]);
    assert!(annotated.instructions.iter().any(|v| v.line == 4 && v.changed_since_build));
}

#[test]
fn masked_vertex_number_is_still_a_step() {
    // `#*** [production 4/9] RUN apk add --no-cache curl` / `#*** CACHED`: the Gitea runner masked the
    // secret "22" in the vertex number. .source.txt: production 4/9 (the '#***' one) cached.
    let parsed = parse("gitea-parallel-two-buildkit-builds-interleaved-masked.log");
    let masked: Vec<_> = parsed
        .builds
        .iter()
        .flat_map(|b| &b.steps)
        .filter(|s| s.name == "[production 4/9] RUN apk add --no-cache curl")
        .map(|s| (s.stage.as_deref(), s.k, s.n, s.status))
        .collect();
    assert_eq!(masked, vec![(Some("production"), Some(4), Some(9), StepStatus::Cached)]);
}

#[test]
fn two_builds_printed_at_once_with_the_same_numbers_are_read_apart() {
    // Facts from the log's .source.txt: a backend build that fails at `[build  8/10]` and a frontend
    // build that succeeds, both numbering their vertexes #1, #2, … at the same time.
    let parsed = parse("gitea-parallel-two-buildkit-builds-interleaved-masked.log");
    assert_eq!(parsed.builds.len(), 2, "{:?}", parsed.builds.iter().map(|b| b.steps.len()).collect::<Vec<_>>());
    let (backend, frontend) = (&parsed.builds[0], &parsed.builds[1]);
    let kn = |b: &Build| b.steps.iter().filter(|s| s.k.is_some()).cloned().collect::<Vec<_>>();
    let count = |steps: &[buildlens::log::Step], status| steps.iter().filter(|s| s.status == status).count();

    assert_eq!(backend.result, BuildResult::Failed);
    let back = kn(backend);
    assert_eq!((back.len(), count(&back, StepStatus::Cached)), (10, 7));
    assert_eq!(
        (step(backend, "[build  7/10] COPY backend/").status, step(backend, "[build  7/10] COPY backend/").duration_ms),
        (StepStatus::Executed, Some(8500))
    );
    let failed = step(backend, "[build  8/10] RUN cd backend");
    assert_eq!((failed.status, failed.exit_code, failed.dockerfile_lines), (StepStatus::Error, Some(1), Some([47, 49])));
    assert!(back.iter().all(|s| s.n == Some(6) || s.n == Some(10)), "no frontend step in the backend build");

    assert_eq!(frontend.result, BuildResult::Success);
    let front = kn(frontend);
    assert!(front.iter().all(|s| s.n != Some(10)), "no backend step in the frontend build");
    assert_eq!(step(frontend, "[deps 5/6] COPY frontend/package.json").duration_ms, Some(3700));
    assert_eq!(step(frontend, "[deps 6/6] RUN pnpm install").duration_ms, Some(66200));
    assert_eq!(step(frontend, "[build  5/13] COPY --from=deps").duration_ms, Some(28500));
    // 23 [k/n] steps, 6 cached; `#*** [production 4/9]` (a masked vertex number) is read by the plain
    // parser's masked-vertex handling, not by the router: at least the 22 others are here.
    assert!(front.len() >= 22 && count(&front, StepStatus::Cached) >= 5, "{}", front.len());
    assert!(front.iter().filter(|s| s.status != StepStatus::Cached).all(|s| s.status == StepStatus::Executed));
    assert!(parsed.builds.iter().all(|b| !b.problems.iter().any(|p| p.message.contains("by a guess"))));
}
