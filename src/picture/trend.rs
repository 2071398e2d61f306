//! The HTML page's trend section: per instruction that ran in a recorded build, a small inline SVG of
//! its duration in each build (a bar per build, coloured executed / cached / failed) and the build where
//! it got markedly slower. Compact on purpose (one path per colour per chart): 1,000 instructions over
//! 100 builds stay well under a megabyte.

use std::collections::HashMap;
use std::fmt::Write;

use super::html::{clip, esc};
use crate::analysis::{Annotated, InstructionView, StepRun};
use crate::log::StepStatus;
use crate::present::duration_ms;

const STEP_X: u64 = 3;
const HEIGHT: u64 = 20;

/// The `<h2>` and a table row per instruction with a history.
pub fn section(out: &mut String, a: &Annotated, dockerfile_text: &str) {
    let df = crate::dockerfile::parse(dockerfile_text);
    let texts: HashMap<u32, &str> = df.instructions.iter().map(|i| (i.line, i.joined.as_str())).collect();
    let numbers: HashMap<&str, usize> = a.builds.iter().enumerate().map(|(i, b)| (b.id.as_str(), i)).collect();
    let rows: Vec<&InstructionView> = a.instructions.iter().filter(|v| !v.history.is_empty()).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Each instruction over the {} recorded builds</h2>\n<table class=\"trend\">", a.builds.len());
    let width = STEP_X * a.builds.len().max(1) as u64;
    for v in rows {
        let change = slowdown(v, a, &numbers).unwrap_or_default();
        let _ = write!(
            out,
            "<tr data-line=\"{}\"><td>{}</td><td class=\"t\"><code>{}</code></td><td><svg width=\"{width}\" height=\"{HEIGHT}\" viewBox=\"0 0 {width} {HEIGHT}\"><title>line {}: {}</title>",
            v.line,
            v.line,
            esc(&clip(texts.get(&v.line).copied().unwrap_or(&v.keyword), 80)),
            v.line,
            esc(&summary(v, &change))
        );
        paths(out, v, &numbers);
        let _ = writeln!(out, "</svg></td><td>{}</td></tr>", esc(&change));
    }
    out.push_str("</table>\n");
}

/// `executed 12 × (0.8s–9.2s), cached 88 ×`.
fn summary(v: &InstructionView, change: &str) -> String {
    let executed: Vec<u64> = v.history.iter().filter(|r| !r.cached).filter_map(|r| r.duration_ms).collect();
    let cached = v.history.iter().filter(|r| r.cached).count();
    let range = match (executed.iter().min(), executed.iter().max()) {
        (Some(lo), Some(hi)) => format!(" ({}–{})", duration_ms(*lo), duration_ms(*hi)),
        _ => String::new(),
    };
    let failed = v.history.iter().filter(|r| r.status == StepStatus::Error).count();
    let mut s = format!("ran in {} builds: executed {}×{range}, cached {cached}×", v.history.len(), v.history.len() - cached);
    if failed > 0 {
        s += &format!(", failed {failed}×");
    }
    if !change.is_empty() {
        s += &format!("; {change}");
    }
    s
}

/// One path per colour: a bar per build at the build's place, height by duration (cached: a stub).
fn paths(out: &mut String, v: &InstructionView, numbers: &HashMap<&str, usize>) {
    let max = v.history.iter().filter_map(|r| r.duration_ms).max().unwrap_or(0).max(1);
    let mut by_class: [(&str, String); 3] = [("ex", String::new()), ("ca", String::new()), ("fa", String::new())];
    for r in &v.history {
        let Some(&pos) = numbers.get(r.build.as_str()) else { continue };
        let (slot, h) = match r.status {
            StepStatus::Error | StepStatus::Canceled => (2, HEIGHT),
            StepStatus::Cached => (1, 3),
            _ => (0, (r.duration_ms.unwrap_or(0).saturating_mul(HEIGHT) / max).clamp(2, HEIGHT)),
        };
        if let Some((_, d)) = by_class.get_mut(slot) {
            let _ = write!(d, "M{} {HEIGHT}v-{h}h2v{h}z", pos as u64 * STEP_X);
        }
    }
    for (class, d) in by_class.iter().filter(|(_, d)| !d.is_empty()) {
        let _ = write!(out, "<path class=\"{class}\" d=\"{d}\"/>");
    }
}

/// `slower from build #14: 1.2s → 8.0s`: the first executed run at least 1.5× and 1 s slower than the
/// executed run before it (the largest such jump).
fn slowdown(v: &InstructionView, a: &Annotated, numbers: &HashMap<&str, usize>) -> Option<String> {
    let executed: Vec<(&StepRun, u64)> = v.history.iter().filter(|r| !r.cached).filter_map(|r| r.duration_ms.map(|d| (r, d))).collect();
    let (_, prev, run, now) = executed
        .windows(2)
        .filter_map(|w| match w {
            [(_, before), (r, after)] => Some((after.saturating_sub(*before), *before, *r, *after)),
            _ => None,
        })
        .filter(|(jump, before, _, after)| *jump >= 1000 && after.saturating_mul(2) >= before.saturating_mul(3))
        .max_by_key(|(jump, ..)| *jump)?;
    let number = numbers.get(run.build.as_str()).and_then(|&i| a.builds.get(i)).map_or(0, |b| b.number);
    Some(format!("slower from build #{number}: {} → {}", duration_ms(prev), duration_ms(now)))
}
