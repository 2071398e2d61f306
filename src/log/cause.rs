//! Which output line of a failed step reads like the cause of the failure: the first compiler error,
//! `error:`, `ERROR`, `fatal:`, apt's `E: `, `npm ERR!`, a Python exception, a shell's own message...
//! rather than the `make[3]: *** [Makefile:1234: all] Error 2` echoes that follow it.
//!
//! Pure and line-local: each rule looks at one line's text (a Python traceback also at the lines after
//! it). The rules favour missing a cause over inventing one: `-- Looking for error.h`, `checking for
//! strerror... yes`, `0 errors` and `warning:` lines are not causes. The caller falls back to the
//! builder's own error when no line qualifies.

/// Index of the cause among `lines` (a step's output, oldest first), if one reads like it: the first
/// line a rule accepts. A `Traceback (most recent call last):` gives way to the exception line that ends
/// it (`ModuleNotFoundError: No module named 'x'`) when that line is there.
pub fn pick<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    let mut lines = lines.into_iter().enumerate();
    let (first, text) = lines.find(|(_, l)| is_cause(l))?;
    if !text.trim_start().starts_with(TRACEBACK) {
        return Some(first);
    }
    // The exception line is the first one after the frames that is not indented.
    let exception = lines.find(|(_, l)| !l.trim().is_empty() && !l.starts_with([' ', '\t']) && !l.starts_with(TRACEBACK));
    Some(exception.map_or(first, |(i, _)| i))
}

const TRACEBACK: &str = "Traceback (most recent call last)";

/// True when `line` reads like the cause of a failure (see the module comment for what is not).
pub fn is_cause(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() || starts_with_ci(t, "warning") {
        return false;
    }
    at_start(t) || inside(t)
}

/// Rules on how the line starts.
fn at_start(t: &str) -> bool {
    let word_end = |rest: &str| rest.chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    // `error: …`, `Error: …`, rustc's `error[E0425]: …`; `ERROR …` as a word (`ERROR: …`, `ERROR in ./x.js`).
    if starts_with_ci(t, "error") && t[5..].starts_with([':', '[']) {
        return true;
    }
    if let Some(rest) = t.strip_prefix("ERROR") {
        return word_end(rest);
    }
    // `fatal: …` (git), `fatal error: …`, `FATAL: …`, `Fatal error: …` (PHP).
    if starts_with_ci(t, "fatal") && (t[5..].starts_with(':') || starts_with_ci(&t[5..], " error")) {
        return true;
    }
    const STARTS: [&str; 11] = [
        "E: ",      // apt
        "npm ERR!", // npm up to 8
        "npm error ",
        "[ERROR]", // maven
        "[error]", // sbt
        TRACEBACK,
        "panic: ", // Go
        "CMake Error",
        "Exception in thread ",
        "collect2: error",
        "Error response from daemon",
    ];
    if STARTS.iter().any(|s| t.starts_with(s)) {
        return true;
    }
    shell_message(t) || exception_line(t) || linker_message(t) || named_error(t)
}

/// `Type error: …`, `Syntax error: …` (TypeScript through Next.js, and the like): one capitalised word before
/// ` error: `.
fn named_error(t: &str) -> bool {
    let Some((word, _)) = t.split_once(" error: ") else { return false };
    let mut chars = word.chars();
    word != "No" && chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_lowercase())
}

/// Rules anywhere in the line.
fn inside(t: &str) -> bool {
    // `hello.c:12:5: error: …`, `x.cc:3: fatal error: …` (not after `warning:`).
    for needle in [": error:", ": error[", ": fatal error:", ": Error:"] {
        if let Some(at) = t.find(needle) {
            return !t[..at].contains("warning:");
        }
    }
    // `Makefile:12: *** missing separator.  Stop.`, `make: *** No rule to make target 'x'.  Stop.`; not the
    // `make[3]: *** [Makefile:1234: all] Error 2` echo of a failed command, nor `*** Waiting for unfinished jobs`.
    // A program's own message about a file: `tee: /tmp/x: No such file or directory`, `cp: cannot stat 'y':
    // No such file or directory`, `…: Permission denied`, `…: command not found`.
    if [": No such file or directory", ": Permission denied", ": command not found"].iter().any(|m| t.contains(m)) {
        return true;
    }
    if let Some(at) = t.find(": *** ") {
        let rest = &t[at + 6..];
        return !rest.starts_with('[') && !rest.starts_with("Waiting for unfinished jobs");
    }
    go_position(t)
}

/// Go's compiler and vet: `./main.go:5:2: undefined: foo` (no `error` word in the line).
fn go_position(t: &str) -> bool {
    let Some(at) = t.find(".go:") else { return false };
    let rest = &t[at + 4..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(':') && !t.contains(": warning")
}

/// A shell's own message: `sh: 1: hello: not found`, `/bin/sh: foo: Permission denied`, `bash: line 1: x:
/// command not found` (shells print only errors with their name in front).
fn shell_message(t: &str) -> bool {
    let Some((first, _)) = t.split_once(": ") else { return false };
    let name = first.rsplit('/').next().unwrap_or(first);
    matches!(name, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh")
}

/// `ld: cannot find -lfoo`, `/usr/bin/ld: x.o: undefined reference to 'y'` (not `ld: warning: …`).
fn linker_message(t: &str) -> bool {
    let Some((first, rest)) = t.split_once(": ") else { return false };
    let name = first.rsplit('/').next().unwrap_or(first);
    matches!(name, "ld" | "ld.lld" | "ld.gold" | "ld.bfd") && !starts_with_ci(rest, "warning")
}

/// A Python or Java exception line: `ModuleNotFoundError: No module named 'x'`,
/// `subprocess.CalledProcessError: …`, `java.lang.IllegalStateException: …`.
fn exception_line(t: &str) -> bool {
    let Some((name, _)) = t.split_once(':') else { return false };
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let starts_upper_or_dotted = name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) || name.contains('.');
    plain && starts_upper_or_dotted && (name.ends_with("Error") || name.ends_with("Exception")) && name.len() > 5
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lines` is a step's output; `expect` the line picked as the cause, or `None`.
    fn check(lines: &[&str], expect: Option<&str>) {
        let got = pick(lines.iter().copied()).map(|i| lines[i]);
        assert_eq!(got, expect, "{lines:#?}");
    }

    #[test]
    fn gcc_before_the_make_echo() {
        let out = [
            "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'",
            "make[3]: *** [Makefile:1234: all] Error 2",
            "make[3]: Entering directory '/openwrt/package/hello'",
            " CC      hello.o",
        ];
        check(&out, Some(out[0]));
        let warned = ["x.c:1:2: warning: unused variable 'y' [-Wunused-variable]", "x.c:3:1: fatal error: y.h: No such file or directory"];
        check(&warned, Some(warned[1]));
    }

    #[test]
    fn make_alone() {
        check(&["make[3]: *** [Makefile:1234: all] Error 2", "make: *** [all] Error 2"], None);
        check(
            &["make: *** Waiting for unfinished jobs....", "make: *** No rule to make target 'x'.  Stop."],
            Some("make: *** No rule to make target 'x'.  Stop."),
        );
        check(&["Makefile:3: *** missing separator.  Stop."], Some("Makefile:3: *** missing separator.  Stop."));
    }

    #[test]
    fn npm() {
        let out = ["> app@1.0.0 build", "npm ERR! code ELIFECYCLE", "npm ERR! errno 1"];
        check(&out, Some(out[1]));
        check(&["npm WARN deprecated x@1", "npm error code E404"], Some("npm error code E404"));
    }

    #[test]
    fn apt() {
        let out = ["Reading package lists...", "E: Unable to locate package libfoo-dev"];
        check(&out, Some(out[1]));
    }

    #[test]
    fn python_traceback_gives_its_exception_line() {
        let out = [
            "Collecting x",
            "Traceback (most recent call last):",
            "  File \"/app/setup.py\", line 3, in <module>",
            "    import numpy",
            "ModuleNotFoundError: No module named 'numpy'",
        ];
        check(&out, Some(out[4]));
        // Cut off before the exception: the traceback's own line.
        check(&out[..3], Some(out[1]));
        // The traceback's start scrolled out of the excerpt: the exception line alone.
        check(&out[2..], Some(out[4]));
    }

    #[test]
    fn rustc_and_cargo() {
        let out = [
            "   Compiling app v0.1.0 (/app)",
            "error[E0425]: cannot find value `x` in this scope",
            " --> src/main.rs:2:5",
            "error: could not compile `app` (bin \"app\") due to 1 previous error",
        ];
        check(&out, Some(out[1]));
    }

    #[test]
    fn go() {
        let out = ["# example.com/app", "./main.go:5:2: undefined: foo", "go: downloading x v1"];
        check(&out, Some(out[1]));
        check(&["go: downloading golang.org/x/sys v0.1.0"], None);
        check(
            &["panic: runtime error: index out of range [3] with length 2", "goroutine 1 [running]:"],
            Some("panic: runtime error: index out of range [3] with length 2"),
        );
    }

    #[test]
    fn shells_linkers_and_others() {
        check(&["/bin/sh: 1: hello: not found"], Some("/bin/sh: 1: hello: not found"));
        check(&["bash: line 1: foo: command not found"], Some("bash: line 1: foo: command not found"));
        check(&["/usr/bin/ld: cannot find -lfoo", "collect2: error: ld returned 1 exit status"], Some("/usr/bin/ld: cannot find -lfoo"));
        check(
            &["ld: warning: x", "fatal: not a git repository (or any of the parent directories): .git"],
            Some("fatal: not a git repository (or any of the parent directories): .git"),
        );
        check(
            &["ERROR: Could not find a version that satisfies the requirement foo"],
            Some("ERROR: Could not find a version that satisfies the requirement foo"),
        );
        check(&["CMake Error at CMakeLists.txt:5 (find_package):"], Some("CMake Error at CMakeLists.txt:5 (find_package):"));
        check(&["[ERROR] Failed to execute goal x"], Some("[ERROR] Failed to execute goal x"));
        check(&["Error: Cannot find module 'express'"], Some("Error: Cannot find module 'express'"));
        let tee = ["running tests", "tee: /tmp/results.txt: No such file or directory", "tests passed"];
        check(&tee, Some(tee[1]));
        let next = [
            "Failed to compile.",
            "./app/page.tsx",
            "Type error: Property 'x' does not exist on type '{}'.",
            "ELIFECYCLE  Command failed with exit code 1.",
        ];
        check(&next, Some(next[2]));
    }

    #[test]
    fn not_causes() {
        check(
            &[
                "-- Looking for error.h",
                "-- Looking for error.h - found",
                "checking for strerror... yes",
                "0 errors, 2 warnings",
                "warning: unused manifest key: x",
                "x.c:1:1: warning: passing 'error:' along",
                "ERRORS=0 make",
                "error handling enabled",
                "   Compiling error-chain v0.12.4",
                "Setting up liberror-perl (0.17029-2) ...",
                "make[2]: Entering directory '/openwrt/toolchain/binutils'",
                " CC      hello.o",
                "",
                "Downloading https://example.com/errors.json",
                "test result: ok. 0 failed; 12 passed",
                "No error: all good",
                "ELIFECYCLE  Command failed with exit code 1.",
            ],
            None,
        );
    }
}
