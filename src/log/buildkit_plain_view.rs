//! What the demultiplexer (`demux`) asks a plain parser about the build it reads, without changing it:
//! its vertexes, whether it is over, whether a failure report or a console-wrapped line is pending.

use super::steps::StepsIndex;
use super::{Parser, Wrap};
use crate::log::model::{Step, StepStatus};

impl Parser {
    /// The step of vertex `n`, if this build printed it.
    pub(in crate::log) fn vertex(&self, n: u32) -> Option<&Step> {
        let slot = self.index.get(n as usize).copied().unwrap_or(0) as usize;
        self.build.steps.get(slot.checked_sub(1)?)
    }

    /// Highest vertex number this build printed.
    pub(in crate::log) fn max_vertex(&self) -> u32 {
        self.max_n
    }

    pub(in crate::log) fn steps(&self) -> &[Step] {
        &self.build.steps
    }

    /// The final error line was read, or the image was exported: no new vertex follows.
    pub(in crate::log) fn is_over(&self) -> bool {
        self.ended || self.exported
    }

    pub(in crate::log) fn has_ended(&self) -> bool {
        self.ended
    }

    /// Over, or every step it printed has finished: a build that starts now follows it.
    pub(in crate::log) fn is_settled(&self) -> bool {
        self.is_over() || (!self.build.steps.is_empty() && self.build.steps.iter().all(|s| s.status != StepStatus::Running))
    }

    /// Settled, and not a build that loaded its Dockerfile and has yet to export or fail: a build
    /// that starts now may follow it (`[internal] booting buildkit` alone) or run beside it.
    pub(in crate::log) fn may_be_over(&self) -> bool {
        self.is_over() || (self.is_settled() && !self.build.steps.iter().any(|s| s.name.starts_with("[internal] load build definition")))
    }

    /// Nothing read yet but its `#0 building with …` line.
    pub(in crate::log) fn is_blank(&self) -> bool {
        self.build.steps.is_empty() && self.build.error.is_none()
    }

    /// The log shows BuildKit v0.8's digest lines; that printer never prints a finished vertex again.
    pub(in crate::log) fn is_v08(&self) -> bool {
        self.v08
    }

    /// Inside a failure summary block or snippet: the next lines belong to it.
    pub(in crate::log) fn in_error_report(&self) -> bool {
        self.errors.open()
    }

    /// The last line may continue on the next one (a console-wrapped line).
    pub(in crate::log) fn continues_line(&self) -> bool {
        self.wrap != Wrap::No
    }

    /// Counts the steps added since the last call into the index `steps_index` answers from.
    pub(in crate::log) fn sync_steps_index(&mut self) {
        self.steps_index.sync(&self.build.steps);
    }

    /// What all steps say, as of the last `sync_steps_index`.
    pub(in crate::log) fn steps_index(&self) -> &StepsIndex {
        &self.steps_index
    }
}
