//! The planner without a daemon: which step is chosen, and the exact docker commands.

use std::path::{Path, PathBuf};

use super::plan::{self, Inputs, Options, Plan};
use super::*;
use crate::store::{RecordMeta, Source};

const DF: &str = "FROM a\nRUN mkdir /work && touch /work/before\nRUN touch /work/after && exit 3\n";

const LEGACY: &str = "Step 1/3 : FROM a\n ---> 111111111111\nStep 2/3 : RUN mkdir /work && touch /work/before\n ---> Running in 999999999999\n ---> 222222222222\nStep 3/3 : RUN touch /work/after && exit 3\n ---> Running in 888888888888\nThe command '/bin/sh -c touch /work/after && exit 3' returned a non-zero code: 3\n";

const BUILDKIT: &str = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/3] FROM docker.io/library/a\n#2 DONE 0.0s\n\n#3 [2/3] RUN mkdir /work && touch /work/before\n#3 DONE 0.1s\n\n#4 [3/3] RUN touch /work/after && exit 3\n#4 ERROR: executor failed running [/bin/sh -c touch /work/after && exit 3]: exit code: 3\n------\n > [3/3] RUN touch /work/after && exit 3:\n------\nerror: failed to solve: executor failed running [/bin/sh -c touch /work/after && exit 3]: exit code: 3\n";

const PASSING: &str = "#2 [1/3] FROM docker.io/library/a\n#2 DONE 0.0s\n\n#3 [2/3] RUN mkdir /work && touch /work/before\n#3 CACHED\n\n#4 [3/3] RUN touch /work/after && exit 3\n#4 DONE 0.1s\n\n#5 exporting to image\n#5 writing image sha256:0123456789abcdef0123 done\n#5 DONE 0.1s\n";

fn builds(logs: &[&str]) -> Vec<RecordedBuild> {
    let one = |(i, log): (usize, &&str)| {
        let build = crate::log::parse_bytes(log.as_bytes()).builds.into_iter().next().expect("a build");
        RecordedBuild {
            id: format!("b{}", i + 1),
            started: None,
            build,
            log_path: PathBuf::from("/s/build.log"),
            live: false,
            built_dockerfile: None,
        }
    };
    logs.iter().enumerate().map(one).collect()
}

fn chosen(df: &str, logs: &[&str], line: Option<u32>) -> Result<(String, u32), DebugError> {
    let df = crate::dockerfile::parse(df);
    let builds = builds(logs);
    let f = choose(&df, &builds, line)?;
    Ok((builds[f.build].id.clone(), df.instructions[f.instruction].line))
}

fn meta(command: &str) -> RecordMeta {
    let mut m = RecordMeta::new("b1".into(), Source::Record, String::new());
    m.command = command.split_whitespace().map(String::from).collect();
    m.build_args = vec![("V".into(), Some("2".into())), ("FROM_ENV".into(), None)];
    m
}

fn planned(df: &str, log: &str, line: Option<u32>, exec: Option<&str>, keep: bool) -> Result<Plan, DebugError> {
    planned_with(df, log, line, exec, keep, false)
}

fn planned_with(df: &str, log: &str, line: Option<u32>, exec: Option<&str>, keep: bool, classic: bool) -> Result<Plan, DebugError> {
    let parsed = crate::dockerfile::parse(df);
    let builds = builds(&[log]);
    let failed = choose(&parsed, &builds, line)?;
    let meta = meta("docker build --network=none -t x .");
    let inputs = Inputs { meta: Some(&meta), context: Some(PathBuf::from("/ctx")), copy: Path::new("/tmp/d/Dockerfile") };
    let opts = Options { shell: "sh".into(), exec: exec.map(String::from), keep, tty: true, classic };
    plan::plan(&parsed, df, &builds, failed, &inputs, &opts)
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(String::from).collect()
}

#[test]
fn choosing_the_failed_step() {
    assert_eq!(chosen(DF, &[BUILDKIT], None), Ok(("b1".into(), 3)));
    assert_eq!(chosen(DF, &[LEGACY], None), Ok(("b1".into(), 3)));
    assert_eq!(chosen(DF, &[BUILDKIT], Some(3)), Ok(("b1".into(), 3)));
    // A later passing build: the line still finds the build where it failed; the default does not.
    assert_eq!(chosen(DF, &[BUILDKIT, PASSING], Some(3)), Ok(("b1".into(), 3)));
    assert!(matches!(chosen(DF, &[BUILDKIT, PASSING], None), Err(DebugError::LastDidNotFail { how: "succeeded", .. })));
    assert!(matches!(chosen(DF, &[], None), Err(DebugError::NoRecord)));
    assert_eq!(chosen(DF, &[BUILDKIT], Some(9)), Err(DebugError::NoInstruction(9)));
    let never = chosen(DF, &[BUILDKIT], Some(2)).unwrap_err();
    assert_eq!(never.to_string(), "the step at line 2 never failed in the 1 recorded build(s); the last build failed at line 3");
    assert_eq!(never.suggested_line(), Some(3));
    assert!(matches!(chosen("FROM b\nCOPY x y\n", &[BUILDKIT], None), Err(DebugError::Unmapped(_))));
}

#[test]
fn legacy_runs_the_image_of_the_step_before() {
    let p = planned(DF, LEGACY, None, Some("ls /work"), false).unwrap();
    assert!(p.legacy);
    let mut run = words("run --rm --network=none --entrypoint sh 222222222222 -c");
    run.push("ls /work".into());
    assert_eq!(p.run, run);
    assert_eq!((p.build, p.truncated, p.cleanup), (None, None, None));
    assert_eq!(p.checks.len(), 1);
    assert_eq!(p.checks[0].image, "222222222222");
    assert_eq!(p.rerun.as_deref(), Some("touch /work/after && exit 3"));
    assert!(p.env.is_empty());
    // No image id for the step before (a cut log): a clear error, not a guess.
    let cut = LEGACY.replace(" ---> 222222222222\n", "");
    assert_eq!(planned(DF, &cut, None, None, false).unwrap_err(), DebugError::NoImageId { line: 3, k: 3, prev: 2 });
}

#[test]
fn buildkit_builds_the_dockerfile_cut_before_the_step() {
    let p = planned(DF, BUILDKIT, None, None, false).unwrap();
    assert!(!p.legacy);
    assert_eq!(p.truncated.as_deref(), Some("FROM a\nRUN mkdir /work && touch /work/before\n"));
    let build = "build --progress=plain --network=none --build-arg V=2 --build-arg FROM_ENV -f /tmp/d/Dockerfile -t buildlens-debug:3 /ctx";
    assert_eq!(p.build, Some(words(build)));
    assert_eq!(p.env, vec![("DOCKER_BUILDKIT".to_string(), "1".to_string())]);
    // DOCKER_BUILDKIT=0 (a CLI without buildx): the classic builder, which takes no --progress.
    let classic = planned_with(DF, BUILDKIT, None, None, false, true).unwrap();
    assert_eq!(classic.build, Some(words(&build.replace("--progress=plain ", ""))));
    assert_eq!(classic.env, vec![("DOCKER_BUILDKIT".to_string(), "0".to_string())]);
    assert_eq!(p.run, words("run --rm -it --network=none --entrypoint sh buildlens-debug:3"));
    assert_eq!(p.cleanup, Some(words("rmi buildlens-debug:3")));
    assert_eq!(p.checks.iter().map(|c| c.image.as_str()).collect::<Vec<_>>(), vec!["a"]);
    let kept = planned(DF, BUILDKIT, None, Some("ls /work"), true).unwrap();
    assert_eq!(kept.cleanup, None);
    let mut run = words("run --rm --network=none --entrypoint sh buildlens-debug:3 -c");
    run.push("ls /work".into());
    assert_eq!(kept.run, run);
}

#[test]
fn buildkit_needs_a_context_and_a_step_after_from() {
    let parsed = crate::dockerfile::parse(DF);
    let builds = builds(&[BUILDKIT]);
    let failed = choose(&parsed, &builds, None).unwrap();
    let inputs = Inputs { meta: None, context: None, copy: Path::new("/x") };
    let opts = Options { shell: "bash".into(), exec: None, keep: false, tty: false, classic: false };
    assert_eq!(plan::plan(&parsed, DF, &builds, failed, &inputs, &opts), Err(DebugError::NoContext));
    let from = Failed { instruction: 0, ..failed };
    assert_eq!(plan::plan(&parsed, DF, &builds, from, &inputs, &opts), Err(DebugError::FromFailed(1)));
}

#[test]
fn base_images_of_the_stages_the_step_needs() {
    let df = "ARG V=1\nFROM x:${V} AS gen\nFROM b AS tools\nRUN t\nFROM c AS unused\nFROM tools\nCOPY --from=gen /a /a\nCOPY --from=img:1 /b /b\nRUN mkdir /work\nRUN boom\nCOPY --from=late:1 /c /c\n";
    let log = "#1 [tools 1/2] FROM docker.io/library/b\n#1 DONE 0.0s\n#2 [tools 2/2] RUN t\n#2 DONE 0.1s\n#3 [stage-3 4/6] RUN mkdir /work\n#3 DONE 0.1s\n#4 [stage-3 5/6] RUN boom\n#4 ERROR: process \"/bin/sh -c boom\" did not complete successfully: exit code: 1\n";
    let p = planned(df, log, Some(10), None, false).unwrap();
    let mut images: Vec<&str> = p.checks.iter().map(|c| c.image.as_str()).collect();
    images.sort();
    assert_eq!(images, vec!["b", "img:1"], "x:${{V}} cannot be checked, unused and late are not needed");
    assert!(p.truncated.as_deref().unwrap().ends_with("COPY --from=img:1 /b /b\nRUN mkdir /work\n"));
    assert!(p.truncated.as_deref().unwrap().starts_with("ARG V=1\nFROM x:${V} AS gen\n"));
}

#[test]
fn small_readers() {
    assert_eq!(split_target("Dockerfile:16"), ("Dockerfile", Some(16)));
    assert_eq!(split_target("/a:b/Dockerfile"), ("/a:b/Dockerfile", None));
    assert_eq!(split_target("Dockerfile:0"), ("Dockerfile:0", None));
    assert_eq!(split_target(":3"), (":3", None));
    let net = |c: &str| plan::network_flag(&c.split(' ').map(String::from).collect::<Vec<_>>());
    assert_eq!(net("docker build --network=none ."), Some("none".into()));
    assert_eq!(net("docker build --network host ."), Some("host".into()));
    assert_eq!(net("docker build ."), None);
    assert_eq!(plan::tag(16), "buildlens-debug:16");
    let rerun = |ins: &str| plan::rerun(&crate::dockerfile::parse(&format!("FROM a\n{ins}\n")).instructions[1]);
    assert_eq!(rerun("RUN --mount=type=cache,target=/c touch /work/after && exit 3"), Some("touch /work/after && exit 3".into()));
    assert_eq!(rerun("RUN [\"touch\", \"/work/after\"]"), Some("[\"touch\", \"/work/after\"]  (exec form)".into()));
    assert_eq!(rerun("RUN a \\\n  b"), Some("a   b".into()));
    assert_eq!(rerun("COPY a b"), None);
}
