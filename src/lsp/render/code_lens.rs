//! Every code lens of a snapshot, in one list: the last runs (`lenses`) and the will-rebuild lenses
//! (`rebuild`) in line order, the policy between them from the editor's settings and the snapshot's
//! prediction (`signal`), then the debug lenses (`debug_shell`). Pure.

use chrono::{DateTime, Utc};
use tower_lsp_server::ls_types::CodeLens;

use crate::lsp::config::Settings;
use crate::lsp::render::signal::Policy;
use crate::lsp::render::{debug_shell, lenses, rebuild};
use crate::workspace::Snapshot;

/// Every lens of a snapshot: the last runs and the will-rebuild lenses in line order (the policy from the
/// editor's `settings` and the snapshot's prediction), then the debug lenses (`exe`: this binary, when known).
pub fn document(snapshot: &Snapshot, settings: &Settings, now: DateTime<Utc>, exe: Option<&std::path::Path>) -> Vec<CodeLens> {
    let predicted = snapshot.prediction();
    let policy = Policy::new(settings, &predicted);
    let mut out = lenses::lenses(&snapshot.annotated, &policy, now);
    out.extend(rebuild::lenses(&predicted, &snapshot.annotated));
    out.sort_by_key(|l| l.range.start.line);
    out.extend(exe.map(|exe| debug_shell::lenses(snapshot, exe)).unwrap_or_default());
    out
}
