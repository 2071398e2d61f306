//! The renderers over hand-made timelines: hostile step and stage names stay inert in Markdown (checked
//! by rendering through pulldown-cmark), Mermaid and HTML; the table, the Mermaid block and the bars are
//! well formed.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::*;
use crate::analysis::timeline::{Bar, Timeline};
use crate::analysis::{BuildNote, InstructionView, StepRun};

const HOSTILE: &str = "RUN `tick` ``` echo <script>alert(1)</script> [x](https://evil.example) ![i](https://evil.example/i.png) `tick` ``` # h: 1; %% | a\\|b \n\nclick L1 href \"javascript:alert(2)\" <img src=x onerror=alert(3)>";

fn bar(line: u32, lane: usize, text: &str, status: StepStatus, span: (u64, u64), critical: bool) -> Bar {
    Bar {
        line,
        end_line: line,
        lane,
        keyword: "RUN".into(),
        text: text.into(),
        status,
        start_ms: span.0,
        end_ms: span.1,
        slack_ms: if critical { 0 } else { 2000 },
        critical,
        measured: true,
        failure: (status == StepStatus::Error).then(|| "<b>boom</b>".to_string()),
    }
}

fn timeline() -> Timeline {
    Timeline {
        build: "b2".into(),
        result: BuildResult::Failed,
        lanes: vec!["a".into(), "b</text><script>x()</script>".into(), "stage-2".into()],
        bars: vec![
            bar(1, 0, "FROM alpine", StepStatus::Cached, (0, 0), true),
            bar(2, 0, "RUN sleep 3", StepStatus::Executed, (0, 3000), true),
            bar(5, 1, HOSTILE, StepStatus::Executed, (0, 1000), false),
            bar(6, 1, "RUN false", StepStatus::Error, (1000, 1200), false),
            bar(8, 2, "COPY --from=a /x /x", StepStatus::Executed, (3000, 3100), true),
            bar(9, 2, "COPY --from=b /y /y", StepStatus::Canceled, (3100, 3200), true),
        ],
        path: vec![0, 1, 4, 5],
        total_ms: 3200,
    }
}

fn run(build: &str, status: StepStatus, ms: u64) -> StepRun {
    let mut r = crate::analysis::run_of(
        &crate::analysis::RecordedBuild {
            id: build.into(),
            started: None,
            build: crate::log::Build::new(crate::log::Format::BuildkitPlain, 0),
            log_path: "/x".into(),
            live: false,
            built_dockerfile: None,
        },
        &crate::log::Step::named("x"),
        false,
    );
    r.status = status;
    r.cached = status == StepStatus::Cached;
    r.duration_ms = Some(ms);
    r
}

fn annotated() -> crate::analysis::Annotated {
    let history = vec![run("b1", StepStatus::Executed, 1000), run("b2", StepStatus::Executed, 5000)];
    let view = InstructionView {
        line: 2,
        end_line: 2,
        keyword: "RUN".into(),
        stage: Some("a".into()),
        last: history.last().cloned(),
        history,
        changed_since_build: false,
        checks: Vec::new(),
    };
    let note = |id: &str, number| BuildNote { id: id.into(), number, started: None, failed_line: None };
    crate::analysis::Annotated { instructions: vec![view], builds: vec![note("b1", 1), note("b2", 2)], ..Default::default() }
}

const SOURCE: &str = "FROM alpine AS a\nRUN sleep 3 <b>\n";

fn picture<'a>(t: &'a Timeline, a: &'a crate::analysis::Annotated) -> Picture<'a> {
    Picture { dockerfile: "app/<Dockerfile>", source: SOURCE, timeline: Some(t), annotated: a, explain: None }
}

#[test]
fn markdown_renders_a_table_and_a_mermaid_block_and_nothing_from_the_log_is_markup() {
    let (t, a) = (timeline(), annotated());
    let md = markdown::render(&picture(&t, &a));
    let mut table_rows = 0;
    let mut cells_per_row = Vec::new();
    let mut cells = 0;
    let mut mermaid = None::<String>;
    let mut in_mermaid = false;
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("HTML from the summary: {h}\n{md}"),
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => panic!("a link: {dest_url}\n{md}"),
            Event::Start(Tag::TableRow) => {
                table_rows += 1;
                cells = 0;
            }
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => cells_per_row.push(cells),
            Event::Start(Tag::TableHead) => cells = 0,
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => {
                assert_eq!(&*lang, "mermaid");
                in_mermaid = true;
                mermaid = Some(String::new());
            }
            Event::Text(text) if in_mermaid => mermaid.get_or_insert_default().push_str(&text),
            Event::End(TagEnd::CodeBlock) => in_mermaid = false,
            _ => {}
        }
    }
    // Five slowest of the bars longer than 0 (the cached FROM is 0): header + 5 rows, 5 cells each.
    assert_eq!(table_rows, 5, "{md}");
    assert_eq!(cells_per_row, vec![5; 6], "{md}");
    let mermaid = mermaid.expect("a mermaid block");
    let task = regex::Regex::new(r"^    L\d+ [A-Za-z0-9 \-_./=+,@\[\]()]*( FAILED)? :(crit, )?(done, )? \d+, \d+$").unwrap();
    let section = regex::Regex::new(r"^    section stage [A-Za-z0-9 \-_./=+,@\[\]()]+$").unwrap();
    let lines: Vec<&str> = mermaid.lines().collect();
    assert_eq!(lines.get(..3), Some(&["gantt", "    dateFormat x", "    axisFormat %M:%S"][..]));
    for line in lines.iter().skip(3) {
        assert!(task.is_match(line) || section.is_match(line), "not a plain gantt line: {line:?}\n{mermaid}");
    }
    assert_eq!(lines.iter().filter(|l| task.is_match(l)).count(), 6);
    assert!(lines.contains(&"    L2 RUN sleep 3 :crit,  0, 3000"), "{mermaid}");
    assert!(lines.iter().any(|l| l.starts_with("    L6 RUN false FAILED :")), "{mermaid}");
    // The hostile text is still readable, as text.
    assert!(md.contains("<script>alert(1)</script>") && md.contains("```` "), "in a code span with a longer fence\n{md}");
    assert!(md.contains("**Total:** 3.2s") && md.contains("#### Critical path: 3.2s of steps in 3.2s"), "{md}");
}

#[test]
fn markdown_code_spans_survive_pipes_backslashes_and_backticks() {
    for hostile in ["a|b", "a\\|b", "`", "x`` y", " lead", "a\nb", "\u{202e}rtl"] {
        let cell = md::code(hostile, true);
        let table = format!("| a | b |\n|---|---|\n| {cell} | z |\n");
        let cells = Parser::new_ext(&table, Options::ENABLE_TABLES).filter(|e| matches!(e, Event::Start(Tag::TableCell))).count();
        assert_eq!(cells, 4, "{hostile:?} -> {cell}");
        let codes = Parser::new_ext(&table, Options::ENABLE_TABLES).filter(|e| matches!(e, Event::Code(_))).count();
        assert_eq!(codes, 1, "{hostile:?} -> {cell}");
        assert!(!cell.contains('\n') && !cell.contains('\u{202e}'));
    }
    assert_eq!(md::words("a](b) <c> *d*"), "a\\]\\(b\\) \\<c\\> \\*d\\*");
    assert_eq!(md::mermaid_label("click: x#y;`z` <b>", 100), "click x y z b");
}

#[test]
fn html_escapes_every_log_text_and_has_one_nonced_script() {
    let (t, a) = (timeline(), annotated());
    let page = html::render(&picture(&t, &a), "n0nce\"><script>");
    assert_eq!(page.matches("<script").count(), 1, "only ours");
    assert!(page.contains("<script nonce=\"n0ncescript\">"));
    assert!(page.contains("script-src 'nonce-n0ncescript'") && page.contains("default-src 'none'"));
    assert!(!page.contains("<img") && !page.contains("https://evil.example/i.png\"") && !page.contains("3 <b>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && page.contains("b&lt;/text&gt;&lt;script&gt;x()&lt;/script&gt;"));
    assert_eq!(page.matches("<rect class=\"bar ").count(), t.bars.len());
    assert_eq!(page.matches(" crit\" data-line=").count(), 4);
    assert!(page.contains("class=\"bar failed\" data-line=\"6\""));
    assert!(!page.contains("src=\"") && !page.contains("href=\"") && !page.contains("url("), "nothing to load");
    // The trend row of line 2: two builds, the second 5x slower.
    assert!(page.contains("<tr data-line=\"2\">") && page.contains("slower from build #2: 1.0s → 5.0s"), "{page}");
    assert!(page.contains("RUN sleep 3 &lt;b&gt;"));
    assert!(page.contains(" · &lt;b&gt;boom&lt;/b&gt;</title>"), "the failure's headline in the tooltip");
}

#[test]
fn text_timeline_scales_bars_to_the_width() {
    let t = timeline();
    let text = text::timeline(&t, 100);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 6);
    let widths: Vec<usize> = rows.iter().map(|r| r.chars().count()).collect();
    assert!(widths.iter().all(|&w| w <= 100 && w == widths[0]), "{widths:?}\n{text}");
    let sleep = rows.get(1).unwrap();
    assert!(sleep.contains('█') && sleep.ends_with("3.0s ◆"), "{sleep}");
    assert!(rows.get(3).unwrap().contains('✗') && rows.get(5).unwrap().contains('░'));
    assert!(!text.contains('\n') || text.lines().all(|l| !l.contains('\u{202e}')));
    assert_eq!(text::path_header(&t, "#2").as_deref(), Some("critical path (build #2, 3.2s): line 1 → 2 → 8 → 9"));
    assert_eq!(critical_note(&t, t.bars.get(2).unwrap()), "ran in parallel, 2.0s of slack");
}

#[test]
fn a_large_build_keeps_the_mermaid_chart_under_its_size_limit() {
    let mut t = timeline();
    t.bars = (0..1000u32)
        .map(|i| {
            bar(
                i + 1,
                0,
                &format!("RUN step {i} {}", "x".repeat(80)),
                StepStatus::Executed,
                (u64::from(i) * 10, u64::from(i) * 10 + u64::from(i % 50)),
                i % 100 == 0,
            )
        })
        .collect();
    t.path = (0..1000).filter(|i| i % 100 == 0).collect();
    let a = annotated();
    let md = markdown::render(&picture(&t, &a));
    let chart = md.split("```mermaid").nth(1).and_then(|c| c.split("```").next()).unwrap_or("");
    assert!(chart.len() < 40_000, "{} characters", chart.len());
    assert_eq!(chart.lines().filter(|l| l.starts_with("    L")).count(), 150);
    assert!(chart.contains("    L101 RUN step 100 ") && chart.contains("    L50 RUN step 49 "), "the path and the longest");
    assert!(md.contains("\n850 shorter steps are left out of the chart.\n"));
}

/// The classic builder and podman print no durations: their builds have no critical path to state, in
/// the report's header or the CI summary (every step would be "0.0s of 0.0s").
#[test]
fn a_build_without_times_states_no_critical_path() {
    let mut t = timeline();
    for b in &mut t.bars {
        (b.start_ms, b.end_ms) = (0, 0);
    }
    t.total_ms = 0;
    assert_eq!(text::path_header(&t, "#1"), None);
    let a = annotated();
    let md = markdown::render(&picture(&t, &a));
    assert!(!md.contains("Critical path"), "{md}");
    assert!(t.bars.iter().all(|b| critical_note_at(&t, b.line).is_none()));
}
