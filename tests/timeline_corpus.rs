//! The timeline and its renderers over every log that has its Dockerfile beside it: the captured and
//! hand-made fixtures (`fixtures/logs/**/<name>.Dockerfile`) and the real logs of other projects
//! (`../shared/corpus/real/<name>.Dockerfile`, read from there, never copied). Whatever the log, the
//! critical path is a chain of bars with no slack ending at the build's wall time, every slack fits in it,
//! and the Markdown and HTML carry no markup from the log.

use std::path::{Path, PathBuf};

use buildlens::analysis::timeline::{self, Timeline};
use buildlens::analysis::{Annotated, MappingCache, RecordedBuild};
use buildlens::picture::{html, markdown, Picture};
use pulldown_cmark::{Event, Options, Parser, Tag};

/// (log, Dockerfile) pairs under `dir` (recursively): `<stem>.<ext>` with `<stem>.Dockerfile` beside it.
fn pairs(dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            pairs(&path, out);
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".Dockerfile") || name.ends_with(".json") || name.ends_with(".txt") || name.ends_with(".yml") {
            continue;
        }
        let dockerfile = path.with_extension("Dockerfile");
        if dockerfile.is_file() {
            out.push((path, dockerfile));
        }
    }
}

fn check(t: &Timeline, what: &str) {
    if t.bars.is_empty() {
        assert!(t.path.is_empty() && t.total_ms == 0, "{what}");
        return;
    }
    let path: Vec<_> = t.path.iter().map(|&i| t.bars.get(i).unwrap_or_else(|| panic!("{what}: path index {i}"))).collect();
    assert!(!path.is_empty(), "{what}: bars but no path");
    assert!(path.iter().all(|b| b.slack_ms == 0 && b.critical), "{what}: a path bar with slack {path:?}");
    assert_eq!(path.last().map(|b| b.end_ms), Some(t.total_ms), "{what}: the path ends at the wall time");
    assert!(t.path.windows(2).all(|w| w[0] < w[1]), "{what}: the path goes forward in the file");
    for (i, b) in t.bars.iter().enumerate() {
        assert_eq!(b.critical, t.path.contains(&i), "{what}: critical marks the path's bars only {b:?}");
        assert!(b.start_ms <= b.end_ms && b.end_ms <= t.total_ms, "{what}: {b:?}");
        assert!(b.slack_ms <= t.total_ms, "{what}: slack over the wall time {b:?}");
        assert!(b.lane < t.lanes.len(), "{what}: {b:?}");
    }
}

fn inert_markdown(md: &str, what: &str) {
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("{what}: HTML in the summary: {h}"),
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => panic!("{what}: a link {dest_url}"),
            _ => {}
        }
    }
}

#[test]
fn every_log_with_its_dockerfile_gives_a_consistent_timeline_and_inert_pictures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    pairs(&root.join("fixtures/logs"), &mut found);
    pairs(&root.join("../shared/corpus/real"), &mut found);
    assert!(found.len() >= 20, "logs with their Dockerfile: {}", found.len());
    let (mut builds, mut with_bars, mut measured) = (0, 0, 0);
    for (log, dockerfile) in &found {
        let text = String::from_utf8_lossy(&std::fs::read(dockerfile).unwrap()).into_owned();
        let parsed = buildlens::log::parse_bytes(&std::fs::read(log).unwrap());
        for (n, build) in parsed.builds.into_iter().enumerate() {
            let what = format!("{} build {n}", log.display());
            let rb =
                RecordedBuild { id: format!("b{n}"), started: None, build, log_path: log.clone(), live: false, built_dockerfile: None };
            let t = timeline::of_build(&text, &rb, &mut MappingCache::default());
            check(&t, &what);
            builds += 1;
            with_bars += usize::from(!t.bars.is_empty());
            measured += usize::from(t.bars.iter().any(|b| b.measured));
            let annotated: Annotated = buildlens::analysis::annotate(&text, std::slice::from_ref(&rb));
            let p = Picture { dockerfile: "Dockerfile", source: &text, timeline: Some(&t), annotated: &annotated, explain: None };
            inert_markdown(&markdown::render(&p), &what);
            let page = html::render(&p, "n");
            assert_eq!(page.matches("<script").count(), 1, "{what}: one script");
            assert_eq!(page.matches("<rect class=\"bar ").count(), t.bars.len(), "{what}");
        }
    }
    eprintln!("{} logs, {builds} builds, {with_bars} with bars, {measured} with measured times", found.len());
    assert!(with_bars * 2 > builds, "most builds map: {with_bars} of {builds}");
    assert!(measured > 0, "some logs have clock times");
}
