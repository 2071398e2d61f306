//! Tests of `built`: "changed since the build" with the build's Dockerfile snapshot and without it, on the
//! bundled example's real build (BuildKit plain: whole names) and on hand-made logs of other formats.

use std::path::PathBuf;

use crate::analysis::predict::{predict, Why};
use crate::analysis::{annotate, RecordedBuild};

const EXAMPLE: &str = include_str!("../../fixtures/example/Dockerfile");
const B3: &[u8] = include_bytes!("../../fixtures/example/.buildlens/builds/20261124T083104.046Z-b5b3/build.log");

fn recorded(log: &[u8], built: Option<&str>) -> RecordedBuild {
    let build = crate::log::parse_bytes(log).builds.into_iter().next().expect("a build in the log");
    RecordedBuild {
        id: "b".into(),
        started: None,
        build,
        log_path: PathBuf::from("/b.log"),
        live: false,
        built_dockerfile: built.map(Into::into),
    }
}

/// First lines of the instructions flagged `changed since that build`, and of the prediction's roots.
fn changed(text: &str, rb: &RecordedBuild) -> (Vec<u32>, Vec<u32>) {
    let annotated = annotate(text, std::slice::from_ref(rb));
    let flagged = annotated.instructions.iter().filter(|v| v.changed_since_build).map(|v| v.line).collect();
    let df = crate::dockerfile::parse(text);
    let prediction = predict(&df, &annotated, Some(rb), &Default::default());
    let roots = prediction.rebuilds.iter().filter(|r| r.why == Why::Changed).map(|r| r.line).collect();
    (flagged, roots)
}

/// `base` with `from` replaced by `to`, against `log` with and without the snapshot `base`: the lines
/// flagged changed (the same set predicted to rebuild as changed).
fn check(base: &str, log: &[u8], from: &str, to: &str, expect: &[u32]) {
    assert!(base.contains(from), "{from:?}");
    let text = base.replacen(from, to, 1);
    for built in [Some(base), None] {
        let (flagged, roots) = changed(&text, &recorded(log, built));
        let with = if built.is_some() { "with" } else { "without" };
        assert_eq!(flagged, expect, "{from:?} -> {to:?}, {with} the snapshot");
        assert_eq!(roots, expect, "prediction: {from:?} -> {to:?}, {with} the snapshot");
    }
}

#[test]
fn edits_at_the_end_start_and_middle_of_the_examples_instructions_are_seen() {
    let c = |from: &str, to: &str, expect: &[u32]| check(EXAMPLE, B3, from, to, expect);
    c("\n", "\n", &[]);
    // Appends at the end of a one-line RUN, of the last line of continued RUNs.
    c("luci routing\"\n", "luci routing\" && echo done\n", &[7]);
    c("/openwrt/toolchain.stamp\n", "/openwrt/toolchain.stamp && true\n", &[9]);
    c("/openwrt/bin/hello\n", "/openwrt/bin/hello && true\n", &[14]);
    // The middle and the start; a deletion at the end; a changed continuation line.
    c("&& sleep 3 \\", "&& sleep 3 && true \\", &[14]);
    c("RUN sh package/hello/build.sh", "RUN bash package/hello/build.sh", &[16]);
    c(" && echo \"feeds: packages luci routing\"\n", "\n", &[7]);
    c("      sleep 2; \\\n", "      sleep 3; \\\n", &[9]);
    c("    done && echo", "    done; echo", &[9]);
    // COPY and FROM.
    c("COPY feeds.conf ./\n", "COPY feeds.conf ./feeds/\n", &[6]);
    c("COPY feeds.conf ./\n", "COPY --chmod=644 feeds.conf ./\n", &[6]);
    c("FROM fixture-base AS sdk", "FROM fixture-base:2 AS sdk", &[3]);
    // Next to a variable (the log printed it expanded).
    c("OpenWrt $OPENWRT_RELEASE\"", "OpenWrt ${OPENWRT_RELEASE}-rc\"", &[7]);
    c("OpenWrt $OPENWRT_RELEASE\"", "OpenWrt: $OPENWRT_RELEASE\"", &[7]);
    // Blanks are not edits.
    c("      sleep 2; \\\n", "        sleep 2;   \\\n", &[]);
}

#[test]
fn a_variable_swapped_for_another_is_seen_only_with_the_snapshot() {
    let text = EXAMPLE.replacen("OpenWrt $OPENWRT_RELEASE\"", "OpenWrt $OTHER_RELEASE\"", 1);
    assert_eq!(changed(&text, &recorded(B3, Some(EXAMPLE))).0, [7]);
    // The printed text has the value, so either name fits it.
    assert_eq!(changed(&text, &recorded(B3, None)).0, Vec::<u32>::new());
}

#[test]
fn the_snapshot_clears_what_the_printed_text_cannot_tell() {
    // A build arg the log printed expanded where today's text (the same as built) has a variable in a FROM
    // ref and a RUN; the printed text of the RUN differs from its pattern only by the expansion.
    let dockerfile = "ARG TARGETARCH\nFROM fixture-base AS sdk\nARG TARGETARCH\nRUN echo \"${TARGETARCH}\" > /arch && uname -m\n";
    let log = b"#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [sdk 1/2] FROM docker.io/library/fixture-base\n#2 DONE 0.0s\n#3 [sdk 2/2] RUN echo \"arm64\" > /arch && uname -m\n#3 DONE 0.1s\n";
    check(dockerfile, log, "\n", "\n", &[]);
    check(dockerfile, log, "uname -m\n", "uname -m && true\n", &[4]);
    check(dockerfile, log, "echo \"${TARGETARCH}\"", "echo \"${TARGETARCH}\" \"${TARGETARCH}\"", &[4]);
}

const LEGACY: &[u8] = b"Sending build context to Docker daemon  2.048kB\r\r\nStep 1/4 : FROM alpine:3.19\n ---> 05455a08881e\nStep 2/4 : ENV A=1 B=2\n ---> Running in 1a2b3c4d5e6f\n ---> 3c4d5e6f7a8b\nStep 3/4 : COPY a.txt /srv/a.txt\n ---> 4d5e6f7a8b9c\nStep 4/4 : RUN echo $A > /srv/b.txt\n ---> Running in 2b3c4d5e6f7a\n ---> 5e6f7a8b9c0d\nSuccessfully built 5e6f7a8b9c0d\n";
const LEGACY_DF: &str = "FROM alpine:3.19\nENV A=1 B=2\nCOPY a.txt /srv/a.txt\nRUN echo $A > /srv/b.txt\n";

#[test]
fn legacy_names_are_whole_so_appends_to_env_copy_run_and_from_are_seen() {
    let c = |from: &str, to: &str, expect: &[u32]| check(LEGACY_DF, LEGACY, from, to, expect);
    c("\n", "\n", &[]);
    c("B=2\n", "B=2 C=3\n", &[2]);
    c(" B=2\n", "\n", &[2]);
    c("ENV A=1", "ENV A=0", &[2]);
    c("/srv/a.txt\n", "/srv/a.txt/\n", &[3]);
    c("COPY a.txt", "COPY a.txt b.txt", &[3]);
    c("> /srv/b.txt\n", "> /srv/b.txt && true\n", &[4]);
    c("echo $A >", "echo $A $B >", &[4]);
    c("FROM alpine:3.19", "FROM alpine:3.20", &[1]);
}

#[test]
fn podman_chains_a_stage_by_image_id_and_that_is_no_change() {
    let df = "FROM alpine:3.19 AS build\nRUN echo hi > /x\nFROM build AS final\nCOPY --from=build /x /y\n";
    let id = "3f2a4b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809123";
    let log = format!(
        "[1/2] STEP 1/2: FROM alpine:3.19 AS build\n[1/2] STEP 2/2: RUN echo hi > /x\n--> 49a2c175ba3\n[2/2] STEP 1/2: FROM {id} AS final\n[2/2] STEP 2/2: COPY --from=build /x /y\n[2/2] COMMIT\n--> 0e6156a6710\n"
    );
    check(df, log.as_bytes(), "\n", "\n", &[]);
    check(df, log.as_bytes(), "/x /y\n", "/x /z\n", &[4]);
    check(df, log.as_bytes(), "> /x\n", "> /x && true\n", &[2]);
}

/// A tty frame cuts names at the terminal width: the cut text is no edit, an edit before the cut is.
#[test]
fn names_cut_in_a_tty_frame_are_not_edits() {
    let df = "FROM registry.example.com/team/toolchain:16.0-ubuntu18.04\nCOPY stata.lic /usr/local/stata/stata.lic\nRUN stata 'ssc install estout' \\\n    && stata 'ssc install outreg'\n";
    let frame = b"[+] Building 4.5s (8/8) FINISHED\n => [internal] load build definition from Dockerfile                 0.1s\n => [1/3] FROM registry.example.com/team/toolchain:16.0-ubuntu18.04  0.3s\n => [2/3] COPY stata.lic /usr/local/stata/stata.lic                  0.1s\n => [3/3] RUN stata 'ssc install estout'     && stata 'ssc install   2.6s\n => exporting to image                                               0.1s\n";
    check(df, frame, "\n", "\n", &[]);
    // The snapshot sees an edit after the cut; the printed text cannot.
    let text = df.replacen("outreg'", "outreg2'", 1);
    assert_eq!(changed(&text, &recorded(frame, Some(df))).0, [3]);
    assert_eq!(changed(&text, &recorded(frame, None)).0, Vec::<u32>::new());
    check(df, frame, "RUN stata 'ssc install estout'", "RUN stata 'ssc install esttab'", &[3]);
    check(df, frame, "COPY stata.lic", "COPY stata2.lic", &[2]);
}

/// BuildKit's plain printer with `PROGRESS_NO_TRUNC=0` cuts names to 72 bytes and adds `...`.
#[test]
fn names_the_plain_printer_cut_are_prefixes() {
    let df = "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends build-essential curl git\n";
    let full = "[2/2] RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl git";
    let cut = format!("{}...", &full[..72]);
    let log = format!("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/debian:12\n#2 DONE 0.0s\n\n#3 {cut}\n#3 DONE 1.0s\n");
    let rb = recorded(log.as_bytes(), None);
    assert!(rb.build.steps.iter().any(|s| s.clipped && s.name == cut), "{:?}", rb.build.steps);
    check(df, log.as_bytes(), "\n", "\n", &[]);
    check(df, log.as_bytes(), "apt-get update", "apt-get -q update", &[2]);
    // After the cut only the snapshot tells.
    let text = df.replacen("curl git", "curl", 1);
    assert_eq!(changed(&text, &recorded(log.as_bytes(), Some(df))).0, [2]);
    assert_eq!(changed(&text, &recorded(log.as_bytes(), None)).0, Vec::<u32>::new());
    // The same text uncut is whole: the deletion shows without the snapshot too.
    let whole = log.replace(&cut, full);
    assert_eq!(changed(&text, &recorded(whole.as_bytes(), None)).0, [2]);
}
