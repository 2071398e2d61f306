//! `buildlens report --markdown`: a GitHub-flavoured Markdown summary for `$GITHUB_STEP_SUMMARY` (and
//! GitLab job summaries): the result, the total time, the five slowest steps with their lines, why steps
//! missed the cache (`explain`), the critical path, and a Mermaid `gantt` block of the timeline. Every
//! text from a log or a store goes through `md` (code spans; Mermaid labels from a whitelist).

use std::fmt::Write;

use super::md::{code, mermaid_label, words};
use super::{path_bars, result_word, slowest, status_word, Picture};
use crate::analysis::timeline::Timeline;
use crate::present::duration_ms;

/// The whole summary.
pub fn render(p: &Picture<'_>) -> String {
    let mut out = String::new();
    let Some(t) = p.timeline else {
        let _ = writeln!(out, "### buildlens: {}\n\nNo recorded build of this Dockerfile.", code(p.dockerfile, false));
        return out;
    };
    let number = p.annotated.build(&t.build).map(|b| format!(" (#{})", b.number)).unwrap_or_default();
    let _ = writeln!(out, "### buildlens: {} {}\n", code(p.dockerfile, false), result_word(t.result));
    let _ = writeln!(
        out,
        "**Result:** {} · **Total:** {} · **Build:** {}{number} · **Steps:** {}\n",
        result_word(t.result),
        duration_ms(t.total_ms),
        code(&t.build, false),
        t.bars.len()
    );
    slowest_table(&mut out, t);
    cache_misses(&mut out, p);
    critical_path(&mut out, t);
    gantt(&mut out, t);
    out
}

fn slowest_table(out: &mut String, t: &Timeline) {
    let rows = slowest(t, 5);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Slowest steps\n\n| Line | Stage | Instruction | Time | Status |\n|---:|---|---|---:|---|");
    for b in rows {
        let stage = t.lanes.get(b.lane).map_or_else(String::new, |s| code(s, true));
        let mark = if b.critical { " ◆" } else { "" };
        let _ = writeln!(
            out,
            "| {} | {stage} | {} | {}{mark} | {} |",
            b.line,
            code(&clip(&b.text, 80), true),
            duration_ms(b.length_ms()),
            status_word(b.status)
        );
    }
    let _ = writeln!(out, "\n◆ on the critical path\n");
}

fn cache_misses(out: &mut String, p: &Picture<'_>) {
    let Some(e) = p.explain.filter(|e| !e.steps.is_empty()) else { return };
    let _ = writeln!(out, "#### Why steps missed the cache\n");
    const MAX: usize = 10;
    for s in e.steps.iter().take(MAX) {
        let time = s.duration_ms.map(|d| format!(" ({})", duration_ms(d))).unwrap_or_default();
        let _ = writeln!(
            out,
            "- line {} {}{time}: {} {}",
            s.line,
            code(&clip(&s.instruction, 60), false),
            words(s.cause.kind.short()),
            code(&s.cause.detail, false)
        );
    }
    if e.steps.len() > MAX {
        let _ = writeln!(out, "- and {} more", e.steps.len() - MAX);
    }
    out.push('\n');
}

fn critical_path(out: &mut String, t: &Timeline) {
    if t.path.is_empty() || !super::has_times(t) {
        return;
    }
    let _ = writeln!(out, "#### Critical path: {} of steps in {}\n", duration_ms(t.path_ms()), duration_ms(t.total_ms));
    for (n, b) in path_bars(t).enumerate() {
        let stage = t.lanes.get(b.lane).map_or_else(String::new, |s| code(s, false));
        let _ = writeln!(out, "{}. line {} {stage} {} {}", n + 1, b.line, code(&clip(&b.text, 80), false), duration_ms(b.length_ms()));
    }
    out.push('\n');
}

/// At most this many tasks in the chart: Mermaid refuses a diagram over 50,000 characters (GitHub's
/// too), and a chart of hundreds of rows reads as nothing. The critical path always, then the longest.
const MAX_TASKS: usize = 150;

/// A Mermaid gantt chart: a section per lane, a task per bar (`crit` on the path, `done` when cached),
/// times in milliseconds from the build's start. Task names start with `L<line>`, so no line of the
/// block can begin with a Mermaid keyword (`click`) or a fence.
fn gantt(out: &mut String, t: &Timeline) {
    if t.bars.is_empty() {
        return;
    }
    let shown = chart_bars(t);
    let _ = writeln!(out, "#### Timeline\n\n```mermaid\ngantt\n    dateFormat x\n    axisFormat %M:%S");
    for (lane, name) in t.lanes.iter().enumerate() {
        let mut bars = t.bars.iter().enumerate().filter(|(i, b)| b.lane == lane && shown.get(*i).copied().unwrap_or(false)).peekable();
        if bars.peek().is_none() {
            continue;
        }
        let _ = writeln!(out, "    section {}", section_label(name));
        for (_, b) in bars {
            let mut tags = Vec::new();
            if b.critical {
                tags.push("crit");
            }
            if b.status == crate::log::StepStatus::Cached {
                tags.push("done");
            }
            tags.push("");
            let failed = if b.status == crate::log::StepStatus::Error { " FAILED" } else { "" };
            // A bar of 0 ms is not drawn: at least 1 ms.
            let end = b.end_ms.max(b.start_ms.saturating_add(1));
            let _ = writeln!(out, "    L{} {}{failed} :{} {}, {end}", b.line, mermaid_label(&b.text, 50), tags.join(", "), b.start_ms);
        }
    }
    let _ = writeln!(out, "```");
    let left = shown.iter().filter(|s| !**s).count();
    if left > 0 {
        let _ = writeln!(out, "\n{left} shorter steps are left out of the chart.");
    }
}

/// Which bars the chart shows: all up to `MAX_TASKS`, else the critical path and the longest others.
fn chart_bars(t: &Timeline) -> Vec<bool> {
    if t.bars.len() <= MAX_TASKS {
        return vec![true; t.bars.len()];
    }
    let mut shown: Vec<bool> = t.bars.iter().map(|b| b.critical).collect();
    let mut others: Vec<usize> = (0..t.bars.len()).filter(|&i| !shown.get(i).copied().unwrap_or(true)).collect();
    others.sort_by_key(|&i| std::cmp::Reverse(t.bars.get(i).map_or(0, |b| b.length_ms())));
    let room = MAX_TASKS.saturating_sub(shown.iter().filter(|s| **s).count());
    for i in others.into_iter().take(room) {
        if let Some(s) = shown.get_mut(i) {
            *s = true;
        }
    }
    shown
}

/// A section name never empty (Mermaid needs one) and never a keyword of its own.
fn section_label(name: &str) -> String {
    format!("stage {}", mermaid_label(name, 40))
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or("")),
        None => text.to_string(),
    }
}
