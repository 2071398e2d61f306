//! Layer mapping on real `image_history` answers captured from dockerd 20.10 (fixtures/engine/, made by
//! scripts/capture-engine-fixtures.sh), and on small hand-made histories for the edits since a build.

use super::*;
use crate::dockerfile;

/// The daemon's JSON row (`GET /images/{name}/history`), read here without bollard.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiRow {
    id: String,
    created: i64,
    created_by: String,
    size: i64,
    comment: String,
    tags: Option<Vec<String>>,
}

fn repo(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn fixture(name: &str) -> Vec<Layer> {
    let rows: Vec<ApiRow> = serde_json::from_str(&repo(&format!("fixtures/engine/{name}.history.json"))).unwrap();
    rows.into_iter()
        .map(|r| Layer {
            id: (r.id != "<missing>").then_some(r.id),
            created: Some(r.created),
            created_by: r.created_by,
            size: u64::try_from(r.size).unwrap_or(0),
            comment: r.comment,
            tags: r.tags.unwrap_or_default(),
        })
        .collect()
}

/// Hand-made rows, newest first, as `CreatedBy:size`.
fn rows(spec: &[&str]) -> Vec<Layer> {
    spec.iter()
        .map(|s| {
            let (by, size) = s.rsplit_once(':').unwrap();
            Layer { id: None, created: None, created_by: by.to_string(), size: size.parse().unwrap(), comment: String::new(), tags: vec![] }
        })
        .collect()
}

/// Renders the mapping as `L<line>=<size>` per matched instruction in line order (`~` marks an edited
/// one, `+n` the number of rows FROM got), then `! problem`.
fn render(df: &Dockerfile, history: &[Layer]) -> String {
    let Some(stage) = built_stage(df, None) else { return String::new() };
    let map = map_layers(df, stage, history);
    let mut parts: Vec<(u32, String)> = map
        .instructions
        .iter()
        .map(|m| {
            let ins = &df.instructions[m.instruction];
            let rows = if ins.keyword == "FROM" { format!("+{}", m.layers.len()) } else { String::new() };
            (ins.line, format!("L{}={}{}{}", ins.line, m.size, rows, if m.edited { "~" } else { "" }))
        })
        .collect();
    parts.sort();
    let mut out: Vec<String> = parts.into_iter().map(|(_, s)| s).collect();
    out.extend(map.problems.iter().map(|p| format!("! {p}")));
    out.join(" ")
}

fn check_fixture(dockerfile_path: &str, history: &str, expect: &str) {
    let df = dockerfile::parse(&repo(dockerfile_path));
    assert_eq!(render(&df, &fixture(history)), expect, "{history} on {dockerfile_path}");
}

fn check(dockerfile_text: &str, history: &[&str], expect: &str) {
    let df = dockerfile::parse(dockerfile_text);
    assert_eq!(render(&df, &rows(history)), expect, "{dockerfile_text}");
}

const LAYERS: &str = "fixtures/daemon/layers/Dockerfile";
/// Every instruction of the final stage of fixtures/daemon/layers (lines 8-18), the base image on FROM.
const LAYERS_ALL: &str = "L8=1982354+1 L9=0 L10=0 L11=0 L12=32 L13=2097152 L14=32 L15=6 L17=0 L18=0";

#[test]
fn buildkit_and_classic_histories_map_every_instruction_of_the_final_stage() {
    // Multi-stage: the builder's 3 MiB layer is not in the image; only the final stage has rows.
    check_fixture(LAYERS, "layers-buildkit", LAYERS_ALL);
    check_fixture(LAYERS, "layers-legacy", LAYERS_ALL);
}

#[test]
fn cached_rebuilds_map_the_same_way() {
    // Everything before the edited last RUN came from the cache (older `Created`), the rest is new.
    check_fixture("fixtures/engine/layers-rebuilt.Dockerfile", "layers-buildkit-rebuilt", LAYERS_ALL);
    check_fixture("fixtures/engine/layers-rebuilt.Dockerfile", "layers-legacy-rebuilt", LAYERS_ALL);
}

#[test]
fn an_instruction_edited_since_the_build_keeps_its_size_flagged() {
    check_fixture("fixtures/engine/layers-rebuilt.Dockerfile", "layers-buildkit", &LAYERS_ALL.replace("L15=6", "L15=6~"));
    check_fixture(LAYERS, "layers-legacy-rebuilt", &LAYERS_ALL.replace("L15=6", "L15=6~"));
}

#[test]
fn rows_of_the_stage_a_final_stage_starts_from_belong_to_its_from() {
    // builder: base (1982354) + COPY nonce (32) + 64 KiB; the final stage adds 2 MiB and CMD.
    let expect = "L7=2047922+3 L8=2097152 L9=0";
    check_fixture("fixtures/engine/from-stage.Dockerfile", "from-stage-buildkit", expect);
    check_fixture("fixtures/engine/from-stage.Dockerfile", "from-stage-legacy", expect);
}

#[test]
fn the_history_of_another_dockerfile_maps_nothing() {
    let other = "! 3 instruction(s) of the final stage matched no layer of the image's history";
    check_fixture("fixtures/daemon/multistage/Dockerfile", "layers-buildkit", other);
    check_fixture("fixtures/daemon/multistage/Dockerfile", "from-stage-legacy", other);
}

#[test]
fn row_texts() {
    let t = |s: &str| row_text(s).map(|r| format!("{} {}", r.keyword, r.args));
    assert_eq!(t(""), None);
    assert_eq!(t("  "), None);
    assert_eq!(t("RUN |1 A=b /bin/sh -c make  -j4 # buildkit").as_deref(), Some("RUN |1 A=b /bin/sh -c make -j4"));
    assert_eq!(t("/bin/sh -c #(nop)  ENV A=b").as_deref(), Some("ENV A=b"));
    assert_eq!(t("/bin/sh -c #(nop) COPY file:abc in /app/x ").as_deref(), Some("COPY file:abc in /app/x"));
    assert_eq!(t("|1 A=b /bin/sh -c make").as_deref(), Some("RUN |1 A=b /bin/sh -c make"));
    assert_eq!(t("/bin/sh -c make").as_deref(), Some("RUN /bin/sh -c make"));
    assert_eq!(t("CMD [\"sh\"]").as_deref(), Some("CMD [\"sh\"]"));
}

#[test]
fn edits_since_the_build() {
    let df = "FROM base\nRUN a\nRUN b\nCMD x\n";
    let image = ["CMD x:0", "RUN /bin/sh -c b # buildkit:20", "RUN /bin/sh -c a # buildkit:10", ":100"];
    check(df, &image, "L1=100+1 L2=10 L3=20 L4=0");
    // The first RUN edited in place: placed by position, flagged.
    check("FROM base\nRUN a2\nRUN b\nCMD x\n", &image, "L1=100+1 L2=10~ L3=20 L4=0");
    // An instruction added since the build has no layer; the others keep theirs.
    check("FROM base\nRUN a\nRUN new\nRUN b\nCMD x\n", &image, "L1=100+1 L2=10 L4=20 L5=0");
    // One removed since the build: its row is skipped.
    check("FROM base\nRUN a\nCMD x\n", &image, "L1=100+1 L2=10 L3=0");
    // Two edits in a row: the newest layers keep their sizes, the rest stays unknown.
    check(
        "FROM base\nRUN a\nRUN b2\nRUN c2\nCMD x\n",
        &["CMD x:0", "/bin/sh -c c:3", "/bin/sh -c b:2", "/bin/sh -c a:1", ":9"],
        "L5=0 ! 3 instruction(s) of the final stage matched no layer of the image's history",
    );
}

#[test]
fn copy_exec_form_and_flags() {
    let image = ["/bin/sh -c #(nop) COPY dir:1f in /out/ :5", "/bin/sh -c #(nop) ADD file:2e in /x :7", "tar xf /x:11", ":1"];
    // Classic rows hide the sources: the destination decides; exec-form RUN joins its words.
    check("FROM b\nRUN [\"tar\", \"xf\", \"/x\"]\nADD --chown=1 a.tgz /x\nCOPY --from=s /o /out\n", &image, "L1=1+1 L2=11 L3=7 L4=5");
    // A different destination between two that fit is an edit in place; two in a row stop the walk.
    check("FROM b\nRUN tar xf /x\nADD a.tgz /y\nCOPY /o /out\n", &image, "L1=1+1 L2=11 L3=7~ L4=5");
    check(
        "FROM b\nRUN tar xf /x\nADD a.tgz /y\nCOPY /o /elsewhere\n",
        &image,
        "! 3 instruction(s) of the final stage matched no layer of the image's history",
    );
    // `$VAR` destinations and RUN --mount flags.
    check("FROM b\nRUN --mount=type=cache,target=/c tar xf /x\nADD a.tgz $X\nCOPY /o /out\n", &image, "L1=1+1 L2=11 L3=7 L4=5");
}

#[test]
fn degenerate_inputs() {
    check("", &[":1"], "");
    check("FROM b\nRUN a\n", &[], "! 1 instruction(s) of the final stage matched no layer of the image's history");
    check("FROM b\n", &[":4", ":5"], "L1=9+2");
    check("FROM b\nRUN a\n", &[":4"], "! 1 instruction(s) of the final stage matched no layer of the image's history");
    check(
        "FROM b\nRUN a\n",
        &[&format!("/bin/sh -c a:{}", u64::MAX), &format!(":{}", u64::MAX)],
        &format!("L1={}+1 L2={}", u64::MAX, u64::MAX),
    );
}

#[test]
fn target_stage_and_largest() {
    let df = dockerfile::parse("FROM b AS one\nRUN a\nFROM b AS two\nRUN c\n");
    assert_eq!(built_stage(&df, Some("one")), Some(0));
    assert_eq!(built_stage(&df, Some("nope")), Some(1));
    assert_eq!(built_stage(&df, None), Some(1));
    assert_eq!(built_stage(&dockerfile::parse(""), None), None);
}

fn run_of(build: &str) -> crate::analysis::StepRun {
    crate::analysis::StepRun {
        build: build.into(),
        started: None,
        status: crate::log::StepStatus::Executed,
        duration_ms: None,
        cached: false,
        exit_code: None,
        error: None,
        excerpt: vec![],
        cause: None,
        log_path: Default::default(),
        output: crate::log::OutputRange { start: 0, end: 0, lines: 0 },
        warnings: vec![],
        changed_since: false,
        live: false,
        size_bytes: None,
        layer: None,
        platforms: Vec::new(),
    }
}

#[test]
fn sizes_attach_to_the_runs_of_their_build_and_the_largest_stand_out() {
    let text = "FROM base\nRUN a\nRUN b\nRUN c\nCMD x\n";
    let df = dockerfile::parse(text);
    let mut annotated = crate::analysis::annotate(text, &[]);
    for view in &mut annotated.instructions {
        view.history = vec![run_of("old"), run_of("new")];
        view.last = Some(run_of("new"));
    }
    let layers = rows(&["CMD x:0", "/bin/sh -c c:30", "/bin/sh -c b:0", "/bin/sh -c a:10", ":100"]);
    let history = ImageHistory { schema: IMAGE_SCHEMA, image: "t".into(), id: None, taken: String::new(), layers };
    attach_sizes(&mut annotated, &df, &[BuildImage { build: "new", target: None, history: &history }]);
    let sizes: Vec<_> = annotated.instructions.iter().map(|v| (v.last.as_ref().unwrap().size_bytes, v.history[0].size_bytes)).collect();
    assert_eq!(sizes, [(Some(100), None), (Some(10), None), (Some(0), None), (Some(30), None), (Some(0), None)]);
    assert_eq!(largest(&annotated, 3), [4, 2]);
    annotated.instructions[2].last.as_mut().unwrap().size_bytes = Some(3_000);
    annotated.instructions[3].last.as_mut().unwrap().size_bytes = Some(29);
    assert_eq!(largest(&annotated, 3), [3], "29 B and 10 B are under 1% of 3000 B");
    assert_eq!(largest(&annotated, 0), Vec::<u32>::new());
    assert_eq!(history.total_size(), 140);
}
