//! Glob patterns over `/`-separated paths, for `.dockerignore` rules and COPY sources (analysis) and the
//! `buildlens.logGlobs` setting (language server): `**` any folders, `*` and `?` within one segment,
//! `[abc]`, `[a-z]`, `[!a]` / `[^a]` one character of a segment (ASCII members), `\x` the character x.
//!
//! Invariant: matching reads each path byte once and costs at most (pattern tokens + 1) state updates
//! per byte, whatever the pattern (an automaton walk over a bit set, no backtracking, no allocation for
//! patterns under 256 tokens), so a pattern like `*a*a*a*a*a*b` cannot stall the caller.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Byte(u8),
    /// `?`: one character other than `/` (its first byte; `Tail` reads the rest).
    One,
    /// `*`: any bytes other than `/`.
    Star,
    /// `**` not followed by `/`: any bytes.
    Any,
    /// `**/`, before any byte of it: nothing, or any bytes ending with `/` (then `FoldersLoop`).
    Folders,
    /// Inside a `**/` that has read bytes: any more, until a `/` ends it.
    FoldersLoop,
    /// `[...]`: one character other than `/` whose first byte is in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
    /// The UTF-8 continuation bytes of the character a `One` or `Class` just read.
    Tail,
}

/// A compiled pattern, to match many paths.
#[derive(Debug, Clone)]
pub struct Glob {
    toks: Vec<Tok>,
}

/// Whether the whole of `path` matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    Glob::new(pattern).is_match(path)
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob { toks: compile(pattern.as_bytes()) }
    }

    /// Whether the whole of `path` matches.
    pub fn is_match(&self, path: &str) -> bool {
        self.walk(path.as_bytes(), false)
    }

    /// Whether `path` or one of its parent folders (`a`, `a/b` of `a/b/c`) matches: a `.dockerignore` rule
    /// or a COPY source that names a folder covers what is under it. One walk for all of them.
    pub fn covers(&self, path: &str) -> bool {
        self.walk(path.as_bytes(), true)
    }

    fn walk(&self, path: &[u8], parents: bool) -> bool {
        let words = (self.toks.len() + 1).div_ceil(64);
        let mut stack = [0u64; 8];
        let mut heap: Vec<u64>;
        let (mut now, mut next) = if 2 * words <= stack.len() {
            stack.split_at_mut(words)
        } else {
            heap = vec![0; 2 * words];
            heap.split_at_mut(words)
        };
        let accept = self.toks.len();
        add(now, 0);
        close(&self.toks, now);
        for &c in path {
            if parents && c == b'/' && has(now, accept) {
                return true;
            }
            next.fill(0);
            for i in members(now) {
                if let Some(tok) = self.toks.get(i) {
                    step(tok, c, i, next);
                }
            }
            close(&self.toks, next);
            std::mem::swap(&mut now, &mut next);
            if now.iter().all(|w| *w == 0) {
                return false;
            }
        }
        has(now, accept)
    }
}

/// The states reached from state `i` (before `tok`) by reading `c`.
fn step(tok: &Tok, c: u8, i: usize, next: &mut [u64]) {
    let advance = match tok {
        Tok::Byte(b) => c == *b,
        Tok::One => c != b'/' && !continuation(c),
        Tok::Class { negated, ranges } => {
            c != b'/' && !continuation(c) && ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negated
        }
        Tok::Star => {
            add_if(next, i, c != b'/');
            false
        }
        Tok::Any => {
            add(next, i);
            false
        }
        Tok::Folders => {
            add(next, i + 1);
            add_if(next, i + 2, c == b'/');
            false
        }
        Tok::FoldersLoop => {
            add(next, i);
            c == b'/'
        }
        Tok::Tail => {
            add_if(next, i, continuation(c));
            false
        }
    };
    add_if(next, i + 1, advance);
}

/// Adds the states reachable without reading: past a `*` or `**` (whatever they read so far), past a `**/`
/// that matches nothing, past a character's tail. Every such move goes forward, so one pass in order finds
/// them all.
fn close(toks: &[Tok], states: &mut [u64]) {
    for (i, tok) in toks.iter().enumerate() {
        if has(states, i) {
            match tok {
                Tok::Star | Tok::Any | Tok::Tail => add(states, i + 1),
                Tok::Folders => add(states, i + 2),
                _ => {}
            }
        }
    }
}

fn continuation(c: u8) -> bool {
    c & 0xC0 == 0x80
}

fn has(states: &[u64], i: usize) -> bool {
    states.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
}

fn add(states: &mut [u64], i: usize) {
    if let Some(w) = states.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

fn add_if(states: &mut [u64], i: usize, reached: bool) {
    if reached {
        add(states, i);
    }
}

/// The states in the set, in order.
fn members(states: &[u64]) -> impl Iterator<Item = usize> + '_ {
    states.iter().enumerate().flat_map(|(k, &word)| {
        let mut bits = word;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                k * 64 + bit
            })
        })
    })
}

fn compile(pattern: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::with_capacity(pattern.len() + 1);
    let mut rest = pattern;
    while let Some((tok, used)) = token(rest) {
        let follower = match tok {
            Tok::Folders => Some(Tok::FoldersLoop),
            Tok::One | Tok::Class { .. } => Some(Tok::Tail),
            _ => None,
        };
        toks.push(tok);
        toks.extend(follower);
        rest = rest.get(used..).unwrap_or_default();
    }
    toks
}

/// The token at the start of `p` and how many bytes it took; `None` at the end.
fn token(p: &[u8]) -> Option<(Tok, usize)> {
    Some(match p {
        [] => return None,
        [b'*', b'*', b'/', ..] => (Tok::Folders, 3),
        [b'*', b'*', ..] => (Tok::Any, 2),
        [b'*', ..] => (Tok::Star, 1),
        [b'?', ..] => (Tok::One, 1),
        [b'\\', c, ..] => (Tok::Byte(*c), 2),
        [b'[', rest @ ..] => class(rest).unwrap_or((Tok::Byte(b'['), 1)),
        [c, ..] => (Tok::Byte(*c), 1),
    })
}

/// A `[...]` class from the bytes after `[`, with the bytes taken (the brackets included); `None` when it
/// is not closed (then `[` is a plain byte). A `]` first is a member; `\x` is x; `z-a` matches nothing.
fn class(rest: &[u8]) -> Option<(Tok, usize)> {
    let (negated, mut i) = match rest.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut ranges = Vec::new();
    loop {
        let (lo, used) = match rest.get(i..)? {
            [b']', ..] if !ranges.is_empty() => return Some((Tok::Class { negated, ranges }, i + 2)),
            member => class_byte(member)?,
        };
        i += used;
        match rest.get(i..)? {
            [b'-', hi @ ..] if hi.first().is_some_and(|&c| c != b']') => {
                let (hi, used) = class_byte(hi)?;
                ranges.push((lo, hi));
                i += 1 + used;
            }
            _ => ranges.push((lo, lo)),
        }
    }
}

/// One member byte of a class (`\x` is x) and how many bytes it took.
fn class_byte(p: &[u8]) -> Option<(u8, usize)> {
    match p {
        [b'\\', c, ..] => Some((*c, 2)),
        [c, ..] => Some((*c, 1)),
        [] => None,
    }
}

#[cfg(test)]
mod tests;
