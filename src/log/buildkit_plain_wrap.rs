//! Lines a console hard-wrapped (PowerShell, `../shared/docs/log-formats.md` §10.2): a header, an
//! output line, a step's `ERROR:` line or the final error line that goes on in the next line(s) without
//! `#`. A line at least `WRAP_MIN` long may have been wrapped, and so may a shorter one that ends in a
//! space: a word-wrapping console breaks before a word longer than the rest of the row.

use serde::{Deserialize, Serialize};

use super::{error_block, step_name, Parser, MAX_NAME};
use crate::log::line::Line;
use crate::log::model::StepStatus;
use crate::log::output::text;

/// A line at least this long may have been hard-wrapped by a console (PowerShell): a following line
/// without `#` continues it. So may a shorter one that ends in a space: a word-wrapping console breaks
/// before a word longer than the rest of the row (`#6 [base 1/2] FROM ` + the image reference).
pub(super) const WRAP_MIN: usize = 70;

/// What the previous line was, for rejoining console-wrapped lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Wrap {
    #[default]
    No,
    Header(usize),
    Output(usize),
    /// A step's `#n ERROR: …` line: the rest of the message.
    Error(usize),
    /// The build's final error line.
    Final,
    Other,
}

/// Narrowest console width taken from the log's own widest line.
const MIN_WIDTH: u32 = 40;

impl Parser {
    /// Whether a console may have wrapped `text` onto the next line: it is long, ends in the space a
    /// word wrap broke at, or is as wide as the widest line so far (a narrow console hard-wraps every
    /// long line at its width, in the middle of a word).
    pub(super) fn may_wrap(&self, text: &[u8]) -> bool {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        text.len() >= WRAP_MIN || text.last() == Some(&b' ') || (len >= MIN_WIDTH && len >= self.widest)
    }
}

impl Parser {
    /// Rejoins a line the console wrapped (PowerShell, §10.2): header text goes back into the name,
    /// output extends the step's output range.
    pub(super) fn continue_line(&mut self, wrap: Wrap, line: &Line<'_>) {
        match wrap {
            Wrap::Header(i) => {
                if let Some(step) = self.build.steps.get_mut(i) {
                    if step.name.len() < MAX_NAME {
                        let counted = self.steps_index.counts(i);
                        if counted {
                            self.steps_index.renaming(step, false);
                        }
                        step.name.push_str(&text(line.text));
                        step_name::apply(step);
                        if counted {
                            self.steps_index.renaming(step, true);
                        }
                        step.clipped = step_name::cut_by_plain_printer(&step.name);
                        let name = step.name.clone();
                        self.note_dockerfile(&name);
                    }
                }
            }
            Wrap::Output(i) => {
                if let Some(o) = self.outputs.get_mut(i) {
                    o.range.end = line.end;
                }
            }
            Wrap::Error(i) => {
                if let Some(step) = self.build.steps.get_mut(i) {
                    let error = step.error.get_or_insert_with(String::new);
                    if error.len() < MAX_NAME {
                        error.push_str(&text(line.text));
                        step.exit_code = error_block::exit_code(error).or(step.exit_code);
                    }
                }
            }
            Wrap::No | Wrap::Final | Wrap::Other => {}
        }
        if self.may_wrap(line.text) {
            self.wrap = wrap;
        }
    }

    /// The final error line went on in `line` (a word-wrapping console broke it after a space): on the
    /// build's error and on the failed steps that took it.
    pub(super) fn continue_final(&mut self, line: &Line<'_>) {
        let more = text(line.text);
        let before = self.build.error.clone().unwrap_or_default();
        if before.len() < MAX_NAME {
            let after = format!("{before}{more}");
            for step in self.build.steps.iter_mut().filter(|s| s.status == StepStatus::Error) {
                if step.error.as_deref() == Some(before.as_str()) {
                    step.error = Some(after.clone());
                    step.exit_code = error_block::exit_code(&after).or(step.exit_code);
                }
            }
            self.build.error = Some(after);
        }
        self.wrap = if line.text.last() == Some(&b' ') { Wrap::Final } else { Wrap::No };
    }
}
