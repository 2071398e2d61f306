//! Glob patterns over `/`-separated paths, for `.dockerignore` rules and COPY sources (analysis) and the
//! `buildlens.logGlobs` setting (language server): `**` any folders, `*` and `?` within one segment,
//! `[abc]`, `[a-z]`, `[!a]` / `[^a]` one character of a segment, `\x` the character x.
//!
//! Invariant: matching costs at most (pattern tokens + 1) × (path bytes + 1) steps whatever the pattern
//! (an automaton walk, no backtracking), so a pattern like `*a*a*a*a*a*b` cannot stall the caller.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Byte(u8),
    /// `?`: one byte other than `/`.
    One,
    /// `*`: any bytes other than `/`.
    Star,
    /// `**` not followed by `/`: any bytes.
    Any,
    /// `**/`, before any byte of it: nothing, or any bytes ending with `/` (then `FoldersLoop`).
    Folders,
    /// Inside a `**/` that has read bytes: any more, until a `/` ends it.
    FoldersLoop,
    /// `[...]`: one byte other than `/` in (or, negated, not in) the inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
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

/// `path` itself and each of its parent folders (`a`, `a/b`, `a/b/c` for `a/b/c`), shortest first.
pub fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(|(i, _)| &path[..i]).chain(std::iter::once(path))
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob { toks: compile(pattern.as_bytes()) }
    }

    /// Whether the whole of `path` matches.
    pub fn is_match(&self, path: &str) -> bool {
        walk(&self.toks, path.as_bytes())
    }
}

fn walk(toks: &[Tok], path: &[u8]) -> bool {
    let mut now = vec![false; toks.len() + 1];
    let mut next = vec![false; toks.len() + 1];
    set(&mut now, 0, true);
    close(toks, &mut now);
    for &c in path {
        next.fill(false);
        for (i, (tok, _)) in toks.iter().zip(&now).enumerate().filter(|(_, (_, &on))| on) {
            step(tok, c, i, &mut next);
        }
        close(toks, &mut next);
        std::mem::swap(&mut now, &mut next);
        if !now.contains(&true) {
            return false;
        }
    }
    now.last() == Some(&true)
}

/// The states reached from state `i` (before `tok`) by reading `c`.
fn step(tok: &Tok, c: u8, i: usize, next: &mut [bool]) {
    let advance = match tok {
        Tok::Byte(b) => c == *b,
        Tok::One => c != b'/',
        Tok::Class { negated, ranges } => c != b'/' && ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negated,
        Tok::Star => {
            set(next, i, c != b'/');
            false
        }
        Tok::Any => {
            set(next, i, true);
            false
        }
        Tok::Folders => {
            set(next, i + 1, true);
            set(next, i + 2, c == b'/');
            false
        }
        Tok::FoldersLoop => {
            set(next, i, true);
            c == b'/'
        }
    };
    set(next, i + 1, advance);
}

/// Adds the states reachable without reading: past a `*` or `**` (whatever they read so far), past a `**/`
/// that matches nothing. Every such move goes forward, so one pass in order finds them all.
fn close(toks: &[Tok], states: &mut [bool]) {
    for (i, tok) in toks.iter().enumerate() {
        if states.get(i) != Some(&true) {
            continue;
        }
        match tok {
            Tok::Star | Tok::Any => set(states, i + 1, true),
            Tok::Folders => set(states, i + 2, true),
            _ => {}
        }
    }
}

/// Marks state `k` reached when `reached` (states only ever get added within one step).
fn set(states: &mut [bool], k: usize, reached: bool) {
    if let (true, Some(s)) = (reached, states.get_mut(k)) {
        *s = true;
    }
}

fn compile(p: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::with_capacity(p.len());
    let mut rest = p;
    while !rest.is_empty() {
        let (tok, used) = token(rest);
        let folders = tok == Tok::Folders;
        toks.push(tok);
        if folders {
            toks.push(Tok::FoldersLoop);
        }
        rest = rest.get(used..).unwrap_or_default();
    }
    toks
}

/// The token at the start of `p` and how many bytes it took.
fn token(p: &[u8]) -> (Tok, usize) {
    match p {
        [b'*', b'*', b'/', ..] => (Tok::Folders, 3),
        [b'*', b'*', ..] => (Tok::Any, 2),
        [b'*', ..] => (Tok::Star, 1),
        [b'?', ..] => (Tok::One, 1),
        [b'\\', c, ..] => (Tok::Byte(*c), 2),
        [b'[', rest @ ..] => class(rest).unwrap_or((Tok::Byte(b'['), 1)),
        [c, ..] => (Tok::Byte(*c), 1),
        [] => (Tok::Byte(0), 1),
    }
}

/// A `[...]` class from the bytes after `[`, with the bytes taken (the `[` included); `None` when it is
/// not closed (then `[` is a plain byte).
fn class(rest: &[u8]) -> Option<(Tok, usize)> {
    let (negated, body_start) = match rest.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    // A `]` right at the start is a member, not the end.
    let end = body_start + 1 + rest.get(body_start + 1..)?.iter().position(|&c| c == b']')?;
    let mut body = rest.get(body_start..end)?;
    let mut ranges = Vec::new();
    loop {
        body = match body {
            [lo, b'-', hi, more @ ..] => {
                ranges.push((*lo.min(hi), *lo.max(hi)));
                more
            }
            [c, more @ ..] => {
                ranges.push((*c, *c));
                more
            }
            [] => break,
        };
    }
    Some((Tok::Class { negated, ranges }, end + 2))
}

#[cfg(test)]
mod tests {
    use super::{matches, prefixes};

    fn check(pattern: &str, path: &str, expect: bool) {
        assert_eq!(matches(pattern, path), expect, "{pattern} vs {path}");
    }

    #[test]
    fn wildcards() {
        check("**/*.log", "ci/x/build.log", true);
        check("**/*.log", "build.log", true);
        check("ci/*.txt", "ci/a.txt", true);
        check("ci/*.txt", "ci/sub/a.txt", false);
        check("logs/**", "logs/a/b", true);
        check("logs/**", "logs", false);
        check("a/**/b", "a/b", true);
        check("a/**/b", "a/x/y/b", true);
        check("a/**/b", "a/xb", false);
        check("**/b", "xb", false);
        check("**/b", "x/b", true);
        check("x**/b", "xy/b", true);
        check("**", "", true);
        check("*", "a/b", false);
        check("a?c", "abc", true);
        check("a?c", "a/c", false);
        check("*.log", "x.logs", false);
        check("", "", true);
        check("", "a", false);
        check("/tmp/**/*.log", "/tmp/ci/build.log", true);
    }

    #[test]
    fn classes_and_escapes() {
        check("file[0-9].txt", "file7.txt", true);
        check("file[0-9].txt", "filex.txt", false);
        check("file[!0-9].txt", "filex.txt", true);
        check("file[^0-9].txt", "file7.txt", false);
        check("[]x]", "]", true);
        check("a[/]b", "a/b", false);
        check("a[bc", "a[bc", true);
        check("\\*", "*", true);
        check("\\*", "x", false);
        check("a\\", "a\\", true);
    }

    #[test]
    fn prefixes_are_the_parent_folders_then_the_path() {
        assert_eq!(prefixes("a/b/c").collect::<Vec<_>>(), ["a", "a/b", "a/b/c"]);
        assert_eq!(prefixes("a").collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn many_stars_stay_linear() {
        // A backtracking matcher tries every split of the path among the stars: C(60, 12) ways here.
        let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let path = "a".repeat(60);
        check(pattern, &path, false);
        check(pattern, &format!("{path}b"), true);
        check(&"**/".repeat(30), &"a/".repeat(60), true);
    }
}
