//! A cache hit re-opened to pull its lazy blobs is still a cache hit.
//!
//! BuildKit's solver (solver/jobs.go) attaches a progress `Controller` (util/progress/controller) to
//! every result loaded from cache; when a lazy ref of it (a layer of an imported gha/registry cache)
//! is pulled later, during export, the controller writes vertex updates for it with no `Cached`. The
//! plain printer shows the vertex again with layer rows and ends it `DONE <t>`; rawjson gets updates
//! without `cached`. Nothing ran. A real re-run logs output lines (or an error), so: a step seen
//! cached, then completed with no output line since, stays cached.

use serde::{Deserialize, Serialize};

/// Steps (by index) seen cached, with their output line count then.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CacheHits(Vec<(u32, u64)>);

impl CacheHits {
    /// Step `i` was seen cached when it had `lines` output lines.
    pub fn note(&mut self, i: usize, lines: u64) {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        match self.0.iter_mut().find(|(s, _)| *s == i) {
            Some(seen) => seen.1 = lines,
            None => self.0.push((i, lines)),
        }
    }

    /// Whether step `i`, cached now and completing with `lines` output lines, is only re-opened.
    pub fn reopened(&self, i: usize, lines: u64) -> bool {
        self.0.iter().any(|&(s, at)| usize::try_from(s).ok() == Some(i) && at == lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopened_only_without_new_output() {
        let mut hits = CacheHits::default();
        hits.note(3, 0);
        assert!(hits.reopened(3, 0));
        assert!(!hits.reopened(3, 2), "output lines since: a re-run");
        assert!(!hits.reopened(4, 0), "another step");
        hits.note(3, 2);
        assert!(hits.reopened(3, 2));
    }
}
