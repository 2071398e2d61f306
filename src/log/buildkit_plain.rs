//! Parser for BuildKit `--progress=plain` (`#n` lines). (stub: to be written)

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::{Build, Format};

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    build: Build,
}

impl Parser {
    /// True when `line` starts (or unmistakably belongs to) a build in this format.
    pub fn starts(_line: &Line<'_>) -> bool {
        false
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        Parser { build: Build::new(Format::BuildkitPlain, line.start) }
    }

    pub fn feed(&mut self, _line: &Line<'_>) -> Fed {
        Fed::Ignored
    }

    /// The build as it stands (open steps `running`).
    pub fn snapshot(&self) -> Build {
        self.build.clone()
    }

    pub fn finish(self, _end: End) -> Build {
        self.build
    }
}
