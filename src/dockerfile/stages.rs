//! Stages: each FROM opens one; its base is an image, `scratch` or an earlier stage; `COPY --from=` edges.

use serde::Serialize;

use super::{Instruction, Problem};

/// One build stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// 0-based position in the file (BuildKit names an unnamed stage `stage-<index>`).
    pub index: usize,
    /// The `AS` name, lower-cased as BuildKit does.
    pub name: Option<String>,
    /// Index of the stage's FROM instruction and of its last instruction.
    pub from: usize,
    pub last: usize,
    pub base: Base,
    /// `COPY --from=` / `ADD --from=` edges of this stage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies_from: Vec<CopyFrom>,
}

impl Stage {
    /// The name BuildKit prints in `[<stage> k/n]`: the AS name, else `stage-<index>`.
    pub fn buildkit_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// What a stage (or a `--from=`) starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Base {
    /// An image reference as written (`python:3.13-slim`, `${BASE}`).
    Image(String),
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
}

/// A `COPY --from=<stage|index|image>` edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyFrom {
    pub instruction: usize,
    pub source: Base,
}

/// Assigns every instruction its stage and builds the stage list with bases and edges.
pub(super) fn build(instructions: &mut [Instruction], problems: &mut Vec<Problem>) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for i in 0..instructions.len() {
        let Some(ins) = instructions.get_mut(i) else {
            continue;
        };
        if ins.keyword == "FROM" {
            let stage = new_stage(ins, i, &stages, problems);
            stages.push(stage);
        } else if stages.is_empty() && ins.keyword != "ARG" && super::KEYWORDS.contains(&ins.keyword.as_str()) {
            problems.push(Problem { line: ins.line, message: format!("{} before the first FROM", ins.keyword) });
        }
        let current = stages.len().checked_sub(1);
        ins.stage = current;
        if let Some(stage) = current.and_then(|s| stages.get_mut(s)) {
            stage.last = i;
        }
    }
    for i in 0..instructions.len() {
        let Some(ins) = instructions.get(i) else {
            continue;
        };
        let (Some(stage), Some(from)) = (ins.stage, ins.flag("from")) else {
            continue;
        };
        if !matches!(ins.effective_keyword(), "COPY" | "ADD") {
            continue;
        }
        let source = copy_source(from, stage, &stages);
        if let Some(s) = stages.get_mut(stage) {
            s.copies_from.push(CopyFrom { instruction: i, source });
        }
    }
    stages
}

fn new_stage(ins: &Instruction, i: usize, earlier: &[Stage], problems: &mut Vec<Problem>) -> Stage {
    let index = earlier.len();
    let words: Vec<&str> = ins.args().split_whitespace().filter(|w| !w.starts_with("--")).collect();
    let image = words.first().copied().unwrap_or("");
    let name = match words.as_slice() {
        [_, as_, name, ..] if as_.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
        _ => None,
    };
    if image.is_empty() {
        problems.push(Problem { line: ins.line, message: "FROM without an image".into() });
    }
    if let Some(n) = &name {
        if earlier.iter().any(|s| s.name.as_ref() == Some(n)) {
            problems.push(Problem { line: ins.line, message: format!("duplicate stage name '{n}'") });
        }
    }
    let base = if image.eq_ignore_ascii_case("scratch") {
        Base::Scratch
    } else if let Some(s) = earlier.iter().position(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(image))) {
        Base::Stage(s)
    } else {
        Base::Image(image.to_string())
    };
    Stage { index, name, from: i, last: i, base, copies_from: Vec::new() }
}

/// `--from=builder` → that stage; `--from=1` → stage 1 if it comes before; else an image.
fn copy_source(from: &str, current: usize, stages: &[Stage]) -> Base {
    if let Some(s) = stages.iter().take(current).position(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(from))) {
        return Base::Stage(s);
    }
    match from.parse::<usize>() {
        Ok(n) if n < current => Base::Stage(n),
        _ => Base::Image(from.to_string()),
    }
}
