//! An image's history mapped onto the Dockerfile: which layer each instruction of the final stage made,
//! and its size. Pure: the engine adapter (`crate::engine`) turns the daemon's rows into [`Layer`]s first.
//!
//! What the rows look like (captured from dockerd 20.10, fixtures/engine/): newest first, one row per
//! instruction of the final stage (ARG and metadata included, size 0), then the rows of the base image (an
//! earlier stage's rows too when the final stage starts `FROM <stage>`), which belong to FROM.
//! - BuildKit: `Id` is `<missing>` except on the top row; RUN/COPY/ADD rows read
//!   `RUN |1 A=b /bin/sh -c cmd # buildkit`, `COPY src /dst # buildkit` (`--from` dropped); metadata rows read
//!   `ENV A=b`, `CMD ["sh"]` with no marker.
//! - Classic builder (and buildah): every row has an id; metadata and COPY/ADD rows read
//!   `/bin/sh -c #(nop)  ENV A=b`, `/bin/sh -c #(nop) COPY file:<hash> in /dst `; RUN rows are the command
//!   itself, `/bin/sh -c cmd` or `|1 A=b /bin/sh -c cmd`.
//! - An imported base image has one row with an empty `CreatedBy`.

use serde::{Deserialize, Serialize};

use super::{Annotated, LayerNote};
use crate::dockerfile::{Dockerfile, Form, Instruction, KEYWORDS};

/// Version of the `image.json` layout.
pub const IMAGE_SCHEMA: u32 = 1;

/// One row of an image's history, in our own terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The row's image id; `None` where the engine says `<missing>` (BuildKit's intermediate rows).
    pub id: Option<String>,
    /// Unix seconds.
    pub created: Option<i64>,
    pub created_by: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// An image's history as taken from the engine (`<record>/image.json` when `record` took it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageHistory {
    pub schema: u32,
    /// What was asked for: an image id or a tag.
    pub image: String,
    /// The image id (`sha256:…`) the engine answered with.
    pub id: Option<String>,
    /// When the history was taken (RFC 3339).
    pub taken: String,
    /// Newest first, as the engine lists them.
    pub layers: Vec<Layer>,
}

impl ImageHistory {
    /// The image's size: the sum of its layers.
    pub fn total_size(&self) -> u64 {
        self.layers.iter().fold(0u64, |sum, l| sum.saturating_add(l.size))
    }
}

/// The layers one instruction made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionLayers {
    /// Index into `Dockerfile::instructions`.
    pub instruction: usize,
    /// Indexes into `ImageHistory::layers` (FROM: all base rows; others: exactly one).
    pub layers: Vec<usize>,
    pub size: u64,
    /// The row's text differs from today's instruction (edited since the build; placed by position).
    pub edited: bool,
}

/// The result of mapping a history onto a Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerMap {
    /// In history order (newest first); FROM last when the final stage was matched whole.
    pub instructions: Vec<InstructionLayers>,
    /// Final-stage instructions left without a layer, and why.
    pub problems: Vec<String>,
}

impl LayerMap {
    /// The layers of instruction `index` of the Dockerfile, if it was matched.
    pub fn of(&self, index: usize) -> Option<&InstructionLayers> {
        self.instructions.iter().find(|m| m.instruction == index)
    }
}

/// What a history row says was run: the keyword and its text, or `None` for a base-image row with no text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowText {
    keyword: String,
    args: String,
}

fn row_text(created_by: &str) -> Option<RowText> {
    let text = created_by.trim();
    let text = text.strip_suffix("# buildkit").map_or(text, str::trim_end);
    if text.is_empty() {
        return None;
    }
    // Classic metadata, COPY and ADD rows: `/bin/sh -c #(nop) KEYWORD args`.
    let text = text.strip_prefix("/bin/sh -c #(nop)").map_or(text, str::trim_start);
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if KEYWORDS.contains(&first) {
        return Some(RowText { keyword: first.to_string(), args: normalize(rest) });
    }
    // Anything else the classic builder wrote is a RUN: `/bin/sh -c cmd`, `|1 A=b /bin/sh -c cmd`, exec form.
    Some(RowText { keyword: "RUN".to_string(), args: normalize(text) })
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Does the row fit the instruction? Keyword first; RUN must end with the command, COPY/ADD must name the
/// same destination (classic rows replace sources by a hash), metadata fits on its keyword alone (size 0,
/// and the builders print it expanded and reformatted).
fn fits(row: &RowText, ins: &Instruction) -> bool {
    row.keyword == ins.keyword && (ins.keyword == "ONBUILD" || args_fit(row, ins))
}

fn args_fit(row: &RowText, ins: &Instruction) -> bool {
    match ins.keyword.as_str() {
        "RUN" if ins.heredocs.is_empty() => {
            let cmd = command_of(ins);
            cmd.is_empty() || row.args.ends_with(&cmd)
        }
        "COPY" | "ADD" => {
            let dest = |s: &str| s.rsplit(' ').next().unwrap_or("").trim_end_matches('/').to_string();
            let want = dest(&command_of(ins));
            want.contains('$') || want.is_empty() || dest(&row.args) == want
        }
        _ => true,
    }
}

/// The instruction's command: arguments after its flags, an exec form's words joined by spaces.
fn command_of(ins: &Instruction) -> String {
    let mut args = ins.args().trim_start();
    while args.starts_with("--") {
        args = args.split_once(char::is_whitespace).map_or("", |(_, rest)| rest.trim_start());
    }
    if ins.form == Form::Json {
        if let Ok(words) = serde_json::from_str::<Vec<String>>(args) {
            return normalize(&words.join(" "));
        }
    }
    normalize(args)
}

/// Maps `history` onto the stage `stage` of `df` (the final stage unless a `--target` was built).
///
/// The newest rows belong to the last instructions, so the walk goes backwards in both. Where a row does
/// not fit, one step of slack is allowed, each checked against the next pair: an instruction edited in place
/// (same keyword), one added since the build (no row), one removed since (a row with no instruction).
/// Otherwise the walk stops: older instructions get no size rather than a guessed one.
pub fn map_layers(df: &Dockerfile, stage: usize, history: &[Layer]) -> LayerMap {
    let indexes = df.stage_instructions(stage);
    let Some((&from, own)) = indexes.split_first() else { return LayerMap::default() };
    let rows: Vec<Option<RowText>> = history.iter().map(|l| row_text(&l.created_by)).collect();
    let ins = |j: usize| own.get(j).and_then(|&i| df.instructions.get(i));
    let strict = |j: Option<usize>, k: usize| match (j.and_then(ins), rows.get(k)) {
        (Some(i), Some(Some(r))) => fits(r, i),
        _ => false,
    };
    let mut out = LayerMap::default();
    let (mut j, mut k) = (own.len(), 0usize);
    while let Some(jj) = j.checked_sub(1) {
        let (Some(instr), Some(Some(row))) = (ins(jj), rows.get(k)) else { break };
        let before = jj.checked_sub(1);
        let at_end = |k: usize| before.is_none() && !matches!(rows.get(k), Some(Some(_)));
        if fits(row, instr) {
            out.push(own, jj, k, history, false);
        } else if row.keyword == instr.keyword && (strict(before, k + 1) || at_end(k + 1)) {
            out.push(own, jj, k, history, true);
        } else if strict(before, k) {
            j = jj; // added since the build: no row
            continue;
        } else if strict(Some(jj), k + 1) {
            k += 1; // removed since the build: its row has no instruction
            continue;
        } else {
            break;
        }
        j = jj;
        k += 1;
    }
    if j == 0 {
        let base: Vec<usize> = (k..history.len()).collect();
        let size = base.iter().filter_map(|&i| history.get(i)).fold(0u64, |s, l| s.saturating_add(l.size));
        out.instructions.push(InstructionLayers { instruction: from, layers: base, size, edited: false });
    } else {
        out.problems.push(format!("{j} instruction(s) of the final stage matched no layer of the image's history"));
    }
    out
}

impl LayerMap {
    fn push(&mut self, own: &[usize], j: usize, k: usize, history: &[Layer], edited: bool) {
        if let Some(&instruction) = own.get(j) {
            let size = history.get(k).map_or(0, |l| l.size);
            self.instructions.push(InstructionLayers { instruction, layers: vec![k], size, edited });
        }
    }
}

/// The stage an image was built from: the `--target` stage when one was given and exists, else the last.
pub fn built_stage(df: &Dockerfile, target: Option<&str>) -> Option<usize> {
    target.and_then(|t| df.stage_named(t)).or_else(|| df.stages.len().checked_sub(1))
}

/// One build's image history, for [`attach_sizes`].
#[derive(Debug, Clone, Copy)]
pub struct BuildImage<'a> {
    /// The build's id, as in `StepRun::build`.
    pub build: &'a str,
    /// The `--target` stage the build stopped at, if any.
    pub target: Option<&'a str>,
    pub history: &'a ImageHistory,
}

/// Sets `size_bytes` on the runs of the builds in `images`: each history is mapped onto `df` (the
/// Dockerfile `annotated` was made from) and every run of that build at a matched instruction gets its
/// layer's size. Runs of other builds, and instructions no layer matched, keep `None`.
pub fn attach_sizes(annotated: &mut Annotated, df: &Dockerfile, images: &[BuildImage<'_>]) {
    for image in images {
        let Some(stage) = built_stage(df, image.target) else { continue };
        let map = map_layers(df, stage, &image.history.layers);
        for m in &map.instructions {
            let same_line = df.instructions.get(m.instruction).map(|i| i.line);
            let Some(view) = annotated.instructions.get_mut(m.instruction).filter(|v| Some(v.line) == same_line) else { continue };
            let note = note(image.history, m);
            for run in view.history.iter_mut().chain(view.last.as_mut()).filter(|r| r.build == image.build) {
                run.size_bytes = Some(m.size);
                run.layer = note.clone();
            }
        }
    }
}

/// The hover's view of an instruction's layer: its newest history row, and the image's size.
fn note(history: &ImageHistory, m: &InstructionLayers) -> Option<LayerNote> {
    let row = m.layers.iter().filter_map(|&i| history.layers.get(i)).next()?;
    Some(LayerNote { created_by: row.created_by.clone(), created: row.created, id: row.id.clone(), image_size: history.total_size() })
}

/// Lines of the `n` instructions whose last run made the largest layers, largest first. FROM is left out
/// (the base image is not a layer this Dockerfile can slim down), and so are layers under 1% of the
/// largest: a 10-byte COPY next to a 2 GB toolchain does not stand out.
pub fn largest(annotated: &Annotated, n: usize) -> Vec<u32> {
    let mut sized: Vec<(u64, u32)> = annotated
        .instructions
        .iter()
        .filter(|v| v.keyword != "FROM")
        .filter_map(|v| Some((v.last.as_ref()?.size_bytes.filter(|&s| s > 0)?, v.line)))
        .collect();
    sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let floor = sized.first().map_or(0, |&(top, _)| top / 100);
    sized.into_iter().take_while(|&(size, _)| size >= floor).take(n).map(|(_, line)| line).collect()
}

#[cfg(test)]
#[path = "layers_tests.rs"]
mod tests;
