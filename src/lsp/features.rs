//! The bodies of the requests, run on the blocking pool under `catch_unwind` (see `guard`): the host's
//! snapshot of the document (`workspace::Snapshot`, or `LogSnapshot` for an open log), a pure renderer of
//! it (`render`), the rendered answer cached (`rendered`). A closed document, a log where a Dockerfile was
//! expected, or a missing Dockerfile gives `None`.

use std::fs;

use tower_lsp_server::ls_types::{
    CodeActionOrCommand, CodeLens, Diagnostic, DocumentLink, Hover, HoverContents, InlayHint, Location, MarkupContent, MarkupKind,
    Position, Range, ShowDocumentParams, Uri,
};

use crate::lsp::documents::Kind;
use crate::lsp::render::code_lens;
use crate::lsp::render::debug_shell;
use crate::lsp::render::diagnostics;
use crate::lsp::render::hints;
use crate::lsp::render::hover;
use crate::lsp::render::lenses::OpenLog;
use crate::lsp::render::log_links;
use crate::lsp::render::rendered::{self, RenderKey};
use crate::lsp::state::Shared;
use crate::workspace::{files, LogGlobs};

/// The lenses of `uri` when they are rendered and current (no blocking): `code_lens` otherwise.
pub fn cached_code_lens(shared: &Shared, uri: &Uri) -> Option<Vec<CodeLens>> {
    let snapshot = shared.snapshot_if_current(uri)?;
    let key = RenderKey::new(&snapshot.annotated, snapshot.version, (shared.clock)());
    let st = shared.lock();
    st.settings.code_lens.enabled.then_some(())?;
    st.renders.get(uri, &key, |r| r.lenses.clone())
}

/// The hints of `uri` in `range` when they are rendered and current: `inlay_hints` otherwise.
pub fn cached_inlay_hints(shared: &Shared, uri: &Uri, range: Range) -> Option<Vec<InlayHint>> {
    let snapshot = shared.snapshot_if_current(uri)?;
    let key = RenderKey::new(&snapshot.annotated, snapshot.version, (shared.clock)());
    let st = shared.lock();
    st.settings.inlay_hints.enabled.then_some(())?;
    st.renders.get(uri, &key, |r| r.hints.as_ref().map(|h| rendered::hints_in(h, range)))
}

/// The hover at `pos` when it is rendered and current: `Some(None)` is a cached "no hover here".
pub fn cached_hover(shared: &Shared, uri: &Uri, pos: Position) -> Option<Option<Hover>> {
    let snapshot = shared.snapshot_if_current(uri)?;
    let annotated = &snapshot.annotated;
    let key = RenderKey::new(annotated, snapshot.version, (shared.clock)());
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
    let snapshot = shared.snapshot(uri)?;
    let now = (shared.clock)();
    let key = RenderKey::new(&snapshot.annotated, snapshot.version, now);
    if let Some(cached) = shared.lock().renders.get(uri, &key, |r| r.lenses.clone()) {
        return Some(cached);
    }
    let settings = shared.lock().settings.clone();
    let exe = std::env::current_exe().ok();
    let rendered = code_lens::document(&snapshot, &settings, now, exe.as_deref());
    shared.lock().renders.put(uri, key, |r| r.lenses = Some(rendered.clone()));
    Some(rendered)
}

/// Code actions: `Debug: shell before this step` on the failed instructions `range` touches.
pub fn code_actions(shared: &Shared, uri: &Uri, range: Range) -> Option<Vec<CodeActionOrCommand>> {
    let snapshot = shared.snapshot(uri)?;
    let exe = std::env::current_exe().ok()?;
    Some(debug_shell::actions(&snapshot, &exe, range))
}

pub fn inlay_hints(shared: &Shared, uri: &Uri, range: Range) -> Option<Vec<InlayHint>> {
    let (enc, settings) = {
        let st = shared.lock();
        if !st.settings.inlay_hints.enabled {
            return None;
        }
        (st.enc, st.settings.clone())
    };
    let snapshot = shared.snapshot(uri)?;
    let now = (shared.clock)();
    let key = RenderKey::new(&snapshot.annotated, snapshot.version, now);
    // (The lock guard must be gone before rendering: bind the lookup first.)
    let cached = shared.lock().renders.get(uri, &key, |r| r.hints.as_ref().map(|h| rendered::hints_in(h, range)));
    if cached.is_some() {
        return cached;
    }
    let all = hints::document(&snapshot, &settings, enc, now);
    let out = rendered::hints_in(&all, range);
    shared.lock().renders.put(uri, key, |r| r.hints = Some(all));
    Some(out)
}

pub fn hover(shared: &Shared, uri: &Uri, pos: Position) -> Option<Hover> {
    let depth = shared.lock().settings.history_depth;
    let snapshot = shared.snapshot(uri)?;
    let annotated = &snapshot.annotated;
    let view = hover::at_line(&annotated.instructions, pos.line)?;
    let index = annotated.instructions.iter().position(|v| std::ptr::eq(v, view))?;
    let now = (shared.clock)();
    let key = RenderKey::new(annotated, snapshot.version, now);
    let cached = shared.lock().renders.get(uri, &key, |r| r.hovers.get(&(index, depth)).cloned());
    let value = match cached {
        Some(hit) => hit,
        None => {
            let md = hover::document(&snapshot, view, now, depth);
            shared.lock().renders.put(uri, key, |r| {
                r.hovers.insert((index, depth), md.clone());
            });
            md
        }
    }?;
    Some(markdown_hover(value))
}

/// The diagnostics of an open document at `version`; `None` when the document moved on (a newer
/// version will publish its own) or closed.
pub fn diagnostics(shared: &Shared, uri: &Uri, version: i32) -> Option<Vec<Diagnostic>> {
    let (kind, enc) = {
        let st = shared.lock();
        let (kind, doc) = st.docs.get(uri)?;
        (doc.version == version).then_some(())?;
        (kind, st.enc)
    };
    match kind {
        Kind::BuildLog => {
            let log = shared.log_snapshot(uri)?;
            (log.version == version).then(|| log_links::diagnostics(&log, enc))
        }
        Kind::Dockerfile => {
            let snapshot = shared.snapshot(uri)?;
            (snapshot.version == version).then(|| diagnostics::of_snapshot(&snapshot, enc))
        }
    }
}

pub fn document_links(shared: &Shared, uri: &Uri) -> Option<Vec<DocumentLink>> {
    let log = shared.log_snapshot(uri)?;
    log_links::document_links(&log, shared.lock().enc)
}

pub fn definition(shared: &Shared, uri: &Uri, pos: Position) -> Option<Location> {
    let log = shared.log_snapshot(uri)?;
    log_links::definition(&log, pos.line)
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
