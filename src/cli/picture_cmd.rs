//! `buildlens report --markdown | --html [-o FILE] | --timeline [--width N]`: the latest build's timeline
//! and critical path drawn by `picture` (CI summary, self-contained page, text bars). The records are
//! gathered by `report`; this only renders and writes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::analysis::timeline::{self, Timeline};
use crate::analysis::{Annotated, MappingCache, RecordedBuild};
use crate::picture::{self, Picture};

/// Which picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Markdown,
    Html { output: Option<PathBuf> },
    Timeline { width: usize },
}

/// The picture of the latest of `builds` (oldest first).
pub struct Input<'a> {
    pub dockerfile: &'a Path,
    pub text: &'a str,
    pub builds: &'a [RecordedBuild],
    pub annotated: &'a Annotated,
}

/// The timeline of the latest build with a step on today's Dockerfile (of the last 5; a record of two
/// builds may hold one of another Dockerfile last), else the latest build's (empty).
pub fn latest_timeline(text: &str, builds: &[RecordedBuild]) -> Option<Timeline> {
    let mut cache = MappingCache::default();
    let mut first = None;
    for b in builds.iter().rev().take(5) {
        let t = timeline::of_build(text, b, &mut cache);
        if !t.bars.is_empty() {
            return Some(t);
        }
        first.get_or_insert(t);
    }
    first
}

pub fn write(kind: Kind, input: &Input<'_>) -> anyhow::Result<i32> {
    let timeline = latest_timeline(input.text, input.builds);
    // Explain's causes and advice: the snapshot's (`report` asks for them for the markdown picture only).
    let explained = match kind {
        Kind::Markdown => input.annotated.explain.as_ref(),
        _ => None,
    };
    let name = input.dockerfile.display().to_string();
    let p = Picture { dockerfile: &name, source: input.text, timeline: timeline.as_ref(), annotated: input.annotated, explain: explained };
    let page = match &kind {
        Kind::Markdown => picture::markdown::render(&p),
        Kind::Html { .. } => picture::html::render(&p, &nonce()),
        Kind::Timeline { width } => match &timeline {
            Some(t) => picture::text::timeline(t, *width),
            None => format!("{name}: no recorded build\n"),
        },
    };
    if let Kind::Html { output: Some(path) } = &kind {
        std::fs::write(path, page.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(0);
    }
    let mut out = super::stdout(false);
    out.write_all(page.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// 128 random bits for the page's CSP nonce (from the kernel; the clock and pid if that fails).
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        bytes = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(id: &str, log: &str) -> RecordedBuild {
        let build = crate::log::parse_bytes(log.as_bytes()).builds.into_iter().next().expect("a build");
        RecordedBuild { id: id.into(), started: None, build, log_path: PathBuf::from("/x"), live: false, built_dockerfile: None }
    }

    #[test]
    fn the_latest_build_with_a_step_on_this_dockerfile_is_drawn() {
        let ours = recorded("r#1", "#1 [1/2] FROM docker.io/library/alpine\n#1 DONE 0.1s\n#2 [2/2] RUN make\n#2 DONE 2.0s\n");
        let other =
            recorded("r#2", "#1 [1/2] FROM docker.io/library/debian\n#1 DONE 0.1s\n#2 [2/2] RUN ./configure --prefix=/opt\n#2 DONE 9.0s\n");
        let text = "FROM alpine\nRUN make\n";
        let t = latest_timeline(text, &[ours.clone(), other.clone()]).expect("a timeline");
        assert_eq!((t.build.as_str(), t.bars.len()), ("r#1", 2));
        let none = latest_timeline("FROM scratch\nCOPY x /x\n", &[ours, other]).expect("the latest, empty");
        assert_eq!((none.build.as_str(), none.bars.len()), ("r#2", 0));
        assert!(latest_timeline(text, &[]).is_none());
    }
}
