//! A log read with each build handed on as soon as it is closed (`buildlens parse` of a log holding
//! 100,000 builds): memory bounded by the builds still open, not by the number in the log. The builds
//! and problems are those `parse_reader` gives, in the same order.
//!
//! Builds are handed on while the log has one stream (no act jobs, which interleave) and no lines are
//! held for a prefix candidate; otherwise they wait for the end, as in `parse_reader`. A build that is
//! no build of a Dockerfile (setup-buildx's `booting buildkit`) waits until one that is shows up (then it
//! is dropped, as `parse_reader` drops it) or the log ends (then it is handed on).

use std::io::{self, Read};

use super::channel::{self, Channel};
use super::{Build, LogParser, Problem};

/// What is left once every build was handed on.
#[derive(Debug)]
pub struct Rest {
    /// Problems that belong to no build, as `ParsedLog::problems`.
    pub problems: Vec<Problem>,
    /// How many bytes of the log were read.
    pub bytes: u64,
    /// How many builds were handed on.
    pub builds: usize,
}

/// Reads `reader` to its end, calling `each` with every build in log order. An error of `each` (the
/// output went away) stops the reading and is returned.
pub fn each_build(mut reader: impl Read, each: impl FnMut(Build) -> io::Result<()>) -> io::Result<Rest> {
    let mut parser = LogParser::new();
    let mut out = Order { each, held: Vec::new(), dockerfile_seen: false, count: 0 };
    let mut buf = vec![0u8; super::READ_BYTES];
    let mut error = None;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                parser.feed(&buf[..n]);
                if let [one] = parser.state.channels.as_mut_slice() {
                    for build in one.take_done() {
                        out.push(build)?;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let LogParser { state, splitter, scratch, .. } = &mut parser;
    splitter.finish(&mut |raw| state.line(raw, scratch));
    let bytes = splitter.offset();
    let mut rest: Vec<Build> = std::mem::take(&mut state.channels).into_iter().flat_map(Channel::finish).collect();
    rest.sort_by_key(|b| b.span[0]);
    for build in rest {
        out.push(build)?;
    }
    out.end()?;
    let mut problems = state.problems.clone();
    if out.count == 0 {
        problems.push(Problem::general(state.no_build(bytes)));
    }
    if let Some(e) = error {
        problems.push(Problem::at(bytes, format!("reading the log failed here: {e}")));
    }
    Ok(Rest { problems, bytes, builds: out.count })
}

/// Builds on their way out: the ones that build no Dockerfile held until it is known whether any does.
struct Order<F> {
    each: F,
    held: Vec<Build>,
    dockerfile_seen: bool,
    count: usize,
}

impl<F: FnMut(Build) -> io::Result<()>> Order<F> {
    fn push(&mut self, build: Build) -> io::Result<()> {
        if channel::builds_a_dockerfile(&build) {
            self.dockerfile_seen = true;
            self.held.clear();
            self.emit(build)
        } else {
            if !self.dockerfile_seen {
                self.held.push(build);
            }
            Ok(())
        }
    }

    fn end(&mut self) -> io::Result<()> {
        for build in std::mem::take(&mut self.held) {
            self.emit(build)?;
        }
        Ok(())
    }

    fn emit(&mut self, build: Build) -> io::Result<()> {
        self.count += 1;
        (self.each)(build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{parse_bytes, ParsedLog};

    fn streamed(log: &str, chunk: usize) -> ParsedLog {
        let mut builds = Vec::new();
        let rest = each_build(Chunks(log.as_bytes(), chunk), |b| {
            builds.push(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(rest.builds, builds.len());
        ParsedLog { builds, problems: rest.problems, bytes: rest.bytes }
    }

    /// A reader that gives at most `.1` bytes a read.
    struct Chunks<'a>(&'a [u8], usize);

    impl Read for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    const BOOT: &str = "#1 [internal] booting buildkit\n#1 DONE 3.0s\n";

    fn build(i: usize) -> String {
        format!("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/1] RUN echo {i}\n#2 0.1 {i}\n#2 DONE 0.1s\n")
    }

    #[test]
    fn the_same_builds_and_problems_as_parse_bytes() {
        let many: String = (0..50).map(build).collect();
        let act = |s: &str| s.lines().map(|l| format!("[ci/job{}] | {l}\n", l.len() % 2)).collect::<String>();
        for log in
            [many.clone(), format!("{BOOT}{many}"), format!("{many}{BOOT}"), BOOT.repeat(3), "hello\n".into(), act(&many), String::new()]
        {
            let whole = serde_json::to_value(parse_bytes(log.as_bytes())).unwrap();
            for chunk in [7, 100, 1 << 20] {
                assert_eq!(serde_json::to_value(streamed(&log, chunk)).unwrap(), whole, "{chunk}: {log:.200}");
            }
        }
    }

    #[test]
    fn builds_are_handed_on_while_the_log_is_read() {
        let log: String = (0..20_000).map(build).collect();
        let read = std::cell::Cell::new(0);
        let mut first_at = None;
        let rest = each_build(Counting { inner: Chunks(log.as_bytes(), 1 << 20), read: &read }, |_| {
            first_at.get_or_insert(read.get());
            Ok(())
        })
        .unwrap();
        assert_eq!(rest.builds, 20_000);
        // The first build went out after the first read, not at the end of the log.
        assert!(first_at.is_some_and(|at| at <= 256 * 1024), "{first_at:?} of {}", log.len());
    }

    struct Counting<'a, R> {
        inner: R,
        read: &'a std::cell::Cell<usize>,
    }

    impl<R: Read> Read for Counting<'_, R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.set(self.read.get() + n);
            Ok(n)
        }
    }
}
