//! What the demultiplexer (`demux_fit`) asks about every step of a plain build, kept as counts that grow
//! with the steps instead of a scan of them per header line (an unfinished build followed by another one
//! made each header of the second scan all steps of both: quadratic). The index is built lazily, only once
//! a second build is read beside this one (`sync`: the steps added since the last question), is not part
//! of a checkpoint (rebuilt after a resume), and follows a header a console wrapped and the parser rejoined
//! in place (`renaming`: the step's old contribution out, its new one in).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::log::model::Step;
use crate::log::step_name::StepName;

/// `[stage] load metadata for <image>`: the image a build loaded the metadata of.
const LOAD_METADATA: &str = "] load metadata for ";
/// `[internal] load build context`.
const LOAD_CONTEXT: &str = "] load build context";

/// The `[platform service stage …]` slot of a numbered step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Slot {
    platform: Option<String>,
    stage: Option<String>,
    service: Option<String>,
}

/// Counts of the numbered steps of one slot.
#[derive(Debug, Clone, Default)]
struct SlotCounts {
    /// `n` of every numbered step (its `FROM` too).
    all_n: HashMap<u32, u32>,
    /// `n` and `k` of the numbered steps that are not a `FROM`.
    n: HashMap<u32, u32>,
    k: HashMap<Option<u32>, u32>,
}

/// The steps of one build, counted by what the demultiplexer's stage rules and evidence ask.
#[derive(Debug, Clone, Default)]
pub(in crate::log) struct StepsIndex {
    /// Steps counted so far: the first `seen` of the build's steps.
    seen: usize,
    /// Numbered steps that are not a `FROM`, without a stage or service word, and with one.
    bare: u32,
    named: u32,
    slots: HashMap<Slot, SlotCounts>,
    /// Images after `] load metadata for `.
    images: HashMap<String, u32>,
    /// Stage words of the steps.
    stages: HashMap<String, u32>,
    /// Steps named `… ] load build context`.
    contexts: u32,
    /// Hashes of step names (a match is confirmed on the steps).
    names: HashMap<u64, u32>,
}

impl StepsIndex {
    /// Counts the steps added since the last call.
    pub(in crate::log) fn sync(&mut self, steps: &[Step]) {
        for step in steps.get(self.seen..).unwrap_or_default() {
            self.count(step, 1);
        }
        self.seen = self.seen.max(steps.len());
    }

    /// Every step of `steps` is counted.
    pub(in crate::log) fn is_synced(&self, steps: &[Step]) -> bool {
        self.seen == steps.len()
    }

    /// Whether step `i` is counted (its rename must then be followed).
    pub(in crate::log) fn counts(&self, i: usize) -> bool {
        i < self.seen
    }

    /// Takes a counted step out (before its name changes) or puts it back (after).
    pub(in crate::log) fn renaming(&mut self, step: &Step, back: bool) {
        self.count(step, if back { 1 } else { -1 });
    }

    fn count(&mut self, step: &Step, by: i32) {
        if let Some(n) = step.n {
            let slot = Slot { platform: step.platform.clone(), stage: step.stage.clone(), service: step.service.clone() };
            let counts = self.slots.entry(slot).or_default();
            add(&mut counts.all_n, n, by);
            if !step.name.contains("] FROM ") {
                add(&mut counts.n, n, by);
                add(&mut counts.k, step.k, by);
                let bare = step.stage.is_none() && step.service.is_none();
                bump(if bare { &mut self.bare } else { &mut self.named }, by);
            }
        }
        for (at, _) in step.name.match_indices(LOAD_METADATA) {
            let image = step.name.get(at + LOAD_METADATA.len()..).unwrap_or_default();
            add(&mut self.images, image.to_string(), by);
        }
        if let Some(stage) = &step.stage {
            add(&mut self.stages, stage.clone(), by);
        }
        if step.name.ends_with(LOAD_CONTEXT) {
            bump(&mut self.contexts, by);
        }
        add(&mut self.names, hash(step.name.as_bytes()), by);
    }

    /// No counted step contradicts a new `[stage k/n]` `name` (see `demux_fit::fits_stages`, which this
    /// answers for non-`FROM` names): another `n` in its slot, its label taken, bare and named stages mixed.
    pub(in crate::log) fn fits_stages(&self, name: &StepName, n: u32) -> bool {
        let bare = name.stage.is_none() && name.service.is_none();
        if (if bare { self.named } else { self.bare }) > 0 {
            return false;
        }
        let slot = Slot { platform: name.platform.clone(), stage: name.stage.clone(), service: name.service.clone() };
        let Some(counts) = self.slots.get(&slot) else { return true };
        let other_n = counts.n.keys().any(|&m| m != n);
        !other_n && !counts.k.contains_key(&name.k)
    }

    /// A step of `name`'s slot has its `n`.
    pub(in crate::log) fn has_stage_n(&self, name: &StepName) -> bool {
        let Some(n) = name.n else { return false };
        let slot = Slot { platform: name.platform.clone(), stage: name.stage.clone(), service: name.service.clone() };
        self.slots.get(&slot).is_some_and(|c| c.all_n.contains_key(&n))
    }

    pub(in crate::log) fn loaded(&self, image: &str) -> bool {
        self.images.contains_key(image)
    }

    pub(in crate::log) fn has_stage(&self, stage: &str) -> bool {
        self.stages.contains_key(stage)
    }

    pub(in crate::log) fn loads_context(&self) -> bool {
        self.contexts > 0
    }

    /// A step may be named `name` (no step is when this is false).
    pub(in crate::log) fn may_have_name(&self, name: &[u8]) -> bool {
        self.names.contains_key(&hash(name))
    }
}

/// Adds `by` to the count of `key`; a count that reaches 0 leaves the map.
fn add<K: Hash + Eq>(map: &mut HashMap<K, u32>, key: K, by: i32) {
    match map.entry(key) {
        Entry::Occupied(mut entry) => {
            bump(entry.get_mut(), by);
            if *entry.get() == 0 {
                entry.remove();
            }
        }
        Entry::Vacant(entry) => {
            if let Ok(count @ 1..) = u32::try_from(by) {
                entry.insert(count);
            }
        }
    }
}

fn bump(count: &mut u32, by: i32) {
    *count = count.saturating_add_signed(by);
}

fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
