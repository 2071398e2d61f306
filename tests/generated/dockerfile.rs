//! Random multi-stage Dockerfiles that the real builders can build from the busybox `fixture-base`, and
//! what each builder must do on every line of them: which stages it builds, which step fails, which lines
//! have no result.
//!
//! Every Dockerfile has 2-4 stages (`FROM fixture-base` or `FROM <earlier stage>`), each with a few
//! instructions among `RUN` (some on continuation lines, some with a comment inside the continuation),
//! `COPY --from=<earlier stage>`, `COPY nonce.txt`, `ENV`, `WORKDIR`, with comments and blank lines between.
//! The target is the last stage or, sometimes, an earlier one (`--target`); stages it does not need are
//! left unused. A failing build has one `RUN ... && false` in the target stage, after its last
//! `COPY --from`, so that every stage it needs has finished before it fails whatever the builder's
//! scheduling (BuildKit runs stages in parallel).

use std::fmt::Write as _;

/// splitmix64: small, seedable, the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with `percent` % probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What an instruction is, as far as the builders' results go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `FROM fixture-base AS x`
    FromImage,
    /// `FROM <earlier stage> AS x`
    FromStage,
    Run,
    /// `RUN ... && false`: the step that fails the build.
    RunFails,
    /// `COPY --from=<earlier stage> ...`
    CopyFrom(usize),
    /// `COPY nonce.txt ...` from the build context.
    CopyContext,
    Env,
    Workdir,
}

/// One instruction: the Dockerfile line it starts on (1-based) and its stage's index.
#[derive(Debug, Clone)]
pub struct Instr {
    pub line: usize,
    pub stage: usize,
    pub kind: Kind,
}

/// A generated Dockerfile and what the generator knows about it.
#[derive(Debug, Clone)]
pub struct Generated {
    pub text: String,
    pub instrs: Vec<Instr>,
    pub stage_names: Vec<String>,
    /// Index of the stage built (`--target`, or the last stage).
    pub target: usize,
    /// `needed[i]`: the target depends on stage i (itself included), through `FROM` and `COPY --from`.
    pub needed: Vec<bool>,
    pub fails: bool,
}

impl Generated {
    /// `Some(name)` when the build must say `--target name` (the target is not the last stage).
    pub fn target_arg(&self) -> Option<&str> {
        (self.target + 1 != self.stage_names.len()).then(|| self.stage_names[self.target].as_str())
    }

    /// The text with line numbers, for failure messages.
    pub fn numbered(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.text.lines().enumerate() {
            let _ = writeln!(out, "  {:>3} | {line}", i + 1);
        }
        out
    }

    /// The text of line `line` (1-based).
    pub fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line.saturating_sub(1)).unwrap_or("")
    }
}

/// The builders, as far as what they build goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// BuildKit v0.8 (`DOCKER_BUILDKIT=1`): builds only the stages the target needs, in parallel; `ENV`
    /// and `FROM <stage>` are no steps.
    BuildKit,
    /// The classic builder (`DOCKER_BUILDKIT=0`): every stage up to the target, in order; every
    /// instruction is a step.
    Legacy,
    /// podman 4.3 (buildah): the stages the target needs, in order; every instruction is a step.
    Podman,
}

/// What `report --json` must say on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Not checked: BuildKit loads an image once for all the stages that start `FROM` it and names that
    /// one vertex after one of them (`[base 1/3] FROM docker.io/library/fixture-base`), even a stage the
    /// target does not need; so which of those `FROM` lines has the result is BuildKit's choice.
    Unchecked,
    /// `"last": null`: the build did not run it.
    Nothing,
    /// Some result, whichever (a `FROM` of an image: BuildKit prints it `DONE` or `CACHED`).
    Some,
    Executed,
    Cached,
    Error,
}

impl Want {
    /// Whether `got` (the `last.status` of the report, `None` for `"last": null`) satisfies this.
    pub fn accepts(self, got: Option<&str>) -> bool {
        match self {
            Want::Unchecked => true,
            Want::Nothing => got.is_none(),
            Want::Some => got.is_some(),
            Want::Executed => got == Some("executed"),
            Want::Cached => got == Some("cached"),
            Want::Error => got == Some("error"),
        }
    }
}

/// Each instruction's line and what `engine` must have done there; `rebuilt`: the recorded build is the
/// second one of this Dockerfile, so every step that succeeded before comes from the cache.
pub fn expected(gen: &Generated, engine: Engine, rebuilt: bool) -> Vec<(usize, Want)> {
    let built = |stage: usize| match engine {
        Engine::Legacy => stage <= gen.target,
        Engine::BuildKit | Engine::Podman => gen.needed[stage],
    };
    let ok = if rebuilt { Want::Cached } else { Want::Executed };
    let mut failed = false;
    let mut out = Vec::new();
    for instr in &gen.instrs {
        let want = if instr.kind == Kind::FromImage && engine == Engine::BuildKit {
            Want::Unchecked
        } else if !built(instr.stage) || failed {
            Want::Nothing
        } else {
            match instr.kind {
                Kind::RunFails => {
                    failed = true;
                    Want::Error
                }
                Kind::FromImage => Want::Some,
                Kind::FromStage | Kind::Env if engine == Engine::BuildKit => Want::Nothing,
                Kind::FromStage => Want::Some,
                Kind::Run | Kind::CopyFrom(_) | Kind::CopyContext | Kind::Env | Kind::Workdir => ok,
            }
        };
        out.push((instr.line, want));
    }
    out
}

const STAGE_NAMES: &[&str] = &["base", "deps", "build", "tools", "assets", "test", "runtime", "final", "app", "builder"];

/// A random Dockerfile. `token` makes every RUN unique to this build (no cache hit from another case or
/// run); `base` is the image name (`fixture-base`, or `localhost/fixture-base` for podman); `may_fail`
/// allows a failing step.
pub fn generate(rng: &mut Rng, token: &str, base: &str, may_fail: bool) -> Generated {
    let stages = 2 + rng.below(3);
    let stage_names = pick_names(rng, stages);
    let from: Vec<Option<usize>> = (0..stages).map(|i| (i > 0 && rng.chance(30)).then(|| rng.below(i))).collect();
    let mut bodies: Vec<Vec<Kind>> = (0..stages).map(|i| body(rng, i)).collect();
    let target = if stages > 2 && rng.chance(25) { 1 + rng.below(stages - 2) } else { stages - 1 };
    let fails = may_fail && rng.chance(40);
    if fails {
        let body = &mut bodies[target];
        let after_copies = body.iter().rposition(|k| matches!(k, Kind::CopyFrom(_))).map_or(0, |i| i + 1);
        let at = after_copies + rng.below(body.len() - after_copies + 1);
        body.insert(at, Kind::RunFails);
        if at + 1 == body.len() && rng.chance(60) {
            body.push(Kind::Run);
        }
    }
    let needed = needed(target, &from, &bodies);
    let mut w = Writer { text: String::new(), line: 0, instrs: Vec::new() };
    if rng.chance(50) {
        w.push("# generated by tests/generated_daemon.rs");
    }
    for i in 0..stages {
        if i > 0 || rng.chance(30) {
            w.push("");
        }
        if rng.chance(30) {
            w.push(&format!("# stage {}", stage_names[i]));
        }
        let (kind, image) = match from[i] {
            Some(k) => (Kind::FromStage, stage_names[k].clone()),
            None => (Kind::FromImage, base.to_string()),
        };
        w.instr(i, kind, &[format!("FROM {image} AS {}", stage_names[i])]);
        for (j, kind) in bodies[i].iter().enumerate() {
            if rng.chance(20) {
                w.push(&format!("# step {j} of {}", stage_names[i]));
            }
            let lines = render(rng, *kind, &format!("{token}-{i}-{j}"), &stage_names);
            w.instr(i, *kind, &lines);
        }
    }
    Generated { text: w.text, instrs: w.instrs, stage_names, target, needed, fails }
}

fn pick_names(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut pool: Vec<&str> = STAGE_NAMES.to_vec();
    (0..n).map(|_| pool.remove(rng.below(pool.len())).to_string()).collect()
}

/// 1-3 instructions of stage `i` (no `FROM`).
fn body(rng: &mut Rng, i: usize) -> Vec<Kind> {
    (0..1 + rng.below(3))
        .map(|_| match rng.below(10) {
            0..=4 => Kind::Run,
            5 | 6 if i > 0 => Kind::CopyFrom(rng.below(i)),
            5 | 6 => Kind::Run,
            7 => Kind::Env,
            8 => Kind::Workdir,
            _ => Kind::CopyContext,
        })
        .collect()
}

/// Stages the target needs, itself included.
fn needed(target: usize, from: &[Option<usize>], bodies: &[Vec<Kind>]) -> Vec<bool> {
    let mut needed = vec![false; from.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut needed[i], true) {
            continue;
        }
        todo.extend(from[i]);
        todo.extend(bodies[i].iter().filter_map(|k| match k {
            Kind::CopyFrom(s) => Some(*s),
            _ => None,
        }));
    }
    needed
}

/// The text lines of one instruction.
fn render(rng: &mut Rng, kind: Kind, token: &str, names: &[String]) -> Vec<String> {
    match kind {
        Kind::Run => match rng.below(4) {
            0 => vec![format!("RUN echo {token} \\"), "    && sleep 0.1".into()],
            1 => vec![
                "RUN set -e; \\".into(),
                format!("    echo {token}; \\"),
                "# a comment inside the continuation".into(),
                "    echo done".into(),
            ],
            2 => vec![format!("RUN sh -c 'echo {token} && sleep 0.1'")],
            _ => vec![format!("RUN echo {token}")],
        },
        Kind::RunFails => match rng.below(2) {
            0 => vec![format!("RUN echo {token} \\"), "    && false".into()],
            _ => vec![format!("RUN echo {token} && false")],
        },
        Kind::CopyFrom(s) => vec![format!("COPY --from={} /etc/passwd /from-{token}", names[s])],
        Kind::CopyContext => vec![format!("COPY nonce.txt /nonce-{token}")],
        Kind::Env => vec![format!("ENV GEN_TOKEN={token}")],
        Kind::Workdir => vec![format!("WORKDIR /w-{token}")],
        Kind::FromImage | Kind::FromStage => unreachable!("FROM is written by generate"),
    }
}

struct Writer {
    text: String,
    line: usize,
    instrs: Vec<Instr>,
}

impl Writer {
    fn push(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
        self.line += 1;
    }

    fn instr(&mut self, stage: usize, kind: Kind, lines: &[String]) {
        self.instrs.push(Instr { line: self.line + 1, stage, kind });
        for line in lines {
            self.push(line);
        }
    }
}
