//! The one line that says why a step failed, as lenses, diagnostics, the Problems entry and `report`
//! show it: the first output line that reads like the cause (`log::cause`: a compiler's `file:line:col:
//! error:`, `error:`, `ERROR`, `fatal:`, apt's `E: `, `npm ERR!`, a Python exception...), else the
//! builder's own error (`process "/bin/sh -c make" did not complete successfully: exit code: 2`). The
//! exit code is shown beside it by the renderers, from `StepRun::exit_code`.

use super::StepRun;

/// A failure's headline and, when it came from the step's output, where that line is in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    pub text: String,
    /// Byte offset of the output line in the run's log; `None` for the builder's error.
    pub offset: Option<u64>,
}

/// The headline of a run, or `None` when neither its output nor the builder says anything.
pub fn of(run: &StepRun) -> Option<Headline> {
    if let Some(cause) = run.cause.as_ref().filter(|c| !c.text.trim().is_empty()) {
        return Some(Headline { text: cause.text.clone(), offset: Some(cause.offset) });
    }
    let error = run.error.as_ref().filter(|e| !e.trim().is_empty())?;
    Some(Headline { text: error.clone(), offset: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{annotate, RecordedBuild};
    use crate::log::parse_bytes;

    /// The headline of the failed step of a BuildKit plain log whose failing `RUN make` printed `output`,
    /// and the text of the log line its offset points at.
    fn check(output: &[&str], expect: &str) {
        let mut log = String::from("#1 [1/2] FROM docker.io/library/alpine\n#1 DONE 0.1s\n\n#2 [2/2] RUN make\n");
        for (i, line) in output.iter().enumerate() {
            log.push_str(&format!("#2 0.{i:03} {line}\n"));
        }
        log.push_str("#2 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n");
        let parsed = parse_bytes(log.as_bytes());
        let build = parsed.builds.into_iter().next().expect("a build");
        let rb = RecordedBuild { id: "b1".into(), started: None, build, log_path: "build.log".into(), live: false, built_dockerfile: None };
        let a = annotate("FROM alpine\nRUN make\n", &[rb]);
        let run = a.instructions[1].last.as_ref().expect("a run");
        assert_eq!(run.exit_code, Some(2));
        let h = of(run).expect("a headline");
        assert_eq!(h.text, expect);
        match h.offset {
            Some(at) => {
                let line = log.get(at as usize..).and_then(|rest| rest.lines().next()).unwrap_or_default();
                assert!(line.starts_with("#2 0.") && line.ends_with(expect), "offset {at} points at {line:?}");
            }
            None => assert!(!output.contains(&expect), "an output line without an offset"),
        }
    }

    const BUILDER: &str = "process \"/bin/sh -c make\" did not complete successfully: exit code: 2";

    #[test]
    fn gcc_under_make() {
        let gcc = "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'";
        check(&[" CC      hello.o", gcc, "make[3]: *** [Makefile:1234: all] Error 2", "make: *** [all] Error 2"], gcc);
    }

    #[test]
    fn make_alone_gives_the_builder_error() {
        check(&["make[3]: *** [Makefile:1234: all] Error 2", "make: *** [all] Error 2"], BUILDER);
    }

    #[test]
    fn npm_apt_python_rustc_go() {
        check(
            &["> app@1.0.0 build", "npm ERR! Missing script: \"build\"", "npm ERR! A complete log of this run"],
            "npm ERR! Missing script: \"build\"",
        );
        check(&["Reading package lists...", "E: Unable to locate package libfoo-dev"], "E: Unable to locate package libfoo-dev");
        let py = [
            "Traceback (most recent call last):",
            "  File \"setup.py\", line 1, in <module>",
            "ModuleNotFoundError: No module named 'numpy'",
        ];
        check(&py, "ModuleNotFoundError: No module named 'numpy'");
        let rust = ["error[E0425]: cannot find value `x` in this scope", " --> src/main.rs:2:5", "error: could not compile `app`"];
        check(&rust, "error[E0425]: cannot find value `x` in this scope");
        check(&["# example.com/app", "./main.go:5:2: undefined: foo"], "./main.go:5:2: undefined: foo");
    }

    #[test]
    fn no_cause_in_the_output() {
        check(&["-- Looking for error.h", "checking for strerror... yes", "0 errors", "x.c:1: warning: y"], BUILDER);
        check(&[], BUILDER);
    }

    #[test]
    fn nothing_at_all() {
        let json = serde_json::json!({"build": "b", "started": null, "status": "error", "duration_ms": null, "cached": false,
            "exit_code": 2, "error": " ", "excerpt": [], "output": {"start": 0, "end": 0, "lines": 0}});
        let run: StepRun = serde_json::from_value(json).expect("a run");
        assert_eq!(of(&run), None);
    }
}
