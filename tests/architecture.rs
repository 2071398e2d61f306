//! The code map's rules, checked on the source: no import circle anywhere in `src/` (between top-level
//! modules, and between files), no file over 500 lines outside tests, and `workspace` never reaching up
//! into the language server or its async runtime.
//!
//! The graph is file-level: every `crate::…`, `super::…` and `self::…` path in a file's non-test code
//! (and the paths through the child modules it declares) is an edge to the file of the longest module
//! prefix it names. A `mod.rs` that declares, re-exports or dispatches to its own children is the
//! structure of the tree, not an import: those downward edges are left out, every other edge counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, by its path relative to `src/` (with `/`).
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &src(), &mut out);
    out
}

fn is_test_file(rel: &str) -> bool {
    rel.ends_with("_tests.rs") || rel.ends_with("/tests.rs")
}

/// The module path of a file: `lsp/render/mod.rs` → `["lsp", "render"]`, `lib.rs` → `[]`.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel.trim_end_matches(".rs").split('/').map(String::from).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code before the first `#[cfg(test)]`, without comments and string contents.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        let mut in_string = false;
        let mut escaped = false;
        for c in line.chars() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                    out.push('"');
                }
                continue;
            }
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// Paths starting at `start` in `code`: `crate::a::b`, `super::x`, and the segments of a `use …::{a, b::c}`
/// group each as their own path.
fn paths_from(code: &str, start: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find(start).map(|i| from + i) {
        from = at + start.len();
        let before = at.checked_sub(1).and_then(|i| bytes.get(i)).copied().unwrap_or(b' ');
        if before.is_ascii_alphanumeric() || before == b'_' || before == b':' {
            continue;
        }
        let rest = &code[from..];
        if !rest.starts_with("::") {
            continue;
        }
        let rest = &rest[2..];
        let (prefix, after) = segments_at(rest);
        match after.strip_prefix("::{").or_else(|| rest.strip_prefix('{')) {
            Some(group) => {
                let body = &group[..group.find('}').unwrap_or(group.len())];
                for item in body.split(',') {
                    let mut path = prefix.clone();
                    path.extend(segments(item.trim()));
                    out.push(path);
                }
            }
            None => out.push(prefix),
        }
        let path = out.last().cloned().unwrap_or_default();
        if path.is_empty() {
            out.pop();
        }
    }
    out
}

/// `a::b::c(…)` → `[a, b, c]` (stops at the first character that is not part of a path).
fn segments(text: &str) -> Vec<String> {
    segments_at(text).0
}

/// The segments at the start of `text`, and what follows them.
fn segments_at(text: &str) -> (Vec<String>, &str) {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::").filter(|next| !next.starts_with('{')) {
            Some(next) => rest = next,
            None => {
                rest = &rest[end..];
                break;
            }
        }
    }
    (out, rest)
}

/// The file-level import graph of `src/` (test code left out; a `mod.rs`'s edges to its own children too).
fn graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let by_module: BTreeMap<Vec<String>, String> =
        files.keys().filter(|f| !f.starts_with("bin/") && !is_test_file(f)).map(|f| (module_of(f), f.clone())).collect();
    let resolve = |path: &[String]| (1..=path.len()).rev().find_map(|k| by_module.get(&path[..k]).cloned());
    let mut edges = BTreeMap::new();
    for (rel, text) in files.iter().filter(|(f, _)| by_module.values().any(|v| v == *f)) {
        let me = module_of(rel);
        let code = code_of(text);
        let mut out = BTreeSet::new();
        let mut add = |base: Vec<String>, mut path: Vec<String>| {
            let mut base = base;
            while path.first().is_some_and(|s| s == "super") {
                base.pop();
                path.remove(0);
            }
            base.extend(path);
            if let Some(target) = resolve(&base) {
                out.insert(target);
            }
        };
        for p in paths_from(&code, "crate") {
            add(Vec::new(), p);
        }
        for p in paths_from(&code, "super") {
            add(me[..me.len().saturating_sub(1)].to_vec(), p);
        }
        for p in paths_from(&code, "self") {
            add(me.clone(), p);
        }
        let children: Vec<String> = code
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let l =
                    l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub(super) ")).or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
                l.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')).map(|m| m.trim().to_string())
            })
            .collect();
        for child in &children {
            for p in paths_from(&code, child) {
                let mut path = vec![child.clone()];
                path.extend(p);
                add(me.clone(), path);
            }
        }
        let is_mod = rel.ends_with("mod.rs") || rel == "lib.rs";
        let dir = Path::new(rel).parent().map(Path::to_path_buf).unwrap_or_default();
        out.retain(|t| {
            let own_child = is_mod
                && (Path::new(t).parent() == Some(&dir)
                    || (t.ends_with("mod.rs") && Path::new(t).parent().and_then(Path::parent) == Some(&dir)));
            t != rel && !own_child
        });
        edges.insert(rel.clone(), out);
    }
    edges
}

/// The circles of `edges` (strongly connected components of more than one node), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on the reversed graph.
    fn visit(n: &str, edges: &BTreeMap<String, BTreeSet<String>>, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if !seen.insert(n.to_string()) {
            return;
        }
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, seen, order);
        }
        order.push(n.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for n in edges.keys() {
        visit(n, edges, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, bs) in edges {
        for b in bs {
            reversed.entry(b.clone()).or_default().insert(a.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.iter().rev() {
        let mut component = Vec::new();
        visit(n, &reversed, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

#[test]
fn no_import_circle_between_files() {
    let edges = graph(&sources());
    assert!(edges.get("lsp/render/lenses.rs").is_some_and(|e| e.contains("lsp/render/signal.rs")), "the graph sees imports");
    assert_eq!(cycles(&edges), Vec::<Vec<String>>::new(), "files that import each other in a circle");
}

#[test]
fn no_import_circle_between_top_level_modules() {
    let edges = graph(&sources());
    let top = |f: &str| f.split('/').next().unwrap_or(f).trim_end_matches(".rs").to_string();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &edges {
        let entry = modules.entry(top(from)).or_default();
        entry.extend(tos.iter().map(|t| top(t)).filter(|t| *t != top(from)));
    }
    assert!(modules["lsp"].contains("workspace") && modules["cli"].contains("workspace"), "both front ends stand on workspace");
    assert_eq!(cycles(&modules), Vec::<Vec<String>>::new(), "modules that import each other in a circle");
}

#[test]
fn the_detector_finds_a_circle_and_ignores_a_parent_declaring_its_children() {
    let files: BTreeMap<String, String> = [
        ("a/mod.rs", "mod b;\nmod c;\npub use b::B;\nuse crate::d::D;\n"),
        ("a/b.rs", "use super::c::C;\npub struct B;\n"),
        ("a/c.rs", "pub struct C;\nfn f() { let _ = super::B; }\n#[cfg(test)]\nmod tests { use crate::d::D; }\n"),
        ("d.rs", "use crate::a::{b::B, c};\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let edges = graph(&files);
    assert!(!edges["a/mod.rs"].contains("a/b.rs"), "a parent's own children are structure");
    assert!(edges["d.rs"].contains("a/b.rs") && edges["d.rs"].contains("a/c.rs"), "a use group names each file");
    assert_eq!(cycles(&edges), vec![vec!["a/b.rs".to_string(), "a/c.rs".to_string(), "a/mod.rs".to_string(), "d.rs".to_string()]]);
}

#[test]
fn no_file_over_500_lines_outside_tests() {
    let long: Vec<(String, usize)> = sources()
        .into_iter()
        .filter(|(f, _)| !is_test_file(f))
        .map(|(f, text)| (f, text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .collect();
    assert_eq!(long, Vec::<(String, usize)>::new(), "files over {MAX_LINES} lines");
}

#[test]
fn workspace_never_imports_the_language_server_or_its_runtime() {
    let files = sources();
    let workspace: Vec<(&String, &String)> = files.iter().filter(|(f, _)| f.starts_with("workspace/")).collect();
    assert!(workspace.len() >= 5, "the workspace module is where the map says");
    for (file, text) in workspace {
        for word in ["crate::lsp", "tokio", "tower_lsp"] {
            assert!(!text.contains(word), "{file} mentions {word}");
        }
    }
}

#[test]
fn the_commands_stand_on_workspace_not_on_the_server() {
    let files = sources();
    let commands: Vec<(&String, &String)> = files.iter().filter(|(f, _)| f.starts_with("cli/") && f.ends_with("_cmd.rs")).collect();
    assert!(commands.len() >= 5, "the commands are where the map says");
    for (file, text) in commands {
        assert!(!text.contains("crate::lsp"), "{file} reaches into the language server");
    }
    for file in ["cli/report_cmd.rs", "cli/explain_cmd.rs", "cli/debug_cmd.rs"] {
        assert!(files[file].contains("Batch::open"), "{file} takes its builds from the workspace");
    }
}

/// The renderers are pure functions of a snapshot: no store, file system, engine, registry or server
/// state reaches `lsp/render/` (what the records say comes only through `workspace::Snapshot`).
#[test]
fn the_renderers_read_snapshots_only() {
    let files = sources();
    let renderers: Vec<(&String, &String)> = files.iter().filter(|(f, _)| f.starts_with("lsp/render/")).collect();
    assert!(renderers.len() >= 8, "the renderers are where the map says");
    let io = [
        "crate::store",
        "crate::engine",
        "crate::remote",
        "crate::record",
        "std::fs",
        "std::env",
        "std::process",
        "File::open",
        "crate::lsp::state",
        "crate::lsp::sources",
        "crate::lsp::features",
        "crate::workspace::Host",
        "crate::workspace::files",
    ];
    for (file, text) in renderers {
        let code = code_of(text);
        for word in io {
            assert!(!code.contains(word), "{file} reaches {word}: a renderer reads a snapshot only");
        }
    }
}
