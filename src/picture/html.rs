//! `buildlens report --html`: one self-contained page (no network: inline SVG and CSS, one small script
//! under a strict CSP by nonce). A lane per stage, a bar per step from start to end coloured by status,
//! the critical path outlined, a `<title>` tooltip per bar (line and instruction), and a click that names
//! the line (and posts `{line}` to a VS Code webview's host). Below, each instruction's trend over the
//! recorded builds (`trend`). Every text from a log or a store goes through `esc`.

use std::fmt::Write;

use super::escape::{clip, esc};
use super::{result_word, status_word, trend, Picture};
use crate::analysis::timeline::{Bar, Timeline};
use crate::present::duration_ms;

/// Chart geometry (SVG user units).
const LABEL_W: u64 = 150;
const CHART_W: u64 = 1000;
const LANE_H: u64 = 24;
const BAR_H: u64 = 16;
const AXIS_H: u64 = 20;

/// The page. `nonce`: the caller's random token for the CSP (letters and digits; anything else is dropped).
pub fn render(p: &Picture<'_>, nonce: &str) -> String {
    let nonce: String = nonce.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, p, &nonce);
    match p.timeline {
        Some(t) => {
            summary(&mut out, t);
            chart(&mut out, t);
        }
        None => out.push_str("<p>No recorded build of this Dockerfile.</p>\n"),
    }
    trend::section(&mut out, p.annotated, p.source);
    script(&mut out, &nonce);
    out.push_str("</body>\n</html>\n");
    out
}

fn head(out: &mut String, p: &Picture<'_>, nonce: &str) {
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; base-uri 'none'; form-action 'none'"
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>buildlens timeline: {}</title>\n<style nonce=\"{nonce}\">{STYLE}</style>\n</head>\n<body>\n\
         <h1>buildlens: <code>{}</code></h1>\n",
        esc(p.dockerfile),
        esc(p.dockerfile)
    );
}

const STYLE: &str = "\
body{font:13px system-ui,sans-serif;margin:16px;color:#1f2328;background:#fff}\
h1{font-size:18px}h2{font-size:15px;margin-top:24px}code{font:12px ui-monospace,monospace}\
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}\
svg{display:block}.scroll{overflow-x:auto}text{font:11px ui-monospace,monospace;fill:#1f2328}\
.axis line{stroke:#d0d7de}.lane-bg{fill:#f6f8fa}.bar{cursor:pointer}\
.executed{fill:#2f81f7}.cached{fill:#8c959f}.failed{fill:#cf222e}.canceled{fill:#d4a72c}.running{fill:#8250df}\
.sw.executed{background:#2f81f7}.sw.cached{background:#8c959f}.sw.failed{background:#cf222e}.sw.canceled{background:#d4a72c}.sw.running{background:#8250df}\
.crit{stroke:#1f2328;stroke-width:2.5}.bar:hover{opacity:.8}\
#picked{min-height:1.4em;font-weight:600;margin:8px 0}\
.trend td{padding:1px 8px 1px 0;vertical-align:middle}.trend td.t{max-width:420px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}\
.trend path{fill:none;stroke-width:2}.trend .ex{stroke:#2f81f7}.trend .ca{stroke:#8c959f}.trend .fa{stroke:#cf222e}";

fn summary(out: &mut String, t: &Timeline) {
    let critical = t.path.iter().filter_map(|&i| t.bars.get(i)).map(|b| b.line.to_string()).collect::<Vec<_>>().join(" → ");
    let _ = write!(
        out,
        "<p>Build <code>{}</code> {} in <b>{}</b> · {} steps · critical path: line {}</p>\n\
         <p class=\"legend\"><span><i class=\"sw executed\"></i>executed</span><span><i class=\"sw cached\"></i>cached</span>\
         <span><i class=\"sw failed\"></i>failed</span><span><i class=\"sw canceled\"></i>canceled</span>\
         <span><i class=\"sw running\"></i>running</span><span>outlined: critical path</span></p>\n<div id=\"picked\"></div>\n",
        esc(&t.build),
        result_word(t.result),
        duration_ms(t.total_ms),
        t.bars.len(),
        esc(&critical)
    );
}

fn chart(out: &mut String, t: &Timeline) {
    let height = AXIS_H + LANE_H * t.lanes.len() as u64 + 4;
    out.push_str("<div class=\"scroll\">");
    let _ = writeln!(
        out,
        "<svg id=\"timeline\" viewBox=\"0 0 {} {height}\" width=\"{}\" role=\"img\" aria-label=\"build timeline\">",
        LABEL_W + CHART_W + 40,
        LABEL_W + CHART_W + 40
    );
    axis(out, t.total_ms, height);
    for (lane, name) in t.lanes.iter().enumerate() {
        let y = AXIS_H + LANE_H * lane as u64;
        let _ = write!(
            out,
            "<g class=\"lane\" data-lane=\"{lane}\" data-stage=\"{}\"><rect class=\"lane-bg\" x=\"0\" y=\"{y}\" width=\"{}\" height=\"{}\"/><text x=\"4\" y=\"{}\">{}</text>",
            esc(name),
            LABEL_W + CHART_W,
            LANE_H - 2,
            y + 15,
            esc(&clip(name, 20))
        );
        for b in t.bars.iter().filter(|b| b.lane == lane) {
            bar(out, t, b, y);
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg></div>\n");
}

fn axis(out: &mut String, total_ms: u64, height: u64) {
    out.push_str("<g class=\"axis\">");
    for tick in 0..=10u64 {
        let x = LABEL_W + CHART_W * tick / 10;
        let at = total_ms.saturating_mul(tick) / 10;
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{height}\"/><text x=\"{}\" y=\"12\">{}</text>",
            AXIS_H - 4,
            x.saturating_sub(10),
            duration_ms(at)
        );
    }
    out.push_str("</g>\n");
}

/// x of a time, in the chart.
fn x_of(ms: u64, total_ms: u64) -> u64 {
    if total_ms == 0 {
        return LABEL_W;
    }
    let scaled = u128::from(ms.min(total_ms)) * u128::from(CHART_W) / u128::from(total_ms);
    LABEL_W + u64::try_from(scaled).unwrap_or(CHART_W)
}

fn bar(out: &mut String, t: &Timeline, b: &Bar, lane_y: u64) {
    let x = x_of(b.start_ms, t.total_ms);
    let w = x_of(b.end_ms, t.total_ms).saturating_sub(x).max(2);
    let crit = if b.critical { " crit" } else { "" };
    let mut note = if b.critical { "on the critical path".to_string() } else { format!("{} of slack", duration_ms(b.slack_ms)) };
    if let Some(failure) = &b.failure {
        note = format!("{note} · {}", esc(&clip(failure, 300)));
    }
    let _ = writeln!(
        out,
        "<rect class=\"bar {}{crit}\" data-line=\"{}\" x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{BAR_H}\"><title>line {}: {} · {} {} · {note}</title></rect>",
        status_word(b.status),
        b.line,
        lane_y + 3,
        b.line,
        esc(&clip(&b.text, 200)),
        status_word(b.status),
        duration_ms(b.length_ms())
    );
}

/// The click handler: names the line in `#picked` (as text, never markup) and tells a VS Code webview's host.
fn script(out: &mut String, nonce: &str) {
    let _ = writeln!(
        out,
        "<script nonce=\"{nonce}\">(function(){{\"use strict\";\
var host=typeof acquireVsCodeApi===\"function\"?acquireVsCodeApi():null;\
var picked=document.getElementById(\"picked\");\
document.addEventListener(\"click\",function(e){{\
var el=e.target&&e.target.closest?e.target.closest(\"[data-line]\"):null;if(!el)return;\
var line=parseInt(el.getAttribute(\"data-line\"),10);if(!(line>0))return;\
var title=el.querySelector(\"title\");\
if(picked)picked.textContent=title?title.textContent:(\"line \"+line);\
if(host)host.postMessage({{line:line}});}});}})();</script>"
    );
}
