//! Tests of the glob matcher, with the backtracking matcher it replaced as a reference on small inputs.

use proptest::prelude::*;

use super::{matches, Glob};

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
    check("[\\]]", "]", true);
    check("[\\-a]", "-", true);
    check("[z-a]", "m", false);
    check("a[/]b", "a/b", false);
    check("a[bc", "a[bc", true);
    check("[]", "[]", true);
    check("\\*", "*", true);
    check("\\*", "x", false);
    check("a\\", "a\\", true);
}

#[test]
fn one_character_is_one_character_not_one_byte() {
    check("caf?.txt", "café.txt", true);
    check("caf??.txt", "café.txt", false);
    check("[!a]", "é", true);
    check("*é", "café", true);
    check("?", "😀", true);
}

#[test]
fn covers_is_the_path_or_a_parent_folder() {
    let g = Glob::new("build");
    assert!(g.covers("build") && g.covers("build/x/y") && !g.covers("builds/x") && !g.covers("src/build"));
    assert!(Glob::new("**/node_modules").covers("web/node_modules/x.js"));
    assert!(!Glob::new("*.log").covers("logs/x"));
}

#[test]
fn many_stars_stay_linear() {
    // A backtracking matcher tries every split of the path among the stars: C(60, 12) ways here.
    let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*b";
    let path = "a".repeat(60);
    check(pattern, &path, false);
    check(pattern, &format!("{path}b"), true);
    check(&"**/".repeat(30), &"a/".repeat(60), true);
    // More than 255 tokens: the state set leaves the stack.
    check(&"?".repeat(300), &"x".repeat(300), true);
    check(&"?".repeat(300), &"x".repeat(299), false);
}

/// The matcher this module replaced (exponential on some patterns, exact on small ones), without classes.
fn reference(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', b'/', rest @ ..] => {
            reference(rest, s) || s.iter().enumerate().any(|(i, c)| *c == b'/' && reference(rest, &s[i + 1..]))
        }
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| reference(rest, &s[i..])),
        [b'*', rest @ ..] => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| reference(rest, &s[i..])),
        [b'?', rest @ ..] => s.first().is_some_and(|c| *c != b'/') && reference(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && reference(rest, &s[1..]),
    }
}

proptest! {
    #[test]
    fn agrees_with_the_backtracking_matcher(pattern in "[ab/*?]{0,8}", path in "[ab/]{0,7}") {
        prop_assert_eq!(matches(&pattern, &path), reference(pattern.as_bytes(), path.as_bytes()));
        let parents = path.match_indices('/').map(|(i, _)| &path[..i]).chain([path.as_str()]);
        let by_prefix = parents.into_iter().any(|p| reference(pattern.as_bytes(), p.as_bytes()));
        prop_assert_eq!(Glob::new(&pattern).covers(&path), by_prefix);
    }

    #[test]
    fn never_panics(pattern in "\\PC{0,40}", path in "\\PC{0,60}") {
        let g = Glob::new(&pattern);
        let _ = (g.is_match(&path), g.covers(&path));
    }
}
