//! The HTML page's trend section: per instruction that ran in a recorded build, a small inline SVG of
//! its duration in each build (a bar per build, coloured executed / cached / failed) and the build where
//! it got markedly slower. Compact on purpose (one path per colour per chart): 1,000 instructions over
//! 100 builds stay well under a megabyte.

use std::collections::HashMap;
use std::fmt::Write;

use super::escape::{clip, esc};
use crate::analysis::{Annotated, InstructionView, StepRun};
use crate::log::StepStatus;
use crate::present::duration_ms;

const STEP_X: u64 = 3;
const MIN_WIDTH: u64 = 120;
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
    // Drawn in 3-unit steps, stretched to at least 120 px so a few builds still show.
    let width = STEP_X * a.builds.len().max(1) as u64;
    let shown = width.max(MIN_WIDTH);
    for v in rows {
        let change = slowdown(v, a, &numbers).unwrap_or_default();
        let _ = write!(
            out,
            "<tr data-line=\"{}\"><td>{}</td><td><svg width=\"{shown}\" height=\"{HEIGHT}\" viewBox=\"0 0 {width} {HEIGHT}\" preserveAspectRatio=\"none\"><title>line {}: {}</title>",
            v.line,
            v.line,
            v.line,
            esc(&summary(v, &change))
        );
        paths(out, v, &numbers);
        let text = esc(&clip(texts.get(&v.line).copied().unwrap_or(&v.keyword), 80));
        let _ = writeln!(out, "</svg></td><td class=\"t\"><code>{text}</code></td><td>{}</td></tr>", esc(&change));
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

/// A path's class, its data so far, and its pen: the x and the height of its last bar.
type Pen = (&'static str, String, Option<(u64, u64)>);

/// One path per colour: a bar per build at the build's place, height by duration (cached: a stub),
/// drawn as a 2-unit stroke up from the baseline, each a relative move from the top of the one before
/// (`m3 9v-7`): about 8 bytes a bar.
fn paths(out: &mut String, v: &InstructionView, numbers: &HashMap<&str, usize>) {
    let max = v.history.iter().filter_map(|r| r.duration_ms).max().unwrap_or(0).max(1);
    // Per colour: the path so far and the x where its pen is.
    let mut by_class: [Pen; 3] = [("ex", String::new(), None), ("ca", String::new(), None), ("fa", String::new(), None)];
    for r in &v.history {
        let Some(&pos) = numbers.get(r.build.as_str()) else { continue };
        let (slot, h) = match r.status {
            StepStatus::Error | StepStatus::Canceled => (2, HEIGHT),
            StepStatus::Cached => (1, 3),
            _ => (0, (r.duration_ms.unwrap_or(0).saturating_mul(HEIGHT) / max).clamp(2, HEIGHT)),
        };
        let x = (pos as u64 * STEP_X).saturating_add(1);
        if let Some((_, d, pen)) = by_class.get_mut(slot) {
            let _ = match *pen {
                Some((at, up)) if x >= at => write!(d, "m{} {up}v-{h}", x - at),
                _ => write!(d, "M{x} {HEIGHT}v-{h}"),
            };
            *pen = Some((x, h));
        }
    }
    for (class, d, _) in by_class.iter().filter(|(_, d, _)| !d.is_empty()) {
        let _ = write!(out, "<path class=\"{class}\" d=\"{d}\"/>");
    }
}

/// `slower from build #14: 1.2s → 8.0s`: the executed run that took the most longer than the median
/// of the (up to 5) executed runs before it, when that is at least 2× and 2 s longer.
fn slowdown(v: &InstructionView, a: &Annotated, numbers: &HashMap<&str, usize>) -> Option<String> {
    const WINDOW: usize = 5;
    let executed: Vec<(&StepRun, u64)> = v.history.iter().filter(|r| !r.cached).filter_map(|r| r.duration_ms.map(|d| (r, d))).collect();
    let mut best = None::<(u64, u64, &StepRun, u64)>;
    for i in 1..executed.len() {
        let (Some(&(run, now)), Some(before)) = (executed.get(i), executed.get(i.saturating_sub(WINDOW)..i)) else { continue };
        let mut earlier: Vec<u64> = before.iter().map(|(_, d)| *d).collect();
        earlier.sort_unstable();
        let Some(&median) = earlier.get(earlier.len() / 2) else { continue };
        let jump = now.saturating_sub(median);
        if jump >= 2000 && now >= median.saturating_mul(2) && best.is_none_or(|(j, ..)| jump > j) {
            best = Some((jump, median, run, now));
        }
    }
    let (_, median, run, now) = best?;
    let number = numbers.get(run.build.as_str()).and_then(|&i| a.builds.get(i)).map_or(0, |b| b.number);
    Some(format!("slower from build #{number}: {} → {}", duration_ms(median), duration_ms(now)))
}
