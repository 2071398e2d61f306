//! Why `buildlens debug`'s own build failed, from what that build printed: the causes its output shows
//! (a Docker CLI without buildx, a base image that cannot be pulled, a context file that is gone, a step
//! that ran again and failed...), each with what to do. Pure: the output text in, sentences out; a cause
//! is named only when the output says it, never guessed.

/// One cause the output shows: a marker in the builder's or the CLI's words, and what it means.
struct Known {
    markers: &'static [&'static str],
    says: fn(&Context<'_>) -> String,
}

/// What the sentences name.
pub struct Context<'a> {
    /// The docker binary that ran the build, as given (`--docker PATH`, else `docker`).
    pub docker: &'a str,
    /// The failing instruction's line.
    pub line: u32,
}

const KNOWN: &[Known] = &[
    Known {
        // Docker CLI 23+ with DOCKER_BUILDKIT=1 and no buildx plugin (docker/cli, cmd/docker/builder.go).
        markers: &["BuildKit is enabled but the buildx component is missing or broken"],
        says: |c| {
            format!(
                "the Docker CLI `{}` has no working buildx component, and rebuilding a BuildKit record needs BuildKit. \
                 Install buildx (Debian and Ubuntu: `apt-get install docker-buildx`; Docker's own packages: \
                 `docker-buildx-plugin`), or give `--docker PATH` of a Docker CLI that builds with BuildKit, or run \
                 `DOCKER_BUILDKIT=0 buildlens debug …` to rebuild the state with the classic builder (slower: every \
                 step runs again, BuildKit's cache is not shared with it)",
                c.docker
            )
        },
    },
    Known {
        markers: &["Cannot connect to the Docker daemon", "Is the docker daemon running"],
        says: |_| "no Docker daemon answered: start it, or point DOCKER_HOST at the daemon that ran the build".into(),
    },
    Known {
        markers: &["unknown flag: "],
        says: |c| format!("the Docker CLI `{}` does not take one of the flags above: give `--docker PATH` of a newer client", c.docker),
    },
    Known {
        markers: &[
            "pull access denied",
            "failed to resolve source metadata",
            "manifest unknown",
            "repository does not exist",
            "failed to authorize",
        ],
        says: |_| {
            "a base image could not be found or pulled: `docker pull` it (or build it) where the daemon can see it, then try again".into()
        },
    },
    Known {
        markers: &["failed to compute cache key", "failed to calculate checksum", "COPY failed", "ADD failed"],
        says: |_| "a file a COPY or ADD needs is not in the build context any more: restore it, or record the build again".into(),
    },
    Known {
        markers: &["Temporary failure in name resolution", "no such host", "network is unreachable", "i/o timeout"],
        says: |_| "a step needed the network and could not reach it (the recorded --network flag is passed as it was)".into(),
    },
    Known {
        markers: &["dockerfile parse error", "unknown instruction"],
        says: |_| {
            "this engine cannot parse the Dockerfile (too old for its syntax, e.g. heredocs): use the engine that ran the build".into()
        },
    },
    Known {
        markers: &["did not complete successfully", "returned a non-zero code", "executor failed running"],
        says: |c| {
            format!(
                "a step before line {} ran again instead of coming from the build cache, and failed (its error is above): \
                 the cache no longer holds it (pruned, or another builder)",
                c.line
            )
        },
    },
];

/// The causes `output` (the debug build's, as printed) shows, in the order above, each once.
pub fn causes(output: &str, context: &Context<'_>) -> Vec<String> {
    KNOWN.iter().filter(|k| k.markers.iter().any(|m| output.contains(m))).map(|k| (k.says)(context)).collect()
}

/// The whole message for a failed debug build: what failed, then the causes the output shows, or that
/// it shows none the tool knows.
pub fn message(output: &str, status: &str, context: &Context<'_>) -> String {
    let head = format!("the debug build failed ({status}): the state before line {} could not be rebuilt", context.line);
    match causes(output, context).as_slice() {
        [] => format!("{head}; its output is above"),
        [one] => format!("{head}: {one}"),
        many => format!("{head}:\n  - {}", many.join("\n  - ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Context<'static> = Context { docker: "/usr/local/bin/docker", line: 16 };

    /// What Docker CLI 28.2 without buildx prints for `DOCKER_BUILDKIT=1 docker build` (captured here).
    const NO_BUILDX: &str = "ERROR: BuildKit is enabled but the buildx component is missing or broken.\n       Install the buildx component to build images with BuildKit:\n       https://docs.docker.com/go/buildx/\n";

    #[test]
    fn a_cli_without_buildx_says_so_and_what_to_do() {
        let m = message(NO_BUILDX, "exit status: 1", &CTX);
        assert!(m.starts_with("the debug build failed (exit status: 1): the state before line 16 could not be rebuilt: the Docker CLI `/usr/local/bin/docker` has no working buildx"), "{m}");
        for what in ["apt-get install docker-buildx", "--docker PATH", "DOCKER_BUILDKIT=0 buildlens debug"] {
            assert!(m.contains(what), "{what}: {m}");
        }
        // Only the cause the output supports: no base image, context file or build arg guesses.
        assert_eq!(causes(NO_BUILDX, &CTX).len(), 1);
        assert!(!m.contains("base image") && !m.contains("context") && !m.contains("build arg"), "{m}");
    }

    #[test]
    fn each_cause_from_its_words() {
        let one = |out: &str, word: &str| {
            let c = causes(out, &CTX);
            assert!(c.len() == 1 && c[0].contains(word), "{out} -> {c:?}");
        };
        one("ERROR: failed to solve: fixture-base: pull access denied, repository does not exist", "base image");
        one("ERROR: failed to compute cache key: \"/package/x\" not found: not found", "build context");
        one("#5 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2", "ran again");
        one("unknown flag: --progress", "does not take");
        one("dial tcp: lookup deb.debian.org: Temporary failure in name resolution", "network");
    }

    #[test]
    fn nothing_known_is_no_guess() {
        assert_eq!(
            message("something else went wrong\n", "exit status: 1", &CTX),
            "the debug build failed (exit status: 1): the state before line 16 could not be rebuilt; its output is above"
        );
        let two = message(&format!("{NO_BUILDX}\nCOPY failed: file not found"), "exit status: 1", &CTX);
        assert!(two.contains(":\n  - the Docker CLI") && two.contains("\n  - a file a COPY"), "{two}");
    }
}
