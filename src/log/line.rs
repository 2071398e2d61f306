//! The line every format parser reads: text without wrappers, plus where it is in the raw log.

/// One log line after `unwrap`, as the format parsers see it.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Text without wrappers, without its line ending and without ANSI codes. Not necessarily UTF-8.
    pub text: &'a [u8],
    /// Offset of the raw line in the log.
    pub start: u64,
    /// Offset just past the raw line (and its `\n`).
    pub end: u64,
    /// Timestamp of a CI wrapper (`2023-01-17T12:46:27.6515486Z`), if the line had one.
    pub time: Option<&'a [u8]>,
    /// act's own chatter (`⭐ Run Main …`): never build output.
    pub chatter: bool,
    /// The raw line was longer than `lines::MAX_LINE`; `text` holds its start.
    pub truncated: bool,
}

impl<'a> Line<'a> {
    /// A line for tests and for parsers that re-feed decoded text (the engine API stream).
    pub fn synthetic(text: &'a [u8], start: u64, end: u64) -> Line<'a> {
        Line { text, start, end, time: None, chatter: false, truncated: false }
    }

    /// The wrapper timestamp as text.
    pub fn time_str(&self) -> Option<&'a str> {
        self.time.and_then(|t| std::str::from_utf8(t).ok())
    }
}

/// What a format parser did with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// The line belongs to this build.
    Taken,
    /// Not this build's line (prose, another tool's output); other formats may claim it.
    Ignored,
    /// The line starts a new build of the same format: finish this one and start another with it.
    NewBuild,
}

/// How a build's input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The log ended (it may still be growing: open steps stay `running`).
    Eof,
    /// Another build started in the same channel.
    NextBuild,
}
