//! The bodies of the requests, run on the blocking pool under `catch_unwind` (see `guard`): snapshot the
//! state, call a pure renderer, convert. A closed document, a log where a Dockerfile was expected, or a
//! missing Dockerfile gives `None`.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::ls_types::{
    CodeActionOrCommand, CodeLens, Diagnostic, DiagnosticSeverity, DocumentLink, Hover, HoverContents, InlayHint, Location, MarkupContent,
    MarkupKind, Position, Range, ShowDocumentParams, Uri,
};

use crate::analysis::predict::Prediction;
use crate::lsp::documents::{Document, Kind};
use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::render::debug_shell;
use crate::lsp::render::diagnostics;
use crate::lsp::render::hints;
use crate::lsp::render::hover;
use crate::lsp::render::lenses;
use crate::lsp::render::lenses::OpenLog;
use crate::lsp::render::log_links;
use crate::lsp::render::rebuild;
use crate::lsp::render::rendered::{self, RenderKey};
use crate::lsp::render::signal::Policy;
use crate::lsp::state::Shared;
use crate::store::safe_fs;
use crate::workspace::{files, LogGlobs, Snapshot};

/// The lenses of `uri` when they are rendered and current (no blocking): `code_lens` otherwise.
pub fn cached_code_lens(shared: &Shared, uri: &Uri) -> Option<Vec<CodeLens>> {
    let (doc, snapshot) = shared.snapshot_if_current(uri)?;
    let key = RenderKey::new(&snapshot.annotated, doc.version, (shared.clock)());
    let st = shared.lock();
    st.settings.code_lens.enabled.then_some(())?;
    st.renders.get(uri, &key, |r| r.lenses.clone())
}

/// The hints of `uri` in `range` when they are rendered and current: `inlay_hints` otherwise.
pub fn cached_inlay_hints(shared: &Shared, uri: &Uri, range: Range) -> Option<Vec<InlayHint>> {
    let (doc, snapshot) = shared.snapshot_if_current(uri)?;
    let key = RenderKey::new(&snapshot.annotated, doc.version, (shared.clock)());
    let st = shared.lock();
    st.settings.inlay_hints.enabled.then_some(())?;
    st.renders.get(uri, &key, |r| r.hints.as_ref().map(|h| rendered::hints_in(h, range)))
}

/// The hover at `pos` when it is rendered and current: `Some(None)` is a cached "no hover here".
pub fn cached_hover(shared: &Shared, uri: &Uri, pos: Position) -> Option<Option<Hover>> {
    let (doc, snapshot) = shared.snapshot_if_current(uri)?;
    let annotated = &snapshot.annotated;
    let key = RenderKey::new(annotated, doc.version, (shared.clock)());
    let index =
        hover::at_line(&annotated.instructions, pos.line).and_then(|v| annotated.instructions.iter().position(|w| std::ptr::eq(v, w)));
    let st = shared.lock();
    let depth = st.settings.history_depth;
    let Some(index) = index else { return Some(None) };
    let md = st.renders.get(uri, &key, |r| r.hovers.get(&(index, depth)).cloned())?;
    Some(md.map(markdown_hover))
}

fn markdown_hover(value: String) -> Hover {
    Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }), range: None }
}

pub fn code_lens(shared: &Shared, uri: &Uri) -> Option<Vec<CodeLens>> {
    if !shared.lock().settings.code_lens.enabled {
        return None;
    }
    let (doc, snapshot) = shared.snapshot(uri)?;
    let annotated = &snapshot.annotated;
    let now = (shared.clock)();
    let key = RenderKey::new(annotated, doc.version, now);
    if let Some(cached) = shared.lock().renders.get(uri, &key, |r| r.lenses.clone()) {
        return Some(cached);
    }
    let predicted = predicted(shared, &snapshot);
    let policy = Policy::new(&shared.lock().settings, &predicted);
    let mut rendered = lenses::lenses(annotated, &policy, now);
    rendered.extend(rebuild::lenses(&predicted, annotated));
    rendered.sort_by_key(|l| l.range.start.line);
    rendered.extend(with_debug_paths(&snapshot, |paths| debug_shell::lenses(annotated, paths)).unwrap_or_default());
    shared.lock().renders.put(uri, key, |r| r.lenses = Some(rendered.clone()));
    Some(rendered)
}

/// Code actions: `Debug: shell before this step` on the failed instructions `range` touches.
pub fn code_actions(shared: &Shared, uri: &Uri, range: Range) -> Option<Vec<CodeActionOrCommand>> {
    let (_, snapshot) = shared.snapshot(uri)?;
    with_debug_paths(&snapshot, |paths| debug_shell::actions(&snapshot.annotated, paths, range))
}

/// The paths `buildlens debug` is started with: this binary, and the snapshot's Dockerfile, store and root.
fn with_debug_paths<T>(snapshot: &Snapshot, f: impl FnOnce(&debug_shell::Paths<'_>) -> T) -> Option<T> {
    let (store, root) = (snapshot.settings.store.root(), snapshot.settings.root.as_path());
    let store = if store.is_absolute() { store.to_path_buf() } else { root.join(store) };
    let exe = std::env::current_exe().ok()?;
    Some(f(&debug_shell::Paths { exe: &exe, dockerfile: &snapshot.path, store: &store, root }))
}

pub fn inlay_hints(shared: &Shared, uri: &Uri, range: Range) -> Option<Vec<InlayHint>> {
    let enc = {
        let st = shared.lock();
        if !st.settings.inlay_hints.enabled {
            return None;
        }
        st.enc
    };
    let (doc, snapshot) = shared.snapshot(uri)?;
    let annotated = &snapshot.annotated;
    let now = (shared.clock)();
    let key = RenderKey::new(annotated, doc.version, now);
    // (The lock guard must be gone before rendering: bind the lookup first.)
    let cached = shared.lock().renders.get(uri, &key, |r| r.hints.as_ref().map(|h| rendered::hints_in(h, range)));
    if cached.is_some() {
        return cached;
    }
    // (The prediction takes the lock itself: compute it before locking for the settings.)
    let predicted = predicted(shared, &snapshot);
    let policy = Policy::new(&shared.lock().settings, &predicted);
    let all = hints::hints(annotated, &policy, &doc, enc, rendered::everything(), now);
    let out = rendered::hints_in(&all, range);
    shared.lock().renders.put(uri, key, |r| r.hints = Some(all));
    Some(out)
}

/// What the buffer's edits will rebuild (`workspace::Host::prediction`: once per snapshot; lenses, hints
/// and hovers share it).
fn predicted(shared: &Shared, snapshot: &Snapshot) -> Arc<Prediction> {
    shared.host.prediction(snapshot)
}

/// `◆ critical path: 8.2s of 12.1s` or `ran in parallel, 2.0s of slack`: where the instruction's last run
/// stood in the newest build's timeline (durations only, no log text), as `report` says it.
fn critical_note(shared: &Shared, snapshot: &Snapshot, view: &crate::analysis::InstructionView) -> Option<String> {
    shared.host.critical_note(snapshot, view)
}

pub fn hover(shared: &Shared, uri: &Uri, pos: Position) -> Option<Hover> {
    let depth = shared.lock().settings.history_depth;
    let (doc, snapshot) = shared.snapshot(uri)?;
    let annotated = &snapshot.annotated;
    let view = hover::at_line(&annotated.instructions, pos.line)?;
    let index = annotated.instructions.iter().position(|v| std::ptr::eq(v, view))?;
    let now = (shared.clock)();
    let key = RenderKey::new(annotated, doc.version, now);
    let cached = shared.lock().renders.get(uri, &key, |r| r.hovers.get(&(index, depth)).cloned());
    let value = match cached {
        Some(hit) => hit,
        None => {
            let predicted = predicted(shared, &snapshot);
            let rebuild = predicted.rebuilds.iter().find(|r| r.line == view.line);
            let last_stage = annotated.instructions.last().and_then(|v| v.stage.as_deref());
            let mut md = hover::markdown(view, &annotated.builds, now, depth, last_stage);
            if let Some(r) = rebuild {
                // A new line has no history: the hover says only that it will rebuild.
                let md = md.get_or_insert_with(|| format!("**{}**\n", crate::lsp::render::markdown::escape(&view.keyword)));
                md.push_str(&rebuild::hover_markdown(r, &predicted, annotated));
            }
            let md = md.map(|mut value| {
                if let Some(e) = annotated.explain.as_ref().filter(|e| view.last.as_ref().is_some_and(|l| l.build == e.to)) {
                    value.push_str(&hover::cause_markdown(e, &annotated.builds, view.line));
                }
                if let Some(note) = critical_note(shared, &snapshot, view) {
                    value.push_str(&format!("\n{note}\n"));
                }
                value.push_str(&pulled_note(&snapshot, view, depth));
                value
            });
            shared.lock().renders.put(uri, key, |r| {
                r.hovers.insert((index, depth), md.clone());
            });
            md
        }
    }?;
    Some(markdown_hover(value))
}

/// Where the shown runs pulled from a registry came from (`#3 CI · main · 3h ago`): read from their
/// records' meta only for pulled ones (a remote id), at most `depth` of them. Escaped: a branch name is
/// the pusher's text.
fn pulled_note(snapshot: &crate::workspace::Snapshot, view: &crate::analysis::InstructionView, depth: usize) -> String {
    let store = &snapshot.settings.store;
    let pulled: Vec<String> = view
        .history
        .iter()
        .rev()
        .take(depth.max(1))
        .filter_map(|run| {
            let label = crate::store::remote::origin_label(store, &run.build)?;
            let number = snapshot.annotated.build(&run.build).map_or_else(String::new, |b| format!("#{} ", b.number));
            Some(format!("{number}{}", crate::lsp::render::markdown::escape(&label)))
        })
        .collect();
    if pulled.is_empty() {
        return String::new();
    }
    format!("\n*Pulled from the registry:* {}\n", pulled.join(", "))
}

/// The diagnostics of an open document at `version`; `None` when the document moved on (a newer
/// version will publish its own) or closed.
pub fn diagnostics(shared: &Shared, uri: &Uri, version: i32) -> Option<Vec<Diagnostic>> {
    let (kind, doc, enc) = {
        let st = shared.lock();
        let (kind, doc) = st.docs.get(uri)?;
        (kind, doc, st.enc)
    };
    if doc.version != version {
        return None;
    }
    match kind {
        Kind::BuildLog => Some(log_diagnostics(&doc, enc, linked_dockerfile(shared, uri, &doc).is_some())),
        Kind::Dockerfile => {
            let (doc, snapshot) = shared.snapshot(uri)?;
            (doc.version == version).then(|| diagnostics::dockerfile(&snapshot.annotated, &doc, enc, &files::line_at))
        }
    }
}

/// The error and warning lines of an open log. A log built from a Dockerfile of the workspace has its
/// failures on that Dockerfile's lines (with a link here): its own are hints, marked in the log but not
/// listed in Problems a second time.
fn log_diagnostics(doc: &Document, enc: Encoding, linked: bool) -> Vec<Diagnostic> {
    let problems = log_links::problems(&doc.text);
    let to_diag = |(line, is_error, message): (usize, bool, String)| {
        let len = doc.line(line).map_or(0, |t| enc.len(t));
        let range = Range::new(Position::new(line as u32, 0), Position::new(line as u32, len));
        let severity = match (linked, is_error) {
            (true, _) => DiagnosticSeverity::HINT,
            (false, true) => DiagnosticSeverity::ERROR,
            (false, false) => DiagnosticSeverity::WARNING,
        };
        diagnostics::diagnostic(range, severity, message, None)
    };
    problems.into_iter().map(to_diag).collect()
}

/// An open log, the Dockerfile it was built from, and the links between them.
struct LogView {
    doc: Document,
    enc: Encoding,
    dockerfile: Uri,
    refs: Vec<log_links::LogRef>,
}

fn log_view(shared: &Shared, uri: &Uri) -> Option<LogView> {
    let (doc, enc) = {
        let st = shared.lock();
        let (kind, doc) = st.docs.get(uri)?;
        (kind == Kind::BuildLog).then_some(())?;
        (doc, st.enc)
    };
    let path = linked_dockerfile(shared, uri, &doc)?;
    let dockerfile = Uri::from_file_path(&path)?;
    // The buffer when the Dockerfile is open (unsaved edits count), else the file (regular, under the cap).
    let open = shared.lock().docs.get(&dockerfile).map(|(_, d)| d.text.to_string());
    let text = open.or_else(|| safe_fs::read_text(&path, safe_fs::DOCKERFILE_CAP).ok())?;
    let refs = log_links::scan(&doc.text, &text);
    Some(LogView { doc, enc, dockerfile, refs })
}

/// The Dockerfile an open log was built from (`workspace::files::log_dockerfile`).
fn linked_dockerfile(shared: &Shared, uri: &Uri, doc: &Document) -> Option<PathBuf> {
    let (root, store) = {
        let st = shared.lock();
        (st.root.clone(), st.store())
    };
    let log_path = uri.to_file_path()?.into_owned();
    files::log_dockerfile(&log_path, &doc.text, &root, &store)
}

fn ref_range(view: &LogView, r: &log_links::LogRef) -> Range {
    let text = view.doc.line(r.line).unwrap_or("");
    let line = r.line as u32;
    Range::new(Position::new(line, view.enc.column(text, r.start)), Position::new(line, view.enc.column(text, r.end)))
}

fn target(view: &LogView, line: u32) -> Location {
    let pos = Position::new(line.saturating_sub(1), 0);
    Location { uri: view.dockerfile.clone(), range: Range::new(pos, pos) }
}

pub fn document_links(shared: &Shared, uri: &Uri) -> Option<Vec<DocumentLink>> {
    let view = log_view(shared, uri)?;
    let link = |r: &log_links::LogRef| {
        // `#L<n>` is the line fragment editors understand for file links.
        let target = format!("{}#L{}", view.dockerfile.as_str(), r.target).parse::<Uri>().ok();
        DocumentLink { range: ref_range(&view, r), target, tooltip: Some(format!("Dockerfile line {}", r.target)), data: None }
    };
    Some(view.refs.iter().map(link).collect())
}

pub fn definition(shared: &Shared, uri: &Uri, pos: Position) -> Option<Location> {
    let view = log_view(shared, uri)?;
    // Anywhere on the line, not only on the link text: a log line holds at most one link, and a cursor on
    // column 1 of `#7 [sdk 4/9] RUN …` means that step (issue 14).
    let hit = view.refs.iter().find(|r| r.line as u32 == pos.line)?;
    Some(target(&view, hit.target))
}

/// `buildlens.openLog`: the log at the step, for `window/showDocument`. Only logs inside the store or
/// matched by `buildlens.logGlobs`.
pub fn open_log(shared: &Shared, args: OpenLog) -> Option<ShowDocumentParams> {
    let (store_root, globs) = {
        let st = shared.lock();
        (st.store().root().to_path_buf(), LogGlobs { root: st.root.clone(), globs: st.settings.log_globs.clone() })
    };
    let store_root = fs::canonicalize(store_root).ok()?;
    let path = fs::canonicalize(&args.path).ok()?;
    if !path.starts_with(&store_root) && !globs.matches(&path, &store_root) {
        return None;
    }
    let line = args.line.map(|l| l.saturating_sub(1)).or_else(|| files::line_at(&path, args.offset))?;
    let pos = Position::new(line, 0);
    Some(ShowDocumentParams {
        uri: Uri::from_file_path(&path)?,
        external: Some(false),
        take_focus: Some(true),
        selection: Some(Range::new(pos, pos)),
    })
}
