//! What `record` keeps of a build's inputs (`inputs.json`: the Dockerfile and `.dockerignore` as built, a
//! bounded manifest of the build context) and the pure comparisons `explain` makes with them: which
//! files under a COPY's sources changed, which build args changed, which image a FROM resolved to.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::dockerfile::{Dockerfile, Form, Instruction};
use crate::glob::Glob;
use crate::log::Step;

/// Version of the `inputs.json` layout.
pub const INPUTS_SCHEMA: u32 = 1;

/// `inputs.json`: the build's inputs as they were when `record` started the build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub schema: u32,
    /// The Dockerfile's text (`None`: unreadable, stdin, or larger than the cap).
    pub dockerfile: Option<String>,
    pub dockerignore: Option<String>,
    pub manifest: Option<Manifest>,
}

/// The build context's files (after `.dockerignore`), without their contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    /// The walk stopped at a cap (files, time): files beyond it are unknown, not absent.
    #[serde(default)]
    pub truncated: bool,
}

/// One regular file (or symlink) of the context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the context, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// What `explain` knows of a build beyond its log: the recorded command line and `inputs.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildFacts {
    pub build_args: Vec<(String, Option<String>)>,
    pub no_cache: bool,
    /// `docker-build`, `buildx-build`, `podman-build`, … (empty: unknown, e.g. an import).
    pub tool: String,
    /// Shared: a record's `inputs.json` does not change once written, so readers may cache it.
    pub inputs: Option<std::sync::Arc<Inputs>>,
}

/// The build args whose value differs between two builds: name → (before, after).
pub fn changed_args(
    before: &[(String, Option<String>)],
    after: &[(String, Option<String>)],
) -> BTreeMap<String, (Option<String>, Option<String>)> {
    // The last `--build-arg` of a name wins, as in docker build.
    let a: HashMap<&str, &Option<String>> = before.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let b: HashMap<&str, &Option<String>> = after.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = BTreeMap::new();
    for name in a.keys().chain(b.keys()) {
        let (x, y) = (a.get(name).and_then(|v| (*v).clone()), b.get(name).and_then(|v| (*v).clone()));
        if x != y {
            out.insert((*name).to_string(), (x, y));
        }
    }
    out
}

/// The image a FROM step resolved to: a `@sha256:` digest in the step's name or output (BuildKit prints
/// `FROM docker.io/library/x:1@sha256:…` and `resolve docker.io/…@sha256:…`), else the legacy builder's
/// ` ---> <id>` after the FROM (log-formats.md §5).
pub fn resolved_image(step: &Step) -> Option<String> {
    static DIGEST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"@(sha256:[0-9a-f]{64})").unwrap());
    let is_from = step.instruction.as_deref().is_some_and(|i| i.get(..5).is_some_and(|k| k.eq_ignore_ascii_case("FROM ")));
    if !is_from {
        return None;
    }
    let texts = std::iter::once(step.name.as_str()).chain(step.excerpt.iter().map(String::as_str));
    for text in texts {
        if let Some(c) = DIGEST.captures(text).and_then(|c| c.get(1)) {
            return Some(c.as_str().to_string());
        }
    }
    step.image_id.clone()
}

/// The sources of a COPY/ADD, relative to the context (`./a/` → `a`, `.` → ``).
pub fn copy_sources(ins: &Instruction) -> Vec<String> {
    let words: Vec<String> = match ins.form {
        Form::Json => serde_json::from_str::<Vec<String>>(ins.args().trim_start_matches(|c: char| c != '[')).unwrap_or_default(),
        Form::Shell => ins.args().split_whitespace().filter(|w| !w.starts_with("--")).map(String::from).collect(),
    };
    let n = words.len().saturating_sub(1);
    words.into_iter().take(n).map(|w| clean(&w)).collect()
}

fn clean(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    parts.join("/")
}

/// The files under `sources` that were added, removed or changed (size or mtime) between two manifests;
/// `None` when either has no manifest. A truncated manifest's missing files do not count as removed.
pub fn changed_under(before: &Inputs, after: &Inputs, sources: &[String]) -> Option<Vec<String>> {
    changed_by(before, after, sources, |o, f| o.size != f.size || o.mtime_ns != f.mtime_ns)
}

/// As [`changed_under`], but a file counts as changed only when added, removed or of another size: what
/// proves a content change without a content hash. The builders' COPY cache ignores mtimes (BuildKit
/// checksums contents; the classic builder since Docker 1.8), so a prediction from a mere mtime (a fresh
/// checkout, `touch`) would be a guess; a same-size edit is missed until `inputs.json` records hashes.
pub fn changed_in_size(before: &Inputs, after: &Inputs, sources: &[String]) -> Option<Vec<String>> {
    changed_by(before, after, sources, |o, f| o.size != f.size)
}

/// The 1-based first lines of the COPY/ADD instructions of `df` (not `--from` copies) with files under
/// their sources [`changed_in_size`] between `recorded` and `now`: `predict`'s `inputs_changed`.
pub fn changed_copies(df: &Dockerfile, recorded: &Inputs, now: &Inputs) -> crate::analysis::predict::ChangedInputs {
    let copies = df
        .instructions
        .iter()
        .filter(|i| i.onbuild.is_none() && matches!(i.keyword.as_str(), "COPY" | "ADD") && !i.flags.iter().any(|f| f.name == "from"));
    let changed = |i: &Instruction| changed_in_size(recorded, now, &copy_sources(i)).filter(|files| !files.is_empty());
    copies.filter_map(|i| Some((i.line, changed(i)?))).collect()
}

fn changed_by(
    before: &Inputs,
    after: &Inputs,
    sources: &[String],
    differs: impl Fn(&FileEntry, &FileEntry) -> bool,
) -> Option<Vec<String>> {
    let (a, b) = (before.manifest.as_ref()?, after.manifest.as_ref()?);
    let old: HashMap<&str, &FileEntry> = a.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let new: HashMap<&str, &FileEntry> = b.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let sources: Vec<CopySource> = sources.iter().map(|s| CopySource::new(s)).collect();
    let under = |p: &str| sources.iter().any(|s| s.covers(p));
    let mut out: Vec<String> = Vec::new();
    for f in &b.files {
        let changed = old.get(f.path.as_str()).is_none_or(|o| differs(o, f));
        // A file a truncated earlier manifest may simply not have listed is not evidence.
        let known_before = !a.truncated || old.contains_key(f.path.as_str());
        if changed && known_before && under(&f.path) {
            out.push(f.path.clone());
        }
    }
    for f in a.files.iter().filter(|f| !new.contains_key(f.path.as_str()) && !b.truncated && under(&f.path)) {
        out.push(format!("{} (removed)", f.path));
    }
    if before.dockerignore != after.dockerignore && sources.iter().any(|s| matches!(s, CopySource::Everything)) {
        out.push(".dockerignore".into());
    }
    Some(out)
}

/// A COPY source, compiled once for the files it is checked against.
enum CopySource<'a> {
    /// `.`: the whole context.
    Everything,
    Pattern(Glob),
    Path(&'a str),
}

impl<'a> CopySource<'a> {
    fn new(source: &'a str) -> CopySource<'a> {
        match source {
            "" => CopySource::Everything,
            s if s.contains(['*', '?', '[']) => CopySource::Pattern(Glob::new(s)),
            s => CopySource::Path(s),
        }
    }

    /// Covers a context path: the path itself, anything under it, or a glob match of the path or one of
    /// its parent folders.
    fn covers(&self, path: &str) -> bool {
        match self {
            CopySource::Everything => true,
            CopySource::Pattern(glob) => glob.covers(path),
            CopySource::Path(s) => path == *s || path.strip_prefix(s).is_some_and(|rest| rest.starts_with('/')),
        }
    }
}

/// `a, b, c and 4 more`.
pub fn list_names(names: &[String], max: usize) -> String {
    let shown: Vec<&str> = names.iter().take(max).map(String::as_str).collect();
    let more = names.len().saturating_sub(max);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Whether `.dockerignore` (its text) excludes `path` (context-relative, `/`-separated): the last matching
/// pattern wins, `!` re-includes, a pattern that matches a folder excludes what is under it.
pub fn ignored(patterns: &[(bool, Glob)], path: &str) -> bool {
    let mut out = false;
    for (negated, glob) in patterns {
        if glob.covers(path) {
            out = !negated;
        }
    }
    out
}

/// The patterns of a `.dockerignore`, compiled: `(negated, pattern)`, comments and blank lines dropped.
pub fn ignore_patterns(text: &str) -> Vec<(bool, Glob)> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p.trim()),
            None => (false, line),
        };
        let pattern = clean(pattern);
        if !pattern.is_empty() {
            out.push((negated, Glob::new(&pattern)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, mtime_ns: i64) -> FileEntry {
        FileEntry { path: path.into(), size, mtime_ns }
    }

    fn with(files: Vec<FileEntry>) -> Inputs {
        Inputs { manifest: Some(Manifest { files, truncated: false }), ..Inputs::default() }
    }

    fn check_ignored(ignore: &str, path: &str, expect: bool) {
        assert_eq!(ignored(&ignore_patterns(ignore), path), expect, "{ignore:?} vs {path}");
    }

    #[test]
    fn dockerignore_semantics() {
        check_ignored(".buildlens\n", ".buildlens/builds/x/build.log", true);
        check_ignored(".buildlens\n", "feeds.conf", false);
        check_ignored("*.md\n!README.md\n", "README.md", false);
        check_ignored("*.md\n!README.md\n", "CHANGES.md", true);
        check_ignored("*.md\n", "docs/a.md", false);
        check_ignored("**/*.md\n", "docs/a.md", true);
        check_ignored("# c\n\n./target/\n", "target/debug/x", true);
        check_ignored("tmp?\n", "tmp1/x", true);
    }

    #[test]
    fn changed_files_under_the_sources() {
        let a = with(vec![entry("feeds.conf", 1, 1), entry("package/hello/build.sh", 10, 1), entry("old.txt", 1, 1)]);
        let b = with(vec![entry("feeds.conf", 1, 1), entry("package/hello/build.sh", 10, 2), entry("new.txt", 1, 1)]);
        let all = changed_under(&a, &b, &[String::new()]).unwrap();
        assert_eq!(all, vec!["package/hello/build.sh", "new.txt", "old.txt (removed)"]);
        assert_eq!(changed_under(&a, &b, &["feeds.conf".into()]).unwrap(), Vec::<String>::new());
        assert_eq!(changed_under(&a, &b, &["package".into()]).unwrap(), vec!["package/hello/build.sh"]);
        assert_eq!(changed_under(&a, &b, &["package/*/build.sh".into()]).unwrap(), vec!["package/hello/build.sh"]);
        assert_eq!(changed_under(&a, &Inputs::default(), &[String::new()]), None);
    }

    #[test]
    fn copies_whose_files_changed_in_size() {
        let df = crate::dockerfile::parse(
            "FROM a AS b\nCOPY feeds.conf ./\nCOPY . .\nADD pkg/ /p/\nFROM a\nCOPY --from=b /x /x\nONBUILD COPY . .\n",
        );
        let a = with(vec![entry("feeds.conf", 1, 1), entry("pkg/build.sh", 10, 1), entry("README", 3, 1)]);
        let check = |files: Vec<FileEntry>, expect: &[u32]| {
            assert_eq!(changed_copies(&df, &a, &with(files.clone())).into_keys().collect::<Vec<_>>(), expect, "{files:?}");
        };
        check(vec![entry("feeds.conf", 1, 9), entry("pkg/build.sh", 10, 9), entry("README", 3, 9)], &[]);
        check(vec![entry("feeds.conf", 1, 1), entry("pkg/build.sh", 11, 1), entry("README", 3, 1)], &[3, 4]);
        let named = changed_copies(&df, &a, &with(vec![entry("feeds.conf", 2, 1), entry("pkg/build.sh", 10, 1), entry("README", 4, 1)]));
        assert_eq!(named.get(&2).unwrap(), &["feeds.conf"], "each COPY names its changed files");
        assert_eq!(named.get(&3).unwrap(), &["feeds.conf", "README"]);
        check(vec![entry("feeds.conf", 2, 1), entry("pkg/build.sh", 10, 1), entry("README", 3, 1)], &[2, 3]);
        check(vec![entry("feeds.conf", 1, 1), entry("pkg/build.sh", 10, 1)], &[3]);
        check(vec![entry("feeds.conf", 1, 1), entry("pkg/build.sh", 10, 1), entry("README", 3, 1), entry("new", 0, 1)], &[3]);
        assert!(changed_copies(&df, &a, &Inputs::default()).is_empty(), "no manifest, no evidence");
    }

    #[test]
    fn sources_of_copy_and_add() {
        let df = crate::dockerfile::parse("FROM a\nCOPY --chown=1 ./src/ package/x.sh /dst/\nCOPY [\"a b\", \"/c\"]\nADD . .\n");
        let srcs: Vec<Vec<String>> = df.instructions.iter().skip(1).map(copy_sources).collect();
        assert_eq!(srcs, vec![vec!["src".to_string(), "package/x.sh".into()], vec!["a b".into()], vec![String::new()]]);
    }

    #[test]
    fn build_args_compare_by_name_last_wins() {
        let v = |s: &str| Some(s.to_string());
        let a = vec![("A".to_string(), v("1")), ("B".into(), v("x")), ("B".into(), v("y"))];
        let b = vec![("A".to_string(), v("2")), ("B".into(), v("y")), ("C".into(), None)];
        let changed = changed_args(&a, &b);
        assert_eq!(changed.keys().collect::<Vec<_>>(), vec!["A"]);
        assert_eq!(changed["A"], (v("1"), v("2")));
    }

    #[test]
    fn from_steps_resolve_to_digests_or_legacy_ids() {
        let mut s = Step::named("[1/2] FROM docker.io/library/alpine:3.19@sha256:".to_string() + &"a".repeat(64));
        s.instruction = Some("FROM docker.io/library/alpine:3.19".into());
        assert_eq!(resolved_image(&s), Some(format!("sha256:{}", "a".repeat(64))));
        let mut s = Step::named("Step 1/3 : FROM alpine");
        s.instruction = Some("FROM alpine".into());
        s.image_id = Some("4f3c".into());
        assert_eq!(resolved_image(&s).as_deref(), Some("4f3c"));
        s.excerpt = vec![format!("#2 resolve docker.io/library/alpine:3.19@sha256:{}", "b".repeat(64))];
        assert_eq!(resolved_image(&s), Some(format!("sha256:{}", "b".repeat(64))));
        s.instruction = Some("RUN x".into());
        assert_eq!(resolved_image(&s), None);
    }
}
