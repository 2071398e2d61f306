//! Mapping tests on small inline Dockerfiles: one `check` helper, one line per case.

use super::*;
use crate::dockerfile;
use crate::log::step_name;

/// A step from its name, with the name-derived fields filled as the BuildKit parsers do.
fn step(name: &str) -> Step {
    let mut s = Step::named(name);
    step_name::apply(&mut s);
    s
}

/// Maps `names` onto `dockerfile`; expects, per step, `Some((line, changed))` or `None`.
fn check(dockerfile: &str, names: &[&str], expect: &[Option<(u32, bool)>]) {
    let df = dockerfile::parse(dockerfile);
    let steps: Vec<Step> = names.iter().map(|n| step(n)).collect();
    let m = map_steps(&df, &steps);
    let got: Vec<Option<(u32, bool)>> = m.steps.iter().map(|s| s.as_ref().map(|s| (s.line, s.changed))).collect();
    assert_eq!(got, expect, "{dockerfile:?}\n{:?}", m.problems);
}

const MULTI: &str = "FROM base AS builder\nWORKDIR /src\nRUN make\n\nFROM base AS tester\nRUN test\n\nFROM scratch\nCOPY --from=builder /a /a\nENV X=1\nRUN run\n";

#[test]
fn buildkit_multistage() {
    let names = [
        "[builder 1/3] FROM docker.io/library/base",
        "[builder 3/3] RUN make",
        "[tester 2/2] RUN test",
        "[stage-2 1/2] COPY --from=builder /a /a",
        "[stage-2 2/2] RUN run",
    ];
    check(MULTI, &names, &[Some((1, false)), Some((3, false)), Some((6, false)), Some((9, false)), Some((11, false))]);
}

#[test]
fn single_stage_and_internal_vertexes() {
    check(
        "FROM a\nRUN x",
        &["[internal] load build definition from Dockerfile", "[1/2] FROM docker.io/library/a", "[2/2] RUN x", "exporting to image"],
        &[None, Some((1, false)), Some((2, false)), None],
    );
}

#[test]
fn lines_inserted_above_and_changed_instruction() {
    let names = ["[builder 1/3] FROM docker.io/library/base", "[builder 2/3] WORKDIR /src", "[builder 3/3] RUN make"];
    let edited =
        "# new comment\nARG V\nFROM base AS builder\nRUN apt-get install -y gcc\nWORKDIR /app\nRUN make\nFROM base AS tester\nRUN test\n";
    check(edited, &names, &[Some((3, false)), Some((5, true)), Some((6, false))]);
}

#[test]
fn renamed_stage() {
    let renamed = MULTI.replace("AS builder", "AS build").replace("--from=builder", "--from=build");
    check(
        &renamed,
        &[
            "[builder 1/3] FROM docker.io/library/base",
            "[builder 2/3] WORKDIR /src",
            "[builder 3/3] RUN make",
            "[stage-2 1/2] COPY --from=builder /a /a",
        ],
        &[Some((1, false)), Some((2, false)), Some((3, false)), Some((9, true))],
    );
}

#[test]
fn other_dockerfile_maps_nothing() {
    check(
        MULTI,
        &["[1/4] FROM docker.io/library/base", "[2/4] WORKDIR /work", "[3/4] COPY hello.txt .", "[4/4] RUN echo hi"],
        &[None, None, None, None],
    );
    let m = map_steps(&dockerfile::parse(MULTI), &[step("[1/2] FROM docker.io/library/alpine"), step("[2/2] RUN apk add x")]);
    assert_eq!(m.score, 0.0);
    assert_eq!(m.problems.len(), 1);
}

#[test]
fn legacy_and_podman() {
    let df = "ARG V=1\nFROM base AS a\nRUN one\nFROM base\nCOPY --from=a /x /y\nRUN two\n";
    let legacy = [
        "Step 1/6 : ARG V=1",
        "Step 2/6 : FROM base AS a",
        "Step 3/6 : RUN one",
        "Step 4/6 : FROM base",
        "Step 5/6 : COPY --from=a /x /y",
        "Step 6/6 : RUN two",
    ];
    check(df, &legacy, &[Some((1, false)), Some((2, false)), Some((3, false)), Some((4, false)), Some((5, false)), Some((6, false))]);
    let podman = [
        "[1/2] STEP 1/2: FROM base AS a",
        "[1/2] STEP 2/2: RUN one",
        "[2/2] STEP 1/3: FROM base",
        "[2/2] STEP 2/3: COPY --from=a /x /y",
        "[2/2] STEP 3/3: RUN two",
    ];
    check(df, &podman, &[Some((2, false)), Some((3, false)), Some((4, false)), Some((5, false)), Some((6, false))]);
}

#[test]
fn env_expansion_clipping_and_triggers() {
    let df = "FROM base\nARG VERSION=1.2\nRUN curl -o /tmp/x https://example.com/releases/$VERSION/tool-${VERSION}.tar.gz\n";
    check(df, &["[2/2] RUN curl -o /tmp/x https://example.com/releases/1.2/tool-1.2.tar.gz"], &[Some((3, false))]);
    // A cut name is a prefix only where the parser says the builder cut it (a tty row, `...`).
    let cut = "[2/2] RUN curl -o /tmp/x https://example.com/releases/1.2/to";
    // (Whole, it differs: a build whose only step differs matches nothing.)
    check(df, &[cut], &[None]);
    let mut clipped = step(cut);
    clipped.clipped = true;
    let m = map_steps(&dockerfile::parse(df), &[clipped]);
    assert_eq!(m.steps[0].as_ref().map(|s| (s.line, s.changed, s.how)), Some((3, false, How::Clipped)));
    check(
        df,
        &[
            "[1/3] FROM docker.io/library/base",
            "[2/3] ONBUILD RUN make",
            "[3/3] RUN curl -o /tmp/x https://example.com/releases/1.2/tool-1.2.tar.gz",
        ],
        &[Some((1, false)), Some((1, false)), Some((3, false))],
    );
}

#[test]
fn error_lines_win() {
    let df = dockerfile::parse("FROM a\nRUN make\nRUN make\n");
    let mut s = step("[2/3] RUN make");
    s.dockerfile_lines = Some([3, 3]);
    let m = map_steps(&df, &[step("[1/3] FROM docker.io/library/a"), s]);
    assert_eq!(m.steps[1].as_ref().map(|s| (s.line, s.how)), Some((3, How::ErrorLines)));
}

#[test]
fn duplicates_platforms_and_copy_from_images() {
    let df = "FROM a\nCOPY --from=nvcr.io/x/y:1 /a /b\n";
    let names = [
        "[linux/amd64 1/2] FROM docker.io/library/a",
        "[linux/arm64 1/2] FROM docker.io/library/a",
        "FROM nvcr.io/x/y:1@sha256:abc",
        "[linux/amd64 2/2] COPY --from=nvcr.io/x/y:1 /a /b",
        "[linux/amd64 2/2] COPY --from=nvcr.io/x/y:1 /a /b",
    ];
    check(df, &names, &[Some((1, false)), Some((1, false)), Some((2, false)), Some((2, false)), Some((2, false))]);
}

#[test]
fn best_match_picks_the_right_file() {
    let a = dockerfile::parse(MULTI);
    let b = dockerfile::parse("FROM base\nRUN other\n");
    let mut build = Build::new(crate::log::Format::BuildkitPlain, 0);
    build.steps = vec![step("[1/2] FROM docker.io/library/base"), step("[2/2] RUN other")];
    assert_eq!(best_match(&[("a", &a), ("b", &b)], &build), Some((1, 1.0)));
    build.steps = vec![step("[1/2] FROM docker.io/library/zzz")];
    assert_eq!(best_match(&[("a", &a), ("b", &b)], &build), None);
}

/// Compose: two services print the same stage name (`base`); only the service whose steps match this
/// file maps, the other is left out as a whole (not spread over the lines that happen to look alike).
#[test]
fn compose_services_are_gated_each_on_its_own() {
    let web = "FROM alpine AS base\nWORKDIR /app\nRUN echo web\nCOPY site /srv\nRUN make site\n";
    let names = [
        "[web base 1/5] FROM docker.io/library/alpine",
        "[api base 1/5] FROM docker.io/library/alpine",
        "[web base 2/5] WORKDIR /app",
        "[api base 2/5] RUN pip install -r req.txt",
        "[web base 3/5] RUN echo web",
        "[api base 3/5] COPY app /app",
        "[web base 4/5] COPY site /srv",
        "[api base 4/5] RUN echo api",
        "[web base 5/5] RUN make site",
        "[api base 5/5] RUN python -m compileall /app",
    ];
    let df = dockerfile::parse(web);
    let steps: Vec<Step> = names.iter().map(|n| step(n)).collect();
    let m = map_steps(&df, &steps);
    let lines: Vec<Option<u32>> = m.steps.iter().map(|s| s.as_ref().map(|s| s.line)).collect();
    assert_eq!(lines, [Some(1), None, Some(2), None, Some(3), None, Some(4), None, Some(5), None]);
    assert!(m.problems.iter().any(|p| p.step.is_none() && p.message.contains("service `api` left out")), "{:?}", m.problems);
    // Told which services built it, the others are not even looked at (no problem about them).
    let only_web = map_steps_of(&df, &steps, Some(&["web".to_string()]));
    assert_eq!(only_web.steps, m.steps);
    assert!(only_web.problems.is_empty(), "{:?}", only_web.problems);
    assert_eq!(services(&steps), ["web", "api"]);
}

/// Heredoc RUNs: BuildKit names `RUN <<EOF` with its body's first line (` (set -eux...)`), Buildah names
/// every heredoc that way, other heredoc RUNs keep the bare name; a build of mostly heredocs still maps,
/// with identical names told apart by their `k/n` position, and an edited first body line is an edit.
#[test]
fn heredoc_runs() {
    let df = "FROM alpine\nRUN <<EOF\nset -eux\napk add git\nEOF\nRUN <<EOF\nset -eux\napk add curl\nEOF\nRUN echo done\nRUN sh <<EOF\necho hi\nEOF\nRUN <<EOF\n  make\nEOF\n";
    let names = [
        "[1/6] FROM docker.io/library/alpine",
        "[2/6] RUN <<EOF (set -eux...)",
        "[3/6] RUN <<EOF (set -eux...)",
        "[4/6] RUN echo done",
        "[5/6] RUN sh <<EOF",
        "[6/6] RUN <<EOF (make)",
    ];
    let all = [Some((1, false)), Some((2, false)), Some((6, false)), Some((10, false)), Some((11, false)), Some((14, false))];
    check(df, &names, &all);
    let edited = df.replace("  make", "  make -j8\n  make install");
    let mut changed = all;
    changed[5] = Some((14, true));
    check(&edited, &names, &changed);
}
