//! `buildlens report --timeline [--width N]`: the latest build as text bars (block characters, scaled
//! to the width) for terminals and Neovim's `:BuildlensTimeline`; and the critical-path header `report`
//! prints above the Dockerfile.

use std::fmt::Write;

use super::{path_bars, result_word, status_word};
use crate::analysis::timeline::{Bar, Timeline};
use crate::present::{duration_ms, one_line};

/// Columns before the bar: line, stage, instruction.
const LINE_W: usize = 5;
const STAGE_W: usize = 12;
const TEXT_W: usize = 28;

/// One row per bar: `  12 build        RUN make              │   ████████      │ 6.0s ◆`.
pub fn timeline(t: &Timeline, width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "build {} {} in {} · ◆ critical path · █ executed ▒ cached ✗ failed ░ canceled",
        one_line(&t.build, 60),
        result_word(t.result),
        duration_ms(t.total_ms)
    );
    let bar_w = width.saturating_sub(LINE_W + STAGE_W + TEXT_W + 16).clamp(10, 400);
    for b in &t.bars {
        let stage = t.lanes.get(b.lane).map_or("", String::as_str);
        let _ = writeln!(
            out,
            "{:>LINE_W$} {} {} │{}│ {:>6}{}",
            b.line,
            pad(&one_line(stage, STAGE_W - 1), STAGE_W),
            pad(&one_line(&b.text, TEXT_W - 1), TEXT_W),
            bar(b, t.total_ms, bar_w),
            duration_ms(b.length_ms()),
            if b.critical { " ◆" } else { "  " }
        );
    }
    out
}

/// `critical path (build #3, 3.7s): line 1 → 2 → 8 → 9`, or nothing for a build without bars or times.
pub fn path_header(t: &Timeline, number: &str) -> Option<String> {
    if t.path.is_empty() || !super::has_times(t) {
        return None;
    }
    let lines: Vec<String> = path_bars(t).map(|b| b.line.to_string()).collect();
    Some(format!("critical path (build {number}, {}): line {}", duration_ms(t.total_ms), lines.join(" → ")))
}

fn bar(b: &Bar, total_ms: u64, width: usize) -> String {
    let scale = |ms: u64| -> usize {
        if total_ms == 0 {
            return 0;
        }
        let cells = u128::from(ms) * width as u128 / u128::from(total_ms);
        usize::try_from(cells).unwrap_or(width).min(width)
    };
    let from = scale(b.start_ms);
    let to = scale(b.end_ms).max(from + 1).min(width);
    let from = from.min(to.saturating_sub(1));
    let fill = match status_word(b.status) {
        "executed" => '█',
        "cached" => '▒',
        "failed" => '✗',
        _ => '░',
    };
    let mut s = String::with_capacity(width * 3);
    s.extend(std::iter::repeat_n(' ', from));
    s.extend(std::iter::repeat_n(fill, to.saturating_sub(from)));
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(to)));
    s
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}
