//! How well a line of builds printed side by side fits each build (`demux`): scores and the stage rules.

use super::Member;
use crate::log::buildkit_plain::steps::StepsIndex;
#[cfg(test)]
use crate::log::model::Step;
use crate::log::model::StepStatus;
use crate::log::step_name::StepName;

impl Member {
    /// Whether this build may take a `#n`/`#***` header of a vertex it has not printed.
    pub(super) fn takes_new(&self, name: &StepName) -> bool {
        !self.parser.is_over() && self.fits_stages(name)
    }

    /// No step of this build contradicts a new `[stage k/n]`: the stage has no other `n`, no vertex of
    /// this build already carries that label, and a build prints either bare `[k/n]` (one stage) or named
    /// stages (`[build k/n]`, `[stage-0 k/n]`, compose `[web k/n]`), never both. A `FROM` is no evidence
    /// either way: one daemon solves the same base image once for every build running at the time, under
    /// the label of whichever build asked first. (`fits_stages` below is the same rule over the steps.)
    fn fits_stages(&self, name: &StepName) -> bool {
        let Some(n) = name.n else { return true };
        from_image(name).is_some() || self.index().fits_stages(name, n)
    }

    /// The parser's steps index, which the demultiplexer synchronised before asking.
    fn index(&self) -> &StepsIndex {
        let index = self.parser.steps_index();
        debug_assert!(index.is_synced(self.parser.steps()), "steps index asked before `Demux::sync`");
        index
    }

    /// Whether this build exported and may still print `rest`: buildx goes on after `exporting to
    /// image` with the cache export, registry tokens for the push and provenance.
    fn takes_epilogue(&self, rest: &[u8]) -> bool {
        self.parser.is_over()
            && !self.parser.has_ended()
            && [&b"exporting "[..], b"resolving provenance ", b"[auth] "].iter().any(|p| rest.starts_with(p))
    }

    /// Evidence that a new header is this build's: its stage has that `n` here (+1); its `FROM <image>`
    /// is an image this build loaded the metadata of (+2); its `COPY --from=<stage>` names a stage
    /// of this build (+2); its `COPY`/`ADD` from the context follows this build's context load (+1).
    pub(super) fn evidence(&self, name: &StepName) -> u32 {
        let index = self.index();
        let stage = index.has_stage_n(name);
        let image = from_image(name).is_some_and(|image| index.loaded(image));
        let from_stage = copied_stage(name).is_some_and(|from| index.has_stage(from));
        let context = reads_context(name) && index.loads_context();
        u32::from(stage) + 2 * u32::from(image) + 2 * u32::from(from_stage) + u32::from(context)
    }

    /// A step of this build is named `rest` (a masked header printed again).
    pub(super) fn has_step_named(&self, rest: &[u8]) -> bool {
        self.index().may_have_name(rest) && self.parser.steps().iter().any(|s| s.name.as_bytes() == rest)
    }
}

/// The stage a `COPY --from=<stage> …` header copies from.
fn copied_stage(name: &StepName) -> Option<&str> {
    let args = name.instruction.as_deref()?.strip_prefix("COPY ")?;
    args.split(' ').find_map(|word| word.strip_prefix("--from="))
}

/// A `COPY`/`ADD` header that reads the build context (no `--from`).
fn reads_context(name: &StepName) -> bool {
    let Some(instruction) = name.instruction.as_deref() else { return false };
    (instruction.starts_with("COPY ") || instruction.starts_with("ADD ")) && !instruction.contains(" --from=")
}

/// How well a header `#n rest` fits build `m`: its own vertex printed again, or a vertex new to it.
/// A printer prints a header only when it has no current vertex (after a state line or `#k ...`).
pub(super) fn header_score(m: &Member, n: u32, rest: &[u8], name: &StepName) -> Option<u32> {
    if m.parser.has_ended() {
        return None;
    }
    let fit = match m.parser.vertex(n) {
        // v0.8 prints a finished vertex again only when another build's solve shares it.
        Some(step) if step.name.as_bytes().starts_with(rest) => match (step.status, m.dormant || m.parser.is_v08()) {
            (StepStatus::Running, _) => 3,
            (_, false) => 2,
            (_, true) => 0,
        },
        Some(_) => return None,
        None if !m.takes_new(name) && !m.takes_epilogue(rest) => return None,
        None => {
            // Since v0.10 a build numbers its vertexes as it prints them; v0.8 numbers them as the solver
            // lists them and prints them as they complete, so a new header's number says nothing there.
            let next = !m.parser.is_v08() && m.parser.max_vertex().checked_add(1) == Some(n);
            let base = if m.parser.is_blank() && n <= 1 {
                5
            } else if next {
                3
            } else {
                1
            };
            base + m.evidence(name)
        }
    };
    Some(match m.current {
        None => fit,
        Some(c) if c == n => return None,
        Some(_) => 0,
    })
}

/// How well a status or output line of vertex `n` fits build `m`.
pub(super) fn status_score(m: &Member, n: u32) -> Option<u32> {
    let running = m.parser.vertex(n)?.status == StepStatus::Running;
    Some(match (m.current == Some(n), running) {
        (true, true) => 4,
        (true, false) => 3,
        (false, true) => 2,
        (false, false) => 1,
    })
}

/// `Member::fits_stages` over `steps` (the rule as it reads; the index must answer the same).
#[cfg(test)]
pub(super) fn fits_stages(steps: &[Step], name: &StepName) -> bool {
    let Some(n) = name.n else { return true };
    if from_image(name).is_some() {
        return true;
    }
    !steps.iter().any(|s| {
        s.n.is_some()
            && !s.name.contains("] FROM ")
            && ((s.stage.is_none() && s.service.is_none()) != (name.stage.is_none() && name.service.is_none())
                || same_stage(s, name) && (s.n != Some(n) || s.k == name.k))
    })
}

/// The image of a `[stage 1/n] FROM <image>[@digest]` header.
pub(super) fn from_image(name: &StepName) -> Option<&str> {
    let image = name.instruction.as_deref()?.strip_prefix("FROM ")?.split(' ').next()?;
    Some(image.split('@').next().unwrap_or(image))
}

#[cfg(test)]
pub(super) fn same_stage(step: &Step, name: &StepName) -> bool {
    step.n.is_some() && step.platform == name.platform && step.stage == name.stage && step.service == name.service
}
