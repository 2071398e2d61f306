//! `Debug: shell before this step`: a code lens and a code action on each instruction whose last recorded
//! run failed. Their command is the CLIENT-side `buildlens.debugShell` (not in the server's
//! executeCommandProvider): the editor runs `argv` (`buildlens debug <Dockerfile>:<line> --store <dir>`)
//! in a terminal. Pure: the snapshot's debug targets and their paths (+ this binary) in, LSP values out.

use std::path::Path;

use serde_json::json;
use tower_lsp_server::ls_types::{CodeAction, CodeActionKind, CodeActionOrCommand, CodeLens, Command, Position, Range};

use crate::analysis::{Annotated, InstructionView};
use crate::workspace::Snapshot;

/// The client-side command; arguments `[{"argv": [...], "cwd": <workspace root>, "title": ...}]`.
pub const DEBUG_SHELL: &str = "buildlens.debugShell";
pub const TITLE: &str = "Debug: shell before this step";

/// Where things are: the running buildlens binary, the document, the store, the workspace root.
#[derive(Debug, Clone, Copy)]
pub struct Paths<'a> {
    pub exe: &'a Path,
    pub dockerfile: &'a Path,
    pub store: &'a Path,
    pub root: &'a Path,
}

impl<'a> Paths<'a> {
    /// The snapshot's debug paths (`workspace::DebugPaths`), started with `exe`.
    pub fn of(snapshot: &'a Snapshot, exe: &'a Path) -> Paths<'a> {
        let d = &snapshot.debug;
        Paths { exe, dockerfile: &d.dockerfile, store: &d.store, root: &d.root }
    }
}

/// The snapshot's debug targets (`workspace::debug_targets`: the instructions whose last run failed).
fn failed(annotated: &Annotated) -> impl Iterator<Item = &InstructionView> {
    crate::workspace::debug_targets(annotated)
}

/// The command for the failed instruction at `line` (1-based).
pub fn command(paths: &Paths<'_>, line: u32) -> Command {
    let target = format!("{}:{line}", paths.dockerfile.display());
    let argv = [paths.exe.display().to_string(), "debug".into(), target, "--store".into(), paths.store.display().to_string()];
    let name = paths.dockerfile.file_name().map_or_else(|| "Dockerfile".into(), |n| n.to_string_lossy().into_owned());
    let args = json!({"argv": argv, "cwd": paths.root, "title": format!("buildlens debug {name}:{line}")});
    Command { title: TITLE.into(), command: DEBUG_SHELL.into(), arguments: Some(vec![args]) }
}

fn at(line: u32) -> Range {
    let pos = Position::new(line.saturating_sub(1), 0);
    Range::new(pos, pos)
}

/// The debug lenses of the snapshot's debug targets.
pub fn lenses(snapshot: &Snapshot, exe: &Path) -> Vec<CodeLens> {
    lenses_of(&snapshot.annotated, &Paths::of(snapshot, exe))
}

fn lenses_of(annotated: &Annotated, paths: &Paths<'_>) -> Vec<CodeLens> {
    failed(annotated).map(|v| CodeLens { range: at(v.line), command: Some(command(paths, v.line)), data: None }).collect()
}

/// Actions for the snapshot's debug targets that `range` (0-based lines) touches.
pub fn actions(snapshot: &Snapshot, exe: &Path, range: Range) -> Vec<CodeActionOrCommand> {
    actions_of(&snapshot.annotated, &Paths::of(snapshot, exe), range)
}

fn actions_of(annotated: &Annotated, paths: &Paths<'_>, range: Range) -> Vec<CodeActionOrCommand> {
    let touches = |v: &&InstructionView| v.line.saturating_sub(1) <= range.end.line && range.start.line <= v.end_line.saturating_sub(1);
    let action = |v: &InstructionView| {
        // A quick fix: VS Code lists it in the failure's hover and light bulb ("Quick Fix…", not "No quick fixes").
        let kind = Some(CodeActionKind::QUICKFIX);
        CodeActionOrCommand::CodeAction(CodeAction {
            title: TITLE.into(),
            kind,
            command: Some(command(paths, v.line)),
            ..CodeAction::default()
        })
    };
    failed(annotated).filter(touches).map(action).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::StepStatus;
    use crate::workspace::words::fixtures::run;

    fn view(line: u32, end_line: u32, status: Option<StepStatus>) -> InstructionView {
        InstructionView {
            line,
            end_line,
            keyword: "RUN".into(),
            stage: None,
            last: status.map(|s| run(s, None)),
            history: vec![],
            changed_since_build: false,
            checks: Vec::new(),
        }
    }

    fn paths() -> Paths<'static> {
        Paths {
            exe: Path::new("/bin/buildlens"),
            dockerfile: Path::new("/ws/Dockerfile"),
            store: Path::new("/ws/.buildlens"),
            root: Path::new("/ws"),
        }
    }

    fn lines(range: (u32, u32)) -> Vec<u32> {
        let a = Annotated {
            instructions: vec![view(2, 2, Some(StepStatus::Executed)), view(4, 6, Some(StepStatus::Error)), view(8, 8, None)],
            problems: vec![],
            explain: None,
            builds: vec![],
        };
        let r = Range::new(Position::new(range.0, 3), Position::new(range.1, 0));
        let found = actions_of(&a, &paths(), r).into_iter().map(|a| match a {
            CodeActionOrCommand::CodeAction(a) => a.command.unwrap().arguments.unwrap()[0]["argv"][2].as_str().unwrap().to_string(),
            CodeActionOrCommand::Command(_) => panic!("a bare command"),
        });
        found.map(|t| t.rsplit(':').next().unwrap().parse().unwrap()).collect()
    }

    #[test]
    fn actions_on_the_lines_of_failed_steps_only() {
        assert_eq!(lines((3, 3)), vec![4]);
        assert_eq!(lines((5, 5)), vec![4], "a continuation line of the failed instruction");
        assert_eq!(lines((0, 9)), vec![4]);
        assert_eq!(lines((1, 1)), Vec::<u32>::new());
        assert_eq!(lines((6, 7)), Vec::<u32>::new());
    }

    #[test]
    fn the_command_carries_argv_cwd_and_title() {
        let c = command(&paths(), 4);
        assert_eq!((c.title.as_str(), c.command.as_str()), (TITLE, DEBUG_SHELL));
        let expect = json!([{"argv": ["/bin/buildlens", "debug", "/ws/Dockerfile:4", "--store", "/ws/.buildlens"], "cwd": "/ws", "title": "buildlens debug Dockerfile:4"}]);
        assert_eq!(json!(c.arguments), expect);
    }
}
