//! Reads a build command line (`docker build`, `docker buildx build`, `podman build`, `docker compose build`,
//! `act`, …) for what the record needs: the Dockerfile, the context, tags, build args, `--no-cache`.
//!
//! Pure: paths are resolved against a given cwd, nothing is touched on disk. Commands it does not know
//! (a script, `make image`) give an invocation with nothing found, which is fine: the log still records.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a build command line says about the build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invocation {
    /// `docker-build`, `buildx-build`, `podman-build`, `compose-build`, `act`, or `other`.
    pub tool: String,
    pub dockerfile: Option<PathBuf>,
    pub context: Option<PathBuf>,
    pub tags: Vec<String>,
    /// `--build-arg NAME=value` in order; a bare `NAME` (value from the environment) keeps no value.
    pub build_args: Vec<(String, Option<String>)>,
    pub no_cache: bool,
    pub target: Option<String>,
    /// `docker compose -f FILE build`: the compose files named (resolved), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compose_files: Vec<PathBuf>,
}

/// Options of `docker build` / `buildx build` / `podman build` that take a value, so the context
/// argument is not mistaken for one of their values.
const VALUE_FLAGS: &[&str] = &[
    "--add-host",
    "--allow",
    "--annotation",
    "--attest",
    "--build-arg",
    "--build-context",
    "--builder",
    "--cache-from",
    "--cache-to",
    "--call",
    "--cgroup-parent",
    "--cpu-period",
    "--cpu-quota",
    "--cpu-shares",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--file",
    "--iidfile",
    "--isolation",
    "--label",
    "--load",
    "--memory",
    "--memory-swap",
    "--metadata-file",
    "--network",
    "--output",
    "--platform",
    "--progress",
    "--provenance",
    "--sbom",
    "--secret",
    "--shm-size",
    "--ssh",
    "--tag",
    "--target",
    "--ulimit",
    "--authfile",
    "--cap-add",
    "--cap-drop",
    "--creds",
    "--decryption-key",
    "--device",
    "--dns",
    "--format",
    "--ignorefile",
    "--jobs",
    "--layers",
    "--os",
    "--arch",
    "--variant",
    "--volume",
    "--timestamp",
    "--userns",
    "--uts",
    "--ipc",
    "--pid",
    "--security-opt",
    "--runtime",
    "--logfile",
    "--manifest",
    "--sign-by",
    "--squash-all",
    "--env",
    "--unsetenv",
    "--from",
    "-f",
    "-t",
    "-o",
    "-m",
    "-v",
];

/// Reads `argv` (the command after `--`), resolving paths against `cwd`.
pub fn parse(argv: &[String], cwd: &Path) -> Invocation {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let Some((tool, rest)) = build_subcommand(&words) else {
        return Invocation { tool: tool_name(&words), ..Invocation::default() };
    };
    let mut inv = Invocation { tool: tool.to_string(), ..Invocation::default() };
    if tool == "compose-build" {
        inv.compose_files = compose_files(&words, cwd);
        return inv;
    }
    if tool == "act" {
        return inv;
    }
    let mut context = None;
    let mut i = 0;
    while i < rest.len() {
        let (flag, inline) = split_flag(rest[i]);
        let takes_value = inline.is_none() && VALUE_FLAGS.contains(&flag) && flag.starts_with('-');
        let value = inline.or_else(|| if takes_value { rest.get(i + 1).copied() } else { None });
        apply_flag(&mut inv, flag, value);
        if !flag.starts_with('-') || flag == "-" {
            context = Some(rest[i]);
        }
        i += if takes_value { 2 } else { 1 };
    }
    let context = context.map(|c| resolve(cwd, c));
    inv.dockerfile = inv.dockerfile.take().map(|f| if f.as_os_str() == "-" { f } else { resolve(cwd, &f.to_string_lossy()) });
    if inv.dockerfile.is_none() {
        inv.dockerfile = context.as_ref().map(|c| c.join("Dockerfile"));
    }
    inv.context = context;
    inv
}

/// `-f FILE`, `--file FILE`, `--file=FILE` before the `build` word of a compose command.
fn compose_files(words: &[&str], cwd: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut i = 1;
    while let Some(&word) = words.get(i) {
        if word == "build" {
            break;
        }
        let value = match word {
            "-f" | "--file" => {
                i += 1;
                words.get(i).copied()
            }
            _ => word.strip_prefix("--file="),
        };
        out.extend(value.map(|v| resolve(cwd, v)));
        i += 1;
    }
    out
}

/// Finds the build subcommand: `docker build`, `docker image build`, `docker buildx build`,
/// `docker builder build`, `docker buildx b`, `podman build`, `buildah bud`, `docker compose build`,
/// `docker-compose build`, `act`. Global options before the subcommand are skipped.
fn build_subcommand<'a>(words: &'a [&'a str]) -> Option<(&'static str, &'a [&'a str])> {
    let program = words.first().map(|w| base_name(w))?;
    let args = &words[1..];
    let subs = subcommand_words(args);
    let after = |i: usize| &args[(i + 1).min(args.len())..];
    match (program, subs.as_slice()) {
        ("act", _) => Some(("act", args)),
        ("podman", [(i, "build"), ..]) => Some(("podman-build", after(*i))),
        ("buildah", [(i, "bud" | "build"), ..]) => Some(("podman-build", after(*i))),
        ("docker-compose", [(_, "build"), ..]) => Some(("compose-build", args)),
        ("docker" | "podman", [(_, "compose"), (_, "build")]) => Some(("compose-build", args)),
        ("docker", [(i, "build"), ..]) => Some(("docker-build", after(*i))),
        ("docker", [(_, "image" | "builder"), (i, "build")]) => Some(("docker-build", after(*i))),
        ("docker", [(_, "buildx"), (i, "build" | "b")]) => Some(("buildx-build", after(*i))),
        ("docker-buildx" | "buildx", [(i, "build" | "b"), ..]) => Some(("buildx-build", after(*i))),
        _ => None,
    }
}

/// The first two words that are neither options nor the values of global options (`docker -H x build`).
fn subcommand_words<'a>(args: &[&'a str]) -> Vec<(usize, &'a str)> {
    const GLOBAL_VALUE_FLAGS: &[&str] = &[
        "-H",
        "--host",
        "-c",
        "--context",
        "--config",
        "-l",
        "--log-level",
        "--tlscacert",
        "--tlscert",
        "--tlskey",
        "--connection",
        "--url",
        "--root",
        "--runroot",
        "--storage-driver",
        "-f",
        "--file",
        "-p",
        "--project-name",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() && out.len() < 2 {
        // Before the subcommand, or between `compose` and its own subcommand (`compose -f x.yml build`).
        let global = out.is_empty() || out.first().is_some_and(|(_, w)| *w == "compose");
        if GLOBAL_VALUE_FLAGS.contains(&args[i]) && global {
            i += 2;
            continue;
        }
        if !args[i].starts_with('-') {
            out.push((i, args[i]));
        }
        i += 1;
    }
    out
}

fn tool_name(words: &[&str]) -> String {
    match words.first().map(|w| base_name(w)) {
        Some("act") => "act".into(),
        _ => "other".into(),
    }
}

fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// `--tag=x` → (`--tag`, Some(`x`)); `-tx` → (`-t`, Some(`x`)); `--no-cache` → (`--no-cache`, None).
fn split_flag(word: &str) -> (&str, Option<&str>) {
    if let Some(eq) = word.find('=').filter(|_| word.starts_with("--")) {
        return (&word[..eq], Some(&word[eq + 1..]));
    }
    if word.len() > 2 && word.starts_with('-') && !word.starts_with("--") {
        let (flag, value) = word.split_at(2);
        if matches!(flag, "-f" | "-t" | "-o") {
            return (flag, Some(value));
        }
    }
    (word, None)
}

fn apply_flag(inv: &mut Invocation, flag: &str, value: Option<&str>) {
    match (flag, value) {
        ("-f" | "--file", Some(v)) => inv.dockerfile = Some(PathBuf::from(v)),
        ("-t" | "--tag", Some(v)) => inv.tags.push(v.to_string()),
        ("--target", Some(v)) => inv.target = Some(v.to_string()),
        ("--build-arg", Some(v)) => inv.build_args.push(match v.split_once('=') {
            Some((k, val)) => (k.to_string(), Some(val.to_string())),
            None => (v.to_string(), None),
        }),
        ("--no-cache", _) => inv.no_cache = true,
        _ => {}
    }
}

fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        normalize(&cwd.join(p))
    }
}

/// Removes `.` and `a/..` components without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(cmd: &str) -> Invocation {
        let argv: Vec<String> = cmd.split_whitespace().map(String::from).collect();
        parse(&argv, Path::new("/w"))
    }

    #[test]
    fn docker_build_forms() {
        let i = inv("docker build -f build/Dockerfile.dev -t app:1 --build-arg V=2 --no-cache .");
        assert_eq!(i.tool, "docker-build");
        assert_eq!(i.dockerfile, Some(PathBuf::from("/w/build/Dockerfile.dev")));
        assert_eq!(i.context, Some(PathBuf::from("/w")));
        assert_eq!(i.tags, vec!["app:1"]);
        assert_eq!(i.build_args, vec![("V".to_string(), Some("2".to_string()))]);
        assert!(i.no_cache);
        let i = inv("/usr/bin/docker build --progress=plain --network=none ctx");
        assert_eq!(i.dockerfile, Some(PathBuf::from("/w/ctx/Dockerfile")));
        let i = inv("docker buildx build --platform linux/amd64 --file=../x.Dockerfile -tapp --target builder sub/..");
        assert_eq!((i.tool.as_str(), i.dockerfile), ("buildx-build", Some(PathBuf::from("/x.Dockerfile"))));
        assert_eq!((i.context, i.tags, i.target), (Some(PathBuf::from("/w")), vec!["app".to_string()], Some("builder".to_string())));
        assert_eq!(inv("docker --host unix:///x image build .").context, Some(PathBuf::from("/w")));
        assert_eq!(inv("podman build --network=none -f Containerfile .").dockerfile, Some(PathBuf::from("/w/Containerfile")));
    }

    #[test]
    fn other_tools() {
        assert_eq!(inv("docker compose build web").tool, "compose-build");
        let files = inv("docker compose -f deploy/a.yml --file=b.yaml --file /c.yml build web").compose_files;
        let want: Vec<PathBuf> = ["deploy/a.yml", "b.yaml", "/c.yml"].iter().map(|f| resolve(Path::new("/w"), f)).collect();
        assert_eq!(files, want);
        assert_eq!(inv("act -j build").tool, "act");
        assert_eq!(inv("make image").tool, "other");
        assert_eq!(inv("docker run x").tool, "other");
        assert_eq!(inv("").tool, "other");
        assert_eq!(inv("docker build").context, None);
    }
}
